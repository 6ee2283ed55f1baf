"""``_parent_id`` makes a row the child of another row; a row may not become the child of a
span of the trace it is the root of (it would leave that trace with no root), nor the child
of one of its descendants anywhere in a trace (the two would be each other's ancestors),
whether the rows are stored or written earlier in the same request."""

from __future__ import annotations

import pytest

from tracelake.errors import InvalidRequest
from tracelake.model.lineage import TracePlaces
from tracelake.model.merge import apply_write
from tracelake.model.objects import ObjectRef, ObjectType
from tracelake.model.rows import normalize_row
from tracelake.store.writer import ObjectInfo, WriteBatch, apply_batch

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


# -- a row in the middle of a chain -------------------------------------------------------------


def chain(*ids: str) -> dict[str, dict]:
    """Rows that each hang under the one before: ids[0] is the root."""
    states = {ids[0]: write({"id": ids[0]})}
    for parent, row_id in zip(ids, ids[1:], strict=False):
        states[row_id] = write({"id": row_id, "_parent_id": parent}, parent=states[parent])
    return states


def lineage_of(states: dict[str, dict], row_id: str) -> set[str]:
    return TracePlaces((REF, i, s) for i, s in states.items()).lineage(REF, states[row_id])


def test_the_lineage_of_a_row_is_its_span_and_every_span_above_it():
    states = chain("a", "b", "c", "d")
    assert lineage_of(states, "c") == {"a", "b", "c"}
    assert lineage_of(states, "a") == {"a"}


def test_a_row_in_the_middle_of_a_chain_cannot_become_the_child_of_its_descendant():
    states = chain("a", "b", "c")
    with pytest.raises(InvalidRequest, match=r"row 0 \(id 'b'\): _parent_id 'c' is a descendant"):
        apply_write(
            states["b"],
            normalize_row({"id": "b", "_parent_id": "c"}, REF),
            now=NOW,
            parent=states["c"],
            lineage=lineage_of(states, "c"),
        )


def test_the_lineage_stops_at_a_cycle_already_stored():
    # b and c are each other's parent (written before such cycles were refused).
    states = chain("a", "b", "c")
    states["b"] = {**states["b"], "span_parents": ["c"]}
    assert lineage_of(states, "c") == {"b", "c"}


def test_the_lineage_stays_in_the_trace_of_the_row():
    # Another trace reuses the span id "b" with parents of its own.
    states = chain("a", "b", "c")
    states["z"] = {**write({"id": "z", "span_id": "b"}), "root_span_id": "t", "span_parents": ["q"]}
    assert lineage_of(states, "c") == {"a", "b", "c"}


def test_places_follow_the_writes_of_a_request():
    states = chain("a", "b", "c")
    places = TracePlaces((REF, i, s) for i, s in states.items())
    moved = write({"id": "c", "_parent_id": "a"}, current=states["c"], parent=states["a"])
    places.put(REF, "c", moved)
    assert places.lineage(REF, moved) == {"a", "c"}
    places.put(REF, "b", None)  # deleted: nothing is above c's old parent any more
    assert places.lineage(REF, states["c"]) == {"b", "c"}


# -- apply_batch: stored rows and the rows a request wrote before ------------------------------

OBJECTS = {REF: ObjectInfo(org_id="O", project_id="P")}


def key(row_id: str) -> tuple[str, str, str]:
    return (REF.object_type.value, REF.object_id, row_id)


def batch(*rows: dict) -> WriteBatch:
    return WriteBatch(
        writes=[normalize_row(r, REF, i) for i, r in enumerate(rows)], objects=OBJECTS
    )


def stored(states: dict[str, dict]) -> dict:
    return {key(i): s for i, s in states.items()}


def places_of(entries) -> dict[str, tuple]:
    return {k[2]: (s["root_span_id"], s["span_parents"]) for k, s, _, _ in entries}


def test_a_batch_refuses_a_cycle_with_stored_rows():
    current = stored(chain("a", "b", "c"))
    with pytest.raises(InvalidRequest, match=r"\(id 'b'\): _parent_id 'c'"):
        apply_batch(batch({"id": "b", "_parent_id": "c"}), current, NOW)


def test_a_batch_refuses_a_cycle_among_its_own_rows():
    rows = [
        {"id": "a"},
        {"id": "b", "_parent_id": "a"},
        {"id": "c", "_parent_id": "b"},
        {"id": "b", "_parent_id": "c"},
    ]
    with pytest.raises(InvalidRequest, match=r"\(id 'b'\): _parent_id 'c'"):
        apply_batch(batch(*rows), {}, NOW)


def test_a_batch_refuses_a_cycle_through_a_new_row_below_a_stored_one():
    current = stored(chain("a", "b", "c"))
    rows = [{"id": "x", "_parent_id": "c"}, {"id": "b", "_parent_id": "x"}]
    with pytest.raises(InvalidRequest, match=r"\(id 'b'\): _parent_id 'x'"):
        apply_batch(batch(*rows), current, NOW)


def test_a_batch_may_move_a_row_under_one_it_first_moved_out_of_its_subtree():
    current = stored(chain("a", "b", "c"))
    rows = [{"id": "c", "_parent_id": "a"}, {"id": "b", "_parent_id": "c"}]
    assert places_of(apply_batch(batch(*rows), current, NOW)) == {
        "c": ("a", ["a"]),
        "b": ("a", ["c"]),
    }


def test_a_batch_may_move_a_row_under_a_sibling():
    current = stored(chain("a", "b"))
    current[key("s")] = write({"id": "s", "_parent_id": "a"}, parent=current[key("a")])
    entries = apply_batch(batch({"id": "b", "_parent_id": "s"}), current, NOW)
    assert places_of(entries) == {"b": ("a", ["s"])}
