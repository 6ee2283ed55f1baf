"""The docs keep up with the code: every setting is in the README, every route in docs/api.md."""

from __future__ import annotations

from pathlib import Path

import pytest

from tracelake.server.app import create_app
from tracelake.settings import SETTINGS, Settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.env)
def test_every_setting_is_in_the_readme(setting):
    readme = (ROOT / "README.md").read_text()
    assert f"`{setting.env}`" in readme


def _routes() -> list[tuple[str, str]]:
    app = create_app(Settings())
    return [
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    ]


@pytest.mark.parametrize(("method", "path"), _routes())
def test_every_route_is_in_the_api_doc(method, path):
    api = (ROOT / "docs" / "api.md").read_text()
    assert f"| {method} | `{path}` |" in api


def test_every_route_has_a_docstring():
    app = create_app(Settings())
    for path, operations in app.openapi()["paths"].items():
        for method, operation in operations.items():
            assert operation.get("description"), f"{method.upper()} {path} has no docstring"


def test_every_command_says_what_it_does_in_one_line():
    """`tracelake --help` lists each command with the first paragraph of its help, line
    breaks kept: query's and automations restore's broke in the middle of a sentence."""
    import typer.main

    from tracelake.cli import app

    def commands(group, path):
        for name, command in getattr(group, "commands", {}).items():
            yield [*path, name], command
            yield from commands(command, [*path, name])

    for path, command in commands(typer.main.get_command(app), []):
        summary = (command.help or "").split("\n\n")[0]
        assert summary and "\n" not in summary, (" ".join(path), summary)
