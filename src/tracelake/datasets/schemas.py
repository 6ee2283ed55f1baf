"""Field schemas over a dataset's rows: inferring one from the first records and listing
the rows that do not conform."""

from __future__ import annotations

import orjson

from tracelake.model.field_schemas import (
    INFER_SAMPLE,
    SCHEMA_FIELDS,
    check_field,
    infer_schema,
    validator_for,
    violations,
)
from tracelake.store import dataset_meta
from tracelake.store.store import Store

CHECK_PAGE = 5_000


def infer_field_schema(store: Store, dataset_id: str, field: str) -> dict:
    """A schema that the field's values in the first 100 records (oldest first) conform to."""
    check_field(field)
    rows = store.read(
        lambda c: c.execute(
            f"""SELECT {field}::VARCHAR FROM live
                WHERE object_type = 'dataset' AND object_id = ?
                ORDER BY _pagination_key LIMIT ?""",
            [dataset_id, INFER_SAMPLE],
        ).fetchall()
    )
    return infer_schema(None if r[0] is None else orjson.loads(r[0]) for r in rows)


def check_rows(store: Store, dataset_id: str, limit: int) -> dict:
    """Current rows that break the dataset's schemas: ``{"checked", "nonconforming",
    "rows": [{"id", "violations": [{field, path, message}]}]}`` (at most ``limit`` rows)."""
    schemas = dataset_meta.get_schemas(store, dataset_id)
    validators = {f: validator_for(s["schema"]) for f, s in schemas.items() if s is not None}
    result = {"checked": 0, "nonconforming": 0, "rows": []}
    if not validators:
        return result
    fields = [f for f in SCHEMA_FIELDS if f in validators]
    columns = ", ".join(f"{f}::VARCHAR" for f in fields)
    after = ""
    while True:
        page = store.read(
            lambda c, after=after: c.execute(
                f"""SELECT _pagination_key, id, {columns} FROM live
                    WHERE object_type = 'dataset' AND object_id = ? AND _pagination_key > ?
                    ORDER BY _pagination_key LIMIT ?""",
                [dataset_id, after, CHECK_PAGE],
            ).fetchall()
        )
        for row in page:
            result["checked"] += 1
            found = []
            for offset, field in enumerate(fields):
                text = row[2 + offset]
                value = None if text is None else orjson.loads(text)
                found += [{"field": field, **v} for v in violations(validators[field], value)]
            if found:
                result["nonconforming"] += 1
                if len(result["rows"]) < limit:
                    result["rows"].append({"id": row[1], "violations": found})
        if len(page) < CHECK_PAGE:
            return result
        after = page[-1][0]
