"""OTLP/HTTP on the wire: body formats, compression, attribute values and the responses.

An OTLP request is an ``ExportTraceServiceRequest`` as protobuf or as OTLP/JSON. OTLP/JSON
is not proto3 JSON: trace and span ids are hex, not base64, so they are rewritten before the
standard JSON parser sees them (without that they silently decode to 24-byte ids).
"""

from __future__ import annotations

import base64
import json
import re
import zlib
from enum import StrEnum
from functools import lru_cache
from typing import Any

import orjson
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from tracelake.errors import InvalidRequest, PayloadTooLarge, UnsupportedMediaType


class BodyFormat(StrEnum):
    PROTOBUF = "application/x-protobuf"
    JSON = "application/json"


def body_format(content_type: str | None) -> BodyFormat | None:
    """The body format a Content-Type names (matched by substring: ``; charset=`` occurs),
    or None for any other type."""
    value = (content_type or "").lower()
    if "application/x-protobuf" in value or "application/protobuf" in value:
        return BodyFormat.PROTOBUF
    if "application/json" in value:
        return BodyFormat.JSON
    return None


def unsupported_content_type(content_type: str | None) -> UnsupportedMediaType:
    return UnsupportedMediaType(
        f"unsupported Content-Type {content_type or '(none)'!r}: "
        "send application/x-protobuf or application/json"
    )


# zlib window bits: 16+ reads a gzip header, + a zlib header, - raw deflate.
_WBITS = {"gzip": (16 + zlib.MAX_WBITS,), "x-gzip": (16 + zlib.MAX_WBITS,)}
_DEFLATE_WBITS = (zlib.MAX_WBITS, -zlib.MAX_WBITS)  # zlib-wrapped as HTTP says; raw as sent


def decompress(body: bytes, encoding: str | None, limit: int) -> bytes:
    """Undo ``Content-Encoding`` (gzip, deflate or none), refusing more than ``limit``
    decompressed bytes without ever producing more than ``limit + 1`` of them. A gzip body
    may hold several members (RFC 1952), read one after the other as ``gzip.decompress``
    does; bytes after the last member, or after a deflate stream, are a 400."""
    name = (encoding or "identity").strip().lower()
    if name in ("", "identity", "none"):
        return body
    if name in _WBITS:
        attempts = _WBITS[name]
    elif name == "deflate":
        attempts = _DEFLATE_WBITS
    else:
        raise UnsupportedMediaType(
            f"unsupported Content-Encoding {encoding!r}: send gzip, deflate or none"
        )
    error = None
    for wbits in attempts:
        try:
            data, rest = _inflate_one(body, wbits, limit, limit, name)
        except zlib.error as exc:
            error = exc
            continue
        parts = [data]
        size = len(data)
        while rest:
            if name not in _WBITS:
                raise InvalidRequest(f"the {name} body has bytes after its end")
            try:
                data, rest = _inflate_one(rest, wbits, limit - size, limit, name)
            except zlib.error:
                raise InvalidRequest(
                    f"the {name} body has bytes after its last member that are not {name} data"
                ) from None
            parts.append(data)
            size += len(data)
        return b"".join(parts)
    raise InvalidRequest(f"the body is not valid {name} data: {error}")


def _inflate_one(body: bytes, wbits: int, room: int, limit: int, name: str) -> tuple[bytes, bytes]:
    """One compressed stream (a gzip member) at the start of ``body``: its bytes (at most
    ``room`` of the body's ``limit``) and the bytes after it. Raises zlib.error for data
    that is not compressed."""
    inflater = zlib.decompressobj(wbits)
    data = inflater.decompress(body, room + 1)
    if len(data) > room or inflater.unconsumed_tail:
        raise PayloadTooLarge(f"the decompressed body is larger than {limit} bytes")
    if not inflater.eof:
        raise InvalidRequest(f"the {name} body is truncated")
    return data, inflater.unused_data


def decode_request(body: bytes, fmt: BodyFormat) -> ExportTraceServiceRequest:
    """Parse an export request; an undecodable body is an InvalidRequest (400)."""
    request = ExportTraceServiceRequest()
    if fmt is BodyFormat.PROTOBUF:
        try:
            request.ParseFromString(body)
        except DecodeError as exc:
            if "UTF-8" not in str(exc):
                raise InvalidRequest(f"the body is not an OTLP protobuf request: {exc}") from None
            request = _with_invalid_utf8_replaced(body, exc)
        if body and not request.resource_spans:
            # As in OTLP/JSON below: unknown fields are ignored, but a body of nothing else
            # is no export request (an empty request is no bytes at all), rather the wrong
            # payload or bytes that happen to parse; it was a 200 that stored nothing.
            raise InvalidRequest(
                "the body is not an OTLP protobuf ExportTraceServiceRequest: it has no"
                f" resource_spans (field 1), only {len(body)} bytes of fields it does not have"
            )
        return request
    try:
        data = orjson.loads(body) if body.strip() else {}
    except orjson.JSONDecodeError as exc:
        data = _json_repaired(body, exc)
    if not isinstance(data, dict):
        raise InvalidRequest("an OTLP/JSON body must be a JSON object")
    if data and not data.keys() & {"resourceSpans", "resource_spans"}:
        # Unknown fields are ignored (OTLP/JSON), but a body with nothing else is no export
        # request: a client mistake (the wrong payload, a signal's name misspelt) that was a
        # 200 storing nothing. An empty object is a valid empty request.
        names = ", ".join(repr(k) for k in list(data)[:5])
        raise InvalidRequest(
            "the body is not an OTLP/JSON ExportTraceServiceRequest: it has no"
            f" 'resourceSpans' (its fields: {names})"
        )
    _hex_ids_to_base64(data)
    try:
        json_format.ParseDict(data, request, ignore_unknown_fields=True)
    except (json_format.ParseError, TypeError, ValueError, RecursionError) as exc:
        raise InvalidRequest(f"the body is not an OTLP/JSON export request: {exc}") from None
    return request


def _with_invalid_utf8_replaced(body: bytes, error: DecodeError) -> ExportTraceServiceRequest:
    """A protobuf request whose strings are not all valid UTF-8, read with each invalid
    byte as U+FFFD. The Collector forwards such strings as it got them (its own encoder does
    not check them, unlike the protobuf runtime here), and one bad attribute must not lose
    the whole batch. The body is read with a copy of the messages whose string fields are
    bytes, the strings are repaired, and the result is read again as the real request."""
    lenient = _lenient_request_class()()
    request = ExportTraceServiceRequest()
    try:
        lenient.ParseFromString(body)
        _repair_strings(lenient)
        request.ParseFromString(lenient.SerializeToString())
    except DecodeError:
        raise InvalidRequest(f"the body is not an OTLP protobuf request: {error}") from None
    return request


@lru_cache(maxsize=1)
def _lenient_request_class() -> type:
    """``ExportTraceServiceRequest`` with every string field declared as bytes (the same
    wire format, without the UTF-8 check), in a descriptor pool of its own."""
    files: dict[str, Any] = {}

    def add(file) -> None:
        for dependency in file.dependencies:
            add(dependency)
        files.setdefault(file.name, file)

    add(ExportTraceServiceRequest.DESCRIPTOR.file)
    pool = descriptor_pool.DescriptorPool()
    for file in files.values():
        proto = descriptor_pb2.FileDescriptorProto()
        file.CopyToProto(proto)
        _strings_as_bytes(proto.message_type)
        pool.Add(proto)
    name = ExportTraceServiceRequest.DESCRIPTOR.full_name
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(name))


_STRING = descriptor_pb2.FieldDescriptorProto.TYPE_STRING


def _strings_as_bytes(messages) -> None:
    for message in messages:
        for field in message.field:
            if field.type == _STRING:
                field.type = descriptor_pb2.FieldDescriptorProto.TYPE_BYTES
        _strings_as_bytes(message.nested_type)


def _repair_strings(message) -> None:
    """Replace invalid UTF-8 in the bytes fields that are strings in the real request."""
    real = _real_fields(message.DESCRIPTOR.full_name)
    for field, value in message.ListFields():
        if field.message_type is not None:
            for item in value if field.is_repeated else (value,):
                _repair_strings(item)
        elif field.name in real:
            if field.is_repeated:
                value[:] = [v.decode("utf-8", "replace").encode() for v in value]
            else:
                setattr(message, field.name, value.decode("utf-8", "replace").encode())


@lru_cache(maxsize=64)
def _real_fields(full_name: str) -> frozenset[str]:
    """The string fields of a message of the real request."""
    descriptor = ExportTraceServiceRequest.DESCRIPTOR.file.pool.FindMessageTypeByName(full_name)
    return frozenset(f.name for f in descriptor.fields if f.type == f.TYPE_STRING)


def _json_repaired(body: bytes, error: orjson.JSONDecodeError) -> Any:
    """JSON that orjson refuses only for bytes that are not UTF-8 or for a lone surrogate
    escape (``"\\ud83d"``), read with each invalid byte and each lone surrogate as U+FFFD,
    as Go's encoding/json (the Collector) does and as protobuf bodies are read. The JS
    exporter writes lone surrogates with JSON.stringify when an attribute value was cut
    inside a surrogate pair (its length limits cut UTF-16 code units), other clients may
    send Latin-1 text, and one such value must not lose the whole batch. Other malformed
    JSON is a 400."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        # orjson says "surrogates not allowed" for any invalid byte: repair, then read again.
        text = body.decode("utf-8", "replace")
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            error = exc
    if "surrogate" not in str(error):
        raise InvalidRequest(f"malformed JSON: {error}") from None

    def refuse(constant: str) -> None:
        raise ValueError(f"{constant} is not JSON")

    try:
        return _replace_surrogates(json.loads(text, parse_constant=refuse))
    except (ValueError, RecursionError):
        raise InvalidRequest(f"malformed JSON: {error}") from None


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _replace_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_replace_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {_replace_surrogates(k): _replace_surrogates(v) for k, v in value.items()}
    return value


_ID_KEYS = ("traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id")


def _hex_ids_to_base64(data: dict) -> None:
    """Rewrite the hex ids of OTLP/JSON in place to the base64 that proto3 JSON expects."""
    for resource_spans in _dicts(data.get("resourceSpans", data.get("resource_spans"))):
        scopes = resource_spans.get("scopeSpans", resource_spans.get("scope_spans"))
        for scope_spans in _dicts(scopes):
            for span in _dicts(scope_spans.get("spans")):
                _rewrite_ids(span)
                for link in _dicts(span.get("links")):
                    _rewrite_ids(link)


def _dicts(value: Any) -> list[dict]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _rewrite_ids(obj: dict) -> None:
    for key in _ID_KEYS:
        value = obj.get(key)
        if not isinstance(value, str):
            continue
        if value == "":
            continue
        try:
            raw = bytes.fromhex(value)
        except ValueError:
            raise InvalidRequest(f"{key} {value[:40]!r} is not a hex id") from None
        obj[key] = base64.b64encode(raw).decode()


# -- attribute values ---------------------------------------------------------------------------


def any_value(value) -> Any:
    """An ``AnyValue`` as plain JSON data: kvlists become objects, bytes base64 text."""
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return value.string_value
    if kind == "int_value":
        return value.int_value
    if kind == "double_value":
        return value.double_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    return None


def attributes(key_values) -> dict[str, Any]:
    """Repeated ``KeyValue`` as a dict (a repeated key keeps its last value)."""
    result = {}
    for kv in key_values:
        value = kv.value
        # Strings are most attributes: read them without a call (this runs per attribute).
        if value.WhichOneof("value") == "string_value":
            result[kv.key] = value.string_value
        else:
            result[kv.key] = any_value(value)
    return result


# -- responses ----------------------------------------------------------------------------------


def export_response(fmt: BodyFormat, rejected: int, message: str) -> bytes:
    """The ``ExportTraceServiceResponse``, with ``partial_success`` when spans were dropped."""
    response = ExportTraceServiceResponse()
    if rejected:
        response.partial_success.rejected_spans = rejected
        response.partial_success.error_message = message
    if fmt is BodyFormat.PROTOBUF:
        return response.SerializeToString()
    if not rejected:
        return b"{}"
    return orjson.dumps(
        {"partialSuccess": {"rejectedSpans": str(rejected), "errorMessage": message}}
    )


# google.rpc.Code for each HTTP status an OTLP error can have.
_RPC_CODES = {400: 3, 401: 16, 403: 7, 404: 5, 409: 6, 413: 8, 415: 3, 503: 14}


def status_body(fmt: BodyFormat | None, status: int, error: dict) -> bytes:
    """An error body as the ``google.rpc.Status`` OTLP asks for. The JSON form also carries
    tracelake's usual ``error`` envelope, which Status readers ignore."""
    code = _RPC_CODES.get(status, 2)
    message = error["error"]["message"]
    if fmt is BodyFormat.PROTOBUF:
        # Status{int32 code = 1; string message = 2}: two fields, encoded by hand because
        # google.rpc is not a runtime dependency.
        text = message.encode()
        return b"\x08" + _varint(code) + b"\x12" + _varint(len(text)) + text
    return orjson.dumps({"code": code, "message": message, **error})


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)
