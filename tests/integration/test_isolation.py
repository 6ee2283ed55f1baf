"""Organizations are isolated: a key of one organization cannot see, change, read or write
the objects of another. Foreign objects look exactly like missing ones (404, never 403)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import httpx
import pytest


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def ok(response: httpx.Response) -> dict:
    assert response.status_code == 200, f"{response.request.url}: {response.text}"
    return response.json()


def assert_not_found(response: httpx.Response) -> dict:
    request = response.request
    assert response.status_code == 404, f"{request.method} {request.url}: {response.text}"
    error = response.json()["error"]
    assert error["type"] == "NotFound", error
    assert "forbidden" not in error["message"].lower(), error
    return error


@dataclass
class Org:
    id: str
    name: str
    key: str
    client: httpx.Client
    project: dict
    dataset: dict
    experiment: dict


def _make_org(server, admin: httpx.Client, label: str) -> Org:
    created = ok(admin.post("/v1/organization", json={"name": unique(label)}))
    key = created["api_key"]["key"]
    client = server.client(api_key=key)
    project = ok(client.post("/v1/project", json={"name": unique(f"{label}-project")}))
    dataset = ok(client.post("/v1/dataset", json={"project_id": project["id"], "name": "ds"}))
    experiment = ok(
        client.post("/v1/experiment", json={"project_id": project["id"], "name": "exp"})
    )
    rows = [
        {"project_id": project["id"], "log_id": "g", "id": "log-1", "input": f"{label} secret"},
        {"dataset_id": dataset["id"], "id": "ds-1", "input": {"q": 1}, "expected": label},
        {"experiment_id": experiment["id"], "id": "ex-1", "input": 1, "scores": {"acc": 0.5}},
    ]
    ok(client.post("/logs3", json={"rows": rows, "api_version": 2}))
    return Org(created["id"], created["name"], key, client, project, dataset, experiment)


@pytest.fixture(scope="module")
def orgs(server):
    """Two fresh organizations A and B on the session server, each with a project, a
    dataset, an experiment and one row in each."""
    with server.client() as admin:
        a = _make_org(server, admin, "org-a")
        b = _make_org(server, admin, "org-b")
    yield a, b
    a.client.close()
    b.client.close()


def _objects_of(a: Org) -> list[tuple[str, str]]:
    """(REST resource, id) of each of A's catalog objects."""
    return [
        ("project", a.project["id"]),
        ("dataset", a.dataset["id"]),
        ("experiment", a.experiment["id"]),
    ]


def _event_objects_of(a: Org) -> list[tuple[str, str]]:
    return [
        ("project_logs", a.project["id"]),
        ("dataset", a.dataset["id"]),
        ("experiment", a.experiment["id"]),
    ]


def _snapshot(a: Org) -> dict:
    """Everything of A that B's attempts must leave unchanged."""
    state = {}
    for kind, object_id in _objects_of(a):
        state[kind] = ok(a.client.get(f"/v1/{kind}/{object_id}"))
    for kind, object_id in _event_objects_of(a):
        state[f"{kind}-events"] = ok(a.client.post(f"/v1/{kind}/{object_id}/fetch", json={}))
    return state


# -- lists ----------------------------------------------------------------------------------


def test_lists_show_only_own_objects(orgs):
    a, b = orgs
    for kind, object_id in _objects_of(a):
        listed = ok(b.client.get(f"/v1/{kind}"))["objects"]
        assert object_id not in {o["id"] for o in listed}, kind
        assert {o["org_id"] for o in listed} <= {b.id}, kind
        by_id = ok(b.client.get(f"/v1/{kind}", params={"ids": object_id}))
        assert by_id == {"objects": []}, kind
    project_name = a.project["name"]
    assert ok(b.client.get("/v1/project", params={"project_name": project_name})) == {"objects": []}
    for kind in ("dataset", "experiment"):
        for params in ({"project_id": a.project["id"]}, {"project_name": project_name}):
            response = b.client.get(f"/v1/{kind}", params=params)
            if response.status_code != 404:
                assert ok(response) == {"objects": []}, (kind, params)
    # paging past A's ids does not reveal anything either: such an id is none of B's (400)
    for kind, object_id in _objects_of(a):
        for cursor in ("starting_after", "ending_before"):
            response = b.client.get(f"/v1/{kind}", params={cursor: object_id})
            assert response.status_code in (400, 404), (kind, cursor, response.text)
    # A still sees its own
    assert a.project["id"] in {o["id"] for o in ok(a.client.get("/v1/project"))["objects"]}


def test_org_name_filter_of_another_org(orgs):
    a, b = orgs
    for kind in ("project", "dataset", "experiment"):
        assert_not_found(b.client.get(f"/v1/{kind}", params={"org_name": a.name}))
    response = b.client.post("/v1/project", json={"name": unique("p"), "org_name": a.name})
    assert_not_found(response)


@pytest.mark.parametrize("path", ["/v1/organization", "/v1/api_key", "/v1/user"])
def test_org_name_filter_of_another_org_on_org_lists(orgs, path):
    """Braintrust's organization, API key and user lists take ``org_name`` too; it was
    ignored, so a filter naming another organization answered the caller's own objects."""
    a, b = orgs
    assert_not_found(b.client.get(path, params={"org_name": a.name}))
    own = ok(b.client.get(path, params={"org_name": b.name}))["objects"]
    assert own == ok(b.client.get(path))["objects"] and own


def test_organization_list_shows_only_own(orgs):
    a, b = orgs
    listed = ok(b.client.get("/v1/organization"))["objects"]
    assert [o["id"] for o in listed] == [b.id]


# -- catalog objects ------------------------------------------------------------------------


def test_cannot_get_patch_or_delete_foreign_objects(orgs):
    a, b = orgs
    before = _snapshot(a)
    for kind, object_id in _objects_of(a):
        assert_not_found(b.client.get(f"/v1/{kind}/{object_id}"))
        assert_not_found(b.client.patch(f"/v1/{kind}/{object_id}", json={"description": "pwn"}))
        assert_not_found(b.client.patch(f"/v1/{kind}/{object_id}", json={"name": unique("x")}))
        assert_not_found(b.client.delete(f"/v1/{kind}/{object_id}"))
    assert_not_found(b.client.get("/api/project", params={"id": a.project["id"]}))
    assert _snapshot(a) == before


def test_not_found_message_does_not_reveal_existence(orgs):
    a, b = orgs
    for kind, object_id in _objects_of(a):
        missing = str(uuid.uuid4())
        foreign = assert_not_found(b.client.get(f"/v1/{kind}/{object_id}"))
        absent = assert_not_found(b.client.get(f"/v1/{kind}/{missing}"))
        assert _masked(foreign, object_id) == _masked(absent, missing)


@pytest.mark.parametrize(
    "kind",
    [
        "project_logs",
        "dataset",
        "experiment",
    ],
)
def test_event_not_found_message_does_not_reveal_existence(orgs, kind):
    a, b = orgs
    object_id = dict(_event_objects_of(a))[kind]
    missing = str(uuid.uuid4())
    key = {"project_logs": "project_id", "dataset": "dataset_id", "experiment": "experiment_id"}
    for target in (object_id, missing):  # both ids seen once, so any cache is warm for both
        b.client.post(f"/v1/{kind}/{target}/fetch", json={})
    for call in (
        lambda i: b.client.post(f"/v1/{kind}/{i}/fetch", json={}),
        lambda i: b.client.post(f"/v1/{kind}/{i}/insert", json={"events": [{"id": "x"}]}),
        lambda i: b.client.post(
            "/logs3", json={"rows": [{key[kind]: i, "log_id": "g", "id": "x"}]}
        ),
    ):
        foreign = assert_not_found(call(object_id))
        absent = assert_not_found(call(missing))
        assert _masked(foreign, object_id) == _masked(absent, missing)


def _masked(error: dict, object_id: str) -> str:
    return error["message"].replace(object_id, "ID")


def test_cannot_create_children_in_or_reference_foreign_objects(orgs):
    a, b = orgs
    before = _snapshot(a)
    project_id = a.project["id"]
    assert_not_found(b.client.post("/v1/dataset", json={"project_id": project_id, "name": "x"}))
    assert_not_found(b.client.post("/v1/experiment", json={"project_id": project_id, "name": "x"}))
    own_project = b.project["id"]
    for field, foreign_id in (("dataset_id", a.dataset["id"]), ("base_exp_id", a.experiment["id"])):
        body = {"project_id": own_project, "name": unique("x"), field: foreign_id}
        assert_not_found(b.client.post("/v1/experiment", json=body))
    # legacy registration routes
    assert_not_found(b.client.post("/api/project/register", json={"project_id": project_id}))
    assert_not_found(
        b.client.post("/api/project/register", json={"org_id": a.id, "project_name": "x"})
    )
    assert_not_found(
        b.client.post("/api/dataset/register", json={"project_id": project_id, "dataset_name": "x"})
    )
    assert_not_found(
        b.client.post(
            "/api/experiment/register", json={"project_id": project_id, "experiment_name": "x"}
        )
    )
    assert_not_found(b.client.post("/api/base_experiment/get_id", json={"id": a.experiment["id"]}))
    foreign = {"experiment_id": a.experiment["id"]}
    assert_not_found(b.client.get("/experiment-comparison2", params=foreign))
    names = {d["name"] for d in ok(a.client.get("/v1/dataset"))["objects"]}
    assert "x" not in names
    assert _snapshot(a) == before


@pytest.mark.parametrize("field", ["base_exp_id", "dataset_id"])
def test_cannot_patch_reference_to_foreign_object(orgs, field):
    a, b = orgs
    own = ok(
        b.client.post("/v1/experiment", json={"project_id": b.project["id"], "name": unique("p")})
    )
    foreign_id = a.experiment["id"] if field == "base_exp_id" else a.dataset["id"]
    assert_not_found(b.client.patch(f"/v1/experiment/{own['id']}", json={field: foreign_id}))
    assert ok(b.client.get(f"/v1/experiment/{own['id']}"))[field] is None


# -- events ---------------------------------------------------------------------------------


def test_cannot_fetch_foreign_events(orgs):
    a, b = orgs
    for kind, object_id in _event_objects_of(a):
        assert_not_found(b.client.post(f"/v1/{kind}/{object_id}/fetch", json={}))
        assert_not_found(b.client.get(f"/v1/{kind}/{object_id}/fetch"))
        assert_not_found(b.client.post(f"/v1/{kind}/{object_id}/fetch", json={"version": "0"}))


def test_cannot_write_foreign_events(orgs):
    a, b = orgs
    before = _snapshot(a)
    routing = {
        "project_logs": {"project_id": a.project["id"], "log_id": "g"},
        "dataset": {"dataset_id": a.dataset["id"]},
        "experiment": {"experiment_id": a.experiment["id"]},
    }
    existing = {"project_logs": "log-1", "dataset": "ds-1", "experiment": "ex-1"}
    for kind, object_id in _event_objects_of(a):
        url = f"/v1/{kind}/{object_id}"
        row_id = existing[kind]
        # new rows, overwrites, merges and deletes of A's rows, and a mixed request
        for row in (
            {"id": "b-new", "input": "from b"},
            {"id": row_id, "input": "overwritten"},
            {"id": row_id, "input": "merged", "_is_merge": True},
            {"id": row_id, "_object_delete": True},
        ):
            assert_not_found(b.client.post("/logs3", json={"rows": [{**routing[kind], **row}]}))
            assert_not_found(b.client.post(f"{url}/insert", json={"events": [row]}))
        own = {"project_id": b.project["id"], "log_id": "g", "id": "b-own", "input": 1}
        mixed = [own, {**routing[kind], "id": "b-new", "input": 1}]
        assert_not_found(b.client.post("/logs3", json={"rows": mixed}))
        assert_not_found(
            b.client.post("/v1/insert", json={kind: {object_id: {"events": [{"id": "b"}]}}})
        )
        assert_not_found(
            b.client.post(
                f"{url}/feedback",
                json={"feedback": [{"id": row_id, "scores": {"acc": 1}, "comment": "pwn"}]},
            )
        )
        assert_not_found(
            b.client.post(
                "/v1/insert",
                json={kind: {object_id: {"feedback": [{"id": row_id, "tags": ["pwn"]}]}}},
            )
        )
    assert _snapshot(a) == before
    # B's own log row from the mixed request was not written either
    own_events = ok(b.client.post(f"/v1/project_logs/{b.project['id']}/fetch", json={}))
    assert "b-own" not in {e["id"] for e in own_events["events"]}


def test_cannot_summarize_foreign_objects(orgs):
    a, b = orgs
    assert_not_found(b.client.get(f"/v1/dataset/{a.dataset['id']}/summarize"))
    assert_not_found(b.client.get(f"/v1/experiment/{a.experiment['id']}/summarize"))
    response = b.client.get(
        f"/v1/experiment/{b.experiment['id']}/summarize",
        params={"comparison_experiment_id": a.experiment["id"]},
    )
    assert_not_found(response)
    # A's own summary works
    summary = ok(a.client.get(f"/v1/dataset/{a.dataset['id']}/summarize"))
    assert summary["data_summary"] == {"total_records": 1}


# -- names, login, keys -------------------------------------------------------------------


def test_names_can_repeat_across_orgs(orgs):
    a, b = orgs
    name = unique("shared-name")
    project_a = ok(a.client.post("/v1/project", json={"name": name}))
    project_b = ok(b.client.post("/v1/project", json={"name": name}))
    assert project_a["id"] != project_b["id"]
    assert project_a["org_id"] == a.id and project_b["org_id"] == b.id
    # create-or-get stays within the org
    assert ok(a.client.post("/v1/project", json={"name": name}))["id"] == project_a["id"]
    assert ok(b.client.post("/v1/project", json={"name": name}))["id"] == project_b["id"]
    for org, project in ((a, project_a), (b, project_b)):
        listed = ok(org.client.get("/v1/project", params={"project_name": name}))["objects"]
        assert [p["id"] for p in listed] == [project["id"]]
    # datasets and legacy registration by the same names stay apart too
    ds_a = ok(a.client.post("/v1/dataset", json={"project_id": project_a["id"], "name": name}))
    registered = ok(
        b.client.post("/api/dataset/register", json={"project_name": name, "dataset_name": name})
    )
    assert registered["project"]["id"] == project_b["id"]
    assert registered["dataset"]["id"] != ds_a["id"]
    # same row ids in both orgs' objects do not collide
    for org, project in ((a, project_a), (b, project_b)):
        row = {"project_id": project["id"], "log_id": "g", "id": "same-id", "input": org.name}
        ok(org.client.post("/logs3", json={"rows": [row]}))
    for org, project in ((a, project_a), (b, project_b)):
        events = ok(org.client.post(f"/v1/project_logs/{project['id']}/fetch", json={}))
        assert [(e["id"], e["input"]) for e in events["events"]] == [("same-id", org.name)]


def test_login_returns_own_org(orgs, server):
    a, b = orgs
    for org in (a, b):
        info = ok(org.client.post("/api/apikey/login"))["org_info"]
        assert len(info) == 1
        assert info[0]["id"] == org.id and info[0]["name"] == org.name
        assert info[0]["api_url"].rstrip("/") == server.url
        ping = ok(org.client.get("/ping"))
        assert ping["org_id"] == org.id


def test_non_admin_keys_cannot_manage_keys(orgs):
    a, b = orgs
    keys = {}
    for role in ("write", "read"):
        created = ok(b.client.post("/v1/api_key", json={"name": f"b-{role}", "role": role}))
        assert created["role"] == role and created["org_id"] == b.id
        keys[role] = created
    listed_before = ok(b.client.get("/v1/api_key"))["objects"]
    for role, record in keys.items():
        headers = {"Authorization": f"Bearer {record['key']}"}
        for method, url, body in (
            ("POST", "/v1/api_key", {"name": "escalate", "role": "admin"}),
            ("POST", "/v1/api_key", {"name": "same", "role": role}),
            ("GET", "/v1/api_key", None),
            ("DELETE", f"/v1/api_key/{keys['write']['id']}", None),
            ("POST", "/v1/organization", {"name": unique("rogue")}),
        ):
            response = b.client.request(method, url, json=body, headers=headers)
            assert response.status_code == 403, (role, method, url, response.text)
            assert response.json()["error"]["type"] == "Forbidden"
            assert "admin" in response.json()["error"]["message"]
    assert ok(b.client.get("/v1/api_key"))["objects"] == listed_before
    # the write key still writes
    headers = {"Authorization": f"Bearer {keys['write']['key']}"}
    row = {"project_id": b.project["id"], "log_id": "g", "id": "by-write-key"}
    ok(b.client.post("/logs3", json={"rows": [row]}, headers=headers))


def test_keys_are_per_org(orgs):
    a, b = orgs
    a_keys = ok(a.client.get("/v1/api_key"))["objects"]
    b_keys = ok(b.client.get("/v1/api_key"))["objects"]
    assert {k["org_id"] for k in a_keys} == {a.id}
    assert {k["org_id"] for k in b_keys} == {b.id}
    assert not {k["id"] for k in a_keys} & {k["id"] for k in b_keys}
    for key in a_keys:
        assert_not_found(b.client.delete(f"/v1/api_key/{key['id']}"))
    assert ok(a.client.get("/v1/api_key"))["objects"] == a_keys
    ok(a.client.get("/ping"))  # A's key still works


def test_only_first_org_admins_create_orgs(orgs):
    a, b = orgs
    response = b.client.post("/v1/organization", json={"name": unique("nested")})
    assert response.status_code == 403, response.text
    assert response.json()["error"]["type"] == "Forbidden"


def test_a_scheduler_pass_answers_only_the_callers_runs(fresh_server):
    """``POST /automation/cron`` without an automation runs one scheduler pass over every
    due automation; its answer listed the runs of every organization (their export files
    and errors), not only the caller's. (A server of its own: the pass runs every due
    automation of the server, and the session server's tests leave some.)"""
    fresh_server.env = {"TRACELAKE_SCHEDULER_TICK_SECONDS": "0"}
    fresh_server.start()
    with fresh_server.client() as admin:
        a = _make_org(fresh_server, admin, "cron-a")
        b = _make_org(fresh_server, admin, "cron-b")

    def export(org: Org, bucket: str) -> dict:
        # (Static credentials: a file:// export needs the first organization's admin.) No
        # S3 server answers there, so both runs fail, each naming its own bucket.
        config = {
            "event_type": "btql_export",
            "export_definition": {"type": "log_spans"},
            "export_path": f"s3://{bucket}/exports",
            "credentials": {
                "type": "aws_static",
                "access_key_id": "AKIA",
                "secret_access_key": "s3cr3t",
                "endpoint_url": "http://127.0.0.1:1",
            },
        }
        body = {"project_id": org.project["id"], "name": unique("cron"), "config": config}
        return ok(org.client.post("/v1/project_automation", json=body))

    theirs, mine = export(a, "a-secret-bucket"), export(b, "b-bucket")
    runs = ok(b.client.post("/automation/cron", json={}))["runs"]
    assert "a-secret-bucket" not in str(runs)
    assert len(runs) == 1 and "b-bucket" in runs[0]["error"]  # B's own export only
    history = ok(a.client.get(f"/v1/project_automation/{theirs['id']}/runs"))["objects"]
    assert len(history) == 1  # A's export ran in that pass all the same
    assert ok(b.client.get(f"/v1/project_automation/{mine['id']}/runs"))["objects"]
    a.client.close()
    b.client.close()


def test_a_key_is_not_made_for_another_org_by_name(orgs):
    """``org_name`` in the body of ``POST /v1/api_key`` was ignored: naming another
    organization made the key in the caller's, where it was not asked for."""
    a, b = orgs
    before = ok(b.client.get("/v1/api_key"))["objects"]
    response = b.client.post("/v1/api_key", json={"name": "for-a", "org_name": a.name})
    assert_not_found(response)
    assert ok(b.client.get("/v1/api_key"))["objects"] == before
    own = ok(b.client.post("/v1/api_key", json={"name": "own", "org_name": b.name}))
    assert own["org_id"] == b.id


def test_a_key_name_is_bounded_as_every_name(orgs):
    """A key's name is the user it acts as (views, review items, /v1/user); it had no bound,
    where every other name has 1,024 characters."""
    a, _ = orgs
    too_long = a.client.post("/v1/api_key", json={"name": "k" * 1025})
    assert too_long.status_code == 400 and "too long" in too_long.text
    assert ok(a.client.post("/v1/api_key", json={"name": "k" * 1024}))["name"] == "k" * 1024
