"""Time literals beyond Python's years 1-9999.

An answer writes a time outside years 0000-9999 in ISO 8601's expanded form, a sign and six
digits (``+010000-01-01T00:00:00.000000Z``, ``-000976-11-09T…``; year 0000 is 1 BC), so a
query must read such a string back as a literal (``created < '+010000-01-01'``). Python's
``datetime`` stops at years 1 and 9999; :func:`parse_far_time` reads the rest of the
engine's range (290,309 BC to 294,247 AD) into microseconds since the Unix epoch, which
:func:`engine_text` writes in the form DuckDB's cast reads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# DuckDB's timestamps, in microseconds since 1970-01-01 UTC: 290309-12-22 BC 00:00 to
# 294247-01-10 04:00:54.775806.
MIN_MICROS = -9_223_372_022_400_000_000
MAX_MICROS = 9_223_372_036_854_775_806
RANGE_TEXT = "290,309 BC to 294,247 AD"

_DAY_US = 86_400_000_000
_FAR = re.compile(
    r"^\s*(?P<year>[+-]?\d{4,6})-(?P<month>\d{2})-(?P<day>\d{2})"
    r"(?:[Tt ](?P<hour>\d{2})(?::(?P<minute>\d{2})(?::(?P<second>\d{2})(?:[.,](?P<frac>\d+))?)?)?"
    r"\s*(?P<tz>[Zz]|[+-]\d{2}(?::?\d{2})?)?)?\s*$"
)


@dataclass(frozen=True)
class FarTime:
    """An instant outside Python's years 1-9999, as microseconds since the Unix epoch (UTC),
    and the date it was written with (days since 1970-01-01), as ``datetime.date()`` is."""

    micros: int
    date_days: int


class OutOfRange(ValueError):
    """A well-formed time beyond the engine's range."""


def _days_from_civil(y: int, m: int, d: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (astronomical years: 0 is 1 BC)."""
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146_097 + doe - 719_468


def _civil_from_days(z: int) -> tuple[int, int, int]:
    z += 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + (3 if mp < 10 else -9)
    return yoe + era * 400 + (m <= 2), m, d


def _month_days(y: int, m: int) -> int:
    if m == 2:
        return 29 if y % 4 == 0 and (y % 100 != 0 or y % 400 == 0) else 28
    return 30 if m in (4, 6, 9, 11) else 31


def parse_far_time(text: str) -> FarTime | None:
    """The instant an ISO-8601 date or date-time spells (``[±]YYYY[YY]-MM-DD``, then
    optionally ``THH:MM[:SS[.f]]`` and an offset, UTC without one), or None if it spells
    none. Raises :class:`OutOfRange` for a valid one beyond the engine's range."""
    m = _FAR.match(text)
    if m is None:
        return None
    year, month, day = int(m["year"]), int(m["month"]), int(m["day"])
    hour, minute, second = (int(m[k] or 0) for k in ("hour", "minute", "second"))
    if not (1 <= month <= 12 and 1 <= day <= _month_days(year, month)):
        return None
    if hour > 23 or minute > 59 or second > 59:
        return None
    micros = int((m["frac"] or "0")[:6].ljust(6, "0"))
    offset = 0
    tz = m["tz"]
    if tz and tz not in "Zz":
        digits = tz[1:].replace(":", "")
        oh, om = int(digits[:2]), int(digits[2:] or 0)
        if oh > 23 or om > 59:
            return None
        offset = (oh * 60 + om) * (-1 if tz[0] == "-" else 1)
    days = _days_from_civil(year, month, day)
    total = days * _DAY_US + ((hour * 60 + minute - offset) * 60 + second) * 1_000_000 + micros
    if not MIN_MICROS <= total <= MAX_MICROS:
        raise OutOfRange(text)
    return FarTime(total, days)


def engine_date_text(days: int) -> str:
    """A date (days since 1970-01-01) as DuckDB's cast reads it: ``10000-01-01``,
    ``-000976-01-03`` (astronomical years)."""
    y, m, d = _civil_from_days(days)
    year = f"{y:04d}" if y >= 0 else f"-{-y:06d}"
    return f"{year}-{m:02d}-{d:02d}"


def engine_text(value: FarTime) -> str:
    """An instant as DuckDB's TIMESTAMPTZ cast reads it, in UTC."""
    days, rest = divmod(value.micros, _DAY_US)
    seconds, micros = divmod(rest, 1_000_000)
    h, rem = divmod(seconds, 3600)
    mi, s = divmod(rem, 60)
    return f"{engine_date_text(days)} {h:02d}:{mi:02d}:{s:02d}.{micros:06d}+00"
