"""Experiment summary benchmark: what the SDK asks at the end of ``Eval()``.

Usage: python bench/summarize.py [--traces 20000 200000] [--runs 3] [--fresh]

Data, per size: a project with two experiments of ``--traces`` traces each, 3 spans a trace
(the root ``eval`` span with 3 scores and its start/end, a ``task`` span, an ``llm`` span
with token metrics and time to first token), the same inputs in both (a question and a
record id, as a dataset's rows give them). The experiment is created first and the base
after it, so the experiment has no default base: one summary is asked without a
comparison, one with ``comparison_experiment_id`` = the base. Rows are written through the
server's own write path (``prepare_batch`` + ``Store.write``, batches of 6,000 rows), cached
in ``/tmp/tracelake-bench-summarize-<traces>`` (``--fresh`` rebuilds it).

Timing: ``GET /v1/experiment/{id}/summarize?summarize_scores=true[&comparison_experiment_id=…]``
against a ``tracelake serve`` subprocess from one keep-alive client, one warm-up, then
``--runs`` timed runs; p50 and the slowest. The SDK gives each attempt 20 s. A digest of each
answer (its scores and metrics, floats to 6 significant digits: DuckDB sums in parallel, in an
order that varies from run to run in the last bits) lets two versions' answers be compared.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import API_KEY, Server, machine, percentile  # noqa: E402

DATA_VERSION = 1  # bump when the generator changes so cached data dirs are rebuilt
META_FILE = "bench-summarize.json"
BATCH_ROWS = 6_000
SCORES = ("Factuality", "ExactMatch", "helpfulness")
TOPICS = "billing shipping returns account login refund invoice order delivery warranty".split()


def trace_rows(rng: random.Random, experiment_id: str, n: int, start: float) -> list[dict]:
    """The 3 spans of trace ``n`` of an experiment (its input is the same in every one)."""
    root = f"{experiment_id[:8]}-{n:010d}-r"
    question = f"question {n}: how do I change my {TOPICS[n % len(TOPICS)]} settings?"
    record = {"question": question, "record_id": n, "locale": "en"}
    prompt, completion = rng.randint(100, 1500), rng.randint(10, 400)
    spans = [
        {
            "id": root,
            "span_id": root,
            "root_span_id": root,
            "input": record,
            "output": f"answer {n}",
            "expected": f"answer {n}",
            "scores": {name: round(rng.random(), 3) for name in SCORES},
            "metrics": {"start": start, "end": start + 1 + rng.random()},
            "span_attributes": {"name": "eval", "type": "eval"},
        },
        {
            "id": f"{root}-task",
            "span_id": f"{root}-task",
            "root_span_id": root,
            "span_parents": [root],
            "input": record,
            "output": f"answer {n}",
            "metrics": {"start": start + 0.01, "end": start + 0.9},
            "span_attributes": {"name": "task", "type": "task"},
        },
        {
            "id": f"{root}-llm",
            "span_id": f"{root}-llm",
            "root_span_id": root,
            "span_parents": [f"{root}-task"],
            "input": {"messages": [{"role": "user", "content": question}]},
            "output": {"role": "assistant", "content": f"answer {n}"},
            "metrics": {
                "start": start + 0.02,
                "end": start + 0.8,
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "tokens": prompt + completion,
                "time_to_first_token": round(0.1 + rng.random() * 0.5, 4),
            },
            "span_attributes": {"name": "Chat Completion", "type": "llm"},
        },
    ]
    for span in spans:
        span["experiment_id"] = experiment_id
    return spans


def load(data_dir: Path, traces: int) -> dict:
    """Create the org, key, project and both experiments; write their spans."""
    from tracelake.store.catalog import Catalog, bootstrap
    from tracelake.store.events import prepare_batch
    from tracelake.store.store import Store

    store = Store(data_dir)
    catalog = Catalog(store)
    bootstrap(catalog, "tracelake", API_KEY)
    principal = catalog.authenticate(API_KEY)
    project_id = catalog.create_project(principal.org_id, "bench-summarize")["id"]
    ids = {}
    for name in ("experiment", "base"):  # the base is the newer: the experiment has none
        made = catalog.create_experiment(principal.org_id, project_id, {"name": name}, True)
        ids[name] = made["id"]
    t0 = time.perf_counter()
    store.start()
    try:
        for seed, name in enumerate(("experiment", "base")):
            rng = random.Random(seed)
            pending, rows = [], []
            for n in range(traces):
                rows.extend(trace_rows(rng, ids[name], n, 1_790_000_000.0 + n))
                if len(rows) >= BATCH_ROWS or n == traces - 1:
                    pending.append(store.submit(prepare_batch(catalog, principal, rows)))
                    rows = []
                    while len(pending) > 2:
                        pending.pop(0).result()
            for future in pending:
                future.result()
            print(f"  loaded {name}: {traces:,} traces", flush=True)
    finally:
        store.close()
    return {
        "version": DATA_VERSION,
        "traces": traces,
        "experiment_id": ids["experiment"],
        "base_id": ids["base"],
        "load_seconds": round(time.perf_counter() - t0, 1),
    }


def ensure_data(traces: int, fresh: bool) -> tuple[Path, dict]:
    data_dir = Path(f"/tmp/tracelake-bench-summarize-{traces}")
    meta_path = data_dir / META_FILE
    if meta_path.exists() and not fresh:
        meta = json.loads(meta_path.read_text())
        if meta.get("version") == DATA_VERSION:
            return data_dir, meta
    shutil.rmtree(data_dir, ignore_errors=True)
    print(f"loading 2 x {traces:,} traces into {data_dir} ...", flush=True)
    meta = load(data_dir, traces)
    meta_path.write_text(json.dumps(meta))
    return data_dir, meta


def digest(answer: dict) -> str:
    def canon(value):
        if isinstance(value, float):
            return float(f"{value:.6g}")
        if isinstance(value, dict):
            return {k: canon(v) for k, v in value.items()}
        return value

    summary = {"scores": answer["scores"], "metrics": answer["metrics"]}
    text = json.dumps(canon(summary), sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()[:8]


def wait_for_index(server: Server, experiment_id: str, limit: float = 1800) -> None:
    """Wait until the full-text indexer has absorbed every row: until then it takes a core."""
    started = time.perf_counter()
    with server.client() as http:
        while time.perf_counter() - started < limit:
            body = {"query": f"select: id | from: experiment('{experiment_id}') | limit: 1"}
            state = http.post("/btql", json=body).json()["freshness_state"]
            if state.get("last_processed_xact_id") == state.get("last_considered_xact_id"):
                return
            time.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--traces", type=int, nargs="+", default=[20_000, 200_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--fresh", action="store_true")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    results = []
    for traces in args.traces:
        data_dir, meta = ensure_data(traces, args.fresh)
        exp, base = meta["experiment_id"], meta["base_id"]
        path = f"/v1/experiment/{exp}/summarize?summarize_scores=true"
        cases = {
            "no comparison": path,
            "with comparison": f"{path}&comparison_experiment_id={base}",
        }
        with Server(data_dir) as server, server.client() as http:
            wait_for_index(server, exp)
            for case, url in cases.items():
                response = http.get(url)  # warm-up
                if response.status_code != 200:
                    raise RuntimeError(
                        f"summarize answered {response.status_code}: {response.text}"
                    )
                answer = response.json()
                times = []
                for _ in range(args.runs):
                    t0 = time.perf_counter()
                    http.get(url).raise_for_status()
                    times.append(time.perf_counter() - t0)
                results.append((traces, case, percentile(times, 0.5), max(times), digest(answer)))
                print(
                    f"  {traces:,} traces, {case}: p50 {percentile(times, 0.5):.2f} s", flush=True
                )
    print(f"\n{'traces':>8}  {'summary':16} {'p50':>8} {'max':>8}  digest")
    for traces, case, p50, slowest, dig in results:
        print(f"{traces:>8,}  {case:16} {p50:6.2f} s {slowest:6.2f} s  {dig}")


if __name__ == "__main__":
    main()
