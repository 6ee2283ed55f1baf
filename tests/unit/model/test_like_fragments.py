"""The fragments of a LIKE pattern that the search index can look the LIKE up by."""

from __future__ import annotations

import pytest

from tracelake.model.words import Fragment, like_fragments


@pytest.mark.parametrize(
    ("pattern", "fragments"),
    [
        ("%chargeback%", [Fragment("chargeback")]),
        ("Charge%", [Fragment("charge", starts_word=True)]),
        ("%BACK", [Fragment("back", ends_word=True)]),
        ("exact", [Fragment("exact", True, True)]),
        # A literal ASCII non-alphanumeric character separates words in the text too.
        ("%refund policy%", [Fragment("refund", False, True), Fragment("policy", True, False)]),
        ("gpt-4o%", [Fragment("gpt", True, True)]),
        # `_` stands for any character: it may join words.
        ("%abc_def%", [Fragment("abc"), Fragment("def")]),
        # Escaped wildcards are literal characters (non-alphanumeric: separators).
        (r"%a\%bcd_ef%", [Fragment("bcd", starts_word=True)]),
        (r"\_abc\_", [Fragment("abc", True, True)]),
        # An escaped letter is that letter.
        (r"%a\bc%", [Fragment("abc")]),
        # Non-ASCII letters join words but are not part of a fragment.
        ("héllo world%", [Fragment("llo", ends_word=True), Fragment("world", starts_word=True)]),
        ("%ÀBCDÉ%", [Fragment("bcd")]),
        # Too short to narrow anything.
        ("ab%", []),
        ("%x_yz%", []),
        ("%", []),
        ("", []),
        # A trailing lone backslash is a backslash.
        ("abc\\", [Fragment("abc", True, True)]),
        # Repeats are listed once.
        ("%run%run%", [Fragment("run")]),
        ("%Run%RUN%", [Fragment("run")]),
    ],
)
def test_fragments(pattern, fragments):
    assert list(like_fragments(pattern)) == fragments


def test_the_minimum_length_is_a_parameter():
    assert like_fragments("ab%", min_length=2) == (Fragment("ab", starts_word=True),)
