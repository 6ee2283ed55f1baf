"""Logs as the Braintrust SDK writes them (web/e2e/sdklogs.mjs), on a project of its own:
token counts in ``metrics.tokens`` in the search bar, the Tokens column and its sort;
``error:false`` in Traces mode (no span with an error) and in Spans mode, and the Level facet's
counts in both; a refused comment and categorical score show the server's message, and so do a
tag change and "Write the output to expected" (or that the server failed or could not be
reached)."""

from __future__ import annotations

import pytest

from tests.browser.conftest import run_flow
from tests.browser.seed import seed_sdk_logs


@pytest.fixture(scope="module")
def sdk_data(ui_server):
    server, data = ui_server
    with server.client() as client:
        extra = seed_sdk_logs(client)
        res = client.post("/v1/api_key", json={"name": "auditor", "role": "read"})
        res.raise_for_status()
    return server, {**data, **extra}, res.json()["key"]


def test_tokens_written_as_metrics_tokens_search_show_and_sort(sdk_data, tmp_path):
    server, data, _ = sdk_data
    result = run_flow("sdktokens", server, data, tmp_path)
    assert result["tokens"][0] == data["sdk_max_tokens"]


def test_error_false_means_no_span_with_an_error_in_traces_mode(sdk_data, tmp_path):
    server, data, _ = sdk_data
    result = run_flow("sdkerrors", server, data, tmp_path)
    assert result["clean"] == 6


def test_level_facet_counts_what_a_click_on_a_level_selects(sdk_data, tmp_path):
    """In Traces mode DEFAULT counted every trace with some span without an error (8 of 8);
    a click on it keeps the traces with no error on any span (6)."""
    server, data, _ = sdk_data
    result = run_flow("levelfacet", server, data, tmp_path)
    assert result["levels"] == {"clean": 6, "failed": 2, "okSpans": 14, "badSpans": 2}


def test_refused_comment_and_category_show_the_servers_message(sdk_data, tmp_path):
    server, data, read_key = sdk_data
    result = run_flow("feedbackerrors", server, data, tmp_path, read_key=read_key)
    assert result["message"]


def test_tag_and_output_to_expected_errors_show_in_the_trace_panel(sdk_data, tmp_path):
    """A refused (403), failed (500, not JSON) or unreachable tag change or "Write the output to
    expected" said nothing (an unhandled rejection) and the typed tag was cleared; a tag added
    before the span was read again after the previous one dropped that one."""
    server, data, read_key = sdk_data
    result = run_flow("traceactionerrors", server, data, tmp_path, read_key=read_key)
    assert "HTTP 500" in result["messages"]["server"]
    assert "Could not reach the server" in result["messages"]["network"]
