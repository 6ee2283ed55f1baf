"""Attachments through the official SDK, unchanged: an ``Attachment`` in a dataset row is
uploaded (POST /attachment, the signed PUT, POST /attachment/status), stored in the data
dir, and read back as a ``ReadonlyAttachment`` with the same bytes."""

from __future__ import annotations

import os
import uuid

import braintrust
import httpx
from braintrust import Attachment, JSONAttachment
from braintrust.logger import ReadonlyAttachment


def test_attachment_round_trip_through_the_sdk(sdk_env):
    server = sdk_env
    project = f"att-{uuid.uuid4().hex[:10]}"
    payload = os.urandom(300_000) + b"\x00end"
    ds = braintrust.init_dataset(project=project, name="files")
    ds.insert(
        id="r1",
        input={
            "image": Attachment(data=payload, filename="photo.png", content_type="image/png"),
            "question": "what is in the picture?",
        },
        expected=JSONAttachment({"answer": "a cat"}, filename="answer.json"),
    )
    ds.flush()

    (row,) = list(braintrust.init_dataset(project=project, name="files"))
    image = row["input"]["image"]
    assert isinstance(image, ReadonlyAttachment)
    assert image.reference["type"] == "braintrust_attachment"
    assert image.reference["filename"] == "photo.png"
    assert image.reference["content_type"] == "image/png"
    assert image.status()["upload_status"] == "done"
    assert image.data == payload
    assert row["input"]["question"] == "what is in the picture?"
    assert isinstance(row["expected"], ReadonlyAttachment)
    assert row["expected"].data == b'{"answer": "a cat"}'

    # The download URL is signed: without its signature it is refused, and it needs no key.
    url = image.metadata()["downloadUrl"]
    response = httpx.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.content == payload
    tampered = url.replace("sig=", "sig=0")
    assert httpx.get(tampered).status_code == 401
    key = image.reference["key"]
    files = list((server.data_dir / "attachments").rglob(key))
    assert len(files) == 1 and files[0].read_bytes() == payload


def test_attachment_metadata_is_per_organization(server):
    with server.client() as client:
        response = client.get("/attachment", params={"key": "no-such-key"})
        assert response.status_code == 404
        response = client.get("/attachment")
        assert response.status_code == 400
        assert "missing required query parameter 'key'" in response.json()["error"]["message"]
        response = client.post(
            "/attachment",
            json={"key": "../escape", "filename": "x", "content_type": "text/plain"},
        )
        assert response.status_code == 400
        response = client.post(
            "/attachment/status",
            json={"key": "never-uploaded", "status": {"upload_status": "done"}},
        )
        assert response.status_code == 404


def test_a_file_name_too_long_for_the_download_header_is_a_400(server):
    with server.client() as client:
        body = {"key": f"long-{uuid.uuid4().hex}", "content_type": "text/plain"}
        response = client.post("/attachment", json={**body, "filename": "é" * 10_000})
        assert response.status_code == 400
        assert "filename" in response.json()["error"]["message"]
        assert client.get("/attachment", params={"key": body["key"]}).status_code == 404
        # The longest name allowed still downloads, with its name.
        name = "😀" * 251 + ".txt"
        signed = client.post("/attachment", json={**body, "filename": name}).json()
        assert httpx.put(signed["signedUrl"], content=b"hi", headers=signed["headers"]).is_success
        url = client.get("/attachment", params={"key": body["key"]}).json()["downloadUrl"]
        download = httpx.get(url)
        assert download.content == b"hi"
        assert "%F0%9F%98%80" in download.headers["content-disposition"]


def test_an_upload_status_is_checked_field_by_field(server):
    with server.client() as client:
        key = f"status-{uuid.uuid4().hex}"
        body = {"key": key, "filename": "a.txt", "content_type": "text/plain"}
        assert client.post("/attachment", json=body).is_success
        for status, message in (
            ({"upload_status": "error", "error_message": 5}, "status.error_message"),
            ({"upload_status": "error", "reason": "x"}, "'status.reason'"),
        ):
            response = client.post("/attachment/status", json={"key": key, "status": status})
            assert response.status_code == 400, response.text
            assert message in response.json()["error"]["message"]
        assert client.get("/attachment", params={"key": key}).json()["status"] == {
            "upload_status": "uploading"
        }
        failed = {"upload_status": "error", "error_message": "disk full"}
        response = client.post("/attachment/status", json={"key": key, "status": failed})
        assert response.json()["status"] == failed


def test_a_compressed_upload_is_refused_not_stored_compressed(server):
    """A gzip upload was stored as sent and its download came back compressed and unmarked:
    uploads (attachments and dataset imports) refuse a Content-Encoding with a 415."""
    import gzip

    with server.client() as client:
        body = {"key": f"gz-{uuid.uuid4().hex}", "filename": "a.txt", "content_type": "text/plain"}
        signed = client.post("/attachment", json=body).json()
        headers = {**signed["headers"], "Content-Encoding": "gzip"}
        put = httpx.put(signed["signedUrl"], content=gzip.compress(b"hi"), headers=headers)
        assert put.status_code == 415 and "uncompressed" in put.json()["error"]["message"]
        plain = httpx.put(signed["signedUrl"], content=b"hi", headers=signed["headers"])
        assert plain.is_success
        project = client.post("/v1/project", json={"name": f"gz-{uuid.uuid4().hex[:8]}"}).json()
        dataset = client.post("/v1/dataset", json={"project_id": project["id"], "name": "d"})
        response = client.post(
            f"/v1/dataset/{dataset.json()['id']}/import",
            params={"format": "csv"},
            content=gzip.compress(b"id,input\na,1\n"),
            headers={"Content-Encoding": "gzip"},
        )
        assert response.status_code == 415, response.text


def test_an_external_attachment_is_read_back_through_the_sdk(sdk_env):
    """``ReadonlyAttachment`` asks ``GET /attachment?url=`` for an ``ExternalAttachment`` too:
    an http(s) URL is its own download URL (it was a 400, so ``.data`` and ``.status()`` failed
    with "400 Client Error"); an ``s3://`` URL, which tracelake cannot sign, is a 400 saying so."""
    from braintrust import ExternalAttachment

    server = sdk_env
    project = f"att-ext-{uuid.uuid4().hex[:10]}"
    file_url = f"{server.url}/version"  # any URL that answers without an API key
    ds = braintrust.init_dataset(project=project, name="files")
    ds.insert(
        id="r1",
        input=ExternalAttachment(url=file_url, filename="v.json", content_type="application/json"),
        expected=ExternalAttachment(
            url="s3://bucket/k.txt", filename="k.txt", content_type="text/plain"
        ),
    )
    ds.flush()

    (row,) = list(braintrust.init_dataset(project=project, name="files"))
    external = row["input"]
    assert isinstance(external, ReadonlyAttachment)
    assert external.reference["type"] == "external_attachment"
    assert external.status() == {"upload_status": "done"}
    assert external.metadata()["downloadUrl"] == file_url
    assert external.data == httpx.get(file_url).content

    with server.client() as client:
        response = client.get("/attachment", params={"url": "s3://bucket/k.txt"})
        assert response.status_code == 400
        assert "s3" in response.json()["error"]["message"]
        assert "credentials" in response.json()["error"]["message"]
        response = client.get("/attachment", params={"url": file_url})
        assert response.json()["status"] == {"upload_status": "done"}
    assert httpx.get(f"{server.url}/attachment", params={"url": file_url}).status_code == 401


def test_a_signed_url_with_a_non_ascii_expiry_is_refused_not_a_500(server):
    """``expires`` of "²" passed ``str.isdigit()`` and failed ``int()``: a 500."""
    with server.client() as client:
        key = f"exp-{uuid.uuid4().hex}"
        body = {"key": key, "filename": "a.txt", "content_type": "text/plain"}
        signed = client.post("/attachment", json=body).json()["signedUrl"]
        base, query = signed.split("?")
        params = dict(part.split("=") for part in query.split("&"))
        for expires in ("²", "١٢٣", "-1", "1e9"):
            bad = {**params, "expires": expires}
            for method in ("PUT", "GET"):
                response = httpx.request(method, base, params=bad, content=b"x")
                assert response.status_code == 401, (expires, method, response.text)
                assert "expiry" in response.json()["error"]["message"]
        assert httpx.put(signed, content=b"x").is_success
