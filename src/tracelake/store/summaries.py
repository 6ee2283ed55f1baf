"""Summaries: the row count of a dataset, and an experiment's scores and metrics compared
with a base experiment (traces matched by their root input, or by the project's comparison
key, as Braintrust does)."""

from __future__ import annotations

import math
import re
from concurrent.futures import ThreadPoolExecutor

import orjson
import pyarrow as pa

from tracelake.model.objects import ObjectRef, ObjectType
from tracelake.store.events import count_rows
from tracelake.store.store import Store

# Metrics summarised per trace: (name, unit, how the trace's spans combine).
TRACE_METRICS = (
    ("duration", "s", "root"),
    ("llm_duration", "s", "sum_llm"),
    ("prompt_tokens", "tok", "sum"),
    ("completion_tokens", "tok", "sum"),
    ("prompt_cached_tokens", "tok", "sum"),
    ("prompt_cache_creation_tokens", "tok", "sum"),
    ("total_tokens", "tok", "sum_total"),
    ("estimated_cost", "$", "sum"),
    ("time_to_first_token", "s", "avg_llm"),
)
# Metric keys that feed the ones above rather than being summarised under their own name.
# Any other numeric metric (a custom one such as ``latency_ms``) is summed over the trace's
# spans, with no unit, as Braintrust summarises every metric an experiment logs.
_FEEDING_METRICS = frozenset({"start", "end", "tokens"})
_FIXED_METRICS = frozenset(name for name, _, _ in TRACE_METRICS)


# Whether two means are equal but for floating-point rounding (math.isclose, as ``_same``).
_SAME = "abs({a} - {b}) <= greatest(1e-9 * greatest(abs({a}), abs({b})), 1e-12)"
# The span metrics each fixed metric is made of (duration and llm_duration: both).
_MADE_OF = {
    "duration": ("start", "end"),
    "llm_duration": ("start", "end"),
    "prompt_tokens": ("prompt_tokens",),
    "completion_tokens": ("completion_tokens",),
    "prompt_cached_tokens": ("prompt_cached_tokens",),
    "prompt_cache_creation_tokens": ("prompt_cache_creation_tokens",),
    "total_tokens": ("total_tokens", "tokens", "prompt_tokens", "completion_tokens"),
    "estimated_cost": ("estimated_cost",),
    "time_to_first_token": ("time_to_first_token",),
}
# Metrics read from each span: those the fixed metrics are made of.
_SPAN_METRICS = (
    "start",
    "end",
    "tokens",
    "total_tokens",
    "prompt_tokens",
    "completion_tokens",
    "prompt_cached_tokens",
    "prompt_cache_creation_tokens",
    "estimated_cost",
    "time_to_first_token",
)


def experiment_summary(
    store: Store,
    experiment_id: str,
    base_id: str | None,
    key_values: str | None = None,
) -> tuple[dict, dict]:
    """The scores and metrics of an experiment with improvements and regressions against
    the experiment ``base_id`` (none when None; the experiment itself compares as equal).

    Each trace's scores are averaged over its spans and its metrics combined (a score or
    metric is left out where a span's value is not a number). A trace whose root span left
    it (``traces.root_left_xact``: an ``Eval`` re-run with ``upsert_id`` replaced its root
    row into a new trace) is not counted; one that never had its root is:

    * ``duration``: the root span's end − start; ``llm_duration``: the sum of end − start of
      its ``llm`` spans; ``time_to_first_token``: the mean over its ``llm`` spans;
    * ``total_tokens``: the sum over its spans of each span's ``total_tokens``, else
      ``tokens`` (what the SDK's model wrappers log), else prompt + completion tokens
      (either alone counts: an embedding call has prompt tokens only), the BTQL summary's rule;
    * the other token metrics, ``estimated_cost`` and any custom metric: the sum.

    Traces are matched by their root span's input as canonical JSON (``match_key``; a trace
    without a root span by its ``root_span_id``), or, with ``key_values`` (SQL of
    (object_id, root_span_id, value) for the root spans of both experiments, a value as
    JSON text: the project's comparison key, ``comparison_key_sql``), by their root's
    value as canonical JSON (a trace without one, or whose value is null, matches nothing).
    Traces with the same key (the trials of one example) are compared
    as one: their average on each side, so each key is one improvement, one regression or
    neither. A higher score is better; a lower metric (time, tokens, cost) is better.

    ``diff`` compares the means over traces, present only when the base has that score or
    metric: for a score their difference (0.8 against 0.7 is +0.1), for a metric the change
    relative to the base's (1.2 s against 1.0 s is +0.2), as the SDK prints both as
    percentages (``+10.00%``, ``+20.00%``); a metric whose base mean is 0 has no ``diff``.

    One query does it all (one pass over each experiment's spans, the comparison a hash
    join); only the canonical form of the root inputs (or key values) is computed here,
    while DuckDB looks for the names of the scores and metrics (its query leaves the GIL
    free).
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        key_table = pool.submit(_key_table, store, experiment_id, base_id, key_values)
        score_names, metric_keys = _names(store, experiment_id)
        key_table = key_table.result()
    custom = sorted(set(metric_keys) - _FIXED_METRICS - _FEEDING_METRICS)
    span_metrics = [name for name in _SPAN_METRICS if name in metric_keys]
    sql = _summary_sql(score_names, span_metrics, custom, key_values)
    if sql is None:
        return {}, {}  # no span has a score or a metric to summarise

    def run(c) -> dict:
        c.register("summary_keys", key_table)
        try:
            cursor = c.execute(sql, [ObjectType.EXPERIMENT.value, experiment_id, base_id or ""])
            names = [d[0] for d in cursor.description]
            (values,) = cursor.fetchall()  # (all: the cursor must be done before unregister)
            return dict(zip(names, values, strict=True))
        finally:
            c.unregister("summary_keys")

    row = store.read(run)

    def entries(names: list[tuple[str, str]], higher_is_better: bool) -> dict[str, tuple]:
        out = {}
        for name, column in names:
            mean = row.get(f"mean_{column}")  # (None: no span has what it is made of)
            if mean is None:
                continue  # no trace has a number for it
            up, down = row[f"up_{column}"] or 0, row[f"down_{column}"] or 0
            entry = {
                "improvements": up if higher_is_better else down,
                "regressions": down if higher_is_better else up,
            }
            base_mean = row[f"base_{column}"]
            if base_mean is not None:
                if higher_is_better:  # a score
                    entry["diff"] = mean - base_mean
                elif base_mean != 0:  # a metric
                    entry["diff"] = (mean - base_mean) / base_mean
                if "diff" in entry and _same(mean, base_mean):
                    entry["diff"] = 0.0  # rounding only (the SDK prints "-", not "+00.00%")
            out[name] = (mean, entry)
        return out

    score_columns = [(name, f"s{i}") for i, name in enumerate(score_names)]
    scores = {
        name: {"name": name, "score": mean, **entry}
        for name, (mean, entry) in entries(sorted(score_columns), True).items()
    }
    units = {name: unit for name, unit, _ in TRACE_METRICS}
    metric_columns = [(name, name) for name, _, _ in TRACE_METRICS]
    metric_columns += [(name, f"c{i}") for i, name in enumerate(custom)]
    metrics = {
        name: {"name": name, "metric": mean, "unit": units.get(name, ""), **entry}
        for name, (mean, entry) in entries(metric_columns, False).items()
    }
    return scores, metrics


def _names(store: Store, experiment_id: str) -> tuple[list[str], list[str]]:
    """The score names and metric keys the experiment's spans have (sorted)."""
    row = store.read(
        lambda c: c.execute(
            # Distinct key lists first: spans mostly share a few (cheaper than every key).
            """SELECT list_distinct(flatten(list(s))), list_distinct(flatten(list(m)))
               FROM (SELECT DISTINCT json_keys(scores) AS s, json_keys(metrics) AS m
                     FROM live WHERE object_type = ? AND object_id = ?)""",
            [ObjectType.EXPERIMENT.value, experiment_id],
        ).fetchone()
    )
    return sorted(row[0] or []), sorted(row[1] or [])


def _key_table(
    store: Store, experiment_id: str, base_id: str | None, key_values: str | None
) -> pa.Table:
    """What the summary query matches traces by: (raw, key), the canonical JSON of each
    root input text (or, with ``key_values``, each value) of both experiments whose text
    is not canonical already (the stored text keeps the client's key order and its
    ``1.0``). Empty without a base or against the experiment itself: then no key is
    compared with another experiment's (the costly part: a Python call each)."""
    raw, canon = [], []
    if base_id is not None and base_id != experiment_id:
        if key_values is None:
            texts_sql = """SELECT DISTINCT coalesce(input::VARCHAR, 'null') AS text FROM live
                WHERE object_type = ? AND object_id IN (?, ?) AND is_root"""
            params = [ObjectType.EXPERIMENT.value, experiment_id, base_id]
        else:
            texts_sql = f"""SELECT DISTINCT value AS text FROM ({key_values})
                WHERE value IS NOT NULL"""
            params = []
        texts = store.read(
            lambda c: c.execute(
                # With whether orjson's text may hold a whole float (as _MAYBE_WHOLE_FLOAT).
                rf"""SELECT text, regexp_matches(text, '\.0([^0-9]|$)|[0-9][eE]')
                    FROM ({texts_sql})""",
                params,
            ).fetchall()
        )
        loads, dumps, sort_keys = orjson.loads, orjson.dumps, orjson.OPT_SORT_KEYS
        for text, whole_floats in texts:
            if whole_floats:
                key = canonical(loads(text))
            else:
                key = dumps(loads(text), option=sort_keys).decode()
            if key != text:
                raw.append(text)
                canon.append(key)
    return pa.table({"raw": pa.array(raw, pa.string()), "key": pa.array(canon, pa.string())})


def _numbers(names: list[str]) -> list[tuple[str, list[str]]]:
    """The ``json_transform`` structures that read ``names`` from a JSON object as numbers,
    each with its fields in order: several when two names differ only in case (``Accuracy``
    and ``accuracy``), which one structure cannot hold. The write path keeps only numbers
    and nulls in scores and metrics (a boolean becomes 0 or 1), so reading each value as a
    DOUBLE is the value; a missing name is NULL."""
    groups: list[list[str]] = []
    for name in names:
        group = next((g for g in groups if name.lower() not in {n.lower() for n in g}), None)
        if group is None:
            groups.append(group := [])
        group.append(name)
    return [(orjson.dumps(dict.fromkeys(g, "DOUBLE")).decode(), g) for g in groups]


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _summary_sql(
    score_names: list[str], span_metrics: list[str], custom: list[str], key_values: str | None
) -> str | None:
    """The summary query: for each score (``s0``…), fixed metric (by name) and custom metric
    (``c0``…) column, ``mean_``, ``base_`` (the base's mean), ``up_`` and ``down_`` (keys
    whose average is higher or lower than the base's, rounding aside). Parameters: $1 the
    object type, $2 the experiment id, $3 the base's ('' without one). None when there is
    nothing to summarise. ``key_values``: as ``experiment_summary``'s. ``span_metrics``:
    the metrics of ``_SPAN_METRICS`` the experiment's spans have; a fixed metric made of
    none of them is left out. Traces are grouped and matched on the md5 of their key (a
    128-bit number: cheaper to hash and compare than the JSON text)."""

    metric_names = [*span_metrics, *custom]
    extracts, span_columns = [], []
    for column, prefix, names in (("scores", "s", score_names), ("metrics", "m", metric_names)):
        if "" in names:  # (no json_transform structure can name it: read it by pointer)
            extracts.append(
                f"TRY_CAST(json_extract_string({column}, '/') AS DOUBLE) AS {prefix}_empty"
            )
            span_columns.append(f"{prefix}_empty AS {prefix}{names.index('')}")
        for n, (group, fields) in enumerate(_numbers([name for name in names if name])):
            extracts.append(f"json_transform({column}, {_literal(group)}) AS {prefix}_{n}")
            span_columns += [
                f"struct_extract_at({prefix}_{n}, {k + 1}) AS {prefix}{names.index(name)}"
                for k, name in enumerate(fields)
            ]
    m = {name: "NULL::DOUBLE" for name in _SPAN_METRICS}
    m.update({name: f"m{i}" for i, name in enumerate(metric_names)})
    pt, ct = m["prompt_tokens"], m["completion_tokens"]
    fixed = {
        "duration": f"max(CASE WHEN is_root THEN {m['end']} - {m['start']} END)",
        "llm_duration": f"sum(CASE WHEN llm THEN {m['end']} - {m['start']} END)",
        "prompt_tokens": f"sum({pt})",
        "completion_tokens": f"sum({ct})",
        "prompt_cached_tokens": f"sum({m['prompt_cached_tokens']})",
        "prompt_cache_creation_tokens": f"sum({m['prompt_cache_creation_tokens']})",
        "total_tokens": f"""sum(coalesce({m["total_tokens"]}, {m["tokens"]},
            CASE WHEN {pt} IS NOT NULL OR {ct} IS NOT NULL
                 THEN coalesce({pt}, 0) + coalesce({ct}, 0) END))""",
        "estimated_cost": f"sum({m['estimated_cost']})",
        "time_to_first_token": f"avg(CASE WHEN llm THEN {m['time_to_first_token']} END)",
    }
    have = set(span_metrics)  # (a fixed metric made of none of them would be all NULL)
    fixed = {
        name: sql
        for name, sql in fixed.items()
        if (all if name in ("duration", "llm_duration") else any)(n in have for n in _MADE_OF[name])
    }
    trace_columns = [f"avg(s{i}) AS s{i}" for i in range(len(score_names))]
    trace_columns += [f"{sql} AS {name}" for name, sql in fixed.items()]
    trace_columns += [f"sum({m[name]}) AS c{i}" for i, name in enumerate(custom)]
    columns = [f"s{i}" for i in range(len(score_names))]
    columns += list(fixed)
    columns += [f"c{i}" for i in range(len(custom))]
    if not columns:
        return None
    if key_values is not None:
        # (a trace with two root spans takes one of their values)
        key_join = f"""LEFT JOIN (SELECT object_id, root_span_id, md5_number(max(value)) AS raw
                                  FROM ({key_values}) GROUP BY ALL) v
                           ON v.object_id = t.object_id AND v.root_span_id = t.root_span_id
                       LEFT JOIN (SELECT md5_number(raw) AS raw, md5_number(key) AS key
                                  FROM summary_keys) k ON k.raw = v.raw"""
        key = "coalesce(k.key, v.raw)"
    else:
        key_join = """LEFT JOIN (SELECT md5_number(raw) AS raw, md5_number(key) AS key
                                 FROM summary_keys) k ON k.raw = t.raw_key"""
        key = """CASE WHEN t.raw_key IS NULL THEN md5_number(t.root_span_id)
                      ELSE coalesce(k.key, t.raw_key) END"""
    same = {c: _SAME.format(a=f"a.{c}", b=f"b.{c}") for c in columns}
    means = [f"avg({c}) FILTER (WHERE object_id = $2) AS mean_{c}" for c in columns]
    means += [f"avg({c}) FILTER (WHERE object_id = $3) AS base_{c}" for c in columns]
    pairs = [f"count(*) FILTER (WHERE a.{c} > b.{c} AND NOT {same[c]}) AS up_{c}" for c in columns]
    pairs += [
        f"count(*) FILTER (WHERE a.{c} < b.{c} AND NOT {same[c]}) AS down_{c}" for c in columns
    ]
    return f"""
    WITH spans AS (
        SELECT object_id, root_span_id, is_root,
               CASE WHEN is_root THEN md5_number(coalesce(input::VARCHAR, 'null')) END
                   AS raw_key,
               -- (a span whose text has no "llm" is not parsed: most are not LLM calls)
               CASE WHEN contains(span_attributes::VARCHAR, '"llm"')
                    THEN coalesce(json_extract_string(span_attributes, '$.type') = 'llm', false)
                    ELSE false END AS llm,
               {", ".join(extracts)}
        FROM live WHERE object_type = $1 AND object_id IN ($2, $3)
          -- (not the spans of a trace whose root span left it: root_left_xact)
          AND NOT EXISTS (SELECT 1 FROM traces t WHERE t.object_type = $1
              AND t.object_id = live.object_id AND t.root_span_id = live.root_span_id
              AND t.root_left_xact > 0)
    ), span_values AS (
        SELECT object_id, root_span_id, is_root, raw_key, llm, {", ".join(span_columns)}
        FROM spans
    ), per_trace AS (
        SELECT object_id, root_span_id, max(raw_key) AS raw_key, {", ".join(trace_columns)}
        FROM span_values GROUP BY object_id, root_span_id
    ), keyed AS (
        SELECT t.*, {key} AS key FROM per_trace t {key_join}
    ), means AS (
        SELECT {", ".join(means)} FROM keyed
    ), by_key AS (
        SELECT object_id, key, {", ".join(f"avg({c}) AS {c}" for c in columns)}
        FROM keyed WHERE key IS NOT NULL GROUP BY object_id, key
    ), pairs AS (
        SELECT {", ".join(pairs)}
        FROM by_key a JOIN by_key b ON a.key = b.key AND a.object_id = $2 AND b.object_id = $3
    )
    SELECT * FROM means, pairs"""


def match_key(input_text: str | None) -> str:
    """The JSON text traces are matched by: equal inputs give equal keys, whatever the
    order of their objects' keys and however their numbers are written (``1`` and ``1.0``)."""
    if input_text is None:
        return "null"
    return canonical(orjson.loads(input_text))


# Where orjson's text may hold a whole float: ``1.0``, or an exponent (``1e16``). Text
# without one (most inputs) is canonical as written; a match inside a string only costs
# the slower rewrite.
_MAYBE_WHOLE_FLOAT = re.compile(rb"\.0(?![0-9])|[0-9][eE]")


def canonical(value) -> str:
    """A value as canonical JSON text: keys sorted, ``1`` and ``1.0`` alike."""
    text = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    if _MAYBE_WHOLE_FLOAT.search(text):
        text = orjson.dumps(_same_numbers(value), option=orjson.OPT_SORT_KEYS)
    return text.decode()


def _same_numbers(value):
    """``value`` with whole floats as ints: ``1.0`` and ``1`` are the same JSON number (the
    Python SDK writes ``1.0`` where another client writes ``1``)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)  # (a larger one stays a float: JSON's integers here are 64-bit)
    if isinstance(value, dict):
        return {key: _same_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_same_numbers(item) for item in value]
    return value


def _same(a: float, b: float) -> bool:
    """Whether two averages are equal but for floating-point rounding (the average of the
    trials 0.1 and 0.2 is 0.15000000000000002): such a pair is no change."""
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def dataset_total(store: Store, dataset_id: str) -> int:
    return count_rows(store, ObjectRef(ObjectType.DATASET, dataset_id))
