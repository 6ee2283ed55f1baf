"""The span type (``span_attributes.type``) of an OTel span: ordered rules, first match wins.
``braintrust.span_attributes.type`` comes before all of them (the Braintrust mapper sets it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Attrs = dict[str, Any]

GENAI_OPERATIONS = {
    "chat": "llm",
    "text_completion": "llm",
    "generate_content": "llm",
    "embeddings": "llm",
    "completion": "llm",
    "generate": "llm",
    "execute_tool": "tool",
    "retrieval": "tool",
    "invoke_agent": "task",
    "create_agent": "task",
    "invoke_workflow": "task",
    "plan": "task",
}
OPENINFERENCE_KINDS = {
    "LLM": "llm",
    "EMBEDDING": "llm",
    "TOOL": "tool",
    "RETRIEVER": "tool",
    "RERANKER": "tool",
    "AGENT": "task",
    "CHAIN": "task",
    "EVALUATOR": "score",
    "GUARDRAIL": "function",
    "PROMPT": "function",
}
TRACELOOP_KINDS = {"workflow": "task", "agent": "task", "task": "task", "tool": "tool"}
LLM_REQUEST_TYPES = frozenset({"chat", "completion", "embedding", "rerank"})
MODEL_KEYS = ("gen_ai.request.model", "gen_ai.response.model", "llm.model_name", "ai.model.id")


def by_genai_operation(attrs: Attrs) -> str | None:
    return GENAI_OPERATIONS.get(str(attrs.get("gen_ai.operation.name", "")).lower())


def by_openinference_kind(attrs: Attrs) -> str | None:
    return OPENINFERENCE_KINDS.get(str(attrs.get("openinference.span.kind", "")).upper())


def by_traceloop_kind(attrs: Attrs) -> str | None:
    kind = TRACELOOP_KINDS.get(str(attrs.get("traceloop.span.kind", "")).lower())
    if kind is None and str(attrs.get("llm.request.type")) in LLM_REQUEST_TYPES:
        return "llm"
    return kind


def by_ai_sdk_operation(attrs: Attrs) -> str | None:
    operation = attrs.get("ai.operationId")
    if not isinstance(operation, str):
        operation = str(attrs.get("operation.name", "")).split(" ", 1)[0]
    if not operation.startswith("ai."):
        return None
    if operation.endswith((".doGenerate", ".doStream", ".doEmbed")):
        return "llm"
    if operation == "ai.toolCall":
        return "tool"
    return "task"


def by_tool_attributes(attrs: Attrs) -> str | None:
    if "gen_ai.tool.name" in attrs or "gen_ai.tool.call.id" in attrs:
        return "tool"
    return None


def by_model_attribute(attrs: Attrs) -> str | None:
    return "llm" if any(key in attrs for key in MODEL_KEYS) else None


RULES: tuple[Callable[[Attrs], str | None], ...] = (
    by_genai_operation,
    by_openinference_kind,
    by_traceloop_kind,
    by_ai_sdk_operation,
    by_tool_attributes,
    by_model_attribute,
)


def span_type(attrs: Attrs) -> str | None:
    """The first rule's answer, or None when no rule knows the span."""
    for rule in RULES:
        kind = rule(attrs)
        if kind is not None:
            return kind
    return None
