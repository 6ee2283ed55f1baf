"""Group by on the logs screen with saved views and Live mode (web/e2e/groupviews.mjs), in
headless Chromium, each flow in a project of its own."""

from __future__ import annotations

from tests.browser.conftest import run_flow

Y = [{"field": "tags", "op": "includes", "value": "y"}]


def test_a_saved_view_keeps_the_group_by_and_the_group_picked(ui_server, tmp_path):
    """A saved view did not keep Group by: it stores the field (options.grouping, as
    Braintrust's views do) and the group picked (view_data.search.group); All clears them, the
    view brings both back (the groups, the one picked, its rows), Update and the personal
    default keep them; a view saved without them opens without Group by, not modified."""
    server, data = ui_server
    result = run_flow("groupviews", server, data, tmp_path)
    assert result["saved"] == {"grouping": "tags", "group": {"value": "x"}}
    assert result["all"] == {
        "group": None,
        "gval": None,
        "select": "",
        "groups": None,
        "picked": None,
        "rows": 3,
        "modified": False,
    }
    assert result["restored"] == {
        "group": "tags",
        "gval": '"x"',
        "select": "tags",
        "groups": [["x", 2], ["y", 1]],
        "picked": ["x"],
        "rows": 2,
        "modified": False,
    }
    assert result["updated"] == {"grouping": "metadata.model", "group": None}
    assert result["fromDefault"] == {
        "group": "metadata.model",
        "gval": None,
        "select": "metadata.model",
        "groups": [["b", 2], ["a", 1]],
        "picked": [],
        "rows": 3,
        "modified": False,
    }
    assert result["oldView"] == {
        "group": None,
        "gval": None,
        "select": "",
        "groups": None,
        "picked": None,
        "rows": 1,
        "modified": False,
    }
    assert result["oldViewConds"] == Y


def test_live_mode_refreshes_the_groups_with_the_table(ui_server, tmp_path):
    """In Live mode the groups were never asked for again: a trace logged meanwhile is counted
    in its group, also when another group is picked (the table's rows stay those of the group
    picked); the groups are asked for with each refetch of the table, not more often."""
    server, data = ui_server
    result = run_flow("groupslive", server, data, tmp_path)
    assert result["before"] == [["x", 1], ["y", 1]]
    assert result["afterInsert"] == [["x", 2], ["y", 1]]
    assert result["pickedRows"] == 1
    assert result["afterInsertPicked"] == [["x", 3], ["y", 1]]
    assert result["pickedRowsAfter"] == 1
    assert result["refreshed"] is True
    counts = result["refetches"].pop("counts")
    assert result["refetches"] == {"tables": True, "groupsAsked": True, "notMoreOften": True}, (
        counts
    )
