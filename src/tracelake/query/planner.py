"""From a parsed query to the SQL that answers one page of it.

The planner owns what the compiler does not: the relation a query reads (the spans of its
objects, live or pinned to a version, scoped to the caller's organization), the shapes
(``spans``; ``traces`` = whole traces with the limit counting traces; ``summary`` = one
row per trace), span filters (``ANY_SPAN`` / ``FILTER_SPANS``), sampling, default limits and
cursors. The result is a :class:`Plan`: one SQL text whose rows are the page, in order,
with a hidden ``__key`` column (the cursor key) beside the visible ones.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from dataclasses import dataclass

import sqlglot
from sqlglot import exp

from tracelake.model.objects import ObjectRef, ObjectType
from tracelake.model.xact import key_xact
from tracelake.query import ast as a
from tracelake.query.compiler import PIVOT_DIMENSION, Compiler, DuckDBCompiler
from tracelake.query.cursors import MAX_LIMIT, Cursor, check_objects, decode_cursor, objects_tag
from tracelake.query.errors import QueryError
from tracelake.query.indexed import CANDIDATES, index_candidates
from tracelake.query.relations import (
    AGGREGATED_OBJECTS,
    STORED_COLUMNS,
    columns_of,
    moved_row_keys,
    moved_rows_bound,
    newest_traces_bound,
    root_field,
    span_relation,
    summary_columns,
    summary_relation,
    summary_scope_columns,
    window_stats,
    with_comments,
)
from tracelake.query.sources import ResolvedSource
from tracelake.query.types import Column, Scope, T
from tracelake.query.windows import WindowPlan

DEFAULT_LIMIT = 1000


@dataclass(frozen=True)
class MovedRows:
    """The rows of a later page of spans (a key cursor with a snapshot) that were written
    again since the snapshot: they keep their place as of then (``__key`` = their key then)
    instead of moving ahead of the cursor and never being listed. ``bound_sql`` gives the
    value of the ``$moved_lo`` parameter of ``sql`` (NULL: no row moved, skip ``sql``);
    ``sql`` gives rows in the columns of the page's SQL, which the page's rows are merged
    with (by ``__key``, newest first)."""

    bound_sql: str
    sql: str


@dataclass(frozen=True)
class Plan:
    sql: str
    output: tuple[str, ...] | None  # visible column names, in order (None: decided by data)
    limit: int
    paging: str  # "key": resume after the last __key; "offset": skip rows; "none"
    offset: int = 0
    shape: str = "spans"
    # The page was chosen among the newest index candidates only: valid if it is full
    # (see query.indexed.IndexedCompiler); otherwise the query is run again without.
    index_bounded: bool = False
    # Run in windows of the sort column, newest first (the SQL has the window parameters).
    window: WindowPlan | None = None
    # Pages of traces by key carry a snapshot (see query.cursors): this page's, when it
    # follows a cursor; a first page takes its newest trace's _xact_id.
    snapshot: int | None = None
    keeps_snapshot: bool = False
    moved: MovedRows | None = None
    objects: str | None = None  # the cursor's tag of the objects paged (query.cursors)

    def next_cursor(self, cursor, table: str) -> str | None:
        """The cursor of the page after this one (whose rows are in ``table``), or None
        when this page is the last."""
        if self.paging == "none" or self.limit == 0:
            return None  # limit 0: an empty page, never followed by another
        if self.paging == "offset":
            # The offset counts the page's units: rows, or traces (by their key) on traces.
            units = "DISTINCT __key" if self.shape == "traces" else "*"
            (count,) = cursor.execute(f"SELECT count({units}) FROM {table}").fetchone()
            return self._cursor_after(count, None)
        units, last, newest = cursor.execute(
            f"SELECT count(DISTINCT __key), min(__key), max(__key) FROM {table}"
        ).fetchone()
        return self._cursor_after(units, last, newest)

    def next_cursor_from_keys(self, keys: list) -> str | None:
        """:meth:`next_cursor` from the ``__key`` of each row of the page."""
        if self.paging == "none" or self.limit == 0:
            return None
        present = {k for k in keys if k is not None}
        if self.paging == "offset":
            return self._cursor_after(len(present) if self.shape == "traces" else len(keys), None)
        if not present:
            return self._cursor_after(0, None)
        return self._cursor_after(len(present), min(present), max(present))

    def _cursor_after(self, units: int, last, newest=None) -> str | None:
        if units != self.limit:
            return None
        if self.paging == "offset":
            return Cursor(offset=self.offset + units, objects=self.objects).encode()
        snapshot = None
        if self.keeps_snapshot:
            snapshot = self.snapshot if self.snapshot is not None else key_xact(newest)
        return Cursor(key=last, snapshot=snapshot, objects=self.objects).encode()


# Output names the engine gives its own columns beside the query's (``__key``, the cursor key
# of each row; ``__rank``, ``__sort_<n>``, ``__pivot_<n>``, ``__unpivot_<n>``, …).
RESERVED_PREFIX = "__"


def _check_names(query: a.Query) -> None:
    """Refuse a name the query gives a column (an alias, an unpivot name) that the engine
    uses for its own: ``select: id as __key`` replaced each row's cursor key with the id, so
    the next page was a 400 (``invalid cursor``) or never came (``cursor: null``)."""
    items = [*(query.select or ()), *(query.dimensions or ()), *(query.measures or ())]
    named = [
        (i.alias, i.expr)
        for i in items
        # (a path's short name, ``metadata.__key``, is named by its full path instead)
        if isinstance(i, a.Aliased)
        and i.alias
        and not (isinstance(i.expr, a.Ident) and i.alias == i.expr.name[-1])
    ]
    for item in query.unpivot or ():
        aliases = item.alias if isinstance(item.alias, tuple) else (item.alias,)
        named += [(alias, item.expr) for alias in aliases]
    for name, expr in named:
        if name.startswith(RESERVED_PREFIX):
            raise QueryError.at(
                f"the column name {name!r} is reserved: names starting with"
                f" {RESERVED_PREFIX!r} are the engine's own columns; give another name",
                expr,
            )


def plan_query(
    query: a.Query,
    source: ResolvedSource,
    *,
    org_id: str,
    version: int | None = None,
    tz_offset: int = 0,
    audit_log: bool = False,
    compiler: Compiler | None = None,
) -> Plan:
    """Plan one page of ``query`` over ``source``."""
    compiler = compiler or DuckDBCompiler()
    _check_names(query)
    limit = _limit(query)
    cursor = None
    if query.cursor:
        try:
            cursor = decode_cursor(query.cursor)
            check_objects(cursor.objects, source.refs)
        except QueryError as exc:
            raise QueryError.at(exc.detail, query.cursor_loc) from None
    if version is not None and source.object_type is ObjectType.PROJECT_LOGS:
        raise QueryError("version is supported for experiments and datasets, not project logs")
    # Comments are joined late (for the page's rows only) unless a clause other than the
    # select list reads them.
    early = references_comments(query)

    def relation(
        window: str | None = None,
        row_filter: str | None = None,
        candidates: str | None = None,
        since_xact: int | None = None,
    ) -> str:
        return span_relation(
            source.refs,
            org_id,
            version=version,
            audit_log=audit_log,
            comments=early,
            since_xact=since_xact,
            window=window,
            row_filter=row_filter,
            candidates=candidates,
        )

    base = relation()
    columns = {
        name: ("JSON" if kind == "json" else kind) for name, kind in columns_of(source.object_type)
    }
    if audit_log:
        columns["audit_data"] = "JSON"
    planner = _Planner(compiler, query, source, base, columns, tz_offset, limit, cursor)
    planner.version = version
    planner.relation = relation
    planner.org_id = org_id
    planner.late_comments = not early and _outputs_comments(query)
    if source.shape == "spans":
        plan = planner.spans()
    elif query.unpivot or query.pivot:
        item = (query.pivot or query.unpivot)[0]  # type: ignore[index]
        raise QueryError.at("pivot and unpivot need the spans shape", item.expr)
    elif source.shape == "traces":
        plan = planner.traces()
    elif source.object_type is ObjectType.DATASET:
        raise QueryError.at(
            "the summary shape applies to project logs and experiments",
            query.from_,
        )
    elif audit_log:
        # A summary row stands for a whole trace, and audit data belongs to one span.
        raise QueryError.at(
            "audit_log applies to the spans and traces shapes, not summary (a summary row"
            " stands for a whole trace)",
            query.from_,
        )
    else:
        plan = planner.summary()
    keeps = plan.paging == "key" and version is None
    snapshot = cursor.snapshot if cursor is not None and keeps else None
    tag = objects_tag(source.refs)
    return dataclasses.replace(plan, snapshot=snapshot, keeps_snapshot=keeps, objects=tag)


def _first_names(expr) -> set[str]:
    """The first segment of every field path in ``expr``."""
    found: set[str] = set()

    def visit(node):
        if isinstance(node, a.Ident) and node.name and isinstance(node.name[0], str):
            found.add(node.name[0])
        return node

    if expr is not None:
        transform(expr, visit)
    return found


def _mentions_comments(expr) -> bool:
    return "comments" in _first_names(expr)


def references_comments(query: a.Query) -> bool:
    """Whether a clause other than the select list reads ``comments``, directly or through
    a select alias whose expression reads it (``len(comments) as n | final_filter: n > 0``)."""
    exprs = [query.filter, query.span_filter, query.trace_filter, query.final_filter]
    exprs += [item.expr for item in query.sort or ()]
    exprs += [item.expr for item in (*(query.dimensions or ()), *(query.measures or ()))]
    exprs += [item.expr for item in query.unpivot or ()]
    exprs += [item.expr for item in query.pivot or ()]
    names = {"comments"}
    names.update(
        item.alias
        for item in query.select or ()
        if isinstance(item, a.Aliased) and item.alias and _mentions_comments(item.expr)
    )
    return any(_first_names(e) & names for e in exprs)


def _outputs_comments(query: a.Query) -> bool:
    for item in query.select or ():
        if isinstance(item, a.Star) or _mentions_comments(getattr(item, "expr", None)):
            return True
    return False


def _limit(query: a.Query) -> int:
    if query.limit is None:
        return DEFAULT_LIMIT
    if isinstance(query.limit, bool) or not isinstance(query.limit, int) or query.limit < 0:
        raise QueryError("limit must be a non-negative integer")
    if query.limit > MAX_LIMIT:
        raise QueryError(f"limit must be at most {MAX_LIMIT}")
    return query.limit


# -- span filters -------------------------------------------------------------------------------


def transform(node, fn):
    """Rebuild an expression tree bottom-up, replacing each node by ``fn(node)``."""
    if isinstance(node, a.Expr):
        changes = {}
        for f in dataclasses.fields(node):
            if f.name == "loc":
                continue
            value = getattr(node, f.name)
            new = _transform_value(value, fn)
            if new is not value:
                changes[f.name] = new
        if changes:
            node = dataclasses.replace(node, **changes)
        return fn(node)
    return node


def _transform_value(value, fn):
    if isinstance(value, a.Expr):
        return transform(value, fn)
    if isinstance(value, tuple):
        items = tuple(_transform_value(v, fn) for v in value)
        return value if all(x is y for x, y in zip(items, value, strict=True)) else items
    return value


def _and_terms(expr: a.Expr | None) -> list[a.Expr]:
    if expr is None:
        return []
    if isinstance(expr, a.Logical) and expr.op == "and":
        return [t for child in expr.children for t in _and_terms(child)]
    return [expr]


def _conjoin(terms: list[a.Expr]) -> a.Expr | None:
    if not terms:
        return None
    return terms[0] if len(terms) == 1 else a.Logical(op="and", children=tuple(terms))


@dataclass
class _Filters:
    """A query's filters split for trace shapes: ``trace`` selects traces (a trace matches
    when one of its spans satisfies it), ``spans`` picks which spans of those traces are
    returned, and ``windows`` are the ANY_SPAN terms, each true on every span of a trace in
    which some span satisfies it (on every shape: on ``spans``, ``trace`` is the filter of
    the spans, and ``NOT ANY_SPAN(x)`` keeps the spans of the traces where no span has x)."""

    trace: a.Expr | None
    spans: a.Expr | None
    windows: list[tuple[str, a.Expr]]


def split_filters(query: a.Query, trace_shape: bool) -> _Filters:
    windows: list[tuple[str, a.Expr]] = []
    span_terms: list[a.Expr] = []
    trace_terms: list[a.Expr] = []

    def lift_any_span(node, clause: str | None = None):
        if isinstance(node, a.SpanFilter) and node.op == "singlespanfilter":
            name = f"__any_span_{len(windows) + 1}"
            windows.append((name, node.expr))
            return a.Ident(name=(name,), loc=node.loc)
        if isinstance(node, a.SpanFilter) and clause is not None:
            raise QueryError.at(
                f"FILTER_SPANS(...) belongs in filter: (SQL WHERE), not in {clause}:"
                " (span_filter: x returns only the spans matching x; write x)",
                node,
            )
        if isinstance(node, a.SpanFilter):
            raise QueryError.at(
                "FILTER_SPANS(...) must stand alone or be joined by AND at the top of the filter",
                node,
            )
        return node

    for term in _and_terms(query.filter):
        if isinstance(term, a.SpanFilter) and term.op == "matchingspansfilter":
            inner = transform(term.expr, lift_any_span)
            trace_terms.append(inner)
            span_terms.append(inner)
        else:
            trace_terms.append(transform(term, lift_any_span))
    if query.trace_filter is not None:
        lift = functools.partial(lift_any_span, clause="trace_filter")
        trace_terms.append(transform(query.trace_filter, lift))
    if query.span_filter is not None:
        span = transform(query.span_filter, functools.partial(lift_any_span, clause="span_filter"))
        span_terms.append(span)
        if not trace_shape:
            trace_terms.append(span)
    return _Filters(_conjoin(trace_terms), _conjoin(span_terms), windows)


# -- the shapes ---------------------------------------------------------------------------------


class _Planner:
    def __init__(self, compiler, query, source, base, columns, tz_offset, limit, cursor):
        self.c = compiler
        self.q = query
        self.source = source
        self.base = base
        self.columns = columns
        self.tz = tz_offset
        self.limit = limit
        self.cursor = cursor
        self.version: int | None = None
        self.late_comments = False
        self.relation = None  # window column -> the span relation read through that window
        self.org_id = ""
        # The final filter selects traces (see _passing_traces): on the traces shape, and on
        # the summary shape when it aggregates spans without measures.
        self.final_traces = False

    def _with_late_comments(self, rows_sql: str) -> tuple[str, str]:
        """A WITH prefix materialising ``rows_sql`` as ``page_rows`` and the relation of those
        rows with their comments attached (when the output shows comments)."""
        prefix = f"WITH page_rows AS MATERIALIZED ({rows_sql}) "
        if not self.late_comments:
            return prefix, "page_rows"
        return prefix, with_comments("page_rows", self.source.refs, self.version)

    def sql(self, expression: exp.Expression) -> str:
        return self.c.sql(expression)

    def scope(self, extra: dict | None = None, columns: dict | None = None) -> Scope:
        return Scope({**(columns or self.columns), **(extra or {})}, table="e", tz_offset=self.tz)

    def _sample_predicate(self, key_column: str) -> str | None:
        sample = self.q.sample
        if sample is None or sample.kind != "rate":
            return None
        if not 0 <= sample.value <= 1:
            raise QueryError("a sample rate must be between 0 and 1 (0% to 100%)")
        threshold = int(sample.value * 1_000_000)
        seed = exp.Literal.string(str(sample.seed or 0)).sql(dialect="duckdb")
        return f"(hash(e.{key_column} || {seed}) % 1000000) < {threshold}"

    def _count_sample(self, key_column: str) -> tuple[str, int] | None:
        sample = self.q.sample
        if sample is None or sample.kind != "count":
            return None
        if isinstance(sample.value, bool) or not isinstance(sample.value, int) or sample.value < 1:
            raise QueryError("a sample count must be a positive integer")
        seed = exp.Literal.string(str(sample.seed or 0)).sql(dialect="duckdb")
        # A count beyond any table (DuckDB's LIMIT takes 64 bits) is every row, as this many.
        return f"hash(e.{key_column} || {seed})", min(sample.value, 2**63 - 1)

    def _windows_sql(self, windows, scope) -> str:
        if not windows:
            return f"(SELECT * FROM {self.base})"
        parts = [
            f"bool_or(coalesce({self.sql(self.c.compile_filter(expr, scope, self.q))}, false))"
            f" OVER (PARTITION BY e.root_span_id) AS {name}"
            for name, expr in windows
        ]
        return f"(SELECT e.*, {', '.join(parts)} FROM {self.base} e)"

    def _order(self, proj, default: str, scope: Scope, query: a.Query) -> tuple[str, bool]:
        """ORDER BY text and whether it is the default (keyset-pageable) order."""
        if query.sort:
            keys = [self.sql(k) for k in self.c.compile_sort(query, scope)]
            if proj.aggregate:
                # Groups tied on the sort keys come in the order of their dimensions (one
                # group each), so offset cursors neither skip nor repeat groups.
                keys += [self.sql(g) for g in proj.group_by]
            else:
                # Rows tied on the sort keys come in _pagination_key order (unique), so a
                # page is the same each time it is asked for, and offset cursors neither
                # skip nor repeat rows.
                direction = "DESC" if query.sort[-1].dir == "desc" else "ASC"
                keys.append(f"e._pagination_key {direction}")
                keys += [f"e.{u}" for u in self._unpivot_ids()]
            return ", ".join(keys), False
        if proj.aggregate:
            # Without dimensions there is one row: order by its first column (DuckDB refuses
            # ORDER BY NULL).
            return ", ".join(self.sql(g) for g in proj.group_by) or "1", False
        if self.q.unpivot:
            # A span gives several rows, which share its _pagination_key: the cursor counts
            # rows, and the rows of a span come in the order of their elements.
            return ", ".join([default, *(f"e.{u}" for u in self._unpivot_ids())]), False
        return default, True

    def _unpivot_ids(self) -> list[str]:
        """The hidden columns that number the elements each ``unpivot`` item expands."""
        return [f"__unpivot_{index}" for index in range(1, len(self.q.unpivot or ()) + 1)]

    def _unpivot(self) -> tuple[str, dict[str, Column]]:
        """The span relation with each ``unpivot`` item expanded into rows: an object gives
        (key, value) rows, an array one row per element. Spans with an empty or missing
        value drop out, as with SQL UNNEST."""
        if not self.q.unpivot:
            return self.base, {}
        source = self.base
        extra: dict[str, Column] = {}
        named: set[str] = set()
        for item in self.q.unpivot:
            for name in item.alias if isinstance(item.alias, tuple) else (item.alias,):
                if name in named:  # the later would hide the earlier
                    raise QueryError.at(f"unpivot gives the name {name!r} twice", item.expr)
                named.add(name)
        for index, item in enumerate(self.q.unpivot, start=1):
            scope = self.scope(extra)
            value = self.c.compile_typed(item.expr, scope)
            if value.type is T.ARRAY:
                json_sql = f"to_json({self.sql(value.sql)})"
            elif value.type is T.JSON:
                json_sql = self.sql(value.sql)
            else:
                raise QueryError.at("unpivot takes an object or an array field", item.expr)
            # The user's names are bound in the scope, not in SQL: DuckDB matches names
            # case-insensitively, so `tags as Tags` would read the span's own column.
            each, hidden = f"u{index}", f"__unpivot_{index}"
            if value.type is T.ARRAY:  # a typed list's elements are strings (`tags`)
                element, element_type = f"{each}.value->>'$'", "VARCHAR"
            else:  # a JSON null element is NULL, as a null read through a path is
                element, element_type = f"NULLIF({each}.value, 'null'::JSON)", "JSON"
            value_column = Column(element_type, exp.column(f"{hidden}_value", "e", quoted=True))
            columns = f"{element} AS {hidden}_value, {each}.id AS {hidden}"
            if isinstance(item.alias, tuple):
                key_name, value_name = item.alias
                columns += f", {each}.key AS {hidden}_key"
                key_column = Column("VARCHAR", exp.column(f"{hidden}_key", "e", quoted=True))
                extra.update({key_name: key_column, value_name: value_column})
            else:
                extra[item.alias] = value_column
            source = f"(SELECT e.*, {columns} FROM {source} e, json_each({json_sql}) {each})"
        return source, extra

    def _any_span_traces(self, windows) -> tuple[list[str], dict[str, Column]]:
        """For the spans shape: each ANY_SPAN term as a CTE of the traces that have a span
        satisfying it (over every span of the objects, whatever the page reads), and a
        column that is true on the spans of those traces, false on the others."""
        ctes: list[str] = []
        columns: dict[str, Column] = {}
        scope = self.scope()
        for name, expr in windows:
            condition = self.sql(self.c.compile_filter(expr, scope, self.q))
            ctes.append(
                f"{name} AS MATERIALIZED (SELECT DISTINCT e.root_span_id FROM {self.base} e"
                f" WHERE {condition})"
            )
            traces = exp.select("root_span_id").from_(name).subquery()
            member = exp.In(this=exp.column("root_span_id", "e"), query=traces)
            columns[name] = Column("BOOLEAN", exp.Coalesce(this=member, expressions=[exp.false()]))
        return ctes, columns

    def _span_filter_sql(self, filters: _Filters) -> str:
        """SQL of a trace shape's span filter (``span_filter:``, ``FILTER_SPANS(x)``) over
        the plain span relation ``e``: an ANY_SPAN term in it is true on the spans of the
        traces that have a span satisfying it (among every span of the objects), as in the
        filter that selects the traces (it was an unknown field, its internal name)."""
        scope = self.scope()
        columns = {
            name: Column("BOOLEAN", exp.column(name, quoted=True)) for name, _ in filters.windows
        }
        sql = self.sql(self.c.compile_filter(filters.spans, self.scope(columns), self.q))
        for name, expr in filters.windows:
            condition = self.sql(self.c.compile_filter(expr, scope, self.q))
            traces = f"SELECT e.root_span_id FROM {self.base} e WHERE {condition}"
            sql = sql.replace(f'"{name}"', f"COALESCE(e.root_span_id IN ({traces}), FALSE)")
        return sql

    def spans(self) -> Plan:
        filters = split_filters(self.q, trace_shape=False)
        ctes, any_span = self._any_span_traces(filters.windows)
        plan = self._spans(filters, any_span)
        if not ctes:
            return plan
        moved = plan.moved
        if moved is not None:
            moved = dataclasses.replace(moved, sql=_with_ctes(ctes, moved.sql))
        return dataclasses.replace(plan, sql=_with_ctes(ctes, plan.sql), moved=moved)

    def _spans(self, filters: _Filters, any_span: dict[str, Column]) -> Plan:
        base, unpivoted = self._unpivot()
        scope = self.scope(unpivoted)
        query, pivots = self._without_pivot(scope)
        proj = self.c.compile_projection(query, scope)
        # (checked before the ORDER BY is compiled, whose errors are about plain queries)
        pivot_sort = self._pivot_sort(query, scope) if pivots else []
        where = []
        condition = None
        if filters.trace is not None:
            # (the ANY_SPAN columns are seen by the filter only, not by select: *)
            filter_scope = self.scope({**unpivoted, **any_span})
            condition = self.c.compile_filter(filters.trace, filter_scope, self.q)
        having = self.c.compile_final_filter(query, scope)
        shared = []
        if proj.aggregate and not pivots and not self._count_sample("id"):
            # Fields of one JSON column that the aggregates read share one parse per row.
            shared = self.c.share_json_reads([c.expr for c in proj.columns] + [having], "e")
        # A MATCH that every row must pass, narrowed to the index's candidates: the rows
        # are read by id (a few hundred at most, so no windows below), and the condition
        # need not list the ids again (each IN list costs DuckDB ~1 ms to plan).
        candidates = None
        if base is self.base and self.version is None:
            listed = index_candidates(condition)
            if listed is not None:
                candidates = listed.meta[CANDIDATES]
                condition = condition.transform(
                    lambda node: exp.true() if node is listed else node, copy=False
                )
        # A condition on the row's own columns goes into the scan of live (below).
        row_filter = None
        if condition is not None:
            if base is self.base and self.version is None and _own_columns(condition):
                row_filter = self.sql(_one_term_per_column(condition))
            else:
                where.append(self.sql(condition))
        if having is not None and not proj.aggregate:
            # Without aggregates, final_filter filters the output rows (aliases are inlined).
            where.append(self.sql(having))
            having = None
        sample = self._sample_predicate("id")
        if sample:
            where.append(sample)
        # _pagination_key is 'p' + the row's _xact_id + a sequence number, so sorting by
        # _xact_id first gives the same order, and DuckDB prunes row groups on the typed
        # column (its zone maps keep only a prefix of strings, the same for every key).
        order, keyset = self._order(proj, "e._xact_id DESC, e._pagination_key DESC", scope, query)
        paging, offset = self._paging(keyset and not proj.aggregate)
        upper_xact = None
        after = []  # the cursor's condition: rows after the previous page
        if paging == "key" and self.cursor and self.cursor.key is not None:
            after.append(f"e._pagination_key < {_lit(self.cursor.key)}")
            upper_xact = key_xact(self.cursor.key)
            if upper_xact is not None:
                after.append(f"e._xact_id <= {_lit(upper_xact)}")
        select = [f"{self.sql(c.expr)} AS {_q(c.name)}" for c in proj.columns]
        # (the sort keys travel through the pivot as hidden columns)
        select += [f"{self.sql(k.this)} AS __sort_{i}" for i, k in enumerate(pivot_sort, 1)]
        key = "e._pagination_key" if paging == "key" else "NULL"
        count = self._count_sample("id")
        window = None
        # A later page keeps the place of rows written since the first page (MovedRows):
        # they are read from the relation of the rows written since, on the same conditions
        # (the cursor's condition is on their keys then).
        written_since, moved_where = None, list(where)
        snapshot = self.cursor.snapshot if paging == "key" and self.cursor else None
        if snapshot is not None and base is self.base and self.version is None and not count:
            written_since = self.relation(None, row_filter, candidates, since_xact=snapshot + 1)
        if base is self.base and not pivots and not proj.aggregate and offset == 0:
            window = None if candidates else self._window(query, upper_xact)
        if window is not None or row_filter is not None or candidates is not None:
            base = self.relation(window.column if window else None, row_filter, candidates)
        source = base
        if shared:
            # The filter goes inside, so that only the rows it keeps are read (DuckDB does not
            # push a filter below a projection that computes columns).
            extra = ", ".join(self.sql(c) for c in shared)
            inner_where = " WHERE " + " AND ".join(where) if where else ""
            source = f"(SELECT e.*, {extra} FROM {base} e{inner_where})"
            where = []
        if count:
            # The sample is drawn from every filtered row, the page (after the cursor) from
            # the sample.
            hashed, n = count
            inner_where = " AND ".join(where) if where else "true"
            source = (
                f"(SELECT * FROM {base} e WHERE {inner_where}"
                f" ORDER BY {hashed}, e._pagination_key LIMIT {n})"
            )
            where = []
        where += after
        # With comments joined late, the page is chosen on the lean relation (all its
        # columns kept), and the output is computed once comments are attached to its rows.
        late = self.late_comments and not proj.aggregate
        head = "e.*" if late else ", ".join(select)
        sql = f"SELECT {head}"
        if not proj.aggregate:
            sql += f", {key} AS __key"
        sql += f" FROM {source} e"
        if where:
            sql += " WHERE " + " AND ".join(where)
        if proj.group_by:
            sql += " GROUP BY " + ", ".join(self.sql(g) for g in proj.group_by)
        if having is not None:
            sql += " HAVING " + self.sql(having)
        if pivots:
            return self._pivoted(sql, proj, pivots, offset, pivot_sort)
        sql += f" ORDER BY {order} LIMIT {self.limit}"
        if offset:
            sql += f" OFFSET {offset}"
        if proj.aggregate:
            sql = f"SELECT *, NULL AS __key FROM ({sql})"
        elif late:
            prefix, relation = self._with_late_comments(sql)
            sql = (
                f"{prefix}SELECT {', '.join(select)}, e.__key AS __key FROM {relation} e"
                f" ORDER BY {order}"
            )
        columns = tuple(c.name for c in proj.columns)
        moved = None
        if written_since is not None:
            moved = self._moved_rows(written_since, moved_where, select, snapshot)
        return Plan(sql, columns, self.limit, paging, offset, window=window, moved=moved)

    def _moved_rows(self, base: str, where: list[str], select: list[str], snapshot: int):
        """The rows of this later page of spans that were written again since the first
        page's snapshot (see :class:`MovedRows`): ``base`` is the page's relation of the rows
        written since, ``where`` its conditions, ``select`` its output columns."""
        refs, after = self.source.refs, self.cursor.key
        keys = moved_row_keys(refs, self.org_id, snapshot, after)
        source = f"""(SELECT e.*, mv.__old_key FROM {base} e JOIN ({keys}) mv
            ON mv.object_id = e.__object_id AND mv.id = e.id)"""
        late = self.late_comments
        head = "e.*" if late else ", ".join(select)
        sql = f"SELECT {head}, e.__old_key AS __key FROM {source} e"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += f" ORDER BY e.__old_key DESC LIMIT {self.limit}"
        if late:
            prefix, relation = self._with_late_comments(sql)
            sql = (
                f"{prefix}SELECT {', '.join(select)}, e.__key AS __key FROM {relation} e"
                " ORDER BY e.__key DESC"
            )
        return MovedRows(moved_rows_bound(refs, snapshot), sql)

    def _window(self, query: a.Query, upper_xact: int | None) -> WindowPlan | None:
        """How this page runs in windows of its sort column (see query.windows), or None.

        Only a page whose rows each stand on their own qualifies: live rows (a pinned
        version picks each row's version first), no sampling, no MATCH narrowed by the
        full-text index (its candidates bound the scan already), and an order that is the
        default or one sort on ``created`` / ``_xact_id`` / ``_pagination_key`` that no
        output column shadows."""
        if self.version is not None or query.sample is not None or query.unpivot:
            return None
        if getattr(self.c, "narrowed", False):
            return None
        if not query.sort:
            column, descending = "_xact_id", True
        else:
            if len(query.sort) != 1:
                return None
            item = query.sort[0]
            name = item.expr.name if isinstance(item.expr, a.Ident) else ()
            if len(name) != 1 or name[0] not in ("created", "_xact_id", "_pagination_key"):
                return None
            if _shadowed(query, name[0]):
                return None
            column = "created" if name[0] == "created" else "_xact_id"
            descending = item.dir == "desc"
        stats = window_stats(self.source.refs, self.org_id, column, upper_xact)
        return WindowPlan(column, descending, stats)

    def _without_pivot(self, scope: Scope) -> tuple[a.Query, list[str]]:
        """For ``pivot``: the query with each pivot column added as a hidden dimension
        (``__pivot_<n>``), and those names. A pivot column is the field whose values become
        column-name prefixes (``gpt-4_avg_score``); the measures are what is spread."""
        if not self.q.pivot:
            return self.q, []
        if not self.q.measures:
            raise QueryError.at(
                "pivot needs measures (and usually dimensions) to spread",
                self.q.pivot[0].expr,
            )
        measure_names = {m.alias for m in self.q.measures}
        names = []
        dims = list(self.q.dimensions or ())
        for index, item in enumerate(self.q.pivot, start=1):
            expr = item.expr
            if isinstance(expr, a.Ident) and len(expr.name) == 1 and expr.name[0] in measure_names:
                raise QueryError.at(
                    f"pivot names the column whose values become columns (e.g. pivot: "
                    f"metadata.model), not a measure like {expr.name[0]!r}: every measure "
                    "is spread",
                    expr,
                )
            name = f"{PIVOT_DIMENSION}{index}"
            dims.append(a.Aliased(expr=expr, alias=name))
            names.append(name)
        return dataclasses.replace(self.q, dimensions=tuple(dims), pivot=None), names

    def _pivot_sort(self, query: a.Query, scope: Scope) -> list[exp.Ordered]:
        """The sort keys of a pivot, compiled for its grouped rows. A pivot sorts by its
        dimensions (by name, position or expression): each measure is spread over one
        column per pivot value, and the pivot column's values are in the column names.
        A position counts the columns of the pivot's answer (in SQL too: the parser leaves
        ``ORDER BY 2`` a position), as ``expr_<n>`` does: the dimensions, without the pivot
        column, then the pivoted measures."""
        dims = self.q.dimensions or ()
        for item in self.q.sort or ():
            expr = item.expr
            position = expr.value if isinstance(expr, a.Literal) else None
            if type(position) is int:
                if 1 <= position <= len(dims):
                    continue
                where = f"positions 1 to {len(dims)}" if len(dims) > 1 else "position 1"
                raise QueryError.at(
                    f"a pivot is sorted by its dimensions, {where} of its answer (which has"
                    f" no column for the pivot column): {position} is not one"
                    if dims
                    else "a pivot is sorted by its dimensions, and this one has none",
                    expr,
                )
            if isinstance(expr, a.Ident) and len(expr.name) == 1:
                if any(d.alias == expr.name[0] for d in dims):
                    continue
                name = expr.name[0]
                if _EXPR_NAME.fullmatch(str(name)) and name not in scope.columns:
                    if name not in self.c.output_names(query, scope):
                        # (without the pivot its dimensions' numbers would differ: the
                        # pivot column is not a column of the answer)
                        raise QueryError.at(
                            f"'{name}' names no column of this pivot's answer (its columns"
                            " are numbered without the pivot column): sort by a dimension's"
                            " position or give it an alias",
                            expr,
                        )
                    target = self.c.sort_target(expr, query, scope)  # an unaliased dimension?
                    if any(d.expr == target for d in dims):
                        continue
            if any(d.expr == expr for d in dims):
                continue
            raise QueryError.at(
                "a pivot is sorted by its dimensions (the measures are spread over a column "
                "per pivot value)",
                expr,
            )
        return self.c.compile_sort(query, scope) if self.q.sort else []

    def _pivoted(
        self, aggregate_sql: str, proj, pivots: list[str], offset: int, sort: list[exp.Ordered]
    ) -> Plan:
        """Spread the measures over the pivot columns' values with DuckDB's PIVOT: columns
        are named ``<value>_<measure>`` (in the SQL ``__pv_<hex of value>_<measure>``). Rows
        come in the order of the sort keys (the hidden ``__sort_<n>`` columns), then of the
        dimensions."""
        measures = [c.name for c in proj.columns if c.value.aggregate]
        dims = [c.name for c in proj.columns if c.name not in pivots and c.name not in measures]
        hidden = [f"__sort_{i}" for i in range(1, len(sort) + 1)]
        # DuckDB names columns case-insensitively (values `a` and `A` would give `a_n` and
        # `A_n_1`): each value travels hex-encoded (a null as N, apart from the string
        # "null") and pivot_output_name restores it. A JSON value that is not a string
        # has PIVOT_JSON_MARK after its text's hex, so that the string "1" and the number 1
        # (two groups) are two columns, not one that kept the first group's measures.
        json = {c.name for c in proj.columns if c.name in pivots and c.value.type is T.JSON}

        def key(p: str) -> str:
            value = f"{_q(p)}::JSON"
            text = f"CASE WHEN json_valid({_q(p)}::VARCHAR) THEN {value}->>'$'"
            text += f" ELSE {_q(p)}::VARCHAR END"
            if p in json:
                other = f"hex({value}::VARCHAR) || {_lit(PIVOT_JSON_MARK)}"
                text = f"CASE WHEN json_type({value}) = 'VARCHAR' THEN hex({text}) ELSE {other} END"
            else:
                text = f"hex({text})"
            return f"coalesce({text}, {_lit(PIVOT_NULL_KEY)})"

        keys = " || '.' || ".join(key(p) for p in pivots)
        keys = f"{_lit(PIVOT_PREFIX)} || {keys}"
        using = ", ".join(f"first({_q(m)}) AS {_q(m)}" for m in measures)
        inner = f"SELECT * EXCLUDE ({', '.join(_q(p) for p in pivots)}), {keys} AS __pivot_key"
        # Without dimensions the rows are one group of a constant: over no rows, a PIVOT
        # without GROUP BY has no column at all, which DuckDB refuses ("SELECT list is
        # empty"), while one grouped by the constant is no rows, as with dimensions.
        group = [*dims, *hidden] or ["__pivot_all"]
        if group == ["__pivot_all"]:
            inner += ", 1 AS __pivot_all"
        inner += f" FROM ({aggregate_sql})"
        sql = f"PIVOT ({inner}) ON __pivot_key USING {using}"
        sql += " GROUP BY " + ", ".join(_q(d) for d in group)
        order = [
            f"{h} {'DESC' if key.args.get('desc') else 'ASC'} NULLS LAST"
            for h, key in zip(hidden, sort, strict=True)
        ]
        order = ", ".join(order + [_q(d) for d in dims]) or "1"
        excluded = [h for h in group if h not in dims]
        exclude = f" EXCLUDE ({', '.join(excluded)})" if excluded else ""
        sql = f"SELECT *{exclude}, NULL AS __key FROM ({sql}) ORDER BY {order} LIMIT {self.limit}"
        if offset:
            sql += f" OFFSET {offset}"
        return Plan(sql, None, self.limit, "offset", offset)

    def _paging(self, keyset: bool) -> tuple[str, int]:
        if self.cursor is None:
            return ("key" if keyset else "offset"), 0
        if self.cursor.key is not None:
            if not keyset:
                first = self.q.sort[0].expr if self.q.sort else None
                raise QueryError.at(
                    "this cursor came from a query without sort; it cannot page a sorted one",
                    first,
                )
            return "key", 0
        return "offset", self.cursor.offset or 0

    def _trace_set(
        self,
        filters: _Filters,
        after: str | None = None,
        top: int | None = None,
        among: str | None = None,
    ) -> tuple[str, str]:
        """SQL of the traces the query selects (root_span_id, __key = the key of the trace's
        newest span, first_xact), those older than the key ``after`` when given, and the
        ORDER BY text that puts them newest first. A rate sample is applied; a count sample
        is the caller's (it draws from every trace, before any cursor). With ``top``, the
        caller keeps only the first ``top`` of them in that order, and the SQL may leave out
        traces that cannot be among those. With ``among`` (SQL of root_span_ids: a count
        sample), only those traces."""
        scope = self.scope({name: "BOOLEAN" for name, _ in filters.windows})
        source = self._windows_sql(filters.windows, scope)
        where = []
        if filters.trace is not None:
            where.append(self.sql(self.c.compile_filter(filters.trace, scope, self.q)))
        sample = self._sample_predicate("root_span_id")
        if sample:
            where.append(sample)
        matched = None
        if where:
            matched = f"SELECT DISTINCT e.root_span_id FROM {source} e WHERE {' AND '.join(where)}"
        matched = self._kept_traces(filters, source, scope, matched)
        kind = _lit(self.source.object_type.value)
        objects = ", ".join(_lit(r.object_id) for r in self.source.refs)
        # The trace shapes count a trace by its root span: a trace whose root left it
        # (deleted, or replaced into another trace) is no summary row and no trace of the
        # traces shape; its spans stay rows of the spans shape.
        rooted = self.source.shape in ("summary", "traces")
        if self.version is not None:
            matched = matched or f"SELECT DISTINCT e.root_span_id FROM {source} e"
            sql = f"""SELECT e.root_span_id, max(e._pagination_key) AS __key,
                min(e._xact_id) AS first_xact FROM {self.base} e
                WHERE e.root_span_id IN ({matched})"""
            if among is not None:
                sql += f" AND e.root_span_id IN ({among})"
            if rooted:
                sql += f""" AND e.root_span_id NOT IN (SELECT t.root_span_id FROM traces t
                    WHERE t.object_type = {kind} AND t.object_id IN ({objects})
                      AND t.root_left_xact BETWEEN 1 AND {_lit(self.version)})"""
            sql += " GROUP BY e.root_span_id"
            if after is not None:
                sql += f" HAVING max(e._pagination_key) < {_lit(after)}"
            return sql, "__key DESC"
        # The per-trace index knows each trace's newest key and first xact: no need to
        # aggregate every span to find the newest traces.
        where = [f"t.object_type = {kind}", f"t.object_id IN ({objects})"]
        if rooted:
            where.append("coalesce(t.root_left_xact, 0) = 0")
        if matched is not None:
            where.append(f"t.root_span_id IN ({matched})")
        if among is not None:
            where.append(f"t.root_span_id IN ({among})")
        snapshot = self.cursor.snapshot if after is not None and self.cursor else None
        if len(self.source.refs) > 1:
            return self._merged_trace_set(where, after, snapshot)
        moved = None
        if snapshot is not None:
            # Traces written since the first page's snapshot keep their place as of then
            # (their key then, from history); traces begun since are not listed.
            moved = [*where, f"t.last_xact > {_lit(snapshot)}", f"t.first_xact <= {_lit(snapshot)}"]
        if after is not None:
            where.append(f"t.last_key < {_lit(after)}")
            upper = key_xact(after)
            if snapshot is not None:
                upper = snapshot if upper is None else min(upper, snapshot)
            if upper is not None:
                where.append(f"t.last_xact <= {_lit(upper)}")
        if top and matched is None and among is None:  # (the bound would run it twice)
            where.append(newest_traces_bound(" AND ".join(where), top - 1))
        sql = f"""SELECT t.root_span_id, t.last_key AS __key, t.first_xact FROM traces t
            WHERE {" AND ".join(where)}"""
        if moved is None:
            # last_xact first: the same order as last_key, on a column DuckDB prunes by.
            return sql, "t.last_xact DESC, t.last_key DESC"
        sql = f"""SELECT t.root_span_id, t.last_key AS __key, t.first_xact, t.last_xact
            FROM traces t WHERE {" AND ".join(where)}
            UNION ALL
            SELECT h.root_span_id, max(h._pagination_key), any_value(t.first_xact),
                max(h._xact_id)
            FROM traces t JOIN history h ON h.object_type = t.object_type
                AND h.object_id = t.object_id AND h.root_span_id = t.root_span_id
            WHERE {" AND ".join(moved)} AND NOT h._object_delete
                AND h._xact_id BETWEEN t.first_xact AND {_lit(snapshot)}
            GROUP BY h.object_type, h.object_id, h.root_span_id
            HAVING max(h._pagination_key) < {_lit(after)}"""
        sql = f"SELECT t.root_span_id, t.__key, t.first_xact, t.last_xact FROM ({sql}) t"
        return sql, "t.last_xact DESC, t.__key DESC"

    def _merged_trace_set(
        self, where: list[str], after: str | None, snapshot: int | None
    ) -> tuple[str, str]:
        """``_trace_set`` of a query over several objects, from the per-trace index rows
        ``where`` selects. A trace is its root_span_id across the objects, as everywhere else
        in a query (its filters, its summary, a pinned version): the index's rows of one
        root_span_id in two objects (two datasets holding rows of the same id) are one trace,
        listed once (it came once per object, each time with the spans of both). Its key is
        the newest over its parts, each part as of the cursor's snapshot (a part written
        since takes its key then, from history; a part begun since is not there yet); the
        cursor's condition applies to the whole trace, not to each part."""
        parts = f"""SELECT t.root_span_id, t.last_key AS __key, t.first_xact, t.last_xact
            FROM traces t WHERE {" AND ".join(where)}"""
        if snapshot is not None:
            snap = _lit(snapshot)
            parts += f""" AND t.last_xact <= {snap}
                UNION ALL
                SELECT h.root_span_id, max(h._pagination_key), any_value(t.first_xact),
                    max(h._xact_id)
                FROM traces t JOIN history h ON h.object_type = t.object_type
                    AND h.object_id = t.object_id AND h.root_span_id = t.root_span_id
                WHERE {" AND ".join(where)} AND t.last_xact > {snap} AND t.first_xact <= {snap}
                    AND NOT h._object_delete AND h._xact_id BETWEEN t.first_xact AND {snap}
                GROUP BY h.object_type, h.object_id, h.root_span_id"""
        sql = f"""SELECT t.root_span_id, max(t.__key) AS __key, min(t.first_xact) AS first_xact,
                max(t.last_xact) AS last_xact
            FROM ({parts}) t GROUP BY t.root_span_id"""
        if after is not None:
            sql += f" HAVING max(t.__key) < {_lit(after)}"
        return f"SELECT * FROM ({sql}) t", "t.last_xact DESC, t.__key DESC"

    def _kept_traces(self, filters: _Filters, source: str, scope: Scope, matched: str | None):
        """SQL of the traces among ``matched`` (SQL of root_span_ids; None: every trace of
        ``source``) that show on a page: those with a span the span filter keeps (a trace
        whose spans it all removes has no rows: it must not take a place on the page), and
        that pass a final filter applied to traces (``self.final_traces``)."""
        if not self.final_traces and (filters.spans is None or self.q.span_filter is None):
            # Without span_filter every span term is also a trace term: a matched trace has a
            # span that satisfies them all.
            return matched
        where = []
        if matched is not None:
            where.append(f"e.root_span_id IN ({matched})")
        if filters.spans is not None:
            where.append(self.sql(self.c.compile_filter(filters.spans, scope, self.q)))
        clause = " WHERE " + " AND ".join(where) if where else ""
        if not self.final_traces:
            return f"SELECT DISTINCT e.root_span_id FROM {source} e{clause}"
        whole = None
        if filters.spans is not None:  # (the root span's fields, kept or not)
            whole = f"(SELECT e.* FROM {source} e{' WHERE ' + where[0] if matched else ''})"
        return self._passing_traces(f"(SELECT e.* FROM {source} e{clause})", whole)

    def _passing_traces(self, spans: str, whole: str | None = None) -> str:
        """SQL of the traces of ``spans`` (SQL) that the final filter keeps. With an
        aggregate it is computed per trace over the trace's spans (``avg(scores.x) > 0.8``);
        without, it reads the trace's summary values, as on the summary shape (the root
        span's fields from ``whole``, every span of the traces, when ``spans`` are those a
        span filter kept)."""
        expr = self.q.final_filter
        if self.c.has_aggregate(expr):
            keys = (a.Ident(name=("root_span_id",)),)
            having = self.sql(self.c.compile_group_filter(expr, self.scope(), keys))
            return f"SELECT e.root_span_id FROM {spans} e GROUP BY e.root_span_id HAVING {having}"
        columns = summary_scope_columns(self.source.object_type, self.q.preview_length)
        query = dataclasses.replace(self.q, filter=None, span_filter=None, trace_filter=None)
        condition = self.c.compile_final_filter(query, self.scope(columns=columns))
        clause = f" WHERE {self.sql(condition)}"
        needed = _columns_read([], clause, columns)
        keys = _keys_read([condition])
        summary = summary_relation(spans, self.source.object_type, needed, keys, whole)
        return f"SELECT e.root_span_id FROM {summary} e{clause}"

    def _sampled_traces(self, filters: _Filters) -> str:
        """SQL of every trace the query selects, a count sample drawn (see _trace_set)."""
        traces, _ = self._trace_set(filters)
        count = self._count_sample("root_span_id")
        if not count:
            return traces
        hashed = count[0].replace("e.root_span_id", "s.root_span_id")
        begun = ""
        snapshot = self.cursor.snapshot if self.cursor and self.cursor.key is not None else None
        if snapshot is not None and self.version is None:
            # A later page draws from the traces there were at the first page: each trace of
            # its sample began by the snapshot (its newest), and leaving out traces that were
            # not drawn changes no draw, while traces begun since would push some out.
            begun = f" WHERE s.first_xact <= {_lit(snapshot)}"
        return f"SELECT * FROM ({traces}) s{begun} ORDER BY {hashed}, s.__key LIMIT {count[1]}"

    def _trace_page(self, filters: _Filters) -> tuple[str, str, int]:
        """SQL of the traces on this page, newest first (root_span_id, __key, first_xact),
        the paging mode and offset."""
        paging, offset = self._paging(keyset=True)
        after = self.cursor.key if self.cursor and self.cursor.key is not None else None
        if self._count_sample("root_span_id"):
            # The page is taken from the sample, which is drawn from every trace.
            sampled = self._sampled_traces(filters)
            if after is None:
                page = f"SELECT * FROM ({sampled}) s ORDER BY s.__key DESC LIMIT {self.limit}"
            else:
                # The sample's traces after the cursor, a trace written since the first page
                # at its place then (see _trace_set): its new key was ahead of the cursor.
                among = f"SELECT root_span_id FROM ({sampled})"
                page, order = self._trace_set(filters, after, among=among)
                page += f" ORDER BY {order} LIMIT {self.limit}"
        else:
            page, order = self._trace_set(filters, after, top=self.limit + offset)
            page += f" ORDER BY {order} LIMIT {self.limit}"
        if offset:
            page += f" OFFSET {offset}"
        return page, paging, offset

    def _sorted_trace_page(self, filters: _Filters, keys: list[str]) -> tuple[str, str, int]:
        """SQL of the traces on this page of a sorted traces query (root_span_id, __key,
        first_xact, __rank = the trace's place in the order), the paging mode and offset.
        Traces are ordered by the sort ``keys`` (SQL over the span alias ``e``) as their root
        span's values (the span flagged ``is_root``, else the trace's first), ties newest
        first; the cursor counts traces."""
        paging, offset = self._paging(keyset=False)
        order = ", ".join([*keys, "e.__key DESC"])
        fields = _columns_read([], f" ORDER BY {order}", self.columns) - {"root_span_id"}
        picked = "".join(f", {root_field(name, 'e')} AS {name}" for name in sorted(fields))
        roots = f"""SELECT e.root_span_id{picked} FROM {self.base} e
            WHERE e.root_span_id IN (SELECT root_span_id FROM selected) GROUP BY e.root_span_id"""
        ranked = f"""SELECT r.*, t.__key, t.first_xact FROM ({roots}) r
            JOIN selected t USING (root_span_id)"""
        top = f"SELECT e.* FROM ({ranked}) e ORDER BY {order} LIMIT {self.limit}"
        if offset:
            top += f" OFFSET {offset}"
        page = f"""WITH selected AS MATERIALIZED ({self._sampled_traces(filters)})
            SELECT e.root_span_id, e.__key, e.first_xact,
                row_number() OVER (ORDER BY {order}) AS __rank FROM ({top}) e"""
        return page, paging, offset

    def traces(self) -> Plan:
        filters = split_filters(self.q, trace_shape=True)
        self.final_traces = self.q.final_filter is not None
        scope = self.scope()
        proj = self.c.compile_projection(self.q, scope)
        if proj.aggregate:
            first = (self.q.dimensions or self.q.measures or ())[:1]
            raise QueryError.at(
                "dimensions and measures need the spans or summary shape"
                + (" (so do GROUP BY, DISTINCT and aggregates)" if self.q.syntax == "sql" else ""),
                first[0].expr if first else None,
            )
        keys = [self.sql(k) for k in self.c.compile_sort(self.q, scope)] if self.q.sort else []
        if keys:
            page, paging, offset = self._sorted_trace_page(filters, keys)
            order = ", ".join(["e.__rank", *keys, "e._pagination_key"])
            rank = ", p.__rank AS __rank"
        else:
            page, paging, offset = self._trace_page(filters)
            order = "e.__key DESC, e._pagination_key"
            rank = ""
        where = []
        if filters.spans is not None:
            where.append(self._span_filter_sql(filters))
        select = [f"{self.sql(c.expr)} AS {_q(c.name)}" for c in proj.columns]
        rows = (
            f"SELECT e.*, p.__key AS __key{rank} FROM {self.base} e"
            " JOIN page p USING (root_span_id)"
            " WHERE e._xact_id >= (SELECT min(first_xact) FROM page)"
        )
        if where:
            rows += " AND " + " AND ".join(where)
        prefix, relation = self._with_late_comments(rows)
        sql = (
            f"WITH page AS MATERIALIZED ({page}), {prefix.removeprefix('WITH ')}"
            f"SELECT {', '.join(select)}, e.__key AS __key FROM {relation} e ORDER BY {order}"
        )
        return Plan(
            sql, tuple(c.name for c in proj.columns), self.limit, paging, offset, shape="traces"
        )

    def summary(self) -> Plan:
        filters = split_filters(self.q, trace_shape=True)
        columns = summary_scope_columns(self.source.object_type, self.q.preview_length)
        scope = self.scope(columns=columns)
        query = dataclasses.replace(self.q, filter=None, span_filter=None, trace_filter=None)
        proj = self.c.compile_projection(query, scope)
        if (
            not proj.aggregate
            and query.final_filter
            and (self.c.has_aggregate(query.final_filter) or self._count_sample("root_span_id"))
        ):
            # An aggregate without measures is over each trace's spans: it selects traces.
            # So does a filter on the summary rows under a count sample, which is drawn
            # from the traces that pass it (as on the traces shape), not before it.
            self.final_traces = True
            query = dataclasses.replace(query, final_filter=None)
        having = self.c.compile_final_filter(query, scope)
        if not (self.q.sort or having is not None or proj.aggregate):
            # A newest-first page of rows is the summary of the newest traces.
            page, paging, offset = self._trace_page(filters)
            return self._summary_page(filters, proj, page, paging, offset, ranked=False)
        return self._ranked_summary(filters, proj, having, scope, query)

    def _ranked_summary(self, filters: _Filters, proj, having, scope, query) -> Plan:
        """A summary query with a sort, final_filter or grouping: it reads the summary rows
        of every selected trace, but only the columns its clauses read. Grouped, those rows
        are the answer; otherwise they rank the traces, and the page's traces get their
        whole rows."""
        order, keyset = self._order(proj, "e.__key DESC", scope, query)
        paging, offset = self._paging(keyset)
        where = []
        if having is not None and not proj.aggregate:
            where.append(self.sql(having))  # a filter on the summary rows
        if paging == "key" and self.cursor and self.cursor.key is not None:
            where.append(f"e.__key < {_lit(self.cursor.key)}")
        select = [f"{self.sql(c.expr)} AS {_q(c.name)}" for c in proj.columns]
        clauses = " WHERE " + " AND ".join(where) if where else ""
        if proj.group_by:
            clauses += " GROUP BY " + ", ".join(self.sql(g) for g in proj.group_by)
        if having is not None and proj.aggregate:
            clauses += " HAVING " + self.sql(having)
        clauses += f" ORDER BY {order} LIMIT {self.limit}"
        if offset:
            clauses += f" OFFSET {offset}"
        read = select if proj.aggregate else []
        needed = _columns_read(read, clauses, summary_columns(self.source.object_type))
        # The same clauses as trees: the keys of scores/metrics/span_type_info they read.
        trees = [having, *proj.group_by]
        trees += self.c.compile_sort(query, scope) if query.sort else []
        trees += [c.expr for c in proj.columns] if proj.aggregate else []
        traces = None
        if paging == "key" and self.cursor and self.cursor.key is not None:
            # The traces after the cursor, a trace written since the first page at its
            # place then (see _trace_set), not ahead of the cursor; of a count sample, those
            # of the sample.
            among = None
            if self._count_sample("root_span_id"):
                among = f"SELECT root_span_id FROM ({self._sampled_traces(filters)})"
            traces, _ = self._trace_set(filters, self.cursor.key, among=among)
        traces = traces or self._sampled_traces(filters)
        head = f"WITH selected AS MATERIALIZED ({traces}) "
        spans = (
            f"(SELECT e.* FROM {self.base} e"
            " WHERE e.root_span_id IN (SELECT root_span_id FROM selected))"
        )
        rows = self._summary_rows(
            filters, spans, "selected", needed, ", p.first_xact AS first_xact", _keys_read(trees)
        )
        if proj.aggregate:
            sql = f"{head}SELECT {', '.join(select)} FROM {rows} e{clauses}"
            return Plan(
                f"SELECT *, NULL AS __key FROM ({sql})",
                tuple(c.name for c in proj.columns),
                self.limit,
                paging,
                offset,
                shape="summary",
            )
        # The page's traces in their place in the order (__rank), then their whole rows.
        page = f"""{head}SELECT e.root_span_id, e.__key, e.first_xact,
                row_number() OVER (ORDER BY {order}) AS __rank
            FROM (SELECT e.* FROM {rows} e{clauses}) e"""
        return self._summary_page(filters, proj, page, paging, offset, ranked=True)

    def _summary_page(self, filters: _Filters, proj, page: str, paging, offset, ranked) -> Plan:
        """The whole summary rows of the traces that ``page`` (SQL) lists: newest first, or
        in their ``__rank`` when ``ranked``."""
        head = (
            f"WITH page AS MATERIALIZED ({page}), page_rows AS MATERIALIZED ("
            f"SELECT e.* FROM {self.base} e JOIN page p USING (root_span_id)"
            " WHERE e._xact_id >= (SELECT min(first_xact) FROM page)) "
        )
        spans = f"(SELECT * FROM {with_comments('page_rows', self.source.refs, self.version)})"
        rank = ", p.__rank AS __rank" if ranked else ""
        rows = self._summary_rows(filters, spans, "page", extra=rank)
        select = [f"{self.sql(c.expr)} AS {_q(c.name)}" for c in proj.columns]
        order = "e.__rank" if ranked else "e.__key DESC"
        sql = f"{head}SELECT {', '.join(select)}, e.__key AS __key FROM {rows} e ORDER BY {order}"
        return Plan(
            sql, tuple(c.name for c in proj.columns), self.limit, paging, offset, shape="summary"
        )

    def _summary_rows(
        self,
        filters: _Filters,
        spans: str,
        traces: str,
        columns: frozenset[str] | None = None,
        extra: str = "",
        keys: dict[str, frozenset[str]] | None = None,
    ) -> str:
        """The summary rows (only ``columns`` when given, only the ``keys`` of aggregated
        objects when given) of ``spans``, the span filter applied, each with the ``__key`` of
        its trace from the relation named ``traces`` (and the ``extra`` columns selected from
        it as ``p``)."""
        whole = None
        if filters.spans is not None:
            condition = self._span_filter_sql(filters)
            whole, spans = spans, f"(SELECT * FROM {spans} e WHERE {condition})"
        summary = summary_relation(spans, self.source.object_type, columns, keys, whole)
        return (
            f"(SELECT s.*, p.__key AS __key{extra} FROM {summary} s"
            f" JOIN {traces} p USING (root_span_id))"
        )


def _with_ctes(ctes: list[str], sql: str) -> str:
    """``sql`` with the common table expressions ``ctes`` (``name AS (…)``) defined first."""
    if sql.startswith("WITH "):
        return f"WITH {', '.join(ctes)}, {sql.removeprefix('WITH ')}"
    return f"WITH {', '.join(ctes)} {sql}"


def _own_columns(condition: exp.Expression) -> bool:
    """Whether a compiled condition reads only the columns a live row stores (not the
    computed ones such as ``comments`` or ``log_id``) and holds no subquery."""
    if any(True for _ in condition.find_all(exp.Subquery, exp.Select)):
        return False
    return all(
        column.table == "e" and column.name in STORED_COLUMNS
        for column in condition.find_all(exp.Column)
    )


def _conjuncts(condition: exp.Expression) -> list[exp.Expression]:
    while isinstance(condition, exp.Paren):
        condition = condition.this
    if isinstance(condition, exp.And):
        return _conjuncts(condition.left) + _conjuncts(condition.right)
    return [condition]


def _nested_and(parts: list[exp.Expression]) -> exp.Expression:
    """``CASE WHEN a THEN b ELSE false END`` over ``parts``, halves nested so that a
    thousand terms on one column nest ten deep, not a thousand (sqlglot recurses)."""
    if len(parts) == 1:
        return parts[0].copy()
    mid = (len(parts) + 1) // 2
    first, rest = _nested_and(parts[:mid]), _nested_and(parts[mid:])
    return exp.Case(ifs=[exp.If(this=first, true=rest)], default=exp.false())


def _one_term_per_column(condition: exp.Expression) -> exp.Expression:
    """A WHERE condition rewritten so that the terms joined by AND that read one and the
    same column form one term: ``a AND b`` becomes ``CASE WHEN a THEN b ELSE false END``
    (the same rows pass in a WHERE, where NULL and false both drop a row). DuckDB evaluates
    one term per column inside the table scan; a second one stays in a filter above it,
    which keeps the scan from skipping row groups under a sort and a limit."""
    groups: dict[str, list[exp.Expression]] = {}
    out: list[exp.Expression | str] = []
    for term in _conjuncts(condition):
        columns = {c.name for c in term.find_all(exp.Column)}
        if len(columns) != 1:
            out.append(term)
            continue
        (column,) = columns
        if column not in groups:
            groups[column] = []
            out.append(column)
        groups[column].append(term)
    terms = []
    for item in out:
        if isinstance(item, str):
            terms.append(_nested_and(groups[item]))
        else:
            terms.append(item)
    return exp.and_(*(exp.paren(t.copy()) for t in terms)) if len(terms) > 1 else terms[0]


def _shadowed(query: a.Query, name: str) -> bool:
    """Whether an output column other than the field itself is called ``name``."""
    for item in query.select or ():
        if not isinstance(item, a.Aliased):
            continue
        expr = item.expr
        same = isinstance(expr, a.Ident) and expr.name == (name,)
        if item.alias == name and not same:
            return True
        if item.alias is None and isinstance(expr, a.Ident) and expr.name[-1:] == (name,):
            if not same:
                return True
    return False


def _columns_read(select: list[str], clauses: str, columns) -> frozenset[str]:
    """The names among ``columns`` that a query with the ``select`` items and the
    ``clauses`` (from WHERE on) reads: those named by any part of a column reference."""
    items = ", ".join(select) or "1"
    tree = sqlglot.parse_one(f"SELECT {items} FROM e{clauses}", read="duckdb")
    read = set()
    for column in tree.find_all(exp.Column):
        read.update(part.name for part in column.parts if part.name in columns)
    return frozenset(read)


# The engine calls that read a path of a JSON document given as their first argument (the
# path a literal): ``json_get`` and the lean reads of a filter or an aggregate's argument.
_PATH_READS = frozenset({"json_extract", "json_extract_string", "json_type"})


def _keys_read(trees: list, columns=AGGREGATED_OBJECTS) -> dict[str, frozenset[str]]:
    """For each of ``columns`` (summary columns that are JSON objects built by aggregation)
    that the compiled ``trees`` read, and read only through paths with a known first key
    (``scores.Factuality``, ``metrics['total_tokens']``, ``span_type_info.has_error``):
    those keys. A column read any other way (whole, or a path that starts with an index)
    is left out: it needs the whole object. The trees are walked after compilation, so a
    path reached through an alias, an implicit name or an ordinal counts as well."""
    keys: dict[str, set[str]] = {}
    whole: set[str] = set()
    for tree in trees:
        for column in tree.find_all(exp.Column) if tree is not None else ():
            if column.name not in columns:
                continue
            key = _first_key(column)
            if key is None:
                whole.add(column.name)
            else:
                keys.setdefault(column.name, set()).add(key)
    return {name: frozenset(found) for name, found in keys.items() if name not in whole}


def _first_key(column: exp.Column) -> str | None:
    """The first key of the literal path ``column`` is read at (``json_extract(col,
    '$."a b".c')`` reads ``a b``; ``json_extract(col, '/*')`` reads ``*``), or None."""
    call = column.parent
    if not (isinstance(call, exp.Anonymous) and str(call.this).lower() in _PATH_READS):
        return None
    if len(call.expressions) != 2 or call.expressions[0] is not column:
        return None
    path = call.expressions[1]
    if not (isinstance(path, exp.Literal) and path.is_string):
        return None
    text = path.this
    if text in ("/*", "/"):  # json_get's pointer steps for the keys * and ""
        return text[1:]
    if not text.startswith('$."'):
        return None
    key, i = [], 3
    while i < len(text):  # json_get escapes \ and " with a backslash
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            key.append(text[i + 1])
            i += 2
        elif char == '"':
            return "".join(key)
        else:
            key.append(char)
            i += 1
    return None


PIVOT_PREFIX = "__pv_"
# The implicit name of an unaliased expression (see the compiler's naming decisions).
_EXPR_NAME = re.compile(r"expr_[0-9]+")


PIVOT_NULL_KEY = "N"  # a null pivot value in a column's key (not a hex digit)
PIVOT_NULL_NAME = "(null)"  # ... and in its output name: `(null)_count`
# After the hex of a JSON value other than a string: not a hex digit, and between the "."
# that joins the values of several pivot columns and every hex digit, so that DuckDB, which
# orders the columns by their keys, puts the value after the string of its text and before
# any longer text (a letter put the number 0.2 after 0.25, and 1 after the string "10").
PIVOT_JSON_MARK = "/"


def pivot_output_name(column: str) -> str:
    """The output name of a pivot page's column: ``__pv_<hex of value>_<measure>`` is
    ``<value>_<measure>`` (with several pivot columns, their hex values joined by ``.``
    give theirs joined by ``_``; a null value is ``(null)``); other columns keep their
    names."""
    if not column.startswith(PIVOT_PREFIX):
        return column
    encoded, _, measure = column.removeprefix(PIVOT_PREFIX).partition("_")
    values = [
        PIVOT_NULL_NAME
        if part == PIVOT_NULL_KEY
        else bytes.fromhex(part.removesuffix(PIVOT_JSON_MARK)).decode("utf-8", "replace")
        for part in encoded.split(".")
    ]
    return f"{'_'.join(values)}_{measure}"


def pivot_output_names(columns: list[str]) -> list[str]:
    """The output names of a pivot page's columns (see :func:`pivot_output_name`), made
    unique: values that read alike (``a_b`` then ``c``, and ``a`` then ``b_c``, both
    ``a_b_c_n``) gave one name twice, a JSON object with a repeated key. A later one takes
    ``_2``, ``_3``… (the first not taken)."""
    names = [pivot_output_name(c) for c in columns]
    taken = set(names)
    seen: set[str] = set()
    unique = []
    for name in names:
        if name in seen:
            n = 2
            while f"{name}_{n}" in taken:
                n += 1
            name = f"{name}_{n}"
            taken.add(name)
        seen.add(name)
        unique.append(name)
    return unique


def _lit(value) -> str:
    return exp.convert(value).sql(dialect="duckdb")


def _q(name: str) -> str:
    return exp.to_identifier(name, quoted=True).sql(dialect="duckdb")


def root_values_sql(expr: a.Expr, refs: tuple[ObjectRef, ...], org_id: str) -> str:
    """SQL of (object_id, root_span_id, value) for each root span of ``refs``: ``expr``
    (BTQL over the span, such as a project's ``comparison_key`` ``input.question``) as JSON
    text, NULL where it is null. All the roots in one scan, no pages: an experiment
    summary joins it with the traces it matches."""
    columns = {
        name: ("JSON" if kind == "json" else kind) for name, kind in columns_of(refs[0].object_type)
    }
    compiler = DuckDBCompiler()
    value = compiler.sql(compiler.compile_expr(expr, Scope(columns, table="e", tz_offset=0)))
    base = span_relation(refs, org_id, comments=_mentions_comments(expr))
    return f"""SELECT e.__object_id AS object_id, e.root_span_id,
            nullif(to_json({value})::VARCHAR, 'null') AS value
        FROM {base} e WHERE e.is_root"""
