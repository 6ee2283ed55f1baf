"""The control plane: organizations, API keys, projects, datasets and experiments.

Every lookup takes the caller's organization id. An object of another organization is
reported exactly like a missing one (NotFound), so ids cannot be probed across tenants.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import duckdb
import orjson

from tracelake.errors import Conflict, Forbidden, InvalidRequest, NotFound
from tracelake.model.ids import new_object_id
from tracelake.model.merge import merge_values
from tracelake.model.names import MAX_NAME_LENGTH, require_name
from tracelake.model.objects import ObjectRef, ObjectType
from tracelake.model.rows import check_depth
from tracelake.store import dataset_meta
from tracelake.store.store import Store
from tracelake.store.writer import ObjectInfo

ROLES = ("admin", "write", "read")
KEY_PREFIX = "tl-"
KEY_FIELDS = ("id", "org_id", "name", "role", "preview_name", "created", "revoked_at")
TS = "strftime({col}, '%Y-%m-%dT%H:%M:%S.%fZ')"
RESOLVED_CACHE_SIZE = 4096
# Characters of a free text kept beside an object and sent back in every list of it (a review
# note, a tag's or score configuration's description): a bound a person's text stays within.
MAX_TEXT_LENGTH = 65_536
# Room for the "-n" a taken experiment name gets (n below 10**20).
_MAX_SUFFIX_LENGTH = 21

log = logging.getLogger("tracelake")


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the organization and the role of the API key used."""

    org_id: str
    org_name: str
    role: str
    key_id: str
    # The user this key acts as: its name (the server has no user accounts; see reviews.py).
    user: str = ""

    @property
    def can_write(self) -> bool:
        return self.role in ("admin", "write")

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True)
class ObjectKind:
    """How one catalog table is shaped (projects, datasets, experiments)."""

    table: str
    columns: tuple[str, ...]  # plain columns besides id/org_id/created/deleted_at
    json_columns: tuple[str, ...] = ()
    name_scope: str = "org_id"  # names are unique within this column

    patchable: dict = field(default_factory=dict)  # field -> the type PATCH accepts

    @property
    def what(self) -> str:
        return self.table[:-1]


PROJECTS = ObjectKind(
    "projects",
    ("name", "description", "user_id"),
    ("settings",),
    patchable={"name": str, "description": str, "settings": dict},
)
DATASETS = ObjectKind(
    "datasets",
    ("project_id", "name", "description", "user_id", "tags"),
    ("metadata",),
    "project_id",
    patchable={"name": str, "description": str, "metadata": dict, "tags": list},
)
EXPERIMENTS = ObjectKind(
    "experiments",
    (
        "project_id",
        "name",
        "description",
        "base_exp_id",
        "dataset_id",
        "dataset_version",
        "public",
        "tags",
        "user_id",
    ),
    ("repo_info", "metadata"),
    "project_id",
    patchable={
        "name": str,
        "description": str,
        "repo_info": dict,
        "base_exp_id": str,
        "dataset_id": str,
        "dataset_version": (str, int),
        "public": bool,
        "metadata": dict,
        "tags": list,
    },
)
AUTOMATIONS = ObjectKind(
    "automations",
    ("project_id", "name", "description", "user_id"),
    ("config",),
    "project_id",
    patchable={"name": str, "description": str, "config": dict},
)
KIND_OF = {ObjectType.DATASET: DATASETS, ObjectType.EXPERIMENT: EXPERIMENTS}


# Datasets and experiments of a deleted project are gone with it.
_LIVE_PROJECT = " AND t.project_id IN (SELECT id FROM projects WHERE deleted_at IS NULL)"


MAX_LIST_LIMIT = 2**62
# Patchable columns that are NOT NULL, by table (a null name is refused by its own check;
# a project score's config may be null).
_NOT_NULL = frozenset({("experiments", "public"), ("automations", "config")})


def seq_page(
    alias: str,
    table: str,
    where: list[str],
    params: list[Any],
    *,
    org_id: str,
    ids: list[str] | None,
    limit: int | None,
    starting_after: str | None,
    ending_before: str | None,
) -> tuple[str, bool]:
    """The `` WHERE … ORDER BY … LIMIT`` of a Stainless-style list, newest first by the
    ``seq`` column of ``table`` (aliased ``alias``): ``ids`` (repeated, or comma-separated
    as braintrust-api sends them), then the cursor ids (objects of ``org_id``; see
    ``check_page_ids``). Adds to ``where`` and ``params``; also returns whether the rows
    come oldest first (``ending_before``: reverse them)."""
    if limit is not None and limit < 0:
        raise InvalidRequest("limit must not be negative")
    if starting_after is not None and ending_before is not None:
        # Braintrust's lists take one cursor (an empty page was the answer to both).
        raise InvalidRequest("pass only one of starting_after and ending_before")
    if ids:
        where.append(f"list_contains(?, {alias}.id)")
        params.append([part for value in ids for part in value.split(",") if part])
    ascending = False
    if starting_after is not None:
        where.append(f"{alias}.seq < (SELECT seq FROM {table} WHERE id = ? AND org_id = ?)")
        params += [starting_after, org_id]
    if ending_before is not None:
        where.append(f"{alias}.seq > (SELECT seq FROM {table} WHERE id = ? AND org_id = ?)")
        params += [ending_before, org_id]
        ascending = True
    clause = " WHERE " + " AND ".join(where)
    clause += f" ORDER BY {alias}.seq {'ASC' if ascending else 'DESC'}"
    if limit is not None:
        # Past any count of rows, a limit changes nothing (and DuckDB refuses one past int64).
        clause += f" LIMIT {min(int(limit), MAX_LIST_LIMIT)}"
    return clause, ascending


def filter_items(items: list[dict], *, ids: list[str] | None = None, **equal) -> list[dict]:
    """The items of a short list held whole (API keys, organizations, users) that a list's
    filters keep: ``ids`` (any of them: repeated, or comma-separated as braintrust-api sends
    them; a user's id is its name, which may hold a comma, so a whole value matches too), and
    each field given (not None) equal to its value. Filters the client sends and the route
    left out were ignored: every item came back."""
    if ids is not None:
        wanted = set(ids) | {part for value in ids for part in value.split(",") if part}
        items = [item for item in items if item["id"] in wanted]
    for name, value in equal.items():
        if value is not None:
            items = [item for item in items if item.get(name) == value]
    return items


def page_items(
    items: list[dict],
    what: str,
    *,
    limit: int | None,
    starting_after: str | None,
    ending_before: str | None,
) -> list[dict]:
    """A Stainless-style page of a short list held whole (API keys, organizations, users),
    by item id, in the list's order: as ``seq_page`` pages the tables. Clients page on until
    a page comes back empty, so ``starting_after`` must leave out what came before (it was
    ignored: the same page came back for ever). An id not in the list is a mistake
    (InvalidRequest), as ``check_page_ids`` says."""
    if limit is not None and limit < 0:
        raise InvalidRequest("limit must not be negative")
    ids = [item["id"] for item in items]
    start, end = 0, len(items)
    for name, value in (("starting_after", starting_after), ("ending_before", ending_before)):
        if value is None:
            continue
        if value not in ids:
            raise InvalidRequest(
                f"{name}: no {what} {value!r} (pass the id of an object of the previous page)"
            )
        if name == "starting_after":
            start = ids.index(value) + 1
        else:
            end = ids.index(value)
    chosen = items[start:end]
    if limit is None:
        return chosen
    # ending_before alone: the items just before it (the client pages backwards)
    if ending_before is not None and starting_after is None:
        return chosen[max(0, len(chosen) - limit) :]
    return chosen[:limit]


def check_page_ids(
    c, table: str, org_id: str, what: str, starting_after: str | None, ending_before: str | None
) -> None:
    """For a list page that came back empty: a cursor id that names no object of ``table``
    in the organization was a mistake, not the end of the list (InvalidRequest)."""
    for name, value in (("starting_after", starting_after), ("ending_before", ending_before)):
        if value is None:
            continue
        found = c.execute(
            f"SELECT 1 FROM {table} WHERE id = ? AND org_id = ?", [value, org_id]
        ).fetchone()
        if found is None:
            raise InvalidRequest(
                f"{name}: no {what} {value!r} (pass the id of an object of the previous page)"
            )


def hash_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


class Catalog:
    """Catalog operations over a Store. Safe to call from any thread."""

    def __init__(self, store: Store):
        self.store = store
        # Every active key, by hash (None: to be read again), and the number of key changes
        # so far: see ``authenticate``.
        self._keys: dict[str, Principal] | None = None
        self._keys_version = 0
        # (what, org, id or name) -> (store generation, object id): see ``resolved``.
        self._resolved: dict[tuple, tuple[int, str]] = {}
        # ref -> (store generation, org id, object info): see ``object_info``.
        self._object_cache: dict[ObjectRef, tuple[int, str, ObjectInfo]] = {}
        self._lock = threading.Lock()
        # Held by every change that reads what it changes first: a name checked free before
        # its insert or rename, a stored value merged with a patch. DuckDB's transactions
        # do not lock, and two inserts of one name (names are unique only among live
        # objects, which no index can say) both commit; so such changes run one at a time
        # (re-entrant: a create-or-get calls ``insert_object`` under it).
        self.changing = threading.RLock()

    # -- organizations and keys --------------------------------------------------------------

    def create_org(self, name: str) -> dict:
        name = require_name(name, "organization name")

        def txn(c):
            if c.execute("SELECT 1 FROM organizations WHERE name = ?", [name]).fetchone():
                raise Conflict(f"organization {name!r} already exists")
            org_id = new_object_id()
            c.execute("INSERT INTO organizations VALUES (?, ?, now())", [org_id, name])
            return org_id

        org_id = self.store.transact(txn)
        return self.get_org(org_id)

    def get_org(self, org_id: str) -> dict:
        row = self.store.read(
            lambda c: c.execute(
                f"SELECT id, name, {TS.format(col='created')} FROM organizations WHERE id = ?",
                [org_id],
            ).fetchone()
        )
        if row is None:
            raise NotFound("organization not found")
        return {"id": row[0], "name": row[1], "created": row[2]}

    def find_org(self, name: str) -> dict | None:
        row = self.store.read(
            lambda c: c.execute("SELECT id FROM organizations WHERE name = ?", [name]).fetchone()
        )
        return self.get_org(row[0]) if row else None

    def first_org_id(self) -> str | None:
        """The organization ``tracelake serve`` created on first start: its admins administer
        the server (create organizations, act with the server's own authority)."""
        row = self.store.read(
            lambda c: c.execute("SELECT id FROM organizations ORDER BY created LIMIT 1").fetchone()
        )
        return row[0] if row else None

    def list_orgs(self) -> list[dict]:
        rows = self.store.read(
            lambda c: c.execute(
                f"SELECT id, name, {TS.format(col='created')} FROM organizations ORDER BY created"
            ).fetchall()
        )
        return [{"id": r[0], "name": r[1], "created": r[2]} for r in rows]

    def create_key(
        self, org_id: str, name: str = "default", role: str = "admin", plaintext: str | None = None
    ) -> tuple[dict, str]:
        """Create an API key; returns its record and the plaintext (shown only once)."""
        check_key(name, role)
        self.get_org(org_id)
        plaintext = plaintext or generate_key()
        if len(plaintext) < 16:
            raise InvalidRequest("an API key must be at least 16 characters long")
        key_id = new_object_id()
        digest = hash_key(plaintext)
        preview = plaintext[:6] + "…" + plaintext[-4:]

        def txn(c):
            if c.execute("SELECT 1 FROM api_keys WHERE key_hash = ?", [digest]).fetchone():
                raise Conflict("that API key is already registered")
            c.execute(
                "INSERT INTO api_keys VALUES (?, ?, ?, ?, ?, ?, now(), NULL)",
                [key_id, org_id, name, role, digest, preview],
            )

        self.store.transact(txn)
        self._keys_changed()
        return self.get_key(org_id, key_id), plaintext

    def get_key(self, org_id: str, key_id: str) -> dict:
        keys = [k for k in self.list_keys(org_id, include_revoked=True) if k["id"] == key_id]
        if not keys:
            raise NotFound("API key not found")
        return keys[0]

    def list_keys(self, org_id: str, include_revoked: bool = False) -> list[dict]:
        rows = self.store.read(
            lambda c: c.execute(
                f"""SELECT id, org_id, name, role, preview, {TS.format(col="created")},
                           {TS.format(col="revoked_at")}
                    FROM api_keys WHERE org_id = ? ORDER BY created""",
                [org_id],
            ).fetchall()
        )
        keys = [dict(zip(KEY_FIELDS, r, strict=True)) for r in rows]
        return [k for k in keys if include_revoked or k["revoked_at"] is None]

    def revoke_key(self, org_id: str, key_id: str) -> dict:
        def txn(c):
            row = c.execute(
                "SELECT key_hash FROM api_keys WHERE id = ? AND org_id = ? AND revoked_at IS NULL",
                [key_id, org_id],
            ).fetchone()
            if row is None:
                raise NotFound("API key not found")
            c.execute("UPDATE api_keys SET revoked_at = now() WHERE id = ?", [key_id])
            return row[0]

        self.store.transact(txn)
        self._keys_changed()
        return self.get_key(org_id, key_id)

    def _keys_changed(self) -> None:
        """A key was created or revoked (committed): the key table is read again."""
        with self._lock:
            self._keys_version += 1
            self._keys = None

    def is_revoked(self, plaintext: str) -> bool:
        """Whether ``plaintext`` is a key that was registered and then revoked."""
        row = self.store.read(
            lambda c: c.execute(
                "SELECT 1 FROM api_keys WHERE key_hash = ? AND revoked_at IS NOT NULL",
                [hash_key(plaintext)],
            ).fetchone()
        )
        return row is not None

    def authenticate(self, plaintext: str) -> Principal | None:
        """The principal for an API key, or None. Every request checks its key, so the
        active keys are held in memory, read once after each key change: an unknown key
        costs no database read (each one read the catalog on the event loop, so a client
        sending random keys held up every other request), and memory holds only registered
        keys (a cache of every key anyone sent grew without bound). Revoking a key drops the
        table before it returns, so a revoked key stops working at once."""
        digest = hash_key(plaintext)
        with self._lock:
            keys, version = self._keys, self._keys_version
        if keys is None:
            keys = self._read_keys()
            with self._lock:
                # A key created or revoked during the read may be missing from it (or still
                # active in it): it is kept only if no key changed meanwhile. (A revoked key
                # cached as active kept working until the server restarted.)
                if self._keys_version == version:
                    self._keys = keys
        return keys.get(digest)

    def _read_keys(self) -> dict[str, Principal]:
        rows = self.store.read(
            lambda c: c.execute(
                """SELECT k.key_hash, k.org_id, o.name, k.role, k.id, k.name
                   FROM api_keys k JOIN organizations o ON o.id = k.org_id
                   WHERE k.revoked_at IS NULL"""
            ).fetchall()
        )
        return {
            r[0]: Principal(org_id=r[1], org_name=r[2], role=r[3], key_id=r[4], user=r[5])
            for r in rows
        }

    def resolved(self, key: tuple, resolve: Callable[[], str]) -> str:
        """``resolve()`` (an object id a query names), remembered until the catalog next
        changes: every query resolves its source, and a catalog read costs ~1 ms."""
        generation = self.store.generation  # read first: a later change makes it stale
        with self._lock:
            hit = self._resolved.get(key)
        if hit is not None and hit[0] == generation:
            return hit[1]
        object_id = resolve()
        with self._lock:
            if len(self._resolved) >= RESOLVED_CACHE_SIZE:
                self._resolved.clear()
            self._resolved[key] = (generation, object_id)
        return object_id

    # -- projects, datasets, experiments -----------------------------------------------------

    def create_project(
        self, org_id: str, name: str, description: str | None = None, *, may_create: bool = True
    ) -> dict:
        """Create-or-get by name: an existing project is returned unmodified. Without
        ``may_create`` (a read-only key) only an existing one is returned."""
        name = require_name(name, "project name")
        with self.changing:
            existing = self._find_by_name(PROJECTS, org_id, name)
            if existing:
                return existing
            _check_may_create(may_create)
            fields = {"name": name, "description": description}
            return self.insert_object(PROJECTS, org_id, fields)

    def get_project(self, org_id: str, project_id: str) -> dict:
        return self.get(PROJECTS, org_id, project_id)

    def project_by_name(self, org_id: str, name: str) -> dict:
        project = self._find_by_name(PROJECTS, org_id, name)
        if project is None:
            raise NotFound(f"project {name!r} not found")
        return project

    def create_dataset(
        self,
        org_id: str,
        project_id: str,
        name: str,
        description: str | None = None,
        metadata: dict | None = None,
        *,
        tags: list | None = None,
        may_create: bool = True,
    ) -> dict:
        """Create-or-get by (project, name); without ``may_create`` only get."""
        name = require_name(name, "dataset name")
        tags = _check_tags(tags)
        self.get_project(org_id, project_id)
        fields = {
            "project_id": project_id,
            "name": name,
            "description": description,
            "metadata": metadata,
            "tags": tags,
        }
        with self.changing:
            existing = self._find_by_name(DATASETS, project_id, name)
            if existing:
                return existing
            _check_may_create(may_create)
            return self.insert_object(DATASETS, org_id, fields)

    def create_experiment(
        self,
        org_id: str,
        project_id: str,
        fields: dict,
        ensure_new: bool,
        *,
        may_create: bool = True,
        ancestor_commits: list[str] | None = None,
    ):
        """Create an experiment; with ``ensure_new`` a taken name gets a numeric suffix,
        otherwise an experiment with that name is returned unmodified. Without
        ``may_create`` only an existing one is returned.

        ``ancestor_commits`` (the SDKs send the git commits the code descends from, nearest
        first, when no base is named) picks the base as Braintrust does, from git history:
        the newest experiment of the project run at the nearest of those commits."""
        self.get_project(org_id, project_id)
        if fields.get("tags") is not None:
            fields = {**fields, "tags": _check_tags(fields["tags"])}
        name = fields.get("name")
        name = "experiment" if name is None else require_name(name, "experiment name")
        fields = {**fields, "project_id": project_id}
        fields.setdefault("public", False)
        if fields.get("base_exp_id") is None and ancestor_commits:
            base = self._experiment_at_commits(project_id, ancestor_commits)
            if base is not None:
                fields["base_exp_id"] = base
        with self.changing:
            if fields.get("name") is not None:
                existing = self._find_by_name(EXPERIMENTS, project_id, name)
                if existing and not ensure_new:
                    return existing
            _check_may_create(may_create)
            fields["name"] = self._free_name(project_id, name)
            return self.insert_object(EXPERIMENTS, org_id, fields)

    def _experiment_at_commits(self, project_id: str, commits: list[str]) -> str | None:
        """The newest live experiment of the project whose ``repo_info.commit`` is the
        earliest of ``commits`` that has one."""
        row = self.store.read(
            lambda c: c.execute(
                """SELECT id FROM experiments
                   WHERE project_id = ? AND deleted_at IS NULL
                     AND list_contains(?::VARCHAR[], json_extract_string(repo_info, '$.commit'))
                   ORDER BY list_position(?::VARCHAR[], json_extract_string(repo_info, '$.commit')),
                            seq DESC
                   LIMIT 1""",
                [project_id, commits, commits],
            ).fetchone()
        )
        return row[0] if row else None

    def base_experiment(self, org_id: str, experiment_id: str) -> dict | None:
        """The experiment to compare against: the one named by ``base_exp_id``, else the
        project's default baseline (``settings.baseline_experiment_id``, Braintrust's project
        setting, also what the web UI compares with), else the newest earlier experiment of
        the same project. A named one since deleted (or the experiment itself) counts as none."""
        experiment = self.get(EXPERIMENTS, org_id, experiment_id)
        if experiment.get("base_exp_id") and experiment["base_exp_id"] != experiment_id:
            try:
                return self.get(EXPERIMENTS, org_id, experiment["base_exp_id"])
            except NotFound:
                pass  # deleted: compare as if none were named
        settings = self.get_project(org_id, experiment["project_id"]).get("settings") or {}
        default = settings.get("baseline_experiment_id")
        if isinstance(default, str) and default != experiment_id:
            try:
                found = self.get(EXPERIMENTS, org_id, default)
            except NotFound:
                found = None
            if found is not None and found["project_id"] == experiment["project_id"]:
                return found
        rows = self.store.read(
            lambda c: self._rows(
                c,
                EXPERIMENTS,
                self._select_sql(EXPERIMENTS) + " WHERE t.project_id = ? AND t.deleted_at IS NULL"
                " AND t.seq < (SELECT seq FROM experiments WHERE id = ?)"
                " ORDER BY t.seq DESC LIMIT 1",
                [experiment["project_id"], experiment_id],
            )
        )
        return rows[0] if rows else None

    def get_object(self, org_id: str, ref: ObjectRef) -> dict:
        if ref.object_type is ObjectType.PROJECT_LOGS:
            return self.get_project(org_id, ref.object_id)
        return self.get(KIND_OF[ref.object_type], org_id, ref.object_id)

    def object_info(self, org_id: str, ref: ObjectRef) -> ObjectInfo:
        """Organization and project of an event container. Objects never move, but they are
        deleted (by a route, or by a retention run straight in SQL), so the answer is cached
        only until the catalog next changes, as ``resolved`` does."""
        generation = self.store.generation  # read first: a later change makes it stale
        with self._lock:
            hit = self._object_cache.get(ref)
        if hit is None or hit[0] != generation:
            obj = self.get_object(org_id, ref)
            info = ObjectInfo(
                org_id=org_id,
                project_id=obj["id"]
                if ref.object_type is ObjectType.PROJECT_LOGS
                else obj["project_id"],
            )
            hit = (generation, org_id, info)
            with self._lock:
                if len(self._object_cache) >= RESOLVED_CACHE_SIZE:
                    self._object_cache.clear()
                self._object_cache[ref] = hit
        if hit[1] != org_id:
            # Word it exactly as a miss does, so foreign ids cannot be told from missing ones.
            what = "project" if ref.object_type is ObjectType.PROJECT_LOGS else ref.object_type
            raise NotFound(f"{what} {ref.object_id!r} not found")
        return hit[2]

    def update_object(
        self,
        kind: ObjectKind,
        org_id: str,
        object_id: str,
        patch: dict,
        *,
        merge_objects: bool = False,
    ) -> dict:
        """Change the given fields of an object; every value is checked before any is stored.

        With ``merge_objects`` (Braintrust's PATCH of a project, dataset or experiment: "any
        object-type fields will be deep-merged with existing content") an object sent for an
        object field (``metadata``, ``repo_info``, ``settings``) is merged key by key into the
        stored one; anything else (a scalar, an array, null) replaces what it meets."""
        with self.changing:
            current = self.get(kind, org_id, object_id)
            for name, value in patch.items():
                expected = kind.patchable.get(name)
                if expected is None:
                    raise InvalidRequest(f"cannot update field {name!r}")
                if value is None and (kind.table, name) in _NOT_NULL:
                    raise InvalidRequest(f"field {name!r} cannot be null")
                if value is not None and not _is_type(value, expected):
                    raise InvalidRequest(f"field {name!r} must be {_TYPE_NAMES[expected]}")
            if patch.get("tags") is not None:
                patch = {**patch, "tags": _check_tags(patch["tags"])}
            if patch.get("dataset_id") is not None:
                self.get_referenced(DATASETS, org_id, patch["dataset_id"], "dataset_id")
            if "dataset_id" in patch and "dataset_version" not in patch:
                if patch["dataset_id"] != current.get("dataset_id"):
                    # The version was one of the old dataset (a snapshot name of it, or
                    # one of its _xact_ids): another dataset, or none, is read at its latest.
                    patch = {**patch, "dataset_version": None}
            if "dataset_version" in patch and patch["dataset_version"] is not None:
                dataset_id = patch.get("dataset_id", current.get("dataset_id"))
                version = self.dataset_version(dataset_id, patch["dataset_version"])
                patch = {**patch, "dataset_version": version}
            if patch.get("base_exp_id") is not None:
                if patch["base_exp_id"] == object_id:
                    # Its summary would compare it with itself: no change, ever.
                    raise InvalidRequest("an experiment cannot be its own base experiment")
                self.get_referenced(EXPERIMENTS, org_id, patch["base_exp_id"], "base_exp_id")
            if "name" in patch and patch["name"] == current["name"]:
                # (not checked: an object named before names were checked can be edited)
                patch = {k: v for k, v in patch.items() if k != "name"}
            if "name" in patch:
                name = require_name(patch["name"], "name")
                scope = current[kind.name_scope] if kind.name_scope != "org_id" else org_id
                clash = self._find_by_name(kind, scope, name)
                if clash and clash["id"] != object_id:
                    raise InvalidRequest(f"the name {name!r} is already taken")
            if not patch:
                return current
            if merge_objects:
                patch = {
                    name: merge_values(current.get(name), value, set(), (name,))
                    if name in kind.json_columns
                    else value
                    for name, value in patch.items()
                }
            sets = ", ".join(f"{k} = ?" for k in patch)
            values = [_to_db(kind, k, v) for k, v in patch.items()]
            self.store.transact(
                lambda c: c.execute(
                    f"UPDATE {kind.table} SET {sets} WHERE id = ?", [*values, object_id]
                )
            )
            return self.get(kind, org_id, object_id)

    def delete_object(
        self, kind: ObjectKind, org_id: str, object_id: str, *, only_if_empty: bool = False
    ) -> dict:
        """Soft delete: the object disappears from reads; its events stay until purged.

        With ``only_if_empty`` nothing anyone wrote may go with it (409 otherwise): a dataset
        or experiment must hold no rows or comments, a project no live datasets, experiments,
        automations, tags or scores and no logs. The check and the delete run on the writer
        thread, so no event write commits between them."""
        self.get(kind, org_id, object_id)

        def delete(c):
            if only_if_empty and (held := _held_by(c, kind, object_id)):
                raise Conflict(f"the {kind.what} {object_id} holds {held}: not deleted")
            c.execute(f"UPDATE {kind.table} SET deleted_at = now() WHERE id = ?", [object_id])

        if only_if_empty:
            self.store.exclusive(delete)
        else:
            self.store.transact(delete)
        return self.store.read(lambda c: self._fetch_one(c, kind, object_id, deleted=True))

    def list_objects(
        self,
        kind: ObjectKind,
        org_id: str,
        *,
        name: str | None = None,
        project_id: str | None = None,
        project_name: str | None = None,
        ids: list[str] | None = None,
        limit: int | None = None,
        starting_after: str | None = None,
        ending_before: str | None = None,
        one_of: dict[str, list[str]] | None = None,
    ) -> list[dict]:
        """Objects newest first, with Stainless-style cursor paging by object id.
        ``one_of`` keeps the objects whose column (one of the kind's) holds one of the
        values."""
        where = ["t.org_id = ?", "t.deleted_at IS NULL"]
        if kind is not PROJECTS:
            where.append(_LIVE_PROJECT.removeprefix(" AND "))
        params: list[Any] = [org_id]
        if name is not None:
            where.append("t.name = ?")
            params.append(name)
        for column, values in (one_of or {}).items():
            assert column in kind.columns, column
            where.append(f"list_contains(?, t.{column})")
            params.append(values)
        if kind is not PROJECTS:
            if project_name is not None:
                project_id_by_name = self._find_by_name(PROJECTS, org_id, project_name)
                if project_id_by_name is None:
                    return []
                if project_id is not None and project_id != project_id_by_name["id"]:
                    return []
                project_id = project_id_by_name["id"]
            if project_id is not None:
                where.append("t.project_id = ?")
                params.append(project_id)
        clause, ascending = seq_page(
            "t",
            kind.table,
            where,
            params,
            org_id=org_id,
            ids=ids,
            limit=limit,
            starting_after=starting_after,
            ending_before=ending_before,
        )
        sql = self._select_sql(kind) + clause

        def page(c):
            rows = self._rows(c, kind, sql, params)
            if not rows and limit != 0:
                check_page_ids(c, kind.table, org_id, kind.what, starting_after, ending_before)
            return rows

        rows = self.store.read(page)
        if ascending:
            rows.reverse()
        return rows

    # -- internals ----------------------------------------------------------------------------

    def _free_name(self, scope: str, name: str) -> str:
        """``name``, or if it is taken ``name-1``, ``name-2``… with ``name`` cut short so
        that the result stays within the name limit."""
        stem = name[: MAX_NAME_LENGTH - _MAX_SUFFIX_LENGTH]  # what every candidate starts with
        taken = {
            r[0]
            for r in self.store.read(
                lambda c: c.execute(
                    "SELECT name FROM experiments WHERE project_id = ? AND starts_with(name, ?)"
                    " AND deleted_at IS NULL",  # a deleted experiment's name is free again
                    [scope, stem],
                ).fetchall()
            )
        }
        if name not in taken:
            return name
        n = 1
        while _numbered(name, n) in taken:
            n += 1
        return _numbered(name, n)

    def _select_sql(self, kind: ObjectKind) -> str:
        cols = ["t.id", "t.org_id"]
        cols += [f"t.{c}" for c in kind.columns]
        cols += [f"t.{c}::VARCHAR" for c in kind.json_columns]
        cols += [TS.format(col="t.created"), TS.format(col="t.deleted_at")]
        return f"SELECT {', '.join(cols)} FROM {kind.table} t"

    def _rows(self, c: duckdb.DuckDBPyConnection, kind: ObjectKind, sql: str, params) -> list[dict]:
        names = ["id", "org_id", *kind.columns, *kind.json_columns, "created", "deleted_at"]
        result = []
        for row in c.execute(sql, params).fetchall():
            record = dict(zip(names, row, strict=True))
            for col in kind.json_columns:
                if record[col] is not None:
                    record[col] = orjson.loads(record[col])
            result.append(record)
        return result

    def _fetch_one(self, c, kind: ObjectKind, object_id: str, deleted: bool = False):
        sql = self._select_sql(kind) + " WHERE t.id = ?"
        if not deleted:
            sql += " AND t.deleted_at IS NULL"
            if kind is not PROJECTS:
                sql += _LIVE_PROJECT
        rows = self._rows(c, kind, sql, [object_id])
        return rows[0] if rows else None

    def get(self, kind: ObjectKind, org_id: str, object_id: str) -> dict:
        """One object of the organization (NotFound for a missing or foreign one)."""
        record = self.store.read(lambda c: self._fetch_one(c, kind, object_id))
        if record is None or record["org_id"] != org_id:
            raise NotFound(f"{kind.what} {object_id!r} not found")
        return record

    def dataset_version(self, dataset_id: str | None, value: Any) -> str:
        """An experiment's ``dataset_version`` as stored: an ``_xact_id`` (digits, as the
        SDKs send a dataset's version; "0" for a dataset with no rows) or a snapshot name of
        the experiment's dataset. Anything else is a 400 (it named no version to read)."""
        text = str(value).strip() if isinstance(value, int | str) else ""
        if not isinstance(value, bool) and text.isascii() and text.isdigit():
            if int(text) < 2**64:  # (what a read pinned at a version takes)
                return text
        elif isinstance(value, str) and value and dataset_id is not None:
            try:
                dataset_meta.get_snapshot(self.store, dataset_id, value)
                return value
            except NotFound:
                pass
        raise InvalidRequest(
            f"dataset_version={value!r} is not a version: give an _xact_id (a decimal number)"
            " or a snapshot name of the experiment's dataset (dataset_id)"
        )

    def get_referenced(self, kind: ObjectKind, org_id: str, object_id: str, field: str) -> dict:
        """The object a field of a request names (``base_exp_id``, ``dataset_id``): NotFound
        names the field, so that it is not read as the object the request is about."""
        try:
            return self.get(kind, org_id, object_id)
        except NotFound:
            raise NotFound(f"{field}: {kind.what} {object_id!r} not found") from None

    def find(self, kind: ObjectKind, object_id: str) -> dict | None:
        """One live object of any organization, or None (for background work, which acts
        for the object's own organization)."""
        return self.store.read(lambda c: self._fetch_one(c, kind, object_id))

    def _find_by_name(self, kind: ObjectKind, scope: str, name: str) -> dict | None:
        sql = self._select_sql(kind) + (
            f" WHERE t.{kind.name_scope} = ? AND t.name = ? AND t.deleted_at IS NULL"
        )
        rows = self.store.read(lambda c: self._rows(c, kind, sql, [scope, name]))
        return rows[0] if rows else None

    def insert_object(self, kind: ObjectKind, org_id: str, fields: dict) -> dict:
        """Insert an object, or return the one a concurrent create of the same name made."""
        object_id = new_object_id()
        cols = [c for c in (*kind.columns, *kind.json_columns) if c in fields]
        values = [_to_db(kind, c, fields[c]) for c in cols]
        placeholders = ", ".join("?" for _ in cols)
        scope = org_id if kind.name_scope == "org_id" else fields[kind.name_scope]

        def txn(c):
            # Re-check inside the transaction: two concurrent create-or-gets of one name.
            clash = c.execute(
                f"SELECT id FROM {kind.table} WHERE {kind.name_scope} = ? AND name = ?"
                " AND deleted_at IS NULL",
                [scope, fields["name"]],
            ).fetchone()
            if clash:
                return clash[0]
            c.execute(
                f"INSERT INTO {kind.table} (id, org_id, {', '.join(cols)}, created, seq)"
                f" VALUES (?, ?, {placeholders}, now(), nextval('object_seq'))",
                [object_id, org_id, *values],
            )
            return object_id

        try:
            with self.changing:
                created_id = self.store.transact(txn)
        except duckdb.TransactionException:
            # A concurrent create of the same name won; return that one.
            existing = self._find_by_name(kind, scope, fields["name"])
            if existing is None:
                raise
            return existing
        return self.store.read(lambda c: self._fetch_one(c, kind, created_id))


# What a project holds besides its logs (live rows of these tables name it).
_PROJECT_CHILDREN = ("datasets", "experiments", "automations", "project_tags", "project_scores")
_EVENT_TYPES = {"projects": "project_logs", "datasets": "dataset", "experiments": "experiment"}


def _held_by(c: duckdb.DuckDBPyConnection, kind: ObjectKind, object_id: str) -> str | None:
    """What anyone wrote into the object (``'3 rows'``), or None if it is empty."""
    counts = []
    if kind.table == "projects":
        for table in _PROJECT_CHILDREN:
            sql = f"SELECT count(*) FROM {table} WHERE project_id = ? AND deleted_at IS NULL"
            counts.append((table.removeprefix("project_"), sql, [object_id]))
    for table, what in (("history", "rows"), ("comments", "comments")):
        sql = f"SELECT count(*) FROM {table} WHERE object_type = ? AND object_id = ?"
        counts.append((what, sql, [_EVENT_TYPES[kind.table], object_id]))
    for what, sql, params in counts:
        (n,) = c.execute(sql, params).fetchone()
        if n:
            return f"{n} {what}" if n != 1 else f"1 {what.removesuffix('s')}"
    return None


_TYPE_NAMES = {
    str: "a string",
    dict: "an object",
    list: "a list",
    bool: "true or false",
    (str, int): "a string or an integer",
}


def _check_tags(tags: list | None) -> list | None:
    """Tags are strings (a number would be stored as its text), each once: a tag given twice
    was stored twice (and shown twice); as a row's tags, the first of each is kept."""
    if tags is not None and not all(isinstance(t, str) for t in tags):
        raise InvalidRequest("field 'tags' must be a list of strings")
    return None if tags is None else list(dict.fromkeys(tags))


def _is_type(value: Any, expected) -> bool:
    if isinstance(value, bool) and expected is not bool:
        return False
    return isinstance(value, expected)


def _to_db(kind: ObjectKind, column: str, value: Any) -> Any:
    if column in kind.json_columns and value is not None:
        check_depth(value, f"field {column!r}")
        return orjson.dumps(value).decode()
    return value


def _check_may_create(may_create: bool) -> None:
    if not may_create:
        raise Forbidden("this API key is read-only")


def check_key(name: Any, role: Any) -> None:
    """What a new API key's name and role must be (the CLI checks them before it opens, or
    makes, a data dir)."""
    if role not in ROLES:
        raise InvalidRequest(f"role must be one of {', '.join(ROLES)}")
    if not isinstance(name, str) or not name.strip():
        raise InvalidRequest("a key needs a name (review items are assigned by it)")
    # As every name (it is the user the key acts as: views, review items, /v1/user): no
    # white space around it (' ci' and 'ci' looked the same in `keys list` and as an
    # assignee, yet only the exact name found it), and not too long.
    require_name(name, "key name")
    if name == "me":
        raise InvalidRequest("'me' cannot name a key: it means the caller's own key")


def _numbered(name: str, n: int) -> str:
    """``name-n``, with ``name`` cut short to keep it within the name limit."""
    suffix = f"-{n}"
    return name[: MAX_NAME_LENGTH - len(suffix)] + suffix


def bootstrap(catalog: Catalog, org_name: str, api_key: str | None) -> str | None:
    """On an empty database create the first organization and its admin key.

    Returns the plaintext of a generated key (to print once), or None when nothing was
    generated. A key given in ``api_key`` is registered if it is not known yet, so a server
    started with TRACELAKE_API_KEY accepts that key, unless it was revoked: a revoked key
    stays revoked (with a warning), and the server starts for the other keys.
    """
    orgs = catalog.list_orgs()
    if orgs:
        org = orgs[0]
    else:
        org = catalog.create_org(org_name)
    if api_key:
        if catalog.is_revoked(api_key):
            log.warning("TRACELAKE_API_KEY names a revoked API key: it stays revoked")
        elif catalog.authenticate(api_key) is None:
            catalog.create_key(org["id"], name="bootstrap", role="admin", plaintext=api_key)
        return None
    if orgs:
        return None
    _, plaintext = catalog.create_key(org["id"], name="bootstrap", role="admin")
    return plaintext


class CatalogResolver:
    """Finds the objects a query names (by id or name) in one organization; objects of
    other organizations are NotFound, like missing ones."""

    def __init__(self, catalog: Catalog, org_id: str):
        self.catalog = catalog
        self.org_id = org_id

    def project(self, id_or_name: str) -> str:
        return self.catalog.resolved(
            ("project", self.org_id, id_or_name), lambda: self._project(id_or_name)
        )

    def _project(self, id_or_name: str) -> str:
        try:
            return self.catalog.get_project(self.org_id, id_or_name)["id"]
        except NotFound:
            return self.catalog.project_by_name(self.org_id, id_or_name)["id"]

    def object(self, object_type: ObjectType, id_or_name: str, project_id: str | None) -> str:
        return self.catalog.resolved(
            (object_type.value, self.org_id, id_or_name, project_id),
            lambda: self._object(object_type, id_or_name, project_id),
        )

    def _object(self, object_type: ObjectType, id_or_name: str, project_id: str | None) -> str:
        kind = KIND_OF[object_type]
        try:
            record = self.catalog.get(kind, self.org_id, id_or_name)
            if project_id is None or record["project_id"] == project_id:
                return record["id"]
        except NotFound:
            pass
        found = self.catalog.list_objects(kind, self.org_id, name=id_or_name, project_id=project_id)
        if not found:
            raise NotFound(f"{kind.what} {id_or_name!r} not found")
        if len(found) > 1:
            # Which projects have one (it named none, so the query could not be told where
            # to look); a dataset can be named within its project.
            ids = list(dict.fromkeys(o["project_id"] for o in found))
            projects = self.catalog.list_objects(PROJECTS, self.org_id, ids=ids)
            names = sorted(p["name"] for p in projects)
            where = ", ".join(repr(n) for n in names)
            how = "use an id"
            if kind is DATASETS:
                how += f" or project_dataset({_btql_string(names[0])}, {_btql_string(id_or_name)})"
            raise InvalidRequest(
                f"{len(found)} {kind.table} are named {id_or_name!r}, in projects {where}: {how}"
            )
        return found[0]["id"]


def _btql_string(value: str) -> str:
    """``value`` as a BTQL string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"
