"""Event routes: ``/logs3`` (the SDK's write path), and per object ``insert``, ``fetch`` and
``feedback`` plus the cross-object ``/v1/insert``."""

from __future__ import annotations

import asyncio
from enum import StrEnum

import orjson
from fastapi import APIRouter, Request

from tracelake.datasets.versions import is_snapshot_name, read_snapshot
from tracelake.errors import InvalidRequest
from tracelake.model.feedback import feedback_rows
from tracelake.model.ids import uuid7
from tracelake.model.objects import ObjectRef, ObjectType
from tracelake.model.xact import format_xact, parse_xact
from tracelake.server.http import JSONResponse, field_of, json_body, principal_of
from tracelake.store.events import MAX_FETCH_LIMIT, fetch_events, prepare_batch
from tracelake.store.writer import WriteBatch

router = APIRouter()


class ObjectPath(StrEnum):
    project_logs = "project_logs"
    dataset = "dataset"
    experiment = "experiment"


async def _commit(request: Request, batch: WriteBatch) -> int:
    """Queue the batch to the writer and wait until it is durable."""
    if batch.size == 0:
        return 0
    return await asyncio.wrap_future(request.app.state.store.submit(batch))


@router.post("/logs3")
async def logs3(request: Request):
    """The SDK's write path: rows of any objects, one transaction and one ``_xact_id``."""
    principal = principal_of(request)
    body = await json_body(request)
    rows = body.get("rows")
    if isinstance(rows, dict) and rows.get("type") == "logs3_overflow":
        raise InvalidRequest("overflow uploads are not supported (see GET /version)")
    if rows is None:
        raise InvalidRequest("missing required field 'rows'")
    batch = prepare_batch(request.app.state.catalog, principal, rows)
    xact_id = await _commit(request, batch)
    return {"_xact_id": format_xact(xact_id) if xact_id else None}


def _with_ids(events: list) -> list:
    """Give events without an id a generated one, so the caller learns every row id (a
    comment's too: it is how the comment is edited or deleted later)."""
    result = []
    for event in events:
        if isinstance(event, dict) and event.get("id") is None:
            event = {**event, "id": uuid7()}
        result.append(event)
    return result


@router.post("/v1/{object_type}/{object_id}/insert")
async def insert_events(request: Request, object_type: ObjectPath, object_id: str):
    """Insert events into one object; answers the id of each event, in order."""
    principal = principal_of(request)
    body = await json_body(request)
    events = field_of(body, "events", list, required=True)
    events = _with_ids(events)
    ref = ObjectRef(ObjectType(object_type.value), object_id)
    batch = prepare_batch(request.app.state.catalog, principal, events, ref)
    await _commit(request, batch)
    return {"row_ids": [e.get("id") for e in events]}


@router.post("/v1/{object_type}/{object_id}/feedback")
async def feedback(request: Request, object_type: ObjectPath, object_id: str):
    """Scores, expected values, tags and comments on existing rows."""
    principal = principal_of(request)
    body = await json_body(request)
    named = feedback_rows(body.get("feedback"))
    ref = ObjectRef(ObjectType(object_type.value), object_id)
    rows, names = [row for _, row in named], [name for name, _ in named]
    batch = prepare_batch(request.app.state.catalog, principal, rows, ref, names)
    await _commit(request, batch)
    return {"status": "success"}


@router.post("/v1/insert")
async def insert_many(request: Request):
    """Events and feedback for several objects in one transaction."""
    principal = principal_of(request)
    body = await json_body(request)
    unknown = [k for k in body if k not in ObjectPath.__members__]
    if unknown:
        raise InvalidRequest(f"unknown object type {unknown[0]!r}")
    rows: list[dict] = []
    refs: list[ObjectRef] = []  # the object of each row: the one its part is listed under
    names: list[str] = []  # how errors name each row: where the client listed it
    answer: dict = {}
    for object_type, by_id in body.items():
        if not isinstance(by_id, dict):
            raise InvalidRequest(f"{object_type} must map object ids to events")
        for object_id, part in by_id.items():
            if not isinstance(part, dict):
                raise InvalidRequest(f"{object_type}.{object_id} must be an object")
            unknown_keys = [k for k in part if k not in ("events", "feedback")]
            if unknown_keys:  # a misspelt "events" wrote nothing and answered 200
                raise InvalidRequest(
                    f"{object_type}.{object_id}: unknown field {unknown_keys[0]!r}"
                    " (give events and feedback)"
                )
            events = _with_ids(field_of(part, "events", list, default=[]))
            feedback = part.get("feedback")  # null is no feedback, as null is no events
            part_name = f"{object_type}.{object_id}"
            extra = feedback_rows([] if feedback is None else feedback, f"{part_name} feedback")
            named = [(f"{part_name} event {i}", e) for i, e in enumerate(events)]
            if not named and not extra:  # an unknown object is a 404 even with nothing to write
                request.app.state.catalog.object_info(
                    principal.org_id, ObjectRef(ObjectType(object_type), object_id)
                )
            for name, event in [*named, *extra]:
                if not isinstance(event, dict):
                    raise InvalidRequest(f"{part_name}: events must be objects")
                rows.append(event)
                refs.append(ObjectRef(ObjectType(object_type), object_id))
                names.append(name)
            answer.setdefault(object_type, {})[object_id] = {
                "row_ids": [e.get("id") for e in events]
            }
    batch = prepare_batch(request.app.state.catalog, principal, rows, refs, names)
    await _commit(request, batch)
    return answer


def _fetch(request: Request, object_type: ObjectPath, object_id: str, params: dict):
    principal = principal_of(request)
    ref = ObjectRef(ObjectType(object_type.value), object_id)
    request.app.state.catalog.object_info(principal.org_id, ref)
    limit = params.get("limit")
    if isinstance(limit, float) and limit >= 2**64 and limit.is_integer():
        limit = MAX_FETCH_LIMIT  # a JSON integer past 64 bits, which orjson reads as a float
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)):
        raise InvalidRequest("limit must be an integer")
    cursor = params.get("cursor")
    if cursor is not None and not isinstance(cursor, str):
        raise InvalidRequest("cursor must be a string")
    # Braintrust's deprecated path-lookup filters: ignoring them answered every row as if
    # it had matched. An empty list filters nothing.
    if params.get("filters"):
        raise InvalidRequest(
            "filters: fetch does not take the deprecated path-lookup filters; select rows"
            " with POST /btql and a filter (docs/btql.md)"
        )
    before = _legacy_cursor(params)
    if before is not None and cursor:
        raise InvalidRequest("give cursor or max_xact_id with max_root_span_id, not both")
    version = params.get("version")
    named = version is not None  # only `version` may name a dataset snapshot
    if version is None and before is None:
        version = params.get("max_xact_id")  # alone, it pins the version
    if version is not None:
        if named and ref.object_type is ObjectType.DATASET and is_snapshot_name(version):
            version = read_snapshot(request.app.state.store, ref.object_id, version)
        try:
            version = parse_xact(version)
        except ValueError as exc:
            message = (
                str(exc) if named else str(exc).replace("version", "max_xact_id (a version)", 1)
            )
            raise InvalidRequest(message) from None
    page = fetch_events(
        request.app.state.store,
        ref,
        limit=limit,
        cursor=cursor or None,
        version=version,
        before=before,
    )
    body = b'{"events":[' + ",".join(page.rows).encode() + b'],"cursor":'
    body += orjson.dumps(page.cursor) + b"}"
    return JSONResponse(body)


def _legacy_cursor(params: dict) -> tuple[int, str] | None:
    """The deprecated cursor ``(max_xact_id, max_root_span_id)``, if given."""
    root = params.get("max_root_span_id")
    if root is None:
        return None
    if not isinstance(root, str) or not root:
        raise InvalidRequest("max_root_span_id must be a non-empty string")
    if params.get("max_xact_id") is None:
        raise InvalidRequest("max_root_span_id needs max_xact_id (together they are a cursor)")
    try:
        return parse_xact(params["max_xact_id"]), root
    except ValueError:
        raise InvalidRequest("max_xact_id must be a decimal transaction id") from None


@router.post("/v1/{object_type}/{object_id}/fetch")
async def fetch_post(request: Request, object_type: ObjectPath, object_id: str):
    """A page of rows (latest version of each, or as of ``version``), newest traces first;
    ``limit`` counts traces and ``cursor`` is null on the last page."""
    params = await json_body(request, required=False)
    return await asyncio.to_thread(_fetch, request, object_type, object_id, params)


@router.get("/v1/{object_type}/{object_id}/fetch")
def fetch_get(
    request: Request,
    object_type: ObjectPath,
    object_id: str,
    limit: int | None = None,
    cursor: str | None = None,
    version: str | None = None,
    max_xact_id: str | None = None,
    max_root_span_id: str | None = None,
):
    """The GET form of fetch, with the same parameters in the query string."""
    params = {
        "limit": limit,
        "cursor": cursor,
        "version": version,
        "max_xact_id": max_xact_id,
        "max_root_span_id": max_root_span_id,
    }
    return _fetch(request, object_type, object_id, params)
