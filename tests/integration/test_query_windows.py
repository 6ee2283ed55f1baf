"""Pages answered in newest-first windows give the same rows as the whole relation.

The window sizes are shrunk so that a few hundred rows need several windows; the expected
pages are computed in Python from the rows read straight out of ``live``.
"""

from __future__ import annotations

import datetime as dt
import random

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracelake.export import queries
from tracelake.export.queries import QueryOptions, explain_query, run_query
from tracelake.query import windows
from tracelake.store.catalog import Catalog, Principal, bootstrap
from tracelake.store.events import prepare_batch
from tracelake.store.store import Store

ROWS = 600
BASE = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    data = tmp_path_factory.mktemp("windows") / "data"
    store = Store(data)
    catalog = Catalog(store)
    bootstrap(catalog, "org", "tl-windows-test-key-0123456789")
    org = catalog.list_orgs()[0]
    principal = Principal(org["id"], org["name"], "admin", "test")
    project_id = catalog.create_project(org["id"], "windows")["id"]
    rng = random.Random(7)
    for start in range(0, ROWS, 40):  # 15 writes: 15 transactions
        batch = []
        for i in range(start, start + 40):
            # created mostly follows the write order, with ties and some out-of-order rows
            minutes = i // 3 if rng.random() > 0.1 else rng.randrange(ROWS // 3)
            batch.append(
                {
                    "project_id": project_id,
                    "log_id": "g",
                    "id": f"row-{i:04d}",
                    "created": (BASE + dt.timedelta(minutes=minutes)).isoformat(),
                    "metadata": {"kind": "common" if i % 4 else "other"},
                    "output": {"text": "a rare word" if i % 37 == 0 else "plain", "n": i},
                }
            )
        store.write(prepare_batch(catalog, principal, batch))
    yield store, catalog, principal, project_id
    store.close()


@pytest.fixture
def small_windows(monkeypatch):
    """Windows of a few rows, and a record of the bounds each page ran with."""
    monkeypatch.setattr(windows, "FIRST_MIN", 12)
    monkeypatch.setattr(windows, "FIRST_PER_ROW", 1)
    monkeypatch.setattr(windows, "SMALL_FACTOR", 1)
    monkeypatch.setattr(queries, "WINDOW_OUTCOMES", queries.WindowOutcomes())
    seen: list[list] = []
    original = queries.windows

    def recording(*args):
        runs: list = []
        seen.append(runs)
        steps = original(*args)
        found = None
        while True:
            try:
                bounds = next(steps) if found is None else steps.send(found)
            except StopIteration:
                return
            runs.append(bounds)
            found = yield bounds

    monkeypatch.setattr(queries, "windows", recording)
    return seen


def stored(env):
    store, _, _, project_id = env
    return store.read(
        lambda c: c.execute(
            """SELECT id, _pagination_key, created, metadata->>'kind', output->>'text'
               FROM live WHERE object_id = ?""",
            [project_id],
        ).fetchall()
    )


def pages(env, text: str):
    """Every page of a query, following cursors; the ids of each page."""
    store, catalog, principal, project_id = env
    out, cursor = [], None
    for _ in range(100):
        query = text.format(pid=project_id) + (f" | cursor: '{cursor}'" if cursor else "")
        result = run_query(store, catalog, principal, QueryOptions(query=query))
        out.append([orjson.loads(r)["id"] for r in result.rows])
        cursor = result.cursor
        if cursor is None:
            return out
    raise AssertionError("the cursor never ended")


def test_default_order_pages_match_the_whole_relation(env, small_windows):
    rows = stored(env)
    newest = [r[0] for r in sorted(rows, key=lambda r: r[1], reverse=True)]
    common = [r[0] for r in sorted(rows, key=lambda r: r[1], reverse=True) if r[3] == "common"]
    rare = [r[0] for r in sorted(rows, key=lambda r: r[1], reverse=True) if r[4] == "a rare word"]

    got = pages(env, "select: id | from: project_logs('{pid}') | limit: 25")
    assert [i for page in got for i in page] == newest
    assert all(len(page) == 25 for page in got[:-1])

    got = pages(
        env,
        "select: id | from: project_logs('{pid}') | filter: metadata.kind = 'common' | limit: 40",
    )
    assert [i for page in got for i in page] == common

    got = pages(
        env,
        "select: id, output | from: project_logs('{pid}')"
        " | filter: output.text ILIKE '%rare%' AND output.n >= 0 | limit: 5",
    )
    assert [i for page in got for i in page] == rare
    # Rare matches: first windows came up short and the older rows were read after them.
    assert any(len(runs) == 2 for runs in small_windows)
    assert all(runs[0][1] is None for runs in small_windows if len(runs) == 2)


def first_page(env, text: str) -> list[str]:
    store, catalog, principal, project_id = env
    query = QueryOptions(query=text.format(pid=project_id))
    return [orjson.loads(r)["id"] for r in run_query(store, catalog, principal, query).rows]


def test_a_query_whose_first_window_came_up_short_runs_at_once_next_time(env, small_windows):
    """A selective filter pays for its first window only once (for WindowOutcomes.ttl): the
    same page then runs over the whole relation in one query, with the same rows; a filter
    that fills its first window keeps running in windows."""
    rows = stored(env)
    by_key = sorted(rows, key=lambda r: r[1], reverse=True)
    # Rows of the first write only: never in the first (newest) window, however the
    # transactions' ids are spaced (a slow first write leaves a gap below the others).
    rare = (
        "select: id | from: project_logs('{pid}')"
        " | filter: output.text ILIKE '%rare%' AND output.n < 40 | limit: 5"
    )
    common = (
        "select: id | from: project_logs('{pid}') | filter: metadata.kind = 'common' | limit: 5"
    )
    first_write = {f"row-{i:04d}" for i in range(40)}
    expected_rare = [r[0] for r in by_key if r[4] == "a rare word" and r[0] in first_write]
    assert len(expected_rare) == 2
    expected_common = [r[0] for r in by_key if r[3] == "common"][:5]

    assert first_page(env, rare) == expected_rare
    assert len(small_windows) == 1 and len(small_windows[0]) == 2  # short, then the rest
    assert first_page(env, rare) == expected_rare
    assert len(small_windows) == 1  # at once: no windows

    assert first_page(env, common) == expected_common
    assert first_page(env, common) == expected_common
    assert [len(runs) for runs in small_windows[1:]] == [1, 1]  # the first window filled it

    queries.WINDOW_OUTCOMES.ttl = 0  # the outcome expired: windows again
    assert first_page(env, rare) == expected_rare
    assert len(small_windows) == 4


@pytest.mark.parametrize("direction", ["desc", "asc"])
def test_pages_sorted_by_created_match_the_whole_relation(env, small_windows, direction):
    rows = stored(env)
    store, catalog, principal, project_id = env
    kinds = {
        "common": [r for r in rows if r[3] == "common"],
        "rare": [r for r in rows if r[4] == "a rare word"],
    }
    for kind, keep in kinds.items():
        created = sorted({r[2] for r in keep}, reverse=direction == "desc")
        condition = "metadata.kind = 'common'" if kind == "common" else "output.text ILIKE '%rare%'"
        for limit in (7, 30):
            text = (
                f"select: id, created | from: project_logs('{project_id}') | filter: {condition}"
                f" | sort: created {direction} | limit: {limit}"
            )
            result = run_query(store, catalog, principal, QueryOptions(query=text))
            got = [orjson.loads(r) for r in result.rows]
            assert len(got) == min(limit, len(keep))
            # Ties in created may come in any order: compare the created values, and that
            # the ids are rows with those values.
            expected_created = []
            for value in created:
                expected_created += [value] * sum(1 for r in keep if r[2] == value)
            got_created = [dt.datetime.fromisoformat(g["created"]) for g in got]
            assert got_created == expected_created[:limit], (kind, limit)
            by_id = {r[0]: r[2] for r in keep}
            assert all(by_id[g["id"]] == c for g, c in zip(got, got_created, strict=True))
    assert any(len(runs) == 2 for runs in small_windows)


def test_only_plain_newest_first_pages_run_in_windows(env):
    _, catalog, principal, project_id = env
    logs = f"project_logs('{project_id}')"

    def windowed(text: str) -> bool:
        return "$window_lo" in explain_query(catalog, principal, QueryOptions(query=text))["sql"]

    assert windowed(f"select: id | from: {logs} | limit: 10")
    assert windowed(f"select: * | from: {logs} | filter: metadata.kind = 'x' | sort: created desc")
    assert windowed(f"select: id | from: {logs} | sort: _pagination_key asc")
    # Another sort key, an output column named like the field, aggregates, sampling, traces.
    assert not windowed(f"select: id | from: {logs} | sort: id desc")
    assert not windowed(f"select: id as created | from: {logs} | sort: created desc")
    assert not windowed(f"select: id | from: {logs} | sort: created desc, id")
    assert not windowed(f"dimensions: metadata.kind | measures: count(1) | from: {logs}")
    assert not windowed(f"select: id | from: {logs} | sample: 10%")
    assert not windowed(f"select: id | from: project_logs('{project_id}') traces | limit: 2")


SORTS = ["", " | sort: created desc", " | sort: created asc", " | sort: _xact_id desc"]
SORTS += [" | sort: _pagination_key asc", " | sort: _pagination_key desc"]
FILTERS = ["", " | filter: metadata.kind = 'common'", " | filter: metadata.kind = 'other'"]
FILTERS += [" | filter: output.text ILIKE '%rare%'", " | filter: output.n < 30"]
FILTERS += [" | filter: output.n >= 590 OR output.n < 3", " | filter: metadata.kind = 'none'"]


def _page(env, text: str) -> list[tuple[str, str, str]]:
    store, catalog, principal, _ = env
    result = run_query(store, catalog, principal, QueryOptions(query=text))
    return [(r["id"], r["created"], r["_xact_id"]) for r in map(orjson.loads, result.rows)]


@settings(max_examples=60, deadline=None)
@given(
    sort=st.sampled_from(SORTS),
    where=st.sampled_from(FILTERS),
    limit=st.integers(min_value=1, max_value=120),
)
def test_windowed_pages_equal_unwindowed_ones(env, sort, where, limit):
    """Any page, in windows of a few rows or in one query, holds the same rows in the same
    order. Rows tied on the sort key (created, or _xact_id: one per write) may come in
    either order, and a tie at the end of the page may be broken either way."""
    text = (
        f"select: id, created, _xact_id | from: project_logs('{env[3]}'){where}{sort}"
        f" | limit: {limit}"
    )
    saved = windows.FIRST_MIN, windows.FIRST_PER_ROW, windows.SMALL_FACTOR
    try:
        windows.FIRST_MIN, windows.FIRST_PER_ROW, windows.SMALL_FACTOR = 12, 1, 1
        small = _page(env, text)
        windows.FIRST_MIN = 10**9  # one window holds everything: one query
        whole = _page(env, text)
    finally:
        windows.FIRST_MIN, windows.FIRST_PER_ROW, windows.SMALL_FACTOR = saved
    if "created" in sort or "_xact_id" in sort:
        key = 1 if "created" in sort else 2
        assert [r[key] for r in small] == [r[key] for r in whole]
        last = whole[-1][key] if whole else None
        assert sorted(r for r in small if r[key] != last) == sorted(
            r for r in whole if r[key] != last
        )
    else:
        assert small == whole  # _pagination_key is unique: no ties


def test_sorted_pages_break_ties_the_same_way_every_time(env):
    """With a sort, rows tied on it come in _pagination_key order: following offset cursors
    gives every row exactly once, in one order."""
    rows = stored(env)
    expected = [r[0] for r in sorted(rows, key=lambda r: (r[2], r[1]), reverse=True)]
    got = pages(env, "select: id | from: project_logs('{pid}') | sort: created desc | limit: 7")
    assert [i for page in got for i in page] == expected


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_windowed_pages_keep_the_place_of_rows_written_again(tmp_path, small_windows, fmt):
    """Later pages run in windows below the cursor; rows written again since the first page
    are merged in at their place as of then (each comes once, as it is now)."""
    store = Store(tmp_path / "data")
    try:
        catalog = Catalog(store)
        bootstrap(catalog, "org", "tl-windows-moved-key-0123456789")
        org = catalog.list_orgs()[0]
        principal = Principal(org["id"], org["name"], "admin", "test")
        project_id = catalog.create_project(org["id"], "moved")["id"]
        row = {"project_id": project_id, "log_id": "g"}
        for start in range(0, 200, 20):
            batch = [row | {"id": f"row-{i:03d}", "output": i} for i in range(start, start + 20)]
            store.write(prepare_batch(catalog, principal, batch))
        query = f"select: id, output | from: project_logs('{project_id}') | limit: 15"
        seen: dict[str, object] = {}
        cursor, written, again = None, 0, []
        while True:
            options = QueryOptions(query=query + (f" | cursor: '{cursor}'" if cursor else ""))
            if fmt == "jsonl":
                options = QueryOptions(query=options.query, fmt="jsonl")
            result = run_query(store, catalog, principal, options)
            lines = result.rows if fmt == "json" else bytes(result.body).splitlines()
            for line in lines:
                value = orjson.loads(line)
                assert value["id"] not in seen
                seen[value["id"]] = value["output"]
            cursor = result.cursor
            if cursor is None:
                break
            # one of the oldest rows (not seen yet, until the last pages), and a new row
            if f"row-{written:03d}" not in seen:
                again.append(f"row-{written:03d}")
            batch = [row | {"id": f"row-{written:03d}", "_is_merge": True, "output": "again"}]
            batch.append(row | {"id": f"new-{written}", "output": "new"})
            store.write(prepare_batch(catalog, principal, batch))
            written += 1
        assert sorted(seen) == [f"row-{i:03d}" for i in range(200)]
        assert len(again) > 5 and all(seen[r] == "again" for r in again)
        assert any(len(runs) > 1 for runs in small_windows)  # later pages ran in windows
    finally:
        store.close()
