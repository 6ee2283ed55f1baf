"""The scheduler: runs due automations inside the server process.

Every ``tick_seconds`` it purges retention runs whose grace period is over, then runs each
active automation whose next run time has come. A run holds the automation's lease (a row in
the catalog, renewed while the run makes progress) and, within the process, its claim (taken
under a lock with the lease, since every run of the process has the same lease owner), so
scheduled and manual runs never execute one automation at the same time. Next run times are
stored, so a restart keeps the schedule; an automation whose time passed while the server was
down is due at once and runs once. A run interrupted by a crash is executed again from its
recorded plan.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from tracelake.automations import exports, retention
from tracelake.automations.exports import ExportContext
from tracelake.errors import Conflict, InvalidRequest
from tracelake.store import runs
from tracelake.store.catalog import AUTOMATIONS

log = logging.getLogger(__name__)

LEASE_SECONDS = 120
RETRY_SECONDS = 60  # a failed export is retried this long after the failure
RETENTION_INTERVAL = 3600  # retention policies are applied hourly


class Scheduler:
    def __init__(self, ctx: ExportContext, *, tick_seconds: float = 5):
        self.ctx = ctx
        self.tick_seconds = tick_seconds
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._resume: set[str] = set()  # automations whose run a crash interrupted
        self._claims_lock = threading.Lock()
        self._claimed: set[str] = set()  # automations a thread of this process is running

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        runs.release_stale_leases(self.ctx.store, self.owner)
        self._recover_interrupted()
        if self.tick_seconds > 0:
            self._thread = threading.Thread(target=self._loop, name="tracelake-scheduler")
            self._thread.daemon = True
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def wake(self) -> None:
        """Check for due work now instead of at the next tick."""
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:
                log.exception("scheduler tick failed")
            self._wake.wait(self.tick_seconds)
            self._wake.clear()

    def tick(self) -> list[dict]:
        """Purge what is due, then run every due automation (catching up at once while a
        run leaves a backlog). Returns the runs made."""
        store = self.ctx.store
        for run in runs.purgeable_runs(store, runs.now()):
            if self._stop.is_set():
                return []
            retention.purge(store, run)
        made = []
        due = runs.due_automations(store, runs.now())
        resume, self._resume = self._resume, set()
        for automation_id in [*sorted(resume), *(a for a in due if a not in resume)]:
            if self._stop.is_set():
                break
            try:
                made.append(self.run(automation_id, trigger="schedule"))
            except Conflict:
                continue  # someone else is running it
            except Exception:
                log.exception("automation %s failed", automation_id)
        if any(r and r.get("backlog") for r in made) and not self._stop.is_set():
            self._wake.set()  # catch up without waiting a whole tick
        return made

    # -- one run ----------------------------------------------------------------------------

    def run(self, automation_id: str, trigger: str = "manual") -> dict | None:
        """Run one automation now under its lease; returns the run record. Conflict when a
        run of it is in progress."""
        automation = self.ctx.catalog.find(AUTOMATIONS, automation_id)
        if automation is None:
            return None
        with self.holding(automation_id):
            return self._run_held(automation, trigger)

    def run_in_background(self, automation_id: str, trigger: str = "manual") -> None:
        """Take the automation's lease now (Conflict when a run is in progress), then run it
        on a thread of its own."""
        automation = self.ctx.catalog.find(AUTOMATIONS, automation_id)
        if automation is None:
            return
        self._claim(automation_id)

        def body():
            try:
                self._run_held(automation, trigger)
            except Exception:
                log.exception("automation %s failed", automation_id)
            finally:
                self._unclaim(automation_id)

        threading.Thread(target=body, name=f"tracelake-run-{automation_id}", daemon=True).start()

    @contextmanager
    def holding(self, automation_id: str) -> Iterator[None]:
        """The automation's lease for the block: no run of it starts meanwhile. Conflict
        when a run is in progress."""
        self._claim(automation_id)
        try:
            yield
        finally:
            self._unclaim(automation_id)

    def _claim(self, automation_id: str) -> None:
        with self._claims_lock:
            if automation_id in self._claimed or not runs.take_lease(
                self.ctx.store, automation_id, self.owner, LEASE_SECONDS
            ):
                raise Conflict("a run of this automation is in progress; try again when it ends")
            self._claimed.add(automation_id)

    def _unclaim(self, automation_id: str) -> None:
        try:
            runs.release_lease(self.ctx.store, automation_id, self.owner)
        finally:
            with self._claims_lock:
                self._claimed.discard(automation_id)

    def _run_held(self, automation: dict, trigger: str) -> dict:
        if automation["config"]["event_type"] == "btql_export":
            return self._run_export(automation, trigger)
        return self._run_retention(automation, trigger)

    def _renewer(self, automation_id: str):
        last = [runs.now()]

        def renew():
            if runs.now() - last[0] > timedelta(seconds=LEASE_SECONDS / 4):
                runs.renew_lease(self.ctx.store, automation_id, self.owner, LEASE_SECONDS)
                last[0] = runs.now()

        return renew

    def _run_export(self, automation: dict, trigger: str) -> dict:
        store = self.ctx.store
        at = runs.now()
        interval = timedelta(seconds=automation["config"]["interval_seconds"])
        retry = min(interval, timedelta(seconds=RETRY_SECONDS))
        try:
            plan = exports.plan_export(self.ctx, automation, at)
        except Exception as exc:  # storage unreachable, or the query no longer plans
            if not isinstance(exc, InvalidRequest):
                log.exception("export %s could not be planned", automation["id"])
            run = runs.start_run(store, automation["id"], "export", trigger, {})
            return runs.finish_run(
                store,
                run["id"],
                status="failed",
                error=exports.describe_failure(exc),
                next_run_at=runs.now() + retry,
            )
        _close_unfinished(store, automation["id"])
        run = runs.start_run(store, automation["id"], "export", trigger, plan)
        ctx = ExportContext(
            store,
            self.ctx.catalog,
            self.ctx.index,
            self.ctx.query_timeout,
            on_progress=self._renewer(automation["id"]),
        )
        try:
            outcome = exports.execute_export(ctx, automation, plan, run["id"])
        except Exception as exc:
            if not isinstance(exc, InvalidRequest):
                log.exception("export %s failed", automation["id"])
            return runs.finish_run(
                store,
                run["id"],
                status="failed",
                error=exports.describe_failure(exc),
                backlog=plan["backlog"],
                next_run_at=runs.now() + retry,
            )
        backlog = plan["backlog"]
        return runs.finish_run(
            store,
            run["id"],
            status="succeeded",
            rows=outcome.rows,
            bytes_=outcome.bytes,
            files=outcome.files,
            backlog=backlog,
            advance_cursor=plan["cursor_to"],
            # A run that stopped at the cap is followed at once: catch-up never waits.
            next_run_at=runs.now() if backlog else at + interval,
        )

    def _run_retention(self, automation: dict, trigger: str) -> dict:
        store = self.ctx.store
        at = runs.now()
        config = automation["config"]
        cutoff = at - timedelta(days=config["retention_days"])
        plan = {"object_type": config["object_type"], "cutoff": cutoff.isoformat()}
        _close_unfinished(store, automation["id"])
        run = runs.start_run(store, automation["id"], "retention", trigger, plan)
        try:
            moved = retention.soft_delete(store, automation, run["id"], at)
        except Exception as exc:
            log.exception("retention %s failed", automation["id"])
            return runs.finish_run(
                store,
                run["id"],
                status="failed",
                error=exports.describe_failure(exc),
                next_run_at=runs.now() + timedelta(seconds=RETRY_SECONDS),
            )
        grace = timedelta(hours=config["grace_period_hours"])
        return runs.finish_run(
            store,
            run["id"],
            status="succeeded",
            rows=moved["rows"] + len(moved["experiments"]),
            purge_after=runs.now() + grace,
            next_run_at=at + timedelta(seconds=RETENTION_INTERVAL),
        )

    def _recover_interrupted(self) -> None:
        """Runs left ``running`` by a process that died: exports run again from their plan
        at the first tick (even if paused since: the run had started); a retention whose
        move committed is finished, otherwise failed."""
        store = self.ctx.store
        interrupted = store.read(
            lambda c: c.execute(
                "SELECT id, automation_id, kind FROM automation_runs WHERE status = 'running'"
            ).fetchall()
        )
        for run_id, automation_id, kind in interrupted:
            if kind == "retention":
                _finish_interrupted_retention(store, run_id)
            else:
                self._resume.add(automation_id)


def _close_unfinished(store, automation_id: str) -> None:
    """A new attempt supersedes one that never finished."""
    for run in runs.unfinished_runs(store, automation_id):
        runs.mark_run(
            store,
            run["id"],
            status="failed",
            finished=runs.now(),
            error="interrupted: the server stopped during the run (it was run again)",
        )


def _finish_interrupted_retention(store, run_id: str) -> None:
    moved = store.read(
        lambda c: c.execute(
            "SELECT count(DISTINCT id) FROM trash_history WHERE run_id = ?", [run_id]
        ).fetchone()[0]
    )
    if moved:
        run = runs.get_run(store, run_id)
        automation = store.read(
            lambda c: c.execute(
                "SELECT config->>'grace_period_hours' FROM automations WHERE id = ?",
                [run["automation_id"]],
            ).fetchone()
        )
        grace = float(automation[0]) if automation and automation[0] else 24.0
        runs.mark_run(
            store,
            run_id,
            status="succeeded",
            finished=runs.now(),
            rows=moved,
            purge_after=runs.now() + timedelta(hours=grace),
        )


def next_run_time(automation: dict, state, at: datetime) -> datetime | None:
    """When the automation runs next (None while paused)."""
    config = automation["config"]
    if config.get("status", "active") != "active":
        return None
    return state.next_run_at or at
