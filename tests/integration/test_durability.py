"""Acknowledged writes survive SIGKILL of the server during concurrent ingest."""

from __future__ import annotations

import threading
import time

import httpx


def _rows(project_id: str, client_no: int, batch_no: int, size: int) -> list[dict]:
    return [
        {
            "project_id": project_id,
            "log_id": "g",
            "id": f"c{client_no}-b{batch_no}-r{i}",
            "input": {"client": client_no, "batch": batch_no, "i": i},
            "output": "x" * 50,
        }
        for i in range(size)
    ]


def test_acknowledged_rows_survive_sigkill(fresh_server):
    fresh_server.start()
    with fresh_server.client() as client:
        project_id = client.post("/v1/project", json={"name": "durable"}).json()["id"]

    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def ingest(client_no: int) -> None:
        with fresh_server.client() as client:
            batch_no = 0
            while not stop.is_set():
                rows = _rows(project_id, client_no, batch_no, 50)
                try:
                    response = client.post("/logs3", json={"rows": rows, "api_version": 2})
                except httpx.HTTPError:
                    return  # the server died mid-request: this batch was never acknowledged
                if response.status_code == 200:
                    with lock:
                        acknowledged.extend(r["id"] for r in rows)
                batch_no += 1

    threads = [threading.Thread(target=ingest, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    deadline = time.time() + 20
    while time.time() < deadline:
        with lock:
            if len(acknowledged) >= 3000:
                break
        time.sleep(0.05)
    fresh_server.kill()
    stop.set()
    for thread in threads:
        thread.join()
    assert len(acknowledged) >= 3000, "ingest was too slow to test anything"

    fresh_server.start()
    found: set[str] = set()
    with fresh_server.client() as client:
        cursor = None
        while True:
            body = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
            page = client.post(f"/v1/project_logs/{project_id}/fetch", json=body).json()
            found.update(e["id"] for e in page["events"])
            cursor = page["cursor"]
            if not cursor:
                break
    missing = set(acknowledged) - found
    assert not missing, f"{len(missing)} acknowledged rows lost, e.g. {sorted(missing)[:3]}"
