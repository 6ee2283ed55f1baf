"""The command line as a user runs it: a subprocess, against a data dir or a running server.
Expected failures print one readable ``error:`` line and exit 1, never a traceback."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.conftest import ADMIN_KEY, ServerProcess, free_port
from tracelake.server.app import create_app
from tracelake.settings import Settings

ANSI = re.compile(r"\x1b\[[0-9;]*m")
KEY = re.compile(r"^tl-[A-Za-z0-9_\-]{16,}$")
WIDE = {"COLUMNS": "250"}


def cli_env(**extra: str) -> dict[str, str]:
    """The environment without any TRACELAKE_* setting (and no forced terminal width)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("TRACELAKE_") and k not in ("COLUMNS", "LINES", "FORCE_COLOR")
    }
    env.update(extra)
    return env


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "tracelake", *args],
        capture_output=True,
        text=True,
        env=env if env is not None else cli_env(),
        timeout=60,
    )
    result.stdout = ANSI.sub("", result.stdout)
    result.stderr = ANSI.sub("", result.stderr)
    return result


def ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr, result.stderr
    return result


def assert_cli_error(result: subprocess.CompletedProcess, *words: str, one_line: bool = True):
    """Exit 1 and a readable ``error:`` message naming each word, without a traceback."""
    output = result.stdout + result.stderr
    assert result.returncode == 1, f"exit {result.returncode}\n{output}"
    assert "Traceback" not in output, output
    lines = [line.rstrip() for line in result.stderr.splitlines() if line.strip()]
    assert lines and lines[0].startswith("error:"), result.stderr
    if one_line:
        assert len(lines) == 1, f"expected one error line, got {len(lines)}:\n{result.stderr}"
    text = " ".join(line.strip() for line in lines)
    for word in words:
        assert word.lower() in text.lower(), (word, text)
    return text


def assert_usage_error(result: subprocess.CompletedProcess, *words: str) -> str:
    """Exit 2 and one ``error:`` line naming each word and the help to read."""
    assert result.returncode == 2, f"exit {result.returncode}\n{result.stdout}{result.stderr}"
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "--help')" in lines[0], lines[0]
    for word in words:
        assert word.lower() in lines[0].lower(), (word, lines[0])
    return lines[0]


def created_key(result: subprocess.CompletedProcess) -> tuple[str, str]:
    """(key id, plaintext key) from the output of ``keys create``."""
    lines = [line.strip() for line in result.stdout.splitlines() if line.strip()]
    assert KEY.match(lines[-1]), result.stdout
    match = re.search(r"Created key (\S+) \((\w+)\)", result.stdout)
    assert match, result.stdout
    return match.group(1), lines[-1]


def as_from_a_terminal() -> None:
    """A child's SIGINT as a terminal's Ctrl-C finds it (``preexec_fn``): ``make test`` run in
    the background (``&``, CI) hands its processes SIGINT ignored, and Python then keeps it
    ignored, so the Ctrl-C tests waited for nothing."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_cli_against(url: str, *args: str) -> subprocess.Popen:
    """The CLI running ``args`` against the server at ``url``, for a test to Ctrl-C."""
    return subprocess.Popen(
        [sys.executable, "-m", "tracelake", *args, "--url", url, "--api-key", "tl-x"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(),
        preexec_fn=as_from_a_terminal,
    )


def local_app(data_dir: Path) -> TestClient:
    """The app on a data dir the CLI wrote (after the CLI has exited)."""
    return TestClient(create_app(Settings(data_dir=data_dir)), base_url="http://127.0.0.1")


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory) -> str:
    """A data dir the ``demo`` command filled, shared by the tests that only read it."""
    data_dir = str(tmp_path_factory.mktemp("demo") / "data")
    ok(run_cli("demo", "--data-dir", data_dir))
    return data_dir


# -- data dir mode (no server) ------------------------------------------------------------


def test_keys_create_list_revoke_in_data_dir(tmp_path):
    data_dir = str(tmp_path / "data")
    first = ok(run_cli("keys", "create", "--role", "read", "--name", "ci", "--data-dir", data_dir))
    key_id, key = created_key(first)
    assert "(read)" in first.stdout
    # first use of an empty data dir announces the generated admin key once, on stderr
    assert "admin API key" in first.stderr
    assert re.search(r"tl-[A-Za-z0-9_\-]{16,}", first.stderr)

    listed = ok(run_cli("keys", "list", "--data-dir", data_dir, env=cli_env(**WIDE)))
    assert key_id in listed.stdout
    row = next(line for line in listed.stdout.splitlines() if key_id in line)
    assert "read" in row and "ci" in row
    assert key not in listed.stdout  # never the secret
    assert "admin API key" not in listed.stderr  # only on first use

    with local_app(Path(data_dir)) as app:
        login = app.post("/api/apikey/login", headers=auth(key))
        assert login.status_code == 200, login.text
        assert login.json()["org_info"][0]["name"] == "tracelake"
        denied = app.post("/v1/project", json={"name": "x"}, headers=auth(key))
        assert denied.status_code == 403  # a read key

    revoked = ok(run_cli("keys", "revoke", key_id, "--data-dir", data_dir))
    assert key_id in revoked.stdout
    listed = ok(run_cli("keys", "list", "--data-dir", data_dir, env=cli_env(**WIDE)))
    assert key_id not in listed.stdout
    assert "bootstrap" in listed.stdout

    with local_app(Path(data_dir)) as app:
        assert app.post("/api/apikey/login", headers=auth(key)).status_code == 401

    assert_cli_error(run_cli("keys", "revoke", key_id, "--data-dir", data_dir), "not found")


def test_orgs_create_in_data_dir(tmp_path):
    data_dir = str(tmp_path / "data")
    name = f"cli-org-{uuid.uuid4().hex[:8]}"
    result = ok(run_cli("orgs", "create", name, "--data-dir", data_dir))
    key = result.stdout.strip().splitlines()[-1].strip()
    assert KEY.match(key), result.stdout
    assert name in result.stdout

    with local_app(Path(data_dir)) as app:
        login = app.post("/api/apikey/login", headers=auth(key))
        assert login.status_code == 200, login.text
        assert login.json()["org_info"][0]["name"] == name

    # keys of the new org, by --org
    listed = ok(run_cli("keys", "list", "--org", name, "--data-dir", data_dir, env=cli_env(**WIDE)))
    assert "admin" in listed.stdout
    assert_cli_error(run_cli("orgs", "create", name, "--data-dir", data_dir), "already exists")
    assert_cli_error(
        run_cli("keys", "list", "--org", "no-such-org", "--data-dir", data_dir), "no-such-org"
    )


def test_demo_in_data_dir(tmp_path):
    data_dir = tmp_path / "data"
    key_id, key = created_key(ok(run_cli("keys", "create", "--data-dir", str(data_dir))))
    result = ok(run_cli("demo", "--data-dir", str(data_dir)))
    assert "demo" in result.stdout
    _check_demo(local_app(data_dir), key)


def _check_demo(client, key: str) -> None:
    with client:
        headers = auth(key)
        projects = client.get("/v1/project", params={"project_name": "demo"}, headers=headers)
        (project,) = projects.json()["objects"]
        logs = client.post(f"/v1/project_logs/{project['id']}/fetch", json={}, headers=headers)
        assert logs.json()["events"]
        datasets = client.get(
            "/v1/dataset", params={"project_id": project["id"]}, headers=headers
        ).json()["objects"]
        assert [d["name"] for d in datasets] == ["trivia"]
        rows = client.post(f"/v1/dataset/{datasets[0]['id']}/fetch", json={}, headers=headers)
        assert rows.json()["events"]
        experiments = client.get(
            "/v1/experiment", params={"project_id": project["id"]}, headers=headers
        ).json()["objects"]
        assert {"baseline", "improved"} <= {e["name"] for e in experiments}
        for experiment in experiments:
            url = f"/v1/experiment/{experiment['id']}/fetch"
            assert client.post(url, json={}, headers=headers).json()["events"]


def test_bad_role_is_one_error_line(tmp_path):
    data_dir = str(tmp_path / "data")
    ok(run_cli("keys", "create", "--data-dir", data_dir))  # bootstrap first
    result = run_cli("keys", "create", "--role", "superuser", "--data-dir", data_dir)
    assert_usage_error(result, "--role", "'superuser' is not one of admin, write, read")
    assert result.stdout.strip() == ""
    listed = ok(run_cli("keys", "list", "--data-dir", data_dir, env=cli_env(**WIDE)))
    assert "superuser" not in listed.stdout


@pytest.mark.parametrize(
    ("command", "words"),
    [
        (["keys", "create", "--name", " ci"], ("--name", "whitespace")),
        (["keys", "create", "--name", "me"], ("--name", "'me'")),
        (["orgs", "create", " acme"], ("organization name", "whitespace")),
        (["import", "FILE", "-p", "p", "--dataset", " "], ("--dataset", "non-empty")),
        (["import", "FILE", "-p", "", "--dataset", "d"], ("--project", "non-empty")),
        (["import", "FILE", "-p", "a\x01b", "--dataset", "d"], ("--project", "control characters")),
        (["orgs", "create", "a\x1bb"], ("organization name", "control characters")),
    ],
)
def test_an_invalid_argument_leaves_no_new_data_dir_behind(tmp_path, command, words):
    """On a new data dir, ``keys create --role bad`` made the database and printed the
    first admin key before it refused the role: arguments are checked first."""
    data_dir = tmp_path / "new"
    (tmp_path / "rows.csv").write_text("q\n1\n")
    command = [str(tmp_path / "rows.csv") if part == "FILE" else part for part in command]
    result = run_cli(*command, "--data-dir", str(data_dir))
    assert_cli_error(result, *words)
    assert result.stdout.strip() == ""
    assert "admin API key" not in result.stderr
    assert not data_dir.exists()


@pytest.mark.parametrize(
    "command",
    [
        ["query", "select: id | from: project_logs('p')"],
        ["export", "project_logs", "p", "-o", "out.jsonl"],
        ["keys", "list"],
        ["keys", "revoke", "some-key"],
        ["orgs", "list"],
    ],
)
def test_reading_a_data_dir_without_a_database_is_an_error(tmp_path, command):
    # A mistyped --data-dir must not become a new database with a new admin key.
    data_dir = tmp_path / "mistyped"
    result = run_cli(*command, "--data-dir", str(data_dir))
    assert_cli_error(result, "no tracelake database", str(data_dir))
    assert "admin API key" not in result.stderr
    assert not data_dir.exists()


@pytest.mark.parametrize("command", [("keys", "list"), ("keys", "create"), ("orgs", "list")])
def test_a_short_admin_key_in_the_environment_is_named(tmp_path, command):
    """TRACELAKE_API_KEY is registered wherever it is not known, by the commands on a data
    dir too; too short, it failed with the catalog's "an API key must be at least 16
    characters long", naming no setting, whatever the command."""
    data_dir = str(tmp_path / "data")
    ok(run_cli("keys", "create", "--data-dir", data_dir))
    result = run_cli(*command, "--data-dir", data_dir, env=cli_env(TRACELAKE_API_KEY="short"))
    assert_cli_error(result, "TRACELAKE_API_KEY", "16 characters")


def test_keys_list_shows_full_ids_when_piped(tmp_path):
    data_dir = str(tmp_path / "data")
    key_id, _ = created_key(ok(run_cli("keys", "create", "--data-dir", data_dir)))
    listed = ok(run_cli("keys", "list", "--data-dir", data_dir))
    assert key_id in listed.stdout


def test_keys_list_on_a_narrow_terminal_shows_whole_ids(tmp_path):
    """On an 80-column terminal the id was cut to "a5780fdb-9e72-43e3-…" (as was any long
    value), so it could not be copied into ``keys revoke``: ids stay whole on one line, and
    the other values fold onto more lines."""
    data_dir = str(tmp_path / "data")
    name = "the nightly export of the logs to the zebra bucket"
    key_id, _ = created_key(ok(run_cli("keys", "create", "--name", name, "--data-dir", data_dir)))
    terminal = cli_env(TTY_COMPATIBLE="1", COLUMNS="80")
    listed = ok(run_cli("keys", "list", "--data-dir", data_dir, env=terminal)).stdout
    assert key_id in listed
    assert "zebra" in listed and "bucket" in listed  # folded, not cut


# -- against a running server -------------------------------------------------------------


def test_cli_against_server(fresh_server):
    fresh_server.start()
    remote = ("--url", fresh_server.url, "--api-key", ADMIN_KEY)

    result = ok(run_cli("keys", "create", "--role", "read", "--name", "remote", *remote))
    key_id, key = created_key(result)
    with httpx.Client(base_url=fresh_server.url, timeout=30) as http:
        login = http.post("/api/apikey/login", headers=auth(key))
        assert login.status_code == 200, login.text

        listed = ok(run_cli("keys", "list", *remote, env=cli_env(**WIDE)))
        assert key_id in listed.stdout
        assert "remote" in listed.stdout

        ok(run_cli("keys", "revoke", key_id, *remote))
        assert http.post("/api/apikey/login", headers=auth(key)).status_code == 401
        assert_cli_error(run_cli("keys", "revoke", key_id, *remote), "404", "not found")
        # (refused before the server is asked, as on a data dir)
        refused = run_cli("keys", "create", "--role", "superuser", *remote)
        assert_usage_error(refused, "--role", "admin, write, read")

    ok(run_cli("demo", *remote))
    _check_demo(httpx.Client(base_url=fresh_server.url, timeout=30), ADMIN_KEY)

    # TRACELAKE_URL / TRACELAKE_API_KEY work like the options
    env = cli_env(TRACELAKE_URL=fresh_server.url, TRACELAKE_API_KEY=ADMIN_KEY, **WIDE)
    assert "bootstrap" in ok(run_cli("keys", "list", env=env)).stdout

    # the server holds the data dir: opening it directly fails with a pointer to --url
    locked = run_cli("keys", "list", "--data-dir", str(fresh_server.data_dir))
    assert_cli_error(locked, "--url", "in use", one_line=False)
    locked = run_cli("demo", "--data-dir", str(fresh_server.data_dir))
    assert_cli_error(locked, "--url", one_line=False)

    wrong = run_cli("keys", "list", "--url", fresh_server.url, "--api-key", "tl-wrong-key-0000")
    assert_cli_error(wrong, "401", "invalid API key")
    wrong = run_cli("demo", "--url", fresh_server.url, "--api-key", "tl-wrong-key-0000")
    assert_cli_error(wrong, "401")
    assert_cli_error(run_cli("keys", "list", "--url", fresh_server.url), "--api-key")

    # the server is unharmed by all this
    with fresh_server.client() as client:
        assert client.get("/v1/project").status_code == 200
        projects = client.get("/v1/project", params={"project_name": "demo"}).json()
        assert len(projects["objects"]) == 1


def test_ids_and_names_go_to_the_server_as_one_path_segment(server, tmp_path):
    """An id or a name from the command line is one segment of the URL: ``keys revoke
    ../project/<id>`` deleted the project (and said it revoked a key), and an export of a
    project whose name holds ``?`` asked for another path."""
    remote = ("--url", server.url, "--api-key", ADMIN_KEY)
    name = f"what?{uuid.uuid4().hex[:8]}#1"
    with server.client() as client:
        project = client.post("/v1/project", json={"name": name}).json()
        row = {"project_id": project["id"], "log_id": "g", "id": "r", "input": 1}
        assert client.post("/logs3", json={"rows": [row]}).status_code == 200
        result = run_cli("keys", "revoke", f"../project/{project['id']}", *remote)
        assert_cli_error(result, "404")
        assert client.get(f"/v1/project/{project['id']}").status_code == 200
        assert_cli_error(run_cli("keys", "revoke", "..", *remote), "404", "API key not found")
    out = tmp_path / "logs.jsonl"
    ok(run_cli("export", "project_logs", name, "-o", str(out), *remote))
    assert [line for line in out.read_text().splitlines() if '"id":"r"' in line]


def test_unreachable_server_is_an_error_line():
    url = f"http://127.0.0.1:{free_port()}"
    result = run_cli("keys", "list", "--url", url, "--api-key", ADMIN_KEY)
    assert_cli_error(result, "cannot reach", url, one_line=False)


def test_locked_data_dir_error_is_one_line(server):
    result = run_cli("keys", "list", "--data-dir", str(server.data_dir))
    assert_cli_error(result, "--url", "in use", one_line=True)


# -- serve with a generated key -----------------------------------------------------------


def _start_serve(data_dir: Path, port: int) -> tuple[subprocess.Popen, queue.Queue]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tracelake",
            "serve",
            "--data-dir",
            str(data_dir),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue = queue.Queue()

    def pump() -> None:
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return proc, lines


def _wait_ready(proc: subprocess.Popen, url: str, deadline: float) -> None:
    while time.time() < deadline:
        assert proc.poll() is None, "server exited early"
        try:
            if httpx.get(f"{url}/version", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError("server did not start")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_serve_generates_and_prints_admin_key(tmp_path):
    data_dir = tmp_path / "empty"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc, lines = _start_serve(data_dir, port)
    output: list[str] = []
    try:
        key = None
        deadline = time.time() + 30
        while key is None and time.time() < deadline:
            try:
                line = lines.get(timeout=max(0.1, deadline - time.time()))
            except queue.Empty:
                break
            if line is None:
                break
            output.append(line)
            if line.strip().startswith("tl-"):
                key = line.strip()
        assert key, "no generated key printed:\n" + "".join(output)
        assert KEY.match(key), key
        _wait_ready(proc, url, time.time() + 30)

        login = httpx.post(f"{url}/api/apikey/login", headers=auth(key), timeout=30)
        assert login.status_code == 200, login.text
        (org,) = login.json()["org_info"]
        assert org["name"] == "tracelake"
        assert org["api_url"].rstrip("/") == url
        bad = httpx.post(f"{url}/api/apikey/login", headers=auth(key + "x"), timeout=30)
        assert bad.status_code == 401
        project = httpx.post(
            f"{url}/v1/project", json={"name": "made-with-generated-key"}, headers=auth(key)
        )
        assert project.status_code == 200, project.text
    finally:
        _stop(proc)

    # a restart on the same data dir prints no new key, and the printed one still works
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc, lines = _start_serve(data_dir, port)
    try:
        _wait_ready(proc, url, time.time() + 30)
        login = httpx.post(f"{url}/api/apikey/login", headers=auth(key), timeout=30)
        assert login.status_code == 200, login.text
    finally:
        _stop(proc)
    rest = []
    while (line := lines.get(timeout=10)) is not None:
        rest.append(line)
    assert not any(line.strip().startswith("tl-") for line in rest), "".join(rest)


def test_a_server_stopped_with_ctrl_c_exits_quietly(tmp_path):
    """The objects frozen at start (gc.freeze) were never collected, so at exit DuckDB's
    bindings printed ~40 lines of "nanobind: leaked …" after every Ctrl-C."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc, lines = _start_serve(tmp_path / "data", port)
    try:
        _wait_ready(proc, url, time.time() + 30)
        httpx.post(f"{url}/btql", json={"query": "select: 1"}, timeout=30)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    finally:
        _stop(proc)
    output = []
    while (line := lines.get(timeout=10)) is not None:
        output.append(line)
    assert not [line for line in output if "leaked" in line], "".join(output)


# -- serve refuses what it cannot use, in one line, before it creates anything ---------------


def _serve(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return run_cli("serve", "--log-level", "warning", *args, env=env)


def test_serve_refuses_a_port_out_of_range(tmp_path):
    result = _serve("--data-dir", str(tmp_path / "data"), "--port", "99999")
    assert_cli_error(result, "--port", "65535", "99999")
    assert not (tmp_path / "data").exists()


def test_serve_names_the_variable_of_a_port_out_of_range(tmp_path):
    """README: a setting's bad value stops the command "with one line naming the variable";
    TRACELAKE_PORT=70000 was "the port must be between 1 and 65535"."""
    result = _serve("--data-dir", str(tmp_path / "data"), env=cli_env(TRACELAKE_PORT="70000"))
    assert_cli_error(result, "TRACELAKE_PORT must be 65535 or less, not '70000'")
    assert not (tmp_path / "data").exists()


def test_serve_refuses_a_port_that_is_not_a_number_in_the_environment(tmp_path):
    result = _serve("--data-dir", str(tmp_path / "data"), env=cli_env(TRACELAKE_PORT="http"))
    assert_cli_error(result, "TRACELAKE_PORT", "whole number", "'http'")


@pytest.mark.parametrize(
    ("name", "value", "minimum"),
    [
        ("TRACELAKE_SCHEDULER_TICK_SECONDS", "-5", "0"),  # it turned the scheduler off unsaid
        ("TRACELAKE_QUERY_TIMEOUT_SECONDS", "0", "1"),
        ("TRACELAKE_MAX_BODY_BYTES", "-1", "1"),
        # "-1" said "must be 0 or more" (README: "at least 0"), and then 0 was refused too.
        ("TRACELAKE_PORT", "0", "1"),
    ],
)
def test_serve_refuses_a_whole_number_setting_below_its_minimum(tmp_path, name, value, minimum):
    result = _serve("--data-dir", str(tmp_path / "data"), env=cli_env(**{name: value}))
    assert_cli_error(result, name, f"must be {minimum} or more", repr(value))
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("value", ["tracelake.example.com", "ftp://example.com", "https://"])
def test_serve_refuses_a_public_url_clients_could_not_use(tmp_path, value):
    """A TRACELAKE_PUBLIC_URL without a scheme went out as the SDK's api_url (login) and in
    attachment URLs, where no client could use it; the server started without a word."""
    env = cli_env(TRACELAKE_PUBLIC_URL=value)
    result = _serve("--data-dir", str(tmp_path / "data"), "--port", str(free_port()), env=env)
    assert_cli_error(result, "TRACELAKE_PUBLIC_URL", "http://", repr(value))
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize(
    ("value", "words"),
    [("a\x01b", "control characters (U+0001 at character 2)"), ("o" * 1025, "too long")],
)
@pytest.mark.parametrize("command", ["serve", "demo"])
def test_an_org_name_no_organization_may_have_is_named(tmp_path, command, value, words):
    """A TRACELAKE_ORG_NAME with a control character (or too long): serve stopped at its
    first start with a traceback (exit 3), demo said "organization name must not …"
    without naming the variable and left a database without an organization behind."""
    serving = ["--log-level", "warning", "--port", str(free_port())] if command == "serve" else []
    result = run_cli(
        command, *serving, "--data-dir", str(tmp_path / "data"),
        env=cli_env(TRACELAKE_ORG_NAME=value),
    )  # fmt: skip
    assert_cli_error(result, "TRACELAKE_ORG_NAME", words)
    assert not (tmp_path / "data").exists()


def test_serve_refuses_a_setting_before_loading_the_server(tmp_path):
    """A refused setting is said before the server's modules load (about a second)."""
    args = ["serve", "--data-dir", str(tmp_path / "data"), "--log-level", "verbose"]
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "tracelake", *args],
        capture_output=True,
        text=True,
        env=cli_env(),
    )
    assert result.returncode == 2 and "--log-level" in result.stderr, result.stderr
    assert "tracelake.cli" in result.stderr  # what -X importtime lists
    assert "tracelake.server.app" not in result.stderr


def test_serve_refuses_an_unknown_log_level_before_making_a_database(tmp_path):
    """uvicorn looked the level up after the data dir was opened: a misspelt --log-level
    made the database, then ended in a KeyError traceback."""
    data_dir = tmp_path / "data"
    port = str(free_port())
    result = run_cli("serve", "--data-dir", str(data_dir), "--port", port, "--log-level", "verbose")
    assert_usage_error(result, "--log-level", "debug", "'verbose'")
    assert not data_dir.exists()


def test_serve_on_a_taken_port_creates_no_database_and_announces_no_key(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _serve("--data-dir", str(tmp_path / "data"), "--port", str(port))
    assert_cli_error(result, "cannot listen", f"127.0.0.1:{port}", "in use")
    assert "tl-" not in result.stdout
    assert not (tmp_path / "data").exists()


def test_serve_on_a_host_that_does_not_resolve(tmp_path):
    result = _serve("--data-dir", str(tmp_path / "data"), "--host", "no-such-host.invalid")
    assert_cli_error(result, "cannot listen", "no-such-host.invalid")


def test_serve_on_a_data_dir_it_cannot_create(tmp_path):
    (tmp_path / "file").write_text("not a directory")
    data_dir = tmp_path / "file" / "data"
    result = _serve("--data-dir", str(data_dir), "--port", str(free_port()))
    assert_cli_error(result, "cannot use the data dir", str(data_dir))


def test_serve_on_a_data_dir_another_server_holds(server):
    """The line told to point the command at the server with --url, an option serve has not."""
    result = _serve("--data-dir", str(server.data_dir), "--port", str(free_port()))
    text = assert_cli_error(result, "in use by another process", "serving it already")
    assert "--url" not in text


@pytest.mark.parametrize("command", ["serve", "keys"])
def test_a_database_that_cannot_be_opened_is_one_error_line(tmp_path, command):
    """A database DuckDB cannot open (on a read-only file system, not a DuckDB file) was a
    traceback: only a lock was turned into one line."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "tracelake.duckdb").write_text("not a database")
    if command == "serve":
        result = _serve("--data-dir", str(data_dir), "--port", str(free_port()))
    else:
        result = run_cli("keys", "list", "--data-dir", str(data_dir))
    assert_cli_error(result, "cannot use the data dir", str(data_dir), "not a valid DuckDB")


def test_cli_queries_on_a_data_dir_stop_after_the_configured_timeout(tmp_path, monkeypatch):
    """`tracelake query` and `tracelake export` on a data dir stopped a query after 30 s (the
    default of run_query) whatever TRACELAKE_QUERY_TIMEOUT_SECONDS said; a server uses it."""
    import io

    import tracelake.export.queries as queries
    from tracelake.cli_backends import LocalBackend
    from tracelake.export.stream import ExportRequest

    seen = []
    real = queries.run_query

    def spy(*args, timeout: float = 30, **kwargs):
        seen.append(timeout)
        return real(*args, timeout=timeout, **kwargs)

    monkeypatch.setattr(queries, "run_query", spy)
    monkeypatch.delenv("TRACELAKE_API_KEY", raising=False)
    monkeypatch.setenv("TRACELAKE_QUERY_TIMEOUT_SECONDS", "123")
    backend = LocalBackend(tmp_path / "dd", create=True)
    try:
        project = backend.create_project("p")
        backend.write_rows([{"project_id": project["id"], "log_id": "g", "id": "r", "input": 1}])
        content, _ = backend.query("select: id | from: project_logs('p')", "json")
        assert b'"r"' in content
        out = io.BytesIO()
        request = ExportRequest("project_logs", "p", "jsonl", None, "spans")
        backend.export(request, out, lambda **_: None)
        assert b'"r"' in out.getvalue()
    finally:
        backend.close()
    assert len(seen) >= 2 and set(seen) == {123}


@pytest.mark.parametrize(
    ("host", "shown"),
    [("127.0.0.1", "127.0.0.1"), ("localhost", "localhost"), ("::1", "[::1]"), ("::", "[::]")],
)
def test_serve_writes_an_ipv6_host_in_brackets_in_its_url(host, shown):
    from tracelake.cli import _url_host

    assert f"http://{_url_host(host)}:8000" == f"http://{shown}:8000"


def test_query_table_of_an_empty_answer_prints_its_header(demo_dir, server):
    """The table's columns came from the rows only, so an empty answer printed nothing; they
    come from the answer's schema, on a data dir as from a server."""
    data_dir = demo_dir
    query = "select: id, input | from: project_logs('demo') | filter: id = 'no such row'"
    local = ok(run_cli("query", query, "--data-dir", data_dir))
    assert local.stdout.splitlines() == ["id\tinput"]
    with server.client() as client:
        name = f"empty-{uuid.uuid4().hex[:8]}"
        assert client.post("/v1/project", json={"name": name}).status_code == 200
    remote = ("--url", server.url, "--api-key", server.api_key)
    query = f"select: id, input | from: project_logs('{name}') | limit: 5"
    assert ok(run_cli("query", query, *remote)).stdout.splitlines() == ["id\tinput"]


@pytest.mark.parametrize("command", [["demo"], ["keys", "create"], ["orgs", "create", "o"]])
def test_a_command_that_creates_the_database_in_an_unusable_data_dir_is_one_line(tmp_path, command):
    (tmp_path / "file").write_text("not a directory")
    data_dir = tmp_path / "file" / "data"
    result = run_cli(*command, "--data-dir", str(data_dir))
    assert_cli_error(result, "cannot use the data dir", str(data_dir))


@pytest.mark.parametrize("command", ["serve", "demo"])
def test_a_data_dir_that_is_a_file_is_named_so(tmp_path, command):
    """A --data-dir naming a file said "cannot use the data dir …: File exists" (mkdir's
    words), as if the trouble were that something existed."""
    data_dir = tmp_path / "data"
    data_dir.write_text("not a folder")
    if command == "serve":
        result = _serve("--data-dir", str(data_dir), "--port", str(free_port()))
    else:
        result = run_cli("demo", "--data-dir", str(data_dir))
    assert_cli_error(result, str(data_dir), "it is a file, not a folder")
    assert data_dir.read_text() == "not a folder"


def test_names_and_values_with_brackets_are_printed_as_they_are(tmp_path):
    """Rich read a "[/x]" in a name, a file name or a value as a closing tag: ``orgs create``
    created the organization, then died with a MarkupError traceback before printing its
    only admin key; an import was written but ended in a traceback; a table on a terminal
    and an error line naming the object did the same."""
    data_dir = str(tmp_path / "data")
    created = ok(run_cli("orgs", "create", "acme[/x]", "--data-dir", data_dir))
    assert "acme[/x]" in created.stdout
    assert KEY.match(created.stdout.strip().splitlines()[-1].strip()), created.stdout

    source = tmp_path / "[bold]rows.csv"
    source.write_text("question\n[/oops] [bold]b[/bold]\n")
    imported = ok(
        run_cli(
            "import",
            str(source),
            "--project",
            "p[/x]",
            "--dataset",
            "d[/x]",
            "--data-dir",
            data_dir,
        )
    )
    assert "p[/x]/d[/x]" in imported.stderr

    query = "select: input | from: dataset('d[/x]')"
    terminal = cli_env(TTY_COMPATIBLE="1", **WIDE)
    table = ok(run_cli("query", query, "--data-dir", data_dir, env=terminal))
    assert "[/oops] [bold]b[/bold]" in table.stdout

    missing = run_cli(
        "export",
        "project_logs",
        "no[/x]",
        "-o",
        str(tmp_path / "out.jsonl"),
        "--data-dir",
        data_dir,
    )
    assert_cli_error(missing, "project 'no[/x]' not found")


@pytest.mark.parametrize(
    ("command", "variables"),
    [
        (["serve"], ["TRACELAKE_DATA_DIR", "TRACELAKE_HOST", "TRACELAKE_PORT"]),
        (["query"], ["TRACELAKE_DATA_DIR", "TRACELAKE_URL", "TRACELAKE_API_KEY"]),
        (["automations", "list"], ["TRACELAKE_URL", "TRACELAKE_API_KEY"]),
    ],
)
def test_help_names_each_options_environment_variable(command, variables):
    """The help's "[env: TRACELAKE_DATA_DIR]" was read as Rich markup and dropped."""
    shown = ok(run_cli(*command, "--help", env=cli_env(**WIDE))).stdout
    for variable in variables:
        assert f"env: {variable}" in shown, shown


@pytest.mark.parametrize("command", [["list"], ["create"], ["run"], ["restore"]])
def test_the_automation_commands_help_names_no_data_dir(command):
    """They talk to a server only (README): their --url help said "else the data dir is
    opened" and their --api-key help "on a data dir, the first organization's admin key"."""
    shown = ok(run_cli("automations", *command, "--help", env=cli_env(**WIDE))).stdout
    assert "data dir" not in shown, shown
    assert "The running server to talk to (required)." in shown


def test_the_import_help_says_where_a_column_not_mapped_goes():
    """A column named expected goes to expected unmapped (README); the help said "Unnamed
    columns go to input"."""
    shown = ok(run_cli("import", "--help", env=cli_env(**WIDE))).stdout
    shown = " ".join(shown.replace("│", " ").split())  # (the box's sides, where lines wrap)
    assert "Unnamed columns go to input" not in shown
    assert "or to the field it is named after (id, input, expected, metadata, tags)" in shown


def test_export_and_import_print_no_blank_line_when_piped(tmp_path):
    """The progress bar is for a terminal: piped, it left a blank line before the last line
    (``Wrote …``, ``Imported …`` or the ``error:`` line)."""
    data_dir = str(tmp_path / "data")
    ok(run_cli("demo", "--data-dir", data_dir))
    out = str(tmp_path / "logs.jsonl")
    exported = ok(run_cli("export", "project_logs", "demo", "-o", out, "--data-dir", data_dir))
    assert exported.stderr.startswith("Wrote "), repr(exported.stderr)
    source = tmp_path / "rows.csv"
    source.write_text("question,answer\nq1,a1\n")
    imported = ok(run_cli("import", str(source), "--project", "demo", "--dataset", "d",
                          "--data-dir", data_dir))  # fmt: skip
    assert imported.stderr.startswith("Imported 1 row (1 read)"), repr(imported.stderr)
    source.write_text("question,answer\nq1,a1\nq2\n")
    failed = run_cli("import", str(source), "--project", "demo", "--dataset", "d",
                     "--data-dir", data_dir)  # fmt: skip
    assert failed.returncode == 1 and failed.stderr.startswith("error: row 2"), failed.stderr


def test_messages_are_not_wrapped_at_80_columns_when_piped(tmp_path):
    """Piped, Rich wrapped messages at its default 80 columns: ``orgs create``'s line came
    out as "…; admin API" and "key:", ``query --explain``'s as "…; sizes" and "from:"."""
    data_dir = str(tmp_path / "data")
    name = "an organization with a name long enough to pass the eightieth column"
    created = ok(run_cli("orgs", "create", name, "--data-dir", data_dir)).stdout.splitlines()
    assert created[0].startswith(f"Created organization {name} (")
    assert created[0].endswith("admin API key:"), created
    query = "select: id | from: project_logs('demo') | limit: 1"
    ok(run_cli("demo", "--data-dir", data_dir))
    explained = ok(run_cli("query", query, "--explain", "--data-dir", data_dir)).stdout
    assert explained.splitlines()[1].endswith("sizes from:"), explained


def test_query_table_to_a_file_is_its_tab_separated_lines(tmp_path, demo_dir):
    """``-o`` with the default table format wrote the answer's JSON (as with --format json,
    less its cursor) instead of the table: it writes what a pipe gets."""
    data_dir = demo_dir
    query = "select: id, input | from: dataset('trivia') | sort: id | limit: 2"
    piped = ok(run_cli("query", query, "--data-dir", data_dir)).stdout
    out = tmp_path / "rows.tsv"
    ok(run_cli("query", query, "-o", str(out), "--data-dir", data_dir))
    assert out.read_text() == piped
    assert piped.splitlines()[0] == "id\tinput"


@pytest.mark.parametrize("fmt", ["table", "csv", "jsonl"])
def test_a_full_page_says_how_to_ask_for_the_next(demo_dir, fmt):
    """Only json and ``-o`` showed the next page's cursor: a table, CSV or JSONL on stdout
    stopped at the limit (1,000 rows by default) without a word."""
    data_dir = demo_dir
    query = "select: id | from: dataset('trivia') | sort: id | limit: 3"
    first = ok(run_cli("query", query, "-f", fmt, "--data-dir", data_dir))
    cursor = re.search(r"\| cursor: '([^']+)'", first.stderr)
    assert cursor, first.stderr
    following = f"{query} | cursor: '{cursor.group(1)}'"
    second = ok(run_cli("query", following, "-f", fmt, "--data-dir", data_dir))
    assert set(first.stdout.splitlines()[-3:]).isdisjoint(second.stdout.splitlines())
    last = ok(run_cli("query", query.replace("limit: 3", "limit: 100"), "--data-dir", data_dir))
    assert "cursor" not in last.stderr


@pytest.mark.parametrize("fmt", ["table", "csv"])
def test_a_full_page_from_a_server_says_how_to_ask_for_the_next(tmp_path, server, fmt):
    """From a server (``--url``) the table, the default format, said nothing at a full page
    and ``-o`` wrote no next cursor: the CLI read the cursor from the ``x-bt-cursor``
    header, which only the non-JSON formats carry (the table is read as JSON)."""
    with server.client() as client:
        name = f"full-{uuid.uuid4().hex[:8]}"
        project_id = client.post("/v1/project", json={"name": name}).json()["id"]
        rows = [{"project_id": project_id, "log_id": "g", "id": f"r{i}"} for i in range(5)]
        assert client.post("/logs3", json={"rows": rows}).status_code == 200
    remote = ("--url", server.url, "--api-key", server.api_key)
    query = f"select: id | from: project_logs('{name}') | limit: 3"
    first = ok(run_cli("query", query, "-f", fmt, *remote))
    cursor = re.search(r"\| cursor: '([^']+)'", first.stderr)
    assert cursor, first.stderr
    second = ok(run_cli("query", f"{query} | cursor: '{cursor.group(1)}'", "-f", fmt, *remote))
    assert len(second.stdout.splitlines()) == 3  # the header and the 2 rows left
    assert "cursor" not in second.stderr
    out = tmp_path / "rows.tsv"
    written = ok(run_cli("query", query, "-f", fmt, "-o", str(out), *remote))
    assert f"next cursor: {cursor.group(1)}" in written.stderr.replace("\n", "")


def test_a_data_dir_on_the_command_line_wins_over_the_url_in_the_environment(tmp_path, server):
    """With TRACELAKE_URL set in the shell, ``--data-dir`` was ignored: ``demo --data-dir
    new`` loaded the demo into the server and ``keys list --data-dir`` listed its keys."""
    data_dir = tmp_path / "data"
    env = cli_env(TRACELAKE_URL=server.url, TRACELAKE_API_KEY=server.api_key)
    key_id, _ = created_key(ok(run_cli("keys", "create", "--data-dir", str(data_dir), env=env)))
    assert (data_dir / "tracelake.duckdb").is_file()
    assert key_id in ok(run_cli("keys", "list", "--data-dir", str(data_dir))).stdout
    with server.client() as client:
        assert key_id not in {k["id"] for k in client.get("/v1/api_key").json()["objects"]}
    both = run_cli("keys", "list", "--data-dir", str(data_dir), "--url", server.url, env=env)
    assert_cli_error(both, "--url or --data-dir, not both")


def test_explain_with_an_output_file_is_refused(tmp_path, demo_dir):
    """``--explain -o plan.txt`` printed the plan and wrote no file, exit 0."""
    data_dir = demo_dir
    query = "select: id | from: project_logs('demo')"
    out = tmp_path / "plan.txt"
    result = run_cli("query", query, "--explain", "-o", str(out), "--data-dir", data_dir)
    assert_cli_error(result, "--explain", "-o")
    assert not out.exists()


def test_the_api_key_flag_is_the_admin_key_of_a_data_dir(tmp_path):
    """--api-key wins over TRACELAKE_API_KEY, as the README says, on a data dir too: it was
    ignored there, so a new data dir got a generated admin key instead of the one given."""
    data_dir = tmp_path / "data"
    mine = "tl-mine-0123456789abcdef"
    created = ok(run_cli("demo", "--data-dir", str(data_dir), "--api-key", mine))
    assert "admin API key" not in created.stderr  # nothing generated
    with local_app(data_dir) as app:
        assert app.post("/api/apikey/login", headers=auth(mine)).status_code == 200
    short = run_cli("keys", "list", "--data-dir", str(data_dir), "--api-key", "short")
    assert_cli_error(short, "--api-key", "16 characters")


def test_a_data_dir_under_home_in_the_environment_is_expanded(tmp_path):
    """TRACELAKE_DATA_DIR=~/data from an env file (no shell to expand it) made a folder
    named "~" in the working directory."""
    env = cli_env(HOME=str(tmp_path / "home"), TRACELAKE_DATA_DIR="~/data")
    result = subprocess.run(
        [sys.executable, "-m", "tracelake", "keys", "create"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "home" / "data" / "tracelake.duckdb").is_file()
    assert not (tmp_path / "~").exists()


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["query"], ["missing argument", "tracelake query --help"]),
        (["serve", "--port", "abc"], ["--port", "integer", "tracelake serve --help"]),
        (["keys", "list", "--bogus"], ["no such option: --bogus", "tracelake keys list --help"]),
        (["nosuch"], ["no such command 'nosuch'", "tracelake --help"]),
    ],
)
def test_a_usage_error_is_one_line_and_exit_2(args, words):
    """A missing argument, an unknown option or command, a value of the wrong kind: one
    ``error:`` line naming it and the help to read, exit 2 (it was a box of several lines
    under the usage)."""
    result = run_cli(*args)
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for word in words:
        assert word.lower() in lines[0].lower(), (word, lines[0])
    assert result.stdout == ""


def test_help_and_no_arguments_still_print_the_help():
    assert run_cli("keys", "list", "--help").returncode == 0
    bare = run_cli("keys")
    assert bare.returncode == 2 and "Usage: tracelake keys" in bare.stdout + bare.stderr


def test_the_command_line_loads_the_store_only_to_open_a_data_dir():
    """Help, usage errors and the commands against a server do not load DuckDB and the
    catalog: two of the catalog's names, imported at the top of the CLI's backends, loaded
    them for every command (about 0.2 s of CPU at each start)."""
    heavy = ("duckdb", "pyarrow", "tracelake.store.catalog", "tracelake.store.store")
    code = f"import sys, tracelake.cli; print([m for m in {heavy!r} if m in sys.modules])"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == "[]"


def test_a_data_dir_command_loads_jsonschema_only_to_check_a_schema():
    """The store's modules (which every command on a data dir loads) load jsonschema, about
    50 ms, only when a dataset's schema is checked: it was loaded at every start."""
    code = "import sys, tracelake.store.catalog; print('jsonschema' in sys.modules)"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == "False"


def test_a_query_that_opens_with_a_comment_is_not_an_option(tmp_path, demo_dir):
    """A query whose first line is a ``--`` comment was taken for an option by the command
    line parser: "No such option: -- the slow ones …", exit 2, wherever it stood."""
    data_dir = demo_dir
    query = "-- the first row\nselect: id | from: dataset('trivia') | sort: id | limit: 1"
    first = ok(run_cli("query", query, "-f", "jsonl", "--data-dir", data_dir)).stdout
    assert len(first.splitlines()) == 1 and '"id"' in first
    after = ok(run_cli("query", "--data-dir", data_dir, "-f", "jsonl", query)).stdout
    assert after == first
    sql = "-- a comment = x\nSELECT id FROM dataset('trivia') ORDER BY id LIMIT 1"
    assert ok(run_cli("query", sql, "-f", "jsonl", "--data-dir", data_dir)).stdout == first
    unknown = run_cli("query", "select: 1", "--bogus", "--data-dir", data_dir)
    assert unknown.returncode == 2 and "no such option: --bogus" in unknown.stderr.lower()
    attached = tmp_path / "my rows.jsonl"  # a short option's attached value keeps its space
    ok(run_cli("query", query, "-fjsonl", f"-o{attached}", "--data-dir", data_dir))
    assert attached.read_text() == first


def test_a_demo_that_fails_midway_leaves_no_half_demo(tmp_path):
    """A demo that failed after its project was made (here: the server refuses the logs'
    request body) left a 'demo' project with part of the data, and every later ``demo``
    said "A 'demo' project exists already; nothing loaded", exit 0."""
    small = ServerProcess(tmp_path / "data", env={"TRACELAKE_MAX_BODY_BYTES": "20000"}).start()
    try:
        remote = ("--url", small.url, "--api-key", small.api_key)
        assert_cli_error(run_cli("demo", *remote), "413")
        with small.client() as client:
            assert client.get("/v1/project").json()["objects"] == []
        assert_cli_error(run_cli("demo", *remote), "413")  # tried again, not "exists"
    finally:
        small.stop()


def test_control_characters_of_values_do_not_reach_the_terminal(tmp_path):
    """A table on a terminal wrote values as they were: a logged "\\x1b[2J" cleared the
    screen of whoever queried it, a title or hyperlink sequence went to the terminal. They
    are shown as ``\\x1b`` and the like; a piped table keeps them (tab-separated lines)."""
    data_dir = tmp_path / "data"
    key = "tl-escapes-0123456789abcdef"
    ok(run_cli("keys", "create", "--data-dir", str(data_dir), "--api-key", key))
    value = "before\x1b[2J\x1b]0;owned\x07\x9b1mafter"
    with local_app(data_dir) as app:
        project_id = app.post("/v1/project", json={"name": "esc"}, headers=auth(key)).json()["id"]
        row = {"project_id": project_id, "log_id": "g", "id": "e1", "input": value}
        assert app.post("/logs3", json={"rows": [row]}, headers=auth(key)).status_code == 200
    query = ("query", "select: id, input | from: project_logs('esc')", "--data-dir", str(data_dir))
    terminal = ok(run_cli(*query, env=cli_env(TTY_COMPATIBLE="1", COLUMNS="200"))).stdout
    assert "\x1b" not in terminal and "\x07" not in terminal and "\x9b" not in terminal
    assert "before\\x1b[2J\\x1b]0;owned\\x07\\x9b1mafter" in terminal
    piped = ok(run_cli(*query)).stdout
    assert piped.splitlines()[1] == f"e1\t{value}"


def test_a_table_writes_values_as_the_json_answer_does(demo_dir):
    """The table (a terminal's or piped) wrote a boolean as Python's ``False`` (CSV and
    JSON say ``false``) and read an integer beyond 2^64 as a float, losing its digits."""
    data_dir = demo_dir
    query = (
        "select: is_root, 123456789012345678901234 as big, 0.5 as half"
        " | from: dataset('trivia') | limit: 1"
    )
    table = ok(run_cli("query", query, "--data-dir", data_dir)).stdout
    assert table.splitlines()[1] == "true\t123456789012345678901234\t0.5"
    csv = ok(run_cli("query", query, "-f", "csv", "--data-dir", data_dir)).stdout
    assert csv.splitlines()[1] == 'true,"123456789012345678901234","0.5"'


def test_a_url_that_is_not_the_servers_address_is_one_line(server, tmp_path):
    """A --url naming the web UI's path answers a redirect: ``keys list`` was a
    JSONDecodeError traceback, and ``export`` replaced the file with an empty one, exit 0."""
    remote = ("--url", f"{server.url}/app", "--api-key", server.api_key)
    assert_cli_error(run_cli("keys", "list", *remote), "302", "is --url")
    assert_cli_error(run_cli("query", "select: 1", "-f", "csv", *remote), "405")
    out = tmp_path / "logs.jsonl"
    out.write_text("kept\n")
    exported = run_cli("export", "project_logs", "demo", "-o", str(out), *remote)
    assert_cli_error(exported, "302", "is --url")
    assert out.read_text() == "kept\n"


def test_audit_log_with_the_summary_shape_names_the_option(tmp_path):
    """The HTTP route's words were printed, naming no option."""
    data_dir = tmp_path / "data"
    ok(run_cli("keys", "create", "--data-dir", str(data_dir)))
    out = tmp_path / "out"
    args = ["export", "project_logs", "p", "-o", str(out), "--shape", "summary", "--audit-log"]
    assert_cli_error(
        run_cli(*args, "--data-dir", str(data_dir)),
        "--audit-log applies to the spans and traces shapes",
    )
    assert not out.exists()


EXPORT = ["export", "project_logs", "p", "-o", "{out}"]
AUTOMATION = ["automations", "create", "-p", "p", "--name", "n"]


@pytest.mark.parametrize(
    ("args", "option", "allowed"),
    [
        (
            ["query", "select: 1", "--format", "bogus"],
            "--format",
            "table, json, jsonl, csv, parquet",
        ),
        ([*EXPORT, "--shape", "bogus"], "--shape", "spans, traces, summary"),
        ([*EXPORT, "-f", "bogus"], "--format", "json, jsonl, csv, parquet"),
        ([*EXPORT, "-f", ""], "--format", "json, jsonl, csv, parquet"),
        (["export", "bogus", "p", "-o", "{out}"], "object_type", "project_logs, experiment"),
        (["import", "{file}", "-p", "p", "--dataset", "d", "-f", "xml"], "--format", "csv, json"),
        (["keys", "create", "--role", "bogus"], "--role", "admin, write, read"),
        (["serve", "--log-level", "bogus"], "--log-level", "critical, error, warning, info"),
        (
            [*AUTOMATION, "--path", "file:///x", "--definition", "bogus"],
            "--definition",
            "log_traces, log_spans, btql_query",
        ),
        ([*AUTOMATION, "--path", "file:///x", "--format", "bogus"], "--format", "jsonl, parquet"),
        ([*AUTOMATION, "--path", "file:///x", "--interval", "5"], "--interval", "300 to 86400"),
        ([*AUTOMATION, "--path", "file:///x", "--interval", "86401"], "--interval", "300 to"),
        (
            [*AUTOMATION, "--retention", "bogus", "--days", "3"],
            "--retention",
            "project_logs, experiment, dataset",
        ),
        # These were the server's refusal, exit 1, naming config keys the command line
        # never shows (config.retention_days, config.grace_period_hours, config.max_rows).
        ([*AUTOMATION, "--retention", "dataset", "--days", "-1"], "--days", "0 to 36500"),
        ([*AUTOMATION, "--retention", "dataset", "--days", "36501"], "--days", "0 to 36500"),
        (
            [*AUTOMATION, "--retention", "dataset", "--days", "3", "--grace-hours", "-1"],
            "--grace-hours",
            "0 to 8760",
        ),
        ([*AUTOMATION, "--path", "file:///x", "--max-rows", "0"], "--max-rows", "at least 1"),
    ],
)
def test_a_value_outside_an_options_fixed_set_is_a_usage_error(tmp_path, args, option, allowed):
    """README: a value of the wrong kind is a usage error, exit 2. A value outside an option's
    fixed set (``export --shape bogus``, ``query --format bogus``, …) exited 1, as a failure
    does, some only after the data dir had been opened. Now: one line naming the option, the
    values it takes and the help to read; nothing is opened or written."""
    data_dir = tmp_path / "data"
    source = tmp_path / "rows.csv"
    source.write_text("a\n1\n")
    out = tmp_path / "out"
    args = [a.format(file=source, out=out) for a in args]
    tail = [] if args[0] == "automations" else ["--data-dir", str(data_dir)]
    line = assert_usage_error(run_cli(*args, *tail), option, allowed)
    assert "Invalid value for" in line, line
    assert not out.exists() and not data_dir.exists()


def test_query_takes_the_json_ast(demo_dir, server):
    """A JSON AST was "unexpected character '{' at 1:1": it runs, as POST /btql takes it, on
    a data dir as on a server."""
    data_dir = demo_dir
    with server.client() as client:
        name = f"ast-{uuid.uuid4().hex[:8]}"
        project_id = client.post("/v1/project", json={"name": name}).json()["id"]
        row = {"project_id": project_id, "log_id": "g", "id": "r1", "input": "hi"}
        assert client.post("/logs3", json={"rows": [row]}).status_code == 200
    remote = ("--url", server.url, "--api-key", server.api_key)
    for project, where in ((name, remote), ("demo", ("--data-dir", data_dir))):
        ast = (
            '{"select": [{"expr": {"op": "ident", "name": ["id"]}, "alias": "id"}],'
            ' "from": {"op": "function", "name": {"op": "ident", "name": ["project_logs"]},'
            f' "args": [{{"op": "literal", "value": "{project}"}}], "shape": "summary"}},'
            ' "limit": 1}'
        )
        answer = ok(run_cli("query", ast, "-f", "jsonl", *where))
        assert len(answer.stdout.splitlines()) == 1 and '"id":' in answer.stdout
    assert_cli_error(
        run_cli("query", '{"select": ', "--data-dir", data_dir), "starts with '{' but is not JSON"
    )


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["query", "select: 1"], "interrupted"),
        (["export", "dataset", "d", "-o", "{out}"], "interrupted"),
        (["automations", "run", "nightly", "-p", "p"], "the run may go on in the server"),
        (["automations", "restore", "keep", "-p", "p"], "the restore may go on in the server"),
    ],
)
def test_ctrl_c_says_interrupted_and_exits_130(tmp_path, args, said):
    """Ctrl-C of a command waiting for a server exited 130 without a word."""
    listener = socket.create_server(("127.0.0.1", 0))  # accepts, never answers
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    out = tmp_path / "out.jsonl"
    args = [a.replace("{out}", str(out)) for a in args]
    try:
        proc = start_cli_against(url, *args)
        connection, _ = listener.accept()  # the command waits for its first answer
        time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=30)
        connection.close()
    finally:
        listener.close()
    assert proc.returncode == 130, (stdout, stderr)
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("interrupted"), stderr
    assert said in lines[0]
    assert not out.exists() and list(tmp_path.iterdir()) == []  # nothing left behind


def test_a_table_with_rows_of_several_lines_draws_a_line_between_rows(tmp_path):
    """A value with a newline (or one folded onto more lines) made a row of several lines
    that ran into the next one: nothing showed where a row ended."""
    data_dir = tmp_path / "data"
    key = "tl-multiline-0123456789abcdef"
    ok(run_cli("keys", "create", "--data-dir", str(data_dir), "--api-key", key))
    with local_app(data_dir) as app:
        project_id = app.post("/v1/project", json={"name": "ml"}, headers=auth(key)).json()["id"]
        rows = [
            {"project_id": project_id, "log_id": "g", "id": "a", "input": "one\ntwo"},
            {"project_id": project_id, "log_id": "g", "id": "b", "input": "three"},
        ]
        assert app.post("/logs3", json={"rows": rows}, headers=auth(key)).status_code == 200
    select = "select: id, input | from: project_logs('ml') | sort: id"
    query = ("query", select, "--data-dir", str(data_dir))
    wide = cli_env(TTY_COMPATIBLE="1", COLUMNS="100")
    table = ANSI.sub("", ok(run_cli(*query, env=wide)).stdout).splitlines()
    assert [line.split("│")[1:3] for line in table if line.startswith("│")] == [
        [" a  ", " one   "],
        ["    ", " two   "],
        [" b  ", " three "],
    ]
    assert sum(line.startswith("├") for line in table) == 1  # between a and b
    # One line per row: no lines between them.
    one_line = ("query", select + " | filter: id = 'b'", "--data-dir", str(data_dir))
    assert not any(line.startswith("├") for line in ok(run_cli(*one_line, env=wide)).stdout)
    # Folded onto more lines on a narrow terminal: lines between the rows too.
    folded = ("query", "select: id, 'a long value to fold' as v | from: project_logs('ml')")
    narrow = cli_env(TTY_COMPATIBLE="1", COLUMNS="20")
    lines = ok(run_cli(*folded, "--data-dir", str(data_dir), env=narrow)).stdout.splitlines()
    assert sum(line.startswith("├") for line in lines) == 1
    # Piped, each row stays one tab-separated line.
    assert ok(run_cli(*query)).stdout.splitlines()[1:] == ["a\tone\\ntwo", "b\tthree"]


def test_ctrl_c_during_a_statement_on_a_data_dir_says_interrupted(capsys):
    """On a data dir, DuckDB's client turns a Ctrl-C during a statement into
    RuntimeError('Query interrupted') (seen with `query` on a 300,000-row dataset): a
    traceback and exit 1. (When DuckDB notices the signal depends on the statement and the
    machine, so the error is raised here as DuckDB raises it.)"""
    import typer

    from tracelake.cli import _run

    def statement():
        raise RuntimeError("Query interrupted")

    with pytest.raises(typer.Exit) as stopped:
        _run(statement)
    assert stopped.value.exit_code == 130
    assert capsys.readouterr().err.strip() == "interrupted"

    def other():
        raise RuntimeError("something else")

    with pytest.raises(RuntimeError, match="something else"):  # not taken for a Ctrl-C
        _run(other)


def _close_stdout() -> None:
    os.close(1)


def test_serve_started_without_stdout_serves(tmp_path):
    """``tracelake serve >&-`` (stdout closed outright, as a daemon may start it: not a pipe
    and not /dev/null) ended in a traceback from uvicorn's logging setup and served nothing.
    It serves: its lines (the first admin key too) go to stderr, and stdout is /dev/null,
    so the database or a socket never takes its place."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = ["serve", "--data-dir", str(tmp_path / "new"), "--host", "127.0.0.1"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "tracelake", *args, "--port", str(port)],
        env=cli_env(),
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_close_stdout,
    )
    lines: queue.Queue = queue.Queue()

    def pump() -> None:
        for line in proc.stderr:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    try:
        seen = []
        # (a bound only against a hang: the key comes as the server starts)
        while (line := lines.get(timeout=60)) is not None:
            seen.append(line)
            if line.strip().startswith("tl-"):
                break
        key = seen[-1].strip() if seen else ""
        assert KEY.match(key), "".join(seen)
        assert not any("Traceback" in line for line in seen), "".join(seen)
        assert any("serving" in line for line in seen), seen
        _wait_ready(proc, url, time.time() + 30)
        login = httpx.post(f"{url}/api/apikey/login", headers=auth(key), timeout=30)
        assert login.status_code == 200, login.text
        if os.path.isdir(f"/proc/{proc.pid}/fd"):
            assert os.readlink(f"/proc/{proc.pid}/fd/1") == os.devnull
    finally:
        _stop(proc)


def _close_stdout_and_stderr() -> None:
    os.close(1)
    os.close(2)


def test_a_first_serve_without_stdout_and_stderr_makes_no_key_it_cannot_show(tmp_path):
    """``tracelake serve >&- 2>&-`` on a new data dir: its admin key can be shown nowhere.
    It exits 1 before the organization is made (it made the key, shown to no one, and a
    later start had none to give); with TRACELAKE_API_KEY it serves."""
    data_dir = tmp_path / "new"
    command = [sys.executable, "-m", "tracelake", "serve", "--data-dir", str(data_dir)]
    port = free_port()
    args = [*command, "--host", "127.0.0.1", "--port", str(port)]
    refused = subprocess.run(args, env=cli_env(), preexec_fn=_close_stdout_and_stderr, timeout=60)
    assert refused.returncode == 1
    from tracelake.store.catalog import Catalog
    from tracelake.store.store import Store

    store = Store(data_dir)
    try:
        assert Catalog(store).first_org_id() is None
    finally:
        store.close()
    key = "tl-no-output-0123456789abcdef"
    proc = subprocess.Popen(
        args, env=cli_env(TRACELAKE_API_KEY=key), preexec_fn=_close_stdout_and_stderr
    )
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_ready(proc, url, time.time() + 30)
        login = httpx.post(f"{url}/api/apikey/login", headers=auth(key), timeout=30)
        assert login.status_code == 200, login.text
    finally:
        _stop(proc)


def test_serve_with_stdout_closed_writes_the_first_admin_key_to_stderr(tmp_path):
    """``tracelake serve | head -1``: the admin key came after the pipe had closed and was
    lost without a word while the server ran on. With stdout closed, the server's lines
    (the key too) go to stderr."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = ["serve", "--data-dir", str(tmp_path / "new"), "--host", "127.0.0.1"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "tracelake", *args, "--port", str(port), "--log-level", "warning"],
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    proc.stdout.close()  # the reader is gone before the server writes anything
    lines: queue.Queue = queue.Queue()

    def pump() -> None:
        for line in proc.stderr:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    try:
        seen = []
        # (a bound only against a hang: the key comes as the server starts)
        while (line := lines.get(timeout=60)) is not None:
            seen.append(line)
            if line.strip().startswith("tl-"):
                break
        key = seen[-1].strip() if seen else ""
        assert KEY.match(key), "".join(seen)
        assert any("serving" in line for line in seen), seen
        _wait_ready(proc, url, time.time() + 30)
        login = httpx.post(f"{url}/api/apikey/login", headers=auth(key), timeout=30)
        assert login.status_code == 200, login.text
    finally:
        _stop(proc)
