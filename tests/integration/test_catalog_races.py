"""Concurrent catalog changes: a name checked free, then taken (two creates of one name both
succeeded, two renames to one name too), and a patch merged with what was stored (of two
PATCHes of one automation, one was lost). The Catalog says it is safe to call from any
thread; the server's routes call it from the event loop and from worker threads."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.integration.test_bad_input import unique
from tests.integration.test_otel import fixture
from tracelake.errors import InvalidRequest
from tracelake.store import project_config, views
from tracelake.store.automations import create_automation, update_automation
from tracelake.store.catalog import AUTOMATIONS, EXPERIMENTS, PROJECTS, Catalog
from tracelake.store.store import Store

N = 8
TAGS = project_config.PROJECT_TAGS
RETENTION = {"event_type": "retention", "object_type": "project_logs", "retention_days": 30}
# PATCHes of different fields of one automation: each must be kept
PATCHES = [
    {"name": "renamed"},
    {"description": "described"},
    {"config": {"retention_days": 7}},
    {"config": {"grace_period_hours": 5}},
    {"config": {"object_type": "experiment"}},
    {"config": {"status": "paused"}},
]


def race(fn, n: int = N) -> list:
    """``fn(i)`` for i in range(n), all started at once; an exception is returned."""
    start = threading.Barrier(n)

    def go(i):
        start.wait()
        try:
            return fn(i)
        except Exception as exc:  # noqa: BLE001 - returned to the test
            return exc

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(go, range(n)))


def assert_patched(automation: dict) -> None:
    assert automation["name"] == "renamed" and automation["description"] == "described"
    config = automation["config"]
    assert (config["retention_days"], config["grace_period_hours"]) == (7, 5), config
    assert (config["object_type"], config["status"]) == ("experiment", "paused"), config


@pytest.fixture
def catalog(tmp_path):
    store = Store(tmp_path / "data")
    try:
        catalog = Catalog(store)
        yield catalog, catalog.create_org("org")["id"]
    finally:
        store.close()


@pytest.mark.parametrize("trial", range(3))
def test_concurrent_changes_of_the_catalog_are_atomic(catalog, trial):
    catalog, org = catalog
    made = race(lambda i: catalog.create_project(org, "p"))
    assert len({p["id"] for p in made}) == 1, made
    project = made[0]["id"]
    made = race(lambda i: catalog.create_dataset(org, project, "d"))
    assert len({d["id"] for d in made}) == 1, made
    made = race(lambda i: catalog.create_experiment(org, project, {"name": "e"}, True))
    assert len({e["name"] for e in made}) == N, [e["name"] for e in made]
    made = race(lambda i: catalog.create_experiment(org, project, {"name": "f"}, False))
    assert len({e["id"] for e in made}) == 1, made
    body = {"project_id": project, "name": "t"}
    made = race(lambda i: project_config.create(catalog, TAGS, org, body, replace=False, user="u"))
    assert len({t["id"] for t in made}) == 1, made
    body = {"object_type": "project", "object_id": project, "view_type": "logs", "name": "v"}
    made = race(lambda i: views.create(catalog, org, "u", body, replace=False))
    assert len({v["id"] for v in made}) == 1, made
    made = race(lambda i: create_automation(catalog, org, project, "a", None, RETENTION))
    assert len({a["id"] for a in made}) == 1, made

    # renames to one name: one wins, the others are told the name is taken
    projects = [catalog.create_project(org, f"r{i}")["id"] for i in range(N)]
    renamed = race(lambda i: catalog.update_object(PROJECTS, org, projects[i], {"name": "r"}))
    assert sum(isinstance(r, dict) for r in renamed) == 1, renamed
    assert all("already taken" in str(r) for r in renamed if isinstance(r, InvalidRequest))
    experiments = [
        catalog.create_experiment(org, project, {"name": f"x{i}"}, False) for i in range(N)
    ]
    renamed = race(
        lambda i: catalog.update_object(EXPERIMENTS, org, experiments[i]["id"], {"name": "x"})
    )
    assert sum(isinstance(r, dict) for r in renamed) == 1, renamed

    # patches of different fields of one automation: none is lost
    automation = create_automation(catalog, org, project, "b", None, RETENTION)["id"]
    race(lambda i: update_automation(catalog, org, automation, PATCHES[i]), len(PATCHES))
    assert_patched(catalog.get(AUTOMATIONS, org, automation))


def test_concurrent_patches_and_creates_over_http_are_atomic(server):
    with server.client() as client:
        project = client.post("/v1/project", json={"name": unique("races")}).json()["id"]
        body = {"project_id": project, "name": "a", "config": RETENTION}
        automation = client.post("/v1/project_automation", json=body).json()["id"]

    def patch(i):
        with server.client() as client:
            return client.patch(f"/v1/project_automation/{automation}", json=PATCHES[i])

    answers = race(patch, len(PATCHES))
    assert [a.status_code for a in answers] == [200] * len(PATCHES), [a.text for a in answers]
    with server.client() as client:
        assert_patched(client.get(f"/v1/project_automation/{automation}").json())

    def create(i):
        with server.client() as client:
            return client.post("/v1/dataset", json={"project_id": project, "name": "d"})

    made = race(create)
    assert {a.status_code for a in made} == {200}
    assert len({a.json()["id"] for a in made}) == 1


class _HeldLock:
    """The catalog's lock, telling when a thread other than its holder starts to wait."""

    def __init__(self, lock):
        self.lock = lock
        self.waiting = threading.Event()

    def acquire(self, *args, **kwargs):
        if self.lock.acquire(blocking=False):
            return True
        self.waiting.set()
        return self.lock.acquire(*args, **kwargs)

    def release(self):
        self.lock.release()

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()


# Routes whose change checks what it changes under the catalog's lock: (method, path, body),
# with {project} standing for a project's id.
_LOCKING_REQUESTS = {
    "create a project": ("POST", "/v1/project", {"name": "waits"}),
    "register a project": ("POST", "/api/project/register", {"project_name": "waits"}),
    "rename a project": ("PATCH", "/v1/project/{project}", {"name": "renamed"}),
    "create a dataset": ("POST", "/v1/dataset", {"project_id": "{project}", "name": "d"}),
    "create an experiment": ("POST", "/v1/experiment", {"project_id": "{project}", "name": "e"}),
    "create an automation": (
        "POST",
        "/v1/project_automation",
        {"project_id": "{project}", "name": "a", "config": RETENTION},
    ),
    "create a tag": ("POST", "/v1/project_tag", {"project_id": "{project}", "name": "t"}),
    "create a view": (
        "POST",
        "/v1/view",
        {"object_type": "project", "object_id": "{project}", "view_type": "logs", "name": "v"},
    ),
}


def _filled(value, project: str):
    if isinstance(value, dict):
        return {k: _filled(v, project) for k, v in value.items()}
    return value.replace("{project}", project) if isinstance(value, str) else value


@pytest.mark.parametrize("what", sorted(_LOCKING_REQUESTS))
def test_a_request_waiting_for_the_catalog_lock_holds_up_no_other(app_client, what):
    """Async routes changed the catalog on the event loop: one waiting for the catalog's
    lock (held by a slow change in a worker thread: a restore, a create) stopped the loop,
    and with it every other request of the server (``/version``, an SDK's ``/logs3``
    insert into another project) until the lock came free. The change now waits in a worker
    thread. (OTLP spans sent to a project by name took the lock on the loop each time, to
    find the project: they wait for it only to create one.)"""
    project = app_client.post("/v1/project", json={"name": unique("loop")}).json()["id"]
    other_name = unique("other")
    other = app_client.post("/v1/project", json={"name": other_name}).json()["id"]
    catalog = app_client.app.state.catalog
    held = catalog.changing = _HeldLock(catalog.changing)
    method, path, body = _LOCKING_REQUESTS[what]
    waiting_answer: list = []
    others_answered = threading.Event()
    others: list = []

    def change():
        waiting_answer.append(
            app_client.request(method, _filled(path, project), json=_filled(body, project))
        )

    def other_requests():
        others.append(app_client.get("/version").status_code)
        row = {"project_id": other, "log_id": "g", "id": "r1", "input": "still served"}
        others.append(app_client.post("/logs3", json={"rows": [row]}).status_code)
        # (an OTLP exporter naming its project by name: found, not created, takes no lock)
        spans = json.dumps(fixture("traceloop")["request"])
        headers = {"content-type": "application/json", "x-bt-parent": f"project_name:{other_name}"}
        others.append(
            app_client.post("/otel/v1/traces", content=spans, headers=headers).status_code
        )
        others_answered.set()

    changer = threading.Thread(target=change)
    helper = threading.Thread(target=other_requests)
    with held:  # a slow catalog change, holding the lock until the others are answered
        changer.start()
        held.waiting.wait(60)  # (the change waits for the lock)
        assert held.waiting.is_set(), waiting_answer
        helper.start()
        # Generous: answered at once unless the loop is stopped, for good, by the change.
        answered = others_answered.wait(60)
    changer.join()
    helper.join()
    assert answered, f"/version, /logs3 and OTLP waited for a {what!r} waiting for the lock"
    assert others == [200, 200, 200]
    assert waiting_answer[0].status_code == 200, waiting_answer[0].text
