"""The query tree. It mirrors Braintrust's JSON AST (the wire format SDKs send), so every
node round-trips: ``from_json(node.to_json()) == node``.

Expression nodes are small frozen dataclasses; a node's kind is its JSON ``op``. Positions
(``loc``) are kept for error messages but are not part of equality.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

# --- positions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Loc:
    """A 1-based line and column; in a JSON AST query, ``snippet`` names the ``{"btql":
    …}`` snippet they are in (``filter.btql``)."""

    line: int
    col: int
    snippet: str | None = None

    def to_json(self) -> dict:
        return {"start": {"line": self.line, "col": self.col}}


def _loc_field():
    return field(default=None, compare=False, repr=False, kw_only=True)


# --- expressions -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expr:
    """Base of every expression node."""

    OP: ClassVar[str] = ""
    loc: Loc | None = _loc_field()


@dataclass(frozen=True, eq=False)
class Literal(Expr):
    """null, bool, int, float, str, or a list/dict of those (JSON values).

    Equal only to a literal of the same JSON value *and type*: in Python ``True == 1 ==
    1.0``, but ``to_string(true)``, ``to_string(1)`` and ``to_string(1.0)`` are different
    queries (plans are cached by the query tree)."""

    OP: ClassVar[str] = "literal"
    value: Any = None
    # Where each item of a list literal was written (``IN ('a', 'b')``): an error about one
    # item points at it. Kept for messages only, like ``loc``.
    item_locs: tuple[Loc | None, ...] | None = _loc_field()

    def __eq__(self, other: object) -> bool:
        if type(other) is not Literal:
            return NotImplemented
        return _typed(self.value) == _typed(other.value)

    def __hash__(self) -> int:
        return hash(_typed(self.value))


def _typed(value: Any) -> Any:
    """A hashable form of a JSON value that tells its types apart (``True`` from ``1``)."""
    if isinstance(value, list):
        return ("list", tuple(_typed(v) for v in value))
    if isinstance(value, dict):
        return ("dict", tuple((k, _typed(v)) for k, v in value.items()))
    return (type(value).__name__, value)


@dataclass(frozen=True)
class Interval(Expr):
    """``interval 7 day``; unit is singular: year month week day hour minute second
    millisecond microsecond."""

    OP: ClassVar[str] = "interval"
    value: int = 0
    unit: str = "day"


@dataclass(frozen=True)
class Ident(Expr):
    """A field path: ``metadata.models[0].name`` is ``("metadata", "models", 0, "name")``;
    negative ints index from the end."""

    OP: ClassVar[str] = "ident"
    name: tuple[str | int, ...] = ()


@dataclass(frozen=True)
class Star(Expr):
    OP: ClassVar[str] = "star"


@dataclass(frozen=True)
class Function(Expr):
    """A function call. ``name`` is lower-case. Named arguments (``shape => 'traces'``) are
    in ``named``. ``distinct`` is ``count(distinct x)``."""

    OP: ClassVar[str] = "function"
    name: str = ""
    args: tuple[Expr, ...] = ()
    distinct: bool = False
    named: tuple[tuple[str, Expr], ...] = ()
    # Where each named argument's name was written (errors about it point there).
    named_locs: tuple[Loc | None, ...] | None = _loc_field()

    def named_at(self, index: int) -> Loc | None:
        """Where the name of the ``index``-th named argument was written, else the call's
        position."""
        locs = self.named_locs
        return (locs[index] if locs and index < len(locs) else None) or self.loc


@dataclass(frozen=True)
class Binary(Expr):
    """Two-operand operators. ``op`` is one of BINARY_OPS."""

    op: str = "eq"
    left: Expr = None  # type: ignore[assignment]
    right: Expr = None  # type: ignore[assignment]


# Comparison, arithmetic and text operators with a left and a right operand. ``nulleq`` is
# ``<=>`` (equal, or both null) and ``nullne`` is ``<!=>``; ``is`` is SQL ``IS``.
BINARY_OPS = frozenset(
    {
        "eq",
        "ne",
        "lt",
        "le",
        "gt",
        "ge",
        "is",
        "nulleq",
        "nullne",
        "like",
        "ilike",
        "match",
        "in",
        "add",
        "sub",
        "mul",
        "div",
        "mod",
    }
)


@dataclass(frozen=True)
class Includes(Expr):
    """``haystack INCLUDES needle``: an array (or object) contains a value."""

    OP: ClassVar[str] = "includes"
    haystack: Expr = None  # type: ignore[assignment]
    needle: Expr = None  # type: ignore[assignment]


@dataclass(frozen=True)
class Logical(Expr):
    """``and`` / ``or`` with two or more children (the n-ary form SDKs send)."""

    op: str = "and"
    children: tuple[Expr, ...] = ()


@dataclass(frozen=True)
class Unary(Expr):
    """``not``, ``neg`` (unary minus), ``isnull``, ``isnotnull``."""

    op: str = "not"
    expr: Expr = None  # type: ignore[assignment]


UNARY_OPS = frozenset({"not", "neg", "isnull", "isnotnull"})


@dataclass(frozen=True)
class If(Expr):
    """``cond ? a : b``; chains flatten into several (cond, then) pairs."""

    OP: ClassVar[str] = "if"
    conds: tuple[tuple[Expr, Expr], ...] = ()
    else_: Expr | None = None


@dataclass(frozen=True)
class SpanFilter(Expr):
    """``ANY_SPAN(expr)`` (op ``singlespanfilter``: the trace has a span matching expr) and
    ``FILTER_SPANS(expr)`` (op ``matchingspansfilter``: return only matching spans)."""

    op: str = "singlespanfilter"
    expr: Expr = None  # type: ignore[assignment]


SPAN_FILTER_OPS = frozenset({"singlespanfilter", "matchingspansfilter"})


# --- query -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Aliased:
    """``expr AS alias`` in select, dimensions, measures. ``alias`` may be None in select
    (the engine names the column)."""

    expr: Expr
    alias: str | None = None


@dataclass(frozen=True)
class SortItem:
    expr: Expr
    dir: str = "asc"  # "asc" | "desc"


@dataclass(frozen=True)
class Source:
    """``from``: an object function (``project_logs('id', …)``) or a bare name, and a shape."""

    name: str  # project_logs | experiment | dataset | project_dataset | ...
    args: tuple[Expr, ...] = ()
    shape: str | None = None  # spans | traces | summary
    loc: Loc | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Sample:
    """``sample: 25%`` (rate in [0, 1]) or a count of rows, with an optional seed."""

    kind: str  # "rate" | "count"
    value: float | int
    seed: int | None = None


@dataclass(frozen=True)
class Unpivot:
    """``unpivot: expr as (key, value)`` (object to rows) or ``expr as name`` (array)."""

    expr: Expr
    alias: str | tuple[str, str]


@dataclass(frozen=True)
class Query:
    """A whole query (Braintrust's ParsedQuery)."""

    select: tuple[Aliased | Star, ...] | None = None
    dimensions: tuple[Aliased, ...] | None = None
    measures: tuple[Aliased, ...] | None = None
    from_: Source | None = None
    filter: Expr | None = None
    span_filter: Expr | None = None
    trace_filter: Expr | None = None
    final_filter: Expr | None = None  # SQL HAVING
    sort: tuple[SortItem, ...] | None = None
    limit: int | None = None
    cursor: str | None = None
    sample: Sample | None = None
    pivot: tuple[Aliased, ...] | None = None
    unpivot: tuple[Unpivot, ...] | None = None
    preview_length: int | None = None
    # Where the cursor was written (for errors about it); not part of the query's meaning.
    cursor_loc: Loc | None = field(default=None, compare=False, repr=False)
    # The syntax it was written in ("btql", "sql" or "json"), for hints in error messages.
    syntax: str | None = field(default=None, compare=False, repr=False)
    # Where a query without a source was told to name one: the first clause (clause text) or
    # the word after the select list (SQL). Not part of the query's meaning.
    from_loc: Loc | None = field(default=None, compare=False, repr=False)


def query_fields() -> tuple[str, ...]:
    """The JSON keys of a query (``from`` for ``from_``)."""
    return tuple(
        "from" if f.name == "from_" else f.name
        for f in fields(Query)
        if f.name not in ("cursor_loc", "syntax", "from_loc")
    )
