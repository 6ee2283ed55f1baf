"""BTQL planner: aggregates, final_filter and sort on the summary and traces shapes see every
selected trace, and cursors neither skip nor repeat rows (unpivot, count samples, grouped
sorts with ties, limit 0). Expected answers are computed in plain Python from the rows
written."""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict

import pytest

from tests.integration.btql_pages import all_pages, btql

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


# -- 1. aggregates on the summary shape -------------------------------------------------------


def test_summary_aggregates_count_every_trace_not_the_first_page(app_client, logs):
    project, rows = logs
    expected = Counter(r["span_attributes"]["type"] for r in roots_of(rows).values())
    query = (
        "dimensions: span_attributes.type as t | measures: count(1) as traces,"
        " sum(metrics.prompt_tokens) as tokens"
        f" | from: project_logs('{project}') summary | sort: t | limit: 2"
    )
    pages = all_pages(app_client, query)
    assert [len(p) for p in pages[:2]] == [2, 1]  # limit limits the grouped rows
    got = {r["t"]: r["traces"] for r in rows_of(pages)}
    assert got == dict(expected)
    tokens = defaultdict(int)
    for r in rows:
        tokens[roots_of(rows)[r["root_span_id"]]["span_attributes"]["type"]] += r["metrics"].get(
            "prompt_tokens", 0
        )
    assert {r["t"]: r["tokens"] for r in rows_of(pages)} == dict(tokens)


@pytest.mark.parametrize(
    "query",
    [
        "measures: count(1) as n | from: project_logs('{p}') summary | limit: 3",
        "dimensions: span_attributes.type as t | measures: count(1) as n"
        " | from: project_logs('{p}') summary | limit: 1",
        "SELECT count(1) AS n FROM project_logs('{p}', shape => 'summary') LIMIT 3",
    ],
)
def test_summary_aggregates_without_sort_run(app_client, logs, query):
    project, _rows = logs
    answer = btql(app_client, query.format(p=project))
    total = sum(row["n"] for row in answer["data"])
    if "dimensions" in query:
        assert answer["data"] and answer["cursor"] is not None
        pages = all_pages(app_client, query.format(p=project))
        total = sum(row["n"] for row in rows_of(pages))
    assert total == TRACES


# -- 2. final_filter / HAVING on the summary shape --------------------------------------------


def test_summary_final_filter_filters_rolled_up_values(app_client, logs):
    project, rows = logs
    traces = traces_of(rows)
    high = {r for r, spans in traces.items() if summary_score(spans) > 0.4}
    long = {r for r, spans in traces.items() if summary_duration(spans) > 1}
    assert high and high != set(traces) and long and long != set(traces)
    by_score = f"select: root_span_id | from: project_logs('{project}') summary"
    answer = btql(app_client, by_score + " | final_filter: scores.q > 0.4")
    assert {r["root_span_id"] for r in answer["data"]} == high
    # Paged, newest trace first.
    pages = all_pages(app_client, by_score + " | final_filter: scores.q > 0.4 | limit: 2")
    assert [r["root_span_id"] for r in rows_of(pages)] == [
        f"r{t:02d}" for t in reversed(WRITE_ORDER) if f"r{t:02d}" in high
    ]
    answer = btql(app_client, by_score + " | final_filter: metrics.duration > 1")
    assert {r["root_span_id"] for r in answer["data"]} == long
    sql = (
        f"SELECT root_span_id FROM project_logs('{project}', shape => 'summary')"
        " HAVING scores.q > 0.4"
    )
    assert {r["root_span_id"] for r in btql(app_client, sql)["data"]} == high


def test_spans_final_filter_without_aggregates_filters_rows(app_client, logs):
    project, rows = logs
    expected = {r["id"] for r in rows if r["scores"]["q"] > 0.4}
    query = f"select: id, scores.q as q | from: project_logs('{project}') | final_filter: q > 0.4"
    assert {r["id"] for r in btql(app_client, query)["data"]} == expected


# -- 3. sort + limit on summary and traces ----------------------------------------------------


@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_summary_sort_orders_every_trace_before_the_limit(app_client, logs, direction):
    project, rows = logs
    roots = roots_of(rows)
    expected = sorted(roots, key=lambda r: roots[r]["created"], reverse=direction == "desc")
    query = (
        f"select: root_span_id, created | from: project_logs('{project}') summary"
        f" | sort: created {direction}"
    )
    first = btql(app_client, query + " | limit: 2")["data"]
    assert [r["root_span_id"] for r in first] == expected[:2]
    pages = all_pages(app_client, query + " | limit: 5")
    assert [r["root_span_id"] for r in rows_of(pages)] == expected


def test_summary_sort_on_a_rolled_up_value(app_client, logs):
    project, rows = logs
    traces = traces_of(rows)
    expected = sorted(traces, key=lambda r: (-summary_duration(traces[r]), r))
    durations = [summary_duration(traces[r]) for r in expected]
    query = (
        f"select: root_span_id, metrics.duration as d | from: project_logs('{project}') summary"
        " | sort: d desc | limit: 4"
    )
    got = rows_of(all_pages(app_client, query))
    assert [r["d"] for r in got] == durations
    assert sorted(r["root_span_id"] for r in got) == sorted(traces)


@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_traces_sort_orders_traces_by_their_root_span(app_client, logs, direction):
    project, rows = logs
    roots = roots_of(rows)
    traces = traces_of(rows)
    order = sorted(roots, key=lambda r: roots[r]["created"], reverse=direction == "desc")
    # Not the order of their newest span or of their writes: the root's value decides.
    newest = sorted(
        traces, key=lambda r: max(s["created"] for s in traces[r]), reverse=direction == "desc"
    )
    assert order != newest
    query = (
        f"select: id, root_span_id, created | from: project_logs('{project}') traces"
        f" | sort: created {direction}"
    )
    first = btql(app_client, query + " | limit: 1")["data"]
    assert {r["id"] for r in first} == {s["id"] for s in traces[order[0]]}
    pages = all_pages(app_client, query + " | limit: 5")
    assert [len({r["root_span_id"] for r in page}) for page in pages] == [5, 5, 2]
    got = rows_of(pages)
    expected = [
        s["id"]
        for r in order
        for s in sorted(traces[r], key=lambda s: s["created"], reverse=direction == "desc")
    ]
    assert [r["id"] for r in got] == expected


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


@pytest.mark.parametrize("shape", ["", " traces", " summary"])
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


# -- the same on an experiment read as of a version --------------------------------------------


def test_sorted_and_grouped_trace_shapes_read_as_of_a_version(app_client, logs):
    project, _rows = logs
    experiment = app_client.post(
        "/v1/experiment", json={"project_id": project, "name": f"e-{uuid.uuid4().hex[:6]}"}
    ).json()["id"]

    def insert(traces: range) -> None:
        events = [
            {
                "id": f"x{t}-{span}",
                "span_id": f"x{t}-{span}",
                "root_span_id": f"x{t}",
                **({"span_parents": [f"x{t}-0"]} if span else {}),
                "created": _created(20 - t, span),
                "scores": {"q": t / 10},
            }
            for t in traces
            for span in (0, 1)
        ]
        url = f"/v1/experiment/{experiment}/insert"
        assert app_client.post(url, json={"events": events}).status_code == 200

    insert(range(5))
    source = f"experiment('{experiment}')"
    (version,) = {
        r["_xact_id"] for r in btql(app_client, f"select: _xact_id | from: {source}")["data"]
    }
    insert(range(5, 9))
    as_of = {"version": version}
    # Traces x0..x4 as of the version; their roots were created on days 20..16.
    oldest = [f"x{t}" for t in (4, 3, 2, 1, 0)]
    query = f"select: root_span_id | from: {source} summary | sort: created asc | limit: 2"
    assert [r["root_span_id"] for r in btql(app_client, query, **as_of)["data"]] == oldest[:2]
    query = f"measures: count(1) as n | from: {source} summary"
    assert btql(app_client, query, **as_of)["data"] == [{"n": 5}]
    query = f"select: root_span_id | from: {source} summary | final_filter: scores.q > 0.25"
    got = {r["root_span_id"] for r in btql(app_client, query, **as_of)["data"]}
    assert got == {"x3", "x4"}
    query = f"select: root_span_id | from: {source} traces | sort: created asc | limit: 1"
    got = btql(app_client, query, **as_of)["data"]
    assert [r["root_span_id"] for r in got] == ["x4", "x4"]


@pytest.mark.parametrize("shape", ["traces", "summary"])
def test_pivot_and_unpivot_on_trace_shapes_are_refused(app_client, logs, shape):
    project, _rows = logs
    query = f"unpivot: scores as (k, v) | select: root_span_id | from: project_logs('{project}') "
    response = app_client.post("/btql", json={"query": query + shape})
    assert response.status_code == 400, response.text
    assert "spans shape" in response.json()["error"]["message"]


# -- 8. a sorted page ranks traces on the values its whole rows show ---------------------------


def test_sorted_trace_shapes_read_root_fields_the_root_lacks_as_null(app_client):
    """A root span's missing field is NULL for its trace, even when another span has it: a
    trace whose root has no input sorts after (asc, NULLs last) one whose root has one."""
    project = app_client.post("/v1/project", json={"name": f"p-{uuid.uuid4().hex[:8]}"})
    project = project.json()["id"]
    spans = []
    for t, root_input, child_input in [("a", None, "a"), ("b", "b", None), ("c", "c", "0")]:
        root = {"id": f"{t}0", "span_id": f"{t}0", "root_span_id": t, "created": _created(1)}
        child = {"id": f"{t}1", "span_id": f"{t}1", "root_span_id": t, "span_parents": [f"{t}0"]}
        child["created"] = _created(2)
        for span, value in ((root, root_input), (child, child_input)):
            spans.append({**span, **({"input": value} if value else {}), "log_id": "g"})
    for span in spans:
        span["project_id"] = project
        assert app_client.post("/logs3", json={"rows": [span]}).status_code == 200
    source = f"project_logs('{project}')"
    query = f"select: root_span_id, input | from: {source} summary | sort: input asc | limit: 2"
    pages = all_pages(app_client, query)
    assert rows_of(pages) == [
        {"root_span_id": "b", "input": "b"},
        {"root_span_id": "c", "input": "c"},
        {"root_span_id": "a", "input": None},
    ]
    query = f"select: id | from: {source} traces | sort: input asc | limit: 1"
    got = [r["id"] for r in rows_of(all_pages(app_client, query))]
    assert got == ["b0", "b1", "c1", "c0", "a1", "a0"]  # spans of a trace by input too


def test_summary_sort_with_a_span_filter_ranks_the_filtered_summaries(app_client, logs):
    """With FILTER_SPANS the summary rows (and so their order) cover the matching spans."""
    project, rows = logs
    traces = traces_of(rows)
    # The llm children only: a trace's duration is then 0.5 s for every trace; its score
    # average is 0.5. Rank by prompt tokens, which only children carry.
    tokens = {r: sum(s["metrics"].get("prompt_tokens", 0) for s in traces[r]) for r in traces}
    expected = sorted(traces, key=lambda r: -tokens[r])
    query = (
        f"select: root_span_id, metrics.prompt_tokens as p, scores.q as q,"
        f" span_type_info.span_count as n | from: project_logs('{project}') summary"
        " | filter: FILTER_SPANS(span_attributes.type = 'llm')"
        " | sort: metrics.prompt_tokens desc | limit: 5"
    )
    got = rows_of(all_pages(app_client, query))
    assert [r["root_span_id"] for r in got] == expected
    assert [r["p"] for r in got] == [tokens[r] for r in expected]
    assert {(r["q"], r["n"]) for r in got} == {(0.5, 2)}
