"""Write semantics, versions and feedback found wrong by a bug hunt over HTTP, against a real
server on 127.0.0.1 (docs/write-semantics.md, docs/api.md, braintrust-protocol.md)."""

from __future__ import annotations

import pytest

from tests.integration.test_bad_input import new_dataset, new_project


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
