"""What MATCH and the full-text index take as the words of a JSON value: its text with object
keys and escapes blanked, split on anything that is not a letter or a digit. Patterns are
regular expressions for SQL ``regexp_replace`` / ``string_split_regex`` (RE2 syntax)."""

from __future__ import annotations

JSON_KEY_PATTERN = r'"(?:[^"\\]|\\.)*"\s*:'  # an object key in minified JSON text
JSON_ESCAPE_PATTERN = r"\\(?:u[0-9a-fA-F]{4}|.)"
NOT_ALNUM_PATTERN = r"[^\p{L}\p{N}]+"
