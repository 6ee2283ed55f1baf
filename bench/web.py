"""Web UI benchmark: how long the first page of logs takes to show in a real browser.

Usage: python bench/web.py [--spans 1000000] [--runs 7]

Data: the query benchmark's project (``bench/query.py``, cached in
``/tmp/tracelake-bench-query-<spans>``), copied once to ``/tmp/tracelake-bench-web-<spans>`` so
that the cached original is never opened for writing. A ``tracelake serve`` subprocess serves
the copy; the browser flow ``firstpage`` of ``web/e2e/e2e.mjs`` (Debian's Chromium, headless)
signs in, then ``--runs`` times loads the logs screen from ``about:blank`` and waits until the
first row of the traces table is drawn: page load, assets, the project list, the first page
query (50 traces, summary shape) and rendering. Also timed: the same first-page query alone
over HTTP.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import API_KEY, Server, machine  # noqa: E402
from query import data_copy  # noqa: E402

WEB = Path(__file__).resolve().parents[1] / "web"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    data_dir, pid, meta = data_copy("web", args.spans)
    with Server(data_dir, env={"TRACELAKE_SCHEDULER_TICK_SECONDS": "0"}) as server:
        query = f"from: project_logs('{pid}') summary\nselect: *\nlimit: 50"
        with server.client() as client:
            client.post("/btql", json={"query": query}).raise_for_status()  # warm up
            http_ms = []
            for _ in range(args.runs):
                t0 = time.perf_counter()
                client.post("/btql", json={"query": query}).raise_for_status()
                http_ms.append((time.perf_counter() - t0) * 1000)
        config = {"url": server.url, "key": API_KEY, "data": {"project_id": pid}, "runs": args.runs}
        proc = subprocess.run(
            ["node", "e2e/e2e.mjs", "firstpage"],
            cwd=WEB,
            env={**os.environ, "E2E_CONFIG": json.dumps(config)},
            capture_output=True,
            text=True,
            timeout=600,
        )
        if proc.returncode != 0:
            sys.exit(f"browser flow failed:\n{proc.stderr}")
        result = json.loads(proc.stdout.split("RESULT ", 1)[1])
    print(f"machine: {machine()}")
    print(f"project: {meta['spans']:,} spans in {meta['traces']:,} traces")
    print(f"first page query over HTTP: p50 {statistics.median(http_ms):.0f} ms")
    print(
        f"first page shown in the browser: {result['times_ms']} ms, median {result['median_ms']} ms"
    )


if __name__ == "__main__":
    main()
