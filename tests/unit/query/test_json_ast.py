"""The JSON AST: what SDKs send (btql.md §3.3, §5.3–5.4), the canonical output, strictness."""

from __future__ import annotations

import json

import pytest

from tracelake.query import ast
from tracelake.query.errors import QueryError
from tracelake.query.parsers import (
    expr_from_json,
    expr_to_json,
    parse_btql,
    parse_expression,
    parse_sql,
    query_from_json,
    query_to_json,
)

from .test_btql import EXPRESSIONS
from .trees import AND, NOT, OR, SRC, STAR, A, B, F, I, L, U, assert_round_trip, assert_same


def ident(*name):
    return {"op": "ident", "name": list(name)}


def lit(value):
    return {"op": "literal", "value": value}


def fn(name, *args, **extra):
    return {"op": "function", "name": ident(name), "args": list(args), **extra}


# --- what clients send ------------------------------------------------------------------------


def test_sdk_object_fetcher_and_prompt_history():
    q = query_from_json(
        {
            "from": fn("project_prompts", lit("proj")),
            "select": [{"op": "star"}],
            "filter": {"op": "eq", "left": ident("id"), "right": lit("prompt")},
            "cursor": None,
            "limit": 1000,
        }
    )
    assert q == ast.Query(
        select=(STAR,),
        from_=SRC("project_prompts", "proj"),
        filter=B("eq", I("id"), L("prompt")),
        limit=1000,
    )


def test_spec_harness_binary_and_with_null_literal():
    q = query_from_json(
        {
            "select": [{"op": "star"}],
            "from": fn("project_logs", lit("<project_id>")),
            "filter": {
                "op": "and",
                "left": {"op": "eq", "left": ident("root_span_id"), "right": lit("r")},
                "right": {"op": "ne", "left": ident("span_parents"), "right": lit(None)},
            },
            "sort": [{"expr": ident("created"), "dir": "asc"}],
            "limit": 1000,
        }
    )
    assert q.filter == AND(B("eq", I("root_span_id"), L("r")), B("ne", I("span_parents"), L(None)))
    assert query_to_json(q)["filter"]["children"][1]["right"] == {"op": "literal", "value": None}


def test_js_trace_span_fetch_filter():
    filt = {
        "op": "and",
        "children": [
            {"op": "eq", "left": ident("root_span_id"), "right": lit("r")},
            {
                "op": "or",
                "children": [
                    {"op": "isnull", "expr": ident("span_attributes", "purpose")},
                    {
                        "op": "ne",
                        "left": ident("span_attributes", "purpose"),
                        "right": lit("scorer"),
                    },
                ],
            },
            {"op": "in", "left": ident("span_attributes", "type"), "right": lit(["llm", "tool"])},
        ],
    }
    assert expr_from_json(filt) == AND(
        B("eq", I("root_span_id"), L("r")),
        OR(
            U("isnull", I("span_attributes", "purpose")),
            B("ne", I("span_attributes", "purpose"), L("scorer")),
        ),
        B("in", I("span_attributes", "type"), L(["llm", "tool"])),
    )
    assert expr_to_json(expr_from_json(filt)) == filt


def test_btql_snippet_leaves():
    q = query_from_json(
        {
            "select": [{"expr": {"btql": "id"}, "alias": "id"}],
            "filter": {"btql": "metadata.annotated = true"},
            "sort": [{"expr": {"op": "btql", "btql": "created"}, "dir": "desc"}],
            "sample": {"method": {"type": "rate", "value": 0.25}, "seed": 42},
            "preview_length": 1024,
            "limit": 1000,
        }
    )
    assert q == ast.Query(
        select=(A(I("id"), "id"),),
        filter=B("eq", I("metadata", "annotated"), L(True)),
        sort=(ast.SortItem(I("created"), "desc"),),
        sample=ast.Sample("rate", 0.25, 42),
        preview_length=1024,
        limit=1000,
    )


def test_dataset_export_and_discovery_payloads():
    export = {
        "select": [{"alias": f, "expr": ident(f)} for f in ("id", "input")],
        "from": fn("dataset", lit("ds")),
        "filter": {"op": "ge", "left": ident("created"), "right": lit("1970-01-01T00:00:00Z")},
        "preview_length": -1,
        "limit": 1000,
        "cursor": "tok",
    }
    assert query_from_json(export).from_ == SRC("dataset", "ds")
    discovery = {
        "select": [{"alias": "root_span_id", "expr": ident("root_span_id")}],
        "from": {**fn("project_logs", lit("p")), "shape": "spans"},
        "limit": 10,
        "sort": [{"expr": ident("_pagination_key"), "dir": "desc"}],
    }
    assert query_from_json(discovery).from_ == SRC("project_logs", "p", shape="spans")


def test_query_to_json_exact_output():
    q = parse_btql(
        "select: *, metadata.model, count_distinct(x) as n\n"
        "from: project_logs('p') traces\n"
        "filter: a = 1 or b is null\n"
        "sort: created desc\n"
        "sample: 10% seed 3\n"
        "unpivot: scores as (k, v), tags as t\n"
        "limit: 5"
    )
    assert query_to_json(q) == {
        "select": [
            {"op": "star"},
            {"expr": ident("metadata", "model"), "alias": "model"},
            {"expr": fn("count_distinct", ident("x")), "alias": "n"},
        ],
        "from": {**fn("project_logs", lit("p")), "shape": "traces"},
        "filter": {
            "op": "or",
            "children": [
                {"op": "eq", "left": ident("a"), "right": lit(1)},
                {"op": "isnull", "expr": ident("b")},
            ],
        },
        "sort": [{"expr": ident("created"), "dir": "desc"}],
        "limit": 5,
        "sample": {"method": {"type": "rate", "value": 0.1}, "seed": 3},
        "unpivot": [
            {"expr": ident("scores"), "alias": ["k", "v"]},
            {"expr": ident("tags"), "alias": "t"},
        ],
    }
    assert json.loads(json.dumps(query_to_json(q))) == query_to_json(q)


def test_function_json_shapes():
    e = parse_expression("count(distinct x)")
    assert expr_to_json(e) == fn("count", ident("x"), duplicate_treatment="Distinct")
    e = parse_expression("f(a, shape => 'traces')")
    assert expr_to_json(e) == fn("f", ident("a"), {"expr": lit("traces"), "alias": "shape"})
    assert expr_from_json({"op": "function", "name": "Now", "args": []}) == F("now")
    assert expr_from_json(fn("count", {"op": "star"}, duplicate_treatment="All")) == F(
        "count", STAR
    )


def test_if_interval_span_filters_and_includes():
    cases = {
        "a ? 1 : 2": {"op": "if", "conds": [{"cond": ident("a"), "then": lit(1)}], "else": lit(2)},
        "interval 3 hour": {"op": "interval", "value": 3, "unit": "hour"},
        "ANY_SPAN(x)": {"op": "singlespanfilter", "expr": ident("x")},
        "FILTER_SPANS(x)": {"op": "matchingspansfilter", "expr": ident("x")},
        "tags includes 'a'": {"op": "includes", "haystack": ident("tags"), "needle": lit("a")},
        "-x": {"op": "neg", "expr": ident("x")},
        "a <=> b": {"op": "nulleq", "left": ident("a"), "right": ident("b")},
        "a % 2": {"op": "mod", "left": ident("a"), "right": lit(2)},
    }
    for text, node in cases.items():
        assert expr_to_json(parse_expression(text)) == node
        assert expr_from_json(node) == parse_expression(text)
    assert expr_from_json({"op": "if", "conds": [{"cond": ident("a"), "then": lit(1)}]}) == ast.If(
        ((I("a"), L(1)),)
    )
    assert expr_from_json({"op": "interval", "value": 2, "unit": "days"}) == ast.Interval(2, "day")


@pytest.mark.parametrize(("text", "tree"), EXPRESSIONS, ids=[t for t, _ in EXPRESSIONS])
def test_every_expression_round_trips(text, tree):
    assert expr_from_json(expr_to_json(tree)) == tree
    assert expr_from_json(json.loads(json.dumps(expr_to_json(tree)))) == tree


def test_list_filter_means_and_and_nulls_mean_absent():
    q = query_from_json(
        {
            "select": [{"op": "star"}],
            "filter": [{"btql": "a = 1"}, {"btql": "b = 2"}],
            "span_filter": [{"btql": "c"}],
            "trace_filter": [],
            "limit": None,
            "sort": None,
        }
    )
    assert q.filter == AND(B("eq", I("a"), L(1)), B("eq", I("b"), L(2)))
    assert q.span_filter == I("c")
    assert q.trace_filter is None and q.limit is None and q.sort is None


def test_loc_keys_are_accepted_and_ignored():
    node = {"op": "ident", "name": ["x"], "loc": {"start": {"line": 1, "col": 1}}}
    assert expr_from_json(node) == I("x")


def test_same_query_in_three_forms():
    assert_same(
        "select: id, metadata.model as m | from: project_logs('p') spans | filter: x > 1 and "
        "y is not null | sort: id desc | limit: 3",
        sql="SELECT id, metadata.model AS m FROM project_logs('p', shape => 'spans') "
        "WHERE x > 1 AND y IS NOT NULL ORDER BY id DESC LIMIT 3",
        json={
            "select": [{"expr": ident("id")}, {"expr": ident("metadata", "model"), "alias": "m"}],
            "from": {**fn("project_logs", lit("p")), "shape": "spans"},
            "filter": {
                "op": "and",
                "children": [
                    {"op": "gt", "left": ident("x"), "right": lit(1)},
                    {"btql": "y IS NOT NULL"},
                ],
            },
            "sort": [{"expr": ident("id"), "dir": "DESC"}],
            "limit": 3,
        },
    )


# --- strictness -------------------------------------------------------------------------------

ERRORS = [
    ({"select": [{"op": "star"}], "fliter": {}}, "unknown query key 'fliter'"),
    ({"select": [{"op": "star"}], "use_columnstore": True}, "unknown query key 'use_columnstore'"),
    ({"select": [{"op": "star"}], "infer": [{"op": "star"}]}, "query key 'infer' is not supported"),
    ({"filter": {"btql": "a"}}, "a query needs select, dimensions or measures"),
    ({"select": []}, "a query needs select, dimensions or measures"),
    (
        {"select": [{"op": "ident", "name": ["x"]}]},
        'select[0]: expected {"expr": ..., "alias": "name"}',
    ),
    ({"select": [{"expr": {"op": "nope"}}]}, "select[0].expr: unknown expression op 'nope'"),
    (
        {"select": [{"expr": {"op": "ident", "name": ["x"], "extra": 1}}]},
        "select[0].expr: unknown key 'extra'",
    ),
    ({"select": [{"expr": {"op": "ident", "name": []}}]}, "a field path is a non-empty list"),
    (
        {"select": [{"expr": {"op": "ident", "name": ["a", True]}}]},
        "path segments are names or integers",
    ),
    ({"select": [{"expr": {"op": "star", "replace": {}}}]}, "star 'replace' is not supported"),
    (
        {"select": [{"op": "star"}], "filter": {"op": "and", "children": []}},
        "needs at least one child",
    ),
    (
        {"select": [{"op": "star"}], "filter": {"op": "eq", "left": ident("a")}},
        "filter.right: expected an expression object",
    ),
    (
        {"select": [{"op": "star"}], "filter": "a = 1"},
        "filter: expected an expression object, got str",
    ),
    ({"select": [{"op": "star"}], "limit": -1}, "limit: expected an integer >= 0"),
    ({"select": [{"op": "star"}], "limit": True}, "limit: expected an integer"),
    ({"select": [{"op": "star"}], "cursor": 5}, "cursor: expected a string"),
    ({"select": [{"op": "star"}], "from": lit("x")}, "from: expected an ident or function node"),
    (
        {"select": [{"op": "star"}], "from": {**fn("f"), "shape": "rows"}},
        "from.shape: expected one of",
    ),
    (
        {"select": [{"op": "star"}], "from": fn("f", {"expr": lit(1), "alias": "k"})},
        "unknown data source argument 'k'",
    ),
    (
        {"select": [{"op": "star"}], "from": fn("f", {"expr": lit("rows"), "alias": "shape"})},
        "from.args: shape must be one of spans, traces, summary",
    ),
    (
        {
            "select": [{"op": "star"}],
            "from": fn("f", {"expr": lit("spans"), "alias": "shape"}, shape="traces"),
        },
        "from.args: the shape is given twice",
    ),
    (
        {"select": [{"op": "star"}], "sort": [{"expr": ident("a"), "dir": "up"}]},
        "sort[0].dir: expected 'asc' or 'desc'",
    ),
    (
        {"select": [{"op": "star"}], "sample": {"method": {"type": "rate", "value": 2}}},
        "a rate is a number in [0, 1]",
    ),
    (
        {"select": [{"op": "star"}], "sample": {"method": {"type": "count", "value": 0}}},
        "expected an integer >= 1",
    ),
    (
        {"select": [{"op": "star"}], "sample": {"method": {"type": "pct", "value": 1}}},
        "expected 'rate' or 'count'",
    ),
    (
        {"select": [{"op": "star"}], "unpivot": [{"expr": ident("a"), "alias": ["k"]}]},
        "a [key, value] pair",
    ),
    (
        {"select": [{"expr": {"op": "interval", "value": 1, "unit": "fortnight"}}]},
        "unknown interval unit",
    ),
    ({"select": [{"expr": fn("f", duplicate_treatment="Some")}]}, "expected 'Distinct' or 'All'"),
    (
        {"select": [{"expr": {"op": "function", "name": ident("a", "b"), "args": []}}]},
        "a function name is",
    ),
    ({"select": [{"expr": {"op": "if", "conds": []}}]}, "'if' needs at least one condition"),
    ({"select": [{"expr": lit(float("nan"))}]}, "numbers must be finite"),
    ({"select": [{"expr": lit({1: 2})}]}, "a literal must be a JSON value"),
    ({"select": [{"expr": {"btql": 5}}]}, "select[0].expr.btql: expected a string"),
]


@pytest.mark.parametrize(("obj", "message"), ERRORS, ids=[m for _, m in ERRORS])
def test_error(obj, message):
    with pytest.raises(QueryError) as info:
        query_from_json(obj)
    assert message in str(info.value)


def test_a_btql_leaf_that_is_not_text_names_its_path_once():
    """It read "filter.btql: filter.btql: expected a string, got None"."""
    with pytest.raises(QueryError) as info:
        query_from_json({"select": [{"op": "star"}], "filter": {"btql": None}})
    assert info.value.detail == "filter.btql: expected a string, got None"


def test_btql_leaf_errors_keep_path_and_position():
    with pytest.raises(QueryError) as info:
        query_from_json({"select": [{"op": "star"}], "filter": {"btql": "a and\n  (b"}})
    assert str(info.value) == "filter.btql: expected ')' after 'b', found end of input at 2:5"
    assert (info.value.line, info.value.col) == (2, 5)


def test_deep_json_is_an_error_not_a_crash():
    node = ident("x")
    for _ in range(500):
        node = {"op": "not", "expr": node}
    with pytest.raises(QueryError) as info:
        expr_from_json(node)
    message = str(info.value)
    assert message.endswith(": expression is nested more than 200 levels deep")
    assert message.startswith("expr.expr.expr") and len(message) < 120


def test_round_trip_helper_covers_the_text_parsers():
    assert_round_trip(
        parse_btql("dimensions: a | measures: sum(b) | pivot: a | final_filter: NOT x")
    )
    assert query_from_json(query_to_json(parse_btql("select: a | filter: not b"))).filter == NOT(
        I("b")
    )


# Braintrust's AST schema has `alias?` on ident and function nodes: it was "unknown key
# 'alias'". An item without an alias of its own is named by it; elsewhere it names nothing.
def test_alias_on_ident_and_function_nodes():
    source = {**fn("project_logs", lit("p")), "alias": "t"}
    query = query_from_json(
        {
            "select": [
                {"expr": {**ident("metadata", "model"), "alias": "m"}},
                {"expr": {**fn("lower", ident("id")), "alias": "low"}, "alias": "own"},
            ],
            "from": source,
            "filter": {"op": "eq", "left": {**ident("id"), "alias": "x"}, "right": lit("a")},
        }
    )
    assert [item.alias for item in query.select] == ["m", "own"]
    assert query.filter == parse_expression("id = 'a'")
    assert query.from_.name == "project_logs"
    with pytest.raises(QueryError, match=r"select\[0\].expr.alias: expected a non-empty name"):
        query_from_json({"select": [{"expr": {**ident("id"), "alias": 5}}]})


# A whole JSON number is an integer (Python's json.dumps writes a float limit as 3.0): it was
# "limit: expected an integer >= 0, got 3.0".
def test_whole_float_numbers_are_integers():
    query = query_from_json(
        {
            "select": [{"op": "star"}],
            "limit": 3.0,
            "preview_length": -1.0,
            "sample": {"method": {"type": "count", "value": 2.0}, "seed": 7.0},
        }
    )
    assert (query.limit, query.preview_length) == (3, -1)
    assert (query.sample.value, query.sample.seed) == (2, 7)
    with pytest.raises(QueryError, match="limit: expected an integer >= 0, got 3.5"):
        query_from_json({"select": [{"op": "star"}], "limit": 3.5})
    # a whole number beyond 64 bits (a float once parsed) is too: any seed is whole, as in text
    query = query_from_json(
        {
            "select": [{"op": "star"}],
            "sample": {"method": {"type": "rate", "value": 1}, "seed": 1e300},
        }
    )
    assert query.sample.seed == int(1e300)
    with pytest.raises(QueryError, match="seed: expected an integer, got 0.5"):
        query_from_json(
            {
                "select": [{"op": "star"}],
                "sample": {"method": {"type": "rate", "value": 1}, "seed": 0.5},
            }
        )


# The shape as a named argument of the from function (`project_logs('p', shape => 'traces')`,
# as SQL writes it) was "named arguments are not allowed in a data source".
def test_shape_as_a_named_argument_of_the_source():
    source = fn("project_logs", lit("p"), {"expr": lit("traces"), "alias": "shape"})
    query = query_from_json({"select": [{"op": "star"}], "from": source})
    assert query.from_ == parse_sql("SELECT * FROM project_logs('p', shape => 'traces')").from_


# Every key of Braintrust's query schema is nullish: an unsupported key that is null (or an
# empty list) asks for nothing, and was "query key 'comparison_key' is not supported".
@pytest.mark.parametrize("key", ["comparison_key", "custom_columns", "final_dimensions", "infer"])
def test_unsupported_keys_that_ask_for_nothing_are_absent(key):
    for value in (None, []):
        assert query_from_json({"select": [{"op": "star"}], key: value}).select == (STAR,)
    with pytest.raises(QueryError, match=f"query key '{key}' is not supported"):
        query_from_json({"select": [{"op": "star"}], key: [{"expr": ident("a"), "alias": "a"}]})


# `{"expr": {"op": "star"}}` in select is `*` (it was "* is only allowed in select and
# count(*)"), and a null `replace` asks for nothing (it was "not supported").
def test_star_as_a_select_items_expression():
    for item in ({"expr": {"op": "star"}}, {"expr": {"op": "star"}, "alias": None}):
        assert query_from_json({"select": [item]}).select == (STAR,)
    assert query_from_json({"select": [{"op": "star", "replace": None}]}).select == (STAR,)
    with pytest.raises(QueryError, match="star 'replace' is not supported"):
        query_from_json({"select": [{"op": "star", "replace": {"a": lit(1)}}]})
