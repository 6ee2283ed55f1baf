"""The review queue of a project: spans of its logs or experiments, and rows of its datasets,
flagged for human review, each ``awaiting`` until someone marks it ``completed``. One item per
(object, row). A dataset row's item has no ``root_span_id`` or ``span_name``.

An item may be assigned to a user. The server has no user accounts, only API keys with
names: a user is an API key's name (``users``), so every key with that name acts as that user
and assignments survive a key's rotation."""

from __future__ import annotations

from typing import Any

from tracelake.errors import InvalidRequest, NotFound
from tracelake.model.ids import new_object_id
from tracelake.store.catalog import DATASETS, EXPERIMENTS, MAX_LIST_LIMIT, TS, Catalog

STATUSES = ("awaiting", "completed")
OBJECT_TYPES = ("project_logs", "experiment", "dataset")
_COLUMNS = (
    "id",
    "project_id",
    "object_type",
    "object_id",
    "row_id",
    "root_span_id",
    "span_name",
    "status",
    "note",
    "assignee",
)


# The item's project, and its dataset or experiment, are live: the items of a deleted one
# are gone with it.
_LIVE = (
    "r.project_id IN (SELECT id FROM projects WHERE deleted_at IS NULL)"
    " AND (r.object_type <> 'dataset'"
    " OR r.object_id IN (SELECT id FROM datasets WHERE deleted_at IS NULL))"
    " AND (r.object_type <> 'experiment'"
    " OR r.object_id IN (SELECT id FROM experiments WHERE deleted_at IS NULL))"
)


def _select() -> str:
    cols = [f"r.{c}" for c in _COLUMNS]
    cols += [TS.format(col="r.created"), TS.format(col="r.updated")]
    return f"SELECT {', '.join(cols)} FROM review_items r"


def _rows(c, sql: str, params: list) -> list[dict]:
    names = [*_COLUMNS, "created", "updated"]
    return [dict(zip(names, row, strict=True)) for row in c.execute(sql, params).fetchall()]


def _opt_str(body: dict, name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise InvalidRequest(f"field {name!r} must be a string")
    return value


def _req_str(body: dict, name: str) -> str:
    value = _opt_str(body, name)
    if not value:
        raise InvalidRequest(f"missing required field {name!r}")
    return value


def users(catalog: Catalog, org_id: str, me: str | None = None) -> list[dict]:
    """The organization's users: the names of its active API keys (never a secret), each
    with the highest role among its keys; ``is_me`` marks the caller's."""
    rank = {"read": 0, "write": 1, "admin": 2}
    best: dict[str, str] = {}
    for key in catalog.list_keys(org_id):
        if rank[key["role"]] >= rank.get(best.get(key["name"], "read"), 0):
            best[key["name"]] = key["role"]
    return [
        {"id": name, "name": name, "role": role, "is_me": name == me}
        for name, role in sorted(best.items())
    ]


def _check_assignee(catalog: Catalog, org_id: str, body: dict) -> None:
    assignee = _opt_str(body, "assignee")
    if assignee is not None and assignee not in {u["name"] for u in users(catalog, org_id)}:
        raise InvalidRequest(f"no user {assignee!r} in this organization (see GET /v1/user)")


def flag(catalog: Catalog, org_id: str, body: dict) -> dict:
    """Flag a row for review, or return its item as it is (awaiting or completed); an
    ``assignee`` given for an existing item assigns it."""
    allowed = ("object_type", "object_id", *_COLUMNS[4:7], "note", "assignee")
    unknown = [k for k in body if k not in allowed]
    if unknown:
        raise InvalidRequest(f"unknown field {unknown[0]!r}")
    object_type = _req_str(body, "object_type")
    if object_type not in OBJECT_TYPES:
        raise InvalidRequest(f"field 'object_type' must be one of {', '.join(OBJECT_TYPES)}")
    object_id = _req_str(body, "object_id")
    row_id = _req_str(body, "row_id")
    root, name, note = (_opt_str(body, k) for k in ("root_span_id", "span_name", "note"))
    if object_type == "dataset":
        for field, value in (("root_span_id", root), ("span_name", name)):
            if value is not None:
                raise InvalidRequest(f"field {field!r} is for spans: a dataset row has none")
    _check_assignee(catalog, org_id, body)
    assignee = body.get("assignee")
    if object_type == "experiment":
        project_id = catalog.get(EXPERIMENTS, org_id, object_id)["project_id"]
    elif object_type == "dataset":
        project_id = catalog.get(DATASETS, org_id, object_id)["project_id"]
    else:
        project_id = catalog.get_project(org_id, object_id)["id"]
    item_id = new_object_id()

    def txn(c):
        hit = c.execute(
            "SELECT id FROM review_items WHERE object_type = ? AND object_id = ? AND row_id = ?",
            [object_type, object_id, row_id],
        ).fetchone()
        if hit:
            if assignee is not None:
                c.execute(
                    "UPDATE review_items SET assignee = ?, updated = now() WHERE id = ?",
                    [assignee, hit[0]],
                )
            return hit[0]
        c.execute(
            "INSERT INTO review_items (id, org_id, project_id, object_type, object_id, row_id,"
            " root_span_id, span_name, status, note, assignee, created, updated)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'awaiting', ?, ?, now(), now())",
            [
                item_id,
                org_id,
                project_id,
                object_type,
                object_id,
                row_id,
                root,
                name,
                note,
                assignee,
            ],
        )
        return item_id

    return get(catalog, org_id, catalog.store.transact(txn))


def get(catalog: Catalog, org_id: str, item_id: str) -> dict:
    rows = catalog.store.read(
        lambda c: _rows(
            c, _select() + f" WHERE r.id = ? AND r.org_id = ? AND {_LIVE}", [item_id, org_id]
        )
    )
    if not rows:
        raise NotFound(f"review item {item_id!r} not found")
    return rows[0]


def list_items(
    catalog: Catalog,
    org_id: str,
    *,
    project_id: str | None,
    status: str | None,
    object_id: str | None,
    row_id: str | None,
    limit: int | None,
    assignee: str | None = None,
) -> list[dict]:
    """Items newest first (completed ones by when they were completed). ``assignee`` is a
    user name (the route resolves ``me``); an empty string lists unassigned items."""
    if status is not None and status not in STATUSES:
        raise InvalidRequest(f"status must be one of {', '.join(STATUSES)}")
    if limit is not None and limit < 0:
        raise InvalidRequest("limit must not be negative")
    where = ["r.org_id = ?", _LIVE]
    params: list[Any] = [org_id]
    for column, value in (
        ("project_id", project_id),
        ("status", status),
        ("object_id", object_id),
        ("row_id", row_id),
        ("assignee", assignee),
    ):
        if value == "" and column == "assignee":
            where.append("r.assignee IS NULL")
        elif value is not None:
            where.append(f"r.{column} = ?")
            params.append(value)
    sql = _select() + " WHERE " + " AND ".join(where) + " ORDER BY r.updated DESC, r.id DESC"
    if limit is not None:
        sql += f" LIMIT {min(int(limit), MAX_LIST_LIMIT)}"
    return catalog.store.read(lambda c: _rows(c, sql, params))


def update(catalog: Catalog, org_id: str, item_id: str, patch: dict) -> dict:
    """Change the status (awaiting / completed), the note or the assignee (null unassigns)."""
    get(catalog, org_id, item_id)
    unknown = [k for k in patch if k not in ("status", "note", "assignee")]
    if unknown:
        raise InvalidRequest(f"cannot update field {unknown[0]!r}")
    if "status" in patch and patch["status"] not in STATUSES:
        raise InvalidRequest(f"field 'status' must be one of {', '.join(STATUSES)}")
    _opt_str(patch, "note")
    _check_assignee(catalog, org_id, patch)
    if patch:
        sets = ", ".join(f"{k} = ?" for k in patch)
        catalog.store.transact(
            lambda c: c.execute(
                f"UPDATE review_items SET {sets}, updated = now() WHERE id = ?",
                [*patch.values(), item_id],
            )
        )
    return get(catalog, org_id, item_id)


def remove(catalog: Catalog, org_id: str, item_id: str) -> dict:
    """Take a row off the queue."""
    item = get(catalog, org_id, item_id)
    catalog.store.transact(lambda c: c.execute("DELETE FROM review_items WHERE id = ?", [item_id]))
    return item
