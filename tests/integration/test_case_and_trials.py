"""Names that differ only in case stay apart in UNPIVOT (BTQL output names are
case-sensitive; DuckDB's are not), and experiment comparison with several trials per input.
Expected values are computed here from the rows the test writes."""

from __future__ import annotations

import uuid

import pytest

ROWS = [
    {"id": "r0", "tags": ["red", "blue"], "scores": {"acc": 0.25, "f1": 1}},
    {"id": "r1", "tags": ["green"], "scores": {"acc": 0.5}},
]


@pytest.fixture
def project(app_client):
    name = f"case-{uuid.uuid4().hex[:8]}"
    project_id = app_client.post("/v1/project", json={"name": name}).json()["id"]
    rows = [{**r, "project_id": project_id, "log_id": "g"} for r in ROWS]
    assert app_client.post("/logs3", json={"rows": rows}).status_code == 200
    return project_id


def btql(client, query):
    response = client.post("/btql", json={"query": query})
    assert response.status_code == 200, response.text
    return response.json()["data"]


def rows_of(data):
    return sorted(tuple(sorted(r.items())) for r in data)


def expected_tags(name):
    return rows_of([{"id": r["id"], name: tag} for r in ROWS for tag in r["tags"]])


@pytest.mark.parametrize(
    "query",
    [
        "select: id, Tags | from: project_logs('{p}') | unpivot: tags as Tags",
        "SELECT id, Tags FROM project_logs('{p}') UNPIVOT (Tags FOR _ IN (tags))",
    ],
)
def test_an_unpivot_alias_differing_from_a_column_in_case_is_the_element(
    app_client, project, query
):
    data = btql(app_client, query.format(p=project))
    assert rows_of(data) == expected_tags("Tags")


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_pivot_values_differing_only_in_case_are_their_own_columns(app_client, fmt):
    """DuckDB's PIVOT names columns case-insensitively: values `a` and `A` gave `A_n` and
    `a_n_1`; they are `a_n` and `A_n`, each with its own count."""
    project_id = app_client.post("/v1/project", json={"name": f"pv-{uuid.uuid4().hex[:8]}"})
    project_id = project_id.json()["id"]
    models = ["a", "A", "A", "gpt-4", None]
    rows = [
        {"project_id": project_id, "log_id": "g", "id": f"r{i}", "metadata": {"model": m}}
        for i, m in enumerate(models)
    ]
    assert app_client.post("/logs3", json={"rows": rows}).status_code == 200
    query = (
        "dimensions: is_root as root | measures: count(1) as n | pivot: metadata.model"
        f" | from: project_logs('{project_id}')"
    )
    response = app_client.post("/btql", json={"query": query, "fmt": fmt})
    assert response.status_code == 200, response.text
    expected = {"root": True}
    for model in models:
        key = f"{'(null)' if model is None else model}_n"
        expected[key] = expected.get(key, 0) + 1
    if fmt == "json":
        (row,) = response.json()["data"]
        assert row == expected
    else:
        header, line = response.text.splitlines()
        assert sorted(header.replace('"', "").split(",")) == sorted(expected)
        assert len(line.split(",")) == len(expected)


@pytest.mark.parametrize(
    ("key", "value"),
    [("name", "Name"), ("Id", "ID"), ("Scores", "Value"), ("id", "Id")],
)
def test_unpivot_key_and_value_keep_names_differing_only_in_case(app_client, project, key, value):
    query = (
        f"select: span_id, {key}, {value} | from: project_logs('{project}')"
        f" | unpivot: scores as ({key}, {value})"
    )
    data = btql(app_client, query)
    spans = {
        r["id"]: r
        for r in btql(app_client, f"select: id, span_id | from: project_logs('{project}')")
    }
    span_of = {r["span_id"]: r["id"] for r in spans.values()}
    got = [{"row": span_of[r["span_id"]], "key": r[key], "value": r[value]} for r in data]
    expected = [
        {"row": r["id"], "key": k, "value": v} for r in ROWS for k, v in r["scores"].items()
    ]
    assert rows_of(got) == rows_of(expected)


def test_a_filter_and_sort_read_the_unpivoted_element_by_its_name(app_client, project):
    query = (
        f"select: id, Tags | from: project_logs('{project}') | unpivot: tags as Tags"
        " | filter: Tags != 'red' | sort: Tags desc"
    )
    data = btql(app_client, query)
    expected = sorted(
        ({"id": r["id"], "Tags": t} for r in ROWS for t in r["tags"] if t != "red"),
        key=lambda r: r["Tags"],
        reverse=True,
    )
    assert data == expected


def test_a_null_element_is_null_after_unpivot(app_client):
    """A JSON null in the unpivoted object or array is NULL, as a path read gives it:
    IS NULL holds, count() skips it."""
    name = f"nulls-{uuid.uuid4().hex[:8]}"
    project_id = app_client.post("/v1/project", json={"name": name}).json()["id"]
    rows = [
        {"id": "a", "metadata": {"m": {"k1": 1, "k2": None}, "l": [1, None]}},
        {"id": "b", "metadata": {"m": {"k1": None}, "l": [None]}},
    ]
    rows = [{**r, "project_id": project_id, "log_id": "g"} for r in rows]
    assert app_client.post("/logs3", json={"rows": rows}).status_code == 200
    source = f"from: project_logs('{project_id}')"
    objects = f"select: id, k, v | {source} | unpivot: metadata.m as (k, v)"
    data = btql(app_client, f"{objects} | filter: v IS NULL")
    assert rows_of(data) == rows_of(
        [{"id": "a", "k": "k2", "v": None}, {"id": "b", "k": "k1", "v": None}]
    )
    assert btql(app_client, f"{objects} | filter: v IS NOT NULL") == [
        {"id": "a", "k": "k1", "v": 1}
    ]
    counts = btql(
        app_client,
        f"dimensions: k | measures: count(v) as n, count(1) as rows | {source}"
        " | unpivot: metadata.m as (k, v) | sort: k asc",
    )
    assert counts == [{"k": "k1", "n": 1, "rows": 2}, {"k": "k2", "n": 0, "rows": 1}]
    arrays = f"select: id, x | {source} | unpivot: metadata.l as x | filter: x IS NULL"
    assert sorted(r["id"] for r in btql(app_client, arrays)) == ["a", "b"]


# -- experiment comparison with several trials per input ------------------------------------

# Per input: the base's trials and the current experiment's, as scores. A trial written
# earlier has the smaller root_span_id, so "the first base trace" would be the first score.
TRIALS = {
    "q0": ([0.0, 1.0], [0.5]),  # averages equal: neither
    "q1": ([0.0, 1.0], [0.25, 0.75]),  # equal again, two trials on both sides
    "q2": ([0.0, 0.5], [0.5]),  # 0.25 -> 0.5: an improvement
    "q3": ([0.25, 1.0], [0.5]),  # 0.625 -> 0.5: a regression (not 0.25 -> 0.5)
    "q4": ([1.0, 0.0], [0.25, 0.5]),  # 0.5 -> 0.375: a regression
}


def write_trials(client, experiment_id: str, side: int) -> None:
    rows = []
    for q, trials in TRIALS.items():
        for n, score in enumerate(trials[side]):
            span = f"{q}-trial{n}"
            rows.append(
                {
                    "experiment_id": experiment_id,
                    "id": span,
                    "span_id": span,
                    "root_span_id": span,
                    "input": {"q": q},
                    "scores": {"s": score},
                }
            )
    response = client.post("/logs3", json={"rows": rows})
    assert response.status_code == 200, response.text


def test_trials_of_an_input_are_compared_by_their_average(app_client):
    name = f"trials-{uuid.uuid4().hex[:8]}"
    project_id = app_client.post("/v1/project", json={"name": name}).json()["id"]
    base, current = (
        app_client.post("/v1/experiment", json={"project_id": project_id, "name": n}).json()["id"]
        for n in ("base", "current")
    )
    write_trials(app_client, base, 0)
    write_trials(app_client, current, 1)
    response = app_client.get(
        f"/v1/experiment/{current}/summarize",
        params={"summarize_scores": "true", "comparison_experiment_id": base},
    )
    assert response.status_code == 200, response.text
    deltas = [sum(c) / len(c) - sum(b) / len(b) for b, c in TRIALS.values()]
    mean_base = sum(s for b, _ in TRIALS.values() for s in b) / sum(
        len(b) for b, _ in TRIALS.values()
    )
    current_scores = [s for _, c in TRIALS.values() for s in c]
    mean_current = sum(current_scores) / len(current_scores)
    assert response.json()["scores"]["s"] == {
        "name": "s",
        "score": mean_current,
        "improvements": sum(d > 0 for d in deltas),
        "regressions": sum(d < 0 for d in deltas),
        "diff": mean_current - mean_base,
    }
