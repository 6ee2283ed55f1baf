"""Retention in storage: soft delete moves rows to the trash tables, restore moves them back,
purge deletes them.

Every read path (fetch, BTQL, exports, summaries) reads ``live``, ``history`` and
``comments``, so rows moved out of them vanish from all reads in the one transaction that
moves them. Each function runs inside a transaction on the writer thread
(``Store.exclusive``), so it never races an event write.
"""

from __future__ import annotations

from datetime import datetime

from tracelake.store.catalog import _numbered
from tracelake.store.schema import ROOT_LEFT_SQL

_TRASH = (("live", "trash_live"), ("history", "trash_history"), ("comments", "trash_comments"))


def trash_rows(cursor, run_id: str, object_type: str, object_ids: list[str], cutoff: datetime):
    """Move every version of the rows created before ``cutoff`` (and their comments) of the
    given objects to the trash. Returns the number of rows (current rows and deleted ones)."""
    if not object_ids:
        return 0
    cursor.execute(
        """CREATE OR REPLACE TEMP TABLE retention_victims AS
           SELECT DISTINCT object_type, object_id, id FROM history
           WHERE object_type = ? AND object_id IN (SELECT unnest(?::VARCHAR[]))
             AND created < ?
             AND NOT EXISTS (  -- a row whose current version is newer in creation stays
                 SELECT 1 FROM live l WHERE l.object_type = history.object_type
                   AND l.object_id = history.object_id AND l.id = history.id
                   AND l.created >= ?)""",
        [object_type, object_ids, cutoff, cutoff],
    )
    count = cursor.execute("SELECT count(*) FROM retention_victims").fetchone()[0]
    if count:
        cursor.execute(
            """CREATE OR REPLACE TEMP TABLE retention_roots AS
               SELECT DISTINCT object_type, object_id, root_span_id FROM history
               WHERE (object_type, object_id, id) IN (SELECT * FROM retention_victims)"""
        )
        _move(cursor, run_id, "live", "trash_live", "id")
        _move(cursor, run_id, "history", "trash_history", "id")
        _move(cursor, run_id, "comments", "trash_comments", "origin_id")
        _refresh_traces(cursor)
    cursor.execute("DROP TABLE IF EXISTS retention_victims")
    cursor.execute("DROP TABLE IF EXISTS retention_roots")
    return count


def _move(cursor, run_id: str, table: str, trash: str, key: str) -> None:
    match = f"(object_type, object_id, {key}) IN (SELECT * FROM retention_victims)"
    cursor.execute(
        f"INSERT INTO {trash} BY NAME SELECT *, ? AS run_id FROM {table} WHERE {match}", [run_id]
    )
    cursor.execute(f"DELETE FROM {table} WHERE {match}")


def restore_rows(cursor, run_id: str, xact_id: int) -> int:
    """Move a run's trashed rows back. A row written again since keeps its newer version.
    The rows put back are current again as of ``xact_id`` (a new version in ``history``,
    their ``_xact_id`` and ``_pagination_key`` in ``live``), as a write would make them, so
    readers that follow changes by ``_xact_id`` (scheduled exports) see them again; their
    older versions come back unchanged for reads pinned to them."""
    count = cursor.execute(
        "SELECT count(DISTINCT (object_type, object_id, id)) FROM trash_history WHERE run_id = ?",
        [run_id],
    ).fetchone()[0]
    cursor.execute(
        """CREATE OR REPLACE TEMP TABLE retention_roots AS
           SELECT DISTINCT object_type, object_id, root_span_id FROM trash_history
           WHERE run_id = ?""",
        [run_id],
    )
    cursor.execute(
        """INSERT INTO live SELECT * EXCLUDE (run_id) FROM trash_live WHERE run_id = ?
           ON CONFLICT DO NOTHING""",
        [run_id],
    )
    cursor.execute(
        "INSERT INTO history SELECT * EXCLUDE (run_id) FROM trash_history WHERE run_id = ?",
        [run_id],
    )
    _make_current(cursor, run_id, xact_id)
    cursor.execute(
        # by name: a database made before comments had user_id has it after run_id
        "INSERT INTO comments BY NAME SELECT * EXCLUDE (run_id) FROM trash_comments"
        " WHERE run_id = ?",
        [run_id],
    )
    for _, trash in _TRASH:
        cursor.execute(f"DELETE FROM {trash} WHERE run_id = ?", [run_id])
    _refresh_traces(cursor)
    cursor.execute("DROP TABLE IF EXISTS retention_roots")
    return count


def _make_current(cursor, run_id: str, xact_id: int) -> None:
    """Give the rows a restore put back into ``live`` (not those written again since) a new
    version at ``xact_id``."""
    cursor.execute(
        """CREATE OR REPLACE TEMP TABLE retention_restored AS
           SELECT l.object_type, l.object_id, l.id,
                  'p' || lpad(?::VARCHAR, 19, '0') || '.'
                      || lpad((row_number() OVER (ORDER BY l._pagination_key))::VARCHAR, 7, '0')
                      AS key
           FROM live l JOIN trash_live t
             ON t.object_type = l.object_type AND t.object_id = l.object_id AND t.id = l.id
            AND t._xact_id = l._xact_id
           WHERE t.run_id = ?""",
        [xact_id, run_id],
    )
    cursor.execute(
        """UPDATE live SET _xact_id = ?, _pagination_key = r.key FROM retention_restored r
           WHERE live.object_type = r.object_type AND live.object_id = r.object_id
             AND live.id = r.id""",
        [xact_id],
    )
    cursor.execute(
        """INSERT INTO history BY NAME SELECT l.*, false AS _object_delete
           FROM live l JOIN retention_restored r
             ON l.object_type = r.object_type AND l.object_id = r.object_id AND l.id = r.id"""
    )
    cursor.execute("DROP TABLE retention_restored")


def purge_rows(cursor, run_id: str) -> int:
    """Delete a run's trashed rows for good."""
    count = cursor.execute(
        "SELECT count(DISTINCT (object_type, object_id, id)) FROM trash_history WHERE run_id = ?",
        [run_id],
    ).fetchone()[0]
    for _, trash in _TRASH:
        cursor.execute(f"DELETE FROM {trash} WHERE run_id = ?", [run_id])
    return count


def purge_object(cursor, object_type: str, object_id: str) -> int:
    """Delete every event, comment and trace entry of one object (a purged experiment)."""
    count = cursor.execute(
        "SELECT count(*) FROM live WHERE object_type = ? AND object_id = ?",
        [object_type, object_id],
    ).fetchone()[0]
    for table in ("live", "history", "comments", "traces"):
        cursor.execute(
            f"DELETE FROM {table} WHERE object_type = ? AND object_id = ?",
            [object_type, object_id],
        )
    return count


def _refresh_traces(cursor) -> None:
    """Recompute the per-trace index entries of the traces in ``retention_roots``."""
    cursor.execute(
        """DELETE FROM traces
           WHERE (object_type, object_id, root_span_id) IN (SELECT * FROM retention_roots)"""
    )
    cursor.execute(
        """INSERT INTO traces (object_type, object_id, root_span_id, first_xact, last_key,
               last_xact)
           SELECT object_type, object_id, root_span_id, min(_xact_id), max(_pagination_key),
                  max(_xact_id)
           FROM history
           WHERE (object_type, object_id, root_span_id) IN (SELECT * FROM retention_roots)
             AND NOT _object_delete
             AND EXISTS (SELECT 1 FROM live l WHERE l.object_type = history.object_type
                 AND l.object_id = history.object_id
                 AND l.root_span_id = history.root_span_id)
           GROUP BY object_type, object_id, root_span_id"""
    )
    # (a trace whose root span left it, as far as the history kept tells)
    roots = "({0}.object_type, {0}.object_id, {0}.root_span_id) IN (SELECT * FROM retention_roots)"
    cursor.execute(ROOT_LEFT_SQL.format(where=roots.format("t"), where_h=roots.format("h")))


def restore_experiments(cursor, experiment_ids: list[str]) -> None:
    """Undelete experiments a retention run hid. One whose name was taken meanwhile (a new
    experiment of that name, as a deleted one's name is free) comes back as ``name-1``,
    ``name-2``…, as a new experiment would: a project never has two live experiments of
    one name. The caller holds the catalog's lock of name checks (``Catalog.changing``)
    around the transaction: this checks names before it writes them, as a create does."""
    for experiment_id in experiment_ids:
        row = cursor.execute(
            "SELECT project_id, name FROM experiments WHERE id = ? AND deleted_at IS NOT NULL",
            [experiment_id],
        ).fetchone()
        if row is None:
            continue
        project_id, name = row
        free, n = name, 0
        while cursor.execute(
            """SELECT 1 FROM experiments
               WHERE project_id = ? AND name = ? AND deleted_at IS NULL""",
            [project_id, free],
        ).fetchone():
            n += 1
            free = _numbered(name, n)
        cursor.execute(
            "UPDATE experiments SET deleted_at = NULL, name = ? WHERE id = ?", [free, experiment_id]
        )
