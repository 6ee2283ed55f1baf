"""A trace whose root span left it (replaced into another trace, as an ``Eval`` re-run with
``upsert_id`` replaces its root rows, or deleted) while other spans of it stay: those spans
stay rows (a replace or delete of one row touches no other), but summaries count traces by
their root span and leave that trace out; a trace that never had its root (spans logged
before it) still counts. docs/write-semantics.md, test_sdk_workflows.py for the SDK."""

from __future__ import annotations

import pytest

from tests.integration.test_bad_input import new_dataset, new_experiment, new_project
from tests.integration.test_traces_index import _setup
from tracelake.store.events import prepare_batch
from tracelake.store.retention import _refresh_traces
from tracelake.store.store import Store


def logs3(client, rows: list[dict]) -> str:
    response = client.post("/logs3", json={"rows": rows, "api_version": 2})
    assert response.status_code == 200, response.text
    return response.json()["_xact_id"]


def span(experiment_id: str, row_id: str, root: str, score: float, parent: str | None = None):
    row = {"experiment_id": experiment_id, "id": row_id, "span_id": row_id}
    row |= {"root_span_id": root, "scores": {"s": score}}
    return row | ({"span_parents": [parent]} if parent else {})


def summary_rows(client, experiment_id: str, **body) -> dict[str, float]:
    """root_span_id → the trace's score ``s``, on the summary shape."""
    query = f"select: root_span_id, scores | from: experiment('{experiment_id}') summary"
    response = client.post("/btql", json={"query": query, **body})
    assert response.status_code == 200, response.text
    return {r["root_span_id"]: r["scores"]["s"] for r in response.json()["data"]}


def traces_rows(client, experiment_id: str, clauses: str = "", **body) -> dict[str, list]:
    """root_span_id → the ids of the trace's spans, on the traces shape."""
    query = f"select: id, root_span_id | from: experiment('{experiment_id}') traces{clauses}"
    response = client.post("/btql", json={"query": query, **body})
    assert response.status_code == 200, response.text
    traces: dict[str, list] = {}
    for row in response.json()["data"]:
        traces.setdefault(row["root_span_id"], []).append(row["id"])
    return {root: sorted(ids) for root, ids in traces.items()}


def summarized(client, experiment_id: str) -> float:
    response = client.get(f"/v1/experiment/{experiment_id}/summarize")
    assert response.status_code == 200, response.text
    return response.json()["scores"]["s"]["score"]


@pytest.fixture
def rerun(app_client):
    """An experiment whose case 'case' ran twice: root 'case' (trace t1, a child c1 scoring
    0), replaced by root 'case' in trace t2 (child c2 scoring 1); and a trace t3 whose child
    arrived without its root. Answers the experiment's id and the two writes' xacts."""
    experiment_id = new_experiment(app_client, new_project(app_client))
    first = logs3(
        app_client,
        [
            {**span(experiment_id, "case", "t1", 0.0), "span_id": "r1"},
            span(experiment_id, "c1", "t1", 0.0, parent="r1"),
            span(experiment_id, "c3", "t3", 0.5, parent="r3"),
        ],
    )
    second = logs3(
        app_client,
        [
            {**span(experiment_id, "case", "t2", 1.0), "span_id": "r2"},
            span(experiment_id, "c2", "t2", 1.0, parent="r2"),
        ],
    )
    return experiment_id, first, second


def test_the_traces_shape_leaves_out_a_trace_whose_root_was_replaced_into_another(
    app_client, rerun
):
    """As the summary shape: the trace of the first run has no root, and is no trace of the
    page (nor takes a place under the limit); its spans stay rows of the spans shape."""
    experiment_id, first, second = rerun
    expected = {"t2": ["c2", "case"], "t3": ["c3"]}
    assert traces_rows(app_client, experiment_id) == expected
    assert traces_rows(app_client, experiment_id, " | limit: 2") == expected
    assert traces_rows(app_client, experiment_id, " | sort: root_span_id") == expected
    assert traces_rows(app_client, experiment_id, " | filter: id = 'c1'") == {}
    other = new_experiment(app_client, new_project(app_client))
    logs3(app_client, [span(other, "o", "o", 1.0)])
    two = f"experiment('{experiment_id}', '{other}')"
    response = app_client.post("/btql", json={"query": f"select: id | from: {two} traces"})
    assert response.status_code == 200, response.text
    assert sorted(r["id"] for r in response.json()["data"]) == ["c2", "c3", "case", "o"]
    query = f"select: id | from: experiment('{experiment_id}') spans"
    response = app_client.post("/btql", json={"query": query})
    assert sorted(r["id"] for r in response.json()["data"]) == ["c1", "c2", "c3", "case"]
    # Pinned before the replace, the trace had its root; at the replace, it had left.
    assert traces_rows(app_client, experiment_id, version=first) == {
        "t1": ["c1", "case"],
        "t3": ["c3"],
    }
    assert traces_rows(app_client, experiment_id, version=second) == expected


def test_the_traces_shape_shows_a_trace_whose_root_was_written_back(app_client, rerun):
    experiment_id, _, _ = rerun
    back = logs3(app_client, [{**span(experiment_id, "again", "t1", 0.0), "span_id": "r1"}])
    expected = {"t1": ["again", "c1"], "t2": ["c2", "case"], "t3": ["c3"]}
    assert traces_rows(app_client, experiment_id) == expected
    assert traces_rows(app_client, experiment_id, " | limit: 3") == expected
    assert traces_rows(app_client, experiment_id, version=back) == expected
    # Deleted again: gone again, at the delete and after it.
    gone = logs3(
        app_client, [{"experiment_id": experiment_id, "id": "again", "_object_delete": True}]
    )
    assert set(traces_rows(app_client, experiment_id)) == {"t2", "t3"}
    assert set(traces_rows(app_client, experiment_id, version=gone)) == {"t2", "t3"}
    assert set(traces_rows(app_client, experiment_id, version=back)) == {"t1", "t2", "t3"}


def test_summaries_leave_out_a_trace_whose_root_was_replaced_into_another(app_client, rerun):
    experiment_id, first, _ = rerun
    assert summary_rows(app_client, experiment_id) == {"t2": 1.0, "t3": 0.5}
    assert summarized(app_client, experiment_id) == pytest.approx(0.75)
    # Its spans stay rows; a read pinned before the replace sees the trace with its root.
    response = app_client.post(f"/v1/experiment/{experiment_id}/fetch", json={})
    assert sorted(r["id"] for r in response.json()["events"]) == ["c1", "c2", "c3", "case"]
    assert summary_rows(app_client, experiment_id, version=first) == {"t1": 0.0, "t3": 0.5}


def test_a_root_written_back_counts_the_trace_again(app_client, rerun):
    experiment_id, _, _ = rerun
    logs3(app_client, [{**span(experiment_id, "again", "t1", 0.0), "span_id": "r1"}])
    assert summary_rows(app_client, experiment_id) == {"t1": 0.0, "t2": 1.0, "t3": 0.5}
    assert summarized(app_client, experiment_id) == pytest.approx(0.5)


def test_a_deleted_root_leaves_its_trace_out(app_client, rerun):
    experiment_id, _, _ = rerun
    logs3(app_client, [{"experiment_id": experiment_id, "id": "case", "_object_delete": True}])
    assert summary_rows(app_client, experiment_id) == {"t3": 0.5}
    assert summarized(app_client, experiment_id) == 0.5
    # The root of t3 arrives: t3 has it now; a child of t1 logged late keeps t1 out.
    logs3(
        app_client,
        [
            {**span(experiment_id, "root3", "t3", 0.5), "span_id": "r3"},
            span(experiment_id, "late", "t1", 0.0, parent="r1"),
        ],
    )
    assert summary_rows(app_client, experiment_id) == {"t3": 0.5}


def _left(store: Store) -> dict[str, int | None]:
    return dict(
        store.read(
            lambda c: c.execute("SELECT root_span_id, root_left_xact FROM traces").fetchall()
        )
    )


def test_an_older_database_learns_which_traces_lost_their_root_once(tmp_path):
    """A database written before root_left_xact was kept: filled on its next start, from the
    history (the newest write to a row that was once the trace's root)."""
    store, catalog, principal = _setup(tmp_path / "data")
    project_id = catalog.create_project(principal.org_id, "p")["id"]

    def write(rows):
        logs = [{"project_id": project_id, "log_id": "g", **r} for r in rows]
        return store.write(prepare_batch(catalog, principal, logs))

    write([{"id": "case", "span_id": "r1", "root_span_id": "t1"}])
    write([{"id": "c1", "span_id": "c1", "root_span_id": "t1", "span_parents": ["r1"]}])
    write([{"id": "c3", "span_id": "c3", "root_span_id": "t3", "span_parents": ["r3"]}])
    replaced = write([{"id": "case", "span_id": "r2", "root_span_id": "t2"}])
    assert _left(store) == {"t1": int(replaced), "t2": None, "t3": 0}

    def forget(c):
        c.execute("UPDATE traces SET root_left_xact = NULL")
        c.execute("DELETE FROM meta WHERE key = 'traces_root_left_filled'")

    store.exclusive(forget)
    store.close()
    store, catalog, principal = _setup(tmp_path / "data")
    try:
        assert _left(store) == {"t1": int(replaced), "t2": None, "t3": None}
    finally:
        store.close()


def test_retention_keeps_track_of_a_trace_without_its_root(app_client, rerun):
    experiment_id, _, _ = rerun
    store: Store = app_client.app.state.store

    def refresh(c):
        c.execute(
            "CREATE TEMP TABLE retention_roots AS SELECT object_type, object_id, root_span_id"
            " FROM traces"
        )
        c.execute("UPDATE traces SET root_left_xact = NULL")
        _refresh_traces(c)
        c.execute("DROP TABLE retention_roots")

    store.exclusive(refresh)
    assert summary_rows(app_client, experiment_id) == {"t2": 1.0, "t3": 0.5}


def _places(client, kind: str, object_id: str) -> dict[str, tuple]:
    """id → (span_id, root_span_id, span_parents) of the object's rows."""
    response = client.post(f"/v1/{kind}/{object_id}/fetch", json={})
    assert response.status_code == 200, response.text
    rows = response.json()["events"]
    return {r["id"]: (r["span_id"], r["root_span_id"], r["span_parents"]) for r in rows}


def test_a_replace_without_span_ids_keeps_the_rows_place_and_its_children(app_client):
    """A plain replace of a row by its id, without span ids (a REST insert), gave the row
    the span id and trace of its id: its children were left in a trace without its root,
    which summaries and the traces shape then left out. It keeps the row's place now."""
    experiment_id = new_experiment(app_client, new_project(app_client))
    logs3(
        app_client,
        [
            {**span(experiment_id, "case", "t1", 0.0), "span_id": "r1"},
            span(experiment_id, "c1", "t1", 0.0, parent="r1"),
        ],
    )
    again = {"id": "case", "input": "again", "scores": {"s": 1.0}}
    response = app_client.post(f"/v1/experiment/{experiment_id}/insert", json={"events": [again]})
    assert response.status_code == 200, response.text
    places = _places(app_client, "experiment", experiment_id)
    assert places == {"case": ("r1", "t1", None), "c1": ("c1", "t1", ["r1"])}
    assert summary_rows(app_client, experiment_id) == {"t1": 0.5}
    assert traces_rows(app_client, experiment_id) == {"t1": ["c1", "case"]}

    # Written and replaced in one request; a child replaced; a row with span ids sent again
    # takes the ones sent; a deleted row written again is placed anew.
    row = {"experiment_id": experiment_id}
    logs3(
        app_client,
        [
            {**row, "id": "n", "span_id": "sn", "root_span_id": "t1", "span_parents": ["r1"]},
            {**row, "id": "n", "input": 2},
            {**row, "id": "c1", "output": "kept"},
        ],
    )
    places = _places(app_client, "experiment", experiment_id)
    assert places["n"] == ("sn", "t1", ["r1"]) and places["c1"] == ("c1", "t1", ["r1"])
    logs3(app_client, [{**row, "id": "n", "span_id": "sn2", "root_span_id": "t9"}])
    assert _places(app_client, "experiment", experiment_id)["n"] == ("sn2", "t9", None)
    logs3(app_client, [{**row, "id": "n", "_object_delete": True}])
    logs3(app_client, [{**row, "id": "n", "input": 3}])
    assert _places(app_client, "experiment", experiment_id)["n"] == ("n", "n", None)


def test_a_dataset_row_sent_again_or_imported_keeps_its_span_ids(app_client):
    """A dataset row written with span ids (a span added to a dataset as it was) and then
    sent again whole (the SDK's ``insert`` of its id sends none) or imported from a file."""
    dataset_id = new_dataset(app_client, new_project(app_client))
    first = {"id": "a", "span_id": "sa", "root_span_id": "ta", "input": 1}
    for events in ([first], [{"id": "a", "input": 2}]):
        response = app_client.post(f"/v1/dataset/{dataset_id}/insert", json={"events": events})
        assert response.status_code == 200, response.text
    assert _places(app_client, "dataset", dataset_id) == {"a": ("sa", "ta", None)}
    body = b"id,q\na,3\nb,4\n"
    response = app_client.post(
        f"/v1/dataset/{dataset_id}/import", params={"format": "csv"}, content=body
    )
    assert response.status_code == 200, response.text
    places = _places(app_client, "dataset", dataset_id)
    assert places == {"a": ("sa", "ta", None), "b": ("b", "b", None)}
