"""POST /btql: clauses, shapes and syntaxes that came out wrong (a hunt over the clauses).
Expected answers are worked out by hand from the few spans the fixture writes."""

from __future__ import annotations

import json
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


# On the summary shape a path into a preview field reads the root span's whole value: the
# preview of a long `metadata` is a cut string, and `metadata.model` read that string (NULL),
# so traces with long metadata grouped, sorted and filtered as if they had no model.
LONG = {"model": "gpt-5", "notes": "n" * 200}


@pytest.fixture
def long_metadata(app_client, project) -> str:
    row = {
        "project_id": project,
        "log_id": "g",
        "id": "C-c0",
        "root_span_id": "C",
        "span_id": "c0",
        "metadata": LONG,
        "input": {"q": "question", "pad": "p" * 200},
    }
    assert app_client.post("/logs3", json={"rows": [row]}).status_code == 200
    return project


@pytest.mark.parametrize(
    ("clauses", "expected"),
    [
        (
            "select: id, metadata.model as m, input.q as q | filter: root_span_id = 'C'",
            [{"id": "C-c0", "m": "gpt-5", "q": "question"}],
        ),
        (
            "dimensions: metadata.model as m | measures: count(1) as n | sort: m",
            [{"m": "claude", "n": 1}, {"m": "gpt-4", "n": 1}, {"m": "gpt-5", "n": 1}],
        ),
        ("select: id | final_filter: metadata.model = 'gpt-5'", [{"id": "C-c0"}]),
        (
            "select: id | sort: metadata.model desc",
            [{"id": "C-c0"}, {"id": "A-a0"}, {"id": "B-b0"}],
        ),
        # the whole field is still its preview (124 characters by default)
        (
            "select: metadata | filter: root_span_id = 'C'",
            [{"metadata": json.dumps(LONG, separators=(",", ":"))[:124]}],
        ),
    ],
)
def test_a_path_into_a_summary_preview_reads_the_whole_value(
    app_client, long_metadata, clauses, expected
):
    source = f"project_logs('{long_metadata}') summary"
    assert btql(app_client, f"{clauses} | from: {source}")["data"] == expected


def test_a_traces_final_filter_on_a_path_into_a_preview_reads_the_whole_value(
    app_client, long_metadata
):
    query = (
        f"select: id | from: project_logs('{long_metadata}') traces"
        " | final_filter: metadata.model = 'gpt-5'"
    )
    assert btql(app_client, query)["data"] == [{"id": "C-c0"}]


# On the summary shape with a span filter, a row's root fields are the root span's (the
# reference: "preview fields come from the root span") and the rollups are over the spans
# the filter keeps: the ids, name and type came from the first kept span (`A-a1`, `llm`).
@pytest.mark.parametrize(
    "query",
    [
        "select: id, span_id, span_type_info | from: SOURCE summary"
        " | span_filter: span_attributes.type = 'llm'",
        "select: id, span_id, span_type_info | from: SOURCE summary"
        " | span_filter: span_attributes.type = 'llm' | sort: span_id",
        "SELECT id, span_id, span_type_info FROM project_logs('PID', shape => 'summary')"
        " WHERE FILTER_SPANS(span_attributes.type = 'llm')",
        {
            "select": [{"btql": "id"}, {"btql": "span_id"}, {"btql": "span_type_info"}],
            "from": {
                "op": "function",
                "name": {"op": "ident", "name": ["project_logs"]},
                "args": [{"op": "literal", "value": "PID"}],
                "shape": "summary",
            },
            "span_filter": {"btql": "span_attributes.type = 'llm'"},
        },
    ],
)
def test_summary_with_a_span_filter_keeps_the_root_spans_fields(app_client, project, query):
    if isinstance(query, dict):
        query = json.loads(json.dumps(query).replace("PID", project))
        query["select"] = [{"expr": item} for item in query["select"]]
    else:
        query = query.replace("SOURCE", f"project_logs('{project}')").replace("PID", project)
    info = {"name": "a0", "type": "task", "cached": False, "has_error": False, "span_count": 1}
    assert btql(app_client, query)["data"] == [
        {"id": "A-a0", "span_id": "a0", "span_type_info": info}
    ]


# On the traces shape, a final filter on a trace's root fields read them from the first
# span the span filter kept, so a filter on the root's name or type kept no trace.
@pytest.mark.parametrize(
    "query",
    [
        "select: id | from: SOURCE traces | span_filter: span_attributes.type = 'llm'"
        " | final_filter: span_type_info.name = 'a0'",
        "select: id | from: SOURCE traces | span_filter: span_attributes.type != 'task'"
        " | final_filter: span_type_info.type = 'task' and metadata.model = 'gpt-4' | sort: id",
        "SELECT id FROM project_logs('PID', shape => 'traces')"
        " WHERE FILTER_SPANS(span_attributes.type = 'llm') HAVING span_type_info.name = 'a0'",
    ],
)
def test_traces_final_filter_reads_the_root_span_under_a_span_filter(app_client, project, query):
    query = query.replace("SOURCE", f"project_logs('{project}')").replace("PID", project)
    expected = [{"id": "A-a1"}] if "llm" in query else [{"id": "A-a1"}, {"id": "A-a2"}]
    assert btql(app_client, query)["data"] == expected


# ANY_SPAN in a trace shape's span filter (`span_filter:`, `FILTER_SPANS(…)`) was a 400
# "unknown field '__any_span_1'" (its internal name): it is true on the spans of the traces
# that have a span satisfying it, as in the filter.
TOOL = "ANY_SPAN(span_attributes.type = 'tool')"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (
            f"select: id | from: SOURCE traces | span_filter: {TOOL} | sort: id",
            [{"id": "A-a0"}, {"id": "A-a1"}, {"id": "A-a2"}],
        ),
        (
            f"select: id | from: SOURCE traces | filter: FILTER_SPANS(is_root AND NOT {TOOL})",
            [{"id": "B-b0"}],
        ),
        (
            f"SELECT id FROM project_logs('PID', shape => 'traces') WHERE FILTER_SPANS({TOOL})"
            " ORDER BY id DESC LIMIT 1",
            [{"id": "A-a2"}, {"id": "A-a1"}, {"id": "A-a0"}],
        ),
        (
            "select: id, span_type_info.span_count as n | from: SOURCE summary"
            f" | span_filter: {TOOL}",
            [{"id": "A-a0", "n": 3}],
        ),
        (
            "select: id, span_type_info.span_count as n | from: SOURCE summary"
            f" | span_filter: is_root OR {TOOL} | sort: id",
            [{"id": "A-a0", "n": 3}, {"id": "B-b0", "n": 1}],
        ),
    ],
)
def test_any_span_in_a_span_filter_of_a_trace_shape(app_client, project, query, expected):
    query = query.replace("SOURCE", f"project_logs('{project}')").replace("PID", project)
    assert btql(app_client, query)["data"] == expected


# In SQL, grouping on the traces shape named BTQL's clauses only ("dimensions and measures
# need the spans or summary shape"), which the query does not hold.
@pytest.mark.parametrize(
    ("query", "col"),
    [
        ("SELECT DISTINCT metadata.model FROM project_logs('PID', shape => 'traces')", 17),
        ("SELECT count(1) AS n FROM project_logs('PID', shape => 'traces')", 8),
    ],
)
def test_sql_grouping_on_the_traces_shape_names_sql(app_client, project, query, col):
    answer = app_client.post("/btql", json={"query": query.replace("PID", project)})
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["message"].startswith(
        "dimensions and measures need the spans or summary shape"
        " (so do GROUP BY, DISTINCT and aggregates)"
    )
    assert (error["line"], error["col"]) == (1, col)


# A name two experiments have is a 400 at the source's argument (it had no position).
def test_an_ambiguous_source_name_is_an_error_at_the_argument(app_client):
    for project in ("amb-1", "amb-2"):
        project_id = app_client.post("/v1/project", json={"name": project}).json()["id"]
        made = app_client.post("/v1/experiment", json={"project_id": project_id, "name": "same"})
        assert made.status_code == 200
    for query, col in (
        ("select: id | from: experiment('same')", 31),
        ("SELECT id FROM experiment('same', shape => 'summary')", 27),
    ):
        answer = app_client.post("/btql", json={"query": query})
        assert answer.status_code == 400
        error = answer.json()["error"]
        assert error["message"] == (
            f"2 experiments are named 'same', in projects 'amb-1', 'amb-2': use an id at 1:{col}"
        )
        assert (error["line"], error["col"]) == (1, col)


# FILTER_SPANS in span_filter: or trace_filter: said it "must stand alone or be joined by AND
# at the top of the filter", which it did: it belongs in filter:, and span_filter: is it.
@pytest.mark.parametrize(
    ("clause", "col"), [("span_filter", 59), ("trace_filter", 60)], ids=["span", "trace"]
)
def test_filter_spans_in_a_phase_filter_says_where_it_belongs(app_client, project, clause, col):
    query = f"select: id | from: project_logs('PID') traces | {clause}: FILTER_SPANS(is_root)"
    answer = app_client.post("/btql", json={"query": query.replace("PID", project)})
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["message"].startswith(
        f"FILTER_SPANS(...) belongs in filter: (SQL WHERE), not in {clause}:"
    )
    assert (error["line"], error["col"]) == (1, col + len(project))
