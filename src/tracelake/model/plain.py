"""The ingest fast path: a request whose rows are all new spans, each a plain replace.

Most ``/logs3`` requests carry only such rows (the SDK's span starts, ``logger.log``,
``experiment.log``). ``plain_rows`` checks and turns them into column lists in one pass,
without building a write and a row state per row as ``normalize_row`` and ``apply_write``
do. It returns None for a request with any other row — a merge, a delete, a comment, a
``_parent_id``, audit fields, merge or array-delete paths, a dataset row, an experiment's
row naming a project or a ``log_id``, a row naming an organization (the general path checks
each is its object's), an id given twice, an id given without a ``span_id`` (a replace of a
stored row keeps its span ids: the writer reads it) —
and for anything it cannot accept at a glance (a value the general path would correct or
refuse). Such a request takes the general path, which also words every error. Both paths
give the same rows; ``tests/unit/test_plain_rows.py`` compares them on generated requests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from tracelake.errors import InvalidRequest
from tracelake.model.ids import uuid7
from tracelake.model.objects import PROJECT_LOG_ID, ObjectRef, ObjectType
from tracelake.model.rows import (
    IGNORED_FIELDS,
    JSON_FIELDS,
    MAX_ID_LENGTH,
    OBJECT_FIELDS,
    normalize_timestamp,
)

# What a plain row may carry: its id and time, user and span fields, routing keys of
# project logs and experiments, fields the general path ignores too, and the two markers
# when they say "replace" (the SDK sends ``_is_merge: false`` with every span start). Not
# ``org_id``: the SDK sends none, and the general path checks a row's is its object's.
PLAIN_FIELDS = frozenset(
    {
        "id",
        "created",
        *JSON_FIELDS,
        "tags",
        "span_id",
        "root_span_id",
        "span_parents",
        "project_id",
        "log_id",
        "experiment_id",
        "_is_merge",
        "_object_delete",
        *IGNORED_FIELDS,
    }
)
# JSON fields that must be objects (or null), besides scores and metrics (objects of numbers).
_OBJECT_FIELDS = tuple(name for name in OBJECT_FIELDS if name not in ("scores", "metrics"))


@dataclass(slots=True)
class PlainRows:
    """Column lists of a request's rows, in request order. ``refs`` lists each object once
    (in order of first appearance) and ``ref_of_row`` points each row into it. JSON fields
    hold the parsed values (encoded by the store)."""

    refs: list[ObjectRef] = field(default_factory=list)
    ref_of_row: list[int] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    span_ids: list[str] = field(default_factory=list)
    root_span_ids: list[str] = field(default_factory=list)
    span_parents: list[list[str] | None] = field(default_factory=list)
    tags: list[list[str] | None] = field(default_factory=list)
    json: dict[str, list[Any]] = field(default_factory=lambda: {n: [] for n in JSON_FIELDS})

    def __len__(self) -> int:
        return len(self.ids)


def plain_rows(raw_rows: Any, now: str) -> PlainRows | None:
    """The columns of ``raw_rows`` if every row is a plain replace of a new or whole span of
    project logs or an experiment, else None. ``now`` is the time of rows without one."""
    if not isinstance(raw_rows, list) or not raw_rows:
        return None
    out = PlainRows()
    ref_index: dict[tuple[str, str], int] = {}
    seen: set[tuple[int, str]] = set()
    json_columns = [(name, out.json[name]) for name in JSON_FIELDS]
    for raw in raw_rows:
        if type(raw) is not dict or not raw.keys() <= PLAIN_FIELDS:
            return None
        merge, delete = raw.get("_is_merge"), raw.get("_object_delete")
        if (merge is not None and merge is not False) or (
            delete is not None and delete is not False
        ):
            return None  # (by identity: 0 == False, and the general path refuses 0)
        where = _object_of(raw)
        if where is None:
            return None
        position = ref_index.get(where)
        if position is None:
            position = ref_index[where] = len(out.refs)
            out.refs.append(ObjectRef(ObjectType(where[0]), where[1]))

        row_id = raw.get("id")
        if row_id is None:
            row_id = uuid7()
        elif type(row_id) is not str or not _plain_id(row_id):
            return None
        if (position, row_id) in seen:
            return None  # the general path applies both writes in order
        seen.add((position, row_id))

        created = raw.get("created")
        if created is None:
            created = now
        else:
            try:
                created = normalize_timestamp(created, "created")
            except InvalidRequest:
                return None

        span_id = raw.get("span_id")
        if span_id is None:
            if raw.get("id") is not None:
                return None  # it may replace a stored row, whose span ids it keeps
            span_id = row_id
        elif type(span_id) is not str or not _plain_id(span_id):
            return None
        root_span_id = raw.get("root_span_id")
        if root_span_id is None:
            root_span_id = span_id
        elif type(root_span_id) is not str or not _plain_id(root_span_id):
            return None
        parents = raw.get("span_parents")
        if parents is not None:
            if type(parents) is not list or not all(
                type(p) is str and _plain_id(p) for p in parents
            ):
                return None
            parents = parents or None
        tags = raw.get("tags")
        if tags is not None:
            if type(tags) is not list or not all(type(t) is str for t in tags):
                return None
            tags = list(dict.fromkeys(tags))
        if not _plain_values(raw):
            return None

        out.ref_of_row.append(position)
        out.ids.append(row_id)
        out.created.append(created)
        out.span_ids.append(span_id)
        out.root_span_ids.append(root_span_id)
        out.span_parents.append(parents)
        out.tags.append(tags)
        for name, column in json_columns:
            column.append(raw.get(name))
    return out


def _object_of(raw: dict) -> tuple[str, str] | None:
    """(object type, id) of a project-logs or experiment row, as ``route_row`` routes it."""
    experiment_id = raw.get("experiment_id")
    if experiment_id is not None:
        if type(experiment_id) is not str or not experiment_id:
            return None
        if raw.get("project_id") is not None or raw.get("log_id") is not None:
            return None  # the general path checks the project is the experiment's (and
            # refuses a log_id: project logs only)
        return (ObjectType.EXPERIMENT.value, experiment_id)
    project_id = raw.get("project_id")
    if type(project_id) is not str or not project_id:
        return None
    log_id = raw.get("log_id")
    if log_id is not None and log_id != PROJECT_LOG_ID:
        return None
    return (ObjectType.PROJECT_LOGS.value, project_id)


def _plain_id(value: str) -> bool:
    """Whether an id is taken at a glance: not empty, not too long, and printable (which
    also leaves out some rarer characters than control characters: those go the general
    path, which refuses exactly the control characters; see ``rows.check_id``)."""
    return 0 < len(value) <= MAX_ID_LENGTH and value.isprintable()


def _plain_values(raw: dict) -> bool:
    """Whether scores, metrics and the object fields are stored as given: scores are
    numbers in 0..1 or null, metrics numbers or null, the rest objects or null, and the
    span's name and type (if given) strings, its origin's ids too."""
    for name in _OBJECT_FIELDS:
        value = raw.get(name)
        if value is not None and type(value) is not dict:
            return False
    attributes = raw.get("span_attributes")
    if attributes:
        name, kind = attributes.get("name"), attributes.get("type")
        if (name is not None and type(name) is not str) or (
            kind is not None and type(kind) is not str
        ):
            return False
    origin = raw.get("origin")
    if origin:  # (an Eval's rows name the dataset row they ran on)
        for value in (origin.get("id"), origin.get("object_id")):
            if value is not None and (type(value) is not str or not _plain_id(value)):
                return False
    return _numbers(raw.get("scores"), 0, 1) and _numbers(raw.get("metrics"))


def _numbers(values: Any, low: float = -math.inf, high: float = math.inf) -> bool:
    """Whether ``values`` is null or an object of numbers in ``low..high`` or nulls."""
    if values is None:
        return True
    if type(values) is not dict:
        return False
    for value in values.values():  # (a loop: a generator cost ~0.5 µs a span here)
        if value is not None and not (
            (type(value) is float or type(value) is int) and low <= value <= high
        ):
            return False
    return True
