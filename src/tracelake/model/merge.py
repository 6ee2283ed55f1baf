"""Write semantics: how a write changes the current state of a row.

A row state is a plain dict with every stored field (see ``empty_state``). Every function
here is pure: it takes the current state (or None when the row does not exist or is
deleted) and returns the new one (None for a tombstone).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from tracelake.errors import InvalidRequest
from tracelake.model.rows import JSON_FIELDS, USER_FIELDS, RowWrite, WriteKind

STATE_FIELDS = (
    "id",
    "created",
    "span_id",
    "root_span_id",
    "span_parents",
    "tags",
    *JSON_FIELDS,
    "audit_data",
)

# Fields a merge never changes: the row keeps its place in its trace and its creation time.
_MERGE_IGNORED = frozenset({"span_id", "root_span_id", "span_parents", "created"})
# A replace sending one of these places the row itself (else it keeps the replaced row's trace
# and parents).
_PLACE_FIELDS = frozenset({"root_span_id", "span_parents"})


def empty_state(row_id: str) -> dict[str, Any]:
    state: dict[str, Any] = dict.fromkeys(STATE_FIELDS)
    state["id"] = row_id
    return state


def apply_write(
    current: dict[str, Any] | None,
    write: RowWrite,
    *,
    now: str,
    parent: dict[str, Any] | None = None,
    lineage: Collection[str] = (),
    audit_entry: dict[str, Any] | None = None,
) -> dict[str, Any] | None:
    """Return the row's state after ``write``.

    ``parent`` is the current state of the row named by ``write.parent_id`` and ``lineage``
    the span ids of the parent and of the spans above it in its trace (the caller looks them
    up, see ``model/lineage.py``); ``audit_entry`` is appended to ``audit_data`` when the
    write carries audit info.
    Comments never reach this function: they are stored beside the row they annotate.
    """
    if write.kind is WriteKind.DELETE:
        return None
    if write.kind is WriteKind.COMMENT:
        raise ValueError("comments are not row writes")
    if write.kind is WriteKind.MERGE and current is not None:
        state = merge_state(current, write)
    else:
        state = new_state(write, now=now, parent=parent, lineage=lineage, replaced=current)
    if audit_entry is not None:
        state["audit_data"] = [*(state.get("audit_data") or []), audit_entry]
    return state


def apply_comment(
    current: dict[str, Any] | None,
    write: RowWrite,
    *,
    now: str,
    audit_entry: dict[str, Any] | None = None,
) -> dict[str, Any] | None:
    """Return the state of the comment ``write.id`` after ``write`` (None: no comment).

    A comment is keyed by its id like a row: a comment write replaces the comment of its id,
    a merge (``_is_merge``) deep-merges its body into it and keeps its ``created``, and a
    delete removes it. A comment state is ``{origin_id, created, comment, audit_data}``.
    """
    if write.kind is WriteKind.DELETE:
        return None
    if write.kind is not WriteKind.COMMENT:
        raise ValueError("not a comment write")
    trail = [audit_entry] if audit_entry is not None else []
    if write.merge and current is not None:
        body = merge_values(current["comment"], write.comment, set(write.merge_paths), ("comment",))
        audit = [*(current["audit_data"] or []), *trail]
        return {
            "origin_id": write.origin_id,
            "created": current["created"],
            "comment": body,
            "audit_data": audit or None,
        }
    return {
        "origin_id": write.origin_id,
        "created": write.created or now,
        "comment": write.comment,
        "audit_data": trail or None,
    }


def reads_replaced_row(write: RowWrite) -> bool:
    """Whether ``write`` takes something from the row it replaces, which the caller must
    then pass to ``apply_write``: a replace that sends no ``span_id`` keeps the row's (see
    ``new_state``). A row whose id was made for it replaces nothing."""
    return write.kind is WriteKind.REPLACE and not write.new_id and "span_id" not in write.fields


def new_state(
    write: RowWrite,
    *,
    now: str,
    parent: dict[str, Any] | None = None,
    lineage: Collection[str] = (),
    replaced: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The state of a row created by ``write`` (a replace, or a merge into nothing).

    ``lineage`` holds the span ids of ``parent`` and of the spans above it: the row may not
    be one of them, or it would become its own ancestor. ``replaced`` is the row the write
    replaces (None: there is none, or it is deleted): a replace keeps its place in its trace
    unless it sends one. Without ``span_id`` the row keeps its span id (else it is the row's
    id), and without ``root_span_id``, ``span_parents`` or ``_parent_id`` too its trace and
    parents (else they are the ones sent: a row is the root of its own span's trace unless
    it names another). A replace without span ids (a REST insert or a dataset row sent
    again whole) so leaves the row where it was, and its children under it."""
    if write.parent_id is not None and parent is None:
        raise InvalidRequest(f"{write.name}: _parent_id {write.parent_id!r} does not exist")
    state = empty_state(write.id)
    state.update(write.fields)
    state["created"] = write.created or now
    if write.kind is not WriteKind.REPLACE:
        replaced = None  # (a merge into nothing)
    kept = replaced is not None and "span_id" not in write.fields
    state["span_id"] = write.fields.get("span_id") or (replaced["span_id"] if kept else write.id)
    if parent is not None:
        state["root_span_id"] = parent["root_span_id"]
        state["span_parents"] = [parent["span_id"]]
        _check_given_place(write, state)
        if state["root_span_id"] == state["span_id"]:
            # The parent sits in the trace this row is the root of (below it): as its
            # child, the row would leave that trace with no root.
            raise InvalidRequest(
                f"{write.name}: _parent_id {write.parent_id!r} is in the trace this row "
                "is the root of, so the trace would have no root"
            )
        if state["span_id"] == parent["span_id"]:
            raise InvalidRequest(
                f"{write.name}: span_id {state['span_id']!r} is the span_id of _parent_id"
                f" {write.parent_id!r}: a row cannot be a child of its own span"
            )
        if state["span_id"] in lineage:
            raise InvalidRequest(
                f"{write.name}: _parent_id {write.parent_id!r} is a descendant of this "
                "row, so each would be the other's ancestor"
            )
    elif kept and not _PLACE_FIELDS & write.fields.keys():
        state["root_span_id"] = replaced["root_span_id"]
        state["span_parents"] = replaced["span_parents"]
    else:
        state["root_span_id"] = write.fields.get("root_span_id") or state["span_id"]
        state["span_parents"] = write.fields.get("span_parents") or None
    if state["tags"] is not None:
        state["tags"] = _unique(state["tags"])
    _apply_array_deletes(state, write)
    return state


def _check_given_place(write: RowWrite, state: dict[str, Any]) -> None:
    """A row with ``_parent_id`` takes its place in the trace from the parent: a
    ``root_span_id`` or ``span_parents`` it gives as well must say the same, or the row
    would claim one parent and sit in another trace (or under other spans)."""
    for name in ("root_span_id", "span_parents"):
        given = write.fields.get(name)
        if given and given != state[name]:
            raise InvalidRequest(
                f"{write.name}: {name} {given!r} contradicts _parent_id {write.parent_id!r},"
                f" which gives the row {name} {state[name]!r} (give one of them, or both"
                " alike)"
            )


def merge_state(current: dict[str, Any], write: RowWrite) -> dict[str, Any]:
    """Deep-merge ``write`` into an existing row."""
    state = dict(current)
    stop = set(write.merge_paths)
    for name, value in write.fields.items():
        if name in _MERGE_IGNORED:
            continue
        if name == "tags":
            if ("tags",) in stop:  # replaced, even by [] or null
                state["tags"] = None if value is None else _unique(value)
            else:
                state["tags"] = union_tags(state["tags"], value)
        else:
            state[name] = merge_values(state.get(name), value, stop, (name,))
    _apply_array_deletes(state, write)
    return state


def merge_values(base: Any, patch: Any, stop: set[tuple[str, ...]], path: tuple[str, ...]) -> Any:
    """Objects merge key by key; anything else (scalars, arrays, null) replaces.

    At a path listed in ``stop`` (``_merge_paths``) the patch replaces whatever is there.
    Neither argument is modified; the result may share unchanged parts with both.
    """
    if path in stop or not isinstance(base, dict) or not isinstance(patch, dict):
        return patch
    merged = dict(base)
    for key, value in patch.items():
        merged[key] = merge_values(base.get(key), value, stop, (*path, key))
    return merged


def union_tags(current: list[str] | None, incoming: list[str] | None) -> list[str] | None:
    """Top-level tags merge as a set union, keeping first-seen order."""
    if incoming is None:
        return current
    return _unique([*(current or []), *incoming])


def _unique(values: list[str]) -> list[str]:
    """Tags without repeats, in first-seen order (a set: a list took quadratic time, and a
    row with many tags held the writer thread for seconds on each merge into it)."""
    return list(dict.fromkeys(values))


def _apply_array_deletes(state: dict[str, Any], write: RowWrite) -> None:
    """Remove values from arrays of user fields (span fields and the audit trail are never
    changed this way)."""
    for path, values in write.array_deletes:
        head = path[0]
        if head not in USER_FIELDS or head not in state:
            continue
        state[head] = _without_values(state[head], path[1:], values)


def _without_values(node: Any, path: tuple[str, ...], values: list[Any]) -> Any:
    """A copy of ``node`` with ``values`` removed from the array at ``path`` (copy on write:
    states are never mutated in place, so earlier versions stay intact)."""
    if not path:
        if not isinstance(node, list):
            return node
        scalars = {_scalar_key(v) for v in values} - {None}
        compound = [v for v in values if isinstance(v, dict | list)]
        return [item for item in node if not _among(item, scalars, compound)]
    if not isinstance(node, dict) or path[0] not in node:
        return node
    return {**node, path[0]: _without_values(node[path[0]], path[1:], values)}


def _among(item: Any, scalars: set, compound: list[Any]) -> bool:
    """Whether ``item`` is one of the values to delete: a scalar is looked up in a set (a
    scan of every value for every item took quadratic time, on the writer thread for a
    merge), an object or array compared with each object and array."""
    key = _scalar_key(item)
    if key is not None:
        return key in scalars
    return any(same_json(item, value) for value in compound)


def _scalar_key(value: Any) -> tuple | None:
    """A key equal for the scalars ``same_json`` finds equal (``1`` and ``1.0``; ``true``
    apart from ``1``); None for an object or array."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float):
        return ("number", value)
    if isinstance(value, str):
        return ("string", value)
    if value is None:
        return ("null",)
    return None


def same_json(a: Any, b: Any) -> bool:
    """Equality of JSON values: ``true`` is not ``1`` (Python's ``==`` says it is), ``1`` is
    ``1.0``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict):
        return (
            isinstance(b, dict)
            and a.keys() == b.keys()
            and all(same_json(value, b[key]) for key, value in a.items())
        )
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(same_json, a, b))
    return a == b
