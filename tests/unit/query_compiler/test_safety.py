"""No input escapes into SQL: user strings are literals, identifiers come from the scope."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlglot import exp

from tracelake.query import ast

from .data import INC, A, B, F, I, L, compiler, ids, run, scope, values

INJECTIONS = [
    "'; DROP TABLE events; --",
    "x' OR '1'='1",
    '"; DROP TABLE events; --',
    "\\'; DROP TABLE events; --",
    "')) OR 1=1 --",
    "$.*",
    "ünï €😀",
    "\x00",
    "a\nb",
]


def _intact(con) -> None:
    assert con.execute("SELECT count(*) FROM events").fetchone()[0] == 10


@pytest.mark.parametrize("text", INJECTIONS)
def test_injection_in_values_keys_aliases_patterns(con, text):
    assert ids(con, B("eq", I("metadata", "model"), L(text))) == []
    assert ids(con, B("like", I("metadata", "model"), L(f"%{text}%"))) == []
    assert ids(con, B("match", I("input"), L(text + " zzzz"))) == []
    assert ids(con, B("in", I("metadata", "model"), L([text, text]))) == []
    assert ids(con, INC(I("tags"), L(text))) == []
    assert values(con, I("metadata", text, "x"))["r01"] is None
    assert values(con, F("json_extract", I("metadata", "config"), L(text)))["r08"] is None
    query = ast.Query(select=(A(I("id"), text),), filter=B("eq", I("id"), L("r01")))
    assert run(con, query) == [{text: "r01"}]
    select = compiler.compile_select(query, scope(), exp.to_table("events"))
    assert con.execute(compiler.sql(select)).fetchall() == [("r01",)]
    _intact(con)


def test_the_stored_injection_string_is_just_a_value(con):
    assert ids(con, B("eq", I("input"), L("'; DROP TABLE events; --"))) == ["r07"]
    assert ids(con, B("match", I("input"), L("drop table"))) == ["r07"]
    _intact(con)


def test_identifiers_come_only_from_the_scope(con):
    nasty = 'we"ird; DROP TABLE events; --'
    from tracelake.query.compiler import Column, Scope

    weird = Scope({nasty: Column("VARCHAR", exp.column("id", "e", quoted=True)), "id": "VARCHAR"})
    query = ast.Query(select=(A(I(nasty)),), filter=B("eq", I(nasty), L("r01")))
    select = compiler.compile_select(query, weird, exp.to_table("events"), as_json=True)
    rows = [json.loads(r[0]) for r in con.execute(compiler.sql(select)).fetchall()]
    assert rows == [{nasty: "r01"}]
    default = Scope({nasty: "VARCHAR"})
    sql = compiler.sql(compiler.compile_expr(I(nasty), default))
    assert sql == '"e"."we""ird; DROP TABLE events; --"'
    _intact(con)


keys = st.text(min_size=0, max_size=12)
texts = st.text(max_size=30)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(key=keys, text=texts)
def test_any_key_and_string_round_trip(con, key, text):
    doc = {key: {"v": text}, "other": 1}
    path = F("json_extract", L(json.dumps(doc)), L(key))
    got = values(con, path)["r01"]
    assert got == {"v": text}
    literal = L(text)
    assert values(con, B("eq", literal, L(text)))["r01"] is True
    assert values(con, literal)["r01"] == text


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(path=st.lists(st.one_of(keys, st.integers(-3, 3)), min_size=1, max_size=4), leaf=texts)
def test_any_path_reads_the_value_it_names(con, path, leaf):
    doc: object = leaf
    for seg in reversed(path):
        if isinstance(seg, int):
            size = seg + 1 if seg >= 0 else -seg
            items: list = [None] * size
            items[seg] = doc
            doc = items
        else:
            doc = {seg: doc}
    sql = compiler.compile_expr(ast.Ident(("x", *path)), _json_scope(doc))
    got = con.execute(f"SELECT {compiler.sql(sql)}").fetchone()[0]
    assert json.loads(got) == leaf


def _json_scope(doc: object):
    from tracelake.query.compiler import Column, Scope

    literal = exp.Cast(this=exp.Literal.string(json.dumps(doc)), to=exp.DataType.build("JSON"))
    return Scope({"x": Column("JSON", literal)})
