"""The coarse types the compiler tracks for every compiled expression, and the compiler's
inputs and outputs (:class:`Scope`, :class:`Projection`).

BTQL is dynamically typed: a JSON field may hold a string in one row and a number in the
next. The compiler only needs to know enough to pick the right coercion: a value is either a
JSON value (its real type is found per row) or one of a few SQL scalar kinds.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from sqlglot import exp

from tracelake.query import ast as a


class T(enum.Enum):
    JSON = "json"  # an engine JSON value; its runtime type varies by row
    STRING = "string"
    NUMBER = "number"
    BOOLEAN = "boolean"
    TIMESTAMP = "timestamp"  # always an instant (TIMESTAMPTZ); rendered as ISO-8601 UTC
    DATE = "date"
    ARRAY = "array"  # a typed list (``tags``, ``span_parents``): elements are strings
    INTERVAL = "interval"
    NULL = "null"  # a NULL literal, or a path that can never hold a value


# Engine column types -> coarse type. Anything ending in [] is an ARRAY.
SQL_TYPES: dict[str, T] = {
    "JSON": T.JSON,
    "VARCHAR": T.STRING,
    "TEXT": T.STRING,
    "BOOLEAN": T.BOOLEAN,
    "TINYINT": T.NUMBER,
    "SMALLINT": T.NUMBER,
    "INTEGER": T.NUMBER,
    "BIGINT": T.NUMBER,
    "HUGEINT": T.NUMBER,
    "UBIGINT": T.NUMBER,
    "UINTEGER": T.NUMBER,
    "DOUBLE": T.NUMBER,
    "FLOAT": T.NUMBER,
    "TIMESTAMPTZ": T.TIMESTAMP,
    "TIMESTAMP WITH TIME ZONE": T.TIMESTAMP,
    "DATE": T.DATE,
    "INTERVAL": T.INTERVAL,
}


def coarse_type(sql_type: str) -> T:
    """The coarse type of an engine column type (``'VARCHAR[]'`` -> ARRAY)."""
    name = sql_type.strip().upper()
    if name.endswith("[]"):
        return T.ARRAY
    if name not in SQL_TYPES:
        raise ValueError(f"unsupported column type {sql_type!r}")
    return SQL_TYPES[name]


def is_int64(value: int) -> bool:
    """Integer literals are 64-bit (BIGINT) when they fit, like JSON numbers."""
    return -(2**63) <= value < 2**63


class _NoLiteral:
    def __repr__(self) -> str:
        return "NO_LITERAL"


NO_LITERAL: Any = _NoLiteral()


@dataclass(frozen=True)
class Typed:
    """A compiled expression and what the compiler knows about it.

    ``literal`` is the Python value when the expression is a constant from the query text (so
    coercions can happen at compile time); ``aggregate`` says it contains an aggregate;
    ``sql_type`` is the exact engine type when it matters (``UBIGINT`` ids render as strings);
    ``whole_seconds`` marks timestamps that are bucket boundaries (rendered without fraction);
    ``origin`` is the query node it was compiled from, where an error about it points.
    """

    sql: exp.Expression
    type: T
    literal: Any = NO_LITERAL
    aggregate: bool = False
    sql_type: str | None = None
    whole_seconds: bool = False
    origin: a.Expr | None = field(default=None, compare=False, repr=False)

    @property
    def is_literal(self) -> bool:
        return self.literal is not NO_LITERAL

    def to(self, sql: exp.Expression, type_: T | None = None, **changes: Any) -> Typed:
        """A derived value: new SQL (and type), same aggregate flag, not a literal any more."""
        changes.setdefault("literal", NO_LITERAL)
        changes.setdefault("sql_type", None)
        changes.setdefault("whole_seconds", False)
        return replace(self, sql=sql, type=type_ or self.type, **changes)


def null() -> Typed:
    return Typed(exp.Null(), T.NULL, literal=None)


def an(t: T) -> str:
    """A type's name with its article, for messages: ``an array``, ``a number``."""
    if t is T.NULL:
        return "null"
    if t is T.JSON:
        return "a JSON value"
    return ("an " if t.value[0] in "aeiou" else "a ") + t.value


# What an operator or function converts on its own to the type it needs: a number for
# arithmetic, sum() or round(), a time for day() or date_trunc(), a boolean for a condition
# (a filter, NOT, AND/OR, ``? :``), text for lower() or concat(). Besides these, a JSON value
# or NULL converts to anything (per row: a value that does not convert is NULL) and a string
# *literal* to a number or a time (when the query is compiled: one that does not spell one is
# an error). Everything else is a type error (a 400): the casts (``to_number(created)``…)
# convert explicitly, and comparisons convert both sides to a common type (COMMON).
IMPLICIT: dict[T, frozenset[T]] = {
    T.NUMBER: frozenset({T.NUMBER, T.BOOLEAN}),  # booleans count as 0/1
    T.TIMESTAMP: frozenset({T.TIMESTAMP, T.DATE}),  # a date is the start of its day
    T.BOOLEAN: frozenset({T.BOOLEAN}),
    T.STRING: frozenset(T),  # every value has a text (JSON text for arrays)
}
_LITERAL_TARGETS = frozenset({T.NUMBER, T.TIMESTAMP, T.DATE})


def converts_implicitly(value: Typed, to: T) -> bool:
    """Whether an operator or function needing a ``to`` takes ``value`` (see IMPLICIT)."""
    if value.type in (T.JSON, T.NULL, to):
        return True
    if isinstance(value.literal, str) and to in _LITERAL_TARGETS:
        return True
    return value.type in IMPLICIT.get(to, ())


# Types that two operands of a comparison are both converted to, when they differ and neither
# is JSON or NULL (JSON and NULL take the other side's type).
COMMON: dict[frozenset[T], T] = {
    frozenset({T.STRING, T.TIMESTAMP}): T.TIMESTAMP,
    frozenset({T.STRING, T.DATE}): T.DATE,
    frozenset({T.DATE, T.TIMESTAMP}): T.TIMESTAMP,
    frozenset({T.STRING, T.NUMBER}): T.NUMBER,
    frozenset({T.STRING, T.BOOLEAN}): T.BOOLEAN,
    frozenset({T.NUMBER, T.BOOLEAN}): T.NUMBER,
    frozenset({T.NUMBER, T.TIMESTAMP}): T.TIMESTAMP,
    frozenset({T.STRING, T.INTERVAL}): T.INTERVAL,
}


def common_type(a: T, b: T) -> T | None:
    """The type a comparison of ``a`` and ``b`` happens in, or None when they do not mix."""
    if a == b:
        return a
    if a in (T.NULL, T.JSON):
        return b if b is not T.NULL else a
    if b in (T.NULL, T.JSON):
        return a
    return COMMON.get(frozenset({a, b}))


def unify(types: list[T]) -> T:
    """The result type of branches (``? :``, ``coalesce``): the one scalar type among them,
    NULL if all are NULL, otherwise JSON (mixed scalars become JSON values)."""
    scalars = {t for t in types if t not in (T.NULL, T.JSON)}
    if len(scalars) == 1:
        return scalars.pop()
    if not scalars:
        return T.JSON if T.JSON in types else T.NULL
    return T.JSON


def json_beside_literals(values: list[Typed]) -> bool:
    """Whether JSON values are mixed with literals only, one of them not a string
    (``is_root ? metadata.x : 0``, ``coalesce(metadata.x, 0)``): the result is then a JSON
    value, which keeps the JSON value whatever it holds instead of converting it to the
    literal's type (``"abc"`` was NULL beside a ``0``, and ``coalesce`` skipped it). Beside
    string literals the result stays a string: every value has a text."""
    return (
        any(v.type is T.JSON for v in values)
        and all(v.is_literal or v.type in (T.JSON, T.NULL) for v in values)
        and any(v.is_literal and v.type not in (T.STRING, T.NULL) for v in values)
    )


# -- what the compiler is given and what it returns ---------------------------------------------

# The event relation the planner reads: typed columns, then JSON columns.
EVENT_COLUMNS: dict[str, str] = {
    "id": "VARCHAR",
    "_xact_id": "UBIGINT",
    "_pagination_key": "VARCHAR",
    "created": "TIMESTAMPTZ",
    "org_id": "VARCHAR",
    "project_id": "VARCHAR",
    "span_id": "VARCHAR",
    "root_span_id": "VARCHAR",
    "span_parents": "VARCHAR[]",
    "is_root": "BOOLEAN",
    "tags": "VARCHAR[]",
    **{
        name: "JSON"
        for name in (
            "input", "output", "expected", "error", "scores", "metrics", "metadata",
            "span_attributes", "context", "origin", "comments", "audit_data",
            "classifications",
        )
    },
}  # fmt: skip


@dataclass(frozen=True)
class Column:
    """A top-level name: its engine type (``"JSON"``/``"json"``, ``"VARCHAR[]"``…) and,
    optionally, the SQL that reads it (default ``<scope.table>.<name>``) and, when that is
    a view of a value (a summary preview), the SQL of the whole value a path reads."""

    sql_type: str
    expr: exp.Expression | None = None
    whole: exp.Expression | None = None


@dataclass(frozen=True)
class Scope:
    """What a query can see, given by the planner.

    ``columns`` maps each top-level name to its engine type or a :class:`Column`, in the
    order ``select: *`` lists them. ``aliases`` adds names usable in sort / final_filter /
    dimensions besides the query's own aliases. ``tz_offset`` is in minutes, positive west of
    UTC (480 = US Pacific). ``aggregates`` allows aggregates in ``compile_expr``.
    """

    columns: Mapping[str, Column | str]
    table: str | None = "e"
    aliases: Mapping[str, a.Expr] = field(default_factory=dict)
    tz_offset: int = 0
    aggregates: bool = False

    def __post_init__(self):
        cols = {n: c if isinstance(c, Column) else Column(c) for n, c in self.columns.items()}
        for col in cols.values():
            coarse_type(col.sql_type)  # fail early on a type the compiler cannot handle
        object.__setattr__(self, "columns", cols)

    @classmethod
    def events(
        cls,
        table: str | None = "e",
        extra: Mapping[str, Column | str] | None = None,
        **options: Any,
    ) -> Scope:
        """The event columns plus the planner's per-object ones (``{"log_id": "VARCHAR"}``)."""
        return cls({**EVENT_COLUMNS, **(extra or {})}, table=table, **options)


@dataclass(frozen=True)
class OutputColumn:
    """One output column. ``value`` is the raw compiled value (GROUP BY and ORDER BY use
    it); ``expr`` is rendered for a JSON row: JSON stays JSON, timestamps are ISO-8601 UTC
    strings ending in ``Z``, UBIGINT ids are strings, integral floats are JSON integers."""

    name: str
    value: Typed
    expr: exp.Expression


@dataclass(frozen=True)
class Projection:
    columns: tuple[OutputColumn, ...]
    group_by: tuple[exp.Expression, ...] = ()
    aggregate: bool = False  # GROUP BY group_by (a whole-table aggregate when it is empty)
    star: bool = False  # the select list had ``*`` (expanded from the scope's columns)

    def items(self) -> list[tuple[str, exp.Expression]]:
        return [(c.name, c.expr) for c in self.columns]

    def row_json(self) -> exp.Expression:
        """``json_object('name', expr, …)``: one JSON object per row, keys as literals."""
        args = [x for c in self.columns for x in (exp.Literal.string(c.name), c.expr)]
        return exp.Anonymous(this="json_object", expressions=args)
