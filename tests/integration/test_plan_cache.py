"""Plans are reused for the same query and options; one that asked the full-text index only
until the next write or index change."""

from __future__ import annotations

import orjson

from tracelake.export.queries import PLANS, QueryOptions, plan_request, run_query
from tracelake.search.index import TextIndex
from tracelake.store.catalog import Catalog, Principal, bootstrap
from tracelake.store.events import prepare_batch
from tracelake.store.indexing import Indexer
from tracelake.store.store import Store


def test_plans_are_reused_and_index_plans_until_the_next_write(tmp_path):
    store = Store(tmp_path / "data")
    try:
        catalog = Catalog(store)
        bootstrap(catalog, "org", "tl-plan-cache-key-0123456789")
        org = catalog.list_orgs()[0]
        principal = Principal(org["id"], org["name"], "admin", "test")
        project_id = catalog.create_project(org["id"], "plans")["id"]
        index = TextIndex(tmp_path / "data" / "search")

        def write(rows):
            full = [{"project_id": project_id, "log_id": "g", **row} for row in rows]
            store.write(prepare_batch(catalog, principal, full))
            Indexer(store, index).run_once()

        write([{"id": "a", "input": "about invoices", "metadata": {"n": 1}}])
        text = f"select: id | from: project_logs('{project_id}') | filter: metadata.n = 1"
        first = plan_request(catalog, principal, QueryOptions(query=text), index)
        assert plan_request(catalog, principal, QueryOptions(query=text), index) is first
        # Options are part of what a plan depends on.
        shifted = plan_request(catalog, principal, QueryOptions(query=text, tz_offset=60), index)
        assert shifted is not first

        # A MATCH narrowed by the index lists the index's candidates: a newer matching row
        # must show up in the next plan and the next answer.
        match = f"select: id | from: project_logs('{project_id}') | filter: input MATCH 'invoices'"
        before = plan_request(catalog, principal, QueryOptions(query=match), index)
        # Kept while nothing is written and the index is unchanged.
        assert plan_request(catalog, principal, QueryOptions(query=match), index) is before
        write([{"id": "b", "input": "more invoices"}])
        after = plan_request(catalog, principal, QueryOptions(query=match), index)
        assert after is not before and "'b'" in after.sql and "'b'" not in before.sql
        result = run_query(store, catalog, principal, QueryOptions(query=match), index=index)
        assert sorted(orjson.loads(r)["id"] for r in result.rows) == ["a", "b"]
    finally:
        store.close()
        PLANS.clear()


def test_literals_of_different_types_are_different_queries(tmp_path):
    """`true`, `1` and `1.0` are equal in Python; as literals they are three queries, whatever
    ran first (`to_string(true)` after `to_string(1)` was answered '1')."""
    store = Store(tmp_path / "data")
    try:
        catalog = Catalog(store)
        bootstrap(catalog, "org", "tl-plan-cache-key-0123456789")
        org = catalog.list_orgs()[0]
        principal = Principal(org["id"], org["name"], "admin", "test")
        project_id = catalog.create_project(org["id"], "plans")["id"]
        store.write(prepare_batch(catalog, principal, [{"project_id": project_id, "id": "a"}]))

        def value(literal: str):
            text = (
                f"select: to_string({literal}) as v, {literal} as w"
                f" | from: project_logs('{project_id}')"
            )
            result = run_query(store, catalog, principal, QueryOptions(query=text))
            row = orjson.loads(result.rows[0])
            return row["v"], row["w"]

        assert value("1") == ("1", 1)
        assert value("true") == ("true", True)
        # (a whole double is written as an integer, and to_string spells it so; beside a
        # 64-bit integer, 1 and 1.0 differ: an integer product, a double's)
        assert value("1.0") == ("1", 1)
        big = 2**63 - 1
        assert value(f"{big} * 1") == (str(big), big)
        assert value(f"{big} * 1.0") == ("9223372036854776000", 9223372036854776000)
        assert value("[1, false]") == ("[1,false]", [1, False])
        assert value("[true, 0]") == ("[true,0]", [True, 0])
        assert value("false") == ("false", False)
        assert value("0") == ("0", 0)
    finally:
        store.close()
        PLANS.clear()
