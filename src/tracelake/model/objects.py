"""Object types that hold events, and how a row names the object it belongs to."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from tracelake.errors import InvalidRequest


class ObjectType(StrEnum):
    PROJECT_LOGS = "project_logs"
    EXPERIMENT = "experiment"
    DATASET = "dataset"


# The routing key each object type carries on its rows (braintrust-protocol.md §4).
OBJECT_ID_FIELD = {
    ObjectType.PROJECT_LOGS: "project_id",
    ObjectType.EXPERIMENT: "experiment_id",
    ObjectType.DATASET: "dataset_id",
}

PROJECT_LOG_ID = "g"

# Keys that say which object a row belongs to; none of them is stored as a user field.
ROUTING_KEYS = frozenset(
    {"project_id", "experiment_id", "dataset_id", "log_id", "org_id", "prompt_session_id"}
)


@dataclass(frozen=True, slots=True)
class ObjectRef:
    """One event container: the logs of a project, an experiment or a dataset."""

    object_type: ObjectType
    object_id: str


def route_row(row: dict) -> ObjectRef:
    """Find the object a /logs3 row is written to, from its routing keys."""
    if not isinstance(row, dict):
        raise InvalidRequest("a row must be a JSON object")
    experiment_id = row.get("experiment_id")
    dataset_id = row.get("dataset_id")
    project_id = row.get("project_id")
    log_id = row.get("log_id")
    if row.get("prompt_session_id") is not None:
        raise InvalidRequest("playground logs (prompt_session_id) are not supported")
    named = [k for k, v in (("experiment_id", experiment_id), ("dataset_id", dataset_id)) if v]
    if len(named) > 1:
        raise InvalidRequest("a row may name only one of experiment_id and dataset_id")
    if experiment_id is not None:
        return ObjectRef(ObjectType.EXPERIMENT, _id_string("experiment_id", experiment_id))
    if dataset_id is not None:
        return ObjectRef(ObjectType.DATASET, _id_string("dataset_id", dataset_id))
    if project_id is not None:
        if log_id is not None and log_id != PROJECT_LOG_ID:
            raise InvalidRequest(f"unknown log_id {log_id!r}: project logs use log_id 'g'")
        return ObjectRef(ObjectType.PROJECT_LOGS, _id_string("project_id", project_id))
    raise InvalidRequest(
        "row has no routing key: give experiment_id, dataset_id, or project_id with log_id 'g'"
    )


def _id_string(name: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidRequest(f"{name} must be a non-empty string")
    return value
