"""Browser tests: a real `tracelake serve` with generated data, driven by Debian's Chromium
through playwright-core (web/e2e/e2e.mjs, run with node). `make test` installs both.

One node process with one Chromium runs the flows (``e2e.mjs --serve``), each flow in a new
browser context of its own (an empty profile), so a test pays for a context, not for starting
node and Chromium (about 2 s); a flow that hangs or kills it fails its own test only, and the
next test starts another."""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import threading
import time
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
        FlowRunner.stop_shared()
        server.stop()


class FlowRunner:
    """``node e2e/e2e.mjs --serve``: runs the flows sent to it one at a time, in one Chromium."""

    shared: FlowRunner | None = None

    def __init__(self, log_path: Path):
        self.log_path = log_path
        with open(log_path, "ab") as log:
            self.proc = subprocess.Popen(
                ["node", "e2e/e2e.mjs", "--serve"],
                cwd=WEB,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    @classmethod
    def get(cls, log_dir: Path) -> FlowRunner:
        if cls.shared is None or cls.shared.proc.poll() is not None:
            cls.stop_shared()
            cls.shared = cls(log_dir / "e2e-runner.log")
        return cls.shared

    @classmethod
    def stop_shared(cls, kill: bool = False) -> None:
        if cls.shared is not None:
            cls.shared.stop(kill)
            cls.shared = None

    def stop(self, kill: bool = False) -> None:
        """End of input: the runner closes Chromium and exits (killed if it does not, or if
        ``kill``: a flow still running)."""
        try:
            if not kill:
                self.proc.stdin.close()
                self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            pass
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def run(self, flow: str, config: dict, timeout: float) -> tuple[dict, str | None, str]:
        """(result, error or None, what the flow printed besides its answer)."""
        self.proc.stdin.write(json.dumps({"flow": flow, "config": config}) + "\n")
        self.proc.stdin.flush()
        deadline = time.monotonic() + timeout
        printed = []
        while True:
            try:
                line = self.lines.get(timeout=max(deadline - time.monotonic(), 0))
            except queue.Empty:
                raise TimeoutError(f"no answer within {timeout} s") from None
            if line is None:
                raise RuntimeError(f"the flow runner exited ({self.proc.wait()})")
            if line.startswith("DONE "):
                answer = json.loads(line[len("DONE ") :])
                return answer["result"], answer["error"], "".join(printed)
            printed.append(line)


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
    runner = FlowRunner.get(out_dir)
    log_start = runner.log_path.stat().st_size
    try:
        result, error, printed = runner.run(flow, config, timeout)
    except (OSError, RuntimeError, TimeoutError) as e:
        # Hung or gone: this test fails, the next one starts another runner.
        FlowRunner.stop_shared(kill=True)
        result, error, printed = {}, f"{type(e).__name__}: {e}", ""
    if error is not None:
        with open(runner.log_path, "rb") as log:
            log.seek(log_start)
            stderr = log.read().decode(errors="replace")
        pytest.fail(
            f"browser flow {flow!r} failed (screenshot in {out_dir}):\n{error[-4000:]}\n"
            f"{stderr[-2000:]}{printed[-2000:]}\nserver log:\n{server.log()[-3000:]}"
        )
    return result
