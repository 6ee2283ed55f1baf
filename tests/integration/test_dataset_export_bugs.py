"""Bugs found by a black-box hunt in exports, dataset imports, the CLI and automations, each
pinned by the behaviour the docs promise: a failed command leaves the user's files alone,
imports map every row the same way and refuse bad rows clearly, exports carry full values,
and runs of one automation never overlap."""

from __future__ import annotations

import json
import os
import stat
import threading
import time
import uuid

import httpx
import pytest

from tests.conftest import ADMIN_KEY
from tests.integration.test_cli import assert_cli_error, auth, cli_env, local_app, ok, run_cli

# -- the CLI's output files ----------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    """A data dir holding the demo project (for commands that need something to export)."""
    data_dir = tmp_path_factory.mktemp("demo") / "data"
    ok(run_cli("demo", "--data-dir", str(data_dir)))
    return data_dir


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("project_logs", "NOPE"), ["not found"]),
        (("project_logs", "demo", "--filter", "scores.x ="), ["filter"]),
    ],
    ids=["missing-object", "bad-filter"],
)
def test_a_failed_export_leaves_an_existing_output_file_alone(demo_dir, tmp_path, args, words):
    target = tmp_path / "f.txt"
    target.write_bytes(b"data\n")
    result = run_cli("export", *args, "-o", str(target), "--data-dir", str(demo_dir))
    assert_cli_error(result, *words)
    assert target.read_bytes() == b"data\n"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]  # no temporary left behind


def test_a_successful_export_replaces_the_output_file(demo_dir, tmp_path):
    target = tmp_path / "logs.jsonl"
    target.write_bytes(b"old\n")
    ok(run_cli("export", "project_logs", "demo", "-o", str(target), "--data-dir", str(demo_dir)))
    lines = target.read_bytes().splitlines()
    assert lines and b"old" not in lines
    assert [p.name for p in tmp_path.iterdir()] == ["logs.jsonl"]


@pytest.mark.parametrize(
    ("name", "start"),
    [("logs.parquet", b"PAR1"), ("logs.CSV", b'"id"'), ("logs.json", b"["), ("logs.out", b"{")],
)
def test_an_export_without_format_takes_it_from_the_file_name(demo_dir, tmp_path, name, start):
    """``-o logs.parquet`` without ``--format`` wrote JSON lines into logs.parquet."""
    target = tmp_path / name
    ok(run_cli("export", "project_logs", "demo", "-o", str(target), "--data-dir", str(demo_dir)))
    assert target.read_bytes().startswith(start)
    forced = tmp_path / f"forced-{name}"
    args = ("-o", str(forced), "--format", "jsonl", "--data-dir", str(demo_dir))
    ok(run_cli("export", "project_logs", "demo", *args))
    assert forced.read_bytes().startswith(b"{")


def test_an_export_through_a_symlink_writes_the_file_it_names(demo_dir, tmp_path):
    target = tmp_path / "target.jsonl"
    target.write_bytes(b"old\n")
    link = tmp_path / "link.jsonl"
    link.symlink_to(target)
    ok(run_cli("export", "project_logs", "demo", "-o", str(link), "--data-dir", str(demo_dir)))
    assert link.is_symlink() and link.resolve() == target
    assert b"old" not in target.read_bytes() and target.read_bytes().count(b"\n") > 10


def test_an_export_to_a_fifo_reaches_its_reader(demo_dir, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    ok(run_cli("export", "project_logs", "demo", "-o", str(fifo), "--data-dir", str(demo_dir)))
    reader.join(timeout=30)
    assert not reader.is_alive() and received and received[0].count(b"\n") > 10
    assert stat.S_ISFIFO(fifo.stat().st_mode)


@pytest.mark.parametrize("where", ["missing-dir", "a-directory"])
@pytest.mark.parametrize("command", ["export", "query"])
def test_an_unwritable_output_is_one_error_line(demo_dir, tmp_path, where, command):
    target = tmp_path / "nonexistent" / "x.jsonl" if where == "missing-dir" else tmp_path
    if command == "export":
        args = ("export", "project_logs", "demo", "-o", str(target))
    else:
        args = ("query", "select: id | from: project_logs('demo') | limit: 1", "-o", str(target))
    result = run_cli(*args, "-f", "jsonl", "--data-dir", str(demo_dir))
    assert_cli_error(result, "cannot write", str(target))


def test_serve_with_a_short_api_key_is_one_error_line(tmp_path):
    result = run_cli(
        "serve", "--data-dir", str(tmp_path / "data"), env=cli_env(TRACELAKE_API_KEY="short")
    )
    assert_cli_error(result, "TRACELAKE_API_KEY", "16 characters")
    assert not (tmp_path / "data").exists()


# -- dataset imports -----------------------------------------------------------------------


def _dataset(client, name: str = "d") -> str:
    project = client.post("/v1/project", json={"name": f"bugs-{uuid.uuid4().hex[:8]}"}).json()
    response = client.post("/v1/dataset", json={"project_id": project["id"], "name": name})
    assert response.status_code == 200, response.text
    return response.json()["id"]


def _import(client, dataset_id, body: bytes, fmt: str, maps=(), path="import"):
    params = [("format", fmt), *(("map", m) for m in maps)]
    return client.post(f"/v1/dataset/{dataset_id}/{path}", params=params, content=body)


def _rows(client, dataset_id: str, *ids: str) -> dict[str, dict]:
    """The dataset's current rows (only ``ids`` when given)."""
    where = f" | filter: id IN [{', '.join(repr(i) for i in ids)}]" if ids else ""
    query = f"select: * | from: dataset('{dataset_id}'){where} | limit: 1000"
    response = client.post("/btql", json={"query": query})
    assert response.status_code == 200, response.text
    return {r["id"]: r for r in response.json()["data"]}


def _late_column_file(fmt: str) -> bytes:
    """20,001 rows where only the last has an "answer" (more than one batch of rows)."""
    rows = [{"id": f"r{i}", "question": f"q{i}"} for i in range(20_000)]
    rows.append({"id": "r20000", "question": "q20000", "answer": "A"})
    if fmt == "json":
        return json.dumps(rows).encode()
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_a_column_seen_late_in_a_big_json_file_is_mapped_for_every_row(app_client, fmt):
    body = _late_column_file(fmt)
    ds = _dataset(app_client)
    response = _import(app_client, ds, body, fmt)
    assert response.status_code == 200, response.text
    assert response.json()["rows_written"] == 20_001
    assert response.json()["mapping"] == {
        "id": "id",
        "question": "input.question",
        "answer": "input.answer",
    }
    rows = _rows(app_client, ds, "r0", "r20000")
    assert rows["r0"]["input"]["question"] == "q0"
    assert rows["r0"]["input"].get("answer") is None
    assert rows["r20000"]["input"] == {"question": "q20000", "answer": "A"}

    mapped = _dataset(app_client)
    response = _import(app_client, mapped, body, fmt, maps=["answer=metadata.e"])
    assert response.status_code == 200, response.text
    rows = _rows(app_client, mapped, "r0", "r20000")
    assert rows["r0"]["input"] == "q0" and rows["r20000"]["input"] == "q20000"
    assert rows["r20000"]["metadata"] == {"e": "A"}


@pytest.mark.parametrize("fmt", ["json", "jsonl", "csv"])
def test_an_exported_dataset_imports_back_unchanged(app_client, fmt):
    source = _dataset(app_client)
    written = [
        {"id": "a", "input": {"question": "q?"}, "expected": "7", "metadata": {"k": 1}},
        {"id": "b", "input": "plain", "expected": None, "tags": ["t1", "t2"]},
        {"id": "c", "input": [1, 2], "expected": {"x": True}, "metadata": {"topic": "m"}},
    ]
    response = app_client.post(f"/v1/dataset/{source}/insert", json={"events": written})
    assert response.status_code == 200, response.text
    column = app_client.put(f"/v1/dataset/{source}/columns/topic", json={"expr": "metadata.topic"})
    assert column.status_code == 200, column.text
    exported = app_client.get(f"/v1/dataset/{source}/export", params={"format": fmt})
    assert exported.status_code == 200, exported.text

    # the custom column is exported too; the docs say to map it to skip
    target = _dataset(app_client)
    response = _import(app_client, target, exported.content, fmt, maps=["topic=skip"])
    assert response.status_code == 200, response.text
    fields = ("input", "expected", "metadata", "tags")
    expected = {row["id"]: {f: row.get(f) for f in fields} for row in written}
    got = {i: {f: row.get(f) for f in fields} for i, row in _rows(app_client, target).items()}
    assert got == expected


# -- automations ---------------------------------------------------------------------------


def _project(client) -> str:
    return client.post("/v1/project", json={"name": f"bugs-{uuid.uuid4().hex[:8]}"}).json()["id"]


def _log_rows(client, project_id: str, n: int, **fields) -> None:
    for start in range(0, n, 1000):
        rows = [
            {"project_id": project_id, "log_id": "g", "id": f"r{i}", "input": i, **fields}
            for i in range(start, min(n, start + 1000))
        ]
        assert client.post("/logs3", json={"rows": rows}).status_code == 200


def _export_automation(client, project_id: str, path, **config) -> str:
    body = {
        "project_id": project_id,
        "name": f"export-{uuid.uuid4().hex[:6]}",
        "config": {
            "event_type": "btql_export",
            "export_definition": config.pop("definition", {"type": "log_spans"}),
            "export_path": f"file://{path}",
            "format": "jsonl",
            "interval_seconds": 300,
            **config,
        },
    }
    response = client.post("/v1/project_automation", json=body)
    assert response.status_code == 200, response.text
    return response.json()["id"]


def test_manual_runs_of_one_automation_never_overlap(server, tmp_path):
    with server.client() as client:
        project_id = _project(client)
        _log_rows(client, project_id, 3000)
        aid = _export_automation(client, project_id, tmp_path / "out")
        run = f"/v1/project_automation/{aid}/run"
        for done in range(1, 4):
            first = client.post(run, params={"wait": "false"})
            assert first.status_code == 202, first.text
            second = client.post(run)  # at once: the first still holds the lease
            assert second.status_code == 409, second.text
            assert "in progress" in second.json()["error"]["message"]
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:  # wait for the background run to end
                records = client.get(f"/v1/project_automation/{aid}/runs").json()["objects"]
                if sum(r["status"] != "running" for r in records) == done:
                    break
                time.sleep(0.05)
        records = client.get(f"/v1/project_automation/{aid}/runs").json()["objects"]
    assert [r["status"] for r in records] == ["succeeded"] * 3
    assert sum(r["rows"] for r in records) == 3000  # each row exported once


def _retention(client, project_id: str, **config) -> httpx.Response:
    body = {
        "project_id": project_id,
        "name": f"keep-{uuid.uuid4().hex[:6]}",
        "config": {"event_type": "retention", "object_type": "project_logs", **config},
    }
    return client.post("/v1/project_automation", json=body)


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"retention_days": 100_000_000}, "retention_days"),
        ({"retention_days": 36_501}, "retention_days"),
        ({"retention_days": 30, "grace_period_hours": 1e300}, "grace_period_hours"),
        ({"retention_days": 30, "grace_period_hours": 8_761}, "grace_period_hours"),
    ],
)
def test_out_of_range_retention_values_are_refused_when_saved(app_client, config, field):
    project_id = _project(app_client)
    response = _retention(app_client, project_id, **config)
    assert response.status_code == 400, response.text
    assert field in response.json()["error"]["message"]
    listed = app_client.get("/v1/project_automation", params={"project_id": project_id})
    assert listed.json()["objects"] == []

    saved = _retention(app_client, project_id, retention_days=30).json()
    changed = app_client.patch(
        f"/v1/project_automation/{saved['id']}", json={"config": {**saved["config"], **config}}
    )
    assert changed.status_code == 400, changed.text


def test_the_largest_retention_values_run(app_client):
    project_id = _project(app_client)
    _log_rows(app_client, project_id, 3)
    saved = _retention(app_client, project_id, retention_days=36_500, grace_period_hours=8_760)
    assert saved.status_code == 200, saved.text
    run = app_client.post(f"/v1/project_automation/{saved.json()['id']}/run")
    assert run.status_code == 200, run.text
    assert run.json()["run"]["status"] == "succeeded" and run.json()["run"]["rows"] == 0


# -- CLI imports ---------------------------------------------------------------------------


def _names(client, path: str, **params) -> list[str]:
    return [o["name"] for o in client.get(path, params=params).json()["objects"]]


def test_a_failed_cli_import_creates_no_project_or_dataset(server, tmp_path):
    ragged = tmp_path / "bad.csv"
    ragged.write_text("a,b\n1\n")
    good = tmp_path / "good.csv"
    good.write_text("a,b\n1,2\n")
    args = ("--url", server.url, "--api-key", server.api_key)
    project = f"cli-new-{uuid.uuid4().hex[:8]}"
    for file, maps in [(ragged, ()), (good, ("--map", "nope=input"))]:
        result = run_cli("import", str(file), "--project", project, "--dataset", "D", *maps, *args)
        assert_cli_error(result)
    with server.client() as client:
        assert _names(client, "/v1/project", project_name=project) == []
        existing = client.post("/v1/project", json={"name": project}).json()["id"]
    # an existing project stays; only the new dataset goes
    assert_cli_error(run_cli("import", str(ragged), "--project", project, "--dataset", "D", *args))
    with server.client() as client:
        assert _names(client, "/v1/project", project_name=project) == [project]
        assert _names(client, "/v1/dataset", project_id=existing) == []
    ok(run_cli("import", str(good), "--project", project, "--dataset", "D", *args))
    assert_cli_error(run_cli("import", str(ragged), "--project", project, "--dataset", "D", *args))
    with server.client() as client:
        assert _names(client, "/v1/dataset", project_id=existing) == ["D"]  # it existed


def test_a_failed_cli_import_in_a_data_dir_creates_nothing(tmp_path):
    ragged = tmp_path / "bad.csv"
    ragged.write_text("a,b\n1\n")
    data_dir = tmp_path / "data"
    args = ("--project", "P", "--dataset", "D", "--data-dir", str(data_dir))
    env = cli_env(TRACELAKE_API_KEY=ADMIN_KEY)  # registered as the data dir's admin key
    assert_cli_error(run_cli("import", str(ragged), *args, env=env), "row 1")
    with local_app(data_dir) as app:
        projects = app.get("/v1/project", headers=auth(ADMIN_KEY))
    assert projects.status_code == 200 and projects.json()["objects"] == []


@pytest.mark.parametrize(
    ("fmt", "body", "words"),
    [
        ("json", b"[{}]", ["no columns"]),
        ("jsonl", b"{}\n{}\n", ["no columns"]),
        ("jsonl", b'{"":1,"q":2}\n', ["line 1", "key may not be empty"]),
        ("json", b'[{"q": 1},\n {"":"x","input":"y"}]', ["row 2", "key may not be empty"]),
        ("jsonl", b'{"q": 1}\n{"_row":"keep me","q":2}\n', ["line 2", "may not be named _row"]),
        ("json", b'[{"_row": 1}]', ["row 1", "may not be named _row"]),
    ],
    ids=["empty-object", "empty-lines", "empty-key", "empty-key-json", "_row", "_row-json"],
)
@pytest.mark.parametrize("route", ["import", "import/preview"])
def test_bad_json_keys_are_a_clear_400(app_client, route, fmt, body, words):
    ds = _dataset(app_client)
    response = _import(app_client, ds, body, fmt, path=route)
    assert response.status_code == 400, response.text
    message = response.json()["error"]["message"]
    assert all(w in message for w in words), message
    assert "SELECT" not in message and "Binder" not in message
    assert _rows(app_client, ds) == {}


# -- exports carry whole values ------------------------------------------------------------

LONG_INPUT = "x" * 300
BIG_METADATA = {f"key{i}": "v" * 20 for i in range(20)}


def _long_trace(client, project_id: str) -> None:
    row = {
        "project_id": project_id,
        "log_id": "g",
        "id": "root",
        "span_id": "root",
        "root_span_id": "root",
        "input": LONG_INPUT,
        "output": {"answer": "y" * 300},
        "metadata": BIG_METADATA,
    }
    assert client.post("/logs3", json={"rows": [row]}).status_code == 200


def test_summary_exports_carry_whole_values(app_client):
    project_id = _project(app_client)
    _long_trace(app_client, project_id)
    response = app_client.get(
        f"/v1/project_logs/{project_id}/export", params={"shape": "summary", "format": "jsonl"}
    )
    assert response.status_code == 200, response.text
    (row,) = [json.loads(line) for line in response.content.splitlines()]
    assert row["input"] == LONG_INPUT
    assert row["output"] == {"answer": "y" * 300}
    assert row["metadata"] == BIG_METADATA


def test_scheduled_trace_exports_carry_whole_values(app_client, tmp_path):
    project_id = _project(app_client)
    _long_trace(app_client, project_id)
    aid = _export_automation(
        app_client, project_id, tmp_path / "out", definition={"type": "log_traces"}
    )
    run = app_client.post(f"/v1/project_automation/{aid}/run")
    assert run.status_code == 200 and run.json()["run"]["status"] == "succeeded", run.text
    (path,) = [p for p in (tmp_path / "out").rglob("*.jsonl")]
    (row,) = [json.loads(line) for line in path.read_bytes().splitlines()]
    assert row["input"] == LONG_INPUT
    assert row["metadata"] == BIG_METADATA


# -- the export filter ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("true | sample: 1", "unexpected '|' after the expression in the filter at 1:6"),
        ("input < 10\n| limit: 1", "unexpected '|' after the expression in the filter at 2:1"),
        ("input < 10 and\n(", "found end of input in the filter at 2:2"),
        ("true\nand nosuchfn(input)", "in the filter at 2:5"),
        ("true and count(1) > 1", "aggregate count() is not allowed in the filter at 1:10"),
    ],
    ids=["sample-clause", "limit-clause", "second-line", "unknown-function", "aggregate"],
)
def test_the_export_filter_is_one_expression_with_positions_in_it(app_client, text, message):
    project_id = _project(app_client)
    _log_rows(app_client, project_id, 3)
    response = app_client.get(f"/v1/project_logs/{project_id}/export", params={"filter": text})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["message"].endswith(message), response.text


# -- schema violations in imports ----------------------------------------------------------


def test_schema_violations_in_an_import_name_the_row_id(app_client):
    ds = _dataset(app_client)
    schema = {"type": "object", "properties": {"q": {"type": "string"}}}
    saved = app_client.put(
        f"/v1/dataset/{ds}/schema/input", json={"schema": schema, "enforce": True}
    )
    assert saved.status_code == 200, saved.text
    body = b"id,q,other\nfirst,x,1\nsecond,,2\n"
    response = _import(app_client, ds, body, "csv", maps=["q=input.q", "other=input.other"])
    assert response.status_code == 400, response.text
    violations = response.json()["error"]["violations"]
    assert [(v["row"], v["id"], v["field"]) for v in violations] == [(2, "second", "input")]
    assert "row 2 (second)" in response.json()["error"]["message"]
    # without an id column the row's id is not known yet: the row number says which
    response = _import(app_client, ds, b"q,other\n,2\n", "csv", maps=["other=input.other"])
    assert response.status_code == 400, response.text
    assert [v["id"] for v in response.json()["error"]["violations"]] == [None]


# -- broken CSV files ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b'id,q\n1,"unterminated\n2,b\n', ["row 1 (line 2)", "not closed", "end of the file"]),
        (b'id,q\n1,a\n2,"ok ""x"""\n\n3,"open\n4,"b"\n', ["row 3 (line 5)", "not closed"]),
        (b"id,q\n1,a\n\n\n2,x\n3\n", ["row 3 (line 6)", "expected 2 columns, found 1"]),
    ],
    ids=["unterminated", "unterminated-after-quotes", "ragged-after-blank-lines"],
)
def test_broken_csv_files_name_the_bad_line(app_client, body, words):
    ds = _dataset(app_client)
    response = _import(app_client, ds, body, "csv")
    assert response.status_code == 400, response.text
    message = response.json()["error"]["message"]
    assert all(w in message for w in words), message
    assert _rows(app_client, ds) == {}


def test_a_quote_inside_an_unquoted_value_is_kept(app_client):
    ds = _dataset(app_client)
    response = _import(app_client, ds, b'id,q\n1,5" screen\n2,b\n', "csv")
    assert response.status_code == 200, response.text
    assert _rows(app_client, ds)["1"]["input"] == '5" screen'


@pytest.mark.parametrize(
    "body",
    [b'input,expected\n"a" ,ok\nx" y,z\n', b'input,expected\n"a"b,ok\nTV 5" screen,ok\n'],
    ids=["space-after-quote", "text-after-quote"],
)
def test_text_after_a_closing_quote_is_kept_not_taken_for_an_open_quote(app_client, body):
    """An odd quote count from text after a closing quote is not an unclosed quote: the file
    imports as pyarrow reads it (and as the preview shows it)."""
    ds = _dataset(app_client)
    response = _import(app_client, ds, body, "csv")
    assert response.status_code == 200, response.text
    assert response.json()["rows_written"] == 2


@pytest.mark.parametrize("depth", [230, 300])
@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_an_imported_value_nested_too_deeply_is_refused(app_client, fmt, depth):
    """Imports keep the 200-level limit of every other write (230 levels were stored, 300 a
    500 from the JSON encoder)."""
    value: list = []
    for _ in range(depth - 1):
        value = [value]
    rows = [{"id": "a", "q": "fine"}, {"id": "b", "q": value}]
    body = json.dumps(rows) if fmt == "json" else "".join(json.dumps(r) + "\n" for r in rows)
    ds = _dataset(app_client)
    response = _import(app_client, ds, body.encode(), fmt)
    assert response.status_code == 400, response.text
    assert "nests deeper than 200 levels" in response.json()["error"]["message"]
    assert _rows(app_client, ds) == {}


@pytest.mark.parametrize("filter_", [None, "true", "true\nand true"])
def test_an_export_error_outside_the_filter_has_no_position(app_client, filter_):
    """An error about the export's own query (the summary shape of a dataset) pointed into
    that query (`at 2:7`, a line the caller never wrote); it is said without a position."""
    project_id = _project(app_client)
    dataset = app_client.post("/v1/dataset", json={"project_id": project_id, "name": "d"}).json()
    params = {"shape": "summary", **({"filter": filter_} if filter_ else {})}
    response = app_client.get(f"/v1/dataset/{dataset['id']}/export", params=params)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["message"] == "the summary shape applies to project logs and experiments"
    assert "line" not in error and "col" not in error


@pytest.mark.parametrize("blank", ["", " ", "\n\t "])
def test_a_blank_export_filter_filters_nothing(app_client, blank):
    """An emptied filter field exports every row (a blank filter was "expected an
    expression")."""
    project_id = _project(app_client)
    _log_rows(app_client, project_id, 3)
    response = app_client.get(f"/v1/project_logs/{project_id}/export", params={"filter": blank})
    assert response.status_code == 200, response.text
    assert len(response.content.splitlines()) == 3


def test_the_cli_exports_an_old_version_of_a_dataset(fresh_server, tmp_path):
    """``tracelake export --version``: the rows of a transaction id or of a snapshot's name,
    through a server (which resolves the name) and on a data dir; a name the dataset does not
    have is one error line."""
    fresh_server.start()
    headers = auth(fresh_server.api_key)
    with httpx.Client(base_url=fresh_server.url, headers=headers) as client:
        project = client.post("/v1/project", json={"name": "versions"}).json()["id"]
        ds = client.post("/v1/dataset", json={"project_id": project, "name": "golden"}).json()
        insert = client.post(f"/v1/dataset/{ds['id']}/insert", json={"events": [{"id": "a"}]})
        snapshot = client.post(f"/v1/dataset/{ds['id']}/snapshots", json={"name": "v1"})
        client.post(f"/v1/dataset/{ds['id']}/insert", json={"events": [{"id": "b"}]})
        client.post(
            f"/v1/dataset/{ds['id']}/insert", json={"events": [{"id": "a", "_object_delete": True}]}
        )
    assert insert.status_code == 200 and snapshot.status_code == 200, snapshot.text
    target = tmp_path / "rows.jsonl"

    def exported(*args: str) -> list[str]:
        ok(run_cli("export", "dataset", ds["id"], "-o", str(target), *args))
        return sorted(json.loads(line)["id"] for line in target.read_text().splitlines())

    remote = ("--url", fresh_server.url, "--api-key", fresh_server.api_key)
    assert exported(*remote) == ["b"]
    assert exported(*remote, "--version", "v1") == ["a"]
    unknown = run_cli("export", "dataset", ds["id"], "-o", str(target), *remote, "--version", "v9")
    assert_cli_error(unknown, "no snapshot named 'v9'")
    fresh_server.stop()
    local = ("--data-dir", str(fresh_server.data_dir))
    assert exported(*local) == ["b"]
    assert exported(*local, "--version", "v1") == ["a"]
    unknown = run_cli("export", "dataset", ds["id"], "-o", str(target), *local, "--version", "v9")
    assert_cli_error(unknown, "no snapshot named 'v9'")
