"""The dataset Runs panel (web/e2e/runs.mjs) in headless Chromium: the chart of the experiments
run on a dataset against the server's experiments, a dragged time range (in the URL, then
cleared), a Basic and an SQL filter, and one row's runs (experiment rows whose origin is that
dataset row) checked against BTQL."""

from __future__ import annotations

from tests.browser.conftest import run_flow
from tests.browser.seed import seed_runs


def test_dataset_runs_chart_range_filters_and_row_runs(ui_server, tmp_path):
    server, data = ui_server
    with server.client() as client:
        extra = seed_runs(client)
    result = run_flow("runs", server, {**data, **extra}, tmp_path)
    assert result["charted"] == 3 and result["in_range"] < 3
    assert result["basic"] == ["run-c"] and result["sql"] == ["run-b"]
    with server.client() as client:
        rows = client.post(
            "/btql",
            json={
                "query": "select: id | from: experiment("
                + ", ".join(f"'{e}'" for e in extra["runs_experiments"])
                + ") | filter: origin.id = 'g1'"
            },
        ).json()["data"]
    assert sorted(result["row_runs"]) == sorted(r["id"] for r in rows) and len(rows) == 3
