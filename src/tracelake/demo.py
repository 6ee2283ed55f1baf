"""Sample data so a new user sees something at once: a project with traced logs, a dataset
and two experiments on it. Pure: produces raw rows as the SDK would send them."""

from __future__ import annotations

import random
import time
import uuid

from tracelake.model.rows import format_timestamp

QUESTIONS = [
    ("What is the capital of France?", "Paris"),
    ("How many legs does a spider have?", "8"),
    ("What is 12 times 12?", "144"),
    ("Who wrote Hamlet?", "William Shakespeare"),
    ("What is the boiling point of water in Celsius?", "100"),
    ("Which planet is known as the red planet?", "Mars"),
    ("What gas do plants absorb?", "Carbon dioxide"),
    ("How many continents are there?", "7"),
]
MODELS = ["gpt-4o", "gpt-4o-mini", "claude-sonnet"]


def _hex(n: int, rng: random.Random) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def demo_log_rows(project_id: str, traces: int = 40, seed: int = 7) -> list[dict]:
    """Traces of a small question-answering app: a root task, a retrieval and an LLM call."""
    from datetime import UTC, datetime

    rng = random.Random(seed)
    now = time.time()
    rows = []
    for i in range(traces):
        question, answer = QUESTIONS[i % len(QUESTIONS)]
        model = MODELS[i % len(MODELS)]
        start = now - (traces - i) * 90
        root_span, trace_id = _hex(16, rng), _hex(32, rng)
        correct = rng.random() > 0.25
        output = answer if correct else "I am not sure."
        prompt_tokens, completion_tokens = rng.randint(40, 400), rng.randint(5, 80)
        created = format_timestamp(datetime.fromtimestamp(start, UTC))
        base = {"project_id": project_id, "log_id": "g", "root_span_id": trace_id}
        rows.append(
            {
                **base,
                "id": str(uuid.UUID(int=rng.getrandbits(128))),
                "span_id": root_span,
                "span_parents": None,
                "created": created,
                "input": {"question": question},
                "output": output,
                "expected": answer,
                "scores": {"correct": 1.0 if correct else 0.0},
                "metadata": {"model": model, "user_id": f"user-{i % 5}"},
                "metrics": {"start": start, "end": start + 1.6},
                "tags": ["demo"] + (["needs-review"] if not correct else []),
                "span_attributes": {"name": "answer_question", "type": "task"},
            }
        )
        retrieval = _hex(16, rng)
        rows.append(
            {
                **base,
                "id": str(uuid.UUID(int=rng.getrandbits(128))),
                "span_id": retrieval,
                "span_parents": [root_span],
                "created": created,
                "input": {"query": question},
                "output": {"documents": [f"doc-{rng.randint(1, 99)}" for _ in range(3)]},
                "metrics": {"start": start + 0.05, "end": start + 0.3},
                "span_attributes": {"name": "retrieve", "type": "tool"},
            }
        )
        rows.append(
            {
                **base,
                "id": str(uuid.UUID(int=rng.getrandbits(128))),
                "span_id": _hex(16, rng),
                "span_parents": [root_span],
                "created": created,
                "input": [{"role": "user", "content": question}],
                "output": [{"role": "assistant", "content": output}],
                "metadata": {"model": model, "temperature": 0.2},
                "metrics": {
                    "start": start + 0.3,
                    "end": start + 1.5,
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
                "span_attributes": {"name": "chat_completion", "type": "llm"},
            }
        )
    return rows


def demo_dataset_rows(dataset_id: str) -> list[dict]:
    return [
        {
            "dataset_id": dataset_id,
            "id": f"q{i}",
            "input": {"question": q},
            "expected": a,
            "metadata": {"topic": "trivia"},
            "tags": ["demo"],
        }
        for i, (q, a) in enumerate(QUESTIONS)
    ]


def demo_experiment_rows(experiment_id: str, accuracy: float, seed: int) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    now = time.time()
    for i, (question, answer) in enumerate(QUESTIONS):
        correct = rng.random() < accuracy
        span = _hex(16, rng)
        rows.append(
            {
                "experiment_id": experiment_id,
                "id": f"{experiment_id[:8]}-{i}",
                "span_id": span,
                "root_span_id": span,
                "span_parents": None,
                "input": {"question": question},
                "output": answer if correct else "unknown",
                "expected": answer,
                "scores": {"correct": 1.0 if correct else 0.0},
                "metrics": {"start": now + i, "end": now + i + rng.uniform(0.5, 2.0)},
                "origin": {"object_type": "dataset", "id": f"q{i}"},
                "span_attributes": {"name": "eval", "type": "eval"},
            }
        )
    return rows
