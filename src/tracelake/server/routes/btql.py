"""``POST /btql``: BTQL, SQL or the JSON AST in; rows out as json, jsonl, csv or parquet."""

from __future__ import annotations

import asyncio
import dataclasses

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

from tracelake.errors import InvalidRequest
from tracelake.export.formats import FORMATS
from tracelake.export.queries import JSON_ITEMS, QueryOptions, explain_query, run_query
from tracelake.model.xact import parse_xact
from tracelake.server.http import json_body, principal_of

router = APIRouter()


def _options(body: dict) -> QueryOptions:
    query = body.get("query")
    if query is None:
        raise InvalidRequest("missing required field 'query'")
    if not isinstance(query, str | dict):
        raise InvalidRequest("query must be a string (BTQL or SQL) or a query object")
    fmt = body.get("fmt") or "json"
    if fmt not in FORMATS:
        raise InvalidRequest(f"fmt must be one of {', '.join(FORMATS)}")
    tz_offset = body.get("tz_offset") or 0
    if isinstance(tz_offset, bool) or not isinstance(tz_offset, int):
        raise InvalidRequest("tz_offset must be an integer number of minutes")
    if not -24 * 60 <= tz_offset <= 24 * 60:
        raise InvalidRequest("tz_offset must be between -1440 and 1440 minutes")
    version = body.get("version")
    if version is not None:
        try:
            version = parse_xact(version)
        except ValueError as exc:
            raise InvalidRequest(str(exc)) from None
    audit_log = body.get("audit_log") or False
    if not isinstance(audit_log, bool):
        raise InvalidRequest("audit_log must be true or false")
    return QueryOptions(
        query=query, fmt=fmt, tz_offset=tz_offset, version=version, audit_log=audit_log
    )


@router.post("/btql")
async def btql(request: Request):
    """Run a query. ``query`` is BTQL clause text, Braintrust SQL, or the JSON AST that SDKs
    send; ``fmt`` json (default) answers ``{data, schema, cursor, freshness_state}``, the
    other formats answer the rows with the cursor in the ``x-bt-cursor`` header."""
    principal = principal_of(request)
    body = await json_body(request)
    options = _options(body)
    state = request.app.state
    if body.get("explain") is True:
        return explain_query(state.catalog, principal, options, state.text_index)
    as_json = options.fmt == "json"
    if as_json:  # the rows come as one buffer, wrapped below
        options = dataclasses.replace(options, fmt=JSON_ITEMS)
    result = await asyncio.to_thread(
        run_query,
        state.store,
        state.catalog,
        principal,
        options,
        timeout=state.settings.query_timeout_seconds,
        index=state.text_index,
    )
    headers = {"x-bt-freshness-state": "complete"}
    if as_json:
        # One join: a page can be megabytes, and each + would copy it again.
        body = b"".join(
            [
                b'{"data":[',
                result.body,
                b'],"schema":',
                orjson.dumps(result.schema),
                b',"cursor":',
                orjson.dumps(result.cursor),
                b',"freshness_state":',
                orjson.dumps(result.freshness),
                b',"realtime_state":{"type":"on"}}',
            ]
        )
        return Response(body, media_type="application/json", headers=headers)
    if result.cursor:
        headers["x-bt-cursor"] = result.cursor
    return Response(result.body, media_type=FORMATS[options.fmt].media_type, headers=headers)
