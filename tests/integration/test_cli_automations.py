"""``tracelake automations`` as a user runs it: a subprocess against a running server."""

from __future__ import annotations

import datetime as dt
import uuid

from tests.integration.test_cli import cli_env, run_cli


def test_export_lifecycle_from_the_command_line(server, tmp_path):
    env = cli_env(TRACELAKE_URL=server.url, TRACELAKE_API_KEY=server.api_key)
    client = server.client()
    project = f"cli-auto-{uuid.uuid4().hex[:6]}"
    project_id = client.post("/v1/project", json={"name": project}).json()["id"]
    rows = [{"project_id": project_id, "log_id": "g", "id": f"r{i}", "input": i} for i in range(7)]
    assert client.post("/logs3", json={"rows": rows}).status_code == 200
    out = tmp_path / "out"

    created = run_cli(
        "automations", "create", "-p", project, "--name", "nightly", "--path", f"file://{out}",
        "--definition", "log_spans", "--format", "parquet", "--interval", "300", "--paused",
        env=env,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    listed = run_cli("automations", "list", "-p", project, env=env)
    assert "nightly" in listed.stdout and "export log_spans as parquet" in listed.stdout
    tested = run_cli("automations", "test", "nightly", "-p", project, env=env)
    assert tested.returncode == 0 and "test object" in tested.stdout
    ran = run_cli("automations", "run", "nightly", "-p", project, env=env)
    assert ran.returncode == 0, ran.stderr
    assert "succeeded" in ran.stdout and "\t7\t" in ran.stdout
    day = dt.datetime.now(dt.UTC).date().isoformat()
    assert len(list((out / day).glob("export_*_001.parquet"))) == 1
    # Nothing new: the run says it did not reach the storage.
    idle = run_cli("automations", "run", "nightly", "-p", project, env=env)
    assert idle.returncode == 0, idle.stderr
    assert "\tsucceeded\t" in idle.stdout and "no new rows: nothing was written" in idle.stdout
    history = run_cli("automations", "runs", "nightly", "-p", project, env=env)
    assert history.stdout.splitlines()[0].startswith("seq\tkind\ttrigger\tstatus")
    assert len(history.stdout.splitlines()) == 3
    assert history.stdout.splitlines()[1].endswith("(test checks it)")
    reset = run_cli("automations", "reset", "nightly", "-p", project, env=env)
    assert reset.returncode == 0 and "from the beginning" in reset.stdout
    assert (
        len(run_cli("automations", "runs", "nightly", "-p", project, env=env).stdout.splitlines())
        == 1
    )


def test_retention_restore_and_errors_from_the_command_line(server):
    env = cli_env(TRACELAKE_URL=server.url, TRACELAKE_API_KEY=server.api_key)
    client = server.client()
    project = f"cli-ret-{uuid.uuid4().hex[:6]}"
    project_id = client.post("/v1/project", json={"name": project}).json()["id"]
    old = [
        {
            "project_id": project_id,
            "log_id": "g",
            "id": "o",
            "input": 1,
            "created": "2020-01-01T00:00:00Z",
        }
    ]
    assert client.post("/logs3", json={"rows": old}).status_code == 200
    created = run_cli(
        "automations", "create", "-p", project, "--name", "keep", "--retention", "project_logs",
        "--days", "30", env=env,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    daily = run_cli(
        "automations", "create", "-p", project, "--name", "daily", "--retention", "dataset",
        "--days", "1", env=env,
    )  # fmt: skip
    assert daily.returncode == 0, daily.stderr
    listed = run_cli("automations", "list", "-p", project, env=env).stdout
    assert "\t30 days\t" in listed and "\t1 day\t" in listed  # (it said 1 days)
    ran = run_cli("automations", "run", "keep", "-p", project, env=env)
    assert ran.returncode == 0 and "retention" in ran.stdout
    restored = run_cli("automations", "restore", "keep", "-p", project, env=env)
    # (singular for one: it said "restored 1 rows from 1 runs")
    assert restored.returncode == 0 and "restored 1 row from 1 run;" in restored.stdout
    assert "keep is paused" in restored.stdout
    # Nothing left to restore: the policy is left as it was, and the command says so (it
    # said "is paused" whatever the server did).
    client.patch(
        f"/v1/project_automation/{ok_id(client, project_id)}", json={"config": {"status": "active"}}
    )
    again = run_cli("automations", "restore", "keep", "-p", project, env=env)
    assert again.returncode == 0 and "restored 0 rows" in again.stdout
    assert "keep was left as it was" in again.stdout

    bad = run_cli(
        "automations", "create", "-p", project, "--name", "x", "--path", "ftp://nope", env=env
    )
    assert bad.returncode == 1
    assert bad.stderr.strip().startswith("error:") and len(bad.stderr.strip().splitlines()) == 1
    missing = run_cli("automations", "run", "nope", "-p", project, env=env)
    assert missing.returncode == 1 and "not found" in missing.stderr
    no_server = run_cli("automations", "list", "-p", project, env=cli_env())
    assert no_server.returncode == 1 and "--url" in no_server.stderr


def test_creating_an_automation_whose_name_is_taken_is_an_error(server, tmp_path):
    """The route answers the existing automation of that name unmodified, so the command
    printed it and exited 0: the new path, format and interval were silently dropped."""
    env = cli_env(TRACELAKE_URL=server.url, TRACELAKE_API_KEY=server.api_key)
    project = f"cli-dup-{uuid.uuid4().hex[:6]}"
    assert server.client().post("/v1/project", json={"name": project}).status_code == 200
    first = run_cli(
        "automations", "create", "-p", project, "--name", "nightly", "--path",
        f"file://{tmp_path / 'a'}", "--paused", env=env,
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    again = run_cli(
        "automations", "create", "-p", project, "--name", "nightly", "--path",
        f"file://{tmp_path / 'b'}", "--format", "parquet", "--paused", env=env,
    )  # fmt: skip
    assert again.returncode == 1, again.stdout
    assert again.stderr.startswith("error:") and "'nightly' already" in again.stderr
    assert "Traceback" not in again.stderr
    listed = run_cli("automations", "list", "-p", project, env=env).stdout
    assert f"file://{tmp_path / 'a'}" in listed and "parquet" not in listed


def test_flags_that_do_not_apply_to_the_automation_are_refused(server, tmp_path):
    """A retention policy given --path, an export given --days, an export to a file://
    path given S3 credentials, or an export given two kinds of credentials (or
    --external-id without --role-arn) was created without some of them, exit 0."""
    env = cli_env(TRACELAKE_URL=server.url, TRACELAKE_API_KEY=server.api_key)
    project = f"cli-flags-{uuid.uuid4().hex[:6]}"
    assert server.client().post("/v1/project", json={"name": project}).status_code == 200
    base = ("automations", "create", "-p", project, "--name", "a", "--paused")
    cases = [
        (("--retention", "project_logs", "--days", "3", "--path", "s3://b/p"), "--path"),
        (("--path", f"file://{tmp_path}", "--days", "3"), "--days"),
        (("--path", f"file://{tmp_path}", "--access-key-id", "AK"), "--access-key-id"),
        # Two kinds of credentials: static keys won, the role was dropped without a word.
        (
            ("--path", "s3://b/p", "--access-key-id", "AK", "--secret-access-key", "S")
            + ("--role-arn", "arn:aws:iam::1:role/r"),
            "--role-arn",
        ),
        (
            ("--path", "s3://b/p", "--role-arn", "arn:aws:iam::1:role/r", "--profile", "x"),
            "--profile",
        ),
        (("--path", "s3://b/p", "--external-id", "e"), "--role-arn"),
        # A retention policy dropped these too (they had defaults, so were not seen).
        (("--retention", "dataset", "--days", "3", "--interval", "300"), "--interval"),
        (("--retention", "dataset", "--days", "3", "--format", "parquet"), "--format"),
        (("--retention", "dataset", "--days", "3", "--definition", "log_spans"), "--definition"),
        # The query was dropped: the automation exported every span instead of its rows.
        (("--path", f"file://{tmp_path}", "--definition", "log_spans", "--query", "q"), "--query"),
        (("--path", f"file://{tmp_path}", "--definition", "btql_query"), "--query"),
        # A retention policy without its window: the server's 400 named config.retention_days,
        # a key the command line never showed.
        (("--retention", "dataset"), "--days"),
    ]
    for flags, named in cases:
        result = run_cli(*base, *flags, env=env)
        assert result.returncode == 1, result.stdout
        assert result.stderr.startswith("error:") and named in result.stderr, result.stderr
    listed = run_cli("automations", "list", "-p", project, env=env)
    assert listed.stdout.splitlines()[1:] == []


def test_pause_resume_and_delete_from_the_command_line(server, tmp_path):
    env = cli_env(TRACELAKE_URL=server.url, TRACELAKE_API_KEY=server.api_key)
    client = server.client()
    project = f"cli-pause-{uuid.uuid4().hex[:6]}"
    client.post("/v1/project", json={"name": project})
    created = run_cli(
        "automations", "create", "-p", project, "--name", "hourly", "--path",
        f"file://{tmp_path}", env=env,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr

    def status() -> str:
        (found,) = client.get(
            "/v1/project_automation", params={"project_automation_name": "hourly"}
        ).json()["objects"]
        return found["config"].get("status", "active")

    paused = run_cli("automations", "pause", "hourly", "-p", project, env=env)
    assert paused.returncode == 0, paused.stderr
    assert "\tpaused" in paused.stdout and status() == "paused"
    resumed = run_cli("automations", "resume", "hourly", "-p", project, env=env)
    assert resumed.returncode == 0 and "\tactive" in resumed.stdout and status() == "active"
    deleted = run_cli("automations", "delete", "hourly", "-p", project, env=env)
    assert deleted.returncode == 0 and deleted.stdout.startswith("deleted hourly"), deleted.stderr
    assert (
        client.get("/v1/project_automation", params={"project_automation_name": "hourly"}).json()[
            "objects"
        ]
        == []
    )
    again = run_cli("automations", "delete", "hourly", "-p", project, env=env)
    assert again.returncode == 1 and "not found" in again.stderr
    bad_limit = run_cli("automations", "runs", "hourly", "-p", project, "--limit", "0", env=env)
    assert bad_limit.returncode == 2 and "--limit" in bad_limit.stderr


def ok_id(client, project_id: str) -> str:
    params = {"project_id": project_id, "project_automation_name": "keep"}
    return client.get("/v1/project_automation", params=params).json()["objects"][0]["id"]


def test_a_query_alone_makes_a_btql_query_export(server, tmp_path):
    """``--query`` without ``--definition`` was dropped (the default definition is
    log_traces): the automation exported every trace, not the query's rows."""
    env = cli_env(TRACELAKE_URL=server.url, TRACELAKE_API_KEY=server.api_key)
    client = server.client()
    project = f"cli-q-{uuid.uuid4().hex[:6]}"
    client.post("/v1/project", json={"name": project})
    query = f"select: id | from: project_logs('{project}')"
    created = run_cli(
        "automations", "create", "-p", project, "--name", "q", "--path", f"file://{tmp_path}",
        "--query", query, "--paused", env=env,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert "export btql_query as jsonl" in created.stdout
    (found,) = client.get("/v1/project_automation", params={"project_automation_name": "q"}).json()[
        "objects"
    ]
    definition = found["config"]["export_definition"]
    assert definition == {"type": "btql_query", "btql_query": query}
    assert found["config"]["interval_seconds"] == 3600
