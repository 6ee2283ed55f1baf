"""Scheduled exports to a real S3 server (SeaweedFS ``weed mini`` with SigV4 credentials):
JSONL and Parquet read back from the bucket and compared with BTQL, the folder layout, ``test``
with a wrong key and a missing bucket, and the fault tests: the S3 server stopped during a
run, and the tracelake server killed (SIGKILL) during a run. After recovery every source row
is in the bucket exactly once."""

from __future__ import annotations

import datetime as dt
import io
import json
import time
import uuid

import orjson
import pyarrow.parquet as pq
import pytest

pytestmark = pytest.mark.slow


def today() -> str:
    return dt.datetime.now(dt.UTC).date().isoformat()


def new_project(client) -> str:
    return client.post("/v1/project", json={"name": f"s3-{uuid.uuid4().hex[:8]}"}).json()["id"]


def log_spans(client, project_id: str, count: int, per_request: int = 1000) -> None:
    for start in range(0, count, per_request):
        rows = [
            {
                "project_id": project_id,
                "log_id": "g",
                "id": f"span-{i}",
                "input": {"i": i},
                "output": f"out {i}",
                "metadata": {"bucket": i % 7},
                "tags": ["s3"],
            }
            for i in range(start, min(count, start + per_request))
        ]
        response = client.post("/logs3", json={"rows": rows})
        assert response.status_code == 200, response.text


def create_export(client, project_id, bucket, credentials, prefix="logs", **config) -> dict:
    body = {
        "project_id": project_id,
        "name": f"s3-{uuid.uuid4().hex[:6]}",
        "config": {
            "event_type": "btql_export",
            "export_definition": config.pop("definition", {"type": "log_spans"}),
            "export_path": f"s3://{bucket}/{prefix}",
            "format": config.pop("format", "jsonl"),
            "interval_seconds": 300,
            "credentials": credentials,
            **config,
        },
    }
    response = client.post("/v1/project_automation", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def bucket_rows(s3, bucket: str, prefix: str) -> tuple[list[dict], set[str]]:
    """Rows of the files the manifests list, and the set of every export file in the bucket."""
    keys = s3.keys(bucket, prefix + "/")
    rows, listed = [], set()
    for key in keys:
        if "/manifest_" not in key:
            continue
        manifest = json.loads(s3.read(bucket, key))
        for entry in manifest["files"]:
            full = f"{prefix}/{entry['key']}"
            listed.add(full)
            data = s3.read(bucket, full)
            if full.endswith(".parquet"):
                part = pq.read_table(io.BytesIO(data)).to_pylist()
            else:
                part = [orjson.loads(line) for line in data.splitlines()]
            assert len(part) == entry["rows"]
            rows += part
    files = {k for k in keys if "/export_" in k}
    return rows, files - listed


def all_ids(client, project_id) -> list[str]:
    ids, cursor = [], None
    while True:
        query = f"select: id | from: project_logs('{project_id}') spans | limit: 5000"
        if cursor:
            query += f" | cursor: '{cursor}'"
        body = client.post("/btql", json={"query": query}).json()
        ids += [r["id"] for r in body["data"]]
        cursor = body.get("cursor")
        if not cursor or not body["data"]:
            return ids


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_export_to_s3_in_both_formats(server, s3_server, fmt):
    client = server.client()
    bucket = s3_server.create_bucket(f"b-{uuid.uuid4().hex[:8]}")
    project_id = new_project(client)
    log_spans(client, project_id, 2500)
    automation = create_export(
        client, project_id, bucket, s3_server.credentials(), format=fmt, rows_per_file=1000
    )
    assert client.post(f"/v1/project_automation/{automation['id']}/test").status_code == 200
    run = client.post(f"/v1/project_automation/{automation['id']}/run").json()["run"]
    assert run["status"] == "succeeded", run
    day = today()
    tag = run["files"][0].split("/export_")[1].rsplit("_", 1)[0]
    assert s3_server.keys(bucket) == [
        f"logs/{day}/export_{tag}_001.{fmt}",
        f"logs/{day}/export_{tag}_002.{fmt}",
        f"logs/{day}/export_{tag}_003.{fmt}",
        f"logs/{day}/manifest_{tag}.json",
    ]
    rows, stray = bucket_rows(s3_server, bucket, "logs")
    assert not stray
    assert sorted(r["id"] for r in rows) == sorted(all_ids(client, project_id))
    one = next(r for r in rows if r["id"] == "span-7")
    metadata = one["metadata"] if fmt == "jsonl" else json.loads(one["metadata"])
    assert metadata == {"bucket": 0}


def test_trace_and_custom_query_exports_to_s3(server, s3_server):
    client = server.client()
    bucket = s3_server.create_bucket(f"b-{uuid.uuid4().hex[:8]}")
    project_id = new_project(client)
    log_spans(client, project_id, 300)
    traces = create_export(
        client,
        project_id,
        bucket,
        s3_server.credentials(),
        prefix="traces",
        definition={"type": "log_traces"},
        format="parquet",
    )
    query = (
        f"select: id, metadata | from: project_logs('{project_id}') | filter: metadata.bucket = 3"
    )
    custom = create_export(
        client,
        project_id,
        bucket,
        s3_server.credentials(),
        prefix="custom",
        definition={"type": "btql_query", "btql_query": query},
    )
    for automation in (traces, custom):
        run = client.post(f"/v1/project_automation/{automation['id']}/run").json()["run"]
        assert run["status"] == "succeeded", run
    trace_rows, _ = bucket_rows(s3_server, bucket, "traces")
    assert len(trace_rows) == 300  # each span here is its own trace
    custom_rows, _ = bucket_rows(s3_server, bucket, "custom")
    expected = client.post("/btql", json={"query": query + " | limit: 1000"}).json()["data"]
    assert sorted(r["id"] for r in custom_rows) == sorted(r["id"] for r in expected)
    assert all(r["metadata"]["bucket"] == 3 for r in custom_rows)


def test_test_reports_a_wrong_key_and_a_missing_bucket(server, s3_server):
    client = server.client()
    bucket = s3_server.create_bucket(f"b-{uuid.uuid4().hex[:8]}")
    project_id = new_project(client)
    wrong_secret = create_export(
        client, project_id, bucket, s3_server.credentials(secret_access_key="not-the-secret")
    )
    response = client.post(f"/v1/project_automation/{wrong_secret['id']}/test")
    assert response.status_code == 400
    assert "secret access key is wrong" in response.json()["error"]["message"]
    unknown_key = create_export(
        client, project_id, bucket, s3_server.credentials(access_key_id="AKIDUNKNOWN")
    )
    response = client.post(f"/v1/project_automation/{unknown_key['id']}/test")
    assert "access key id is not known" in response.json()["error"]["message"]
    missing = create_export(client, project_id, "no-such-bucket-here", s3_server.credentials())
    response = client.post(f"/v1/project_automation/{missing['id']}/test")
    assert response.status_code == 400
    assert "bucket does not exist" in response.json()["error"]["message"]
    unreachable = create_export(
        client, project_id, bucket, s3_server.credentials(endpoint_url="http://127.0.0.1:9")
    )
    response = client.post(f"/v1/project_automation/{unreachable['id']}/test")
    assert response.status_code == 400
    assert "cannot reach the S3 endpoint" in response.json()["error"]["message"]
    # A failed run says the same in its history (a run with rows to write: an empty one does
    # not touch the storage).
    log_spans(client, project_id, 1)
    run = client.post(f"/v1/project_automation/{missing['id']}/run").json()["run"]
    assert run["status"] == "failed"
    assert run["error"].startswith("s3://no-such-bucket-here/logs: upload failed: the bucket")
    # Files are uploaded with upload_file, which wrapped the answer in S3UploadFailedError
    # naming the server's scratch file: the history showed that, not the plain words.
    run = client.post(f"/v1/project_automation/{wrong_secret['id']}/run").json()["run"]
    assert run["status"] == "failed"
    assert run["error"] == (
        f"s3://{bucket}/logs: upload failed: the secret access key is wrong (SignatureDoesNotMatch)"
    )


def wait_for(predicate, timeout: float = 60, step: float = 0.02):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("timed out waiting")


def test_s3_down_during_a_run_then_back(server, s3_server):
    client = server.client()
    bucket = s3_server.create_bucket(f"b-{uuid.uuid4().hex[:8]}")
    project_id = new_project(client)
    log_spans(client, project_id, 30_000, per_request=5000)
    automation = create_export(
        client, project_id, bucket, s3_server.credentials(), rows_per_file=500, batch_size=500
    )
    aid = automation["id"]
    assert client.post(f"/v1/project_automation/{aid}/run?wait=false").status_code == 202
    wait_for(lambda: any("/export_" in k for k in s3_server.keys(bucket)))
    s3_server.stop()
    try:
        run = wait_for(
            lambda: next(
                (
                    r
                    for r in client.get(f"/v1/project_automation/{aid}/runs").json()["objects"]
                    if r["status"] != "running"
                ),
                None,
            ),
            step=0.2,
        )
    finally:
        s3_server.start()
    assert run["status"] == "failed" and run["error"], run
    written_before = [k for k in s3_server.keys(bucket) if "/export_" in k]
    assert 0 < len(written_before) < 60 and not any("manifest" in k for k in s3_server.keys(bucket))
    retry = client.post(f"/v1/project_automation/{aid}/run").json()["run"]
    assert retry["status"] == "succeeded", retry
    assert retry["cursor_from"] == run["cursor_from"] and retry["rows"] == 30_000
    rows, stray = bucket_rows(s3_server, bucket, "logs")
    assert not stray
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids)) == 30_000
    assert set(ids) == set(all_ids(client, project_id))


def test_server_killed_during_a_run_recovers_exactly_once(fresh_server, s3_server):
    fresh_server.env["TRACELAKE_SCHEDULER_TICK_SECONDS"] = "1"
    fresh_server.start()
    client = fresh_server.client()
    bucket = s3_server.create_bucket(f"b-{uuid.uuid4().hex[:8]}")
    project_id = new_project(client)
    log_spans(client, project_id, 30_000, per_request=5000)
    automation = create_export(
        client,
        project_id,
        bucket,
        s3_server.credentials(),
        rows_per_file=500,
        batch_size=500,
        format="parquet",
        status="paused",  # started by hand below, so the kill lands mid-run
    )
    aid = automation["id"]
    assert client.post(f"/v1/project_automation/{aid}/run?wait=false").status_code == 202
    wait_for(lambda: any("/export_" in k for k in s3_server.keys(bucket)))
    fresh_server.kill()
    partial = [k for k in s3_server.keys(bucket) if "/export_" in k]
    assert partial and not any("manifest" in k for k in s3_server.keys(bucket))
    fresh_server.start()
    client = fresh_server.client()
    # On start the interrupted run is executed again from its recorded plan (while paused:
    # it was already running), without any call from us.
    runs = wait_for(
        lambda: [
            r
            for r in client.get(f"/v1/project_automation/{aid}/runs").json()["objects"]
            if r["status"] == "succeeded"
        ],
        timeout=120,
        step=0.5,
    )
    history = client.get(f"/v1/project_automation/{aid}/runs").json()["objects"]
    assert [r["status"] for r in history] == ["succeeded", "failed"]
    assert "interrupted" in history[1]["error"]
    assert runs[0]["rows"] == 30_000
    rows, stray = bucket_rows(s3_server, bucket, "logs")
    assert not stray
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids)) == 30_000
    assert set(ids) == set(all_ids(client, project_id))


def test_environment_and_profile_credentials(fresh_server, s3_server, tmp_path):
    """The server's own AWS environment and a named profile, checked by real SigV4."""
    from tests.s3server import ACCESS_KEY, SECRET_KEY

    credentials_file = tmp_path / "aws-credentials"
    credentials_file.write_text(
        f"[exporter]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n"
    )
    fresh_server.env.update(
        {
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_SHARED_CREDENTIALS_FILE": str(credentials_file),
            "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        }
    )
    fresh_server.start()
    client = fresh_server.client()
    bucket = s3_server.create_bucket(f"b-{uuid.uuid4().hex[:8]}")
    project_id = new_project(client)
    log_spans(client, project_id, 10)
    endpoint = {"endpoint_url": s3_server.endpoint}
    for prefix, credentials in (
        ("env", {"type": "environment", **endpoint}),
        ("profile", {"type": "profile", "profile": "exporter", **endpoint}),
    ):
        automation = create_export(client, project_id, bucket, credentials, prefix=prefix)
        run = client.post(f"/v1/project_automation/{automation['id']}/run").json()["run"]
        assert run["status"] == "succeeded" and run["rows"] == 10, run
    missing = create_export(
        client, project_id, bucket, {"type": "profile", "profile": "nobody", **endpoint}
    )
    response = client.post(f"/v1/project_automation/{missing['id']}/test")
    assert response.status_code == 400 and "profile 'nobody' not found" in response.text


def test_role_assumed_through_sts_with_an_external_id(fresh_server, tmp_path):
    """``aws_iam``: the server assumes the role (STS AssumeRole with the external id it
    chose, bt:<org>:<project>:<automation>) with its own credentials and writes with the
    temporary ones. moto plays STS and S3 here (it accepts any key, so this checks the flow,
    not the signatures)."""
    import boto3
    from moto.server import ThreadedMotoServer

    from tests.conftest import free_port

    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    moto.start()
    try:
        endpoint = f"http://127.0.0.1:{port}"
        s3 = boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id="base",
            aws_secret_access_key="base",
            region_name="us-east-1",
        )
        s3.create_bucket(Bucket="exports")
        fresh_server.env.update(
            {
                "AWS_ACCESS_KEY_ID": "base-key",
                "AWS_SECRET_ACCESS_KEY": "base-secret",
                "AWS_ENDPOINT_URL_STS": endpoint,
                "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
                "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
            }
        )
        fresh_server.start()
        client = fresh_server.client()
        project_id = new_project(client)
        log_spans(client, project_id, 5)
        credentials = {
            "type": "aws_iam",
            "role_arn": "arn:aws:iam::123456789012:role/tracelake-export",
            "endpoint_url": endpoint,
        }
        automation = create_export(client, project_id, "exports", credentials)
        assert client.post(f"/v1/project_automation/{automation['id']}/test").status_code == 200
        run = client.post(f"/v1/project_automation/{automation['id']}/run").json()["run"]
        assert run["status"] == "succeeded" and run["rows"] == 5, run
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="exports")["Contents"]]
        assert any("/manifest_" in k for k in keys)
    finally:
        moto.stop()
