"""Reading an uploaded CSV, JSON or JSONL file into dataset rows, whole or not at all.

The file is read in batches (CSV with pyarrow's streaming reader, JSONL line by line) and
never held whole in memory, except a JSON array, which must be parsed whole. A JSON file's
columns are the keys of all its objects, found before any row is mapped (JSONL takes a first
pass for it), so one mapping applies to every row. Each batch is mapped to dataset rows by
one SQL statement in an in-memory DuckDB (cell typing, nesting under keys, tags), checked,
and appended to a Parquet staging file. Only when the whole file has been read without a
problem does the caller commit the staging file as one write (one ``_xact_id``); any
problem raises ``InvalidRequest`` naming the row, the column and the reason, and nothing is
written.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import orjson
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from tracelake.datasets.row_mapping import (
    CellBatch,
    RowCheck,
    check_fields,
    map_batch,
    typed_cells,
)
from tracelake.errors import InvalidRequest, UnsupportedMediaType
from tracelake.model.column_mapping import (
    VALUE_FIELDS,
    ColumnMapping,
    build_mapping,
    propose_mapping,
)
from tracelake.model.rows import json_texts

FORMATS = ("csv", "json", "jsonl")
CONTENT_TYPES = {
    "text/csv": "csv",
    "application/csv": "csv",
    "application/json": "json",
    "application/x-ndjson": "jsonl",
    "application/jsonl": "jsonl",
    "application/x-jsonlines": "jsonl",
}
# Pagination keys give a row's position in its write seven digits.
MAX_ROWS = 9_999_999
BLOCK_BYTES = 4 << 20
JSON_BATCH_ROWS = 20_000
PREVIEW_ROWS = 20

# The in-memory database that maps batches: batches are small, so a low memory limit keeps
# the import's footprint flat.
STAGING_DB_CONFIG = {"autoload_known_extensions": "false", "memory_limit": "256MB"}

Progress = Callable[[int], None]  # told the bytes read so far

# The standard library's CSV reader (the header, and where a broken file breaks) refuses a
# cell over 128 KiB by default: a ragged row after a long cell was a 500. (Process-wide.)
csv.field_size_limit(2**31 - 1)


def detect_format(explicit: str | None, content_type: str | None, filename: str | None) -> str:
    """The file's format: ``explicit`` if given, else from the Content-Type, else from the
    file name's extension. A form is refused: its parts are no file of rows."""
    media = (content_type or "").split(";")[0].strip().lower()
    if media.startswith("multipart/") or media == "application/x-www-form-urlencoded":
        # (curl -F sends a multipart form, whose boundary lines became the CSV header and
        # rows; curl -d a urlencoded one, with the file's line breaks dropped)
        raise UnsupportedMediaType(
            f"the file goes as the raw request body, not as a form ({media}): for example"
            " curl --data-binary @cases.csv -H 'Content-Type: text/csv'"
        )
    if explicit:
        fmt = explicit.lower().lstrip(".")
        if fmt == "ndjson":
            fmt = "jsonl"
        if fmt not in FORMATS:
            raise InvalidRequest(f"format must be one of {', '.join(FORMATS)}")
        return fmt
    if content_type:
        fmt = CONTENT_TYPES.get(content_type.split(";")[0].strip().lower())
        if fmt:
            return fmt
    if filename:
        suffix = Path(filename).suffix.lower().lstrip(".")
        suffix = "jsonl" if suffix == "ndjson" else suffix
        if suffix in FORMATS:
            return suffix
    raise InvalidRequest(
        "cannot tell the file's format: give format=csv|json|jsonl, a Content-Type "
        "(text/csv, application/json, application/x-ndjson) or a file name with that extension"
    )


@dataclass
class StagedImport:
    """A file read, mapped and checked: its rows wait in a Parquet file for one commit."""

    path: Path
    rows: int
    has_ids: bool
    columns: list[str]
    mapping: dict[str, str]
    warnings: list[str]

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


def stage_file(
    path: Path,
    fmt: str,
    mapping: dict[str, str] | None,
    staging_dir: Path,
    *,
    check: RowCheck | None = None,
    progress: Progress | None = None,
) -> StagedImport:
    """Read, map and check the whole file into a Parquet staging file."""
    staging_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="import-", suffix=".parquet", dir=staging_dir)
    os.close(fd)
    out = Path(name)
    writer: pq.ParquetWriter | None = None
    rows = 0
    has_ids = False
    column_mapping: ColumnMapping | None = None
    con = duckdb.connect(config=STAGING_DB_CONFIG)
    try:
        for batch in _batches(path, fmt, progress):
            if column_mapping is None:  # every batch has the file's columns
                columns = batch.columns
                column_mapping = build_mapping(columns, mapping)
            mapped = map_batch(con, batch, column_mapping)
            if check is not None and column_mapping.id_column is None:
                check_fields(mapped, check)
            rows += mapped.num_rows
            if rows > MAX_ROWS:
                raise InvalidRequest(f"a file may hold at most {MAX_ROWS:,} rows")
            has_ids = has_ids or column_mapping.id_column is not None
            if writer is None:
                writer = pq.ParquetWriter(out, mapped.schema, compression="none")
            writer.write_table(mapped)
        if writer is None:
            raise InvalidRequest("the file has no rows")
        writer.close()
        writer = None
        if check is not None and has_ids:
            _check_kept_rows(con, out, check)
    except BaseException:
        if writer is not None:
            writer.close()
        out.unlink(missing_ok=True)
        raise
    finally:
        con.close()
        # Hand the batches' buffers back to the system before the commit needs memory.
        pa.default_memory_pool().release_unused()
    assert column_mapping is not None
    return StagedImport(
        path=out,
        rows=rows,
        has_ids=has_ids,
        columns=list(column_mapping.targets),
        mapping={c: str(t) for c, t in column_mapping.targets.items()},
        warnings=file_warnings(path, fmt),
    )


def _check_kept_rows(con, staged: Path, check: RowCheck) -> None:
    """Check only the rows an import keeps: of rows sharing an id the last one wins, so an
    earlier duplicate must not be refused for a value that is never written."""
    kept = con.sql(
        "SELECT * FROM read_parquet($path) QUALIFY id IS NULL"
        " OR _row = max(_row) OVER (PARTITION BY id) ORDER BY _row",
        params={"path": str(staged)},
    ).to_arrow_table()
    for batch in kept.to_batches(10_000):
        check_fields(pa.Table.from_batches([batch]), check)


def preview_file(
    path: Path, fmt: str, mapping: dict[str, str] | None = None, limit: int = PREVIEW_ROWS
) -> dict:
    """The first rows of a file: its columns with the types of their cells, the mapping
    proposed for them, the typed cells, and the dataset rows they would become."""
    batch = next(_batches(path, fmt, None, limit=limit), None)
    if batch is None:
        raise InvalidRequest("the file has no rows")
    columns = batch.columns
    con = duckdb.connect(config=STAGING_DB_CONFIG)
    try:
        table, refs = batch.sql_table()
        cells = typed_cells(con, table, [refs[c] for c in columns], batch.raw_text)
        typed = list(zip(*(a.to_pylist() for a in cells), strict=True))
        column_mapping = build_mapping(columns, mapping)
        mapped = map_batch(con, batch, column_mapping)
    finally:
        con.close()
    rows = [
        {c: (None if v is None else orjson.loads(v)) for c, v in zip(columns, row, strict=True)}
        for row in typed
    ]
    described = []
    for index, column in enumerate(columns):
        kinds = []
        for row in typed:
            kind = _json_kind(None if row[index] is None else orjson.loads(row[index]))
            if kind not in kinds:
                kinds.append(kind)
        described.append({"name": column, "types": kinds})
    return {
        "format": fmt,
        "columns": described,
        "proposed_mapping": propose_mapping(columns),
        "mapping": {c: str(t) for c, t in column_mapping.targets.items()},
        "rows": rows,
        "records": [_record(r) for r in mapped.to_pylist()],
        "warnings": file_warnings(path, fmt),
    }


def _record(row: dict) -> dict:
    out = {"id": row["id"]}
    for name in VALUE_FIELDS:
        out[name] = None if row[name] is None else orjson.loads(row[name])
    out["tags"] = row["tags"]
    return out


def _json_kind(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


# -- reading files ------------------------------------------------------------------------------


def _batches(path: Path, fmt: str, progress: Progress | None, limit: int | None = None):
    """The file's rows in batches; with ``limit``, only its first rows (a preview), with
    the columns of the whole file: CSV reads its header and first block, JSONL parses every
    line for its keys, a JSON array is parsed whole."""
    size = path.stat().st_size
    if size == 0 or not _has_content(path):
        raise InvalidRequest("the file is empty")
    if fmt == "csv":
        return _csv_batches(path, progress, limit)
    if fmt == "jsonl":
        if limit is not None:
            return _jsonl_head(path, limit)
        return _jsonl_batches(path, progress)
    return _json_array_batches(path, progress, limit)


def _has_content(path: Path) -> bool:
    with open(path, "rb") as f:
        head = f.read(1 << 16)
        while head:
            if head.strip().lstrip(codecs.BOM_UTF8).strip():
                return True
            head = f.read(1 << 16)
    return False


class _CountingFile(io.RawIOBase):
    """A file that tells ``progress`` how many bytes have been read, and counts the double
    quotes in them (an odd count is how an unclosed quoted value shows)."""

    def __init__(self, path: Path, progress: Progress | None):
        self._file = open(path, "rb")  # noqa: SIM115 - closed by close()
        self._progress = progress
        self.read_bytes = 0
        self.quotes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self._file.readinto(buffer) or 0
        self.read_bytes += n
        self.quotes += bytes(memoryview(buffer)[:n]).count(b'"')
        if self._progress is not None and n:
            self._progress(self.read_bytes)
        return n

    def close(self) -> None:
        self._file.close()
        super().close()


def _csv_header(path: Path) -> tuple[list[str], list[str]]:
    """The CSV file's column names, each header cell with the spaces around it dropped
    (``" input "`` is the column ``input``, as a spreadsheet's ``input, expected`` means),
    and a warning for each cell trimmed so. A name that is empty, or that another cell has,
    once trimmed is refused: the mapping could not tell the columns apart."""
    with open(path, encoding="utf-8-sig", errors="strict", newline="") as f:
        try:
            header = next(csv.reader(f), None)
        except UnicodeDecodeError:
            raise InvalidRequest(_utf8_problem(path)) from None
    if not header:  # (a file of blank lines is found empty before this)
        raise InvalidRequest("line 1: the header is empty (the first line must name the columns)")
    names = [h.strip() for h in header]
    warnings = []
    first: dict[str, int] = {}
    for index, (name, cell) in enumerate(zip(names, header, strict=True)):
        if not name:
            spaces = f" (its cell {cell!r} is only spaces)" if cell else ""
            raise InvalidRequest(f"line 1: column {index + 1} has no name{spaces}")
        if name == "_row":
            raise InvalidRequest("line 1: a column may not be named _row")
        if name in first:
            other = first[name]
            cells = (
                f" (the cells {header[other]!r} and {cell!r}: spaces around a name are dropped)"
                if header[other] != cell
                else ""
            )
            raise InvalidRequest(
                f"line 1: columns {other + 1} and {index + 1} are both named {name!r}{cells}"
            )
        first[name] = index
        if name != cell:
            warnings.append(
                f"line 1: column {index + 1}'s name {cell!r} is read as {name!r}"
                " (spaces around a name are dropped)"
            )
    return names, warnings


def file_warnings(path: Path, fmt: str) -> list[str]:
    """What the import changes of the file as it reads it, for the preview and the import
    to say: a CSV header cell with spaces around it."""
    return _csv_header(path)[1] if fmt == "csv" else []


def _csv_batches(path: Path, progress: Progress | None, limit: int | None) -> Iterator[CellBatch]:
    names, _ = _csv_header(path)
    ragged: list[str] = []

    def on_invalid_row(row) -> str:
        ragged.append(row.text)
        return "error"

    source = _CountingFile(path, progress)
    try:
        try:
            reader = pa_csv.open_csv(
                source,
                # The header is read as a first record and dropped below: skip_rows skips
                # lines, so a header cell with a line break in it made its rest a row.
                read_options=pa_csv.ReadOptions(column_names=names, block_size=BLOCK_BYTES),
                parse_options=pa_csv.ParseOptions(
                    newlines_in_values=True, invalid_row_handler=on_invalid_row
                ),
                convert_options=pa_csv.ConvertOptions(
                    column_types=dict.fromkeys(names, pa.string()),
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                ),
            )
            start = 1
            header = True
            while True:
                try:
                    table = pa.Table.from_batches([reader.read_next_batch()])
                except StopIteration:
                    break
                if header and table.num_rows:
                    table = table.slice(1)
                    header = False
                if not table.num_rows:
                    continue
                if limit is not None:
                    table = table.slice(0, limit - start + 1)
                n = table.num_rows
                rows = pa.array(range(start, start + n), pa.int64())
                yield CellBatch(table.append_column("_row", rows), raw_text=True)
                start += n
                if limit is not None and start > limit:
                    break
            if start == 1:
                raise InvalidRequest("the file has a header but no rows")
            # pyarrow takes a quoted value left open as running to the end of the file.
            if limit is None and source.quotes % 2 and (problem := _unclosed_quote(path)):
                raise InvalidRequest(problem)
        except pa.ArrowInvalid as exc:
            raise InvalidRequest(_csv_problem(path, names, str(exc))) from None
    finally:
        source.close()


def _csv_problem(path: Path, names: list[str], message: str) -> str:
    """Say where a CSV file is broken (pyarrow does not give row numbers): re-read it with
    the standard library up to the first bad record."""
    if "UTF8" in message or "UTF-8" in message:
        return _utf8_problem(path)
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        next(reader, None)
        records = (r for r in reader if r)  # blank lines are no rows, as for pyarrow
        for number, record in enumerate(records, start=1):
            if len(record) != len(names):
                line = reader.line_num  # (before the look past it below moves it on)
                # A quote left open takes the rest of the file into one value, so it shows
                # as a short last record: say what is wrong, and where it starts.
                if next(records, None) is None and (problem := _unclosed_quote(path)):
                    return problem
                return (
                    f"row {number} (line {line}): expected {len(names)} "
                    f"columns, found {len(record)}"
                )
    return f"the CSV file could not be read: {message}"


def _unclosed_quote(path: Path) -> str | None:
    """Where a quoted value opens that is not closed properly, or None (the file's odd quote
    count came from quotes inside unquoted values)."""
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f, strict=True)
        next(reader, None)
        number, line = 0, reader.line_num
        try:
            for record in reader:
                if record:
                    number += 1
                line = reader.line_num
        except csv.Error as exc:
            if "unexpected end of data" in str(exc):
                how = "it runs to the end of the file"
            elif reader.line_num > line + 1:  # a quoted value ran on over later lines
                how = f"line {reader.line_num}: {exc}"
            else:
                # Text after a closing quote on the record's own line ("a" b): pyarrow keeps
                # it, and so do we (the odd quote count may come from it).
                return None
            return f"row {number + 1} (line {line + 1}): a quoted value is not closed ({how})"
    return None


def _utf8_problem(path: Path) -> str:
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                line += chunk[: exc.start].count(b"\n")
                return f"line {line}: the file is not UTF-8 text (byte 0x{chunk[exc.start]:02x})"
            line += chunk.count(b"\n")
    return "the file is not UTF-8 text"


def _json_columns(objects: Iterator[tuple[str, dict]]) -> list[str]:
    """Every key of every object (``where`` names each one: ``line 3``, ``row 3``), in the
    order first seen: the file's columns, known before any row is mapped."""
    columns: dict[str, None] = {}
    for where, value in objects:
        for key in value:
            if key not in columns:
                _check_column_name(key, where)
                columns[key] = None
    if not columns:
        raise InvalidRequest("the file has no columns: every object is empty")
    return list(columns)


def _check_column_name(name: str, where: str) -> None:
    if not name.strip():
        raise InvalidRequest(f"{where}: a key may not be empty (it would be a column with no name)")
    if name == "_row":
        raise InvalidRequest(f"{where}: a column may not be named _row")


def _json_rows_table(rows: list[dict], start: int, columns: list[str]) -> CellBatch:
    data = {}
    for name in columns:
        texts = json_texts(
            [row.get(name) for row in rows], lambda i, n=name: f"row {start + i}: column {n!r}"
        )
        data[name] = pa.array(texts, pa.string())
    data["_row"] = pa.array(range(start, start + len(rows)), pa.int64())
    return CellBatch(pa.table(data), raw_text=False)


def _jsonl_objects(path: Path) -> Iterator[tuple[int, int, dict]]:
    """(line number, bytes read so far, object) for each non-blank line of a JSONL file."""
    read = 0
    with open(path, "rb") as f:
        for line_no, line in enumerate(f, start=1):
            read += len(line)
            if not line.strip() or (line_no == 1 and not line.lstrip(codecs.BOM_UTF8).strip()):
                continue
            if line_no == 1:
                line = line.removeprefix(codecs.BOM_UTF8)
            try:
                value = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                if "UTF-8" in str(exc):
                    raise InvalidRequest(f"line {line_no}: the file is not UTF-8 text") from None
                raise InvalidRequest(f"line {line_no}: invalid JSON ({exc})") from None
            if not isinstance(value, dict):
                hint = (
                    " (a file holding one JSON array is json: import it as json)"
                    if line_no == 1
                    else ""
                )
                raise InvalidRequest(f"line {line_no}: each line must be a JSON object{hint}")
            yield line_no, read, value


def _jsonl_head(path: Path, limit: int) -> Iterator[CellBatch]:
    """The first ``limit`` rows of a JSONL file, with the columns of the whole file: every
    line is parsed for its keys (nothing else of it is kept), so the preview maps exactly
    as the import does. A key that first appears after the rows shown is a column of the
    preview (its cells there are null), and a broken line anywhere fails the preview as it
    would fail the import."""
    head: list[dict] = []
    columns = _json_columns(
        (f"line {n}", value) for n, _, value in _kept(_jsonl_objects(path), head, limit)
    )
    if not head:  # (a file of blank lines is found empty before this)
        raise InvalidRequest("the file has no rows")
    yield _json_rows_table(head, 1, columns)


def _kept(
    objects: Iterator[tuple[int, int, dict]], head: list[dict], limit: int
) -> Iterator[tuple[int, int, dict]]:
    """``objects`` passed on, the first ``limit`` of them also appended to ``head``."""
    for item in objects:
        if len(head) < limit:
            head.append(item[2])
        yield item


def _jsonl_batches(path: Path, progress: Progress | None) -> Iterator[CellBatch]:
    # A first pass finds every column, so one mapping applies to every row of the file.
    columns = _json_columns((f"line {n}", value) for n, _, value in _jsonl_objects(path))
    rows: list[dict] = []
    number = 0
    read = 0
    for _, read, value in _jsonl_objects(path):
        rows.append(value)
        number += 1
        if len(rows) >= JSON_BATCH_ROWS:
            yield _json_rows_table(rows, number - len(rows) + 1, columns)
            rows = []
            if progress is not None:
                progress(read)
    if rows:
        yield _json_rows_table(rows, number - len(rows) + 1, columns)
    if progress is not None:
        progress(path.stat().st_size)


def _json_array_batches(
    path: Path, progress: Progress | None, limit: int | None
) -> Iterator[CellBatch]:
    data = path.read_bytes().removeprefix(codecs.BOM_UTF8)
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        if "UTF-8" in str(exc):
            raise InvalidRequest(_utf8_problem(path)) from None
        hint = ""
        if exc.msg.startswith("unexpected content after document"):
            # (the route's format=, the CLI's --format: this layer serves both)
            hint = ": one JSON value per line is JSONL: import it as jsonl (or name it .jsonl)"
        raise InvalidRequest(
            f"line {exc.lineno}, column {exc.colno}: invalid JSON ({exc.msg}){hint}"
        ) from None
    del data
    if progress is not None:
        progress(path.stat().st_size)
    if isinstance(value, dict) and isinstance(value.get("rows"), list):
        value = value["rows"]
    if not isinstance(value, list):
        raise InvalidRequest("a JSON file must hold an array of objects (or use JSONL)")
    if not value:
        raise InvalidRequest("the file has no rows")
    for index, row in enumerate(value, start=1):
        if not isinstance(row, dict):
            raise InvalidRequest(f"row {index}: each element of the array must be an object")
    columns = _json_columns((f"row {i}", row) for i, row in enumerate(value, start=1))
    if limit is not None:
        value = value[:limit]
    for start in range(0, len(value), JSON_BATCH_ROWS):
        yield _json_rows_table(value[start : start + JSON_BATCH_ROWS], start + 1, columns)
