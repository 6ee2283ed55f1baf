"""Dataset import: CSV, JSON and JSONL files through the preview and import routes (the app
in process over ASGI, a real DuckDB file) and ``tracelake import`` (a subprocess, against a
data dir and against a real server). A bad file gives one clear error and writes nothing."""

from __future__ import annotations

import http.server
import json
import signal
import threading
import time
import uuid

import pytest

from tests.integration.test_cli import assert_cli_error, cli_env, ok, run_cli, start_cli_against
from tracelake.store.catalog import DATASETS


def _dataset(client, name: str = "cases") -> str:
    project = client.post("/v1/project", json={"name": f"imp-{uuid.uuid4().hex[:8]}"}).json()
    response = client.post("/v1/dataset", json={"project_id": project["id"], "name": name})
    return response.json()["id"]


def _rows(client, dataset_id: str) -> dict[str, dict]:
    response = client.post(f"/v1/dataset/{dataset_id}/fetch", json={"limit": 10_000})
    assert response.status_code == 200, response.text
    return {r["id"]: r for r in response.json()["events"]}


def _import(client, dataset_id, body: bytes | str, fmt="csv", maps=(), **params):
    params = {"format": fmt, **params}
    query = list(params.items()) + [("map", m) for m in maps]
    if isinstance(body, str):
        body = body.encode()
    return client.post(f"/v1/dataset/{dataset_id}/import", params=query, content=body)


CSV = (
    "id,question,answer,n,flag,obj,tags\n"
    'r1,What is 6*7?,42,3.5,true,"{""k"": [1, 2]}","math, easy"\n'
    'r2,Who?,"x, y",007,false,[1],"[""people""]"\n'
)


def test_default_mapping_puts_columns_in_input_and_types_cells(app_client):
    ds = _dataset(app_client)
    response = _import(app_client, ds, CSV)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["rows_read"] == result["rows_written"] == 2
    rows = _rows(app_client, ds)
    assert rows["r1"]["input"] == {
        "question": "What is 6*7?",
        "answer": 42,
        "n": 3.5,
        "flag": True,
        "obj": {"k": [1, 2]},
    }
    assert rows["r1"]["tags"] == ["math", "easy"]  # as given (they were sorted)
    assert rows["r1"]["expected"] is None
    # "007" is not a JSON number: it stays text; arrays in cells are arrays.
    assert rows["r2"]["input"]["n"] == "007"
    assert rows["r2"]["input"]["obj"] == [1]
    assert rows["r2"]["input"]["answer"] == "x, y"
    assert rows["r2"]["tags"] == ["people"]
    # One import, one version.
    assert rows["r1"]["_xact_id"] == rows["r2"]["_xact_id"] == result["_xact_id"]


def test_each_mapping_form(app_client):
    ds = _dataset(app_client)
    response = _import(
        app_client,
        ds,
        CSV,
        maps=[
            "question=input.question",
            "answer=expected",
            "n=metadata.stats.n",
            "flag=metadata",
            "obj=skip",
            "tags=tags",
        ],
    )
    assert response.status_code == 200, response.text
    rows = _rows(app_client, ds)
    r1 = rows["r1"]
    # input.question is nested even though it is input's only column.
    assert r1["input"] == {"question": "What is 6*7?"}
    # The only column mapped to expected is the whole expected value.
    assert r1["expected"] == 42
    # Two columns share metadata: the bare one goes under its name.
    assert r1["metadata"] == {"stats": {"n": 3.5}, "flag": True}
    assert "obj" not in json.dumps(r1["input"])
    assert rows["r2"]["expected"] == "x, y"


def test_single_input_column_is_the_whole_input_and_mapping_as_json(app_client):
    ds = _dataset(app_client)
    response = _import(
        app_client,
        ds,
        "prompt,gold\nhello,world\n",
        mapping=json.dumps({"gold": "expected"}),
    )
    assert response.status_code == 200, response.text
    (row,) = _rows(app_client, ds).values()
    assert row["input"] == "hello"
    assert row["expected"] == "world"


def test_id_column_dedups_keeping_the_last_occurrence(app_client):
    ds = _dataset(app_client)
    body = "id,q\na,first\nb,only\na,second\na,third\n"
    response = _import(app_client, ds, body)
    assert response.status_code == 200, response.text
    assert response.json()["rows_read"] == 4
    assert response.json()["rows_written"] == 2
    rows = _rows(app_client, ds)
    assert set(rows) == {"a", "b"}
    assert rows["a"]["input"] == "third"
    # Re-importing replaces rows by id: still two rows.
    assert _import(app_client, ds, "id,q\na,again\n").status_code == 200
    rows = _rows(app_client, ds)
    assert len(rows) == 2 and rows["a"]["input"] == "again"


def test_a_reimported_row_keeps_its_created(app_client):
    """Importing a row again (same id: a file exported and imported back, or fixed and
    imported again) gave it a new `created`, as if it were a new row."""
    ds = _dataset(app_client)
    app_client.post(
        f"/v1/dataset/{ds}/insert",
        json={"events": [{"id": "old", "input": 1, "created": "2024-01-02T03:04:05Z"}]},
    )
    assert _import(app_client, ds, "id,q\na,first\n").status_code == 200
    before = _rows(app_client, ds)
    body = "id,q\nold,changed\na,again\nnew,fresh\n"
    assert _import(app_client, ds, body).status_code == 200
    after = _rows(app_client, ds)
    assert after["old"]["input"] == "changed" and after["a"]["input"] == "again"
    assert after["old"]["created"].startswith("2024-01-02T03:04:05")
    assert after["a"]["created"] == before["a"]["created"]
    assert after["new"]["created"] > before["a"]["created"]
    # A deleted row imported again is a new row.
    delete = {"events": [{"id": "old", "_object_delete": True}]}
    assert app_client.post(f"/v1/dataset/{ds}/insert", json=delete).status_code == 200
    assert _import(app_client, ds, "id,q\nold,back\n").status_code == 200
    assert not _rows(app_client, ds)["old"]["created"].startswith("2024")


def test_rows_without_id_get_generated_ids(app_client):
    ds = _dataset(app_client)
    assert _import(app_client, ds, "q\nx\nx\nx\n").status_code == 200
    rows = _rows(app_client, ds)
    assert len(rows) == 3
    assert all(r["span_id"] == r["id"] == r["root_span_id"] for r in rows.values())


def test_jsonl_and_json_array(app_client):
    ds = _dataset(app_client)
    lines = [
        {"id": "j1", "input": {"q": 1}, "expected": "a", "metadata": {"m": 1}, "tags": ["t"]},
        {"id": "j2", "input": "plain", "expected": None},
    ]
    body = "\n".join(json.dumps(x) for x in lines) + "\n\n"
    response = _import(app_client, ds, body, fmt="jsonl")
    assert response.status_code == 200, response.text
    rows = _rows(app_client, ds)
    assert rows["j1"]["input"] == {"q": 1}
    assert rows["j1"]["expected"] == "a"
    assert rows["j1"]["metadata"] == {"m": 1}
    assert rows["j1"]["tags"] == ["t"]
    assert rows["j2"]["input"] == "plain"
    assert rows["j2"]["metadata"] is None
    # Two columns go to input (input and extra): each under its name.
    body = json.dumps({"id": "j3", "input": "plain", "extra": [1, {"x": True}]})
    assert _import(app_client, ds, body, fmt="jsonl").status_code == 200
    rows = _rows(app_client, ds)
    assert rows["j3"]["input"] == {"input": "plain", "extra": [1, {"x": True}]}

    ds2 = _dataset(app_client, "array")
    response = app_client.post(
        f"/v1/dataset/{ds2}/import",
        content=json.dumps([{"id": 5, "question": "q", "answer": {"a": 1}}]).encode(),
        params=[("map", "answer=expected")],
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 200, response.text
    rows = _rows(app_client, ds2)
    assert rows["5"]["input"] == "q"
    assert rows["5"]["expected"] == {"a": 1}


def test_preview_proposes_a_mapping_and_writes_nothing(app_client):
    ds = _dataset(app_client)
    response = app_client.post(
        f"/v1/dataset/{ds}/import/preview",
        params={"filename": "cases.csv"},
        content=CSV.encode(),
    )
    assert response.status_code == 200, response.text
    preview = response.json()
    assert preview["format"] == "csv"
    assert [c["name"] for c in preview["columns"]] == [
        "id",
        "question",
        "answer",
        "n",
        "flag",
        "obj",
        "tags",
    ]
    types = {c["name"]: c["types"] for c in preview["columns"]}
    assert types["answer"] == ["number", "string"]
    assert types["flag"] == ["boolean"]
    assert types["obj"] == ["object", "array"]
    assert preview["proposed_mapping"]["id"] == "id"
    assert preview["proposed_mapping"]["question"] == "input"
    assert preview["records"][0]["input"]["answer"] == 42
    assert preview["records"][0]["id"] == "r1"
    assert _rows(app_client, ds) == {}


BAD_FILES = [
    # The line was the next record's ("line 4"): the look past the short record moved it on.
    ("ragged.csv", "csv", b"a,b\n1,2\n3\n4,5\n", ["row 2 (line 3)", "expected 2 columns, found 1"]),
    (
        "line5.jsonl",
        "jsonl",
        b'{"a": 1}\n{"a": 2}\n{"a": 3}\n{"a": 4}\n{"a": 5,\n{"a": 6}\n',
        ["line 5", "invalid JSON"],
    ),
    ("latin1.csv", "csv", b"a,b\n1,caf\xe9\n", ["line 2", "not UTF-8"]),
    ("latin1.jsonl", "jsonl", b'{"a": "ok"}\n{"a": "caf\xe9"}\n', ["line 2", "not UTF-8"]),
    ("empty.csv", "csv", b"", ["empty"]),
    ("blank.jsonl", "jsonl", b"\n\n", ["empty"]),
    ("header.csv", "csv", b"a,b,c\n", ["header but no rows"]),
    ("empty.json", "json", b"[]", ["no rows"]),
    ("bad.json", "json", b'[{"a": 1},\n {"a": }]', ["line 2", "invalid JSON"]),
    ("scalar.jsonl", "jsonl", b'{"a": 1}\n[1, 2]\n', ["line 2", "JSON object"]),
    # A file in the other JSON format says so (it was only "invalid JSON", "JSON object").
    ("lines.json", "json", b'{"a": 1}\n{"a": 2}\n', ["line 2", "import it as jsonl"]),
    ("array.jsonl", "jsonl", b'[{"a": 1}, {"a": 2}]\n', ["line 1", "import it as json"]),
    ("dupcol.csv", "csv", b"a,a\n1,2\n", ["columns 1 and 2 are both named", "'a'"]),
    # A blank first line was "the file is empty"; a quote left open in a file whose columns
    # then came short was "row 1 (line 4): expected 2 columns, found 1".
    ("blankhead.csv", "csv", b"\na,b\n1,2\n", ["line 1", "header is empty"]),
    (
        "openquote.csv",
        "csv",
        b'a,b\n"1,2\n3,4\n',
        ["row 1 (line 2)", "quoted value is not closed", "end of the file"],
    ),
    (
        "badmeta.csv",
        "csv",
        b"q,meta\nx,{}\ny,12\n",
        ["row 2", "column 'meta'", "metadata must be a JSON object"],
    ),
    ("badtags.jsonl", "jsonl", b'{"q": 1, "tags": [1, 2]}\n', ["row 1", "column 'tags'"]),
    ("badid.jsonl", "jsonl", b'{"id": {"x": 1}, "q": 1}\n', ["row 1", "column 'id'"]),
]


@pytest.mark.parametrize(("name", "fmt", "body", "words"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_files_give_a_clear_error_and_write_nothing(app_client, name, fmt, body, words):
    ds = _dataset(app_client)
    maps = ["meta=metadata"] if name == "badmeta.csv" else []
    response = _import(app_client, ds, body, fmt=fmt, maps=maps)
    assert response.status_code == 400, response.text
    message = response.json()["error"]["message"]
    for word in words:
        assert word in message, message
    assert _rows(app_client, ds) == {}
    versions = app_client.get(f"/v1/dataset/{ds}/versions").json()["objects"]
    assert versions == []


def test_a_bad_row_late_in_a_big_file_writes_nothing(app_client):
    ds = _dataset(app_client)
    good = "".join(f"{i},q{i}\n" for i in range(60_000))
    body = "id,q\n" + good + "oops\n"
    response = _import(app_client, ds, body)
    assert response.status_code == 400
    assert "row 60001" in response.json()["error"]["message"]
    assert _rows(app_client, ds) == {}


def test_a_broken_file_with_long_cells_says_where_it_breaks(app_client):
    # The standard library's CSV reader, which finds where a file breaks, refused a cell over
    # 128 KiB: a 500 (csv.Error: field larger than field limit).
    ds = _dataset(app_client)
    long = '"' + "x" * 200_000 + '"'
    for body, words in [
        (f"a,b\n{long},1\n3\n", ["row 2 (line 3)", "expected 2 columns, found 1"]),
        (f'a,b\n{long},1\n"3,4\n', ["row 2 (line 3)", "quoted value is not closed"]),
        (f"{long[:-1]}x{long[1:]},b\n1,2\n3\n", ["row 2 (line 3)", "found 1"]),
    ]:
        response = _import(app_client, ds, body)
        assert response.status_code == 400, response.text
        message = response.json()["error"]["message"]
        assert all(w in message for w in words), message
    assert _rows(app_client, ds) == {}


def test_bad_mappings_are_refused(app_client):
    ds = _dataset(app_client)
    for maps, words in [
        (["nope=input"], ["'nope'", "does not have"]),
        (["question=output"], ["unknown target"]),
        (["question=input.a", "answer=input.a.b"], ["both write input.a"]),
        (["id=tags.x"], ["takes no key"]),
        # The route's parameter is map (the message said --map); a column given twice was
        # taken from its last option.
        (["=input"], ["map '=input'", "column=target"]),
        (["question=input", "question=expected"], ["maps column 'question' twice"]),
    ]:
        response = _import(app_client, ds, CSV, maps=maps)
        assert response.status_code == 400, (maps, response.text)
        message = response.json()["error"]["message"]
        assert all(w in message for w in words), message
    response = _import(app_client, ds, CSV, maps=["=input"])
    assert response.json()["error"]["message"].startswith("map '=input'")
    response = app_client.post(f"/v1/dataset/{ds}/import", content=b"a\n1\n")
    assert response.status_code == 400
    assert "format" in response.json()["error"]["message"]


def test_a_file_sent_as_a_form_is_refused(app_client):
    # curl -F sends a multipart form: with format=csv its boundary line was the header and
    # the part's headers were rows (imported, when they had as many commas as the header).
    ds = _dataset(app_client)
    for route in ("import", "import/preview"):
        response = app_client.post(
            f"/v1/dataset/{ds}/{route}",
            params={"format": "csv"},
            files={"file": ("cases.csv", b"q\nhello\n", "text/csv")},
        )
        assert response.status_code == 415, response.text
        assert "--data-binary" in response.json()["error"]["message"]
        response = app_client.post(
            f"/v1/dataset/{ds}/{route}",
            params={"format": "csv"},
            content=b"q\nhello\n",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 415, response.text
    assert _rows(app_client, ds) == {}
    # The web UI's octet-stream body with a file name is a file.
    response = app_client.post(
        f"/v1/dataset/{ds}/import",
        params={"filename": "cases.csv"},
        content=b"q\nhello\n",
        headers={"Content-Type": "application/octet-stream"},
    )
    assert response.status_code == 200, response.text


def test_a_header_cell_with_a_line_break_is_one_header(app_client):
    # The header was skipped as one line: the rest of a quoted header cell holding a line
    # break became a first row ({"a\nb": 'b"', "c": "c"}).
    ds = _dataset(app_client)
    body = '"a\nb",c\r\n1,2\r\n"x\ny",3\r\n'
    preview = app_client.post(
        f"/v1/dataset/{ds}/import/preview", params={"format": "csv"}, content=body
    )
    assert preview.status_code == 200, preview.text
    assert preview.json()["rows"] == [{"a\nb": 1, "c": 2}, {"a\nb": "x\ny", "c": 3}]
    response = _import(app_client, ds, body)
    assert response.status_code == 200, response.text
    assert response.json()["rows_read"] == 2
    inputs = sorted(row["input"]["c"] for row in _rows(app_client, ds).values())
    assert inputs == [2, 3]
    # A header alone is still a file without rows.
    response = _import(app_client, _dataset(app_client), '"a\nb",c\n')
    assert response.status_code == 400
    assert "header but no rows" in response.json()["error"]["message"]


def test_a_file_of_thousands_of_columns_imports(app_client):
    # A cell was typed by its own SQL expression: a CSV of 2,000 columns (one row) took
    # 14 s and failed with DuckDB's "Out of Memory Error"; a JSON file of 5,000 keys too.
    ds = _dataset(app_client)
    names = [f"c{i}" for i in range(2000)]
    body = ",".join(["id", *names]) + "\n"
    body += ",".join(["r1", *(str(i) for i in range(2000))]) + "\n"
    body += ",".join(["r2", *(["", '"x"', "true", "[1]", "a b"] * 400)]) + "\n"
    maps = ["c0=expected", "c1=metadata.a.b", "c2=metadata.a.c"]
    query = [("format", "csv"), *(("map", m) for m in maps)]
    preview = app_client.post(f"/v1/dataset/{ds}/import/preview", params=query, content=body)
    assert preview.status_code == 200, preview.text
    assert preview.json()["rows"][1]["c3"] == [1]
    response = app_client.post(f"/v1/dataset/{ds}/import", params=query, content=body)
    assert response.status_code == 200, response.text
    rows = _rows(app_client, ds)
    assert rows["r1"]["expected"] == 0
    assert rows["r1"]["metadata"] == {"a": {"b": 1, "c": 2}}
    assert list(rows["r1"]["input"]) == names[3:]  # in the file's order
    assert rows["r1"]["input"]["c1999"] == 1999
    assert rows["r2"]["metadata"] == {"a": {"b": "x", "c": True}}
    assert [rows["r2"]["input"][f"c{i}"] for i in range(3, 8)] == [[1], "a b", None, "x", True]
    keys = {f"k{i}": i for i in range(5000)}
    response = _import(app_client, _dataset(app_client), json.dumps([keys]), fmt="json")
    assert response.status_code == 200, response.text


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_values_nested_deeper_than_writes_allow_are_refused(app_client):
    # A CSV cell is parsed by DuckDB, which takes any depth, and a key path adds levels: a
    # value nested 300 deep was imported, then diff, restore and the preview were 500s.
    ds = _dataset(app_client)
    for body, fmt, maps, words in [
        (f'q\nx\n"{_nested(201)}"\n', "csv", [], ["row 2", "input nests deeper than 200"]),
        (f'q\n"{_nested(1100)}"\n', "csv", [], ["row 1", "input nests deeper"]),
        (f'q\n"{_nested(200)}"\n', "csv", ["q=expected.a"], ["row 1", "expected nests"]),
        (f'{{"q": {_nested(199)}}}\n', "jsonl", ["q=metadata.a.b"], ["row 1", "metadata"]),
    ]:
        for route in ("import", "import/preview"):
            query = [("format", fmt), *(("map", m) for m in maps)]
            response = app_client.post(f"/v1/dataset/{ds}/{route}", params=query, content=body)
            assert response.status_code == 400, (route, body[:20], response.text)
            message = response.json()["error"]["message"]
            assert all(w in message for w in words), message
    assert _rows(app_client, ds) == {}
    # 200 levels is allowed, and reads back everywhere.
    response = _import(app_client, ds, f'id,q\nr1,"{_nested(200)}"\n')
    assert response.status_code == 200, response.text
    first = response.json()["_xact_id"]
    assert _import(app_client, ds, "id,q\nr1,2\n").status_code == 200
    response = app_client.get(f"/v1/dataset/{ds}/diff", params={"from": first})
    assert response.status_code == 200, response.text
    assert response.json()["counts"]["changed"] == 1
    response = app_client.post(f"/v1/dataset/{ds}/restore", json={"version": first})
    assert response.status_code == 200, response.text
    assert _rows(app_client, ds)["r1"]["input"] == json.loads(_nested(200))


def test_cli_import_in_data_dir_mode_and_against_a_server(tmp_path, server):
    data = tmp_path / "cases.csv"
    data.write_text("id,question,answer\n1,a?,A\n2,b?,B\n1,c?,C\n")
    env = cli_env()
    result = ok(
        run_cli(
            "import",
            str(data),
            "--project",
            "p",
            "--dataset",
            "d",
            "--map",
            "answer=expected",
            "--data-dir",
            str(tmp_path / "dd"),
            env=env,
        )
    )
    assert "Imported 2 rows (3 read)" in result.stderr

    project = f"cli-imp-{uuid.uuid4().hex[:8]}"
    args = ("--url", server.url, "--api-key", server.api_key)
    ok(run_cli("import", str(data), "--project", project, "--dataset", "d", *args, env=env))
    with server.client() as client:
        project_id = client.post("/v1/project", json={"name": project}).json()["id"]
        ds = client.post("/v1/dataset", json={"project_id": project_id, "name": "d"}).json()
        rows = _rows(client, ds["id"])
    assert rows["1"]["input"] == {"question": "c?", "answer": "C"}
    # Given the project's id, the line names the project (it printed the id).
    again = ok(run_cli("import", str(data), "-p", project_id, "--dataset", "d", *args, env=env))
    assert f"into {project}/d as version" in again.stderr, again.stderr

    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b'{"a": 1}\n{"a": 2}\n{"a": 3}\n{"a": 4}\n{oops\n')
    result = run_cli("import", str(bad), "--project", project, "--dataset", "d2", *args, env=env)
    assert_cli_error(result, "line 5", "invalid JSON")
    result = run_cli(
        "import", str(data), "--project", project, "--dataset", "d", "--map", "bad", *args, env=env
    )
    assert_cli_error(result, "column=target")


def _cleanup_failed_import(backend, project: str, during) -> str:
    """Run the CLI's create-then-clean-up block around a failing import; ``during(dataset_id)``
    stands for what other clients do while the import runs. Answers the dataset id."""
    from tracelake.cli import _created_for_import

    seen = []
    with pytest.raises(RuntimeError, match="the import failed"):
        with _created_for_import(backend, project, "d") as (_, dataset_id):
            seen.append(dataset_id)
            during(dataset_id)
            raise RuntimeError("the import failed")
    return seen[0]


def test_a_failed_cli_import_keeps_what_others_wrote_meanwhile(server):
    """The CLI deleted the dataset and the project it had created when the import failed,
    with whatever other clients had written to them in the meantime."""
    from tracelake.cli_backends import RemoteBackend

    backend = RemoteBackend(server.url, server.api_key)
    with server.client() as client:

        def insert_a_row(dataset_id):
            row = {"id": "theirs", "input": "kept"}
            answer = client.post(f"/v1/dataset/{dataset_id}/insert", json={"events": [row]})
            assert answer.status_code == 200, answer.text

        project = f"cli-race-{uuid.uuid4().hex[:8]}"
        dataset_id = _cleanup_failed_import(backend, project, insert_a_row)
        assert list(_rows(client, dataset_id)) == ["theirs"]
        assert client.get("/v1/project", params={"project_name": project}).json()["objects"]

        # The dataset stays empty but someone logs to the new project: only the dataset goes.
        def log_to_the_project(dataset_id):
            project_id = client.get(f"/v1/dataset/{dataset_id}").json()["project_id"]
            rows = [{"project_id": project_id, "log_id": "g", "id": "span", "input": 1}]
            answer = client.post("/logs3", json={"rows": rows, "api_version": 2})
            assert answer.status_code == 200, answer.text

        project = f"cli-race-{uuid.uuid4().hex[:8]}"
        dataset_id = _cleanup_failed_import(backend, project, log_to_the_project)
        assert client.get(f"/v1/dataset/{dataset_id}").status_code == 404
        (kept,) = client.get("/v1/project", params={"project_name": project}).json()["objects"]
        logs = client.post(f"/v1/project_logs/{kept['id']}/fetch", json={}).json()["events"]
        assert [r["id"] for r in logs] == ["span"]

        # A dataset someone else created (and filled) between the CLI's check and its create
        # came back from the create-or-get as if new.
        project = f"cli-race-{uuid.uuid4().hex[:8]}"
        project_id = client.post("/v1/project", json={"name": project}).json()["id"]
        theirs = client.post("/v1/dataset", json={"project_id": project_id, "name": "d"}).json()
        insert_a_row(theirs["id"])
        backend.has_dataset = lambda *_: False
        dataset_id = _cleanup_failed_import(backend, project, lambda _: None)
        assert dataset_id == theirs["id"]
        assert list(_rows(client, dataset_id)) == ["theirs"]
    backend.close()


def test_a_failed_cli_import_removes_what_it_created_when_nobody_wrote_there(server):
    from tracelake.cli_backends import RemoteBackend

    backend = RemoteBackend(server.url, server.api_key)
    project = f"cli-clean-{uuid.uuid4().hex[:8]}"
    dataset_id = _cleanup_failed_import(backend, project, lambda _: None)
    backend.close()
    with server.client() as client:
        assert client.get(f"/v1/dataset/{dataset_id}").status_code == 404
        assert client.get("/v1/project", params={"project_name": project}).json()["objects"] == []


def test_a_failed_cli_import_on_a_data_dir_keeps_rows_written_meanwhile(tmp_path, capsys):
    from tracelake.cli_backends import LocalBackend

    backend = LocalBackend(tmp_path / "dd", create=True)
    try:

        def insert_a_row(dataset_id):
            backend.write_rows([{"dataset_id": dataset_id, "id": "theirs", "input": 1}])

        dataset_id = _cleanup_failed_import(backend, "p", insert_a_row)
        assert "Kept the dataset p/d created for the import" in capsys.readouterr().err
        rows = backend.catalog.list_objects(DATASETS, backend.principal.org_id, name="d")
        assert [r["id"] for r in rows] == [dataset_id]
        emptied = _cleanup_failed_import(backend, "q", lambda _: None)
        assert backend.catalog.find(DATASETS, emptied) is None
        assert not backend.has_project("q")
    finally:
        backend.close()


def _preview(client, ds, body: bytes, filename: str, maps=()):
    params = [("filename", filename), *(("map", m) for m in maps)]
    return client.post(f"/v1/dataset/{ds}/import/preview", params=params, content=body)


def test_jsonl_preview_maps_as_the_import_does(app_client):
    """The JSONL preview's columns were the keys of its first 20 rows, the import's the keys
    of every line: a key first appearing later was no column of the preview, and it changed
    how the shown rows were imported too (the one column `q`, the whole input in the
    preview, went under its name next to the new key on import). The preview now reads the
    keys of every line, so it shows exactly what the import writes."""
    ds = _dataset(app_client)
    head = b"".join(b'{"id": "r%d", "q": %d}\n' % (i, i) for i in range(20))
    body = head + b'{"id": "late", "q": 20, "ctx": "x"}\n'
    answer = _preview(app_client, ds, body, "late.jsonl")
    assert answer.status_code == 200, answer.text
    preview = answer.json()
    assert [c["name"] for c in preview["columns"]] == ["id", "q", "ctx"]
    assert preview["proposed_mapping"] == {"id": "id", "q": "input", "ctx": "input"}
    assert preview["records"][0]["input"] == {"q": 0, "ctx": None}
    imported = _import(app_client, ds, body, fmt="jsonl")
    assert imported.status_code == 200, imported.text
    assert imported.json()["mapping"] == preview["mapping"]
    rows = _rows(app_client, ds)
    for record in preview["records"]:
        assert rows[record["id"]]["input"] == record["input"], record
    # A mapping naming the late key is previewed as imported.
    answer = _preview(app_client, ds, body, "late.jsonl", maps=["ctx=metadata"])
    assert answer.status_code == 200, answer.text
    assert answer.json()["mapping"] == {"id": "id", "q": "input", "ctx": "metadata"}
    assert answer.json()["records"][0]["input"] == 0


def test_jsonl_preview_reads_every_line_for_its_keys(app_client):
    """The preview shows 20 rows but reads the keys of every line (as the import's first
    pass does): a broken line anywhere fails the preview as it fails the import, and a key
    no line has is refused."""
    ds = _dataset(app_client)
    head = b"".join(b'{"id": "r%d", "q": %d}\n' % (i, i) for i in range(20))
    many = b"".join(b'{"id": "s%d", "q": %d, "late": 1}\n' % (i, i) for i in range(200_000))
    body = head + many
    answer = _preview(app_client, ds, body, "big.jsonl")
    assert answer.status_code == 200, answer.text
    preview = answer.json()
    assert [r["id"] for r in preview["records"]] == [f"r{i}" for i in range(20)]
    assert [c["name"] for c in preview["columns"]] == ["id", "q", "late"]
    for response in (
        _preview(app_client, ds, body + b"{oops\n", "big.jsonl"),
        _import(app_client, ds, body + b"{oops\n", fmt="jsonl"),
    ):
        assert response.status_code == 400
        assert "line 200021: invalid JSON" in response.json()["error"]["message"]
    answer = _preview(app_client, ds, head, "head.jsonl", maps=["nope=metadata"])
    assert answer.status_code == 400
    assert "'nope', which the file does not have" in answer.json()["error"]["message"]
    # Objects with no keys at the start: the key of a later line is the column.
    body = b"{}\n" * 30 + b'{"k": 1}\n'
    answer = _preview(app_client, ds, body, "sparse.jsonl")
    assert answer.status_code == 200, answer.text
    assert [c["name"] for c in answer.json()["columns"]] == ["k"]


def test_columns_whose_names_differ_only_in_case_keep_their_own_values(app_client):
    """DuckDB matches column names regardless of case: columns 'a' and 'A' both read 'a',
    and a column '_ROW' was read as the row numbers (and its text became them)."""
    ds = _dataset(app_client)
    csv = "id,a,A,_ROW\nr1,1,2,x\nr2,3,4,y\n"
    jsonl = '{"id": "j1", "a": 1, "A": 2, "_ROW": "x", "ID": "other"}\n'
    for body, fmt in ((csv, "csv"), (jsonl, "jsonl")):
        preview = app_client.post(
            f"/v1/dataset/{ds}/import/preview", params={"format": fmt}, content=body.encode()
        )
        assert preview.status_code == 200, preview.text
        assert preview.json()["rows"][0]["A"] == 2
        assert _import(app_client, ds, body, fmt=fmt).status_code == 200
    rows = _rows(app_client, ds)
    assert rows["r1"]["input"] == {"a": 1, "A": 2, "_ROW": "x"}
    assert rows["r2"]["input"] == {"a": 3, "A": 4, "_ROW": "y"}
    assert rows["j1"]["input"] == {"a": 1, "A": 2, "_ROW": "x", "ID": "other"}
    # A bad cell is still named by its own row.
    bad = _import(app_client, ds, "a,A,_ROW\n1,2,x\n3,4,y\n", maps=["A=metadata"])
    assert bad.status_code == 400
    assert bad.json()["error"]["message"] == "row 1, column 'A': metadata must be a JSON object"


def test_a_json_object_with_rows_is_imported_as_its_rows(app_client):
    ds = _dataset(app_client)
    body = b'{"rows": [{"id": "a", "input": 1}, {"id": "b", "input": 2}]}'
    answer = _import(app_client, ds, body, fmt="json")
    assert answer.status_code == 200, answer.text
    assert {i: r["input"] for i, r in _rows(app_client, ds).items()} == {"a": 1, "b": 2}
    other = _import(app_client, ds, b'{"data": [{"id": "c"}]}', fmt="json")
    assert other.status_code == 400
    assert "array of objects" in other.json()["error"]["message"]


def test_an_interrupt_while_an_import_commits_waits_for_the_commit(tmp_path):
    """Ctrl-C while ``tracelake import`` waited for its commit returned at once: the staged
    file was deleted under the writer, so the rows were written or not by chance, and the
    command exited 130 while often every row had been written. The submitted commit is
    waited for and reported."""
    import signal
    import threading
    import time

    from tracelake.cli_backends import LocalBackend

    backend = LocalBackend(tmp_path / "dd", create=True)
    release, holding = threading.Event(), threading.Event()
    try:
        project_id = backend.create_project("p")["id"]
        dataset_id = backend.create_dataset(project_id, "d")["id"]
        source = tmp_path / "rows.csv"
        source.write_text("question\n" + "".join(f"q{i}\n" for i in range(500)))

        # The writer runs this until released, so the import's batch waits in its queue.
        def hold(_):
            holding.set()
            release.wait(30)

        threading.Thread(target=backend.store.exclusive, args=(hold,)).start()

        def interrupt_once_queued():
            # Once the writer holds, the queue holds the import's batch only (the hold itself
            # sat in it at first: the interrupt came while the file was staged, and stopped
            # the whole test run).
            holding.wait(30)
            deadline = time.monotonic() + 30
            while backend.store._queue.qsize() == 0 and time.monotonic() < deadline:
                time.sleep(0.01)
            signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
            time.sleep(0.3)
            release.set()

        threading.Thread(target=interrupt_once_queued).start()
        try:
            result = backend.import_file(dataset_id, source, "csv", {}, lambda done: None)
        except KeyboardInterrupt:
            pytest.fail("the interrupt escaped while the import was committing")
        assert result["rows_written"] == 500
        count = backend.store.read(
            lambda c: c.execute(
                "SELECT count(*) FROM live WHERE object_id = ?", [dataset_id]
            ).fetchone()[0]
        )
        assert count == 500
    finally:
        release.set()
        backend.close()


def test_cli_import_of_a_directory_or_a_pipe_says_what_it_is(tmp_path):
    """A directory, or a pipe such as ``<(gunzip -c rows.csv.gz)``, was "no such file"."""
    import os

    data_dir = str(tmp_path / "data")
    where = ("--project", "p", "--dataset", "d", "--data-dir", data_dir)
    assert_cli_error(run_cli("import", str(tmp_path), *where), "directory", str(tmp_path))
    fifo = tmp_path / "rows.csv"
    os.mkfifo(fifo)
    assert_cli_error(run_cli("import", str(fifo), *where), "not a regular file", "pipe")
    assert_cli_error(run_cli("import", str(tmp_path / "none.csv"), *where), "no such file")
    assert not (tmp_path / "data").exists()


def test_cli_import_of_a_file_without_a_known_extension_names_the_option(tmp_path):
    """The error was the route's: "give format=csv|json|jsonl, a Content-Type (…)", naming
    no option of the command."""
    source = tmp_path / "rows"
    source.write_text("question\nq1\n")
    where = ("--project", "p", "--dataset", "d", "--data-dir", str(tmp_path / "data"))
    result = run_cli("import", str(source), *where)
    text = assert_cli_error(result, "--format", "rows")
    assert "Content-Type" not in text
    ok(run_cli("import", str(source), "--format", "csv", *where))


class _TakesTheFile(http.server.BaseHTTPRequestHandler):
    """A server that has the project and dataset, reads a whole import and then does not
    answer (as a server does while it commits a big file)."""

    received = threading.Event()

    def _answer(self, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802 - has_project, has_dataset
        self._answer({"objects": [{"id": "x", "name": "p"}]})

    def do_POST(self):  # noqa: N802
        if "/import" not in self.path:  # create-or-get of the project and the dataset
            self.rfile.read(int(self.headers["Content-Length"]))
            self._answer({"id": "x", "name": "p"})
            return
        while True:  # the chunked body, to its end
            size = int(self.rfile.readline().strip(), 16)
            self.rfile.read(size + 2)
            if size == 0:
                break
        _TakesTheFile.received.set()
        time.sleep(30)

    def log_message(self, *args):
        pass


def test_ctrl_c_once_the_server_has_the_file_says_it_may_still_import_it(tmp_path):
    """Ctrl-C of `tracelake import --url` after the whole file was sent said nothing (and
    then only 'interrupted'), though the server imports it anyway."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _TakesTheFile)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    source = tmp_path / "rows.csv"
    source.write_text("q\n1\n2\n")
    url = f"http://127.0.0.1:{server.server_address[1]}"
    args = ["import", str(source), "--project", "p", "--dataset", "d"]
    try:
        proc = start_cli_against(url, *args)
        assert _TakesTheFile.received.wait(60)
        time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
    finally:
        server.shutdown()
        server.server_close()
    assert proc.returncode == 130, stderr
    assert stderr.strip() == (
        "interrupted: the server had the whole file and may still import it"
        " (see the dataset's versions)"
    )


# -- an exported dataset imports back unchanged: ids with spaces, [] tags, tags' order ---------
# A CSV id cell was trimmed (' a' became 'a', another row), an empty tag list became null and
# tags were sorted, though docs/datasets.md says an export imports back unchanged.


@pytest.mark.parametrize("fmt", ["csv", "json", "jsonl"])
def test_an_exported_dataset_imports_back_unchanged(app_client, fmt):
    source = _dataset(app_client, "source")
    rows = [
        {"id": " a", "input": {"q": 1}, "tags": []},
        {"id": "b ", "input": "x", "tags": ["z", "a"]},
        {"id": "c", "input": " 42", "tags": None},
        {"id": "  ", "input": 1, "expected": [1]},
    ]
    answer = app_client.post(f"/v1/dataset/{source}/insert", json={"events": rows})
    assert answer.status_code == 200, answer.text
    exported = app_client.get(f"/v1/dataset/{source}/export", params={"format": fmt})
    assert exported.status_code == 200, exported.text
    target = _dataset(app_client, "target")
    answer = _import(app_client, target, exported.content, fmt)
    assert answer.status_code == 200, answer.text

    def fields(dataset_id):
        got = _rows(app_client, dataset_id)
        return {
            i: [r[k] for k in ("input", "expected", "metadata", "tags")] for i, r in got.items()
        }

    assert fields(target) == fields(source)
    assert set(fields(target)) == {" a", "b ", "c", "  "}


def test_tags_keep_their_order_and_an_empty_list(app_client):
    ds = _dataset(app_client)
    csv = 'id,t1,t2\nr1,"b, a","[""c"", ""b""]"\nr2,[],\nr3,,\nr4," , ",\n'
    answer = _import(app_client, ds, csv, maps=("t1=tags", "t2=tags"))
    assert answer.status_code == 200, answer.text
    rows = _rows(app_client, ds)
    got = {i: r["tags"] for i, r in rows.items()}
    assert got == {"r1": ["b", "a", "c"], "r2": [], "r3": None, "r4": []}


def test_a_csv_integer_beyond_64_bits_is_read_as_every_write_reads_it(app_client):
    """An integer outside the 64-bit range is read as the nearest double on every write path
    (docs/write-semantics.md). A CSV import kept its digits, while its preview, a JSON file's
    import of the same value, diff and restore read a double: restoring the import's version
    changed the row, and a diff from it listed a change nobody made."""
    big, huge = 12345678901234567890123, 123456789012345678901234567890
    csv_text = (
        "id,input,expected,metadata\n"
        f'a,{big},"{{""n"": {huge}, ""s"": ""{big}""}}","{{""k"": 18446744073709551615}}"\n'
        f"b,order {big},-9223372036854775809,\n"
    )
    ds = _dataset(app_client)
    preview = app_client.post(
        f"/v1/dataset/{ds}/import/preview", params={"format": "csv"}, content=csv_text.encode()
    )
    assert preview.status_code == 200, preview.text
    response = _import(app_client, ds, csv_text)
    assert response.status_code == 200, response.text
    version = response.json()["_xact_id"]
    rows = _rows(app_client, ds)
    assert rows["a"]["input"] == float(big)
    assert rows["a"]["expected"] == {"n": float(huge), "s": str(big)}  # a string keeps digits
    assert rows["a"]["metadata"] == {"k": 18446744073709551615}  # within 64 bits: exact
    assert rows["b"]["input"] == f"order {big}"
    assert rows["b"]["expected"] == float(-9223372036854775809)
    records = {r["id"]: r for r in preview.json()["records"]}
    for key in ("a", "b"):
        for field in ("input", "expected", "metadata"):
            assert records[key][field] == rows[key][field], (key, field)

    json_ds = _dataset(app_client, "as-json")
    json_text = f'[{{"id": "a", "input": {big}, "expected": {{"n": {huge}}}}}]'
    assert _import(app_client, json_ds, json_text, fmt="json").status_code == 200
    assert _rows(app_client, json_ds)["a"]["input"] == rows["a"]["input"]

    written = app_client.post(
        f"/v1/dataset/{ds}/insert", json={"events": [{"id": "c", "input": 1}]}
    )
    assert written.status_code == 200, written.text
    diff = app_client.get(f"/v1/dataset/{ds}/diff", params={"from": version}).json()
    assert diff["counts"] == {"added": 1, "removed": 0, "changed": 0}, diff
    restored = app_client.post(f"/v1/dataset/{ds}/restore", json={"version": version})
    assert restored.status_code == 200, restored.text
    assert restored.json()["updated"] == 0, restored.json()
    assert _rows(app_client, ds)["a"]["input"] == float(big)


def test_csv_header_cells_are_trimmed_and_the_preview_and_import_say_so(app_client, tmp_path):
    """A CSV header cell " input " was the column input, silently. It still is (as a
    spreadsheet's "id, input" means), and the preview, the import and the CLI say so; a
    name that is empty, or another column's, once trimmed is a 400 that says why."""
    ds = _dataset(app_client)
    body = "id, input ,expected\nr1,q,a\n"
    note = "line 1: column 2's name ' input ' is read as 'input' (spaces around a name are dropped)"
    preview = _preview(app_client, ds, body.encode(), "t.csv")
    assert preview.status_code == 200, preview.text
    assert [c["name"] for c in preview.json()["columns"]] == ["id", "input", "expected"]
    assert preview.json()["mapping"] == {"id": "id", "input": "input", "expected": "expected"}
    assert preview.json()["warnings"] == [note]
    imported = _import(app_client, ds, body)
    assert imported.status_code == 200, imported.text
    assert imported.json()["warnings"] == [note]
    assert _rows(app_client, ds)["r1"]["input"] == "q"
    assert _import(app_client, ds, "a,b\n1,2\n").json()["warnings"] == []
    assert _import(app_client, ds, '[{" a": 1}]', fmt="json").json()["warnings"] == []
    for header, words in (
        ("a, a,b", ["columns 1 and 2 are both named 'a'", "' a'", "spaces around a name"]),
        ("a,b,a", ["columns 1 and 3 are both named 'a'"]),
        ("a,  ,b", ["column 2 has no name", "'  ' is only spaces"]),
    ):
        for response in (
            _preview(app_client, ds, f"{header}\n1,2,3\n".encode(), "t.csv"),
            _import(app_client, ds, f"{header}\n1,2,3\n"),
        ):
            assert response.status_code == 400, response.text
            message = response.json()["error"]["message"]
            assert message.startswith("line 1: "), message
            for word in words:
                assert word in message, (word, message)
    assert "spaces" not in _import(app_client, ds, "a,b,a\n1,2,3\n").json()["error"]["message"]
    data = tmp_path / "t.csv"
    data.write_text(body)
    result = ok(
        run_cli(
            "import",
            str(data),
            "--project",
            "p",
            "--dataset",
            "d",
            "--data-dir",
            str(tmp_path / "dd"),
            env=cli_env(),
        )
    )
    assert f"Note: {note}" in result.stderr, result.stderr


def test_a_quoted_key_in_a_target_is_one_key(app_client, tmp_path):
    """``map=q=input."a.b"`` wrote input.a.b (the quotes were dropped and the key split at
    its dot): a quoted key is one key, as in a BTQL path, and a quote left open is a 400
    saying where it opens."""
    ds = _dataset(app_client)
    body = "id,q,r,a.b\nr1,1,2,3\n"
    maps = ['q=input."a.b"', 'r=metadata."x=y"."say ""hi"""', "a.b=expected"]
    preview = _preview(app_client, ds, body.encode(), "t.csv", maps=maps)
    assert preview.status_code == 200, preview.text
    assert preview.json()["mapping"]["q"] == 'input."a.b"'
    assert preview.json()["records"][0]["input"] == {"a.b": 1}
    response = _import(app_client, ds, body, maps=maps)
    assert response.status_code == 200, response.text
    mapping = response.json()["mapping"]
    assert mapping == {
        "id": "id",
        "q": 'input."a.b"',
        "r": 'metadata."x=y"."say ""hi"""',
        "a.b": "expected",
    }
    row = _rows(app_client, ds)["r1"]
    assert (row["input"], row["expected"]) == ({"a.b": 1}, 3)
    assert row["metadata"] == {"x=y": {'say "hi"': 2}}
    # The mapping answered reads back as itself (sent as JSON).
    again = _import(app_client, ds, body, mapping=json.dumps(mapping))
    assert again.status_code == 200 and again.json()["mapping"] == mapping, again.text
    # Several columns in input: a column named a.b goes under its own name, one key.
    response = _import(app_client, ds, body, maps=["q=input.q", "a.b=input"])
    assert response.json()["mapping"]["a.b"] == 'input."a.b"', response.text
    assert _rows(app_client, ds)["r1"]["input"] == {"q": 1, "r": 2, "a.b": 3}
    response = _import(app_client, ds, body, maps=['q=input."a.b"', "a.b=input"])
    assert response.status_code == 400
    assert "'q' and 'a.b' both write input.\"a.b\"" in response.json()["error"]["message"]
    for target, words in (
        ('input."a.b', ["target 'input.\"a.b'", "the quote at position 7 is not closed"]),
        ('  input."a', ["the quote at position 9 is not closed"]),
        ('input."a"b', ["position 10", "a quoted key must be followed by '.'"]),
        ('input.a"b', ["position 8", "a quote may only open a key"]),
        ('input.""', ["has an empty key"]),
    ):
        for response in (
            _import(app_client, ds, body, maps=[f"q={target}"]),
            _preview(app_client, ds, body.encode(), "t.csv", maps=[f"q={target}"]),
        ):
            assert response.status_code == 400, (target, response.text)
            message = response.json()["error"]["message"]
            assert all(w in message for w in words), (words, message)
    data = tmp_path / "t.csv"
    data.write_text(body)
    args = ("--project", "p", "--dataset", "d", "--data-dir", str(tmp_path / "dd"))
    maps = ("--map", 'q=input."a.b"', "--map", "a.b=skip")
    ok(run_cli("import", str(data), *maps, *args, env=cli_env()))
    result = run_cli("import", str(data), "--map", 'q=input."a.b', *args, env=cli_env())
    assert_cli_error(result, "the quote at position 7 is not closed")
