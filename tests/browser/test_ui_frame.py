"""The UI's frame (web/e2e/uifixes.mjs), in headless Chromium: every dialog closes on Escape
and gives the focus back to the button that opened it, and so do the inline "Save view"
form, the datasets list's tag editor and the trace panel (full screen first); Compare in the
experiments list says which experiment is the baseline and lets the user pick it (it took
the first one picked, silently); the compare screen swaps the two, and keeps the baseline
"(none)" once picked; signing out lands on a screen of the organization still signed in, or
on the sign-in screen; a mistyped screen or path says "not found" with a link back; a view,
tag or score configuration saved under a taken name says so."""

from __future__ import annotations

from tests.browser.conftest import run_flow


def test_dialogs_close_on_escape_and_give_the_focus_back(ui_server, tmp_path):
    server, data = ui_server
    result = run_flow("dialogs", server, data, tmp_path)
    assert result["closed"] == [
        "tag-manager",
        "add-dataset-dialog",
        "column-chooser",
        "save-view-form",
        "trace-panel",
        "dataset-tag-editor",
        "row-editor",
        "upload-dialog",
        "copy-dialog",
        "automation-form",
        "diff-view",
    ]


def test_compare_from_the_list_shows_and_picks_the_baseline(ui_server, tmp_path):
    server, data = ui_server
    result = run_flow("comparebase", server, data, tmp_path)
    assert result["button"] == "Compare prompt-v2 with prompt-v1"
    assert result["swappedButton"] == "Compare prompt-v1 with prompt-v2"
    assert result["noneBase"] == "(none)"  # picked, and kept on a reload


def test_signing_out_of_two_organizations_lands_on_valid_screens(ui_server, tmp_path):
    server, data = ui_server
    result = run_flow("signout", server, data, tmp_path)
    pid, p2 = data["project_id"], result["p2"]
    assert result["steps"]["first"].startswith("#/p/") and p2 not in result["steps"]["first"]
    # No session left: the sign-in screen, not the old organization's project.
    assert pid not in result["steps"]["signedOut"] and result["steps"]["signedOut"] == "#/login"
    assert result["steps"]["again"] == f"#/p/{p2}/logs"


def test_a_revoked_key_offers_to_sign_in_again_and_leaves_no_error_behind(ui_server, tmp_path):
    """A reload with a key revoked meanwhile said only "invalid API key" over an empty page; once
    signed in again with a good key, that message stayed above every screen."""
    server, data = ui_server
    result = run_flow("revokedkey", server, data, tmp_path)
    assert result["refused"].startswith("invalid API key — the API key this browser signed in")
    assert "no longer accepted" in result["refused"]
    assert result["errorsAfter"] == []


def test_back_leaves_the_logs_the_home_address_opened(ui_server, tmp_path):
    server, data = ui_server
    result = run_flow("backfromhome", server, data, tmp_path)
    assert result["back"] == f"#/p/{data['project_id']}/datasets"


def test_an_unknown_screen_or_path_says_not_found_with_a_link_back(ui_server, tmp_path):
    server, data = ui_server
    result = run_flow("notfound", server, data, tmp_path)
    assert set(result["notFound"]) == {"screen", "path", "bare"}


def test_saving_under_a_taken_name_says_so(ui_server, tmp_path):
    server, data = ui_server
    result = run_flow("takennames", server, data, tmp_path)
    for kind in ("view", "tag", "score", "dataset", "addToDataset", "automation"):
        assert "already" in result["messages"][kind], result["messages"]


def test_saving_a_sandbox_query_under_another_ones_name_asks_first(ui_server, tmp_path):
    server, data = ui_server
    result = run_flow("sandboxreplace", server, data, tmp_path)
    assert len(result["confirms"]) == 2 and "replace it" in result["confirms"][0]
