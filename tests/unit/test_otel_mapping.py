"""The pure OTel mapping: wire formats and compression, parents and slugs, span types, the
per-convention fixtures, and routing rows to objects (no server, no database)."""

from __future__ import annotations

import base64
import gzip
import json
import zlib
from pathlib import Path

import orjson
import pytest
from braintrust.span_identifier_v3 import SpanComponentsV3, SpanObjectTypeV3
from braintrust.span_identifier_v4 import SpanComponentsV4
from google.rpc import status_pb2
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from tracelake.errors import InvalidRequest, NotFound, PayloadTooLarge, UnsupportedMediaType
from tracelake.model.objects import ObjectRef, ObjectType
from tracelake.model.otel.conventions import SpanRejected, parts_to_messages
from tracelake.model.otel.draft import unflatten
from tracelake.model.otel.parents import Parent, parse_parent
from tracelake.model.otel.span_types import span_type
from tracelake.model.otel.spans import (
    map_request,
    map_span,
    rejection_summary,
    route_rows,
    row_states,
    row_writes,
)
from tracelake.model.otel.wire import (
    BodyFormat,
    any_value,
    body_format,
    decode_request,
    decompress,
    export_response,
    status_body,
)
from tracelake.model.rows import normalize_row
from tracelake.store.writer import (
    ObjectInfo,
    WriteBatch,
    apply_batch,
    event_table,
    replace_entries,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "otel"
ORIGIN = {"name": "opentelemetry", "version": None}

# -- wire -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("application/x-protobuf", BodyFormat.PROTOBUF),
        ("application/json", BodyFormat.JSON),
        ("application/json; charset=utf-8", BodyFormat.JSON),
        ("text/plain", None),
        (None, None),
    ],
)
def test_body_format(content_type, expected):
    assert body_format(content_type) is expected


PAYLOAD = b"x" * 1000


@pytest.mark.parametrize(
    "packed",
    [
        ("gzip", gzip.compress(PAYLOAD)),
        ("deflate", zlib.compress(PAYLOAD)),
        ("deflate", zlib.compress(PAYLOAD, wbits=-zlib.MAX_WBITS)),  # raw deflate, as sent
        ("identity", PAYLOAD),
        (None, PAYLOAD),
    ],
    ids=["gzip", "deflate-zlib", "deflate-raw", "identity", "none"],
)
def test_decompress(packed):
    encoding, body = packed
    assert decompress(body, encoding, limit=1000) == PAYLOAD


def test_decompress_caps_the_output():
    with pytest.raises(PayloadTooLarge, match="decompressed"):
        decompress(gzip.compress(PAYLOAD), "gzip", limit=999)
    with pytest.raises(InvalidRequest, match="truncated"):
        decompress(gzip.compress(PAYLOAD)[:-10], "gzip", limit=5000)
    with pytest.raises(InvalidRequest, match="not valid gzip"):
        decompress(b"plain", "gzip", limit=5000)
    with pytest.raises(UnsupportedMediaType, match="br"):
        decompress(b"plain", "br", limit=5000)


def test_json_ids_are_hex():
    body = {
        "resourceSpans": [
            {
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": "0af7651916cd43dd8448eb211c80319c",
                                "spanId": "00f067aa0ba902b7",
                                "parentSpanId": "",
                                "kind": "SPAN_KIND_CLIENT",
                                "startTimeUnixNano": "1795000000000000001",
                                "unknownField": 1,
                            }
                        ]
                    }
                ]
            }
        ]
    }
    request = decode_request(json.dumps(body).encode(), BodyFormat.JSON)
    span = request.resource_spans[0].scope_spans[0].spans[0]
    assert span.trace_id.hex() == "0af7651916cd43dd8448eb211c80319c"
    assert span.span_id.hex() == "00f067aa0ba902b7"
    assert span.parent_span_id == b""
    assert span.kind == Span.SPAN_KIND_CLIENT
    assert span.start_time_unix_nano == 1795000000000000001


def test_protobuf_strings_that_are_not_utf8_become_replacement_characters():
    # The Collector forwards strings as it got them; the protobuf runtime refused the whole
    # request ("String field had bad UTF-8") and every span of the batch was lost.
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    kv = resource_spans.resource.attributes.add()
    kv.key, kv.value.string_value = "service.name", "RRRR"
    span = resource_spans.scope_spans.add().spans.add()
    span.trace_id, span.span_id, span.name = bytes(range(1, 17)), bytes(range(1, 9)), "NNNN"
    kv = span.attributes.add()
    kv.key = "KKKK"
    kv.value.array_value.values.add().string_value = "VVVV"
    kv = span.attributes.add()
    kv.key, kv.value.bytes_value = "raw", b"\xff\xff"  # bytes stay bytes
    body = request.SerializeToString()
    for text, bad in ((b"RRRR", b"R\xffRR"), (b"NNNN", b"\xc3(NN"), (b"KKKK", b"\x80KKK")):
        body = body.replace(text, bad)
    body = body.replace(b"VVVV", "VVé".encode())  # valid UTF-8 is kept
    decoded = decode_request(body, BodyFormat.PROTOBUF)
    resource_spans = decoded.resource_spans[0]
    assert resource_spans.resource.attributes[0].value.string_value == "R\ufffdRR"
    span = resource_spans.scope_spans[0].spans[0]
    assert span.trace_id == bytes(range(1, 17))
    assert span.name == "\ufffd(NN"
    assert span.attributes[0].key == "\ufffdKKK"
    assert span.attributes[0].value.array_value.values[0].string_value == "VVé"
    assert span.attributes[1].value.bytes_value == b"\xff\xff"
    with pytest.raises(InvalidRequest, match="not an OTLP protobuf request"):  # still corrupt
        decode_request(body[:-3], BodyFormat.PROTOBUF)


def test_json_lone_surrogates_become_replacement_characters():
    # JSON.stringify (the JS exporter) escapes a surrogate pair cut in half by an attribute
    # length limit as a lone "\ud83d"; orjson refused it and the whole batch was a 400.
    span = {
        "traceId": "0af7651916cd43dd8448eb211c80319c",
        "spanId": "00f067aa0ba902b7",
        "name": "cut \\ud83d",  # an escaped backslash, not a surrogate: kept as is
        "attributes": [
            {"key": "output.value", "value": {"stringValue": "smile \ud83d"}},
            {"key": "k\udc00", "value": {"stringValue": "pair \ud83d\ude00 kept"}},
        ],
    }
    body = json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]})
    request = decode_request(body.encode(), BodyFormat.JSON)
    span = request.resource_spans[0].scope_spans[0].spans[0]
    assert span.name == "cut \\ud83d"
    assert [(a.key, a.value.string_value) for a in span.attributes] == [
        ("output.value", "smile \ufffd"),
        ("k\ufffd", "pair \U0001f600 kept"),
    ]
    with pytest.raises(InvalidRequest, match="malformed JSON"):
        decode_request(b'{"a": "\\ud83d", "b": NaN}', BodyFormat.JSON)


def test_json_bytes_that_are_not_utf8_become_replacement_characters():
    # A body with Latin-1 text was a 400 for the whole batch, saying "malformed JSON: str is
    # not valid UTF-8: surrogates not allowed" (it has no surrogate); protobuf bodies repair
    # such strings, and so do Go's encoding/json and the Collector.
    span = {
        "traceId": "0af7651916cd43dd8448eb211c80319c",
        "spanId": "00f067aa0ba902b7",
        "name": "caf\u00e9 CUT",
        "attributes": [{"key": "output.value", "value": {"stringValue": "LAT \ud83d"}}],
    }
    body = json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}).encode()
    body = body.replace(b"CUT", b"\xe9t\xc3").replace(b"LAT", b"\xff")
    request = decode_request(body, BodyFormat.JSON)
    span = request.resource_spans[0].scope_spans[0].spans[0]
    assert span.name == "caf\u00e9 \ufffdt\ufffd"
    assert span.attributes[0].value.string_value == "\ufffd \ufffd"
    with pytest.raises(InvalidRequest, match="malformed JSON: invalid literal"):  # still not JSON
        decode_request(b'{"a": "\xff", "b": nope}', BodyFormat.JSON)


@pytest.mark.parametrize(
    ("body", "fmt", "words"),
    [
        (b"\x0a\xff\xff", BodyFormat.PROTOBUF, "protobuf"),
        (b"[1, 2]", BodyFormat.JSON, "JSON object"),
        (b'{"resourceSpans": 3}', BodyFormat.JSON, "OTLP/JSON"),
        (b"{nope", BodyFormat.JSON, "malformed JSON"),
    ],
)
def test_undecodable_bodies(body, fmt, words):
    with pytest.raises(InvalidRequest, match=words):
        decode_request(body, fmt)


def test_any_value():
    value = AnyValue()
    kv = value.kvlist_value.values.add()
    kv.key = "k"
    kv.value.array_value.values.add().bytes_value = b"\x00\x01"
    kv.value.array_value.values.add().int_value = 7
    assert any_value(value) == {"k": [base64.b64encode(b"\x00\x01").decode(), 7]}
    assert any_value(AnyValue()) is None


def test_responses():
    assert export_response(BodyFormat.JSON, 0, "") == b"{}"
    assert json.loads(export_response(BodyFormat.JSON, 2, "why")) == {
        "partialSuccess": {"rejectedSpans": "2", "errorMessage": "why"}
    }
    answer = ExportTraceServiceResponse.FromString(export_response(BodyFormat.PROTOBUF, 3, "m"))
    assert (answer.partial_success.rejected_spans, answer.partial_success.error_message) == (3, "m")
    error = {"error": {"type": "InvalidRequest", "message": "bad" * 100}}
    status = status_pb2.Status.FromString(status_body(BodyFormat.PROTOBUF, 400, error))
    assert (status.code, status.message) == (3, "bad" * 100)
    assert json.loads(status_body(BodyFormat.JSON, 415, error))["code"] == 3


# -- parents --------------------------------------------------------------------------------------


def test_parent_kinds():
    assert parse_parent("project_id:p1") == Parent("project_id", "p1")
    assert parse_parent("project_name:my:project") == Parent("project_name", "my:project")
    assert parse_parent(" experiment_id:e1 ") == Parent("experiment_id", "e1")
    for bad, words in [
        ("", "empty"),
        ("project_id:", "names no"),
        ("dataset_id:d", "unknown parent kind"),
        ("not a slug", "exported span"),
        (base64.b64encode(b"\x04\x02").decode(), "exported span"),
    ]:
        with pytest.raises(InvalidRequest, match=words):
            parse_parent(bad)


def test_slugs_of_the_braintrust_sdk():
    root, span = "0af7651916cd43dd8448eb211c80319c", "00f067aa0ba902b7"
    v4 = SpanComponentsV4(
        object_type=SpanObjectTypeV3.PROJECT_LOGS,
        object_id="proj-1",
        row_id="row-1",
        span_id=span,
        root_span_id=root,
    ).to_str()
    assert parse_parent(v4) == Parent("project_id", "proj-1", span, root)
    experiment = SpanComponentsV4(
        object_type=SpanObjectTypeV3.EXPERIMENT, object_id="exp-1"
    ).to_str()
    assert parse_parent(experiment) == Parent("experiment_id", "exp-1")
    lazy = SpanComponentsV4(
        object_type=SpanObjectTypeV3.PROJECT_LOGS,
        compute_object_metadata_args={"project_name": "later"},
    ).to_str()
    assert parse_parent(lazy) == Parent("project_name", "later")
    v3 = SpanComponentsV3(
        object_type=SpanObjectTypeV3.PROJECT_LOGS,
        object_id="0f6b5e4a-3c2d-4e1f-8a9b-0c1d2e3f4a5b",
        row_id="r",
        span_id="s1",
        root_span_id="r1",
    ).to_str()
    assert parse_parent(v3) == Parent(
        "project_id", "0f6b5e4a-3c2d-4e1f-8a9b-0c1d2e3f4a5b", "s1", "r1"
    )
    playground = SpanComponentsV4(
        object_type=SpanObjectTypeV3.PLAYGROUND_LOGS, object_id="x"
    ).to_str()
    with pytest.raises(InvalidRequest, match="playground"):
        parse_parent(playground)


# -- span types -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attrs", "expected"),
    [
        ({"gen_ai.operation.name": "chat", "openinference.span.kind": "TOOL"}, "llm"),
        ({"gen_ai.operation.name": "embeddings"}, "llm"),
        ({"gen_ai.operation.name": "execute_tool"}, "tool"),
        ({"gen_ai.operation.name": "retrieval"}, "tool"),
        ({"gen_ai.operation.name": "invoke_agent"}, "task"),
        ({"openinference.span.kind": "EMBEDDING"}, "llm"),
        ({"openinference.span.kind": "RERANKER"}, "tool"),
        ({"openinference.span.kind": "AGENT"}, "task"),
        ({"openinference.span.kind": "EVALUATOR"}, "score"),
        ({"openinference.span.kind": "GUARDRAIL"}, "function"),
        ({"traceloop.span.kind": "workflow", "gen_ai.request.model": "m"}, "task"),
        ({"traceloop.span.kind": "tool"}, "tool"),
        ({"llm.request.type": "embedding"}, "llm"),
        ({"ai.operationId": "ai.streamText.doStream"}, "llm"),
        ({"ai.operationId": "ai.embedMany.doEmbed"}, "llm"),
        ({"operation.name": "ai.toolCall fn"}, "tool"),
        ({"ai.operationId": "ai.generateObject"}, "task"),
        ({"gen_ai.tool.call.id": "c1"}, "tool"),
        ({"gen_ai.tool.name": "t", "gen_ai.request.model": "m"}, "tool"),
        ({"ai.model.id": "m"}, "llm"),
        ({"llm.model_name": "m"}, "llm"),
        ({"http.method": "GET"}, None),
        ({"operation.name": "db.query"}, None),
    ],
)
def test_span_type_rules(attrs, expected):
    assert span_type(attrs) == expected


# -- conventions ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(p.stem for p in FIXTURES.glob("*.json")))
def test_fixture_mapping(name):
    """The same fixtures the integration test sends, mapped without a server."""
    case = json.loads((FIXTURES / f"{name}.json").read_text())
    mapped = map_request(decode_request(json.dumps(case["request"]).encode(), BodyFormat.JSON))
    assert mapped.rejected == []
    rows = {row["span_id"]: row for _, row in mapped.rows}
    assert set(rows) == set(case["expected"])
    for span_id, expected in case["expected"].items():
        for field, value in expected.items():
            if field == "is_root":
                assert (not rows[span_id]["span_parents"]) is value
            elif field == "created":
                assert rows[span_id]["created"] == value
            else:
                assert rows[span_id][field] == value, f"{name}:{span_id}.{field}"


def _span(attrs: dict | None = None, **fields) -> Span:
    times = {"start_time_unix_nano": 2_000_000_000, "end_time_unix_nano": 3_000_000_000}
    span = Span(
        trace_id=bytes(range(1, 17)), span_id=bytes(range(1, 9)), name="s", **{**times, **fields}
    )
    for key, value in (attrs or {}).items():
        kv = span.attributes.add()
        kv.key = key
        if isinstance(value, str):
            kv.value.string_value = value
        else:
            kv.value.int_value = value
    return span


def test_times_fall_back_to_each_other():
    _, row = map_span(_span(start_time_unix_nano=0), ORIGIN)
    assert (row["metrics"]["start"], row["metrics"]["end"]) == (3.0, 3.0)
    _, row = map_span(_span(end_time_unix_nano=0), ORIGIN)
    assert (row["metrics"]["start"], row["metrics"]["end"]) == (2.0, 2.0)


def test_usage_is_counted_once_and_total_is_the_sum():
    attrs = {"ai.usage.promptTokens": 5, "gen_ai.usage.input_tokens": 5, "ai.usage.outputTokens": 2}
    _, row = map_span(_span(attrs), ORIGIN)
    assert row["metrics"]["prompt_tokens"] == 5
    assert row["metrics"]["completion_tokens"] == 2
    assert row["metrics"]["tokens"] == 7


def test_bad_ids_and_values_reject_the_span():
    spans = [
        _span(),
        Span(trace_id=bytes(16), span_id=bytes(range(1, 9))),
        Span(trace_id=bytes(range(1, 17)), span_id=b"\x01"),
        _span({"braintrust.metrics": '{"latency": "slow"}'}),
        _span({"braintrust.scores": '{"a": 1.5}'}),
        _span({"braintrust.metadata": '"text"'}),
    ]
    request = ExportTraceServiceRequest()
    request.resource_spans.add().scope_spans.add().spans.extend(spans)
    mapped = map_request(request)
    assert len(mapped.rows) == 1
    reasons = [reason for _, reason in mapped.rejected]
    assert reasons == [
        "trace_id must be 16 bytes, not all zero",
        "span_id must be 8 bytes, not all zero",
        "braintrust.metrics.latency must be a number",
        "braintrust.scores.a must be a number between 0 and 1",
        "braintrust.metadata must be an object",
    ]


def test_an_all_zero_parent_span_id_makes_a_root_span():
    # Zipkin/Jaeger bridges and hand-made OTLP/JSON send 8 zero bytes for "no parent".
    _, row = map_span(_span(parent_span_id=bytes(8)), ORIGIN)
    assert row["span_parents"] is None
    _, row = map_span(_span(parent_span_id=bytes(range(9, 17))), ORIGIN)
    assert row["span_parents"] == [bytes(range(9, 17)).hex()]


def test_openllmetry_flattened_messages_become_openai_messages():
    attrs = {
        "gen_ai.prompt.0.role": "user",
        "gen_ai.prompt.0.content": '[{"type": "text", "text": "weather?"}]',
        "gen_ai.prompt.1.role": "user",
        "gen_ai.prompt.1.content": "[not json] stays text",
        "gen_ai.completion.0.role": "assistant",
        "gen_ai.completion.0.finish_reason": "tool_calls",
        "gen_ai.completion.0.tool_calls.0.id": "call_1",
        "gen_ai.completion.0.tool_calls.0.name": "get_weather",
        "gen_ai.completion.0.tool_calls.0.arguments": '{"city": "SF"}',
    }
    _, row = map_span(_span(attrs), ORIGIN)
    assert row["input"] == [
        {"role": "user", "content": [{"type": "text", "text": "weather?"}]},
        {"role": "user", "content": "[not json] stays text"},
    ]
    assert row["output"] == [
        {
            "role": "assistant",
            "finish_reason": "tool_calls",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "SF"}'},
                }
            ],
        }
    ]


def test_openinference_messages_set_to_plain_values_map_without_error():
    # A malformed instrumentation used to fail the whole export with a 500.
    attrs = {
        "llm.input_messages.0.message": "hello",
        "llm.output_messages.0.message.role": "assistant",
        "llm.output_messages.0.message.tool_calls.0.tool_call": "oops",
    }
    _, row = map_span(_span(attrs), ORIGIN)
    assert row["input"] == [{"role": None, "content": "hello"}]
    call = {"id": None, "type": "function", "function": {"name": None, "arguments": None}}
    assert row["output"] == [{"role": "assistant", "content": None, "tool_calls": [call]}]


def test_tags_that_are_not_text_are_written_as_json():
    _, row = map_span(_span({"braintrust.tags": '["a", 1, true, {"k": [1]}]'}), ORIGIN)
    assert row["tags"] == ["a", "1", "true", '{"k":[1]}']
    _, row = map_span(_span({"braintrust.tags": '{"k": "v"}'}), ORIGIN)
    assert row["tags"] == ['{"k":"v"}']
    _, row = map_span(_span({"tag.tags": "[false, null]"}), ORIGIN)
    assert row["tags"] == ["false", "null"]


def test_braintrust_scores_and_metrics_read_as_logs3_reads_them():
    # A boolean score (an OTel bool attribute) was a rejected span; /logs3 counts it 1 or 0.
    span = _span({"braintrust.scores.fuzzy": "0.5"})
    for key, value in (("braintrust.scores.correct", True), ("braintrust.metrics.cached", False)):
        kv = span.attributes.add()
        kv.key, kv.value.bool_value = key, value
    _, row = map_span(span, ORIGIN)
    assert row["scores"] == {"correct": 1, "fuzzy": 0.5}
    assert row["metrics"]["cached"] == 0
    attrs = {"braintrust.scores": '{"a": "NaN"}', "braintrust.metrics": '{"m": "-Infinity"}'}
    _, row = map_span(_span(attrs), ORIGIN)
    assert row["scores"] == {"a": None}
    assert row["metrics"]["m"] is None


def test_system_instructions_do_not_touch_a_braintrust_input():
    attrs = {
        "braintrust.input_json": '[{"role": "user", "content": "mine"}]',
        "gen_ai.system_instructions": "be brief",
        "gen_ai.input.messages": "plain text, not JSON",
    }
    _, row = map_span(_span(attrs), ORIGIN)
    assert row["input"] == [{"role": "user", "content": "mine"}]
    _, row = map_span(_span({k: v for k, v in attrs.items() if "braintrust" not in k}), ORIGIN)
    assert row["input"] == "plain text, not JSON"


def test_parts_to_messages():
    messages = [
        {
            "role": "tool",
            "parts": [{"type": "tool_call_response", "id": "c1", "response": {"ok": True}}],
        },
        {"role": "user", "parts": [{"type": "text", "content": "a"}, {"type": "uri", "uri": "u"}]},
        {"role": "user", "content": "already OpenAI"},
    ]
    assert parts_to_messages(messages) == [
        {"role": "tool", "tool_call_id": "c1", "content": '{"ok":true}'},
        {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "uri", "uri": "u"}]},
        {"role": "user", "content": "already OpenAI"},
    ]


def test_unflatten():
    flat = {"0.role": "user", "0.content": "hi", "1.role": "assistant", "10.role": "x"}
    assert unflatten(flat) == [
        {"role": "user", "content": "hi"},
        {"role": "assistant"},
        {"role": "x"},
    ]
    assert unflatten({"a.b": 1, "a.c": '{"x": 1}'}) == {"a": {"b": 1, "c": '{"x": 1}'}}


# -- routing --------------------------------------------------------------------------------------


def _mapped(*parents: str | None):
    request = ExportTraceServiceRequest()
    scope = request.resource_spans.add().scope_spans.add()
    for n, parent in enumerate(parents):
        span = _span({"braintrust.parent": parent} if parent else {})
        span.span_id = bytes([n + 1] * 8)
        if n:
            span.parent_span_id = bytes([1] * 8)
        scope.spans.append(span)
    return map_request(request)


def _resolve(parent: Parent) -> dict:
    if parent.value == "missing":
        raise NotFound("project 'missing' not found")
    return {"project_id": parent.value, "log_id": "g"}


def test_routing_attribute_over_header():
    rows, rejected = route_rows(_mapped(None, "project_id:b"), "project_id:a", _resolve)
    assert [r["project_id"] for r in rows] == ["a", "b"]
    assert rejected == []


def test_a_parent_attribute_that_is_not_text_rejects_its_span():
    # It was dropped, and the span went to the x-bt-parent header's object instead.
    request = ExportTraceServiceRequest()
    scope = request.resource_spans.add().scope_spans.add()
    scope.spans.append(_span({"braintrust.parent": 7}))
    scope.spans.append(_span({"braintrust.output": "fine"}))
    scope.spans[1].span_id = bytes([2] * 8)
    rows, rejected = route_rows(map_request(request), "project_id:a", _resolve)
    assert [r["span_id"] for r in rows] == ["0202020202020202"]
    assert [(span_id, reason.split(" (")[0]) for span_id, reason in rejected] == [
        ("0102030405060708", "braintrust.parent must be text")
    ]


def test_routing_rejects_spans_without_a_route():
    rows, rejected = route_rows(_mapped(None, "project_id:b", None), None, _resolve)
    assert [r["project_id"] for r in rows] == ["b"]
    assert [span_id for span_id, _ in rejected] == ["0101010101010101", "0303030303030303"]
    assert all("x-bt-parent" in reason for _, reason in rejected)
    with pytest.raises(InvalidRequest, match="x-bt-parent"):
        route_rows(_mapped(None, None), None, _resolve)
    with pytest.raises(NotFound):
        route_rows(_mapped(None), "project_id:missing", _resolve)
    rows, rejected = route_rows(_mapped(None, "project_id:missing"), "project_id:a", _resolve)
    assert len(rows) == 1 and "not found" in rejected[0][1]


def test_row_writes_of_experiment_rows():
    rows, _ = route_rows(_mapped(None), "experiment_id:e", lambda p: {"experiment_id": p.value})
    ref = ObjectRef(ObjectType.EXPERIMENT, "e")
    assert row_writes(rows) == [normalize_row(rows[0], ref)]


def test_routing_under_an_exported_span():
    slug = SpanComponentsV4(
        object_type=SpanObjectTypeV3.PROJECT_LOGS,
        object_id="p",
        row_id="row",
        span_id="aaaaaaaaaaaaaaaa",
        root_span_id="bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
    ).to_str()
    rows, _ = route_rows(_mapped(None, None), slug, _resolve)
    assert [r["root_span_id"] for r in rows] == ["bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"] * 2
    assert rows[0]["span_parents"] == ["aaaaaaaaaaaaaaaa"]
    assert rows[1]["span_parents"] == ["0101010101010101"]


def test_rejection_summary_groups_reasons():
    rejected = [("a", "no parent"), ("b", "no parent"), ("c", "bad score")]
    assert rejection_summary(rejected) == (
        "3 spans rejected: no parent (2 spans, e.g. a); bad score (1 span, e.g. c)"
    )
    assert rejection_summary([("c", "bad score")]) == "1 span rejected: bad score (1 span, e.g. c)"


# -- any attributes: a row or a rejection, never a crash ------------------------------------------

_KEYS = sorted(
    {
        key
        for path in FIXTURES.glob("*.json")
        for rs in json.loads(path.read_text())["request"]["resourceSpans"]
        for ss in rs["scopeSpans"]
        for span in ss["spans"]
        for key in [a["key"] for a in span["attributes"]]
        + [a["key"] for e in span["events"] for a in e["attributes"]]
    }
    | {"braintrust.metadata", "braintrust.metrics.x", "braintrust.span_attributes.type"}
    | {"gen_ai.prompt", "gen_ai.completion_json", "llm.input_messages.0.message.contents"}
    | {"all_messages_events", "braintrust.context_json", "gen_ai.usage.total_tokens"}
)
_EVENT_NAMES = [
    "gen_ai.user.message",
    "gen_ai.choice",
    "gen_ai.assistant.message",
    "gen_ai.evaluation.result",
    "gen_ai.client.inference.operation.details",
    "exception",
    "other",
]


def _json_text(values):
    return values.map(lambda v: json.dumps(v))


_leaf = st.one_of(
    st.text(max_size=8),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=True),
    st.booleans(),
)
_json = st.recursive(
    st.none() | _leaf,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
_value = st.one_of(
    _leaf,
    _json_text(_json),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.sampled_from(["role", "content", "parts", "k"]), _leaf, max_size=3),
)


def _set_value(target, value) -> None:
    if isinstance(value, bool):
        target.bool_value = value
    elif isinstance(value, int):
        target.int_value = value
    elif isinstance(value, float):
        target.double_value = value
    elif isinstance(value, str):
        target.string_value = value
    elif isinstance(value, list):
        for item in value:
            _set_value(target.array_value.values.add(), item)
    else:
        for key, item in value.items():
            kv = target.kvlist_value.values.add()
            kv.key = key
            _set_value(kv.value, item)


@settings(max_examples=500, deadline=None)
@given(
    attrs=st.dictionaries(st.sampled_from(_KEYS), _value, max_size=12),
    events=st.lists(
        st.tuples(
            st.sampled_from(_EVENT_NAMES),
            st.dictionaries(st.sampled_from(_KEYS + ["content", "message", "role"]), _value),
        ),
        max_size=3,
    ),
    status=st.sampled_from([0, 1, 2]),
)
def test_any_attributes_map_to_a_valid_row_or_a_rejection(attrs, events, status):
    span = _span(status={"code": status})
    for key, value in attrs.items():
        kv = span.attributes.add()
        kv.key = key
        _set_value(kv.value, value)
    for name, event_attrs in events:
        event = span.events.add(name=name)
        for key, value in event_attrs.items():
            kv = event.attributes.add()
            kv.key = key
            _set_value(kv.value, value)
    try:
        _, row = map_span(span, ORIGIN)
    except SpanRejected:
        return
    routed = {**row, "project_id": "p", "log_id": "g"}
    expected = normalize_row(routed, ObjectRef(ObjectType.PROJECT_LOGS, "p"))  # valid
    assert row_writes([routed]) == [expected]  # the shortcut that skips normalize_row
    assert _rows_via_states([routed]).equals(_rows_via_writes([routed]))
    orjson.dumps(row)


_OBJECTS = {
    ObjectRef(ObjectType.PROJECT_LOGS, "p"): ObjectInfo("org", "p"),
    ObjectRef(ObjectType.EXPERIMENT, "e"): ObjectInfo("org", "p"),
}
_NOW = "2026-11-23T00:00:00.000000Z"


def _rows_via_writes(rows):
    batch = WriteBatch(writes=row_writes(rows), objects=_OBJECTS)
    return event_table(apply_batch(batch, {}, _NOW), _NOW)


def _rows_via_states(rows):
    """The ingest path: row states straight into event rows, no write objects."""
    return event_table(replace_entries(row_states(rows), _OBJECTS), _NOW)


def test_row_states_store_what_the_replace_writes_store():
    rows, _ = route_rows(_mapped(None, None, None), "project_id:p", _resolve)
    rows[0]["tags"] = ["a", "b", "a"]
    rows[1]["created"] = None  # stored with the time of the write
    rows.append({**rows[2], "output": "sent again: the last one wins"})
    rows.append({**rows[0], "experiment_id": "e"})
    via_states = _rows_via_states(rows)
    assert via_states.equals(_rows_via_writes(rows))
    assert via_states.num_rows == 4
    assert via_states.column("tags").to_pylist()[0] == ["a", "b"]


def test_a_token_total_beyond_64_bits_is_kept_as_a_float():
    span = _span()
    for key, value in {
        "gen_ai.usage.input_tokens": -(2**63),
        "gen_ai.usage.output_tokens": -1,
    }.items():
        kv = span.attributes.add()
        kv.key = key
        _set_value(kv.value, value)
    _, row = map_span(span, ORIGIN)
    assert row["metrics"]["tokens"] == float(-(2**63) - 1)
    routed = {**row, "project_id": "p", "log_id": "g"}
    assert _rows_via_states([routed]).equals(_rows_via_writes([routed]))  # storable
