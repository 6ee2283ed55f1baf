"""BTQL traces and summary shapes: span filters do not cut pages short, final_filter selects
traces (on their rolled-up values, or on aggregates over their spans), comments keep their
place when edited, and the command line prints the cursor of a json page. Expected answers
are computed in plain Python from the rows written."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict

import pytest

from tests.integration.btql_pages import all_pages, btql
from tests.integration.test_cli import ok, run_cli
from tracelake.server.app import create_app
from tracelake.settings import Settings

TRACES = 10


def _rows(project_id: str, t: int) -> list[dict]:
    """Trace ``t``: a root and an llm span, each with its own Factuality, and a tool span
    (no score) in even traces only."""
    root = f"t{t:02d}"
    spans = [
        {
            "id": f"{root}-root",
            "span_id": f"{root}-s0",
            "scores": {"Factuality": t / 9},
            "span_attributes": {"name": "root", "type": "task"},
            "metrics": {"start": 10.0 * t, "end": 10.0 * t + 3},
        },
        {
            "id": f"{root}-llm",
            "span_id": f"{root}-s1",
            "span_parents": [f"{root}-s0"],
            "scores": {"Factuality": 1.0 if t % 3 == 0 else 0.5},
            "span_attributes": {"name": "chat", "type": "llm"},
            "metrics": {"prompt_tokens": 10 * t},
        },
    ]
    if t % 2 == 0:
        spans.append(
            {
                "id": f"{root}-tool",
                "span_id": f"{root}-s2",
                "span_parents": [f"{root}-s0"],
                "span_attributes": {"name": "search", "type": "tool"},
            }
        )
    common = {"project_id": project_id, "log_id": "g", "root_span_id": root}
    return [{**common, **span} for span in spans]


@pytest.fixture
def logs(app_client) -> tuple[str, list[dict]]:
    """(project id, rows written): ``TRACES`` traces, each written in its own request."""
    name = f"shapes-{uuid.uuid4().hex[:8]}"
    project_id = app_client.post("/v1/project", json={"name": name}).json()["id"]
    written = []
    for t in range(TRACES):
        rows = _rows(project_id, t)
        response = app_client.post("/logs3", json={"rows": rows})
        assert response.status_code == 200, response.text
        written += rows
    return project_id, written


def by_trace(rows: list[dict]) -> dict[str, list[dict]]:
    out = defaultdict(list)
    for row in rows:
        out[row["root_span_id"]].append(row)
    return out


def factuality(spans: list[dict]) -> float | None:
    values = [s["scores"]["Factuality"] for s in spans if "scores" in s]
    return sum(values) / len(values) if values else None


def page_traces(page: list[dict]) -> list[str]:
    return list(dict.fromkeys(row["root_span_id"] for row in page))


# -- 1. span filters and full pages -----------------------------------------------------------


SPAN_FILTERS = [
    "span_filter: span_attributes.type = 'tool'",
    "filter: FILTER_SPANS(span_attributes.name != 'root') | span_filter: span_attributes.type"
    " = 'tool'",
]


@pytest.mark.parametrize("shape", ["traces", "summary"])
@pytest.mark.parametrize("span_filter", SPAN_FILTERS)
def test_span_filtered_pages_are_full_and_reach_every_trace(app_client, logs, shape, span_filter):
    project, rows = logs
    expected = {r for r, spans in by_trace(rows).items() if any("tool" in s["id"] for s in spans)}
    query = f"select: * | from: project_logs('{project}') {shape} | {span_filter} | limit: 2"
    pages = all_pages(app_client, query)
    traces = [page_traces(page) for page in pages]
    seen = [r for page in traces for r in page]
    assert sorted(seen) == sorted(expected)  # every matching trace, exactly once
    assert all(len(page) == 2 for page in traces[:-1]), traces
    if shape == "traces":
        assert all(row["span_attributes"]["type"] == "tool" for page in pages for row in page)


def test_span_filtered_sorted_traces_pages_are_full(app_client, logs):
    project, rows = logs
    expected = sorted(r for r, spans in by_trace(rows).items() if len(spans) == 3)
    query = (
        f"select: root_span_id | from: project_logs('{project}') traces"
        " | span_filter: span_attributes.type = 'tool' | sort: root_span_id asc | limit: 3"
    )
    traces = [page_traces(page) for page in all_pages(app_client, query)]
    assert [r for page in traces for r in page] == expected
    assert all(len(page) == 3 for page in traces[:-1]), traces


# -- 2. and 3. final_filter on trace shapes ---------------------------------------------------


def _passing(rows: list[dict], threshold: float) -> set[str]:
    """The traces whose spans' Factuality averages above ``threshold``."""
    return {r for r, spans in by_trace(rows).items() if (factuality(spans) or 0) > threshold}


def test_summary_having_an_aggregate_filters_traces_on_their_spans(app_client, logs):
    project, rows = logs
    expected = _passing(rows, 0.8)
    assert 0 < len(expected) < TRACES
    text = (
        f"select: * | from: project_logs('{project}') summary"
        " | final_filter: avg(scores.Factuality) > 0.8"
    )
    sql = (
        f"SELECT * FROM project_logs('{project}', shape => 'summary')"
        " HAVING avg(scores.Factuality) > 0.8"
    )
    for query in (text, sql):
        data = btql(app_client, query)["data"]
        assert sorted(row["root_span_id"] for row in data) == sorted(expected)
        for row in data:  # whole summary rows
            spans = by_trace(rows)[row["root_span_id"]]
            assert row["scores"]["Factuality"] == pytest.approx(factuality(spans))


def test_summary_having_an_aggregate_pages_and_sorts(app_client, logs):
    project, rows = logs
    traces = by_trace(rows)
    expected = sorted(_passing(rows, 0.5), key=lambda r: -factuality(traces[r]))
    query = (
        f"select: root_span_id | from: project_logs('{project}') summary"
        " | final_filter: avg(scores.Factuality) > 0.5 | sort: scores.Factuality desc | limit: 2"
    )
    pages = all_pages(app_client, query)
    assert [row["root_span_id"] for page in pages for row in page] == expected
    unsorted = query.replace(" | sort: scores.Factuality desc", "")
    pages = all_pages(app_client, unsorted)
    seen = [row["root_span_id"] for page in pages for row in page]
    assert sorted(seen) == sorted(expected)
    assert all(len(page) == 2 for page in pages[:-1])


def test_summary_having_aggregates_the_spans_the_span_filter_keeps(app_client, logs):
    project, rows = logs
    llm = [row for row in rows if row["span_attributes"]["type"] == "llm"]
    expected = _passing(llm, 0.8)
    query = (
        f"select: root_span_id | from: project_logs('{project}') summary"
        " | span_filter: span_attributes.type = 'llm' | final_filter: avg(scores.Factuality) > 0.8"
    )
    data = btql(app_client, query)["data"]
    assert sorted(row["root_span_id"] for row in data) == sorted(expected)


@pytest.mark.parametrize(
    "final_filter", ["avg(scores.Factuality) > 0.6", "scores.Factuality > 0.6"]
)
def test_traces_final_filter_selects_traces(app_client, logs, final_filter):
    project, rows = logs
    expected = _passing(rows, 0.6)
    assert 0 < len(expected) < TRACES
    query = (
        f"select: id, root_span_id | from: project_logs('{project}') traces"
        f" | final_filter: {final_filter} | limit: 2"
    )
    pages = all_pages(app_client, query)
    got = sorted(row["id"] for page in pages for row in page)
    assert got == sorted(row["id"] for row in rows if row["root_span_id"] in expected)
    assert all(len(page_traces(page)) == 2 for page in pages[:-1])


@pytest.mark.parametrize("shape", ["traces", "summary"])
@pytest.mark.parametrize(
    "final_filter", ["avg(scores.Factuality) > 0.6", "scores.Factuality > 0.6"]
)
def test_a_count_sample_is_drawn_from_the_traces_final_filter_keeps(
    app_client, logs, shape, final_filter
):
    """On the summary shape a filter on the rolled-up values was applied after the sample
    was drawn from every trace, so ``sample: 1`` could answer no row while traces pass."""
    project, rows = logs
    expected = _passing(rows, 0.6)
    for seed in range(8):
        query = (
            f"select: root_span_id | from: project_logs('{project}') {shape}"
            f" | final_filter: {final_filter} | sample: 2 seed {seed}"
        )
        got = {row["root_span_id"] for row in btql(app_client, query)["data"]}
        assert len(got) == 2 and got <= expected, (seed, got, expected)


def test_summary_having_a_field_outside_an_aggregate_is_a_400(app_client, logs):
    project, _ = logs
    query = (
        f"select: * | from: project_logs('{project}') summary"
        " | final_filter: avg(scores.Factuality) > 0.8 and input = 'x'"
    )
    response = app_client.post("/btql", json={"query": query})
    assert response.status_code == 400, response.text
    assert "input" in response.text


# -- 4. an edited comment keeps its place -----------------------------------------------------


def test_an_edited_comment_keeps_its_place(app_client):
    name = f"comments-{uuid.uuid4().hex[:8]}"
    project = app_client.post("/v1/project", json={"name": name}).json()["id"]

    def write(row):
        row = {"project_id": project, "log_id": "g", **row}
        response = app_client.post("/logs3", json={"rows": [row], "api_version": 2})
        assert response.status_code == 200, response.text

    write({"id": "r", "input": 0})
    for comment_id in ("c2", "c1", "c3"):  # written in this order (ids out of order)
        write({"id": comment_id, "origin": {"id": "r"}, "comment": {"text": comment_id}})
    write({"id": "c2", "origin": {"id": "r"}, "_is_merge": True, "comment": {"text": "edited"}})
    query = f"select: id, comments | from: project_logs('{project}') | filter: id = 'r'"
    (row,) = btql(app_client, query)["data"]
    assert [(c["id"], c["comment"]["text"]) for c in row["comments"]] == [
        ("c2", "edited"),
        ("c1", "c1"),
        ("c3", "c3"),
    ]
    response = app_client.post(f"/v1/project_logs/{project}/fetch", json={})
    assert response.status_code == 200, response.text
    (fetched,) = [r for r in response.json()["events"] if r["id"] == "r"]
    assert [c["id"] for c in fetched["comments"]] == ["c2", "c1", "c3"]


@pytest.mark.parametrize("shape", ["spans", "summary"])
def test_a_clause_naming_an_alias_of_comments_reads_the_comments(app_client, shape):
    """`len(comments) as n | final_filter: n > 0` filtered on a placeholder (comments are
    joined late unless a clause reads them) and returned nothing."""
    project = app_client.post("/v1/project", json={"name": f"c-{uuid.uuid4().hex[:8]}"}).json()
    rows = [
        {"project_id": project["id"], "log_id": "g", "id": f"t{i}", "input": i} for i in range(4)
    ]
    rows.append(
        {
            "project_id": project["id"],
            "log_id": "g",
            "id": "c1",
            "origin": {"id": "t1"},
            "comment": {"text": "look"},
        }
    )
    response = app_client.post("/logs3", json={"rows": rows, "api_version": 2})
    assert response.status_code == 200, response.text
    source = f"project_logs('{project['id']}') {shape}"
    query = f"select: id, len(comments) as n | from: {source} | final_filter: n > 0"
    assert [(r["id"], r["n"]) for r in btql(app_client, query)["data"]] == [("t1", 1)]
    query = f"select: id, len(comments) as n | from: {source} | sort: n desc | limit: 1"
    assert [(r["id"], r["n"]) for r in btql(app_client, query)["data"]] == [("t1", 1)]


# -- 5. the command line prints the cursor ----------------------------------------------------


def test_cli_json_output_carries_the_cursor(tmp_path):
    data_dir = tmp_path / "data"
    from fastapi.testclient import TestClient

    from tests.conftest import ADMIN_KEY

    settings = Settings(data_dir=data_dir, api_key=ADMIN_KEY, scheduler_tick_seconds=0)
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        client.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
        project = client.post("/v1/project", json={"name": "cli"}).json()["id"]
        rows = [{"project_id": project, "log_id": "g", "id": f"r{i}"} for i in range(3)]
        assert client.post("/logs3", json={"rows": rows}).status_code == 200
    query = f"select: id | from: project_logs('{project}') | limit: 2"
    seen = []
    for _ in range(3):
        result = ok(run_cli("query", query, "--format", "json", "--data-dir", str(data_dir)))
        page = json.loads(result.stdout)
        seen += [row["id"] for row in page["data"]]
        if page["cursor"] is None:
            break
        query = query.split(" | cursor:")[0] + f" | cursor: '{page['cursor']}'"
    assert sorted(seen) == ["r0", "r1", "r2"]
    assert page["cursor"] is None


def test_summary_having_other_aggregates_over_spans(app_client, logs):
    project, rows = logs
    tokens = defaultdict(list)
    for row in rows:
        tokens[row["root_span_id"]].append(row.get("metrics", {}).get("prompt_tokens"))
    expected = {r for r, values in tokens.items() if max(v for v in values if v is not None) > 50}
    expected &= {r for r, values in tokens.items() if len(values) == 3}  # count(1) = 3 spans
    query = (
        f"SELECT root_span_id FROM project_logs('{project}', shape => 'summary')"
        " HAVING max(metrics.prompt_tokens) > 50 AND count(1) = 3"
    )
    data = btql(app_client, query)["data"]
    assert sorted(row["root_span_id"] for row in data) == sorted(expected)


@pytest.mark.parametrize("limit", [1, 2, 100])
def test_rows_of_the_same_id_in_two_datasets_come_once_on_the_traces_shape(app_client, limit):
    """A dataset row is its own trace (root_span_id = id): two datasets holding rows of the
    same ids listed each such trace once per dataset, each time with the rows of both (a
    page of 100 held 15 rows for 9; pages of 1 repeated them too)."""
    name = f"same-ids-{uuid.uuid4().hex[:8]}"
    project_id = app_client.post("/v1/project", json={"name": name}).json()["id"]
    datasets = []
    for which in ("a", "b"):
        body = {"project_id": project_id, "name": which}
        dataset_id = app_client.post("/v1/dataset", json=body).json()["id"]
        events = [{"id": f"q{i}", "input": f"{which}{i}"} for i in range(3)]
        events.append({"id": f"{which}-only", "input": which})
        response = app_client.post(f"/v1/dataset/{dataset_id}/insert", json={"events": events})
        assert response.status_code == 200, response.text
        datasets.append(dataset_id)
    source = f"dataset('{datasets[0]}', '{datasets[1]}')"
    expected = sorted(f"{w}{i}" for w in "ab" for i in range(3)) + ["a", "b"]
    for clauses in (f"traces | limit: {limit}", f"traces | sort: input | limit: {limit}"):
        pages = all_pages(app_client, f"select: id, input | from: {source} {clauses}")
        inputs = [row["input"] for page in pages for row in page]
        assert sorted(inputs) == sorted(expected), clauses
        traces = [sorted({row["id"] for row in page}) for page in pages]
        ids = [i for page in traces for i in page]
        assert sorted(ids) == sorted({*ids}), f"a trace came on two pages: {traces}"


@pytest.mark.parametrize("shape", ["traces", "summary"])
def test_a_trace_of_two_experiments_keeps_its_place_while_written(app_client, shape):
    """Traces of the same root_span_id in two experiments are one trace (as a pinned version
    and the trace filters have them): written again in one experiment while a client pages,
    it keeps its place as of the first page, and is listed once."""
    name = f"two-exps-{uuid.uuid4().hex[:8]}"
    project_id = app_client.post("/v1/project", json={"name": name}).json()["id"]
    experiments = [
        app_client.post("/v1/experiment", json={"project_id": project_id, "name": n}).json()["id"]
        for n in ("e1", "e2")
    ]

    def log(rows):
        assert app_client.post("/logs3", json={"rows": rows}).status_code == 200

    for t in range(5):
        for e in experiments:
            span = {"id": f"x{t}", "span_id": f"s{t}", "root_span_id": f"r{t}", "input": t}
            log([{"experiment_id": e, **span, "span_parents": None}])
    query = f"select: * | from: experiment('{experiments[0]}', '{experiments[1]}') {shape}"
    seen, cursor = [], None
    for page_number in range(20):
        text = query + " | limit: 1" + (f" | cursor: '{cursor}'" if cursor else "")
        answer = btql(app_client, text)
        seen.append(sorted({row["root_span_id"] for row in answer["data"]}))
        cursor = answer["cursor"]
        if page_number == 0:  # r4 was listed; r1 is not yet: both keep their place
            log([{"experiment_id": experiments[1], "id": "x4", "input": 9, "_is_merge": True}])
            log([{"experiment_id": experiments[0], "id": "x1", "input": 9, "_is_merge": True}])
        if cursor is None:
            break
    assert seen == [["r4"], ["r3"], ["r2"], ["r1"], ["r0"], []]


@pytest.mark.parametrize("shape", ["traces", "summary"])
def test_a_count_sample_pages_its_traces_while_they_are_written(app_client, shape):
    """A trace of a count sample written again between pages took its new key, ahead of the
    cursor, and was never listed (9 traces of a sample of 10); traces begun since took part
    in the draw and pushed traces of the sample out. The sample is the first page's now,
    each of its traces listed once at its place then."""
    name = f"sampled-{uuid.uuid4().hex[:8]}"
    project_id = app_client.post("/v1/project", json={"name": name}).json()["id"]

    def log(rows):
        rows = [{"project_id": project_id, "log_id": "g", **r} for r in rows]
        assert app_client.post("/logs3", json={"rows": rows}).status_code == 200

    for t in range(30):
        log([{"id": f"s{t}", "span_id": f"s{t}", "root_span_id": f"t{t}", "input": t}])
    query = f"select: * | from: project_logs('{project_id}') {shape} | sample: 10 seed 4"
    sample = [r["root_span_id"] for r in btql(app_client, query + " | limit: 100")["data"]]
    assert len(set(sample)) == 10
    listed, cursor = [], None
    for page_number in range(20):
        text = query + " | limit: 3" + (f" | cursor: '{cursor}'" if cursor else "")
        answer = btql(app_client, text)
        listed.append(sorted({r["root_span_id"] for r in answer["data"]}))
        cursor = answer["cursor"]
        if cursor is None:
            break
        waiting = [t for t in sample if t not in {t for page in listed for t in page}]
        oldest = waiting[-1]  # written again: the newest trace now
        log([{"id": f"s{oldest[1:]}", "input": "again", "_is_merge": True}])
        log(
            [{"id": f"n{page_number}-{j}", "root_span_id": f"n{page_number}-{j}"} for j in range(9)]
        )
    traces = [t for page in listed for t in page]
    assert sorted(traces) == sorted(sample), listed


@pytest.mark.parametrize(
    "span_filter",
    ["span_filter: is_root", "filter: FILTER_SPANS(is_root)", "span_filter: span_id = 'none'"],
)
def test_a_summary_rows_xact_id_is_its_traces_newest_under_a_span_filter(app_client, span_filter):
    """Under a span filter a summary row's ``_xact_id`` and ``_pagination_key`` were those of
    the newest span the filter kept, while the row's place in the pages (and the cursor)
    follow the trace's newest write: a trace written again came first with an older
    ``_xact_id`` than the one after it. They are the whole trace's now, like its root
    fields."""
    project_id = app_client.post("/v1/project", json={"name": f"x-{uuid.uuid4().hex}"}).json()
    project_id = project_id["id"]
    for t in range(3):
        spans = [{"id": f"t{t}", "span_id": f"t{t}", "root_span_id": f"t{t}"}]
        spans.append({**spans[0], "id": f"t{t}-c", "span_id": f"t{t}-c", "span_parents": [f"t{t}"]})
        rows = [{**s, "project_id": project_id, "log_id": "g"} for s in spans]
        assert app_client.post("/logs3", json={"rows": rows}).status_code == 200
    # a child of the oldest trace written again: that trace is the newest now
    late = {"id": "t0-c", "project_id": project_id, "log_id": "g", "output": "late"}
    assert (
        app_client.post("/logs3", json={"rows": [{**late, "_is_merge": True}]}).status_code == 200
    )
    source = f"project_logs('{project_id}')"
    spans = btql(app_client, f"select: root_span_id, _xact_id, _pagination_key | from: {source}")
    spans = spans["data"]
    newest: dict[str, tuple] = {}
    for span in spans:
        key = (int(span["_xact_id"]), span["_pagination_key"])
        newest[span["root_span_id"]] = max(newest.get(span["root_span_id"], key), key)
    order = sorted(newest, key=lambda trace: newest[trace][1], reverse=True)
    assert order[0] == "t0"
    text = f"select: root_span_id, _xact_id, _pagination_key | from: {source} summary"
    if "none" in span_filter:  # a filter that keeps no span keeps no trace
        assert btql(app_client, f"{text} | {span_filter}")["data"] == []
        return
    for query in (f"{text} | {span_filter}", f"{text} | {span_filter} | sort: _xact_id desc"):
        for limit in (1, 3):
            pages = all_pages(app_client, f"{query} | limit: {limit}")
            rows = [row for page in pages for row in page]
            assert [r["root_span_id"] for r in rows] == order, (query, limit)
            for row in rows:
                xact, key = newest[row["root_span_id"]]
                assert (int(row["_xact_id"]), row["_pagination_key"]) == (xact, key)
