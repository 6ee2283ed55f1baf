"""Braintrust SQL: exact trees, the SQL -> BTQL clause mapping, and SQL-only errors."""

from __future__ import annotations

import pytest

from tracelake.query import ast
from tracelake.query.errors import QueryError
from tracelake.query.parsers import parse_query, parse_sql, query_from_json

from .trees import AND, NOW_MINUS_7D, OR, SRC, STAR, A, B, F, I, L, assert_round_trip

LOGS = SRC("project_logs", "p")


def test_select_star_with_every_row_clause():
    q = parse_sql(
        "SELECT *\n"
        "FROM project_logs('p', shape => 'spans')\n"
        "WHERE scores.Factuality > 0.8\n"
        "  AND created > now() - interval 7 day\n"
        "ORDER BY created DESC, id\n"
        "LIMIT 100\n"
        "OFFSET 'tok';"
    )
    assert q == ast.Query(
        select=(STAR,),
        from_=SRC("project_logs", "p", shape="spans"),
        filter=AND(B("gt", I("scores", "Factuality"), L(0.8)), B("gt", I("created"), NOW_MINUS_7D)),
        sort=(ast.SortItem(I("created"), "desc"), ast.SortItem(I("id"), "asc")),
        limit=100,
        cursor="tok",
    )
    assert_round_trip(q)


def test_group_by_maps_to_dimensions_and_measures():
    q = parse_sql(
        "SELECT metadata.model AS model, day(created) AS date, count(1) AS n,\n"
        "       avg(scores.Factuality) AS avg_score\n"
        "FROM project_logs('p') GROUP BY metadata.model, day(created)\n"
        "HAVING avg(scores.Factuality) > 0.7 AND count(1) >= 10\n"
        "ORDER BY date DESC, avg_score DESC"
    )
    assert q == ast.Query(
        dimensions=(A(I("metadata", "model"), "model"), A(F("day", I("created")), "date")),
        measures=(A(F("count", L(1)), "n"), A(F("avg", I("scores", "Factuality")), "avg_score")),
        from_=LOGS,
        final_filter=AND(
            B("gt", F("avg", I("scores", "Factuality")), L(0.7)),
            B("ge", F("count", L(1)), L(10)),
        ),
        sort=(ast.SortItem(I("date"), "desc"), ast.SortItem(I("avg_score"), "desc")),
    )


@pytest.mark.parametrize(
    "group_by", ["1, 2", "metadata.model, day(created)", "model, date", "2, model", "date, 1"]
)
def test_group_by_ordinals_aliases_and_expressions_agree(group_by):
    q = parse_sql(
        "SELECT metadata.model, day(created) AS date, count(1) AS n "
        f"FROM project_logs('p') GROUP BY {group_by}"
    )
    dims = {A(I("metadata", "model"), "model"), A(F("day", I("created")), "date")}
    assert set(q.dimensions) == dims
    assert q.measures == (A(F("count", L(1)), "n"),)


def test_group_by_expression_not_in_select_becomes_a_dimension():
    q = parse_sql("SELECT count(*) AS n FROM project_logs('p') GROUP BY metadata.model, 1 + 1")
    assert q.dimensions == (A(I("metadata", "model"), "model"), A(B("add", L(1), L(1))))
    assert q.measures == (A(F("count", STAR), "n"),)


def test_aggregates_without_group_by_are_measures_only():
    q = parse_sql("select count(distinct root_span_id) as traces, avg(x) from project_logs('p')")
    assert q.select is None and q.dimensions is None
    assert q.measures == (
        A(F("count", I("root_span_id"), distinct=True), "traces"),
        A(F("avg", I("x"))),
    )


def test_select_distinct_is_dimensions():
    q = parse_sql("SELECT DISTINCT metadata.model, span_attributes.type FROM project_logs('p')")
    assert q.dimensions == (
        A(I("metadata", "model"), "model"),
        A(I("span_attributes", "type"), "type"),
    )
    assert q.select is None and q.measures is None


def test_implicit_alias_without_as():
    q = parse_sql("SELECT a n, metadata.x \"the x\", y FROM project_logs('p')")
    assert q.select == (A(I("a"), "n"), A(I("metadata", "x"), "the x"), A(I("y")))


def test_implicit_aliases_and_short_names():
    q = parse_sql(
        "SELECT user.name AS user_name, metadata.name, metadata.category FROM project_logs('p') "
        "WHERE name = 'configuration' ORDER BY category"
    )
    assert q.select == (
        A(I("user", "name"), "user_name"),
        A(I("metadata", "name"), "name"),
        A(I("metadata", "category"), "category"),
    )
    # Short names stay plain identifiers; the compiler resolves them against the aliases.
    assert q.filter == B("eq", I("name"), L("configuration"))


def test_order_by_ordinal_resolves_to_alias_or_expression():
    q = parse_sql(
        "SELECT scores.Factuality, count(*) FROM project_logs('p') GROUP BY 1 ORDER BY 1, 2 DESC"
    )
    assert q.sort == (ast.SortItem(I("Factuality")), ast.SortItem(F("count", STAR), "desc"))


def test_unpivot_and_pivot():
    q = parse_sql(
        "SELECT score, total FROM project_logs('p')\n"
        "UNPIVOT (value FOR score IN (scores))\n"
        "UNPIVOT (tag FOR _ IN (tags))\n"
        "PIVOT(SUM(value) AS total FOR score IN (ANY))\n"
        "WHERE created > now() - interval 7 day"
    )
    assert q == ast.Query(
        measures=(A(F("sum", I("value")), "total"),),
        from_=LOGS,
        filter=B("gt", I("created"), NOW_MINUS_7D),
        pivot=(A(I("score")),),
        unpivot=(ast.Unpivot(I("scores"), ("score", "value")), ast.Unpivot(I("tags"), "tag")),
    )
    assert_round_trip(q)


def test_pivot_after_group_by_merges_with_select_measures():
    q = parse_sql(
        "SELECT day(created) AS date, metadata.model, AVG(scores.Factuality), COUNT(1)\n"
        "FROM project_logs('p') GROUP BY day(created), metadata.model\n"
        "PIVOT(AVG(scores.Factuality), COUNT(1) FOR metadata.model IN (ANY))"
    )
    assert q.dimensions == (A(F("day", I("created")), "date"), A(I("metadata", "model"), "model"))
    assert q.measures == (A(F("avg", I("scores", "Factuality"))), A(F("count", L(1))))
    assert q.pivot == (A(I("metadata", "model"), "model"),)


def test_pivot_with_select_star():
    q = parse_sql(
        "SELECT * FROM project_logs('p') UNPIVOT (value FOR score IN (scores)) "
        "PIVOT(SUM(value) FOR score IN (ANY))"
    )
    assert q.select is None and q.measures == (A(F("sum", I("value"))),)


def test_legacy_match_against():
    q = parse_sql("SELECT * FROM project_logs('p') WHERE MATCH(input) AGAINST ('search term')")
    assert q.filter == B("match", I("input"), L("search term"))
    q = parse_sql("SELECT * FROM project_logs('p') WHERE MATCH(a, b) AGAINST ('x')")
    assert q.filter == OR(B("match", I("a"), L("x")), B("match", I("b"), L("x")))


def test_case_when():
    q = parse_sql(
        "SELECT CASE WHEN a > 1 THEN 'x' WHEN b THEN 'y' ELSE 'z' END AS v, "
        "CASE k WHEN 1 THEN 'one' END AS w FROM project_logs('p')"
    )
    assert q.select == (
        A(ast.If(((B("gt", I("a"), L(1)), L("x")), (I("b"), L("y"))), L("z")), "v"),
        A(ast.If(((B("eq", I("k"), L(1)), L("one")),), None), "w"),
    )


@pytest.mark.parametrize(
    ("clause", "sample"),
    [
        ("TABLESAMPLE (25 PERCENT)", ast.Sample("rate", 0.25)),
        ("TABLESAMPLE BERNOULLI (10%) REPEATABLE (7)", ast.Sample("rate", 0.1, 7)),
        ("TABLESAMPLE (100 ROWS)", ast.Sample("count", 100)),
        ("tablesample 50%", ast.Sample("rate", 0.5)),
    ],
)
def test_tablesample(clause, sample):
    assert parse_sql(f"SELECT * FROM project_logs('p') {clause} LIMIT 5").sample == sample


def test_bare_source_and_no_from():
    assert parse_sql("SELECT * FROM project_logs").from_ == ast.Source("project_logs")
    assert parse_sql("SELECT 1 AS one").from_ is None


def test_sql_detection_in_parse_query():
    assert parse_query("  -- hi\n select * from project_logs('p')").select == (STAR,)
    assert parse_query("select: * | from: project_logs('p')").select == (STAR,)
    with pytest.raises(QueryError, match="WITH .* is not supported at 2:1"):
        parse_query("-- cte\nWITH x AS (SELECT 1) SELECT * FROM x")


ERRORS = [
    # comparisons do not chain (the error said 'unexpected '=' at the end of the query')
    ("SELECT a = b = true FROM t", "'=' cannot follow a comparison", 1, 14),
    ("SELECT * FROM t WHERE 1 < x < 3", "'<' cannot follow a comparison", 1, 29),
    ("SELECT * FROM t LIMIT 10 OFFSET 20", "numeric OFFSET is not supported", 1, 33),
    ("SELECT * FROM t OFFSET x", "expected a quoted cursor token after 'OFFSET'", 1, 24),
    ("SELECT * FROM t JOIN u", "JOIN is not supported", 1, 17),
    ("SELECT * FROM t, u", "JOIN is not supported", 1, 16),
    ("SELECT * FROM t LEFT JOIN u ON a = b", "JOIN is not supported", 1, 17),
    ("SELECT * FROM t AS x", "table aliases are not supported", 1, 17),
    ("SELECT * FROM t x", "table aliases are not supported", 1, 17),
    ("SELECT * FROM (SELECT 1)", "subqueries are not supported", 1, 15),
    ("SELECT * FROM t WHERE a IN (SELECT b FROM u)", "subqueries are not supported", 1, 29),
    ("SELECT * FROM t UNION SELECT * FROM u", "UNION is not supported", 1, 17),
    ("SELECT * FROM t SETTINGS x = 1", "SETTINGS is not supported", 1, 17),
    ("SELECT * FROM t LIMIT 1 WHERE a", "WHERE is out of place", 1, 25),
    ("SELECT * FROM t ORDER BY a NULLS LAST", "NULLS FIRST/LAST is not supported", 1, 28),
    ("SELECT * FROM t garbage garbage", "table aliases are not supported", 1, 17),
    # FETCH FIRST right after FROM was "table aliases are not supported"
    ("SELECT * FROM t FETCH FIRST 2 ROWS ONLY", "FETCH FIRST … ROWS ONLY is not", 1, 17),
    ("SELECT * FROM t ORDER BY a FETCH NEXT 2 ROWS ONLY", "write LIMIT n", 1, 28),
    ("SELECT * FROM t WHERE a = 1 )", "unexpected ')' at the end of the query", 1, 29),
    # a second statement was "SELECT is out of place; clauses go SELECT, FROM, …"
    ("SELECT * FROM t; SELECT 1", "a query is one statement: nothing may follow ';'", 1, 18),
    ("SELECT FROM t", "expected an expression after 'SELECT', found 'FROM'", 1, 8),
    ("SELECT a FROM t WHERE", "expected an expression after 'WHERE', found end of input", 1, 22),
    ("SELECT a FROM t GROUP a", "expected BY after 'GROUP'", 1, 23),
    ("SELECT a, b FROM t GROUP BY a", "'b' must appear in GROUP BY", 1, 11),
    ("SELECT a, count(1) FROM t", "'a' must appear in GROUP BY", 1, 8),
    ("SELECT *, count(1) FROM t", "'*' cannot be combined with aggregates", 1, 8),
    ("SELECT a FROM t GROUP BY 3", "GROUP BY position 3 is not in the select list", 1, 26),
    ("SELECT a FROM t ORDER BY 0", "ORDER BY position 0 is not in the select list", 1, 26),
    ("SELECT id, user.number AS id FROM t", "duplicate column name 'id'", 1, 12),
    ("SELECT a AS x, b AS x FROM t", "duplicate column name 'x'", 1, 16),
    ("SELECT DISTINCT a, count(1) FROM t", "SELECT DISTINCT cannot be combined", 1, 8),
    ("SELECT a FROM t PIVOT(x FOR y IN (ANY))", "PIVOT needs aggregate functions", 1, 23),
    ("SELECT a FROM t PIVOT(sum(x) FOR y IN ('a'))", "PIVOT supports only IN (ANY)", 1, 40),
    ("SELECT a FROM t PIVOT(sum(x) FOR f(y) IN (ANY))", "PIVOT ... FOR needs a field name", 1, 34),
    ("SELECT * FROM t UNPIVOT (v k IN (x))", "expected FOR after 'v'", 1, 28),
    ("SELECT * FROM t WHERE MATCH(a) ('x')", "expected AGAINST after ')'", 1, 32),
    ("SELECT * FROM t TABLESAMPLE (5)", "expected PERCENT or ROWS after '5'", 1, 31),
    ("SELECT * FROM t TABLESAMPLE (1.5 ROWS)", "whole number of at least 1", 1, 30),
    ("SELECT * FROM t WHERE CASE END", "expected WHEN after 'CASE'", 1, 28),
    ("SELECT * FROM t WHERE a | b", "unexpected '|' at the end of the query", 1, 25),
    # ESCAPE was "unexpected 'ESCAPE' at the end of the query"
    (
        "SELECT * FROM t WHERE a LIKE 'x!%' ESCAPE '!'",
        "ESCAPE is not supported: '\\' escapes",
        1,
        36,
    ),
    # FILTER and OVER were "unexpected '(' at the end of the query"
    ("SELECT count(*) FILTER (WHERE a) FROM t", "FILTER (WHERE …) is not supported", 1, 17),
    ("SELECT row_number() OVER (ORDER BY a) FROM t", "window functions (OVER)", 1, 21),
    ("SELECT a || 'x' FROM t", "'||' is not supported: write concat(a, b)", 1, 10),  # was '|'
    ("SELECT * FROM t WHERE a = 'x'||b", "'||' is not supported: write concat(a, b)", 1, 30),
    ("SELECT * FROM f(x, kind => 'y')", "unknown data source argument 'kind'", 1, 20),
    ("SELECT\n  a,\n  b +\nFROM t", "expected an expression after '+', found 'FROM'", 4, 1),
]


@pytest.mark.parametrize(
    ("text", "message", "line", "col"), ERRORS, ids=[e[0][:40] for e in ERRORS]
)
def test_error(text, message, line, col):
    with pytest.raises(QueryError) as info:
        parse_query(text)
    assert message in str(info.value)
    assert (info.value.line, info.value.col) == (line, col)


# The shape's value is read in any case, as the word after a BTQL source is (TRACES): it
# was "shape must be 'spans', 'traces' or 'summary'".
def test_the_shape_value_is_read_in_any_case():
    assert parse_sql("SELECT * FROM project_logs('p', shape => 'TRACES')").from_.shape == "traces"
    assert parse_query("select: * | from: project_logs('p', shape => 'Summary')").from_.shape == (
        "summary"
    )
    json_source = {"op": "function", "name": {"op": "ident", "name": ["project_logs"]}}
    json_source |= {"args": [{"op": "literal", "value": "p"}], "shape": "TRACES"}
    assert query_from_json({"select": [{"op": "star"}], "from": json_source}).from_.shape == (
        "traces"
    )
