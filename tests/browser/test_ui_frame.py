"""The UI's frame (web/e2e/uifixes.mjs), in headless Chromium: every dialog closes on Escape
and gives the focus back to the button that opened it."""

from __future__ import annotations

from tests.browser.conftest import run_flow


def test_dialogs_close_on_escape_and_give_the_focus_back(ui_server, tmp_path):
    server, data = ui_server
    result = run_flow("dialogs", server, data, tmp_path)
    assert result["closed"] == [
        "tag-manager",
        "add-dataset-dialog",
        "column-chooser",
        "row-editor",
        "upload-dialog",
        "copy-dialog",
        "automation-form",
        "diff-view",
    ]
