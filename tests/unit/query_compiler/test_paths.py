"""Field access: JSON paths, quoted segments, 0-based and negative indices, typed lists,
unknown names."""

from __future__ import annotations

import pytest

from tracelake.query import ast
from tracelake.query.errors import QueryError

from .data import I, values

PATHS = [
    (I("metadata", "model"), {"r01": "gpt-4", "r02": "gpt-3.5-turbo", "r04": None, "r07": None}),
    (I("metadata", "field.name"), {"r01": "dot", "r02": None}),
    (I("metadata", "field name"), {"r01": "space"}),
    (I("metadata", "field-name"), {"r01": "hyphen"}),
    (I("metadata", "models", 0, "name"), {"r01": "a", "r03": None, "r09": "solo", "r02": None}),
    (I("metadata", "models", -1, "name"), {"r01": "b", "r09": "solo", "r03": None}),
    (I("metadata", "models", -2, "name"), {"r01": "a", "r09": None}),
    (I("metadata", "models", 5), {"r01": None}),
    (I("metadata", "list", 3), {"r06": True}),
    (I("metadata", "list", -2), {"r06": 3}),
    (I("metadata", "nested", "deep", "deeper"), {"r04": "x"}),
    (I("metadata", "nested", "deep"), {"r04": {"deeper": "x"}}),  # objects stay JSON
    (I("metadata", "n"), {"r01": 5, "r02": "7", "r04": 9.5}),
    (I("tags", 0), {"r01": "triage", "r03": None, "r06": None, "r07": "a'b"}),
    (I("tags", -1), {"r01": "feedback", "r04": "resolved", "r07": 'x"y'}),
    (I("tags", 1), {"r01": "feedback", "r05": None}),
    (I("tags", -3), {"r01": None}),
    (I("input"), {"r02": "What's the weather in São Paulo?", "r03": ["value-added", "tax"]}),
    (I("input", 0), {"r03": "value-added", "r02": None}),
    (I("input", "question"), {"r01": "Explain the concept of recursion", "r03": None}),
    (I("span_parents", 0), {"r02": "r01", "r01": None}),
    # unknown nested paths are NULL, whatever the base
    (I("metadata", "nope", "x"), {"r01": None, "r07": None}),
    (I("id", "x"), {"r01": None}),
    (I("tags", "x"), {"r01": None}),
    (I("tags", 0, "x"), {"r01": None}),
    (I("metadata", "model", "x"), {"r01": None}),
    (I("metadata", "model", 0), {"r01": None}),
]


@pytest.mark.parametrize(("path", "expected"), PATHS, ids=lambda x: str(x)[:60])
def test_paths(con, path, expected):
    got = values(con, path)
    assert {k: got[k] for k in expected} == expected


NASTY_KEYS = [
    ('q"k', 1), ("*", 2), ("", 3), ("d$]", 4), ("back\\slash", 5), ("ünï", 6), ("a.b", 7),
    ("0", 8), ("'); DROP TABLE events; --", 9),
]  # fmt: skip


@pytest.mark.parametrize(("key", "expected"), NASTY_KEYS)
def test_nasty_keys_read_exactly_that_key(con, key, expected):
    assert values(con, I("metadata", "weird", key))["r05"] == expected


def test_a_digit_key_is_not_an_array_index(con):
    got = values(con, I("metadata", "list", "0"))
    assert got["r06"] is None


def test_unknown_top_level_field_is_an_error_with_its_position(con):
    with pytest.raises(QueryError) as err:
        values(con, ast.Ident(("nope", "x"), loc=ast.Loc(3, 7)))
    assert err.value.detail == "unknown field 'nope'"
    assert (err.value.line, err.value.col) == (3, 7)


def test_a_path_must_start_with_a_name(con):
    with pytest.raises(QueryError):
        values(con, I(0))
