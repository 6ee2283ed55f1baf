"""Request and response helpers shared by the routes: body limits, JSON in and out, auth."""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from fastapi import Request
from fastapi.responses import Response

from tracelake.errors import (
    Forbidden,
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    RequestTimeout,
    TracelakeError,
    Unauthorized,
    UnsupportedMediaType,
)
from tracelake.model.otel.wire import decompress
from tracelake.store.catalog import Principal

# In the scope of a HEAD request, which the app runs as a GET (app.HeadAsGet): a route whose
# body is costly to make (an export) answers its headers alone.
HEAD_REQUEST = "tracelake.head"


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        if isinstance(content, bytes):
            return content
        return orjson.dumps(content)


def error_headers(exc: TracelakeError) -> dict[str, str] | None:
    """The headers an error is answered with: a 401 names the scheme it wants (RFC 9110
    §11.6.1 requires ``WWW-Authenticate``; 401s had none), a 409 tells the REST client not to
    retry (it retries 409s unless told), a 408 closes the connection (the rest of a body the
    client may still send is no next request)."""
    if exc.status == 401:
        return {"WWW-Authenticate": 'Bearer realm="tracelake"'}
    if exc.status == 409:
        return {"x-should-retry": "false"}
    if exc.status == 408:
        return {"Connection": "close"}
    return None


def header_text(request: Request, name: str) -> str | None:
    """A header's value as the text its client meant. The server hands header bytes over as
    latin-1; curl, Go (the Collector) and most clients send UTF-8 (``project_name:café``
    arrived as ``cafÃ©``), while Python's http.client sends latin-1. Bytes that are valid
    UTF-8 are read as UTF-8, others stay latin-1. A header sent twice is a 400: the first was
    taken and the other dropped without a word (two x-bt-parent headers, one from the
    exporter's settings and one added by a proxy, sent spans to whichever came first)."""
    values = request.headers.getlist(name)
    if len(values) > 1:
        raise InvalidRequest(f"send one {name} header (this request has {len(values)})")
    value = values[0] if values else None
    if value is None or value.isascii():
        return value
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value


async def _receive_body(request: Request, take: Callable[[bytes], None]) -> None:
    """Hand each part of the request body to ``take``, refused with 408 when the client sends
    nothing for ``client_timeout_seconds`` (a client that sent its headers and stalled held its
    connection, and the request's memory, for as long as it kept the socket open)."""
    idle = request.app.state.settings.client_timeout_seconds
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(idle) as timer:
            async for chunk in request.stream():
                take(chunk)
                timer.reschedule(loop.time() + idle)
    except TimeoutError:
        if not timer.expired():
            raise
        raise RequestTimeout(
            f"the request body stopped arriving: nothing came for {idle} seconds"
        ) from None


async def read_body(request: Request) -> bytes:
    """The request body, refused with 413 past the configured size."""
    limit = request.app.state.settings.max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"request body is larger than {limit} bytes")
    chunks = []
    size = 0

    def take(chunk: bytes) -> None:
        nonlocal size
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"request body is larger than {limit} bytes")
        chunks.append(chunk)

    await _receive_body(request, take)
    return b"".join(chunks)


def parse_json(body: bytes, *, required: bool = True) -> Any:
    """Parse a JSON body whatever its Content-Type says (the SDK sends none)."""
    if not body.strip():
        if required:
            raise InvalidRequest("request body is empty; expected JSON")
        return {}
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"malformed JSON: {_not_utf8(body) or exc}") from None


def _not_utf8(body: bytes) -> str | None:
    """What is wrong with a body that is not UTF-8, as orjson's message ("str is not valid
    UTF-8: surrogates not allowed ... (char 0)") names neither the cause nor the place."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return (
            f"the body is not UTF-8 text (JSON must be UTF-8): invalid byte"
            f" {body[exc.start]:#04x} at offset {exc.start}"
        )
    return None


async def json_body(request: Request, *, required: bool = True) -> dict:
    """The JSON object a request sends, after its ``Content-Encoding`` (gzip or deflate, at
    most ``max_body_bytes`` once decompressed, as on the OTel route; a compressed body was
    read as malformed JSON, with a message about UTF-8 surrogates)."""
    body = await read_body(request)
    encoding = request.headers.get("content-encoding")
    if encoding is not None:
        body = decompress(body, encoding, request.app.state.settings.max_body_bytes)
    data = parse_json(body, required=required)
    if not isinstance(data, dict):
        raise InvalidRequest("request body must be a JSON object")
    return data


def principal_of(request: Request) -> Principal:
    """Authenticate ``Authorization: Bearer <key>``."""
    header = request.headers.get("authorization")
    if not header:
        raise Unauthorized("missing Authorization header: send 'Authorization: Bearer <API key>'")
    scheme, _, key = header.partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        raise Unauthorized("the Authorization header must be 'Bearer <API key>'")
    principal = request.app.state.catalog.authenticate(key)
    if principal is None:
        raise Unauthorized("invalid API key")
    return principal


def check_org_name(principal: Principal, org_name: str | None) -> None:
    """A list filtered by ``org_name`` names the caller's organization, or it is not found."""
    if org_name is not None and org_name != principal.org_name:
        raise NotFound(f"organization {org_name!r} not found")


def writer_of(request: Request) -> Principal:
    """Authenticate, and refuse a read-only key (403)."""
    principal = principal_of(request)
    if not principal.can_write:
        raise Forbidden("this API key is read-only")
    return principal


def is_instance_admin(request: Request, principal: Principal) -> bool:
    """An admin key of the first organization (the one ``tracelake serve`` created): the
    server's own administrator, who may create organizations and act with the server's own
    authority (file:// exports, its AWS credentials)."""
    return principal.is_admin and request.app.state.catalog.first_org_id() == principal.org_id


def field_of(data: dict, name: str, kind: type | tuple, *, required: bool = False, default=None):
    """Read one field of a JSON body, checking its type."""
    value = data.get(name)
    if value is None:
        if required:
            raise InvalidRequest(f"missing required field {name!r}")
        return default
    if isinstance(value, bool) and kind in (int, float, (int, float)):
        raise InvalidRequest(f"field {name!r} must be a number")
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in kinds):
        # (true is an int to Python, not to a JSON client)
        raise InvalidRequest(f"field {name!r} has the wrong type")
    return value


async def body_to_file(request: Request, directory: Path) -> Path:
    """Stream the request body to a new file in ``directory`` (uploads may be larger than
    memory should hold); refused with 413 past ``max_upload_bytes``. The caller deletes it."""
    limit = request.app.state.settings.max_upload_bytes
    encoding = request.headers.get("content-encoding", "").strip().lower()
    if encoding not in ("", "identity"):
        # Stored as sent, a gzip upload came back from its download compressed and unmarked.
        raise UnsupportedMediaType(
            f"uploads are sent uncompressed, not with Content-Encoding {encoding!r}"
        )
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the file is larger than {limit} bytes")
    directory.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="upload-", dir=directory)
    path = Path(name)
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:

            def take(chunk: bytes) -> None:
                nonlocal size
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge(f"the file is larger than {limit} bytes")
                out.write(chunk)

            await _receive_body(request, take)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def check_known(body: dict, known: set[str]) -> None:
    """A field the route has nothing for is a 400 naming it (it was dropped without a word)."""
    unknown = [k for k in body if k not in known]
    if unknown:
        raise InvalidRequest(f"unknown field {unknown[0]!r}")
