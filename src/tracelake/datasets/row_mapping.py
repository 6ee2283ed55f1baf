"""Mapping a batch of file cells to dataset rows in one SQL statement (an in-memory
DuckDB): typing CSV cells, nesting values under keys, collecting tags, generating ids,
and finding the first bad cell (row, column, reason)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import sqlglot

from tracelake.errors import InvalidRequest
from tracelake.model.column_mapping import VALUE_FIELDS, ColumnMapping, Target
from tracelake.model.rows import MAX_JSON_DEPTH, nests_deeper
from tracelake.query.json_text import finite_json_text

# Row checks the caller adds (the dataset's enforced field schemas): given a field and
# (row number, row id, value) triples, raise InvalidRequest for the bad ones. The id is None
# when the file gives none (the row's id is generated).
RowCheck = Callable[[str, list[tuple[int, str | None, object]]], None]


@dataclass
class CellBatch:
    """Cells of one batch of a file: raw text (CSV) or JSON text (JSON, JSONL)."""

    table: pa.Table  # one string column per file column, plus _row
    raw_text: bool

    @property
    def columns(self) -> list[str]:
        """The file's column names."""
        return [c for c in self.table.column_names if c != "_row"]

    def sql_table(self) -> tuple[pa.Table, dict[str, str]]:
        """The cells with their columns named by position (``c0``, ``c1``, …, and ``_row``),
        and each file column's SQL name there. DuckDB matches names regardless of case, so
        columns named ``a`` and ``A`` (or ``_ROW``) would otherwise read one another."""
        refs: dict[str, str] = {}
        names = []
        for index, name in enumerate(self.table.column_names):
            if name == "_row":
                names.append(name)
            else:
                refs[name] = f"c{index}"
                names.append(f"c{index}")
        return self.table.rename_columns(names), refs


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def cell_sql(col: str, raw_text: bool) -> str:
    """A cell as a JSON value. Raw CSV text is typed: numbers, true/false/null, and JSON
    objects, arrays and strings (``"7"``, as a CSV export writes a string value) become
    those values; anything else is a string; an empty cell is null. JSON files' cells are
    JSON already."""
    if not raw_text:
        return f"{col}::JSON"
    t = f"trim({col})"
    return f"""(CASE WHEN {t} = '' THEN NULL
        WHEN {t} IN ('true', 'false', 'null') THEN json({t})
        WHEN left({t}, 1) IN ('{{', '[', '"') AND json_valid({t}) AND {_finite_json(t)}
            THEN json({t})
        WHEN isfinite(TRY_CAST({t} AS DOUBLE)) AND json_valid({t}) THEN json({t})
        ELSE to_json({col}) END)"""


def _finite_json(text: str) -> str:
    """SQL: whether JSON text (that DuckDB reads) holds no NaN or infinity. DuckDB's reader
    takes ``[NaN, 1]`` and ``{"a": 1e999}``, which JSON has no spelling for: such a cell is
    not JSON, so it is a string, as any other text."""
    return finite_json_text(sqlglot.parse_one(text, read="duckdb")).sql(dialect="duckdb")


def _field_sql(entries: list[tuple[str, Target]], cells: dict[str, str]) -> str:
    """A value field as JSON, from ``cells`` (each column's typed cell as SQL)."""
    if not entries:
        return "NULL::JSON"
    whole = [c for c, t in entries if not t.path]
    if whole:
        return cells[whole[0]]
    return _object_sql(_tree(entries, cells))


def _tree(entries: list[tuple[str, Target]], leaves: dict) -> dict:
    """The nested keys the entries' paths write, each leaf the column's entry in ``leaves``."""
    tree: dict = {}
    for column, target in entries:
        node = tree
        for key in target.path[:-1]:
            node = node.setdefault(key, {})
        node[target.path[-1]] = leaves[column]
    return tree


def _object_sql(tree: dict) -> str:
    args = ", ".join(
        f"{_lit(k)}, {_object_sql(v) if isinstance(v, dict) else v}" for k, v in tree.items()
    )
    return f"json_object({args})"


def _tags_sql(col: str, raw_text: bool) -> tuple[str, str]:
    """(a VARCHAR[] of the cell's tags, a condition true when the cell is not tags)."""
    if raw_text:
        j = f"(CASE WHEN left(trim({col}), 1) = '[' AND json_valid({col}) THEN json({col}) WHEN trim({col}) = '' THEN NULL ELSE to_json({col}) END)"  # noqa: E501
    else:
        j = f"{col}::JSON"
    tags = f"""(CASE WHEN json_type({j}) = 'ARRAY' THEN from_json({j}, '["VARCHAR"]')
        WHEN json_type({j}) = 'VARCHAR' THEN list_filter(
            list_transform(string_split({j} ->> '$', ','), lambda x: trim(x)), lambda x: x <> '')
        END)"""
    bad = f"""({j} IS NOT NULL AND json_type({j}) <> 'NULL' AND NOT (
        json_type({j}) = 'VARCHAR' OR (json_type({j}) = 'ARRAY' AND coalesce(list_bool_and(
            list_transform(json_extract({j}, '$[*]'), lambda x: json_type(x) = 'VARCHAR')),
            true))))"""
    return tags, bad


def _id_sql(col: str, raw_text: bool) -> tuple[str, str]:
    if raw_text:  # kept exactly: an export writes an id ' a' as it is, spaces and all
        return f"nullif({col}, '')", "false"
    j = f"{col}::JSON"
    value = f"""(CASE WHEN json_type({j}) = 'VARCHAR' THEN nullif({j} ->> '$', '')
        WHEN json_type({j}) IN ('BIGINT', 'UBIGINT') THEN {j}::VARCHAR END)"""
    bad = f"({j} IS NOT NULL AND json_type({j}) NOT IN ('VARCHAR', 'BIGINT', 'UBIGINT', 'NULL'))"
    return value, bad


# Above this many value columns, a batch's cells are typed by one expression over all of them
# (see ``typed_cells``): DuckDB binds each expression of a statement on its own (~4 ms for a
# typed cell) and holds a vector for each node, so a file of 2,000 columns took seconds a
# batch and ran out of memory.
WIDE = 100


def typed_cells(con, table: pa.Table, refs: list[str], raw_text: bool) -> list[pa.Array]:
    """The cells of the columns ``refs`` of ``table`` as JSON text, typed as ``cell_sql``
    says, by one expression over the cells of every column one after another."""
    if not refs:
        return []
    rows = table.num_rows
    cells = pa.concat_arrays([table[r].combine_chunks() for r in refs])
    con.register("cells", pa.table({"v": cells}))
    try:
        # (DuckDB keeps the order of a plain scan: preserve_insertion_order)
        result = con.sql(f"SELECT ({cell_sql('v', raw_text)})::VARCHAR FROM cells")
        typed = result.to_arrow_table().column(0).combine_chunks()
    except duckdb.Error as exc:
        raise InvalidRequest(f"the file could not be mapped: {exc}") from None
    finally:
        con.unregister("cells")
    return [typed.slice(i * rows, rows) for i in range(len(refs))]


def _wide_fields(
    con, cells: pa.Table, refs: dict[str, str], raw: bool, mapping: ColumnMapping
) -> tuple[pa.Table, dict[str, str]]:
    """For a file with many value columns: each value field built as JSON text by Arrow
    (joining the typed cells with their keys) rather than by one SQL expression per cell.
    Returns ``cells`` with a ``f_<field>`` column per field and each field's SQL."""
    columns = [c for name in VALUE_FIELDS for c, _ in mapping.columns_for(name)]
    typed = dict(
        zip(columns, typed_cells(con, cells, [refs[c] for c in columns], raw), strict=True)
    )
    fields = {}
    for name in VALUE_FIELDS:
        entries = mapping.columns_for(name)
        if not entries:
            fields[name] = "NULL::JSON"
            continue
        whole = [c for c, t in entries if not t.path]
        if whole:
            value = typed[whole[0]]
        else:
            leaves = {c: pc.fill_null(typed[c], "null") for c, _ in entries}
            value = _joined_object(_tree(entries, leaves), cells.num_rows)
        cells = cells.append_column(f"f_{name}", value)
        fields[name] = f"f_{name}::JSON"
    return cells, fields


def _joined_object(tree: dict, rows: int) -> pa.Array:
    """Each row's JSON object text of ``tree`` (keys → JSON text arrays or subtrees)."""
    parts: list = []
    for index, (key, value) in enumerate(tree.items()):
        head = ("{" if index == 0 else ",") + orjson.dumps(key).decode() + ":"
        parts += [head, _joined_object(value, rows) if isinstance(value, dict) else value]
    parts.append("}")
    return pc.binary_join_element_wise(*parts, "")


def map_batch(con, batch: CellBatch, mapping: ColumnMapping) -> pa.Table:
    raw = batch.raw_text
    cells, refs = batch.sql_table()
    typed = {c: cell_sql(refs[c], raw) for n in VALUE_FIELDS for c, _ in mapping.columns_for(n)}
    if len(typed) > WIDE:
        cells, fields = _wide_fields(con, cells, refs, raw, mapping)
    else:
        fields = {name: _field_sql(mapping.columns_for(name), typed) for name in VALUE_FIELDS}
    problems: list[tuple[str, str, str]] = []  # (condition, column, reason)
    id_column = mapping.id_column
    if id_column is not None:
        id_sql, bad = _id_sql(refs[id_column], raw)
        problems.append((bad, id_column, "an id must be a string or an integer"))
    else:
        id_sql = "NULL::VARCHAR"
    for column, target in mapping.columns_for("metadata"):
        if not target.path:
            value = typed[column]
            problems.append(
                (
                    f"({value} IS NOT NULL AND json_type({value}) NOT IN ('OBJECT', 'NULL'))",
                    column,
                    "metadata must be a JSON object",
                )
            )
    tag_lists, given = [], []
    for column, _ in mapping.columns_for("tags"):
        tags, bad = _tags_sql(refs[column], raw)
        tag_lists.append(f"coalesce({tags}, [])")
        given.append(f"{tags} IS NOT NULL")
        problems.append((bad, column, "tags must be a JSON array of strings or comma-separated"))
    if tag_lists:
        # In the order given, each once (as a row's tags are written); an empty list stays
        # one (an export writes [] for it), no tags at all (empty cells) are null.
        joined = tag_lists[0] if len(tag_lists) == 1 else f"list_concat({', '.join(tag_lists)})"
        first_seen = f"list_filter({joined}, lambda x, i: list_position({joined}, x) = i)"
        tags_sql = f"(CASE WHEN {' OR '.join(given)} THEN {first_seen} END)"
    else:
        tags_sql = "NULL::VARCHAR[]"
    if problems:
        cases = " ".join(
            f"WHEN {cond} THEN {_lit(column + chr(0) + reason)}"
            for cond, column, reason in problems
        )
        problem_sql = f"CASE {cases} END"
    else:
        problem_sql = "NULL::VARCHAR"
    # Rows without an id get a time-ordered one now, so the staged file holds final ids.
    sql = f"""SELECT _row, coalesce({id_sql}, uuidv7()::VARCHAR) AS id,
            ({id_sql}) IS NULL AS id_generated,
            ({fields["input"]})::VARCHAR AS input,
            ({fields["expected"]})::VARCHAR AS expected,
            ({fields["metadata"]})::VARCHAR AS metadata,
            {tags_sql} AS tags,
            {problem_sql} AS problem
        FROM batch"""
    con.register("batch", cells)
    try:
        table = con.sql(sql).to_arrow_table()
    except duckdb.Error as exc:
        raise InvalidRequest(f"the file could not be mapped: {exc}") from None
    finally:
        con.unregister("batch")
    problem = table["problem"]
    if problem.null_count < len(problem):
        first = pc.index(pc.is_valid(problem), True).as_py()
        column, reason = problem[first].as_py().split(chr(0))
        raise InvalidRequest(f"row {table['_row'][first].as_py()}, column {column!r}: {reason}")
    _check_depth(table)
    if raw:
        table = _round_big_integers(table)
    return table.drop_columns(["problem"])


def _round_big_integers(table: pa.Table) -> pa.Table:
    """CSV cells typed by DuckDB keep an integer outside the 64-bit range digit for digit
    (``12345678901234567890123``), where every other write path reads it as the nearest
    double (docs/write-semantics.md): the import stored digits that the preview, a diff, a
    restore and a JSON file's import of the same value all read as a double, so restoring
    the import's version changed the value. Such values are read by orjson as those paths
    read them; only values holding a run of 19 digits (found by Arrow) are parsed."""
    for name in VALUE_FIELDS:
        column = table[name]
        found = pc.indices_nonzero(
            pc.fill_null(pc.match_substring_regex(column, r"[0-9]{19}"), False)
        )
        if not len(found):
            continue
        values = column.to_pylist()
        for index in found.to_pylist():
            values[index] = orjson.dumps(orjson.loads(values[index])).decode()
        table = table.set_column(
            table.schema.get_field_index(name), name, pa.array(values, pa.string())
        )
    return table


def _check_depth(table: pa.Table) -> None:
    """Refuse a field nested deeper than every other write path allows (``MAX_JSON_DEPTH``):
    a CSV cell is parsed by DuckDB, which takes any depth, and a key path adds levels. Such a
    value could not be read back (diff, restore and the preview failed on it). Only values
    with more brackets than that are parsed (counted by Arrow, for the whole batch)."""
    for name in VALUE_FIELDS:
        # (a value nesting N levels has 2N characters: shorter ones are not scanned)
        long = pc.indices_nonzero(
            pc.fill_null(pc.greater(pc.binary_length(table[name]), 2 * MAX_JSON_DEPTH), False)
        )
        if not len(long):
            continue
        column = table[name].take(long)
        brackets = pc.add(pc.count_substring(column, "["), pc.count_substring(column, "{"))
        many = pc.fill_null(pc.greater(brackets, MAX_JSON_DEPTH), False)
        for index in pc.indices_nonzero(many).to_pylist():
            try:
                deeper = nests_deeper(orjson.loads(column[index].as_py()))
            except orjson.JSONDecodeError:  # (orjson parses 1,024 levels at most)
                deeper = True
            if deeper:
                raise InvalidRequest(
                    f"row {table['_row'][long[index].as_py()].as_py()}: {name} nests deeper than"
                    f" {MAX_JSON_DEPTH} levels"
                )


def check_fields(mapped: pa.Table, check: RowCheck) -> None:
    rows = mapped["_row"].to_pylist()
    # A violation names the row's id only when the file gives one: a generated id is
    # never written (the import is refused), so it would name nothing.
    generated = mapped["id_generated"].to_pylist()
    ids = [None if g else i for i, g in zip(mapped["id"].to_pylist(), generated, strict=True)]
    for name in VALUE_FIELDS:
        values = [None if v is None else orjson.loads(v) for v in mapped[name].to_pylist()]
        check(name, list(zip(rows, ids, values, strict=True)))
