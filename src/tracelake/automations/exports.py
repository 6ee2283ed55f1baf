"""Scheduled export runs: plan a window of ``_xact_id``s, write its rows to deterministic file
names, write a manifest, then advance the cursor.

Exactly once: the plan (window, run date, first file number) is recorded before any file is
written; a run that crashed or failed is executed again from the same plan, so it rewrites
the same names (and deletes files of an earlier attempt that the new attempt did not
produce); the cursor moves only in the transaction that marks the run succeeded, after the
manifest is written. A row exported in a window is not exported again unless it changes.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import queue
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq

from tracelake.errors import InvalidRequest, TracelakeError
from tracelake.export.queries import ARROW, JSONL_FILE, QueryOptions, plan_request, run_query
from tracelake.export.sinks import Sink, open_sink
from tracelake.model.automations import export_credentials, server_access
from tracelake.model.xact import format_xact
from tracelake.query import ast
from tracelake.query.parsers import parse_query
from tracelake.query.sources import resolve_source
from tracelake.search.index import TextIndex
from tracelake.store import runs
from tracelake.store.catalog import Catalog, CatalogResolver, Principal
from tracelake.store.store import Store

ROWS_PER_FILE = 100_000


@dataclasses.dataclass
class ExportContext:
    """What a run needs from the server: the store, the catalog and the text index."""

    store: Store
    catalog: Catalog
    index: TextIndex | None = None
    query_timeout: float = 600
    on_progress: Callable[[], None] = lambda: None  # called between pages (lease renewal)


def principal_for(automation: dict) -> Principal:
    """Runs read as the automation's organization, read-only."""
    return Principal(automation["org_id"], "", "read", f"automation:{automation['id']}")


def window_query(automation: dict) -> ast.Query:
    """The query a run executes, before the window is injected."""
    config = automation["config"]
    definition = config["export_definition"]
    project = automation["project_id"].replace("'", "''")
    if definition["type"] == "log_spans":
        return parse_query(f"select: * | from: project_logs('{project}') spans")
    if definition["type"] == "log_traces":  # whole values, not the summary's previews
        return parse_query(
            f"select: * | from: project_logs('{project}') summary | preview_length: -1"
        )
    return parse_query(definition["btql_query"])


def by_traces(query: ast.Query) -> bool:
    """Whether the query returns traces (``traces`` or ``summary`` shape): a trace is exported
    in the window of its latest change, whole, once."""
    return getattr(query.from_, "shape", None) in ("traces", "summary")


def with_window(query: ast.Query, low: int, high: int) -> ast.Query:
    """The query restricted to rows whose ``_xact_id`` is in (low, high]."""
    xact = ast.Ident(name=("_xact_id",))
    window = ast.Logical(
        op="and",
        children=(
            ast.Binary(op="gt", left=xact, right=ast.Literal(value=low)),
            ast.Binary(op="le", left=xact, right=ast.Literal(value=high)),
        ),
    )
    combined = window if query.filter is None else ast.Logical("and", (query.filter, window))
    return dataclasses.replace(query, filter=combined, cursor=None)


def check_query(catalog: Catalog, org_id: str, config: object) -> None:
    """A custom export query must parse, name objects of the organization and plan as POST
    /btql plans it (its fields known to the source's object type, or in a JSON field such as
    ``metadata.*``; its custom columns, on a dataset, those saved now): checked when the
    automation is saved (and by ``test``), so a bad query fails then, with its line and
    column, not at its first run (``filter: foo = 1`` was saved, and every run failed)."""
    if not isinstance(config, dict) or config.get("event_type") != "btql_export":
        return
    definition = config.get("export_definition")
    if not isinstance(definition, dict) or definition.get("type") != "btql_query":
        return
    text = definition.get("btql_query")
    if not isinstance(text, str) or not text.strip():
        return  # validate_config names this problem
    query = with_window(parse_query(text), 0, 0)
    source = resolve_source(query, CatalogResolver(catalog, org_id))
    if not source.refs:
        raise InvalidRequest("the export query reads no objects")
    principal = Principal(org_id, "", "read", "automation")
    plan_request(catalog, principal, QueryOptions(query=query), None, bound=False)


def check_authority(catalog: Catalog, automation: dict) -> None:
    """An export acting with the server's own authority (a file:// path, the server's AWS
    credentials) runs only in the first organization: one of another organization saved
    before only instance admins could set such exports up fails instead of writing."""
    reason = server_access(automation["config"])
    if reason is not None and automation["org_id"] != catalog.first_org_id():
        raise InvalidRequest(
            f"{reason}, which only exports of the first organization may do: give this "
            "export aws_static or aws_iam credentials (a file:// export cannot run here)"
        )


# -- planning -------------------------------------------------------------------------------


def plan_export(ctx: ExportContext, automation: dict, at: datetime) -> dict:
    """The next run's plan: reuse an unfinished attempt's plan, or cut a new window of at most
    ``max_rows`` rows (whole transactions) after the cursor."""
    check_authority(ctx.catalog, automation)
    automation_id = automation["id"]
    state = runs.get_state(ctx.store, automation_id)
    config = automation["config"]
    unfinished = _unfinished_plan(ctx.store, automation_id)
    superseded: list[str] = []
    if unfinished is not None and unfinished.get("cursor_from") == state.cursor_xact:
        if _planned_as_configured(unfinished, config):
            return unfinished  # retry the same window to the same names
        # The definition or format changed since: plan anew, and remove what the unfinished
        # attempt may have written (by name), so its rows are not in the folder twice.
        superseded = [file_key(unfinished, n) for n in range(1, max_files(unfinished) + 1)]
        superseded.append(manifest_key(unfinished))
    query = window_query(automation)
    source = resolve_source(query, CatalogResolver(ctx.catalog, automation["org_id"]))
    refs = [(r.object_type.value, r.object_id) for r in source.refs]
    by_trace = by_traces(query)
    spans = getattr(query.from_, "shape", None) == "traces"  # every span of each trace
    high, rows, backlog, pages = _cut_window(
        ctx.store, refs, state.cursor_xact, config, by_trace, spans
    )
    run_date = at.astimezone(UTC).date().isoformat()
    return {
        "cursor_from": state.cursor_xact,
        "cursor_to": high,
        "estimated_rows": rows,
        "backlog": backlog,
        "run_date": run_date,
        # Names come from the plan, not from a listing of the folder: writing needs only
        # PutObject (and DeleteObject to clean up a failed attempt), as Braintrust's setup
        # grants; the planning time (to the millisecond) and a random tag keep names unique
        # and in run order, also after a reset.
        "run_tag": f"{at.astimezone(UTC):%H%M%S%f}"[:9] + f"-{os.urandom(3).hex()}",
        "format": config["format"],
        "export_definition": config["export_definition"],
        "superseded": superseded,
        "rows_per_file": config.get("rows_per_file") or ROWS_PER_FILE,
        "page_rows": config["batch_size"],
        # Spans are read a sub-window at a time (each about page_rows rows), which beats
        # deep cursor paging over the whole window; traces and custom queries (whose rows
        # may span sub-windows, or aggregate) read the whole window page by page.
        "pages": pages if config["export_definition"]["type"] == "log_spans" else None,
    }


def _planned_as_configured(plan: dict, config: dict) -> bool:
    """Whether a plan was made for the export's current definition and format (a plan of an
    older version records only the format)."""
    definition = plan.get("export_definition", config["export_definition"])
    return plan["format"] == config["format"] and definition == config["export_definition"]


def _unfinished_plan(store: Store, automation_id: str) -> dict | None:
    """The plan of the newest planned run, if that run did not succeed (runs that failed
    before they had a plan are skipped, however many there are)."""
    run = runs.newest_planned_run(store, automation_id)
    if run is not None and run["status"] in ("running", "failed"):
        return run["plan"]
    return None


def _cut_window(
    store: Store, refs, low: int, config: dict, by_trace: bool, spans_of_traces: bool = False
):
    """The highest xact such that (low, high] holds at most max_rows rows (or traces), the
    rows in it (with ``spans_of_traces``, a query of the traces shape, the spans of its
    traces: the rows it returns), the rows left after it (counted alike), and the window cut
    into pages of about batch_size rows (the xact ids that end each page). One transaction
    bigger than the cap is taken whole, so a window never splits a transaction."""
    if not refs:
        return low, 0, 0, []
    cap = config["max_rows"]
    definition = config["export_definition"]
    if definition["type"] == "btql_query":
        # A query's limit (`limit: 10000`, as Braintrust's examples write) caps the rows of
        # one run like max_rows; the rest is exported by the next runs.
        limit = parse_query(definition["btql_query"]).limit
        if limit is not None:
            cap = max(1, min(cap, limit))
    object_type = refs[0][0]  # one source reads objects of one type
    ids = [i for _, i in refs]
    if by_trace:  # a trace counts once, at its latest change
        per_xact = """SELECT x, count(*) AS n FROM (
                SELECT max(_xact_id) AS x FROM live
                WHERE object_type = ? AND object_id IN (SELECT unnest(?::VARCHAR[]))
                  AND _xact_id > ? GROUP BY object_type, object_id, root_span_id) GROUP BY x"""
    else:
        per_xact = """SELECT _xact_id AS x, count(*) AS n FROM live
                WHERE object_type = ? AND object_id IN (SELECT unnest(?::VARCHAR[]))
                  AND _xact_id > ? GROUP BY x"""
    params = [object_type, ids, low]
    if by_trace:  # traces whose latest change is after the cursor
        per_xact = per_xact.replace(
            "GROUP BY object_type, object_id, root_span_id)",
            "GROUP BY object_type, object_id, root_span_id HAVING max(_xact_id) > ?)",
        )
        params = [object_type, ids, 0, low]
    cum = f"""WITH per AS ({per_xact}),
                   cum AS (SELECT x, sum(n) OVER (ORDER BY x) AS c FROM per)"""

    def read(c):
        # Both queries in one snapshot: a write between them moves a row (or a trace) past
        # the high mark the first one found, and the second then found no page at all.
        c.begin()
        try:
            capped, first, total = c.execute(
                f"""{cum} SELECT (SELECT max(x) FROM cum WHERE c <= ?),
                                 (SELECT min(x) FROM cum), (SELECT max(c) FROM cum)""",
                [*params, cap],
            ).fetchone()
            if first is None:
                return None, None, [], None
            high = int(capped if capped is not None else first)
            bounds = c.execute(
                f"""{cum} SELECT max(x), max(c) FROM cum WHERE x <= ?
                    GROUP BY ceil(c / ?) ORDER BY 1""",
                [*params, high, config["batch_size"]],
            ).fetchall()
            spans = None
            if spans_of_traces:  # the spans of the traces whose latest change is inside,
                # and of those left after it (the backlog, counted in the rows it returns)
                spans = c.execute(
                    """SELECT count(*) FILTER (WHERE t.x <= ?), count(*) FILTER (WHERE t.x > ?)
                       FROM live l JOIN (
                           SELECT object_id, root_span_id, max(_xact_id) AS x FROM live
                           WHERE object_type = ? AND object_id IN (SELECT unnest(?::VARCHAR[]))
                           GROUP BY object_id, root_span_id HAVING max(_xact_id) > ?) t
                         ON l.object_id = t.object_id AND l.root_span_id = t.root_span_id
                       WHERE l.object_type = ?
                         AND l.object_id IN (SELECT unnest(?::VARCHAR[]))""",
                    [high, high, object_type, ids, low, object_type, ids],
                ).fetchone()
            return high, total, bounds, spans
        finally:
            c.rollback()

    high, total, bounds, spans = store.read(read)
    if high is None:
        return low, 0, 0, []
    inside = int(bounds[-1][1])
    if spans is not None:
        return high, int(spans[0]), int(spans[1]), [int(b[0]) for b in bounds]
    return high, inside, int(total) - inside, [int(b[0]) for b in bounds]


def file_key(plan: dict, number: int) -> str:
    if "run_tag" not in plan:  # planned by an older version, numbered within the day
        return f"{plan['run_date']}/export_{plan['first_file'] + number - 1:03d}.{plan['format']}"
    return f"{plan['run_date']}/export_{plan['run_tag']}_{number:03d}.{plan['format']}"


def manifest_key(plan: dict) -> str:
    if "run_tag" not in plan:
        return f"{plan['run_date']}/manifest_{plan['first_file']:03d}.json"
    return f"{plan['run_date']}/manifest_{plan['run_tag']}.json"


def max_files(plan: dict) -> int:
    """At most this many files: the window's rows can only get fewer (a row written again
    leaves the window), so no attempt of the plan writes more than the estimate; and no
    more than the files its attempts started, as recorded (a query that unpivots returns
    more rows than the window holds)."""
    estimate = -(-(plan.get("estimated_rows") or 0) // plan["rows_per_file"])
    return max(1, estimate, plan.get("files_started") or 0)


# -- execution -------------------------------------------------------------------------------


@dataclasses.dataclass
class RunOutcome:
    rows: int
    bytes: int
    files: list[str]


def execute_export(ctx: ExportContext, automation: dict, plan: dict, run_id: str) -> RunOutcome:
    """Write the plan's rows, clean up files of an earlier attempt, then the manifest."""
    config = automation["config"]
    credentials = export_credentials(automation)
    if plan.get("superseded"):  # an unfinished attempt planned with another definition
        open_sink(config["export_path"], credentials).delete(plan["superseded"])
    if plan["cursor_to"] <= plan["cursor_from"]:
        return RunOutcome(0, 0, [])
    sink = open_sink(config["export_path"], credentials)
    base = window_query(automation)
    windows = [(plan["cursor_from"], plan["cursor_to"])]
    if plan.get("pages"):
        edges = [plan["cursor_from"], *plan["pages"]]
        windows = list(zip(edges, edges[1:], strict=False))
    started = time.time()

    def on_file(number: int) -> None:
        # Recorded before the file is uploaded: a later attempt deletes what this one may
        # have written beyond the plan's estimate.
        if number > (plan.get("files_started") or 0) and number > max_files(plan):
            runs.record_files(ctx.store, run_id, number)
            plan["files_started"] = number

    writer = _FileWriter(sink, plan, on_file)

    if by_traces(base):
        base = _without_later_traces(ctx, automation, base, plan)

    def pages():
        for low, high in windows:
            query = dataclasses.replace(with_window(base, low, high), limit=plan["page_rows"])
            yield from _pages(ctx, automation, query, plan["format"], writer.scratch)

    # Files are written and uploaded here while a thread queries the next page.
    reader = _read_ahead(pages())
    try:
        for page in reader:
            writer.add(page)
            ctx.on_progress()
        writer.close()
    finally:
        reader.close()  # stops the reading thread before its scratch files go
        writer.discard()
    _remove_stale_files(sink, plan, writer.keys)
    if writer.keys:
        manifest = {
            "automation_id": automation["id"],
            "run_id": run_id,
            "export_definition": config["export_definition"],
            "format": plan["format"],
            # As the rows' _xact_id and the run history's cursor: 19-digit strings (a JSON
            # number this large loses digits in JavaScript and most JSON readers); none
            # before the first export.
            "window": {
                "from_xact_id": format_xact(plan["cursor_from"]) if plan["cursor_from"] else None,
                "to_xact_id": format_xact(plan["cursor_to"]),
            },
            "files": writer.manifest_files,
            "rows": writer.total_rows,
            "bytes": writer.total_bytes,
            "seconds": round(time.time() - started, 3),
        }
        sink.put_bytes(manifest_key(plan), json.dumps(manifest, indent=2).encode())
    return RunOutcome(writer.total_rows, writer.total_bytes, writer.keys)


def _without_later_traces(ctx: ExportContext, automation: dict, query: ast.Query, plan: dict):
    """The query without the traces that changed in the window but also after it: each is
    exported whole in the window of its latest change, not once per window it touches."""
    source = resolve_source(query, CatalogResolver(ctx.catalog, automation["org_id"]))
    if not source.refs:
        return query
    later = ctx.store.read(
        lambda c: c.execute(
            """SELECT root_span_id FROM live
               WHERE object_type = ? AND object_id IN (SELECT unnest(?::VARCHAR[]))
                 AND _xact_id > ? GROUP BY root_span_id
               HAVING max(_xact_id) > ? AND min(_xact_id) <= ?""",
            [
                source.refs[0].object_type.value,
                [r.object_id for r in source.refs],
                plan["cursor_from"],
                plan["cursor_to"],
                plan["cursor_to"],
            ],
        ).fetchall()
    )
    if not later:
        return query
    keep = ast.Unary(
        op="not",
        expr=ast.Binary(
            op="in",
            left=ast.Ident(name=("root_span_id",)),
            right=ast.Literal(value=[r[0] for r in later]),
        ),
    )
    combined = keep if query.filter is None else ast.Logical("and", (query.filter, keep))
    return dataclasses.replace(query, filter=combined)


def _read_ahead(items, depth: int = 1):
    """Iterate ``items`` while a thread computes the next ones (at most ``depth`` ahead)."""
    ahead: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def produce():
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        ahead.put((item, None), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            ahead.put((done, None))
        except BaseException as exc:  # handed to the consumer
            ahead.put((done, exc))

    thread = threading.Thread(target=produce, name="tracelake-export-reader", daemon=True)
    thread.start()
    try:
        while True:
            item, error = ahead.get()
            if item is done:
                if error is not None:
                    raise error
                return
            yield item
    finally:
        stop.set()
        thread.join()


@dataclasses.dataclass
class _Page:
    table: object = None  # parquet: the rows as an Arrow table
    path: str | None = None  # jsonl: the rows as JSON lines in this scratch file
    rows: int = 0


def _pages(ctx: ExportContext, automation: dict, query: ast.Query, fmt: str, scratch: str):
    principal = principal_for(automation)
    cursor = None
    while True:
        path = None
        if fmt == "jsonl":
            handle, path = tempfile.mkstemp(suffix=".jsonl", dir=scratch)
            os.close(handle)
        options = QueryOptions(
            query=dataclasses.replace(query, cursor=cursor),
            fmt=ARROW if fmt == "parquet" else JSONL_FILE,
            output_path=path,
        )
        result = run_query(
            ctx.store, ctx.catalog, principal, options, timeout=ctx.query_timeout, index=None
        )
        if fmt == "parquet":
            yield _Page(table=result.table, rows=result.table.num_rows)
        else:
            yield _Page(path=path, rows=result.row_count)
        cursor = result.cursor
        if not cursor:
            return


class _FileWriter:
    """Rolls pages into local files of ``rows_per_file`` rows and uploads each when full
    (in the background; ``close`` waits for the uploads)."""

    def __init__(self, sink: Sink, plan: dict, on_file: Callable[[int], None] = lambda n: None):
        self.sink = sink
        self.plan = plan
        self.on_file = on_file  # called with a file's number before it is uploaded
        self.keys: list[str] = []
        self.manifest_files: list[dict] = []
        self.total_rows = 0
        self.total_bytes = 0
        self._dir = tempfile.mkdtemp(prefix="tracelake-export-")
        self.scratch = tempfile.mkdtemp(prefix="pages-", dir=self._dir)
        self._path: Path | None = None
        self._rows = 0
        self._parquet = None
        self._jsonl = None
        # Finished files upload on a thread of their own while the next one is written.
        self._uploader = ThreadPoolExecutor(1, thread_name_prefix="tracelake-export-upload")
        self._uploads: list[Future] = []

    def add(self, page) -> None:
        if self.plan["format"] == "parquet":
            table = page.table
            offset = 0
            while offset < table.num_rows:
                self._open()
                take = min(table.num_rows - offset, self.plan["rows_per_file"] - self._rows)
                part = table.slice(offset, take)
                if self._parquet is None:
                    self._parquet = pq.ParquetWriter(self._path, part.schema, compression="zstd")
                elif part.schema != self._parquet.schema:
                    part = part.cast(self._parquet.schema)
                self._parquet.write_table(part)
                self._advance(take)
                offset += take
        else:
            with open(page.path, "rb") as source:
                remaining = page.rows
                while remaining:
                    self._open()
                    take = min(remaining, self.plan["rows_per_file"] - self._rows)
                    self._jsonl.writelines(itertools.islice(source, take))
                    self._advance(take)
                    remaining -= take
            os.unlink(page.path)

    def _open(self) -> None:
        if self._path is None:
            self._path = Path(self._dir) / f"export_{len(self.keys) + 1:03d}"
            self._rows = 0
            if self.plan["format"] == "jsonl":
                self._jsonl = open(self._path, "wb")  # noqa: SIM115 - closed in _finish

    def _advance(self, rows: int) -> None:
        self._rows += rows
        if self._rows >= self.plan["rows_per_file"]:
            self._finish()

    def _finish(self) -> None:
        if self._path is None:
            return
        if self._parquet is not None:
            self._parquet.close()
            self._parquet = None
        if self._jsonl is not None:
            self._jsonl.close()
            self._jsonl = None
        self.on_file(len(self.keys) + 1)
        key = file_key(self.plan, len(self.keys) + 1)
        size = self._path.stat().st_size
        self._uploads.append(self._uploader.submit(self._upload, key, self._path))
        self.keys.append(key)
        self.manifest_files.append({"key": key, "rows": self._rows, "bytes": size})
        self.total_rows += self._rows
        self.total_bytes += size
        self._path = None

    def _upload(self, key: str, path: Path) -> None:
        self.sink.put_file(key, path)
        os.unlink(path)

    def close(self) -> None:
        """Finish the last file and wait for every upload (the first failure is raised)."""
        self._finish()
        for upload in self._uploads:
            upload.result()

    def discard(self) -> None:
        for handle in (self._parquet, self._jsonl):
            if handle is not None:
                handle.close()
        for upload in self._uploads:
            upload.cancel()
        self._uploader.shutdown(wait=True)
        shutil.rmtree(self._dir, ignore_errors=True)


def _remove_stale_files(sink: Sink, plan: dict, written: list[str]) -> None:
    """Files an earlier attempt of this plan wrote beyond what this attempt wrote, by name (no
    listing, so credentials without ListBucket do)."""
    stale = [
        key
        for key in (file_key(plan, n) for n in range(len(written) + 1, max_files(plan) + 1))
        if key not in written
    ]
    if stale:
        sink.delete(stale)


def describe_failure(exc: Exception) -> str:
    """A run's error in plain words (storage and query errors carry their own)."""
    if isinstance(exc, TracelakeError):
        return exc.message
    return f"{type(exc).__name__}: {exc}"
