"""Data for the query benchmark: realistic 10-span traces written straight through the store.

A trace is one turn of a support assistant: a root task, intent classification, embedding,
vector search, rerank, answer generation, an order-lookup tool call, a follow-up suggestion,
moderation and an answer scorer. Fields are nested the way SDKs log them (chat messages,
retrieved documents, tool arguments, model parameters, token and timing metrics, scores on
the root and the scorer, tags on the root).

Loading skips HTTP (1M spans through ``/logs3`` takes over a minute of pure overhead) but uses
the server's own write path: ``prepare_batch`` then ``Store.write`` (validation, row states,
Arrow columns, the ``live`` / ``history`` / ``traces`` upserts, group commit).
"""

from __future__ import annotations

import datetime as dt
import json
import random
import time
import uuid
from pathlib import Path

from tracelake.store.catalog import Catalog, bootstrap
from tracelake.store.events import prepare_batch
from tracelake.store.store import Store

SPANS_PER_TRACE = 10
BATCH_ROWS = 5_000
PROJECT_NAME = "bench-query"
ORG_NAME = "tracelake"
DATA_VERSION = 2  # bump when the generator changes so cached data dirs are rebuilt
BASE_TIME = dt.datetime(2026, 11, 1, tzinfo=dt.UTC).timestamp()
DAYS = 30

# A vocabulary with a Zipf-like frequency, so text looks like text to a tokenizer.
_COMMON = (
    "the a to and of i my is it for you in this that on with can be your was not have are "
    "please order account help thanks need what how when why where do does did get got "
    "would could should will just still again now today yesterday week month time back "
    "there here about from after before into out up down over under more less some any "
    "all no yes ok sure hello hi customer support agent service product item package "
    "delivery shipping address payment card bank email phone number name update change "
    "cancel return exchange price discount code coupon store app website login password "
    "reset error issue problem question answer information details status tracking late "
    "missing damaged wrong size color quantity stock available subscription plan upgrade "
    "downgrade billing charge fee tax total receipt confirmation message notification "
    "setting profile language region country city street zip weekend morning evening "
    "quickly soon later possible sorry understand check looks like seems works working "
    "broken fixed tried trying want wanted know let see find found send sent receive "
    "received call called wait waiting days hours minutes first last next new old same"
).split()
WORDS = _COMMON + [f"term{n}" for n in range(600)]  # a long tail of rarer words
_WEIGHTS = [1.0 / (rank + 1) ** 0.9 for rank in range(len(WORDS))]
_CUM = [sum(_WEIGHTS[: i + 1]) for i in range(len(_WEIGHTS))]

# Topic words that never come from the vocabulary: each appears in a known share of traces.
MATCH_WORD = "invoice"  # in the user's question (so in the input of 5 spans of the trace)
MATCH_SHARE = 0.005
ILIKE_WORD = "chargeback"  # in the answer generator's output text
ILIKE_SHARE = 0.01
MODELS = ("gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet", "claude-3-5-haiku", "llama-3.1-70b")
MODEL_WEIGHTS = (35, 30, 15, 12, 8)
COMMENT_EVERY = 500  # one comment on the root span of every 500th trace


def text(rng: random.Random, n: int) -> str:
    return " ".join(rng.choices(WORDS, cum_weights=_CUM, k=n))


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat()


def _llm_metrics(rng: random.Random, start: float, prompt: int, completion: int) -> dict:
    ttft = round(0.15 + rng.random() * 0.6, 4)
    end = start + ttft + completion * (0.004 + rng.random() * 0.01)
    return {
        "start": start,
        "end": end,
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "tokens": prompt + completion,
        "prompt_cached_tokens": rng.choice((0, 0, 0, prompt // 2)),
        "time_to_first_token": ttft,
    }


def trace_rows(rng: random.Random, project_id: str, trace_no: int, n_traces: int) -> list[dict]:
    """The 10 spans of one trace (plus a comment on every ``COMMENT_EVERY``-th trace)."""
    # Random UUIDs as the SDKs make them: ids carry no order, so no zone map can skip on them.
    root_id = _uuid(rng)
    span_ids = [root_id] + [_uuid(rng) for _ in range(9)]
    row_ids = [_uuid(rng) for _ in range(10)]
    t0 = BASE_TIME + trace_no * (DAYS * 86_400 / n_traces) + rng.random()
    model = rng.choices(MODELS, weights=MODEL_WEIGHTS)[0]
    small = "gpt-4o-mini" if model.startswith("gpt") else "claude-3-5-haiku"
    user_id = f"user-{rng.randint(1, 20_000):05d}"
    tier = rng.choices(("free", "pro", "enterprise"), weights=(70, 25, 5))[0]
    env = rng.choices(("prod", "staging"), weights=(95, 5))[0]
    session = f"sess-{rng.getrandbits(40):010x}"
    question = text(rng, rng.randint(8, 30))
    if rng.random() < MATCH_SHARE:
        words = question.split()
        words.insert(rng.randint(0, len(words)), MATCH_WORD)
        question = " ".join(words)
    question += "?"
    history = [
        {"role": "user" if i % 2 == 0 else "assistant", "content": text(rng, rng.randint(5, 25))}
        for i in range(rng.choice((0, 0, 2, 4)))
    ]
    system = {"role": "system", "content": "You are a helpful support assistant. " + text(rng, 20)}
    user = {"role": "user", "content": question}
    docs = [
        {
            "id": f"kb-{rng.randint(1, 5000)}",
            "title": text(rng, 4),
            "score": round(rng.random(), 4),
            "text": text(rng, rng.randint(20, 45)),
        }
        for _ in range(4)
    ]
    answer = text(rng, rng.randint(30, 80))
    if rng.random() < ILIKE_SHARE:
        answer = f"{text(rng, 6)} {ILIKE_WORD} {answer}"
    order_id = f"ORD-{rng.randint(100000, 999999)}"
    common_meta = {"user_id": user_id, "env": env, "session_id": session}
    clock = t0

    def advance(seconds: float) -> float:
        nonlocal clock
        clock += seconds
        return clock

    spans: list[tuple[str, str, dict]] = []  # (name, type, fields)

    start = advance(0.01)
    prompt, completion = rng.randint(150, 400), rng.randint(3, 12)
    m = _llm_metrics(rng, start, prompt, completion)
    intent = rng.choice(("order_status", "billing", "returns", "account", "other"))
    spans.append(
        (
            "classify_intent",
            "llm",
            {
                "input": {"messages": [system, user]},
                "output": {"role": "assistant", "content": intent, "finish_reason": "stop"},
                "metadata": {**common_meta, "model": small, "temperature": 0, "max_tokens": 16},
                "metrics": m,
            },
        )
    )
    start = advance(m["end"] - start + 0.005)
    spans.append(
        (
            "embed_query",
            "function",
            {
                "input": {"text": question, "model": "text-embedding-3-small"},
                "output": {"dimensions": 1536, "norm": round(rng.random(), 6)},
                "metadata": {**common_meta, "provider": "openai"},
                "metrics": {"start": start, "end": advance(0.02 + rng.random() * 0.05)},
            },
        )
    )
    start = advance(0.002)
    spans.append(
        (
            "vector_search",
            "tool",
            {
                "input": {"query": question, "top_k": 4, "filters": {"locale": "en", "tier": tier}},
                "output": {"documents": docs},
                "metadata": {**common_meta, "index": "kb-v3"},
                "metrics": {"start": start, "end": advance(0.03 + rng.random() * 0.1)},
            },
        )
    )
    start = advance(0.002)
    prompt, completion = rng.randint(600, 1500), rng.randint(10, 30)
    m = _llm_metrics(rng, start, prompt, completion)
    spans.append(
        (
            "rerank",
            "llm",
            {
                "input": {"messages": [system, user], "documents": [d["id"] for d in docs]},
                "output": {
                    "role": "assistant",
                    "content": json.dumps([d["id"] for d in docs[:2]]),
                    "finish_reason": "stop",
                },
                "metadata": {**common_meta, "model": small, "temperature": 0},
                "metrics": m,
            },
        )
    )
    start = advance(m["end"] - start + 0.005)
    spans.append(
        (
            "lookup_order",
            "tool",
            {
                "input": {"function": "lookup_order", "arguments": {"order_id": order_id}},
                "output": {
                    "status": rng.choice(("shipped", "processing", "delivered", "cancelled")),
                    "items": [
                        {"sku": f"SKU-{rng.randint(1, 9999)}", "qty": rng.randint(1, 3)}
                        for _ in range(rng.randint(1, 3))
                    ],
                },
                "metadata": {**common_meta, "service": "orders-api"},
                "metrics": {"start": start, "end": advance(0.05 + rng.random() * 0.2)},
                "error": (
                    {"type": "TimeoutError", "message": "orders-api timed out"}
                    if rng.random() < 0.02
                    else None
                ),
            },
        )
    )
    start = advance(0.005)
    prompt, completion = rng.randint(1200, 4000), rng.randint(60, 400)
    m = _llm_metrics(rng, start, prompt, completion)
    context = "\n".join(d["text"] for d in docs[:2])
    spans.append(
        (
            "generate_answer",
            "llm",
            {
                "input": {
                    "messages": [
                        system,
                        *history,
                        {"role": "system", "content": "Context:\n" + context},
                        user,
                    ],
                    "params": {"temperature": 0.3, "top_p": 1, "max_tokens": 800},
                },
                "output": {"role": "assistant", "content": answer, "finish_reason": "stop"},
                "metadata": {**common_meta, "model": model, "temperature": 0.3},
                "metrics": m,
            },
        )
    )
    start = advance(m["end"] - start + 0.005)
    prompt, completion = rng.randint(300, 900), rng.randint(10, 40)
    m = _llm_metrics(rng, start, prompt, completion)
    spans.append(
        (
            "suggest_followups",
            "llm",
            {
                "input": {"messages": [system, user, {"role": "assistant", "content": answer}]},
                "output": {
                    "role": "assistant",
                    "content": text(rng, rng.randint(8, 20)),
                    "finish_reason": "stop",
                },
                "metadata": {**common_meta, "model": small, "temperature": 0.7},
                "metrics": m,
            },
        )
    )
    start = advance(m["end"] - start + 0.002)
    flagged = rng.random() < 0.01
    spans.append(
        (
            "moderation",
            "function",
            {
                "input": {"text": answer},
                "output": {
                    "flagged": flagged,
                    "categories": {"harassment": False, "self_harm": False, "spam": flagged},
                },
                "metadata": {**common_meta, "provider": "openai"},
                "metrics": {"start": start, "end": advance(0.05 + rng.random() * 0.1)},
            },
        )
    )
    start = advance(0.002)
    factuality = round(rng.random() ** 0.5, 3)
    spans.append(
        (
            "factuality",
            "score",
            {
                "input": {"question": question, "answer": answer},
                "output": {"score": factuality, "rationale": text(rng, 15)},
                "metadata": {**common_meta, "scorer": "autoevals.Factuality", "model": small},
                "metrics": {"start": start, "end": advance(0.3 + rng.random())},
                "scores": {"Factuality": factuality},
            },
        )
    )
    end = advance(0.001)
    root = {
        "input": {"question": question, "history": history, "channel": "web"},
        "output": {"answer": answer, "citations": [d["id"] for d in docs[:2]], "intent": intent},
        "metadata": {
            **common_meta,
            "model": model,
            "app_version": f"2.{rng.randint(0, 9)}.{rng.randint(0, 20)}",
            "customer": {"tier": tier, "region": rng.choice(("us", "eu", "apac"))},
        },
        "metrics": {"start": t0, "end": end},
        "scores": {
            "helpfulness": round(rng.random(), 3),
            "relevance": round(rng.random() ** 0.3, 3),
        },
        "tags": [env, tier] + (["escalated"] if rng.random() < 0.03 else []),
    }
    rows = [
        {
            "project_id": project_id,
            "log_id": "g",
            "id": row_ids[0],
            "span_id": root_id,
            "root_span_id": root_id,
            "created": _iso(t0),
            "span_attributes": {"name": "support_turn", "type": "task"},
            **root,
        }
    ]
    for k, (name, kind, fields) in enumerate(spans, start=1):
        rows.append(
            {
                "project_id": project_id,
                "log_id": "g",
                "id": row_ids[k],
                "span_id": span_ids[k],
                "root_span_id": root_id,
                "span_parents": [root_id],
                "created": _iso(fields["metrics"]["start"]),
                "span_attributes": {"name": name, "type": kind},
                **{key: value for key, value in fields.items() if value is not None},
            }
        )
    if trace_no % COMMENT_EVERY == 0:
        rows.append(
            {
                "project_id": project_id,
                "log_id": "g",
                "id": _uuid(rng),
                "created": _iso(end + 3600),
                "comment": {"text": "reviewed: " + text(rng, 10)},
                "origin": {"id": row_ids[0]},
            }
        )
    return rows


def load(data_dir: Path, spans: int, api_key: str) -> dict:
    """Create the org, key and project, write ``spans`` spans, close the store. Returns the
    metadata that is kept beside the data (project id, sizes, load time)."""
    n_traces = max(1, spans // SPANS_PER_TRACE)
    store = Store(data_dir)
    catalog = Catalog(store)
    bootstrap(catalog, ORG_NAME, api_key)
    principal = catalog.authenticate(api_key)
    project_id = catalog.create_project(principal.org_id, PROJECT_NAME)["id"]
    rng = random.Random(2026)
    t0 = time.perf_counter()
    pending: list = []
    rows: list[dict] = []
    written = 0
    store.start()
    try:
        for trace_no in range(n_traces):
            rows.extend(trace_rows(rng, project_id, trace_no, n_traces))
            if len(rows) >= BATCH_ROWS or trace_no == n_traces - 1:
                # Validation and row building on this thread while the writer thread inserts
                # the previous batch (as request threads and the writer overlap in the server).
                pending.append(store.submit(prepare_batch(catalog, principal, rows)))
                written += len(rows)
                rows = []
                while len(pending) > 2:
                    pending.pop(0).result()
                if written // 100_000 != (written - BATCH_ROWS) // 100_000:
                    rate = written / (time.perf_counter() - t0)
                    print(f"  loaded {written:,} rows ({rate:,.0f} rows/s)", flush=True)
        for future in pending:
            future.result()
    finally:
        store.close()
    return {
        "version": DATA_VERSION,
        "project_id": project_id,
        "org_id": principal.org_id,
        "spans": n_traces * SPANS_PER_TRACE,
        "traces": n_traces,
        "load_seconds": round(time.perf_counter() - t0, 1),
    }
