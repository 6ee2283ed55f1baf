"""Browser flow of the review of dataset rows (web/e2e/dsreview.mjs) against the shared
browser-test server (see conftest): flag a row from its editor, assign it to a second user,
find it in the queue, open it from there, mark it reviewed, find it under Completed."""

from __future__ import annotations

from tests.browser.conftest import run_flow

CURATOR = "curator"


def test_flag_assign_open_and_complete_a_dataset_rows_review(ui_server, tmp_path):
    server, data = ui_server
    with server.client() as client:
        res = client.post("/v1/api_key", json={"name": CURATOR, "role": "write"})
        res.raise_for_status()
        curator_key = res.json()["key"]
    result = run_flow(
        "dsreview", server, data, tmp_path, reviewer=CURATOR, reviewer_key=curator_key
    )
    assert result["status"] == "completed" and result["assignee"] == CURATOR
    with server.client() as client:
        items = client.get(
            "/v1/review_item", params={"object_id": data["dataset_id"], "status": "completed"}
        ).json()["objects"]
    assert [(i["object_type"], i["row_id"], i["assignee"]) for i in items] == [
        ("dataset", result["row_id"], CURATOR)
    ]
