"""Attachment routes the official SDK calls for ``Attachment`` values: ``POST /attachment``
(a signed upload URL), the signed ``PUT`` of the bytes, ``POST /attachment/status``, and
``GET /attachment`` (a signed download URL and the status) before the signed ``GET``."""

from __future__ import annotations

import os
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse

from tracelake.errors import InvalidRequest, NotFound
from tracelake.server.http import body_to_file, json_body, principal_of, writer_of
from tracelake.store import attachments
from tracelake.store.store import STAGING_DIR

router = APIRouter()


def _base_url(request: Request) -> str:
    public = request.app.state.settings.public_url
    return (public or str(request.base_url)).rstrip("/")


def _signed_url(request: Request, method: str, org_id: str, key: str) -> str:
    params = attachments.sign(request.app.state.store, method, org_id, key)
    return f"{_base_url(request)}/attachment/blob/{key}?{urlencode(params)}"


@router.post("/attachment")
async def request_upload(request: Request):
    """``{key, filename, content_type}`` → ``{signedUrl, headers}``: where to PUT the bytes."""
    principal = writer_of(request)
    body = await json_body(request)
    key = attachments.check_key(body.get("key"))
    attachments.register(
        request.app.state.store,
        principal.org_id,
        key,
        body.get("filename"),
        body.get("content_type"),
    )
    return {
        "signedUrl": _signed_url(request, "PUT", principal.org_id, key),
        "headers": {"Content-Type": body["content_type"]},
    }


@router.put("/attachment/blob/{key}")
async def upload_blob(request: Request, key: str, org: str, expires: str, sig: str):
    """The signed upload of an attachment's bytes (no API key: the URL is the permission)."""
    store = request.app.state.store
    attachments.verify(store, "PUT", key, org, expires, sig)
    target = attachments.blob_path(store, org, key)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Staged in the data dir's tmp/, which each start empties: beside the target, what a
    # killed server was receiving stayed for good (up to TRACELAKE_MAX_UPLOAD_BYTES each).
    temporary = await body_to_file(request, store.data_dir / STAGING_DIR)
    os.replace(temporary, target)
    attachments.stored(store, org, key, target.stat().st_size)
    return {}


@router.post("/attachment/status")
async def upload_status(request: Request):
    """``{key, status: {upload_status, error_message?}}``: the SDK reports how an upload went.
    A write: read-only keys get 403."""
    principal = writer_of(request)
    body = await json_body(request)
    key = attachments.check_key(body.get("key"))
    return attachments.set_status(
        request.app.state.store, principal.org_id, key, body.get("status")
    )


@router.get("/attachment")
def attachment_metadata(
    request: Request,
    key: str | None = None,
    url: str | None = None,
    filename: str | None = None,
    content_type: str | None = None,
):
    """``?key=`` → ``{downloadUrl, status}`` for a stored attachment (signed, one hour).
    ``?url=`` (what the SDK's ``ReadonlyAttachment`` asks for an ``ExternalAttachment``): an
    ``http(s)`` URL is its own download URL (the server never fetches it); tracelake holds no
    credentials to sign another store's URL (``s3://…``), so that is a 400 saying so."""
    principal = principal_of(request)
    if key is None and url is not None:
        return _external_attachment(url, filename, content_type)
    if key is None:
        raise InvalidRequest("missing required query parameter 'key' (the attachment's key)")
    record = attachments.get(request.app.state.store, principal.org_id, key)
    return {
        "downloadUrl": _signed_url(request, "GET", principal.org_id, key),
        "status": record["status"],
        "filename": record["filename"],
        "content_type": record["content_type"],
        "size": record["size"],
    }


def _external_attachment(url: str, filename: str | None, content_type: str | None) -> dict:
    scheme = urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        raise InvalidRequest(
            f"cannot read the external attachment {url!r}: tracelake signs no"
            f" {scheme or 'scheme-less'} URLs (it has no credentials for that store);"
            " read it from its store, or give an http(s) URL"
        )
    return {
        "downloadUrl": url,
        "status": {"upload_status": "done"},
        "filename": filename,
        "content_type": content_type,
    }


@router.get("/attachment/blob/{key}")
def download_blob(request: Request, key: str, org: str, expires: str, sig: str):
    """The signed download of an attachment's bytes, with its content type and file name."""
    store = request.app.state.store
    attachments.verify(store, "GET", key, org, expires, sig)
    record = attachments.get(store, org, key)
    path = attachments.blob_path(store, org, key)
    if not path.is_file():
        raise NotFound(f"attachment {key!r} has no uploaded bytes")
    content_type = record["content_type"]
    if not content_type or not attachments.is_media_type(content_type):
        content_type = "application/octet-stream"  # e.g. stored by an older version
    return FileResponse(
        path,
        media_type=content_type,
        filename=record["filename"] or key,
    )
