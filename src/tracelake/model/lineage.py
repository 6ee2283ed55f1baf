"""Where rows sit in their traces, to find the spans above a row (its ``span_parents``, theirs,
and so on): a ``_parent_id`` whose parent has the row itself above it would make a cycle."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from tracelake.errors import InvalidRequest
from tracelake.model.objects import ObjectRef

if TYPE_CHECKING:
    from tracelake.model.rows import RowWrite

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
        # (object, root_span_id, a parent's span id) -> the rows naming it in span_parents
        self._under: dict[tuple[ObjectRef, str, str], set[str]] = {}
        for ref, row_id, state in rows:
            self.put(ref, row_id, state)

    def put(self, ref: ObjectRef, row_id: str, state: dict[str, Any] | None) -> None:
        """Record the row's new state (None: the row is gone)."""
        old = self._places.pop((ref, row_id), None)
        if old is not None:
            self._by_span[(ref, old[1], old[0])].discard(row_id)
            for parent in old[2] or ():
                self._under[(ref, old[1], parent)].discard(row_id)
        if state is not None:
            place = (state["span_id"], state["root_span_id"], state["span_parents"])
            self._places[(ref, row_id)] = place
            self._by_span.setdefault((ref, place[1], place[0]), set()).add(row_id)
            for parent in place[2] or ():
                self._under.setdefault((ref, place[1], parent), set()).add(row_id)

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

    def children(self, ref: ObjectRef, state: dict[str, Any]) -> list[str]:
        """The ids of the rows directly below the row in ``state`` (its trace's rows that
        name its span as a parent), but the row itself."""
        below = self._under.get((ref, state["root_span_id"], state["span_id"]), ())
        return sorted(row_id for row_id in below if row_id != state["id"])


def check_children_stay(
    write: RowWrite, before: dict[str, Any], after: dict[str, Any], places: TracePlaces
) -> None:
    """A ``_parent_id`` that takes a row with children to another trace (or gives it another
    span id) is an error: the children would hang under a span no longer there (a moved root
    would leave its trace without one). Braintrust's ``_parent_id`` moves the row alone."""
    if (before["root_span_id"], before["span_id"]) == (after["root_span_id"], after["span_id"]):
        return
    children = places.children(write.ref, before)
    if children:
        shown = ", ".join(repr(c) for c in children[:5]) + (", …" if len(children) > 5 else "")
        raise InvalidRequest(
            f"{write.name}: _parent_id {write.parent_id!r} would move this row (span"
            f" {before['span_id']!r} of trace {before['root_span_id']!r}) and leave its"
            f" children ({shown}) under a span no longer there; move or delete them first"
        )
