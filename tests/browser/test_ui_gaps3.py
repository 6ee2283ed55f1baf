"""Gaps of the web UI against ui-features.md (web/e2e/uigaps3.mjs), in headless Chromium."""

from __future__ import annotations

from tests.browser.conftest import run_flow


def _keys(server, *roles: str) -> dict[str, str]:
    keys = {}
    with server.client() as client:
        for role in roles:
            res = client.post("/v1/api_key", json={"name": f"ui3-{role}", "role": role})
            res.raise_for_status()
            keys[f"{role}_key"] = res.json()["key"]
    return keys


def test_a_comment_is_edited_in_place_and_keeps_its_author(ui_server, tmp_path):
    """A comment could be added and deleted, not edited: ✎ replaces its text in place (one
    comment, its author and creation time kept, also when another user's key edits it); a
    blank text cannot be saved (× deletes); a read-only key's edit shows the server's refusal
    and the stored text stays."""
    server, data = ui_server
    result = run_flow("commentedit", server, data, tmp_path, **_keys(server, "write", "read"))
    before = result["before"]
    assert before["text"] == "first words" and before["user_id"]
    assert result["blankDisabled"] is True
    assert result["afterEdit"] == [{**before, "text": "second words"}]
    assert result["shownAuthor"] == before["user_id"]
    assert result["afterOtherKey"] == [{**before, "text": "third words"}]
    assert result["shownAuthorAfterOtherKey"] == before["user_id"]
    assert result["refused"].startswith("Comment not saved: ")
    assert "read-only" in result["refused"]
    assert result["afterRefused"] == [{**before, "text": "third words"}]
    assert result["shownAfterCancel"] == "third words"
    # Deleted by another user while being edited: the edit is refused, the comment stays gone.
    assert result["refusedDeleted"].startswith("Comment not saved: ")
    assert "this comment was deleted" in result["refusedDeleted"]
    assert result["afterDeleted"] == []


def test_the_review_queue_tabs_show_the_servers_counts(ui_server, tmp_path):
    """The queue's tabs had no counts: each shows the server's count (GET
    /v1/review_item_counts), the number of items the tab lists; a span flagged from its trace
    adds one to Awaiting, an assignment to me one to Assigned to me, Mark reviewed moves one to
    Completed at once, and an item flagged meanwhile elsewhere is counted when the list is read
    again."""
    server, data = ui_server
    result = run_flow("reviewcounts", server, data, tmp_path)
    start = result["start"]["server"]
    assert result["start"]["shown"] == start
    assert result["listed"] == start
    assert result["afterFlag"] == {**start, "awaiting": start["awaiting"] + 1}
    assert result["afterAssign"] == {
        **start,
        "awaiting": start["awaiting"] + 1,
        "mine": start["mine"] + 1,
    }
    assert result["afterComplete"] == {**start, "completed": start["completed"] + 1}
    end = {**start, "awaiting": start["awaiting"] + 1, "completed": start["completed"] + 1}
    assert result["afterApiFlag"] == end
    assert result["end"] == end
    assert result["listedEnd"] == end


def test_the_logs_are_grouped_by_a_field_on_the_server(ui_server, tmp_path):
    """Logs had no group by: grouped by tag, by metadata.model (traces without one a group of
    their own), by span name in Spans mode and under a filter, each group's count, average
    score, tokens and cost are the server's BTQL aggregates over all the rows the filter keeps;
    a click on a group shows exactly its rows, a second click all of them again."""
    server, data = ui_server
    result = run_flow("logsgroups", server, data, tmp_path)
    assert result["byTag"] == [
        {"value": "x", "n": 2, "q": "0.500", "tokens": "150", "cost": "0.03000"},
        {"value": "y", "n": 2, "q": "0.250", "tokens": "60", "cost": "0.02100"},
    ]
    assert result["byTagRows"] == {"x": 2, "all": 5, "y": 2}
    assert result["byTagGval"] == '"x"'
    assert result["byModel"] == [
        {"value": "a", "n": 2, "q": "0.500", "tokens": "150", "cost": "0.03000"},
        {"value": "b", "n": 2, "q": "0.500", "tokens": "15", "cost": "0.00100"},
        {"value": "(none)", "n": 1, "q": "1", "tokens": "1", "cost": ""},
    ]
    assert result["byModelRows"] == {"none": 1, "b": 2}
    assert result["bySpanName"] == [
        {"value": "g-llm", "n": 5, "q": "", "tokens": "166", "cost": "0.03100"},
        {"value": "g-root", "n": 5, "q": "0.625", "tokens": "", "cost": ""},
    ]
    assert result["bySpanNameRows"] == {"g-llm": 5}
    assert result["byTagFiltered"] == [
        {"value": "y", "n": 1, "q": "0.500", "tokens": "10", "cost": "0.00100"},
    ]
    assert result["byTagFilteredRows"] == {"y": 1}


def test_an_experiments_details_name_its_scorers_and_dataset(ui_server, tmp_path):
    """The Details pane had no scorers (ui-features.md lists them) and named the dataset only
    "dataset": each score of the experiment shows with its average and its difference from the
    baseline's, as the server's summary gives them, and the dataset link names it."""
    server, data = ui_server
    result = run_flow("experimentdetails", server, data, tmp_path)
    summary = result["summary"]
    assert summary["accuracy"]["score"] == 0.625 and summary["accuracy"]["diff"] == 0.125
    assert result["scorers"] == [
        {"name": "accuracy", "score": "62.5%", "diff": "(+12.5%)"},
        {"name": "fluency", "score": "100.0%", "diff": "(0.0%)"},
    ]
    assert result["datasetHref"].endswith(f"/datasets/{result['datasetId']}")


def test_compare_screen_settings_writes_keep_other_settings(ui_server, tmp_path):
    """ "Make project default" and "Save as the project's key" on the compare screen sent the
    whole settings object the page had loaded: a key (or a default baseline) saved meanwhile
    in another tab was put back. Each now sends only the setting it changes, and the server
    merges it into the stored settings."""
    server, data = ui_server
    result = run_flow("settingswrites", server, data, tmp_path)
    after_default = result["afterDefault"]
    assert after_default["baseline_experiment_id"] == result["a"]
    assert after_default["comparison_key"] == "metadata.second"  # saved in the other tab: kept
    after_key = result["afterKey"]
    assert after_key["comparison_key"] == "metadata.case"
    assert after_key["baseline_experiment_id"] == result["b"]  # set in the other tab: kept
