"""Keeping the full-text index up to date: a background thread feeds it the rows written
since its watermark, a bounded chunk of whole transactions at a time."""

from __future__ import annotations

import logging
import threading

from tracelake.model.words import INDEX_BLANK_PATTERN, JSON_KEY_PATTERN
from tracelake.search.index import TextIndex, document_sql
from tracelake.store.store import Store, disk_refusal

log = logging.getLogger(__name__)

CHUNK_ROWS = 50_000
# A pass that took at least BUSY_ROWS rows means heavy ingest: the next pass waits
# BUSY_WAIT_SECONDS instead of the interval, so it takes a bigger chunk. Each pass has a
# fixed cost (a tantivy commit and segment, the queries that find the chunk); bigger chunks
# left more of the two cores to ingest (OTel, 500k spans: 19.8–21.2k → 22.6–23.0k spans/s
# with 4 s). Queries stay complete meanwhile: MATCH scans the rows past the watermark.
BUSY_ROWS = 10_000
BUSY_WAIT_SECONDS = 4.0


class Indexer:
    def __init__(self, store: Store, index: TextIndex, interval: float = 1.0):
        self.store = store
        self.index = index
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        newest = self.store.clock.last  # the newest _xact_id stored
        if self.index.absorbed is not None and self.index.absorbed > newest:
            # The index has seen rows the database does not hold (the database was put back
            # from a copy older than the index): its documents are not the rows' words.
            log.warning(
                "the search index has absorbed writes up to %s, newer than the database's"
                " newest (%s); rebuilding it",
                self.index.absorbed,
                newest,
            )
            self.index.discard()
        elif self.index.watermark > newest:
            # The last writes before the restart left no row (requests that failed), and
            # the clock resumes from the newest stored xact: it hands theirs out again (a
            # restart within the same second, or a clock set back), and the rows written
            # with them were never indexed, nor scanned (the index claimed them).
            log.info(
                "the search index watermark %s is past the newest stored write %s; taking it back",
                self.index.watermark,
                newest,
            )
            self.index.rewind(newest)
        elif self.index.absorbed is not None and self._rows_between(
            self.index.absorbed, self.index.watermark
        ):
            # Rows written with such xacts already (by a server without the check above):
            # the index claims them, but never took them.
            self.index.rewind(self.index.absorbed)
        # The clock never hands out an xact the watermark passed (a write that left no row
        # took it): one reused after a restart within the same second, or a clock set back,
        # was never indexed.
        self.store.clock.advance(self.index.watermark)
        self._thread = threading.Thread(target=self._loop, name="tracelake-indexer", daemon=True)
        self._thread.start()

    def _rows_between(self, low: int, high: int) -> bool:
        """Whether history holds a row with an _xact_id in (low, high]."""
        if high <= low:
            return False
        found = self.store.read(
            lambda c: c.execute(
                "SELECT 1 FROM history WHERE _xact_id > ? AND _xact_id <= ? LIMIT 1", [low, high]
            ).fetchone()
        )
        return found is not None

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                # A short chunk means the indexer has caught up: wait, so that under heavy
                # ingest it takes bigger chunks instead of committing tiny segments back to
                # back (each commit has a fixed cost; rows past the watermark are scanned).
                taken = self.run_once()
                if taken < CHUNK_ROWS:
                    busy = taken >= BUSY_ROWS
                    self._stop.wait(
                        max(self.interval, BUSY_WAIT_SECONDS) if busy else self.interval
                    )
            except Exception as exc:  # keep indexing alive; queries scan meanwhile
                cause = disk_refusal(str(exc))
                if cause is None:
                    log.exception("indexing failed; retrying")
                else:  # (a traceback every 5 s while the disk was full)
                    log.error(
                        "cannot write the search index (%s); MATCH scans the rows it lacks"
                        " meanwhile; retrying",
                        cause,
                    )
                self._stop.wait(5)

    def run_once(self) -> int:
        """Index the next chunk; returns how many rows it took."""
        if self.index.missing():
            log.warning("the search index at %s was deleted; rebuilding it", self.index.path)
            self.index.discard()
        low = self.index.watermark
        # Read before the chunk: every xact up to it is committed (or never will be).
        settled = self.store.clock.settled
        chunk = self.store.read(lambda c: _chunk_end(c, low, settled))
        if chunk is None:
            return 0
        high, absorbed = chunk
        documents = self.store.read(
            lambda c: c.execute(
                document_sql(_words_sql, "live WHERE _xact_id > ? AND _xact_id <= ?"),
                [low, high],
            ).fetchall()
        )
        deleted = self.store.read(
            lambda c: c.execute(
                """SELECT object_type, object_id, id FROM history
                   WHERE _xact_id > ? AND _xact_id <= ? AND _object_delete""",
                [low, high],
            ).fetchall()
        )
        self.index.apply(documents, deleted, high, absorbed)
        return max(len(documents), 1)


def _words_sql(field: str) -> str:
    """The words of a JSON column as text, computed by DuckDB: the JSON text with object keys,
    escapes and non-ASCII characters that are not letters or digits blanked
    (``words.INDEX_BLANK_PATTERN``), lower-cased (as MATCH reads it; ``json()`` first turns
    ``\u00e3`` into ``ã``). DuckDB lower-cases ``İ`` to ``i`` as MATCH and ILIKE do, where
    the tokenizer's own lower case would give ``i`` + U+0307. The tokenizer splits at the
    ASCII punctuation left over, so its words are MATCH's words."""
    text = f"CAST(json({field}) AS VARCHAR)"
    text = f"regexp_replace({text}, '{JSON_KEY_PATTERN}', ' ', 'g')"
    return f"lower(regexp_replace({text}, '{INDEX_BLANK_PATTERN}', ' ', 'g'))"


def _chunk_end(cursor, low: int, settled: int = 0) -> tuple[int, int | None] | None:
    """The last xact of the next chunk (whole transactions, about CHUNK_ROWS rows), and the
    newest xact of a row in history up to it (None: the chunk holds no row). The last
    chunk reaches ``settled`` (see ``XactClock.settled``) even past the newest row in
    history: a write that left none there (a comment, a request that failed) still took an
    xact, and a watermark below it kept ``freshness_state`` behind, and MATCH off its
    index-only answer, until the next row came."""
    row = cursor.execute(
        """SELECT _xact_id FROM history WHERE _xact_id > ?
           ORDER BY _xact_id LIMIT 1 OFFSET ?""",
        [low, CHUNK_ROWS],
    ).fetchone()
    if row is not None:
        (boundary,) = row
        previous = cursor.execute(
            "SELECT max(_xact_id) FROM history WHERE _xact_id > ? AND _xact_id < ?",
            [low, boundary],
        ).fetchone()[0]
        end = int(previous) if previous is not None else int(boundary)
        return end, end
    (top,) = cursor.execute(
        "SELECT max(_xact_id) FROM history WHERE _xact_id > ?", [low]
    ).fetchone()
    newest = int(top) if top is not None else None
    end = max(newest or 0, settled)
    return (end, newest) if end > low else None
