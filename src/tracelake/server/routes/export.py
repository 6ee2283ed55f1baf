"""Ad hoc export downloads."""

from __future__ import annotations

import dataclasses
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from tracelake.datasets.versions import export_version
from tracelake.export.formats import FORMATS
from tracelake.export.queries import run_query
from tracelake.export.stream import ExportRequest, stream
from tracelake.server.http import HEAD_REQUEST, principal_of

router = APIRouter()


# ``:path``: a name may hold a ``/`` (sent as ``%2F``, which the router sees decoded), and an
# object named ``team/cases`` answered a bare 404 although ``--data-dir`` exports found it.
@router.get("/v1/{object_type}/{object_id:path}/export")
def export_object(
    request: Request,
    object_type: str,
    object_id: str,
    format: str = "jsonl",
    filter: str | None = None,
    shape: str = "spans",
    audit_log: bool = False,
    version: str | None = None,
):
    """Every row of an object (project_logs, experiment or dataset; by id or name) as one
    json, jsonl, csv or parquet file, optionally filtered by a BTQL expression, streamed page
    by page. Tags, comments, expected values, scores and metadata are all included; with
    ``audit_log``, each row's ``audit_data`` too. ``version`` (a transaction id, or a
    dataset's snapshot name): the rows as they were at that version, as ``/btql`` reads them."""
    principal = principal_of(request)
    state = request.app.state
    export = ExportRequest(object_type, object_id, format, filter, shape, audit_log)
    if version is not None and version.strip():
        export.check()  # (a bad object type or filter says so, not the version's lookup)
        at = export_version(state.catalog, principal.org_id, export.query(None), version)
        export = dataclasses.replace(export, version=at)

    def run(options):
        return run_query(
            state.store,
            state.catalog,
            principal,
            options,
            timeout=state.settings.query_timeout_seconds,
            index=state.text_index,
        )

    chunks = stream(export, run)  # reads the first page now: errors answer 4xx
    if request.scope.get(HEAD_REQUEST):
        # The headers the GET would answer (its errors too) without the other pages: a
        # HEAD ran the whole export, to drop it.
        chunks.close()
        chunks = iter(())
    filename = f"{object_type}-{object_id}.{format}"
    return StreamingResponse(
        chunks,
        media_type=FORMATS[format].media_type,
        headers={"content-disposition": _attachment(filename)},
    )


def _attachment(filename: str) -> str:
    """A Content-Disposition naming ``filename``, which holds an object's name as given: one
    outside plain ASCII, or with a quote, goes as RFC 6266's ``filename*`` (a header is
    Latin-1, so such a name answered a 500; a quote cut the name short)."""
    encoded = quote(filename, safe="")
    if encoded == filename:
        return f'attachment; filename="{filename}"'
    return f"attachment; filename*=utf-8''{encoded}"
