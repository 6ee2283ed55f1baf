"""Group commit of event writes: apply write semantics, then insert Arrow batches.

One ``WriteBatch`` is one client request and gets one ``_xact_id``. The writer thread commits
several batches in one DuckDB transaction and resolves each batch's future only after that
transaction has committed.

A batch whose writes do not depend on stored rows (plain inserts, replaces and deletes: the
common case) is turned into Arrow columns by ``prepare`` on the request's own thread, so the
single writer thread only inserts. Merges, ``_parent_id`` writes and replaces of a given id
without ``span_id`` (which keep the stored row's place in its trace) need the stored rows and
are applied on the writer thread, inside the group's transaction, after the batches before
them have been inserted, so they see those rows.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import duckdb
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from tracelake.errors import InvalidRequest, TracelakeError
from tracelake.model.lineage import TracePlaces, check_children_stay
from tracelake.model.merge import apply_comment, apply_write, reads_replaced_row
from tracelake.model.objects import ObjectRef, ObjectType
from tracelake.model.plain import PlainRows
from tracelake.model.rows import (
    JSON_FIELDS,
    RowWrite,
    WriteKind,
    json_texts,
    now_timestamp,
)
from tracelake.model.xact import MAX_XACT, XactClock, format_xact
from tracelake.store.schema import EVENT_COLUMN_NAMES

Key = tuple[str, str, str]  # (object_type, object_id, id)
# Writes that change comments: a comment, and a delete (which removes the comment of its id).
_COMMENT_KINDS = frozenset({WriteKind.COMMENT, WriteKind.DELETE})
# Stands for a new audit entry's _xact_id until the insert puts the xact in (by replacing the
# text): random, so that no string a client writes in _audit_metadata can be taken for it.
XACT_PLACEHOLDER = f"__XACT_{secrets.token_hex(16)}__"
# (row key, new state or None for a tombstone, position in the request, object info)
Entry = tuple[Key, "dict[str, Any] | None", int, "ObjectInfo"]


@dataclass(slots=True)
class ObjectInfo:
    """Where an object's rows belong: its organization and project."""

    org_id: str
    project_id: str


@dataclass(slots=True)
class StagedRows:
    """Dataset rows read from a file into a Parquet file (``datasets/upload.py``), inserted
    by the writer straight from that file: columns ``_row, id, input, expected, metadata,
    tags`` (JSON values as text). With ``has_ids`` an id may repeat; the last row wins."""

    path: str
    ref: ObjectRef
    has_ids: bool
    # Run on the writer, in the commit's transaction, before the rows go in: raises
    # TracelakeError to refuse them (the dataset's enforced schemas changed since the file
    # was checked against them).
    check: Callable[[duckdb.DuckDBPyConnection], None] | None = None


# Checks the final state of every row a batch writes (a dataset's enforced field schemas);
# raises TracelakeError to refuse the whole batch.
RowCheck = Callable[[list["Entry"]], None]


@dataclass(slots=True)
class WriteBatch:
    """The rows of one write request, already validated and resolved to their objects."""

    writes: list[RowWrite]
    objects: dict[ObjectRef, ObjectInfo]
    future: Future = field(default_factory=Future)
    # Event rows computed ahead of the writer (see ``prepare``), without _xact_id, and the
    # keys of the rows they write.
    prepared: pa.Table | None = None
    keys: frozenset[Key] = frozenset()
    staged: StagedRows | None = None
    check: RowCheck | None = None
    # Builds ``writes`` on the writer thread from the rows stored then (given its cursor, in
    # the group's transaction), for a write computed from the current rows (a dataset
    # restore), so that no write lands between its reads and its commit. Answering no writes
    # writes nothing (its xact names no version).
    build: Callable[[duckdb.DuckDBPyConnection], list[RowWrite]] | None = None
    # Who wrote it (an API key id); recorded for the dataset versions it makes.
    author: str | None = None
    # The user it acts as (the API key's name): the author of the comments it creates.
    user: str | None = None

    @property
    def size(self) -> int:
        """Rows it writes (batches built from row states have no write objects)."""
        if self.writes or self.prepared is None:
            return len(self.writes)
        return self.prepared.num_rows


def row_key(ref: ObjectRef, row_id: str) -> Key:
    return (ref.object_type.value, ref.object_id, row_id)


def depends_on_stored_rows(batch: WriteBatch) -> bool:
    return any(
        w.kind is WriteKind.MERGE or w.parent_id is not None or reads_replaced_row(w)
        for w in batch.writes
    )


def prepare(batch: WriteBatch) -> WriteBatch:
    """Compute the batch's rows now if no write needs the stored rows (call it on the
    request's thread; the writer then only inserts)."""
    if not depends_on_stored_rows(batch):
        now = now_timestamp()
        entries = apply_batch(batch, {}, now)
        if batch.check is not None:
            batch.check(entries)
        batch.prepared = event_table(entries, now, batch.writes)
        batch.keys = frozenset(e[0] for e in entries)
    return batch


def replace_entries(
    rows: list[tuple[ObjectRef, dict[str, Any]]], objects: dict[ObjectRef, ObjectInfo]
) -> list[Entry]:
    """Entries for rows that replace themselves whole and are already complete, valid row
    states (the server built them, e.g. from OTel spans): what ``apply_batch`` makes of
    their replace writes, without building a write and a state per row. The last row of an
    id wins; tags lose repeats."""
    local: dict[Key, tuple[dict[str, Any], int, ObjectRef]] = {}
    for seq, (ref, state) in enumerate(rows):
        tags = state.get("tags")
        if tags is not None and len(set(tags)) != len(tags):
            state = {**state, "tags": list(dict.fromkeys(tags))}
        local[(ref.object_type.value, ref.object_id, state["id"])] = (state, seq, ref)
    return [(key, state, seq, objects[ref]) for key, (state, seq, ref) in local.items()]


class InsertMode:
    """Whether the writer first tries plain inserts into ``live``. After a group had to be
    committed again with upserts, the next ``PAUSE`` groups upsert at once, so a workload
    that keeps replacing stored rows pays the failed attempt once in a while, not each time."""

    PAUSE = 16

    def __init__(self) -> None:
        self._skip = 0

    def try_plain(self) -> bool:
        if self._skip:
            self._skip -= 1
            return False
        return True

    def had_to_upsert(self) -> None:
        self._skip = self.PAUSE


def commit_group(
    cursor: duckdb.DuckDBPyConnection,
    group: list[WriteBatch],
    clock: XactClock,
    mode: InsertMode | None = None,
):
    """Apply and commit ``group`` in one transaction, then resolve each batch's future.

    A batch whose writes are invalid against the stored rows (e.g. an unknown _parent_id)
    fails alone; a database error fails the whole call (the caller retries batch by batch).

    Most writes create rows (new spans), and a plain insert into ``live`` costs a third of
    an upsert. So a group of computed rows is first committed with plain inserts; if one
    of its rows exists already, the insert fails on ``live``'s key, the transaction rolls
    back, and the group is committed again with upserts.
    """
    plain = all(b.prepared is not None for b in group if not b.future.done())
    if plain and (mode is None or mode.try_plain()):
        try:
            _commit_group(cursor, group, clock, fresh=True)
            return
        except duckdb.ConstraintException:
            if mode is not None:  # rolled back: a row exists
                mode.had_to_upsert()
    _commit_group(cursor, group, clock, fresh=False)


def _commit_group(cursor, group: list[WriteBatch], clock: XactClock, fresh: bool) -> None:
    now = now_timestamp()
    pending = _Pending(fresh)
    done: list[tuple[WriteBatch, int]] = []
    empty: list[WriteBatch] = []  # built no writes: resolved to None
    cursor.begin()
    try:
        for batch in group:
            if batch.future.done():
                continue
            xact_id = clock.next()
            if batch.staged is not None:
                pending.flush(cursor, now)
                if batch.staged.check is not None:
                    try:
                        batch.staged.check(cursor)
                    except TracelakeError as exc:
                        batch.future.set_exception(exc)
                        continue
                _write_staged(cursor, batch.staged, batch.objects[batch.staged.ref], xact_id, now)
                done.append((batch, xact_id))
                continue
            if _merges_comments(batch):
                pending.flush(cursor, now)  # the comments of the batches before it, too
                try:
                    _check_comment_merges(cursor, batch)
                except TracelakeError as exc:
                    batch.future.set_exception(exc)
                    continue
            table, keys = batch.prepared, batch.keys
            if table is None:
                pending.flush(cursor, now)  # the reads below must see the earlier batches
                try:
                    if batch.build is not None:
                        batch.writes = batch.build(cursor)
                        if not batch.writes:
                            empty.append(batch)
                            continue
                    current = _load_current(cursor, batch)
                    places = _load_trace_places(cursor, batch, current)
                    entries = apply_batch(batch, current, now, places)
                    if batch.check is not None:
                        batch.check(entries)
                    table = event_table(entries, now, batch.writes)
                except TracelakeError as exc:
                    batch.future.set_exception(exc)
                    continue
                keys = frozenset(e[0] for e in entries)
            pending.add(table, keys, xact_id)
            pending.comments.extend(
                (w, xact_id, batch.user) for w in batch.writes if w.kind in _COMMENT_KINDS
            )
            done.append((batch, xact_id))
        pending.flush(cursor, now)
        _record_authors(cursor, done, now)
        cursor.commit()
    except BaseException:
        try:
            cursor.rollback()
        except duckdb.Error:
            pass  # a failed commit has ended the transaction already
        raise
    for batch, xact_id in done:
        batch.future.set_result(xact_id)
    for batch in empty:
        batch.future.set_result(None)


def apply_batch(
    batch: WriteBatch,
    current: dict[Key, dict[str, Any]],
    now: str,
    places: TracePlaces | None = None,
) -> list[Entry]:
    """Apply one request's writes in order; the final state of each row it touches.

    ``current`` holds the stored state of the rows merges and ``_parent_id`` refer to, and
    ``places`` (for a batch with ``_parent_id``) where the stored rows of their traces sit.
    Several writes to one row in one request make one version (one request, one xact).
    """
    local: dict[Key, tuple[dict[str, Any] | None, int, ObjectRef]] = {}
    if places is None and any(w.parent_id is not None for w in batch.writes):
        places = TracePlaces((_ref_of(k), k[2], s) for k, s in current.items())

    def state_of(key: Key):
        if key in local:
            return local[key][0]
        return current.get(key)

    for seq, write in enumerate(batch.writes):
        if write.kind is WriteKind.COMMENT:
            continue
        key = row_key(write.ref, write.id)
        parent = None
        lineage: set[str] = set()
        if write.parent_id is not None:
            parent = state_of(row_key(write.ref, write.parent_id))
            if parent is not None:
                lineage = places.lineage(write.ref, parent)
        audit = None
        if write.audit is not None:
            audit = {
                "_xact_id": XACT_PLACEHOLDER,  # filled in by the insert, once it is known
                "action": write.kind.value,
                "source": write.audit["source"],
                "metadata": write.audit["metadata"],
            }
        before = state_of(key)
        new = apply_write(before, write, now=now, parent=parent, lineage=lineage, audit_entry=audit)
        if parent is not None and before is not None and new is not None:
            check_children_stay(write, before, new, places)
        local[key] = (new, seq, write.ref)
        if places is not None:  # only for a batch with _parent_id: the others pay nothing
            places.put(write.ref, write.id, new)
    return [(key, state, seq, batch.objects[ref]) for key, (state, seq, ref) in local.items()]


@contextmanager
def _key_table(cursor, name: str, keys: set[Key], column: str = "id") -> Iterator[None]:
    """Row keys as a table ``name`` (object_type, object_id, ``column``) to join with, while
    the block runs."""
    cursor.register(
        name,
        pa.table(
            {
                "object_type": [k[0] for k in keys],
                "object_id": [k[1] for k in keys],
                column: [k[2] for k in keys],
            }
        ),
    )
    try:
        yield
    finally:
        cursor.unregister(name)


# Up to this many row keys, their rows are read by id (an index lookup each: ~3 ms for 100
# ids, ~20 ms for 1,000, at a million rows); more are joined with (a scan of live, whose
# cost does not grow with the keys).
BY_ID_MAX = 2_000


def sql_text(value: str) -> str:
    """A SQL string literal of ``value`` (no NUL in it)."""
    return "'" + value.replace("'", "''") + "'"


def _load_current(cursor, batch: WriteBatch) -> dict[Key, dict[str, Any]]:
    """Read the stored state of every row a merge or a _parent_id of ``batch`` refers to,
    and of every row a replace without span ids replaces (it keeps the row's place)."""
    keys: set[Key] = set()
    for write in batch.writes:
        if write.kind is WriteKind.MERGE or reads_replaced_row(write):
            keys.add(row_key(write.ref, write.id))
        if write.parent_id is not None:  # the row too: whether it leaves children behind
            keys.add(row_key(write.ref, write.parent_id))
            keys.add(row_key(write.ref, write.id))
    if not keys:
        return {}
    json_cols = ", ".join(f"l.{name}::VARCHAR" for name in (*JSON_FIELDS, "audit_data"))
    select = f"""SELECT l.object_type, l.object_id, l.id,
                   strftime(l.created, '%Y-%m-%dT%H:%M:%S.%fZ'), l.span_id, l.root_span_id,
                   l.span_parents, l.tags, {json_cols}
            FROM live l"""
    if len(keys) <= BY_ID_MAX and not any("\x00" in key[2] for key in keys):
        # Through live's index on id: a join with the keys scans all of live, ~100 ms a
        # million rows, which every batch of merges (the SDK's span ends) paid.
        ids = ", ".join(sorted({sql_text(key[2]) for key in keys}))
        rows = cursor.execute(f"{select} WHERE l.id IN ({ids})").fetchall()
        rows = [row for row in rows if (row[0], row[1], row[2]) in keys]
    else:
        with _key_table(cursor, "wanted_keys", keys):
            rows = cursor.execute(
                f"""{select} JOIN wanted_keys w ON l.object_type = w.object_type
                      AND l.object_id = w.object_id AND l.id = w.id"""
            ).fetchall()
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


def _load_trace_places(
    cursor, batch: WriteBatch, current: dict[Key, dict[str, Any]]
) -> TracePlaces | None:
    """Where the stored rows of every trace a ``_parent_id`` of ``batch`` may lead into sit
    (None for a batch without ``_parent_id``). A row's trace is its own (its span id or id),
    one it names, or that of the stored row it merges into or hangs under."""
    if not any(w.parent_id is not None for w in batch.writes):
        return None
    traces: set[Key] = {(k[0], k[1], s["root_span_id"]) for k, s in current.items()}
    for write in batch.writes:
        for root in (write.id, write.fields.get("span_id"), write.fields.get("root_span_id")):
            if isinstance(root, str):
                traces.add(row_key(write.ref, root))
    return TracePlaces(
        (_ref_of(row), row[3], {"span_id": row[4], "root_span_id": row[2], "span_parents": row[5]})
        for row in _rows_of_traces(cursor, traces)
    )


# Up to this many traces, their rows are read by literal root_span_ids within their _xact_id
# range; more are joined with (a long IN list cost more than the join: ~50 ms for 64 at
# 200,000 rows, either way).
ROOTS_INLINE = 48


def _rows_of_traces(cursor, traces: set[Key]) -> list[tuple]:
    """(object_type, object_id, root_span_id, id, span_id, span_parents) of the live rows
    of ``traces``.

    live has no index on root_span_id: a join scans all of it (~27 ms at 200,000 rows),
    which every batch with a _parent_id paid. For a few traces, the per-trace index says
    which exist and the _xact_id range their rows sit in (each live row's _xact_id lies
    between its trace's first_xact and last_xact), so zone maps on _xact_id skip the rest
    of live (~2 ms): usually one trace, written at one time."""
    columns = "object_type, object_id, root_span_id"
    if len(traces) > ROOTS_INLINE or any("\x00" in key[2] for key in traces):
        with _key_table(cursor, "wanted_traces", traces, column="root_span_id"):
            return cursor.execute(
                """SELECT l.object_type, l.object_id, l.root_span_id, l.id, l.span_id,
                          l.span_parents
                   FROM live l JOIN wanted_traces w
                     ON l.object_type = w.object_type AND l.object_id = w.object_id
                    AND l.root_span_id = w.root_span_id"""
            ).fetchall()
    roots = ", ".join(sorted({sql_text(key[2]) for key in traces}))
    found = cursor.execute(
        f"SELECT {columns}, first_xact, last_xact FROM traces WHERE root_span_id IN ({roots})"
    ).fetchall()
    found = [f for f in found if f[:3] in traces]
    if not found:
        return []
    low = min(f[3] for f in found)
    high = max(MAX_XACT if f[4] is None else f[4] for f in found)  # NULL: no bound
    rows = cursor.execute(
        f"""SELECT {columns}, id, span_id, span_parents FROM live
            WHERE _xact_id BETWEEN {int(low)} AND {int(high)} AND root_span_id IN ({roots})"""
    ).fetchall()
    wanted = {f[:3] for f in found}
    return [row for row in rows if row[:3] in wanted]


def _ref_of(key: Key) -> ObjectRef:
    return ObjectRef(ObjectType(key[0]), key[1])


def _dump(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


_LIST = pa.list_(pa.string())
_JSON = pa.json_()
_TOMBSTONE: dict[str, Any] = {}


def event_table(entries: list[Entry], now: str, writes: Sequence[RowWrite] = ()) -> pa.Table:
    """Arrow columns for event rows (all but ``_xact_id``, added per batch by the writer).
    ``writes`` are the writes the entries' positions point into: an error names the row as
    its write was listed.

    Built column by column with comprehensions: this is the ingest hot path.
    """

    def where(i: int, name: str) -> str:
        seq, row_id = entries[i][2], entries[i][0][2]
        return f"{writes[seq].name}: {name}" if writes else f"row {seq} (id {row_id!r}): {name}"

    keys = [e[0] for e in entries]
    states = [e[1] if e[1] is not None else _TOMBSTONE for e in entries]
    parents = [s.get("span_parents") for s in states]
    columns: dict[str, pa.Array] = {
        "object_type": pa.array([k[0] for k in keys], pa.string()),
        "object_id": pa.array([k[1] for k in keys], pa.string()),
        "id": pa.array([k[2] for k in keys], pa.string()),
        "_seq": pa.array([e[2] for e in entries], pa.uint32()),
        "created": pa.array([s.get("created") or now for s in states], pa.string()),
        "org_id": pa.array([e[3].org_id for e in entries], pa.string()),
        "project_id": pa.array([e[3].project_id for e in entries], pa.string()),
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
        columns[name] = _json_column(
            name,
            [s.get(name) for s in states],
            lambda i, name=name: where(i, name),
        )
    columns["_object_delete"] = pa.array([e[1] is None for e in entries], pa.bool_())
    return pa.table(columns)


def _json_column(name: str, values: list[Any], where: Callable[[int], str]) -> pa.Array:
    """A JSON column as Arrow's JSON type, which DuckDB takes as JSON without parsing the
    text again (orjson wrote it, so it is valid); audit_data is text: the insert still
    puts its _xact_id in."""
    return pa.array(json_texts(values, where), pa.string() if name == "audit_data" else _JSON)


def plain_table(rows: PlainRows, infos: list[ObjectInfo]) -> pa.Table:
    """The Arrow columns ``event_table`` builds, for the rows of a plain request (see
    ``model/plain.py``); ``infos`` holds the object info of each of ``rows.refs``. Raises
    InvalidRequest for a JSON value that cannot be stored."""
    n = len(rows)
    of_row = pa.array(rows.ref_of_row, pa.int32())

    def per_object(values: list[str]) -> pa.Array:
        return pa.array(values, pa.string()).take(of_row)

    columns: dict[str, pa.Array] = {
        "object_type": per_object([r.object_type.value for r in rows.refs]),
        "object_id": per_object([r.object_id for r in rows.refs]),
        "id": pa.array(rows.ids, pa.string()),
        "_seq": pa.array(range(n), pa.uint32()),
        "created": pa.array(rows.created, pa.string()),
        "org_id": per_object([i.org_id for i in infos]),
        "project_id": per_object([i.project_id for i in infos]),
        "span_id": pa.array(rows.span_ids, pa.string()),
        "root_span_id": pa.array(rows.root_span_ids, pa.string()),
        "span_parents": pa.array(rows.span_parents, _LIST),
        "is_root": pa.array([p is None for p in rows.span_parents], pa.bool_()),
        "tags": pa.array(rows.tags, _LIST),
    }
    for name, values in rows.json.items():
        columns[name] = _json_column(name, values, lambda i, name=name: f"row {i}: {name}")
    columns["audit_data"] = pa.nulls(n, pa.string())
    columns["_object_delete"] = pa.array([False] * n, pa.bool_())
    return pa.table(columns)


_SELECT_EVENT = f"""object_type, object_id, id, _xact_id,
    'p' || lpad(_xact_id::VARCHAR, 19, '0') || '.' || lpad(_seq::VARCHAR, 7, '0'),
    created::TIMESTAMPTZ, org_id, project_id, span_id, root_span_id, span_parents, is_root, tags,
    input, output, expected, error, scores, metrics, metadata, span_attributes, context, origin,
    replace(audit_data, '"{XACT_PLACEHOLDER}"',
            '"' || lpad(_xact_id::VARCHAR, 19, '0') || '"')::JSON"""


class _Pending:
    """Event tables waiting to be inserted together, and whether two of them write the same
    row (only then must the live upsert pick each row's newest version)."""

    def __init__(self, fresh: bool = False):
        self.fresh = fresh  # the rows are new: insert into live instead of upserting
        self.tables: list[pa.Table] = []
        self.keys: set[Key] = set()
        self.overlap = False
        self.xacts: list[int] = []
        # comment writes and deletes, in order, with their xact and the batch's user
        self.comments: list[tuple[RowWrite, int, str | None]] = []

    def add(self, table: pa.Table, keys: frozenset[Key], xact_id: int) -> None:
        if not self.overlap and not self.keys.isdisjoint(keys):
            self.overlap = True
        self.keys |= keys
        xact_column = pa.array([xact_id] * table.num_rows, pa.uint64())
        self.tables.append(table.append_column("_xact_id", xact_column))
        self.xacts.append(xact_id)

    def flush(self, cursor, now: str) -> None:
        if self.comments:
            _write_comments(cursor, self.comments, now)
        if self.tables:
            _write_events(
                cursor,
                self.tables,
                min(self.xacts),
                max(self.xacts),
                self.overlap,
                self.fresh,
                len(self.keys),
            )
        self.__init__(self.fresh)


def _write_events(
    cursor,
    tables: list[pa.Table],
    low: int,
    high: int,
    overlap: bool,
    fresh: bool = False,
    rows: int | None = None,
) -> None:
    """Append every version to ``history``, then bring ``live`` to each row's newest state
    (upsert, or delete for a tombstone) from those history rows, and keep the per-trace
    index current. ``low``..``high`` are the xact ids of ``tables``; ``fresh`` inserts into
    ``live`` without upserting (it fails if a row exists); ``rows`` is the number of rows
    they write, when known."""
    table = tables[0] if len(tables) == 1 else pa.concat_tables(tables)
    if table.num_rows == 0:
        return
    cursor.register("event_batch", table)
    try:
        cursor.execute(
            f"INSERT INTO history SELECT {_SELECT_EVENT}, _object_delete, classifications"
            " FROM event_batch"
        )
    finally:
        cursor.unregister("event_batch")
    deletes = pc.any(table["_object_delete"]).as_py()
    # How many rows reach live: every row's newest version is a write, unless one deletes.
    written = None if deletes else rows
    _update_live(cursor, low, high, overlap, deletes, fresh, written)


def _update_live(
    cursor,
    low: int,
    high: int,
    overlap: bool,
    deletes: bool,
    fresh: bool = False,
    written: int | None = None,
) -> None:
    """Bring ``live`` and the per-trace index up to the history rows of xacts
    ``low``..``high``. ``written`` is the number of rows those xacts write (not delete),
    when the caller knows it."""
    # Reading the new versions back from history (its last row groups, found by zone maps on
    # _xact_id) is cheaper than converting the Arrow columns a second time.
    newest = f"(SELECT * FROM history WHERE _xact_id BETWEEN {low} AND {high}"
    if overlap:
        newest += """ QUALIFY row_number() OVER (
            PARTITION BY object_type, object_id, id ORDER BY _pagination_key DESC) = 1"""
    newest += ")"
    # Traces that lost spans (deleted or moved), each with whether the span was its root:
    # they may have none left, or no root.
    emptied: list = []
    if deletes:
        emptied = cursor.execute(
            f"""DELETE FROM live USING {newest} d
                WHERE d._object_delete AND live.object_type = d.object_type
                  AND live.object_id = d.object_id AND live.id = d.id
                RETURNING live.object_type, live.object_id, live.root_span_id, live.is_root"""
        ).fetchall()
    if fresh:
        cursor.execute(
            f"INSERT INTO live SELECT * EXCLUDE (_object_delete) FROM {newest}"
            " WHERE NOT _object_delete"
        )
    else:
        emptied += _upsert_live(cursor, newest, written)
    # From each row's newest version only: an earlier one of these xacts (a row written,
    # then deleted or given another root_span_id, by the group's next request) would add a
    # trace without rows.
    cursor.execute(
        f"""INSERT INTO traces {_TRACE_ENTRY}
            FROM {newest} WHERE NOT _object_delete
            GROUP BY object_type, object_id, root_span_id {_TRACE_ENTRY_UPDATE}"""
    )
    _settle_traces(cursor, emptied, high)


# Every column of live but its key: what an upsert sets.
_LIVE_VALUES = ", ".join(
    f"{name} = excluded.{name}"
    for name in EVENT_COLUMN_NAMES
    if name not in ("object_type", "object_id", "id")
)


def _upsert_live(cursor, newest: str, written: int | None) -> list:
    """Insert or replace in ``live`` the rows of ``newest`` (SQL of history rows, one per
    row) that are not deletes; answer (object_type, object_id, root_span_id) of each trace a
    replaced row left (a replace may give a span another ``root_span_id``), which may have
    no rows left, each with whether the row was the trace's root.

    The upsert first replaces only the rows that stay in their trace (a merge always does);
    the count of rows it wrote tells whether any moved, so the usual write reads nothing
    more. Only then are the moved rows' old traces read, and the moved rows replaced."""
    rows = f"SELECT * EXCLUDE (_object_delete) FROM {newest} WHERE NOT _object_delete"
    (count,) = cursor.execute(
        f"""INSERT INTO live {rows} ON CONFLICT DO UPDATE SET {_LIVE_VALUES}
            WHERE live.root_span_id = excluded.root_span_id"""
    ).fetchone()
    if written is None:
        (written,) = cursor.execute(f"SELECT count(*) FROM ({rows})").fetchone()
    if count == written:
        return []
    left = cursor.execute(
        f"""SELECT l.object_type, l.object_id, l.root_span_id, l.is_root FROM live l
            JOIN ({rows}) n
              ON l.object_type = n.object_type AND l.object_id = n.object_id AND l.id = n.id
            WHERE l.root_span_id <> n.root_span_id"""
    ).fetchall()
    cursor.execute(f"INSERT OR REPLACE INTO live {rows}")
    return left


# The per-trace index entry of the traces of some history rows (SELECT … FROM them GROUP BY
# object_type, object_id, root_span_id), and how it updates the one there. A root span
# written into a trace whose root had left (root_left_xact) gives it its root again.
_TRACE_ENTRY = """(object_type, object_id, root_span_id, first_xact, last_key, last_xact,
        root_left_xact)
    SELECT object_type, object_id, root_span_id, min(_xact_id), max(_pagination_key),
        max(_xact_id), CASE WHEN bool_or(is_root) THEN NULL ELSE 0 END"""
_TRACE_ENTRY_UPDATE = """ON CONFLICT DO UPDATE SET
        first_xact = least(traces.first_xact, excluded.first_xact),
        last_key = greatest(traces.last_key, excluded.last_key),
        last_xact = greatest(traces.last_xact, excluded.last_xact),
        root_left_xact = CASE WHEN excluded.root_left_xact IS NULL THEN NULL
                              ELSE traces.root_left_xact END"""


def _settle_traces(cursor, emptied: list, xact_id: int) -> None:
    """Bring the per-trace index up to the traces of ``emptied`` (object_type, object_id,
    root_span_id, whether the span that left was the root), which lost spans in the xacts
    up to ``xact_id``: a trace with no live rows left leaves the index; one whose root span
    left (deleted, or replaced into another trace, as an ``Eval`` re-run with ``upsert_id``
    replaces its root rows) with other spans left behind and no root now gets
    ``root_left_xact`` = ``xact_id``: summaries count it no more (its spans stay rows)."""
    if not emptied:
        return
    # A trace whose every span is deleted leaves the index (as retention does): pages of
    # traces read the index, and a trace without rows would take a place on a page.
    traces = {e[:3] for e in emptied}
    cursor.execute(
        """DELETE FROM traces t
           WHERE (t.object_type, t.object_id, t.root_span_id) IN (
               SELECT unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[]))
             AND NOT EXISTS (SELECT 1 FROM live l WHERE l.object_type = t.object_type
                 AND l.object_id = t.object_id AND l.root_span_id = t.root_span_id)""",
        [list(column) for column in zip(*traces, strict=True)],
    )
    rootless = {e[:3] for e in emptied if e[3]}
    if rootless:
        cursor.execute(
            """UPDATE traces t SET root_left_xact = ?
               WHERE (t.object_type, t.object_id, t.root_span_id) IN (
                   SELECT unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[]))
                 AND NOT EXISTS (SELECT 1 FROM live l WHERE l.object_type = t.object_type
                     AND l.object_id = t.object_id AND l.root_span_id = t.root_span_id
                     AND l.is_root)""",
            [xact_id, *(list(column) for column in zip(*rootless, strict=True))],
        )


def _write_comments(cursor, writes: list[tuple[RowWrite, int, str | None]], now: str) -> None:
    """Bring ``comments`` up to a group's comment writes and deletes (in request order, each
    with its xact). A comment is keyed by its id: each xact that changes it stores one
    version, and the version it supersedes gets ``deleted_xact`` = that xact, so reads pinned
    before it still see the old comment. A delete supersedes it with nothing; deleting a
    comment that is gone changes nothing. A comment keeps the user who created it."""
    current = _load_comments(cursor, {row_key(w.ref, w.id) for w, _, _ in writes})
    versions: dict[Key, list[tuple[int, dict[str, Any] | None]]] = {}
    for write, xact_id, user in writes:
        key = row_key(write.ref, write.id)
        changes = versions.setdefault(key, [])
        state = changes[-1][1] if changes else current.get(key)
        if state is None and write.kind is WriteKind.DELETE:
            continue
        audit = None
        if write.audit is not None:
            audit = {
                "_xact_id": format_xact(xact_id),
                "action": "comment",
                "source": write.audit["source"],
                "metadata": write.audit["metadata"],
            }
        new = apply_comment(state, write, now=now, audit_entry=audit)
        if new is not None:
            new["user_id"] = state.get("user_id") if state is not None else user
        if changes and changes[-1][0] == xact_id:  # one request, one version
            changes[-1] = (xact_id, new)
        else:
            changes.append((xact_id, new))
    superseded = [(key, changes[0][0]) for key, changes in versions.items() if key in current]
    if superseded:
        cursor.executemany(
            """UPDATE comments SET deleted_xact = ? WHERE object_type = ? AND object_id = ?
                 AND id = ? AND deleted_xact IS NULL""",
            [[xact_id, *key] for key, xact_id in superseded],
        )
    rows = [
        (key, xact_id, state, changes[i + 1][0] if i + 1 < len(changes) else None)
        for key, changes in versions.items()
        for i, (xact_id, state) in enumerate(changes)
        if state is not None
    ]
    if rows:
        _insert_comments(cursor, rows)


def _merges_comments(batch: WriteBatch) -> bool:
    return any(w.kind is WriteKind.COMMENT and w.merge for w in batch.writes)


def _check_comment_merges(cursor, batch: WriteBatch) -> None:
    """Refuse a batch whose merge into a comment leaves it without a string ``text`` (a
    comment is ``{"text": "…"}``, as on create): a merge that leaves ``text`` out, into a
    comment that does not exist, or whose ``_merge_paths`` replace the whole comment. A
    merge into a deleted comment (stored, then deleted, or deleted by the request's earlier
    write) is refused too: it is an edit of what someone deleted, and would bring it back
    (a replace, without ``_is_merge``, does). The batch's comment writes are applied in
    order to the stored comments."""
    writes = [w for w in batch.writes if w.kind in _COMMENT_KINDS]
    merged = {row_key(w.ref, w.id) for w in writes if w.kind is WriteKind.COMMENT and w.merge}
    states: dict[Key, dict[str, Any] | None] = dict(_load_comments(cursor, merged))
    deleted = _deleted_comments(cursor, merged - set(states))
    for write in writes:
        key = row_key(write.ref, write.id)
        if key not in merged:
            continue
        before = states.get(key)
        if write.kind is WriteKind.DELETE:
            if before is not None:
                deleted.add(key)
        elif write.merge and before is None and key in deleted:
            raise InvalidRequest(
                f"{write.name}: this comment was deleted, and a merge (an edit) does not"
                " bring it back; write it without _is_merge to restore it"
            )
        else:
            deleted.discard(key)
        state = states[key] = apply_comment(before, write, now="")
        if state is None:
            continue
        body = state["comment"]
        if not isinstance(body, dict) or not isinstance(body.get("text"), str):
            why = (
                "there is no comment of this id to merge into, so the merge writes one as given"
                if before is None
                else "this merge would leave the comment without one"
            )
            raise InvalidRequest(f"{write.name}: comment.text must be a string ({why})")


def _deleted_comments(cursor, keys: set[Key]) -> set[Key]:
    """Those of ``keys`` that name a deleted comment: stored, with no current version."""
    if not keys:
        return set()
    with _key_table(cursor, "wanted_comments", keys):
        found = cursor.execute(
            """SELECT c.object_type, c.object_id, c.id
               FROM comments c JOIN wanted_comments w
                 ON c.object_type = w.object_type AND c.object_id = w.object_id AND c.id = w.id
               GROUP BY ALL HAVING bool_and(c.deleted_xact IS NOT NULL)"""
        ).fetchall()
    return {tuple(row) for row in found}


def _load_comments(cursor, keys: set[Key]) -> dict[Key, dict[str, Any]]:
    """The current comment of each of ``keys`` that has one."""
    if not keys:
        return {}
    # Ordered by xact, so the newest wins if a key has several current versions (databases
    # written before comments were keyed by id).
    with _key_table(cursor, "wanted_comments", keys):
        found = cursor.execute(
            """SELECT c.object_type, c.object_id, c.id, c.origin_id,
                      strftime(c.created, '%Y-%m-%dT%H:%M:%S.%fZ'), c.comment::VARCHAR,
                      c.audit_data::VARCHAR, c.user_id
               FROM comments c JOIN wanted_comments w
                 ON c.object_type = w.object_type AND c.object_id = w.object_id AND c.id = w.id
               WHERE c.deleted_xact IS NULL ORDER BY c._xact_id"""
        ).fetchall()
    return {
        (row[0], row[1], row[2]): {
            "origin_id": row[3],
            "created": row[4],
            "comment": None if row[5] is None else orjson.loads(row[5]),
            "audit_data": None if row[6] is None else orjson.loads(row[6]),
            "user_id": row[7],
        }
        for row in found
    }


def _insert_comments(cursor, rows: list[tuple[Key, int, dict[str, Any], int | None]]) -> None:
    """Insert comment versions: (key, xact, state, the xact that supersedes it or None)."""
    table = pa.table(
        {
            "object_type": [key[0] for key, _, _, _ in rows],
            "object_id": [key[1] for key, _, _, _ in rows],
            "id": [key[2] for key, _, _, _ in rows],
            "origin_id": [state["origin_id"] for _, _, state, _ in rows],
            "_xact_id": pa.array([x for _, x, _, _ in rows], type=pa.uint64()),
            "created": [state["created"] for _, _, state, _ in rows],
            "comment": [_dump(state["comment"]) for _, _, state, _ in rows],
            "audit_data": [_dump(state["audit_data"]) for _, _, state, _ in rows],
            "deleted_xact": pa.array([end for _, _, _, end in rows], type=pa.uint64()),
            "user_id": pa.array([state.get("user_id") for _, _, state, _ in rows], pa.string()),
        }
    )
    cursor.register("comment_batch", table)
    try:
        cursor.execute(
            """INSERT INTO comments BY NAME SELECT object_type, object_id, id, origin_id,
                   _xact_id, created::TIMESTAMPTZ AS created, comment::JSON AS comment,
                   audit_data::JSON AS audit_data, deleted_xact, user_id
               FROM comment_batch"""
        )
    finally:
        cursor.unregister("comment_batch")


def _write_staged(cursor, staged: StagedRows, info: ObjectInfo, xact_id: int, now: str) -> None:
    """Insert a staged file's rows as one version of its dataset (no per-row Python)."""
    path = staged.path.replace("'", "''")
    source = f"read_parquet('{path}')"
    repeated = (
        staged.has_ids
        and cursor.execute(
            f"SELECT count(*) > count(DISTINCT id) FROM {source}"  # reads the id column only
        ).fetchone()[0]
    )
    if repeated:  # the window over every row is paid only when an id does repeat
        source = f"""(SELECT * FROM {source}
            QUALIFY row_number() OVER (PARTITION BY id ORDER BY _row DESC) = 1)"""
    x = str(xact_id)
    # A row the file replaces keeps its `created` (a file exported and imported back, or
    # fixed and imported again, is the same rows, not new ones) and its place in its trace (a
    # file has no span ids: as any replace without them); a new row is created now, its own
    # one-row trace. Without ids in the file every id is new, so there is nothing to look up.
    created, joined, params = "?::TIMESTAMPTZ", "", [now]
    place = "f.id, f.id, NULL, true"
    if staged.has_ids:
        created = "coalesce(l.created, ?::TIMESTAMPTZ)"
        joined = """LEFT JOIN live l ON l.object_type = 'dataset' AND l.object_id = ?
            AND l.id = f.id"""
        params = [now, staged.ref.object_id]
        place = """coalesce(l.span_id, f.id), coalesce(l.root_span_id, f.id), l.span_parents,
            coalesce(l.is_root, true)"""
    cursor.execute(
        f"""INSERT INTO history
            SELECT 'dataset', ?, f.id, {x}::UBIGINT,
                'p{format_xact(xact_id)}.' || lpad(f._row::VARCHAR, 7, '0'),
                {created}, ?, ?, {place}, f.tags,
                f.input::JSON, NULL, f.expected::JSON, NULL, NULL, NULL, f.metadata::JSON,
                NULL, NULL, NULL, NULL, false, NULL
            FROM {source} f {joined}""",
        [staged.ref.object_id, *params[:1], info.org_id, info.project_id, *params[1:]],
    )
    # Plain INSERT ran ~2x faster than INSERT OR REPLACE here, so drop the rows the import
    # replaces first (usually none), then insert.
    newest = f"(SELECT * FROM history WHERE _xact_id = {x})"
    cursor.execute(
        f"""DELETE FROM live USING {newest} d
            WHERE live.object_type = 'dataset' AND live.object_id = ? AND live.id = d.id""",
        [staged.ref.object_id],
    )
    cursor.execute(f"INSERT INTO live SELECT * EXCLUDE (_object_delete) FROM {newest}")
    cursor.execute(
        f"""INSERT INTO traces {_TRACE_ENTRY}
            FROM {newest} GROUP BY object_type, object_id, root_span_id {_TRACE_ENTRY_UPDATE}"""
    )
    # A row the file replaces stays in its trace (see above): none is left by one.


def _record_authors(cursor, done: list[tuple[WriteBatch, int]], now: str) -> None:
    """Who made each dataset version (the list of versions shows it)."""
    rows = [
        (xact_id, ref.object_id, batch.author, now)
        for batch, xact_id in done
        if batch.author is not None
        for ref in batch.objects
        if ref.object_type is ObjectType.DATASET
    ]
    if rows:
        cursor.executemany(
            "INSERT INTO dataset_writes VALUES (?, ?, ?, ?::TIMESTAMPTZ) ON CONFLICT DO NOTHING",
            rows,
        )
