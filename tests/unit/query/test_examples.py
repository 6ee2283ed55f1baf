"""Every example query from the BTQL reference page and btql.md §5 parses (or fails as
documented), round-trips through the JSON AST, and SQL/BTQL twins give the same tree."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tracelake.query.errors import QueryError
from tracelake.query.parsers import parse_expression, parse_query

from .trees import assert_round_trip, assert_same

FIXTURES = Path(__file__).parent / "fixtures" / "queries.txt"
PREFIX = {
    "sql-fragment": "SELECT * FROM project_logs('p')\n",
    "btql-fragment": "select: *\n",
}


def load_cases() -> dict[str, tuple[str, str, str | None]]:
    """id -> (kind, text, expected error) from the fixture file."""
    cases = {}
    for chunk in re.split(r"^## ", FIXTURES.read_text(), flags=re.M)[1:]:
        header, _, body = chunk.partition("\n")
        cid, kind, *expect = header.split(" ", 2)
        assert cid not in cases, f"duplicate fixture id {cid}"
        cases[cid] = (kind, body.strip("\n"), expect[0] if expect else None)
    return cases


CASES = load_cases()


def source(cid: str) -> str:
    kind, text, _ = CASES[cid]
    return PREFIX.get(kind.removesuffix("-error"), "") + text


@pytest.mark.parametrize("cid", list(CASES))
def test_example(cid):
    kind, _, expect = CASES[cid]
    text = source(cid)
    if kind.endswith("-error"):
        with pytest.raises(QueryError, match=re.escape(expect)):
            parse_query(text)
    elif kind == "expr":
        parse_expression(text)
    else:
        assert_round_trip(parse_query(text))


def test_fixture_file_covers_the_sources():
    ids = set(CASES)
    assert len(ids) > 250
    assert {f"S{i}" for i in (1, 11, 24, 44, 58, 72)} <= ids
    assert {"P01", "P39", "B1", "B30", "D10", "D12-2"} <= ids
    assert sum(kind.startswith("sql") for kind, _, _ in CASES.values()) > 80
    assert sum(kind.startswith("btql") for kind, _, _ in CASES.values()) > 90


LAST_WEEK = "\nfilter: created > now() - interval 7 day"

# (sql fixture, btql fixture, text appended to the BTQL so both say the same thing)
TWINS = [
    ("B9-2", "B9", ""),
    ("S46", "P27", ""),
    ("D4-3", "D4-4", ""),
    ("D4-5", "D4-6", ""),
    ("S2", "P02", LAST_WEEK),
    ("S3", "P03", LAST_WEEK),
    ("S4", "P04", LAST_WEEK),
    ("S5", "P05", LAST_WEEK),
    ("S9", "P07", ""),
    ("S19", "P10", ""),
    ("S20", "P11", ""),
    ("S43", "P24", LAST_WEEK),
    ("S44", "P25", LAST_WEEK),
    ("S45", "P26", LAST_WEEK),
    ("S48", "P28", "\nfrom: project_logs('<PROJECT_ID>')"),
    ("S49", "P29", ""),
    ("S50", "P30", ""),
    ("S51", "P31", "\nfrom: project_logs('<PROJECT_ID>')"),
    ("S52", "P32", "\nfrom: project_logs('<PROJECT_ID>')"),
    ("S53", "P33", ""),
    ("S54", "P34", "\nfrom: project_logs('<PROJECT_ID>')"),
    ("S55", "P35", ""),
    ("S56", "P36", "\nfrom: project_logs('<PROJECT_ID>')"),
    ("S40-2", "B31-2", LAST_WEEK),
]


@pytest.mark.parametrize(
    ("sql_id", "btql_id", "extra"), TWINS, ids=[f"{s}={b}" for s, b, _ in TWINS]
)
def test_twins_from_the_docs(sql_id, btql_id, extra):
    assert_same(source(btql_id) + extra, sql=source(sql_id))


def test_different_queries_give_different_trees():
    # S47 buckets with date_trunc('day', created) where P27 uses day(created).
    assert parse_query(source("S47")) != parse_query(source("P27"))


def test_btql_select_with_dimension_ordinals_equals_dimensions_and_measures():
    assert_same(
        source("S58"),
        sql=None,
        tree=parse_query(source("P38") + "\nfrom: project_logs('<PROJECT_ID>')"),
    )


SAME = [
    (  # HAVING = final_filter
        "dimensions: metadata.model as model | measures: avg(scores.Factuality) as avg_score, "
        "count(1) as total_calls | from: project_logs('my-project-id') | filter: created > now() - "
        "interval 7 day | final_filter: avg(scores.Factuality) > 0.8 and count(1) > 100 | sort: "
        "avg_score desc",
        source("S6"),
    ),
    (
        "from: project_logs('my-project-id') summary | dimensions: metadata.model as model, "
        "day(created) as date | measures: count(1) as trace_count, avg(scores.Factuality) as "
        "avg_score, avg(estimated_cost()) as avg_cost" + LAST_WEEK + "\nsort: date desc",
        source("S11"),
    ),
    (  # UNPIVOT object -> (key, value)
        "select: id, score, value | from: project_logs('my-project-id') | unpivot: scores as "
        "(score, value)" + LAST_WEEK,
        source("S29"),
    ),
    (  # UNPIVOT array -> name
        "select: id, tag | from: project_logs('my-project-id') | unpivot: tags as tag" + LAST_WEEK,
        source("S30"),
    ),
    (
        "dimensions: classification.id | measures: COUNT(1) AS count | from: "
        "project_logs('my-project-id') | unpivot: classifications.Issues as classification | "
        "filter: created >= NOW() - INTERVAL 3 DAY",
        source("S31"),
    ),
    (  # PIVOT aggregates are measures, the FOR column is the pivot
        "measures: sum(value) as total | pivot: score | unpivot: scores as (score, value) | "
        "from: project_logs('my-project-id')" + LAST_WEEK,
        source("S26"),
    ),
    (
        "dimensions: score | measures: AVG(value) AS avg_value, COUNT(1) AS count | from: "
        "project_logs('my-project-id') | unpivot: scores as (score, value)"
        + LAST_WEEK
        + "\nsort: avg_value DESC",
        source("S33"),
    ),
    (
        "dimensions: error.type as error_type, metadata.model as model | measures: count(1) as "
        "trace_count, avg(estimated_cost()) as avg_cost | from: project_logs('<PROJECT_ID>') "
        "traces | filter: ANY_SPAN(error IS NOT NULL) and any_span(span_attributes.type = 'llm') "
        "and created > now() - interval 7 day | sort: trace_count desc",
        source("S62"),
    ),
    (
        "dimensions: classifications.Task[0].label as topic | measures: count(*) as occurrences, "
        "avg(classifications.Task[0].metadata.distance) as avg_distance | from: "
        "project_logs('my-project-id') traces | filter: classifications.Task IS NOT NULL and "
        "created > now() - interval 7 day | final_filter: count(*) > 10 | sort: occurrences desc",
        source("S72"),
    ),
    (  # cursor = OFFSET '<token>'
        "select: * | from: project_logs('<PROJECT_ID>') | filter: created > now() - interval 7 "
        "day | sort: _pagination_key DESC | limit: 100 | cursor: '<CURSOR_TOKEN>'",
        source("S37-2"),
    ),
    (
        "measures: count(distinct root_span_id) as traces | from: project_logs('<id>') spans | "
        "filter: created >= '<iso>' and created <= '<iso>'",
        source("T2-1"),
    ),
    (  # legacy MATCH ... AGAINST
        "select: * | from: project_logs('p') | filter: input MATCH 'search term'",
        source("B34"),
    ),
    (  # IN lists: [..] in BTQL, (..) in SQL, double or single quotes in value position
        "select: * | from: project_logs('p') | filter: classifications.Task.label IN "
        '["Dataset creation", "API errors"]',
        "SELECT * FROM project_logs('p') WHERE classifications.Task.label IN "
        "('Dataset creation', 'API errors')",
    ),
    (
        "select: * | filter: a ? 1 : b ? 2 : 3",
        "SELECT * WHERE CASE WHEN a THEN 1 WHEN b THEN 2 ELSE 3 END",
    ),
    ("select: * | sample: 25% seed 3", "SELECT * TABLESAMPLE (25 PERCENT) REPEATABLE (3)"),
]


@pytest.mark.parametrize(("btql", "sql"), SAME, ids=[f"same{i}" for i in range(len(SAME))])
def test_same_meaning(btql, sql):
    assert_same(btql, sql=sql)
