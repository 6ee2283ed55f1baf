"""What MATCH and the full-text index take as the words of a JSON value: its text with object
keys and escapes blanked, lower-cased (``lower``), split on anything that is not a letter or
a digit. Patterns are regular expressions for SQL ``regexp_replace`` /
``string_split_regex`` (RE2 syntax). A LIKE pattern's fragments (``like_fragments``) are
what the index can look a LIKE up by."""

from __future__ import annotations

from dataclasses import dataclass

JSON_KEY_PATTERN = r'"(?:[^"\\]|\\.)*"\s*:'  # an object key in minified JSON text
JSON_ESCAPE_PATTERN = r"\\(?:u[0-9a-fA-F]{4}|.)"
NOT_ALNUM_PATTERN = r"[^\p{L}\p{N}]+"
# What the index blanks before tantivy splits the rest into words: escapes, and non-ASCII
# characters that are neither letters nor digits. MATCH splits at those; tantivy's
# tokenizer (Unicode Alphabetic) keeps combining vowel signs (Devanagari, Thai), U+0345 and
# circled letters inside a word, so the index held ``fooⓐbar`` where MATCH sees ``foo``
# and ``bar``. It splits at every ASCII character that is not a letter or a digit itself.
INDEX_BLANK_PATTERN = JSON_ESCAPE_PATTERN + r"|[^\p{L}\p{N}\x00-\x7f]+"


def lower(text: str) -> str:
    """``text`` lower-cased as DuckDB's ``lower()`` does it, and so as MATCH and the index
    read the text they search: one character at a time, to one character. Python's
    ``str.lower()`` differs for two letters: ``İ`` becomes ``i`` + U+0307 (DuckDB: ``i``),
    and a word-final ``Σ`` becomes ``ς`` (DuckDB: ``σ``), so a query word lower-cased by
    Python was never found in the text it was copied from."""
    if text.isascii():
        return text.lower()
    return "".join(map(str.lower, text.replace("\u0130", "i")))


@dataclass(frozen=True)
class Fragment:
    """A run of ASCII letters and digits (lower-cased) that every text a LIKE pattern
    matches contains, case aside; ``starts_word`` / ``ends_word``: the run begins / ends a
    word there (the pattern has its start or a literal ASCII non-alphanumeric character
    beside it), so in the index it begins / ends a word's token."""

    text: str
    starts_word: bool = False
    ends_word: bool = False


# A LIKE pattern parsed: a literal character, or one of these wildcards.
_ANY, _ONE = object(), object()


def like_fragments(pattern: str, min_length: int = 3) -> tuple[Fragment, ...]:
    """The runs of at least ``min_length`` ASCII letters and digits among the literal
    characters of a LIKE pattern (``%`` and ``_`` are wildcards, ``\\`` escapes the next
    character; a trailing lone ``\\`` is a backslash), in order and without repeats.
    Non-ASCII letters and digits join words in the text without being part of a run, so
    they neither start nor end one."""
    items: list = []
    chars = iter(pattern)
    for ch in chars:
        if ch == "\\":
            items.append(next(chars, "\\"))
        else:
            items.append(_ANY if ch == "%" else _ONE if ch == "_" else ch)

    def run_char(item) -> bool:
        return isinstance(item, str) and item.isascii() and item.isalnum()

    def separates(item) -> bool:  # the pattern's edge or a literal ASCII non-alphanumeric
        return item is None or (isinstance(item, str) and item.isascii() and not item.isalnum())

    found: dict[Fragment, None] = {}
    start = 0
    while start < len(items):
        if not run_char(items[start]):
            start += 1
            continue
        end = start
        while end < len(items) and run_char(items[end]):
            end += 1
        if end - start >= min_length:
            before = items[start - 1] if start else None
            after = items[end] if end < len(items) else None
            text = "".join(items[start:end]).lower()
            found[Fragment(text, separates(before), separates(after))] = None
        start = end
    return tuple(found)
