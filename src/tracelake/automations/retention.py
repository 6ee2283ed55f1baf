"""Retention runs: soft delete what is past the window, restore, and purge after the grace
period.

- ``project_logs`` and ``dataset``: rows whose ``created`` is older than ``retention_days``
  move to the trash (every read stops seeing them in that one transaction).
- ``experiment``: whole experiments whose own ``created`` is older are soft deleted in the
  catalog (they vanish from lists, fetches, queries and exports) and their events are
  deleted at the purge.
A run records what it moved, so ``restore`` can bring back exactly that before the purge.
"""

from __future__ import annotations

import json
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime, timedelta

from tracelake.store import retention, runs
from tracelake.store.store import Store


def soft_delete(store: Store, automation: dict, run_id: str, at: datetime) -> dict:
    """Move what is past the window to the trash; returns counts for the run record."""
    config = automation["config"]
    cutoff = at - timedelta(days=config["retention_days"])
    project_id = automation["project_id"]
    object_type = config["object_type"]

    if object_type == "experiment":

        def work(c):
            ids = [
                r[0]
                for r in c.execute(
                    """SELECT id FROM experiments WHERE project_id = ? AND deleted_at IS NULL
                       AND created < ?""",
                    [project_id, cutoff],
                ).fetchall()
            ]
            if ids:
                c.execute(
                    "UPDATE experiments SET deleted_at = ? WHERE id IN (SELECT unnest(?))",
                    [at, ids],
                )
                # Recorded with the delete, so a restore finds them even after a crash.
                c.execute(
                    """UPDATE automation_runs SET plan = json_merge_patch(plan, ?)
                       WHERE id = ?""",
                    [json.dumps({"experiments": ids}), run_id],
                )
            return {"rows": 0, "experiments": ids}

    else:

        def work(c):
            if object_type == "project_logs":
                ids = [project_id]
            else:
                ids = [
                    r[0]
                    for r in c.execute(
                        "SELECT id FROM datasets WHERE project_id = ? AND deleted_at IS NULL",
                        [project_id],
                    ).fetchall()
                ]
            moved = retention.trash_rows(c, run_id, object_type, ids, cutoff)
            return {"rows": moved, "experiments": []}

    return store.exclusive(work)


def restore(store: Store, run: dict, *, changing: AbstractContextManager) -> int | None:
    """Bring back what a run soft-deleted; None if it was purged or restored meanwhile (the
    check and the run's new status are in the restore's transaction, so a purge of the
    same run, on the same writer thread, comes wholly before or after it).

    ``changing`` is the catalog's lock of changes that check a name before they write
    (``Catalog.changing``): a run that hid experiments holds it from the check of their
    names to the commit, as a create does, so an experiment created (or restored) meanwhile
    with one of those names cannot leave two live experiments of one name. A run of rows
    only restores no names and does not hold it (moving rows back can take a while)."""
    experiments = (run["plan"] or {}).get("experiments") or []

    def work(c):
        if not _in_trash(c, run["id"]):
            return None
        restored = retention.restore_rows(c, run["id"], store.clock.next())
        retention.restore_experiments(c, experiments)
        c.execute(
            "UPDATE automation_runs SET status = 'restored', restored_at = ? WHERE id = ?",
            [runs.now(), run["id"]],
        )
        return restored + len(experiments)

    with changing if experiments else nullcontext():
        return store.exclusive(work)


def restore_empty(store: Store, run_ids: list[str]) -> set[str]:
    """Mark restored, in one transaction, runs that moved nothing (``rows`` 0: no rows and no
    experiments); returns those still in the trash until then (not purged or restored
    meanwhile)."""
    if not run_ids:
        return set()

    def work(c):
        rows = c.execute(
            """UPDATE automation_runs SET status = 'restored', restored_at = ?
               WHERE id IN (SELECT unnest(?::VARCHAR[])) AND rows = 0
                 AND status = 'succeeded' AND restored_at IS NULL AND purged_at IS NULL
               RETURNING id""",
            [runs.now(), run_ids],
        ).fetchall()
        return {r[0] for r in rows}

    return store.exclusive(work)


def purge(store: Store, run: dict) -> int:
    """Remove a run's soft-deleted data from storage for good (nothing if it was restored
    since the caller read the run)."""
    experiments = (run["plan"] or {}).get("experiments") or []

    def work(c):
        if not _in_trash(c, run["id"]):
            return 0
        purged = retention.purge_rows(c, run["id"])
        for experiment_id in experiments:
            purged += retention.purge_object(c, "experiment", experiment_id)
            c.execute("DELETE FROM experiments WHERE id = ?", [experiment_id])
        c.execute(
            "UPDATE automation_runs SET status = 'purged', purged_at = ? WHERE id = ?",
            [runs.now(), run["id"]],
        )
        return purged

    return store.exclusive(work)


def _in_trash(cursor, run_id: str) -> bool:
    """Whether the run's soft-deleted data is still in the trash: neither restored nor
    purged."""
    row = cursor.execute(
        "SELECT status, restored_at, purged_at FROM automation_runs WHERE id = ?", [run_id]
    ).fetchone()
    return row is not None and row[0] == "succeeded" and row[1] is None and row[2] is None
