"""Importing a file into a dataset: stage the whole file (read, map, check), then commit it
as one write, so the import is one version (one ``_xact_id``) or nothing."""

from __future__ import annotations

from concurrent.futures import Future
from pathlib import Path

from tracelake.datasets.upload import Progress, preview_file, stage_file
from tracelake.errors import Forbidden
from tracelake.model.objects import ObjectRef, ObjectType
from tracelake.model.xact import format_xact
from tracelake.store.catalog import Catalog, Principal
from tracelake.store.dataset_meta import import_checks
from tracelake.store.store import STAGING_DIR, Store
from tracelake.store.writer import StagedRows, WriteBatch


def preview_import(
    catalog: Catalog, principal: Principal, dataset_id: str, path: Path, fmt: str, mapping=None
) -> dict:
    """The first rows of a file and how they would be imported (nothing is written)."""
    catalog.object_info(principal.org_id, ObjectRef(ObjectType.DATASET, dataset_id))
    return preview_file(path, fmt, mapping)


def import_file(
    store: Store,
    catalog: Catalog,
    principal: Principal,
    dataset_id: str,
    path: Path,
    fmt: str,
    mapping: dict[str, str] | None = None,
    *,
    progress: Progress | None = None,
) -> dict:
    """Import every row of the file, or none. Blocks until the write is durable."""
    if not principal.can_write:
        raise Forbidden("this API key is read-only")
    ref = ObjectRef(ObjectType.DATASET, dataset_id)
    info = catalog.object_info(principal.org_id, ref)
    check, unchanged = import_checks(store, dataset_id)
    staged = stage_file(
        path,
        fmt,
        mapping,
        store.data_dir / STAGING_DIR,
        check=check,
        progress=progress,
    )
    try:
        batch = WriteBatch(
            writes=[],
            objects={ref: info},
            staged=StagedRows(str(staged.path), ref, staged.has_ids, unchanged),
            author=principal.key_id,
        )
        xact_id = _committed(store.submit(batch))
    finally:
        staged.discard()
    written = store.read(
        lambda c: c.execute(
            "SELECT count(*) FROM history WHERE _xact_id = ? AND object_type = 'dataset'"
            " AND object_id = ?",
            [xact_id, dataset_id],
        ).fetchone()[0]
    )
    return {
        "dataset_id": dataset_id,
        "format": fmt,
        "rows_read": staged.rows,
        "rows_written": int(written),
        "mapping": staged.mapping,
        "warnings": staged.warnings,
        "_xact_id": format_xact(xact_id),
    }


def _committed(future: Future) -> int:
    """The xact id of a submitted import. Once submitted, the writer commits it whole or not
    at all whatever happens here: a Ctrl-C of ``tracelake import`` while it committed
    returned at once, deleted the staged file the writer was about to read (so the rows were
    written or not by chance) and exited 130 with every row often written. The commit is
    waited for, so the command reports what happened."""
    while True:
        try:
            return future.result()
        except KeyboardInterrupt:
            continue
