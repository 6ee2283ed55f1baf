"""Field schema messages are in JSON spelling: jsonschema writes the values in them as
Python does (``'abc' is not of type 'integer'``, ``None``, ``True``, ``{'a': 1}``), where
the user wrote the schema and the rows in JSON."""

from __future__ import annotations

import re

import pytest

from tracelake.errors import InvalidRequest
from tracelake.model.field_schemas import check_schema, json_spelling, validator_for, violations

CASES = [
    ({"type": "integer"}, "abc", '"abc" is not of type "integer"'),
    ({"type": ["string", "null"]}, True, 'true is not of type "string", "null"'),
    ({"type": "string"}, None, 'null is not of type "string"'),
    ({"type": "string"}, {"a": [1, None]}, '{"a": [1, null]} is not of type "string"'),
    ({"required": ["q"]}, {}, '"q" is a required property'),
    ({"enum": ["a", None, 1.5]}, "b", '"b" is not one of ["a", null, 1.5]'),
    ({"const": {"k": False}}, 1, '{"k": false} was expected'),
    ({"pattern": "^\\d+$"}, "x1", '"x1" does not match "^\\\\d+$"'),
    ({"minLength": 3}, "ab", '"ab" is too short'),
    ({"maxItems": 1}, [True, None], "[true, null] is too long"),
    ({"uniqueItems": True}, ["a", "a"], '["a", "a"] has non-unique elements'),
    ({"minimum": 2}, 1, "1 is less than the minimum of 2"),
    ({"not": {"type": "null"}}, None, 'null should not be valid under {"type": "null"}'),
    (
        {"additionalProperties": False, "properties": {"a": {}}},
        {"a": 1, "b'c": 2, 'd"e': 3},
        'Additional properties are not allowed ("b\'c", "d\\"e" were unexpected)',
    ),
    (
        {"additionalProperties": False, "patternProperties": {"^a": {}}},
        {"b": 1},
        '"b" does not match any of the regexes: "^a"',
    ),
    ({"anyOf": [{"type": "string"}]}, None, "null is not valid under any of the given schemas"),
    (
        {"oneOf": [{"type": "string"}, {"minLength": 1}]},
        "x",
        '"x" is valid under each of {"minLength": 1}, {"type": "string"}',
    ),
    ({"dependentRequired": {"a": ["b"]}}, {"a": 1}, '"b" is a dependency of "a"'),
    (
        {"unevaluatedProperties": False},
        {"it's": None},
        'Unevaluated properties are not allowed ("it\'s" was unexpected)',
    ),
    ({"properties": {"a": False}}, {"a": None}, "the schema false allows no value here (got null)"),
    (
        {"contains": {"const": True}},
        [False],
        "[false] does not contain items matching the given schema",
    ),
]


@pytest.mark.parametrize(("schema", "value", "message"), CASES)
def test_violation_messages_spell_values_as_json(schema, value, message):
    found = violations(validator_for(check_schema(schema)), value)
    assert [v["message"] for v in found] == [message]


def test_no_message_keeps_python_spelling():
    for schema, value, _ in CASES:
        for v in violations(validator_for(schema), value):
            assert not re.search(r"\b(None|True)\b|'[^']*'\s", v["message"]), v


def test_schema_errors_and_our_own_checks_spell_values_as_json():
    problems = {
        "type": {"type": "strin"},
        "ref": {"$ref": "https://example.com/s.json"},
        "unresolved": {"$ref": "#/$defs/nope"},
        "regex": {"pattern": "(?=a)"},
    }
    messages = {}
    for name, schema in problems.items():
        with pytest.raises(InvalidRequest) as caught:
            check_schema(schema)
        messages[name] = caught.value.message
    assert messages["type"].endswith('"strin" is not valid under any of the given schemas')
    assert messages["ref"].endswith('got "https://example.com/s.json"')
    assert messages["unresolved"].endswith('does not resolve within the schema: "#/$defs/nope"')
    assert messages["regex"].startswith('the regex "(?=a)" at /pattern is not supported')


def test_text_that_is_no_literal_is_kept():
    assert json_spelling("Nonesuch ('a' was unexpected) [1, oops") == (
        'Nonesuch ("a" was unexpected) [1, oops'
    )
