"""Browser flows of saved views, the facet sidebar and review assignment (web/e2e/views.mjs)
against the shared browser-test server (see conftest)."""

from __future__ import annotations

import pytest

from tests.browser.conftest import run_flow

REVIEWER = "reviewer"


@pytest.fixture(scope="module")
def reviewer_key(ui_server):
    """A second user (a write key named "reviewer") to assign reviews to."""
    server, _ = ui_server
    with server.client() as client:
        res = client.post("/v1/api_key", json={"name": REVIEWER, "role": "write"})
        res.raise_for_status()
        return res.json()["key"]


@pytest.fixture
def no_default_view(ui_server):
    """Other flows open the logs screen expecting no view: clear the admin's default after."""
    yield
    server, data = ui_server
    with server.client() as client:
        client.put(
            "/v1/view_default",
            json={
                "object_type": "project",
                "object_id": data["project_id"],
                "view_type": "logs",
                "view_id": None,
            },
        ).raise_for_status()


def test_built_in_and_saved_views_with_a_default(ui_server, tmp_path, no_default_view):
    server, data = ui_server
    result = run_flow("views", server, data, tmp_path)
    assert result["views"] == "ok"


def test_facet_counts_follow_the_filter_and_a_click_filters(ui_server, tmp_path):
    server, data = ui_server
    result = run_flow("facets", server, data, tmp_path)
    assert result["facet_errors"] > 0
    # latency:>abc: the server's message, without the place in the query the screen wrote
    assert result["not_a_number"] == "invalid number 'abc'"


def test_assign_reviews_queue_tabs_and_review_views(ui_server, tmp_path, reviewer_key):
    server, data = ui_server
    result = run_flow(
        "assign", server, data, tmp_path, reviewer=REVIEWER, reviewer_key=reviewer_key
    )
    assert result["assigned"] == REVIEWER
