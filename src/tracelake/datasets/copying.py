"""Moving records into a dataset: copy rows of another dataset, or turn an experiment's rows
into dataset records, optionally filtered by BTQL. Each copied record gets a new id and an
``origin`` naming the row it came from; the whole copy is one write (one version)."""

from __future__ import annotations

import orjson

from tracelake.errors import InvalidRequest
from tracelake.export.queries import QueryOptions, run_query
from tracelake.model.ids import uuid7
from tracelake.model.objects import ObjectRef, ObjectType
from tracelake.model.xact import format_xact
from tracelake.query.errors import QueryError
from tracelake.query.parsers.btql import parse_expression
from tracelake.store.catalog import Catalog, CatalogResolver, Principal
from tracelake.store.events import prepare_batch
from tracelake.store.store import Store

SOURCES = ("dataset", "experiment")
PAGE = 5_000


def _source_rows(store, catalog, principal, object_type: str, object_id: str, filter_: str | None):
    """Every (root) row of the source object, filtered, as dicts."""
    if filter_ is not None and not isinstance(filter_, str):
        raise InvalidRequest("filter must be a BTQL expression (text)")
    if filter_:
        # One expression, nothing more: the query is built as text, and a filter such as
        # "true) | sort: (id" would add clauses to it.
        try:
            parse_expression(filter_)
        except QueryError as exc:
            raise QueryError(f"{exc.detail} in the filter", exc.line, exc.col) from None
    # On lines of their own, so that a -- comment ending the filter stays in it: the filter
    # starts the query's second line, which positions in the query map back to.
    terms = [f"(\n{filter_}\n)"] if filter_ else []
    if object_type == "experiment":
        terms.append("is_root")
    cursor = None
    while True:
        parts = [
            "select: *",
            f"from: {object_type}('{object_id}')",
            f"limit: {PAGE}",
        ]
        if terms:
            parts.insert(0, "filter: " + " and ".join(terms))
        if cursor:
            parts.append(f"cursor: '{cursor}'")
        try:
            result = run_query(store, catalog, principal, QueryOptions(query="\n".join(parts)))
        except QueryError as exc:
            raise _filter_error(exc, filter_) from None
        yield from (orjson.loads(row) for row in result.rows)
        cursor = result.cursor
        if not cursor:
            return


def _filter_error(exc: QueryError, filter_: str | None) -> QueryError:
    """An error of the copy's query, at its position in the filter (the caller wrote only
    the filter: a position in the rest of the query would point at nothing of theirs)."""
    detail = exc.detail.removesuffix(" in filter")  # (the message names the filter already)
    lines = filter_.count("\n") + 1 if filter_ else 0
    if exc.line is not None and exc.col is not None and 2 <= exc.line <= lines + 1:
        return QueryError(f"{detail} in the filter", exc.line - 1, exc.col)
    return QueryError(detail)


def copy_records(
    store: Store,
    catalog: Catalog,
    principal: Principal,
    dataset_id: str,
    source: dict,
    filter_: str | None = None,
) -> dict:
    """Copy the source's rows (``{"object_type": "dataset"|"experiment", "id": id or name}``)
    into the dataset. Experiment rows become records: input, expected (else output),
    metadata and tags."""
    if not isinstance(source, dict) or source.get("object_type") not in SOURCES:
        raise InvalidRequest("source must be {object_type: dataset|experiment, id}")
    if not isinstance(source.get("id"), str):
        raise InvalidRequest("source.id must be a dataset or experiment id (or name)")
    kind = ObjectType(source["object_type"])
    source_id = CatalogResolver(catalog, principal.org_id).object(kind, source["id"], None)
    if kind is ObjectType.DATASET and source_id == dataset_id:
        raise InvalidRequest("a dataset cannot be copied into itself")
    records = []
    for row in _source_rows(store, catalog, principal, kind.value, source_id, filter_):
        expected = row.get("expected")
        if kind is ObjectType.EXPERIMENT and expected is None:
            expected = row.get("output")
        records.append(
            {
                "id": uuid7(),
                "input": row.get("input"),
                "expected": expected,
                "metadata": row.get("metadata"),
                "tags": row.get("tags"),
                "origin": {
                    "object_type": kind.value,
                    "object_id": source_id,
                    "id": row["id"],
                    "_xact_id": row.get("_xact_id"),
                    "created": row.get("created"),
                },
            }
        )
    if not records:
        return {"copied": 0, "_xact_id": None}
    batch = prepare_batch(catalog, principal, records, ObjectRef(ObjectType.DATASET, dataset_id))
    xact_id = store.write(batch)
    return {"copied": len(records), "_xact_id": format_xact(xact_id)}
