"""The command line: ``tracelake serve``, ``keys``, ``orgs``, ``demo``, ``query``, ``export``,
``import`` and ``automations`` (in cli_automations.py); the backends they act on are in
cli_backends.py.

Commands that need data talk to a running server when given ``--url`` (or TRACELAKE_URL)
with ``--api-key`` (or TRACELAKE_API_KEY); otherwise they open the data dir themselves.
"""

from __future__ import annotations

import dataclasses
import errno
import functools
import gc
import json
import os
import signal
import socket
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, NoReturn

import rich.console
import typer
from rich.console import Console
from rich.segment import Segments
from rich.table import Column, Table
from rich.text import Text
from typer._click import exceptions as click_errors  # Typer 0.29 carries its own Click
from typer._click.parser import _OptionParser
from typer._click.utils import PacifyFlushWrapper
from typer.core import TyperCommand

from tracelake import __version__
from tracelake.cli_backends import (
    CliError,
    LocalBackend,
    _backend,
    check_admin_key,
    counted,
    find_project,
    object_in_project,
    open_store,
)
from tracelake.errors import TracelakeError
from tracelake.settings import BY_NAME, Settings

app = typer.Typer(
    help="tracelake: a self-hostable data plane for LLM logs, traces, experiments and datasets.",
    no_args_is_help=True,
    add_completion=False,
    # -h as well: `tracelake query -h` was "No such option: -h".
    context_settings={"help_option_names": ["-h", "--help"]},
)
keys_app = typer.Typer(help="Manage API keys.", no_args_is_help=True)
orgs_app = typer.Typer(help="Manage organizations.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(orgs_app, name="orgs")

# Markup off: names, ids, file names and values from the data are printed as they are (a
# "[/x]" in one was read as a closing tag: a traceback, after an organization had been
# created and before its only admin key was printed). Messages are not wrapped (piped, Rich
# broke them at 80 columns); tables still fit the terminal.
console = Console(markup=False, soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True, markup=False)


def _help(name: str, text: str | None = None) -> str:
    """An option's help (the setting's, unless ``text``), naming its environment variable: in
    parentheses, since Typer's help reads Rich markup and dropped "[env: TRACELAKE_DATA_DIR]"
    as an unknown tag."""
    setting = BY_NAME[name]
    return f"{text or setting.help} (env: {setting.env})"


def one_of(values, normalize=None):
    """The parser of an option (or argument) that takes one of a fixed set of values: another
    is a usage error (exit 2, one line naming the option, the values and the help to read),
    as a value of the wrong kind is; it was a failure (exit 1), and some were seen only after
    a data dir had been opened. ``values`` may be a function giving them (to load the module
    that knows them only when the option is used); ``normalize`` maps a value to its canonical
    spelling (None when it is no spelling of any)."""

    def parse(value: str) -> str:
        allowed = values() if callable(values) else values
        found = normalize(value) if normalize is not None else value
        if found not in allowed:
            raise typer.BadParameter(f"{value!r} is not one of {', '.join(allowed)}")
        return found

    return parse


def _data_dir(value: str) -> Path:
    """An empty --data-dir (``--data-dir "$DIR"`` with DIR unset) was the current folder: a
    database was made or read there."""
    if not value.strip():
        raise typer.BadParameter("give a folder (. for the current one), not an empty value")
    return Path(value)


DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help=_help("data_dir", "Folder holding the database (default ./tracelake-data)."),
        parser=_data_dir,
        metavar="<path>",  # (as without a parser)
    ),
]
# The commands' words for these (the settings' are the server's: the key's help said "Admin
# API key of the first organization, added at any start…", on `query --url`).
Url = Annotated[
    str | None,
    typer.Option(
        "--url", help=_help("url", "The running server to talk to (else the data dir is opened).")
    ),
]
ApiKey = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        help=_help(
            "api_key",
            "The API key sent to the --url server; on a data dir, the first organization's"
            " admin key (added if the data dir does not know it).",
        ),
    ),
]


def _run(fn, interrupted: str = "interrupted"):
    """Run a command body, turning expected failures into one readable line. Ctrl-C prints
    ``interrupted`` (or what the command says of it) and exits 130: it exited 130 without a
    word, so a user (or a script's log) could not tell a stop from a crash."""
    try:
        return fn()
    except (CliError, TracelakeError) as exc:
        message = exc.message if isinstance(exc, TracelakeError) else str(exc)
        err_console.print(Text.assemble(("error:", "red"), " ", message), highlight=False)
        raise typer.Exit(1) from None
    except KeyboardInterrupt as exc:
        _interrupted(str(exc) or interrupted)  # (what a backend knows of it, if anything)
    except RuntimeError as exc:
        # DuckDB's client turns a Ctrl-C during a statement on a data dir into this (it was
        # a traceback and exit 1).
        if str(exc) != "Query interrupted":
            raise
        _interrupted(interrupted)


# Whether a Ctrl-C was reported (or is the normal end, as for ``serve``): one that came
# before a command's body ran (while modules loaded) is reported by ``main``.
_interrupt_handled = False


def _interrupted(message: str) -> NoReturn:
    global _interrupt_handled
    _interrupt_handled = True
    err_console.print(message, highlight=False)
    raise typer.Exit(130) from None


def _is_stdout(path: Path | None) -> bool:
    """``-o -``: standard output, as Unix tools take it (it made a file named "-")."""
    return path is not None and str(path) == "-"


def _written(path: Path) -> str:
    return "stdout" if _is_stdout(path) else str(path)


def _check_binary_to_terminal(fmt: str | None, path: Path | None) -> None:
    if fmt == "parquet" and _is_stdout(path) and sys.stdout.isatty():
        raise CliError("parquet is binary: give a file with -o, or pipe -o - into a program")


class _WholeWrites:
    """A binary stream whose ``write`` writes every byte or raises. A buffered stream's
    ``write`` into a pipe whose reader left while it waited (`tracelake query … | head -1`
    with more than the pipe holds) answered the bytes the pipe took, 65,536 of 12 MB, and
    no error: the command went on and exited 0, as if everything had been read. Written
    again, the rest fails with EPIPE, which ends the command with 141 (``main``)."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, data) -> int:
        view = memoryview(data).cast("B")
        while view:
            written = self._stream.write(view)
            if not written:  # (never for a blocking stream; no endless loop if it were)
                raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))
            view = view[written:]
        return len(data)

    def flush(self) -> None:
        self._stream.flush()


@contextmanager
def _output_file(path: Path) -> Iterator:
    """A binary file written beside ``path`` and renamed onto it only when the block ends
    without an error, so a failed command leaves the user's file as it was. A symlink is
    followed (the file it names is replaced, not the link); a FIFO or device (/dev/stdout)
    is written directly, and so is standard output (``-``)."""
    if _is_stdout(path):
        yield _WholeWrites(sys.stdout.buffer)
        sys.stdout.flush()
        return
    if path.is_dir():
        raise CliError(f"cannot write {path}: it is a directory")
    if path.exists() and not path.is_file():  # a FIFO, a device, a socket: no renaming
        try:
            with open(path, "wb") as out:
                yield _WholeWrites(out)
        except OSError as exc:
            if exc.errno == errno.EPIPE:  # (a pipe's reader gone: ``main`` ends quietly)
                raise
            raise CliError(f"cannot write {path}: {exc.strerror or exc}") from None
        return
    path = path.resolve() if path.is_symlink() else path
    if not path.parent.is_dir():
        raise CliError(f"cannot write {path}: no such directory {path.parent}")
    try:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc.strerror}") from None
    temporary = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
        os.chmod(temporary, _new_file_mode(path))
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        if exc.errno == errno.EPIPE:
            raise
        raise CliError(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _progress(*columns):
    """A progress bar on stderr, drawn on a terminal only: piped or logged, the bar left a
    blank line before the command's last line (its ``Wrote …`` or ``error:`` line)."""
    from rich.progress import Progress

    return Progress(
        *columns, console=err_console, transient=True, disable=not err_console.is_terminal
    )


def _new_file_mode(path: Path) -> int:
    """The mode ``path`` has, or the one a new file gets under the umask (mkstemp's is 0600)."""
    try:
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _table(rows: list[dict], columns: list[str]) -> None:
    """A table on a terminal; tab-separated lines (nothing cut short) when piped."""
    if not console.is_terminal:
        sys.stdout.writelines(_tsv_lines(rows, columns))
        sys.stdout.flush()
        return
    # A value too long for its column folds onto more lines: cut short with "…", a key's
    # id in ``keys list`` on an 80- or 100-column terminal could not be copied into
    # ``keys revoke``.
    cells = [
        [_shown(str(row.get(c) if row.get(c) is not None else "")) for c in columns] for row in rows
    ]
    # A row of several lines (a value with a newline, or folded) ran into the next with
    # nothing between them: such a table draws a line under each row.
    table = Table(
        *(_column(_shown(c), rows, c) for c in columns),
        show_lines=any("\n" in cell for row in cells for cell in row),
    )
    for row in cells:
        table.add_row(*row)
    if not table.show_lines:
        lines = console.render_lines(table, pad=False, new_lines=True)
        if len(lines) <= len(cells) + _TABLE_FRAME_LINES:  # one line per row: print these
            console.print(Segments([segment for line in lines for segment in line]))
            return
        table.show_lines = True
    console.print(table)


# The lines of a table that are not its rows': the top, the header, its rule and the bottom.
_TABLE_FRAME_LINES = 4


# Control characters but the newline and the tab, C1 ones too: a value's escape sequences
# (a logged "\x1b[2J", a title or hyperlink sequence) reached the terminal as they were.
_TERMINAL_ESCAPES = {
    c: f"\\x{c:02x}" for c in [*range(0x20), *range(0x7F, 0xA0)] if chr(c) not in "\n\t"
}


def _shown(text: str) -> str:
    """A cell of a table on a terminal: a control character is written as ``\\x1b`` and the
    like, so values from the data cannot move the cursor, recolour or clear the screen."""
    return text.translate(_TERMINAL_ESCAPES)


def _tsv_lines(rows: list[dict], columns: list[str]) -> Iterator[str]:
    yield "\t".join(_tsv(c) for c in columns) + "\n"
    for row in rows:
        yield "\t".join("" if row.get(c) is None else _tsv(str(row.get(c))) for c in columns) + "\n"


def _column(name: str, rows: list[dict], key: str | None = None) -> Column:
    key = name if key is None else key
    if key != "id":
        return Column(name, overflow="fold")
    # Ids stay whole on one line (to be copied), the other columns fold around them.
    width = max((len(_shown(str(row.get(key) or ""))) for row in rows), default=0)
    return Column(name, no_wrap=True, min_width=max(width, len(name)))


_TSV_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _tsv(text: str) -> str:
    """A cell of a tab-separated line: a tab, a newline or a carriage return in a value
    would start another cell or row, so they (and the backslash) are escaped as ``\\t``,
    ``\\n``, ``\\r`` and ``\\\\``, as in PostgreSQL's text format."""
    return text.translate(_TSV_ESCAPES)


def _log_levels() -> list[str]:
    """uvicorn's names of the levels: uvicorn looked one up only once the data dir was open
    (and its database made), where a misspelt one was a KeyError traceback."""
    from uvicorn.config import LOG_LEVELS

    return list(LOG_LEVELS)


# -- commands -----------------------------------------------------------------------------


@app.command()
def serve(
    data_dir: DataDir = None,
    host: Annotated[str | None, typer.Option(help=_help("host"))] = None,
    port: Annotated[int | None, typer.Option(help=_help("port"))] = None,
    demo: Annotated[bool, typer.Option("--demo", help="Load sample data on start.")] = False,
    log_level: Annotated[
        str,
        typer.Option(
            help="uvicorn log level: critical, error, warning, info, debug, trace.",
            parser=one_of(_log_levels, str.lower),
        ),
    ] = "info",
):
    """Start the server on an embedded database."""
    _fill_closed_std_streams()
    settings = _run(lambda: Settings.from_env(data_dir=data_dir, host=host, port=port))
    _run(lambda: check_admin_key(settings.api_key))
    # The server's modules take about a second to load: a setting it refuses says so first.
    import uvicorn

    from tracelake.server.app import create_app
    from tracelake.server.protocol import BoundedHttpTools

    # Bind and open before uvicorn starts: from inside it, a taken port came after the
    # first start had announced its admin key, and a locked or unusable data dir was a
    # traceback; here each is one line and exit 1.
    listening = _run(lambda: _listening_socket(settings.host, settings.port))
    try:
        store = _run(lambda: open_store(settings.data_dir, serving=True))
    except BaseException:
        listening.close()
        raise
    if _stdout_closed and _stderr_closed and not settings.api_key:
        # Checked before the first start makes the organization: its admin key would have
        # been made and shown to no one (the server then stopped, and the next start, with
        # an output, had no key to give).
        from tracelake.store.catalog import Catalog

        if Catalog(store).first_org_id() is None:
            store.close()
            listening.close()
            _run(lambda: _no_output_for_the_key())

    def announce(key: str) -> None:
        _say(
            f"Created organization {settings.org_name!r} with admin API key:\n  {key}\n"
            "It is shown only this once.",
            must=True,
        )

    def load_demo_once(running_app) -> None:
        if load_demo_data(_DemoTarget(running_app)):
            _say("Loaded the demo project.")

    on_start = load_demo_once if demo else None

    def started(running_app) -> None:
        if on_start is not None:
            on_start(running_app)
        # Ingest allocates many short-lived containers per request; with the default
        # thresholds Python's cyclic GC ran often and rescanned every long-lived object
        # (it cost more than JSON parsing). Freeze what exists at start, collect less often.
        gc.collect()
        gc.freeze()
        gc.set_threshold(50_000, 50, 100)
        # The request thread holds the interpreter lock for long stretches (parsing, mapping);
        # the writer and the indexer need it for a moment between their DuckDB statements
        # and waited up to the default 5 ms each time. 1 ms raised OTel ingest by ~12%.
        sys.setswitchinterval(0.001)

    application = create_app(settings, on_generated_key=announce, on_started=started, store=store)
    _say(
        f"tracelake {__version__} serving {settings.data_dir} on "
        f"http://{_url_host(settings.host)}:{settings.port}"
    )
    config = uvicorn.Config(
        application,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        # httptools, with a bound on the size and time of a request's head (protocol.py).
        http=functools.partial(BoundedHttpTools, head_timeout=settings.client_timeout_seconds),
        log_level=log_level,
        access_log=False,
        timeout_graceful_shutdown=5,
    )
    global _interrupt_handled
    _interrupt_handled = True  # Ctrl-C is how a server stops: no "interrupted"
    try:
        uvicorn.Server(config).run(sockets=[listening])
    finally:
        # What ``started`` froze is never collected, so at exit DuckDB's bindings reported
        # their objects still alive as leaked: ~40 lines of "nanobind: leaked …" after a
        # Ctrl-C of the server (uvicorn re-raises it as KeyboardInterrupt once shut down).
        gc.unfreeze()
        gc.collect()


def _fill_closed_std_streams() -> None:
    """Put /dev/null where stdout or stderr is closed (``tracelake serve >&-``, a daemon
    started without them). Python leaves ``sys.stdout`` None then, on which uvicorn's
    logging setup failed (a traceback, and no server); and the first file the server opened
    (its database, its socket) took descriptor 1, where anything written to stdout would
    have landed. The server's lines go to stderr instead (see ``_say``)."""
    global _stdout_closed, _stderr_closed
    for fd in (1, 2):
        try:
            os.fstat(fd)
            continue
        except OSError:
            pass
        devnull = os.open(os.devnull, os.O_WRONLY)
        if devnull != fd:
            os.dup2(devnull, fd)
            os.close(devnull)
        stream = open(fd, "w", buffering=1, encoding="utf-8", closefd=False)  # noqa: SIM115
        if fd == 1:
            sys.stdout, _stdout_closed = stream, True
        else:
            sys.stderr, _stderr_closed = stream, True


def _no_output_for_the_key() -> NoReturn:
    raise CliError(
        "stdout and stderr are closed: the first admin key could not be shown (give"
        " TRACELAKE_API_KEY, or start the first time with an output)"
    )


def _say(text: str, must: bool = False) -> None:
    """A line of the running server on stdout; once stdout is closed (``tracelake serve |
    head -1``), on stderr. The first start's admin key came after the pipe had closed and
    was lost without a word while the server ran on. With ``must`` (the key), a stderr
    that is closed too stops the server rather than lose it silently."""
    global _stdout_closed
    if not _stdout_closed:
        try:
            print(text, flush=True)
            return
        except (BrokenPipeError, ValueError):  # (ValueError: a closed file object)
            _stdout_closed = True
            # What Python still holds for the closed pipe would be flushed at exit into
            # "Exception ignored … BrokenPipeError": stdout is /dev/null from here on.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.close(devnull)
    try:
        if _stderr_closed:  # (it is /dev/null: see _fill_closed_std_streams)
            raise ValueError("stderr is closed")
        print(text, file=sys.stderr, flush=True)
    except (BrokenPipeError, ValueError):
        if must:
            raise RuntimeError(
                "stdout and stderr are closed: the first admin key could not be shown"
            ) from None


_stdout_closed = False
_stderr_closed = False


def _url_host(host: str) -> str:
    """The host as a URL writes it: an IPv6 address in brackets."""
    return f"[{host}]" if ":" in host else host


def _listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to ``host``:``port`` for uvicorn to listen on."""
    if not 1 <= port <= 65535:
        raise CliError(f"--port must be between 1 and 65535, not {port}")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except (socket.gaierror, UnicodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise CliError(f"cannot listen on {host}: {reason}") from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise CliError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


class _DemoTarget(LocalBackend):
    """The demo loader running inside the server process, on the server's own store."""

    def __init__(self, application):  # noqa: D401 - reuses LocalBackend's methods
        from tracelake.store.catalog import Principal

        self.store = application.state.store
        self.catalog = application.state.catalog
        org = self.catalog.list_orgs()[0]
        self.principal = Principal(org["id"], org["name"], "admin", "local")

    def close(self):
        pass


def load_demo_data(backend) -> dict | None:
    """Create the demo project, logs, dataset and experiments; returns their ids, or None
    when a 'demo' project exists already."""
    from tracelake.demo import demo_dataset_rows, demo_experiment_rows, demo_log_rows

    if backend.has_project("demo"):
        return None
    project = backend.create_project("demo")
    try:
        backend.write_rows(demo_log_rows(project["id"]))
        dataset = backend.create_dataset(project["id"], "trivia")
        backend.write_rows(demo_dataset_rows(dataset["id"]))
        baseline = backend.create_experiment(project["id"], "baseline", dataset_id=dataset["id"])
        backend.write_rows(demo_experiment_rows(baseline["id"], accuracy=0.6, seed=1))
        improved = backend.create_experiment(
            project["id"], "improved", dataset_id=dataset["id"], base_exp_id=baseline["id"]
        )
        backend.write_rows(demo_experiment_rows(improved["id"], accuracy=0.9, seed=2))
    except BaseException:
        # A failure midway left half a demo, and every later `demo` said "A 'demo' project
        # exists already; nothing loaded": the project goes again, so a retry loads it.
        try:
            backend.delete_project(project["id"])
        except Exception as exc:
            err_console.print(f"Kept the half-loaded 'demo' project: {exc}")
        raise
    return {
        "project": project["id"],
        "dataset": dataset["id"],
        "experiments": [baseline["id"], improved["id"]],
    }


@app.command()
def demo(data_dir: DataDir = None, url: Url = None, api_key: ApiKey = None):
    """Load sample data: a 'demo' project with traces, a dataset and two experiments."""

    def body():
        backend = _backend(data_dir, url, api_key, create=True)
        try:
            ids = load_demo_data(backend)
        finally:
            backend.close()
        if ids is None:
            console.print("A 'demo' project exists already; nothing loaded.")
            return
        console.print(
            f"Loaded the demo project {ids['project']} (logs, dataset 'trivia', "
            "experiments 'baseline' and 'improved')."
        )

    _run(body)


def _checked(check, options: dict[str, str] | None = None) -> None:
    """Run ``check`` (the server's own check of an argument) before anything is opened or
    made: a refused argument leaves no data dir behind. ``options`` maps the start of a
    message to the option it is about, named in front of it."""
    from tracelake.errors import InvalidRequest

    try:
        check()
    except InvalidRequest as exc:
        option = next((o for start, o in (options or {}).items() if start in exc.message), None)
        raise CliError(f"{option}: {exc.message}" if option else exc.message) from None


def _keys_backend(data_dir, url, api_key, org, *, create: bool = False):
    """The backend of a ``keys`` command. ``--org`` picks an organization of a data dir; a
    server acts on its key's own organization, so there it is refused (it was ignored by
    ``keys list`` and ``keys revoke``, which then showed or acted on another organization
    than the one named)."""
    backend = _backend(data_dir, url, api_key, org, create=create)
    if org is not None and not isinstance(backend, LocalBackend):
        backend.close()
        raise CliError("--org only works on a data dir")
    return backend


def _roles() -> tuple[str, ...]:
    from tracelake.store.catalog import ROLES

    return ROLES


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help="A label for the key.")] = "api key",
    role: Annotated[
        str, typer.Option(help="admin, write or read.", parser=one_of(_roles))
    ] = "write",
    org: Annotated[str | None, typer.Option(help="Organization (data dir mode only).")] = None,
    data_dir: DataDir = None,
    url: Url = None,
    api_key: ApiKey = None,
):
    """Create an API key and print it (it is shown only once)."""

    def body():
        from tracelake.store.catalog import check_key

        # Before the data dir is opened: on a new one, a bad role made the database and
        # printed the first admin key before it was refused.
        _checked(lambda: check_key(name, role), {"key": "--name"})
        backend = _keys_backend(data_dir, url, api_key, org, create=True)
        try:
            record = backend.create_key(name, role)
        finally:
            backend.close()
        console.print(f"Created key {record['id']} ({record['role']}):")
        print(record["key"])

    _run(body)


@keys_app.command("list")
def keys_list(
    org: Annotated[str | None, typer.Option(help="Organization (data dir mode only).")] = None,
    data_dir: DataDir = None,
    url: Url = None,
    api_key: ApiKey = None,
):
    """List the organization's active API keys."""

    def body():
        backend = _keys_backend(data_dir, url, api_key, org)
        try:
            keys = backend.list_keys()
        finally:
            backend.close()
        _table(keys, ["id", "name", "role", "preview_name", "created"])

    _run(body)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The id of the key (from 'keys list').")],
    org: Annotated[str | None, typer.Option(help="Organization (data dir mode only).")] = None,
    data_dir: DataDir = None,
    url: Url = None,
    api_key: ApiKey = None,
):
    """Revoke an API key."""

    def body():
        backend = _keys_backend(data_dir, url, api_key, org)
        try:
            backend.revoke_key(key_id)
        finally:
            backend.close()
        console.print(f"Revoked key {key_id}.")

    _run(body)


@orgs_app.command("create")
def orgs_create(
    name: Annotated[str, typer.Argument(help="Name of the new organization.")],
    data_dir: DataDir = None,
    url: Url = None,
    api_key: ApiKey = None,
):
    """Create an organization and print its first admin API key."""

    def body():
        from tracelake.model.names import require_name

        _checked(lambda: require_name(name, "organization name"))  # (before making a data dir)
        backend = _backend(data_dir, url, api_key, create=True)
        try:
            org = backend.create_org(name)
        finally:
            backend.close()
        console.print(f"Created organization {org['name']} ({org['id']}); admin API key:")
        print(org["api_key"]["key"])

    _run(body)


@orgs_app.command("list")
def orgs_list(data_dir: DataDir = None, url: Url = None, api_key: ApiKey = None):
    """List organizations (with a server: the key's own)."""

    def body():
        backend = _backend(data_dir, url, api_key)
        try:
            orgs = backend.list_orgs()
        finally:
            backend.close()
        _table(orgs, ["id", "name", "created"])

    _run(body)


def _with_cursor(content: bytes, cursor: str | None) -> bytes:
    """A json answer (``{"data": …}``) with the next page's ``cursor`` in it, as /btql
    answers it (a server's answer has it already)."""
    import orjson

    if "cursor" in orjson.loads(content):
        return content
    body = content.rstrip()
    return body[:-1] + b',"cursor":' + orjson.dumps(cursor) + b"}"


class _TextParser(_OptionParser):
    """Takes an argument that starts with ``--`` but has white space in its name part (before
    any ``=``) as a positional argument: no long option is named so, and a query that opens
    with a ``--`` comment line (``-- the slow ones\nselect: …``) was refused as "No such
    option". (A short option's attached value, ``-o"my file"``, may hold white space.)"""

    def _process_opts(self, arg, state) -> None:
        if arg.startswith("--") and any(c.isspace() for c in arg.split("=", 1)[0]):
            state.largs.append(arg)
            return
        super()._process_opts(arg, state)


class _TextCommand(TyperCommand):
    """A command whose positional argument is free text (a query)."""

    def make_parser(self, ctx):
        parser = _TextParser(ctx)
        for param in self.get_params(ctx):
            param.add_to_parser(parser, ctx)
        return parser


_QUERY_FORMATS = ("table", "json", "jsonl", "csv", "parquet")


@app.command(cls=_TextCommand)
def query(
    text: Annotated[str, typer.Argument(help="A BTQL or SQL query, or a JSON AST.")],
    format: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            help="table, json, jsonl, csv or parquet.",
            parser=one_of(_QUERY_FORMATS),
        ),
    ] = "table",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to a file (- for stdout).")
    ] = None,
    explain: Annotated[
        bool, typer.Option("--explain", help="Print the plan and the SQL; run nothing.")
    ] = False,
    data_dir: DataDir = None,
    url: Url = None,
    api_key: ApiKey = None,
):
    """Run a BTQL or SQL query (or a JSON AST) on the server or the data dir; print the rows."""
    import orjson

    def body():
        request = text
        if text.lstrip().startswith("{"):  # the JSON AST, as POST /btql takes it
            try:
                request = orjson.loads(text)
            except orjson.JSONDecodeError as exc:
                raise CliError(f"the query starts with '{{' but is not JSON: {exc}") from None
        if explain and output is not None:  # it printed the plan and left the file alone
            raise CliError("--explain prints the plan: leave out -o")
        if format == "parquet" and output is None and not explain:
            raise CliError("parquet is binary: give a file with -o")
        _check_binary_to_terminal(format, output)
        backend = _backend(data_dir, url, api_key)
        try:
            if explain:
                plan = backend.explain(request)
                console.print(
                    f"shape: {plan['shape']}  limit: {plan['limit']}  "
                    f"paging: {plan['paging']}  columns: {', '.join(plan['columns'])}"
                )
                window = plan.get("window")
                if window:
                    order = "newest" if window["descending"] else "oldest"
                    console.print(
                        f"runs {order} first in windows of {window['column']}"
                        " ($window_lo <= it < $window_hi); sizes from:"
                    )
                    print(window["stats_sql"])
                print(plan["sql"])
                return
            fmt = "json" if format == "table" else format
            content, cursor = backend.query(request, fmt)
            if format == "json":
                # Ended as a text file's last line ends: at a terminal the prompt came on
                # the answer's line, and `wc -l` counted none.
                content = _with_cursor(content, cursor).rstrip(b"\n") + b"\n"
        finally:
            backend.close()
        if format == "table":
            # The standard library's parser keeps every digit of a JSON integer (orjson
            # read one beyond 2^64 as a float: 123456789012345678901234 became 1.23…e+23).
            answer = json.loads(content)
            rows = answer["data"]
            # The schema's columns first (an empty answer still has its header), then any
            # the rows hold beyond them.
            declared = (answer.get("schema") or {}).get("items", {}).get("properties", {})
            names = list(dict.fromkeys([*declared, *(k for row in rows for k in row)]))
            rows = [{k: _cell(row.get(k)) for k in names} for row in rows]
            if output is None:
                _table(rows, names)
                _more(cursor)
                return
            # The table's tab-separated lines, as piped (the answer's JSON was written, as
            # if --format json had been given, less its cursor).
            content = "".join(_tsv_lines(rows, names)).encode()
        if output is not None:
            with _output_file(output) as out:
                out.write(content)
            err_console.print(
                f"Wrote {_written(output)}" + (f" (next cursor: {cursor})" if cursor else "")
            )
        else:
            _WholeWrites(sys.stdout.buffer).write(content)
            sys.stdout.flush()
            if format != "json":  # json carries its cursor
                _more(cursor)

    _run(body)


def _more(cursor: str | None) -> None:
    """Say on stderr that the page is full and how to ask for the next one: the rows of a
    table, CSV or JSONL stopped at the limit (1,000 by default) without a word."""
    if cursor:
        err_console.print(
            f"more rows may follow; the next page: | cursor: '{cursor}' (SQL: OFFSET '{cursor}')"
        )


def _export_values(name: str):
    """The export module's values of ``name`` (it loads pyarrow: only when exporting)."""

    def values() -> tuple[str, ...]:
        from tracelake.export import stream

        return getattr(stream, name)

    return values


@app.command()
def export(
    object_type: Annotated[
        str,
        typer.Argument(
            help="project_logs, experiment or dataset.",
            parser=one_of(_export_values("SOURCES")),
        ),
    ],
    name: Annotated[str, typer.Argument(help="The object's id or name (a project for logs).")],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="The file to write (- for stdout).")
    ],
    format: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            help="json, jsonl, csv or parquet (default: by the extension of -o, else jsonl).",
            parser=one_of(_export_values("EXPORT_FORMATS")),
        ),
    ] = None,
    filter: Annotated[
        str | None, typer.Option("--filter", help='A BTQL filter, e.g. "scores.x > 0.5".')
    ] = None,
    shape: Annotated[
        str, typer.Option(help="spans, traces or summary.", parser=one_of(_export_values("SHAPES")))
    ] = "spans",
    audit_log: Annotated[
        bool,
        typer.Option("--audit-log", help="Add each row's audit_data (spans and traces)."),
    ] = False,
    version: Annotated[
        str | None,
        typer.Option(
            "--version",
            help="The rows as of this version: a transaction id, or a dataset snapshot's name.",
        ),
    ] = None,
    project: Annotated[
        str | None,
        typer.Option(
            "--project",
            "-p",
            help="Project name or id: the dataset or experiment's (when two projects have one"
            " of that name).",
        ),
    ] = None,
    data_dir: DataDir = None,
    url: Url = None,
    api_key: ApiKey = None,
):
    """Export every row of an object (with tags, comments, expected, scores, metadata)."""
    from rich.progress import BarColumn, TextColumn

    from tracelake.errors import InvalidRequest
    from tracelake.export.stream import ExportRequest, format_of

    def body():
        # (-o logs.parquet without --format wrote JSON lines into logs.parquet)
        fmt = format if format is not None else format_of(output)
        _check_binary_to_terminal(fmt, output)
        request = ExportRequest(object_type, name, fmt, filter, shape, audit_log)
        try:
            request.check()  # before touching the file
        except InvalidRequest as exc:
            # The route's words named no option.
            if exc.message.startswith("audit_log "):
                raise CliError(f"--audit-log {exc.message.split(' ', 1)[1]}") from None
            raise
        if project is not None and object_type == "project_logs":
            raise CliError("project_logs: NAME is the project; leave out --project")
        counts = {"rows": 0, "bytes": 0}
        columns = (
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            TextColumn("{task.fields[what]}"),
        )
        with _output_file(output) as out:
            backend = _backend(data_dir, url, api_key)
            try:
                if object_type != "project_logs":
                    found = object_in_project(backend, object_type, name, project)
                    request = dataclasses.replace(request, object=found)
                with _progress(*columns) as bar:
                    task = bar.add_task(f"exporting {object_type} {name}", total=None, what="")

                    def progress(rows: int = 0, bytes_: int = 0) -> None:
                        counts["rows"] += rows
                        counts["bytes"] += bytes_
                        what = (
                            counted(counts["rows"], "row")
                            if counts["rows"]
                            else counted(counts["bytes"], "byte")
                        )
                        bar.update(task, what=what)

                    written = backend.export(request, out, progress, version)
            finally:
                backend.close()
        rows = f"{counted(counts['rows'], 'row')}, " if counts["rows"] else ""
        err_console.print(f"Wrote {_written(output)} ({rows}{counted(written, 'byte')}).")

    _run(body)


def _import_formats() -> tuple[str, ...]:
    from tracelake.datasets.upload import FORMATS

    return FORMATS


def _import_format(value: str) -> str | None:
    """The format an import's --format names, as the route reads it (any case, a leading
    dot, ndjson for jsonl)."""
    from tracelake.datasets.upload import detect_format
    from tracelake.errors import InvalidRequest

    try:
        return detect_format(value, None, None) if value else None
    except InvalidRequest:
        return None


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="A CSV, JSON (array of objects) or JSONL file.")],
    project: Annotated[
        str, typer.Option("--project", "-p", help="Project name or id (a new name is created).")
    ],
    dataset: Annotated[str, typer.Option("--dataset", help="Dataset name (created if new).")],
    map_: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            help="column=target; target is input, expected, metadata (optionally with a key: "
            'input.question; a key holding a dot is quoted: input."a.b"), tags, id or skip.'
            " Repeat it. A column not mapped goes to input,"
            " or to the field it is named after (id, input, expected, metadata, tags).",
        ),
    ] = None,
    format: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            help="csv, json or jsonl (default: by extension).",
            parser=one_of(_import_formats, _import_format),
        ),
    ] = None,
    data_dir: DataDir = None,
    url: Url = None,
    api_key: ApiKey = None,
):
    """Import a file into a dataset: every row as one version, or nothing on any error."""
    from rich.progress import BarColumn, DownloadColumn, TextColumn

    from tracelake.datasets.upload import detect_format
    from tracelake.errors import InvalidRequest
    from tracelake.model.column_mapping import parse_map_options

    def body():
        if not file.is_file():
            # A directory or a pipe (``<(…)``, /dev/stdin) was "no such file".
            reason = (
                "no such file"
                if not file.exists()
                else "a directory, not a file"
                if file.is_dir()
                else "not a regular file (a pipe or a device): save it to a file first"
            )
            raise CliError(f"cannot import {file}: {reason}")
        try:
            fmt = detect_format(format, None, file.name)
        except InvalidRequest:
            # The route's words ("give format=…, a Content-Type …") named no CLI option.
            raise CliError(
                f"cannot tell the format of {file.name} from its name: give --format csv,"
                " json or jsonl"
            ) from None
        mapping = parse_map_options(map_ or [])
        from tracelake.model.names import require_name

        # Before the data dir is opened (a bad name made a new one, then was refused).
        _checked(lambda: require_name(project, "--project"))
        _checked(lambda: require_name(dataset, "--dataset"))
        backend = _backend(data_dir, url, api_key, create=True)
        try:
            with _created_for_import(backend, project, dataset) as (project_name, dataset_id):
                columns = (
                    TextColumn("{task.description}", markup=False),
                    BarColumn(),
                    DownloadColumn(),
                )
                with _progress(*columns) as bar:
                    size = file.stat().st_size
                    task = bar.add_task(f"importing {file.name}", total=size)

                    def progress(done: int) -> None:
                        bar.update(task, completed=done)
                        if done >= size:
                            bar.update(task, description="committing")

                    result = backend.import_file(dataset_id, file, fmt, mapping, progress)
        finally:
            backend.close()
        for warning in result.get("warnings", []):
            err_console.print(f"Note: {warning}", highlight=False)
        err_console.print(
            f"Imported {counted(result['rows_written'], 'row')}"
            f" ({result['rows_read']:,} read) into "
            f"{project_name}/{dataset} as version {result['_xact_id']}."
        )

    _run(body)


@contextmanager
def _created_for_import(backend, project: str, dataset: str) -> Iterator[tuple[str, str]]:
    """The project's name (``project`` may be its id) and the dataset's id, creating the
    project and the dataset if new; what was created is deleted again when the block
    fails, so a failed import leaves nothing behind. The import writes all its rows or
    none, but other clients may write to a new dataset or project meanwhile (or create the
    dataset between the check and the create): only one that still holds nothing is
    deleted, by the server in one step."""
    found = find_project(backend, project)  # (a name, else an id)
    new_project = found is None
    project_id = backend.create_project(project)["id"] if new_project else found["id"]
    new_dataset = new_project or not backend.has_dataset(project_id, dataset)
    dataset_id = None
    try:
        dataset_id = backend.create_dataset(project_id, dataset)["id"]
        yield (project if new_project else found["name"]), dataset_id
    except BaseException:
        if new_dataset and dataset_id is not None:
            _delete_if_empty(
                lambda: backend.delete_dataset(dataset_id, only_if_empty=True),
                f"dataset {project}/{dataset}",
            )
        if new_project:
            _delete_if_empty(
                lambda: backend.delete_project(project_id, only_if_empty=True),
                f"project {project}",
            )
        raise


def _delete_if_empty(delete, what: str) -> None:
    # The import's own error is the one to report, even if a delete fails.
    try:
        delete()
    except Exception as exc:
        err_console.print(f"Kept the {what} created for the import: {exc}")


def _cell(value) -> str | None:
    """A value as the table shows it: its JSON text, less a string's quotes (a boolean was
    Python's ``True``, where the JSON and CSV answers say ``true``)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@app.command()
def version():
    """Print the version."""
    print(__version__)


def _print_version(value: bool) -> None:
    if value:
        print(__version__)
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            "-V",
            help="Print the version and exit.",
            callback=_print_version,
            is_eager=True,
        ),
    ] = False,
):
    """tracelake: a self-hostable data plane for LLM logs, traces, experiments and datasets."""


# Registered last: the automations commands use the helpers above.
from tracelake.cli_automations import automations_app  # noqa: E402

app.add_typer(automations_app, name="automations")


# The exit status of a command whose output went into a closed pipe (`tracelake query … |
# head -1`): 128 + SIGPIPE, what a shell reports of `cat` or `yes` stopped so, and what
# `set -o pipefail` sees of them.
CLOSED_PIPE_EXIT = 128 + signal.SIGPIPE


def main(args: list[str] | None = None) -> int:
    """Run the CLI; the exit code. Output into a closed pipe ends the command quietly with
    exit 141, as the Unix tools' (Typer's answer was exit 1, or a traceback)."""
    # Rich's own answer to a closed pipe (a table, the help) was exit 1: it raises here.
    rich_answer = rich.console.Console.on_broken_pipe
    rich.console.Console.on_broken_pipe = _raise_broken_pipe
    try:
        return _main(args)
    except BrokenPipeError:
        return _closed_pipe()
    except SystemExit as exc:
        # Typer's answer to EPIPE: it wrapped stdout in PacifyFlushWrapper and exited 1.
        if exc.code == 1 and isinstance(sys.stdout, PacifyFlushWrapper):
            return _closed_pipe()
        raise
    finally:
        rich.console.Console.on_broken_pipe = rich_answer


def _raise_broken_pipe(console) -> NoReturn:
    raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))


def _closed_pipe() -> int:
    """Point stdout and stderr at /dev/null: what Python still flushes into the closed pipe
    at exit printed "Exception ignored … BrokenPipeError" (stderr too: it may be the pipe,
    ``2>&1 | head``, and nothing more is to be said)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for fd in (1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    return CLOSED_PIPE_EXIT


def _main(args: list[str] | None) -> int:
    """The CLI. A usage error (a missing argument, an unknown option, a value of the wrong
    kind) is one line on stderr and exit 2, like every other error here (Click drew it as a
    box of several lines under the usage)."""
    try:
        command = typer.main.get_command(app)
        code = command.main(args=args, prog_name="tracelake", standalone_mode=False)
    except KeyboardInterrupt:  # while the commands were being built: a traceback
        code = 130
    except click_errors.NoArgsIsHelpError as exc:
        exc.show()  # a group or command run without arguments prints its help
        return exc.exit_code
    except click_errors.UsageError as exc:
        message = " ".join(exc.format_message().split())
        where = exc.ctx.command_path if exc.ctx is not None else "tracelake"
        print(f"error: {message} (see '{where} --help')", file=sys.stderr)
        return exc.exit_code
    except click_errors.ClickException as exc:
        exc.show()
        return exc.exit_code
    except typer.Abort:
        print("Aborted.", file=sys.stderr)
        return 1
    if code == 130 and not _interrupt_handled:  # Typer's answer to a Ctrl-C
        print("interrupted", file=sys.stderr)
    return code if isinstance(code, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
