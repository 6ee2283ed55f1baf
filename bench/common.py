"""Helpers shared by the benchmarks: a server subprocess, RSS sampling, span generation."""

from __future__ import annotations

import multiprocessing as mp
import os
import platform
import random
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import psutil

API_KEY = "tl-bench-key-0123456789abcdef"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    mem = psutil.virtual_memory().total / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB, Python {platform.python_version()}"


def copy_of(source: Path, name: str, spans: int) -> Path:
    """A copy of a cached benchmark data dir at /tmp/tracelake-bench-<name>-<spans>, for a
    benchmark that opens it read-write (made again when the source changed)."""
    target = Path(f"/tmp/tracelake-bench-{name}-{spans}")
    stamp = target / ".copied-from"
    want = str((source / "tracelake.duckdb").stat().st_mtime)
    if not stamp.exists() or stamp.read_text() != want:
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(source, target)
        stamp.write_text(want)
    return target


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`tracelake serve` in a subprocess, with its peak RSS sampled in the background."""

    def __init__(self, data_dir: Path, env: dict | None = None):
        self.data_dir = data_dir
        self.env = env or {}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.peak_rss = 0
        self._stop = threading.Event()

    def __enter__(self) -> Server:
        env = {**os.environ, "TRACELAKE_API_KEY": API_KEY, **self.env}
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tracelake",
                "serve",
                "--data-dir",
                str(self.data_dir),
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            env=env,
        )
        for _ in range(300):
            try:
                httpx.get(f"{self.url}/version", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        threading.Thread(target=self._sample, daemon=True).start()
        return self

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the server process has used so far."""
        times = psutil.Process(self.proc.pid).cpu_times()
        return times.user + times.system

    def _sample(self) -> None:
        process = psutil.Process(self.proc.pid)
        while not self._stop.is_set():
            try:
                self.peak_rss = max(self.peak_rss, process.memory_info().rss)
            except psutil.Error:
                return
            time.sleep(0.05)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self.proc.terminate()
        self.proc.wait(timeout=60)

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=120
        )


WORDS = (
    "alpha beta gamma delta epsilon zeta theta lambda sigma omega model answer question "
    "retrieval context summary token latency error user assistant system tool call"
).split()


def sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def trace_spans(rng: random.Random, project_id: str, trace_no: int, start: float) -> list[dict]:
    """One realistic trace: a root task, a retrieval tool span and two LLM calls."""
    root_id = f"{trace_no:032x}"
    root_span = f"{trace_no:012x}0000"
    spans = []
    kinds = [("root", "task"), ("retrieve", "tool"), ("chat", "llm"), ("rerank", "llm")]
    for k, (name, kind) in enumerate(kinds):
        span_id = root_span if k == 0 else f"{trace_no:012x}{k:04x}"
        prompt, completion = rng.randint(50, 2000), rng.randint(10, 500)
        spans.append(
            {
                "project_id": project_id,
                "log_id": "g",
                "id": f"{trace_no:016x}-{k}",
                "span_id": span_id,
                "root_span_id": root_id,
                "span_parents": None if k == 0 else [root_span],
                "created": "2026-11-22T12:00:00.000000+00:00",
                "input": {
                    "messages": [{"role": "user", "content": sentence(rng, 20)}],
                    "params": {"temperature": 0.2, "top_p": 1},
                },
                "output": {"content": sentence(rng, 30)},
                "metadata": {
                    "model": rng.choice(["gpt-4o", "gpt-4o-mini", "claude"]),
                    "user_id": f"user-{rng.randint(1, 500)}",
                    "env": "prod",
                },
                "metrics": {
                    "start": start + k * 0.1,
                    "end": start + k * 0.1 + rng.random(),
                    "prompt_tokens": prompt,
                    "completion_tokens": completion,
                    "tokens": prompt + completion,
                },
                "scores": {"quality": round(rng.random(), 3)} if k == 0 else {},
                "span_attributes": {"name": name, "type": kind},
                "tags": ["bench"] if k == 0 else None,
            }
        )
    return spans


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


class RawConnection:
    """A minimal keep-alive HTTP/1.1 client over a socket: the load generator shares the
    machine's two cores with the server, so it must cost far less than the server does.
    ``headers`` are extra header lines, each ending in CRLF."""

    def __init__(self, host: str, port: int, headers: str = ""):
        self.sock = socket.create_connection((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.headers = f"Authorization: Bearer {API_KEY}\r\n{headers}"
        self.buffer = b""

    def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        head = f"POST {path} HTTP/1.1\r\nHost: bench\r\n{self.headers}"
        head += f"Content-Length: {len(body)}\r\n\r\n"
        self.sock.sendall(head.encode() + body)
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self.sock.recv(65536)
        header, _, rest = self.buffer.partition(b"\r\n\r\n")
        status = int(header.split(b" ", 2)[1])
        length = 0
        for line in header.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(rest) < length:
            rest += self.sock.recv(65536)
        self.buffer = rest[length:]
        return status, rest[:length]

    def close(self) -> None:
        self.sock.close()


def post_all(url, path, bodies, threads, ready, go, *, headers="", accept=None) -> list[float]:
    """In a client process: send ``bodies`` over ``threads`` connections once ``go`` is set
    (``ready`` says the connections are open); the request latencies. ``accept(status,
    answer)`` says whether an answer is right (default: status 200)."""
    accept = accept or (lambda status, answer: status == 200)
    latencies: list[float] = []
    connected = threading.Barrier(threads + 1)
    host, port = url.removeprefix("http://").split(":")

    def send(part: list[bytes]) -> None:
        connection = RawConnection(host, int(port), headers)
        connected.wait()
        go.wait()
        for body in part:
            t0 = time.perf_counter()
            status, answer = connection.post(path, body)
            latencies.append(time.perf_counter() - t0)
            if not accept(status, answer):
                raise RuntimeError(f"{path} answered {status}: {answer[:200]!r}")
        connection.close()

    workers = [threading.Thread(target=send, args=(bodies[i::threads],)) for i in range(threads)]
    for worker in workers:
        worker.start()
    connected.wait()
    ready.set()
    for worker in workers:
        worker.join()
    return latencies


def ingest_figures(server: Server, sent: int, batch: int, connections: int, run) -> dict:
    """The figures an ingest run reports; ``run`` is ``run_clients``'s (elapsed, request
    latencies, server CPU seconds)."""
    elapsed, latencies, server_cpu = run
    return {
        "spans": sent,
        "batch": batch,
        "connections": connections,
        "spans_per_s": sent / elapsed,
        "server_cores": server_cpu / elapsed,
        "server_cpu_us_per_span": server_cpu / sent * 1e6,
        "p50_ms": percentile(latencies, 0.5) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "peak_rss_mib": server.peak_rss / 2**20,
    }


def run_clients(server: Server, target, client_args: list[tuple]) -> tuple[float, list, float]:
    """Start one process per ``client_args`` entry running ``target(*args, ready, go, out)``,
    wait until all are connected, release them together; (seconds, latencies, server CPU
    seconds) from the release until every client has finished."""
    out: mp.Queue = mp.Queue()
    go = mp.Event()
    readies = [mp.Event() for _ in client_args]
    procs = [
        mp.Process(target=target, args=(*args, ready, go, out))
        for args, ready in zip(client_args, readies, strict=True)
    ]
    for p in procs:
        p.start()
    for ready in readies:
        ready.wait()
    cpu0 = server.cpu_seconds()
    t0 = time.perf_counter()
    go.set()
    latencies: list[float] = []
    for _ in procs:
        latencies.extend(out.get())
    elapsed = time.perf_counter() - t0
    server_cpu = server.cpu_seconds() - cpu0
    for p in procs:
        p.join()
    return elapsed, latencies, server_cpu
