"""Login, version, API keys and organizations."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from tracelake import __version__
from tracelake.errors import Forbidden, NotFound
from tracelake.server.http import (
    check_org_name,
    field_of,
    is_instance_admin,
    json_body,
    principal_of,
)
from tracelake.store.catalog import filter_items, page_items

router = APIRouter()


@router.post("/api/apikey/login")
async def login(request: Request):
    """The SDK's login: the caller's organization and where its data plane is (this server)."""
    principal = principal_of(request)
    settings = request.app.state.settings
    base = settings.public_url or str(request.base_url)
    base = base.rstrip("/")
    return {
        "org_info": [
            {
                "id": principal.org_id,
                "name": principal.org_name,
                "api_url": base,
                "proxy_url": base,
                "realtime_url": None,
                "git_metadata": None,
            }
        ]
    }


@router.get("/version")
async def version():
    """Server version. ``logs3_payload_max_bytes: null`` keeps the SDK off the overflow path."""
    return {"version": __version__, "server": "tracelake", "logs3_payload_max_bytes": None}


@router.get("/ping")
async def ping(request: Request):
    """Who the key belongs to."""
    principal = principal_of(request)
    return {"id": principal.key_id, "org_id": principal.org_id, "org_name": principal.org_name}


@router.get("/v1")
async def hello():
    """Hello world (the REST client's health check)."""
    return "Hello, World!"


@router.get("/v1/api_key")
def list_api_keys(
    request: Request,
    org_name: str | None = None,
    api_key_name: str | None = None,
    ids: list[str] | None = Query(None),
    limit: int | None = None,
    starting_after: str | None = None,
    ending_before: str | None = None,
):
    """The organization's active API keys (never the secrets), filtered by ``api_key_name``
    and ``ids`` as braintrust-api's ``api_keys.list`` sends them. ``org_name`` of another
    organization is a 404, as on every list (it was ignored: the caller's keys came back)."""
    principal = principal_of(request)
    check_org_name(principal, org_name)
    _require_admin(principal)
    keys = request.app.state.catalog.list_keys(principal.org_id)
    keys = filter_items(keys, ids=ids, name=api_key_name)
    page = {"limit": limit, "starting_after": starting_after, "ending_before": ending_before}
    return {"objects": page_items(keys, "API key", **page)}


@router.post("/v1/api_key")
async def create_api_key(request: Request):
    """Create a key in the caller's organization; the plaintext is in ``key``, shown once.
    ``org_name`` (Braintrust's field) of another organization is a 404, as on the project's
    create (it was ignored: the key was made in the caller's organization all the same)."""
    principal = principal_of(request)
    _require_admin(principal)
    body = await json_body(request)

    def work():
        check_org_name(principal, field_of(body, "org_name", str))
        name = field_of(body, "name", str, default="api key")
        role = field_of(body, "role", str, default="write")
        record, plaintext = request.app.state.catalog.create_key(principal.org_id, name, role)
        return {**record, "key": plaintext}

    return await run_in_threadpool(work)


@router.get("/v1/api_key/{key_id}")
def get_api_key(request: Request, key_id: str):
    """One key of the organization (never the secret; a revoked one with its ``revoked_at``):
    braintrust-api's ``api_keys.retrieve`` (it was a 405)."""
    principal = principal_of(request)
    _require_admin(principal)
    return request.app.state.catalog.get_key(principal.org_id, key_id)


@router.delete("/v1/api_key/{key_id}")
def revoke_api_key(request: Request, key_id: str):
    """Revoke a key; it stops working at once."""
    principal = principal_of(request)
    _require_admin(principal)
    return request.app.state.catalog.revoke_key(principal.org_id, key_id)


@router.get("/v1/organization")
def list_organizations(
    request: Request,
    org_name: str | None = None,
    ids: list[str] | None = Query(None),
    limit: int | None = None,
    starting_after: str | None = None,
    ending_before: str | None = None,
):
    """The caller's organization (``org_name`` of another one is a 404; ``ids`` not naming
    it, an empty list)."""
    principal = principal_of(request)
    check_org_name(principal, org_name)
    orgs = filter_items([request.app.state.catalog.get_org(principal.org_id)], ids=ids)
    page = {"limit": limit, "starting_after": starting_after, "ending_before": ending_before}
    return {"objects": page_items(orgs, "organization", **page)}


@router.get("/v1/organization/{org_id}")
def get_organization(request: Request, org_id: str):
    """The caller's organization by id (another's is a 404): braintrust-api's
    ``organizations.retrieve``."""
    principal = principal_of(request)
    if org_id != principal.org_id:
        raise NotFound("organization not found")
    return request.app.state.catalog.get_org(principal.org_id)


@router.post("/v1/organization")
async def create_organization(request: Request):
    """Create a new organization with its first admin key (instance admins only: admin keys
    of the organization created on first start)."""
    principal = principal_of(request)
    catalog = request.app.state.catalog
    _require_admin(principal)
    if not await run_in_threadpool(is_instance_admin, request, principal):
        raise Forbidden("only admins of the first organization can create organizations")
    body = await json_body(request)
    name = field_of(body, "name", str, required=True)

    def work():
        org = catalog.create_org(name)
        record, plaintext = catalog.create_key(org["id"], name="bootstrap", role="admin")
        return {**org, "api_key": {**record, "key": plaintext}}

    return await run_in_threadpool(work)


def _require_admin(principal) -> None:
    if not principal.is_admin:
        raise Forbidden("this action needs an admin API key")
