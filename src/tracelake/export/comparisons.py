"""The comparison keys of an experiment's traces: the value of the project's
``settings.comparison_key`` (a BTQL expression over the root span) for each trace, which
experiment summaries match traces on in place of their input."""

from __future__ import annotations

import orjson

from tracelake.errors import InvalidRequest
from tracelake.export.queries import QueryOptions, run_query
from tracelake.query.errors import QueryError
from tracelake.query.parsers.btql import parse_expression
from tracelake.query.parsers.expressions import has_aggregate
from tracelake.store.catalog import Catalog, Principal
from tracelake.store.store import Store
from tracelake.store.summaries import canonical

# Root spans read per query when computing comparison keys.
_KEY_PAGE = 5_000


def _key_error(exc: QueryError, expr: str, what: str) -> QueryError:
    """An error of the key's query at its position in the key, which starts the query's
    second line (a position elsewhere, in the rest of the query, is none of the caller's)."""
    lines = expr.count("\n") + 1
    if exc.line is not None and exc.col is not None and 2 <= exc.line <= lines + 1:
        return QueryError(f"{what} {expr!r}: {exc.detail}", exc.line - 1, exc.col)
    return QueryError(f"{what} {expr!r}: {exc.detail}")


def comparison_keys(
    store: Store,
    catalog: Catalog,
    principal: Principal,
    experiment_id: str,
    expr: str,
    what: str = "the project's comparison_key",
) -> dict[str, str]:
    """The match key of each trace of the experiment, by ``root_span_id``: the value of
    ``expr`` (the project's ``settings.comparison_key``, a BTQL expression over the root span,
    such as ``input.question`` or ``metadata.case_id``) as canonical JSON text. A trace whose
    value is null has no key (it is matched with none), as in the web UI's comparison. ``what``
    names the key in an error."""
    try:
        parsed = parse_expression(expr)  # one expression, nothing more: it goes into the query
    except QueryError as exc:
        raise QueryError(f"{what} {expr!r}: {exc.detail}", exc.line, exc.col) from None
    if has_aggregate(parsed):
        # (the query then said "'root_span_id' in select must be in an aggregate" at 1:9)
        raise InvalidRequest(f"{what} {expr!r}: a key is a value per trace, not an aggregate")
    keys: dict[str, str] = {}
    cursor = None
    while True:
        # On lines of their own, so that a -- comment ending the expression stays in it.
        parts = [
            # (not ``__key``: the engine's own name for each row's cursor key, which the
            # alias replaced, so a second page was a 400 "invalid cursor")
            f"select: root_span_id, (\n{expr}\n) AS match_key",
            f"from: experiment('{experiment_id}')",
            "filter: is_root",
            f"limit: {_KEY_PAGE}",
        ]
        if cursor:
            parts.append(f"cursor: '{cursor}'")
        try:
            result = run_query(store, catalog, principal, QueryOptions(query="\n".join(parts)))
        except QueryError as exc:
            raise _key_error(exc, expr, what) from None
        for text in result.rows:
            row = orjson.loads(text)
            if row.get("match_key") is not None:
                keys[row["root_span_id"]] = canonical(row["match_key"])
        cursor = result.cursor
        if not cursor:
            return keys
