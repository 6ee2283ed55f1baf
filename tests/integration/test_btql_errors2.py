"""POST /btql: error messages that named the wrong place or the wrong problem (a hunt for
error reporting). Positions are computed from the query text itself: the 1-based line and
column of the offending token."""

from __future__ import annotations

import uuid

import pytest


@pytest.fixture
def project(app_client):
    name = f"errors2-{uuid.uuid4().hex[:8]}"
    project_id = app_client.post("/v1/project", json={"name": name}).json()["id"]
    rows = [
        {"project_id": project_id, "log_id": "g", "id": f"s{n}", "metadata": {"n": n}}
        for n in range(3)
    ]
    assert app_client.post("/logs3", json={"rows": rows}).status_code == 200
    return project_id


def error_of(client, query, **extra) -> dict:
    response = client.post("/btql", json={"query": query, **extra})
    assert response.status_code == 400, response.text
    return response.json()["error"]


def position_of(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of ``text[index]``."""
    assert index >= 0
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def at(error: dict) -> tuple[int, int]:
    return error["line"], error["col"]


# --- IN-list items keep their positions ---------------------------------------------------------
# The list became one literal in the parser, so an item that did not convert was reported at
# the list's '(' (or '[').

IN_ITEMS = [
    ("created IN ('2026-01-01', 'nope')", "'nope'", "invalid timestamp 'nope'"),
    ("created NOT IN ['2026-01-01',\n\t'2026-01-02', \"nope\"]", '"nope"', "invalid timestamp"),
    ("is_root IN (true, 'maybe')", "'maybe'", "invalid boolean 'maybe'"),
    ("_xact_id IN (1, 2, 'abc')", "'abc'", "invalid number 'abc'"),
    ("created IN ('2026-01-01', true)", "true", "cannot compare timestamp with boolean"),
    ("metadata.n = 1 and\n  created IN ('é', 'x')", "'é'", "invalid timestamp 'é'"),
]


@pytest.mark.parametrize(("condition", "item", "message"), IN_ITEMS)
@pytest.mark.parametrize("syntax", ["btql", "sql"])
def test_an_in_list_item_that_does_not_convert_is_an_error_at_the_item(
    app_client, project, condition, item, message, syntax
):
    if syntax == "btql":
        text = f"select: id | from: project_logs('{project}')\nfilter: {condition}"
    else:
        text = f"SELECT id FROM project_logs('{project}')\nWHERE {condition}"
    error = error_of(app_client, text)
    assert error["message"].startswith(message), error["message"]
    assert at(error) == position_of(text, text.index(condition) + condition.index(item))


def test_an_in_list_item_of_a_json_snippet_is_an_error_at_the_item(app_client, project):
    snippet = "created IN ('2026-01-01', 'nope')"
    query = {
        "select": [{"expr": {"btql": "id"}, "alias": "id"}],
        "from": {"op": "function", "name": {"op": "ident", "name": ["project_logs"]},
                 "args": [{"op": "literal", "value": project}]},
        "filter": {"btql": snippet},
    }  # fmt: skip
    error = error_of(app_client, query)
    assert "invalid timestamp 'nope'" in error["message"]
    assert at(error) == position_of(snippet, snippet.index("'nope'"))


def test_valid_in_lists_still_answer(app_client, project):
    text = f"select: id | from: project_logs('{project}') | filter: metadata.n IN (0, 2, 'x')"
    response = app_client.post("/btql", json={"query": text})
    assert response.status_code == 200, response.text
    assert sorted(r["id"] for r in response.json()["data"]) == ["s0", "s2"]
