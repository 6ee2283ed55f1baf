"""Positions the parsers keep for error messages: parts of the tree that errors found after
parsing point at (list items, named arguments), and syntax errors about constructs that BTQL
lacks. Positions are computed from the query text (1-based line and column)."""

from __future__ import annotations

import pytest

from tracelake.query import ast
from tracelake.query.errors import QueryError
from tracelake.query.parsers import parse_btql, parse_sql, query_from_json


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


# --- constructs BTQL lacks: the error names them, says what to write, and points at them ----


def error_of(text: str) -> QueryError:
    with pytest.raises(QueryError) as info:
        parse_btql(text) if text.lstrip().startswith(("select:", "filter:")) else parse_sql(text)
    return info.value


BETWEEN = [
    # (query, the message)
    (
        "SELECT id FROM t WHERE metrics.x BETWEEN 3 AND 5",
        "BTQL has no BETWEEN: write metrics.x >= 3 AND metrics.x <= 5",
    ),
    (
        "select: id\nfilter: metrics.x between\n\t-3 and to_number('5') | limit: 1",
        "BTQL has no BETWEEN: write metrics.x >= -3 and metrics.x <= to_number('5')",
    ),
    (
        "SELECT id FROM t WHERE créé NOT BETWEEN '2024-01-01' AND now() - interval 1 day",
        "BTQL has no NOT BETWEEN: write créé < '2024-01-01' OR créé > now() - interval 1 day",
    ),
    ("select: id | filter: x between 1 or y", "BTQL has no BETWEEN: write x >= low AND x <= high"),
]


@pytest.mark.parametrize(("text", "message"), BETWEEN)
def test_between_is_an_error_that_spells_the_comparisons(text, message):
    error = error_of(text)
    assert error.detail == message
    assert (error.line, error.col) == position_of(text, text.lower().index("between"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "SELECT id FROM t WHERE a IS DISTINCT FROM b",
            "BTQL has no IS DISTINCT FROM: write a <!=> b",
        ),
        (
            "select: id | filter: a is not distinct from 'x'",
            "BTQL has no IS NOT DISTINCT FROM: write a <=> b",
        ),
    ],
)
def test_is_distinct_from_says_what_to_write(text, message):
    """It read "expected an expression after 'IS', found 'DISTINCT'"."""
    error = error_of(text)
    assert error.detail == message
    assert (error.line, error.col) == position_of(text, text.lower().index("distinct"))


def test_a_field_or_alias_named_between_is_still_one():
    assert parse_sql("SELECT x between FROM t").select[0].alias == "between"
    assert parse_btql("select: between | filter: between > 1").filter.left == ast.Ident(
        ("between",)
    )


BLOCK_COMMENTS = [
    "select: id /* the id */ | limit: 1",
    "SELECT id,\n\t/* x */ input FROM t",
    "select: id\nfilter: metadata.n = 'é' /*\n*/",
    "/* a header */ SELECT id FROM t",
]


@pytest.mark.parametrize("text", BLOCK_COMMENTS)
def test_a_block_comment_is_an_error_that_says_to_use_dashes(text):
    with pytest.raises(QueryError) as info:
        parse_btql(text) if "select:" in text else parse_sql(text)
    assert info.value.detail == (
        "block comments (/* … */) are not supported; start a comment with --, which runs to "
        "the end of the line"
    )
    assert (info.value.line, info.value.col) == position_of(text, text.index("/*"))


def test_block_comment_characters_in_strings_and_dash_comments_are_text():
    query = parse_btql("select: id -- a /* b\n| filter: input = '/* x */'")
    assert query.filter.right == ast.Literal("/* x */")


CAST_LIST = (
    "use a cast function: to_number(), to_integer(), to_string(), to_boolean(), to_date(), "
    "to_datetime(), to_interval()"
)
CASTS = [
    # (query, where the error points, the construct, what to do instead)
    ("SELECT CAST(m.n AS int) FROM t", "CAST", "CAST(… AS int)", "write to_integer(m.n)"),
    ("select: a,\n\tcast(x as float8)", "cast", "CAST(… AS float8)", "write to_number(x)"),
    ("SELECT TRY_CAST(x AS date)", "TRY_CAST", "TRY_CAST(… AS date)", "write to_date(x)"),
    ("SELECT metadata.n::INT FROM t", "::", "the cast '::INT'", "write to_integer(metadata.n)"),
    ("select: a,\nm.é::varchar | limit: 1", "::", "the cast '::varchar'", "write to_string(m.é)"),
    ("select: id | filter: (a + 1)::date > 'x'", "::", "the cast '::date'", "write to_date(a + 1)"),
    ("SELECT x::bool FROM t", "::", "the cast '::bool'", "write to_boolean(x)"),
    ("SELECT x::interval FROM t", "::", "the cast '::interval'", "write to_interval(x)"),
    ("SELECT CAST(x AS blob) FROM t", "CAST", "CAST(… AS blob)", CAST_LIST),
    ("SELECT x::", "::", "the cast '::type'", CAST_LIST),
]  # fmt: skip


@pytest.mark.parametrize(("text", "where", "construct", "instead"), CASTS)
def test_a_sql_cast_is_an_error_naming_the_cast_function(text, where, construct, instead):
    with pytest.raises(QueryError) as info:
        parse_btql(text) if "select:" in text else parse_sql(text)
    assert info.value.detail.startswith(f"{construct} is not supported; {instead}")
    assert (info.value.line, info.value.col) == position_of(text, text.index(where))


def test_ternaries_and_cast_calls_without_as_still_parse():
    assert parse_btql("select: a ? b : c").select[0].expr == ast.If(
        ((ast.Ident(("a",)), ast.Ident(("b",))),), ast.Ident(("c",))
    )
    assert parse_btql("select: a ?\n b : c").select[0].expr.else_ == ast.Ident(("c",))
    assert parse_sql("SELECT cast(1)").select[0].expr == ast.Function("cast", (ast.Literal(1),))


# --- the three front doors agree on a sample's seed ----------------------------------------


@pytest.mark.parametrize("seed", [-1, 0, 7, -(2**40)])
def test_a_negative_seed_is_taken_by_every_syntax(seed):
    json_query = {
        "select": [{"op": "star"}],
        "sample": {"method": {"type": "count", "value": 10}, "seed": seed},
    }
    expected = ast.Sample("count", 10, seed)
    assert query_from_json(json_query).sample == expected
    assert parse_btql(f"select: * | sample: 10 seed {seed}").sample == expected
    assert parse_sql(f"SELECT * TABLESAMPLE (10 ROWS) REPEATABLE ({seed})").sample == expected


# --- a dimension whose short name a measure has taken ---------------------------------------
# BTQL gave metadata.n the short name 'n' beside "count(1) as n", so the query was a 400
# "duplicate column name 'n'", while SQL's GROUP BY of the same items named it by its path.


def test_a_dimension_yields_its_short_name_to_a_measure_as_in_sql():
    btql = parse_btql("dimensions: metadata.n, metadata.m | measures: count(1) as n")
    sql = parse_sql("SELECT metadata.n, metadata.m, count(1) AS n GROUP BY 1, 2")
    assert btql == sql
    assert [d.alias for d in btql.dimensions] == [None, "m"]
