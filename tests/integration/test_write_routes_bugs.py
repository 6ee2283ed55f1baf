"""Write routes found wrong by a review (docs/write-semantics.md, docs/api.md,
braintrust-protocol.md §4): a request is checked whole before anything is written, and a
bad one is a 400 naming the row."""

from __future__ import annotations

import threading
from datetime import datetime

import httpx
import orjson

from tests.integration.test_bad_input import (
    assert_error,
    events,
    log_row,
    new_dataset,
    new_experiment,
    new_project,
)
from tests.integration.test_cli import assert_cli_error, auth, ok, run_cli
from tests.integration.test_versions import (
    dataset_comment_on,
    dataset_row,
    fetch_all,
    make_batch,
)
from tracelake.errors import InvalidRequest
from tracelake.model.xact import format_xact, make_xact_id
from tracelake.store.store import Store

# -- /logs3 rows of an experiment or a dataset that name another project -------------------------


def test_logs3_refuses_a_dataset_or_experiment_row_naming_another_project(app_client):
    """A /logs3 row of a dataset or an experiment that also carried another project's
    ``project_id`` was written to the object as if the key were not there (the insert
    routes refuse it): it is a 400 naming the row, and no row of the request is written.
    The SDK's rows carry no project_id; a row read by fetch carries the object's own, and
    may be written back."""
    project_id = new_project(app_client)
    other_project = new_project(app_client)
    dataset_id = new_dataset(app_client, project_id)
    experiment_id = new_experiment(app_client, project_id)
    logged = log_row(project_id, "log-row", input=1)
    cases = [
        {"dataset_id": dataset_id, "id": "d", "input": 1, "project_id": other_project},
        {"dataset_id": dataset_id, "id": "d", "input": 1, "project_id": 5},
        # a plain span of an experiment (the ingest fast path takes such requests)
        {"experiment_id": experiment_id, "id": "e", "input": 1, "project_id": other_project},
        # a merge (the general path)
        {"experiment_id": experiment_id, "id": "e", "_is_merge": True, "project_id": "nope"},
    ]
    for bad in cases:
        good = {"dataset_id": dataset_id, "id": "first", "input": 0}
        answer = app_client.post("/logs3", json={"rows": [good, logged, bad]})
        error = assert_error(answer, 400, "row 2", "project_id", "does not match")
        assert bad.get("dataset_id", bad.get("experiment_id")) in error["message"], error
        assert events(app_client, "dataset", dataset_id) == [], bad
        assert events(app_client, "experiment", experiment_id) == [], bad
        assert events(app_client, "project_logs", project_id) == [], bad

    # Rows as the SDK sends them (no project_id), and rows naming their object's own
    # project (as fetch answers them), are written.
    rows = [
        {"dataset_id": dataset_id, "id": "sdk", "input": 1, "expected": None, "tags": None},
        {"dataset_id": dataset_id, "id": "own", "input": 2, "project_id": project_id},
        {"experiment_id": experiment_id, "id": "span", "input": 1, "_is_merge": False},
        {"experiment_id": experiment_id, "id": "own", "input": 2, "project_id": project_id},
    ]
    answer = app_client.post("/logs3", json={"rows": rows})
    assert answer.status_code == 200, answer.text
    fetched = events(app_client, "dataset", dataset_id)
    assert {e["id"] for e in fetched} == {"sdk", "own"}
    # A fetched row written back as it is.
    answer = app_client.post("/logs3", json={"rows": [fetched[0]]})
    assert answer.status_code == 200, answer.text
    fetched = events(app_client, "experiment", experiment_id)
    assert {e["id"] for e in fetched} == {"span", "own"}
    answer = app_client.post("/logs3", json={"rows": fetched})
    assert answer.status_code == 200, answer.text


def test_logs3_refuses_a_row_naming_another_organization_or_a_log_id_off_project_logs(
    app_client,
):
    """A /logs3 row that carried another organization's ``org_id``, or a ``log_id`` on a row
    of a dataset or an experiment, was written to its object as if the key were not there
    (the insert routes refuse both): it is a 400 naming the row, and no row of the request
    is written. A row carrying its own organization (as fetch answers rows) is written."""
    project_id = new_project(app_client)
    dataset_id = new_dataset(app_client, project_id)
    experiment_id = new_experiment(app_client, project_id)
    org_id = app_client.get("/ping").json()["org_id"]
    other_org = "00000000-0000-0000-0000-000000000000"
    assert other_org != org_id
    cases = [
        ({"dataset_id": dataset_id, "id": "d", "input": 1, "org_id": other_org}, "org_id"),
        ({"dataset_id": dataset_id, "id": "d", "input": 1, "org_id": 5}, "org_id"),
        # a plain span of an experiment (otherwise the ingest fast path takes it)
        ({"experiment_id": experiment_id, "id": "e", "input": 1, "org_id": other_org}, "org_id"),
        # a merge (the general path)
        ({"experiment_id": experiment_id, "id": "e", "_is_merge": True, "org_id": "x"}, "org_id"),
        # a span of project logs (as the SDK sends them, with an organization added)
        ({**log_row(project_id, "l", input=1), "org_id": other_org}, "org_id"),
        ({"dataset_id": dataset_id, "id": "d", "input": 1, "log_id": "g"}, "log_id"),
        ({"dataset_id": dataset_id, "id": "d", "input": 1, "log_id": "x"}, "log_id"),
        ({"experiment_id": experiment_id, "id": "e", "input": 1, "log_id": "g"}, "log_id"),
        ({"experiment_id": experiment_id, "id": "e", "_is_merge": True, "log_id": "g"}, "log_id"),
    ]
    for bad, key in cases:
        good = {"dataset_id": dataset_id, "id": "first", "input": 0}
        logged = log_row(project_id, "log-row", input=1)
        answer = app_client.post("/logs3", json={"rows": [good, logged, bad]})
        error = assert_error(answer, 400, "row 2", key, "does not match")
        named = bad.get("dataset_id") or bad.get("experiment_id") or bad["project_id"]
        assert named in error["message"], error
        assert events(app_client, "dataset", dataset_id) == [], bad
        assert events(app_client, "experiment", experiment_id) == [], bad
        assert events(app_client, "project_logs", project_id) == [], bad

    # Rows naming their own organization (and project) are written, on both paths.
    rows = [
        {"dataset_id": dataset_id, "id": "own", "input": 2, "org_id": org_id},
        {"experiment_id": experiment_id, "id": "span", "input": 1, "org_id": org_id},
        {"experiment_id": experiment_id, "id": "merge", "_is_merge": True, "org_id": org_id},
        {**log_row(project_id, "l", input=1), "org_id": org_id},
        {"dataset_id": dataset_id, "id": "null-keys", "org_id": None, "log_id": None},
    ]
    answer = app_client.post("/logs3", json={"rows": rows})
    assert answer.status_code == 200, answer.text
    assert {e["id"] for e in events(app_client, "dataset", dataset_id)} == {"own", "null-keys"}
    assert {e["id"] for e in events(app_client, "experiment", experiment_id)} == {"span", "merge"}
    # Fetched rows (each with its org_id and project_id) written back as they are.
    for kind, object_id in (
        ("dataset", dataset_id),
        ("experiment", experiment_id),
        ("project_logs", project_id),
    ):
        fetched = events(app_client, kind, object_id)
        assert fetched and all(e["org_id"] == org_id for e in fetched), fetched
        answer = app_client.post("/logs3", json={"rows": fetched})
        assert answer.status_code == 200, answer.text


# -- an export as of a version from before the object was created ---------------------------------


def _before(created: str) -> str:
    """An _xact_id of the second before ``created``."""
    seconds = int(datetime.fromisoformat(created).timestamp())
    return format_xact(make_xact_id(seconds - 1, 65535))


def test_an_export_as_of_a_version_before_the_object_was_created_is_a_400(app_client):
    """An export of a dataset (an experiment, a project's logs) as of a version from before
    it was created wrote an empty file and answered 200: it is a 400 that says so. Fetch
    still reads such a version as no rows (the SDK pins "0", an empty dataset's version),
    and a version after the creation with no rows yet exports an empty file."""
    project = app_client.post("/v1/project", json={"name": "early-versions"}).json()
    dataset = app_client.post("/v1/dataset", json={"project_id": project["id"], "name": "d"}).json()
    experiment = app_client.post(
        "/v1/experiment", json={"project_id": project["id"], "name": "e"}
    ).json()
    export = f"/v1/dataset/{dataset['id']}/export"
    created = make_xact_id(int(datetime.fromisoformat(dataset["created"]).timestamp()), 0)
    empty = app_client.get(export, params={"version": format_xact(created)})
    assert empty.status_code == 200, empty.text
    assert empty.content == b""
    written = app_client.post(f"/v1/dataset/{dataset['id']}/insert", json={"events": [{"id": "a"}]})
    assert written.status_code == 200, written.text
    for obj, kind in ((dataset, "dataset"), (experiment, "experiment")):
        for version in ("0", _before(obj["created"]), " 0 "):
            for fmt in ("jsonl", "csv"):
                params = {"version": version, "format": fmt}
                answer = app_client.get(f"/v1/{kind}/{obj['id']}/export", params=params)
                assert_error(answer, 400, f"version '{version.strip()}'", f"before the {kind}")
    # A project's logs have no versions: a version of its logs was told to be "from after
    # the project was created", which was a 400 all the same (see
    # test_an_export_of_project_logs_at_a_version_says_logs_have_none).
    fetched = app_client.post(f"/v1/dataset/{dataset['id']}/fetch", json={"version": "0"})
    assert fetched.status_code == 200, fetched.text
    assert fetched.json()["events"] == []
    answer = app_client.get(export, params={"version": "9" * 19})
    assert answer.status_code == 200, answer.text
    assert [orjson.loads(line)["id"] for line in answer.content.splitlines()] == ["a"]


def test_an_export_of_project_logs_at_a_version_says_logs_have_none(app_client):
    """``version`` reads experiments and datasets as of a version; on project logs ``/btql``
    refuses it, but their export said a version from before the project was created "has no
    rows as of then; give a version from after that", and one from after that failed too.
    Every version of a project's logs is one 400 that says logs have none."""
    project = app_client.post("/v1/project", json={"name": "logs-versions"}).json()
    row = {"project_id": project["id"], "log_id": "g", "id": "a"}
    written = app_client.post("/logs3", json={"rows": [row]})
    assert written.status_code == 200, written.text
    after = written.json().get("_xact_id") or "9" * 19
    for version in ("0", _before(project["created"]), after, "golden"):
        answer = app_client.get(
            f"/v1/project_logs/{project['id']}/export", params={"version": version}
        )
        assert_error(answer, 400, "version is supported for experiments and datasets")


def test_the_cli_export_of_a_version_before_the_dataset_was_created_fails(fresh_server, tmp_path):
    """``tracelake export dataset NAME --version <before it existed>`` wrote an empty file and
    exited 0; it is one error line and exit 1, through a server and on a data dir, and an
    existing output file is left as it was."""
    fresh_server.start()
    with httpx.Client(base_url=fresh_server.url, headers=auth(fresh_server.api_key)) as client:
        project = client.post("/v1/project", json={"name": "early"}).json()["id"]
        ds = client.post("/v1/dataset", json={"project_id": project, "name": "golden"}).json()
        client.post(f"/v1/dataset/{ds['id']}/insert", json={"events": [{"id": "a"}]})
    target = tmp_path / "rows.jsonl"
    target.write_text("kept\n")
    remote = ("--url", fresh_server.url, "--api-key", fresh_server.api_key)
    for version in ("0", _before(ds["created"])):
        args = ("export", "dataset", "golden", "-p", "early", "-o", str(target), "--version")
        failed = run_cli(*args, version, *remote)
        assert_cli_error(failed, f"version '{version}'", "before the dataset was created")
        assert target.read_text() == "kept\n"
    fresh_server.stop()
    local = ("--data-dir", str(fresh_server.data_dir))
    failed = run_cli("export", "dataset", ds["id"], "-o", str(target), "--version", "0", *local)
    assert_cli_error(failed, "version '0'", "before the dataset was created")
    assert target.read_text() == "kept\n"
    ok(run_cli("export", "dataset", ds["id"], "-o", str(target), "--version", "9" * 19, *local))
    assert [orjson.loads(line)["id"] for line in target.read_text().splitlines()] == ["a"]


# -- a merge into a comment keeps it a comment with text -------------------------------------------


def _comments(client, object_type: str, object_id: str, row_id: str) -> list[dict]:
    (row,) = [e for e in events(client, object_type, object_id) if e["id"] == row_id]
    return [c["comment"] for c in row["comments"] or []]


def test_a_merge_into_a_comment_cannot_leave_it_without_text(app_client):
    """A comment is ``{"text": string}`` on create, but a merge (``_is_merge``) into a comment
    that does not exist (or is deleted) wrote its body as given, without text, and
    ``_merge_paths: [["comment"]]`` replaced a comment by a body without text: each is a 400
    naming the row, and nothing of the request is written. A merge that keeps the text (or
    brings one) is fine, also into a comment written earlier in the same request."""
    project_id = new_project(app_client)
    dataset_id = new_dataset(app_client, project_id)
    paths = {
        "logs3": ("/logs3", "rows", {"project_id": project_id, "log_id": "g"}, "project_logs"),
        "insert": (f"/v1/dataset/{dataset_id}/insert", "events", {}, "dataset"),
    }
    for url, key, route, object_type in paths.values():
        object_id = dataset_id if object_type == "dataset" else project_id

        def write(*rows, url=url, key=key, route=route):
            return app_client.post(url, json={key: [{**route, **r} for r in rows]})

        def comment(cid, body, **extra):
            return {"id": cid, "origin": {"id": "r"}, "comment": body, **extra}

        assert write({"id": "r", "input": 1}, comment("c1", {"text": "hi"})).status_code == 200
        assert write({"id": "c-gone", "_object_delete": True}).status_code == 200
        bad_merges = [
            (comment("c-new", {"n": 1}, _is_merge=True), "no comment of this id"),
            (comment("c-gone", {"n": 1}, _is_merge=True), "no comment of this id"),
            (
                comment("c1", {"n": 1}, _is_merge=True, _merge_paths=[["comment"]]),
                "leave the comment without one",
            ),
        ]
        for bad, words in bad_merges:
            answer = write({"id": "other", "input": 2}, bad)
            assert_error(answer, 400, f"row 1 (id '{bad['id']}')", "comment.text", words)
            assert _comments(app_client, object_type, object_id, "r") == [{"text": "hi"}]
            assert {e["id"] for e in events(app_client, object_type, object_id)} == {"r"}
        good = [
            comment("c1", {"n": 1}, _is_merge=True),
            comment("c2", {"text": "new"}),
            comment("c2", {"n": 2}, _is_merge=True),
            comment("c3", {"text": "merged into nothing"}, _is_merge=True),
        ]
        assert write(*good).status_code == 200
        assert sorted(
            _comments(app_client, object_type, object_id, "r"), key=lambda c: c["text"]
        ) == [{"text": "hi", "n": 1}, {"text": "merged into nothing"}, {"text": "new", "n": 2}]


def test_feedback_for_an_id_that_names_no_row_writes_the_feedback(app_client):
    """As documented (docs/api.md): feedback for an id with no row is no error; its merge
    writes a row holding only the feedback, beside the feedback on rows that exist, in one
    request."""
    project_id = new_project(app_client)
    dataset_id = new_dataset(app_client, project_id)
    inserted = app_client.post(
        f"/v1/dataset/{dataset_id}/insert", json={"events": [{"id": "a", "input": 1}]}
    )
    assert inserted.status_code == 200, inserted.text
    items = [{"id": "a", "tags": ["good"]}, {"id": "missing", "tags": ["bad"]}]
    answer = app_client.post(f"/v1/dataset/{dataset_id}/feedback", json={"feedback": items})
    assert answer.status_code == 200, answer.text
    rows = {e["id"]: e for e in events(app_client, "dataset", dataset_id)}
    assert (rows["a"]["input"], rows["a"]["tags"]) == (1, ["good"])
    assert (rows["missing"]["input"], rows["missing"]["tags"]) == (None, ["bad"])


def test_a_merge_leaving_a_comment_without_text_fails_alone_in_a_group_commit(tmp_path):
    """Requests the writer commits in one group: a merge without text into a comment is
    checked against the comments of the requests before it in the group (one that wrote the
    comment makes it fine, one that deleted it makes it a 400: a merge does not bring a
    deleted comment back), and a refused request
    leaves the others of its group written."""
    comment = dataset_comment_on("r", "a", "c1")
    merge = ("dataset", {**comment[1], "_is_merge": True, "comment": {"more": 1}})
    delete = dataset_row(id="c1", _object_delete=True)
    requests = [[comment], [merge], [delete], [merge], [comment], [merge]]
    store = Store(tmp_path / "data")
    try:
        store.write(make_batch([dataset_row(id="r", input=1)]))
        inside, release = threading.Event(), threading.Event()
        holder = threading.Thread(
            target=store.exclusive, args=(lambda _c: inside.set() or release.wait(10),)
        )
        holder.start()
        assert inside.wait(10)
        futures = [store.submit(make_batch(request)) for request in requests]
        release.set()
        holder.join()
        refused = futures[3].exception(timeout=30)
        assert isinstance(refused, InvalidRequest), refused
        # (the comment was deleted by the request before it: an edit does not bring it back)
        assert "this comment was deleted" in refused.message
        for i, future in enumerate(futures):
            if i != 3:
                assert future.result(timeout=30), i
        (row,) = fetch_all(store, "dataset")
        assert [(c["id"], c["comment"]) for c in row["comments"]] == [
            ("c1", {"text": "a", "more": 1})
        ]
    finally:
        store.close()
