"""Summaries: the row count of a dataset, and an experiment's scores and metrics compared
with a base experiment (traces matched by their root input, or by the project's comparison
key, as Braintrust does)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import orjson

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


@dataclass
class TraceSummary:
    """One trace of an experiment, rolled up."""

    # What traces are matched by: the root span's input (or the value of the project's
    # comparison key) as canonical JSON text; None matches nothing.
    key: str | None
    scores: dict[str, float] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)


def summarize_traces(
    store: Store, experiment_id: str, keys: dict[str, str] | None = None
) -> list[TraceSummary]:
    """Each trace's averaged scores and combined metrics. ``keys`` (from
    ``comparison_keys``) gives the match key of each trace by its ``root_span_id``, in place
    of the root span's input; a trace it has no key for is matched with none."""
    rows = store.read(
        lambda c: c.execute(
            # Only a root span's input is read (the match key): the others are not fetched.
            """SELECT root_span_id, is_root, CASE WHEN is_root THEN input::VARCHAR END,
                      scores::VARCHAR, metrics::VARCHAR,
                      json_extract_string(span_attributes, '$.type')
               FROM live WHERE object_type = ? AND object_id = ?
               ORDER BY root_span_id""",
            [ObjectType.EXPERIMENT.value, experiment_id],
        ).fetchall()
    )
    traces: dict[str, dict] = {}
    for root_span_id, is_root, input_text, scores_text, metrics_text, span_type in rows:
        acc = traces.setdefault(
            root_span_id, {"key": None, "scores": {}, "metrics": {}, "ttft": []}
        )
        metrics = orjson.loads(metrics_text) if metrics_text else {}
        if is_root:
            acc["key"] = match_key(input_text)
            start, end = metrics.get("start"), metrics.get("end")
            if _num(start) and _num(end):
                acc["metrics"]["duration"] = end - start
        for name, value in (orjson.loads(scores_text) if scores_text else {}).items():
            if _num(value):
                acc["scores"].setdefault(name, []).append(value)
        for name, _unit, how in TRACE_METRICS:
            if how == "sum" and _num(metrics.get(name)):
                acc["metrics"][name] = acc["metrics"].get(name, 0) + metrics[name]
            if how == "sum_total" and (total := span_total_tokens(metrics)) is not None:
                acc["metrics"][name] = acc["metrics"].get(name, 0) + total
            if how == "sum_llm" and span_type == "llm":
                start, end = metrics.get("start"), metrics.get("end")
                if _num(start) and _num(end):
                    acc["metrics"][name] = acc["metrics"].get(name, 0) + (end - start)
            if how == "avg_llm" and span_type == "llm" and _num(metrics.get(name)):
                acc["ttft"].append(metrics[name])
        for name, value in metrics.items():
            if name not in _FIXED_METRICS and name not in _FEEDING_METRICS and _num(value):
                acc["metrics"][name] = acc["metrics"].get(name, 0) + value
    result = []
    for root_span_id, acc in traces.items():
        scores = {name: sum(v) / len(v) for name, v in acc["scores"].items()}
        if acc["ttft"]:
            acc["metrics"]["time_to_first_token"] = sum(acc["ttft"]) / len(acc["ttft"])
        key = keys.get(root_span_id) if keys is not None else acc["key"] or root_span_id
        result.append(TraceSummary(key, scores, acc["metrics"]))
    return result


def span_total_tokens(metrics: dict) -> float | None:
    """A span's total tokens: its ``total_tokens``, else ``tokens`` (what the SDK's model
    wrappers log), else prompt + completion tokens (either alone counts: an embedding call
    has prompt tokens only). The same rule as the BTQL summary's ``metrics.total_tokens``."""
    for key in ("total_tokens", "tokens"):
        if _num(metrics.get(key)):
            return metrics[key]
    parts = [metrics[k] for k in ("prompt_tokens", "completion_tokens") if _num(metrics.get(k))]
    return sum(parts) if parts else None


def match_key(input_text: str | None) -> str:
    """The JSON text traces are matched by: equal inputs give equal keys, whatever the
    order of their objects' keys and however their numbers are written (``1`` and ``1.0``)."""
    if input_text is None:
        return "null"
    return canonical(orjson.loads(input_text))


def canonical(value) -> str:
    """A value as canonical JSON text: keys sorted, ``1`` and ``1.0`` alike."""
    return orjson.dumps(_same_numbers(value), option=orjson.OPT_SORT_KEYS).decode()


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


def _num(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _same(a: float, b: float) -> bool:
    """Whether two averages are equal but for floating-point rounding (the average of the
    trials 0.1 and 0.2 is 0.15000000000000002): such a pair is no change."""
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _by_input(traces: list[TraceSummary], attr: str, name: str) -> dict[str, float]:
    """The mean of score or metric ``name`` over the traces of each input that have it."""
    values: dict[str, list[float]] = {}
    for trace in traces:
        if trace.key is not None and name in getattr(trace, attr):
            values.setdefault(trace.key, []).append(getattr(trace, attr)[name])
    return {key: sum(v) / len(v) for key, v in values.items()}


def compare_experiments(
    current: list[TraceSummary], base: list[TraceSummary] | None
) -> tuple[dict, dict]:
    """Scores and metrics of ``current`` with improvements and regressions against ``base``.

    A higher score is better; a lower metric (time, tokens, cost) is better. Traces with the
    same input (the trials of one example) are compared as one: their average on each side,
    so each input is one improvement, one regression or neither. ``diff`` compares the
    means, present only when the base has that score or metric: for a score their
    difference (0.8 against 0.7 is +0.1), for a metric the change relative to the base's
    (1.2 s against 1.0 s is +0.2), as the SDK prints both as percentages (``+10.00%``,
    ``+20.00%``); a metric whose base mean is 0 has no ``diff``.
    """

    def summarise(attr: str, names: list[str], higher_is_better: bool):
        out = {}
        for name in names:
            values = [getattr(t, attr)[name] for t in current if name in getattr(t, attr)]
            if not values:
                continue
            improvements = regressions = 0
            ours, theirs = _by_input(current, attr, name), _by_input(base or [], attr, name)
            for key, value in ours.items():
                if key not in theirs:
                    continue
                delta = value - theirs[key]
                if _same(value, theirs[key]):
                    continue  # equal up to rounding: (0.1 + 0.2) / 2 against 0.15
                if (delta > 0) == higher_is_better:
                    improvements += 1
                else:
                    regressions += 1
            entry = {"name": name, "improvements": improvements, "regressions": regressions}
            mean = _mean(values)
            base_values = [getattr(t, attr)[name] for t in base or [] if name in getattr(t, attr)]
            if base_values:
                base_mean = _mean(base_values)
                if higher_is_better:  # a score
                    entry["diff"] = mean - base_mean
                elif base_mean != 0:  # a metric
                    entry["diff"] = (mean - base_mean) / base_mean
                if "diff" in entry and _same(mean, base_mean):
                    entry["diff"] = 0.0  # rounding only (the SDK prints "-", not "+00.00%")
            out[name] = (mean, entry)
        return out

    score_names = sorted({n for t in current for n in t.scores})
    scores = {
        name: {"name": name, "score": mean, **{k: v for k, v in e.items() if k != "name"}}
        for name, (mean, e) in summarise("scores", score_names, True).items()
    }
    units = {name: unit for name, unit, _ in TRACE_METRICS}
    metric_names = [n for n, _, _ in TRACE_METRICS if any(n in t.metrics for t in current)]
    metric_names += sorted({n for t in current for n in t.metrics} - _FIXED_METRICS)
    metrics = {
        name: {
            "name": name,
            "metric": mean,
            "unit": units.get(name, ""),
            **{k: v for k, v in e.items() if k != "name"},
        }
        for name, (mean, e) in summarise("metrics", metric_names, False).items()
    }
    return scores, metrics


def dataset_total(store: Store, dataset_id: str) -> int:
    return count_rows(store, ObjectRef(ObjectType.DATASET, dataset_id))
