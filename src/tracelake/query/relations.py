"""The relations a query reads: the spans of its objects (live, or as of a version) with
the columns BTQL sees, and the one-row-per-trace ``summary`` relation.

Everything here is SQL built by tracelake from fixed fragments and sqlglot literals; no user
text is pasted in.
"""

from __future__ import annotations

from sqlglot import exp

from tracelake.model.objects import ObjectRef, ObjectType
from tracelake.query.windows import HI, LO, SQL_TYPES

TS = "strftime({}, '%Y-%m-%dT%H:%M:%S.%fZ')"

# Top-level fields of a span as BTQL sees them: (name, kind) where kind is "json" for
# free-form values and the SQL type name otherwise. Order = the column order of `select *`.
COMMON_HEAD = [
    ("id", "VARCHAR"),
    ("_xact_id", "UBIGINT"),
    ("_pagination_key", "VARCHAR"),
    ("created", "TIMESTAMPTZ"),
    ("org_id", "VARCHAR"),
    ("project_id", "VARCHAR"),
]
SPAN_COLUMNS = [
    ("span_id", "VARCHAR"),
    ("root_span_id", "VARCHAR"),
    ("span_parents", "VARCHAR[]"),
    ("is_root", "BOOLEAN"),
]
USER_JSON = [
    "input",
    "output",
    "expected",
    "error",
    "scores",
    "metrics",
    "metadata",
]


def columns_of(object_type: ObjectType) -> list[tuple[str, str]]:
    """The columns of the span relation of an object type, in ``select *`` order."""
    if object_type is ObjectType.DATASET:
        return [
            *COMMON_HEAD,
            ("dataset_id", "VARCHAR"),
            *SPAN_COLUMNS,
            ("input", "json"),
            ("expected", "json"),
            ("metadata", "json"),
            ("tags", "VARCHAR[]"),
            ("origin", "json"),
            ("comments", "json"),
        ]
    routing = (
        ("log_id", "VARCHAR")
        if object_type is ObjectType.PROJECT_LOGS
        else ("experiment_id", "VARCHAR")
    )
    return [
        *COMMON_HEAD,
        routing,
        *SPAN_COLUMNS,
        *[(name, "json") for name in USER_JSON],
        ("tags", "VARCHAR[]"),
        ("span_attributes", "json"),
        ("context", "json"),
        ("origin", "json"),
        ("comments", "json"),
    ]


# Columns of the span relation computed from others rather than stored in each row.
COMPUTED_COLUMNS = frozenset({"log_id", "experiment_id", "dataset_id", "comments"})
# The rest: read straight from the row (``audit_data`` with ``audit_log``).
STORED_COLUMNS = frozenset(
    {name for t in ObjectType for name, _ in columns_of(t)} - COMPUTED_COLUMNS
) | {"audit_data"}


def _lit(value) -> str:
    return exp.convert(value).sql(dialect="duckdb")


def _refs_predicate(alias: str, refs: tuple[ObjectRef, ...]) -> str:
    kind = _lit(refs[0].object_type.value)
    ids = ", ".join(_lit(r.object_id) for r in refs)
    return f"{alias}.object_type = {kind} AND {alias}.object_id IN ({ids})"


def _rows_of(alias: str, refs: tuple[ObjectRef, ...], org_id: str) -> str:
    """The rows of ``refs`` that carry the caller's organization."""
    return f"{_refs_predicate(alias, refs)} AND {alias}.org_id = {_lit(org_id)}"


def span_relation(
    refs: tuple[ObjectRef, ...],
    org_id: str,
    *,
    version: int | None = None,
    audit_log: bool = False,
    comments: bool = True,
    since_xact: int | None = None,
    window: str | None = None,
    row_filter: str | None = None,
    candidates: str | None = None,
) -> str:
    """SQL for the spans of ``refs`` (latest, or as of ``version``), scoped to ``org_id``
    twice over: the objects were resolved in the organization, and rows must carry it.

    With ``comments=False`` the ``comments`` column is NULL (join them later with
    :func:`with_comments`, for the rows of one page only: joining every comment beneath a
    filter and a limit kept DuckDB from stopping early). ``since_xact`` bounds the scan to
    rows written at or after it (zone maps skip older row groups). With ``window`` (a typed
    column of ``live``), rows are kept only inside the window that the SQL parameters
    ``$window_lo`` and ``$window_hi`` set (see :mod:`tracelake.query.windows`).
    ``row_filter`` is a condition on the live row's own columns (under the alias ``e``),
    applied in the scan itself, where DuckDB can evaluate it inside the table scan and,
    under a sort and a limit, skip row groups. A hidden ``__object_id`` column carries the
    object of each row.

    ``candidates`` (rendered SQL literals) are the only ids a row may have (the full-text
    index's candidates for a MATCH that every row must pass): the rows are then looked up
    by id in ``live``'s index on that column instead of scanned for."""
    object_type = refs[0].object_type
    s = "e" if row_filter is not None else "s"
    where = _rows_of(s, refs, org_id)
    if since_xact is not None:
        where += f" AND {s}._xact_id >= {_lit(since_xact)}"
    if window is not None or row_filter is not None:
        if version is not None:
            raise ValueError("windows and row filters read live rows only")
    if window is not None:
        kind = SQL_TYPES[window]
        where += f" AND {s}.{window} >= ${LO}::{kind} AND {s}.{window} < ${HI}::{kind}"
    if row_filter is not None:
        where += f" AND ({row_filter})"
    if version is None and candidates is not None:
        # DuckDB answers ``id IN (…)`` from the index only when it is the scan's one
        # filter: OFFSET 0 keeps the other conditions out of it (a filter is not pushed
        # below a limit), while the columns the query does not read are still left unread.
        by_id = f"(SELECT * FROM live WHERE id IN ({candidates}) OFFSET 0)"
        source = f"(SELECT * FROM {by_id} {s} WHERE {where})"
    elif version is None:
        source = f"(SELECT * FROM live {s} WHERE {where})"
    else:
        source = f"""(SELECT * EXCLUDE (_object_delete) FROM history s
            WHERE {where} AND s._xact_id <= {_lit(version)}
            QUALIFY row_number() OVER (PARTITION BY s.object_id, s.id
                                       ORDER BY s._pagination_key DESC) = 1
                AND NOT _object_delete)"""
    select = []
    for name, _kind in columns_of(object_type):
        if name not in COMPUTED_COLUMNS:
            select.append(f"e.{name}")
        elif name == "log_id":
            select.append("'g' AS log_id")
        elif name in ("experiment_id", "dataset_id"):
            select.append(f"e.object_id AS {name}")
        else:
            select.append("cm.comments AS comments" if comments else "NULL::JSON AS comments")
    if audit_log:
        select.append("e.audit_data")
    select.append("e.object_id AS __object_id")
    sql = f"SELECT {', '.join(select)} FROM {source} e"
    if comments:
        sql += (
            f" LEFT JOIN {comments_relation(refs, version)} cm"
            " ON cm.object_id = e.object_id AND cm.origin_id = e.id"
        )
    return f"({sql})"


def window_stats(
    refs: tuple[ObjectRef, ...], org_id: str, column: str, upper_xact: int | None
) -> str:
    """SQL of the count, minimum and maximum (as integers) of ``column`` over the live rows
    of ``refs``, those up to ``upper_xact`` when given (a page after a cursor)."""
    where = _rows_of("s", refs, org_id)
    if upper_xact is not None:
        where += f" AND s._xact_id <= {_lit(upper_xact)}"
    value = "epoch_us(s.created)" if column == "created" else f"s.{column}"
    return f"SELECT count(*), min({value}), max({value}) FROM live s WHERE {where}"


def comments_relation(
    refs: tuple[ObjectRef, ...], version: int | None, origin_ids: str | None = None
) -> str:
    """Comments grouped by the row they are on (as of ``version``), optionally only for the
    rows whose ids ``origin_ids`` (a SQL subquery) lists. A row's comments come in the order
    they were created: an edit stores a new version of a comment (a new _xact_id) that
    keeps its ``created`` and so its place. Comments created at the same instant (one write
    group carries several requests) come in the order they were written, then by id."""
    if version is None:
        visible = "c.deleted_xact IS NULL"
    else:
        visible = (
            f"c._xact_id <= {_lit(version)} AND (c.deleted_xact IS NULL"
            f" OR c.deleted_xact > {_lit(version)})"
        )
    if origin_ids is not None:
        visible += f" AND c.origin_id IN ({origin_ids})"
    return f"""(SELECT c.object_id, c.origin_id, to_json(list(json_object(
            'id', c.id, 'created', {TS.format("c.created")}, '_xact_id', c._xact_id::VARCHAR,
            'comment', c.comment, 'audit_data', c.audit_data)
            ORDER BY c.created, c._xact_id, c.id)) AS comments
        FROM comments c WHERE {_refs_predicate("c", refs)} AND {visible}
        GROUP BY c.object_id, c.origin_id)"""


def with_comments(rows: str, refs: tuple[ObjectRef, ...], version: int | None) -> str:
    """``rows`` (a relation from ``span_relation(comments=False)``, materialised as the CTE
    named ``rows``) with their real comments."""
    attached = comments_relation(refs, version, f"SELECT id FROM {rows}")
    return f"""(SELECT r.* EXCLUDE (comments), cm.comments AS comments FROM {rows} r
        LEFT JOIN {attached} cm ON cm.object_id = r.__object_id AND cm.origin_id = r.id)"""


# Summary metrics: (name, SQL aggregate over the spans of a trace `s`). The metrics a trace's
# spans carry are read once per span, as the list ``__metrics`` (see _METRIC_KEYS): reading
# each key with its own ``->>`` parsed the JSON a dozen times per span.
_METRIC_KEYS = (
    "prompt_tokens",
    "completion_tokens",
    "prompt_cached_tokens",
    "prompt_cache_creation_tokens",
    "total_tokens",
    "tokens",
    "estimated_cost",
    "start",
    "end",
    "time_to_first_token",
    "cached",
)


def _metric(key: str, cast: str = "DOUBLE") -> str:
    return f"TRY_CAST(s.__metrics[{_METRIC_KEYS.index(key) + 1}] AS {cast})"


_SPAN_TYPE = "s.__span_type"
# The spans `spans` with the per-span values the aggregates read.
_SPANS_READ = f"""(SELECT *, json_extract_string(metrics, {list(_METRIC_KEYS)}) AS __metrics,
    span_attributes->>'type' AS __span_type FROM spans)"""
_DURATION = f"({_metric('end')} - {_metric('start')})"
SUMMARY_METRICS = [
    ("prompt_tokens", f"sum({_metric('prompt_tokens', 'BIGINT')})"),
    ("completion_tokens", f"sum({_metric('completion_tokens', 'BIGINT')})"),
    ("prompt_cached_tokens", f"sum({_metric('prompt_cached_tokens', 'BIGINT')})"),
    ("prompt_cache_creation_tokens", f"sum({_metric('prompt_cache_creation_tokens', 'BIGINT')})"),
    (
        "total_tokens",
        f"sum(coalesce({_metric('total_tokens', 'BIGINT')}, {_metric('tokens', 'BIGINT')},"
        f" {_metric('prompt_tokens', 'BIGINT')} + {_metric('completion_tokens', 'BIGINT')}))",
    ),
    ("estimated_cost", f"sum({_metric('estimated_cost')})"),
    ("llm_calls", f"count(*) FILTER (WHERE {_SPAN_TYPE} = 'llm')"),
    ("tool_calls", f"count(*) FILTER (WHERE {_SPAN_TYPE} = 'tool')"),
    ("errors", f"count(*) FILTER (WHERE {_SPAN_TYPE} IN ('llm', 'tool') AND s.error IS NOT NULL)"),
    ("llm_errors", f"count(*) FILTER (WHERE {_SPAN_TYPE} = 'llm' AND s.error IS NOT NULL)"),
    ("tool_errors", f"count(*) FILTER (WHERE {_SPAN_TYPE} = 'tool' AND s.error IS NOT NULL)"),
    ("start", f"min({_metric('start')})"),
    ("end", f"max({_metric('end')})"),
    ("duration", f"max({_metric('end')}) - min({_metric('start')})"),
    ("llm_duration", f"sum({_DURATION}) FILTER (WHERE {_SPAN_TYPE} = 'llm')"),
    (
        "time_to_first_token",
        f"avg({_metric('time_to_first_token')}) FILTER (WHERE {_SPAN_TYPE} = 'llm')",
    ),
]
PREVIEW_FIELDS = ("input", "output", "expected", "error", "metadata")
DEFAULT_PREVIEW_LENGTH = 124


def _preview(column: str, length: int) -> str:
    """A root-span field cut for a preview: values whose JSON text is longer than ``length``
    become that text cut to ``length`` characters (a string); -1 keeps values whole."""
    if length < 0:
        return f"t.{column}"
    n = _lit(length)
    return f"""CASE WHEN t.{column} IS NULL OR length(t.{column}::VARCHAR) <= {n} THEN t.{column}
        WHEN json_type(t.{column}) = 'VARCHAR'
          THEN to_json(left(t.{column}->>'$', {n}))
        ELSE to_json(left(t.{column}::VARCHAR, {n})) END"""


def summary_columns(object_type: ObjectType) -> dict[str, str]:
    """The columns of :func:`summary_relation` and their types, in ``select *`` order."""
    routing = "log_id" if object_type is ObjectType.PROJECT_LOGS else "experiment_id"
    span = {name: kind for name, kind in SPAN_COLUMNS}
    return {
        **{name: kind for name, kind in COMMON_HEAD},
        routing: "VARCHAR",
        **span,
        **dict.fromkeys((*PREVIEW_FIELDS, "scores", "metrics"), "JSON"),
        "tags": "VARCHAR[]",
        **dict.fromkeys(("span_attributes", "span_type_info", "origin", "comments"), "JSON"),
    }


def root_field(column: str, alias: str = "s") -> str:
    """The aggregate that reads ``column`` of a trace's root span (the span flagged
    ``is_root``, the first such, else the trace's first span) among its spans ``alias``."""
    return f"arg_min_null({alias}.{column}, (NOT {alias}.is_root, {alias}._pagination_key))"


_SPAN_TYPE_INFO = """json_object('name', t.span_attributes->>'name',
    'type', t.span_attributes->>'type', 'cached', coalesce(t.cached, false),
    'has_error', t.has_error, 'span_count', t.span_count)"""
# The per-trace aggregates each derived summary column needs (name -> SQL over spans `s`).
_TRACE_AGGREGATES = {
    "_xact_id": {"_xact_id": "max(s._xact_id)"},
    "_pagination_key": {"_pagination_key": "max(s._pagination_key)"},
    "metrics": {
        "metrics": "json_object("
        + ", ".join(f"{_lit(name)}, {sql}" for name, sql in SUMMARY_METRICS)
        + ")"
    },
    "span_type_info": {
        "span_attributes": root_field("span_attributes"),
        "has_error": "bool_or(s.error IS NOT NULL)",
        "cached": f"bool_and(coalesce({_metric('cached', 'BOOLEAN')}, false))"
        f" FILTER (WHERE {_SPAN_TYPE} = 'llm')",
        "span_count": "count(*)",
    },
}


def _trace_aggregates(name: str) -> dict[str, str]:
    """The per-trace aggregates (name -> SQL over the spans ``s``) a summary column reads:
    a root span's field is picked from the root span."""
    if name in ("root_span_id", "scores"):
        return {}  # the group key; scores are averaged apart (score_avgs)
    return _TRACE_AGGREGATES.get(name, {name: root_field(name)})


def _summary_select(name: str, length: int) -> str:
    """The SQL of a summary column over ``trace_stats t`` and ``score_avgs sa``."""
    if name == "scores":
        return "sa.scores"
    if name == "span_type_info":
        return f"{_SPAN_TYPE_INFO} AS span_type_info"
    if name in PREVIEW_FIELDS:
        return f"{_preview(name, length)} AS {name}"
    return f"t.{name}"


def summary_relation(
    spans: str,
    object_type: ObjectType,
    preview_length: int | None,
    columns: frozenset[str] | None = None,
) -> str:
    """One row per trace of ``spans``: the root span's ids and previews, scores averaged
    over the trace's spans, token/cost/call/error metrics summed, start/end/duration.

    With ``columns``, only those summary columns (and ``root_span_id``) are computed: a
    ranking of every trace then reads just the fields it sorts or filters by."""
    length = DEFAULT_PREVIEW_LENGTH if preview_length is None else preview_length
    names = list(summary_columns(object_type))
    if object_type is ObjectType.DATASET:
        names = [n for n in names if n not in ("output", "error", "span_attributes")]
        names[names.index("experiment_id")] = "dataset_id"
    if columns is not None:
        names = [n for n in names if n in columns or n == "root_span_id"]
    stats = {"root_span_id": "s.root_span_id"}
    for name in names:
        stats.update(_trace_aggregates(name))
    select = ", ".join(_summary_select(name, length) for name in names)
    aggregates = ",\n            ".join(f"{sql} AS {name}" for name, sql in stats.items())
    sql = f"""(WITH spans AS {spans},
        trace_stats AS (SELECT {aggregates} FROM {_SPANS_READ} s GROUP BY s.root_span_id)"""
    joins = ""
    if "scores" in names:
        sql += """,
        score_values AS (
            SELECT s.root_span_id, unnest(map_entries(
                json_transform(s.scores, '"MAP(VARCHAR, DOUBLE)"'))) AS kv
            FROM spans s WHERE s.scores IS NOT NULL AND json_type(s.scores) = 'OBJECT'),
        score_avgs AS (
            SELECT root_span_id, json_group_object(name, value) AS scores FROM (
                SELECT root_span_id, kv.key AS name, avg(kv.value) AS value
                FROM score_values GROUP BY root_span_id, kv.key)
            GROUP BY root_span_id)"""
        joins = " LEFT JOIN score_avgs sa USING (root_span_id)"
    return f"{sql}\n        SELECT {select} FROM trace_stats t{joins})"
