"""The HTTP edges every route shares, against a real server: methods (HEAD, 405 with
Allow) and request bodies (Content-Encoding)."""

from __future__ import annotations

import gzip
import socket
import time
import uuid
import zlib

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient

from tests.conftest import ADMIN_KEY, ServerProcess
from tracelake.server.app import create_app
from tracelake.server.protocol import MAX_HEAD_BYTES
from tracelake.settings import Settings


@pytest.mark.parametrize("path", ["/version", "/", "/v1"])
def test_head_is_get_without_a_body(server, path):
    """HEAD /version (a health check's usual request) and HEAD / answered 405."""
    got = httpx.get(server.url + path)
    head = httpx.head(server.url + path)
    assert head.status_code == got.status_code == 200, head.text
    assert head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]
    assert head.headers["content-length"] == str(len(got.content))


def test_head_of_a_route_that_needs_a_key(server):
    assert httpx.head(server.url + "/v1/project").status_code == 401
    with server.client() as client:
        assert client.head("/v1/project").status_code == 200
        assert client.head("/v1/project").content == b""


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/ping", "GET, HEAD"),
        ("DELETE", "/v1/project", "GET, HEAD, POST"),
        ("GET", "/logs3", "POST"),
        ("POST", "/v1/project/some-id", "GET, HEAD, PATCH, DELETE"),
        ("PUT", "/v1/project_logs/some-id/fetch", "GET, HEAD, POST"),
        ("HEAD", "/btql", "POST"),
    ],
)
def test_405_names_every_allowed_method(server, method, path, allow):
    """A 405 carries Allow (RFC 9110 §15.5.6), with the methods of every route of the path:
    the error handler dropped the router's header, which named only one route's methods."""
    with server.client() as client:
        response = client.request(method, path)
    assert response.status_code == 405, response.text
    assert response.headers["allow"] == allow
    if method != "HEAD":
        assert response.json()["error"]["type"] == "HTTPError"


# -- request bodies -----------------------------------------------------------------------


def test_json_bodies_may_be_gzip_or_deflate(server):
    """A JSON body with Content-Encoding gzip or deflate is decompressed, as on the OTel
    route: it was read as malformed JSON ("str is not valid UTF-8: surrogates not allowed")."""
    name = f"gzip-{uuid.uuid4().hex[:8]}"
    with server.client() as client:
        body = gzip.compress(orjson.dumps({"name": name}))
        headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
        project = client.post("/v1/project", content=body, headers=headers)
        assert project.status_code == 200, project.text
        assert project.json()["name"] == name
        row = {"project_id": project.json()["id"], "log_id": "g", "id": "r", "input": "zipped"}
        body = zlib.compress(orjson.dumps({"rows": [row], "api_version": 2}))
        written = client.post("/logs3", content=body, headers={"Content-Encoding": "deflate"})
        assert written.status_code == 200, written.text
        query = {"query": f"select: input | from: project_logs('{name}')"}
        body = gzip.compress(orjson.dumps(query))
        found = client.post("/btql", content=body, headers={"Content-Encoding": "GZIP"})
        assert found.status_code == 200, found.text
        assert found.json()["data"] == [{"input": "zipped"}]


def test_json_bodies_in_another_encoding_are_refused(server):
    with server.client() as client:
        unknown = client.post(
            "/v1/project", content=b"\x00\x01", headers={"Content-Encoding": "br"}
        )
        assert unknown.status_code == 415, unknown.text
        assert "Content-Encoding" in unknown.json()["error"]["message"]
        broken = client.post(
            "/v1/project", content=b"not gzip", headers={"Content-Encoding": "gzip"}
        )
        assert broken.status_code == 400
        assert "gzip" in broken.json()["error"]["message"]


def test_a_gzip_body_is_limited_once_decompressed(fresh_server):
    fresh_server.env = {"TRACELAKE_MAX_BODY_BYTES": "100000"}
    fresh_server.start()
    rows = [{"project_name": "x", "log_id": "g", "id": "r", "input": "a" * 200_000}]
    body = gzip.compress(orjson.dumps({"rows": rows}))
    assert len(body) < 100_000
    with fresh_server.client() as client:
        response = client.post("/logs3", content=body, headers={"Content-Encoding": "gzip"})
    assert response.status_code == 413, response.text
    assert "decompressed" in response.json()["error"]["message"]


# -- trailing slashes ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("/v1/project/?limit=1", "/v1/project?limit=1"),
        ("/version/", "/version"),
        ("/app", "/app/"),
    ],
)
def test_a_trailing_slash_redirects_under_the_public_prefix(server, path, location):
    """A path that differs from a route's by a trailing slash is a 307 to that route, under
    the proxy's prefix: Starlette's redirect named the request's host and scheme without the
    prefix, so behind a proxy serving /tracelake it pointed outside it."""
    with server.client() as client:
        plain = client.get(path)
        assert plain.status_code == 307
        assert plain.headers["location"] == location
        proxied = client.get(path, headers={"X-Forwarded-Prefix": "/tracelake"})
        assert proxied.status_code == 307
        assert proxied.headers["location"] == "/tracelake" + location
        assert client.get(path, follow_redirects=True).status_code == 200


def test_a_path_no_route_takes_either_way_is_404(server):
    with server.client() as client:
        for path in ("/nothing/", "/v1/project/a/b/", "/assets/missing.js", "/assets/x.js/"):
            response = client.get(path)
            assert response.status_code == 404, (path, response.headers)
            assert response.json()["error"]["type"] == "NotFound"


# -- authentication -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        ("GET", "/v1/project", {}),
        ("POST", "/api/apikey/login", {"Authorization": "Bearer tl-no-such-key-0123456789"}),
        ("POST", "/logs3", {"Authorization": "Basic dXNlcjpwYXNz"}),
        ("POST", "/otel/v1/traces", {"Content-Type": "application/json"}),
    ],
)
def test_401_names_the_bearer_scheme(server, method, path, headers):
    """A 401 carries WWW-Authenticate (RFC 9110 §11.6.1), which it lacked."""
    response = httpx.request(method, server.url + path, headers=headers, content=b"{}")
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == 'Bearer realm="tracelake"'


# -- CORS -----------------------------------------------------------------------------------


def test_a_browser_page_of_another_origin_may_call_the_api(server):
    """The Braintrust JS SDK in a browser app calls the API from its page's origin: the
    preflight (OPTIONS) was a 405 and answers carried no Access-Control-Allow-Origin, so the
    browser sent nothing. Keys are bearer headers, not cookies, so any origin may call."""
    origin = {"Origin": "http://localhost:5173"}
    preflight = httpx.options(
        server.url + "/logs3",
        headers={
            **origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, x-bt-parent",
        },
    )
    assert preflight.status_code == 200, preflight.text
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    allowed = preflight.headers["access-control-allow-headers"].lower()
    assert {"authorization", "content-type", "x-bt-parent"} <= set(allowed.split(", "))
    assert "access-control-allow-credentials" not in preflight.headers
    with server.client() as client:
        login = client.post("/api/apikey/login", headers=origin)
        assert login.status_code == 200
        assert login.headers["access-control-allow-origin"] == "*"
        query = client.post("/btql", json={"query": "select: 1 as x"}, headers=origin)
        exposed = query.headers["access-control-expose-headers"]
        assert "x-bt-cursor" in exposed and "content-disposition" in exposed
    refused = httpx.get(server.url + "/ping", headers=origin)
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == "*"


def test_a_public_page_may_call_a_server_on_a_private_network(server):
    """Chrome's Private Network Access: a page of a public origin calling a server on a
    private address (the usual self-hosted one) first sends a preflight asking for it. It
    was a 400, "Disallowed CORS private-network", so the call never left the browser."""
    preflight = httpx.options(
        server.url + "/btql",
        headers={
            "Origin": "https://notebook.example.com",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
            "Access-Control-Request-Private-Network": "true",
        },
    )
    assert preflight.status_code == 200, preflight.text
    assert preflight.headers["access-control-allow-private-network"] == "true"
    assert preflight.headers["access-control-allow-origin"] == "*"


def test_a_server_error_carries_the_cors_headers(tmp_path, caplog):
    """A 500 came from Starlette's handler of ``Exception``, outside the CORS middleware: it
    had no Access-Control-Allow-Origin, so a browser page saw a CORS failure, not the error.
    (No route fails on purpose: one that does is added to the app for this test.)"""
    settings = Settings(data_dir=tmp_path / "data", api_key=ADMIN_KEY, scheduler_tick_seconds=0)
    app = create_app(settings)

    def broken():
        raise RuntimeError("a bug")

    app.add_api_route("/broken", broken)
    origin = {"Origin": "http://localhost:5173"}
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/broken", headers=origin)
        assert response.status_code == 500
        assert response.json()["error"]["type"] == "InternalError"
        assert response.headers["access-control-allow-origin"] == "*"
        assert "x-bt-cursor" in response.headers["access-control-expose-headers"]
        head = client.head("/broken", headers=origin)
        assert (head.status_code, head.content) == (500, b"")
    assert [r.message for r in caplog.records if "a bug" in (r.exc_text or "")] == [
        "unexpected error on GET /broken",
        "unexpected error on GET /broken",
    ]


@pytest.mark.parametrize(
    "path", ["/api/project", "/v1/dataset/some-id/diff", "/v1/project?limit=many"]
)
def test_a_request_without_a_key_is_401_whatever_its_parameters(server, path):
    """Query parameters were checked before the key: a request without one, or with a wrong
    one, was told about a missing ``id`` or a bad ``limit`` (400) instead of the key."""
    for headers in ({}, {"Authorization": "Bearer tl-no-such-key-0123456789"}):
        response = httpx.get(server.url + path, headers=headers)
        assert response.status_code == 401, response.text
        assert response.headers["www-authenticate"].startswith("Bearer")
    with server.client() as client:
        assert client.get(path).status_code == 400


def test_a_signed_attachment_url_without_its_parameters_is_400(server):
    response = httpx.get(server.url + "/attachment/blob/some-key")
    assert response.status_code == 400, response.text


def test_an_admin_key_read_with_its_final_newline_works(tmp_path):
    """TRACELAKE_API_KEY from a file (a Kubernetes secret made with --from-file) ends in a
    newline: the server registered the key with it, and as clients send the key without it
    (header values are stripped; so does the SDK), every request was a 401."""
    server = ServerProcess(tmp_path / "data", api_key=ADMIN_KEY + "\n").start()
    try:
        with server.client(api_key=ADMIN_KEY) as client:
            assert client.get("/ping").status_code == 200
            keys = client.get("/v1/api_key").json()["objects"]
            assert [k["preview_name"][-4:] for k in keys] == [ADMIN_KEY[-4:]]
    finally:
        server.stop()


def test_an_org_name_read_with_spaces_around_it_starts_the_server(tmp_path):
    """TRACELAKE_ORG_NAME from an env file with a stray space or newline: names may not
    start or end with whitespace, and the server stopped at startup with a traceback."""
    env = {"TRACELAKE_ORG_NAME": " my org\n"}
    server = ServerProcess(tmp_path / "data", env=env).start()
    try:
        with server.client() as client:
            assert client.get("/ping").status_code == 200
            orgs = client.get("/v1/organization").json()["objects"]
            assert [o["name"] for o in orgs] == ["my org"]
    finally:
        server.stop()


@pytest.mark.parametrize("path", ["/logs3", "/btql"])
def test_a_client_gone_before_its_body_ended_is_no_server_error(server, path):
    """A client that disconnects mid-body (killed, or cut off by a proxy) was logged as a
    server bug: "unexpected error" and two tracebacks."""
    before = len(server.log())
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {server.api_key}\r\n"
            "Content-Length: 1000\r\n\r\n"
        )
        sock.sendall(head.encode() + b'{"rows": [')
        time.sleep(0.3)
    time.sleep(0.5)
    assert httpx.get(server.url + "/version").status_code == 200
    logged = server.log()[before:]
    assert "Traceback" not in logged and "unexpected error" not in logged, logged


def test_a_client_that_stalls_mid_body_gets_408_and_its_connection_closed(tmp_path):
    """A client that sent its headers and part of its body, then nothing, held its
    connection (and the request) for as long as it kept the socket open: no read of a
    request body had a timeout. Uploads, streamed to a file, too."""
    server = ServerProcess(tmp_path / "data", env={"TRACELAKE_CLIENT_TIMEOUT_SECONDS": "1"})
    server.start()
    try:
        with server.client() as client:
            project = client.post("/v1/project", json={"name": "stall"}).json()
            dataset = client.post(
                "/v1/dataset", json={"name": "d", "project_id": project["id"]}
            ).json()
        for path in ("/logs3", f"/v1/dataset/{dataset['id']}/import?format=csv"):
            with socket.create_connection(("127.0.0.1", server.port)) as sock:
                head = (
                    f"POST {path} HTTP/1.1\r\nHost: x\r\n"
                    f"Authorization: Bearer {server.api_key}\r\nContent-Length: 1000\r\n\r\n"
                )
                sock.sendall(head.encode() + b'{"rows": [')
                sock.settimeout(10)
                start = time.monotonic()
                answer = b""
                while chunk := sock.recv(4096):  # until the server closes the connection
                    answer += chunk
                assert time.monotonic() - start < 5
            assert answer.startswith(b"HTTP/1.1 408 "), answer
            assert b"RequestTimeout" in answer and b"1 seconds" in answer
        # A body that keeps coming, however slowly, is read whole.
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            body = b'{"name": "a slow client"}'
            head = (
                f"POST /v1/project HTTP/1.1\r\nHost: x\r\n"
                f"Authorization: Bearer {server.api_key}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            )
            sock.sendall(head.encode())
            for part in (body[:10], body[10:20], body[20:]):
                time.sleep(0.6)
                sock.sendall(part)
            sock.settimeout(10)
            answer = b""
            while chunk := sock.recv(4096):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 200 ") and b"a slow client" in answer, answer
    finally:
        server.stop()


def _read_until_closed(sock: socket.socket) -> bytes:
    sock.settimeout(10)
    answer = b""
    while chunk := sock.recv(65536):
        answer += chunk
    return answer


@pytest.mark.parametrize(
    ("size", "status"),
    [(MAX_HEAD_BYTES, 200), (MAX_HEAD_BYTES + 1, 431), (70_000, 431)],
)
def test_a_request_head_over_64_kib_sent_at_once_is_a_431(server, size, status):
    """README and docs/api.md: a request's line and headers larger than 64 KiB are a 431. A
    head that ended in the last chunk read had reset the count before it was checked, so
    70 KB of headers sent at once were served (200), as was any head that came in one read."""
    start = b"GET /version HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Big: "
    head = start + b"a" * (size - len(start) - 4) + b"\r\n\r\n"
    assert len(head) == size
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        try:
            sock.sendall(head)
            answer = _read_until_closed(sock)
        except (BrokenPipeError, ConnectionResetError):
            answer = b"(reset)"  # closed before it had read the rest: refused all the same
    refused = status == 431 and answer == b"(reset)"
    assert answer.startswith(f"HTTP/1.1 {status} ".encode()) or refused, answer[:200]


def test_a_request_head_is_bounded_in_size_and_time(tmp_path):
    """uvicorn bounded neither: one header of 100 MB held the event loop, every request of
    the server, for seconds (httptools concatenates a header's value piece by piece), and a
    connection that sent nothing, or half a header, stayed open for as long as the client
    kept it."""
    server = ServerProcess(tmp_path / "data", env={"TRACELAKE_CLIENT_TIMEOUT_SECONDS": "1"})
    server.start()
    try:
        for sent in (b"", b"GET /version HTTP/1.1\r\nHost: x\r\nX-Half: "):
            with socket.create_connection(("127.0.0.1", server.port)) as sock:
                sock.sendall(sent)
                start = time.monotonic()
                assert _read_until_closed(sock) == b""
                assert time.monotonic() - start < 5
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(b"GET /version HTTP/1.1\r\nHost: x\r\nX-Big: ")
            try:
                for _ in range(64):  # 8 MiB at most: the server closes long before
                    sock.sendall(b"a" * 128 * 1024)
            except (BrokenPipeError, ConnectionResetError):
                pass
            try:
                answer = _read_until_closed(sock)
            except ConnectionResetError:
                answer = b"(reset)"
        assert answer.startswith(b"HTTP/1.1 431 ") or answer == b"(reset)", answer[:200]
        # Requests of usual size, one after another on one connection, are served.
        with httpx.Client(base_url=server.url) as client:
            big = {"X-Large": "a" * 32 * 1024, "Authorization": f"Bearer {server.api_key}"}
            for _ in range(3):
                assert client.get("/ping", headers=big).status_code == 200
                time.sleep(0.3)
    finally:
        server.stop()
