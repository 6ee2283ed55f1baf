"""The review queue (/v1/review_item): flag spans, list awaiting / completed, complete."""

from __future__ import annotations

import pytest


@pytest.fixture
def project_id(app_client):
    return app_client.post("/v1/project", json={"name": "review-proj"}).json()["id"]


def test_flag_list_complete_and_remove(app_client, project_id):
    body = {"object_type": "project_logs", "object_id": project_id, "row_id": "r1"}
    item = app_client.post("/v1/review_item", json={**body, "span_name": "llm"}).json()
    assert item["status"] == "awaiting" and item["project_id"] == project_id
    assert item["span_name"] == "llm" and item["created"]
    # Flagging again returns the same item.
    assert app_client.post("/v1/review_item", json=body).json()["id"] == item["id"]
    exp = app_client.post("/v1/experiment", json={"project_id": project_id, "name": "e"}).json()
    other = app_client.post(
        "/v1/review_item",
        json={"object_type": "experiment", "object_id": exp["id"], "row_id": "r1"},
    ).json()
    assert other["id"] != item["id"] and other["project_id"] == project_id
    awaiting = app_client.get(
        "/v1/review_item", params={"project_id": project_id, "status": "awaiting"}
    ).json()["objects"]
    assert {i["id"] for i in awaiting} == {item["id"], other["id"]}
    done = app_client.patch(f"/v1/review_item/{item['id']}", json={"status": "completed"})
    assert done.json()["status"] == "completed"
    listed = app_client.get(
        "/v1/review_item", params={"project_id": project_id, "status": "completed"}
    ).json()["objects"]
    assert [i["id"] for i in listed] == [item["id"]]
    by_row = app_client.get(
        "/v1/review_item", params={"object_id": project_id, "row_id": "r1"}
    ).json()["objects"]
    assert [i["id"] for i in by_row] == [item["id"]]
    assert app_client.get(f"/v1/review_item/{item['id']}").json()["status"] == "completed"
    assert app_client.delete(f"/v1/review_item/{item['id']}").status_code == 200
    assert app_client.get(f"/v1/review_item/{item['id']}").status_code == 404


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"object_type": "playground_logs", "object_id": "P", "row_id": "r"}, "object_type"),
        ({"object_type": "project_logs", "object_id": "P"}, "row_id"),
        ({"object_type": "project_logs", "object_id": "P", "row_id": 3}, "row_id"),
        ({"object_type": "project_logs", "object_id": "P", "row_id": "r", "x": 1}, "'x'"),
    ],
)
def test_bad_flags_are_400(app_client, project_id, body, message):
    body = {k: (project_id if v == "P" else v) for k, v in body.items()}
    res = app_client.post("/v1/review_item", json=body)
    assert res.status_code == 400, res.text
    assert message in res.json()["error"]["message"]


def test_bad_updates_and_filters(app_client, project_id):
    body = {"object_type": "project_logs", "object_id": project_id, "row_id": "r"}
    item = app_client.post("/v1/review_item", json=body).json()
    res = app_client.patch(f"/v1/review_item/{item['id']}", json={"status": "done"})
    assert res.status_code == 400 and "status" in res.json()["error"]["message"]
    res = app_client.patch(f"/v1/review_item/{item['id']}", json={"row_id": "x"})
    assert res.status_code == 400
    res = app_client.get("/v1/review_item", params={"status": "maybe"})
    assert res.status_code == 400
    missing = {"object_type": "project_logs", "object_id": "nope", "row_id": "r"}
    assert app_client.post("/v1/review_item", json=missing).status_code == 404


def test_a_deleted_experiments_items_leave_the_queue(app_client, project_id):
    exp = app_client.post("/v1/experiment", json={"project_id": project_id, "name": "gone"})
    base = {"object_type": "experiment", "object_id": exp.json()["id"], "row_id": "r1"}
    item = app_client.post("/v1/review_item", json=base).json()
    kept = app_client.post(
        "/v1/review_item",
        json={"object_type": "project_logs", "object_id": project_id, "row_id": "r1"},
    ).json()
    assert app_client.delete(f"/v1/experiment/{base['object_id']}").status_code == 200
    listed = app_client.get("/v1/review_item", params={"project_id": project_id}).json()
    assert [i["id"] for i in listed["objects"]] == [kept["id"]]
    for method in ("GET", "PATCH", "DELETE"):
        body = {"status": "completed"} if method == "PATCH" else None
        res = app_client.request(method, f"/v1/review_item/{item['id']}", json=body)
        assert res.status_code == 404, (method, res.text)
    assert app_client.delete(f"/v1/project/{project_id}").status_code == 200
    assert app_client.get(f"/v1/review_item/{kept['id']}").status_code == 404
    res = app_client.post("/v1/review_item", json={**base, "row_id": "r2"})
    assert res.status_code == 404, res.text


def test_a_note_is_bounded(app_client, project_id):
    body = {"object_type": "project_logs", "object_id": project_id, "row_id": "r1"}
    res = app_client.post("/v1/review_item", json={**body, "note": "n" * 65_537})
    assert res.status_code == 400 and "'note' is too long" in res.text, res.text
    item = app_client.post("/v1/review_item", json={**body, "note": "n" * 65_536}).json()
    res = app_client.patch(f"/v1/review_item/{item['id']}", json={"note": "n" * 65_537})
    assert res.status_code == 400 and "'note' is too long" in res.text, res.text
    assert app_client.get(f"/v1/review_item/{item['id']}").json()["note"] == "n" * 65_536


def test_counts_per_tab_follow_flags_assignments_and_completions(app_client, project_id):
    """``GET /v1/review_item_counts``: what the queue's tabs list (awaiting, awaiting and
    assigned to the caller, completed), counted on the server for the web UI's tabs."""
    me = next(u["name"] for u in app_client.get("/v1/user").json()["objects"] if u["is_me"])

    def counts(**params):
        res = app_client.get("/v1/review_item_counts", params={"project_id": project_id, **params})
        assert res.status_code == 200, res.text
        return res.json()

    assert counts() == {"awaiting": 0, "assigned_to_me": 0, "completed": 0}
    base = {"object_type": "project_logs", "object_id": project_id}
    items = [
        app_client.post("/v1/review_item", json={**base, "row_id": f"c{i}"}).json()
        for i in range(3)
    ]
    app_client.patch(f"/v1/review_item/{items[0]['id']}", json={"assignee": "me"})
    app_client.patch(f"/v1/review_item/{items[1]['id']}", json={"assignee": me})
    app_client.patch(f"/v1/review_item/{items[1]['id']}", json={"status": "completed"})
    assert counts() == {"awaiting": 2, "assigned_to_me": 1, "completed": 1}
    # The same numbers as the lists the tabs show.
    listed = {
        status: len(
            app_client.get(
                "/v1/review_item", params={"project_id": project_id, "status": status}
            ).json()["objects"]
        )
        for status in ("awaiting", "completed")
    }
    assert listed == {"awaiting": 2, "completed": 1}
    # Another project's items are not counted; without project_id the organization's are.
    other = app_client.post("/v1/project", json={"name": "review-proj-2"}).json()["id"]
    app_client.post(
        "/v1/review_item", json={"object_type": "project_logs", "object_id": other, "row_id": "x"}
    )
    assert counts()["awaiting"] == 2
    whole = app_client.get("/v1/review_item_counts").json()
    assert whole["awaiting"] >= 3
    app_client.delete(f"/v1/review_item/{items[2]['id']}")
    assert counts() == {"awaiting": 1, "assigned_to_me": 1, "completed": 1}
