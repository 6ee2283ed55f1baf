"""Ingest benchmark: spans through POST /logs3 from concurrent clients.

Usage: python bench/ingest.py [--spans 1000000] [--batch 100 --batch 1000]
                              [--clients 4] [--threads 8]

Client processes build SDK-shaped bodies (4-span traces with nested JSON) before the clock
starts, then post them over keep-alive connections (``threads`` per process, as the SDK
flushes batches in parallel threads). Reports spans/s end to end, request latency p50/p99,
the server's peak RSS, and fetch latency on the loaded project afterwards.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).parent))
from common import (  # noqa: E402
    Server,
    ingest_figures,
    machine,
    percentile,
    post_all,
    run_clients,
    trace_spans,
)


def make_bodies(project_id: str, first_trace: int, traces: int, batch: int) -> list[bytes]:
    """Request bodies as the SDK would send them, built before the clock starts so that the
    load generator takes as little of the machine's two cores as possible while timed."""
    rng = random.Random(first_trace)
    start = time.time()
    spans: list[dict] = []
    for t in range(first_trace, first_trace + traces):
        spans.extend(trace_spans(rng, project_id, t, start + t))
    return [
        orjson.dumps({"rows": spans[i : i + batch], "api_version": 2})
        for i in range(0, len(spans), batch)
    ]


def client_worker(url, project_id, first_trace, traces, batch, threads, ready, go, out):
    """One client process with ``threads`` connections."""
    bodies = make_bodies(project_id, first_trace, traces, batch)
    out.put(post_all(url, "/logs3", bodies, threads, ready, go))


def run(spans: int, batch: int, clients: int, threads: int) -> dict:
    traces = spans // 4
    per_client = traces // clients
    with tempfile.TemporaryDirectory() as tmp, Server(Path(tmp) / "data") as server:
        with server.client() as http:
            project_id = http.post("/v1/project", json={"name": "bench"}).json()["id"]
        client_args = [
            (server.url, project_id, c * per_client, per_client, batch, threads)
            for c in range(clients)
        ]
        figures = run_clients(server, client_worker, client_args)
        sent = per_client * clients * 4
        fetch_times = []
        with server.client() as http:
            for _ in range(5):
                f0 = time.perf_counter()
                page = http.post(f"/v1/project_logs/{project_id}/fetch", json={"limit": 100})
                fetch_times.append(time.perf_counter() - f0)
                page.raise_for_status()
            fetched = len(page.json()["events"])
        return {
            **ingest_figures(server, sent, batch, clients * threads, figures),
            "fetch_ms": percentile(fetch_times, 0.5) * 1000,
            "fetched_rows": fetched,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, action="append")
    parser.add_argument("--clients", type=int, default=4, help="client processes")
    parser.add_argument("--threads", type=int, default=8, help="connections per client")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(
        f"{'batch':>6} {'conns':>5} {'spans':>9} {'spans/s':>9} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'RSS MiB':>8} {'fetch ms':>9} {'srv cores':>9} {'srv µs/span':>11}"
    )
    for batch in args.batch or [100, 1000]:
        r = run(args.spans, batch, args.clients, args.threads)
        print(
            f"{r['batch']:>6} {r['connections']:>5} {r['spans']:>9} {r['spans_per_s']:>9.0f} "
            f"{r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f} {r['peak_rss_mib']:>8.0f} "
            f"{r['fetch_ms']:>9.1f} {r['server_cores']:>9.2f} {r['server_cpu_us_per_span']:>11.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
