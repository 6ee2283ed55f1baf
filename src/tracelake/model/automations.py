"""Automation configs: what a valid scheduled S3 export or retention policy looks like.

Pure validation (no I/O): a config comes in as JSON and leaves normalised, or an
InvalidRequest names the field. Secrets are kept but never shown back (see ``redact``).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlparse

from tracelake.errors import Forbidden, InvalidRequest

EVENT_TYPES = ("btql_export", "retention")
EXPORT_DEFINITIONS = ("log_traces", "log_spans", "btql_query")
EXPORT_FORMATS = ("jsonl", "parquet")
MIN_INTERVAL, MAX_INTERVAL = 300, 86_400  # 5 minutes to 24 hours
RETENTION_OBJECTS = ("project_logs", "experiment", "dataset")
CREDENTIAL_TYPES = {
    "aws_iam": ("role_arn",),  # assumed through STS, with external_id
    "aws_static": ("access_key_id", "secret_access_key"),
    "environment": (),  # the server's own AWS environment / instance role
    "profile": ("profile",),
}
SECRET_FIELDS = ("secret_access_key", "session_token")
MASK = "***"  # shown in place of a secret; sent back, it keeps the stored one
DEFAULT_MAX_ROWS = 100_000  # rows (traces, result rows) per run, as Braintrust
DEFAULT_BATCH_SIZE = 10_000  # rows read per query page
MAX_BATCH_SIZE = 100_000  # the query engine's largest page
DEFAULT_ROWS_PER_FILE = 100_000
DEFAULT_GRACE_HOURS = 24
MAX_RETENTION_DAYS = 36_500  # 100 years: a longer window is no retention (and overflows dates)
MAX_GRACE_HOURS = 8_760  # one year


def validate_config(config: Any) -> dict:
    """A normalised copy of an automation config, or InvalidRequest naming the problem."""
    if not isinstance(config, dict):
        raise InvalidRequest("config must be an object")
    event_type = config.get("event_type")
    if event_type not in EVENT_TYPES:
        raise InvalidRequest(f"config.event_type must be one of {', '.join(EVENT_TYPES)}")
    if event_type == "btql_export":
        return _export_config(config)
    return _retention_config(config)


def _export_config(config: dict) -> dict:
    allowed = {
        "event_type",
        "export_definition",
        "export_path",
        "format",
        "interval_seconds",
        "batch_size",
        "max_rows",
        "rows_per_file",
        "credentials",
        "status",
        "scope",
    }
    _no_unknown(config, allowed)
    definition = config.get("export_definition")
    if not isinstance(definition, dict) or definition.get("type") not in EXPORT_DEFINITIONS:
        raise InvalidRequest(
            "config.export_definition.type must be one of " + ", ".join(EXPORT_DEFINITIONS)
        )
    definition = {"type": definition["type"]}
    if definition["type"] == "btql_query":
        query = config["export_definition"].get("btql_query")
        if not isinstance(query, str) or not query.strip():
            raise InvalidRequest("config.export_definition.btql_query must be a query")
        definition["btql_query"] = query
    path = _export_path(config.get("export_path"))
    fmt = config.get("format", "jsonl")
    if fmt not in EXPORT_FORMATS:
        raise InvalidRequest(f"config.format must be one of {', '.join(EXPORT_FORMATS)}")
    interval = config.get("interval_seconds", 3600)
    if (
        isinstance(interval, bool)
        or not isinstance(interval, int)
        or not (MIN_INTERVAL <= interval <= MAX_INTERVAL)
    ):
        raise InvalidRequest(
            "config.interval_seconds must be a whole number of seconds from "
            f"{MIN_INTERVAL} to {MAX_INTERVAL}"
        )
    status = config.get("status", "active")
    if status not in ("active", "paused"):
        raise InvalidRequest("config.status must be active or paused")
    result = {
        "event_type": "btql_export",
        "export_definition": definition,
        "export_path": path,
        "format": fmt,
        "interval_seconds": interval,
        "batch_size": _positive(config, "batch_size", DEFAULT_BATCH_SIZE, MAX_BATCH_SIZE),
        "max_rows": _positive(config, "max_rows", DEFAULT_MAX_ROWS),
        "rows_per_file": _positive(config, "rows_per_file", DEFAULT_ROWS_PER_FILE),
        "status": status,
    }
    credentials = config.get("credentials")
    if path.startswith("s3://"):
        result["credentials"] = _credentials(credentials)
    elif credentials is not None:
        raise InvalidRequest("config.credentials apply to s3:// paths only")
    if config.get("scope") is not None:
        result["scope"] = config["scope"]
    return result


# The bucket names botocore accepts (S3's rules for new buckets are stricter, but buckets made
# before them, and other S3-compatible stores, may hold capitals and underscores).
_BUCKET = re.compile(r"[A-Za-z0-9._-]{1,255}")


def split_export_path(path: str) -> tuple[str, str, str]:
    """``("s3", bucket, prefix)`` for ``s3://bucket/prefix``, ``("file", "", "/dir")`` for
    ``file:///dir``, else ``("", "", "")``. Taken literally, not as a URL: a ``?`` or ``#`` is
    part of the key or folder name (a URL parser took ``s3://bucket/logs#2`` for the bucket
    with no prefix, and ``s3://a?b/logs`` for the bucket ``a``)."""
    scheme, sep, rest = path.partition("://")
    if not sep or scheme not in ("s3", "file"):
        return "", "", ""
    if scheme == "s3":
        bucket, _, prefix = rest.partition("/")
        return "s3", bucket, prefix.strip("/")
    host, slash, folder = rest.partition("/")
    return "file", host, slash + folder


def _export_path(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidRequest("config.export_path must be s3://bucket/prefix or file:///dir")
    scheme, bucket, rest = split_export_path(value)
    if scheme == "s3":
        if not bucket:
            raise InvalidRequest("config.export_path needs a bucket: s3://bucket/prefix")
        if not _BUCKET.fullmatch(bucket):
            raise InvalidRequest(
                f"config.export_path: {bucket!r} is not a bucket name (letters, digits, "
                "'.', '-' and '_')"
            )
        return value.rstrip("/")
    if scheme == "file":
        if bucket or not rest.startswith("/") or not rest.strip("/"):
            # file:/// is the server's root folder (written relative to its working directory)
            raise InvalidRequest("config.export_path must be an absolute file:///dir path")
        return value.rstrip("/")
    raise InvalidRequest("config.export_path must start with s3:// or file://")


_HEADER_TOKEN = re.compile(r"[\x21-\x7e]+")
# arn:<partition>:iam::<account>:role/<path/>name (names: letters, digits and +=,.@_-), at
# most 2,048 characters as STS takes them
_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d+:role/[\w+=,.@/-]{1,2000}", re.ASCII)


def _credentials(value: Any) -> dict:
    if value is None:
        return {"type": "environment"}
    if not isinstance(value, dict) or value.get("type") not in CREDENTIAL_TYPES:
        raise InvalidRequest(
            "config.credentials.type must be one of " + ", ".join(CREDENTIAL_TYPES)
        )
    for name in SECRET_FIELDS:
        if value.get(name) == MASK:  # no stored secret to keep (see merge_secrets)
            raise InvalidRequest(
                f"config.credentials.{name} is {MASK!r}, the mask shown in place of a saved "
                "secret, and no such secret is saved: give the secret itself"
            )
    result = {"type": value["type"]}
    for name in CREDENTIAL_TYPES[value["type"]]:
        if not isinstance(value.get(name), str) or not value[name]:
            raise InvalidRequest(f"config.credentials.{name} is required for {value['type']}")
        result[name] = value[name]
    for name in ("external_id", "session_token", "region", "endpoint_url"):
        if value.get(name) is not None:
            if not isinstance(value[name], str):
                raise InvalidRequest(f"config.credentials.{name} must be a string")
            result[name] = value[name]
    if result.get("session_token") == "":  # no token (as it was before tokens were checked)
        del result["session_token"]
    for name in ("access_key_id", "session_token"):  # sent in a header of each request
        if name in result and not _HEADER_TOKEN.fullmatch(result[name]):
            raise InvalidRequest(
                f"config.credentials.{name} must be ASCII text without spaces or control characters"
            )
    if "role_arn" in result and not _ROLE_ARN.fullmatch(result["role_arn"]):
        raise InvalidRequest(
            "config.credentials.role_arn must be an IAM role ARN such as "
            f"arn:aws:iam::123456789012:role/tracelake-export, not {result['role_arn']!r}"
        )
    endpoint = result.get("endpoint_url")
    if endpoint is not None:
        parsed = urlparse(endpoint)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise InvalidRequest(
                "config.credentials.endpoint_url must be a URL such as https://s3.example.com "
                f"or http://127.0.0.1:9000, not {endpoint!r}"
            )
    region = result.get("region")
    if region is not None and not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,62}", region):
        raise InvalidRequest(
            "config.credentials.region must be an AWS region name such as us-east-1, "
            f"not {region!r}"
        )
    return result


def _retention_config(config: dict) -> dict:
    _no_unknown(
        config, {"event_type", "object_type", "retention_days", "grace_period_hours", "status"}
    )
    object_type = config.get("object_type")
    if object_type not in RETENTION_OBJECTS:
        raise InvalidRequest("config.object_type must be one of " + ", ".join(RETENTION_OBJECTS))
    days = config.get("retention_days")
    if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= MAX_RETENTION_DAYS:
        raise InvalidRequest(
            f"config.retention_days must be a whole number of days from 0 to {MAX_RETENTION_DAYS}"
        )
    grace = config.get("grace_period_hours", DEFAULT_GRACE_HOURS)
    if (
        isinstance(grace, bool)
        or not isinstance(grace, int | float)
        or not 0 <= grace <= MAX_GRACE_HOURS  # also refuses NaN
    ):
        raise InvalidRequest(f"config.grace_period_hours must be from 0 to {MAX_GRACE_HOURS}")
    status = config.get("status", "active")
    if status not in ("active", "paused"):
        raise InvalidRequest("config.status must be active or paused")
    return {
        "event_type": "retention",
        "object_type": object_type,
        "retention_days": days,
        "grace_period_hours": grace,
        "status": status,
    }


def _positive(config: dict, name: str, default: int, most: int | None = None) -> int:
    value = config.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidRequest(f"config.{name} must be a positive integer")
    if most is not None and value > most:
        raise InvalidRequest(f"config.{name} must be at most {most}")
    return value


def _no_unknown(config: dict, allowed: set[str]) -> None:
    unknown = sorted(set(config) - allowed)
    if unknown:
        raise InvalidRequest(f"config has an unknown field {unknown[0]!r}")


def check_update(current: dict, new: dict) -> None:
    """What may not change: an export's path, and the kind of automation. A new
    ``event_type`` that is no kind at all says which kinds there are (a PATCH of
    ``"nonsense"`` said only that it "cannot change")."""
    if new["event_type"] not in EVENT_TYPES:
        raise InvalidRequest(f"config.event_type must be one of {', '.join(EVENT_TYPES)}")
    if current["event_type"] != new["event_type"]:
        raise InvalidRequest("an automation's event_type cannot change")
    if current["event_type"] == "btql_export" and current["export_path"] != new["export_path"]:
        raise InvalidRequest("an export's export_path cannot be changed after creation")


def server_access(config: dict) -> str | None:
    """Why a (validated) config acts with the server's own authority, or None: an export into
    the server's file system, or to S3 with the server's own AWS credentials (its environment,
    instance role or a profile of its machine). Such exports need an instance admin; static
    keys and assumed roles (``aws_iam``, whose role must trust the caller's external id) are
    the caller's own."""
    if config.get("event_type") != "btql_export":
        return None
    if config["export_path"].startswith("file://"):
        return "a file:// export writes into the server's file system"
    kind = (config.get("credentials") or {}).get("type", "environment")
    if kind in ("environment", "profile"):
        return f"credentials of type {kind} are the server's own AWS credentials"
    return None


def admin_access(config: dict) -> str | None:
    """Why a (validated) config needs an admin key of its organization, or None: settings
    that make the server act on the caller's word beyond the organization's own data. An
    ``aws_iam`` role is assumed with the server's own AWS credentials (a write key could name
    any role that trusts the server), and an ``endpoint_url`` makes the server connect to any
    address the caller names (a write key could probe the server's network with ``test``)."""
    if config.get("event_type") != "btql_export":
        return None
    credentials = config.get("credentials") or {}
    if credentials.get("type") == "aws_iam":
        return "aws_iam credentials make the server assume a role with its own AWS credentials"
    if credentials.get("endpoint_url") is not None:
        return "an endpoint_url makes the server connect to an address the export names"
    return None


def check_server_access(
    current: dict | None, new: dict, instance_admin: bool, org_admin: bool = False
) -> None:
    """Refuse (403) a non instance-admin creating an export that acts with the server's
    authority, or a key that is not an admin of its organization setting up an ``aws_iam``
    role or an ``endpoint_url`` (see ``admin_access``); or changing the credentials of such
    an export (its endpoint, region, profile, role): an admin's existing export stays
    editable (schedule, format, status) by writers."""
    if instance_admin:
        return
    if current is not None and current.get("credentials") == new.get("credentials"):
        return
    reason = server_access(new)
    if reason is not None:
        raise Forbidden(
            f"{reason}: only an admin API key of the first organization may set this up; use "
            "credentials of type aws_static (or aws_iam, set by an admin key of the "
            "organization)"
        )
    reason = admin_access(new)
    if reason is not None and not org_admin:
        raise Forbidden(f"{reason}: only an admin API key of the organization may set this up")


def external_id_for(automation: dict) -> str:
    """The STS external id the server gives an ``aws_iam`` export that names none, as
    Braintrust does: ``bt:<org id>:<project id>:<automation id>``."""
    return f"bt:{automation['org_id']}:{automation['project_id']}:{automation['id']}"


def export_credentials(automation: dict) -> dict | None:
    """An export's credentials as the storage is reached with them: an ``aws_iam`` role
    without an external id of its own is assumed with :func:`external_id_for`."""
    credentials = automation["config"].get("credentials")
    if credentials and credentials.get("type") == "aws_iam" and "external_id" not in credentials:
        return {**credentials, "external_id": external_id_for(automation)}
    return credentials


def check_external_id(org_id: str, current: dict | None, new: dict) -> None:
    """An ``aws_iam`` external id a caller chooses must start with ``bt:<its org id>:`` (the
    server's own is ``bt:<org>:<project>:<automation>``; a trust policy may take
    ``bt:<org>:*``), so that no other organization of the server can name a role that
    trusts it: the id is shown to every reader, and any id went before. One saved before
    this rule is kept while it stays unchanged."""
    credentials = new.get("credentials") or {}
    given = credentials.get("external_id")
    if credentials.get("type") != "aws_iam" or given is None:
        return
    if given.startswith(f"bt:{org_id}:"):
        return
    if current is not None and (current.get("credentials") or {}).get("external_id") == given:
        return
    raise InvalidRequest(
        f"config.credentials.external_id must start with 'bt:{org_id}:' (this organization's "
        "id), or be left out: the server then uses bt:<org id>:<project id>:<automation id>, "
        "shown in the saved config, for the role's trust policy (sts:ExternalId)"
    )


def redact(config: dict) -> dict:
    """The config as shown to clients: secrets replaced by a marker."""
    credentials = config.get("credentials")
    if not credentials:
        return config
    shown = {k: (MASK if k in SECRET_FIELDS else v) for k, v in credentials.items()}
    return {**config, "credentials": shown}


def merge_secrets(current: dict, new: dict) -> dict:
    """A PATCH/PUT that echoes back the ``***`` marker keeps the stored secret. Where none
    is stored (a ``session_token`` the automation never had), the marker stays, and
    validation refuses it as it does in a new automation (it was dropped: the export then
    ran without the token the user meant to keep)."""
    old = current.get("credentials") or {}
    creds = new.get("credentials")
    if not creds:
        return new
    kept = {k: (old[k] if v == MASK and old.get(k) else v) for k, v in creds.items()}
    return {**new, "credentials": kept}
