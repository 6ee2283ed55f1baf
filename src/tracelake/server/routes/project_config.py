"""Project tags (``/v1/project_tag``) and score configurations (``/v1/project_score``), as
in Braintrust's API: create-or-get by name per project, PUT, list, get, PATCH, DELETE."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from tracelake.server.http import check_org_name, json_body, principal_of, writer_of
from tracelake.store import project_config as pc
from tracelake.store.catalog import ObjectKind

router = APIRouter()


def _list(
    request: Request,
    kind: ObjectKind,
    name: str | None,
    project_id: str | None,
    project_name: str | None,
    org_name: str | None,
    ids: list[str] | None,
    limit: int | None,
    starting_after: str | None,
    ending_before: str | None,
    one_of: dict[str, list[str]] | None = None,
) -> dict:
    principal = principal_of(request)
    check_org_name(principal, org_name)
    records = request.app.state.catalog.list_objects(
        kind,
        principal.org_id,
        name=name,
        project_id=project_id,
        project_name=project_name,
        ids=ids,
        limit=limit,
        starting_after=starting_after,
        ending_before=ending_before,
        one_of=one_of,
    )
    return {"objects": [pc.present(kind, r) for r in records]}


async def _create(request: Request, kind: ObjectKind, replace: bool) -> dict:
    principal = writer_of(request)
    body = await json_body(request)

    def work():
        record = pc.create(
            request.app.state.catalog,
            kind,
            principal.org_id,
            body,
            replace=replace,
            user=principal.user,
        )
        return pc.present(kind, record)

    return await run_in_threadpool(work)


async def _patch(request: Request, kind: ObjectKind, object_id: str) -> dict:
    principal = writer_of(request)
    patch = await json_body(request)

    def work():
        record = pc.update(request.app.state.catalog, kind, principal.org_id, object_id, patch)
        return pc.present(kind, record)

    return await run_in_threadpool(work)


def _get(request: Request, kind: ObjectKind, object_id: str) -> dict:
    principal = principal_of(request)
    return pc.present(kind, request.app.state.catalog.get(kind, principal.org_id, object_id))


def _delete(request: Request, kind: ObjectKind, object_id: str) -> dict:
    principal = writer_of(request)
    record = request.app.state.catalog.delete_object(kind, principal.org_id, object_id)
    return pc.present(kind, record)


# -- tags -----------------------------------------------------------------------------------


@router.post("/v1/project_tag")
async def create_project_tag(request: Request):
    """Create a tag ``{project_id, name, color?, description?}``, or return the project's
    tag of that name unmodified."""
    return await _create(request, pc.PROJECT_TAGS, replace=False)


@router.put("/v1/project_tag")
async def put_project_tag(request: Request):
    """Create a tag, or replace the colour and description of the one with that name."""
    return await _create(request, pc.PROJECT_TAGS, replace=True)


@router.get("/v1/project_tag")
def list_project_tags(
    request: Request,
    project_id: str | None = None,
    project_name: str | None = None,
    project_tag_name: str | None = None,
    org_name: str | None = None,
    ids: list[str] | None = Query(None),
    limit: int | None = None,
    starting_after: str | None = None,
    ending_before: str | None = None,
):
    """Tags, newest first."""
    return _list(
        request,
        pc.PROJECT_TAGS,
        project_tag_name,
        project_id,
        project_name,
        org_name,
        ids,
        limit,
        starting_after,
        ending_before,
    )


@router.get("/v1/project_tag/{tag_id}")
def get_project_tag(request: Request, tag_id: str):
    """One tag."""
    return _get(request, pc.PROJECT_TAGS, tag_id)


@router.patch("/v1/project_tag/{tag_id}")
async def patch_project_tag(request: Request, tag_id: str):
    """Change a tag's name, colour or description."""
    return await _patch(request, pc.PROJECT_TAGS, tag_id)


@router.delete("/v1/project_tag/{tag_id}")
def delete_project_tag(request: Request, tag_id: str):
    """Delete a tag (rows keep the tag; it loses its colour)."""
    return _delete(request, pc.PROJECT_TAGS, tag_id)


# -- score configurations -------------------------------------------------------------------


@router.post("/v1/project_score")
async def create_project_score(request: Request):
    """Create a score configuration, or return the project's one of that name unmodified."""
    return await _create(request, pc.PROJECT_SCORES, replace=False)


@router.put("/v1/project_score")
async def put_project_score(request: Request):
    """Create a score configuration, or replace the one with that name."""
    return await _create(request, pc.PROJECT_SCORES, replace=True)


@router.get("/v1/project_score")
def list_project_scores(
    request: Request,
    project_id: str | None = None,
    project_name: str | None = None,
    project_score_name: str | None = None,
    org_name: str | None = None,
    ids: list[str] | None = Query(None),
    score_type: list[str] | None = Query(None),
    limit: int | None = None,
    starting_after: str | None = None,
    ending_before: str | None = None,
):
    """Score configurations, newest first; ``score_type`` (repeated or comma-separated)
    keeps those of these types."""
    return _list(
        request,
        pc.PROJECT_SCORES,
        project_score_name,
        project_id,
        project_name,
        org_name,
        ids,
        limit,
        starting_after,
        ending_before,
        one_of=pc.score_type_filter(score_type),
    )


@router.get("/v1/project_score/{score_id}")
def get_project_score(request: Request, score_id: str):
    """One score configuration."""
    return _get(request, pc.PROJECT_SCORES, score_id)


@router.patch("/v1/project_score/{score_id}")
async def patch_project_score(request: Request, score_id: str):
    """Change a score configuration (checked as a whole)."""
    return await _patch(request, pc.PROJECT_SCORES, score_id)


@router.delete("/v1/project_score/{score_id}")
def delete_project_score(request: Request, score_id: str):
    """Delete a score configuration (the scores already written stay)."""
    return _delete(request, pc.PROJECT_SCORES, score_id)
