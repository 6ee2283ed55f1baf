"""Dataset versions: every write is a version (its ``_xact_id``). List them with what each
changed, read or diff any two, restore an old one as a new version, and name versions
(snapshots) to read them by name."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import orjson

from tracelake.errors import Forbidden, InvalidRequest, NotFound
from tracelake.model.objects import ObjectRef, ObjectType
from tracelake.model.rows import RowWrite, format_timestamp, normalize_row
from tracelake.model.xact import format_xact, make_xact_id, parse_xact, xact_seconds
from tracelake.query.ast import Query
from tracelake.query.errors import SourceNotFound
from tracelake.query.parsers import parse_query
from tracelake.query.sources import resolve_source
from tracelake.store import dataset_meta
from tracelake.store.catalog import Catalog, CatalogResolver, Principal
from tracelake.store.events import events_source_sql
from tracelake.store.store import Store
from tracelake.store.writer import WriteBatch

# The fields a diff compares and a restore brings back.
ROW_FIELDS = ("input", "expected", "metadata", "tags", "origin")
# A row's place in its trace, which a restore brings back too (rows may have their own).
SPAN_FIELDS = ("span_id", "root_span_id", "span_parents")
DIFF_LIMIT = 1_000


def _ref(dataset_id: str) -> ObjectRef:
    return ObjectRef(ObjectType.DATASET, dataset_id)


def latest_version(store: Store, dataset_id: str) -> int | None:
    row = store.read(
        lambda c: c.execute(
            "SELECT max(_xact_id) FROM history WHERE object_type = 'dataset' AND object_id = ?",
            [dataset_id],
        ).fetchone()
    )
    return int(row[0]) if row and row[0] is not None else None


_NUMBER = re.compile(r"\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\s*")


def not_a_version(name: str) -> InvalidRequest | None:
    """The error for a version that reads as a number but not as a transaction id ("-1",
    "1.5"), when no snapshot has that name: it was meant as a version, not as a name."""
    if not _NUMBER.fullmatch(name):
        return None
    if name.strip().startswith("-"):
        return InvalidRequest(f"version must not be negative, got {name!r}")
    return InvalidRequest(f"version must be a decimal transaction id, got {name!r}")


def read_snapshot(store: Store, dataset_id: str, name: str) -> int:
    """The ``_xact_id`` a snapshot name given as a read's ``version`` stands for (fetch and
    ``POST /btql``). A name the dataset does not have is a 400 about the version, as any
    other version that names nothing: the dataset exists, the parameter is wrong."""
    try:
        return dataset_meta.snapshot_version(store, _ref(dataset_id), name)
    except NotFound:
        raise not_a_version(name) or InvalidRequest(
            f"the dataset has no snapshot named {name!r}"
        ) from None


def is_snapshot_name(version: Any) -> bool:
    """Whether a read's ``version`` names a snapshot (a string not all digits) rather than
    giving a transaction id."""
    return isinstance(version, str) and bool(version.strip()) and not version.strip().isdigit()


def query_snapshot(catalog: Catalog, org_id: str, query: Query, name: str) -> int:
    """The ``_xact_id`` a snapshot name given as ``version`` stands for, for a query that
    reads exactly one dataset (a snapshot name belongs to one dataset); a 400 otherwise."""
    source = resolve_source(query, CatalogResolver(catalog, org_id))
    refs = list(source.refs)
    if len(refs) != 1 or refs[0].object_type is not ObjectType.DATASET:
        raise not_a_version(name) or InvalidRequest(
            "version as a snapshot name works only for a query on one dataset;"
            " otherwise give a decimal transaction id"
        )
    return read_snapshot(catalog.store, refs[0].object_id, name)


def read_version(catalog: Catalog, org_id: str, query: str | Query, value: str) -> int:
    """A read's ``version`` given as text (an export's parameter, the CLI's option): a
    decimal transaction id, or a snapshot name of the one dataset ``query`` reads."""
    if is_snapshot_name(value):
        parsed = query if isinstance(query, Query) else parse_query(query)
        return query_snapshot(catalog, org_id, parsed, value)
    try:
        return parse_xact(value)
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from None


def export_version(catalog: Catalog, org_id: str, query: str, value: str) -> int:
    """An export's ``version`` (``read_version``), which must not come before the object
    exported was created: such a version reads as no rows, and an export of it wrote an
    empty file and answered 200 (the CLI exited 0), which hid a mistyped version or one of
    another object. (Fetch and ``/btql`` still read it as no rows: the SDK pins ``"0"``,
    the version of an empty dataset.)"""
    parsed = parse_query(query)
    try:
        (ref,) = resolve_source(parsed, CatalogResolver(catalog, org_id)).refs
    except SourceNotFound as exc:  # (its position is in the export's own query)
        raise NotFound(exc.detail) from None
    if ref.object_type is ObjectType.PROJECT_LOGS:
        # (as /btql says of a version on project logs; a version from before the project
        # was created was told to "give a version from after that", which failed so too)
        raise InvalidRequest("version is supported for experiments and datasets, not project logs")
    at = read_version(catalog, org_id, parsed, value)
    created = catalog.get_object(org_id, ref)["created"]
    seconds = int(datetime.fromisoformat(created).timestamp())
    if at < make_xact_id(seconds, 0):  # (xact ids count whole seconds)
        what = "project" if ref.object_type is ObjectType.PROJECT_LOGS else ref.object_type.value
        raise InvalidRequest(
            f"version {value.strip()!r} is from before the {what} was created ({created}):"
            " it has no rows as of then; give a version from after that"
        )
    return at


def dataset_version(store: Store, dataset_id: str, value: Any, param: str = "version") -> int:
    """The version of this dataset a client's ``value`` stands for, for diff, restore and
    snapshots (which must not point at other numbers, unlike pinned reads): an ``_xact_id``
    must be one of the dataset's writes; a snapshot name stands for the version it reads as,
    the latest at or before its ``_xact_id`` (snapshots named before this check may point
    between versions or past the last). Anything else is a 400 naming ``param`` and the
    value."""
    unknown = InvalidRequest(
        f"{param}={value!r} is not a version of this dataset (nor a snapshot name of it):"
        " give an _xact_id from GET /v1/dataset/{id}/versions or a snapshot name"
    )
    if is_snapshot_name(value):
        try:
            snapshot = dataset_meta.snapshot_version(store, _ref(dataset_id), value)
        except NotFound:
            raise unknown from None
        found = _version_at(store, dataset_id, snapshot)
        if found is None:
            raise InvalidRequest(
                f"snapshot {value!r} points at _xact_id {format_xact(snapshot)}, before the"
                " dataset's first version: it reads as no rows and names no version"
            )
        return found
    try:
        xact_id = parse_xact(value)
    except ValueError:
        raise unknown from None
    if xact_id >= 2**63 or _version_at(store, dataset_id, xact_id) != xact_id:
        raise unknown
    return xact_id


def _version_at(store: Store, dataset_id: str, xact_id: int) -> int | None:
    """The dataset's latest version at or before ``xact_id`` (what a read pinned there
    shows), or None."""
    row = store.read(
        lambda c: c.execute(
            "SELECT max(_xact_id) FROM history WHERE object_type = 'dataset'"
            " AND object_id = ? AND _xact_id <= ?",
            [dataset_id, xact_id],
        ).fetchone()
    )
    return int(row[0]) if row and row[0] is not None else None


def list_versions(store: Store, dataset_id: str) -> list[dict]:
    """Newest first: each version's ``_xact_id``, time, author and rows inserted, updated
    and deleted, with the snapshot names that point at it. Writes that changed no row are
    left out (a snapshot of one shows on the version before it, which reads the same)."""
    rows = store.read(
        lambda c: c.execute(
            """WITH h AS (
                   SELECT _xact_id, _object_delete,
                          lag(_object_delete) OVER w AS prev_deleted,
                          row_number() OVER w AS n
                   FROM history WHERE object_type = 'dataset' AND object_id = ?
                   WINDOW w AS (PARTITION BY id ORDER BY _xact_id)),
               v AS (
                   SELECT _xact_id,
                          count(*) FILTER (WHERE NOT _object_delete
                                           AND (n = 1 OR prev_deleted)) AS inserted,
                          count(*) FILTER (WHERE NOT _object_delete
                                           AND n > 1 AND NOT prev_deleted) AS updated,
                          count(*) FILTER (WHERE _object_delete
                                           AND n > 1 AND NOT prev_deleted) AS deleted
                   FROM h GROUP BY _xact_id
                   -- A write that changed no row (a delete of a row that does not exist,
                   -- or of a comment) is no version to list.
                   HAVING inserted + updated + deleted > 0),
               -- A snapshot shows on the version it reads as (older ones may point
               -- between versions).
               s AS (
                   SELECT s.name,
                          (SELECT max(v._xact_id) FROM v WHERE v._xact_id <= s._xact_id) AS at
                   FROM dataset_snapshots s WHERE s.dataset_id = ?)
               SELECT v._xact_id, v.inserted, v.updated, v.deleted, w.author, k.name,
                      (SELECT list(s.name ORDER BY s.name) FROM s WHERE s.at = v._xact_id)
               FROM v
               LEFT JOIN dataset_writes w ON w._xact_id = v._xact_id AND w.dataset_id = ?
               LEFT JOIN api_keys k ON k.id = w.author
               ORDER BY v._xact_id DESC""",
            [dataset_id, dataset_id, dataset_id],
        ).fetchall()
    )
    return [
        {
            "_xact_id": format_xact(int(xact)),
            "created": format_timestamp(datetime.fromtimestamp(xact_seconds(int(xact)), UTC)),
            "author": {"key_id": author, "key_name": key_name} if author else None,
            "inserted": inserted,
            "updated": updated,
            "deleted": deleted,
            "snapshots": names or [],
        }
        for xact, inserted, updated, deleted, author, key_name, names in rows
    ]


def _rows_at(c, dataset_id: str, version: int | None) -> dict[str, dict]:
    source, params = events_source_sql(version)
    fields = ", ".join(
        f"{name}::VARCHAR" if name != "tags" else "tags" for name in ("id", *ROW_FIELDS)
    )
    rows = c.execute(
        f"SELECT {fields}, {', '.join(SPAN_FIELDS)},"
        f" strftime(created, '%Y-%m-%dT%H:%M:%S.%fZ') FROM {source}",
        ["dataset", dataset_id, *params],
    ).fetchall()
    result = {}
    for row in rows:
        record: dict[str, Any] = {"id": row[0]}
        for offset, name in enumerate(ROW_FIELDS):
            value = row[1 + offset]
            if name != "tags" and value is not None:
                value = orjson.loads(value)
            record[name] = value
        for offset, name in enumerate(SPAN_FIELDS):
            record[name] = row[1 + len(ROW_FIELDS) + offset]
        record["created"] = row[-1]
        result[row[0]] = record
    return result


def diff_versions(
    store: Store, dataset_id: str, from_version: int, to_version: int | None, limit: int
) -> dict:
    """Rows added, removed and changed (with the changed fields) from one version to
    another (``to_version`` None = the current rows)."""
    before, after = store.read(
        lambda c: (_rows_at(c, dataset_id, from_version), _rows_at(c, dataset_id, to_version))
    )
    added = [_public(after[i]) for i in after if i not in before]
    removed = [_public(before[i]) for i in before if i not in after]
    changed = []
    for row_id in after.keys() & before.keys():
        fields = [
            f for f in ROW_FIELDS if _norm(before[row_id][f], f) != _norm(after[row_id][f], f)
        ]
        if fields:
            changed.append(
                {
                    "id": row_id,
                    "fields": fields,
                    "before": {f: before[row_id][f] for f in fields},
                    "after": {f: after[row_id][f] for f in fields},
                }
            )
    changed.sort(key=lambda r: r["id"])
    return {
        "from": format_xact(from_version),
        "to": format_xact(to_version) if to_version is not None else None,
        "counts": {"added": len(added), "removed": len(removed), "changed": len(changed)},
        "added": added[:limit],
        "removed": removed[:limit],
        "changed": changed[:limit],
    }


def _norm(value: Any, field: str) -> Any:
    """Compare JSON values regardless of key order, and tags as sets (only tags: a list of
    strings in input or expected is in order, and reordering it is a change)."""
    if field == "tags" and isinstance(value, list):
        return sorted(value)
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def _public(row: dict) -> dict:
    return {k: row[k] for k in ("id", *ROW_FIELDS)}


def restore_version(
    store: Store, catalog: Catalog, principal: Principal, dataset_id: str, version: int
) -> dict:
    """Make the rows of ``version`` current again, as a new version: rows changed since are
    written back (their place in the trace and ``created`` included), rows added since are
    deleted, rows deleted since come back. The rows are read and compared on the writer, in
    the write's transaction, so no write can land between the reads and the restore."""
    if not principal.can_write:
        raise Forbidden("this API key is read-only")
    ref = _ref(dataset_id)
    counts = {"inserted": 0, "updated": 0, "deleted": 0}

    def build(c) -> list[RowWrite]:
        target, current = _rows_at(c, dataset_id, version), _rows_at(c, dataset_id, None)
        counts.update(inserted=0, updated=0, deleted=0)  # (built again if the group retries)
        rows = []
        for row_id, row in target.items():
            now = current.get(row_id)
            if (
                now is not None
                and all(_norm(now[f], f) == _norm(row[f], f) for f in ROW_FIELDS)
                and all(now[f] == row[f] for f in (*SPAN_FIELDS, "created"))
            ):
                continue
            counts["inserted" if now is None else "updated"] += 1
            rows.append({**_public(row), **{f: row[f] for f in (*SPAN_FIELDS, "created")}})
        for row_id in current.keys() - target.keys():
            counts["deleted"] += 1
            rows.append({"id": row_id, "_object_delete": True})
        return [normalize_row(raw, ref, index) for index, raw in enumerate(rows)]

    info = catalog.object_info(principal.org_id, ref)
    batch = WriteBatch(
        writes=[],
        objects={ref: info},
        check=dataset_meta.schema_check(store, {ref: info}),
        build=build,
        author=principal.key_id,
    )
    xact_id = store.write(batch)
    return {
        "_xact_id": None if xact_id is None else format_xact(xact_id),
        "restored": format_xact(version),
        **counts,
    }


def create_snapshot(
    store: Store, dataset_id: str, name: str, version: Any, description: Any, author: str
) -> dict:
    """Name a version (default: the current one). The name and description are checked
    first: a bad name said only "no versions yet" of an empty dataset."""
    dataset_meta.check_snapshot_name(name)
    if description is not None and not isinstance(description, str):
        raise InvalidRequest("description must be a string")
    if version is None:
        xact_id = latest_version(store, dataset_id)
        if xact_id is None:
            raise InvalidRequest("the dataset has no versions yet: write rows first")
    else:
        xact_id = dataset_version(store, dataset_id, version)
    return dataset_meta.create_snapshot(store, dataset_id, name, xact_id, description, author)


def snapshot_xact(store: Store, dataset_id: str, name: str) -> str:
    try:
        return format_xact(dataset_meta.snapshot_version(store, _ref(dataset_id), name))
    except NotFound:
        raise NotFound(f"the dataset has no snapshot (environment) named {name!r}") from None
