"""Where OTel spans go: the ``x-bt-parent`` header and the ``braintrust.parent`` attribute.

Both take ``project_id:<id>``, ``project_name:<name>``, ``experiment_id:<id>`` or the slug
that a Braintrust SDK span's ``export()`` returns; a slug nests the OTel trace under that
span. Slugs are the SDK's SpanComponents encodings, versions 3 and 4: a version byte, an
object-type byte, a count of binary id fields (a field-number byte and the id's bytes each),
then optional JSON with the remaining fields.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass

import orjson

from tracelake.errors import InvalidRequest

PARENT_KINDS = ("project_id", "project_name", "experiment_id")


@dataclass(frozen=True, slots=True)
class Parent:
    """A parsed parent: the object the spans go to, and for a slug the span they hang under."""

    kind: str  # one of PARENT_KINDS
    value: str
    span_id: str | None = None
    root_span_id: str | None = None


def parse_parent(text: str) -> Parent:
    """Parse a parent string; an InvalidRequest says what is wrong with it."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidRequest("the parent is empty")
    text = text.strip()
    kind, sep, value = text.partition(":")
    if sep and kind in PARENT_KINDS:
        if not value:
            raise InvalidRequest(f"parent {text!r} names no {kind}")
        return Parent(kind, value)
    if sep and kind.isidentifier():
        raise InvalidRequest(
            f"unknown parent kind {kind!r}: use project_id:, project_name:, experiment_id: "
            "or an exported span"
        )
    return _parse_slug(text)


_OBJECT_TYPES = {1: "experiment", 2: "project_logs", 3: "playground_logs"}
_FIELD_NAMES = {1: "object_id", 2: "row_id", 3: "span_id", 4: "root_span_id"}


def _parse_slug(text: str) -> Parent:
    bad = InvalidRequest(
        f"parent {text[:60]!r} is neither kind:value nor an exported span (span.export())"
    )
    try:
        raw = base64.b64decode(text.encode(), validate=True)
    except (binascii.Error, ValueError):
        raise bad from None
    if len(raw) < 3 or raw[0] not in (3, 4):
        raise bad
    fields: dict = {}
    offset = 3
    try:
        for _ in range(raw[2]):
            number = raw[offset]
            name = _FIELD_NAMES[number]
            if raw[0] == 4 and number == 3:
                size = 8
            else:
                size = 16
            chunk = raw[offset + 1 : offset + 1 + size]
            if len(chunk) != size:
                raise bad
            # Version 3 packs UUIDs; version 4 packs hex ids (8 bytes for a span id).
            fields[name] = str(uuid.UUID(bytes=chunk)) if raw[0] == 3 else chunk.hex()
            offset += 1 + size
        if offset < len(raw):
            extra = orjson.loads(raw[offset:])
            if not isinstance(extra, dict):
                raise bad
            fields.update(extra)
        object_type = _OBJECT_TYPES[raw[1]]
    except (KeyError, IndexError, orjson.JSONDecodeError):
        raise bad from None
    span_id, root_span_id = fields.get("span_id"), fields.get("root_span_id")
    if not (isinstance(span_id, str) and isinstance(root_span_id, str)):
        span_id = root_span_id = None
    object_id = fields.get("object_id")
    args = fields.get("compute_object_metadata_args") or {}
    if not isinstance(args, dict):
        raise bad
    if object_type == "project_logs":
        if isinstance(object_id, str) and object_id:
            return Parent("project_id", object_id, span_id, root_span_id)
        for kind in ("project_id", "project_name"):
            if isinstance(args.get(kind), str) and args[kind]:
                return Parent(kind, args[kind], span_id, root_span_id)
    elif object_type == "experiment":
        if isinstance(object_id, str) and object_id:
            return Parent("experiment_id", object_id, span_id, root_span_id)
        if isinstance(args.get("experiment_id"), str):
            return Parent("experiment_id", args["experiment_id"], span_id, root_span_id)
        raise InvalidRequest("the exported span names an experiment that has no id yet")
    else:
        raise InvalidRequest("playground spans cannot be parents of OTel spans")
    raise bad
