"""JSON Schemas for a dataset's ``input``, ``expected`` and ``metadata``: inferring one from
sample values, checking a schema, and listing how a value breaks it.

An inferred schema describes every sampled value: the JSON types seen (``null`` included
when a value was missing), the properties of objects (``required`` = present in every
sampled object) and the items of arrays.
"""

from __future__ import annotations

import ast
import functools
import json
from collections.abc import Iterable, Iterator
from datetime import date
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from tracelake.errors import InvalidRequest

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

SCHEMA_FIELDS = ("input", "expected", "metadata")
INFER_SAMPLE = 100
DIALECT = "https://json-schema.org/draft/2020-12/schema"


def check_field(name: str) -> str:
    if name not in SCHEMA_FIELDS:
        raise InvalidRequest(f"field must be one of {', '.join(SCHEMA_FIELDS)}, got {_json(name)}")
    return name


_MATCH = pc.get_function("match_substring_regex")
_OPTIONS: dict[str, pc.MatchSubstringOptions] = {}  # per pattern: calls ~30% cheaper


def regex_search(pattern: str, text: str) -> bool:
    """Whether ``pattern`` matches somewhere in ``text``, run by RE2 (through Arrow): its time
    grows linearly with the text whatever the pattern. Python's ``re`` backtracks: a pattern
    such as ``(a+)+$`` took minutes on a 30-character value, on the writer thread (or the
    event loop), and every write of the server waited. Raises pyarrow.ArrowInvalid for a
    pattern RE2 does not take (lookaround, backreferences). ~20 µs a call."""
    options = _OPTIONS.get(pattern)
    if options is None:
        if len(_OPTIONS) >= 1024:
            _OPTIONS.clear()
        options = _OPTIONS[pattern] = pc.MatchSubstringOptions(pattern)
    return bool(_MATCH.call([pa.scalar(text, pa.string())], options).as_py())


class _LinearRe:
    """What jsonschema's keyword code sees as its ``re`` module: it only calls
    ``re.search(pattern, text)`` (``pattern``, ``patternProperties`` and the properties they
    leave to ``additionalProperties``/``unevaluatedProperties``), whose truth it tests."""

    search = staticmethod(regex_search)


@functools.cache
def _js() -> SimpleNamespace:
    """jsonschema and referencing, loaded on first use (about 50 ms: every command of the CLI
    on a data dir loads this module, few check a schema), with jsonschema's regex engine
    swapped before any validator exists. jsonschema has no option for its regex engine; these
    modules are its only users of ``re`` (pinned version:
    tests/unit/test_field_schema_patterns.py checks that they still are)."""
    import jsonschema
    import jsonschema._keywords
    import jsonschema._legacy_keywords
    import jsonschema._utils
    from referencing import Registry
    from referencing.exceptions import Unresolvable
    from referencing.jsonschema import DRAFT202012

    for module in (jsonschema._keywords, jsonschema._legacy_keywords, jsonschema._utils):
        module.re = _LinearRe  # type: ignore[attr-defined]
    return SimpleNamespace(
        Validator=jsonschema.Draft202012Validator,
        formats=_format_checker(jsonschema),
        SchemaError=jsonschema.SchemaError,
        Registry=Registry,
        Unresolvable=Unresolvable,
        DRAFT202012=DRAFT202012,
    )


def check_schema(schema: Any) -> dict:
    """A valid JSON Schema (draft 2020-12) or InvalidRequest saying what is wrong."""
    if not isinstance(schema, dict):
        raise InvalidRequest("a schema must be a JSON object")
    js = _js()
    try:
        js.Validator.check_schema(schema)
    except js.SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path)
        raise InvalidRequest(
            f"invalid JSON Schema at /{where}: {json_spelling(exc.message)}"
        ) from None
    _check_patterns(schema)
    _check_formats(schema)
    resolver = js.Registry().resolver_with_root(js.DRAFT202012.create_resource(schema))
    _check_refs(schema, resolver, "")
    try:
        _check_ref_loops(schema, resolver)
    except RecursionError:
        raise InvalidRequest("the schema's references chain too deep") from None
    return schema


# Keywords whose subschemas apply to the value itself, not to a part of it: references that
# loop through these alone never reach the end of a value (validation recursed until Python
# gave up).
_IN_PLACE = ("allOf", "anyOf", "oneOf", "not", "if", "then", "else", "dependentSchemas")


def _check_ref_loops(schema: dict, resolver) -> None:
    """Refuse a ``$ref``/``$dynamicRef`` that leads back to itself through subschemas that
    apply to the same value (``{"$ref": "#"}``, ``#/$defs/a`` → ``#/$defs/b`` → ``#/$defs/a``):
    every value would recurse without end. A loop through ``properties``, ``items`` and the
    like goes one level into the value each time, so it ends."""
    done: set[int] = set()

    def visit(node: Any, resolver, start: str, via: str, path: set[int]) -> None:
        if not isinstance(node, dict) or id(node) in done:
            return
        if id(node) in path:
            raise InvalidRequest(
                f"{via} (checked from /{start.lstrip('/')}) leads back to a schema it is"
                " part of without going into the value: every value would be checked"
                " without end"
            )
        path.add(id(node))
        if isinstance(node.get("$id"), str) and via:
            resolver = resolver.in_subresource(_js().DRAFT202012.create_resource(node))
        for key in ("$ref", "$dynamicRef"):
            ref = node.get(key)
            if isinstance(ref, str):
                resolved = resolver.lookup(ref)  # (every reference resolves: checked before)
                visit(resolved.contents, resolved.resolver, start, f"{key} {_json(ref)}", path)
        for key in _IN_PLACE:
            value = node.get(key)
            if isinstance(value, dict) and key == "dependentSchemas":
                subschemas = list(value.values())
            else:
                subschemas = value if isinstance(value, list) else [value]
            for sub in subschemas:
                visit(sub, resolver, start, via, path)
        path.discard(id(node))
        done.add(id(node))

    def walk(node: Any, resolver, where: str) -> None:  # every subschema starts a check
        if isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, resolver, f"{where}/{i}")
            return
        if not isinstance(node, dict):
            return
        visit(node, resolver, where, "", set())
        if isinstance(node.get("$id"), str) and where:
            resolver = resolver.in_subresource(_js().DRAFT202012.create_resource(node))
        for key, value in node.items():
            if key not in ("const", "enum", "default", "examples"):
                walk(value, resolver, f"{where}/{key}")

    walk(schema, resolver, "")


# Keywords whose values are JSON values, not schemas: the checks below do not look inside.
_VALUE_KEYWORDS = ("const", "enum", "default", "examples")


def _subschemas(node: Any, where: str = "") -> Iterator[tuple[dict, str]]:
    """Every object of a schema (itself first) with its place, outside ``_VALUE_KEYWORDS``."""
    if isinstance(node, list):
        for i, item in enumerate(node):
            yield from _subschemas(item, f"{where}/{i}")
    elif isinstance(node, dict):
        yield node, where
        for key, value in node.items():
            if key not in _VALUE_KEYWORDS:
                yield from _subschemas(value, f"{where}/{key}")


def _check_patterns(schema: Any) -> None:
    """Every ``pattern`` and ``patternProperties`` key is a regex RE2 runs (see
    ``regex_search``): no lookaround, no backreferences."""
    for node, where in _subschemas(schema):
        patterns = (
            [(f"{where}/pattern", node["pattern"])] if isinstance(node.get("pattern"), str) else []
        )
        if isinstance(node.get("patternProperties"), dict):
            patterns += [(f"{where}/patternProperties", key) for key in node["patternProperties"]]
        for at, pattern in patterns:
            try:
                regex_search(pattern, "")
            except pa.ArrowInvalid as exc:
                reason = str(exc).removeprefix("Invalid regular expression: ")
                raise InvalidRequest(
                    f"the regex {_json(pattern)} at /{at.lstrip('/')} is not supported"
                    f" ({reason}): patterns are run by RE2, in time linear in the value, which"
                    " has no lookaround or backreferences"
                ) from None


# -- formats ----------------------------------------------------------------------------------

# RFC 3339 (date-time, full-time), RFC 1123 (hostname), RFC 3986 (uri, uri-reference) and
# RFC 6901 (json-pointer), checked by RE2 as ``pattern`` is (in time linear in the value).
_HOUR_MINUTE = r"([01][0-9]|2[0-3]):[0-5][0-9]"
_TIME = rf"{_HOUR_MINUTE}:([0-5][0-9]|60)(\.[0-9]+)?([Zz]|[+-]{_HOUR_MINUTE})"
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_URI_CHARS = r"([A-Za-z0-9._~!$&'()*+,;=:@/?#\[\]-]|%[0-9A-Fa-f]{2})*"
_FORMAT_PATTERNS = {
    "date-time": rf"^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}[Tt]{_TIME}$",
    "time": rf"^{_TIME}$",
    "hostname": rf"^{_LABEL}(\.{_LABEL})*$",
    "uri": rf"^[A-Za-z][A-Za-z0-9+.-]*:{_URI_CHARS}$",
    "uri-reference": rf"^([A-Za-z][A-Za-z0-9+.-]*:)?{_URI_CHARS}$",
    "json-pointer": r"^(/([^~/]|~[01])*)*$",
}
# Of jsonschema's own checkers, those that need no package beyond it (and never Python's
# ``re``, which backtracks): "regex" is checked as RE2 runs it, as ``pattern`` is.
_JSONSCHEMA_FORMATS = ("date", "email", "idn-email", "idn-hostname", "ipv4", "ipv6", "uuid")


def _format_checker(jsonschema):
    """The formats a field schema's ``format`` is enforced for (see ``FORMATS``)."""
    checker = jsonschema.FormatChecker(formats=())
    builtin = jsonschema.Draft202012Validator.FORMAT_CHECKER.checkers
    for name in _JSONSCHEMA_FORMATS:
        if name in builtin:  # (idn-hostname needs idna, pinned in pyproject.toml)
            checker.checkers[name] = builtin[name]

    def by_pattern(name: str, pattern: str) -> None:
        def check(value: object) -> bool:
            return not isinstance(value, str) or regex_search(pattern, value)

        checker.checks(name)(check)

    for name, pattern in _FORMAT_PATTERNS.items():
        if name not in ("date-time", "hostname"):  # (more than their pattern: below)
            by_pattern(name, pattern)

    @checker.checks("date-time", raises=ValueError)
    def date_time(value: object) -> bool:
        if not isinstance(value, str):
            return True
        if not regex_search(_FORMAT_PATTERNS["date-time"], value):
            return False
        date.fromisoformat(value[:10])  # (a day the month has)
        return True

    @checker.checks("hostname")
    def hostname(value: object) -> bool:
        return not isinstance(value, str) or (
            len(value) <= 253 and regex_search(_FORMAT_PATTERNS["hostname"], value)
        )

    @checker.checks("regex")
    def regex(value: object) -> bool:
        if not isinstance(value, str):
            return True
        try:
            regex_search(value, "")
        except pa.ArrowInvalid:
            return False
        return True

    return checker


def formats() -> list[str]:
    """The ``format`` values a field schema may use: each is enforced."""
    return sorted(_js().formats.checkers)


def _check_formats(schema: Any) -> None:
    """Every ``format`` is one that is enforced: any other would be ignored (JSON Schema
    makes ``format`` an annotation only, unless a validator checks it), so a schema saying
    ``"format": "emial"`` or a format tracelake does not check would let any string in."""
    for node, where in _subschemas(schema):
        name = node.get("format")
        if isinstance(name, str) and name not in _js().formats.checkers:
            raise InvalidRequest(
                f"format {_json(name)} at /{where.lstrip('/')} is not checked by tracelake, so"
                f" it would let any value in: use one of {', '.join(formats())}, or a pattern"
            )


def _check_refs(node: Any, resolver, where: str) -> None:
    """Every ``$ref``/``$dynamicRef`` is local (``#...``) and resolves within the schema.

    A remote reference would make the server fetch a URL on every write, so it is refused.
    """
    if isinstance(node, list):
        for i, item in enumerate(node):
            _check_refs(item, resolver, f"{where}/{i}")
        return
    if not isinstance(node, dict):
        return
    if isinstance(node.get("$id"), str) and where:
        resolver = resolver.in_subresource(_js().DRAFT202012.create_resource(node))
    for key in ("$ref", "$dynamicRef"):
        ref = node.get(key)
        if not isinstance(ref, str):
            continue
        if not ref.startswith("#"):
            raise InvalidRequest(
                f"{key} at /{where.lstrip('/')} must be a local reference starting with '#'"
                f" (remote references are not fetched), got {_json(ref)}"
            )
        try:
            resolver.lookup(ref)
        except _js().Unresolvable:
            raise InvalidRequest(
                f"{key} at /{where.lstrip('/')} does not resolve within the schema: {_json(ref)}"
            ) from None
    for key, value in node.items():
        if key not in _VALUE_KEYWORDS and not (
            key in ("$ref", "$dynamicRef") and isinstance(value, str)
        ):
            _check_refs(value, resolver, f"{where}/{key}")


def violations(validator: Draft202012Validator, value: Any) -> list[dict]:
    """Every way ``value`` breaks the schema: ``[{"path": "/a/0", "message": ...}]``."""
    try:
        errors = list(validator.iter_errors(value))
    except _js().Unresolvable as exc:
        raise InvalidRequest(
            f"the dataset's schema has a reference that does not resolve ({exc});"
            " fix or delete the schema"
        ) from None
    except pa.ArrowInvalid as exc:  # a schema saved before patterns were checked
        raise InvalidRequest(
            f"the dataset's schema has a regex RE2 does not run ({exc}); fix or delete the schema"
        ) from None
    except RecursionError:  # a schema saved before loops were refused
        raise InvalidRequest(
            "the dataset's schema has a reference that leads back to itself without going"
            " into the value; fix or delete the schema"
        ) from None
    found = []
    for error in sorted(errors, key=lambda e: list(e.absolute_path)):
        path = "/" + "/".join(str(p) for p in error.absolute_path)
        found.append({"path": path, "message": _message(error)})
    return found


def _json(value: Any) -> str:
    """A value as JSON writes it (``"abc"``, ``null``, ``{"a": [1, true]}``)."""
    return json.dumps(value, ensure_ascii=False)


def _message(error) -> str:
    """A violation's message in JSON spelling: jsonschema writes the values in it as Python
    does (``'abc' is not of type 'integer'``, ``None``, ``True``, ``{'a': 1}``), where the
    user wrote JSON (``"abc" is not of type "integer"``)."""
    if error.validator is None and error.message.startswith("False schema does not allow "):
        return f"the schema false allows no value here (got {_json(error.instance)})"
    if error.validator == "format":
        return f"{_json(error.instance)} is not a valid {_json(error.validator_value)}"
    return json_spelling(error.message)


_WORDS = {"True": "true", "False": "false", "None": "null"}


def json_spelling(message: str) -> str:
    """``message`` with each Python literal in it (a string, a list, a dict, ``True``,
    ``False``, ``None``) written as JSON. jsonschema's messages are fixed English words
    around ``repr()``s of JSON values, which ``ast.literal_eval`` reads back; text that
    does not read as a literal is kept as it is."""
    out: list[str] = []
    i, n = 0, len(message)
    while i < n:
        ch = message[i]
        end = _literal_end(message, i) if ch in "'\"[{" else None
        if end is not None:
            try:
                out.append(_json(ast.literal_eval(message[i:end])))
                i = end
                continue
            except (ValueError, SyntaxError, MemoryError, RecursionError):
                pass
        if ch in "TFN" and (i == 0 or not message[i - 1].isalnum()):
            word = next((w for w in _WORDS if message.startswith(w, i)), None)
            after = i + len(word) if word else i
            if word and (after == n or not (message[after].isalnum() or message[after] == "_")):
                out.append(_WORDS[word])
                i = after
                continue
        out.append(ch)
        i += 1
    return "".join(out)


def _literal_end(text: str, start: int) -> int | None:
    """Where the quoted string or the bracketed value starting at ``start`` ends (the index
    after it), or None when it does not close."""
    depth = 0
    i, n = start, len(text)
    while i < n:
        ch = text[i]
        if ch in "'\"":
            i += 1
            while i < n and text[i] != ch:
                i += 2 if text[i] == "\\" else 1
            if i >= n:
                return None
            if depth == 0:
                return i + 1
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
            if depth == 0:
                return i + 1
            if depth < 0:
                return None
        elif depth == 0:
            return None
        i += 1
    return None


def validator_for(schema: dict) -> Draft202012Validator:
    """A validator that never fetches anything: its registry has no retrieval, so a
    reference outside the schema fails (see ``violations``) instead of reaching the network."""
    js = _js()
    return js.Validator(schema, registry=js.Registry(), format_checker=js.formats)


def _type_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def infer_schema(values: Iterable[Any]) -> dict:
    """A schema every one of ``values`` conforms to (at most the first 100 are used)."""
    sample = []
    for value in values:
        sample.append(value)
        if len(sample) >= INFER_SAMPLE:
            break
    schema = _infer(sample)
    return {"$schema": DIALECT, **schema}


def _infer(values: list[Any]) -> dict:
    if not values:
        return {}
    types: list[str] = []
    for value in values:
        kind = _type_of(value)
        if kind not in types:
            types.append(kind)
    if "integer" in types and "number" in types:
        types.remove("integer")
    schema: dict[str, Any] = {"type": types[0] if len(types) == 1 else types}
    objects = [v for v in values if isinstance(v, dict)]
    if objects:
        keys: dict[str, None] = {}
        for obj in objects:
            keys.update(dict.fromkeys(obj))
        schema["properties"] = {k: _infer([o[k] for o in objects if k in o]) for k in keys}
        required = [k for k in keys if all(k in o for o in objects)]
        if required:
            schema["required"] = required
    arrays = [v for v in values if isinstance(v, list)]
    items = [item for array in arrays for item in array]
    if items:
        schema["items"] = _infer(items)
    return schema
