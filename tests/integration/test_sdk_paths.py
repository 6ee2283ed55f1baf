"""The official ``braintrust`` SDK, unmodified, on its less common paths (see test_sdk.py for
the common ones): what it accepts and sends must arrive whole."""

from __future__ import annotations

import braintrust

from tests.integration.test_sdk import _fetch_all, _project_id, _project_name


def test_a_boolean_metric_is_stored_as_a_number_and_its_batch_is_kept(sdk_env):
    """The SDK lets ``metrics={"cached": True}`` through (True is an int to Python); a 400
    would make it drop the whole batch, the other spans with it."""
    project = _project_name("bool-metric")
    logger = braintrust.init_logger(project=project)
    logger.log(id="plain", input="a", output="A")
    logger.log(id="flagged", input="b", output="B", metrics={"cached": True, "retried": False})
    logger.flush()

    rows = {r["id"]: r for r in _fetch_all(sdk_env, "project_logs", _project_id(sdk_env, project))}
    assert set(rows) == {"plain", "flagged"}
    metrics = rows["flagged"]["metrics"]
    assert (metrics["cached"], metrics["retried"]) == (1, 0)
    assert rows["plain"]["output"] == "A"


def test_eval_classifiers_are_stored_on_the_root_span_and_queried(sdk_env):
    """``Eval(classifiers=…)`` logs what they found as the root span's ``classifications``."""
    from braintrust import Eval
    from braintrust.score import Classification

    def topic(input, output, expected):
        return Classification(id="arith", label="Arithmetic", metadata={"distance": 0.25})

    project = _project_name("classifiers")
    result = Eval(
        project,
        data=[{"input": 1, "expected": 2}, {"input": 2, "expected": 4}],
        task=lambda x: x * 2,
        scores=[],
        classifiers=[topic],
        experiment_name="classified",
    )
    expected = {"topic": [{"id": "arith", "label": "Arithmetic", "metadata": {"distance": 0.25}}]}
    assert all(r.classifications == expected for r in result.results)
    experiment_id = result.summary.experiment_id
    roots = [
        r
        for r in _fetch_all(sdk_env, "experiment", experiment_id)
        if r["span_attributes"]["type"] == "eval"
    ]
    assert sorted(r["input"] for r in roots) == [1, 2]
    assert all(r["classifications"] == expected for r in roots)

    query = (
        "select: input, classifications.topic[0].label AS topic"
        f" | from: experiment('{experiment_id}')"
        " | filter: classifications.topic[0].metadata.distance < 0.5 | sort: input"
    )
    with sdk_env.client() as client:
        response = client.post("/btql", json={"query": query})
        response.raise_for_status()
    assert response.json()["data"] == [
        {"input": 1, "topic": "Arithmetic"},
        {"input": 2, "topic": "Arithmetic"},
    ]


def test_a_missing_base_experiment_or_dataset_is_named_by_its_field(sdk_env):
    """``init(base_experiment_id=<a wrong id>)`` failed with "experiment '<id>' not found",
    which reads as the experiment being created; the error names the field, as do a PATCH's
    and a summary's ``comparison_experiment_id``."""
    import uuid

    import pytest

    project = _project_name("missing-base")
    missing = str(uuid.uuid4())
    experiment = braintrust.init(project, experiment="run", base_experiment_id=missing)
    with pytest.raises(Exception, match=rf"base_exp_id: experiment '{missing}' not found"):
        experiment.id  # noqa: B018 (the lazy creation)

    with sdk_env.client() as client:
        project_id = _project_id(sdk_env, project)
        created = client.post("/v1/experiment", json={"project_id": project_id, "name": "ok"})
        experiment_id = created.json()["id"]
        response = client.patch(f"/v1/experiment/{experiment_id}", json={"dataset_id": missing})
        assert response.status_code == 404
        assert response.json()["error"]["message"] == f"dataset_id: dataset '{missing}' not found"
        response = client.get(
            f"/v1/experiment/{experiment_id}/summarize",
            params={"comparison_experiment_id": missing},
        )
        assert response.status_code == 404
        assert "comparison_experiment_id: experiment" in response.json()["error"]["message"]
        response = client.get(f"/v1/experiment/{missing}/summarize")
        assert response.json()["error"]["message"] == f"experiment '{missing}' not found"


def test_generated_client_dataset_tags_and_experiment_internal_metadata(
    sdk_env,
):
    """The SDK's own generated client (``braintrust.api``) sends what its ``CreateDataset`` and
    ``CreateExperiment`` hold: a dataset's ``tags`` were dropped (the dataset came back
    without them), and ``internal_metadata`` (a linked dataset's filter) made the experiment a
    400 "unknown field"."""
    project = _project_name("generated")
    braintrust.login()
    client = braintrust.logger._state.api_client()  # noqa: SLF001
    project_id = _project_id(sdk_env, project)
    dataset = client.datasets.post_dataset(
        body={"project_id": project_id, "name": "tagged", "tags": ["golden", "v2"]}
    )
    assert dataset["tags"] == ["golden", "v2"]
    assert client.datasets.get_dataset_id(dataset["id"])["tags"] == ["golden", "v2"]
    again = client.datasets.post_dataset(
        body={"project_id": project_id, "name": "tagged", "tags": ["other"]}
    )
    assert (again["id"], again["tags"]) == (dataset["id"], ["golden", "v2"])  # create-or-get

    experiment = client.experiments.post_experiment(
        body={
            "project_id": project_id,
            "name": "filtered",
            "dataset_id": dataset["id"],
            "internal_metadata": {"dataset_filter": {"btql": "metadata.split = 'test'"}},
        }
    )
    assert experiment["name"] == "filtered" and experiment["dataset_id"] == dataset["id"]
    with sdk_env.client() as http:
        response = http.post(
            "/v1/dataset", json={"project_id": project_id, "name": "bad", "tags": [1]}
        )
        assert response.status_code == 400 and "tags" in response.json()["error"]["message"]


def test_load_prompt_and_invoke_fail_naming_what_tracelake_lacks(sdk_env):
    """``load_prompt`` and ``invoke`` call Braintrust's prompt and function routes, which
    tracelake does not serve: the SDK raised with the server's "Not Found", which reads as
    a prompt or function missing from the project."""
    import pytest

    project = _project_name("prompts")
    with pytest.raises(Exception, match=r"GET /v1/prompt: tracelake does not implement"):
        braintrust.load_prompt(project=project, slug="greeting").build()
    with pytest.raises(Exception, match=r"POST /function/invoke: tracelake does not implement"):
        braintrust.invoke(project_name=project, slug="greeting", input={"name": "x"})
