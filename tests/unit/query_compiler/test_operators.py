"""Comparisons, NULLs, IN, LIKE, MATCH, INCLUDES, logic: (filter tree, matching ids)."""

from __future__ import annotations

import pytest
from sqlglot import exp

from tracelake.query import ast
from tracelake.query.compiler import DuckDBCompiler
from tracelake.query.errors import QueryError

from .data import ALL, AND, INC, IV, NOT, OR, A, B, F, I, L, U, ids, scope

MODEL = I("metadata", "model")
GPT4 = ["r01", "r03", "r06", "r08", "r09"]

COMPARISONS = [
    # JSON vs literal: the literal's type decides
    (B("eq", MODEL, L("gpt-4")), GPT4),
    (B("ne", MODEL, L("gpt-4")), ["r02", "r05", "r10"]),  # NULL models are neither
    (B("gt", I("metadata", "n"), L(6)), ["r02", "r03", "r04"]),  # "7" counts as 7
    (B("le", I("metadata", "n"), L(5.0)), ["r01"]),
    (B("eq", I("metadata", "n"), L("7")), ["r02"]),
    (B("eq", I("metadata", "n"), L("5")), ["r01"]),  # a number's text
    (B("eq", I("metadata", "is_production"), L(True)), ["r01", "r05"]),
    (B("eq", I("metadata", "is_production"), L(False)), ["r02"]),
    (I("metadata", "is_production"), ["r01", "r05"]),  # a bare JSON boolean filters
    (B("gt", I("scores", "Factuality"), L(0.8)), ["r01", "r05", "r06", "r10"]),
    (B("eq", I("scores", "Factuality"), L(1)), ["r06"]),  # 1.0 = 1
    # JSON vs JSON: numbers numerically, else text
    (B("gt", I("metrics", "prompt_tokens"), I("metrics", "completion_tokens")), ["r01"]),
    (B("eq", I("metadata", "ts"), I("metadata", "ts")), ["r08"]),
    (B("lt", I("scores", "Factuality"), I("scores", "Coherence")), ["r03"]),
    # NULL literals mean IS [NOT] NULL; JSON null is NULL
    (B("eq", MODEL, L(None)), ["r04", "r07"]),
    (B("ne", MODEL, L(None)), ["r01", "r02", "r03", "r05", "r06", "r08", "r09", "r10"]),
    (B("eq", L(None), MODEL), ["r04", "r07"]),
    (B("gt", MODEL, L(None)), []),
    (B("ne", I("span_parents"), L(None)), ["r02", "r07", "r09"]),
    (B("is", MODEL, L(None)), ["r04", "r07"]),
    (B("is", I("metadata", "is_production"), L(True)), ["r01", "r05"]),
    (U("isnull", I("error")), ["r01", "r04", "r05", "r06", "r07", "r08", "r10"]),
    (U("isnotnull", I("error")), ["r02", "r03", "r09"]),
    (U("isnull", I("metadata", "nested", "deep")), [i for i in ALL if i != "r04"]),
    # null-safe
    (B("nulleq", MODEL, L("gpt-4")), GPT4),
    (B("nullne", MODEL, L("gpt-4")), ["r02", "r04", "r05", "r07", "r10"]),
    (B("nulleq", I("metadata", "n"), L(None)), ["r05", "r06", "r07", "r08", "r09", "r10"]),
    (B("nulleq", I("metadata", "tier"), I("metadata", "nope")), [i for i in ALL if i != "r10"]),
    (B("ne", I("id", "x"), L("a")), []),  # an impossible path is NULL, not a NULL literal
    (B("eq", I("metadata", "obj"), L({"k": "v", "n": 1})), ["r06"]),
    (B("eq", I("metadata", "list"), L(["a", "b", 3, True])), ["r06"]),
    (B("eq", F("to_date", I("created")), L("2024-11-09")), ["r01", "r02", "r09", "r10"]),
    # typed columns
    (I("is_root"), ["r01", "r03", "r04", "r05", "r06", "r08", "r10"]),
    (NOT(I("is_root")), ["r02", "r07", "r09"]),
    (B("eq", I("is_root"), L(False)), ["r02", "r07", "r09"]),
    (B("eq", I("id"), L("r01")), ["r01"]),
    (B("gt", I("_xact_id"), L(1000192656880881007)), ["r09", "r10"]),
    (B("gt", I("_xact_id"), L("1000192656880881007")), ["r09", "r10"]),  # exact, no floats
    (B("ge", I("_pagination_key"), L("p0008")), ["r09", "r10"]),
    # timestamps against ISO strings (date-only, Z, offsets), JSON and epoch numbers
    (B("gt", I("created"), L("2024-11-10")), ["r03", "r04", "r05", "r06", "r07"]),
    (
        B("ge", I("created"), L("2024-11-09T10:00:00.250Z")),
        ["r01", "r02", "r03", "r04", "r05", "r06", "r07"],
    ),
    (B("lt", I("created"), L("2024-11-09T10:00:00+02:00")), ["r08", "r09"]),
    (B("lt", I("created"), L("2024-11-09 08:00:00")), ["r08", "r09"]),
    (B("lt", I("created"), I("metadata", "ts")), ["r08"]),
    (B("lt", I("created"), L(1704067200)), ["r08"]),  # Unix seconds of 2024-01-01
    (B("eq", I("metadata", "date"), L("2024-01-01")), ["r08"]),
    (B("lt", I("created"), F("now")), ALL),
    (B("gt", I("created"), B("sub", F("now"), IV(1, "day"))), []),
    (B("lt", I("created"), B("sub", F("now"), IV(1, "month"))), ALL),
    (B("lt", I("created"), B("sub", F("current_timestamp"), IV(7, "day"))), ALL),
    (
        B("gt", I("created"), B("add", L("2024-11-09"), IV(12, "hour"))),
        ["r02", "r03", "r04", "r05", "r06", "r07"],
    ),
    (B("lt", F("to_date", I("created")), F("current_date")), ALL),
    # three-valued logic
    (AND(B("eq", MODEL, L("gpt-4")), I("is_root")), ["r01", "r03", "r06", "r08"]),
    (OR(B("eq", MODEL, L("GPT-4")), B("eq", MODEL, L("claude-3-opus"))), ["r05", "r10"]),
    (NOT(B("eq", MODEL, L("gpt-4"))), ["r02", "r05", "r10"]),
    (OR(B("eq", MODEL, L("x")), I("metadata", "nope")), []),
    (
        AND(B("gt", I("metrics", "tokens"), L(100)), B("lt", I("metrics", "tokens"), L(1500))),
        ["r01", "r02", "r04", "r10"],
    ),
]


@pytest.mark.parametrize(("tree", "expected"), COMPARISONS, ids=lambda x: str(x)[:70])
def test_comparisons(con, tree, expected):
    assert ids(con, tree) == expected


IN = [
    (B("in", MODEL, L(["gpt-4", "claude-3-opus"])), ["r01", "r03", "r05", "r06", "r08", "r09"]),
    (NOT(B("in", MODEL, L(["gpt-4", "claude-3-opus"]))), ["r02", "r10"]),
    (B("in", I("metadata", "n"), L([5, 10])), ["r01", "r03"]),
    (B("in", I("metadata", "n"), L(["7", 9.5])), ["r02", "r04"]),
    (B("in", MODEL, L([None, "GPT-4"])), ["r04", "r07", "r10"]),
    (B("in", I("id"), L([])), []),
    (B("in", I("id"), L("r02")), ["r02"]),
    (B("in", I("tags"), L(["resolved", "x"])), ["r04"]),  # a typed list: any element
    (B("in", I("tags"), L(["feedback"])), ["r01", "r02", "r09", "r10"]),
    # NOT IN is NOT (IN): r03 has no tags, NULL for both (as error.type below)
    (NOT(B("in", I("tags"), L(["feedback"]))), ["r04", "r05", "r06", "r07", "r08"]),
    (NOT(B("in", I("tags"), L(["feedback", None]))), ["r04", "r05", "r06", "r07", "r08"]),
    (B("in", I("metadata", "list"), L(["b"])), ["r06"]),  # a JSON array: any element
    (B("in", I("metadata", "list"), L([3])), ["r06"]),
    (B("in", L("triage"), I("tags")), ["r01", "r05", "r08"]),  # IN a list field = includes
    (NOT(B("in", I("error", "type"), L(["rate_limit"]))), ["r09"]),
    (B("in", I("created"), L(["2024-11-09T08:00:00Z"])), ["r10"]),
    (B("in", I("tags"), L([None, "resolved"])), ["r03", "r04"]),
]


@pytest.mark.parametrize(("tree", "expected"), IN, ids=lambda x: str(x)[:70])
def test_in(con, tree, expected):
    assert ids(con, tree) == expected


LIKE = [
    (B("like", MODEL, L("gpt%")), ["r01", "r02", "r03", "r06", "r08", "r09"]),
    (B("ilike", MODEL, L("gpt%")), ["r01", "r02", "r03", "r06", "r08", "r09", "r10"]),
    (NOT(B("like", MODEL, L("gpt%"))), ["r05", "r10"]),
    (B("like", I("metadata", "description"), L("%50\\% off%")), ["r01"]),  # \ escapes
    (B("like", I("metadata", "description"), L("%50% off%")), ["r01", "r02"]),
    (B("like", MODEL, L("gpt_4")), GPT4),  # _ is a wildcard
    (B("like", MODEL, L("gpt\\_4")), []),
    (B("like", MODEL, L("gpt\\")), []),  # a trailing backslash is not an error
    (B("like", I("output"), L("%sunny%")), []),  # objects never match
    (B("like", I("output"), L("Recursion%")), ["r01"]),
    (B("like", I("input"), L("%'%")), ["r02", "r07"]),
    (B("like", I("metadata", "n"), L("5")), []),  # numbers never match
    (B("like", I("tags"), L("need%")), ["r04"]),
    (B("like", I("id"), L("r0_")), ALL[:9]),
    (B("like", I("created"), L("2024-11-09T%")), ["r01", "r02", "r09", "r10"]),
    (B("ilike", I("input"), L("%SÃO%")), ["r02"]),
]


@pytest.mark.parametrize(("tree", "expected"), LIKE, ids=lambda x: str(x)[:70])
def test_like(con, tree, expected):
    assert ids(con, tree) == expected


MATCH = [
    (B("match", I("input"), L("recursion")), ["r01"]),
    (B("match", I("input"), L("explain the concept of recursion")), ["r01"]),
    (B("match", I("input"), L("Recursion CONCEPT explain")), ["r01"]),  # any order, any case
    (B("match", I("input"), L("recursion banana")), []),  # every token must appear
    (B("match", I("input"), L("question")), []),  # object keys are not text
    (B("match", I("input"), L("value")), ["r03"]),  # hyphens split tokens
    (B("match", I("input"), L("app")), []),  # whole tokens only
    (B("match", I("output"), L("app")), ["r04"]),
    (B("match", I("output"), L("store")), ["r04"]),  # \n in the JSON text splits
    (B("match", I("output"), L("nstore")), []),
    (B("match", I("input"), L("paulo")), ["r02"]),
    (B("match", I("input"), L("SÃO")), ["r02"]),
    (B("match", I("input"), L("what's")), ["r02"]),
    (B("match", I("input"), L("")), []),
    (B("match", I("input"), L(".*")), []),  # no tokens
    (B("match", I("input"), L("recursion)(")), ["r01"]),
    (B("match", I("tags"), L("review")), ["r04"]),
    (B("match", I("id"), L("R01")), ["r01"]),
    (B("match", I("output"), L("assistant sunny")), ["r02"]),
    # never NULL (as with the index that replaces it): no input does not match
    (NOT(B("match", I("input"), L("recursion"))), [i for i in ALL if i != "r01"]),
    (F("search", L("sunny")), ["r02"]),
    (F("search", L("paris")), ["r03"]),
    (F("search", L("chat")), ["r01"]),
    (F("search", L("gpt")), ["r01", "r02", "r03", "r06", "r08", "r09", "r10"]),
]


@pytest.mark.parametrize(("tree", "expected"), MATCH, ids=lambda x: str(x)[:70])
def test_match(con, tree, expected):
    assert ids(con, tree) == expected


def test_nested_match_sql_grows_linearly(con):
    """A MATCH in the haystack of another repeated its operand (the cheap substring test
    and the word test each read it): 2^n copies, 43 KB of SQL at depth 8, minutes at 20."""
    tree = B("match", I("input"), L("recursion"))
    for _ in range(11):
        tree = B("match", F("to_string", tree), L("true"))
    select = DuckDBCompiler().compile_select(
        ast.Query(filter=tree), scope(), exp.to_table("events")
    )
    assert len(select.sql()) < 3000
    assert ids(con, tree) == ["r01"]


def test_match_needs_a_string_literal(con):
    with pytest.raises(QueryError):
        ids(con, B("match", I("input"), I("output")))


INCLUDES = [
    (INC(I("tags"), L("triage")), ["r01", "r05", "r08"]),
    # never NULL: spans without tags do not include anything
    (NOT(INC(I("tags"), L("resolved"))), [i for i in ALL if i != "r04"]),
    (INC(I("tags"), L("a'b")), ["r07"]),
    (INC(I("tags"), L('x"y')), ["r07"]),
    (INC(I("metadata", "list"), L("a")), ["r06"]),
    (INC(I("metadata", "list"), L(3)), ["r06"]),
    (INC(I("metadata", "list"), L(True)), ["r06"]),
    (INC(I("metadata", "list"), L("3")), ["r06"]),  # compared like =: a number's text
    (INC(I("metadata", "list"), L("c")), []),
    (INC(I("metadata", "obj"), L("v")), ["r06"]),  # an object: one of its values
    (INC(I("metadata", "models"), L({"name": "a"})), ["r01"]),  # containment
    (INC(MODEL, L("gpt-4")), GPT4),  # a scalar includes itself
    (INC(I("metadata", "nope"), L("x")), []),
    # null: a null element or value, as IN (null) finds one; a missing haystack includes
    # nothing (a JSON null one included it, and a null element was not found)
    (INC(I("metadata"), L(None)), ["r04"]),
    (INC(MODEL, L(None)), []),
    (INC(I("tags"), L(None)), []),
    (NOT(INC(I("metadata", "list"), L("a"))), [i for i in ALL if i != "r06"]),
    (F("contains", I("tags"), L("triage")), ["r01", "r05", "r08"]),
    (F("includes", I("tags"), L("triage")), ["r01", "r05", "r08"]),
    (INC(I("tags"), I("span_parents", 0)), []),
    (INC(I("span_parents"), L("r01")), ["r02", "r09"]),
    (INC(I("metadata", "obj"), I("metadata", "obj", "k")), ["r06"]),  # a field as the needle
    # a haystack the engine folds to a constant NULL ('the query could not run: Binder
    # Error: No function matches ... list_concat(JSON, JSON)')
    (INC(F("json_extract", L("{}"), L("x")), L(1)), []),
    (INC(F("json_extract", L("[1]"), L("x")), I("is_root")), []),
    (B("in", F("json_extract", L("[1]"), L("x")), L([1, 2])), []),
]


@pytest.mark.parametrize(("tree", "expected"), INCLUDES, ids=lambda x: str(x)[:70])
def test_includes(con, tree, expected):
    assert ids(con, tree) == expected


ERRORS = [
    (B("gt", I("created"), L("garbage")), "invalid timestamp 'garbage'"),
    (B("eq", I("tags"), L("x")), "cannot compare array with string"),
    (B("like", I("id"), I("nope")), "unknown field 'nope'"),
    (B("gt", F("count", L(1)), L(1)), "aggregate count() is not allowed in filter"),
    (B("eq", IV(1, "fortnight"), L(1)), "invalid interval '1 fortnight'"),
    (F("nope"), "unknown function 'nope'"),
]


@pytest.mark.parametrize(("tree", "message"), ERRORS, ids=lambda x: str(x)[:50])
def test_errors(con, tree, message):
    with pytest.raises(QueryError) as err:
        ids(con, tree)
    assert err.value.detail == message


def test_errors_carry_the_position_of_their_node(con):
    count = ast.Function("count", (L(1),), loc=ast.Loc(2, 9))
    with pytest.raises(QueryError) as err:
        ids(con, B("gt", count, L(1)))
    assert (err.value.line, err.value.col) == (2, 9)


def test_named_arguments_are_rejected(con):
    call = ast.Function("lower", (I("id"),), named=(("shape", L("traces")),))
    with pytest.raises(QueryError, match="lower\\(\\) takes no argument named 'shape'"):
        ids(con, call)


def test_the_planner_can_replace_match(con):
    """MATCH and search() both go through compile_match, so an index can stand in."""

    class Indexed(DuckDBCompiler):
        def compile_match(self, haystack, query, fields=(), whole=False):
            return exp.In(this=exp.column("id", "e"), expressions=[exp.Literal.string("r05")])

    query = ast.Query(
        select=(A(I("id")),), filter=OR(B("match", I("input"), L("x")), F("search", L("y")))
    )
    compiler = Indexed()
    select = compiler.compile_select(query, scope(), exp.to_table("events"))
    assert con.execute(compiler.sql(select)).fetchall() == [("r05",)]
