"""``POST /btql``: BTQL, SQL or the JSON AST in; rows out as json, jsonl, csv or parquet."""

from __future__ import annotations

import asyncio
import dataclasses

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

from tracelake.datasets.versions import is_snapshot_name, query_snapshot
from tracelake.errors import InvalidRequest
from tracelake.export.formats import FORMATS
from tracelake.export.queries import JSON_ITEMS, QueryOptions, explain_query, run_query
from tracelake.model.xact import parse_xact
from tracelake.query.ast import Query
from tracelake.query.parsers import parse_query
from tracelake.server.http import json_body, principal_of

router = APIRouter()


def _snapshot_version(request: Request, options: QueryOptions, name: str) -> QueryOptions:
    """``version`` given as a snapshot name: the version it names."""
    query = options.query if isinstance(options.query, Query) else parse_query(options.query)
    org_id = principal_of(request).org_id
    version = query_snapshot(request.app.state.catalog, org_id, query, name)
    return dataclasses.replace(options, query=query, version=version)


def _options(body: dict) -> QueryOptions:
    query = body.get("query")
    if query is None:
        raise InvalidRequest("missing required field 'query'")
    if not isinstance(query, str | dict):
        raise InvalidRequest("query must be a string (BTQL or SQL) or a query object")
    # (missing or null is the default; another value that is false, "" or [], is wrong)
    fmt = _given(body, "fmt", "json")
    if not isinstance(fmt, str) or fmt not in FORMATS:
        raise InvalidRequest(f"fmt must be one of {', '.join(FORMATS)}")
    tz_offset = _given(body, "tz_offset", 0)
    if isinstance(tz_offset, bool) or not isinstance(tz_offset, int):
        raise InvalidRequest("tz_offset must be an integer number of minutes")
    if not -24 * 60 <= tz_offset <= 24 * 60:
        raise InvalidRequest("tz_offset must be between -1440 and 1440 minutes")
    version = body.get("version")
    if is_snapshot_name(version):
        pass  # a snapshot name, resolved once the query's dataset is known
    elif version is not None:
        try:
            version = parse_xact(version)
        except ValueError as exc:
            raise InvalidRequest(str(exc)) from None
    cursor = body.get("cursor")
    if cursor is not None and not isinstance(cursor, str):
        raise InvalidRequest("cursor must be a string: the cursor of the previous page")
    if cursor:
        query = _with_cursor(query, cursor)
    return QueryOptions(
        query=query,
        fmt=fmt,
        tz_offset=tz_offset,
        version=version,
        audit_log=_flag(body, "audit_log"),
    )


def _with_cursor(query: str | dict, cursor: str) -> Query:
    """The query with a ``cursor`` given beside it in the request body, which means what the
    query's own cursor clause means; the two may be both given only when they agree."""
    parsed = parse_query(query)
    if parsed.cursor is not None and parsed.cursor != cursor:
        raise InvalidRequest(
            "the request's cursor and the query's cursor differ: give the cursor once"
        )
    return dataclasses.replace(parsed, cursor=cursor)


def _given(body: dict, name: str, default):
    value = body.get(name)
    return default if value is None else value


def _flag(body: dict, name: str) -> bool:
    """A true/false option (missing or null: false); anything else is refused, so that
    ``"explain": 1`` does not run the query instead of explaining it."""
    value = body.get(name)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise InvalidRequest(f"{name} must be true or false")
    return value


@router.post("/btql")
async def btql(request: Request):
    """Run a query. ``query`` is BTQL clause text, Braintrust SQL, or the JSON AST that SDKs
    send; ``fmt`` json (default) answers ``{data, schema, cursor, freshness_state}``, the
    other formats answer the rows with the cursor in the ``x-bt-cursor`` header."""
    principal = principal_of(request)
    body = await json_body(request)
    options = _options(body)
    if is_snapshot_name(options.version):
        options = _snapshot_version(request, options, options.version)
    state = request.app.state
    if _flag(body, "explain"):
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
