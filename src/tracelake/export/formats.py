"""Result formats: a registry, so adding a format is adding an entry.

Every format renders the rows of one SQL query (run on a DuckDB cursor) whose columns are
named as the caller wants them in the output. JSON values (DuckDB ``JSON`` columns) stay
JSON in json/jsonl, and become JSON text in CSV and Parquet, where nested values have no
native place (CSV) or no stable schema across rows (Parquet).
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from tracelake.query.json_text import json_object_sql

# Pages of JSON items are fetched as Arrow from an executed statement: DuckDB's relation API
# (``cursor.sql``), which it recommends to spare a copy of the rows, binds the query twice;
# with the index's candidate ids in the SQL that cost 3–4 ms more than the copy of a page.
warnings.filterwarnings(
    "ignore", message="Arrow output on a DB-API result makes an extra copy", category=UserWarning
)

# DuckDB type names that hold nested values, rendered as JSON text outside JSON formats.
_NESTED_PREFIXES = ("JSON", "STRUCT", "MAP", "UNION", "VARIANT")


@dataclass(frozen=True)
class Column:
    name: str  # as the output names it
    type: str  # DuckDB type name
    # Its name in the SQL, when that differs: DuckDB names are case-insensitive, so of two
    # output names that differ only in case (`a`, `A`) the second is renamed in SQL.
    source: str | None = None

    @property
    def ref(self) -> str:
        """The column in the rows of the rendered SQL (aliased ``r``)."""
        return f"r.{quote_ident(self.source or self.name)}"


def describe(
    cursor: duckdb.DuckDBPyConnection, sql: str, params: list, names: list[str] | None = None
) -> list[Column]:
    """The output columns of ``sql`` without running it in full; with ``names``, the
    output's names of its columns, in order."""
    relation = cursor.execute(f"DESCRIBE {sql}", params).fetchall()
    if names is None:
        return [Column(name=row[0], type=str(row[1])) for row in relation]
    return [
        Column(name=name, type=str(row[1]), source=None if row[0] == name else row[0])
        for name, row in zip(names, relation, strict=True)
    ]


def case_clash(names: list[str]) -> bool:
    """Whether two names differ only in case (DuckDB would take them for one)."""
    return len({n.lower() for n in names}) < len(names)


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def json_rows(cursor, sql: str, params: list, columns: list[Column]) -> list[str]:
    """Each row as one JSON object text, built by DuckDB (no per-row Python): JSON columns
    are copied in as they are stored (see :mod:`tracelake.query.json_text`)."""
    if not columns:
        return []
    rows = cursor.execute(_json_sql(sql, columns), params).fetchall()
    return [r[0] for r in rows]


def json_array_items(cursor, sql: str, columns: list[Column]) -> bytes | memoryview:
    """The rows as JSON objects joined by commas (the inside of a JSON array), straight
    from DuckDB's Arrow output: no Python string per row and no re-encoding (a 1.5 MB page
    of 1,000 spans is one buffer)."""
    if not columns:
        return b""
    texts = cursor.execute(_json_sql(sql, columns)).to_arrow_table().column(0).combine_chunks()
    return _joined(texts)


def json_items_and_keys(cursor, sql: str, columns: list[Column]) -> tuple[bytes | memoryview, list]:
    """Like :func:`json_array_items`, for a query that also returns a ``__key`` column
    (not rendered): the JSON items and each row's key, from one statement."""
    if not columns:
        keys = cursor.execute(f"SELECT r.__key FROM ({sql}) AS r").fetchall()
        return b"", [k for (k,) in keys]
    table = cursor.execute(_json_sql(sql, columns, extra="r.__key")).to_arrow_table()
    return _joined(table.column(0).combine_chunks()), table.column(1).to_pylist()


def _joined(texts: pa.Array) -> bytes | memoryview:
    if len(texts) == 0:
        return b""
    one_list = pa.ListArray.from_arrays(pa.array([0, len(texts)], pa.int32()), texts)
    return memoryview(pc.binary_join(one_list, ",")[0].as_buffer())


def _json_sql(sql: str, columns: list[Column], extra: str | None = None) -> str:
    """SQL of each row of ``sql`` as one JSON object text, keys in column order (and the
    ``extra`` expression over the row ``r`` as a second column)."""
    more = f", {extra}" if extra else ""
    fields = [(c.name, _json_value(c), c.type == "JSON") for c in columns]
    return f"SELECT {json_object_sql(fields)}{more} FROM ({sql}) AS r"


def _json_value(column: Column) -> str:
    ref = column.ref
    if column.type.startswith("TIMESTAMP") or column.type == "DATE":
        # ISO-8601 in UTC with a Z, as Braintrust returns times.
        return f"strftime({ref}::TIMESTAMPTZ, '%Y-%m-%dT%H:%M:%S.%fZ')"
    return ref


def _flat_sql(sql: str, columns: list[Column]) -> str:
    """The query with nested columns as JSON text, times as ISO strings and intervals as
    their text."""
    parts = []
    for c in columns:
        ref = c.ref
        if c.type == "JSON":
            expr = f"{ref}::VARCHAR"  # already JSON text: no need to re-serialise it
        elif c.type.startswith(_NESTED_PREFIXES) or c.type.endswith("]"):
            expr = f"CASE WHEN {ref} IS NULL THEN NULL ELSE to_json({ref})::VARCHAR END"
        elif c.type.startswith("TIMESTAMP") or c.type == "DATE":
            expr = f"strftime({ref}::TIMESTAMPTZ, '%Y-%m-%dT%H:%M:%S.%fZ')"
        elif c.type == "INTERVAL":
            # Its text, as the JSON answer writes it (`1 day 02:00:00`): Arrow's CSV writer
            # cannot cast an interval and Parquet has no type for DuckDB's months-days-µs.
            expr = f"{ref}::VARCHAR"
        else:
            expr = ref
        parts.append(f"{expr} AS {quote_ident(c.name)}")
    return f"SELECT {', '.join(parts)} FROM ({sql}) AS r"


def arrow_table(cursor, sql: str, params: list, columns: list[Column]) -> pa.Table:
    if not columns:  # (a pivot without dimensions over no rows: SQL selects something)
        return pa.table({})
    if params:
        return cursor.execute(_flat_sql(sql, columns), params).to_arrow_table()
    return cursor.sql(_flat_sql(sql, columns)).to_arrow_table()  # no extra copy of the rows


def write_jsonl(cursor, sql: str, params: list, columns: list[Column], path: str) -> int:
    """Write the rows as JSON lines to ``path`` (DuckDB's own JSON writer: JSON columns stay
    nested, times become ISO strings); returns the row count."""
    if not columns:
        open(path, "wb").close()
        return 0
    if case_clash([c.name for c in columns]):  # DuckDB's writer would rename one of them
        rows = json_rows(cursor, sql, params, columns)
        with open(path, "w", encoding="utf-8") as out:
            out.writelines(row + "\n" for row in rows)
        return len(rows)
    parts = [f"{_json_value(c)} AS {quote_ident(c.name)}" for c in columns]
    select = f"SELECT {', '.join(parts)} FROM ({sql}) AS r"
    escaped = path.replace("'", "''")
    row = cursor.execute(f"COPY ({select}) TO '{escaped}' (FORMAT json)", params).fetchone()
    return int(row[0]) if row else 0


def render_jsonl(cursor, sql, params, columns) -> bytes:
    rows = json_rows(cursor, sql, params, columns)
    return ("\n".join(rows) + ("\n" if rows else "")).encode()


def render_csv(cursor, sql, params, columns) -> bytes:
    table = arrow_table(cursor, sql, params, columns)
    sink = io.BytesIO()
    pa_csv.write_csv(table, sink)
    return sink.getvalue()


def render_parquet(cursor, sql, params, columns) -> bytes:
    table = arrow_table(cursor, sql, params, columns)
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


@dataclass(frozen=True)
class Format:
    name: str
    media_type: str
    render: Callable | None  # None: the caller builds the envelope (json)


FORMATS: dict[str, Format] = {
    "json": Format("json", "application/json", None),
    "jsonl": Format("jsonl", "application/x-jsonlines", render_jsonl),
    "csv": Format("csv", "text/csv", render_csv),
    "parquet": Format("parquet", "application/vnd.apache.parquet", render_parquet),
}


def json_schema(columns: list[Column]) -> dict:
    """A JSON Schema of the rows (as Braintrust's /btql answers ``schema``)."""
    return {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {c.name: _schema_of(c.type) for c in columns},
        },
    }


def _schema_of(duck_type: str) -> dict:
    t = duck_type.upper()
    if t.endswith("[]"):
        return {"type": "array", "items": _schema_of(t[:-2])}
    if t in ("BOOLEAN",):
        return {"type": "boolean"}
    if t in (
        "TINYINT",
        "SMALLINT",
        "INTEGER",
        "BIGINT",
        "HUGEINT",
        "UTINYINT",
        "USMALLINT",
        "UINTEGER",
        "UBIGINT",
        "UHUGEINT",
    ):
        return {"type": "integer"}
    if t in ("FLOAT", "DOUBLE") or t.startswith("DECIMAL"):
        return {"type": "number"}
    if t.startswith("TIMESTAMP") or t == "DATE":
        return {"type": "string", "format": "date-time"}
    if t in ("VARCHAR", "UUID"):
        return {"type": "string"}
    return {}  # JSON and anything else: any value
