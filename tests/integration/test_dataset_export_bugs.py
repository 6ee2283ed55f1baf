"""Bugs found by a black-box hunt in exports, dataset imports, the CLI and automations, each
pinned by the behaviour the docs promise: a failed command leaves the user's files alone,
imports map every row the same way and refuse bad rows clearly, exports carry full values,
and runs of one automation never overlap."""

from __future__ import annotations

import pytest

from tests.integration.test_cli import assert_cli_error, cli_env, ok, run_cli

# -- the CLI's output files ----------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    """A data dir holding the demo project (for commands that need something to export)."""
    data_dir = tmp_path_factory.mktemp("demo") / "data"
    ok(run_cli("demo", "--data-dir", str(data_dir)))
    return data_dir


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("project_logs", "NOPE"), ["not found"]),
        (("project_logs", "demo", "--filter", "scores.x ="), ["filter"]),
    ],
    ids=["missing-object", "bad-filter"],
)
def test_a_failed_export_leaves_an_existing_output_file_alone(demo_dir, tmp_path, args, words):
    target = tmp_path / "f.txt"
    target.write_bytes(b"data\n")
    result = run_cli("export", *args, "-o", str(target), "--data-dir", str(demo_dir))
    assert_cli_error(result, *words)
    assert target.read_bytes() == b"data\n"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]  # no temporary left behind


def test_a_successful_export_replaces_the_output_file(demo_dir, tmp_path):
    target = tmp_path / "logs.jsonl"
    target.write_bytes(b"old\n")
    ok(run_cli("export", "project_logs", "demo", "-o", str(target), "--data-dir", str(demo_dir)))
    lines = target.read_bytes().splitlines()
    assert lines and b"old" not in lines
    assert [p.name for p in tmp_path.iterdir()] == ["logs.jsonl"]


@pytest.mark.parametrize("where", ["missing-dir", "a-directory"])
@pytest.mark.parametrize("command", ["export", "query"])
def test_an_unwritable_output_is_one_error_line(demo_dir, tmp_path, where, command):
    target = tmp_path / "nonexistent" / "x.jsonl" if where == "missing-dir" else tmp_path
    if command == "export":
        args = ("export", "project_logs", "demo", "-o", str(target))
    else:
        args = ("query", "select: id | from: project_logs('demo') | limit: 1", "-o", str(target))
    result = run_cli(*args, "-f", "jsonl", "--data-dir", str(demo_dir))
    assert_cli_error(result, "cannot write", str(target))


def test_serve_with_a_short_api_key_is_one_error_line(tmp_path):
    result = run_cli(
        "serve", "--data-dir", str(tmp_path / "data"), env=cli_env(TRACELAKE_API_KEY="short")
    )
    assert_cli_error(result, "TRACELAKE_API_KEY", "16 characters")
    assert not (tmp_path / "data").exists()
