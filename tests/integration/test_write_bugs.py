"""Write semantics, versions and feedback found wrong by a bug hunt over HTTP, against a real
server on 127.0.0.1 (docs/write-semantics.md, docs/api.md, braintrust-protocol.md)."""

from __future__ import annotations

import pytest

from tests.integration.test_bad_input import (
    assert_error,
    events,
    log_row,
    new_dataset,
    new_experiment,
    new_project,
)


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


# -- _audit_metadata is stored as given (a string "__XACT__" in it became the _xact_id) -------


def test_audit_metadata_strings_are_stored_as_given(client):
    project_id = new_project(client)
    metadata = {"note": "__XACT__", "quoted": '"__XACT__"'}
    audit = {"_audit_source": "api", "_audit_metadata": metadata}
    rows = [
        log_row(project_id, "r", input=1, **audit),  # a replace, computed before the writer
        log_row(project_id, "m", input=1),
    ]
    first = client.post("/logs3", json={"rows": rows})
    assert first.status_code == 200, first.text
    merge = log_row(project_id, "m", output=2, _is_merge=True, **audit)  # on the writer
    second = client.post("/logs3", json={"rows": [merge]})
    assert second.status_code == 200, second.text
    trails = {e["id"]: e["audit_data"] for e in events(client, "project_logs", project_id)}
    assert trails["r"] == [
        {
            "_xact_id": first.json()["_xact_id"],
            "action": "replace",
            "source": "api",
            "metadata": metadata,
        }
    ]
    assert trails["m"] == [
        {
            "_xact_id": second.json()["_xact_id"],
            "action": "merge",
            "source": "api",
            "metadata": metadata,
        }
    ]


# -- errors name the feedback item or /v1/insert entry the client wrote, not an internal row ---


def test_feedback_errors_name_the_feedback_item(client):
    project_id = new_project(client)
    experiment_id = new_experiment(client, project_id)
    url = f"/v1/experiment/{experiment_id}/feedback"
    # Item 0 makes two rows (a merge and a comment): item 1 was called "row 2".
    items = [{"id": "a", "scores": {"q": 0.5}, "comment": "ok"}, {"id": "b", "scores": {"q": 3}}]
    response = client.post(url, json={"feedback": items})
    assert_error(response, 400, "feedback 1: score 'q' must be between 0 and 1")
    # Its metadata was called "row 0: _audit_metadata", or taken silently without a change.
    for item in ({"id": "a", "scores": {"q": 0.5}, "metadata": "m"}, {"id": "a", "metadata": [1]}):
        response = client.post(url, json={"feedback": [item]})
        assert_error(response, 400, "feedback 0: metadata must be an object")
    assert events(client, "experiment", experiment_id) == []


def test_insert_many_errors_name_the_object_and_entry(client):
    project_id = new_project(client)
    first, second = new_dataset(client, project_id), new_dataset(client, project_id)
    body = {
        "dataset": {
            first: {"events": [{"id": "1"}, {"id": "2"}]},
            second: {"events": [{"id": "3"}, {"id": "4", "tags": "x"}]},
        }
    }
    response = client.post("/v1/insert", json=body)
    assert_error(response, 400, f"dataset.{second} event 1: tags must be a list of strings")
    body = {"dataset": {first: {"events": [{"id": "1"}], "feedback": [{"id": "1", "tags": "x"}]}}}
    response = client.post("/v1/insert", json=body)
    assert_error(response, 400, f"dataset.{first} feedback 0: tags must be a list of strings")
    body = {"dataset": {first: {"events": [{"id": "1", "dataset_id": second}]}}}
    response = client.post("/v1/insert", json=body)
    message = f"dataset.{first} event 0: dataset_id does not match the object it is listed under"
    assert_error(response, 400, message)
    assert events(client, "dataset", first) == events(client, "dataset", second) == []


def test_errors_found_on_the_final_rows_name_the_item_the_client_wrote(client):
    """A value nested too deeply and an unknown _parent_id are found once the rows are
    computed: their errors named the row by its place among the rows the request made
    (feedback 1 was "row 2" after a feedback item with a comment) or by its id alone."""
    project_id = new_project(client)
    experiment_id = new_experiment(client, project_id)
    written = client.post("/logs3", json={"rows": [{"experiment_id": experiment_id, "id": "a"}]})
    assert written.status_code == 200, written.text
    deep = nested(250)
    items = [{"id": "a", "scores": {"q": 0.5}, "comment": "ok"}, {"id": "a", "expected": deep}]
    response = client.post(f"/v1/experiment/{experiment_id}/feedback", json={"feedback": items})
    assert_error(response, 400, "feedback 1 (id 'a'): expected nests deeper than 200 levels")
    part = f"experiment.{experiment_id}"
    for event, words in [
        ({"id": "b", "_is_merge": True, "input": deep}, "(id 'b'): input nests deeper"),
        ({"id": "b", "_parent_id": "nope"}, "(id 'b'): _parent_id 'nope' does not exist"),
    ]:
        body = {"experiment": {experiment_id: {"events": [{"id": "c"}, event]}}}
        response = client.post("/v1/insert", json=body)
        assert_error(response, 400, f"{part} event 1 {words}")
    url = f"/v1/experiment/{experiment_id}/insert"
    response = client.post(url, json={"events": [{"id": "c"}, {"id": "b", "_parent_id": "x"}]})
    assert_error(response, 400, "row 1 (id 'b'): _parent_id 'x' does not exist")
    assert [e["id"] for e in events(client, "experiment", experiment_id)] == ["a"]


def test_insert_many_refuses_an_unknown_field_of_an_object(client):
    """A misspelt "events" (or "feedback") was ignored: nothing was written and the answer
    was a 200 with no row ids."""
    project_id = new_project(client)
    dataset_id = new_dataset(client, project_id)
    for part in ({"event": [{"id": "a"}]}, {"events": [{"id": "a"}], "feedbacks": []}):
        response = client.post("/v1/insert", json={"dataset": {dataset_id: part}})
        assert_error(response, 400, f"dataset.{dataset_id}: unknown field")
    assert events(client, "dataset", dataset_id) == []


# -- _audit_metadata nests at most 198 levels: it sits two levels down in audit_data ----------


def nested(levels: int) -> dict:
    value: dict = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


def test_audit_metadata_depth_is_checked_on_rows_comments_and_feedback(client):
    project_id = new_project(client)
    dataset_id = new_dataset(client, project_id)

    def write(row_id: str, levels: int, **fields):
        audit = {"_audit_source": "app", "_audit_metadata": nested(levels)}
        row = {"dataset_id": dataset_id, "id": row_id, **fields, **audit}
        return client.post("/logs3", json={"rows": [row]})

    assert write("row", 198, input=1).status_code == 200
    comment = {"origin": {"id": "row"}, "comment": {"text": "hi"}}
    assert write("note", 198, **comment).status_code == 200
    # A comment's deeper metadata was stored (and beyond 253 levels a 500); a row's was a
    # 400 about audit_data, a field the client never sent.
    for levels in (199, 260):
        for row_id, fields in (("row", {"input": 2}), ("note", comment)):
            response = write(row_id, levels, **fields)
            assert_error(response, 400, "row 0: _audit_metadata nests deeper than 198 levels")
    url = f"/v1/dataset/{dataset_id}/feedback"
    item = {"id": "row", "comment": "deep", "metadata": nested(199)}
    response = client.post(url, json={"feedback": [item]})
    assert_error(response, 400, "feedback 0: metadata nests deeper than 198 levels")
    (row,) = events(client, "dataset", dataset_id)
    assert row["input"] == 1
    assert row["audit_data"][0]["metadata"] == nested(198)
    assert [c["id"] for c in row["comments"]] == ["note"]
    assert row["comments"][0]["audit_data"][0]["metadata"] == nested(198)


# -- _object_delete on a comment sent back whole deletes it (it rewrote the comment) ----------


def test_a_comment_sent_back_whole_with_object_delete_is_deleted(client):
    project_id = new_project(client)
    dataset_id = new_dataset(client, project_id)
    comment = {"dataset_id": dataset_id, "id": "c", "origin": {"id": "a"}, "comment": {"text": "x"}}
    rows = [{"dataset_id": dataset_id, "id": "a", "input": 1}, comment]
    assert client.post("/logs3", json={"rows": rows}).status_code == 200
    (row,) = events(client, "dataset", dataset_id)
    assert [c["id"] for c in row["comments"]] == ["c"]
    response = client.post("/logs3", json={"rows": [{**comment, "_object_delete": True}]})
    assert response.status_code == 200, response.text
    (row,) = events(client, "dataset", dataset_id)
    assert row["id"] == "a" and row["comments"] is None


# -- merges read their rows by id (a join scanned all of live for every batch) ----------------
# Up to BY_ID_MAX keys the stored rows are read through live's index on id; more, or an id
# holding a NUL (which a SQL literal cannot carry), by a join. Both must find the same rows,
# only those of the object merged into (one id may be in several objects).


@pytest.mark.parametrize("many", [False, True])
def test_merges_find_their_rows_by_id_or_by_join(client, many):
    from tracelake.store.writer import BY_ID_MAX

    project_id = new_project(client)
    other = new_project(client)
    odd = ["it's", 'say "hi"', "naïve ✓", "a\\b", "--; DROP TABLE live"]
    ids = odd + [f"r{i}" for i in range(BY_ID_MAX + 1 if many else 20)]
    rows = [log_row(project_id, i, input={"n": n}, tags=["a"]) for n, i in enumerate(ids)]
    rows += [log_row(other, i, input={"other": True}) for i in ids[:3]]
    assert client.post("/logs3", json={"rows": rows}).status_code == 200
    merges = [
        log_row(project_id, i, _is_merge=True, output={"m": n}, tags=["b"])
        for n, i in enumerate(ids)
    ]
    answer = client.post("/logs3", json={"rows": merges})
    assert answer.status_code == 200, answer.text
    query = f"select: id, input, output, tags | from: project_logs('{project_id}') | limit: 5000"
    got = {r["id"]: r for r in client.post("/btql", json={"query": query}).json()["data"]}
    assert set(got) == set(ids)
    for n, i in enumerate(ids):
        assert got[i]["input"] == {"n": n} and got[i]["output"] == {"m": n}, i
        assert sorted(got[i]["tags"]) == ["a", "b"]
    query = f"select: id, input, output | from: project_logs('{other}')"
    others = client.post("/btql", json={"query": query}).json()["data"]
    assert all(r["input"] == {"other": True} and r["output"] is None for r in others)


# -- _parent_id reads its traces by their _xact_id range (a join scanned all of live) ----------
# The rows of the traces a _parent_id may lead into are read by literal root_span_ids within
# the traces' _xact_id range (from the per-trace index), or, for more than ROOTS_INLINE traces
# or a root id holding a NUL, by a join. Either way every ancestor must be found, however
# long ago or however recently it was written, and only in the object written to.


def chains(client, project_id) -> dict[str, tuple]:
    """(root_span_id, span_parents) of each row of the project's logs but the x and y rows."""
    query = f"select: id, root_span_id, span_parents | from: project_logs('{project_id}')"
    rows = client.post("/btql", json={"query": query + " | limit: 10000"}).json()["data"]
    return {r["id"]: (r["root_span_id"], r["span_parents"]) for r in rows if r["id"][0] not in "xy"}


@pytest.mark.parametrize("many", [False, True])
def test_parent_id_finds_ancestors_written_at_any_time(client, many):
    from tracelake.store.writer import ROOTS_INLINE

    project_id, other = new_project(client), new_project(client)
    roots = ["it's", 'say "hi"', "r"]
    for root in roots:  # each trace's root, then other traffic, then a chain below it
        written = [[log_row(project_id, root)]]
        written.append([log_row(project_id, f"{root}-f{i}") for i in range(50)])
        written.append([log_row(project_id, f"{root}-b", _parent_id=root)])
        written.append([log_row(other, f"{root}-{i}") for i in range(3)])
        written.append([log_row(project_id, f"{root}-c", _parent_id=f"{root}-b")])
        written.append([log_row(project_id, f"{root}-d", _parent_id=f"{root}-c")])
        for rows in written:
            assert client.post("/logs3", json={"rows": rows}).status_code == 200
    # the same ids in another project: its rows must not count
    same = [log_row(other, i) for r in roots for i in (r, f"{r}-b", f"{r}-c", f"{r}-d")]
    assert client.post("/logs3", json={"rows": same}).status_code == 200
    n = ROOTS_INLINE + 1 if many else 0  # rows of as many traces: read by a join
    spread = [log_row(project_id, f"x{i}") for i in range(n)]
    if spread:
        assert client.post("/logs3", json={"rows": spread}).status_code == 200
    before = chains(client, project_id)
    for root in roots:  # b moved under its own great-grandchild d: found through c's row
        extra = [log_row(project_id, f"y{i}", _parent_id=f"x{i}") for i in range(n)]
        cycle = log_row(project_id, f"{root}-b", _parent_id=f"{root}-d")
        answer = client.post("/logs3", json={"rows": [*extra, cycle]})
        assert_error(answer, 400, "_parent_id", "descendant")
    assert chains(client, project_id) == before
    # a row of the trace may still be moved under another row of it
    moves = [log_row(project_id, "r-d", _parent_id="r")]
    moves += [log_row(project_id, f"y{i}", _parent_id=f"x{i}") for i in range(n)]
    assert client.post("/logs3", json={"rows": moves}).status_code == 200
    assert chains(client, project_id)["r-d"] == ("r", ["r"])


# -- _parent_id with a root_span_id or span_parents that says otherwise is a 400 --------------
# The explicit values won: the row named one parent and sat in another trace.


def test_parent_id_with_a_contradicting_root_span_id_is_a_400_and_writes_nothing(client):
    project_id = new_project(client)
    parent = log_row(project_id, "p", span_id="ps", root_span_id="proot")
    assert client.post("/logs3", json={"rows": [parent]}).status_code == 200
    rows = [
        log_row(project_id, "a"),
        log_row(project_id, "c", _parent_id="p", root_span_id="elsewhere"),
    ]
    answer = client.post("/logs3", json={"rows": rows})
    assert_error(answer, 400, "(id 'c')", "root_span_id 'elsewhere'", "_parent_id 'p'")
    assert [e["id"] for e in events(client, "project_logs", project_id)] == ["p"]
    same = log_row(project_id, "c", _parent_id="p", root_span_id="proot", span_parents=["ps"])
    assert client.post("/logs3", json={"rows": [same]}).status_code == 200
    placed = {e["id"]: e for e in events(client, "project_logs", project_id)}
    assert (placed["c"]["root_span_id"], placed["c"]["span_parents"]) == ("proot", ["ps"])


# -- integers past 64 bits are read as doubles (docs/write-semantics.md says so) --------------


def test_integers_past_64_bits_are_stored_as_documented(client):
    project_id = new_project(client)
    numbers = (
        '{"past": 123456789012345678901234567890, "u64": 18446744073709551615,'
        ' "i64": -9223372036854775808, "below": -9223372036854775809}'
    )
    row = f'{{"project_id": "{project_id}", "log_id": "g", "id": "big", "metadata": {numbers}}}'
    body = f'{{"rows": [{row}]}}'
    written = client.post("/logs3", content=body, headers={"content-type": "application/json"})
    assert written.status_code == 200, written.text
    metadata = events(client, "project_logs", project_id)[0]["metadata"]
    assert metadata == {
        "past": 1.2345678901234568e29,
        "u64": 18446744073709551615,
        "i64": -9223372036854775808,
        "below": -9.223372036854776e18,
    }
    assert type(metadata["u64"]) is int and type(metadata["past"]) is float


# -- an unknown object is a 404 even when a request writes nothing to it ----------------------
# An empty list of events or feedback answered 200 for any object id (a misspelt id passed).


def test_an_unknown_object_is_a_404_with_no_events_or_feedback(client):
    project_id = new_project(client)
    dataset_id = new_dataset(client, project_id)
    assert client.delete(f"/v1/dataset/{dataset_id}").status_code == 200
    for object_id in ("nonexistent", dataset_id):
        for route, body in [
            ("insert", {"events": []}),
            ("feedback", {"feedback": []}),
        ]:
            answer = client.post(f"/v1/dataset/{object_id}/{route}", json=body)
            assert_error(answer, 404, object_id)
        for part in ({"events": []}, {}, {"feedback": None}):
            answer = client.post("/v1/insert", json={"dataset": {object_id: part}})
            assert_error(answer, 404, object_id)
    live = new_dataset(client, project_id)
    assert client.post(f"/v1/dataset/{live}/insert", json={"events": []}).json() == {"row_ids": []}
    answer = client.post("/v1/insert", json={"dataset": {live: {"events": []}}})
    assert answer.json() == {"dataset": {live: {"row_ids": []}}}


# -- feedback with nothing to write is a 400 (it answered success and stored nothing) ---------


def test_feedback_with_only_metadata_is_a_400_and_writes_nothing(client):
    project_id = new_project(client)
    experiment_id = new_experiment(client, project_id)
    insert = client.post(f"/v1/experiment/{experiment_id}/insert", json={"events": [{"id": "r"}]})
    assert insert.status_code == 200, insert.text
    before = events(client, "experiment", experiment_id)
    items = [{"id": "r", "scores": {"s": 1}}, {"id": "r", "metadata": {"user": "u"}}]
    for url, body in [
        (f"/v1/experiment/{experiment_id}/feedback", {"feedback": items}),
        ("/v1/insert", {"experiment": {experiment_id: {"feedback": items}}}),
    ]:
        answer = client.post(url, json=body)
        assert_error(answer, 400, "feedback 1", "at least one of scores, expected, tags or comment")
    assert events(client, "experiment", experiment_id) == before
    ok = [{"id": "r", "comment": "fine", "metadata": {"user": "u"}}]
    answer = client.post(f"/v1/experiment/{experiment_id}/feedback", json={"feedback": ok})
    assert answer.status_code == 200, answer.text


# -- a comment row carrying other fields is a 400 (they were dropped without a word) ---------
# A comment is kept beside its row, not as a row: fields of a row given with it had nowhere
# to go. Null values say nothing, and what the SDK sends (routing keys, created, audit) is fine.


def test_a_comment_row_with_other_fields_is_a_400_and_writes_nothing(client):
    project_id = new_project(client)
    assert (
        client.post("/logs3", json={"rows": [log_row(project_id, "r", input=1)]}).status_code == 200
    )
    comment = log_row(project_id, "c", origin={"id": "r"}, comment={"text": "hi"})
    for extra in ({"input": "x"}, {"tags": ["t"], "metadata": {"a": 1}}, {"_parent_id": "r"}):
        answer = client.post(
            "/logs3", json={"rows": [log_row(project_id, "r2"), {**comment, **extra}]}
        )
        error = assert_error(answer, 400, "row 1", "comment", *(repr(k) for k in extra))
        assert "row 0" not in error["message"]
    (row,) = events(client, "project_logs", project_id)
    assert row["comments"] is None and row["input"] == 1
    sdk = {
        **comment,
        "created": "2026-01-01T00:00:00Z",
        "_audit_source": "external",
        "_audit_metadata": {"k": 1},
        "input": None,
        "_object_delete": False,
    }
    assert client.post("/logs3", json={"rows": [sdk]}).status_code == 200
    (row,) = events(client, "project_logs", project_id)
    assert [c["comment"] for c in row["comments"]] == [{"text": "hi"}]


# -- _parent_id refuses to move a row away from its children (they were left orphaned) -------
# Moving a trace's root under another trace left its children in a trace with no root; a
# replace that changes the row's span id does the same to the children of a span.


def test_parent_id_does_not_move_a_row_away_from_its_children(client):
    project_id = new_project(client)
    rows = [
        log_row(project_id, "a", span_id="sa", root_span_id="ta"),
        log_row(project_id, "a2", span_id="sa2", root_span_id="ta", span_parents=["sa"]),
        log_row(project_id, "b", span_id="sb", root_span_id="tb"),
        log_row(project_id, "leaf", span_id="sl", root_span_id="tb", span_parents=["sb"]),
    ]
    assert client.post("/logs3", json={"rows": rows}).status_code == 200
    before = chains(client, project_id)
    move_a = log_row(project_id, "a", span_id="sa", _parent_id="b", input="moved")
    answer = client.post("/logs3", json={"rows": [move_a]})
    assert_error(answer, 400, "(id 'a')", "_parent_id 'b'", "children ('a2')")
    # without span_id too: a keeps its span id 'sa', but leaves the trace a2 stays in
    answer = client.post("/logs3", json={"rows": [log_row(project_id, "a", _parent_id="b")]})
    assert_error(answer, 400, "(id 'a')", "children ('a2')")
    assert chains(client, project_id) == before
    # its children moved first (in the same request), the row may follow
    together = [log_row(project_id, "a2", span_id="sa2", _parent_id="b"), move_a]
    assert client.post("/logs3", json={"rows": together}).status_code == 200
    moved = chains(client, project_id)
    assert moved["a"] == ("tb", ["sb"]) and moved["a2"] == ("tb", ["sb"])
    # a leaf moves freely, and a row with children may move within its trace
    leaf = log_row(project_id, "leaf", span_id="sl", _parent_id="a")
    assert client.post("/logs3", json={"rows": [leaf]}).status_code == 200
    within = log_row(project_id, "a", span_id="sa", _parent_id="a2")
    assert client.post("/logs3", json={"rows": [within]}).status_code == 200
    moved = chains(client, project_id)
    assert moved["leaf"] == ("tb", ["sa"]) and moved["a"] == ("tb", ["sa2"])


# -- a dataset row's output beside expected: a 400 if both are given, else the non-null one ---
# An `expected: null` beside an `output` dropped the output; both given dropped the output.


def test_a_dataset_rows_output_and_expected_are_taken_as_the_sdk_takes_them(client):
    dataset_id = new_dataset(client, new_project(client))
    both = [{"id": "a", "input": 1}, {"id": "b", "expected": 3, "output": 2}]
    answer = client.post(f"/v1/dataset/{dataset_id}/insert", json={"events": both})
    assert_error(answer, 400, "row 1", "expected", "output", "not both")
    rows = [
        {"id": "a", "expected": None, "output": 2},
        {"id": "b", "expected": 3, "output": None},
        {"id": "c", "output": {"x": 1}},
    ]
    answer = client.post(f"/v1/dataset/{dataset_id}/insert", json={"events": rows})
    assert answer.status_code == 200, answer.text
    got = {e["id"]: e["expected"] for e in events(client, "dataset", dataset_id)}
    assert got == {"a": 2, "b": 3, "c": {"x": 1}}
    merge = {"id": "a", "_is_merge": True, "expected": None, "output": {"y": 1}}
    assert (
        client.post(f"/v1/dataset/{dataset_id}/insert", json={"events": [merge]}).status_code == 200
    )
    got = {e["id"]: e["expected"] for e in events(client, "dataset", dataset_id)}
    assert got["a"] == {"y": 1}
