"""SQL dialects: each is a :class:`~tracelake.query.compiler.Compiler` subclass that
supplies the engine primitives (JSON paths, list access, coercions, time buckets, text search)
and extends the tables. Found by name; code asks a dialect for a capability, not its name."""

from __future__ import annotations

import datetime as dt
import json
import math
import threading
from dataclasses import replace

import duckdb
from sqlglot import exp

from tracelake.model.words import JSON_ESCAPE_PATTERN, JSON_KEY_PATTERN, NOT_ALNUM_PATTERN
from tracelake.query import functions, times
from tracelake.query.compiler import Compiler
from tracelake.query.functions import fn
from tracelake.query.json_text import finite_json_text
from tracelake.query.types import T, is_int64

_UTC = "UTC"
_NUMERIC_JSON = ("BIGINT", "UBIGINT", "HUGEINT", "DOUBLE")
_OFFSET = r"(?:[zZ]|[+-]\d\d(?::?\d\d)?)$"


def _path_read(sql: exp.Expression) -> tuple[exp.Expression, exp.Expression] | None:
    """(document, path) when ``sql`` is ``json_get``'s single-step field read,
    ``NULLIF(json_extract(doc, '<path>'), 'null'::JSON)``; else None."""
    if not isinstance(sql, exp.Nullif):
        return None
    inner = sql.this
    if not (isinstance(inner, exp.Anonymous) and str(inner.this).lower() == "json_extract"):
        return None
    doc, path = (inner.expressions + [None, None])[:2]
    if doc is None or not (isinstance(path, exp.Literal) and path.is_string):
        return None
    if path.this.startswith("/"):  # a JSON pointer step: keep the general form
        return None
    return doc.copy(), path.copy()


def _share_json_reads(trees: list, table: str) -> list[exp.Expression]:
    """Read several fields of one JSON column with one call per row.

    ``json_extract_string(doc, path)`` parses the whole document each time, so a query that
    reads ``metrics.tokens``, ``metrics.start`` and ``metrics.end`` parsed ``metrics`` three
    times. When ``trees`` read two or more paths of a column of ``table`` this way, each read
    becomes an element of a new column of the source, ``json_extract_string(doc, [paths])``
    (a list of the same values). Rewrites ``trees`` in place and returns the new columns,
    for the caller to add to its source (None entries in ``trees`` are skipped)."""
    reads: dict[str, list[str]] = {}
    found = []
    for tree in trees:
        for node in tree.find_all(exp.Anonymous) if tree is not None else ():
            read = _lean_read(node, table)
            if read is not None:
                column, path = read
                paths = reads.setdefault(column, [])
                if path not in paths:
                    paths.append(path)
                found.append((node, column, path))
    shared = {c: paths for c, paths in reads.items() if len(paths) > 1}
    for node, column, path in found:
        if column in shared:
            element = exp.Literal.number(shared[column].index(path) + 1)
            node.replace(fn("list_extract", exp.column(f"__paths_{column}", table), element))
    return [
        exp.alias_(
            fn(
                "json_extract_string",
                exp.column(column, table),
                exp.Array(expressions=[_s(p) for p in paths]),
            ),
            f"__paths_{column}",
        )
        for column, paths in shared.items()
    ]


def _lean_read(node: exp.Expression, table: str) -> tuple[str, str] | None:
    """(column, path) when ``node`` is ``json_extract_string(<table>.<column>, '<path>')``."""
    if str(node.this).lower() != "json_extract_string" or len(node.expressions) != 2:
        return None
    doc, path = node.expressions
    if not (isinstance(doc, exp.Column) and doc.table == table and doc.name):
        return None
    if not (isinstance(path, exp.Literal) and path.is_string) or path.this.startswith("/"):
        return None
    return doc.name, path.this


def _s(text: str) -> exp.Expression:
    return exp.Literal.string(text)


def _zero() -> exp.Expression:
    return exp.Literal.number(0)


def _one() -> exp.Expression:
    return exp.Literal.number(1)


def _cast(sql: exp.Expression, to: str, safe: bool = False) -> exp.Expression:
    cls = exp.TryCast if safe else exp.Cast
    return cls(this=sql, to=exp.DataType.build(to, dialect="duckdb"))


# The seconds DuckDB turns into a timestamp (from Unix time) or an interval: about
# 290,000 years either way.
_EPOCH_SECONDS = (-9_223_372_022_400, 9_223_372_036_854)
_DAY_US = 86_400_000_000
_INTERVAL_SECONDS = (-9_223_372_036_854, 9_223_372_036_854)
# A time computed as a time ± an interval: the range less 10^9 seconds (31 years), which
# covers what a calendar's months and years differ from their average lengths by.
_TIME_GUARD_SECONDS = (_EPOCH_SECONDS[0] + 10**9, _EPOCH_SECONDS[1] - 10**9)
# The largest operands (in SQL nodes) of a guarded sum of a time or an interval.
_GUARDED_SIZE = 200


# A connection of its own that reads interval literals as the cast does (see
# DuckDBCompiler.interval_text_seconds): no table, opened on first use.
_INTERVALS: duckdb.DuckDBPyConnection | None = None
_INTERVALS_LOCK = threading.Lock()


def _size(sql: exp.Expression) -> int:
    return sum(1 for _ in sql.walk())


def _bound(value: exp.Expression, build) -> exp.Expression:
    """``build(v)`` of a value it reads more than once: of ``value`` itself when it is
    small, else of a lambda's variable bound to it once, so that conversions of
    conversions (``to_datetime(to_string(to_datetime(…)))``) do not repeat the steps
    before them at each step (the SQL grew 4× per step: 8 steps, 1 MB and 6 s to plan)."""
    if _size(value) <= _GUARDED_SIZE:
        return build(value)
    body = exp.Lambda(this=build(exp.column("tl_v")), expressions=[exp.to_identifier("tl_v")])
    bound = fn("list_transform", fn("list_value", value), body)
    return fn("list_extract", bound, exp.Literal.number(1))


def _in_range(seconds: exp.Expression, bounds: tuple[int, int], then: exp.Expression):
    """``then`` where ``seconds`` lies within ``bounds``, else NULL (NaN too). A guard and
    not try(), which DuckDB refuses around an aggregate (``to_datetime(max(metrics.end))``)."""
    lo, hi = (exp.Literal.number(b) for b in bounds)
    return _case(exp.Between(this=seconds, low=lo, high=hi), then)


def _epoch_seconds(sql: exp.Expression) -> exp.Expression:
    """Unix seconds as an instant; NULL beyond the timestamp range (1e20) or for NaN, which
    ``to_timestamp`` rejects with an error."""
    return _bound(sql, lambda v: _in_range(v, _EPOCH_SECONDS, fn("to_timestamp", v.copy())))


def _tried(value: exp.Expression, sql: exp.Expression, fails: bool = True) -> exp.Expression:
    """``sql`` (a conversion of ``value``), NULL where DuckDB fails (beyond the timestamp
    range); as it is when it cannot (not ``fails``), or with an aggregate inside, which
    ``try()`` does not take (then it fails as before)."""
    if not fails or value.find(exp.AggFunc) is not None:
        return sql
    return fn("try", sql)


def _case(cond: exp.Expression, then: exp.Expression, default: exp.Expression | None = None):
    return exp.Case(ifs=[exp.If(this=cond, true=then)], default=default)


# A float holding an integer, as to_json writes it (``1.0``, not ``-0.0``): an answer
# writes it without its ``.0``.
_WHOLE_FLOAT = r"^(-?[1-9][0-9]*|0)\.0$"


def _json_number_text(sql: exp.Expression) -> exp.Expression:
    """A number's JSON text as an answer writes it: ``1`` (not ``1.0``), ``-0.0``, ``1e-7``,
    ``100000000000000000000``; ``NaN`` and ``Infinity`` for the non-finite (which callers
    turn into NULL)."""
    text = _cast(fn("to_json", sql), "VARCHAR")
    return fn("regexp_replace", text, _s(_WHOLE_FLOAT), _s(r"\1"))


def _let(value: exp.Expression, name: str, build) -> exp.Expression:
    """``build(v)`` with ``v`` the value computed once, a lambda's variable, when computing
    it reads JSON (each read parses a whole document); a value that does not (a column,
    ``to_string(metadata)``) is cheaper to repeat than a lambda's list."""
    reads = (
        isinstance(node, exp.Anonymous) and str(node.this).lower().startswith("json_extract")
        for node in value.walk()
    )
    if not any(reads):
        return build(value)
    body = exp.Lambda(this=build(exp.column(name)), expressions=[exp.to_identifier(name)])
    return fn("list_extract", fn("list_transform", fn("list_value", value), body), _one())


def _finite_json(v: exp.Expression) -> exp.Expression:
    """A JSON value read from text, NULL when it is NaN or an infinity or an array or object
    holding one (see :func:`finite_json_text`): a number is read as a double, an array or
    object's text is searched; strings, booleans and integers pass untouched."""
    kind = fn("json_type", v)
    text = _cast(v.copy(), "VARCHAR")
    number = exp.If(
        this=exp.EQ(this=kind, expression=_s("DOUBLE")),
        true=_case(fn("isfinite", _cast(text, "DOUBLE", safe=True)), v.copy()),
    )
    nested = exp.If(
        this=exp.In(this=kind.copy(), expressions=[_s("ARRAY"), _s("OBJECT")]),
        true=_case(finite_json_text(text.copy()), v.copy()),
    )
    return exp.Case(ifs=[number, nested], default=v.copy())


def _iso_strftime(sql: exp.Expression, fmt: str, kind: str) -> exp.Expression:
    """``strftime(sql, fmt)`` with ISO 8601 years: four digits from 0000 to 9999, else the
    expanded form, a sign and six digits (``-000001-12-31``, ``+010000-01-01``, as
    JavaScript's ``toISOString``), where strftime's ``%Y`` gave ``-1`` and ``10000``. Year 0
    is 1 BC (astronomical numbering, as ISO 8601 and DuckDB's parser read it)."""

    def build(v: exp.Expression) -> exp.Expression:
        low = _cast(_s("0000-01-01"), kind)
        high = _cast(_s("10000-01-01"), kind)
        usual = exp.and_(exp.GTE(this=v, expression=low), exp.LT(this=v.copy(), expression=high))
        year = fn("printf", _s("%+07d"), fn("year", v.copy()))
        expanded = exp.DPipe(this=year, expression=fn("strftime", v.copy(), _s(fmt[2:])))
        return _case(usual, fn("strftime", v.copy(), _s(fmt)), expanded)

    return _bound(sql, build)


def _unplus(text: exp.Expression) -> exp.Expression:
    """``text`` without a leading ``+``, which DuckDB's date and time parser refuses."""
    return fn("ltrim", text.copy(), _s("+"))


def _utc(sql: exp.Expression) -> exp.Expression:
    """TIMESTAMPTZ -> naive UTC, or naive UTC -> TIMESTAMPTZ (no session time zone involved)."""
    return fn("timezone", _s(_UTC), sql)


def _minutes(n: int) -> exp.Expression:
    return exp.Interval(this=_s(str(n)), unit=exp.Var(this="MINUTE"))


def _local(naive_utc: exp.Expression, tz_offset: int) -> exp.Expression:
    """A naive UTC time as the local time ``tz_offset`` minutes west of UTC (a negative
    offset converts local back to UTC)."""
    if not tz_offset:
        return naive_utc
    return exp.Sub(this=naive_utc, expression=_minutes(tz_offset))


class DuckDBCompiler(Compiler):
    """DuckDB 2.0: JSON columns have the ``JSON`` type, lists are 1-based, and time is
    handled as naive UTC so no session setting changes a result."""

    DIALECT = "duckdb"
    FUNCTIONS = {
        **Compiler.FUNCTIONS,
        "percentile": replace(
            Compiler.FUNCTIONS["percentile"], handler=functions.duckdb_percentile
        ),
    }

    def share_json_reads(self, trees: list, table: str) -> list[exp.Expression]:
        return _share_json_reads(trees, table)

    TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # as the store renders ``created``
    BUCKET_FORMAT = "%Y-%m-%dT%H:%M:%SZ"  # bucket starts: "2024-11-09T00:00:00Z"
    COERCIONS = {
        (T.JSON, T.STRING): lambda c, x: c.json_text(x),
        # a JSON number or numeric string is itself, true and false 1 and 0 (as booleans)
        (T.JSON, T.NUMBER): lambda c, x: c.json_measure(x),
        (T.JSON, T.BOOLEAN): lambda c, x: _bound(x, lambda v: _case(
            c.json_is_number(v),
            exp.NEQ(this=c.json_num(v.copy()), expression=exp.Literal.number(0)),
            _cast(c.json_text(v.copy()), "BOOLEAN", safe=True),
        )),
        (T.JSON, T.TIMESTAMP): lambda c, x: _bound(x, lambda v: _case(
            c.json_is_number(v), _epoch_seconds(c.json_num(v.copy())),
            c.parse_timestamp(c.json_text(v.copy())),
        )),
        (T.JSON, T.DATE): lambda c, x: _cast(_unplus(c.json_text(x)), "DATE", safe=True),
        (T.JSON, T.INTERVAL): lambda c, x: _cast(c.json_text(x), "INTERVAL", safe=True),
        (T.JSON, T.ARRAY): lambda c, x: _cast(x, "VARCHAR[]", safe=True),
        **{(t, T.JSON): lambda c, x: fn("to_json", x) for t in (T.STRING, T.BOOLEAN)},
        # as an answer writes a number (NaN and infinities are null: JSON has no spelling)
        (T.NUMBER, T.JSON): lambda c, x: c.number_to_output(x),
        (T.ARRAY, T.JSON): lambda c, x: fn("to_json", x),
        (T.INTERVAL, T.JSON): lambda c, x: fn("to_json", _cast(c.canonical_interval(x), "VARCHAR")),
        (T.TIMESTAMP, T.JSON): lambda c, x: fn("to_json", c.format_timestamp(x)),
        (T.DATE, T.JSON): lambda c, x: fn("to_json", c.format_date(x)),
        (T.STRING, T.NUMBER): lambda c, x: _cast(x, "DOUBLE", safe=True),
        (T.STRING, T.BOOLEAN): lambda c, x: _cast(x, "BOOLEAN", safe=True),
        (T.STRING, T.TIMESTAMP): lambda c, x: c.parse_timestamp(x),
        (T.STRING, T.DATE): lambda c, x: _cast(_unplus(x), "DATE", safe=True),
        (T.STRING, T.INTERVAL): lambda c, x: _cast(x, "INTERVAL", safe=True),
        # as an answer writes the number (`to_string(2 * 0.5)` is "1", not "1.0")
        (T.NUMBER, T.STRING): lambda c, x: c.number_text(x),
        (T.NUMBER, T.BOOLEAN): lambda c, x: exp.NEQ(this=x, expression=exp.Literal.number(0)),
        (T.NUMBER, T.TIMESTAMP): lambda c, x: _epoch_seconds(x),
        # seconds beyond an interval's range (1e20) are NULL, not an error
        (T.NUMBER, T.INTERVAL): lambda c, x: _bound(
            x,
            lambda v: _in_range(v, _INTERVAL_SECONDS, fn("to_seconds", _cast(v.copy(), "DOUBLE"))),
        ),
        (T.BOOLEAN, T.NUMBER): lambda c, x: _cast(x, "INTEGER"),
        (T.BOOLEAN, T.STRING): lambda c, x: _cast(x, "VARCHAR"),
        (T.TIMESTAMP, T.STRING): lambda c, x: c.format_timestamp(x),
        (T.TIMESTAMP, T.NUMBER): lambda c, x: fn("epoch", x),
        # A date is a day of the request's time zone (tz_offset minutes west of UTC): an
        # instant's date there, and as an instant the start of that day there.
        # (NULL beyond the timestamp range: a date's range is wider, and tz_offset moves
        # the range's last day)
        (T.TIMESTAMP, T.DATE): lambda c, x: _tried(
            x, _cast(_local(_utc(x), c.tz_offset), "DATE"), bool(c.tz_offset)
        ),
        (T.DATE, T.TIMESTAMP): lambda c, x: _tried(
            x, _utc(_local(_cast(x, "TIMESTAMP"), -c.tz_offset))
        ),
        (T.DATE, T.STRING): lambda c, x: c.format_date(x),
        (T.ARRAY, T.STRING): lambda c, x: _cast(fn("to_json", x), "VARCHAR"),
        (T.ARRAY, T.BOOLEAN): lambda c, x: exp.GT(this=fn("len", x), expression=_zero()),
        (T.INTERVAL, T.STRING): lambda c, x: _cast(c.canonical_interval(x), "VARCHAR"),
        (T.INTERVAL, T.NUMBER): lambda c, x: fn("epoch", x),
    }  # fmt: skip

    NULL_TYPES = {
        T.JSON: "JSON", T.STRING: "VARCHAR", T.NUMBER: "DOUBLE", T.BOOLEAN: "BOOLEAN",
        T.TIMESTAMP: "TIMESTAMPTZ", T.DATE: "DATE", T.ARRAY: "VARCHAR[]", T.INTERVAL: "INTERVAL",
    }  # fmt: skip

    def constant_key(self, sql: exp.Expression, type_: T) -> exp.Expression:
        """A constant as a GROUP BY or ORDER BY term: cast, since DuckDB reads a bare integer
        there as a column position and refuses other bare literals in ORDER BY."""
        return _cast(sql, self.NULL_TYPES.get(type_, "INTEGER"))  # (null: any type)

    def null_of(self, type_: T, sql: exp.Expression | None = None) -> exp.Expression:
        """A NULL of a type: DuckDB cannot pick an overload for a bare NULL (``day(null)``,
        ``null + interval 1 day``), nor for an expression that is always NULL (``sql``:
        ``coalesce(null, null)``)."""
        sql = exp.Null() if sql is None else sql
        return _cast(sql, self.NULL_TYPES[type_]) if type_ in self.NULL_TYPES else sql

    def scaled_interval(
        self, op: type[exp.Expression], interval, count, aggregate: bool = False
    ) -> exp.Expression:
        """``interval * count`` or ``interval / count``; NULL beyond an interval's range. The
        guard repeats its operands, so a large one (``interval 1 day * 2 * 2 …``, which
        doubled at each step: 14 steps took 20 s to plan) gets ``try()`` instead, NULL
        where DuckDB fails (or, with an aggregate inside, which try() does not take, no
        guard: it fails as a 400)."""
        scaled = op(this=interval, expression=count)
        if _size(interval) + _size(count) > _GUARDED_SIZE:
            return scaled if aggregate else fn("try", scaled)
        seconds = op(this=fn("epoch", interval.copy()), expression=count.copy())
        return _in_range(seconds, _INTERVAL_SECONDS, scaled)

    def temporal_sum(
        self,
        op: type[exp.Expression],
        left,
        right,
        result,
        aggregate: bool,
        times: tuple[bool, bool] = (False, False),
    ) -> exp.Expression:
        """``left ± right`` of a time and an interval or of two intervals (``result`` the
        type of the sum); NULL beyond a timestamp's or an interval's range, where DuckDB
        fails. ``try()``, unless an aggregate is inside, which DuckDB refuses there: then a
        guard on the seconds of both (an interval's months at DuckDB's average length, which
        a calendar's months differ from by days: a time is kept ``_TIME_GUARD_SECONDS``
        inside the range). The guard repeats its operands, so only small ones get it (a
        chain of sums would double at each step); a larger one fails as before (a 400).
        ``times`` says which operands are times (TIMESTAMPTZ): the sum is taken on their
        naive UTC value, as DuckDB adds an interval to a TIMESTAMPTZ on the calendar of the
        session's time zone (``created - interval 3000 year`` took the historic local mean
        time offset of Asia/Kolkata, minutes off the hour)."""
        if any(times):
            left = _utc(left) if times[0] else left
            right = _utc(right) if times[1] else right
        total = op(this=left, expression=right)
        if any(times):
            total = _utc(total)
        if not aggregate:
            return fn("try", total)
        if _size(left) + _size(right) > _GUARDED_SIZE:
            return total
        seconds = op(this=fn("epoch", left.copy()), expression=fn("epoch", right.copy()))
        bounds = _TIME_GUARD_SECONDS if result is T.TIMESTAMP else _INTERVAL_SECONDS
        return _in_range(seconds, bounds, total)

    def int64_round(self, sql: exp.Expression, places: int) -> exp.Expression:
        """A 64-bit integer rounded to ``places`` < 0, NULL beyond 64 bits."""
        rounded = exp.Round(this=_cast(sql, "HUGEINT"), decimals=exp.Literal.number(places))
        return _cast(rounded, "BIGINT", safe=True)

    def int64_arithmetic(self, op: type[exp.Expression], left, right) -> exp.Expression:
        """``left <op> right`` of two 64-bit integers, NULL beyond 64 bits (where DuckDB
        fails): computed in 128 bits, where they cannot overflow, and narrowed back."""
        wide = op(this=_cast(left, "HUGEINT"), expression=right)
        return _cast(wide, "BIGINT", safe=True)

    def signed_integer(self, sql: exp.Expression) -> exp.Expression:
        """An unsigned integer (``_xact_id``) widened so that a difference or a negation may
        be negative."""
        return _cast(sql, "HUGEINT")

    def integer_literal(self, value: int) -> exp.Expression:
        """A 64-bit integer (DuckDB types ``65536`` INT32); larger values keep DuckDB's
        wider type."""
        if is_int64(value):
            return _cast(exp.Literal.number(value), "BIGINT")
        return exp.Literal.number(value)

    def double_literal(self, value: float) -> exp.Expression:
        if value == 0 and math.copysign(1, value) < 0:
            # DuckDB reads the number -0.0 as a decimal, whose zero has no sign
            return _cast(_s("-0.0"), "DOUBLE")
        return _cast(exp.Literal.number(repr(float(value))), "DOUBLE")

    def json_literal(self, value: object) -> exp.Expression:
        return _cast(_s(json.dumps(value, separators=(",", ":"), ensure_ascii=False)), "JSON")

    def timestamp_literal(self, value: dt.datetime | times.FarTime) -> exp.Expression:
        if isinstance(value, times.FarTime):  # (a year outside 1-9999, which DuckDB has)
            text = times.engine_text(value)
        else:
            try:
                text = value.astimezone(dt.UTC).isoformat(sep=" ")
            except OverflowError:  # (a form parse_far_time does not read: DuckDB's offset)
                text = value.isoformat(sep=" ")
        return _cast(_s(text), "TIMESTAMPTZ")

    def interval_text_seconds(self, text: str) -> float | None:
        """As DuckDB reads the string (``'99999999 years'``, ``'1 day 02:00:00'``): its
        own parser, so a literal means what the cast at run time makes of it."""
        with _INTERVALS_LOCK:
            global _INTERVALS
            if _INTERVALS is None:
                _INTERVALS = duckdb.connect(config={"autoinstall_known_extensions": "false"})
            months, days, micros = _INTERVALS.execute(
                "SELECT datepart('year', v) * 12 + datepart('month', v), datepart('day', v),"
                " datepart('hour', v)::HUGEINT * 3600000000 + datepart('minute', v) * 60000000"
                " + datepart('microseconds', v) FROM (SELECT TRY_CAST(? AS INTERVAL) AS v)",
                [text],
            ).fetchone()
        if months is None:
            return None
        units = self.INTERVAL_UNITS
        return months * units["month"] + days * units["day"] + micros / 1e6

    def date_literal(self, value: dt.date | times.FarTime) -> exp.Expression:
        if isinstance(value, times.FarTime):
            return _cast(_s(times.engine_date_text(value.date_days)), "DATE")
        return _cast(_s(value.isoformat()), "DATE")

    # JSON: paths are literals of escaped segments, one json_extract per run of segments.

    def json_get(self, sql: exp.Expression, path: tuple[str | int, ...]) -> exp.Expression:
        """``$."a"[0][#-1]`` paths; the keys ``*`` and ``""`` mean something else in a ``$``
        path, so they get a JSON pointer step (``/*``) of their own. JSON null is NULL."""
        steps, run = [], "$"
        for seg in path:
            if isinstance(seg, int):
                run += f"[{seg}]" if seg >= 0 else f"[#{seg}]"
            elif seg in ("*", ""):
                steps += [run] * (run != "$") + ["/" + seg]
                run = "$"
            else:
                run += '."' + seg.replace("\\", "\\\\").replace('"', '\\"') + '"'
        steps += [run] * (run != "$")
        for step in steps:
            sql = fn("json_extract", sql, _s(step))
        return exp.Nullif(this=sql, expression=_cast(_s("null"), "JSON"))

    def json_extract_key(self, sql: exp.Expression, type_: T, key: str) -> exp.Expression:
        """``json_extract(x, key)``: the key of the JSON a string (or a JSON string) holds,
        NULL if it is not JSON; of any other JSON value, its key as it is stored.

        DuckDB's JSON reader takes NaN and infinities (``NaN``, ``-inf``, ``1e999``), which
        JSON has no spelling for, and writes them back as they were read: a value read from
        text that is one, or an array or object holding one, is NULL, so that no answer
        carries it (the text's other keys read as usual). Stored JSON values were checked
        when written, and pay nothing: a stored object's key is read as before.

        A value that reads JSON is computed once and named (a lambda's variable): DuckDB
        computes an expression again wherever it is written, and each read parses a whole
        document."""

        def from_text(text: exp.Expression) -> exp.Expression:
            # (TRY_CAST: NULL when the text is not JSON, and no error when it is a constant)
            value = self.json_get(_cast(text, "JSON", safe=True), (key,))
            return _let(value, "tl_j", _finite_json)

        if type_ is T.STRING:
            return from_text(sql)
        text = from_text(fn("json_extract_string", sql, _s("$")))
        is_string = exp.EQ(this=self.json_type_of(sql.copy()), expression=_s("VARCHAR"))
        return _case(is_string, text, self.json_get(sql.copy(), (key,)))

    def json_type_of(self, sql: exp.Expression) -> exp.Expression:
        return fn("json_type", sql)

    def json_is_number(self, sql: exp.Expression) -> exp.Expression:
        return exp.In(this=self.json_type_of(sql), expressions=[_s(k) for k in _NUMERIC_JSON])

    def json_num(self, sql: exp.Expression) -> exp.Expression:
        """A JSON number or numeric string as a number, NULL for anything else (a boolean
        too: min, max and sort keys rank numbers apart from other values)."""
        return _cast(self.json_text(sql), "DOUBLE", safe=True)

    def json_measure(self, sql: exp.Expression) -> exp.Expression:
        """A JSON value as a number, as arithmetic, comparisons with a number, casts and
        aggregates read it: a number (or a numeric string) as itself, true and false as 1
        and 0, as a boolean is (``sum(metadata.cached)`` counts the true ones)."""
        direct = _path_read(sql) if self.lean_paths else None
        json_type = fn("json_type", *direct) if direct else self.json_type_of(sql.copy())
        is_boolean = exp.EQ(this=json_type, expression=_s("BOOLEAN"))
        boolean = _cast(_cast(self.json_text(sql.copy()), "BOOLEAN"), "INTEGER")
        return exp.Coalesce(this=self.json_num(sql), expressions=[_case(is_boolean, boolean)])

    def json_is_integer(self, sql: exp.Expression) -> exp.Expression:
        return exp.In(this=self.json_type_of(sql), expressions=[_s("BIGINT"), _s("UBIGINT")])

    def json_integer(self, sql: exp.Expression) -> exp.Expression:
        """A JSON integer as an exact integer (a double keeps 53 bits: 9007199254740993
        read as 9007199254740992); under :meth:`json_is_integer` only."""
        return _cast(self.json_text(sql), "HUGEINT")

    def json_text(self, sql: exp.Expression) -> exp.Expression:
        """A string's content, or the JSON text of any other value."""
        direct = _path_read(sql) if self.lean_paths else None
        if direct is not None:  # read the field's text in one call (JSON null reads NULL)
            return fn("json_extract_string", *direct)
        return fn("json_extract_string", sql, _s("$"))

    def json_string(self, sql: exp.Expression) -> exp.Expression:
        """A string's content; NULL for any other JSON value."""
        direct = _path_read(sql) if self.lean_paths else None
        if direct is not None:
            # json_type(doc, path) is 'NULL' (not NULL) for a JSON null; either way the
            # CASE yields NULL, and the field is read without building a JSON value first.
            base, path = direct
            is_string = exp.EQ(this=fn("json_type", base, path), expression=_s("VARCHAR"))
            return _case(is_string, fn("json_extract_string", base.copy(), path.copy()))
        is_string = exp.EQ(this=self.json_type_of(sql), expression=_s("VARCHAR"))
        return _case(is_string, self.json_text(sql.copy()))

    def json_string_like(self, sql: exp.Expression, like) -> exp.Expression:
        """``like(string content)`` where only a TRUE result matters (see ``Ctx.truthy``):
        the pattern runs first on the field's text, and the string type is checked only on
        the rows it matches (one JSON read per row instead of two)."""
        direct = _path_read(sql) if self.lean_paths else None
        if direct is None:
            return like(self.json_string(sql))
        base, path = direct
        is_string = exp.EQ(this=fn("json_type", base, path), expression=_s("VARCHAR"))
        return exp.and_(like(fn("json_extract_string", base.copy(), path.copy())), is_string)

    def json_elements(self, sql: exp.Expression) -> exp.Expression:
        """The elements of a JSON array or the values of an object, as a JSON list. (Of a
        value DuckDB folds to a constant NULL, such as ``json_extract('{}', 'x')``, a
        wildcard path is a NULL JSON, not a list, unless cast.)"""
        items = _cast(fn("json_extract", sql, _s("$[*]")), "JSON[]")
        values = _cast(fn("json_extract", sql.copy(), _s("$.*")), "JSON[]")
        return fn("list_concat", items, values)

    def json_contains(self, haystack: exp.Expression, needle: exp.Expression) -> exp.Expression:
        return fn("json_contains", haystack, needle)

    def json_compare(self, cls, left: exp.Expression, right: exp.Expression) -> exp.Expression:
        both = exp.and_(self.json_is_number(left), self.json_is_number(right))
        num = cls(this=self.json_num(left.copy()), expression=self.json_num(right.copy()))
        text = cls(this=self.json_text(left.copy()), expression=self.json_text(right.copy()))
        return _case(both, num, text)

    def json_search_text(self, sql: exp.Expression) -> exp.Expression:
        """JSON text without object keys, escapes blanked: the words of a JSON value.
        ``json()`` re-serialises first, so ``\u00e3`` in stored text reads as ``ã``."""
        text = _cast(fn("json", sql), "VARCHAR")
        text = fn("regexp_replace", text, _s(JSON_KEY_PATTERN), _s(" "), _s("g"))
        return fn("regexp_replace", text, _s(JSON_ESCAPE_PATTERN), _s(" "), _s("g"))

    def match_text(self, text: exp.Expression, tokens: list[str]) -> exp.Expression:
        words = fn("string_split_regex", exp.Lower(this=text), _s(NOT_ALNUM_PATTERN))
        wanted = exp.Array(expressions=[_s(t) for t in tokens])
        return exp.Coalesce(this=fn("list_has_all", words, wanted), expressions=[exp.false()])

    # lists

    def list_get(self, sql: exp.Expression, index: int) -> exp.Expression:
        return fn("list_extract", sql, exp.Literal.number(index + 1 if index >= 0 else index))

    def empty_list(self) -> exp.Expression:
        """An empty list of strings (the element type of ``tags``)."""
        return _cast(exp.Array(expressions=[]), "VARCHAR[]")

    def lambda_var(self) -> exp.Expression:
        return exp.column("tl_el")

    def list_any(self, sql: exp.Expression, predicate) -> exp.Expression:
        """Some element satisfies ``predicate(element)`` (NULL for a NULL list)."""
        body = exp.Lambda(
            this=predicate(self.lambda_var()), expressions=[exp.to_identifier("tl_el")]
        )
        kept = fn("len", fn("list_filter", sql, body))
        return exp.GT(this=kept, expression=exp.Literal.number(0))

    def length(self, sql: exp.Expression, type_: T) -> exp.Expression:
        if type_ is T.STRING:
            return exp.Length(this=sql)
        if type_ is T.ARRAY:
            return fn("len", sql)
        kind = self.json_type_of(sql)
        return exp.Case(
            ifs=[
                exp.If(
                    this=exp.EQ(this=kind, expression=_s("ARRAY")),
                    # (UBIGINT: with the BIGINT branches the CASE was a HUGEINT, a
                    # decimal in Parquet)
                    true=_cast(fn("json_array_length", sql.copy()), "BIGINT"),
                ),
                exp.If(
                    this=exp.EQ(this=kind.copy(), expression=_s("OBJECT")),
                    true=fn("len", fn("json_keys", sql.copy())),
                ),
            ],
            default=exp.Length(this=self.json_string(sql.copy())),
        )

    def to_integer(self, sql: exp.Expression) -> exp.Expression:
        return _cast(fn("trunc", sql), "BIGINT", safe=True)

    def number_to_output(self, sql: exp.Expression) -> exp.Expression:
        """Floats holding integers become JSON integers (``100000``, not ``100000.0``),
        but ``-0.0`` stays a float (a JSON ``-0`` is read back as 0 and lost its sign);
        non-finite values become NULL (JSON has no NaN)."""
        json_value = _cast(_json_number_text(sql), "JSON")
        return _case(fn("isfinite", _cast(sql.copy(), "DOUBLE")), json_value)

    def number_text(self, sql: exp.Expression) -> exp.Expression:
        """A number's text as an answer writes it (:meth:`number_to_output`): ``1``, not
        ``1.0``; ``100000000000000000000`` and ``1e-7``, not ``1e+20`` and ``1e-07``; NULL
        for NaN and the infinities, which an answer writes as null."""

        def text(v: exp.Expression) -> exp.Expression:
            return _case(fn("isfinite", _cast(v, "DOUBLE")), _json_number_text(v.copy()))

        return _bound(sql, text)

    def integer_text(self, sql: exp.Expression) -> exp.Expression:
        """An integer's digits (a 64-bit, unsigned or 128-bit integer: a plain cast)."""
        return _cast(sql, "VARCHAR")

    # time

    def bucket(
        self, ts: exp.Expression, unit: str, count: int, tz_offset: int, aggregate: bool = False
    ) -> exp.Expression:
        """The start of the ``count`` × ``unit`` bucket holding ``ts`` in local time
        (``tz_offset`` minutes west of UTC), as an instant; NULL where it lies beyond the
        timestamp range (a time within a day or a year of its ends), where DuckDB fails:
        ``try()``, or, with an aggregate inside (which DuckDB refuses there), a guard that
        keeps ``ts`` ``_TIME_GUARD_SECONDS`` inside the range."""
        start = self._bucket_start(ts, unit, count, tz_offset)
        if not aggregate:
            return fn("try", start)
        return _in_range(fn("epoch", ts.copy()), _TIME_GUARD_SECONDS, start)

    def _bucket_start(self, ts: exp.Expression, unit: str, count: int, tz_offset: int):
        local = _utc(ts)
        if tz_offset:
            local = exp.Sub(this=local, expression=_minutes(tz_offset))
        if count == 1:
            start = fn("date_trunc", _s(unit), local)
        else:
            step = exp.Interval(this=_s(str(count)), unit=exp.Var(this=unit.upper()))
            start = fn("time_bucket", step, local, _cast(_s("1970-01-01"), "TIMESTAMP"))
        if tz_offset:
            start = exp.Add(this=start, expression=_minutes(tz_offset))
        return _utc(start)

    def parse_timestamp(self, sql: exp.Expression) -> exp.Expression:
        """A string as an instant: with an offset as given, without one as UTC. An expanded
        year may have its ``+`` (``+010000-01-01``, as :func:`_iso_strftime` writes it)."""

        def parse(text: exp.Expression) -> exp.Expression:
            has_offset = fn("regexp_matches", text, _s(_OFFSET))
            naive = _utc(_cast(_unplus(text), "TIMESTAMP", safe=True))
            return _case(has_offset, _cast(_unplus(text), "TIMESTAMPTZ", safe=True), naive)

        return _bound(sql, parse)

    def format_timestamp(self, sql: exp.Expression, whole_seconds: bool = False) -> exp.Expression:
        fmt = self.BUCKET_FORMAT if whole_seconds else self.TIMESTAMP_FORMAT
        return _iso_strftime(_utc(sql), fmt, "TIMESTAMP")

    def canonical_interval(self, sql: exp.Expression) -> exp.Expression:
        """An interval in the one form it is written in: its months as given (a month is
        no fixed number of days), whole days of its time carried into its days, and days
        and time of one sign, so that equal intervals read alike: ``interval 24 hour`` and
        ``to_interval(86400)`` are ``1 day`` (not ``24:00:00``), ``interval 25 hour`` is
        ``1 day 01:00:00``, ``interval 1 day - interval 1 hour`` is ``23:00:00`` (not ``1
        day -01:00:00``). In UTC a day is 24 hours, so the value is the same."""

        def build(v: exp.Expression) -> exp.Expression:
            def part(unit: str, scale: int = 1) -> exp.Expression:
                value = _cast(fn("datepart", _s(unit), v.copy()), "HUGEINT")
                return exp.Mul(this=value, expression=exp.Literal.number(scale))

            months = exp.Add(this=part("year", 12), expression=part("month"))
            time = exp.Add(
                this=exp.Add(this=part("day", _DAY_US), expression=part("hour", 3_600_000_000)),
                expression=exp.Add(
                    this=part("minute", 60_000_000), expression=part("microseconds")
                ),
            )
            day = exp.Literal.number(_DAY_US)
            # DuckDB's // and % truncate: days and the rest get the sign of the whole
            days = exp.IntDiv(this=exp.paren(time), expression=day)
            rest = exp.Mod(this=exp.paren(time.copy()), expression=day.copy())
            return exp.Add(
                this=exp.Add(
                    this=fn("to_months", _cast(months, "BIGINT")),
                    expression=fn("to_days", _cast(days, "BIGINT")),
                ),
                expression=fn("to_microseconds", _cast(rest, "BIGINT")),
            )

        return _bound(sql, build)

    def format_date(self, sql: exp.Expression) -> exp.Expression:
        return _iso_strftime(sql, "%Y-%m-%d", "DATE")

    def timestamp_to_date(self, sql: exp.Expression) -> exp.Expression:
        return self.COERCIONS[T.TIMESTAMP, T.DATE](self, sql)
