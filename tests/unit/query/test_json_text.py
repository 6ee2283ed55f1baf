"""The JSON object text of a row, joined from its parts (``query/json_text.py``)."""

from __future__ import annotations

import json

import duckdb
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlglot import exp

from tracelake.query.json_text import finite_json_text, json_object_sql


@pytest.fixture(scope="module")
def con():
    connection = duckdb.connect()
    yield connection
    connection.close()


def render(con, fields, row_sql: str) -> str:
    return con.execute(f"SELECT {json_object_sql(fields)} FROM ({row_sql}) AS r").fetchone()[0]


def test_no_fields_is_an_empty_object(con):
    assert render(con, [], "SELECT 1 AS x") == "{}"


def test_json_values_are_copied_and_others_written_by_to_json(con):
    row = """SELECT '{"a": [1, 2.50, "x"]}'::JSON AS j, NULL::JSON AS n, 'say "hi"\n' AS s,
        NULL::VARCHAR AS ns, 42::UBIGINT AS u, TRUE AS b, ['a', NULL]::VARCHAR[] AS l,
        {'k': 1.5} AS st, TIMESTAMPTZ '2026-01-02 03:04:05.678+00' AS t"""
    fields = [
        ("j", "r.j", True),
        ("n", "r.n", True),
        ("s", "r.s", False),
        ("ns", "r.ns", False),
        ("u", "r.u", False),
        ("b", "r.b", False),
        ("l", "r.l", False),
        ("st", "r.st", False),
        ("t", "strftime(r.t, '%Y-%m-%dT%H:%M:%S.%fZ')", False),
    ]
    text = render(con, fields, row)
    assert text.startswith('{"j":{"a": [1, 2.50, "x"]},')  # as stored, not re-written
    assert json.loads(text) == {
        "j": {"a": [1, 2.5, "x"]},
        "n": None,
        "s": 'say "hi"\n',
        "ns": None,
        "u": 42,
        "b": True,
        "l": ["a", None],
        "st": {"k": 1.5},
        "t": "2026-01-02T03:04:05.678000Z",
    }


def test_other_values_are_written_as_to_json_of_the_whole_row_writes_them(con):
    row = """SELECT 1.25::DECIMAL(10, 3) AS d,
        170141183460469231731687303715884105727::HUGEINT AS h, 'NaN'::DOUBLE AS nan,
        -0.0::DOUBLE AS z, INTERVAL 90 MINUTE AS i, MAP {'a': 1} AS m,
        [{'x': [1]}] AS nested, DATE '2026-03-04' AS day"""
    names = ["d", "h", "nan", "z", "i", "m", "nested", "day"]
    joined = render(con, [(n, f"r.{n}", False) for n in names], row)
    struct = ", ".join(f"'{n}': r.{n}" for n in names)
    whole = con.execute(f"SELECT to_json({{{struct}}})::VARCHAR FROM ({row}) AS r").fetchone()[0]
    assert joined == whole


def test_keys_that_differ_only_in_case_stay_apart(con):
    text = render(con, [("a", "1", False), ("A", "2", False)], "SELECT 1")
    assert text == '{"a":1,"A":2}'


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=6,
)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.text(max_size=10), st.tuples(json_values, st.booleans()), max_size=5))
def test_any_keys_and_values_make_valid_json(con, row):
    fields, values = [], []
    for key, (value, as_json) in row.items():
        values.append(json.dumps(value) if as_json else str(value))
        position = len(values)
        sql = f"$p{position}::JSON" if as_json else f"$p{position}::VARCHAR"
        fields.append((key, sql, as_json))
    named = {f"p{i}": v for i, v in enumerate(values, start=1)}
    text = con.execute(f"SELECT {json_object_sql(fields)}", named).fetchone()[0]
    expected = {k: (v if as_json else str(v)) for k, (v, as_json) in row.items()}
    assert json.loads(text) == expected


# -- finite_json_text: JSON text a strict parser reads as DuckDB's reader does ------------------


def finite(con, text: str) -> bool:
    sql = finite_json_text(exp.column("t")).sql(dialect="duckdb")
    return con.execute(f"SELECT {sql} FROM (SELECT ?::VARCHAR AS t)", [text]).fetchone()[0]


def orjson_reads(text: str) -> bool:
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError:
        return False
    return True


@pytest.mark.parametrize(
    "text",
    [
        "[NaN, 1]", "-nan", "NAN", "[Infinity]", '{"a": -Infinity}', "inf", "[-INF]",
        '{"a": {"b": [1, nan]}}', "1e999", "[1E400]", "-1e+309", "[2e308]", "1" + "0" * 400,
        "[1e308, 1.7976931348623157e308]", "0.01e310", "1e-999", "[-1e-400]", "100e306",
        '{"nan": "NaN", "inf": "Infinity", "x": "1e999"}', '["a\\"nan", "\\\\", 1e5]',
        '{"i": [true, false, null]}', "[]", "{}", '"NaN"', "123", "-0.0", '{"e": 1E+2}',
        '["\\u0069nf", 2]',
    ],
)  # fmt: skip
def test_finite_json_text_is_what_a_strict_parser_reads(con, text):
    assert con.execute("SELECT json_valid(?)", [text]).fetchone()[0]
    assert finite(con, text) == orjson_reads(text)


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=8),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner),
        max_leaves=12,
    )
)
def test_finite_json_text_of_generated_values(con, value):
    """Python's json writes NaN and infinities by name, as DuckDB's reader takes them."""
    text = json.dumps(value)
    assert finite(con, text) == orjson_reads(text)
