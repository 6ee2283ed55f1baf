"""Project automations: scheduled S3 exports and retention policies: configuration, test,
run once, reset, run history, restore, and ``/automation/cron``."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from tracelake.automations import retention
from tracelake.automations.exports import check_authority, check_query
from tracelake.errors import InvalidRequest, NotFound
from tracelake.export.sinks import open_sink, probe
from tracelake.model.automations import export_credentials
from tracelake.model.xact import format_xact
from tracelake.server.http import (
    JSONResponse,
    check_known,
    check_org_name,
    field_of,
    is_instance_admin,
    json_body,
    principal_of,
    writer_of,
)
from tracelake.store import runs
from tracelake.store.automations import create_automation, present, update_automation
from tracelake.store.catalog import AUTOMATIONS

router = APIRouter()


async def _create(request: Request, replace: bool):
    principal = writer_of(request)
    body = await json_body(request)

    def work():
        check_known(body, {"project_id", "name", "description", "config"})  # the OAS's fields
        check_query(request.app.state.catalog, principal.org_id, body.get("config"))
        record = create_automation(
            request.app.state.catalog,
            principal.org_id,
            field_of(body, "project_id", str, required=True),
            field_of(body, "name", str, required=True),
            field_of(body, "description", str),
            field_of(body, "config", dict, required=True),
            replace=replace,
            instance_admin=is_instance_admin(request, principal),
            org_admin=principal.is_admin,
        )
        return present(record)

    return await run_in_threadpool(work)


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
    check_org_name(principal, org_name)
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
    principal = writer_of(request)
    patch = await json_body(request)

    def work():
        catalog = request.app.state.catalog
        if isinstance(patch.get("config"), dict):
            current = catalog.get(AUTOMATIONS, principal.org_id, automation_id)
            check_query(catalog, principal.org_id, {**current["config"], **patch["config"]})
        record = update_automation(
            catalog,
            principal.org_id,
            automation_id,
            patch,
            instance_admin=is_instance_admin(request, principal),
            org_admin=principal.is_admin,
        )
        return present(record)

    return await run_in_threadpool(work)


@router.delete("/v1/project_automation/{automation_id}")
def delete_project_automation(request: Request, automation_id: str):
    """Delete an automation."""
    principal = writer_of(request)
    record = request.app.state.catalog.delete_object(AUTOMATIONS, principal.org_id, automation_id)
    return present(record)


# -- running automations --------------------------------------------------------------------


def _automation(request: Request, automation_id: str) -> dict:
    principal = principal_of(request)
    return request.app.state.catalog.get(AUTOMATIONS, principal.org_id, automation_id)


def _export_only(automation: dict, what: str) -> None:
    if automation["config"]["event_type"] != "btql_export":
        raise InvalidRequest(f"{what} applies to btql_export automations")


@router.post("/v1/project_automation/{automation_id}/test")
def test_project_automation(request: Request, automation_id: str):
    """Check an export's storage: write, read back and delete a test object. A failure is a
    400 whose message says what the storage answered, in plain words."""
    writer_of(request)
    automation = _automation(request, automation_id)
    _export_only(automation, "test")
    config = automation["config"]
    check_authority(request.app.state.catalog, automation)
    sink = open_sink(config["export_path"], export_credentials(automation), quick=True)
    probe(sink)
    check_query(request.app.state.catalog, automation["org_id"], config)
    return {
        "success": True,
        "message": f"wrote, read back and deleted a test object in {sink.location}",
    }


@router.post("/v1/project_automation/{automation_id}/run")
def run_project_automation(request: Request, automation_id: str, wait: bool = True):
    """Run once now (also while paused). With ``wait=false`` the run starts in the
    background and the answer is 202; follow it with ``GET …/runs``."""
    writer_of(request)
    automation = _automation(request, automation_id)
    scheduler = request.app.state.scheduler
    if not wait:
        scheduler.run_in_background(automation["id"], trigger="manual")
        return JSONResponse({"started": True}, status_code=202)
    return {"run": present_run(scheduler.run(automation["id"], trigger="manual"))}


@router.post("/v1/project_automation/{automation_id}/reset")
def reset_project_automation(request: Request, automation_id: str):
    """Clear an export's run history and cursor: the next run starts from the beginning
    (already exported files stay; new runs write under new names)."""
    writer_of(request)
    automation = _automation(request, automation_id)
    _export_only(automation, "reset")
    store = request.app.state.store
    scheduler = request.app.state.scheduler
    with scheduler.holding(automation["id"]):  # Conflict while a run is in progress
        runs.delete_runs(store, automation["id"])
    scheduler.wake()
    return present_state(automation, runs.get_state(store, automation["id"]))


@router.get("/v1/project_automation/{automation_id}/runs")
def list_automation_runs(request: Request, automation_id: str, limit: int = 100):
    """Run history, newest first (at most ``limit`` runs, at most 1,000), and the
    automation's cursor and next run time."""
    if limit < 0:  # (as on the other lists; 0 was 1 run, and so was a negative limit)
        raise InvalidRequest("limit must not be negative")
    automation = _automation(request, automation_id)
    store = request.app.state.store
    records = runs.list_runs(store, automation["id"], limit=min(limit, 1000))
    return {
        "state": present_state(automation, runs.get_state(store, automation["id"])),
        "objects": [present_run(r) for r in records],
    }


@router.post("/v1/project_automation/{automation_id}/restore")
async def restore_project_automation(request: Request, automation_id: str):
    """Bring back what retention soft-deleted and has not purged yet (``run_id`` picks one
    run; default: every restorable run). The policy is paused, so its next run does not
    delete the same rows again; resume it once its window is what you want."""
    writer_of(request)
    body = await json_body(request, required=False)
    run_id = field_of(body, "run_id", str)
    automation = _automation(request, automation_id)
    if automation["config"]["event_type"] != "retention":
        raise InvalidRequest("restore applies to retention automations")
    return await run_in_threadpool(_restore, request, automation, run_id)


def _restore(request: Request, automation: dict, run_id: str | None) -> dict:
    store = request.app.state.store
    restorable = runs.restorable_runs(store, automation["id"])
    if run_id is not None:
        restorable = [r for r in restorable if r["id"] == run_id]
        if not restorable:
            raise NotFound(f"no restorable retention run {run_id!r} (purged, or not this one's)")
    # Runs that moved nothing (most of an hourly policy's) are closed together, not one
    # transaction each (a restore of a year's grace period took minutes).
    empty = retention.restore_empty(store, [r["id"] for r in restorable if r["rows"] == 0])
    # (a run restored: its rows; None: one purged or restored meanwhile)
    counts = {
        r["id"]: (0 if r["id"] in empty else None)
        if r["rows"] == 0
        else retention.restore(store, r, changing=request.app.state.catalog.changing)
        for r in restorable
    }
    restored_runs = [rid for rid, count in counts.items() if count is not None]
    restored = sum(counts[rid] for rid in restored_runs)
    if not restored:
        # Nothing came back (purged or restored already, or runs that deleted nothing): the
        # policy was paused all the same, and silently stopped deleting what it should.
        return {"restored_rows": 0, "runs": restored_runs, "paused": False}
    # Merged into the config as stored now, not as read before the restore (which can take
    # seconds): a change saved meanwhile stays.
    request.app.state.catalog.update_object(
        AUTOMATIONS,
        automation["org_id"],
        automation["id"],
        {"config": {"status": "paused"}},
        merge_objects=True,
    )
    return {"restored_rows": restored, "runs": restored_runs, "paused": True}


@router.post("/automation/cron")
async def automation_cron(request: Request):
    """Braintrust's "register the cron job" call. tracelake schedules every active
    automation from its creation, so with ``automation_id`` this only confirms (and records)
    the registration and answers the schedule; without it, it runs one scheduler pass now
    (what an external cron would trigger) and answers the runs it made."""
    principal = writer_of(request)
    body = await json_body(request, required=False)
    automation_id = field_of(body, "automation_id", str)
    cron = field_of(body, "cron", dict) or {}
    scheduler = request.app.state.scheduler
    if automation_id is None:
        made = await run_in_threadpool(scheduler.tick)
        # The pass runs every due automation; the caller sees its own organization's runs
        # only (other organizations' runs, with their export paths and errors, were listed).
        made = [r for r in made if r]
        ids = sorted({r["automation_id"] for r in made})
        own = await run_in_threadpool(
            request.app.state.catalog.list_objects, AUTOMATIONS, principal.org_id, ids=ids
        )
        own_ids = {a["id"] for a in own}
        return {"runs": [present_run(r) for r in made if r["automation_id"] in own_ids]}

    def register():
        automation = request.app.state.catalog.get(AUTOMATIONS, principal.org_id, automation_id)
        kind = cron.get("type")
        if kind is not None and kind != automation["config"]["event_type"]:
            raise InvalidRequest(
                f"cron.type is {kind!r} but the automation is a "
                f"{automation['config']['event_type']} automation"
            )
        state = runs.register(request.app.state.store, automation["id"], None)
        scheduler.wake()
        return present_state(automation, state)

    return await run_in_threadpool(register)


def present_run(run: dict | None) -> dict | None:
    if run is None:
        return None
    return {
        "id": run["id"],
        "seq": run["seq"],
        "kind": run["kind"],
        "trigger": run["trigger"],
        "status": run["status"],
        "start": _iso(run["started"]),
        "end": _iso(run["finished"]),
        "rows": run["rows"],
        "bytes": run["bytes"],
        "files": run["files"] or [],
        "cursor_from": format_xact(run["cursor_from"]) if run["cursor_from"] else None,
        "cursor_to": format_xact(run["cursor_to"]) if run["cursor_to"] else None,
        "backlog": run["backlog"],
        "error": run["error"],
        "purge_after": _iso(run["purge_after"]),
        "purged_at": _iso(run["purged_at"]),
        "restored_at": _iso(run["restored_at"]),
        "resumes": run["resumes"],
        "note": run["note"],
    }


def present_state(automation: dict, state) -> dict:
    active = automation["config"].get("status", "active") == "active"
    return {
        "automation_id": automation["id"],
        "status": automation["config"].get("status", "active"),
        "cursor": format_xact(state.cursor_xact) if state.cursor_xact else None,
        # A new or reset automation has no stored time: it is due now.
        "next_run_at": _iso(state.next_run_at or runs.now()) if active else None,
        "registered": state.registered_at is not None,
        "running": state.lease_owner is not None,
    }


def _iso(value) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None
