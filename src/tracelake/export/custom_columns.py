"""Custom columns: named BTQL expressions saved on a dataset, usable as columns in queries
and exports of that dataset. Before planning, a bare name that is a custom column of the
queried dataset is replaced by its expression; ``select: *`` also shows every custom column
whose expression can be selected (a column is checked when it is saved, so one that cannot
is only one saved by an older version).
"""

from __future__ import annotations

import dataclasses
import functools
import re

from tracelake.errors import InvalidRequest
from tracelake.model.objects import ObjectRef, ObjectType
from tracelake.query import ast as a
from tracelake.query.errors import QueryError
from tracelake.query.parsers.btql import BtqlParser, parse_expression
from tracelake.query.parsers.expressions import has_aggregate
from tracelake.query.planner import plan_query, transform
from tracelake.query.relations import columns_of
from tracelake.query.sources import ResolvedSource
from tracelake.query.tokens import KEYWORDS
from tracelake.store import dataset_meta
from tracelake.store.store import Store

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")  # (whole: "$" let a last "\n" in)


def check_column(name: str, expr: object) -> str:
    """A valid custom column: an identifier that is not a built-in column, and a BTQL
    expression that parses."""
    if not _NAME.fullmatch(name or ""):
        # (it said "'_' (not first)", but '_x' is a name: a digit may not come first)
        raise InvalidRequest(
            "a custom column name is 1 to 64 letters, digits and '_', not starting with a digit"
        )
    if name.startswith("__"):
        raise InvalidRequest(
            f"{name!r} is reserved: names starting with '__' are the query engine's own columns"
        )
    if name in {n for n, _ in columns_of(ObjectType.DATASET)} or name == "comments":
        raise InvalidRequest(f"{name!r} is a built-in column")
    if name.lower() in KEYWORDS or name.lower() in BtqlParser.CLAUSES:
        raise InvalidRequest(f"{name!r} is a BTQL word: a query could not name the column")
    if not isinstance(expr, str) or not expr.strip():
        raise InvalidRequest("expr must be a BTQL expression (text)")
    try:
        parse_expression(expr)
    except QueryError as exc:
        raise QueryError(f"expr: {exc.detail}", exc.line, exc.col) from None
    return expr


def check_column_runs(dataset_id: str, name: str, expr: str) -> None:
    """Refuse a custom column that a query of the dataset cannot select: an unknown function
    or field, an aggregate, a reference to itself or to another custom column (a column's
    expression is used as written)."""
    refs = (ObjectRef(ObjectType.DATASET, dataset_id),)
    problem = _select_problem(ResolvedSource(ObjectType.DATASET, refs, "spans"), name, expr)
    if problem is not None:
        detail, line, col = problem
        raise QueryError(f"expr: {detail}", line, col)


@functools.lru_cache(maxsize=1024)
def _select_problem(
    source: ResolvedSource, name: str, expr: str
) -> tuple[str, int | None, int | None] | None:
    """Why ``select: *, <expr> as <name>`` cannot be planned over ``source``, with the
    position in ``expr`` when known (None if it can). The organization only scopes the rows
    read, so any will do."""
    parsed = parse_expression(expr)
    if has_aggregate(parsed):
        return "a custom column is a value per row; it cannot be an aggregate", None, None
    query = a.Query(select=(a.Star(), a.Aliased(parsed, name)), limit=1)
    try:
        plan_query(query, source, org_id="")
    except QueryError as exc:
        return exc.detail, exc.line, exc.col
    except RecursionError:
        return "the expression is nested too deeply", None, None
    return None


def apply_custom_columns(store: Store, query: a.Query, source: ResolvedSource) -> a.Query:
    """The query with the dataset's custom columns substituted (unchanged for other sources).
    ``select: *`` leaves out a saved column that cannot be selected, so that one bad column
    does not stop every query of the dataset; naming it still gives its error."""
    refs = source.refs
    if len(refs) != 1 or refs[0].object_type is not ObjectType.DATASET:
        return query
    saved = dataset_meta.list_columns(store, refs[0].object_id)
    if not saved:
        return query
    exprs = {c["name"]: parse_expression(c["expr"]) for c in saved}

    def swap(node):
        if isinstance(node, a.Ident) and len(node.name) == 1 and node.name[0] in exprs:
            return exprs[node.name[0]]
        return node

    def each(items, kind):
        if items is None:
            return None
        out = []
        for item in items:
            if isinstance(item, kind):
                item = dataclasses.replace(item, expr=transform(item.expr, swap))
            out.append(item)
        return tuple(out)

    def named_after_column(item: a.Aliased) -> a.Aliased:
        """A bare custom column is named after the column, not after its expression."""
        alias = item.alias
        if alias is None and isinstance(item.expr, a.Ident) and item.expr.name[0] in exprs:
            alias = item.expr.name[0] if len(item.expr.name) == 1 else None
        return a.Aliased(transform(item.expr, swap), alias)

    dimensions = query.dimensions
    changes = {
        "filter": transform(query.filter, swap) if query.filter is not None else None,
        "sort": each(query.sort, a.SortItem),
        "dimensions": None if dimensions is None else tuple(map(named_after_column, dimensions)),
        "measures": each(query.measures, a.Aliased),
    }
    select = query.select
    if select is not None:
        named = {i.alias for i in select if isinstance(i, a.Aliased)}
        expanded = []
        for item in select:
            if isinstance(item, a.Aliased):
                item = named_after_column(item)
            expanded.append(item)
            if isinstance(item, a.Star):
                expanded += [
                    a.Aliased(exprs[c["name"]], c["name"])
                    for c in saved
                    if c["name"] not in named
                    and _select_problem(source, c["name"], c["expr"]) is None
                ]
        changes["select"] = tuple(expanded)
    return dataclasses.replace(query, **changes)
