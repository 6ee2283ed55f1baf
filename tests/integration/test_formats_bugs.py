"""POST /btql and `tracelake query` in every format: the values each format carries, read
back with json, csv and pyarrow, against values computed here from the rows written."""

from __future__ import annotations

import csv
import io
import json
import math
import uuid

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from tests.conftest import ADMIN_KEY
from tests.integration.test_cli import run_cli
from tracelake.server.app import create_app
from tracelake.settings import Settings

HARD = 'emoji 😀 rtl עברית e\u0301 ctrl \u0001 nl\nline cr\r quote " comma , tab \t end'


@pytest.fixture
def project(app_client):
    name = f"formats-{uuid.uuid4().hex[:8]}"
    project_id = app_client.post("/v1/project", json={"name": name}).json()["id"]
    rows = [
        {
            "id": "r1",
            "created": "2026-03-01T10:00:00Z",
            "output": HARD,
            "metadata": {"negz": -0.0, "half": 0.5},
            "tags": ["a,b", HARD],
        },
        {"id": "r2", "created": "2026-03-02T11:30:00Z", "output": "plain", "tags": []},
    ]
    rows = [{**r, "project_id": project_id, "log_id": "g"} for r in rows]
    assert app_client.post("/logs3", json={"rows": rows}).status_code == 200
    return name


def answer(client, query: str, fmt: str) -> list[dict]:
    """The rows of one answer, read back with the standard reader of its format."""
    response = client.post("/btql", json={"query": query, "fmt": fmt})
    assert response.status_code == 200, response.text
    if fmt == "json":
        return response.json()["data"]
    if fmt == "jsonl":
        return [json.loads(line) for line in response.text.splitlines()]
    if fmt == "csv":
        return list(csv.DictReader(io.StringIO(response.content.decode(), newline="")))
    return pq.read_table(io.BytesIO(response.content)).to_pylist()


def test_intervals_render_in_csv_and_parquet_as_in_json(app_client, project):
    # created - created, an interval literal and a difference of 90 minutes: CSV and Parquet
    # answered 500 (Arrow cannot write DuckDB's INTERVAL); they hold the interval's text.
    query = (
        "select: id, created - created as zero, interval 1 day as one_day,"
        " (created + interval 90 minute) - created as later"
        f" | from: project_logs('{project}') | sort: id"
    )
    expected = [
        {"id": r, "zero": "00:00:00", "one_day": "1 day", "later": "01:30:00"} for r in ("r1", "r2")
    ]
    for fmt in ("json", "jsonl", "csv", "parquet"):
        assert answer(app_client, query, fmt) == expected, fmt


def test_cli_table_piped_keeps_one_line_per_row(tmp_path):
    # Piped, the table is tab-separated lines; a newline or a tab inside a value started a
    # new row or cell. They are escaped (\n, \t, \r, and \\ for a backslash).
    data_dir = tmp_path / "data"
    settings = Settings(data_dir=data_dir, api_key=ADMIN_KEY, scheduler_tick_seconds=0)
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        client.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
        project_id = client.post("/v1/project", json={"name": "cli"}).json()["id"]
        rows = [
            {"id": "r1", "output": HARD, "tags": ["x\\y", "t\tu"]},
            {"id": "r2", "output": "", "tags": []},
        ]
        rows = [{**r, "project_id": project_id, "log_id": "g"} for r in rows]
        assert client.post("/logs3", json={"rows": rows}).status_code == 200
    query = "select: id, output, tags | from: project_logs('cli') | sort: id"
    result = run_cli("query", query, "--data-dir", str(data_dir))
    assert result.returncode == 0, result.stderr

    def escaped(text: str) -> str:
        out = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
        return out.replace("\r", "\\r")

    tags_text = json.dumps(["x\\y", "t\tu"], ensure_ascii=False, separators=(",", ":"))
    assert result.stdout.split("\n") == [
        "id\toutput\ttags",
        f"r1\t{escaped(HARD)}\t{escaped(tags_text)}",
        "r2\t\t[]",
        "",
    ]


def test_negative_zero_keeps_its_sign_in_every_format(app_client, project):
    # A computed float is written as a JSON integer when it holds one (0.5 * 2 is 1), but
    # -0.0 became `-0`, which JSON readers (DuckDB's too) take for 0: the json answer said
    # 0 where CSV said -0. It stays -0.0.
    query = (
        "select: to_number(metadata.negz) as n, metadata.negz * 1 as m, metadata.half * 2 as one"
        f" | from: project_logs('{project}') | filter: id = 'r1'"
    )
    for fmt in ("json", "jsonl", "csv", "parquet"):
        (row,) = answer(app_client, query, fmt)
        if fmt in ("csv", "parquet"):  # JSON values are JSON text there
            assert row == {"n": "-0.0", "m": "-0.0", "one": "1"}, fmt
            row = {k: json.loads(v) for k, v in row.items()}
        assert row == {"n": 0.0, "m": 0.0, "one": 1}, fmt
        assert math.copysign(1, row["n"]) == -1 and math.copysign(1, row["m"]) == -1, fmt
        assert isinstance(row["one"], int), fmt


def test_json_field_values_are_json_text_in_csv_and_parquet(app_client, project):
    # The rule docs/btql.md states: a JSON field's value is its JSON text (a string keeps
    # its quotes, so an empty string and a null differ); typed values are plain.
    query = f"select: id, output, tags[0] as t0 | from: project_logs('{project}') | sort: id"
    csv_rows = answer(app_client, query, "csv")
    assert csv_rows == [
        {"id": "r1", "output": json.dumps(HARD, ensure_ascii=False), "t0": "a,b"},
        {"id": "r2", "output": '"plain"', "t0": ""},
    ]
    parquet_rows = answer(app_client, query, "parquet")
    assert parquet_rows == [
        {"id": "r1", "output": json.dumps(HARD, ensure_ascii=False), "t0": "a,b"},
        {"id": "r2", "output": '"plain"', "t0": None},
    ]


@pytest.mark.parametrize("fmt", ["json", "csv", "parquet"])
def test_unpivoted_tags_are_strings_in_every_format(app_client, project, fmt):
    """`tags` is a list of strings: its unpivoted elements are strings (CSV and Parquet wrote
    them as JSON text, "a,b" with its quotes, as for a JSON field), and compare as such."""
    query = (
        f"select: id, tag | from: project_logs('{project}') | unpivot: tags as tag"
        " | sort: tag | limit: 10"
    )
    rows = answer(app_client, query, fmt)
    assert [(r["id"], r["tag"]) for r in rows] == sorted(
        [("r1", "a,b"), ("r1", HARD)], key=lambda r: r[1]
    )
    found = answer(app_client, query.replace("| sort:", "| filter: tag = 'a,b' | sort:"), fmt)
    assert [r["tag"] for r in found] == ["a,b"]
    response = app_client.post("/btql", json={"query": query})
    assert response.json()["schema"]["items"]["properties"]["tag"] == {"type": "string"}


def test_len_of_a_json_value_is_an_integer_column_in_parquet(app_client, project):
    """len() of a JSON field was a HUGEINT (json_array_length is unsigned), which Parquet
    holds as decimal(38, 0): read back as Decimal('2'), while the schema says integer."""
    query = f"select: id, len(metadata) AS m | from: project_logs('{project}')"
    response = app_client.post("/btql", json={"query": query, "fmt": "parquet"})
    assert response.status_code == 200, response.text
    table = pq.read_table(io.BytesIO(response.content))
    assert str(table.schema.field("m").type) == "int64"
    rows = {r["id"]: r for r in table.to_pylist()}
    assert rows["r1"]["m"] == 2 and rows["r2"]["m"] is None
