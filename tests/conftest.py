"""Shared fixtures: a real tracelake server on 127.0.0.1 (a subprocess, so tests can kill
it) and an in-process app for fast API tests. Every server stops when its test ends."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from tracelake.server.app import create_app
from tracelake.settings import Settings

ADMIN_KEY = "tl-test-admin-key-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class ServerProcess:
    """A `tracelake serve` subprocess bound to 127.0.0.1."""

    data_dir: Path
    api_key: str = ADMIN_KEY
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None
    log_path: Path | None = None
    env: dict = field(default_factory=dict)  # extra environment (TRACELAKE_* settings)
    # Largest file the server may write (RLIMIT_FSIZE, as ``ulimit -f``): a disk that fills.
    file_size_limit: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> ServerProcess:
        env = {**os.environ, "TRACELAKE_API_KEY": self.api_key, **self.env}
        env.pop("TRACELAKE_URL", None)
        self.log_path = self.data_dir.parent / f"server-{self.port}.log"
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tracelake",
                "serve",
                "--data-dir",
                str(self.data_dir),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=self._limit_file_size if self.file_size_limit else None,
        )
        log.close()
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/version", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError(f"server did not start:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def _limit_file_size(self) -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_FSIZE, (self.file_size_limit, self.file_size_limit))

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def client(self, api_key: str | None = None) -> httpx.Client:
        return httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {api_key or self.api_key}"},
            timeout=60,
        )


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> ServerProcess:
    """One server for the whole session (tests use their own projects to stay apart). Its
    scheduler is off: automation tests trigger runs themselves."""
    data_dir = tmp_path_factory.mktemp("server") / "data"
    proc = ServerProcess(data_dir, env={"TRACELAKE_SCHEDULER_TICK_SECONDS": "0"}).start()
    yield proc
    proc.stop()


@pytest.fixture
def fresh_server(tmp_path) -> ServerProcess:
    """A server with its own empty data dir, for tests that kill or restart it."""
    proc = ServerProcess(tmp_path / "data")
    yield proc
    proc.stop()


@pytest.fixture
def app_client(tmp_path) -> TestClient:
    """The app in process over ASGI with a temporary DuckDB file, authenticated as admin."""
    settings = Settings(data_dir=tmp_path / "data", api_key=ADMIN_KEY, scheduler_tick_seconds=0)
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        client.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
        yield client


@pytest.fixture
def sdk_env(server, monkeypatch):
    """Point the official braintrust SDK at the session server (fresh SDK state)."""
    import braintrust

    monkeypatch.setenv("BRAINTRUST_APP_URL", server.url)
    monkeypatch.setenv("BRAINTRUST_API_KEY", server.api_key)
    monkeypatch.delenv("BRAINTRUST_API_URL", raising=False)
    monkeypatch.delenv("BRAINTRUST_ORG_NAME", raising=False)
    braintrust.logger._state = braintrust.logger.BraintrustState()  # noqa: SLF001
    yield server
    braintrust.flush()


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory):
    """A real S3 server (SeaweedFS ``weed mini``) on 127.0.0.1 with SigV4 credentials."""
    from tests.s3server import S3Server

    server = S3Server(tmp_path_factory.mktemp("s3")).start()
    yield server
    server.stop()
