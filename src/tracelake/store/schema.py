"""Table definitions. Catalog tables hold objects; ``live`` and ``history`` hold events.

``live`` has the current version of every row that is not deleted, keyed by
(object_type, object_id, id); ordinary reads use it with no dedup. ``history`` is append-only
and keeps every version, tombstones included, for ``version=`` reads and audits.
Comments live in their own table beside the rows they annotate, so that replacing a row
keeps its comments and a comment may arrive before its row.
"""

from __future__ import annotations

SCHEMA_VERSION = 1

# Typed columns for ids and times; free-form values are JSON text (see docs/architecture
# notes: JSON ingests ~4x faster than VARIANT here and fetches faster).
EVENT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("object_type", "VARCHAR NOT NULL"),
    ("object_id", "VARCHAR NOT NULL"),
    ("id", "VARCHAR NOT NULL"),
    ("_xact_id", "UBIGINT NOT NULL"),
    ("_pagination_key", "VARCHAR NOT NULL"),
    ("created", "TIMESTAMPTZ NOT NULL"),
    ("org_id", "VARCHAR NOT NULL"),
    ("project_id", "VARCHAR NOT NULL"),
    ("span_id", "VARCHAR NOT NULL"),
    ("root_span_id", "VARCHAR NOT NULL"),
    ("span_parents", "VARCHAR[]"),
    ("is_root", "BOOLEAN NOT NULL"),
    ("tags", "VARCHAR[]"),
    ("input", "JSON"),
    ("output", "JSON"),
    ("expected", "JSON"),
    ("error", "JSON"),
    ("scores", "JSON"),
    ("metrics", "JSON"),
    ("metadata", "JSON"),
    ("span_attributes", "JSON"),
    ("context", "JSON"),
    ("origin", "JSON"),
    ("audit_data", "JSON"),
)
# Event columns that came later: last in every event table, after the table's own columns
# (history's _object_delete, the trash tables' run_id), which is where ALTER TABLE puts them
# in a database made before them, so both have one layout. ``classifications``: what the
# SDK's Eval classifiers found, logged on the root span.
LATE_EVENT_COLUMNS: tuple[tuple[str, str], ...] = (("classifications", "JSON"),)
EVENT_COLUMN_NAMES = tuple(name for name, _ in (*EVENT_COLUMNS, *LATE_EVENT_COLUMNS))


def _event_table(name: str, own: str = "", key: str = "") -> list[str]:
    """The table, and the ALTER statements that give an older one the late columns."""
    cols = ",\n  ".join(f"{n} {t}" for n, t in EVENT_COLUMNS)
    late = "".join(f",\n  {n} {t}" for n, t in LATE_EVENT_COLUMNS)
    create = f"CREATE TABLE IF NOT EXISTS {name} (\n  {cols}{own}{late}{key}\n)"
    alter = [f"ALTER TABLE {name} ADD COLUMN IF NOT EXISTS {n} {t}" for n, t in LATE_EVENT_COLUMNS]
    return [create, *alter]


# deleted_xact: the xact that deleted or replaced this version of the comment (pinned reads
# before it still see it); NULL for the current version. user_id: who wrote the comment (the
# name of the API key that created it, as a tag's user_id); it came later, so it is last
# (after the trash table's run_id in a database made before it: moves go by name).
_COMMENT_COLUMNS = """object_type VARCHAR NOT NULL,
  object_id VARCHAR NOT NULL,
  id VARCHAR NOT NULL,
  origin_id VARCHAR NOT NULL,
  _xact_id UBIGINT NOT NULL,
  created TIMESTAMPTZ NOT NULL,
  comment JSON,
  audit_data JSON,
  deleted_xact UBIGINT,
  user_id VARCHAR"""

DDL = [
    """CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS organizations (
        id VARCHAR PRIMARY KEY,
        name VARCHAR NOT NULL UNIQUE,
        created TIMESTAMPTZ NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS api_keys (
        id VARCHAR PRIMARY KEY,
        org_id VARCHAR NOT NULL,
        name VARCHAR NOT NULL,
        role VARCHAR NOT NULL,
        key_hash VARCHAR NOT NULL UNIQUE,
        preview VARCHAR NOT NULL,
        created TIMESTAMPTZ NOT NULL,
        revoked_at TIMESTAMPTZ
    )""",
    """CREATE TABLE IF NOT EXISTS projects (
        id VARCHAR PRIMARY KEY,
        org_id VARCHAR NOT NULL,
        name VARCHAR NOT NULL,
        description VARCHAR,
        settings JSON,
        user_id VARCHAR,
        created TIMESTAMPTZ NOT NULL,
        deleted_at TIMESTAMPTZ,
        seq BIGINT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS datasets (
        id VARCHAR PRIMARY KEY,
        org_id VARCHAR NOT NULL,
        project_id VARCHAR NOT NULL,
        name VARCHAR NOT NULL,
        description VARCHAR,
        metadata JSON,
        user_id VARCHAR,
        created TIMESTAMPTZ NOT NULL,
        deleted_at TIMESTAMPTZ,
        seq BIGINT NOT NULL,
        tags VARCHAR[]
    )""",
    # Dataset tags came later: databases made before them gain the column.
    "ALTER TABLE datasets ADD COLUMN IF NOT EXISTS tags VARCHAR[]",
    """CREATE TABLE IF NOT EXISTS experiments (
        id VARCHAR PRIMARY KEY,
        org_id VARCHAR NOT NULL,
        project_id VARCHAR NOT NULL,
        name VARCHAR NOT NULL,
        description VARCHAR,
        repo_info JSON,
        base_exp_id VARCHAR,
        dataset_id VARCHAR,
        dataset_version VARCHAR,
        public BOOLEAN NOT NULL DEFAULT false,
        metadata JSON,
        tags VARCHAR[],
        user_id VARCHAR,
        created TIMESTAMPTZ NOT NULL,
        deleted_at TIMESTAMPTZ,
        seq BIGINT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS automations (
        id VARCHAR PRIMARY KEY,
        org_id VARCHAR NOT NULL,
        project_id VARCHAR NOT NULL,
        name VARCHAR NOT NULL,
        description VARCHAR,
        config JSON NOT NULL,
        user_id VARCHAR,
        created TIMESTAMPTZ NOT NULL,
        deleted_at TIMESTAMPTZ,
        seq BIGINT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS project_tags (
        id VARCHAR PRIMARY KEY,
        org_id VARCHAR NOT NULL,
        project_id VARCHAR NOT NULL,
        name VARCHAR NOT NULL,
        description VARCHAR,
        color VARCHAR,
        user_id VARCHAR,
        created TIMESTAMPTZ NOT NULL,
        deleted_at TIMESTAMPTZ,
        seq BIGINT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS project_scores (
        id VARCHAR PRIMARY KEY,
        org_id VARCHAR NOT NULL,
        project_id VARCHAR NOT NULL,
        name VARCHAR NOT NULL,
        description VARCHAR,
        score_type VARCHAR NOT NULL,
        position VARCHAR,
        user_id VARCHAR,
        categories JSON,
        config JSON,
        created TIMESTAMPTZ NOT NULL,
        deleted_at TIMESTAMPTZ,
        seq BIGINT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS review_items (
        id VARCHAR PRIMARY KEY,
        org_id VARCHAR NOT NULL,
        project_id VARCHAR NOT NULL,
        object_type VARCHAR NOT NULL,
        object_id VARCHAR NOT NULL,
        row_id VARCHAR NOT NULL,
        root_span_id VARCHAR,
        span_name VARCHAR,
        status VARCHAR NOT NULL,
        note VARCHAR,
        created TIMESTAMPTZ NOT NULL,
        updated TIMESTAMPTZ NOT NULL,
        UNIQUE (object_type, object_id, row_id)
    )""",
    # Review assignment came later: the assignee is a user (an API key's name).
    "ALTER TABLE review_items ADD COLUMN IF NOT EXISTS assignee VARCHAR",
    # Whether the item's row was a live row when it was flagged: such an item leaves the queue
    # while its row is deleted (and comes back with it). NULL for items flagged before.
    "ALTER TABLE review_items ADD COLUMN IF NOT EXISTS row_seen BOOLEAN",
    # Saved views (/v1/view) and each user's default view of a table. Names are unique per
    # table among live views (checked by the store: DuckDB has no partial unique index).
    """CREATE TABLE IF NOT EXISTS views (
        id VARCHAR PRIMARY KEY,
        org_id VARCHAR NOT NULL,
        object_type VARCHAR NOT NULL,
        object_id VARCHAR NOT NULL,
        view_type VARCHAR NOT NULL,
        name VARCHAR NOT NULL,
        view_data JSON,
        options JSON,
        user_id VARCHAR,
        created TIMESTAMPTZ NOT NULL,
        deleted_at TIMESTAMPTZ,
        seq BIGINT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS view_defaults (
        org_id VARCHAR NOT NULL,
        user_name VARCHAR NOT NULL,
        object_type VARCHAR NOT NULL,
        object_id VARCHAR NOT NULL,
        view_type VARCHAR NOT NULL,
        view_id VARCHAR NOT NULL,
        updated TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (org_id, user_name, object_type, object_id, view_type)
    )""",
    "CREATE SEQUENCE IF NOT EXISTS object_seq",
    *_event_table("live", key=",\n  PRIMARY KEY (object_type, object_id, id)"),
    # Row ids alone: DuckDB answers ``id IN (…)`` from an index on that one column only (not
    # from the key's third column). MATCH reads the full-text index's candidates through it
    # instead of scanning the newest rows for them. Created on open, so older data dirs
    # gain it (about a second per million rows).
    "CREATE INDEX IF NOT EXISTS live_id ON live (id)",
    *_event_table("history", ",\n  _object_delete BOOLEAN NOT NULL"),
    # One row per trace of each object: where its spans sit in _xact_id order. Fetch pages
    # through traces newest first without aggregating every span; first_xact bounds the
    # span scan so zone maps skip older row groups. last_xact is the _xact_id last_key
    # starts with: pages sort on it first (a typed column that DuckDB can skip row groups
    # by; string zone maps keep only a prefix, the same for every key).
    """CREATE TABLE IF NOT EXISTS traces (
        object_type VARCHAR NOT NULL,
        object_id VARCHAR NOT NULL,
        root_span_id VARCHAR NOT NULL,
        first_xact UBIGINT NOT NULL,
        last_key VARCHAR NOT NULL,
        last_xact UBIGINT,
        root_left_xact UBIGINT,
        PRIMARY KEY (object_type, object_id, root_span_id)
    )""",
    # last_xact came later: databases made before it gain and fill the column.
    "ALTER TABLE traces ADD COLUMN IF NOT EXISTS last_xact UBIGINT",
    """UPDATE traces SET last_xact = CAST(substr(last_key, 2, 19) AS UBIGINT)
       WHERE last_xact IS NULL""",
    # root_left_xact: the xact in which the trace's root span left it (deleted, or replaced
    # into another trace) leaving other spans behind, which summaries then no longer count;
    # NULL or 0 while it has its root, or never had one (spans logged before their root).
    # It came later too (filled once, see ONCE).
    "ALTER TABLE traces ADD COLUMN IF NOT EXISTS root_left_xact UBIGINT",
    f"CREATE TABLE IF NOT EXISTS comments (\n  {_COMMENT_COLUMNS}\n)",
    "ALTER TABLE comments ADD COLUMN IF NOT EXISTS user_id VARCHAR",
    # Automations: the scheduler's state (export cursor, next run, lease) and run history.
    """CREATE TABLE IF NOT EXISTS automation_state (
        automation_id VARCHAR PRIMARY KEY,
        cursor_xact UBIGINT NOT NULL DEFAULT 0,  -- exports: every xact up to here is out
        next_run_at TIMESTAMPTZ,
        registered_at TIMESTAMPTZ,  -- POST /automation/cron
        lease_owner VARCHAR,
        lease_expires TIMESTAMPTZ
    )""",
    """CREATE TABLE IF NOT EXISTS automation_runs (
        id VARCHAR PRIMARY KEY,
        automation_id VARCHAR NOT NULL,
        seq BIGINT NOT NULL,
        kind VARCHAR NOT NULL,  -- export | retention | purge
        trigger VARCHAR NOT NULL,  -- schedule | manual
        status VARCHAR NOT NULL,  -- running | succeeded | failed | restored | purged
        started TIMESTAMPTZ NOT NULL,
        finished TIMESTAMPTZ,
        plan JSON,  -- recorded before anything is written (exports: window and file names)
        cursor_from UBIGINT,
        cursor_to UBIGINT,
        rows BIGINT,
        bytes BIGINT,
        files JSON,
        backlog BIGINT,
        error VARCHAR,
        purge_after TIMESTAMPTZ,  -- retention: soft-deleted rows are purged after this
        purged_at TIMESTAMPTZ,
        restored_at TIMESTAMPTZ
    )""",
    # The seq of the run a crash interrupted that this run finishes (its plan run again).
    "ALTER TABLE automation_runs ADD COLUMN IF NOT EXISTS resumes BIGINT",
    # What a successful run did not do: an export with no new rows never reached the storage.
    "ALTER TABLE automation_runs ADD COLUMN IF NOT EXISTS note VARCHAR",
    # Retention soft delete: rows move here (with the run that moved them), so no read path
    # sees them, and move back on restore; a purge deletes them.
    *_event_table("trash_live", ",\n  run_id VARCHAR NOT NULL"),
    *_event_table(
        "trash_history", ",\n  _object_delete BOOLEAN NOT NULL,\n  run_id VARCHAR NOT NULL"
    ),
    (
        f"CREATE TABLE IF NOT EXISTS trash_comments (\n  {_COMMENT_COLUMNS},\n"
        "  run_id VARCHAR NOT NULL\n)"
    ),
    "ALTER TABLE trash_comments ADD COLUMN IF NOT EXISTS user_id VARCHAR",
    # Dataset features (issue 5). Added with IF NOT EXISTS, so older data dirs gain them.
    # Who made each dataset version (an API key id), for the list of versions.
    """CREATE TABLE IF NOT EXISTS dataset_writes (
        _xact_id UBIGINT NOT NULL,
        dataset_id VARCHAR NOT NULL,
        author VARCHAR,
        created TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (_xact_id, dataset_id)
    )""",
    """CREATE TABLE IF NOT EXISTS dataset_field_schemas (
        dataset_id VARCHAR NOT NULL,
        field VARCHAR NOT NULL,
        schema JSON NOT NULL,
        enforce BOOLEAN NOT NULL,
        updated TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (dataset_id, field)
    )""",
    # Named versions (snapshots): a name for one _xact_id of a dataset.
    """CREATE TABLE IF NOT EXISTS dataset_snapshots (
        dataset_id VARCHAR NOT NULL,
        name VARCHAR NOT NULL,
        _xact_id UBIGINT NOT NULL,
        description VARCHAR,
        author VARCHAR,
        created TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (dataset_id, name)
    )""",
    # Custom columns: named BTQL expressions usable as columns of the dataset's queries.
    """CREATE TABLE IF NOT EXISTS dataset_columns (
        dataset_id VARCHAR NOT NULL,
        name VARCHAR NOT NULL,
        expr VARCHAR NOT NULL,
        created TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (dataset_id, name)
    )""",
    """CREATE TABLE IF NOT EXISTS attachments (
        org_id VARCHAR NOT NULL,
        key VARCHAR NOT NULL,
        filename VARCHAR,
        content_type VARCHAR,
        status JSON,
        size BIGINT,
        created TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (org_id, key)
    )""",
    # Dataset stars: the server has no users, so a star belongs to the API key that set it.
    """CREATE TABLE IF NOT EXISTS dataset_stars (
        key_id VARCHAR NOT NULL,
        dataset_id VARCHAR NOT NULL,
        created TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (key_id, dataset_id)
    )""",
]

# Sets root_left_xact of the per-trace index entries ``where`` selects (SQL over ``t``,
# the traces table; the same condition over the history rows ``h``) whose trace has live
# spans but no live root, and once had a root span (in history): the newest write to a row
# that was once its root.
ROOT_LEFT_SQL = """UPDATE traces t SET root_left_xact = r.xact
    FROM (SELECT h.object_type, h.object_id, r.root_span_id, max(h._xact_id) AS xact
          FROM (SELECT DISTINCT object_type, object_id, id, root_span_id FROM history h
                WHERE is_root AND NOT _object_delete AND {where_h}) r
          JOIN history h USING (object_type, object_id, id)
          GROUP BY ALL) r
    WHERE {where} AND t.object_type = r.object_type AND t.object_id = r.object_id
      AND t.root_span_id = r.root_span_id
      AND NOT EXISTS (SELECT 1 FROM live l WHERE l.object_type = t.object_type
          AND l.object_id = t.object_id AND l.root_span_id = t.root_span_id AND l.is_root)"""

# Statements run once per database (recorded in ``meta`` under their name), for data that
# older versions left behind.
ONCE = [
    # Deletes left the per-trace index entry of a trace without rows (fixed in the writer):
    # it took a place on pages of traces, and a traces or summary page came short and ended
    # the paging.
    (
        "traces_without_rows_dropped",
        """DELETE FROM traces t WHERE NOT EXISTS (SELECT 1 FROM live l
               WHERE l.object_type = t.object_type AND l.object_id = t.object_id
                 AND l.root_span_id = t.root_span_id)""",
    ),
    # The traces whose root span left them before root_left_xact was kept: it is the
    # newest write to a row that was once their root (that write, or a later one).
    ("traces_root_left_filled", ROOT_LEFT_SQL.format(where="true", where_h="true")),
]
