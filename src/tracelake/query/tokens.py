"""The lexer shared by BTQL text, Braintrust SQL and ``{"btql": "..."}`` snippets.

One hand-written pass turns text into tokens that each know their line and column (1-based),
so every later error can point at the offending spot. The lexer decides only what is
unambiguous from the characters; the parsers decide the rest. The open points, and how they
are decided here:

* **Keywords** are case-insensitive. Only the words that change how an expression parses are
  keywords (``and or not is null true false in like ilike match includes contains as asc
  desc interval distinct isnull isnotnull``); everything else (``count``, ``select``,
  ``spans``, ``seed``) is an identifier that a parser may treat as a word in context. After a
  ``.`` any word is a path segment, so ``metadata.in`` is a field.
* **Single-quoted strings** accept both SQL doubling (``'it''s'``) and backslash escapes
  (``'it\\'s'``, ``'a\\\\b'``). Any other backslash is kept as written, so the LIKE pattern
  ``'%50\\% off%'`` still carries its escape to the engine.
* **Double-quoted tokens** stay a token kind of their own (``DQUOTED``; ``""`` and ``\\"``
  escape a quote) because the same text is an identifier in one place and a string in
  another. The parser's rule: a double-quoted token is a *field* when it follows ``.``, when
  ``.`` or ``[`` follows it (``"my obj".x``), when it directly precedes a predicate operator
  (``=``, ``<``, ``IS``, ``IN``, ``LIKE``, ``MATCH``, ``INCLUDES``, ...; so
  ``sum("My review score" IS NOT NULL)`` counts a field), and when it names an alias.
  Everywhere else it is a string literal (``metadata.model = "gpt-4"``, ``? "high" : "low"``,
  ``IN ("a", "b")``).
* **Percent literals**: a number directly followed by ``%`` (no space) is a ``PERCENT`` token
  worth number/100 (``50%`` is 0.5) unless the next token on the same line starts an
  operand: a number, a quote, ``(``, ``[`` or an identifier that is not a keyword. So
  ``sample: 25% seed 7``, ``x > 50% and y`` and ``x > 50%`` are percents while ``a % b``,
  ``10 % 3`` and ``10%3`` are modulo.
* **Numbers** are ``digits[.digits][e[+-]digits]``; a number running into a letter, a digit
  after a second dot or a trailing dot (``12ab``, ``1.2.3``, ``1.``) is an error, not two
  tokens. Negative numbers are a unary minus applied by the parser.
* **Newlines** become ``NEWLINE`` tokens. Only the BTQL clause parser gives them meaning (a
  newline at bracket depth 0 followed by ``word:`` starts a new clause); the expression and
  SQL parsers drop them. ``--`` starts a comment that runs to the end of the line; ``/*``
  (a block comment elsewhere) is an error that says so, since no BTQL text may hold it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from tracelake.query.errors import QueryError

IDENT = "ident"
KEYWORD = "keyword"
STRING = "string"  # single-quoted
DQUOTED = "dquoted"  # double-quoted: identifier or string, decided by the parser
NUMBER = "number"
PERCENT = "percent"
OP = "op"
NEWLINE = "newline"
SEP = "sep"  # a BTQL clause separator: '|' or a clause-starting newline (made by the parser)
EOF = "eof"

KEYWORDS = frozenset(
    {
        "and", "or", "not", "is", "null", "true", "false", "in", "like", "ilike", "match",
        "includes", "contains", "as", "asc", "desc", "interval", "distinct", "isnull",
        "isnotnull",
    }
)  # fmt: skip

# Longest first, so "<!=>" wins over "<" and "<=>" over "<=".
OPERATORS = (
    "<!=>", "<=>", "!=", "<>", "<=", ">=", "=>",
    "=", "<", ">", "+", "-", "*", "/", "%", "?", ":", ".", ",", "(", ")", "[", "]", "|", ";",
)  # fmt: skip

# Words that may follow a complete operand; after "50%" they keep the "%" a percent sign.
_CONTINUATION_WORDS = KEYWORDS - {"null", "true", "false", "interval", "isnull", "isnotnull"} | {
    "seed", "rows", "percent", "eq", "ne", "lt", "le", "gt", "ge", "add", "sub", "mul", "div",
    "mod", "from", "where", "group",
    "order", "by", "limit", "offset", "having", "pivot", "unpivot", "for", "when", "then",
    "else", "end", "union", "intersect", "except", "tablesample", "settings", "spans",
    "traces", "summary",
}  # fmt: skip

_DIGITS = "0123456789"


def _is_word_start(ch: str) -> bool:
    return ch == "_" or ch.isalpha()


def _is_word_char(ch: str) -> bool:
    return ch == "_" or ch.isalnum()


@dataclass(frozen=True, slots=True)
class Token:
    """One token. ``value`` is the decoded value: the unquoted text of strings and quoted
    names, the number of numbers, the lower-case word of keywords and the original text of
    identifiers and operators."""

    kind: str
    text: str
    value: object
    line: int
    col: int
    pos: int

    def is_op(self, *ops: str) -> bool:
        return self.kind == OP and self.text in ops

    def is_kw(self, *words: str) -> bool:
        return self.kind == KEYWORD and self.value in words

    def is_word(self, *words: str) -> bool:
        """An identifier (not a keyword) spelled like one of ``words``, ignoring case."""
        return self.kind == IDENT and self.text.lower() in words

    @property
    def word(self) -> str | None:
        """The lower-case word of an identifier or keyword, else None."""
        return self.text.lower() if self.kind in (IDENT, KEYWORD) else None

    def describe(self) -> str:
        """How error messages name this token."""
        if self.kind == EOF:
            return "end of input"
        if self.kind == NEWLINE or (self.kind == SEP and self.text != "|"):
            return "end of line"
        text = self.text if len(self.text) <= 40 else self.text[:37] + "..."
        return f"'{text}'"


class _Lexer:
    def __init__(self, text: str):
        self.text = text
        self.pos = 0
        self.line = 1
        self.line_start = 0
        self.tokens: list[Token] = []

    def error(self, message: str, pos: int | None = None) -> QueryError:
        line, col = self.where(self.pos if pos is None else pos)
        return QueryError(message, line, col)

    def where(self, pos: int) -> tuple[int, int]:
        # Positions before the current line (multi-line strings) are recounted.
        if pos >= self.line_start:
            return self.line, pos - self.line_start + 1
        line = self.text.count("\n", 0, pos) + 1
        return line, pos - (self.text.rfind("\n", 0, pos) + 1) + 1

    def emit(self, kind: str, start: int, value: object, text: str | None = None) -> None:
        line, col = self.where(start)
        raw = self.text[start : self.pos] if text is None else text
        self.tokens.append(Token(kind, raw, value, line, col, start))

    def newline_at(self, pos: int) -> None:
        self.line += 1
        self.line_start = pos + 1

    def run(self) -> list[Token]:
        text, n = self.text, len(self.text)
        while self.pos < n:
            ch = text[self.pos]
            if ch == "\n":
                self.emit(NEWLINE, self.pos, "\n", "\n")
                self.newline_at(self.pos)
                self.pos += 1
            elif ch in " \t\r\f\v":
                self.pos += 1
            elif text.startswith("--", self.pos):
                end = text.find("\n", self.pos)
                self.pos = n if end < 0 else end
            elif text.startswith("/*", self.pos):
                raise self.error(
                    "block comments (/* … */) are not supported; start a comment with --, "
                    "which runs to the end of the line"
                )
            elif ch == "'":
                self.quoted("'", STRING)
            elif ch == '"':
                self.quoted('"', DQUOTED)
            elif ch in _DIGITS:
                self.number()
            elif _is_word_start(ch):
                start = self.pos
                while self.pos < n and _is_word_char(text[self.pos]):
                    self.pos += 1
                word = text[start : self.pos]
                if word.lower() in KEYWORDS:
                    self.emit(KEYWORD, start, word.lower())
                else:
                    self.emit(IDENT, start, word)
            else:
                for op in OPERATORS:
                    if text.startswith(op, self.pos):
                        start = self.pos
                        self.pos += len(op)
                        self.emit(OP, start, op)
                        break
                else:
                    raise self.error(f"unexpected character {ch!r}")
        self.emit(EOF, self.pos, None, "")
        return self.tokens

    def quoted(self, quote: str, kind: str) -> None:
        text, start = self.text, self.pos
        self.pos += 1
        out: list[str] = []
        while True:
            if self.pos >= len(text):
                what = "string" if kind == STRING else "double-quoted name or string"
                raise self.error(f"unterminated {what}", start)
            ch = text[self.pos]
            if ch == quote:
                if text.startswith(quote, self.pos + 1):  # '' or "" doubling
                    out.append(quote)
                    self.pos += 2
                    continue
                self.pos += 1
                break
            if ch == "\\" and self.pos + 1 < len(text) and text[self.pos + 1] in (quote, "\\"):
                out.append(text[self.pos + 1])
                self.pos += 2
                continue
            if ch == "\n":
                self.newline_at(self.pos)
            out.append(ch)
            self.pos += 1
        self.emit(kind, start, "".join(out))

    def number(self) -> None:
        text, n, start = self.text, len(self.text), self.pos
        is_float = False
        while self.pos < n and text[self.pos] in _DIGITS:
            self.pos += 1
        if (
            self.pos < n
            and text[self.pos] == "."
            and self.pos + 1 < n
            and text[self.pos + 1] in _DIGITS
        ):
            is_float = True
            self.pos += 1
            while self.pos < n and text[self.pos] in _DIGITS:
                self.pos += 1
        if self.pos < n and text[self.pos] in "eE":
            j = self.pos + 1
            if j < n and text[j] in "+-":
                j += 1
            if j < n and text[j] in _DIGITS:
                is_float = True
                self.pos = j
                while self.pos < n and text[self.pos] in _DIGITS:
                    self.pos += 1
        if self.pos < n and (_is_word_char(text[self.pos]) or text[self.pos] == "."):
            end = self.pos
            while end < n and (_is_word_char(text[end]) or text[end] == "."):
                end += 1
            raise self.error(f"bad number '{text[start:end]}'", start)
        raw = text[start : self.pos]
        # Every number must fit a double, integers too: the engine cannot compare or convert
        # a longer one, and Python does not read integers of over 4,300 digits.
        if not math.isfinite(float(raw)):
            raise self.error(f"number out of range '{raw}'", start)
        if self.pos < n and text[self.pos] == "%" and self.percent_follows(self.pos + 1):
            self.pos += 1
            self.emit(PERCENT, start, float(Decimal(raw) / 100))
            return
        self.emit(NUMBER, start, float(raw) if is_float else int(raw))

    def percent_follows(self, pos: int) -> bool:
        """Whether a '%' just after a number ends it (a percent) instead of being modulo."""
        text, n = self.text, len(self.text)
        while pos < n and text[pos] in " \t\r\f\v":
            pos += 1
        if pos >= n or text[pos] == "\n" or text.startswith("--", pos):
            return True
        ch = text[pos]
        if ch in "'\"([" or ch in _DIGITS:
            return False
        if _is_word_start(ch):
            end = pos
            while end < n and _is_word_char(text[end]):
                end += 1
            return text[pos:end].lower() in _CONTINUATION_WORDS
        return True


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens ending with an ``EOF`` token.

    >>> [t.text for t in tokenize("a.b >= 50%")]
    ['a', '.', 'b', '>=', '50%', '']
    """
    return _Lexer(text).run()
