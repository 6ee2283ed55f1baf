"""MATCH through the tantivy side index: the same answers as a scan, and never stale."""

from __future__ import annotations

import shutil
import threading
import time

import orjson
import pytest

from tracelake.errors import InvalidRequest
from tracelake.export.queries import QueryOptions, explain_query, run_query
from tracelake.search.index import TEXT_FIELDS, TextIndex, object_key, row_key
from tracelake.store.catalog import Catalog, Principal, bootstrap
from tracelake.store.events import prepare_batch
from tracelake.store.indexing import Indexer
from tracelake.store.store import Store


@pytest.fixture
def env(tmp_path):
    store = Store(tmp_path / "data")
    catalog = Catalog(store)
    bootstrap(catalog, "org", "tl-search-test-key-0123456789")
    org = catalog.list_orgs()[0]
    principal = Principal(org["id"], org["name"], "admin", "test")
    project = catalog.create_project(org["id"], "search")
    index = TextIndex(tmp_path / "data" / "search")
    yield store, catalog, principal, project["id"], index
    store.close()


def write(env, rows):
    store, catalog, principal, project_id, _ = env
    full = [{"project_id": project_id, "log_id": "g", **row} for row in rows]
    store.write(prepare_batch(catalog, principal, full))


def ids(env, query, use_index=True):
    store, catalog, principal, project_id, index = env
    text = f"select: id | from: project_logs('{project_id}') | filter: {query} | sort: id asc"
    result = run_query(
        store, catalog, principal, QueryOptions(query=text), index=index if use_index else None
    )
    return [orjson.loads(r)["id"] for r in result.rows]


def test_index_answers_like_a_scan_and_stays_fresh(env):
    store, catalog, principal, project_id, index = env
    write(
        env,
        [
            {"id": "a", "input": "Explain the concept of recursion", "metadata": {"topic": "cs"}},
            {"id": "b", "input": {"q": "What is value-added tax?"}, "output": "a tax"},
            {"id": "c", "input": "apples and pears", "metadata": {"recursion": "key only"}},
            {"id": "d", "output": {"text": "RECURSION again"}},
        ],
    )
    Indexer(store, index).run_once()
    assert index.watermark == store.clock.last

    for query in (
        "input MATCH 'recursion'",
        "search('recursion')",
        "input MATCH 'value'",
        "output MATCH 'recursion again'",
        "input MATCH 'app'",
    ):
        assert ids(env, query) == ids(env, query, use_index=False), query
    assert ids(env, "search('recursion')") == ["a", "d"]  # object keys are not text
    assert ids(env, "input MATCH 'value'") == ["b"]
    assert ids(env, "input MATCH 'app'") == []

    plan = explain_query(
        catalog,
        principal,
        QueryOptions(
            query=f"select: id | from: project_logs('{project_id}') | filter: input MATCH 'pears'"
        ),
        index,
    )
    assert "'c'" in plan["sql"]  # the candidate list came from the index

    # Written after the index's watermark: found by the scan part, not missed.
    write(env, [{"id": "e", "input": "recursion, fresh"}])
    # Replaced: the index still holds the old words, the row must follow its new text.
    write(env, [{"id": "a", "input": "nothing to see"}, {"id": "f", "input": "pears too"}])
    write(env, [{"id": "c", "_object_delete": True}])
    assert ids(env, "input MATCH 'recursion'") == ["e"]
    assert ids(env, "input MATCH 'pears'") == ["f"]

    Indexer(store, index).run_once()
    assert ids(env, "input MATCH 'recursion'") == ["e"]
    assert ids(env, "input MATCH 'pears'") == ["f"]
    # One document per live row: the replaced rows' old documents and the deleted row's
    # are gone, not only filtered out by the engine.
    assert index.index.searcher().num_docs == 5  # a, b, d, e, f
    objects = [("project_logs", project_id)]
    assert sorted(i for i, _ in index.candidates(objects, ["recursion"])) == ["d", "e"]


def test_the_watermark_survives_a_restart(env, tmp_path):
    store, *_, index = env
    write(env, [{"id": "x", "input": "persistent words"}])
    Indexer(store, index).run_once()
    again = TextIndex(tmp_path / "data" / "search")
    assert again.watermark == index.watermark
    found = again.candidates([("project_logs", env[3])], ["persistent"])
    assert [row_id for row_id, _xact in found] == ["x"]


def test_the_watermark_file_is_replaced_whole(env, tmp_path):
    """The numbers go to a new file moved over the old one: a crash while writing leaves the
    old file whole (a file cut short read as a far lower watermark), and a new file a crash
    left behind is not read."""
    store, *_, index = env
    folder = tmp_path / "data" / "search"
    write(env, [{"id": "x", "input": "first words"}])
    Indexer(store, index).run_once()
    first = (folder / "watermark").read_text()
    assert first == f"{index.watermark} {index.absorbed}"
    (folder / "watermark.partial").write_text("17")  # as a crash mid-write leaves it
    assert TextIndex(folder).watermark == index.watermark
    write(env, [{"id": "y", "input": "second words"}])
    Indexer(store, index).run_once()
    assert (folder / "watermark").read_text() == f"{index.watermark} {index.absorbed}" != first
    assert not (folder / "watermark.partial").exists()


def test_a_watermark_past_the_newest_stored_write_is_taken_back_on_start(tmp_path):
    """A request that fails takes an xact and leaves no row; the index takes its watermark
    up to it. After a restart the clock resumes from the newest stored xact and may hand
    that one out again (a restart within the same second, or a clock set back): the row
    written with it was never indexed, nor scanned, as the index claimed it, so MATCH missed
    it for good while freshness_state said the answer was complete."""
    folder = tmp_path / "data"
    store = Store(folder)
    catalog = Catalog(store)
    bootstrap(catalog, "org", "tl-search-test-key-0123456789")
    org = catalog.list_orgs()[0]
    principal = Principal(org["id"], org["name"], "admin", "test")
    project_id = catalog.create_project(org["id"], "search")["id"]
    rows = [{"project_id": project_id, "log_id": "g", "id": "a", "input": "apple"}]
    store.write(prepare_batch(catalog, principal, rows))
    failed = [{"project_id": project_id, "log_id": "g", "id": "x", "_parent_id": "missing"}]
    with pytest.raises(InvalidRequest):
        store.write(prepare_batch(catalog, principal, failed))
    index = TextIndex(folder / "search")
    Indexer(store, index).run_once()
    assert index.watermark == store.clock.last  # the failed write's xact
    store.close()
    del index

    store = Store(folder)
    try:
        index = TextIndex(folder / "search")
        indexer = Indexer(store, index)
        indexer.start()
        indexer.stop()
        # Every xact the clock may hand out from now on is past the watermark.
        assert index.watermark <= store.clock.last
        assert TextIndex(folder / "search").watermark == index.watermark  # (recorded)
        env = (store, Catalog(store), principal, project_id, index)
        write(env, [{"id": "k", "input": "kiwi"}])
        assert ids(env, "input MATCH 'kiwi'") == ["k"]
        Indexer(store, index).run_once()
        assert ids(env, "input MATCH 'kiwi'") == ["k"]
        assert ids(env, "input MATCH 'apple'") == ["a"]
    finally:
        store.close()


def test_rows_the_watermark_claims_but_the_index_never_took_are_indexed_on_start(env, tmp_path):
    """What a server without the check above left behind: a row written with an xact the
    watermark had already passed (that of a failed request, handed out again), below the
    newest stored write, so the watermark is not past it; the watermark file records it
    (the watermark) and the newest row absorbed before it. The indexer takes the index back
    to that row on start, and MATCH finds the row (it found none, for good)."""
    store = env[0]
    folder = tmp_path / "claimed"
    first = TextIndex(folder)
    write(env, [{"id": "a", "input": "apple"}])
    Indexer(store, first).run_once()
    absorbed = first.watermark
    del first
    write(env, [{"id": "k", "input": "kiwi"}])
    (folder / "watermark").write_text(f"{store.clock.last} {absorbed}")
    again = TextIndex(folder)
    indexer = Indexer(store, again)
    indexer.start()  # (its thread takes the row before it stops)
    indexer.stop()
    Indexer(store, again).run_once()
    assert again.watermark == store.clock.last
    assert ids((*env[:4], again), "input MATCH 'kiwi'") == ["k"]
    assert ids((*env[:4], again), "search('apple')") == ["a"]


@pytest.mark.parametrize("damage", ["meta", "segment", "no meta", "index files"])
def test_a_damaged_index_folder_is_rebuilt(env, tmp_path, damage):
    """The index is a cache of the database: a folder with a bad meta.json or a segment
    file cut short is started over (the server failed to start, with tantivy's error). So
    is one whose meta.json, or every index file, was deleted while the server was stopped:
    tantivy opened it as a new empty index under the old watermark, and MATCH found no row
    for good while freshness_state said the answer was complete."""
    store, catalog, principal, project_id, _ = env
    folder = tmp_path / "damaged"
    first = TextIndex(folder)
    write(env, [{"id": "x", "input": "sturdy words"}, {"id": "y", "input": "other"}])
    Indexer(store, first).run_once()
    first.index.reload()
    del first
    if damage == "meta":
        (folder / "meta.json").write_text("garbage")
    elif damage == "no meta":
        (folder / "meta.json").unlink()
    elif damage == "index files":
        for path in folder.iterdir():
            if path.name not in ("layout", "watermark"):
                path.unlink()
    else:
        segment = sorted(folder.glob("*.term"))[0]
        segment.write_bytes(segment.read_bytes()[:20])

    again = TextIndex(folder)
    assert again.watermark == 0
    query = f"select: id | from: project_logs('{project_id}') | filter: input MATCH 'sturdy'"
    run = lambda: [  # noqa: E731
        orjson.loads(r)["id"]
        for r in run_query(store, catalog, principal, QueryOptions(query=query), index=again).rows
    ]
    assert run() == ["x"]  # scanned meanwhile
    Indexer(store, again).run_once()
    assert again.watermark == store.clock.last
    assert run() == ["x"]
    assert [i for i, _ in again.candidates([("project_logs", project_id)], ["sturdy"])] == ["x"]


def test_an_index_newer_than_its_database_is_rebuilt(tmp_path):
    """A database put back from a copy older than the index (the index holds words of
    rows it does not have) is detected on start: MATCH found a row by the words of a
    version the database no longer holds, and missed it by the words it holds."""
    folder = tmp_path / "data"

    def opened():
        store = Store(folder)
        catalog = Catalog(store)
        org = catalog.list_orgs()[0]
        return store, catalog, Principal(org["id"], org["name"], "admin", "test")

    store = Store(folder)
    catalog = Catalog(store)
    bootstrap(catalog, "org", "tl-search-test-key-0123456789")
    org = catalog.list_orgs()[0]
    project_id = catalog.create_project(org["id"], "search")["id"]
    principal = Principal(org["id"], org["name"], "admin", "test")
    store.write(
        prepare_batch(
            catalog,
            principal,
            [{"project_id": project_id, "log_id": "g", "id": "a", "input": "old"}],
        )
    )
    store.close()
    copy = tmp_path / "copy"
    copy.mkdir()
    for path in folder.glob("tracelake.duckdb*"):
        (copy / path.name).write_bytes(path.read_bytes())

    store, catalog, principal = opened()
    store.write(
        prepare_batch(
            catalog,
            principal,
            [{"project_id": project_id, "log_id": "g", "id": "a", "input": "new"}],
        )
    )
    index = TextIndex(folder / "search")
    Indexer(store, index).run_once()
    assert index.watermark == store.clock.last
    store.close()
    del index

    for path in folder.glob("tracelake.duckdb*"):
        path.unlink()
    for path in copy.iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    store, catalog, principal = opened()
    try:
        index = TextIndex(folder / "search")
        indexer = Indexer(store, index)
        indexer.start()
        indexer.stop()

        def found(word):
            query = (
                f"select: id | from: project_logs('{project_id}') | filter: input MATCH '{word}'"
            )
            result = run_query(store, catalog, principal, QueryOptions(query=query), index=index)
            return [orjson.loads(r)["id"] for r in result.rows]

        assert found("old") == ["a"]
        assert found("new") == []
        Indexer(store, index).run_once()
        assert index.watermark == store.clock.last
        assert found("old") == ["a"]
        assert found("new") == []
    finally:
        store.close()


def test_the_watermark_never_runs_ahead_of_the_searchers(tmp_path):
    """A query reads the watermark, then asks the index: every row up to the watermark must
    be found. The watermark was published before the searchers were reloaded, so a query
    in between missed the rows just indexed (and took them as indexed: never scanned)."""
    index = TextIndex(tmp_path / "search")
    objects = [("project_logs", "p")]
    misses: list[tuple[int, int]] = []
    done = threading.Event()

    def query() -> None:
        while not done.is_set():
            watermark = index.watermark
            found = index.candidates(objects, ["word"], limit=1_000) or []
            if len(found) < watermark:
                misses.append((watermark, len(found)))

    reader = threading.Thread(target=query)
    reader.start()
    try:
        for xact in range(1, 101):
            key = row_key("project_logs", "p", f"r{xact}")
            fields = {name: "" for name in TEXT_FIELDS} | {"input": "word"}
            document = {"key": key, "object": object_key("project_logs", "p"), "xact": xact}
            index.apply([(key, orjson.dumps(document | fields | {"long": []}).decode())], [], xact)
    finally:
        done.set()
        reader.join()
    assert misses == []


def test_an_index_folder_deleted_while_running_is_rebuilt(env):
    """Deleting the index folder under a running server (to have it rebuilt) left every
    later commit failing (tantivy's 'Failed to open file for write', logged every 5 s) and
    the watermark stuck, so MATCH scanned more and more; the indexer now starts over."""
    store, catalog, principal, project_id, index = env
    write(env, [{"id": "a", "input": "kept words"}])
    Indexer(store, index).run_once()
    shutil.rmtree(index.path)
    write(env, [{"id": "b", "input": "more kept words"}])
    assert ids(env, "input MATCH 'kept'") == ["a", "b"]
    Indexer(store, index).run_once()
    assert index.watermark == store.clock.last
    assert (index.path / "meta.json").exists()
    assert ids(env, "input MATCH 'kept'") == ["a", "b"]
    objects = [("project_logs", project_id)]
    assert sorted(i for i, _ in index.candidates(objects, ["kept"])) == ["a", "b"]


def test_a_query_past_its_timeout_is_stopped(env):
    from tracelake.errors import QueryTimeout

    store, catalog, principal, project_id, _ = env
    for start in range(0, 60_000, 20_000):
        write(
            env, [{"id": f"r{i}", "input": f"text {i} " * 30} for i in range(start, start + 20_000)]
        )
    slow = (
        f"dimensions: input | measures: count(1) as n | from: project_logs('{project_id}')"
        " | filter: search('text') and input ILIKE '%text%' | limit: 100000"
    )
    started = time.perf_counter()
    with pytest.raises(QueryTimeout, match="longer than"):
        run_query(store, catalog, principal, QueryOptions(query=slow), timeout=0.05)
    assert time.perf_counter() - started < 5
    # A newest-first page runs in windows inside a transaction: stopped the same way.
    windowed = (
        f"select: * | from: project_logs('{project_id}')"
        " | filter: to_string(input) MATCH 'none' | limit: 100000"
    )
    assert "$window_lo" in explain_query(catalog, principal, QueryOptions(query=windowed))["sql"]
    with pytest.raises(QueryTimeout, match="longer than"):
        run_query(store, catalog, principal, QueryOptions(query=windowed), timeout=0.01)


def test_audit_log_adds_each_rows_audit_trail(env):
    store, catalog, principal, project_id, _ = env
    write(env, [{"id": "a", "input": 1}])
    write(
        env,
        [
            {
                "id": "a",
                "_is_merge": True,
                "scores": {"s": 1},
                "_audit_source": "app",
                "_audit_metadata": {"user": "u1"},
            }
        ],
    )
    text = f"select: id, audit_data | from: project_logs('{project_id}')"
    result = run_query(store, catalog, principal, QueryOptions(query=text, audit_log=True))
    (row,) = [orjson.loads(r) for r in result.rows]
    (entry,) = row["audit_data"]
    assert entry["source"] == "app" and entry["metadata"] == {"user": "u1"}
    assert entry["action"] == "merge" and len(entry["_xact_id"]) == 19
    plain = run_query(
        store,
        catalog,
        principal,
        QueryOptions(query=f"select: * | from: project_logs('{project_id}')"),
    )
    assert "audit_data" not in orjson.loads(plain.rows[0])


def newest_ids(env, query, use_index=True, limit=5, cursor=None):
    """Ids of a newest-first page (no sort clause), as the logs view asks."""
    store, catalog, principal, project_id, index = env
    text = f"select: id | from: project_logs('{project_id}') | filter: {query} | limit: {limit}"
    if cursor:
        text += f" | cursor: '{cursor}'"
    result = run_query(
        store, catalog, principal, QueryOptions(query=text), index=index if use_index else None
    )
    return [orjson.loads(r)["id"] for r in result.rows], result.cursor


def test_newest_first_pages_read_only_the_newest_candidates(env):
    store, catalog, principal, project_id, index = env
    # 60 writes of 10 rows; every row says "lantern", every third "rare" too, numbered.
    for w in range(60):
        write(
            env,
            [
                {
                    "id": f"w{w:02d}r{r}",
                    "input": "lantern " + ("rare " if (w * 10 + r) % 3 == 0 else "") + f"n{r}",
                    "metadata": {"w": w},
                }
                for r in range(10)
            ],
        )
    Indexer(store, index).run_once()
    queries = [
        "input MATCH 'lantern'",  # the newest 13 candidates fill the page: bounded
        "input MATCH 'lantern' AND metadata.w < 3",  # the bounded page comes up short: retry
        "input MATCH 'rare' OR input MATCH 'lantern'",  # two word sets: never bounded
        "NOT input MATCH 'rare'",  # under NOT: never bounded
        "search('lantern') AND input MATCH 'rare'",
        "(input MATCH 'lantern') = false",
        # The index narrows a LIKE only where its truth alone matters, not under NOT:
        # the MATCH is bounded.
        "input MATCH 'lantern' AND NOT input ILIKE '%n1%'",
        # Under OR it is narrowed too: two lookups, never bounded.
        "input MATCH 'lantern' AND (input ILIKE '%rare%' OR metadata.w = 1)",
    ]
    for query in queries:
        assert newest_ids(env, query) == newest_ids(env, query, use_index=False), query
    # Following cursors gives the same pages with and without the index.
    pages = {True: [], False: []}
    for use_index in (True, False):
        cursor = None
        for _ in range(4):
            page, cursor = newest_ids(env, "input MATCH 'lantern'", use_index, 7, cursor)
            pages[use_index].append(page)
    assert pages[True] == pages[False] and len(set(sum(pages[True], []))) == 28
    plan = explain_query(
        catalog,
        principal,
        QueryOptions(
            query=f"select: id | from: project_logs('{project_id}') "
            "| filter: input MATCH 'lantern' | limit: 5"
        ),
        index,
    )
    assert "_xact_id >" in plan["sql"].replace("e._xact_id > 0", "")  # the bound is in the SQL
    for condition, bounded in (
        ("input MATCH 'lantern' AND NOT input ILIKE '%n1%'", True),
        ("input MATCH 'lantern' AND (input ILIKE '%rare%' OR metadata.w = 1)", False),
    ):
        text = f"select: id | from: project_logs('{project_id}') | filter: {condition} | limit: 5"
        sql = explain_query(catalog, principal, QueryOptions(query=text), index)["sql"]
        assert ("_xact_id >" in sql.replace("e._xact_id > 0", "")) == bounded, condition


def test_a_match_under_or_is_never_bounded(env):
    """Under OR the other side may fill the page with rows older than the bound while
    matching rows between them were left out: the page must be the scan's."""
    store, _catalog, _principal, _project_id, index = env
    write(env, [{"id": f"a{i}", "input": "old", "metadata": {"flag": 1}} for i in range(5)])
    write(env, [{"id": f"b{i}", "input": "lantern"} for i in range(10)])  # one transaction
    write(env, [{"id": "c", "input": "lantern"}])
    Indexer(store, index).run_once()
    for query in (
        "input MATCH 'lantern' OR metadata.flag = 1",
        "metadata.flag = 1 OR search('lantern')",
        "id != 'x' AND (input MATCH 'lantern' OR metadata.flag = 1)",
    ):
        found, _ = newest_ids(env, query)
        assert found == ["c", "b9", "b8", "b7", "b6"], query
        assert found == newest_ids(env, query, use_index=False)[0], query


def test_match_on_fields_the_index_does_not_hold_scans(env):
    """The index holds the words of input, output, expected, metadata and span_attributes
    (values, not keys). A MATCH on another field, on a function of a field, or on an output
    alias of another field must not be narrowed by it: its candidates would miss rows."""
    store, catalog, principal, project_id, index = env
    write(
        env,
        [
            {"id": "a", "input": "x", "error": "timeout happened", "tags": ["alpha"]},
            {"id": "b", "input": {"timeout": 1}, "output": "a timeout"},
            {"id": "c", "input": "timeout", "context": {"note": "alpha"}},
        ],
    )
    Indexer(store, index).run_once()
    for query in (
        "error MATCH 'timeout'",
        "tags MATCH 'alpha'",
        "context MATCH 'alpha'",
        "to_string(input) MATCH 'timeout'",  # keys are text once the JSON is a string
        "input MATCH 'timeout'",
        "output MATCH 'timeout'",
        "input.timeout MATCH 'timeout'",
        "search('timeout')",
    ):
        assert ids(env, query) == ids(env, query, use_index=False), query
    assert ids(env, "error MATCH 'timeout'") == ["a"]
    assert ids(env, "to_string(input) MATCH 'timeout'") == ["b", "c"]
    # A MATCH on one field asks the index for that field's words only.
    plan = explain_query(
        catalog,
        principal,
        QueryOptions(
            query=f"select: id | from: project_logs('{project_id}') "
            "| filter: input MATCH 'timeout' | sort: id"
        ),
        index,
    )
    assert "'c'" in plan["sql"] and "'b'" not in plan["sql"]


def test_candidates_are_read_by_id_when_every_row_must_match(env):
    """Once the index holds every write, a MATCH that every row must pass reads its
    candidates through live's index on id (not a scan); the same id in another project
    and rows that no longer say the word stay out, and OR/NOT keep scanning."""
    store, catalog, principal, project_id, index = env
    other = catalog.create_project(principal.org_id, "other")["id"]
    write(
        env,
        [
            {"id": "a", "input": "quartz lamp", "metadata": {"n": 1}},
            {"id": "b", "input": "quartz", "metadata": {"n": 2}},
            {"id": "c", "input": "granite"},
        ],
    )
    store.write(
        prepare_batch(
            catalog,
            principal,
            [{"project_id": other, "log_id": "g", "id": "a", "input": "quartz elsewhere"}],
        )
    )
    Indexer(store, index).run_once()

    def plan_of(condition: str) -> str:
        text = f"select: id | from: project_logs('{project_id}') | filter: {condition}"
        return explain_query(catalog, principal, QueryOptions(query=text), index)["sql"]

    for condition in ("input MATCH 'quartz'", "input MATCH 'quartz' AND metadata.n > 1"):
        assert "FROM live WHERE id IN (" in plan_of(condition), condition
    for condition in ("input MATCH 'quartz' OR metadata.n > 1", "NOT input MATCH 'quartz'"):
        assert "FROM live WHERE id IN (" not in plan_of(condition), condition
    queries = (
        "input MATCH 'quartz'",
        "input MATCH 'quartz' AND metadata.n > 1",
        "input MATCH 'quartz' OR metadata.n > 1",
        "NOT input MATCH 'quartz'",
        "input MATCH 'basalt'",
    )
    for query in queries:
        assert ids(env, query) == ids(env, query, use_index=False), query
    assert ids(env, "input MATCH 'quartz'") == ["a", "b"]
    assert newest_ids(env, "input MATCH 'quartz'")[0] == ["b", "a"]

    # Rewritten after indexing: the index is behind, so the plan scans the newer rows.
    write(env, [{"id": "b", "input": "no longer"}])
    assert ids(env, "input MATCH 'quartz'") == ["a"]
    Indexer(store, index).run_once()
    assert "FROM live WHERE id IN (" in plan_of("input MATCH 'quartz'")
    assert ids(env, "input MATCH 'quartz'") == ["a"]
    assert ids(env, "input MATCH 'basalt'") == []


def test_a_complete_index_answers_whole_field_matches_without_the_word_check(env):
    """Once the index holds every write, a MATCH of ASCII words on a whole field of one
    object is the index's candidate list alone: the same rows as a scan, without the
    Unicode word pattern DuckDB compiles on every query. A path, a non-ASCII word or
    several objects keep the check."""
    store, catalog, principal, project_id, index = env
    long_word = "x" * 40  # tantivy's default tokenizer drops it; the index keeps it
    write(
        env,
        [
            {"id": "a", "input": "Invoice #42 is due"},
            {"id": "b", "input": {"q": "invoice_total", "n": 3}},
            {"id": "c", "input": "invoices are plural", "output": "an invoice"},
            {"id": "d", "input": {"invoice": "keys are not text"}},
            {"id": "e", "input": "naïve INVOICE", "metadata": {"word": long_word}},
            {"id": "f", "input": "in\u0301voice and Ⅻ", "expected": "invoice"},
        ],
    )
    Indexer(store, index).run_once()

    def plan_of(condition: str, source: str = f"'{project_id}'") -> str:
        text = f"select: id | from: project_logs({source}) | filter: {condition}"
        return explain_query(catalog, principal, QueryOptions(query=text), index)["sql"]

    def checks_words(sql: str) -> bool:
        return "STRING_SPLIT_REGEX" in sql.upper()

    assert not checks_words(plan_of("input MATCH 'invoice'"))
    assert not checks_words(plan_of("search('invoice due')"))
    assert not checks_words(plan_of("NOT input MATCH 'invoice' OR output MATCH 'invoice'"))
    assert checks_words(plan_of("input.q MATCH 'invoice'"))  # a path: the field has more
    assert checks_words(plan_of("input MATCH 'naïve'"))
    other = catalog.create_project(principal.org_id, "other")["id"]
    assert checks_words(plan_of("input MATCH 'invoice'", f"'{project_id}', '{other}'"))
    queries = (
        "input MATCH 'invoice'",
        "input MATCH 'INVOICE 42'",
        "input MATCH 'total'",
        "input MATCH 'voice'",
        "NOT input MATCH 'invoice'",
        "input MATCH 'invoice' OR output MATCH 'invoice'",
        "search('invoice')",
        "NOT search('invoice')",
        "input.q MATCH 'invoice'",
        "input MATCH 'naïve'",
        f"metadata MATCH '{long_word}'",
    )
    for query in queries:
        assert ids(env, query) == ids(env, query, use_index=False), query
    assert ids(env, "input MATCH 'invoice'") == ["a", "b", "e"]
    assert ids(env, "search('invoice')") == ["a", "b", "c", "e", "f"]
    assert ids(env, f"metadata MATCH '{long_word}'") == ["e"]


def test_like_is_narrowed_by_the_words_holding_its_fragments(env):
    """A LIKE / ILIKE on a string under an indexed field asks the index for the rows
    whose words hold the pattern's ASCII fragments, then checks them: the same rows as a
    scan, with case folds DuckDB makes (İ, the Kelvin sign), words past tantivy's default
    40-byte limit, fields too long to index every word, and values that are not strings."""
    store, catalog, principal, project_id, index = env
    write(
        env,
        [
            {"id": "a", "output": {"content": "Customer asked about a Chargeback dispute"}},
            {"id": "b", "output": {"content": "no match here", "note": "chargeback"}},
            {"id": "c", "output": {"content": "İNVOICE pending"}},
            {"id": "d", "output": {"content": "\u212aey question"}},
            {"id": "e", "output": {"content": "x" * 45 + "chargeback"}},
            {"id": "f", "output": {"content": "z" * 45_000 + "chargeback"}},
            {"id": "g", "output": {"content": 12345}},
            {"id": "h", "output": "chargeback is the whole output"},
            {"id": "i", "input": {"q": "Our refund policy?"}},
            {"id": "k", "output": {"content": "line\nchargeback"}},
            {"id": "l", "metadata": {"model": "gpt-4o-mini"}},
        ],
    )
    Indexer(store, index).run_once()
    expected = {
        "output.content ILIKE '%chargeback%'": ["a", "e", "f", "k"],
        "output.content LIKE '%chargeback%'": ["e", "f", "k"],
        "output.content ILIKE '%charge_ack%'": ["a", "e", "f", "k"],
        "output.content ILIKE '%invoice%'": ["c"],
        "output.content ILIKE 'invoice%'": ["c"],
        "output.content ILIKE '%key%'": ["d"],
        "output ILIKE 'charge%'": ["h"],
        "output.content ILIKE 'charge%'": [],
        "output.content ILIKE '%back'": ["e", "f", "k"],
        "output.content LIKE '%234%'": [],
        "input.q LIKE '%refund policy%'": ["i"],
        "input.q ILIKE 'our%'": ["i"],
        "metadata.model LIKE 'gpt-4o%'": ["l"],
        "NOT output.content ILIKE '%chargeback%'": ["b", "c", "d"],  # a number is NULL
        # MATCH lower-cases İ to i as DuckDB does: so does the index.
        "output MATCH 'invoice'": ["c"],
        "search('invoice')": ["c"],
        "output.content ILIKE '%chargeback%' OR metadata.model LIKE 'gpt%'": [
            "a",
            "e",
            "f",
            "k",
            "l",
        ],
        "output.content ILIKE '%chargeback%' AND output.content ILIKE '%dispute'": ["a"],
    }
    for query, rows in expected.items():
        assert ids(env, query, use_index=False) == rows, query
        assert ids(env, query) == rows, query
        assert newest_ids(env, query, limit=2)[0] == newest_ids(env, query, False, 2)[0]

    def plan_of(condition: str) -> str:
        text = f"select: id | from: project_logs('{project_id}') | filter: {condition}"
        return explain_query(catalog, principal, QueryOptions(query=text), index)["sql"]

    # The candidates are the rows whose output words hold the fragment, 'b' included
    # (its note), and 'f' (whose output is too long to hold every word).
    narrowed = plan_of("output.content ILIKE '%chargeback%'")
    assert all(f"'{i}'" in narrowed for i in "abefk") and "'c'" not in narrowed
    assert "'c'" not in plan_of("NOT output.content ILIKE '%chargeback%'")

    # Written after the index's watermark: found by the scan part; replaced: its new text.
    write(env, [{"id": "m", "output": {"content": "CHARGEBACK late"}}])
    write(env, [{"id": "a", "output": {"content": "settled"}}])
    assert ids(env, "output.content ILIKE '%chargeback%'") == ["e", "f", "k", "m"]
    Indexer(store, index).run_once()
    assert ids(env, "output.content ILIKE '%chargeback%'") == ["e", "f", "k", "m"]


def test_a_like_whose_fragment_many_rows_hold_scans(env, monkeypatch):
    """More candidates than LIKE_MOST (NEWEST_LIKE_MOST for a newest-first page): the LIKE
    scans, and the index is not asked again for a while (the regex walk costs as much each
    time)."""
    from tracelake.query import indexed

    store, catalog, principal, project_id, index = env
    write(env, [{"id": f"r{i}", "output": {"content": f"Lantern {i}"}} for i in range(6)])
    Indexer(store, index).run_once()
    monkeypatch.setattr(indexed, "LIKE_MOST", 3)
    monkeypatch.setattr(indexed, "NEWEST_LIKE_MOST", 3)
    query = "output.content ILIKE '%lantern%'"
    text = f"select: id | from: project_logs('{project_id}') | filter: {query} | limit: 2"
    plan = explain_query(catalog, principal, QueryOptions(query=text), index)["sql"]
    assert "'r5'" not in plan  # no candidate list: a scan
    assert len(index._crowded) == 1
    recorded = dict(index._crowded)
    assert newest_ids(env, query, limit=2)[0] == ["r5", "r4"]
    # Remembered as crowded: not searched again (a search would record it anew).
    assert index._crowded == recorded
    assert ids(env, query) == [f"r{i}" for i in range(6)]  # a whole list: asked once
    recorded = dict(index._crowded)
    assert len(recorded) == 2 and ids(env, query) == [f"r{i}" for i in range(6)]
    assert index._crowded == recorded


def test_a_bounded_page_that_came_up_short_is_not_run_first_again(env, monkeypatch):
    """The newest candidates did not fill the page (the rest of the filter is rare): the
    query runs again without the bound, and for a while it is planned without it at once."""
    from tracelake.export import queries

    store, _catalog, _principal, _project_id, index = env
    for w in range(30):
        write(
            env,
            [{"id": f"w{w:02d}r{r}", "input": "lantern", "metadata": {"w": w}} for r in range(3)],
        )
    Indexer(store, index).run_once()
    monkeypatch.setattr(queries, "SHORT_BOUNDS", queries.WindowOutcomes())
    executed = []
    execute = queries._execute

    def recording(cursor, store, plan, options, timeout):
        executed.append(plan.index_bounded)
        return execute(cursor, store, plan, options, timeout)

    monkeypatch.setattr(queries, "_execute", recording)
    query = "input MATCH 'lantern' AND metadata.w < 2"
    expected = ["w01r2", "w01r1", "w01r0", "w00r2", "w00r1"]
    assert newest_ids(env, query)[0] == expected
    assert executed == [True, False]  # bounded, came up short, run without the bound
    executed.clear()
    assert newest_ids(env, query)[0] == expected
    assert executed == [False]
    assert newest_ids(env, query, use_index=False)[0] == expected


def test_match_of_a_long_word_uses_the_index_below_its_word_limit(env):
    """Words up to 40,000 bytes are in the index (a hash, a long id): a MATCH of one reads
    the index's candidates; a longer word is not in it, and such a MATCH scans."""
    store, catalog, principal, project_id, index = env
    digest = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    huge = "q" * 45_000
    write(
        env,
        [
            {"id": "a", "input": f"sha256 {digest.upper()}"},
            {"id": "b", "input": {"hash": digest[:40]}},
            {"id": "c", "metadata": {"blob": huge}},
            {"id": "d", "metadata": {"blob": "q" * 44_999}},
        ],
    )
    Indexer(store, index).run_once()

    def plan_of(condition: str) -> str:
        text = f"select: id | from: project_logs('{project_id}') | filter: {condition}"
        return explain_query(catalog, principal, QueryOptions(query=text), index)["sql"]

    assert "'a'" in plan_of(f"input MATCH '{digest}'")  # the index's candidate list
    assert "'c'" not in plan_of(f"metadata MATCH '{huge}'")  # scanned
    expected = {
        f"input MATCH '{digest}'": ["a"],
        f"input MATCH '{digest[:40]}'": ["b"],
        f"search('{digest}')": ["a"],
        f"metadata MATCH '{huge}'": ["c"],
    }
    for query, rows in expected.items():
        assert ids(env, query) == rows, query[:60]
        assert ids(env, query, use_index=False) == rows, query[:60]


def test_a_restart_never_hands_out_an_xact_the_watermark_passed(tmp_path):
    """The watermark reaches the xact of a write that left no row (a failed request); the
    clock of the next start was seeded with the newest row's xact only, so within the same
    second (or with the clock set back) it handed that xact out again, and the rows written
    with it, at the watermark, were never indexed: MATCH missed them."""
    folder = tmp_path / "data"
    store = Store(folder)
    catalog = Catalog(store)
    bootstrap(catalog, "org", "tl-search-test-key-0123456789")
    org = catalog.list_orgs()[0]
    principal = Principal(org["id"], org["name"], "admin", "test")
    project_id = catalog.create_project(org["id"], "search")["id"]

    def write(rows):
        full = [{"project_id": project_id, "log_id": "g", **row} for row in rows]
        return store.write(prepare_batch(Catalog(store), principal, full))

    stored = write([{"id": "a", "input": "first"}])
    with pytest.raises(Exception, match="does not exist"):
        write([{"id": "b", "_parent_id": "missing", "input": "failed"}])
    store.exclusive(lambda c: None)  # the writer has settled the failed write's xact
    index = TextIndex(folder / "search")
    Indexer(store, index).run_once()
    assert index.watermark > stored  # the failed write's xact
    store.close()
    del index

    store = Store(folder)
    try:
        index = TextIndex(folder / "search")
        indexer = Indexer(store, index)
        indexer.start()
        indexer.stop()
        assert store.clock.last >= index.watermark
        assert write([{"id": "c", "input": "later"}]) > index.watermark
        Indexer(store, index).run_once()
        query = f"select: id | from: project_logs('{project_id}') | filter: input MATCH 'later'"
        options = QueryOptions(query=query)
        result = run_query(store, Catalog(store), principal, options, index=index)
        assert [orjson.loads(r)["id"] for r in result.rows] == ["c"]
        with pytest.raises(Exception, match="does not exist"):
            write([{"id": "d", "_parent_id": "missing", "input": "failed"}])
        store.exclusive(lambda c: None)
        Indexer(store, index).run_once()
        watermark = index.watermark
        assert watermark == store.clock.last
    finally:
        store.close()

    # The CLI's writes to the data dir (import, demo) come after it too.
    from tracelake.cli_backends import LocalBackend

    backend = LocalBackend(folder, api_key="tl-search-test-key-0123456789")
    try:
        assert backend.store.clock.last >= watermark
    finally:
        backend.close()


def test_a_commit_that_failed_does_not_empty_the_next_one(env):
    """A commit of the index that failed (a full disk; here a file size limit, as
    ``ulimit -f``) left the writer's next commit without the documents, yet the watermark
    passed them: once the disk had room again, MATCH missed every row of that chunk."""
    import resource

    store, catalog, principal, project_id, index = env
    write(env, [{"id": f"r{i}", "input": f"needle {i} {'x' * 100}{i}"} for i in range(2000)])
    indexer = Indexer(store, index)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (16 * 1024, hard))
    try:
        with pytest.raises(ValueError, match="File too large"):
            indexer.run_once()
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert index.watermark == 0
    indexer.run_once()
    assert index.watermark == store.clock.last
    assert len(index.candidates([("project_logs", project_id)], ["needle"])) == 2000
    assert ids(env, "input MATCH '1999'") == ["r1999"]


def test_an_index_the_disk_refuses_is_one_line_in_the_log(env, caplog):
    """Indexing on a full disk (here a file size limit) logged a traceback every 5 s."""
    import resource

    store, *_, index = env
    write(env, [{"id": f"r{i}", "input": f"needle {i} {'x' * 100}{i}"} for i in range(2000)])
    indexer = Indexer(store, index)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (16 * 1024, hard))
    try:
        with caplog.at_level("ERROR", logger="tracelake.store.indexing"):
            indexer.start()
            deadline = time.monotonic() + 30
            while not caplog.records and time.monotonic() < deadline:
                time.sleep(0.05)
            indexer.stop()
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    (record,) = caplog.records
    assert record.exc_info is None
    assert "cannot write the search index (File too large)" in record.getMessage()
