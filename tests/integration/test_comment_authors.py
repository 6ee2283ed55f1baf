"""A comment records who wrote it: ``user_id`` on each comment object (the name of the API key
that created it, as a tag's or a view's ``user_id``), returned by fetch and BTQL; an edit keeps
the author, a retention restore brings it back, and a database made before the column gains it.
Before, a comment had no author at all and the web UI could show none."""

from __future__ import annotations

import duckdb
from fastapi.testclient import TestClient

from tests.conftest import ADMIN_KEY
from tests.integration.test_bad_input import events, new_dataset, new_project
from tests.integration.test_retention import log_rows, retention, run_once
from tracelake.server.app import create_app
from tracelake.settings import Settings
from tracelake.store.store import DB_FILENAME


def key_named(client, name: str, role: str = "write") -> str:
    response = client.post("/v1/api_key", json={"name": name, "role": role})
    assert response.status_code == 200, response.text
    return response.json()["key"]


def comments_of(client, object_type: str, object_id: str, row_id: str) -> list[dict]:
    (row,) = [e for e in events(client, object_type, object_id) if e["id"] == row_id]
    return row["comments"] or []


def test_a_comment_carries_the_name_of_the_key_that_wrote_it(app_client):
    project_id = new_project(app_client)
    dataset_id = new_dataset(app_client, project_id)
    alice = {"Authorization": f"Bearer {key_named(app_client, 'alice')}"}
    bob = {"Authorization": f"Bearer {key_named(app_client, 'bob')}"}
    written = app_client.post(
        f"/v1/dataset/{dataset_id}/insert", json={"events": [{"id": "r", "input": 1}]}
    )
    assert written.status_code == 200, written.text
    url = f"/v1/dataset/{dataset_id}/feedback"
    for headers, text in ((alice, "first"), (bob, "second")):
        feedback = {"feedback": [{"id": "r", "comment": text}]}
        assert app_client.post(url, json=feedback, headers=headers).status_code == 200
    # A comment row written through /logs3 (as the SDK's log_feedback sends it) too.
    row = {"dataset_id": dataset_id, "id": "c3", "origin": {"id": "r"}, "comment": {"text": "3"}}
    assert app_client.post("/logs3", json={"rows": [row]}, headers=bob).status_code == 200

    comments = comments_of(app_client, "dataset", dataset_id, "r")
    assert [(c["comment"]["text"], c["user_id"]) for c in comments] == [
        ("first", "alice"),
        ("second", "bob"),
        ("3", "bob"),
    ]
    query = {"query": f"select: id, comments | from: dataset('{dataset_id}')"}
    (data,) = app_client.post("/btql", json=query).json()["data"]
    assert [c["user_id"] for c in data["comments"]] == ["alice", "bob", "bob"]

    # Edited by another key (a merge of its body): the author stays the one who wrote it.
    edit = {**row, "comment": {"text": "3, edited"}, "_is_merge": True}
    assert app_client.post("/logs3", json={"rows": [edit]}, headers=alice).status_code == 200
    (edited,) = [c for c in comments_of(app_client, "dataset", dataset_id, "r") if c["id"] == "c3"]
    assert edited["comment"]["text"] == "3, edited" and edited["user_id"] == "bob"


def test_a_restored_comment_keeps_its_author(app_client):
    project_id = new_project(app_client)
    log_rows(app_client, project_id)  # old-0 has a comment by the admin key
    (before,) = comments_of(app_client, "project_logs", project_id, "old-0")
    assert before["user_id"]
    policy = retention(app_client, project_id, "project_logs", days=30)
    assert run_once(app_client, policy["id"])["rows"] == 3
    restored = app_client.post(f"/v1/project_automation/{policy['id']}/restore")
    assert restored.status_code == 200, restored.text
    (after,) = comments_of(app_client, "project_logs", project_id, "old-0")
    assert after["user_id"] == before["user_id"] and after["comment"] == before["comment"]


def test_a_database_made_before_comment_authors_gains_the_column(tmp_path):
    """A data dir written before comments had ``user_id`` (the column dropped again here) opens:
    its comments have no author (null), new ones have theirs, and a retention restore of the
    old layout (``trash_comments`` ending in ``run_id``, then ``user_id``) puts them back."""
    settings = Settings(data_dir=tmp_path / "data", api_key=ADMIN_KEY, scheduler_tick_seconds=0)

    def client():
        test_client = TestClient(create_app(settings), base_url="http://127.0.0.1")
        test_client.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
        return test_client

    with client() as app_client:
        project_id = new_project(app_client)
        log_rows(app_client, project_id)
    with duckdb.connect(str(tmp_path / "data" / DB_FILENAME)) as db:
        for table in ("comments", "trash_comments"):
            db.execute(f"ALTER TABLE {table} DROP COLUMN user_id")
    with client() as app_client:
        (old,) = comments_of(app_client, "project_logs", project_id, "old-0")
        assert old["user_id"] is None and old["comment"] == {"text": "keep an eye on this"}
        feedback = {"feedback": [{"id": "old-0", "comment": "again"}]}
        url = f"/v1/project_logs/{project_id}/feedback"
        assert app_client.post(url, json=feedback).status_code == 200
        policy = retention(app_client, project_id, "project_logs", days=30)
        assert run_once(app_client, policy["id"])["rows"] == 3
        restored = app_client.post(f"/v1/project_automation/{policy['id']}/restore")
        assert restored.status_code == 200, restored.text
        comments = comments_of(app_client, "project_logs", project_id, "old-0")
        assert [c["user_id"] for c in comments] == [None, "bootstrap"]
