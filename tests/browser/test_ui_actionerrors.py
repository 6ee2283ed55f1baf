"""Actions the server refuses or fails (web/e2e/actionerrors.mjs), on a project of its own
(``seed_action_errors``): the review controls of a span's detail and of the review queue, deleting
a score configuration, and "Add to dataset" show the server's message, keep showing what is
stored and store nothing."""

from __future__ import annotations

import pytest

from tests.browser.conftest import run_flow
from tests.browser.seed import seed_action_errors


@pytest.fixture(scope="module")
def action_data(ui_server):
    server, data = ui_server
    with server.client() as client:
        extra = seed_action_errors(client)
        res = client.post("/v1/api_key", json={"name": "onlooker", "role": "read"})
        res.raise_for_status()
    return server, {**data, **extra}, res.json()["key"]


def test_refused_review_changes_show_the_servers_message(action_data, tmp_path):
    """Flag, assign, mark reviewed and remove (span detail and queue) with a read-only key, and
    an item removed meanwhile: before, each failure was an unhandled rejection and nothing was
    shown; the queue's assignee select kept the refused user."""
    server, data, read_key = action_data
    result = run_flow("reviewerrors", server, data, tmp_path, read_key=read_key)
    assert result["messages"]["refused"] == "this API key is read-only"
    assert "not found" in result["messages"]["gone"]


def test_add_to_dataset_errors_show_in_the_dialog(action_data, tmp_path):
    """A dataset deleted while the dialog is open (404), a 500 after the new dataset was created
    (the retry writes into it), the datasets not listed, and a read-only key."""
    server, data, read_key = action_data
    result = run_flow("datasetadderrors", server, data, tmp_path, read_key=read_key)
    assert "not found" in result["messages"]["deleted"]
