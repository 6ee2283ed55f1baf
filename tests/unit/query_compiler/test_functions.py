"""Arithmetic, conditionals and scalar functions: (tree, {id: value in the output row})."""

from __future__ import annotations

import pytest

from tracelake.query.errors import QueryError

from .data import IF, IV, B, F, I, L, U, value, values

TOKENS = I("metrics", "tokens")
CREATED = I("created")

ARITHMETIC = [
    (B("mul", TOKENS, L(2)), {"r01": 2400, "r05": 4000, "r06": None, "r09": 0}),
    (
        B("add", I("metrics", "prompt_tokens"), I("metrics", "completion_tokens")),
        {"r01": 1200, "r02": None},
    ),
    (B("div", L(7), L(2)), {"r01": 3.5}),  # never integer division
    (B("div", TOKENS, L(0)), {"r01": None}),
    (B("div", TOKENS, L(800)), {"r01": 1.5, "r02": 0.375}),
    (B("mod", L(7), L(3)), {"r01": 1}),
    (B("mod", TOKENS, L(7)), {"r01": 3, "r03": 1}),
    (B("mod", TOKENS, L(0)), {"r01": None}),
    (U("neg", TOKENS), {"r01": -1200, "r06": None}),
    (U("neg", L(2.5)), {"r01": -2.5}),
    (B("add", I("is_root"), L(1)), {"r01": 2, "r02": 1}),
    (B("sub", I("scores", "Factuality"), L(0.5)), {"r06": 0.5, "r08": 0}),
    (B("mul", I("metadata", "model"), L(2)), {"r01": None}),  # not a number
    (B("sub", CREATED, IV(1, "day")), {"r01": "2024-11-08T10:00:00.250000Z"}),
    (B("add", IV(2, "hour"), CREATED), {"r10": "2024-11-09T10:00:00.000000Z"}),
    (B("add", CREATED, B("mul", IV(1, "week"), L(2))), {"r10": "2024-11-23T08:00:00.000000Z"}),
    (B("sub", CREATED, IV(1, "month")), {"r06": "2024-11-01T00:00:00.000000Z"}),
    (B("gt", B("sub", CREATED, L("2024-11-09")), IV(1, "day")), {"r01": False, "r03": True}),
    (IV(7, "day"), {"r01": "7 days"}),
    # on the UTC calendar, not the session's (Asia/Kolkata's local mean time put 09:36:32)
    (B("sub", CREATED, IV(3000, "year")), {"r01": "-000976-11-09T10:00:00.250000Z"}),
    (B("add", IV(-3000, "year"), CREATED), {"r10": "-000976-11-09T08:00:00.000000Z"}),
    # integers beyond 64 bits are NULL, in any nesting (they were a DuckDB overflow error)
    (B("add", L(9223372036854775807), L(1)), {"r01": None}),
    (B("mul", B("sub", U("neg", L(9223372036854775807)), L(2)), L(1)), {"r01": None}),
    (U("neg", F("to_integer", U("neg", L(9223372036854775808)))), {"r01": None}),
    (B("mod", U("neg", L(9223372036854775808)), U("neg", L(1))), {"r01": 0}),
    (B("add", F("len", I("tags")), L(9223372036854775805)), {"r01": 9223372036854775807}),
    (B("add", F("len", I("tags")), L(9223372036854775806)), {"r01": None}),
    # ... with a string literal that spells an integer, a boolean, or round() to tens
    (B("sub", L(9223372036854775807), L("-5")), {"r01": None}),
    (B("add", I("is_root"), L(9223372036854775807)), {"r01": None, "r02": 9223372036854775807}),
    (F("round", L(9223372036854775807), U("neg", L(1))), {"r01": None}),
    (F("round", L(1250), U("neg", L(2))), {"r01": 1300}),
    # an integer literal beyond 64 bits is a double (DuckDB's 128-bit integers overflowed
    # with an error: 'the query could not run: Out of Range Error')
    (B("add", L(2**127 - 1), L(1)), {"r01": 2.0**127}),
    (B("mul", L(2**126), L(2)), {"r01": 2.0**127}),
    (B("sub", L(2**63), L(1)), {"r01": 9223372036854776000}),  # (a whole double's digits)
    (B("mul", L(2**63), F("len", I("tags"))), {"r01": 18446744073709552000, "r03": None}),
    (B("add", L(str(2**127 - 1)), L(1)), {"r01": 2.0**127}),
    (F("round", L(2**127 - 1), U("neg", L(1))), {"r01": 2.0**127}),
    # an expression that is always NULL, where a time or a number is needed (DuckDB could
    # not pick an overload for its untyped NULL: 'the query could not run: Binder Error')
    (F("year", F("coalesce", L(None), L(None))), {"r01": None}),
    (F("date_trunc", L("day"), F("nullif", L(None), L(None))), {"r01": None}),
    (B("sub", F("least", L(None), L(None)), IV(1, "day")), {"r01": None}),
    (B("add", F("coalesce", L(None)), IV(1, "day")), {"r01": None}),
]


@pytest.mark.parametrize(("tree", "expected"), ARITHMETIC, ids=lambda x: str(x)[:70])
def test_arithmetic(con, tree, expected):
    got = values(con, tree)
    assert {k: got[k] for k in expected} == expected


def test_division_is_a_float_even_for_integers(con):
    got = value(con, B("div", L(1), L(3)))
    assert got == pytest.approx(1 / 3)


F08 = B("gt", I("scores", "Factuality"), L(0.8))
CONDITIONALS = [
    (IF((F08, L("high")), else_=L("low")), {"r01": "high", "r02": "low", "r07": "low"}),
    (IF((U("isnotnull", I("error")), L(-1)), else_=TOKENS), {"r01": 1200, "r02": -1, "r06": None}),
    (
        IF(
            (B("gt", I("scores", "Factuality"), L(0.9)), L("excellent")),
            (B("gt", I("scores", "Factuality"), L(0.7)), L("good")),
            (B("gt", I("scores", "Factuality"), L(0.5)), L("fair")),
            else_=L("poor"),
        ),
        {"r01": "good", "r02": "poor", "r05": "excellent", "r08": "poor", "r03": "good"},
    ),
    (IF((I("is_root"), L("yes")), else_=L(1)), {"r01": "yes", "r02": 1}),  # mixed: JSON
    (IF((I("is_root"), I("metadata", "model"))), {"r01": "gpt-4", "r02": None}),
    (
        IF((B("eq", I("metadata", "model"), L("gpt-4")), B("mul", TOKENS, L(2))), else_=TOKENS),
        {"r01": 2400, "r02": 300},
    ),
    (B("gt", TOKENS, L(1000)), {"r01": True, "r02": False, "r06": None}),
]


@pytest.mark.parametrize(("tree", "expected"), CONDITIONALS, ids=lambda x: str(x)[:70])
def test_conditionals(con, tree, expected):
    got = values(con, tree)
    assert {k: got[k] for k in expected} == expected


DAY_UTC = {
    "r01": "2024-11-09T00:00:00Z", "r02": "2024-11-09T00:00:00Z",
    "r03": "2024-11-10T00:00:00Z", "r09": "2024-11-09T00:00:00Z",
    "r10": "2024-11-09T00:00:00Z",
}  # fmt: skip
DAY_PACIFIC = {  # tz_offset 480: local day = UTC - 8h; boundaries at 08:00Z
    "r01": "2024-11-09T08:00:00Z", "r02": "2024-11-09T08:00:00Z",
    "r03": "2024-11-09T08:00:00Z", "r09": "2024-11-08T08:00:00Z",
    "r10": "2024-11-09T08:00:00Z",
}  # fmt: skip
TIME = [
    (F("day", CREATED), 0, DAY_UTC),
    (F("day", CREATED), 480, DAY_PACIFIC),
    (F("hour", CREATED), 0, {"r01": "2024-11-09T10:00:00Z", "r09": "2024-11-09T07:00:00Z"}),
    (F("minute", CREATED), 0, {"r09": "2024-11-09T07:59:00Z"}),
    (F("second", CREATED), 0, {"r01": "2024-11-09T10:00:00Z"}),  # no fraction
    (F("hour", CREATED), 330 * -1, {"r09": "2024-11-09T07:30:00Z"}),  # India, UTC+5:30
    # weeks start on Monday: Sat 11-09 and Sun 11-10 are in the week of Mon 11-04
    (
        F("week", CREATED),
        0,
        {
            "r01": "2024-11-04T00:00:00Z",
            "r03": "2024-11-04T00:00:00Z",
            "r04": "2024-11-11T00:00:00Z",
        },
    ),
    (F("month", CREATED), 0, {"r01": "2024-11-01T00:00:00Z", "r07": "2025-01-01T00:00:00Z"}),
    (F("month", CREATED), 480, {"r07": "2024-12-01T08:00:00Z"}),
    (F("year", CREATED), 0, {"r08": "2023-01-01T00:00:00Z", "r01": "2024-01-01T00:00:00Z"}),
    (F("year", CREATED), -60, {"r08": "2023-12-31T23:00:00Z"}),  # UTC+1: already 2024
    (F("date_trunc", L("day"), CREATED), 0, DAY_UTC),
    (F("date_trunc", L("day"), CREATED), 480, DAY_PACIFIC),
    (
        F("date_trunc", L("15 minutes"), CREATED),
        0,
        {"r02": "2024-11-09T23:30:00Z", "r09": "2024-11-09T07:45:00Z"},
    ),
    (
        F("date_trunc", L("2 hours"), CREATED),
        0,
        {"r01": "2024-11-09T10:00:00Z", "r09": "2024-11-09T06:00:00Z"},
    ),
    (F("date_trunc", L("2 hours"), CREATED), -330, {"r09": "2024-11-09T06:30:00Z"}),
    (F("date_trunc", L("hours"), CREATED), 0, {"r09": "2024-11-09T07:00:00Z"}),
    (F("date_trunc", L("week"), CREATED), 0, {"r03": "2024-11-04T00:00:00Z"}),
    (F("day", I("metadata", "ts")), 0, {"r08": "2024-01-01T00:00:00Z", "r01": None}),
    (F("day", L("2024-03-05T17:00:00-08:00")), 0, {"r01": "2024-03-06T00:00:00Z"}),
    (F("to_date", CREATED), 0, {"r02": "2024-11-09", "r03": "2024-11-10"}),
    (F("to_date", I("metadata", "date")), 0, {"r08": "2024-01-01", "r01": None}),
    (F("to_datetime", I("metadata", "ts")), 0, {"r08": "2024-01-01T00:00:00.000000Z"}),
    (F("to_datetime", L(1700000000)), 0, {"r01": "2023-11-14T22:13:20.000000Z"}),
    (F("to_datetime", L("2024-06-01T12:00:00+02:00")), 0, {"r01": "2024-06-01T10:00:00.000000Z"}),
    (F("to_datetime", L("junk")), 0, {"r01": None}),  # casts never fail
    (F("to_date", L("junk")), 0, {"r01": None}),
    (
        B("add", F("to_datetime", L("2024-01-01")), F("to_interval", L("2 hours"))),
        0,
        {"r01": "2024-01-01T02:00:00.000000Z"},
    ),
    (F("to_interval", L(90)), 0, {"r01": "00:01:30"}),
    (F("to_interval", L("nope")), 0, {"r01": None}),
]


@pytest.mark.parametrize(("tree", "tz", "expected"), TIME, ids=lambda x: str(x)[:70])
def test_time(con, tree, tz, expected):
    got = values(con, tree, tz_offset=tz)
    assert {k: got[k] for k in expected} == expected


def test_now_is_a_timestamp(con):
    got = value(con, F("now"))
    assert got.endswith("Z") and got[:2] == "20"
    assert len(value(con, F("current_date"))) == 10


SCALARS = [
    (F("lower", I("metadata", "model")), {"r10": "gpt-4", "r07": None}),
    (F("upper", I("metadata", "model")), {"r01": "GPT-4"}),
    (F("upper", I("id")), {"r01": "R01"}),
    (F("concat", I("metadata", "model"), L("-"), I("id")), {"r01": "gpt-4-r01", "r07": "-r07"}),
    (F("concat", I("id"), L(1), I("is_root")), {"r01": "r011true"}),
    (F("len", I("tags")), {"r01": 2, "r03": None, "r06": 0}),
    (F("len", I("metadata", "model")), {"r01": 5, "r04": None}),
    (F("len", I("metadata", "list")), {"r06": 4}),
    (F("len", I("metadata", "obj")), {"r06": 2}),
    (F("len", I("id")), {"r01": 3}),
    (F("len", L("ünï")), {"r01": 3}),
    (
        F("coalesce", I("metadata", "model"), L("unknown")),
        {"r01": "gpt-4", "r04": "unknown", "r07": "unknown"},
    ),
    (F("coalesce", I("metadata", "tier"), I("metadata", "model")), {"r10": "gold", "r01": "gpt-4"}),
    (F("nullif", I("metadata", "model"), L("gpt-4")), {"r01": None, "r02": "gpt-3.5-turbo"}),
    (F("least", TOKENS, L(500)), {"r01": 500, "r03": 50, "r06": 500}),  # NULLs are skipped
    (
        F("greatest", I("scores", "Factuality"), I("scores", "Coherence")),
        {"r03": 1, "r01": 0.9, "r04": None},
    ),
    (F("round", B("div", I("metrics", "latency"), L(3)), L(2)), {"r01": 0.5, "r02": 0.17}),
    (F("round", L(2.5)), {"r01": 3}),
    # a negative precision is a literal too (the parser reads -3 as neg(3))
    (F("round", TOKENS, U("neg", L(3))), {"r01": 1000, "r02": 0, "r05": 2000}),
    # beyond the engine's 32-bit precision: the same as the furthest it takes
    (F("round", TOKENS, L(99999999999)), {"r01": 1200}),
    (F("round", TOKENS, U("neg", L(99999999999))), {"r01": 0}),
    (F("to_string", TOKENS), {"r01": "1200", "r05": "2000"}),
    (F("to_string", CREATED), {"r01": "2024-11-09T10:00:00.250000Z"}),
    (F("to_string", I("is_root")), {"r01": "true"}),
    (F("to_string", I("metadata", "obj")), {"r06": '{"k":"v","n":1}'}),
    (F("to_string", L(2.5)), {"r01": "2.5"}),
    (F("to_boolean", I("metadata", "bool_str")), {"r08": True}),
    (F("to_boolean", I("metadata", "flag")), {"r08": True}),
    (F("to_boolean", L("nope")), {"r01": None}),
    (F("to_boolean", L(0)), {"r01": False}),
    (F("to_integer", I("metadata", "n")), {"r04": 9, "r02": 7, "r01": 5}),
    (F("to_integer", L(-1.7)), {"r01": -1}),
    (F("to_integer", L("abc")), {"r01": None}),
    (F("to_number", I("metadata", "n")), {"r02": 7, "r04": 9.5}),
    (F("to_number", L("x")), {"r01": None}),
    (F("to_number", L("1e3")), {"r01": 1000}),
    (F("to_number", L("1e999")), {"r01": None}),
    (F("to_number", L("9" * 5000)), {"r01": None}),  # beyond a double (was a 500)
    (F("json_extract", I("metadata", "config"), L("version")), {"r08": 2, "r01": None}),
    (F("json_extract", I("metadata", "config"), L("user.preferences.theme")), {"r08": "dark"}),
    (F("json_extract", I("metadata", "bad"), L("x")), {"r08": None}),
    (F("json_extract", I("metadata", "obj"), L("k")), {"r06": "v"}),
    (F("json_extract", L('{"a": [1, {"b": null}]}'), L("a")), {"r01": [1, {"b": None}]}),
    (F("json_extract", L("not json"), L("a")), {"r01": None}),
    (F("json_extract", I("id"), L("a")), {"r01": None}),
    (F("estimated_cost"), {"r01": 0.012, "r04": 0.5, "r02": None}),
    (F("search", L("paris")), {"r03": True, "r01": False}),
]


@pytest.mark.parametrize(("tree", "expected"), SCALARS, ids=lambda x: str(x)[:70])
def test_scalar_functions(con, tree, expected):
    got = values(con, tree)
    assert {k: got[k] for k in expected} == expected


def test_json_extract_value_compares_as_a_number(con):
    from .data import ids

    tree = B("gt", F("json_extract", I("metadata", "config"), L("version")), L(1.5))
    assert ids(con, tree) == ["r08"]


FUNCTION_ERRORS = [
    # the message says how many it takes (it said only 'wrong number of arguments')
    (F("lower"), "wrong number of arguments to lower(): it takes 1 argument, not 0"),
    (F("day", CREATED, CREATED), "wrong number of arguments to day(): it takes 1 argument, not 2"),
    (
        F("date_trunc", L("day")),
        "wrong number of arguments to date_trunc(): it takes 2 arguments, not 1",
    ),
    (
        F("round", L(1), L(2), L(3)),
        "wrong number of arguments to round(): it takes 1 or 2 arguments, not 3",
    ),
    (F("coalesce"), "wrong number of arguments to coalesce(): it takes at least 1 argument, not 0"),
    (F("now", L(1)), "wrong number of arguments to now(): it takes no arguments, not 1"),
    (
        F("date_trunc", L("3 weeks"), CREATED),
        "invalid date_trunc unit '3 weeks' (use second, "
        "minute, hour, day, week, month, year, or a multiple like '15 minutes')",
    ),
    (F("date_trunc", I("id"), CREATED), "the date_trunc unit must be a string literal"),
    # beyond an interval's range (was a DuckDB conversion error, or a 500 past 4,300 digits)
    (
        F("date_trunc", L("9999999999 days"), CREATED),
        "date_trunc unit '9999999999 days' is out of range (at most 290,000 years)",
    ),
    (
        F("date_trunc", L("9" * 5000 + " seconds"), CREATED),
        f"date_trunc unit '{'9' * 5000} seconds' is out of range (at most 290,000 years)",
    ),
    # a string beyond a double's range, as '1e999' (was a DuckDB conversion error)
    (B("add", L("9" * 310), L(1)), f"number '{'9' * 310}' is out of range (beyond a double)"),
    (F("round", TOKENS, L(1.5)), "the round precision must be a whole-number literal"),
    (F("json_extract", I("metadata"), I("id")), "the json_extract key must be a string literal"),
    (F("len", L(1)), "len() needs a string or an array, not a number"),
    (F("lower", I("id"), distinct=True), "lower() does not take DISTINCT"),
    (F("day", L("not a date")), "invalid timestamp 'not a date'"),
]


@pytest.mark.parametrize(("tree", "message"), FUNCTION_ERRORS, ids=lambda x: str(x)[:50])
def test_function_errors(con, tree, message):
    with pytest.raises(QueryError) as err:
        values(con, tree)
    assert err.value.detail == message
