"""The per-trace index: last_xact is kept with last_key, and older databases gain it."""

from __future__ import annotations

import threading

import orjson
import pytest

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


# -- pages of the newest traces when many share a last_xact ------------------------------------
# A page is bounded below by the limit-th newest last_xact (a cheap top-N) before the full
# order is taken; traces written by one request share a last_xact, so the bound falls
# inside such groups here.

WRITES = [7, 1, 5, 5, 2]  # traces per request; each request is one _xact_id


def _written_traces(app_client) -> tuple[str, list[str]]:
    """(project id, root span ids newest first): requests in order, and in a request the
    later row is newer (its _pagination_key has the higher sequence number)."""
    project_id = app_client.post("/v1/project", json={"name": "ties"}).json()["id"]
    order = []
    for request, count in enumerate(WRITES):
        roots = [f"r{request}-{n}" for n in range(count)]
        rows = [
            {
                "project_id": project_id,
                "log_id": "g",
                "id": root,
                "span_id": root,
                "root_span_id": root,
                "input": root,
            }
            for root in roots
        ]
        response = app_client.post("/logs3", json={"rows": rows})
        assert response.status_code == 200, response.text
        order = roots[::-1] + order
    return project_id, order


def _pages(read_page) -> list[list[str]]:
    """The root span ids of each page, following the cursors to the end; ``read_page``
    takes a cursor (None for the first page) and answers (rows, next cursor)."""
    pages, cursor = [], None
    while True:
        rows, cursor = read_page(cursor)
        if rows:
            pages.append(list(dict.fromkeys(r["root_span_id"] for r in rows)))
        if not cursor:
            return pages


@pytest.mark.parametrize("limit", [1, 3, 4, 6, 20])
def test_newest_trace_pages_when_traces_share_a_transaction(app_client, limit):
    project_id, newest_first = _written_traces(app_client)
    expected = [newest_first[i : i + limit] for i in range(0, len(newest_first), limit)]
    _assert_trace_pages(app_client, project_id, limit, expected)


def _assert_trace_pages(app_client, project_id: str, limit: int, expected: list) -> None:
    """Fetch pages and BTQL pages of the traces and summary shapes list ``expected``."""

    def fetch(cursor):
        body = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        response = app_client.post(f"/v1/project_logs/{project_id}/fetch", json=body)
        assert response.status_code == 200, response.text
        return response.json()["events"], response.json()["cursor"]

    assert _pages(fetch) == expected
    for shape in ("traces", "summary"):

        def btql(cursor, shape=shape):
            query = f"from: project_logs('{project_id}', shape => '{shape}') | select: *"
            query += f" | limit: {limit}" + (f" | cursor: '{cursor}'" if cursor else "")
            response = app_client.post("/btql", json={"query": query})
            assert response.status_code == 200, response.text
            return response.json()["data"], response.json()["cursor"]

        assert _pages(btql) == expected, shape


# -- deleted traces leave the index ---------------------------------------------------------


def test_pages_of_traces_skip_past_deleted_traces(app_client):
    """A trace whose spans are all deleted has no place on a page: pages of the traces and
    summary shapes (which read the per-trace index) went on to the end, not stopping at a
    page the deleted trace left short, and fetch pages are full."""
    project_id, newest_first = _written_traces(app_client)
    gone = {newest_first[1], newest_first[4]}
    rows = [
        {"project_id": project_id, "log_id": "g", "id": r, "_object_delete": True} for r in gone
    ]
    assert app_client.post("/logs3", json={"rows": rows}).status_code == 200
    left = [r for r in newest_first if r not in gone]
    expected = [left[i : i + 3] for i in range(0, len(left), 3)]
    _assert_trace_pages(app_client, project_id, 3, expected)


@pytest.mark.parametrize("limit", [2, 3])
def test_pages_of_traces_skip_past_traces_a_replace_moved_every_span_out_of(app_client, limit):
    """A replace may give a span another root_span_id (or, with _parent_id, a parent in
    another trace): its old trace, left with no spans, kept its index entry. It took a place
    on pages of traces, and a traces or summary page came short and ended the paging (the
    traces after it were never listed)."""
    project_id, newest_first = _written_traces(app_client)

    def write(rows):
        rows = [{"project_id": project_id, "log_id": "g"} | row for row in rows]
        response = app_client.post("/logs3", json={"rows": rows})
        assert response.status_code == 200, response.text

    # A plain replace (computed before the writer), then a replace with _parent_id beside a
    # merge (computed on the writer thread).
    write([{"id": "r0-3", "span_id": "r0-3", "root_span_id": "r1-0", "span_parents": ["r1-0"]}])
    write([{"id": "r2-1", "_parent_id": "r3-0"}, {"id": "r4-0", "_is_merge": True, "output": 1}])
    moved = ["r4-0", "r3-0", "r1-0"]
    left = moved + [r for r in newest_first if r not in {*moved, "r0-3", "r2-1"}]
    expected = [left[i : i + limit] for i in range(0, len(left), limit)]
    _assert_trace_pages(app_client, project_id, limit, expected)


def test_a_dataset_import_that_replaces_a_row_of_another_trace_drops_that_trace(app_client):
    """An imported row is its own trace: the row it replaces left the trace it sat in, whose
    index entry took a place on a page of the dataset's rows."""
    project_id = app_client.post("/v1/project", json={"name": "moved"}).json()["id"]
    body = {"project_id": project_id, "name": "d"}
    dataset_id = app_client.post("/v1/dataset", json=body).json()["id"]
    rows = [
        {"dataset_id": dataset_id, "id": "kept", "input": 1},
        {"dataset_id": dataset_id, "id": "moved", "span_id": "s", "root_span_id": "old"},
    ]
    assert app_client.post("/logs3", json={"rows": rows}).status_code == 200
    imported = app_client.post(
        f"/v1/dataset/{dataset_id}/import", params={"format": "csv"}, content=b"id,q\nmoved,2\n"
    )
    assert imported.status_code == 200, imported.text
    page = app_client.post(f"/v1/dataset/{dataset_id}/fetch", json={"limit": 2}).json()
    assert [r["id"] for r in page["events"]] == ["moved", "kept"]


def test_a_trace_written_and_deleted_in_one_group_commit_leaves_the_index(tmp_path):
    store, catalog, principal = _setup(tmp_path / "data")
    try:
        project_id = catalog.create_project(principal.org_id, "p")["id"]
        span = {"project_id": project_id, "log_id": "g", "id": "s", "root_span_id": "t"}
        store.write(prepare_batch(catalog, principal, [span | {"id": "kept", "root_span_id": "k"}]))
        # Hold the writer, so that the write and the delete are committed as one group.
        release = threading.Event()
        held = threading.Thread(target=store.exclusive, args=(lambda c: release.wait(10),))
        held.start()
        written = store.submit(prepare_batch(catalog, principal, [span | {"input": 1}]))
        deleted = store.submit(prepare_batch(catalog, principal, [span | {"_object_delete": True}]))
        release.set()
        held.join()
        written.result(), deleted.result()
        assert [r[0] for r in _index(store)] == ["k"]
    finally:
        store.close()


@pytest.mark.parametrize("stored", [False, True])
def test_a_span_moved_twice_in_one_group_commit_leaves_one_trace_in_the_index(tmp_path, stored):
    """Two requests of one group commit give a span two other root_span_ids in turn: the
    index had the trace of the first as well, with no spans."""
    store, catalog, principal = _setup(tmp_path / "data")
    try:
        project_id = catalog.create_project(principal.org_id, "p")["id"]
        span = {"project_id": project_id, "log_id": "g", "id": "s"}
        if stored:
            store.write(prepare_batch(catalog, principal, [span | {"root_span_id": "a"}]))
        release = threading.Event()
        held = threading.Thread(target=store.exclusive, args=(lambda c: release.wait(10),))
        held.start()
        first = store.submit(prepare_batch(catalog, principal, [span | {"root_span_id": "b"}]))
        second = store.submit(prepare_batch(catalog, principal, [span | {"root_span_id": "c"}]))
        release.set()
        held.join()
        first.result(), second.result()
        assert [r[0] for r in _index(store)] == ["c"]
    finally:
        store.close()


@pytest.mark.parametrize(
    "shape", ["traces", "summary", "summary | final_filter: input IS NOT NULL"]
)
def test_a_trace_written_while_a_client_pages_keeps_its_place(app_client, shape):
    """A trace that gains a span (or a merge) after the first page moved ahead of the
    cursor and was never listed; it keeps its place as of the first page now, as on fetch,
    and comes once, whole. Traces begun since are not listed."""
    project_id, newest_first = _written_traces(app_client)

    def btql(cursor):
        query = f"from: project_logs('{project_id}') {shape} | select: * | limit: 4"
        query += f" | cursor: '{cursor}'" if cursor else ""
        response = app_client.post("/btql", json={"query": query})
        assert response.status_code == 200, response.text
        return response.json()["data"], response.json()["cursor"]

    first, cursor = btql(None)
    assert [r["root_span_id"] for r in first] == newest_first[:4]
    late = newest_first[-1]  # the oldest trace: not on the first page
    rows = [
        {"project_id": project_id, "log_id": "g", "id": f"{late}-child"}
        | {"span_id": f"{late}-child", "root_span_id": late, "span_parents": [late]},
        {"project_id": project_id, "log_id": "g", "id": "new", "root_span_id": "new"},
    ]
    assert app_client.post("/logs3", json={"rows": rows}).status_code == 200
    pages, rows, cursor = [[r["root_span_id"] for r in first]], [], cursor
    while cursor:
        page, cursor = btql(cursor)
        pages.append(list(dict.fromkeys(r["root_span_id"] for r in page)))
        rows += page
    assert [root for page in pages for root in page] == newest_first
    if shape == "traces":  # whole: with the span written since
        assert sorted(r["id"] for r in rows if r["root_span_id"] == late) == [late, f"{late}-child"]


def test_index_entries_of_traces_without_rows_are_dropped_once_on_open(tmp_path):
    """Deletes used to leave the entry of a trace without rows in the index: a database
    from then loses those entries on its next start (once: the meta table records it)."""
    store, catalog, principal = _setup(tmp_path / "data")
    project_id = catalog.create_project(principal.org_id, "p")["id"]
    row = {"project_id": project_id, "log_id": "g", "id": "kept", "root_span_id": "k"}
    store.write(prepare_batch(catalog, principal, [row]))
    (stray,) = [
        (*r[:2], "gone", *r[3:])
        for r in store.read(lambda c: c.execute("SELECT * FROM traces").fetchall())
    ]

    def left_behind(c):
        c.execute("INSERT INTO traces VALUES (?, ?, ?, ?, ?, ?, ?)", list(stray))
        c.execute("DELETE FROM meta WHERE key = 'traces_without_rows_dropped'")

    store.exclusive(left_behind)
    assert [r[0] for r in _index(store)] == ["gone", "k"]
    store.close()
    store, catalog, principal = _setup(tmp_path / "data")
    try:
        assert [r[0] for r in _index(store)] == ["k"]
        assert store.read(
            lambda c: c.execute(
                "SELECT value FROM meta WHERE key = 'traces_without_rows_dropped'"
            ).fetchall()
        ) == [("done",)]
    finally:
        store.close()
