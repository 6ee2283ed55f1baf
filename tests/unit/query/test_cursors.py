"""Cursors: what comes back decodes to the same page position; anything else is a 400."""

from __future__ import annotations

import base64

import orjson
import pytest

from tracelake.query.cursors import Cursor, decode_cursor
from tracelake.query.errors import QueryError


def _token(body: object) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(body)).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        Cursor(key="p1000.0000001"),
        Cursor(key="p1000.0000001", snapshot=2**64 - 1),
        Cursor(offset=0),
        Cursor(offset=7),
    ],
)
def test_round_trip(cursor):
    assert decode_cursor(cursor.encode()) == cursor


@pytest.mark.parametrize(
    "body",
    # an offset beyond 64 bits reached DuckDB's OFFSET (a conversion error); true was 1
    [{"o": 2**63}, {"o": -1}, {"o": True}, {"o": 1.5}, {"k": 5}, [], "x"]
    # a snapshot is a 64-bit _xact_id
    + [{"k": "p1", "s": s} for s in (-1, True, "1", 1.5)],
)
def test_forged_cursors_are_invalid(body):
    with pytest.raises(QueryError, match="invalid cursor"):
        decode_cursor(_token(body))
