"""OpenTelemetry ingest, automations and the CLI, fixed after a black-box hunt."""

from __future__ import annotations

import http.server
import threading

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
