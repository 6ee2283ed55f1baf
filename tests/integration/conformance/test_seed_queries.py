"""Conformance: every query of the seed pages, run on the generated data set and checked
against answers computed in plain Python (oracle.py), never against our own output.

Pages: /work/shared/seeds/004_7798bc47fb7ebd81.txt (the BTQL reference, ids S004-NN in page
order) and /work/shared/seeds/000_616fd7c6374f0df5.txt (export, ids S000-NN; its curl examples
come in SQL and BTQL, which must agree with each other and with the oracle).

The query texts are the page's, verbatim, with only these changes:

* ids: ``'<PROJECT_ID>'``, ``'<YOUR_PROJECT_ID>'``, ``'my-project-id'``, ``'<DATASET_ID>'``
  and the traces example's ``'trace-id'`` become real ids; ``'<ISO_8601_TIME>'`` becomes a fixed
  time 20 days before the data set's `now`; the keyset-paging example's
  ``'2024-01-15T10:30:00Z'`` becomes the last ``created`` of page 1; cursor placeholders become
  the cursor of the previous page (or the line goes, for a first page).
* examples without ``from:`` get ``from: project_logs('<PROJECT_ID>')`` (a line marked
  ``-- added``); clause fragments (``sort: …``, ``limit: 100``, the ``filter:`` block) also get
  ``select: *``; the field-access block becomes one select with aliases.
* Fields that Braintrust spans do not have at the top level (bare ``latency``, ``response``,
  ``responses``, ``spans``) are not rewritten: tracelake rejects unknown top-level fields, so
  those examples must answer 400 "unknown field" (reference/btql.md §4.7, docs/btql.md).
* The pivot examples name measures after ``pivot:``; tracelake's documented reading
  (docs/btql.md) is that ``pivot:`` names the column, so they must answer a 400 saying so.
  Each also runs as ``S004-NN-pivot-column`` with ``pivot: metadata.model``, the column the
  page's shown result is spread over, against that result.

Added beside the page's queries, and marked so: ``S000-01-in`` (the SQL docs' spelling of array
membership, ``tags IN ('annotated')``, for the pair whose SQL uses INCLUDES) and ``S000-07``
(the SDK tab's ``_internal_btql`` filter, sent as the SDK sends it: a JSON AST).

Not queries, so not here: the operator and function reference lists and the ``from`` source list.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import pyarrow.parquet as pq
import pytest

from tests.integration.conformance import oracle
from tests.integration.conformance.dataset import DataSet
from tests.integration.conformance.oracle import Error, Expect

# -- queries of page 004 --------------------------------------------------------------------------

FROM = "from: project_logs('<PROJECT_ID>')  -- added: the example has no from:"


@dataclass
class Case:
    id: str
    query: str | Callable[[DataSet], str]
    expect: Callable[..., Expect | Error]
    marks: tuple = ()


PIVOT_B16 = """-- Compare model performance metrics across models
dimensions: day(created) as date
measures:
  avg(scores.Factuality) as avg_factuality,
  avg(metrics.tokens) as avg_tokens,
  count(1) as call_count
from: project_logs('my-project-id')
pivot: avg_factuality, avg_tokens, call_count"""
PIVOT_B18 = """-- Compare tag distributions across models
dimensions: tags[0] as primary_tag
measures: count(1) as tag_count
from: project_logs('my-project-id')
pivot: tag_count"""

CASES_004 = [
    # API access (curl)
    Case(
        "S004-01",
        "select: * | from: project_logs('<YOUR_PROJECT_ID>') | filter: tags includes 'triage'",
        oracle.s004_01,
    ),
    # Query structure; the cursor line names the token of a previous page: a first page has none
    Case(
        "S004-02",
        """select: *                           -- Fields to retrieve
from: project_logs('<PROJECT_ID>') spans  -- Data source (identifier or function call)
filter: scores.Factuality > 0.8     -- Filter conditions
sample: 25%                         -- Random sampling (optional)
sort: created desc                  -- Sort order
limit: 100                          -- Result size limit""",
        oracle.s004_02,
    ),
    Case(
        "S004-03",
        """-- Get specific fields
select:
  metadata.model as model,
  scores.Factuality as score,
  created as timestamp
from: project_logs('my-project-id')""",
        oracle.s004_03,
    ),
    Case(
        "S004-04",
        """select:
  -- Simple field access
  metadata.model,

  -- Computed values
  metrics.tokens > 1000 as is_long_response,

  -- Conditional logic
  (scores.Factuality > 0.8 ? "high" : "low") as quality
from: project_logs('my-project-id')""",
        oracle.s004_04,
    ),
    Case(
        "S004-05",
        """select:
  -- Date/time functions
  day(created) as date,
  hour(created) as hour,

  -- Numeric calculations
  round(scores.Factuality, 2) as rounded_score
from: project_logs('my-project-id')""",
        oracle.s004_05,
    ),
    # bare `latency` is not a span field (metrics.latency is): 400
    Case(
        "S004-06",
        """-- Analyze model performance over time
dimensions:
  metadata.model as model,
  day(created) as date
measures:
  count(1) as total_calls,
  avg(scores.Factuality) as avg_score,
  percentile(latency, 0.95) as p95_latency
from: project_logs('my-project-id')""",
        lambda d: Error("unknown field 'latency'"),
    ),
    Case(
        "S004-07",
        """select: *
from: project_logs('my-project-id') spans
filter: span_attributes.type = 'llm' and metrics.time_to_first_token > 0.1
limit: 10""",
        oracle.s004_07,
    ),
    # traces: 'trace-id' = a trace whose error is on a child span: every span of it comes back
    Case(
        "S004-08",
        lambda d: """select: *
from: project_logs('my-project-id') traces
filter: root_span_id = 'trace-id' and error IS NOT NULL""".replace(
            "trace-id", oracle.trace_with_child_error(d)
        ),
        lambda d: oracle.s004_08(d, oracle.trace_with_child_error(d)),
    ),
    # the same query on a trace without errors: nothing
    Case(
        "S004-08-no-error",
        lambda d: """select: *
from: project_logs('my-project-id') traces
filter: root_span_id = 'trace-id' and error IS NOT NULL""".replace(
            "trace-id", oracle.trace_without_error(d)
        ),
        lambda d: oracle.s004_08(d, oracle.trace_without_error(d)),
    ),
    Case(
        "S004-09",
        """select: *
from: project_logs('my-project-id') summary -- Returns one row per trace with aggregated metrics across all spans in that trace
preview_length: 1024 -- Optional, controls truncation of preview fields. Default is 124.
limit: 10""",  # noqa: E501
        oracle.s004_09,
    ),
    Case(
        "S004-10",
        f"""select: *  -- added: the example is a filter clause alone
{FROM}
filter:
  -- Simple comparisons
  scores.Factuality > 0.8 and
  metadata.model = "gpt-4" and

  -- Array operations
  tags includes "triage" and

  -- Text search
  input ILIKE '%question%' and

  -- Date ranges
  created > '2024-01-01' and

  -- Complex conditions
  (
    metrics.tokens > 1000 or
    metadata.is_production = true
  )""",
        oracle.s004_10,
    ),
    Case(
        "S004-11",
        """-- Basic intervals
select: *
from: project_logs('my-project-id')
filter: created > now() - interval 1 day""",
        oracle.s004_11,
    ),
    Case(
        "S004-12",
        """-- Multiple time conditions
select: *
from: project_logs('my-project-id')
filter:
  created > now() - interval 1 hour and
  created < now()""",
        oracle.s004_12,
    ),
    Case(
        "S004-13",
        """-- Examples with different units
select: *
from: project_logs('my-project-id')
filter:
  created > now() - interval 7 day and    -- Last week
  created > now() - interval 1 month      -- Last month""",
        oracle.s004_13,
    ),
    Case(
        "S004-14",
        f"""select: *  -- added: the example is a sort clause alone
{FROM}
-- Sort by single field
sort: created desc""",
        oracle.s004_14,
    ),
    Case(
        "S004-15",
        f"""select: *  -- added: the example is a sort clause alone
{FROM}
-- Sort by multiple fields
sort: scores.Factuality desc, created asc""",
        oracle.s004_15,
    ),
    Case(
        "S004-16",
        f"""select: *  -- added: the example is a sort clause alone
{FROM}
-- Sort by computed values
sort: len(tags) desc""",
        oracle.s004_16,
    ),
    # The page's pivot examples list measures after pivot:, while its prose and its results
    # pivot by a column ("if you pivot by metadata.model … gpt-4_avg_score") that the queries
    # never name (btql.md §5.2: internally inconsistent). tracelake's decision (docs/btql.md):
    # pivot: names the column; a measure there is a 400 that says so. Each example is run
    # verbatim (400) and with its pivot column named, against the result the page shows.
    Case("S004-17", PIVOT_B16, lambda d: Error("pivot names the column")),
    Case(
        "S004-17-pivot-column",
        PIVOT_B16.replace(
            "pivot: avg_factuality, avg_tokens, call_count",
            "pivot: metadata.model  -- changed: the column the page's result is pivoted by",
        ),
        oracle.s004_17,
    ),
    # bare `latency` (not a span field) and a measure as pivot column: 400 for either
    Case(
        "S004-18",
        """-- Compare metrics across time periods
dimensions: metadata.model as model
measures:
  avg(scores.Factuality) as avg_score,
  percentile(latency, 0.95) as p95_latency
from: project_logs('my-project-id')
pivot: avg_score, p95_latency""",
        lambda d: Error("unknown field 'latency'", "pivot names the column"),
    ),
    Case("S004-19", PIVOT_B18, lambda d: Error("pivot names the column")),
    Case(
        "S004-19-pivot-column",
        PIVOT_B18.replace(
            "pivot: tag_count",
            "pivot: metadata.model  -- changed: the column the page's result is pivoted by",
        ),
        oracle.s004_19,
    ),
    # The page unpivots `count` as (key, value) yet shows score rows. An unpivot reads the
    # source rows (SQL puts UNPIVOT in FROM), where `count` is no field; and a key/value unpivot
    # needs an object, which a count is not (btql.md §4.4). Either way: 400, not the rows of
    # the query without its unpivot.
    Case(
        "S004-20",
        """-- Convert wide format to long format for arbitrary scores
dimensions: created as date
measures: count(1) as count
from: project_logs('my-project-id')
unpivot: count as (score_name, score_value)""",
        lambda d: Error("unknown field 'count'", "unpivot takes an object or an array"),
    ),
    Case(
        "S004-21",
        f"""select: *  -- added: the example is a limit clause alone
{FROM}
-- Basic limit
limit: 100""",
        oracle.s004_21,
    ),
    # S004-22 (cursor paging) has its own test below.
    Case(
        "S004-23",
        """-- Offset-based pagination with sorting
-- Page 1 (first 100 results)
select: *
from: project_logs('<PROJECT_ID>')
sort: created desc
limit: 100""",
        oracle.s004_23,
    ),
    Case(
        "S004-24",
        lambda d: """-- Page 2 (next 100 results)
select: *
from: project_logs('<PROJECT_ID>')
filter: created < '2024-01-15T10:30:00Z'  -- Last created timestamp from previous page
sort: created desc
limit: 100""".replace("2024-01-15T10:30:00Z", oracle.s004_23(d).rows[-1]["created"]),
        lambda d: oracle.s004_24(d, oracle.s004_23(d).rows[-1]["created"]),
    ),
    # Field access: the page lists path expressions; here they are selected with aliases
    Case(
        "S004-25",
        f"""select:
  metadata.model as model,             -- Access nested object field
  metadata."field name" as field_space,      -- Access field with spaces
  metadata."field-name" as field_hyphen,     -- Access field with hyphens
  metadata."field.name" as field_dot,        -- Access field with dots
  tags[0] as first_tag,                      -- First element
  tags[-1] as last_tag,                      -- Last element
  metadata.models[0].name as first_model_name  -- Field in first array element
{FROM}""",
        oracle.s004_25,
    ),
    Case(
        "S004-26",
        f"select: responses[-1].tokens as tokens  -- Field in last array element\n{FROM}",
        lambda d: Error("unknown field 'responses'"),
    ),
    Case(
        "S004-27",
        f"select: spans[0].children[-1].id as id  -- Nested array traversal\n{FROM}",
        lambda d: Error("unknown field 'spans'"),
    ),
    Case(
        "S004-28",
        """-- Basic conditions
select:
  (scores.Factuality > 0.8 ? "high" : "low") as quality,
  (error IS NOT NULL ? -1 : metrics.tokens) as valid_tokens
from: project_logs('my-project-id')""",
        oracle.s004_28,
    ),
    Case(
        "S004-29",
        """-- Nested conditions
select:
  (scores.Factuality > 0.9 ? "excellent" :
   scores.Factuality > 0.7 ? "good" :
   scores.Factuality > 0.5 ? "fair" : "poor") as rating
from: project_logs('my-project-id')""",
        oracle.s004_29,
    ),
    Case(
        "S004-30",
        """-- Use in calculations
select:
  (metadata.model = "gpt-4" ? metrics.tokens * 2 : metrics.tokens) as adjusted_tokens,
  (error IS NULL ? metrics.latency : 0) as valid_latency
from: project_logs('my-project-id')""",
        oracle.s004_30,
    ),
    # Examples: Track token usage
    Case(
        "S004-31",
        """from: project_logs('<YOUR_PROJECT_ID>')
filter: created > '<ISO_8601_TIME>'
dimensions: day(created) as time
measures:
  sum(metrics.total_tokens) as total_tokens,
  sum(metrics.prompt_tokens) as input_tokens,
  sum(metrics.completion_tokens) as output_tokens
sort: time asc""",
        oracle.s004_31,
    ),
    # Monitor model quality
    Case(
        "S004-32",
        f"""-- Compare factuality scores across models
dimensions:
  metadata.model as model,
  day(created) as date
measures:
  avg(scores.Factuality) as avg_factuality,
  percentile(scores.Factuality, 0.05) as p05_factuality,
  percentile(scores.Factuality, 0.95) as p95_factuality,
  count(1) as total_calls
filter: created > '2024-01-01'
sort: date desc, model asc
{FROM}""",
        oracle.s004_32,
    ),
    Case(
        "S004-33",
        """-- Find potentially problematic responses
select: *
from: project_logs('<PROJECT_ID>')
filter:
  scores.Factuality < 0.5 and
  metadata.is_production = true and
  created > now() - interval 1 day
sort: scores.Factuality asc
limit: 100""",
        oracle.s004_33,
    ),
    Case(
        "S004-34",
        """-- Compare performance across specific models
select: *
from: project_logs('<PROJECT_ID>')
filter:
  metadata.model IN ["gpt-4", "gpt-4-turbo", "claude-3-opus"] and
  scores.Factuality IS NOT NULL and
  created > now() - interval 7 day
sort: scores.Factuality desc
limit: 500""",
        oracle.s004_34,
    ),
    # Analyze errors
    Case(
        "S004-35",
        f"""-- Error rate by model
dimensions:
  metadata.model as model,
  hour(created) as hour
measures:
  count(1) as total,
  count(error) as errors,
  count(error) / count(1) as error_rate
filter: created > now() - interval 1 day
sort: error_rate desc
{FROM}""",
        oracle.s004_35,
    ),
    Case(
        "S004-36",
        f"""-- Find common error patterns
dimensions:
  error.type as error_type,
  metadata.model as model
measures:
  count(1) as error_count,
  avg(metrics.latency) as avg_latency
filter:
  error IS NOT NULL and
  created > now() - interval 7 day
sort: error_count desc
{FROM}""",
        oracle.s004_36,
    ),
    Case(
        "S004-37",
        """-- Exclude known error types from analysis
select: *
from: project_logs('<PROJECT_ID>')
filter:
  error IS NOT NULL and
  error.type NOT IN ["rate_limit", "timeout", "network_error"] and
  metadata.is_production = true and
  created > now() - interval 1 day
sort: created desc
limit: 100""",
        oracle.s004_37,
    ),
    # Analyze latency
    Case(
        "S004-38",
        f"""-- Track p95 latency by endpoint
dimensions:
  metadata.endpoint as endpoint,
  hour(created) as hour
measures:
  percentile(metrics.latency, 0.95) as p95_latency,
  percentile(metrics.latency, 0.50) as median_latency,
  count(1) as requests
filter: created > now() - interval 1 day
sort: hour desc, p95_latency desc
{FROM}""",
        oracle.s004_38,
    ),
    Case(
        "S004-39",
        """-- Find slow requests
select:
  metadata.endpoint,
  metrics.latency,
  metrics.tokens,
  input,
  created
from: project_logs('<PROJECT_ID>')
filter:
  metrics.latency > 5000 and  -- Requests over 5 seconds
  created > now() - interval 1 hour
sort: metrics.latency desc
limit: 20""",
        oracle.s004_39,
    ),
    # Analyze prompts
    Case(
        "S004-40",
        f"""-- Track prompt token efficiency
dimensions:
  metadata.prompt_template as template,
  day(created) as date
measures:
  avg(metrics.prompt_tokens) as avg_prompt_tokens,
  avg(metrics.completion_tokens) as avg_completion_tokens,
  avg(metrics.completion_tokens) / avg(metrics.prompt_tokens) as token_efficiency,
  avg(scores.Factuality) as avg_factuality
filter: created > now() - interval 7 day
sort: date desc, token_efficiency desc
{FROM}""",
        oracle.s004_40,
    ),
    Case(
        "S004-41",
        """-- Find similar prompts
select: *
from: project_logs('<PROJECT_ID>')
filter:
  input MATCH 'explain the concept of recursion' and
  scores.Factuality > 0.8
sort: created desc
limit: 10""",
        oracle.s004_41,
    ),
    # Analyze based on tags
    Case(
        "S004-42",
        f"""-- Monitor feedback patterns
dimensions:
  tags[0] as primary_tag,
  metadata.model as model
measures:
  count(1) as feedback_count,
  avg(scores.Factuality > 0.8 ? 1 : 0) as high_quality_rate
filter:
  tags includes 'feedback' and
  created > now() - interval 30 day
sort: feedback_count desc
{FROM}""",
        oracle.s004_42,
    ),
    # bare `response` is not a span field (output is): 400
    Case(
        "S004-43",
        """-- Track issue resolution
select:
  created,
  tags,
  metadata.model,
  scores.Factuality,
  response
from: project_logs('<PROJECT_ID>')
filter:
  tags includes 'needs-review' and
  NOT tags includes 'resolved' and
  created > now() - interval 1 day
sort: scores.Factuality asc""",
        lambda d: Error("unknown field 'response'"),
    ),
]

# -- queries of page 000 (export): pairs of SQL and BTQL --------------------------------------


@dataclass
class Pair:
    id: str
    sql: str
    btql: str
    fmt: str
    expect: Callable[[DataSet], Expect]
    sql_marks: tuple = ()


PAIRS = [
    Pair(
        "S000-01",
        "SELECT * FROM project_logs('<PROJECT_ID>') WHERE tags INCLUDES 'annotated'",
        "select: * | from: project_logs('<PROJECT_ID>') | filter: tags includes 'annotated'",
        "json",
        oracle.s000_01,
    ),
    # not on the page: the SQL spelling of array membership the SQL docs give (tags IN ('v'))
    Pair(
        "S000-01-in",
        "SELECT * FROM project_logs('<PROJECT_ID>') WHERE tags IN ('annotated')",
        "select: * | from: project_logs('<PROJECT_ID>') | filter: tags includes 'annotated'",
        "json",
        oracle.s000_01,
    ),
    Pair(
        "S000-02",
        "SELECT * FROM project_logs('<PROJECT_ID>') WHERE scores.user_rating > 0.8 LIMIT 1000",
        "select: * | from: project_logs('<PROJECT_ID>') | filter: scores.user_rating > 0.8"
        " | limit: 1000",
        "parquet",
        oracle.s000_02,
    ),
    Pair(
        "S000-03",
        "SELECT input, expected, metadata FROM project_dataset('<PROJECT_ID>', '<DATASET_ID>')",
        "select: input, expected, metadata | from: project_dataset('<PROJECT_ID>', '<DATASET_ID>')",
        "json",
        oracle.s000_03,
    ),
    Pair(
        "S000-04",
        "SELECT input, expected FROM project_dataset('<PROJECT_ID>', '<DATASET_ID>')"
        " WHERE expected IS NOT NULL",
        "select: input, expected | from: project_dataset('<PROJECT_ID>', '<DATASET_ID>')"
        " | filter: expected IS NOT NULL",
        "json",
        oracle.s000_04,
    ),
    Pair(
        "S000-05",
        "SELECT input, output, expected, metadata.user_id FROM project_logs('<PROJECT_ID>')"
        " WHERE expected IS NOT NULL AND metadata.user_correction = true",
        "select: input, output, expected, metadata.user_id | from: project_logs('<PROJECT_ID>')"
        " | filter: expected IS NOT NULL and metadata.user_correction = true",
        "json",
        oracle.s000_05,
    ),
    Pair(
        "S000-06",
        "SELECT created, scores.user_rating, scores.accuracy, metadata.model"
        " FROM project_logs('<PROJECT_ID>') WHERE created > now() - interval 7 day",
        "select: created, scores.user_rating, scores.accuracy, metadata.model"
        " | from: project_logs('<PROJECT_ID>') | filter: created > now() - interval 7 day",
        "parquet",
        oracle.s000_06,
    ),
]


def sdk_filter_query(d: DataSet) -> dict:
    """S000-07: the SDK tab's ``_internal_btql`` as the SDK's ObjectFetcher sends it."""
    return {
        "select": [{"op": "star"}],
        "from": {
            "op": "function",
            "name": {"op": "ident", "name": ["dataset"]},
            "args": [{"op": "literal", "value": d.dataset_id}],
        },
        "filter": {"btql": "metadata.annotated = true"},
        "sort": [{"expr": {"btql": "created"}, "dir": "desc"}],
        "limit": 1000,
    }


# -- running and comparing ------------------------------------------------------------------------


def fill(query: str, d: DataSet) -> str:
    for placeholder, value in {
        "'<PROJECT_ID>'": d.project_id,
        "'<YOUR_PROJECT_ID>'": d.project_id,
        "'my-project-id'": d.project_id,
        "'<DATASET_ID>'": d.dataset_id,
        "'<ISO_8601_TIME>'": d.iso_time,
    }.items():
        query = query.replace(placeholder, f"'{value}'")
    return query


def post(client, query, fmt: str = "json"):
    return client.post("/btql", json={"query": query, "fmt": fmt})


def run(client, query, fmt: str = "json") -> list[dict]:
    """The rows of ``query``; for parquet, also checks the file holds the same rows as json."""
    response = post(client, query)
    assert response.status_code == 200, response.text
    answer = response.json()
    if fmt == "parquet":
        binary = post(client, query, "parquet")
        assert binary.status_code == 200, binary.text
        table = pq.read_table(io.BytesIO(binary.content))
        kinds = answer["schema"]["items"]["properties"]
        decoded = [
            {
                name: json.loads(value)
                if isinstance(value, str) and kinds.get(name, {}).get("type") != "string"
                else value
                for name, value in row.items()
            }
            for row in table.to_pylist()
        ]
        assert decoded == answer["data"]
    return answer["data"]


def canon(value):
    """Floats to 13 significant digits (integral ones to int), recursively."""
    if isinstance(value, float):
        value = float(f"{value:.13g}")
        return int(value) if value.is_integer() else value
    if isinstance(value, list):
        return [canon(v) for v in value]
    if isinstance(value, dict):
        return {k: canon(v) for k, v in value.items()}
    return value


def project(row: dict, template: dict | None, partial: tuple[str, ...] | None) -> dict:
    """``row`` cut to the keys of ``template`` (and its nested dicts named in ``partial``)."""
    if not partial or template is None:
        return row
    missing = template.keys() - row.keys()
    assert not missing, f"columns missing from a row: {sorted(missing)}"
    out = {k: row[k] for k in template}
    for name in partial:
        if name != "*" and isinstance(out.get(name), dict) and isinstance(template[name], dict):
            out[name] = {k: out[name].get(k) for k in template[name]}
    return out


def text(row: dict) -> str:
    return json.dumps(row, sort_keys=True)


def assert_within(got: list[dict], pool: list[dict]) -> None:
    extra = Counter(map(text, got)) - Counter(map(text, pool))
    assert not extra, "rows the query should not return:\n" + "\n".join(list(extra)[:5])


def assert_same_rows(got: list[dict], want: list[dict]) -> None:
    have, need = Counter(map(text, got)), Counter(map(text, want))
    if have != need:
        unexpected = "\n".join(list(have - need)[:5])
        missing = "\n".join(list(need - have)[:5])
        pytest.fail(
            f"{len(got)} rows, expected {len(want)}\nunexpected:\n{unexpected}\nmissing:\n{missing}"
        )


def check(rows: list[dict], expect: Expect) -> None:
    pool = expect.pool if expect.pool is not None else expect.rows
    template = (pool or expect.rows or [None])[0]
    got = [canon(project(r, template, expect.partial)) for r in rows]
    want = [canon(r) for r in expect.rows]
    pool = [canon(r) for r in pool]
    if not expect.allow_empty:
        assert want, "the oracle's answer is empty: the data set does not exercise this query"
    if expect.sample:
        assert 0 < len(got) < len(pool), f"a 25% sample of {len(pool)} rows has {len(got)}"
        keys = [expect.key(r) for r in got]
        assert keys == sorted(keys, reverse=True), "sample rows are not sorted created desc"
        assert_within(got, pool)
    elif expect.subset:
        assert len(got) == len(want)
        assert len({text(r) for r in got}) == len(got), "a row came back twice"
        assert_within(got, pool)
    elif expect.key is not None:
        assert [expect.key(r) for r in got] == [expect.key(r) for r in want]
        assert_within(got, pool)
    else:
        assert_same_rows(got, want)


def assert_error(response, error: Error) -> None:
    assert response.status_code == 400, response.text
    message = response.json()["error"]["message"]
    assert any(m in message for m in error.messages), message


# -- tests -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=c.marks) for c in CASES_004])
def test_reference_page_query(conformance_client, data, case):
    query = fill(case.query(data) if callable(case.query) else case.query, data)
    expect = case.expect(data)
    if isinstance(expect, Error):
        assert_error(post(conformance_client, query), expect)
    else:
        check(run(conformance_client, query), expect)


def test_reference_page_cursor_paging(conformance_client, data):
    """S004-22: limit 100 with the previous page's cursor, until no cursor comes back."""
    template = """-- Pagination using cursor (only works without sort)
select: *
from: project_logs('<PROJECT_ID>')
limit: 100
cursor: '<CURSOR_TOKEN>'  -- From previous query response"""
    first = "\n".join(line for line in template.splitlines() if "cursor:" not in line)
    rows: list[dict] = []
    cursor = None
    pages = 0
    while pages < 10:
        pages += 1
        query = fill(template.replace("<CURSOR_TOKEN>", cursor) if cursor else first, data)
        response = post(conformance_client, query)
        assert response.status_code == 200, response.text
        answer = response.json()
        assert len(answer["data"]) <= 100
        assert answer["data"] or answer["cursor"] is None, "an empty page with a cursor"
        rows += answer["data"]
        cursor = answer["cursor"]
        if cursor is None:
            break
    assert pages >= 2, "the data set should span several pages of 100"
    assert cursor is None, "paging did not end"
    check(rows, oracle.s004_22(data))


@pytest.mark.parametrize(
    ("pair", "syntax"),
    [
        pytest.param(p, syntax, id=f"{p.id}-{syntax}", marks=p.sql_marks if syntax == "sql" else ())
        for p in PAIRS
        for syntax in ("btql", "sql")
    ],
)
def test_export_page_query(conformance_client, data, pair, syntax):
    """The export page's curl examples: each syntax matches the oracle; SQL answers exactly
    what BTQL answers (same rows, same order, in the page's format)."""
    btql_rows = run(conformance_client, fill(pair.btql, data), pair.fmt)
    if syntax == "btql":
        check(btql_rows, pair.expect(data))
        return
    sql_rows = run(conformance_client, fill(pair.sql, data), pair.fmt)
    check(sql_rows, pair.expect(data))
    assert sql_rows == btql_rows


def test_export_page_sdk_filter(conformance_client, data):
    """S000-07: the SDK tab's ``_internal_btql`` filter/sort/limit on the dataset, as JSON AST."""
    check(run(conformance_client, sdk_filter_query(data)), oracle.s000_07(data))
