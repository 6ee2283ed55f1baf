"""Scheduled exports to a local directory (file://): traces, spans and custom queries in JSONL
and Parquet, read back and compared row by row with BTQL; the folder layout and manifests;
the row cap and catch-up; pause; reset; test; run history; /automation/cron."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from pathlib import Path

import orjson
import pyarrow.parquet as pq
import pytest


def new_project(client) -> str:
    return client.post("/v1/project", json={"name": f"sx-{uuid.uuid4().hex[:8]}"}).json()["id"]


def log_traces(client, project_id: str, traces: int, spans_per_trace: int = 3, tag="a"):
    """Write ``traces`` traces of ``spans_per_trace`` spans each, one request per trace."""
    for t in range(traces):
        root = f"{tag}-t{t}"
        rows = [
            {
                "project_id": project_id,
                "log_id": "g",
                "id": f"{root}-s{s}",
                "span_id": f"{root}-s{s}",
                "root_span_id": root,
                "span_parents": [] if s == 0 else [f"{root}-s0"],
                "input": {"q": t, "s": s},
                "output": f"out {t}.{s}",
                "scores": {"good": (t + s) % 2},
                "metadata": {"trace": t},
                "tags": [tag],
            }
            for s in range(spans_per_trace)
        ]
        assert client.post("/logs3", json={"rows": rows}).status_code == 200


def create_export(client, project_id, path: Path, definition: dict, **config) -> dict:
    body = {
        "project_id": project_id,
        "name": f"export-{uuid.uuid4().hex[:6]}",
        "config": {
            "event_type": "btql_export",
            "export_definition": definition,
            "export_path": f"file://{path}",
            "format": config.pop("format", "jsonl"),
            "interval_seconds": 300,
            **config,
        },
    }
    response = client.post("/v1/project_automation", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def run_once(client, automation_id: str) -> dict:
    response = client.post(f"/v1/project_automation/{automation_id}/run")
    assert response.status_code == 200, response.text
    return response.json()["run"]


def exported_rows(root: Path) -> list[dict]:
    """Every row of every file listed in a manifest, in manifest order."""
    rows = []
    for manifest_path in sorted(root.glob("*/manifest_*.json")):
        manifest = json.loads(manifest_path.read_text())
        for entry in manifest["files"]:
            path = root / entry["key"]
            if path.suffix == ".parquet":
                part = pq.read_table(path).to_pylist()
            else:
                part = [orjson.loads(line) for line in path.read_bytes().splitlines()]
            assert len(part) == entry["rows"]
            rows += part
    return rows


def btql(client, query: str) -> list[dict]:
    rows, cursor = [], None
    while True:
        text = query + (f" | cursor: '{cursor}'" if cursor else "")
        body = client.post("/btql", json={"query": text, "fmt": "json"}).json()
        rows += body["data"]
        cursor = body.get("cursor")
        if not cursor or not body["data"]:
            return rows


def today() -> str:
    return dt.datetime.now(dt.UTC).date().isoformat()


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_span_export_equals_btql_rows(app_client, tmp_path, fmt):
    project_id = new_project(app_client)
    log_traces(app_client, project_id, 5)
    automation = create_export(
        app_client, project_id, tmp_path / "out", {"type": "log_spans"}, format=fmt
    )
    run = run_once(app_client, automation["id"])
    assert run["status"] == "succeeded", run
    assert run["rows"] == 15 and len(run["files"]) == 1
    tag = re.fullmatch(rf"{today()}/export_(\d{{9}}-[0-9a-f]{{6}})_001\.{fmt}", run["files"][0])
    assert tag, run["files"]
    assert sorted(p.name for p in (tmp_path / "out" / today()).iterdir()) == [
        f"export_{tag[1]}_001.{fmt}",
        f"manifest_{tag[1]}.json",
    ]
    exported = {r["id"]: r for r in exported_rows(tmp_path / "out")}
    source = btql(app_client, f"select: * | from: project_logs('{project_id}') spans")
    assert len(exported) == len(source) == 15
    for row in source:
        got = exported[row["id"]]
        for field in ("input", "output", "scores", "metadata", "tags", "root_span_id"):
            value = got[field]
            if fmt == "parquet" and field != "root_span_id":
                value = json.loads(value)  # JSON values are JSON text in Parquet
            assert value == row[field], (field, value, row[field])


def test_trace_export_writes_one_summary_row_per_trace(app_client, tmp_path):
    project_id = new_project(app_client)
    log_traces(app_client, project_id, 4)
    automation = create_export(app_client, project_id, tmp_path / "t", {"type": "log_traces"})
    run = run_once(app_client, automation["id"])
    assert run["status"] == "succeeded" and run["rows"] == 4
    exported = exported_rows(tmp_path / "t")
    source = btql(app_client, f"select: * | from: project_logs('{project_id}') summary")
    assert sorted(r["root_span_id"] for r in exported) == sorted(r["root_span_id"] for r in source)
    # A trace that changes later is exported again, with its new state; others are not.
    log_traces(app_client, project_id, 1, tag="a")  # rewrites trace a-t0
    run = run_once(app_client, automation["id"])
    assert run["rows"] == 1
    assert [r["root_span_id"] for r in exported_rows(tmp_path / "t")].count("a-t0") == 2


def test_custom_query_export(app_client, tmp_path):
    project_id = new_project(app_client)
    log_traces(app_client, project_id, 6)
    query = (
        f"select: id, input, scores | from: project_logs('{project_id}') spans"
        " | filter: scores.good = 1"
    )
    automation = create_export(
        app_client,
        project_id,
        tmp_path / "q",
        {"type": "btql_query", "btql_query": query},
        format="parquet",
    )
    run = run_once(app_client, automation["id"])
    assert run["status"] == "succeeded", run
    exported = exported_rows(tmp_path / "q")
    source = btql(app_client, query)
    assert sorted(r["id"] for r in exported) == sorted(r["id"] for r in source)
    assert set(exported[0]) == {"id", "input", "scores"}


def test_cap_and_catch_up_and_incremental_runs(app_client, tmp_path):
    project_id = new_project(app_client)
    log_traces(app_client, project_id, 10, spans_per_trace=2)  # 10 writes of 2 spans
    automation = create_export(
        app_client, project_id, tmp_path / "c", {"type": "log_spans"}, max_rows=5
    )
    first = run_once(app_client, automation["id"])
    # The cap cuts at whole transactions: 2 writes (4 rows), 16 rows left.
    assert first["rows"] == 4 and first["backlog"] == 16
    state = app_client.get(f"/v1/project_automation/{automation['id']}/runs").json()["state"]
    assert state["next_run_at"] <= dt.datetime.now(dt.UTC).isoformat()  # due again at once
    made = app_client.post("/automation/cron", json={}).json()["runs"]  # one scheduler pass
    while made and made[-1]["backlog"]:
        made = app_client.post("/automation/cron", json={}).json()["runs"]
    history = app_client.get(f"/v1/project_automation/{automation['id']}/runs").json()
    runs = history["objects"]
    assert sum(r["rows"] for r in runs) == 20 and runs[0]["backlog"] == 0
    assert [r["seq"] for r in runs] == list(range(len(runs), 0, -1))
    files = sorted(p.name for p in (tmp_path / "c" / today()).glob("export_*"))
    assert len(files) == len(runs) and all(f.endswith("_001.jsonl") for f in files)
    ids = [r["id"] for r in exported_rows(tmp_path / "c")]
    assert len(ids) == len(set(ids)) == 20
    # Nothing new: an empty run writes no file and no manifest.
    empty = run_once(app_client, automation["id"])
    assert empty["status"] == "succeeded" and empty["rows"] == 0 and empty["files"] == []
    log_traces(app_client, project_id, 1, spans_per_trace=2, tag="b")
    assert run_once(app_client, automation["id"])["rows"] == 2


def test_files_split_at_rows_per_file(app_client, tmp_path):
    project_id = new_project(app_client)
    log_traces(app_client, project_id, 5, spans_per_trace=5)
    automation = create_export(
        app_client,
        project_id,
        tmp_path / "f",
        {"type": "log_spans"},
        format="parquet",
        rows_per_file=10,
        batch_size=7,
    )
    run = run_once(app_client, automation["id"])
    assert run["rows"] == 25 and len(run["files"]) == 3
    (manifest_path,) = (tmp_path / "f" / today()).glob("manifest_*.json")
    manifest = json.loads(manifest_path.read_text())
    assert [f["rows"] for f in manifest["files"]] == [10, 10, 5]
    assert manifest["rows"] == 25
    # The window was written as JSON numbers (~1e18: JavaScript readers lost the last digits),
    # unlike the rows' _xact_id and the run history's cursor, 19-digit strings.
    rows = pq.read_table(tmp_path / "f" / run["files"][-1]).to_pylist()
    assert manifest["window"] == {"from_xact_id": None, "to_xact_id": run["cursor_to"]}
    assert max(r["_xact_id"] for r in rows) == run["cursor_to"]
    log_traces(app_client, project_id, 1)
    second = run_once(app_client, automation["id"])
    manifests = sorted((tmp_path / "f" / today()).glob("manifest_*.json"))
    window = json.loads(manifests[-1].read_text())["window"]
    assert window == {"from_xact_id": run["cursor_to"], "to_xact_id": second["cursor_to"]}


def test_pause_reset_and_history(app_client, tmp_path):
    project_id = new_project(app_client)
    log_traces(app_client, project_id, 2)
    automation = create_export(app_client, project_id, tmp_path / "p", {"type": "log_spans"})
    aid = automation["id"]
    paused = app_client.patch(
        f"/v1/project_automation/{aid}", json={"config": {"status": "paused"}}
    )
    assert paused.status_code == 200
    assert app_client.post("/automation/cron", json={}).json()["runs"] == []  # not due
    state = app_client.get(f"/v1/project_automation/{aid}/runs").json()["state"]
    assert state["status"] == "paused" and state["next_run_at"] is None
    assert run_once(app_client, aid)["rows"] == 6  # run once works while paused
    assert run_once(app_client, aid)["rows"] == 0
    reset = app_client.post(f"/v1/project_automation/{aid}/reset")
    assert reset.status_code == 200 and reset.json()["cursor"] is None
    assert app_client.get(f"/v1/project_automation/{aid}/runs").json()["objects"] == []
    again = run_once(app_client, aid)
    assert again["rows"] == 6 and len(again["files"]) == 1  # a new name: earlier files stay
    assert len(list((tmp_path / "p" / today()).glob("export_*.jsonl"))) == 2
    run = app_client.get(f"/v1/project_automation/{aid}/runs").json()["objects"][0]
    assert {"start", "end", "status", "rows", "bytes", "files", "cursor_from", "cursor_to"} <= set(
        run
    )
    assert run["cursor_from"] is None and run["cursor_to"] is not None and run["bytes"] > 0


def test_test_route_and_cron_registration(app_client, tmp_path):
    project_id = new_project(app_client)
    good = create_export(app_client, project_id, tmp_path / "ok", {"type": "log_spans"})
    tested = app_client.post(f"/v1/project_automation/{good['id']}/test")
    assert tested.status_code == 200 and tested.json()["success"] is True
    assert not list((tmp_path / "ok").rglob("*.tracelake-test-*"))
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("x")
    bad = create_export(app_client, project_id, blocked / "sub", {"type": "log_spans"})
    failed = app_client.post(f"/v1/project_automation/{bad['id']}/test")
    assert failed.status_code == 400 and "cannot create" in failed.json()["error"]["message"]
    cron = app_client.post(
        "/automation/cron", json={"automation_id": good["id"], "cron": {"type": "btql_export"}}
    )
    assert cron.status_code == 200 and cron.json()["registered"] is True
    wrong = app_client.post(
        "/automation/cron", json={"automation_id": good["id"], "cron": {"type": "retention"}}
    )
    assert wrong.status_code == 400
    missing = app_client.post("/automation/cron", json={"automation_id": "nope"})
    assert missing.status_code == 404


def test_a_failed_run_is_recorded_and_retried_to_the_same_names(app_client, tmp_path):
    project_id = new_project(app_client)
    log_traces(app_client, project_id, 3)
    target = tmp_path / "r"
    automation = create_export(app_client, project_id, target, {"type": "log_spans"})
    target.write_text("a file where the folder should be")  # the storage refuses
    failed = run_once(app_client, automation["id"])
    assert failed["status"] == "failed" and "cannot" in failed["error"], failed
    assert failed["rows"] == 0
    target.unlink()
    retried = run_once(app_client, automation["id"])
    assert retried["status"] == "succeeded" and retried["rows"] == 9
    assert retried["cursor_from"] == failed["cursor_from"]
    assert len(retried["files"]) == 1 and retried["files"][0].endswith("_001.jsonl")
    assert len(list((target / today()).glob("export_*"))) == 1
    statuses = [
        r["status"]
        for r in app_client.get(f"/v1/project_automation/{automation['id']}/runs").json()["objects"]
    ]
    assert statuses == ["succeeded", "failed"]


def test_schedule_survives_a_restart_and_missed_runs_run_once(fresh_server, tmp_path):
    import time

    import duckdb

    fresh_server.env["TRACELAKE_SCHEDULER_TICK_SECONDS"] = "1"
    fresh_server.start()
    client = fresh_server.client()
    project_id = new_project(client)
    log_traces(client, project_id, 2)
    automation = create_export(client, project_id, tmp_path / "s", {"type": "log_spans"})
    aid = automation["id"]

    def history():
        return client.get(f"/v1/project_automation/{aid}/runs").json()["objects"]

    def finished():
        return [r for r in history() if r["status"] != "running"]

    deadline = time.time() + 30
    while not finished() and time.time() < deadline:  # a new export runs at once
        time.sleep(0.2)
    first = history()
    assert len(first) == 1 and first[0]["trigger"] == "schedule" and first[0]["rows"] == 6
    fresh_server.stop()
    # The server was down for three hours: 36 runs of a 5-minute schedule were missed.
    con = duckdb.connect(str(fresh_server.data_dir / "tracelake.duckdb"))
    con.execute(
        "UPDATE automation_state SET next_run_at = now() - INTERVAL 3 HOUR WHERE automation_id = ?",
        [aid],
    )
    con.close()
    fresh_server.start()
    client = fresh_server.client()
    deadline = time.time() + 30
    while len(finished()) < 2 and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(3)  # a few more ticks: nothing else is due
    runs = history()
    assert [r["trigger"] for r in runs] == ["schedule", "schedule"]
    state = client.get(f"/v1/project_automation/{aid}/runs").json()["state"]
    next_run = dt.datetime.fromisoformat(state["next_run_at"])
    assert next_run > dt.datetime.now(dt.UTC) + dt.timedelta(seconds=240)


def test_a_lease_keeps_a_second_runner_out_until_it_expires(tmp_path):
    from tracelake.store import runs
    from tracelake.store.store import Store

    store = Store(tmp_path / "data")
    try:
        assert runs.take_lease(store, "a1", "owner-1", ttl=60)
        assert not runs.take_lease(store, "a1", "owner-2", ttl=60)
        assert runs.take_lease(store, "a1", "owner-1", ttl=60)  # the holder may renew
        runs.release_lease(store, "a1", "owner-1")
        assert runs.take_lease(store, "a1", "owner-2", ttl=-1)  # taken, already expired
        assert runs.take_lease(store, "a1", "owner-1", ttl=60)  # an expired lease is free
        runs.release_stale_leases(store, "owner-3")  # a new process: older owners are gone
        assert runs.get_state(store, "a1").lease_owner is None
    finally:
        store.close()


def test_a_bad_custom_query_is_refused_when_saved(app_client, tmp_path):
    project_id = new_project(app_client)
    body = {
        "project_id": project_id,
        "name": "bad-query",
        "config": {
            "event_type": "btql_export",
            "export_definition": {"type": "btql_query", "btql_query": "select: id | filter: ="},
            "export_path": f"file://{tmp_path}",
            "format": "jsonl",
            "interval_seconds": 300,
        },
    }
    refused = app_client.post("/v1/project_automation", json=body)
    assert refused.status_code == 400 and refused.json()["error"]["line"] == 1, refused.text
    listed = app_client.get("/v1/project_automation", params={"project_id": project_id})
    assert listed.json()["objects"] == []  # nothing was saved
    body["config"]["export_definition"]["btql_query"] = "select: id | from: project_logs('nope')"
    missing = app_client.post("/v1/project_automation", json=body)
    assert missing.status_code in (400, 404)
    good = create_export(
        app_client,
        project_id,
        tmp_path,
        {"type": "btql_query", "btql_query": f"select: id | from: project_logs('{project_id}')"},
    )
    patched = app_client.patch(
        f"/v1/project_automation/{good['id']}",
        json={"config": {"export_definition": {"type": "btql_query", "btql_query": "select:"}}},
    )
    assert patched.status_code == 400


@pytest.mark.parametrize(
    ("clauses", "field", "col"),
    [
        ("select: id | filter: foo = 1", "foo", 22),
        ("select: nosuch", "nosuch", 9),
        ("select: id | sort: scores.x, nope desc", "nope", 30),
    ],
)
def test_a_custom_query_naming_an_unknown_field_is_refused_when_saved(
    app_client, tmp_path, clauses, field, col
):
    """The query was parsed when saved, but a field the object type does not have was found
    only by the first run, which failed (as every later one). It is refused as POST /btql
    refuses it, with its line and column, on create and on PATCH; a key of a JSON field
    (``metadata.anything``) stays allowed, as in /btql."""
    project_id = new_project(app_client)
    source = f"from: project_logs('{project_id}')"
    query = f"{clauses} | {source}"
    as_btql = app_client.post("/btql", json={"query": query})
    definition = {"type": "btql_query", "btql_query": query}
    body = {
        "project_id": project_id,
        "name": "unknown-field",
        "config": {
            "event_type": "btql_export",
            "export_definition": definition,
            "export_path": f"file://{tmp_path}",
            "interval_seconds": 300,
        },
    }
    refused = app_client.post("/v1/project_automation", json=body)
    assert refused.status_code == 400, refused.text
    assert refused.json() == as_btql.json(), (refused.text, as_btql.text)
    error = refused.json()["error"]
    assert f"unknown field {field!r}" in error["message"], error
    assert (error["line"], error["col"]) == (1, col), error
    listed = app_client.get("/v1/project_automation", params={"project_id": project_id})
    assert listed.json()["objects"] == []
    fine = f"select: id, metadata.anything | filter: metadata.x = 1 | {source}"
    good = create_export(
        app_client, project_id, tmp_path, {"type": "btql_query", "btql_query": fine}
    )
    patched = app_client.patch(
        f"/v1/project_automation/{good['id']}", json={"config": {"export_definition": definition}}
    )
    assert patched.status_code == 400 and patched.json() == as_btql.json(), patched.text


def test_a_shorter_interval_applies_to_the_next_run(app_client, tmp_path):
    """The next run time was kept from the old interval: an export made to run every
    5 minutes instead of daily still waited up to a day for its next run."""
    project_id = new_project(app_client)
    log_traces(app_client, project_id, 1)
    automation = create_export(
        app_client, project_id, tmp_path / "out", {"type": "log_spans"}, interval_seconds=86_400
    )
    run_once(app_client, automation["id"])
    url = f"/v1/project_automation/{automation['id']}"

    def next_run() -> dt.datetime:
        state = app_client.get(f"{url}/runs").json()["state"]
        return dt.datetime.fromisoformat(state["next_run_at"].replace("Z", "+00:00"))

    assert next_run() > dt.datetime.now(dt.UTC) + dt.timedelta(hours=23)
    patched = app_client.patch(url, json={"config": {"interval_seconds": 300}})
    assert patched.status_code == 200, patched.text
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=300)
    assert next_run() <= soon
    # Longer again (PUT): the next run stays where it is, the new interval follows it.
    body = {
        "project_id": project_id,
        "name": automation["name"],
        "config": {**automation["config"], "interval_seconds": 7200},
    }
    assert app_client.put("/v1/project_automation", json=body).status_code == 200
    assert next_run() <= soon


def test_a_new_or_reset_export_shows_that_it_is_due(app_client, tmp_path):
    """An active export that never ran (or was reset) is due at once, but its state showed
    ``next_run_at: null``, as a paused one does."""
    project_id = new_project(app_client)
    automation = create_export(app_client, project_id, tmp_path / "out", {"type": "log_spans"})
    url = f"/v1/project_automation/{automation['id']}"

    def next_run_at():
        return app_client.get(f"{url}/runs").json()["state"]["next_run_at"]

    assert next_run_at() is not None
    assert next_run_at() <= dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
    registered = app_client.post("/automation/cron", json={"automation_id": automation["id"]})
    assert registered.json()["next_run_at"] is not None
    run_once(app_client, automation["id"])
    assert next_run_at() > dt.datetime.now(dt.UTC).isoformat()
    reset = app_client.post(f"{url}/reset").json()
    assert reset["next_run_at"] is not None and reset["cursor"] is None
    app_client.patch(url, json={"config": {"status": "paused"}})
    assert next_run_at() is None


def leave_running(app_client, automation: dict, run: dict) -> None:
    """As a crash after a run wrote its files, before it was closed: the run stays
    "running" and the export's cursor did not move."""
    app_client.app.state.store.transact(
        lambda c: (
            c.execute(
                "UPDATE automation_runs SET status = 'running', finished = NULL WHERE id = ?",
                [run["id"]],
            ),
            c.execute(
                "UPDATE automation_state SET cursor_xact = 0 WHERE automation_id = ?",
                [automation["id"]],
            ),
        )
    )


def test_an_unfinished_run_is_planned_anew_after_its_definition_changes(app_client, tmp_path):
    """A run that did not finish is retried from its plan, but the retry ran the plan's
    format and paging with the new definition: after a switch from spans in JSONL to traces
    in Parquet it wrote trace rows in a JSONL file. A changed definition or format now plans
    anew and removes what the unfinished attempt wrote, so each row is exported once."""
    project_id = new_project(app_client)
    log_traces(app_client, project_id, 4, spans_per_trace=2)
    out = tmp_path / "out"
    automation = create_export(app_client, project_id, out, {"type": "log_spans"}, rows_per_file=3)
    first = run_once(app_client, automation["id"])
    assert first["rows"] == 8 and len(first["files"]) == 3
    leave_running(app_client, automation, first)  # (files and manifest written)
    patched = app_client.patch(
        f"/v1/project_automation/{automation['id']}",
        json={"config": {"format": "parquet", "export_definition": {"type": "log_traces"}}},
    )
    assert patched.status_code == 200, patched.text
    again = run_once(app_client, automation["id"])
    assert again["status"] == "succeeded" and again["rows"] == 4
    assert all(key.endswith(".parquet") for key in again["files"])
    files = sorted(p.name for p in out.glob("*/*"))
    assert not [name for name in files if name.endswith(".jsonl")], files
    rows = exported_rows(out)
    assert sorted(r["root_span_id"] for r in rows) == [f"a-t{t}" for t in range(4)]


def test_an_unfinished_traces_query_run_is_cleaned_up_whole(app_client, tmp_path):
    """A custom query of the ``traces`` shape returns every span of a trace but its plan
    counted traces: the number of files an attempt may write (which a retry or a new plan
    deletes by name) was too small, and files of an unfinished attempt stayed in the folder
    beside the new run's, their rows twice."""
    project_id = new_project(app_client)
    log_traces(app_client, project_id, 4, spans_per_trace=3)
    out = tmp_path / "out"
    query = f"select: * | from: project_logs('{project_id}') traces"
    automation = create_export(
        app_client,
        project_id,
        out,
        {"type": "btql_query", "btql_query": query},
        rows_per_file=2,
    )
    first = run_once(app_client, automation["id"])
    assert first["rows"] == 12 and len(first["files"]) == 6
    leave_running(app_client, automation, first)
    patched = app_client.patch(
        f"/v1/project_automation/{automation['id']}",
        json={"config": {"export_definition": {"type": "log_spans"}}},
    )
    assert patched.status_code == 200, patched.text
    again = run_once(app_client, automation["id"])
    assert again["status"] == "succeeded" and again["rows"] == 12
    left = sorted(str(p.relative_to(out)) for p in out.glob("*/*"))
    assert left == sorted([*again["files"], *(p for p in left if "manifest_" in p)]), left
    assert len([p for p in left if "manifest_" in p]) == 1


def test_an_unfinished_run_of_a_query_that_unpivots_is_cleaned_up_whole(app_client, tmp_path):
    """A query that unpivots returns more rows than its window holds, so its plan's file
    count was too small: files of an unfinished attempt beyond it stayed beside the new
    run's. The files an attempt starts beyond the estimate are now recorded in its plan."""
    project_id = new_project(app_client)
    rows = [{"id": f"r{i}", "input": i, "tags": ["a", "b", "c", "d"]} for i in range(3)]
    inserted = app_client.post(f"/v1/project_logs/{project_id}/insert", json={"events": rows})
    assert inserted.status_code == 200, inserted.text
    out = tmp_path / "out"
    query = f"select: id, tag | from: project_logs('{project_id}') | unpivot: tags as tag"
    automation = create_export(
        app_client, project_id, out, {"type": "btql_query", "btql_query": query}, rows_per_file=2
    )
    first = run_once(app_client, automation["id"])
    assert first["rows"] == 12 and len(first["files"]) == 6
    leave_running(app_client, automation, first)
    patched = app_client.patch(
        f"/v1/project_automation/{automation['id']}",
        json={"config": {"export_definition": {"type": "log_spans"}}},
    )
    assert patched.status_code == 200, patched.text
    again = run_once(app_client, automation["id"])
    assert again["status"] == "succeeded" and again["rows"] == 3
    left = sorted(str(p.relative_to(out)) for p in out.glob("*/*"))
    manifests = [p for p in left if "manifest_" in p]
    assert len(manifests) == 1 and sorted([*again["files"], *manifests]) == left, left


def add_failed_runs(app_client, automation_id: str, count: int) -> None:
    """As ``count`` scheduled runs that failed before they could plan (a query that no longer
    plans is retried every minute), each recorded as the scheduler records it."""
    from tracelake.store import runs

    store = app_client.app.state.store
    for _ in range(count):
        run = runs.start_run(store, automation_id, "export", "schedule", {})
        runs.finish_run(store, run["id"], status="failed", error="could not plan")


def test_an_unfinished_plan_is_found_behind_many_runs_that_could_not_plan(app_client, tmp_path):
    """Only the newest 50 runs were searched for an unfinished plan: behind more runs that
    failed before planning, the unfinished attempt was forgotten, so a changed definition
    planned anew without removing the files that attempt wrote (its rows twice)."""
    project_id = new_project(app_client)
    log_traces(app_client, project_id, 4, spans_per_trace=2)
    out = tmp_path / "out"
    automation = create_export(app_client, project_id, out, {"type": "log_spans"}, rows_per_file=3)
    first = run_once(app_client, automation["id"])
    assert first["rows"] == 8 and len(first["files"]) == 3
    leave_running(app_client, automation, first)
    add_failed_runs(app_client, automation["id"], 60)
    patched = app_client.patch(
        f"/v1/project_automation/{automation['id']}",
        json={"config": {"format": "parquet", "export_definition": {"type": "log_traces"}}},
    )
    assert patched.status_code == 200, patched.text
    again = run_once(app_client, automation["id"])
    assert again["status"] == "succeeded" and again["rows"] == 4
    files = sorted(p.name for p in out.glob("*/*"))
    assert not [name for name in files if name.endswith(".jsonl")], files
    assert sorted(r["root_span_id"] for r in exported_rows(out)) == [f"a-t{t}" for t in range(4)]


def add_old_runs(app_client, automation_id: str, count: int, kind: str = "export") -> None:
    """As ``count`` finished runs recorded before the next one (a failing export adds one a
    minute), in one statement."""
    app_client.app.state.store.transact(
        lambda c: c.execute(
            """INSERT INTO automation_runs (id, automation_id, seq, kind, trigger, status,
                   started, finished, plan, error)
               SELECT uuid()::VARCHAR, ?, (SELECT coalesce(max(seq), 0) FROM automation_runs
                   WHERE automation_id = ?) + 1 + i, ?, 'schedule', 'failed', now(), now(),
                   '{}', 'could not plan'
               FROM range(?) t(i)""",
            [automation_id, automation_id, kind, count],
        )
    )


def test_the_run_history_is_bounded(app_client, tmp_path):
    """Every run was kept forever: an export that fails adds a run a minute, so the history
    (and the catalog) grew without end. A run's end now drops finished runs older than the
    newest 1,000, keeping the newest planned one (a retry reuses its plan)."""
    from tracelake.store import runs

    project_id = new_project(app_client)
    log_traces(app_client, project_id, 2)
    out = tmp_path / "out"
    automation = create_export(app_client, project_id, out, {"type": "log_spans"})
    planned = run_once(app_client, automation["id"])
    leave_running(app_client, automation, planned)
    app_client.app.state.store.transact(
        lambda c: c.execute(
            "UPDATE automation_runs SET status = 'failed' WHERE id = ?", [planned["id"]]
        )
    )
    add_old_runs(app_client, automation["id"], runs.KEEP_RUNS + 200)
    add_failed_runs(app_client, automation["id"], 1)

    kept = app_client.get(
        f"/v1/project_automation/{automation['id']}/runs", params={"limit": 1000}
    ).json()["objects"]
    count = app_client.app.state.store.read(
        lambda c: c.execute(
            "SELECT count(*) FROM automation_runs WHERE automation_id = ?", [automation["id"]]
        ).fetchone()[0]
    )
    assert count == runs.KEEP_RUNS + 1  # the newest 1,000 and the planned run
    assert kept[0]["seq"] == runs.KEEP_RUNS + 202 and len(kept) == 1000
    # The failed attempt is still retried to the same names.
    again = run_once(app_client, automation["id"])
    assert again["status"] == "succeeded" and again["files"] == planned["files"]
    assert again["cursor_from"] == planned["cursor_from"]


def test_the_backlog_of_a_traces_query_counts_the_rows_it_returns(app_client, tmp_path):
    """A query of the ``traces`` shape returns every span of its traces and its run counted
    them as its rows, but its backlog counted the traces left: 6 rows exported, a backlog
    of 2, with 6 rows still to come. Both now count the rows the query returns."""
    project_id = new_project(app_client)
    log_traces(app_client, project_id, 4, spans_per_trace=3)
    query = f"select: * | from: project_logs('{project_id}') traces"
    automation = create_export(
        app_client,
        project_id,
        tmp_path / "out",
        {"type": "btql_query", "btql_query": query},
        max_rows=2,
    )
    first = run_once(app_client, automation["id"])
    assert (first["rows"], first["backlog"]) == (6, 6)
    second = run_once(app_client, automation["id"])
    assert (second["rows"], second["backlog"]) == (6, 0)
    assert len(exported_rows(tmp_path / "out")) == 12


def test_a_failed_run_reports_no_backlog(app_client, tmp_path):
    """A failed run reported its plan's backlog, which the run history shows as "max rows
    reached" beside the error, though the run exported nothing (its window is retried)."""
    project_id = new_project(app_client)
    log_traces(app_client, project_id, 3)
    target = tmp_path / "r"
    automation = create_export(app_client, project_id, target, {"type": "log_spans"}, max_rows=3)
    target.write_text("a file where the folder should be")  # the storage refuses
    failed = run_once(app_client, automation["id"])
    assert failed["status"] == "failed" and failed["backlog"] is None, failed
    target.unlink()
    retried = run_once(app_client, automation["id"])
    assert retried["status"] == "succeeded" and (retried["rows"], retried["backlog"]) == (3, 6)


def crash_during_a_manual_run(fresh_server, tmp_path) -> tuple[str, Path]:
    """A paused export run once by hand, then the server "killed" after the run wrote its
    files and before it was closed: the run is left ``running`` and the cursor did not move
    (set in the DuckDB file while the server is down). Answers the automation and its folder;
    the server is stopped, its scheduler off for the next start."""
    import duckdb

    fresh_server.env["TRACELAKE_SCHEDULER_TICK_SECONDS"] = "0"
    fresh_server.start()
    with fresh_server.client() as client:
        project_id = new_project(client)
        log_traces(client, project_id, 2)
        out = tmp_path / "out"
        automation = create_export(client, project_id, out, {"type": "log_spans"}, status="paused")
        run = run_once(client, automation["id"])
        assert run["status"] == "succeeded" and run["trigger"] == "manual" and run["rows"] == 6
    fresh_server.stop()
    con = duckdb.connect(str(fresh_server.data_dir / "tracelake.duckdb"))
    con.execute(
        "UPDATE automation_runs SET status = 'running', finished = NULL WHERE id = ?", [run["id"]]
    )
    con.execute(
        "UPDATE automation_state SET cursor_xact = 0 WHERE automation_id = ?", [automation["id"]]
    )
    con.close()
    return automation["id"], out


def test_an_interrupted_manual_run_is_resumed_as_a_manual_run(fresh_server, tmp_path):
    """A paused export's "run once" cut by a crash was run again on start and shown in the
    history as a "schedule" run, as if the paused export had run on its schedule. It is run
    again (the user asked for it; pausing stops the schedule, not a run that started) and
    shown as what it was: a manual run, with ``resumes`` naming the run it finishes."""
    aid, out = crash_during_a_manual_run(fresh_server, tmp_path)
    fresh_server.start()  # (its scheduler off: the pass is asked for below)
    with fresh_server.client() as client:
        made = client.post("/automation/cron", json={}).json()["runs"]
        assert [(r["trigger"], r["status"], r["resumes"]) for r in made] == [
            ("manual", "succeeded", 1)
        ]
        history = client.get(f"/v1/project_automation/{aid}/runs").json()["objects"]
        shown = [(r["seq"], r["trigger"], r["status"], r["resumes"]) for r in history]
        assert shown == [(2, "manual", "succeeded", 1), (1, "manual", "failed", None)]
        assert "interrupted" in history[1]["error"]
        assert history[0]["rows"] == 6
        # Still paused: the next pass runs nothing.
        assert client.post("/automation/cron", json={}).json()["runs"] == []
        project_id = client.get(f"/v1/project_automation/{aid}").json()["project_id"]
    # The command line's history says it too.
    from tests.integration.test_cli import cli_env, run_cli

    env = cli_env(TRACELAKE_URL=fresh_server.url, TRACELAKE_API_KEY=fresh_server.api_key)
    listed = run_cli("automations", "runs", aid, "-p", project_id, env=env)
    assert listed.returncode == 0, listed.stderr
    assert "\tmanual (resumes #1)\tsucceeded\t" in listed.stdout.splitlines()[1]
    assert len({row["id"] for row in exported_rows(out)}) == len(exported_rows(out)) == 6


def test_a_run_once_that_finishes_an_interrupted_run_is_not_followed_by_another(
    fresh_server, tmp_path
):
    """ "Run once" right after a restart picks up the interrupted run's plan and finishes it;
    the scheduler still had the export down to be run again, and its next pass ran the paused
    export once more, as a "schedule" run."""
    aid, _ = crash_during_a_manual_run(fresh_server, tmp_path)
    fresh_server.start()
    with fresh_server.client() as client:
        run = run_once(client, aid)
        assert (run["trigger"], run["status"], run["resumes"], run["rows"]) == (
            "manual",
            "succeeded",
            1,
            6,
        )
        assert client.post("/automation/cron", json={}).json()["runs"] == []
        history = client.get(f"/v1/project_automation/{aid}/runs").json()["objects"]
        assert [(r["seq"], r["trigger"]) for r in history] == [(2, "manual"), (1, "manual")]


def test_a_run_with_no_new_rows_says_it_did_not_check_the_storage(app_client, tmp_path):
    """A run with nothing to export writes nothing, so it never reaches the storage: with a
    broken destination it still "succeeded", and the history looked healthy until the first
    run with rows failed. Such a run still succeeds (nothing was lost) but says what it
    was: ``note`` "no new rows", the storage not checked; ``test`` checks it."""
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the export's folder should be")
    project_id = new_project(app_client)
    broken = create_export(app_client, project_id, blocker / "out", {"type": "log_spans"})
    good = create_export(app_client, project_id, tmp_path / "good", {"type": "log_spans"})
    idle = run_once(app_client, broken["id"])
    assert (idle["status"], idle["rows"], idle["files"]) == ("succeeded", 0, [])
    assert idle["note"] == (
        "no new rows: nothing was written, so the storage was not checked (test checks it)"
    )
    history = app_client.get(f"/v1/project_automation/{broken['id']}/runs").json()["objects"]
    assert history[0]["note"] == idle["note"]
    tested = app_client.post(f"/v1/project_automation/{broken['id']}/test")
    assert tested.status_code == 400, tested.text
    log_traces(app_client, project_id, 1)
    failed = run_once(app_client, broken["id"])
    assert failed["status"] == "failed" and failed["note"] is None
    wrote = run_once(app_client, good["id"])
    assert (wrote["status"], wrote["rows"], wrote["note"]) == ("succeeded", 3, None)
