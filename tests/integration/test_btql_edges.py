"""POST /btql: edge cases of the language (docs/btql.md): times the answers write in ISO
8601's expanded years read back as literals, JSON booleans as numbers, pivot columns of
values of different types, the names of unaliased expressions, and values past a type's
range. Expected values are worked out here from the rows the test writes."""

from __future__ import annotations

import io
import uuid

import pyarrow.parquet as pq
import pytest

ROWS = [
    {"id": "a", "created": "2024-01-01T00:00:00Z", "metadata": {"flag": True, "k": "1"}},
    {"id": "b", "created": "2024-01-02T00:00:00Z", "metadata": {"flag": False, "k": 1}},
    {"id": "c", "created": "2024-01-03T00:00:00Z", "metadata": {"flag": True, "k": "x"}},
]


@pytest.fixture
def project(app_client):
    name = f"edges-{uuid.uuid4().hex[:8]}"
    project_id = app_client.post("/v1/project", json={"name": name}).json()["id"]
    rows = [{**r, "project_id": project_id, "log_id": "g"} for r in ROWS]
    assert app_client.post("/logs3", json={"rows": rows}).status_code == 200
    return project_id


def post(client, project_id, query):
    return client.post("/btql", json={"query": query.replace("{p}", project_id)})


def btql(client, project_id, query):
    response = post(client, project_id, query)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def error(client, project_id, query):
    response = post(client, project_id, query)
    assert response.status_code == 400, response.text
    return response.json()["error"]


# -- 1. times in expanded years ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shift", "year"), [("- interval 3000 year", "-000976"), ("+ interval 8000 year", "+010024")]
)
def test_a_time_the_answer_writes_in_an_expanded_year_reads_back_as_a_literal(
    app_client, project, shift, year
):
    query = f"select: id, created {shift} as t | from: project_logs('{{p}}')"
    written = {r["id"]: r["t"] for r in btql(app_client, project, query)}
    assert written["a"] == f"{year}-01-01T00:00:00.000000Z"
    for rid, text in written.items():
        query = f"select: id | from: project_logs('{{p}}') | filter: created {shift} = '{text}'"
        assert btql(app_client, project, query) == [{"id": rid}]


def test_a_time_literal_beyond_the_range_is_a_400_that_gives_it(app_client, project):
    query = "filter: created > '+300000-01-01' | select: id | from: project_logs('{p}')"
    err = error(app_client, project, query)
    assert err["message"].startswith(
        "timestamp '+300000-01-01' is out of range (290,309 BC to 294,247 AD)"
    )
    assert (err["line"], err["col"]) == (1, 19)


# -- 2. JSON booleans as numbers -------------------------------------------------------------------


def test_a_json_boolean_reads_as_1_or_0_in_casts_arithmetic_and_aggregates_alike(
    app_client, project
):
    flags = {r["id"]: int(r["metadata"]["flag"]) for r in ROWS}
    query = (
        "select: id, to_number(metadata.flag) as n, to_integer(metadata.flag) as i,"
        " metadata.flag + 0 as a, metadata.flag = 1 as e | from: project_logs('{p}')"
    )
    rows = btql(app_client, project, query)
    assert {r["id"]: (r["n"], r["i"], r["a"], r["e"]) for r in rows} == {
        rid: (f, f, f, f == 1) for rid, f in flags.items()
    }
    query = (
        "measures: sum(metadata.flag) as s, sum(to_number(metadata.flag)) as t"
        " | from: project_logs('{p}')"
    )
    total = sum(flags.values())
    assert btql(app_client, project, query) == [{"s": total, "t": total}]


# -- 3. pivot values of different types ---------------------------------------------------------


def test_a_string_and_a_number_of_the_same_text_are_two_pivot_columns(app_client):
    """They are two groups, as in dimensions: the pivot gave them one column, which held the
    measures of one group only (the string "1"'s count of 3, never the number's 2)."""
    name = f"pv-{uuid.uuid4().hex[:8]}"
    project_id = app_client.post("/v1/project", json={"name": name}).json()["id"]
    values = ["1", 1, "1", 1, "1", "true", True, [1], "[1]", 2]
    rows = [
        {"id": f"r{i}", "project_id": project_id, "log_id": "g", "metadata": {"k": v}}
        for i, v in enumerate(values)
    ]
    assert app_client.post("/logs3", json={"rows": rows}).status_code == 200

    def count(v):
        return sum(1 for x in values if x == v and type(x) is type(v))

    query = "measures: count(1) as n | from: project_logs('{p}') | pivot: metadata.k"
    (row,) = btql(app_client, project_id, query)
    assert list(row.items()) == [
        ("1_n", count("1")),
        ("1_n_2", count(1)),
        ("2_n", count(2)),
        ("[1]_n", count("[1]")),
        ("[1]_n_2", count([1])),
        ("true_n", count("true")),
        ("true_n_2", count(True)),
    ]
    grouped = "dimensions: metadata.k as k | measures: count(1) as n | from: project_logs('{p}')"
    assert sorted(r["n"] for r in btql(app_client, project_id, grouped)) == sorted(row.values())


def test_pivot_columns_come_in_the_order_of_their_values_text(app_client):
    """A number's column came after those of longer texts it begins (0.25 before 0.2, 1.5 and
    the string "10" before 1): the columns were ordered by a key that marked a JSON value
    with a letter, which sorts after every digit of the text's hex."""
    name = f"pv-{uuid.uuid4().hex[:8]}"
    project_id = app_client.post("/v1/project", json={"name": name}).json()["id"]
    values = [1, 1.5, "10", 0.2, 0.25, "1", 1]
    rows = [
        {"id": f"r{i}", "project_id": project_id, "log_id": "g", "metadata": {"k": v}}
        for i, v in enumerate(values)
    ]
    assert app_client.post("/logs3", json={"rows": rows}).status_code == 200
    query = "measures: count(1) as n | from: project_logs('{p}') | pivot: metadata.k"
    (row,) = btql(app_client, project_id, query)
    assert list(row.items()) == [
        ("0.2_n", 1),
        ("0.25_n", 1),
        ("1_n", 1),
        ("1_n_2", 2),
        ("1.5_n", 1),
        ("10_n", 1),
    ]
    sql = (
        "SELECT metadata.k, count(1) AS n FROM project_logs('{p}') GROUP BY 1"
        " PIVOT (count(1) AS n FOR k IN (ANY))"
    )
    assert btql(app_client, project_id, sql) == [row]


@pytest.mark.parametrize("fmt", ["json", "jsonl", "csv", "parquet"])
def test_a_pivot_without_dimensions_over_no_rows_answers_no_rows(app_client, project, fmt):
    """There is no value to make a column of, as with dimensions (no group, no row); it was a
    400 that quoted DuckDB ('Binder Error: SELECT list is empty after resolving *')."""
    queries = [
        "measures: count(1) as n | pivot: metadata.k | from: project_logs('{p}') | filter: false",
        "SELECT metadata.k, count(1) AS n FROM project_logs('{p}') WHERE false GROUP BY 1"
        " PIVOT (count(1) AS n FOR k IN (ANY))",
    ]
    for query in queries:
        response = app_client.post(
            "/btql", json={"query": query.replace("{p}", project), "fmt": fmt}
        )
        assert response.status_code == 200, response.text
        if fmt == "json":
            assert response.json()["data"] == []
            assert response.json()["cursor"] is None
        elif fmt == "parquet":
            assert pq.read_table(io.BytesIO(response.content)).num_rows == 0
        else:
            assert response.text.strip() == ""


def test_a_pivot_without_dimensions_is_one_row(app_client, project):
    query = "measures: count(1) as n | pivot: metadata.k | from: project_logs('{p}')"
    assert btql(app_client, project, query) == [{"1_n": 1, "1_n_2": 1, "x_n": 1}]


# -- 4. names of unaliased expressions -------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("select: count(*) | from: project_logs('{p}')", ["expr_1"]),
        ("SELECT count(*) FROM project_logs('{p}')", ["expr_1"]),
        ("measures: count(1) | from: project_logs('{p}')", ["expr_1"]),
        (
            "select: id, len(metadata), 1 + 1 | from: project_logs('{p}')",
            ["id", "expr_2", "expr_3"],
        ),
        (
            "dimensions: metadata.k | measures: count(1), sum(1) | from: project_logs('{p}')",
            ["k", "expr_2", "expr_3"],
        ),
        (
            "dimensions: day(created) | measures: count(1) | from: project_logs('{p}')"
            " | pivot: metadata.flag",
            ["expr_1", "false_expr_2", "true_expr_2"],
        ),
    ],
)
def test_an_unaliased_expression_is_named_by_its_column_position(app_client, project, query, names):
    assert list(btql(app_client, project, query)[0]) == names


def test_an_unaliased_expression_after_a_star_counts_the_columns_it_expands_to(app_client, project):
    """It counted `*` as one item: `select: *, len(tags)` named its last column expr_2."""
    row = btql(app_client, project, "select: *, len(metadata) | from: project_logs('{p}')")[0]
    assert list(row)[-1] == f"expr_{len(row)}"


# -- 5. values past a type's range -----------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "99999999 years",
        "290001 years",
        "-290001 years",
        "2147483647 days",
        "9223372036854775807 us",
    ],
)
def test_to_interval_of_a_string_literal_beyond_the_range_is_a_400_at_the_string(
    app_client, project, text
):
    """It was a 200 (an interval literal that long, interval 99999999 year, is a 400)."""
    err = error(
        app_client, project, f"select: to_interval('{text}') as i | from: project_logs('{{p}}')"
    )
    assert err["message"] == f"interval '{text}' is out of range (at most 290,000 years) at 1:21"
    assert (err["line"], err["col"]) == (1, 21)


def test_to_interval_within_the_range_or_of_other_values_is_unchanged(app_client, project):
    query = (
        "select: to_interval('290000 years') as a, to_interval('1 day 02:00:00') as b,"
        " to_interval('abc') as c, to_interval(1e20) as d | from: project_logs('{p}') | limit: 1"
    )
    assert btql(app_client, project, query) == [
        {"a": "290000 years", "b": "1 day 02:00:00", "c": None, "d": None}
    ]


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("limit", 2**70, "limit must be at most 100000"),
        ("limit", 1e300, "limit must be at most 100000"),
        ("preview_length", 2**70, None),
        ("sample", {"method": {"type": "count", "value": 2**70}, "seed": -(2**70)}, None),
    ],
)
def test_a_json_ast_integer_beyond_64_bits_is_read_as_in_text(
    app_client, project, key, value, message
):
    """The request's JSON parser reads it as a float: it was "expected an integer, got
    1.1805916207174113e+21", where the text form answers (or says the limit's bound)."""
    source = {"op": "function", "name": {"op": "ident", "name": ["project_logs"]}}
    source["args"] = [{"op": "literal", "value": project}]
    select = [{"expr": {"op": "ident", "name": ["id"]}, "alias": "id"}]
    query = {"select": select, "from": source, key: value}
    response = app_client.post("/btql", json={"query": query})
    if message is None:
        assert response.status_code == 200, response.text
        assert sorted(r["id"] for r in response.json()["data"]) == sorted(r["id"] for r in ROWS)
    else:
        assert response.status_code == 400, response.text
        assert response.json()["error"]["message"] == message
