"""Serve the web UI: ``GET /`` is the app's page and ``/assets/*`` its files.

The app routes with the URL fragment (``/#/p/<project>/logs?…``), so the server needs no
catch-all route that could shadow an API path, and every asset URL is relative, so the UI works
behind a path prefix (``https://host/tracelake/``) unchanged.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse
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

    assets = DIST / "assets"
    if assets.is_dir():
        app.mount("/assets", StaticFiles(directory=assets), name="ui-assets")
