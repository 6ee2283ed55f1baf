"""A JSON page rendered at once (one statement, the cursor from the rows' keys) is the page
rendered through a temp table: the same rows, schema and cursor, page after page."""

from __future__ import annotations

import orjson
import pytest

from tracelake.export import queries
from tracelake.export.queries import JSON_ITEMS, QueryOptions, run_query
from tracelake.store.catalog import Catalog, Principal, bootstrap
from tracelake.store.events import prepare_batch
from tracelake.store.store import Store


@pytest.fixture
def env(tmp_path):
    store = Store(tmp_path / "data")
    catalog = Catalog(store)
    bootstrap(catalog, "org", "tl-render-test-key-0123456789")
    org = catalog.list_orgs()[0]
    principal = Principal(org["id"], org["name"], "admin", "test")
    project = catalog.create_project(org["id"], "render")["id"]
    for t in range(9):
        rows = [
            {
                "project_id": project,
                "log_id": "g",
                "id": f"t{t}s{s}",
                "span_id": f"t{t}s{s}",
                "root_span_id": f"t{t}s0",
                "span_parents": [] if s == 0 else [f"t{t}s0"],
                "input": {"n": t * 10 + s, "text": 'ünïcode "quoted"'},
                "scores": {"q": (t % 3) / 2},
                "metadata": {"model": ["a", "b"][t % 2]},
                "tags": ["x"] if t % 2 else None,
            }
            for s in range(3)
        ]
        store.write(prepare_batch(catalog, principal, rows))
    yield store, catalog, principal, project
    store.close()


def pages(env, text: str, *, at_once: bool, monkeypatch) -> list[tuple]:
    store, catalog, principal, _ = env
    if not at_once:
        monkeypatch.setattr(queries, "_renders_at_once", lambda plan, options: False)
    out, cursor = [], None
    for _ in range(8):
        query = text + (f" | cursor: '{cursor}'" if cursor else "")
        result = run_query(store, catalog, principal, QueryOptions(query=query, fmt=JSON_ITEMS))
        rows = orjson.loads(b"[" + bytes(result.body) + b"]")
        out.append((rows, result.schema, result.cursor is not None))
        cursor = result.cursor
        if cursor is None:
            break
    monkeypatch.undo()
    return out


@pytest.mark.parametrize(
    "shape, clauses",
    [
        ("", "select: id, input, tags | limit: 4"),
        ("", "select: * | limit: 5"),
        ("", "select: id, scores.q | sort: scores.q desc, id | limit: 4"),
        ("", "select: id | filter: metadata.model = 'a' | limit: 2"),
        ("", "select: id | limit: 0"),
        ("", "select: id | filter: input.n > 1000 | limit: 3"),
        ("", "dimensions: metadata.model as m | measures: count(1) as n | sort: m"),
        (" traces", "select: id, root_span_id | limit: 2"),
        (" traces", "select: id | sort: created desc | limit: 3"),
    ],
)
def test_a_page_rendered_at_once_equals_the_paged_rendering(env, shape, clauses, monkeypatch):
    text = f"from: project_logs('{env[3]}'){shape} | {clauses}"
    at_once = pages(env, text, at_once=True, monkeypatch=monkeypatch)
    paged = pages(env, text, at_once=False, monkeypatch=monkeypatch)
    assert at_once == paged
    if "limit: 0" not in text and "1000" not in text:
        assert at_once[0][0]  # rows to compare
