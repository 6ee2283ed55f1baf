"""Rebuild the web UI when its sources changed: ``python -m tracelake.web.build [--force]``.

Runs ``npm ci`` (from the lock file) and ``npm run build`` in ``web/``, then records the source
hash in ``dist/SOURCE_HASH``. Only for a source checkout; an installed package ships ``dist``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tracelake.web import DIST, HASH_FILE, built_hash, source_hash

WEB_DIR = Path(__file__).resolve().parents[3] / "web"


def main(argv: list[str]) -> int:
    if not (WEB_DIR / "package.json").exists():
        print("web/ sources not found; using the shipped build", file=sys.stderr)
        return 0
    wanted = source_hash(WEB_DIR)
    if "--force" not in argv and built_hash() == wanted:
        print("web UI is up to date")
        return 0
    lock = WEB_DIR / "package-lock.json"
    stamp = WEB_DIR / "node_modules" / ".lock-installed"
    if not stamp.exists() or stamp.read_text() != lock.read_text():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=WEB_DIR, check=True)
        stamp.write_text(lock.read_text())
    subprocess.run(["npm", "run", "build"], cwd=WEB_DIR, check=True)
    (DIST / HASH_FILE).write_text(wanted + "\n")
    print(f"web UI built into {DIST}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
