"""Custom columns: named BTQL expressions saved on a dataset, usable in its queries (select,
filter, sort) and present in `select: *` and in exports."""

from __future__ import annotations

import csv
import io
import json
import uuid


def _dataset(client) -> str:
    project = client.post("/v1/project", json={"name": f"cols-{uuid.uuid4().hex[:8]}"}).json()
    return client.post("/v1/dataset", json={"project_id": project["id"], "name": "d"}).json()["id"]


def test_custom_columns_in_queries_and_exports(app_client):
    ds = _dataset(app_client)
    events = [
        {"id": "a", "input": {"q": "2+2"}, "metadata": {"topic": "math", "level": 1}},
        {"id": "b", "input": {"q": "capital"}, "metadata": {"topic": "geo", "level": 3}},
    ]
    app_client.post(f"/v1/dataset/{ds}/insert", json={"events": events})
    put = app_client.put(f"/v1/dataset/{ds}/columns/topic", json={"expr": "metadata.topic"})
    assert put.status_code == 200, put.text
    put = app_client.put(f"/v1/dataset/{ds}/columns/hard", json={"expr": "metadata.level > 2"})
    assert put.status_code == 200, put.text
    listed = app_client.get(f"/v1/dataset/{ds}/columns").json()["objects"]
    assert [c["name"] for c in listed] == ["topic", "hard"]

    query = f"select: id, topic, hard | from: dataset('{ds}') | filter: topic = 'math'"
    response = app_client.post("/btql", json={"query": query})
    assert response.status_code == 200, response.text
    assert response.json()["data"] == [{"id": "a", "topic": "math", "hard": False}]

    response = app_client.post(
        "/btql", json={"query": f"select: * | from: dataset('{ds}') | sort: topic asc"}
    )
    rows = response.json()["data"]
    assert [(r["id"], r["topic"], r["hard"]) for r in rows] == [
        ("b", "geo", True),
        ("a", "math", False),
    ]

    exported = app_client.get(f"/v1/dataset/{ds}/export", params={"format": "csv"})
    assert exported.status_code == 200, exported.text
    table = list(csv.DictReader(io.StringIO(exported.text)))
    # JSON values are JSON text in CSV exports, custom columns included.
    assert {r["id"]: json.loads(r["topic"]) for r in table} == {"a": "math", "b": "geo"}

    # Other objects are unaffected; a deleted column is gone.
    assert app_client.delete(f"/v1/dataset/{ds}/columns/topic").status_code == 200
    response = app_client.post("/btql", json={"query": f"select: topic | from: dataset('{ds}')"})
    assert response.status_code == 400


def test_a_custom_column_as_a_dimension_is_named_after_the_column(app_client):
    """``dimensions: topic`` answered its groups under ``topic``'s expression's last key
    (``metadata.topic`` → ``topic`` by luck; ``metadata.k`` → ``k``), unlike ``select``."""
    ds = _dataset(app_client)
    events = [{"id": "a", "metadata": {"k": "x"}}, {"id": "b", "metadata": {"k": "x"}}]
    app_client.post(f"/v1/dataset/{ds}/insert", json={"events": events})
    put = app_client.put(f"/v1/dataset/{ds}/columns/kind", json={"expr": "metadata.k"})
    assert put.status_code == 200, put.text
    for dims, name in (("kind", "kind"), ("kind as k2", "k2")):
        query = f"from: dataset('{ds}') | dimensions: {dims} | measures: count(1) as n"
        response = app_client.post("/btql", json={"query": query})
        assert response.status_code == 200, response.text
        assert response.json()["data"] == [{name: "x", "n": 2}]


def test_bad_custom_columns_are_refused(app_client):
    ds = _dataset(app_client)
    for name, body in [
        ("input", {"expr": "metadata.x"}),
        ("bad-name", {"expr": "metadata.x"}),
        ("ok", {"expr": "metadata.x +"}),
        ("ok", {}),
    ]:
        response = app_client.put(f"/v1/dataset/{ds}/columns/{name}", json=body)
        assert response.status_code == 400, (name, response.text)
    assert app_client.delete(f"/v1/dataset/{ds}/columns/nope").status_code == 404


def test_the_custom_column_name_error_says_what_a_name_may_be(app_client):
    """The message said '_' could not come first, but the pattern takes it (only a leading
    ``__`` is refused, with its own message): it now says what a name is."""
    ds = _dataset(app_client)
    expected = "a custom column name is 1 to 64 letters, digits and '_', not starting with a digit"
    for name in ("1st", "bad-name", "a" * 65, "caf\u00e9"):
        response = app_client.put(f"/v1/dataset/{ds}/columns/{name}", json={"expr": "input"})
        assert response.status_code == 400, (name, response.text)
        assert response.json()["error"]["message"] == expected, name
    for name in ("_draft", "a" * 64, "x1"):
        response = app_client.put(f"/v1/dataset/{ds}/columns/{name}", json={"expr": "input"})
        assert response.status_code == 200, (name, response.text)
    reserved = app_client.put(f"/v1/dataset/{ds}/columns/__x", json={"expr": "input"})
    assert reserved.status_code == 400 and "'__'" in reserved.json()["error"]["message"]


def test_a_bad_custom_column_expression_is_a_query_error_at_its_position(app_client):
    """An expression that does not parse or plan is a 400 ``QueryError`` with ``line`` and
    ``col`` in the expression, as every query error has: it was an ``InvalidRequest`` whose
    position was only in its message."""
    ds = _dataset(app_client)
    cases = [
        ("metadata.x +", "expr: expected an expression after '+', found end of input", 1, 13),
        ("lower(input) = 'a' or\n  nosuch", "expr: unknown field 'nosuch'", 2, 3),
        ("created > 'bad'", "expr: invalid timestamp 'bad'", 1, 11),
    ]
    for expr, message, line, col in cases:
        response = app_client.put(f"/v1/dataset/{ds}/columns/c", json={"expr": expr})
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["type"] == "QueryError", error
        assert error["message"] == f"{message} at {line}:{col}", error
        assert (error["line"], error["col"]) == (line, col), error
    aggregate = app_client.put(f"/v1/dataset/{ds}/columns/c", json={"expr": "count(1)"})
    assert aggregate.status_code == 400, aggregate.text
    assert "cannot be an aggregate" in aggregate.json()["error"]["message"]
    assert app_client.get(f"/v1/dataset/{ds}/columns").json()["objects"] == []
