"""The attribute conventions that are not tied to one framework: Braintrust's own
``braintrust.*`` attributes and the OpenTelemetry GenAI semantic conventions (``gen_ai.*``
attributes and events)."""

from __future__ import annotations

import math
from typing import Any

import orjson

from tracelake.errors import InvalidRequest
from tracelake.model.otel.draft import (
    SpanDraft,
    SpanEvent,
    as_number,
    maybe_json,
    tag_texts,
    unflatten,
)
from tracelake.model.rows import check_id


class SpanRejected(Exception):
    """A span that cannot become a row; it is counted in ``partial_success``."""


# -- braintrust.* -------------------------------------------------------------------------------


def _structured(d: SpanDraft, key: str) -> Any:
    """``key_json`` (JSON text), ``key`` (a value, or JSON text of an object or array) or
    ``key.*`` (flattened), in that order. Bad ``_json`` text stays in metadata, raw."""
    raw_json = d.take(key + "_json")
    plain = d.take(key)
    flat = d.take_under(key)
    if raw_json is not None:
        try:
            return orjson.loads(raw_json) if isinstance(raw_json, str) else raw_json
        except orjson.JSONDecodeError:
            d.meta(key + "_json", raw_json)
            return None
    if plain is not None:
        return maybe_json(plain)
    if flat:
        return unflatten(flat)
    return None


def _object(d: SpanDraft, key: str) -> dict | None:
    """An object attribute; flattened keys (``key.<name>``) sent beside a whole value
    (``key`` or ``key_json``) are merged into it, the whole value winning a key both set.
    (They were dropped: ``braintrust.metadata.user_id`` set on a span whose SDK wrote
    ``braintrust.metadata`` vanished.)"""
    flat = unflatten(d.take_under(key)) if d.has_under(key) else None
    value = _structured(d, key)
    if value is None:
        value = flat
    elif isinstance(value, dict) and isinstance(flat, dict):
        value = {**flat, **value}
    if value is None:
        return None
    if not isinstance(value, dict):
        raise SpanRejected(f"{key} must be an object")
    return value


def _braintrust_number(value: Any) -> int | float | None:
    """A ``braintrust.metrics``/``braintrust.scores`` value read as ``/logs3`` reads one: a
    boolean counts 1 or 0, NaN and infinities (the SDK's ``"NaN"``, ``"Infinity"`` text)
    are null. Raises ValueError for a value that is not a number."""
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    number = as_number(value)
    if number is None:
        raise ValueError(value)
    return number if math.isfinite(number) else None


def map_braintrust(d: SpanDraft) -> None:
    """``braintrust.*``: the span's fields exactly as the Braintrust SDK would log them."""
    if "braintrust" not in d.prefixes:
        return
    d.preserve_attributes = d.take("braintrust.otel.preserve_attributes") in (True, "true")
    for name in ("input", "output", "expected"):
        d.set(name, _structured(d, f"braintrust.{name}"))
    metadata = _object(d, "braintrust.metadata")
    for key, value in (metadata or {}).items():
        d.meta(key, value)
    metrics = _object(d, "braintrust.metrics")
    for key, value in (metrics or {}).items():
        try:
            number = _braintrust_number(value)
        except ValueError:
            raise SpanRejected(f"braintrust.metrics.{key} must be a number") from None
        d.metrics.setdefault(key, number)
    scores = _object(d, "braintrust.scores")
    for key, value in (scores or {}).items():
        try:
            number = _braintrust_number(value)
        except ValueError:
            number = -1  # rejected below
        if number is not None and not 0 <= number <= 1:
            raise SpanRejected(f"braintrust.scores.{key} must be a number between 0 and 1")
        d.scores.setdefault(key, number)
    tags = maybe_json(d.take("braintrust.tags"))
    if tags is not None:
        if not isinstance(tags, list):
            tags = [tags]
        d.tags = tag_texts(tags)
    span_attributes = _object(d, "braintrust.span_attributes")
    if span_attributes:
        for name in ("name", "type"):  # strings, as on every write path (model.rows)
            value = span_attributes.get(name)
            if value is not None and not isinstance(value, str):
                raise SpanRejected(f"braintrust.span_attributes.{name} must be a string")
        d.span_attributes.update(span_attributes)
        if isinstance(span_attributes.get("type"), str):
            d.type = span_attributes["type"]
    origin = _object(d, "braintrust.origin")
    for name in ("id", "object_id"):  # ids, as on every write path (model.rows)
        value = (origin or {}).get(name)
        if value is not None and not isinstance(value, str):
            raise SpanRejected(f"braintrust.origin.{name} must be a string")
        if value is not None:
            try:
                check_id(value, f"braintrust.origin.{name}")
            except InvalidRequest as exc:
                raise SpanRejected(exc.message) from None
    d.set("origin", origin)
    context = _structured(d, "braintrust.context")
    if isinstance(context, dict):
        d.context.update(context)


# -- gen_ai.* -----------------------------------------------------------------------------------

_INPUT_EVENT_ROLES = {
    "gen_ai.system.message": "system",
    "gen_ai.user.message": "user",
    "gen_ai.tool.message": "tool",
}
_USAGE = (
    ("prompt_tokens", ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens")),
    ("completion_tokens", ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens")),
    ("tokens", ("gen_ai.usage.total_tokens",)),
    (
        "prompt_cached_tokens",
        ("gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_read_input_tokens"),
    ),
    (
        "prompt_cache_creation_tokens",
        ("gen_ai.usage.cache_creation.input_tokens", "gen_ai.usage.cache_creation_input_tokens"),
    ),
    (
        "completion_reasoning_tokens",
        ("gen_ai.usage.reasoning.output_tokens", "gen_ai.usage.reasoning_tokens"),
    ),
)
OPERATION_DETAILS_EVENT = "gen_ai.client.inference.operation.details"
# A Pydantic AI agent run span (it carries the run's messages under one of these keys) puts
# the run's cumulative usage in gen_ai.usage.*, which its model-call spans carry as well: as
# metrics, a trace's summary (the sum over its spans) counted every call twice. They stay in
# metadata.
AGENT_RUN_KEYS = ("all_messages_events", "pydantic_ai.all_messages")


def map_genai(d: SpanDraft) -> None:
    """OpenTelemetry GenAI semantic conventions, current and deprecated names."""
    _fold_operation_details(d)
    _genai_events(d)
    if "gen_ai" not in d.prefixes:
        return
    system = _system_message(d.take("gen_ai.system_instructions"))
    inputs = _first(
        _messages(d.take("gen_ai.input.messages")),
        _flat_messages(_structured(d, "gen_ai.prompt")),
        maybe_json(d.take("gen_ai.tool.call.arguments")),
    )
    if system is not None:
        if isinstance(inputs, list) and not _has_system(inputs):
            inputs = [system, *inputs]
        elif inputs is None:
            inputs = [system]
    d.set("input", inputs)
    d.set(
        "output",
        _first(
            _messages(d.take("gen_ai.output.messages")),
            _flat_messages(_structured(d, "gen_ai.completion")),
            maybe_json(d.take("gen_ai.tool.call.result")),
        ),
    )

    model = d.take("gen_ai.request.model")
    if model is None:  # otherwise the response model (often more precise) stays in metadata
        model = d.take("gen_ai.response.model")
    d.meta("model", strip_provider(model))
    d.meta("provider", d.take_first("gen_ai.provider.name", "gen_ai.system"))
    for key, value in d.take_under("gen_ai.request").items():
        if key != "model":
            d.meta(key, maybe_json(value))
    tools = maybe_json(d.take("gen_ai.agent.tools"))
    d.meta("tools", tools)
    if d.has_under("gen_ai.usage") and not any(key in d.attrs for key in AGENT_RUN_KEYS):
        for metric, keys in _USAGE:
            d.metric(metric, d.take_first(*keys))
    d.metric("time_to_first_token", d.take("gen_ai.response.time_to_first_chunk"))


def _first(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)


def _messages(value: Any) -> Any:
    """``gen_ai.{input,output}.messages``: parts-schema messages as OpenAI messages."""
    value = maybe_json(value)
    return parts_to_messages(value) if isinstance(value, list) else value


def _flat_messages(value: Any) -> Any:
    """``gen_ai.prompt``/``gen_ai.completion`` messages as OpenLLMetry writes them (flattened
    ``.N.role``, ``.N.content``, ``.N.tool_calls.M.{id,name,arguments}``) as OpenAI
    messages: its tool calls get the ``{id, type, function: {name, arguments}}`` shape, and
    content it dumped as a JSON list of parts (multimodal messages) is parsed."""
    if not isinstance(value, list):
        return value
    result = []
    for message in value:
        if isinstance(message, dict):
            message = dict(message)
            content = message.get("content")
            if isinstance(content, str) and content[:1] == "[":
                parts = maybe_json(content)
                if isinstance(parts, list) and all(
                    isinstance(p, dict) and "type" in p for p in parts
                ):
                    message["content"] = parts
            calls = message.get("tool_calls")
            if isinstance(calls, list):
                message["tool_calls"] = [_flat_tool_call(c) for c in calls]
        result.append(message)
    return result


def _flat_tool_call(call: Any) -> Any:
    if not isinstance(call, dict) or "function" in call or "name" not in call:
        return call
    return {
        "id": call.get("id"),
        "type": "function",
        "function": {"name": call.get("name"), "arguments": _text(call.get("arguments"))},
    }


def strip_provider(model: Any) -> Any:
    if isinstance(model, str) and model.startswith("openai/"):
        return model[len("openai/") :]
    return model


def _fold_operation_details(d: SpanDraft) -> None:
    """The operation-details event carries what would otherwise be span attributes."""
    kept = []
    for event in d.events:
        if event.name == OPERATION_DETAILS_EVENT:
            for key, value in event.attributes.items():
                d.attrs.setdefault(key, value)
            d.prefixes = d.prefixes | {k.partition(".")[0] for k in event.attributes}
            d.sorted_keys = None
        else:
            kept.append(event)
    d.events = kept


def _genai_events(d: SpanDraft) -> None:
    """Message events: a non-empty list of them beats the attributes. When a span has
    ``gen_ai.choice`` events those are the output and assistant messages are history."""
    if not d.events:
        return
    has_choice = any(e.name == "gen_ai.choice" for e in d.events)
    inputs: list = []
    outputs: list = []
    kept: list[SpanEvent] = []
    for event in d.events:
        name = event.name
        if name in _INPUT_EVENT_ROLES:
            inputs.append(_event_message(event, _INPUT_EVENT_ROLES[name]))
        elif name == "gen_ai.assistant.message":
            (inputs if has_choice else outputs).append(_event_message(event, "assistant"))
        elif name == "gen_ai.choice":
            outputs.append(_choice_message(event))
        elif name == "gen_ai.evaluation.result":
            _evaluation(d, event)
        else:
            kept.append(event)
    d.events = kept
    if inputs:
        d.set("input", inputs)
    if outputs:
        d.set("output", outputs)


def _event_message(event: SpanEvent, role: str) -> dict:
    attrs = event.attributes
    message: dict[str, Any] = {"role": attrs.get("role") or role}
    content = attrs.get("content")
    if content is None and isinstance(attrs.get("body"), dict):
        content = attrs["body"].get("content")
    message["content"] = maybe_json(content)
    if attrs.get("tool_calls") is not None:
        message["tool_calls"] = maybe_json(attrs["tool_calls"])
    if attrs.get("id") is not None and role == "tool":
        message["tool_call_id"] = attrs["id"]
    return message


def _choice_message(event: SpanEvent) -> dict:
    attrs = event.attributes
    message = maybe_json(attrs.get("message"))
    if not isinstance(message, dict):
        message = {"content": maybe_json(attrs.get("content", message))}
        if attrs.get("tool_calls") is not None:
            message["tool_calls"] = maybe_json(attrs["tool_calls"])
    message = {"role": message.get("role") or "assistant", **message}
    if attrs.get("finish_reason") is not None:
        message["finish_reason"] = attrs["finish_reason"]
    return message


def _evaluation(d: SpanDraft, event: SpanEvent) -> None:
    attrs = event.attributes
    name = attrs.get("gen_ai.evaluation.name")
    score = as_number(attrs.get("gen_ai.evaluation.score.value"))
    if isinstance(name, str) and score is not None and 0 <= score <= 1:
        d.scores.setdefault(name, score)
    elif isinstance(name, str):
        d.meta(f"evaluation.{name}", attrs)


def _system_message(value: Any) -> dict | None:
    value = maybe_json(value)
    if value is None:
        return None
    if isinstance(value, list):
        texts = [p.get("content") for p in value if isinstance(p, dict) and "content" in p]
        if len(texts) == len(value):
            return {"role": "system", "content": "\n".join(str(t) for t in texts)}
    return {"role": "system", "content": value}


def _has_system(messages: list) -> bool:
    return bool(messages) and isinstance(messages[0], dict) and messages[0].get("role") == "system"


def parts_to_messages(messages: list) -> list:
    """GenAI ``{role, parts: [...]}`` messages as OpenAI chat messages."""
    result = []
    for message in messages:
        if not isinstance(message, dict) or not isinstance(message.get("parts"), list):
            result.append(message)
            continue
        texts, calls, responses, other = [], [], [], []
        content = []  # text and other parts in their order (an image, then the question)
        for part in message["parts"]:
            kind = part.get("type") if isinstance(part, dict) else None
            if kind == "text":
                texts.append(part.get("content"))
                content.append({"type": "text", "text": part.get("content")})
            elif kind == "tool_call":
                calls.append(
                    {
                        "id": part.get("id"),
                        "type": "function",
                        "function": {
                            "name": part.get("name"),
                            "arguments": _text(part.get("arguments")),
                        },
                    }
                )
            elif kind == "tool_call_response":
                responses.append(
                    {
                        "role": "tool",
                        "tool_call_id": part.get("id"),
                        "content": _text(part.get("response", part.get("result"))),
                    }
                )
            else:
                other.append(part)
                content.append(part)
        result.extend(responses)
        if texts or calls or other or not responses:
            converted: dict[str, Any] = {"role": message.get("role")}
            if other:
                converted["content"] = content
            elif len(texts) == 1:
                converted["content"] = texts[0]
            else:
                converted["content"] = "\n".join(str(t) for t in texts) if texts else None
            if calls:
                converted["tool_calls"] = calls
            if message.get("finish_reason") is not None:
                converted["finish_reason"] = message["finish_reason"]
            result.append(converted)
    return result


def _text(value: Any) -> Any:
    """Tool arguments and results are JSON text in OpenAI messages."""
    if value is None or isinstance(value, str):
        return value
    return orjson.dumps(value).decode()
