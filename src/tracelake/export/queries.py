"""Running a query and rendering its page: parse, resolve its sources in the caller's
organization, plan, execute with a timeout, and render the page in the requested format
with its cursor. It sits above the store (it reads through it) and beside the formats."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import duckdb

from tracelake.errors import QueryTimeout
from tracelake.export.custom_columns import apply_custom_columns
from tracelake.export.formats import FORMATS, arrow_table, describe, json_rows, json_schema
from tracelake.query.errors import QueryError
from tracelake.query.indexed import IndexedCompiler
from tracelake.query.parsers import parse_query
from tracelake.query.planner import Plan, plan_query
from tracelake.query.sources import resolve_source
from tracelake.search.index import TextIndex
from tracelake.store.catalog import Catalog, CatalogResolver, Principal
from tracelake.store.store import Store

ARROW = "arrow"  # internal format: the page as an Arrow table (for streaming exports)


@dataclass(frozen=True)
class QueryOptions:
    query: str | dict
    fmt: str = "json"
    tz_offset: int = 0
    version: int | None = None
    audit_log: bool = False


@dataclass
class QueryResult:
    rows: list[str] = field(default_factory=list)  # json rows (fmt json)
    body: bytes = b""  # the rendered page (other formats)
    schema: dict = field(default_factory=dict)
    cursor: str | None = None
    freshness: dict = field(default_factory=dict)
    sql: str = ""
    table: object = None  # a pyarrow Table (fmt "arrow": export streams pages this way)


def plan_request(
    catalog: Catalog,
    principal: Principal,
    options: QueryOptions,
    index: TextIndex | None = None,
) -> Plan:
    """Parse and plan a query for the caller (no data is read). With ``index``, MATCH and
    search() are narrowed by the full-text index (pinned versions always scan)."""
    query = parse_query(options.query)
    source = resolve_source(query.from_, CatalogResolver(catalog, principal.org_id))
    query = apply_custom_columns(catalog.store, query, source)
    compiler = None
    if index is not None and options.version is None:
        objects = [(r.object_type.value, r.object_id) for r in source.refs]

        def lookup(tokens: list[str]):
            watermark = index.watermark
            ids = index.candidates(objects, tokens)
            return None if ids is None else (watermark, ids)

        compiler = IndexedCompiler(lookup)
    return plan_query(
        query,
        source,
        org_id=principal.org_id,
        version=options.version,
        tz_offset=options.tz_offset,
        audit_log=options.audit_log,
        compiler=compiler,
    )


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
    result = store.read(lambda cursor: _execute(cursor, store, plan, options, timeout))
    if index is not None:
        # What the full-text index has absorbed; newer rows were scanned, so the answer
        # is complete either way.
        result.freshness["last_processed_xact_id"] = _xact(index.watermark)
    return result


def _execute(cursor, store: Store, plan: Plan, options: QueryOptions, timeout: float):
    timer = threading.Timer(timeout, cursor.interrupt)
    timer.start()
    try:
        cursor.execute(f"CREATE OR REPLACE TEMP TABLE query_page AS {plan.sql}")
        next_cursor = plan.next_cursor(cursor, "query_page")
        output = plan.output
        if output is None:  # pivot: the columns depend on the data
            names = [r[0] for r in cursor.execute("DESCRIBE query_page").fetchall()]
            output = [n for n in names if not n.startswith("__")]
        visible = ", ".join(_quote(name) for name in output)
        # CREATE TABLE AS keeps the query's order (DuckDB preserves insertion order).
        page_sql = f"SELECT {visible} FROM query_page"
        columns = describe(cursor, page_sql, [])
        result = QueryResult(
            schema=json_schema(columns),
            cursor=next_cursor,
            freshness={
                "last_considered_xact_id": _xact(store.clock.last),
                "last_processed_xact_id": _xact(store.clock.last),
            },
            sql=plan.sql,
        )
        if options.fmt == "json":
            result.rows = json_rows(cursor, page_sql, [], columns)
        elif options.fmt == ARROW:
            result.table = arrow_table(cursor, page_sql, [], columns)
        else:
            result.body = FORMATS[options.fmt].render(cursor, page_sql, [], columns)
        cursor.execute("DROP TABLE IF EXISTS query_page")
        return result
    except duckdb.InterruptException:
        raise QueryTimeout(f"the query ran longer than {timeout:g} s and was stopped") from None
    except duckdb.Error as exc:
        # The compiler coerces types and guards paths, so this is rare; it is still the
        # query's fault (e.g. an out-of-range cast), not the server's.
        raise QueryError(f"the query could not run: {exc}") from None
    finally:
        timer.cancel()


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _xact(value: int) -> str | None:
    return f"{value:019d}" if value else None
