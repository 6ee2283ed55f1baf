"""Running a query and rendering its page: parse, resolve its sources in the caller's
organization, plan, execute with a timeout, and render the page in the requested format
with its cursor. It sits above the store (it reads through it) and beside the formats."""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import functools
import heapq
import itertools
import threading
import time
from dataclasses import dataclass, field

import duckdb

from tracelake.errors import QueryTimeout
from tracelake.export.custom_columns import apply_custom_columns
from tracelake.export.formats import (
    FORMATS,
    arrow_table,
    case_clash,
    describe,
    json_array_items,
    json_items_and_keys,
    json_rows,
    json_schema,
    write_jsonl,
)
from tracelake.query.ast import Query
from tracelake.query.errors import QueryError
from tracelake.query.indexed import IndexedCompiler, newest_first_page
from tracelake.query.parsers import parse_query
from tracelake.query.planner import (
    DEFAULT_LIMIT,
    PIVOT_PREFIX,
    Plan,
    pivot_output_names,
    plan_query,
)
from tracelake.query.relations import MOVED_LO
from tracelake.query.sources import resolve_source
from tracelake.query.windows import windows
from tracelake.search.index import TEXT_FIELDS, TextIndex
from tracelake.store.catalog import Catalog, CatalogResolver, Principal
from tracelake.store.store import Store

ARROW = "arrow"  # internal format: the page as an Arrow table (for streaming exports)
# internal format: the rows as JSON objects joined by commas, in ``body`` (for answers that
# wrap them in a JSON array without a Python string per row)
JSON_ITEMS = "json-items"
JSONL_FILE = "jsonl-file"  # internal format: the page written as JSON lines to output_path


@dataclass(frozen=True)
class QueryOptions:
    query: str | dict | Query  # text (BTQL or SQL), the JSON AST, or an already parsed query
    fmt: str = "json"
    tz_offset: int = 0
    version: int | None = None
    audit_log: bool = False
    output_path: str | None = None  # where JSONL_FILE writes the page


@dataclass
class QueryResult:
    rows: list[str] = field(default_factory=list)  # json rows (fmt json)
    body: bytes | memoryview = b""  # the rendered page (other formats)
    schema: dict = field(default_factory=dict)
    cursor: str | None = None
    freshness: dict = field(default_factory=dict)
    sql: str = ""
    table: object = None  # a pyarrow Table (fmt "arrow": export streams pages this way)
    row_count: int = 0  # rows written to output_path (fmt JSONL_FILE)
    page_rows: int = 0  # rows on the page (counted for index-bounded plans only)


class PlanCache:
    """Recent plans, by everything a plan is a function of: the parsed query (custom columns
    applied), the objects it reads, the organization and the options. Planning is pure
    except for MATCH narrowed by the full-text index, whose plans are kept only until the
    next write or index change. Objects are resolved (and access checked) before the cache
    is asked, on every query."""

    def __init__(self, size: int = 256):
        self.size = size
        self._plans: collections.OrderedDict = collections.OrderedDict()
        self._lock = threading.Lock()

    def get(self, key) -> Plan | None:
        try:
            with self._lock:
                plan = self._plans.get(key)
                if plan is not None:
                    self._plans.move_to_end(key)
                return plan
        except TypeError:  # a literal that cannot be hashed (a JSON list or object)
            return None

    def clear(self) -> None:
        with self._lock:
            self._plans.clear()

    def put(self, key, plan: Plan) -> None:
        try:
            with self._lock:
                self._plans[key] = plan
                if len(self._plans) > self.size:
                    self._plans.popitem(last=False)
        except TypeError:
            return


PLANS = PlanCache()


def plan_request(
    catalog: Catalog,
    principal: Principal,
    options: QueryOptions,
    index: TextIndex | None = None,
    *,
    bound: bool = True,
) -> Plan:
    """Parse and plan a query for the caller (no data is read). With ``index``, MATCH and
    search() are narrowed by the full-text index (pinned versions always scan); with
    ``bound``, a newest-first page also keeps only the newest candidates (the plan says so
    in ``index_bounded``; run_query re-plans without the bound when the page comes up
    short)."""
    try:
        return _plan_request(catalog, principal, options, index, bound)
    except RecursionError:
        # A last resort: parsing and planning walk the tree recursively.
        raise QueryError(
            "the query is nested too deeply to run; write fewer nested expressions"
        ) from None


def _plan_request(
    catalog: Catalog,
    principal: Principal,
    options: QueryOptions,
    index: TextIndex | None,
    bound: bool,
) -> Plan:
    query = options.query
    if isinstance(query, str):
        query = _parsed(query)
    elif not isinstance(query, Query):
        query = parse_query(query)
    source = resolve_source(query, CatalogResolver(catalog, principal.org_id))
    query = apply_custom_columns(catalog.store, query, source)
    compiler = None
    latest = catalog.store.clock.last
    if index is not None and options.version is None:
        objects = [(r.object_type.value, r.object_id) for r in source.refs]

        def lookup(tokens: list, newest: int | None, fields: tuple[str, ...], most: int | None):
            watermark = index.watermark
            if newest is not None:
                narrowed = index.newest_candidates(objects, tokens, newest, fields, most)
                if narrowed is None or index.watermark < watermark:
                    return None  # (a lower watermark: the index was discarded meanwhile)
                found, complete = narrowed
                return watermark, found, complete
            found = index.candidates(objects, tokens, fields, most)
            if found is None or index.watermark < watermark:
                return None
            return watermark, found, True

        newest = None
        if bound and newest_first_page(query, source.shape):
            newest = query.limit or DEFAULT_LIMIT
        compiler = IndexedCompiler(
            lookup,
            newest=newest,
            latest=latest,
            indexed=TEXT_FIELDS,
            one_object=len(objects) == 1,
        )
    key = (query, source, principal.org_id, options.version, options.tz_offset)
    key += (options.audit_log, index is not None, bound)
    # A plan that asked the index is kept only while nothing is written and the index is
    # unchanged: until then its candidates, and the rows past its watermark, stand.
    state = (latest, index.watermark if index is not None else None)
    plan = PLANS.get(key) or PLANS.get((*key, state))
    if plan is not None:
        return plan
    plan = plan_query(
        query,
        source,
        org_id=principal.org_id,
        version=options.version,
        tz_offset=options.tz_offset,
        audit_log=options.audit_log,
        compiler=compiler,
    )
    if compiler is not None and compiler.bounded:
        if not compiler.bound_is_safe:
            return _plan_request(catalog, principal, options, index, False)
        plan = dataclasses.replace(plan, index_bounded=True)
    if compiler is None or not compiler.consulted:
        PLANS.put(key, plan)
    elif state == (catalog.store.clock.last, index.watermark):
        PLANS.put((*key, state), plan)
    return plan


@functools.lru_cache(maxsize=512)
def _parsed(text: str) -> Query:
    """A query text parsed once (the tree is immutable): a dashboard repeats its queries,
    and parsing one costs ~0.5 ms."""
    return parse_query(text)


def explain_query(
    catalog: Catalog, principal: Principal, options: QueryOptions, index: TextIndex | None = None
) -> dict:
    """What a query would do: its shape, paging and the SQL it runs (nothing is read)."""
    plan = plan_request(catalog, principal, options, index)
    return {
        "shape": plan.shape,
        "columns": list(plan.output) if plan.output is not None else None,
        "limit": plan.limit,
        "paging": plan.paging,
        "sql": plan.sql,
        # Run newest first in windows of a column: the SQL's $window_lo/$window_hi bound it.
        "window": None
        if plan.window is None
        else {
            "column": plan.window.column,
            "descending": plan.window.descending,
            "stats_sql": plan.window.stats_sql,
        },
    }


def run_query(
    store: Store,
    catalog: Catalog,
    principal: Principal,
    options: QueryOptions,
    *,
    timeout: float = 30,
    index: TextIndex | None = None,
) -> QueryResult:
    plan = plan_request(catalog, principal, options, index)
    database = str(store.path)
    if plan.index_bounded and SHORT_BOUNDS.came_up_short(database, plan.sql):
        plan = plan_request(catalog, principal, options, index, bound=False)
    result = store.read(lambda cursor: _execute(cursor, store, plan, options, timeout))
    if plan.index_bounded and result.page_rows < plan.limit:
        # The newest candidates did not fill the page: older ones may belong on it.
        SHORT_BOUNDS.record(database, plan.sql, filled=False)
        plan = plan_request(catalog, principal, options, index, bound=False)
        result = store.read(lambda cursor: _execute(cursor, store, plan, options, timeout))
    if index is not None:
        # What the full-text index has absorbed; newer rows were scanned, so the answer
        # is complete either way.
        result.freshness["last_processed_xact_id"] = _xact(index.watermark)
    return result


class Watchdog:
    """One thread that interrupts the queries past their deadline (a ``threading.Timer``
    per query cost a thread start, ~0.3 ms, on every query)."""

    def __init__(self):
        self._cond = threading.Condition()
        # [deadline, ticket, interrupt]; interrupt is None once its block has ended (so no
        # cursor is kept alive by a finished query's entry)
        self._heap: list[list] = []
        self._tickets = itertools.count()
        self._thread: threading.Thread | None = None

    @contextlib.contextmanager
    def guard(self, timeout: float, interrupt):
        """Call ``interrupt()`` if the block is still running ``timeout`` seconds from now.
        Yields a function that tells whether it was called: an interrupt that falls
        between two statements of the block stops neither, so the block checks."""
        # [deadline, ticket, interrupt, fired]
        entry = [time.monotonic() + timeout, next(self._tickets), interrupt, False]
        with self._cond:
            heapq.heappush(self._heap, entry)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="tracelake-query-watchdog", daemon=True
                )
                self._thread.start()
            self._cond.notify()
        try:
            yield lambda: entry[3]
        finally:
            with self._cond:  # after this, interrupt() is never called for the block
                entry[2] = None

    def _run(self) -> None:
        with self._cond:
            while True:
                while self._heap and self._heap[0][2] is None:
                    heapq.heappop(self._heap)  # its block has ended
                if not self._heap:
                    self._cond.wait()
                    continue
                wait = self._heap[0][0] - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                entry = heapq.heappop(self._heap)
                interrupt, entry[2], entry[3] = entry[2], None, True
                try:
                    interrupt()
                except Exception:  # a closed cursor: nothing left to stop
                    pass
                # Keep no reference to the cursor while waiting (it would outlive its
                # connection, and DuckDB reports such objects as leaked at exit).
                del interrupt, entry


WATCHDOG = Watchdog()


def _execute(cursor, store: Store, plan: Plan, options: QueryOptions, timeout: float):
    stopped = f"the query ran longer than {timeout:g} s and was stopped"
    try:
        with WATCHDOG.guard(timeout, cursor.interrupt) as interrupted:
            if plan.moved is not None:
                result = _execute_with_moved_rows(cursor, store, plan, options)
            elif _renders_at_once(plan, options):
                result = _execute_at_once(cursor, store, plan)
            else:
                result = _execute_paged(cursor, store, plan, options)
            if interrupted():  # between two statements: the later ones ran to the end
                raise QueryTimeout(stopped)
            return result
    except duckdb.InterruptException:
        raise QueryTimeout(stopped) from None
    except duckdb.Error as exc:
        # The compiler coerces types and guards paths, so this is rare; it is still the
        # query's fault (e.g. an out-of-range cast), not the server's.
        raise QueryError(f"the query could not run: {engine_message(exc)}") from None


def engine_message(exc: Exception) -> str:
    """A DuckDB error's message without what belongs to the SQL tracelake generated, not to
    the query: the statement quoted under ``LINE n:`` with its caret, and hints at the
    engine's settings (``* SET …``); its other lines joined with "; "."""
    text = str(exc).split("\n\nLINE ", 1)[0]
    lines = [line.strip() for line in text.splitlines()]
    return "; ".join(line for line in lines if line and not line.startswith("* SET "))


def _execute_with_moved_rows(cursor, store: Store, plan: Plan, options: QueryOptions):
    """A later page of spans whose rows written since the first page keep their place
    (``Plan.moved``): when no row moved, the page's own SQL; otherwise the page's rows and
    the moved ones merged. One read transaction, so that no row is read twice (before and
    after a write)."""
    cursor.begin()
    try:
        (bound,) = cursor.execute(plan.moved.bound_sql).fetchone()
        if bound is None:
            plan = dataclasses.replace(plan, moved=None)
            if _renders_at_once(plan, options):
                result = _execute_at_once(cursor, store, plan)
            else:
                result = _execute_paged(cursor, store, plan, options, in_transaction=True)
        else:
            result = _execute_paged(
                cursor, store, plan, options, moved_lo=bound, in_transaction=True
            )
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            cursor.rollback()
        raise
    cursor.commit()
    return result


def _renders_at_once(plan: Plan, options: QueryOptions) -> bool:
    """Whether the page can be rendered straight from the plan's SQL in one statement: one
    query (no windows), known output columns whose names DuckDB keeps apart, as the JSON
    items that ``POST /btql`` answers with. Not for the summary shape: DuckDB ran its
    plans ~20% slower into a query result than into a temp table (measured on 1M spans)."""
    return (
        options.fmt == JSON_ITEMS
        and plan.shape != "summary"
        and plan.window is None
        and plan.output is not None
        and not case_clash(plan.output)
    )


def _execute_at_once(cursor, store: Store, plan: Plan) -> QueryResult:
    """The page rendered by one statement, its cursor computed from the keys it returns
    (no temp table and none of the statements around it: ~2 ms less per query)."""
    columns = PAGE_COLUMNS.get(cursor, plan)
    items, keys = json_items_and_keys(cursor, plan.sql, columns)
    return QueryResult(
        body=items,
        schema=json_schema(columns),
        cursor=plan.next_cursor_from_keys(keys),
        freshness=_freshness(store),
        sql=plan.sql,
        page_rows=len(keys),
    )


class PageColumns:
    """The output columns (names and DuckDB types) of recent plans: describing a plan binds
    its whole SQL again, and the types depend on the SQL only."""

    def __init__(self, size: int = 256):
        self._seen = PlanCache(size)  # the same bounded, locked LRU, keyed by the SQL

    def get(self, cursor, plan: Plan) -> list:
        columns = self._seen.get(plan.sql)
        if columns is None:
            visible = ", ".join(_quote(name) for name in plan.output)
            columns = describe(
                cursor, f"SELECT {visible} FROM ({plan.sql})", [], names=list(plan.output)
            )
            self._seen.put(plan.sql, columns)
        return columns


PAGE_COLUMNS = PageColumns()


def _freshness(store: Store) -> dict:
    return {
        "last_considered_xact_id": _xact(store.clock.last),
        "last_processed_xact_id": _xact(store.clock.last),
    }


def _execute_paged(
    cursor,
    store: Store,
    plan: Plan,
    options: QueryOptions,
    moved_lo: int | None = None,
    in_transaction: bool = False,
) -> QueryResult:
    """The page run into a temp table first (windows, pivots, renamed columns and the
    other formats), then rendered from it; with ``moved_lo``, its moved rows merged in
    (see ``Plan.moved``)."""
    fill_page(cursor, plan, str(store.path), in_transaction=in_transaction)
    if moved_lo is not None:
        _add_moved_rows(cursor, plan, moved_lo)
    next_cursor = plan.next_cursor(cursor, "query_page")
    page_rows = 0
    if plan.index_bounded:  # only a bounded page needs its size (to decide on a re-run)
        (page_rows,) = cursor.execute("SELECT count(*) FROM query_page").fetchone()
    output = stored = plan.output
    if output is None:  # pivot: the columns depend on the data
        names = [r[0] for r in cursor.execute("DESCRIBE query_page").fetchall()]
        stored = [n for n in names if n.startswith(PIVOT_PREFIX) or not n.startswith("__")]
        output = pivot_output_names(stored)
    elif case_clash(output):
        # DuckDB renamed the later of two names that differ only in case (a, A → a,
        # A_1); the page's output columns come first, in the output's order.
        names = [r[0] for r in cursor.execute("DESCRIBE query_page").fetchall()]
        stored = names[: len(output)]
    visible = ", ".join(_quote(name) for name in stored)
    # CREATE TABLE AS keeps the query's order (DuckDB preserves insertion order).
    page_sql = f"SELECT {visible} FROM query_page"
    # A pivot without dimensions over no rows has no column (and no row) to render.
    columns = describe(cursor, page_sql, [], names=list(output)) if stored else []
    result = QueryResult(
        schema=json_schema(columns),
        cursor=next_cursor,
        freshness=_freshness(store),
        sql=plan.sql,
        page_rows=page_rows,
    )
    if options.fmt == "json":
        result.rows = json_rows(cursor, page_sql, [], columns)
    elif options.fmt == JSON_ITEMS:
        result.body = json_array_items(cursor, page_sql, columns)
    elif options.fmt == ARROW:
        result.table = arrow_table(cursor, page_sql, [], columns)
    elif options.fmt == JSONL_FILE:
        result.row_count = write_jsonl(cursor, page_sql, [], columns, options.output_path)
    else:
        result.body = FORMATS[options.fmt].render(cursor, page_sql, [], columns)
    cursor.execute("DROP TABLE IF EXISTS query_page")
    return result


class WindowStats:
    """The count, minimum and maximum that size a plan's windows, per database and query,
    kept for ``ttl`` seconds: they only size the first window (any size gives the same
    page, and the windows together cover every value, so rows written since are read
    too), and reading them costs a scan of the objects' key columns."""

    def __init__(self, ttl: float = 10.0):
        self.ttl = ttl
        self._seen: dict[tuple[str, str], tuple[float, tuple]] = {}
        self._lock = threading.Lock()

    def get(self, cursor, database: str, sql: str) -> tuple:
        key = (database, sql)
        now = time.monotonic()
        with self._lock:
            hit = self._seen.get(key)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        values = tuple(cursor.execute(sql).fetchone())
        with self._lock:
            if len(self._seen) > 1_000:
                self._seen.clear()
            self._seen[key] = (now, values)
        return values


WINDOW_STATS = WindowStats()


class WindowOutcomes:
    """Which page SQL came up short in its first window lately, per database: such a query
    (a selective filter: a rare word, an error) then runs at once over the whole relation
    for ``ttl`` seconds, instead of paying for the first window before the rest (ILIKE of a
    word in one row in a thousand, 1M spans: 49.5 → 36.3 ms; a filter that fills the first
    window keeps its windows: at once it read 3× longer). Either way the page is the same."""

    def __init__(self, ttl: float = 30.0):
        self.ttl = ttl
        self._short: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def came_up_short(self, database: str, sql: str) -> bool:
        with self._lock:
            since = self._short.get((database, sql))
        return since is not None and time.monotonic() - since < self.ttl

    def record(self, database: str, sql: str, filled: bool) -> None:
        with self._lock:
            if filled:
                self._short.pop((database, sql), None)
                return
            if len(self._short) > 1_000:
                self._short.clear()
            self._short[(database, sql)] = time.monotonic()


WINDOW_OUTCOMES = WindowOutcomes()
# The same memory for index-bounded pages (see query.indexed): a bounded plan whose page
# came up short lately is not run again first (the same SQL reads the same candidates);
# the query is planned without the bound at once.
SHORT_BOUNDS = WindowOutcomes()


def fill_page(cursor, plan: Plan, database: str = "", *, in_transaction: bool = False) -> None:
    """Run the page's SQL into the temp table ``query_page``: at once, or window by window
    until the page is full (see query.windows), in one read transaction (the caller's, when
    ``in_transaction``). ``database`` names the database file, for the window statistics
    and outcomes kept between queries (a query whose first window came up short lately
    runs at once: WindowOutcomes)."""
    if plan.window is None:
        cursor.execute(f"CREATE OR REPLACE TEMP TABLE query_page AS {plan.sql}")
        return
    window = plan.window
    if database and WINDOW_OUTCOMES.came_up_short(database, plan.sql):
        params = window.params(None, None)
        cursor.execute(f"CREATE OR REPLACE TEMP TABLE query_page AS {plan.sql}", params)
        return
    if not in_transaction:
        cursor.begin()
    try:
        if database:
            count, low, high = WINDOW_STATS.get(cursor, database, window.stats_sql)
        else:
            count, low, high = cursor.execute(window.stats_sql).fetchone()
        steps = windows(count, low, high, plan.limit, window.descending)
        bounds = next(steps)
        params = window.params(*bounds)
        cursor.execute(f"CREATE OR REPLACE TEMP TABLE query_page AS {plan.sql}", params)
        first = True
        while True:
            (found,) = cursor.execute("SELECT count(*) FROM query_page").fetchone()
            if first and database and bounds != (None, None):
                WINDOW_OUTCOMES.record(database, plan.sql, filled=found >= plan.limit)
            first = False
            try:
                params = window.params(*steps.send(found))
            except StopIteration:
                break
            cursor.execute(f"INSERT INTO query_page {plan.sql}", params)
        if found > plan.limit:  # the last window may add more rows than the page needs
            # (a scan of the table keeps the order the rows were inserted in)
            cursor.execute(
                f"CREATE TEMP TABLE query_full_page AS FROM query_page LIMIT {plan.limit}"
            )
            cursor.execute("DROP TABLE query_page")
            cursor.execute("ALTER TABLE query_full_page RENAME TO query_page")
    except BaseException:
        if not in_transaction:
            try:
                cursor.rollback()
            except duckdb.Error:
                pass  # an interrupted or failed statement may have ended the transaction
        raise
    if not in_transaction:
        cursor.commit()


def _add_moved_rows(cursor, plan: Plan, moved_lo: int) -> None:
    """Merge the page's moved rows (``Plan.moved``) into ``query_page``: the first
    ``limit`` rows of both by ``__key``, newest first."""
    (added,) = cursor.execute(
        f"INSERT INTO query_page {plan.moved.sql}", {MOVED_LO: moved_lo}
    ).fetchone()
    if not added:
        return
    cursor.execute(
        "CREATE TEMP TABLE query_full_page AS FROM query_page"
        f" ORDER BY __key DESC LIMIT {plan.limit}"
    )
    cursor.execute("DROP TABLE query_page")
    cursor.execute("ALTER TABLE query_full_page RENAME TO query_page")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _xact(value: int) -> str | None:
    return f"{value:019d}" if value else None
