"""HTTP API and write path behaviour found wrong by a second bug hunt: each test states what a
client of the official SDK or REST client relies on (braintrust-protocol.md,
docs/write-semantics.md, docs/api.md)."""

from __future__ import annotations

import pytest

from tests.integration.test_bad_input import assert_error, events, log_row, new_project

# -- created times outside the calendar once in UTC ------------------------------------------


@pytest.mark.parametrize(
    "created",
    ["9999-12-31T23:59:59.999999-05:00", "0001-01-01T00:00:00+01:00"],
)
@pytest.mark.parametrize("route", ["logs3", "insert"])
def test_a_created_time_past_year_9999_in_utc_is_a_400_and_writes_nothing(
    app_client, created, route
):
    project_id = new_project(app_client)
    rows = [log_row(project_id, "fine", input=1), log_row(project_id, "late", created=created)]
    if route == "logs3":
        response = app_client.post("/logs3", json={"rows": rows})
    else:
        response = app_client.post(f"/v1/project_logs/{project_id}/insert", json={"events": rows})
    assert_error(response, 400, "row 1", "created", "range")
    assert events(app_client, "project_logs", project_id) == []
