"""Where each column of an uploaded file goes in a dataset row.

A target is written ``field`` or ``field.key.sub``:

- ``input``, ``expected``, ``metadata``: if this is the only column mapped to that field,
  its value is the whole field; otherwise it goes under the column's own name
  (``input.<column>``);
- ``input.question`` (any depth): the value goes at that path; a key holding a dot (or a
  quote) is double-quoted, as in BTQL paths: ``input."a.b"`` is the one key ``a.b``;
- ``tags``: a JSON array of strings, or text split on commas; several tag columns add up;
- ``id``: the row id (rows with the same id keep the last occurrence);
- ``skip``: the column is not imported.

By default every column goes to ``input``, except the columns named ``id``, ``input``,
``expected``, ``metadata`` and ``tags``, which go to that field. In a file with an ``input``
column (a dataset export, say) the system fields of an export (``_xact_id``, ``created``,
``org_id``, ``comments``, …) are skipped, so an export imports back unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from tracelake.errors import InvalidRequest

VALUE_FIELDS = ("input", "expected", "metadata")
FIELDS = (*VALUE_FIELDS, "tags", "id", "skip")
SKIP_ALIASES = frozenset({"skip", "do_not_import", "ignore"})


@dataclass(frozen=True, slots=True)
class Target:
    """Where one column goes: a field and, for value fields, a path inside it (empty =
    the whole field)."""

    field: str
    path: tuple[str, ...] = ()

    def __str__(self) -> str:
        return ".".join((self.field, *(quote_key(k) for k in self.path)))


def quote_key(key: str) -> str:
    """A key as a target writes it: as is, or double-quoted when it would not read back as
    that one key unquoted (a dot, a quote, an ``=``, a backslash, spaces around it, empty)."""
    if key and key == key.strip() and not any(c in key for c in '."=\\'):
        return key
    return '"' + key.replace("\\", "\\\\").replace('"', '""') + '"'


def split_target(text: str, offset: int = 0) -> list[str]:
    """The segments of a target's text (the field, then keys) split at the dots outside
    double quotes; a quoted segment is one key, with ``""`` or ``\\"`` for a quote and
    ``\\\\`` for a backslash in it (as in BTQL's quoted path segments). Raises
    InvalidRequest for a quote left open, text after a closing quote or a quote inside an
    unquoted segment, at its position (counting the text's characters from 1, plus
    ``offset``)."""
    segments: list[str] = []
    i, n = 0, len(text)
    while True:
        if i < n and text[i] == '"':
            start, i, key = i, i + 1, []
            while True:
                if i >= n:
                    raise InvalidRequest(
                        f"the quote at position {offset + start + 1} is not closed"
                    )
                ch = text[i]
                if ch == '"' and text.startswith('"', i + 1):
                    key.append('"')
                    i += 2
                elif ch == '"':
                    i += 1
                    break
                elif ch == "\\" and i + 1 < n and text[i + 1] in '"\\':
                    key.append(text[i + 1])
                    i += 2
                else:
                    key.append(ch)
                    i += 1
            segments.append("".join(key))
            if i < n and text[i] != ".":
                raise InvalidRequest(
                    f"position {offset + i + 1}: a quoted key must be followed by '.' or end"
                    " the target"
                )
        else:
            end = text.find(".", i)
            end = n if end < 0 else end
            quote = text.find('"', i, end)
            if quote >= 0:
                raise InvalidRequest(
                    f"position {offset + quote + 1}: a quote may only open a key (quote the whole"
                    ' key: input."a.b")'
                )
            segments.append(text[i:end])
            i = end
        if i >= n:
            return segments
        i += 1  # past the dot
        if i >= n:  # (a trailing dot: an empty key)
            segments.append("")
            return segments


def parse_target(text: str, column: str) -> Target:
    """``input.question`` → Target("input", ("question",)), ``input."a.b"`` →
    Target("input", ("a.b",)); a bare field has no path (``build_mapping`` decides whether
    it fills the field or goes under the column name)."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidRequest(f"column {column!r}: the target must be a non-empty string")
    try:  # (positions count in the text as given, spaces before it included)
        parts = split_target(text.strip(), len(text) - len(text.lstrip()))
    except InvalidRequest as exc:
        raise InvalidRequest(f"column {column!r}: target {text!r}: {exc.message}") from None
    field = parts[0].lower()
    if field in SKIP_ALIASES:
        field = "skip"
    if field not in FIELDS:
        raise InvalidRequest(
            f"column {column!r}: unknown target {text!r} "
            f"(use input, expected, metadata, tags, id or skip, optionally input.key)"
        )
    path = tuple(parts[1:])
    if any(not p for p in path):
        raise InvalidRequest(f"column {column!r}: target {text!r} has an empty key")
    if path and field not in VALUE_FIELDS:
        raise InvalidRequest(f"column {column!r}: {field} takes no key (got {text!r})")
    return Target(field, path)


def parse_map_options(options: Iterable[str], name: str = "--map") -> dict[str, str]:
    """``["q=input.question", "a=expected"]`` (the CLI's ``--map``, the routes' ``map``;
    ``name`` is how errors call it) → ``{"q": "input.question", …}``. The column name is
    everything before the last ``=`` outside the target's quoted keys (``q=input."a=b"``
    maps the column ``q``); a column given twice is an error (the last one won)."""
    result: dict[str, str] = {}
    for option in options:
        column, sep, target = _split_option(option)
        if not sep or not column:
            raise InvalidRequest(f"{name} {option!r}: write it as column=target")
        if column in result:
            raise InvalidRequest(
                f"{name} maps column {column!r} twice ({result[column]!r} and {target!r})"
            )
        result[column] = target
    return result


def _split_option(option: str) -> tuple[str, str, str]:
    """(column, "=", target) at the last ``=`` whose rest reads as a target with every
    ``=`` of it inside a quoted key; else at the last ``=`` (its target's error is said when
    it is parsed)."""
    at = option.rfind("=")
    while at > 0:
        target = option[at + 1 :]
        try:
            keys = split_target(target.strip())
        except InvalidRequest:
            keys = None
        if keys is not None and target.count("=") == sum(k.count("=") for k in keys):
            return option[:at], "=", target
        at = option.rfind("=", 0, at)
    return option.rpartition("=")


RECORD_FIELDS = ("id", *VALUE_FIELDS, "tags")
# What an export adds to a row's record fields; not imported from a file that has an input
# column (a file of records, such as a dataset export).
EXPORT_SYSTEM_FIELDS = frozenset(
    {
        "_xact_id",
        "_pagination_key",
        "_object_delete",
        "created",
        "org_id",
        "project_id",
        "dataset_id",
        "experiment_id",
        "log_id",
        "span_id",
        "root_span_id",
        "span_parents",
        "is_root",
        "origin",
        "comments",
        "audit_data",
    }
)


def default_targets(columns: Iterable[str]) -> dict[str, Target]:
    """Where each column goes when the mapping does not name it: a record field to itself,
    an export's system field to skip when the file has an ``input`` column, others to input."""
    columns = list(columns)
    records = "input" in columns
    targets = {}
    for column in columns:
        if column in RECORD_FIELDS:
            targets[column] = Target(column)
        elif records and column in EXPORT_SYSTEM_FIELDS:
            targets[column] = Target("skip")
        else:
            targets[column] = Target("input")
    return targets


def propose_mapping(columns: Iterable[str]) -> dict[str, str]:
    return {column: str(target) for column, target in default_targets(columns).items()}


@dataclass(frozen=True)
class ColumnMapping:
    """The checked mapping of every column of a file."""

    targets: dict[str, Target]

    @property
    def id_column(self) -> str | None:
        return next((c for c, t in self.targets.items() if t.field == "id"), None)

    def columns_for(self, field: str) -> list[tuple[str, Target]]:
        return [(c, t) for c, t in self.targets.items() if t.field == field]


def build_mapping(columns: Iterable[str], given: Mapping[str, str] | None) -> ColumnMapping:
    """Check ``given`` (column → target text) against the file's columns; columns it does
    not name take their default target. Two columns writing one place are an error."""
    columns = list(columns)
    given = dict(given or {})
    unknown = [c for c in given if c not in columns]
    if unknown:
        raise InvalidRequest(
            f"the mapping names column {unknown[0]!r}, which the file does not have "
            f"(its columns: {', '.join(columns)})"
        )
    targets = default_targets(columns)
    for column, text in given.items():
        if text is not None:
            targets[column] = parse_target(text, column)
    for field in VALUE_FIELDS:
        mapped = [c for c, t in targets.items() if t.field == field]
        if len(mapped) > 1:  # several columns share the field: each bare one under its name
            for column in mapped:
                if not targets[column].path:
                    targets[column] = Target(field, (column,))
    ids = [c for c, t in targets.items() if t.field == "id"]
    if len(ids) > 1:
        raise InvalidRequest(f"columns {ids[0]!r} and {ids[1]!r} both map to id")
    for field in VALUE_FIELDS:
        _check_paths([(c, t.path) for c, t in targets.items() if t.field == field], field)
    return ColumnMapping(targets)


def _check_paths(entries: list[tuple[str, tuple[str, ...]]], field: str) -> None:
    """No two columns may write the same place, or one inside the other's value. (By the
    prefixes of each path: comparing every pair took seconds for a file of 2,000 columns.)"""
    written: dict[tuple[str, ...], str] = {}  # path → the column writing it
    inside: dict[tuple[str, ...], str] = {}  # proper prefix of a written path → its column
    for column, path in entries:
        other, where = written.get(path) or inside.get(path), path
        for length in range(len(path) - 1, -1, -1):
            if other is not None:
                break
            other, where = written.get(path[:length]), path[:length]
        if other is not None:
            raise InvalidRequest(
                f"columns {other!r} and {column!r} both write"
                f" {Target(field, where)} (give one a key)"
            )
        written[path] = column
        for length in range(len(path)):
            inside.setdefault(path[:length], column)
