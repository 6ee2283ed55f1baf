"""Serve the web UI: ``GET /`` is the app's page and ``/assets/*`` its files, and links in
Braintrust's form (``/app/<org>/…``, which the SDK prints) lead into it.

The app routes with the URL fragment (``/#/p/<project>/logs?…``), so the server needs no
catch-all route that could shadow an API path (``/app/`` is the Braintrust app's, not its
API's), and every asset URL is relative, so the UI works behind a path prefix
(``https://host/tracelake/``) unchanged.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from tracelake.web import DIST

NOT_BUILT = (
    "<!doctype html><title>tracelake</title><p>The web UI is not built. "
    "In a source checkout run <code>make ui</code> (needs Node 20).</p>"
)


def mount_ui(app: FastAPI) -> None:
    index = DIST / "index.html"

    @app.get("/", include_in_schema=False)
    def ui_index():
        if not index.exists():
            return HTMLResponse(NOT_BUILT, status_code=503)
        # The page itself must not be cached: it names the hashed asset files of this build.
        return FileResponse(index, headers={"Cache-Control": "no-cache"})

    @app.get("/app/{link:path}", include_in_schema=False)
    def ui_link(link: str, request: Request):
        """A Braintrust link (``/app/<org>/p/<project>/experiments/<name>``, ``/app/<org>/
        object?object_type=…``): to the UI's page that opens it. The browser sends no API key,
        so the UI, which holds one, finds the objects the link names."""
        return RedirectResponse(ui_link_location(request), status_code=302)

    assets = DIST / "assets"
    if assets.is_dir():
        app.mount("/assets", StaticFiles(directory=assets), name="ui-assets")


def ui_link_location(request: Request) -> str:
    """Where a Braintrust link sends the browser: the UI's ``#/open`` route, with the link's
    path (still percent-encoded, as the SDK wrote it) and query. The location is relative (up
    to the UI's page from the link's folder), so it holds behind a path prefix too."""
    raw = request.scope.get("raw_path") or request.url.path.encode()
    path = raw.decode("latin-1")
    link = path + (f"?{request.url.query}" if request.url.query else "")
    up = "../" * (path.count("/") - 1)
    return f"{up or './'}#/open?{urlencode({'link': link})}"
