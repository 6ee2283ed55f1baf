"""The database wrapper: one DuckDB file, reads on per-call cursors, writes through one thread.

Only one process may open the file, so the server process owns it. Inside the process every
event write goes through a single writer thread that groups concurrent requests into one
transaction (group commit) and acknowledges each request only after that commit.
"""

from __future__ import annotations

import logging
import queue
import shutil
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import TypeVar

import duckdb

from tracelake.errors import StorageFull
from tracelake.model.xact import XactClock
from tracelake.store.schema import DDL, ONCE, SCHEMA_VERSION
from tracelake.store.writer import InsertMode, WriteBatch, commit_group

log = logging.getLogger(__name__)

T = TypeVar("T")

DB_FILENAME = "tracelake.duckdb"
# Uploads and dataset imports staged in the data dir while their request runs.
STAGING_DIR = "tmp"
# Most rows one group commit takes before it commits (more waiting requests wait for the next).
GROUP_COMMIT_ROWS = 5_000
CHECKPOINT_THRESHOLD = "1GB"
# Most times ``transact`` runs a transaction that lost a write conflict (each round, one of
# the transactions in conflict commits, so this is more than the threads that may contend).
TRANSACT_ATTEMPTS = 100
# How long ``close`` waits for the queries it interrupted to end.
CLOSE_WAIT_SECONDS = 10


class DataDirLocked(RuntimeError):
    """Another process (usually a running server) has the database open."""


class DataDirUnusable(RuntimeError):
    """The database cannot be opened: a read-only file system, no permission, a file that
    is not a DuckDB database."""


class _Exclusive:
    """A transaction to run on the writer thread, between event writes (see ``exclusive``)."""

    def __init__(self, fn: Callable[[duckdb.DuckDBPyConnection], object]):
        self.fn = fn
        self.future: Future = Future()


class Store:
    """Owns the DuckDB connection and the writer thread."""

    def __init__(self, data_dir: Path | str, *, read_only: bool = False):
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.data_dir / DB_FILENAME
        existed = self.path.exists()
        try:
            self._con = duckdb.connect(
                str(self.path),
                read_only=read_only,
                config={
                    "autoinstall_known_extensions": "false",
                    "autoload_known_extensions": "false",
                },
            )
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise DataDirLocked(f"{self.path} is in use by another process") from exc
            if not existed:
                # What a creation that failed part way (a full disk) left is no database:
                # every later start refused the data dir ("not a valid DuckDB database").
                for leftover in (self.path, self.path.with_name(f"{DB_FILENAME}.wal")):
                    leftover.unlink(missing_ok=True)
            # DuckDB's own words name the file and the cause ("…: Read-only file system").
            detail = str(exc).removeprefix("IO Error: ")
            raise DataDirUnusable(f"cannot use the data dir {self.data_dir}: {detail}") from exc
        # Cursors of reads and catalog transactions under way: ``close`` interrupts them
        # (DuckDB refuses to close a connection while a cursor of it is running a query).
        self._busy: set[duckdb.DuckDBPyConnection] = set()
        self._idle = threading.Condition()
        self._closed = False
        # GLOBAL: a cursor (each read, each catalog transaction) is a session of its own,
        # which took the machine's time zone (TZ) with a plain SET.
        self._con.execute("SET GLOBAL TimeZone = 'UTC'")
        # Checkpoints rewrite the database file; with DuckDB's 16 MB default they ran every
        # few group commits during ingest. A larger WAL costs only a longer replay on start.
        self._con.execute(f"SET checkpoint_threshold = '{CHECKPOINT_THRESHOLD}'")
        if not read_only:
            try:
                self._create_schema()
            except duckdb.Error as exc:
                cause = _storage_cause(exc)
                if cause is None:
                    raise
                # (creating the tables of a new data dir, or bringing an older one's up to
                # date, on a full disk: a traceback)
                self._con.close()
                raise DataDirUnusable(f"cannot use the data dir {self.data_dir}: {cause}") from exc
            # Staged files are deleted by the request that made them; what is left was the
            # last process's when it died (kill -9, a crash, a full disk), and no request of
            # this one, which holds the database now, can be using it. It stayed forever,
            # an upload as large as TRACELAKE_MAX_UPLOAD_BYTES each time.
            shutil.rmtree(self.data_dir / STAGING_DIR, ignore_errors=True)
        self.clock = XactClock(self._max_xact_id())
        self._queue: queue.Queue[WriteBatch | _Exclusive | None] = queue.Queue()
        self._writer: threading.Thread | None = None
        self._insert_mode = InsertMode()
        # Bumped after each catalog transaction (and exclusive block) commits: a cache of
        # catalog reads is valid while the generation it was read at is still current.
        self.generation = 0
        self._generation_lock = threading.Lock()

    # -- lifecycle -------------------------------------------------------------------------

    def _create_schema(self) -> None:
        con = self._con.cursor()
        try:
            for statement in DDL:
                con.execute(statement)
            con.execute(
                "INSERT INTO meta VALUES ('schema_version', ?) ON CONFLICT DO NOTHING",
                [str(SCHEMA_VERSION)],
            )
            for name, statement in ONCE:
                if con.execute("SELECT 1 FROM meta WHERE key = ?", [name]).fetchone() is None:
                    con.begin()
                    con.execute(statement)
                    con.execute("INSERT INTO meta VALUES (?, 'done')", [name])
                    con.commit()
        finally:
            con.close()

    def _max_xact_id(self) -> int:
        row = self.read(
            lambda c: c.execute(
                "SELECT greatest((SELECT max(_xact_id) FROM history),"
                " (SELECT max(_xact_id) FROM comments))"
            ).fetchone()
        )
        return int(row[0]) if row and row[0] is not None else 0

    def start(self) -> None:
        """Start the writer thread (idempotent)."""
        if self._writer is None:
            self._writer = threading.Thread(target=self._write_loop, name="tracelake-writer")
            self._writer.daemon = True
            self._writer.start()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._writer is not None:
            self._queue.put(None)
            self._writer.join()
        # Queries of requests that outlived the server's shutdown grace (uvicorn cancelled
        # them, but their threads still ran) made the close fail: "Application shutdown
        # failed" with a traceback, and the write-ahead log left unfolded.
        with self._idle:
            deadline = time.monotonic() + CLOSE_WAIT_SECONDS
            while self._busy and time.monotonic() < deadline:
                for cursor in self._busy:
                    try:
                        cursor.interrupt()
                    except duckdb.Error:
                        pass  # it has just ended
                self._idle.wait(0.1)
        self._con.close()

    # -- reads and catalog writes -------------------------------------------------------------

    def read(self, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """Run ``fn`` with a cursor of its own (safe from any thread)."""
        cursor = self._cursor()
        try:
            return fn(cursor)
        finally:
            self._release(cursor)

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        cursor = self._con.cursor()
        with self._idle:
            self._busy.add(cursor)
        return cursor

    def _release(self, cursor: duckdb.DuckDBPyConnection) -> None:
        cursor.close()
        with self._idle:
            self._busy.discard(cursor)
            if self._closed:
                self._idle.notify_all()

    def transact(self, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """Run ``fn`` in a transaction on its own cursor (catalog changes).

        DuckDB's transactions are optimistic: of two that change one row, or insert one key,
        at the same time, the later fails ("Conflict on update", a duplicate key) where a
        lock would have made it wait. ``fn`` then runs again in a new transaction, which
        sees what the other committed (a star set twice is set, the last upsert wins, a name
        taken meanwhile is taken), as if the two had run one after the other."""
        cursor = self._cursor()
        try:
            for attempt in range(1, TRANSACT_ATTEMPTS + 1):
                cursor.begin()
                try:
                    result = fn(cursor)
                except BaseException as exc:
                    cursor.rollback()
                    if _conflict(exc) and attempt < TRANSACT_ATTEMPTS:
                        continue
                    raise
                try:
                    cursor.commit()  # (a failed commit has ended the transaction)
                except duckdb.Error as exc:
                    if _conflict(exc) and attempt < TRANSACT_ATTEMPTS:
                        continue
                    error = storage_error(exc)
                    if error is exc:
                        raise
                    raise error from exc
                return result
            raise AssertionError("unreachable")
        finally:
            self._changed()
            self._release(cursor)

    # -- event writes ---------------------------------------------------------------------------

    def submit(self, batch: WriteBatch) -> Future:
        """Queue a batch of event writes; the future resolves to its xact id after commit."""
        if self._closed:
            raise RuntimeError("store is closed")
        self.start()
        self._queue.put(batch)
        return batch.future

    def write(self, batch: WriteBatch) -> int:
        """Submit and wait (for callers that are not async)."""
        return self.submit(batch).result()

    def exclusive(self, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """Run ``fn`` in one transaction on the writer thread and wait for it.

        Event writes and ``fn`` never interleave, so ``fn`` may move or delete event rows
        (retention) without conflicting with a concurrent group commit."""
        if self._closed:
            raise RuntimeError("store is closed")
        self.start()
        item = _Exclusive(fn)
        self._queue.put(item)
        try:
            return item.future.result()
        finally:
            self._changed()

    def _changed(self) -> None:
        with self._generation_lock:
            self.generation += 1

    def _write_loop(self) -> None:
        cursor = self._con.cursor()
        try:
            while True:
                first = self._queue.get()
                if first is None:
                    return
                if isinstance(first, _Exclusive):
                    _run_exclusive(cursor, first)
                    self.clock.settle()  # (it may have handed out an xact: see _commit)
                    continue
                if not _take(first):
                    continue
                group = [first]
                rows = first.size
                stop = False
                while rows < GROUP_COMMIT_ROWS:
                    try:
                        nxt = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if nxt is None:
                        stop = True
                        break
                    if isinstance(nxt, _Exclusive):
                        self._commit(cursor, group)
                        group = []
                        _run_exclusive(cursor, nxt)
                        self.clock.settle()  # (it may have handed out an xact: see _commit)
                        break
                    if not _take(nxt):
                        continue
                    group.append(nxt)
                    rows += nxt.size
                if group:
                    self._commit(cursor, group)
                if stop:
                    return
        finally:
            cursor.close()

    def _commit(self, cursor: duckdb.DuckDBPyConnection, group: list[WriteBatch]) -> None:
        try:
            self._commit_group(cursor, group)
        finally:
            # Every xact handed out has committed or been rolled back (the writer thread
            # is the only one that hands them out): the indexer may take its watermark up
            # to them even when they left no row in history (comments, failed writes).
            self.clock.settle()

    def _commit_group(self, cursor: duckdb.DuckDBPyConnection, group: list[WriteBatch]) -> None:
        try:
            commit_group(cursor, group, self.clock, self._insert_mode)
            return
        except Exception as exc:
            if len(group) == 1:
                _fail(group[0], exc)
                return
            log.warning("group commit failed (%s); retrying its batches one by one", exc)
        for batch in group:
            if batch.future.done():
                continue
            try:
                commit_group(cursor, [batch], self.clock, self._insert_mode)
            except Exception as exc:
                _fail(batch, exc)


def _take(batch: WriteBatch) -> bool:
    """Take a queued batch for writing, after which its future cannot be cancelled; False
    (skip it) if its request was cancelled while it waited (asyncio cancels the future it
    awaits: uvicorn cancels requests still running 5 s after SIGTERM). A future cancelled
    while its group committed made resolving it raise, and the group's batches were then
    committed a second time, one by one."""
    return batch.future.set_running_or_notify_cancel()


def _run_exclusive(cursor: duckdb.DuckDBPyConnection, item: _Exclusive) -> None:
    """Run the block in a transaction; again if it lost a write conflict to a catalog
    transaction (retention hiding an experiment a request was changing), as ``transact``."""
    for attempt in range(1, TRANSACT_ATTEMPTS + 1):
        cursor.begin()
        try:
            result = item.fn(cursor)
            cursor.commit()
        except BaseException as exc:
            try:
                cursor.rollback()
            except duckdb.Error:
                pass  # the failed commit already ended the transaction
            if _conflict(exc) and attempt < TRANSACT_ATTEMPTS:
                continue
            item.future.set_exception(storage_error(exc))
            return
        item.future.set_result(result)
        return


def _fail(batch: WriteBatch, exc: BaseException) -> None:
    if not batch.future.done():
        batch.future.set_exception(storage_error(exc))


# How the OS's refusals to write read in DuckDB's errors: ENOSPC, EDQUOT, EROFS, and EFBIG
# (a file past the file system's largest file, 4 GiB on FAT32, or past ``ulimit -f``).
_STORAGE_CAUSES = (
    "No space left on device",
    "Disk quota exceeded",
    "Read-only file system",
    "File too large",
)


def _storage_cause(exc: BaseException) -> str | None:
    if isinstance(exc, duckdb.Error):
        return disk_refusal(str(exc))
    return None


def disk_refusal(text: str) -> str | None:
    """Which of the OS's refusals to write (a full disk, …) an error's text names, if any."""
    return next((cause for cause in _STORAGE_CAUSES if cause in text), None)


def storage_error(exc: BaseException) -> BaseException:
    """``exc``, or a StorageFull (507, in plain words) if it is the file system refusing a
    write: a full disk was a 500 "internal error" with a traceback per request."""
    cause = _storage_cause(exc)
    if cause is None:
        return exc
    log.error("cannot write the data dir: %s", exc)
    return StorageFull(
        f"the server cannot write its data dir ({cause}); nothing of this request was written"
    )


def _conflict(exc: BaseException) -> bool:
    """Whether ``exc`` is a transaction losing a write conflict to a concurrent one."""
    if _storage_cause(exc) is not None:
        return False
    text = str(exc)
    if isinstance(exc, duckdb.TransactionException):
        return "Conflict" in text or "constraint violation" in text
    return isinstance(exc, duckdb.ConstraintException) and "Duplicate key" in text
