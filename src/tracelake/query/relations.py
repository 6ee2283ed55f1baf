"""The relations a query reads: the spans of its objects (live, or as of a version) with
the columns BTQL sees, and the one-row-per-trace ``summary`` relation.

Everything here is SQL built by tracelake from fixed fragments and sqlglot literals; no user
text is pasted in.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import sqlglot
from sqlglot import exp

from tracelake.model.objects import ObjectRef, ObjectType
from tracelake.query.types import Column
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
        ("classifications", "json"),
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


MOVED_LO = "moved_lo"  # the SQL parameter: the oldest xact a moved row's old version may have


def moved_rows_bound(refs: tuple[ObjectRef, ...], snapshot: int) -> str:
    """SQL of one value: the oldest ``first_xact`` of the traces that existed at
    ``snapshot`` and were written since (the versions their rows had then are no older),
    or NULL when none was, so no row has moved. (Rows of traces begun since are new, not
    moved.) One read of the per-trace index, not of the rows."""
    return f"""SELECT min(t.first_xact) FROM traces t
        WHERE {_refs_predicate("t", refs)} AND t.last_xact > {_lit(snapshot)}
          AND t.first_xact <= {_lit(snapshot)}"""


def moved_row_keys(refs: tuple[ObjectRef, ...], org_id: str, snapshot: int, after: str) -> str:
    """SQL of the live rows written since ``snapshot`` that were live then with a
    ``_pagination_key`` below ``after``: (object_id, id, __old_key = that key). Their
    history is read from the xact the parameter ``$moved_lo`` names (``moved_rows_bound``)."""
    return f"""SELECT h.object_id, h.id, max(h._pagination_key) AS __old_key FROM history h
        WHERE {_refs_predicate("h", refs)} AND h._xact_id BETWEEN ${MOVED_LO} AND {_lit(snapshot)}
          AND (h.object_id, h.id) IN (SELECT l.object_id, l.id FROM live l
              WHERE {_rows_of("l", refs, org_id)} AND l._xact_id > {_lit(snapshot)})
        GROUP BY h.object_id, h.id
        HAVING NOT arg_max(h._object_delete, h._pagination_key)
           AND max(h._pagination_key) < {_lit(after)}"""


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


def newest_traces_bound(condition: str, last: int | str) -> str:
    """A predicate on the per-trace index (alias ``t``) keeping every trace that may be among
    the newest of those ``condition`` selects, in (``last_xact``, ``last_key``) descending
    order, up to the one at 0-based position ``last`` (a number, or ``?``): none is older
    than that position's ``last_xact``. A top-N of that one integer is cheap, where DuckDB's
    top-N of the pair compared the string key of every trace (1M spans: 2.7 → 1.4 ms)."""
    return f"""t.last_xact >= coalesce((SELECT t.last_xact FROM traces t WHERE {condition}
        ORDER BY t.last_xact DESC LIMIT 1 OFFSET {last}), 0)"""


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
            'comment', c.comment, 'audit_data', c.audit_data, 'user_id', c.user_id)
            ORDER BY c.created, c._xact_id, c.id)) AS comments
        FROM comments c WHERE {_refs_predicate("c", refs)} AND {visible}
        GROUP BY c.object_id, c.origin_id)"""


def with_comments(rows: str, refs: tuple[ObjectRef, ...], version: int | None) -> str:
    """``rows`` (a relation from ``span_relation(comments=False)``, materialised as the CTE
    named ``rows``) with their real comments."""
    attached = comments_relation(refs, version, f"SELECT id FROM {rows}")
    return f"""(SELECT r.* EXCLUDE (comments), cm.comments AS comments FROM {rows} r
        LEFT JOIN {attached} cm ON cm.object_id = r.__object_id AND cm.origin_id = r.id)"""


def _finite(sql: str) -> str:
    """A floating-point aggregate, NULL where it is NaN or an infinity (a sum past a
    double's range): the summary's JSON objects must hold JSON numbers. (DuckDB computes
    the aggregate once, however often it is written.)"""
    return f"(CASE WHEN isfinite({sql}) THEN {sql} END)"


# Summary metrics: (name, SQL aggregate over the spans of a trace `s`, given `m(key, cast)`,
# the SQL of a metric key of the span). The metric keys a trace's spans carry are read once
# per span, as the list ``__metrics`` (see _SpanReads): reading each key with its own
# ``->>`` parsed the JSON a dozen times per span. Only the keys the computed metrics read
# are in the list.
_SPAN_TYPE = "s.__span_type"
SUMMARY_METRICS = [
    ("prompt_tokens", lambda m: f"sum({m('prompt_tokens', 'BIGINT')})"),
    ("completion_tokens", lambda m: f"sum({m('completion_tokens', 'BIGINT')})"),
    ("prompt_cached_tokens", lambda m: f"sum({m('prompt_cached_tokens', 'BIGINT')})"),
    (
        "prompt_cache_creation_tokens",
        lambda m: f"sum({m('prompt_cache_creation_tokens', 'BIGINT')})",
    ),
    (
        "total_tokens",
        lambda m: (
            # a span's total, else its tokens, else prompt + completion (either alone counts:
            # an embedding call has prompt tokens only)
            f"sum(coalesce({m('total_tokens', 'BIGINT')}, {m('tokens', 'BIGINT')},"
            f" {m('prompt_tokens', 'BIGINT')} + {m('completion_tokens', 'BIGINT')},"
            f" {m('prompt_tokens', 'BIGINT')}, {m('completion_tokens', 'BIGINT')}))"
        ),
    ),
    ("estimated_cost", lambda m: _finite(f"sum({m('estimated_cost')})")),
    ("llm_calls", lambda m: f"count(*) FILTER (WHERE {_SPAN_TYPE} = 'llm')"),
    ("tool_calls", lambda m: f"count(*) FILTER (WHERE {_SPAN_TYPE} = 'tool')"),
    (
        "errors",
        lambda m: (
            f"count(*) FILTER (WHERE {_SPAN_TYPE} IN ('llm', 'tool') AND s.error IS NOT NULL)"
        ),
    ),
    (
        "llm_errors",
        lambda m: f"count(*) FILTER (WHERE {_SPAN_TYPE} = 'llm' AND s.error IS NOT NULL)",
    ),
    (
        "tool_errors",
        lambda m: f"count(*) FILTER (WHERE {_SPAN_TYPE} = 'tool' AND s.error IS NOT NULL)",
    ),
    ("start", lambda m: f"min({m('start')})"),
    ("end", lambda m: f"max({m('end')})"),
    ("duration", lambda m: _finite(f"max({m('end')}) - min({m('start')})")),
    (
        "llm_duration",
        lambda m: _finite(f"sum({m('end')} - {m('start')}) FILTER (WHERE {_SPAN_TYPE} = 'llm')"),
    ),
    (
        "time_to_first_token",
        lambda m: _finite(f"avg({m('time_to_first_token')}) FILTER (WHERE {_SPAN_TYPE} = 'llm')"),
    ),
]
# The summary columns that are JSON objects built by aggregating a trace's spans: a query
# that reads only some of their keys (``scores.Factuality``, ``metrics.total_tokens``) has
# only those computed (see summary_relation's ``keys``).
AGGREGATED_OBJECTS = ("scores", "metrics", "span_type_info")
PREVIEW_FIELDS = ("input", "output", "expected", "error", "metadata")
DEFAULT_PREVIEW_LENGTH = 124


def preview(column: str, length: int) -> str:
    """The preview of a root-span field (SQL ``column``, qualified): values whose JSON text is
    longer than ``length`` become that text cut to ``length`` characters (a string); -1 keeps
    values whole, and so does a length beyond 64 bits (longer than any text; DuckDB's left()
    takes a BIGINT)."""
    if length < 0 or length >= 2**63:
        return column
    n = _lit(length)
    return f"""CASE WHEN {column} IS NULL OR length({column}::VARCHAR) <= {n} THEN {column}
        WHEN json_type({column}) = 'VARCHAR'
          THEN to_json(left({column}->>'$', {n}))
        ELSE to_json(left({column}::VARCHAR, {n})) END"""


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
        # the root span's, as its span_attributes (a summary row lacked the classifications
        # an Eval's classifiers log on the root span, and so did a summary export)
        **dict.fromkeys(
            ("span_attributes", "span_type_info", "context", "origin", "classifications"), "JSON"
        ),
        "comments": "JSON",
    }


def summary_scope_columns(object_type: ObjectType, preview_length: int | None) -> dict:
    """The columns a query on the summary shape sees: those of :func:`summary_relation`,
    with the root span's :data:`PREVIEW_FIELDS` read as previews cut to ``preview_length``
    while a path into one (``metadata.model``) reads the whole value."""
    length = DEFAULT_PREVIEW_LENGTH if preview_length is None else preview_length
    return {**summary_columns(object_type), **_preview_columns(length)}


@functools.lru_cache(maxsize=64)
def _preview_columns(length: int) -> dict[str, Column]:
    """The :data:`PREVIEW_FIELDS` as previews cut to ``length`` (parsed once per length: the
    compiler copies a column's expressions before using them)."""
    columns = {}
    for name in PREVIEW_FIELDS:
        whole = exp.column(name, "e", quoted=True)
        sql = preview(whole.sql(dialect="duckdb"), length)
        columns[name] = Column("JSON", sqlglot.parse_one(sql, read="duckdb"), whole)
    return columns


def root_field(column: str, alias: str = "s") -> str:
    """The aggregate that reads ``column`` of a trace's root span (the span flagged
    ``is_root``, the first such, else the trace's first span) among its spans ``alias``."""
    return _root_pick(f"{alias}.{column}", alias)


def _root_pick(value: str, alias: str = "s") -> str:
    """The aggregate of ``value`` (SQL over the spans ``alias``) on a trace's root span."""
    return f"arg_min_null({value}, (NOT {alias}.is_root, {alias}._pagination_key))"


class _SpanReads:
    """The per-span values the trace aggregates of one summary relation read: metric keys
    (as the list ``s.__metrics``) and score keys (as the list ``s.__scores``), each list
    holding only the keys some aggregate asked for, so a span's JSON is parsed once per
    column, and not at all when no aggregate reads it."""

    def __init__(self):
        self.metric_keys: list[str] = []
        self.score_keys: list[str] = []

    def metric(self, key: str, cast: str = "DOUBLE") -> str:
        if key not in self.metric_keys:
            self.metric_keys.append(key)
        return f"TRY_CAST(s.__metrics[{self.metric_keys.index(key) + 1}] AS {cast})"

    def score(self, key: str) -> str:
        """A score of the span as a DOUBLE, converted as the whole object's conversion to
        ``MAP(VARCHAR, DOUBLE)`` converts it (true is 1, "0.5" is 0.5, "abc" is NULL); NULL
        when the span has no such score or its scores are not an object."""
        if key not in self.score_keys:
            self.score_keys.append(key)
        return f"""json_transform(s.__scores[{self.score_keys.index(key) + 1}], '"DOUBLE"')"""

    def spans(self) -> str:
        """The spans ``spans`` with the per-span values asked for so far."""
        read = ["span_attributes->>'type' AS __span_type"]
        if self.metric_keys:
            keys = ", ".join(_lit(k) for k in self.metric_keys)
            read.append(f"json_extract_string(metrics, [{keys}]) AS __metrics")
        if self.score_keys:
            paths = ", ".join(_lit(_key_path(k)) for k in self.score_keys)
            read.append(f"json_extract(scores, [{paths}]) AS __scores")
        return f"(SELECT *, {', '.join(read)} FROM spans)"


def _key_path(key: str) -> str:
    """The JSON path of one object key (``*`` and the empty key as JSON pointer steps: they
    mean something else in a ``$`` path)."""
    if key in ("*", ""):
        return "/" + key
    return '$."' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _object(entries: list[tuple[str, str]]) -> str:
    """``json_object`` of (key, SQL value) pairs (an empty object without any)."""
    return "json_object(" + ", ".join(f"{_lit(k)}, {sql}" for k, sql in entries) + ")"


# The keys of ``span_type_info``: (key, its SQL over ``trace_stats t``, the aggregates it
# reads, name -> SQL over the spans ``s`` given the span reads ``r``).
_SPAN_TYPE_INFO = [
    (
        "name",
        "t.span_attributes->>'name'",
        lambda r: {"span_attributes": root_field("span_attributes")},
    ),
    (
        "type",
        "t.span_attributes->>'type'",
        lambda r: {"span_attributes": root_field("span_attributes")},
    ),
    (
        "cached",
        "coalesce(t.cached, false)",
        lambda r: {
            "cached": f"bool_and(coalesce({r.metric('cached', 'BOOLEAN')}, false))"
            f" FILTER (WHERE {_SPAN_TYPE} = 'llm')"
        },
    ),
    ("has_error", "t.has_error", lambda r: {"has_error": "bool_or(s.error IS NOT NULL)"}),
    ("span_count", "t.span_count", lambda r: {"span_count": "count(*)"}),
]


def _narrowed(entries: list, keys: frozenset[str] | None) -> list:
    """The entries (key first) of an aggregated object that ``keys`` asks for (all: None)."""
    return [e for e in entries if keys is None or e[0] in keys]


def _trace_aggregates(name: str, reads: _SpanReads, keys: frozenset[str] | None) -> dict[str, str]:
    """The per-trace aggregates (name -> SQL over the spans ``s``) a summary column reads (of
    an aggregated object, for its ``keys`` only when given): a root span's field is picked
    from the root span."""
    if name == "root_span_id" or (name == "scores" and keys is None):
        return {}  # the group key; all the scores are averaged apart (score_avgs)
    if name == "scores":
        return {"scores": _object([(k, f"avg({reads.score(k)})") for k in sorted(keys)])}
    if name == "metrics":
        metrics = _narrowed(SUMMARY_METRICS, keys)
        return {"metrics": _object([(k, sql(reads.metric)) for k, sql in metrics])}
    if name == "span_type_info":
        out: dict[str, str] = {}
        for _key, _sql, aggregates in _narrowed(_SPAN_TYPE_INFO, keys):
            out.update(aggregates(reads))
        return out
    if name == "_xact_id":
        return {"_xact_id": "max(s._xact_id)"}
    if name == "_pagination_key":
        return {"_pagination_key": "max(s._pagination_key)"}
    return {name: root_field(name)}


def _summary_select(name: str, keys: frozenset[str] | None) -> str:
    """The SQL of a summary column over ``trace_stats t`` and ``score_avgs sa``."""
    if name == "scores":
        return "sa.scores" if keys is None else "t.scores"
    if name == "span_type_info":
        entries = [(k, sql) for k, sql, _ in _narrowed(_SPAN_TYPE_INFO, keys)]
        return f"{_object(entries)} AS span_type_info"
    return f"t.{name}"


# The JSON object of the (name, value) rows of a group, its keys in sorted order: what
# ``json_group_object(name, value)`` builds (the same text for each value), but that takes
# the keys in the order the rows come, which varied from run to run (DuckDB's hash
# aggregate), so a page's ``scores`` came with their keys in another order each time.
_SORTED_OBJECT = """CAST('{' || array_to_string(list_transform(
                list_sort(list({'k': name, 'v': value})),
                lambda e: to_json(e.k) || ':' || coalesce(to_json(e.v), 'null')), ',')
            || '}' AS JSON)"""


def _trace_stats(stats: dict[str, str], spans: str) -> str:
    """The per-trace aggregates ``stats`` (name -> SQL over the spans ``s``) of ``spans``,
    grouped by trace. The root span's fields are picked by one aggregate of a struct of
    them, not one each: every pick compares the same (is_root, key) pairs (1M spans, a
    page of 100 traces: 32 -> 29 ms)."""
    root = [name for name, sql in stats.items() if sql == root_field(name)]
    if len(root) < 2:
        aggregates = ",\n            ".join(f"{sql} AS {name}" for name, sql in stats.items())
        return f"(SELECT {aggregates} FROM {spans} s GROUP BY s.root_span_id)"
    fields = ", ".join(f"{_lit(name)}: s.{name}" for name in root)
    rest = [f"{sql} AS {name}" for name, sql in stats.items() if name not in root]
    aggregates = ",\n            ".join([*rest, f"{_root_pick('{' + fields + '}')} AS __root"])
    picked = ", ".join(f"__root.{name} AS {name}" for name in root)
    return f"""(SELECT * EXCLUDE (__root), {picked} FROM (SELECT {aggregates}
            FROM {spans} s GROUP BY s.root_span_id))"""


# Summary columns of the whole trace even under a span filter, beside the root's fields.
_WHOLE_TRACE = ("_xact_id", "_pagination_key")


def summary_relation(
    spans: str,
    object_type: ObjectType,
    columns: frozenset[str] | None = None,
    keys: Mapping[str, frozenset[str]] | None = None,
    whole: str | None = None,
) -> str:
    """One row per trace of ``spans``: the root span's ids and fields, scores averaged
    over the trace's spans, token/cost/call/error metrics summed, start/end/duration. The
    root span's ``input``, ``output``… are whole here: queries read them through the
    columns of :func:`summary_scope_columns`, which cut them to previews.

    With ``columns``, only those summary columns (and ``root_span_id``) are computed: a
    ranking of every trace then reads just the fields it sorts or filters by. ``keys`` maps
    some of the :data:`AGGREGATED_OBJECTS` to the only keys of them to compute (the others
    are absent from the object): a ranking by ``scores.Factuality`` averages that score
    alone. The values of the keys computed are those of the whole object.

    ``whole`` (SQL), when ``spans`` are the spans a span filter kept, holds every span of
    their traces: the root span's fields are picked among those (the root span stays the
    root when the filter drops it), and ``_xact_id`` and ``_pagination_key`` are the
    trace's newest among those, the rest is aggregated over ``spans``."""
    keys = keys or {}
    names = list(summary_columns(object_type))
    if object_type is ObjectType.DATASET:
        dataset_lacks = ("output", "error", "span_attributes", "context", "classifications")
        names = [n for n in names if n not in dataset_lacks]
        names[names.index("experiment_id")] = "dataset_id"
    if columns is not None:
        names = [n for n in names if n in columns or n == "root_span_id"]
    reads = _SpanReads()
    stats = {"root_span_id": "s.root_span_id"}
    for name in names:
        stats.update(_trace_aggregates(name, reads, keys.get(name)))
    select = ", ".join(_summary_select(name, keys.get(name)) for name in names)
    # The root span's fields, and the trace's newest write (_xact_id, _pagination_key): the
    # row stands for the whole trace, its place in the pages too, whatever a filter keeps.
    root = [n for n, sql in stats.items() if sql == root_field(n) or n in _WHOLE_TRACE]
    if whole is None or not root:
        sql = f"""(WITH spans AS {spans},
        trace_stats AS {_trace_stats(stats, reads.spans())}"""
    else:
        rest = {name: sql for name, sql in stats.items() if name not in root}
        roots = {"root_span_id": "s.root_span_id", **{name: stats[name] for name in root}}
        picked = ", ".join(f"r.{name}" for name in root)
        sql = f"""(WITH spans AS {spans},
        kept_stats AS {_trace_stats(rest, reads.spans())},
        root_stats AS {_trace_stats(roots, whole)},
        trace_stats AS (SELECT k.*, {picked} FROM kept_stats k
            JOIN root_stats r USING (root_span_id))"""
    joins = ""
    if "scores" in names and keys.get("scores") is None:
        sql += f""",
        score_values AS (
            SELECT s.root_span_id, unnest(map_entries(
                json_transform(s.scores, '"MAP(VARCHAR, DOUBLE)"'))) AS kv
            FROM spans s WHERE s.scores IS NOT NULL AND json_type(s.scores) = 'OBJECT'),
        score_avgs AS (
            SELECT root_span_id, {_SORTED_OBJECT} AS scores FROM (
                SELECT root_span_id, kv.key AS name, avg(kv.value) AS value
                FROM score_values GROUP BY root_span_id, kv.key)
            GROUP BY root_span_id)"""
        joins = " LEFT JOIN score_avgs sa USING (root_span_id)"
    return f"{sql}\n        SELECT {select} FROM trace_stats t{joins})"
