"""Projects, datasets and experiments: the REST routes (``/v1/…``) and the legacy
``/api/…/register`` routes that the JS SDK and older Python SDKs call."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from tracelake.errors import InvalidRequest, NotFound
from tracelake.export.comparisons import parse_comparison_key
from tracelake.server.http import (
    check_known,
    check_org_name,
    field_of,
    json_body,
    principal_of,
    writer_of,
)
from tracelake.store.catalog import DATASETS, EXPERIMENTS, PROJECTS, Catalog, Principal

router = APIRouter()

# What an experiment may be created with: the fields it may later be changed in, too.
EXPERIMENT_FIELDS = EXPERIMENTS.patchable
# Fields of the OAS's experiment that tracelake has nothing for (it keeps no parameters
# objects): accepted and not stored, in a create and in a PATCH.
EXPERIMENT_UNSTORED = {
    "parameters_id",
    "parameters_version",
    "internal_metadata",  # CreateExperiment's (the SDK's generated client): a dataset filter
}
# Sent by SDKs, accepted and not stored.
EXPERIMENT_IGNORED = {
    "project_id",
    "ensure_new",
    "ancestor_commits",
    *EXPERIMENT_UNSTORED,
    "org_name",
}
# What the OAS's CreateProject and CreateDataset hold (the official clients send no more);
# a project group (``project_group_name``, which the SDK sends when one is named) is the
# organization itself here.
PROJECT_CREATE_FIELDS = {"name", "description", "org_name", "project_group_name"}
DATASET_CREATE_FIELDS = {"project_id", "name", "description", "metadata", "tags"}


def _catalog(request: Request) -> Catalog:
    return request.app.state.catalog


def present_dataset(record: dict) -> dict:
    return {**record, "url_slug": record["name"]}


def present_experiment(record: dict) -> dict:
    repo = record.get("repo_info")
    return {**record, "commit": repo.get("commit") if isinstance(repo, dict) else None}


# -- projects -------------------------------------------------------------------------------


@router.post("/v1/project")
async def create_project(request: Request):
    """Create a project, or return the existing one with that name unmodified (a read-only
    key may only get)."""
    principal = principal_of(request)
    body = await json_body(request)

    def work():
        check_known(body, PROJECT_CREATE_FIELDS)
        check_org_name(principal, field_of(body, "org_name", str))
        return _catalog(request).create_project(
            principal.org_id,
            field_of(body, "name", str, required=True),
            field_of(body, "description", str),
            may_create=principal.can_write,
        )

    return await run_in_threadpool(work)


@router.get("/v1/project")
def list_projects(
    request: Request,
    limit: int | None = None,
    starting_after: str | None = None,
    ending_before: str | None = None,
    ids: list[str] | None = Query(None),
    project_name: str | None = None,
    org_name: str | None = None,
):
    """Projects, newest first."""
    principal = principal_of(request)
    check_org_name(principal, org_name)
    objects = _catalog(request).list_objects(
        PROJECTS,
        principal.org_id,
        name=project_name,
        ids=ids,
        limit=limit,
        starting_after=starting_after,
        ending_before=ending_before,
    )
    return {"objects": objects}


@router.get("/v1/project/{project_id}")
def get_project(request: Request, project_id: str):
    """One project."""
    return _catalog(request).get_project(principal_of(request).org_id, project_id)


@router.patch("/v1/project/{project_id}")
async def update_project(request: Request, project_id: str):
    """Change a project's name, description or settings (an object sent for ``settings`` is
    deep-merged into the stored one, as Braintrust does)."""
    principal = writer_of(request)
    patch = await json_body(request)

    def work():
        _check_comparison_key(patch.get("settings"))
        return _catalog(request).update_object(
            PROJECTS, principal.org_id, project_id, patch, merge_objects=True
        )

    return await run_in_threadpool(work)


def _check_comparison_key(settings) -> None:
    """``settings.comparison_key`` (what experiments are matched on in their summaries and
    the web UI's comparison) must be one BTQL expression, or null."""
    key = settings.get("comparison_key") if isinstance(settings, dict) else None
    if key is None:
        return
    if not isinstance(key, str):
        raise InvalidRequest("settings.comparison_key must be a BTQL expression (text) or null")
    if key.strip():
        # (an aggregate key, saved, made every summary of the project's experiments a 400)
        parse_comparison_key(key, "settings.comparison_key")


@router.delete("/v1/project/{project_id}")
def delete_project(request: Request, project_id: str, if_empty: bool = False):
    """Delete a project (it disappears from every read). ``if_empty``: only if it holds
    nothing (no datasets, experiments, logs, automations, tags or scores), else 409."""
    principal = writer_of(request)
    return _catalog(request).delete_object(
        PROJECTS, principal.org_id, project_id, only_if_empty=if_empty
    )


# -- datasets -------------------------------------------------------------------------------


@router.post("/v1/dataset")
async def create_dataset(request: Request):
    """Create a dataset, or return the existing one with that name in the project (a
    read-only key may only get)."""
    principal = principal_of(request)
    body = await json_body(request)

    def work():
        check_known(body, DATASET_CREATE_FIELDS)
        record = _catalog(request).create_dataset(
            principal.org_id,
            field_of(body, "project_id", str, required=True),
            field_of(body, "name", str, required=True),
            field_of(body, "description", str),
            field_of(body, "metadata", dict),
            tags=field_of(body, "tags", list),
            may_create=principal.can_write,
        )
        return present_dataset(record)

    return await run_in_threadpool(work)


@router.get("/v1/dataset")
def list_datasets(
    request: Request,
    limit: int | None = None,
    starting_after: str | None = None,
    ending_before: str | None = None,
    ids: list[str] | None = Query(None),
    dataset_name: str | None = None,
    project_name: str | None = None,
    project_id: str | None = None,
    org_name: str | None = None,
):
    """Datasets, newest first."""
    principal = principal_of(request)
    check_org_name(principal, org_name)
    objects = _catalog(request).list_objects(
        DATASETS,
        principal.org_id,
        name=dataset_name,
        project_id=project_id,
        project_name=project_name,
        ids=ids,
        limit=limit,
        starting_after=starting_after,
        ending_before=ending_before,
    )
    return {"objects": [present_dataset(o) for o in objects]}


@router.get("/v1/dataset/{dataset_id}")
def get_dataset(request: Request, dataset_id: str):
    """One dataset."""
    record = _catalog(request).get(DATASETS, principal_of(request).org_id, dataset_id)
    return present_dataset(record)


@router.patch("/v1/dataset/{dataset_id}")
async def update_dataset(request: Request, dataset_id: str):
    """Change a dataset's name, description or metadata (deep-merged, as Braintrust does)."""
    principal = writer_of(request)
    patch = await json_body(request)

    def work():
        record = _catalog(request).update_object(
            DATASETS, principal.org_id, dataset_id, patch, merge_objects=True
        )
        return present_dataset(record)

    return await run_in_threadpool(work)


@router.delete("/v1/dataset/{dataset_id}")
def delete_dataset(request: Request, dataset_id: str, if_empty: bool = False):
    """Delete a dataset. ``if_empty``: only if it holds no rows, else 409."""
    principal = writer_of(request)
    catalog = _catalog(request)
    deleted = catalog.delete_object(DATASETS, principal.org_id, dataset_id, only_if_empty=if_empty)
    return present_dataset(deleted)


# -- experiments ----------------------------------------------------------------------------


def _experiment_fields(catalog: Catalog, principal: Principal, body: dict) -> dict:
    check_known(body, {*EXPERIMENT_FIELDS, *EXPERIMENT_IGNORED})
    fields = {}
    for name, kind in EXPERIMENT_FIELDS.items():
        value = field_of(body, name, kind)
        if value is not None:
            fields[name] = value
    if "dataset_id" in fields:
        catalog.get_referenced(DATASETS, principal.org_id, fields["dataset_id"], "dataset_id")
    if "dataset_version" in fields:
        fields["dataset_version"] = catalog.dataset_version(
            fields.get("dataset_id"), fields["dataset_version"]
        )
    if "base_exp_id" in fields:
        catalog.get_referenced(EXPERIMENTS, principal.org_id, fields["base_exp_id"], "base_exp_id")
    return fields


@router.post("/v1/experiment")
async def create_experiment(request: Request):
    """Create an experiment. Without ``ensure_new`` an experiment of the same name is
    returned; with it a new one is made, renamed with a suffix if the name is taken. A
    read-only key may only get."""
    principal = principal_of(request)
    body = await json_body(request)

    def work():
        catalog = _catalog(request)
        project_id = field_of(body, "project_id", str, required=True)
        fields = _experiment_fields(catalog, principal, body)
        ensure_new = field_of(body, "ensure_new", bool, default=False)
        record = catalog.create_experiment(
            principal.org_id,
            project_id,
            fields,
            ensure_new,
            may_create=principal.can_write,
            ancestor_commits=_ancestor_commits(body),
        )
        return present_experiment(record)

    return await run_in_threadpool(work)


def _ancestor_commits(body: dict) -> list[str] | None:
    """The git commits the SDKs send (nearest first) when no base experiment is named: what
    the base is picked from. Anything but a list of strings is ignored, as before."""
    commits = body.get("ancestor_commits")
    if isinstance(commits, list) and all(isinstance(c, str) for c in commits):
        return commits
    return None


@router.get("/v1/experiment")
def list_experiments(
    request: Request,
    limit: int | None = None,
    starting_after: str | None = None,
    ending_before: str | None = None,
    ids: list[str] | None = Query(None),
    experiment_name: str | None = None,
    project_name: str | None = None,
    project_id: str | None = None,
    org_name: str | None = None,
):
    """Experiments, newest first."""
    principal = principal_of(request)
    check_org_name(principal, org_name)
    objects = _catalog(request).list_objects(
        EXPERIMENTS,
        principal.org_id,
        name=experiment_name,
        project_id=project_id,
        project_name=project_name,
        ids=ids,
        limit=limit,
        starting_after=starting_after,
        ending_before=ending_before,
    )
    return {"objects": [present_experiment(o) for o in objects]}


@router.get("/v1/experiment/{experiment_id}")
def get_experiment(request: Request, experiment_id: str):
    """One experiment."""
    org_id = principal_of(request).org_id
    return present_experiment(_catalog(request).get(EXPERIMENTS, org_id, experiment_id))


@router.patch("/v1/experiment/{experiment_id}")
async def update_experiment(request: Request, experiment_id: str):
    """Change an experiment's name, description, metadata, tags or visibility (an object
    sent for ``metadata`` or ``repo_info`` is deep-merged into the stored one, as Braintrust
    does)."""
    principal = writer_of(request)
    patch = await json_body(request)
    patch = {k: v for k, v in patch.items() if k not in EXPERIMENT_UNSTORED}

    def work():
        record = _catalog(request).update_object(
            EXPERIMENTS, principal.org_id, experiment_id, patch, merge_objects=True
        )
        return present_experiment(record)

    return await run_in_threadpool(work)


@router.delete("/v1/experiment/{experiment_id}")
def delete_experiment(request: Request, experiment_id: str):
    """Delete an experiment."""
    principal = writer_of(request)
    record = _catalog(request).delete_object(EXPERIMENTS, principal.org_id, experiment_id)
    return present_experiment(record)


# -- legacy registration routes (JS SDK, Python SDK ≤ 0.34) ---------------------------------


def _legacy_project(catalog: Catalog, principal: Principal, body: dict) -> dict:
    org_id = body.get("org_id")
    if org_id is not None and org_id != principal.org_id:
        raise NotFound("organization not found")
    project_id = field_of(body, "project_id", str)
    if project_id is not None:
        return catalog.get_project(principal.org_id, project_id)
    name = field_of(body, "project_name", str, required=True)
    return catalog.create_project(principal.org_id, name, may_create=principal.can_write)


@router.post("/api/project/register")
async def register_project(request: Request):
    """Legacy create-or-get of a project by name (a read-only key may only get)."""
    principal = principal_of(request)
    body = await json_body(request)

    def work():
        return {"project": _legacy_project(_catalog(request), principal, body)}

    return await run_in_threadpool(work)


@router.get("/api/project")
def legacy_get_project(request: Request, id: str):
    """Legacy project lookup by id."""
    return _catalog(request).get_project(principal_of(request).org_id, id)


@router.post("/api/dataset/register")
async def register_dataset(request: Request):
    """Legacy create-or-get of a dataset, creating its project if needed (a read-only key
    may only get)."""
    principal = principal_of(request)
    body = await json_body(request)

    def work():
        catalog = _catalog(request)
        project = _legacy_project(catalog, principal, body)
        dataset = catalog.create_dataset(
            principal.org_id,
            project["id"],
            field_of(body, "dataset_name", str, required=True),
            field_of(body, "description", str),
            field_of(body, "metadata", dict),
            may_create=principal.can_write,
        )
        return {"project": project, "dataset": present_dataset(dataset)}

    return await run_in_threadpool(work)


@router.post("/api/experiment/register")
async def register_experiment(request: Request):
    """Legacy experiment registration; ``update: true`` reopens an experiment by name (a
    read-only key may only reopen)."""
    principal = principal_of(request)
    body = await json_body(request)

    def work():
        catalog = _catalog(request)
        project = _legacy_project(catalog, principal, body)
        fields = {}
        for key, target in (
            ("experiment_name", "name"),
            ("description", "description"),
            ("repo_info", "repo_info"),
            ("dataset_id", "dataset_id"),
            ("dataset_version", "dataset_version"),
            ("public", "public"),
            ("metadata", "metadata"),
            ("base_experiment_id", "base_exp_id"),
            ("base_exp_id", "base_exp_id"),  # what the JS SDK sends for baseExperimentId
        ):
            if body.get(key) is not None:
                fields[target] = body[key]
        base_name = field_of(body, "base_experiment", str)
        if base_name and "base_exp_id" not in fields:
            found = catalog.list_objects(
                EXPERIMENTS, principal.org_id, name=base_name, project_id=project["id"], limit=1
            )
            if not found:
                # The SDKs catch an error naming the "base experiment", warn that it was not
                # found and register again without it.
                raise InvalidRequest(f"base experiment {base_name!r} not found")
            fields["base_exp_id"] = found[0]["id"]
        fields = _experiment_fields(catalog, principal, fields)
        update = field_of(body, "update", bool, default=False)
        record = catalog.create_experiment(
            principal.org_id,
            project["id"],
            fields,
            not update,
            may_create=principal.can_write,
            ancestor_commits=_ancestor_commits(body),
        )
        return {"project": project, "experiment": present_experiment(record)}

    return await run_in_threadpool(work)


@router.post("/api/base_experiment/get_id")
async def base_experiment_id(request: Request):
    """The experiment an experiment compares against by default (400 when there is none)."""
    principal = principal_of(request)
    body = await json_body(request)

    def work():
        experiment_id = field_of(body, "id", str, required=True)
        base = _catalog(request).base_experiment(principal.org_id, experiment_id)
        if base is None:
            raise InvalidRequest("this experiment has no base experiment")
        return {"base_exp_id": base["id"], "base_exp_name": base["name"]}

    return await run_in_threadpool(work)
