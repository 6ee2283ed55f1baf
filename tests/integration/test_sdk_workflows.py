"""Whole workflows of the official ``braintrust`` SDK, unmodified, against a real server:
an ``Eval`` as a user writes one, spans continued across processes, scorers reading their
trace, an eval over the base experiment's rows (test_sdk.py has the single calls)."""

from __future__ import annotations

import subprocess
import sys

import braintrust
import pytest
from braintrust import Eval, Score

from tests.integration.test_sdk import _fetch_all, _project_id, _project_name


def exact(input, output, expected):
    return 1.0 if output == expected else 0.0


class Closeness:
    """An autoevals-style scorer: a class whose instances are called."""

    def __call__(self, input, output, expected=None, **kwargs):
        return Score(name="closeness", score=1.0 / (1 + abs(output - expected)), metadata={"d": 1})


def parity(output, expected):
    """One scorer, two scores."""
    return [Score(name="even", score=float(output % 2 == 0)), Score(name="same", score=1.0)]


def test_eval_over_a_dataset_with_trials_against_a_named_base(sdk_env):
    """Several scorers (a function, a class, one giving two scores), ``trial_count``,
    experiment ``metadata``/``tags``/``description``, data from ``init_dataset`` (each row's
    ``origin`` links back to the dataset row) and the summary against
    ``base_experiment_name``, as the SDK prints and returns it."""
    project = _project_name("eval")
    dataset = braintrust.init_dataset(project=project, name="cases")
    for q in (1, 2, 3):
        dataset.insert(id=f"case-{q}", input={"q": q}, expected=q * 2)
    dataset.flush()
    scorers = [exact, Closeness(), parity]

    base = Eval(
        project,
        data=braintrust.init_dataset(project=project, name="cases"),
        task=lambda input: input["q"] * 2,
        scores=scorers,
        trial_count=2,
        metadata={"model": "m1"},
        tags=["nightly"],
        description="doubling",
        experiment_name="base",
    )
    assert {r.scores["exact"] for r in base.results} == {1.0}
    assert base.summary.scores["exact"].score == 1.0

    # q=1 stays right (2), q=2 and q=3 go wrong: two regressions of ``exact``.
    candidate = Eval(
        project,
        data=braintrust.init_dataset(project=project, name="cases"),
        task=lambda input: 2 if input["q"] == 1 else input["q"] * 3,
        scores=scorers,
        trial_count=2,
        metadata={"model": "m2"},
        experiment_name="candidate",
        base_experiment_name="base",
    )
    summary = candidate.summary
    assert summary.comparison_experiment_name == "base"
    assert set(summary.scores) == {"exact", "closeness", "even", "same"}
    assert summary.scores["exact"].score == pytest.approx(1 / 3)
    assert (summary.scores["exact"].improvements, summary.scores["exact"].regressions) == (0, 2)
    assert summary.scores["exact"].diff == pytest.approx(-2 / 3)
    assert summary.scores["same"].diff == 0
    assert "duration" in summary.metrics

    with sdk_env.client() as client:
        record = client.get(f"/v1/experiment/{candidate.summary.experiment_id}").json()
        base_record = client.get(f"/v1/experiment/{base.summary.experiment_id}").json()
    assert record["base_exp_id"] == base.summary.experiment_id
    assert record["metadata"] == {"model": "m2"}
    assert record["dataset_id"] == dataset.id
    assert (base_record["tags"], base_record["description"]) == (["nightly"], "doubling")

    rows = _fetch_all(sdk_env, "experiment", candidate.summary.experiment_id)
    roots = [r for r in rows if r["span_attributes"]["type"] == "eval"]
    assert len(roots) == 6  # three cases, two trials each
    for root in roots:
        assert root["is_root"] and root["span_parents"] in (None, [])
        origin = root["origin"]
        assert (origin["object_type"], origin["object_id"]) == ("dataset", dataset.id)
        assert origin["id"] == f"case-{root['input']['q']}"
    scored = [r for r in rows if r["span_attributes"]["type"] == "score"]
    assert len(scored) == 6 * len(scorers)
    assert all(r["root_span_id"] in {root["root_span_id"] for root in roots} for r in scored)


def test_a_span_exported_to_another_process_is_continued_and_updated(sdk_env):
    """``span.export()`` handed to another process (``start_span(parent=…)`` there), a
    ``span.log`` after ``end``, and ``update_span`` from the exported string."""
    project = _project_name("export")
    logger = braintrust.init_logger(project=project)
    root = logger.start_span(name="request", input="question")
    exported = root.export()
    root.end()
    root.log(output="late answer")  # after end: merged into the same row
    logger.flush()

    child = f"""
import braintrust
braintrust.init_logger(project={project!r})
with braintrust.start_span(name="worker", parent={exported!r}) as span:
    span.log(input="work item", output="done")
braintrust.flush()
"""
    subprocess.run([sys.executable, "-c", child], check=True, timeout=120)
    braintrust.update_span(exported, metadata={"reviewed": True})
    braintrust.flush()

    rows = {
        r["span_attributes"]["name"]: r
        for r in _fetch_all(sdk_env, "project_logs", _project_id(sdk_env, project))
    }
    assert set(rows) == {"request", "worker"}
    request, worker = rows["request"], rows["worker"]
    assert (request["input"], request["output"]) == ("question", "late answer")
    assert request["metadata"] == {"reviewed": True}
    assert worker["span_parents"] == [request["span_id"]]
    assert worker["root_span_id"] == request["root_span_id"]
    assert worker["output"] == "done"


def test_a_scorer_reads_its_trace_through_btql(sdk_env):
    """A scorer taking ``trace`` fetches the case's spans (``trace.get_spans``, by type and
    by metadata); with the SDK's local span cache off it reads them from the server."""
    project = _project_name("trace")
    braintrust.login()
    braintrust.logger._state.span_cache.disable()  # noqa: SLF001 (read from the server)
    seen = {}

    @braintrust.traced(type="llm", name="call-model")
    def call_model(x):
        braintrust.current_span().log(metadata={"model": "small"})
        return x + 1

    async def spans(output, trace):
        names = sorted(s.span_attributes["name"] for s in await trace.get_spans())
        llm = await trace.get_spans(span_type=["llm"])
        small = await trace.get_spans(filters={"metadata": {"model": "small"}})
        seen[output] = (names, len(llm), len(small))
        return 1.0

    result = Eval(project, data=[{"input": 1}, {"input": 2}], task=call_model, scores=[spans])
    assert [r.error for r in result.results] == [None, None]
    assert seen == {
        2: (["call-model", "eval", "task"], 1, 1),
        3: (["call-model", "eval", "task"], 1, 1),
    }


def test_an_eval_over_the_base_experiment_with_uuid_span_ids(sdk_env, monkeypatch):
    """``Eval(data=BaseExperiment())`` reruns the base experiment's cases. The SDK keeps the
    rows whose ``root_span_id`` equals their ``span_id``, which holds only for its legacy
    UUID ids (``BRAINTRUST_LEGACY_IDS=1``; with its default hex ids a root span's ids
    differ, and the SDK finds no case, against Braintrust too): see docs/sdk.md."""
    from braintrust import BaseExperiment

    monkeypatch.setenv("BRAINTRUST_LEGACY_IDS", "1")
    project = _project_name("base-data")
    first = Eval(
        project,
        data=[{"input": q, "expected": q * 2} for q in (1, 2, 3)],
        task=lambda q: q * 2,
        scores=[exact],
        experiment_name="first",
    )
    assert first.summary.scores["exact"].score == 1.0
    rerun = Eval(project, data=BaseExperiment(), task=lambda q: q * 2, scores=[exact])
    assert sorted(r.input for r in rerun.results) == [1, 2, 3]
    assert rerun.summary.comparison_experiment_name == "first"
    assert rerun.summary.scores["exact"].score == 1.0


def test_an_eval_rerun_into_the_same_experiment_replaces_its_cases(sdk_env):
    """``Eval(update=True)`` into the same experiment, cases with ``upsert_id``: the SDK
    replaces each root row (``id`` = the upsert_id) with one of a new ``span_id`` and
    ``root_span_id``, and logs new task and scorer spans. The first run's spans stay rows
    (a replace deletes no other row), but their traces have lost their root: summaries
    (``summarize``, the summary shape) and the traces shape show the re-run's traces only."""
    project = _project_name("rerun")
    cases = [{"input": q, "expected": q * 2, "upsert_id": f"case-{q}"} for q in (1, 2)]
    first = Eval(project, data=cases, task=lambda q: q * 3, scores=[exact], experiment_name="e")
    assert first.summary.scores["exact"].score == 0.0
    experiment_id = first.summary.experiment_id
    rerun = Eval(
        project, data=cases, task=lambda q: q * 2, scores=[exact], experiment_name="e", update=True
    )
    assert rerun.summary.experiment_id == experiment_id
    assert rerun.summary.scores["exact"].score == 1.0  # (was 0.5: the first run's spans too)

    rows = _fetch_all(sdk_env, "experiment", experiment_id)
    roots = [r for r in rows if r["is_root"]]
    assert sorted(r["id"] for r in roots) == ["case-1", "case-2"]
    assert {r["output"] for r in roots} == {2, 4}
    assert len(rows) == 2 + 2 * 2 * 2  # the roots, and each run's task and scorer spans
    with sdk_env.client() as client:
        answer = client.get(f"/v1/experiment/{experiment_id}/summarize").json()
        query = f"select: * | from: experiment('{experiment_id}') summary"
        summary = client.post("/btql", json={"query": query}).json()["data"]
        query = f"from: experiment('{experiment_id}') summary | measures: count(1) AS n"
        counted = client.post("/btql", json={"query": query}).json()["data"]
        query = f"select: id, root_span_id | from: experiment('{experiment_id}') traces"
        traces = client.post("/btql", json={"query": query}).json()["data"]
    assert answer["scores"]["exact"]["score"] == 1.0
    assert sorted(r["id"] for r in summary) == ["case-1", "case-2"]
    assert {r["scores"]["exact"] for r in summary} == {1.0}
    assert {r["span_type_info"]["span_count"] for r in summary} == {3}
    assert counted == [{"n": 2}]
    # The traces shape too: the re-run's two traces, each its root and two spans.
    assert {r["root_span_id"] for r in traces} == {r["root_span_id"] for r in roots}
    assert len(traces) == 2 * 3
