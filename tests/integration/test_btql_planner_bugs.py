"""BTQL planner: aggregates, final_filter and sort on the summary and traces shapes see every
selected trace, and cursors neither skip nor repeat rows (unpivot, count samples, grouped
sorts with ties, limit 0). Expected answers are computed in plain Python from the rows
written."""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict

import pytest

ROOT_TYPES = ["task", "eval", "function"]
TRACES = 12


def _created(day: int, second: int = 0) -> str:
    return f"2026-02-{day:02d}T10:00:{second:02d}Z"


def _trace_rows(project_id: str) -> list[dict]:
    """12 traces of a root and two children. Traces are written in an order unrelated to
    their roots' ``created`` (day ``ROOT_DAY[t]``), and the children of a trace are created
    later than its root by ``t`` days, so ordering traces by their root's value differs
    from ordering them by their newest write or by their newest span."""
    rows = []
    for t in range(TRACES):
        root = f"r{t:02d}"
        day = ROOT_DAY[t]
        rows.append(
            {
                "project_id": project_id,
                "log_id": "g",
                "id": f"{root}-root",
                "span_id": f"{root}-s0",
                "root_span_id": root,
                "created": _created(day),
                "scores": {"q": t / 11},
                "metrics": {"start": 100.0 * t, "end": 100.0 * t + t % 4},
                "metadata": {"k": t, **({"extra": "x"} if t % 3 == 0 else {})},
                "span_attributes": {"name": "root", "type": ROOT_TYPES[t % 3]},
            }
        )
        for child in (1, 2):
            rows.append(
                {
                    "project_id": project_id,
                    "log_id": "g",
                    "id": f"{root}-c{child}",
                    "span_id": f"{root}-s{child}",
                    "root_span_id": root,
                    "span_parents": [f"{root}-s0"],
                    "created": _created(day + t, child),
                    "scores": {"q": 1.0 if child == 1 else 0.0},
                    "metrics": {
                        "start": 100.0 * t + 0.5,
                        "end": 100.0 * t + 1,
                        "prompt_tokens": 10 * t + child,
                    },
                    "metadata": {"child": child} if child == 1 else {},
                    "span_attributes": {"name": "step", "type": "llm"},
                }
            )
    return rows


ROOT_DAY = [5, 1, 9, 3, 12, 2, 7, 11, 4, 8, 6, 10]
# Written in this order (each trace in its own request, so each has its own _xact_id).
WRITE_ORDER = [3, 0, 11, 7, 1, 9, 5, 2, 10, 4, 8, 6]


@pytest.fixture
def logs(app_client):
    """(project id, rows written)."""
    name = f"planner-{uuid.uuid4().hex[:8]}"
    project_id = app_client.post("/v1/project", json={"name": name}).json()["id"]
    rows = _trace_rows(project_id)
    by_trace = defaultdict(list)
    for row in rows:
        by_trace[row["root_span_id"]].append(row)
    for t in WRITE_ORDER:
        response = app_client.post("/logs3", json={"rows": by_trace[f"r{t:02d}"]})
        assert response.status_code == 200, response.text
    return project_id, rows


def btql(client, query, **extra):
    response = client.post("/btql", json={"query": query, **extra})
    assert response.status_code == 200, response.text
    return response.json()


def all_pages(client, query: str, *, sql: bool = False) -> list[list[dict]]:
    """Every page of ``query``, following cursors to the end."""
    pages, cursor = [], None
    for _ in range(200):
        text = query
        if cursor:
            text += f" OFFSET '{cursor}'" if sql else f" | cursor: '{cursor}'"
        answer = btql(client, text)
        pages.append(answer["data"])
        cursor = answer["cursor"]
        if cursor is None:
            return pages
        assert answer["data"], "a page with a cursor is never empty"
    raise AssertionError("cursors did not end")


def rows_of(pages: list[list[dict]]) -> list[dict]:
    return [row for page in pages for row in page]


def traces_of(rows: list[dict]) -> dict[str, list[dict]]:
    out = defaultdict(list)
    for row in rows:
        out[row["root_span_id"]].append(row)
    return out


def roots_of(rows: list[dict]) -> dict[str, dict]:
    return {row["root_span_id"]: row for row in rows if "span_parents" not in row}


def summary_score(spans: list[dict]) -> float:
    values = [s["scores"]["q"] for s in spans]
    return sum(values) / len(values)


def summary_duration(spans: list[dict]) -> float:
    return max(s["metrics"]["end"] for s in spans) - min(s["metrics"]["start"] for s in spans)


# -- final_filter without aggregates ---------------------------------------------------------


def test_spans_final_filter_without_aggregates_filters_rows(app_client, logs):
    project, rows = logs
    expected = {r["id"] for r in rows if r["scores"]["q"] > 0.4}
    query = f"select: id, scores.q as q | from: project_logs('{project}') | final_filter: q > 0.4"
    assert {r["id"] for r in btql(app_client, query)["data"]} == expected


# -- 4. unpivot with limit and cursors -------------------------------------------------------


def test_unpivot_pages_every_row(app_client, logs):
    project, rows = logs
    expected = Counter((r["id"], k) for r in rows for k in r["metadata"])
    assert len(expected) > 20
    query = f"unpivot: metadata as (k, v) | select: id, k | from: project_logs('{project}')"
    for limit in (1, 2, 7):
        got = rows_of(all_pages(app_client, f"{query} | limit: {limit}"))
        assert Counter((r["id"], r["k"]) for r in got) == expected
    whole = btql(app_client, query)
    assert Counter((r["id"], r["k"]) for r in whole["data"]) == expected
    assert whole["cursor"] is None


# -- 5. count samples with cursors -----------------------------------------------------------


@pytest.mark.parametrize("shape", [""])
def test_count_sample_pages_return_exactly_the_sample(app_client, logs, shape):
    project, rows = logs
    key = "id" if not shape else "root_span_id"
    query = f"select: {key} | from: project_logs('{project}'){shape} | sample: 3 seed 3"
    sample = [r[key] for r in btql(app_client, query)["data"]]
    assert len(set(sample)) == 3
    assert set(sample) <= {r[key] for r in rows}
    got = [r[key] for r in rows_of(all_pages(app_client, query + " | limit: 1"))]
    if shape == " traces":
        assert len(got) == 9
    else:
        assert len(got) == 3
    assert set(got) == set(sample)


# -- 6. grouped sorts with ties ---------------------------------------------------------------


@pytest.mark.parametrize("limit", [1, 5, 7])
def test_grouped_sort_with_ties_pages_each_group_once(app_client, logs, limit):
    project, rows = logs
    query = (
        f"dimensions: id as i, root_span_id as r | measures: count(1) as n"
        f" | from: project_logs('{project}') | sort: n desc | limit: {limit}"
    )
    got = rows_of(all_pages(app_client, query))
    assert sorted(r["i"] for r in got) == sorted(r["id"] for r in rows)
    assert all(r["n"] == 1 for r in got)


def test_grouped_sort_ties_come_in_dimension_order(app_client, logs):
    project, rows = logs
    types = Counter(r["span_attributes"]["type"] for r in rows)
    query = (
        "dimensions: span_attributes.type as t, is_root as root | measures: count(1) as n"
        f" | from: project_logs('{project}') | sort: root desc | limit: 2"
    )
    got = rows_of(all_pages(app_client, query))
    assert [(r["t"], r["n"]) for r in got] == [
        *sorted((t, n) for t, n in types.items() if t != "llm"),
        ("llm", types["llm"]),
    ]


# -- 7. limit 0 -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "select: id | from: project_logs('{p}') | limit: 0",
        "select: id | from: project_logs('{p}') | sort: created | limit: 0",
        "select: id | from: project_logs('{p}') traces | limit: 0",
        "select: id | from: project_logs('{p}') summary | limit: 0",
        "dimensions: is_root | measures: count(1) as n | from: project_logs('{p}') | limit: 0",
        "SELECT id FROM project_logs('{p}') LIMIT 0",
    ],
)
def test_limit_zero_is_an_empty_last_page(app_client, logs, query):
    project, _rows = logs
    answer = btql(app_client, query.format(p=project))
    assert answer["data"] == []
    assert answer["cursor"] is None
