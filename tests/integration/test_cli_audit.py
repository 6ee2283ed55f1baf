"""The command line as a new user meets it: objects of one name in two projects, output into
a closed pipe, key names, and each command's bad input (one readable line, never a
traceback)."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.integration.test_cli import assert_cli_error, cli_env, demo_dir, ok, run_cli

__all__ = ["demo_dir"]  # the shared fixture, imported for the tests here

# -- one name in two projects ---------------------------------------------------------------


def _two_goldens(tmp_path) -> str:
    """A data dir with a dataset 'golden' in project A (row 'a') and in project B (row 'b')."""
    data_dir = str(tmp_path / "data")
    for project in ("A", "B"):
        source = tmp_path / f"{project}.csv"
        source.write_text(f"id,q\n{project.lower()},1\n")
        ok(run_cli("import", str(source), "--project", project, "--dataset", "golden",
                   "--data-dir", data_dir))  # fmt: skip
    return data_dir


def _ids(path) -> list[str]:
    return [json.loads(line)["id"] for line in path.read_text().splitlines()]


def test_export_chooses_a_dataset_by_its_project(tmp_path):
    """`export dataset golden` could not choose between two projects' 'golden' (the server
    said "2 datasets are named 'golden': use an id", naming neither): --project chooses, by
    name or id, and without it the error names the projects."""
    data_dir = _two_goldens(tmp_path)
    out = tmp_path / "golden.jsonl"
    export = ("export", "dataset", "golden", "-o", str(out), "--data-dir", data_dir)
    assert_cli_error(
        run_cli(*export), "2 datasets are named 'golden', in projects 'A', 'B': give --project"
    )
    assert not out.exists()
    ok(run_cli(*export, "--project", "A"))
    assert _ids(out) == ["a"]
    ok(run_cli(*export, "-p", _project_id(data_dir, "B")))
    assert _ids(out) == ["b"]


def _project_id(data_dir: str, name: str) -> str:
    from tracelake.cli_backends import LocalBackend

    backend = LocalBackend(Path(data_dir))
    try:
        return backend.objects("project", name=name)[0]["id"]
    finally:
        backend.close()


def test_export_refuses_a_project_or_object_that_is_not_there(tmp_path):
    data_dir = _two_goldens(tmp_path)
    out = tmp_path / "golden.jsonl"
    export = ("export", "dataset", "golden", "-o", str(out), "--data-dir", data_dir)
    assert_cli_error(run_cli(*export, "-p", "C"), "project 'C' not found")
    assert_cli_error(
        run_cli("export", "dataset", "silver", "-o", str(out), "-p", "A", "--data-dir", data_dir),
        "dataset 'silver' not found in project 'A'",
    )
    assert_cli_error(
        run_cli("export", "project_logs", "A", "-o", str(out), "-p", "A", "--data-dir", data_dir),
        "project_logs: NAME is the project; leave out --project",
    )
    assert not out.exists()


def test_export_of_an_unknown_object_type_is_a_usage_error(tmp_path):
    """``export bogus …`` is a bad argument: exit 2 and Typer's line naming it and the help
    to read, as any other usage error (it exited 1, as a failure does). The file is not
    touched, and no database is opened."""
    out = tmp_path / "out.jsonl"
    data_dir = tmp_path / "data"
    for object_type in ("bogus", "projects", "Dataset", ""):
        result = run_cli("export", object_type, "x", "-o", str(out), "--data-dir", str(data_dir))
        assert result.returncode == 2, (object_type, result.stderr)
        (line,) = result.stderr.splitlines()
        assert line.startswith("error: Invalid value for 'object_type': "), line
        assert "project_logs, experiment, dataset" in line, line
        assert line.endswith("(see 'tracelake export --help')"), line
    assert not out.exists() and not data_dir.exists()


def test_export_from_a_server_chooses_an_experiment_by_its_project(server, tmp_path):
    """The same over --url, for experiments (which BTQL has no project_dataset() for)."""
    tag = uuid.uuid4().hex[:8]
    projects = {}
    with server.client() as client:
        for project in (f"amb-{tag}-1", f"amb-{tag}-2"):
            project_id = client.post("/v1/project", json={"name": project}).json()["id"]
            made = client.post("/v1/experiment", json={"project_id": project_id, "name": "same"})
            row = {"id": project, "input": 1}
            inserted = client.post(f"/v1/experiment/{made.json()['id']}/insert",
                                   json={"events": [row]})  # fmt: skip
            assert inserted.status_code == 200, inserted.text
            projects[project] = project_id
    first, second = projects
    out = tmp_path / "same.jsonl"
    export = ("export", "experiment", "same", "-o", str(out), "--url", server.url)
    export += ("--api-key", server.api_key)
    assert_cli_error(
        run_cli(*export),
        f"2 experiments are named 'same', in projects '{first}', '{second}': give --project",
    )
    ok(run_cli(*export, "-p", second))
    assert _ids(out) == [second]
    ok(run_cli(*export, "-p", projects[first]))
    assert _ids(out) == [first]


def test_import_takes_the_project_by_id(tmp_path):
    """`import --project` took a name only: a project's id made a new project named so."""
    data_dir = _two_goldens(tmp_path)
    source = tmp_path / "more.csv"
    source.write_text("id,q\nb2,2\n")
    project_id = _project_id(data_dir, "B")
    ok(run_cli("import", str(source), "-p", project_id, "--dataset", "golden",
               "--data-dir", data_dir))  # fmt: skip
    out = tmp_path / "golden.jsonl"
    ok(run_cli("export", "dataset", "golden", "-p", "B", "-o", str(out), "--data-dir", data_dir))
    assert sorted(_ids(out)) == ["b", "b2"]
    from tracelake.cli_backends import LocalBackend

    backend = LocalBackend(Path(data_dir))
    try:
        assert sorted(p["name"] for p in backend.objects("project")) == ["A", "B"]
    finally:
        backend.close()


# -- key names -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", [" ci", "ci ", "\tci\n"])
def test_the_key_route_refuses_a_name_with_white_space_around_it(app_client, name):
    """Other objects' names refused it with 400; a key's was saved with it (' ci' and 'ci'
    looked the same in `keys list` and as a review item's assignee)."""
    answer = app_client.post("/v1/api_key", json={"name": name, "role": "read"})
    assert answer.status_code == 400, answer.text
    message = answer.json()["error"]["message"]
    assert message == f"key name may not start or end with whitespace: {name!r}"
    names = [k["name"] for k in app_client.get("/v1/api_key").json()["objects"]]
    assert name not in names


def test_keys_create_refuses_a_name_with_white_space_around_it(tmp_path):
    data_dir = str(tmp_path / "data")
    ok(run_cli("keys", "create", "--data-dir", data_dir))  # bootstrap first
    result = run_cli("keys", "create", "--name", "ci ", "--data-dir", data_dir)
    assert_cli_error(result, "key name may not start or end with whitespace: 'ci '")
    listed = ok(run_cli("keys", "list", "--data-dir", data_dir))
    assert "ci " not in listed.stdout


# -- output into a closed pipe -------------------------------------------------------------

LOGS = "select: * | from: project_logs('demo')"


def _into_a_closed_pipe(*args: str, closed: str = "stdout") -> subprocess.CompletedProcess:
    """The command with its stdout (or stderr) a pipe whose reader is gone, as the pipe into
    `head -1` once head has its line: the first write fails with EPIPE."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    other = subprocess.PIPE
    streams = {"stdout": write_end, "stderr": other}
    if closed == "stderr":
        streams = {"stdout": other, "stderr": write_end}
    try:
        return subprocess.run(
            [sys.executable, "-m", "tracelake", *args],
            **streams,
            text=True,
            env=cli_env(),
            timeout=60,
        )
    finally:
        os.close(write_end)


@pytest.mark.parametrize(
    "args",
    [
        ["query", LOGS],
        ["query", LOGS, "-f", "jsonl"],
        ["query", LOGS, "--explain"],
        ["export", "project_logs", "demo", "-o", "/dev/stdout"],
        ["export", "project_logs", "demo", "-o", "-"],
        ["keys", "list"],
        ["orgs", "list"],
    ],
    ids=["table", "jsonl", "explain", "export", "export-stdout", "keys", "orgs"],
)
def test_output_into_a_closed_pipe_ends_quietly_with_141(demo_dir, args):
    """`tracelake query … | head -1` exited 1 (Typer's and Rich's answer to EPIPE), and an
    export into it printed "error: cannot write /dev/stdout: Broken pipe": now as `cat` in
    a shell, 128 + SIGPIPE, without a word."""
    result = _into_a_closed_pipe(*args, "--data-dir", demo_dir)
    assert result.returncode == 141, result.stderr
    assert result.stderr == ""


@pytest.mark.parametrize(
    ("args", "closed"),
    [(["--help"], "stdout"), (["version"], "stdout"), (["query", "nonsense"], "stderr")],
    ids=["help", "version", "error-line"],
)
def test_help_and_errors_into_a_closed_pipe_end_quietly(demo_dir, args, closed):
    """The help (drawn by Rich) and an error line into a closed stderr (`2>&1 | head -0`)."""
    if args[0] == "query":
        args = [*args, "--data-dir", demo_dir]
    result = _into_a_closed_pipe(*args, closed=closed)
    assert result.returncode == 141
    assert (result.stdout if closed == "stderr" else result.stderr) == ""


def test_a_pipe_into_head_ends_the_export_quietly(demo_dir):
    """A real `| head -1`: the export (~100 kB) fills the pipe (cut to one page), head takes
    its line and leaves; the export then ends with 141, leaving no message."""
    read_end, write_end = os.pipe()
    fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, 4096)
    exporter = subprocess.Popen(
        [sys.executable, "-m", "tracelake", "export", "project_logs", "demo"]
        + ["-o", "/dev/stdout", "--data-dir", demo_dir],
        stdout=write_end,
        stderr=subprocess.PIPE,
        env=cli_env(),
    )
    head = subprocess.Popen(["head", "-1"], stdin=read_end, stdout=subprocess.PIPE)
    os.close(read_end)
    os.close(write_end)
    line, _ = head.communicate(timeout=60)
    _, stderr = exporter.communicate(timeout=60)
    assert line.startswith(b"{") and line.count(b"\n") == 1
    assert exporter.returncode == 141, stderr
    assert stderr == b""


@pytest.mark.parametrize(
    "args",
    [["-f", "jsonl"], ["-f", "csv"], ["-f", "json"], ["-f", "jsonl", "-o", "-"]],
    ids=["jsonl", "csv", "json", "jsonl-stdout"],
)
def test_a_pipe_into_head_ends_the_query_with_141(demo_dir, args):
    """A real `| head -1` of a query's answer larger than the pipe holds: the write into
    the pipe was cut short when head left, without an error, and the query exited 0 (the
    README says 141, as `cat` would), a script's `set -o pipefail` seeing a success."""
    read_end, write_end = os.pipe()
    fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, 4096)
    query = subprocess.Popen(
        [sys.executable, "-m", "tracelake", "query", LOGS, *args, "--data-dir", demo_dir],
        stdout=write_end,
        stderr=subprocess.PIPE,
        env=cli_env(),
    )
    head = subprocess.Popen(["head", "-c", "100"], stdin=read_end, stdout=subprocess.PIPE)
    os.close(read_end)
    os.close(write_end)
    start, _ = head.communicate(timeout=60)
    _, stderr = query.communicate(timeout=60)
    assert len(start) == 100
    assert query.returncode == 141, stderr
    assert stderr == b""


def test_a_query_of_an_ambiguous_name_names_the_projects(tmp_path):
    """`tracelake query "from: dataset('golden')"` said "2 datasets are named 'golden': use an
    id", naming neither project: it names both, and how to name a dataset within one."""
    data_dir = _two_goldens(tmp_path)
    result = run_cli("query", "select: id | from: dataset('golden')", "--data-dir", data_dir)
    assert_cli_error(
        result,
        "2 datasets are named 'golden', in projects 'A', 'B':"
        " use an id or project_dataset('A', 'golden') at 1:28",
    )
    listed = run_cli("query", "select: id | from: project_dataset('B', 'golden')", "-f", "jsonl",
                     "--data-dir", data_dir)  # fmt: skip
    assert json.loads(ok(listed).stdout) == {"id": "b"}


# -- bad --url, --api-key and --data-dir values ----------------------------------------------

KEY = ("--api-key", "tl-audit-key-0123456789")


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("localhost:8000", "--url must be an http:// or https:// address, not 'localhost:8000'"),
        ("http://", "--url must be an http:// or https:// address, not 'http://'"),
        ("ftp://host", "--url must be an http:// or https:// address, not 'ftp://host'"),
        ("http://[::1", "--url is not a URL: 'http://[::1'"),
    ],
)
def test_a_url_no_request_can_go_to_is_named(url, said):
    """One without a scheme was "unsupported protocol 'localhost://'", and one httpx could
    not parse a traceback."""
    assert_cli_error(run_cli("keys", "list", "--url", url, *KEY), said)
    assert_cli_error(run_cli("automations", "list", "-p", "x", "--url", url, *KEY), said)


def test_a_url_from_the_environment_is_named_so():
    result = run_cli("query", "select: 1", *KEY, env=cli_env(TRACELAKE_URL="localhost:1"))
    assert_cli_error(result, "TRACELAKE_URL must be an http:// or https:// address")


def test_a_bad_url_is_named_before_a_missing_key():
    """A mistyped address with no key said only that a key was needed: given one, the
    command then refused the address it had been run with from the start."""
    result = run_cli("query", "select: 1", env=cli_env(TRACELAKE_URL="ftp://host"))
    assert_cli_error(result, "TRACELAKE_URL must be an http:// or https:// address")
    assert_cli_error(run_cli("keys", "list", "--url", "localhost:8000"), "--url must be")


@pytest.mark.parametrize("key", ["tl-clé-0123456789abcdef", "tl-0123456789\nabcdef"])
def test_an_api_key_no_header_can_carry_is_named(key):
    """A non-ASCII key (pasted from a document) was a UnicodeEncodeError traceback."""
    url = ("--url", "http://127.0.0.1:9")
    assert_cli_error(run_cli("keys", "list", *url, "--api-key", key), "--api-key holds")
    result = run_cli("keys", "list", *url, env=cli_env(TRACELAKE_API_KEY=key))
    assert_cli_error(result, "TRACELAKE_API_KEY holds", "ASCII")


@pytest.mark.parametrize("command", [["keys", "create"], ["demo"], ["serve"]])
def test_an_admin_key_no_header_can_carry_is_refused_on_a_data_dir(tmp_path, command):
    """README: a key holding a non-ASCII or control character is refused naming the flag or
    variable. On a data dir (and at serve's start) it was registered as an admin key that
    no client could send."""
    data_dir = tmp_path / "data"
    env = cli_env(TRACELAKE_API_KEY="tl-clé-0123456789abcdef")
    result = run_cli(*command, "--data-dir", str(data_dir), env=env)
    assert_cli_error(result, "TRACELAKE_API_KEY holds 'é'", "ASCII")
    assert not data_dir.exists()
    if command != ["serve"]:
        result = run_cli(
            *command, "--data-dir", str(data_dir), "--api-key", "tl-0123456789\tabcdef"
        )
        assert_cli_error(result, "--api-key holds '\\t'")
        assert not data_dir.exists()


def test_an_admin_key_no_header_can_carry_is_not_added_to_a_data_dir(demo_dir):
    result = run_cli("keys", "list", "--data-dir", demo_dir, "--api-key", "tl-clé-0123456789abcdef")
    assert_cli_error(result, "--api-key holds 'é'")
    listed = ok(run_cli("keys", "list", "--data-dir", demo_dir)).stdout
    assert "clé" not in listed and "tl-cl" not in listed


@pytest.mark.parametrize("command", [["keys", "list"], ["demo"], ["serve"]])
def test_an_empty_data_dir_is_refused_not_the_current_folder(tmp_path, command):
    """`--data-dir "$DIR"` with DIR unset was the current folder: `demo` made a database
    there."""
    result = subprocess.run(
        [sys.executable, "-m", "tracelake", *command, "--data-dir", ""],
        capture_output=True,
        text=True,
        env=cli_env(),
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "--data-dir" in lines[0] and "not an empty value" in lines[0]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", [["keys", "list"], ["serve"]])
def test_a_data_dir_under_an_unknown_users_home_is_one_line(command):
    """`~nobody-here/data` was a RuntimeError traceback ("Could not determine home
    directory")."""
    result = run_cli(*command, "--data-dir", "~nobody-here-at-all/data")
    assert_cli_error(result, "'~nobody-here-at-all/data' names the home folder of a user")


# -- -o - -----------------------------------------------------------------------------------


def _run_in(folder, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tracelake", *args],
        capture_output=True,
        env=cli_env(),
        cwd=folder,
        timeout=60,
    )


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_export_to_dash_writes_stdout(tmp_path, demo_dir, fmt):
    """`-o -` made a file named "-": it is standard output, as Unix tools take it."""
    result = _run_in(tmp_path, "export", "dataset", "trivia", "-o", "-", "-f", fmt,
                     "--data-dir", demo_dir)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr.decode().startswith("Wrote stdout (8 rows, ")
    assert list(tmp_path.iterdir()) == []
    if fmt == "jsonl":
        rows = [json.loads(line) for line in result.stdout.splitlines()]
        assert len(rows) == 8 and all(r["dataset_id"] for r in rows)
    elif fmt == "csv":
        assert len(result.stdout.decode().splitlines()) == 9
    else:
        import io

        import pyarrow.parquet as pq

        assert pq.read_table(io.BytesIO(result.stdout)).num_rows == 8


def test_query_to_dash_writes_stdout(tmp_path, demo_dir):
    query = "select: id | from: dataset('trivia') | sort: id | limit: 2"
    result = _run_in(tmp_path, "query", query, "-o", "-", "-f", "jsonl", "--data-dir", demo_dir)
    assert result.returncode == 0, result.stderr
    assert [json.loads(line) for line in result.stdout.splitlines()] == [{"id": "q0"}, {"id": "q1"}]
    assert list(tmp_path.iterdir()) == []


def test_query_json_ends_with_a_newline(tmp_path, demo_dir):
    """The json answer ended without one: at a terminal the prompt came on its line."""
    query = "select: id | from: dataset('trivia') | sort: id | limit: 2"
    printed = _run_in(tmp_path, "query", query, "-f", "json", "--data-dir", demo_dir)
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout.endswith(b"}\n") and printed.stdout.count(b"\n") == 1
    assert [r["id"] for r in json.loads(printed.stdout)["data"]] == ["q0", "q1"]
    written = _run_in(
        tmp_path, "query", query, "-f", "json", "-o", "a.json", "--data-dir", demo_dir
    )
    assert written.returncode == 0, written.stderr
    assert (tmp_path / "a.json").read_bytes() == printed.stdout


# -- --version, -h ---------------------------------------------------------------------------


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version_as_a_flag(flag):
    """`tracelake --version` was "No such option: --version"."""
    from tracelake import __version__

    assert ok(run_cli(flag)).stdout == f"{__version__}\n"


@pytest.mark.parametrize("command", [[], ["query"], ["keys", "list"], ["automations", "run"]])
def test_dash_h_is_the_help(command):
    """`tracelake query -h` was "No such option: -h"."""
    shown = ok(run_cli(*command, "-h")).stdout
    assert f"Usage: tracelake {' '.join(command)}".rstrip() in " ".join(shown.split())
