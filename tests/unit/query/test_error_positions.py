"""Positions the parsers keep for error messages: parts of the tree that errors found after
parsing point at (list items, named arguments), and syntax errors about constructs that BTQL
lacks. Positions are computed from the query text (1-based line and column)."""

from __future__ import annotations

import pytest

from tracelake.query import ast
from tracelake.query.errors import QueryError
from tracelake.query.parsers import parse_btql, parse_sql


def position_of(text: str, index: int) -> tuple[int, int]:
    assert index >= 0
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def loc_of(text: str, needle: str, start: int = 0) -> ast.Loc:
    return ast.Loc(*position_of(text, text.index(needle, start)))


# --- IN-list items ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "select: id | filter: x IN ('a',\n\t-2, \"c\", [1], null)",
        "SELECT id WHERE x IN ('a',\n\t-2, \"c\", [1], null)",
    ],
)
def test_a_literal_list_keeps_the_position_of_each_item(text):
    query = parse_btql(text) if text.startswith("select:") else parse_sql(text)
    listed = query.filter.right
    assert listed == ast.Literal(["a", -2, "c", [1], None])  # still one literal
    start = text.index("(")
    assert listed.loc == loc_of(text, "(")
    assert listed.item_locs == tuple(
        loc_of(text, item, start) for item in ("'a'", "-2", '"c"', "[1]", "null")
    )


# --- named arguments -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "select: f(x,\n  a => 1, b => 2)",
        "SELECT f(x,\n  a => 1, b => 2)",
    ],
)
def test_a_call_keeps_the_position_of_each_argument_name(text):
    query = parse_btql(text) if text.startswith("select:") else parse_sql(text)
    call = query.select[0].expr
    assert call.named == (("a", ast.Literal(1)), ("b", ast.Literal(2)))
    assert call.named_locs == (loc_of(text, "a =>"), loc_of(text, "b =>"))
    assert call.named_at(1) == loc_of(text, "b =>")


@pytest.mark.parametrize(
    "text",
    [
        "select: * | from: project_logs('p',\n\tshape => 'traces', foo => 'x')",
        "SELECT * FROM project_logs('p',\n\tshape => 'traces', foo => 'x')",
    ],
)
def test_an_unknown_source_argument_is_an_error_at_its_name(text):
    with pytest.raises(QueryError) as info:
        parse_btql(text) if text.startswith("select:") else parse_sql(text)
    assert info.value.detail == "unknown data source argument 'foo' (only shape =>)"
    assert (info.value.line, info.value.col) == position_of(text, text.index("foo"))
