"""NaN and infinities never reach a JSON answer: JSON has no spelling for them, and strict
parsers (JavaScript's JSON.parse, orjson, Python's json refusing its constants) refuse the
bare ``NaN`` / ``Infinity`` DuckDB writes. Such a number is ``null`` in every JSON answer
(/btql json and jsonl, the fetch and export routes, ``tracelake query`` and ``export``); a
value read from text (``json_extract`` of a string) that is one, or holds one, is null; a CSV
cell that DuckDB's lenient reader takes as JSON holding one (``[NaN, 1]``) is a string.
Each answer is parsed with strict parsers."""

from __future__ import annotations

import csv
import io
import json
import uuid

import orjson
import pytest
from fastapi.testclient import TestClient

from tests.conftest import ADMIN_KEY
from tests.integration.test_cli import ok, run_cli
from tracelake.server.app import create_app
from tracelake.settings import Settings


def strict(text: str | bytes):
    """The value of JSON text, as strict parsers read it (each refuses NaN and infinities:
    Python's json by its constants, orjson on its own, also for 1e999)."""

    def refuse(name):
        raise AssertionError(f"{name} in a JSON answer: {text[:300]!r}")

    orjson.loads(text)
    return json.loads(text, parse_constant=refuse)


def strict_lines(text: str) -> list:
    return [strict(line) for line in text.splitlines()]


# Strings holding what DuckDB's JSON reader takes but JSON does not have.
BAD_VALUES = ["NaN", "Infinity", "-inf", "1e999", "1" + "0" * 400, "[1, Infinity]", '{"w": nan}']
BAD_TEXTS = {f"b{i}": f'{{"y": 1, "a": {bad}}}' for i, bad in enumerate(BAD_VALUES)}
# Strict JSON text whose strings name them, and numbers within a double's range.
GOOD_TEXT = (
    '{"ok": {"s": "NaN", "i": "Infinity", "n": 1e308}, "y": 1.5, "neg": -1e-999,'
    ' "list": [1, "inf", null, true], "digits": 1' + "0" * 300 + "}"
)
OUTPUT = '{"nan": NaN, "y": 1.5}'
ROWS = [
    {
        "id": "r",
        "span_id": "r",
        "root_span_id": "r",
        "output": OUTPUT,
        "metadata": {
            "s": "NaN",
            "t": "-Infinity",
            "n": 1,
            "j": "NaN",
            "text": "[nan]",
            "good": GOOD_TEXT,
            **BAD_TEXTS,
        },
        "metrics": {"estimated_cost": 1e308, "start": -1e308, "end": 1e308},
        "span_attributes": {"type": "llm"},
    },
    {
        "id": "c",
        "span_id": "c",
        "root_span_id": "r",
        "span_parents": ["r"],
        "output": "plain",
        "metadata": {"s": "2", "t": "3", "n": 2, "j": "[1]", "text": "[1, 2]"},
        "metrics": {
            "estimated_cost": 1e308,
            "start": -1e308,
            "end": 1e308,
            "time_to_first_token": 1e308,
        },
        "span_attributes": {"type": "llm"},
    },
    {
        "id": "c2",
        "span_id": "c2",
        "root_span_id": "r",
        "span_parents": ["r"],
        "metrics": {"time_to_first_token": 1e308},
        "span_attributes": {"type": "llm"},
    },
]


@pytest.fixture
def project(app_client):
    name = f"finite-{uuid.uuid4().hex[:8]}"
    project_id = app_client.post("/v1/project", json={"name": name}).json()["id"]
    rows = [{**r, "project_id": project_id, "log_id": "g"} for r in ROWS]
    assert app_client.post("/logs3", json={"rows": rows}).status_code == 200
    return project_id


def answers(client, query: str) -> list[list[dict]]:
    """The rows of ``query`` as fmt json and as fmt jsonl, each parsed strictly."""
    out = []
    for fmt in ("json", "jsonl"):
        response = client.post("/btql", json={"query": query, "fmt": fmt})
        assert response.status_code == 200, response.text
        out.append(strict(response.text)["data"] if fmt == "json" else strict_lines(response.text))
    assert out[0] == out[1]
    return out


def by_id(rows: list[dict]) -> dict:
    return {row.pop("id"): row for row in rows}


def test_json_extract_of_text_holding_nan_or_an_infinity_is_null(app_client, project):
    """A value read from text that is NaN or an infinity, or an array or object holding
    one, is null; the text's other keys read as usual."""
    select = ", ".join(
        f"json_extract(metadata.{k}, '{key}') as {k}_{key}" for k in BAD_TEXTS for key in "ya"
    )
    query = f"select: id, {select} | from: project_logs('{project}') | filter: id = 'r'"
    for rows in answers(app_client, query):
        assert rows == [
            {
                "id": "r",
                **{f"{k}_{key}": 1 if key == "y" else None for k in BAD_TEXTS for key in "ya"},
            }
        ]


def test_json_extract_of_strict_text_naming_nan_reads_it(app_client, project):
    keys = ["ok", "y", "neg", "list", "digits"]
    select = ", ".join(f"json_extract(metadata.good, '{k}') as {k}" for k in keys)
    query = f"select: id, {select} | from: project_logs('{project}') | filter: id = 'r'"
    for rows in answers(app_client, query):
        assert rows == [
            {
                "id": "r",
                "ok": {"s": "NaN", "i": "Infinity", "n": 1e308},
                "y": 1.5,
                "neg": -0.0,
                "list": [1, "inf", None, True],
                "digits": 10**300,  # (as the text writes it)
            }
        ]


def test_json_extract_of_a_json_string_holding_nan_is_null(app_client, project):
    """``metadata.j`` is a JSON string ("NaN", "[1]"): json_extract parses its content."""
    query = (
        f"select: id, json_extract(metadata.text, '0') as a, json_extract(metadata.j, '0') as b"
        f" | from: project_logs('{project}') | filter: id IN ('r', 'c') | sort: id"
    )
    for rows in answers(app_client, query):
        assert rows == [{"id": "c", "a": None, "b": None}, {"id": "r", "a": None, "b": None}]
    query = (
        f"select: id | from: project_logs('{project}')"
        f" | filter: json_extract(output, 'nan') IS NULL AND json_extract(output, 'y') = 1.5"
    )
    for rows in answers(app_client, query):
        assert rows == [{"id": "r"}]


def test_aggregates_and_groups_of_json_extract_holding_nan_are_null(app_client, project):
    x = "json_extract(output, 'nan')"
    query = (
        f"measures: max({x}) as a, min({x}) as b, any_value({x}) as c, count({x}) as n"
        f" | from: project_logs('{project}')"
    )
    for rows in answers(app_client, query):
        assert rows == [{"a": None, "b": None, "c": None, "n": 0}]
    query = (
        f"dimensions: id, {x} as k | measures: count(1) as n | from: project_logs('{project}')"
        f" | filter: id IN ('r', 'c') | pivot: k | sort: id"
    )
    for rows in answers(app_client, query):
        assert rows == [{"id": "c", "(null)_n": 1}, {"id": "r", "(null)_n": 1}]


@pytest.mark.parametrize(
    "expr",
    [
        "to_number(metadata.s)",
        "to_number(metadata.t)",
        "metadata.s + 0",
        "metadata.s * 1e308",
        "-(metadata.t + 0)",
        "metadata.s / 1",
        "metadata.s % 2",
        "round(metadata.s + 0, 2)",
        "0.0 / 0.0",
        "1 / 0",
        "1e308 * 10",
        "-1e308 * 10",
        "metrics.estimated_cost * 10",
        "metrics.estimated_cost + metrics.estimated_cost",
        "least(metadata.s + 0, 5) * 0 + (metadata.s + 0)",
        # a number among values of other types is a JSON value: the number is still null
        "is_root ? metadata.s + 0 : 'text'",
        "is_root ? metrics.estimated_cost * 10 : 'text'",
        "coalesce(metadata.missing, metadata.s + 0, 'text')",
    ],
)
def test_non_finite_computed_numbers_are_null(app_client, project, expr):
    query = f"select: id, {expr} as v | from: project_logs('{project}') | filter: id = 'r'"
    for rows in answers(app_client, query):
        assert rows[0]["v"] in (None, "text"), rows


def test_a_number_among_values_of_other_types_is_written_as_a_number_is(app_client, project):
    """A computed number converted to a JSON value (beside a string) is written as a
    computed number is: a whole one as an integer (it was 2.0), NaN as null."""
    query = (
        f"select: id, coalesce(metadata.missing, metadata.s + 0, 'text') as v"
        f" | from: project_logs('{project}') | filter: id IN ('r', 'c') | sort: id"
    )
    for rows in answers(app_client, query):
        assert rows == [{"id": "c", "v": 2}, {"id": "r", "v": "text"}]


@pytest.mark.parametrize("fn", ["sum", "avg", "max", "min", "percentile"])
def test_aggregates_over_nan_and_overflow_are_null(app_client, project, fn):
    extra = ", 0.5" if fn == "percentile" else ""
    measures = ", ".join(
        f"{fn}({x}{extra}) as m{i}"
        for i, x in enumerate(
            ["to_number(metadata.s)", "metadata.s", "metrics.estimated_cost * 10"]
        )
    )
    query = f"measures: {measures} | from: project_logs('{project}')"
    for rows in answers(app_client, query):
        assert set(rows[0]) == {"m0", "m1", "m2"}
    query = (
        f"dimensions: id | measures: {fn}(metadata.s * 1e308{extra}) as m"
        f" | from: project_logs('{project}') | filter: id IN ('r', 'c') | pivot: id"
    )
    for rows in answers(app_client, query):
        assert rows == [{"c_m": None, "r_m": None}]


def test_summary_metrics_beyond_a_double_are_null(app_client, project):
    """Summed costs and durations past a double's range were written as Infinity."""
    query = f"select: id, metrics | from: project_logs('{project}') summary"
    for rows in answers(app_client, query):
        metrics = rows[0]["metrics"]
        assert metrics["estimated_cost"] is None
        assert metrics["duration"] is None
        assert metrics["llm_duration"] is None
        assert metrics["time_to_first_token"] is None
        assert (metrics["start"], metrics["end"]) == (-1e308, 1e308)
        assert metrics["llm_calls"] == 3
    query = (
        f"select: id, metrics.estimated_cost as cost, metrics.duration as d"
        f" | from: project_logs('{project}') summary"
    )
    for rows in answers(app_client, query):
        assert rows == [{"id": "r", "cost": None, "d": None}]


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
@pytest.mark.parametrize("shape", ["spans", "summary"])
def test_export_and_fetch_answers_parse_strictly(app_client, project, fmt, shape):
    response = app_client.get(
        f"/v1/project_logs/{project}/export", params={"format": fmt, "shape": shape}
    )
    assert response.status_code == 200, response.text
    rows = strict(response.text) if fmt == "json" else strict_lines(response.text)
    assert rows
    if shape == "summary":
        assert rows[0]["metrics"]["estimated_cost"] is None
    fetched = app_client.get(f"/v1/project_logs/{project}/fetch")
    assert fetched.status_code == 200
    strict(fetched.text)
    fetched = app_client.post(f"/v1/project_logs/{project}/fetch", json={"limit": 2})
    assert fetched.status_code == 200
    strict(fetched.text)


def test_a_csv_cell_holding_nan_in_json_is_a_string(app_client):
    """DuckDB's reader takes ``[NaN, 1]`` as JSON and wrote it back as it is: the stored
    value broke every JSON answer of the dataset. Such a cell is not JSON: a string."""
    project_id = app_client.post("/v1/project", json={"name": f"csv-{uuid.uuid4().hex[:8]}"})
    project_id = project_id.json()["id"]
    dataset = app_client.post("/v1/dataset", json={"project_id": project_id, "name": "d"})
    dataset_id = dataset.json()["id"]
    cells = [
        "[NaN, 1]",
        '{"a": Infinity}',
        '{"b": 1e999}',
        '{"c": -inf, "s": "x"}',
        "NaN",
        "1e999",
        '{"ok": "NaN", "n": 1e308}',
        "[1, 2e5]",
        "plain words",
    ]
    body = io.StringIO()
    writer = csv.writer(body, lineterminator="\n")
    writer.writerows([("id", "input"), *((f"r{i}", cell) for i, cell in enumerate(cells))])
    response = app_client.post(
        f"/v1/dataset/{dataset_id}/import",
        params={"format": "csv"},
        content=body.getvalue().encode(),
    )
    assert response.status_code == 200, response.text
    fetched = app_client.post(f"/v1/dataset/{dataset_id}/fetch", json={"limit": 100})
    assert fetched.status_code == 200
    inputs = {row["id"]: row["input"] for row in strict(fetched.text)["events"]}
    assert inputs == {
        **{f"r{i}": cell for i, cell in enumerate(cells[:6])},
        "r6": {"ok": "NaN", "n": 1e308},
        "r7": [1, 200000],
        "r8": "plain words",
    }
    response = app_client.get(f"/v1/dataset/{dataset_id}/export", params={"format": "json"})
    strict(response.text)


def test_cli_query_and_export_answers_parse_strictly(tmp_path):
    data_dir = tmp_path / "data"
    settings = Settings(data_dir=data_dir, api_key=ADMIN_KEY, scheduler_tick_seconds=0)
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        client.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
        project_id = client.post("/v1/project", json={"name": "finite"}).json()["id"]
        rows = [{**r, "project_id": project_id, "log_id": "g"} for r in ROWS]
        assert client.post("/logs3", json={"rows": rows}).status_code == 200
    query = (
        "select: id, json_extract(output, 'nan') as a, metadata.s + 0 as b,"
        " is_root ? metadata.s * 1 : 'x' as c | from: project_logs('finite') | sort: id"
    )
    args = ("--data-dir", str(data_dir))
    as_json = ok(run_cli("query", query, "--format", "json", *args)).stdout
    assert strict(as_json)["data"][-1] == {"id": "r", "a": None, "b": None, "c": None}
    as_lines = ok(run_cli("query", query, "--format", "jsonl", *args)).stdout
    assert strict_lines(as_lines)[-1] == {"id": "r", "a": None, "b": None, "c": None}
    table = ok(run_cli("query", query, "--format", "table", *args)).stdout
    assert "NaN" not in table and "Infinity" not in table
    out = tmp_path / "summary.jsonl"
    ok(run_cli("export", "project_logs", "finite", "--shape", "summary", "-o", str(out), *args))
    assert strict_lines(out.read_text())[0]["metrics"]["estimated_cost"] is None
