"""Retention: rows past the window vanish from every read at once (fetch, BTQL, search,
export, summaries), restore brings them back, and after the grace period a purge removes them
from storage. Logs and dataset rows go by row ``created``; experiments go whole."""

from __future__ import annotations

import threading
import uuid

import orjson

from tracelake.store.catalog import EXPERIMENTS

OLD = "2020-01-01T00:00:00Z"


def new_project(client) -> str:
    return client.post("/v1/project", json={"name": f"rt-{uuid.uuid4().hex[:8]}"}).json()["id"]


def retention(client, project_id, object_type, days=30, grace=24) -> dict:
    body = {
        "project_id": project_id,
        "name": f"keep-{uuid.uuid4().hex[:6]}",
        "config": {
            "event_type": "retention",
            "object_type": object_type,
            "retention_days": days,
            "grace_period_hours": grace,
        },
    }
    response = client.post("/v1/project_automation", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def run_once(client, automation_id) -> dict:
    response = client.post(f"/v1/project_automation/{automation_id}/run")
    assert response.status_code == 200, response.text
    return response.json()["run"]


def log_rows(client, project_id):
    rows = [
        {
            "project_id": project_id,
            "log_id": "g",
            "id": f"old-{i}",
            "input": f"ancient walrus {i}",
            "created": OLD,
        }
        for i in range(3)
    ] + [
        {"project_id": project_id, "log_id": "g", "id": f"new-{i}", "input": f"fresh walrus {i}"}
        for i in range(2)
    ]
    assert client.post("/logs3", json={"rows": rows}).status_code == 200
    comment = {"feedback": [{"id": "old-0", "comment": "keep an eye on this"}]}
    assert client.post(f"/v1/project_logs/{project_id}/feedback", json=comment).status_code == 200


def visible_ids(client, project_id) -> dict[str, set[str]]:
    """The row ids each read path returns."""
    fetched = client.post(f"/v1/project_logs/{project_id}/fetch", json={"limit": 100}).json()
    query = client.post(
        "/btql", json={"query": f"select: id | from: project_logs('{project_id}')"}
    ).json()
    search = client.post(
        "/btql",
        json={
            "query": f"select: id | from: project_logs('{project_id}')"
            " | filter: input MATCH 'walrus'"
        },
    ).json()
    export = client.get(f"/v1/project_logs/{project_id}/export", params={"format": "jsonl"})
    return {
        "fetch": {r["id"] for r in fetched["events"]},
        "btql": {r["id"] for r in query["data"]},
        "search": {r["id"] for r in search["data"]},
        "export": {orjson.loads(line)["id"] for line in export.content.splitlines()},
    }


def store_count(client, sql: str, params: list) -> int:
    store = client.app.state.store
    return store.read(lambda c: c.execute(sql, params).fetchone()[0])


def test_logs_vanish_everywhere_come_back_on_restore_and_purge_later(app_client):
    project_id = new_project(app_client)
    log_rows(app_client, project_id)
    everything = {"old-0", "old-1", "old-2", "new-0", "new-1"}
    assert all(ids == everything for ids in visible_ids(app_client, project_id).values())
    policy = retention(app_client, project_id, "project_logs", days=30)

    run = run_once(app_client, policy["id"])
    assert run["status"] == "succeeded" and run["rows"] == 3 and run["purge_after"]
    after = visible_ids(app_client, project_id)
    assert all(ids == {"new-0", "new-1"} for ids in after.values()), after
    fetched = app_client.post(f"/v1/project_logs/{project_id}/fetch", json={}).json()
    assert all(not e.get("comments") for e in fetched["events"])

    restored = app_client.post(f"/v1/project_automation/{policy['id']}/restore")
    assert restored.status_code == 200 and restored.json()["restored_rows"] == 3
    assert all(ids == everything for ids in visible_ids(app_client, project_id).values())
    old = app_client.post(
        "/btql",
        json={
            "query": f"select: id, comments | from: project_logs('{project_id}') | "
            "filter: id = 'old-0'"
        },
    ).json()["data"]
    assert old[0]["comments"][0]["comment"] == {"text": "keep an eye on this"}
    paused = app_client.get(f"/v1/project_automation/{policy['id']}").json()
    assert paused["config"]["status"] == "paused"
    history = app_client.get(f"/v1/project_automation/{policy['id']}/runs").json()["objects"]
    assert history[0]["status"] == "restored" and history[0]["restored_at"]

    # Resume with no grace period: the next run deletes again, the next scheduler pass purges.
    app_client.patch(
        f"/v1/project_automation/{policy['id']}",
        json={"config": {"status": "active", "grace_period_hours": 0}},
    )
    assert run_once(app_client, policy["id"])["rows"] == 3
    assert all(ids == {"new-0", "new-1"} for ids in visible_ids(app_client, project_id).values())
    app_client.post("/automation/cron", json={})
    history = app_client.get(f"/v1/project_automation/{policy['id']}/runs").json()["objects"]
    assert history[0]["status"] == "purged" and history[0]["purged_at"]
    for table in ("trash_live", "trash_history", "trash_comments", "history", "comments"):
        column = "origin_id" if table.endswith("comments") else "id"
        assert (
            store_count(
                app_client,
                f"SELECT count(*) FROM {table} WHERE object_id = ? AND {column} LIKE 'old-%'",
                [project_id],
            )
            == 0
        ), table
    nothing = app_client.post(f"/v1/project_automation/{policy['id']}/restore").json()
    assert nothing["restored_rows"] == 0


def test_a_restore_that_brings_nothing_back_leaves_the_policy_active(app_client):
    """A restore with nothing left to restore (purged, or runs that deleted nothing) paused
    the policy all the same: it silently stopped deleting old rows."""
    project_id = new_project(app_client)
    log_rows(app_client, project_id)
    policy = retention(app_client, project_id, "project_logs", days=30, grace=0)
    assert run_once(app_client, policy["id"])["rows"] == 3
    app_client.post("/automation/cron", json={})  # purges it
    assert run_once(app_client, policy["id"])["rows"] == 0  # restorable, deleted nothing
    nothing = app_client.post(f"/v1/project_automation/{policy['id']}/restore").json()
    assert nothing["restored_rows"] == 0 and nothing["paused"] is False
    shown = app_client.get(f"/v1/project_automation/{policy['id']}").json()
    assert shown["config"]["status"] == "active"
    # A restore that brings rows back pauses it, as before.
    assert (
        app_client.post("/logs3", json={"rows": [old_row(project_id, "old-9")]}).status_code == 200
    )
    assert run_once(app_client, policy["id"])["rows"] == 1
    restored = app_client.post(f"/v1/project_automation/{policy['id']}/restore").json()
    assert restored["restored_rows"] == 1 and restored["paused"] is True
    shown = app_client.get(f"/v1/project_automation/{policy['id']}").json()
    assert shown["config"]["status"] == "paused"


def old_row(project_id: str, row_id: str) -> dict:
    return {"project_id": project_id, "log_id": "g", "id": row_id, "input": 1, "created": OLD}


def test_dataset_rows_go_by_row_created_and_the_dataset_stays(app_client):
    project_id = new_project(app_client)
    dataset = app_client.post(
        "/v1/dataset", json={"project_id": project_id, "name": "golden"}
    ).json()
    rows = [
        {"dataset_id": dataset["id"], "id": "d-old", "input": 1, "expected": 2, "created": OLD},
        {"dataset_id": dataset["id"], "id": "d-new", "input": 3, "expected": 4},
    ]
    assert app_client.post("/logs3", json={"rows": rows}).status_code == 200
    policy = retention(app_client, project_id, "dataset", days=7)
    assert run_once(app_client, policy["id"])["rows"] == 1
    fetched = app_client.post(f"/v1/dataset/{dataset['id']}/fetch", json={}).json()["events"]
    assert [e["id"] for e in fetched] == ["d-new"]
    insert = app_client.post(
        f"/v1/dataset/{dataset['id']}/insert", json={"events": [{"id": "d-more", "input": 5}]}
    )
    assert insert.status_code == 200  # the dataset itself remains and accepts rows


def test_experiments_go_whole_and_come_back(app_client):
    project_id = new_project(app_client)
    experiment = app_client.post(
        "/v1/experiment", json={"project_id": project_id, "name": "baseline"}
    ).json()
    events = {"events": [{"id": "e1", "input": 1, "output": 2, "scores": {"ok": 1}}]}
    assert (
        app_client.post(f"/v1/experiment/{experiment['id']}/insert", json=events).status_code == 200
    )
    policy = retention(app_client, project_id, "experiment", days=0, grace=0)
    run = run_once(app_client, policy["id"])
    assert run["status"] == "succeeded" and run["rows"] == 1
    assert app_client.get(f"/v1/experiment/{experiment['id']}").status_code == 404
    listed = app_client.get("/v1/experiment", params={"project_id": project_id}).json()
    assert listed["objects"] == []
    query = app_client.post(
        "/btql", json={"query": f"select: id | from: experiment('{experiment['id']}')"}
    )
    assert query.status_code in (400, 404)

    assert app_client.post(f"/v1/project_automation/{policy['id']}/restore").status_code == 200
    assert app_client.get(f"/v1/experiment/{experiment['id']}").status_code == 200
    fetched = app_client.post(f"/v1/experiment/{experiment['id']}/fetch", json={}).json()
    assert [e["id"] for e in fetched["events"]] == ["e1"]

    # Deleted again and purged (no grace): the experiment and its events are gone for good.
    app_client.patch(
        f"/v1/project_automation/{policy['id']}", json={"config": {"status": "active"}}
    )
    assert run_once(app_client, policy["id"])["rows"] == 1
    app_client.post("/automation/cron", json={})
    assert (
        store_count(
            app_client, "SELECT count(*) FROM history WHERE object_id = ?", [experiment["id"]]
        )
        == 0
    )
    assert (
        store_count(app_client, "SELECT count(*) FROM experiments WHERE id = ?", [experiment["id"]])
        == 0
    )


def test_restore_and_reset_apply_to_their_own_kind(app_client, tmp_path):
    project_id = new_project(app_client)
    policy = retention(app_client, project_id, "project_logs")
    reset = app_client.post(f"/v1/project_automation/{policy['id']}/reset")
    assert reset.status_code == 400 and "btql_export" in reset.json()["error"]["message"]
    unknown = app_client.post(
        f"/v1/project_automation/{policy['id']}/restore", json={"run_id": "nope"}
    )
    assert unknown.status_code == 404


def test_restored_rows_are_exported_again_and_pinned_reads_keep_their_versions(
    app_client, tmp_path
):
    """A restore makes its rows current again as a write would: a scheduled export whose
    cursor passed them while they were trashed exports them (they were never exported again),
    and a read pinned before the soft delete still sees their old version."""
    project_id = new_project(app_client)
    log_rows(app_client, project_id)
    before = app_client.post(f"/v1/project_logs/{project_id}/fetch", json={}).json()
    pinned = max(int(e["_xact_id"]) for e in before["events"])
    policy = retention(app_client, project_id, "project_logs", days=30)
    body = {
        "project_id": project_id,
        "name": "spans",
        "config": {
            "event_type": "btql_export",
            "export_definition": {"type": "log_spans"},
            "export_path": f"file://{tmp_path / 'out'}",
            "format": "jsonl",
            "interval_seconds": 300,
        },
    }
    export = app_client.post("/v1/project_automation", json=body)
    assert export.status_code == 200, export.text

    def exported() -> list[str]:
        return sorted(
            orjson.loads(line)["id"]
            for f in sorted((tmp_path / "out").rglob("export_*.jsonl"))
            for line in f.read_bytes().splitlines()
        )

    assert run_once(app_client, policy["id"])["rows"] == 3  # old-* go to the trash
    run_once(app_client, export.json()["id"])  # the cursor passes them
    assert exported() == ["new-0", "new-1"]
    restored = app_client.post(f"/v1/project_automation/{policy['id']}/restore")
    assert restored.status_code == 200 and restored.json()["restored_rows"] == 3
    assert run_once(app_client, export.json()["id"])["rows"] == 3
    assert exported() == ["new-0", "new-1", "old-0", "old-1", "old-2"]

    again = app_client.post(
        f"/v1/project_logs/{project_id}/fetch", json={"version": str(pinned)}
    ).json()
    assert sorted(e["id"] for e in again["events"]) == sorted(e["id"] for e in before["events"])
    assert {e["id"]: e["_xact_id"] for e in again["events"]} == {
        e["id"]: e["_xact_id"] for e in before["events"]
    }


def test_an_experiment_retention_interrupted_after_its_delete_stays_restorable(fresh_server):
    """A crash after an experiment retention committed its delete and before the run was
    closed: on start the run was finished only if rows were in the trash, and experiments
    are not moved there (the run's plan records them), so it stayed ``running``, was marked
    failed by the next run, and the experiments stayed hidden: never restorable, never
    purged."""
    import duckdb

    fresh_server.start()
    client = fresh_server.client()
    project_id = new_project(client)
    experiment = client.post(
        "/v1/experiment", json={"project_id": project_id, "name": "old-one"}
    ).json()
    events = {"events": [{"id": "e1", "input": 1}]}
    assert client.post(f"/v1/experiment/{experiment['id']}/insert", json=events).status_code == 200
    policy = retention(client, project_id, "experiment", days=0)
    run = run_once(client, policy["id"])
    assert run["rows"] == 1
    empty = retention(client, project_id, "project_logs", days=0)
    nothing = run_once(client, empty["id"])
    assert nothing["rows"] == 0
    fresh_server.stop()
    # What a crash between the delete's commit and the run's close leaves behind.
    with duckdb.connect(str(fresh_server.data_dir / "tracelake.duckdb")) as con:
        con.execute(
            """UPDATE automation_runs SET status = 'running', finished = NULL,
                   purge_after = NULL WHERE id IN (?, ?)""",
            [run["id"], nothing["id"]],
        )
    fresh_server.start()
    client = fresh_server.client()
    runs = client.get(f"/v1/project_automation/{policy['id']}/runs").json()["objects"]
    assert runs[0]["status"] == "succeeded" and runs[0]["purge_after"] is not None
    assert client.get(f"/v1/experiment/{experiment['id']}").status_code == 404
    restored = client.post(f"/v1/project_automation/{policy['id']}/restore").json()
    assert restored["restored_rows"] == 1 and restored["runs"] == [run["id"]]
    assert client.get(f"/v1/experiment/{experiment['id']}").status_code == 200
    # A run that had moved nothing is closed as failed, in plain words.
    runs = client.get(f"/v1/project_automation/{empty['id']}/runs").json()["objects"]
    assert runs[0]["status"] == "failed" and "nothing was deleted" in runs[0]["error"]


def test_a_purge_that_read_the_run_before_a_restore_leaves_it_restored(app_client):
    """The scheduler's purge pass reads the purgeable runs, then purges each: a restore that
    commits in between brought an experiment back, and the purge then deleted it with all
    its events (and marked the restored run purged). The purge now re-checks the run in its
    own transaction, on the writer thread that restores run on too."""
    from tracelake.automations import retention as retention_runs
    from tracelake.store import runs

    project_id = new_project(app_client)
    experiment = app_client.post(
        "/v1/experiment", json={"project_id": project_id, "name": "kept"}
    ).json()
    events = {"events": [{"id": "e1", "input": 1}]}
    app_client.post(f"/v1/experiment/{experiment['id']}/insert", json=events)
    policy = retention(app_client, project_id, "experiment", days=0, grace=0)
    run = run_once(app_client, policy["id"])
    store = app_client.app.state.store
    read_by_the_purge_pass = runs.get_run(store, run["id"])
    assert app_client.post(f"/v1/project_automation/{policy['id']}/restore").status_code == 200
    assert retention_runs.purge(store, read_by_the_purge_pass) == 0
    assert app_client.get(f"/v1/experiment/{experiment['id']}").status_code == 200
    fetched = app_client.post(f"/v1/experiment/{experiment['id']}/fetch", json={}).json()
    assert [e["id"] for e in fetched["events"]] == ["e1"]
    history = app_client.get(f"/v1/project_automation/{policy['id']}/runs").json()["objects"]
    assert history[0]["status"] == "restored" and history[0]["purged_at"] is None
    # And the other way round: a restore of a run purged since it was read restores nothing.
    app_client.patch(
        f"/v1/project_automation/{policy['id']}", json={"config": {"status": "active"}}
    )
    again = run_once(app_client, policy["id"])
    read_by_the_restore = runs.get_run(store, again["id"])
    app_client.post("/automation/cron", json={})  # grace 0: purged
    changing = app_client.app.state.catalog.changing
    assert retention_runs.restore(store, read_by_the_restore, changing=changing) is None
    assert app_client.get(f"/v1/experiment/{experiment['id']}").status_code == 404
    history = app_client.get(f"/v1/project_automation/{policy['id']}/runs").json()["objects"]
    assert history[0]["status"] == "purged"


def test_a_restored_experiment_whose_name_was_taken_comes_back_renamed(app_client):
    """A deleted experiment's name is free again: a new "baseline" made after retention hid
    the old one, then a restore, left two live experiments named "baseline" (a lookup by
    name found either). The restored one now comes back as "baseline-1"."""
    project_id = new_project(app_client)
    old = app_client.post("/v1/experiment", json={"project_id": project_id, "name": "baseline"})
    old = old.json()
    events = {"events": [{"id": "e1", "input": 1}]}
    app_client.post(f"/v1/experiment/{old['id']}/insert", json=events)
    policy = retention(app_client, project_id, "experiment", days=0)
    assert run_once(app_client, policy["id"])["rows"] == 1
    new = app_client.post("/v1/experiment", json={"project_id": project_id, "name": "baseline"})
    assert new.json()["id"] != old["id"]
    assert app_client.post(f"/v1/project_automation/{policy['id']}/restore").status_code == 200
    listed = app_client.get("/v1/experiment", params={"project_id": project_id}).json()
    names = {e["id"]: e["name"] for e in listed["objects"]}
    assert names == {new.json()["id"]: "baseline", old["id"]: "baseline-1"}
    fetched = app_client.post(f"/v1/experiment/{old['id']}/fetch", json={}).json()
    assert [e["id"] for e in fetched["events"]] == ["e1"]


def test_restore_finds_runs_older_than_the_last_thousand(app_client):
    """Restore looked for restorable runs among the newest 1,000 runs only: an hourly policy
    with a grace period over 42 days has more, and an older run's rows were left to be
    purged (the restore answered 0 rows)."""
    project_id = new_project(app_client)
    log_rows(app_client, project_id)
    policy = retention(app_client, project_id, "project_logs", grace=8760)
    run = run_once(app_client, policy["id"])
    assert run["rows"] > 0
    # The hourly runs after it (here purged ones, which a restore has nothing to do with).
    app_client.app.state.store.transact(
        lambda c: c.execute(
            """INSERT INTO automation_runs (id, automation_id, seq, kind, trigger, status,
                   started, finished, plan, rows, purge_after, purged_at)
               SELECT 'later-' || i, ?, 1 + i, 'retention', 'schedule', 'purged', now(),
                      now(), '{}', 0, now(), now()
               FROM range(1, 1001) t(i)""",
            [policy["id"]],
        )
    )
    restored = app_client.post(f"/v1/project_automation/{policy['id']}/restore").json()
    assert restored["restored_rows"] == run["rows"] and restored["runs"] == [run["id"]]


def test_review_items_of_rows_retention_hid_leave_the_queue_until_restored(app_client):
    project_id = new_project(app_client)
    log_rows(app_client, project_id)
    flagged = {}
    for row_id in ("old-0", "new-0"):
        body = {"object_type": "project_logs", "object_id": project_id, "row_id": row_id}
        flagged[row_id] = app_client.post("/v1/review_item", json=body).json()["id"]

    def queue() -> set[str]:
        listed = app_client.get("/v1/review_item", params={"project_id": project_id})
        return {i["id"] for i in listed.json()["objects"]}

    policy = retention(app_client, project_id, "project_logs", days=30)
    assert run_once(app_client, policy["id"])["rows"] == 3
    assert queue() == {flagged["new-0"]}
    assert app_client.get(f"/v1/review_item/{flagged['old-0']}").status_code == 404
    assert app_client.post(f"/v1/project_automation/{policy['id']}/restore").status_code == 200
    assert queue() == set(flagged.values())


def test_a_bounded_history_keeps_the_runs_a_restore_needs(app_client):
    """The run history is cut to each automation's newest 1,000 runs when a run ends; a
    retention run whose rows are still in the trash stays however old, so they can still be
    restored (and are purged on time)."""
    from tracelake.store import runs

    project_id = new_project(app_client)
    log_rows(app_client, project_id)
    policy = retention(app_client, project_id, "project_logs", days=30)
    first = run_once(app_client, policy["id"])
    assert first["rows"] == 3
    app_client.app.state.store.transact(
        lambda c: c.execute(
            """INSERT INTO automation_runs (id, automation_id, seq, kind, trigger, status,
                   started, finished, plan)
               SELECT uuid()::VARCHAR, ?, 2 + i, 'retention', 'schedule',
                   CASE WHEN i < 50 AND i % 2 = 1 THEN 'succeeded' ELSE 'failed' END,
                   now(), now(), '{}'
               FROM range(?) t(i)""",
            [policy["id"], runs.KEEP_RUNS + 50],
        )
    )
    # (the succeeded ones moved nothing: they hold nothing in the trash and go as well)
    app_client.app.state.store.transact(
        lambda c: c.execute(
            """UPDATE automation_runs SET rows = 0, purge_after = now() + INTERVAL 1 DAY
               WHERE automation_id = ? AND status = 'succeeded' AND seq > 1""",
            [policy["id"]],
        )
    )
    assert run_once(app_client, policy["id"])["rows"] == 0
    count = store_count(
        app_client, "SELECT count(*) FROM automation_runs WHERE automation_id = ?", [policy["id"]]
    )
    assert count == runs.KEEP_RUNS + 1
    restored = app_client.post(f"/v1/project_automation/{policy['id']}/restore").json()
    assert restored["restored_rows"] == 3
    assert all(len(ids) == 5 for ids in visible_ids(app_client, project_id).values())


def span(project_id: str, span_id: str, root: str, created: str | None = None) -> dict:
    row = {
        "project_id": project_id,
        "log_id": "g",
        "id": span_id,
        "span_id": span_id,
        "root_span_id": root,
        "span_parents": [] if span_id == root else [root],
        "input": span_id,
    }
    return {**row, "created": created} if created else row


def test_logs_go_span_by_span_even_inside_a_trace(app_client):
    """Braintrust's rule, kept on purpose: each log row goes once its own ``created`` is past
    the window, whatever the rest of its trace. (Going by whole traces would keep an old
    span of a trace still written to past the window: data a policy exists to delete.) The
    summary then shows what is left of a cut trace."""
    project_id = new_project(app_client)
    rows = [
        span(project_id, "a", "a", OLD),  # an old root with a new child
        span(project_id, "a-1", "a"),
        span(project_id, "b", "b"),  # a new root with an old child
        span(project_id, "b-1", "b", OLD),
    ]
    assert app_client.post("/logs3", json={"rows": rows}).status_code == 200
    policy = retention(app_client, project_id, "project_logs", days=30)
    assert run_once(app_client, policy["id"])["rows"] == 2
    spans = app_client.post(
        "/btql", json={"query": f"select: id | from: project_logs('{project_id}') spans"}
    ).json()["data"]
    assert sorted(r["id"] for r in spans) == ["a-1", "b"]
    summary = app_client.post(
        "/btql", json={"query": f"select: * | from: project_logs('{project_id}') summary"}
    ).json()["data"]
    assert sorted(r["span_type_info"]["span_count"] for r in summary) == [1, 1]
    restored = app_client.post(f"/v1/project_automation/{policy['id']}/restore").json()
    assert restored["restored_rows"] == 2


def test_a_new_grace_period_applies_to_what_is_in_the_trash(app_client):
    """A changed ``grace_period_hours`` applied only to later runs: rows already in the trash
    kept the purge time of the old grace period (made longer to have time for a restore,
    they were purged on the old schedule all the same)."""
    import datetime as dt

    project_id = new_project(app_client)
    log_rows(app_client, project_id)
    policy = retention(app_client, project_id, "project_logs", days=30, grace=1)
    run = run_once(app_client, policy["id"])
    url = f"/v1/project_automation/{policy['id']}"

    def purge_after() -> dt.timedelta:
        shown = app_client.get(f"{url}/runs").json()["objects"][0]
        return dt.datetime.fromisoformat(shown["purge_after"]) - dt.datetime.fromisoformat(
            shown["end"]
        )

    assert abs(purge_after() - dt.timedelta(hours=1)) < dt.timedelta(seconds=1)
    app_client.patch(url, json={"config": {"grace_period_hours": 48}})
    assert abs(purge_after() - dt.timedelta(hours=48)) < dt.timedelta(seconds=1)
    app_client.patch(url, json={"config": {"grace_period_hours": 0}})
    app_client.post("/automation/cron", json={})  # purges it now
    history = app_client.get(f"{url}/runs").json()["objects"]
    assert history[0]["id"] == run["id"] and history[0]["status"] == "purged"


def test_a_change_saved_during_a_restore_stays(app_client):
    """A restore paused the policy by writing back the config it read when it began, so a
    change saved while it ran (a restore of many runs takes seconds) was undone."""
    import threading
    import time

    project_id = new_project(app_client)
    log_rows(app_client, project_id)
    policy = retention(app_client, project_id, "project_logs", days=30)
    assert run_once(app_client, policy["id"])["rows"] == 3
    app_client.app.state.store.transact(  # as many earlier runs (each restored in turn)
        lambda c: c.execute(
            """INSERT INTO automation_runs (id, automation_id, seq, kind, trigger, status,
                   started, finished, plan, rows, purge_after)
               SELECT uuid()::VARCHAR, ?, 2 + i, 'retention', 'schedule', 'succeeded', now(),
                   now(), '{}', 1, now() + INTERVAL 1 DAY FROM range(150) t(i)""",
            [policy["id"]],
        )
    )
    url = f"/v1/project_automation/{policy['id']}"
    answers = []
    restore = threading.Thread(target=lambda: answers.append(app_client.post(f"{url}/restore")))
    restore.start()
    time.sleep(0.3)
    patched = app_client.patch(url, json={"config": {"retention_days": 90}})
    restore.join()
    assert patched.status_code == 200 and answers[0].status_code == 200, answers[0].text
    assert answers[0].json()["paused"] is True
    config = app_client.get(url).json()["config"]
    assert (config["status"], config["retention_days"]) == ("paused", 90)


def test_a_restore_of_many_runs_that_deleted_nothing_is_quick(app_client, monkeypatch):
    """A restore went through every restorable run in a transaction of its own, also those
    that deleted nothing: an hourly policy with a long grace period has thousands of them,
    and its restore took minutes. They are now closed together: the writer's exclusive
    transactions are counted (each still runs)."""
    store = app_client.app.state.store
    project_id = new_project(app_client)
    log_rows(app_client, project_id)
    policy = retention(app_client, project_id, "project_logs", days=30)
    assert run_once(app_client, policy["id"])["rows"] == 3
    app_client.app.state.store.transact(  # a month of an hourly policy's runs since
        lambda c: c.execute(
            """INSERT INTO automation_runs (id, automation_id, seq, kind, trigger, status,
                   started, finished, plan, rows, purge_after)
               SELECT uuid()::VARCHAR, ?, 2 + i, 'retention', 'schedule', 'succeeded', now(),
                   now(), '{}', 0, now() + INTERVAL 1 DAY FROM range(720) t(i)""",
            [policy["id"]],
        )
    )
    transactions = 0
    real_exclusive = store.exclusive

    def counted(fn):
        nonlocal transactions
        transactions += 1
        return real_exclusive(fn)

    monkeypatch.setattr(store, "exclusive", counted)
    restored = app_client.post(f"/v1/project_automation/{policy['id']}/restore").json()
    monkeypatch.setattr(store, "exclusive", real_exclusive)
    assert transactions <= 3  # the run that deleted rows, the 720 together, the pause
    assert restored["restored_rows"] == 3 and len(restored["runs"]) == 721
    assert all(len(ids) == 5 for ids in visible_ids(app_client, project_id).values())
    history = app_client.get(
        f"/v1/project_automation/{policy['id']}/runs", params={"limit": 1000}
    ).json()["objects"]
    assert {r["status"] for r in history} == {"restored"}


# -- automations of a deleted project are not due (they were, at every tick, and never ran) ----


def test_automations_of_a_deleted_project_are_not_scheduled(app_client):
    from tracelake.store import runs

    gone, kept = new_project(app_client), new_project(app_client)
    doomed = retention(app_client, gone, "project_logs")["id"]
    alive = retention(app_client, kept, "project_logs")["id"]
    assert app_client.delete(f"/v1/project/{gone}").status_code == 200
    store = app_client.app.state.store
    due = runs.due_automations(store, runs.now())
    assert alive in due and doomed not in due
    made = app_client.post("/automation/cron", json={}).json()["runs"]
    alive_runs = app_client.get(f"/v1/project_automation/{alive}/runs").json()
    assert [r["id"] for r in made] == [r["id"] for r in alive_runs["objects"]], alive_runs
    assert doomed not in runs.due_automations(store, runs.now())
    assert app_client.get(f"/v1/project_automation/{doomed}/runs").status_code == 404


class _WatchedLock:
    """The catalog's lock, telling when another thread starts waiting for it."""

    def __init__(self, lock):
        self.lock = lock
        self.waiting = threading.Event()

    def __enter__(self):
        if not self.lock.acquire(blocking=False):
            self.waiting.set()
            self.lock.acquire()
        return self

    def __exit__(self, *exc):
        self.lock.release()


def test_a_restore_checks_names_under_the_catalog_lock(app_client):
    """A restore checked that a hidden experiment's name was free and took it back without
    the catalog's lock, which a create holds from its check of a name to its insert: a
    create that had found "baseline" free and a restore of an experiment named "baseline"
    both wrote it, two live experiments of one name. The restore now waits for the lock,
    so it sees the created one and comes back as "baseline-1"."""
    project_id = new_project(app_client)
    old = app_client.post("/v1/experiment", json={"project_id": project_id, "name": "baseline"})
    old = old.json()
    policy = retention(app_client, project_id, "experiment", days=0)
    assert run_once(app_client, policy["id"])["rows"] == 1
    catalog = app_client.app.state.catalog
    watched = catalog.changing = _WatchedLock(catalog.changing)
    answers = []
    done = threading.Event()

    def restore():
        answers.append(app_client.post(f"/v1/project_automation/{policy['id']}/restore"))
        done.set()

    restorer = threading.Thread(target=restore)
    with watched:  # a create of "baseline", between its check of the name and its insert
        assert catalog._find_by_name(EXPERIMENTS, project_id, "baseline") is None
        restorer.start()
        while not (watched.waiting.is_set() or done.is_set()):
            watched.waiting.wait(0.05)  # (the restore waits for the lock, or finished)
        # (its transaction: it saw the name free in its snapshot, so it inserts)
        app_client.app.state.store.transact(
            lambda c: c.execute(
                """INSERT INTO experiments (id, org_id, project_id, name, public, created, seq)
                   VALUES ('new', ?, ?, 'baseline', false, now(), nextval('object_seq'))""",
                [old["org_id"], project_id],
            )
        )
    restorer.join()
    assert answers[0].status_code == 200, answers[0].text
    listed = app_client.get("/v1/experiment", params={"project_id": project_id}).json()
    names = sorted((e["name"], e["id"]) for e in listed["objects"])
    assert names == [("baseline", "new"), ("baseline-1", old["id"])]
