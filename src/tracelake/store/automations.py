"""Project automations in the catalog: scheduled S3 exports and retention policies.

Configs are validated by ``model.automations``; secrets are stored and never shown back.
"""

from __future__ import annotations

from datetime import timedelta

from tracelake.errors import InvalidRequest
from tracelake.model.automations import (
    check_external_id,
    check_server_access,
    check_update,
    export_credentials,
    merge_secrets,
    redact,
    validate_config,
)
from tracelake.model.names import require_name
from tracelake.store import runs
from tracelake.store.catalog import AUTOMATIONS, Catalog


def present(record: dict) -> dict:
    """An automation as clients see it (secrets masked, and the external id an ``aws_iam``
    role is assumed with, for its trust policy)."""
    config = record["config"]
    if config.get("credentials"):
        config = {**config, "credentials": export_credentials(record)}
    return {
        "id": record["id"],
        "project_id": record["project_id"],
        "name": record["name"],
        "description": record["description"],
        "config": redact(config),
        "created": record["created"],
        "user_id": record["user_id"],
    }


def create_automation(
    catalog: Catalog,
    org_id: str,
    project_id: str,
    name: str,
    description,
    config,
    *,
    replace: bool = False,
    instance_admin: bool = False,
    org_admin: bool = False,
) -> dict:
    """Create-or-get by (project, name); with ``replace`` (PUT) an existing one takes the
    new description and config (its export path may not change). Only an ``instance_admin``
    sets up an export acting with the server's authority, only an ``org_admin`` one with an
    ``aws_iam`` role or an ``endpoint_url`` (see ``check_server_access``).

    A config is checked in one order whatever the name finds, so that POST and PUT answer
    one bad body with one message: first the config on its own (its fields, then who may
    set it up), then what may not change from the stored one (its event_type, an export's
    path). PUT checked the change of event_type first, and named it where POST named the
    config's own mistake. A POST of a taken name returns the existing automation unmodified,
    but a config that is no automation at all is still a 400 (it was a 200)."""
    with catalog.changing:  # found or not, it stays so until the insert or the update
        catalog.get_project(org_id, project_id)
        name = require_name(name, "name")  # as a rename (PATCH) checks it
        existing = catalog.list_objects(AUTOMATIONS, org_id, name=name, project_id=project_id)
        if existing and not replace:
            validate_config(config)
            return existing[0]
        current = existing[0]["config"] if existing else None
        new = validate_config(config if current is None else merge_secrets(current, config))
        # (the stored config counts only for an automation of the same kind: one of another
        # kind is refused below, and its credentials say nothing of the new one's)
        same_kind = current if current and current["event_type"] == new["event_type"] else None
        check_server_access(same_kind, new, instance_admin, org_admin)
        check_external_id(org_id, same_kind, new)
        if current is None:
            fields = {
                "project_id": project_id,
                "name": name,
                "description": description,
                "config": new,
            }
            return catalog.insert_object(AUTOMATIONS, org_id, fields)
        check_update(current, new)
        record = catalog.update_object(
            AUTOMATIONS, org_id, existing[0]["id"], {"description": description, "config": new}
        )
        _reschedule(catalog, existing[0], new)
        return record


def update_automation(
    catalog: Catalog,
    org_id: str,
    automation_id: str,
    patch: dict,
    *,
    instance_admin: bool = False,
    org_admin: bool = False,
) -> dict:
    """Change name, description or config; a partial config is merged into the stored one."""
    with catalog.changing:  # merged with what is stored: no change lost in between
        current = catalog.get(AUTOMATIONS, org_id, automation_id)
        unknown = [k for k in patch if k not in ("name", "description", "config")]
        if unknown:
            raise InvalidRequest(f"cannot update field {unknown[0]!r}")
        changes = dict(patch)
        if "config" in patch:
            if not isinstance(patch["config"], dict):
                raise InvalidRequest("config must be an object")
            # Checked before the merge: merged into an export, a retention config was refused
            # for the export's own keys ("config has an unknown field 'batch_size'").
            kind = patch["config"].get("event_type", current["config"]["event_type"])
            check_update(current["config"], {**current["config"], "event_type": kind})
            merged = merge_secrets(current["config"], {**current["config"], **patch["config"]})
            new = validate_config(merged)
            check_update(current["config"], new)
            check_server_access(current["config"], new, instance_admin, org_admin)
            check_external_id(org_id, current["config"], new)
            changes["config"] = new
        record = catalog.update_object(AUTOMATIONS, org_id, automation_id, changes)
        if "config" in changes:
            _reschedule(catalog, current, changes["config"])
        return record


def _reschedule(catalog: Catalog, current: dict, new: dict) -> None:
    """A shorter interval applies from now: the next run, planned with the old interval,
    comes at most one new interval away (a longer one applies after the next run). A new
    grace period applies to what earlier runs left in the trash too."""
    interval = new.get("interval_seconds")
    if interval is not None and interval < current["config"].get("interval_seconds", interval):
        runs.run_by(catalog.store, current["id"], runs.now() + timedelta(seconds=interval))
    grace = new.get("grace_period_hours")
    if grace is not None and grace != current["config"].get("grace_period_hours"):
        runs.regrace(catalog.store, current["id"], grace)
