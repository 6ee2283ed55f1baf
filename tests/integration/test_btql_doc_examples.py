"""The examples of docs/btql.md run and answer what the page says they answer.

Each case names the text the page shows (it must be on the page, so a changed example is
changed here too), the query that runs it and what the page says comes back: a value, the
answer's column names, or a 400 whose message holds the page's words."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import ADMIN_KEY
from tracelake.server.app import create_app
from tracelake.settings import Settings

DOC = " ".join((Path(__file__).resolve().parents[2] / "docs" / "btql.md").read_text().split())

ROWS = [
    {
        "id": "r1",
        "created": "2024-11-09T10:00:00Z",
        "input": {"question": "q1"},
        "metadata": {"model": "gpt-4", "n": 5, "cached": True, "x": 1},
        "tags": ["a", "b"],
        "metrics": {"tokens": 10},
        "scores": {"Factuality": 0.9},
    },
    {
        "id": "r2",
        "created": "2024-11-10T10:00:00Z",
        "input": {"question": "q2"},
        "metadata": {"model": "gpt-4", "n": "5", "cached": False, "x": 1},
        "tags": ["a"],
    },
    {
        "id": "r3",
        "created": "2024-11-11T10:00:00Z",
        "input": {"question": "q3"},
        "metadata": {"model": "claude", "n": 3, "x": 2},
    },
]


@pytest.fixture(scope="module")
def app_client(tmp_path_factory):
    """One app for the module (the queries only read): conftest's, made once."""
    data_dir = tmp_path_factory.mktemp("btql-doc") / "data"
    settings = Settings(data_dir=data_dir, api_key=ADMIN_KEY, scheduler_tick_seconds=0)
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        client.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
        yield client


@pytest.fixture(scope="module")
def project(app_client):
    project_id = app_client.post("/v1/project", json={"name": "docs"}).json()["id"]
    rows = [{**r, "project_id": project_id, "log_id": "g"} for r in ROWS]
    assert app_client.post("/logs3", json={"rows": rows}).status_code == 200
    return project_id


def run(client, project_id, query, **options):
    if isinstance(query, str):
        query = query.replace("{p}", project_id)
    else:
        query = json.loads(json.dumps(query).replace("{p}", project_id))
    return client.post("/btql", json={"query": query, **options})


def on_page(snippet: str) -> None:
    assert " ".join(snippet.split()) in DOC, f"{snippet!r} is not on docs/btql.md"


FROM = "from: project_logs('{p}')"

# (the page's text, the expression, the value it has on row r1)
VALUES = [
    ("`65536 * 65536` is 4294967296", "65536 * 65536", 4294967296),
    ("(`9223372036854775807 + 1`)", "9223372036854775807 + 1", None),
    ("`round(1234, -2)` is 1200", "round(1234, -2)", 1200),
    ("`interval 24 hour`, `to_interval(86400)` and `interval 1 day`", "interval 24 hour", "1 day"),
    ("`interval 24 hour`, `to_interval(86400)`", "to_interval(86400)", "1 day"),
    ("`interval 25 hour` is `1 day 01:00:00`", "interval 25 hour", "1 day 01:00:00"),
    (
        "`interval 1 day - interval 1 hour` is `23:00:00`",
        "interval 1 day - interval 1 hour",
        "23:00:00",
    ),
    (
        "`interval 1 month - interval 1 day` is `1 month -1 day`",
        "interval 1 month - interval 1 day",
        "1 month -1 day",
    ),
    (
        "(`-000976-11-09T10:00:00…` from `2024-11-09T10:00:00`)",
        "created - interval 3000 year",
        "-000976-11-09T10:00:00.000000Z",
    ),
    ("`'a' IN 'abc'` is false", "'a' IN 'abc'", False),
    ("`50%` is 0.5", "50%", 0.5),
    ("`x / 0` is NULL", "1 / 0", None),
    ("such as `'abc'`, is NULL", "to_interval('abc')", None),
    ("`to_interval(1e20)`, like `to_datetime(1e20)`", "to_interval(1e20)", None),
    ("`to_interval(1e20)`, like `to_datetime(1e20)`", "to_datetime(1e20)", None),
    ("as `interval 1 day * 1e15` is", "interval 1 day * 1e15", None),
    (
        "(`created + interval 280000 year + interval 280000 year`",
        "created + interval 280000 year + interval 280000 year",
        None,
    ),
    (
        "`least(created, '2024-01-01T00:00:00Z')` compares times",
        "least(created, '2024-01-01T00:00:00Z')",
        "2024-01-01T00:00:00.000000Z",
    ),
    ("`metadata.cached = 1`", "metadata.cached = 1", True),
    ("of a JSON object, its number of keys (`len(metrics)`)", "len(metrics)", 1),
    (
        "(write `day(to_datetime(1700000000))`)",
        "day(to_datetime(1700000000))",
        "2023-11-14T00:00:00Z",
    ),
    (
        "`coalesce(metadata.model, 'unknown')`",
        "coalesce(metadata.nosuch, 'unknown')",
        "unknown",
    ),
    (
        '`coalesce(to_number(metadata.n), to_string(metadata.n))` is 5 for both 5 and "5"',
        "coalesce(to_number(metadata.n), to_string(metadata.n))",
        5,
    ),
    ("`created = 12` is valid", "created = 12", False),
    ("(`is_root ? 'root' : 1`)", "is_root ? 'root' : 1", "root"),
    ("`tags[-1]`", "tags[-1]", "b"),
    ('`metadata."field.name"`', 'metadata."model"', "gpt-4"),
    ("`x IN ('a', null)` holds for NULL", "metadata.nosuch IN ('a', null)", True),
    ("`tags INCLUDES ['a', 'b']`", "tags INCLUDES ['a', 'b']", True),
    ("(`sum(is_root)`", "to_number(is_root)", 1),
]


@pytest.mark.parametrize(("snippet", "expr", "value"), VALUES, ids=[v[1] for v in VALUES])
def test_a_value_the_page_gives(app_client, project, snippet, expr, value):
    on_page(snippet)
    response = run(app_client, project, f"select: {expr} as v | {FROM} | filter: id = 'r1'")
    assert response.status_code == 200, response.text
    assert response.json()["data"] == [{"v": value}]


# (the page's text, a query, the value of its one row's column v)
AGGREGATES = [
    (
        "(`avg` of 1 and 3 is `2`, not `2.0`)",
        f"measures: avg(id = 'r1' ? 1 : 3) as v | {FROM} | filter: id != 'r2'",
        2,
    ),
    (
        "(`sum(distinct x)` of 1, 1, 2 is 3)",
        f"measures: sum(distinct metadata.x) as v | {FROM}",
        3,
    ),
    ("(`sum(is_root)`", f"measures: sum(is_root) as v | {FROM}", 3),
    (
        "`sum(metadata.cached)` counts the cached spans",
        f"measures: sum(metadata.cached) as v | {FROM}",
        1,
    ),
    ("`count(distinct x)`", f"measures: count(distinct metadata.model) as v | {FROM}", 2),
    ("`measures:` alone is one row", f"measures: count(1) as v | {FROM}", 3),
]


@pytest.mark.parametrize(("snippet", "query", "value"), AGGREGATES, ids=[a[0] for a in AGGREGATES])
def test_an_aggregate_the_page_gives(app_client, project, snippet, query, value):
    on_page(snippet)
    response = run(app_client, project, query)
    assert response.status_code == 200, response.text
    assert response.json()["data"] == [{"v": value}]


def test_coalesce_of_a_number_and_its_text_is_the_number_for_a_numeric_string(app_client, project):
    on_page('is 5 for both 5 and "5", and the text of anything else')
    query = (
        f"select: id, coalesce(to_number(metadata.n), to_string(metadata.n)) as v | {FROM}"
        " | sort: id"
    )
    response = run(app_client, project, query)
    assert response.status_code == 200, response.text
    assert [r["v"] for r in response.json()["data"]] == [5, 5, 3]


# (the page's text, a query, the answer's column names in order)
COLUMNS = [
    ("`select: count(*)` is `expr_1`", f"select: count(*) | {FROM}", ["expr_1"]),
    (
        "`select: id, len(tags)` gives `id` and `expr_2`",
        f"select: id, len(tags) | {FROM}",
        ["id", "expr_2"],
    ),
    (
        "`dimensions: metadata.model | measures: count(1)` gives `model` and `expr_2`",
        f"dimensions: metadata.model | measures: count(1) | {FROM}",
        ["model", "expr_2"],
    ),
    (
        "an unaliased path is named by its last segment (`metadata.model` → `model`)",
        f"select: metadata.model | {FROM}",
        ["model"],
    ),
    (
        "`select: id as a, span_id as A` gives two columns, `a` and `A`",
        f"select: id as a, span_id as A | {FROM}",
        ["a", "A"],
    ),
    (
        "`scores as (name, Name)` gives a key and a value column",
        f"select: id, name, Name | {FROM} | unpivot: scores as (name, Name)",
        ["id", "name", "Name"],
    ),
]


@pytest.mark.parametrize(("snippet", "query", "columns"), COLUMNS, ids=[c[1] for c in COLUMNS])
def test_the_column_names_the_page_gives(app_client, project, snippet, query, columns):
    on_page(snippet)
    response = run(app_client, project, query)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data and all(list(row) == columns for row in data)


# (the page's text, a filter, the ids of the rows it keeps: r1 has tags a and b, r2 tag a,
# r3 none)
FILTERS = [
    ("`'x' NOT IN tags` keeps the spans without tags", "'b' NOT IN tags", ["r2", "r3"]),
    ("`tags NOT IN ('x')` does not keep spans without tags", "tags NOT IN ('b')", ["r2"]),
    ("`NOT tags INCLUDES 'x'` holds for spans without tags", "NOT tags INCLUDES 'b'", ["r2", "r3"]),
    ("`tags IS NULL OR tags NOT IN ('x')`", "tags IS NULL OR tags NOT IN ('b')", ["r2", "r3"]),
    ("(`tags IN ('a', 'b')`) is true when any element is listed", "tags IN ('b', 'z')", ["r1"]),
    ("`= null` and `!= null` mean `IS NULL` / `IS NOT NULL`", "tags = null", ["r3"]),
    ("`tags LIKE 'needs-%'`: true when an element matches", "tags LIKE 'b%'", ["r1"]),
    ("(its text: `created LIKE '2024-11%'`)", "created LIKE '2024-11-1%'", ["r2", "r3"]),
    ("`filter: metadata.is_production` works", "metadata.cached", ["r1"]),
    ("`created < 1704067200`", "created < 1731150000", ["r1"]),
    ("`app` does not match `apple`", "input MATCH 'q'", []),
    ("every word of the query must appear, in any order", "input MATCH 'q1'", ["r1"]),
    ("a query without words (`''`, `'--'`, `'🎉'`) matches no row", "input MATCH '--'", []),
    ("`x IN (a, b)` is `x = a OR x = b`", "metadata.model IN ('claude', 'gpt-5')", ["r3"]),
]


@pytest.mark.parametrize(("snippet", "condition", "ids"), FILTERS, ids=[f[1] for f in FILTERS])
def test_a_filter_the_page_gives(app_client, project, snippet, condition, ids):
    on_page(snippet)
    response = run(app_client, project, f"select: id | {FROM} | filter: {condition} | sort: id")
    assert response.status_code == 200, response.text
    assert [r["id"] for r in response.json()["data"]] == ids


def test_a_date_is_a_day_in_the_requests_tz_offset(app_client, project):
    on_page(
        "with `tz_offset: 480`, `created >= to_date('2024-11-09')` is `created >="
        " '2024-11-09T08:00:00Z'`"
    )
    for condition in ("created >= to_date('2024-11-10')", "created >= '2024-11-10T08:00:00Z'"):
        query = f"select: id | {FROM} | filter: {condition} | sort: id"
        response = run(app_client, project, query, tz_offset=480)
        assert response.status_code == 200, response.text
        assert [r["id"] for r in response.json()["data"]] == ["r2", "r3"]


def test_a_star_and_an_expression_over_project_logs_ends_with_expr_25(app_client, project):
    on_page("`select: *, len(tags)` over project logs ends with `expr_25` (after their 24 columns)")
    response = run(app_client, project, f"select: *, len(tags) | {FROM} | filter: id = 'r1'")
    assert response.status_code == 200, response.text
    (row,) = response.json()["data"]
    assert len(row) == 25 and list(row)[-1] == "expr_25"


def test_pivoted_expression_names(app_client, project):
    """Pivoted over its own dimension, a count is the answer's first column (the page said
    expr_2, the name of its column before the pivot)."""
    on_page("(pivoted over another column, `| pivot: metadata.x`, `1_expr_2`;")
    query = f"dimensions: metadata.model | measures: count(1) | {FROM} | pivot: metadata.x"
    response = run(app_client, project, query)
    assert response.status_code == 200, response.text
    assert list(response.json()["data"][0]) == ["model", "1_expr_2", "2_expr_2"]
    on_page(
        "pivoted over `metadata.model` itself, which is then no dimension, the count is the"
        " answer's first column: `gpt-4_expr_1`, as in SQL's `SELECT metadata.model, count(1)"
        " … PIVOT (count(1) FOR model IN (ANY))`"
    )
    for query in (
        f"dimensions: metadata.model | measures: count(1) | {FROM} | pivot: metadata.model",
        "SELECT metadata.model, count(1) FROM project_logs('{p}')"
        " PIVOT (count(1) FOR model IN (ANY))",
    ):
        response = run(app_client, project, query)
        assert response.status_code == 200, response.text
        assert response.json()["data"] == [{"claude_expr_1": 1, "gpt-4_expr_1": 2}]


def test_a_pivot_sort_position_counts_the_answers_columns(app_client, project):
    """BTQL's ``sort: 1`` and SQL's ``ORDER BY 1`` of the same pivot sort by the same column
    (SQL's counted the select list, the pivot column too), and position 2 is refused in
    both."""
    on_page(
        "So `dimensions: metadata.model, lower(input) | measures: count(1) as n | pivot:"
        " metadata.model | sort: 1` and SQL's `SELECT metadata.model, lower(input), count(1)"
        " AS n … GROUP BY 1, 2 PIVOT (count(1) AS n FOR model IN (ANY)) ORDER BY 1` both sort"
        " by `lower(input)`, and `sort: 2` (`ORDER BY 2`) there is a 400"
    )
    queries = (
        "dimensions: metadata.model, lower(input.question) | measures: count(1) as n"
        f" | {FROM} | pivot: metadata.model | sort: {{k}} desc",
        "SELECT metadata.model, lower(input.question), count(1) AS n"
        " FROM project_logs('{p}') GROUP BY 1, 2 PIVOT (count(1) AS n FOR model IN (ANY))"
        " ORDER BY {k} DESC",
    )
    for query in queries:
        response = run(app_client, project, query.replace("{k}", "1"))
        assert response.status_code == 200, response.text
        assert [row["expr_1"] for row in response.json()["data"]] == ["q3", "q2", "q1"]
        response = run(app_client, project, query.replace("{k}", "2"))
        assert response.status_code == 400, response.text
        assert "a pivot is sorted by its dimensions" in response.json()["error"]["message"]


def test_sort_by_an_expr_name(app_client, project):
    on_page("(`select: id, len(tags) | sort: expr_2 desc`, SQL's `ORDER BY expr_2 DESC`)")
    for query in (
        f"select: id, len(tags) | {FROM} | sort: expr_2 desc",
        "SELECT id, len(tags) FROM project_logs('{p}') ORDER BY expr_2 DESC",
    ):
        response = run(app_client, project, query)
        assert response.status_code == 200, response.text
        assert [r["id"] for r in response.json()["data"]] == ["r1", "r2", "r3"]


# (the page's text, a query, words of the 400's message)
ERRORS = [
    (
        "`tags = 'x'`: write `tags INCLUDES 'x'`",
        f"select: id | {FROM} | filter: tags = 'x'",
        "cannot compare array with string",
    ),
    (
        "`cannot compare timestamp with boolean`",
        f"select: id | {FROM} | filter: created = true",
        "cannot compare timestamp with boolean",
    ),
    (
        "`least() cannot mix an array and a timestamp`",
        f"select: least(tags, created) | {FROM}",
        "least() cannot mix an array and a timestamp",
    ),
    (
        "`invalid number 'abc'`",
        f"select: id | {FROM} | filter: metrics.tokens + 1 > 'abc'",
        "invalid number 'abc'",
    ),
    (
        "`invalid timestamp 'not a date'`",
        f"select: id | {FROM} | filter: created > 'not a date'",
        "invalid timestamp 'not a date'",
    ),
    (
        "`invalid boolean 'maybe'`",
        f"select: id | {FROM} | filter: is_root = 'maybe'",
        "invalid boolean 'maybe'",
    ),
    (
        "(`x BETWEEN 3 AND 5` is a 400 that says so, at `BETWEEN`)",
        f"select: id | {FROM} | filter: metrics.tokens BETWEEN 3 AND 5",
        "BETWEEN",
    ),
    (
        "`1 < x < 3` is a 400 at the second `<`",
        f"select: id | {FROM} | filter: 1 < metrics.tokens < 3",
        "<",
    ),
    (
        "(SQL's `a \\|\\| b` is a 400 that names `concat(a, b)`)",
        "SELECT id || 'x' FROM project_logs('{p}')",
        "write concat(a, b)",
    ),
    (
        "(SQL's `CAST(x AS int)` and `x::int` are errors naming the function to write:"
        " `to_integer(x)`)",
        "SELECT CAST(id AS int) FROM project_logs('{p}')",
        "to_integer(",
    ),
    (
        "(SQL's `CAST(x AS int)` and `x::int` are errors",
        "SELECT id::int FROM project_logs('{p}')",
        "to_integer(",
    ),
    (
        "SQL's `IS [NOT] DISTINCT FROM` is an error naming them",
        "SELECT id FROM project_logs('{p}') WHERE id IS DISTINCT FROM 'x'",
        "<!=>",
    ),
    (
        "(SQL's `ESCAPE '!'` is a 400 that says so)",
        "SELECT id FROM project_logs('{p}') WHERE id LIKE 'a!%' ESCAPE '!'",
        "ESCAPE",
    ),
    (
        "`/* … */` block comments are an error that says so",
        f"select: id /* c */ | {FROM}",
        "comment",
    ),
    (
        "`FILTER (WHERE …)` (write `count(x ? 1 : null)`)",
        "SELECT count(1) FILTER (WHERE is_root) FROM project_logs('{p}')",
        "FILTER",
    ),
    (
        "`FETCH FIRST n ROWS ONLY` (write `LIMIT n`)",
        "SELECT id FROM project_logs('{p}') FETCH FIRST 1 ROWS ONLY",
        "LIMIT",
    ),
    (
        "(a numeric OFFSET is an error)",
        "SELECT id FROM project_logs('{p}') LIMIT 1 OFFSET 1",
        "OFFSET",
    ),
    (
        "(`interval 99999999999 day` is an error, at the literal)",
        f"select: interval 99999999999 day | {FROM}",
        "290,000 years",
    ),
    (
        "`interval '99999999 years' is out of range (at most 290,000 years)`",
        f"select: to_interval('99999999 years') | {FROM}",
        "interval '99999999 years' is out of range (at most 290,000 years)",
    ),
    (
        "(`timestamp '+300000-01-01' is out of range (290,309 BC to 294,247 AD)`)",
        f"select: id | {FROM} | filter: created < '+300000-01-01'",
        "timestamp '+300000-01-01' is out of range (290,309 BC to 294,247 AD)",
    ),
    (
        "`1e400`, or an integer of more than 308 digits, is an error",
        f"select: 1e400 | {FROM}",
        "1e400",
    ),
    (
        "(`tags IN (['a', 'b'])`: write `tags IN ('a', 'b')` or `tags IN ['a', 'b']`)",
        f"select: id | {FROM} | filter: tags IN (['a', 'b'])",
        "IN",
    ),
    (
        "(`input MATCH metadata.word` is an error)",
        f"select: id | {FROM} | filter: input MATCH metadata.word",
        "MATCH",
    ),
    (
        "(a 400 at the call)",
        f"measures: min(distinct metrics.tokens) | {FROM}",
        "min() does not take DISTINCT",
    ),
    ("(`as (k, k)` is an error)", f"select: id | {FROM} | unpivot: scores as (k, k)", "k"),
    (
        "`tags LIKE 1` is an error",
        f"select: id | {FROM} | filter: tags LIKE 1",
        "LIKE needs a string pattern",
    ),
    (
        "`id + 1` and `avg(id)` are errors",
        f"select: id + 1 | {FROM}",
        "'+' needs a number, not a string",
    ),
    (
        "`id + 1` and `avg(id)` are errors",
        f"measures: avg(id) | {FROM}",
        "avg() needs a number, not a string",
    ),
    (
        "`created + 1` (write `created + interval 1 second`)",
        f"select: created + 1 | {FROM}",
        "interval",
    ),
    (
        "`'a' ? 1 : 2`",
        f"select: 'a' ? 1 : 2 | {FROM}",
        "a condition must be a boolean, not a string",
    ),
    (
        "(`a condition must be a boolean, not a string at 3:9`",
        f"select: id\n{FROM}\nfilter: id",
        "a condition must be a boolean, not a string at 3:9",
    ),
    (
        "`invalid number 'abc' at 1:20`",
        "select: 12345678 + 'abc' | " + FROM,
        "invalid number 'abc' at 1:20",
    ),
    (
        "(`expected an expression after 'and', found end of input at 1:56`)",
        f"select: id | {FROM} | filter: is_root and",
        "expected an expression after 'and', found end of input",
    ),
    (
        "`experiment 'zz' not found at 1:30`",
        "select: * | from: experiment('zz')",
        "experiment 'zz' not found at 1:30",
    ),
    (
        "`ANY_SPAN(ANY_SPAN(a) AND ANY_SPAN(b))` are errors",
        f"select: id | {FROM} traces | filter: ANY_SPAN(ANY_SPAN(is_root) AND ANY_SPAN(is_root))",
        "ANY_SPAN",
    ),
    (
        "in `select`, `sort` or `final_filter` they are an error",
        f"select: ANY_SPAN(is_root) | {FROM}",
        "ANY_SPAN",
    ),
    (
        "Prompts, functions and views are not stored by tracelake and are an error",
        "select: * | from: prompt('x')",
        "prompt",
    ),
]


@pytest.mark.parametrize(("snippet", "query", "message"), ERRORS, ids=[e[1] for e in ERRORS])
def test_an_error_the_page_gives(app_client, project, snippet, query, message):
    on_page(snippet)
    response = run(app_client, project, query)
    assert response.status_code in (400, 404), response.text
    assert message in response.json()["error"]["message"]


def test_a_limit_beyond_64_bits_in_the_json_ast(app_client, project):
    on_page('`"limit": 1e21` is `limit must be at most 100000`, as in text')
    ast = {
        "select": [{"op": "star"}],
        "from": {
            "op": "function",
            "name": {"op": "ident", "name": ["project_logs"]},
            "args": [{"op": "literal", "value": "{p}"}],
        },
        "limit": 1e21,
    }
    response = run(app_client, project, ast)
    assert response.status_code == 400, response.text
    assert "limit must be at most 100000" in response.json()["error"]["message"]


def test_a_json_ast_nested_too_deep(app_client, project):
    on_page("(`select[0].expr.expr…: expression is nested more than 200 levels deep`)")
    expr: dict = {"op": "ident", "name": ["id"]}
    for _ in range(250):
        expr = {"op": "neg", "expr": expr}
    ast = {
        "select": [{"expr": expr, "alias": "v"}],
        "from": {
            "op": "function",
            "name": {"op": "ident", "name": ["project_logs"]},
            "args": [{"op": "literal", "value": "{p}"}],
        },
    }
    response = run(app_client, project, ast)
    assert response.status_code == 400, response.text
    message = response.json()["error"]["message"]
    assert (
        message.startswith("select[0].expr.expr")
        and "expression is nested more than 200 levels deep" in message
    )


def test_a_btql_snippet_in_a_json_ast_has_positions_inside_it(app_client, project):
    on_page("`filter.btql: unknown field 'nosuch' at 2:2`")
    ast = {
        "select": [{"op": "star"}],
        "from": {
            "op": "function",
            "name": {"op": "ident", "name": ["project_logs"]},
            "args": [{"op": "literal", "value": "{p}"}],
        },
        "filter": {"btql": "is_root and\n nosuch = 1"},
    }
    response = run(app_client, project, ast)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["message"] == "filter.btql: unknown field 'nosuch' at 2:2"


def test_a_negative_version(app_client, project):
    on_page("(`version must not be negative`)")
    response = run(app_client, project, f"select: id | {FROM}", version="-1")
    assert response.status_code == 400, response.text
    assert "version must not be negative" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    "options", [{"fmt": ""}, {"tz_offset": False}, {"audit_log": 1}, {"explain": "yes"}]
)
def test_request_options_of_the_wrong_kind(app_client, project, options):
    on_page('(`"fmt": ""`, `"tz_offset": false` are 400s)')
    on_page('(missing or `null` is false; `1` or `"yes"` is a 400)')
    response = run(app_client, project, f"select: id | {FROM}", **options)
    assert response.status_code == 400, response.text


def test_audit_log_on_summary(app_client, project):
    on_page("on `summary` it is a 400 at the source")
    response = run(app_client, project, f"select: * | {FROM} summary", audit_log=True)
    assert response.status_code == 400, response.text


def test_a_name_two_projects_have(app_client):
    on_page(
        "(`2 datasets are named 'golden', in projects 'A', 'B': use an id or "
        "project_dataset('A', 'golden')`)"
    )
    for name in ("A", "B"):
        pid = app_client.post("/v1/project", json={"name": name}).json()["id"]
        app_client.post("/v1/dataset", json={"project_id": pid, "name": "golden"})
    response = app_client.post("/btql", json={"query": "select: id | from: dataset('golden')"})
    assert response.status_code == 400, response.text
    assert (
        "2 datasets are named 'golden', in projects 'A', 'B': use an id or "
        "project_dataset('A', 'golden')"
    ) in response.json()["error"]["message"]
    response = app_client.post(
        "/btql", json={"query": "select: id | from: project_dataset('A', 'golden')"}
    )
    assert response.status_code == 200, response.text


def test_limit_zero_is_an_empty_page_without_a_cursor(app_client, project):
    on_page("`limit: 0` answers an empty page with no cursor")
    response = run(app_client, project, f"select: id | {FROM} | limit: 0")
    assert response.status_code == 200, response.text
    assert response.json()["data"] == [] and response.json()["cursor"] is None


def test_the_clause_table_pairs_agree(app_client, project):
    """The BTQL and SQL of a row of the clause table give the same rows."""
    pairs = [
        (
            "`select: a, b as c, *`",
            f"select: id, input as c | {FROM} | sort: id",
            "SELECT id, input AS c FROM project_logs('{p}') ORDER BY id",
        ),
        (
            "`sort: a desc, b`",
            f"select: id | {FROM} | sort: metadata.model desc, id",
            "SELECT id FROM project_logs('{p}') ORDER BY metadata.model DESC, id",
        ),
        (
            "`final_filter: …`",
            f"dimensions: metadata.model as m | measures: count(1) as n | {FROM}"
            " | final_filter: n > 1",
            "SELECT metadata.model AS m, count(1) AS n FROM project_logs('{p}')"
            " GROUP BY 1 HAVING n > 1",
        ),
        (
            "`from: project_logs('p') traces`",
            f"select: id | {FROM} traces | sort: id",
            "SELECT id FROM project_logs('{p}', shape => 'traces') ORDER BY id",
        ),
        (
            "`unpivot: tags as tag`",
            f"select: id, tag | {FROM} | unpivot: tags as tag | sort: id, tag",
            None,
        ),
        (
            "`sample: 100`",
            f"select: id | {FROM} | sample: 100 | sort: id",
            "SELECT id FROM project_logs('{p}') TABLESAMPLE (100 ROWS) ORDER BY id",
        ),
    ]
    for snippet, btql, sql in pairs:
        on_page(snippet)
        first = run(app_client, project, btql)
        assert first.status_code == 200, (btql, first.text)
        if sql is not None:
            second = run(app_client, project, sql)
            assert second.status_code == 200, (sql, second.text)
            assert first.json()["data"] == second.json()["data"], (btql, sql)


def test_the_command_line_examples(tmp_path):
    """The page's `tracelake query` lines run on a data dir (no server)."""
    import subprocess
    import sys

    on_page("tracelake query \"select: id, scores | from: project_logs('my-project') | limit: 5\"")
    on_page("tracelake query \"SELECT * FROM dataset('qa')\" --format jsonl -o rows.jsonl")
    env_dir = tmp_path / "data"
    import os

    env = {
        **os.environ,
        "TRACELAKE_DATA_DIR": str(env_dir),
        "TRACELAKE_API_KEY": "tl-doc-examples-key-0123456789",
    }
    env.pop("TRACELAKE_URL", None)

    def tl(*args):
        return subprocess.run(
            [sys.executable, "-m", "tracelake", *args],
            env=env,
            capture_output=True,
            text=True,
            cwd=tmp_path,
        )

    cases = tmp_path / "qa.csv"
    cases.write_text("question,expected\nq1,a1\n")
    assert tl("import", str(cases), "--project", "my-project", "--dataset", "qa").returncode == 0
    done = tl("query", "select: id, scores | from: project_logs('my-project') | limit: 5")
    assert done.returncode == 0, done.stderr
    done = tl("query", "SELECT * FROM dataset('qa')", "--format", "jsonl", "-o", "rows.jsonl")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in (tmp_path / "rows.jsonl").read_text().splitlines()]
    assert [(r["input"], r["expected"]) for r in rows] == [("q1", "a1")]
    done = tl("query", "select: id | from: dataset('qa')", "--explain")
    assert done.returncode == 0 and "SELECT" in done.stdout.upper(), done.stderr
    on_page('tracelake query \'{"select": [{"op": "star"}], "from": …}\'')
    ast = {
        "select": [{"op": "star"}],
        "from": {
            "op": "function",
            "name": {"op": "ident", "name": ["dataset"]},
            "args": [{"op": "literal", "value": "qa"}],
        },
    }
    done = tl("query", json.dumps(ast), "--format", "json")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert {"data", "schema", "cursor"} <= set(answer) and len(answer["data"]) == 1
