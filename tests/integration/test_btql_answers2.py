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


# With a pivot, sort by an unaliased dimension's expr_<n> name was refused ("a pivot is
# sorted by its dimensions"), though its position and an alias worked. The pivot column is
# not a column of the answer, so the answer numbers the dimensions without it.
@pytest.mark.parametrize(
    "query",
    [
        "dimensions: upper(id), is_root | measures: count(1) as n | from: project_logs('PID')"
        " | pivot: is_root | sort: expr_1 desc",
        "dimensions: is_root, upper(id) | measures: count(1) as n | from: project_logs('PID')"
        " | pivot: is_root | sort: expr_1 desc",
        "SELECT upper(id), is_root, count(1) AS n FROM project_logs('PID') GROUP BY 1, 2"
        " PIVOT (count(1) AS n FOR is_root IN (ANY)) ORDER BY expr_1 DESC",
        "SELECT is_root, upper(id), count(1) AS n FROM project_logs('PID') GROUP BY 1, 2"
        " PIVOT (count(1) AS n FOR is_root IN (ANY)) ORDER BY expr_1 DESC",
        # the position and an alias, as before
        "dimensions: upper(id), is_root | measures: count(1) as n | from: project_logs('PID')"
        " | pivot: is_root | sort: 1 desc",
        "dimensions: upper(id) as expr_1, is_root | measures: count(1) as n"
        " | from: project_logs('PID') | pivot: is_root | sort: expr_1 desc",
    ],
)
def test_a_pivot_sorts_by_the_implicit_name_of_a_dimension(app_client, project, query):
    data = btql(app_client, query.replace("PID", project))["data"]
    assert data == [
        {"expr_1": "S3", "true_n": 1},
        {"expr_1": "S2", "true_n": 1},
        {"expr_1": "S1", "true_n": 1},
    ]


# Without the pivot, upper(id) would be expr_2 here; in the pivot's answer it is expr_1,
# and expr_2 names no column: a 400 saying what to write, not "unknown field".
@pytest.mark.parametrize(
    ("query", "at"),
    [
        (
            "dimensions: is_root, upper(id) | measures: count(1) as n"
            " | from: project_logs('PID') | pivot: is_root | sort: expr_2 desc",
            "sort: expr_2",
        ),
        (
            "SELECT is_root, upper(id), count(1) AS n FROM project_logs('PID') GROUP BY 1, 2"
            " PIVOT (count(1) AS n FOR is_root IN (ANY)) ORDER BY expr_2 DESC",
            "ORDER BY expr_2",
        ),
    ],
)
def test_a_pivot_sort_by_an_expr_name_its_answer_lacks_is_a_400(app_client, project, query, at):
    query = query.replace("PID", project)
    response = app_client.post("/btql", json={"query": query})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["message"].startswith("'expr_2' names no column of this pivot's answer")
    assert "position" in error["message"] and "alias" in error["message"]
    assert error["col"] == query.index(at) + len(at) - len("expr_2") + 1


def test_a_pivot_sort_by_an_unaliased_measure_is_still_refused(app_client, project):
    query = (
        f"dimensions: upper(id) | measures: count(1) | from: project_logs('{project}')"
        " | pivot: is_root | sort: expr_2 desc"
    )
    response = app_client.post("/btql", json={"query": query})
    assert response.status_code == 400, response.text
    message = response.json()["error"]["message"]
    assert message.startswith("a pivot is sorted by its dimensions")
    assert response.json()["error"]["col"] == query.index("expr_2") + 1


# With a pivot, BTQL's `sort: 1` counted the columns of the pivot's answer (which has no
# column for the pivot column), SQL's `ORDER BY 1` the select list: the same query sorted
# by another column, or was refused in one syntax only. Both count the answer, as expr_<n>
# names its columns (docs/btql.md).
PIVOT_BY_POSITION = [
    "dimensions: is_root, upper(id) | measures: count(1) as n | from: project_logs('PID')"
    " | pivot: is_root | sort: {k} desc",
    "SELECT is_root, upper(id), count(1) AS n FROM project_logs('PID') GROUP BY 1, 2"
    " PIVOT (count(1) AS n FOR is_root IN (ANY)) ORDER BY {k} DESC",
    "SELECT is_root, upper(id), count(1) AS n FROM project_logs('PID') GROUP BY 2"
    " PIVOT (count(1) AS n FOR is_root IN (ANY)) ORDER BY {k} DESC",
    "select: is_root, upper(id), count(1) as n | dimensions: 1, 2 | from: project_logs('PID')"
    " | pivot: is_root | sort: {k} desc",
]


@pytest.mark.parametrize("query", PIVOT_BY_POSITION)
def test_a_pivot_sort_position_counts_the_answers_columns_in_both_syntaxes(
    app_client, project, query
):
    data = btql(app_client, query.format(k=1).replace("PID", project))["data"]
    assert data == [
        {"expr_1": "S3", "true_n": 1},
        {"expr_1": "S2", "true_n": 1},
        {"expr_1": "S1", "true_n": 1},
    ]
    # with two dimensions, position 2 is the second (not the pivot column's neighbour)
    two = query.replace("upper(id)", "upper(id), lower(id)").replace("1, 2", "1, 2, 3")
    two = two.replace("GROUP BY 2 ", "GROUP BY 2, 3 ")
    data = btql(app_client, two.format(k=2).replace("PID", project))["data"]
    assert data == [
        {"expr_1": "S3", "expr_2": "s3", "true_n": 1},
        {"expr_1": "S2", "expr_2": "s2", "true_n": 1},
        {"expr_1": "S1", "expr_2": "s1", "true_n": 1},
    ]


@pytest.mark.parametrize("query", PIVOT_BY_POSITION)
def test_a_pivot_sort_position_past_its_dimensions_is_a_400_in_both_syntaxes(
    app_client, project, query
):
    query = query.format(k=2).replace("PID", project)
    response = app_client.post("/btql", json={"query": query})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["message"].startswith("a pivot is sorted by its dimensions, position 1 of its")
    assert "no column for the pivot column" in error["message"], error
    assert "2 is not one" in error["message"], error
    assert error["col"] == query.index("2 desc" if "sort:" in query else "2 DESC") + 1
