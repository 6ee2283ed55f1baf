"""The server's DuckDB connections compute on UTC whatever the machine's time zone: each
read runs on a cursor, a DuckDB session of its own, which took the machine's TZ."""

from __future__ import annotations

import os
import subprocess
import sys

PROGRAM = """
import sys
from tracelake.store.store import Store

store = Store(sys.argv[1])
try:
    zone = store.read(lambda c: c.execute("SELECT current_setting('TimeZone')").fetchone()[0])
    print(zone)
finally:
    store.close()
"""


def test_reads_use_utc_on_a_machine_in_another_time_zone(tmp_path):
    env = {**os.environ, "TZ": "Asia/Kolkata"}
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM, str(tmp_path / "data")],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "UTC"
