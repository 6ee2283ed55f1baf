"""The official ``braintrust`` SDK, unmodified, against a real tracelake server.

Every test uses its own project (the session server is shared). Reads go through the SDK
where the SDK can read (datasets, read-only experiments) and otherwise through
``POST /v1/{object}/{id}/fetch`` with a plain HTTP client.
"""

from __future__ import annotations

import re
import uuid

import braintrust
import pytest

XACT_RE = re.compile(r"^\d{19}$")


def _project_name(label: str) -> str:
    return f"sdk-{label}-{uuid.uuid4().hex[:12]}"


def _project_id(server, name: str) -> str:
    """The project's id (POST /v1/project is create-or-get, so this never creates a twin)."""
    with server.client() as client:
        response = client.post("/v1/project", json={"name": name})
        response.raise_for_status()
        return response.json()["id"]


def _fetch_all(server, object_type: str, object_id: str, **body) -> list[dict]:
    """Every row of an object, following the cursor."""
    rows: list[dict] = []
    cursor = None
    with server.client() as client:
        for _ in range(100):
            payload = {**body, **({"cursor": cursor} if cursor else {})}
            response = client.post(f"/v1/{object_type}/{object_id}/fetch", json=payload)
            response.raise_for_status()
            page = response.json()
            rows.extend(page["events"])
            cursor = page.get("cursor")
            if not cursor:
                return rows
    raise AssertionError("fetch never returned a null cursor")


def _by_id(rows) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for row in rows:
        assert row["id"] not in out, f"row {row['id']} returned twice"
        out[row["id"]] = dict(row)
    return out


# -- datasets -----------------------------------------------------------------------------------


def test_dataset_insert_update_delete_version(sdk_env):
    project = _project_name("dataset")
    ds = braintrust.init_dataset(project=project, name="cases")

    generated_id = ds.insert(
        input={"q": 1}, expected={"a": 1}, tags=["t1"], metadata={"source": "gen"}
    )
    ds.insert(
        id="row-2",
        input={"q": 2},
        expected={"a": 2},
        tags=["x"],
        metadata={"m": 2, "keep": True},
    )
    ds.insert(id="row-3", input={"q": 3}, expected={"a": 3})
    ds.flush()
    assert isinstance(generated_id, str) and generated_id

    first = _by_id(braintrust.init_dataset(project=project, name="cases"))
    assert set(first) == {generated_id, "row-2", "row-3"}
    row1 = first[generated_id]
    assert row1["input"] == {"q": 1}
    assert row1["expected"] == {"a": 1}
    assert row1["tags"] == ["t1"]
    assert row1["metadata"] == {"source": "gen"}
    row2 = first["row-2"]
    assert row2["input"] == {"q": 2}
    assert row2["expected"] == {"a": 2}
    assert row2["tags"] == ["x"]
    assert row2["metadata"] == {"m": 2, "keep": True}
    row3 = first["row-3"]
    assert row3["expected"] == {"a": 3}
    assert row3["tags"] in (None, [])
    for row in first.values():
        assert isinstance(row["_xact_id"], str) and XACT_RE.match(row["_xact_id"]), row
    # One /logs3 request, one transaction id.
    assert len({row["_xact_id"] for row in first.values()}) == 1

    version_1 = ds.version
    assert XACT_RE.match(version_1)
    assert version_1 == row1["_xact_id"]

    ds.update("row-2", metadata={"m": 20}, tags=["y"])
    ds.delete("row-3")
    ds.flush()

    reader = braintrust.init_dataset(project=project, name="cases")
    second = _by_id(reader)
    assert set(second) == {generated_id, "row-2"}
    updated = second["row-2"]
    assert updated["input"] == {"q": 2}  # not given: unchanged
    assert updated["expected"] == {"a": 2}
    assert updated["metadata"] == {"m": 20, "keep": True}  # deep merge
    assert sorted(updated["tags"]) == ["x", "y"]  # set union
    assert second[generated_id] == row1
    assert updated["_xact_id"] > version_1

    version_2 = reader.version
    assert XACT_RE.match(version_2) and version_2 > version_1

    pinned = braintrust.init_dataset(project=project, name="cases", version=version_1)
    assert pinned.version == version_1
    old = _by_id(pinned)
    assert set(old) == {generated_id, "row-2", "row-3"}  # the deleted row is back
    assert old["row-2"]["metadata"] == {"m": 2, "keep": True}  # the update is not applied
    assert old["row-2"]["tags"] == ["x"]
    assert old["row-3"]["input"] == {"q": 3}

    summary = ds.summarize()
    assert summary.data_summary is not None
    assert summary.data_summary.total_records == 2
    assert summary.dataset_name == "cases"
    assert summary.project_name == project


def test_dataset_insert_with_same_id_replaces(sdk_env):
    project = _project_name("replace")
    ds = braintrust.init_dataset(project=project, name="cases")
    ds.insert(id="r", input="old", expected="e", tags=["a"], metadata={"k": 1})
    ds.flush()
    ds.insert(id="r", input="new")
    ds.flush()
    rows = list(braintrust.init_dataset(project=project, name="cases"))
    assert len(rows) == 1
    row = rows[0]
    assert row["input"] == "new"
    assert row["expected"] is None
    assert row["metadata"] in (None, {})
    assert row["tags"] in (None, [])


def test_dataset_reopened_by_name_is_the_same_dataset(sdk_env):
    project = _project_name("reopen-ds")
    first = braintrust.init_dataset(project=project, name="cases")
    first.insert(id="a", input=1, expected=2)
    first.flush()
    second = braintrust.init_dataset(project=project, name="cases")
    assert second.id == first.id
    assert [r["id"] for r in second] == ["a"]


# -- logger -------------------------------------------------------------------------------------


@braintrust.traced
def _double(x):
    return x * 2


def test_logger_nested_spans(sdk_env):
    project = _project_name("logger")
    logger = braintrust.init_logger(project=project)
    with logger.start_span(name="outer", input={"x": 1}) as outer:
        result = _double(21)
        with outer.start_span(name="inner-llm", type="llm", input="prompt") as llm:
            llm.log(output="completion")
        outer.log(output=result)
    logger.flush()

    rows = _fetch_all(sdk_env, "project_logs", _project_id(sdk_env, project))
    by_name = {row["span_attributes"]["name"]: row for row in rows}
    assert set(by_name) == {"outer", "_double", "inner-llm"}
    root, traced, llm_row = by_name["outer"], by_name["_double"], by_name["inner-llm"]

    assert root["span_parents"] in (None, [])
    assert root["input"] == {"x": 1}
    assert root["output"] == 42
    assert root["span_attributes"]["type"] == "task"
    assert root["log_id"] == "g"
    assert root["project_id"] == _project_id(sdk_env, project)

    for child in (traced, llm_row):
        assert child["span_parents"] == [root["span_id"]]
        assert child["root_span_id"] == root["root_span_id"]
        assert child["span_id"] != root["span_id"]
    assert traced["span_attributes"]["type"] == "function"
    assert traced["output"] == 42
    assert llm_row["span_attributes"]["type"] == "llm"
    assert llm_row["output"] == "completion"
    for row in rows:
        assert XACT_RE.match(row["_xact_id"])
        assert row["metrics"]["start"] <= row["metrics"]["end"]


def test_logger_traced_root_and_child(sdk_env):
    project = _project_name("traced")
    braintrust.init_logger(project=project)

    @braintrust.traced
    def parent(n):
        return _double(n) + 1

    assert parent(5) == 11
    braintrust.flush()

    rows = _fetch_all(sdk_env, "project_logs", _project_id(sdk_env, project))
    by_name = {row["span_attributes"]["name"]: row for row in rows}
    assert set(by_name) == {"parent", "_double"}
    root, child = by_name["parent"], by_name["_double"]
    assert root["span_parents"] in (None, [])
    assert child["span_parents"] == [root["span_id"]]
    assert child["root_span_id"] == root["root_span_id"]
    assert root["output"] == 11
    assert child["output"] == 10


def test_logger_span_updated_after_flush_merges(sdk_env):
    project = _project_name("late")
    logger = braintrust.init_logger(project=project)
    span = logger.start_span(name="late", metadata={"a": 1, "nested": {"x": 1}}, tags=["t1"])
    span.log(input="question")
    logger.flush()

    project_id = _project_id(sdk_env, project)
    [early] = _fetch_all(sdk_env, "project_logs", project_id)
    assert early["input"] == "question"
    assert early["output"] is None

    span.log(output="answer", metadata={"b": 2, "nested": {"y": 2}}, tags=["t2"])
    span.end()
    logger.flush()

    rows = _fetch_all(sdk_env, "project_logs", project_id)
    assert len(rows) == 1
    row = rows[0]
    assert row["id"] == early["id"] == span.id
    assert row["input"] == "question"
    assert row["output"] == "answer"
    assert row["metadata"] == {"a": 1, "b": 2, "nested": {"x": 1, "y": 2}}
    assert sorted(row["tags"]) == ["t1", "t2"]
    assert row["span_id"] == early["span_id"]
    assert row["root_span_id"] == early["root_span_id"]
    assert row["created"] == early["created"]
    assert row["span_attributes"]["name"] == "late"
    assert "start" in row["metrics"] and "end" in row["metrics"]
    assert row["_xact_id"] > early["_xact_id"]


def test_logger_log_feedback(sdk_env):
    project = _project_name("feedback")
    logger = braintrust.init_logger(project=project)
    row_id = logger.log(input="q", output="o", scores={"accuracy": 0.5}, tags=["auto"])
    logger.flush()

    logger.log_feedback(
        id=row_id,
        scores={"human": 1.0},
        comment="looks right",
        metadata={"reviewer": "bob"},
    )
    logger.log_feedback(id=row_id, expected="o", tags=["reviewed"])
    logger.flush()

    rows = _fetch_all(sdk_env, "project_logs", _project_id(sdk_env, project))
    assert [r["id"] for r in rows] == [row_id]  # the comment is not a row of its own
    row = rows[0]
    assert row["scores"] == {"accuracy": 0.5, "human": 1.0}
    assert row["input"] == "q"
    assert row["output"] == "o"
    assert row["expected"] == "o"
    assert sorted(row["tags"]) == ["auto", "reviewed"]
    comments = row["comments"]
    assert isinstance(comments, list) and len(comments) == 1
    assert comments[0]["comment"] == {"text": "looks right"}


# -- experiments --------------------------------------------------------------------------------


def _summary_scores(summary) -> dict:
    assert isinstance(summary.comparison, braintrust.logger.SummarySuccess), summary.comparison
    return summary.comparison.scores


def test_experiment_with_dataset_and_comparison(sdk_env):
    project = _project_name("experiment")
    ds = braintrust.init_dataset(project=project, name="eval-cases")
    for i in (1, 2, 3):
        ds.insert(id=f"case-{i}", input={"q": i}, expected={"a": i})
    ds.flush()
    dataset_version = ds.version

    base = braintrust.init_experiment(project, experiment="baseline", dataset=ds)
    base_scores = {1: 0.5, 2: 1.0, 3: 0.5}
    for i, score in base_scores.items():
        base.log(input={"q": i}, output={"a": i}, expected={"a": i}, scores={"acc": score})
    base_summary = base.summarize()
    assert base.name == "baseline"
    assert base_summary.experiment_name == "baseline"
    assert base_summary.comparison_experiment_name is None  # first experiment of the project
    scores = _summary_scores(base_summary)
    assert scores["acc"].score == pytest.approx(2.0 / 3.0)

    with sdk_env.client() as client:
        record = client.get(f"/v1/experiment/{base.id}").json()
    assert record["dataset_id"] == ds.id
    assert record["dataset_version"] == dataset_version
    assert record["name"] == "baseline"
    assert record["project_id"] == _project_id(sdk_env, project)

    rows = _fetch_all(sdk_env, "experiment", base.id)
    assert len(rows) == 3
    for row in rows:
        assert row["experiment_id"] == base.id
        assert row["span_attributes"]["type"] == "eval"
        assert row["scores"]["acc"] == base_scores[row["input"]["q"]]

    candidate = braintrust.init_experiment(
        project, experiment="candidate", base_experiment="baseline"
    )
    # q=1 better, q=2 worse, q=3 equal
    candidate_scores = {1: 1.0, 2: 0.0, 3: 0.5}
    for i, score in candidate_scores.items():
        candidate.log(input={"q": i}, output={"a": i}, scores={"acc": score})
    summary = candidate.summarize()
    assert summary.comparison_experiment_name == "baseline"
    acc = _summary_scores(summary)["acc"]
    assert acc.score == pytest.approx(0.5)
    assert acc.improvements == 1
    assert acc.regressions == 1
    assert acc.diff == pytest.approx(0.5 - 2.0 / 3.0)

    with sdk_env.client() as client:
        record = client.get(f"/v1/experiment/{candidate.id}").json()
    assert record["base_exp_id"] == base.id


def test_experiment_ensure_new_update_and_open(sdk_env):
    project = _project_name("reopen-exp")
    first = braintrust.init_experiment(project, experiment="run")
    first.log(input="a", output="A", scores={"s": 1.0})
    first.flush()
    assert first.name == "run"

    # ensure_new is the default: the name is taken, so a new experiment gets a unique name
    second = braintrust.init_experiment(project, experiment="run")
    assert second.id != first.id
    assert second.name != "run"
    assert second.name.startswith("run")

    # update=True reopens the experiment with that name and appends to it
    reopened = braintrust.init(project, experiment="run", update=True)
    assert reopened.id == first.id
    assert reopened.name == "run"
    reopened.log(input="b", output="B", scores={"s": 0.0})
    reopened.flush()

    rows = _fetch_all(sdk_env, "experiment", first.id)
    assert sorted(r["input"] for r in rows) == ["a", "b"]

    # open=True gives a read-only view, iterated through the experiment fetch route
    readonly = braintrust.init(project, experiment="run", open=True)
    assert readonly.id == first.id
    read_rows = list(readonly)
    assert sorted(r["input"] for r in read_rows) == ["a", "b"]
    assert {r["id"] for r in read_rows} == {r["id"] for r in rows}


def test_experiment_without_name_gets_one(sdk_env):
    project = _project_name("unnamed")
    exp = braintrust.init_experiment(project)
    exp.log(input=1, output=1, scores={"s": 1})
    exp.flush()
    assert isinstance(exp.name, str) and exp.name
    other = braintrust.init_experiment(project)
    assert other.id != exp.id
    assert other.name != exp.name


# -- cross-cutting ------------------------------------------------------------------------------


def test_one_flush_mixes_objects_and_parallel_batches(sdk_env):
    """One /logs3 wave carries dataset, experiment and project-log rows, split into
    batches of 100 that the SDK posts in parallel threads."""
    project = _project_name("mixed")
    ds = braintrust.init_dataset(project=project, name="cases")
    exp = braintrust.init_experiment(project, experiment="mixed")
    logger = braintrust.init_logger(project=project, set_current=False)
    # Resolve the object ids first so that the flush below is a single wave.
    assert ds.id and exp.id and logger.id
    ds.insert(id="d", input=1, expected=2)
    exp.log(input="e", output="E", scores={"s": 1})
    for i in range(250):
        logger.log(id=f"log-{i}", input=i)
    braintrust.flush()

    assert [r["id"] for r in braintrust.init_dataset(project=project, name="cases")] == ["d"]
    assert [r["input"] for r in _fetch_all(sdk_env, "experiment", exp.id)] == ["e"]
    logs = _fetch_all(sdk_env, "project_logs", _project_id(sdk_env, project))
    assert sorted(r["id"] for r in logs) == sorted(f"log-{i}" for i in range(250))


def test_init_by_id(sdk_env):
    project = _project_name("by-id")
    ds = braintrust.init_dataset(project=project, name="cases")
    ds.insert(id="a", input=1, expected=1)
    ds.flush()
    project_id = _project_id(sdk_env, project)

    by_id = braintrust.init_dataset(dataset_id=ds.id)
    assert by_id.name == "cases"
    assert [r["id"] for r in by_id] == ["a"]

    logger = braintrust.init_logger(project_id=project_id)
    logger.log(input="by id")
    logger.flush()
    assert [r["input"] for r in _fetch_all(sdk_env, "project_logs", project_id)] == ["by id"]

    exp = braintrust.init_experiment(project_id=project_id, experiment="e")
    exp.log(input="x", output="y", scores={})
    exp.flush()
    with sdk_env.client() as client:
        assert client.get(f"/v1/experiment/{exp.id}").json()["project_id"] == project_id


def test_dataset_pinned_to_version_zero_is_empty(sdk_env):
    project = _project_name("v0")
    ds = braintrust.init_dataset(project=project, name="cases")
    ds.insert(id="a", input=1)
    ds.flush()
    assert list(braintrust.init_dataset(project=project, name="cases", version=0)) == []
    empty = braintrust.init_dataset(project=project, name="empty")
    assert empty.version == "0"


def test_login_with_a_bad_key_fails(sdk_env):
    with pytest.raises(ValueError, match="Invalid API key"):
        braintrust.login(
            app_url=sdk_env.url, api_key="not-a-valid-key-0123456789", force_login=True
        )


def test_sdk_iteration_follows_the_cursor(sdk_env):
    """More rows than the SDK's page size (1000): the SDK pages with the cursor and sees
    each row exactly once."""
    project = _project_name("many")
    ds = braintrust.init_dataset(project=project, name="big")
    with sdk_env.client() as client:
        events = [{"id": f"r{i:05d}", "input": i, "expected": -i} for i in range(1205)]
        client.post(f"/v1/dataset/{ds.id}/insert", json={"events": events}).raise_for_status()
    rows = list(braintrust.init_dataset(project=project, name="big"))
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids)) == 1205
    assert all(r["expected"] == -r["input"] for r in rows)
