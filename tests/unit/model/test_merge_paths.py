"""``_merge_paths: [["tags"]]`` turns off the tag union: the merge's tags replace the row's,
whatever they are (braintrust-protocol.md §4)."""

from __future__ import annotations

import pytest

from tracelake.model.merge import apply_write
from tracelake.model.objects import ObjectRef, ObjectType
from tracelake.model.rows import normalize_row

REF = ObjectRef(ObjectType.DATASET, "DS")
NOW = "2030-01-01T00:00:00.000000Z"


def tags_after(*raws: dict) -> list[str] | None:
    state = None
    for index, raw in enumerate(raws):
        state = apply_write(state, normalize_row({"id": "r", **raw}, REF, index), now=NOW)
    return state["tags"]


@pytest.mark.parametrize(
    ("tags", "expected"),
    [([], []), (None, None), (["c", "a", "c"], ["c", "a"])],
)
def test_merge_paths_tags_replace_the_tags(tags, expected):
    merge = {"_is_merge": True, "tags": tags, "_merge_paths": [["tags"]]}
    assert tags_after({"tags": ["a", "b"]}, merge) == expected


def test_without_merge_paths_empty_tags_keep_the_union():
    assert tags_after({"tags": ["a", "b"]}, {"_is_merge": True, "tags": []}) == ["a", "b"]
