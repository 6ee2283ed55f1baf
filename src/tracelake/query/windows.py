"""Newest-first windows: answering a sorted, limited page from the end of the sort column.

A page of "the newest 100 spans that match" needs only the newest rows that match, but a
scan that cannot tell where they are reads every row group of every column it returns.
When a page is sorted by a typed column that DuckDB keeps zone maps for (``created``, or
``_xact_id`` for the default ``_pagination_key`` order), the executor first runs it over a
window of the newest rows of that column (``lo <= column < hi``), sized to fill the page
when the filter keeps one row in twenty. Only if the page is not full yet does it run over
all the older rows, keeping the rows found: there DuckDB reads the newest row groups first
and stops once no older row can enter the page (when the filter runs inside the table
scan). Every row of the first window sorts before every older row, so the two parts make
the page of the whole relation.

The window's width comes from the column's count, minimum and maximum over the query's
objects (one cheap query), assuming rows spread evenly over the range; a wrong guess
costs time, never rows. This module is the sizing arithmetic only; the executor
(:mod:`tracelake.export.queries`) runs the windows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

# The first window holds about this many rows times the page size (at least FIRST_MIN):
# enough for a filter keeping 1 row in 20 to fill the page at once.
FIRST_PER_ROW = 20
FIRST_MIN = 10_000
# If the page is not full after it, the rest of the relation is read in one query: DuckDB
# reads the newest row groups first and stops once no older row can enter the page (when
# the filter runs inside the table scan; see planner._one_term_per_column).
# Below this many rows (times the first window), windows are not worth their queries.
SMALL_FACTOR = 2

# The window's bounds are parameters of the page's SQL (``lo <= column < hi``).
LO, HI = "window_lo", "window_hi"
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
# Stand-ins for "unbounded" of each column's type (typed, so zone maps still apply).
_OPEN = {
    "created": (dt.datetime(1, 1, 1, tzinfo=dt.UTC), dt.datetime(9999, 12, 31, tzinfo=dt.UTC)),
    "_xact_id": (0, 2**64 - 1),
}
SQL_TYPES = {"created": "TIMESTAMPTZ", "_xact_id": "UBIGINT"}


@dataclass(frozen=True)
class WindowPlan:
    """How a page runs in windows: the column that bounds them (``created``, or ``_xact_id``
    for the default order; both typed, with zone maps), the page's direction, and the SQL
    of the column's count, minimum and maximum (as integers) over the rows it may read."""

    column: str
    descending: bool
    stats_sql: str

    def params(self, lo: int | None, hi: int | None) -> dict:
        """The SQL parameters for the window ``lo <= column < hi`` (None = unbounded)."""
        open_lo, open_hi = _OPEN[self.column]
        return {
            LO: open_lo if lo is None else self._value(lo),
            HI: open_hi if hi is None else self._value(hi),
        }

    def _value(self, number: int):
        if self.column == "created":
            return _EPOCH + dt.timedelta(microseconds=number)
        return number


def windows(
    count: int, low: int | None, high: int | None, limit: int, descending: bool
) -> Iterator[tuple[int | None, int | None]]:
    """Yield ``(lo, hi)`` bounds (``None`` = unbounded) over integer column values, the
    page's end first. After each window, send the number of rows the page holds so far;
    the generator stops when the page is full or the last (unbounded) window was read.

    ``count``/``low``/``high``: the rows the query may read and their range of values."""
    if low is None or high is None or count <= FIRST_MIN * SMALL_FACTOR or limit == 0:
        yield None, None
        return
    width = max(1, int(max(limit * FIRST_PER_ROW, FIRST_MIN) * (high - low + 1) / count))
    if width > high - low:  # the first window would hold every row
        yield None, None
        return
    if descending:
        edge = high + 1 - width
        found = yield edge, None
        if found is not None and found < limit:
            yield None, edge
    else:
        edge = low + width
        found = yield None, edge
        if found is not None and found < limit:
            yield edge, None
