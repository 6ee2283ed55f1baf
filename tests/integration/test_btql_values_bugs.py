"""POST /btql: values and errors that came out wrong for ordinary queries (pivot by a grouped
column, integer arithmetic, out-of-range values, long expressions). Expected values are
computed here from the rows the test writes."""

from __future__ import annotations

import uuid
from collections import Counter

import pytest

from tests.integration.btql_pages import all_pages

TYPES = ("task", "tool", "llm")


@pytest.fixture
def rows():
    """Spans over three days; day d has d + 1 spans of each type but 'llm' on day 0."""
    out = []
    for day in range(3):
        for kind in TYPES:
            if kind == "llm" and day == 0:
                continue
            for n in range(day + 1):
                out.append(
                    {
                        "id": f"d{day}-{kind}-{n}",
                        "created": f"2026-02-0{day + 1}T1{n}:00:00Z",
                        "span_attributes": {"type": kind},
                        "metrics": {f"m{i}": i for i in range(0, 200, day + 1)},
                        "tags": [kind],
                    }
                )
    return out


@pytest.fixture
def project(app_client, rows):
    name = f"values-{uuid.uuid4().hex[:8]}"
    project_id = app_client.post("/v1/project", json={"name": name}).json()["id"]
    rows = [{**r, "project_id": project_id, "log_id": "g"} for r in rows]
    assert app_client.post("/logs3", json={"rows": rows}).status_code == 200
    return project_id


def btql(client, query):
    response = client.post("/btql", json={"query": query})
    assert response.status_code == 200, response.text
    return response.json()["data"]


def expected_pivot(rows):
    counts = Counter((r["created"][:10], r["span_attributes"]["type"]) for r in rows)
    days = sorted({day for day, _ in counts})
    return [
        {"date": f"{day}T00:00:00Z", **{f"{t}_n": counts.get((day, t)) for t in TYPES}}
        for day in days
    ]


def by_column_name(row: dict) -> dict:
    return dict(sorted(row.items()))


@pytest.mark.parametrize(
    "query",
    [
        "SELECT day(created) AS date, span_attributes.type, count(1) AS n FROM project_logs('{p}')"
        " GROUP BY day(created), span_attributes.type"
        " PIVOT (count(1) AS n FOR span_attributes.type IN (ANY))",
        "SELECT day(created) AS date, span_attributes.type, count(1) AS n FROM project_logs('{p}')"
        " GROUP BY 1, 2 PIVOT (count(1) AS n FOR type IN (ANY))",
        "dimensions: day(created) as date, span_attributes.type | measures: count(1) as n"
        " | from: project_logs('{p}') | pivot: span_attributes.type",
        "select: day(created) as date, span_attributes.type as kind, count(1) as n"
        " | dimensions: 1, 2 | from: project_logs('{p}') | pivot: kind",
    ],
)
def test_pivot_by_a_grouped_column_gives_one_row_per_other_dimension(
    app_client, project, rows, query
):
    data = btql(app_client, query.format(p=project))
    assert [by_column_name(r) for r in data] == [by_column_name(r) for r in expected_pivot(rows)]


def test_pivot_by_a_grouped_column_in_the_json_ast(app_client, project, rows):
    query = {
        "dimensions": [
            {"expr": {"btql": "day(created)"}, "alias": "date"},
            {"expr": {"btql": "span_attributes.type"}},
        ],
        "measures": [{"expr": {"btql": "count(1)"}, "alias": "n"}],
        "from": {
            "op": "function",
            "name": {"op": "ident", "name": ["project_logs"]},
            "args": [{"op": "literal", "value": project}],
        },
        "pivot": [{"expr": {"btql": "span_attributes.type"}}],
    }
    data = btql(app_client, query)
    assert [by_column_name(r) for r in data] == [by_column_name(r) for r in expected_pivot(rows)]


def test_a_null_pivot_value_has_its_own_column_apart_from_the_string_null(app_client):
    """A null pivot value was named like the string "null" (`null_n`): the two groups
    shared one column, which showed one of their counts."""
    project_id = app_client.post("/v1/project", json={"name": f"pv-{uuid.uuid4().hex[:8]}"})
    project_id = project_id.json()["id"]
    values = ["x", None, "null", None, "null", "null"]
    rows = [
        {"id": f"r{i}", "project_id": project_id, "log_id": "g", "metadata": {"m": v, "o": i % 2}}
        for i, v in enumerate(values)
    ]
    assert app_client.post("/logs3", json={"rows": rows}).status_code == 200
    query = (
        "dimensions: metadata.m as m | measures: count(1) as n"
        f" | from: project_logs('{project_id}') | pivot: m"
    )
    assert btql(app_client, query) == [{"null_n": 3, "x_n": 1, "(null)_n": 2}]
    query = (
        "dimensions: metadata.m as m, metadata.o as o | measures: count(1) as n"
        f" | from: project_logs('{project_id}') | pivot: m, o"
    )
    assert by_column_name(btql(app_client, query)[0]) == {
        "(null)_1_n": 2,
        "null_0_n": 2,
        "null_1_n": 1,
        "x_0_n": 1,
    }


def test_pivot_values_that_read_alike_get_names_of_their_own(app_client):
    """('a_b', 'c') and ('a', 'b_c') both read a_b_c_n: the two groups shared one column
    (one count shown), then a JSON object with the key twice; the later is a_b_c_n_2."""
    project_id = app_client.post("/v1/project", json={"name": f"pv-{uuid.uuid4().hex[:8]}"})
    project_id = project_id.json()["id"]
    pairs = [("a_b", "c"), ("a", "b_c"), ("a", "b_c")]
    rows = [
        {"id": f"r{i}", "project_id": project_id, "log_id": "g", "metadata": {"x": x, "y": y}}
        for i, (x, y) in enumerate(pairs)
    ]
    assert app_client.post("/logs3", json={"rows": rows}).status_code == 200
    query = (
        "dimensions: metadata.x as x, metadata.y as y | measures: count(1) as n"
        f" | from: project_logs('{project_id}') | pivot: x, y"
    )
    response = app_client.post("/btql", json={"query": query})
    assert response.status_code == 200, response.text
    assert response.text.count('"a_b_c_n"') == 2  # in the row and in the schema
    assert sorted(response.json()["data"][0].values()) == [1, 2]
    assert set(response.json()["data"][0]) == {"a_b_c_n", "a_b_c_n_2"}


def test_integer_arithmetic_is_64_bit(app_client, project):
    data = btql(
        app_client,
        "select: 65536 * 65536 as x, '65536' * 65536 as y, 3037000499 * 3037000499 as z"
        f" | from: project_logs('{project}') | limit: 1",
    )
    assert data == [{"x": 65536 * 65536, "y": 65536 * 65536, "z": 3037000499 * 3037000499}]


BIG_IDS = [9007199254740992, 9007199254740993, 1234567890123456789, 1234567890123456790]


@pytest.fixture
def big_ids_project(app_client):
    """Spans whose metadata.user_id are JSON integers a double does not hold exactly."""
    name = f"big-{uuid.uuid4().hex[:8]}"
    project_id = app_client.post("/v1/project", json={"name": name}).json()["id"]
    rows = [
        {"id": f"u{n}", "project_id": project_id, "log_id": "g", "metadata": {"user_id": v}}
        for n, v in enumerate(BIG_IDS)
    ]
    assert app_client.post("/logs3", json={"rows": rows}).status_code == 200
    return project_id


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("metadata.user_id = 1234567890123456789", [1234567890123456789]),
        ("1234567890123456790 = metadata.user_id", [1234567890123456790]),
        ("metadata.user_id != 9007199254740992", BIG_IDS[1:]),
        ("metadata.user_id > 9007199254740992", BIG_IDS[1:]),
        ("metadata.user_id <= 9007199254740993", BIG_IDS[:2]),
        ("metadata.user_id <=> 9007199254740993", [9007199254740993]),
        ("metadata.user_id IN (9007199254740993, 1234567890123456790)", BIG_IDS[1::2]),
        ("metadata.user_id NOT IN (9007199254740993, 5)", [BIG_IDS[0], *BIG_IDS[2:]]),
        ("to_integer(metadata.user_id) = 1234567890123456789", [1234567890123456789]),
    ],
)
def test_json_integers_beyond_2_53_compare_exactly_with_integer_literals(
    app_client, big_ids_project, condition, expected
):
    """Read as doubles, a JSON integer beyond 2^53 equalled every integer within a few
    hundred of it (an id filter matched its neighbours), and to_integer() rounded it."""
    for query in (
        f"select: to_integer(metadata.user_id) as v | from: project_logs('{big_ids_project}')"
        f" | filter: {condition}",
        f"SELECT to_integer(metadata.user_id) AS v FROM project_logs('{big_ids_project}')"
        f" WHERE {condition}",
    ):
        assert sorted(r["v"] for r in btql(app_client, query)) == sorted(expected)


@pytest.mark.parametrize(
    "query",
    [
        "SELECT 2024 AS year, count(1) AS n FROM project_logs('{p}') GROUP BY 1 ORDER BY year",
        "SELECT 2024 AS year, count(1) AS n FROM project_logs('{p}') GROUP BY year",
        "select: 2024 as year, count(1) as n | dimensions: 1 | from: project_logs('{p}')",
        "dimensions: 2024 as year | measures: count(1) as n | from: project_logs('{p}')",
        {
            "dimensions": [{"expr": {"op": "literal", "value": 2024}, "alias": "year"}],
            "measures": [{"expr": {"btql": "count(1)"}, "alias": "n"}],
        },
    ],
    ids=["sql-position", "sql-alias", "btql-position", "btql-dimension", "json-ast"],
)
def test_an_integer_constant_is_a_dimension(app_client, project, rows, query):
    """A named integer constant grouped on was read as a position again (the item a
    position names): "a dimension ordinal needs a select list" for a query that has one."""
    if isinstance(query, dict):
        source = {"op": "literal", "value": project}
        name = {"op": "ident", "name": ["project_logs"]}
        query = {**query, "from": {"op": "function", "name": name, "args": [source]}}
    else:
        query = query.format(p=project)
    assert btql(app_client, query) == [{"year": 2024, "n": len(rows)}]


def btql_error(client, query) -> dict:
    response = client.post("/btql", json={"query": query})
    assert response.status_code == 400, response.text
    return response.json()["error"]


def test_values_out_of_range_read_null(app_client, project):
    data = btql(
        app_client,
        "select: to_datetime(1e20) as t, to_interval(1e20) as i, tags[99999999999999999999] as a,"
        " tags[-99999999999999999999] as b, metrics[99999999999999999999] as m"
        f" | from: project_logs('{project}') | limit: 1",
    )
    assert data == [{"t": None, "i": None, "a": None, "b": None, "m": None}]


# Sums of times and intervals beyond the range failed in the engine ("the query could not
# run: Conversion Error: ICU date overflows timestamp range", "Overflow in addition of
# INT32"), with no position; they read NULL, as interval * n does beyond it.
BEYOND = "interval 280000 year + interval 280000 year"
TIME_SUMS = [
    ("created + interval 280000 year + interval 280000 year", None),
    ("created - interval 280000 year - interval 280000 year", None),
    (f"created + ({BEYOND})", None),
    ("day(created + interval 280000 year + interval 280000 year)", None),
    ("to_datetime('294000-01-01T00:00:00Z') + interval 1000 year", None),
    # (a string literal of more than 290,000 years is a 400, as an interval literal is)
    ("to_interval(concat('2147483647', ' days')) + to_interval('1 day')", None),
    ("to_interval(concat('2147483647', ' months')) - to_interval('-1 month')", None),
    (" + ".join(["interval 100000000 day"] * 30), None),
    ("max(created) + interval 280000 year + interval 280000 year", None),
    # in range: the sum itself
    ("to_datetime('294000-01-01T00:00:00Z') + interval 1 year", "+294001-01-01T00:00:00"),
    ("max(created) + interval 1 day + interval 1 day", "2026-02-05T12:00:00"),
    (" + ".join(["max(created)"] + ["interval 1 day"] * 40), "2026-03-15T12:00:00"),
    (BEYOND, "560000 years"),
]


@pytest.mark.parametrize(("expr", "value"), TIME_SUMS)
def test_sums_of_times_and_intervals_beyond_the_range_read_null(app_client, project, expr, value):
    aggregate = "max(" in expr
    query = f"select: {expr} as x | from: project_logs('{project}')"
    (row,) = btql(app_client, query if aggregate else f"{query} | limit: 1")
    if value is None:
        assert row["x"] is None
    else:
        assert row["x"].startswith(value), row
    # as a filter: never true, never an error
    if value is None and not aggregate:
        assert btql(app_client, f"{query} | filter: ({expr}) IS NOT NULL") == []


@pytest.mark.parametrize(
    ("query", "at", "words"),
    [
        (
            "select: created + interval 99999999999 day as x | from: project_logs('{p}')",
            "interval",
            "out of range",
        ),
        # a list in an IN list matched nothing (`tags IN (['a', 'b'])` for `tags IN ['a', 'b']`)
        (
            "select: id | from: project_logs('{p}') | filter: tags IN (['task', 'tool'])",
            "['task'",
            "IN (...) lists values (strings, numbers, booleans, null), not a list",
        ),
        (
            "SELECT id FROM project_logs('{p}') WHERE metrics.m0 IN (0, [1])",
            "[1]",
            "not a list: write x IN ('a', 'b') or x IN ['a', 'b']",
        ),
        ("select: id as \"\" | from: project_logs('{p}')", '""', "empty"),
        ("SELECT id AS \"\" FROM project_logs('{p}')", '""', "empty"),
        ("select: id | unpivot: tags as \"\" | from: project_logs('{p}')", '""', "empty"),
        (
            "select: id | from: project_logs('{p}') traces"
            " | filter: NOT ANY_SPAN(ANY_SPAN(is_root) AND ANY_SPAN(error IS NOT NULL))",
            "ANY_SPAN(ANY_SPAN",
            "ANY_SPAN(ANY_SPAN(a) AND ANY_SPAN(b)) is not supported",
        ),
        (
            "select: id | from: project_logs('{p}') traces"
            " | filter: ANY_SPAN(is_root OR ANY_SPAN(error IS NOT NULL))",
            "ANY_SPAN(error",
            "one level deep",
        ),
        (
            "select: id, ANY_SPAN(error IS NOT NULL) as failed | from: project_logs('{p}')",
            "ANY_SPAN",
            "belongs in the filter",
        ),
        (
            "select: id | from: project_logs('{p}') traces | sort: FILTER_SPANS(is_root)",
            "FILTER_SPANS",
            "belongs in the filter",
        ),
    ],
)
def test_bad_values_are_400s_with_a_position(app_client, project, query, at, words):
    text = query.format(p=project)
    error = btql_error(app_client, text)
    assert words in error["message"]
    assert "SELECT" not in error["message"].replace(text, "")  # no generated SQL
    assert (error["line"], error["col"]) == (1, text.index(at) + 1)


def test_an_empty_alias_in_the_json_ast_is_a_400(app_client, project):
    source = {
        "op": "function",
        "name": {"op": "ident", "name": ["project_logs"]},
        "args": [{"op": "literal", "value": project}],
    }
    query = {"select": [{"expr": {"btql": "id"}, "alias": ""}], "from": source}
    assert "empty" in btql_error(app_client, query)["message"]


def test_any_span_nested_one_level_is_flattened(app_client, traces_project):
    """NOT ANY_SPAN(is_root AND ANY_SPAN(error IS NOT NULL)): the traces without an error."""
    project_id, rows = traces_project
    failed = {r["root_span_id"] for r in rows if r.get("error")}
    expected = sorted(r["id"] for r in rows if r["root_span_id"] not in failed)
    for syntax in (
        f"select: id | from: project_logs('{project_id}') traces"
        " | filter: NOT ANY_SPAN(is_root AND ANY_SPAN(error IS NOT NULL))",
        f"SELECT id FROM project_logs('{project_id}', shape => 'traces')"
        " WHERE NOT ANY_SPAN(is_root AND ANY_SPAN(error IS NOT NULL))",
    ):
        assert sorted(r["id"] for r in btql(app_client, syntax)) == expected


@pytest.mark.parametrize("op", ["AND", "OR"])
def test_not_negates_the_whole_and_or(app_client, project, rows, op):
    """NOT (a AND b) compiled to NOT a AND b (sqlglot's AND is a function node, and was left
    without parentheses)."""
    query = (
        f"select: id | from: project_logs('{project}')"
        f" | filter: NOT (span_attributes.type = 'task' {op} created < '2026-02-02')"
    )

    def test(r):
        a, b = r["span_attributes"]["type"] == "task", r["created"] < "2026-02-02"
        return not (a and b) if op == "AND" else not (a or b)

    assert sorted(r["id"] for r in btql(app_client, query)) == sorted(
        r["id"] for r in rows if test(r)
    )


def test_a_filter_of_500_terms_joined_by_and_runs(app_client, project, rows):
    every_root = " and ".join(["is_root"] * 500)
    data = btql(app_client, f"select: id | from: project_logs('{project}') | filter: {every_root}")
    assert sorted(r["id"] for r in data) == sorted(r["id"] for r in rows)


def test_a_sum_of_200_terms_runs(app_client, project, rows):
    total = " + ".join(f"coalesce(metrics.m{i}, 0)" for i in range(200))
    data = btql(app_client, f"select: id, {total} as s | from: project_logs('{project}')")
    assert {r["id"]: r["s"] for r in data} == {r["id"]: sum(r["metrics"].values()) for r in rows}


@pytest.mark.parametrize(
    ("expr", "aggregate"),
    [
        ("interval 1 day" + " * 1" * 12, False),
        ("interval 1 day" + " / 1" * 12, False),
        ("created + interval 1 day" + " + interval 0 day" * 40 + " - created", False),
        ("(max(created) - min(created))" + " * 1" * 12, True),
        ("max(created) + interval 1 day" + " + interval 0 day" * 40 + " - max(created)", True),
    ],
)
def test_a_chain_of_interval_arithmetic_compiles_to_sql_of_its_length(
    app_client, project, rows, expr, aggregate
):
    """``interval 1 day * 1 * 1 …``: each step's range guard repeated the steps before, so
    the SQL doubled at each one (12 steps made 400 kB of SQL, 14 took 20 s to plan). The SQL
    grows with the steps now, and the value is the plain one."""
    query = f"select: {expr} as x | from: project_logs('{project}')"
    query += "" if aggregate else " | limit: 1"
    plan = app_client.post("/btql", json={"query": query, "explain": True})
    assert plan.status_code == 200, plan.text
    assert len(plan.json()["sql"]) < 40_000
    (row,) = btql(app_client, query)
    if aggregate and expr.startswith("(max"):
        spread = max(r["created"] for r in rows)[:10] != min(r["created"] for r in rows)[:10]
        assert row["x"] and spread
    else:
        assert row["x"] == "1 day"


def _nested(template: str, steps: int, base: str) -> str:
    for _ in range(steps):
        base = template.format(base)
    return base


@pytest.mark.parametrize(
    ("template", "base"),
    [
        ("to_datetime(to_string({}))", "created"),
        ("to_datetime(to_number({}))", "created"),
        ("to_date(to_datetime(to_number(to_datetime(to_string({})))))", "created"),
    ],
)
def test_conversions_of_conversions_compile_to_sql_of_their_length(
    app_client, project, rows, template, base
):
    """A string read as a time repeated the string three times (the offset test and two
    casts), a number read as a time twice: ``to_datetime(to_string(…))`` eight deep was 1 MB
    of SQL and took 6 s to plan, each step 4× the one before. A large operand is bound
    once now, and the value is the same."""
    query = f"select: id, {_nested(template, 8, base)} as x | from: project_logs('{project}')"
    plan = app_client.post("/btql", json={"query": query, "explain": True})
    assert plan.status_code == 200, plan.text
    assert len(plan.json()["sql"]) < 40_000
    once = f"select: id, {_nested(template, 1, base)} as x | from: project_logs('{project}')"
    assert btql(app_client, query) == btql(app_client, once)
    assert len(btql(app_client, query)) == len(rows)


@pytest.fixture
def traces_project(app_client):
    """Four traces of a root and a child; the children of t1 and t3 have an error."""
    project_id = app_client.post("/v1/project", json={"name": f"t-{uuid.uuid4().hex[:8]}"})
    project_id = project_id.json()["id"]
    rows = []
    for t in range(4):
        root = {"id": f"t{t}-root", "span_id": f"t{t}-s0", "root_span_id": f"t{t}"}
        child = {
            "id": f"t{t}-child",
            "span_id": f"t{t}-s1",
            "root_span_id": f"t{t}",
            "span_parents": [f"t{t}-s0"],
            "error": "boom" if t % 2 else None,
        }
        rows += [{**r, "project_id": project_id, "log_id": "g"} for r in (root, child)]
    assert app_client.post("/logs3", json={"rows": rows}).status_code == 200
    return project_id, rows


@pytest.mark.parametrize(
    ("condition", "keep"),
    [
        # the spans of the traces in which no span has an error (their roots included)
        ("NOT ANY_SPAN(error IS NOT NULL)", lambda r, failed: r["root_span_id"] not in failed),
        # every span of the traces with an error, not only the failing spans
        ("ANY_SPAN(error IS NOT NULL)", lambda r, failed: r["root_span_id"] in failed),
        (
            "is_root AND NOT ANY_SPAN(error IS NOT NULL)",
            lambda r, failed: r["root_span_id"] not in failed and "span_parents" not in r,
        ),
        (
            "NOT ANY_SPAN(error IS NOT NULL) OR error IS NOT NULL",
            lambda r, failed: r["root_span_id"] not in failed or r.get("error") is not None,
        ),
    ],
)
@pytest.mark.parametrize("limit", [1000, 1])
def test_any_span_on_the_spans_shape_is_a_trace_condition(
    app_client, traces_project, condition, keep, limit
):
    """On the spans shape ANY_SPAN(x) holds on every span of a trace that has a span
    satisfying x, as on the traces shape: NOT ANY_SPAN(x) gives the spans of the traces in
    which no span does. (It was compiled as x itself, so NOT ANY_SPAN(error IS NOT NULL)
    returned the error-free spans of failing traces too.)"""
    project_id, rows = traces_project
    failed = {r["root_span_id"] for r in rows if r.get("error")}
    expected = sorted(r["id"] for r in rows if keep(r, failed))
    btql_text = f"select: id | from: project_logs('{project_id}') | filter: {condition}"
    sql_text = f"SELECT id FROM project_logs('{project_id}') WHERE {condition}"
    for query, sql in (
        (f"{btql_text} | limit: {limit}", False),
        (f"{sql_text} LIMIT {limit}", True),
    ):
        pages = all_pages(app_client, query, sql=sql)
        assert sorted(r["id"] for page in pages for r in page) == expected, query


@pytest.mark.parametrize("tz_offset", [0, 480, -840])
def test_dates_are_days_of_the_requests_time_zone(app_client, tz_offset):
    """current_date() is today where the request is (tz_offset minutes west of UTC), as
    day() buckets are: it was always UTC's today. So is the date of a time (to_date), and a
    date used as a time is the start of that day there."""
    import datetime as dt

    project_id = app_client.post("/v1/project", json={"name": f"tz-{uuid.uuid4().hex[:8]}"})
    project_id = project_id.json()["id"]
    rows = [
        {"id": "early", "created": "2026-02-01T03:00:00Z"},  # Jan 31 in US Pacific
        {"id": "late", "created": "2026-02-01T21:00:00Z"},  # Feb 2 at UTC+14
    ]
    rows = [{**r, "project_id": project_id, "log_id": "g"} for r in rows]
    assert app_client.post("/logs3", json={"rows": rows}).status_code == 200
    offset = dt.timedelta(minutes=tz_offset)

    def local_date(instant: dt.datetime) -> dt.date:
        return (instant - offset).date()

    def start_of(day: dt.date) -> str:
        start = dt.datetime.combine(day, dt.time(), dt.UTC) + offset
        return start.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    before = local_date(dt.datetime.now(dt.UTC))
    response = app_client.post(
        "/btql",
        json={
            "query": "select: id, current_date() as today, to_datetime(current_date()) as midnight,"
            " to_date(created) as date, day(created) as day"
            f" | from: project_logs('{project_id}') | sort: created",
            "tz_offset": tz_offset,
        },
    )
    after = local_date(dt.datetime.now(dt.UTC))
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    today = dt.date.fromisoformat(data[0]["today"])
    assert today in (before, after)
    assert data[0]["midnight"] == start_of(today)
    for row, source in zip(data, rows, strict=True):
        created = dt.datetime.fromisoformat(source["created"])
        assert row["date"] == local_date(created).isoformat()
        assert row["day"] == start_of(local_date(created)).replace(".000000", "")

    # A date compared with a time is the start of that day in the request's time zone.
    response = app_client.post(
        "/btql",
        json={
            "query": f"select: id | from: project_logs('{project_id}')"
            " | filter: created >= to_date('2026-02-01') and created < to_date('2026-02-02')",
            "tz_offset": tz_offset,
        },
    )
    assert response.status_code == 200, response.text
    day_start = dt.datetime.combine(dt.date(2026, 2, 1), dt.time(), dt.UTC) + offset
    expected = [
        r["id"]
        for r in rows
        if day_start <= dt.datetime.fromisoformat(r["created"]) < day_start + dt.timedelta(days=1)
    ]
    assert sorted(r["id"] for r in response.json()["data"]) == sorted(expected)


def sql_in(value, items):
    """``value IN (items)`` as documented: ``value = item`` for each item, NULL when value
    is NULL unless null is listed (``= null`` means IS NULL); an array is in the list when
    one of its elements is (a null element matches null)."""
    if value is None:
        return True if None in items else None
    if isinstance(value, list):
        return any(element in items for element in value)
    return value in items


@pytest.mark.parametrize(
    ("field", "items"),
    [
        ("metadata.m", ("a",)),
        ("metadata.m", ("a", None)),
        ("metadata.m", (None,)),
        ("span_id", ("t0-s0", None)),
        ("tags", ("x",)),
        ("tags", ("x", None)),
        ("metadata.l", ("b",)),
        ("metadata.l", ("b", None)),
        ("metadata.n", (-1, 2)),
    ],
)
def test_in_and_not_in_with_nulls(app_client, field, items):
    """x NOT IN (…) is NOT (x IN (…)), and x IN (a, b) is x = a OR x = b: a NULL x is NULL
    (no row) unless null is listed, as for a scalar; a typed array (tags) gave false for IN
    and true for NOT IN. A JSON array's null element matches a listed null."""
    project_id = app_client.post("/v1/project", json={"name": f"in-{uuid.uuid4().hex[:8]}"})
    project_id = project_id.json()["id"]
    values = {
        "metadata.m": [None, "a", "b"],
        "tags": [["x"], None, ["y"]],
        "metadata.l": [None, ["a", None], ["b"]],
        "metadata.n": [-1, 1, None],
    }
    rows = []
    for t in range(3):
        root = {"id": f"t{t}", "span_id": f"t{t}-s0", "root_span_id": f"t{t}"}
        root["metadata"] = {k[9:]: v[t] for k, v in values.items() if k.startswith("metadata.")}
        root["tags"] = values["tags"][t]
        rows.append({**root, "project_id": project_id, "log_id": "g"})
    assert app_client.post("/logs3", json={"rows": rows}).status_code == 200

    def field_value(row):
        if field == "span_id":
            return row["span_id"]
        return values[field][int(row["id"][1])]

    listed = ", ".join("null" if i is None else repr(i) for i in items)
    text = (
        f"select: id, {field} IN ({listed}) as i, {field} NOT IN ({listed}) as n,"
        f" {field} NOT IN [{listed}] as b | from: project_logs('{project_id}')"
    )
    got = {r["id"]: (r["i"], r["n"], r["b"]) for r in btql(app_client, text)}
    expected = {}
    for row in rows:
        inside = sql_in(field_value(row), items)
        outside = None if inside is None else not inside
        expected[row["id"]] = (inside, outside, outside)
    assert got == expected
    # In a filter, the rows where it is true (a NULL drops the row, as false does).
    for negate in ("", "NOT "):
        for syntax in (
            f"select: id | from: project_logs('{project_id}') | filter: {field} {negate}IN"
            f" ({listed})",
            f"SELECT id FROM project_logs('{project_id}') WHERE {field} {negate}IN ({listed})",
        ):
            kept = sorted(r["id"] for r in btql(app_client, syntax))
            assert kept == sorted(k for k, v in expected.items() if v[1 if negate else 0]), syntax


@pytest.fixture
def objects(app_client):
    """A project with one span, and a dataset."""
    project_id = app_client.post("/v1/project", json={"name": f"e-{uuid.uuid4().hex[:8]}"})
    project_id = project_id.json()["id"]
    dataset = {"name": "d", "project_id": project_id}
    dataset_id = app_client.post("/v1/dataset", json=dataset).json()["id"]
    row = {"id": "a", "project_id": project_id, "log_id": "g", "metadata": {"m": 1}}
    assert app_client.post("/logs3", json={"rows": [row]}).status_code == 200
    return {"p": project_id, "d": dataset_id}


# The cursor of an unsorted page (it resumes after a key), which a sorted query refuses.
KEY_CURSOR = (
    "eyJrIjoicDEwMDAxOTgyNTg5MzgwODUzNzcuMDAwMDAwMSJ9"  # {"k": "p1000198258938085377.0000001"}
)


@pytest.mark.parametrize(
    ("query", "at", "words"),
    [
        ("select: *, count(1) | from: project_logs('{p}')", "*", "cannot be combined"),
        ("SELECT *, count(1) FROM project_logs('{p}')", "*", "cannot be combined"),
        ("select: id, *, count(1) | from: project_logs('{p}')", "*", "duplicate column"),
        ("SELECT DISTINCT * FROM project_logs('{p}')", "* FROM", "DISTINCT *"),
        ("SELECT DISTINCT id, count(1) FROM project_logs('{p}')", "DISTINCT", "GROUP BY"),
        ("select: id | from: dataset('{d}') summary", "dataset(", "summary shape"),
        (
            "select: id | from: project_logs('{p}') traces | pivot: metadata.m",
            "metadata.m",
            "spans",
        ),
        (
            "SELECT id FROM project_logs('{p}', shape => 'summary') UNPIVOT (t FOR _ IN (tags))",
            "tags))",
            "spans shape",
        ),  # fmt: skip
        ("select: id | from: project_logs('{p}') | unpivot: id as (k, v)", "id as", "an object"),
        ("select: id | from: project_logs('{p}') | pivot: metadata.m", "metadata.m", "measures"),
        (
            "dimensions: id | measures: count(1) as n | from: project_logs('{p}') traces",
            "id |",
            "spans or summary shape",
        ),
        (
            "SELECT id, count(1) AS n FROM project_logs('{p}', shape => 'traces') GROUP BY id",
            "id,",
            "spans or summary shape",
        ),
        ("select: id | from: project_logs('{p}') | limit: 1000000", "1000000", "at most"),
        ("SELECT id FROM project_logs('{p}') LIMIT 100001", "100001", "at most"),
        ("select: id | from: project_logs('{p}') | cursor: 'garbage'", "'garbage'", "cursor"),
        ("SELECT id FROM project_logs('{p}') OFFSET 'garbage'", "'garbage'", "invalid cursor"),
        (
            "select: id | from: project_logs('{p}') | sort: created | cursor: '{c}'",
            "created",
            "cannot page a sorted one",
        ),
        (
            "select: id | from: project_logs('{p}') | filter: id IN ('a', span_id)",
            "span_id)",
            "IN (...) lists values",
        ),
        (
            "SELECT id FROM project_logs('{p}') WHERE id NOT IN ('a', lower(span_id))",
            "lower(",
            "IN (...) lists values",
        ),
        # these had a position already
        ("select: foo(id) | from: project_logs('{p}')", "foo(", "unknown function"),
        ("select: lower(id, id) | from: project_logs('{p}')", "lower(", "number of arguments"),
        ("SELECT id FROM project_logs('{p}') WHERE nope = 1", "nope", "unknown field"),
        ("select: id | from: dataset('{d}') | filter: error IS NULL", "error", "unknown field"),
        ("select: id | from: project_logs('{p}') | filter: created = true", "created", "compare"),
        ("select: id | from: nope('{p}')", "nope(", "unknown source"),
        ("SELECT id FROM project_logs('{p}', shape => 'bogus')", "'bogus'", "shape"),
    ],
)
def test_semantic_errors_have_a_position(app_client, objects, query, at, words):
    """Errors found after parsing (the planner's, and some of the parsers' own) are 400s at
    the line and column of the node they are about, like syntax errors."""
    text = query.format(**objects, c=KEY_CURSOR)
    error = btql_error(app_client, text)
    assert words in error["message"]
    assert (error.get("line"), error.get("col")) == (1, text.index(at) + 1), error["message"]


BIG = [9223372036854775813, 9007199254740993, -9223372036854775807, 5]


@pytest.mark.parametrize("grouped", [False, True])
def test_min_and_max_of_json_integers_beyond_2_53_are_exact(app_client, grouped):
    """min/max answer the value itself: a JSON integer beyond 2^53 came back rounded through
    a double (9223372036854775813 as 9223372036854776000), grouped or not."""
    name = f"bigints-{uuid.uuid4().hex[:8]}"
    project_id = app_client.post("/v1/project", json={"name": name}).json()["id"]
    rows = [
        {"project_id": project_id, "log_id": "g", "id": f"b{i}", "metadata": {"n": n, "g": 1}}
        for i, n in enumerate(BIG)
    ]
    assert app_client.post("/logs3", json={"rows": rows}).status_code == 200
    group = "dimensions: metadata.g as g | " if grouped else ""
    measures = "measures: max(metadata.n) as hi, min(metadata.n) as lo"
    query = f"{group}{measures} | from: project_logs('{name}')"
    (row,) = btql(app_client, query)
    assert (row["hi"], row["lo"]) == (max(BIG), min(BIG))


# Time buckets and dates at the ends of the timestamp range (290,309 BC to 294,247 AD): a
# bucket or a day that lies beyond it, where tz_offset or the bucket's start moves it, failed
# in DuckDB ("Date and time not in timestamp range", "Overflow in subtraction of INT64");
# it reads NULL, and what lies inside the range is the bucket itself.
LAST = "to_datetime(9223372036854)"  # 294247-01-10T04:00:54Z
FIRST = "to_datetime(-9223372022400)"  # 290309 BC (-290308)-12-22T00:00:00Z
EDGES = [
    (f"day({LAST})", 0, "+294247-01-10T00:00:00Z"),
    (f"day({LAST})", 1440, "+294247-01-10T00:00:00Z"),
    (f"day({LAST})", -1440, None),
    (f"year({LAST})", 1440, "+294247-01-02T00:00:00Z"),
    (f"week({LAST})", -1440, None),
    (f"date_trunc('hour', {LAST})", -1440, None),
    (f"date_trunc('7 days', {LAST})", 0, "+294247-01-07T00:00:00Z"),
    (f"second({FIRST})", 0, "-290308-12-22T00:00:00Z"),
    (f"second({FIRST})", 1440, None),
    (f"month({FIRST})", 0, None),  # its month began before the range
    (f"year({FIRST})", -1440, None),
    (f"date_trunc('7 days', {FIRST})", 0, None),
    (f"to_date({LAST})", -1440, None),
    (f"to_date({FIRST})", 1440, None),
    (f"to_date({FIRST})", -1440, "-290308-12-23"),
    ("to_datetime(to_date('300000-01-01'))", 0, None),
    ("day(to_date('300000-01-01'))", 480, None),
    # the ends of the years Python knows: the bucket in the request's time zone
    ("year(to_datetime('0001-01-01T00:00:00Z'))", 1440, "0000-01-02T00:00:00Z"),
    ("year(to_datetime('0001-01-01T00:00:00Z'))", -1440, "0000-12-31T00:00:00Z"),
    ("month(to_datetime('9999-12-31T23:00:00Z'))", 1440, "9999-12-02T00:00:00Z"),
    ("day(to_datetime('9999-12-31T23:00:00Z'))", -1440, "9999-12-31T00:00:00Z"),
]


@pytest.mark.parametrize(("expr", "tz_offset", "value"), EDGES)
def test_time_buckets_at_the_ends_of_the_range(app_client, project, expr, tz_offset, value):
    query = f"select: {expr} as x | from: project_logs('{project}') | limit: 1"
    answer = app_client.post("/btql", json={"query": query, "tz_offset": tz_offset})
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"] == [{"x": value}]
    if "to_date" in expr:
        return
    # over an aggregate too (a guard there, as DuckDB's try() refuses aggregates)
    inner = expr[expr.index("to_datetime") :].removesuffix(")")
    grouped = expr.replace(inner, f"max({inner})", 1)
    query = f"select: {grouped} as x | from: project_logs('{project}')"
    answer = app_client.post("/btql", json={"query": query, "tz_offset": tz_offset})
    assert answer.status_code == 200, answer.text
    (row,) = answer.json()["data"]
    assert row["x"] in (value, None)
