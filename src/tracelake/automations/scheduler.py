"""The scheduler: runs due automations inside the server process.

Every ``tick_seconds`` (and whenever a run ends) it purges retention runs whose grace period is
over, then starts each active automation whose next run time has come on a thread of its own,
at most ``max_runs`` at once: a run that hangs (an S3 endpoint that never answers) holds one
slot, not the others' schedule. Due automations left over when every slot is taken start as
runs end. A run holds the automation's lease (a row in the catalog, renewed while the run makes
progress) and, within the process, its claim (taken under a lock with the lease, since every
run of the process has the same lease owner), so scheduled and manual runs never execute one
automation at the same time. Next run times are stored, so a restart keeps the schedule; an
automation whose time passed while the server was down is due at once and runs once. A run
interrupted by a crash is executed again from its recorded plan at the first pass (also while
the automation is paused: it had started), as a run of the same trigger that names the run it
resumes.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from datetime import timedelta

from tracelake.automations import exports, retention
from tracelake.automations.exports import ExportContext
from tracelake.errors import Conflict, InvalidRequest
from tracelake.store import runs
from tracelake.store.catalog import AUTOMATIONS

log = logging.getLogger(__name__)

LEASE_SECONDS = 120
RETRY_SECONDS = 60  # a failed export is retried this long after the failure
RETENTION_INTERVAL = 3600  # retention policies are applied hourly
MAX_RUNS = 4  # scheduled runs at once (manual runs are not counted)
STOP_SECONDS = 30  # how long stopping waits for the loop and the runs in flight, in all
# An export run that wrote no file never reached its storage: a broken destination (a wrong
# bucket or key) fails only the first run with rows, so the history says what was not done.
NO_NEW_ROWS = "no new rows: nothing was written, so the storage was not checked (test checks it)"


class Scheduler:
    def __init__(self, ctx: ExportContext, *, tick_seconds: float = 5, max_runs: int = MAX_RUNS):
        self.ctx = ctx
        self.tick_seconds = tick_seconds
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        # Automations whose run a crash interrupted, with that run's trigger.
        self._resume: dict[str, str] = {}
        self._claims_lock = threading.Lock()
        self._claimed: set[str] = set()  # automations a thread of this process is running
        self._slots = threading.BoundedSemaphore(max(1, max_runs))
        self._runners: dict[str, threading.Thread] = {}  # scheduled runs in flight (claims lock)

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        runs.release_stale_leases(self.ctx.store, self.owner)
        self._recover_interrupted()
        if self.tick_seconds > 0:
            self._thread = threading.Thread(target=self._loop, name="tracelake-scheduler")
            self._thread.daemon = True
            self._thread.start()

    def stop(self) -> None:
        """Start nothing more, and wait up to STOP_SECONDS in all for the loop and the
        scheduled runs in flight (a run that hangs is left to its daemon thread)."""
        self._stop.set()
        self._wake.set()
        deadline = time.monotonic() + STOP_SECONDS
        if self._thread is not None:
            self._thread.join(timeout=STOP_SECONDS)
        with self._claims_lock:
            runners = list(self._runners.values())
        for runner in runners:
            runner.join(timeout=max(0.0, deadline - time.monotonic()))

    def wake(self) -> None:
        """Check for due work now instead of at the next tick."""
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._dispatch()
            except Exception:
                log.exception("scheduler tick failed")
            self._wake.wait(self.tick_seconds)  # a run that ends wakes the loop
            self._wake.clear()

    def _dispatch(self) -> None:
        """Purge what is due, then start due automations while slots are free; the rest
        start as runs end (each end wakes the loop)."""
        if not self._purge():
            return
        for automation_id in self._due():
            if self._stop.is_set() or not self._slots.acquire(blocking=False):
                return  # stopping, or every slot is taken
            self._start(automation_id)

    def tick(self) -> list[dict]:
        """One pass now (``POST /automation/cron``): purge what is due, run every due
        automation (at most ``max_runs`` at once, each on a thread of its own, skipping those
        already running) and wait for those runs. Returns the runs made, in due order."""
        if not self._purge():
            return []
        started: list[Future] = []
        for automation_id in self._due():
            if not self._wait_for_slot():
                break  # stopping
            future = self._start(automation_id)
            if future is not None:
                started.append(future)
        made = []
        for future in started:
            try:
                run = future.result()
            except Exception:
                continue  # logged by the run's thread
            if run:
                made.append(run)
        if any(r.get("backlog") for r in made) and not self._stop.is_set():
            self._wake.set()  # catch up without waiting a whole tick
        return made

    def _wait_for_slot(self) -> bool:
        """Take a slot, waiting for a run to end if need be; False once stopping."""
        while not self._slots.acquire(timeout=0.5):
            if self._stop.is_set():
                return False
        if self._stop.is_set():
            self._slots.release()
            return False
        return True

    def _purge(self) -> bool:
        """Purge retention runs whose grace period is over; False once stopping."""
        store = self.ctx.store
        for run in runs.purgeable_runs(store, runs.now()):
            if self._stop.is_set():
                return False
            retention.purge(store, run)
        return not self._stop.is_set()

    def _due(self) -> list[str]:
        """Automations to run: those a crash interrupted first, then the due ones (oldest
        next run time first), without those a thread of this process is running."""
        due = runs.due_automations(self.ctx.store, runs.now())
        with self._claims_lock:
            resume = sorted(self._resume)
            busy = set(self._claimed)
        order = [*resume, *(a for a in due if a not in resume)]
        return [a for a in order if a not in busy]

    def _start(self, automation_id: str) -> Future | None:
        """Start a scheduled run of the automation on a thread of its own, in a slot the
        caller took (given back when the run ends) and under the automation's claim; the
        future gets the run record. None, and the slot back, when there is nothing to start:
        the automation is gone or a run of it is in progress."""
        try:
            automation = self.ctx.catalog.find(AUTOMATIONS, automation_id)
            if automation is not None:
                self._claim(automation_id)
        except Conflict:  # someone else is running it
            automation = None
        except BaseException:
            self._slots.release()
            raise
        if automation is None:
            with self._claims_lock:
                self._resume.pop(automation_id, None)
            self._slots.release()
            return None
        future: Future = Future()
        with self._claims_lock:  # an interrupted run is run again as what it was
            trigger = self._resume.pop(automation_id, "schedule")

        def body():
            run, error = None, None
            try:
                run = self._run_held(automation, trigger)
            except Exception as exc:
                log.exception("automation %s failed", automation_id)
                error = exc
            finally:
                try:
                    self._unclaim(automation_id)
                except Exception:
                    log.exception("automation %s: its lease was not released", automation_id)
                finally:
                    with self._claims_lock:
                        self._runners.pop(automation_id, None)
                    self._slots.release()
                    self._wake.set()  # start what waits for a slot, and catch up at once
                    # Answered once the claim is released: a pass right after sees it free.
                    if error is None:
                        future.set_result(run)
                    else:
                        future.set_exception(error)

        runner = threading.Thread(target=body, name=f"tracelake-run-{automation_id}")
        runner.daemon = True
        with self._claims_lock:
            self._runners[automation_id] = runner
        try:
            runner.start()
        except BaseException:  # no thread: give back what the run would have
            with self._claims_lock:
                self._runners.pop(automation_id, None)
            self._unclaim(automation_id)
            self._slots.release()
            raise
        return future

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
        with self._claims_lock:
            # Any run of it finishes an interrupted run (its plan is reused): run once right
            # after a start left it due, and the next pass ran the export again.
            self._resume.pop(automation["id"], None)
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
        resumes = _close_unfinished(store, automation["id"])
        run = runs.start_run(store, automation["id"], "export", trigger, plan, resumes)
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
            # No backlog: the run exported nothing, and its window is retried (a backlog is
            # what a run that stopped at max_rows left; the UI shows "max rows reached").
            return runs.finish_run(
                store,
                run["id"],
                status="failed",
                error=exports.describe_failure(exc),
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
            note=None if outcome.files else NO_NEW_ROWS,
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
        resumes = _close_unfinished(store, automation["id"])
        run = runs.start_run(store, automation["id"], "retention", trigger, plan, resumes)
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
        at the first tick, with the trigger they had (a paused export's "run once" too: the
        user asked for that run, and pausing stops the schedule, not a run that started); a
        retention whose move committed is finished, otherwise failed."""
        store = self.ctx.store
        interrupted = store.read(
            lambda c: c.execute(
                """SELECT id, automation_id, kind, trigger FROM automation_runs
                   WHERE status = 'running' ORDER BY seq"""
            ).fetchall()
        )
        for run_id, automation_id, kind, trigger in interrupted:
            if kind == "retention":
                _finish_interrupted_retention(store, run_id)
            else:
                self._resume[automation_id] = trigger


def _close_unfinished(store, automation_id: str) -> int | None:
    """A new attempt supersedes one that never finished; answers the seq of the newest one
    (the run the new attempt resumes), or None."""
    unfinished = runs.unfinished_runs(store, automation_id)
    for run in unfinished:
        runs.mark_run(
            store,
            run["id"],
            status="failed",
            finished=runs.now(),
            error="interrupted: the server stopped during the run (it was run again)",
        )
    return max((run["seq"] for run in unfinished), default=None)


def _finish_interrupted_retention(store, run_id: str) -> None:
    """A retention run a crash interrupted: succeeded (restorable, purged after the grace
    period) if its move committed, which moves rows to the trash or, for experiments,
    records them in the run's plan; failed otherwise."""
    run = runs.get_run(store, run_id)
    moved = store.read(
        lambda c: c.execute(
            "SELECT count(DISTINCT id) FROM trash_history WHERE run_id = ?", [run_id]
        ).fetchone()[0]
    ) + len((run["plan"] or {}).get("experiments") or [])
    if not moved:
        runs.mark_run(
            store,
            run_id,
            status="failed",
            finished=runs.now(),
            error="interrupted: the server stopped during the run (nothing was deleted)",
        )
    else:
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
