"""Transaction ids in Braintrust's layout: 19-digit decimals that only grow.

``_xact_id = 0x0DE1 << 48 | unix_seconds << 16 | counter``. The official SDK compares
versions as strings (``max(str(x))``), so every id must have the same number of digits;
this layout keeps 19 digits until the year 10889.
"""

from __future__ import annotations

import threading
import time

XACT_TOP_BITS = 0x0DE1 << 48
_COUNTER_BITS = 16
_COUNTER_MASK = (1 << _COUNTER_BITS) - 1
MAX_XACT = 2**64 - 1  # the largest _xact_id a column holds (UBIGINT)


def make_xact_id(unix_seconds: int, counter: int) -> int:
    """Compose an id from a time in whole seconds and a counter below 65536."""
    if not 0 <= counter <= _COUNTER_MASK:
        raise ValueError(f"xact counter out of range: {counter}")
    return XACT_TOP_BITS | (unix_seconds << _COUNTER_BITS) | counter


def xact_seconds(xact_id: int) -> int:
    """The unix time (seconds) encoded in an xact id."""
    return (xact_id & ((1 << 48) - 1)) >> _COUNTER_BITS


def format_xact(xact_id: int) -> str:
    return f"{xact_id:019d}"


def key_xact(pagination_key: str | None) -> int | None:
    """The _xact_id a ``_pagination_key`` starts with ('p' + 19 digits + '.' + a sequence
    number), or None for anything else."""
    key = pagination_key or ""
    digits = key[1:20]
    # (ASCII digits: str.isdigit() takes "²", which int() refuses, and "١", which it reads)
    ascii_digits = digits.isascii() and digits.isdigit()
    if key[:1] == "p" and len(digits) == 19 and ascii_digits and key[20:21] == ".":
        return int(digits)
    return None


def is_pagination_key(text: str) -> bool:
    """Whether ``text`` has the form of a ``_pagination_key`` ('p' + 19 digits + '.' + a
    sequence number)."""
    rest = text[21:]
    return key_xact(text) is not None and rest.isascii() and rest.isdigit()


def parse_xact(value: object) -> int:
    """Parse a version as clients send it (a decimal string or an int). A version beyond
    the largest ``_xact_id`` comes after every write, as ``MAX_XACT`` does: it reads the
    latest rows."""
    if isinstance(value, bool):
        raise ValueError("version must be a decimal transaction id")
    if isinstance(value, int):
        result = value
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        result = int(value.strip())
    else:
        raise ValueError(f"version must be a decimal transaction id, got {value!r}")
    if result < 0:
        raise ValueError("version must not be negative")
    return min(result, MAX_XACT)


class XactClock:
    """Hands out strictly increasing xact ids; seeded with the largest id already stored."""

    def __init__(self, last: int = 0, now=time.time):
        self._last = last
        self._settled = last
        self._now = now
        self._lock = threading.Lock()

    def next(self) -> int:
        with self._lock:
            candidate = make_xact_id(int(self._now()), 0)
            self._last = max(candidate, self._last + 1)
            return self._last

    @property
    def last(self) -> int:
        return self._last

    def advance(self, handed_out: int) -> None:
        """Record that ids up to ``handed_out`` were handed out before (by an earlier run of
        the server, whose writes with them ended): the next id comes after it."""
        with self._lock:
            self._last = max(self._last, handed_out)
            self._settled = max(self._settled, handed_out)

    def settle(self) -> None:
        """Record that every id handed out so far belongs to a transaction that has ended:
        committed, or rolled back (a write that failed, whose id then names nothing)."""
        self._settled = self._last

    @property
    def settled(self) -> int:
        """The last id handed out before the last ``settle()``: every write with an id up
        to it is visible to a read that starts now, and none will appear later. (A write
        may leave no row behind, such as a comment or a failed request.)"""
        return self._settled
