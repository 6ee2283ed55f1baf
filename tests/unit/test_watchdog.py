"""The query watchdog: it interrupts a block past its deadline, and tells the block so even
when the interrupt fell between two statements and stopped nothing."""

from __future__ import annotations

import time

from tracelake.export.queries import Watchdog


def test_a_block_past_its_deadline_is_interrupted_and_told_so():
    watchdog = Watchdog()
    calls = []
    with watchdog.guard(0.01, lambda: calls.append(time.monotonic())) as interrupted:
        time.sleep(0.2)  # no statement running: the interrupt stops nothing
        assert interrupted()
    assert len(calls) == 1


def test_a_block_that_ends_in_time_is_left_alone():
    watchdog = Watchdog()
    calls = []
    with watchdog.guard(0.5, lambda: calls.append(1)) as interrupted:
        pass
    assert not interrupted()
    time.sleep(0.6)
    assert calls == []  # the ended block's entry is never fired
