"""What CLI commands act on: a running server over HTTP (``RemoteBackend``) or the data dir
opened directly (``LocalBackend``), with the same methods, so a command works either way."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from urllib.parse import quote

import httpx
import orjson
from rich.console import Console

from tracelake.settings import Settings

err_console = Console(stderr=True, soft_wrap=True, markup=False)


class CliError(Exception):
    """Printed as one line, exit code 1."""


def counted(count: int, noun: str) -> str:
    """``1 row``, ``2 rows``, ``1,000 rows``: a count and its noun, singular for one."""
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


MIN_API_KEY_LENGTH = 16  # the catalog's minimum (store/catalog.py create_key)


def check_admin_key(api_key: str | None, name: str = "TRACELAKE_API_KEY") -> None:
    """Refuse a short TRACELAKE_API_KEY before the data dir is opened: it is registered as
    the first organization's admin key wherever it is not known (``serve`` and the commands
    on a data dir), and the catalog's refusal named no setting ("an API key must be at
    least 16 characters long", for a ``keys list``); at a server's startup it was a
    traceback from inside uvicorn."""
    if api_key and len(api_key) < MIN_API_KEY_LENGTH:
        raise CliError(f"{name} must be at least {MIN_API_KEY_LENGTH} characters long")
    if api_key:
        # One with a non-ASCII or control character was registered as an admin key that no
        # client could send (an HTTP header carries neither).
        check_client_key(api_key, name)


def segment(value: str) -> str:
    """``value`` (an id or a name from the command line) as one URL path segment: a ``/``,
    ``?``, ``#`` or ``..`` in it went into the URL as they were, so that ``keys revoke
    ../project/<id>`` deleted a project and a name with ``?`` was cut short."""
    encoded = quote(value, safe="")
    return encoded.replace(".", "%2E") if encoded in (".", "..") else encoded


# -- backends: the same operations against a server or a data dir ---------------------------


def check_url(url: str, name: str) -> None:
    """Refuse a server address no request can go to, naming where it came from: one without
    a scheme ("localhost:8000") was "unsupported protocol 'localhost://'", and one httpx
    cannot parse ("http://[::1") a traceback."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise CliError(f"{name} is not a URL: {url!r} ({exc})") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise CliError(f"{name} must be an http:// or https:// address, not {url!r}")


def check_client_key(api_key: str, name: str) -> None:
    """Refuse a key no HTTP header can carry (a non-ASCII or control character, as pasted
    from a document): it was a UnicodeEncodeError traceback."""
    bad = next((c for c in api_key if not (c.isascii() and c.isprintable())), None)
    if bad is not None:
        raise CliError(f"{name} holds {bad!r}: an API key is ASCII text without control characters")


class RemoteBackend:
    """Calls a running server over HTTP. ``names``: where the URL and the key came from
    (a flag or its environment variable), for the messages about them."""

    def __init__(
        self, url: str, api_key: str | None, names: tuple[str, str] = ("--url", "--api-key")
    ):
        check_url(url, names[0])
        if not api_key:
            raise CliError("talking to a server needs an API key: --api-key or TRACELAKE_API_KEY")
        check_client_key(api_key, names[1])
        self.url = url.rstrip("/")
        self.http = httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {api_key}"}, timeout=60
        )

    def call(self, method: str, path: str, json=None, params=None, *, long: bool = False):
        """One request's JSON answer. ``long``: the answer may take minutes (a run of an
        automation), so no bound on waiting for it: at 60 s the command said it could not
        reach the server while the work went on."""
        timeout = httpx.Timeout(60, read=None) if long else httpx.USE_CLIENT_DEFAULT
        try:
            response = self.http.request(method, path, json=json, params=params, timeout=timeout)
        except httpx.HTTPError as exc:
            raise CliError(f"cannot reach the server at {self.url}: {exc}") from None
        return self._json(response)

    def _json(self, response: httpx.Response):
        """The answer's JSON, or one line: an error, or an answer no tracelake server gives
        (a redirect, a page: a --url naming the web UI's path or another server was a
        JSONDecodeError traceback)."""
        self._check(response)
        try:
            return response.json()
        except ValueError:
            raise CliError(_not_tracelake(response)) from None

    def _check(self, response: httpx.Response) -> None:
        if response.status_code >= 400:
            raise CliError(_server_message(response))
        if response.status_code >= 300:  # (not followed: a redirect answered no rows)
            raise CliError(_not_tracelake(response))

    def list_keys(self):
        return self.call("GET", "/v1/api_key")["objects"]

    def create_key(self, name: str, role: str):
        return self.call("POST", "/v1/api_key", {"name": name, "role": role})

    def revoke_key(self, key_id: str):
        return self.call("DELETE", f"/v1/api_key/{segment(key_id)}")

    def list_orgs(self):
        return self.call("GET", "/v1/organization")["objects"]

    def create_org(self, name: str):
        return self.call("POST", "/v1/organization", {"name": name})

    def create_project(self, name: str):
        return self.call("POST", "/v1/project", {"name": name})

    def has_project(self, name: str) -> bool:
        return bool(self.call("GET", "/v1/project", params={"project_name": name})["objects"])

    def objects(
        self,
        kind: str,
        *,
        name: str | None = None,
        ids: list[str] | None = None,
        project_id: str | None = None,
    ) -> list[dict]:
        """The organization's projects, datasets or experiments (``kind``) of that name or
        those ids (within the project)."""
        params = {f"{kind}_name": name, "ids": ids, "project_id": project_id}
        params = {k: v for k, v in params.items() if v is not None}
        return self.call("GET", f"/v1/{kind}", params=params)["objects"]

    def delete_project(self, project_id: str, only_if_empty: bool = False):
        params = {"if_empty": "true"} if only_if_empty else None
        return self.call("DELETE", f"/v1/project/{segment(project_id)}", params=params)

    def has_dataset(self, project_id: str, name: str) -> bool:
        params = {"project_id": project_id, "dataset_name": name}
        return bool(self.call("GET", "/v1/dataset", params=params)["objects"])

    def create_dataset(self, project_id: str, name: str):
        return self.call("POST", "/v1/dataset", {"project_id": project_id, "name": name})

    def delete_dataset(self, dataset_id: str, only_if_empty: bool = False):
        params = {"if_empty": "true"} if only_if_empty else None
        return self.call("DELETE", f"/v1/dataset/{segment(dataset_id)}", params=params)

    def create_experiment(self, project_id: str, name: str, **fields):
        body = {"project_id": project_id, "name": name, "ensure_new": True, **fields}
        return self.call("POST", "/v1/experiment", body)

    def write_rows(self, rows: list[dict]):
        self.call("POST", "/logs3", {"rows": rows, "api_version": 2})

    def query(self, text: str, fmt: str) -> tuple[bytes, str | None]:
        """Run a query; the answer body and the next cursor."""
        try:
            # (a query runs up to the server's TRACELAKE_QUERY_TIMEOUT_SECONDS, maybe raised)
            response = self.http.post(
                "/btql", json={"query": text, "fmt": fmt}, timeout=httpx.Timeout(60, read=None)
            )
        except httpx.HTTPError as exc:
            raise CliError(f"cannot reach the server at {self.url}: {exc}") from None
        if fmt == "json":  # (its cursor is in the body; other formats' in the header)
            return response.content, self._json(response).get("cursor")
        self._check(response)
        return response.content, response.headers.get("x-bt-cursor")

    def explain(self, text: str) -> dict:
        return self.call("POST", "/btql", {"query": text, "explain": True})

    def export(self, request, out, progress, version: str | None = None) -> int:
        """Download an export to ``out`` (the rows as of ``version``, a transaction id or a
        dataset snapshot's name, when given); returns the bytes written."""
        params = {"format": request.format, "shape": request.shape}
        if request.filter:
            params["filter"] = request.filter
        if request.audit_log:
            params["audit_log"] = "true"
        if version is not None and version.strip():
            params["version"] = version
        path = f"/v1/{segment(request.object_type)}/{segment(request.object)}/export"
        written = 0
        started = False
        try:
            with self.http.stream("GET", path, params=params, timeout=None) as response:
                if response.status_code >= 300:
                    response.read()
                    self._check(response)  # (a redirect wrote an empty file, exit 0)
                started = True
                for chunk in response.iter_bytes():
                    out.write(chunk)
                    written += len(chunk)
                    progress(bytes_=len(chunk))
        except httpx.HTTPError as exc:
            if started:
                # The server was reached and failed on a later page (the object deleted
                # meanwhile, a page past the query timeout): "cannot reach" misled.
                raise CliError(
                    "the server stopped the export midway, after"
                    f" {counted(written, 'byte')} ({exc}); its log says why"
                ) from None
            raise CliError(f"cannot reach the server at {self.url}: {exc}") from None
        return written

    def import_file(self, dataset_id: str, path: Path, fmt: str, mapping: dict, progress):
        """Stream the file to the server's import route (the server stages and commits)."""

        uploaded = False

        def chunks():
            nonlocal uploaded
            sent = 0
            with open(path, "rb") as f:
                while chunk := f.read(1 << 20):
                    sent += len(chunk)
                    progress(sent)
                    yield chunk
            uploaded = True

        params = [("format", fmt), *(("map", f"{c}={t}") for c, t in mapping.items())]
        try:
            response = self.http.post(
                f"/v1/dataset/{segment(dataset_id)}/import",
                params=params,
                content=chunks(),
                timeout=None,
            )
        except httpx.HTTPError as exc:
            raise CliError(f"cannot reach the server at {self.url}: {exc}") from None
        except KeyboardInterrupt:
            if not uploaded:
                raise  # the server drops a file cut short: nothing is imported
            # The server has the whole file and imports it whether anyone waits or not.
            raise KeyboardInterrupt(
                "interrupted: the server had the whole file and may still import it"
                " (see the dataset's versions)"
            ) from None
        return self._json(response)

    def close(self):
        self.http.close()


def _server_message(response: httpx.Response) -> str:
    try:
        message = response.json()["error"]["message"]
    except Exception:
        # A proxy's or another server's error page: its HTML was printed, many lines of it.
        return _not_tracelake(response)
    return f"server answered {response.status_code}: {message}"


def _not_tracelake(response: httpx.Response) -> str:
    where = response.headers.get("location")
    answer = f"{response.status_code} {response.reason_phrase}".strip()
    return (
        f"{response.request.url} answered {answer}"
        + (f" (to {where})" if where else "")
        + ", not as a tracelake server: is --url (or TRACELAKE_URL) the server's address?"
    )


class LocalBackend:
    """Opens the data dir directly (no server running). Acts as the first organization's
    admin, or as the organization named by ``org``. Only with ``create`` is a data dir
    without a database given a new one (a mistyped path must not become a new, empty
    database with a new admin key)."""

    def __init__(
        self,
        data_dir: Path,
        org: str | None = None,
        *,
        create: bool = False,
        api_key: str | None = None,
    ):
        from tracelake.search.index import stored_watermark
        from tracelake.store.catalog import Catalog, Principal, bootstrap
        from tracelake.store.store import DB_FILENAME

        if not create and not (Path(data_dir) / DB_FILENAME).is_file():
            raise CliError(
                f"no tracelake database in {data_dir}: give the --data-dir of a server"
                " (or its --url), or create one with `tracelake serve` or `tracelake demo`"
            )
        # --api-key wins over TRACELAKE_API_KEY here too (it was ignored on a data dir: a new
        # one got a generated admin key instead of the one given).
        settings = Settings.from_env(api_key=api_key)
        check_admin_key(settings.api_key, "--api-key" if api_key else "TRACELAKE_API_KEY")
        self.store = open_store(data_dir)
        # Writes here come after every xact the server's search index has passed, as a
        # server's do (see Indexer.start): rows written at or below it were never indexed.
        self.store.clock.advance(stored_watermark(Path(data_dir) / "search"))
        self.catalog = Catalog(self.store)
        # Queries and export pages stop after TRACELAKE_QUERY_TIMEOUT_SECONDS, as on a server
        # (they stopped after run_query's default 30 s whatever the setting said).
        self.query_timeout = settings.query_timeout_seconds
        generated = bootstrap(self.catalog, settings.org_name, settings.api_key)
        if generated:
            err_console.print(f"Created the first organization; its admin API key: {generated}")
        orgs = self.catalog.list_orgs()
        chosen = orgs[0] if org is None else next((o for o in orgs if o["name"] == org), None)
        if chosen is None:
            raise CliError(f"organization {org!r} not found")
        self.principal = Principal(chosen["id"], chosen["name"], "admin", "local")

    def list_keys(self):
        return self.catalog.list_keys(self.principal.org_id)

    def create_key(self, name: str, role: str):
        record, plaintext = self.catalog.create_key(self.principal.org_id, name, role)
        return {**record, "key": plaintext}

    def revoke_key(self, key_id: str):
        return self.catalog.revoke_key(self.principal.org_id, key_id)

    def list_orgs(self):
        return self.catalog.list_orgs()

    def create_org(self, name: str):
        org = self.catalog.create_org(name)
        record, plaintext = self.catalog.create_key(org["id"], "bootstrap", "admin")
        return {**org, "api_key": {**record, "key": plaintext}}

    def create_project(self, name: str):
        return self.catalog.create_project(self.principal.org_id, name)

    def has_project(self, name: str) -> bool:
        from tracelake.store.catalog import PROJECTS

        return bool(self.catalog.list_objects(PROJECTS, self.principal.org_id, name=name))

    def objects(
        self,
        kind: str,
        *,
        name: str | None = None,
        ids: list[str] | None = None,
        project_id: str | None = None,
    ) -> list[dict]:
        from tracelake.store.catalog import DATASETS, EXPERIMENTS, PROJECTS

        kinds = {"project": PROJECTS, "dataset": DATASETS, "experiment": EXPERIMENTS}
        return self.catalog.list_objects(
            kinds[kind], self.principal.org_id, name=name, ids=ids, project_id=project_id
        )

    def delete_project(self, project_id: str, only_if_empty: bool = False):
        from tracelake.store.catalog import PROJECTS

        org_id = self.principal.org_id
        return self.catalog.delete_object(PROJECTS, org_id, project_id, only_if_empty=only_if_empty)

    def has_dataset(self, project_id: str, name: str) -> bool:
        from tracelake.store.catalog import DATASETS

        org_id = self.principal.org_id
        return bool(self.catalog.list_objects(DATASETS, org_id, name=name, project_id=project_id))

    def create_dataset(self, project_id: str, name: str):
        return self.catalog.create_dataset(self.principal.org_id, project_id, name)

    def delete_dataset(self, dataset_id: str, only_if_empty: bool = False):
        from tracelake.store.catalog import DATASETS

        org_id = self.principal.org_id
        return self.catalog.delete_object(DATASETS, org_id, dataset_id, only_if_empty=only_if_empty)

    def create_experiment(self, project_id: str, name: str, **fields):
        return self.catalog.create_experiment(
            self.principal.org_id, project_id, {"name": name, **fields}, ensure_new=True
        )

    def write_rows(self, rows: list[dict]):
        from tracelake.store.events import prepare_batch

        self.store.write(prepare_batch(self.catalog, self.principal, rows))

    def query(self, text: str, fmt: str) -> tuple[bytes, str | None]:
        from tracelake.export.queries import JSON_ITEMS, QueryOptions, run_query

        options = QueryOptions(query=text, fmt=JSON_ITEMS if fmt == "json" else fmt)
        result = run_query(
            self.store, self.catalog, self.principal, options, timeout=self.query_timeout
        )
        if fmt == "json":  # the server's answer, less its freshness fields
            schema = orjson.dumps(result.schema)
            return b"".join(
                [b'{"data":[', result.body, b'],"schema":', schema, b"}"]
            ), result.cursor
        return bytes(result.body), result.cursor

    def explain(self, text: str) -> dict:
        from tracelake.export.queries import QueryOptions, explain_query

        return explain_query(self.catalog, self.principal, QueryOptions(query=text))

    def export(self, request, out, progress, version: str | None = None) -> int:
        from tracelake.datasets.versions import export_version
        from tracelake.export.queries import run_query
        from tracelake.export.stream import stream

        if version is not None and version.strip():
            at = export_version(self.catalog, self.principal.org_id, request.query(None), version)
            request = dataclasses.replace(request, version=at)

        def run(options):
            return run_query(
                self.store, self.catalog, self.principal, options, timeout=self.query_timeout
            )

        written = 0
        for chunk in stream(request, run, on_rows=lambda n: progress(rows=n)):
            out.write(chunk)
            written += len(chunk)
        return written

    def import_file(self, dataset_id: str, path: Path, fmt: str, mapping: dict, progress):
        from tracelake.datasets.imports import import_file

        return import_file(
            self.store,
            self.catalog,
            self.principal,
            dataset_id,
            path,
            fmt,
            mapping or None,
            progress=progress,
        )

    def close(self):
        self.store.close()


def find_project(backend, name_or_id: str) -> dict | None:
    """The project a ``--project`` names: by name, else by id (as the automations commands
    have taken it)."""
    return next(
        iter(
            backend.objects("project", name=name_or_id)
            or backend.objects("project", ids=[name_or_id])
        ),
        None,
    )


def project_id_of(backend, name_or_id: str) -> str:
    found = find_project(backend, name_or_id)
    if found is None:
        raise CliError(f"project {name_or_id!r} not found")
    return found["id"]


def object_in_project(backend, object_type: str, id_or_name: str, project: str | None) -> str:
    """What ``export`` (and the like) sends for a dataset or an experiment: its id when
    ``--project`` names the project to look in, else the id or name as given, once it is
    known that no two projects have an object of that name (the server then said "2
    datasets are named 'golden': use an id", naming no project and no way to choose one)."""
    what = object_type
    if project is None:
        found = backend.objects(object_type, name=id_or_name)
        if len(found) < 2:
            return id_or_name  # (an id, a name, or nothing: the server says which)
        ids = list(dict.fromkeys(o["project_id"] for o in found))
        names = {p["id"]: p["name"] for p in backend.objects("project", ids=ids)}
        where = ", ".join(sorted(repr(names.get(i, i)) for i in ids))
        raise CliError(
            f"{len(found)} {what}s are named {id_or_name!r}, in projects {where}:"
            f" give --project (or the {what}'s id)"
        )
    project_id = project_id_of(backend, project)
    found = backend.objects(object_type, name=id_or_name, project_id=project_id)
    found = found or backend.objects(object_type, ids=[id_or_name], project_id=project_id)
    if not found:
        raise CliError(f"{what} {id_or_name!r} not found in project {project!r}")
    return found[0]["id"]


def open_store(data_dir: Path, *, serving: bool = False):
    """The store of a data dir, or one readable line: another process holds it, or the
    folder cannot be made or used. ``serving``: for ``serve``, which has no ``--url`` to
    point it at the server that holds the data dir."""
    from tracelake.store.store import DataDirLocked, DataDirUnusable, Store

    try:
        return Store(data_dir)
    except DataDirLocked as exc:
        if serving:
            hint = "is a tracelake server serving it already? stop it, or give another --data-dir"
        else:
            hint = "is a tracelake server running? point the command at it with --url"
        raise CliError(f"{exc} ({hint})") from None
    except DataDirUnusable as exc:
        raise CliError(str(exc)) from None
    except FileExistsError:
        # (mkdir's "File exists" left the user guessing what was wrong with it.)
        raise CliError(f"cannot use the data dir {data_dir}: it is a file, not a folder") from None
    except OSError as exc:
        raise CliError(f"cannot use the data dir {data_dir}: {exc.strerror or exc}") from None


def _backend(
    data_dir: Path | None,
    url: str | None,
    api_key: str | None,
    org: str | None = None,
    *,
    create: bool = False,
):
    # A --data-dir on the command line names the data dir to open: with TRACELAKE_URL set
    # in the shell it was ignored, and the command read or wrote the server's data instead.
    if data_dir is not None and url is not None:
        raise CliError("give --url or --data-dir, not both")
    settings = Settings.from_env(data_dir=data_dir, url=url, api_key=api_key)
    if settings.url and data_dir is None:
        return RemoteBackend(settings.url, settings.api_key, source_names(url, api_key))
    return LocalBackend(settings.data_dir, org, create=create, api_key=api_key)


def source_names(url: str | None, api_key: str | None) -> tuple[str, str]:
    """The names of the URL's and the key's sources: the flag given, else the variable."""
    return (
        "--url" if url is not None else "TRACELAKE_URL",
        "--api-key" if api_key is not None else "TRACELAKE_API_KEY",
    )
