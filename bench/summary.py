"""Summary rankings: sorts, final filters and groupings over the summary rows of every trace.

Usage: python bench/summary.py [--spans 1000000] [--runs 5] [--only NAME ...]

Data: the query benchmark's project (``bench/query.py``), used from a copy of its data dir
(``/tmp/tracelake-bench-summary-<spans>``; the benchmark's own is never opened for writing).
Each query is run in process (``run_query``, as the server runs it, no HTTP): one warm-up,
then ``--runs`` timed runs, median and minimum. A digest of each answer (its rows as JSON
with sorted keys, floats to 10 significant digits) lets two versions' answers be compared.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import machine  # noqa: E402
from query import data_copy  # noqa: E402


def queries(pid: str) -> dict[str, str]:
    s = f"from: project_logs('{pid}') summary"
    facet = "dimensions: span_type_info.has_error as value | measures: count(1) as n"
    return {
        "newest 50 (no ranking)": f"select: * | {s} | limit: 50",
        "sort: scores.Factuality": f"select: * | {s} | sort: scores.Factuality asc | limit: 50",
        "sort: metrics.total_tokens": (
            f"select: * | {s} | sort: metrics.total_tokens desc | limit: 50"
        ),
        "final_filter: scores.helpfulness": (
            f"select: * | {s} | final_filter: scores.helpfulness > 0.95 | limit: 50"
        ),
        "final_filter + sort, two metrics": (
            f"select: * | {s} | final_filter: metrics.total_tokens > 3000"
            " | sort: metrics.duration desc | limit: 50"
        ),
        "group by metrics.errors": (
            f"{s} | dimensions: metrics.errors as e | measures: count(1) as n"
            " | sort: n desc | limit: 11"
        ),
        "Level facet (has_error)": f"{s} | {facet} | sort: n desc | limit: 11",
        "Level facet, model filter": (
            f"{s} | {facet} | filter: metadata.model = 'gpt-4o' | sort: n desc | limit: 11"
        ),
        "avg(scores.Factuality) by llm_calls": (
            f"{s} | dimensions: metrics.llm_calls as c"
            " | measures: avg(scores.Factuality) as f, count(1) as n | sort: c | limit: 20"
        ),
        "sort: scores (whole object)": f"select: * | {s} | sort: scores desc | limit: 50",
    }


def digest(rows: list[str]) -> str:
    def canon(value):
        if isinstance(value, float):
            return float(f"{value:.10g}")
        if isinstance(value, dict):
            return {k: canon(v) for k, v in value.items()}
        if isinstance(value, list):
            return [canon(v) for v in value]
        return value

    text = "\n".join(json.dumps(canon(json.loads(row)), sort_keys=True) for row in rows)
    return hashlib.sha1(text.encode()).hexdigest()[:8]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", nargs="*", default=None)
    args = parser.parse_args()
    from tracelake.cli_backends import LocalBackend
    from tracelake.export.queries import QueryOptions, run_query

    data_dir, pid, meta = data_copy("summary", args.spans)
    print(f"machine: {machine()}")
    print(f"project: {meta['spans']:,} spans in {meta['traces']:,} traces")
    backend = LocalBackend(data_dir)
    print(f"{'query':38} {'median':>9} {'min':>9}  rows  digest")
    for name, text in queries(pid).items():
        if args.only and name not in args.only:
            continue
        options = QueryOptions(query=text)

        def run(options=options):
            return run_query(backend.store, backend.catalog, backend.principal, options)

        rows = run().rows  # warm-up
        times = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            run()
            times.append((time.perf_counter() - t0) * 1000)
        median, low = statistics.median(times), min(times)
        print(f"{name:38} {median:7.1f} ms {low:6.1f} ms {len(rows):5}  {digest(rows)}")


if __name__ == "__main__":
    main()
