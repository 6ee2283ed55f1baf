"""``_parent_id`` makes a row the child of another row; a row may not become the child of a
span of the trace it is the root of (it would leave that trace with no root)."""

from __future__ import annotations

import pytest

from tracelake.errors import InvalidRequest
from tracelake.model.merge import apply_write
from tracelake.model.objects import ObjectRef, ObjectType
from tracelake.model.rows import normalize_row

REF = ObjectRef(ObjectType.PROJECT_LOGS, "P")
NOW = "2030-01-01T00:00:00.000000Z"


def write(raw: dict, current=None, parent=None):
    return apply_write(current, normalize_row(raw, REF), now=NOW, parent=parent)


def test_a_root_cannot_become_the_child_of_its_own_child():
    a = write({"id": "a"})
    b = write({"id": "b", "_parent_id": "a"}, parent=a)
    assert (b["root_span_id"], b["span_parents"]) == ("a", ["a"])
    with pytest.raises(InvalidRequest, match="no root"):
        write({"id": "a", "_parent_id": "b"}, current=a, parent=b)


def test_a_root_cannot_become_the_child_of_a_deeper_descendant():
    a = write({"id": "a"})
    b = write({"id": "b", "_parent_id": "a"}, parent=a)
    c = write({"id": "c", "_parent_id": "b"}, parent=b)
    with pytest.raises(InvalidRequest, match="_parent_id 'c'"):
        write({"id": "a", "_parent_id": "c"}, current=a, parent=c)


def test_a_root_may_move_under_a_row_of_another_trace():
    a = write({"id": "a"})
    other = write({"id": "z"})
    moved = write({"id": "a", "_parent_id": "z"}, current=a, parent=other)
    assert (moved["root_span_id"], moved["span_parents"], moved["span_id"]) == ("z", ["z"], "a")
