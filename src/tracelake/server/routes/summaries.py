"""Summaries of datasets and experiments (what ``summarize()`` in the SDK prints)."""

from __future__ import annotations

from urllib.parse import quote

import duckdb
from fastapi import APIRouter, Request

from tracelake.errors import InvalidRequest
from tracelake.export.comparisons import comparison_key_sql
from tracelake.export.queries import engine_message
from tracelake.server.http import principal_of
from tracelake.store.catalog import DATASETS, EXPERIMENTS, Principal
from tracelake.store.summaries import dataset_total, experiment_summary

router = APIRouter()


def _base_url(request: Request) -> str:
    settings = request.app.state.settings
    return (settings.public_url or str(request.base_url)).rstrip("/")


def _part(name: str) -> str:
    """A name as one path segment, ``/`` included, as the SDK encodes it
    (``encode_uri_component``): a project named ``a/b`` is ``a%2Fb``."""
    return quote(name, safe="")


def _project_url(request: Request, org_name: str, project_name: str) -> str:
    return f"{_base_url(request)}/app/{_part(org_name)}/p/{_part(project_name)}"


@router.get("/v1/dataset/{dataset_id}/summarize")
def summarize_dataset(request: Request, dataset_id: str, summarize_data: bool = True):
    """Names, links and (with ``summarize_data``) the number of records."""
    principal = principal_of(request)
    catalog = request.app.state.catalog
    dataset = catalog.get(DATASETS, principal.org_id, dataset_id)
    project = catalog.get_project(principal.org_id, dataset["project_id"])
    project_url = _project_url(request, principal.org_name, project["name"])
    data_summary = None
    if summarize_data:
        data_summary = {"total_records": dataset_total(request.app.state.store, dataset_id)}
    return {
        "project_name": project["name"],
        "dataset_name": dataset["name"],
        "project_url": project_url,
        "dataset_url": f"{project_url}/datasets/{_part(dataset['name'])}",
        "data_summary": data_summary,
    }


def _compared(
    request: Request,
    principal: Principal,
    experiment: dict,
    base: dict | None,
    comparison_key: str | None = None,
):
    """The scores and metrics of ``experiment`` against ``base``, traces matched on their
    input, or on the project's ``settings.comparison_key`` ("the key used to join two
    experiments (defaults to input)", which the web UI's comparison matches on too), or on
    ``comparison_key`` when given (blank: the whole input), as the web UI's compare screen
    passes the key in its URL."""
    catalog = request.app.state.catalog
    store = request.app.state.store
    what = "comparison_key"
    key = comparison_key
    if key is None:
        project = catalog.get_project(principal.org_id, experiment["project_id"])
        key = (project.get("settings") or {}).get("comparison_key")
        what = "the project's comparison_key"
    key = key.strip() if isinstance(key, str) else ""

    base_id = base["id"] if base else None
    if not key:
        return experiment_summary(store, experiment["id"], base_id)
    ids = [experiment["id"], *([base_id] if base_id not in (None, experiment["id"]) else [])]
    key_values = comparison_key_sql(principal, ids, key, what)
    try:
        return experiment_summary(store, experiment["id"], base_id, key_values)
    except duckdb.Error as exc:  # (an out-of-range cast in the key, say: the key's fault)
        raise InvalidRequest(f"{what} {key!r}: {engine_message(exc)}") from None


@router.get("/v1/experiment/{experiment_id}/summarize")
def summarize_experiment(
    request: Request,
    experiment_id: str,
    summarize_scores: bool = True,
    comparison_experiment_id: str | None = None,
    comparison_key: str | None = None,
):
    """Average scores and metrics per trace, with improvements and regressions against the
    comparison experiment (the given one, else the base experiment, else the project's default
    baseline, else the previous one). Traces are matched on ``comparison_key`` (a tracelake
    extension: a BTQL expression, blank for the whole input) when given, else on the project's
    ``settings.comparison_key``, else on their input."""
    principal = principal_of(request)
    catalog = request.app.state.catalog
    experiment = catalog.get(EXPERIMENTS, principal.org_id, experiment_id)
    project = catalog.get_project(principal.org_id, experiment["project_id"])
    project_url = _project_url(request, principal.org_name, project["name"])
    if comparison_experiment_id:
        base = catalog.get_referenced(
            EXPERIMENTS, principal.org_id, comparison_experiment_id, "comparison_experiment_id"
        )
    else:
        base = catalog.base_experiment(principal.org_id, experiment_id)
    answer = {
        "project_name": project["name"],
        "experiment_name": experiment["name"],
        "project_url": project_url,
        "experiment_url": f"{project_url}/experiments/{_part(experiment['name'])}",
        "comparison_experiment_name": base["name"] if base else None,
        "scores": None,
        "metrics": None,
    }
    if summarize_scores:
        answer["scores"], answer["metrics"] = _compared(
            request, principal, experiment, base, comparison_key
        )
    return answer


@router.get("/experiment-comparison2")
def experiment_comparison(
    request: Request, experiment_id: str, base_experiment_id: str | None = None
):
    """Legacy summary: what ``summarize()`` of the JS SDK (and the Python SDK ≤ 0.34) reads,
    after asking ``/api/base_experiment/get_id`` for the base: the scores and metrics of
    ``/v1/experiment/{id}/summarize``, compared with ``base_experiment_id`` (none without)."""
    principal = principal_of(request)
    catalog = request.app.state.catalog
    experiment = catalog.get(EXPERIMENTS, principal.org_id, experiment_id)
    base = None
    if base_experiment_id:
        base = catalog.get(EXPERIMENTS, principal.org_id, base_experiment_id)
    scores, metrics = _compared(request, principal, experiment, base)
    return {"scores": scores, "metrics": metrics}
