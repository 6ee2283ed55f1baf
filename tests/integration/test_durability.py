"""Acknowledged writes survive SIGKILL of the server during concurrent ingest; a data dir
that cannot take a write refuses it in plain words."""

from __future__ import annotations

import os
import threading
import time

import httpx
import pytest

from tests.conftest import ServerProcess


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


def test_a_full_disk_refuses_writes_in_plain_words_and_keeps_serving(tmp_path):
    """A write the file system refused (a full disk; here a file past ``ulimit -f``) was a
    500 "internal error" with a traceback. It is a 507 that says so, nothing of it is
    written, and the server keeps answering reads."""
    server = ServerProcess(tmp_path / "data", file_size_limit=8 * 1024 * 1024)
    try:
        server.start()
        with server.client() as client:
            project_id = client.post("/v1/project", json={"name": "full"}).json()["id"]
            written: list[str] = []
            refused = None
            for batch in range(200):  # 200 x 80 KB of WAL: far past the 8 MB limit
                rows = [
                    {"project_id": project_id, "log_id": "g", "id": f"b{batch}-{i}"}
                    | {"input": os.urandom(2000).hex()}
                    for i in range(20)
                ]
                response = client.post("/logs3", json={"rows": rows, "api_version": 2})
                if response.status_code != 200:
                    refused = (response, rows)
                    break
                written.extend(row["id"] for row in rows)
            assert refused is not None, "the file size limit was never reached"
            response, rows = refused
            assert response.status_code == 507, response.text
            error = response.json()["error"]
            assert error["type"] == "StorageFull"
            assert "cannot write its data dir" in error["message"]
            assert "File too large" in error["message"]
            page = client.post(
                f"/v1/project_logs/{project_id}/fetch", json={"limit": 100000}
            ).json()
            ids = {event["id"] for event in page["events"]}
            assert ids == set(written)  # every acknowledged row, nothing of the refused one
        assert "Traceback" not in server.log()
    finally:
        server.stop()


def test_a_catalog_transaction_that_loses_a_write_conflict_runs_again(tmp_path):
    """DuckDB fails the later of two transactions that change one row or insert one key at
    once (no locks: "Conflict on update", a duplicate key past ON CONFLICT DO NOTHING): two
    requests that starred one dataset, set one default view, or took a lease at the same
    moment answered a 500. The loser runs again and sees the winner's change. Here the
    other transaction commits, deterministically, between the loser's start and its write."""
    from tracelake.store.store import Store

    store = Store(tmp_path / "data")
    try:
        store.transact(
            lambda c: c.execute(
                "INSERT INTO projects VALUES ('p', 'o', 'n', NULL, NULL, NULL, now(), NULL, 1)"
            )
        )
        star = "INSERT INTO dataset_stars VALUES ('key', 'ds', now()) ON CONFLICT DO NOTHING"
        cases = [
            ("UPDATE projects SET description = 'first' WHERE id = 'p'", None),
            ("UPDATE projects SET description = 'second' WHERE id = 'p'", None),
            (star, star),
            ("DELETE FROM dataset_stars", "DELETE FROM dataset_stars"),
        ]
        for other, own in cases:
            own = own or other.replace("first", "third").replace("second", "fourth")
            attempts = []

            def fn(c, other=other, own=own, attempts=attempts):
                attempts.append(1)
                c.execute("SELECT count(*) FROM projects").fetchone()  # the snapshot starts
                if len(attempts) == 1:  # a concurrent request commits first
                    store.transact(lambda o, other=other: o.execute(other))
                c.execute(own)
                return len(attempts)

            assert store.transact(fn) == 2, own
        description = store.read(
            lambda c: c.execute("SELECT description FROM projects WHERE id = 'p'").fetchone()[0]
        )
        assert description == "fourth"  # the last write wins, as if one ran after the other
    finally:
        store.close()


def test_concurrent_stars_of_one_dataset_all_succeed(server):
    """Many PUTs of the same star at once (a double click, retries): each answers 200."""
    with server.client() as client:
        project = client.post("/v1/project", json={"name": "concurrent-stars"}).json()["id"]
        datasets = [
            client.post("/v1/dataset", json={"project_id": project, "name": f"d{i}"}).json()["id"]
            for i in range(10)
        ]
    statuses: list[int] = []
    lock = threading.Lock()

    def star(barrier: threading.Barrier) -> None:
        with server.client() as client:
            for dataset in datasets:
                barrier.wait()
                status = client.put(f"/v1/dataset/{dataset}/star").status_code
                with lock:
                    statuses.append(status)

    barrier = threading.Barrier(8)
    threads = [threading.Thread(target=star, args=(barrier,)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 80
    with server.client() as client:
        starred = client.get("/v1/dataset_star", params={"project_id": project}).json()
    assert {s["dataset_id"] for s in starred["objects"]} == set(datasets)


def test_a_request_cancelled_while_its_group_commits_writes_nothing_twice(tmp_path):
    """A request cancelled while the writer committed its batch (uvicorn cancels requests
    still running 5 s after SIGTERM) cancelled its future; resolving it then raised, the
    group was taken for failed, and its other batches were committed a second time: a
    second version of each of their rows under a new _xact_id. Once the writer has taken a
    batch it can no longer be cancelled; a batch cancelled before that is not written."""
    from tracelake.model.objects import ObjectRef, ObjectType
    from tracelake.model.rows import normalize_row
    from tracelake.store.store import Store
    from tracelake.store.writer import ObjectInfo, WriteBatch, prepare

    logs = ObjectRef(ObjectType.PROJECT_LOGS, "proj")
    objects = {logs: ObjectInfo("org", "proj")}

    def batch(row_id: str) -> WriteBatch:
        raw = {"project_id": "proj", "log_id": "g", "id": row_id, "input": row_id}
        return prepare(WriteBatch(writes=[normalize_row(raw, logs)], objects=dict(objects)))

    store = Store(tmp_path / "data")
    try:
        held, release = threading.Event(), threading.Event()

        def hold(_cursor) -> None:  # keeps the writer busy while the batches queue up
            held.set()
            release.wait()

        blocker = threading.Thread(target=store.exclusive, args=(hold,))
        blocker.start()
        held.wait()
        early, first, second = batch("early"), batch("first"), batch("second")
        cancelled_before = store.submit(early)
        assert cancelled_before.cancel()  # its request is gone before the writer took it
        taken = store.submit(first)
        later = store.submit(second)
        original_build, cancelled_mid_commit = None, []

        def cancel_while_committing(_cursor):  # the request is cancelled mid-commit
            cancelled_mid_commit.append(taken.cancel())
            return original_build

        # A build runs on the writer thread inside the group's transaction.
        original_build, first.build, first.prepared = first.writes, cancel_while_committing, None
        release.set()
        blocker.join()
        xact_second = later.result(timeout=30)
        rows = store.read(
            lambda c: c.execute("SELECT id, _xact_id FROM history ORDER BY _xact_id").fetchall()
        )
        assert [row[0] for row in rows] == ["first", "second"]  # each once, "early" never
        assert rows[1][1] == xact_second
        assert cancelled_mid_commit == [False]  # the writer held it: too late to cancel
        assert taken.result(timeout=30) == rows[0][1]
    finally:
        store.close()


def test_closing_the_store_stops_the_queries_still_running(tmp_path):
    """At SIGTERM, uvicorn cancels the requests still running after its grace period, but
    their queries go on in their threads; closing the database then failed ("connection is
    busy"): "Application shutdown failed" and a traceback, the write-ahead log not folded
    in. The store interrupts them and closes."""
    import duckdb

    from tracelake.store.store import Store

    store = Store(tmp_path / "data")
    started = threading.Event()
    outcome: list[BaseException] = []

    cursors = []

    def long_query(cursor):
        cursors.append(cursor)
        started.set()
        return cursor.execute("SELECT count(*) FROM range(100000000000) t WHERE t.range % 7 = 3")

    def run() -> None:
        try:
            store.read(lambda c: long_query(c).fetchall())
        except BaseException as exc:  # noqa: BLE001 - the test looks at it
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    started.wait()
    try:
        store.close()  # raised duckdb.ResourceInUseException
    finally:
        while thread.is_alive():  # (without the fix, the query would go on for hours)
            cursors[0].interrupt()
            thread.join(0.1)
    assert len(outcome) == 1 and isinstance(outcome[0], duckdb.InterruptException), outcome
    Store(tmp_path / "data").close()  # it opens again


def test_staged_files_a_killed_server_left_are_deleted_on_start(fresh_server):
    """An upload or dataset import staged in the data dir's tmp/ when the server was killed
    stayed there for good (each as large as the upload)."""
    staging = fresh_server.data_dir / "tmp"
    staging.mkdir(parents=True)
    (staging / "upload-abc").write_bytes(b"x" * 1000)
    (staging / "import-def.parquet").write_bytes(b"y" * 1000)
    fresh_server.start()
    assert not staging.exists() or list(staging.iterdir()) == []
    with fresh_server.client() as client:  # and imports still stage there
        project = client.post("/v1/project", json={"name": "staging"}).json()["id"]
        dataset = client.post("/v1/dataset", json={"project_id": project, "name": "d"}).json()
        response = client.post(
            f"/v1/dataset/{dataset['id']}/import",
            params={"format": "jsonl"},
            content=b'{"input": 1}\n',
        )
        assert response.status_code == 200, response.text


def test_an_exclusive_block_that_loses_a_write_conflict_runs_again(tmp_path):
    """Retention's blocks run on the writer thread and change catalog rows (an experiment's
    deleted_at, its run's plan) that a request may be changing at the same moment: the
    block failed, and the run with it. It runs again, as catalog transactions do."""
    from tracelake.store.store import Store

    store = Store(tmp_path / "data")
    try:
        store.transact(
            lambda c: c.execute(
                "INSERT INTO projects VALUES ('p', 'o', 'n', NULL, NULL, NULL, now(), NULL, 1)"
            )
        )
        attempts = []

        def block(c):
            attempts.append(1)
            c.execute("SELECT count(*) FROM projects").fetchone()  # the snapshot starts
            if len(attempts) == 1:  # a request changes the row meanwhile
                store.transact(
                    lambda o: o.execute("UPDATE projects SET description = 'r' WHERE id = 'p'")
                )
            c.execute("UPDATE projects SET description = 'x' WHERE id = 'p'")
            return len(attempts)

        assert store.exclusive(block) == 2
        row = store.read(
            lambda c: c.execute("SELECT description FROM projects WHERE id = 'p'").fetchone()
        )
        assert row == ("x",)  # after the request's change, as if it had waited
    finally:
        store.close()


@pytest.mark.parametrize("limit", [1000, 13000])
def test_a_data_dir_whose_creation_ran_out_of_space_starts_once_there_is_room(tmp_path, limit):
    """Creating the database on a full disk failed part way. With no room for the file's
    first blocks (1000 bytes) it left a truncated file: the error was clear, but every
    later start, with room again, refused the data dir as "not a valid DuckDB database
    file" until the user found and deleted it. With room for them but not for the tables
    (13000 bytes: DuckDB's header takes 12 KiB) it was a traceback."""
    full = ServerProcess(tmp_path / "data", file_size_limit=limit)
    try:
        full.start()
        raise AssertionError("the server started past the file size limit")
    except RuntimeError as exc:
        assert "cannot use the data dir" in str(exc) and "File too large" in str(exc)
        assert "Traceback" not in str(exc)
    finally:
        full.stop()
    server = ServerProcess(tmp_path / "data")
    try:
        server.start()
        with server.client() as client:
            assert client.post("/v1/project", json={"name": "room"}).status_code == 200
    finally:
        server.stop()


def test_an_attachment_upload_cut_by_a_kill_leaves_no_file_after_a_restart(fresh_server):
    """An attachment's bytes were staged beside the file they became (attachments/<org>/):
    what a killed server was receiving stayed there for good, up to
    TRACELAKE_MAX_UPLOAD_BYTES each. They are staged in tmp/, which each start empties."""
    import socket
    from urllib.parse import urlsplit

    data_dir = fresh_server.start().data_dir
    with fresh_server.client() as client:
        response = client.post(
            "/attachment", json={"key": "k1", "filename": "f.bin", "content_type": "text/plain"}
        )
        assert response.status_code == 200, response.text
        url = urlsplit(response.json()["signedUrl"])
    head = f"PUT {url.path}?{url.query} HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n"
    with socket.create_connection(("127.0.0.1", fresh_server.port)) as sock:
        sock.sendall(head.encode() + b"x" * 1_000_000)  # then the server dies mid-body
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            staged = [p for p in data_dir.rglob("upload-*") if p.stat().st_size > 0]
            if staged:
                break
            time.sleep(0.05)
        assert staged
        fresh_server.kill()
    fresh_server.start()
    assert list(data_dir.rglob("upload-*")) == []
    assert [p for p in (data_dir / "attachments").rglob("*") if p.is_file()] == []
