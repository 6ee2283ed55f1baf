"""POST /btql: error messages that named the wrong place or the wrong problem (a hunt for
error reporting). Positions are computed from the query text itself: the 1-based line and
column of the offending token."""

from __future__ import annotations

import uuid

import pytest


@pytest.fixture
def project(app_client):
    name = f"errors2-{uuid.uuid4().hex[:8]}"
    project_id = app_client.post("/v1/project", json={"name": name}).json()["id"]
    rows = [
        {"project_id": project_id, "log_id": "g", "id": f"s{n}", "metadata": {"n": n}}
        for n in range(3)
    ]
    assert app_client.post("/logs3", json={"rows": rows}).status_code == 200
    return project_id


def error_of(client, query, **extra) -> dict:
    response = client.post("/btql", json={"query": query, **extra})
    assert response.status_code == 400, response.text
    return response.json()["error"]


def position_of(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of ``text[index]``."""
    assert index >= 0
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def at(error: dict) -> tuple[int, int]:
    return error["line"], error["col"]


# --- IN-list items keep their positions ---------------------------------------------------------
# The list became one literal in the parser, so an item that did not convert was reported at
# the list's '(' (or '[').

IN_ITEMS = [
    ("created IN ('2026-01-01', 'nope')", "'nope'", "invalid timestamp 'nope'"),
    ("created NOT IN ['2026-01-01',\n\t'2026-01-02', \"nope\"]", '"nope"', "invalid timestamp"),
    ("is_root IN (true, 'maybe')", "'maybe'", "invalid boolean 'maybe'"),
    ("_xact_id IN (1, 2, 'abc')", "'abc'", "invalid number 'abc'"),
    ("created IN ('2026-01-01', true)", "true", "cannot compare timestamp with boolean"),
    ("metadata.n = 1 and\n  created IN ('é', 'x')", "'é'", "invalid timestamp 'é'"),
]


@pytest.mark.parametrize(("condition", "item", "message"), IN_ITEMS)
@pytest.mark.parametrize("syntax", ["btql", "sql"])
def test_an_in_list_item_that_does_not_convert_is_an_error_at_the_item(
    app_client, project, condition, item, message, syntax
):
    if syntax == "btql":
        text = f"select: id | from: project_logs('{project}')\nfilter: {condition}"
    else:
        text = f"SELECT id FROM project_logs('{project}')\nWHERE {condition}"
    error = error_of(app_client, text)
    assert error["message"].startswith(message), error["message"]
    assert at(error) == position_of(text, text.index(condition) + condition.index(item))


def json_query(project: str, **clauses) -> dict:
    return {
        "select": [{"expr": {"btql": "id"}, "alias": "id"}],
        "from": {"op": "function", "name": {"op": "ident", "name": ["project_logs"]},
                 "args": [{"op": "literal", "value": project}]},
        **clauses,
    }  # fmt: skip


def test_an_in_list_item_of_a_json_snippet_is_an_error_at_the_item(app_client, project):
    snippet = "created IN ('2026-01-01', 'nope')"
    query = json_query(project, filter={"btql": snippet})
    error = error_of(app_client, query)
    assert error["message"].startswith("filter.btql: invalid timestamp 'nope' at ")
    assert at(error) == position_of(snippet, snippet.index("'nope'"))


def test_valid_in_lists_still_answer(app_client, project):
    text = f"select: id | from: project_logs('{project}') | filter: metadata.n IN (0, 2, 'x')"
    response = app_client.post("/btql", json={"query": text})
    assert response.status_code == 200, response.text
    assert sorted(r["id"] for r in response.json()["data"]) == ["s0", "s2"]


# --- JSON AST: an error found after parsing names the snippet its position is in -------------
# Parse errors inside {"btql": …} said "filter.btql: …", but errors found later (an unknown
# field, a wrong type) gave a bare line:column that could be any snippet's, or none.

SNIPPET_ERRORS = [
    # (clause, snippet, the offending text, message)
    ("filter", "metadata.n > 1 and\n nosuch = 1", "nosuch", "unknown field 'nosuch'"),
    ("select", "concat(lower(id),\n\tupper(nosuch))", "nosuch", "unknown field 'nosuch'"),
    ("select", "id + 1", "id", "'+' needs a number, not a string"),
    ("sort", "créé", "créé", "unknown field 'créé'"),
    ("final_filter", "\tid", "id", "a condition must be a boolean, not a string"),
    ("from", "5", "5", "project_logs() takes object ids or names as strings"),
]


def _clause(project: str, clause: str, snippet: str) -> tuple[dict, str]:
    """A JSON AST query with ``snippet`` in ``clause``, and the snippet's path."""
    node = {"btql": snippet}
    if clause == "filter":
        return json_query(project, filter=node), "filter.btql"
    if clause == "final_filter":
        return json_query(project, final_filter=node), "final_filter.btql"
    if clause == "select":
        select = [{"expr": {"btql": "id"}, "alias": "id"}, {"expr": node, "alias": "x"}]
        return json_query(project, select=select), "select[1].expr.btql"
    if clause == "sort":
        return json_query(project, sort=[{"expr": node, "dir": "desc"}]), "sort[0].expr.btql"
    query = json_query(project)
    query["from"]["args"] = [node]
    return query, "from.args[0].btql"


@pytest.mark.parametrize(("clause", "snippet", "offending", "message"), SNIPPET_ERRORS)
def test_an_error_in_a_json_snippet_names_the_snippet(
    app_client, project, clause, snippet, offending, message
):
    query, path = _clause(project, clause, snippet)
    error = error_of(app_client, query)
    assert error["message"].startswith(f"{path}: {message}"), error["message"]
    line, col = position_of(snippet, snippet.index(offending))
    assert at(error) == (line, col)
    assert error["message"].endswith(f" at {line}:{col}")


def test_a_json_snippet_error_without_a_position_is_unchanged(app_client, project):
    # (a JSON node without a snippet has no position, and its errors name no snippet)
    query = json_query(project, filter={"op": "ident", "name": ["nosuch"]})
    error = error_of(app_client, query)
    assert error["message"] == "unknown field 'nosuch'"
    assert "line" not in error


# --- a named argument that is not taken: at its name ------------------------------------------
# The error pointed at the function (project_logs, count) rather than at the argument.

NAMED_ARGUMENTS = [
    # (query, the argument's name, message)
    (
        "SELECT id FROM project_logs('{p}', foo => 'traces')",
        "foo",
        "unknown data source argument 'foo'",
    ),
    (
        "select: id\nfrom: project_logs('{p}',\n\tshape => 'spans', Foo => 1)",
        "Foo",
        "unknown data source argument 'foo'",
    ),
    (
        "SELECT count(1, foo => 2) AS n FROM project_logs('{p}')",
        "foo",
        "count() takes no argument named 'foo'",
    ),
    (
        "dimensions: id | measures: sum(metadata.n,\n  wéight => 2) as s"
        " | from: project_logs('{p}')",
        "wéight",
        "sum() takes no argument named 'wéight'",
    ),
]


@pytest.mark.parametrize(("template", "name", "message"), NAMED_ARGUMENTS)
def test_an_unknown_named_argument_is_an_error_at_its_name(
    app_client, project, template, name, message
):
    text = template.format(p=project)
    error = error_of(app_client, text)
    assert error["message"].startswith(message), error["message"]
    assert at(error) == position_of(text, text.index(f"{name} =>"))


# --- request options -----------------------------------------------------------------------
# "version": "-1" read as a snapshot name: "version as a snapshot name works only for a query
# on one dataset" (or, on a dataset, "no snapshot named '-1'"), not as the invalid version it is.


@pytest.fixture
def dataset(app_client, project):
    ds = app_client.post("/v1/dataset", json={"project_id": project, "name": "d"}).json()["id"]
    app_client.post(f"/v1/dataset/{ds}/insert", json={"events": [{"id": "a", "input": 1}]})
    return ds


@pytest.mark.parametrize(
    ("version", "message"),
    [
        ("-1", "version must not be negative, got '-1'"),
        (" -12 ", "version must not be negative, got ' -12 '"),
        ("1.5", "version must be a decimal transaction id, got '1.5'"),
        ("+7", "version must be a decimal transaction id, got '+7'"),
        (-1, "version must not be negative"),
    ],
)
@pytest.mark.parametrize("source", ["project_logs", "dataset"])
def test_a_number_that_is_not_a_version_is_reported_as_a_version(
    app_client, project, dataset, version, message, source
):
    name = project if source == "project_logs" else dataset
    text = f"select: id | from: {source}('{name}')"
    error = error_of(app_client, text, version=version)
    assert error["message"] == message


def test_a_snapshot_may_still_be_named_like_a_negative_number(app_client, dataset):
    answer = app_client.post(f"/v1/dataset/{dataset}/snapshots", json={"name": "-1"})
    assert answer.status_code == 200, answer.text
    app_client.post(f"/v1/dataset/{dataset}/insert", json={"events": [{"id": "b", "input": 2}]})
    text = f"select: id | from: dataset('{dataset}')"
    answer = app_client.post("/btql", json={"query": text, "version": "-1"})
    assert answer.status_code == 200, answer.text
    assert [r["id"] for r in answer.json()["data"]] == ["a"]
    error = error_of(app_client, text, version="golden")
    assert error["message"] == "the dataset has no snapshot named 'golden'"


# --- a query without a source: the hint is in the query's own syntax ------------------------
# SQL without FROM was told "e.g. from: project_logs(…)", BTQL's clause syntax. The error is
# at the word where FROM belongs (SQL) or at the first clause (clause text); it had no place.


@pytest.mark.parametrize(
    ("query", "message", "where"),
    [
        ("SELECT id", "the query needs a FROM clause, e.g. SELECT … FROM project_logs(", (1, 10)),
        (
            "select id\nwhere metadata.n > 1",
            "the query needs a FROM clause, e.g. SELECT … FROM",
            (2, 1),
        ),
        ("select: id", "the query needs a from clause, e.g. from: project_logs(", (1, 1)),
        ("\n  filter: true\nselect: id", "the query needs a from clause, e.g. from:", (2, 3)),
        (
            {"select": [{"op": "star"}]},
            'the query needs a "from" key, e.g. "from": {"op": "func',
            (None, None),
        ),
    ],
)
def test_a_missing_source_is_hinted_in_the_querys_syntax(app_client, query, message, where):
    error = error_of(app_client, query)
    assert error["message"].startswith(message), error["message"]
    assert (error.get("line"), error.get("col")) == where


# --- constructs BTQL lacks -------------------------------------------------------------------
# BETWEEN was "unexpected 'BETWEEN' at the end of the query" (SQL) or "in the filter clause"
# (BTQL): the message now names the construct, what to write instead, at BETWEEN.


@pytest.mark.parametrize("syntax", ["btql", "sql"])
def test_between_says_btql_has_none_and_what_to_write(app_client, project, syntax):
    condition = "metadata.n = 'é' or\n\tmetadata.n BETWEEN 1 AND 2"
    if syntax == "btql":
        text = f"select: id | from: project_logs('{project}')\nfilter: {condition}"
    else:
        text = f"SELECT id FROM project_logs('{project}')\nWHERE {condition}"
    error = error_of(app_client, text)
    assert error["message"].startswith(
        "BTQL has no BETWEEN: write metadata.n >= 1 AND metadata.n <= 2 at "
    )
    assert at(error) == position_of(text, text.index("BETWEEN"))


# /* … */ was "expected an expression after '/', found '*'"; CAST(x AS int) "expected ',' or
# ')' after 'x', found 'AS'"; x::int "unexpected ':' at the end of the query".
LACKING = [
    # (a select item, where the error points, the start of the message)
    ("id /* the id */", "/*", "block comments (/* … */) are not supported; start a comment"),
    ("CAST(metadata.n AS int)", "CAST", "CAST(… AS int) is not supported; write to_integer(meta"),
    ("metadata.n::int", "::", "the cast '::int' is not supported; write to_integer(metadata.n)"),
]  # fmt: skip


@pytest.mark.parametrize(("item", "where", "message"), LACKING)
@pytest.mark.parametrize("syntax", ["btql", "sql"])
def test_a_construct_btql_lacks_is_named_with_what_to_use(
    app_client, project, item, where, message, syntax
):
    if syntax == "btql":
        text = f"select: id,\n\t{item} | from: project_logs('{project}')"
    else:
        text = f"SELECT id,\n\t{item}\nFROM project_logs('{project}')"
    error = error_of(app_client, text)
    assert error["message"].startswith(message), error["message"]
    assert at(error) == position_of(text, text.index(where))


# --- a negative sample seed -----------------------------------------------------------------
# The JSON AST took "seed": -1 while BTQL's "sample: 10 seed -1" was a syntax error.


def test_a_negative_seed_samples_the_same_rows_in_every_syntax(app_client, project):
    source = f"project_logs('{project}')"
    btql = f"select: id | from: {source} | sample: 2 seed -1"
    sql = f"SELECT id FROM {source} TABLESAMPLE (2 ROWS) REPEATABLE (-1)"
    answers = [app_client.post("/btql", json={"query": q}) for q in (btql, sql)]
    query = json_query(project, sample={"method": {"type": "count", "value": 2}, "seed": -1})
    answers.append(app_client.post("/btql", json={"query": query}))
    assert [a.status_code for a in answers] == [200, 200, 200], [a.text for a in answers]
    ids = [sorted(r["id"] for r in a.json()["data"]) for a in answers]
    assert len(ids[0]) == 2 and ids[0] == ids[1] == ids[2]


def test_a_dimension_beside_a_measure_of_its_short_name_answers(app_client, project):
    source = f"project_logs('{project}')"
    btql = f"dimensions: metadata.n | measures: count(1) as n | from: {source} | sort: 1"
    sql = f"SELECT metadata.n, count(1) AS n FROM {source} GROUP BY 1 ORDER BY 1"
    answers = [app_client.post("/btql", json={"query": q}) for q in (btql, sql)]
    assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
    expected = [{"metadata.n": n, "n": 1} for n in range(3)]
    assert [a.json()["data"] for a in answers] == [expected, expected]


# -- unpivot names ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("unpivot", "at_item"),
    [
        ("metadata as (k, k)", "metadata"),
        ("metadata as (k, v), tags as k", "tags"),
        ("tags as t, metadata as (t, v)", "metadata"),
    ],
)
def test_an_unpivot_name_given_twice_is_an_error_at_the_item_that_repeats_it(
    app_client, project, unpivot, at_item
):
    # The later name hid the earlier: (k, k) answered the values as k, and no keys.
    query = f"select: * | from: project_logs('{project}') | unpivot: {unpivot}"
    error = error_of(app_client, query)
    assert "twice" in error["message"]
    assert at(error) == position_of(query, query.rindex(at_item))
