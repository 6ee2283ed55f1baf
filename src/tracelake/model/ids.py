"""Identifiers the server generates.

Row ids are time-ordered (UUIDv7 layout) so that rows written together sit together on disk
and zone maps can skip the rest.
"""

from __future__ import annotations

import os
import time
import uuid


def uuid7() -> str:
    """A version-7 UUID: 48 bits of unix milliseconds, then random bits."""
    millis = int(time.time() * 1000) & ((1 << 48) - 1)
    rand = int.from_bytes(os.urandom(10), "big")
    value = (millis << 80) | rand
    value &= ~(0xF << 76)
    value |= 0x7 << 76  # version
    value &= ~(0x3 << 62)
    value |= 0x2 << 62  # variant
    return str(uuid.UUID(int=value))


def new_object_id() -> str:
    """Ids for catalog objects (organizations, projects, datasets, experiments, keys)."""
    return str(uuid.uuid4())
