"""A dataset's field schemas run their regexes (``pattern``, ``patternProperties``) with RE2,
in time linear in the value: Python's ``re`` backtracks, and a pattern such as ``(a+)+$``
held the writer thread (every write of the server) for minutes on a 30-character value."""

from __future__ import annotations

import inspect
import re
import time

import jsonschema._keywords
import jsonschema._legacy_keywords
import jsonschema._utils
import pytest

from tracelake.errors import InvalidRequest
from tracelake.model.field_schemas import check_schema, validator_for, violations

EVIL = "(a+)+$"
VALUE = "a" * 40 + "!"  # Python's re takes ~2**40 steps on it


def test_jsonschema_calls_only_re_search_which_runs_on_re2():
    # The engine is swapped where jsonschema looks up ``re``: it must call nothing else. It is
    # swapped when jsonschema is loaded, on the first schema check or validator.
    validator_for({})
    for module in (jsonschema._keywords, jsonschema._legacy_keywords, jsonschema._utils):
        used = set(re.findall(r"\bre\.(\w+)", inspect.getsource(module)))
        assert used <= {"search"}, (module.__name__, used)
        assert module.re.search(EVIL, VALUE) is False


@pytest.mark.timeout(20)
@pytest.mark.parametrize(
    ("schema", "value"),
    [
        ({"type": "string", "pattern": EVIL}, VALUE),
        ({"type": "object", "patternProperties": {EVIL: {"type": "string"}}}, {VALUE: 1, "a": 1}),
        (
            {"type": "object", "patternProperties": {EVIL: {}}, "additionalProperties": False},
            {VALUE: 1},
        ),
        (
            {"type": "object", "patternProperties": {EVIL: {}}, "unevaluatedProperties": False},
            {VALUE: 1},
        ),
        ({"propertyNames": {"pattern": EVIL}}, {VALUE: 1}),
    ],
)
def test_a_backtracking_pattern_takes_linear_time(schema, value):
    validator = validator_for(check_schema(schema))
    started = time.monotonic()
    found = violations(validator, value)
    assert time.monotonic() - started < 1
    assert found  # each schema refuses its value


@pytest.mark.parametrize("pattern", ["(?=a)a", r"(a)\1", "(?<!x)y"])
def test_a_regex_re2_does_not_run_is_refused_when_saved(pattern):
    for schema in (
        {"pattern": pattern},
        {"properties": {"q": {"patternProperties": {pattern: {}}}}},
    ):
        with pytest.raises(InvalidRequest, match="not supported .* RE2"):
            check_schema(schema)


def test_a_pattern_is_a_search_as_in_json_schema():
    validator = validator_for({"pattern": "b+"})
    assert violations(validator, "abbc") == []
    assert violations(validator, "ac")
    assert violations(validator, 5) == []  # pattern applies to strings only
    anchored = validator_for({"pattern": "^é.$"})
    assert violations(anchored, "éx") == [] and violations(anchored, "xé")
