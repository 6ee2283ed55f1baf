"""POST /btql: the names an answer gives its columns work in sort, and every JSON answer is
strict JSON. Expected answers are worked out by hand from the spans the fixture writes."""

from __future__ import annotations

import uuid

import pytest

from tests.integration.btql_pages import btql


@pytest.fixture
def project(app_client) -> str:
    """Three spans with 2, 0 and 1 tags."""
    name = f"answers-{uuid.uuid4().hex[:8]}"
    project_id = app_client.post("/v1/project", json={"name": name}).json()["id"]
    rows = [
        {"project_id": project_id, "log_id": "g", "id": span, "tags": tags}
        for span, tags in (("s1", ["a", "b"]), ("s2", []), ("s3", ["c"]))
    ]
    assert app_client.post("/logs3", json={"rows": rows}).status_code == 200
    return project_id


# An unaliased expression's column is expr_<n>; sort by that name was "unknown field".
@pytest.mark.parametrize(
    "query",
    [
        "select: id, len(tags) | from: project_logs('PID') | sort: expr_2 desc",
        "SELECT id, len(tags) FROM project_logs('PID') ORDER BY expr_2 DESC",
        "dimensions: id | measures: max(len(tags)) | from: project_logs('PID') | sort: expr_2 desc",
    ],
)
def test_sort_by_the_implicit_name_of_an_expression(app_client, project, query):
    data = btql(app_client, query.replace("PID", project))["data"]
    assert data == [
        {"id": "s1", "expr_2": 2},
        {"id": "s3", "expr_2": 1},
        {"id": "s2", "expr_2": 0},
    ]
