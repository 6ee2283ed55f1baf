"""Turning a raw row from a client into a validated write.

A raw row is what the SDK puts in ``/logs3`` or what ``…/insert`` receives: user fields,
system fields the client may set (``id``, ``created``, span ids) and markers that say how to
apply it (``_is_merge``, ``_object_delete``, ``_merge_paths``, ``_array_delete``,
``_parent_id``, ``_audit_source``/``_audit_metadata``, and ``comment`` + ``origin``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import orjson

from tracelake.errors import InvalidRequest
from tracelake.model.ids import uuid7
from tracelake.model.names import CONTROL_CHARACTERS
from tracelake.model.objects import ROUTING_KEYS, ObjectRef, ObjectType

# Free-form JSON fields a row carries.
JSON_FIELDS = (
    "input",
    "output",
    "expected",
    "error",
    "scores",
    "metrics",
    "metadata",
    "span_attributes",
    "context",
    "origin",
    "classifications",  # spans only: a dataset row's is ignored, as before
)
# JSON fields that hold any JSON value; the others must be objects (or null).
FREE_JSON_FIELDS = ("input", "output", "expected", "error")
OBJECT_FIELDS = tuple(name for name in JSON_FIELDS if name not in FREE_JSON_FIELDS)
# Fields the client may set that are stored in typed columns.
SPAN_FIELDS = ("span_id", "root_span_id", "span_parents")
USER_FIELDS = (*JSON_FIELDS, "tags")

# Accepted and ignored: they steer Braintrust's hosted scoring, which tracelake does not run,
# or are read-only fields a client may echo back from a fetch.
IGNORED_FIELDS = frozenset(
    {
        "_async_scoring_control",
        "_skip_async_scoring",
        "_xact_id",
        "_pagination_key",
        "is_root",
        "comments",
        "audit_data",
        "facets",
        "dataset_record_id",
        "inputs",
    }
)
MARKER_FIELDS = frozenset(
    {
        "_is_merge",
        "_object_delete",
        "_merge_paths",
        "_array_delete",
        "_parent_id",
        "_audit_source",
        "_audit_metadata",
        "comment",
    }
)
KNOWN_FIELDS = frozenset(
    {"id", "created", *USER_FIELDS, *SPAN_FIELDS, *ROUTING_KEYS, *MARKER_FIELDS, *IGNORED_FIELDS}
)
# What a comment row may carry (the SDK's log_feedback sends a comment as a row of its own,
# with no span or user fields); ``_object_delete: false`` says nothing. Anything else given
# (not null) is refused: a comment is no ordinary row, so it would be dropped.
COMMENT_ROW_FIELDS = frozenset(
    {
        "id",
        "created",
        "origin",
        "comment",
        "_is_merge",
        "_merge_paths",
        "_object_delete",
        "_audit_source",
        "_audit_metadata",
        *ROUTING_KEYS,
        *IGNORED_FIELDS,
    }
)

AUDIT_SOURCES = ("app", "api", "external")
# The longest id a row (or its span, parents or origin) may have, in characters: as an
# object's name. Ids are repeated in every version, index and trace entry of a row and in
# links to it: a 5 MB id was stored.
MAX_ID_LENGTH = 1024
# How deep a stored JSON value may nest (arrays and objects): what is stored must be read back
# inside a response envelope, and the JSON encoder stops at 254 levels.
MAX_JSON_DEPTH = 200
# ``_audit_metadata`` is stored two levels down, in an entry of the ``audit_data`` list.
MAX_AUDIT_METADATA_DEPTH = MAX_JSON_DEPTH - 2
# How the SDK encodes non-finite floats (strict JSON has no NaN); stored as null in
# scores and metrics, which must be numbers.
NON_FINITE = frozenset({"NaN", "Infinity", "-Infinity"})


class WriteKind(StrEnum):
    REPLACE = "replace"
    MERGE = "merge"
    DELETE = "delete"
    COMMENT = "comment"


@dataclass(slots=True)
class RowWrite:
    """One validated write to one row of one object."""

    ref: ObjectRef
    id: str
    kind: WriteKind
    # User fields and span fields the write sets (only the keys present in the raw row).
    fields: dict[str, Any] = field(default_factory=dict)
    created: str | None = None
    merge_paths: list[tuple[str, ...]] = field(default_factory=list)
    array_deletes: list[tuple[tuple[str, ...], list[Any]]] = field(default_factory=list)
    parent_id: str | None = None
    audit: dict[str, Any] | None = None
    # For comments: the row the comment attaches to, the comment body, and whether the write
    # merges into the comment of its id (``_is_merge``) instead of replacing it.
    origin_id: str | None = None
    comment: Any = None
    merge: bool = False
    # How errors name the write: as the client listed it (``row 3``, ``feedback 2``). Not
    # part of what the write does: two writes that differ only there are equal.
    where: str = field(default="", compare=False)
    # The id was made here (the row gave none): no stored row can have it.
    new_id: bool = field(default=False, compare=False)

    @property
    def name(self) -> str:
        """The write in an error found past validation: where it was listed, and its id."""
        return f"{self.where} (id {self.id!r})" if self.where else f"row {self.id!r}"


def _check_comment(comment: Any, merge: bool, where: str) -> None:
    """A comment is ``{"text": "…"}`` (braintrust-protocol.md §4), with any other keys
    beside it; a merge into a comment may leave ``text`` out (it keeps the one stored). A
    ``5`` or a list was stored, and the UI and exports showed no text for it."""
    if not isinstance(comment, dict):
        raise InvalidRequest(f'{where}: comment must be an object like {{"text": "…"}}')
    if ("text" in comment or not merge) and not isinstance(comment.get("text"), str):
        raise InvalidRequest(f"{where}: comment.text must be a string")


def normalize_row(raw: Any, ref: ObjectRef, index: int = 0, where: str | None = None) -> RowWrite:
    """Validate a raw row that has already been routed to ``ref``.

    Error messages name the row as ``where``, by default by ``index``, its position in the
    request (``row 3``).
    """
    where = where or f"row {index}"
    if not isinstance(raw, dict):
        raise InvalidRequest(f"{where}: a row must be a JSON object")
    unknown = raw.keys() - KNOWN_FIELDS
    if unknown:
        first = next(k for k in raw if k in unknown)
        raise InvalidRequest(f"{where}: unknown field {first!r}")

    row_id = raw.get("id")
    if row_id is None:
        row_id = uuid7()
    elif not isinstance(row_id, str) or not row_id:
        raise InvalidRequest(f"{where}: id must be a non-empty string")
    else:
        check_id(row_id, f"{where}: id")

    created = raw.get("created")
    if created is not None:
        created = normalize_timestamp(created, f"{where}: created")

    audit = _audit(raw, where)
    for marker in ("_object_delete", "_is_merge"):
        if raw.get(marker) is not None and not isinstance(raw[marker], bool):
            raise InvalidRequest(f"{where}: {marker} must be true or false")

    if raw.get("_object_delete") is True:  # a delete, even of a comment sent back whole
        return RowWrite(
            ref=ref, id=row_id, kind=WriteKind.DELETE, created=created, audit=audit, where=where
        )
    if "comment" in raw and raw.get("comment") is not None:
        origin = raw.get("origin")
        if not isinstance(origin, dict) or not isinstance(origin.get("id"), str):
            raise InvalidRequest(f"{where}: a comment needs origin.id naming the row it is on")
        check_id(origin["id"], f"{where}: origin.id")
        extra = [k for k, v in raw.items() if k not in COMMENT_ROW_FIELDS and v is not None]
        if extra:
            raise InvalidRequest(
                f"{where}: a comment row carries only the comment, not "
                + ", ".join(repr(k) for k in extra)
                + " (send those in a row of their own, with the id of the row they change)"
            )
        check_depth(raw["comment"], f"{where}: comment")
        _check_comment(raw["comment"], raw.get("_is_merge") is True, where)
        write = RowWrite(
            ref=ref,
            id=row_id,
            kind=WriteKind.COMMENT,
            created=created,
            audit=audit,
            origin_id=origin["id"],
            comment=raw["comment"],
            merge=raw.get("_is_merge") is True,
            where=where,
        )
        if raw.get("_merge_paths") is not None:
            write.merge_paths = _paths(raw["_merge_paths"], f"{where}: _merge_paths")
        return write

    is_merge = raw.get("_is_merge")
    fields: dict[str, Any] = {}
    for name in USER_FIELDS:
        if name in raw:
            fields[name] = raw[name]
    for name in SPAN_FIELDS:
        if name in raw and raw[name] is not None:
            fields[name] = raw[name]
    _check_fields(fields, ref, where)

    parent_id = raw.get("_parent_id")
    if parent_id is not None and not isinstance(parent_id, str):
        raise InvalidRequest(f"{where}: _parent_id must be a string")
    if parent_id is not None:
        check_id(parent_id, f"{where}: _parent_id")
    if parent_id is not None and parent_id == row_id:
        raise InvalidRequest(f"{where}: _parent_id names the row itself")

    write = RowWrite(
        ref=ref,
        id=row_id,
        kind=WriteKind.MERGE if is_merge else WriteKind.REPLACE,
        fields=fields,
        created=created,
        parent_id=parent_id,
        audit=audit,
        where=where,
        new_id=raw.get("id") is None,
    )
    if "_merge_paths" in raw and raw["_merge_paths"] is not None:
        write.merge_paths = _paths(raw["_merge_paths"], f"{where}: _merge_paths")
    if "_array_delete" in raw and raw["_array_delete"] is not None:
        write.array_deletes = _array_deletes(raw["_array_delete"], where)
    if ref.object_type is ObjectType.DATASET:  # paths into `output` mean `expected` there too
        write.merge_paths = [_as_expected(p) for p in write.merge_paths]
        write.array_deletes = [(_as_expected(p), v) for p, v in write.array_deletes]
    return write


def _as_expected(path: tuple[str, ...]) -> tuple[str, ...]:
    """A dataset row's path with the deprecated ``output`` alias read as ``expected``."""
    return ("expected", *path[1:]) if path[0] == "output" else path


def _check_fields(fields: dict[str, Any], ref: ObjectRef, where: str) -> None:
    tags = fields.get("tags")
    if tags is not None:
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise InvalidRequest(f"{where}: tags must be a list of strings")
    if ref.object_type is ObjectType.DATASET:
        fields.pop("classifications", None)  # Braintrust's dataset inserts have none
    for name in OBJECT_FIELDS:
        value = fields.get(name)
        if value is not None and not isinstance(value, dict):
            raise InvalidRequest(f"{where}: {name} must be an object")
    scores = fields.get("scores")
    if scores:
        for key, value in scores.items():
            if isinstance(value, str) and value in NON_FINITE:
                scores[key] = None  # the SDK sends NaN and infinities as strings
                continue
            if value is None:
                continue
            if isinstance(value, bool):
                value = scores[key] = int(value)  # as the SDK turns a boolean score
            if not isinstance(value, int | float):
                raise InvalidRequest(f"{where}: score {key!r} must be a number or null")
            if not 0 <= value <= 1:
                raise InvalidRequest(f"{where}: score {key!r} must be between 0 and 1")
    metrics = fields.get("metrics")
    if metrics:
        for key, value in metrics.items():
            if isinstance(value, str) and value in NON_FINITE:
                metrics[key] = None
                continue
            if isinstance(value, bool):
                # The SDK checks a metric with isinstance(value, int), which True passes.
                value = metrics[key] = int(value)
            if value is not None and not isinstance(value, int | float):
                raise InvalidRequest(f"{where}: metric {key!r} must be a number")
    for name in ("span_id", "root_span_id"):
        value = fields.get(name)
        if value is not None and (not isinstance(value, str) or not value):
            raise InvalidRequest(f"{where}: {name} must be a non-empty string")
        if value is not None:
            check_id(value, f"{where}: {name}")
    parents = fields.get("span_parents")
    if parents is not None and (
        not isinstance(parents, list) or not all(isinstance(p, str) and p for p in parents)
    ):
        # (an empty span id is refused as a span_id: as a parent it named no span)
        raise InvalidRequest(f"{where}: span_parents must be a list of non-empty strings")
    for index, parent in enumerate(parents or ()):
        check_id(parent, f"{where}: span_parents[{index}]")
    attributes = fields.get("span_attributes")
    if attributes:
        for name in ("name", "type"):  # what the UI lists and filters spans by
            value = attributes.get(name)
            if value is not None and not isinstance(value, str):
                raise InvalidRequest(f"{where}: span_attributes.{name} must be a string or null")
    origin = fields.get("origin")
    if origin:
        for name in ("id", "object_id"):  # the row and object it was copied from
            value = origin.get(name)
            if value is not None and not isinstance(value, str):
                raise InvalidRequest(f"{where}: origin.{name} must be a string")
            if value is not None:
                check_id(value, f"{where}: origin.{name}")
    if ref.object_type is ObjectType.DATASET and "output" in fields:
        # The SDK's deprecated `output=` alias on datasets means `expected`.
        # As the SDK: both given is an error, a null one gives way to the other (an
        # `expected: null` beside it dropped the output).
        value = fields.pop("output")
        if value is not None and fields.get("expected") is not None:
            raise InvalidRequest(
                f"{where}: give expected or output (its deprecated alias on a dataset row),"
                " not both"
            )
        if value is not None or "expected" not in fields:
            fields["expected"] = value


def check_id(value: str, what: str) -> None:
    """Refuse an id (of a row, span, parent or origin) longer than ``MAX_ID_LENGTH`` or
    holding a control character (NUL, a newline, a tab, …; the set names refuse): such an
    id was stored as sent, and could not be typed, shown on one line or put in a link to
    the row."""
    if len(value) > MAX_ID_LENGTH:
        raise InvalidRequest(
            f"{what} is too long ({len(value):,} characters; at most {MAX_ID_LENGTH:,})"
        )
    found = CONTROL_CHARACTERS.search(value)
    if found is not None:
        raise InvalidRequest(
            f"{what} holds a control character (U+{ord(found.group()):04X} at character"
            f" {found.start() + 1}): ids are printable text"
        )


def nests_deeper(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether arrays and objects in ``value`` nest more than ``limit`` levels.

    orjson encodes at most ``_ORJSON_DEPTH`` levels, so encoding the value under
    ``_ORJSON_DEPTH - limit`` extra lists fails exactly when it nests deeper than ``limit``:
    the walk happens in C (a long chat history has hundreds of small objects; a walk in
    Python cost ten times its encoding). Anything else that fails to encode is walked."""
    if not isinstance(value, dict | list):
        return False
    if 0 < limit < _ORJSON_DEPTH:
        wrapped = value
        for _ in range(_ORJSON_DEPTH - limit):
            wrapped = [wrapped]
        try:
            orjson.dumps(wrapped)
            return False
        except orjson.JSONEncodeError as exc:
            if "Recursion limit" in str(exc):
                return True
    return _walks_deeper(value, limit)


_ORJSON_DEPTH = 254  # the deepest value orjson encodes


def _walks_deeper(value: Any, limit: int) -> bool:
    """``nests_deeper`` level by level in Python (no recursion: a parsed request may nest
    1,000 levels)."""
    level = [value]
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return True
        level = [
            child
            for node in level
            for child in (node.values() if isinstance(node, dict) else node)
            if isinstance(child, dict | list)
        ]
    return False


def json_texts(values: list[Any], where: Callable[[int], str]) -> list[str | None]:
    """The JSON text of each value (None stays None). A value nested deeper than
    ``MAX_JSON_DEPTH``, or one that cannot be encoded, is refused with ``where(position)``
    naming it. Built for the ingest path: one encode per value, and only long texts with
    many brackets get a depth check (a value nesting N levels has 2N characters and N
    brackets)."""
    dumps = orjson.dumps
    try:
        texts = [None if v is None else dumps(v).decode() for v in values]
    except orjson.JSONEncodeError:  # orjson stops at 254 levels: find the value below
        texts = None
    if texts is not None and all(t is None or len(t) <= _LONG for t in texts):
        return texts
    for index, value in enumerate(values):
        text = None if texts is None else texts[index]
        if value is None or (
            text is not None
            and (len(text) <= _LONG or text.count("[") + text.count("{") <= MAX_JSON_DEPTH)
        ):
            continue  # too short, or too few brackets, to nest that deep
        if nests_deeper(value):
            raise InvalidRequest(f"{where(index)} nests deeper than {MAX_JSON_DEPTH} levels")
        if text is None and not _encodes(value):
            raise InvalidRequest(f"{where(index)} cannot be stored as JSON")
    assert texts is not None  # a value that failed to encode was refused above
    return texts


_LONG = 2 * MAX_JSON_DEPTH


def _encodes(value: Any) -> bool:
    try:
        orjson.dumps(value)
        return True
    except orjson.JSONEncodeError:
        return False


def check_depth(value: Any, what: str, limit: int = MAX_JSON_DEPTH) -> None:
    """Refuse a JSON value nested deeper than ``limit`` levels."""
    if nests_deeper(value, limit):
        raise InvalidRequest(f"{what} nests deeper than {limit} levels")


def _audit(raw: dict, where: str) -> dict[str, Any] | None:
    source = raw.get("_audit_source")
    metadata = raw.get("_audit_metadata")
    if source is None and metadata is None:
        return None
    if source is not None and source not in AUDIT_SOURCES:
        raise InvalidRequest(f"{where}: _audit_source must be one of {', '.join(AUDIT_SOURCES)}")
    if metadata is not None and not isinstance(metadata, dict):
        raise InvalidRequest(f"{where}: _audit_metadata must be an object")
    check_depth(metadata, f"{where}: _audit_metadata", MAX_AUDIT_METADATA_DEPTH)
    return {"source": source, "metadata": metadata}


def _paths(value: Any, where: str) -> list[tuple[str, ...]]:
    if not isinstance(value, list):
        raise InvalidRequest(f"{where} must be a list of paths")
    paths = []
    for path in value:
        if not isinstance(path, list) or not path or not all(isinstance(p, str) for p in path):
            raise InvalidRequest(f"{where}: each path must be a non-empty list of strings")
        paths.append(tuple(path))
    return paths


def _array_deletes(value: Any, where: str) -> list[tuple[tuple[str, ...], list[Any]]]:
    if not isinstance(value, list):
        raise InvalidRequest(f"{where}: _array_delete must be a list")
    result = []
    for item in value:
        if not isinstance(item, dict) or "path" not in item or "delete" not in item:
            raise InvalidRequest(f"{where}: each _array_delete entry needs path and delete")
        (path,) = _paths([item["path"]], f"{where}: _array_delete path")
        values = item["delete"]
        if not isinstance(values, list):
            raise InvalidRequest(f"{where}: _array_delete delete must be a list")
        result.append((path, values))
    return result


def normalize_timestamp(value: Any, what: str) -> str:
    """Parse an ISO-8601 time (or unix seconds); render it as UTC ISO with microseconds.

    The SDK's own shape (UTC, microseconds) takes a cheap path: checked, not reformatted.
    """
    if isinstance(value, bool):
        raise InvalidRequest(f"{what} must be an ISO-8601 time")
    if isinstance(value, str) and len(value) == 32 and value.endswith("+00:00"):
        try:
            datetime.fromisoformat(value)
            if value[19] == ".":
                return value[:26] + "Z"
        except ValueError:
            pass
    out_of_range = f"{what} is out of range (years 1 to 9999 in UTC): {value!r}"
    if isinstance(value, int | float):
        try:
            moment = datetime.fromtimestamp(value, UTC)
        except (OverflowError, ValueError, OSError):
            if math.isfinite(value):  # before year 1 or after 9999
                raise InvalidRequest(out_of_range) from None
            raise InvalidRequest(f"{what} is not a valid unix time: {value!r}") from None
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            moment = _in_year_zero(text)  # (ISO-8601's year 0000, which Python has not)
            if moment is None:
                raise InvalidRequest(f"{what} is not an ISO-8601 time: {value!r}") from None
            if moment.year <= _CALENDAR_CYCLE:
                raise InvalidRequest(out_of_range) from None
            moment = moment.replace(year=moment.year - _CALENDAR_CYCLE)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
    else:
        raise InvalidRequest(f"{what} must be an ISO-8601 time")
    try:
        return format_timestamp(moment)
    except OverflowError:  # in UTC it falls before year 1 or after 9999
        raise InvalidRequest(out_of_range) from None


# The Gregorian calendar repeats every 400 years (weekdays and leap days alike).
_CALENDAR_CYCLE = 400


def _in_year_zero(text: str) -> datetime | None:
    """An ISO-8601 time in year 0000 (1 BC) as the same time 400 years on, in UTC (so a
    year of 400 or less there is before year 1); None if ``text`` is no such time."""
    if not text.startswith("0000-"):
        return None
    try:
        moment = datetime.fromisoformat(f"{_CALENDAR_CYCLE:04d}{text[4:]}")
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def format_timestamp(moment: datetime) -> str:
    """UTC ISO 8601 with microseconds and a four-digit year (``0001-01-01T…``: strftime's
    ``%Y`` leaves years before 1000 unpadded on Linux, ``1-01-01T…``)."""
    utc = moment.astimezone(UTC)
    return f"{utc.year:04d}" + utc.strftime("-%m-%dT%H:%M:%S.%fZ")


def now_timestamp() -> str:
    return format_timestamp(datetime.now(UTC))
