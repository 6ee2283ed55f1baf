"""A small fixed dataset in a real DuckDB, tree builders, and helpers that run compiled
queries. Expected results in the tests are worked out by hand from ROWS."""

from __future__ import annotations

import json
from typing import Any

import duckdb
from sqlglot import exp

from tracelake.query import ast
from tracelake.query.compiler import DuckDBCompiler, Scope

ROWS: list[dict[str, Any]] = [
    dict(
        id="r01", created="2024-11-09T10:00:00.250Z", tags=["triage", "feedback"],
        input={"question": "Explain the concept of recursion"},
        output="Recursion is when a function calls itself.",
        scores={"Factuality": 0.9},
        metrics={"tokens": 1200, "prompt_tokens": 700, "completion_tokens": 500,
                 "estimated_cost": 0.012, "latency": 1.5},
        metadata={"model": "gpt-4", "is_production": True, "n": 5,
                  "models": [{"name": "a"}, {"name": "b"}], "field.name": "dot",
                  "field name": "space", "field-name": "hyphen",
                  "description": "get 50% off now"},
        span_attributes={"type": "llm", "name": "chat"},
    ),
    dict(
        id="r02", created="2024-11-09T23:30:00Z", tags=["feedback"], span_parents=["r01"],
        input="What's the weather in São Paulo?", output={"answer": "sunny", "role": "assistant"},
        error={"type": "rate_limit", "message": "slow down"},
        scores={"Factuality": 0.4}, metrics={"tokens": 300, "latency": 0.5},
        metadata={"model": "gpt-3.5-turbo", "is_production": False, "n": "7",
                  "description": "get 50 percent off"},
        span_attributes={"type": "tool", "name": "weather"},
    ),
    dict(
        id="r03", created="2024-11-10T03:00:00Z", tags=None,
        input=["value-added", "tax"], expected={"answer": "Paris"}, error="timeout",
        scores={"Factuality": 0.75, "Coherence": 1}, metrics={"tokens": 50},
        metadata={"model": "gpt-4", "n": 10, "models": []},
    ),
    dict(
        id="r04", created="2024-11-11T00:00:00Z", tags=["needs-review", "resolved"],
        input="apple pie", output="App\nstore", scores={},
        metrics={"tokens": 1000, "estimated_cost": 0.5},
        metadata={"model": None, "n": 9.5, "nested": {"deep": {"deeper": "x"}}},
    ),
    dict(
        id="r05", created="2024-11-15T12:00:00Z", tags=["triage"],
        scores={"Factuality": 0.95}, metrics={"tokens": "2000"},
        metadata={"model": "claude-3-opus", "is_production": True,
                  "weird": {'q"k': 1, "*": 2, "": 3, "d$]": 4, "back\\slash": 5, "ünï": 6,
                            "a.b": 7, "0": 8, "'); DROP TABLE events; --": 9}},
        span_attributes={"type": "llm"},
    ),
    dict(
        id="r06", created="2024-12-01T00:00:00Z", tags=[],
        scores={"Factuality": 1.0},
        metadata={"model": "gpt-4", "list": ["a", "b", 3, True], "obj": {"k": "v", "n": 1}},
    ),
    dict(
        id="r07", created="2025-01-01T00:00:00Z", tags=["a'b", 'x"y'], span_parents=["r06"],
        input="'; DROP TABLE events; --",
    ),
    dict(
        id="r08", created="2023-12-31T23:59:59Z", tags=["triage"],
        scores={"Factuality": 0.5},
        metadata={"model": "gpt-4", "ts": "2024-01-01T00:00:00Z", "date": "2024-01-01",
                  "bool_str": "true", "flag": 1,
                  "config": '{"version": 2, "user.preferences.theme": "dark"}',
                  "bad": "{not json"},
    ),
    dict(
        id="r09", created="2024-11-09T07:59:59Z", tags=["feedback"], span_parents=["r01"],
        error={"type": "timeout"}, scores={"Factuality": 0.8}, metrics={"tokens": 0},
        metadata={"model": "gpt-4", "models": [{"name": "solo"}]},
    ),
    dict(
        id="r10", created="2024-11-09T08:00:00Z", tags=["feedback"],
        scores={"Factuality": 0.85}, metrics={"tokens": 400},
        metadata={"model": "GPT-4", "tier": "gold"},
    ),
]  # fmt: skip
ALL = [r["id"] for r in ROWS]
JSON_COLUMNS = (
    "input",
    "output",
    "expected",
    "error",
    "scores",
    "metrics",
    "metadata",
    "span_attributes",
    "context",
    "origin",
    "comments",
    "audit_data",
)
XACT_BASE = 1000192656880881000

compiler = DuckDBCompiler()


def scope(**options: Any) -> Scope:
    return Scope.events(extra={"log_id": "VARCHAR"}, **options)


def connect() -> duckdb.DuckDBPyConnection:
    """An in-memory table ``events`` with ROWS. The session time zone is deliberately not
    UTC: no result may depend on it."""
    con = duckdb.connect(config={"autoinstall_known_extensions": "false"})
    con.execute("SET TimeZone = 'Asia/Kolkata'")
    cols = ", ".join(f'"{name}" {c.sql_type}' for name, c in scope().columns.items())
    con.execute(f"CREATE TABLE events ({cols})")
    names = list(scope().columns)
    for i, row in enumerate(ROWS):
        parents = row.get("span_parents")
        values = {
            **{k: None for k in names},
            "id": row["id"], "_xact_id": XACT_BASE + i, "_pagination_key": f"p{i:04d}",
            "created": row["created"], "org_id": "org", "project_id": "p1",
            "span_id": row["id"], "root_span_id": parents[0] if parents else row["id"],
            "span_parents": parents, "is_root": not parents, "tags": row.get("tags"),
            "log_id": "g",
        }  # fmt: skip
        for col in JSON_COLUMNS:
            if row.get(col) is not None:
                values[col] = json.dumps(row[col])
        marks = ", ".join("?" for _ in names)
        con.execute(f"INSERT INTO events VALUES ({marks})", [values[n] for n in names])
    return con


# -- tree builders -------------------------------------------------------------------------------


def I(*name: str | int, loc: ast.Loc | None = None) -> ast.Ident:  # noqa: E743
    return ast.Ident(tuple(name), loc=loc)


def L(value: Any) -> ast.Literal:
    return ast.Literal(value)


def F(name: str, *args: ast.Expr, distinct: bool = False) -> ast.Function:
    return ast.Function(name, tuple(args), distinct)


def B(op: str, left: ast.Expr, right: ast.Expr) -> ast.Binary:
    return ast.Binary(op, left, right)


def U(op: str, expr: ast.Expr) -> ast.Unary:
    return ast.Unary(op, expr)


def NOT(expr: ast.Expr) -> ast.Unary:
    return ast.Unary("not", expr)


def AND(*children: ast.Expr) -> ast.Logical:
    return ast.Logical("and", children)


def OR(*children: ast.Expr) -> ast.Logical:
    return ast.Logical("or", children)


def INC(haystack: ast.Expr, needle: ast.Expr) -> ast.Includes:
    return ast.Includes(haystack=haystack, needle=needle)


def IF(*pairs: tuple[ast.Expr, ast.Expr], else_: ast.Expr | None = None) -> ast.If:
    return ast.If(conds=tuple(pairs), else_=else_)


def IV(value: int, unit: str) -> ast.Interval:
    return ast.Interval(value, unit)


def A(expr: ast.Expr, alias: str | None = None) -> ast.Aliased:
    return ast.Aliased(expr, alias)


def S(expr: ast.Expr, direction: str = "asc") -> ast.SortItem:
    return ast.SortItem(expr, direction)


STAR = ast.Star()

# -- running -------------------------------------------------------------------------------------


def run(con, query: ast.Query, **options: Any) -> list[dict[str, Any]]:
    """The rows of ``query`` over ``events``, as the planner would build them (one JSON
    object per row)."""
    select = compiler.compile_select(query, scope(**options), exp.to_table("events"), as_json=True)
    return [json.loads(r[0]) for r in con.execute(compiler.sql(select)).fetchall()]


def ids(con, condition: ast.Expr, **options: Any) -> list[str]:
    """Ids of the rows matching a filter, sorted."""
    rows = run(con, ast.Query(select=(A(I("id")),), filter=condition), **options)
    return sorted(r["id"] for r in rows)


def values(con, expr: ast.Expr, **options: Any) -> dict[str, Any]:
    """id -> the value of ``expr`` in the output row."""
    rows = run(con, ast.Query(select=(A(I("id")), A(expr, "v"))), **options)
    return {r["id"]: r["v"] for r in rows}


def value(con, expr: ast.Expr, **options: Any) -> Any:
    """The value of a constant expression."""
    return values(con, expr, **options)["r01"]
