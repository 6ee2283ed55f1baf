"""Attachments: files the SDK uploads for ``Attachment`` values in rows, kept in the data dir
(``attachments/<org id>/<key>``) with a catalog record (name, type, size, upload status).

Uploads and downloads go through signed URLs, as the SDK expects (it PUTs the bytes and GETs
them without its API key): an HMAC of the method, organization, key and expiry, with a
secret generated once per data dir.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
import weakref
from pathlib import Path

import orjson

from tracelake.errors import InvalidRequest, NotFound, Unauthorized
from tracelake.store.store import Store

ATTACHMENTS_DIR = "attachments"
URL_SECONDS = 3600
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")
# A media type as HTTP writes it (RFC 9110 §8.3.1): type/subtype, then "; name=value"
# parameters whose values are tokens or quoted strings. It is sent back as Content-Type.
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_QUOTED = r'"(?:[\t \x21\x23-\x5b\x5d-\x7e]|\\[\t \x21-\x7e])*"'
_MEDIA_TYPE = re.compile(rf"{_TOKEN}/{_TOKEN}(?:[ \t]*;[ \t]*{_TOKEN}=(?:{_TOKEN}|{_QUOTED}))*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_EXPIRES = re.compile(r"[0-9]{1,20}")
# A file name goes back in the download's Content-Disposition, percent-encoded when it is
# not ASCII (up to 12 bytes a character): 255 characters, as most file systems allow, keep
# that header within what HTTP clients and proxies accept.
MAX_FILENAME = 255


def check_key(key: object) -> str:
    if not isinstance(key, str) or not _KEY.match(key):
        raise InvalidRequest("an attachment key is letters, digits, '.', '_' and '-'")
    return key


def is_media_type(text: str) -> bool:
    """Whether ``text`` is a media type that can be sent as a Content-Type header."""
    return _MEDIA_TYPE.fullmatch(text) is not None


def blob_path(store: Store, org_id: str, key: str) -> Path:
    return store.data_dir / ATTACHMENTS_DIR / org_id / check_key(key)


# The signing secret of each open store, read (or made) once: signing and checking a URL
# wrote a transaction every time.
_SECRETS: weakref.WeakKeyDictionary[Store, bytes] = weakref.WeakKeyDictionary()


def _secret(store: Store) -> bytes:
    def txn(c):
        c.execute(
            "INSERT INTO meta VALUES ('attachment_secret', ?) ON CONFLICT DO NOTHING",
            [secrets.token_hex(32)],
        )
        return c.execute("SELECT value FROM meta WHERE key = 'attachment_secret'").fetchone()[0]

    secret = _SECRETS.get(store)
    if secret is None:
        secret = _SECRETS[store] = store.transact(txn).encode()
    return secret


def sign(store: Store, method: str, org_id: str, key: str, expires: int | None = None) -> dict:
    """Query parameters that let anyone holding them ``method`` the blob until they expire."""
    expires = expires or int(time.time()) + URL_SECONDS
    message = f"{method}\n{org_id}\n{key}\n{expires}".encode()
    signature = hmac.new(_secret(store), message, hashlib.sha256).hexdigest()
    return {"org": org_id, "expires": str(expires), "sig": signature}


def verify(store: Store, method: str, key: str, org: str, expires: str, sig: str) -> None:
    # ASCII digits only: str.isdigit() takes "²", which int() refuses (a 500).
    if not _EXPIRES.fullmatch(expires):
        raise Unauthorized("the signed URL's expiry is not a time (seconds since 1970)")
    if int(expires) < time.time():
        raise Unauthorized("the signed URL has expired")
    expected = sign(store, method, org, key, int(expires))["sig"]
    if not hmac.compare_digest(expected, sig):
        raise Unauthorized("the signed URL's signature is invalid")


def register(store: Store, org_id: str, key: str, filename: object, content_type: object) -> None:
    """Record an upload about to happen (a repeated request keeps the record)."""
    check_key(key)
    if not isinstance(filename, str) or not isinstance(content_type, str):
        raise InvalidRequest("filename and content_type must be strings")
    if content_type and not is_media_type(content_type):
        raise InvalidRequest(
            f"content_type {content_type[:100]!r} is not a media type such as text/plain"
        )
    if _CONTROL.search(filename):
        raise InvalidRequest("filename must not contain control characters (such as new lines)")
    if len(filename) > MAX_FILENAME:
        raise InvalidRequest(f"filename is too long (at most {MAX_FILENAME} characters)")
    status = orjson.dumps({"upload_status": "uploading"}).decode()
    store.transact(
        lambda c: c.execute(
            """INSERT INTO attachments VALUES (?, ?, ?, ?, ?::JSON, NULL, now())
               ON CONFLICT DO UPDATE SET filename = excluded.filename,
                   content_type = excluded.content_type""",
            [org_id, key, filename, content_type, status],
        )
    )


def get(store: Store, org_id: str, key: str) -> dict:
    row = store.read(
        lambda c: c.execute(
            """SELECT filename, content_type, status::VARCHAR, size FROM attachments
               WHERE org_id = ? AND key = ?""",
            [org_id, check_key(key)],
        ).fetchone()
    )
    if row is None:
        raise NotFound(f"attachment {key!r} not found")
    return {
        "key": key,
        "filename": row[0],
        "content_type": row[1],
        "status": orjson.loads(row[2]) if row[2] else None,
        "size": row[3],
    }


def stored(store: Store, org_id: str, key: str, size: int) -> None:
    """The bytes of an upload are on disk."""
    get(store, org_id, key)
    store.transact(
        lambda c: c.execute(
            "UPDATE attachments SET size = ? WHERE org_id = ? AND key = ?", [size, org_id, key]
        )
    )


def set_status(store: Store, org_id: str, key: str, status: object) -> dict:
    if not isinstance(status, dict) or status.get("upload_status") not in (
        "uploading",
        "done",
        "error",
    ):
        raise InvalidRequest("status.upload_status must be uploading, done or error")
    unknown = [k for k in status if k not in ("upload_status", "error_message")]
    if unknown:
        raise InvalidRequest(f"unknown field 'status.{unknown[0]}'")
    message = status.get("error_message")
    if message is not None and not isinstance(message, str):
        raise InvalidRequest("status.error_message must be a string")
    get(store, org_id, key)
    if status["upload_status"] == "done" and not blob_path(store, org_id, key).is_file():
        raise InvalidRequest("the attachment has no uploaded bytes")
    store.transact(
        lambda c: c.execute(
            "UPDATE attachments SET status = ?::JSON WHERE org_id = ? AND key = ?",
            [orjson.dumps(status).decode(), org_id, key],
        )
    )
    return get(store, org_id, key)
