"""Write semantics, versions and feedback found wrong by a bug hunt over HTTP, against a real
server on 127.0.0.1 (docs/write-semantics.md, docs/api.md, braintrust-protocol.md)."""

from __future__ import annotations

import pytest

from tests.integration.test_bad_input import events, log_row, new_dataset, new_project


@pytest.fixture
def client(server):
    with server.client() as client:
        yield client


# -- a version beyond the largest _xact_id reads the latest rows (it was a 500) ----------------


def test_a_version_beyond_every_xact_id_reads_the_latest_rows(client):
    project_id = new_project(client)
    dataset_id = new_dataset(client, project_id)
    written = client.post("/logs3", json={"rows": [{"dataset_id": dataset_id, "id": "a"}]})
    assert written.status_code == 200, written.text
    for version in (str(2**64), "1" + "0" * 40):
        fetched = client.post(f"/v1/dataset/{dataset_id}/fetch", json={"version": version})
        assert fetched.status_code == 200, fetched.text
        assert [e["id"] for e in fetched.json()["events"]] == ["a"]
        fetched = client.get(f"/v1/dataset/{dataset_id}/fetch", params={"version": version})
        assert fetched.status_code == 200, fetched.text
        assert [e["id"] for e in fetched.json()["events"]] == ["a"]
        query = {"query": f"select: id | from: dataset('{dataset_id}')", "version": version}
        answer = client.post("/btql", json=query)
        assert answer.status_code == 200, answer.text
        assert answer.json()["data"] == [{"id": "a"}]


# -- _audit_metadata is stored as given (a string "__XACT__" in it became the _xact_id) -------


def test_audit_metadata_strings_are_stored_as_given(client):
    project_id = new_project(client)
    metadata = {"note": "__XACT__", "quoted": '"__XACT__"'}
    audit = {"_audit_source": "api", "_audit_metadata": metadata}
    rows = [
        log_row(project_id, "r", input=1, **audit),  # a replace, computed before the writer
        log_row(project_id, "m", input=1),
    ]
    first = client.post("/logs3", json={"rows": rows})
    assert first.status_code == 200, first.text
    merge = log_row(project_id, "m", output=2, _is_merge=True, **audit)  # on the writer
    second = client.post("/logs3", json={"rows": [merge]})
    assert second.status_code == 200, second.text
    trails = {e["id"]: e["audit_data"] for e in events(client, "project_logs", project_id)}
    assert trails["r"] == [
        {
            "_xact_id": first.json()["_xact_id"],
            "action": "replace",
            "source": "api",
            "metadata": metadata,
        }
    ]
    assert trails["m"] == [
        {
            "_xact_id": second.json()["_xact_id"],
            "action": "merge",
            "source": "api",
            "metadata": metadata,
        }
    ]
