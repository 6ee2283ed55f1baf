"""Feedback (``…/feedback`` routes): scores, expected values, tags and comments on a row.

Feedback becomes ordinary writes, exactly as the SDK's ``log_feedback`` sends them: a merge
into the row carrying audit info, and a separate comment row when there is a comment.
"""

from __future__ import annotations

from typing import Any

from tracelake.errors import InvalidRequest
from tracelake.model.ids import uuid7
from tracelake.model.rows import AUDIT_SOURCES, MAX_AUDIT_METADATA_DEPTH, check_depth

FEEDBACK_FIELDS = frozenset({"id", "scores", "expected", "tags", "comment", "metadata", "source"})


def feedback_rows(items: Any, label: str = "feedback") -> list[tuple[str, dict]]:
    """Turn a list of feedback items into raw rows (without routing keys), each with the
    name errors give it: ``{label} {index}``, the item it comes from."""
    if not isinstance(items, list):
        raise InvalidRequest(f"{label} must be a list")
    rows: list[tuple[str, dict]] = []
    for index, item in enumerate(items):
        where = f"{label} {index}"
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
        metadata = item.get("metadata")
        if metadata is not None and not isinstance(metadata, dict):
            raise InvalidRequest(f"{where}: metadata must be an object")
        check_depth(metadata, f"{where}: metadata", MAX_AUDIT_METADATA_DEPTH)
        audit = {"_audit_source": source, "_audit_metadata": metadata}
        update = {k: item[k] for k in ("scores", "expected", "tags") if item.get(k) is not None}
        if not update and item.get("comment") is None:  # the SDK's log_feedback refuses it too
            raise InvalidRequest(
                f"{where}: give at least one of scores, expected, tags or comment"
                " (metadata alone is stored with one of them, in its audit entry)"
            )
        if update:
            rows.append((where, {"id": target, **update, "_is_merge": True, **audit}))
        comment = item.get("comment")
        if comment is not None:
            if not isinstance(comment, str):
                raise InvalidRequest(f"{where}: comment must be a string")
            comment_row = {"id": uuid7(), "origin": {"id": target}, "comment": {"text": comment}}
            rows.append((where, {**comment_row, **audit}))
    return rows
