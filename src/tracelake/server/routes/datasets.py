"""Dataset routes beyond rows: file import (preview and commit), versions (list, diff,
restore, snapshots), field schemas (define, infer, enforce, check) and custom columns."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from tracelake.datasets import versions
from tracelake.datasets.copying import copy_records
from tracelake.datasets.imports import STAGING_DIR, import_file, preview_import
from tracelake.datasets.schemas import check_rows, infer_field_schema
from tracelake.datasets.upload import detect_format
from tracelake.errors import InvalidRequest
from tracelake.export.custom_columns import check_column, check_column_runs
from tracelake.model.column_mapping import parse_map_options
from tracelake.model.field_schemas import check_field
from tracelake.server.http import (
    body_to_file,
    check_known,
    field_of,
    json_body,
    principal_of,
    writer_of,
)
from tracelake.store import dataset_meta
from tracelake.store.catalog import DATASETS

router = APIRouter()


def _dataset(request: Request, dataset_id: str, *, write: bool = False):
    """The caller's principal, after checking the dataset is theirs (and writable)."""
    principal = writer_of(request) if write else principal_of(request)
    request.app.state.catalog.get(DATASETS, principal.org_id, dataset_id)
    return principal


def _check_limit(limit: int) -> None:
    # As on the lists: a negative limit was read as 0 (an empty answer, no error).
    if limit < 0:
        raise InvalidRequest("limit must not be negative")


def _mapping(map_: list[str] | None, mapping: str | None) -> dict[str, str] | None:
    result: dict[str, str] = {}
    if mapping:
        try:
            given = orjson.loads(mapping)
        except orjson.JSONDecodeError:
            raise InvalidRequest("mapping must be a JSON object of column → target") from None
        if not isinstance(given, dict) or not all(isinstance(v, str) for v in given.values()):
            raise InvalidRequest("mapping must be a JSON object of column → target")
        result.update(given)
    result.update(parse_map_options(map_ or [], "map"))
    return result or None


async def _upload(request: Request) -> Path:
    return await body_to_file(request, request.app.state.store.data_dir / STAGING_DIR)


# -- import -----------------------------------------------------------------------------------


@router.post("/v1/dataset/{dataset_id}/import/preview")
async def import_preview(
    request: Request,
    dataset_id: str,
    format: str | None = None,
    filename: str | None = None,
    map: list[str] | None = Query(None),  # noqa: A002 - the public parameter name
    mapping: str | None = None,
):
    """The first rows of an uploaded file (the raw body; CSV, JSON array or JSONL): its
    columns and the types of their cells, the proposed mapping, and the records the rows
    would become. Nothing is written."""
    principal = await run_in_threadpool(_dataset, request, dataset_id)
    fmt = detect_format(format, request.headers.get("content-type"), filename)
    given = _mapping(map, mapping)
    path = await _upload(request)
    try:
        state = request.app.state
        return await asyncio.to_thread(
            preview_import, state.catalog, principal, dataset_id, path, fmt, given
        )
    finally:
        path.unlink(missing_ok=True)


@router.post("/v1/dataset/{dataset_id}/import")
async def import_rows(
    request: Request,
    dataset_id: str,
    format: str | None = None,
    filename: str | None = None,
    map: list[str] | None = Query(None),  # noqa: A002
    mapping: str | None = None,
):
    """Import every row of an uploaded file as one version, or none: any problem answers
    400 naming the row, the column and the reason. ``map=column=target`` (repeated) or
    ``mapping={"column": "target"}``; targets are input, expected, metadata (optionally
    with a key: ``input.question``), tags, id and skip."""
    principal = await run_in_threadpool(_dataset, request, dataset_id, write=True)
    fmt = detect_format(format, request.headers.get("content-type"), filename)
    given = _mapping(map, mapping)
    path = await _upload(request)
    try:
        state = request.app.state
        return await asyncio.to_thread(
            import_file, state.store, state.catalog, principal, dataset_id, path, fmt, given
        )
    finally:
        path.unlink(missing_ok=True)


# -- versions -----------------------------------------------------------------------------------


@router.get("/v1/dataset/{dataset_id}/versions")
def list_versions(request: Request, dataset_id: str):
    """Every version, newest first: ``_xact_id``, time, author (API key), rows inserted,
    updated and deleted, and the snapshot names pointing at it."""
    _dataset(request, dataset_id)
    return {"objects": versions.list_versions(request.app.state.store, dataset_id)}


@router.get("/v1/dataset/{dataset_id}/diff")
def diff(
    request: Request,
    dataset_id: str,
    from_: str = Query(..., alias="from"),
    to: str | None = None,
    limit: int = versions.DIFF_LIMIT,
):
    """Rows added, removed and changed (with the changed fields, before and after) between
    two versions (``_xact_id`` or snapshot name; ``to`` defaults to the current rows)."""
    _dataset(request, dataset_id)
    _check_limit(limit)
    store = request.app.state.store
    low = versions.dataset_version(store, dataset_id, from_, "from")
    high = versions.dataset_version(store, dataset_id, to, "to") if to else None
    return versions.diff_versions(store, dataset_id, low, high, limit)


@router.post("/v1/dataset/{dataset_id}/restore")
async def restore(request: Request, dataset_id: str):
    """``{version}``: make that version's rows current again, as a new version."""
    principal = await run_in_threadpool(_dataset, request, dataset_id, write=True)
    body = await json_body(request)
    check_known(body, {"version"})
    state = request.app.state
    version = body.get("version")
    if version is None:
        raise InvalidRequest("missing required field 'version'")
    xact_id = await run_in_threadpool(versions.dataset_version, state.store, dataset_id, version)
    return await asyncio.to_thread(
        versions.restore_version, state.store, state.catalog, principal, dataset_id, xact_id
    )


@router.get("/v1/dataset/{dataset_id}/snapshots")
def list_snapshots(request: Request, dataset_id: str):
    """Named versions of the dataset, newest first."""
    _dataset(request, dataset_id)
    return {"objects": dataset_meta.list_snapshots(request.app.state.store, dataset_id)}


@router.post("/v1/dataset/{dataset_id}/snapshots")
async def create_snapshot(request: Request, dataset_id: str):
    """``{name, version?, description?}``: name a version (default: the current one). Read it
    with ``version=<name>`` in fetch, or ``init_dataset(..., environment=<name>)``."""
    principal = await run_in_threadpool(_dataset, request, dataset_id, write=True)
    body = await json_body(request)

    def work():
        check_known(body, {"name", "version", "description"})
        name = field_of(body, "name", str, required=True)
        return versions.create_snapshot(
            request.app.state.store,
            dataset_id,
            name,
            body.get("version"),
            body.get("description"),
            principal.key_id,
        )

    return await run_in_threadpool(work)


@router.patch("/v1/dataset/{dataset_id}/snapshots/{name}")
async def update_snapshot(request: Request, dataset_id: str, name: str):
    """``{name?, description?}``: rename a named version, or change its description."""
    await run_in_threadpool(_dataset, request, dataset_id, write=True)
    body = await json_body(request)

    def work():
        check_known(body, {"name", "description"})
        return dataset_meta.update_snapshot(request.app.state.store, dataset_id, name, body)

    return await run_in_threadpool(work)


@router.delete("/v1/dataset/{dataset_id}/snapshots/{name}")
def delete_snapshot(request: Request, dataset_id: str, name: str):
    """Remove a version's name (the version itself stays)."""
    _dataset(request, dataset_id, write=True)
    return dataset_meta.delete_snapshot(request.app.state.store, dataset_id, name)


@router.get("/environment-object/dataset/{dataset_id}/{name}")
def environment_object(request: Request, dataset_id: str, name: str):
    """The SDK's ``init_dataset(environment=name)``: the version a snapshot name stands for."""
    _dataset(request, dataset_id)
    return {"object_version": versions.snapshot_xact(request.app.state.store, dataset_id, name)}


# -- field schemas ------------------------------------------------------------------------------


@router.get("/v1/dataset/{dataset_id}/schema")
def get_schemas(request: Request, dataset_id: str):
    """The JSON Schemas of input, expected and metadata (null where none) and whether each
    is enforced."""
    _dataset(request, dataset_id)
    return dataset_meta.get_schemas(request.app.state.store, dataset_id)


@router.put("/v1/dataset/{dataset_id}/schema/{field}")
async def put_schema(request: Request, dataset_id: str, field: str):
    """``{schema, enforce?}``: define a field's JSON Schema (draft 2020-12). With ``enforce``
    every write path (SDK, REST, import) refuses rows that do not conform, with a 400 listing
    each violation."""
    await run_in_threadpool(_dataset, request, dataset_id, write=True)
    check_field(field)
    body = await json_body(request)

    def work():
        check_known(body, {"schema", "enforce"})
        schema = body.get("schema")
        enforce = body.get("enforce", False)
        return dataset_meta.set_schema(request.app.state.store, dataset_id, field, schema, enforce)

    return await run_in_threadpool(work)


@router.delete("/v1/dataset/{dataset_id}/schema/{field}")
def delete_schema(request: Request, dataset_id: str, field: str):
    """Drop a field's schema (and its enforcement)."""
    _dataset(request, dataset_id, write=True)
    return dataset_meta.delete_schema(request.app.state.store, dataset_id, field)


@router.post("/v1/dataset/{dataset_id}/schema/{field}/infer")
async def infer_schema(request: Request, dataset_id: str, field: str):
    """A schema inferred from the field's values in the first 100 records; ``{save: true,
    enforce?}`` also stores it."""
    await run_in_threadpool(_dataset, request, dataset_id, write=False)
    check_field(field)
    body = await json_body(request, required=False)

    def work():
        check_known(body, {"save", "enforce"})
        save = field_of(body, "save", bool, default=False)  # ("false" is no false)
        store = request.app.state.store
        schema = infer_field_schema(store, dataset_id, field)
        if save:
            _dataset(request, dataset_id, write=True)
            return dataset_meta.set_schema(
                store, dataset_id, field, schema, body.get("enforce", False)
            )[field]
        return {"schema": schema}

    return await run_in_threadpool(work)


@router.get("/v1/dataset/{dataset_id}/schema/check")
def check_schema(request: Request, dataset_id: str, limit: int = 1000):
    """Current rows that do not conform to the dataset's schemas (enforced or not), each
    with its violations."""
    _dataset(request, dataset_id)
    _check_limit(limit)
    return check_rows(request.app.state.store, dataset_id, limit)


# -- moving records -------------------------------------------------------------------------


@router.post("/v1/dataset/{dataset_id}/copy_from")
async def copy_from(request: Request, dataset_id: str):
    """``{source: {object_type: dataset|experiment, id}, filter?}``: copy the source's rows
    (an experiment's root rows: input, expected or else output, metadata, tags) into this
    dataset as new records whose ``origin`` points back; one version."""
    principal = await run_in_threadpool(_dataset, request, dataset_id, write=True)
    body = await json_body(request)
    check_known(body, {"source", "filter"})
    state = request.app.state
    return await asyncio.to_thread(
        copy_records,
        state.store,
        state.catalog,
        principal,
        dataset_id,
        body.get("source"),
        body.get("filter"),
    )


# -- custom columns -------------------------------------------------------------------------


@router.get("/v1/dataset/{dataset_id}/columns")
def list_columns(request: Request, dataset_id: str):
    """The dataset's custom columns: ``{name, expr}``, BTQL expressions usable as columns."""
    _dataset(request, dataset_id)
    return {"objects": dataset_meta.list_columns(request.app.state.store, dataset_id)}


@router.put("/v1/dataset/{dataset_id}/columns/{name}")
async def put_column(request: Request, dataset_id: str, name: str):
    """``{expr}``: save a custom column (a BTQL expression, e.g. ``metadata.topic``). Queries
    of the dataset may name it like a column; ``select: *`` and exports include it. A column
    that a query of the dataset could not select is a 400."""
    await run_in_threadpool(_dataset, request, dataset_id, write=True)
    body = await json_body(request)

    def work():
        check_known(body, {"expr"})
        expr = check_column(name, body.get("expr"))
        check_column_runs(dataset_id, name, expr)
        return dataset_meta.set_column(request.app.state.store, dataset_id, name, expr)

    return await run_in_threadpool(work)


@router.delete("/v1/dataset/{dataset_id}/columns/{name}")
def delete_column(request: Request, dataset_id: str, name: str):
    """Remove a custom column."""
    _dataset(request, dataset_id, write=True)
    dataset_meta.delete_column(request.app.state.store, dataset_id, name)
    return {"name": name, "deleted": True}


# -- stars ----------------------------------------------------------------------------------
# Braintrust has no public route for stars. The server has no users, so a star is "starred by
# this key": each API key has its own.


@router.get("/v1/dataset_star")
def list_stars(request: Request, project_id: str | None = None):
    """The datasets starred by the calling API key (of one project with ``project_id``):
    ``{objects: [{dataset_id, project_id, created}]}``, newest star first."""
    principal = principal_of(request)
    if project_id is not None:
        if not project_id.strip():
            raise InvalidRequest("project_id must not be empty")
        request.app.state.catalog.get_project(principal.org_id, project_id)
    store = request.app.state.store
    stars = dataset_meta.list_stars(store, principal.key_id, principal.org_id, project_id)
    return {"objects": stars}


@router.put("/v1/dataset/{dataset_id}/star")
def star(request: Request, dataset_id: str):
    """Star the dataset for the calling API key (a second star changes nothing)."""
    principal = _dataset(request, dataset_id, write=True)
    return dataset_meta.set_star(request.app.state.store, principal.key_id, dataset_id, True)


@router.delete("/v1/dataset/{dataset_id}/star")
def unstar(request: Request, dataset_id: str):
    """Remove the calling API key's star from the dataset (when there is none, nothing)."""
    principal = _dataset(request, dataset_id, write=True)
    return dataset_meta.set_star(request.app.state.store, principal.key_id, dataset_id, False)
