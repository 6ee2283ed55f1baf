"""Type checks (docs/btql.md "Types"): a value of the wrong type for an operator or function is
a QueryError at the value's line:col, never an engine error or a silent NULL; and the
conversions that are allowed keep working (JSON fields of unknown type, numeric and ISO-time
string literals, booleans as 0/1, dates as times)."""

from __future__ import annotations

import pytest

from tracelake.query.errors import QueryError
from tracelake.query.parsers import parse_query

from .data import ALL, ids, run, values

# (query text, message, line, col): the position is the offending value's, as written.
TYPE_ERRORS = [
    # 1. a condition must be a boolean (JSON fields of unknown type may be one)
    ("select: id\nfilter: id", "a condition must be a boolean, not a string", 2, 9),
    ("select: id\nfilter: metrics.tokens + 1", "a condition must be a boolean, not a number", 2, 9),
    ("select: id\nfilter: 'abc'", "a condition must be a boolean, not a string", 2, 9),
    ("select: id\nfilter: tags", "a condition must be a boolean, not an array", 2, 9),
    ("select: id\nfilter: created", "a condition must be a boolean, not a timestamp", 2, 9),
    (
        "select: id\nfilter: is_root AND len(tags)",
        "a condition must be a boolean, not a number",
        2,
        21,
    ),
    ("select: id\nfilter: is_root OR id", "a condition must be a boolean, not a string", 2, 20),
    ("select: id\nfilter: NOT created", "a condition must be a boolean, not a timestamp", 2, 13),
    ("select: NOT tags", "a condition must be a boolean, not an array", 1, 13),
    (
        "dimensions: metadata.model | measures: count(1) as n\nfinal_filter: n",
        "a condition must be a boolean, not a number",
        2,
        15,
    ),
    # 2. LIKE / ILIKE take a string pattern
    ("select: id\nfilter: tags LIKE 1", "LIKE needs a string pattern, not a number", 2, 19),
    ("select: id\nfilter: input ILIKE 5", "ILIKE needs a string pattern, not a number", 2, 21),
    ("select: id\nfilter: id NOT LIKE true", "LIKE needs a string pattern, not a boolean", 2, 21),
    ("select: id\nfilter: id LIKE created", "LIKE needs a string pattern, not a timestamp", 2, 17),
    # 3. time functions take times
    (
        "select: day(1)",
        "day() needs a timestamp, not a number (to_datetime() reads a number as Unix seconds)",
        1,
        13,
    ),
    ("select: hour('abc')", "invalid timestamp 'abc'", 1, 14),
    (
        "select: date_trunc('day', 5)",
        "date_trunc() needs a timestamp, not a number (to_datetime() reads a number as Unix "
        "seconds)",
        1,
        27,
    ),
    ("select: week(tags)", "week() needs a timestamp, not an array", 1, 14),
    (
        "select: month(id)",
        "month() needs a timestamp, not a string (to_datetime() converts a string)",
        1,
        15,
    ),
    ("select: year(is_root)", "year() needs a timestamp, not a boolean", 1, 14),
    # 4. least / greatest / coalesce take values of one type
    ("select: least(tags, created)", "least() cannot mix an array and a timestamp", 1, 21),
    ("select: greatest(created, tags)", "greatest() cannot mix a timestamp and an array", 1, 27),
    ("select: least(created, 'soon')", "invalid timestamp 'soon'", 1, 24),
    ("select: created > '0000-02-30'", "invalid timestamp '0000-02-30'", 1, 19),
    (
        "select: created > '+294247-01-10T04:00:54.775807Z'",
        "timestamp '+294247-01-10T04:00:54.775807Z' is out of range (290,309 BC to 294,247 AD)",
        1,
        19,
    ),
    (
        "select: to_date(created) = '-300000-01-01'",
        "date '-300000-01-01' is out of range (290,309 BC to 294,247 AD)",
        1,
        28,
    ),
    ("select: least(1, 'abc')", "invalid number 'abc'", 1, 18),
    # 5. the condition of ? : (and CASE WHEN)
    ("select: 'a' ? 1 : 2", "a condition must be a boolean, not a string", 1, 9),
    (
        "select: metrics.tokens > 1 ? 1 : tags ? 2 : 3",
        "a condition must be a boolean, not an array",
        1,
        34,
    ),
    # 6. a literal that does not convert to the type of what it is compared with
    ("select: id\nfilter: _xact_id = 'abc'", "invalid number 'abc'", 2, 20),
    ("select: id\nfilter: created > 'not a date'", "invalid timestamp 'not a date'", 2, 19),
    ("select: id\nfilter: is_root = 'maybe'", "invalid boolean 'maybe'", 2, 19),
    ("select: id\nfilter: _xact_id IN ['1', 'x']", "invalid number 'x'", 2, 27),  # at the item
    ("select: id\nfilter: created = true", "cannot compare timestamp with boolean", 2, 9),
    # arithmetic, negation and aggregates on values that are not numbers
    ("select: tags + 1", "'+' needs a number, not an array", 1, 9),
    ("select: 1 - id", "'-' needs a number, not a string (to_number() converts a string)", 1, 13),
    ("select: 'abc' * 2", "invalid number 'abc'", 1, 9),
    (
        "select: created + 1",
        "'+' does not apply to a timestamp and a number (add or subtract an interval, e.g. "
        "interval 1 day)",
        1,
        9,
    ),
    ("select: created * 2", "'*' does not apply to a timestamp and a number", 1, 9),
    ("select: interval 1 day + 1", "'+' does not apply to an interval and a number", 1, 9),
    ("select: -tags", "'-' needs a number or an interval, not an array", 1, 10),
    ("select: -created", "'-' needs a number or an interval, not a timestamp", 1, 10),
    ("measures: sum(tags)", "sum() needs a number, not an array", 1, 15),
    (
        "measures: avg(id)",
        "avg() needs a number, not a string (to_number() converts a string)",
        1,
        15,
    ),
    (
        "measures: sum(created)",
        "sum() needs a number, not a timestamp (to_number() gives Unix seconds)",
        1,
        15,
    ),
    ("measures: percentile(tags, 0.5)", "percentile() needs a number, not an array", 1, 22),
    (
        "select: round(created)",
        "round() needs a number, not a timestamp (to_number() gives Unix seconds)",
        1,
        15,
    ),
    ("select: len(created)", "len() needs a string or an array, not a timestamp", 1, 13),
]


@pytest.mark.parametrize(("text", "message", "line", "col"), TYPE_ERRORS, ids=lambda x: str(x)[:50])
def test_type_errors_name_the_problem_and_its_position(con, text, message, line, col):
    with pytest.raises(QueryError) as err:
        run(con, parse_query(text))
    assert err.value.detail == message
    assert (err.value.line, err.value.col) == (line, col)
    assert str(err.value) == f"{message} at {line}:{col}"


def test_a_json_ast_type_error_has_no_position(con):
    query = parse_query({"select": [{"op": "star"}], "filter": {"op": "ident", "name": ["id"]}})
    with pytest.raises(QueryError) as err:
        run(con, query)
    assert err.value.detail == "a condition must be a boolean, not a string"
    assert err.value.line is None


def test_a_json_ast_btql_snippet_has_its_position(con):
    query = parse_query({"select": [{"op": "star"}], "filter": {"btql": "is_root and\n  id"}})
    with pytest.raises(QueryError) as err:
        run(con, query)
    assert (err.value.line, err.value.col) == (2, 3)


# -- what stays valid -----------------------------------------------------------------------------


def _ids(con, text: str) -> list[str]:
    return ids(con, parse_query(f"select: id\nfilter: {text}").filter)


def _values(con, text: str) -> dict:
    return values(con, parse_query(f"select: {text}").select[0].expr)


FILTERS = [
    # a JSON field of unknown type is a condition: true, non-zero numbers, "true" hold
    ("metadata.is_production", ["r01", "r05"]),
    ("metadata.flag", ["r08"]),
    ("metadata.bool_str", ["r08"]),
    ("NOT metadata.is_production", ["r02"]),
    ("metadata.model", []),  # a string that is not a boolean: NULL, never true
    ("null", []),
    ("is_root = 'true'", ["r01", "r03", "r04", "r05", "r06", "r08", "r10"]),
    ("_xact_id > '1000192656880881007'", ["r09", "r10"]),  # a numeric string literal
    ("created < 1704067200", ["r08"]),  # a number next to a time is Unix seconds
    ("metadata.n > '6'", ["r02", "r04"]),  # a JSON value and a string compare as text
    # INCLUDES / CONTAINS with a list: every element
    ("tags INCLUDES ['triage', 'feedback']", ["r01"]),
    ("tags CONTAINS ['feedback', 'triage']", ["r01"]),
    ("tags INCLUDES ['triage']", ["r01", "r05", "r08"]),
    ("tags INCLUDES ['triage', 'nope']", []),
    ("NOT tags INCLUDES ['triage', 'feedback']", [i for i in ALL if i != "r01"]),
    ("tags INCLUDES []", [i for i in ALL if i != "r03"]),  # every list but a missing one
    ("tags INCLUDES span_parents", []),
    ("span_parents INCLUDES ['r01']", ["r02", "r09"]),
    ("metadata.list INCLUDES ['a', 3]", ["r06"]),
    ("metadata.list INCLUDES ['a', 'z']", []),
    ("contains(tags, ['needs-review', 'resolved'])", ["r04"]),
    # a JSON value on the right: every element when the row's value is an array
    ("""tags INCLUDES json_extract('{"k": ["feedback", "triage"]}', 'k')""", ["r01"]),
    ("""tags INCLUDES json_extract('{"k": "triage"}', 'k')""", ["r01", "r05", "r08"]),
]


@pytest.mark.parametrize(("text", "expected"), FILTERS, ids=lambda x: str(x)[:60])
def test_valid_conditions(con, text, expected):
    assert _ids(con, text) == expected


VALUES = [
    # least / greatest compare in the typed argument's type (a time here), skipping NULLs
    (
        "least(created, '2024-11-10T00:00:00Z')",
        {"r01": "2024-11-09T10:00:00.250000Z", "r05": "2024-11-10T00:00:00.000000Z"},
    ),
    (
        "greatest(created, '2024-11-10')",
        {"r01": "2024-11-10T00:00:00.000000Z", "r05": "2024-11-15T12:00:00.000000Z"},
    ),
    ("least(created, to_date('2024-01-01'))", {"r08": "2023-12-31T23:59:59.000000Z"}),
    ("least(is_root, 0.5)", {"r01": 0.5, "r02": 0}),  # booleans go with numbers
    ("least(metrics.tokens, 500)", {"r01": 500, "r03": 50, "r06": 500}),
    ("greatest(scores.Factuality, scores.Coherence)", {"r03": 1, "r04": None}),
    ("coalesce(metadata.model, 'none')", {"r01": "gpt-4", "r04": "none"}),
    # JSON beside a literal that is not a string keeps its value, whatever it holds (a JSON
    # value): coalesce gives the first non-null one, `? :` the branch taken (a string or an
    # object was NULL beside a 0); beside a string literal the result is its text
    ("coalesce(metrics.tokens, 0)", {"r05": "2000", "r06": 0}),
    ("coalesce(metadata.model, 0)", {"r01": "gpt-4", "r04": 0}),
    ("is_root ? metadata.model : 0", {"r01": "gpt-4", "r02": 0}),
    ("is_root ? metadata.models : false", {"r01": [{"name": "a"}, {"name": "b"}]}),
    ("is_root ? metadata.models : 'none'", {"r01": '[{"name":"a"},{"name":"b"}]'}),
    ("coalesce(tags[1], id)", {"r01": "feedback", "r02": "r02"}),
    # values that do not mix give the first non-null one as a JSON value, as `? :` does
    ("coalesce(id, 0)", {"r01": "r01"}),
    ("coalesce(tags[5], 0)", {"r01": 0}),
    ("coalesce(to_number(metadata.model), to_string(metadata.model))", {"r01": "gpt-4"}),
    ("coalesce(to_number(metrics.tokens), to_string(metrics.tokens))", {"r03": 50}),
    # arithmetic: booleans count 0/1, numeric string literals, JSON numbers, intervals
    ("is_root + 1", {"r01": 2, "r02": 1}),
    ("'5' + 1", {"r01": 6}),
    ("-'2.5'", {"r01": -2.5}),
    ("metrics.tokens * interval 1 second", {"r03": "00:00:50", "r06": None}),
    ("interval 1 day / 4", {"r01": "06:00:00"}),
    ("interval 1 day * _xact_id", {"r01": None}),  # beyond an interval's range
    ("created + null", {"r01": None}),
    # one written form per interval: whole days of the time carried into days, days and
    # time of one sign (to_interval(86400) was 24:00:00, a day less an hour 1 day -01:00:00)
    ("to_interval(to_number(interval 1 day))", {"r01": "1 day"}),
    ("to_string(interval 24 hour)", {"r01": "1 day"}),
    ("interval 25 hour", {"r01": "1 day 01:00:00"}),
    ("interval 1 day - interval 1 hour", {"r01": "23:00:00"}),
    ("to_interval(-90000.5)", {"r01": "-1 day -01:00:00.5"}),
    ("interval 1 month - interval 1 day", {"r01": "1 month -1 day"}),  # months stay
    ("created - to_datetime('2024-11-01')", {"r01": "8 days 10:00:00.25"}),
    # a NULL is typed for the engine, and an unsigned id may go below zero
    ("null + interval 1 day", {"r01": None}),
    ("day(null)", {"r01": None}),
    ("to_datetime(null)", {"r01": None}),
    ("-_xact_id", {"r01": -1000192656880881000}),
    ("_xact_id - (_xact_id + 1)", {"r01": -1}),
    ("day(metadata.ts)", {"r08": "2024-01-01T00:00:00Z", "r01": None}),
    ("day('2024-03-05')", {"r01": "2024-03-05T00:00:00Z"}),
    ("day(to_date('2024-03-05'))", {"r01": "2024-03-05T00:00:00Z"}),
    ("upper(tags)", {"r01": '["TRIAGE","FEEDBACK"]'}),  # any value has a text
    # ISO 8601 years beyond 0000-9999: a sign and six digits (strftime wrote -1 and 10000),
    # read back by to_datetime and to_date
    ("to_datetime('0001-01-01') - interval 1 day", {"r01": "0000-12-31T00:00:00.000000Z"}),
    ("to_datetime('0001-01-01') - interval 400 day", {"r01": "-000001-11-28T00:00:00.000000Z"}),
    ("to_date(to_datetime('0001-01-01') - interval 400 day)", {"r01": "-000001-11-28"}),
    ("day(to_datetime('0001-01-01') - interval 400 day)", {"r01": "-000001-11-28T00:00:00Z"}),
    ("to_datetime('9999-12-31') + interval 1 day", {"r01": "+010000-01-01T00:00:00.000000Z"}),
    ("to_date(to_datetime('9999-12-31') + interval 1 day)", {"r01": "+010000-01-01"}),
    (
        "to_datetime(to_string(created - interval 3000 year)) = created - interval 3000 year",
        {"r01": True},
    ),
    (
        "to_datetime(to_string(created + interval 8000 year)) = created + interval 8000 year",
        {"r01": True},
    ),
    ("to_date(to_string(to_date(created + interval 8000 year)))", {"r01": "+010024-11-09"}),
    # a literal whose UTC lies in year 0 or 10000, which Python's datetime lacks (a 500)
    ("to_datetime('0001-01-01T00:00:00+14:00')", {"r01": "0000-12-31T10:00:00.000000Z"}),
    ("to_datetime('9999-12-31T23:00:00-14:00')", {"r01": "+010000-01-01T13:00:00.000000Z"}),
    ("created > '0001-01-01T00:00:00+14:00'", {"r01": True}),
    # a literal in years the answers write in the expanded form reads back as that time
    ("created > '-000976-11-09T00:00:00.000000Z'", {"r01": True}),
    ("created > '0000-01-01'", {"r01": True}),
    ("created < '+010000-01-01T00:00:00.000000Z'", {"r01": True}),
    ("created < '10000-01-01T00:00:00Z'", {"r01": True}),
    ("created + interval 8000 year = '+010024-11-09T10:00:00.250000Z'", {"r01": True}),
    ("to_datetime('-000976-11-09T10:00:00.25Z') = '-000976-11-09T10:00:00.250000Z'", {"r01": True}),
    ("to_datetime('0000-11-09T10:00:00.25Z') = '0000-11-09T10:00:00.250Z'", {"r01": True}),
    ("created < '-290308-12-22T00:00:00Z'", {"r01": False}),
    ("created < '+294247-01-10T04:00:54.775806Z'", {"r01": True}),
    ("to_date(created) < '+010000-01-01'", {"r01": True}),
    ("to_date(created + interval 8000 year) = '+010024-11-09'", {"r01": True}),
    ("least(created, '-000001-12-31T23:00:00-01:00')", {"r01": "0000-01-01T00:00:00.000000Z"}),
    ("'a' IS NOT NULL ? 1 : 2", {"r01": 1}),
]


@pytest.mark.parametrize(("text", "expected"), VALUES, ids=lambda x: str(x)[:60])
def test_valid_values(con, text, expected):
    got = _values(con, text)
    assert {k: got[k] for k in expected} == expected


def test_a_json_boolean_is_1_or_0_wherever_it_is_read_as_a_number(con):
    """As a boolean is: sum counted a JSON true as 1 while to_number(), arithmetic and a
    comparison with a number made it NULL."""
    query = "measures: sum(metadata.is_production) as s, sum(metadata.is_production + 0) as p"
    assert run(con, parse_query(query)) == [{"s": 2, "p": 2}]
    for text in ("to_number({})", "to_integer({})", "{} + 0", "{} * 1", "round({}, 0)"):
        got = _values(con, text.format("metadata.is_production"))
        assert {k: got[k] for k in ("r01", "r02", "r03")} == {"r01": 1, "r02": 0, "r03": None}
    assert _ids(con, "metadata.is_production = 1") == ["r01", "r05"]
    assert _ids(con, "metadata.is_production < 1") == ["r02"]
    # the string "true" is no number, and min, max and sort keep booleans apart from numbers
    assert _values(con, "to_number(metadata.bool_str)")["r08"] is None
    rows = run(con, parse_query("measures: max(metadata.is_production) as m"))
    assert rows == [{"m": True}]


def test_aggregates_of_json_fields_of_unknown_type_are_allowed(con):
    rows = run(con, parse_query("measures: avg(input) as a, sum(metadata.n) as s"))
    assert rows == [{"a": None, "s": pytest.approx(5 + 7 + 10 + 9.5)}]


# -- every combination: a value or a positioned error ---------------------------------------------

# One operand of each kind the compiler tells apart.
OPERANDS = [
    "id", "_xact_id", "created", "is_root", "tags", "metadata.n", "1", "'abc'", "'2024-01-01'",
    "null", "interval 1 day", "to_date('2024-01-01')", "[1, 'a']",
]  # fmt: skip
BINARY = ["=", "<", "<=>", "+", "-", "*", "/", "%", "LIKE", "INCLUDES", "AND", "IS"]
CALLS = ["coalesce({}, {})", "least({}, {})", "concat({}, {})", "nullif({}, {})"]
UNARY = [
    "-{}", "NOT {}", "{} ? 1 : 2", "{} IN ('a', 1)", "{} MATCH 'x'", "day({})",
    "date_trunc('hour', {})", "lower({})", "len({})", "round({})", "to_number({})",
    "to_datetime({})", "json_extract({}, 'a')",
]  # fmt: skip
AGGREGATES = ["sum({})", "avg({})", "min({})", "percentile({}, 0.5)", "count({})"]


def _combinations() -> list[str]:
    pairs = [(x, y) for x in OPERANDS for y in OPERANDS]
    out = [f"select: ({x}) {op} ({y}) as v" for x, y in pairs for op in BINARY]
    out += [f"select: {call.format(x, y)} as v" for x, y in pairs for call in CALLS]
    out += [f"select: {u.format(f'({x})')} as v" for x in OPERANDS for u in UNARY]
    out += [f"select: id\nfilter: {x}" for x in OPERANDS]
    out += [f"measures: {f.format(x)} as v" for x in OPERANDS for f in AGGREGATES]
    return out


def test_every_combination_runs_or_is_a_positioned_error(con):
    """No operand type reaches the engine where it fails (a binder, conversion or overflow
    error), and every type error has a position."""
    failures = []
    for text in _combinations():
        try:
            run(con, parse_query(text))
        except QueryError as exc:
            if exc.line is None:
                failures.append((text, f"no position: {exc}"))
        except Exception as exc:  # noqa: BLE001 - any other error is the failure
            failures.append((text, f"{type(exc).__name__}: {exc}"))
    assert failures == []
