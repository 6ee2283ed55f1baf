"""Where rows sit in their traces, to find the spans above a row (its ``span_parents``, theirs,
and so on): a ``_parent_id`` whose parent has the row itself above it would make a cycle."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tracelake.model.objects import ObjectRef

# (span_id, root_span_id, span_parents) of a row
Place = tuple[str, str, "list[str] | None"]


class TracePlaces:
    """The place of each row of some traces, kept current as a request's writes are applied.

    Rows are found by ``(object, root_span_id, span_id)``: span ids are only unique within a
    trace, and a row's parents are in its trace.
    """

    def __init__(self, rows: Iterable[tuple[ObjectRef, str, dict[str, Any]]] = ()) -> None:
        self._places: dict[tuple[ObjectRef, str], Place] = {}
        self._by_span: dict[tuple[ObjectRef, str, str], set[str]] = {}
        for ref, row_id, state in rows:
            self.put(ref, row_id, state)

    def put(self, ref: ObjectRef, row_id: str, state: dict[str, Any] | None) -> None:
        """Record the row's new state (None: the row is gone)."""
        old = self._places.pop((ref, row_id), None)
        if old is not None:
            self._by_span[(ref, old[1], old[0])].discard(row_id)
        if state is not None:
            place = (state["span_id"], state["root_span_id"], state["span_parents"])
            self._places[(ref, row_id)] = place
            self._by_span.setdefault((ref, place[1], place[0]), set()).add(row_id)

    def lineage(self, ref: ObjectRef, state: dict[str, Any]) -> set[str]:
        """The span ids of the row in ``state`` and of every span above it in its trace."""
        root = state["root_span_id"]
        seen = {state["span_id"]}
        todo = list(state["span_parents"] or ())
        while todo:
            span_id = todo.pop()
            if span_id in seen:  # stored rows may already hold a cycle
                continue
            seen.add(span_id)
            for row_id in self._by_span.get((ref, root, span_id), ()):
                todo.extend(self._places[(ref, row_id)][2] or ())
        return seen
