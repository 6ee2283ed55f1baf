"""Facet sidebar benchmark: the group-by queries the logs screen's facet sidebar sends.

Usage: python bench/facets.py [--spans 1000000] [--runs 5]

Data: the query benchmark's project (see ``bench/web.py``, served from the same copy). The
sidebar asks one BTQL query per facet, all at once, only while it is open: span type, span name,
tags and scores present (unpivoted, only from the spans that have any: for tags an unpivot
of every span cost 3-4x more; a score counts when ``score_value >= 0``, as the click's
``scores.<name> >= 0`` selects it), level (error or not) and the low-cardinality
metadata keys (``metadata.model``, ``metadata.env``, grouped by the number a value holds, else
its text, so 5 and "5" are one value as ``= 5`` selects both), each the top 11 values with a
count of traces (``count(distinct root_span_id)``) under the filter, as in Traces mode. Level
is a property of the whole trace there (ERROR: an error on any span, DEFAULT: on none): its
query groups the traces' summary rows by ``span_type_info.has_error``. Timed: each query alone
(median of ``--runs``), and the whole sidebar as the browser sends it (every query at once),
with no filter and with a filter.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import Server, machine  # noqa: E402
from query import data_copy  # noqa: E402

SCORES = "unpivot: scores as (score, score_value)"


def metadata(path: str) -> str:
    """A metadata path's dimension: the number it holds, else its text (5 and "5" are one)."""
    return f"coalesce(to_number({path}), to_string({path}))"


FACETS = [
    ("span type", None, "span_attributes.type"),
    ("span name", None, "span_attributes.name"),
    ("tags", "unpivot: tags as tag", "tag", "tags IS NOT NULL"),
    ("level", None, "span_type_info.has_error", None, "summary"),
    ("scores present", SCORES, "score", "scores IS NOT NULL AND score_value >= 0"),
    ("metadata.model", None, metadata("metadata.model")),
    ("metadata.env", None, metadata("metadata.env")),
    # for comparison: the unpivots without their own filter (what the sidebar first did)
    ("(tags, unpivot of every span)", "unpivot: tags as tag", "tag"),
    ("(scores, unpivot of every span)", SCORES, "score"),
    # what level first sent: spans grouped by error, DEFAULT = traces with a span without one
    ("(level over spans, DEFAULT miscounted)", None, "error IS NOT NULL"),
    # before the presence test and the merged metadata values (JSON null scores counted; 5
    # and "5" listed apart)
    ("(scores, without score_value >= 0)", SCORES, "score", "scores IS NOT NULL"),
    ("(metadata.model as stored)", None, "metadata.model"),
    ("(metadata.env as stored)", None, "metadata.env"),
]


def facet_query(
    pid: str, pre: str | None, dim: str, where: str | None, own=None, shape=None
) -> str:
    where = " AND ".join(f"({w})" for w in (own, where) if w) or None
    lines = [f"from: project_logs('{pid}'){' summary' if shape else ''}", *([pre] if pre else [])]
    measure = "count(1)" if shape else "count(distinct root_span_id)"
    lines += [f"dimensions: {dim} as value", f"measures: {measure} as n"]
    lines += [f"filter: {where}"] if where else []
    return "\n".join([*lines, "sort: n desc", "limit: 11"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    data_dir, pid, meta = data_copy("web", args.spans)
    print(f"machine: {machine()}")
    print(f"project: {meta['spans']:,} spans in {meta['traces']:,} traces")
    with Server(data_dir, env={"TRACELAKE_SCHEDULER_TICK_SECONDS": "0"}) as server:
        with server.client() as client:

            def run(query: str) -> float:
                t0 = time.perf_counter()
                client.post("/btql", json={"query": query}).raise_for_status()
                return (time.perf_counter() - t0) * 1000

            for where in (None, "metadata.model = 'gpt-4o'"):
                queries = [facet_query(pid, f[1], f[2], where, *f[3:]) for f in FACETS]
                for q in queries:
                    run(q)  # warm up
                print(f"\nfilter: {where or '(none)'}")
                print("| facet | median (ms) |\n|---|---|")
                for (name, *_), q in zip(FACETS, queries, strict=True):
                    times = [run(q) for _ in range(args.runs)]
                    print(f"| {name} | {statistics.median(times):.0f} |")
                sidebar = []
                named = zip(FACETS, queries, strict=True)
                queries = [q for (name, *_), q in named if not name.startswith("(")]
                with ThreadPoolExecutor(len(queries)) as pool:
                    for _ in range(args.runs):
                        t0 = time.perf_counter()
                        list(pool.map(run, queries))
                        sidebar.append((time.perf_counter() - t0) * 1000)
                print(f"| whole sidebar (all at once) | {statistics.median(sidebar):.0f} |")


if __name__ == "__main__":
    main()
