"""Regression tests for dataset schema, version, import and naming bugs found by a black-box
hunt: remote ``$ref`` (SSRF), unresolvable refs, restore/snapshot/diff of versions that are
not the dataset's, old snapshots of non-versions, restore of ``created``, snapshot names in
/btql, import dedup before the schema check, and reserved names."""

from __future__ import annotations

import http.server
import threading
import time
import uuid
from urllib.parse import quote

import orjson


def _dataset(client) -> str:
    project = f"bugs-{uuid.uuid4().hex[:10]}"
    project_id = client.post("/v1/project", json={"name": project}).json()["id"]
    return client.post("/v1/dataset", json={"project_id": project_id, "name": "d"}).json()["id"]


class _Hits(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802
        _Hits.hits.append(self.path)
        body = b'{"type": "string"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_remote_ref_is_refused_and_never_fetched(app_client):
    ds = _dataset(app_client)
    server = http.server.HTTPServer(("127.0.0.1", 0), _Hits)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/internal-secret"
    try:
        for schema in ({"$ref": url}, {"properties": {"a": {"$ref": url}}}):
            saved = app_client.put(
                f"/v1/dataset/{ds}/schema/input", json={"schema": schema, "enforce": True}
            )
            assert saved.status_code == 400, saved.text
            assert "local reference" in saved.json()["error"]["message"]
        # A remote ref stored before this check: writes fail with a 4xx and fetch nothing.
        store = app_client.app.state.store
        store.transact(
            lambda c: c.execute(
                "INSERT OR REPLACE INTO dataset_field_schemas VALUES (?, 'input', ?::JSON, true,"
                " now())",
                [ds, orjson.dumps({"$ref": url}).decode()],
            )
        )
        write = app_client.post(f"/v1/dataset/{ds}/insert", json={"events": [{"input": "s"}]})
        assert write.status_code == 400, write.text
        assert _Hits.hits == []
    finally:
        server.shutdown()


def test_unresolvable_ref_is_refused_when_saved(app_client):
    ds = _dataset(app_client)
    bad = {"$ref": "#/$defs/missing"}
    saved = app_client.put(f"/v1/dataset/{ds}/schema/input", json={"schema": bad})
    assert saved.status_code == 400, saved.text
    assert "does not resolve" in saved.json()["error"]["message"]
    good = {"$defs": {"s": {"type": "string"}}, "properties": {"q": {"$ref": "#/$defs/s"}}}
    saved = app_client.put(f"/v1/dataset/{ds}/schema/input", json={"schema": good, "enforce": True})
    assert saved.status_code == 200, saved.text
    assert (
        app_client.post(
            f"/v1/dataset/{ds}/insert", json={"events": [{"input": {"q": 1}}]}
        ).status_code
        == 400
    )
    ok = app_client.post(f"/v1/dataset/{ds}/insert", json={"events": [{"input": {"q": "x"}}]})
    assert ok.status_code == 200, ok.text
    # A broken schema already stored: writes and the check route are a clear 400.
    app_client.app.state.store.transact(
        lambda c: c.execute(
            "INSERT OR REPLACE INTO dataset_field_schemas VALUES (?, 'input', ?::JSON, true,"
            " now())",
            [ds, orjson.dumps(bad).decode()],
        )
    )
    from tracelake.store import dataset_meta

    dataset_meta._forget(app_client.app.state.store, ds)
    write = app_client.post(f"/v1/dataset/{ds}/insert", json={"events": [{"input": "s"}]})
    assert write.status_code == 400, write.text
    assert "does not resolve" in write.json()["error"]["message"]
    check = app_client.get(f"/v1/dataset/{ds}/schema/check")
    assert check.status_code == 400, check.text


def _versions(client, ds) -> list[str]:
    return [v["_xact_id"] for v in client.get(f"/v1/dataset/{ds}/versions").json()["objects"]]


def test_restore_refuses_a_version_that_is_not_the_datasets(app_client):
    ds = _dataset(app_client)
    app_client.post(f"/v1/dataset/{ds}/insert", json={"events": [{"id": "a", "input": 1}]})
    other = _dataset(app_client)
    app_client.post(f"/v1/dataset/{other}/insert", json={"events": [{"id": "b", "input": 2}]})
    for version in (12, "1", _versions(app_client, other)[0], "99999999999999999999999", "nope"):
        answer = app_client.post(f"/v1/dataset/{ds}/restore", json={"version": version})
        assert answer.status_code in (400, 404), (version, answer.text)
    rows = app_client.post(f"/v1/dataset/{ds}/fetch", json={}).json()["events"]
    assert [r["id"] for r in rows] == ["a"]
    # Its own version works, given as a string or as a JSON number.
    (v1,) = _versions(app_client, ds)
    for version in (v1, int(v1)):
        answer = app_client.post(f"/v1/dataset/{ds}/restore", json={"version": version})
        assert answer.status_code == 200, answer.text


def test_snapshot_must_name_a_version_of_the_dataset(app_client):
    ds = _dataset(app_client)
    app_client.post(f"/v1/dataset/{ds}/insert", json={"events": [{"id": "a", "input": 1}]})
    for version in ("9999999999999999999", "99999999999999999999999", 12):
        answer = app_client.post(
            f"/v1/dataset/{ds}/snapshots", json={"name": "fut", "version": version}
        )
        assert answer.status_code in (400, 404), (version, answer.text)
    assert app_client.get(f"/v1/dataset/{ds}/snapshots").json()["objects"] == []
    (v1,) = _versions(app_client, ds)
    answer = app_client.post(f"/v1/dataset/{ds}/snapshots", json={"name": "v1", "version": v1})
    assert answer.status_code == 200, answer.text


def test_restore_brings_back_created(app_client):
    ds = _dataset(app_client)
    first = {"id": "a", "input": 1, "created": "2020-01-01T00:00:00Z"}
    app_client.post(f"/v1/dataset/{ds}/insert", json={"events": [first]})
    (v1,) = _versions(app_client, ds)
    app_client.post(
        f"/v1/dataset/{ds}/insert", json={"events": [{"id": "a", "_object_delete": True}]}
    )
    app_client.post(f"/v1/dataset/{ds}/insert", json={"events": [{"id": "a", "input": 2}]})
    answer = app_client.post(f"/v1/dataset/{ds}/restore", json={"version": v1})
    assert answer.status_code == 200, answer.text
    pinned = app_client.post(f"/v1/dataset/{ds}/fetch", json={"version": v1}).json()["events"]
    now = app_client.post(f"/v1/dataset/{ds}/fetch", json={}).json()["events"]
    assert pinned[0]["created"].startswith("2020-01-01")
    assert [(r["input"], r["created"]) for r in now] == [(1, pinned[0]["created"])]


def test_btql_version_takes_a_snapshot_name(app_client):
    ds = _dataset(app_client)
    app_client.post(f"/v1/dataset/{ds}/insert", json={"events": [{"id": "a", "input": 1}]})
    assert (
        app_client.post(f"/v1/dataset/{ds}/snapshots", json={"name": "golden"}).status_code == 200
    )
    app_client.post(f"/v1/dataset/{ds}/insert", json={"events": [{"id": "b", "input": 2}]})
    query = f"from: dataset('{ds}') | select: id"
    answer = app_client.post("/btql", json={"query": query, "version": "golden"})
    assert answer.status_code == 200, answer.text
    assert [r["id"] for r in answer.json()["data"]] == ["a"]
    unknown = app_client.post("/btql", json={"query": query, "version": "nope"})
    assert unknown.status_code == 400 and "nope" in unknown.text
    project_id = app_client.get(f"/v1/dataset/{ds}").json()["project_id"]
    logs = f"from: project_logs('{project_id}') | select: id"
    other = app_client.post("/btql", json={"query": logs, "version": "golden"})
    assert other.status_code == 400 and "one dataset" in other.text


def test_import_checks_the_schema_after_dropping_duplicate_ids(app_client):
    ds = _dataset(app_client)
    schema = {"schema": {"type": "string"}, "enforce": True}
    assert app_client.put(f"/v1/dataset/{ds}/schema/input", json=schema).status_code == 200
    body = b'{"id":"a","input":5}\n{"id":"a","input":"ok"}\n{"id":"b","input":"x"}\n'
    answer = app_client.post(f"/v1/dataset/{ds}/import?format=jsonl", content=body)
    assert answer.status_code == 200, answer.text
    rows = app_client.post(f"/v1/dataset/{ds}/fetch", json={}).json()["events"]
    assert sorted((r["id"], r["input"]) for r in rows) == [("a", "ok"), ("b", "x")]
    # The kept row is still checked, with its row number in the file.
    body = b'{"id":"c","input":"ok"}\n{"id":"c","input":7}\n'
    answer = app_client.post(f"/v1/dataset/{ds}/import?format=jsonl", content=body)
    assert answer.status_code == 400, answer.text
    assert [(v["row"], v["id"]) for v in answer.json()["error"]["violations"]] == [(2, "c")]


def test_cli_keys_create_refuses_org_with_url():
    from tests.conftest import free_port
    from tests.integration.test_cli import assert_cli_error, run_cli

    url = f"http://127.0.0.1:{free_port()}"
    result = run_cli("keys", "create", "--org", "other", "--url", url, "--api-key", "tl-x-000000")
    assert_cli_error(result, "--org only works on a data dir")


def test_cli_keys_list_and_revoke_refuse_org_with_url():
    """With --url, `keys list --org other` listed the key's own organization and `keys revoke
    --org other` revoked in it: --org was ignored instead of refused, as `keys create` does."""
    from tests.conftest import free_port
    from tests.integration.test_cli import assert_cli_error, run_cli

    url = f"http://127.0.0.1:{free_port()}"
    key = ("--url", url, "--api-key", "tl-x-000000")
    assert_cli_error(run_cli("keys", "list", "--org", "other", *key), "--org only works")
    assert_cli_error(run_cli("keys", "revoke", "k1", "--org", "other", *key), "--org only works")


def test_key_names_must_be_usable(app_client):
    """An empty or blank key name clashed with `assignee=` (unassigned) and `me` shadowed the
    caller's own alias in the review queue; both were accepted."""
    for name in ("", "   ", "me"):
        response = app_client.post("/v1/api_key", json={"name": name, "role": "read"})
        assert response.status_code == 400, (name, response.text)
    response = app_client.post("/v1/api_key", json={"name": "auditor", "role": "read"})
    assert response.status_code == 200, response.text


def test_custom_column_names_that_are_btql_words_are_refused(app_client):
    """`and`, `null`, `select` were saved but no query could name them."""
    ds = _dataset(app_client)
    for name in ("and", "NULL", "select", "limit", "true"):
        response = app_client.put(
            f"/v1/dataset/{ds}/columns/{name}", json={"expr": "metadata.topic"}
        )
        assert response.status_code == 400, (name, response.text)
        assert "BTQL word" in response.json()["error"]["message"]
    response = app_client.put(f"/v1/dataset/{ds}/columns/topic", json={"expr": "metadata.topic"})
    assert response.status_code == 200, response.text


def test_diff_refuses_a_version_that_is_not_the_datasets(app_client):
    """`from`/`to` took any number (another dataset's version, one never written, one in
    the future) and answered as if it were a version; a 23-digit one was a 500."""
    ds, other = _dataset(app_client), _dataset(app_client)
    app_client.post(f"/v1/dataset/{ds}/insert", json={"events": [{"id": "a", "input": 1}]})
    # Another dataset's version, between two of this one's (xact ids are shared).
    app_client.post(f"/v1/dataset/{other}/insert", json={"events": [{"id": "c", "input": 3}]})
    app_client.post(f"/v1/dataset/{ds}/insert", json={"events": [{"id": "b", "input": 2}]})
    v2, v1 = _versions(app_client, ds)
    (foreign,) = _versions(app_client, other)
    assert v1 < foreign < v2
    future = str(int(v2) + 1_000_000)
    bad = ["12", "1", foreign, future, "9999999999999999999", "99999999999999999999999"]
    for version in [*bad, "nope"]:
        for params in ({"from": version}, {"from": v1, "to": version}):
            answer = app_client.get(f"/v1/dataset/{ds}/diff", params=params)
            assert answer.status_code == 400, (params, answer.text)
            message = answer.json()["error"]["message"]
            which = "to" if "to" in params else "from"
            assert f"{which}={version!r}" in message, message
            assert "not a version of this dataset" in message, message
    # Its own versions and a snapshot name work.
    answer = app_client.get(f"/v1/dataset/{ds}/diff", params={"from": v1, "to": v2})
    assert answer.status_code == 200, answer.text
    assert answer.json()["counts"] == {"added": 1, "removed": 0, "changed": 0}
    app_client.post(f"/v1/dataset/{ds}/snapshots", json={"name": "first", "version": v1})
    answer = app_client.get(f"/v1/dataset/{ds}/diff", params={"from": "first"})
    assert answer.status_code == 200, answer.text
    assert [r["id"] for r in answer.json()["added"]] == ["b"]


def _old_snapshot(client, ds: str, name: str, xact_id: int) -> None:
    """A snapshot as stored before snapshots had to name a version of the dataset."""
    client.app.state.store.transact(
        lambda c: c.execute(
            "INSERT INTO dataset_snapshots VALUES (?, ?, ?, NULL, NULL, now())",
            [ds, name, xact_id],
        )
    )


def test_an_old_snapshot_of_a_non_version_restores_what_it_reads(app_client):
    """Snapshots made before the check could point between versions (or past the last);
    fetch reads them as of that point, but restore, diff and naming them again were 404."""
    ds, other = _dataset(app_client), _dataset(app_client)
    for row in ({"id": "a", "input": 1}, {"id": "b", "input": 2}, None, {"id": "a", "input": 3}):
        target, row = (other, {"id": "x"}) if row is None else (ds, row)
        app_client.post(f"/v1/dataset/{target}/insert", json={"events": [row]})
    v3, v2, v1 = _versions(app_client, ds)
    (between,) = _versions(app_client, other)
    assert v2 < between < v3
    _old_snapshot(app_client, ds, "between", int(between))
    _old_snapshot(app_client, ds, "ahead", 9_000_000_000_000_000_000)

    pinned = app_client.post(f"/v1/dataset/{ds}/fetch", json={"version": "between"}).json()
    assert sorted((r["id"], r["input"]) for r in pinned["events"]) == [("a", 1), ("b", 2)]
    diff = app_client.get(f"/v1/dataset/{ds}/diff", params={"from": "between"})
    assert diff.status_code == 200, diff.text
    assert [r["id"] for r in diff.json()["changed"]] == ["a"]
    named = app_client.post(
        f"/v1/dataset/{ds}/snapshots", json={"name": "b2", "version": "between"}
    )
    assert named.status_code == 200, named.text
    assert named.json()["_xact_id"] == v2
    # The versions list shows the old names on the version they read as.
    listed = {v["_xact_id"]: v["snapshots"] for v in _list(app_client, ds)}
    assert listed == {v3: ["ahead"], v2: ["b2", "between"], v1: []}

    answer = app_client.post(f"/v1/dataset/{ds}/restore", json={"version": "between"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["restored"] == v2
    now = app_client.post(f"/v1/dataset/{ds}/fetch", json={}).json()["events"]
    assert sorted((r["id"], r["input"]) for r in now) == [("a", 1), ("b", 2)]
    # Past the last version it reads as the current rows: restoring it writes nothing.
    answer = app_client.post(f"/v1/dataset/{ds}/restore", json={"version": "ahead"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["_xact_id"] is None


def test_an_old_snapshot_before_the_first_version_is_a_clear_error(app_client):
    ds = _dataset(app_client)
    app_client.post(f"/v1/dataset/{ds}/insert", json={"events": [{"id": "a", "input": 1}]})
    (v1,) = _versions(app_client, ds)
    _old_snapshot(app_client, ds, "early", int(v1) - 1)
    for answer in (
        app_client.post(f"/v1/dataset/{ds}/restore", json={"version": "early"}),
        app_client.get(f"/v1/dataset/{ds}/diff", params={"from": "early"}),
    ):
        assert answer.status_code == 400, answer.text
        message = answer.json()["error"]["message"]
        assert "'early'" in message and "before the dataset's first version" in message, message
    now = app_client.post(f"/v1/dataset/{ds}/fetch", json={}).json()["events"]
    assert [r["id"] for r in now] == ["a"]
    assert len(_versions(app_client, ds)) == 1


def _list(client, ds) -> list[dict]:
    return client.get(f"/v1/dataset/{ds}/versions").json()["objects"]


def test_restore_brings_back_a_rows_own_span_ids(app_client):
    ds = _dataset(app_client)
    own = {"span_id": "s-a", "root_span_id": "root-a", "span_parents": ["root-a"]}
    rows = [{"id": "a", "input": 1, **own}, {"id": "b", "input": 2, **own, "span_id": "s-b"}]
    app_client.post(f"/v1/dataset/{ds}/insert", json={"events": rows})
    (v1,) = _versions(app_client, ds)
    app_client.post(
        f"/v1/dataset/{ds}/insert",
        json={"events": [{"id": "a", "_object_delete": True}, {"id": "b", "input": 3}]},
    )
    answer = app_client.post(f"/v1/dataset/{ds}/restore", json={"version": v1})
    assert answer.status_code == 200, answer.text
    assert (answer.json()["inserted"], answer.json()["updated"]) == (1, 1)
    now = app_client.post(f"/v1/dataset/{ds}/fetch", json={}).json()["events"]
    fields = ("id", "input", "span_id", "root_span_id", "span_parents")
    assert sorted(tuple(r[f] for f in fields) for r in now) == [
        ("a", 1, "s-a", "root-a", ["root-a"]),
        ("b", 2, "s-b", "root-a", ["root-a"]),
    ]
    again = app_client.post(f"/v1/dataset/{ds}/restore", json={"version": v1}).json()
    assert again["_xact_id"] is None


def test_restore_reads_the_rows_as_of_its_own_write(app_client):
    """A write queued before the restore's commit is not lost or left behind: the restore
    compares against the rows as they are when it is written."""
    ds = _dataset(app_client)
    app_client.post(f"/v1/dataset/{ds}/insert", json={"events": [{"id": "a", "input": 1}]})
    (v1,) = _versions(app_client, ds)
    app_client.post(f"/v1/dataset/{ds}/insert", json={"events": [{"id": "a", "input": 2}]})
    store = app_client.app.state.store
    release = threading.Event()
    blocked = threading.Event()

    def hold(_cursor):
        blocked.set()
        release.wait(10)

    holder = threading.Thread(target=store.exclusive, args=(hold,))
    holder.start()
    assert blocked.wait(10)
    answers = {}

    def post(name, path, body):
        answers[name] = app_client.post(path, json=body)

    # Queued behind the held writer: a write, then the restore (which used to read the rows
    # before the write committed, so it kept 'c' and left 'a' as the write made it).
    write = threading.Thread(
        target=post,
        args=(
            "write",
            f"/v1/dataset/{ds}/insert",
            {"events": [{"id": "a", "input": 3}, {"id": "c", "input": 4}]},
        ),
    )
    write.start()
    while store._queue.qsize() < 1:  # noqa: SLF001
        time.sleep(0.01)
    restore = threading.Thread(
        target=post, args=("restore", f"/v1/dataset/{ds}/restore", {"version": v1})
    )
    restore.start()
    time.sleep(0.5)  # the restore queues its write behind the other one
    release.set()
    for thread in (holder, write, restore):
        thread.join(10)
    assert answers["write"].status_code == 200, answers["write"].text
    assert answers["restore"].status_code == 200, answers["restore"].text
    assert (answers["restore"].json()["updated"], answers["restore"].json()["deleted"]) == (1, 1)
    now = app_client.post(f"/v1/dataset/{ds}/fetch", json={}).json()["events"]
    assert [(r["id"], r["input"]) for r in now] == [("a", 1)]


def test_restore_is_checked_against_an_enforced_schema(app_client):
    ds = _dataset(app_client)
    app_client.post(f"/v1/dataset/{ds}/insert", json={"events": [{"id": "a", "input": 1}]})
    (v1,) = _versions(app_client, ds)
    app_client.post(f"/v1/dataset/{ds}/insert", json={"events": [{"id": "a", "input": "s"}]})
    schema = {"schema": {"type": "string"}, "enforce": True}
    assert app_client.put(f"/v1/dataset/{ds}/schema/input", json=schema).status_code == 200
    answer = app_client.post(f"/v1/dataset/{ds}/restore", json={"version": v1})
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["violations"][0]["id"] == "a"
    assert len(_versions(app_client, ds)) == 2


def test_a_write_that_changes_no_row_is_no_listed_version(app_client):
    ds = _dataset(app_client)
    app_client.post(f"/v1/dataset/{ds}/insert", json={"events": [{"id": "a", "input": 1}]})
    (v1,) = _versions(app_client, ds)
    app_client.post(f"/v1/dataset/{ds}/snapshots", json={"name": "first"})
    for row_id in ("never", "a", "a"):  # the second delete of 'a' changes nothing either
        app_client.post(
            f"/v1/dataset/{ds}/insert", json={"events": [{"id": row_id, "_object_delete": True}]}
        )
    listed = app_client.get(f"/v1/dataset/{ds}/versions").json()["objects"]
    assert [(v["inserted"], v["updated"], v["deleted"]) for v in listed] == [(0, 0, 1), (1, 0, 0)]
    assert listed[1]["_xact_id"] == v1 and listed[1]["snapshots"] == ["first"]


def test_a_snapshot_name_of_digits_and_spaces_is_refused(app_client):
    """' 123 ' reads as the version 123 wherever a version is taken, so such a snapshot
    could never be read by its name."""
    ds = _dataset(app_client)
    app_client.post(f"/v1/dataset/{ds}/insert", json={"events": [{"id": "a", "input": 1}]})
    answer = app_client.post(f"/v1/dataset/{ds}/snapshots", json={"name": " 123 "})
    assert answer.status_code == 400 and "all digits" in answer.text
    assert app_client.get(f"/v1/dataset/{ds}/snapshots").json()["objects"] == []


def test_a_bad_snapshot_name_of_an_empty_dataset_is_named_first(app_client):
    """An empty dataset answered any snapshot name, good or bad, with "no versions yet":
    the name's fault was said only after rows were written."""
    ds = _dataset(app_client)
    for name, words in ((" 1 ", "all digits"), ("a\nb", "control characters"), ("", "name")):
        answer = app_client.post(f"/v1/dataset/{ds}/snapshots", json={"name": name})
        assert answer.status_code == 400 and words in answer.text, (name, answer.text)
    described = {"name": "ok", "description": 5}
    answer = app_client.post(f"/v1/dataset/{ds}/snapshots", json=described)
    assert answer.status_code == 400 and "description must be a string" in answer.text
    answer = app_client.post(f"/v1/dataset/{ds}/snapshots", json={"name": "ok"})
    assert answer.status_code == 400 and "no versions yet" in answer.text


def test_a_snapshot_name_that_cannot_be_a_url_segment_is_refused(app_client):
    """Removing a snapshot (and the SDK's environment-object) puts its name in the path: a
    '/' never reached the route (the name could not be removed), and clients resolve '..'
    away, so removing a snapshot named '..' deleted the dataset itself."""
    ds = _dataset(app_client)
    app_client.post(f"/v1/dataset/{ds}/insert", json={"events": [{"id": "a", "input": 1}]})
    for name in ("..", ".", "a/b", "/"):
        answer = app_client.post(f"/v1/dataset/{ds}/snapshots", json={"name": name})
        assert answer.status_code == 400, (name, answer.text)
        assert "may not contain '/'" in answer.json()["error"]["message"]
    assert app_client.get(f"/v1/dataset/{ds}/snapshots").json()["objects"] == []
    for name in ("a.b", "...", "v1.0", "a?b#c d"):
        answer = app_client.post(f"/v1/dataset/{ds}/snapshots", json={"name": name})
        assert answer.status_code == 200, (name, answer.text)
        path = f"/v1/dataset/{ds}/snapshots/{quote(name, safe='')}"
        assert app_client.delete(path).status_code == 200, name
    assert app_client.get(f"/v1/dataset/{ds}").status_code == 200


def test_a_reordered_list_of_strings_is_a_change_except_in_tags(app_client):
    """Diff and restore compared every list of strings as a set (meant for tags): an input
    ['x', 'y'] merged to ['y', 'x'] was no change, so restore left it reordered."""
    ds = _dataset(app_client)
    row = {"id": "a", "input": ["x", "y"], "expected": ["1", "2"], "tags": ["t1", "t2"]}
    app_client.post(f"/v1/dataset/{ds}/insert", json={"events": [row]})
    (first,) = _versions(app_client, ds)
    merged = {"id": "a", "input": ["y", "x"], "tags": ["t2", "t1"], "_is_merge": True}
    app_client.post(f"/v1/dataset/{ds}/insert", json={"events": [merged]})
    diff = app_client.get(f"/v1/dataset/{ds}/diff", params={"from": first}).json()
    assert [(c["id"], c["fields"]) for c in diff["changed"]] == [("a", ["input"])]
    assert diff["changed"][0]["after"] == {"input": ["y", "x"]}
    restored = app_client.post(f"/v1/dataset/{ds}/restore", json={"version": first}).json()
    assert restored["updated"] == 1, restored
    fetched = app_client.post(f"/v1/dataset/{ds}/fetch", json={}).json()["events"]
    assert fetched[0]["input"] == ["x", "y"]


def test_a_snapshot_name_with_spaces_around_or_too_long_is_refused(app_client):
    """' golden ' was kept as given (it lists like 'golden', and 'golden' did not read it),
    and a name had no length limit."""
    ds = _dataset(app_client)
    app_client.post(f"/v1/dataset/{ds}/insert", json={"events": [{"id": "a", "input": 1}]})
    for name in (" golden", "golden ", "\tgolden\n"):
        answer = app_client.post(f"/v1/dataset/{ds}/snapshots", json={"name": name})
        assert answer.status_code == 400, (name, answer.text)
        assert "may not start or end with spaces" in answer.json()["error"]["message"]
    answer = app_client.post(f"/v1/dataset/{ds}/snapshots", json={"name": "x" * 256})
    assert answer.status_code == 400 and "at most 255 characters" in answer.text
    assert app_client.get(f"/v1/dataset/{ds}/snapshots").json()["objects"] == []
    for name in ("x" * 255, "golden set"):
        answer = app_client.post(f"/v1/dataset/{ds}/snapshots", json={"name": name})
        assert answer.status_code == 200, (name, answer.text)


def test_fetch_with_a_version_that_names_nothing_is_a_400(app_client):
    """fetch answered an unknown snapshot name with a 404 ('snapshot … not found', as if
    the dataset were missing) and '-1' as a snapshot name; /btql answered 400 for both."""
    ds = _dataset(app_client)
    app_client.post(f"/v1/dataset/{ds}/insert", json={"events": [{"id": "a", "input": 1}]})
    app_client.post(f"/v1/dataset/{ds}/snapshots", json={"name": "golden"})
    cases = {
        "nope": "the dataset has no snapshot named 'nope'",
        "-1": "version must not be negative, got '-1'",
        "1.5": "version must be a decimal transaction id, got '1.5'",
    }
    for version, message in cases.items():
        for answer in (
            app_client.post(f"/v1/dataset/{ds}/fetch", json={"version": version}),
            app_client.get(f"/v1/dataset/{ds}/fetch", params={"version": version}),
        ):
            assert answer.status_code == 400, (version, answer.text)
            assert answer.json()["error"]["message"] == message
    pinned = app_client.post(f"/v1/dataset/{ds}/fetch", json={"version": "golden"})
    assert [row["id"] for row in pinned.json()["events"]] == ["a"]


def test_an_unknown_snapshot_name_is_the_same_400_on_fetch_and_btql(app_client):
    """A version that names no snapshot was a 404 on fetch (as if the dataset were missing)
    and a 400 on /btql: both are a 400 about the version now, with the same message."""
    ds = _dataset(app_client)
    app_client.post(f"/v1/dataset/{ds}/insert", json={"events": [{"id": "a", "input": 1}]})
    query = f"select: id | from: dataset('{ds}')"
    for version, message in [
        ("golden", "the dataset has no snapshot named 'golden'"),
        ("-1", "version must not be negative, got '-1'"),
        ("1.5", "version must be a decimal transaction id, got '1.5'"),
    ]:
        answers = [
            app_client.post(f"/v1/dataset/{ds}/fetch", json={"version": version}),
            app_client.get(f"/v1/dataset/{ds}/fetch", params={"version": version}),
            app_client.post("/btql", json={"query": query, "version": version}),
        ]
        for answer in answers:
            assert answer.status_code == 400, (version, answer.text)
            assert answer.json()["error"]["message"] == message
    # A name that exists still reads its version.
    app_client.post(f"/v1/dataset/{ds}/snapshots", json={"name": "golden"})
    app_client.post(f"/v1/dataset/{ds}/insert", json={"events": [{"id": "b", "input": 2}]})
    rows = app_client.post(f"/v1/dataset/{ds}/fetch", json={"version": "golden"}).json()
    assert [r["id"] for r in rows["events"]] == ["a"]


def test_a_snapshot_is_renamed_and_experiments_pinned_to_it_follow(app_client):
    """A named version could be named and unnamed, not renamed (the UI had no way either):
    PATCH renames it (same version, checked like a new name) or sets its description, and
    an experiment whose dataset_version was the old name names the new one."""
    ds = _dataset(app_client)
    project_id = app_client.get(f"/v1/dataset/{ds}").json()["project_id"]
    app_client.post(f"/v1/dataset/{ds}/insert", json={"events": [{"id": "a", "input": 1}]})
    url = f"/v1/dataset/{ds}/snapshots"
    made = app_client.post(url, json={"name": "golden", "description": "v1"}).json()
    app_client.post(url, json={"name": "taken"})
    body = {"project_id": project_id, "name": "e", "dataset_id": ds, "dataset_version": "golden"}
    experiment = app_client.post("/v1/experiment", json=body).json()

    renamed = app_client.patch(f"{url}/golden", json={"name": "gold 2"})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json() == {**made, "name": "gold 2"}  # same version, description kept
    names = [s["name"] for s in app_client.get(url).json()["objects"]]
    assert sorted(names) == ["gold 2", "taken"]
    pinned = app_client.post(f"/v1/dataset/{ds}/fetch", json={"version": "gold 2"})
    assert [row["id"] for row in pinned.json()["events"]] == ["a"]
    old = app_client.post(f"/v1/dataset/{ds}/fetch", json={"version": "golden"})
    assert old.status_code == 400
    got = app_client.get(f"/v1/experiment/{experiment['id']}").json()
    assert got["dataset_version"] == "gold 2"

    described = app_client.patch(f"{url}/gold%202", json={"description": "the gold set"})
    assert described.json()["description"] == "the gold set"
    assert described.json()["name"] == "gold 2"

    for name, path, change, status, message in [
        ("taken name", "gold%202", {"name": "taken"}, 409, "named 'taken' already"),
        ("all digits", "gold%202", {"name": "123"}, 400, "all digits"),
        ("a slash", "gold%202", {"name": "a/b"}, 400, "may not contain '/'"),
        ("no such snapshot", "nope", {"name": "x"}, 404, "snapshot 'nope' not found"),
        ("unknown field", "gold%202", {"version": "1"}, 400, "unknown field 'version'"),
        ("description type", "gold%202", {"description": 3}, 400, "description"),
    ]:
        answer = app_client.patch(f"{url}/{path}", json=change)
        assert answer.status_code == status, (name, answer.text)
        assert message in answer.json()["error"]["message"], (name, answer.text)
    # Nothing of a refused change was applied.
    listed = {s["name"]: s["description"] for s in app_client.get(url).json()["objects"]}
    assert listed == {"gold 2": "the gold set", "taken": None}


def test_removing_a_snapshot_name_keeps_experiments_pinned_to_its_version(app_client):
    """Removing a name keeps the version; an experiment whose dataset_version was that name
    kept a name that read nothing. It is pinned to the version's _xact_id now."""
    ds = _dataset(app_client)
    project_id = app_client.get(f"/v1/dataset/{ds}").json()["project_id"]
    app_client.post(f"/v1/dataset/{ds}/insert", json={"events": [{"id": "a", "input": 1}]})
    url = f"/v1/dataset/{ds}/snapshots"
    made = app_client.post(url, json={"name": "golden"}).json()
    app_client.post(f"/v1/dataset/{ds}/insert", json={"events": [{"id": "b", "input": 2}]})
    body = {"project_id": project_id, "name": "e", "dataset_id": ds, "dataset_version": "golden"}
    experiment = app_client.post("/v1/experiment", json=body).json()

    assert app_client.delete(f"{url}/golden").status_code == 200
    got = app_client.get(f"/v1/experiment/{experiment['id']}").json()
    assert got["dataset_version"] == str(int(made["_xact_id"]))
    pinned = app_client.post(f"/v1/dataset/{ds}/fetch", json={"version": got["dataset_version"]})
    assert [row["id"] for row in pinned.json()["events"]] == ["a"]


def test_diff_and_schema_check_refuse_a_negative_or_non_integer_limit(app_client):
    # A negative limit was read as 0: an answer with every list empty, and no error.
    ds = _dataset(app_client)
    app_client.post(f"/v1/dataset/{ds}/insert", json={"events": [{"id": "a", "input": 1}]})
    (v1,) = _versions(app_client, ds)
    routes = (
        (f"/v1/dataset/{ds}/diff", {"from": v1}),
        (f"/v1/dataset/{ds}/schema/check", {}),
    )
    for path, params in routes:
        for limit in ("-1", "-1000", "1.5", "ten", ""):
            answer = app_client.get(path, params={**params, "limit": limit})
            assert answer.status_code == 400, (path, limit, answer.text)
            assert "limit" in answer.json()["error"]["message"], (path, limit, answer.text)
        for limit in ("0", "5", str(2**70)):
            answer = app_client.get(path, params={**params, "limit": limit})
            assert answer.status_code == 200, (path, limit, answer.text)
