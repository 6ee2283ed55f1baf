"""Properties: any input either parses or raises QueryError (never another exception), and
every tree round-trips through the JSON AST, including trees no text parser would make."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracelake.query import ast
from tracelake.query.errors import QueryError
from tracelake.query.parsers import (
    expr_from_json,
    expr_to_json,
    parse_expression,
    parse_query,
    query_from_json,
    query_to_json,
)
from tracelake.query.parsers.expressions import INTERVAL_UNITS

from .test_examples import CASES, source

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def parses_or_query_error(value) -> None:
    try:
        q = parse_query(value)
    except QueryError:
        return
    assert query_from_json(query_to_json(q)) == q


QUERYISH = list("abcxyz_019 .,:|()[]'\"\\-+*/%<>=!?\n\t@#;")


@FAST
@given(st.text(alphabet=st.one_of(st.sampled_from(QUERYISH), st.characters()), max_size=80))
def test_random_text(text):
    parses_or_query_error(text)
    parses_or_query_error("select: " + text)
    parses_or_query_error("SELECT " + text)
    try:
        parse_expression(text)
    except QueryError:
        pass


VOCAB = [
    "select:", "dimensions:", "measures:", "from:", "filter:", "sort:", "limit:", "cursor:",
    "sample:", "pivot:", "unpivot:", "preview_length:", "final_filter:", "span_filter:",
    "SELECT", "DISTINCT", "FROM", "WHERE", "GROUP", "BY", "HAVING", "ORDER", "LIMIT", "OFFSET",
    "PIVOT", "UNPIVOT", "FOR", "ANY", "TABLESAMPLE", "PERCENT", "ROWS", "REPEATABLE", "CASE",
    "WHEN", "THEN", "ELSE", "END", "MATCH", "AGAINST", "WITH", "JOIN", "UNION", "seed",
    "and", "or", "not", "is", "null", "true", "false", "in", "like", "ilike", "includes",
    "contains", "as", "asc", "desc", "interval", "isnull", "isnotnull", "day", "days", "spans",
    "traces", "summary", "shape", "=>", "gt", "eq",
    "a", "b.c", "metadata.model", "tags[0]", "x[-1]", "count(*)", "count", "sum", "avg", "any_span",
    "FILTER_SPANS", "project_logs('p')", "now()", "_",
    "1", "0", "-1", "2.5", "50%", "1e3", "'s'", "'it''s'", '"q"', '"My score"',
    "=", "!=", "<>", "<", "<=", ">", ">=", "<=>", "<!=>", "+", "-", "*", "/", "%", "?", ":",
    ".", ",", "(", ")", "[", "]", "|", ";", "\n", "-- c\n",
]  # fmt: skip


@FAST
@given(
    st.sampled_from(
        ["", "select: ", "SELECT ", "dimensions: a | measures: ", "select: * | filter: "]
    ),
    st.lists(st.sampled_from(VOCAB), max_size=25),
    st.sampled_from([" ", "", "\n"]),
)
def test_token_soup(prefix, words, sep):
    parses_or_query_error(prefix + sep.join(words))


MUTABLE = [cid for cid, (kind, _, _) in CASES.items() if kind in ("sql", "btql")]


@FAST
@given(
    st.sampled_from(MUTABLE),
    st.lists(
        st.tuples(st.integers(0, 10_000), st.integers(0, 3), st.sampled_from(QUERYISH)), max_size=4
    ),
)
def test_mutated_examples(cid, edits):
    text = source(cid)
    for pos, length, char in edits:
        pos %= len(text) + 1
        text = text[:pos] + char + text[pos + length :]
    parses_or_query_error(text)


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**15), 10**15)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)


@FAST
@given(st.recursive(JSON_VALUES, lambda inner: st.dictionaries(
    st.sampled_from(["op", "select", "filter", "expr", "alias", "left", "right", "name", "args",
                     "children", "btql", "from", "sort", "sample", "method", "value", "type"]),
    inner | st.sampled_from(["star", "ident", "and", "eq", "literal", "function", "a = 1"]),
    max_size=4,
) | st.lists(inner, max_size=3), max_leaves=12))  # fmt: skip
def test_random_json(obj):
    parses_or_query_error(obj if isinstance(obj, dict) else {"select": obj})


# --- generated trees ---------------------------------------------------------------------------

NAMES = st.text(min_size=1, max_size=6)
LOWER = st.from_regex(r"[a-z_][a-z0-9_]{0,6}", fullmatch=True)
IDENTS = st.builds(
    lambda head, rest: ast.Ident((head, *rest)),
    NAMES,
    st.lists(NAMES | st.integers(-3, 5), max_size=3),
)
LEAVES = (
    st.builds(ast.Literal, JSON_VALUES)
    | IDENTS
    | st.builds(ast.Interval, st.integers(0, 10**6), st.sampled_from(INTERVAL_UNITS))
    | st.just(ast.Star())
)


def _nodes(children):
    few = st.lists(children, min_size=1, max_size=3).map(tuple)
    named = st.dictionaries(LOWER, children, max_size=2).map(lambda d: tuple(d.items()))
    return st.one_of(
        st.builds(ast.Binary, st.sampled_from(sorted(ast.BINARY_OPS)), children, children),
        st.builds(ast.Logical, st.sampled_from(["and", "or"]), few),
        st.builds(ast.Unary, st.sampled_from(sorted(ast.UNARY_OPS)), children),
        st.builds(ast.Includes, children, children),
        st.builds(ast.SpanFilter, st.sampled_from(sorted(ast.SPAN_FILTER_OPS)), children),
        st.builds(
            ast.If,
            st.lists(st.tuples(children, children), min_size=1, max_size=3).map(tuple),
            st.none() | children,
        ),
        st.builds(
            ast.Function, LOWER, st.lists(children, max_size=3).map(tuple), st.booleans(), named
        ),
    )


EXPRS = st.recursive(LEAVES, _nodes, max_leaves=12)


@FAST
@given(EXPRS)
def test_generated_expressions_round_trip(expr):
    assert expr_from_json(json.loads(json.dumps(expr_to_json(expr)))) == expr


# (A select item that is a bare ``*`` is ``Star()``, never an aliased expression: the JSON
# AST's ``{"expr": {"op": "star"}}`` reads as ``*``.)
ALIASED = st.builds(
    ast.Aliased, EXPRS.filter(lambda e: not isinstance(e, ast.Star)), st.none() | NAMES
)
SOURCES = st.builds(
    ast.Source,
    LOWER,
    st.lists(st.builds(ast.Literal, st.text(max_size=5)), max_size=2).map(tuple),
    st.none() | st.sampled_from(["spans", "traces", "summary"]),
)
SAMPLES = st.one_of(
    st.builds(ast.Sample, st.just("rate"), st.floats(0, 1), st.none() | st.integers(0, 10**6)),
    st.builds(ast.Sample, st.just("count"), st.integers(1, 10**6), st.none() | st.integers(0, 99)),
)


def _tuples(items, min_size=0):
    return st.none() | st.lists(items, min_size=min_size, max_size=3).map(tuple)


QUERIES = st.builds(
    ast.Query,
    select=_tuples(ALIASED | st.just(ast.Star()), 1),
    dimensions=_tuples(ALIASED, 1),
    measures=_tuples(ALIASED, 1),
    from_=st.none() | SOURCES,
    filter=st.none() | EXPRS,
    span_filter=st.none() | EXPRS,
    trace_filter=st.none() | EXPRS,
    final_filter=st.none() | EXPRS,
    sort=_tuples(st.builds(ast.SortItem, EXPRS, st.sampled_from(["asc", "desc"]))),
    limit=st.none() | st.integers(0, 10**6),
    cursor=st.none() | st.text(max_size=10),
    sample=st.none() | SAMPLES,
    pivot=_tuples(ALIASED),
    unpivot=_tuples(st.builds(ast.Unpivot, EXPRS, NAMES | st.tuples(NAMES, NAMES))),
    preview_length=st.none() | st.integers(-1, 10**6),
).filter(lambda q: q.select or q.dimensions or q.measures)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(QUERIES)
def test_generated_queries_round_trip(q):
    assert query_from_json(json.loads(json.dumps(query_to_json(q)))) == q
