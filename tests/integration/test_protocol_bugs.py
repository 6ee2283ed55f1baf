"""REST protocol and write semantics found wrong by a black-box bug hunt: each test states the
behaviour a client relies on (braintrust-protocol.md, docs/write-semantics.md)."""

from __future__ import annotations

import uuid

import braintrust_api
import orjson
import pytest

from tests.integration.test_bad_input import (
    assert_error,
    events,
    new_dataset,
    new_experiment,
    new_project,
)
from tests.integration.test_versions import (
    apply_requests,
    dataset_comment_on,
    dataset_row,
    fetch_all,
    make_batch,
)
from tracelake.store.store import Store


def logs3(client, rows: list[dict]) -> str:
    response = client.post("/logs3", json={"rows": rows, "api_version": 2})
    assert response.status_code == 200, response.text
    return response.json()["_xact_id"]


def comments_on(client, dataset_id: str, row_id: str, **params) -> list[tuple[str, str]]:
    """(id, text) of the comments on one row, in the order the fetch lists them."""
    response = client.post(f"/v1/dataset/{dataset_id}/fetch", json=params)
    assert response.status_code == 200, response.text
    (row,) = [r for r in response.json()["events"] if r["id"] == row_id]
    return [(c["id"], c["comment"]["text"]) for c in row["comments"] or []]


# -- 1. comments are keyed by their id --------------------------------------------------------


@pytest.fixture
def commented(app_client) -> tuple[str, dict]:
    """A dataset with a row 'r', and a comment row c1 on it (not yet sent)."""
    dataset_id = new_dataset(app_client, new_project(app_client))
    logs3(app_client, [{"dataset_id": dataset_id, "id": "r", "input": 0}])
    comment = {"dataset_id": dataset_id, "id": "c1", "origin": {"id": "r"}}
    return dataset_id, comment


def test_a_comment_written_again_replaces_itself(app_client, commented):
    dataset_id, comment = commented
    row = {**comment, "comment": {"text": "hi"}}
    logs3(app_client, [row])
    logs3(app_client, [row])  # a retry after a lost response
    assert comments_on(app_client, dataset_id, "r") == [("c1", "hi")]
    logs3(app_client, [{**comment, "comment": {"text": "again"}}])
    assert comments_on(app_client, dataset_id, "r") == [("c1", "again")]


def test_a_comment_merge_merges_into_the_comment_of_its_id(app_client, commented):
    dataset_id, comment = commented
    logs3(app_client, [{**comment, "comment": {"text": "hi", "mood": "ok"}}])
    logs3(app_client, [{**comment, "_is_merge": True, "comment": {"text": "edited"}}])
    response = app_client.post(f"/v1/dataset/{dataset_id}/fetch", json={})
    (row,) = response.json()["events"]
    (only,) = row["comments"]
    assert only["id"] == "c1"
    assert only["comment"] == {"text": "edited", "mood": "ok"}


def test_two_writes_of_a_comment_in_one_request_make_one_comment(app_client, commented):
    dataset_id, comment = commented
    logs3(
        app_client,
        [
            {**comment, "comment": {"text": "hi"}},
            {**comment, "comment": {"text": "hi"}},
            {**comment, "_is_merge": True, "comment": {"text": "edited"}},
        ],
    )
    assert comments_on(app_client, dataset_id, "r") == [("c1", "edited")]


def test_a_read_pinned_before_a_comment_edit_sees_the_old_comment(app_client, commented):
    dataset_id, comment = commented
    first = logs3(app_client, [{**comment, "comment": {"text": "hi"}}])
    edit = logs3(app_client, [{**comment, "_is_merge": True, "comment": {"text": "edited"}}])
    deleted = logs3(app_client, [{"dataset_id": dataset_id, "id": "c1", "_object_delete": True}])
    assert comments_on(app_client, dataset_id, "r", version=first) == [("c1", "hi")]
    assert comments_on(app_client, dataset_id, "r", version=edit) == [("c1", "edited")]
    assert comments_on(app_client, dataset_id, "r", version=deleted) == []
    assert comments_on(app_client, dataset_id, "r") == []
    # Written again (a replace) after its delete, the comment is back, as that write gives it.
    logs3(app_client, [{**comment, "comment": {"text": "back"}}])
    assert comments_on(app_client, dataset_id, "r") == [("c1", "back")]


def test_a_comment_deleted_and_written_in_one_request_is_the_last_write(app_client, commented):
    dataset_id, comment = commented
    logs3(app_client, [{**comment, "comment": {"text": "hi"}}])
    delete = {"dataset_id": dataset_id, "id": "c1", "_object_delete": True}
    logs3(app_client, [delete, {**comment, "comment": {"text": "new"}}])
    assert comments_on(app_client, dataset_id, "r") == [("c1", "new")]
    logs3(app_client, [{**comment, "comment": {"text": "x"}}, delete])
    assert comments_on(app_client, dataset_id, "r") == []


DELETED = "this comment was deleted, and a merge (an edit) does not bring it back"


@pytest.mark.parametrize("route", ["logs3", "insert"])
def test_an_edit_of_a_deleted_comment_does_not_bring_it_back(app_client, commented, route):
    """One user deletes a comment while another edits it (the web UI's edit is a merge of
    ``comment`` through the insert route): the edit is a 400 naming the row, and nothing of
    its request is written, not even the request's other rows."""
    dataset_id, comment = commented
    logs3(app_client, [{**comment, "comment": {"text": "hi"}}])
    logs3(app_client, [{"dataset_id": dataset_id, "id": "c1", "_object_delete": True}])
    edit = {"id": "c1", "origin": {"id": "r"}, "comment": {"text": "edited"}, "_is_merge": True}
    other = {"id": "r", "input": 5}
    if route == "logs3":
        rows = [{**other, "dataset_id": dataset_id}, {**edit, "dataset_id": dataset_id}]
        response = app_client.post("/logs3", json={"rows": rows, "api_version": 2})
        where = "row 1"
    else:
        body = {"events": [other, edit]}
        response = app_client.post(f"/v1/dataset/{dataset_id}/insert", json=body)
        where = "row 1"  # (the insert routes name an event by its position too)
    error = assert_error(response, 400, where, "'c1'", DELETED)
    assert "without _is_merge" in error["message"]
    assert comments_on(app_client, dataset_id, "r") == []
    (row,) = events(app_client, "dataset", dataset_id)
    assert row["input"] == 0
    # A merge into a comment that never existed still writes it as given; so does a merge
    # after the request's own replace brings the deleted comment back.
    logs3(app_client, [{**comment, "id": "c2", "_is_merge": True, "comment": {"text": "new"}}])
    revive = [{**comment, "comment": {"text": "a"}}]
    logs3(app_client, [*revive, {**comment, "_is_merge": True, "comment": {"more": 1}}])
    assert sorted(comments_on(app_client, dataset_id, "r")) == [("c1", "a"), ("c2", "new")]


def test_a_merge_after_a_delete_of_the_comment_in_one_request_is_refused(app_client, commented):
    dataset_id, comment = commented
    logs3(app_client, [{**comment, "comment": {"text": "hi"}}])
    delete = {"dataset_id": dataset_id, "id": "c1", "_object_delete": True}
    merge = {**comment, "_is_merge": True, "comment": {"text": "edited"}}
    response = app_client.post("/logs3", json={"rows": [delete, merge], "api_version": 2})
    assert_error(response, 400, "row 1", DELETED)
    assert comments_on(app_client, dataset_id, "r") == [("c1", "hi")]


def test_other_comments_on_the_row_stay(app_client, commented):
    dataset_id, comment = commented
    other = {**comment, "id": "c2", "comment": {"text": "second"}}
    logs3(app_client, [{**comment, "comment": {"text": "hi"}}, other])
    logs3(app_client, [{**comment, "comment": {"text": "edited"}}])
    assert sorted(comments_on(app_client, dataset_id, "r")) == [
        ("c1", "edited"),
        ("c2", "second"),
    ]


def test_comment_writes_committed_in_one_group_keep_each_version(tmp_path):
    """Requests the writer commits together (one transaction, an xact each) still make one
    version of the comment per request."""
    comment = dataset_comment_on("r", "a", "c1")
    merge = ("dataset", {**comment[1], "_is_merge": True, "comment": {"more": 1}})
    revive = ("dataset", {**comment[1], "comment": {"text": "b", "more": 2}})
    delete = dataset_row(id="c1", _object_delete=True)
    requests = [[comment], [merge], [delete], [delete], [revive], [comment]]
    # Independently: the comment c1 as each request leaves it.
    expected = [
        [{"text": "a"}],
        [{"text": "a", "more": 1}],
        [],
        [],
        [{"text": "b", "more": 2}],  # a replace of a deleted comment writes it as given
        [{"text": "a"}],
    ]
    store = Store(tmp_path / "data")
    try:
        store.write(make_batch([dataset_row(id="r", input=1)]))
        xacts = apply_requests(store, requests, pipelined="held")
        for xact, want in zip(xacts, expected, strict=True):
            (row,) = fetch_all(store, "dataset", version=xact)
            got = [(c["id"], c["comment"]) for c in row["comments"] or []]
            assert got == [("c1", body) for body in want], xact
    finally:
        store.close()


# -- 2. JSON nested too deeply is a 400 naming the row and field --------------------------------

DEPTH_LIMIT = 200  # docs/write-semantics.md


def nested(depth: int) -> str:
    """JSON text of a value nesting ``depth`` levels: objects outside, arrays inside."""
    objects, arrays = depth // 2, depth - depth // 2
    return '{"a":' * objects + "[" * arrays + "1" + "]" * arrays + "}" * objects


def post_json(client, path: str, text: str, method: str = "POST"):
    return client.request(method, path, content=text.encode())


@pytest.mark.parametrize("depth", [DEPTH_LIMIT + 1, 300, 1000])
def test_a_row_nested_too_deeply_is_refused_whole(app_client, depth):
    dataset_id = new_dataset(app_client, new_project(app_client))
    rows = (
        f'[{{"dataset_id":"{dataset_id}","id":"fine","input":1}},'
        f'{{"dataset_id":"{dataset_id}","id":"deep","expected":{nested(depth)}}}]'
    )
    response = post_json(app_client, "/logs3", f'{{"rows":{rows}}}')
    assert_error(response, 400, "row 1", "deep", "expected", "nests deeper than 200")
    response = post_json(app_client, f"/v1/dataset/{dataset_id}/insert", f'{{"events":{rows}}}')
    assert_error(response, 400, "row 1", "expected", "200")
    assert events(app_client, "dataset", dataset_id) == []


def test_a_row_nested_to_the_limit_is_stored_and_read_back(app_client):
    dataset_id = new_dataset(app_client, new_project(app_client))
    value = nested(DEPTH_LIMIT)
    row = f'{{"dataset_id":"{dataset_id}","id":"r","input":{value},"metadata":{{"k":1}}}}'
    response = post_json(app_client, "/logs3", f'{{"rows":[{row}]}}')
    assert response.status_code == 200, response.text
    (stored,) = events(app_client, "dataset", dataset_id)
    assert stored["input"] == orjson.loads(value)


def test_a_merge_or_feedback_nested_too_deeply_is_refused(app_client):
    dataset_id = new_dataset(app_client, new_project(app_client))
    logs3(app_client, [{"dataset_id": dataset_id, "id": "r", "input": 1}])
    merge = f'{{"dataset_id":"{dataset_id}","id":"r","_is_merge":true,"metadata":{nested(300)}}}'
    response = post_json(app_client, "/logs3", f'{{"rows":[{merge}]}}')
    assert_error(response, 400, "row 0", "metadata", "200")
    feedback = f'{{"feedback":[{{"id":"r","expected":{nested(260)}}}]}}'
    response = post_json(app_client, f"/v1/dataset/{dataset_id}/feedback", feedback)
    assert_error(response, 400, "expected", "200")
    comment = (
        f'{{"dataset_id":"{dataset_id}","id":"c","origin":{{"id":"r"}},"comment":{nested(300)}}}'
    )
    response = post_json(app_client, "/logs3", f'{{"rows":[{comment}]}}')
    assert_error(response, 400, "row 0", "comment", "200")
    (stored,) = events(app_client, "dataset", dataset_id)
    assert (stored["input"], stored["metadata"], stored["expected"]) == (1, None, None)
    assert stored["comments"] in (None, [])


def test_object_metadata_nested_too_deeply_is_refused(app_client):
    project_id = new_project(app_client)
    dataset_id = new_dataset(app_client, project_id)
    deep = nested(300)
    for method, path, body in [
        ("PATCH", f"/v1/dataset/{dataset_id}", f'{{"metadata":{deep}}}'),
        ("PATCH", f"/v1/project/{project_id}", f'{{"settings":{deep}}}'),
        ("POST", "/v1/dataset", f'{{"project_id":"{project_id}","name":"d2","metadata":{deep}}}'),
        ("POST", "/v1/experiment", f'{{"project_id":"{project_id}","name":"e","metadata":{deep}}}'),
    ]:
        field = "settings" if "settings" in body else "metadata"
        assert_error(post_json(app_client, path, body, method), 400, field, "200")
    assert app_client.get(f"/v1/dataset/{dataset_id}").json()["metadata"] is None
    names = {d["name"] for d in app_client.get("/v1/dataset").json()["objects"]}
    assert "d2" not in names
    assert app_client.get("/v1/experiment").json()["objects"] == []


# -- 3. _merge_paths [["tags"]] with [] clears the tags -----------------------------------------


def test_merge_paths_tags_with_an_empty_list_clears_the_tags(app_client):
    dataset_id = new_dataset(app_client, new_project(app_client))
    logs3(app_client, [{"dataset_id": dataset_id, "id": "t", "tags": ["a", "b"]}])
    merge = {"dataset_id": dataset_id, "id": "t", "_is_merge": True, "tags": []}
    logs3(app_client, [{**merge, "_merge_paths": [["tags"]]}])
    (row,) = events(app_client, "dataset", dataset_id)
    assert row["tags"] == []


# -- 4. /v1/insert writes each event to the object it is listed under ---------------------------


def test_cross_object_insert_refuses_an_event_naming_another_object(app_client):
    project_id = new_project(app_client)
    experiment_id = new_experiment(app_client, project_id)
    dataset_id = new_dataset(app_client, project_id)
    for stray in ({"experiment_id": experiment_id}, {"dataset_id": dataset_id}):
        body = {
            "dataset": {dataset_id: {"events": [{"id": "D1", "input": 1}]}},
            "project_logs": {project_id: {"events": [{"id": "L1", "input": 2, **stray}]}},
        }
        response = app_client.post("/v1/insert", json=body)
        assert_error(response, 400, next(iter(stray)), "does not match the object")
    assert events(app_client, "experiment", experiment_id) == []
    assert events(app_client, "dataset", dataset_id) == []
    assert events(app_client, "project_logs", project_id) == []
    # Its own routing keys, and a dataset event's project_id, are fine.
    body = {
        "dataset": {dataset_id: {"events": [{"id": "D1", "project_id": project_id}]}},
        "project_logs": {project_id: {"events": [{"id": "L1", "project_id": project_id}]}},
    }
    response = app_client.post("/v1/insert", json=body)
    assert response.status_code == 200, response.text
    assert [r["id"] for r in events(app_client, "dataset", dataset_id)] == ["D1"]
    assert [r["id"] for r in events(app_client, "project_logs", project_id)] == ["L1"]


# -- 5. the deprecated cursor (max_xact_id, max_root_span_id) pages on --------------------------


@pytest.fixture
def api(server) -> braintrust_api.Braintrust:
    client = braintrust_api.Braintrust(base_url=server.url, api_key=server.api_key, max_retries=0)
    yield client
    client.close()


def legacy_pages(fetch, limit: int) -> list[list[dict]]:
    """Page as the OAS tells a client to: the next cursor is the smallest
    (_xact_id, root_span_id) of the page's rows; stop at an empty page."""
    pages: list[list[dict]] = []
    bound: dict = {}
    for _ in range(20):
        rows = [e.to_dict() for e in fetch(limit=limit, **bound).events]
        if not rows:
            return pages
        pages.append(rows)
        low = min(rows, key=lambda r: (int(r["_xact_id"]), r["root_span_id"]))
        bound = {"max_xact_id": low["_xact_id"], "max_root_span_id": low["root_span_id"]}
    raise AssertionError(f"paging never ended: {[[r['id'] for r in p] for p in pages]}")


def test_legacy_cursor_pages_through_every_trace_once(api):
    project = api.projects.create(name=f"legacy-{uuid.uuid4().hex[:10]}")
    # Five traces of two spans each, written one request at a time; then trace t1 gets a new
    # span, so its spans span old and new transactions.
    for t in range(5):
        spans = [
            {"id": f"t{t}", "span_id": f"t{t}", "root_span_id": f"t{t}", "input": t},
            {
                "id": f"t{t}-c",
                "span_id": f"t{t}-c",
                "root_span_id": f"t{t}",
                "span_parents": [f"t{t}"],
            },
        ]
        api.projects.logs.insert(project.id, events=spans)
    child = {"id": "t1-d", "span_id": "t1-d", "root_span_id": "t1", "span_parents": ["t1"]}
    api.projects.logs.insert(project.id, events=[child])

    def fetch(**kwargs):
        return api.projects.logs.fetch_post(project.id, **kwargs)

    everything = {r["id"]: r for r in [e.to_dict() for e in fetch(limit=100).events]}
    assert len(everything) == 11
    for limit in (1, 2, 3):
        pages = legacy_pages(fetch, limit)
        per_page = [{r["root_span_id"] for r in page} for page in pages]
        assert all(len(roots) <= limit for roots in per_page), per_page
        assert set().union(*per_page) == {f"t{t}" for t in range(5)}, (limit, per_page)
        # A trace may come again on a later page (as the OAS says), as the same rows.
        for page in pages:
            for row in page:
                assert row == everything[row["id"]]
        assert {r["id"] for page in pages for r in page} == set(everything)

    # The GET form takes the same cursor.
    first = api.projects.logs.fetch(project.id, limit=2).events
    low = min(first, key=lambda e: (int(e.xact_id), e.root_span_id))
    second = api.projects.logs.fetch(
        project.id, limit=2, max_xact_id=low.xact_id, max_root_span_id=low.root_span_id
    ).events
    assert second and low.root_span_id not in {e.root_span_id for e in second}


def test_legacy_cursor_pages_a_pinned_dataset_and_refuses_half_a_cursor(app_client):
    dataset_id = new_dataset(app_client, new_project(app_client))
    logs3(app_client, [{"dataset_id": dataset_id, "id": f"p{i}"} for i in range(5)])
    version = logs3(app_client, [{"dataset_id": dataset_id, "id": "late"}])
    logs3(app_client, [{"dataset_id": dataset_id, "id": "after-the-version"}])
    path = f"/v1/dataset/{dataset_id}/fetch"

    def fetch(**params):
        response = app_client.post(path, json={"version": version, **params})
        assert response.status_code == 200, response.text
        return type("Page", (), {"events": [Row(r) for r in response.json()["events"]]})

    pages = legacy_pages(fetch, 2)
    assert {r["id"] for page in pages for r in page} == {f"p{i}" for i in range(5)} | {"late"}
    response = app_client.post(path, json={"max_root_span_id": "p1"})
    assert_error(response, 400, "max_root_span_id", "max_xact_id")
    response = app_client.post(path, json={"max_root_span_id": "p1", "max_xact_id": "x1"})
    assert_error(response, 400, "max_xact_id")


class Row(dict):
    def to_dict(self) -> dict:
        return dict(self)


# -- 6. a read-only key opens existing objects through create-or-get ----------------------------


def test_sdk_with_a_read_only_key_opens_an_existing_dataset(server, monkeypatch):
    import braintrust

    with server.client() as admin:
        project_name = f"ro-{uuid.uuid4().hex[:10]}"
        project_id = new_project(admin, project_name)
        dataset = admin.post("/v1/dataset", json={"project_id": project_id, "name": "golden"})
        dataset_id = dataset.json()["id"]
        logs3(admin, [{"dataset_id": dataset_id, "id": "r1", "input": 1, "expected": 2}])
        reader = admin.post("/v1/api_key", json={"name": "sdk-reader", "role": "read"})
    monkeypatch.setenv("BRAINTRUST_APP_URL", server.url)
    monkeypatch.setenv("BRAINTRUST_API_KEY", reader.json()["key"])
    monkeypatch.delenv("BRAINTRUST_API_URL", raising=False)
    monkeypatch.delenv("BRAINTRUST_ORG_NAME", raising=False)
    braintrust.logger._state = braintrust.logger.BraintrustState()  # noqa: SLF001
    rows = list(braintrust.init_dataset(project=project_name, name="golden"))
    assert [(r["id"], r["input"], r["expected"]) for r in rows] == [("r1", 1, 2)]


def test_create_or_get_with_a_read_only_key_gets_but_never_creates(app_client):
    project_name = f"ro-{uuid.uuid4().hex[:10]}"
    project_id = new_project(app_client, project_name)
    dataset = app_client.post("/v1/dataset", json={"project_id": project_id, "name": "d"}).json()
    experiment = app_client.post(
        "/v1/experiment", json={"project_id": project_id, "name": "e"}
    ).json()
    key = app_client.post("/v1/api_key", json={"name": "reader", "role": "read"}).json()["key"]
    headers = {"Authorization": f"Bearer {key}"}

    def post(path: str, body: dict):
        return app_client.post(path, json=body, headers=headers)

    gets = [
        ("/v1/project", {"name": project_name}, project_id),
        ("/v1/dataset", {"project_id": project_id, "name": "d"}, dataset["id"]),
        ("/v1/experiment", {"project_id": project_id, "name": "e"}, experiment["id"]),
    ]
    for path, body, object_id in gets:
        response = post(path, body)
        assert response.status_code == 200, (path, response.text)
        assert response.json()["id"] == object_id
    response = post("/api/project/register", {"project_name": project_name})
    assert response.status_code == 200 and response.json()["project"]["id"] == project_id
    response = post("/api/dataset/register", {"project_name": project_name, "dataset_name": "d"})
    assert response.status_code == 200 and response.json()["dataset"]["id"] == dataset["id"]

    creates = [
        ("/v1/project", {"name": project_name + "-new"}),
        ("/v1/dataset", {"project_id": project_id, "name": "new"}),
        ("/v1/experiment", {"project_id": project_id, "name": "new"}),
        ("/v1/experiment", {"project_id": project_id, "name": "e", "ensure_new": True}),
        ("/api/project/register", {"project_name": project_name + "-new"}),
        ("/api/dataset/register", {"project_name": project_name, "dataset_name": "new"}),
    ]
    for path, body in creates:
        assert_error(post(path, body), 403, "read-only")
    listed = {o["name"] for o in app_client.get("/v1/project").json()["objects"]}
    assert project_name + "-new" not in listed
    assert [d["name"] for d in app_client.get("/v1/dataset").json()["objects"]] == ["d"]
    assert [e["name"] for e in app_client.get("/v1/experiment").json()["objects"]] == ["e"]


# -- 7. experiment comparison matches equal inputs whatever their key order ---------------------


def test_comparison_matches_inputs_that_differ_only_in_key_order(app_client):
    project_id = new_project(app_client)
    base, new = (new_experiment(app_client, project_id) for _ in range(2))
    # Raw bodies: the key order of each input is exactly as written here.
    for experiment_id, first, second, score in [
        (base, '{"a":1,"b":{"x":1,"y":2}}', '{"q":[{"m":1,"n":2}]}', "0.0"),
        (new, '{"b":{"y":2,"x":1},"a":1}', '{"q":[{"n":2,"m":1}]}', "1.0"),
    ]:
        rows = ",".join(
            f'{{"experiment_id":"{experiment_id}","id":"{i}","input":{text},'
            f'"scores":{{"s":{score}}}}}'
            for i, text in enumerate((first, second))
        )
        response = app_client.post("/logs3", content=f'{{"rows":[{rows}]}}'.encode())
        assert response.status_code == 200, response.text
    response = app_client.get(
        f"/v1/experiment/{new}/summarize",
        params={"summarize_scores": "true", "comparison_experiment_id": base},
    )
    assert response.status_code == 200, response.text
    score = response.json()["scores"]["s"]
    assert (score["score"], score["improvements"], score["regressions"]) == (1.0, 2, 0)
    assert score["diff"] == 1.0


# -- a cursor keeps its order while the object is written -------------------------------------


def _page(client, path: str, cursor: str | None, limit: int) -> tuple[list[dict], str | None]:
    body = {"limit": limit} | ({"cursor": cursor} if cursor else {})
    response = client.post(path, json=body)
    assert response.status_code == 200, response.text
    return response.json()["events"], response.json()["cursor"]


def test_a_row_written_while_a_client_pages_is_neither_skipped_nor_repeated(app_client):
    dataset_id = new_dataset(app_client, new_project(app_client))
    path = f"/v1/dataset/{dataset_id}/fetch"
    logs3(app_client, [{"dataset_id": dataset_id, "id": f"r{i}", "input": i} for i in range(6)])
    seen, cursor = _page(app_client, path, None, 2)
    assert [r["id"] for r in seen] == ["r5", "r4"]
    # The oldest row (not read yet) and a row already read are updated, a new row arrives.
    logs3(app_client, [{"dataset_id": dataset_id, "id": "r0", "_is_merge": True, "input": "new"}])
    logs3(app_client, [{"dataset_id": dataset_id, "id": "r5", "_is_merge": True, "input": "x"}])
    logs3(app_client, [{"dataset_id": dataset_id, "id": "late", "input": 9}])
    while cursor:
        events, cursor = _page(app_client, path, cursor, 2)
        assert events or cursor is None
        seen += events
    assert [r["id"] for r in seen] == ["r5", "r4", "r3", "r2", "r1", "r0"]
    assert seen[-1]["input"] == "new"  # the row as it is now


def test_a_trace_that_gains_a_span_while_a_client_pages_comes_once_whole(app_client):
    project_id = new_project(app_client)
    path = f"/v1/project_logs/{project_id}/fetch"
    for t in range(4):
        span = {"project_id": project_id, "log_id": "g", "id": f"t{t}", "root_span_id": f"t{t}"}
        logs3(app_client, [span | {"span_id": f"t{t}"}])
    seen, cursor = _page(app_client, path, None, 1)
    child = {"project_id": project_id, "log_id": "g", "id": "t0-c", "root_span_id": "t0"}
    logs3(app_client, [child | {"span_id": "t0-c", "span_parents": ["t0"]}])
    while cursor:
        events, cursor = _page(app_client, path, cursor, 1)
        seen += events
    assert [r["id"] for r in seen] == ["t3", "t2", "t1", "t0", "t0-c"]


def test_a_deleted_experiments_name_is_free_again(app_client):
    project_id = new_project(app_client)
    body = {"project_id": project_id, "name": "run"}
    first = app_client.post("/v1/experiment", json=body).json()
    assert app_client.delete(f"/v1/experiment/{first['id']}").status_code == 200
    for ensure_new in (False, True):
        again = app_client.post("/v1/experiment", json=body | {"ensure_new": ensure_new}).json()
        assert again["id"] != first["id"]
        assert again["name"] == "run"
        assert app_client.delete(f"/v1/experiment/{again['id']}").status_code == 200


@pytest.mark.parametrize("path", ["/v1/project", "/v1/dataset", "/v1/experiment", "/v1/view"])
def test_a_list_limit_past_int64_is_no_limit(app_client, path):
    project_id = new_project(app_client)
    response = app_client.get(path, params={"limit": str(10**20)})
    assert response.status_code == 200, response.text
    if path == "/v1/project":
        assert project_id in {o["id"] for o in response.json()["objects"]}


def test_legacy_register_refuses_a_base_experiment_that_is_not_a_name(app_client):
    project_id = new_project(app_client)
    for base in (5, {"x": 1}, ["e"]):
        body = {"project_id": project_id, "experiment_name": "e", "base_experiment": base}
        assert_error(app_client.post("/api/experiment/register", json=body), 400, "base_experiment")


def test_legacy_register_keeps_the_base_the_js_sdk_names(app_client):
    """The JS SDK (``init({baseExperimentId})``) sends ``base_exp_id``; it was dropped, and
    the experiment compared with the previous one instead."""
    project_id = new_project(app_client)
    base = new_experiment(app_client, project_id)
    new_experiment(app_client, project_id)  # the previous one, not the base
    body = {"project_id": project_id, "experiment_name": "js", "base_exp_id": base}
    response = app_client.post("/api/experiment/register", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["experiment"]["base_exp_id"] == base


def test_legacy_register_of_a_missing_base_experiment_is_an_error_the_sdks_handle(app_client):
    """The SDKs catch a register error that names the "base experiment", warn "Base experiment
    … not found." and register again without it; the name was ignored without a word."""
    project_id = new_project(app_client)
    body = {"project_id": project_id, "experiment_name": "e", "base_experiment": "nope"}
    response = app_client.post("/api/experiment/register", json=body)
    assert_error(response, 400, "base experiment")
    assert app_client.get("/v1/experiment", params={"project_id": project_id}).json() == {
        "objects": []
    }
    del body["base_experiment"]
    assert app_client.post("/api/experiment/register", json=body).status_code == 200


def test_patching_an_experiment_public_to_null_is_a_400(app_client):
    experiment_id = new_experiment(app_client, new_project(app_client))
    response = app_client.patch(f"/v1/experiment/{experiment_id}", json={"public": None})
    assert_error(response, 400, "public")
    assert app_client.get(f"/v1/experiment/{experiment_id}").json()["public"] is False


@pytest.mark.parametrize("method", ["post", "get"])
def test_max_xact_id_alone_is_a_transaction_id_not_a_snapshot_name(app_client, method):
    dataset_id = new_dataset(app_client, new_project(app_client))
    logs3(app_client, [{"dataset_id": dataset_id, "id": "r"}])
    path = f"/v1/dataset/{dataset_id}/fetch"
    params = {"max_xact_id": "nightly"}
    if method == "post":
        response = app_client.post(path, json=params)
    else:
        response = app_client.get(path, params=params)
    assert_error(response, 400, "max_xact_id")
