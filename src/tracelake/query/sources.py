"""Resolving ``from:`` to the objects a query reads, inside the caller's organization.

Source functions take object ids or names (``project_logs('my-project')``); several ids read
several objects of one type. Every lookup goes through a resolver bound to the caller's
organization, so naming another organization's object fails exactly like a missing one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from tracelake.errors import InvalidRequest, NotFound
from tracelake.model.objects import ObjectRef, ObjectType
from tracelake.query.ast import Literal, Query
from tracelake.query.errors import QueryError, SourceNotFound

# Source names tracelake stores, and the object type each reads.
SOURCE_TYPES = {
    "project_logs": ObjectType.PROJECT_LOGS,
    "experiment": ObjectType.EXPERIMENT,
    "dataset": ObjectType.DATASET,
    "project_dataset": ObjectType.DATASET,
}
# Braintrust sources that hold objects tracelake does not have (yet).
UNSUPPORTED_SOURCES = frozenset(
    {
        "prompt",
        "function",
        "view",
        "project_prompts",
        "project_functions",
        "org_prompts",
        "org_functions",
        "playground_logs",
    }
)
SHAPES = ("spans", "traces", "summary")


class Resolver(Protocol):
    """Finds objects of the caller's organization by id or name (NotFound otherwise)."""

    def project(self, id_or_name: str) -> str: ...

    def object(self, object_type: ObjectType, id_or_name: str, project_id: str | None) -> str: ...


@dataclass(frozen=True)
class ResolvedSource:
    object_type: ObjectType
    refs: tuple[ObjectRef, ...]
    shape: str


# How a query without a source is told to name one, in the syntax it was written in.
MISSING_SOURCE = {
    "btql": "the query needs a from clause, e.g. from: project_logs('<project id>')",
    "sql": "the query needs a FROM clause, e.g. SELECT … FROM project_logs('<project id>')",
    "json": 'the query needs a "from" key, e.g. "from": {"op": "function", "name": {"op": '
    '"ident", "name": ["project_logs"]}, "args": [{"op": "literal", "value": "<project id>"}]}',
}


def resolve_source(query: Query, resolver: Resolver) -> ResolvedSource:
    """The objects behind the query's ``from:``; raises QueryError for anything it cannot
    read. A query without one is told how to name one in its own syntax."""
    source = query.from_
    if source is None:
        hint = MISSING_SOURCE.get(query.syntax or "btql", MISSING_SOURCE["btql"])
        raise QueryError.at(hint, query.from_loc)
    name = source.name.lower()
    if name in UNSUPPORTED_SOURCES:
        raise QueryError.at(f"tracelake does not store {name} objects", source)
    if name not in SOURCE_TYPES:
        known = ", ".join(SOURCE_TYPES)
        raise QueryError.at(f"unknown source {source.name!r} (use one of {known})", source)
    shape = (source.shape or "spans").lower()
    if shape not in SHAPES:
        raise QueryError.at(f"unknown shape {source.shape!r}: use spans, traces or summary", source)
    args, nodes = [], {}
    for arg in source.args:
        if not isinstance(arg, Literal) or not isinstance(arg.value, str) or not arg.value:
            where = arg if arg.loc else source
            raise QueryError.at(f"{name}() takes object ids or names as strings", where)
        args.append(arg.value)
        nodes.setdefault(arg.value, arg if arg.loc else source)
    if not args:
        raise QueryError.at(f"{name}() needs an object id, e.g. {name}('<id>')", source)
    object_type = SOURCE_TYPES[name]

    def look_up(find, value: str) -> str:
        try:
            return find(value)
        except QueryError:
            raise
        except InvalidRequest as exc:  # a name several objects have: at the argument
            raise QueryError.at(exc.message, nodes[value]) from None
        except NotFound as exc:  # still a 404, at the argument
            raise SourceNotFound(exc.message, nodes[value]) from None

    if name == "project_dataset":
        if len(args) < 2:
            raise QueryError.at("project_dataset() takes a project and a dataset", source)
        project_id = look_up(resolver.project, args[0])
        ids = [look_up(lambda a: resolver.object(object_type, a, project_id), a) for a in args[1:]]
    elif object_type is ObjectType.PROJECT_LOGS:
        ids = [look_up(resolver.project, a) for a in args]
    else:
        ids = [look_up(lambda a: resolver.object(object_type, a, None), a) for a in args]
    refs = tuple(dict.fromkeys(ObjectRef(object_type, i) for i in ids))
    return ResolvedSource(object_type=object_type, refs=refs, shape=shape)
