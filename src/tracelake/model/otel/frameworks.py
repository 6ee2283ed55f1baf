"""Framework conventions: OpenInference (Arize Phoenix instrumentations), Traceloop /
OpenLLMetry, the Vercel AI SDK and Logfire / Pydantic AI. Each reads its own attributes and
fills only what the conventions before it left empty."""

from __future__ import annotations

from typing import Any

import orjson

from tracelake.model.otel.conventions import strip_provider
from tracelake.model.otel.draft import SpanDraft, maybe_json, tag_texts, unflatten
from tracelake.model.otel.span_types import by_ai_sdk_operation

# -- OpenInference ------------------------------------------------------------------------------

_OI_PREFIXES = frozenset({"input", "output", "llm", "openinference"})
_OI_TOKENS = (
    ("prompt_tokens", "llm.token_count.prompt"),
    ("completion_tokens", "llm.token_count.completion"),
    ("tokens", "llm.token_count.total"),
    ("prompt_cached_tokens", "llm.token_count.prompt_details.cache_read"),
    ("prompt_cache_creation_tokens", "llm.token_count.prompt_details.cache_write"),
    ("completion_reasoning_tokens", "llm.token_count.completion_details.reasoning"),
    ("estimated_cost", "llm.cost.total"),
)


def map_openinference(d: SpanDraft) -> None:
    """OpenInference: ``input.value``/``output.value``, ``llm.*_messages``, ``llm.*``."""
    if _OI_PREFIXES & d.prefixes:
        _openinference_llm(d)
    if "metadata" in d.attrs:
        metadata = maybe_json(d.take("metadata"))
        if isinstance(metadata, dict):
            for key, value in metadata.items():
                d.meta(key, value)
        else:
            d.meta("metadata", metadata)
    if "session.id" in d.attrs:
        d.meta("session_id", d.take("session.id"))
    if "user.id" in d.attrs:
        d.meta("user_id", d.take("user.id"))
    if "tag.tags" in d.attrs:
        tags = maybe_json(d.take("tag.tags"))
        if isinstance(tags, list) and d.tags is None:
            d.tags = tag_texts(tags)


def _openinference_llm(d: SpanDraft) -> None:
    is_llm = str(d.attrs.get("openinference.span.kind", "")).upper() == "LLM"
    d.take("openinference.span.kind")
    inputs = _oi_messages(d.take_under("llm.input_messages"))
    outputs = _oi_messages(d.take_under("llm.output_messages"))
    input_value = _oi_value(d, "input")
    output_value = _oi_value(d, "output")
    pairs = (("input", inputs, input_value), ("output", outputs, output_value))
    for name, messages, value in pairs:
        first, second = (messages, value) if is_llm else (value, messages)
        d.set(name, first)
        d.set(name, second)
    if "llm" not in d.prefixes:
        return
    d.meta("model", strip_provider(d.take("llm.model_name")))
    d.meta("provider", d.take_first("llm.provider", "llm.system"))
    parameters = maybe_json(d.take("llm.invocation_parameters"))
    if isinstance(parameters, dict):
        for key, value in parameters.items():
            d.meta(key, value)
    else:
        d.meta("invocation_parameters", parameters)
    if d.has_under("llm.token_count") or "llm.cost.total" in d.attrs:
        for metric, key in _OI_TOKENS:
            d.metric(metric, d.take(key))


def _oi_value(d: SpanDraft, which: str) -> Any:
    value = d.take(f"{which}.value")
    mime = d.take(f"{which}.mime_type")
    if isinstance(value, str) and mime == "application/json":
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    return value


def _oi_messages(flat: dict) -> list | None:
    """``N.message.{role,content,contents,tool_calls,tool_call_id,name}`` as OpenAI messages."""
    if not flat:
        return None
    items = unflatten(flat)
    if not isinstance(items, list):
        return None
    messages = []
    for item in items:
        message = item.get("message", item) if isinstance(item, dict) else {}
        if not isinstance(message, dict):  # ``N.message`` itself set to a value
            message = {"content": message}
        converted: dict[str, Any] = {"role": message.get("role")}
        if "content" in message:
            converted["content"] = message["content"]
        elif isinstance(message.get("contents"), list):
            converted["content"] = [
                c.get("message_content", c) for c in message["contents"] if isinstance(c, dict)
            ]
        else:
            converted["content"] = None
        calls = message.get("tool_calls")
        if isinstance(calls, list):
            converted["tool_calls"] = [_oi_tool_call(c) for c in calls]
        for key in ("tool_call_id", "name"):
            if message.get(key) is not None:
                converted[key] = message[key]
        messages.append(converted)
    return messages


def _oi_tool_call(call: Any) -> dict:
    call = call.get("tool_call", call) if isinstance(call, dict) else {}
    if not isinstance(call, dict):  # ``N.tool_call`` itself set to a value
        call = {}
    function = call.get("function") if isinstance(call.get("function"), dict) else {}
    arguments = function.get("arguments")
    if arguments is not None and not isinstance(arguments, str):
        arguments = orjson.dumps(arguments).decode()
    return {
        "id": call.get("id"),
        "type": "function",
        "function": {"name": function.get("name"), "arguments": arguments},
    }


# -- Traceloop / OpenLLMetry --------------------------------------------------------------------


def map_traceloop(d: SpanDraft) -> None:
    """Traceloop: entity input/output and names (its LLM spans use ``gen_ai.*``)."""
    if "traceloop" not in d.prefixes and "llm.usage.total_tokens" not in d.attrs:
        return
    d.set("input", _stringified(d.take("traceloop.entity.input")))
    d.set("output", _stringified(d.take("traceloop.entity.output")))
    d.take("traceloop.span.kind")
    d.meta("entity_name", d.take("traceloop.entity.name"))
    d.meta("workflow_name", d.take("traceloop.workflow.name"))
    d.meta("entity_path", d.take("traceloop.entity.path"))
    for key, value in d.take_under("traceloop.association.properties").items():
        d.meta(key, value)
    d.metric("tokens", d.take("llm.usage.total_tokens"))


def _stringified(value: Any) -> Any:
    """A value its library wrote as JSON text (Traceloop's ``json.dumps`` of an entity's
    input and output, the AI SDK's ``JSON.stringify`` of a tool call's args and result and
    of a generated object), so a task that returned ``"done"`` sends ``'"done"'`` (and ``42``
    sends ``'42'``): any JSON is parsed, not only objects and arrays; text that is not JSON
    stays as it is."""
    if isinstance(value, str):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    return value


# -- Vercel AI SDK ------------------------------------------------------------------------------

_AI_TOKENS = (
    ("prompt_tokens", ("ai.usage.inputTokens", "ai.usage.promptTokens")),
    ("completion_tokens", ("ai.usage.outputTokens", "ai.usage.completionTokens")),
    ("tokens", ("ai.usage.totalTokens",)),
    ("prompt_cached_tokens", ("ai.usage.cachedInputTokens",)),
    ("completion_reasoning_tokens", ("ai.usage.reasoningTokens",)),
)


def map_vercel(d: SpanDraft) -> None:
    """Vercel AI SDK ``ai.*`` (v3 ``ai.result.*`` up to v5+ names; usage counted once)."""
    if "ai" not in d.prefixes:
        return
    messages = maybe_json(d.take("ai.prompt.messages"))
    prompt = _ai_prompt(maybe_json(d.take("ai.prompt")))
    arguments = _stringified(d.take("ai.toolCall.args"))
    for value in (messages, prompt, arguments):
        d.set("input", value)
    text = d.take_first("ai.response.text", "ai.result.text")
    calls = maybe_json(d.take_first("ai.response.toolCalls", "ai.result.toolCalls"))
    if text is not None or calls:
        d.set("output", [_assistant_message(text, calls)])
    d.set("output", _stringified(d.take_first("ai.response.object", "ai.result.object")))
    d.set("output", _stringified(d.take("ai.toolCall.result")))
    d.meta("model", strip_provider(d.take("ai.model.id")))
    d.meta("provider", d.take("ai.model.provider"))
    if by_ai_sdk_operation(d.attrs) != "task":
        # A wrapper span (ai.generateText, ai.streamText, …) restates the usage of its
        # provider calls (….doGenerate, ….doStream), which carry it as well: a trace's
        # summary, the sum over its spans, counted it twice. It stays in metadata.
        for metric, keys in _AI_TOKENS:
            d.metric(metric, d.take_first(*keys))
    first_chunk = d.take_first("ai.response.msToFirstChunk", "ai.stream.msToFirstChunk")
    if isinstance(first_chunk, int | float) and not isinstance(first_chunk, bool):
        d.metric("time_to_first_token", first_chunk / 1000)
    for key, value in d.take_under("ai.telemetry.metadata").items():
        d.meta(key, maybe_json(value))


def _ai_prompt(prompt: Any) -> Any:
    """``ai.prompt`` is ``{system?, prompt?, messages?}``: as chat messages."""
    if not isinstance(prompt, dict):
        return prompt
    messages = prompt.get("messages")
    if not isinstance(messages, list):
        text = prompt.get("prompt")
        if text is None:
            return prompt
        messages = [{"role": "user", "content": text}]
    if prompt.get("system") is not None:
        messages = [{"role": "system", "content": prompt["system"]}, *messages]
    return messages


def _assistant_message(text: Any, calls: Any) -> dict:
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if isinstance(calls, list) and calls:
        message["tool_calls"] = [
            {
                "id": c.get("toolCallId"),
                "type": "function",
                "function": {
                    "name": c.get("toolName"),
                    "arguments": _json_text(c.get("args", c.get("input"))),
                },
            }
            for c in calls
            if isinstance(c, dict)
        ]
    return message


def _json_text(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


# -- Logfire / Pydantic AI ----------------------------------------------------------------------


def map_logfire(d: SpanDraft) -> None:
    """Pydantic AI before ``gen_ai.*`` messages: ``all_messages_events``/``events`` (lists of
    GenAI message events as JSON) and ``final_result``. Logfire's display schema is dropped."""
    if "logfire" not in d.prefixes and not (
        "all_messages_events" in d.attrs or "events" in d.attrs or "final_result" in d.attrs
    ):
        return
    d.take("logfire.json_schema")
    for key in ("all_messages_events", "events"):
        events = maybe_json(d.attrs.get(key))
        if not _is_event_list(events):
            continue
        d.take(key)
        inputs = [_logfire_message(e) for e in events if e["event.name"] != "gen_ai.choice"]
        outputs = [_logfire_message(e) for e in events if e["event.name"] == "gen_ai.choice"]
        if inputs:
            d.set("input", inputs)
        if outputs:
            d.set("output", outputs if len(outputs) > 1 else outputs[0])
        break
    d.set("output", maybe_json(d.take("final_result")))


def _is_event_list(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(e, dict) and isinstance(e.get("event.name"), str) for e in value)
    )


_EVENT_ROLES = {
    "gen_ai.system.message": "system",
    "gen_ai.user.message": "user",
    "gen_ai.assistant.message": "assistant",
    "gen_ai.tool.message": "tool",
}


def _logfire_message(event: dict) -> dict:
    if event["event.name"] == "gen_ai.choice" and isinstance(event.get("message"), dict):
        return {"role": "assistant", **event["message"]}
    message = {k: v for k, v in event.items() if k not in ("event.name", "gen_ai.message.index")}
    message.setdefault("role", _EVENT_ROLES.get(event["event.name"], "user"))
    return message
