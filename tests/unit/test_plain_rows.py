"""The ingest fast path (``model/plain.py`` + ``plain_table``) against the general path
(``route_row`` + ``normalize_row`` + ``prepare``): whenever the fast path takes a request,
the general path takes it too and gives the same Arrow columns; it never takes a request
the general path refuses or treats differently (merges, deletes, comments, repeated ids)."""

from __future__ import annotations

import copy
import itertools
import uuid
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracelake.errors import InvalidRequest
from tracelake.model.objects import route_row
from tracelake.model.plain import plain_rows
from tracelake.model.rows import normalize_row
from tracelake.store import writer
from tracelake.store.writer import ObjectInfo, WriteBatch, plain_table, prepare

NOW = "2030-01-01T00:00:00.000000Z"
INFO = {
    ("project_logs", "P"): ObjectInfo(org_id="O", project_id="P"),
    ("experiment", "E"): ObjectInfo(org_id="O", project_id="P2"),
    ("dataset", "D"): ObjectInfo(org_id="O", project_id="P"),
}
SETTINGS = settings(
    max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


def new_ids(module: str):
    """Ids given to rows without one: the same sequence on both paths."""
    counter = itertools.count()
    return mock.patch(f"{module}.uuid7", side_effect=lambda: f"new-{next(counter)}")


def general_table(rows: list):
    """The general path's columns (raises the error it refuses the request with)."""
    writes, objects = [], {}
    with new_ids("tracelake.model.rows"):
        for index, raw in enumerate(rows):
            ref = route_row(raw)
            objects[ref] = INFO[(ref.object_type.value, ref.object_id)]
            writes.append(normalize_row(raw, ref, index))
    batch = WriteBatch(writes=writes, objects=objects)
    with mock.patch.object(writer, "now_timestamp", return_value=NOW):
        prepare(batch)
    return batch.prepared


def fast_table(rows: list):
    with new_ids("tracelake.model.plain"):
        plain = plain_rows(rows, NOW)
    if plain is None:
        return None
    infos = [INFO[(ref.object_type.value, ref.object_id)] for ref in plain.refs]
    try:
        return plain_table(plain, infos)
    except InvalidRequest:
        return None  # as the server does: the general path words the error


keys = st.sampled_from(["a", "b", "İ", "x y", ""])
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=4)
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=6,
)
objects_or_not = st.none() | st.dictionaries(keys, json_values, max_size=3) | json_values
numbers = st.none() | st.integers(-2, 3) | st.floats(-1, 2) | st.booleans() | st.just("NaN")
times = (
    st.sampled_from(
        [
            "2026-11-22T12:00:00.000000+00:00",  # the SDK's shape
            "2026-11-22T12:00:00.123456+00:00",
            "2026-11-22T12:00:00Z",
            "2026-11-22 12:00:00",
            "2026-11-22T14:00:00.5+02:00",
            "not a time",
            "",
        ]
    )
    | st.integers(0, 2**31)
    | st.floats(0, 2e9)
    | st.booleans()
)
ids = st.sampled_from(["r1", "r2", "r3"]) | st.just("") | st.integers(0, 3)
span_lists = st.none() | st.lists(st.sampled_from(["s1", "s2", ""]), max_size=2) | st.just("s1")
tag_lists = st.none() | st.lists(st.sampled_from(["t1", "t2", "t3"]), max_size=4) | st.just([1])

routes = st.sampled_from(
    [
        {"project_id": "P", "log_id": "g"},
        {"project_id": "P"},
        {"experiment_id": "E"},
        {"experiment_id": "E", "project_id": "P"},
        {"dataset_id": "D"},
        {"project_id": "P", "log_id": "x"},
        {"project_id": ""},
        {},
    ]
)
optional_fields = st.fixed_dictionaries(
    {},
    optional={
        "id": ids,
        "created": times,
        "input": json_values,
        "output": json_values,
        "expected": json_values,
        "error": json_values,
        "metadata": objects_or_not,
        "span_attributes": objects_or_not,
        "context": objects_or_not,
        "origin": objects_or_not,
        "classifications": objects_or_not,
        "scores": st.none() | st.dictionaries(st.sampled_from(["s", "t"]), numbers, max_size=2),
        "metrics": st.none() | st.dictionaries(st.sampled_from(["m", "n"]), numbers, max_size=2),
        "tags": tag_lists,
        "span_id": st.none() | st.sampled_from(["s1", "s2", ""]),
        "root_span_id": st.none() | st.sampled_from(["root", ""]),
        "span_parents": span_lists,
        "_is_merge": st.none() | st.booleans(),
        "_object_delete": st.none() | st.booleans(),
        "_parent_id": st.sampled_from(["r1"]),
        "comment": st.none() | st.just({"text": "hi"}),
        "_audit_source": st.just("app"),
        "_xact_id": st.just("123"),  # read-only fields a client echoes back are ignored
        "unknown_field": st.just(1),
    },
)
raw_rows = st.builds(lambda route, fields: {**route, **fields}, routes, optional_fields)

# Rows the fast path should take: valid values only, ids unique in the request.
valid_fields = st.fixed_dictionaries(
    {},
    optional={
        "created": st.sampled_from(
            [
                "2026-11-22T12:00:00.123456+00:00",
                "2026-11-22T12:00:00Z",
                "2026-11-22T14:00:00.5+02:00",
                "2026-11-22",
            ]
        )
        | st.floats(0, 2e9),
        "input": json_values,
        "output": json_values,
        "expected": json_values,
        "error": json_values,
        "metadata": st.none() | st.dictionaries(keys, json_values, max_size=3),
        "span_attributes": st.none() | st.dictionaries(keys, json_values, max_size=3),
        "context": st.none() | st.dictionaries(keys, json_values, max_size=2),
        "origin": st.none() | st.dictionaries(keys, json_values, max_size=2),
        "classifications": st.none() | st.dictionaries(keys, json_values, max_size=2),
        "scores": st.none()
        | st.dictionaries(
            st.sampled_from(["s", "t"]), st.none() | st.floats(0, 1) | st.sampled_from([0, 1])
        ),
        "metrics": st.none()
        | st.dictionaries(
            st.sampled_from(["m", "n"]), st.none() | st.floats(-1e9, 1e9) | st.integers()
        ),
        "tags": st.none() | st.lists(st.sampled_from(["t1", "t2", "t3"]), max_size=4),
        "span_id": st.none() | st.sampled_from(["s1", "s2"]),
        "root_span_id": st.none() | st.just("root"),
        "span_parents": st.none() | st.lists(st.sampled_from(["s1", "s2"]), max_size=2),
        "_is_merge": st.none() | st.just(False),
        "_object_delete": st.none() | st.just(False),
        "_xact_id": st.just("123"),
    },
)


def numbered(parts: list) -> list[dict]:
    """Rows with ids r0, r1, … (or none, when ``with_id`` is false)."""
    return [
        {**route, **fields, **({"id": f"r{i}"} if with_id else {})}
        for i, (route, fields, with_id) in enumerate(parts)
    ]


valid_rows = (
    st.lists(
        st.tuples(
            routes.filter(lambda r: "dataset_id" not in r and r), valid_fields, st.booleans()
        ),
        min_size=1,
        max_size=5,
    )
    .map(numbered)
    .filter(lambda rows: all(r.get("project_id") != "" for r in rows))
)
# One value the general path refuses or changes, to put into an otherwise valid request.
BAD_VALUES = [
    ("metadata", "x"),
    ("metadata", [1]),
    ("span_attributes", 1),
    ("context", []),
    ("origin", "o"),
    ("classifications", ["topic"]),
    ("scores", {"s": 2}),
    ("scores", {"s": -0.5}),
    ("scores", {"s": True}),
    ("scores", {"s": "NaN"}),
    ("scores", {"s": "0.5"}),
    ("scores", [0.5]),
    ("metrics", {"m": "x"}),
    ("metrics", {"m": False}),
    ("metrics", {"m": "Infinity"}),
    ("metrics", 3),
    ("tags", "t"),
    ("tags", [1]),
    ("tags", [None]),
    ("span_id", ""),
    ("span_id", 3),
    ("root_span_id", ""),
    ("root_span_id", ["r"]),
    ("span_parents", "s1"),
    ("span_parents", [1]),
    ("created", "not a time"),
    ("created", True),
    ("created", ""),
    ("id", ""),
    ("id", 3),
    ("log_id", "x"),
    ("experiment_id", ""),
    ("experiment_id", 3),
    ("_is_merge", "no"),
    ("_object_delete", 0),
    ("prompt_session_id", "p"),
]
bad_values = st.sampled_from(BAD_VALUES)


def spoiled(rows: list[dict], at: int, bad: tuple[str, object]) -> list[dict]:
    name, value = bad
    rows = [dict(r) for r in rows]
    rows[at % len(rows)][name] = value
    return rows


requests = (
    valid_rows
    | st.lists(raw_rows, min_size=1, max_size=4)
    | st.tuples(valid_rows, raw_rows).map(lambda pair: [*pair[0], pair[1]])
    | st.builds(spoiled, valid_rows, st.integers(0, 4), bad_values)
)


@SETTINGS
@given(requests)
def test_the_fast_path_takes_a_request_only_as_the_general_path_would(rows):
    check_same_rows(rows)


@pytest.mark.parametrize("bad", BAD_VALUES, ids=lambda bad: f"{bad[0]}={bad[1]!r}")
def test_a_value_the_general_path_refuses_or_changes_is_not_taken(bad):
    rows = spoiled([sdk_span("r0"), sdk_span("r1")], 1, bad)
    check_same_rows(rows)


def check_same_rows(rows: list[dict]) -> None:
    fast = fast_table(rows)
    if fast is None:
        return  # the general path decides (and words any error)
    rows = copy.deepcopy(rows)  # the general path corrects some values in place
    try:
        general = general_table(rows)
    except InvalidRequest as exc:
        pytest.fail(f"the fast path took a request the general path refuses: {exc}")
    assert fast.schema == general.schema
    assert fast.to_pylist() == general.to_pylist()


def sdk_span(row_id: str, **fields) -> dict:
    """A span start as the SDK sends it."""
    return {
        "id": row_id,
        "span_id": f"span-{row_id}",
        "root_span_id": "span-root",
        "span_parents": ["span-root"],
        "created": "2026-11-22T12:00:00.123456+00:00",
        "project_id": "P",
        "log_id": "g",
        "input": {"messages": [{"role": "user", "content": "hi"}]},
        "metrics": {"start": 1.5, "tokens": 10},
        "scores": {"quality": 0.5},
        "tags": ["a", "b", "a"],
        "span_attributes": {"name": "chat", "type": "llm"},
        "_is_merge": False,
        **fields,
    }


def test_sdk_span_starts_take_the_fast_path_with_the_general_paths_columns():
    rows = [sdk_span("r1"), sdk_span("r2", span_parents=None), {"experiment_id": "E"}]
    fast = fast_table(rows)
    assert fast is not None
    assert fast.to_pylist() == general_table(rows).to_pylist()
    first = fast.to_pylist()[0]
    assert first["tags"] == ["a", "b"] and first["created"] == "2026-11-22T12:00:00.123456Z"
    assert [r["is_root"] for r in fast.to_pylist()] == [False, True, True]


def test_a_row_with_an_id_and_no_span_id_reads_the_row_it_may_replace():
    """It keeps the span ids of a stored row of its id: the writer reads that row (the
    general path, on the writer thread), not the fast path, which makes them up."""
    rows = [sdk_span("r1"), {"experiment_id": "E", "id": "x"}]
    assert fast_table(rows) is None
    assert general_table(rows) is None  # (not prepared ahead: the writer applies it)
    assert fast_table([sdk_span("r1"), {"experiment_id": "E", "id": "x", "span_id": "x"}])


@pytest.mark.parametrize(
    "change",
    [
        {"_is_merge": True},
        {"_object_delete": True},
        {"_parent_id": "r0"},
        {"_audit_source": "app"},
        {"_merge_paths": [["input"]]},
        {"scores": {"quality": "NaN"}},  # the general path stores it as null
        {"project_id": None, "dataset_id": "D"},
        # keys the general path checks are the object's (store/events.py _check_object_keys)
        {"org_id": "O"},
        {"project_id": None, "experiment_id": "E"},  # with the span's log_id "g"
    ],
)
def test_rows_that_need_the_general_path_send_the_request_there(change):
    assert plain_rows([sdk_span("r1"), sdk_span("r2", **change)], NOW) is None


def test_an_id_given_twice_sends_the_request_to_the_general_path():
    assert plain_rows([sdk_span("r1"), sdk_span("r1", output="later")], NOW) is None
    # the same id in two objects is two rows
    other = sdk_span("r1", project_id=None, log_id=None, experiment_id="E")
    assert plain_rows([sdk_span("r1"), other], NOW) is not None


def test_a_row_without_id_or_time_gets_a_new_id_and_the_request_time():
    plain = plain_rows([{"project_id": "P", "input": 1}], NOW)
    assert plain is not None
    (row_id,) = plain.ids
    assert uuid.UUID(row_id).version == 7
    assert plain.span_ids == [row_id] and plain.root_span_ids == [row_id]
    assert plain.created == [NOW]


def test_a_value_too_deep_to_store_is_left_to_the_general_path():
    deep: list = []
    for _ in range(300):
        deep = [deep]
    rows = [sdk_span("r1", output=deep)]
    plain = plain_rows(rows, NOW)
    assert plain is not None  # the rows look plain; storing the value fails
    with pytest.raises(InvalidRequest):
        plain_table(plain, [INFO[("project_logs", "P")]])
    with pytest.raises(InvalidRequest, match="nests deeper than 200 levels"):
        general_table(rows)
