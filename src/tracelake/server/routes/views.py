"""Saved views (``/v1/view``), as in Braintrust's API, and each user's default view
(``/v1/view_default``). Saved BTQL sandbox queries are views with ``view_type: "sandbox"``
and ``view_data: {"query": "<text>"}`` on their project."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from tracelake.server.http import json_body, principal_of, writer_of
from tracelake.store import views

router = APIRouter()


@router.post("/v1/view")
async def create_view(request: Request):
    """Create a view ``{object_type, object_id, view_type, name, view_data?, options?}``, or
    return the table's view of that name unmodified."""
    principal = writer_of(request)
    body = await json_body(request)

    def work():
        return views.create(
            request.app.state.catalog, principal.org_id, principal.user, body, replace=False
        )

    return await run_in_threadpool(work)


@router.put("/v1/view")
async def put_view(request: Request):
    """Create a view, or replace the view_data and options of the one with that name."""
    principal = writer_of(request)
    body = await json_body(request)

    def work():
        return views.create(
            request.app.state.catalog, principal.org_id, principal.user, body, replace=True
        )

    return await run_in_threadpool(work)


@router.get("/v1/view")
def list_views(
    request: Request,
    object_type: str | None = None,
    object_id: str | None = None,
    view_type: str | None = None,
    view_name: str | None = None,
    ids: list[str] | None = Query(None),
    limit: int | None = None,
    starting_after: str | None = None,
    ending_before: str | None = None,
):
    """Views, newest first (``starting_after`` / ``ending_before`` page by view id)."""
    principal = principal_of(request)
    objects = views.list_views(
        request.app.state.catalog,
        principal.org_id,
        object_type=object_type,
        object_id=object_id,
        view_type=view_type,
        name=view_name,
        ids=ids,
        limit=limit,
        starting_after=starting_after,
        ending_before=ending_before,
    )
    return {"objects": objects}


@router.get("/v1/view_default")
def get_view_default(
    request: Request,
    object_type: str | None = None,
    object_id: str | None = None,
    view_type: str | None = None,
):
    """The caller's default view of a table: ``view_id`` is a view's id, ``builtin:<name>``
    or null. Personal: the user is the API key's name."""
    principal = principal_of(request)
    args = {"object_type": object_type, "object_id": object_id, "view_type": view_type}
    return views.get_default(request.app.state.catalog, principal.org_id, principal.user, args)


@router.put("/v1/view_default")
async def put_view_default(request: Request):
    """Set the caller's default view ``{object_type, object_id, view_type, view_id}``
    (``view_id: null`` clears it). A preference, so read-only keys may set theirs."""
    principal = principal_of(request)
    body = await json_body(request)

    def work():
        return views.set_default(request.app.state.catalog, principal.org_id, principal.user, body)

    return await run_in_threadpool(work)


@router.get("/v1/view/{view_id}")
def get_view(request: Request, view_id: str):
    """One view."""
    return views.get(request.app.state.catalog, principal_of(request).org_id, view_id)


@router.patch("/v1/view/{view_id}")
async def patch_view(request: Request, view_id: str):
    """Rename a view or change its view_data / options."""
    principal = writer_of(request)
    patch = await json_body(request)

    def work():
        return views.update(request.app.state.catalog, principal.org_id, view_id, patch)

    return await run_in_threadpool(work)


@router.delete("/v1/view/{view_id}")
def delete_view(request: Request, view_id: str):
    """Delete a view (a body naming object_type / object_id, as Braintrust's clients send,
    is ignored)."""
    principal = writer_of(request)
    return views.delete(request.app.state.catalog, principal.org_id, view_id)
