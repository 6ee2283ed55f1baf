"""Dataset import: a CSV of N rows (default 1M) through POST /v1/dataset/{id}/import.

The CSV has an id column, a question, a context paragraph, an answer, a number, a boolean and
a JSON object cell, mapped to input.*, expected, metadata.* and the id (~150 bytes a row).
The file is written before the clock starts and streamed to a `tracelake serve` subprocess;
the time covers upload, parsing, mapping, staging and the commit. Peak RSS is the server's,
sampled every 50 ms.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Server, machine, sentence  # noqa: E402

MAPPING = [
    ("question", "input.question"),
    ("context", "input.context"),
    ("answer", "expected"),
    ("difficulty", "metadata.difficulty"),
    ("reviewed", "metadata.reviewed"),
    ("source", "metadata.source"),
]


def write_csv(path: Path, rows: int) -> None:
    rng = random.Random(7)
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["id", "question", "context", "answer", "difficulty", "reviewed", "source"])
        for i in range(rows):
            out.writerow(
                [
                    f"case-{i}",
                    sentence(rng, 8) + "?",
                    sentence(rng, 12),
                    sentence(rng, 4),
                    rng.randint(1, 5),
                    "true" if i % 3 else "false",
                    f'{{"doc": {rng.randint(1, 999)}, "page": {rng.randint(1, 40)}}}',
                ]
            )


def run(rows: int, workdir: Path) -> dict:
    data = workdir / "cases.csv"
    write_csv(data, rows)
    size = data.stat().st_size
    with Server(workdir / "data") as server, server.client() as client:
        project = client.post("/v1/project", json={"name": "bench-import"}).json()
        dataset = client.post(
            "/v1/dataset", json={"project_id": project["id"], "name": "cases"}
        ).json()
        params = [("format", "csv"), *(("map", f"{c}={t}") for c, t in MAPPING)]

        def chunks():
            with open(data, "rb") as f:
                while chunk := f.read(1 << 20):
                    yield chunk

        started = time.perf_counter()
        response = client.post(
            f"/v1/dataset/{dataset['id']}/import", params=params, content=chunks(), timeout=None
        )
        elapsed = time.perf_counter() - started
        response.raise_for_status()
        result = response.json()
        page_started = time.perf_counter()
        client.post(f"/v1/dataset/{dataset['id']}/fetch", json={"limit": 100}).raise_for_status()
        fetch_ms = (time.perf_counter() - page_started) * 1000
        peak = server.peak_rss
    return {
        "rows": result["rows_written"],
        "mb": size / 2**20,
        "seconds": elapsed,
        "rows_per_s": result["rows_written"] / elapsed,
        "peak_rss_mib": peak / 2**20,
        "fetch_ms": fetch_ms,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        r = run(args.rows, Path(tmp))
    print("| rows | file | seconds | rows/s | server peak RSS | fetch of 100 rows |")
    print("|---|---|---|---|---|---|")
    print(
        f"| {r['rows']:,} | {r['mb']:.0f} MiB | {r['seconds']:.1f} | {r['rows_per_s']:,.0f} "
        f"| {r['peak_rss_mib']:,.0f} MiB | {r['fetch_ms']:.1f} ms |"
    )


if __name__ == "__main__":
    main()
