"""The facet sidebar's counts equal what a click on them shows (web/e2e/facets.mjs), on a
project of its own (``seed_facets``): every facet and value, in Traces and Spans mode, with and
without a filter."""

from __future__ import annotations

import pytest

from tests.browser.conftest import run_flow
from tests.browser.seed import seed_facets


@pytest.fixture(scope="module")
def facets_data(ui_server):
    server, data = ui_server
    with server.client() as client:
        extra = seed_facets(client)
    return server, {**data, **extra}


def test_every_facet_count_is_what_a_click_on_it_shows(facets_data, tmp_path):
    """Before: the Level facet counted as ERROR, in Traces mode under a filter, the traces whose
    only error was on a span the filter does not keep; scores present counted a JSON null
    score; metadata.tier listed 5 and "5" apart, each counted alone, while a click on either
    selects both."""
    server, data = facets_data
    result = run_flow("facetcounts", server, data, tmp_path)
    checked = result["checked"]
    print(f"\n{len(checked)} facet values clicked")
    assert len(checked) > 60
    assert any("traces under type != tool: error=ERROR" in c for c in checked)
    assert any("spans: metadata.tier=5 25" in c for c in checked)


def test_facet_counts_follow_live(ui_server, tmp_path):
    """Before: in Live mode the table took in a trace logged meanwhile but the facet counts
    stayed those of when the sidebar opened."""
    server, data = ui_server
    result = run_flow("facetslive", server, data, tmp_path)
    assert "task" in result["type"]
