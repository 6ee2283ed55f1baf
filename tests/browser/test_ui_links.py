"""Links in the Braintrust app's form (web/e2e/links.mjs): what the SDK prints after an
experiment (``…/app/<org>/p/<project>/experiments/<name>``), ``braintrust.permalink``'s
``…/app/<org>/object?object_type=…&object_id=…&id=…`` and the summarize routes' URLs open
their screens in the UI, also after signing in; a link naming nothing, or another
organization, says so instead of a 404 page."""

from __future__ import annotations

from tests.browser.conftest import run_flow


def test_braintrust_links_open_their_screens(ui_server, tmp_path):
    server, data = ui_server
    result = run_flow("links", server, data, tmp_path)
    pid = data["project_id"]
    assert result["landed"]["experiment"] == f"#/p/{pid}/experiments/{data['candidate_experiment']}"
    assert result["landed"]["afterSignIn"] == result["landed"]["experiment"]
    assert result["landed"]["dataset"] == f"#/p/{pid}/datasets/{data['dataset_id']}"
    assert result["landed"]["span"] == result["landed"]["oid"]
    assert "no-such-run" in result["missingExperiment"]
    # A trace or span the link names that is not there says so (it was "Loading span…").
    assert result["missingSpan"] == 0
    # The UI's URL of an experiment or dataset that is gone says so (an uncaught error before).
    assert "No experiment with id no-such-experiment" in result["deletedExperiment"]
    assert "No dataset with id no-such-dataset" in result["deletedDataset"]
    assert result["deletedDatasetButtons"] == 0
