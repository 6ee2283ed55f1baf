"""The review queue: spans and dataset rows flagged for human review (``/v1/review_item``)."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from tracelake.errors import NotFound
from tracelake.server.http import check_org_name, json_body, principal_of, writer_of
from tracelake.store import reviews
from tracelake.store.catalog import filter_items, page_items

router = APIRouter()


@router.post("/v1/review_item")
async def flag_for_review(request: Request):
    """Flag a span (``object_type`` project_logs / experiment) or a dataset row (``dataset``)
    for review ``{object_type, object_id, row_id, root_span_id?, span_name?, note?, assignee?}``,
    or return its item as it is (assigned when ``assignee`` is given)."""
    principal = writer_of(request)
    body = await json_body(request)

    def work():
        if body.get("assignee") == "me":
            body["assignee"] = principal.user
        return reviews.flag(request.app.state.catalog, principal.org_id, body)

    return await run_in_threadpool(work)


@router.get("/v1/review_item")
def list_review_items(
    request: Request,
    project_id: str | None = None,
    status: str | None = None,
    object_id: str | None = None,
    row_id: str | None = None,
    assignee: str | None = None,
    limit: int | None = None,
):
    """Review items, most recently changed first; ``assignee=me`` lists the caller's (a user
    is an API key's name), ``assignee=`` (empty) the unassigned ones."""
    principal = principal_of(request)
    if assignee == "me":
        assignee = principal.user
    items = reviews.list_items(
        request.app.state.catalog,
        principal.org_id,
        project_id=project_id,
        status=status,
        object_id=object_id,
        row_id=row_id,
        limit=limit,
        assignee=assignee,
    )
    return {"objects": items}


@router.get("/v1/review_item_counts")
def count_review_items(request: Request, project_id: str | None = None):
    """How many items the queue's tabs list: ``{awaiting, assigned_to_me, completed}`` (the
    caller's awaiting items for ``assigned_to_me``), of one project or of the organization."""
    principal = principal_of(request)
    return reviews.counts(request.app.state.catalog, principal.org_id, project_id, principal.user)


@router.get("/v1/review_item/{item_id}")
def get_review_item(request: Request, item_id: str):
    """One review item."""
    return reviews.get(request.app.state.catalog, principal_of(request).org_id, item_id)


@router.patch("/v1/review_item/{item_id}")
async def patch_review_item(request: Request, item_id: str):
    """Mark an item ``completed`` (or ``awaiting`` again), change its note, or assign it
    (``assignee``: a user name, ``"me"``, or null to unassign)."""
    principal = writer_of(request)
    patch = await json_body(request)

    def work():
        if patch.get("assignee") == "me":
            patch["assignee"] = principal.user
        return reviews.update(request.app.state.catalog, principal.org_id, item_id, patch)

    return await run_in_threadpool(work)


@router.delete("/v1/review_item/{item_id}")
def delete_review_item(request: Request, item_id: str):
    """Take a span or a dataset row off the review queue."""
    principal = writer_of(request)
    return reviews.remove(request.app.state.catalog, principal.org_id, item_id)


@router.get("/v1/user")
def list_users(
    request: Request,
    org_name: str | None = None,
    ids: list[str] | None = Query(None),
    email: list[str] | None = Query(None),
    given_name: list[str] | None = Query(None),
    family_name: list[str] | None = Query(None),
    limit: int | None = None,
    starting_after: str | None = None,
    ending_before: str | None = None,
):
    """The organization's assignable users: the names of its active API keys with their
    highest role (no secrets); ``is_me`` marks the caller. ``org_name`` of another
    organization is a 404. ``ids`` are user names; a user has no email, given or family
    name, so a filter on one of those keeps none."""
    principal = principal_of(request)
    check_org_name(principal, org_name)
    users = reviews.users(request.app.state.catalog, principal.org_id, principal.user)
    users = filter_items(users, ids=ids)
    if email or given_name or family_name:
        users = []
    page = {"limit": limit, "starting_after": starting_after, "ending_before": ending_before}
    return {"objects": page_items(users, "user", **page)}


@router.get("/v1/user/{user_id}")
def get_user(request: Request, user_id: str):
    """One user of the organization by id (its name): braintrust-api's ``users.retrieve``."""
    principal = principal_of(request)
    users = reviews.users(request.app.state.catalog, principal.org_id, principal.user)
    for user in users:
        if user["id"] == user_id:
            return user
    raise NotFound(f"user {user_id!r} not found")
