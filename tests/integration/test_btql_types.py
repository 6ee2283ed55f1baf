"""POST /btql on a real server: type mismatches are a 400 naming the problem and its
line:col (never a 500, an engine error or a silently wrong answer), and the fixed meanings of
least()/greatest() with a time literal and of INCLUDES with a list (docs/btql.md "Types")."""

from __future__ import annotations

import uuid

import httpx
import pytest

ROWS = [
    # id, created, tags
    ("s1", "2023-06-01T00:00:00Z", ["triage", "feedback"]),
    ("s2", "2024-06-01T00:00:00Z", ["triage"]),
    ("s3", "2025-06-01T00:00:00Z", ["feedback", "resolved", "triage"]),
    ("s4", "2025-07-01T00:00:00Z", None),
]


@pytest.fixture(scope="module")
def typed_project(server) -> tuple[httpx.Client, str]:
    """A project on the session server with ROWS (spans with a time, tags, JSON fields)."""
    with server.client() as client:
        name = f"types-{uuid.uuid4().hex[:8]}"
        project_id = client.post("/v1/project", json={"name": name}).json()["id"]
        rows = [
            {
                "project_id": project_id,
                "log_id": "g",
                "id": rid,
                "created": created,
                "input": f"question {rid}",
                "metrics": {"tokens": 10 * n},
                "metadata": {"flag": n % 2 == 0},
                **({"tags": tags} if tags is not None else {}),
            }
            for n, (rid, created, tags) in enumerate(ROWS, 1)
        ]
        response = client.post("/logs3", json={"rows": rows})
        assert response.status_code == 200, response.text
        yield client, project_id


def post(typed_project, text: str) -> httpx.Response:
    client, project_id = typed_project
    return client.post("/btql", json={"query": text.replace("{p}", project_id)})


def data(typed_project, text: str) -> list[dict]:
    response = post(typed_project, text)
    assert response.status_code == 200, response.text
    return response.json()["data"]


# (query, message, line, col). Line 1 is "select: …", line 2 "from: …", line 3 the clause
# under test (its first character at col 1), so a position names the offending value.
FROM = "from: project_logs('{p}')"
TYPE_ERRORS = [
    # 1. non-boolean filters
    (f"select: id\n{FROM}\nfilter: id", "a condition must be a boolean, not a string", 3, 9),
    (
        f"select: id\n{FROM}\nfilter: metrics.tokens + 1",
        "a condition must be a boolean, not a number",
        3,
        9,
    ),
    (f"select: id\n{FROM}\nfilter: 'abc'", "a condition must be a boolean, not a string", 3, 9),
    (
        f"select: id\n{FROM}\nfilter: is_root and tags",
        "a condition must be a boolean, not an array",
        3,
        21,
    ),
    # 2. LIKE / ILIKE with a pattern that is not a string
    (
        f"select: id\n{FROM}\nfilter: tags LIKE 1",
        "LIKE needs a string pattern, not a number",
        3,
        19,
    ),
    (
        f"select: id\n{FROM}\nfilter: input ILIKE 5",
        "ILIKE needs a string pattern, not a number",
        3,
        21,
    ),
    # 3. time functions on values that are not times
    (
        f"select: day(1)\n{FROM}",
        "day() needs a timestamp, not a number (to_datetime() reads a number as Unix seconds)",
        1,
        13,
    ),
    (f"select: hour('abc')\n{FROM}", "invalid timestamp 'abc'", 1, 14),
    (
        f"select: date_trunc('day', 5)\n{FROM}",
        "date_trunc() needs a timestamp, not a number (to_datetime() reads a number as Unix "
        "seconds)",
        1,
        27,
    ),
    # 4. least / greatest mixing types
    (f"select: least(tags, created)\n{FROM}", "least() cannot mix an array and a timestamp", 1, 21),
    # 5. a ternary whose condition is a string
    (f"select: 'a' ? 1 : 2\n{FROM}", "a condition must be a boolean, not a string", 1, 9),
    # 6. literals that do not convert to the type they are compared with
    (f"select: id\n{FROM}\nfilter: _xact_id = 'abc'", "invalid number 'abc'", 3, 20),
    (
        f"select: id\n{FROM}\nfilter: created > 'not a date'",
        "invalid timestamp 'not a date'",
        3,
        19,
    ),
    (f"select: id\n{FROM}\nfilter: is_root = 'maybe'", "invalid boolean 'maybe'", 3, 19),
    # arithmetic, negation and aggregates
    (f"select: tags + 1\n{FROM}", "'+' needs a number, not an array", 1, 9),
    (f"select: -tags\n{FROM}", "'-' needs a number or an interval, not an array", 1, 10),
    (f"select: NOT created\n{FROM}", "a condition must be a boolean, not a timestamp", 1, 13),
    (
        f"select: created + 1\n{FROM}",
        "'+' does not apply to a timestamp and a number (add or subtract an interval, e.g. "
        "interval 1 day)",
        1,
        9,
    ),
    (f"measures: sum(tags)\n{FROM}", "sum() needs a number, not an array", 1, 15),
    (
        f"measures: avg(id)\n{FROM}",
        "avg() needs a number, not a string (to_number() converts a string)",
        1,
        15,
    ),
    # the same checks in SQL
    (
        "SELECT id FROM project_logs('{p}')\nWHERE is_root AND id",
        "a condition must be a boolean, not a string",
        2,
        19,
    ),
    (
        "SELECT CASE WHEN id THEN 1 ELSE 2 END AS x\nFROM project_logs('{p}')",
        "a condition must be a boolean, not a string",
        1,
        18,
    ),
]


@pytest.mark.parametrize(
    ("query", "message", "line", "col"), TYPE_ERRORS, ids=lambda x: str(x)[:60]
)
def test_type_errors_are_400_with_their_position(typed_project, query, message, line, col):
    response = post(typed_project, query)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["message"] == f"{message} at {line}:{col}"
    assert (error["line"], error["col"]) == (line, col)


def test_least_and_greatest_compare_a_time_with_a_time_literal(typed_project):
    rows = data(
        typed_project,
        f"select: id, least(created, '2024-01-01T00:00:00Z') as lo,"
        f" greatest(created, '2024-01-01') as hi\n{FROM}\nsort: id",
    )
    assert rows == [
        {"id": "s1", "lo": "2023-06-01T00:00:00.000000Z", "hi": "2024-01-01T00:00:00.000000Z"},
        {"id": "s2", "lo": "2024-01-01T00:00:00.000000Z", "hi": "2024-06-01T00:00:00.000000Z"},
        {"id": "s3", "lo": "2024-01-01T00:00:00.000000Z", "hi": "2025-06-01T00:00:00.000000Z"},
        {"id": "s4", "lo": "2024-01-01T00:00:00.000000Z", "hi": "2025-07-01T00:00:00.000000Z"},
    ]


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("tags INCLUDES ['triage', 'feedback']", ["s1", "s3"]),
        ("tags CONTAINS ['feedback', 'triage']", ["s1", "s3"]),
        ("tags INCLUDES ['triage', 'resolved']", ["s3"]),
        ("tags INCLUDES ['triage']", ["s1", "s2", "s3"]),
        ("tags INCLUDES ['triage', 'nope']", []),
        ("NOT tags INCLUDES ['triage', 'feedback']", ["s2", "s4"]),  # s4 has no tags
        ("contains(tags, ['resolved', 'feedback'])", ["s3"]),
        ("tags INCLUDES 'feedback'", ["s1", "s3"]),
    ],
)
def test_includes_a_list_means_every_element(typed_project, condition, expected):
    rows = data(typed_project, f"select: id\n{FROM}\nfilter: {condition}\nsort: id")
    assert [r["id"] for r in rows] == expected


def test_a_json_field_of_unknown_type_is_a_condition(typed_project):
    rows = data(typed_project, f"select: id\n{FROM}\nfilter: metadata.flag\nsort: id")
    assert [r["id"] for r in rows] == ["s2", "s4"]
