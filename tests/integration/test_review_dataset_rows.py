"""The review queue takes rows of datasets (object_type "dataset") as it takes spans: flag,
assign, complete, reopen, list by object / status / assignee, delete; per organization."""

from __future__ import annotations

import pytest


@pytest.fixture
def project_id(app_client):
    return app_client.post("/v1/project", json={"name": "dsreview-proj"}).json()["id"]


@pytest.fixture
def dataset_id(app_client, project_id):
    ds = app_client.post("/v1/dataset", json={"project_id": project_id, "name": "golden"}).json()
    events = [{"id": "q1", "input": "a?", "expected": "a"}, {"id": "q2", "input": "b?"}]
    res = app_client.post(f"/v1/dataset/{ds['id']}/insert", json={"events": events})
    assert res.status_code == 200, res.text
    return ds["id"]


def _key(app_client, name, role):
    res = app_client.post("/v1/api_key", json={"name": name, "role": role})
    assert res.status_code == 200, res.text
    return {"Authorization": f"Bearer {res.json()['key']}"}


def test_dataset_row_review_lifecycle(app_client, project_id, dataset_id):
    alice = _key(app_client, "alice", "write")
    base = {"object_type": "dataset", "object_id": dataset_id}
    res = app_client.post("/v1/review_item", json={**base, "row_id": "q1", "note": "check"})
    assert res.status_code == 200, res.text
    item = res.json()
    assert item["object_type"] == "dataset" and item["object_id"] == dataset_id
    assert item["project_id"] == project_id and item["row_id"] == "q1"
    assert item["status"] == "awaiting" and item["assignee"] is None and item["note"] == "check"
    assert item["root_span_id"] is None and item["span_name"] is None
    # flagging again returns the same item; with an assignee it assigns it
    again = app_client.post("/v1/review_item", json={**base, "row_id": "q1", "assignee": "alice"})
    assert again.json()["id"] == item["id"] and again.json()["assignee"] == "alice"
    # a span of the project's logs with the same row id is another item
    logs = {"object_type": "project_logs", "object_id": project_id, "row_id": "q1"}
    span = app_client.post("/v1/review_item", json=logs).json()
    assert span["id"] != item["id"]
    mine = app_client.post("/v1/review_item", json={**base, "row_id": "q2", "assignee": "me"})
    assert mine.status_code == 200 and mine.json()["assignee"] not in (None, "alice")

    def listed(headers=None, **params):
        res = app_client.get("/v1/review_item", params=params, headers=headers)
        assert res.status_code == 200, res.text
        return {(i["object_type"], i["row_id"]) for i in res.json()["objects"]}

    assert listed(object_id=dataset_id) == {("dataset", "q1"), ("dataset", "q2")}
    assert listed(object_id=dataset_id, row_id="q1") == {("dataset", "q1")}
    assert listed(project_id=project_id, status="awaiting") == {
        ("dataset", "q1"),
        ("dataset", "q2"),
        ("project_logs", "q1"),
    }
    assert listed(headers=alice, assignee="me") == {("dataset", "q1")}
    assert listed(assignee="me") == {("dataset", "q2")}
    assert listed(assignee="") == {("project_logs", "q1")}
    # alice reassigns, completes and reopens the row's review
    url = f"/v1/review_item/{item['id']}"
    assert app_client.patch(url, json={"assignee": None}, headers=alice).json()["assignee"] is None
    assert app_client.patch(url, json={"assignee": "me"}, headers=alice).json()["assignee"] == (
        "alice"
    )
    done = app_client.patch(url, json={"status": "completed"}, headers=alice)
    assert done.status_code == 200 and done.json()["status"] == "completed"
    assert listed(project_id=project_id, status="completed") == {("dataset", "q1")}
    assert listed(headers=alice, assignee="me", status="awaiting") == set()
    assert app_client.patch(url, json={"status": "awaiting"}).json()["status"] == "awaiting"
    assert app_client.get(url).json()["status"] == "awaiting"
    # delete takes it off the queue
    assert app_client.delete(url).status_code == 200
    assert app_client.get(url).status_code == 404
    assert listed(object_id=dataset_id) == {("dataset", "q2")}


def test_a_deleted_datasets_items_leave_the_queue(app_client, project_id, dataset_id):
    base = {"object_type": "dataset", "object_id": dataset_id, "row_id": "q1"}
    item = app_client.post("/v1/review_item", json=base).json()
    assert app_client.delete(f"/v1/dataset/{dataset_id}").status_code == 200
    listed = app_client.get("/v1/review_item", params={"project_id": project_id}).json()
    assert item["id"] not in {i["id"] for i in listed["objects"]}
    assert app_client.get(f"/v1/review_item/{item['id']}").status_code == 404
    res = app_client.post("/v1/review_item", json={**base, "row_id": "q2"})
    assert res.status_code == 404, res.text


def test_dataset_row_reviews_are_per_org_and_need_write(app_client, dataset_id):
    reader = _key(app_client, "reader", "read")
    base = {"object_type": "dataset", "object_id": dataset_id, "row_id": "q1"}
    res = app_client.post("/v1/review_item", json=base, headers=reader)
    assert res.status_code == 403, res.text
    item = app_client.post("/v1/review_item", json=base).json()
    url = f"/v1/review_item/{item['id']}"
    assert app_client.patch(url, json={"status": "completed"}, headers=reader).status_code == 403
    assert app_client.delete(url, headers=reader).status_code == 403
    listed = app_client.get("/v1/review_item", params={"object_id": dataset_id}, headers=reader)
    assert [i["id"] for i in listed.json()["objects"]] == [item["id"]]
    other = app_client.post("/v1/organization", json={"name": "dsreview-other"}).json()
    foreign = {"Authorization": f"Bearer {other['api_key']['key']}"}
    res = app_client.post("/v1/review_item", json=base, headers=foreign)
    assert res.status_code == 404, res.text
    assert "dataset" in res.json()["error"]["message"]
    assert app_client.get(url, headers=foreign).status_code == 404
    assert app_client.patch(url, json={"status": "completed"}, headers=foreign).status_code == 404
    assert app_client.delete(url, headers=foreign).status_code == 404
    listed = app_client.get("/v1/review_item", params={"object_id": dataset_id}, headers=foreign)
    assert listed.json()["objects"] == []
    assert app_client.get(url).json()["status"] == "awaiting"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"object_type": "datasets"}, "object_type"),
        ({"object_id": None}, "object_id"),
        ({"object_id": 7}, "object_id"),
        ({"row_id": ""}, "row_id"),
        ({"row_id": ["q1"]}, "row_id"),
        ({"note": {"a": 1}}, "note"),
        ({"assignee": "nobody"}, "nobody"),
        ({"assignee": 3}, "assignee"),
        ({"dataset_id": "x"}, "dataset_id"),
        ({"root_span_id": "span-1"}, "'root_span_id' is for spans"),
        ({"span_name": "llm"}, "'span_name' is for spans"),
    ],
)
def test_bad_dataset_row_flags_are_400(app_client, dataset_id, change, message):
    body = {"object_type": "dataset", "object_id": dataset_id, "row_id": "q1", **change}
    res = app_client.post("/v1/review_item", json=body)
    assert res.status_code == 400, res.text
    assert message in res.json()["error"]["message"]


def test_an_unknown_dataset_is_404(app_client):
    body = {"object_type": "dataset", "object_id": "nope", "row_id": "q1"}
    res = app_client.post("/v1/review_item", json=body)
    assert res.status_code == 404 and "dataset" in res.json()["error"]["message"]


def test_a_deleted_rows_item_leaves_the_queue_until_the_row_is_back(app_client, dataset_id):
    """An item of a row that is deleted is not listed (nor found by id) while the row is
    gone; restoring the dataset's version brings the item back as it was. An item flagged on
    a row id that is no row stays listed, as before."""
    base = {"object_type": "dataset", "object_id": dataset_id}
    ghost = app_client.post("/v1/review_item", json={**base, "row_id": "nope"}).json()
    flagged = app_client.post("/v1/review_item", json={**base, "row_id": "q1", "note": "n"})
    item = flagged.json()
    version = app_client.get(f"/v1/dataset/{dataset_id}/versions").json()["objects"][0]
    delete = {"events": [{"id": "q1", "_object_delete": True}]}
    assert app_client.post(f"/v1/dataset/{dataset_id}/insert", json=delete).status_code == 200

    def listed(**params):
        res = app_client.get("/v1/review_item", params={"object_id": dataset_id, **params})
        assert res.status_code == 200, res.text
        return [i["id"] for i in res.json()["objects"]]

    assert listed() == [ghost["id"]]
    # (the hidden item is the newest: a page of one is the next item shown)
    assert listed(limit=1) == [ghost["id"]]
    assert app_client.get(f"/v1/review_item/{item['id']}").status_code == 404
    res = app_client.post(
        f"/v1/dataset/{dataset_id}/restore", json={"version": version["_xact_id"]}
    )
    assert res.status_code == 200, res.text
    back = app_client.get(f"/v1/review_item/{item['id']}")
    assert back.status_code == 200 and back.json()["note"] == "n"
    assert set(listed()) == {item["id"], ghost["id"]}


def test_a_deleted_spans_item_leaves_the_queue(app_client, project_id):
    span = {"id": "s1", "input": "hi"}
    res = app_client.post(f"/v1/project_logs/{project_id}/insert", json={"events": [span]})
    assert res.status_code == 200, res.text
    body = {"object_type": "project_logs", "object_id": project_id, "row_id": "s1"}
    item = app_client.post("/v1/review_item", json=body).json()
    assert [i["id"] for i in app_client.get("/v1/review_item").json()["objects"]] == [item["id"]]
    gone = {"events": [{"id": "s1", "_object_delete": True}]}
    assert app_client.post(f"/v1/project_logs/{project_id}/insert", json=gone).status_code == 200
    assert app_client.get("/v1/review_item").json()["objects"] == []
    assert app_client.patch(f"/v1/review_item/{item['id']}", json={"note": "x"}).status_code == 404
    # A span written again with that id is back on the queue with its item.
    res = app_client.post(f"/v1/project_logs/{project_id}/insert", json={"events": [span]})
    assert [i["id"] for i in app_client.get("/v1/review_item").json()["objects"]] == [item["id"]]
