"""Group commit of event writes: apply write semantics, then insert Arrow batches.

Runs on the writer thread only. One ``WriteBatch`` is one client request and gets one
``_xact_id``; several batches commit in one DuckDB transaction, and each batch's future is
resolved only after that transaction has committed.
"""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import duckdb
import orjson
import pyarrow as pa

from tracelake.errors import TracelakeError
from tracelake.model.merge import apply_write
from tracelake.model.objects import ObjectRef
from tracelake.model.rows import JSON_FIELDS, RowWrite, WriteKind, now_timestamp
from tracelake.model.xact import XactClock, format_xact

Key = tuple[str, str, str]  # (object_type, object_id, id)


@dataclass(slots=True)
class ObjectInfo:
    """Where an object's rows belong: its organization and project."""

    org_id: str
    project_id: str


@dataclass(slots=True)
class WriteBatch:
    """The rows of one write request, already validated and resolved to their objects."""

    writes: list[RowWrite]
    objects: dict[ObjectRef, ObjectInfo]
    future: Future = field(default_factory=Future)


def row_key(ref: ObjectRef, row_id: str) -> Key:
    return (ref.object_type.value, ref.object_id, row_id)


def pagination_key(xact_id: int, seq: int) -> str:
    """A string that sorts like (xact_id, position in the request)."""
    return f"p{format_xact(xact_id)}.{seq:07d}"


def commit_group(cursor: duckdb.DuckDBPyConnection, group: list[WriteBatch], clock: XactClock):
    """Apply and commit ``group`` in one transaction, then resolve each batch's future.

    A batch whose writes are invalid against the stored rows (e.g. an unknown _parent_id)
    fails alone; a database error fails the whole call (the caller retries batch by batch).
    """
    current = _load_current(cursor, group)
    overlay: dict[Key, dict[str, Any] | None] = {}
    history: list[tuple[Key, dict[str, Any] | None, int, int, ObjectInfo]] = []
    comments: list[tuple[RowWrite, int, ObjectInfo]] = []
    deleted_ids: list[Key] = []
    done: list[tuple[WriteBatch, int]] = []
    now = now_timestamp()

    for batch in group:
        xact_id = clock.next()
        try:
            versions, batch_comments = _apply_batch(batch, current, overlay, xact_id, now)
        except TracelakeError as exc:
            batch.future.set_exception(exc)
            continue
        for key, (state, seq, ref) in versions.items():
            overlay[key] = state
            history.append((key, state, xact_id, seq, batch.objects[ref]))
            if state is None:
                deleted_ids.append(key)
        comments.extend((w, xact_id, batch.objects[w.ref]) for w in batch_comments)
        done.append((batch, xact_id))

    if not done:
        return
    cursor.begin()
    try:
        _write_events(cursor, history, now)
        if comments:
            _insert_comments(cursor, comments, now)
        if deleted_ids:
            _delete_comments(cursor, deleted_ids)
        cursor.commit()
    except BaseException:
        cursor.rollback()
        raise
    for batch, xact_id in done:
        batch.future.set_result(xact_id)


def _apply_batch(batch, current, overlay, xact_id, now):
    """Apply one request's writes in order. Returns the final state of each touched row
    (with its position in the request) and the comment writes."""
    local: dict[Key, tuple[dict[str, Any] | None, int, ObjectRef]] = {}
    comments: list[RowWrite] = []

    def state_of(key: Key):
        if key in local:
            return local[key][0]
        if key in overlay:
            return overlay[key]
        return current.get(key)

    for seq, write in enumerate(batch.writes):
        if write.kind is WriteKind.COMMENT:
            comments.append(write)
            continue
        key = row_key(write.ref, write.id)
        parent = None
        if write.parent_id is not None:
            parent = state_of(row_key(write.ref, write.parent_id))
        audit = None
        if write.audit is not None:
            audit = {
                "_xact_id": format_xact(xact_id),
                "action": write.kind.value,
                "source": write.audit["source"],
                "metadata": write.audit["metadata"],
            }
        new = apply_write(state_of(key), write, now=now, parent=parent, audit_entry=audit)
        local[key] = (new, seq, write.ref)
    return local, comments


def _load_current(cursor, group: list[WriteBatch]) -> dict[Key, dict[str, Any]]:
    """Read the stored state of every row a merge or a _parent_id refers to."""
    keys: set[Key] = set()
    for batch in group:
        for write in batch.writes:
            if write.kind is WriteKind.MERGE:
                keys.add(row_key(write.ref, write.id))
            if write.parent_id is not None:
                keys.add(row_key(write.ref, write.parent_id))
    if not keys:
        return {}
    wanted = pa.table(
        {
            "object_type": [k[0] for k in keys],
            "object_id": [k[1] for k in keys],
            "id": [k[2] for k in keys],
        }
    )
    cursor.register("wanted_keys", wanted)
    try:
        json_cols = ", ".join(f"l.{name}::VARCHAR" for name in (*JSON_FIELDS, "audit_data"))
        rows = cursor.execute(
            f"""SELECT l.object_type, l.object_id, l.id,
                       strftime(l.created, '%Y-%m-%dT%H:%M:%S.%fZ'), l.span_id, l.root_span_id,
                       l.span_parents, l.tags, {json_cols}
                FROM live l JOIN wanted_keys w
                  ON l.object_type = w.object_type AND l.object_id = w.object_id AND l.id = w.id"""
        ).fetchall()
    finally:
        cursor.unregister("wanted_keys")
    result = {}
    for row in rows:
        state = {
            "id": row[2],
            "created": row[3],
            "span_id": row[4],
            "root_span_id": row[5],
            "span_parents": row[6],
            "tags": row[7],
        }
        for offset, name in enumerate((*JSON_FIELDS, "audit_data")):
            text = row[8 + offset]
            state[name] = orjson.loads(text) if text is not None else None
        result[(row[0], row[1], row[2])] = state
    return result


def _dump(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


_LIST = pa.list_(pa.string())
_TOMBSTONE: dict[str, Any] = {}


def _event_table(rows, now: str) -> pa.Table:
    """Arrow columns for event rows ``(key, state, xact_id, seq, info)``; a None state is a
    tombstone. Built column by column with comprehensions: this is the ingest hot path."""
    dumps = orjson.dumps
    keys = [r[0] for r in rows]
    states = [r[1] if r[1] is not None else _TOMBSTONE for r in rows]
    parents = [s.get("span_parents") for s in states]
    columns: dict[str, pa.Array] = {
        "object_type": pa.array([k[0] for k in keys], pa.string()),
        "object_id": pa.array([k[1] for k in keys], pa.string()),
        "id": pa.array([k[2] for k in keys], pa.string()),
        "_xact_id": pa.array([r[2] for r in rows], pa.uint64()),
        "_pagination_key": pa.array([pagination_key(r[2], r[3]) for r in rows], pa.string()),
        "created": pa.array([s.get("created") or now for s in states], pa.string()),
        "org_id": pa.array([r[4].org_id for r in rows], pa.string()),
        "project_id": pa.array([r[4].project_id for r in rows], pa.string()),
        "span_id": pa.array(
            [s.get("span_id") or k[2] for s, k in zip(states, keys, strict=True)], pa.string()
        ),
        "root_span_id": pa.array(
            [s.get("root_span_id") or k[2] for s, k in zip(states, keys, strict=True)],
            pa.string(),
        ),
        "span_parents": pa.array(parents, _LIST),
        "is_root": pa.array([not p for p in parents], pa.bool_()),
        "tags": pa.array([s.get("tags") for s in states], _LIST),
    }
    for name in (*JSON_FIELDS, "audit_data"):
        values = [s.get(name) for s in states]
        columns[name] = pa.array(
            [None if v is None else dumps(v).decode() for v in values], pa.string()
        )
    columns["_object_delete"] = pa.array([r[1] is None for r in rows], pa.bool_())
    return pa.table(columns)


_SELECT_EVENT = """object_type, object_id, id, _xact_id, _pagination_key, created::TIMESTAMPTZ,
    org_id, project_id, span_id, root_span_id, span_parents, is_root, tags,
    input::JSON, output::JSON, expected::JSON, error::JSON, scores::JSON, metrics::JSON,
    metadata::JSON, span_attributes::JSON, context::JSON, origin::JSON, audit_data::JSON"""


def _write_events(cursor, history, now: str) -> None:
    """Append every version to ``history`` and bring ``live`` to each row's final state
    (upsert, or delete for a tombstone). One Arrow table serves both statements."""
    final_index: dict[Key, int] = {}
    for index, entry in enumerate(history):
        final_index[entry[0]] = index  # later versions of a row win
    table = _event_table(history, now).append_column(
        "_final", pa.array([final_index[e[0]] == i for i, e in enumerate(history)], pa.bool_())
    )
    cursor.register("event_batch", table)
    try:
        cursor.execute(
            f"INSERT INTO history SELECT {_SELECT_EVENT}, _object_delete FROM event_batch"
        )
        if any(e[1] is None for e in history):
            cursor.execute(
                """DELETE FROM live USING event_batch d
                   WHERE d._final AND d._object_delete AND live.object_type = d.object_type
                     AND live.object_id = d.object_id AND live.id = d.id"""
            )
        cursor.execute(
            f"""INSERT OR REPLACE INTO live SELECT {_SELECT_EVENT} FROM event_batch
                WHERE _final AND NOT _object_delete"""
        )
    finally:
        cursor.unregister("event_batch")


def _insert_comments(cursor, comments, now: str) -> None:
    table = pa.table(
        {
            "object_type": [w.ref.object_type.value for w, _, _ in comments],
            "object_id": [w.ref.object_id for w, _, _ in comments],
            "id": [w.id for w, _, _ in comments],
            "origin_id": [w.origin_id for w, _, _ in comments],
            "_xact_id": pa.array([x for _, x, _ in comments], type=pa.uint64()),
            "created": [w.created or now for w, _, _ in comments],
            "comment": [_dump(w.comment) for w, _, _ in comments],
            "audit_data": [
                _dump(
                    [
                        {
                            "_xact_id": format_xact(x),
                            "action": "comment",
                            "source": w.audit["source"],
                            "metadata": w.audit["metadata"],
                        }
                    ]
                )
                if w.audit
                else None
                for w, x, _ in comments
            ],
        }
    )
    cursor.register("comment_batch", table)
    try:
        cursor.execute(
            """INSERT INTO comments SELECT object_type, object_id, id, origin_id, _xact_id,
                   created::TIMESTAMPTZ, comment::JSON, audit_data::JSON, false
               FROM comment_batch"""
        )
    finally:
        cursor.unregister("comment_batch")


def _delete_comments(cursor, keys: list[Key]) -> None:
    """A delete whose id names a comment removes that comment."""
    table = pa.table(
        {
            "object_type": [k[0] for k in keys],
            "object_id": [k[1] for k in keys],
            "id": [k[2] for k in keys],
        }
    )
    cursor.register("deleted_comment_keys", table)
    try:
        cursor.execute(
            """UPDATE comments SET deleted = true FROM deleted_comment_keys d
               WHERE comments.object_type = d.object_type AND comments.object_id = d.object_id
                 AND comments.id = d.id"""
        )
    finally:
        cursor.unregister("deleted_comment_keys")
