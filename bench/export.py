"""Scheduled export benchmark: a 1M-span catch-up in one run, to a local S3 server.

Usage: python bench/export.py [--spans 1000000] [--formats parquet jsonl] [--fresh]

Data: the query benchmark's spans (``bench/querydata.py``: 10-span support-assistant traces
with nested messages, metadata, metrics and scores), cached in
``/tmp/tracelake-bench-query-<spans>``. The S3 server is SeaweedFS ``weed mini`` on 127.0.0.1
with SigV4 credentials (the one the tests use). For each format a ``log_spans`` export with
``max_rows`` = all spans (so the whole history is one run), ``batch_size`` 100,000 and
``rows_per_file`` 100,000 is run once through ``POST /v1/project_automation/{id}/run`` against
a ``tracelake serve`` subprocess; the time is the run's own start-to-end (plan, page queries,
file writing, uploads, manifest), the peak RSS is the server's while the run lasts. The rows in
the bucket are counted from the manifest and checked against the span count.

Goal (issue 4): the 1M-span catch-up in one run in <= 10 s as Parquet.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import Server, machine  # noqa: E402
from query import ensure_data  # noqa: E402
from tests.s3server import S3Server  # noqa: E402

GOAL_SECONDS = 10.0


def run_export(server: Server, s3: S3Server, project_id: str, spans: int, fmt: str) -> dict:
    bucket = s3.create_bucket(f"bench-{fmt}-{uuid.uuid4().hex[:6]}")
    with server.client() as client:
        created = client.post(
            "/v1/project_automation",
            json={
                "project_id": project_id,
                "name": f"bench-{fmt}-{uuid.uuid4().hex[:6]}",
                "config": {
                    "event_type": "btql_export",
                    "export_definition": {"type": "log_spans"},
                    "export_path": f"s3://{bucket}/spans",
                    "format": fmt,
                    "interval_seconds": 3600,
                    "max_rows": spans,
                    "batch_size": 100_000,
                    "rows_per_file": 100_000,
                    "credentials": s3.credentials(),
                    "status": "paused",
                },
            },
        )
        created.raise_for_status()
        automation_id = created.json()["id"]
        server.peak_rss = 0
        t0 = time.perf_counter()
        response = client.post(f"/v1/project_automation/{automation_id}/run", timeout=3600)
        wall = time.perf_counter() - t0
        response.raise_for_status()
        run = response.json()["run"]
        client.delete(f"/v1/project_automation/{automation_id}")
    if run["status"] != "succeeded":
        raise SystemExit(f"{fmt} export failed: {run['error']}")
    started = dt.datetime.fromisoformat(run["start"])
    ended = dt.datetime.fromisoformat(run["end"])
    seconds = (ended - started).total_seconds()
    manifest_key = next(k for k in s3.keys(bucket) if "/manifest_" in k)
    manifest = json.loads(s3.read(bucket, manifest_key))
    return {
        "format": fmt,
        "rows": run["rows"],
        "rows_in_bucket": manifest["rows"],
        "files": len(run["files"]),
        "mb": run["bytes"] / 2**20,
        "seconds": seconds,
        "wall": wall,
        "rows_per_s": run["rows"] / seconds,
        "peak_rss_mb": server.peak_rss / 2**20,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--formats", nargs="+", default=["parquet", "jsonl"])
    parser.add_argument("--fresh", action="store_true", help="rebuild the cached data dir")
    args = parser.parse_args()
    data_dir, meta = ensure_data(args.spans, args.fresh)
    print(f"machine: {machine()}")
    print(f"data: {meta['spans']:,} spans in {meta['traces']:,} traces ({data_dir})")
    results = []
    with tempfile.TemporaryDirectory(prefix="tracelake-bench-s3-") as root:
        s3 = S3Server(Path(root)).start()
        try:
            env = {"TRACELAKE_SCHEDULER_TICK_SECONDS": "0"}
            with Server(data_dir, env=env) as server:
                for fmt in args.formats:
                    result = run_export(server, s3, meta["project_id"], meta["spans"], fmt)
                    results.append(result)
                    print(
                        f"{fmt:8} {result['rows']:>9,} rows  {result['files']:>3} files "
                        f"{result['mb']:>8.1f} MB  run {result['seconds']:6.2f} s "
                        f"(HTTP {result['wall']:6.2f} s)  {result['rows_per_s']:>9,.0f} rows/s  "
                        f"peak RSS {result['peak_rss_mb']:,.0f} MB",
                        flush=True,
                    )
                    if result["rows_in_bucket"] != meta["spans"]:
                        raise SystemExit(f"{fmt}: {result['rows_in_bucket']} rows in the bucket")
        finally:
            s3.stop()
    parquet = next((r for r in results if r["format"] == "parquet"), None)
    if parquet is not None:
        verdict = "met" if parquet["seconds"] <= GOAL_SECONDS else "NOT met"
        print(f"goal: 1M-span catch-up as Parquet in <= {GOAL_SECONDS:.0f} s: {verdict}")


if __name__ == "__main__":
    main()
