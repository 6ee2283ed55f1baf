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
        _insert_history(cursor, history, now)
        _upsert_live(cursor, history)
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


def _event_table(rows, now: str, *, with_delete: bool) -> pa.Table:
    cols: dict[str, list] = {
        name: []
        for name in (
            "object_type",
            "object_id",
            "id",
            "_xact_id",
            "_pagination_key",
            "created",
            "org_id",
            "project_id",
            "span_id",
            "root_span_id",
            "span_parents",
            "is_root",
            "tags",
            *JSON_FIELDS,
            "audit_data",
        )
    }
    deletes: list[bool] = []
    for key, state, xact_id, seq, info in rows:
        cols["object_type"].append(key[0])
        cols["object_id"].append(key[1])
        cols["id"].append(key[2])
        cols["_xact_id"].append(xact_id)
        cols["_pagination_key"].append(pagination_key(xact_id, seq))
        cols["org_id"].append(info.org_id)
        cols["project_id"].append(info.project_id)
        if state is None:
            deletes.append(True)
            cols["created"].append(now)
            cols["span_id"].append(key[2])
            cols["root_span_id"].append(key[2])
            cols["span_parents"].append(None)
            cols["is_root"].append(True)
            cols["tags"].append(None)
            for name in (*JSON_FIELDS, "audit_data"):
                cols[name].append(None)
            continue
        deletes.append(False)
        cols["created"].append(state["created"])
        cols["span_id"].append(state["span_id"])
        cols["root_span_id"].append(state["root_span_id"])
        parents = state["span_parents"]
        cols["span_parents"].append(parents)
        cols["is_root"].append(not parents)
        cols["tags"].append(state["tags"])
        for name in (*JSON_FIELDS, "audit_data"):
            cols[name].append(_dump(state[name]))
    if with_delete:
        cols["_object_delete"] = deletes
    return pa.table(
        {
            name: pa.array(
                values,
                type=pa.list_(pa.string())
                if name in ("span_parents", "tags")
                else pa.uint64()
                if name == "_xact_id"
                else pa.bool_()
                if name in ("is_root", "_object_delete")
                else pa.string(),
            )
            for name, values in cols.items()
        }
    )


_SELECT_EVENT = """object_type, object_id, id, _xact_id, _pagination_key, created::TIMESTAMPTZ,
    org_id, project_id, span_id, root_span_id, span_parents, is_root, tags,
    input::JSON, output::JSON, expected::JSON, error::JSON, scores::JSON, metrics::JSON,
    metadata::JSON, span_attributes::JSON, context::JSON, origin::JSON, audit_data::JSON"""


def _insert_history(cursor, history, now: str) -> None:
    table = _event_table(history, now, with_delete=True)
    cursor.register("history_batch", table)
    try:
        cursor.execute(
            f"INSERT INTO history SELECT {_SELECT_EVENT}, _object_delete FROM history_batch"
        )
    finally:
        cursor.unregister("history_batch")


def _upsert_live(cursor, history) -> None:
    """Bring ``live`` to the final state of every touched row: upsert or delete."""
    final: dict[Key, tuple] = {}
    for entry in history:
        final[entry[0]] = entry  # later versions overwrite earlier ones
    upserts = [e for e in final.values() if e[1] is not None]
    deletes = [e[0] for e in final.values() if e[1] is None]
    if deletes:
        keys = pa.table(
            {
                "object_type": [k[0] for k in deletes],
                "object_id": [k[1] for k in deletes],
                "id": [k[2] for k in deletes],
            }
        )
        cursor.register("deleted_keys", keys)
        try:
            cursor.execute(
                """DELETE FROM live USING deleted_keys d
                   WHERE live.object_type = d.object_type AND live.object_id = d.object_id
                     AND live.id = d.id"""
            )
        finally:
            cursor.unregister("deleted_keys")
    if upserts:
        table = _event_table(upserts, "", with_delete=False)
        cursor.register("live_batch", table)
        try:
            cursor.execute(f"INSERT OR REPLACE INTO live SELECT {_SELECT_EVENT} FROM live_batch")
        finally:
            cursor.unregister("live_batch")


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
