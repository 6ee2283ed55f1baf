"""The command line as a new user meets it: objects of one name in two projects, output into
a closed pipe, key names, and each command's bad input (one readable line, never a
traceback)."""

from __future__ import annotations

import pytest

from tests.integration.test_cli import assert_cli_error, ok, run_cli

# -- key names -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", [" ci", "ci ", "\tci\n"])
def test_the_key_route_refuses_a_name_with_white_space_around_it(app_client, name):
    """Other objects' names refused it with 400; a key's was saved with it (' ci' and 'ci'
    looked the same in `keys list` and as a review item's assignee)."""
    answer = app_client.post("/v1/api_key", json={"name": name, "role": "read"})
    assert answer.status_code == 400, answer.text
    message = answer.json()["error"]["message"]
    assert message == f"key name may not start or end with whitespace: {name!r}"
    names = [k["name"] for k in app_client.get("/v1/api_key").json()["objects"]]
    assert name not in names


def test_keys_create_refuses_a_name_with_white_space_around_it(tmp_path):
    data_dir = str(tmp_path / "data")
    ok(run_cli("keys", "create", "--data-dir", data_dir))  # bootstrap first
    result = run_cli("keys", "create", "--name", "ci ", "--data-dir", data_dir)
    assert_cli_error(result, "key name may not start or end with whitespace: 'ci '")
    listed = ok(run_cli("keys", "list", "--data-dir", data_dir))
    assert "ci " not in listed.stdout
