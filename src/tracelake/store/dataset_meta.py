"""Catalog data of datasets beyond the dataset record: field schemas (and their
enforcement), named versions (snapshots), custom columns, who made each version, and stars.

Callers check that the dataset belongs to the caller's organization first (Catalog.get).
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

import orjson

from tracelake.errors import Conflict, InvalidRequest, NotFound
from tracelake.model.field_schemas import (
    SCHEMA_FIELDS,
    check_field,
    check_schema,
    validator_for,
    violations,
)
from tracelake.model.names import check_no_control_characters
from tracelake.model.objects import ObjectRef, ObjectType
from tracelake.model.rows import check_depth
from tracelake.store.store import Store
from tracelake.store.writer import Entry, RowCheck

TS = "strftime({col}, '%Y-%m-%dT%H:%M:%S.%fZ')"
MAX_LISTED_VIOLATIONS = 100


class SchemaViolation(InvalidRequest):
    """Rows that break a dataset's enforced field schemas; every violation is listed."""

    def __init__(self, found: list[dict]):
        shown = found[:MAX_LISTED_VIOLATIONS]
        lines = [
            f"row {v['row']}{'' if v['id'] is None else ' (' + v['id'] + ')'}: "
            f"{v['field']}{v['path'] if v['path'] != '/' else ''}: "
            f"{v['message']}"
            for v in shown
        ]
        more = f"; and {len(found) - len(shown)} more" if len(found) > len(shown) else ""
        super().__init__("rows break the dataset's field schema: " + "; ".join(lines) + more)
        self.violations = shown

    def to_json(self) -> dict:
        body = super().to_json()
        body["error"]["violations"] = self.violations
        return body


# -- field schemas --------------------------------------------------------------------------

_validators: weakref.WeakKeyDictionary[Store, dict[str, dict]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def get_schemas(store: Store, dataset_id: str) -> dict[str, Any]:
    """``{field: {"schema", "enforce", "updated"} | None}`` for input, expected, metadata."""
    rows = store.read(
        lambda c: c.execute(
            f"SELECT field, schema::VARCHAR, enforce, {TS.format(col='updated')}"
            " FROM dataset_field_schemas WHERE dataset_id = ?",
            [dataset_id],
        ).fetchall()
    )
    result: dict[str, Any] = dict.fromkeys(SCHEMA_FIELDS)
    for field, schema, enforce, updated in rows:
        result[field] = {"schema": orjson.loads(schema), "enforce": enforce, "updated": updated}
    return result


def set_schema(store: Store, dataset_id: str, field: str, schema: Any, enforce: bool) -> dict:
    check_field(field)
    check_depth(schema, "schema")
    check_schema(schema)
    if not isinstance(enforce, bool):
        raise InvalidRequest("enforce must be true or false")
    store.transact(
        lambda c: c.execute(
            """INSERT OR REPLACE INTO dataset_field_schemas VALUES (?, ?, ?::JSON, ?, now())""",
            [dataset_id, field, orjson.dumps(schema).decode(), enforce],
        )
    )
    _forget(store, dataset_id)
    return get_schemas(store, dataset_id)


def delete_schema(store: Store, dataset_id: str, field: str) -> dict:
    check_field(field)
    store.transact(
        lambda c: c.execute(
            "DELETE FROM dataset_field_schemas WHERE dataset_id = ? AND field = ?",
            [dataset_id, field],
        )
    )
    _forget(store, dataset_id)
    return get_schemas(store, dataset_id)


def _forget(store: Store, dataset_id: str) -> None:
    with _lock:
        _validators.setdefault(store, {}).pop(dataset_id, None)


def enforced_validators(store: Store, dataset_id: str) -> dict:
    """``{field: validator}`` for the dataset's enforced schemas (cached until changed)."""
    with _lock:
        hit = _validators.setdefault(store, {}).get(dataset_id)
    if hit is not None:
        return hit
    schemas = get_schemas(store, dataset_id)
    found = {
        field: validator_for(entry["schema"])
        for field, entry in schemas.items()
        if entry is not None and entry["enforce"]
    }
    with _lock:
        _validators.setdefault(store, {})[dataset_id] = found
    return found


def schema_check(store: Store, objects) -> RowCheck | None:
    """A check for a write batch: every row it leaves in a dataset with enforced schemas
    must conform (None when no dataset of the batch enforces one)."""
    rules = {}
    for ref in objects:
        if ref.object_type is ObjectType.DATASET:
            found = enforced_validators(store, ref.object_id)
            if found:
                rules[ref.object_id] = found
    if not rules:
        return None

    def check(entries: list[Entry]) -> None:
        found = []
        for key, state, seq, _info in entries:
            validators = rules.get(key[1]) if key[0] == ObjectType.DATASET.value else None
            if state is None or not validators:
                continue
            for field, validator in validators.items():
                for problem in violations(validator, state.get(field)):
                    found.append({"row": seq, "id": key[2], "field": field, **problem})
        if found:
            raise SchemaViolation(found)

    return check


def enforced_schemas(c, dataset_id: str) -> list[tuple[str, str]]:
    """The dataset's enforced (field, schema text), read on ``c``: what a check of rows
    written later must still match."""
    return c.execute(
        "SELECT field, schema::VARCHAR FROM dataset_field_schemas"
        " WHERE dataset_id = ? AND enforce ORDER BY field",
        [dataset_id],
    ).fetchall()


def import_checks(store: Store, dataset_id: str):
    """For an import, checked as it is read and committed later: (a check of (row number,
    row id, value) triples of one field, or None; a check for the commit, given the
    writer's cursor). Both go by the enforced schemas read now, once: the commit is refused
    if they changed meanwhile (a schema enforced while a large file was read let rows that
    break it in)."""
    before = store.read(lambda c: enforced_schemas(c, dataset_id))
    validators = {field: validator_for(orjson.loads(text)) for field, text in before}

    def unchanged(cursor) -> None:
        if enforced_schemas(cursor, dataset_id) != before:
            raise Conflict(
                "the dataset's enforced field schemas changed while the file was read and"
                " checked: nothing was written; import it again"
            )

    return (_value_check(validators) if validators else None), unchanged


def _value_check(validators: dict):
    def check(field: str, values: list[tuple[int, str | None, Any]]) -> None:
        validator = validators.get(field)
        if validator is None:
            return
        found = []
        for row, row_id, value in values:
            for problem in violations(validator, value):
                found.append({"row": row, "id": row_id, "field": field, **problem})
        if found:
            raise SchemaViolation(found)

    return check


# -- named versions (snapshots) -------------------------------------------------------------

SNAPSHOT_FIELDS = ("name", "_xact_id", "description", "author", "created")
MAX_SNAPSHOT_NAME = 255


def check_snapshot_name(name: Any) -> None:
    """A name a snapshot may have (one a version is read by, and a URL segment)."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidRequest("a snapshot needs a non-empty name")
    if name.strip().isdigit():  # (versions are read with surrounding spaces stripped)
        raise InvalidRequest("a snapshot name may not be all digits (it would read as a version)")
    # ' golden' and 'golden' look the same in every list, yet only the exact name read it.
    if name != name.strip():
        raise InvalidRequest(f"a snapshot name may not start or end with spaces: {name!r}")
    check_no_control_characters(name, "a snapshot name")
    if len(name) > MAX_SNAPSHOT_NAME:
        raise InvalidRequest(
            f"a snapshot name may be at most {MAX_SNAPSHOT_NAME} characters (got {len(name)})"
        )
    # The name is a segment of URL paths (removing it, the SDK's environment-object): a '/'
    # never reaches the route, and clients resolve '.' and '..' away ('snapshots/..' is the
    # dataset itself, so removing such a name deleted the dataset).
    if "/" in name or name in (".", ".."):
        raise InvalidRequest(
            f"a snapshot name may not contain '/' or be '.' or '..' (it is part of URLs): {name!r}"
        )


def create_snapshot(
    store: Store,
    dataset_id: str,
    name: str,
    xact_id: int,
    description: str | None,
    author: str | None,
) -> dict:
    check_snapshot_name(name)

    def txn(c):
        if _has_snapshot(c, dataset_id, name):
            raise Conflict(f"the dataset has a snapshot named {name!r} already")
        c.execute(
            "INSERT INTO dataset_snapshots VALUES (?, ?, ?, ?, ?, now())",
            [dataset_id, name, xact_id, description, author],
        )

    store.transact(txn)
    return get_snapshot(store, dataset_id, name)


def list_snapshots(store: Store, dataset_id: str) -> list[dict]:
    rows = store.read(
        lambda c: c.execute(
            f"""SELECT name, lpad(_xact_id::VARCHAR, 19, '0'), description, author,
                       {TS.format(col="created")}
                FROM dataset_snapshots WHERE dataset_id = ? ORDER BY _xact_id DESC, name""",
            [dataset_id],
        ).fetchall()
    )
    return [dict(zip(SNAPSHOT_FIELDS, r, strict=True)) for r in rows]


def get_snapshot(store: Store, dataset_id: str, name: str) -> dict:
    for snapshot in list_snapshots(store, dataset_id):
        if snapshot["name"] == name:
            return snapshot
    raise NotFound(f"snapshot {name!r} not found")


def delete_snapshot(store: Store, dataset_id: str, name: str) -> dict:
    """Remove a version's name; the version stays. Experiments whose ``dataset_version`` is
    the name keep their version, pinned by its ``_xact_id`` (the name would read nothing)."""
    snapshot = get_snapshot(store, dataset_id, name)

    def txn(c):
        c.execute(
            "DELETE FROM dataset_snapshots WHERE dataset_id = ? AND name = ?", [dataset_id, name]
        )
        _repin_experiments(c, dataset_id, name, str(int(snapshot["_xact_id"])))

    store.transact(txn)
    return snapshot


def update_snapshot(store: Store, dataset_id: str, name: str, changes: dict) -> dict:
    """Rename a snapshot (``changes["name"]``) and/or set its description. Experiments whose
    ``dataset_version`` is the old name follow it, in the same transaction (they named that
    version; the old name would read nothing)."""
    new_name = changes.get("name", name)
    if new_name != name:  # (a name stored before a check it fails can still be described)
        check_snapshot_name(new_name)
    description = changes.get("description")
    if description is not None and not isinstance(description, str):
        raise InvalidRequest("description must be a string")

    def txn(c):
        if not _has_snapshot(c, dataset_id, name):
            raise NotFound(f"snapshot {name!r} not found")
        if "description" in changes:
            c.execute(
                "UPDATE dataset_snapshots SET description = ? WHERE dataset_id = ? AND name = ?",
                [description, dataset_id, name],
            )
        if new_name == name:
            return
        if _has_snapshot(c, dataset_id, new_name):
            raise Conflict(f"the dataset has a snapshot named {new_name!r} already")
        c.execute(
            "UPDATE dataset_snapshots SET name = ? WHERE dataset_id = ? AND name = ?",
            [new_name, dataset_id, name],
        )
        _repin_experiments(c, dataset_id, name, new_name)

    store.transact(txn)
    return get_snapshot(store, dataset_id, new_name)


def _has_snapshot(c, dataset_id: str, name: str) -> bool:
    return (
        c.execute(
            "SELECT 1 FROM dataset_snapshots WHERE dataset_id = ? AND name = ?",
            [dataset_id, name],
        ).fetchone()
        is not None
    )


def _repin_experiments(c, dataset_id: str, name: str, version: str) -> None:
    """Experiments whose ``dataset_version`` is the snapshot ``name`` read ``version``."""
    c.execute(
        "UPDATE experiments SET dataset_version = ? WHERE dataset_id = ? AND dataset_version = ?",
        [version, dataset_id, name],
    )


def snapshot_version(store: Store, ref: ObjectRef, name: str) -> int:
    """The ``_xact_id`` a snapshot name stands for."""
    return int(get_snapshot(store, ref.object_id, name)["_xact_id"])


# -- custom columns ---------------------------------------------------------------------------


def list_columns(store: Store, dataset_id: str) -> list[dict]:
    rows = store.read(
        lambda c: c.execute(
            f"""SELECT name, expr, {TS.format(col="created")} FROM dataset_columns
                WHERE dataset_id = ? ORDER BY created, name""",
            [dataset_id],
        ).fetchall()
    )
    return [{"name": r[0], "expr": r[1], "created": r[2]} for r in rows]


def set_column(store: Store, dataset_id: str, name: str, expr: str) -> dict:
    store.transact(
        lambda c: c.execute(
            """INSERT INTO dataset_columns VALUES (?, ?, ?, now())
               ON CONFLICT DO UPDATE SET expr = excluded.expr""",
            [dataset_id, name, expr],
        )
    )
    return next(c for c in list_columns(store, dataset_id) if c["name"] == name)


def delete_column(store: Store, dataset_id: str, name: str) -> None:
    if not any(c["name"] == name for c in list_columns(store, dataset_id)):
        raise NotFound(f"custom column {name!r} not found")
    store.transact(
        lambda c: c.execute(
            "DELETE FROM dataset_columns WHERE dataset_id = ? AND name = ?", [dataset_id, name]
        )
    )


# -- stars ------------------------------------------------------------------------------------
# The server has no users: an API key stands for its holder, so a star is "starred by this key".


def set_star(store: Store, key_id: str, dataset_id: str, starred: bool) -> dict:
    """Star (or unstar) a dataset for one API key; repeating either is harmless."""
    if starred:
        sql = "INSERT INTO dataset_stars VALUES (?, ?, now()) ON CONFLICT DO NOTHING"
    else:
        sql = "DELETE FROM dataset_stars WHERE key_id = ? AND dataset_id = ?"
    store.transact(lambda c: c.execute(sql, [key_id, dataset_id]))
    return {"dataset_id": dataset_id, "starred": starred}


def list_stars(store: Store, key_id: str, org_id: str, project_id: str | None) -> list[dict]:
    """The live datasets of the organization (and project) starred by this key, newest star
    first."""
    where = "AND d.project_id = ?" if project_id else ""
    rows = store.read(
        lambda c: c.execute(
            f"""SELECT s.dataset_id, d.project_id, {TS.format(col="s.created")}
                FROM dataset_stars s JOIN datasets d ON d.id = s.dataset_id
                WHERE s.key_id = ? AND d.org_id = ? AND d.deleted_at IS NULL {where}
                ORDER BY s.created DESC, s.dataset_id""",
            [key_id, org_id, *([project_id] if project_id else [])],
        ).fetchall()
    )
    return [{"dataset_id": r[0], "project_id": r[1], "created": r[2]} for r in rows]
