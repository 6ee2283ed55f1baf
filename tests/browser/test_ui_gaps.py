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


def test_upload_csv_json_on_the_datasets_list_creates_a_dataset(ui_server, tmp_path):
    """The datasets list's "Upload CSV/JSON": a name, then the dataset screen's upload dialog
    (its column mapping) imports the file into a new dataset, which opens; a taken name says so;
    a cancelled upload deletes the empty dataset it made. There was no upload on the list."""
    server, data = ui_server
    result = run_flow("listupload", server, data, tmp_path)
    assert "already exists" in result["taken"]
    assert "column 2's name ' answer ' is read as 'answer'" in result["warnings"]
    assert result["rows"] == [
        {
            "input": "Can I return it?",
            "expected": "Within 30 days",
            "metadata": {"topic.name": "returns"},
        },
        {
            "input": "Where is my parcel?",
            "expected": "In transit",
            "metadata": {"topic.name": "shipping"},
        },
    ]


def test_automations_datasets_and_experiments_can_be_deleted_from_their_lists(ui_server, tmp_path):
    """Each list has a Delete (there was none: an automation could only be paused): it asks
    first, the row goes and the server has it no more; a read-only key's delete shows why."""
    server, data = ui_server
    with server.client() as client:
        res = client.post("/v1/api_key", json={"name": "deletes-reader", "role": "read"})
        res.raise_for_status()
    result = run_flow("deletes", server, data, tmp_path, read_key=res.json()["key"])
    automation, dataset, experiment, refused = result["asked"]
    assert automation.startswith("Delete the automation “doomed-auto-")
    assert dataset.startswith("Delete the dataset “doomed-ds-") and "its 2 rows" in dataset
    assert experiment.startswith("Delete the experiment “doomed-exp-")
    assert refused.startswith("Delete the dataset “kept-ds-")


def test_a_project_is_created_from_the_project_switcher(ui_server, tmp_path):
    """ "New project…" in the switcher (the UI had no way to create a project): a taken name says
    so; a new one, typed with spaces around it, is stored trimmed and opened."""
    server, data = ui_server
    result = run_flow("newproject", server, data, tmp_path)
    assert "already exists" in result["taken"]
    assert result["selected"].startswith("fresh project ")


def test_a_comment_is_deleted_from_the_span_detail(ui_server, tmp_path):
    """Each comment has a delete button (a comment could not be deleted in the UI): the comment
    goes from the panel and from the stored row; the other one stays."""
    server, data = ui_server
    result = run_flow("commentdelete", server, data, tmp_path)
    assert result["stored"] == ["keep me"]


def test_api_keys_are_made_and_revoked_on_their_screen(ui_server, tmp_path):
    """The API keys screen (keys could only be managed with the CLI or the API): a key made with
    a name typed with spaces is stored trimmed, its secret works until it is revoked there; a
    read-only key is told why it sees no keys."""
    server, data = ui_server
    with server.client() as client:
        res = client.post("/v1/api_key", json={"name": "keys-reader", "role": "read"})
        res.raise_for_status()
    result = run_flow("apikeys", server, data, tmp_path, read_key=res.json()["key"])
    assert result["stored"]["name"].startswith("helper ") and result["stored"]["role"] == "read"
    assert result["stored"]["name"] == result["stored"]["name"].strip()
    assert result["readonly"].startswith("Only an admin key can see and manage API keys")


def test_long_names_wrap_and_keep_the_buttons_on_screen(ui_server, tmp_path):
    """A 300-character name without spaces (an API key's, an automation's, a dataset's) widened
    its list past a 1280 px screen, its row's buttons with it; "Assign to…" grew as wide as it;
    a tag as long, grouped by, pushed its group's count out of the groups' box, and a saved
    sandbox query's name its ✎ and × out of the sidebar."""
    server, data = ui_server
    result = run_flow("longnames", server, data, tmp_path)
    for screen in ("keys", "automations", "datasets", "assign"):
        seen = result["seen"][screen]
        assert seen["width"] <= 1280 and seen["out"] == [], (screen, seen)
    assert result["seen"]["assign"]["inPanel"]
    assert result["seen"]["groups"]["countInSight"], result["seen"]["groups"]
    assert result["seen"]["saved"]["inSidebar"], result["seen"]["saved"]


def test_upload_of_a_long_column_name_keeps_its_menu_and_the_preview(ui_server, tmp_path):
    """A 400-character column name widened the upload dialog's boxes past the dialog (each
    column's "Move to" menu out of reach), and in a dialog taller than the screen the file
    preview shrank to nothing."""
    server, data = ui_server
    result = run_flow("uploadlong", server, data, tmp_path)
    assert result["taller"]  # the case: the dialog scrolls
    assert result["menusInside"], result["menus"]
    assert result["previewHeight"] > 40


def test_live_says_when_it_cannot_refresh(ui_server, tmp_path):
    """Live with the server out of reach said "live" over a table standing still."""
    server, data = ui_server
    result = run_flow("liveoffline", server, data, tmp_path)
    assert "live: not refreshed (Could not reach the server" in result["down"]
    assert "trying again" in result["down"]
    assert result["up"].endswith(" · live") and "not refreshed" not in result["up"]


def test_a_dataset_and_an_experiment_are_renamed_from_their_screens(ui_server, tmp_path):
    """Rename… on a dataset's and an experiment's screen (there was none): stored trimmed; a
    taken name shows the server's refusal."""
    server, data = ui_server
    result = run_flow("renames", server, data, tmp_path)
    assert (
        result["dataset"].startswith("renamed-ds-")
        and result["dataset"] == result["dataset"].strip()
    )
    assert result["experiment"].startswith("renamed-exp-")
    assert result["experiment"] == result["experiment"].strip()
    assert "is already taken" in result["datasetRefused"]


def test_a_refused_sandbox_download_says_why(ui_server, tmp_path):
    """The sandbox's download buttons dropped the server's error (an unhandled rejection, nothing
    shown); the dataset queried, deleted since the run, is now named in the message."""
    server, data = ui_server
    result = run_flow("sandboxdownload", server, data, tmp_path)
    assert result["message"].startswith("Not downloaded as csv: ")
    assert "not found" in result["message"]


def test_list_figures_that_fail_to_load_say_so(ui_server, tmp_path):
    """An automation's last run, a dataset's row count and the experiments' scores whose request
    fails (a 500 here) say so with the server's message: the automation said "never", the
    count and the scores were blank; the experiments list not loaded said "Loading…" for ever."""
    server, data = ui_server
    result = run_flow("listerrors", server, data, tmp_path)
    assert result["lastRun"] == "not loaded: runs unavailable"
    assert result["count"] == "not loaded: summary unavailable"
    assert (
        result["scores"].startswith("Scores not loaded: ")
        and "scores unavailable" in result["scores"]
    )
    # the list itself: the table said "Loading…" for ever under the server's message
    assert result["listError"] == "experiments unavailable"
    assert result["listEmpty"] == "Experiments not loaded."
