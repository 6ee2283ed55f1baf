"""Gaps of the web UI against ui-features.md (web/e2e/uigaps.mjs), in headless Chromium."""

from __future__ import annotations

from tests.browser.conftest import run_flow


def test_names_typed_with_spaces_around_them_are_stored_trimmed(ui_server, tmp_path):
    """An automation (created and renamed), a saved view (saved and renamed), "+ Dataset" and a
    dataset's named version (named and renamed), each typed with spaces around the name: the
    server refused the automation's and the renames (400: "may not start or end with
    whitespace"); now each is stored trimmed and no error shows. A blank automation name
    cannot be saved."""
    server, data = ui_server
    result = run_flow("nametrim", server, data, tmp_path)
    stored = result["stored"]
    assert stored["automation"].startswith("renamed export ")
    assert stored["view"].startswith("renamed view ")
    assert stored["dataset"].startswith("spaced dataset ")
    assert len(stored["snapshot"]) == 1 and stored["snapshot"][0].startswith("renamed v1 ")
    for name in (stored["automation"], stored["view"], stored["dataset"], *stored["snapshot"]):
        assert name == name.strip()
