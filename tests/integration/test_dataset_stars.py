"""Dataset stars on the server: each API key stars datasets for itself ("starred by this
key"), scoped to its organization; read-only keys cannot star."""

from __future__ import annotations


def _project_and_datasets(client, name: str, count: int = 2) -> tuple[str, list[str]]:
    project = client.post("/v1/project", json={"name": name}).json()["id"]
    datasets = [
        client.post("/v1/dataset", json={"project_id": project, "name": f"d{i}"}).json()["id"]
        for i in range(count)
    ]
    return project, datasets


def _starred(client, **params) -> list[str]:
    response = client.get("/v1/dataset_star", params=params)
    assert response.status_code == 200, response.text
    return [s["dataset_id"] for s in response.json()["objects"]]


def _key(client, role: str) -> dict:
    created = client.post("/v1/api_key", json={"name": f"k-{role}", "role": role})
    assert created.status_code == 200, created.text
    return {"Authorization": f"Bearer {created.json()['key']}"}


def test_star_list_and_unstar_per_key(app_client):
    project, (first, second) = _project_and_datasets(app_client, "stars")
    _, (elsewhere,) = _project_and_datasets(app_client, "stars-2", 1)
    assert _starred(app_client) == []
    put = app_client.put(f"/v1/dataset/{first}/star")
    assert put.status_code == 200, put.text
    assert put.json() == {"dataset_id": first, "starred": True}
    # Starring twice is harmless.
    assert app_client.put(f"/v1/dataset/{first}/star").status_code == 200
    assert app_client.put(f"/v1/dataset/{elsewhere}/star").status_code == 200
    assert _starred(app_client, project_id=project) == [first]
    assert set(_starred(app_client)) == {first, elsewhere}
    listed = app_client.get("/v1/dataset_star", params={"project_id": project}).json()["objects"]
    assert listed[0]["project_id"] == project and listed[0]["created"]

    # Another key of the same organization has its own stars.
    writer = _key(app_client, "write")
    response = app_client.get("/v1/dataset_star", params={"project_id": project}, headers=writer)
    assert response.json()["objects"] == []
    assert app_client.put(f"/v1/dataset/{second}/star", headers=writer).status_code == 200
    response = app_client.get("/v1/dataset_star", params={"project_id": project}, headers=writer)
    assert [s["dataset_id"] for s in response.json()["objects"]] == [second]
    assert _starred(app_client, project_id=project) == [first]

    # Unstar; unstarring again is harmless.
    deleted = app_client.delete(f"/v1/dataset/{first}/star")
    assert deleted.json() == {"dataset_id": first, "starred": False}
    assert app_client.delete(f"/v1/dataset/{first}/star").status_code == 200
    assert _starred(app_client, project_id=project) == []
    # A deleted dataset's star is not listed.
    assert app_client.delete(f"/v1/dataset/{elsewhere}").status_code == 200
    assert _starred(app_client) == []


def test_read_only_keys_cannot_star_but_can_list(app_client):
    _, (dataset,) = _project_and_datasets(app_client, "ro-stars", 1)
    reader = _key(app_client, "read")
    for method in ("PUT", "DELETE"):
        response = app_client.request(method, f"/v1/dataset/{dataset}/star", headers=reader)
        assert response.status_code == 403, response.text
    assert app_client.get("/v1/dataset_star", headers=reader).json() == {"objects": []}


def test_stars_are_scoped_to_the_organization(app_client):
    project, (dataset,) = _project_and_datasets(app_client, "org-a-stars", 1)
    created = app_client.post("/v1/organization", json={"name": "other-org-stars"}).json()
    other = {"Authorization": f"Bearer {created['api_key']['key']}"}
    for method in ("PUT", "DELETE"):
        response = app_client.request(method, f"/v1/dataset/{dataset}/star", headers=other)
        assert response.status_code == 404, response.text
    response = app_client.get("/v1/dataset_star", params={"project_id": project}, headers=other)
    assert response.status_code == 404, response.text
    assert app_client.get("/v1/dataset_star", headers=other).json() == {"objects": []}


def test_bad_star_requests(app_client):
    assert app_client.put("/v1/dataset/not-a-dataset/star").status_code == 404
    response = app_client.get("/v1/dataset_star", params={"project_id": ""})
    assert response.status_code == 400, response.text
    assert "project_id" in response.json()["error"]["message"]
    response = app_client.get("/v1/dataset_star", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
