"""Project automations: scheduled S3 exports and retention policies (configuration only)."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request

from tracelake.errors import Forbidden, NotFound
from tracelake.server.http import field_of, json_body, principal_of
from tracelake.store.automations import create_automation, present, update_automation
from tracelake.store.catalog import AUTOMATIONS

router = APIRouter()


def _writer(request: Request):
    principal = principal_of(request)
    if not principal.can_write:
        raise Forbidden("this API key is read-only")
    return principal


async def _create(request: Request, replace: bool):
    principal = _writer(request)
    body = await json_body(request)
    record = create_automation(
        request.app.state.catalog,
        principal.org_id,
        field_of(body, "project_id", str, required=True),
        field_of(body, "name", str, required=True),
        field_of(body, "description", str),
        field_of(body, "config", dict, required=True),
        replace=replace,
    )
    return present(record)


@router.post("/v1/project_automation")
async def create_project_automation(request: Request):
    """Create an automation, or return the project's automation of that name unmodified.
    ``config`` is a ``btql_export`` (S3 or file:// export) or a ``retention`` policy."""
    return await _create(request, replace=False)


@router.put("/v1/project_automation")
async def put_project_automation(request: Request):
    """Create an automation, or replace the description and config of the one with that
    name (an export's path cannot change)."""
    return await _create(request, replace=True)


@router.get("/v1/project_automation")
def list_project_automations(
    request: Request,
    project_id: str | None = None,
    project_automation_name: str | None = None,
    org_name: str | None = None,
    ids: list[str] | None = Query(None),
    limit: int | None = None,
    starting_after: str | None = None,
    ending_before: str | None = None,
):
    """Automations, newest first."""
    principal = principal_of(request)
    if org_name is not None and org_name != principal.org_name:
        raise NotFound(f"organization {org_name!r} not found")
    records = request.app.state.catalog.list_objects(
        AUTOMATIONS,
        principal.org_id,
        name=project_automation_name,
        project_id=project_id,
        ids=ids,
        limit=limit,
        starting_after=starting_after,
        ending_before=ending_before,
    )
    return {"objects": [present(r) for r in records]}


@router.get("/v1/project_automation/{automation_id}")
def get_project_automation(request: Request, automation_id: str):
    """One automation."""
    principal = principal_of(request)
    return present(request.app.state.catalog.get(AUTOMATIONS, principal.org_id, automation_id))


@router.patch("/v1/project_automation/{automation_id}")
async def patch_project_automation(request: Request, automation_id: str):
    """Change the name, description or config (a partial config is merged in)."""
    principal = _writer(request)
    patch = await json_body(request)
    record = update_automation(request.app.state.catalog, principal.org_id, automation_id, patch)
    return present(record)


@router.delete("/v1/project_automation/{automation_id}")
def delete_project_automation(request: Request, automation_id: str):
    """Delete an automation."""
    principal = _writer(request)
    record = request.app.state.catalog.delete_object(AUTOMATIONS, principal.org_id, automation_id)
    return present(record)
