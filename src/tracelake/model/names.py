"""What a name a user gives an object may be: organizations, projects, datasets, experiments,
API keys, automations, saved views and queries, tags, score configurations, dataset
snapshots. One check for all of them (the catalog's, the routes' and the CLI's)."""

from __future__ import annotations

import re
from typing import Any

from tracelake.errors import InvalidRequest

MAX_NAME_LENGTH = 1024  # characters, for every object name

# Control characters (Unicode's Cc: U+0000–U+001F, U+007F–U+009F) and the line and paragraph
# separators, at which text tools and browsers break lines as at "\n". Names and ids refuse
# them alike (ids in ``model.rows``: once a row on ingest, so a regex, not a loop).
CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def control_character(value: str) -> int | None:
    """Where ``value`` holds a control character (U+0000–U+001F, U+007F–U+009F, which
    takes in U+0085, the "next line"), or a line or paragraph separator (U+2028, U+2029);
    else None. A NUL in a name cut it short in C clients and log lines; a line break split
    the one line a list, a terminal or a log shows of it; all of them looked like nothing,
    or like another name, on screen, yet only the exact name found the object."""
    found = CONTROL_CHARACTERS.search(value)
    return None if found is None else found.start()


def check_no_control_characters(value: str, what: str) -> None:
    """InvalidRequest naming ``what`` (the field) if ``value`` holds a control character."""
    at = control_character(value)
    if at is not None:
        raise InvalidRequest(
            f"{what} must not contain control characters"
            f" (U+{ord(value[at]):04X} at character {at + 1}): {value!r}"
        )


def require_name(value: Any, what: str) -> str:
    """``value`` if it may name an object, else InvalidRequest naming ``what``."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequest(f"{what} must be a non-empty string")
    if value != value.strip():
        # '  my project ' and 'my project' look the same in every list, yet only the exact
        # name finds it (as snapshot names, see dataset_meta).
        raise InvalidRequest(f"{what} may not start or end with whitespace: {value!r}")
    check_no_control_characters(value, what)
    if len(value) > MAX_NAME_LENGTH:
        raise InvalidRequest(f"{what} is too long (at most {MAX_NAME_LENGTH} characters)")
    return value
