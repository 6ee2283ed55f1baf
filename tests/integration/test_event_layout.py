"""Event columns that came later (``classifications``): a database made before them gains
them on open, at the end of each event table, and writes, merges, reads and retention's
moves work on both layouts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
import orjson
import pytest

from tracelake.model.objects import ObjectRef, ObjectType
from tracelake.store.catalog import Catalog, Principal, bootstrap
from tracelake.store.events import fetch_events, prepare_batch
from tracelake.store.retention import restore_rows, trash_rows
from tracelake.store.schema import DDL, LATE_EVENT_COLUMNS
from tracelake.store.store import DB_FILENAME, Store

LABELS = {"topic": [{"id": "math", "label": "Math"}]}


def _older_database(data_dir) -> None:
    """The tables as a tracelake made before the late columns created them."""
    data_dir.mkdir(parents=True)
    con = duckdb.connect(str(data_dir / DB_FILENAME))
    for statement in DDL:
        if statement.startswith("ALTER TABLE") and any(
            name in statement for name, _ in LATE_EVENT_COLUMNS
        ):
            continue
        for name, kind in LATE_EVENT_COLUMNS:
            statement = statement.replace(f",\n  {name} {kind}", "")
        con.execute(statement)
    con.close()


def _open(data_dir):
    store = Store(data_dir)
    catalog = Catalog(store)
    if not catalog.list_orgs():
        bootstrap(catalog, "org", "tl-event-layout-key-0123456789")
    org = catalog.list_orgs()[0]
    return store, catalog, Principal(org["id"], org["name"], "admin", "test")


def _rows(store, ref) -> dict[str, dict]:
    return {r["id"]: r for r in map(orjson.loads, fetch_events(store, ref).rows)}


@pytest.mark.parametrize("older", [False, True], ids=["new", "older"])
def test_classifications_are_stored_merged_and_kept_through_retention(tmp_path, older):
    data_dir = tmp_path / "data"
    if older:
        _older_database(data_dir)
    store, catalog, principal = _open(data_dir)
    try:
        project_id = catalog.create_project(principal.org_id, "p")["id"]
        experiment = catalog.create_experiment(
            principal.org_id, project_id, {"name": "e"}, False, may_create=True
        )
        ref = ObjectRef(ObjectType.EXPERIMENT, experiment["id"])
        span = {"experiment_id": experiment["id"], "id": "root", "input": 1}
        # A plain span start, then the SDK's `root_span.log(classifications=…)` as a merge,
        # and a span that carries them from the start.
        store.write(prepare_batch(catalog, principal, [span]))
        merge = {**span, "_is_merge": True, "classifications": LABELS}
        store.write(prepare_batch(catalog, principal, [merge]))
        whole = {**span, "id": "other", "classifications": LABELS}
        store.write(prepare_batch(catalog, principal, [whole]))
        rows = _rows(store, ref)
        assert rows["root"]["classifications"] == LABELS
        assert rows["root"]["input"] == 1
        assert rows["other"]["classifications"] == LABELS

        future = datetime.now(UTC) + timedelta(days=1)
        moved = store.exclusive(
            lambda c: trash_rows(c, "run", "experiment", [ref.object_id], future)
        )
        assert moved == 2 and _rows(store, ref) == {}
        store.exclusive(lambda c: restore_rows(c, "run", store.clock.next()))
        assert {k: r["classifications"] for k, r in _rows(store, ref).items()} == {
            "root": LABELS,
            "other": LABELS,
        }
    finally:
        store.close()
