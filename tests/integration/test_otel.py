"""POST /otel/v1/traces end to end: the real OpenTelemetry SDK and its OTLP/HTTP exporter
(protobuf, with and without gzip), OTLP/JSON bodies shaped like the JS exporter's, one
fixture per attribute convention checked field by field through BTQL, routing, joins with
Braintrust SDK spans, and bad input that writes nothing."""

from __future__ import annotations

import gzip
import json
import os
import uuid
import zlib
from pathlib import Path

import httpx
import orjson
import pytest
from google.rpc import status_pb2
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode

from tests.conftest import ServerProcess
from tracelake.model.otel.wire import BodyFormat, decode_request

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "otel"
CONVENTIONS = sorted(p.stem for p in FIXTURES.glob("*.json"))
PROTOBUF = "application/x-protobuf"


# -- helpers ------------------------------------------------------------------------------------


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def new_project(client: httpx.Client) -> str:
    response = client.post("/v1/project", json={"name": unique("otel")})
    assert response.status_code == 200, response.text
    return response.json()["id"]


def project_id_of(client: httpx.Client, name: str) -> str:
    found = client.get("/v1/project", params={"project_name": name}).json()["objects"]
    assert len(found) == 1, found
    return found[0]["id"]


def rows_of(client: httpx.Client, source: str) -> dict[str, dict]:
    """Every row of ``source`` (e.g. ``project_logs('<id>')``) through BTQL, by span id."""
    response = client.post("/btql", json={"query": f"select: * | from: {source} | limit: 1000"})
    assert response.status_code == 200, response.text
    return {row["span_id"]: row for row in response.json()["data"]}


def recorded_spans(build) -> list:
    """Spans made with the real SDK: ``build(tracer)`` runs inside a fresh provider."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "otel-test"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    build(provider.get_tracer("tests.otel", "0.1"))
    provider.shutdown()
    return list(memory.get_finished_spans())


def exporter(server, parent: str | None, compression=Compression.NoCompression, key=None):
    headers = {"Authorization": f"Bearer {key or server.api_key}"}
    if parent is not None:
        headers["x-bt-parent"] = parent
    return OTLPSpanExporter(
        endpoint=f"{server.url}/otel/v1/traces", headers=headers, compression=compression
    )


def post(server, body: bytes, content_type: str = PROTOBUF, parent: str | None = None, **headers):
    sent = {"Authorization": f"Bearer {server.api_key}", "Content-Type": content_type}
    if parent is not None:
        sent["x-bt-parent"] = parent
    sent.update(headers)
    return httpx.post(f"{server.url}/otel/v1/traces", content=body, headers=sent, timeout=60)


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def assert_fields(row: dict, expected: dict, where: str) -> None:
    for field, value in expected.items():
        assert row[field] == value, f"{where}.{field}: {row[field]!r} != {value!r}"


# -- the real SDK exporter ---------------------------------------------------------------------


def _agent_trace(tracer) -> None:
    with tracer.start_as_current_span("invoke_agent helper") as agent:
        agent.set_attribute("gen_ai.operation.name", "invoke_agent")
        with tracer.start_as_current_span("chat gpt-4o") as chat:
            chat.set_attribute("gen_ai.operation.name", "chat")
            chat.set_attribute("gen_ai.request.model", "gpt-4o")
            chat.set_attribute("gen_ai.usage.input_tokens", 11)
            chat.set_attribute("gen_ai.usage.output_tokens", 4)
            chat.set_attribute(
                "gen_ai.input.messages",
                json.dumps([{"role": "user", "parts": [{"type": "text", "content": "hi"}]}]),
            )
            chat.set_attribute("http.status_code", 200)
        with tracer.start_as_current_span("execute_tool search") as tool:
            tool.set_attribute("gen_ai.tool.name", "search")
            tool.set_status(Status(StatusCode.ERROR, "search backend down"))


@pytest.mark.parametrize(
    "compression", [Compression.NoCompression, Compression.Gzip], ids=["plain", "gzip"]
)
def test_sdk_exporter_protobuf(server, compression):
    spans = recorded_spans(_agent_trace)
    name = unique("otel-sdk")
    assert exporter(server, f"project_name:{name}", compression).export(spans) == (
        SpanExportResult.SUCCESS
    )
    with server.client() as client:
        rows = rows_of(client, f"project_logs('{project_id_of(client, name)}')")
    assert len(rows) == 3
    by_name = {s.name: s for s in spans}
    for span in spans:
        row = rows[format(span.context.span_id, "016x")]
        assert row["id"] == row["span_id"]
        assert row["root_span_id"] == format(span.context.trace_id, "032x")
        parent = [format(span.parent.span_id, "016x")] if span.parent else None
        assert row["span_parents"] == parent
        assert row["metrics"]["start"] == span.start_time / 1e9
        assert row["metrics"]["end"] == span.end_time / 1e9
        assert row["span_attributes"]["name"] == span.name
        assert row["context"]["span_origin"] == {
            "name": "opentelemetry",
            "version": "1.45.2",
            "instrumentation": {"name": "tests.otel"},
        }
        assert row["metadata"]["service.name"] == "otel-test"
    chat = rows[format(by_name["chat gpt-4o"].context.span_id, "016x")]
    assert chat["span_attributes"]["type"] == "llm"
    assert chat["input"] == [{"role": "user", "content": "hi"}]
    assert chat["metrics"]["prompt_tokens"] == 11
    assert chat["metrics"]["completion_tokens"] == 4
    assert chat["metrics"]["tokens"] == 15
    assert chat["metadata"]["model"] == "gpt-4o"
    assert chat["metadata"]["http.status_code"] == 200
    tool = rows[format(by_name["execute_tool search"].context.span_id, "016x")]
    assert tool["span_attributes"]["type"] == "tool"
    assert tool["error"] == "search backend down"
    agent = rows[format(by_name["invoke_agent helper"].context.span_id, "016x")]
    assert agent["span_attributes"]["type"] == "task"
    assert agent["is_root"] is True


def test_exporter_configured_by_environment(server, monkeypatch):
    """The docs' example: only OTEL_* variables, the base endpoint ``<server>/otel``."""
    name = unique("otel-env")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"{server.url}/otel")
    monkeypatch.setenv(
        "OTEL_EXPORTER_OTLP_HEADERS",
        f"Authorization=Bearer%20{server.api_key},x-bt-parent=project_name:{name}",
    )
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")
    spans = recorded_spans(lambda tracer: tracer.start_span("hello").end())
    assert OTLPSpanExporter().export(spans) == SpanExportResult.SUCCESS
    with server.client() as client:
        rows = rows_of(client, f"project_logs('{project_id_of(client, name)}')")
    assert [r["span_attributes"]["name"] for r in rows.values()] == ["hello"]


def test_exception_recorded_by_the_sdk_becomes_the_error(server):
    def build(tracer):
        with tracer.start_as_current_span("fails"):
            raise ValueError("boom")

    row = _the_failing_span(server, build)
    assert row["error"].startswith("ValueError: boom\n\nTraceback (most recent call last):")
    assert "otel.events" not in (row["metadata"] or {})


def test_the_last_exception_of_a_span_becomes_its_error(server):
    """A caught exception recorded on the span, then the one that ends it: the error is
    the last; the earlier stays among the span's events."""

    def build(tracer):
        with tracer.start_as_current_span("fails") as span:
            try:
                raise KeyError("retried")
            except KeyError as caught:
                span.record_exception(caught)
            raise ValueError("boom")

    row = _the_failing_span(server, build)
    assert row["error"].startswith("ValueError: boom\n\nTraceback (most recent call last):")
    (event,) = row["metadata"]["otel.events"]
    assert event["name"] == "exception"
    assert event["attributes"]["exception.type"] == "KeyError"


def _the_failing_span(server, build) -> dict:
    """The row of the one span ``build`` records before raising a ValueError, exported
    through the SDK's exporter into a new project."""
    spans = recorded_spans(lambda tracer: pytest.raises(ValueError, build, tracer))
    project_id = _project(server)
    assert exporter(server, f"project_id:{project_id}").export(spans) == SpanExportResult.SUCCESS
    with server.client() as client:
        (row,) = rows_of(client, f"project_logs('{project_id}')").values()
    return row


def _project(server) -> str:
    with server.client() as client:
        return new_project(client)


def test_resent_spans_replace_themselves(server):
    project_id = _project(server)

    def build(tracer):
        tracer.start_span("step").end()

    (span,) = recorded_spans(build)
    export = exporter(server, f"project_id:{project_id}")
    assert export.export([span]) == SpanExportResult.SUCCESS
    span._attributes = {"braintrust.output": "second"}  # noqa: SLF001 - same span, new content
    assert export.export([span]) == SpanExportResult.SUCCESS
    with server.client() as client:
        rows = rows_of(client, f"project_logs('{project_id}')")
    assert list(rows) == [format(span.context.span_id, "016x")]
    assert rows[format(span.context.span_id, "016x")]["output"] == "second"


# -- conventions: JS-shaped OTLP/JSON and the same requests as protobuf ------------------------


@pytest.mark.parametrize("encoding", ["json", "protobuf"])
@pytest.mark.parametrize("convention", CONVENTIONS)
def test_convention_fixture(server, convention, encoding):
    case = fixture(convention)
    if encoding == "json":
        body, content_type = json.dumps(case["request"]).encode(), "application/json"
    else:
        message = decode_request(json.dumps(case["request"]).encode(), BodyFormat.JSON)
        body, content_type = message.SerializeToString(), PROTOBUF
    project_id = _project(server)
    response = post(server, body, content_type, parent=f"project_id:{project_id}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(content_type)
    if encoding == "json":
        assert response.json() == {}
    else:
        answer = ExportTraceServiceResponse.FromString(response.content)
        assert not answer.HasField("partial_success")
    with server.client() as client:
        rows = rows_of(client, f"project_logs('{project_id}')")
    assert set(rows) == set(case["expected"])
    for span_id, expected in case["expected"].items():
        assert_fields(rows[span_id], expected, f"{convention}:{span_id}")
        assert rows[span_id]["id"] == span_id
        assert rows[span_id]["project_id"] == project_id


@pytest.mark.parametrize(("convention", "tokens"), [("vercel_ai", (20, 4)), ("logfire", (10, 3))])
def test_an_agent_trace_counts_its_tokens_once(server, convention, tokens):
    # The AI SDK's wrapper span (ai.generateText) restates the usage of its provider call
    # (ai.generateText.doGenerate), and a Pydantic AI agent run the usage of its chat spans:
    # both spans had token metrics, and the trace's summary, which sums its spans, said 48
    # tokens for one call of 24.
    project_id = _project(server)
    body = json.dumps(fixture(convention)["request"]).encode()
    response = post(server, body, "application/json", parent=f"project_id:{project_id}")
    assert response.status_code == 200, response.text
    query = f"select: metrics | from: project_logs('{project_id}') summary"
    with server.client() as client:
        (summary,) = client.post("/btql", json={"query": query}).json()["data"]
    metrics = summary["metrics"]
    assert (metrics["prompt_tokens"], metrics["completion_tokens"]) == tokens
    assert (metrics["total_tokens"], metrics["llm_calls"]) == (sum(tokens), 1)


def test_json_body_with_charset_and_numbers_as_strings(server):
    """int64 values as strings, ``; charset=utf-8``: both as the JS exporter may send them."""
    case = fixture("genai_attributes")
    for span in case["request"]["resourceSpans"][0]["scopeSpans"][0]["spans"]:
        for attribute in span["attributes"]:
            if "intValue" in attribute["value"]:
                attribute["value"]["intValue"] = str(attribute["value"]["intValue"])
    project_id = _project(server)
    response = post(
        server,
        json.dumps(case["request"]).encode(),
        "application/json; charset=utf-8",
        parent=f"project_id:{project_id}",
    )
    assert response.status_code == 200, response.text
    with server.client() as client:
        rows = rows_of(client, f"project_logs('{project_id}')")
    assert rows["00f067aa0ba902b7"]["metrics"]["prompt_tokens"] == 120


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_compressed_json(server, encoding):
    case = fixture("traceloop")
    raw = json.dumps(case["request"]).encode()
    body = gzip.compress(raw) if encoding == "gzip" else zlib.compress(raw)
    project_id = _project(server)
    response = post(
        server,
        body,
        "application/json",
        parent=f"project_id:{project_id}",
        **{"Content-Encoding": encoding},
    )
    assert response.status_code == 200, response.text
    with server.client() as client:
        assert set(rows_of(client, f"project_logs('{project_id}')")) == set(case["expected"])


# -- routing --------------------------------------------------------------------------------------


def test_span_attribute_parent_beats_the_header(server):
    with server.client() as client:
        header_project, attribute_project = new_project(client), new_project(client)

    def build(tracer):
        with tracer.start_as_current_span("root"):
            with tracer.start_as_current_span("elsewhere") as span:
                span.set_attribute("braintrust.parent", f"project_id:{attribute_project}")

    spans = recorded_spans(build)
    assert exporter(server, f"project_id:{header_project}").export(spans) == (
        SpanExportResult.SUCCESS
    )
    with server.client() as client:
        here = rows_of(client, f"project_logs('{header_project}')")
        there = rows_of(client, f"project_logs('{attribute_project}')")
    assert [r["span_attributes"]["name"] for r in here.values()] == ["root"]
    assert [r["span_attributes"]["name"] for r in there.values()] == ["elsewhere"]
    assert "braintrust.parent" not in (next(iter(there.values()))["metadata"] or {})


@pytest.mark.parametrize("encoding", ["utf-8", "latin-1"])
def test_a_project_name_header_that_is_not_ascii(server, encoding):
    # curl and Go clients (the Collector) send header bytes as UTF-8, which were read as
    # latin-1: the spans went to a new project named 'cafÃ©-…'. Python's http.client sends
    # latin-1, which is still read as such.
    name = unique("café")
    header = f"project_name:{name}".encode(encoding)
    response = post(server, _valid_body(), **{"x-bt-parent": header})
    assert response.status_code == 200, response.text
    with server.client() as client:
        rows = rows_of(client, f"project_logs('{project_id_of(client, name)}')")
    assert len(rows) == 3  # the spans of the traceloop fixture


def test_experiment_parent(server):
    with server.client() as client:
        project_id = new_project(client)
        experiment = client.post(
            "/v1/experiment", json={"project_id": project_id, "name": unique("exp")}
        ).json()
    spans = recorded_spans(lambda tracer: tracer.start_span("eval case").end())
    result = exporter(server, f"experiment_id:{experiment['id']}").export(spans)
    assert result == SpanExportResult.SUCCESS
    with server.client() as client:
        rows = rows_of(client, f"experiment('{experiment['id']}')")
        assert rows_of(client, f"project_logs('{project_id}')") == {}
    (row,) = rows.values()
    assert row["experiment_id"] == experiment["id"]
    assert row["span_attributes"]["name"] == "eval case"


def test_otel_spans_join_sdk_spans(server, sdk_env):
    """An SDK span exported with span.export(): OTel spans continuing its context are its
    children in one trace; an OTel trace sent with the slug as x-bt-parent nests under it."""
    import braintrust
    from braintrust.otel import context_from_span_export

    name = unique("otel-join")
    logger = braintrust.init_logger(project=name)
    with logger.start_span(name="sdk root") as sdk_span:
        slug = sdk_span.export()
    logger.flush()
    sdk_row = {"span_id": sdk_span.span_id, "root_span_id": sdk_span.root_span_id}

    def continued(tracer):
        tracer.start_span("otel child", context=context_from_span_export(slug)).end()

    def separate(tracer):
        with tracer.start_as_current_span("otel own root"):
            tracer.start_span("otel grandchild").end()

    by_project = exporter(server, f"project_name:{name}")
    assert by_project.export(recorded_spans(continued)) == SpanExportResult.SUCCESS
    assert exporter(server, slug).export(recorded_spans(separate)) == SpanExportResult.SUCCESS
    with server.client() as client:
        rows = rows_of(client, f"project_logs('{project_id_of(client, name)}')")
    by_name = {r["span_attributes"]["name"]: r for r in rows.values()}
    assert set(by_name) == {"sdk root", "otel child", "otel own root", "otel grandchild"}
    assert {r["root_span_id"] for r in rows.values()} == {sdk_row["root_span_id"]}
    assert by_name["sdk root"]["span_id"] == sdk_row["span_id"]
    assert by_name["otel child"]["span_parents"] == [sdk_row["span_id"]]
    assert by_name["otel own root"]["span_parents"] == [sdk_row["span_id"]]
    assert by_name["otel grandchild"]["span_parents"] == [by_name["otel own root"]["span_id"]]


# -- partial success and bad input ------------------------------------------------------------


def _two_spans(good_attrs: dict, bad_attrs: dict) -> bytes:
    def build(tracer):
        tracer.start_span("good", attributes=good_attrs).end()
        tracer.start_span("bad", attributes=bad_attrs).end()

    spans = recorded_spans(build)
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    return encode_spans(spans).SerializeToString()


@pytest.mark.parametrize(
    ("bad_attrs", "reason"),
    [
        ({"braintrust.scores": '{"accuracy": 7}'}, "between 0 and 1"),
        ({"braintrust.parent": "project_id:no-such-project"}, "not found"),
        ({"braintrust.parent": "nonsense:1"}, "unknown parent kind"),
        # (a span's type or name that is no string, or an origin id with a control
        # character, were stored as sent; a write of such a row elsewhere is a 400)
        ({"braintrust.span_attributes": '{"type": 5}'}, "span_attributes.type"),
        ({"braintrust.origin": '{"id": "r\\u0000"}'}, "origin.id"),
    ],
    ids=["bad-score", "unknown-project", "bad-parent", "bad-span-type", "bad-origin-id"],
)
def test_rejected_spans_are_reported_in_partial_success(server, bad_attrs, reason):
    project_id = _project(server)
    body = _two_spans({"braintrust.output": "fine"}, bad_attrs)
    response = post(server, body, parent=f"project_id:{project_id}")
    assert response.status_code == 200, response.text
    answer = ExportTraceServiceResponse.FromString(response.content)
    assert answer.partial_success.rejected_spans == 1
    assert reason in answer.partial_success.error_message
    with server.client() as client:
        rows = rows_of(client, f"project_logs('{project_id}')")
    assert [r["span_attributes"]["name"] for r in rows.values()] == ["good"]


def test_partial_success_in_json(server):
    project_id = _project(server)
    request = fixture("traceloop")["request"]
    spans = request["resourceSpans"][0]["scopeSpans"][0]["spans"]
    spans[0]["traceId"] = "00000000000000000000000000000000"
    response = post(
        server, json.dumps(request).encode(), "application/json", parent=f"project_id:{project_id}"
    )
    assert response.status_code == 200, response.text
    partial = response.json()["partialSuccess"]
    assert partial["rejectedSpans"] == "1"
    assert "trace_id" in partial["errorMessage"]


def _assert_nothing_written(server, project_id: str) -> None:
    with server.client() as client:
        assert rows_of(client, f"project_logs('{project_id}')") == {}


def _valid_body() -> bytes:
    case = fixture("traceloop")
    return decode_request(json.dumps(case["request"]).encode(), BodyFormat.JSON).SerializeToString()


def _bomb(size: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = bytes(1 << 20)
    return b"".join(packer.compress(chunk) for _ in range(size >> 20)) + packer.flush()


BAD_REQUESTS = {
    # name: (body, content type, extra headers, status, words in the message)
    "undecodable-protobuf": (b"\xff\xff\xff\xff not protobuf", PROTOBUF, {}, 400, ["protobuf"]),
    "malformed-json": (b'{"resourceSpans": [', "application/json", {}, 400, ["json"]),
    "json-bad-hex-id": (
        b'{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"xyz","spanId":"00f067aa0ba902b7"}]}]}]}',
        "application/json",
        {},
        400,
        ["traceId", "hex"],
    ),
    # a JSON object that is no export request was a 200 that stored nothing
    "json-not-otlp": (b'{"foo": 1}', "application/json", {}, 400, ["resourceSpans", "foo"]),
    "json-wrong-signal": (
        b'{"resourceLogs": [{"scopeLogs": []}]}',
        "application/json",
        {},
        400,
        ["ExportTraceServiceRequest", "resourceLogs"],
    ),
    # protobuf bytes of fields an export request does not have (here field 10 = 1) parse,
    # as unknown fields do, and were a 200 that stored nothing, as JSON's were
    "protobuf-only-unknown-fields": (b"\x50\x01", PROTOBUF, {}, 400, ["resource_spans"]),
    "wrong-content-type": (b"hello", "text/plain", {}, 415, ["content-type"]),
    "no-content-type": (b"hello", "", {}, 415, ["content-type"]),
    "unknown-encoding": (b"hello", PROTOBUF, {"Content-Encoding": "br"}, 415, ["encoding"]),
    "not-gzip": (b"plain bytes", PROTOBUF, {"Content-Encoding": "gzip"}, 400, ["gzip"]),
    "truncated-gzip": (None, PROTOBUF, {"Content-Encoding": "gzip"}, 400, ["truncated"]),
    "decompression-bomb": (
        lambda: _bomb(96 << 20),  # 96 MiB of zeros in ~100 kB, over the 64 MiB limit
        PROTOBUF,
        {"Content-Encoding": "gzip"},
        413,
        ["decompressed", "larger"],
    ),
    "bad-header-parent": (None, PROTOBUF, {"x-bt-parent": "nonsense:1"}, 400, ["parent kind"]),
    "bad-slug": (None, PROTOBUF, {"x-bt-parent": "bm90IGEgc2x1Zw=="}, 400, ["exported span"]),
    "unknown-project": (None, PROTOBUF, {"x-bt-parent": "project_id:nope"}, 404, ["not found"]),
}


@pytest.mark.parametrize("case", sorted(BAD_REQUESTS))
def test_bad_requests_write_nothing(server, case):
    body, content_type, headers, status, words = BAD_REQUESTS[case]
    if callable(body):
        body = body()
    if body is None:
        body = _valid_body()
        if case == "truncated-gzip":
            body = gzip.compress(body)[:-12]
    project_id = _project(server)
    headers = {"x-bt-parent": f"project_id:{project_id}", **headers}
    response = post(server, body, content_type, **headers)
    assert response.status_code == status, response.text
    if content_type == PROTOBUF:
        assert response.headers["content-type"] == PROTOBUF
        message = status_pb2.Status.FromString(response.content).message
    else:
        assert response.headers["content-type"].startswith("application/json")
        error = response.json()
        assert error["code"] and error["error"]["message"] == error["message"]
        message = error["message"]
    for word in words:
        assert word.lower() in message.lower(), (word, message)
    _assert_nothing_written(server, project_id)


def test_a_full_disk_is_a_503_that_exporters_retry(tmp_path):
    # It was the 507 other routes answer, which the Collector and the JS exporter treat as a
    # permanent error (OTLP retries only 429, 502, 503 and 504): the batch was lost for good.
    server = ServerProcess(tmp_path / "data", file_size_limit=8 * 1024 * 1024)
    try:
        server.start()
        with server.client() as client:
            project_id = new_project(client)
        refused = None
        for _ in range(200):  # 200 x 200 KB of WAL: far past the 8 MB limit
            body = _two_spans({"braintrust.input": os.urandom(50_000).hex()}, {"a": "b"})
            response = post(server, body, parent=f"project_id:{project_id}")
            if response.status_code != 200:
                refused = response
                break
        assert refused is not None, "the file size limit was never reached"
        assert refused.status_code == 503, refused.content
        status = status_pb2.Status.FromString(refused.content)
        assert status.code == 14  # UNAVAILABLE
        assert "cannot write its data dir" in status.message
        assert "Traceback" not in server.log()
    finally:
        server.stop()


@pytest.mark.parametrize("content_type", [PROTOBUF, "application/json"])
def test_a_trailing_slash_is_taken(server, content_type):
    """POST /otel/v1/traces/ was a 307 to /otel/v1/traces, which the JS OTLP exporter does not
    follow: the batch was dropped."""
    project_id = _project(server)
    body = _valid_body()
    if content_type != PROTOBUF:
        body = json.dumps(fixture("traceloop")["request"]).encode()
    response = httpx.post(
        f"{server.url}/otel/v1/traces/",
        content=body,
        headers={
            "Content-Type": content_type,
            "Authorization": f"Bearer {server.api_key}",
            "x-bt-parent": f"project_id:{project_id}",
        },
    )
    assert response.status_code == 200, response.content
    with server.client() as client:
        assert rows_of(client, f"project_logs('{project_id}')")


def test_a_failed_request_creates_no_project(server):
    """A span whose braintrust.parent named a new project_name: created that project, then
    another span's x-bt-parent named an unknown project: the request failed (404) and the
    project stayed, empty. The header's object is resolved first."""
    name = unique("never")
    body = _two_spans({"braintrust.parent": f"project_name:{name}"}, {})
    response = post(server, body, parent="project_id:no-such-project")
    assert response.status_code == 404, response.content
    with server.client() as client:
        found = client.get("/v1/project", params={"project_name": name}).json()["objects"]
    assert found == []


def test_missing_route_is_a_clear_error(server):
    response = post(server, _valid_body())
    assert response.status_code == 400
    message = status_pb2.Status.FromString(response.content).message
    assert "x-bt-parent" in message and "braintrust.parent" in message


@pytest.mark.parametrize("signal", ["logs", "metrics"])
def test_other_signals_are_a_clear_404(server, signal):
    response = httpx.post(
        f"{server.url}/otel/v1/{signal}",
        content=b"\x0a\x00",
        headers={"Content-Type": PROTOBUF, "Authorization": f"Bearer {server.api_key}"},
    )
    assert response.status_code == 404
    message = status_pb2.Status.FromString(response.content).message
    assert "only traces" in message and signal in message


@pytest.mark.parametrize("signal", ["traces", "logs", "metrics"])
def test_exporter_pointed_at_the_server_root_gets_a_clear_404(server, signal):
    # OTEL_EXPORTER_OTLP_ENDPOINT=<server> (without /otel) posts to /v1/traces: the answer
    # used to be a bare "Not Found".
    response = httpx.post(
        f"{server.url}/v1/{signal}",
        content=_valid_body(),
        headers={"Content-Type": PROTOBUF, "Authorization": f"Bearer {server.api_key}"},
    )
    assert response.status_code == 404
    message = status_pb2.Status.FromString(response.content).message
    assert "/otel/v1/traces" in message and f"/v1/{signal}" in message


def test_auth(server):
    project_id = _project(server)
    spans = recorded_spans(lambda tracer: tracer.start_span("x").end())
    denied = exporter(server, f"project_id:{project_id}", key="tl-wrong-key-0123456789")
    assert denied.export(spans) == SpanExportResult.FAILURE
    response = httpx.post(
        f"{server.url}/otel/v1/traces",
        content=_valid_body(),
        headers={"Content-Type": PROTOBUF, "x-bt-parent": f"project_id:{project_id}"},
    )
    assert response.status_code == 401
    assert "Authorization" in status_pb2.Status.FromString(response.content).message
    with server.client() as client:
        key = client.post("/v1/api_key", json={"name": "ro", "role": "read"}).json()["key"]
    response = httpx.post(
        f"{server.url}/otel/v1/traces",
        content=_valid_body(),
        headers={
            "Content-Type": PROTOBUF,
            "Authorization": f"Bearer {key}",
            "x-bt-parent": f"project_id:{project_id}",
        },
    )
    assert response.status_code == 403
    _assert_nothing_written(server, project_id)


def test_empty_request_is_accepted(server):
    response = post(server, ExportTraceServiceRequest().SerializeToString())
    assert response.status_code == 200
    assert response.content == b""
    response = post(server, b"{}", "application/json")
    assert response.status_code == 200
    assert orjson.loads(response.content) == {}


def test_braintrust_span_processor(server):
    """The Braintrust SDK's own OTel processor (braintrust.parent per span, its context)."""
    from braintrust.otel import BraintrustSpanProcessor

    name = unique("otel-bt")
    provider = TracerProvider()
    provider.add_span_processor(
        BraintrustSpanProcessor(
            api_key=server.api_key,
            parent=f"project_name:{name}",
            api_url=server.url,
            SpanProcessor=SimpleSpanProcessor,
        )
    )
    tracer = provider.get_tracer("app")
    with tracer.start_as_current_span("handle request"):
        with tracer.start_as_current_span("chat") as chat:
            chat.set_attribute("gen_ai.operation.name", "chat")
    provider.shutdown()
    with server.client() as client:
        rows = rows_of(client, f"project_logs('{project_id_of(client, name)}')")
    by_name = {r["span_attributes"]["name"]: r for r in rows.values()}
    assert set(by_name) == {"handle request", "chat"}
    assert by_name["chat"]["span_attributes"]["type"] == "llm"
    assert by_name["chat"]["span_parents"] == [by_name["handle request"]["span_id"]]
    for row in rows.values():
        assert not {"braintrust.parent", "braintrust.context_json"} & set(row["metadata"] or {})
        assert row["context"]["span_origin"]
