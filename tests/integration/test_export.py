"""Ad hoc export: every format, annotations preserved, filters, paging, errors, the CLI."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import uuid
from urllib.parse import unquote

import orjson
import pyarrow.parquet as pq
import pytest


@pytest.fixture
def annotated(app_client):
    """A project whose logs carry tags, scores, expected, metadata and a comment."""
    project_id = app_client.post(
        "/v1/project", json={"name": f"exp-{uuid.uuid4().hex[:8]}"}
    ).json()["id"]
    rows = [
        {
            "project_id": project_id,
            "log_id": "g",
            "id": f"r{i}",
            "input": {"q": i},
            "output": f"answer {i}",
            "expected": f"gold {i}",
            "scores": {"good": i % 2},
            "metadata": {"n": i, "nested": {"k": [i, "x"]}},
            "tags": ["t", f"i{i}"],
            "created": "2026-01-01T00:00:00Z",
        }
        for i in range(6)
    ]
    assert app_client.post("/logs3", json={"rows": rows}).status_code == 200
    feedback = {"feedback": [{"id": "r1", "comment": "looks right", "scores": {"human": 1}}]}
    assert (
        app_client.post(f"/v1/project_logs/{project_id}/feedback", json=feedback).status_code == 200
    )
    return project_id


def download(app_client, project_id, **params):
    response = app_client.get(f"/v1/project_logs/{project_id}/export", params=params)
    assert response.status_code == 200, response.text
    return response


def check_row_one(row):
    assert row["tags"] == ["t", "i1"]
    assert row["expected"] == "gold 1"
    assert row["scores"] == {"good": 1, "human": 1}
    assert row["metadata"] == {"n": 1, "nested": {"k": [1, "x"]}}
    assert [c["comment"] for c in row["comments"]] == [{"text": "looks right"}]


def test_json_and_jsonl_keep_every_annotation(app_client, annotated):
    rows = orjson.loads(download(app_client, annotated, format="json").content)
    assert sorted(r["id"] for r in rows) == [f"r{i}" for i in range(6)]
    check_row_one(next(r for r in rows if r["id"] == "r1"))
    lines = download(app_client, annotated, format="jsonl").content.splitlines()
    check_row_one(next(orjson.loads(x) for x in lines if orjson.loads(x)["id"] == "r1"))


def test_csv_and_parquet_hold_nested_values_as_json_text(app_client, annotated):
    text = download(app_client, annotated, format="csv").text
    rows = list(csv.DictReader(io.StringIO(text)))
    row = next(r for r in rows if r["id"] == "r1")
    check_row_one(
        {k: orjson.loads(row[k]) for k in ("tags", "expected", "scores", "metadata", "comments")}
    )
    table = pq.read_table(io.BytesIO(download(app_client, annotated, format="parquet").content))
    assert table.num_rows == 6
    record = next(r for r in table.to_pylist() if r["id"] == "r1")
    check_row_one(
        {k: orjson.loads(record[k]) for k in ("tags", "expected", "scores", "metadata", "comments")}
    )


def test_filter_and_shape(app_client, annotated):
    rows = orjson.loads(
        download(app_client, annotated, format="json", filter="scores.good = 1").content
    )
    assert sorted(r["id"] for r in rows) == ["r1", "r3", "r5"]
    summary = orjson.loads(download(app_client, annotated, format="json", shape="summary").content)
    assert len(summary) == 6 and "span_type_info" in summary[0]


def test_exports_larger_than_a_page_are_complete(app_client):
    project_id = app_client.post(
        "/v1/project", json={"name": f"big-{uuid.uuid4().hex[:8]}"}
    ).json()["id"]
    for start in range(0, 12_000, 4_000):
        rows = [
            {"project_id": project_id, "log_id": "g", "id": f"b{i}", "input": i}
            for i in range(start, start + 4_000)
        ]
        assert app_client.post("/logs3", json={"rows": rows}).status_code == 200
    lines = download(app_client, project_id, format="jsonl").content.splitlines()
    assert len(lines) == 12_000 and len({orjson.loads(x)["id"] for x in lines}) == 12_000
    table = pq.read_table(io.BytesIO(download(app_client, project_id, format="parquet").content))
    assert table.num_rows == 12_000


def test_bad_requests(app_client, annotated):
    bad_format = app_client.get(f"/v1/project_logs/{annotated}/export", params={"format": "xml"})
    assert bad_format.status_code == 400 and "format" in bad_format.json()["error"]["message"]
    bad_filter = app_client.get(
        f"/v1/project_logs/{annotated}/export", params={"filter": "scores.good ="}
    )
    assert bad_filter.status_code == 400
    assert bad_filter.json()["error"]["message"].endswith("in the filter at 1:14")
    missing = app_client.get(f"/v1/project_logs/{uuid.uuid4()}/export")
    assert missing.status_code == 404
    empty = app_client.get("/v1/project_logs//export")
    assert empty.status_code == 400
    assert empty.json()["error"]["message"] == "give the project's id or name to export"


def test_cli_export_against_a_server(fresh_server, tmp_path):
    fresh_server.start()
    with fresh_server.client() as client:
        project_id = client.post("/v1/project", json={"name": "cli-export"}).json()["id"]
        client.post(
            "/logs3",
            json={
                "rows": [
                    {
                        "project_id": project_id,
                        "log_id": "g",
                        "id": f"c{i}",
                        "input": i,
                        "tags": ["x"],
                    }
                    for i in range(30)
                ]
            },
        )
    out = tmp_path / "logs.jsonl"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tracelake",
            "export",
            "project_logs",
            "cli-export",
            "-o",
            str(out),
            "--url",
            fresh_server.url,
            "--api-key",
            fresh_server.api_key,
            "--filter",
            "input < 10",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    rows = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert sorted(r["input"] for r in rows) == list(range(10))
    failed = subprocess.run(
        [
            sys.executable,
            "-m",
            "tracelake",
            "export",
            "project_logs",
            "nope",
            "-o",
            str(tmp_path / "x.jsonl"),
            "--url",
            fresh_server.url,
            "--api-key",
            fresh_server.api_key,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert failed.returncode == 1 and "not found" in failed.stderr
    assert not (tmp_path / "x.jsonl").exists()


@pytest.mark.parametrize("name", ["日本の記録", 'say "hi"'])
def test_export_by_a_name_outside_ascii_names_the_file(app_client, name):
    """The file name holds the object's name as given: one outside Latin-1 answered a 500
    (headers are Latin-1), a quote cut the name short; both go as RFC 6266's filename*."""
    project_id = app_client.post("/v1/project", json={"name": name}).json()["id"]
    row = {"project_id": project_id, "log_id": "g", "id": "r", "input": 1}
    assert app_client.post("/logs3", json={"rows": [row]}).status_code == 200
    response = app_client.get(f"/v1/project_logs/{name}/export")
    assert response.status_code == 200, response.text
    assert orjson.loads(response.content.splitlines()[0])["id"] == "r"
    disposition = response.headers["content-disposition"]
    encoded = disposition.removeprefix("attachment; filename*=utf-8''")
    assert encoded != disposition and unquote(encoded) == f"project_logs-{name}.jsonl"
    plain = app_client.get(f"/v1/project_logs/{project_id}/export")
    assert plain.headers["content-disposition"] == (
        f'attachment; filename="project_logs-{project_id}.jsonl"'
    )


@pytest.mark.parametrize("name", ["ends in \\", "a\\'b", "a\\\\b", "it's \\n here"])
def test_export_by_a_name_with_a_backslash(app_client, name):
    """A name holding a backslash reads the object it names: the name went into the export's
    BTQL with only its quotes doubled, so a trailing backslash (or one before a quote)
    escaped the closing quote and the export answered a 400 about its own query."""
    project_id = app_client.post("/v1/project", json={"name": "p"}).json()["id"]
    decoy = app_client.post("/v1/dataset", json={"project_id": project_id, "name": "a'b"})
    dataset = app_client.post("/v1/dataset", json={"project_id": project_id, "name": name})
    for made, value in ((decoy, "decoy"), (dataset, "wanted")):
        event = {"id": "r", "input": value}
        assert app_client.post(f"/v1/dataset/{made.json()['id']}/insert", json={"events": [event]})
    response = app_client.get(f"/v1/dataset/{name}/export")
    assert response.status_code == 200, response.text
    rows = [orjson.loads(line) for line in response.content.splitlines()]
    assert [(r["dataset_id"], r["input"]) for r in rows] == [(dataset.json()["id"], "wanted")]


def test_export_by_a_name_with_a_slash(app_client):
    """A name holding a ``/`` (sent as ``%2F``) names the object: the route matched one path
    segment, so such an export answered a bare 404."""
    project_id = app_client.post("/v1/project", json={"name": "p"}).json()["id"]
    made = app_client.post("/v1/dataset", json={"project_id": project_id, "name": "team/cases"})
    event = {"id": "r", "input": 1}
    app_client.post(f"/v1/dataset/{made.json()['id']}/insert", json={"events": [event]})
    response = app_client.get("/v1/dataset/team%2Fcases/export", params={"format": "json"})
    assert response.status_code == 200, response.text
    assert [r["dataset_id"] for r in orjson.loads(response.content)] == [made.json()["id"]]
    assert unquote(response.headers["content-disposition"]).endswith("dataset-team/cases.json")
    missing = app_client.get("/v1/dataset/team%2Fother/export")
    assert missing.status_code == 404 and "team/other" in missing.json()["error"]["message"]


def test_cli_export_cut_short_by_the_server_says_so(server, tmp_path):
    """An export the server ends midway (here: the dataset deleted while it streams) is an
    error that says so, not "cannot reach the server", and writes no file."""
    with server.client() as client:
        project_id = client.post("/v1/project", json={"name": f"cut-{uuid.uuid4().hex[:8]}"})
        dataset = client.post(
            "/v1/dataset", json={"project_id": project_id.json()["id"], "name": "big"}
        ).json()
        for start in range(0, 24_000, 4_000):
            events = [{"id": f"r{i}", "input": "x" * 2_000} for i in range(start, start + 4_000)]
            response = client.post(f"/v1/dataset/{dataset['id']}/insert", json={"events": events})
            assert response.status_code == 200
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    command = [sys.executable, "-m", "tracelake", "export", "dataset", dataset["id"]]
    command += ["-o", str(fifo), "--url", server.url, "--api-key", server.api_key]
    cli = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    with open(fifo, "rb") as pipe:
        assert pipe.read(1 << 20)  # the export has started: the first page streams
        with server.client() as client:
            assert client.delete(f"/v1/dataset/{dataset['id']}").status_code == 200
        while pipe.read(1 << 20):
            pass
    stderr = cli.communicate(timeout=120)[1]
    assert cli.returncode == 1, stderr
    assert "stopped the export midway" in stderr and "cannot reach" not in stderr


def test_parquet_goes_out_a_page_at_a_time(app_client):
    """The first bytes of a Parquet export leave after its first page is read, not after the
    last (it was written whole to a temporary file first: a large export sent nothing for
    minutes, and a client with a read timeout gave up)."""
    from tracelake.export.queries import run_query
    from tracelake.export.stream import PAGE_ROWS, ExportRequest, stream

    project_id = app_client.post("/v1/project", json={"name": "parquet-pages"}).json()["id"]
    total = 2 * PAGE_ROWS + 7
    rows = [
        {"project_id": project_id, "log_id": "g", "id": f"r{i}", "input": i} for i in range(total)
    ]
    assert app_client.post("/logs3", json={"rows": rows}).status_code == 200
    state = app_client.app.state
    principal = state.catalog.authenticate(app_client.headers["Authorization"].split()[1])
    pages_read = []

    def run(options):
        pages_read.append(options.query)
        return run_query(state.store, state.catalog, principal, options)

    chunks = stream(ExportRequest("project_logs", project_id, "parquet"), run)
    first = next(chunks)
    assert first.startswith(b"PAR1") and len(pages_read) == 1
    rest = list(chunks)
    assert len(pages_read) == 3 and len(rest) >= 2
    table = pq.read_table(io.BytesIO(first + b"".join(rest)))
    assert table.num_rows == total
    assert sorted(table.column("input").to_pylist(), key=int) == [str(i) for i in range(total)]


def test_head_of_an_export_reads_its_first_page_only(app_client, monkeypatch):
    """HEAD answers the headers a GET would (and its errors) without making the file: it ran
    the whole export, page after page, to drop every byte. The pages read are counted as the
    route runs their queries (they were timed, which a busy machine made flaky)."""
    from tracelake.export.stream import PAGE_ROWS
    from tracelake.server.routes import export as export_route

    project_id = app_client.post("/v1/project", json={"name": "head-export"}).json()["id"]
    total = 3 * PAGE_ROWS
    rows = [{"project_id": project_id, "log_id": "g", "id": f"r{i}"} for i in range(total)]
    assert app_client.post("/logs3", json={"rows": rows}).status_code == 200
    pages: list[str] = []
    run_query = export_route.run_query

    def counted(store, catalog, principal, options, **kwargs):
        pages.append(options.query)
        return run_query(store, catalog, principal, options, **kwargs)

    monkeypatch.setattr(export_route, "run_query", counted)
    path = f"/v1/project_logs/{project_id}/export"
    got = app_client.get(path, params={"format": "csv"})
    assert got.status_code == 200 and got.text.count("\n") == total + 1
    assert len(pages) >= 3
    pages.clear()
    head = app_client.head(path, params={"format": "csv"})
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]
    assert head.headers["content-disposition"] == got.headers["content-disposition"]
    assert len(pages) == 1
    bad = app_client.head(path, params={"filter": "scores.good ="})
    assert bad.status_code == 400 and bad.content == b""
    assert app_client.head(f"/v1/project_logs/{uuid.uuid4()}/export").status_code == 404


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_an_export_with_audit_log_carries_audit_data(app_client, annotated, fmt):
    """``audit_log`` adds each row's audit trail, as ``POST /btql`` does (an export had no
    way to carry it)."""
    content = download(app_client, annotated, format=fmt, audit_log="true").content
    if fmt == "jsonl":
        rows = [orjson.loads(line) for line in content.splitlines()]
    elif fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(content.decode())))
    else:
        rows = pq.read_table(io.BytesIO(content)).to_pylist()
    row = next(r for r in rows if r["id"] == "r1")
    audit = row["audit_data"] if fmt == "jsonl" else orjson.loads(row["audit_data"])
    assert [a["action"] for a in audit] == ["merge"]  # the feedback
    plain = download(app_client, annotated, format="jsonl").content
    assert all("audit_data" not in orjson.loads(line) for line in plain.splitlines())
    summary = app_client.get(
        f"/v1/project_logs/{annotated}/export", params={"shape": "summary", "audit_log": "true"}
    )
    assert summary.status_code == 400
    assert "spans and traces" in summary.json()["error"]["message"]


def test_an_export_reads_audit_log_as_the_other_routes_read_a_true_false_option(
    app_client, annotated
):
    """``audit_log`` is read as every route's true/false query parameter (``if_empty``,
    ``summarize_scores``, ``wait``): ``true``/``false`` and their usual spellings; anything
    else is a 400 naming it, not an export without (or with) the audit trail."""
    for value, carried in (("yes", True), ("On", True), ("1", True), ("no", False)):
        content = download(app_client, annotated, audit_log=value).content
        rows = [orjson.loads(line) for line in content.splitlines()]
        assert all(("audit_data" in row) is carried for row in rows), value
    for value in ("maybe", "", "2", "yes please"):
        answer = app_client.get(f"/v1/project_logs/{annotated}/export", params={"audit_log": value})
        assert answer.status_code == 400, (value, answer.text)
        assert "audit_log" in answer.json()["error"]["message"], value
        assert "boolean" in answer.json()["error"]["message"], value
    other = app_client.delete(f"/v1/project/{annotated}", params={"if_empty": "maybe"})
    assert other.status_code == 400 and "if_empty" in other.json()["error"]["message"]


def test_cli_export_with_audit_log(server, tmp_path):
    with server.client() as client:
        project_id = client.post(
            "/v1/project", json={"name": f"audit-{uuid.uuid4().hex[:8]}"}
        ).json()["id"]
        row = {"project_id": project_id, "log_id": "g", "id": "a", "_audit_source": "app"}
        assert client.post("/logs3", json={"rows": [row]}).status_code == 200
    out = tmp_path / "logs.jsonl"
    command = [sys.executable, "-m", "tracelake", "export", "project_logs", project_id]
    command += ["-o", str(out), "--url", server.url, "--api-key", server.api_key, "--audit-log"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    (line,) = out.read_bytes().splitlines()
    assert [a["source"] for a in orjson.loads(line)["audit_data"]] == ["app"]


def test_a_summary_export_carries_the_root_spans_classifications_and_context(app_client):
    """A summary row had no classifications (what an Eval's classifiers log on the root
    span) nor context, so a summary export lost them."""
    project_id = app_client.post("/v1/project", json={"name": "summary-classes"}).json()["id"]
    classes = {"topic": [{"id": "billing", "label": "Billing"}]}
    rows = [
        {
            "project_id": project_id,
            "log_id": "g",
            "id": "root",
            "span_id": "root",
            "root_span_id": "root",
            "classifications": classes,
            "context": {"caller_filename": "app.py"},
        },
        {
            "project_id": project_id,
            "log_id": "g",
            "id": "child",
            "span_id": "child",
            "root_span_id": "root",
            "span_parents": ["root"],
            "classifications": {"topic": [{"id": "other"}]},
        },
    ]
    assert app_client.post("/logs3", json={"rows": rows}).status_code == 200
    (row,) = orjson.loads(download(app_client, project_id, format="json", shape="summary").content)
    assert row["classifications"] == classes
    assert row["context"] == {"caller_filename": "app.py"}
    table = pq.read_table(
        io.BytesIO(download(app_client, project_id, format="parquet", shape="summary").content)
    )
    assert orjson.loads(table.column("classifications")[0].as_py()) == classes


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("change", ["removed", "added"])
def test_a_custom_column_changed_while_exporting_keeps_the_first_pages_columns(
    app_client, fmt, change
):
    """A dataset's custom column saved or removed while its export streams changed the
    columns of the later pages: CSV rows ran under the wrong header, Parquet failed midway."""
    from tracelake.export.queries import run_query
    from tracelake.export.stream import PAGE_ROWS, ExportRequest, stream

    project_id = app_client.post("/v1/project", json={"name": f"cc-{fmt}-{change}"}).json()["id"]
    dataset_id = app_client.post(
        "/v1/dataset", json={"project_id": project_id, "name": "d"}
    ).json()["id"]
    total = PAGE_ROWS + 3
    events = [{"id": f"r{i}", "input": {"q": f"q{i}"}, "expected": i} for i in range(total)]
    response = app_client.post(f"/v1/dataset/{dataset_id}/insert", json={"events": events})
    assert response.status_code == 200
    column = f"/v1/dataset/{dataset_id}/columns/question"
    if change == "removed":
        assert app_client.put(column, json={"expr": "input.q"}).status_code == 200
    state = app_client.app.state
    principal = state.catalog.authenticate(app_client.headers["Authorization"].split()[1])

    def run(options):
        return run_query(state.store, state.catalog, principal, options)

    chunks = stream(ExportRequest("dataset", dataset_id, fmt), run)
    first = next(chunks)
    if change == "removed":
        assert app_client.delete(column).status_code == 200
    else:
        assert app_client.put(column, json={"expr": "input.q"}).status_code == 200
    content = first + b"".join(chunks)
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(content.decode())))
        header, rows = rows[0], rows[1:]
        assert len(rows) == total and {len(r) for r in rows} == {len(header)}
        records = [dict(zip(header, r, strict=True)) for r in rows]
    else:
        records = pq.read_table(io.BytesIO(content)).to_pylist()
        assert len(records) == total
    assert sorted(int(r["expected"]) for r in records) == list(range(total))
    assert ("question" in records[0]) == (change == "removed")


def test_a_dataset_exports_as_of_an_old_version(app_client):
    """``version`` (a transaction id, or a snapshot's name) exports the rows as they were: the
    UI's export of a dataset version it shows read-only (the route had no ``version``)."""
    project_id = app_client.post("/v1/project", json={"name": f"v-{uuid.uuid4().hex[:8]}"})
    dataset = app_client.post(
        "/v1/dataset", json={"project_id": project_id.json()["id"], "name": "versioned"}
    ).json()["id"]
    insert = f"/v1/dataset/{dataset}/insert"
    events = [{"id": "a", "input": 1}, {"id": "b", "input": 2}]
    assert app_client.post(insert, json={"events": events}).status_code == 200
    (first,) = [
        v["_xact_id"] for v in app_client.get(f"/v1/dataset/{dataset}/versions").json()["objects"]
    ]
    snapshot = app_client.post(f"/v1/dataset/{dataset}/snapshots", json={"name": "golden"})
    assert snapshot.status_code == 200, snapshot.text
    later = [{"id": "a", "_object_delete": True}, {"id": "c", "input": 3}]
    assert app_client.post(insert, json={"events": later}).status_code == 200

    def ids(**params):
        answer = app_client.get(f"/v1/dataset/{dataset}/export", params=params)
        assert answer.status_code == 200, answer.text
        return sorted(orjson.loads(line)["id"] for line in answer.content.splitlines())

    assert ids() == ["b", "c"]
    assert ids(version=first) == ["a", "b"]
    assert ids(version="golden") == ["a", "b"]
    assert ids(version=first, filter="input = 1") == ["a"]
    for bad in ("nope", "-1"):
        answer = app_client.get(f"/v1/dataset/{dataset}/export", params={"version": bad})
        assert answer.status_code == 400, answer.text


@pytest.mark.parametrize("object_type", ["project_logs", "experiment", "dataset"])
def test_an_export_of_a_missing_object_is_a_404_without_a_position(app_client, object_type):
    """A query's missing source is a 404 at the position of its argument; an export's query
    is its own (``from: dataset('nope') spans`` on line 2), so the position meant nothing to
    the caller ('dataset 'nope' not found at 2:15')."""
    for params in ({}, {"version": "5"}, {"version": "a-snapshot"}):  # (versions too)
        answer = app_client.get(f"/v1/{object_type}/nope/export", params=params)
        assert answer.status_code == 404, answer.text
        error = answer.json()["error"]
        assert error["message"].endswith("'nope' not found"), error
        assert "line" not in error and "col" not in error
