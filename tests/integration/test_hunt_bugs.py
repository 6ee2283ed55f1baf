"""OpenTelemetry ingest, automations and the CLI, fixed after a black-box hunt."""

from __future__ import annotations

import http.server
import json
import threading
import uuid

import pytest

from tracelake.export.sinks import S3Sink, SinkError


class _FailingS3(http.server.BaseHTTPRequestHandler):
    """Answers every request with S3's retryable 500 InternalError and counts them."""

    requests: list[str]

    def _fail(self):
        self.requests.append(self.command)
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = b"<Error><Code>InternalError</Code><Message>try again</Message></Error>"
        self.send_response(500)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_PUT = do_POST = do_DELETE = _fail

    def log_message(self, *args):
        pass


@pytest.fixture
def failing_s3():
    handler = type("Handler", (_FailingS3,), {"requests": []})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", handler.requests
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.parametrize(("quick", "attempts"), [(True, 1), (False, 3)])
def test_s3_calls_are_tried_as_often_as_documented(failing_s3, quick, attempts):
    """botocore's ``max_attempts`` counts retries, not attempts: ``test`` ("does not retry")
    tried twice, so an endpoint that never answered held it twice the 5 s, and a run ("tries
    three times") tried four times, 60 s each."""
    endpoint, requests = failing_s3
    credentials = {
        "type": "aws_static",
        "access_key_id": "key",
        "secret_access_key": "secret",
        "endpoint_url": endpoint,
    }
    sink = S3Sink("bucket", "prefix", credentials, quick=quick)
    with pytest.raises(SinkError):
        sink.put_bytes("x.jsonl", b"{}\n")
    assert requests == ["PUT"] * attempts


def _new_project(client) -> str:
    return client.post("/v1/project", json={"name": f"hunt-{uuid.uuid4().hex[:8]}"}).json()["id"]


def _export_body(project_id: str, path: str, **config) -> dict:
    return {
        "project_id": project_id,
        "name": f"hunt-{uuid.uuid4().hex[:6]}",
        "config": {
            "event_type": "btql_export",
            "export_definition": {"type": "log_spans"},
            "export_path": path,
            "format": "jsonl",
            "interval_seconds": 300,
            **config,
        },
    }


@pytest.mark.parametrize("bucket", ["a b", "x?y", "a#b", "key:secret@bucket", "a\tb"])
def test_an_s3_path_whose_bucket_is_no_bucket_name_is_refused(app_client, bucket):
    """``s3://x?y/logs`` was saved, and its runs wrote to the bucket ``x`` (a URL parser took
    ``?y/logs`` for a query string); a name with a space failed only when it ran."""
    project_id = _new_project(app_client)
    credentials = {"type": "aws_static", "access_key_id": "k", "secret_access_key": "s"}
    body = _export_body(project_id, f"s3://{bucket}/logs", credentials=credentials)
    response = app_client.post("/v1/project_automation", json=body)
    assert response.status_code == 400, response.text
    assert "is not a bucket name" in response.json()["error"]["message"]


@pytest.mark.parametrize("prefix", ["logs#2", "logs?v=2"])
def test_an_s3_prefix_with_a_hash_or_question_mark_is_written_as_given(
    app_client, s3_server, prefix
):
    """``s3://bucket/logs#2`` exported into the bucket's root: the prefix was read as a URL's
    fragment (or query) and dropped."""
    bucket = f"hunt-{uuid.uuid4().hex[:8]}"
    s3_server.create_bucket(bucket)
    project_id = _new_project(app_client)
    app_client.post(f"/v1/project_logs/{project_id}/insert", json={"events": [{"input": 1}]})
    body = _export_body(project_id, f"s3://{bucket}/{prefix}", credentials=s3_server.credentials())
    response = app_client.post("/v1/project_automation", json=body)
    assert response.status_code == 200, response.text
    run = app_client.post(f"/v1/project_automation/{response.json()['id']}/run").json()["run"]
    assert run["status"] == "succeeded", run
    keys = s3_server.keys(bucket)
    assert keys and all(key.startswith(prefix + "/") for key in keys), keys


def test_a_file_path_with_a_hash_is_the_folder_of_that_name(app_client, tmp_path):
    project_id = _new_project(app_client)
    app_client.post(f"/v1/project_logs/{project_id}/insert", json={"events": [{"input": 1}]})
    folder = tmp_path / "out#2"
    response = app_client.post("/v1/project_automation", json=_export_body(
        project_id, f"file://{folder}"))  # fmt: skip
    assert response.status_code == 200, response.text
    run = app_client.post(f"/v1/project_automation/{response.json()['id']}/run").json()["run"]
    assert run["status"] == "succeeded", run
    assert list(folder.rglob("manifest_*.json"))
    assert not (tmp_path / "out").exists()


def test_flattened_braintrust_object_keys_beside_a_whole_value_are_kept(app_client):
    """``braintrust.metadata.user_id`` (or ``.scores.x``, ``.metrics.x``) sent beside a whole
    ``braintrust.metadata`` (as the SDK's span processor writes it) was dropped without a
    word; it is merged in now, the whole value winning a key both name."""

    def attr(key, value):
        kind = "doubleValue" if isinstance(value, float) else "stringValue"
        return {"key": key, "value": {kind: value}}

    span = {
        "traceId": "5" * 32,
        "spanId": "6" * 16,
        "name": "merged",
        "attributes": [
            attr("braintrust.metadata", '{"model": "m", "team": "a"}'),
            attr("braintrust.metadata.user_id", "u-1"),
            attr("braintrust.metadata.team", "b"),
            attr("braintrust.scores_json", '{"quality": 0.5}'),
            attr("braintrust.scores.relevance", 0.75),
            attr("braintrust.metrics", '{"tokens": 3}'),
            attr("braintrust.metrics.cost", 0.25),
        ],
    }
    body = {"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}
    response = app_client.post(
        "/otel/v1/traces", json=body, headers={"x-bt-parent": "project_name:hunt-merge"}
    )
    assert response.status_code == 200, response.text
    assert response.json() == {}
    query = "select: metadata, scores, metrics | from: project_logs('hunt-merge') spans"
    row = app_client.post("/btql", json={"query": query}).json()["data"][0]
    assert row["metadata"] == {"model": "m", "team": "a", "user_id": "u-1"}
    assert row["scores"] == {"quality": 0.5, "relevance": 0.75}
    assert {k: row["metrics"][k] for k in ("tokens", "cost")} == {"tokens": 3, "cost": 0.25}


def test_genai_message_parts_keep_their_order(app_client):
    """A GenAI message of an image then a question (or reasoning then the answer) came out
    with its text parts first: the image followed the question it was asked about."""
    messages = [
        {
            "role": "user",
            "parts": [
                {"type": "uri", "modality": "image", "uri": "https://example.com/cat.png"},
                {"type": "text", "content": "What is this?"},
            ],
        }
    ]
    output = [
        {
            "role": "assistant",
            "parts": [
                {"type": "reasoning", "content": "Whiskers, ears."},
                {"type": "text", "content": "A cat."},
            ],
            "finish_reason": "stop",
        }
    ]
    span = {
        "traceId": "7" * 32,
        "spanId": "8" * 16,
        "name": "chat",
        "attributes": [
            {"key": "gen_ai.input.messages", "value": {"stringValue": json.dumps(messages)}},
            {"key": "gen_ai.output.messages", "value": {"stringValue": json.dumps(output)}},
        ],
    }
    body = {"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}
    response = app_client.post(
        "/otel/v1/traces", json=body, headers={"x-bt-parent": "project_name:hunt-parts"}
    )
    assert response.status_code == 200, response.text
    query = "select: input, output | from: project_logs('hunt-parts') spans"
    row = app_client.post("/btql", json={"query": query}).json()["data"][0]
    assert row["input"] == [
        {
            "role": "user",
            "content": [
                {"type": "uri", "modality": "image", "uri": "https://example.com/cat.png"},
                {"type": "text", "text": "What is this?"},
            ],
        }
    ]
    assert row["output"] == [
        {
            "role": "assistant",
            "content": [
                {"type": "reasoning", "content": "Whiskers, ears."},
                {"type": "text", "text": "A cat."},
            ],
            "finish_reason": "stop",
        }
    ]


@pytest.mark.parametrize(
    ("sent", "stored"),
    [('"done"', "done"), ("42", 42), ("null", None), ('{"a": 1}', {"a": 1}), ("plain", "plain")],
)
def test_traceloop_entity_output_is_read_as_the_json_traceloop_writes(app_client, sent, stored):
    """Traceloop json.dumps an entity's output: a task returning "done" showed as
    "\\"done\\"" (only objects and arrays were parsed)."""
    span = {
        "traceId": "9" * 32,
        "spanId": "a" * 16,
        "name": "task",
        "attributes": [
            {"key": "traceloop.span.kind", "value": {"stringValue": "task"}},
            {"key": "traceloop.entity.output", "value": {"stringValue": sent}},
        ],
    }
    body = {"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}
    response = app_client.post(
        "/otel/v1/traces", json=body, headers={"x-bt-parent": "project_name:hunt-tl"}
    )
    assert response.status_code == 200, response.text
    query = "select: output | from: project_logs('hunt-tl') spans"
    assert app_client.post("/btql", json={"query": query}).json()["data"] == [{"output": stored}]


@pytest.mark.parametrize(
    ("credentials", "field"),
    [
        ({"type": "aws_iam", "role_arn": "x y"}, "role_arn"),
        ({"type": "aws_iam", "role_arn": "arn:aws:s3:::bucket/role"}, "role_arn"),
        (
            {"type": "aws_static", "access_key_id": "a\nb", "secret_access_key": "s"},
            "access_key_id",
        ),
        (
            {"type": "aws_static", "access_key_id": "a", "secret_access_key": "s",
             "session_token": "t\r\nx-amz-acl: public-read"},
            "session_token",
        ),
    ],
)  # fmt: skip
def test_credentials_that_cannot_work_are_refused_when_saved(app_client, credentials, field):
    """A role ARN that is no ARN was saved, and `test` of it answered 500 (botocore's
    ParamValidationError); an access key id with a newline was saved and then failed as
    "cannot reach the S3 endpoint"."""
    project_id = _new_project(app_client)
    body = _export_body(project_id, "s3://bucket/logs", credentials=credentials)
    response = app_client.post("/v1/project_automation", json=body)
    assert response.status_code == 400, response.text
    assert f"config.credentials.{field} must be" in response.json()["error"]["message"]


def test_an_empty_session_token_is_no_token(app_client):
    project_id = _new_project(app_client)
    credentials = {"type": "aws_static", "access_key_id": "AK", "secret_access_key": "S",
                   "session_token": ""}  # fmt: skip
    body = _export_body(project_id, "s3://bucket/logs", credentials=credentials)
    response = app_client.post("/v1/project_automation", json=body)
    assert response.status_code == 200, response.text
    assert "session_token" not in response.json()["config"]["credentials"]


def test_a_role_arn_saved_before_it_was_checked_fails_in_plain_words():
    """A config saved before role ARNs were checked: assuming the role raised botocore's
    ParamValidationError, which `test` answered as a 500."""
    from tracelake.export.sinks import s3_client

    with pytest.raises(SinkError, match="cannot assume role x y: Parameter validation failed"):
        s3_client({"type": "aws_iam", "role_arn": "x y"})


@pytest.mark.parametrize(
    "flags",
    [
        ("--access-key-id", "", "--secret-access-key", ""),
        ("--profile", ""),
        ("--role-arn", " "),
        ("--access-key-id", "AK", "--secret-access-key", "S", "--endpoint-url", ""),
    ],
)
def test_cli_refuses_empty_credential_flags(server, flags):
    """``--access-key-id "$KEY" --secret-access-key "$SECRET"`` with the variables unset (or
    ``--profile ""``) created an export with the server's own AWS environment credentials:
    an empty flag was taken for no flag."""
    from tests.integration.test_cli import assert_cli_error, cli_env, run_cli

    env = cli_env(TRACELAKE_URL=server.url, TRACELAKE_API_KEY=server.api_key)
    project = f"hunt-cli-{uuid.uuid4().hex[:6]}"
    created = server.client().post("/v1/project", json={"name": project})
    assert created.status_code == 200
    result = run_cli(
        "automations", "create", "-p", project, "--name", "e", "--path", "s3://bucket/logs",
        "--paused", *flags, env=env,
    )  # fmt: skip
    assert_cli_error(result, "empty")
    assert flags[-2] in result.stderr
    params = {"project_id": created.json()["id"]}
    listed = server.client().get("/v1/project_automation", params=params)
    assert listed.json()["objects"] == []


def test_ai_sdk_tool_results_are_read_as_the_json_the_sdk_writes(app_client):
    """The AI SDK JSON.stringify's a tool call's result: a tool returning "sunny" showed as
    "\\"sunny\\"", and one returning 20 as the text "20"."""
    spans = [
        {
            "traceId": "b" * 32,
            "spanId": f"{i + 1:016x}",
            "name": "ai.toolCall",
            "attributes": [
                {"key": "ai.operationId", "value": {"stringValue": "ai.toolCall"}},
                {"key": "ai.toolCall.args", "value": {"stringValue": '{"city": "Paris"}'}},
                {"key": "ai.toolCall.result", "value": {"stringValue": result}},
            ],
        }
        for i, result in enumerate(['"sunny"', "20"])
    ]
    body = {"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}
    response = app_client.post(
        "/otel/v1/traces", json=body, headers={"x-bt-parent": "project_name:hunt-ai"}
    )
    assert response.status_code == 200, response.text
    query = "select: input, output | from: project_logs('hunt-ai') spans | sort: id"
    assert app_client.post("/btql", json={"query": query}).json()["data"] == [
        {"input": {"city": "Paris"}, "output": "sunny"},
        {"input": {"city": "Paris"}, "output": 20},
    ]


def test_an_export_folder_that_is_a_file_says_so(app_client, tmp_path):
    """`test` of a file:// export whose folder is a file answered "cannot create …: File
    exists", which reads as if all were well."""
    (tmp_path / "out").write_text("not a folder")
    project_id = _new_project(app_client)
    app_client.post(f"/v1/project_logs/{project_id}/insert", json={"events": [{"input": 1}]})
    response = app_client.post("/v1/project_automation", json=_export_body(
        project_id, f"file://{tmp_path / 'out'}"))  # fmt: skip
    automation_id = response.json()["id"]
    tested = app_client.post(f"/v1/project_automation/{automation_id}/test")
    assert tested.status_code == 400
    assert tested.json()["error"]["message"] == (
        f"cannot create {tmp_path / 'out'}: {tmp_path / 'out'} is a file, not a folder"
    )
    run = app_client.post(f"/v1/project_automation/{automation_id}/run").json()["run"]
    assert run["status"] == "failed"
    assert run["error"].endswith(f"{tmp_path / 'out'} is a file, not a folder")
