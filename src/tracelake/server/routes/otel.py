"""``POST /otel/v1/traces``: OpenTelemetry spans over OTLP/HTTP (protobuf or JSON)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import Response

from tracelake.errors import Forbidden, NotFound, TracelakeError
from tracelake.model.objects import ObjectRef, ObjectType
from tracelake.model.otel.parents import Parent
from tracelake.model.otel.spans import map_request, rejection_summary, route_rows, row_states
from tracelake.model.otel.wire import (
    BodyFormat,
    body_format,
    decode_request,
    decompress,
    export_response,
    status_body,
    unsupported_content_type,
)
from tracelake.server.http import error_headers, header_text, principal_of, read_body
from tracelake.store.catalog import Catalog, Principal
from tracelake.store.events import prepare_states

router = APIRouter()


def _object_keys(catalog: Catalog, principal: Principal, parent: Parent) -> dict:
    """Routing keys for a parent; ``project_name:`` creates the project if it is new.

    This runs on the event loop (spans are routed as they are decoded): a project found by
    its name is remembered until the catalog changes, as other lookups are, so only the
    first spans of a new project wait for the catalog's lock (every request of an exporter
    sending ``project_name:`` took the lock and read the catalog, and a slow catalog change
    held up every other request meanwhile)."""
    if parent.kind == "project_name":
        org_id = principal.org_id
        try:
            project_id = catalog.resolved(
                ("project_name", org_id, parent.value),
                lambda: catalog.project_by_name(org_id, parent.value)["id"],
            )
        except NotFound:
            project_id = catalog.create_project(org_id, parent.value)["id"]
        return {"project_id": project_id, "log_id": "g"}
    if parent.kind == "project_id":
        catalog.object_info(principal.org_id, ObjectRef(ObjectType.PROJECT_LOGS, parent.value))
        return {"project_id": parent.value, "log_id": "g"}
    catalog.object_info(principal.org_id, ObjectRef(ObjectType.EXPERIMENT, parent.value))
    return {"experiment_id": parent.value}


# OTLP exporters retry only 429, 502, 503 and 504 (the Collector and the JS exporter drop a
# batch for good on any other status): a full disk (507 elsewhere) is a 503, to be sent again.
_OTLP_STATUS = {507: 503}


# Also with a trailing slash: the 307 to the path without it (as elsewhere) is not followed
# by the JS OTLP exporter, which dropped the batch (a base URL ending in "/" builds one).
@router.post("/otel/v1/traces")
@router.post("/otel/v1/traces/", include_in_schema=False)
async def otel_traces(request: Request):
    """OTLP/HTTP trace export (protobuf or JSON, gzip or deflate). Spans go to the
    ``braintrust.parent`` attribute's object, else the ``x-bt-parent`` header's
    (``project_id:``, ``project_name:``, ``experiment_id:`` or an exported span). Answers an
    ``ExportTraceServiceResponse`` in the request's format, with ``partial_success`` counting
    spans that could not be stored."""
    fmt: BodyFormat | None = None
    try:
        content_type = request.headers.get("content-type")
        fmt = body_format(content_type)  # errors are answered in the request's format
        principal = principal_of(request)
        if fmt is None:
            raise unsupported_content_type(content_type)
        if not principal.can_write:
            raise Forbidden("this API key is read-only")
        parent = header_text(request, "x-bt-parent")  # (before the body is read)
        settings = request.app.state.settings
        body = decompress(
            await read_body(request),
            request.headers.get("content-encoding"),
            settings.max_body_bytes,
        )
        mapped = map_request(decode_request(body, fmt))
        catalog = request.app.state.catalog
        rows, rejected = route_rows(
            mapped,
            parent,
            lambda parent: _object_keys(catalog, principal, parent),
        )
        batch = prepare_states(catalog, principal, row_states(rows))
        if batch.keys:
            await asyncio.wrap_future(request.app.state.store.submit(batch))
    except TracelakeError as exc:
        status = _OTLP_STATUS.get(exc.status, exc.status)
        return Response(
            status_body(fmt, status, exc.to_json()),
            status_code=status,
            media_type=(fmt or BodyFormat.JSON).value,
            headers=error_headers(exc),
        )
    message = rejection_summary(rejected) if rejected else ""
    return Response(export_response(fmt, len(rejected), message), media_type=fmt.value)


@router.post("/otel/v1/{signal}")
async def otel_other_signals(request: Request, signal: str):
    """Logs, metrics and any other OTLP signal: not taken, answered with a clear 404 (an
    exporter pointed at ``<server>/otel`` sends every signal its app produces)."""
    fmt = body_format(request.headers.get("content-type"))
    error = NotFound(f"only traces are taken (POST /otel/v1/traces); /otel/v1/{signal} is not")
    return Response(
        status_body(fmt, error.status, error.to_json()),
        status_code=error.status,
        media_type=(fmt or BodyFormat.JSON).value,
    )


@router.post("/v1/traces")
@router.post("/v1/logs")
@router.post("/v1/metrics")
async def otlp_without_prefix(request: Request):
    """An exporter whose base endpoint is the server itself rather than ``<server>/otel``
    (a common slip: it then posts to ``/v1/traces``): a 404 that says where OTLP goes."""
    fmt = body_format(request.headers.get("content-type"))
    error = NotFound(
        f"OTLP is taken at /otel/v1/traces, not {request.url.path}: set the exporter's "
        "endpoint to <server>/otel (OTEL_EXPORTER_OTLP_ENDPOINT), or its traces endpoint to "
        "<server>/otel/v1/traces"
    )
    return Response(
        status_body(fmt, error.status, error.to_json()),
        status_code=error.status,
        media_type=(fmt or BodyFormat.JSON).value,
    )
