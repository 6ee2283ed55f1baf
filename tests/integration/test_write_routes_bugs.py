"""Write routes found wrong by a review (docs/write-semantics.md, docs/api.md,
braintrust-protocol.md §4): a request is checked whole before anything is written, and a
bad one is a 400 naming the row."""

from __future__ import annotations

from tests.integration.test_bad_input import (
    assert_error,
    events,
    log_row,
    new_dataset,
    new_experiment,
    new_project,
)

# -- /logs3 rows of an experiment or a dataset that name another project -------------------------


def test_logs3_refuses_a_dataset_or_experiment_row_naming_another_project(app_client):
    """A /logs3 row of a dataset or an experiment that also carried another project's
    ``project_id`` was written to the object as if the key were not there (the insert
    routes refuse it): it is a 400 naming the row, and no row of the request is written.
    The SDK's rows carry no project_id; a row read by fetch carries the object's own, and
    may be written back."""
    project_id = new_project(app_client)
    other_project = new_project(app_client)
    dataset_id = new_dataset(app_client, project_id)
    experiment_id = new_experiment(app_client, project_id)
    logged = log_row(project_id, "log-row", input=1)
    cases = [
        {"dataset_id": dataset_id, "id": "d", "input": 1, "project_id": other_project},
        {"dataset_id": dataset_id, "id": "d", "input": 1, "project_id": 5},
        # a plain span of an experiment (the ingest fast path takes such requests)
        {"experiment_id": experiment_id, "id": "e", "input": 1, "project_id": other_project},
        # a merge (the general path)
        {"experiment_id": experiment_id, "id": "e", "_is_merge": True, "project_id": "nope"},
    ]
    for bad in cases:
        good = {"dataset_id": dataset_id, "id": "first", "input": 0}
        answer = app_client.post("/logs3", json={"rows": [good, logged, bad]})
        error = assert_error(answer, 400, "row 2", "project_id", "does not match")
        assert bad.get("dataset_id", bad.get("experiment_id")) in error["message"], error
        assert events(app_client, "dataset", dataset_id) == [], bad
        assert events(app_client, "experiment", experiment_id) == [], bad
        assert events(app_client, "project_logs", project_id) == [], bad

    # Rows as the SDK sends them (no project_id), and rows naming their object's own
    # project (as fetch answers them), are written.
    rows = [
        {"dataset_id": dataset_id, "id": "sdk", "input": 1, "expected": None, "tags": None},
        {"dataset_id": dataset_id, "id": "own", "input": 2, "project_id": project_id},
        {"experiment_id": experiment_id, "id": "span", "input": 1, "_is_merge": False},
        {"experiment_id": experiment_id, "id": "own", "input": 2, "project_id": project_id},
    ]
    answer = app_client.post("/logs3", json={"rows": rows})
    assert answer.status_code == 200, answer.text
    fetched = events(app_client, "dataset", dataset_id)
    assert {e["id"] for e in fetched} == {"sdk", "own"}
    # A fetched row written back as it is.
    answer = app_client.post("/logs3", json={"rows": [fetched[0]]})
    assert answer.status_code == 200, answer.text
    fetched = events(app_client, "experiment", experiment_id)
    assert {e["id"] for e in fetched} == {"span", "own"}
    answer = app_client.post("/logs3", json={"rows": fetched})
    assert answer.status_code == 200, answer.text
