"""Feedback (``…/feedback`` routes): scores, expected values, tags and comments on a row.

Feedback becomes ordinary writes, exactly as the SDK's ``log_feedback`` sends them: a merge
into the row carrying audit info, and a separate comment row when there is a comment.
"""

from __future__ import annotations

from typing import Any

from tracelake.errors import InvalidRequest
from tracelake.model.ids import uuid7
from tracelake.model.rows import AUDIT_SOURCES

FEEDBACK_FIELDS = frozenset({"id", "scores", "expected", "tags", "comment", "metadata", "source"})


def feedback_rows(items: Any, name: str = "feedback") -> tuple[list[dict], list[str]]:
    """Turn a list of feedback items into raw rows (without routing keys), and for each row
    the item it came from (``feedback 1``), to name in errors: an item may make two rows."""
    if not isinstance(items, list):
        raise InvalidRequest(f"{name} must be a list")
    rows: list[dict] = []
    labels: list[str] = []
    for index, item in enumerate(items):
        where = f"{name} {index}"
        if not isinstance(item, dict):
            raise InvalidRequest(f"{where}: must be an object")
        unknown = [k for k in item if k not in FEEDBACK_FIELDS]
        if unknown:
            raise InvalidRequest(f"{where}: unknown field {unknown[0]!r}")
        target = item.get("id")
        if not isinstance(target, str) or not target:
            raise InvalidRequest(f"{where}: id of the row to annotate is required")
        source = item.get("source") or "external"
        if source not in AUDIT_SOURCES:
            raise InvalidRequest(f"{where}: source must be one of {', '.join(AUDIT_SOURCES)}")
        audit = {"_audit_source": source, "_audit_metadata": item.get("metadata")}
        update = {k: item[k] for k in ("scores", "expected", "tags") if item.get(k) is not None}
        if update:
            rows.append({"id": target, **update, "_is_merge": True, **audit})
        comment = item.get("comment")
        if comment is not None:
            if not isinstance(comment, str):
                raise InvalidRequest(f"{where}: comment must be a string")
            rows.append(
                {"id": uuid7(), "origin": {"id": target}, "comment": {"text": comment}, **audit}
            )
        labels.extend([where] * (len(rows) - len(labels)))
    return rows, labels
