"""Compile the query tree into sqlglot expressions for one engine.

The compiler never builds SQL text: every user string becomes a sqlglot literal, and the only
identifiers it emits are names the planner declared in the :class:`Scope`. Every compiled
expression carries a coarse type (:mod:`tracelake.query.types`) so operators can coerce their
operands; what each operator and function means is in :mod:`tracelake.query.functions`.

``Compiler`` walks the tree, resolves names, converts types and assembles the output list;
a dialect subclass (``DuckDBCompiler``) supplies the engine primitives and extends the tables
(``FUNCTIONS = {**Compiler.FUNCTIONS, …}``, ``COERCIONS``).

Naming decisions: an unaliased field is named by its last path segment (``model`` for
``metadata.model``, in BTQL as in SQL mode; ``tags[0]`` keeps its path) unless another output
has that name, then by its full path (``metadata.id`` beside ``id``); any other unaliased
expression is ``expr_<n>``, ``n`` its column's position in the output (counting the columns
``*`` expands to, as sort ordinals do); a duplicate explicit alias is an error. In sort,
final_filter and dimensions a name is first an explicit alias, then a top-level field, then
an implicit short name (in sort, last, an ``expr_<n>`` name); in filter only the latter
two. Ordinals count output columns from 1 (in dimensions: select items).
"""

from __future__ import annotations

import datetime as dt
import math
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from sqlglot import exp

from tracelake.query import ast as a
from tracelake.query import functions, times
from tracelake.query.errors import QueryError
from tracelake.query.types import (
    EVENT_COLUMNS,
    NO_LITERAL,
    Column,
    OutputColumn,
    Projection,
    Scope,
    T,
    Typed,
    an,
    coarse_type,
    converts_implicitly,
    is_int64,
    json_beside_literals,
    null,
    unify,
)

__all__ = [
    "EVENT_COLUMNS", "Column", "Compiler", "DuckDBCompiler", "OutputColumn", "Projection",
    "Scope", "T", "Typed",
]  # fmt: skip


# The name of a pivot column, which the planner adds to the dimensions (``__pivot_1``…).
PIVOT_DIMENSION = "__pivot_"
# The engine types of a number computed as an integer (see Typed.sql_type).
INTEGER_SQL_TYPES = frozenset({"BIGINT", "INTEGER", "UBIGINT", "HUGEINT"})


@dataclass(frozen=True)
class Ctx:
    """Where an expression is compiled. ``group_keys`` is set in aggregate queries outside
    aggregate calls: there a bare field must be (part of) a dimension."""

    scope: Scope
    clause: str = "expression"
    allow_agg: bool = False
    in_agg: bool = False
    group_keys: tuple[a.Expr, ...] | None = None
    aliases: Mapping[str, a.Expr] = field(default_factory=dict)
    implicit: Mapping[str, a.Expr | None] = field(default_factory=dict)  # None = ambiguous
    # Only whether the value is TRUE matters here (a WHERE condition, through AND and OR):
    # NULL and FALSE may be swapped, which lets some tests skip work on most rows.
    truthy: bool = False


# Operators whose operands keep a truthy context: with Kleene logic, reading NULL as FALSE in
# an operand of AND/OR never changes whether the result is TRUE.
_TRUTHY_THROUGH = frozenset({"and", "or"})
_TRUTHY_USERS = frozenset({"like", "ilike"})
# The largest MATCH haystack (in SQL nodes) that the cheap substring test may repeat.
PREFILTER_MAX_NODES = 24
# How an error names the literal an argument must be (Compiler.literal_value's kinds).
LITERAL_KINDS = {
    (str,): "a string literal",
    (int,): "a whole-number literal",
    (int, float): "a number literal",
}


@dataclass
class _Layout:
    """A query's output list before compilation."""

    outputs: list[tuple[str, a.Expr, str]]  # name, expression, the clause it came from
    dims: tuple[a.Expr, ...]  # dimensions with ordinals and alias names resolved
    aggregate: bool
    star: bool
    aliases: dict[str, a.Expr]
    implicit: dict[str, a.Expr | None]


def _implicit_reserved(alias: str, path: tuple) -> bool:
    """Whether ``alias`` is the short name of the path ``path`` (as the parsers write it)
    and starts with ``__``, which names the engine's own columns."""
    return len(path) > 1 and alias == path[-1] and alias.startswith("__")


def fail(message: str, node: object = None) -> QueryError:
    return QueryError.at(message, node)


def path_text(name: tuple[str | int, ...]) -> str:
    """``metadata."field name".models[0]``: a path as a user would write it."""
    out = ""
    for seg in name:
        if isinstance(seg, int):
            out += f"[{seg}]"
        else:
            text = seg if seg.isidentifier() else '"' + seg.replace('"', '""') + '"'
            out += ("." if out else "") + text
    return out


def children(node: a.Expr) -> list[a.Expr]:
    match node:
        case a.Function():
            return [*node.args, *(e for _, e in node.named)]
        case a.Binary():
            return [node.left, node.right]
        case a.Includes():
            return [node.haystack, node.needle]
        case a.Logical():
            return list(node.children)
        case a.Unary() | a.SpanFilter():
            return [node.expr]
        case a.If():
            return [x for pair in node.conds for x in pair] + [node.else_] * bool(node.else_)
    return []


def _ordinal(expr: a.Expr) -> int | None:
    return expr.value if isinstance(expr, a.Literal) and type(expr.value) is int else None


class Compiler:
    """Dialect-neutral BTQL semantics; see :class:`DuckDBCompiler` for the primitives a
    dialect provides."""

    lean_paths = False  # set while compiling a filter (see compile_filter)
    # The request's time zone (minutes west of UTC), from the scope of the node being
    # compiled: conversions between dates and times happen in it.
    tz_offset = 0

    DIALECT: str | None = None
    FUNCTIONS: dict[str, functions.FunctionSpec] = functions.FUNCTIONS
    OPERATORS: dict[str, Callable] = functions.OPERATORS
    # (from, to) -> f(compiler, sql) converting a value; filled by the dialect.
    COERCIONS: dict[tuple[T, T], Callable[[Compiler, exp.Expression], exp.Expression]] = {}
    # Seconds per interval unit (a year is 365.2425 days, a month a twelfth of it).
    INTERVAL_UNITS = {
        "year": 31_556_952, "month": 2_629_746, "week": 604_800, "day": 86_400, "hour": 3_600,
        "minute": 60, "second": 1, "millisecond": 1e-3, "microsecond": 1e-6,
    }  # fmt: skip
    # An interval may span 290,000 years: a time plus or minus it stays in the engine's range
    # (DuckDB's timestamps run from 290,309 BC to 294,247 AD).
    MAX_INTERVAL_SECONDS = 290_000 * 31_556_952
    SEARCH_FIELDS = ("input", "output", "expected", "metadata", "span_attributes")

    # -- public API ----------------------------------------------------------------------------

    def compile_typed(self, expr: a.Expr, scope: Scope) -> Typed:
        """One expression with its type; aggregates only when ``scope.aggregates``."""
        ctx = Ctx(scope, allow_agg=scope.aggregates, aliases=scope.aliases)
        value = self.node(expr, ctx)
        return replace(value, sql=value.sql.copy())

    def compile_expr(self, expr: a.Expr, scope: Scope) -> exp.Expression:
        return self.compile_typed(expr, scope).sql

    def compile_filter(
        self, expr: a.Expr, scope: Scope, query: a.Query | None = None
    ) -> exp.Expression:
        """A boolean WHERE condition (also for span/trace filters); no aggregates. Implicit
        short names of ``query``'s select items resolve when they are not top-level fields."""
        implicit = self._layout(query, scope).implicit if query else {}
        ctx = Ctx(scope, clause="filter", implicit=implicit, truthy=True)
        # In a WHERE clause no other clause must match these expressions (as GROUP BY and
        # ORDER BY must), so fields may be read in their leanest form.
        self.lean_paths = True
        try:
            return self.to_boolean(self.node(expr, ctx), expr).sql.copy()
        finally:
            self.lean_paths = False

    def compile_projection(self, query: a.Query, scope: Scope) -> Projection:
        """The output columns (select items, or dimensions then measures) and GROUP BY."""
        lay = self._layout(query, scope)
        base = Ctx(scope, allow_agg=lay.aggregate, group_keys=lay.dims if lay.aggregate else None)
        columns = []
        for name, expr, clause in lay.outputs:
            ctx = replace(base, clause=clause)
            if clause == "dimensions":
                ctx = replace(ctx, allow_agg=False, group_keys=None)
            value = self.node(expr, ctx)
            if clause == "measures" and not value.aggregate:
                # A measure without an aggregate (`measures: 1 as n`, or one reading only
                # dimensions) is one value per group: without dimensions, still one row.
                any_value = exp.AnyValue(this=value.sql)
                value = replace(value, sql=any_value, aggregate=True, literal=NO_LITERAL)
            value = replace(value, sql=value.sql.copy())
            columns.append(OutputColumn(name, value, self.render(value).copy()))
        dim_ctx = Ctx(scope, clause="dimensions")
        group_by = tuple(self._key(self.node(d, dim_ctx)).copy() for d in lay.dims)
        return Projection(tuple(columns), group_by, lay.aggregate, lay.star)

    def _key(self, value: Typed) -> exp.Expression:
        """A GROUP BY or ORDER BY term (a constant as the dialect takes it there: ``sort:
        -1``, ``sort: 'abc'``, and a literal converted: ``sort: to_boolean('true')``)."""
        constant = value.is_literal or isinstance(value.sql, exp.Literal | exp.Boolean | exp.Null)
        return self.constant_key(value.sql, value.type) if constant else value.sql

    def compile_sort(self, query: a.Query, scope: Scope) -> list[exp.Ordered]:
        """ORDER BY terms; aliases and ordinals resolve. JSON values sort numbers first
        (numerically), then the rest by text; NULLs sort last in both directions."""
        lay = self._layout(query, scope)
        ctx = self._alias_ctx(lay, scope, "sort")
        out = []
        for item in query.sort or ():
            if item.dir not in ("asc", "desc"):
                raise fail(f"invalid sort direction '{item.dir}'", item.expr)
            value = self.node(self._by_position(item.expr, lay, scope), ctx)
            value = replace(value, sql=self._key(value))
            for key in self.sort_keys(value):
                ordered = exp.Ordered(this=key, desc=item.dir == "desc", nulls_first=False)
                out.append(ordered.copy())
        return out

    def sort_target(self, expr: a.Expr, query: a.Query, scope: Scope) -> a.Expr:
        """What a sort item stands for: the output expression of a position or of an
        ``expr_<n>`` name, else the item itself."""
        return self._by_position(expr, self._layout(query, scope), scope)

    def output_names(self, query: a.Query, scope: Scope) -> list[str]:
        """The names of the output columns (a pivot's hidden columns included)."""
        return [name for name, _, _ in self._layout(query, scope).outputs]

    def compile_final_filter(self, query: a.Query, scope: Scope) -> exp.Expression | None:
        """The HAVING condition: aggregates and every output alias are visible. (On a query
        without aggregates it filters output rows and may go in WHERE.)"""
        if query.final_filter is None:
            return None
        ctx = self._alias_ctx(self._layout(query, scope), scope, "final_filter")
        return self.to_boolean(self.node(query.final_filter, ctx), query.final_filter).sql.copy()

    def compile_group_filter(
        self, expr: a.Expr, scope: Scope, keys: tuple[a.Expr, ...]
    ) -> exp.Expression:
        """A HAVING condition on groups of rows grouped by ``keys`` (e.g. the spans of each
        trace, grouped by ``root_span_id``): aggregates read the rows; a field outside an
        aggregate must be one of the keys."""
        ctx = Ctx(scope, clause="final_filter", allow_agg=True, group_keys=keys)
        return self.to_boolean(self.node(expr, ctx), expr).sql.copy()

    def has_aggregate(self, expr: a.Expr) -> bool:
        """Whether ``expr`` calls an aggregate function."""
        return self._has_aggregate(expr)

    def compile_select(
        self, query: a.Query, scope: Scope, source: exp.Expression, as_json: bool = False
    ) -> exp.Select:
        """A whole SELECT over ``source`` (aliased ``scope.table``): the projection (named
        columns, or one JSON object per row when ``as_json``), filter, GROUP BY, HAVING,
        ORDER BY and LIMIT. Sources, shapes, scoping, cursors and sampling are the planner's."""
        proj = self.compile_projection(query, scope)
        if as_json:
            select = exp.select(exp.alias_(proj.row_json(), "row"))
        else:
            select = exp.select(*(exp.alias_(c.expr, c.name, quoted=True) for c in proj.columns))
        select = select.from_(
            exp.alias_(source, scope.table, table=True) if scope.table else source
        )
        if query.filter is not None:
            select = select.where(self.compile_filter(query.filter, scope, query))
        if proj.group_by:
            select = select.group_by(*proj.group_by)
        having = self.compile_final_filter(query, scope)
        if having is not None:
            select = select.having(having) if proj.aggregate else select.where(having)
        if query.sort:
            select = select.order_by(*self.compile_sort(query, scope))
        if query.limit is not None:
            select = select.limit(exp.Literal.number(int(query.limit)))
        return select

    def share_json_reads(self, trees: list, table: str) -> list[exp.Expression]:
        """Rewrite ``trees`` so that reads of one JSON column share one call per row; returns
        the columns the source must add for them (none: the dialect reads each on its own)."""
        return []

    def sql(self, expression: exp.Expression) -> str:
        return expression.sql(dialect=self.DIALECT)

    # -- the output list ------------------------------------------------------------------------

    def _layout(self, query: a.Query, scope: Scope) -> _Layout:
        select, dims, measures = query.select or (), query.dimensions or (), query.measures or ()
        if select and measures:
            raise fail("select cannot be combined with measures (use dimensions)", measures[0].expr)
        aliases: dict[str, a.Expr] = {}
        implicit: dict[str, a.Expr | None] = {}
        star: a.Star | None = None
        items = [(i, "select") for i in select] + [(d, "dimensions") for d in dims if not select]
        named: list[tuple[str, a.Expr, str, str | None]] = []  # name, expr, clause, full path
        for item, clause in items + [(m, "measures") for m in measures]:
            if isinstance(item, a.Star):
                star = item
                named += [(n, a.Ident((n,), loc=item.loc), clause, None) for n in scope.columns]
                continue
            # the output column's position (as `sort: 3` counts; a pivot's hidden columns,
            # which the planner adds to the dimensions, are not output columns)
            pos = 1 + sum(not n.startswith(PIVOT_DIMENSION) for n, *_ in named)
            expr = item.expr
            if item.alias == "":
                raise fail("a column name cannot be empty", expr)
            # (a named integer is a constant: `SELECT 2024 AS year … GROUP BY 1`)
            if clause == "dimensions" and _ordinal(expr) is not None and item.alias is None:
                raise fail("a dimension ordinal needs a select list", expr)
            path = expr.name if isinstance(expr, a.Ident) else ()
            if len(path) > 1 and path[-1] and item.alias in (None, path[-1]):
                # the implicit short name (the parsers write it as an alias when unambiguous)
                implicit[path[-1]] = None if path[-1] in implicit else expr
            if item.alias is not None and _implicit_reserved(item.alias, path):
                # the short name of a path is a name of the engine's own columns (``__key``,
                # see the planner's RESERVED_PREFIX): the column is named by its full path
                named.append((path_text(path), expr, clause, None))
            elif item.alias is not None:
                aliases[item.alias] = expr
                named.append((item.alias, expr, clause, None))
            elif len(path) > 1:
                short = path[-1] if isinstance(path[-1], str) and path[-1] else path_text(path)
                named.append((short, expr, clause, path_text(path)))
            elif isinstance(expr, a.Ident) and expr.name:
                named.append((str(expr.name[0]), expr, clause, None))
            else:
                named.append((f"expr_{pos}", expr, clause, None))
        # Short names that collide fall back to the full path; other duplicates are errors.
        counts: dict[str, int] = {}
        for name, *_ in named:
            counts[name] = counts.get(name, 0) + 1
        outputs: list[tuple[str, a.Expr, str]] = []
        for name, expr, clause, full in named:
            name = full if full is not None and counts[name] > 1 else name
            if any(name == o[0] for o in outputs):
                raise fail(f"duplicate column name '{name}'", expr)
            outputs.append((name, expr, clause))
        dim_keys = tuple(self._group_key(d.expr, select, aliases, implicit, scope) for d in dims)
        aggregate = bool(dims or measures) or any(
            self._has_aggregate(i.expr) for i in select if isinstance(i, a.Aliased)
        )
        if aggregate and star is not None:
            raise fail("select * cannot be combined with aggregates", star)
        return _Layout(outputs, dim_keys, aggregate, star is not None, aliases, implicit)

    def _group_key(self, expr, select, aliases, implicit, scope) -> a.Expr:
        """A dimension as a tree: an ordinal or an alias name becomes the item it names
        (without a select list, an integer is the constant a named dimension holds)."""
        k = _ordinal(expr) if select else None
        if k is not None:
            if not 1 <= k <= len(select) or isinstance(select[k - 1], a.Star):
                raise fail(f"dimension ordinal {k} is out of range", expr)
            return select[k - 1].expr
        if isinstance(expr, a.Ident) and len(expr.name) == 1:
            name = expr.name[0]
            if name in aliases and aliases[name] != expr:
                return aliases[name]
            if name not in scope.columns and implicit.get(name) is not None:
                return implicit[name]
        return expr

    def _by_position(self, expr: a.Expr, lay: _Layout, scope: Scope) -> a.Expr:
        """An ordinal, or the implicit name ``expr_<n>`` of an unaliased expression (as the
        answer names the column), as the output expression it stands for."""
        k = _ordinal(expr)
        if k is None:
            if isinstance(expr, a.Ident) and len(expr.name) == 1:
                name = expr.name[0]
                if (
                    name not in lay.aliases
                    and name not in scope.aliases
                    and name not in scope.columns
                ):
                    for out_name, out_expr, _ in lay.outputs:
                        if out_name == name and not isinstance(out_expr, a.Ident):
                            return out_expr
            return expr
        if not 1 <= k <= len(lay.outputs):
            raise fail(f"sort ordinal {k} is out of range", expr)
        return lay.outputs[k - 1][1]

    def _alias_ctx(self, lay: _Layout, scope: Scope, clause: str) -> Ctx:
        return Ctx(
            scope,
            clause=clause,
            allow_agg=lay.aggregate,
            group_keys=lay.dims if lay.aggregate else None,
            aliases={**scope.aliases, **lay.aliases},
            implicit=lay.implicit,
        )

    def _has_aggregate(self, node: a.Expr) -> bool:
        spec = self.FUNCTIONS.get(node.name) if isinstance(node, a.Function) else None
        if spec is not None and spec.aggregate:
            return True
        return any(self._has_aggregate(c) for c in children(node) if c is not None)

    # -- expressions ----------------------------------------------------------------------------

    NODES: dict[type, str] = {
        a.Literal: "_literal", a.Interval: "_interval", a.Ident: "_ident", a.Star: "_star",
        a.Function: "_function", a.Binary: "_operator", a.Includes: "_operator",
        a.Logical: "_operator", a.Unary: "_operator", a.If: "_if", a.SpanFilter: "_span_filter",
    }  # fmt: skip

    def node(self, node: a.Expr, ctx: Ctx) -> Typed:
        """Compile one node in a context."""
        self.tz_offset = ctx.scope.tz_offset
        if ctx.group_keys is not None and not ctx.in_agg and node in ctx.group_keys:
            ctx = replace(ctx, group_keys=None)
        if ctx.truthy and getattr(node, "op", None) not in _TRUTHY_THROUGH | _TRUTHY_USERS:
            ctx = replace(ctx, truthy=False)
        method = self.NODES.get(type(node))
        if method is None:
            raise fail(f"unsupported expression {type(node).__name__}", node)
        return replace(getattr(self, method)(node, ctx), origin=node)

    def _operator(self, node: a.Expr, ctx: Ctx) -> Typed:
        op = "includes" if isinstance(node, a.Includes) else node.op
        handler = self.OPERATORS.get(op)
        if handler is None:
            raise fail(f"unknown operator '{op}'", node)
        return handler(self, ctx, node)

    def _literal(self, node: a.Literal, ctx: Ctx) -> Typed:
        return self.literal(node.value, node)

    def literal(self, v: object, node: a.Expr | None = None) -> Typed:
        if v is None:
            return null()
        if isinstance(v, bool):
            return Typed(exp.Boolean(this=v), T.BOOLEAN, literal=v)
        if isinstance(v, int):
            if abs(v) > sys.float_info.max:  # (the text parsers refuse these before)
                raise fail("number out of range", node)
            sql_type = "BIGINT" if is_int64(v) else None
            return Typed(exp.Literal.number(v), T.NUMBER, literal=v, sql_type=sql_type)
        if isinstance(v, float):
            if not math.isfinite(v):
                raise fail("numbers must be finite", node)
            return Typed(self.double_literal(v), T.NUMBER, literal=v)
        if isinstance(v, str):
            return Typed(exp.Literal.string(v), T.STRING, literal=v)
        if isinstance(v, list | dict):
            return Typed(self.json_literal(v), T.JSON, literal=v)
        raise fail(f"unsupported literal {v!r}", node)

    def _interval(self, node: a.Interval, ctx: Ctx) -> Typed:
        if node.unit not in self.INTERVAL_UNITS or type(node.value) is not int:
            raise fail(f"invalid interval '{node.value} {node.unit}'", node)
        if abs(node.value) * self.INTERVAL_UNITS[node.unit] > self.MAX_INTERVAL_SECONDS:
            raise fail(
                f"interval {node.value} {node.unit} is out of range (at most 290,000 years)", node
            )
        unit = exp.Var(this=node.unit.upper())
        return Typed(exp.Interval(this=exp.Literal.string(str(node.value)), unit=unit), T.INTERVAL)

    def _star(self, node: a.Star, ctx: Ctx) -> Typed:
        raise fail("* is only allowed in select and count(*)", node)

    def _ident(self, node: a.Ident, ctx: Ctx) -> Typed:
        if not node.name or not isinstance(node.name[0], str):
            raise fail("invalid field reference", node)
        head, rest = node.name[0], node.name[1:]
        target = ctx.aliases.get(head)
        if target is None and head not in ctx.scope.columns and head in ctx.implicit:
            target = ctx.implicit[head]
            if target is None:
                raise fail(f"'{head}' is ambiguous; use the full path", node)
        if target is not None:  # an alias: its expression, where aliases are not visible
            base = self.node(target, replace(ctx, aliases={}, implicit={}))
        elif head in ctx.scope.columns:
            if ctx.group_keys is not None and not ctx.in_agg:
                raise fail(
                    f"'{path_text(node.name)}' in {ctx.clause} must be in an aggregate or "
                    "be a dimension",
                    node,
                )
            base = self.column(head, ctx.scope, whole=bool(rest))
        else:
            raise fail(f"unknown field '{head}'", node)
        return self.get_path(base, rest)

    def column(self, name: str, scope: Scope, whole: bool = False) -> Typed:
        """A column's value (with ``whole``, the whole value of a preview, for a path)."""
        col = scope.columns[name]
        expr = col.whole if whole and col.whole is not None else col.expr
        sql = expr.copy() if expr is not None else exp.column(name, scope.table, quoted=True)
        return Typed(sql, coarse_type(col.sql_type), sql_type=col.sql_type.upper())

    def get_path(self, base: Typed, path: tuple[str | int, ...]) -> Typed:
        """``base.a[0]."b c"``: a JSON path (JSON null reads as NULL), or an index into a
        typed list (0-based, negative from the end); any other path is NULL."""
        if not path:
            return base
        if any(isinstance(seg, int) and not is_int64(seg + 1) for seg in path):
            # beyond any list's end (and the engine's index type)
            return Typed(exp.Null(), T.NULL, aggregate=base.aggregate)
        if base.type is T.JSON:
            return base.to(self.json_get(base.sql, path), T.JSON)
        if base.type is T.ARRAY and isinstance(path[0], int):
            return self.get_path(base.to(self.list_get(base.sql, path[0]), T.STRING), path[1:])
        return Typed(exp.Null(), T.NULL, aggregate=base.aggregate)  # not a NULL literal

    def _function(self, node: a.Function, ctx: Ctx) -> Typed:
        spec = self.FUNCTIONS.get(node.name)
        if spec is None:
            raise fail(f"unknown function '{node.name}'", node)
        n = len(node.args)
        if n < spec.min_args or (spec.max_args is not None and n > spec.max_args):
            message = f"wrong number of arguments to {node.name}(): it takes "
            raise fail(message + _arity(spec.min_args, spec.max_args) + f", not {n}", node)
        if node.named:
            message = f"{node.name}() takes no argument named '{node.named[0][0]}'"
            raise fail(message, node.named_at(0))
        if node.distinct and not spec.distinct:
            raise fail(f"{node.name}() does not take DISTINCT", node)
        if spec.aggregate:
            if ctx.in_agg:
                raise fail(f"aggregate {node.name}() cannot be inside another aggregate", node)
            if not ctx.allow_agg:
                raise fail(f"aggregate {node.name}() is not allowed in {ctx.clause}", node)
            ctx = replace(ctx, in_agg=True)
        # An aggregate's arguments, like a filter, need not match another clause's text, so
        # fields are read in their leanest form there too (one JSON parse per row and field).
        lean = self.lean_paths
        self.lean_paths = lean or spec.aggregate
        try:
            args = [
                Typed(exp.Star(), T.NULL)
                if isinstance(x, a.Star) and spec.star
                else self.node(x, ctx)
                for x in node.args
            ]
            out = spec.handler(self, ctx, node, args)
        finally:
            self.lean_paths = lean
        return replace(out, aggregate=spec.aggregate or functions.aggregated(out, *args))

    def _if(self, node: a.If, ctx: Ctx) -> Typed:
        conds = [self.to_boolean(self.node(c, ctx), c) for c, _ in node.conds]
        values = [self.node(v, ctx) for _, v in node.conds]
        values.append(self.node(node.else_, ctx) if node.else_ is not None else null())
        values, t = self.unify_values(values, node)
        ifs = [exp.If(this=c.sql, true=v.sql) for c, v in zip(conds, values, strict=False)]
        case = exp.Case(ifs=ifs, default=values[-1].sql)
        return Typed(case, t, aggregate=functions.aggregated(*conds, *values))

    def unify_values(
        self, values: list[Typed], node: a.Expr | None = None
    ) -> tuple[list[Typed], T]:
        """Branches converted to their common type (:func:`types.unify`); JSON values beside
        literals only give a JSON value (:func:`types.json_beside_literals`)."""
        t = T.JSON if json_beside_literals(values) else unify([v.type for v in values])
        return [self.coerce(v, t, node) for v in values], t

    def _span_filter(self, node: a.SpanFilter, ctx: Ctx) -> Typed:
        """ANY_SPAN / FILTER_SPANS are trace-level conditions of the filters, which the
        planner rewrites on every shape; anywhere else (select, sort, final_filter…) they
        are an error."""
        name = "ANY_SPAN" if node.op == "singlespanfilter" else "FILTER_SPANS"
        raise fail(
            f"{name}(...) belongs in the filter (filter:, span_filter:, trace_filter: or SQL "
            f"WHERE), not in {ctx.clause}",
            node,
        )

    def compile_match(
        self, haystack: Typed, query: str, fields: tuple[str, ...] = (), whole: bool = False
    ) -> exp.Expression:
        """``haystack MATCH query`` by scanning; the planner may swap in the search index.
        ``fields`` names the span fields whose words hold every word of the haystack (the
        field itself or a path under it; all the searched fields for search()), empty when
        unknown: only then may an index of those fields narrow it. ``whole`` says the
        haystack is a whole field of ``fields`` (not a path under it), so the index's words
        are exactly its words.
        Whole tokens, case-insensitive: text splits on anything but letters and digits
        (``value-added`` holds ``value``; ``app`` is not in ``apple``); JSON object keys are
        not text; every token of ``query`` must appear, in any order. A query without tokens
        matches nothing. Never NULL, like the index it stands for: NOT MATCH holds for rows
        without the field."""
        tokens = functions.match_tokens(query)
        if not tokens:
            return exp.false()
        if haystack.type is T.JSON:
            text = self.json_search_text(haystack.sql)
            raw = exp.Lower(
                this=exp.Cast(this=haystack.sql.copy(), to=exp.DataType.build("VARCHAR"))
            )
        else:
            text = self.coerce(haystack, T.STRING).sql
            raw = exp.Lower(this=text.copy())
        exact = self.match_text(text, tokens)
        # A cheap superset first: the raw text must contain each (ASCII) token as a
        # substring. The exact word check, which re-serialises JSON and splits it, then only
        # runs on the few rows that pass (6 s -> 0.5 s on 1M spans). It repeats the
        # haystack, so only a small one (a field, a path, a short expression) gets it: a
        # MATCH nested in the haystack of another would otherwise double the SQL at each
        # level (2^n copies of the innermost operand).
        ascii_tokens = [t for t in tokens if t.isascii()]
        if not ascii_tokens or _size(haystack.sql) > PREFILTER_MAX_NODES:
            return exact
        pre = [
            exp.Anonymous(this="contains", expressions=[raw.copy(), exp.Literal.string(t)])
            for t in ascii_tokens
        ]
        return exp.paren(exp.and_(*pre, exact))

    def narrow_like(
        self, test: exp.Expression, pattern: str, fields: tuple[str, ...]
    ) -> exp.Expression:
        """``test``, a LIKE / ILIKE of a string value under the span fields ``fields``
        with the literal ``pattern``, where only a TRUE result matters (so NULL and FALSE
        may be swapped); the planner's compiler may narrow it with the search index."""
        return test

    # -- types ----------------------------------------------------------------------------------

    def coerce(self, value: Typed, to: T, node: a.Expr | None = None, strict: bool = True) -> Typed:
        """``value`` as a ``to``, by any conversion the dialect has (casts and comparisons;
        operators and functions go through :meth:`expect`). String literals convert at
        compile time; one that does not spell a number, boolean, timestamp or date is an
        error when ``strict`` (comparisons, operands), else NULL (casts)."""
        if value.type is to:
            return value
        if value.type is T.NULL:  # (null, or an expression always NULL: `coalesce(null)`)
            sql = None if isinstance(value.sql, exp.Null) else value.sql
            return value.to(self.null_of(to, sql), to)
        if to is T.NULL:
            return value.to(value.sql, to)
        if isinstance(value.literal, str):
            try:
                converted = functions.convert_string_literal(self, value.literal, to)
            except times.OutOfRange:
                if strict:
                    message = f"{to.value} '{value.literal}' is out of range ({times.RANGE_TEXT})"
                    raise fail(message, self.where(value, node)) from None
                converted = exp.Null()
            invalid = converted is None or isinstance(converted, exp.Null)
            if strict and invalid and functions.number_beyond_double(value.literal, to):
                message = f"number '{value.literal.strip()}' is out of range (beyond a double)"
                raise fail(message, self.where(value, node))
            if strict and invalid and to in (T.NUMBER, T.BOOLEAN, T.TIMESTAMP, T.DATE):
                raise fail(f"invalid {to.value} '{value.literal}'", self.where(value, node))
            if isinstance(converted, exp.Null):  # (`to_number('x')`, a NULL of its type)
                converted = self.null_of(to)
            if converted is not None:
                integer = to is T.NUMBER and functions.is_int64_text(value.literal)
                return value.to(converted, to, sql_type="BIGINT" if integer else None)
        if (value.type, to) == (T.NUMBER, T.STRING) and value.sql_type in INTEGER_SQL_TYPES:
            return value.to(self.integer_text(value.sql), to)  # (its digits: a plain cast)
        convert = self.COERCIONS.get((value.type, to))
        if convert is None:
            raise fail(f"cannot use {an(value.type)} as {an(to)}", self.where(value, node))
        # (the engine type of an integer matters to arithmetic, which guards its overflow)
        sql_type = "INTEGER" if (value.type, to) == (T.BOOLEAN, T.NUMBER) else None
        return value.to(convert(self, value.sql), to, sql_type=sql_type)

    # Hints for the type errors of :meth:`expect`: (found, needed) -> how to convert.
    CONVERSION_HINTS = {
        (T.STRING, T.NUMBER): " (to_number() converts a string)",
        (T.STRING, T.TIMESTAMP): " (to_datetime() converts a string)",
        (T.NUMBER, T.TIMESTAMP): " (to_datetime() reads a number as Unix seconds)",
        (T.TIMESTAMP, T.NUMBER): " (to_number() gives Unix seconds)",
        (T.INTERVAL, T.NUMBER): " (to_number() gives seconds)",
    }

    def expect(self, value: Typed, to: T, node: a.Expr | None = None, needs: str = "") -> Typed:
        """``value`` where an operator or function ``needs`` a ``to`` (``"sum()"``): only the
        conversions of :data:`types.IMPLICIT`; any other type is an error at the value."""
        if not converts_implicitly(value, to):
            hint = self.CONVERSION_HINTS.get((value.type, to), "")
            what = f"{needs} needs {an(to)}" if needs else f"expected {an(to)}"
            raise fail(f"{what}, not {an(value.type)}{hint}", self.where(value, node))
        return self.coerce(value, to, node)

    def to_boolean(self, value: Typed, node: a.Expr | None = None) -> Typed:
        """A condition (a filter, NOT, AND/OR, ``? :``): a boolean, or a JSON value (true
        when it is true, a non-zero number or a string such as ``"true"``), or NULL."""
        if not converts_implicitly(value, T.BOOLEAN):
            raise fail(
                f"a condition must be a boolean, not {an(value.type)}", self.where(value, node)
            )
        return self.coerce(value, T.BOOLEAN, node)

    def where(self, value: Typed, node: object = None) -> object:
        """The node an error about ``value`` points at: where it was written, if known."""
        origin = value.origin
        return origin if getattr(origin, "loc", None) is not None else node

    def render(self, value: Typed) -> exp.Expression:
        """The value as it goes into a JSON row (see :class:`OutputColumn`)."""
        if value.type is T.TIMESTAMP:
            return self.format_timestamp(value.sql, whole_seconds=value.whole_seconds)
        if value.type is T.DATE:
            return self.format_date(value.sql)
        if value.type is T.INTERVAL:
            return self.canonical_interval(value.sql)
        if value.type is T.NUMBER and value.sql_type in ("UBIGINT", "HUGEINT"):
            return self.integer_text(value.sql)
        if value.type is T.NUMBER and value.sql_type not in ("BIGINT", "INTEGER"):
            return self.number_to_output(value.sql)
        return value.sql

    def sort_keys(self, value: Typed) -> list[exp.Expression]:
        if value.type is T.JSON:
            return [self.json_num(value.sql), self.json_text(value.sql.copy())]
        return [value.sql]

    def literal_value(self, value: Typed, what: str, node: a.Expr, kinds=(str,)):
        """The Python value of a literal argument (``percentile(x, 0.95)``), or an error at
        the argument that names the kind of literal it must be."""
        v = value.literal
        if (
            v is NO_LITERAL
            or not isinstance(v, kinds)
            or (isinstance(v, bool) and bool not in kinds)
        ):
            raise fail(f"{what} must be {LITERAL_KINDS[kinds]}", self.where(value, node))
        return v

    def interval_text_seconds(self, text: str) -> float | None:
        """The seconds of the interval a string spells (years of 365.2425 days), or None
        when it spells none or the dialect cannot tell."""
        return None

    def parse_timestamp_literal(self, text: str) -> dt.datetime | times.FarTime | None:
        """ISO-8601 date or date-time; without an offset it is UTC. A year outside 1-9999
        (``0000``, ``+010000``, ``-000976``, as answers write them), or a time whose UTC
        lies there, is a :class:`times.FarTime`; beyond the engine's range it raises
        :class:`times.OutOfRange`."""
        try:
            value = dt.datetime.fromisoformat(text.strip())
        except ValueError:
            return times.parse_far_time(text)
        value = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        try:
            value.astimezone(dt.UTC)
        except OverflowError:  # ('0001-01-01T00:00+14:00' is in year 0 in UTC)
            return times.parse_far_time(text) or value
        return value

    def error(self, message: str, node: object = None) -> QueryError:
        return fail(message, node)


from tracelake.query.dialects import DuckDBCompiler  # noqa: E402 - the dialect extends Compiler


def _size(sql: exp.Expression) -> int:
    """How many nodes the SQL tree ``sql`` has (stops counting past the prefilter bound)."""
    count = 0
    for _ in sql.walk():
        count += 1
        if count > PREFILTER_MAX_NODES:
            break
    return count


def _arity(lo: int, hi: int | None) -> str:
    """How many arguments a function takes, for messages: ``1 or 2 arguments``."""
    if lo == hi:
        return "no arguments" if lo == 0 else f"{lo} argument{'s' * (lo != 1)}"
    if hi is None:
        return f"at least {lo} argument{'s' * (lo != 1)}"
    if lo == 0:
        return f"at most {hi} argument{'s' * (hi != 1)}"
    return f"{lo} or {hi} arguments" if hi == lo + 1 else f"{lo} to {hi} arguments"
