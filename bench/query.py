"""Query benchmark: BTQL over 1M spans against the same questions hand-written in DuckDB SQL.

Usage: python bench/query.py [--spans 1000000] [--runs 20] [--fresh] [--budget 60] [--sql]
                             [--only NAME ...]

Data: ``--spans`` spans in traces of 10 (a support-assistant turn: root task, intent LLM call,
embedding, vector search, rerank, order-lookup tool, answer LLM call, follow-ups, moderation,
a scorer; nested messages/documents/tool arguments, model/user/env metadata, token and timing
metrics, scores, tags), written through the server's own write path (``prepare_batch`` +
``Store.write``, batches of 5,000 rows) rather than HTTP, and cached in
``/tmp/tracelake-bench-query-<spans>`` (``--fresh`` rebuilds it). See ``querydata.py``.

For each query class:

* **HTTP**: ``POST /btql`` end to end from one keep-alive client against a ``tracelake serve``
  subprocess, 2 warm-ups then ``--runs`` timed runs (fewer when a series passes
  ``--budget`` seconds; at least 3), p50 and p95.
* **engine SQL**: the SQL the planner generated (``{"explain": true}``), run directly, the
  way the server runs it: at once, or for a plan with a window (a sorted page, newest
  first), its count/min/max query, the first window and, if the page is not full, the rest
  (``tracelake.export.queries.fill_page``).
* **hand SQL**: the same question written by hand against ``live`` / ``traces`` /
  ``comments`` as a careful DuckDB user would (filter the base table first, page with the
  per-trace index, join comments only to the rows returned).

Both SQL texts run after the server has stopped, in this process, on the same database file
opened read-only (same DuckDB version, 2 threads, ``TimeZone = 'UTC'``), interleaved run by
run, materialised as Arrow. Their results are compared (``same``): ``identical`` rows,
``equal`` after parsing JSON and rounding floats, ``same ids`` (same first column) or DIFF.
``ratio`` is engine SQL p50 / hand SQL p50 (the goal is ≤ 1.2); ``http/hand`` is the
end-to-end overhead (planning, paging, JSON rendering, HTTP) over the hand SQL.
Latency goals are checked against the HTTP p50.

The server waits for its full-text indexer to catch up before timing (until then MATCH scans
and the indexer takes a core). ``MATCH, scan fallback`` is the same MATCH planned in this
process without the index (what the server runs when the index cannot narrow: more than
5,000 candidates, or rows past its watermark), SQL timings only. The hand-written MATCH is a
scan (DuckDB has no full-text index here): a substring test, then word boundaries.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import httpx

sys.path.insert(0, str(Path(__file__).parent))
import querydata  # noqa: E402
from common import API_KEY, Server, copy_of, machine, percentile  # noqa: E402

WARMUPS = 2
META_FILE = "bench-query.json"
DB_FILE = "tracelake.duckdb"
TS = "strftime({}, '%Y-%m-%dT%H:%M:%S.%fZ')"


# -- the hand-written SQL ----------------------------------------------------------------------


def _rows_of(pid: str, org: str, alias: str = "l") -> str:
    """The spans of the project (what a hand-written query starts from)."""
    return (
        f"{alias}.object_type = 'project_logs' AND {alias}.object_id = '{pid}'"
        f" AND {alias}.org_id = '{org}'"
    )


def _comments_for(pid: str, ids_sql: str) -> str:
    """Comments grouped per row, only for the rows ``ids_sql`` returns (not the whole table)."""
    return f"""(SELECT origin_id, to_json(list(json_object(
                'id', id, 'created', {TS.format("created")}, '_xact_id', _xact_id::VARCHAR,
                'comment', comment, 'audit_data', audit_data) ORDER BY _xact_id, id)) AS comments
            FROM comments
            WHERE object_type = 'project_logs' AND object_id = '{pid}' AND deleted_xact IS NULL
              AND origin_id IN ({ids_sql})
            GROUP BY origin_id)"""


def _span_columns(alias: str = "e") -> str:
    """The columns of ``select: *`` on project logs, rendered as the engine renders them."""
    e = alias
    return f"""{e}.id, {e}._xact_id::VARCHAR AS _xact_id, {e}._pagination_key,
        {TS.format(f"timezone('UTC', {e}.created)")} AS created, {e}.org_id, {e}.project_id,
        'g' AS log_id, {e}.span_id, {e}.root_span_id, {e}.span_parents, {e}.is_root,
        {e}.input, {e}.output, {e}.expected, {e}.error, {e}.scores, {e}.metrics, {e}.metadata,
        {e}.tags, {e}.span_attributes, {e}.context, {e}.origin, {e}.classifications,
        c.comments"""


def hand_filter(pid: str, org: str) -> str:
    return f"""WITH page AS (
            SELECT * FROM live l
            WHERE {_rows_of(pid, org)}
              AND l.metadata->>'model' = 'gpt-4o'
              AND TRY_CAST(l.metrics->>'tokens' AS DOUBLE) > 3000
            ORDER BY l.created DESC LIMIT 100)
        SELECT {_span_columns()}
        FROM page e LEFT JOIN {_comments_for(pid, "SELECT id FROM page")} c ON c.origin_id = e.id
        ORDER BY e.created DESC"""


def hand_groupby(pid: str, org: str) -> str:
    return f"""SELECT l.metadata->'$.model' AS model, count(*) AS calls,
            quantile_cont(TRY_CAST(l.metrics->>'tokens' AS DOUBLE), 0.95) AS p95_tokens,
            quantile_cont(TRY_CAST(l.metrics->>'end' AS DOUBLE)
                          - TRY_CAST(l.metrics->>'start' AS DOUBLE), 0.5) AS p50_latency
        FROM live l
        WHERE {_rows_of(pid, org)} AND l.span_attributes->>'type' = 'llm'
        GROUP BY 1 ORDER BY 1"""


def hand_match(pid: str, org: str) -> str:
    # A cheap substring test first, then the word boundaries (letters/digits, as MATCH).
    word = querydata.MATCH_WORD
    edge = r"[^\p{L}\p{N}]"
    return f"""SELECT l.id, l.root_span_id, l.input FROM live l
        WHERE {_rows_of(pid, org)}
          AND contains(lower(l.input::VARCHAR), '{word}')
          AND regexp_matches(l.input::VARCHAR, '(?i)(^|{edge}){word}({edge}|$)')
        ORDER BY l._pagination_key DESC LIMIT 100"""


def _trace_page(pid: str) -> str:
    """The 100 newest traces from the per-trace index (as the fetch endpoint pages)."""
    return f"""SELECT root_span_id, first_xact, last_key FROM traces
            WHERE object_type = 'project_logs' AND object_id = '{pid}'
            ORDER BY last_xact DESC, last_key DESC LIMIT 100"""


def _page_spans(pid: str, org: str) -> str:
    """The spans of the page's traces; ``first_xact`` lets zone maps skip older row groups."""
    return f"""SELECT l.*, p.last_key FROM live l JOIN page p USING (root_span_id)
            WHERE {_rows_of(pid, org)} AND l._xact_id >= (SELECT min(first_xact) FROM page)"""


def hand_traces(pid: str, org: str) -> str:
    return f"""WITH page AS ({_trace_page(pid)}),
        spans AS ({_page_spans(pid, org)})
        SELECT {_span_columns()}
        FROM spans e LEFT JOIN {_comments_for(pid, "SELECT id FROM spans")} c
          ON c.origin_id = e.id
        ORDER BY e.last_key DESC, e._pagination_key"""


def _preview(column: str) -> str:
    return f"""CASE WHEN r.{column} IS NULL OR length(r.{column}::VARCHAR) <= 124 THEN r.{column}
            WHEN json_type(r.{column}) = 'VARCHAR' THEN to_json(left(r.{column}->>'$', 124))
            ELSE to_json(left(r.{column}::VARCHAR, 124)) END AS {column}"""


def hand_summary(pid: str, org: str) -> str:
    def m(key: str, cast: str = "DOUBLE") -> str:
        return f"TRY_CAST(metrics->>'{key}' AS {cast})"

    kind = "span_attributes->>'type'"
    metrics = f"""json_object(
            'prompt_tokens', sum({m("prompt_tokens", "BIGINT")}),
            'completion_tokens', sum({m("completion_tokens", "BIGINT")}),
            'prompt_cached_tokens', sum({m("prompt_cached_tokens", "BIGINT")}),
            'prompt_cache_creation_tokens', sum({m("prompt_cache_creation_tokens", "BIGINT")}),
            'total_tokens', sum(coalesce({m("total_tokens", "BIGINT")}, {m("tokens", "BIGINT")},
                {m("prompt_tokens", "BIGINT")} + {m("completion_tokens", "BIGINT")},
                {m("prompt_tokens", "BIGINT")}, {m("completion_tokens", "BIGINT")})),
            'estimated_cost', sum({m("estimated_cost")}),
            'llm_calls', count(*) FILTER (WHERE {kind} = 'llm'),
            'tool_calls', count(*) FILTER (WHERE {kind} = 'tool'),
            'errors', count(*) FILTER (WHERE {kind} IN ('llm', 'tool') AND error IS NOT NULL),
            'llm_errors', count(*) FILTER (WHERE {kind} = 'llm' AND error IS NOT NULL),
            'tool_errors', count(*) FILTER (WHERE {kind} = 'tool' AND error IS NOT NULL),
            'start', min({m("start")}), 'end', max({m("end")}),
            'duration', max({m("end")}) - min({m("start")}),
            'llm_duration', sum({m("end")} - {m("start")}) FILTER (WHERE {kind} = 'llm'),
            'time_to_first_token', avg({m("time_to_first_token")}) FILTER (WHERE {kind} = 'llm'))"""
    previews = ", ".join(_preview(c) for c in ("input", "output", "expected", "error", "metadata"))
    return f"""WITH page AS ({_trace_page(pid)}),
        spans AS ({_page_spans(pid, org)}),
        stats AS (
            SELECT root_span_id, {metrics} AS metrics,
                   max(_xact_id) AS _xact_id, max(_pagination_key) AS _pagination_key,
                   bool_or(error IS NOT NULL) AS has_error,
                   bool_and(coalesce(TRY_CAST(metrics->>'cached' AS BOOLEAN), false))
                       FILTER (WHERE {kind} = 'llm') AS cached,
                   count(*) AS span_count
            FROM spans GROUP BY root_span_id),
        score_avgs AS (
            SELECT root_span_id, json_group_object(name, value) AS scores FROM (
                SELECT root_span_id, kv.key AS name, avg(kv.value) AS value FROM (
                    SELECT root_span_id, unnest(map_entries(
                        json_transform(scores, '"MAP(VARCHAR, DOUBLE)"'))) AS kv
                    FROM spans WHERE json_type(scores) = 'OBJECT')
                GROUP BY root_span_id, kv.key)
            GROUP BY root_span_id),
        roots AS (
            SELECT * FROM spans QUALIFY row_number() OVER (
                PARTITION BY root_span_id ORDER BY is_root DESC, _pagination_key) = 1)
        SELECT r.id, t._xact_id::VARCHAR AS _xact_id, t._pagination_key,
               {TS.format("timezone('UTC', r.created)")} AS created, r.org_id, r.project_id,
               'g' AS log_id, r.span_id, r.root_span_id, r.span_parents, r.is_root,
               {previews}, sa.scores, t.metrics, r.tags, r.span_attributes,
               json_object('name', r.span_attributes->>'name',
                           'type', r.span_attributes->>'type',
                           'cached', coalesce(t.cached, false), 'has_error', t.has_error,
                           'span_count', t.span_count) AS span_type_info,
               r.context, r.origin, r.classifications, c.comments
        FROM roots r JOIN stats t USING (root_span_id)
        LEFT JOIN score_avgs sa USING (root_span_id)
        LEFT JOIN {_comments_for(pid, "SELECT id FROM roots")} c ON c.origin_id = r.id
        ORDER BY t._pagination_key DESC"""


def hand_ilike(pid: str, org: str) -> str:
    return f"""SELECT l.id, l.root_span_id, l.output FROM live l
        WHERE {_rows_of(pid, org)}
          AND json_extract_string(l.output, '$.content') ILIKE '%{querydata.ILIKE_WORD}%'
        ORDER BY l._pagination_key DESC LIMIT 100"""


# -- the query classes ---------------------------------------------------------------------------


@dataclass
class QueryClass:
    name: str
    goal_kind: str  # which goal of the issue applies
    goal_ms: float
    btql: Callable[[str], str]
    hand: Callable[[str, str], str]
    # filled in by the runs
    engine_sql: str = ""
    explained: dict = field(default_factory=dict)  # the engine's plan (explain), window included
    columns: list[str] = field(default_factory=list)
    http_rows: int = 0
    http_s: list[float] = field(default_factory=list)
    engine_s: list[float] = field(default_factory=list)
    hand_s: list[float] = field(default_factory=list)
    same: str = ""
    over_http: bool = True  # False: planned in this process (no server), SQL timings only


def _logs(pid: str, shape: str = "") -> str:
    return f"project_logs('{pid}'){' ' + shape if shape else ''}"


CLASSES = [
    QueryClass(
        "filter+sort+limit",
        "filter",
        30,
        lambda pid: (
            f"select: * | from: {_logs(pid)} | filter: metadata.model = 'gpt-4o'"
            " AND metrics.tokens > 3000 | sort: created desc | limit: 100"
        ),
        hand_filter,
    ),
    QueryClass(
        "group-by+percentile",
        "aggregate",
        150,
        lambda pid: (
            "dimensions: metadata.model as model | measures: count(1) as calls,"
            " percentile(metrics.tokens, 0.95) as p95_tokens,"
            " percentile(metrics.end - metrics.start, 0.5) as p50_latency"
            f" | from: {_logs(pid)} | filter: span_attributes.type = 'llm'"
        ),
        hand_groupby,
    ),
    QueryClass(
        "MATCH one word",
        "MATCH",
        10,
        lambda pid: (
            f"select: id, root_span_id, input | from: {_logs(pid)}"
            f" | filter: input MATCH '{querydata.MATCH_WORD}' | limit: 100"
        ),
        hand_match,
    ),
    QueryClass(
        "100 newest traces",
        "trace fetch",
        10,
        lambda pid: f"select: * | from: {_logs(pid, 'traces')} | limit: 100",
        hand_traces,
    ),
    QueryClass(
        "summary of 100",
        "aggregate",
        150,
        lambda pid: f"select: * | from: {_logs(pid, 'summary')} | limit: 100",
        hand_summary,
    ),
    QueryClass(
        "ILIKE",
        "filter",
        30,
        lambda pid: (
            f"select: id, root_span_id, output | from: {_logs(pid)}"
            f" | filter: output.content ILIKE '%{querydata.ILIKE_WORD}%' | limit: 100"
        ),
        hand_ilike,
    ),
    # The same MATCH as the server plans it when the full-text index cannot narrow (index
    # behind, or more than 5,000 candidates): planned here without the index, SQL only.
    QueryClass(
        "MATCH, scan fallback",
        "MATCH",
        10,
        lambda pid: (
            f"select: id, root_span_id, input | from: {_logs(pid)}"
            f" | filter: input MATCH '{querydata.MATCH_WORD}' | limit: 100"
        ),
        hand_match,
        over_http=False,
    ),
]
OVERHEAD_GOAL = 1.2


# -- data --------------------------------------------------------------------------------------


def data_copy(name: str, spans: int) -> tuple[Path, str, dict]:
    """A read-write copy of the cached query data (see common.copy_of), its project id and
    the data's description, for the benchmarks that write to it (summary, web, facets)."""
    source, meta = ensure_data(spans, fresh=False)
    data_dir = copy_of(source, name, spans)
    return data_dir, json.loads((data_dir / META_FILE).read_text())["project_id"], meta


def ensure_data(spans: int, fresh: bool) -> tuple[Path, dict]:
    data_dir = Path(f"/tmp/tracelake-bench-query-{spans}")
    meta_path = data_dir / META_FILE
    meta = None
    if meta_path.exists() and not fresh:
        meta = json.loads(meta_path.read_text())
        if meta.get("version") != querydata.DATA_VERSION:
            meta = None
    if meta is None:
        shutil.rmtree(data_dir, ignore_errors=True)
        print(f"loading {spans:,} spans into {data_dir} ...", flush=True)
        meta = querydata.load(data_dir, spans, API_KEY)
        meta_path.write_text(json.dumps(meta))
        meta["loaded_now"] = True
    return data_dir, meta


# -- timing ------------------------------------------------------------------------------------


def _keep_going(done: int, runs: int, started: float, budget: float) -> bool:
    return done < runs and not (done >= 3 and time.perf_counter() - started > budget)


def run_http(server: Server, classes: list[QueryClass], pid: str, runs: int, budget: float):
    with server.client() as http:

        def post(body: dict) -> httpx.Response:
            response = http.post("/btql", json=body)  # reads the whole body
            if response.status_code != 200:
                raise RuntimeError(f"/btql answered {response.status_code}: {response.text}")
            return response

        for qc in classes:
            if not qc.over_http:
                continue
            query = qc.btql(pid)
            explained = post({"query": query, "explain": True}).json()
            qc.engine_sql, qc.columns = explained["sql"], explained["columns"]
            qc.explained = explained
            for _ in range(WARMUPS):
                qc.http_rows = len(post({"query": query}).json()["data"])
            started = time.perf_counter()
            while _keep_going(len(qc.http_s), runs, started, budget):
                # Timed: request sent to the last byte of the answer received. Decoding the
                # JSON is the client's work (1.5 MB for the traces class: ~15 ms in Python).
                t0 = time.perf_counter()
                answer = post({"query": query})
                qc.http_s.append(time.perf_counter() - t0)
                qc.http_rows = len(answer.json()["data"])
            print(f"  http  {qc.name:<20} p50 {_ms(percentile(qc.http_s, 0.5))}", flush=True)


def wait_for_index(server: Server, pid: str, limit: float = 3600) -> float:
    """Wait until the server's full-text indexer has absorbed every row (its watermark,
    ``last_processed_xact_id``, reaches ``last_considered_xact_id``): until then MATCH scans
    and the indexer competes for the two cores. Returns the seconds waited."""
    started = time.perf_counter()
    last, last_change = None, started
    with server.client() as http:
        while True:
            body = {"query": f"select: id | from: {_logs(pid)} | limit: 1"}
            state = http.post("/btql", json=body).json()["freshness_state"]
            processed = state.get("last_processed_xact_id")
            if processed == state.get("last_considered_xact_id"):
                return time.perf_counter() - started
            now = time.perf_counter()
            if processed != last:
                last, last_change = processed, now
            if now - last_change > 120 or now - started > limit:
                print("  the full-text index stopped advancing; measuring anyway", flush=True)
                return now - started
            time.sleep(0.5)


def plan_locally(data_dir: Path, classes: list[QueryClass], pid: str) -> None:
    """Plan the SQL-only classes in this process, without the full-text index (the server's
    plan when the index cannot narrow). Needs the server stopped: it opens the database."""
    from tracelake.export.queries import QueryOptions, explain_query
    from tracelake.store.catalog import Catalog
    from tracelake.store.store import Store

    local = [qc for qc in classes if not qc.over_http]
    if not local:
        return
    store = Store(data_dir, read_only=True)
    try:
        catalog = Catalog(store)
        principal = catalog.authenticate(API_KEY)
        for qc in local:
            explained = explain_query(catalog, principal, QueryOptions(query=qc.btql(pid)))
            qc.engine_sql, qc.columns = explained["sql"], explained["columns"]
            qc.explained = explained
    finally:
        store.close()


def run_sql(db_path: Path, classes: list[QueryClass], meta: dict, runs: int, budget: float):
    def connect() -> duckdb.DuckDBPyConnection:
        con = duckdb.connect(
            str(db_path),
            read_only=True,
            config={"autoinstall_known_extensions": "false", "autoload_known_extensions": "false"},
        )
        con.execute("SET TimeZone = 'UTC'")
        return con

    for qc in classes:
        con = connect()  # one connection per class: no state carried from the previous one

        def timed(sql: str, con=con) -> float:
            t0 = time.perf_counter()
            arrow_of(con, sql)
            return time.perf_counter() - t0

        def timed_engine(con=con, qc=qc) -> float:
            t0 = time.perf_counter()
            engine_page(con, qc)
            return time.perf_counter() - t0

        hand = qc.hand(meta["project_id"], meta["org_id"])
        engine_rows = [r[: len(qc.columns)] for r in engine_page(con, qc, rows=True)]
        hand_rows = con.execute(hand).fetchall()
        qc.same = compare(engine_rows, hand_rows)
        if qc.over_http and len(engine_rows) != qc.http_rows:
            qc.same += f" (http {qc.http_rows} rows)"
        for _ in range(WARMUPS - 1):
            timed_engine()
            timed(hand)
        started = time.perf_counter()
        while _keep_going(len(qc.engine_s), runs, started, budget):
            # Alternate which goes first, so a noisy neighbour hurts both alike.
            if len(qc.engine_s) % 2:
                qc.hand_s.append(timed(hand))
                qc.engine_s.append(timed_engine())
            else:
                qc.engine_s.append(timed_engine())
                qc.hand_s.append(timed(hand))
        con.close()
        print(
            f"  sql   {qc.name:<20} engine {_ms(percentile(qc.engine_s, 0.5))}"
            f"  hand {_ms(percentile(qc.hand_s, 0.5))}  {qc.same}",
            flush=True,
        )


def arrow_of(con: duckdb.DuckDBPyConnection, sql: str):
    """The rows of ``sql`` as Arrow, fetched as the server fetches a page: from an executed
    statement (the relation API, ``con.sql``, binds the statement twice: 1–2 ms more on the
    traces class)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "an extra copy of the rows"
        return con.execute(sql).to_arrow_table()


def engine_page(con: duckdb.DuckDBPyConnection, qc: QueryClass, rows: bool = False):
    """Run the engine's page as the server does: its SQL at once, or in newest-first windows
    when its plan says so (the first window, then the rest if the page is not full).
    Materialised as Arrow, like the hand SQL; with ``rows``, as tuples (for comparing)."""
    from tracelake.export.queries import fill_page
    from tracelake.query.planner import Plan
    from tracelake.query.windows import WindowPlan

    window = qc.explained.get("window")
    if window is None:
        return con.execute(qc.engine_sql).fetchall() if rows else arrow_of(con, qc.engine_sql)
    plan = Plan(
        qc.engine_sql,
        tuple(qc.columns),
        qc.explained["limit"],
        qc.explained["paging"],
        window=WindowPlan(window["column"], window["descending"], window["stats_sql"]),
    )
    fill_page(con, plan)
    page = con.execute("FROM query_page").fetchall() if rows else arrow_of(con, "FROM query_page")
    con.execute("DROP TABLE query_page")
    return page


# -- checking the two SQL texts agree ----------------------------------------------------------


def _norm(value):
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return value
        return _norm(parsed) if isinstance(parsed, dict | list | float | int) else parsed
    if isinstance(value, float):
        return float(f"{value:.9g}") if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _norm(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_norm(v) for v in value]
    return value


def compare(engine: list[tuple], hand: list[tuple]) -> str:
    if engine == hand:
        return f"identical ({len(engine)} rows)"
    if [_norm(r) for r in engine] == [_norm(r) for r in hand]:
        return f"equal ({len(engine)} rows)"
    if sorted(str(r[0]) for r in engine) == sorted(str(r[0]) for r in hand):
        return f"same ids ({len(engine)} rows)"
    return f"DIFF ({len(engine)} vs {len(hand)} rows)"


# -- report ------------------------------------------------------------------------------------


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def report(classes: list[QueryClass]) -> None:
    print()
    head = (
        f"{'query':<21} {'rows':>5} {'http p50':>9} {'http p95':>9} {'eng p50':>8} "
        f"{'hand p50':>8} {'ratio':>6} {'http/hand':>9} {'runs':>5} {'goal ms':>15} "
        f"{'verdict':<16} same"
    )
    print(head)
    print("-" * len(head))
    for qc in classes:
        eng50, hand50 = percentile(qc.engine_s, 0.5), percentile(qc.hand_s, 0.5)
        ratio = eng50 / hand50
        if qc.over_http:
            http50, http95 = percentile(qc.http_s, 0.5), percentile(qc.http_s, 0.95)
            http = f"{_ms(http50):>9} {_ms(http95):>9}"
            over_hand = f"{http50 / hand50:>9.2f}"
            runs = f"{len(qc.http_s)}/{len(qc.engine_s)}"
        else:  # SQL only: the goal is checked against the engine SQL
            http50 = eng50
            http, over_hand, runs = f"{'-':>9} {'-':>9}", f"{'-':>9}", f"-/{len(qc.engine_s)}"
        misses = []
        if http50 * 1000 > qc.goal_ms:
            misses.append("time")
        if ratio > OVERHEAD_GOAL:
            misses.append("ratio")
        verdict = "ok" if not misses else "MISS " + "+".join(misses)
        rows = qc.http_rows if qc.over_http else int(qc.same.split("(")[1].split()[0])
        print(
            f"{qc.name:<21} {rows:>5} {http} {_ms(eng50):>8} {_ms(hand50):>8} {ratio:>6.2f} "
            f"{over_hand} {runs:>5} {qc.goal_kind + ' ≤' + format(qc.goal_ms, 'g'):>15} "
            f"{verdict:<16} {qc.same}"
        )
    print(
        "\ntimes in ms; ratio = engine SQL p50 / hand SQL p50 (goal ≤ 1.2); the verdict checks "
        "the http p50 (SQL-only rows: the engine SQL p50) against the goal; runs = http/sql"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20, help="timed runs per series")
    parser.add_argument("--fresh", action="store_true", help="rebuild the cached data dir")
    parser.add_argument(
        "--budget", type=float, default=60, help="seconds per series before runs are cut short"
    )
    parser.add_argument("--sql", action="store_true", help="print the engine and hand SQL")
    parser.add_argument("--only", action="append", help="run only classes whose name has this")
    args = parser.parse_args()

    classes = [
        qc
        for qc in CLASSES
        if not args.only or any(o.lower() in qc.name.lower() for o in args.only)
    ]
    data_dir, meta = ensure_data(args.spans, args.fresh)
    size = (data_dir / DB_FILE).stat().st_size
    print(f"machine: {machine()}, DuckDB {duckdb.__version__}")
    print(
        f"data: {meta['spans']:,} spans in {meta['traces']:,} traces, {size / 2**20:,.0f} MiB "
        f"at {data_dir}"
        + (f" (loaded in {meta['load_seconds']} s)" if meta.get("loaded_now") else " (cached)")
    )
    # MATCH scans every span; at 1M spans it must not hit the default 30 s query timeout.
    os.environ["TRACELAKE_QUERY_TIMEOUT_SECONDS"] = "600"
    with Server(data_dir) as server:
        waited = wait_for_index(server, meta["project_id"])
        print(f"  full-text index caught up after {waited:.1f} s", flush=True)
        run_http(server, classes, meta["project_id"], args.runs, args.budget)
    plan_locally(data_dir, classes, meta["project_id"])
    run_sql(data_dir / DB_FILE, classes, meta, args.runs, args.budget)
    if args.sql:
        for qc in classes:
            print(f"\n== {qc.name}\n-- BTQL: {qc.btql(meta['project_id'])}")
            print(f"-- engine SQL:\n{qc.engine_sql}")
            print(f"-- hand SQL:\n{qc.hand(meta['project_id'], meta['org_id'])}")
    report(classes)


if __name__ == "__main__":
    main()
