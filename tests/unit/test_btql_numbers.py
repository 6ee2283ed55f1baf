"""Numbers and positions in BTQL answers, through the app on a real DuckDB file: a year
before 1000 written back with four digits."""

from __future__ import annotations

import uuid

import pytest


@pytest.fixture
def project(app_client):
    name = f"nums-{uuid.uuid4().hex[:8]}"
    return app_client.post("/v1/project", json={"name": name}).json()["id"]


def write(app_client, project: str, rows: list[dict]) -> None:
    rows = [{"project_id": project, "log_id": "g", **row} for row in rows]
    response = app_client.post("/logs3", json={"rows": rows})
    assert response.status_code == 200, response.text


def btql(app_client, query: str) -> list[dict]:
    response = app_client.post("/btql", json={"query": query})
    assert response.status_code == 200, response.text
    return response.json()["data"]


def test_created_before_year_1000_reads_back_with_four_digits(app_client, project):
    """strftime's ``%Y`` wrote year 1 as ``1`` (``1-01-01T…``), not ISO 8601's ``0001``."""
    from tracelake.model.rows import normalize_timestamp

    assert normalize_timestamp("0001-01-01T00:00:00Z", "created") == ("0001-01-01T00:00:00.000000Z")
    assert normalize_timestamp(-62135596800, "created") == "0001-01-01T00:00:00.000000Z"
    # the general path (an id the plain path does not take) and the plain path
    write(app_client, project, [{"id": "a b", "created": "0001-01-01T00:00:00Z"}])
    write(app_client, project, [{"id": "b", "created": "0999-12-31T23:00:00-02:00"}])
    fetched = app_client.post(f"/v1/project_logs/{project}/fetch", json={}).json()["events"]
    assert {e["id"]: e["created"] for e in fetched} == {
        "a b": "0001-01-01T00:00:00.000000Z",
        "b": "1000-01-01T01:00:00.000000Z",
    }
    rows = btql(app_client, f"select: id, created | from: project_logs('{project}') | sort: id")
    assert rows == [
        {"id": "a b", "created": "0001-01-01T00:00:00.000000Z"},
        {"id": "b", "created": "1000-01-01T01:00:00.000000Z"},
    ]
