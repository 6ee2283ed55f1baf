"""Browser flow of labelling dataset rows with the project's review scores (web/e2e/dslabels.mjs),
on a project of its own: a categorical score with "write to expected", a category without a
destination, a slider and a free-form text on a dataset row opened from the review queue and from
the dataset's table (two categorical scores writing to expected: it holds both labels by name);
each a merge write of the row; Mark reviewed completes the item. On a span, the same categorical
score labels its expected."""

from __future__ import annotations

import pytest

from tests.browser.conftest import run_flow


@pytest.fixture(scope="module")
def dslabels_data(ui_server):
    server, data = ui_server
    with server.client() as client:
        pid = client.post("/v1/project", json={"name": "dslabels"}).json()["id"]
        ds = client.post("/v1/dataset", json={"project_id": pid, "name": "support-labels"}).json()
        rows = [
            {
                "id": "dl-1",
                "input": "I was charged twice",
                "expected": None,
                "metadata": {"src": "email"},
            },
            {
                "id": "dl-2",
                "input": "Love the new app",
                "expected": None,
                "metadata": {"src": "app"},
            },
        ]
        client.post(f"/v1/dataset/{ds['id']}/insert", json={"events": rows}).raise_for_status()
        configs = [
            {
                "name": "sentiment",
                "score_type": "categorical",
                "categories": [{"name": "positive", "value": 1}, {"name": "negative", "value": 0}],
                "config": {"destination": "expected"},
            },
            {
                "name": "quality",
                "score_type": "categorical",
                "categories": [{"name": "good", "value": 1}, {"name": "bad", "value": 0}],
            },
            {"name": "confidence", "score_type": "slider"},
            {
                "name": "note",
                "score_type": "free-form",
                "config": {"destination": "metadata.review.note"},
            },
        ]
        for config in configs:
            client.post("/v1/project_score", json={"project_id": pid, **config}).raise_for_status()
        span = {
            "id": "dl-span",
            "span_id": "dl-span",
            "root_span_id": "dl-trace",
            "input": "Where is my parcel?",
            "output": "On its way.",
            "span_attributes": {"name": "answer", "type": "task"},
        }
        client.post(f"/v1/project_logs/{pid}/insert", json={"events": [span]}).raise_for_status()
        item = client.post(
            "/v1/review_item",
            json={"object_type": "dataset", "object_id": ds["id"], "row_id": "dl-1"},
        ).json()
    extra = {
        "dslabels_project_id": pid,
        "dslabels_dataset_id": ds["id"],
        "dslabels_item_id": item["id"],
    }
    return server, {**data, **extra}


def test_dataset_rows_are_labelled_with_the_projects_review_scores(dslabels_data, tmp_path):
    """Before: a dataset row's editor offered only flag, assign and Mark reviewed; a categorical
    score could not write to expected (the server refused its destination)."""
    server, data = dslabels_data
    result = run_flow("dslabels", server, data, tmp_path)
    assert result["versions"] == 8  # 4 answers and Save on dl-1, 3 answers on dl-2
    with server.client() as client:
        rows = client.post(f"/v1/dataset/{data['dslabels_dataset_id']}/fetch", json={}).json()
        by_id = {r["id"]: r for r in rows["events"]}
        item = client.get(f"/v1/review_item/{data['dslabels_item_id']}").json()
    assert by_id["dl-1"]["expected"] == "negative"
    assert by_id["dl-1"]["metadata"] == {
        "src": "email",
        "quality": "bad",
        "confidence": 0.8,
        "review": {"note": "charged twice, refund asked"},
    }
    assert by_id["dl-2"]["expected"] == {"sentiment": "positive", "topic": "praise"}
    assert by_id["dl-2"]["metadata"] == {"src": "app"}
    assert item["status"] == "completed"
    assert result["span_expected"] == {"sentiment": "negative"}
