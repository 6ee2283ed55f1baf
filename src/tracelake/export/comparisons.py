"""The comparison keys of experiments' traces: the value of the project's
``settings.comparison_key`` (a BTQL expression over the root span) for each trace, which
experiment summaries match traces on in place of their input."""

from __future__ import annotations

from tracelake.errors import InvalidRequest
from tracelake.model.objects import ObjectRef, ObjectType
from tracelake.query import ast
from tracelake.query.errors import QueryError
from tracelake.query.parsers.btql import parse_expression
from tracelake.query.parsers.expressions import has_aggregate
from tracelake.query.planner import root_values_sql
from tracelake.store.catalog import Principal


def parse_comparison_key(expr: str, what: str) -> ast.Expr:
    """A comparison key parsed: one BTQL expression, a value per trace (an aggregate has
    none). A parse error is a QueryError at its place in the key, the message starting with
    ``what``."""
    try:
        parsed = parse_expression(expr)  # one expression, nothing more
    except QueryError as exc:
        raise QueryError(f"{what}: {exc.detail}", exc.line, exc.col) from None
    if has_aggregate(parsed):
        raise InvalidRequest(f"{what}: a key is a value per trace, not an aggregate")
    return parsed


def comparison_key_sql(
    principal: Principal,
    experiment_ids: list[str],
    expr: str,
    what: str = "the project's comparison_key",
) -> str:
    """SQL of (object_id, root_span_id, value) for the root span of each trace of the
    experiments (resolved in the caller's organization): the value of ``expr`` (the project's
    ``settings.comparison_key``, a BTQL expression over the root span, such as
    ``input.question`` or ``metadata.case_id``) as JSON text, NULL where it is null (such a
    trace is matched with none, as in the web UI's comparison). ``experiment_summary`` joins
    it: one scan of the roots, where a BTQL query a page of 5,000 roots at a time was run
    before. ``what`` names the key in an error (an expression that does not parse or
    compile is a 400)."""
    parsed = parse_comparison_key(expr, f"{what} {expr!r}")
    refs = tuple(ObjectRef(ObjectType.EXPERIMENT, i) for i in experiment_ids)
    try:
        return root_values_sql(parsed, refs, principal.org_id)
    except QueryError as exc:
        raise QueryError(f"{what} {expr!r}: {exc.detail}", exc.line, exc.col) from None
