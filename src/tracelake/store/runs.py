"""Automation state and run history: the export cursor, the schedule, leases and run records.

A run is recorded (status ``running``, with its plan) before it writes anything, and finished
in one transaction with the cursor it advances, so a crash leaves either a finished run or a
``running`` record whose plan can be executed again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tracelake.model.ids import uuid7
from tracelake.store.store import Store

RUN_COLUMNS = (
    "id",
    "automation_id",
    "seq",
    "kind",
    "trigger",
    "status",
    "started",
    "finished",
    "plan",
    "cursor_from",
    "cursor_to",
    "rows",
    "bytes",
    "files",
    "backlog",
    "error",
    "purge_after",
    "purged_at",
    "restored_at",
    "resumes",
    "note",
)
_JSON_COLUMNS = ("plan", "files")
# Runs kept per automation: older finished runs are dropped when a run ends (a failing export
# adds one a minute), except those still needed: a retention run whose rows are in the trash
# (restore and purge go through it; one that moved nothing holds nothing) and an export's
# newest planned run (a retry reuses it).
KEEP_RUNS = 1000
# An export run that has a plan (one that failed before it could plan records ``{}``).
_PLANNED = "kind = 'export' AND plan IS NOT NULL AND plan::VARCHAR <> '{}'"
_TIME_COLUMNS = ("started", "finished", "purge_after", "purged_at", "restored_at")


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class AutomationState:
    automation_id: str
    cursor_xact: int
    next_run_at: datetime | None
    registered_at: datetime | None
    lease_owner: str | None
    lease_expires: datetime | None


def _ensure_state(cursor, automation_id: str) -> None:
    cursor.execute(
        "INSERT INTO automation_state (automation_id) VALUES (?) ON CONFLICT DO NOTHING",
        [automation_id],
    )


def get_state(store: Store, automation_id: str) -> AutomationState:
    def read(c):
        row = c.execute(
            """SELECT automation_id, cursor_xact, next_run_at, registered_at, lease_owner,
                      lease_expires FROM automation_state WHERE automation_id = ?""",
            [automation_id],
        ).fetchone()
        return row

    row = store.read(read)
    if row is None:
        return AutomationState(automation_id, 0, None, None, None, None)
    return AutomationState(row[0], int(row[1]), *row[2:])


def register(store: Store, automation_id: str, next_run_at: datetime | None) -> AutomationState:
    """Mark the automation's schedule as registered; keep an earlier next run time."""

    def write(c):
        _ensure_state(c, automation_id)
        c.execute(
            """UPDATE automation_state SET registered_at = coalesce(registered_at, ?),
                   next_run_at = coalesce(next_run_at, ?) WHERE automation_id = ?""",
            [now(), next_run_at, automation_id],
        )

    store.transact(write)
    return get_state(store, automation_id)


def set_next_run(store: Store, automation_id: str, when: datetime | None) -> None:
    def write(c):
        _ensure_state(c, automation_id)
        c.execute(
            "UPDATE automation_state SET next_run_at = ? WHERE automation_id = ?",
            [when, automation_id],
        )

    store.transact(write)


def run_by(store: Store, automation_id: str, when: datetime) -> None:
    """Bring the next run forward to ``when`` if it is later (an interval made shorter)."""
    store.transact(
        lambda c: c.execute(
            """UPDATE automation_state SET next_run_at = ?
               WHERE automation_id = ? AND next_run_at > ?""",
            [when, automation_id, when],
        )
    )


def regrace(store: Store, automation_id: str, hours: float) -> None:
    """A retention policy's new grace period applies to what its runs left in the trash: each
    is purged ``hours`` after its run ended (at the next pass if that time has passed)."""
    store.transact(
        lambda c: c.execute(
            """UPDATE automation_runs SET purge_after = finished + to_microseconds(?)
               WHERE automation_id = ? AND kind = 'retention' AND status = 'succeeded'
                 AND purged_at IS NULL AND restored_at IS NULL AND finished IS NOT NULL""",
            [round(hours * 3_600_000_000), automation_id],
        )
    )


def due_automations(store: Store, at: datetime) -> list[str]:
    """Ids of active automations whose next run time has come (or that never ran). Those of
    a deleted project are gone with it: they never run, and were due (first) at every tick."""
    rows = store.read(
        lambda c: c.execute(
            """SELECT a.id FROM automations a
               LEFT JOIN automation_state s ON s.automation_id = a.id
               WHERE a.deleted_at IS NULL
                 AND a.project_id IN (SELECT id FROM projects WHERE deleted_at IS NULL)
                 AND coalesce(a.config->>'status', 'active') = 'active'
                 AND (s.next_run_at IS NULL OR s.next_run_at <= ?)
               ORDER BY coalesce(s.next_run_at, a.created)""",
            [at],
        ).fetchall()
    )
    return [r[0] for r in rows]


# -- leases ---------------------------------------------------------------------------------


def take_lease(store: Store, automation_id: str, owner: str, ttl: float) -> bool:
    """Take the automation's lease unless another owner holds an unexpired one."""

    def write(c):
        _ensure_state(c, automation_id)
        t = now()
        c.execute(
            """UPDATE automation_state SET lease_owner = ?, lease_expires = ?
               WHERE automation_id = ?
                 AND (lease_owner IS NULL OR lease_owner = ? OR lease_expires < ?)""",
            [owner, t + timedelta(seconds=ttl), automation_id, owner, t],
        )
        row = c.execute(
            "SELECT lease_owner FROM automation_state WHERE automation_id = ?", [automation_id]
        ).fetchone()
        return row is not None and row[0] == owner

    return store.transact(write)


def renew_lease(store: Store, automation_id: str, owner: str, ttl: float) -> None:
    store.transact(
        lambda c: c.execute(
            """UPDATE automation_state SET lease_expires = ?
               WHERE automation_id = ? AND lease_owner = ?""",
            [now() + timedelta(seconds=ttl), automation_id, owner],
        )
    )


def release_lease(store: Store, automation_id: str, owner: str) -> None:
    store.transact(
        lambda c: c.execute(
            """UPDATE automation_state SET lease_owner = NULL, lease_expires = NULL
               WHERE automation_id = ? AND lease_owner = ?""",
            [automation_id, owner],
        )
    )


def release_stale_leases(store: Store, owner: str) -> None:
    """Drop leases of other owners: only one process can open the data dir, so a lease held
    by anyone else when we start belongs to a process that is gone."""
    store.transact(
        lambda c: c.execute(
            """UPDATE automation_state SET lease_owner = NULL, lease_expires = NULL
               WHERE lease_owner IS NOT NULL AND lease_owner <> ?""",
            [owner],
        )
    )


# -- runs -----------------------------------------------------------------------------------


def start_run(
    store: Store,
    automation_id: str,
    kind: str,
    trigger: str,
    plan: dict,
    resumes: int | None = None,
) -> dict:
    """Record a run and its plan durably, before the run writes anything. ``resumes``: the
    seq of the run a crash interrupted that this one finishes."""

    def write(c):
        seq = c.execute(
            "SELECT coalesce(max(seq), 0) + 1 FROM automation_runs WHERE automation_id = ?",
            [automation_id],
        ).fetchone()[0]
        run_id = uuid7()
        c.execute(
            """INSERT INTO automation_runs (id, automation_id, seq, kind, trigger, status,
                   started, plan, cursor_from, cursor_to, resumes)
               VALUES (?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?)""",
            [
                run_id,
                automation_id,
                seq,
                kind,
                trigger,
                now(),
                json.dumps(plan),
                plan.get("cursor_from"),
                plan.get("cursor_to"),
                resumes,
            ],
        )
        return run_id

    return get_run(store, store.transact(write))


def finish_run(
    store: Store,
    run_id: str,
    *,
    status: str,
    rows: int = 0,
    bytes_: int = 0,
    files: list[str] | None = None,
    backlog: int | None = None,
    error: str | None = None,
    note: str | None = None,
    advance_cursor: int | None = None,
    purge_after: datetime | None = None,
    next_run_at: datetime | None = None,
) -> dict:
    """Close a run; an export's cursor advances in the same transaction."""

    def write(c):
        c.execute(
            """UPDATE automation_runs SET status = ?, finished = ?, rows = ?, bytes = ?,
                   files = ?, backlog = ?, error = ?, note = ?, purge_after = ?
               WHERE id = ?""",
            [
                status,
                now(),
                rows,
                bytes_,
                json.dumps(files or []),
                backlog,
                error,
                note,
                purge_after,
                run_id,
            ],
        )
        automation_id = c.execute(
            "SELECT automation_id FROM automation_runs WHERE id = ?", [run_id]
        ).fetchone()[0]
        _ensure_state(c, automation_id)
        if advance_cursor is not None:
            c.execute(
                "UPDATE automation_state SET cursor_xact = ? WHERE automation_id = ?",
                [advance_cursor, automation_id],
            )
        if next_run_at is not None:
            c.execute(
                "UPDATE automation_state SET next_run_at = ? WHERE automation_id = ?",
                [next_run_at, automation_id],
            )
        _prune(c, automation_id)

    store.transact(write)
    return get_run(store, run_id)


def _prune(cursor, automation_id: str) -> None:
    """Drop finished runs older than the newest KEEP_RUNS, but not those still needed."""
    cursor.execute(
        f"""DELETE FROM automation_runs WHERE automation_id = ? AND status <> 'running'
              AND seq <= (SELECT max(seq) FROM automation_runs WHERE automation_id = ?) - ?
              AND NOT (kind = 'retention' AND status = 'succeeded' AND purged_at IS NULL
                       AND restored_at IS NULL AND coalesce(rows, 1) > 0)
              AND id IS DISTINCT FROM (
                  SELECT id FROM automation_runs WHERE automation_id = ? AND {_PLANNED}
                  ORDER BY seq DESC LIMIT 1)""",
        [automation_id, automation_id, KEEP_RUNS, automation_id],
    )


def mark_run(store: Store, run_id: str, **changes: Any) -> None:
    """Set status-like fields of a finished run (restored_at, purged_at, status)."""
    names = list(changes)
    sets = ", ".join(f"{n} = ?" for n in names)
    store.transact(
        lambda c: c.execute(
            f"UPDATE automation_runs SET {sets} WHERE id = ?", [*changes.values(), run_id]
        )
    )


def record_files(store: Store, run_id: str, count: int) -> None:
    """Record in a running export's plan that it may have written files 1..``count`` (before
    the last one is uploaded), so that a later attempt deletes them all by name."""
    store.transact(
        lambda c: c.execute(
            "UPDATE automation_runs SET plan = json_merge_patch(plan, ?) WHERE id = ?",
            [json.dumps({"files_started": count}), run_id],
        )
    )


def get_run(store: Store, run_id: str) -> dict | None:
    rows = _select_runs(store, "id = ?", [run_id])
    return rows[0] if rows else None


def list_runs(store: Store, automation_id: str, limit: int = 100) -> list[dict]:
    """Runs of an automation, newest first."""
    return _select_runs(store, "automation_id = ?", [automation_id], limit=limit)


def newest_planned_run(store: Store, automation_id: str) -> dict | None:
    """An export's newest run that has a plan, however many runs came after it (runs that
    failed before they could plan have none)."""
    rows = _select_runs(store, f"automation_id = ? AND {_PLANNED}", [automation_id], limit=1)
    return rows[0] if rows else None


def unfinished_runs(store: Store, automation_id: str) -> list[dict]:
    return _select_runs(store, "automation_id = ? AND status = 'running'", [automation_id])


def purgeable_runs(store: Store, at: datetime) -> list[dict]:
    """Retention runs whose grace period is over and whose rows are still in the trash."""
    return _select_runs(
        store,
        """kind = 'retention' AND status = 'succeeded' AND purged_at IS NULL
           AND restored_at IS NULL AND purge_after <= ?""",
        [at],
        limit=1000,
    )


def restorable_runs(store: Store, automation_id: str) -> list[dict]:
    """An automation's retention runs whose soft-deleted data is still in the trash, newest
    first, however many runs came after them (an hourly policy with a long grace period
    makes thousands)."""
    return _select_runs(
        store,
        """automation_id = ? AND kind = 'retention' AND status = 'succeeded'
           AND purged_at IS NULL AND restored_at IS NULL""",
        [automation_id],
        limit=None,
    )


def delete_runs(store: Store, automation_id: str) -> None:
    """Reset: forget the history and the cursor (the next run starts from the beginning)."""

    def write(c):
        c.execute("DELETE FROM automation_runs WHERE automation_id = ?", [automation_id])
        _ensure_state(c, automation_id)
        c.execute(
            "UPDATE automation_state SET cursor_xact = 0, next_run_at = NULL "
            "WHERE automation_id = ?",
            [automation_id],
        )

    store.transact(write)


def _select_runs(store: Store, where: str, params: list, limit: int | None = 100) -> list[dict]:
    cols = ", ".join(RUN_COLUMNS)
    limited = f" LIMIT {int(limit)}" if limit is not None else ""

    def read(c):
        return c.execute(
            f"SELECT {cols} FROM automation_runs WHERE {where} ORDER BY seq DESC{limited}",
            params,
        ).fetchall()

    return [_run_record(row) for row in store.read(read)]


def _run_record(row) -> dict:
    record = dict(zip(RUN_COLUMNS, row, strict=True))
    for name in _JSON_COLUMNS:
        if record[name] is not None:
            record[name] = json.loads(record[name])
    for name in _TIME_COLUMNS:
        if record[name] is not None:
            record[name] = record[name].astimezone(UTC)
    return record
