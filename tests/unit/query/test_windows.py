"""The window arithmetic of newest-first pages (tracelake.query.windows)."""

from __future__ import annotations

import datetime as dt

from tracelake.query import windows as w


def run(count, low, high, limit, descending, found_after):
    """The bounds the generator yields when each window leaves ``found_after[i]`` rows."""
    steps = w.windows(count, low, high, limit, descending)
    out = [next(steps)]
    for found in found_after:
        try:
            out.append(steps.send(found))
        except StopIteration:
            break
    return out


def test_small_relations_and_empty_ones_run_in_one_unbounded_query():
    assert run(100, 0, 99, 10, True, [0]) == [(None, None)]
    assert run(0, None, None, 10, True, [0]) == [(None, None)]
    assert run(10**6, 0, 10**6 - 1, 0, True, [0]) == [(None, None)]


def test_newest_first_window_then_the_rest():
    count, low, high = 1_000_000, 0, 999_999  # one row per value
    first = max(100 * w.FIRST_PER_ROW, w.FIRST_MIN)
    # A full first window ends the page.
    assert run(count, low, high, 100, True, [100]) == [(high + 1 - first, None)]
    # A short one is followed by everything older, in one query.
    assert run(count, low, high, 100, True, [7, 100]) == [
        (high + 1 - first, None),
        (None, high + 1 - first),
    ]


def test_oldest_first_mirrors_it():
    count, low, high = 1_000_000, 0, 999_999
    first = max(100 * w.FIRST_PER_ROW, w.FIRST_MIN)
    assert run(count, low, high, 100, False, [3, 100]) == [
        (None, low + first),
        (low + first, None),
    ]


def test_a_window_covering_the_range_is_the_only_one():
    # Sparse values: the first window's width reaches below the minimum.
    assert run(50_000, 0, 10, 100_000, True, [5]) == [(None, None)]


def test_window_widths_follow_the_density():
    # 2 rows per unit of the column: the first window is half as wide as its row count.
    count, low, high = 2_000_000, 0, 999_999
    (lo, hi), *_ = run(count, low, high, 10, True, [10])
    assert hi is None
    assert high + 1 - lo == w.FIRST_MIN // 2


def test_parameters_are_typed_and_unbounded_ends_are_open():
    plan = w.WindowPlan("created", True, "SELECT 1")
    params = plan.params(None, 1_700_000_000_000_000)
    assert params[w.HI] == dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=dt.UTC)
    assert params[w.LO] < dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
    xact = w.WindowPlan("_xact_id", True, "SELECT 1")
    assert xact.params(5, None) == {w.LO: 5, w.HI: 2**64 - 1}
