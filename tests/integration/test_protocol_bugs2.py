"""HTTP API and write path behaviour found wrong by a second bug hunt: each test states what a
client of the official SDK or REST client relies on (braintrust-protocol.md,
docs/write-semantics.md, docs/api.md)."""

from __future__ import annotations

import pytest

from tests.integration.test_bad_input import assert_error, events, log_row, new_project

# -- created times outside the calendar once in UTC ------------------------------------------


@pytest.mark.parametrize(
    "created",
    ["9999-12-31T23:59:59.999999-05:00", "0001-01-01T00:00:00+01:00"],
)
@pytest.mark.parametrize("route", ["logs3", "insert"])
def test_a_created_time_past_year_9999_in_utc_is_a_400_and_writes_nothing(
    app_client, created, route
):
    project_id = new_project(app_client)
    rows = [log_row(project_id, "fine", input=1), log_row(project_id, "late", created=created)]
    if route == "logs3":
        response = app_client.post("/logs3", json={"rows": rows})
    else:
        response = app_client.post(f"/v1/project_logs/{project_id}/insert", json={"events": rows})
    assert_error(response, 400, "row 1", "created", "range")
    assert events(app_client, "project_logs", project_id) == []


@pytest.mark.parametrize(
    "created",
    [
        "0000-01-01T00:00:00Z",  # the SDK's shape, in year 0000
        "0000-06-15T12:00:00.000000+00:00",
        "0000-12-31T23:59:59",
        "0000-02-29",  # (year 0000 is a leap year)
        "0000-12-31T23:00:00+05:00",
        -62135596801,  # unix seconds: the second before year 1
        253402300800,  # unix seconds: the first second of year 10000
    ],
)
def test_a_created_time_in_year_0000_says_its_year_is_out_of_range(app_client, created):
    """A row ``created`` in year 0000 (ISO-8601's 1 BC) was refused as "not an ISO-8601
    time", though it is one; the rule is years 1 to 9999 in UTC, and the message says the
    year is out of range (so do unix seconds outside those years: "not a valid unix time")."""
    project_id = new_project(app_client)
    rows = [log_row(project_id, "fine", input=1), log_row(project_id, "early", created=created)]
    error = assert_error(app_client.post("/logs3", json={"rows": rows}), 400, "row 1", "created")
    assert "is out of range (years 1 to 9999 in UTC)" in error["message"], error
    assert repr(created) in error["message"], error
    assert events(app_client, "project_logs", project_id) == []


def test_a_created_time_in_year_0000_that_is_year_1_in_utc_is_written(app_client):
    """The years are counted in UTC: 0000-12-31 23:30 at UTC-01:00 is 0001-01-01 00:30 UTC."""
    project_id = new_project(app_client)
    row = log_row(project_id, "first", created="0000-12-31T23:30:00-01:00")
    answer = app_client.post("/logs3", json={"rows": [row]})
    assert answer.status_code == 200, answer.text
    (event,) = events(app_client, "project_logs", project_id)
    assert event["created"] == "0001-01-01T00:30:00.000000Z"
    bad = log_row(project_id, "text", created="0000-13-01")
    error = assert_error(app_client.post("/logs3", json={"rows": [bad]}), 400, "created")
    assert "not an ISO-8601 time" in error["message"], error


# -- an experiment a retention run deleted takes no more writes -------------------------------


def test_an_experiment_deleted_by_retention_is_gone_for_writes_and_fetches(app_client):
    from tests.integration.test_retention import retention, run_once

    project_id = new_project(app_client)
    experiment = app_client.post(
        "/v1/experiment", json={"project_id": project_id, "name": "old"}
    ).json()["id"]
    insert = f"/v1/experiment/{experiment}/insert"
    assert app_client.post(insert, json={"events": [{"id": "e1", "input": 1}]}).status_code == 200
    policy = retention(app_client, project_id, "experiment", days=0, grace=0)
    assert run_once(app_client, policy["id"])["rows"] == 1
    assert_error(app_client.get(f"/v1/experiment/{experiment}"), 404, "not found")

    late = {"id": "e2", "input": 2}
    assert_error(app_client.post(insert, json={"events": [late]}), 404, "not found")
    response = app_client.post("/logs3", json={"rows": [{"experiment_id": experiment, **late}]})
    assert_error(response, 404, "not found")
    fetched = app_client.post(f"/v1/experiment/{experiment}/fetch", json={})
    assert_error(fetched, 404, "not found")

    # Restored, it takes writes again; purged, its rows are gone and none come back.
    assert app_client.post(f"/v1/project_automation/{policy['id']}/restore").status_code == 200
    assert app_client.post(insert, json={"events": [late]}).status_code == 200
    app_client.patch(
        f"/v1/project_automation/{policy['id']}", json={"config": {"status": "active"}}
    )
    assert run_once(app_client, policy["id"])["rows"] == 1  # one experiment
    app_client.post("/automation/cron", json={})
    response = app_client.post("/logs3", json={"rows": [{"experiment_id": experiment, **late}]})
    assert_error(response, 404, "not found")
    store = app_client.app.state.store
    left = store.read(
        lambda c: c.execute(
            "SELECT count(*) FROM history WHERE object_id = ?", [experiment]
        ).fetchone()[0]
    )
    assert left == 0


# -- a fetched row can be written back through the insert routes ------------------------------


@pytest.mark.parametrize("object_type", ["project_logs", "dataset", "experiment"])
@pytest.mark.parametrize("route", ["insert", "v1/insert"])
def test_a_fetched_row_with_its_org_id_inserts_back_unchanged(app_client, object_type, route):
    project_id = new_project(app_client)
    object_id = project_id
    if object_type != "project_logs":
        body = {"project_id": project_id, "name": "rows"}
        object_id = app_client.post(f"/v1/{object_type}", json=body).json()["id"]
    insert = f"/v1/{object_type}/{object_id}/insert"
    first = {"id": "r1", "input": {"q": 1}, "tags": ["a"]}
    assert app_client.post(insert, json={"events": [first]}).status_code == 200
    (row,) = events(app_client, object_type, object_id)
    assert row["org_id"]  # fetched rows name their organization

    edited = {**row, "input": {"q": 2}}
    if route == "insert":
        response = app_client.post(insert, json={"events": [edited]})
    else:
        response = app_client.post(
            "/v1/insert", json={object_type: {object_id: {"events": [edited]}}}
        )
    assert response.status_code == 200, response.text
    (after,) = events(app_client, object_type, object_id)
    assert after["input"] == {"q": 2} and after["tags"] == ["a"]


def test_an_event_naming_another_organization_is_still_refused(app_client):
    project_id = new_project(app_client)
    event = {"id": "r1", "input": 1, "org_id": "another-org"}
    response = app_client.post(f"/v1/project_logs/{project_id}/insert", json={"events": [event]})
    assert_error(response, 400, "row 0", "org_id")
    assert events(app_client, "project_logs", project_id) == []


# -- row_ids names every inserted event, comments included ------------------------------------


def test_row_ids_name_a_comment_event_which_can_then_be_deleted(app_client):
    project_id = new_project(app_client)
    insert = f"/v1/project_logs/{project_id}/insert"
    sent = [{"id": "r1", "input": 1}, {"origin": {"id": "r1"}, "comment": {"text": "look"}}]
    response = app_client.post(insert, json={"events": sent})
    assert response.status_code == 200, response.text
    row_ids = response.json()["row_ids"]
    assert row_ids[0] == "r1" and isinstance(row_ids[1], str) and row_ids[1]
    (row,) = events(app_client, "project_logs", project_id)
    assert [c["id"] for c in row["comments"]] == [row_ids[1]]

    gone = {"id": row_ids[1], "_object_delete": True}
    assert app_client.post(insert, json={"events": [gone]}).status_code == 200
    (row,) = events(app_client, "project_logs", project_id)
    assert not row["comments"]


def test_cross_object_insert_names_its_comment_events(app_client):
    project_id = new_project(app_client)
    comment = {"origin": {"id": "r1"}, "comment": {"text": "look"}}
    body = {"project_logs": {project_id: {"events": [{"id": "r1"}, comment]}}}
    response = app_client.post("/v1/insert", json=body)
    assert response.status_code == 200, response.text
    (_, comment_id) = response.json()["project_logs"][project_id]["row_ids"]
    (row,) = events(app_client, "project_logs", project_id)
    assert [c["id"] for c in row["comments"]] == [comment_id]


# -- an experiment is created with the values PATCH would accept --------------------------------


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("tags", [1, 2], ("tags", "strings")),
        ("dataset_version", True, ("dataset_version", "type")),
    ],
)
def test_creating_an_experiment_refuses_what_patch_refuses(app_client, field, value, words):
    project_id = new_project(app_client)
    body = {"project_id": project_id, "name": "typed", field: value}
    assert_error(app_client.post("/v1/experiment", json=body), 400, *words)
    if field != "tags":  # the legacy route takes no tags
        legacy = {"project_id": project_id, "experiment_name": "typed", field: value}
        assert_error(app_client.post("/api/experiment/register", json=legacy), 400, *words)
    listed = app_client.get("/v1/experiment", params={"project_id": project_id}).json()
    assert listed["objects"] == []

    created = app_client.post("/v1/experiment", json={"project_id": project_id, "name": "ok"})
    experiment_id = created.json()["id"]
    patched = app_client.patch(f"/v1/experiment/{experiment_id}", json={field: value})
    assert_error(patched, 400, field)


def test_an_experiment_with_string_tags_and_an_integer_version_is_created(app_client):
    project_id = new_project(app_client)
    body = {"project_id": project_id, "name": "ok", "tags": ["a"], "dataset_version": 12}
    response = app_client.post("/v1/experiment", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["tags"] == ["a"]
    assert response.json()["dataset_version"] == "12"


def test_a_tag_given_twice_to_a_dataset_or_experiment_is_kept_once(app_client):
    """Object tags were stored as given: ["a", "b", "a"] showed 'a' twice."""
    project_id = new_project(app_client)
    tags = ["a", "b", "a"]
    body = {"project_id": project_id, "name": "d", "tags": tags}
    dataset = app_client.post("/v1/dataset", json=body).json()
    assert dataset["tags"] == ["a", "b"]
    patched = app_client.patch(f"/v1/dataset/{dataset['id']}", json={"tags": ["c", "c"]})
    assert patched.json()["tags"] == ["c"]
    experiment = app_client.post("/v1/experiment", json={**body, "name": "e"}).json()
    assert experiment["tags"] == ["a", "b"]
    patched = app_client.patch(f"/v1/experiment/{experiment['id']}", json={"tags": tags})
    assert patched.json()["tags"] == ["a", "b"]


def test_an_experiments_dataset_version_must_be_a_version_or_a_snapshot_name(app_client):
    """Any string was stored as dataset_version ('latest', 'v1.2', '-3'), naming no
    version of the dataset the experiment ran on."""
    project_id = new_project(app_client)
    ds = app_client.post("/v1/dataset", json={"project_id": project_id, "name": "d"}).json()
    app_client.post(f"/v1/dataset/{ds['id']}/insert", json={"events": [{"id": "a", "input": 1}]})
    app_client.post(f"/v1/dataset/{ds['id']}/snapshots", json={"name": "golden"})
    base = {"project_id": project_id, "dataset_id": ds["id"]}
    for bad in ("latest", "-3", str(2**64), "", "golden ", "1.5"):
        body = {**base, "name": "bad", "dataset_version": bad}
        assert_error(app_client.post("/v1/experiment", json=body), 400, "dataset_version")
    # A snapshot name needs the experiment's dataset to be read in.
    body = {"project_id": project_id, "name": "bad", "dataset_version": "golden"}
    assert_error(app_client.post("/v1/experiment", json=body), 400, "dataset_version")
    assert app_client.get("/v1/experiment", params={"project_id": project_id}).json() == {
        "objects": []
    }
    for good in ("0", "1000192656880881099", "golden"):
        body = {**base, "name": f"ok-{good}", "dataset_version": good}
        answer = app_client.post("/v1/experiment", json=body)
        assert answer.status_code == 200, answer.text
        assert answer.json()["dataset_version"] == good
    experiment_id = answer.json()["id"]
    patched = app_client.patch(f"/v1/experiment/{experiment_id}", json={"dataset_version": "x"})
    assert_error(patched, 400, "dataset_version")
    patched = app_client.patch(f"/v1/experiment/{experiment_id}", json={"dataset_version": "7"})
    assert patched.status_code == 200 and patched.json()["dataset_version"] == "7"
    # Another dataset (or none) is read at its latest: the old one's version is dropped.
    patched = app_client.patch(f"/v1/experiment/{experiment_id}", json={"dataset_id": None})
    assert patched.status_code == 200 and patched.json()["dataset_version"] is None
    body = {"dataset_id": ds["id"], "dataset_version": "golden"}
    patched = app_client.patch(f"/v1/experiment/{experiment_id}", json=body)
    assert patched.json()["dataset_version"] == "golden"
    patched = app_client.patch(f"/v1/experiment/{experiment_id}", json={"dataset_id": ds["id"]})
    assert patched.json()["dataset_version"] == "golden"  # the same dataset keeps it
    # The legacy registration route checks it too.
    body = {"project_id": project_id, "experiment_name": "legacy", "dataset_version": "nope"}
    assert_error(app_client.post("/api/experiment/register", json=body), 400, "dataset_version")


def test_an_experiment_patch_takes_the_oas_fields_a_create_takes(app_client):
    """A create took parameters_id, parameters_version and internal_metadata (the OAS's)
    and a PATCH of the same fields was a 400 'cannot update field'."""
    project_id = new_project(app_client)
    created = app_client.post("/v1/experiment", json={"project_id": project_id, "name": "e"})
    experiment_id = created.json()["id"]
    patch = {
        "parameters_id": "3c90c3cc-0d44-4b50-8888-8dd25736052a",
        "parameters_version": "1000192656880881099",
        "internal_metadata": {"dataset_filter": None},
        "description": "tuned",
    }
    patched = app_client.patch(f"/v1/experiment/{experiment_id}", json=patch)
    assert patched.status_code == 200, patched.text
    assert patched.json()["description"] == "tuned"
    assert "parameters_id" not in patched.json()
    assert_error(app_client.patch(f"/v1/experiment/{experiment_id}", json={"nope": 1}), 400, "nope")


# -- a revoked TRACELAKE_API_KEY stays revoked, and the server still starts --------------------


def test_a_server_restarted_with_its_revoked_admin_key_starts_and_keeps_it_revoked(
    fresh_server,
):
    from tests.integration.test_cli import cli_env, ok, run_cli

    with fresh_server.start().client() as client:
        other = client.post("/v1/api_key", json={"name": "second", "role": "admin"}).json()
        keys = client.get("/v1/api_key").json()["objects"]
        (bootstrap,) = [k for k in keys if k["name"] == "bootstrap"]
        assert client.delete(f"/v1/api_key/{bootstrap['id']}").status_code == 200
    fresh_server.stop()

    # The CLI on the data dir, with the revoked key in the environment, works too.
    env = cli_env(TRACELAKE_API_KEY=fresh_server.api_key)
    listed = ok(run_cli("keys", "list", "--data-dir", str(fresh_server.data_dir), env=env))
    assert "second" in listed.stdout

    fresh_server.start()  # the same TRACELAKE_API_KEY: a startup error before
    with fresh_server.client() as client:
        assert_error(client.get("/v1/project"), 401, "invalid")
    with fresh_server.client(other["key"]) as client:
        active = client.get("/v1/api_key").json()["objects"]
        assert [k["name"] for k in active] == ["second"]


# -- _parent_id cannot turn a trace's root into a child of its own descendant -----------------


def roots_and_parents(client, project_id) -> dict[str, tuple]:
    return {
        e["id"]: (e["root_span_id"], e["span_parents"], e["is_root"])
        for e in events(client, "project_logs", project_id)
    }


def test_a_parent_id_cycle_across_two_requests_is_a_400_and_changes_nothing(app_client):
    project_id = new_project(app_client)
    insert = f"/v1/project_logs/{project_id}/insert"
    sent = [{"id": "a", "input": 1}, {"id": "b", "_parent_id": "a"}]
    assert app_client.post(insert, json={"events": sent}).status_code == 200
    before = roots_and_parents(app_client, project_id)
    assert before == {"a": ("a", None, True), "b": ("a", ["a"], False)}

    response = app_client.post(insert, json={"events": [{"id": "a", "_parent_id": "b"}]})
    assert_error(response, 400, "'a'", "_parent_id 'b'", "no root")
    assert roots_and_parents(app_client, project_id) == before


def test_a_parent_id_cycle_inside_one_request_is_a_400_and_writes_nothing(app_client):
    project_id = new_project(app_client)
    rows = [
        log_row(project_id, "x", input=1),
        log_row(project_id, "y", _parent_id="x"),
        log_row(project_id, "x", _parent_id="y"),
    ]
    assert_error(app_client.post("/logs3", json={"rows": rows}), 400, "_parent_id 'y'")
    assert events(app_client, "project_logs", project_id) == []
