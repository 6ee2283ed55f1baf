"""Moving records: copying rows between datasets (filtered by BTQL) and turning an
experiment's rows into dataset records, each with an origin pointing back."""

from __future__ import annotations

import uuid


def _project(client) -> str:
    name = f"copy-{uuid.uuid4().hex[:8]}"
    return client.post("/v1/project", json={"name": name}).json()["id"]


def _dataset(client, project_id, name):
    return client.post("/v1/dataset", json={"project_id": project_id, "name": name}).json()["id"]


def _rows(client, dataset_id):
    return client.post(f"/v1/dataset/{dataset_id}/fetch", json={}).json()["events"]


def test_copy_between_datasets_with_a_filter(app_client):
    project = _project(app_client)
    source, target = _dataset(app_client, project, "a"), _dataset(app_client, project, "b")
    events = [
        {"id": f"s{i}", "input": {"q": i}, "expected": i * 2, "metadata": {"split": split}}
        for i, split in enumerate(["train", "test", "train"])
    ]
    app_client.post(f"/v1/dataset/{source}/insert", json={"events": events})
    response = app_client.post(
        f"/v1/dataset/{target}/copy_from",
        json={
            "source": {"object_type": "dataset", "id": source},
            "filter": "metadata.split = 'train'",
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["copied"] == 2
    rows = _rows(app_client, target)
    assert sorted(r["input"]["q"] for r in rows) == [0, 2]
    for row in rows:
        assert row["origin"]["object_type"] == "dataset"
        assert row["origin"]["object_id"] == source
        assert row["origin"]["id"] in {"s0", "s2"}
        assert row["id"] not in {"s0", "s2"}
    assert len(_rows(app_client, source)) == 3

    bad = app_client.post(
        f"/v1/dataset/{target}/copy_from",
        json={"source": {"object_type": "dataset", "id": source}, "filter": "metadata.split ="},
    )
    assert bad.status_code == 400
    assert len(_rows(app_client, target)) == 2
    missing = app_client.post(
        f"/v1/dataset/{target}/copy_from", json={"source": {"object_type": "dataset", "id": "x"}}
    )
    assert missing.status_code == 404


def test_experiment_rows_become_dataset_records(app_client):
    project = _project(app_client)
    experiment = app_client.post(
        "/v1/experiment", json={"project_id": project, "name": "run"}
    ).json()["id"]
    events = [
        {"id": "e1", "input": "q1", "output": "o1", "expected": "x1", "metadata": {"k": 1}},
        {"id": "e2", "input": "q2", "output": "o2", "tags": ["t"], "scores": {"acc": 0.5}},
        {"id": "child", "input": "inner", "span_parents": ["e2"], "root_span_id": "e2"},
    ]
    response = app_client.post(f"/v1/experiment/{experiment}/insert", json={"events": events})
    assert response.status_code == 200, response.text
    target = _dataset(app_client, project, "from-run")
    response = app_client.post(
        f"/v1/dataset/{target}/copy_from",
        json={"source": {"object_type": "experiment", "id": experiment}},
    )
    assert response.status_code == 200, response.text
    by_origin = {r["origin"]["id"]: r for r in _rows(app_client, target)}
    assert set(by_origin) == {"e1", "e2"}  # root rows only
    assert by_origin["e1"]["expected"] == "x1"  # expected wins over output
    assert by_origin["e2"]["expected"] == "o2"  # else output
    assert by_origin["e2"]["tags"] == ["t"]
    assert by_origin["e1"]["metadata"] == {"k": 1}
    assert by_origin["e1"]["origin"]["object_type"] == "experiment"
    assert by_origin["e1"]["origin"]["object_id"] == experiment


def test_a_copy_filter_is_one_expression(app_client):
    """The filter was pasted into the query's text: ``true) | sort: (id`` added a clause
    (and was accepted), and a filter ending in a ``--`` comment hid the closing parenthesis."""
    project = _project(app_client)
    source, target = _dataset(app_client, project, "a"), _dataset(app_client, project, "b")
    events = [{"id": f"s{i}", "input": i} for i in range(3)]
    app_client.post(f"/v1/dataset/{source}/insert", json={"events": events})

    def copy(filter_):
        return app_client.post(
            f"/v1/dataset/{target}/copy_from",
            json={"source": {"object_type": "dataset", "id": source}, "filter": filter_},
        )

    for bad in ("true) | sort: (id", "true)\nsort: (id", "true) | dimensions: (id"):
        answer = copy(bad)
        assert answer.status_code == 400, answer.text
        assert "after the expression" in answer.json()["error"]["message"]
    assert _rows(app_client, target) == []
    answer = copy("input > 0 -- the later ones")
    assert answer.status_code == 200, answer.text
    assert sorted(r["input"] for r in _rows(app_client, target)) == [1, 2]


def test_a_copy_filter_error_points_into_the_filter(app_client):
    """A bad filter is a QueryError with ``line`` and ``col`` in the filter, as the export
    route's: the copy answered InvalidRequest without them, its message at a position in the
    copy's own query (``unknown field 'nosuch' at 2:1`` of a one-line filter)."""
    project = _project(app_client)
    source, target = _dataset(app_client, project, "a"), _dataset(app_client, project, "b")
    app_client.post(f"/v1/dataset/{source}/insert", json={"events": [{"id": "s", "input": 1}]})
    cases = [
        ("input = 1 and nosuch = 1", "unknown field 'nosuch' in the filter", 1, 15),
        ("input = 1 and\n  nosuch(1)", "unknown function 'nosuch' in the filter", 2, 3),
        ("count(1) > 1", "aggregate count() is not allowed in the filter", 1, 1),
        ("input =", "expected an expression after '=', found end of input in the filter", 1, 8),
        ("created > 'bad'", "invalid timestamp 'bad' in the filter", 1, 11),
    ]
    for filter_, message, line, col in cases:
        answer = app_client.post(
            f"/v1/dataset/{target}/copy_from",
            json={"source": {"object_type": "dataset", "id": source}, "filter": filter_},
        )
        assert answer.status_code == 400, answer.text
        error = answer.json()["error"]
        assert error["type"] == "QueryError", error
        assert error["message"] == f"{message} at {line}:{col}", error
        assert (error["line"], error["col"]) == (line, col), error
    assert _rows(app_client, target) == []
