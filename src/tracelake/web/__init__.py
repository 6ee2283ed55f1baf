"""The web UI: a prebuilt single-page app (sources in ``web/``, built into ``dist/`` here).

The build output is committed, so installing the Python package needs no Node. ``dist/SOURCE_HASH``
records the hash of the sources it was built from; ``python -m tracelake.web.build`` (``make ui``,
run by ``make serve``) rebuilds only when the sources changed, and a test keeps the two in step.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

DIST = Path(__file__).parent / "dist"
HASH_FILE = "SOURCE_HASH"
# What the build depends on, relative to web/ (the end-to-end tests in web/e2e are not built).
SOURCES = (
    "src",
    "index.html",
    "vite.config.ts",
    "tsconfig.json",
    "package.json",
    "package-lock.json",
)


def source_hash(web_dir: Path) -> str:
    """sha256 over the path and content of every build input, in a stable order."""
    digest = hashlib.sha256()
    files: list[Path] = []
    for name in SOURCES:
        path = web_dir / name
        files.extend(sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path])
    for path in files:
        digest.update(path.relative_to(web_dir).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def built_hash() -> str | None:
    path = DIST / HASH_FILE
    return path.read_text().strip() if path.exists() else None
