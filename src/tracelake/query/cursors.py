"""Opaque pagination cursors.

A cursor names where the next page starts: after a ``_pagination_key`` (or a trace key) when
the query has no sort of its own, which stays correct while rows are written; or after a
number of rows when the query sorts, groups or unpivots. Clients treat it as opaque.

A cursor also names the objects it pages (a short hash, ``objects_tag``): another query's
cursor is refused rather than answered with rows of the wrong place.

A key cursor also carries the newest ``_xact_id`` the first page saw (``snapshot``):
later pages place each trace by its last write as of then, so a trace written again while
a client pages keeps its place instead of moving ahead of the cursor (and being skipped).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

import orjson

from tracelake.model.objects import ObjectRef
from tracelake.model.xact import is_pagination_key
from tracelake.query.errors import QueryError

INVALID = "invalid cursor: pass back the cursor of a previous response"

# A page holds at most this many rows (``limit``).
MAX_LIMIT = 100_000
# The largest offset a cursor may hold: the engine adds a page's limit to it (a 64-bit count).
MAX_OFFSET = 2**63 - 1 - MAX_LIMIT


@dataclass(frozen=True)
class Cursor:
    key: str | None = None  # resume after this key (descending order)
    offset: int | None = None  # or skip this many rows
    snapshot: int | None = None  # with a key: the _xact_id the first page was as of
    objects: str | None = None  # objects_tag of the objects paged (None: not known)

    def encode(self) -> str:
        body: dict = {"k": self.key} if self.key is not None else {"o": self.offset}
        if self.snapshot is not None:
            body["s"] = self.snapshot
        if self.objects is not None:
            body["t"] = self.objects
        return base64.urlsafe_b64encode(orjson.dumps(body)).decode().rstrip("=")


def objects_tag(refs) -> str:
    """A short tag of the objects a query pages (``ObjectRef``s, in any order)."""
    names = sorted(f"{r.object_type.value}/{r.object_id}" for r in refs)
    return hashlib.sha256("\n".join(names).encode()).hexdigest()[:12]


def check_objects(tag: str | None, refs: tuple[ObjectRef, ...]) -> None:
    """Refuse a cursor made for other objects than ``refs`` (a cursor without a tag, from an
    older server, passes)."""
    if tag is not None and tag != objects_tag(refs):
        raise QueryError(
            "invalid cursor: it is the cursor of another object's pages; pass back the"
            " cursor of the previous page of this query"
        )


def decode_cursor(text: str) -> Cursor:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        body = orjson.loads(raw)
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        raise QueryError(INVALID) from None
    if not isinstance(body, dict):
        raise QueryError(INVALID)
    tag = body.get("t")
    if tag is not None and not isinstance(tag, str):
        raise QueryError(INVALID)
    key, snapshot = body.get("k"), body.get("s")
    if isinstance(key, str) and is_pagination_key(key):
        if snapshot is None:
            return Cursor(key=key, objects=tag)
        if type(snapshot) is int and 0 <= snapshot < 2**64:
            return Cursor(key=key, snapshot=snapshot, objects=tag)
    # (an offset the engine takes: a 64-bit count with room for a page, not a boolean)
    if type(body.get("o")) is int and 0 <= body["o"] <= MAX_OFFSET:
        return Cursor(offset=body["o"], objects=tag)
    raise QueryError(INVALID)
