"""The official SDK reading datasets through POST /btql (``_internal_btql``)."""

from __future__ import annotations

import uuid

import braintrust


def test_init_dataset_with_internal_btql_filters_sorts_and_limits(sdk_env):
    project = f"sdk-btql-{uuid.uuid4().hex[:8]}"
    dataset = braintrust.init_dataset(project=project, name="annotated")
    for i in range(30):
        dataset.insert(
            id=f"row-{i:02d}",
            input={"i": i},
            expected=i * 2,
            metadata={"annotated": i % 3 == 0, "i": i},
        )
    dataset.flush()

    reader = braintrust.init_dataset(
        project=project,
        name="annotated",
        _internal_btql={
            "filter": {"btql": "metadata.annotated = true"},
            "sort": [{"expr": {"btql": "metadata.i"}, "dir": "desc"}],
            "limit": 4,
        },
    )
    rows = list(reader)
    assert [r["id"] for r in rows] == ["row-27", "row-24", "row-21", "row-18"]
    assert all("expected" in r for r in rows)
    assert rows[0]["input"] == {"i": 27}


def test_internal_btql_pages_past_one_page_and_honours_a_pinned_version(sdk_env):
    project = f"sdk-btql-{uuid.uuid4().hex[:8]}"
    dataset = braintrust.init_dataset(project=project, name="paged")
    for i in range(25):
        dataset.insert(id=f"r{i:02d}", input=i, expected=i)
    dataset.flush()
    version = dataset.version
    dataset.delete("r00")
    dataset.flush()

    # limit 10 per page: the SDK follows the cursor until it is empty
    rows = list(
        braintrust.init_dataset(project=project, name="paged", _internal_btql={"limit": 10})
    )
    assert len(rows) == 10  # the SDK stops once _internal_btql.limit rows have arrived

    everything = list(
        braintrust.init_dataset(
            project=project, name="paged", _internal_btql={"filter": {"btql": "input >= 0"}}
        )
    )
    assert sorted(r["id"] for r in everything) == [f"r{i:02d}" for i in range(1, 25)]

    pinned = list(
        braintrust.init_dataset(
            project=project,
            name="paged",
            version=version,
            _internal_btql={"filter": {"btql": "input < 5"}},
        )
    )
    assert sorted(r["id"] for r in pinned) == ["r00", "r01", "r02", "r03", "r04"]
