"""The server ships the built web UI at `/` without shadowing any API route."""

from __future__ import annotations

import re
from pathlib import Path

from tracelake.web import DIST, built_hash, source_hash

WEB = Path(__file__).resolve().parents[2] / "web"


def test_index_page_uses_relative_asset_urls(app_client):
    res = app_client.get("/")
    assert res.status_code == 200
    assert res.headers["content-type"].startswith("text/html")
    assert res.headers["cache-control"] == "no-cache"
    assets = re.findall(r'(?:src|href)="(\./assets/[^"]+)"', res.text)
    assert any(a.endswith(".js") for a in assets) and any(a.endswith(".css") for a in assets)
    # Relative URLs: behind a path prefix the browser asks for <prefix>/assets/…
    assert '"/assets/' not in res.text
    for asset in assets:
        served = app_client.get(asset[1:])
        assert served.status_code == 200, asset
        assert served.content == (DIST / asset[2:]).read_bytes()
    assert app_client.get("/assets/index.js").status_code == 404


def test_api_routes_are_not_shadowed(app_client):
    assert app_client.get("/v1").status_code == 200
    assert app_client.get("/version").json()["version"]
    for path in ("/v1/no-such-route", "/logs", "/p/x/logs", "/assets"):
        res = app_client.get(path)
        assert res.status_code == 404, path
        assert res.json()["error"]["type"] == "NotFound"
    unauthenticated = app_client.post("/btql", json={"query": "x"}, headers={"Authorization": ""})
    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["content-type"] == "application/json"


def test_the_dev_server_proxies_every_path_the_ui_calls():
    """README: `npm run dev` proxies the API to a server on port 8000. It proxied /v1, /btql,
    /api and /version, not /attachment: the row editor's uploads and downloads were 404s."""
    called = set()
    for source in (WEB / "src").rglob("*.ts*"):
        called.update(
            re.findall(r"request(?:<[^>]*>)?\(\s*[`\"']([a-z0-9_-]+)", source.read_text())
        )
    assert {"v1", "btql", "api", "attachment"} <= called
    config = (WEB / "vite.config.ts").read_text()
    proxied = set(re.findall(r'"/([a-z0-9_-]+)"', config.split("proxy:", 1)[1]))
    assert called <= proxied, f"not proxied by web/vite.config.ts: {sorted(called - proxied)}"


def test_committed_build_matches_the_sources():
    """`make ui` rebuilds dist/ from web/; commit both together."""
    assert built_hash() == source_hash(WEB), "web/ changed since the last build: run `make ui`"


def test_braintrust_links_lead_into_the_ui(app_client):
    """The SDK prints links in the Braintrust app's form; the browser opening one is sent
    to the UI's #/open route with the link (names still encoded), by a relative location
    that reaches the UI's page from the link's folder, behind a path prefix too."""
    from urllib.parse import parse_qs, urljoin

    links = [
        "/app/tracelake/p/my%20proj/experiments/run%2F1",
        "/app/tracelake/p/my%20proj",
        "/app/tracelake/p/my%20proj/logs?oid=abc",
        "/app/tracelake/object?object_type=project_logs&object_id=p1&id=r%201",
    ]
    for link in links:
        res = app_client.get(link, follow_redirects=False, headers={"Authorization": ""})
        assert res.status_code == 302, link
        location = res.headers["location"]
        for prefix in ("http://h", "http://h/tracelake"):
            landed = urljoin(prefix + link, location)
            page, _, fragment = landed.partition("#")
            assert page == prefix + "/", (link, location)
            route, _, query = fragment.partition("?")
            assert route == "/open"
            assert parse_qs(query) == {"link": [link]}
