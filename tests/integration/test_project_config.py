"""Project tags (/v1/project_tag) and score configurations (/v1/project_score) over HTTP."""

from __future__ import annotations

import pytest


@pytest.fixture
def project_id(app_client):
    return app_client.post("/v1/project", json={"name": "config-proj"}).json()["id"]


def test_project_tag_create_get_put_list_patch_delete(app_client, project_id):
    body = {"project_id": project_id, "name": "urgent", "color": "#c63a3a", "description": "now"}
    tag = app_client.post("/v1/project_tag", json=body).json()
    assert {k: tag[k] for k in body} == body
    assert tag["id"] and tag["created"]
    # Create-or-get: the same name returns the stored tag unmodified.
    again = app_client.post("/v1/project_tag", json={**body, "color": "#000000"}).json()
    assert again["id"] == tag["id"] and again["color"] == "#c63a3a"
    # PUT replaces.
    put = app_client.put("/v1/project_tag", json={**body, "color": "#1f8a55"}).json()
    assert put["id"] == tag["id"] and put["color"] == "#1f8a55"
    other = app_client.post("/v1/project", json={"name": "other"}).json()["id"]
    app_client.post("/v1/project_tag", json={"project_id": other, "name": "urgent"})
    listed = app_client.get("/v1/project_tag", params={"project_id": project_id}).json()["objects"]
    assert [t["id"] for t in listed] == [tag["id"]]
    named = app_client.get("/v1/project_tag", params={"project_tag_name": "urgent"}).json()
    assert len(named["objects"]) == 2
    assert app_client.get(f"/v1/project_tag/{tag['id']}").json()["color"] == "#1f8a55"
    patched = app_client.patch(f"/v1/project_tag/{tag['id']}", json={"name": "p1"}).json()
    assert patched["name"] == "p1" and patched["color"] == "#1f8a55"
    assert app_client.delete(f"/v1/project_tag/{tag['id']}").status_code == 200
    assert app_client.get(f"/v1/project_tag/{tag['id']}").status_code == 404
    assert app_client.get("/v1/project_tag", params={"project_id": project_id}).json() == {
        "objects": []
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": "x"}, "project_id"),
        ({"project_id": "P", "name": ""}, "name"),
        ({"project_id": "P", "name": "x", "color": 3}, "color"),
        ({"project_id": "P", "name": "x", "colour": "#fff"}, "colour"),
        ({"project_id": "P", "name": "x" * 1025}, "too long"),
        ({"project_id": "P", "name": "x", "description": "d" * 65_537}, "'description' is too"),
    ],
)
def test_project_tag_bad_input_is_400(app_client, project_id, body, message):
    if body.get("project_id") == "P":
        body = {**body, "project_id": project_id}
    res = app_client.post("/v1/project_tag", json=body)
    assert res.status_code == 400, res.text
    assert message in res.json()["error"]["message"]


def test_project_tag_of_a_missing_project_is_404(app_client):
    res = app_client.post("/v1/project_tag", json={"project_id": "nope", "name": "x"})
    assert res.status_code == 404


def test_project_score_types(app_client, project_id):
    slider = app_client.post(
        "/v1/project_score",
        json={"project_id": project_id, "name": "accuracy", "score_type": "slider"},
    ).json()
    assert slider["score_type"] == "slider" and slider["categories"] is None
    cats = [{"name": "good", "value": 1}, {"name": "meh", "value": 0.5}]
    categorical = app_client.post(
        "/v1/project_score",
        json={
            "project_id": project_id,
            "name": "quality",
            "score_type": "categorical",
            "categories": cats,
            "description": "How good is it",
        },
    ).json()
    assert categorical["categories"] == cats
    free = app_client.post(
        "/v1/project_score",
        json={
            "project_id": project_id,
            "name": "note",
            "score_type": "free-form",
            "config": {"destination": "metadata.review.note"},
        },
    ).json()
    assert free["config"] == {"destination": "metadata.review.note"}
    listed = app_client.get("/v1/project_score", params={"project_id": project_id}).json()
    assert [s["name"] for s in listed["objects"]] == ["note", "quality", "accuracy"]
    # PATCH is checked as a whole: a type change away from categorical drops the categories.
    res = app_client.patch(f"/v1/project_score/{categorical['id']}", json={"score_type": "slider"})
    assert res.status_code == 200 and res.json()["categories"] is None
    res = app_client.patch(f"/v1/project_score/{slider['id']}", json={"score_type": "categorical"})
    assert res.status_code == 400 and "categories" in res.json()["error"]["message"]
    res = app_client.patch(
        f"/v1/project_score/{free['id']}", json={"config": {"destination": "expected"}}
    )
    assert res.json()["config"] == {"destination": "expected"}
    put = app_client.put(
        "/v1/project_score",
        json={"project_id": project_id, "name": "accuracy", "score_type": "online"},
    ).json()
    assert put["id"] == slider["id"] and put["score_type"] == "online"
    assert app_client.delete(f"/v1/project_score/{free['id']}").json()["name"] == "note"
    assert app_client.get(f"/v1/project_score/{free['id']}").status_code == 404


def test_a_categorical_score_writes_its_label_to_expected_on_a_dataset_row(app_client, project_id):
    """A categorical score may name a destination ("write to expected", or a metadata path), as
    a free-form one does (it was refused: "applies to free-form scores only"); the review panel
    writes the picked category's name there, a merge of the dataset row (a new version)."""
    cats = [{"name": "positive", "value": 1}, {"name": "negative", "value": 0}]
    label = app_client.post(
        "/v1/project_score",
        json={
            "project_id": project_id,
            "name": "sentiment",
            "score_type": "categorical",
            "categories": cats,
            "config": {"destination": "expected"},
        },
    )
    assert label.status_code == 200, label.text
    assert label.json()["config"] == {"destination": "expected"}
    topic = app_client.post(
        "/v1/project_score",
        json={
            "project_id": project_id,
            "name": "topic",
            "score_type": "categorical",
            "categories": [{"name": "billing", "value": 1}],
            "config": {"destination": "metadata.labels.topic"},
        },
    ).json()
    assert topic["config"] == {"destination": "metadata.labels.topic"}
    # A change to a type without a destination drops it; back to categorical keeps none.
    patched = app_client.patch(f"/v1/project_score/{topic['id']}", json={"score_type": "slider"})
    assert patched.status_code == 200 and patched.json()["config"] == {}
    dataset = app_client.post("/v1/dataset", json={"project_id": project_id, "name": "dsl"}).json()
    insert = f"/v1/dataset/{dataset['id']}/insert"
    row = {"id": "r1", "input": "I love it", "expected": None, "metadata": {"src": "web"}}
    app_client.post(insert, json={"events": [row]}).raise_for_status()
    # What the panel sends: the label to expected, a note to a metadata path (merges).
    for event in (
        {"id": "r1", "expected": "positive", "_is_merge": True},
        {"id": "r1", "metadata": {"review": {"note": "clear"}}, "_is_merge": True},
    ):
        app_client.post(insert, json={"events": [event]}).raise_for_status()
    rows = app_client.post(f"/v1/dataset/{dataset['id']}/fetch", json={}).json()["events"]
    assert [(r["input"], r["expected"], r["metadata"]) for r in rows] == [
        ("I love it", "positive", {"src": "web", "review": {"note": "clear"}})
    ]
    versions = app_client.get(f"/v1/dataset/{dataset['id']}/versions").json()["objects"]
    assert len(versions) == 3


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"score_type": "stars"}, "score_type"),
        ({}, "score_type"),
        ({"score_type": "categorical"}, "categories"),
        ({"score_type": "categorical", "categories": [{"name": "a"}]}, "value"),
        ({"score_type": "categorical", "categories": [{"name": "a", "value": 2}]}, "between"),
        (
            {
                "score_type": "categorical",
                "categories": [{"name": "a", "value": 1}, {"name": "a", "value": 0}],
            },
            "twice",
        ),
        ({"score_type": "slider", "categories": [{"name": "a", "value": 1}]}, "categories"),
        ({"score_type": "free-form", "config": {"destination": "input"}}, "destination"),
        ({"score_type": "free-form", "config": {"destination": "metadata."}}, "destination"),
        ({"score_type": "slider", "config": {"destination": "expected"}}, "free-form"),
        ({"score_type": "online", "config": {"destination": "expected"}}, "categorical"),
        (
            {
                "score_type": "categorical",
                "categories": [{"name": "a", "value": 1}],
                "config": {"destination": "output"},
            },
            "destination",
        ),
        ({"score_type": "slider", "config": {"colour": 1}}, "colour"),
        ({"score_type": "slider", "config": []}, "config"),
        ({"score_type": "slider", "config": {"multi_select": "yes"}}, "multi_select"),
        ({"score_type": "online", "config": {"online": 5}}, "config.online"),
        ({"score_type": "online", "config": {"online": [1]}}, "config.online"),
    ],
)
def test_project_score_bad_input_is_400(app_client, project_id, extra, message):
    body = {"project_id": project_id, "name": "s", **extra}
    res = app_client.post("/v1/project_score", json=body)
    assert res.status_code == 400, res.text
    assert message in res.json()["error"]["message"]


def test_bad_patches_are_400(app_client, project_id):
    tag = app_client.post("/v1/project_tag", json={"project_id": project_id, "name": "t"}).json()
    res = app_client.patch(f"/v1/project_tag/{tag['id']}", json={"project_id": "x"})
    assert res.status_code == 400
    res = app_client.patch(f"/v1/project_tag/{tag['id']}", json={"name": ""})
    assert res.status_code == 400
    app_client.post("/v1/project_tag", json={"project_id": project_id, "name": "u"})
    res = app_client.patch(f"/v1/project_tag/{tag['id']}", json={"name": "u"})
    assert res.status_code == 400 and "taken" in res.json()["error"]["message"]
    res = app_client.patch("/v1/project_tag/missing", json={"name": "v"})
    assert res.status_code == 404


def test_a_body_that_is_not_an_object_is_400(app_client):
    res = app_client.post("/v1/project_tag", json=["urgent"])
    assert res.status_code == 400
    res = app_client.post("/v1/project_score", content=b"{not json")
    assert res.status_code == 400


def test_dataset_tags_are_patched_and_listed(app_client, project_id):
    dataset = app_client.post("/v1/dataset", json={"project_id": project_id, "name": "d"}).json()
    assert dataset["tags"] is None
    res = app_client.patch(f"/v1/dataset/{dataset['id']}", json={"tags": ["golden", "v2"]})
    assert res.status_code == 200 and res.json()["tags"] == ["golden", "v2"]
    listed = app_client.get("/v1/dataset", params={"project_id": project_id}).json()["objects"]
    assert listed[0]["tags"] == ["golden", "v2"]
    res = app_client.patch(f"/v1/dataset/{dataset['id']}", json={"tags": ["ok", 3]})
    assert res.status_code == 400 and "tags" in res.json()["error"]["message"]
    res = app_client.patch(f"/v1/dataset/{dataset['id']}", json={"tags": "golden"})
    assert res.status_code == 400


def test_tags_and_scores_name_the_key_that_created_them(app_client, project_id):
    res = app_client.post("/v1/api_key", json={"name": "carol", "role": "write"})
    carol = {"Authorization": f"Bearer {res.json()['key']}"}
    me = next(u["name"] for u in app_client.get("/v1/user").json()["objects"] if u["is_me"])
    tag = {"project_id": project_id, "name": "t"}
    score = {"project_id": project_id, "name": "s", "score_type": "slider"}
    for route, body in (("/v1/project_tag", tag), ("/v1/project_score", score)):
        made = app_client.post(route, json=body, headers=carol).json()
        assert made["user_id"] == "carol"
        # A PUT by another user replaces the fields, not who created it.
        assert app_client.put(route, json=body).json()["user_id"] == "carol"
        other = app_client.post(route, json={**body, "name": "mine"}).json()
        assert other["user_id"] == me
        assert app_client.get(f"{route}/{made['id']}").json()["user_id"] == "carol"


def test_a_score_configurations_texts_are_bounded(app_client, project_id):
    body = {"project_id": project_id, "name": "s", "score_type": "slider"}
    for field, size in (("description", 65_537), ("position", 1025)):
        res = app_client.post("/v1/project_score", json={**body, field: "x" * size})
        assert res.status_code == 400 and f"{field!r} is too long" in res.text, res.text
    score = app_client.post("/v1/project_score", json={**body, "description": "x" * 65_536})
    assert score.status_code == 200, score.text
    res = app_client.patch(
        f"/v1/project_score/{score.json()['id']}", json={"description": "x" * 65_537}
    )
    assert res.status_code == 400, res.text


def test_score_configurations_list_by_score_type(app_client, project_id):
    """``score_type`` (a filter of Braintrust's list, which braintrust-api sends) was ignored:
    every type came back."""
    made = {}
    for name, body in (
        ("s", {"score_type": "slider"}),
        ("c", {"score_type": "categorical", "categories": [{"name": "a", "value": 1}]}),
        ("f", {"score_type": "free-form"}),
    ):
        res = app_client.post(
            "/v1/project_score", json={"project_id": project_id, "name": name, **body}
        )
        made[name] = res.json()["id"]

    def listed(*params):
        res = app_client.get("/v1/project_score", params=[("project_id", project_id), *params])
        assert res.status_code == 200, res.text
        return {s["id"] for s in res.json()["objects"]}

    assert listed(("score_type", "slider")) == {made["s"]}
    both = {made["s"], made["c"]}
    assert listed(("score_type", "slider"), ("score_type", "categorical")) == both
    assert listed(("score_type", "slider,categorical")) == both
    assert listed(("score_type", "weighted")) == set()
    assert listed(("score_type", "slider"), ("limit", "1")) == {made["s"]}
    res = app_client.get("/v1/project_score", params={"score_type": "sliders"})
    assert res.status_code == 400 and "score_type" in res.text, res.text
