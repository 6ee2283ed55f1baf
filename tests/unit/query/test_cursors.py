"""Cursors: what comes back decodes to the same page position; anything else is a 400."""

from __future__ import annotations

import base64

import orjson
import pytest

from tracelake.model.objects import ObjectRef, ObjectType
from tracelake.query.cursors import Cursor, check_objects, decode_cursor, objects_tag
from tracelake.query.errors import QueryError


def _token(body: object) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(body)).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        Cursor(key="p1000198261223260166.0000001"),
        Cursor(key="p1000198261223260166.0000001", snapshot=2**64 - 1, objects="abc"),
        Cursor(offset=0),
        Cursor(offset=7, objects="abc"),
    ],
)
def test_round_trip(cursor):
    assert decode_cursor(cursor.encode()) == cursor


@pytest.mark.parametrize(
    "body",
    # an offset beyond 64 bits reached DuckDB's OFFSET (a conversion error); true was 1
    # (and one the engine added a page to: the traces shape's error 'INT128 … out of range')
    [{"o": 2**63}, {"o": 2**63 - 1}, {"o": -1}, {"o": True}, {"o": 1.5}, {"k": 5}, [], "x"]
    # a snapshot is a 64-bit _xact_id
    + [{"k": "p1000198261223260166.0000001", "s": s} for s in (-1, True, "1", 1.5)]
    # a key is a _pagination_key ('p' made it an empty page, 'pzzz' the first one again)
    + [{"k": k} for k in ("p", "pzzz", "p1000.0000001", "p1000198261223260166.x")]
    # digits that are not ASCII ("²" failed int(): a 500 from /btql)
    + [{"k": f"p{d * 19}.0000001"} for d in ("\u00b2", "\u0661")]
    + [{"o": 1, "t": 5}],
)
def test_forged_cursors_are_invalid(body):
    with pytest.raises(QueryError, match="invalid cursor"):
        decode_cursor(_token(body))


def test_objects_tags_name_the_objects_in_any_order():
    a = ObjectRef(ObjectType.EXPERIMENT, "a")
    b = ObjectRef(ObjectType.EXPERIMENT, "b")
    assert objects_tag((a, b)) == objects_tag((b, a)) != objects_tag((a,))
    check_objects(None, (a,))  # (a cursor of an older server)
    check_objects(objects_tag((a,)), (a,))
    with pytest.raises(QueryError, match="another object"):
        check_objects(objects_tag((a,)), (b,))
