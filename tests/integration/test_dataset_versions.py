"""Dataset versions against a real server: list (with counts and author), diff, restore as a
new version, snapshots (named versions); the official SDK reads a restored dataset and a
dataset pinned to a snapshot name (``init_dataset(environment=...)``)."""

from __future__ import annotations

import uuid

import braintrust

from tests.integration.test_sdk import _by_id


def _names(server):
    project = f"ver-{uuid.uuid4().hex[:10]}"
    with server.client() as client:
        project_id = client.post("/v1/project", json={"name": project}).json()["id"]
        dataset_id = client.post(
            "/v1/dataset", json={"project_id": project_id, "name": "cases"}
        ).json()["id"]
    return project, dataset_id


def _versions(client, dataset_id):
    response = client.get(f"/v1/dataset/{dataset_id}/versions")
    assert response.status_code == 200, response.text
    return response.json()["objects"]


def test_versions_diff_restore_and_snapshots_through_the_sdk(sdk_env):
    server = sdk_env
    project, dataset_id = _names(server)
    ds = braintrust.init_dataset(project=project, name="cases")
    ds.insert(id="a", input={"q": 1}, expected=1)
    ds.insert(id="b", input={"q": 2}, expected=2, metadata={"m": 1})
    ds.flush()
    v1 = braintrust.init_dataset(project=project, name="cases").version

    ds.update("b", metadata={"m": 2})
    ds.delete("a")
    ds.insert(id="c", input={"q": 3}, expected=3)
    ds.flush()
    current = _by_id(braintrust.init_dataset(project=project, name="cases"))
    assert set(current) == {"b", "c"}

    with server.client() as client:
        versions = _versions(client, dataset_id)
        assert len(versions) == 2
        newest, oldest = versions
        assert oldest["_xact_id"] == v1
        assert (oldest["inserted"], oldest["updated"], oldest["deleted"]) == (2, 0, 0)
        assert (newest["inserted"], newest["updated"], newest["deleted"]) == (1, 1, 1)
        assert newest["author"]["key_name"] == "bootstrap"
        assert newest["created"].endswith("Z")

        diff = client.get(f"/v1/dataset/{dataset_id}/diff", params={"from": v1}).json()
        assert diff["counts"] == {"added": 1, "removed": 1, "changed": 1}
        assert [r["id"] for r in diff["added"]] == ["c"]
        assert [r["id"] for r in diff["removed"]] == ["a"]
        (changed,) = diff["changed"]
        assert changed["id"] == "b"
        assert changed["fields"] == ["metadata"]
        assert changed["before"] == {"metadata": {"m": 1}}
        assert changed["after"] == {"metadata": {"m": 2}}
        reverse = client.get(
            f"/v1/dataset/{dataset_id}/diff", params={"from": newest["_xact_id"], "to": v1}
        ).json()
        assert reverse["counts"] == {"added": 1, "removed": 1, "changed": 1}

        snap = client.post(
            f"/v1/dataset/{dataset_id}/snapshots", json={"name": "golden", "version": v1}
        )
        assert snap.status_code == 200, snap.text
        assert snap.json()["_xact_id"] == v1
        again = client.post(f"/v1/dataset/{dataset_id}/snapshots", json={"name": "golden"})
        assert again.status_code == 409

        restored = client.post(f"/v1/dataset/{dataset_id}/restore", json={"version": "golden"})
        assert restored.status_code == 200, restored.text
        result = restored.json()
        assert (result["inserted"], result["updated"], result["deleted"]) == (1, 1, 1)
        assert result["_xact_id"] > newest["_xact_id"]
        assert len(_versions(client, dataset_id)) == 3
        # Restoring the same version again changes nothing.
        same = client.post(f"/v1/dataset/{dataset_id}/restore", json={"version": v1}).json()
        assert same["_xact_id"] is None
        # Named versions are read by name through fetch too.
        pinned = client.post(f"/v1/dataset/{dataset_id}/fetch", json={"version": "golden"}).json()
        assert {r["id"] for r in pinned["events"]} == {"a", "b"}

    restored_rows = _by_id(braintrust.init_dataset(project=project, name="cases"))
    assert set(restored_rows) == {"a", "b"}
    assert restored_rows["b"]["metadata"] == {"m": 1}
    assert restored_rows["a"]["expected"] == 1

    # The SDK pins a dataset to a snapshot name through its environment parameter.
    ds.insert(id="d", input={"q": 4}, expected=4)
    ds.flush()
    pinned = braintrust.init_dataset(project=project, name="cases", environment="golden")
    assert set(_by_id(pinned)) == {"a", "b"}
    assert pinned.version == v1
    latest = _by_id(braintrust.init_dataset(project=project, name="cases"))
    assert set(latest) == {"a", "b", "d"}


def test_version_errors(server):
    _, dataset_id = _names(server)
    with server.client() as client:
        response = client.post(f"/v1/dataset/{dataset_id}/snapshots", json={"name": "x"})
        assert response.status_code == 400
        assert "no versions" in response.json()["error"]["message"]
        response = client.get(f"/v1/dataset/{dataset_id}/diff", params={"from": "nope"})
        assert response.status_code == 400
        assert "from='nope'" in response.json()["error"]["message"]
        response = client.post(f"/v1/dataset/{dataset_id}/restore", json={})
        assert response.status_code == 400
        response = client.get(f"/environment-object/dataset/{dataset_id}/missing")
        assert response.status_code == 404
        response = client.get("/v1/dataset/not-a-dataset/versions")
        assert response.status_code == 404
