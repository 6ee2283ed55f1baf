"""The HTTP edges every route shares: methods (HEAD, 405 with Allow), against a real server."""

from __future__ import annotations

import httpx
import pytest


@pytest.mark.parametrize("path", ["/version", "/", "/v1"])
def test_head_is_get_without_a_body(server, path):
    """HEAD /version (a health check's usual request) and HEAD / answered 405."""
    got = httpx.get(server.url + path)
    head = httpx.head(server.url + path)
    assert head.status_code == got.status_code == 200, head.text
    assert head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]
    assert head.headers["content-length"] == str(len(got.content))


def test_head_of_a_route_that_needs_a_key(server):
    assert httpx.head(server.url + "/v1/project").status_code == 401
    with server.client() as client:
        assert client.head("/v1/project").status_code == 200
        assert client.head("/v1/project").content == b""


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/ping", "GET, HEAD"),
        ("DELETE", "/v1/project", "GET, HEAD, POST"),
        ("GET", "/logs3", "POST"),
        ("POST", "/v1/project/some-id", "GET, HEAD, PATCH, DELETE"),
        ("PUT", "/v1/project_logs/some-id/fetch", "GET, HEAD, POST"),
        ("HEAD", "/btql", "POST"),
    ],
)
def test_405_names_every_allowed_method(server, method, path, allow):
    """A 405 carries Allow (RFC 9110 §15.5.6), with the methods of every route of the path:
    the error handler dropped the router's header, which named only one route's methods."""
    with server.client() as client:
        response = client.request(method, path)
    assert response.status_code == 405, response.text
    assert response.headers["allow"] == allow
    if method != "HEAD":
        assert response.json()["error"]["type"] == "HTTPError"
