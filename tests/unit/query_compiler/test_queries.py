"""Whole queries: select lists and their names, output values, dimensions and measures,
aggregates, final_filter, sort, limit."""

from __future__ import annotations

import pytest

from tracelake.query import ast
from tracelake.query.errors import QueryError

from .data import ALL, IF, IV, STAR, XACT_BASE, A, B, F, I, L, S, U, compiler, ids, run, scope

Q = ast.Query
MODEL = I("metadata", "model")
TOKENS = I("metrics", "tokens")
FACT = I("scores", "Factuality")


def one(con, *measures: ast.Aliased, **options) -> dict:
    rows = run(con, Q(measures=measures), **options)
    assert len(rows) == 1
    return rows[0]


# -- output values and names ---------------------------------------------------------------------


def test_output_values_keep_their_types(con):
    query = Q(
        select=(
            A(I("id")),
            A(I("metadata")),
            A(MODEL),
            A(I("metadata", "n")),
            A(I("created")),
            A(I("_xact_id")),
            A(I("is_root")),
            A(I("tags")),
            A(I("output")),
            A(B("div", TOKENS, L(3)), "third"),
            A(B("mul", TOKENS, L(2)), "double"),
        ),
        filter=B("eq", I("id"), L("r01")),
    )
    (row,) = run(con, query)
    assert row == {
        "id": "r01",
        "metadata": {  # JSON stays JSON, not a quoted string
            "model": "gpt-4", "is_production": True, "n": 5,
            "models": [{"name": "a"}, {"name": "b"}], "field.name": "dot",
            "field name": "space", "field-name": "hyphen", "description": "get 50% off now",
        },
        "model": "gpt-4",
        "n": 5,
        "created": "2024-11-09T10:00:00.250000Z",  # ISO-8601 UTC with Z
        "_xact_id": str(XACT_BASE),  # ids beyond 2**53 stay exact
        "is_root": True,
        "tags": ["triage", "feedback"],
        "output": "Recursion is when a function calls itself.",
        "third": 400,  # an integral float is written as an integer
        "double": 2400,
    }  # fmt: skip
    assert isinstance(row["third"], int)


def test_names(con):
    query = Q(
        select=(
            A(MODEL),
            A(I("metadata", "field name")),
            A(I("tags", 0)),
            A(I("id")),
            A(B("add", L(1), L(2))),
            A(F("upper", I("id")), "up"),
        ),
        filter=B("eq", I("id"), L("r01")),
    )
    (row,) = run(con, query)
    assert list(row) == ["model", "field name", "tags[0]", "id", "expr_5", "up"]


def test_star_lists_the_scope_columns(con):
    (row,) = run(con, Q(select=(STAR,), filter=B("eq", I("id"), L("r02"))))
    assert list(row) == list(scope().columns)
    assert row["error"] == {"type": "rate_limit", "message": "slow down"}
    assert row["span_parents"] == ["r01"] and row["log_id"] == "g"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (Q(select=(A(I("id")), A(I("id")))), "duplicate column name 'id'"),
        (Q(select=(A(I("id")), A(MODEL, "id"))), "duplicate column name 'id'"),
        (Q(select=(A(I("span_id"), "x"), A(MODEL, "x"))), "duplicate column name 'x'"),
        (
            Q(select=(A(MODEL),), measures=(A(F("count", L(1)), "n"),)),
            "select cannot be combined with measures (use dimensions)",
        ),
        (Q(select=(STAR, A(F("count", L(1)), "n"))), "select * cannot be combined with aggregates"),
        (
            Q(measures=(A(MODEL, "m"),)),
            "'metadata.model' in measures must be in an aggregate or be a dimension",
        ),
        (
            Q(measures=(A(F("sum", F("count", L(1))), "x"),)),
            "aggregate count() cannot be inside another aggregate",
        ),
        (
            Q(measures=(A(F("count", L(1), L(2)), "x"),)),
            "wrong number of arguments to count(): it takes at most 1 argument, not 2",
        ),
        (
            Q(dimensions=(A(F("count", L(1)), "x"),)),
            "aggregate count() is not allowed in dimensions",
        ),
        (
            Q(select=(A(I("id")),), sort=(S(I("metadata", "n")), S(F("count", L(1))))),
            "aggregate count() is not allowed in sort",
        ),
        (Q(select=(A(I("id")),), sort=(S(L(3)),)), "sort ordinal 3 is out of range"),
        (
            Q(dimensions=(A(L(1)),), measures=(A(F("count", L(1)), "n"),)),
            "a dimension ordinal needs a select list",
        ),
        (
            Q(measures=(A(F("percentile", FACT, L(1.5)), "p"),)),
            "the percentile must be between 0 and 1",
        ),
        (
            Q(measures=(A(F("percentile", FACT, I("id")), "p"),)),
            "the percentile must be a number literal",
        ),
        (
            Q(measures=(A(F("count", STAR, distinct=True), "n"),)),
            "count(DISTINCT *) is not supported",
        ),
        (Q(select=(A(STAR),)), "* is only allowed in select and count(*)"),
        (Q(select=(A(I("id")),), sort=(S(I("id"), "up"),)), "invalid sort direction 'up'"),
        (
            Q(measures=(A(F("estimated_cost"), "c"),)),
            "estimated_cost() in measures must be in an aggregate",
        ),
    ],
    ids=lambda x: str(x)[:60],
)
def test_query_errors(con, query, message):
    with pytest.raises(QueryError) as err:
        run(con, query)
    assert err.value.detail == message


# -- aggregates -----------------------------------------------------------------------------------

AGGREGATES = [
    (F("count", L(1)), 10),
    (F("count", STAR), 10),
    (F("count", I("error")), 3),  # non-null values
    (F("count", MODEL), 8),  # JSON null does not count
    (B("div", F("count", I("error")), F("count", L(1))), 0.3),  # never integer division
    (F("count", MODEL, distinct=True), 4),
    (F("count_distinct", MODEL), 4),
    (F("count", IF((B("gt", FACT, L(0.8)), L(1)), else_=L(None))), 4),
    (F("sum", I("is_root")), 7),  # booleans add up as 0/1
    (F("avg", I("is_root")), 0.7),
    # JSON true/false too (they were NULL); the string "true" is not a number
    (F("sum", I("metadata", "is_production")), 2),
    (F("avg", I("metadata", "is_production")), pytest.approx(2 / 3)),
    (F("sum", I("metadata", "is_production"), distinct=True), 1),
    (F("percentile", I("metadata", "is_production"), L(0.5)), 1),
    (F("sum", I("metadata", "bool_str")), None),
    (F("avg", IF((B("gt", FACT, L(0.8)), L(1)), else_=L(0))), 0.4),
    (F("sum", U("isnotnull", FACT)), 8),
    (F("sum", TOKENS), 4950),  # the string "2000" is a number too
    (F("avg", TOKENS), pytest.approx(4950 / 7)),
    (F("sum", TOKENS, distinct=True), 4950),
    (F("min", TOKENS), 0),
    (F("max", TOKENS), 2000),
    (F("max", MODEL), "gpt-4"),  # no numbers: text order
    (F("min", MODEL), "GPT-4"),
    # objects, arrays and booleans stay what they are (they were their JSON text, a string)
    (F("max", I("input")), {"question": "Explain the concept of recursion"}),  # by text
    (F("max", I("metadata", "models")), [{"name": "solo"}]),
    (F("min", I("metadata", "models")), []),
    (F("max", I("metadata", "is_production")), True),
    (F("len", F("max", I("metadata", "models"))), 1),
    (B("eq", F("max", I("metadata", "n")), L("10")), True),  # 10, not 10.0
    (F("min", I("created")), "2023-12-31T23:59:59.000000Z"),
    (F("max", I("tags", 0)), "triage"),
    (F("percentile", FACT, L(0.5)), pytest.approx(0.825)),  # interpolated
    (F("percentile", FACT, L(0.95)), pytest.approx(0.9825)),
    (F("percentile", FACT, L(0)), 0.4),
    (F("percentile", FACT, L(1)), 1),
    (F("any_value", I("metadata", "tier")), "gold"),
    (F("sum", F("estimated_cost")), 0.512),
    (B("div", F("sum", I("metrics", "prompt_tokens")), F("count", L(1))), 70),
    (F("max", F("day", I("created"))), "2025-01-01T00:00:00Z"),
    # around aggregates, conversions and interval arithmetic that may go out of range (NULL
    # then) ran into DuckDB's "aggregates are not allowed inside the TRY expression"
    (F("to_datetime", F("max", TOKENS)), "1970-01-01T00:33:20.000000Z"),
    (F("day", F("min", I("metadata", "ts"))), "2024-01-01T00:00:00Z"),
    (B("mul", IV(1, "hour"), F("count", L(1))), "10:00:00"),
    (
        B("div", B("sub", F("max", I("created")), F("min", I("created"))), L(2)),
        "183 days 00:00:00.5",
    ),
    (F("to_interval", F("max", TOKENS)), "00:33:20"),
    # integers beyond 64 bits are NULL (they were a DuckDB overflow error)
    (B("add", F("count", L(1)), L(1)), 11),
    (B("mul", F("count", L(1)), L(9223372036854775807)), None),
    # an aggregate of null is NULL of any type (DuckDB could not bind these)
    (F("day", F("max", L(None))), None),
    (B("add", F("min", L(None)), IV(1, "day")), None),
    # on the UTC calendar, not the session's (the guarded sum beside an aggregate)
    (B("sub", F("min", I("created")), IV(3000, "year")), "-000977-12-31T23:59:59.000000Z"),
    (F("to_datetime", F("any_value", L(None))), None),
]


@pytest.mark.parametrize(("measure", "expected"), AGGREGATES, ids=lambda x: str(x)[:70])
def test_aggregates(con, measure, expected):
    assert one(con, A(measure, "v"))["v"] == expected


def test_aggregate_over_no_rows(con):
    query = Q(
        measures=(A(F("count", L(1)), "n"), A(F("sum", TOKENS), "s")),
        filter=B("eq", I("id"), L("nope")),
    )
    assert run(con, query) == [{"n": 0, "s": None}]


def test_group_by_model_sorted(con):
    query = Q(
        dimensions=(A(MODEL, "model"),),
        measures=(A(F("count", L(1)), "n"), A(F("avg", FACT), "avg")),
        sort=(S(I("n"), "desc"), S(I("model"))),
    )
    assert run(con, query) == [
        {"model": "gpt-4", "n": 5, "avg": pytest.approx(0.79)},
        {"model": None, "n": 2, "avg": None},
        {"model": "GPT-4", "n": 1, "avg": 0.85},
        {"model": "claude-3-opus", "n": 1, "avg": 0.95},
        {"model": "gpt-3.5-turbo", "n": 1, "avg": 0.4},
    ]


def test_daily_token_usage_in_utc_and_pacific(con):
    def query(tz):
        q = Q(
            dimensions=(A(F("day", I("created")), "time"),),
            measures=(A(F("sum", TOKENS), "total_tokens"),),
            sort=(S(I("time")),),
        )
        return [(r["time"], r["total_tokens"]) for r in run(con, q, tz_offset=tz)]

    assert query(0) == [
        ("2023-12-31T00:00:00Z", None),
        ("2024-11-09T00:00:00Z", 1900),
        ("2024-11-10T00:00:00Z", 50),
        ("2024-11-11T00:00:00Z", 1000),
        ("2024-11-15T00:00:00Z", 2000),
        ("2024-12-01T00:00:00Z", None),
        ("2025-01-01T00:00:00Z", None),
    ]
    assert query(480) == [
        ("2023-12-31T08:00:00Z", None),
        ("2024-11-08T08:00:00Z", 0),
        ("2024-11-09T08:00:00Z", 1950),
        ("2024-11-10T08:00:00Z", 1000),
        ("2024-11-15T08:00:00Z", 2000),
        ("2024-11-30T08:00:00Z", None),
        ("2024-12-31T08:00:00Z", None),
    ]


def test_unaliased_dimension_uses_its_short_name(con):
    query = Q(
        dimensions=(A(I("tags", 0)), A(I("span_attributes", "type"))),
        measures=(A(F("count", L(1)), "n"),),
        sort=(S(L(3), "desc"), S(L(1)), S(L(2))),
    )
    rows = run(con, query)
    assert rows[0] == {"tags[0]": "feedback", "type": None, "n": 2}
    assert {"tags[0]": "triage", "type": "llm", "n": 2} in rows
    assert sum(r["n"] for r in rows) == 10


def test_final_filter_sees_aliases_and_aggregates(con):
    base = Q(
        dimensions=(A(MODEL, "model"),), measures=(A(F("count", L(1)), "n"),), sort=(S(I("model")),)
    )
    by_alias = ast.Query(**{**base.__dict__, "final_filter": B("gt", I("n"), L(1))})
    assert [r["model"] for r in run(con, by_alias)] == ["gpt-4", None]
    by_aggregate = ast.Query(**{**base.__dict__, "final_filter": B("gt", F("avg", FACT), L(0.8))})
    assert [r["model"] for r in run(con, by_aggregate)] == ["GPT-4", "claude-3-opus"]
    on_dimension = ast.Query(**{**base.__dict__, "final_filter": B("ne", MODEL, L(None))})
    assert len(run(con, on_dimension)) == 4


def test_sql_style_group_by_with_select_and_ordinals(con):
    select = (A(MODEL), A(F("count", STAR), "cnt"))
    by_name = Q(select=select, dimensions=(A(I("model")),), sort=(S(I("cnt"), "desc"),), limit=1)
    assert run(con, by_name) == [{"model": "gpt-4", "cnt": 5}]
    by_ordinal = Q(select=select, dimensions=(A(L(1)),), sort=(S(L(2), "desc"),), limit=2)
    assert run(con, by_ordinal) == [{"model": "gpt-4", "cnt": 5}, {"model": None, "cnt": 2}]


def test_select_with_only_aggregates_is_a_whole_table_aggregate(con):
    assert run(con, Q(select=(A(F("count", STAR), "n"),))) == [{"n": 10}]


def test_a_dimension_may_feed_a_measure_expression(con):
    query = Q(
        dimensions=(A(I("is_root"), "root"),),
        measures=(A(IF((I("is_root"), F("count", L(1))), else_=L(0)), "roots"),),
        sort=(S(I("root")),),
    )
    assert run(con, query) == [{"root": False, "roots": 0}, {"root": True, "roots": 7}]


# -- sort, aliases and limit -----------------------------------------------------------------------


def _ids(rows):
    return [r["id"] for r in rows]


def test_sort_json_numbers_numerically_then_text_nulls_last(con):
    query = Q(select=(A(I("id")), A(I("metadata", "n"))), sort=(S(I("n"), "desc"), S(I("id"))))
    assert _ids(run(con, query)) == [
        "r03",
        "r04",
        "r02",
        "r01",
        "r05",
        "r06",
        "r07",
        "r08",
        "r09",
        "r10",
    ]
    query = Q(select=(A(I("id")),), sort=(S(FACT), S(I("id"))), limit=4)
    assert _ids(run(con, query)) == ["r02", "r08", "r03", "r09"]


def test_sort_on_alias_computed_value_and_ordinal(con):
    query = Q(select=(A(I("id")), A(I("created"), "ts")), sort=(S(I("ts"), "desc"),), limit=3)
    assert _ids(run(con, query)) == ["r07", "r06", "r05"]
    query = Q(select=(A(I("id")),), sort=(S(F("len", I("tags")), "desc"), S(I("id"))), limit=3)
    assert _ids(run(con, query)) == ["r01", "r04", "r07"]
    query = Q(select=(A(I("id")),), sort=(S(L(1), "desc"),), limit=2)
    assert _ids(run(con, query)) == ["r10", "r09"]


@pytest.mark.parametrize(
    "key",
    [
        *(U("neg", L(1)), L("abc"), L(True), L(None), L(2.5)),
        *(F("to_number", L("x")), F("to_boolean", L("true")), F("to_boolean", L("no"))),
    ],
)
def test_a_constant_sort_key_or_dimension_is_no_position(con, key):
    """Only a positive integer literal names an output (DuckDB read -1 as a position, and
    refused a bare string, boolean or null in ORDER BY: `sort: to_number('x')` was 'the
    query could not run: Binder Error: ORDER BY non-integer literal has no effect')."""
    query = Q(select=(A(I("id")),), sort=(S(key), S(I("id"))), limit=2)
    assert _ids(run(con, query)) == ["r01", "r02"]
    query = Q(dimensions=(A(key, "k"),), measures=(A(F("count", L(1)), "n"),))
    assert [row["n"] for row in run(con, query)] == [len(ALL)]


def test_implicit_short_names(con):
    select = (A(I("id")), A(MODEL))
    rows = run(con, Q(select=select, filter=B("eq", I("model"), L("GPT-4"))))
    assert _ids(rows) == ["r10"]
    # the parsers write an unambiguous short name as an alias: still usable in filter
    query = Q(select=(A(I("id")), A(MODEL, "model")), filter=B("eq", I("model"), L("GPT-4")))
    assert _ids(run(con, query)) == ["r10"]
    # a top-level field wins over a short name
    query = Q(select=(A(I("metadata", "tier")), A(I("id"))), filter=B("eq", I("id"), L("r10")))
    assert run(con, query) == [{"tier": "gold", "id": "r10"}]
    # an explicit alias frees the short name
    query = Q(
        select=(A(I("id")), A(MODEL, "m"), A(I("span_attributes", "model"))),
        filter=B("eq", I("model"), L("x")),
    )
    assert run(con, query) == []
    # colliding short names: full paths as names, and the short name is ambiguous
    query = Q(
        select=(A(I("id")), A(I("metadata", "id")), A(MODEL), A(I("span_attributes", "model"))),
        filter=B("eq", I("id"), L("r01")),
    )
    assert list(run(con, query)[0]) == [
        "id",
        "metadata.id",
        "metadata.model",
        "span_attributes.model",
    ]
    with pytest.raises(QueryError, match="'model' is ambiguous"):
        run(
            con,
            Q(
                select=(A(MODEL), A(I("span_attributes", "model"))),
                filter=B("eq", I("model"), L("x")),
            ),
        )
    with pytest.raises(QueryError, match="unknown field 'm'"):
        run(con, Q(select=(A(MODEL, "m"),), filter=B("eq", I("m"), L("x"))))


def test_alias_paths_and_precedence_in_sort(con):
    # an explicit alias shadows a column of the same name in sort
    query = Q(
        select=(A(I("metadata", "n"), "id"), A(I("span_id"))), sort=(S(I("id"), "desc"),), limit=2
    )
    assert [r["span_id"] for r in run(con, query)] == ["r03", "r04"]
    query = Q(
        select=(A(I("span_id")), A(I("metadata"), "m")), sort=(S(I("m", "n"), "desc"),), limit=1
    )
    assert [r["span_id"] for r in run(con, query)] == ["r03"]


def test_limit(con):
    assert len(run(con, Q(select=(A(I("id")),), limit=3))) == 3


def test_span_filters_are_the_planners_not_the_compilers(con):
    """ANY_SPAN / FILTER_SPANS are trace conditions that the planner rewrites on every shape;
    the compiler meets them only outside the filters, where they are an error."""
    tree = ast.SpanFilter("singlespanfilter", B("eq", I("id"), L("r01")), loc=ast.Loc(1, 5))
    with pytest.raises(QueryError, match="belongs in the filter") as raised:
        ids(con, tree)
    assert (raised.value.line, raised.value.col) == (1, 5)


def test_compile_expr_with_aggregates_from_the_scope(con):
    sql = compiler.compile_expr(F("count", L(1)), scope(aggregates=True))
    assert compiler.sql(sql) == "COUNT(1)"
    with pytest.raises(QueryError):
        compiler.compile_expr(F("count", L(1)), scope())


def test_scope_aliases_are_visible_in_sort(con):
    sort = compiler.compile_sort(Q(sort=(S(I("k")),)), scope(aliases={"k": I("id")}))
    assert compiler.sql(sort[0]) == '"e"."id" ASC'


def test_every_row_once(con):
    assert sorted(_ids(run(con, Q(select=(A(I("id")),))))) == ALL


def test_projection_parts(con):
    proj = compiler.compile_projection(
        Q(dimensions=(A(MODEL, "model"),), measures=(A(F("count", L(1)), "n"),)), scope()
    )
    assert [name for name, _ in proj.items()] == ["model", "n"]
    assert proj.aggregate and not proj.star
    assert [compiler.sql(g) for g in proj.group_by] == [
        'NULLIF(JSON_EXTRACT("e"."metadata", \'$."model"\'), CAST(\'null\' AS JSON))'
    ]
    assert proj.columns[1].value.type.value == "number"
    star = compiler.compile_projection(Q(select=(STAR,)), scope())
    assert star.star and not star.aggregate and star.group_by == ()
