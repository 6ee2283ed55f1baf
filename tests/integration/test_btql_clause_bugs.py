"""POST /btql: clauses, shapes and syntaxes that came out wrong (a hunt over the clauses).
Expected answers are worked out by hand from the few spans the fixture writes."""

from __future__ import annotations

import uuid

import pytest

from tests.integration.btql_pages import btql


@pytest.fixture
def project(app_client) -> str:
    """Two traces: A (a task root, an llm child, a tool child) and B (a task root)."""
    name = f"clauses-{uuid.uuid4().hex[:8]}"
    project_id = app_client.post("/v1/project", json={"name": name}).json()["id"]
    spans = [
        ("A", "a0", None, "task"),
        ("A", "a1", ["a0"], "llm"),
        ("A", "a2", ["a0"], "tool"),
        ("B", "b0", None, "task"),
    ]
    rows = [
        {
            "project_id": project_id,
            "log_id": "g",
            "id": f"{root}-{span}",
            "root_span_id": root,
            "span_id": span,
            **({"span_parents": parents} if parents else {}),
            "span_attributes": {"name": span, "type": kind},
            "metadata": {"model": "gpt-4" if root == "A" else "claude"},
        }
        for root, span, parents, kind in spans
    ]
    assert app_client.post("/logs3", json={"rows": rows}).status_code == 200
    return project_id


# A measure without an aggregate is one value per group: without dimensions the query is a
# whole-table aggregate, one row (it gave a row per span, or per trace on summary), and a
# pivot of it spreads it (it was an engine error, "syntax error at or near GROUP").
@pytest.mark.parametrize(
    ("clauses", "expected"),
    [
        ("measures: 1 as n", [{"n": 1}]),
        ("measures: 'x' as l, count(1) as c", [{"l": "x", "c": 4}]),
        ("measures: 1 as n | from: SOURCE summary", [{"n": 1}]),
        (
            "dimensions: metadata.model as m | measures: 1 as n | sort: m",
            [{"m": "claude", "n": 1}, {"m": "gpt-4", "n": 1}],
        ),
        (
            "dimensions: metadata.model as m | measures: 1 as n | pivot: span_attributes.type",
            [
                {"m": "claude", "llm_n": None, "task_n": 1, "tool_n": None},
                {"m": "gpt-4", "llm_n": 1, "task_n": 1, "tool_n": 1},
            ],
        ),
    ],
)
def test_a_measure_without_an_aggregate_is_one_value_per_group(
    app_client, project, clauses, expected
):
    source = f"project_logs('{project}')"
    if "from:" not in clauses:
        clauses += " | from: SOURCE"
    data = btql(app_client, clauses.replace("SOURCE", source))["data"]
    assert data == expected
