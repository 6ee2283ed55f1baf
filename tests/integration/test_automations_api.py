"""The project automation API: create-or-get, PUT, list, get, PATCH, DELETE and validation."""

from __future__ import annotations

import uuid

import pytest

from tracelake.store.catalog import AUTOMATIONS

EXPORT = {
    "event_type": "btql_export",
    "export_definition": {"type": "log_traces"},
    "export_path": "s3://bucket/prefix",
    "format": "parquet",
    "interval_seconds": 3600,
    "credentials": {
        "type": "aws_static",
        "access_key_id": "AKIA",
        "secret_access_key": "s3cr3t",
        "endpoint_url": "http://127.0.0.1:8333",
    },
}

STATIC = {"type": "aws_static", "access_key_id": "AKIA", "secret_access_key": "s3cr3t"}


@pytest.fixture
def project_id(app_client):
    return app_client.post("/v1/project", json={"name": f"auto-{uuid.uuid4().hex[:8]}"}).json()[
        "id"
    ]


def create(app_client, project_id, name="nightly", config=None, method="post"):
    body = {"project_id": project_id, "name": name, "config": config or EXPORT}
    return getattr(app_client, method)("/v1/project_automation", json=body)


def test_create_is_create_or_get_and_hides_secrets(app_client, project_id):
    first = create(app_client, project_id)
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["config"]["credentials"]["secret_access_key"] == "***"
    assert body["config"]["max_rows"] == 100_000 and body["config"]["status"] == "active"
    again = create(app_client, project_id, config={**EXPORT, "format": "jsonl"})
    assert again.json()["id"] == body["id"] and again.json()["config"]["format"] == "parquet"
    listed = app_client.get("/v1/project_automation", params={"project_id": project_id}).json()
    assert [a["id"] for a in listed["objects"]] == [body["id"]]
    one = app_client.get(f"/v1/project_automation/{body['id']}").json()
    assert one["name"] == "nightly"


def test_put_replaces_but_the_export_path_is_fixed(app_client, project_id):
    created = create(app_client, project_id).json()
    replaced = create(
        app_client,
        project_id,
        config={
            **EXPORT,
            "format": "jsonl",
            "credentials": {**EXPORT["credentials"], "secret_access_key": "***"},
        },
        method="put",
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["id"] == created["id"] and replaced.json()["config"]["format"] == "jsonl"
    moved = create(
        app_client, project_id, config={**EXPORT, "export_path": "s3://other/x"}, method="put"
    )
    assert moved.status_code == 400 and "export_path" in moved.json()["error"]["message"]
    patched = app_client.patch(
        f"/v1/project_automation/{created['id']}",
        json={"config": {"status": "paused", "interval_seconds": 300}},
    )
    assert patched.json()["config"]["status"] == "paused"
    assert patched.json()["config"]["interval_seconds"] == 300
    moved = app_client.patch(
        f"/v1/project_automation/{created['id']}", json={"config": {"export_path": "file:///tmp/x"}}
    )
    assert moved.status_code == 400


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ({**EXPORT, "interval_seconds": 60}, "interval_seconds"),
        ({**EXPORT, "interval_seconds": 90_000}, "interval_seconds"),
        # 300.0 is in the range: the message said "between 300 and 86400" all the same.
        ({**EXPORT, "interval_seconds": 300.0}, "must be a whole number of seconds"),
        ({**EXPORT, "format": "csv"}, "format"),
        ({**EXPORT, "export_path": "ftp://x/y"}, "export_path"),
        ({**EXPORT, "export_path": "s3://"}, "bucket"),
        ({**EXPORT, "export_definition": {"type": "btql_query"}}, "btql_query"),
        ({**EXPORT, "credentials": {"type": "aws_iam"}}, "role_arn"),
        ({**EXPORT, "colour": "red"}, "colour"),
        ({"event_type": "retention", "object_type": "project_logs"}, "retention_days"),
        ({"event_type": "retention", "object_type": "prompts", "retention_days": 3}, "object_type"),
        ({"event_type": "webhook"}, "event_type"),
    ],
)
def test_bad_configs_are_refused_and_nothing_is_stored(app_client, project_id, config, words):
    response = create(app_client, project_id, name=f"bad-{uuid.uuid4().hex[:6]}", config=config)
    assert response.status_code == 400, response.text
    assert words in response.json()["error"]["message"]
    listed = app_client.get("/v1/project_automation", params={"project_id": project_id}).json()
    assert listed["objects"] == []


def test_retention_and_delete_and_other_orgs(app_client, project_id):
    retention = create(
        app_client,
        project_id,
        name="keep-90",
        config={"event_type": "retention", "object_type": "project_logs", "retention_days": 90},
    ).json()
    assert retention["config"] == {
        "event_type": "retention",
        "object_type": "project_logs",
        "retention_days": 90,
        "grace_period_hours": 24,
        "status": "active",
    }
    org = app_client.post("/v1/organization", json={"name": f"o-{uuid.uuid4().hex[:6]}"}).json()
    other = {"Authorization": f"Bearer {org['api_key']['key']}"}
    assert (
        app_client.get(f"/v1/project_automation/{retention['id']}", headers=other).status_code
        == 404
    )
    assert app_client.delete(f"/v1/project_automation/{retention['id']}").status_code == 200
    assert app_client.get(f"/v1/project_automation/{retention['id']}").status_code == 404


def test_the_secret_mask_is_not_saved_as_a_secret(app_client, project_id):
    """A config copied from a GET (secrets shown as ``***``) into a new automation saved
    ``***`` as the secret: every run then failed with "the secret access key is wrong"."""
    masked = {**EXPORT["credentials"], "secret_access_key": "***"}
    for method in ("post", "put"):
        config = {**EXPORT, "credentials": masked}
        refused = create(app_client, project_id, name="copy", config=config, method=method)
        assert refused.status_code == 400, refused.text
        assert "config.credentials.secret_access_key" in refused.json()["error"]["message"]
    token = {**EXPORT["credentials"], "session_token": "***"}
    refused = create(app_client, project_id, name="copy", config={**EXPORT, "credentials": token})
    assert refused.status_code == 400 and "session_token" in refused.json()["error"]["message"]
    listed = app_client.get("/v1/project_automation", params={"project_id": project_id}).json()
    assert listed["objects"] == []
    # Sent back to the automation it came from, the mask still keeps the stored secret.
    created = create(app_client, project_id).json()
    patched = app_client.patch(
        f"/v1/project_automation/{created['id']}", json={"config": created["config"]}
    )
    assert patched.status_code == 200, patched.text
    stored = app_client.app.state.store.read(
        lambda c: c.execute(
            "SELECT config->'credentials'->>'secret_access_key' FROM automations WHERE id = ?",
            [created["id"]],
        ).fetchone()[0]
    )
    assert stored == "s3cr3t"


@pytest.mark.parametrize("method", ["patch", "put"])
def test_a_masked_session_token_the_automation_lacks_is_refused_on_update(
    app_client, project_id, method
):
    """``session_token: "***"`` sent to an automation with no token was dropped in silence
    (the export then ran without the token the user meant to keep); a new automation
    refuses it, and so does an update now."""
    created = create(app_client, project_id).json()
    config = {**EXPORT, "credentials": {**created["config"]["credentials"], "session_token": "***"}}
    if method == "patch":
        response = app_client.patch(
            f"/v1/project_automation/{created['id']}", json={"config": config}
        )
    else:
        response = create(app_client, project_id, config=config, method="put")
    assert response.status_code == 400, response.text
    message = response.json()["error"]["message"]
    assert "config.credentials.session_token" in message and "no such secret is saved" in message
    shown = app_client.get(f"/v1/project_automation/{created['id']}").json()
    assert shown["config"]["credentials"] == created["config"]["credentials"]


@pytest.mark.parametrize(
    ("name", "words"), [("  ", "non-empty"), ("x" * 1025, "too long (at most 1024 characters)")]
)
def test_a_name_that_a_rename_refuses_is_refused_at_creation(app_client, project_id, name, words):
    """Creation took a blank name or one longer than any object name may be, which a PATCH
    of the name refuses."""
    refused = create(app_client, project_id, name=name)
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["message"].startswith("name ") and words in refused.text
    created = create(app_client, project_id).json()
    renamed = app_client.patch(f"/v1/project_automation/{created['id']}", json={"name": name})
    assert renamed.status_code == 400 and words in renamed.text


def test_exports_with_the_servers_authority_need_an_instance_admin(
    app_client, project_id, tmp_path
):
    """Any write key of any organization could create an export into the server's file
    system (``file:///any/dir``) or to S3 with the server's own AWS credentials
    (``environment``, the default, or ``profile``): only an admin key of the first
    organization may; static keys stay open to write keys, assumed roles to the
    organization's admins."""
    writer = app_client.post("/v1/api_key", json={"name": "w", "role": "write"}).json()["key"]
    org = app_client.post("/v1/organization", json={"name": f"o-{uuid.uuid4().hex[:6]}"}).json()
    other_admin = org["api_key"]["key"]
    other_project = app_client.post(
        "/v1/project",
        json={"name": "p"},
        headers={"Authorization": f"Bearer {other_admin}"},
    ).json()["id"]
    s3 = {**EXPORT, "credentials": None}
    privileged = {
        "file": {**EXPORT, "export_path": f"file://{tmp_path}/out", "credentials": None},
        "environment": {k: v for k, v in EXPORT.items() if k != "credentials"},
        "profile": {**s3, "credentials": {"type": "profile", "profile": "default"}},
    }
    for key, project in ((writer, project_id), (other_admin, other_project)):
        headers = {"Authorization": f"Bearer {key}"}
        for kind, config in privileged.items():
            for method in ("post", "put"):
                body = {"project_id": project, "name": f"x-{kind}", "config": config}
                response = getattr(app_client, method)(
                    "/v1/project_automation", json=body, headers=headers
                )
                assert response.status_code == 403, (kind, response.text)
                assert "first organization" in response.json()["error"]["message"]
        # Static keys and assumed roles are the caller's own (a role, or an endpoint_url,
        # needs an admin key of the organization: see the next test).
        own = [("static", STATIC)]
        if key == other_admin:
            own.append(("role", {"type": "aws_iam", "role_arn": "arn:aws:iam::1:role/x"}))
        for kind, credentials in own:
            body = {
                "project_id": project,
                "name": kind,
                "config": {**EXPORT, "credentials": credentials},
            }
            response = app_client.post("/v1/project_automation", json=body, headers=headers)
            assert response.status_code == 200, response.text
        static = response.json()["id"]
        kind = response.json()["config"]["credentials"]["type"]
        # ... and cannot be switched to the server's credentials, or to another endpoint of them.
        patched = app_client.patch(
            f"/v1/project_automation/{static}",
            json={"config": {"credentials": {"type": "environment"}}},
            headers=headers,
        )
        assert patched.status_code == 403, patched.text
        shown = app_client.get(f"/v1/project_automation/{static}", headers=headers).json()
        assert shown["config"]["credentials"]["type"] == kind
    # The instance admin may; a writer may then change its schedule, not its credentials.
    made = {}
    for kind, config in privileged.items():
        response = create(app_client, project_id, name=f"admin-{kind}", config=config)
        assert response.status_code == 200, response.text
        made[kind] = response.json()["id"]
    headers = {"Authorization": f"Bearer {writer}"}
    paused = app_client.patch(
        f"/v1/project_automation/{made['environment']}",
        json={"config": {"status": "paused", "interval_seconds": 600}},
        headers=headers,
    )
    assert paused.status_code == 200, paused.text
    moved = app_client.patch(
        f"/v1/project_automation/{made['environment']}",
        json={"config": {"credentials": {"type": "environment", "endpoint_url": "http://evil"}}},
        headers=headers,
    )
    assert moved.status_code == 403, moved.text
    again = app_client.patch(
        f"/v1/project_automation/{made['file']}",
        json={"config": {"format": "jsonl"}},
        headers=headers,
    )
    assert again.status_code == 200, again.text


def test_roles_and_endpoints_need_an_admin_of_the_organization(app_client, project_id):
    """Any write key could name any aws_iam role that trusts the server (which assumes it
    with its own AWS credentials), and point an export's endpoint_url at any address (its
    test then told which hosts and ports of the server's network answer): only an admin
    key of the organization may set these; writers may still edit the rest of such an
    export."""
    writer = app_client.post("/v1/api_key", json={"name": "w", "role": "write"}).json()["key"]
    headers = {"Authorization": f"Bearer {writer}"}
    role = {"type": "aws_iam", "role_arn": "arn:aws:iam::1:role/x"}
    guarded = {
        "role": {**EXPORT, "credentials": role},
        "endpoint": EXPORT,  # aws_static with an endpoint_url
    }
    for kind, config in guarded.items():
        for method in ("post", "put"):
            body = {"project_id": project_id, "name": f"w-{kind}", "config": config}
            response = getattr(app_client, method)(
                "/v1/project_automation", json=body, headers=headers
            )
            assert response.status_code == 403, (kind, response.text)
            assert "admin API key of the organization" in response.json()["error"]["message"]
    plain = create(app_client, project_id, name="w-plain", config={**EXPORT, "credentials": STATIC})
    for credentials in (role, EXPORT["credentials"]):
        response = app_client.patch(
            f"/v1/project_automation/{plain.json()['id']}",
            json={"config": {"credentials": credentials}},
            headers=headers,
        )
        assert response.status_code == 403, response.text
    # An admin sets them up; a writer may then change its schedule, not its role or endpoint.
    made = {
        kind: create(app_client, project_id, f"a-{kind}", config)
        for kind, config in guarded.items()
    }
    for response in made.values():
        assert response.status_code == 200, response.text
        automation_id = response.json()["id"]
        paused = app_client.patch(
            f"/v1/project_automation/{automation_id}",
            json={"config": {"status": "paused", "interval_seconds": 600}},
            headers=headers,
        )
        assert paused.status_code == 200, paused.text
        changed = {**response.json()["config"]["credentials"], "endpoint_url": "http://10.0.0.1"}
        moved = app_client.patch(
            f"/v1/project_automation/{automation_id}",
            json={"config": {"credentials": changed}},
            headers=headers,
        )
        assert moved.status_code == 403, moved.text


def test_an_older_export_with_the_servers_authority_of_another_org_does_not_run(
    app_client, tmp_path
):
    """An export saved before the rule above (a file:// path in another organization) kept
    writing into the server's file system: it fails in plain words instead, run or tested."""
    org = app_client.post("/v1/organization", json={"name": f"o-{uuid.uuid4().hex[:6]}"}).json()
    headers = {"Authorization": f"Bearer {org['api_key']['key']}"}
    project = app_client.post("/v1/project", json={"name": "p"}, headers=headers).json()["id"]
    inserted = app_client.post(
        f"/v1/project_logs/{project}/insert", json={"events": [{"input": 1}]}, headers=headers
    )
    assert inserted.status_code == 200, inserted.text
    body = {"project_id": project, "name": "old", "config": EXPORT}
    created = app_client.post("/v1/project_automation", json=body, headers=headers).json()
    out = tmp_path / "out"
    old = {**created["config"], "export_path": f"file://{out}"}
    old.pop("credentials")
    catalog = app_client.app.state.catalog
    catalog.update_object(AUTOMATIONS, org["id"], created["id"], {"config": old})
    run = app_client.post(f"/v1/project_automation/{created['id']}/run", headers=headers).json()
    assert run["run"]["status"] == "failed", run
    assert "first organization" in run["run"]["error"]
    tested = app_client.post(f"/v1/project_automation/{created['id']}/test", headers=headers)
    assert tested.status_code == 400 and "first organization" in tested.text
    assert not out.exists()


def test_a_patch_that_changes_the_kind_says_so(app_client, project_id):
    """A PATCH turning an export into a retention policy (or back) was refused for a key of
    the stored config it never sent: "config has an unknown field 'batch_size'"."""
    export = create(app_client, project_id).json()
    policy = create(
        app_client,
        project_id,
        name="keep",
        config={"event_type": "retention", "object_type": "project_logs", "retention_days": 3},
    ).json()
    for automation, config in (
        (export, {"event_type": "retention", "object_type": "project_logs", "retention_days": 3}),
        (policy, EXPORT),
    ):
        response = app_client.patch(
            f"/v1/project_automation/{automation['id']}", json={"config": config}
        )
        assert response.status_code == 400
        assert "event_type cannot change" in response.json()["error"]["message"], response.text
        shown = app_client.get(f"/v1/project_automation/{automation['id']}").json()
        assert shown["config"] == automation["config"]


def test_a_patch_to_an_event_type_that_is_no_kind_names_the_kinds(app_client, project_id):
    """A PATCH with an event_type that is no kind of automation ("nonsense", 5, null) said
    "an automation's event_type cannot change"; it names the allowed values, as a create
    does, and changes nothing. A valid other kind still "cannot change"."""
    export = create(app_client, project_id).json()
    url = f"/v1/project_automation/{export['id']}"
    for kind in ("nonsense", 5, None, "", ["retention"]):
        for config in ({"event_type": kind}, {"event_type": kind, "interval_seconds": 600}):
            response = app_client.patch(url, json={"config": config})
            assert response.status_code == 400, response.text
            message = response.json()["error"]["message"]
            assert message == "config.event_type must be one of btql_export, retention", kind
    assert app_client.get(url).json()["config"] == export["config"]
    other = app_client.patch(url, json={"config": {"event_type": "retention"}})
    assert other.status_code == 400, other.text
    assert "event_type cannot change" in other.json()["error"]["message"]
    same = app_client.patch(url, json={"config": {"event_type": "btql_export"}})
    assert same.status_code == 200, same.text


def test_the_server_chooses_an_aws_iam_external_id(app_client, project_id):
    """An aws_iam external id was whatever the caller chose, and every reader sees it: an
    admin of another organization of the server could name a role that trusts the server
    with that id. The server now gives bt:<org>:<project>:<automation> (as Braintrust); a
    caller's own must start with bt:<its org>:, and one saved before is kept unchanged."""
    org_id = app_client.get(f"/v1/project/{project_id}").json()["org_id"]
    role = {"type": "aws_iam", "role_arn": "arn:aws:iam::1:role/x"}
    made = create(app_client, project_id, "role", {**EXPORT, "credentials": role})
    assert made.status_code == 200, made.text
    automation = made.json()
    expected = f"bt:{org_id}:{project_id}:{automation['id']}"
    assert automation["config"]["credentials"]["external_id"] == expected
    shown = app_client.get(f"/v1/project_automation/{automation['id']}").json()
    assert shown["config"]["credentials"]["external_id"] == expected
    # the config shown, sent back, is taken
    again = create(app_client, project_id, "role", shown["config"], method="put")
    assert again.status_code == 200, again.text
    assert again.json()["config"]["credentials"]["external_id"] == expected
    # an id of the organization's own is taken; any other is a 400
    shared = {**role, "external_id": f"bt:{org_id}:shared"}
    ok = create(app_client, project_id, "shared", {**EXPORT, "credentials": shared})
    assert ok.status_code == 200, ok.text
    assert ok.json()["config"]["credentials"]["external_id"] == f"bt:{org_id}:shared"
    for external_id in ("tenant-42", "bt:other-org:x", f"bt:{org_id}"):
        bad = create(
            app_client,
            project_id,
            f"bad-{external_id}",
            {**EXPORT, "credentials": {**role, "external_id": external_id}},
        )
        assert bad.status_code == 400, bad.text
        assert f"must start with 'bt:{org_id}:'" in bad.json()["error"]["message"]
    # an id saved before the rule keeps working while it stays as it is
    catalog = app_client.app.state.catalog
    legacy = {**automation["config"], "credentials": {**role, "external_id": "tenant-42"}}
    catalog.update_object(AUTOMATIONS, org_id, automation["id"], {"config": legacy})
    url = f"/v1/project_automation/{automation['id']}"
    kept = app_client.patch(url, json={"config": {"interval_seconds": 600}})
    assert kept.status_code == 200, kept.text
    assert kept.json()["config"]["credentials"]["external_id"] == "tenant-42"
    same = app_client.patch(url, json={"config": {"credentials": legacy["credentials"]}})
    assert same.status_code == 200, same.text
    other = {**legacy["credentials"], "external_id": "tenant-43"}
    changed = app_client.patch(url, json={"config": {"credentials": other}})
    assert changed.status_code == 400, changed.text


_RETENTION = {"event_type": "retention", "object_type": "project_logs", "retention_days": 30}
_IAM = {"type": "aws_iam", "role_arn": "arn:aws:iam::123456789012:role/r"}
# (a bad config, what the 400 or 403 says, whether a POST of a taken name refuses it too:
# one that is no automation at all; one that is valid on its own sets nothing up there)
_BAD_BODIES = [
    ({"event_type": "nope", "retention_days": -1}, "config.event_type must be one of", True),
    ({"event_type": "btql_export", "export_path": 5, "bogus": 1}, "unknown field 'bogus'", True),
    (
        {"event_type": "retention", "object_type": "zzz", "retention_days": "x"},
        "config.object_type must be one of",
        True,
    ),
    (
        {**EXPORT, "credentials": {**_IAM, "external_id": "bt:another-org:x"}},
        "external_id must start with",
        False,
    ),
]


def test_post_and_put_give_one_bad_body_one_error(app_client, project_id, tmp_path):
    """PUT over an automation of another kind checked the change of event_type before the
    config itself ("an automation's event_type cannot change"), and over an export the
    change of its path, where POST named the config's own mistake; a POST of a taken name
    answered a config that is no automation with a 200. Every route now names the same
    problem for the same body."""
    stored = {
        "retention": _RETENTION,
        "export": {**EXPORT, "export_path": f"file://{tmp_path}/out", "credentials": None},
    }
    for name, config in stored.items():
        assert create(app_client, project_id, name, config).status_code == 200
    for config, words, post_of_a_taken_name in _BAD_BODIES:
        answers = {
            "POST": create(app_client, project_id, f"new-{uuid.uuid4().hex[:6]}", config),
            "PUT": create(app_client, project_id, f"new-{uuid.uuid4().hex[:6]}", config, "put"),
        }
        for name in stored:
            answers[f"PUT over {name}"] = create(app_client, project_id, name, config, "put")
            if post_of_a_taken_name:
                answers[f"POST of {name}"] = create(app_client, project_id, name, config)
        got = {route: (a.status_code, a.json()["error"]["message"]) for route, a in answers.items()}
        first = got["POST"]
        assert first[0] == 400 and words in first[1], (config, first)
        assert all(answer == first for answer in got.values()), (config, got)
    # A write key: an export acting with the server's authority is a 403 on both, also over
    # an automation of another kind (its credentials, none, were "unchanged").
    writer = app_client.post("/v1/api_key", json={"name": "w", "role": "write"}).json()["key"]
    headers = {"Authorization": f"Bearer {writer}"}
    config = {**EXPORT, "export_path": f"file://{tmp_path}/elsewhere", "credentials": None}
    answers = [
        app_client.request(
            method,
            "/v1/project_automation",
            json={"project_id": project_id, "name": name, "config": config},
            headers=headers,
        )
        for method, name in (("POST", "new-by-writer"), ("PUT", "retention"))
    ]
    assert [a.status_code for a in answers] == [403, 403], [a.text for a in answers]
    assert answers[0].json() == answers[1].json()
    listed = app_client.get("/v1/project_automation", params={"project_id": project_id}).json()
    assert sorted(a["name"] for a in listed["objects"]) == ["export", "retention"]
    kept = {a["name"]: a["config"]["event_type"] for a in listed["objects"]}
    assert kept == {"export": "btql_export", "retention": "retention"}
