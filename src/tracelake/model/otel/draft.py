"""The row being built from one span, and the small value helpers every convention uses.

Conventions run in precedence order (braintrust.* first) and each sets a field only if no
earlier one did; the attributes a convention reads are marked consumed so that only the
rest land in ``metadata``.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field
from typing import Any

import orjson

from tracelake.model.rows import MAX_JSON_DEPTH


@dataclass(slots=True)
class SpanEvent:
    name: str
    time_unix_nano: int
    attributes: dict[str, Any]


@dataclass(slots=True)
class SpanDraft:
    """Attributes and events of one span, and the row fields decided so far."""

    attrs: dict[str, Any]
    events: list[SpanEvent]
    name: str = ""
    consumed: set[str] = field(default_factory=set)
    # Top-level segments of the attribute keys, so a convention can skip a span at once.
    prefixes: frozenset[str] = frozenset()
    input: Any = None
    output: Any = None
    expected: Any = None
    error: Any = None
    tags: list[str] | None = None
    origin: Any = None
    type: str | None = None
    scores: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    span_attributes: dict[str, Any] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)
    preserve_attributes: bool = False
    # The attribute keys in order, so that the keys under a prefix are found by bisection
    # (None: to be rebuilt after attributes were added).
    sorted_keys: list[str] | None = None

    def has(self, key: str) -> bool:
        return key in self.attrs

    def _under(self, prefix: str) -> list[str]:
        keys = self.sorted_keys
        if keys is None:
            keys = self.sorted_keys = sorted(self.attrs)
        start = prefix + "."
        i = bisect_left(keys, start)
        found = []
        while i < len(keys) and keys[i].startswith(start):
            found.append(keys[i])
            i += 1
        return found

    def has_under(self, prefix: str) -> bool:
        return bool(self._under(prefix))

    def take(self, key: str, default: Any = None) -> Any:
        """The attribute's value (or ``default``), marking it consumed."""
        if key in self.attrs:
            self.consumed.add(key)
            return self.attrs[key]
        return default

    def take_first(self, *keys: str) -> Any:
        """The first present attribute of ``keys``; all of them are consumed."""
        found = None
        for key in keys:
            value = self.take(key)
            if found is None and value is not None:
                found = value
        return found

    def take_under(self, prefix: str) -> dict[str, Any]:
        """Every attribute under ``prefix.`` (consumed), keyed by the rest of its name."""
        keys = self._under(prefix)
        if not keys:
            return {}
        self.consumed.update(keys)
        cut = len(prefix) + 1
        return {k[cut:]: self.attrs[k] for k in keys}

    def set(self, name: str, value: Any) -> None:
        """Set a single-valued field (input, output, …) unless a convention already did."""
        if value is not None and getattr(self, name) is None:
            setattr(self, name, value)

    def metric(self, name: str, value: Any) -> None:
        number = as_number(value)
        if number is not None:
            self.metrics.setdefault(name, number)

    def meta(self, name: str, value: Any) -> None:
        if value is not None:
            self.metadata.setdefault(name, value)


def as_number(value: Any) -> int | float | None:
    """A number, or numeric text as a number (whole numbers beyond 64 bits become floats,
    as JSON columns cannot hold them)."""
    kind = type(value)
    if kind is int:  # the common case first: int64 attributes
        return value if -(2**63) <= value < 2**64 else float(value)
    if kind is float:
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return as_number(int(value))
    if isinstance(value, float):
        return value
    if isinstance(value, str):
        try:
            return as_number(int(value))
        except ValueError:
            pass
        try:
            return float(value)
        except ValueError:
            return None
    return None


def tag_texts(tags: list) -> list[str]:
    """Tags as strings: a tag that is not text (a number, a boolean, an object) is written
    as JSON (``true``, ``{"a": 1}``), never as a Python repr (``True``, ``{'a': 1}``)."""
    return [t if isinstance(t, str) else orjson.dumps(t).decode() for t in tags]


def maybe_json(value: Any) -> Any:
    """Parse a string that holds a JSON object or array; anything else is returned as is."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    return value


def unflatten(flat: dict[str, Any]) -> Any:
    """``{"0.role": "user", "0.content": "hi"}`` -> ``[{"role": "user", "content": "hi"}]``:
    dotted keys become nested objects, and objects whose keys are all numbers lists. A key
    splits into at most ``MAX_JSON_DEPTH + 1`` levels (the rest stays one key): a value that
    deep is refused anyway, and thousands of segments overflowed the stack (a 500)."""
    root: dict = {}
    for key, value in flat.items():
        node = root
        parts = key.split(".", MAX_JSON_DEPTH)
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[parts[-1]] = value
    return _lists(root)


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    items = {k: _lists(v) for k, v in node.items()}
    if items and all(k.isdigit() for k in items):
        return [items[k] for k in sorted(items, key=int)]
    return items
