"""The application object: settings, the store, routes and the one place errors become HTTP."""

from __future__ import annotations

import logging
import re
from contextlib import asynccontextmanager
from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import RedirectResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.routing import Match

from tracelake import __version__
from tracelake.automations.exports import ExportContext
from tracelake.automations.scheduler import Scheduler
from tracelake.errors import TracelakeError
from tracelake.search.index import TextIndex
from tracelake.server.http import HEAD_REQUEST, JSONResponse, error_headers, principal_of
from tracelake.server.routes import (
    attachments,
    auth,
    automations,
    btql,
    datasets,
    events,
    export,
    objects,
    otel,
    project_config,
    reviews,
    summaries,
    views,
)
from tracelake.server.unsupported import unsupported_route
from tracelake.server.webui import mount_ui
from tracelake.settings import Settings
from tracelake.store.catalog import Catalog, bootstrap
from tracelake.store.indexing import Indexer
from tracelake.store.store import Store

log = logging.getLogger("tracelake")

# A path prefix: segments of URL path characters, no empty segment, no "." or "..".
_PREFIX = re.compile(r"^(/(?!\.\.?(?:/|$))[A-Za-z0-9._~!$&'()*+,;=:@%-]+)*$")


class PublicPrefix:
    """Behind a reverse proxy that serves the server under a path prefix and strips it, the
    URLs the server hands out (login's ``api_url``, attachment URLs) must carry the prefix.
    It is the ``X-Forwarded-Prefix`` header the proxy sends; without one, for the web UI's
    own calls, the path of a same-origin ``Referer`` that is a directory (the UI's page is
    served at ``/``, so ``https://host/tracelake/`` means ``/tracelake``). Request paths and
    routing are unchanged: only ``request.base_url`` follows (Starlette's ``app_root_path``).
    A prefix only shapes the answer to the request that sent it."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            headers = dict(scope["headers"])
            forwarded = headers.get(b"x-forwarded-prefix")
            if forwarded is not None:
                prefix = forwarded.decode("latin-1").strip().rstrip("/")
                if not _PREFIX.match(prefix):
                    message = "X-Forwarded-Prefix must be a URL path such as /tracelake"
                    error = {"error": {"type": "InvalidRequest", "message": message}}
                    await JSONResponse(error, status_code=400)(scope, receive, send)
                    return
            else:
                prefix = _referer_prefix(headers)
            if prefix:
                root = scope.get("app_root_path", scope.get("root_path", ""))
                scope = {**scope, "app_root_path": root.rstrip("/") + prefix}
        await self.app(scope, receive, send)


class InternalErrors:
    """An unexpected exception is a 500 ``InternalError``, logged once. Answered here, inside
    the CORS middleware, it carries the CORS headers every other answer has: Starlette's own
    handler of ``Exception`` runs outside every middleware, so a browser page saw a CORS
    failure instead of the 500, and uvicorn logged the traceback a second time."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception:
            if started:
                raise  # part of an answer is sent: only closing the connection can tell
            log.exception("unexpected error on %s %s", scope["method"], scope["path"])
            message = "internal error; see the server log"
            error = {"error": {"type": "InternalError", "message": message}}
            await JSONResponse(error, status_code=500)(scope, receive, send)


class HeadAsGet:
    """``HEAD`` is ``GET`` without the body (RFC 9110 §9.3.2). FastAPI's routes take only the
    methods they name, so ``HEAD /version`` (a health check's usual request) or ``HEAD /``
    answered 405. The scope says :data:`HEAD_REQUEST`, for a route whose body is costly to
    make (an export)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message):
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET", HEAD_REQUEST: True}, receive, headers_only)


def allowed_methods(request: Request) -> str:
    """The ``Allow`` header of a 405: each method some route of the request's path takes (the
    router's own 405 named only the first such route's; a ``GET`` route also takes ``HEAD``)."""
    scope = {k: v for k, v in request.scope.items() if k != "fastapi"}
    methods = [
        method
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE")
        if any(
            route.matches({**scope, "method": method})[0] == Match.FULL
            for route in request.app.router.routes
        )
    ]
    if "GET" in methods:
        methods.insert(1, "HEAD")
    return ", ".join(methods)


def slash_redirect(request: Request) -> str | None:
    """Where a path that differs from a route's only by a trailing slash is redirected: that
    route's path, under the public prefix, as a path without scheme and host (Starlette's own
    redirect named this host by the request's scheme and without the proxy's prefix, so
    behind a proxy serving ``/tracelake`` it pointed outside it)."""
    path = request.scope["path"]
    if path == "/" or "endpoint" in request.scope:
        return None  # the root, or a 404 of a route that matched (a missing UI asset)
    other = path.rstrip("/") if path.endswith("/") else path + "/"
    scope = {k: v for k, v in request.scope.items() if k != "fastapi"}
    scope["path"] = other
    if not any(route.matches(scope)[0] != Match.NONE for route in request.app.router.routes):
        return None
    public = request.app.state.settings.public_url
    prefix = urlsplit(public).path if public else request.scope.get("app_root_path", "")
    query = request.scope.get("query_string", b"").decode("latin-1")
    location = "/" + quote(prefix.rstrip("/") + other).lstrip("/")  # never //host
    return location + (f"?{query}" if query else "")


def _referer_prefix(headers: dict[bytes, bytes]) -> str:
    """The directory of a same-origin Referer (``""`` if there is none)."""
    referer = headers.get(b"referer")
    host = headers.get(b"host")
    if referer is None or host is None:
        return ""
    try:
        parts = urlsplit(referer.decode("latin-1"))
    except ValueError:
        return ""
    if parts.netloc != host.decode("latin-1") or not parts.path.endswith("/"):
        return ""
    prefix = parts.path.rstrip("/")
    return prefix if _PREFIX.match(prefix) else ""


def create_app(
    settings: Settings, *, on_generated_key=None, on_started=None, store: Store | None = None
) -> FastAPI:
    """Build the app. The store opens at startup (unless an open ``store`` is given) and
    closes at shutdown.

    ``on_generated_key(key)`` is called once if a first start generated the admin key;
    ``on_started(app)`` runs once the store is open (the server's ``--demo`` uses it).
    """
    given = [store]

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        store = given.pop() if given and given[0] is not None else Store(settings.data_dir)
        store.start()
        catalog = Catalog(store)
        generated = bootstrap(catalog, settings.org_name, settings.api_key)
        if generated and on_generated_key is not None:
            on_generated_key(generated)
        app.state.store = store
        app.state.catalog = catalog
        app.state.text_index = TextIndex(settings.data_dir / "search")
        indexer = Indexer(store, app.state.text_index)
        indexer.start()
        scheduler = Scheduler(
            ExportContext(
                store, catalog, app.state.text_index, settings.export_query_timeout_seconds
            ),
            tick_seconds=settings.scheduler_tick_seconds,
        )
        app.state.scheduler = scheduler
        scheduler.start()
        if on_started is not None:
            on_started(app)
        try:
            yield
        finally:
            scheduler.stop()
            indexer.stop()
            store.close()

    app = FastAPI(
        title="tracelake",
        version=__version__,
        lifespan=lifespan,
        default_response_class=JSONResponse,
        redirect_slashes=False,  # done by the 404 handler, under the public prefix
    )
    app.state.settings = settings

    @app.exception_handler(TracelakeError)
    async def tracelake_error(request: Request, exc: TracelakeError):
        return JSONResponse(exc.to_json(), status_code=exc.status, headers=error_headers(exc))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        # FastAPI checks a route's query parameters before the route authenticates: a request
        # without a valid key is a 401 whatever its parameters (it was told about them first).
        # Signed attachment URLs take no key: their parameters are the permission.
        if not request.url.path.startswith("/attachment/blob/"):
            try:
                principal_of(request)
            except TracelakeError as error:
                return await tracelake_error(request, error)
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        message = f"{where}: {first.get('msg', 'invalid request')}"
        return JSONResponse(
            {"error": {"type": "InvalidRequest", "message": message}}, status_code=400
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        kind = "NotFound" if exc.status_code == 404 else "HTTPError"
        headers = dict(exc.headers or {})
        if exc.status_code == 404 and (location := slash_redirect(request)):
            return RedirectResponse(location, status_code=307)
        if exc.status_code == 405:
            headers["Allow"] = allowed_methods(request) or headers.get("Allow", "GET, HEAD")
        message = str(exc.detail)
        if exc.status_code == 404 and "endpoint" not in request.scope:
            message = unsupported_route(request.method, request.scope["path"]) or message
        return JSONResponse(
            {"error": {"type": kind, "message": message}},
            status_code=exc.status_code,
            headers=headers or None,
        )

    @app.exception_handler(ClientDisconnect)
    async def client_disconnected(request: Request, exc: ClientDisconnect):
        # A client gone before its body ended (killed, or cut off by a proxy's timeout) is no
        # server bug: it was logged as one, with two tracebacks. Nobody reads this answer.
        log.info("client disconnected during %s %s", request.method, request.url.path)
        message = "the client disconnected before the request body ended"
        return JSONResponse({"error": {"type": "InvalidRequest", "message": message}}, 400)

    for module in (
        auth,
        objects,
        events,
        otel,
        datasets,
        attachments,
        summaries,
        btql,
        export,
        automations,
        project_config,
        reviews,
        views,
    ):
        app.include_router(module.router)
    mount_ui(app)
    app.add_middleware(PublicPrefix)
    app.add_middleware(InternalErrors)
    app.add_middleware(HeadAsGet)
    # Browsers may call the API from any page (the Braintrust JS SDK in a browser app): keys are
    # bearer headers, never cookies, so no origin gains anything it does not hold a key for.
    # Preflights (OPTIONS) were a 405, so such calls never left the browser. The same holds for
    # a public page calling a server on a private network (Chrome's Private Network Access
    # preflight was a 400, "Disallowed CORS private-network").
    app.add_middleware(
        CORSMiddleware,
        allow_origins=["*"],
        allow_private_network=True,
        allow_methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
        allow_headers=["*"],
        expose_headers=[
            "x-bt-cursor",
            "x-bt-freshness-state",
            "x-should-retry",
            "content-disposition",
            "www-authenticate",
        ],
        max_age=86400,
    )
    return app
