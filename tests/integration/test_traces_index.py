"""The per-trace index: last_xact is kept with last_key, and older databases gain it."""

from __future__ import annotations

import orjson

from tracelake.model.objects import ObjectRef, ObjectType
from tracelake.store.catalog import Catalog, Principal, bootstrap
from tracelake.store.events import fetch_events, prepare_batch
from tracelake.store.store import Store


def _setup(data):
    store = Store(data)
    catalog = Catalog(store)
    bootstrap(catalog, "org", "tl-traces-index-key-0123456789")
    org = catalog.list_orgs()[0]
    principal = Principal(org["id"], org["name"], "admin", "test")
    return store, catalog, principal


def _index(store):
    return store.read(
        lambda c: c.execute(
            "SELECT root_span_id, last_key, last_xact FROM traces ORDER BY root_span_id"
        ).fetchall()
    )


def test_last_xact_follows_last_key_and_is_filled_in_older_databases(tmp_path):
    store, catalog, principal = _setup(tmp_path / "data")
    project_id = catalog.create_project(principal.org_id, "p")["id"]
    for trace in ("a", "b", "a"):  # the second write to trace a moves it to the front
        row = {"project_id": project_id, "log_id": "g", "input": trace}
        row |= {"span_id": f"{trace}-{len(_index(store))}", "root_span_id": trace}
        store.write(prepare_batch(catalog, principal, [row]))
    index = _index(store)
    assert [r[0] for r in index] == ["a", "b"]
    assert all(r[2] == int(r[1][1:20]) for r in index)
    assert index[0][2] > index[1][2]
    # A database from before the column: it is added and filled on the next start.
    store.exclusive(lambda c: c.execute("ALTER TABLE traces DROP COLUMN last_xact"))
    store.close()
    store, catalog, principal = _setup(tmp_path / "data")
    try:
        assert _index(store) == index
        ref = ObjectRef(ObjectType.PROJECT_LOGS, project_id)
        first = fetch_events(store, ref, limit=1)
        assert {orjson.loads(r)["root_span_id"] for r in first.rows} == {"a"}
        second = fetch_events(store, ref, limit=1, cursor=first.cursor)
        assert {orjson.loads(r)["root_span_id"] for r in second.rows} == {"b"}
    finally:
        store.close()
