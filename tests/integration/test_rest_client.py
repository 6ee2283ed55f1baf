"""The official Stainless REST client (``braintrust_api``) against a real tracelake server.

Every test uses its own uniquely named projects (the session server is shared).
"""

from __future__ import annotations

import re
import uuid

import braintrust_api
import pytest

XACT_RE = re.compile(r"^\d{19}$")


@pytest.fixture
def api(server) -> braintrust_api.Braintrust:
    client = braintrust_api.Braintrust(base_url=server.url, api_key=server.api_key, max_retries=0)
    yield client
    client.close()


def _name(label: str) -> str:
    return f"rest-{label}-{uuid.uuid4().hex[:12]}"


def _rows(response) -> list[dict]:
    return [event.to_dict() for event in response.events]


def _page_all(fetch_page, limit: int) -> tuple[list[dict], list[int]]:
    """Follow the cursor of a fetch_post method; returns all rows and the page sizes."""
    rows: list[dict] = []
    sizes: list[int] = []
    cursor = None
    for _ in range(100):
        kwargs = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        page = fetch_page(**kwargs)
        rows.extend(_rows(page))
        sizes.append(len(page.events))
        cursor = page.cursor
        if cursor is None:
            return rows, sizes
    raise AssertionError("fetch never returned a null cursor")


# -- projects -----------------------------------------------------------------------------------


def test_project_crud(api):
    name = _name("project")
    created = api.projects.create(name=name)
    assert created.name == name
    assert created.id and created.org_id

    again = api.projects.create(name=name)
    assert again.id == created.id  # create-or-get

    fetched = api.projects.retrieve(created.id)
    assert fetched.id == created.id and fetched.name == name

    renamed = api.projects.update(created.id, name=name + "-renamed")
    assert renamed.id == created.id
    assert renamed.name == name + "-renamed"
    assert api.projects.retrieve(created.id).name == name + "-renamed"

    listed = api.projects.list(project_name=name + "-renamed")
    assert [p.id for p in listed] == [created.id]

    api.projects.delete(created.id)
    with pytest.raises(braintrust_api.NotFoundError):
        api.projects.retrieve(created.id)
    assert list(api.projects.list(project_name=name + "-renamed")) == []


def test_update_deep_merges_object_fields_as_the_client_documents(api):
    """``update()`` of a project, dataset or experiment: "any object-type fields will be
    deep-merged with existing content" (the client's docstring). A PATCH of ``metadata``
    replaced it whole, so adding one key dropped every other; ``null`` still clears."""
    project = api.projects.create(name=_name("merge"))
    api.projects.update(project.id, settings={"comparison_key": "input.q"})
    settings = api.projects.update(project.id, settings={"baseline_experiment_id": None}).settings
    assert settings.comparison_key == "input.q"

    dataset = api.datasets.create(project_id=project.id, name="d", metadata={"a": 1, "n": {"x": 1}})
    updated = api.datasets.update(dataset.id, metadata={"b": 2, "n": {"y": 2}})
    assert updated.metadata == {"a": 1, "b": 2, "n": {"x": 1, "y": 2}}
    assert api.datasets.retrieve(dataset.id).metadata == updated.metadata
    # A scalar, an array or null inside replaces what it meets.
    updated = api.datasets.update(dataset.id, metadata={"a": None, "n": {"x": [3]}})
    assert updated.metadata == {"a": None, "b": 2, "n": {"x": [3], "y": 2}}

    experiment = api.experiments.create(
        project_id=project.id,
        name="e",
        metadata={"model": "m1", "temperature": 0},
        repo_info={"commit": "abc", "branch": "main"},
    )
    updated = api.experiments.update(
        experiment.id, metadata={"temperature": 0.5, "tags": ["x"]}, repo_info={"dirty": True}
    )
    assert updated.metadata == {"model": "m1", "temperature": 0.5, "tags": ["x"]}
    assert (updated.repo_info.commit, updated.repo_info.branch) == ("abc", "main")
    assert updated.repo_info.dirty is True
    assert api.experiments.update(experiment.id, metadata=None).metadata is None


def test_project_list_auto_pagination(api):
    prefix = _name("page")
    mine = [api.projects.create(name=f"{prefix}-{i}").id for i in range(5)]

    seen: list[str] = []
    for project in api.projects.list(limit=2):
        seen.append(project.id)
        assert len(seen) < 10_000, "pagination does not end"
    assert len(seen) == len(set(seen)), "a project was listed twice"
    for project_id in mine:
        assert seen.count(project_id) == 1
    # newest first
    positions = [seen.index(project_id) for project_id in mine]
    assert positions == sorted(positions, reverse=True)

    first_page = api.projects.list(limit=2)
    assert len(first_page.objects) == 2
    assert first_page.has_next_page()


@pytest.mark.parametrize("resource", ["api_keys", "organizations", "users"])
@pytest.mark.parametrize("limit", [None, 1, 2])
def test_short_lists_page_to_their_end_with_the_official_client(api, server, resource, limit):
    """The API key, organization and user lists ignored ``starting_after``: the official
    client, which asks for the page after the last item until a page is empty, got the same
    page for ever."""
    with server.client() as client:
        for i in range(2):  # two more keys (and users)
            response = client.post("/v1/api_key", json={"name": _name(f"user{i}")})
            assert response.status_code == 200, response.text
        expected = [item["id"] for item in client.get(f"/v1/{resource[:-1]}").json()["objects"]]
        wrong = client.get(f"/v1/{resource[:-1]}", params={"starting_after": "no-such-id"})
        assert wrong.status_code == 400 and "starting_after" in wrong.text
    seen: list[str] = []
    for item in getattr(api, resource).list(**({"limit": limit} if limit else {})):
        seen.append(item.id)
        assert len(seen) < 1_000, "pagination does not end"
    assert seen == expected
    if len(expected) > 1:  # backwards from the last: the ones just before it, in order
        page = getattr(api, resource).list(limit=1, ending_before=expected[-1])
        assert [item.id for item in page.objects] == expected[-2:-1]


# -- project logs -------------------------------------------------------------------------------


def test_project_logs_insert_fetch_paging(api):
    project = api.projects.create(name=_name("logs"))
    events = []
    for i in range(25):
        event = {"input": {"i": i}, "output": i * 2, "metadata": {"n": i}}
        if i % 5 != 0:
            event["id"] = f"row-{i}"
        events.append(event)
    inserted = api.projects.logs.insert(project.id, events=events)
    row_ids = inserted.row_ids
    assert len(row_ids) == 25
    for i, row_id in enumerate(row_ids):
        assert isinstance(row_id, str) and row_id
        if i % 5 != 0:
            assert row_id == f"row-{i}"
    assert len(set(row_ids)) == 25

    def fetch_page(**kwargs):
        return api.projects.logs.fetch_post(project.id, **kwargs)

    rows, sizes = _page_all(fetch_page, limit=10)
    assert sizes == [10, 10, 5]
    ids = [row["id"] for row in rows]
    assert len(ids) == len(set(ids)) == 25
    assert set(ids) == set(row_ids)
    for row in rows:
        i = row["input"]["i"]
        assert row["id"] == row_ids[i]
        assert row["output"] == i * 2
        assert row["metadata"] == {"n": i}
        assert row["project_id"] == project.id
        assert row["log_id"] == "g"
        assert XACT_RE.match(row["_xact_id"])
        assert row["root_span_id"] and row["span_id"]

    # the GET form returns the same rows in one page
    everything = api.projects.logs.fetch(project.id, limit=100)
    assert everything.cursor is None
    assert {e.id for e in everything.events} == set(row_ids)

    # and pages the same way when the cursor goes in the query string
    first = api.projects.logs.fetch(project.id, limit=10)
    assert len(first.events) == 10 and first.cursor
    second = api.projects.logs.fetch(project.id, limit=10, extra_query={"cursor": first.cursor})
    assert len(second.events) == 10
    assert not {e.id for e in first.events} & {e.id for e in second.events}


def test_project_logs_limit_counts_traces(api):
    project = api.projects.create(name=_name("traces"))
    events = []
    for t in range(3):
        events.append({"id": f"root-{t}", "span_id": f"s-{t}", "root_span_id": f"r-{t}"})
        for c in range(2):
            events.append(
                {
                    "id": f"child-{t}-{c}",
                    "span_id": f"s-{t}-{c}",
                    "root_span_id": f"r-{t}",
                    "span_parents": [f"s-{t}"],
                }
            )
    api.projects.logs.insert(project.id, events=events)

    def fetch_page(**kwargs):
        return api.projects.logs.fetch_post(project.id, **kwargs)

    rows, sizes = _page_all(fetch_page, limit=2)
    assert len(rows) == 9
    assert sizes[0] == 6  # two whole traces
    traces = {}
    for row in rows:
        traces.setdefault(row["root_span_id"], []).append(row["id"])
    assert sorted(len(v) for v in traces.values()) == [3, 3, 3]


def test_project_logs_merge_and_feedback(api):
    project = api.projects.create(name=_name("feedback"))
    api.projects.logs.insert(
        project.id,
        events=[{"id": "r1", "input": "q", "scores": {"auto": 0.25}, "tags": ["a"]}],
    )
    api.projects.logs.insert(
        project.id,
        events=[{"id": "r1", "_is_merge": True, "output": "answer", "tags": ["b"]}],
    )
    result = api.projects.logs.feedback(
        project.id,
        feedback=[
            {
                "id": "r1",
                "scores": {"human": 1.0},
                "comment": "good",
                "metadata": {"reviewer": "ann"},
            }
        ],
    )
    assert result.status == "success"

    rows = _rows(api.projects.logs.fetch_post(project.id))
    assert [r["id"] for r in rows] == ["r1"]
    row = rows[0]
    assert row["input"] == "q"
    assert row["output"] == "answer"
    assert sorted(row["tags"]) == ["a", "b"]
    assert row["scores"] == {"auto": 0.25, "human": 1.0}
    assert len(row["comments"]) == 1
    assert row["comments"][0]["comment"] == {"text": "good"}


# -- datasets -----------------------------------------------------------------------------------


def test_dataset_endpoints(api):
    project = api.projects.create(name=_name("dataset"))
    dataset = api.datasets.create(name="cases", project_id=project.id, description="d")
    assert dataset.project_id == project.id and dataset.name == "cases"
    assert api.datasets.create(name="cases", project_id=project.id).id == dataset.id
    assert api.datasets.retrieve(dataset.id).name == "cases"
    assert [d.id for d in api.datasets.list(project_id=project.id)] == [dataset.id]

    inserted = api.datasets.insert(
        dataset.id,
        events=[
            {"id": "d1", "input": {"q": 1}, "expected": {"a": 1}, "tags": ["x"]},
            {"input": {"q": 2}, "expected": {"a": 2}, "metadata": {"m": 2}},
            {"id": "d3", "input": {"q": 3}},
        ],
    )
    assert inserted.row_ids[0] == "d1" and inserted.row_ids[2] == "d3"
    generated = inserted.row_ids[1]
    assert generated and generated not in ("d1", "d3")

    rows = {r["id"]: r for r in _rows(api.datasets.fetch_post(dataset.id))}
    assert set(rows) == {"d1", generated, "d3"}
    assert rows["d1"]["expected"] == {"a": 1}
    assert rows[generated]["metadata"] == {"m": 2}
    for row in rows.values():
        assert row["dataset_id"] == dataset.id
        assert row["project_id"] == project.id
        assert "expected" in row  # the SDK needs the key on every dataset row
        assert row["span_id"] and row["root_span_id"]
        assert XACT_RE.match(row["_xact_id"])
    version = rows["d1"]["_xact_id"]

    feedback = api.datasets.feedback(
        dataset.id,
        feedback=[{"id": "d1", "tags": ["reviewed"], "comment": "ok", "expected": {"a": 11}}],
    )
    assert feedback.status == "success"
    api.datasets.insert(dataset.id, events=[{"id": "d3", "_object_delete": True}])

    rows = {r["id"]: r for r in _rows(api.datasets.fetch(dataset.id))}
    assert set(rows) == {"d1", generated}
    assert rows["d1"]["expected"] == {"a": 11}
    assert sorted(rows["d1"]["tags"]) == ["reviewed", "x"]
    assert rows["d1"]["comments"][0]["comment"] == {"text": "ok"}

    old = {r["id"]: r for r in _rows(api.datasets.fetch_post(dataset.id, version=version))}
    assert set(old) == {"d1", generated, "d3"}
    assert old["d1"]["expected"] == {"a": 1}

    summary = api.datasets.summarize(dataset.id, summarize_data=True)
    assert summary.dataset_name == "cases"
    assert summary.project_name == project.name
    assert summary.data_summary is not None
    assert summary.data_summary.total_records == 2


# -- experiments --------------------------------------------------------------------------------


def test_experiment_endpoints(api):
    project = api.projects.create(name=_name("experiment"))
    dataset = api.datasets.create(name="cases", project_id=project.id)
    base = api.experiments.create(
        project_id=project.id, name="base", dataset_id=dataset.id, dataset_version="0"
    )
    assert base.name == "base" and base.project_id == project.id
    assert base.dataset_id == dataset.id and base.dataset_version == "0"
    assert api.experiments.create(project_id=project.id, name="base").id == base.id
    fresh = api.experiments.create(project_id=project.id, name="base", ensure_new=True)
    assert fresh.id != base.id and fresh.name != "base"
    api.experiments.delete(fresh.id)

    inserted = api.experiments.insert(
        base.id,
        events=[
            {"input": "a", "output": "A", "scores": {"acc": 1.0}},
            {"input": "b", "output": "B", "scores": {"acc": 0.0}},
        ],
    )
    assert len(inserted.row_ids) == 2
    rows = _rows(api.experiments.fetch_post(base.id))
    assert {r["id"] for r in rows} == set(inserted.row_ids)
    for row in rows:
        assert row["experiment_id"] == base.id
        assert row["project_id"] == project.id
        assert XACT_RE.match(row["_xact_id"])

    summary = api.experiments.summarize(base.id, summarize_scores=True)
    assert summary.experiment_name == "base"
    assert summary.scores is not None
    assert summary.scores["acc"].score == pytest.approx(0.5)
    assert summary.comparison_experiment_name is None

    candidate = api.experiments.create(project_id=project.id, name="candidate")
    candidate_ids = api.experiments.insert(
        candidate.id,
        events=[
            {"input": "a", "output": "A", "scores": {"acc": 1.0}},
            {"input": "b", "output": "B", "scores": {"acc": 0.0}},
        ],
    ).row_ids
    feedback = api.experiments.feedback(
        candidate.id, feedback=[{"id": candidate_ids[1], "scores": {"acc": 1.0}, "comment": "x"}]
    )
    assert feedback.status == "success"
    fixed = {r["id"]: r for r in _rows(api.experiments.fetch_post(candidate.id))}
    assert fixed[candidate_ids[1]]["scores"] == {"acc": 1.0}
    assert fixed[candidate_ids[1]]["comments"][0]["comment"] == {"text": "x"}
    compared = api.experiments.summarize(
        candidate.id, summarize_scores=True, comparison_experiment_id=base.id
    )
    assert compared.comparison_experiment_name == "base"
    acc = compared.scores["acc"]
    assert acc.score == pytest.approx(1.0)
    assert (acc.improvements, acc.regressions) == (1, 0)
    assert acc.diff == pytest.approx(0.5)


# -- write markers and list filters -------------------------------------------------------------


def test_write_markers(api):
    project = api.projects.create(name=_name("markers"))
    logs = api.projects.logs
    logs.insert(
        project.id,
        events=[
            {
                "id": "m",
                "input": {"a": {"x": 1, "y": 2}, "b": 1},
                "tags": ["keep", "drop"],
            },
            {"id": "parent", "input": "p"},
            {"id": "gone", "input": "g"},
        ],
    )
    logs.insert(
        project.id,
        events=[
            {
                "id": "m",
                "_is_merge": True,
                "_merge_paths": [["input", "a"]],
                "input": {"a": {"z": 3}},
                "_array_delete": [{"path": ["tags"], "delete": ["drop"]}],
            },
            {"id": "child", "_parent_id": "parent", "input": "c"},
            {"id": "gone", "_object_delete": True},
        ],
    )
    rows = {r["id"]: r for r in _rows(logs.fetch_post(project.id))}
    assert set(rows) == {"m", "parent", "child"}
    assert rows["m"]["input"] == {"a": {"z": 3}, "b": 1}
    assert rows["m"]["tags"] == ["keep"]
    assert rows["child"]["root_span_id"] == rows["parent"]["root_span_id"]
    assert rows["child"]["span_parents"] == [rows["parent"]["span_id"]]

    # a replace write revives a deleted row
    logs.insert(project.id, events=[{"id": "gone", "input": "back"}])
    rows = {r["id"]: r for r in _rows(logs.fetch_post(project.id))}
    assert rows["gone"]["input"] == "back"


def test_list_filters(api):
    prefix = _name("filters")
    ids = [api.projects.create(name=f"{prefix}-{i}").id for i in range(4)]
    assert [p.id for p in api.projects.list(ids=ids[1]).objects] == [ids[1]]
    # newest first: ids[3], ids[2], ids[1], ids[0]
    after = api.projects.list(starting_after=ids[2], limit=1)
    assert [p.id for p in after.objects] == [ids[1]]
    before = api.projects.list(ending_before=ids[1], limit=1)
    assert [p.id for p in before.objects] == [ids[2]]
    # One cursor at a time, as the client documents: both was an empty page, read as the end.
    with pytest.raises(braintrust_api.BadRequestError, match="only one of starting_after"):
        api.projects.list(starting_after=ids[3], ending_before=ids[0])

    dataset = api.datasets.create(name="ds", project_id=ids[0])
    assert [d.id for d in api.datasets.list(project_name=f"{prefix}-0")] == [dataset.id]
    assert [d.id for d in api.datasets.list(dataset_name="ds", project_id=ids[0])] == [dataset.id]
    experiment = api.experiments.create(project_id=ids[1], name="exp")
    found = api.experiments.list(experiment_name="exp", project_id=ids[1])
    assert [e.id for e in found] == [experiment.id]


def test_list_filter_by_several_ids(api):
    prefix = _name("ids")
    ids = [api.projects.create(name=f"{prefix}-{i}").id for i in range(3)]
    chosen = api.projects.list(ids=[ids[0], ids[2]])
    assert sorted(p.id for p in chosen.objects) == sorted([ids[0], ids[2]])


def test_saved_views_with_the_official_client(api):
    """/v1/view as braintrust_api calls it (DELETE and PATCH send object_type/object_id)."""
    project = api.projects.create(name=_name("views"))
    common = {"object_type": "project", "object_id": project.id}
    search = {"filter": ["error IS NOT NULL"], "sort": ["created desc"]}
    created = api.views.create(
        **common, view_type="logs", name="Errors", view_data={"search": search}
    )
    assert created.name == "Errors" and created.view_type == "logs"
    assert created.view_data.search.filter == ["error IS NOT NULL"]
    others = [api.views.create(**common, view_type="logs", name=f"v{i}") for i in range(3)]
    listed = [v.id for v in api.views.list(**common, view_type="logs", limit=2)]
    assert listed == [v.id for v in reversed([created, *others])]  # followed every page
    assert api.views.retrieve(created.id, **common).name == "Errors"
    renamed = api.views.update(created.id, **common, name="Only errors")
    assert renamed.name == "Only errors" and renamed.view_data.search.sort == ["created desc"]
    replaced = api.views.replace(**common, view_type="logs", name="v0", options={"x": 1})
    assert replaced.id == others[0].id
    deleted = api.views.delete(created.id, **common)
    assert deleted.id == created.id
    with pytest.raises(braintrust_api.NotFoundError):
        api.views.retrieve(created.id, **common)


def test_a_bad_feedback_item_or_insert_event_is_named_where_it_was_written(api, server):
    """An item with a comment makes two rows; errors name the item, not the row."""
    project = api.projects.create(name=_name("where"))
    experiment = api.experiments.create(project_id=project.id, name="e")
    feedback = [{"id": "a", "scores": {"s": 0.5}, "comment": "ok"}, {"id": "b", "scores": {"s": 2}}]
    with pytest.raises(braintrust_api.BadRequestError, match=r"feedback 1: score 's'"):
        api.experiments.feedback(experiment.id, feedback=feedback)

    other = api.experiments.create(project_id=project.id, name="f")
    body = {
        "experiment": {
            experiment.id: {"events": [{"input": 1}, {"input": 2}]},
            other.id: {"events": [{"input": 3}], "feedback": [{"id": "x", "tags": [1]}]},
        }
    }
    with server.client() as client:
        response = client.post("/v1/insert", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith(
        f"experiment.{other.id} feedback 0: tags must be a list of strings"
    )
    body["experiment"][other.id] = {"events": [{"input": 3, "scores": {"s": 5}}]}
    with server.client() as client:
        response = client.post("/v1/insert", json=body)
    assert response.json()["error"]["message"].startswith(f"experiment.{other.id} event 0: score")
    assert api.experiments.fetch_post(experiment.id).events == []  # nothing was written


# -- API keys, organizations ---------------------------------------------------------------------


def test_a_key_and_the_organization_are_retrieved_by_id(server, api):
    """``api_keys.retrieve`` was a 405 and ``organizations.retrieve`` a 404: neither route
    existed."""
    created = api.api_keys.create(name=_name("key"))
    fetched = api.api_keys.retrieve(created.id)
    assert (fetched.id, fetched.name, fetched.preview_name) == (
        created.id,
        created.name,
        created.preview_name,
    )
    assert not hasattr(fetched, "key") or getattr(fetched, "key", None) is None
    api.api_keys.delete(created.id)
    assert api.api_keys.retrieve(created.id).revoked_at is not None
    with pytest.raises(braintrust_api.NotFoundError):
        api.api_keys.retrieve(str(uuid.uuid4()))
    org = api.organizations.retrieve(created.org_id)
    assert org.id == created.org_id
    with pytest.raises(braintrust_api.NotFoundError):
        api.organizations.retrieve(str(uuid.uuid4()))


def test_key_user_and_organization_lists_take_the_clients_filters(api):
    """``api_keys.list(api_key_name=…)`` and ``ids=`` on keys, users and organizations were
    ignored, so every key came back: a script revoking the keys of one name revoked them
    all. ``users.retrieve`` was a 404."""
    name = _name("rotate")
    old = api.api_keys.create(name=name)
    kept = api.api_keys.create(name=_name("keep"))
    try:
        assert [k.id for k in api.api_keys.list(api_key_name=name)] == [old.id]
        assert list(api.api_keys.list(api_key_name=_name("none"))) == []
        assert [k.id for k in api.api_keys.list(ids=[kept.id, old.id])] == [old.id, kept.id]
        page = api.api_keys.list(ids=[old.id, kept.id], limit=1)
        assert [k.id for k in page] == [old.id, kept.id]  # the client pages within the filter

        assert [u.id for u in api.users.list(ids=[name])] == [name]
        assert list(api.users.list(ids=[_name("nobody")])) == []
        # tracelake's users are API key names: none has an email or a given/family name
        assert list(api.users.list(email="someone@example.com")) == []
        assert list(api.users.list(given_name="Ada")) == []
        user = api.users.retrieve(name)
        assert (user.id, user.name, user.role) == (name, name, "write")
        with pytest.raises(braintrust_api.NotFoundError):
            api.users.retrieve(_name("nobody"))

        org = api.organizations.retrieve(old.org_id)
        assert [o.id for o in api.organizations.list(ids=[org.id])] == [org.id]
        assert list(api.organizations.list(ids=[str(uuid.uuid4())])) == []
    finally:
        api.api_keys.delete(old.id)
        api.api_keys.delete(kept.id)


def test_fetch_with_the_deprecated_path_lookup_filters_is_refused_not_ignored(api):
    """The fetch body's ``filters`` (the OAS's deprecated path-lookup filters) were ignored:
    every row came back as if it had matched. They are a 400 that points to /btql; an
    empty list filters nothing and is taken."""
    project = api.projects.create(name=_name("filters"))
    api.projects.logs.insert(project.id, events=[{"id": "a", "input": {"k": 1}}, {"id": "b"}])
    lookup = [{"type": "path_lookup", "path": ["input", "k"], "value": 1}]
    with pytest.raises(braintrust_api.BadRequestError) as raised:
        api.projects.logs.fetch_post(project.id, extra_body={"filters": lookup})
    message = raised.value.body["error"]["message"]
    assert message.startswith("filters: ") and "/btql" in message
    page = api.projects.logs.fetch_post(project.id, extra_body={"filters": []})
    assert sorted(e.id for e in page.events) == ["a", "b"]


# -- Braintrust features tracelake does not implement ---------------------------------------------


@pytest.mark.parametrize(
    ("call", "feature"),
    [
        (lambda api, project: list(api.prompts.list(project_name=project.name)), "prompts"),
        (
            lambda api, project: api.prompts.create(project_id=project.id, name="p", slug="p"),
            "prompts",
        ),
        (lambda api, project: api.functions.retrieve(str(uuid.uuid4())), "functions"),
        (lambda api, project: api.functions.invoke(str(uuid.uuid4()), input={}), "functions"),
        (
            lambda api, project: list(api.acls.list(object_id=project.id, object_type="project")),
            "access control lists",
        ),
        (lambda api, project: list(api.ai_secrets.list()), "AI provider secrets"),
    ],
)
def test_a_braintrust_feature_tracelake_lacks_is_a_404_that_names_it(api, server, call, feature):
    """The client's prompts, functions, ACLs and secrets call routes tracelake does not
    serve: the 404 said "Not Found", which reads as a missing prompt or function."""
    project = api.projects.create(name=_name("unsupported"))
    with pytest.raises(braintrust_api.NotFoundError) as raised:
        call(api, project)
    message = raised.value.body["error"]["message"]
    assert f"tracelake does not implement Braintrust's {feature}" in message
    with server.client() as client:  # any other unknown path stays a plain 404
        response = client.get("/v1/no_such_thing")
    assert response.status_code == 404
    assert response.json()["error"] == {"type": "NotFound", "message": "Not Found"}
