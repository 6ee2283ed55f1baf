"""Event writes and reads for one object: routing and validating a request's rows, and
fetching the latest (or a pinned) version of each row, a page of traces at a time."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from tracelake.errors import Forbidden, InvalidRequest
from tracelake.model.objects import OBJECT_ID_FIELD, ROUTING_KEYS, ObjectRef, ObjectType, route_row
from tracelake.model.plain import PlainRows, plain_rows
from tracelake.model.rows import normalize_row, now_timestamp
from tracelake.model.xact import format_xact, is_pagination_key, key_xact
from tracelake.query.cursors import objects_tag
from tracelake.query.json_text import json_object_sql
from tracelake.query.relations import columns_of, comments_relation, newest_traces_bound
from tracelake.store.catalog import Catalog, Principal
from tracelake.store.dataset_meta import schema_check
from tracelake.store.store import Store
from tracelake.store.writer import (
    ObjectInfo,
    WriteBatch,
    event_table,
    plain_table,
    prepare,
    replace_entries,
)

MAX_FETCH_LIMIT = 10_000
_NO_XACT_BOUND = 2**64 - 1  # the largest _xact_id: a first page has no upper bound
DEFAULT_FETCH_LIMIT = 1_000


def prepare_batch(
    catalog: Catalog,
    principal: Principal,
    raw_rows: Any,
    ref: ObjectRef | list[ObjectRef] | None = None,
    names: list[str] | None = None,
) -> WriteBatch:
    """Validate a request's rows and resolve each to its object. Raises before anything is
    written, so a request with one bad row applies none of its rows.

    With ``ref`` (the ``…/{id}/insert`` routes) rows are written to that object and must not
    name another one; a list of refs names each row's object (``/v1/insert``); without it
    each row is routed by its own keys (``/logs3``). Errors name a row by its entry in
    ``names`` (as the client wrote it: ``feedback 2``), by default by its position
    (``row 2``).
    """
    if not principal.can_write:
        raise Forbidden("this API key is read-only")
    if not isinstance(raw_rows, list):
        raise InvalidRequest("rows must be a list")
    if ref is None:
        plain = plain_rows(raw_rows, now_timestamp())
        if plain is not None:
            batch = _plain_batch(catalog, principal, plain)
            if batch is not None:
                return batch
    writes = []
    objects: dict[ObjectRef, ObjectInfo] = {}
    if isinstance(ref, ObjectRef):  # the URL's object: unknown, it is a 404 even with no rows
        objects[ref] = catalog.object_info(principal.org_id, ref)
    for index, raw in enumerate(raw_rows):
        where = names[index] if names is not None else f"row {index}"
        if not isinstance(raw, dict):
            raise InvalidRequest(f"{where}: a row must be a JSON object")
        if ref is None:
            try:
                row_ref = route_row(raw)
            except InvalidRequest as exc:
                raise InvalidRequest(f"{where}: {exc.message}") from None
        else:
            row_ref = ref[index] if isinstance(ref, list) else ref
        if row_ref not in objects:
            objects[row_ref] = catalog.object_info(principal.org_id, row_ref)
        info = objects[row_ref]
        own = "the object it is listed under" if isinstance(ref, list) else None
        _check_object_keys(raw, row_ref, info, where, routed=ref is None, own=own)
        writes.append(normalize_row(raw, row_ref, index, where))
    batch = WriteBatch(writes=writes, objects=objects, author=principal.key_id, user=principal.user)
    # A dataset's enforced field schemas apply to every write path (checked on final rows).
    batch.check = schema_check(catalog.store, objects)
    return prepare(batch)


def _plain_batch(catalog: Catalog, principal: Principal, rows: PlainRows) -> WriteBatch | None:
    """The batch of a request of plain rows (``model/plain.py``), its Arrow columns built
    at once; None if a value cannot be stored as JSON (the general path words the error)."""
    objects = {ref: catalog.object_info(principal.org_id, ref) for ref in rows.refs}
    try:
        table = plain_table(rows, [objects[ref] for ref in rows.refs])
    except InvalidRequest:
        return None
    batch = WriteBatch(writes=[], objects=objects, author=principal.key_id, user=principal.user)
    batch.prepared = table
    kinds = [(ref.object_type.value, ref.object_id) for ref in rows.refs]
    batch.keys = frozenset(
        (*kinds[at], row_id) for at, row_id in zip(rows.ref_of_row, rows.ids, strict=True)
    )
    return batch


def prepare_states(
    catalog: Catalog, principal: Principal, rows: list[tuple[ObjectRef, dict[str, Any]]]
) -> WriteBatch:
    """Like ``prepare_batch`` for whole-row replaces the server built itself as complete,
    valid row states (OTel spans: the ingest hot path): resolve their objects and compute
    their rows, without validating each row or building a write object per row."""
    if not principal.can_write:
        raise Forbidden("this API key is read-only")
    objects: dict[ObjectRef, ObjectInfo] = {}
    for ref, _ in rows:
        if ref not in objects:
            objects[ref] = catalog.object_info(principal.org_id, ref)
    now = now_timestamp()
    entries = replace_entries(rows, objects)
    batch = WriteBatch(writes=[], objects=objects)
    batch.prepared = event_table(entries, now)
    batch.keys = frozenset(e[0] for e in entries)
    return batch


# The routing keys in the order a row's are checked (the first wrong one is named).
_KEY_ORDER = ("org_id", "project_id", "log_id", "experiment_id", "dataset_id", "prompt_session_id")
assert frozenset(_KEY_ORDER) == ROUTING_KEYS


def _check_object_keys(
    raw: dict, ref: ObjectRef, info: ObjectInfo, where: str, routed: bool, own: str | None = None
) -> None:
    """A row's routing keys may repeat its object's keys and no others (a row read by fetch
    carries them all, and may be written back as it is): the object's ``org_id``, on project
    logs ``log_id`` ``"g"``, on an experiment's or dataset's row its ``project_id`` and no
    ``log_id`` (project logs only). A row naming another organization, project or object
    was written to its object as if the key were not there: it is a 400 naming the row.

    ``routed``: a ``/logs3`` row, whose object ``route_row`` found from its keys (and
    checked its id key, a project logs' ``log_id``, two objects named): the error names the
    object by its id. Otherwise (the ``…/{id}/insert`` routes) the object is the URL's, or
    ``own`` (what the object is to the client)."""
    key_name = OBJECT_ID_FIELD[ref.object_type]
    logs = ref.object_type is ObjectType.PROJECT_LOGS
    if routed:
        if logs:
            names = f"the project logs it names (project_id {ref.object_id!r})"
        else:
            names = f"the {ref.object_type.value} it names ({key_name} {ref.object_id!r})"
        keys: tuple[str, ...] = ("org_id",) if logs else ("org_id", "project_id", "log_id")
    else:
        names, keys = own or "the object in the URL", _KEY_ORDER
    for key in keys:
        value = raw.get(key)
        if value is None:
            continue
        if key == "org_id":
            if value == info.org_id:
                continue
            if routed:
                raise InvalidRequest(f"{where}: org_id does not match the organization of {names}")
        elif key == "project_id" and not logs:
            if value == info.project_id:
                continue  # the object's own project, as fetch answers it
            raise InvalidRequest(f"{where}: project_id does not match the project of {names}")
        elif key == "log_id":
            if logs and value == "g":
                continue
            if routed:
                raise InvalidRequest(
                    f"{where}: log_id does not match {names}: only project logs have a log_id"
                )
        elif key == key_name and value == ref.object_id:
            continue
        raise InvalidRequest(f"{where}: {key} does not match {names}")


# -- reads --------------------------------------------------------------------------------------

TS_SQL = "strftime({col}, '%Y-%m-%dT%H:%M:%S.%fZ')"

# How a fetched row computes each of its keys, where that is not just the stored column.
_FETCH_SQL = {
    "_xact_id": "e._xact_id::VARCHAR",
    "created": TS_SQL.format(col="e.created"),
    "log_id": "'g'",
    "experiment_id": "e.object_id",
    "dataset_id": "e.object_id",
    "comments": "c.comments",
}


def _row_fields(object_type: ObjectType) -> list[tuple[str, str, bool]]:
    """The JSON keys of a fetched row (the columns BTQL's ``select *`` shows, and the
    row's audit trail), the SQL that computes each, and whether that SQL is JSON already."""
    kinds = [*columns_of(object_type), ("audit_data", "json")]
    return [(name, _FETCH_SQL.get(name, f"e.{name}"), kind == "json") for name, kind in kinds]


def row_json_sql(object_type: ObjectType) -> str:
    """A DuckDB expression building each fetched row as one JSON object (no Python per row)."""
    return json_object_sql(_row_fields(object_type))


def events_source_sql(version: int | None) -> tuple[str, list[Any]]:
    """SQL for the rows of one object (``?`` = object_type, object_id): the live table, or
    the latest version of each row as of ``version`` from history."""
    if version is None:
        return "(SELECT * FROM live WHERE object_type = ? AND object_id = ?)", []
    return (
        """(SELECT * EXCLUDE (_object_delete) FROM history
            WHERE object_type = ? AND object_id = ? AND _xact_id <= ?
            QUALIFY row_number() OVER (PARTITION BY id ORDER BY _pagination_key DESC) = 1
                AND NOT _object_delete)""",
        [version],
    )


@dataclass
class FetchPage:
    rows: list[str]  # each row as a JSON object text
    cursor: str | None


def encode_cursor(pagination_key: str, ref: ObjectRef, snapshot: int | None = None) -> str:
    """The opaque cursor: the last trace's key, for live reads the newest ``_xact_id`` the
    first page saw (which later pages keep their order as of), and the tag of the object
    paged (``<key>~<snapshot or nothing>~<tag>``)."""
    text = f"{pagination_key}~{'' if snapshot is None else snapshot}~{objects_tag((ref,))}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, ref: ObjectRef) -> tuple[str, int | None]:
    """(pagination key, snapshot xact or None) of a cursor of ``ref``'s pages. Cursors of
    older servers (without a tag, or without a snapshot either) are still taken."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        text = base64.urlsafe_b64decode(padded.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidRequest("invalid cursor") from None
    key, _, rest = text.partition("~")
    snapshot, _, tag = rest.partition("~")
    if not is_pagination_key(key) or "~" in tag:
        raise InvalidRequest("invalid cursor")
    if tag and tag != objects_tag((ref,)):
        raise InvalidRequest(
            "invalid cursor: it is the cursor of another object's pages; pass back the"
            " cursor of this object's previous page"
        )
    if not snapshot:
        return key, None
    if not (snapshot.isascii() and snapshot.isdigit()) or int(snapshot) > _NO_XACT_BOUND:
        raise InvalidRequest("invalid cursor")
    return key, int(snapshot)


def fetch_events(
    store: Store,
    ref: ObjectRef,
    *,
    limit: int | None = None,
    cursor: str | None = None,
    version: int | None = None,
    before: tuple[int, str] | None = None,
) -> FetchPage:
    """A page of the object's rows, newest traces first.

    ``limit`` counts traces (root_span_id groups); a dataset row is its own trace. The
    cursor marks the last trace returned and is None once nothing is left; a page is never
    empty while a cursor is returned.

    ``before`` is the deprecated cursor ``(max_xact_id, max_root_span_id)``: see
    ``legacy_after``.
    """
    if limit is None:
        limit = DEFAULT_FETCH_LIMIT
    if not isinstance(limit, int) or isinstance(limit, bool):
        raise InvalidRequest("limit must be an integer")  # (as the route says it)
    if limit < 1:
        # A page is never empty while a cursor is returned, so 0 is no page size (the lists,
        # which take 0, say "must not be negative").
        raise InvalidRequest(f"limit must be at least 1, not {limit}")
    limit = min(limit, MAX_FETCH_LIMIT)
    after, snapshot = decode_cursor(cursor, ref) if cursor else (None, None)
    if before is not None:
        after = store.read(lambda c: legacy_after(c, ref, before, version))
    while True:
        if version is not None:
            page = store.read(
                lambda c, after=after: _read_pinned_page(c, ref, limit, after, version)
            )
        else:
            page = store.read(
                lambda c, after=after, snapshot=snapshot: _read_live_page(
                    c, ref, limit, after, snapshot
                )
            )
        if page.rows or page.cursor is None:
            return page
        # every trace on this page was deleted: go on
        after, snapshot = decode_cursor(page.cursor, ref)


def _read_live_page(c, ref: ObjectRef, limit: int, after: str | None, snapshot) -> FetchPage:
    """A page of the live rows. Traces are ordered by their last write as of ``snapshot``
    (the newest write the first page saw): a trace written again while a client pages
    keeps its place, so it is neither skipped nor repeated (with its current rows); traces
    begun after the first page are not listed."""
    kind, oid = ref.object_type.value, ref.object_id
    if after is None:
        snapshot = None
    elif snapshot is None:
        # A cursor without a snapshot (the deprecated max_xact_id cursor, or one from an
        # older server): order by the last writes as they are now.
        snapshot = _NO_XACT_BOUND
    bound = min(snapshot or _NO_XACT_BOUND, key_xact(after) or _NO_XACT_BOUND)
    among = """t.object_type = ? AND t.object_id = ? AND (?::VARCHAR IS NULL OR t.last_key < ?)
          AND t.last_xact <= ?"""
    among_params = [kind, oid, after, after, bound]
    current = f"""SELECT t.root_span_id, t.first_xact, t.last_key, t.last_xact FROM traces t
        WHERE {among} AND {newest_traces_bound(among, "?")}"""
    params: list = [*among_params, *among_params, limit - 1]
    moved = _moved_traces(c, kind, oid, snapshot)
    if moved:
        # A trace written after the snapshot takes the key its spans had then (what the
        # traces index held), read from history.
        current += """ UNION ALL
            SELECT h.root_span_id, any_value(m.first_xact), max(h._pagination_key),
                   max(h._xact_id)
            FROM history h JOIN (SELECT unnest(?::VARCHAR[]) AS root_span_id,
                                        unnest(?::UBIGINT[]) AS first_xact) m
              USING (root_span_id)
            WHERE h.object_type = ? AND h.object_id = ? AND NOT h._object_delete
              AND h._xact_id BETWEEN ? AND ?
            GROUP BY h.root_span_id HAVING max(h._pagination_key) < ?"""
        roots, firsts = [m[0] for m in moved], [m[1] for m in moved]
        params += [roots, firsts, kind, oid, min(firsts), snapshot, after]
    traces = c.execute(
        f"""SELECT root_span_id, first_xact, last_key FROM ({current})
            ORDER BY last_xact DESC, last_key DESC LIMIT ?""",
        [*params, limit],
    ).fetchall()
    if not traces:
        return FetchPage(rows=[], cursor=None)
    if snapshot is None:
        snapshot = key_xact(traces[0][2])  # the first page: its newest trace is the newest
    roots = [t[0] for t in traces]
    order = {root: position for position, root in enumerate(roots)}
    comments = comments_relation((ref,), None)
    rows = c.execute(
        f"""SELECT {row_json_sql(ref.object_type)}, e.root_span_id
            FROM live e LEFT JOIN {comments} c ON c.origin_id = e.id
            WHERE e.object_type = ? AND e.object_id = ? AND e._xact_id >= ?
              AND list_contains(?, e.root_span_id)
            ORDER BY e._pagination_key""",
        [kind, oid, min(t[1] for t in traces), roots],
    ).fetchall()
    rows.sort(key=lambda r: order[r[1]])  # stable: spans keep _pagination_key order
    next_cursor = encode_cursor(traces[-1][2], ref, snapshot) if len(traces) == limit else None
    return FetchPage(rows=[r[0] for r in rows], cursor=next_cursor)


def _moved_traces(c, kind: str, oid: str, snapshot: int | None) -> list[tuple[str, int]]:
    """(root_span_id, first_xact) of the traces that existed at ``snapshot`` and were
    written since (none for a first page, or a cursor without a snapshot)."""
    if snapshot is None or snapshot == _NO_XACT_BOUND:
        return []
    return c.execute(
        """SELECT root_span_id, first_xact FROM traces
           WHERE object_type = ? AND object_id = ? AND last_xact > ? AND first_xact <= ?""",
        [kind, oid, snapshot, snapshot],
    ).fetchall()


def _read_pinned_page(c, ref: ObjectRef, limit: int, after: str | None, version) -> FetchPage:
    source, source_params = events_source_sql(version)
    comments = comments_relation((ref,), version)
    sql = f"""
        WITH src AS {source},
        roots AS (
            SELECT root_span_id, max(_pagination_key) AS trace_key FROM src
            GROUP BY root_span_id
            HAVING ?::VARCHAR IS NULL OR max(_pagination_key) < ?
            ORDER BY trace_key DESC LIMIT ?
        )
        SELECT {row_json_sql(ref.object_type)}, roots.trace_key
        FROM src e JOIN roots USING (root_span_id)
        LEFT JOIN {comments} c ON c.origin_id = e.id
        ORDER BY roots.trace_key DESC, e._pagination_key ASC"""
    kind, oid = ref.object_type.value, ref.object_id
    params = [kind, oid, *source_params, after, after, limit]
    rows = c.execute(sql, params).fetchall()
    trace_keys = {r[1] for r in rows}
    next_cursor = encode_cursor(min(trace_keys), ref) if len(trace_keys) == limit else None
    return FetchPage(rows=[r[0] for r in rows], cursor=next_cursor)


def legacy_after(c, ref: ObjectRef, before: tuple[int, str], version: int | None) -> str:
    """The pagination key after which the deprecated cursor ``(max_xact_id,
    max_root_span_id)`` goes on. A client makes that cursor of a page as the smallest
    ``(_xact_id, root_span_id)`` of its rows, so it names a trace of that page, not always
    the last one: the next page starts after that trace's place in the usual order (newest
    write first). Traces after it on the page come again, as the OAS warns; none is skipped,
    and the named trace moves down with every page, so paging ends. A trace no longer
    found: after every trace last written before ``max_xact_id``."""
    xact, root = before
    kind, oid = ref.object_type.value, ref.object_id
    if version is None:
        found = c.execute(
            "SELECT last_key FROM traces WHERE object_type = ? AND object_id = ?"
            " AND root_span_id = ?",
            [kind, oid, root],
        ).fetchone()
    else:
        source, source_params = events_source_sql(version)
        found = c.execute(
            f"SELECT max(_pagination_key) FROM {source} WHERE root_span_id = ?",
            [kind, oid, *source_params, root],
        ).fetchone()
    if found and found[0]:
        return found[0]
    return f"p{format_xact(xact)}"


def count_rows(store: Store, ref: ObjectRef) -> int:
    row = store.read(
        lambda c: c.execute(
            "SELECT count(*) FROM live WHERE object_type = ? AND object_id = ?",
            [ref.object_type.value, ref.object_id],
        ).fetchone()
    )
    return int(row[0])
