"""Property tests of the write semantics over random JSON values and random write sequences."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from tracelake.errors import InvalidRequest
from tracelake.model.merge import STATE_FIELDS, apply_write, merge_values
from tracelake.model.objects import route_row
from tracelake.model.rows import RowWrite, WriteKind, normalize_row

SETTINGS = settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

ROW_ID = "r"
NOW = "2030-01-01T00:00:00.000000Z"
LATER = "2030-01-01T00:00:09.000000Z"
ROUTE = {"project_id": "P", "log_id": "g"}

# A small key space so that patches collide with the state and with each other.
keys = st.sampled_from(["a", "b", "c", "tags", "x"])
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-5, 5)
    | st.floats(allow_nan=False, allow_infinity=False, width=32)
    | st.text(alphabet="ab", max_size=2)
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=8,
)
json_objects = st.dictionaries(keys, json_values, max_size=4)
tag_lists = st.lists(st.sampled_from(["t1", "t2", "t3", "t4"]), max_size=4)
score_maps = st.dictionaries(
    st.sampled_from(["s1", "s2"]), st.none() | st.floats(0, 1, width=32), max_size=2
)
metric_maps = st.dictionaries(
    st.sampled_from(["start", "end", "tokens"]),
    st.none() | st.integers(0, 100) | st.floats(0, 1e6, width=32),
    max_size=3,
)

# User fields of a raw row, without tags.
plain_fields = st.fixed_dictionaries(
    {},
    optional={
        "input": json_values,
        "output": json_values,
        "expected": json_values,
        "error": json_values,
        "metadata": st.none() | json_objects,
        "span_attributes": json_objects,
        "scores": score_maps,
        "metrics": metric_maps,
    },
)


@st.composite
def user_fields(draw, tags: bool = True) -> dict:
    fields = draw(plain_fields)
    if tags and draw(st.booleans()):
        fields["tags"] = draw(st.none() | tag_lists)
    return fields


merge_paths = st.lists(
    st.sampled_from([["metadata"], ["metadata", "a"], ["input", "b"], ["tags"], ["output"]]),
    max_size=2,
)
array_deletes = st.lists(
    st.fixed_dictionaries(
        {
            "path": st.sampled_from([["tags"], ["metadata", "a"], ["output"], ["input", "x"]]),
            "delete": st.lists(st.sampled_from(["t1", "t2", 1, None, "a"]), max_size=2),
        }
    ),
    max_size=2,
)


@st.composite
def raw_writes(draw) -> dict:
    """A random raw row for ROW_ID: a replace, a merge (maybe with markers) or a delete."""
    kind = draw(st.sampled_from(["replace", "merge", "merge", "delete"]))
    raw: dict[str, Any] = {**ROUTE, "id": ROW_ID}
    if kind == "delete":
        raw["_object_delete"] = True
        return raw
    raw.update(draw(user_fields()))
    if kind == "merge":
        raw["_is_merge"] = True
        if draw(st.booleans()):
            raw["_merge_paths"] = draw(merge_paths)
    if draw(st.booleans()):
        raw["_array_delete"] = draw(array_deletes)
    if draw(st.booleans()):
        raw["_audit_source"] = draw(st.sampled_from(["app", "api", "external"]))
    return raw


def to_write(raw: dict) -> RowWrite:
    return normalize_row(raw, route_row(raw))


def replace(fields: dict) -> RowWrite:
    return to_write({**ROUTE, "id": ROW_ID, **fields})


def merge(fields: dict, **markers: Any) -> RowWrite:
    return to_write({**ROUTE, "id": ROW_ID, "_is_merge": True, **fields, **markers})


def audit_for(write: RowWrite, step: int) -> dict | None:
    return None if write.audit is None else {**write.audit, "step": step}


def run(raws: list[dict], start: dict | None = None) -> dict | None:
    state = start
    for step, raw in enumerate(raws):
        write = to_write(raw)
        state = apply_write(state, write, now=NOW, audit_entry=audit_for(write, step))
    return state


def dedup(values: list) -> list:
    out: list = []
    for v in values:
        if v not in out:
            out.append(v)
    return out


def without_audit(state: dict | None) -> dict | None:
    if state is None:
        return None
    return {k: v for k, v in state.items() if k != "audit_data"}


start_states = st.none() | user_fields().map(lambda f: apply_write(None, replace(f), now=NOW))


# (a) ------------------------------------------------------------------------------------------


@SETTINGS
@given(start=start_states, patch=user_fields(), paths=st.none() | merge_paths)
def test_merge_then_empty_merge_is_idempotent(start, patch, paths) -> None:
    markers = {} if paths is None else {"_merge_paths": paths}
    once = apply_write(start, merge(patch, **markers), now=NOW)
    assert once is not None
    assert apply_write(once, merge({}), now=LATER) == once
    assert apply_write(apply_write(once, merge({}), now=LATER), merge({}), now=LATER) == once


@SETTINGS
@example(start=None, patch={"tags": ["t1", "t1"]}, paths=[["tags"]])
@given(start=start_states, patch=user_fields(), paths=st.none() | merge_paths)
def test_merging_the_same_patch_twice_equals_merging_once(start, patch, paths) -> None:
    markers = {} if paths is None else {"_merge_paths": paths}
    once = apply_write(start, merge(patch, **markers), now=NOW)
    assert apply_write(once, merge(patch, **markers), now=LATER) == once


# (b) ------------------------------------------------------------------------------------------


def compatible(first: Any, second: Any) -> bool:
    """False where ``first`` puts a non-object at a path where ``second`` puts an object.

    There, merging one after the other gives ``second``'s object alone, while merging the
    combined patch would deep-merge that object into the state: merge is not associative.
    """
    if not isinstance(first, dict) or not isinstance(second, dict):
        return True
    for key, value in second.items():
        if key not in first:
            continue
        if isinstance(value, dict) and not isinstance(first[key], dict):
            return False
        if not compatible(first[key], value):
            return False
    return True


@SETTINGS
@given(start=start_states, p1=user_fields(tags=False), p2=user_fields(tags=False))
def test_merge_is_associative_for_plain_object_patches(start, p1, p2) -> None:
    assume(compatible(p1, p2))
    one_by_one = apply_write(apply_write(start, merge(p1), now=NOW), merge(p2), now=LATER)
    combined = merge_values(p1, p2, set(), ())
    at_once = apply_write(start, merge(combined), now=NOW)
    assert one_by_one == at_once


def test_merge_is_not_associative_when_null_precedes_an_object() -> None:
    """Why property (b) needs ``compatible``: null then an object gives the object alone."""
    start = apply_write(None, replace({"metadata": {"x": {"z": 0}}}), now=NOW)
    p1 = {"metadata": {"x": None}}
    p2 = {"metadata": {"x": {"y": 1}}}
    one_by_one = apply_write(apply_write(start, merge(p1), now=NOW), merge(p2), now=NOW)
    at_once = apply_write(start, merge(merge_values(p1, p2, set(), ())), now=NOW)
    assert one_by_one["metadata"] == {"x": {"y": 1}}
    assert at_once["metadata"] == {"x": {"z": 0, "y": 1}}


# (c) ------------------------------------------------------------------------------------------


@SETTINGS
@given(history=st.lists(raw_writes(), max_size=6), final=user_fields())
def test_replace_after_any_writes_equals_replace_on_nothing(history, final) -> None:
    before = run(history)
    write = replace(final)
    after = apply_write(before, write, now=LATER)
    fresh = apply_write(None, write, now=LATER)
    assert without_audit(after) == without_audit(fresh)


# (d) ------------------------------------------------------------------------------------------


@SETTINGS
@given(history=st.lists(raw_writes(), max_size=6), final=user_fields())
def test_tombstone_then_replace_revives_with_exactly_the_replace_fields(history, final) -> None:
    state = run(history)
    state = apply_write(state, to_write({**ROUTE, "id": ROW_ID, "_object_delete": True}), now=NOW)
    assert state is None
    revived = apply_write(state, replace(final), now=LATER)

    expected = dict.fromkeys(STATE_FIELDS)
    expected.update(final)
    if expected["tags"] is not None:
        expected["tags"] = dedup(expected["tags"])
    expected.update(id=ROW_ID, created=LATER, span_id=ROW_ID, root_span_id=ROW_ID)
    assert revived == expected


# (e) ------------------------------------------------------------------------------------------


@st.composite
def any_write(draw) -> tuple[RowWrite, dict | None]:
    raw = draw(raw_writes())
    if "_object_delete" not in raw and draw(st.booleans()):
        raw["_parent_id"] = "par"
    if "_object_delete" not in raw and draw(st.booleans()):
        raw["span_parents"] = draw(st.lists(st.sampled_from(["p1", "p2"]), max_size=2))
    parent = None
    if draw(st.booleans()):
        parent = run([{**ROUTE, "id": "par", "span_id": "ps", "root_span_id": "pr"}])
    return to_write(raw), parent


@SETTINGS
@given(history=st.lists(raw_writes(), max_size=5), case=any_write())
def test_apply_write_never_mutates_its_inputs(history, case) -> None:
    write, parent = case
    current = run(history)
    entry = {"source": "app", "metadata": {"k": [1, 2]}}
    saved = copy.deepcopy((current, write, parent, entry))
    try:
        result = apply_write(current, write, now=NOW, parent=parent, audit_entry=entry)
    except InvalidRequest:
        result = None
    assert (current, write, parent, entry) == saved
    # Writing into the result later must not reach back into the inputs either.
    if result is not None:
        again = apply_write(result, write, now=LATER, parent=parent, audit_entry=entry)
        assert (current, write, parent, entry) == saved
        assert again is not None or write.kind is WriteKind.DELETE


# (f) ------------------------------------------------------------------------------------------


@st.composite
def tag_sequences(draw) -> list[dict]:
    """Writes touching tags: replaces, merges (without _merge_paths or _array_delete), deletes."""
    rows = []
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["replace", "merge", "merge", "merge", "delete"]))
        raw: dict[str, Any] = {**ROUTE, "id": ROW_ID}
        if kind == "delete":
            raw["_object_delete"] = True
        else:
            if kind == "merge":
                raw["_is_merge"] = True
            raw.update(draw(plain_fields))
            if draw(st.integers(0, 3)):
                raw["tags"] = draw(st.none() | tag_lists)
        rows.append(raw)
    return rows


@SETTINGS
@given(rows=tag_sequences())
def test_tags_are_the_ordered_union_since_the_last_replace(rows) -> None:
    written: list[str] | None = None  # the model: tags since the last replace or delete
    for raw in rows:
        if raw.get("_object_delete"):
            written = None
        elif raw.get("_is_merge"):
            if raw.get("tags") is not None:
                written = dedup([*(written or []), *raw["tags"]])
        else:
            tags = raw.get("tags")
            written = None if tags is None else dedup(tags)
    state = run(rows)
    if rows[-1].get("_object_delete"):
        assert state is None
    else:
        assert state is not None
        assert state["tags"] == written
