"""Project configuration objects in the catalog, shaped as Braintrust's: tags
(``/v1/project_tag``: name, colour, description) and score configurations for human review
(``/v1/project_score``: slider, categorical, free-form, online)."""

from __future__ import annotations

from typing import Any

from tracelake.errors import InvalidRequest
from tracelake.model.names import MAX_NAME_LENGTH, require_name
from tracelake.store.catalog import MAX_TEXT_LENGTH, Catalog, ObjectKind

PROJECT_TAGS = ObjectKind(
    "project_tags",
    ("project_id", "name", "description", "color", "user_id"),
    (),
    "project_id",
    patchable={"name": str, "description": str, "color": str},
)
PROJECT_SCORES = ObjectKind(
    "project_scores",
    ("project_id", "name", "description", "score_type", "position", "user_id"),
    ("categories", "config"),
    "project_id",
    patchable={
        "name": str,
        "description": str,
        "score_type": str,
        "categories": list,
        "config": dict,
        "position": str,
    },
)

SCORE_TYPES = ("slider", "categorical", "free-form", "online")
# Braintrust's other score types: a list may ask for them (none is stored here).
_OTHER_SCORE_TYPES = ("weighted", "minimum", "maximum")
_FIELDS = {
    "project_tags": ("description", "color"),
    "project_scores": ("description", "score_type", "categories", "config", "position"),
}


def present(kind: ObjectKind, record: dict) -> dict:
    """An object as clients see it."""
    keys = ("id", "project_id", "name", *_FIELDS[kind.table], "created", "user_id")
    return {k: record.get(k) for k in keys}


def score_type_filter(values: list[str] | None) -> dict[str, list[str]] | None:
    """The ``score_type`` filter of a list (repeated or comma-separated, as ``ids``)."""
    if not values:
        return None
    types = [part.strip() for value in values for part in value.split(",") if part.strip()]
    known = (*SCORE_TYPES, *_OTHER_SCORE_TYPES)
    for value in types:
        if value not in known:
            raise InvalidRequest(f"score_type must be one of {', '.join(known)}, not {value!r}")
    return {"score_type": types} if types else None


def _check_str(fields: dict, name: str, limit: int = MAX_TEXT_LENGTH) -> None:
    value = fields.get(name)
    if value is not None and not isinstance(value, str):
        raise InvalidRequest(f"field {name!r} must be a string")
    if value is not None and len(value) > limit:
        raise InvalidRequest(f"field {name!r} is too long (at most {limit} characters)")


def _check_tag(fields: dict) -> dict:
    for name in ("description", "color"):
        _check_str(fields, name)
    color = fields.get("color")
    if color is not None and len(color) > 64:
        raise InvalidRequest("field 'color' is too long (a CSS colour such as '#4f6bed')")
    return fields


def _check_categories(categories: Any) -> list[dict]:
    if not isinstance(categories, list) or not categories:
        raise InvalidRequest(
            "a categorical score needs 'categories': a non-empty list of {name, value}"
        )
    seen = set()
    out = []
    for i, cat in enumerate(categories):
        if not isinstance(cat, dict):
            raise InvalidRequest(f"categories[{i}] must be an object {{name, value}}")
        name, value = cat.get("name"), cat.get("value")
        if not isinstance(name, str) or not name.strip():
            raise InvalidRequest(f"categories[{i}].name must be a non-empty string")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidRequest(f"categories[{i}].value must be a number")
        if not 0 <= value <= 1:
            raise InvalidRequest(f"categories[{i}].value must be between 0 and 1")
        if name in seen:
            raise InvalidRequest(f"the category name {name!r} appears twice")
        seen.add(name)
        out.append({"name": name, "value": value})
    return out


# The score types a reviewer's answer can be written to a field for (``config.destination``):
# a free-form text, and a categorical score's category name ("write to expected"), which
# labels the row instead of scoring it.
DESTINATION_TYPES = ("free-form", "categorical")


def _check_destination(destination: Any) -> None:
    if destination is None:
        return
    if not isinstance(destination, str):
        raise InvalidRequest("config.destination must be a string")
    if destination == "expected":
        return
    parts = destination.split(".")
    if parts[0] != "metadata" or len(parts) < 2 or not all(parts[1:]):
        raise InvalidRequest(
            "config.destination must be 'expected' or a metadata path such as 'metadata.review'"
        )


def _check_score(fields: dict) -> dict:
    _check_str(fields, "description")
    _check_str(fields, "position", MAX_NAME_LENGTH)  # (a sort key such as "0|hzzzzz:")
    score_type = fields.get("score_type")
    if score_type not in SCORE_TYPES:
        raise InvalidRequest(f"field 'score_type' must be one of {', '.join(SCORE_TYPES)}")
    fields = dict(fields)
    if score_type == "categorical":
        fields["categories"] = _check_categories(fields.get("categories"))
    elif fields.get("categories") is not None:
        raise InvalidRequest(f"a {score_type} score takes no 'categories'")
    config = fields.get("config")
    if config is not None:
        if not isinstance(config, dict):
            raise InvalidRequest("field 'config' must be an object")
        unknown = [k for k in config if k not in ("destination", "multi_select", "online")]
        if unknown:
            raise InvalidRequest(f"unknown config key {unknown[0]!r}")
        _check_destination(config.get("destination"))
        if config.get("destination") is not None and score_type not in DESTINATION_TYPES:
            raise InvalidRequest(
                "config.destination applies to free-form and categorical scores only"
            )
        if config.get("multi_select") is not None and not isinstance(config["multi_select"], bool):
            raise InvalidRequest("config.multi_select must be true or false")
        if config.get("online") is not None and not isinstance(config["online"], dict):
            raise InvalidRequest("config.online must be an object (an online scoring config)")
    return fields


_CHECK = {"project_tags": _check_tag, "project_scores": _check_score}


def create(
    catalog: Catalog, kind: ObjectKind, org_id: str, body: dict, *, replace: bool, user: str
) -> dict:
    """Create-or-get by (project, name); with ``replace`` (PUT) an existing one takes the
    given fields. ``user`` (the creating API key's name) is a new one's ``user_id``."""
    project_id, name = body.get("project_id"), body.get("name")
    if not isinstance(project_id, str) or not project_id:
        raise InvalidRequest("missing required field 'project_id'")
    if not isinstance(name, str) or not name.strip():
        raise InvalidRequest("missing required field 'name' (a non-empty string)")
    require_name(name, "name")
    unknown = [k for k in body if k not in ("project_id", "name", *_FIELDS[kind.table])]
    if unknown:
        raise InvalidRequest(f"unknown field {unknown[0]!r}")
    catalog.get_project(org_id, project_id)
    fields = {k: body.get(k) for k in _FIELDS[kind.table]}
    fields = _CHECK[kind.table](fields)
    with catalog.changing:  # found or not, it stays so until the insert or the update
        existing = catalog.list_objects(kind, org_id, name=name, project_id=project_id)
        if existing and not replace:
            return existing[0]
        if existing:
            return catalog.update_object(kind, org_id, existing[0]["id"], fields)
        record = {"project_id": project_id, "name": name, "user_id": user, **fields}
        return catalog.insert_object(kind, org_id, record)


def update(catalog: Catalog, kind: ObjectKind, org_id: str, object_id: str, patch: dict) -> dict:
    """Change the given fields; the result is checked as a whole before it is stored."""
    with catalog.changing:  # merged with what is stored: no change lost in between
        current = catalog.get(kind, org_id, object_id)
        unknown = [k for k in patch if k not in ("name", *_FIELDS[kind.table])]
        if unknown:
            raise InvalidRequest(f"cannot update field {unknown[0]!r}")
        merged = {k: patch.get(k, current.get(k)) for k in _FIELDS[kind.table]}
        if (
            kind is PROJECT_SCORES
            and "score_type" in patch
            and patch["score_type"] != "categorical"
            and "categories" not in patch
        ):
            merged["categories"] = None  # a type change away from categorical drops them
        if (
            kind is PROJECT_SCORES
            and merged.get("score_type") not in DESTINATION_TYPES
            and "config" not in patch
        ):
            if isinstance(merged.get("config"), dict) and "destination" in merged["config"]:
                merged["config"] = {k: v for k, v in merged["config"].items() if k != "destination"}
        checked = _CHECK[kind.table](merged)
        changes = {k: checked[k] for k in _FIELDS[kind.table] if checked[k] != current.get(k)}
        if "name" in patch:
            changes["name"] = patch["name"]
        return catalog.update_object(kind, org_id, object_id, changes)
