"""Browser tests: a real `tracelake serve` with generated data, driven by Debian's Chromium
through playwright-core (web/e2e/e2e.mjs, run with node). `make test` installs both."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.browser.seed import seed
from tests.conftest import ServerProcess

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def require_browser() -> None:
    missing = []
    if not Path(CHROMIUM).exists():
        missing.append(f"{CHROMIUM} (apt-get install chromium)")
    if shutil.which("node") is None:
        missing.append("node")
    if not (WEB / "node_modules" / "playwright-core").exists():
        missing.append("web/node_modules (npm ci in web/)")
    if missing:
        pytest.fail("browser tests need: " + ", ".join(missing) + "; `make test` installs them")


@pytest.fixture(scope="session")
def ui_server(tmp_path_factory):
    """A server with the generated data; its scheduler is off (the flows run automations)."""
    require_browser()
    base = tmp_path_factory.mktemp("ui")
    server = ServerProcess(base / "data", env={"TRACELAKE_SCHEDULER_TICK_SECONDS": "0"}).start()
    try:
        with server.client() as client:
            data = seed(client, str(base / "exports"))
        yield server, data
    finally:
        server.stop()


def run_flow(flow: str, server, data: dict, out_dir: Path, timeout: float = 240, **extra) -> dict:
    """Run one flow of web/e2e/e2e.mjs; fail with its output and the server log."""
    shots = os.environ.get("TRACELAKE_SCREENSHOTS")
    config = {
        "url": server.url,
        "key": server.api_key,
        "data": data,
        "screenshots": shots,
        "screenshots_on_failure": str(out_dir),
        **extra,
    }
    proc = subprocess.run(
        ["node", "e2e/e2e.mjs", flow],
        cwd=WEB,
        env={**os.environ, "E2E_CONFIG": json.dumps(config)},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        pytest.fail(
            f"browser flow {flow!r} failed (screenshot in {out_dir}):\n{proc.stderr[-4000:]}\n"
            f"{proc.stdout[-2000:]}\nserver log:\n{server.log()[-3000:]}"
        )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    return json.loads(lines[-1][len("RESULT ") :])
