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


SPANS = [
    {"id": "r0", "input": "q0", "metadata": {"k": 2}},
    {"id": "r1", "input": "q1", "metadata": {"k": 1}},
    {"id": "r2", "input": "q0", "metadata": {"k": 1}},
]


@pytest.mark.parametrize("group_by", ["2, 1", "input, id", "2, id"])
def test_sql_group_by_answers_the_select_lists_columns_in_its_order(app_client, project, group_by):
    """The answer's columns followed the GROUP BY (``input, id``), not the select list."""
    write(app_client, project, SPANS)
    query = (
        f"SELECT id, input, count(1) AS n FROM project_logs('{project}')"
        f" GROUP BY {group_by} ORDER BY 1 DESC"
    )
    rows = btql(app_client, query)
    assert [list(row) for row in rows] == [["id", "input", "n"]] * 3
    assert [row["id"] for row in rows] == ["r2", "r1", "r0"]  # ORDER BY 1 is id
    response = app_client.post("/btql", json={"query": query, "fmt": "csv"})
    assert response.text.splitlines()[0] == '"id","input","n"'
    # ORDER BY 2 is input, the select list's second item, and expr_<n> counts it too
    query = (
        f"SELECT id, lower(input), count(1) AS n FROM project_logs('{project}')"
        f" GROUP BY 2, 1 ORDER BY 2 DESC, expr_2, 1"
    )
    assert [list(row.values()) for row in btql(app_client, query)] == [
        ["r1", "q1", 1],
        ["r0", "q0", 1],
        ["r2", "q0", 1],
    ]


def test_btql_dimension_positions_follow_the_select_list(app_client, project):
    write(app_client, project, SPANS)
    query = (
        f"select: id, input, count(1) as n | dimensions: 2, 1"
        f" | from: project_logs('{project}') | sort: 1 desc"
    )
    rows = btql(app_client, query)
    assert [list(row) for row in rows] == [["id", "input", "n"]] * 3
    assert [row["id"] for row in rows] == ["r2", "r1", "r0"]
