r"""The BTQL function and operator tables: what each call and operator means.

``FUNCTIONS`` maps a function name to a :class:`FunctionSpec` whose handler gets the compiler,
the context, the call node and the compiled arguments; ``OPERATORS`` maps an operator (the
AST ``op``) to a handler of the compiler, the context and the node. Handlers return a
:class:`~tracelake.query.types.Typed` and only use the compiler's coercions and primitives,
so a dialect changes one by overriding a primitive or replacing an entry
(``FUNCTIONS = {**Compiler.FUNCTIONS, …}``).

Operator decisions:

* Comparisons convert both sides to a common type (:func:`types.common_type`): a JSON value
  compared with a string literal compares its text, with a number numerically (numeric
  strings count), with a boolean as a boolean; JSON vs JSON compares numerically when both
  are numbers, else as text; a JSON integer and an integer literal beyond 2^53 compare
  exactly (not as doubles). ``created > '2024-01-01'`` compares instants (a string without
  offset is UTC; an invalid one is an error).
* ``x = null`` / ``x != null`` mean IS [NOT] NULL (btql.md §4.7); JSON ``null`` is NULL.
  ``<=>`` / ``<!=>`` are null-safe. Everything else is SQL three-valued logic.
* ``x IN (a, b)`` is ``x = a OR x = b`` and ``x NOT IN (…)`` is ``NOT (x IN (…))``, as in
  SQL, with ``= null`` meaning IS NULL: a NULL ``x`` is NULL (the row is dropped by either)
  unless null is listed, when IN is true and NOT IN false; a listed null never matches a
  value, so ``'b' NOT IN ('a', null)`` is true. A typed list or JSON array on the left is in
  the list when one of its elements is (a null element matches a listed null).
* ``INCLUDES`` is never NULL: a missing haystack includes nothing, so ``NOT tags INCLUDES
  'x'`` holds for spans without tags. A list on the right means every element:
  ``tags INCLUDES ['a', 'b']`` holds when ``tags`` has both (``[]`` when ``tags`` is a list).
* LIKE / ILIKE: ``%`` and ``_`` are wildcards (as in SQL), ``\`` escapes; only strings match
  (JSON objects, arrays and numbers never do); a typed list matches if an element does. The
  pattern is a string (or a JSON value, or NULL); any other type is an error.
* MATCH: see :meth:`Compiler.compile_match`.
* Arithmetic takes numbers (booleans are 0/1; JSON values and numeric string literals
  convert); division is never integer division; ``x / 0`` and ``x % 0`` are NULL; timestamp
  ± interval, timestamp - timestamp and interval × or / a number work. Any other operand
  (an array, a string field, a timestamp with a number) is an error.
* Operands go through :meth:`Compiler.expect` (the conversions of :data:`types.IMPLICIT`),
  conditions (filters, NOT, AND/OR, ``? :``) through :meth:`Compiler.to_boolean`: a
  boolean, a JSON value or NULL. Comparisons convert both sides to a common type; a literal
  that does not convert to it (``_xact_id = 'abc'``) is an error.

Function decisions:

* ``second minute hour day week month year(ts)`` return the bucket START as a timestamp
  (``"2024-11-09T00:00:00Z"``), not a number; with ``tz_offset`` (minutes west of UTC) the
  bucket is ``date_trunc(unit, ts - offset) + offset``. Weeks start on Monday.
* ``date_trunc(unit, ts)`` takes ``second … year`` or a multiple of seconds, minutes, hours
  or days (``'15 minutes'``, ``'2 hours'``); multiples count from 1970-01-01 (local, i.e.
  shifted by ``tz_offset`` too).
* Both take a timestamp, a date, a JSON value (an ISO string or Unix seconds, per row) or a
  string literal (an invalid one is an error); a number or a string field is an error
  (``to_datetime()`` converts them).
* Casts (``to_*``) never fail: a value that does not convert is NULL. ``to_integer``
  truncates toward zero; ``to_datetime`` of a number reads Unix seconds; ``to_interval`` of a
  number reads seconds; ``to_string`` of a number is the text the answer writes for it
  (``to_string(2 * 0.5)`` is ``"1"``; NaN and infinities, written as null, are NULL).
* A date is a day of the request's time zone (``tz_offset``), like the buckets:
  ``current_date()`` is today there, ``to_date(ts)`` the day ``ts`` falls on there, and a
  date used as a time (``created >= to_date('2024-11-09')``, ``current_date() - interval 1
  day``) is the start of that day there. ``to_date`` of a string reads the date it spells.
* ``percentile(x, p)`` is the continuous (interpolated) quantile, p a literal in [0, 1].
* ``min``/``max`` of a JSON field compare numbers when any value is a number, else text.
* ``least``/``greatest`` skip NULLs; over JSON fields they compare numbers.
* ``coalesce``/``least``/``greatest`` convert their arguments to one type (:func:`one_type`):
  ``least(created, '2024-01-01')`` compares times; for ``least``/``greatest`` arguments that
  do not mix (an array and a timestamp, a string field and a number) are an error, while
  ``coalesce`` then returns the first non-null one as a JSON value, as the branches of
  ``? :`` mix. JSON values beside literals only, not all strings, are kept as they are (a
  JSON result): ``coalesce(metadata.label, 0)`` is the label whatever it holds, not NULL → 0
  for a string.
* ``concat`` skips NULLs; ``len`` is the length of a string, a list, a JSON array or string,
  or the number of keys of a JSON object.
* ``json_extract(x, 'key')`` reads ONE key (dots are part of it) from a JSON string or an
  object; invalid JSON or a missing key is NULL.
* ``estimated_cost()`` is ``metrics.estimated_cost`` when present; tracelake does not price
  tokens by model.
* ``search('q')`` is ``input MATCH q OR output MATCH q OR expected MATCH q OR metadata MATCH q
  OR span_attributes MATCH q`` over the fields the source has.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from tracelake.model import words
from tracelake.query import ast as a
from tracelake.query import times
from tracelake.query.errors import QueryError
from tracelake.query.types import (
    T,
    Typed,
    an,
    common_type,
    converts_implicitly,
    is_int64,
    json_beside_literals,
    null,
)

if TYPE_CHECKING:
    from tracelake.query.compiler import Compiler

Handler = Callable[["Compiler", Any, Any, list[Typed]], Typed]


@dataclass(frozen=True)
class FunctionSpec:
    handler: Handler
    min_args: int = 1
    max_args: int | None = 1
    aggregate: bool = False
    distinct: bool = False  # accepts count(DISTINCT x)
    star: bool = False  # accepts count(*)


BUCKET_UNITS = ("second", "minute", "hour", "day", "week", "month", "year")
MULTIPLE_UNITS = ("second", "minute", "hour", "day")
_TRUNC_UNIT = re.compile(r"^\s*(?:(\d+)\s*)?([a-z]+?)s?\s*$", re.IGNORECASE)
_INTEGER = re.compile(r"^\s*[-+]?\d+\s*$")
_NUMBER = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$")
_TOKEN = re.compile(r"[^\W_]+")


def fn(name: str, *args: exp.Expression) -> exp.Expression:
    """An engine function call by name (sqlglot does not reinterpret its meaning)."""
    return exp.Anonymous(this=name, expressions=list(args))


def paren(e: exp.Expression) -> exp.Expression:
    # AND/OR are sqlglot Funcs too, but print as bare operators: NOT (a AND b) needs them.
    closed = exp.Column | exp.Literal | exp.Anonymous | exp.Paren | exp.Func
    if isinstance(e, closed) and not isinstance(e, exp.Connector):
        return e
    return exp.Paren(this=e)


def aggregated(*values: Typed) -> bool:
    return any(v.aggregate for v in values)


def match_tokens(text: str) -> list[str]:
    """The lower-cased alphanumeric tokens of a MATCH query (underscore separates tokens),
    lower-cased as the engine lower-cases the text (``words.lower``)."""
    return list(dict.fromkeys(words.lower(t) for t in _TOKEN.findall(text)))


def is_int64_text(text: str) -> bool:
    """Whether a string literal spells a 64-bit integer (which converts to one)."""
    return bool(_INTEGER.match(text)) and len(text.strip()) <= 21 and is_int64(int(text))


def number_beyond_double(text: str, to: T) -> bool:
    """Whether a string literal converted to a number spells one beyond a double's range
    (``'1e999'``), which converts to NULL: a comparison or an operand says so."""
    return to is T.NUMBER and bool(_NUMBER.match(text)) and math.isinf(float(text))


def convert_string_literal(c: Compiler, text: str, to: T) -> exp.Expression | None:
    """A string literal converted at compile time, or None to convert at run time."""
    if to is T.NUMBER:
        number = float(text) if _NUMBER.match(text) else math.nan
        if not math.isfinite(number):  # (an integer beyond a double's range too)
            return exp.Null()
        if _INTEGER.match(text) and is_int64(int(text)):
            return c.integer_literal(int(text))
        return c.double_literal(number)  # (beyond 64 bits too, as a JSON number that large)
    if to is T.TIMESTAMP:
        value = c.parse_timestamp_literal(text)
        return None if value is None else c.timestamp_literal(value)
    if to is T.DATE:
        value = c.parse_timestamp_literal(text)
        if value is None:
            return None
        return c.date_literal(value if isinstance(value, times.FarTime) else value.date())
    if to is T.BOOLEAN and text.strip().lower() in ("true", "false"):
        return exp.Boolean(this=text.strip().lower() == "true")
    if to is T.JSON:
        return c.json_literal(text)
    return None


def _convert(c: Compiler, sql: exp.Expression, frm: T, to: T) -> exp.Expression:
    return c.COERCIONS[frm, to](c, sql)


def _literal(c: Compiler, value: Typed, what: str, node, kinds=(str,)):
    return c.literal_value(value, what, node, kinds)


# -- time ------------------------------------------------------------------------------------


def _bucket(unit: str) -> Handler:
    def handler(c, ctx, node, args):
        ts = c.expect(args[0], T.TIMESTAMP, node, f"{node.name}()")
        sql = c.bucket(ts.sql, unit, 1, ctx.scope.tz_offset, ts.aggregate)
        return ts.to(sql, T.TIMESTAMP, whole_seconds=True)

    return handler


def _date_trunc(c, ctx, node, args):
    spec = _literal(c, args[0], "the date_trunc unit", node)
    m = _TRUNC_UNIT.match(spec)
    # (a count of more digits than any bucket in range has is read as too long)
    digits = (m.group(1) or "1").lstrip("0") or "0" if m else "0"
    count = int(digits) if len(digits) <= 18 else 10**18
    unit = m.group(2).lower() if m else ""
    if unit not in BUCKET_UNITS or count < 1 or (count > 1 and unit not in MULTIPLE_UNITS):
        raise c.error(
            f"invalid date_trunc unit '{spec}' (use second, minute, hour, day, week, month, "
            "year, or a multiple like '15 minutes')",
            c.where(args[0], node),
        )
    if count * c.INTERVAL_UNITS[unit] > c.MAX_INTERVAL_SECONDS:
        message = f"date_trunc unit '{spec}' is out of range (at most 290,000 years)"
        raise c.error(message, c.where(args[0], node))
    ts = c.expect(args[1], T.TIMESTAMP, node, "date_trunc()")
    sql = c.bucket(ts.sql, unit, count, ctx.scope.tz_offset, ts.aggregate)
    return ts.to(sql, T.TIMESTAMP, whole_seconds=True)


def _now(c, ctx, node, args):
    return Typed(exp.CurrentTimestamp(), T.TIMESTAMP)


def _current_date(c, ctx, node, args):
    # today in the request's time zone (the TIMESTAMP -> DATE conversion is local)
    return Typed(c.timestamp_to_date(exp.CurrentTimestamp()), T.DATE)


# -- strings, lists, nulls -----------------------------------------------------------------------


def _string_fn(cls: type[exp.Func]) -> Handler:
    def handler(c, ctx, node, args):
        value = c.expect(args[0], T.STRING, node, f"{node.name}()")
        return value.to(cls(this=value.sql), T.STRING)

    return handler


def _concat(c, ctx, node, args):
    parts = [c.expect(v, T.STRING, node, "concat()").sql for v in args]
    return Typed(fn("concat", *parts), T.STRING)


def _len(c, ctx, node, args):
    value = args[0]
    if value.type is T.NULL:
        return value
    if value.type not in (T.STRING, T.ARRAY, T.JSON):
        raise c.error(
            f"len() needs a string or an array, not {an(value.type)}", c.where(value, node)
        )
    return value.to(c.length(value.sql, value.type), T.NUMBER, sql_type="BIGINT")


def _includes(c, ctx, node, args):
    return includes(c, args[0], args[1], node)


def one_type(c: Compiler, node, args: list[Typed]) -> tuple[list[Typed], T]:
    """The arguments of coalesce/least/greatest converted to one type: that of the typed
    arguments (a date goes with timestamps, a boolean with numbers); a literal converts to it
    as in a comparison (``least(created, '2024-01-01')`` compares times, an invalid literal
    is an error); JSON values and NULL take it. Typed arguments that do not mix (an array and
    a timestamp, a string field and a number) are an error. Without typed arguments, the
    literals' common type, else JSON (or NULL)."""

    def mixed(t: T, arg: Typed) -> QueryError:
        return c.error(f"{node.name}() cannot mix {an(t)} and {an(arg.type)}", c.where(arg, node))

    t = T.NULL
    for arg in args:
        if arg.is_literal or arg.type in (T.JSON, T.NULL):
            continue
        wider = arg.type if t is T.NULL else _widen(t, arg.type)
        if wider is None:
            raise mixed(t, arg)
        t = wider
    typed = t is not T.NULL
    if not typed and any(arg.type is T.JSON for arg in args):
        t = T.JSON
    for arg in args:
        if not arg.is_literal:
            continue
        common = common_type(t, arg.type)
        if common is None or (typed and _widen(t, common) is not common):
            raise mixed(t, arg)
        t = common
    return [c.coerce(arg, t, node) for arg in args], t


def _widen(t: T, other: T) -> T | None:
    """The type of typed values ``t`` and ``other`` together: a date goes with timestamps, a
    boolean with numbers; None for other mixes."""
    if t is other:
        return t
    if {t, other} == {T.DATE, T.TIMESTAMP}:
        return T.TIMESTAMP
    if {t, other} == {T.NUMBER, T.BOOLEAN}:
        return T.NUMBER
    return None


def _coalesce(c, ctx, node, args):
    # JSON values beside literals only (not all strings): the first non-null value,
    # whatever it holds (a JSON value). Values of different types (`coalesce(to_number(x),
    # to_string(x))`): the first non-null one as a JSON value, as the branches of `? :` mix.
    try:
        if json_beside_literals(args):
            values, t = c.unify_values(args, node)
        else:
            values, t = one_type(c, node, args)
    except QueryError:
        values, t = c.unify_values(args, node)
    sql = exp.Coalesce(this=values[0].sql, expressions=[v.sql for v in values[1:]])
    return Typed(sql, t)


def _nullif(c, ctx, node, args):
    same = compare(c, "eq", args[0], args[1], node)
    case = exp.Case(ifs=[exp.If(this=same.sql, true=exp.Null())], default=args[0].sql)
    return args[0].to(case, args[0].type)


def _extreme(name: str) -> Handler:
    def handler(c, ctx, node, args):
        values, t = one_type(c, node, args)
        if t is T.JSON:
            values, t = [c.coerce(v, T.NUMBER, node) for v in values], T.NUMBER
        return Typed(fn(name, *(v.sql for v in values)), t)

    return handler


# -- numbers and casts ---------------------------------------------------------------------------


# The engine takes the places as a 32-bit integer; rounding a double to more than ~330 places
# either way gives the same result as to this many.
ROUND_PLACES = 2**31 - 1


def _round(c, ctx, node, args):
    value = _wide_integer(c, c.expect(args[0], T.NUMBER, node, "round()"))
    places = _literal(c, args[1], "the round precision", node, (int,)) if len(args) > 1 else 0
    places = max(-ROUND_PLACES, min(ROUND_PLACES, places))
    if places < 0 and _is_int64(value):  # (rounding up the largest leaves 64 bits)
        return value.to(c.int64_round(value.sql, places), T.NUMBER, sql_type="BIGINT")
    return value.to(exp.Round(this=value.sql, decimals=exp.Literal.number(places)), T.NUMBER)


def _cast(to: T) -> Handler:
    def handler(c, ctx, node, args):
        return c.coerce(args[0], to, node, strict=False)

    return handler


def _to_integer(c, ctx, node, args):
    value = c.coerce(args[0], T.NUMBER, node, strict=False)
    sql = c.to_integer(value.sql)
    if args[0].type is T.JSON:  # a JSON integer as it is (a double rounds one beyond 2^53)
        exact = c.to_integer(c.json_integer(args[0].sql.copy()))
        sql = exp.Case(
            ifs=[exp.If(this=c.json_is_integer(args[0].sql.copy()), true=exact)], default=sql
        )
    return value.to(sql, T.NUMBER, sql_type="BIGINT")


def _to_interval(c, ctx, node, args):
    """A string literal that spells an interval beyond an interval literal's range is an
    error at the argument, as ``interval 99999999 year`` is; any other value that does not
    convert is NULL, and a number of seconds beyond the range too (as ``to_datetime(1e20)``
    is)."""
    value = args[0]
    if isinstance(value.literal, str):
        seconds = c.interval_text_seconds(value.literal)
        if seconds is not None and abs(seconds) > c.MAX_INTERVAL_SECONDS:
            message = f"interval '{value.literal}' is out of range (at most 290,000 years)"
            raise c.error(message, c.where(value, node))
    return c.coerce(value, T.INTERVAL, node, strict=False)


def _json_extract(c, ctx, node, args):
    key = _literal(c, args[1], "the json_extract key", node)
    value = args[0]
    if value.type is T.NULL:
        return value
    if value.type not in (T.STRING, T.JSON):
        raise c.error(
            f"json_extract() needs a JSON string, not {an(value.type)}", c.where(value, node)
        )
    return value.to(c.json_extract_key(value.sql, value.type, key), T.JSON)


def _row_level(c: Compiler, ctx, node) -> None:
    """Functions that read columns themselves need a row: not bare in an aggregate query."""
    if ctx.group_keys is not None and not ctx.in_agg:
        raise c.error(f"{node.name}() in {ctx.clause} must be in an aggregate", node)


def _estimated_cost(c, ctx, node, args):
    _row_level(c, ctx, node)
    if "metrics" not in ctx.scope.columns:
        return null()
    cost = c.get_path(c.column("metrics", ctx.scope), ("estimated_cost",))
    return c.coerce(cost, T.NUMBER, node)


def _search(c, ctx, node, args):
    text = _literal(c, args[0], "the search text", node)
    _row_level(c, ctx, node)
    fields = tuple(f for f in c.SEARCH_FIELDS if f in ctx.scope.columns)
    terms = [c.compile_match(c.column(f, ctx.scope), text, fields, whole=True) for f in fields]
    return Typed(exp.Paren(this=exp.or_(*terms)) if terms else exp.false(), T.BOOLEAN)


# -- aggregates ------------------------------------------------------------------------------------


def _distinct(node, sql: exp.Expression) -> exp.Expression:
    return exp.Distinct(expressions=[sql]) if node.distinct else sql


def _count(c, ctx, node, args):
    arg = args[0].sql if args else exp.Star()
    if node.distinct and isinstance(arg, exp.Star):
        raise c.error("count(DISTINCT *) is not supported", node)
    return Typed(exp.Count(this=_distinct(node, arg)), T.NUMBER, sql_type="BIGINT")


def _count_distinct(c, ctx, node, args):
    return Typed(
        exp.Count(this=exp.Distinct(expressions=[args[0].sql])), T.NUMBER, sql_type="BIGINT"
    )


def _measured(c: Compiler, value: Typed, node, needs: str) -> Typed:
    """The argument of sum, avg or percentile as a number: a boolean counts as 0/1, a JSON
    true/false too (as it does wherever a JSON value is read as a number)."""
    if value.type is T.JSON:
        return value.to(c.json_measure(value.sql), T.NUMBER)
    return c.expect(value, T.NUMBER, node, needs)


def _numeric_agg(cls: type[exp.Func]) -> Handler:
    def handler(c, ctx, node, args):
        value = _measured(c, args[0], node, f"{node.name}()")
        return value.to(cls(this=_distinct(node, value.sql)), T.NUMBER)

    return handler


def _minmax(cls: type[exp.Func], by: str) -> Handler:
    """min/max; of JSON values the numbers (numeric strings too) compare as numbers, and
    without numbers the values compare by their text. ``by`` is the engine's aggregate
    returning the value with the least/greatest key: the answer is that value, so an
    object, an array or a boolean stays one (not its JSON text as a string)."""

    def handler(c, ctx, node, args):
        value = args[0]
        if value.type is T.NULL:
            return _null_aggregate(c, cls, value)
        if value.type is not T.JSON:
            return value.to(
                cls(this=value.sql),
                value.type,
                sql_type=value.sql_type,
                whole_seconds=value.whole_seconds,
            )
        key = c.json_num(value.sql.copy())
        num = c.number_to_output(cls(this=key))
        # A JSON integer wins as itself: the double above rounds one beyond 2^53
        # (9223372036854775813 came back as 9223372036854776000).
        exact = fn(by, value.sql.copy(), key.copy())
        integer = exp.In(
            this=fn("json_type", exact.copy()),
            expressions=[exp.Literal.string("BIGINT"), exp.Literal.string("UBIGINT")],
        )
        num = exp.Case(ifs=[exp.If(this=integer, true=exact)], default=num)
        text = fn(by, value.sql.copy(), _convert(c, value.sql.copy(), T.JSON, T.STRING))
        return value.to(exp.Coalesce(this=num, expressions=[text]), T.JSON)

    return handler


def _percentile(c, ctx, node, args):
    p = _literal(c, args[1], "the percentile", node, (int, float))
    if not (math.isfinite(p) and 0 <= p <= 1):
        raise c.error("the percentile must be between 0 and 1", c.where(args[1], node))
    value = _measured(c, args[0], node, "percentile()")
    sql = exp.PercentileCont(this=value.sql, expression=c.double_literal(float(p)))
    return value.to(sql, T.NUMBER)


def _null_aggregate(c: Compiler, cls: type[exp.Func], value: Typed) -> Typed:
    """min, max or any_value of null: an aggregate of a JSON NULL, whose value any operation
    and function takes (DuckDB cannot bind ``day(max(NULL))``)."""
    return value.to(cls(this=c.null_of(T.JSON)), T.JSON)


def _any_value(c, ctx, node, args):
    value = args[0]
    if value.type is T.NULL:
        return _null_aggregate(c, exp.AnyValue, value)
    return value.to(
        exp.AnyValue(this=value.sql),
        value.type,
        sql_type=value.sql_type,
        whole_seconds=value.whole_seconds,
    )


FUNCTIONS: dict[str, FunctionSpec] = {
    **{unit: FunctionSpec(_bucket(unit)) for unit in BUCKET_UNITS},
    "date_trunc": FunctionSpec(_date_trunc, 2, 2),
    "now": FunctionSpec(_now, 0, 0),
    "current_timestamp": FunctionSpec(_now, 0, 0),
    "current_date": FunctionSpec(_current_date, 0, 0),
    "lower": FunctionSpec(_string_fn(exp.Lower)),
    "upper": FunctionSpec(_string_fn(exp.Upper)),
    "concat": FunctionSpec(_concat, 1, None),
    "len": FunctionSpec(_len),
    "length": FunctionSpec(_len),
    "contains": FunctionSpec(_includes, 2, 2),
    "includes": FunctionSpec(_includes, 2, 2),
    "coalesce": FunctionSpec(_coalesce, 1, None),
    "nullif": FunctionSpec(_nullif, 2, 2),
    "least": FunctionSpec(_extreme("least"), 1, None),
    "greatest": FunctionSpec(_extreme("greatest"), 1, None),
    "round": FunctionSpec(_round, 1, 2),
    "to_string": FunctionSpec(_cast(T.STRING)),
    "to_boolean": FunctionSpec(_cast(T.BOOLEAN)),
    "to_integer": FunctionSpec(_to_integer),
    "to_number": FunctionSpec(_cast(T.NUMBER)),
    "to_date": FunctionSpec(_cast(T.DATE)),
    "to_datetime": FunctionSpec(_cast(T.TIMESTAMP)),
    "to_interval": FunctionSpec(_to_interval),
    "json_extract": FunctionSpec(_json_extract, 2, 2),
    "estimated_cost": FunctionSpec(_estimated_cost, 0, 0),
    "search": FunctionSpec(_search),
    "count": FunctionSpec(_count, 0, 1, aggregate=True, distinct=True, star=True),
    "count_distinct": FunctionSpec(_count_distinct, aggregate=True),
    "sum": FunctionSpec(_numeric_agg(exp.Sum), aggregate=True, distinct=True),
    "avg": FunctionSpec(_numeric_agg(exp.Avg), aggregate=True, distinct=True),
    "min": FunctionSpec(_minmax(exp.Min, "arg_min"), aggregate=True),
    "max": FunctionSpec(_minmax(exp.Max, "arg_max"), aggregate=True),
    "percentile": FunctionSpec(_percentile, 2, 2, aggregate=True),
    "any_value": FunctionSpec(_any_value, aggregate=True),
}


def duckdb_percentile(c, ctx, node, args):
    """DuckDB spells the interpolated quantile ``quantile_cont(x, p)``."""
    out = _percentile(c, ctx, node, args)
    call = out.sql
    return out.to(fn("quantile_cont", call.this, call.expression))


# -- operators -----------------------------------------------------------------------------------

COMPARISONS: dict[str, type[exp.Expression]] = {
    "eq": exp.EQ, "ne": exp.NEQ, "lt": exp.LT, "le": exp.LTE, "gt": exp.GT, "ge": exp.GTE,
    "nulleq": exp.NullSafeEQ, "nullne": exp.NullSafeNEQ,
}  # fmt: skip
ARITHMETIC: dict[str, type[exp.Expression]] = {
    "add": exp.Add, "sub": exp.Sub, "mul": exp.Mul, "div": exp.Div, "mod": exp.Mod,
}  # fmt: skip
# Time arithmetic: (op, left, right) -> result type; everything else is numeric.
TEMPORAL: dict[tuple[str, T, T], T] = {
    ("add", T.TIMESTAMP, T.INTERVAL): T.TIMESTAMP,
    ("add", T.INTERVAL, T.TIMESTAMP): T.TIMESTAMP,
    ("sub", T.TIMESTAMP, T.INTERVAL): T.TIMESTAMP,
    ("sub", T.TIMESTAMP, T.TIMESTAMP): T.INTERVAL,
    ("add", T.INTERVAL, T.INTERVAL): T.INTERVAL,
    ("sub", T.INTERVAL, T.INTERVAL): T.INTERVAL,
    ("mul", T.INTERVAL, T.NUMBER): T.INTERVAL,
    ("mul", T.NUMBER, T.INTERVAL): T.INTERVAL,
    ("div", T.INTERVAL, T.NUMBER): T.INTERVAL,
}
SYMBOLS = {"add": "+", "sub": "-", "mul": "*", "div": "/", "mod": "%"}


def _null_sql(sql: exp.Expression) -> exp.Expression:
    return exp.Is(this=paren(sql), expression=exp.Null())


def _json_null(c: Compiler, sql: exp.Expression) -> exp.Expression:
    """A JSON value is NULL or JSON null."""
    is_null = exp.EQ(this=c.json_type_of(sql), expression=exp.Literal.string("NULL"))
    return exp.Coalesce(this=is_null, expressions=[exp.true()])


def _is_null(value: Typed, negate: bool = False) -> Typed:
    sql: exp.Expression = exp.Is(this=paren(value.sql), expression=exp.Null())
    return value.to(exp.Not(this=sql) if negate else sql, T.BOOLEAN)


def compare(c: Compiler, op: str, left: Typed, right: Typed, node=None) -> Typed:
    """``left <op> right`` in their common type (see the module docstring)."""
    if op in ("eq", "ne") and (left.literal is None or right.literal is None):
        return _is_null(right if left.literal is None else left, negate=op == "ne")
    t = common_type(left.type, right.type)
    if t is None:
        raise c.error(f"cannot compare {left.type.value} with {right.type.value}", node)
    cls = COMPARISONS[op]
    if t is T.JSON and left.type is right.type:
        sql = c.json_compare(cls, left.sql, right.sql)
    else:
        lv, rv = c.coerce(left, t, node), c.coerce(right, t, node)
        sql = cls(this=paren(lv.sql), expression=paren(rv.sql))
        if t is T.NUMBER:
            sql = _exact_json_integer(c, cls, left, right, sql)
    return Typed(sql, T.BOOLEAN, aggregate=aggregated(left, right))


def _big_integer(value: Typed) -> bool:
    """An integer literal a double does not hold exactly (2^53 and beyond)."""
    return type(value.literal) is int and abs(value.literal) >= 2**53


def _exact_json_integer(c: Compiler, cls, left: Typed, right: Typed, sql: exp.Expression):
    """``sql``, a numeric comparison, where a JSON integer meets an integer literal beyond
    a double's exact range compared exactly: as doubles, ``metadata.user_id =
    1234567890123456789`` held for every id within 128 of it."""
    sides = [left, right]
    for i, value in enumerate(sides):
        other = sides[1 - i]
        if value.type is T.JSON and _big_integer(other):
            pair = [c.json_integer(value.sql.copy()), c.integer_literal(other.literal)]
            exact = cls(this=pair[i], expression=pair[1 - i])
            is_integer = c.json_is_integer(value.sql.copy())
            return exp.Case(ifs=[exp.If(this=is_integer, true=exact)], default=sql)
    return sql


def _comparison(c, ctx, node):
    return compare(c, node.op, c.node(node.left, ctx), c.node(node.right, ctx), node)


def _is(c, ctx, node):
    left, right = c.node(node.left, ctx), c.node(node.right, ctx)
    if right.literal is None:
        return _is_null(left)
    if isinstance(right.literal, bool):
        value = c.to_boolean(left, node)
        return value.to(exp.Is(this=paren(value.sql), expression=right.sql), T.BOOLEAN)
    return compare(c, "nulleq", left, right, node)


def _like(c, ctx, node):
    truthy, ctx = ctx.truthy, replace(ctx, truthy=False)
    left, right = c.node(node.left, ctx), c.node(node.right, ctx)
    if isinstance(right.literal, str):
        pattern = right.literal
        if (len(pattern) - len(pattern.rstrip("\\"))) % 2:
            pattern += "\\"  # a trailing lone escape stands for a backslash
        pat: exp.Expression = exp.Literal.string(pattern)
    elif right.type in (T.STRING, T.JSON, T.NULL):
        pat = c.coerce(right, T.STRING, node).sql
    else:
        raise c.error(
            f"{node.op.upper()} needs a string pattern, not {an(right.type)}", c.where(right, node)
        )
    cls = exp.ILike if node.op == "ilike" else exp.Like

    def like(text: exp.Expression) -> exp.Expression:
        test = cls(this=paren(text), expression=pat.copy())
        return exp.Escape(this=test, expression=exp.Literal.string("\\"))

    if left.type is T.ARRAY:
        sql = c.list_any(left.sql, like)
    elif left.type is T.JSON and truthy:
        sql = c.json_string_like(left.sql, like)
        if isinstance(right.literal, str):
            sql = c.narrow_like(sql, pattern, _match_fields(node.left, left))
    elif left.type is T.JSON:
        sql = like(c.json_string(left.sql))
    else:
        sql = like(c.coerce(left, T.STRING, node).sql)
    return Typed(sql, T.BOOLEAN, aggregate=aggregated(left, right))


def _match(c, ctx, node):
    left = c.node(node.left, ctx)
    if not isinstance(node.right, a.Literal) or not isinstance(node.right.value, str):
        raise c.error("MATCH needs a string literal on the right", node.right or node)
    fields = _match_fields(node.left, left)
    whole = bool(fields) and len(node.left.name) == 1
    return left.to(c.compile_match(left, node.right.value, fields, whole), T.BOOLEAN)


def _match_fields(node: a.Expr, compiled: Typed) -> tuple[str, ...]:
    """The span field whose words hold those of a MATCH haystack: the field itself or a path
    under it, as compiled (an alias of another field, or a function such as to_string(),
    whose text has object keys too, gives none)."""
    if not isinstance(node, a.Ident) or not node.name or not isinstance(node.name[0], str):
        return ()
    columns = {(col.table, col.name) for col in compiled.sql.find_all(exp.Column)}
    return (node.name[0],) if columns == {("e", node.name[0])} else ()


def _in(c, ctx, node):
    if isinstance(node.right, a.Function) and node.right.name == "array":
        # a list with an item that is not a literal (the tree has no array constructor)
        item = next(i for i in node.right.args if not isinstance(i, a.Literal))
        raise c.error(
            "IN (...) lists values (strings, numbers, booleans, null); to compare with a "
            "field or an expression use = and OR",
            item,
        )
    left = c.node(node.left, ctx)
    if isinstance(node.right, a.Literal):
        listed = node.right
        items = listed.value if isinstance(listed.value, list) else [listed.value]
        # An item that does not convert is an error at the item (where the parser kept its
        # position), else at the list.
        at = listed if listed.loc else node
        locs = listed.item_locs if isinstance(listed.value, list) else None
        where = None
        if locs is not None and len(locs) == len(items):
            pairs = zip(items, locs, strict=True)
            where = [a.Literal(item, loc=loc) if loc else at for item, loc in pairs]
        for i, item in enumerate(items):
            if isinstance(item, list | dict):  # (`tags IN (['a', 'b'])` matched nothing)
                raise c.error(
                    "IN (...) lists values (strings, numbers, booleans, null), not "
                    f"{'a list' if isinstance(item, list) else 'an object'}: write "
                    "x IN ('a', 'b') or x IN ['a', 'b']",
                    at if where is None else where[i],
                )
        return in_list(c, left, items, at, where)
    right = c.node(node.right, ctx)
    if right.type in (T.ARRAY, T.JSON):
        return includes(c, right, left, node)
    return compare(c, "eq", left, right, node)


def in_list(c: Compiler, value: Typed, items: list, node=None, where=None) -> Typed:
    """``value IN (items)`` (see the module docstring). ``where`` holds, per item, the node
    an error about that item points at (else ``node``)."""
    if value.type is T.ARRAY:
        strs = [i if isinstance(i, str) else json.dumps(i) for i in items if i is not None]
        listed = exp.Array(expressions=[exp.Literal.string(s) for s in strs])
        sql = fn("list_has_any", value.sql, listed) if strs else exp.false()
        sql = exp.Coalesce(this=sql, expressions=[exp.false()])
        missing: exp.Expression = exp.Null()  # a NULL list is NULL, as a NULL scalar is
        if None in items:
            missing = exp.true()
            sql = exp.or_(sql, c.list_any(value.sql.copy(), lambda el: _null_sql(el)))
        sql = exp.Case(ifs=[exp.If(this=_is_null(value).sql, true=missing)], default=sql)
        return value.to(sql, T.BOOLEAN)
    if value.type is T.JSON:
        element = Typed(c.lambda_var(), T.JSON)
        some = c.list_any(
            c.json_elements(value.sql), lambda _: _in_scalar(c, element, items, node, where).sql
        )
        is_array = exp.EQ(this=c.json_type_of(value.sql), expression=exp.Literal.string("ARRAY"))
        scalar = _in_scalar(c, value, items, node, where).sql
        sql = exp.Case(ifs=[exp.If(this=is_array, true=some)], default=scalar)
        return value.to(sql, T.BOOLEAN)
    return _in_scalar(c, value, items, node, where)


def _in_scalar(c: Compiler, value: Typed, items: list, node, where=None) -> Typed:
    terms: list[exp.Expression] = []
    groups: dict[T, list[Typed]] = {}
    for i, item in enumerate(items):
        if item is None:
            # (a JSON null, such as an array's null element, is NULL too)
            is_null = _json_null(c, value.sql) if value.type is T.JSON else _is_null(value).sql
            terms.append(is_null)
            continue
        at = node if where is None else where[i]
        lit = replace(c.literal(item, at), origin=at)
        t = common_type(value.type, lit.type)
        if t is None:
            raise c.error(f"cannot compare {value.type.value} with {lit.type.value}", at)
        groups.setdefault(t, []).append(lit)
    for t, lits in groups.items():
        if t is T.NUMBER and value.type is T.JSON:  # (an integer beyond 2^53 compares exactly)
            terms += [compare(c, "eq", value, lit, node).sql for lit in lits if _big_integer(lit)]
            lits = [lit for lit in lits if not _big_integer(lit)]
        if not lits:
            continue
        if t is T.JSON:
            terms += [compare(c, "eq", value, lit, node).sql for lit in lits]
        else:
            listed = [c.coerce(x, t, node).sql for x in lits]
            terms.append(exp.In(this=paren(c.coerce(value, t, node).sql), expressions=listed))
    sql = exp.or_(*terms) if terms else exp.false()
    return value.to(paren(sql), T.BOOLEAN)


def _includes_op(c, ctx, node):
    return includes(c, c.node(node.haystack, ctx), c.node(node.needle, ctx), node)


def includes(c: Compiler, haystack: Typed, needle: Typed, node=None) -> Typed:
    """``haystack INCLUDES needle``: a list or JSON array has an element equal to needle (a
    JSON object: one of its values; a scalar: itself); an array needle means every one of its
    elements is included (``tags INCLUDES ['a', 'b']``), an object needle JSON containment.
    Never NULL."""
    if needle.type is T.NULL:
        sql = _includes_null(c, haystack)
    elif haystack.type is T.ARRAY:
        sql = _list_includes(c, haystack, needle, node)
    elif haystack.type is T.JSON and needle.type is T.ARRAY:
        sql = c.json_contains(haystack.sql, _convert(c, needle.sql, T.ARRAY, T.JSON))
    elif haystack.type is T.JSON and isinstance(needle.literal, list | dict):
        sql = c.json_contains(haystack.sql, needle.sql)
    elif haystack.type is T.JSON:
        element = Typed(c.lambda_var(), T.JSON)
        kinds = [exp.Literal.string("ARRAY"), exp.Literal.string("OBJECT")]
        nested = exp.In(this=c.json_type_of(haystack.sql), expressions=kinds)
        some = c.list_any(
            c.json_elements(haystack.sql), lambda _: compare(c, "eq", element, needle, node).sql
        )
        scalar = compare(c, "eq", haystack, needle, node).sql
        sql = exp.Case(ifs=[exp.If(this=nested, true=some)], default=scalar)
    elif haystack.type is T.NULL:
        sql = exp.false()
    else:
        sql = compare(c, "eq", haystack, needle, node).sql
    sql = exp.Coalesce(this=sql, expressions=[exp.false()])
    return Typed(sql, T.BOOLEAN, aggregate=aggregated(haystack, needle))


def _includes_null(c: Compiler, haystack: Typed) -> exp.Expression:
    """``haystack INCLUDES null``: a list or a JSON array with a null element (an object
    with a null value), as ``IN (null)`` finds one; a missing haystack includes nothing."""
    if haystack.type is T.ARRAY:
        return c.list_any(haystack.sql, _null_sql)
    if haystack.type is not T.JSON:
        return exp.false()
    kinds = [exp.Literal.string("ARRAY"), exp.Literal.string("OBJECT")]
    nested = exp.In(this=c.json_type_of(haystack.sql), expressions=kinds)
    some = c.list_any(c.json_elements(haystack.sql.copy()), lambda el: _json_null(c, el))
    return exp.Case(ifs=[exp.If(this=nested, true=some)], default=exp.false())


def _list_includes(c: Compiler, haystack: Typed, needle: Typed, node) -> exp.Expression:
    """A typed list (of strings) includes a value, or every element of a list: a literal
    list, a typed list, or a JSON value that is an array when the row is read."""

    def text(v: object) -> str:
        return v if isinstance(v, str) else json.dumps(v)

    if isinstance(needle.literal, list):
        wanted = [exp.Literal.string(text(v)) for v in needle.literal if v is not None]
        listed = exp.Array(expressions=wanted) if wanted else c.empty_list()
        return fn("list_has_all", haystack.sql, listed)
    if needle.type is T.ARRAY:
        return fn("list_has_all", haystack.sql, needle.sql)
    one = fn("list_contains", haystack.sql, c.coerce(needle, T.STRING, node).sql)
    if needle.type is not T.JSON or needle.is_literal:
        return one
    is_array = exp.EQ(
        this=c.json_type_of(needle.sql.copy()), expression=exp.Literal.string("ARRAY")
    )
    every = fn("list_has_all", haystack.sql.copy(), _convert(c, needle.sql.copy(), T.JSON, T.ARRAY))
    return exp.Case(ifs=[exp.If(this=is_array, true=every)], default=one)


# A chain of + (or *) longer than this is added as a balanced tree (sum of halves), so a
# select summing hundreds of terms stays a shallow tree for sqlglot and the engine.
BALANCE_CHAIN = 16
_ASSOCIATIVE = frozenset({"add", "mul"})


def _arithmetic(c, ctx, node):
    if node.op not in _ASSOCIATIVE or (ctx.group_keys is not None and not ctx.in_agg):
        # (a dimension may be a part of the chain: compile it node by node)
        return arithmetic(c, node.op, c.node(node.left, ctx), c.node(node.right, ctx), node)
    spine = _chain(node)  # a + b + c: [(a+b)+c, a+b], then the operands a, b, c
    values = [c.node(spine[-1].left, ctx)] + [c.node(n.right, ctx) for n in reversed(spine)]
    # (numbers only: JSON values are numbers there, without a time or an interval beside)
    if len(values) > BALANCE_CHAIN and all(v.type in (T.NUMBER, T.JSON) for v in values):
        return _balanced(values, lambda x, y: arithmetic(c, node.op, x, y, node))
    result = values[0]
    for step, value in zip(reversed(spine), values[1:], strict=True):
        result = arithmetic(c, node.op, result, value, step)
    return result


def _chain(node: a.Binary) -> list[a.Binary]:
    """The left spine of ``a + b + c`` (one operator), outermost first; no recursion."""
    spine = [node]
    while isinstance(spine[-1].left, a.Binary) and spine[-1].left.op == node.op:
        spine.append(spine[-1].left)
    return spine


def _balanced(values: list, combine: Callable) -> Any:
    """``combine`` over ``values`` as a tree of depth log2(n)."""
    if len(values) == 1:
        return values[0]
    mid = (len(values) + 1) // 2
    return combine(_balanced(values[:mid], combine), _balanced(values[mid:], combine))


def arithmetic(c: Compiler, op: str, left: Typed, right: Typed, node=None) -> Typed:
    """``left <op> right``: numbers (booleans count 0/1, JSON values and string literals
    convert), or times and intervals as TEMPORAL lists; anything else is an error."""
    sym = SYMBOLS[op]
    if {left.type, right.type} & {T.TIMESTAMP, T.INTERVAL, T.DATE}:
        if op in ("add", "sub"):
            left, right = _as_time(c, left, right, node), _as_time(c, right, left, node)
        else:  # an interval times or divided by a number
            left, right = _as_count(c, left, sym, node), _as_count(c, right, sym, node)
        left, right = _null_operand(c, op, left, right), _null_operand(c, op, right, left, True)
        result = TEMPORAL.get((op, left.type, right.type))
        if result is None:
            hint = ""
            if op in ("add", "sub") and {left.type, right.type} == {T.TIMESTAMP, T.NUMBER}:
                hint = " (add or subtract an interval, e.g. interval 1 day)"
            raise c.error(
                f"'{sym}' does not apply to {an(left.type)} and {an(right.type)}{hint}", node
            )
    else:
        result = T.NUMBER
        left = c.expect(left, T.NUMBER, node, f"'{sym}'")
        right = c.expect(right, T.NUMBER, node, f"'{sym}'")
        left, right = _wide_integer(c, left), _wide_integer(c, right)
    rhs = paren(right.sql)
    if op in ("div", "mod"):
        rhs = exp.Nullif(this=rhs, expression=exp.Literal.number(0))
    lhs, sql_type = paren(left.sql), None
    if result is T.INTERVAL and op in ("mul", "div"):
        # interval 1 day * 1e15: beyond an interval's range
        interval, count = (lhs, rhs) if left.type is T.INTERVAL else (rhs, lhs)
        sql = c.scaled_interval(ARITHMETIC[op], interval, count, aggregated(left, right))
    elif result in (T.TIMESTAMP, T.INTERVAL) and T.INTERVAL in (left.type, right.type):
        # created + interval 280000 year + interval 280000 year: beyond the range
        times = (left.type is T.TIMESTAMP, right.type is T.TIMESTAMP)
        sql = c.temporal_sum(ARITHMETIC[op], lhs, rhs, result, aggregated(left, right), times)
    elif op != "div" and _is_int64(left) and _is_int64(right):
        # 9223372036854775807 + 1: beyond 64 bits
        sql, sql_type = c.int64_arithmetic(ARITHMETIC[op], lhs, rhs), "BIGINT"
    else:
        sql = ARITHMETIC[op](this=lhs, expression=rhs)
    return Typed(exp.Paren(this=sql), result, aggregate=aggregated(left, right), sql_type=sql_type)


def _is_int64(value: Typed) -> bool:
    """Whether the engine computes ``value`` as a 64-bit integer (which overflows, where a
    double does not)."""
    if type(value.literal) is int:
        return is_int64(value.literal)
    return value.sql_type in ("BIGINT", "INTEGER")


def _wide_integer(c: Compiler, value: Typed) -> Typed:
    """An integer literal as a 64-bit integer, like a JSON number: DuckDB types ``65536``
    INT32, and ``65536 * 65536`` would overflow. An unsigned id (``_xact_id``) is widened
    too: ``-_xact_id`` or a difference below zero would overflow its type."""
    if type(value.literal) is int and is_int64(value.literal):
        return replace(value, sql=c.integer_literal(value.literal))
    if type(value.literal) is int:
        # An integer literal beyond 64 bits is a double, as a JSON number that large is: in
        # DuckDB's 128-bit integers, `2^127 - 1 + 1` fails (a string literal that spells one
        # converts to a double already).
        return replace(value, sql=c.double_literal(float(value.literal)))
    if value.sql_type == "UBIGINT":
        return replace(value, sql=c.signed_integer(value.sql), sql_type="HUGEINT")
    return value


def _as_count(c: Compiler, value: Typed, sym: str, node) -> Typed:
    """An operand of ``interval * n`` or ``interval / n``: intervals stay, the rest is n."""
    if value.type in (T.INTERVAL, T.TIMESTAMP, T.DATE):
        return value
    return c.expect(value, T.NUMBER, node, f"'{sym}'")


def _null_operand(c: Compiler, op: str, value: Typed, other: Typed, right: bool = False):
    """A NULL next to a time or an interval is NULL of the type that makes ``op`` valid."""
    if value.type is not T.NULL:
        return value
    if op not in ("add", "sub"):
        return c.coerce(value, T.NUMBER)
    if op == "sub" and not right and other.type is T.TIMESTAMP:
        return c.coerce(value, T.TIMESTAMP)  # NULL - created
    return c.coerce(value, T.INTERVAL)


def _as_time(c: Compiler, value: Typed, other: Typed, node) -> Typed:
    """Dates, and strings/JSON next to a timestamp or interval, become timestamps."""
    if value.type is T.DATE or (
        value.type in (T.STRING, T.JSON) and other.type in (T.TIMESTAMP, T.INTERVAL)
    ):
        return c.coerce(value, T.TIMESTAMP, node)
    return value


def _logical(c, ctx, node):
    if not node.children:
        raise c.error(f"{node.op} needs operands", node)
    # a AND a is a: a long filter repeating a term stays short
    children = list(dict.fromkeys(node.children))
    parts = [c.to_boolean(c.node(child, ctx), child) for child in children]
    # a balanced tree: a thousand terms must not nest a thousand deep (sqlglot recurses)
    connector = exp.And if node.op == "and" else exp.Or
    sql = _balanced([p.sql for p in parts], lambda x, y: connector(this=x, expression=y))
    return Typed(paren(sql), T.BOOLEAN, aggregate=aggregated(*parts))


def _not(c, ctx, node):
    value = c.to_boolean(c.node(node.expr, ctx), node.expr)
    return value.to(exp.Not(this=paren(value.sql)), T.BOOLEAN)


def _null_test(c, ctx, node):
    return _is_null(c.node(node.expr, ctx), negate=node.op == "isnotnull")


def _neg(c, ctx, node):
    value = c.node(node.expr, ctx)
    if type(value.literal) in (int, float):
        # `-1` is a constant like `1`, so an argument that must be a literal takes it
        # (`round(x, -1)`).
        return c.literal(-value.literal, node)
    if value.type is not T.INTERVAL:
        if not converts_implicitly(value, T.NUMBER):
            raise c.error(
                f"'-' needs a number or an interval, not {an(value.type)}", c.where(value, node)
            )
        value = _wide_integer(c, c.coerce(value, T.NUMBER, node))
        if _is_int64(value):  # (the negation of the smallest one is beyond 64 bits)
            sql = c.int64_arithmetic(exp.Sub, exp.Literal.number(0), paren(value.sql))
            return value.to(exp.Paren(this=sql), sql_type="BIGINT")
    return value.to(exp.Neg(this=paren(value.sql)))


OPERATORS: dict[str, Callable] = {
    **{op: _comparison for op in COMPARISONS},
    "is": _is, "like": _like, "ilike": _like, "match": _match, "in": _in,
    "includes": _includes_op,
    **{op: _arithmetic for op in ARITHMETIC},
    "and": _logical, "or": _logical,
    "not": _not, "isnull": _null_test, "isnotnull": _null_test, "neg": _neg,
}  # fmt: skip
