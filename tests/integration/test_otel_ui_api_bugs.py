"""Bugs found by a black-box hunt in OTel ingest and the APIs behind the web UI: custom columns
that cannot run, URLs behind a path prefix, half-applied OTel requests, crafted parents,
multi-member gzip, deeply nested saved views, attachment headers and read-only keys."""

from __future__ import annotations

import base64
import gzip
import http.server
import json
import os
import threading
import uuid
import zlib
from contextlib import contextmanager

import httpx
import pytest
from google.protobuf.json_format import Parse
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tracelake.errors import InvalidRequest, PayloadTooLarge
from tracelake.model.otel.wire import BodyFormat, decode_request, decompress


def _project(client, prefix: str = "p") -> str:
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    return client.post("/v1/project", json={"name": name}).json()["id"]


def _dataset(client) -> str:
    project = _project(client, "cols")
    return client.post("/v1/dataset", json={"project_id": project, "name": "d"}).json()["id"]


# -- custom columns that cannot run ------------------------------------------------------------


@pytest.mark.parametrize(
    "expr, message",
    [
        ("nosuchfn(input)", "nosuchfn"),
        ("nosuchfield", "nosuchfield"),
        ("count(1)", "aggregate"),
        ("oops + 1", "oops"),  # refers to itself
    ],
)
def test_a_custom_column_that_cannot_run_is_refused_when_saved(app_client, expr, message):
    ds = _dataset(app_client)
    app_client.post(f"/v1/dataset/{ds}/insert", json={"events": [{"id": "a", "input": 1}]})
    response = app_client.put(f"/v1/dataset/{ds}/columns/oops", json={"expr": expr})
    assert response.status_code == 400, response.text
    assert message in response.json()["error"]["message"]
    assert app_client.get(f"/v1/dataset/{ds}/columns").json()["objects"] == []
    rows = app_client.post("/btql", json={"query": f"select: * | from: dataset('{ds}')"})
    assert rows.status_code == 200, rows.text
    exported = app_client.get(f"/v1/dataset/{ds}/export", params={"format": "json"})
    assert exported.status_code == 200, exported.text


def test_a_stored_column_that_cannot_run_does_not_break_select_star(app_client):
    # Saved by an older version, which only parsed the expression.
    from tracelake.store import dataset_meta

    ds = _dataset(app_client)
    app_client.post(f"/v1/dataset/{ds}/insert", json={"events": [{"id": "a", "input": 1}]})
    assert app_client.put(f"/v1/dataset/{ds}/columns/good", json={"expr": "input"}).is_success
    dataset_meta.set_column(app_client.app.state.store, ds, "oops", "nosuchfn(input)")

    rows = app_client.post("/btql", json={"query": f"select: * | from: dataset('{ds}')"})
    assert rows.status_code == 200, rows.text
    assert [(r["id"], r["good"], "oops" in r) for r in rows.json()["data"]] == [("a", 1, False)]
    exported = app_client.get(f"/v1/dataset/{ds}/export", params={"format": "json"})
    assert exported.status_code == 200, exported.text
    named = app_client.post("/btql", json={"query": f"select: oops | from: dataset('{ds}')"})
    assert named.status_code == 400
    assert "nosuchfn" in named.json()["error"]["message"]


# -- URLs behind a path prefix -------------------------------------------------------------------


@contextmanager
def _prefix_proxy(upstream: str, add_headers: dict[str, str]):
    """A reverse proxy serving ``upstream`` under /tracelake/ as web/e2e/e2e.mjs's ``prefix``
    flow does: it strips the prefix and forwards every header (Host included), plus
    ``add_headers``. Yields the public base URL."""

    class Proxy(http.server.BaseHTTPRequestHandler):
        def handle_one(self):
            if not self.path.startswith("/tracelake/"):
                self.send_response(404)
                self.end_headers()
                return
            length = int(self.headers.get("content-length") or 0)
            headers = {k: v for k, v in self.headers.items() if k.lower() != "content-length"}
            answer = httpx.request(
                self.command,
                upstream + self.path[len("/tracelake") :],
                content=self.rfile.read(length) if length else None,
                headers={**headers, **add_headers},
            )
            self.send_response(answer.status_code)
            for key, value in answer.headers.items():
                if key.lower() not in ("content-length", "transfer-encoding", "content-encoding"):
                    self.send_header(key, value)
            self.send_header("content-length", str(len(answer.content)))
            self.end_headers()
            self.wfile.write(answer.content)

        do_GET = do_PUT = do_POST = handle_one

        def log_message(self, *args):
            pass

    proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{proxy.server_address[1]}/tracelake/"
    finally:
        proxy.shutdown()
        proxy.server_close()


@pytest.mark.parametrize("told_by", ["x-forwarded-prefix", "referer"])
def test_attachment_and_login_urls_stay_under_the_path_prefix(server, told_by):
    forwarded = {"X-Forwarded-Prefix": "/tracelake"} if told_by == "x-forwarded-prefix" else {}
    with _prefix_proxy(server.url, forwarded) as base:
        # The web UI's own calls carry its page as Referer (the proxy forwards it).
        page = {"Referer": base} if told_by == "referer" else {}
        headers = {"Authorization": f"Bearer {server.api_key}", **page}
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            key = f"pfx-{uuid.uuid4().hex}"
            body = {"key": key, "filename": "a.txt", "content_type": "text/plain"}
            signed = client.post("attachment", json=body).json()["signedUrl"]
            assert signed.startswith(base + "attachment/blob/"), signed
            put = httpx.put(signed, content=b"hello", headers={"Content-Type": "text/plain"})
            assert put.status_code == 200, put.text
            download = client.get("attachment", params={"key": key}).json()["downloadUrl"]
            assert download.startswith(base), download
            assert httpx.get(download).content == b"hello"
            login = client.post("api/apikey/login", json={}).json()["org_info"][0]
            assert login["api_url"] == base.rstrip("/")


def test_a_forwarded_prefix_that_is_not_a_path_is_refused(app_client):
    for prefix in ["tracelake", "/a//b", "/../x", "/a b"]:
        response = app_client.post(
            "/api/apikey/login", json={}, headers={"X-Forwarded-Prefix": prefix}
        )
        assert response.status_code == 400, prefix
        assert "X-Forwarded-Prefix" in response.json()["error"]["message"]
    plain = app_client.post("/api/apikey/login", json={}).json()["org_info"][0]
    assert plain["api_url"] == "http://127.0.0.1"


# -- OTel ingest -------------------------------------------------------------------------------


def _span(name: str, attrs: dict[str, str], trace_id: str | None = None) -> dict:
    return {
        "traceId": trace_id or os.urandom(16).hex(),
        "spanId": os.urandom(8).hex(),
        "name": name,
        "startTimeUnixNano": "1700000000000000000",
        "endTimeUnixNano": "1700000001000000000",
        "attributes": [{"key": k, "value": {"stringValue": v}} for k, v in attrs.items()],
    }


def _request(spans: list[dict]) -> bytes:
    body = {"resourceSpans": [{"scopeSpans": [{"scope": {"name": "t"}, "spans": spans}]}]}
    return json.dumps(body).encode()


def _otel(server, spans, parent: str | None, content_type="application/json", **headers):
    body = _request(spans) if isinstance(spans, list) else spans
    headers = {
        "Authorization": f"Bearer {server.api_key}",
        "Content-Type": content_type,
        **headers,
    }
    if parent is not None:
        headers["x-bt-parent"] = parent
    return httpx.post(f"{server.url}/otel/v1/traces", content=body, headers=headers, timeout=60)


def _projects_named(server, name: str) -> list[dict]:
    with server.client() as client:
        return client.get("/v1/project", params={"project_name": name}).json()["objects"]


_DEEP = '{"a":' * 300 + "1" + "}" * 300


@pytest.mark.parametrize("routed_by", ["header", "attribute"])
def test_an_otel_request_that_stores_nothing_creates_no_project(server, routed_by):
    name = f"never-{uuid.uuid4().hex[:8]}"
    attrs = {"braintrust.metadata": _DEEP}
    if routed_by == "attribute":
        attrs["braintrust.parent"] = f"project_name:{name}"
    response = _otel(server, [_span("deep", attrs)], f"project_name:{name}")
    assert response.status_code == 200, response.text
    partial = response.json()["partialSuccess"]
    assert partial["rejectedSpans"] == "1"
    assert "metadata nests deeper than 200 levels" in partial["errorMessage"]
    assert _projects_named(server, name) == []


def test_a_deeply_nested_span_is_rejected_alone(server):
    name = f"some-{uuid.uuid4().hex[:8]}"
    good = _span("good", {"braintrust.output": "fine"})
    deep = _span("deep", {"braintrust.input": _DEEP}, trace_id=good["traceId"])
    response = _otel(server, [good, deep], f"project_name:{name}")
    assert response.status_code == 200, response.text
    assert "input nests deeper" in response.json()["partialSuccess"]["errorMessage"]
    (project,) = _projects_named(server, name)
    query = f"select: span_id | from: project_logs('{project['id']}')"
    with server.client() as client:
        rows = client.post("/btql", json={"query": query}).json()["data"]
    assert rows == [{"span_id": good["spanId"]}]


@pytest.mark.parametrize(
    "prefix",
    ["braintrust.input.", "braintrust.metadata.", "gen_ai.prompt.0.", "llm.input_messages."],
)
def test_a_flattened_key_of_thousands_of_levels_is_rejected_alone(server, prefix):
    # Flattened keys were rebuilt level by level recursively: a key of 2,000 segments
    # overflowed the stack and the whole request was a 500 (RecursionError).
    name = f"flat-{uuid.uuid4().hex[:8]}"
    good = _span("good", {"braintrust.output": "fine"})
    deep = _span("deep", {prefix + ".".join(["a"] * 2000): "x"}, trace_id=good["traceId"])
    response = _otel(server, [good, deep], f"project_name:{name}")
    assert response.status_code == 200, response.text
    (project,) = _projects_named(server, name)
    query = f"select: span_attributes.name | from: project_logs('{project['id']}')"
    with server.client() as client:
        rows = client.post("/btql", json={"query": query}).json()["data"]
    names = sorted(row["name"] for row in rows)
    if prefix.startswith("llm."):  # only the message fields are read: the deep rest is not
        assert names == ["deep", "good"]
    else:
        assert names == ["good"]
        assert "nests deeper than 200 levels" in response.json()["partialSuccess"]["errorMessage"]


# A version-4 slug whose JSON part has a compute_object_metadata_args that is not an object.
_ODD_SLUG = base64.b64encode(bytes([4, 2, 0]) + b'{"compute_object_metadata_args":"x"}').decode()


def test_a_crafted_exported_span_parent_is_a_400_in_the_header(server):
    response = _otel(server, [_span("x", {})], _ODD_SLUG)
    assert response.status_code == 400, response.text
    assert "exported span" in response.json()["error"]["message"]


@pytest.mark.parametrize("content_type", ["application/json", "application/x-protobuf"])
def test_two_x_bt_parent_headers_are_a_400(app_client, content_type):
    """A request with two x-bt-parent headers (an exporter's own and one a proxy added) went
    to the first one's project without a word; the spans are stored nowhere now, and the
    answer (in the request's format) says to send one."""
    first, second = f"dup-{uuid.uuid4().hex[:8]}", f"dup-{uuid.uuid4().hex[:8]}"
    body = _request([_span("x", {})])
    if content_type != "application/json":
        body = Parse(body.decode(), ExportTraceServiceRequest()).SerializeToString()
    headers = [
        ("content-type", content_type),
        ("x-bt-parent", f"project_name:{first}"),
        ("x-bt-parent", f"project_name:{second}"),
    ]
    response = app_client.post("/otel/v1/traces", content=body, headers=headers)
    assert response.status_code == 400, response.text
    if content_type == "application/json":
        assert "send one x-bt-parent header" in response.json()["message"], response.text
    else:
        assert b"send one x-bt-parent header" in response.content
    names = {p["name"] for p in app_client.get("/v1/project").json()["objects"]}
    assert not {first, second} & names


def test_a_crafted_exported_span_parent_rejects_its_span_as_an_attribute(server):
    name = f"slug-{uuid.uuid4().hex[:8]}"
    spans = [_span("odd", {"braintrust.parent": _ODD_SLUG}), _span("fine", {})]
    response = _otel(server, spans, f"project_name:{name}")
    assert response.status_code == 200, response.text
    partial = response.json()["partialSuccess"]
    assert partial["rejectedSpans"] == "1"
    assert "braintrust.parent" in partial["errorMessage"]


def _protobuf(spans: list[dict]) -> bytes:
    return decode_request(_request(spans), BodyFormat.JSON).SerializeToString()


def test_every_member_of_a_multi_member_gzip_body_is_read(server):
    name = f"gz-{uuid.uuid4().hex[:8]}"
    first = _span("first", {})
    second = _span("second", {}, trace_id=first["traceId"])
    body = gzip.compress(_protobuf([first])) + gzip.compress(_protobuf([second]))
    response = _otel(
        server,
        body,
        f"project_name:{name}",
        "application/x-protobuf",
        **{"Content-Encoding": "gzip"},
    )
    assert response.status_code == 200, response.text
    (project,) = _projects_named(server, name)
    query = f"select: span_id | from: project_logs('{project['id']}') | sort: span_id"
    with server.client() as client:
        rows = client.post("/btql", json={"query": query}).json()["data"]
    assert rows == [{"span_id": i} for i in sorted([first["spanId"], second["spanId"]])]


@pytest.mark.parametrize(
    "encoding, trailer",
    [("gzip", b"junk after the member"), ("deflate", b"junk"), ("deflate", b"\x00")],
)
def test_bytes_after_a_compressed_body_are_a_400(server, encoding, trailer):
    name = f"gzjunk-{uuid.uuid4().hex[:8]}"
    packed = gzip.compress(_protobuf([_span("x", {})]))
    if encoding == "deflate":
        packed = zlib.compress(_protobuf([_span("x", {})]))
    response = _otel(
        server,
        packed + trailer,
        f"project_name:{name}",
        "application/x-protobuf",
        **{"Content-Encoding": encoding},
    )
    assert response.status_code == 400, response.text
    assert _projects_named(server, name) == []


def test_the_size_limit_counts_every_gzip_member():
    part = b"x" * 1000
    body = gzip.compress(part) + gzip.compress(part)
    assert decompress(body, "gzip", 2000) == part + part
    with pytest.raises(PayloadTooLarge, match="larger than 1999 bytes"):
        decompress(body, "gzip", 1999)
    with pytest.raises(InvalidRequest, match="truncated"):
        decompress(body[:-3], "gzip", 2000)


# -- deeply nested JSON in saved views and dataset schemas ----------------------------------------


def _nested(levels: int) -> dict:
    value: dict = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


@pytest.mark.parametrize("column", ["view_data", "options"])
def test_a_saved_view_nested_too_deep_is_a_400(app_client, column):
    project = _project(app_client, "views")
    view = {"object_type": "project", "object_id": project, "view_type": "logs", "name": "v"}
    for method in ("post", "put"):
        response = getattr(app_client, method)("/v1/view", json={**view, column: _nested(300)})
        assert response.status_code == 400, response.text
        assert "nests deeper than 200 levels" in response.json()["error"]["message"]
    created = app_client.post("/v1/view", json={**view, column: _nested(200)})
    assert created.status_code == 200, created.text
    view_id = created.json()["id"]
    response = app_client.patch(f"/v1/view/{view_id}", json={column: _nested(300)})
    assert response.status_code == 400, response.text
    assert app_client.get(f"/v1/view/{view_id}").json()[column] == _nested(200)


def test_a_dataset_field_schema_nested_too_deep_is_a_400(app_client):
    ds = _dataset(app_client)
    schema = {"type": "object", "properties": {"x": _nested(300)}}
    response = app_client.put(f"/v1/dataset/{ds}/schema/input", json={"schema": schema})
    assert response.status_code == 400, response.text
    assert "nests deeper than 200 levels" in response.json()["error"]["message"]
    assert app_client.get(f"/v1/dataset/{ds}/schema").json()["input"] is None


# -- attachments: header values and read-only keys ------------------------------------------------


@pytest.mark.parametrize(
    "field, value",
    [
        ("content_type", "text/plain\r\nX-Evil: 1"),
        ("content_type", "text/plain\n"),
        ("content_type", "not a media type"),
        ("filename", "a\r\nX-Evil: 1.txt"),
    ],
)
def test_an_attachment_whose_header_values_are_not_headers_is_a_400(server, field, value):
    key = f"hdr-{uuid.uuid4().hex}"
    body = {"key": key, "filename": "b.txt", "content_type": "text/plain", field: value}
    with server.client() as client:
        response = client.post("/attachment", json=body)
        assert response.status_code == 400, response.text
        assert field in response.json()["error"]["message"]
        assert client.get("/attachment", params={"key": key}).status_code == 404
        # A media type with parameters, and a name with quotes and accents, are fine.
        body = {"key": key, "filename": 'café "x".txt', "content_type": "text/plain; charset=utf-8"}
        signed = client.post("/attachment", json=body).json()["signedUrl"]
        assert httpx.put(signed, content=b"hi").status_code == 200
        download = httpx.get(client.get("/attachment", params={"key": key}).json()["downloadUrl"])
    assert download.status_code == 200
    assert download.headers["content-type"] == "text/plain; charset=utf-8"
    assert "caf%C3%A9%20%22x%22.txt" in download.headers["content-disposition"]


def test_a_read_only_key_cannot_change_an_upload_status(app_client):
    key = f"ro-{uuid.uuid4().hex}"
    body = {"key": key, "filename": "a.txt", "content_type": "text/plain"}
    assert app_client.post("/attachment", json=body).is_success
    reader = app_client.post("/v1/api_key", json={"name": "reader", "role": "read"}).json()
    response = app_client.post(
        "/attachment/status",
        json={"key": key, "status": {"upload_status": "error", "error_message": "not yours"}},
        headers={"Authorization": f"Bearer {reader['key']}"},
    )
    assert response.status_code == 403, response.text
    status = app_client.get("/attachment", params={"key": key}).json()["status"]
    assert status == {"upload_status": "uploading"}


def test_the_depth_limit_counts_levels_not_brackets(server):
    """A span's values are first checked with one encoding of them all (fewer than 201
    brackets: nothing can nest deeper); many brackets in strings or in a long, flat chat
    history must not reject a span, and the limit is exact: 200 levels in, 201 out."""
    name = f"edge-{uuid.uuid4().hex[:8]}"
    nested = lambda levels: '{"a":' * levels + "1" + "}" * levels  # noqa: E731
    chat = json.dumps([{"role": "user", "content": f"m{i}"} for i in range(300)])
    spans = {
        "at-limit": {"braintrust.metadata": nested(200)},
        "over-limit": {"braintrust.metadata": nested(201)},
        "brackets-in-text": {"braintrust.input": json.dumps("[{" * 300)},
        "long-chat": {"braintrust.input": chat},
    }
    first = _span("at-limit", spans["at-limit"])
    sent = [first] + [
        _span(span_name, attrs, trace_id=first["traceId"])
        for span_name, attrs in spans.items()
        if span_name != "at-limit"
    ]
    response = _otel(server, sent, f"project_name:{name}")
    assert response.status_code == 200, response.text
    partial = response.json()["partialSuccess"]
    assert partial["rejectedSpans"] == "1", partial
    assert "metadata nests deeper than 200 levels" in partial["errorMessage"]
    (project,) = _projects_named(server, name)
    query = f"select: span_attributes.name | from: project_logs('{project['id']}')"
    with server.client() as client:
        rows = client.post("/btql", json={"query": query}).json()["data"]
    assert sorted(row["name"] for row in rows) == ["at-limit", "brackets-in-text", "long-chat"]
