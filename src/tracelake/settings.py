"""Settings: one table, each with a TRACELAKE_* environment variable, a default and a help
text. The CLI options, the README table and a docs test all read from it."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from urllib.parse import urlsplit

from tracelake.errors import InvalidRequest, InvalidSetting
from tracelake.model.names import require_name


@dataclass(frozen=True)
class Setting:
    name: str
    env: str
    default: object
    help: str
    kind: type = str
    minimum: int = 1  # of a whole number
    maximum: int | None = None


SETTINGS: tuple[Setting, ...] = (
    Setting("data_dir", "TRACELAKE_DATA_DIR", "./tracelake-data", "Folder holding the database."),
    Setting("host", "TRACELAKE_HOST", "127.0.0.1", "Address the server binds."),
    Setting("port", "TRACELAKE_PORT", 8000, "Port the server listens on.", int, maximum=65535),
    Setting(
        "api_key",
        "TRACELAKE_API_KEY",
        None,
        "Admin API key of the first organization, added at any start that opens a data dir "
        "not knowing it (on first start, one is generated and printed when unset); clients "
        "send it as the bearer key. Once revoked, it stays revoked. Whitespace around it (a "
        "file's final newline) is ignored.",
    ),
    Setting(
        "org_name",
        "TRACELAKE_ORG_NAME",
        "tracelake",
        "Name of the organization created on first start (spaces around it are dropped; blank "
        "is the default).",
    ),
    Setting(
        "public_url",
        "TRACELAKE_PUBLIC_URL",
        None,
        "Base URL clients reach the server at (http:// or https://), in the URLs the server "
        "hands out (login's api_url, attachment URLs, the summarize routes' links); default: "
        "the request's URL under the proxy's X-Forwarded-Prefix (see docs/web.md).",
    ),
    Setting(
        "max_body_bytes",
        "TRACELAKE_MAX_BODY_BYTES",
        64 * 1024 * 1024,
        "Largest request body accepted; larger ones get 413.",
        int,
    ),
    Setting(
        "max_upload_bytes",
        "TRACELAKE_MAX_UPLOAD_BYTES",
        1024 * 1024 * 1024,
        "Largest file accepted by dataset imports and attachment uploads (streamed to disk).",
        int,
    ),
    Setting(
        "client_timeout_seconds",
        "TRACELAKE_CLIENT_TIMEOUT_SECONDS",
        60,
        "Longest wait for a client: for the next part of a request body (past it: 408, and "
        "the connection is closed), and for a request's line and headers once connected or "
        "answered (past it the connection is closed).",
        int,
    ),
    Setting(
        "query_timeout_seconds",
        "TRACELAKE_QUERY_TIMEOUT_SECONDS",
        30,
        "Longest a query may run before it is stopped (504).",
        int,
    ),
    Setting(
        "scheduler_tick_seconds",
        "TRACELAKE_SCHEDULER_TICK_SECONDS",
        5,
        "How often the scheduler looks for due automations (0 turns it off).",
        int,
        minimum=0,
    ),
    Setting(
        "export_query_timeout_seconds",
        "TRACELAKE_EXPORT_QUERY_TIMEOUT_SECONDS",
        600,
        "Longest one page query of a scheduled export may run.",
        int,
    ),
    Setting(
        "url",
        "TRACELAKE_URL",
        None,
        "For CLI commands: the running server to talk to (otherwise the data dir is opened).",
    ),
)
BY_NAME = {s.name: s for s in SETTINGS}


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("./tracelake-data")
    host: str = "127.0.0.1"
    port: int = 8000
    api_key: str | None = None
    org_name: str = "tracelake"
    public_url: str | None = None
    max_body_bytes: int = 64 * 1024 * 1024
    max_upload_bytes: int = 1024 * 1024 * 1024
    client_timeout_seconds: int = 60
    query_timeout_seconds: int = 30
    scheduler_tick_seconds: int = 5
    export_query_timeout_seconds: int = 600
    url: str | None = None
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_env(cls, **overrides) -> Settings:
        """Defaults, then environment variables, then explicit (non-None) overrides."""
        values = {}
        for setting in SETTINGS:
            raw = os.environ.get(setting.env)
            value = setting.default if raw in (None, "") else raw
            if value is not None and setting.kind is int:
                try:
                    value = int(value)
                except ValueError:
                    raise InvalidSetting(
                        f"{setting.env} must be a whole number, not {raw!r}"
                    ) from None
                if value < setting.minimum:
                    # A negative tick turned the scheduler off unsaid; a timeout of 0 or
                    # less stopped every query at once.
                    raise InvalidSetting(
                        f"{setting.env} must be {setting.minimum} or more, not {raw!r}"
                    )
                if setting.maximum is not None and value > setting.maximum:
                    # A port of 70000 was refused as "the port", not naming the variable.
                    raise InvalidSetting(
                        f"{setting.env} must be {setting.maximum} or less, not {raw!r}"
                    )
            values[setting.name] = value
        values.update({k: v for k, v in overrides.items() if v is not None})
        # "~/data" from an env file (no shell to expand it) made a folder named "~" here.
        try:
            values["data_dir"] = Path(values["data_dir"]).expanduser()
        except RuntimeError:  # "~nobody/data": a traceback
            raise InvalidSetting(
                f"the data dir {str(values['data_dir'])!r} names the home folder of a user"
                " who has none here"
            ) from None
        if values.get("api_key") is not None:
            # A key read from a file keeps its final newline (a Kubernetes secret made with
            # --from-file does): registered so, no client could send it (header values are
            # stripped, and the SDK strips the key), and every request was a 401.
            values["api_key"] = values["api_key"].strip() or None
        if isinstance(values.get("org_name"), str):
            # As the key: an env file's stray space or newline made a name the first
            # organization may not have (names do not start or end with whitespace), and
            # the server stopped at startup with a traceback.
            values["org_name"] = values["org_name"].strip() or BY_NAME["org_name"].default
            # One no organization may have (a control character, over 1,024 characters)
            # stopped a first start with a traceback (serve) or an error that did not say
            # where the name came from (demo, keys create, which left a database behind).
            try:
                require_name(values["org_name"], "TRACELAKE_ORG_NAME")
            except InvalidRequest as e:
                raise InvalidSetting(str(e)) from None
        public = values.get("public_url")
        if public is not None:
            # One without a scheme ("tracelake.example.com") went out as the SDK's api_url
            # and in attachment URLs, which no client could use.
            parts = urlsplit(public)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise InvalidSetting(
                    f"TRACELAKE_PUBLIC_URL must be an http:// or https:// URL, not {public!r}"
                )
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})
