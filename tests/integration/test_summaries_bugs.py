"""Summaries and version reads checked against answers computed here, in plain Python, from
the rows each test writes (through the HTTP API of a real server, and the official SDK).

The expected summary follows docs/api.md "Experiment summaries": scores averaged per trace
over the spans that have them, then over traces; traces matched on their root span's input,
the trials of one input averaged on each side; metrics combined per trace.
"""

from __future__ import annotations

import json
import uuid

import pytest

# -- helpers ------------------------------------------------------------------------------------


def _post(client, path: str, body: dict) -> dict:
    response = client.post(path, json=body)
    assert response.status_code < 300, (path, response.status_code, response.text)
    return response.json()


def _project(client, label: str) -> dict:
    return _post(client, "/v1/project", {"name": f"sum-{label}-{uuid.uuid4().hex[:10]}"})


def _span(input, *, scores=None, metrics=None, parent=None, span_type="eval"):
    """A span event; a child when ``parent`` (a root span event) is given."""
    span_id = uuid.uuid4().hex[:16]
    event = {
        "id": uuid.uuid4().hex,
        "span_id": span_id,
        "root_span_id": parent["root_span_id"] if parent else span_id,
        "span_parents": [parent["span_id"]] if parent else None,
        "input": input,
        "span_attributes": {"type": span_type, "name": span_type},
    }
    if scores is not None:
        event["scores"] = scores
    if metrics is not None:
        event["metrics"] = metrics
    return event


def _num(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _expected_traces(spans: list[dict]) -> list[tuple[str, dict, dict]]:
    """(match key, scores, metrics) of each trace of ``spans`` (the rows as stored now)."""
    traces: dict[str, list[dict]] = {}
    for span in spans:
        traces.setdefault(span["root_span_id"], []).append(span)
    out = []
    for root_span_id, members in traces.items():
        roots = [s for s in members if not s.get("span_parents")]
        key = json.dumps(roots[0].get("input"), sort_keys=True) if roots else root_span_id
        scores: dict[str, list] = {}
        for span in members:
            for name, value in (span.get("scores") or {}).items():
                if _num(value):
                    scores.setdefault(name, []).append(value)
        metrics: dict[str, float] = {}
        if roots:
            m = roots[0].get("metrics") or {}
            if _num(m.get("start")) and _num(m.get("end")):
                metrics["duration"] = m["end"] - m["start"]
        for span in members:
            m = span.get("metrics") or {}
            kind = span["span_attributes"]["type"]
            if kind == "llm" and _num(m.get("start")) and _num(m.get("end")):
                metrics["llm_duration"] = metrics.get("llm_duration", 0) + m["end"] - m["start"]
            for name in ("prompt_tokens", "completion_tokens", "estimated_cost"):
                if _num(m.get(name)):
                    metrics[name] = metrics.get(name, 0) + m[name]
            total = m.get("total_tokens", m.get("tokens"))
            parts = [m[k] for k in ("prompt_tokens", "completion_tokens") if _num(m.get(k))]
            if total is None and parts:
                total = sum(parts)
            if _num(total):
                metrics["total_tokens"] = metrics.get("total_tokens", 0) + total
        out.append((key, {n: sum(v) / len(v) for n, v in scores.items()}, metrics))
    return out


def _expected_summary(current: list[dict], base: list[dict] | None) -> tuple[dict, dict]:
    ours, theirs = _expected_traces(current), _expected_traces(base or [])

    def side(traces, index, name):
        by_key: dict[str, list] = {}
        for trace in traces:
            if name in trace[index]:
                by_key.setdefault(trace[0], []).append(trace[index][name])
        return {k: sum(v) / len(v) for k, v in by_key.items()}

    def entry(index, name, higher_is_better):
        values = [t[index][name] for t in ours if name in t[index]]
        base_values = [t[index][name] for t in theirs if name in t[index]]
        mine, other = side(ours, index, name), side(theirs, index, name)
        better = worse = 0
        for key, value in mine.items():
            if key in other and value != other[key]:
                if (value > other[key]) == higher_is_better:
                    better += 1
                else:
                    worse += 1
        out = {"improvements": better, "regressions": worse}
        mean = sum(values) / len(values)
        if base_values:
            base_mean = sum(base_values) / len(base_values)
            if higher_is_better:  # a score: the difference
                out["diff"] = mean - base_mean
            elif base_mean:  # a metric: the change relative to the base
                out["diff"] = (mean - base_mean) / base_mean
        return mean, out

    score_names = sorted({n for t in ours for n in t[1]})
    scores = {}
    for name in score_names:
        mean, rest = entry(1, name, True)
        scores[name] = {"name": name, "score": mean, **rest}
    units = {"duration": "s", "llm_duration": "s", "estimated_cost": "$"}
    metrics = {}
    for name in {n for t in ours for n in t[2]}:
        mean, rest = entry(2, name, False)
        metrics[name] = {"name": name, "metric": mean, "unit": units.get(name, "tok"), **rest}
    return scores, metrics


def _assert_summary(got: dict, scores: dict, metrics: dict) -> None:
    assert got["scores"].keys() == scores.keys()
    for name, want in scores.items():
        assert got["scores"][name] == pytest.approx(want), name
    assert got["metrics"].keys() == metrics.keys()
    for name, want in metrics.items():
        assert got["metrics"][name] == pytest.approx(want), name


# -- experiment summaries -----------------------------------------------------------------------


def test_experiment_summary_matches_rows_written(server):
    """Matched inputs, trials, inputs on one side only, null scores, scores on child spans,
    a deleted base row, a merged score, duration, LLM time, tokens and cost."""
    with server.client() as client:
        project = _project(client, "diff")
        base_id = _post(client, "/v1/experiment", {"project_id": project["id"], "name": "a"})["id"]
        exp_id = _post(client, "/v1/experiment", {"project_id": project["id"], "name": "b"})["id"]

        a1 = _span("q1", scores={"acc": 0.5}, metrics={"start": 0, "end": 2})
        a2 = _span("q2", scores={"acc": 1.0}, metrics={"start": 0, "end": 4})
        a3 = _span("q3", scores={"acc": 0.25}, metrics={"start": 0, "end": 1})
        a5 = [_span("q5", scores={"acc": 0.25}), _span("q5", scores={"acc": 0.75})]
        a7 = _span({"x": 1, "y": 2}, scores={"acc": 0.25})
        a7c = _span(None, parent=a7, span_type="llm", metrics={"tokens": 40, "start": 0, "end": 1})
        base_rows = [a1, a2, a3, *a5, a7, a7c]
        _post(client, f"/v1/experiment/{base_id}/insert", {"events": base_rows})
        _post(
            client,
            f"/v1/experiment/{base_id}/insert",
            {"events": [{"id": a3["id"], "_object_delete": True}]},
        )
        base_rows.remove(a3)

        b1 = _span("q1", scores={"acc": 0.75, "gone": None}, metrics={"start": 10, "end": 11})
        b1c = _span(
            "llm call",
            parent=b1,
            span_type="llm",
            scores={"other": 0.5},
            metrics={
                "start": 10,
                "end": 10.5,
                "prompt_tokens": 10,
                "completion_tokens": 5,
                "tokens": 15,
                "estimated_cost": 0.25,
            },
        )
        b2 = _span("q2", scores={"acc": 0.5}, metrics={"start": 0, "end": 5})
        b3 = _span("q3", scores={"acc": 1.0})
        b5 = [_span("q5", scores={"acc": 0.5}), _span("q5", scores={"acc": 0.25})]
        b6 = _span("q6", scores={"acc": 0.0})
        b7 = _span({"y": 2, "x": 1}, scores={"acc": 0.5})
        b7c = _span(None, parent=b7, span_type="llm", metrics={"prompt_tokens": 7})
        rows = [b1, b1c, b2, b3, *b5, b6, b7, b7c]
        _post(client, f"/v1/experiment/{exp_id}/insert", {"events": rows})
        _post(
            client,
            f"/v1/experiment/{exp_id}/insert",
            {"events": [{"id": b2["id"], "_is_merge": True, "scores": {"acc": 1.0}}]},
        )
        b2["scores"] = {"acc": 1.0}

        scores, metrics = _expected_summary(rows, base_rows)
        # the case itself: q1 and {x, y} improve, q5 regresses (0.375 < 0.5), q2 is level
        assert (scores["acc"]["improvements"], scores["acc"]["regressions"]) == (2, 1)
        assert metrics["total_tokens"]["metric"] == 11
        for query in ("", f"?comparison_experiment_id={base_id}"):
            got = client.get(f"/v1/experiment/{exp_id}/summarize{query}").json()
            assert got["comparison_experiment_name"] == "a"
            _assert_summary(got, scores, metrics)

        # no base: every count is 0 and there is no diff
        alone, alone_metrics = _expected_summary(base_rows, None)
        got = client.get(f"/v1/experiment/{base_id}/summarize").json()
        assert got["comparison_experiment_name"] is None
        _assert_summary(got, alone, alone_metrics)


def test_summary_total_tokens_from_sdk_wrapper_spans(server):
    """The SDK's model wrappers log ``metrics.tokens`` (not ``total_tokens``): the summary's
    total_tokens was missing for such experiments (the BTQL summary counted them)."""
    with server.client() as client:
        project = _project(client, "tokens")
        exp_id = _post(client, "/v1/experiment", {"project_id": project["id"], "name": "e"})["id"]
        root1 = _span("a", scores={"s": 1})
        root2 = _span("b", scores={"s": 0})
        events = [
            root1,
            _span(None, parent=root1, span_type="llm", metrics={"tokens": 30, "prompt_tokens": 20}),
            _span(None, parent=root1, span_type="llm", metrics={"total_tokens": 12, "tokens": 99}),
            root2,
            _span(None, parent=root2, span_type="llm", metrics={"prompt_tokens": 3}),
            _span(None, parent=root2, span_type="llm", metrics={"completion_tokens": 4}),
        ]
        _post(client, f"/v1/experiment/{exp_id}/insert", {"events": events})
        got = client.get(f"/v1/experiment/{exp_id}/summarize").json()
        # trace 1: 30 + 12; trace 2: 3 + 4
        assert got["metrics"]["total_tokens"]["metric"] == pytest.approx((42 + 7) / 2)
        assert got["metrics"]["total_tokens"]["unit"] == "tok"
        assert got["metrics"]["prompt_tokens"]["metric"] == pytest.approx((20 + 3) / 2)


# -- links --------------------------------------------------------------------------------------


def test_summary_links_encode_slashes_in_names(sdk_env):
    """A ``/`` in a project, experiment or dataset name was left raw in the summarize routes'
    URLs (``/p/team/app/experiments/run/1``), which the UI's link route then split into
    the wrong segments; the SDK prints ``team%2Fapp``. The server's URLs now equal the
    SDK's, and the SDK's summary numbers equal the ones computed from the rows."""
    import braintrust

    server = sdk_env
    project = f"team/app #{uuid.uuid4().hex[:8]}"
    experiment = braintrust.init(project=project, experiment="run/1?x")
    for value, score in (("a", 0.25), ("b", 0.75)):
        experiment.log(input=value, output=value, scores={"acc": score})
    summary = experiment.summarize()
    assert summary.comparison.scores["acc"].score == pytest.approx(0.5)
    assert summary.comparison.scores["acc"].diff is None

    with server.client() as client:
        got = client.get(f"/v1/experiment/{experiment.id}/summarize").json()
        assert got["project_url"] == summary.project_url
        assert got["experiment_url"] == summary.experiment_url
        assert "team%2Fapp" in got["experiment_url"]
        assert got["experiment_url"].endswith("/experiments/run%2F1%3Fx")

        dataset = _post(
            client, "/v1/dataset", {"project_id": experiment.project.id, "name": "set/1"}
        )
        got = client.get(f"/v1/dataset/{dataset['id']}/summarize").json()
        assert got["project_url"] == summary.project_url
        assert got["dataset_url"] == f"{summary.project_url}/datasets/set%2F1"


def test_summary_matches_inputs_equal_as_numbers(server):
    """Inputs ``{"n": 1}`` and ``{"n": 1.0}`` are the same JSON value; the comparison
    treated them as different inputs, so the row counted as neither improved nor regressed."""
    with server.client() as client:
        project = _project(client, "numbers")
        base = _post(client, "/v1/experiment", {"project_id": project["id"], "name": "a"})["id"]
        exp = _post(client, "/v1/experiment", {"project_id": project["id"], "name": "b"})["id"]
        _post(
            client,
            f"/v1/experiment/{base}/insert",
            {"events": [_span([{"n": 1}], scores={"s": 0.5})]},
        )
        _post(
            client,
            f"/v1/experiment/{exp}/insert",
            {"events": [_span([{"n": 1.0}], scores={"s": 0.75})]},
        )
        got = client.get(f"/v1/experiment/{exp}/summarize").json()["scores"]["s"]
        assert (got["improvements"], got["regressions"]) == (1, 0)
        assert got["diff"] == pytest.approx(0.25)


def test_summary_matches_inputs_with_numbers_beyond_64_bits(server):
    """A whole float too large for a 64-bit integer (1e300) stays a float in the match key
    (writing it as an integer failed: the summary was a 500)."""
    with server.client() as client:
        project = _project(client, "huge-numbers")
        base = _post(client, "/v1/experiment", {"project_id": project["id"], "name": "a"})["id"]
        exp = _post(client, "/v1/experiment", {"project_id": project["id"], "name": "b"})["id"]
        for experiment, score in ((base, 0.5), (exp, 0.25)):
            events = [_span([{"n": 1e300}], scores={"s": score})]
            _post(client, f"/v1/experiment/{experiment}/insert", {"events": events})
        res = client.get(f"/v1/experiment/{exp}/summarize")
        assert res.status_code == 200, res.text
        got = res.json()["scores"]["s"]
        assert (got["improvements"], got["regressions"]) == (0, 1)


def test_a_metric_diff_is_the_change_relative_to_the_base(server):
    """The SDK prints a metric's diff as a percentage (Braintrust's own summaries read
    '4.67s (+309.08%) 'duration''): a trace of 1.5 s against one of 1.0 s is +0.5, +50%;
    it was the 0.5 s difference, printed as +50% only by chance of the unit."""
    with server.client() as client:
        project = _project(client, "relative-metrics")
        base = _post(client, "/v1/experiment", {"project_id": project["id"], "name": "a"})["id"]
        exp = _post(client, "/v1/experiment", {"project_id": project["id"], "name": "b"})["id"]
        for experiment, seconds, tokens in ((base, 2.0, 400), (exp, 3.0, 100)):
            metrics = {"start": 100.0, "end": 100.0 + seconds, "total_tokens": tokens}
            events = [_span([{"q": 1}], scores={"s": 0.5}, metrics=metrics)]
            _post(client, f"/v1/experiment/{experiment}/insert", {"events": events})
        got = client.get(f"/v1/experiment/{exp}/summarize").json()["metrics"]
        assert got["duration"]["diff"] == pytest.approx(0.5)
        assert got["total_tokens"]["diff"] == pytest.approx(-0.75)
        assert (got["duration"]["improvements"], got["duration"]["regressions"]) == (0, 1)


# -- the experiment compared with by default ----------------------------------------------------


def _experiments_with_scores(client, project_id: str, scores: dict[str, float], **fields):
    """Experiments named and scored as given (one trace each, one input), oldest first."""
    ids = {}
    for name, score in scores.items():
        body = {"project_id": project_id, "name": name, **fields.get(name, {})}
        ids[name] = _post(client, "/v1/experiment", body)["id"]
        events = [_span({"q": 1}, scores={"s": score})]
        _post(client, f"/v1/experiment/{ids[name]}/insert", {"events": events})
    return ids


def test_a_deleted_base_experiment_falls_back_to_the_previous_one(server):
    """An experiment whose base was deleted is compared as one without a base (with the
    previous experiment), as docs/api.md reads; it had no comparison at all."""
    with server.client() as client:
        project = _project(client, "deleted-base")
        first = _post(client, "/v1/experiment", {"project_id": project["id"], "name": "a"})
        ids = _experiments_with_scores(
            client,
            project["id"],
            {"b": 0.5, "c": 0.75},
            c={"base_exp_id": first["id"]},
        )
        assert client.delete(f"/v1/experiment/{first['id']}").status_code == 200
        got = client.get(f"/v1/experiment/{ids['c']}/summarize").json()
        assert got["comparison_experiment_name"] == "b"
        assert got["scores"]["s"]["diff"] == pytest.approx(0.25)
        assert got["scores"]["s"]["improvements"] == 1
        base = _post(client, "/api/base_experiment/get_id", {"id": ids["c"]})
        assert base == {"base_exp_id": ids["b"], "base_exp_name": "b"}


def test_the_project_default_baseline_is_compared_with(server):
    """The project's ``settings.baseline_experiment_id`` (what the web UI's "Make project
    default" sets and compares with) is the SDK's comparison too, unless the experiment names
    its own base; ``summarize()`` compared with the previous experiment, so the SDK and the
    web UI showed different improvements for one experiment."""
    with server.client() as client:
        project = _project(client, "project-baseline")
        ids = _experiments_with_scores(client, project["id"], {"a": 0.25, "b": 0.5, "c": 1.0})
        settings = {"settings": {"baseline_experiment_id": ids["a"]}}
        assert client.patch(f"/v1/project/{project['id']}", json=settings).status_code == 200
        got = client.get(f"/v1/experiment/{ids['c']}/summarize").json()
        assert got["comparison_experiment_name"] == "a"
        assert got["scores"]["s"]["diff"] == pytest.approx(0.75)
        base = _post(client, "/api/base_experiment/get_id", {"id": ids["c"]})
        assert base == {"base_exp_id": ids["a"], "base_exp_name": "a"}
        # The default baseline itself compares with the one before it (none here).
        assert (
            client.get(f"/v1/experiment/{ids['a']}/summarize").json()["comparison_experiment_name"]
            is None
        )
        # An experiment's own base comes first.
        assert client.patch(f"/v1/experiment/{ids['c']}", json={"base_exp_id": ids["b"]}).is_success
        got = client.get(f"/v1/experiment/{ids['c']}/summarize").json()
        assert got["comparison_experiment_name"] == "b"
        # A deleted default baseline counts as none: the previous experiment.
        assert client.delete(f"/v1/experiment/{ids['a']}").status_code == 200
        got = client.get(f"/v1/experiment/{ids['b']}/summarize").json()
        assert got["comparison_experiment_name"] is None
        got = client.get(f"/v1/experiment/{ids['c']}/summarize").json()
        assert got["comparison_experiment_name"] == "b"


def test_custom_metrics_are_summarised(server):
    """Every numeric metric an experiment logs is summarised, as Braintrust does: a custom
    one (``latency_ms``) summed over a trace's spans, with no unit; ``time_to_first_token``
    averaged over the llm spans, as in the BTQL summary. Only the fixed list appeared."""
    with server.client() as client:
        project = _project(client, "custom-metrics")
        base = _post(client, "/v1/experiment", {"project_id": project["id"], "name": "a"})["id"]
        exp = _post(client, "/v1/experiment", {"project_id": project["id"], "name": "b"})["id"]
        for experiment, latency in ((base, 100), (exp, 30)):
            root = _span({"q": 1}, scores={"s": 0.5}, metrics={"latency_ms": latency})
            llm = [
                _span(None, metrics={"latency_ms": 10, "time_to_first_token": t}, parent=root)
                for t in (0.25, 0.75)
            ]
            for span in llm:
                span["span_attributes"] = {"type": "llm", "name": "llm"}
            tool = _span(None, metrics={"time_to_first_token": 9, "unset": None}, parent=root)
            events = [root, *llm, tool]
            _post(client, f"/v1/experiment/{experiment}/insert", {"events": events})
        got = client.get(f"/v1/experiment/{exp}/summarize").json()["metrics"]
        assert got["latency_ms"] == {
            "name": "latency_ms",
            "metric": 50,
            "unit": "",
            "improvements": 1,
            "regressions": 0,
            "diff": pytest.approx((50 - 120) / 120),
        }
        assert got["time_to_first_token"]["metric"] == pytest.approx(0.5)
        assert got["time_to_first_token"]["unit"] == "s"
        assert "unset" not in got and "start" not in got and "tokens" not in got


def test_trial_averages_equal_but_for_rounding_are_no_change(server):
    """Trials 0.1 and 0.2 average 0.15000000000000002 in floating point: against a base of
    0.15 that is neither an improvement nor a regression (it counted as an improvement)."""
    with server.client() as client:
        project = _project(client, "float-ties")
        base = _post(client, "/v1/experiment", {"project_id": project["id"], "name": "a"})["id"]
        exp = _post(client, "/v1/experiment", {"project_id": project["id"], "name": "b"})["id"]
        # Per input, the trials of each side: q=1 (0.15 against 0.1 and 0.2), q=2 (0.7 and
        # 0.1 against 0.1, 0.7 and 0.6, which average 0.4 against 0.4666…: an improvement).
        trials = {
            base: [(1, 0.15), (2, 0.7), (2, 0.1)],
            exp: [(1, 0.1), (1, 0.2), (2, 0.1), (2, 0.7), (2, 0.6)],
        }
        for experiment, values in trials.items():
            events = [
                _span({"q": q}, scores={"s": v}, metrics={"cost_units": v}) for q, v in values
            ]
            _post(client, f"/v1/experiment/{experiment}/insert", {"events": events})
        got = client.get(f"/v1/experiment/{exp}/summarize").json()
        assert (got["scores"]["s"]["improvements"], got["scores"]["s"]["regressions"]) == (1, 0)
        metric = got["metrics"]["cost_units"]  # a higher metric is a regression
        assert (metric["improvements"], metric["regressions"]) == (0, 1)


def test_means_equal_but_for_rounding_have_no_diff(server):
    """Trials 0.1 and 0.2 against 0.15: the means differ by 2.8e-17 in floating point, a
    diff the SDK printed as "+00.00%" beside "0 improvements, 0 regressions"; it is 0."""
    with server.client() as client:
        project = _project(client, "float-diff")
        base = _post(client, "/v1/experiment", {"project_id": project["id"], "name": "a"})["id"]
        exp = _post(client, "/v1/experiment", {"project_id": project["id"], "name": "b"})["id"]
        for experiment, values in ((base, [0.15]), (exp, [0.1, 0.2])):
            events = [_span({"q": 1}, scores={"s": v}, metrics={"cost_units": v}) for v in values]
            _post(client, f"/v1/experiment/{experiment}/insert", {"events": events})
        got = client.get(f"/v1/experiment/{exp}/summarize").json()
        for entry in (got["scores"]["s"], got["metrics"]["cost_units"]):
            assert entry["diff"] == 0, entry
            assert (entry["improvements"], entry["regressions"]) == (0, 0), entry


def test_the_legacy_comparison_route_of_the_js_sdk(server):
    """``summarize()`` of the JS SDK (and of the Python SDK ≤ 0.34) asks
    ``/api/base_experiment/get_id`` for the base, then reads ``GET /experiment-comparison2
    ?experiment_id=&base_experiment_id=``; that was a 404, which the JS SDK throws, so every
    Eval with a base experiment failed at its end."""
    with server.client() as client:
        project = _project(client, "comparison2")
        ids = _experiments_with_scores(client, project["id"], {"a": 0.25, "b": 0.75})
        base = _post(client, "/api/base_experiment/get_id", {"id": ids["b"]})["base_exp_id"]
        params = {"experiment_id": ids["b"], "base_experiment_id": base}
        res = client.get("/experiment-comparison2", params=params)
        assert res.status_code == 200, res.text
        summary = client.get(f"/v1/experiment/{ids['b']}/summarize").json()
        assert res.json() == {"scores": summary["scores"], "metrics": summary["metrics"]}
        assert res.json()["scores"]["s"]["improvements"] == 1
        alone = client.get("/experiment-comparison2", params={"experiment_id": ids["b"]}).json()
        assert alone["scores"]["s"] == {
            "name": "s",
            "score": 0.75,
            "improvements": 0,
            "regressions": 0,
        }
        missing = client.get(
            "/experiment-comparison2", params={**params, "base_experiment_id": "x"}
        )
        assert missing.status_code == 404


def test_the_base_is_picked_from_the_git_commits_the_sdk_sends(server):
    """Without a named base the SDKs send ``ancestor_commits`` (the commits the code descends
    from, nearest first): Braintrust picks the base from git history, the newest experiment
    run at the nearest of them. They were ignored, so a run on a feature branch compared
    with whatever ran last (here another branch's experiment)."""
    with server.client() as client:
        project = _project(client, "ancestors")
        made = {}
        for name, commit in (("a", "c2"), ("b", "c3"), ("c", "c2"), ("d", "feature")):
            body = {"project_id": project["id"], "name": name, "repo_info": {"commit": commit}}
            made[name] = _post(client, "/v1/experiment", body)["id"]
        ancestors = ["c1", "c2", "c3"]
        body = {"project_id": project["id"], "name": "run", "ancestor_commits": ancestors}
        run = _post(client, "/v1/experiment", body)
        assert run["base_exp_id"] == made["c"]
        got = client.get(f"/v1/experiment/{run['id']}/summarize").json()
        assert got["comparison_experiment_name"] == "c"
        # A named base comes first; commits none of the experiments ran at change nothing.
        named = {**body, "name": "named", "base_exp_id": made["a"]}
        assert _post(client, "/v1/experiment", named)["base_exp_id"] == made["a"]
        other = {**body, "name": "other", "ancestor_commits": ["zz"]}
        assert _post(client, "/v1/experiment", other)["base_exp_id"] is None
        # The legacy route (the JS SDK) too.
        legacy = {
            "project_id": project["id"],
            "experiment_name": "js",
            "ancestor_commits": ancestors,
        }
        assert (
            _post(client, "/api/experiment/register", legacy)["experiment"]["base_exp_id"]
            == (made["c"])
        )


def test_traces_are_matched_on_the_project_comparison_key(server):
    """A project's ``settings.comparison_key`` is "the key used to join two experiments
    (defaults to input)", and the web UI's comparison matches rows on it; ``summarize()``
    matched on the input all the same, so the SDK and the web UI counted different
    improvements (here the inputs differ in a timestamp, so nothing matched)."""
    with server.client() as client:
        project = _project(client, "comparison-key")
        base = _post(client, "/v1/experiment", {"project_id": project["id"], "name": "a"})["id"]
        exp = _post(client, "/v1/experiment", {"project_id": project["id"], "name": "b"})["id"]
        cases = {base: {"c1": 0.25, "c2": 0.75, "c3": 0.5}, exp: {"c1": 0.5, "c2": 0.5, "c3": 1}}
        for experiment, scores in cases.items():
            events = [
                _span({"case": case, "at": experiment}, scores={"s": score})
                for case, score in scores.items()
            ]
            events.append(_span({"at": experiment}, scores={"s": 0}))  # no case: no key
            _post(client, f"/v1/experiment/{experiment}/insert", {"events": events})
        by_input = client.get(f"/v1/experiment/{exp}/summarize").json()["scores"]["s"]
        assert (by_input["improvements"], by_input["regressions"]) == (0, 0)

        settings = {"settings": {"comparison_key": "input.case"}}
        assert client.patch(f"/v1/project/{project['id']}", json=settings).is_success
        got = client.get(f"/v1/experiment/{exp}/summarize").json()["scores"]["s"]
        assert (got["improvements"], got["regressions"]) == (2, 1)
        legacy = client.get(
            "/experiment-comparison2", params={"experiment_id": exp, "base_experiment_id": base}
        ).json()["scores"]["s"]
        assert legacy == got

        # A key that is not one expression is refused; one naming no field fails the summary.
        for bad in ("input.case +", "input) | sort: (id", 3):
            settings = {"settings": {"comparison_key": bad}}
            res = client.patch(f"/v1/project/{project['id']}", json=settings)
            assert res.status_code == 400, bad
            assert "comparison_key" in res.json()["error"]["message"]
        assert client.get(f"/v1/project/{project['id']}").json()["settings"] == {
            "comparison_key": "input.case"
        }
        settings = {"settings": {"comparison_key": "nosuchfield"}}
        assert client.patch(f"/v1/project/{project['id']}", json=settings).is_success
        res = client.get(f"/v1/experiment/{exp}/summarize")
        assert res.status_code == 400
        assert "comparison_key" in res.json()["error"]["message"]

        # The key the web UI's compare screen has in its URL is passed and used in place of
        # the project's (its cards failed on the project's key while its table matched rows
        # on the URL's); blank is the whole input.
        url = f"/v1/experiment/{exp}/summarize"
        given = client.get(url, params={"comparison_key": "input.case"}).json()["scores"]["s"]
        assert (given["improvements"], given["regressions"]) == (2, 1)
        whole = client.get(url, params={"comparison_key": " "}).json()["scores"]["s"]
        assert (whole["improvements"], whole["regressions"]) == (0, 0)
        res = client.get(url, params={"comparison_key": "nosuchfield2"})
        assert res.status_code == 400
        assert res.json()["error"]["message"].startswith("comparison_key 'nosuchfield2'")


def test_a_comparison_key_matches_experiments_of_many_traces(app_client):
    """The keys were read by BTQL queries of 5,000 roots a page, selecting the key as
    ``__key``, the name of the hidden column the cursor is made of: an experiment of more
    than 5,000 traces got a 400 ("invalid cursor") on a second page. They are now one
    query with the summary's."""
    project = _project(app_client, "many-keys")
    ids = [
        _post(app_client, "/v1/experiment", {"project_id": project["id"], "name": name})["id"]
        for name in ("base", "exp")
    ]
    n = 5_003
    for side, experiment in enumerate(ids):
        events = [
            _span({"case": f"c{k}", "at": side}, scores={"s": (k % 3 + side) / 4}) for k in range(n)
        ]
        _post(app_client, f"/v1/experiment/{experiment}/insert", {"events": events})
    url = f"/v1/experiment/{ids[1]}/summarize"
    params = {"comparison_experiment_id": ids[0], "comparison_key": "input.case"}
    response = app_client.get(url, params=params)
    assert response.status_code == 200, response.text
    got = response.json()["scores"]["s"]
    assert (got["improvements"], got["regressions"]) == (n, 0)  # each case: +0.25
    assert got["diff"] == pytest.approx(0.25)


def test_an_experiment_cannot_be_its_own_base(server):
    """``PATCH base_exp_id`` with the experiment's own id (the web UI's "Set as baseline" with
    the experiment picked as its own baseline) was stored, and every summary then compared
    the experiment with itself: no improvement, no regression, a diff of 0, for good."""
    with server.client() as client:
        project = _project(client, "self-base")
        ids = _experiments_with_scores(client, project["id"], {"a": 0.25, "b": 0.75})
        res = client.patch(f"/v1/experiment/{ids['b']}", json={"base_exp_id": ids["b"]})
        assert res.status_code == 400
        assert "its own base" in res.json()["error"]["message"]
        got = client.get(f"/v1/experiment/{ids['b']}")
        assert got.json()["base_exp_id"] is None
        summary = client.get(f"/v1/experiment/{ids['b']}/summarize").json()
        assert summary["comparison_experiment_name"] == "a"
        assert summary["scores"]["s"]["improvements"] == 1
