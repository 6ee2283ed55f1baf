"""POST /btql: what a user's hunt found wrong (a fourth hunt). Error positions are computed
from the query text."""

from __future__ import annotations

import uuid

import pytest

from tests.integration.btql_pages import all_pages, btql


@pytest.fixture
def project(app_client):
    name = f"hunt2-{uuid.uuid4().hex[:8]}"
    project_id = app_client.post("/v1/project", json={"name": name}).json()["id"]
    rows = [
        {"project_id": project_id, "log_id": "g", "id": f"s{n}", "tags": ["a", "b"][: n % 3]}
        for n in range(7)
    ]
    assert app_client.post("/logs3", json={"rows": rows}).status_code == 200
    return project_id


RESERVED = [
    ("select: id as __key | from: project_logs('{p}')", "id"),
    ("SELECT id AS __key FROM project_logs('{p}') LIMIT 2", "id"),
    ("select: id as __rank | from: project_logs('{p}') traces | sort: id", "id"),
    ("dimensions: id as __key | measures: count(1) as n | from: project_logs('{p}')", "id"),
    ("select: id, __key | from: project_logs('{p}') | unpivot: tags as __key", "tags"),
    ("select: * | from: project_logs('{p}') | unpivot: tags as __unpivot_1", "tags"),
]


@pytest.mark.parametrize(("query", "at"), RESERVED)
def test_a_column_may_not_take_a_name_of_the_engines_own(app_client, project, query, at):
    """``select: id as __key`` named a column as the engine names each row's cursor key:
    the id became the cursor, and the next page was a 400 (``invalid cursor``) of a query
    that had just answered."""
    text = query.format(p=project) + ("" if "LIMIT" in query else " | limit: 2")
    response = app_client.post("/btql", json={"query": text})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "QueryError"
    assert "is reserved: names starting with '__'" in error["message"], error
    index = text.index(at, text.index("unpivot") if "unpivot" in text else 0)
    assert (error["line"], error["col"]) == (1, index + 1), error


def test_a_path_whose_last_segment_starts_with_two_underscores_is_named_by_its_path(
    app_client, project
):
    """``metadata.__key`` was named ``__key``, the engine's cursor key: each row's key was
    the (null) value, and the first page came with ``cursor: null`` though rows followed."""
    query = f"select: id, metadata.__key | from: project_logs('{project}') | limit: 2"
    pages = all_pages(app_client, query)
    rows = [row for page in pages for row in page]
    assert len(pages) == 4 and len(rows) == 7
    assert {tuple(row) for row in rows} == {("id", "metadata.__key")}
    assert sorted(row["id"] for row in rows) == [f"s{n}" for n in range(7)]
    sql = f"SELECT id, metadata.__key FROM project_logs('{project}') LIMIT 2"
    assert list(btql(app_client, sql)["data"][0]) == ["id", "metadata.__key"]


def test_a_custom_column_may_not_take_a_name_of_the_engines_own(app_client, project):
    """A custom column is a column of ``select: *``: one named ``__key`` was the cursor key of
    every row of the dataset's exports and queries."""
    dataset = app_client.post("/v1/dataset", json={"project_id": project, "name": "d"}).json()
    response = app_client.put(f"/v1/dataset/{dataset['id']}/columns/__key", json={"expr": "id"})
    assert response.status_code == 400, response.text
    assert "'__key' is reserved" in response.json()["error"]["message"]
    assert app_client.get(f"/v1/dataset/{dataset['id']}/columns").json()["objects"] == []


def test_a_comparison_key_matches_experiments_of_more_traces_than_a_page(app_client, project):
    """The comparison keys were read with ``… AS __key``, the engine's name for each row's
    cursor key: past the first page (5,000 traces) the summary was a 400 (``invalid
    cursor``) for any experiment compared on ``comparison_key``."""
    count = 5_002  # (the keys were read 5,000 roots a page)
    ids = {}
    for name, score in (("base", 0.25), ("new", 0.75)):
        body = {"project_id": project, "name": name}
        ids[name] = app_client.post("/v1/experiment", json=body).json()["id"]
        events = [
            {"id": f"{name}{n}", "input": {"case": n, "at": name}, "scores": {"s": score}}
            for n in range(count)
        ]
        response = app_client.post(f"/v1/experiment/{ids[name]}/insert", json={"events": events})
        assert response.status_code == 200, response.text
    response = app_client.get(
        f"/v1/experiment/{ids['new']}/summarize",
        params={"comparison_experiment_id": ids["base"], "comparison_key": "input.case"},
    )
    assert response.status_code == 200, response.text
    score = response.json()["scores"]["s"]
    assert (score["improvements"], score["regressions"]) == (count, 0), score


def test_a_comparison_key_error_points_into_the_key(app_client, project):
    """A comparison key that does not plan was a 400 at a position in the summary's own
    query (``unknown field 'nosuch' at 2:1`` of a one-line key), without ``line`` and
    ``col``; an aggregate was "'root_span_id' in select must be in an aggregate"."""
    body = {"project_id": project, "name": "e"}
    experiment = app_client.post("/v1/experiment", json=body).json()["id"]
    event = {"id": "a", "input": {"q": 1}, "scores": {"s": 1}}
    app_client.post(f"/v1/experiment/{experiment}/insert", json={"events": [event]})
    cases = [
        ("nosuch", "unknown field 'nosuch'", 1, 1),
        ("input.q = 1 and\n  nosuch(1)", "unknown function 'nosuch'", 2, 3),
        ("created > 'bad'", "invalid timestamp 'bad'", 1, 11),
        ("input +", "expected an expression after '+', found end of input", 1, 8),
    ]
    for key, message, line, col in cases:
        response = app_client.get(
            f"/v1/experiment/{experiment}/summarize", params={"comparison_key": key}
        )
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["type"] == "QueryError", error
        assert error["message"] == f"comparison_key {key!r}: {message} at {line}:{col}", error
        assert (error["line"], error["col"]) == (line, col), error
    response = app_client.get(
        f"/v1/experiment/{experiment}/summarize", params={"comparison_key": "count(1)"}
    )
    assert response.status_code == 400, response.text
    assert "not an aggregate" in response.json()["error"]["message"]


def test_a_project_comparison_key_is_checked_as_a_query_error_and_not_an_aggregate(
    app_client, project
):
    """``settings.comparison_key`` that does not parse was an ``InvalidRequest`` with its
    position in the message only; an aggregate (``count(1)``) was saved, and every summary
    of the project's experiments was a 400 from then on."""
    url = f"/v1/project/{project}"
    bad = app_client.patch(url, json={"settings": {"comparison_key": "input.q and\n  +"}})
    assert bad.status_code == 400, bad.text
    error = bad.json()["error"]
    assert error["type"] == "QueryError", error
    assert (error["line"], error["col"]) == (2, 4), error
    assert error["message"].startswith("settings.comparison_key: expected an expression"), error
    aggregate = app_client.patch(url, json={"settings": {"comparison_key": "max(input.q)"}})
    assert aggregate.status_code == 400, aggregate.text
    assert "not an aggregate" in aggregate.json()["error"]["message"]
    assert app_client.get(url).json()["settings"] in (None, {})
