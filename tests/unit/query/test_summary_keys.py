"""The keys of the summary's aggregated objects (``scores``, ``metrics``, ``span_type_info``)
that the ranking over every trace computes: only those a query reads through a path with a
known first key; a column read whole (or through a path that does not start with a key)
is computed whole. The rows a page returns are always built whole."""

from __future__ import annotations

import pytest

from tracelake.model.objects import ObjectRef, ObjectType
from tracelake.query import planner
from tracelake.query.parsers import parse_query
from tracelake.query.planner import _first_key, _keys_read, plan_query
from tracelake.query.sources import ResolvedSource

LOGS = "from: project_logs('p') summary"
SQL_LOGS = "FROM project_logs('p', shape => 'summary')"


def _calls(text: str, shape: str = "summary", monkeypatch=None) -> list[tuple]:
    """The (columns, keys) of each summary relation the plan of ``text`` builds."""
    if not any(c in text for c in ("select:", "dimensions:", "measures:", "SELECT")):
        text = f"select: id | {text}"
    calls = []
    real = planner.summary_relation

    def recording(spans, object_type, columns=None, keys=None, whole=None):
        calls.append((columns, keys))
        return real(spans, object_type, columns, keys, whole)

    monkeypatch.setattr(planner, "summary_relation", recording)
    source = ResolvedSource(
        ObjectType.PROJECT_LOGS, (ObjectRef(ObjectType.PROJECT_LOGS, "p"),), shape
    )
    plan_query(parse_query(text), source, org_id="o")
    return calls


def ranking_keys(text: str, monkeypatch, shape: str = "summary") -> dict:
    """The keys of the ranking (the summary relation over every trace, which has
    ``columns``); the page's own rows (no ``columns``) are checked to be whole."""
    calls = _calls(text, shape, monkeypatch)
    ranking = [keys for columns, keys in calls if columns is not None]
    assert len(ranking) == 1, calls
    assert all(keys is None for columns, keys in calls if columns is None)
    return {name: set(found) for name, found in ranking[0].items()}


@pytest.mark.parametrize(
    ("clauses", "expected"),
    [
        # sort
        ("sort: scores.Factuality asc", {"scores": {"Factuality"}}),
        ("sort: metrics.total_tokens desc", {"metrics": {"total_tokens"}}),
        ("sort: span_type_info.span_count desc", {"span_type_info": {"span_count"}}),
        (
            "sort: scores.Factuality, metrics.end desc",
            {"scores": {"Factuality"}, "metrics": {"end"}},
        ),
        ("sort: scores.a.b[0]", {"scores": {"a"}}),  # a deeper path: its first key
        ("sort: created desc", {}),
        # final_filter
        ("final_filter: metrics.total_tokens > 100", {"metrics": {"total_tokens"}}),
        (
            "final_filter: scores.A > 0.5 AND (scores.B < 0.2 OR scores.A IS NULL)",
            {"scores": {"A", "B"}},
        ),
        ("final_filter: span_type_info.has_error", {"span_type_info": {"has_error"}}),
        ("final_filter: span_type_info.name = 'root'", {"span_type_info": {"name"}}),
        ("final_filter: metrics.unknown_key > 1", {"metrics": {"unknown_key"}}),
        ("final_filter: scores.X ILIKE '%a%'", {"scores": {"X"}}),  # the lean string reads
        ("final_filter: estimated_cost() > 0.01", {"metrics": {"estimated_cost"}}),
        # group-by, having, aggregates
        ("dimensions: metrics.errors as e | measures: count(1) as n", {"metrics": {"errors"}}),
        (
            "dimensions: span_type_info.has_error as value | measures: count(1) as n"
            " | sort: n desc | limit: 11",
            {"span_type_info": {"has_error"}},
        ),
        (
            "dimensions: metrics.llm_calls as c"
            " | measures: avg(scores.Factuality) as f, max(metrics.end) as e"
            " | final_filter: avg(scores.helpfulness) > 0.5",
            {"metrics": {"llm_calls", "end"}, "scores": {"Factuality", "helpfulness"}},
        ),
        ("measures: count(1) as n", {}),
        # aliases, implicit names and ordinals are resolved before the walk
        ("select: scores.X as x | sort: x", {"scores": {"X"}}),
        ("select: scores as s | sort: s.X", {"scores": {"X"}}),
        ("select: id, scores.Factuality | sort: Factuality", {"scores": {"Factuality"}}),
        ("select: id, metrics.end | sort: 2 desc", {"metrics": {"end"}}),
        # the select list of a ranked page is read for the page's rows only
        ("select: scores, metrics | sort: scores.X", {"scores": {"X"}}),
        ("select: * | final_filter: metrics.end > 5", {"metrics": {"end"}}),
        # quoted keys: dots, quotes, backslashes, spaces, the keys * and ""
        ('sort: scores."a.b"', {"scores": {"a.b"}}),
        ("sort: scores['x y']", {"scores": {"x y"}}),
        ('sort: scores."say ""hi"""', {"scores": {'say "hi"'}}),
        ('sort: scores."a\\b"', {"scores": {"a\\b"}}),
        ('sort: scores."*"', {"scores": {"*"}}),
        ('sort: scores.""', {"scores": {""}}),
        ('sort: scores."*".x, scores."".y', {"scores": {"*", ""}}),
        ("sort: scores.Ünïcödé", {"scores": {"Ünïcödé"}}),
    ],
)
def test_keys_read_by_a_ranking(clauses, expected, monkeypatch):
    assert ranking_keys(f"{LOGS} | {clauses}", monkeypatch) == expected


@pytest.mark.parametrize(
    "clauses",
    [
        "sort: scores",
        "sort: scores.X, scores",  # one bare use is enough
        "final_filter: scores IS NOT NULL",
        "final_filter: len(scores) > 1",
        "final_filter: scores INCLUDES 1",
        "final_filter: to_string(scores) LIKE '%x%'",
        "final_filter: json_extract(scores, 'X') > 0.5",  # a key through a function
        "sort: scores[0]",  # a path that starts with an index
        "dimensions: scores as s | measures: count(1) as n",
        "dimensions: metrics.llm_calls as c | measures: count(scores) as n",
    ],
)
def test_a_column_read_whole_is_computed_whole(clauses, monkeypatch):
    keys = ranking_keys(f"{LOGS} | {clauses}", monkeypatch)
    assert "scores" not in keys


def test_whole_and_narrowed_columns_side_by_side(monkeypatch):
    keys = ranking_keys(
        f"{LOGS} | final_filter: metrics.end > 1 AND span_type_info IS NOT NULL | sort: scores.X",
        monkeypatch,
    )
    assert keys == {"metrics": {"end"}, "scores": {"X"}}


def test_sql_clauses(monkeypatch):
    keys = ranking_keys(
        f"SELECT * {SQL_LOGS} WHERE metadata.model = 'x' ORDER BY scores['Factuality'] DESC",
        monkeypatch,
    )
    assert keys == {"scores": {"Factuality"}}
    keys = ranking_keys(
        f"SELECT metrics.errors AS e, count(*) AS n {SQL_LOGS} GROUP BY 1"
        ' HAVING avg(scores."a.b") > 0.5',
        monkeypatch,
    )
    assert keys == {"metrics": {"errors"}, "scores": {"a.b"}}


def test_the_filter_on_spans_is_not_a_summary_read(monkeypatch):
    # filter: reads the spans (which traces are selected), not the summary rows
    keys = ranking_keys(f"{LOGS} | filter: scores IS NOT NULL | sort: scores.X", monkeypatch)
    assert keys == {"scores": {"X"}}


def test_a_newest_first_page_builds_whole_rows_only(monkeypatch):
    calls = _calls(f"select: * | {LOGS} | limit: 5", "summary", monkeypatch)
    assert calls == [(None, None)]


def test_final_filter_on_the_traces_shape(monkeypatch):
    text = "from: project_logs('p') traces | final_filter: scores.Factuality > 0.5"
    calls = _calls(text, "traces", monkeypatch)
    assert [keys for _, keys in calls] == [{"scores": frozenset({"Factuality"})}]
    calls = _calls(
        "from: project_logs('p') traces | final_filter: len(scores) > 0", "traces", monkeypatch
    )
    assert [keys for _, keys in calls] == [{}]


def test_first_key_of_the_compiled_reads():
    from sqlglot import exp

    def read(call: str, path) -> exp.Expression:
        column = exp.column("scores", "e")
        exp.Anonymous(this=call, expressions=[column, path])
        return column

    s = exp.Literal.string
    assert _first_key(read("json_extract", s('$."a\\"b\\\\c".d[0]'))) == 'a"b\\c'
    assert _first_key(read("json_extract_string", s('$."x"'))) == "x"
    assert _first_key(read("JSON_TYPE", s('$."x"'))) == "x"
    assert _first_key(read("json_extract", s("/*"))) == "*"
    assert _first_key(read("json_extract", s("/"))) == ""
    assert _first_key(read("json_extract", s("$[0]"))) is None
    assert _first_key(read("json_extract", s("$.*"))) is None
    assert _first_key(read("json_extract", s('$."unterminated'))) is None
    assert _first_key(read("json_extract", s("/a/b"))) is None
    assert _first_key(read("json_keys", s('$."x"'))) is None
    assert _first_key(read("json_extract", exp.column("k"))) is None
    column = exp.column("scores", "e")
    exp.Anonymous(this="json_extract", expressions=[exp.Literal.string("{}"), column])
    assert _first_key(column) is None  # the column is not the document read
    assert _keys_read([None, column]) == {}
