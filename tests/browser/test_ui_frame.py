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


def test_the_experiments_list_counts_the_traces_summaries_count(ui_server, tmp_path):
    """An experiment run again with ``Eval(update=True)`` and ``upsert_id`` (its root row
    replaced into a new trace) keeps the first run's spans, in a trace without its root: the
    list's rows, errors, tokens and cost leave them out, as the server's summaries do (they
    were added in: the errors and tokens of a run replaced)."""
    server, data = ui_server
    with server.client() as client:
        project_id = client.post("/v1/project", json={"name": "zz-rerun-figures"}).json()["id"]
        exps = {}
        for name in ("rerun", "plain"):
            body = {"project_id": project_id, "name": name}
            exps[name] = client.post("/v1/experiment", json=body).json()["id"]

        def case(exp: str, run: str, root_id: str, seconds: float, child: dict) -> list[dict]:
            root = {"experiment_id": exps[exp], "id": root_id, "span_id": f"{run}-root"}
            root |= {"root_span_id": run, "metrics": {"start": 0, "end": seconds}}
            llm = {"experiment_id": exps[exp], "id": f"{run}-llm", "span_id": f"{run}-llm"}
            llm |= {"root_span_id": run, "span_parents": [f"{run}-root"], **child}
            llm["span_attributes"] = {"type": "llm", "name": "call"}
            return [root, llm]

        def logs3(rows: list[dict]) -> None:
            response = client.post("/logs3", json={"rows": rows, "api_version": 2})
            assert response.status_code == 200, response.text

        failed = {"error": "boom", "metrics": {"total_tokens": 100, "estimated_cost": 0.5}}
        logs3(case("rerun", "first", "case-1", 2.0, failed))
        fixed = {"metrics": {"total_tokens": 10, "estimated_cost": 0.05}}
        logs3(case("rerun", "second", "case-1", 1.0, fixed))  # (the same root row id)
        logs3(case("plain", "plain", "case-1", 3.0, failed))
        summaries = {
            name: client.get(f"/v1/experiment/{exp}/summarize").json()["metrics"]
            for name, exp in exps.items()
        }
    result = run_flow(
        "experimentfigures", server, data, tmp_path, projectId=project_id, experiments=2
    )
    assert result["figures"] == {
        "rerun": {"traces": "1", "errors": "0", "duration": "1", "tokens": "10", "cost": "0.05000"},
        "plain": {
            "traces": "1",
            "errors": "1",
            "duration": "3",
            "tokens": "100",
            "cost": "0.50000",
        },
    }
    # One trace each: the server's means over traces are those sums.
    assert summaries["rerun"]["total_tokens"]["metric"] == 10
    assert summaries["rerun"]["estimated_cost"]["metric"] == 0.05
    assert summaries["plain"]["total_tokens"]["metric"] == 100
