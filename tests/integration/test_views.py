"""Saved views (/v1/view), personal default views (/v1/view_default), saved sandbox
queries (view_type "sandbox"), and review assignment (/v1/review_item assignee, /v1/user)."""

from __future__ import annotations

import pytest


@pytest.fixture
def project_id(app_client):
    return app_client.post("/v1/project", json={"name": "views-proj"}).json()["id"]


def _view(project_id, name="Errors", **extra):
    return {
        "object_type": "project",
        "object_id": project_id,
        "view_type": "logs",
        "name": name,
        "view_data": {"search": {"filter": ["error IS NOT NULL"]}},
        "options": {"columnOrder": ["created", "name"], "rows": "spans"},
        **extra,
    }


def _key(app_client, name, role):
    res = app_client.post("/v1/api_key", json={"name": name, "role": role})
    assert res.status_code == 200, res.text
    return {"Authorization": f"Bearer {res.json()['key']}"}


def test_view_crud_and_paging(app_client, project_id):
    created = app_client.post("/v1/view", json=_view(project_id)).json()
    assert created["name"] == "Errors" and created["view_type"] == "logs"
    assert created["view_data"] == {"search": {"filter": ["error IS NOT NULL"]}}
    assert created["options"]["rows"] == "spans" and created["created"]
    # create-or-get by name: the same name returns the stored view unmodified
    again = app_client.post("/v1/view", json=_view(project_id, options={"x": 1})).json()
    assert again["id"] == created["id"] and again["options"]["rows"] == "spans"
    # PUT replaces it
    put = app_client.put("/v1/view", json=_view(project_id, options={"x": 1})).json()
    assert put["id"] == created["id"] and put["options"] == {"x": 1}
    others = [app_client.post("/v1/view", json=_view(project_id, f"v{i}")).json() for i in range(3)]
    listed = app_client.get(
        "/v1/view", params={"object_type": "project", "object_id": project_id, "view_type": "logs"}
    ).json()["objects"]
    assert [v["id"] for v in listed] == [v["id"] for v in reversed([created, *others])]
    page = app_client.get(
        "/v1/view",
        params={
            "object_type": "project",
            "object_id": project_id,
            "limit": 2,
            "starting_after": listed[1]["id"],
        },
    ).json()["objects"]
    assert [v["id"] for v in page] == [v["id"] for v in listed[2:4]]
    before = app_client.get(
        "/v1/view", params={"ending_before": listed[2]["id"], "limit": 1}
    ).json()["objects"]
    assert [v["id"] for v in before] == [listed[1]["id"]]
    by_name = app_client.get("/v1/view", params={"view_name": "v1"}).json()["objects"]
    assert [v["id"] for v in by_name] == [others[1]["id"]]
    assert app_client.get(f"/v1/view/{created['id']}").json()["name"] == "Errors"
    renamed = app_client.patch(
        f"/v1/view/{created['id']}",
        json={"name": "Only errors", "object_type": "project", "object_id": project_id},
    ).json()
    assert renamed["name"] == "Only errors" and renamed["options"] == {"x": 1}
    clash = app_client.patch(f"/v1/view/{created['id']}", json={"name": "v0"})
    assert clash.status_code == 400 and "taken" in clash.json()["error"]["message"]
    deleted = app_client.delete(f"/v1/view/{created['id']}").json()
    assert deleted["id"] == created["id"] and deleted["deleted_at"]
    assert app_client.get(f"/v1/view/{created['id']}").status_code == 404
    listed = app_client.get("/v1/view", params={"view_type": "logs"}).json()["objects"]
    assert created["id"] not in {v["id"] for v in listed}
    # the name is free again
    assert app_client.post("/v1/view", json=_view(project_id)).json()["id"] != created["id"]


def test_sandbox_queries_contract(app_client, project_id):
    """The sandbox's saved queries: POST a sandbox view, list them by project."""
    body = {
        "object_type": "project",
        "object_id": project_id,
        "view_type": "sandbox",
        "name": "errors by model",
        "view_data": {"query": "from: project_logs('x') | measures: count(1) as n"},
    }
    saved = app_client.post("/v1/view", json=body).json()
    app_client.post("/v1/view", json=_view(project_id))
    listed = app_client.get(
        "/v1/view",
        params={"object_type": "project", "object_id": project_id, "view_type": "sandbox"},
    ).json()["objects"]
    assert [(v["id"], v["view_data"]["query"]) for v in listed] == [
        (saved["id"], body["view_data"]["query"])
    ]
    res = app_client.post("/v1/view", json={**body, "name": "q2", "view_data": {}})
    assert res.status_code == 400 and "query" in res.json()["error"]["message"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"object_type": "organization"}, "object_type"),
        ({"object_id": None}, "object_id"),
        ({"view_type": "charts"}, "view_type"),
        ({"name": ""}, "name"),
        ({"name": 3}, "name"),
        ({"view_data": [1]}, "view_data"),
        ({"options": "wide"}, "options"),
        ({"colour": "red"}, "'colour'"),
    ],
)
def test_bad_views_are_400(app_client, project_id, change, message):
    res = app_client.post("/v1/view", json={**_view(project_id), **change})
    assert res.status_code == 400, res.text
    assert message in res.json()["error"]["message"]


def test_bad_view_queries_and_patches(app_client, project_id):
    view = app_client.post("/v1/view", json=_view(project_id)).json()
    for params in ({"view_type": "charts"}, {"object_id": project_id}, {"limit": -1}):
        assert app_client.get("/v1/view", params=params).status_code == 400, params
    for patch in ({"view_data": 3}, {"object_id": "other"}, {"id": "x"}):
        res = app_client.patch(f"/v1/view/{view['id']}", json=patch)
        assert res.status_code == 400, (patch, res.text)
    assert app_client.patch(f"/v1/view/{view['id']}", content=b"{").status_code == 400
    missing = {**_view(project_id), "object_id": "nope"}
    assert app_client.post("/v1/view", json=missing).status_code == 404


def test_views_are_per_org_and_read_only_keys_cannot_write(app_client, project_id):
    view = app_client.post("/v1/view", json=_view(project_id)).json()
    reader = _key(app_client, "reader", "read")
    assert app_client.get(f"/v1/view/{view['id']}", headers=reader).status_code == 200
    for method, url, body in (
        ("POST", "/v1/view", _view(project_id, "r")),
        ("PUT", "/v1/view", _view(project_id, "r")),
        ("PATCH", f"/v1/view/{view['id']}", {"name": "r"}),
        ("DELETE", f"/v1/view/{view['id']}", None),
    ):
        res = app_client.request(method, url, json=body, headers=reader)
        assert res.status_code == 403, (method, url, res.text)
    other = app_client.post("/v1/organization", json={"name": "other-org"}).json()
    foreign = {"Authorization": f"Bearer {other['api_key']['key']}"}
    for method, url, body in (
        ("GET", f"/v1/view/{view['id']}", None),
        ("PATCH", f"/v1/view/{view['id']}", {"name": "x"}),
        ("DELETE", f"/v1/view/{view['id']}", None),
        ("POST", "/v1/view", _view(project_id, "x")),
        ("GET", f"/v1/view?object_type=project&object_id={project_id}", None),
    ):
        res = app_client.request(method, url, json=body, headers=foreign)
        assert res.status_code == 404, (method, url, res.text)
    assert app_client.get("/v1/view", headers=foreign).json()["objects"] == []
    assert app_client.get(f"/v1/view/{view['id']}").json()["name"] == "Errors"


def test_personal_default_view(app_client, project_id):
    view = app_client.post("/v1/view", json=_view(project_id)).json()
    table = {"object_type": "project", "object_id": project_id, "view_type": "logs"}
    assert app_client.get("/v1/view_default", params=table).json()["view_id"] is None
    stored = app_client.put("/v1/view_default", json={**table, "view_id": view["id"]}).json()
    assert stored["view_id"] == view["id"]
    assert app_client.get("/v1/view_default", params=table).json()["view_id"] == view["id"]
    # personal: another user (key name) has its own; a read-only key may set its own
    reader = _key(app_client, "reader", "read")
    assert (
        app_client.get("/v1/view_default", params=table, headers=reader).json()["view_id"] is None
    )
    res = app_client.put(
        "/v1/view_default", json={**table, "view_id": "builtin:errors"}, headers=reader
    )
    assert res.status_code == 200 and res.json()["view_id"] == "builtin:errors"
    assert app_client.get("/v1/view_default", params=table).json()["view_id"] == view["id"]
    # deleting the view drops the default
    app_client.delete(f"/v1/view/{view['id']}")
    assert app_client.get("/v1/view_default", params=table).json()["view_id"] is None
    for body in (
        {**table, "view_id": 3},
        {**table, "view_id": "nope"},
        {**table, "view_id": "builtin:bogus"},
        {**table, "view_type": "x", "view_id": None},
        {**table, "extra": 1},
    ):
        res = app_client.put("/v1/view_default", json=body)
        assert res.status_code in (400, 404), (body, res.text)
    sandbox = app_client.post(
        "/v1/view",
        json={**table, "view_type": "sandbox", "name": "q", "view_data": {"query": "x"}},
    ).json()
    res = app_client.put("/v1/view_default", json={**table, "view_id": sandbox["id"]})
    assert res.status_code == 400 and "another table" in res.json()["error"]["message"]


def test_review_assignment(app_client, project_id):
    _key(app_client, "alice", "write")
    bob = _key(app_client, "bob", "read")
    users = app_client.get("/v1/user").json()["objects"]
    names = {u["name"]: u for u in users}
    assert {"alice", "bob"} <= set(names) and names["bob"]["role"] == "read"
    me = [u["name"] for u in users if u["is_me"]]
    assert len(me) == 1 and names[me[0]]["role"] == "admin"
    assert all("key" not in u and "preview" not in u for u in users)
    base = {"object_type": "project_logs", "object_id": project_id}
    a = app_client.post("/v1/review_item", json={**base, "row_id": "r1", "assignee": "alice"})
    assert a.status_code == 200 and a.json()["assignee"] == "alice"
    b = app_client.post("/v1/review_item", json={**base, "row_id": "r2"}).json()
    assert b["assignee"] is None
    b = app_client.patch(f"/v1/review_item/{b['id']}", json={"assignee": "bob"}).json()
    assert b["assignee"] == "bob"
    c = app_client.post("/v1/review_item", json={**base, "row_id": "r3", "assignee": "me"}).json()
    assert c["assignee"] == me[0]

    def listed(headers=None, **params):
        res = app_client.get("/v1/review_item", params=params, headers=headers)
        assert res.status_code == 200, res.text
        return {i["row_id"] for i in res.json()["objects"]}

    assert listed(assignee="alice") == {"r1"}
    assert listed(assignee="me") == {"r3"}
    assert listed(headers=bob, assignee="me") == {"r2"}
    assert listed(assignee="") == set()
    app_client.patch(f"/v1/review_item/{c['id']}", json={"assignee": None})
    assert listed(assignee="") == {"r3"}
    # flagging an item again with an assignee reassigns it
    again = app_client.post("/v1/review_item", json={**base, "row_id": "r1", "assignee": "bob"})
    assert again.json()["id"] == a.json()["id"] and again.json()["assignee"] == "bob"
    # a read-only key cannot assign
    res = app_client.patch(f"/v1/review_item/{c['id']}", json={"assignee": "me"}, headers=bob)
    assert res.status_code == 403
    for body in ({"assignee": "carol"}, {"assignee": 3}):
        res = app_client.patch(f"/v1/review_item/{c['id']}", json=body)
        assert res.status_code == 400, res.text
    res = app_client.post("/v1/review_item", json={**base, "row_id": "r9", "assignee": "nobody"})
    assert res.status_code == 400 and "nobody" in res.json()["error"]["message"]
    other = app_client.post("/v1/organization", json={"name": "users-other"}).json()
    foreign = {"Authorization": f"Bearer {other['api_key']['key']}"}
    foreign_names = {
        u["name"] for u in app_client.get("/v1/user", headers=foreign).json()["objects"]
    }
    assert "alice" not in foreign_names


def test_a_database_made_before_views_gains_them(tmp_path):
    """Schema upgrades are idempotent DDL: an older review_items table gains `assignee` (its
    rows kept) and the views tables appear."""
    import duckdb

    from tracelake.store.store import DB_FILENAME, Store

    data = tmp_path / "data"
    data.mkdir()
    con = duckdb.connect(str(data / DB_FILENAME))
    con.execute(
        """CREATE TABLE review_items (id VARCHAR PRIMARY KEY, org_id VARCHAR NOT NULL,
        project_id VARCHAR NOT NULL, object_type VARCHAR NOT NULL, object_id VARCHAR NOT NULL,
        row_id VARCHAR NOT NULL, root_span_id VARCHAR, span_name VARCHAR,
        status VARCHAR NOT NULL, note VARCHAR, created TIMESTAMPTZ NOT NULL,
        updated TIMESTAMPTZ NOT NULL, UNIQUE (object_type, object_id, row_id))"""
    )
    con.execute(
        "INSERT INTO review_items VALUES ('i1', 'o', 'p', 'project_logs', 'p', 'r', NULL, NULL,"
        " 'awaiting', NULL, now(), now())"
    )
    con.close()
    store = Store(data)
    try:
        rows = store.read(lambda c: c.execute("SELECT id, assignee FROM review_items").fetchall())
        assert rows == [("i1", None)]
        tables = store.read(
            lambda c: c.execute(
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_name IN ('views', 'view_defaults')"
            ).fetchall()
        )
        assert sorted(t[0] for t in tables) == ["view_defaults", "views"]
    finally:
        store.close()


def test_views_of_a_deleted_table_are_gone_with_it(app_client, project_id):
    exp = app_client.post("/v1/experiment", json={"project_id": project_id, "name": "e"}).json()
    ds = app_client.post("/v1/dataset", json={"project_id": project_id, "name": "d"}).json()
    made = {}
    for kind, object_id in (
        ("project", project_id),
        ("experiment", exp["id"]),
        ("dataset", ds["id"]),
    ):
        body = {**_view(project_id), "object_type": kind, "object_id": object_id}
        made[kind] = app_client.post("/v1/view", json=body).json()["id"]

    def listed():
        return {v["id"] for v in app_client.get("/v1/view").json()["objects"]}

    assert app_client.delete(f"/v1/experiment/{exp['id']}").status_code == 200
    assert listed() == {made["project"], made["dataset"]}
    assert app_client.get(f"/v1/view/{made['experiment']}").status_code == 404
    assert app_client.patch(f"/v1/view/{made['experiment']}", json={"name": "x"}).status_code == 404
    assert app_client.delete(f"/v1/project/{project_id}").status_code == 200
    assert listed() == set()
    for view_id in (made["project"], made["dataset"]):
        assert app_client.get(f"/v1/view/{view_id}").status_code == 404


def test_a_view_moved_to_another_view_type_stops_being_the_old_tables_default(
    app_client, project_id
):
    view = app_client.post("/v1/view", json=_view(project_id, name="moved")).json()
    logs = {"object_type": "project", "object_id": project_id, "view_type": "logs"}
    assert app_client.put("/v1/view_default", json={**logs, "view_id": view["id"]}).is_success
    renamed = app_client.patch(f"/v1/view/{view['id']}", json={"name": "still logs"})
    assert renamed.json()["view_type"] == "logs"
    assert app_client.get("/v1/view_default", params=logs).json()["view_id"] == view["id"]
    moved = app_client.patch(f"/v1/view/{view['id']}", json={"view_type": "experiments"})
    assert moved.json()["view_type"] == "experiments"
    assert app_client.get("/v1/view_default", params=logs).json()["view_id"] is None
