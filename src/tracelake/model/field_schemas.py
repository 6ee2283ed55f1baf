"""JSON Schemas for a dataset's ``input``, ``expected`` and ``metadata``: inferring one from
sample values, checking a schema, and listing how a value breaks it.

An inferred schema describes every sampled value: the JSON types seen (``null`` included
when a value was missing), the properties of objects (``required`` = present in every
sampled object) and the items of arrays.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import jsonschema
from jsonschema import Draft202012Validator

from tracelake.errors import InvalidRequest

SCHEMA_FIELDS = ("input", "expected", "metadata")
INFER_SAMPLE = 100
DIALECT = "https://json-schema.org/draft/2020-12/schema"


def check_field(name: str) -> str:
    if name not in SCHEMA_FIELDS:
        raise InvalidRequest(f"field must be one of {', '.join(SCHEMA_FIELDS)}, got {name!r}")
    return name


def check_schema(schema: Any) -> dict:
    """A valid JSON Schema (draft 2020-12) or InvalidRequest saying what is wrong."""
    if not isinstance(schema, dict):
        raise InvalidRequest("a schema must be a JSON object")
    try:
        Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path)
        raise InvalidRequest(f"invalid JSON Schema at /{where}: {exc.message}") from None
    return schema


def violations(validator: Draft202012Validator, value: Any) -> list[dict]:
    """Every way ``value`` breaks the schema: ``[{"path": "/a/0", "message": ...}]``."""
    found = []
    for error in sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path)):
        path = "/" + "/".join(str(p) for p in error.absolute_path)
        found.append({"path": path, "message": error.message})
    return found


def validator_for(schema: dict) -> Draft202012Validator:
    return Draft202012Validator(schema)


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
