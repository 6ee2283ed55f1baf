"""``tracelake automations``: list, create, pause, resume, delete, test, run, runs, reset
and restore project automations. Automations run inside the server, so these commands talk
to one (``--url`` or TRACELAKE_URL, with ``--api-key``)."""

from __future__ import annotations

from typing import Annotated

import typer

from tracelake.cli import _help, _run, _table, console, one_of
from tracelake.cli_backends import CliError, RemoteBackend, counted, project_id_of, source_names
from tracelake.model.automations import (
    EXPORT_DEFINITIONS,
    EXPORT_FORMATS,
    MAX_GRACE_HOURS,
    MAX_INTERVAL,
    MAX_RETENTION_DAYS,
    MIN_INTERVAL,
    RETENTION_OBJECTS,
)
from tracelake.settings import Settings

automations_app = typer.Typer(
    help="Scheduled S3 exports and retention policies (talks to a running server).",
    no_args_is_help=True,
)

# Not the data commands' --url and --api-key: these say "else the data dir is opened" and "on
# a data dir", and an automation command has no data dir to fall back on.
Url = Annotated[
    str | None,
    typer.Option("--url", help=_help("url", "The running server to talk to (required).")),
]
ApiKey = Annotated[
    str | None,
    typer.Option("--api-key", help=_help("api_key", "The API key sent to the --url server.")),
]
Project = Annotated[str, typer.Option("--project", "-p", help="Project name or id.")]
Automation = Annotated[str, typer.Argument(help="Automation name or id.")]


def _interval(value: str) -> int:
    """--interval: a usage error outside the server's range (it was the server's refusal,
    exit 1, naming config.interval_seconds)."""
    try:
        seconds = int(value)
    except ValueError:
        seconds = None
    if seconds is None or not MIN_INTERVAL <= seconds <= MAX_INTERVAL:
        raise typer.BadParameter(
            f"{value!r} is not a whole number of seconds from {MIN_INTERVAL} to {MAX_INTERVAL}"
        )
    return seconds


def _days(value: str) -> int:
    """--days: a usage error outside the server's range (it was the server's refusal,
    exit 1, naming config.retention_days), as --interval."""
    try:
        days = int(value)
    except ValueError:
        days = None
    if days is None or not 0 <= days <= MAX_RETENTION_DAYS:
        raise typer.BadParameter(
            f"{value!r} is not a whole number of days from 0 to {MAX_RETENTION_DAYS}"
        )
    return days


def _grace_hours(value: str) -> float:
    """--grace-hours: a usage error outside the server's range (config.grace_period_hours
    was named)."""
    try:
        hours = float(value)
    except ValueError:
        hours = None
    if hours is None or not 0 <= hours <= MAX_GRACE_HOURS:  # (also refuses NaN)
        raise typer.BadParameter(f"{value!r} is not a number of hours from 0 to {MAX_GRACE_HOURS}")
    return hours


def _max_rows(value: str) -> int:
    """--max-rows: a usage error below 1 (config.max_rows was named)."""
    try:
        rows = int(value)
    except ValueError:
        rows = None
    if rows is None or rows < 1:
        raise typer.BadParameter(f"{value!r} is not a whole number of rows of at least 1")
    return rows


def _server(url: str | None, api_key: str | None) -> RemoteBackend:
    settings = Settings.from_env(url=url, api_key=api_key)
    if not settings.url:
        raise CliError(
            "automations run inside the server: point the command at it with --url or TRACELAKE_URL"
        )
    return RemoteBackend(settings.url, settings.api_key, source_names(url, api_key))


def _automation(server: RemoteBackend, project: str, name_or_id: str) -> dict:
    project_id = project_id_of(server, project)
    listed = server.call(
        "GET",
        "/v1/project_automation",
        params={"project_id": project_id, "project_automation_name": name_or_id},
    )["objects"]
    if listed:
        return listed[0]
    listed = server.call("GET", "/v1/project_automation", params={"project_id": project_id})[
        "objects"
    ]
    for automation in listed:
        if automation["id"] == name_or_id:
            return automation
    raise CliError(f"automation {name_or_id!r} not found in project {project!r}")


def _summary(automation: dict) -> dict:
    config = automation["config"]
    if config["event_type"] == "btql_export":
        what = f"export {config['export_definition']['type']} as {config['format']}"
        where = config["export_path"]
        every = f"{config['interval_seconds']}s"
    else:
        what = f"retention {config['object_type']}"
        where = counted(config["retention_days"], "day")
        every = "hourly"
    return {
        "id": automation["id"],
        "name": automation["name"],
        "kind": what,
        "target": where,
        "every": every,
        "status": config.get("status", "active"),
    }


def _run_row(run: dict) -> dict:
    trigger = run["trigger"]
    if run.get("resumes"):  # it finishes a run a crash interrupted
        trigger = f"{trigger} (resumes #{run['resumes']})"
    return {
        "seq": run["seq"],
        "kind": run["kind"],
        "trigger": trigger,
        "status": run["status"],
        "start": run["start"],
        "end": run["end"],
        "rows": run["rows"],
        "bytes": run["bytes"],
        "files": len(run["files"]),
        "backlog": run["backlog"],
        "error": run["error"],
        "note": run.get("note"),
    }


RUN_COLUMNS = ["seq", "kind", "trigger", "status", "start", "end", "rows", "bytes", "files"]


@automations_app.command("list")
def list_automations(project: Project, url: Url = None, api_key: ApiKey = None):
    """The project's automations."""

    def body():
        server = _server(url, api_key)
        project_id = project_id_of(server, project)
        listed = server.call("GET", "/v1/project_automation", params={"project_id": project_id})
        rows = [_summary(a) for a in listed["objects"]]
        _table(rows, ["id", "name", "kind", "target", "every", "status"])

    _run(body)


@automations_app.command("create")
def create_automation(
    project: Project,
    name: Annotated[str, typer.Option("--name", help="Automation name (unique per project).")],
    path: Annotated[
        str | None, typer.Option("--path", help="Export to s3://bucket/prefix or file:///dir.")
    ] = None,
    definition: Annotated[
        str | None,
        typer.Option(
            "--definition",
            help="log_traces (the default), log_spans or btql_query (the default with --query).",
            parser=one_of(EXPORT_DEFINITIONS),
        ),
    ] = None,
    query: Annotated[str | None, typer.Option("--query", help="The btql_query to export.")] = None,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format", help="jsonl (the default) or parquet.", parser=one_of(EXPORT_FORMATS)
        ),
    ] = None,
    interval: Annotated[
        int | None,
        typer.Option(
            "--interval",
            help="Seconds, 300 to 86400 (default 3600).",
            parser=_interval,
        ),
    ] = None,
    max_rows: Annotated[
        int | None,
        typer.Option(
            "--max-rows",
            help="Most rows one run takes (traces for log_traces), default 100,000; a run that"
            " stops there is followed by the next at once.",
            parser=_max_rows,
        ),
    ] = None,
    access_key_id: Annotated[str | None, typer.Option("--access-key-id")] = None,
    secret_access_key: Annotated[str | None, typer.Option("--secret-access-key")] = None,
    role_arn: Annotated[str | None, typer.Option("--role-arn", help="Assumed through STS.")] = None,
    external_id: Annotated[
        str | None,
        typer.Option(
            "--external-id",
            help="STS external id, starting bt:<org id>: (default bt:<org>:<project>:<id>).",
        ),
    ] = None,
    profile: Annotated[str | None, typer.Option("--profile", help="AWS profile.")] = None,
    endpoint_url: Annotated[
        str | None, typer.Option("--endpoint-url", help="S3-compatible endpoint.")
    ] = None,
    region: Annotated[str | None, typer.Option("--region")] = None,
    retention: Annotated[
        str | None,
        typer.Option(
            "--retention",
            help="A retention policy for project_logs, experiment or dataset.",
            parser=one_of(RETENTION_OBJECTS),
        ),
    ] = None,
    days: Annotated[
        int | None,
        typer.Option(
            "--days", help="Days to keep, 0 to 36500 (needed with --retention).", parser=_days
        ),
    ] = None,
    grace_hours: Annotated[
        float | None,
        typer.Option(
            "--grace-hours",
            help="Hours before soft-deleted data is purged, 0 to 8760 (default 24).",
            parser=_grace_hours,
        ),
    ] = None,
    paused: Annotated[bool, typer.Option("--paused", help="Create it paused.")] = False,
    url: Url = None,
    api_key: ApiKey = None,
):
    """Create an export (--path …) or a retention policy (--retention … --days N)."""

    def body():
        # Flags of the other kind (or S3 credentials for a file:// path) were dropped
        # without a word: the automation was created without them.
        s3_flags = {
            "--access-key-id": access_key_id,
            "--secret-access-key": secret_access_key,
            "--role-arn": role_arn,
            "--external-id": external_id,
            "--profile": profile,
            "--endpoint-url": endpoint_url,
            "--region": region,
        }
        # (--definition, --format and --interval have no default here, so that one given
        # with --retention is seen: they were dropped as the others were.)
        export_only = {
            "--path": path,
            "--definition": definition,
            "--query": query,
            "--format": fmt,
            "--interval": interval,
            "--max-rows": max_rows,
            **s3_flags,
        }
        if retention is not None:
            given = [flag for flag, value in export_only.items() if value is not None]
            if given:
                raise CliError(f"{', '.join(given)}: only for an export, not --retention")
            if days is None:
                raise CliError("--retention needs --days N: the days to keep, 0 to 36500")
            config = {"event_type": "retention", "object_type": retention, "retention_days": days}
            if grace_hours is not None:
                config["grace_period_hours"] = grace_hours
        elif path is not None:
            given = [
                f for f, v in (("--days", days), ("--grace-hours", grace_hours)) if v is not None
            ]
            if not path.startswith("s3://"):
                given += [flag for flag, value in s3_flags.items() if value is not None]
            if given:
                raise CliError(f"{', '.join(given)}: not for an export to {path}")
            # A --query with another definition was dropped: the automation exported the
            # whole logs instead of the query's rows.
            kind = definition or ("btql_query" if query is not None else "log_traces")
            if query is not None and kind != "btql_query":
                raise CliError(f"--query: only for --definition btql_query, not {kind}")
            if query is None and kind == "btql_query":
                raise CliError("--definition btql_query needs the query: give --query")
            export_definition = {"type": kind}
            if query is not None:
                export_definition["btql_query"] = query
            config = {
                "event_type": "btql_export",
                "export_definition": export_definition,
                "export_path": path,
                "format": fmt or "jsonl",
                "interval_seconds": 3600 if interval is None else interval,
            }
            if max_rows is not None:
                config["max_rows"] = max_rows
            if path.startswith("s3://"):
                config["credentials"] = _credentials(
                    access_key_id,
                    secret_access_key,
                    role_arn,
                    external_id,
                    profile,
                    endpoint_url,
                    region,
                )
        else:
            raise CliError("give --path for an export or --retention for a retention policy")
        if paused:
            config["status"] = "paused"
        server = _server(url, api_key)
        project_id = project_id_of(server, project)
        # The route answers an automation of that name unmodified (Braintrust's
        # create-or-get): the command printed it and exited 0, as if the new path, format or
        # interval had been saved.
        params = {"project_id": project_id, "project_automation_name": name}
        taken = server.call("GET", "/v1/project_automation", params=params)["objects"]
        if taken:
            raise CliError(
                f"project {project!r} has an automation named {name!r} already"
                f" ({taken[0]['id']}); nothing changed"
            )
        created = server.call(
            "POST",
            "/v1/project_automation",
            json={"project_id": project_id, "name": name, "config": config},
        )
        _table([_summary(created)], ["id", "name", "kind", "target", "every", "status"])

    _run(body)


def _credentials(access_key_id, secret, role_arn, external_id, profile, endpoint, region):
    # Flags of two kinds of credentials were resolved silently (static keys won over a role
    # or a profile, a role over a profile) and --external-id without --role-arn was dropped:
    # the export was saved with credentials other than the ones given.
    # An empty value (a variable that was not set: --access-key-id "$KEY") was dropped as
    # if the flag were not there, so the export used the server's own AWS environment.
    flags = {
        "--access-key-id": access_key_id,
        "--secret-access-key": secret,
        "--role-arn": role_arn,
        "--external-id": external_id,
        "--profile": profile,
        "--endpoint-url": endpoint,
        "--region": region,
    }
    empty = [flag for flag, value in flags.items() if value is not None and not value.strip()]
    if empty:
        raise CliError(f"{', '.join(empty)}: empty (is a variable unset?)")
    kinds = {
        "static keys (--access-key-id, --secret-access-key)": bool(access_key_id or secret),
        "a role (--role-arn)": bool(role_arn),
        "a profile (--profile)": bool(profile),
    }
    given = [kind for kind, used in kinds.items() if used]
    if len(given) > 1:
        raise CliError(f"give one kind of credentials, not {' and '.join(given)}")
    if external_id and not role_arn:
        raise CliError("--external-id goes with --role-arn")
    if access_key_id or secret:
        creds = {
            "type": "aws_static",
            "access_key_id": access_key_id,
            "secret_access_key": secret,
        }
    elif role_arn:
        creds = {"type": "aws_iam", "role_arn": role_arn, "external_id": external_id}
    elif profile:
        creds = {"type": "profile", "profile": profile}
    else:
        creds = {"type": "environment"}
    for key, value in (("endpoint_url", endpoint), ("region", region)):
        if value:
            creds[key] = value
    return {k: v for k, v in creds.items() if v is not None}


def _set_status(automation: str, project: str, status: str, url, api_key) -> None:
    def body():
        server = _server(url, api_key)
        found = _automation(server, project, automation)
        changed = server.call(
            "PATCH", f"/v1/project_automation/{found['id']}", json={"config": {"status": status}}
        )
        _table([_summary(changed)], ["id", "name", "kind", "target", "every", "status"])

    _run(body)


@automations_app.command("pause")
def pause_automation(
    automation: Automation, project: Project, url: Url = None, api_key: ApiKey = None
):
    """Stop its scheduled runs (run once still runs it)."""
    _set_status(automation, project, "paused", url, api_key)


@automations_app.command("resume")
def resume_automation(
    automation: Automation, project: Project, url: Url = None, api_key: ApiKey = None
):
    """Schedule its runs again."""
    _set_status(automation, project, "active", url, api_key)


@automations_app.command("delete")
def delete_automation(
    automation: Automation, project: Project, url: Url = None, api_key: ApiKey = None
):
    """Delete it (files it exported stay where they are)."""

    def body():
        server = _server(url, api_key)
        found = _automation(server, project, automation)
        server.call("DELETE", f"/v1/project_automation/{found['id']}")
        console.print(f"deleted {found['name']} ({found['id']})", highlight=False)

    _run(body)


@automations_app.command("test")
def test_automation(
    automation: Automation, project: Project, url: Url = None, api_key: ApiKey = None
):
    """Check an export's storage (write, read back and delete a test object)."""

    def body():
        server = _server(url, api_key)
        found = _automation(server, project, automation)
        result = server.call("POST", f"/v1/project_automation/{found['id']}/test")
        console.print(result["message"], highlight=False)

    _run(body)


_RUNS_HINT = "see 'tracelake automations runs'"


@automations_app.command("run")
def run_automation(
    automation: Automation,
    project: Project,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Wait for the run.")] = True,
    url: Url = None,
    api_key: ApiKey = None,
):
    """Run once now; prints the run (exit 1 if it failed)."""

    def body():
        server = _server(url, api_key)
        found = _automation(server, project, automation)
        suffix = "" if wait else "?wait=false"
        result = server.call("POST", f"/v1/project_automation/{found['id']}/run{suffix}", long=wait)
        if not wait:
            console.print("started; follow it with `tracelake automations runs`")
            return
        run = result["run"]
        _table([_run_row(run)], [*RUN_COLUMNS, "backlog", "note"])
        if run["status"] == "failed":
            raise CliError(run["error"] or "the run failed")

    _run(body, f"interrupted: the run may go on in the server ({_RUNS_HINT})")


@automations_app.command("runs")
def list_runs(
    automation: Automation,
    project: Project,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="1 to 1,000.")] = 20,
    url: Url = None,
    api_key: ApiKey = None,
):
    """Run history, newest first."""

    def body():
        server = _server(url, api_key)
        found = _automation(server, project, automation)
        result = server.call("GET", f"/v1/project_automation/{found['id']}/runs?limit={limit}")
        _table([_run_row(r) for r in result["objects"]], [*RUN_COLUMNS, "backlog", "error", "note"])

    _run(body)


@automations_app.command("reset")
def reset_automation(
    automation: Automation, project: Project, url: Url = None, api_key: ApiKey = None
):
    """Clear an export's history and cursor: the next run starts from the beginning."""

    def body():
        server = _server(url, api_key)
        found = _automation(server, project, automation)
        server.call("POST", f"/v1/project_automation/{found['id']}/reset")
        console.print(f"reset {found['name']}: the next run exports from the beginning")

    _run(body)


@automations_app.command("restore")
def restore_automation(
    automation: Automation,
    project: Project,
    run_id: Annotated[str | None, typer.Option("--run-id", help="Restore one run only.")] = None,
    url: Url = None,
    api_key: ApiKey = None,
):
    """Bring back what a retention policy soft-deleted (before the purge).

    The policy is paused if anything came back, so that its next run does not delete it again."""

    def body():
        server = _server(url, api_key)
        found = _automation(server, project, automation)
        payload = {"run_id": run_id} if run_id else {}
        result = server.call(
            "POST", f"/v1/project_automation/{found['id']}/restore", json=payload, long=True
        )
        state = "is paused" if result.get("paused") else "was left as it was"
        console.print(
            f"restored {counted(result['restored_rows'], 'row')} from"
            f" {counted(len(result['runs']), 'run')}; "
            f"{found['name']} {state}"
        )

    _run(body, f"interrupted: the restore may go on in the server ({_RUNS_HINT})")
