"""Saved views (``/v1/view``), shaped as Braintrust's: a named table state of one object
(a project's logs, an experiment, a dataset, the BTQL sandbox), with ``view_data`` (filters,
search, sort…) and ``options`` (columns, row type…) kept as the client sends them.

Names are unique per (object_type, object_id, view_type): creating a view with a taken name
returns the existing one unmodified (``PUT`` replaces it). A personal default view per user
and table lives in ``view_defaults``: a saved view's id or a built-in view's id
(``builtin:<name>``, which the web UI defines).
"""

from __future__ import annotations

from typing import Any

import duckdb
import orjson

from tracelake.errors import InvalidRequest, NotFound
from tracelake.model.ids import new_object_id
from tracelake.model.names import require_name
from tracelake.model.rows import check_depth
from tracelake.store.catalog import (
    DATASETS,
    EXPERIMENTS,
    PROJECTS,
    TS,
    Catalog,
    check_page_ids,
    seq_page,
)

OBJECT_KINDS = {"project": PROJECTS, "experiment": EXPERIMENTS, "dataset": DATASETS}
# Braintrust's view types, and "sandbox" for saved BTQL sandbox queries.
VIEW_TYPES = (
    "projects",
    "experiments",
    "experiment",
    "playgrounds",
    "playground",
    "datasets",
    "dataset",
    "prompts",
    "tools",
    "scorers",
    "logs",
    "monitor",
    "sandbox",
)
_COLUMNS = ("id", "object_type", "object_id", "view_type", "name", "user_id")
_JSON_COLUMNS = ("view_data", "options")
_WRITABLE = ("view_type", "name", "view_data", "options")
_BUILTIN = "builtin:"
# The web UI's built-in views of a logs table (web/src/pages/Views.tsx): a default may name one.
BUILTIN_VIEWS = ("all", "errors", "non_errors", "unreviewed", "assigned")
# The view's table is live: a view of a deleted project, experiment or dataset (or of an
# experiment or dataset of a deleted project) is gone with it.
_LIVE_PROJECTS = "SELECT id FROM projects WHERE deleted_at IS NULL"
_LIVE_OBJECT = (
    "CASE v.object_type"
    f" WHEN 'project' THEN v.object_id IN ({_LIVE_PROJECTS})"
    " WHEN 'experiment' THEN v.object_id IN (SELECT id FROM experiments"
    f" WHERE deleted_at IS NULL AND project_id IN ({_LIVE_PROJECTS}))"
    " WHEN 'dataset' THEN v.object_id IN (SELECT id FROM datasets"
    f" WHERE deleted_at IS NULL AND project_id IN ({_LIVE_PROJECTS}))"
    " ELSE false END"
)


def _select() -> str:
    cols = [f"v.{c}" for c in _COLUMNS] + [f"v.{c}::VARCHAR" for c in _JSON_COLUMNS]
    cols += [TS.format(col="v.created"), TS.format(col="v.deleted_at")]
    return f"SELECT {', '.join(cols)} FROM views v"


def _rows(c: duckdb.DuckDBPyConnection, sql: str, params: list) -> list[dict]:
    names = [*_COLUMNS, *_JSON_COLUMNS, "created", "deleted_at"]
    out = []
    for row in c.execute(sql, params).fetchall():
        record = dict(zip(names, row, strict=True))
        for col in _JSON_COLUMNS:
            if record[col] is not None:
                record[col] = orjson.loads(record[col])
        out.append(record)
    return out


def _check_object(catalog: Catalog, org_id: str, object_type: Any, object_id: Any) -> None:
    """The object exists in the caller's organization (NotFound otherwise)."""
    if object_type not in OBJECT_KINDS:
        raise InvalidRequest(f"field 'object_type' must be one of {', '.join(OBJECT_KINDS)}")
    if not isinstance(object_id, str) or not object_id:
        raise InvalidRequest("missing required field 'object_id'")
    catalog.get(OBJECT_KINDS[object_type], org_id, object_id)


def _check_fields(fields: dict, *, stored_name: str | None = None) -> dict:
    """The fields of a view, checked; a name equal to ``stored_name`` (an update that does
    not change it) is not, so a view saved before names were checked can be edited."""
    name = fields.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InvalidRequest("missing required field 'name' (a non-empty string)")
    if name != stored_name:
        require_name(name, "name")
    if fields.get("view_type") not in VIEW_TYPES:
        raise InvalidRequest(f"field 'view_type' must be one of {', '.join(VIEW_TYPES)}")
    for col in _JSON_COLUMNS:
        value = fields.get(col)
        if value is not None and not isinstance(value, dict):
            raise InvalidRequest(f"field {col!r} must be an object")
        check_depth(value, f"field {col!r}")
    data = fields.get("view_data")
    if fields["view_type"] == "sandbox":
        query = (data or {}).get("query")
        if not isinstance(query, str):
            raise InvalidRequest('a sandbox view needs \'view_data\': {"query": "<BTQL text>"}')
    return fields


def create(catalog: Catalog, org_id: str, user: str, body: dict, *, replace: bool) -> dict:
    """Create a view, or return the one with that name unmodified (``replace``: change it)."""
    unknown = [k for k in body if k not in ("object_type", "object_id", *_WRITABLE, "user_id")]
    if unknown:
        raise InvalidRequest(f"unknown field {unknown[0]!r}")
    _check_object(catalog, org_id, body.get("object_type"), body.get("object_id"))
    fields = _check_fields({k: body.get(k) for k in _WRITABLE})
    key = [org_id, body["object_type"], body["object_id"], fields["view_type"], fields["name"]]
    view_id = new_object_id()

    def txn(c):
        hit = c.execute(
            "SELECT id FROM views WHERE org_id = ? AND object_type = ? AND object_id = ?"
            " AND view_type = ? AND name = ? AND deleted_at IS NULL",
            key,
        ).fetchone()
        if hit and replace:
            c.execute(
                "UPDATE views SET view_data = ?, options = ? WHERE id = ?",
                [_json(fields["view_data"]), _json(fields["options"]), hit[0]],
            )
        if hit:
            return hit[0]
        c.execute(
            "INSERT INTO views (id, org_id, object_type, object_id, view_type, name, view_data,"
            " options, user_id, created, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, now(),"
            " nextval('object_seq'))",
            [
                view_id,
                *key[:5],
                _json(fields["view_data"]),
                _json(fields["options"]),
                user,
            ],
        )
        return view_id

    with catalog.changing:  # (the check of the name and the insert: one at a time)
        view_id = catalog.store.transact(txn)
    return get(catalog, org_id, view_id)


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def get(catalog: Catalog, org_id: str, view_id: str, *, deleted: bool = False) -> dict:
    """One view of the organization (NotFound for a missing, foreign or deleted one, or one
    of a deleted table)."""
    sql = _select() + " WHERE v.id = ? AND v.org_id = ?"
    if not deleted:
        sql += f" AND v.deleted_at IS NULL AND {_LIVE_OBJECT}"
    rows = catalog.store.read(lambda c: _rows(c, sql, [view_id, org_id]))
    if not rows:
        raise NotFound(f"view {view_id!r} not found")
    return rows[0]


def list_views(
    catalog: Catalog,
    org_id: str,
    *,
    object_type: str | None = None,
    object_id: str | None = None,
    view_type: str | None = None,
    name: str | None = None,
    ids: list[str] | None = None,
    limit: int | None = None,
    starting_after: str | None = None,
    ending_before: str | None = None,
) -> list[dict]:
    """Views newest first, with cursor paging by view id like the other lists."""
    if object_id is not None:
        if object_type is None:
            raise InvalidRequest("object_id needs object_type")
        _check_object(catalog, org_id, object_type, object_id)
    elif object_type is not None and object_type not in OBJECT_KINDS:
        raise InvalidRequest(f"object_type must be one of {', '.join(OBJECT_KINDS)}")
    if view_type is not None and view_type not in VIEW_TYPES:
        raise InvalidRequest(f"view_type must be one of {', '.join(VIEW_TYPES)}")
    where, params = ["v.org_id = ?", "v.deleted_at IS NULL", _LIVE_OBJECT], [org_id]
    for column, value in (
        ("object_type", object_type),
        ("object_id", object_id),
        ("view_type", view_type),
        ("name", name),
    ):
        if value is not None:
            where.append(f"v.{column} = ?")
            params.append(value)
    clause, ascending = seq_page(
        "v",
        "views",
        where,
        params,
        org_id=org_id,
        ids=ids,
        limit=limit,
        starting_after=starting_after,
        ending_before=ending_before,
    )

    def page(c):
        rows = _rows(c, _select() + clause, params)
        if not rows and limit != 0:
            check_page_ids(c, "views", org_id, "view", starting_after, ending_before)
        return rows

    rows = catalog.store.read(page)
    if ascending:
        rows.reverse()
    return rows


def update(catalog: Catalog, org_id: str, view_id: str, patch: dict) -> dict:
    """Change a view's name, view_data, options or view_type (checked as a whole, but for a
    name it does not change). ``object_type``/``object_id`` may be sent (Braintrust's clients
    do) but must match."""
    with catalog.changing:  # the name checked free stays free until it is stored
        current = get(catalog, org_id, view_id)
        for name in ("object_type", "object_id"):
            if name in patch and patch[name] != current[name]:
                raise InvalidRequest(f"cannot move a view to another object ({name!r} differs)")
        unknown = [k for k in patch if k not in ("object_type", "object_id", *_WRITABLE, "user_id")]
        if unknown:
            raise InvalidRequest(f"cannot update field {unknown[0]!r}")
        merged = {k: patch.get(k, current[k]) for k in _WRITABLE}
        merged = _check_fields(merged, stored_name=current["name"])
        if merged["name"] != current["name"] or merged["view_type"] != current["view_type"]:
            clash = list_views(
                catalog,
                org_id,
                object_type=current["object_type"],
                object_id=current["object_id"],
                view_type=merged["view_type"],
                name=merged["name"],
            )
            if clash and clash[0]["id"] != view_id:
                raise InvalidRequest(f"the name {merged['name']!r} is already taken")

        def txn(c):
            c.execute(
                "UPDATE views SET view_type = ?, name = ?, view_data = ?, options = ? WHERE id = ?",
                [
                    merged["view_type"],
                    merged["name"],
                    _json(merged["view_data"]),
                    _json(merged["options"]),
                    view_id,
                ],
            )
            # A view moved to another view_type is another table's now: the personal defaults
            # of the table it left fall back to none, as when it is deleted.
            c.execute(
                "DELETE FROM view_defaults WHERE view_id = ? AND view_type <> ?",
                [view_id, merged["view_type"]],
            )

        catalog.store.transact(txn)
    return get(catalog, org_id, view_id)


def delete(catalog: Catalog, org_id: str, view_id: str) -> dict:
    """Soft delete; a personal default pointing at it falls back to none."""
    view = get(catalog, org_id, view_id)

    def txn(c):
        c.execute("UPDATE views SET deleted_at = now() WHERE id = ?", [view_id])
        c.execute("DELETE FROM view_defaults WHERE view_id = ?", [view_id])

    catalog.store.transact(txn)
    return get(catalog, org_id, view["id"], deleted=True)


# -- personal defaults --------------------------------------------------------------------


def _default_key(catalog: Catalog, org_id: str, args: dict) -> list:
    _check_object(catalog, org_id, args.get("object_type"), args.get("object_id"))
    if args.get("view_type") not in VIEW_TYPES:
        raise InvalidRequest(f"field 'view_type' must be one of {', '.join(VIEW_TYPES)}")
    return [args["object_type"], args["object_id"], args["view_type"]]


def get_default(catalog: Catalog, org_id: str, user: str, args: dict) -> dict:
    """The caller's default view of one table (``view_id`` null when none is set)."""
    key = _default_key(catalog, org_id, args)
    row = catalog.store.read(
        lambda c: c.execute(
            "SELECT view_id FROM view_defaults WHERE org_id = ? AND user_name = ?"
            " AND object_type = ? AND object_id = ? AND view_type = ?",
            [org_id, user, *key],
        ).fetchone()
    )
    return {
        "object_type": key[0],
        "object_id": key[1],
        "view_type": key[2],
        "user_id": user,
        "view_id": row[0] if row else None,
    }


def set_default(catalog: Catalog, org_id: str, user: str, body: dict) -> dict:
    """Set (or with ``view_id: null`` clear) the caller's default view of one table."""
    unknown = [k for k in body if k not in ("object_type", "object_id", "view_type", "view_id")]
    if unknown:
        raise InvalidRequest(f"unknown field {unknown[0]!r}")
    key = _default_key(catalog, org_id, body)
    view_id = body.get("view_id")
    if view_id is not None:
        if not isinstance(view_id, str) or not view_id:
            raise InvalidRequest("field 'view_id' must be a view id, 'builtin:<name>' or null")
        if view_id.startswith(_BUILTIN):
            if view_id.removeprefix(_BUILTIN) not in BUILTIN_VIEWS:
                known = ", ".join(_BUILTIN + name for name in BUILTIN_VIEWS)
                raise InvalidRequest(f"no built-in view {view_id!r} (one of {known})")
        else:
            view = get(catalog, org_id, view_id)
            if [view["object_type"], view["object_id"], view["view_type"]] != key:
                raise InvalidRequest("that view belongs to another table")

    def txn(c):
        c.execute(
            "DELETE FROM view_defaults WHERE org_id = ? AND user_name = ? AND object_type = ?"
            " AND object_id = ? AND view_type = ?",
            [org_id, user, *key],
        )
        if view_id is not None:
            c.execute(
                "INSERT INTO view_defaults VALUES (?, ?, ?, ?, ?, ?, now())",
                [org_id, user, *key, view_id],
            )

    catalog.store.transact(txn)
    return get_default(catalog, org_id, user, body)
