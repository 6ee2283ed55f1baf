"""A deterministic data set for the seed-query conformance suite.

60 traces of 1-5 spans in one project, plus a dataset in the same project. The content is fixed
by a seeded RNG; only the times move: they are ages relative to ``now`` (the moment the suite
starts), so queries with ``now() - interval …`` see the same rows on every run. Trace times stay
far from every boundary the seed queries use (1 hour, 1 day, 7 days, 30 days): nothing lies
within several minutes of the hour mark or within hours of the day marks.

Shape of the data (what the seed queries need):

* every span carries its trace's ``metadata`` (model, is_production, endpoint, prompt_template,
  user_id, environment, sometimes user_correction and the odd-key fields of the field-access
  examples);
* roots are ``task`` spans (or a lone ``llm`` span for one-span traces) with tags, string or
  object ``input``, ``output``, sometimes ``expected``, and scores Factuality / user_rating /
  accuracy; children are ``llm`` (chat messages in, tokens, time_to_first_token, Factuality)
  and ``tool`` spans;
* errors only on llm/tool spans: mostly objects ``{"type": …, "message": …}``, some plain
  strings (so ``error.type`` is NULL for an errored span);
* traces 3, 13 and 33 are planted for the reference page's long ``filter:`` example (gpt-4,
  tagged triage, a string input with "question", Factuality > 0.8; trace 13 is a lone llm
  span over 1000 tokens outside production, so the ``or`` branch is exercised too); trace 43
  is the same with the text inside an object input, which ILIKE must not match;
* every Factuality value is unique and none has a 5 in the third decimal, so sorts on it are
  total and ``round(x, 2)`` never sits on a half.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

SEED = 20240601
MODELS = ["gpt-4", "gpt-4-turbo", "claude-3-opus", "gpt-3.5-turbo"]
ENDPOINTS = ["/v1/chat", "/v1/search", "/v1/summarize"]
TEMPLATES = ["qa-basic", "qa-chain-of-thought", "summarize-v2"]
ERROR_TYPES = ["rate_limit", "timeout", "network_error", "parse"]
STRING_ERRORS = ["connection reset by peer", "upstream returned 502"]
TAGS = ["triage", "feedback", "needs-review", "resolved", "annotated"]
QUESTIONS = [
    "Can you explain the concept of recursion in Python?",
    "Please explain the concept of recursion with an example",
    "Recursion: explain the concept of it to a child",  # every word, not as a phrase
    "explain the concept of recursive functions",  # 'recursive' is not the token 'recursion'
    "What is the question behind this ticket?",
    "A QUESTION about billing: why was I charged twice?",
    "Summarize this article about the ocean",
    "Translate 'good morning' into French",
    "How do I reset my password?",
    "Which plan includes SSO?",
    "Questionnaire results for March, summarized",
    "Explain the concept of dynamic programming",
]
PLANTED = {
    3: "Question: how do refunds work?",
    13: "One more question about the API limits",
    33: "Is this the right QUESTION to ask?",
    43: "a question about invoices",  # in an object: ILIKE must not match it
}
TOOL_QUERIES = ["lookup docs", "search tickets", "fetch invoice", "query weather"]
# (number of traces, youngest age, oldest age): ages of trace roots before `now`.
MINUTE, HOUR, DAY = 60, 3600, 86400
WINDOWS = [
    (6, 8 * MINUTE, 50 * MINUTE),  # the last hour
    (12, 90 * MINUTE, 22 * HOUR),  # the last day
    (12, 30 * HOUR, 6.5 * DAY),  # the last week
    (20, 7.5 * DAY, 29 * DAY),  # the last 30 days
    (10, 31 * DAY, 39.5 * DAY),  # older
]
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # how the store renders `created`


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime(TIME_FORMAT)


@dataclass
class DataSet:
    """The generated rows as written (``logs``, ``dataset_rows``) and as the engine should
    return them (``spans``, ``records``: every top-level field present, absent ones None)."""

    now: dt.datetime
    project_id: str
    dataset_id: str
    logs: list[dict] = field(default_factory=list)
    dataset_rows: list[dict] = field(default_factory=list)
    spans: list[dict] = field(default_factory=list)
    records: list[dict] = field(default_factory=list)

    @property
    def iso_time(self) -> str:
        """The fixed time put in for '<ISO_8601_TIME>': 20 days before `now`."""
        return (self.now - dt.timedelta(days=20)).strftime("%Y-%m-%dT%H:%M:%SZ")

    def trace(self, root_span_id: str) -> list[dict]:
        return [s for s in self.spans if s["root_span_id"] == root_span_id]


SPAN_FIELDS = (
    "id",
    "span_id",
    "root_span_id",
    "span_parents",
    "created",
    "input",
    "output",
    "expected",
    "error",
    "scores",
    "metrics",
    "metadata",
    "tags",
    "span_attributes",
)
RECORD_FIELDS = ("id", "created", "input", "expected", "metadata", "tags")


class _Factuality:
    """Unique Factuality values in random order, none with a 5 in the third decimal."""

    def __init__(self, rng: random.Random):
        self.values = [n / 10000 for n in range(1, 10000) if (n // 10) % 10 != 5]
        rng.shuffle(self.values)

    def take(self, above: float = 0.0) -> float:
        index = next(i for i, v in enumerate(self.values) if v > above)
        return self.values.pop(index)


def _ages(rng: random.Random) -> list[float]:
    ages: list[float] = []
    for count, young, old in WINDOWS:
        step = (old - young) / count
        # one age per equal slice of the window, so traces are minutes apart at least
        ages += [young + step * i + rng.uniform(0.1, 0.9) * step for i in range(count)]
    return ages


def _metadata(rng: random.Random, t: int) -> dict:
    production = rng.random() < 0.6
    metadata = {
        "model": rng.choice(MODELS),
        "is_production": production,
        "endpoint": rng.choice(ENDPOINTS),
        "prompt_template": rng.choice(TEMPLATES),
        "user_id": f"user-{rng.randrange(1, 9)}",
        "environment": "production" if production else "staging",
    }
    if rng.random() < 0.5:
        metadata["user_correction"] = rng.random() < 0.5
    if t % 4 == 0:  # the field-access examples: keys with a space, a hyphen, a dot; a list
        metadata["field name"] = f"space-{t}"
        metadata["field-name"] = f"hyphen-{t}"
        metadata["field.name"] = f"dot-{t}"
        metadata["models"] = [{"name": f"m{t}-a"}, {"name": f"m{t}-b"}]
    return metadata


def _error(rng: random.Random):
    if rng.random() < 0.25:
        return rng.choice(STRING_ERRORS)
    kind = rng.choice(ERROR_TYPES)
    return {"type": kind, "message": f"{kind.replace('_', ' ')} while calling the model"}


def generate(now: dt.datetime, project_id: str, dataset_id: str) -> DataSet:
    """The data set for ``now`` (UTC; cut to whole seconds so times round-trip exactly)."""
    now = now.astimezone(dt.UTC).replace(microsecond=0)
    rng = random.Random(SEED)
    factuality = _Factuality(rng)
    data = DataSet(now=now, project_id=project_id, dataset_id=dataset_id)
    for t, age in enumerate(_ages(rng)):
        start = now - dt.timedelta(seconds=round(age))
        root_span_id = f"trace-{t:02d}"
        metadata = _metadata(rng, t)
        n_spans = rng.randint(1, 5)
        spans = []
        question = rng.choice(QUESTIONS)
        planted = t in PLANTED
        if planted:
            metadata.update(model="gpt-4", is_production=t != 13)
            metadata["environment"] = "production" if t != 13 else "staging"
            question = PLANTED[t]
            n_spans = 1 if t == 13 else max(n_spans, 2)
        for k in range(n_spans):
            created = start + dt.timedelta(seconds=k)
            epoch = created.timestamp()
            kind = ("llm" if n_spans == 1 else "task") if k == 0 else rng.choice(["llm", "tool"])
            span = {
                "id": f"span-{t:02d}-{k}",
                "span_id": root_span_id if k == 0 else f"{root_span_id}-{k}",
                "root_span_id": root_span_id,
                "created": iso(created),
                "metadata": dict(metadata),
                "span_attributes": {"name": "root" if k == 0 else f"{kind}-{k}", "type": kind},
            }
            if k:
                span["span_parents"] = [root_span_id]
            duration = round(rng.uniform(0.2, 9.0), 3)
            metrics = {
                "start": epoch,
                "end": epoch + duration,
                "latency": round(rng.uniform(80, 9000), 1),
            }
            scores = {}
            if k == 0:
                span["input"] = question if rng.random() < 0.8 else {"question": question}
                span["output"] = f"answer {t}: {question.lower()[:30]}"
                if rng.random() < 0.4:
                    span["expected"] = f"expected answer {t}"
                tags = rng.sample(TAGS, rng.choice([0, 1, 1, 2, 2, 3]))
                if tags:
                    span["tags"] = tags
                if rng.random() < 0.6:
                    scores["Factuality"] = factuality.take()
                if rng.random() < 0.5:
                    scores["user_rating"] = rng.choice([0, 0.25, 0.5, 0.75, 0.9, 1])
                if rng.random() < 0.5:
                    scores["accuracy"] = round(rng.random(), 3)
            if kind == "llm":
                if k:
                    span["input"] = [{"role": "user", "content": question}]
                    span["output"] = f"model reply {t}-{k}"
                prompt = rng.randint(40, 1400)
                completion = rng.randint(10, 700)
                metrics.update(
                    prompt_tokens=prompt,
                    completion_tokens=completion,
                    total_tokens=prompt + completion,
                    tokens=prompt + completion,
                    time_to_first_token=round(rng.uniform(0.03, 0.6), 3),
                )
                if rng.random() < 0.7:
                    scores["Factuality"] = factuality.take()
            elif kind == "tool":
                span["input"] = {"query": rng.choice(TOOL_QUERIES)}
                span["output"] = {"results": rng.randint(0, 5)}
            if kind in ("llm", "tool") and rng.random() < 0.3:
                span["error"] = _error(rng)
            if planted and k == 0:
                span["input"] = {"text": question} if t == 43 else question
                span["tags"] = ["triage", *[x for x in span.get("tags", []) if x != "triage"]]
                scores["Factuality"] = factuality.take(above=0.8)
                if t == 13:
                    metrics.update(prompt_tokens=900, completion_tokens=300)
                    metrics.update(total_tokens=1200, tokens=1200)
            if scores:
                span["scores"] = scores
            span["metrics"] = metrics
            spans.append(span)
        for span in spans:
            data.logs.append({"project_id": project_id, "log_id": "g", **span})
            data.spans.append(
                {
                    **{name: span.get(name) for name in SPAN_FIELDS},
                    "is_root": "span_parents" not in span,
                    "project_id": project_id,
                    "log_id": "g",
                    "_created": dt.datetime.strptime(span["created"], TIME_FORMAT).replace(
                        tzinfo=dt.UTC
                    ),
                }
            )
    for i in range(16):
        created = now - dt.timedelta(hours=3 * i + 1)
        row = {
            "id": f"record-{i:02d}",
            "created": iso(created),
            "input": rng.choice(QUESTIONS) if i % 3 else {"text": rng.choice(QUESTIONS)},
            "metadata": {"annotated": rng.random() < 0.5, "source": rng.choice(["ui", "sdk"])},
        }
        if rng.random() < 0.6:
            row["expected"] = f"reference {i}" if i % 4 else {"label": f"class-{i % 3}"}
        if i % 5 == 0:
            row["tags"] = ["annotated"]
        data.dataset_rows.append({"dataset_id": dataset_id, **row})
        data.records.append({name: row.get(name) for name in RECORD_FIELDS})
    return data
