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
from tracelake.store.catalog import (
    DATASETS,
    EXPERIMENTS,
    MAX_LIST_LIMIT,
    MAX_TEXT_LENGTH,
    TS,
    Catalog,
)
from tracelake.store.writer import BY_ID_MAX, sql_text

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
# are gone with it. (An item whose row is deleted is hidden too: see ``_visible``.)
_LIVE = (
    "r.project_id IN (SELECT id FROM projects WHERE deleted_at IS NULL)"
    " AND (r.object_type <> 'dataset'"
    " OR r.object_id IN (SELECT id FROM datasets WHERE deleted_at IS NULL))"
    " AND (r.object_type <> 'experiment'"
    " OR r.object_id IN (SELECT id FROM experiments WHERE deleted_at IS NULL))"
)


def _select() -> str:
    cols = [f"r.{c}" for c in _COLUMNS]
    cols += [TS.format(col="r.created"), TS.format(col="r.updated"), "r.row_seen"]
    return f"SELECT {', '.join(cols)} FROM review_items r"


def _rows(c, sql: str, params: list) -> list[dict]:
    names = [*_COLUMNS, "created", "updated", "row_seen"]
    return [dict(zip(names, row, strict=True)) for row in c.execute(sql, params).fetchall()]


# Row ids looked up in one statement through live's index on id (as the writer reads rows by
# id): an index lookup each, where a join with live would scan all of it.
def _live_rows(c, keys: set[tuple[str, str, str]]) -> set[tuple[str, str, str]]:
    """Which of ``keys`` (object_type, object_id, row id) are rows of ``live`` now."""
    ids = sorted({key[2] for key in keys})
    plain = [i for i in ids if "\x00" not in i]  # (a NUL cannot be in a SQL literal)
    found: set = set()
    for start in range(0, len(plain), BY_ID_MAX):
        chunk = ", ".join(sql_text(i) for i in plain[start : start + BY_ID_MAX])
        sql = f"SELECT object_type, object_id, id FROM live WHERE id IN ({chunk})"
        found.update(c.execute(sql).fetchall())
    for i in ids:
        if "\x00" in i:
            sql = "SELECT object_type, object_id, id FROM live WHERE id = ?"
            found.update(c.execute(sql, [i]).fetchall())
    return found & keys


def _visible(c, items: list[dict]) -> list[dict]:
    """The items whose row was live when flagged and is not now (deleted, by a write or a
    retention run) are left out until the row is back (a restore, a write of that id); an
    item flagged on a row id that was not a row (yet) stays. Only the rows of items flagged
    on a row are looked up, by id."""
    keys = {(i["object_type"], i["object_id"], i["row_id"]) for i in items if i["row_seen"]}
    live = _live_rows(c, keys) if keys else set()
    out = []
    for item in items:
        if (
            not item.pop("row_seen")
            or (item["object_type"], item["object_id"], item["row_id"]) in live
        ):
            out.append(item)
    return out


def _opt_str(body: dict, name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise InvalidRequest(f"field {name!r} must be a string")
    if value is not None and len(value) > MAX_TEXT_LENGTH:
        # (every list of the queue, which the web UI polls, sends it back)
        raise InvalidRequest(f"field {name!r} is too long (at most {MAX_TEXT_LENGTH} characters)")
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
        # Whether the row is a row now: an item of a row that is deleted later leaves the queue.
        seen = bool(_live_rows(c, {(object_type, object_id, row_id)}))
        hit = c.execute(
            "SELECT id, row_seen FROM review_items"
            " WHERE object_type = ? AND object_id = ? AND row_id = ?",
            [object_type, object_id, row_id],
        ).fetchone()
        if hit:
            if assignee is not None:
                c.execute(
                    "UPDATE review_items SET assignee = ?, updated = now() WHERE id = ?",
                    [assignee, hit[0]],
                )
            if hit[1] is not seen:
                # (Flagged again once its row is written, or after it was deleted: an item
                # that was left out is back, as flagging a row id that is no row is allowed.)
                c.execute("UPDATE review_items SET row_seen = ? WHERE id = ?", [seen, hit[0]])
            return hit[0]
        c.execute(
            "INSERT INTO review_items (id, org_id, project_id, object_type, object_id, row_id,"
            " root_span_id, span_name, status, note, assignee, created, updated, row_seen)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'awaiting', ?, ?, now(), now(), ?)",
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
                seen,
            ],
        )
        return item_id

    return get(catalog, org_id, catalog.store.transact(txn))


def get(catalog: Catalog, org_id: str, item_id: str) -> dict:
    rows = catalog.store.read(
        lambda c: _visible(
            c,
            _rows(
                c, _select() + f" WHERE r.id = ? AND r.org_id = ? AND {_LIVE}", [item_id, org_id]
            ),
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
    if limit is None:
        return catalog.store.read(lambda c: _visible(c, _rows(c, sql, params)))
    want = min(int(limit), MAX_LIST_LIMIT)

    def page(c):
        # Items of deleted rows are left out after the query: read more until ``want`` are
        # shown or there are no more.
        fetch = want
        while True:
            rows = _rows(c, f"{sql} LIMIT {fetch}", params)
            shown = _visible(c, rows)
            if len(shown) >= want or len(rows) < fetch:
                return shown[:want]
            fetch += len(rows) - len(shown)

    return catalog.store.read(page)


def counts(catalog: Catalog, org_id: str, project_id: str | None, me: str | None) -> dict:
    """How many items each tab of the review queue lists: ``awaiting``, ``assigned_to_me``
    (awaiting and assigned to ``me``) and ``completed``; the items of deleted rows are left out
    as the lists leave them out."""
    where = ["r.org_id = ?", _LIVE]
    params: list[Any] = [org_id]
    if project_id is not None:
        where.append("r.project_id = ?")
        params.append(project_id)
    sql = _select() + " WHERE " + " AND ".join(where)
    items = catalog.store.read(lambda c: _visible(c, _rows(c, sql, params)))
    awaiting = [i for i in items if i["status"] == "awaiting"]
    return {
        "awaiting": len(awaiting),
        "assigned_to_me": sum(1 for i in awaiting if me is not None and i["assignee"] == me),
        "completed": sum(1 for i in items if i["status"] == "completed"),
    }


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
