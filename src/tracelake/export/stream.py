"""Ad hoc export: every row of an object (optionally filtered by BTQL) in one file, streamed
page by page, so no whole result is held in memory. Parquet goes out a row group (a page) at
a time as well; its footer comes last."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import PurePath

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from tracelake.errors import InvalidRequest, NotFound
from tracelake.export.queries import ARROW, QueryOptions, QueryResult
from tracelake.query.errors import QueryError, SourceNotFound
from tracelake.query.parsers import parse_expression

EXPORT_FORMATS = ("json", "jsonl", "csv", "parquet")
SOURCES = ("project_logs", "experiment", "dataset")
SHAPES = ("spans", "traces", "summary")
PAGE_ROWS = 5_000
FILTER_PREFIX = "filter: "  # the filter is the query's first line, so positions map back


@dataclass(frozen=True)
class ExportRequest:
    object_type: str
    object: str  # id or name
    format: str = "jsonl"
    filter: str | None = None
    shape: str = "spans"
    audit_log: bool = False  # each row's audit_data too (spans and traces)
    version: int | None = None  # the rows as of this transaction id (an old dataset version)

    def __post_init__(self):
        # A blank filter (an emptied form field, `--filter " "`) filters nothing.
        if self.filter is not None and not self.filter.strip():
            object.__setattr__(self, "filter", None)

    def check(self) -> None:
        """InvalidRequest for a bad argument; a filter must be one BTQL expression (no other
        clauses), and its errors point into it."""
        if self.object_type not in SOURCES:
            raise InvalidRequest(f"object type must be one of {', '.join(SOURCES)}")
        if not self.object:
            # (the export's own query then said "project_logs() takes object ids or names as
            # strings", of a query the caller never wrote)
            owner = "project" if self.object_type == "project_logs" else self.object_type
            raise InvalidRequest(f"give the {owner}'s id or name to export")
        if self.format not in EXPORT_FORMATS:
            raise InvalidRequest(f"format must be one of {', '.join(EXPORT_FORMATS)}")
        if self.shape not in SHAPES:
            raise InvalidRequest(f"shape must be one of {', '.join(SHAPES)}")
        if self.audit_log and self.shape == "summary":
            # a summary row is a whole trace's: it has no audit_data of its own
            raise InvalidRequest("audit_log applies to the spans and traces shapes")
        if self.filter:
            try:
                parse_expression(self.filter)
            except QueryError as exc:
                raise QueryError(f"{exc.detail} in the filter", exc.line, exc.col) from None

    def query(self, cursor: str | None) -> str:
        """The BTQL of one page (of a checked request)."""
        # A BTQL string takes a backslash as an escape (of a quote or a backslash), so a name
        # holding one doubles it, or a name ending in one ran the string on (a 400 about the
        # export's own query).
        name = self.object.replace("\\", "\\\\").replace("'", "''")
        parts = [f"{FILTER_PREFIX}{self.filter}"] if self.filter else []
        parts += [
            "select: *",
            f"from: {self.object_type}('{name}') {self.shape}",
            f"limit: {PAGE_ROWS if self.shape != 'traces' else 500}",
        ]
        if self.shape == "summary":
            parts.append("preview_length: -1")  # an export carries whole values
        if cursor:
            parts.append(f"cursor: '{cursor}'")
        return "\n".join(parts)


def format_of(path: PurePath) -> str:
    """The export format a file's extension names (``.ndjson`` is JSON lines), else jsonl."""
    suffix = path.suffix.lower().lstrip(".")
    suffix = "jsonl" if suffix == "ndjson" else suffix
    return suffix if suffix in EXPORT_FORMATS else "jsonl"


Runner = Callable[[QueryOptions], QueryResult]


def pages(request: ExportRequest, run: Runner, fmt: str) -> Iterator[QueryResult]:
    """Every page of the export, following cursors to the end."""
    cursor = None
    while True:
        options = QueryOptions(
            query=request.query(cursor),
            fmt=fmt,
            audit_log=request.audit_log,
            version=request.version,
        )
        result = run(options)
        yield result
        cursor = result.cursor
        if not cursor:
            return


def stream(request: ExportRequest, run: Runner, on_rows=None) -> Iterator[bytes]:
    """The export file as chunks of bytes. ``on_rows(n)`` is told as rows are written.

    The request is checked and the first page read before anything is yielded, so a bad
    filter fails before a response has started."""
    request.check()
    if request.format in ("json", "jsonl"):
        first = pages(request, run, "json")
    else:
        first = pages(request, run, ARROW)
    page_iter = iter(first)
    try:
        opening = next(page_iter)
    except QueryError as exc:
        filter_lines = request.filter.count("\n") + 1 if request.filter else 0
        if exc.line is not None and exc.line <= filter_lines and exc.col is not None:
            col = max(1, exc.col - len(FILTER_PREFIX)) if exc.line == 1 else exc.col
            # "aggregate count() is not allowed in filter" names the clause already
            detail = exc.detail.removesuffix(" in filter")
            raise QueryError(f"{detail} in the filter", exc.line, col) from None
        if exc.line is not None:
            # A position in the export's own query (``from: dataset(…) summary`` on line 2)
            # means nothing to the caller, who wrote only the filter.
            raise QueryError(exc.detail) from None
        raise
    except SourceNotFound as exc:  # (its position too is in the export's own query)
        raise NotFound(exc.detail) from None
    return _chunks(request.format, opening, page_iter, on_rows or (lambda n: None))


def _chunks(fmt, opening, rest, on_rows) -> Iterator[bytes]:
    def all_pages():
        yield opening
        yield from rest

    if fmt == "json":
        yield b"["
        first = True
        for page in all_pages():
            if page.rows:
                yield (b"" if first else b",") + ",".join(page.rows).encode()
                first = False
                on_rows(len(page.rows))
        yield b"]\n"
    elif fmt == "jsonl":
        for page in all_pages():
            if page.rows:
                yield ("\n".join(page.rows) + "\n").encode()
                on_rows(len(page.rows))
    elif fmt == "csv":
        names = None
        for page in all_pages():
            table = page.table if names is None else _conformed(page.table, names)
            sink = io.BytesIO()
            pa_csv.write_csv(table, sink, pa_csv.WriteOptions(include_header=names is None))
            names = names or table.schema.names
            on_rows(table.num_rows)
            yield sink.getvalue()
    else:
        yield from _parquet(all_pages(), on_rows)


def _conformed(table: pa.Table, names: list[str]) -> pa.Table:
    """A later page with the columns of the first, in its order: a dataset's custom column
    saved or removed while the export streams changes the columns of the pages after it
    (CSV rows then ran under the wrong header; Parquet's writer failed midway). A column
    the page lacks is null; one the first page lacked is left out."""
    if table.schema.names == names:
        return table
    have = set(table.schema.names)
    columns = [
        table.column(n) if n in have else pa.nulls(table.num_rows, pa.string()) for n in names
    ]
    return pa.Table.from_arrays(columns, names=names)


class _Sink(io.RawIOBase):
    """Where the Parquet writer writes: it keeps the bytes until they are taken, so each row
    group goes out as soon as it is written (only the footer waits for the end)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.written = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.parts.append(bytes(data))
        self.written += len(data)
        return len(data)

    def tell(self) -> int:
        return self.written

    def take(self) -> bytes:
        out = b"".join(self.parts)
        self.parts.clear()
        return out


def _parquet(all_pages, on_rows) -> Iterator[bytes]:
    sink = _Sink()
    writer = None
    for page in all_pages:
        table = page.table
        if writer is None:
            writer = pq.ParquetWriter(sink, table.schema, compression="zstd")
        elif table.schema != writer.schema:
            table = _conformed(table, writer.schema.names).cast(writer.schema)
        writer.write_table(table)
        on_rows(table.num_rows)
        if chunk := sink.take():
            yield chunk
    if writer is not None:
        writer.close()
    if chunk := sink.take():
        yield chunk
