"""The command line as a new user meets it: objects of one name in two projects, output into
a closed pipe, key names, and each command's bad input (one readable line, never a
traceback)."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys

import pytest

from tests.integration.test_cli import assert_cli_error, cli_env, demo_dir, ok, run_cli

__all__ = ["demo_dir"]  # the shared fixture, imported for the tests here

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
        ["keys", "list"],
        ["orgs", "list"],
    ],
    ids=["table", "jsonl", "explain", "export", "keys", "orgs"],
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
