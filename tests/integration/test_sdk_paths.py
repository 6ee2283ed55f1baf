"""The official ``braintrust`` SDK, unmodified, on its less common paths (see test_sdk.py for
the common ones): what it accepts and sends must arrive whole."""

from __future__ import annotations

import braintrust

from tests.integration.test_sdk import _fetch_all, _project_id, _project_name


def test_a_boolean_metric_is_stored_as_a_number_and_its_batch_is_kept(sdk_env):
    """The SDK lets ``metrics={"cached": True}`` through (True is an int to Python); a 400
    would make it drop the whole batch, the other spans with it."""
    project = _project_name("bool-metric")
    logger = braintrust.init_logger(project=project)
    logger.log(id="plain", input="a", output="A")
    logger.log(id="flagged", input="b", output="B", metrics={"cached": True, "retried": False})
    logger.flush()

    rows = {r["id"]: r for r in _fetch_all(sdk_env, "project_logs", _project_id(sdk_env, project))}
    assert set(rows) == {"plain", "flagged"}
    metrics = rows["flagged"]["metrics"]
    assert (metrics["cached"], metrics["retried"]) == (1, 0)
    assert rows["plain"]["output"] == "A"
