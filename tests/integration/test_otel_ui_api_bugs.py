"""Bugs found by a black-box hunt in OTel ingest and the APIs behind the web UI: custom columns
that cannot run, URLs behind a path prefix, half-applied OTel requests, crafted parents,
multi-member gzip, deeply nested saved views, attachment headers and read-only keys."""

from __future__ import annotations

import uuid

import pytest


def _project(client, prefix: str = "p") -> str:
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    return client.post("/v1/project", json={"name": name}).json()["id"]


def _dataset(client) -> str:
    project = _project(client, "cols")
    return client.post("/v1/dataset", json={"project_id": project, "name": "d"}).json()["id"]


# -- custom columns that cannot run ------------------------------------------------------------


@pytest.mark.parametrize(
    "expr, message",
    [
        ("nosuchfn(input)", "nosuchfn"),
        ("nosuchfield", "nosuchfield"),
        ("count(1)", "aggregate"),
        ("oops + 1", "oops"),  # refers to itself
    ],
)
def test_a_custom_column_that_cannot_run_is_refused_when_saved(app_client, expr, message):
    ds = _dataset(app_client)
    app_client.post(f"/v1/dataset/{ds}/insert", json={"events": [{"id": "a", "input": 1}]})
    response = app_client.put(f"/v1/dataset/{ds}/columns/oops", json={"expr": expr})
    assert response.status_code == 400, response.text
    assert message in response.json()["error"]["message"]
    assert app_client.get(f"/v1/dataset/{ds}/columns").json()["objects"] == []
    rows = app_client.post("/btql", json={"query": f"select: * | from: dataset('{ds}')"})
    assert rows.status_code == 200, rows.text
    exported = app_client.get(f"/v1/dataset/{ds}/export", params={"format": "json"})
    assert exported.status_code == 200, exported.text


def test_a_stored_column_that_cannot_run_does_not_break_select_star(app_client):
    # Saved by an older version, which only parsed the expression.
    from tracelake.store import dataset_meta

    ds = _dataset(app_client)
    app_client.post(f"/v1/dataset/{ds}/insert", json={"events": [{"id": "a", "input": 1}]})
    assert app_client.put(f"/v1/dataset/{ds}/columns/good", json={"expr": "input"}).is_success
    dataset_meta.set_column(app_client.app.state.store, ds, "oops", "nosuchfn(input)")

    rows = app_client.post("/btql", json={"query": f"select: * | from: dataset('{ds}')"})
    assert rows.status_code == 200, rows.text
    assert [(r["id"], r["good"], "oops" in r) for r in rows.json()["data"]] == [("a", 1, False)]
    exported = app_client.get(f"/v1/dataset/{ds}/export", params={"format": "json"})
    assert exported.status_code == 200, exported.text
    named = app_client.post("/btql", json={"query": f"select: oops | from: dataset('{ds}')"})
    assert named.status_code == 400
    assert "nosuchfn" in named.json()["error"]["message"]
