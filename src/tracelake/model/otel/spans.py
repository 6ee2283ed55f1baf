"""OTLP spans to tracelake rows: ids, times, status and events, then the conventions.

Row ids are span ids, so a re-sent span replaces itself. Trace and span ids are written as
hex (32 and 16 characters), the Braintrust SDK's own id format, so OTel spans and SDK spans
of one trace share ``root_span_id`` and parent each other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import orjson

from tracelake.errors import InvalidRequest, TracelakeError
from tracelake.model.objects import ObjectRef, ObjectType
from tracelake.model.otel.conventions import SpanRejected, map_braintrust, map_genai
from tracelake.model.otel.draft import SpanDraft, SpanEvent
from tracelake.model.otel.frameworks import (
    map_logfire,
    map_openinference,
    map_traceloop,
    map_vercel,
)
from tracelake.model.otel.parents import Parent, parse_parent
from tracelake.model.otel.span_types import span_type
from tracelake.model.otel.wire import attributes
from tracelake.model.rows import (
    MAX_JSON_DEPTH,
    SPAN_FIELDS,
    USER_FIELDS,
    RowWrite,
    WriteKind,
    nests_deeper,
)

# Precedence: braintrust.* > gen_ai.* > frameworks. Each fills only what is still empty.
CONVENTIONS = (map_braintrust, map_genai, map_openinference, map_traceloop, map_vercel, map_logfire)

STATUS_ERROR = 2
PARENT_ATTRIBUTE = "braintrust.parent"
_CALLER = (
    ("caller_functionname", ("code.function.name", "code.function")),
    ("caller_filename", ("code.file.path", "code.filepath")),
    ("caller_lineno", ("code.line.number", "code.lineno")),
)
_ZERO_TRACE = bytes(16)
_ZERO_SPAN = bytes(8)
# The row fields a span's attributes can nest (the store refuses JSON nested too deep).
_NESTED_FIELDS = ("input", "output", "expected", "metadata", "span_attributes", "context", "origin")


@dataclass
class MappedSpans:
    """The rows of an export request, each with its ``braintrust.parent`` text (or None),
    and (span id, reason) for each span that could not become a row."""

    rows: list[tuple[str | None, dict]] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)


def map_request(request) -> MappedSpans:
    """Map every span of an ``ExportTraceServiceRequest`` (routing keys come later)."""
    result = MappedSpans()
    for resource_spans in request.resource_spans:
        resource = attributes(resource_spans.resource.attributes)
        sdk_version = resource.get("telemetry.sdk.version")
        service = resource.get("service.name")
        for scope_spans in resource_spans.scope_spans:
            origin = {"name": "opentelemetry", "version": sdk_version}
            if scope_spans.scope.name:
                origin["instrumentation"] = {"name": scope_spans.scope.name}
            for span in scope_spans.spans:
                try:
                    result.rows.append(map_span(span, origin, service))
                except SpanRejected as exc:
                    result.rejected.append((span.span_id.hex(), str(exc)))
    return result


def map_span(span, origin: dict, service: Any = None) -> tuple[str | None, dict]:
    """One span as a row without routing keys, and its ``braintrust.parent`` attribute."""
    trace_id, span_id, parent_id = span.trace_id, span.span_id, span.parent_span_id
    if len(trace_id) != 16 or trace_id == _ZERO_TRACE:
        raise SpanRejected("trace_id must be 16 bytes, not all zero")
    if len(span_id) != 8 or span_id == _ZERO_SPAN:
        raise SpanRejected("span_id must be 8 bytes, not all zero")
    if parent_id and len(parent_id) != 8:
        raise SpanRejected("parent_span_id must be 8 bytes")
    if parent_id == _ZERO_SPAN:
        # The invalid span id: some exporters (Zipkin and Jaeger bridges, hand-made
        # OTLP/JSON) send it for a root span instead of leaving the field empty.
        parent_id = b""
    attrs = attributes(span.attributes)
    parent = attrs.pop(PARENT_ATTRIBUTE, None)
    if parent is not None and not isinstance(parent, str):
        # Not a route it could take: it must not fall back to the x-bt-parent header's.
        raise SpanRejected(
            f"{PARENT_ATTRIBUTE} must be text (project_id:<id>, project_name:<name>, "
            "experiment_id:<id> or an exported span)"
        )
    events = [SpanEvent(e.name, e.time_unix_nano, attributes(e.attributes)) for e in span.events]
    d = SpanDraft(
        attrs=attrs,
        events=events,
        name=span.name,
        prefixes=frozenset(key.partition(".")[0] for key in attrs),
    )
    for convention in CONVENTIONS:
        convention(d)

    start, end = span.start_time_unix_nano, span.end_time_unix_nano
    start, end = start or end, end or start
    if start:
        d.metrics.setdefault("start", start / 1e9)
        d.metrics.setdefault("end", end / 1e9)
    if "tokens" not in d.metrics:
        counts = [d.metrics.get("prompt_tokens"), d.metrics.get("completion_tokens")]
        if any(c is not None for c in counts):
            total = sum(c for c in counts if c is not None)
            # Beyond 64 bits an integer cannot be stored as JSON here: keep it as a float.
            d.metrics["tokens"] = total if -(2**63) <= total < 2**64 else float(total)
    if span.status.code == STATUS_ERROR:
        d.set("error", _error(span.status.message, d))
    context = {}
    if "code" in d.prefixes:
        for name, keys in _CALLER:
            value = d.take_first(*keys)
            if value is not None:
                context[name] = value
    context["span_origin"] = origin
    context.update(d.context)
    span_attributes = {"name": span.name}
    kind = d.type or span_type(d.attrs)
    if kind is not None:
        span_attributes["type"] = kind
    span_attributes.update(d.span_attributes)

    metadata = d.metadata
    consumed = () if d.preserve_attributes else d.consumed
    for key, value in attrs.items():
        if key not in consumed:
            metadata.setdefault(key, value)
    if service is not None:
        metadata.setdefault("service.name", service)
    if d.events:
        metadata.setdefault("otel.events", [_event_json(e) for e in d.events])
    if parent is not None and d.preserve_attributes:
        metadata.setdefault(PARENT_ATTRIBUTE, parent)

    row = {
        "id": span_id.hex(),
        "span_id": span_id.hex(),
        "root_span_id": trace_id.hex(),
        "span_parents": [parent_id.hex()] if parent_id else None,
        "created": _iso(start) if start else None,
        "input": d.input,
        "output": d.output,
        "expected": d.expected,
        "error": d.error,
        "scores": d.scores or None,
        "metrics": d.metrics,
        "metadata": metadata or None,
        "tags": d.tags,
        "span_attributes": span_attributes,
        "context": context,
        "origin": d.origin,
        "classifications": None,
    }
    _check_depth(row)
    return parent, row


def _check_depth(row: dict) -> None:
    """Reject a span whose values nest deeper than the store takes (a span rejected alone
    rather than the whole request refused at write time).

    The ingest hot path: one encoding of the span's values first. A value nesting more than
    ``MAX_JSON_DEPTH`` levels writes that many opening brackets, so a span with fewer in all
    (strings' brackets count too: they only make the test fail safe) needs no look at each
    value (which cost ~12 µs a span: an encoding under 54 extra lists per value)."""
    try:
        text = orjson.dumps([row[name] for name in _NESTED_FIELDS])
        if text.count(b"[") + text.count(b"{") <= MAX_JSON_DEPTH:
            return
    except orjson.JSONEncodeError:
        pass  # too deep for orjson, or not JSON: each value is looked at below
    for name in _NESTED_FIELDS:
        if nests_deeper(row[name]):
            raise SpanRejected(f"{name} nests deeper than {MAX_JSON_DEPTH} levels")


def _error(message: str, d: SpanDraft) -> str:
    """The span's error: its exception event (type, message, stack trace), else the status
    message. Of several exception events, the last (the latest; of those at one time, the
    last listed) is the one that ended the span: a caught and recorded exception comes
    before it, and stays among the span's other events."""
    exceptions = [(event.time_unix_nano, i) for i, event in enumerate(d.events)]
    exceptions = [key for key in exceptions if d.events[key[1]].name == "exception"]
    if exceptions:
        event = d.events.pop(max(exceptions)[1])
        a = event.attributes
        kind, text = a.get("exception.type"), a.get("exception.message")
        error = ": ".join(str(p) for p in (kind, text) if p) or message or "exception"
        if a.get("exception.stacktrace"):
            error += "\n\n" + str(a["exception.stacktrace"])
        return error
    return message or "span status is ERROR"


def _event_json(event: SpanEvent) -> dict:
    return {
        "name": event.name,
        "time": event.time_unix_nano / 1e9,
        "attributes": event.attributes,
    }


def _iso(unix_nano: int) -> str:
    """The time as the store keeps it: UTC with microseconds, ``Z``."""
    seconds, nanos = divmod(unix_nano, 1_000_000_000)
    return f"{_iso_seconds(seconds)}.{nanos // 1000:06d}Z"


@lru_cache(maxsize=4096)
def _iso_seconds(seconds: int) -> str:
    # The spans of a batch share their seconds: formatting is the costly part.
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")


# -- routing ------------------------------------------------------------------------------------

Resolve = Callable[[Parent], dict]


def route_rows(
    mapped: MappedSpans, header: str | None, resolve: Resolve
) -> tuple[list[dict], list[tuple[str, str]]]:
    """Give each row its object: its ``braintrust.parent`` attribute, else the
    ``x-bt-parent`` header. ``resolve`` turns a parent into routing keys (and raises for an
    unknown object or creates a project). A header that does not parse, or names an unknown
    object spans go to, fails the request; a bad attribute rejects its spans.
    A parent that is an exported span makes the OTel trace part of that span's trace."""
    header_parent = header_keys = None
    if header is not None and header.strip():
        header_parent = parse_parent(header)
        if any(text is None for text, _ in mapped.rows):
            # Resolved first, as it fails the request: a span's ``project_name:`` attribute
            # resolved before it created its project, which stayed when the header's
            # object then proved unknown (404). A ``project_name:`` header creates its
            # project only when the request stores a span in it, as every span without
            # the attribute is.
            header_keys = resolve(header_parent)
    resolved: dict[str, tuple[Parent, dict] | TracelakeError] = {}
    rows: list[dict] = []
    rejected = list(mapped.rejected)
    unrouted = []
    for text, row in mapped.rows:
        if text is None:
            if header_parent is None:
                unrouted.append(row["span_id"])
                continue
            parent, keys = header_parent, header_keys
        else:
            if text not in resolved:
                try:
                    parsed = parse_parent(text)
                    resolved[text] = (parsed, resolve(parsed))
                except TracelakeError as exc:
                    resolved[text] = exc
            found = resolved[text]
            if isinstance(found, TracelakeError):
                rejected.append((row["span_id"], f"braintrust.parent: {found.message}"))
                continue
            parent, keys = found
        row.update(keys)
        if parent.span_id and parent.root_span_id:
            row["root_span_id"] = parent.root_span_id
            if row["span_parents"] is None:
                row["span_parents"] = [parent.span_id]
        rows.append(row)
    if unrouted:
        message = (
            "no parent: send the x-bt-parent header (project_id:<id>, project_name:<name>, "
            "experiment_id:<id> or an exported span) or a braintrust.parent span attribute"
        )
        if not rows:
            raise InvalidRequest(message)
        rejected.extend((span_id, message) for span_id in unrouted)
    return rows, rejected


def rejection_summary(rejected: list[tuple[str, str]], limit: int = 5) -> str:
    """One message for ``partial_success``: each distinct reason once, with an example span."""
    reasons: dict[str, list[str]] = {}
    for span_id, reason in rejected:
        reasons.setdefault(reason, []).append(span_id)
    parts = [
        f"{reason} ({len(ids)} span{'s' if len(ids) > 1 else ''}, e.g. {ids[0] or '?'})"
        for reason, ids in list(reasons.items())[:limit]
    ]
    if len(reasons) > limit:
        parts.append(f"and {len(reasons) - limit} more reasons")
    count = f"{len(rejected)} span{'s' if len(rejected) != 1 else ''}"
    return f"{count} rejected: " + "; ".join(parts)


def row_states(rows: list[dict]) -> list[tuple[ObjectRef, dict]]:
    """Routed rows with their objects, as complete row states for a whole-row replace: what
    ``row_writes`` makes of them once applied (a test checks the two give the same stored
    rows), without a write object per row. This is the ingest hot path."""
    refs: dict[str, ObjectRef] = {}
    return [(_object_of(row, refs), row) for row in rows]


def _object_of(row: dict, refs: dict[str, ObjectRef]) -> ObjectRef:
    """A routed row's object (``refs`` keeps one ObjectRef per object id)."""
    object_id = row.get("experiment_id") or row["project_id"]
    ref = refs.get(object_id)
    if ref is None:
        kind = ObjectType.EXPERIMENT if "experiment_id" in row else ObjectType.PROJECT_LOGS
        ref = refs[object_id] = ObjectRef(kind, object_id)
    return ref


def row_writes(rows: list[dict]) -> list[RowWrite]:
    """Routed rows as replace writes. ``map_span`` builds them valid (the property test
    checks that they equal what ``normalize_row`` makes of them), so the per-field checks
    that rows from clients need are skipped here: this is the ingest hot path."""
    refs: dict[str, ObjectRef] = {}
    writes = []
    for row in rows:
        ref = _object_of(row, refs)
        fields = {name: row[name] for name in USER_FIELDS}
        for name in SPAN_FIELDS:
            if row[name] is not None:
                fields[name] = row[name]
        writes.append(
            RowWrite(
                ref=ref, id=row["id"], kind=WriteKind.REPLACE, fields=fields, created=row["created"]
            )
        )
    return writes
