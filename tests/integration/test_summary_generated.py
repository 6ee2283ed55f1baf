"""Experiment summaries (one SQL query) checked against plain Python on generated experiments:
trials of one input, inputs equal but for key order or ``1.0``, scores and metrics on any
span, values that are not numbers, traces without a root span, odd score names."""

from __future__ import annotations

import math
import random

import orjson
import pytest

from tracelake.export.comparisons import comparison_key_sql
from tracelake.store.catalog import Catalog, Principal, bootstrap
from tracelake.store.events import prepare_batch
from tracelake.store.store import Store
from tracelake.store.summaries import TRACE_METRICS, canonical, experiment_summary, match_key

# -- the reference: per trace in Python, from the stored rows -----------------------------------


def _num(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _reference_traces(store: Store, experiment_id: str, keys: dict | None) -> list[tuple]:
    """(key, scores, metrics) of each trace, as docs/api.md "Experiment summaries" says."""
    rows = store.read(
        lambda c: c.execute(
            """SELECT root_span_id, is_root, input::VARCHAR, scores::VARCHAR, metrics::VARCHAR,
                      json_extract_string(span_attributes, '$.type')
               FROM live WHERE object_type = 'experiment' AND object_id = ?""",
            [experiment_id],
        ).fetchall()
    )
    traces: dict[str, list] = {}
    for row in rows:
        traces.setdefault(row[0], []).append(row)
    out = []
    for root_span_id, spans in traces.items():
        roots = [s for s in spans if s[1]]
        scores: dict[str, list] = {}
        metrics: dict[str, float] = {}
        ttft = []
        for _, is_root, _, scores_text, metrics_text, kind in spans:
            for name, value in orjson.loads(scores_text or "{}").items():
                if _num(value):
                    scores.setdefault(name, []).append(value)
            m = orjson.loads(metrics_text or "{}")
            elapsed = m["end"] - m["start"] if _num(m.get("start")) and _num(m.get("end")) else None
            if is_root and elapsed is not None:
                metrics["duration"] = elapsed
            if kind == "llm" and elapsed is not None:
                metrics["llm_duration"] = metrics.get("llm_duration", 0) + elapsed
            if kind == "llm" and _num(m.get("time_to_first_token")):
                ttft.append(m["time_to_first_token"])
            total = next((m[k] for k in ("total_tokens", "tokens") if _num(m.get(k))), None)
            parts = [m[k] for k in ("prompt_tokens", "completion_tokens") if _num(m.get(k))]
            if total is None and parts:
                total = sum(parts)
            if total is not None:
                metrics["total_tokens"] = metrics.get("total_tokens", 0) + total
            for name, value in m.items():
                summed = name not in {"start", "end", "tokens", "total_tokens", "duration"}
                summed = summed and name not in {"llm_duration", "time_to_first_token"}
                if summed and _num(value):
                    metrics[name] = metrics.get(name, 0) + value
        if ttft:
            metrics["time_to_first_token"] = sum(ttft) / len(ttft)
        if keys is not None:
            key = keys.get(root_span_id)
        else:
            key = match_key(roots[0][2]) if roots else root_span_id
        out.append((key, {n: sum(v) / len(v) for n, v in scores.items()}, metrics))
    return out


def _reference(current: list[tuple], base: list[tuple] | None) -> tuple[dict, dict]:
    def by_key(traces, index, name):
        values: dict[str, list] = {}
        for trace in traces:
            if trace[0] is not None and name in trace[index]:
                values.setdefault(trace[0], []).append(trace[index][name])
        return {k: sum(v) / len(v) for k, v in values.items()}

    def entry(index, name, higher_is_better):
        values = [t[index][name] for t in current if name in t[index]]
        base_values = [t[index][name] for t in base or [] if name in t[index]]
        ours, theirs = by_key(current, index, name), by_key(base or [], index, name)
        better = worse = 0
        for key, value in ours.items():
            if key in theirs and not math.isclose(value, theirs[key], rel_tol=1e-9, abs_tol=1e-12):
                if (value > theirs[key]) == higher_is_better:
                    better += 1
                else:
                    worse += 1
        out = {"improvements": better, "regressions": worse}
        mean = sum(values) / len(values)
        if base_values:
            base_mean = sum(base_values) / len(base_values)
            if higher_is_better:
                out["diff"] = mean - base_mean
            elif base_mean:
                out["diff"] = (mean - base_mean) / base_mean
        return mean, out

    scores = {}
    for name in sorted({n for t in current for n in t[1]}):
        mean, rest = entry(1, name, True)
        scores[name] = {"name": name, "score": mean, **rest}
    units = {name: unit for name, unit, _ in TRACE_METRICS}
    metrics = {}
    for name in {n for t in current for n in t[2]}:
        mean, rest = entry(2, name, False)
        metrics[name] = {"name": name, "metric": mean, "unit": units.get(name, ""), **rest}
    return scores, metrics


def _assert_same(got: tuple[dict, dict], want: tuple[dict, dict]) -> None:
    for got_part, want_part in zip(got, want, strict=True):
        assert sorted(got_part) == sorted(want_part)
        for name, want_entry in want_part.items():
            entry = got_part[name]
            assert entry.keys() == want_entry.keys(), name
            for field, value in want_entry.items():
                if field == "diff":
                    assert entry[field] == pytest.approx(value, rel=1e-9, abs=1e-12), name
                elif isinstance(value, float):
                    assert entry[field] == pytest.approx(value, rel=1e-12), (name, field)
                else:
                    assert entry[field] == value, (name, field)


# -- generated experiments ----------------------------------------------------------------------

SCORE_NAMES = ("Factuality", "a/b", "it's", 'say "hi"', "x~y", "factuality", "", "only_some")
INPUTS = 40


def _input(rng: random.Random, n: int):
    """Input ``n``, written one of the ways equal JSON can be written."""
    if n == 0:
        return None
    if n == 1:
        return "just text"
    items = [("question", f"q{n}"), ("weight", rng.choice((2, 2.0))), ("tags", ["a", n])]
    rng.shuffle(items)  # key order differs from trace to trace
    return dict(items)


def _score_value(rng: random.Random):
    return rng.choice((0.0, 0.1, 0.2, 0.25, 0.5, 0.75, 1.0, 1, True, None, 0.3))


def _trace(rng: random.Random, n: int) -> list[dict]:
    root = f"t{rng.getrandbits(64):016x}"
    start = rng.random() * 100
    root_scores = {name: _score_value(rng) for name in SCORE_NAMES[:-1] if rng.random() < 0.9}
    if rng.random() < 0.2:
        root_scores["only_some"] = _score_value(rng)
    root_metrics = {"start": start, "end": start + rng.random() * 3}
    if rng.random() < 0.1:
        del root_metrics["end"]
    spans = [
        {
            "id": root,
            "span_id": root,
            "root_span_id": root,
            "input": _input(rng, n),
            "scores": root_scores,
            "metrics": root_metrics,
            "span_attributes": {"name": "eval", "type": "eval"},
        }
    ]
    for k in range(rng.randint(0, 3)):
        kind = rng.choice(("llm", "llm", "task", "score"))
        metrics: dict = {"start": start + k, "end": start + k + rng.random()}
        for name in ("prompt_tokens", "completion_tokens", "tokens", "total_tokens"):
            if rng.random() < 0.5:
                metrics[name] = rng.randint(0, 500)
        for name, value in (
            ("time_to_first_token", round(rng.random(), 3)),
            ("estimated_cost", rng.random() / 100),
            ("prompt_cached_tokens", rng.randint(0, 50)),
            ("retries", rng.choice((0, 1, 2, True, None))),
            ("latency ms", rng.random() * 1000),
            ("", rng.random()),
            ("Latency MS", rng.random() * 10),
        ):
            if rng.random() < 0.4:
                metrics[name] = value
        span = {
            "id": f"{root}-{k}",
            "span_id": f"{root}-{k}",
            "root_span_id": root,
            "span_parents": [root],
            "input": {"k": k},
            "metrics": metrics,
            "span_attributes": {"name": kind, "type": kind},
        }
        if kind == "score":
            span["scores"] = {rng.choice(SCORE_NAMES): _score_value(rng)}
        spans.append(span)
    if rng.random() < 0.05:  # the root span never arrived: the trace is its children
        spans = spans[1:]
    return spans


@pytest.fixture
def experiments(tmp_path):
    """A store with experiments ``current`` and ``base`` of generated traces (several trials
    of most inputs, some inputs on one side only), and the root_span_ids of each."""
    store = Store(tmp_path / "data")
    try:
        catalog = Catalog(store)
        bootstrap(catalog, "org", "tl-summary-key-0123456789")
        org = catalog.list_orgs()[0]
        principal = Principal(org["id"], org["name"], "admin", "test")
        project_id = catalog.create_project(org["id"], "summaries")["id"]
        ids, roots = {}, {}
        ids["empty"] = catalog.create_experiment(org["id"], project_id, {"name": "e"}, True)["id"]
        for seed, name in enumerate(("base", "current")):
            ids[name] = catalog.create_experiment(org["id"], project_id, {"name": name}, True)["id"]
            rng = random.Random(seed)
            rows = []
            for _ in range(150):
                rows += _trace(rng, rng.randrange(INPUTS if name == "current" else INPUTS + 10))
            rows = [{**row, "experiment_id": ids[name]} for row in rows]
            store.write(prepare_batch(catalog, principal, rows))
            roots[name] = sorted({row["root_span_id"] for row in rows})
        yield store, ids, roots
    finally:
        store.close()


def test_summary_answers_as_plain_python(experiments):
    store, ids, _ = experiments
    current = _reference_traces(store, ids["current"], None)
    base = _reference_traces(store, ids["base"], None)
    got = experiment_summary(store, ids["current"], ids["base"])
    assert got[0]["Factuality"]["improvements"] + got[0]["Factuality"]["regressions"] > 5
    _assert_same(got, _reference(current, base))
    # Without a base, and against itself (every key level, every diff 0).
    _assert_same(experiment_summary(store, ids["current"], None), _reference(current, None))
    _assert_same(
        experiment_summary(store, ids["current"], ids["current"]), _reference(current, current)
    )
    # An experiment with no spans (yet) has nothing to summarise, against any base.
    assert experiment_summary(store, ids["empty"], ids["current"]) == ({}, {})
    _assert_same(experiment_summary(store, ids["current"], ids["empty"]), _reference(current, None))


def _path(value, path: tuple[str, ...]):
    for name in path:
        value = value.get(name) if isinstance(value, dict) else None
    return value


@pytest.mark.parametrize(
    "expr", ["input", "input.question", "input.weight", "input.tags", "input.missing"]
)
def test_summary_answers_as_plain_python_on_comparison_keys(experiments, expr):
    """With a comparison key (``comparison_key_sql``: the value of a BTQL expression over
    each root span, in one query with the summary): traces match on the value as canonical
    JSON (key order, ``2`` and ``2.0`` alike); a trace without a root, or whose value is
    null, matches nothing."""
    store, ids, _ = experiments
    org = Catalog(store).list_orgs()[0]
    principal = Principal(org["id"], org["name"], "admin", "test")
    path = tuple(expr.split(".")[1:])

    def keys(experiment_id: str) -> dict[str, str]:
        roots = store.read(
            lambda c: c.execute(
                """SELECT root_span_id, input::VARCHAR FROM live
                   WHERE object_type = 'experiment' AND object_id = ? AND is_root""",
                [experiment_id],
            ).fetchall()
        )
        values = {root: _path(orjson.loads(text or "null"), path) for root, text in roots}
        return {root: canonical(v) for root, v in values.items() if v is not None}

    current = _reference_traces(store, ids["current"], keys(ids["current"]))
    base = _reference_traces(store, ids["base"], keys(ids["base"]))
    key_values = comparison_key_sql(principal, [ids["current"], ids["base"]], expr)
    got = experiment_summary(store, ids["current"], ids["base"], key_values)
    _assert_same(got, _reference(current, base))
    if expr in ("input", "input.question", "input.tags"):  # (many keys; weight is one)
        assert got[0]["Factuality"]["improvements"] + got[0]["Factuality"]["regressions"] > 5
    # Against itself, and without a base.
    key_values = comparison_key_sql(principal, [ids["current"]], expr)
    got = experiment_summary(store, ids["current"], ids["current"], key_values)
    _assert_same(got, _reference(current, current))
    _assert_same(
        experiment_summary(store, ids["current"], None, key_values), _reference(current, None)
    )


def test_inputs_equal_as_json_values_match(tmp_path):
    """Inputs written differently but equal as JSON values are one input: key order, ``1.0``
    and ``1``, ``1e16`` and its integer, ``-0.0`` and ``0``; a ``.0`` inside a string is
    text, not a number."""
    pairs = [
        ({"b": 2.0, "a": "v.0"}, {"a": "v.0", "b": 2}),
        ({"n": 1e16}, {"n": 10_000_000_000_000_000}),
        ({"x": -0.0, "y": [1.5, {"d": 1, "c": 0.0}]}, {"y": [1.5, {"c": 0, "d": 1}], "x": 0}),
        ("1.0", "1.0"),
    ]
    store = Store(tmp_path / "data")
    try:
        catalog = Catalog(store)
        bootstrap(catalog, "org", "tl-summary-key-0123456789")
        org = catalog.list_orgs()[0]
        principal = Principal(org["id"], org["name"], "admin", "test")
        project_id = catalog.create_project(org["id"], "keys")["id"]
        ids = []
        for side, score in ((0, 0.25), (1, 0.75)):
            experiment = catalog.create_experiment(org["id"], project_id, {"name": "e"}, True)
            ids.append(experiment["id"])
            rows = [
                {
                    "experiment_id": experiment["id"],
                    "id": f"r{n}",
                    "span_id": f"r{n}",
                    "root_span_id": f"r{n}",
                    "input": pair[side],
                    "scores": {"s": score},
                }
                for n, pair in enumerate(pairs)
            ]
            store.write(prepare_batch(catalog, principal, rows))
        scores, _ = experiment_summary(store, ids[1], ids[0])
        assert (scores["s"]["improvements"], scores["s"]["regressions"]) == (len(pairs), 0)
    finally:
        store.close()
