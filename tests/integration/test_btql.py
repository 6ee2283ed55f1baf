"""POST /btql end to end: the three syntaxes, shapes, formats, paging, errors, scoping."""

from __future__ import annotations

import io
import uuid

import orjson
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.btql_pages import btql


@pytest.fixture
def project(app_client):
    """A project with 12 traces of 3 spans (root task, tool, llm) and known values."""
    name = f"btql-{uuid.uuid4().hex[:8]}"
    project_id = app_client.post("/v1/project", json={"name": name}).json()["id"]
    rows = []
    for t in range(12):
        root = f"t{t:02d}"
        model = ["gpt-4", "claude", "gpt-4o"][t % 3]
        rows.append(
            {
                "project_id": project_id,
                "log_id": "g",
                "id": f"{root}-root",
                "span_id": f"{root}-s0",
                "root_span_id": root,
                "created": f"2026-01-{1 + t:02d}T10:00:00Z",
                "input": {"question": f"question number {t}"},
                "output": f"answer {t}",
                "metadata": {"model": model, "user": {"tier": "pro" if t % 2 else "free"}},
                "scores": {"quality": t / 11},
                "tags": ["triage"] if t % 4 == 0 else ["ok"],
                "metrics": {"start": 1000.0 * t, "end": 1000.0 * t + 2},
                "span_attributes": {"name": "root", "type": "task"},
            }
        )
        rows.append(
            {
                "project_id": project_id,
                "log_id": "g",
                "id": f"{root}-tool",
                "span_id": f"{root}-s1",
                "root_span_id": root,
                "span_parents": [f"{root}-s0"],
                "created": f"2026-01-{1 + t:02d}T10:00:01Z",
                "input": {"query": "lookup"},
                "span_attributes": {"name": "search", "type": "tool"},
                "error": "timeout" if t == 5 else None,
            }
        )
        rows.append(
            {
                "project_id": project_id,
                "log_id": "g",
                "id": f"{root}-llm",
                "span_id": f"{root}-s2",
                "root_span_id": root,
                "span_parents": [f"{root}-s0"],
                "created": f"2026-01-{1 + t:02d}T10:00:02Z",
                "metrics": {
                    "prompt_tokens": 100 + t,
                    "completion_tokens": 10,
                    "start": 1000.0 * t,
                    "end": 1000.0 * t + 1,
                },
                "span_attributes": {"name": "chat", "type": "llm"},
                "scores": {"quality": 1.0},
            }
        )
    assert app_client.post("/logs3", json={"rows": rows}).status_code == 200
    return project_id


def test_btql_sql_and_ast_give_the_same_rows(app_client, project):
    text = (
        f"select: id, metadata.model as model | from: project_logs('{project}') "
        "| filter: is_root and metadata.model = 'gpt-4' | sort: id asc"
    )
    sql = (
        f"SELECT id, metadata.model AS model FROM project_logs('{project}') "
        "WHERE is_root AND metadata.model = 'gpt-4' ORDER BY id ASC"
    )
    ast = {
        "select": [
            {"expr": {"op": "ident", "name": ["id"]}, "alias": "id"},
            {"expr": {"btql": "metadata.model"}, "alias": "model"},
        ],
        "from": {
            "op": "function",
            "name": {"op": "ident", "name": ["project_logs"]},
            "args": [{"op": "literal", "value": project}],
        },
        "filter": {
            "op": "and",
            "children": [
                {"op": "ident", "name": ["is_root"]},
                {
                    "op": "eq",
                    "left": {"op": "ident", "name": ["metadata", "model"]},
                    "right": {"op": "literal", "value": "gpt-4"},
                },
            ],
        },
        "sort": [{"expr": {"op": "ident", "name": ["id"]}, "dir": "asc"}],
    }
    expected = [{"id": f"t{t:02d}-root", "model": "gpt-4"} for t in range(0, 12, 3)]
    for query in (text, sql, ast):
        answer = btql(app_client, query)
        assert answer["data"] == expected
        assert answer["cursor"] is None
        assert set(answer["freshness_state"]) == {
            "last_considered_xact_id",
            "last_processed_xact_id",
        }
        assert answer["schema"]["items"]["properties"]["id"] == {"type": "string"}


@pytest.mark.parametrize(
    "condition,expected",
    [
        ("metadata.model ILIKE 'gpt%'", 8),
        ("NOT (metadata.model ILIKE 'gpt%')", 4),
        # An object is not a string: its JSON text holds "pro" but never matches, and the
        # test is NULL, not false, so NOT does not match it either.
        ("metadata.user ILIKE '%pro%'", 0),
        ("NOT (metadata.user ILIKE '%zzz%')", 0),
        ("metadata.user ILIKE '%pro%' OR metadata.model = 'claude'", 4),
        ("metadata.model LIKE 'gpt%' AND NOT (metadata.model LIKE '%o')", 4),
        ("(metadata.user ILIKE '%pro%') IS NULL", 12),
    ],
)
def test_like_on_json_fields_matches_strings_only(app_client, project, condition, expected):
    query = f"select: id | from: project_logs('{project}') | filter: is_root AND ({condition})"
    assert len(btql(app_client, query)["data"]) == expected


def test_traces_shape_returns_whole_traces_and_limit_counts_traces(app_client, project):
    answer = btql(
        app_client,
        f"select: id, root_span_id | from: project_logs('{project}') traces"
        " | filter: error IS NOT NULL | limit: 5",
    )
    assert sorted(r["id"] for r in answer["data"]) == ["t05-llm", "t05-root", "t05-tool"]
    page = btql(
        app_client, f"select: id, root_span_id | from: project_logs('{project}') traces | limit: 2"
    )
    assert len({r["root_span_id"] for r in page["data"]}) == 2
    assert len(page["data"]) == 6
    assert page["cursor"]


def test_filter_spans_returns_only_matching_spans_of_matching_traces(app_client, project):
    answer = btql(
        app_client,
        f"select: id | from: project_logs('{project}') traces"
        " | filter: FILTER_SPANS(span_attributes.type = 'llm')"
        " and ANY_SPAN(metadata.model = 'claude') | limit: 100",
    )
    assert sorted(r["id"] for r in answer["data"]) == [f"t{t:02d}-llm" for t in (1, 4, 7, 10)]


def test_summary_rolls_up_a_trace(app_client, project):
    answer = btql(
        app_client,
        f"select: * | from: project_logs('{project}') summary | filter: root_span_id = 't03'",
    )
    (row,) = answer["data"]
    assert row["id"] == "t03-root"
    assert row["input"] == {"question": "question number 3"}
    assert row["scores"]["quality"] == pytest.approx((3 / 11 + 1.0) / 2)
    assert row["metrics"]["prompt_tokens"] == 103
    assert row["metrics"]["llm_calls"] == 1 and row["metrics"]["tool_calls"] == 1
    assert row["metrics"]["duration"] == pytest.approx(2.0)


def test_aggregates(app_client, project):
    answer = btql(
        app_client,
        f"dimensions: metadata.model as model | measures: count(1) as n,"
        f" count(error) / count(1) as error_rate"
        f" | from: project_logs('{project}') | sort: model asc",
    )
    # NULLs sort last; count(error) counts only errored spans; the rate is not integer division
    assert answer["data"] == [
        {"model": "claude", "n": 4, "error_rate": 0},
        {"model": "gpt-4", "n": 4, "error_rate": 0},
        {"model": "gpt-4o", "n": 4, "error_rate": 0},
        {"model": None, "n": 24, "error_rate": pytest.approx(1 / 24)},
    ]


def test_aggregates_reading_several_fields_of_one_column(app_client, project):
    """Several metrics fields in one aggregate query: the engine reads them with one JSON
    call per row (a list of paths); the answers are the per-field ones."""
    query = (
        "dimensions: span_attributes.type AS kind"
        " | measures: sum(metrics.prompt_tokens) AS prompt, max(metrics.end - metrics.start)"
        " AS longest, count(metrics.completion_tokens) AS counted"
        f" | from: project_logs('{project}') | filter: metrics.start >= 3000"
        " | final_filter: count(1) > 1 | sort: kind"
    )
    rows = {r["kind"]: r for r in btql(app_client, query)["data"]}
    assert set(rows) == {"llm", "task"}  # tool spans have no metrics.start
    assert rows["llm"]["prompt"] == sum(100 + t for t in range(3, 12))
    assert rows["llm"]["longest"] == 1
    assert rows["llm"]["counted"] == 9
    assert rows["task"]["prompt"] is None and rows["task"]["longest"] == 2
    assert rows["task"]["counted"] == 0
    plan = btql(app_client, query, explain=True)
    assert "json_extract_string(e.metrics, [" in plan["sql"].lower()


def test_measures_without_dimensions_give_one_row(app_client, project):
    for query in (
        f"measures: count(1) as n, count(error) as errors | from: project_logs('{project}')",
        f"SELECT count(*) AS n, count(error) AS errors FROM project_logs('{project}')",
    ):
        assert btql(app_client, query)["data"] == [{"n": 36, "errors": 1}], query


def test_cursor_pages_to_the_end_without_empty_pages(app_client, project):
    seen: list[str] = []
    cursor = None
    for _ in range(20):
        query = f"select: id | from: project_logs('{project}') | limit: 7"
        if cursor:
            query += f" | cursor: '{cursor}'"
        answer = btql(app_client, query)
        assert answer["data"] or answer["cursor"] is None
        seen.extend(r["id"] for r in answer["data"])
        cursor = answer["cursor"]
        if not cursor:
            break
    assert len(seen) == 36 and len(set(seen)) == 36


@pytest.mark.parametrize(
    ("select", "clauses", "count"),
    [
        ("id, output", "", 35),
        ("*", "", 35),
        ("id, output", "| filter: id != 'none'", 35),  # (a condition on the row's own columns)
        ("id, output", "| filter: input.question ILIKE 'question%'", 12),  # the roots
        # (trace t01 has no llm span once it is deleted)
        ("id, output", "| filter: any_span(span_attributes.type = 'llm')", 33),
        ("id, output", "| sample: 100%", 35),
    ],
)
def test_a_span_written_again_while_a_client_pages_keeps_its_place(
    app_client, project, select, clauses, count
):
    """A span written again after the first page took a newer _pagination_key, ahead of the
    cursor, and was never listed. It keeps its place as of the first page now (with its
    rows as they are now), as on fetch; spans begun since are not listed."""

    def page(cursor):
        query = f"select: {select} | from: project_logs('{project}') {clauses} | limit: 7"
        return btql(app_client, query + (f" | cursor: '{cursor}'" if cursor else ""))

    first = page(None)
    ids = [r["id"] for r in first["data"]]
    rows = [
        {"project_id": project, "log_id": "g", "id": "t00-root", "_is_merge": True},
        {"project_id": project, "log_id": "g", "id": "t01-llm", "_object_delete": True},
        {"project_id": project, "log_id": "g", "id": "begun-since", "input": "x"},
    ]
    rows[0]["output"] = "written again"
    assert app_client.post("/logs3", json={"rows": rows}).status_code == 200
    answer, outputs = first, {}
    while answer["cursor"]:
        answer = page(answer["cursor"])
        assert answer["data"] or answer["cursor"] is None
        ids += [r["id"] for r in answer["data"]]
        outputs.update((r["id"], r["output"]) for r in answer["data"])
    assert len(ids) == len(set(ids))
    assert "t00-root" in ids and outputs["t00-root"] == "written again"
    assert "t01-llm" not in ids and "begun-since" not in ids
    assert len(ids) == count


@pytest.mark.parametrize(
    "clauses", ["| sort: input asc", "| sample: 10 seed 4", "traces | sort: input asc"]
)
def test_sorted_and_sampled_pages_pinned_to_a_version_hold_while_rows_are_written(
    app_client, clauses
):
    """docs/btql.md said sorted and sampled pages neither skip nor repeat a row, which holds
    only while nothing is written (rows written between pages move the later pages); a
    version given to every page keeps them, as docs/btql.md now says."""
    name = f"pinned-{uuid.uuid4().hex[:8]}"
    project_id = app_client.post("/v1/project", json={"name": name}).json()["id"]
    body = {"project_id": project_id, "name": "e"}
    experiment = app_client.post("/v1/experiment", json=body).json()["id"]

    def log(rows) -> str:
        response = app_client.post("/logs3", json={"rows": rows})
        assert response.status_code == 200, response.text
        return response.json()["_xact_id"]

    version = log([{"experiment_id": experiment, "id": f"r{i}", "input": i} for i in range(40)])
    query = f"select: id | from: experiment('{experiment}') {clauses} | limit: 5"
    ids, cursor, written = [], None, 0
    while True:
        text = query + (f" | cursor: '{cursor}'" if cursor else "")
        answer = btql(app_client, text, version=version)
        ids += [r["id"] for r in answer["data"]]
        cursor = answer["cursor"]
        if cursor is None:
            break
        written += 1  # rows that sort first, and more rows to sample from, at every page
        log([{"experiment_id": experiment, "id": f"n{written}-{j}", "input": -j} for j in range(9)])
    alone = [r["id"] for r in btql(app_client, query.replace("limit: 5", "limit: 100"),
                                   version=version)["data"]]  # fmt: skip
    assert ids == alone and len(ids) == len(set(ids))
    assert len(ids) == (10 if "sample" in clauses else 40)


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_formats(app_client, project, fmt):
    response = app_client.post(
        "/btql",
        json={
            "query": f"select: id, tags, metadata | from: project_logs('{project}')"
            " | filter: is_root | sort: id asc | limit: 3",
            "fmt": fmt,
        },
    )
    assert response.status_code == 200
    assert response.headers["x-bt-cursor"]
    if fmt == "jsonl":
        rows = [orjson.loads(line) for line in response.content.splitlines()]
        assert rows[0] == {
            "id": "t00-root",
            "tags": ["triage"],
            "metadata": {"model": "gpt-4", "user": {"tier": "free"}},
        }
    elif fmt == "csv":
        lines = response.text.splitlines()
        assert lines[0] == '"id","tags","metadata"'
        assert lines[1].startswith('"t00-root","[""triage""]",')
    else:
        table = pq.read_table(io.BytesIO(response.content))
        assert table.column("id").to_pylist() == ["t00-root", "t01-root", "t02-root"]
        assert orjson.loads(table.column("metadata")[0].as_py())["model"] == "gpt-4"


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_an_output_column_may_have_any_name(app_client, project, fmt):
    """Rows are rendered as structs; a column named like a SQL alias of the renderer (`j`,
    `r`) was taken for the whole row, and `other` went missing."""
    query = (
        f"select: id as j, span_id as r, 'x' as other | from: project_logs('{project}')"
        " | filter: id = 't03-root'"
    )
    response = app_client.post("/btql", json={"query": query, "fmt": fmt})
    assert response.status_code == 200, response.text
    if fmt == "json":
        rows = response.json()["data"]
    else:
        rows = [orjson.loads(line) for line in response.content.splitlines()]
    assert rows == [{"j": "t03-root", "r": "t03-s0", "other": "x"}]


@pytest.mark.parametrize("fmt", ["json", "jsonl", "csv", "parquet"])
def test_output_names_that_differ_only_in_case_stay_apart(app_client, project, fmt):
    """BTQL names are case-sensitive, DuckDB's are not: `a` and `A` are two columns with
    their own values in every format (they were one column's value under `a` and `a_1`)."""
    query = (
        f"select: id as a, span_id as A, tags as t, 2 as T | from: project_logs('{project}')"
        " | filter: is_root | sort: id asc | limit: 2"
    )
    response = app_client.post("/btql", json={"query": query, "fmt": fmt})
    assert response.status_code == 200, response.text
    if fmt == "json":
        rows = response.json()["data"]
        assert list(response.json()["schema"]["items"]["properties"]) == ["a", "A", "t", "T"]
    elif fmt == "jsonl":
        rows = [orjson.loads(line) for line in response.content.splitlines()]
    elif fmt == "csv":
        lines = response.text.splitlines()
        assert lines[0] == '"a","A","t","T"'
        assert lines[1] == '"t00-root","t00-s0","[""triage""]",2'
        return
    else:
        rows = pq.read_table(io.BytesIO(response.content)).to_pylist()
        rows = [{**r, "t": orjson.loads(r["t"])} for r in rows]
    assert rows == [
        {"a": "t00-root", "A": "t00-s0", "t": ["triage"], "T": 2},
        {"a": "t01-root", "A": "t01-s0", "t": ["ok"], "T": 2},
    ]
    assert [list(r) for r in rows] == [["a", "A", "t", "T"]] * 2


@pytest.mark.parametrize(
    ("query", "line", "col"),
    [
        ("select: id | from: project_logs('{p}') | filter: is_root and", 1, None),
        ("select: id\nfrom: project_logs('{p}')\nfilter: metadata.x = = 2", 3, None),
        ("select: nope | from: project_logs('{p}')", 1, 9),
    ],
)
def test_errors_name_line_and_column(app_client, project, query, line, col):
    response = app_client.post("/btql", json={"query": query.format(p=project)})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["line"] == line
    if col is not None:
        assert error["col"] == col
    assert " at " in error["message"]


@pytest.mark.parametrize("name", ["explain", "audit_log"])
@pytest.mark.parametrize("value", [1, 0, "yes", "", [], {}])
def test_a_flag_that_is_not_a_boolean_is_refused(app_client, project, name, value):
    query = f"select: id | from: project_logs('{project}') | limit: 1"
    response = app_client.post("/btql", json={"query": query, name: value})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["message"] == f"{name} must be true or false"


def test_unknown_and_foreign_objects_are_not_found(app_client, project):
    missing = app_client.post(
        "/btql", json={"query": f"select: id | from: project_logs('{uuid.uuid4()}')"}
    )
    assert missing.status_code == 404
    org = app_client.post("/v1/organization", json={"name": f"other-{uuid.uuid4().hex[:6]}"})
    other_key = org.json()["api_key"]["key"]
    foreign = app_client.post(
        "/btql",
        json={"query": f"select: id | from: project_logs('{project}')"},
        headers={"Authorization": f"Bearer {other_key}"},
    )
    assert foreign.status_code == 404
    # the same words as for an id that exists nowhere, at the argument (1:33)
    error = foreign.json()["error"]
    assert error["message"] == f"project {project!r} not found at 1:33"
    assert (error["type"], error["line"], error["col"]) == ("NotFound", 1, 33)
    assert missing.json()["error"]["message"].endswith(" not found at 1:33")


@pytest.mark.parametrize(
    ("text", "argument"),
    [
        ("select: * | from: experiment('zz')", "'zz'"),
        ("SELECT *\nFROM dataset('nope')", "'nope'"),
        ("select: id\nfrom: project_dataset('{project}', 'nope')", "'nope'"),
        ("select: id | from: project_logs('{project}',\n  'nope')", "'nope'"),
    ],
)
def test_a_missing_source_is_a_404_at_its_argument(app_client, project, text, argument):
    """It was a 404 without a position, unlike every other error about a query."""
    text = text.format(project=project)
    answer = app_client.post("/btql", json={"query": text})
    assert answer.status_code == 404, answer.text
    error = answer.json()["error"]
    at = text.index(argument)
    line = text.count("\n", 0, at) + 1
    col = at - (text.rfind("\n", 0, at) + 1) + 1
    assert (error["type"], error["line"], error["col"]) == ("NotFound", line, col)
    assert error["message"].endswith(f"{argument} not found at {line}:{col}")


def test_injection_attempts_stay_values(app_client, project):
    nasty = "x'); DROP TABLE live; --"
    answer = btql(
        app_client,
        f"select: id | from: project_logs('{project}')"
        f" | filter: metadata.model = '{nasty.replace(chr(39), chr(39) * 2)}'",
    )
    assert answer["data"] == []
    again = btql(
        app_client, f"select: count(1) as n | from: project_logs('{project}') | dimensions: is_root"
    )
    assert sum(r["n"] for r in again["data"]) == 36


def test_pivot_spreads_measures_over_a_columns_values(app_client, project):
    answer = btql(
        app_client,
        f"dimensions: is_root as root | measures: count(1) as n | from: project_logs('{project}')"
        " | filter: is_root | pivot: metadata.model",
    )
    assert answer["data"] == [{"root": True, "claude_n": 4, "gpt-4_n": 4, "gpt-4o_n": 4}]
    sql = btql(
        app_client,
        f"SELECT count(*) AS n FROM project_logs('{project}')"
        " PIVOT (count(*) AS n FOR metadata.model IN (ANY)) WHERE is_root",
    )
    assert sql["data"] == [{"claude_n": 4, "gpt-4_n": 4, "gpt-4o_n": 4}]


def test_unpivot_turns_an_object_into_rows(app_client, project):
    answer = btql(
        app_client,
        f"dimensions: name | measures: count(1) as n | from: project_logs('{project}')"
        " | unpivot: scores as (name, value) | sort: name asc",
    )
    assert answer["data"] == [{"name": "quality", "n": 24}]
    tags = btql(
        app_client,
        f"dimensions: tag | measures: count(1) as n | from: project_logs('{project}')"
        " | unpivot: tags as tag | sort: tag asc",
    )
    assert tags["data"] == [{"tag": "ok", "n": 9}, {"tag": "triage", "n": 3}]


def test_tz_offset_moves_day_buckets(app_client, project):
    query = (
        f"dimensions: day(created) as d | measures: count(1) as n"
        f" | from: project_logs('{project}') | filter: id = 't00-root'"
    )
    utc = btql(app_client, query)["data"]
    # at UTC-11, 10:00Z on Jan 1 is 23:00 on Dec 31: its day starts at 11:00Z on Dec 31
    pacific = btql(app_client, query, tz_offset=660)["data"]
    assert utc == [{"d": "2026-01-01T00:00:00Z", "n": 1}]
    assert pacific == [{"d": "2025-12-31T11:00:00Z", "n": 1}]


def test_preview_length_cuts_summary_previews(app_client, project):
    answer = btql(
        app_client,
        f"select: input | from: project_logs('{project}') summary | preview_length: 10"
        " | filter: root_span_id = 't01'",
    )
    assert answer["data"] == [{"input": '{"question'}]


@pytest.mark.parametrize(
    "part",
    [
        "filter: " + " and ".join(["is_root"] * 600),
        "filter: " + " and ".join(f"id != 'x{n}'" for n in range(1000)),
        "filter: " + " or ".join(f"id = 'x{n}'" for n in range(1000)),
        "select: " + " + ".join(f"coalesce(metrics.m{n}, 0)" for n in range(300)) + " as total",
    ],
    ids=["and-chain", "and-chain-one-column", "or-chain", "sum-chain"],
)
def test_long_expressions_run(app_client, project, part):
    """Long chains of ordinary terms recursed past Python's limit (a 500): the compiler
    builds them as balanced trees, and the planner folds terms on one column in halves."""
    query = f"{part} | from: project_logs('{project}') | limit: 1"
    if not part.startswith("select"):
        query = f"select: id | {query}"
    response = app_client.post("/btql", json={"query": query})
    assert response.status_code == 200, response.text


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=st.text(max_size=80))
def test_random_text_never_fails_with_a_server_error(app_client, project, text):
    response = app_client.post("/btql", json={"query": text})
    assert response.status_code in (400, 404), response.text
    response = app_client.post(
        "/btql", json={"query": f"select: id | from: project_logs('{project}') | filter: {text}"}
    )
    assert response.status_code in (200, 400, 404), response.text


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "op",
                    "name",
                    "args",
                    "left",
                    "right",
                    "children",
                    "value",
                    "expr",
                    "select",
                    "from",
                    "filter",
                    "btql",
                    "alias",
                    "sort",
                    "dir",
                ]
            ),
            children,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(tree=json_values)
def test_random_json_queries_never_fail_with_a_server_error(app_client, project, tree):
    response = app_client.post("/btql", json={"query": tree})
    assert response.status_code in (400, 404), response.text
    filtered = {
        "select": [{"op": "star"}],
        "from": {
            "op": "function",
            "name": {"op": "ident", "name": ["project_logs"]},
            "args": [{"op": "literal", "value": project}],
        },
        "filter": tree,
    }
    response = app_client.post("/btql", json={"query": filtered})
    assert response.status_code in (200, 400), response.text


def test_cli_query_against_the_data_dir(tmp_path):
    import subprocess
    import sys

    data_dir = str(tmp_path / "data")
    base = [sys.executable, "-m", "tracelake"]
    env = {"COLUMNS": "200", "PATH": "/usr/bin:/bin"}
    loaded = subprocess.run(
        [*base, "demo", "--data-dir", data_dir],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert loaded.returncode == 0, loaded.stderr
    query = "dimensions: is_root as root | measures: count(1) as n | from: project_logs('demo')"
    out = subprocess.run(
        [*base, "query", query, "--data-dir", data_dir, "-f", "jsonl"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    rows = sorted((orjson.loads(line) for line in out.stdout.splitlines()), key=lambda r: r["root"])
    assert rows == [{"root": False, "n": 80}, {"root": True, "n": 40}]
    bad = subprocess.run(
        [
            *base,
            "query",
            "select: id | from: project_logs('demo') | limit: x",
            "--data-dir",
            data_dir,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert bad.returncode == 1
    assert bad.stderr.startswith("error:") and len(bad.stderr.strip().splitlines()) == 1
    assert "Traceback" not in bad.stderr
    explained = subprocess.run(
        [*base, "query", query, "--data-dir", data_dir, "--explain"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert explained.returncode == 0 and "SELECT" in explained.stdout


@pytest.mark.parametrize(
    "text",
    [
        "select: * | from: project_logs('{p}') summary",
        "SELECT id FROM project_logs('{p}', shape => 'summary')",
    ],
)
def test_audit_log_on_the_summary_shape_is_refused(app_client, project, text):
    """A summary row stands for a whole trace: audit_log added nothing to it (silently);
    it is a 400 at the source now, as the export of a summary refuses it."""
    text = text.format(p=project)
    for explain in (False, True):
        response = app_client.post(
            "/btql", json={"query": text, "audit_log": True, "explain": explain}
        )
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["message"].startswith("audit_log applies to the spans and traces shapes")
        assert error["col"] == text.index("project_logs") + 1
    # spans and traces take it; summary without it answers
    for shape in ("spans", "traces"):
        query = f"select: * | from: project_logs('{project}') {shape} | limit: 1"
        rows = app_client.post("/btql", json={"query": query, "audit_log": True}).json()
        assert all("audit_data" in row for row in rows["data"])
    assert app_client.post("/btql", json={"query": text}).status_code == 200


def test_a_cursor_beside_the_query_pages_like_the_cursor_clause(app_client, project):
    """A top-level ``cursor`` in the body was ignored: every page was the first one."""
    text = f"select: id | from: project_logs('{project}') | limit: 5"
    sql = f"SELECT id FROM project_logs('{project}') LIMIT 5"
    ast = {
        "select": [{"op": "star"}],
        "from": {
            "op": "function",
            "name": {"op": "ident", "name": ["project_logs"]},
            "args": [{"op": "literal", "value": project}],
        },
        "limit": 5,
        "cursor": None,
    }
    first = app_client.post("/btql", json={"query": text}).json()
    cursor = first["cursor"]
    second = app_client.post("/btql", json={"query": f"{text} | cursor: '{cursor}'"}).json()
    expected = [r["id"] for r in second["data"]]
    assert expected and not set(expected) & {r["id"] for r in first["data"]}
    for query in (text, sql, ast, f"{text} | cursor: '{cursor}'"):
        page = app_client.post("/btql", json={"query": query, "cursor": cursor}).json()
        assert [r["id"] for r in page["data"]] == expected, query
        assert page["cursor"] == second["cursor"]
    # null or empty: the first page
    for empty in (None, ""):
        page = app_client.post("/btql", json={"query": text, "cursor": empty}).json()
        assert page["data"] == first["data"]
    # two cursors that differ, a cursor that is not one, one that is not a string: 400
    for query, value, message in [
        (f"{text} | cursor: '{cursor}'", second["cursor"], "the request's cursor and the query"),
        (text, "nonsense", "invalid cursor"),
        (text, 5, "cursor must be a string"),
    ]:
        answer = app_client.post("/btql", json={"query": query, "cursor": value})
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"]["message"].startswith(message)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("fmt", [], "fmt must be one of json, jsonl, csv, parquet"),
        ("fmt", {}, "fmt must be one of json, jsonl, csv, parquet"),
        ("fmt", "", "fmt must be one of json, jsonl, csv, parquet"),
        ("tz_offset", [], "tz_offset must be an integer number of minutes"),
        ("tz_offset", "", "tz_offset must be an integer number of minutes"),
        ("tz_offset", False, "tz_offset must be an integer number of minutes"),
    ],
)
def test_an_option_that_is_false_but_not_null_is_refused(app_client, project, name, value, message):
    """``"fmt": []`` answered json and ``"tz_offset": ""`` read UTC: a value that is false in
    Python was taken for a missing one. Only a missing or null option is the default."""
    query = f"select: id | from: project_logs('{project}') | limit: 1"
    response = app_client.post("/btql", json={"query": query, name: value})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["message"] == message
    response = app_client.post("/btql", json={"query": query, name: None})
    assert response.status_code == 200, response.text


def test_audit_data_is_a_field_with_audit_log_only(app_client, project):
    """docs/btql.md's Fields: with audit_log, ``audit_data`` is named like any field (select
    list, filter, sort) and ``select: *`` ends with it; without, it is an unknown field."""
    row = {"project_id": project, "log_id": "g", "id": "audited", "input": 1}
    row |= {"_audit_source": "app", "_audit_metadata": {"by": "test"}}
    assert app_client.post("/logs3", json={"rows": [row]}).status_code == 200
    source = f"from: project_logs('{project}')"
    named = f"select: id, audit_data | {source} | filter: audit_data IS NOT NULL | sort: id"
    rows = app_client.post("/btql", json={"query": named, "audit_log": True}).json()["data"]
    assert [row["id"] for row in rows] == ["audited"]
    assert list(rows[0]) == ["id", "audit_data"]
    assert [(a["source"], a["metadata"]) for a in rows[0]["audit_data"]] == [
        ("app", {"by": "test"})
    ]
    star = app_client.post(
        "/btql", json={"query": f"select: * | {source} | limit: 1", "audit_log": True}
    ).json()["data"]
    assert list(star[0])[-1] == "audit_data"
    unknown = app_client.post("/btql", json={"query": named})
    assert unknown.status_code == 400, unknown.text
    assert "audit_data" in unknown.json()["error"]["message"]
