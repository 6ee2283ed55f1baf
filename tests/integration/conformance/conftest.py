"""One server and one generated data set for the whole module (written once, read by every
case), in process like the ``app_client`` fixture of tests/conftest.py."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient

from tests.conftest import ADMIN_KEY
from tests.integration.conformance.dataset import DataSet, generate
from tracelake.server.app import create_app
from tracelake.settings import Settings


@pytest.fixture(scope="module")
def conformance_client(tmp_path_factory) -> TestClient:
    settings = Settings(data_dir=tmp_path_factory.mktemp("conformance") / "data", api_key=ADMIN_KEY)
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        client.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
        yield client


@pytest.fixture(scope="module")
def data(conformance_client) -> DataSet:
    client = conformance_client
    project = client.post("/v1/project", json={"name": "conformance"})
    assert project.status_code == 200, project.text
    project_id = project.json()["id"]
    dataset = client.post("/v1/dataset", json={"project_id": project_id, "name": "golden"})
    assert dataset.status_code == 200, dataset.text
    generated = generate(dt.datetime.now(dt.UTC), project_id, dataset.json()["id"])
    for rows in (generated.logs, generated.dataset_rows):
        response = client.post("/logs3", json={"rows": rows})
        assert response.status_code == 200, response.text
    return generated
