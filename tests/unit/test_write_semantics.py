"""Table-driven spec of the write semantics (braintrust-protocol.md §4, ARCHITECTURE.md §2).

Each case is a list of raw rows, as a client sends them to /logs3, applied in order to an
empty object. Rows are routed with ``route_row``, validated with ``normalize_row`` and
applied with ``apply_write``; the final state of the target row is then compared with the
expected fields. Rows with another id (parents) are applied too, so ``_parent_id`` can find
them.
"""

from __future__ import annotations

import copy
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest

from tracelake.errors import InvalidRequest
from tracelake.model import ids
from tracelake.model.ids import uuid7
from tracelake.model.merge import STATE_FIELDS, apply_write, reads_replaced_row
from tracelake.model.objects import ObjectRef, ObjectType, route_row
from tracelake.model.rows import RowWrite, WriteKind, normalize_row
from tracelake.model.xact import (
    XACT_TOP_BITS,
    XactClock,
    format_xact,
    make_xact_id,
    parse_xact,
    xact_seconds,
)

TARGET = "r"
C1 = "2026-11-22T21:30:18.155235+00:00"
C1_NORM = "2026-11-22T21:30:18.155235Z"
C2 = "2027-01-01T00:00:00Z"
C2_NORM = "2027-01-01T00:00:00.000000Z"


def now(i: int) -> str:
    """The server time at which row ``i`` of a case is applied."""
    return f"2030-01-01T00:00:{i:02d}.000000Z"


def L(**fields: Any) -> dict:
    """A project-logs row (id ``r`` unless given)."""
    return {"project_id": "P", "log_id": "g", "id": TARGET, **fields}


def D(**fields: Any) -> dict:
    """A dataset row."""
    return {"dataset_id": "DS", "id": TARGET, **fields}


def E(**fields: Any) -> dict:
    """An experiment row."""
    return {"experiment_id": "EX", "id": TARGET, **fields}


def M(**fields: Any) -> dict:
    """A project-logs merge row."""
    return L(_is_merge=True, **fields)


DELETE = L(_object_delete=True)


def to_write(raw: Any, index: int = 0) -> RowWrite:
    return normalize_row(raw, route_row(raw), index)


def audit_entry_for(write: RowWrite, index: int) -> dict | None:
    if write.audit is None:
        return None
    return {**write.audit, "step": index}


def run_rows(rows: list[dict]) -> dict[str, dict | None]:
    """Apply ``rows`` in order; return the final state of every row id touched.

    Every intermediate state is kept and checked at the end: earlier versions of a row
    (the history table) must never change when later writes are applied.
    """
    states: dict[str, dict | None] = {}
    versions: list[tuple[dict | None, dict | None]] = []
    for i, raw in enumerate(rows):
        write = to_write(raw, i)
        parent = states.get(write.parent_id) if write.parent_id is not None else None
        states[write.id] = apply_write(
            states.get(write.id),
            write,
            now=now(i),
            parent=parent,
            audit_entry=audit_entry_for(write, i),
        )
        versions.append((states[write.id], copy.deepcopy(states[write.id])))
    for version, snapshot in versions:
        assert version == snapshot, "a later write changed an earlier version in place"
    return states


@dataclass
class Case:
    name: str
    rows: list[dict]
    # Expected fields of the target row's final state; None means a tombstone.
    expect: dict[str, Any] | None
    marks: list = field(default_factory=list)


CASES: list[Case] = [
    # ---- replace -----------------------------------------------------------------------
    Case(
        "replace_missing_row_inserts",
        [L(input={"q": 1}, output="a", metadata={"m": 1}, tags=["t"], scores={"s": 0.5})],
        {
            "id": TARGET,
            "input": {"q": 1},
            "output": "a",
            "expected": None,
            "error": None,
            "metadata": {"m": 1},
            "tags": ["t"],
            "scores": {"s": 0.5},
            "metrics": None,
            "created": now(0),
            "span_id": TARGET,
            "root_span_id": TARGET,
            "span_parents": None,
            "audit_data": None,
        },
    ),
    Case(
        "replace_existing_row_wipes_fields_not_given",
        [
            L(
                input=1,
                output=2,
                expected=3,
                metadata={"a": 1},
                tags=["t"],
                scores={"s": 1},
                metrics={"start": 1.0},
                span_attributes={"name": "x"},
                error="boom",
            ),
            L(input=10),
        ],
        {
            "input": 10,
            "output": None,
            "expected": None,
            "metadata": None,
            "tags": None,
            "scores": None,
            "metrics": None,
            "span_attributes": None,
            "error": None,
            "created": now(1),
        },
    ),
    Case(
        "replace_with_is_merge_false_is_a_replace",
        [L(input=1, metadata={"a": 1}), L(_is_merge=False, metadata={"b": 2})],
        {"input": None, "metadata": {"b": 2}},
    ),
    Case(
        "replace_keeps_client_created_normalised_to_utc",
        [L(input=1, created=C1)],
        {"created": C1_NORM},
    ),
    Case(
        "replace_created_with_offset_converted_to_utc",
        [L(input=1, created="2026-01-01T05:30:00+05:30")],
        {"created": "2026-01-01T00:00:00.000000Z"},
    ),
    Case(
        "replace_created_before_year_1000_has_a_four_digit_year",
        [L(input=1, created="0042-03-04T05:06:07+00:00")],
        {"created": "0042-03-04T05:06:07.000000Z"},
    ),
    Case(
        "replace_explicit_nulls_store_null",
        [L(input={"q": 1}, expected=None, tags=None)],
        {"input": {"q": 1}, "expected": None, "tags": None},
    ),
    Case(
        "replace_tags_are_deduplicated_in_order",
        [L(tags=["b", "a", "b", "c", "a"])],
        {"tags": ["b", "a", "c"]},
    ),
    Case(
        "replace_keeps_given_span_fields",
        [L(span_id="s1", root_span_id="root1", span_parents=["p1"])],
        {"span_id": "s1", "root_span_id": "root1", "span_parents": ["p1"]},
    ),
    # ---- merge: deep merge ---------------------------------------------------------------
    Case(
        "merge_objects_recurse_at_several_levels",
        [
            L(metadata={"a": {"b": {"c": 1, "d": 2}, "e": 3}, "f": 4}),
            M(metadata={"a": {"b": {"c": 10, "x": 5}, "g": {"h": 1}}}),
        ],
        {"metadata": {"a": {"b": {"c": 10, "d": 2, "x": 5}, "e": 3, "g": {"h": 1}}, "f": 4}},
    ),
    Case(
        "merge_scalar_replaces_scalar_and_object",
        [
            L(input="x", metadata={"a": {"b": 1}, "k": "v"}),
            M(input={"y": 1}, metadata={"a": 5, "k": 7}),
        ],
        {"input": {"y": 1}, "metadata": {"a": 5, "k": 7}},
    ),
    Case(
        "merge_object_replaces_scalar",
        [L(metadata={"a": 1}), M(metadata={"a": {"b": 2}})],
        {"metadata": {"a": {"b": 2}}},
    ),
    Case(
        "merge_arrays_replace",
        [
            L(output=[1, 2, 3], metadata={"list": [1, 2, 3], "keep": True}),
            M(output=[4], metadata={"list": [{"x": 1}]}),
        ],
        {"output": [4], "metadata": {"list": [{"x": 1}], "keep": True}},
    ),
    Case(
        "merge_array_replaces_object",
        [L(metadata={"a": {"b": 1}}), M(metadata={"a": [1]})],
        {"metadata": {"a": [1]}},
    ),
    Case(
        "merge_null_in_patch_sets_null",
        [
            L(output="o", metadata={"a": 1, "b": {"c": 2}}),
            M(output=None, metadata={"a": None, "b": {"c": None}}),
        ],
        {"output": None, "metadata": {"a": None, "b": {"c": None}}},
    ),
    Case(
        "merge_null_top_level_object_sets_null",
        [L(metadata={"a": 1}), M(metadata=None)],
        {"metadata": None},
    ),
    Case(
        "merge_keeps_fields_not_given",
        [L(input={"q": 1}, expected="e", scores={"a": 0.1}), M(output="y")],
        {"input": {"q": 1}, "expected": "e", "scores": {"a": 0.1}, "output": "y"},
    ),
    Case(
        "merge_scores_and_metrics_recurse",
        [
            L(scores={"a": 0.1}, metrics={"start": 1.5}),
            M(scores={"b": 0.2, "a": None}, metrics={"end": 2.5}),
        ],
        {"scores": {"a": None, "b": 0.2}, "metrics": {"start": 1.5, "end": 2.5}},
    ),
    Case(
        "merge_result_has_no_marker_keys",
        [L(input=1), M(output=2, _merge_paths=[["metadata"]])],
        {"input": 1, "output": 2},
    ),
    # ---- merge: tags ---------------------------------------------------------------------
    Case(
        "merge_top_level_tags_set_union_keeps_order",
        [L(tags=["a", "b"]), M(tags=["b", "c", "a", "d", "c"])],
        {"tags": ["a", "b", "c", "d"]},
    ),
    Case(
        "merge_tags_union_from_no_tags",
        [L(input=1), M(tags=["x", "y", "x"])],
        {"tags": ["x", "y"]},
    ),
    Case(
        "merge_tags_union_over_several_merges",
        [L(tags=["a"]), M(tags=["b"]), M(tags=["a", "c"]), M(output=1), M(tags=["d", "b"])],
        {"tags": ["a", "b", "c", "d"]},
    ),
    Case(
        "merge_null_tags_keeps_tags",
        [L(tags=["a"]), M(tags=None)],
        {"tags": ["a"]},
    ),
    Case(
        "merge_nested_tags_in_metadata_replace",
        [
            L(metadata={"tags": ["a", "b"], "x": {"tags": ["p"]}}),
            M(metadata={"tags": ["c"], "x": {"tags": ["q"]}}),
        ],
        {"metadata": {"tags": ["c"], "x": {"tags": ["q"]}}},
    ),
    # ---- merge: _merge_paths -------------------------------------------------------------
    Case(
        "merge_paths_stop_at_nested_path",
        [
            L(metadata={"a": {"b": 1, "c": 2}, "d": {"e": 1}}),
            M(metadata={"a": {"b": 9}, "d": {"f": 2}}, _merge_paths=[["metadata", "a"]]),
        ],
        {"metadata": {"a": {"b": 9}, "d": {"e": 1, "f": 2}}},
    ),
    Case(
        "merge_paths_stop_deeper_path",
        [
            L(metadata={"a": {"b": {"y": 1}, "c": 2}}),
            M(metadata={"a": {"b": {"z": 1}}}, _merge_paths=[["metadata", "a", "b"]]),
        ],
        {"metadata": {"a": {"b": {"z": 1}, "c": 2}}},
    ),
    Case(
        "merge_paths_top_level_field_replaces_whole_field",
        [
            L(metadata={"a": 1, "b": {"c": 2}}, input={"k": 1}),
            M(metadata={"b": {"d": 3}}, input={"j": 2}, _merge_paths=[["metadata"]]),
        ],
        {"metadata": {"b": {"d": 3}}, "input": {"k": 1, "j": 2}},
    ),
    Case(
        "merge_paths_tags_turns_off_union",
        [L(tags=["a", "b"]), M(tags=["c"], _merge_paths=[["tags"]])],
        {"tags": ["c"]},
    ),
    Case(
        "merge_paths_tags_replace_still_deduplicates",
        [L(tags=["a"]), M(tags=["c", "b", "c"], _merge_paths=[["tags"]])],
        {"tags": ["c", "b"]},
    ),
    Case(
        "merge_paths_not_in_patch_change_nothing",
        [L(metadata={"a": {"b": 1}}), M(metadata={"c": 1}, _merge_paths=[["metadata", "a"]])],
        {"metadata": {"a": {"b": 1}, "c": 1}},
    ),
    # ---- _array_delete -------------------------------------------------------------------
    Case(
        "array_delete_on_tags",
        [
            L(tags=["a", "b", "c"]),
            M(_array_delete=[{"path": ["tags"], "delete": ["b", "zz"]}]),
        ],
        {"tags": ["a", "c"]},
    ),
    Case(
        "array_delete_on_nested_array",
        [
            L(metadata={"list": [1, 2, 3, 2, {"o": 1}], "k": 1}),
            M(_array_delete=[{"path": ["metadata", "list"], "delete": [2, {"o": 1}]}]),
        ],
        {"metadata": {"list": [1, 3], "k": 1}},
    ),
    Case(
        "array_delete_compares_as_json_values",  # true is not 1, as in JSON; 1 is 1.0
        [
            L(metadata={"list": [1, True, 1.0, 0, False, [1], [True], {"o": 1}, {"o": True}]}),
            M(_array_delete=[{"path": ["metadata", "list"], "delete": [True, 0, [1], {"o": 1}]}]),
        ],
        {"metadata": {"list": [1, 1.0, False, [True], {"o": True}]}},
    ),
    Case(
        "array_delete_missing_nested_path_is_noop",
        [
            L(metadata={"a": 1}),
            M(_array_delete=[{"path": ["metadata", "nope", "deeper"], "delete": [1]}]),
        ],
        {"metadata": {"a": 1}},
    ),
    Case(
        "array_delete_on_absent_tags_is_noop",
        [L(input=1), M(_array_delete=[{"path": ["tags"], "delete": ["a"]}])],
        {"tags": None, "input": 1},
    ),
    Case(
        "array_delete_on_non_array_is_noop",
        [
            L(metadata={"a": "abc"}),
            M(_array_delete=[{"path": ["metadata", "a"], "delete": ["abc"]}]),
        ],
        {"metadata": {"a": "abc"}},
    ),
    Case(
        "array_delete_on_unknown_top_level_field_is_noop",
        [L(input=1), M(_array_delete=[{"path": ["nope"], "delete": [1]}])],
        {"input": 1},
    ),
    Case(
        "array_delete_never_touches_the_audit_trail",
        [
            M(input=1, _audit_source="app"),
            M(
                _array_delete=[
                    {
                        "path": ["audit_data"],
                        "delete": [{"source": "app", "metadata": None, "step": 0}],
                    }
                ]
            ),
        ],
        {"input": 1, "audit_data": [{"source": "app", "metadata": None, "step": 0}]},
    ),
    Case(
        "array_delete_on_replace_row",
        [L(tags=["a", "b"], _array_delete=[{"path": ["tags"], "delete": ["a"]}])],
        {"tags": ["b"]},
    ),
    # ---- replace: the row's place in its trace ------------------------------------------
    # A replace without span ids keeps the replaced row's: its children stay under it (it
    # took the span id `r`, its id, and left its trace, its children under a span gone).
    Case(
        "replace_without_span_ids_keeps_the_rows_place",
        [L(span_id="s1", root_span_id="root1", span_parents=["p1"], input=1), L(input=2)],
        {"span_id": "s1", "root_span_id": "root1", "span_parents": ["p1"], "input": 2},
    ),
    Case(
        "replace_without_span_ids_keeps_a_roots_place",
        [L(span_id="s1", root_span_id="root1"), L(input=2, span_parents=None)],
        {"span_id": "s1", "root_span_id": "root1", "span_parents": None},
    ),
    Case(
        "replace_with_a_span_id_places_the_row_as_sent",
        [L(span_id="s1", root_span_id="root1", span_parents=["p1"]), L(span_id="s2")],
        {"span_id": "s2", "root_span_id": "s2", "span_parents": None},
    ),
    Case(
        "replace_with_a_root_span_id_keeps_the_span_id",
        [L(span_id="s1", root_span_id="root1", span_parents=["p1"]), L(root_span_id="root2")],
        {"span_id": "s1", "root_span_id": "root2", "span_parents": None},
    ),
    Case(
        "replace_with_span_parents_keeps_the_span_id",
        [L(span_id="s1", root_span_id="root1", span_parents=["p1"]), L(span_parents=["p2"])],
        {"span_id": "s1", "root_span_id": "s1", "span_parents": ["p2"]},
    ),
    Case(
        "replace_after_delete_is_placed_anew",
        [L(span_id="s1", root_span_id="root1", span_parents=["p1"]), DELETE, L(input=2)],
        {"span_id": TARGET, "root_span_id": TARGET, "span_parents": None, "input": 2},
    ),
    Case(
        "replace_with_parent_id_keeps_the_span_id",
        [
            L(id="par", span_id="ps", root_span_id="proot"),
            L(span_id="s1", root_span_id="root1"),
            L(_parent_id="par", input=1),
        ],
        {"span_id": "s1", "root_span_id": "proot", "span_parents": ["ps"], "input": 1},
    ),
    Case(
        "dataset_row_sent_again_keeps_its_span_ids",
        [D(span_id="s", root_span_id="rt", input=1), D(input=2, expected=3)],
        {"span_id": "s", "root_span_id": "rt", "span_parents": None, "input": 2},
    ),
    # ---- merge: system fields ------------------------------------------------------------
    Case(
        "merge_ignores_span_fields_and_created",
        [
            L(span_id="s1", root_span_id="root1", span_parents=["p0"], created=C1, input=1),
            M(
                span_id="s2",
                root_span_id="root2",
                span_parents=["other"],
                created=C2,
                output=1,
            ),
        ],
        {
            "span_id": "s1",
            "root_span_id": "root1",
            "span_parents": ["p0"],
            "created": C1_NORM,
            "input": 1,
            "output": 1,
        },
    ),
    Case(
        "merge_keeps_server_created",
        [L(input=1), M(output=2)],
        {"created": now(0)},
    ),
    Case(
        "merge_ignores_parent_id_into_existing_row",
        [
            L(id="par", span_id="ps", root_span_id="proot"),
            L(input=1),
            M(_parent_id="par", output=2),
        ],
        {"span_id": TARGET, "root_span_id": TARGET, "span_parents": None, "output": 2},
    ),
    Case(
        "merge_ignores_unknown_parent_id_into_existing_row",
        [L(input=1), M(_parent_id="does-not-exist", output=2)],
        {"span_parents": None, "input": 1, "output": 2},
    ),
    Case(
        "merge_into_missing_row_inserts_as_is",
        [M(input=1, tags=["a"], metadata={"x": {"y": 1}})],
        {
            "input": 1,
            "tags": ["a"],
            "metadata": {"x": {"y": 1}},
            "output": None,
            "created": now(0),
            "span_id": TARGET,
            "root_span_id": TARGET,
            "span_parents": None,
        },
    ),
    Case(
        "merge_into_missing_row_keeps_given_span_fields_and_created",
        [M(span_id="s", root_span_id="rt", span_parents=["p"], created=C1, output=1)],
        {
            "span_id": "s",
            "root_span_id": "rt",
            "span_parents": ["p"],
            "created": C1_NORM,
            "output": 1,
        },
    ),
    # ---- delete --------------------------------------------------------------------------
    Case("object_delete_makes_tombstone", [L(input=1), DELETE], None),
    Case("object_delete_of_missing_row_is_tombstone", [DELETE], None),
    Case(
        "object_delete_false_is_a_plain_replace",
        [L(input=1, output=2), L(_object_delete=False, input=3)],
        {"input": 3, "output": None},
    ),
    Case(
        "replace_after_delete_revives",
        [L(input=1, metadata={"a": 1}, tags=["t"]), DELETE, L(output=2)],
        {
            "input": None,
            "metadata": None,
            "tags": None,
            "output": 2,
            "created": now(2),
            "span_id": TARGET,
        },
    ),
    Case(
        "merge_after_delete_inserts_as_is",
        [L(input=1, metadata={"a": 1}, tags=["t"]), DELETE, M(metadata={"b": 2}, tags=["u"])],
        {"input": None, "metadata": {"b": 2}, "tags": ["u"], "created": now(2)},
    ),
    Case(
        "delete_after_revive_is_tombstone_again",
        [L(input=1), DELETE, L(input=2), DELETE],
        None,
    ),
    # ---- _parent_id ----------------------------------------------------------------------
    Case(
        "parent_id_copies_root_and_sets_span_parents",
        [L(id="par", span_id="ps", root_span_id="proot"), L(_parent_id="par", input=1)],
        {"span_id": TARGET, "root_span_id": "proot", "span_parents": ["ps"], "input": 1},
    ),
    Case(
        "parent_id_of_a_root_row_without_span_fields",
        [L(id="par", input=0), L(_parent_id="par")],
        {"span_id": TARGET, "root_span_id": "par", "span_parents": ["par"]},
    ),
    Case(
        "parent_id_chain_keeps_the_trace_root",
        [
            L(id="g", span_id="gs", root_span_id="groot"),
            L(id="par", span_id="ps", _parent_id="g"),
            L(_parent_id="par"),
        ],
        {"root_span_id": "groot", "span_parents": ["ps"]},
    ),
    Case(
        "parent_id_with_the_same_root_and_span_parents_given",
        [
            L(id="par", span_id="ps", root_span_id="proot"),
            L(_parent_id="par", root_span_id="proot", span_parents=["ps"]),
        ],
        {"root_span_id": "proot", "span_parents": ["ps"]},
    ),
    Case(
        "merge_into_missing_row_with_parent_id",
        [L(id="par", span_id="ps", root_span_id="proot"), M(_parent_id="par", input=1)],
        {"root_span_id": "proot", "span_parents": ["ps"], "input": 1},
    ),
    # A dataset row's `output` is its `expected`: paths into it too (they were left alone, so
    # a merge path did not stop the merge and an array delete removed nothing).
    Case(
        "dataset_merge_path_into_the_output_alias",
        [D(expected={"x": [1, 2]}), D(_is_merge=True, _merge_paths=[["output"]], output={"y": 1})],
        {"expected": {"y": 1}},
    ),
    Case(
        "dataset_array_delete_in_the_output_alias",
        [
            D(expected={"x": [1, 2]}),
            D(_is_merge=True, _array_delete=[{"path": ["output", "x"], "delete": [1]}]),
        ],
        {"expected": {"x": [2]}},
    ),
    # ---- audit ---------------------------------------------------------------------------
    # A replace starts the row's audit trail afresh (the whole trail stays in history): keeping
    # it would cost a read of the stored row on every plain insert, the hot path.
    Case(
        "audit_entries_append_across_merges_and_restart_on_replace",
        [
            L(input=1, scores={"s": 0.1}),
            M(scores={"s": 1}, _audit_source="external", _audit_metadata={"user": "u"}),
            L(input=2, _audit_source="api"),
            M(tags=["t"], _audit_metadata={"k": 1}),
        ],
        {
            "input": 2,
            "scores": None,
            "tags": ["t"],
            "audit_data": [
                {"source": "api", "metadata": None, "step": 2},
                {"source": None, "metadata": {"k": 1}, "step": 3},
            ],
        },
    ),
    Case(
        "audit_on_insert",
        [L(input=1, _audit_source="app")],
        {"audit_data": [{"source": "app", "metadata": None, "step": 0}]},
    ),
    Case(
        "replace_without_audit_clears_audit_data",
        [L(input=1, _audit_source="app"), L(input=2)],
        {"input": 2, "audit_data": None},
    ),
    Case(
        "audit_fields_are_not_user_columns",
        [L(input=1, _audit_source="app", _audit_metadata={"a": 1})],
        {"metadata": None, "input": 1},
    ),
    # ---- datasets and experiments --------------------------------------------------------
    Case(
        "dataset_row_gets_span_ids_from_id",
        [D(input={"q": 1}, expected={"a": 1})],
        {
            "span_id": TARGET,
            "root_span_id": TARGET,
            "span_parents": None,
            "input": {"q": 1},
            "expected": {"a": 1},
        },
    ),
    Case(
        "dataset_output_becomes_expected",
        [D(input=1, output={"a": 1})],
        {"expected": {"a": 1}, "output": None, "input": 1},
    ),
    Case(
        "dataset_output_on_merge_becomes_expected",
        [D(input=1, expected=1), D(_is_merge=True, output=5)],
        {"expected": 5, "output": None, "input": 1},
    ),
    Case(
        "dataset_sdk_insert_then_update",
        [
            D(created=C1, input={"q": 2}, expected={"a": 2}, tags=None),
            D(_is_merge=True, metadata={"m2": 2}, tags=["t2"]),
            D(_is_merge=True, expected={"b": 3}, tags=["t1", "t2"]),
        ],
        {
            "input": {"q": 2},
            "expected": {"a": 2, "b": 3},
            "metadata": {"m2": 2},
            "tags": ["t2", "t1"],
            "created": C1_NORM,
            "span_id": TARGET,
            "root_span_id": TARGET,
        },
    ),
    Case(
        "experiment_span_start_then_end",
        [
            E(
                _is_merge=False,
                span_id="s",
                root_span_id="rt",
                span_parents=None,
                created=C1,
                input={"x": 1},
                metrics={"start": 1.5},
                span_attributes={"name": "root", "type": "eval"},
            ),
            E(
                _is_merge=True,
                span_id="s",
                root_span_id="rt",
                span_parents=None,
                output="y",
                metrics={"end": 2.5},
                scores={"acc": 1},
                tags=["a"],
            ),
        ],
        {
            "span_id": "s",
            "root_span_id": "rt",
            "span_parents": None,
            "created": C1_NORM,
            "input": {"x": 1},
            "output": "y",
            "metrics": {"start": 1.5, "end": 2.5},
            "scores": {"acc": 1},
            "span_attributes": {"name": "root", "type": "eval"},
            "tags": ["a"],
        },
    ),
]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name, marks=c.marks) for c in CASES])
def test_write_semantics(case: Case) -> None:
    states = run_rows(case.rows)
    final = states[TARGET]
    if case.expect is None:
        assert final is None
        return
    assert final is not None
    assert set(final) == set(STATE_FIELDS), "a row state holds exactly the stored fields"
    assert {k: final[k] for k in case.expect} == case.expect


def test_case_names_are_unique() -> None:
    names = [c.name for c in CASES]
    assert len(names) == len(set(names))


# ---- apply-time errors and non-row writes ---------------------------------------------------


def test_missing_parent_raises_invalid_request() -> None:
    write = to_write(L(_parent_id="nope", input=1))
    with pytest.raises(InvalidRequest, match=r"_parent_id 'nope' does not exist"):
        apply_write(None, write, now=now(0), parent=None)


def test_replace_existing_row_with_missing_parent_raises() -> None:
    current = run_rows([L(input=1)])[TARGET]
    write = to_write(L(_parent_id="nope", input=2))
    with pytest.raises(InvalidRequest, match="nope"):
        apply_write(current, write, now=now(1), parent=None)


@pytest.mark.parametrize(
    "given",
    [{"root_span_id": "other"}, {"span_parents": ["x"]}, {"span_parents": ["ps", "x"]}],
)
def test_parent_id_with_a_contradicting_place_raises(given) -> None:
    # The parent gives the row its trace and its parent span: a root_span_id or span_parents
    # that says otherwise made a row that named one parent and sat in another trace.
    parent = run_rows([L(id="par", span_id="ps", root_span_id="proot")])["par"]
    write = to_write(L(_parent_id="par", input=1, **given))
    name = next(iter(given))
    with pytest.raises(InvalidRequest, match=rf"{name} .* contradicts _parent_id 'par'"):
        apply_write(None, write, now=now(0), parent=parent)
    merge = to_write(M(_parent_id="par", input=1, **given))  # a merge into a missing row
    with pytest.raises(InvalidRequest, match="contradicts"):
        apply_write(None, merge, now=now(0), parent=parent)


def test_parent_id_with_the_parents_own_span_id_says_so() -> None:
    # It was refused as "a descendant of this row", for a row that had no descendants.
    parent = run_rows([L(id="par", span_id="ps", root_span_id="proot")])["par"]
    write = to_write(L(_parent_id="par", span_id="ps"))
    with pytest.raises(InvalidRequest, match="span_id 'ps' is the span_id of _parent_id 'par'"):
        apply_write(None, write, now=now(0), parent=parent, lineage={"ps"})


def test_comment_write_is_not_applied_to_rows() -> None:
    write = to_write(L(id="c1", origin={"id": TARGET}, comment={"text": "hi"}))
    with pytest.raises(ValueError):
        apply_write(None, write, now=now(0))


def test_delete_ignores_audit_entry() -> None:
    current = run_rows([L(input=1)])[TARGET]
    write = to_write(DELETE)
    assert apply_write(current, write, now=now(1), audit_entry={"source": "app"}) is None


# ---- normalisation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "ref"),
    [
        (L(), ObjectRef(ObjectType.PROJECT_LOGS, "P")),
        ({"project_id": "P", "id": "x"}, ObjectRef(ObjectType.PROJECT_LOGS, "P")),
        (E(), ObjectRef(ObjectType.EXPERIMENT, "EX")),
        (D(), ObjectRef(ObjectType.DATASET, "DS")),
        ({"org_id": "o", "dataset_id": "DS"}, ObjectRef(ObjectType.DATASET, "DS")),
    ],
    ids=["logs", "logs_without_log_id", "experiment", "dataset", "dataset_with_org"],
)
def test_route_row(raw: dict, ref: ObjectRef) -> None:
    assert route_row(raw) == ref


def test_routing_keys_are_not_fields() -> None:
    write = to_write({"org_id": "o", **L(input=1)})
    assert write.fields == {"input": 1}
    assert write.kind is WriteKind.REPLACE
    assert write.id == TARGET


def test_ignored_fields_are_accepted_and_dropped() -> None:
    write = to_write(
        L(input=1, _xact_id="1", audit_data=[1], comments=[], is_root=True, _skip_async_scoring=1)
    )
    assert write.fields == {"input": 1}


def test_null_span_fields_are_dropped() -> None:
    write = to_write(L(span_id=None, root_span_id=None, span_parents=None))
    assert write.fields == {}


@pytest.mark.parametrize(
    ("raw", "reads"),
    [
        (L(input=1), True),  # a replace of a given id without span_id: it keeps the row's
        (L(input=1, root_span_id="t"), True),
        (L(input=1, span_id="s"), False),  # (the SDK's: it sends its span ids)
        (M(input=1), False),  # (a merge reads the row anyway)
        ({"project_id": "P", "input": 1}, False),  # its id is new: no row to read
        (DELETE, False),
    ],
)
def test_which_replaces_read_the_row_they_replace(raw: dict, reads: bool) -> None:
    assert reads_replaced_row(to_write(raw)) is reads


def test_missing_id_gets_a_uuid7() -> None:
    raw = L()
    del raw["id"]
    write = to_write(raw)
    assert uuid.UUID(write.id).version == 7


def test_merge_write_shape() -> None:
    write = to_write(
        M(
            metadata={"a": 1},
            _merge_paths=[["metadata", "a"], ["tags"]],
            _array_delete=[{"path": ["tags"], "delete": ["x"]}],
            _audit_source="api",
            _audit_metadata={"u": 1},
        )
    )
    assert write.kind is WriteKind.MERGE
    assert write.fields == {"metadata": {"a": 1}}
    assert write.merge_paths == [("metadata", "a"), ("tags",)]
    assert write.array_deletes == [(("tags",), ["x"])]
    assert write.audit == {"source": "api", "metadata": {"u": 1}}


def test_delete_write_shape() -> None:
    write = to_write(L(_object_delete=True, created=C1, input=1))
    assert write.kind is WriteKind.DELETE
    assert write.created == C1_NORM
    assert write.fields == {}


def test_comment_row_normalises_to_comment() -> None:
    write = to_write(
        L(
            id="c1",
            created=C1,
            origin={"id": "target-row"},
            comment={"text": "looks good"},
            _audit_source="app",
            _audit_metadata={"user": "u"},
        )
    )
    assert write.kind is WriteKind.COMMENT
    assert write.id == "c1"
    assert write.origin_id == "target-row"
    assert write.comment == {"text": "looks good"}
    assert write.created == C1_NORM
    assert write.audit == {"source": "app", "metadata": {"user": "u"}}
    assert write.fields == {}


def test_comment_on_dataset_row() -> None:
    write = to_write(D(id="c2", origin={"id": "x"}, comment={"text": "t"}))
    assert write.kind is WriteKind.COMMENT
    assert write.ref == ObjectRef(ObjectType.DATASET, "DS")
    assert write.origin_id == "x"


def test_a_delete_with_a_comment_body_is_a_delete() -> None:
    """A comment sent back whole with ``_object_delete`` (as read from ``comments``) deletes
    it; it was taken as a comment write, which kept the comment."""
    raw = L(id="c1", origin={"id": "r1"}, comment={"text": "hi"}, _object_delete=True)
    write = to_write(raw)
    assert write.kind is WriteKind.DELETE
    assert write.id == "c1"


def test_null_comment_is_not_a_comment() -> None:
    write = to_write(L(comment=None, origin={"id": "x"}))
    assert write.kind is WriteKind.REPLACE
    assert write.fields == {"origin": {"id": "x"}}


def test_normalize_row_rejects_non_object_directly() -> None:
    with pytest.raises(InvalidRequest, match=r"row 4: a row must be a JSON object"):
        normalize_row([1, 2], ObjectRef(ObjectType.PROJECT_LOGS, "P"), 4)


def test_normalize_errors_name_the_row_index() -> None:
    with pytest.raises(InvalidRequest, match=r"^row 7: unknown field 'bogus'$"):
        to_write(L(bogus=1), 7)


# ---- bad rows ----------------------------------------------------------------------------------

BAD_ROWS: list[tuple[str, Any, str]] = [
    ("not_object_list", [1, 2], "JSON object"),
    ("not_object_string", "row", "JSON object"),
    ("not_object_null", None, "JSON object"),
    ("not_object_number", 5, "JSON object"),
    ("unknown_field", L(foo=1), r"unknown field 'foo'"),
    ("unknown_marker", L(_is_merged=True), r"unknown field '_is_merged'"),
    ("id_int", L(id=5), r"id must be a non-empty string"),
    ("id_empty", L(id=""), r"id must be a non-empty string"),
    ("id_list", L(id=["a"]), r"id must be a non-empty string"),
    ("tags_string", L(tags="a"), r"tags must be a list of strings"),
    ("tags_ints", L(tags=["a", 1]), r"tags must be a list of strings"),
    ("tags_nested", L(tags=[["a"]]), r"tags must be a list of strings"),
    ("tags_object", L(tags={"a": 1}), r"tags must be a list of strings"),
    ("score_above_one", L(scores={"s": 1.5}), r"score 's' must be between 0 and 1"),
    ("score_negative", L(scores={"s": -0.01}), r"score 's' must be between 0 and 1"),
    ("score_nan", L(scores={"s": float("nan")}), r"score 's'"),
    ("score_string", L(scores={"s": "0.5"}), r"score 's' must be a number"),
    ("score_object", L(scores={"s": {"v": 1}}), r"score 's' must be a number"),
    ("scores_not_object", L(scores=[0.5]), r"scores must be an object"),
    ("metric_string", L(metrics={"tokens": "5"}), r"metric 'tokens' must be a number"),
    ("metric_object", L(metrics={"tokens": {"n": 1}}), r"metric 'tokens' must be a number"),
    ("metrics_not_object", L(metrics=3), r"metrics must be an object"),
    ("metadata_list", L(metadata=[1]), r"metadata must be an object"),
    ("metadata_string", L(metadata="m"), r"metadata must be an object"),
    ("span_attributes_string", L(span_attributes="x"), r"span_attributes must be an object"),
    ("context_list", L(context=[]), r"context must be an object"),
    ("created_garbage", L(created="yesterday"), r"created is not an ISO-8601 time"),
    ("created_bad_date", L(created="2026-13-45T00:00:00Z"), r"created"),
    ("created_bool", L(created=True), r"created must be an ISO-8601 time"),
    ("created_list", L(created=[]), r"created must be an ISO-8601 time"),
    ("created_object", L(created={"t": 1}), r"created must be an ISO-8601 time"),
    ("created_out_of_range_number", L(created=1e20), r"created"),
    ("created_nan", L(created=float("nan")), r"created"),
    ("audit_source_unknown", L(_audit_source="ui"), r"_audit_source must be one of"),
    ("audit_source_int", L(_audit_source=1), r"_audit_source must be one of"),
    ("audit_metadata_list", L(_audit_metadata=[1]), r"_audit_metadata must be an object"),
    ("merge_paths_string", M(_merge_paths="metadata"), r"_merge_paths must be a list"),
    ("merge_paths_flat", M(_merge_paths=["metadata"]), r"_merge_paths: each path"),
    ("merge_paths_empty_path", M(_merge_paths=[[]]), r"_merge_paths: each path"),
    ("merge_paths_non_string", M(_merge_paths=[["metadata", 1]]), r"_merge_paths: each path"),
    ("array_delete_object", M(_array_delete={"path": ["tags"], "delete": ["a"]}), "_array_delete"),
    ("array_delete_no_delete", M(_array_delete=[{"path": ["tags"]}]), r"needs path and delete"),
    ("array_delete_no_path", M(_array_delete=[{"delete": ["a"]}]), r"needs path and delete"),
    ("array_delete_entry_list", M(_array_delete=[["tags"]]), r"needs path and delete"),
    (
        "array_delete_empty_path",
        M(_array_delete=[{"path": [], "delete": ["a"]}]),
        r"_array_delete path",
    ),
    (
        "array_delete_path_string",
        M(_array_delete=[{"path": "tags", "delete": ["a"]}]),
        r"_array_delete path",
    ),
    (
        "array_delete_delete_not_list",
        M(_array_delete=[{"path": ["tags"], "delete": "a"}]),
        r"delete must be a list",
    ),
    ("is_merge_string", L(_is_merge="true"), r"_is_merge must be true or false"),
    ("object_delete_string", L(_object_delete="true"), r"_object_delete"),
    ("is_merge_int", L(_is_merge=1), r"_is_merge must be true or false"),
    ("object_delete_int", L(_object_delete=1), r"_object_delete must be true or false"),
    ("parent_id_int", L(_parent_id=5), r"_parent_id must be a string"),
    ("span_id_int", L(span_id=5), r"span_id must be a non-empty string"),
    ("root_span_id_empty", L(root_span_id=""), r"root_span_id must be a non-empty string"),
    ("span_parents_string", L(span_parents="p"), r"span_parents must be a list of non-empty"),
    ("span_parents_ints", L(span_parents=[1]), r"span_parents must be a list of non-empty"),
    ("span_parents_empty_id", L(span_parents=["p", ""]), r"span_parents must be a list of non"),
    ("comment_without_origin", L(comment={"text": "hi"}), r"comment needs origin\.id"),
    ("comment_origin_without_id", L(comment={"text": "hi"}, origin={}), r"origin\.id"),
    ("comment_origin_id_int", L(comment={"text": "hi"}, origin={"id": 5}), r"origin\.id"),
    ("comment_origin_string", L(comment={"text": "hi"}, origin="r"), r"origin\.id"),
    ("no_routing_key", {"id": "r", "input": 1}, r"no routing key"),
    ("only_log_id", {"id": "r", "log_id": "g"}, r"no routing key"),
    (
        "experiment_and_dataset",
        {"experiment_id": "E", "dataset_id": "D", "id": "r"},
        r"only one of experiment_id and dataset_id",
    ),
    ("bad_log_id", {"project_id": "P", "log_id": "x", "id": "r"}, r"unknown log_id 'x'"),
    ("project_id_int", {"project_id": 5, "log_id": "g"}, r"project_id must be a non-empty string"),
    ("experiment_id_empty", {"experiment_id": ""}, r"experiment_id must be a non-empty string"),
    ("dataset_id_list", {"dataset_id": ["D"]}, r"dataset_id must be a non-empty string"),
    (
        "prompt_session_id",
        {"prompt_session_id": "ps", "log_id": "x"},
        r"playground logs .* not supported",
    ),
]


def _bad_row_params():
    for name, raw, pattern in BAD_ROWS:
        yield pytest.param(raw, pattern, id=name)


@pytest.mark.parametrize(("raw", "pattern"), list(_bad_row_params()))
def test_bad_row_raises_invalid_request(raw: Any, pattern: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        to_write(raw, 3)
    message = info.value.message
    assert re.search(pattern, message), message
    assert info.value.status == 400
    assert info.value.to_json() == {"error": {"type": "InvalidRequest", "message": message}}


def test_bad_row_names_are_unique() -> None:
    names = [name for name, _, _ in BAD_ROWS]
    assert len(names) == len(set(names))


# ---- xact ids ----------------------------------------------------------------------------------


def test_oas_example_xact_id_decomposes() -> None:
    example = 1000192656880881099
    assert example >> 48 == 0x0DE1
    assert xact_seconds(example) == 0x65EC1456
    assert make_xact_id(0x65EC1456, example & 0xFFFF) == example


@pytest.mark.parametrize("seconds", [0, 1, 1_700_000_000, 1_795_383_018, 2**32 - 1])
@pytest.mark.parametrize("counter", [0, 1, 65535])
def test_xact_ids_are_19_digits_and_round_trip(seconds: int, counter: int) -> None:
    xact = make_xact_id(seconds, counter)
    assert xact >> 48 == XACT_TOP_BITS >> 48
    text = format_xact(xact)
    assert len(text) == 19
    assert text.isdigit()
    assert int(text) == xact
    assert xact_seconds(xact) == seconds
    assert xact & 0xFFFF == counter
    assert parse_xact(text) == xact


@pytest.mark.parametrize("counter", [-1, 65536])
def test_make_xact_id_rejects_counter_out_of_range(counter: int) -> None:
    with pytest.raises(ValueError, match="counter"):
        make_xact_id(1_700_000_000, counter)


def test_xact_clock_uses_current_second() -> None:
    clock = XactClock(now=lambda: 1_700_000_000.9)
    assert clock.next() == make_xact_id(1_700_000_000, 0)
    assert clock.next() == make_xact_id(1_700_000_000, 1)
    assert clock.last == make_xact_id(1_700_000_000, 1)


def test_xact_clock_strictly_increasing_when_clock_goes_backwards() -> None:
    times = iter([1000.0, 1000.5, 999.0, 500.0, 1000.2, 1001.0, 1000.0, 1002.0])
    clock = XactClock(now=lambda: next(times))
    got = [clock.next() for _ in range(8)]
    assert got == [
        make_xact_id(1000, 0),
        make_xact_id(1000, 1),
        make_xact_id(1000, 2),
        make_xact_id(1000, 3),
        make_xact_id(1000, 4),
        make_xact_id(1001, 0),
        make_xact_id(1001, 1),
        make_xact_id(1002, 0),
    ]


def test_xact_clock_many_ids_in_one_second() -> None:
    clock = XactClock(now=lambda: 1_795_383_018.0)
    got = [clock.next() for _ in range(70_000)]
    assert all(b > a for a, b in zip(got, got[1:], strict=False))
    texts = [format_xact(x) for x in got]
    assert all(len(t) == 19 for t in texts)
    # The SDK compares versions as strings: string order must match numeric order.
    assert texts == sorted(texts)
    assert got[0] == make_xact_id(1_795_383_018, 0)
    assert got[65535] == make_xact_id(1_795_383_018, 65535)


def test_xact_clock_seeded_with_stored_maximum() -> None:
    stored = make_xact_id(2_000_000_000, 5)
    clock = XactClock(last=stored, now=lambda: 1_000_000_000)
    assert clock.next() == stored + 1
    assert clock.next() == stored + 2


def test_xact_clock_is_thread_safe() -> None:
    clock = XactClock(now=lambda: 1_700_000_000)
    results: list[list[int]] = [[] for _ in range(8)]

    def work(out: list[int]) -> None:
        for _ in range(500):
            out.append(clock.next())

    threads = [threading.Thread(target=work, args=(r,)) for r in results]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    everything = [x for r in results for x in r]
    assert len(set(everything)) == 4000
    for r in results:
        assert r == sorted(r)


def test_xact_clock_default_uses_wall_clock() -> None:
    before = int(time.time())
    xact = XactClock().next()
    after = int(time.time())
    assert before <= xact_seconds(xact) <= after
    assert len(format_xact(xact)) == 19


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, 0),
        (5, 5),
        (1000192656880881099, 1000192656880881099),
        ("0", 0),
        ("42", 42),
        ("1000192656880881099", 1000192656880881099),
        (" 17 ", 17),
        (2**64 - 1, 2**64 - 1),
        (2**64, 2**64 - 1),  # beyond every _xact_id: after every write
        ("1" + "0" * 40, 2**64 - 1),
    ],
)
def test_parse_xact_accepts(value: Any, expected: int) -> None:
    assert parse_xact(value) == expected


@pytest.mark.parametrize(
    "value",
    [True, False, -1, "-1", "1.5", "abc", "", "  ", None, 1.0, "0x10", "1e5", [1], {"v": 1}],
    ids=repr,
)
def test_parse_xact_rejects(value: Any) -> None:
    with pytest.raises(ValueError):
        parse_xact(value)


# ---- uuid7 -----------------------------------------------------------------------------------


def test_uuid7_is_valid_version_7() -> None:
    for _ in range(200):
        text = uuid7()
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 7
        assert parsed.variant == uuid.RFC_4122


def test_uuid7_encodes_unix_millis(monkeypatch: pytest.MonkeyPatch) -> None:
    class FakeTime:
        @staticmethod
        def time() -> float:
            return 1_795_383_018.1234

    monkeypatch.setattr(ids, "time", FakeTime)
    value = uuid.UUID(uuid7())
    assert value.int >> 80 == 1_795_383_018_123


def test_uuid7_sorts_by_time(monkeypatch: pytest.MonkeyPatch) -> None:
    # 2 ms apart, so float rounding cannot put two ids in the same millisecond.
    moments = [(1_700_000_000_000 + 2 * i) / 1000 for i in range(300)] + [1_800_000_000.5]
    current = {"t": 0.0}

    class FakeTime:
        @staticmethod
        def time() -> float:
            return current["t"]

    monkeypatch.setattr(ids, "time", FakeTime)
    made = []
    for t in moments:
        current["t"] = t
        made.append(uuid7())
    assert made == sorted(made)
    assert len(set(made)) == len(made)


def test_uuid7_real_clock_increasing_across_milliseconds() -> None:
    first = uuid7()
    time.sleep(0.003)
    second = uuid7()
    assert first < second


def test_non_finite_scores_and_metrics_from_the_sdk_become_null() -> None:
    # The SDK encodes NaN and infinities as strings so that its JSON stays strict.
    write = to_write(L(scores={"a": "NaN", "b": 0.5}, metrics={"m": "Infinity", "n": 2}))
    assert write.fields["scores"] == {"a": None, "b": 0.5}
    assert write.fields["metrics"] == {"m": None, "n": 2}


def test_boolean_scores_and_metrics_are_one_and_zero() -> None:
    # The SDK's check of a metric (isinstance(value, int)) lets True through, and it turns a
    # boolean score into 1 or 0 itself: a refused row would drop the SDK's whole batch.
    write = to_write(L(scores={"a": True, "b": False}, metrics={"cached": True, "n": False}))
    assert write.fields["scores"] == {"a": 1, "b": 0}
    assert write.fields["metrics"] == {"cached": 1, "n": 0}
    assert all(type(v) is int for v in write.fields["metrics"].values())


def test_many_tags_merge_in_linear_time() -> None:
    # Repeats were found by a scan of a list: a merge into a row of 60,000 tags took
    # minutes (20,000: 2 s), on the writer thread, which writes nothing else meanwhile.
    tags = [f"t{i}" for i in range(60_000)]
    current = apply_write(None, to_write(L(tags=[*tags, "t0"])), now=now(0))
    assert current["tags"] == tags
    started = time.perf_counter()
    merged = apply_write(current, to_write(L(tags=["x", *tags[:10]], _is_merge=True)), now=now(1))
    assert merged["tags"] == [*tags, "x"]
    assert time.perf_counter() - started < 5


def test_array_delete_of_many_values_runs_in_linear_time() -> None:
    # Each item was compared with every value to delete: 11,000 values out of an array of
    # 20,000 held the writer thread for seconds. Values still compare as JSON.
    items = [*range(20_000), True, 1.0, "1", None, {"a": [1]}, [1, 2]]
    current = apply_write(None, to_write(L(metadata={"xs": items})), now=now(0))
    gone = [*range(1, 20_000, 2), *range(30_000, 31_000), False, {"a": [1.0]}, [2, 1]]
    delete = [{"path": ["metadata", "xs"], "delete": gone}]
    started = time.perf_counter()
    merged = apply_write(current, to_write(L(_is_merge=True, _array_delete=delete)), now=now(1))
    assert time.perf_counter() - started < 5
    assert merged["metadata"]["xs"] == [*range(0, 20_000, 2), True, "1", None, [1, 2]]
