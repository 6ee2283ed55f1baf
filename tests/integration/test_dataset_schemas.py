"""Field schemas: inference from the first records, enforcement on every write path (the
official SDK through /logs3, REST insert and merge, file import) with a 400 listing each
violation, and the check route listing existing rows that do not conform."""

from __future__ import annotations

import uuid

import braintrust
import orjson
import pytest

from tests.conftest import ADMIN_KEY
from tracelake.datasets.imports import import_file
from tracelake.errors import Conflict
from tracelake.model.field_schemas import infer_schema
from tracelake.store import dataset_meta

QUESTION_SCHEMA = {
    "type": "object",
    "properties": {"question": {"type": "string"}, "level": {"type": "integer"}},
    "required": ["question"],
}


def test_infer_schema_describes_every_sampled_value():
    schema = infer_schema(
        [
            {"q": "a", "n": 1, "tags": ["x"], "opt": True},
            {"q": "b", "n": 2.5, "tags": []},
            None,
        ]
    )
    assert schema["type"] == ["object", "null"]
    assert schema["required"] == ["q", "n", "tags"]
    assert schema["properties"]["q"] == {"type": "string"}
    assert schema["properties"]["n"] == {"type": "number"}
    assert schema["properties"]["tags"] == {"type": "array", "items": {"type": "string"}}
    assert schema["properties"]["opt"] == {"type": "boolean"}
    # Only the first 100 values count.
    assert infer_schema([1] * 100 + ["x"])["type"] == "integer"


def _dataset(client) -> tuple[str, str]:
    project = f"schema-{uuid.uuid4().hex[:10]}"
    project_id = client.post("/v1/project", json={"name": project}).json()["id"]
    dataset = client.post("/v1/dataset", json={"project_id": project_id, "name": "cases"})
    return project, dataset.json()["id"]


def test_infer_then_enforce_on_rest_and_import(app_client):
    _, ds = _dataset(app_client)
    events = [{"id": f"r{i}", "input": {"question": f"q{i}", "level": i}} for i in range(3)]
    assert app_client.post(f"/v1/dataset/{ds}/insert", json={"events": events}).status_code == 200

    inferred = app_client.post(f"/v1/dataset/{ds}/schema/input/infer", json={})
    assert inferred.status_code == 200, inferred.text
    schema = inferred.json()["schema"]
    assert schema["properties"]["level"] == {"type": "integer"}
    assert schema["required"] == ["question", "level"]
    saved = app_client.post(
        f"/v1/dataset/{ds}/schema/input/infer", json={"save": True, "enforce": True}
    )
    assert saved.status_code == 200 and saved.json()["enforce"] is True
    assert app_client.get(f"/v1/dataset/{ds}/schema").json()["input"]["schema"] == schema

    # REST insert: two bad rows, each violation listed; nothing written.
    bad = [
        {"id": "ok", "input": {"question": "fine", "level": 1}},
        {"id": "b1", "input": {"question": 5, "level": 1}},
        {"id": "b2", "input": {"level": "high"}},
    ]
    response = app_client.post(f"/v1/dataset/{ds}/insert", json={"events": bad})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "SchemaViolation"
    found = {(v["id"], v["path"]) for v in error["violations"]}
    assert found == {("b1", "/question"), ("b2", "/"), ("b2", "/level")}
    assert "row 1 (b1): input/question" in error["message"]
    rows = app_client.post(f"/v1/dataset/{ds}/fetch", json={}).json()["events"]
    assert {r["id"] for r in rows} == {"r0", "r1", "r2"}

    # A merge is checked on the merged row (applied on the writer thread).
    merge = [{"id": "r0", "input": {"level": "x"}, "_is_merge": True}]
    response = app_client.post(f"/v1/dataset/{ds}/insert", json={"events": merge})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["violations"][0]["path"] == "/level"
    ok_merge = [{"id": "r0", "input": {"level": 9}, "_is_merge": True}]
    assert app_client.post(f"/v1/dataset/{ds}/insert", json={"events": ok_merge}).status_code == 200

    # Import: a non-conforming row refuses the whole file.
    csv = "id,question,level\nn1,fine,1\nn2,also fine,two\n"
    response = app_client.post(
        f"/v1/dataset/{ds}/import",
        params=[
            ("format", "csv"),
            ("map", "question=input.question"),
            ("map", "level=input.level"),
        ],
        content=csv.encode(),
    )
    assert response.status_code == 400, response.text
    violation = response.json()["error"]["violations"][0]
    assert (violation["row"], violation["field"], violation["path"]) == (2, "input", "/level")
    rows = app_client.post(f"/v1/dataset/{ds}/fetch", json={}).json()["events"]
    assert {r["id"] for r in rows} == {"r0", "r1", "r2"}

    # Turning enforcement off lets rows in; the check route lists them.
    app_client.put(f"/v1/dataset/{ds}/schema/input", json={"schema": schema, "enforce": False})
    assert app_client.post(f"/v1/dataset/{ds}/insert", json={"events": bad}).status_code == 200
    check = app_client.get(f"/v1/dataset/{ds}/schema/check").json()
    assert check["checked"] == 6
    assert check["nonconforming"] == 2
    assert {r["id"] for r in check["rows"]} == {"b1", "b2"}


def test_a_violation_of_an_imported_row_without_id_names_no_id(app_client):
    _, ds = _dataset(app_client)
    schema = {"schema": {"type": "string"}, "enforce": True}
    assert app_client.put(f"/v1/dataset/{ds}/schema/input", json=schema).status_code == 200
    response = app_client.post(
        f"/v1/dataset/{ds}/import", params={"format": "csv"}, content=b"input\nok\n5\n"
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["violations"][0]["id"] is None
    assert error["message"].endswith(': row 2: input: 5 is not of type "string"')
    # Nor does a row with an empty id in a file with an id column (it named the id
    # generated for it, which was never written).
    for fmt, body in [
        ("csv", b"id,input\nr1,ok\n,5\nr3,6\n"),
        ("jsonl", b'{"id": "r1", "input": "ok"}\n{"input": 5}\n{"id": "r3", "input": 6}\n'),
    ]:
        response = app_client.post(f"/v1/dataset/{ds}/import", params={"format": fmt}, content=body)
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert [(v["row"], v["id"]) for v in error["violations"]] == [(2, None), (3, "r3")]


def test_schema_route_errors(app_client):
    _, ds = _dataset(app_client)
    # save must be a boolean: "false" (a string) stored the inferred schema.
    infer = app_client.post(f"/v1/dataset/{ds}/schema/input/infer", json={"save": "false"})
    assert infer.status_code == 400, infer.text
    assert "'save'" in infer.json()["error"]["message"]
    assert app_client.get(f"/v1/dataset/{ds}/schema").json()["input"] is None
    response = app_client.put(f"/v1/dataset/{ds}/schema/output", json={"schema": {}})
    assert response.status_code == 400
    response = app_client.put(
        f"/v1/dataset/{ds}/schema/input", json={"schema": {"type": "nonsense"}}
    )
    assert response.status_code == 400
    assert "invalid JSON Schema" in response.json()["error"]["message"]
    empty = app_client.get(f"/v1/dataset/{ds}/schema/check").json()
    assert empty == {"checked": 0, "nonconforming": 0, "rows": []}


LOOPS = [
    {"$ref": "#"},
    {"$defs": {"a": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"},
    {"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"allOf": [{"$ref": "#/$defs/a"}]}}},
    {"properties": {"q": {"$ref": "#/$defs/a"}}, "$defs": {"a": {"not": {"$ref": "#/$defs/a"}}}},
]


def test_a_schema_whose_references_loop_on_the_same_value_is_refused(app_client):
    # Saved, such a schema made every enforced write to the dataset a 500 (RecursionError).
    _, ds = _dataset(app_client)
    for schema in LOOPS:
        saved = app_client.put(
            f"/v1/dataset/{ds}/schema/input", json={"schema": schema, "enforce": True}
        )
        assert saved.status_code == 400, (schema, saved.text)
        assert "without going into the value" in saved.json()["error"]["message"]
    # Recursion that goes into the value (a tree) is fine, and enforced.
    tree = {
        "$defs": {
            "node": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "kids": {"items": {"$ref": "#/$defs/node"}},
                },
            }
        },
        "$ref": "#/$defs/node",
    }
    saved = app_client.put(f"/v1/dataset/{ds}/schema/input", json={"schema": tree, "enforce": True})
    assert saved.status_code == 200, saved.text
    good = {"name": "a", "kids": [{"name": "b", "kids": []}]}
    insert = app_client.post(f"/v1/dataset/{ds}/insert", json={"events": [{"input": good}]})
    assert insert.status_code == 200, insert.text
    bad = {"name": "a", "kids": [{"name": 1}]}
    insert = app_client.post(f"/v1/dataset/{ds}/insert", json={"events": [{"input": bad}]})
    assert insert.status_code == 400, insert.text
    assert insert.json()["error"]["violations"][0]["path"] == "/kids/0/name"
    # A looping schema stored before the check: writes and the check route are a clear 400.
    store = app_client.app.state.store
    store.transact(
        lambda c: c.execute(
            "INSERT OR REPLACE INTO dataset_field_schemas VALUES (?, 'input', ?::JSON, true,"
            " now())",
            [ds, orjson.dumps(LOOPS[0]).decode()],
        )
    )
    dataset_meta._forget(store, ds)
    insert = app_client.post(f"/v1/dataset/{ds}/insert", json={"events": [{"input": good}]})
    assert insert.status_code == 400, insert.text
    assert "leads back to itself" in insert.json()["error"]["message"]
    check = app_client.get(f"/v1/dataset/{ds}/schema/check")
    assert check.status_code == 400, check.text


def test_a_schema_enforced_while_an_import_reads_its_file_refuses_the_import(app_client, tmp_path):
    # The import checked its rows against the schemas of when it began, and its commit wrote
    # them whatever happened meanwhile: a schema enforced while a large file was read let
    # rows that break it in.
    _, ds = _dataset(app_client)
    state = app_client.app.state
    principal = state.catalog.authenticate(ADMIN_KEY)
    source = tmp_path / "cases.csv"
    source.write_text("id,input\n" + "".join(f"r{i},{i}\n" for i in range(1000)))
    strings = {"type": "string"}

    def enforce_once(read: int) -> None:
        if dataset_meta.get_schemas(state.store, ds)["input"] is None:
            dataset_meta.set_schema(state.store, ds, "input", strings, True)

    with pytest.raises(Conflict, match="changed while the file was read"):
        import_file(state.store, state.catalog, principal, ds, source, "csv", progress=enforce_once)
    assert app_client.post(f"/v1/dataset/{ds}/fetch", json={}).json()["events"] == []
    assert app_client.get(f"/v1/dataset/{ds}/versions").json()["objects"] == []
    # Imported again, the rows are checked against it.
    response = app_client.post(
        f"/v1/dataset/{ds}/import", params={"format": "csv"}, content=source.read_bytes()
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["type"] == "SchemaViolation"
    # Unchanged schemas: the import goes through.
    source.write_text("id,input\nr1,x\n")
    result = import_file(state.store, state.catalog, principal, ds, source, "csv")
    assert result["rows_written"] == 1


def test_enforcement_applies_to_the_official_sdk(sdk_env, capfd):
    server = sdk_env
    with server.client() as client:
        project, ds = _dataset(client)
        put = client.put(
            f"/v1/dataset/{ds}/schema/expected",
            json={"schema": {"type": "string"}, "enforce": True},
        )
        assert put.status_code == 200, put.text
    dataset = braintrust.init_dataset(project=project, name="cases")
    dataset.insert(id="good", input="q", expected="a")
    dataset.flush()
    dataset.insert(id="bad", input="q", expected={"not": "a string"})
    # The SDK logs the 400 (with each violation) and drops the batch; the row is not stored.
    dataset.flush()
    assert "SchemaViolation" in capfd.readouterr().err
    rows = list(braintrust.init_dataset(project=project, name="cases"))
    assert [r["id"] for r in rows] == ["good"]


@pytest.mark.timeout(60)
def test_a_backtracking_pattern_does_not_stall_writes(app_client):
    # Python's re took minutes on this value, holding the writer thread (a merge) or the
    # event loop (an insert): every write of the server waited.
    _, ds = _dataset(app_client)
    schema = {"type": "string", "pattern": "(a+)+$"}
    saved = app_client.put(
        f"/v1/dataset/{ds}/schema/input", json={"schema": schema, "enforce": True}
    )
    assert saved.status_code == 200, saved.text
    insert = f"/v1/dataset/{ds}/insert"
    assert (
        app_client.post(insert, json={"events": [{"id": "r", "input": "aaa"}]}).status_code == 200
    )
    for event in (
        {"id": "n", "input": "a" * 40 + "!"},
        {"id": "r", "input": "a" * 40 + "!", "_is_merge": True},
    ):
        response = app_client.post(insert, json={"events": [event]})
        assert response.status_code == 400, response.text
        assert response.json()["error"]["type"] == "SchemaViolation"
    # a lookahead is refused when saved; one stored before that check is a clear 400
    ahead = {"type": "string", "pattern": "(?=a)a"}
    saved = app_client.put(
        f"/v1/dataset/{ds}/schema/input", json={"schema": ahead, "enforce": True}
    )
    assert saved.status_code == 400 and "RE2" in saved.json()["error"]["message"], saved.text
    store = app_client.app.state.store
    store.transact(
        lambda c: c.execute(
            "INSERT OR REPLACE INTO dataset_field_schemas VALUES (?, 'input', ?::JSON, true,"
            " now())",
            [ds, orjson.dumps(ahead).decode()],
        )
    )
    dataset_meta._forget(store, ds)
    response = app_client.post(insert, json={"events": [{"id": "x", "input": "a"}]})
    assert response.status_code == 400 and "RE2" in response.text, response.text


def test_formats_are_enforced_and_a_format_not_checked_is_refused_when_saved(app_client):
    """``"format": "email"`` let any string in (jsonschema checks formats only when given a
    format checker): it is enforced on every write path now, and a format tracelake does
    not check (a typo, or one it has no checker for) is a 400 when saved, not ignored."""
    _, ds = _dataset(app_client)
    schema = {
        "type": "object",
        "properties": {
            "email": {"type": "string", "format": "email"},
            "at": {"format": "date-time"},
            "site": {"format": "uri"},
        },
    }
    put = app_client.put(f"/v1/dataset/{ds}/schema/input", json={"schema": schema, "enforce": True})
    assert put.status_code == 200, put.text
    insert = f"/v1/dataset/{ds}/insert"
    good = {"email": "a@example.com", "at": "2024-02-29T10:00:00Z", "site": "https://x.org/a"}
    assert app_client.post(insert, json={"events": [{"input": good}]}).status_code == 200
    for key, bad, message in (
        ("email", "not-an-email", '"not-an-email" is not a valid "email"'),
        ("at", "2023-02-29T10:00:00Z", '"2023-02-29T10:00:00Z" is not a valid "date-time"'),
        ("at", "yesterday", '"yesterday" is not a valid "date-time"'),
        ("site", "not a uri", '"not a uri" is not a valid "uri"'),
    ):
        response = app_client.post(insert, json={"events": [{"input": {**good, key: bad}}]})
        assert response.status_code == 400, response.text
        violation = response.json()["error"]["violations"][0]
        assert (violation["path"], violation["message"]) == (f"/{key}", message)
    imported = app_client.post(
        f"/v1/dataset/{ds}/import",
        params={"format": "csv"},
        content=b"email,site\nnobody,https://x.org\n",
    )
    assert imported.status_code == 400, imported.text
    assert imported.json()["error"]["violations"][0]["path"] == "/email"
    for name in ("emial", "duration"):
        bad_schema = {"properties": {"e": {"type": "string", "format": name}}}
        saved = app_client.put(f"/v1/dataset/{ds}/schema/expected", json={"schema": bad_schema})
        assert saved.status_code == 400, saved.text
        message = saved.json()["error"]["message"]
        assert message.startswith(f'format "{name}" at /properties/e is not checked'), message
        assert "email" in message and "date-time" in message
