"""Opaque pagination cursors.

A cursor names where the next page starts: after a ``_pagination_key`` (or a trace key) when
the query has no sort of its own, which stays correct while rows are written; or after a
number of rows when the query sorts, groups or unpivots. Clients treat it as opaque.

A trace key cursor also carries the newest ``_xact_id`` the first page saw (``snapshot``):
later pages place each trace by its last write as of then, so a trace written again while
a client pages keeps its place instead of moving ahead of the cursor (and being skipped).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

import orjson

from tracelake.query.errors import QueryError

# A page holds at most this many rows (``limit``).
MAX_LIMIT = 100_000


@dataclass(frozen=True)
class Cursor:
    key: str | None = None  # resume after this key (descending order)
    offset: int | None = None  # or skip this many rows
    snapshot: int | None = None  # with a trace key: the _xact_id the first page was as of

    def encode(self) -> str:
        body: dict = {"k": self.key} if self.key is not None else {"o": self.offset}
        if self.snapshot is not None:
            body["s"] = self.snapshot
        return base64.urlsafe_b64encode(orjson.dumps(body)).decode().rstrip("=")


def decode_cursor(text: str) -> Cursor:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        body = orjson.loads(raw)
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        raise QueryError("invalid cursor: pass back the cursor of a previous response") from None
    if isinstance(body, dict) and isinstance(body.get("k"), str):
        snapshot = body.get("s")
        if snapshot is None:
            return Cursor(key=body["k"])
        if type(snapshot) is int and 0 <= snapshot < 2**64:
            return Cursor(key=body["k"], snapshot=snapshot)
    # (an offset the engine takes: a 64-bit count, not a boolean)
    if isinstance(body, dict) and type(body.get("o")) is int and 0 <= body["o"] < 2**63:
        return Cursor(offset=body["o"])
    raise QueryError("invalid cursor: pass back the cursor of a previous response")
