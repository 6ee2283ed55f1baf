"""Scheduled exports and retention, fixed after a black-box hunt: credentials that cannot list
the bucket, traces exported twice in catch-up, an S3 endpoint that never answers, bad endpoint
and region values, restored rows, a query's limit, ``file:///``, CLI names with ``&`` and a hung
export that held up every other automation."""

from __future__ import annotations

import datetime as dt
import json
import socket
import time
import uuid

import orjson
import pytest

import tests.s3server as s3server
from tests.integration.test_scheduled_export import run_once
from tracelake.export.sinks import SinkError, s3_client

WRITER = {"accessKey": "writer-access", "secretKey": "writer-secret-0123456789"}


def today() -> str:
    return dt.datetime.now(dt.UTC).date().isoformat()


def new_project(client) -> str:
    return client.post("/v1/project", json={"name": f"ab-{uuid.uuid4().hex[:8]}"}).json()["id"]


def create_export(client, project_id, path: str, definition: dict, **config) -> dict:
    body = {
        "project_id": project_id,
        "name": f"ab-{uuid.uuid4().hex[:6]}",
        "config": {
            "event_type": "btql_export",
            "export_definition": definition,
            "export_path": path,
            "format": config.pop("format", "jsonl"),
            "interval_seconds": 300,
            **config,
        },
    }
    response = client.post("/v1/project_automation", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def jsonl_rows(root) -> list[dict]:
    return [orjson.loads(line) for f in sorted(root.rglob("export_*.jsonl")) for line in
            f.read_bytes().splitlines()]  # fmt: skip


class _WithWriter:
    """``json`` for tests.s3server that adds an identity allowed only Read and Write (put, get,
    delete: the permissions Braintrust's setup grants), not List."""

    def __getattr__(self, name):
        return getattr(json, name)

    def dumps(self, value, *args, **kwargs):
        if isinstance(value, dict) and "identities" in value:
            writer = {"name": "writer", "credentials": [WRITER], "actions": ["Read", "Write"]}
            value = {**value, "identities": [*value["identities"], writer]}
        return json.dumps(value, *args, **kwargs)


@pytest.fixture(scope="module")
def s3_no_list(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setattr(s3server, "json", _WithWriter())
    try:
        server = s3server.S3Server(tmp_path_factory.mktemp("s3-nolist")).start()
    finally:
        mp.undo()
    yield server
    server.stop()


@pytest.mark.slow
def test_exports_need_no_bucket_listing(server, s3_no_list):
    client = server.client()
    bucket = s3_no_list.create_bucket(f"b-{uuid.uuid4().hex[:8]}")
    project_id = new_project(client)
    rows = [{"project_id": project_id, "log_id": "g", "id": f"r{i}", "input": i} for i in range(5)]
    assert client.post("/logs3", json={"rows": rows}).status_code == 200
    credentials = s3_no_list.credentials(
        access_key_id=WRITER["accessKey"], secret_access_key=WRITER["secretKey"]
    )
    automation = create_export(
        client, project_id, f"s3://{bucket}/logs", {"type": "log_spans"},
        credentials=credentials, rows_per_file=2,
    )  # fmt: skip
    assert client.post(f"/v1/project_automation/{automation['id']}/test").status_code == 200
    run = run_once(client, automation["id"])
    assert run["status"] == "succeeded" and run["rows"] == 5, run
    keys = s3_no_list.keys(bucket)
    assert len([k for k in keys if "/export_" in k]) == 3
    assert len([k for k in keys if "/manifest_" in k]) == 1
    assert all(k.startswith(f"logs/{today()}/") for k in keys)


def write_span(client, project_id, trace: str, span: str, parents: list[str]) -> None:
    row = {"project_id": project_id, "log_id": "g", "id": span, "span_id": span,
           "root_span_id": trace, "span_parents": parents, "input": span}  # fmt: skip
    assert client.post("/logs3", json={"rows": [row]}).status_code == 200


def catch_up(client, automation_id: str) -> list[dict]:
    made = [run_once(client, automation_id)]
    while made[-1]["backlog"]:
        made.append(run_once(client, automation_id))
        assert len(made) < 10
    return made


@pytest.mark.parametrize(
    "definition",
    [
        {"type": "log_traces"},
        {
            "type": "btql_query",
            "btql_query": "select: id, root_span_id | from: project_logs('{p}') traces",
        },  # noqa: E501
    ],
)
def test_catch_up_exports_a_trace_once_and_respects_max_rows(app_client, tmp_path, definition):
    project_id = new_project(app_client)
    write_span(app_client, project_id, "A", "A0", [])  # trace A changes at two xacts,
    write_span(app_client, project_id, "B", "B0", [])  # with B's between them
    write_span(app_client, project_id, "A", "A1", ["A0"])
    if "btql_query" in definition:
        definition = {**definition, "btql_query": definition["btql_query"].format(p=project_id)}
    automation = create_export(
        app_client, project_id, f"file://{tmp_path / 'out'}", definition, max_rows=1
    )
    made = catch_up(app_client, automation["id"])
    exported = jsonl_rows(tmp_path / "out")
    if definition["type"] == "log_traces":
        assert sorted(r["root_span_id"] for r in exported) == ["A", "B"]
        assert all(r["rows"] <= 1 for r in made)
    else:  # rows of the traces shape are spans: each once
        assert sorted(r["id"] for r in exported) == ["A0", "A1", "B0"]
    write_span(app_client, project_id, "B", "B1", ["B0"])  # B changes: exported again
    catch_up(app_client, automation["id"])
    again = jsonl_rows(tmp_path / "out")[len(exported) :]
    assert {r["root_span_id"] for r in again} == {"B"}


@pytest.mark.parametrize("path", ["file:///", "file://", "file:////"])
def test_a_file_path_must_name_a_directory(app_client, path):
    project_id = new_project(app_client)
    body = {"project_id": project_id, "name": "root", "config": {
        "event_type": "btql_export", "export_definition": {"type": "log_spans"},
        "export_path": path, "format": "jsonl", "interval_seconds": 300}}  # fmt: skip
    response = app_client.post("/v1/project_automation", json=body)
    assert response.status_code == 400
    assert "absolute file:///dir" in response.json()["error"]["message"]


def test_cli_finds_names_with_ampersand_and_plus(server, tmp_path):
    from tests.integration.test_cli import cli_env, run_cli

    env = cli_env(TRACELAKE_URL=server.url, TRACELAKE_API_KEY=server.api_key)
    client = server.client()
    project = f"R&D+{uuid.uuid4().hex[:6]}"
    project_id = client.post("/v1/project", json={"name": project}).json()["id"]
    body = {"project_id": project_id, "name": "a&b+c", "config": {
        "event_type": "btql_export", "export_definition": {"type": "log_spans"},
        "export_path": f"file://{tmp_path}", "format": "jsonl", "interval_seconds": 300}}  # fmt: skip  # noqa: E501
    assert client.post("/v1/project_automation", json=body).status_code == 200
    listed = run_cli("automations", "list", "-p", project, env=env)
    assert listed.returncode == 0 and "a&b+c" in listed.stdout, listed.stderr
    ran = run_cli("automations", "run", "a&b+c", "-p", project, env=env)
    assert ran.returncode == 0 and "succeeded" in ran.stdout, ran.stderr


@pytest.mark.parametrize(
    "bad",
    [{"endpoint_url": "127.0.0.1:1"}, {"endpoint_url": "not a url"}, {"region": "us east 1!"}],
)
def test_bad_endpoint_or_region_is_refused_when_saved(app_client, bad):
    project_id = new_project(app_client)
    credentials = {"type": "aws_static", "access_key_id": "k", "secret_access_key": "s", **bad}
    body = {"project_id": project_id, "name": "bad", "config": {
        "event_type": "btql_export", "export_definition": {"type": "log_spans"},
        "export_path": "s3://bkt/p", "format": "jsonl", "interval_seconds": 300,
        "credentials": credentials}}  # fmt: skip
    response = app_client.post("/v1/project_automation", json=body)
    assert response.status_code == 400, response.text
    assert f"config.credentials.{next(iter(bad))} must be" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    "credentials",
    [
        {"type": "aws_static", "access_key_id": "k", "secret_access_key": "s", "endpoint_url": "x"},
        {"type": "environment", "region": "us east 1!"},
    ],
    ids=["endpoint", "region"],
)
def test_settings_saved_before_validation_fail_a_run_with_a_clear_message(credentials):
    """Automations saved before endpoint_url and region were validated: their runs and
    tests fail with the sink's message, not a raw ValueError (a 500 on test)."""
    with pytest.raises(SinkError, match="the S3 settings are not valid"):
        s3_client(credentials)


def test_a_query_limit_caps_the_rows_of_a_run(app_client, tmp_path):
    """`limit: 4` in an export's query (as Braintrust's examples write `limit: 10000`) caps
    one run like max_rows; the next runs export the rest, each row once. It was ignored."""
    project_id = new_project(app_client)
    for n in range(10):  # ten transactions of one span
        write_span(app_client, project_id, f"T{n}", f"S{n}", [])
    query = f"select: id | from: project_logs('{project_id}') | limit: 4"
    automation = create_export(
        app_client,
        project_id,
        f"file://{tmp_path / 'out'}",
        {"type": "btql_query", "btql_query": query},
    )
    made = catch_up(app_client, automation["id"])
    assert [r["rows"] for r in made] == [4, 4, 2]
    assert sorted(r["id"] for r in jsonl_rows(tmp_path / "out")) == sorted(
        f"S{n}" for n in range(10)
    )


def _export_to_endpoint(client, project_id: str, port: int) -> dict:
    """An export to an S3 endpoint on 127.0.0.1:``port``, with static keys."""
    return create_export(
        client,
        project_id,
        "s3://bucket/prefix",
        {"type": "log_spans"},
        credentials={
            "type": "aws_static",
            "access_key_id": "key",
            "secret_access_key": "secret",
            "endpoint_url": f"http://127.0.0.1:{port}",
        },
    )


def test_test_of_an_endpoint_that_never_answers_fails_within_seconds(app_client):
    """An endpoint that accepts connections and never answers held `test` for ~4 minutes
    (60 s read timeout, three attempts): test waits 5 s, once, and says what happened."""
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(16)  # connections complete in the backlog; nothing ever answers
    try:
        project_id = new_project(app_client)
        automation = _export_to_endpoint(app_client, project_id, hole.getsockname()[1])
        started = time.monotonic()
        response = app_client.post(f"/v1/project_automation/{automation['id']}/test")
        assert time.monotonic() - started < 30
        assert response.status_code == 400, response.text
        assert "cannot reach the S3 endpoint" in response.json()["error"]["message"]
    finally:
        hole.close()


def test_an_unreachable_endpoint_says_the_same_whatever_the_cause(app_client):
    """`test` of an export said "Connect timeout", "Read timeout", an SSL error or "cannot
    reach" depending on what was at its endpoint_url: whoever set it learnt which hosts and
    ports of the server's network exist. Every way of not reaching it now reads the same
    (the server log has the cause)."""
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(16)  # accepts, never answers: a read timeout
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # bound, not listening: refused
    try:
        project_id = new_project(app_client)
        messages = []
        for port in (hole.getsockname()[1], closed.getsockname()[1]):
            automation = _export_to_endpoint(app_client, project_id, port)
            response = app_client.post(f"/v1/project_automation/{automation['id']}/test")
            assert response.status_code == 400, response.text
            messages.append(response.json()["error"]["message"].replace(str(port), "PORT"))
        assert messages[0] == messages[1], messages
        assert "cannot reach the S3 endpoint http://127.0.0.1:PORT" in messages[0]
    finally:
        hole.close()
        closed.close()


def blackhole() -> socket.socket:
    """A socket on 127.0.0.1 that accepts connections (they complete in the backlog) and never
    answers. Close it at the end."""
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(16)
    return hole


@pytest.mark.slow
def test_an_export_that_never_gets_an_answer_does_not_hold_up_other_automations(
    fresh_server, s3_server
):
    """The scheduler ran due automations one after another, so an export whose S3 endpoint
    accepts connections and never answers (60 s per attempt, three attempts) held every other
    automation for minutes at each of its runs. Runs are concurrent now: a healthy export runs
    on schedule and catches up its backlog while the other hangs, and the hung one is never
    started twice."""
    hole = blackhole()
    try:
        fresh_server.env["TRACELAKE_SCHEDULER_TICK_SECONDS"] = "1"
        fresh_server.start()
        client = fresh_server.client()
        bucket = s3_server.create_bucket(f"b-{uuid.uuid4().hex[:8]}")
        project_id = new_project(client)
        for n in range(3):  # three transactions: three runs of the healthy export below
            write_span(client, project_id, f"T{n}", f"S{n}", [])
        hung = create_export(  # created first: the old loop ran it first
            client, project_id, "s3://bucket/hung", {"type": "log_spans"},
            credentials={"type": "aws_static", "access_key_id": "key",
                         "secret_access_key": "secret",
                         "endpoint_url": f"http://127.0.0.1:{hole.getsockname()[1]}"},
        )  # fmt: skip
        healthy = create_export(
            client, project_id, f"s3://{bucket}/ok", {"type": "log_spans"},
            credentials=s3_server.credentials(), max_rows=1,
        )  # fmt: skip

        def history(automation):
            path = f"/v1/project_automation/{automation['id']}/runs"
            return client.get(path).json()["objects"]

        def exported():
            return sum(r["rows"] for r in history(healthy) if r["status"] == "succeeded")

        deadline = time.monotonic() + 15
        while exported() < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
        made = history(healthy)
        assert exported() == 3, made
        assert [(r["status"], r["trigger"], r["rows"]) for r in made] == [
            ("succeeded", "schedule", 1)
        ] * 3
        keys = s3_server.keys(bucket)
        assert len([k for k in keys if "/export_" in k]) == 3
        time.sleep(2)  # two more ticks: the hung run is still the only run of its automation
        stuck = history(hung)
        assert [(r["status"], r["trigger"]) for r in stuck] == [("running", "schedule")], stuck
        refused = client.post(f"/v1/project_automation/{hung['id']}/run")
        assert refused.status_code == 409, refused.text
        write_span(client, project_id, "T3", "S3", [])
        manual = run_once(client, healthy["id"])  # run once answers at once meanwhile
        assert manual["status"] == "succeeded" and manual["rows"] == 1, manual
    finally:
        hole.close()  # resets the hung connections: the hung run fails and the server stops


def test_runs_planned_while_traces_change_do_not_fail(app_client, tmp_path):
    """Planning read the window's end and its pages in two snapshots: a span written between
    the two moved its trace past that end, the second read found no page, and the run failed
    with "IndexError: list index out of range". Runs planned while traces keep changing
    succeed, and every trace is exported."""
    import threading

    project_id = new_project(app_client)
    spans = [
        {"project_id": project_id, "log_id": "g", "id": f"s{i}", "root_span_id": f"t{i % 10}"}
        for i in range(40)
    ]
    assert app_client.post("/logs3", json={"rows": spans}).status_code == 200
    automation = create_export(
        app_client, project_id, f"file://{tmp_path}/out", {"type": "log_traces"}, max_rows=3
    )
    stop = threading.Event()

    def write():
        n = 0
        while not stop.is_set():
            row = {"project_id": project_id, "log_id": "g", "id": f"w{n}", "root_span_id": "t0"}
            app_client.post("/logs3", json={"rows": [row]})
            n += 1

    writer = threading.Thread(target=write)
    writer.start()
    try:
        made = [run_once(app_client, automation["id"]) for _ in range(60)]
    finally:
        stop.set()
        writer.join()
    assert [r["error"] for r in made if r["status"] != "succeeded"] == []
    while run_once(app_client, automation["id"])["backlog"]:
        pass
    exported = set()
    for path in (tmp_path / "out").glob("*/export_*.jsonl"):
        exported |= {orjson.loads(line)["root_span_id"] for line in path.read_bytes().splitlines()}
    assert exported == {f"t{i}" for i in range(10)}


READER = {"accessKey": "tracelake-test-reader", "secretKey": "tracelake-test-reader-secret-01"}


class _WithReader:
    """``json`` for tests.s3server that adds an identity allowed to read, and to write only
    under ``elsewhere/`` of bucket ``deny-delete``: it may not delete the objects at hand."""

    def __getattr__(self, name):
        return getattr(json, name)

    def dumps(self, value, *args, **kwargs):
        if isinstance(value, dict) and "identities" in value:
            reader = {
                "name": "reader",
                "credentials": [READER],
                "actions": ["Read", "Write:deny-delete/elsewhere"],
            }
            value = {**value, "identities": [*value["identities"], reader]}
        return json.dumps(value, *args, **kwargs)


@pytest.mark.slow
def test_a_delete_the_storage_refuses_is_an_error(tmp_path):
    """S3 answers a DeleteObjects it refuses with a 200 listing the keys it did not delete:
    the sink took that as done, so files of a failed attempt (and the test object) stayed
    without a word. The refusal is now an error in plain words."""
    from tracelake.export.sinks import S3Sink

    mp = pytest.MonkeyPatch()
    mp.setattr(s3server, "json", _WithReader())
    try:
        s3 = s3server.S3Server(tmp_path / "s3").start()
    finally:
        mp.undo()
    try:
        s3.create_bucket("deny-delete")
        s3.client().put_object(Bucket="deny-delete", Key="logs/old.jsonl", Body=b"{}\n")
        credentials = s3.credentials(
            access_key_id=READER["accessKey"], secret_access_key=READER["secretKey"]
        )
        sink = S3Sink("deny-delete", "logs", credentials)
        with pytest.raises(SinkError) as refused:
            sink.delete(["old.jsonl"])
        assert str(refused.value) == (
            "s3://deny-delete/logs: delete of logs/old.jsonl failed: access denied (check the "
            "key's or role's S3 permissions) (AccessDenied)"
        )
        assert s3.keys("deny-delete") == ["logs/old.jsonl"]
    finally:
        s3.stop()


def test_the_run_history_takes_limit_as_the_other_lists_do(app_client, tmp_path):
    """``limit=0`` listed one run, and so did a negative limit; 0 is no run now (as on
    every other list) and a negative one a 400."""
    project_id = new_project(app_client)
    write_span(app_client, project_id, "A", "A0", [])
    automation = create_export(
        app_client, project_id, f"file://{tmp_path / 'out'}", {"type": "log_spans"}
    )
    for _ in range(2):
        run_once(app_client, automation["id"])
    path = f"/v1/project_automation/{automation['id']}/runs"
    counts = {n: len(app_client.get(path, params={"limit": n}).json()["objects"]) for n in (0, 1)}
    assert counts == {0: 0, 1: 1}
    assert len(app_client.get(path, params={"limit": 10**20}).json()["objects"]) == 2
    refused = app_client.get(path, params={"limit": -1})
    assert refused.status_code == 400 and "limit" in refused.json()["error"]["message"]
