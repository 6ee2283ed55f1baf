"""BTQL summary shape: a sort, final_filter or grouping that reads ``scores``, ``metrics`` or
``span_type_info`` only through paths computes only those keys over every trace. On a real
server, each answer is checked against the same query made to compute the whole objects
(a clause that also reads the bare column, which changes no answer) and against plain
Python over the rows written: traces missing a key, keys with dots, quotes, spaces and the
keys ``*`` and ``""``, nulls, integer scores, span filters, and pages followed by cursors."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict

import pytest

from tests.integration.btql_pages import all_pages, btql

TRACES = 18
# Keys that need quoting in a path (and the two a `$` path cannot name).
ODD_KEYS = ["a.b", 'say "hi"', "x y", "*", "", "back\\slash", "Ünï"]


def _score(t: int, span: int) -> float | int | None:
    """A dyadic value (sums and averages are exact in floating point), null or an int."""
    if (t + span) % 7 == 0:
        return None
    if (t + span) % 5 == 0:
        return 1  # an integer score
    return ((t * 3 + span * 5) % 8) / 8


def _rows(project_id: str, t: int) -> list[dict]:
    """Trace ``t``: a root (task), an llm span, a tool span in most traces and a scorer span
    in some; scores under ordinary and odd keys, some traces without a given key (or without
    any score), metrics of every kind, errors on some llm and tool spans."""
    root = f"k{t:02d}"
    spans = [
        {
            "id": f"{root}-root",
            "span_id": f"{root}-s0",
            "span_attributes": {"name": f"turn-{t % 3}", "type": "task"},
            "metrics": {"start": 100.0 * t, "end": 100.0 * t + 8.5},
        },
        {
            "id": f"{root}-llm",
            "span_id": f"{root}-s1",
            "span_parents": [f"{root}-s0"],
            "span_attributes": {"name": "chat", "type": "llm"},
            "metrics": {
                "start": 100.0 * t + 1,
                "end": 100.0 * t + 3.25,
                "prompt_tokens": 10 * t,
                # an embedding-like call of every seventh trace has prompt tokens only
                "completion_tokens": 3 * t + 1 if t % 7 != 6 else None,
                "estimated_cost": t / 64,
                "time_to_first_token": 0.25 * (t % 4),
                "cached": t % 2,
            },
        },
    ]
    if t % 4 != 3:
        spans.append(
            {
                "id": f"{root}-tool",
                "span_id": f"{root}-s2",
                "span_parents": [f"{root}-s0"],
                "span_attributes": {"name": "search", "type": "tool"},
                "metrics": {"start": 100.0 * t + 4, "end": 100.0 * t + 5.5, "tokens": 7 * t},
            }
        )
    if t % 3 != 2:
        spans.append(
            {
                "id": f"{root}-scorer",
                "span_id": f"{root}-s3",
                "span_parents": [f"{root}-s0"],
                "span_attributes": {"name": "score", "type": "score"},
                "metrics": {"start": 100.0 * t + 6, "end": 100.0 * t + 7, "total_tokens": 2 * t},
            }
        )
    for i, span in enumerate(spans):
        scores = {}
        if t % 6 != 5:  # traces 5, 11, 17 have no Factuality
            if i in (0, 3) or t % 2 == 0:
                scores["Factuality"] = _score(t, i)
        for k, key in enumerate(ODD_KEYS):
            if (t + k) % 3 != 0 and (i + k) % 2 == 0:
                scores[key] = _score(t + k, i)
        if t % 9 != 4:  # traces 4 and 13 have no scores at all
            span["scores"] = scores or None
        if t % 5 == 1 and span["span_attributes"]["type"] in ("llm", "tool"):
            span["error"] = f"failed {t}"
    common = {"project_id": project_id, "log_id": "g", "root_span_id": root}
    return [{**common, **{k: v for k, v in span.items() if v is not None}} for span in spans]


@pytest.fixture(scope="module")
def logs(server):
    """(client, project id, rows written) on the session's server."""
    with server.client() as client:
        name = f"summary-keys-{uuid.uuid4().hex[:8]}"
        project_id = client.post("/v1/project", json={"name": name}).json()["id"]
        written = []
        for t in range(TRACES):
            rows = _rows(project_id, t)
            response = client.post("/logs3", json={"rows": rows})
            assert response.status_code == 200, response.text
            written += rows
        yield client, project_id, written


# -- the expected values, in plain Python ------------------------------------------------------


def _traces(rows: list[dict]) -> dict[str, list[dict]]:
    out = defaultdict(list)
    for row in rows:
        out[row["root_span_id"]].append(row)
    return out


def _avg(values: list) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def _sum(values: list) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def summary_values(spans: list[dict]) -> dict:
    """The summary values of one trace the queries below read."""

    def kind(s):
        return s["span_attributes"]["type"]

    def m(s, key):
        return s.get("metrics", {}).get(key)

    scores = {}
    for s in spans:
        for key in s.get("scores") or {}:
            scores.setdefault(key, []).append(s["scores"][key])

    def tokens(s):
        for value in (m(s, "total_tokens"), m(s, "tokens")):
            if value is not None:
                return value
        p, c = m(s, "prompt_tokens"), m(s, "completion_tokens")
        if p is None and c is None:
            return None
        return (p or 0) + (c or 0)

    llm = [s for s in spans if kind(s) == "llm"]
    return {
        "scores": {key: _avg(values) for key, values in scores.items()},
        "total_tokens": _sum([tokens(s) for s in spans]),
        "estimated_cost": _sum([m(s, "estimated_cost") for s in spans]),
        "errors": sum(1 for s in spans if kind(s) in ("llm", "tool") and "error" in s),
        "llm_calls": len(llm),
        "duration": max(m(s, "end") for s in spans) - min(m(s, "start") for s in spans),
        "has_error": any("error" in s for s in spans),
        "span_count": len(spans),
        "cached": all(bool(m(s, "cached")) for s in llm),
    }


@pytest.fixture(scope="module")
def expected(logs) -> dict[str, dict]:
    _, _, rows = logs
    return {root: summary_values(spans) for root, spans in _traces(rows).items()}


# -- helpers ------------------------------------------------------------------------------------


def _path(key: str) -> str:
    """``scores."<key>"`` as BTQL writes it."""
    return 'scores."' + key.replace('"', '""') + '"'


def rows_of(client, query: str, *, sql: bool = False) -> list[dict]:
    """Every row of ``query``, its pages followed by their cursors (pages of 4 traces)."""
    return [row for page in all_pages(client, query, sql=sql) for row in page]


def _ids(rows: list[dict]) -> list[str]:
    return [row["root_span_id"] for row in rows]


def _sql_of(client, query: str) -> str:
    response = client.post("/btql", json={"query": query, "explain": True})
    assert response.status_code == 200, response.text
    return response.json()["sql"]


# Always true, and reads the whole column: the ranking then computes whole objects.
WHOLE = {
    "scores": "(len(scores) >= 0 OR scores IS NULL)",
    "metrics": "len(metrics) >= 0",
    "span_type_info": "len(span_type_info) >= 0",
}
# A text that the SQL of a whole object holds once (a narrowed one lacks it): the average of
# every score, the metric tool_errors, span_type_info's name.
WHOLE_MARKER = {
    "scores": "JOIN score_avgs",
    "metrics": "'tool_errors'",
    "span_type_info": "'name', t.span_attributes",
}


def assert_narrowed(client, narrowed: str, whole: str, column: str) -> None:
    """The ranking of ``narrowed`` computes only some keys of ``column``; that of
    ``whole`` computes the whole object (the rows a page returns are whole in both)."""
    marker = WHOLE_MARKER[column]
    count = _sql_of(client, narrowed).count(marker)
    assert _sql_of(client, whole).count(marker) == count + 1


# -- sorts and final filters, paged ---------------------------------------------------------


SORTED = [
    ("sort: scores.Factuality asc", "scores", lambda v: v["scores"].get("Factuality"), False),
    ("sort: scores.Factuality desc", "scores", lambda v: v["scores"].get("Factuality"), True),
    *[
        (f"sort: {_path(k)} desc", "scores", lambda v, k=k: v["scores"].get(k), True)
        for k in ODD_KEYS
    ],
    ("sort: scores['a.b'] asc", "scores", lambda v: v["scores"].get("a.b"), False),
    ("sort: metrics.total_tokens desc", "metrics", lambda v: v["total_tokens"], True),
    ("sort: metrics.estimated_cost asc", "metrics", lambda v: v["estimated_cost"], False),
    ("sort: metrics.duration desc", "metrics", lambda v: v["duration"], True),
    ("sort: span_type_info.span_count desc", "span_type_info", lambda v: v["span_count"], True),
]


@pytest.mark.parametrize(("sort", "column", "value", "desc"), SORTED, ids=[s[0] for s in SORTED])
def test_sorted_pages_equal_the_whole_computation(logs, expected, sort, column, value, desc):
    client, project, _ = logs
    base = f"select: * | from: project_logs('{project}') summary"
    narrowed = f"{base} | {sort} | limit: 4"
    whole = f"{base} | final_filter: {WHOLE[column]} | {sort} | limit: 4"
    assert_narrowed(client, narrowed, whole, column)
    got, want = rows_of(client, narrowed), rows_of(client, whole)
    assert len(got) == TRACES
    assert got == want  # whole rows, in the same order, page after page
    # The returned rows keep the key order of the whole objects, too.
    assert [json.dumps(r["scores"]) for r in got] == [json.dumps(r["scores"]) for r in want]
    # and the order is that of the values computed in Python (nulls last either way)
    values = [value(expected[root]) for root in _ids(got)]
    present = [v for v in values if v is not None]
    assert present == sorted(present, reverse=desc)
    assert all(v is None for v in values[len(present) :])
    assert len(present) == sum(value(v) is not None for v in expected.values())


def test_the_returned_rows_hold_the_whole_averages(logs, expected):
    client, project, _ = logs
    query = (
        f"select: * | from: project_logs('{project}') summary | sort: scores.Factuality desc"
        " | limit: 5"
    )
    rows = rows_of(client, query)
    assert {r["root_span_id"]: r["scores"] for r in rows} == {
        root: (v["scores"] or None) for root, v in expected.items()
    }
    for row in rows:
        want = expected[row["root_span_id"]]
        assert row["metrics"]["total_tokens"] == want["total_tokens"]
        assert row["span_type_info"]["span_count"] == want["span_count"]
        assert row["span_type_info"]["has_error"] == want["has_error"]
        assert list(row["scores"] or {}) == sorted(row["scores"] or {})  # keys in order
    assert sum(row["scores"] is None for row in rows) == 2  # traces without any score


FILTERED = [
    ("scores.Factuality > 0.5", "scores", lambda v: (v["scores"].get("Factuality") or 0) > 0.5),
    (
        _path('say "hi"') + " >= 0.5 OR " + _path("*") + " IS NULL",
        "scores",
        lambda v: (v["scores"].get('say "hi"') or 0) >= 0.5 or v["scores"].get("*") is None,
    ),
    (f"{_path('')} IS NOT NULL", "scores", lambda v: v["scores"].get("") is not None),
    ("metrics.total_tokens > 150", "metrics", lambda v: (v["total_tokens"] or 0) > 150),
    ("metrics.errors > 0", "metrics", lambda v: v["errors"] > 0),
    ("span_type_info.has_error", "span_type_info", lambda v: v["has_error"]),
    ("span_type_info.cached", "span_type_info", lambda v: v["cached"]),
]


@pytest.mark.parametrize(("condition", "column", "keep"), FILTERED, ids=[f[0] for f in FILTERED])
@pytest.mark.parametrize("sort", ["", " | sort: metrics.duration asc, scores.Factuality desc"])
def test_final_filters_equal_the_whole_computation(logs, expected, condition, column, keep, sort):
    client, project, _ = logs
    base = f"select: * | from: project_logs('{project}') summary"
    narrowed = f"{base} | final_filter: {condition}{sort} | limit: 4"
    whole = f"{base} | final_filter: ({condition}) AND {WHOLE[column]}{sort} | limit: 4"
    assert_narrowed(client, narrowed, whole, column)
    got, want = rows_of(client, narrowed), rows_of(client, whole)
    assert got == want
    assert set(_ids(got)) == {root for root, v in expected.items() if keep(v)}
    assert 0 < len(got) < TRACES


def test_a_span_filter_narrows_the_spans_summed(logs, expected):
    client, project, rows = logs
    base = f"select: root_span_id, scores | from: project_logs('{project}') summary"
    clauses = "span_filter: span_attributes.type != 'score'"
    sort = "sort: scores.Factuality desc | limit: 4"
    narrowed = f"{base} | {clauses} | {sort}"
    whole = f"{base} | {clauses} | final_filter: {WHOLE['scores']} | {sort}"
    got, want = rows_of(client, narrowed), rows_of(client, whole)
    assert got == want
    kept = {
        root: summary_values([s for s in spans if s["span_attributes"]["type"] != "score"])
        for root, spans in _traces(rows).items()
    }
    values = [kept[root]["scores"].get("Factuality") for root in _ids(got)]
    present = [v for v in values if v is not None]
    assert present == sorted(present, reverse=True) and len(present) > 0


# -- groupings ----------------------------------------------------------------------------------


def _groups(rows: list[dict], dims: list[str]) -> dict:
    return {tuple(r[d] for d in dims): {k: v for k, v in r.items() if k not in dims} for r in rows}


GROUPED = [
    ("dimensions: metrics.errors as e | measures: count(1) as n", "metrics", ["e"]),
    (
        "dimensions: span_type_info.has_error as value | measures: count(1) as n"
        " | sort: n desc | limit: 11",
        "span_type_info",
        ["value"],
    ),
    (
        "dimensions: metrics.llm_calls as c, span_type_info.cached as k"
        " | measures: avg(scores.Factuality) as f, sum(metrics.total_tokens) as t,"
        f" max({_path('a.b')}) as ab, count(1) as n | final_filter: count(1) > 0",
        "scores",
        ["c", "k"],
    ),
    (
        "measures: avg(scores.Factuality) as f, min(scores['x y']) as xy,"
        " sum(metrics.estimated_cost) as cost, max(span_type_info.span_count) as spans",
        "metrics",
        [],
    ),
]


@pytest.mark.parametrize(("clauses", "column", "dims"), GROUPED, ids=[g[0] for g in GROUPED])
def test_groupings_equal_the_whole_computation(logs, clauses, column, dims):
    client, project, _ = logs
    base = f"from: project_logs('{project}') summary"
    narrowed = f"{base} | {clauses}"
    # a measure that reads the whole column (its own output is left out of the comparison)
    whole = narrowed.replace("measures: ", f"measures: count({column}) as whole, ", 1)
    assert_narrowed(client, narrowed, whole, column)
    got = btql(client, narrowed)["data"]
    want = [{k: v for k, v in r.items() if k != "whole"} for r in btql(client, whole)["data"]]
    assert _groups(got, dims) == _groups(want, dims)


def _approx(value: float | None):
    """An average of averages: the sums may differ in their last digit."""
    return value if value is None else pytest.approx(value, rel=1e-12)


def test_groupings_equal_python(logs, expected):
    client, project, _ = logs
    text = (
        f"from: project_logs('{project}') summary | dimensions: metrics.errors as e"
        " | measures: count(1) as n, avg(scores.Factuality) as f, sum(metrics.total_tokens) as t"
    )
    got = {r["e"]: (r["n"], r["f"], r["t"]) for r in btql(client, text)["data"]}
    want = defaultdict(list)
    for v in expected.values():
        want[v["errors"]].append(v)
    assert got == {
        errors: (
            len(vs),
            _approx(_avg([v["scores"].get("Factuality") for v in vs])),
            _sum([v["total_tokens"] for v in vs]),
        )
        for errors, vs in want.items()
    }
    assert len(got) > 1
    text = (
        f"from: project_logs('{project}') summary"
        " | dimensions: span_type_info.has_error as value | measures: count(1) as n"
    )
    got = {r["value"]: r["n"] for r in btql(client, text)["data"]}
    assert got == {
        flag: sum(v["has_error"] == flag for v in expected.values()) for flag in (True, False)
    }


# -- SQL, and the traces shape -------------------------------------------------------------------


def test_sql_pages_by_offset(logs, expected):
    client, project, _ = logs
    source = f"FROM project_logs('{project}', shape => 'summary')"
    narrowed = (
        f"SELECT root_span_id, scores['a.b'] AS ab {source}"
        f" ORDER BY scores['a.b'] DESC, root_span_id LIMIT 5"
    )
    whole = narrowed.replace(" ORDER BY", " HAVING len(scores) >= 0 OR scores IS NULL ORDER BY")
    got, want = rows_of(client, narrowed, sql=True), rows_of(client, whole, sql=True)
    assert got == want
    assert [r["ab"] for r in got] == sorted(
        (v["scores"].get("a.b") for v in expected.values()),
        key=lambda x: (x is None, -(x or 0)),
    )


def test_traces_shape_final_filter(logs, expected):
    client, project, _ = logs
    text = (
        f"select: root_span_id | from: project_logs('{project}') traces"
        " | final_filter: scores.Factuality >= 0.5 AND metrics.errors = 0 | limit: 5"
    )
    got = {r["root_span_id"] for r in rows_of(client, text)}
    assert got == {
        root
        for root, v in expected.items()
        if (v["scores"].get("Factuality") or 0) >= 0.5 and v["errors"] == 0
    }
