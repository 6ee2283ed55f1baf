"""HTTP API and write path behaviour found wrong by a third bug hunt, against a real server on
127.0.0.1: each test states what a client of the official SDK or REST client relies on
(braintrust-protocol.md, docs/write-semantics.md, docs/api.md)."""

from __future__ import annotations

import pytest

from tests.integration.test_bad_input import assert_error, events, log_row, new_project


@pytest.fixture
def client(server):
    with server.client() as client:
        yield client


def places(client, project_id) -> dict[str, tuple]:
    """Where each row of a project's logs sits: (root_span_id, span_parents, is_root)."""
    return {
        e["id"]: (e["root_span_id"], e["span_parents"], e["is_root"])
        for e in events(client, "project_logs", project_id)
    }


# -- _parent_id cannot make a row the child of its own descendant -----------------------------

CHAIN = {"a": ("a", None, True), "b": ("a", ["a"], False), "c": ("a", ["b"], False)}


def test_a_parent_id_cycle_in_the_middle_of_a_chain_is_a_400_and_changes_nothing(client):
    project_id = new_project(client)
    for row_id, parent in [("a", None), ("b", "a"), ("c", "b")]:
        row = log_row(project_id, row_id, **({"_parent_id": parent} if parent else {}))
        response = client.post("/logs3", json={"rows": [row]})
        assert response.status_code == 200, response.text
    assert places(client, project_id) == CHAIN

    cycle = log_row(project_id, "b", _parent_id="c")
    response = client.post("/logs3", json={"rows": [log_row(project_id, "d"), cycle]})
    assert_error(response, 400, "(id 'b')", "_parent_id 'c'", "descendant")
    assert places(client, project_id) == CHAIN  # and d was not written


def test_a_parent_id_cycle_in_the_middle_of_a_chain_inside_one_request_writes_nothing(client):
    project_id = new_project(client)
    rows = [
        log_row(project_id, "a"),
        log_row(project_id, "b", _parent_id="a"),
        log_row(project_id, "c", _parent_id="b"),
        log_row(project_id, "b", _parent_id="c"),
    ]
    assert_error(client.post("/logs3", json={"rows": rows}), 400, "(id 'b')", "_parent_id 'c'")
    assert events(client, "project_logs", project_id) == []


def stored_chain(client) -> tuple[str, str]:
    """A new project whose logs hold the chain a <- b <- c, written through the insert
    route: (project id, the insert route)."""
    project_id = new_project(client)
    insert = f"/v1/project_logs/{project_id}/insert"
    stored = [{"id": "a"}, {"id": "b", "_parent_id": "a"}, {"id": "c", "_parent_id": "b"}]
    assert client.post(insert, json={"events": stored}).status_code == 200
    return project_id, insert


def test_a_cycle_through_stored_and_new_rows_is_refused_on_the_insert_route(client):
    # c is stored below b; the request puts a new row x below c, then b below x.
    project_id, insert = stored_chain(client)
    cycle = [{"id": "x", "_parent_id": "c"}, {"id": "b", "_parent_id": "x"}]
    assert_error(client.post(insert, json={"events": cycle}), 400, "(id 'b')", "_parent_id 'x'")
    assert places(client, project_id) == CHAIN


def test_a_row_may_move_under_a_row_that_a_request_first_moved_out_of_its_subtree(client):
    # c leaves b's subtree (it becomes a child of a), so b may then become c's child.
    project_id, insert = stored_chain(client)
    moves = [{"id": "c", "_parent_id": "a"}, {"id": "b", "_parent_id": "c"}]
    assert client.post(insert, json={"events": moves}).status_code == 200
    assert places(client, project_id) == {
        "a": ("a", None, True),
        "b": ("a", ["c"], False),
        "c": ("a", ["a"], False),
    }


# -- names an experiment is given stay within the name limit -----------------------------------


def test_ensure_new_names_for_a_name_of_the_maximum_length_stay_within_the_limit(client):
    project_id = new_project(client)
    name = "n" * 1024
    names = []
    for _ in range(3):
        body = {"project_id": project_id, "name": name, "ensure_new": True}
        response = client.post("/v1/experiment", json=body)
        assert response.status_code == 200, response.text
        names.append(response.json()["name"])
    assert names == [name, "n" * 1022 + "-1", "n" * 1022 + "-2"]
    # The generated name is a valid name: the experiment can be renamed to it and back.
    listed = client.get("/v1/experiment", params={"project_id": project_id}).json()["objects"]
    assert sorted(len(e["name"]) for e in listed) == [1024, 1024, 1024]
    experiment_id = next(e["id"] for e in listed if e["name"] == names[2])
    response = client.patch(f"/v1/experiment/{experiment_id}", json={"name": names[2]})
    assert response.status_code == 200, response.text


# -- /v1/insert takes a null feedback list as none, as it takes null events -------------------


def test_insert_takes_null_feedback_and_null_events_as_none(client):
    project_id = new_project(client)
    body = {"project_logs": {project_id: {"events": [{"id": "n1", "input": 1}], "feedback": None}}}
    res = client.post("/v1/insert", json=body)
    assert res.status_code == 200, res.text
    assert res.json() == {"project_logs": {project_id: {"row_ids": ["n1"]}}}
    body = {
        "project_logs": {
            project_id: {"events": None, "feedback": [{"id": "n1", "scores": {"s": 1}}]}
        }
    }
    assert client.post("/v1/insert", json=body).status_code == 200
    (row,) = events(client, "project_logs", project_id)
    assert row["scores"] == {"s": 1}
    bad = {"project_logs": {project_id: {"feedback": "yes"}}}
    assert_error(client.post("/v1/insert", json=bad), 400, "feedback must be a list")
