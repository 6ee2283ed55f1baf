"""The three front doors to one query tree: BTQL clause text, Braintrust SQL text and the JSON
AST. ``parse_query`` picks the door the way Braintrust does: an object is the JSON AST, text
that starts with ``SELECT`` (after whitespace and comments, and not ``select:``) is SQL, any
other text is BTQL. ``WITH`` is recognised as SQL only to say it is not supported.
"""

from __future__ import annotations

from tracelake.query import ast
from tracelake.query.errors import QueryError
from tracelake.query.parsers.btql import parse_btql, parse_expression
from tracelake.query.parsers.expressions import any_span_flattened, pivot_dimensions_dropped
from tracelake.query.parsers.json_ast import (
    expr_from_json,
    expr_to_json,
    query_from_json,
    query_to_json,
)
from tracelake.query.parsers.sql import parse_sql
from tracelake.query.tokens import NEWLINE, tokenize

__all__ = [
    "expr_from_json",
    "expr_to_json",
    "parse_btql",
    "parse_expression",
    "parse_query",
    "parse_sql",
    "query_from_json",
    "query_to_json",
]


def parse_query(value: str | dict) -> ast.Query:
    """Parse a query in any of the three forms. A dimension that is also the pivot column
    is dropped (:func:`pivot_dimensions_dropped`) and ANY_SPAN nested one level is flattened
    (:func:`any_span_flattened`); the parsers themselves keep the query as written, so the
    JSON AST round-trips.

    >>> parse_query("SELECT * FROM project_logs('p') LIMIT 5").limit
    5
    >>> parse_query("select: * | from: project_logs('p') | limit: 5").limit
    5
    >>> parse_query({"select": [{"op": "star"}], "limit": 5}).limit
    5
    """
    return any_span_flattened(pivot_dimensions_dropped(_parse(value)))


def _parse(value: str | dict) -> ast.Query:
    if isinstance(value, dict):
        return query_from_json(value)
    if not isinstance(value, str):
        raise QueryError(f"a query must be a string or an object, got {type(value).__name__}")
    tokens = tokenize(value)
    significant = [t for t in tokens if t.kind != NEWLINE]
    first, second = significant[0], significant[min(1, len(significant) - 1)]
    if first.is_word("select", "with") and not second.is_op(":"):
        return parse_sql(value, tokens)
    return parse_btql(value, tokens)
