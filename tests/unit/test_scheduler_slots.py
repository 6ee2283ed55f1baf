"""The scheduler's loop runs due automations on threads of their own, at most ``max_runs`` at
once, never two runs of one automation, and starts what is left as runs end; stopping waits a
bounded time for a run that hangs. The store is stubbed: runs block until the test lets them
end (the integration test with a real server and S3 is in test_automation_bugs)."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest

from tracelake.automations import scheduler as scheduler_module
from tracelake.automations.scheduler import Scheduler


class _Catalog:
    def find(self, kind, automation_id):
        return {"id": automation_id, "config": {"event_type": "btql_export"}}


class _BlockingScheduler(Scheduler):
    """Runs that block until released; an automation stays due until its run ends."""

    def __init__(self, due: list[str], **kwargs):
        super().__init__(SimpleNamespace(store=None, catalog=_Catalog()), **kwargs)
        self.due = list(due)
        self.release = {a: threading.Event() for a in due}
        self.lock = threading.Lock()
        self.started: list[str] = []
        self.active = 0
        self.most_active = 0

    def _recover_interrupted(self) -> None:
        pass

    def _run_held(self, automation: dict, trigger: str) -> dict:
        automation_id = automation["id"]
        with self.lock:
            self.started.append(automation_id)
            self.active += 1
            self.most_active = max(self.most_active, self.active)
        self.release[automation_id].wait(30)
        with self.lock:
            self.active -= 1
            self.due.remove(automation_id)
        return {"id": automation_id, "backlog": 0}


@pytest.fixture
def stub_store(monkeypatch):
    holder: dict = {}
    runs = scheduler_module.runs
    monkeypatch.setattr(runs, "release_stale_leases", lambda store, owner: None)
    monkeypatch.setattr(runs, "purgeable_runs", lambda store, at: [])
    monkeypatch.setattr(runs, "take_lease", lambda store, a, owner, ttl: True)
    monkeypatch.setattr(runs, "release_lease", lambda store, a, owner: None)
    monkeypatch.setattr(runs, "due_automations", lambda store, at: list(holder["scheduler"].due))
    return holder


def wait_until(condition, seconds: float = 5) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def test_at_most_max_runs_at_once_and_the_rest_start_as_runs_end(stub_store):
    scheduler = _BlockingScheduler(["a", "b", "c", "d", "e"], tick_seconds=0.05, max_runs=2)
    stub_store["scheduler"] = scheduler
    scheduler.start()
    try:
        assert wait_until(lambda: scheduler.started == ["a", "b"])
        time.sleep(0.3)  # several ticks with both slots taken: nothing more starts
        assert scheduler.started == ["a", "b"]
        scheduler.release["b"].set()  # a slot frees: the next due one starts at once
        assert wait_until(lambda: scheduler.started == ["a", "b", "c"], seconds=1)
        time.sleep(0.2)
        assert scheduler.started == ["a", "b", "c"]
        for event in scheduler.release.values():
            event.set()
        assert wait_until(lambda: not scheduler.due)
        assert sorted(scheduler.started) == ["a", "b", "c", "d", "e"]  # each once
        assert scheduler.most_active == 2
    finally:
        for event in scheduler.release.values():
            event.set()
        scheduler.stop()


def test_stopping_waits_a_bounded_time_for_a_run_that_hangs(stub_store, monkeypatch):
    monkeypatch.setattr(scheduler_module, "STOP_SECONDS", 0.5)
    scheduler = _BlockingScheduler(["hung", "ok"], tick_seconds=0.05)
    stub_store["scheduler"] = scheduler
    scheduler.start()
    try:
        assert wait_until(lambda: sorted(scheduler.started) == ["hung", "ok"])
        scheduler.release["ok"].set()
        assert wait_until(lambda: scheduler.due == ["hung"])
        started = time.monotonic()
        scheduler.stop()
        assert time.monotonic() - started < 2
    finally:
        scheduler.release["hung"].set()
