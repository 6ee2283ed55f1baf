"""SQL that writes a row as one JSON object text, and that tells JSON text strict parsers
read from text only DuckDB's lenient reader takes.

DuckDB's ``to_json`` of a struct and ``json_object`` both parse every JSON-typed value back
into a document before writing it out again. The values of a span (input, output, metadata…)
are JSON text already, so the object is joined from its parts instead: each key as a JSON
string literal, each JSON value as it is stored, every other value through ``to_json``.
For a page of 1,000 spans (1.5 MB) that takes about half the time.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson
from sqlglot import exp


def json_object_sql(fields: Sequence[tuple[str, str, bool]]) -> str:
    """A DuckDB expression for the JSON object of ``fields``, in order: each is (key, SQL
    expression, whether the expression is of DuckDB's ``JSON`` type). SQL NULL is ``null``."""
    if not fields:
        return "'{}'"
    parts = []
    for position, (key, sql, is_json) in enumerate(fields):
        text = f"({sql})::VARCHAR" if is_json else f"to_json({sql})::VARCHAR"
        lead = ("{" if position == 0 else ",") + orjson.dumps(key).decode() + ":"
        parts += [_sql_string(lead), f"coalesce({text}, 'null')"]
    return f"concat({', '.join(parts)}, '}}')"


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


# -- NaN and infinities in JSON text ------------------------------------------------------------


def _fn(name: str, *args: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this=name, expressions=list(args))


def _lit(text: str) -> exp.Expression:
    return exp.Literal.string(text)


# The JSON text of a value without the contents of its strings (each string becomes ``""``).
STRING_PATTERN = r'"(?:[^"\\]|\\.)*"'
# Outside its strings, JSON text holding NaN or an infinity by name (DuckDB's reader takes
# ``NaN``, ``nan``, ``Infinity``, ``-inf``… in any case) has an ``i`` or an ``na``, which
# none of JSON's own words (true, false, null) has.
NON_FINITE_NAME_PATTERN = r"(?i)na|i"
# A number that may lie beyond a double's range: a positive exponent of three digits or
# more (``1e999``), or 309 digits in a row; only those numbers are then read.
HUGE_NUMBER_PATTERN = r"[eE]\+?0*[1-9][0-9]{2}|[0-9]{309}"
NUMBER_PATTERN = r"[0-9][0-9.eE+-]*"
# A first look at the whole text, strings and all: a name where a value starts (after ``:``,
# ``[`` or ``,``, or at the start), or a large number. Most text has none (an ``i`` in its
# strings does not count here), and is then not searched further.
FIRST_LOOK_PATTERN = r"(?i)(?:^|[:\[,])\s*-?(?:nan|inf)|" + HUGE_NUMBER_PATTERN


def finite_json_text(text: exp.Expression) -> exp.Expression:
    """Whether JSON text (which DuckDB's reader takes) holds no NaN or infinity: the
    text a strict parser (JavaScript's JSON.parse, orjson) reads as it is. One regular
    expression clears most text (FIRST_LOOK_PATTERN); only text it does not clear has its
    strings removed and is searched again, and only where a number may be beyond a
    double's range are its numbers read."""
    suspect = NON_FINITE_NAME_PATTERN + "|" + HUGE_NUMBER_PATTERN
    first = _fn("regexp_matches", text.copy(), _lit(FIRST_LOOK_PATTERN))
    bare = _fn("regexp_replace", text.copy(), _lit(STRING_PATTERN), _lit('""'), _lit("g"))
    number = exp.column("tl_n")
    finite = exp.Lambda(
        this=_fn("isfinite", exp.TryCast(this=number, to=exp.DataType.build("DOUBLE"))),
        expressions=[exp.to_identifier("tl_n")],
    )
    numbers = _fn("regexp_extract_all", bare.copy(), _lit(NUMBER_PATTERN))
    all_finite = exp.Coalesce(
        this=_fn("list_bool_and", _fn("list_transform", numbers, finite)),
        expressions=[exp.true()],
    )
    names = _fn("regexp_matches", bare.copy(), _lit(NON_FINITE_NAME_PATTERN))
    return exp.paren(
        exp.or_(
            exp.Not(this=first),
            exp.Not(this=_fn("regexp_matches", bare, _lit(suspect))),
            exp.paren(exp.and_(exp.Not(this=names), all_finite)),
        )
    )
