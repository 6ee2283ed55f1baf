"""Generated data for the browser tests and screenshots: a support-assistant project with
traced logs, two experiments on one dataset, an export folder, and a project holding one
10,000-span trace. Everything goes through the HTTP API, as a user's SDK would send it."""

from __future__ import annotations

import random
import time
import uuid

import httpx

QUESTIONS = [
    ("Where is my order #1042?", "It shipped yesterday and arrives Friday."),
    ("How do I reset my password?", "Use 'Forgot password' on the sign-in page."),
    ("Can I return opened headphones?", "Yes, within 30 days with the receipt."),
    ("Do you ship to Norway?", "Yes, delivery takes 5-7 days."),
    ("What is your refund policy?", "Refunds go to the original card in 5 days."),
    ("Is the blue kettle in stock?", "Only 3 left in stock."),
    ("How do I change my address?", "Edit it under Account > Addresses."),
    ("Why was I charged twice?", "The second charge is a hold that drops in 2 days."),
    ("Can I pay with PayPal?", "Yes, PayPal is accepted at checkout."),
    ("How do I cancel my subscription?", "Go to Account > Subscription > Cancel."),
]
MODELS = ["gpt-4o", "gpt-4o-mini", "claude-sonnet"]


def _insert(client: httpx.Client, object_type: str, object_id: str, events: list[dict]) -> None:
    for start in range(0, len(events), 2000):
        res = client.post(
            f"/v1/{object_type}/{object_id}/insert", json={"events": events[start : start + 2000]}
        )
        res.raise_for_status()


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 1e6):06d}Z"


def log_rows(traces: int, seed: int = 3) -> list[dict]:
    """Traces of a support assistant: root task, retrieval tool, LLM call (tokens, cost)."""
    rng = random.Random(seed)
    now = time.time()
    rows = []
    for i in range(traces):
        question, answer = QUESTIONS[i % len(QUESTIONS)]
        start = now - (traces - i) * 60
        trace, root = (
            uuid.UUID(int=rng.getrandbits(128)).hex,
            uuid.UUID(int=rng.getrandbits(128)).hex[:16],
        )
        failed = i % 9 == 4
        good = rng.random() > 0.3
        prompt, completion = rng.randint(80, 900), rng.randint(10, 200)
        model = MODELS[i % len(MODELS)]
        common = {"root_span_id": trace, "created": _iso(start)}
        rows.append(
            {
                **common,
                "id": f"trace-{i:04d}",
                "span_id": root,
                "input": {"question": question, "customer": f"c-{i % 7}"},
                "output": None if failed else (answer if good else "Let me check that for you."),
                "error": "upstream timeout after 30 s" if failed else None,
                "expected": answer,
                "scores": {}
                if failed
                else {
                    "helpfulness": round(rng.uniform(0.6, 1) if good else rng.uniform(0, 0.5), 2)
                },
                "metadata": {
                    "model": model,
                    "user_id": f"user-{i % 5}",
                    "session_id": f"s-{i // 3}",
                    "env": "prod" if i % 4 else "staging",
                    "release": "2026.11.2",
                },
                "tags": ["support"] + (["escalated"] if failed else []),
                "metrics": {"start": start, "end": start + 1.2 + rng.random()},
                "span_attributes": {"name": "support_turn", "type": "task"},
            }
        )
        rows.append(
            {
                **common,
                "id": f"trace-{i:04d}-retrieve",
                "span_id": f"{root[:12]}r001",
                "span_parents": [root],
                "input": {"query": question},
                "output": {"documents": [f"kb-{rng.randint(1, 300)}" for _ in range(3)]},
                "metrics": {"start": start + 0.05, "end": start + 0.25},
                "span_attributes": {"name": "search_kb", "type": "tool"},
            }
        )
        rows.append(
            {
                **common,
                "id": f"trace-{i:04d}-llm",
                "span_id": f"{root[:12]}l001",
                "span_parents": [root],
                "input": [
                    {"role": "system", "content": "You are a helpful support agent."},
                    {"role": "user", "content": question},
                ],
                "output": None if failed else {"role": "assistant", "content": answer},
                "error": "upstream timeout after 30 s" if failed else None,
                "metadata": {"model": model, "temperature": 0.2},
                "metrics": {
                    "start": start + 0.3,
                    "end": start + 1.1,
                    "prompt_tokens": prompt,
                    "completion_tokens": completion,
                    "total_tokens": prompt + completion,
                    "estimated_cost": round((prompt * 2.5 + completion * 10) / 1e6, 6),
                },
                "span_attributes": {"name": "chat_completion", "type": "llm"},
            }
        )
    return rows


def answer_row(row_id: str, question: str, answer: str, good: bool, rng: random.Random) -> dict:
    """An eval row: the right answer when ``good``, scored for correctness and concision."""
    return {
        "id": row_id,
        "input": {"question": question},
        "output": answer if good else "I do not know.",
        "expected": answer,
        "scores": {"correct": 1.0 if good else 0.0, "concise": round(rng.uniform(0.4, 1), 2)},
        "span_attributes": {"name": "eval", "type": "eval"},
    }


def experiment_rows(accuracy: float, seed: int) -> list[dict]:
    rng = random.Random(seed)
    now = time.time()
    rows = []
    for i, (question, answer) in enumerate(QUESTIONS):
        row = answer_row(f"e{seed}-{i}", question, answer, rng.random() < accuracy, rng)
        row["metrics"] = {
            "start": now + i,
            "end": now + i + rng.uniform(0.4, 1.8),
            "total_tokens": rng.randint(100, 600),
        }
        rows.append(row)
    return rows


def big_trace_rows(spans: int) -> list[dict]:
    """One trace: a root, 100 children, and grandchildren under them up to ``spans`` spans."""
    now = time.time() - 3600
    trace = "big" + uuid.uuid4().hex[:29]
    rows = [
        {
            "id": "big-root",
            "span_id": "s-root",
            "root_span_id": trace,
            "input": {"task": "batch job"},
            "output": {"ok": True},
            "metrics": {"start": now, "end": now + spans * 0.01},
            "span_attributes": {"name": "batch_job", "type": "task"},
        }
    ]
    children = 100
    for c in range(children):
        rows.append(
            {
                "id": f"big-{c}",
                "span_id": f"s-{c}",
                "span_parents": ["s-root"],
                "root_span_id": trace,
                "input": {"step": c},
                "metrics": {"start": now + c, "end": now + c + 1},
                "span_attributes": {"name": f"step_{c}", "type": "function"},
            }
        )
    n = 0
    while len(rows) < spans:
        c = n % children
        rows.append(
            {
                "id": f"big-{c}-{n}",
                "span_id": f"s-{c}-{n}",
                "span_parents": [f"s-{c}"],
                "root_span_id": trace,
                "input": {"item": n},
                "output": {"value": n * 2},
                "metrics": {
                    "start": now + c + 0.001 * (n // children),
                    "end": now + c + 0.001 * (n // children + 1),
                },
                "span_attributes": {"name": f"llm_call_{n}", "type": "llm"},
            }
        )
        n += 1
    return rows


def seed(client: httpx.Client, export_dir: str, big_spans: int = 10_000) -> dict:
    """Create the test data; returns the ids the browser flows use."""
    project = client.post("/v1/project", json={"name": "support-bot"}).json()
    pid = project["id"]
    _insert(client, "project_logs", pid, log_rows(60))
    dataset = client.post(
        "/v1/dataset", json={"project_id": pid, "name": "support-questions"}
    ).json()
    _insert(
        client,
        "dataset",
        dataset["id"],
        [
            {
                "id": f"q{i}",
                "input": {"question": q},
                "expected": a,
                "metadata": {"topic": "support"},
            }
            for i, (q, a) in enumerate(QUESTIONS)
        ],
    )
    base = client.post(
        "/v1/experiment",
        json={"project_id": pid, "name": "prompt-v1", "dataset_id": dataset["id"]},
    ).json()
    _insert(client, "experiment", base["id"], experiment_rows(0.5, 1))
    candidate = client.post(
        "/v1/experiment",
        json={
            "project_id": pid,
            "name": "prompt-v2",
            "base_exp_id": base["id"],
            "dataset_id": dataset["id"],
        },
    ).json()
    _insert(client, "experiment", candidate["id"], experiment_rows(0.8, 2))
    big = client.post("/v1/project", json={"name": "batch-jobs"}).json()
    big_rows = big_trace_rows(big_spans)
    _insert(client, "project_logs", big["id"], big_rows)
    return {
        "project_id": pid,
        "project_name": "support-bot",
        "dataset_id": dataset["id"],
        "base_experiment": base["id"],
        "candidate_experiment": candidate["id"],
        "big_project_id": big["id"],
        "big_trace_id": big_rows[0]["root_span_id"],
        "big_spans": big_spans,
        "export_dir": export_dir,
    }


CATEGORIES = ("billing", "shipping", "returns")


def seed_datasets2(client: httpx.Client, project_id: str) -> dict:
    """A dataset of its own for the datasets2 flows (columns, attachments, schemas, stars):
    one row per question, with metadata.category and metadata.level to show and sort."""
    dataset = client.post(
        "/v1/dataset", json={"project_id": project_id, "name": "catalog-questions"}
    ).json()
    rows = [
        {
            "id": f"c{i:02d}",
            "input": {"question": question},
            "expected": answer,
            "metadata": {"category": CATEGORIES[i % 3], "level": (i * 7) % 5},
            "tags": ["catalog"],
        }
        for i, (question, answer) in enumerate(QUESTIONS)
    ]
    _insert(client, "dataset", dataset["id"], rows)
    return {"dataset2_id": dataset["id"], "dataset2_rows": len(rows)}


def seed_runs(client: httpx.Client) -> dict:
    """A project of its own for the dataset Runs flow: a dataset of graded questions and three
    experiments on it, created a moment apart, whose rows set ``origin`` to the dataset row they
    came from (as the SDK's Eval does); the experiments carry metadata.model."""
    project = client.post("/v1/project", json={"name": "eval-runs"}).json()
    pid = project["id"]
    dataset = client.post(
        "/v1/dataset", json={"project_id": pid, "name": "graded-questions"}
    ).json()
    questions = QUESTIONS[:5]
    _insert(
        client,
        "dataset",
        dataset["id"],
        [
            {"id": f"g{i}", "input": {"question": q}, "expected": a}
            for i, (q, a) in enumerate(questions)
        ],
    )
    experiments = []
    for n, (name, model, accuracy) in enumerate(
        [("run-a", "gpt-4o-mini", 0.2), ("run-b", "gpt-4o", 0.6), ("run-c", "claude-sonnet", 1.0)]
    ):
        if n:
            time.sleep(1.0)  # distinct creation times, a second apart, to drag between
        experiment = client.post(
            "/v1/experiment",
            json={
                "project_id": pid,
                "name": name,
                "dataset_id": dataset["id"],
                "metadata": {"model": model},
            },
        ).json()
        rng = random.Random(n)
        rows = []
        for i, (question, answer) in enumerate(questions):
            good = i < round(accuracy * len(questions))
            row = answer_row(f"{name}-{i}", question, answer, good, rng)
            row["origin"] = {"object_type": "dataset", "object_id": dataset["id"], "id": f"g{i}"}
            rows.append(row)
        _insert(client, "experiment", experiment["id"], rows)
        experiments.append(experiment["id"])
    return {
        "runs_project_id": pid,
        "runs_dataset_id": dataset["id"],
        "runs_experiments": experiments,
    }


def seed_sdk_logs(client: httpx.Client) -> dict:
    """A project of its own whose spans carry token counts as the Braintrust SDK writes them
    (``metrics.tokens``, no ``total_tokens``), one trace whose only error is on a child span and
    one whose error is on the root, and a categorical score configuration."""
    project = client.post("/v1/project", json={"name": "sdk-logs"}).json()
    pid = project["id"]
    now = time.time() - 600
    rows = []
    for i in range(8):
        start, trace = now + i * 10, f"sdk-trace-{i}"
        rows.append(
            {
                "id": f"sdk-{i}",
                "span_id": f"sdk-{i}-root",
                "root_span_id": trace,
                "input": {"question": QUESTIONS[i][0]},
                "output": QUESTIONS[i][1],
                "error": "root failed" if i == 4 else None,
                "metrics": {"start": start, "end": start + 2},
                "span_attributes": {"name": "turn", "type": "task"},
            }
        )
        rows.append(
            {
                "id": f"sdk-{i}-llm",
                "span_id": f"sdk-{i}-llm",
                "span_parents": [f"sdk-{i}-root"],
                "root_span_id": trace,
                "input": [{"role": "user", "content": QUESTIONS[i][0]}],
                "output": {"role": "assistant", "content": QUESTIONS[i][1]},
                "error": "rate limited" if i == 1 else None,
                "metrics": {
                    "start": start + 0.5,
                    "end": start + 1.5,
                    "prompt_tokens": 30 * (i + 1),
                    "completion_tokens": 10 * (i + 1),
                    "tokens": 40 * (i + 1),
                },
                "span_attributes": {"name": "chat", "type": "llm"},
            }
        )
    _insert(client, "project_logs", pid, rows)
    client.post(
        "/v1/project_score",
        json={
            "project_id": pid,
            "name": "verdict",
            "score_type": "categorical",
            "categories": [{"name": "good", "value": 1}, {"name": "bad", "value": 0}],
        },
    ).raise_for_status()
    return {"sdk_project_id": pid, "sdk_max_tokens": 40 * 8}


def facet_rows(now: float) -> list[dict]:
    """Ten traces of a root task, an llm and a tool span each, whose values differ between the
    spans of one trace: tags on roots and on one llm span, errors on roots, llm and tool spans
    (trace 2 on two spans, trace 4 and 8 on the tool only), ``metadata.tier`` stored as the
    number 5 and as the string "5" (and 3 / "3"), ``metadata.cached`` a boolean, scores on
    some spans only, many of them 0, and one JSON null score (not present)."""
    rows = []
    for i in range(10):
        trace, start = f"facet-trace-{i}", now + i * 10
        root = {
            "id": f"facet-{i}",
            "span_id": f"facet-{i}-root",
            "root_span_id": trace,
            "input": {"question": QUESTIONS[i][0]},
            "output": QUESTIONS[i][1],
            "error": "root failed" if i == 7 else None,
            "metrics": {"start": start, "end": start + 3},
            "span_attributes": {"name": "batch" if i % 3 == 0 else "turn", "type": "task"},
            "tags": (["vip"] if i % 2 == 0 else []) + (["beta"] if i % 3 == 0 else []),
            "metadata": {"tier": 5 if i % 2 else "5", "model": "gpt-4o" if i < 6 else "claude"},
        }
        if i % 4 == 0:
            root["scores"] = {"helpful": 0 if i == 0 else 1}
        llm = {
            "id": f"facet-{i}-llm",
            "span_id": f"facet-{i}-llm",
            "span_parents": [f"facet-{i}-root"],
            "root_span_id": trace,
            "input": [{"role": "user", "content": QUESTIONS[i][0]}],
            "output": {"role": "assistant", "content": QUESTIONS[i][1]},
            "error": "rate limited" if i in (1, 2) else None,
            "metrics": {"start": start + 0.5, "end": start + 1.5, "tokens": 10 * (i + 1)},
            "span_attributes": {"name": "chat", "type": "llm"},
            "metadata": {
                "tier": 3 if i % 3 == 0 else 5,
                "model": "gpt-4o" if i % 2 else "claude",
                "cached": i % 4 == 1,
            },
            "scores": {"accuracy": [0, 0.5, 1][i % 3], **({"helpful": 0} if i == 3 else {})},
        }
        if i == 5:
            llm["tags"] = ["beta"]
        tool = {
            "id": f"facet-{i}-tool",
            "span_id": f"facet-{i}-tool",
            "span_parents": [f"facet-{i}-root"],
            "root_span_id": trace,
            "input": {"query": QUESTIONS[i][0]},
            "output": {"documents": i},
            "error": "timeout" if i in (2, 4, 8) else None,
            "metrics": {"start": start + 1.6, "end": start + 2.5},
            "span_attributes": {"name": "search" if i % 2 else "lookup", "type": "tool"},
            "metadata": {"tier": "3" if i == 4 else 5},
        }
        if i == 6:
            tool["scores"] = {"accuracy": None, "relevance": 0}
        rows += [root, llm, tool]
    return rows


def seed_facets(client: httpx.Client) -> dict:
    """A project of its own for the facet sidebar's counts (see ``facet_rows``)."""
    pid = client.post("/v1/project", json={"name": "facets"}).json()["id"]
    _insert(client, "project_logs", pid, facet_rows(time.time() - 900))
    return {"facets_project_id": pid}


def seed_action_errors(client: httpx.Client) -> dict:
    """A project of its own for the refused actions' flows: three traces (a root task and an
    llm span each) and a slider score configuration."""
    pid = client.post("/v1/project", json={"name": "action-errors"}).json()["id"]
    now, rows = time.time() - 600, []
    for i in range(3):
        question, answer = QUESTIONS[i]
        root = f"act-{i}"
        rows.append(
            {
                "id": root,
                "span_id": f"{root}-root",
                "root_span_id": f"act-trace-{i}",
                "input": {"question": question},
                "output": answer,
                "metrics": {"start": now + i, "end": now + i + 2},
                "span_attributes": {"name": "turn", "type": "task"},
            }
        )
        rows.append(
            {
                "id": f"{root}-llm",
                "span_id": f"{root}-llm",
                "span_parents": [f"{root}-root"],
                "root_span_id": f"act-trace-{i}",
                "input": [{"role": "user", "content": question}],
                "output": {"role": "assistant", "content": answer},
                "metrics": {"start": now + i + 0.5, "end": now + i + 1.5},
                "span_attributes": {"name": "chat", "type": "llm"},
            }
        )
    _insert(client, "project_logs", pid, rows)
    client.post(
        "/v1/project_score",
        json={"project_id": pid, "name": "quality", "score_type": "slider"},
    ).raise_for_status()
    return {"act_project_id": pid}
