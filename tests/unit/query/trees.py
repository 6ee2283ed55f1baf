"""Short builders for expected trees, and ``assert_same`` for the three syntaxes."""

from __future__ import annotations

from tracelake.query import ast
from tracelake.query.parsers import parse_query, query_from_json, query_to_json


def I(*name: str | int) -> ast.Ident:  # noqa: E743 - reads like the tree
    return ast.Ident(tuple(name))


def L(value) -> ast.Literal:
    return ast.Literal(value)


def F(name: str, *args: ast.Expr, distinct: bool = False, **named: ast.Expr) -> ast.Function:
    return ast.Function(name, tuple(args), distinct, tuple(named.items()))


def B(op: str, left: ast.Expr, right: ast.Expr) -> ast.Binary:
    return ast.Binary(op, left, right)


def AND(*children: ast.Expr) -> ast.Logical:
    return ast.Logical("and", children)


def OR(*children: ast.Expr) -> ast.Logical:
    return ast.Logical("or", children)


def NOT(expr: ast.Expr) -> ast.Unary:
    return ast.Unary("not", expr)


def U(op: str, expr: ast.Expr) -> ast.Unary:
    return ast.Unary(op, expr)


def A(expr: ast.Expr, alias: str | None = None) -> ast.Aliased:
    return ast.Aliased(expr, alias)


def SRC(name: str, *ids: str, shape: str | None = None) -> ast.Source:
    return ast.Source(name, tuple(L(i) for i in ids), shape)


STAR = ast.Star()
NOW_MINUS_7D = B("sub", F("now"), ast.Interval(7, "day"))


def assert_round_trip(q: ast.Query) -> None:
    assert query_from_json(query_to_json(q)) == q


def assert_same(btql: str, sql: str | None = None, json: dict | None = None,
                tree: ast.Query | None = None) -> ast.Query:  # fmt: skip
    """BTQL text, SQL text, a JSON AST and an expected tree all mean the same query."""
    q = parse_query(btql)
    if sql is not None:
        assert parse_query(sql) == q, f"SQL and BTQL differ:\n{parse_query(sql)}\n{q}"
    if json is not None:
        assert parse_query(json) == q
    if tree is not None:
        assert q == tree
    assert_round_trip(q)
    return q
