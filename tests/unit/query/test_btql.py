"""BTQL text: exact trees for expressions and clauses, clause rules and decisions."""

from __future__ import annotations

import pytest

from tracelake.query import ast
from tracelake.query.errors import QueryError
from tracelake.query.parsers import parse_btql, parse_expression

from .trees import AND, NOT, NOW_MINUS_7D, OR, SRC, STAR, A, B, F, I, L, U, assert_round_trip

# --- expressions ------------------------------------------------------------------------------

EXPRESSIONS = [
    # literals
    ("1", L(1)),
    ("1.5", L(1.5)),
    ("50%", L(0.5)),
    ("'x'", L("x")),
    ("true", L(True)),
    ("FALSE", L(False)),
    ("null", L(None)),
    ("[1, 'a', null]", L([1, "a", None])),
    ("[]", L([])),
    ("[1, x]", F("array", L(1), I("x"))),
    ("interval 7 day", ast.Interval(7, "day")),
    ("INTERVAL 2 HOURS", ast.Interval(2, "hour")),
    ("interval 1 months", ast.Interval(1, "month")),
    # paths
    ("metadata.model", I("metadata", "model")),
    ('metadata."field.name"', I("metadata", "field.name")),
    ('scores."Response Quality"', I("scores", "Response Quality")),
    ("metadata.models[0].name", I("metadata", "models", 0, "name")),
    ("responses[-1].tokens", I("responses", -1, "tokens")),
    ("spans[0].children[-1].id", I("spans", 0, "children", -1, "id")),
    ("metadata['a b']", I("metadata", "a b")),
    ("metadata.in", I("metadata", "in")),
    ('"obj".x', I("obj", "x")),
    # double quotes: field or string by position
    ('metadata.model = "gpt-4"', B("eq", I("metadata", "model"), L("gpt-4"))),
    ('"My score" IS NOT NULL', U("isnotnull", I("My score"))),
    ('sum("My review score" IS NOT NULL)', F("sum", U("isnotnull", I("My review score")))),
    ('"My score" > 0.5', B("gt", I("My score"), L(0.5))),
    ('"a" + 1', B("add", L("a"), L(1))),
    ('x IN ("a", "b")', B("in", I("x"), L(["a", "b"]))),
    ('concat("a", "b")', F("concat", L("a"), L("b"))),
    # comparisons and predicates
    ("a = 1", B("eq", I("a"), L(1))),
    ("a != 1", B("ne", I("a"), L(1))),
    ("a <> 1", B("ne", I("a"), L(1))),
    ("a < 1", B("lt", I("a"), L(1))),
    ("a <= 1", B("le", I("a"), L(1))),
    ("a > 1", B("gt", I("a"), L(1))),
    ("a >= 1", B("ge", I("a"), L(1))),
    ("a <=> null", B("nulleq", I("a"), L(None))),
    ("a <!=> 'x'", B("nullne", I("a"), L("x"))),
    ("a gt 1", B("gt", I("a"), L(1))),
    ("a eq 'x'", B("eq", I("a"), L("x"))),
    # the arithmetic operators' names too (the BTQL reference lists them as aliases)
    ("a add 1 mul b", B("add", I("a"), B("mul", L(1), I("b")))),
    ("a SUB 1 div 2 mod 3", B("sub", I("a"), B("mod", B("div", L(1), L(2)), L(3)))),
    ("neg a add 1", B("add", U("neg", I("a")), L(1))),
    ("50% mul 2", B("mul", L(0.5), L(2))),
    ("neg - 1", B("sub", I("neg"), L(1))),  # a field named neg
    ("add > 1", B("gt", I("add"), L(1))),
    ("a IS NULL", U("isnull", I("a"))),
    ("a is not null", U("isnotnull", I("a"))),
    ("ISNULL a", U("isnull", I("a"))),
    ("ISNOTNULL a.b", U("isnotnull", I("a", "b"))),
    ("a IS TRUE", B("is", I("a"), L(True))),
    ("a IS NOT TRUE", NOT(B("is", I("a"), L(True)))),
    ("a IN [1, 2]", B("in", I("a"), L([1, 2]))),
    ("a IN (1, 2)", B("in", I("a"), L([1, 2]))),
    ("a NOT IN ['x']", NOT(B("in", I("a"), L(["x"])))),
    ("a IN b", B("in", I("a"), I("b"))),
    ("input LIKE 'How%'", B("like", I("input"), L("How%"))),
    ("input NOT ILIKE '%x%'", NOT(B("ilike", I("input"), L("%x%")))),
    ("input MATCH 'x'", B("match", I("input"), L("x"))),
    ("input NOT MATCH 'x'", NOT(B("match", I("input"), L("x")))),
    ("tags includes 'x'", ast.Includes(I("tags"), L("x"))),
    ("tags CONTAINS 'x'", ast.Includes(I("tags"), L("x"))),
    ("tags NOT INCLUDES 'x'", NOT(ast.Includes(I("tags"), L("x")))),
    ("NOT tags includes 'x'", NOT(ast.Includes(I("tags"), L("x")))),
    ("NOT a LIKE 'x'", NOT(B("like", I("a"), L("x")))),
    ("contains(tags, 'x')", F("contains", I("tags"), L("x"))),
    # logic and precedence
    ("a and b and c", AND(I("a"), I("b"), I("c"))),
    ("a or b and c", OR(I("a"), AND(I("b"), I("c")))),
    ("(a or b) and c", AND(OR(I("a"), I("b")), I("c"))),
    ("not a and b", AND(NOT(I("a")), I("b"))),
    ("not not a", NOT(NOT(I("a")))),
    ("a + b * c", B("add", I("a"), B("mul", I("b"), I("c")))),
    ("a - b - c", B("sub", B("sub", I("a"), I("b")), I("c"))),
    ("a / b % c", B("mod", B("div", I("a"), I("b")), I("c"))),
    ("-a * b", B("mul", U("neg", I("a")), I("b"))),
    ("- -1", U("neg", U("neg", L(1)))),
    ("+a", I("a")),
    ("a + 1 > b * 2", B("gt", B("add", I("a"), L(1)), B("mul", I("b"), L(2)))),
    ("created > now() - interval 7 day", B("gt", I("created"), NOW_MINUS_7D)),
    ("current_date - interval 1 day", B("sub", F("current_date"), ast.Interval(1, "day"))),
    # conditionals
    ("a ? 1 : 2", ast.If(((I("a"), L(1)),), L(2))),
    ("a ? 1 : b ? 2 : 3", ast.If(((I("a"), L(1)), (I("b"), L(2))), L(3))),
    ("a ? 1 : (b ? 2 : 3)", ast.If(((I("a"), L(1)), (I("b"), L(2))), L(3))),
    ("a ? b ? 1 : 2 : 3", ast.If(((I("a"), ast.If(((I("b"), L(1)),), L(2))),), L(3))),
    ("x > 1 or y ? 'p' : 'q'", ast.If(((OR(B("gt", I("x"), L(1)), I("y")), L("p")),), L("q"))),
    # functions
    ("count(*)", F("count", STAR)),
    ("count(1)", F("count", L(1))),
    ("COUNT(distinct x)", F("count", I("x"), distinct=True)),
    ("percentile(latency, 0.95)", F("percentile", I("latency"), L(0.95))),
    ("f(a, mode => 'x')", F("f", I("a"), mode=L("x"))),
    ("now()", F("now")),
    ("ANY_SPAN(error IS NOT NULL)", ast.SpanFilter("singlespanfilter", U("isnotnull", I("error")))),
    ("filter_spans(a = 1)", ast.SpanFilter("matchingspansfilter", B("eq", I("a"), L(1)))),
    # comments and newlines inside an expression
    ("a and -- first\n  b", AND(I("a"), I("b"))),
]


@pytest.mark.parametrize(("text", "tree"), EXPRESSIONS, ids=[t for t, _ in EXPRESSIONS])
def test_expression(text, tree):
    assert parse_expression(text) == tree


def test_positions_are_kept_but_not_compared():
    expr = parse_expression("a and\n  b.c = 1")
    assert expr.loc == ast.Loc(1, 1)
    assert expr.children[1].loc == ast.Loc(2, 3)
    assert expr.children[1].right.loc == ast.Loc(2, 9)


# --- whole queries ----------------------------------------------------------------------------


def test_query_structure_example():
    q = parse_btql(
        "select: *                           -- Fields to retrieve\n"
        "from: project_logs('<PROJECT_ID>') spans  -- Data source\n"
        "filter: scores.Factuality > 0.8     -- Filter conditions\n"
        "sample: 25%                         -- Random sampling (optional)\n"
        "sort: created desc                  -- Sort order\n"
        "limit: 100                          -- Result size limit\n"
        "cursor: '<CURSOR>'                  -- Pagination token\n"
    )
    assert q == ast.Query(
        select=(STAR,),
        from_=SRC("project_logs", "<PROJECT_ID>", shape="spans"),
        filter=B("gt", I("scores", "Factuality"), L(0.8)),
        sample=ast.Sample("rate", 0.25),
        sort=(ast.SortItem(I("created"), "desc"),),
        limit=100,
        cursor="<CURSOR>",
    )
    assert_round_trip(q)


def test_dimensions_measures_and_every_clause():
    q = parse_btql(
        "dimensions: metadata.model, day(created) as date\n"
        "measures: count(1) as n, avg(scores.Factuality)\n"
        "from: experiment('e1', 'e2', shape => 'summary')\n"
        "filter: a = 1 | span_filter: b = 2 | trace_filter: c = 3 | final_filter: n > 5\n"
        "pivot: metadata.model\n"
        "unpivot: scores as (score, value), tags as tag\n"
        "preview_length: -1\n"
        "sample: 100 seed 42\n"
        "limit: 0\n"
    )
    assert q == ast.Query(
        dimensions=(A(I("metadata", "model"), "model"), A(F("day", I("created")), "date")),
        measures=(A(F("count", L(1)), "n"), A(F("avg", I("scores", "Factuality")))),
        from_=SRC("experiment", "e1", "e2", shape="summary"),
        filter=B("eq", I("a"), L(1)),
        span_filter=B("eq", I("b"), L(2)),
        trace_filter=B("eq", I("c"), L(3)),
        final_filter=B("gt", I("n"), L(5)),
        pivot=(A(I("metadata", "model"), "model"),),
        unpivot=(ast.Unpivot(I("scores"), ("score", "value")), ast.Unpivot(I("tags"), "tag")),
        preview_length=-1,
        sample=ast.Sample("count", 100, 42),
        limit=0,
    )
    assert_round_trip(q)


def test_clauses_in_any_order_with_pipes_and_newlines_mixed():
    a = parse_btql(
        "from: project_logs('p') spans\n| filter: x = 1\n\nand y = 2\nselect: *\nlimit: 10"
    )
    b = parse_btql(
        "select: * | limit: 10 | filter: x = 1 and y = 2 | from: project_logs('p') spans"
    )
    assert a == b
    assert a.filter == AND(B("eq", I("x"), L(1)), B("eq", I("y"), L(2)))


def test_expression_spanning_lines_with_a_ternary_colon():
    q = parse_btql("select:\n  (a > 1 ?\n   'x' :\n   'y') as v,\n  b ?\n  c\n  : d as w\nlimit: 1")
    assert q.select == (
        A(ast.If(((B("gt", I("a"), L(1)), L("x")),), L("y")), "v"),
        A(ast.If(((I("b"), I("c")),), I("d")), "w"),
    )
    assert q.limit == 1


@pytest.mark.parametrize(
    ("text", "sample"),
    [
        ("25%", ast.Sample("rate", 0.25)),
        ("0.25", ast.Sample("rate", 0.25)),
        ("100%", ast.Sample("rate", 1.0)),
        ("1.0", ast.Sample("rate", 1.0)),
        ("100", ast.Sample("count", 100)),
        ("1", ast.Sample("count", 1)),
        ("10% seed 7", ast.Sample("rate", 0.1, 7)),
        ("5 SEED 0", ast.Sample("count", 5, 0)),
    ],
)
def test_sample(text, sample):
    assert parse_btql(f"select: * | sample: {text}").sample == sample


def test_from_variants():
    assert parse_btql("select: * | from: project_logs").from_ == ast.Source("project_logs")
    assert parse_btql("select: * | from: Dataset('d') TRACES").from_ == SRC(
        "dataset", "d", shape="traces"
    )


def test_implicit_aliases_in_select():
    q = parse_btql("select: metadata.name, user.name, metadata.model, tags[0], id, x.id, y as z")
    assert q.select == (
        A(I("metadata", "name")),  # ambiguous with user.name: neither gets 'name'
        A(I("user", "name")),
        A(I("metadata", "model"), "model"),
        A(I("tags", 0)),
        A(I("id")),
        A(I("x", "id")),  # the top-level field 'id' wins
        A(I("y"), "z"),
    )


def test_select_with_dimension_ordinals_groups_like_sql():
    q = parse_btql(
        "select: tags[0] AS primary_tag, metadata.model, count(1) AS n | dimensions: 1, model"
    )
    assert q.select is None
    assert q.dimensions == (A(I("tags", 0), "primary_tag"), A(I("metadata", "model"), "model"))
    assert q.measures == (A(F("count", L(1)), "n"),)


def test_cursor_accepts_json_style_double_quotes():
    assert parse_btql('select: * | cursor: "a\\"b"').cursor == 'a"b'


# --- errors -----------------------------------------------------------------------------------

ERRORS = [
    # (text, message fragment, line, col)
    (
        "select: *\nfilter: a and\nlimit: 1",
        "expected an expression after 'and', found end of line",
        2,
        14,
    ),
    (
        "select: * | filter: a and | limit: 1",
        "expected an expression after 'and', found '|'",
        1,
        27,
    ),
    ("select: *\nfliter: a", "unknown clause 'fliter' (did you mean 'filter'?)", 2, 1),
    ("select: *\nbogus: a", "unknown clause 'bogus'", 2, 1),
    ("select: a\nfilter: x\nselect: b", "duplicate clause 'select'", 3, 1),
    ("select: *\ninfer: a", "the 'infer' clause is not supported", 2, 1),
    ("filter: a = 1", "a query needs a select:, dimensions: or measures: clause", 1, 1),
    ("\n-- c\n  limit: 1", "a query needs a select:, dimensions: or measures: clause", 3, 3),
    ("", "empty query", None, None),
    ("-- only a comment\n", "empty query", None, None),
    ("select *", "expected a clause such as 'select:' or 'filter:', found 'select'", 1, 1),
    ("scores.x > 1", "expected a clause such as 'select:'", 1, 1),
    ("select: * |", "expected a clause after '|', found end of input", 1, 12),
    ("select: *\nlimit: 10 20", "unexpected '20' in the limit clause", 2, 11),
    ("select: (a + 1", "expected ')' after '1', found end of input", 1, 15),
    ("select: (a + 1 | limit: 1", "expected ')' after '1', found '|'", 1, 16),
    ("select: a)", "unexpected ')' in the select clause", 1, 10),
    ("select: f(a,", "expected an expression after ',', found end of input", 1, 13),
    ("select: [1, 2", "expected ',' or ']' after '2'", 1, 14),
    ("select: a ? b", "expected ':' to complete the conditional", 1, 14),
    # comparisons do not chain (the error said to separate clauses with '|')
    ("select: a < b < c", "'<' cannot follow a comparison: comparisons do not chain", 1, 15),
    ("filter: 1 < metadata.n <= 3", "'<=' cannot follow a comparison", 1, 24),
    ("filter: a is null is null", "'is' cannot follow a comparison", 1, 19),
    ("filter: tags includes 'a' includes 'b'", "'includes' cannot follow a comparison", 1, 27),
    ("filter: x like 'a' not like 'b'", "'not' cannot follow a comparison", 1, 20),
    ("filter: a eq b eq c", "'eq' cannot follow a comparison", 1, 16),
    ("select: 1.x", "bad number '1.x'", 1, 9),
    ("select: 'abc", "unterminated string", 1, 9),
    ("select: a.", "expected a field name after '.', found end of input", 1, 11),
    ("select: a[x]", "expected an integer index after '['", 1, 11),
    ("select: f(x).y", "'.' and '[...]' apply only to field paths", 1, 13),
    ("select: interval x day", "expected a whole number (interval 7 day) after 'interval'", 1, 18),
    ("select: interval 3 fortnights", "expected an interval unit", 1, 20),
    ("select: * | limit: -1", "expected a whole number after 'limit:', found '-'", 1, 20),
    ("select: * | LIMIT: 1.5", "expected a whole number after 'LIMIT:', found '1.5'", 1, 20),
    ("select: * | cursor: abc", "expected a quoted cursor token", 1, 21),
    ("select: * | sample: 150%", "sample rate must be between 0% and 100%", 1, 21),
    ("select: * | sample: 2.5", "sample rate must be between 0% and 100%", 1, 21),
    ("select: * | sample: 0", "sample count must be at least 1", 1, 21),
    ("select: * | sample: 10 seed", "expected a whole-number seed after 'seed'", 1, 28),
    ("select: * | from: project_logs('p') everything", "expected spans, traces or summary", 1, 37),
    ("select: * | from: 'p'", "expected a data source such as project_logs('<id>')", 1, 19),
    ("select: * | from: f(x, color => 'red')", "unknown data source argument 'color'", 1, 24),
    (
        "select: * | from: f(x, shape => 'all')",
        "shape must be 'spans', 'traces' or 'summary'",
        1,
        33,
    ),
    ("select: * | filter:", "expected an expression after 'filter:', found end of input", 1, 20),
    ("select: *\nunpivot: tags", "expected AS (key, value) or AS name", 2, 14),
    ("select: ANY_SPAN(a, b)", "ANY_SPAN takes exactly one expression", 1, 9),
    ("select: f(a => 1, a => 2)", "duplicate argument 'a'", 1, 19),
    ("select: a, b as a", "duplicate column name 'a' in the select list", 1, 12),
    ("select: a | measures: count(1)", "select: cannot be combined with measures:", 1, 13),
    (
        "dimensions: 1 | measures: count(1)",
        "dimension positions (dimensions: 1, 2) need select:",
        1,
        13,
    ),
    ("select: a, b | dimensions: 3", "GROUP BY position 3 is not in the select list", 1, 28),
    ("select: a, count(1) | dimensions: 2", "cannot group by an aggregate", 1, 35),
    ("select: a, b, count(1) | dimensions: a", "'b' must appear in GROUP BY", 1, 12),
    ("select: a @ b", "unexpected character '@'", 1, 11),
    ("select: a | filter: a ILIKE 'x!%' escape '!'", "ESCAPE is not supported", 1, 35),
    ("measures: count(1) filter (where a) as n", "FILTER (WHERE …) is not supported", 1, 20),
    # SQL's || was "expected a clause such as 'select:' ..., found '|'"
    ("select: a || 'x'", "'||' is not supported: write concat(a, b)", 1, 11),
    ("select: a | filter: b = 'x' ||'y'", "'||' is not supported: write concat(a, b)", 1, 29),
    (
        "select: a || filter: b",
        "expected a clause such as 'select:' or 'filter:', found '|'",
        1,
        12,
    ),
    ("select: " + "(" * 100 + "1" + ")" * 100, "nested more than 60 levels deep", 1, 69),
    ("select: " + "- " * 100 + "1", "nested more than 60 levels deep", 1, 127),
    ("select: " + "not " * 100 + "1", "nested more than 60 levels deep", 1, 245),
]


@pytest.mark.parametrize(
    ("text", "message", "line", "col"), ERRORS, ids=[e[0][:40] for e in ERRORS]
)
def test_error(text, message, line, col):
    with pytest.raises(QueryError) as info:
        parse_btql(text)
    assert message in str(info.value)
    assert (info.value.line, info.value.col) == (line, col)


def test_error_message_reads_well():
    with pytest.raises(QueryError) as info:
        parse_btql("select: *\nfilter: x = 1 and\n  y > 2 and\nlimit: 3")
    assert str(info.value) == "expected an expression after 'and', found end of line at 3:12"


def test_expression_errors():
    with pytest.raises(QueryError, match="found end of input at 1:1"):
        parse_expression("  ")
    with pytest.raises(QueryError, match="unexpected 'b' after the expression at 1:3"):
        parse_expression("a b")
    with pytest.raises(QueryError, match="unexpected '|' after the expression"):
        parse_expression("a | b")
    with pytest.raises(QueryError, match=r"'\|\|' is not supported: write concat\(a, b\)"):
        parse_expression("a || b")  # (a {"btql": …} snippet)
