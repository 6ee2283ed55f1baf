"""The lexer: token kinds, decoded values, positions, and the percent/modulo rule."""

from __future__ import annotations

import doctest

import pytest

from tracelake.query import parsers, tokens
from tracelake.query.errors import QueryError
from tracelake.query.parsers import btql, json_ast, sql
from tracelake.query.tokens import (
    DQUOTED,
    EOF,
    IDENT,
    KEYWORD,
    NEWLINE,
    NUMBER,
    OP,
    PERCENT,
    STRING,
    tokenize,
)


def kinds_values(text: str) -> list[tuple[str, object]]:
    return [(t.kind, t.value) for t in tokenize(text) if t.kind != EOF]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("abc", [(IDENT, "abc")]),
        ("AND Or nOt", [(KEYWORD, "and"), (KEYWORD, "or"), (KEYWORD, "not")]),
        ("Select", [(IDENT, "Select")]),  # clause words are identifiers, decided in context
        ("_x1 é", [(IDENT, "_x1"), (IDENT, "é")]),
        ("42 4.5 1e3 2.5E-2", [(NUMBER, 42), (NUMBER, 4.5), (NUMBER, 1000.0), (NUMBER, 0.025)]),
        ("'a''b'", [(STRING, "a'b")]),
        (r"'a\'b'", [(STRING, "a'b")]),
        (r"'a\\b'", [(STRING, "a\\b")]),
        (r"'%50\% off%'", [(STRING, r"%50\% off%")]),  # LIKE escapes survive
        ("'two\nlines'", [(STRING, "two\nlines")]),
        ('"field name"', [(DQUOTED, "field name")]),
        ('"a""b" "c\\"d"', [(DQUOTED, 'a"b'), (DQUOTED, 'c"d')]),
        ("a -- comment\nb", [(IDENT, "a"), (NEWLINE, "\n"), (IDENT, "b")]),
        ("a--b", [(IDENT, "a")]),
        (
            "<!=> <=> != <> <= >= => = < >",
            [(OP, o) for o in ("<!=>", "<=>", "!=", "<>", "<=", ">=", "=>", "=", "<", ">")],
        ),
        ("+-*/%?:.,()[]|;", [(OP, c) for c in "+-*/%?:.,()[]|;"]),
    ],
)
def test_tokens(text, expected):
    assert kinds_values(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("50%", [(PERCENT, 0.5)]),
        (
            "x > 50% and y",
            [(IDENT, "x"), (OP, ">"), (PERCENT, 0.5), (KEYWORD, "and"), (IDENT, "y")],
        ),
        ("25% seed 7", [(PERCENT, 0.25), (IDENT, "seed"), (NUMBER, 7)]),
        ("7%)", [(PERCENT, 0.07), (OP, ")")]),
        ("50% -- half", [(PERCENT, 0.5)]),
        ("12.5%\nx", [(PERCENT, 0.125), (NEWLINE, "\n"), (IDENT, "x")]),
        ("50%-10%", [(PERCENT, 0.5), (OP, "-"), (PERCENT, 0.1)]),
        ("10%3", [(NUMBER, 10), (OP, "%"), (NUMBER, 3)]),
        ("10 % 3", [(NUMBER, 10), (OP, "%"), (NUMBER, 3)]),
        ("10%x", [(NUMBER, 10), (OP, "%"), (IDENT, "x")]),
        ("10% (x)", [(NUMBER, 10), (OP, "%"), (OP, "("), (IDENT, "x"), (OP, ")")]),
        ("a % b", [(IDENT, "a"), (OP, "%"), (IDENT, "b")]),
    ],
)
def test_percent_or_modulo(text, expected):
    assert kinds_values(text) == expected


def test_positions_are_one_based_and_follow_multiline_strings():
    toks = tokenize("select: a\n  | 'x\ny' = b")
    where = [(t.text, t.line, t.col) for t in toks]
    assert where == [
        ("select", 1, 1),
        (":", 1, 7),
        ("a", 1, 9),
        ("\n", 1, 10),
        ("|", 2, 3),
        ("'x\ny'", 2, 5),
        ("=", 3, 4),
        ("b", 3, 6),
        ("", 3, 7),
    ]


@pytest.mark.parametrize(
    ("text", "message", "line", "col"),
    [
        ("a = 'abc", "unterminated string", 1, 5),
        ('x\n  "abc', "unterminated double-quoted name or string", 2, 3),
        ("x = 'it''", "unterminated string", 1, 5),
        ("limit: 12ab", "bad number '12ab'", 1, 8),
        ("a > 1.2.3", "bad number '1.2.3'", 1, 5),
        ("a > 1.", "bad number '1.'", 1, 5),
        ("a\n  @b", "unexpected character '@'", 2, 3),
        ("a ! b", "unexpected character '!'", 1, 3),
        ("1e999", "number out of range", 1, 1),
        # integers beyond a double too (the engine cannot convert them; Python does not
        # read integers of over 4,300 digits, which was a 500)
        ("x < " + "9" * 310, "number out of range", 1, 5),
        ("tags[" + "9" * 5000 + "]", "number out of range", 1, 6),
        ("limit: " + "1" * 5000, "number out of range", 1, 8),
        ("9" * 5000 + "%", "number out of range", 1, 1),
    ],
)
def test_lexer_errors(text, message, line, col):
    with pytest.raises(QueryError) as info:
        tokenize(text)
    assert message in info.value.detail
    assert (info.value.line, info.value.col) == (line, col)


@pytest.mark.parametrize("module", [tokens, parsers, btql, sql, json_ast])
def test_docstring_examples(module):
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0
