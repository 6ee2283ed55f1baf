"""POST /btql: errors, SQL forms and options that came out wrong (a third hunt). Expected
values are computed here from the rows the tests write, and error positions from the query
text itself (the offending argument's line and column)."""

from __future__ import annotations

import uuid

import pytest

from tests.integration.btql_pages import all_pages, btql


@pytest.fixture
def project(app_client):
    name = f"bugs3-{uuid.uuid4().hex[:8]}"
    project_id = app_client.post("/v1/project", json={"name": name}).json()["id"]
    rows = [
        {
            "project_id": project_id,
            "log_id": "g",
            "id": f"s{n}",
            "created": f"2026-03-0{1 + n % 3}T10:0{n}:00Z",
            "span_attributes": {"type": ("llm", "tool")[n % 2]},
            "metrics": {"tokens": 10 * n},
        }
        for n in range(6)
    ]
    assert app_client.post("/logs3", json={"rows": rows}).status_code == 200
    return project_id, rows


def error_of(client, query: str) -> dict:
    response = client.post("/btql", json={"query": query})
    assert response.status_code == 400, response.text
    return response.json()["error"]


def position_of(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of ``text[index]``."""
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


# A literal argument of the wrong kind: the error names the kind and points at the argument
# (it said "must be a literal" of a literal, at the function's name).
LITERAL_ARGUMENTS = [
    ("round(metrics.tokens,\n\t2.5)", "2.5", "the round precision must be a whole-number literal"),
    ("round(metrics.tokens, true)", "true", "the round precision must be a whole-number literal"),
    ("percentile(metrics.tokens, 'x')", "'x'", "the percentile must be a number literal"),
    ("percentile(metrics.tokens, 1.5)", "1.5", "the percentile must be between 0 and 1"),
    ("json_extract(metadata, 5)", "5", "the json_extract key must be a string literal"),
    ("date_trunc(id, created)", "id", "the date_trunc unit must be a string literal"),
    ("date_trunc('3 weeks', created)", "'3 weeks'", "invalid date_trunc unit '3 weeks'"),
    ("date_trunc('9999999999 days', created)", "'99", "date_trunc unit '9999999999 days' is"),
]


@pytest.mark.parametrize(("call", "argument", "message"), LITERAL_ARGUMENTS)
@pytest.mark.parametrize("syntax", ["btql", "sql"])
def test_a_literal_argument_of_the_wrong_kind_is_an_error_at_the_argument(
    app_client, project, call, argument, message, syntax
):
    project_id, _ = project
    first = "count(1) as n" if "percentile" in call else "id"
    if syntax == "btql":
        text = f"select: {first},\n  {call} as x | from: project_logs('{project_id}')"
    else:
        text = f"SELECT {first},\n  {call} AS x\nFROM project_logs('{project_id}')"
    error = error_of(app_client, text)
    assert error["message"].startswith(message), error["message"]
    at = text.index(call) + call.index(argument)
    assert (error["line"], error["col"]) == position_of(text, at)


def pivot_counts(rows, by_day: bool) -> list[dict]:
    """count(1) per type spread over the types (per day when ``by_day``), from the rows."""
    groups: dict = {}
    for row in rows:
        day = f"{row['created'][:10]}T00:00:00Z" if by_day else None
        counts = groups.setdefault(day, {})
        kind = row["span_attributes"]["type"]
        counts[f"{kind}_n"] = counts.get(f"{kind}_n", 0) + 1
    return [
        {**({"d": day} if by_day else {}), **dict(sorted(counts.items()))}
        for day, counts in sorted(groups.items(), key=lambda kv: kv[0] or "")
    ]


# PIVOT's FOR named a select item by its alias (or implicit name) that was not grouped: a 400
# "'t' must appear in GROUP BY", while FOR span_attributes.type, or a grouped alias, worked.
PIVOT_BY_A_SELECT_NAME = [
    (
        "SELECT span_attributes.type AS t, count(1) AS n FROM project_logs('{p}')"
        " PIVOT (count(1) AS n FOR t IN (ANY))",
        False,
    ),
    (
        "SELECT span_attributes.type, count(1) AS n FROM project_logs('{p}')"
        " PIVOT (count(1) AS n FOR type IN (ANY))",
        False,
    ),
    (
        "SELECT day(created) AS d, span_attributes.type AS t, count(1) AS n"
        " FROM project_logs('{p}') GROUP BY d PIVOT (count(1) AS n FOR t IN (ANY))",
        True,
    ),
    (
        "select: day(created) as d, span_attributes.type as t, count(1) as n"
        " | dimensions: 1 | from: project_logs('{p}') | pivot: t",
        True,
    ),
    (  # the forms that already worked, for comparison
        "SELECT day(created) AS d, span_attributes.type AS t, count(1) AS n"
        " FROM project_logs('{p}') GROUP BY d, t PIVOT (count(1) AS n FOR t IN (ANY))",
        True,
    ),
    (
        "dimensions: day(created) as d | measures: count(1) as n | from: project_logs('{p}')"
        " | pivot: span_attributes.type",
        True,
    ),
]


@pytest.mark.parametrize(("query", "by_day"), PIVOT_BY_A_SELECT_NAME)
def test_pivot_names_its_column_by_a_select_items_name(app_client, project, query, by_day):
    project_id, rows = project
    answer = btql(app_client, query.format(p=project_id))
    assert [dict(sorted(r.items())) for r in answer["data"]] == [
        dict(sorted(r.items())) for r in pivot_counts(rows, by_day)
    ]


# A pivot's sort was ignored: rows always came in ascending order of the dimensions, so
# `sort: d desc | limit: 2` answered the two oldest days, not the two newest.
PIVOT_SORTED = [
    "dimensions: day(created) as d | measures: count(1) as n | from: project_logs('{p}')"
    " | pivot: span_attributes.type | sort: d desc | limit: 2",
    "SELECT day(created) AS d, span_attributes.type, count(1) AS n FROM project_logs('{p}')"
    " GROUP BY 1, 2 PIVOT (count(1) AS n FOR type IN (ANY)) ORDER BY 1 DESC LIMIT 2",
    "SELECT day(created) AS d, count(1) AS n FROM project_logs('{p}') GROUP BY day(created)"
    " PIVOT (count(1) AS n FOR span_attributes.type IN (ANY)) ORDER BY day(created) DESC"
    " LIMIT 2",
]


@pytest.mark.parametrize("query", PIVOT_SORTED)
def test_a_pivot_is_sorted_by_its_sort(app_client, project, query):
    project_id, rows = project
    newest_first = pivot_counts(rows, by_day=True)[::-1]
    pages = all_pages(app_client, query.format(p=project_id), sql=query.startswith("SELECT"))
    assert [len(page) for page in pages] == [2, 1]
    got = [dict(sorted(r.items())) for page in pages for r in page]
    assert got == [dict(sorted(r.items())) for r in newest_first]


def test_a_pivot_sorted_by_a_measure_is_an_error_at_the_sort(app_client, project):
    project_id, _ = project
    text = (
        "dimensions: day(created) as d | measures: count(1) as n"
        f" | from: project_logs('{project_id}') | pivot: span_attributes.type | sort: n desc"
    )
    error = error_of(app_client, text)
    assert error["message"].startswith("a pivot is sorted by its dimensions"), error["message"]
    assert (error["line"], error["col"]) == (1, text.index("n desc") + 1)


# A count sample beyond 64 bits reached DuckDB's LIMIT: a 400 quoting its conversion error
# ("Type INT128 with value … can't be cast"), with no position. It is every row, as a count
# of more rows than there are is.
HUGE_SAMPLES = [
    "select: id | from: project_logs('{p}') | sample: 99999999999999999999 | limit: 4",
    "select: id | from: project_logs('{p}') traces | sample: 99999999999999999999 | limit: 4",
    "select: id | from: project_logs('{p}') summary | sample: 99999999999999999999 | limit: 4",
    "SELECT id FROM project_logs('{p}') TABLESAMPLE (99999999999999999999 ROWS) LIMIT 4",
]


@pytest.mark.parametrize("query", HUGE_SAMPLES)
def test_a_count_sample_beyond_64_bits_is_every_row(app_client, project, query):
    project_id, rows = project
    pages = all_pages(app_client, query.format(p=project_id), sql=query.startswith("SELECT"))
    assert sorted(r["id"] for page in pages for r in page) == sorted(r["id"] for r in rows)


def test_a_json_count_sample_beyond_64_bits_is_every_row(app_client, project):
    project_id, rows = project
    query = {
        "select": [{"expr": {"op": "ident", "name": ["id"]}, "alias": "id"}],
        "from": {
            "op": "function",
            "name": {"op": "ident", "name": ["project_logs"]},
            "args": [{"op": "literal", "value": project_id}],
        },
        "sample": {"method": {"type": "count", "value": 2**63}, "seed": 7},
    }
    answer = btql(app_client, query)
    assert sorted(r["id"] for r in answer["data"]) == sorted(r["id"] for r in rows)


# A preview_length beyond 64 bits reached DuckDB's left(): a 400 quoting its binder error
# ("No function matches … left(VARCHAR, INTEGER_LITERAL)"). It cuts nothing, like -1.
@pytest.mark.parametrize("length", [2**63, 99999999999999999999])
def test_a_preview_length_beyond_64_bits_keeps_previews_whole(app_client, length):
    name = f"bugs3-preview-{uuid.uuid4().hex[:8]}"
    project_id = app_client.post("/v1/project", json={"name": name}).json()["id"]
    text = "a question " * 40
    row = {"project_id": project_id, "log_id": "g", "id": "r", "input": text, "output": [1, 2]}
    assert app_client.post("/logs3", json={"rows": [row]}).status_code == 200
    query = f"select: input, output | from: project_logs('{project_id}') summary"
    answer = btql(app_client, f"{query} | preview_length: {length}")
    assert answer["data"] == [{"input": text, "output": [1, 2]}]


# ORDER BY a position at or after a `*` was a 400 "ORDER BY position 1 is not in the select
# list" in SQL, while BTQL's sort: 1 numbered the columns * expands to (id first), as SQL
# does; SQL now leaves such a position to the compiler too.
@pytest.mark.parametrize(
    ("sql", "btql_text", "descending"),
    [
        ("SELECT * FROM {src} ORDER BY 1 LIMIT 3", "select: * | from: {src} | sort: 1", False),
        (
            "SELECT metrics.tokens AS t, * FROM {src} ORDER BY 2 DESC LIMIT 3",
            "select: metrics.tokens as t, * | from: {src} | sort: 2 desc",
            True,
        ),
    ],
)
def test_order_by_a_position_after_a_star_counts_its_columns(
    app_client, project, sql, btql_text, descending
):
    project_id, rows = project
    src = f"project_logs('{project_id}')"
    expected = sorted((r["id"] for r in rows), reverse=descending)[:3]
    by_sql = btql(app_client, sql.format(src=src))["data"]
    by_btql = btql(app_client, btql_text.format(src=src) + " | limit: 3")["data"]
    assert [r["id"] for r in by_sql] == expected
    assert by_sql == by_btql


# --- DISTINCT aggregates and IN a field: what they mean, checked against plain Python ---------


@pytest.fixture
def tagged(app_client):
    name = f"distinct-{uuid.uuid4().hex[:8]}"
    project_id = app_client.post("/v1/project", json={"name": name}).json()["id"]
    rows = [
        {
            "id": f"s{n}",
            "tags": [f"t{n % 3}", "all"] if n % 4 else None,
            "metrics": {"tokens": n % 4},
            "metadata": {"want": f"t{n % 2}", "many": ["t0", "t1"], "one": "t1"},
        }
        for n in range(12)
    ]
    rows = [{**r, "project_id": project_id, "log_id": "g"} for r in rows]
    assert app_client.post("/logs3", json={"rows": rows}).status_code == 200
    return project_id, rows


@pytest.mark.parametrize("syntax", ["btql", "sql"])
def test_distinct_aggregates_count_each_value_once(app_client, tagged, syntax):
    project_id, rows = tagged
    tokens = [r["metrics"]["tokens"] for r in rows]
    distinct = set(tokens)
    measures = "count(DISTINCT metrics.tokens) AS c, sum(DISTINCT metrics.tokens) AS s,"
    measures += " avg(DISTINCT metrics.tokens) AS a, count_distinct(metrics.tokens) AS d"
    if syntax == "btql":
        text = f"measures: {measures} | from: project_logs('{project_id}')"
    else:
        text = f"SELECT {measures} FROM project_logs('{project_id}')"
    data = app_client.post("/btql", json={"query": text}).json()["data"]
    expected = {
        "c": len(distinct),
        "s": sum(distinct),
        "a": sum(distinct) / len(distinct),
        "d": len(distinct),
    }
    assert data == [expected]
    for call in ("min(DISTINCT metrics.tokens)", "percentile(DISTINCT metrics.tokens, 0.5)"):
        error = error_of(app_client, f"select: {call} as x | from: project_logs('{project_id}')")
        assert error["message"].startswith(f"{call.split('(')[0]}() does not take DISTINCT")
        assert error["col"] == len("select: ") + 1


def includes(haystack, needle) -> bool:
    """INCLUDES as docs/btql.md defines it: an array's elements, an object's values, a scalar
    itself; a list needle means all of its elements."""
    if isinstance(needle, list):
        return all(includes(haystack, n) for n in needle)
    if isinstance(haystack, list):
        return needle in haystack
    if isinstance(haystack, dict):
        return needle in haystack.values()
    return haystack is not None and haystack == needle


@pytest.mark.parametrize(
    ("condition", "holds"),
    [
        ("'all' IN tags", lambda r: includes(r["tags"], "all")),
        ("'all' NOT IN tags", lambda r: not includes(r["tags"], "all")),
        ("metadata.want IN tags", lambda r: includes(r["tags"], r["metadata"]["want"])),
        ("'t1' IN metadata.many", lambda r: True),
        ("'t0' IN metadata.one", lambda r: False),
        ("metadata.want IN metadata.one", lambda r: r["metadata"]["want"] == "t1"),
        ("tags IN metadata.many", lambda r: includes(r["metadata"]["many"], r["tags"])),
    ],
)
def test_in_a_field_is_includes(app_client, tagged, condition, holds):
    """``x IN field`` (the reference's grammar takes a field after IN) means ``field
    INCLUDES x``, in BTQL and SQL alike."""
    project_id, rows = tagged
    expected = sorted(r["id"] for r in rows if holds(r))
    for text in (
        f"select: id | from: project_logs('{project_id}') | filter: {condition}",
        f"SELECT id FROM project_logs('{project_id}') WHERE {condition}",
    ):
        data = app_client.post("/btql", json={"query": text}).json()["data"]
        assert sorted(r["id"] for r in data) == expected, text
