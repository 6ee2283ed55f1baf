"""Versions against a real Store: random request sequences on a temporary DuckDB file.

A pure-Python model replays every request with ``normalize_row`` + ``apply_write`` (the
write semantics are unit-tested elsewhere); these tests check what the store makes of them:
the live rows, every pinned ``version=`` read, the xact ids in ``history``, revival after a
tombstone, and comments stored beside their rows.
"""

from __future__ import annotations

import copy
import tempfile
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from tracelake.model.merge import apply_write
from tracelake.model.objects import ObjectRef, ObjectType
from tracelake.model.rows import RowWrite, WriteKind, normalize_row
from tracelake.model.xact import format_xact
from tracelake.store.events import fetch_events
from tracelake.store.store import Store
from tracelake.store.writer import InsertMode, ObjectInfo, WriteBatch, prepare

SETTINGS = settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

PROJECT_ID = "proj"
DATASET_ID = "ds-1"
LOGS = ObjectRef(ObjectType.PROJECT_LOGS, PROJECT_ID)
DATASET = ObjectRef(ObjectType.DATASET, DATASET_ID)
REFS = {"logs": LOGS, "dataset": DATASET}
ROUTING = {"logs": {"project_id": PROJECT_ID, "log_id": "g"}, "dataset": {"dataset_id": DATASET_ID}}
OBJECTS = {LOGS: ObjectInfo("org", PROJECT_ID), DATASET: ObjectInfo("org", PROJECT_ID)}
# The user fields a fetched row of each object type shows.
COMPARED = {
    "logs": ("input", "output", "expected", "metadata", "tags", "scores"),
    "dataset": ("input", "expected", "metadata", "tags"),
}
ROW_IDS = ("a", "b", "c", "d")
NOW = "2030-01-01T00:00:00.000000Z"
PAGE = 2  # small, so that every read follows cursors over several pages

Key = tuple[str, str]  # (object name, row id)

# -- strategies ------------------------------------------------------------------------------

keys = st.sampled_from(["k", "m", "n"])
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-1000, 1000)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet='ab"\\é😀\n', max_size=3)
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=6,
)
json_objects = st.dictionaries(keys, json_values, max_size=3)
tag_lists = st.lists(st.sampled_from(["t1", "t2", "t3"]), max_size=3, unique=True)
score_maps = st.dictionaries(st.sampled_from(["s1", "s2"]), st.none() | st.floats(0, 1), max_size=2)
user_fields = st.fixed_dictionaries(
    {},
    optional={
        "input": json_values,
        "output": json_values,
        "expected": json_values,
        "metadata": st.none() | json_objects,
        "tags": st.none() | tag_lists,
        "scores": score_maps,
    },
)
merge_paths = st.lists(
    st.sampled_from([["metadata"], ["metadata", "k"], ["input"], ["tags"]]), max_size=2
)


@st.composite
def raw_rows(draw, comment_ids: dict[str, list[str]]) -> tuple[str, dict]:
    """One raw row: (object name, row as a client sends it). A delete may name one of
    ``comment_ids`` (comments written by earlier requests) instead of a row."""
    obj = draw(st.sampled_from(sorted(REFS)))
    kind = draw(st.sampled_from(["replace", "replace", "merge", "delete", "comment"]))
    target = draw(st.sampled_from(ROW_IDS))
    raw: dict[str, Any] = dict(ROUTING[obj])
    if kind == "replace":
        raw.update(id=target, **draw(user_fields))
    elif kind == "merge":
        raw.update(id=target, _is_merge=True, **draw(user_fields))
        if draw(st.booleans()):
            raw["_merge_paths"] = draw(merge_paths)
    elif kind == "delete":
        if comment_ids[obj] and draw(st.booleans()):
            target = draw(st.sampled_from(comment_ids[obj]))
        raw.update(id=target, _object_delete=True)
    else:
        comment_id = str(draw(st.uuids()))
        text = draw(st.text(alphabet="xyz é", max_size=4))
        raw.update(id=comment_id, origin={"id": target}, comment={"text": text})
    if obj == "dataset" and raw.get("output") is not None and raw.get("expected") is not None:
        del raw["output"]  # (on a dataset row output is expected's alias: both is a 400)
    return obj, raw


@st.composite
def request_sequences(draw, delete_comments: bool = False) -> list[list[tuple[str, dict]]]:
    """2-8 requests of 1-5 rows each."""
    comment_ids: dict[str, list[str]] = {obj: [] for obj in REFS}
    requests = []
    for _ in range(draw(st.integers(2, 8))):
        request = draw(st.lists(raw_rows(comment_ids), min_size=1, max_size=5))
        requests.append(request)
        if delete_comments:
            for obj, raw in request:
                if "comment" in raw:
                    comment_ids[obj].append(raw["id"])
    return requests


# -- model -----------------------------------------------------------------------------------


def normalize(obj: str, raw: dict, index: int) -> RowWrite:
    # normalize_row may rewrite values in place (NaN scores): give it its own copy.
    return normalize_row(copy.deepcopy(raw), REFS[obj], index)


def make_batch(request: list[tuple[str, dict]]) -> WriteBatch:
    """One request as the request handlers hand it to the writer (rows computed ahead)."""
    writes = [normalize(obj, raw, i) for i, (obj, raw) in enumerate(request)]
    return prepare(WriteBatch(writes=writes, objects=dict(OBJECTS)))


@dataclass
class Comment:
    obj: str
    id: str
    origin: str
    comment: Any
    request: int
    deleted_at: int | None = None  # the request whose delete named the comment's id


@dataclass
class Model:
    """Expected state after each request of a sequence."""

    # states[i][key]: the row after request i (None = tombstone; absent = never written).
    states: list[dict[Key, dict | None]] = field(default_factory=list)
    # last_writer[i][key]: the index of the last request (≤ i) that wrote the row.
    last_writer: list[dict[Key, int]] = field(default_factory=list)
    # last_write[i][key]: the last row write (≤ i) to the row, and whether a tombstone came
    # before it (the row was deleted at some point earlier).
    last_write: list[dict[Key, tuple[RowWrite, bool]]] = field(default_factory=list)
    # touched[i][key]: the row's state at the end of request i, for the rows request i wrote.
    touched: list[dict[Key, dict | None]] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)

    def live(self, obj: str, i: int) -> dict[str, dict]:
        return {
            row_id: state
            for (o, row_id), state in self.states[i].items()
            if o == obj and state is not None
        }

    def comments_on(self, obj: str, origin: str, i: int) -> list[Comment]:
        return [
            c
            for c in self.comments
            if c.obj == obj
            and c.origin == origin
            and c.request <= i
            and (c.deleted_at is None or c.deleted_at > i)
        ]


def replay(requests: list[list[tuple[str, dict]]]) -> Model:
    model = Model()
    states: dict[Key, dict | None] = {}
    last_writer: dict[Key, int] = {}
    last_write: dict[Key, tuple[RowWrite, bool]] = {}
    ever_deleted: set[Key] = set()
    for i, request in enumerate(requests):
        touched: dict[Key, dict | None] = {}
        for index, (obj, raw) in enumerate(request):
            write = normalize(obj, raw, index)
            if write.kind is WriteKind.COMMENT:
                model.comments.append(Comment(obj, write.id, write.origin_id, write.comment, i))
                continue
            key = (obj, write.id)
            states[key] = apply_write(states.get(key), write, now=NOW)
            touched[key] = states[key]
            last_writer[key] = i
            last_write[key] = (write, key in ever_deleted)
            if write.kind is WriteKind.DELETE:
                ever_deleted.add(key)
                for comment in model.comments:  # a delete naming a comment removes it
                    if (comment.obj, comment.id) == key and comment.deleted_at is None:
                        comment.deleted_at = i
        model.states.append(dict(states))
        model.last_writer.append(dict(last_writer))
        model.last_write.append(dict(last_write))
        model.touched.append(touched)
    return model


def logs_row(**fields: Any) -> tuple[str, dict]:
    return "logs", {**ROUTING["logs"], **fields}


def dataset_row(**fields: Any) -> tuple[str, dict]:
    return "dataset", {**ROUTING["dataset"], **fields}


def dataset_comment_on(target: str, text: str, comment_id: str) -> tuple[str, dict]:
    return dataset_row(id=comment_id, origin={"id": target}, comment={"text": text})


def comment_on(target: str, text: str, comment_id: str | None = None) -> tuple[str, dict]:
    comment_id = comment_id or str(uuid.uuid4())
    return logs_row(id=comment_id, origin={"id": target}, comment={"text": text})


# -- store helpers ---------------------------------------------------------------------------


def fetch_all(store: Store, obj: str, version: int | None = None) -> list[dict]:
    """Every row of the object, following cursors to the end."""
    rows: list[dict] = []
    cursor = None
    for _ in range(100):
        page = fetch_events(store, REFS[obj], limit=PAGE, cursor=cursor, version=version)
        parsed = [orjson.loads(text) for text in page.rows]
        assert len({r["root_span_id"] for r in parsed}) <= PAGE, "a page exceeds its limit"
        rows.extend(parsed)
        if page.cursor is None:
            return rows
        assert parsed, "a page with a cursor must not be empty"
        cursor = page.cursor
    raise AssertionError("cursor never reached the end")


def apply_requests(store: Store, requests, pipelined: bool | str) -> list[int]:
    """Write each request as one batch; return each request's xact id. ``pipelined``
    queues them all first, so that the writer may commit several in one group; "held"
    keeps the writer busy while they are queued, so that it commits them in one group."""
    if not pipelined:
        return [store.write(make_batch(request)) for request in requests]
    inside, release = threading.Event(), threading.Event()
    if pipelined == "held":
        holder = threading.Thread(
            target=store.exclusive, args=(lambda _c: inside.set() or release.wait(10),)
        )
        holder.start()
        assert inside.wait(10)
    futures = [store.submit(make_batch(request)) for request in requests]
    release.set()
    return [future.result() for future in futures]


def history_rows(store: Store) -> list[tuple]:
    return store.read(
        lambda c: c.execute(
            "SELECT object_type, object_id, id, _xact_id, _pagination_key, _object_delete"
            " FROM history"
        ).fetchall()
    )


def comment_rows(store: Store) -> list[tuple]:
    return store.read(
        lambda c: c.execute("SELECT object_type, object_id, id, _xact_id FROM comments").fetchall()
    )


# -- checks ----------------------------------------------------------------------------------


def check_read(store: Store, model: Model, xacts: list[int], i: int, version: int | None) -> None:
    """The object rows read at ``version`` (None = latest) equal the model after request i."""
    for obj in REFS:
        rows = fetch_all(store, obj, version)
        ids = [r["id"] for r in rows]
        where = f"{obj} after request {i} (version={version})"
        assert len(ids) == len(set(ids)), f"{where}: a row appears twice: {ids}"
        expected = model.live(obj, i)
        assert set(ids) == set(expected), f"{where}: ids {sorted(ids)} != {sorted(expected)}"
        for row in rows:
            row_id = row["id"]
            state = expected[row_id]
            for name in COMPARED[obj]:
                assert row[name] == state[name], f"{where}: {row_id}.{name}"
            # The row is the version written by the last request that touched it.
            writer = model.last_writer[i][(obj, row_id)]
            assert row["_xact_id"] == format_xact(xacts[writer]), f"{where}: {row_id}._xact_id"
            assert row["_pagination_key"].startswith(f"p{format_xact(xacts[writer])}.")
            check_replace_oracle(row, obj, model, i, where)
            check_comments(row, obj, model, xacts, i, where)


def check_replace_oracle(row: dict, obj: str, model: Model, i: int, where: str) -> None:
    """A row last written by a plain replace holds exactly that replace's fields, whatever
    came before it (in particular a tombstone: the row is revived with nothing carried over).
    Independent of apply_write."""
    write, after_delete = model.last_write[i][(obj, row["id"])]
    if write.kind is not WriteKind.REPLACE:
        return
    if after_delete:
        event("revived after a tombstone")
    for name in COMPARED[obj]:
        assert row[name] == write.fields.get(name), f"{where}: replace {row['id']}.{name}"


def check_comments(row: dict, obj: str, model: Model, xacts: list[int], i: int, where) -> None:
    expected = model.comments_on(obj, row["id"], i)
    if expected:
        event("row with comments")
    got = row["comments"] or []
    want = sorted(expected, key=lambda c: (xacts[c.request], c.id))
    assert [c["id"] for c in got] == [c.id for c in want], f"{where}: comments of {row['id']}"
    for got_comment, want_comment in zip(got, want, strict=True):
        assert got_comment["comment"] == want_comment.comment, f"{where}: comment body"
        assert got_comment["_xact_id"] == format_xact(xacts[want_comment.request])


def check_history(store: Store, model: Model, xacts: list[int]) -> None:
    """Each request left one history version per row it wrote, all with its xact id, and
    each comment carries the xact id of its request."""
    names = {ref.object_type.value: (obj, ref.object_id) for obj, ref in REFS.items()}
    by_xact: dict[int, dict[Key, tuple[str, bool]]] = {}
    for object_type, object_id, row_id, xact_id, pkey, deleted in history_rows(store):
        obj, oid = names[object_type]
        assert object_id == oid
        versions = by_xact.setdefault(int(xact_id), {})
        assert (obj, row_id) not in versions, f"two versions of {obj}/{row_id} in one xact"
        versions[(obj, row_id)] = (pkey, deleted)
    assert set(by_xact) <= set(xacts), "history has an xact id no request got"
    for i, xact in enumerate(xacts):
        versions = by_xact.get(xact, {})
        assert set(versions) == set(model.touched[i]), f"rows of request {i} in history"
        for key, (pkey, deleted) in versions.items():
            assert pkey.startswith(f"p{format_xact(xact)}.")
            assert deleted == (model.touched[i][key] is None), f"tombstone flag of {key}"
    stored = {(names[t][0], cid): int(x) for t, _, cid, x in comment_rows(store)}
    assert stored == {(c.obj, c.id): xacts[c.request] for c in model.comments}


def check_xacts(xacts: list[int]) -> None:
    for xact in xacts:
        assert len(format_xact(xact)) == 19 and len(str(xact)) == 19
    assert all(a < b for a, b in zip(xacts, xacts[1:], strict=False)), xacts


# -- the properties --------------------------------------------------------------------------


def run_and_check(requests, pipelined: bool, reopen: bool) -> None:
    model = replay(requests)
    with tempfile.TemporaryDirectory(prefix="tracelake-versions-") as data_dir:
        store = Store(data_dir)
        try:
            xacts = apply_requests(store, requests, pipelined)
            if reopen:
                # Versions are durable and the clock resumes above every stored id.
                store.close()
                store = Store(data_dir)
            check_xacts(xacts)  # (c)
            check_history(store, model, xacts)  # (c)
            last = len(requests) - 1
            check_read(store, model, xacts, last, None)  # (a) latest; (d) and (e) inside
            for i, xact in enumerate(xacts):  # (b) every pinned version
                check_read(store, model, xacts, i, xact)
            # Before the first request there is nothing; after the last, the latest state.
            for obj in REFS:
                assert fetch_all(store, obj, version=xacts[0] - 1) == []
            check_read(store, model, xacts, last, xacts[-1] + 10**6)
            if reopen:
                nxt = store.write(make_batch([logs_row(id="z", input=1)]))
                assert nxt > xacts[-1]
        finally:
            store.close()


@SETTINGS
@given(requests=request_sequences(), pipelined=st.booleans(), reopen=st.booleans())
def test_random_request_sequences_match_the_model(requests, pipelined, reopen) -> None:
    """Replaces, merges, row deletes and comments, one request after another (or queued
    together, so that the writer commits several in one group)."""
    run_and_check(requests, pipelined, reopen)


COMMENT_ID = "0b5c5d3e-0000-4000-8000-000000000001"


@SETTINGS
@example(
    requests=[
        [logs_row(id="a", input=1)],
        [comment_on("a", "hi", COMMENT_ID)],
        [logs_row(id=COMMENT_ID, _object_delete=True)],
    ],
    pipelined=False,
    reopen=False,
)
@example(  # two deletes of one comment in one group: the first one deletes it
    requests=[
        [dataset_row(id="a"), dataset_comment_on("a", "", COMMENT_ID)],
        [dataset_row(id=COMMENT_ID, _object_delete=True)],
        [dataset_row(id=COMMENT_ID, _object_delete=True)],
    ],
    pipelined="held",
    reopen=False,
)
@given(
    requests=request_sequences(delete_comments=True),
    pipelined=st.sampled_from([False, True, "held"]),
    reopen=st.booleans(),
)
def test_random_sequences_with_comment_deletes_match_the_model(requests, pipelined, reopen) -> None:
    """As above, and deletes may name comments written by earlier requests."""
    run_and_check(requests, pipelined, reopen)


# -- deterministic cases ---------------------------------------------------------------------


def by_id(rows: list[dict]) -> dict[str, dict]:
    return {r["id"]: r for r in rows}


def test_tombstoned_row_is_revived_with_only_the_replace_fields(tmp_path) -> None:
    full = dict(input={"q": 1}, output="o", metadata={"m": 1}, tags=["t1"], scores={"s1": 0.5})
    requests = [
        [logs_row(id="a", **full)],
        [logs_row(id="a", _object_delete=True)],
        [logs_row(id="a", input="again")],
    ]
    store = Store(tmp_path / "data")
    try:
        xacts = [store.write(make_batch(r)) for r in requests]
        check_xacts(xacts)
        first = by_id(fetch_all(store, "logs", xacts[0]))["a"]
        assert {k: first[k] for k in full} == full
        assert fetch_all(store, "logs", xacts[1]) == []
        for version in (xacts[2], None):
            revived = by_id(fetch_all(store, "logs", version))["a"]
            assert revived["input"] == "again"
            assert [revived[k] for k in ("output", "metadata", "tags", "scores")] == [None] * 4
            assert revived["_xact_id"] == format_xact(xacts[2])
    finally:
        store.close()


def test_a_group_that_replaces_a_stored_row_falls_back_to_upserts(tmp_path) -> None:
    """The writer first inserts a group's rows as new; a stored row in the group makes that
    fail, and the group is committed again with upserts: every row and version lands once."""
    store = Store(tmp_path / "data")
    try:
        first = store.write(make_batch([logs_row(id="old", input="v1")]))
        # Hold the writer thread in an exclusive task so that the next requests queue up
        # and are committed as one group.
        queued_all = threading.Event()
        hold = threading.Thread(target=store.exclusive, args=(lambda c: queued_all.wait(30),))
        hold.start()
        queued = [
            store.submit(make_batch([logs_row(id="new1", input="n1")])),
            store.submit(make_batch([logs_row(id="old", input="v2")])),
            store.submit(make_batch([logs_row(id="new2", input="n2")])),
        ]
        queued_all.set()
        hold.join()
        xacts = [first, *(f.result(timeout=30) for f in queued)]
        check_xacts(xacts)
        rows = by_id(fetch_all(store, "logs"))
        assert {k: r["input"] for k, r in rows.items()} == {"old": "v2", "new1": "n1", "new2": "n2"}
        assert rows["old"]["_xact_id"] == format_xact(xacts[2])
        versions = sorted((h[2], h[3]) for h in history_rows(store))
        assert versions == sorted(
            [("old", xacts[0]), ("new1", xacts[1]), ("old", xacts[2]), ("new2", xacts[3])]
        )
    finally:
        store.close()


def test_after_a_fallback_the_writer_upserts_for_a_while() -> None:
    mode = InsertMode()
    assert mode.try_plain()
    mode.had_to_upsert()
    assert [mode.try_plain() for _ in range(InsertMode.PAUSE + 2)] == [False] * InsertMode.PAUSE + [
        True,
        True,
    ]


def test_comment_before_its_row_and_across_replaces(tmp_path) -> None:
    early = comment_on("a", "early")
    late = comment_on("a", "late")
    requests = [
        [early],
        [logs_row(id="a", input=1)],
        [late, logs_row(id="a", input=2)],
        [logs_row(id="a", output="plain replace")],
    ]
    store = Store(tmp_path / "data")
    try:
        xacts = [store.write(make_batch(r)) for r in requests]
        assert fetch_all(store, "logs", xacts[0]) == []  # a comment is not a row
        expected = {1: ["early"], 2: ["early", "late"], 3: ["early", "late"]}
        for i, texts in expected.items():
            row = by_id(fetch_all(store, "logs", xacts[i]))["a"]
            assert [c["comment"]["text"] for c in row["comments"]] == texts, i
        latest = by_id(fetch_all(store, "logs"))["a"]
        assert [c["comment"]["text"] for c in latest["comments"]] == ["early", "late"]
        assert [c["id"] for c in latest["comments"]] == [early[1]["id"], late[1]["id"]]
        assert latest["input"] is None and latest["output"] == "plain replace"
    finally:
        store.close()


def test_pinned_read_keeps_a_comment_deleted_later(tmp_path) -> None:
    requests = [
        [logs_row(id="a", input=1)],
        [comment_on("a", "hi", COMMENT_ID)],
        [logs_row(id=COMMENT_ID, _object_delete=True)],
    ]
    store = Store(tmp_path / "data")
    try:
        xacts = [store.write(make_batch(r)) for r in requests]
        assert by_id(fetch_all(store, "logs"))["a"]["comments"] is None  # deleted now
        pinned = by_id(fetch_all(store, "logs", xacts[1]))["a"]  # before the delete
        assert [c["id"] for c in pinned["comments"] or []] == [COMMENT_ID]
    finally:
        store.close()
