"""A query's source is resolved once per catalog state: renames, deletes and new objects
are seen by the next query."""

from __future__ import annotations

import orjson
import pytest

from tracelake.errors import NotFound
from tracelake.export.queries import QueryOptions, run_query
from tracelake.store.catalog import DATASETS, PROJECTS, Catalog, Principal, bootstrap
from tracelake.store.events import prepare_batch
from tracelake.store.store import Store


@pytest.fixture
def env(tmp_path):
    store = Store(tmp_path / "data")
    catalog = Catalog(store)
    bootstrap(catalog, "org", "tl-cache-test-key-0123456789")
    org = catalog.list_orgs()[0]
    yield store, catalog, Principal(org["id"], org["name"], "admin", "test")
    store.close()


def ids(env, source: str) -> list[str]:
    store, catalog, principal = env
    text = f"select: id | from: {source} | sort: id asc"
    result = run_query(store, catalog, principal, QueryOptions(query=text))
    return [orjson.loads(r)["id"] for r in result.rows]


def test_names_follow_renames_deletes_and_new_objects(env):
    store, catalog, principal = env
    first = catalog.create_project(principal.org_id, "alpha")["id"]
    rows = [{"project_id": first, "log_id": "g", "id": "a", "input": "x"}]
    store.write(prepare_batch(catalog, principal, rows))
    assert ids(env, "project_logs('alpha')") == ["a"]
    assert ids(env, "project_logs('alpha')") == ["a"]  # remembered

    catalog.update_object(PROJECTS, principal.org_id, first, {"name": "beta"})
    with pytest.raises(NotFound):
        ids(env, "project_logs('alpha')")
    assert ids(env, "project_logs('beta')") == ["a"]

    # A new project takes the old name: the name now means it.
    second = catalog.create_project(principal.org_id, "alpha")["id"]
    assert second != first
    assert ids(env, "project_logs('alpha')") == []

    dataset = catalog.create_dataset(principal.org_id, first, "golden")["id"]
    rows = [{"dataset_id": dataset, "id": "d1", "input": "q"}]
    store.write(prepare_batch(catalog, principal, rows))
    assert ids(env, "dataset('golden')") == ["d1"]
    catalog.delete_object(DATASETS, principal.org_id, dataset)
    with pytest.raises(NotFound):
        ids(env, "dataset('golden')")
    catalog.delete_object(PROJECTS, principal.org_id, first)
    with pytest.raises(NotFound):
        ids(env, f"project_logs('{first}')")
