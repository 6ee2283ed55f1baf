"""The expression grammar shared by BTQL and Braintrust SQL, plus the select-list rules both
text syntaxes share (implicit aliases, grouping by ordinal/alias).

One recursive-descent parser, precedence climbing from loosest to tightest (btql.md §1.4):
ternary ``?:`` (right-assoc, chains flattened into one ``If``) < OR < AND < NOT < predicates
(comparisons, IS, IN, LIKE/ILIKE/MATCH, INCLUDES/CONTAINS; one per operand, not chained) <
``+ -`` < ``* / %`` < unary minus < postfix (``.field``, ``."quoted"``, ``[i]``) < primaries.
The dialects differ only in class attributes (``SUPPORTS_INCLUDES``, ``RESERVED``, ...) and
method overrides (SQL adds ``CASE`` and ``MATCH ... AGAINST`` primaries), so the SQL parser is
a subclass and never an ``if dialect ==`` branch.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import fields, replace

from tracelake.query import ast
from tracelake.query.cursors import MAX_LIMIT
from tracelake.query.errors import QueryError
from tracelake.query.tokens import (
    DQUOTED,
    EOF,
    IDENT,
    KEYWORD,
    NEWLINE,
    NUMBER,
    PERCENT,
    SEP,
    STRING,
    Token,
)

COMPARISONS = {
    "=": "eq", "!=": "ne", "<>": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge",
    "<=>": "nulleq", "<!=>": "nullne",
}  # fmt: skip
ADDITIVE = {"+": "add", "-": "sub"}
MULTIPLICATIVE = {"*": "mul", "/": "div", "%": "mod"}
TEXT_MATCH = ("like", "ilike", "match")
INCLUDES_WORDS = ("includes", "contains")
PREDICATE_WORDS = ("is", "in", *TEXT_MATCH, *INCLUDES_WORDS)
SPAN_FILTERS = {"any_span": "singlespanfilter", "filter_spans": "matchingspansfilter"}
# Keywords that are also plain functions when a '(' follows: contains(array, value).
KEYWORD_FUNCTIONS = ("contains", "includes")
# Bare SQL-style niladic functions: `CURRENT_DATE - INTERVAL 1 DAY`.
NILADIC = ("current_date", "current_timestamp")
INTERVAL_UNITS = (
    "year", "month", "week", "day", "hour", "minute", "second", "millisecond", "microsecond",
)  # fmt: skip
SHAPES = ("spans", "traces", "summary")
# The cast function for each SQL type name (CAST(x AS int) and x::int are not BTQL).
CAST_FUNCTIONS = {
    **dict.fromkeys(
        ("int", "integer", "bigint", "smallint", "tinyint", "hugeint", "int2", "int4", "int8",
         "int16", "int32", "int64", "long", "ubigint", "uinteger"),
        "to_integer",
    ),
    **dict.fromkeys(
        ("double", "float", "float4", "float8", "real", "numeric", "decimal", "number"),
        "to_number",
    ),
    **dict.fromkeys(("varchar", "text", "string", "char", "str"), "to_string"),
    **dict.fromkeys(("bool", "boolean"), "to_boolean"),
    "date": "to_date",
    **dict.fromkeys(("timestamp", "timestamptz", "datetime"), "to_datetime"),
    "interval": "to_interval",
}  # fmt: skip
CAST_LIST = (
    "to_number(), to_integer(), to_string(), to_boolean(), to_date(), to_datetime(), to_interval()"
)
AGGREGATES = frozenset(
    {"count", "sum", "avg", "min", "max", "percentile", "any_value", "count_distinct"}
)


def loc(tok: Token) -> ast.Loc:
    return ast.Loc(tok.line, tok.col)


def double_colon(first: Token, second: Token) -> bool:
    """Whether two tokens spell ``::`` (SQL's cast operator)."""
    return first.is_op(":") and second.is_op(":") and second.pos == first.pos + 1


def double_bar(first: Token, second: Token) -> bool:
    """Whether two tokens spell ``||`` (SQL's string concatenation; in BTQL the parser has
    made both clause separators)."""
    return first.text == second.text == "|" and second.pos == first.pos + 1


CONCAT_OPERATOR = "'||' is not supported: write concat(a, b) to join strings"
# SQL's suffixes of a call (`count(*) FILTER (WHERE x)`, `… OVER (…)`), which BTQL lacks.
CALL_SUFFIXES = {
    "filter": "FILTER (WHERE …) is not supported: write count(x ? 1 : null) or sum(x ? 1 : 0)",
    "over": "window functions (OVER) are not supported",
}


def error_at(message: str, tok: Token | None) -> QueryError:
    if tok is None:
        return QueryError(message)
    return QueryError(message, tok.line, tok.col, tok.text or None)


def array(items: list[ast.Expr], at: ast.Loc | None) -> ast.Expr:
    """``[a, b]`` / ``IN (a, b)``: a literal list when every item is a literal (a negative
    number included). The tree has no array constructor, so other lists become the function
    ``array(...)``."""
    items = [_negative_literal(item) for item in items]
    if all(isinstance(item, ast.Literal) for item in items):
        locs = tuple(item.loc for item in items)
        return ast.Literal([item.value for item in items], loc=at, item_locs=locs)
    return ast.Function("array", tuple(items), loc=at)


def _negative_literal(item: ast.Expr) -> ast.Expr:
    """``-1`` in a list (the parser reads ``neg(1)``) as the literal -1."""
    if isinstance(item, ast.Unary) and item.op == "neg" and isinstance(item.expr, ast.Literal):
        value = item.expr.value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return ast.Literal(-value, loc=item.loc)
    return item


class ExpressionParser:
    """Parses expressions from a token list (NEWLINE tokens already removed)."""

    SUPPORTS_INCLUDES = True  # `tags INCLUDES 'x'`; SQL mode rejects it (btql.md §1.3)
    COMPARISON_WORDS: dict[str, str] = {}  # word aliases: `x gt 1`
    ARITHMETIC_WORDS: frozenset[str] = frozenset()  # `x add 1`, `neg x` (op names)
    RESERVED: frozenset[str] = frozenset()  # identifiers that end an expression (SQL clauses)
    MAX_DEPTH = 60

    def __init__(self, tokens: list[Token]):
        self.tokens = [t for t in tokens if t.kind != NEWLINE]
        self.i = 0
        self.depth = 0

    # --- token helpers ---------------------------------------------------------------------

    def peek(self, k: int = 0) -> Token:
        return self.tokens[min(self.i + k, len(self.tokens) - 1)]

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        if tok.kind != EOF:
            self.i += 1
        return tok

    @property
    def previous(self) -> Token | None:
        return self.tokens[self.i - 1] if self.i > 0 else None

    def describe_previous(self) -> str | None:
        prev = self.previous
        return None if prev is None else prev.describe()

    def accept_op(self, *ops: str) -> Token | None:
        return self.advance() if self.peek().is_op(*ops) else None

    def accept_kw(self, *words: str) -> Token | None:
        return self.advance() if self.peek().is_kw(*words) else None

    def accept_word(self, *words: str) -> Token | None:
        return self.advance() if self.peek().is_word(*words) else None

    def error(self, message: str, tok: Token | None = None) -> QueryError:
        return error_at(message, tok or self.peek())

    def expected(self, what: str, tok: Token | None = None) -> QueryError:
        """'expected X after 'prev', found Y'."""
        tok = tok or self.peek()
        prev = self.describe_previous()
        after = f" after {prev}" if prev is not None else ""
        return self.error(f"expected {what}{after}, found {tok.describe()}", tok)

    def expect_op(self, op: str, what: str | None = None) -> Token:
        if not self.peek().is_op(op):
            raise self.expected(what or f"'{op}'")
        return self.advance()

    def expect_word(self, *words: str) -> Token:
        tok = self.peek()
        if tok.word not in words:
            raise self.expected(" or ".join(w.upper() for w in words))
        return self.advance()

    def at_end(self) -> bool:
        return self.peek().kind in (EOF, SEP)

    def enter(self, tok: Token | None = None) -> None:
        self.depth += 1
        if self.depth > self.MAX_DEPTH:
            message = f"expression is nested more than {self.MAX_DEPTH} levels deep"
            raise self.error(message, tok)

    def starts_operand(self, tok: Token) -> bool:
        """Whether ``tok`` can begin an expression (used for word operators)."""
        if tok.kind in (NUMBER, PERCENT, STRING, DQUOTED):
            return True
        if tok.kind == IDENT:
            return tok.text.lower() not in self.RESERVED
        if tok.kind == KEYWORD:
            return tok.value in ("not", "null", "true", "false", "interval", "isnull", "isnotnull")
        return tok.is_op("(", "[", "-", "+")

    def starts_predicate(self, k: int) -> bool:
        """Whether the token at offset ``k`` begins a predicate operator."""
        tok = self.peek(k)
        if tok.is_op(*COMPARISONS) or tok.is_kw(*PREDICATE_WORDS):
            return True
        if tok.is_kw("not") and self.peek(k + 1).is_kw("in", *TEXT_MATCH, *INCLUDES_WORDS):
            return True
        return tok.kind == IDENT and tok.text.lower() in self.COMPARISON_WORDS

    # --- expressions -----------------------------------------------------------------------

    def parse_expr(self) -> ast.Expr:
        """ternary := or_expr [ '?' expr ':' expr ]"""
        self.enter()
        try:
            cond = self.parse_or()
            if not self.accept_op("?"):
                return cond
            then = self.parse_expr()
            self.expect_op(":", "':' to complete the conditional (cond ? a : b)")
            other = self.parse_expr()
        finally:
            self.depth -= 1
        conds = ((cond, then),)
        if isinstance(other, ast.If):  # a ? x : b ? y : z  ->  one If with two conds
            return ast.If(conds + other.conds, other.else_, loc=cond.loc)
        return ast.If(conds, other, loc=cond.loc)

    def parse_or(self) -> ast.Expr:
        return self._logical("or", self.parse_and)

    def parse_and(self) -> ast.Expr:
        return self._logical("and", self.parse_not)

    def _logical(self, word: str, operand) -> ast.Expr:
        first = operand()
        children = [first]
        while self.accept_kw(word):
            children.append(operand())
        if len(children) == 1:
            return first
        return ast.Logical(word, tuple(children), loc=first.loc)

    def parse_not(self) -> ast.Expr:
        tok = self.accept_kw("not")
        if tok is None:
            return self.parse_predicate()
        self.enter(tok)
        try:
            return ast.Unary("not", self.parse_not(), loc=loc(tok))
        finally:
            self.depth -= 1

    def parse_predicate(self) -> ast.Expr:
        start = self.i
        left = self.parse_additive()
        end = self.i
        node = self._predicate(start, left)
        if self.i != end and (self.starts_predicate(0) or self.peek().is_word("between")):
            # `1 < x < 3`: the error said to separate clauses with '|' (SQL: 'at the end of
            # the query')
            raise self.error(
                f"'{self.peek().text}' cannot follow a comparison: comparisons do not chain "
                "(write a < b and b < c, or (a = b) = c)"
            )
        return node

    def _predicate(self, start: int, left: ast.Expr) -> ast.Expr:
        tok = self.peek()
        at = left.loc
        k = 1 if tok.is_kw("not") else 0
        if self.peek(k).is_word("between") and self.starts_operand(self.peek(k + 1)):
            raise self.between_error(start)
        if tok.is_op(*COMPARISONS):
            self.advance()
            return ast.Binary(COMPARISONS[tok.text], left, self.parse_additive(), loc=at)
        if tok.kind == IDENT and tok.text.lower() in self.COMPARISON_WORDS:
            if self.starts_operand(self.peek(1)):
                self.advance()
                op = self.COMPARISON_WORDS[tok.text.lower()]
                return ast.Binary(op, left, self.parse_additive(), loc=at)
        if tok.is_kw("is"):
            self.advance()
            negate = self.accept_kw("not") is not None
            if self.accept_kw("null"):
                return ast.Unary("isnotnull" if negate else "isnull", left, loc=at)
            if self.peek().word == "distinct" and self.peek(1).word == "from":
                # (it read "expected an expression after 'IS', found 'DISTINCT'")
                instead = "<=>" if negate else "<!=>"
                what = "IS NOT DISTINCT FROM" if negate else "IS DISTINCT FROM"
                raise self.error(f"BTQL has no {what}: write a {instead} b", self.peek())
            node: ast.Expr = ast.Binary("is", left, self.parse_additive(), loc=at)
            return ast.Unary("not", node, loc=at) if negate else node
        negate = False
        if tok.is_kw("not") and self.peek(1).is_kw("in", *TEXT_MATCH, *INCLUDES_WORDS):
            self.advance()
            negate = True
            tok = self.peek()
        if tok.is_kw("in"):
            self.advance()
            node = ast.Binary("in", left, self.parse_in_list(), loc=at)
        elif tok.is_kw(*TEXT_MATCH):
            self.advance()
            node = ast.Binary(tok.value, left, self.parse_additive(), loc=at)
            if self.peek().is_word("escape") and self.peek(1).kind == STRING:
                raise self.error(
                    "ESCAPE is not supported: '\\' escapes '%' and '_' in a LIKE pattern "
                    "('50\\% off')"
                )
        elif tok.is_kw(*INCLUDES_WORDS):
            if not self.SUPPORTS_INCLUDES:
                raise self.error(
                    f"{tok.text.upper()} is not supported in SQL mode; use IN for array "
                    "membership (tags IN ('value')) or write the query in BTQL",
                    tok,
                )
            self.advance()
            node = ast.Includes(left, self.parse_additive(), loc=at)
        else:
            return left
        return ast.Unary("not", node, loc=at) if negate else node

    def between_error(self, start: int) -> QueryError:
        """``x [NOT] BETWEEN a AND b`` (at the cursor, ``x`` from token ``start``): BTQL has
        no BETWEEN; the error, at BETWEEN, spells the comparisons to write instead."""
        subject = self.source_text(start, self.i)
        negate = self.accept_kw("not") is not None
        between = self.advance()
        try:
            low_start = self.i
            self.parse_additive()
            low = self.source_text(low_start, self.i)
            and_tok = self.expect_word("and")
            high_start = self.i
            self.parse_additive()
            high = self.source_text(high_start, self.i)
        except QueryError:
            low, high, and_tok = "low", "high", None
        word = and_tok.text if and_tok is not None else "AND"
        if negate:
            either = "OR" if word.isupper() else "or"
            instead = f"{subject} < {low} {either} {subject} > {high}"
        else:
            instead = f"{subject} >= {low} {word} {subject} <= {high}"
        what = "NOT BETWEEN" if negate else "BETWEEN"
        return self.error(f"BTQL has no {what}: write {instead}", between)

    def cast_error(self, at: Token, start: int, end: int, type_tok: Token, what: str):
        """SQL's casts (``CAST(x AS int)``, ``x::int``; ``x`` is tokens ``start``…``end - 1``,
        ``type_tok`` the type's first word and ``what`` the construct, ``{}`` standing for
        the type): an error at ``at`` naming the BTQL cast function to write instead."""
        word = type_tok.word
        what = what.format(type_tok.text if word else "type")
        function = CAST_FUNCTIONS.get(word or "")
        if function is None:
            return self.error(f"{what} is not supported; use a cast function: {CAST_LIST}", at)
        if self.tokens[start].is_op("(") and self.closing(start) == end - 1:
            start, end = start + 1, end - 1  # (x + 1)::int -> to_integer(x + 1)
        instead = f"{function}({self.source_text(start, end)})"
        return self.error(f"{what} is not supported; write {instead}", at)

    def closing(self, open_index: int) -> int | None:
        """The index of the token that closes the bracket at ``open_index``."""
        depth = 0
        for index in range(open_index, len(self.tokens)):
            tok = self.tokens[index]
            if tok.is_op("(", "["):
                depth += 1
            elif tok.is_op(")", "]"):
                depth -= 1
                if depth == 0:
                    return index
        return None

    def source_text(self, start: int, end: int) -> str:
        """The text of tokens ``start``…``end - 1`` as written, runs of space between them
        (line breaks too) as one space."""
        out = ""
        previous = None
        for tok in self.tokens[start:end]:
            if previous is not None and previous.pos + len(previous.text) < tok.pos:
                out += " "
            out += tok.text
            previous = tok
        return out

    def parse_in_list(self) -> ast.Expr:
        """IN ( a, b ) | IN [ a, b ] | IN expr"""
        tok = self.peek()
        if tok.is_op("(", "["):
            return self.parse_list(tok)
        return self.parse_additive()

    def parse_list(self, open_tok: Token) -> ast.Expr:
        self.advance()
        if self.peek().is_word("select"):
            raise self.error("subqueries are not supported")
        close = ")" if open_tok.text == "(" else "]"
        items: list[ast.Expr] = []
        if not self.peek().is_op(close):
            items.append(self.parse_expr())
            while self.accept_op(","):
                items.append(self.parse_expr())
        self.expect_op(close, f"',' or '{close}'")
        return array(items, loc(open_tok))

    def parse_additive(self) -> ast.Expr:
        left = self.parse_multiplicative()
        while (op := self.accept_arithmetic(ADDITIVE)) is not None:
            left = ast.Binary(op, left, self.parse_multiplicative(), loc=left.loc)
        return left

    def parse_multiplicative(self) -> ast.Expr:
        left = self.parse_unary()
        while (op := self.accept_arithmetic(MULTIPLICATIVE)) is not None:
            left = ast.Binary(op, left, self.parse_unary(), loc=left.loc)
        return left

    def accept_arithmetic(self, symbols: dict[str, str]) -> str | None:
        """The operator of ``symbols`` at the cursor, consumed: its symbol, or its name as a
        word where the dialect takes one and an operand follows (``x add 1``)."""
        tok = self.peek()
        if tok.is_op(*symbols):
            return symbols[self.advance().text]
        word = tok.text.lower() if tok.kind == IDENT else None
        if word in self.ARITHMETIC_WORDS and word in symbols.values():
            if self.starts_operand(self.peek(1)):
                self.advance()
                return word
        return None

    def parse_unary(self) -> ast.Expr:
        tok = self.peek()
        neg_word = (
            tok.kind == IDENT
            and tok.text.lower() == "neg"
            and "neg" in self.ARITHMETIC_WORDS
            and self.starts_operand(self.peek(1))
            and not self.peek(1).is_op("-", "+")  # (`neg - 1`: a field named neg)
        )
        if tok.is_op("-", "+") or neg_word:
            self.advance()
            self.enter(tok)
            try:
                operand = self.parse_unary()
            finally:
                self.depth -= 1
            return ast.Unary("neg", operand, loc=loc(tok)) if tok.text != "+" else operand
        return self.parse_postfix()

    def parse_postfix(self) -> ast.Expr:
        start = self.i
        base = self.parse_primary()
        while True:
            tok = self.peek()
            if double_colon(tok, self.peek(1)):
                raise self.cast_error(tok, start, self.i, self.peek(2), "the cast '::{}'")
            if tok.is_op("."):
                self.advance()
                seg = self.peek()
                if seg.kind in (IDENT, KEYWORD):
                    segment: str | int = seg.text
                elif seg.kind == DQUOTED:
                    segment = seg.value  # type: ignore[assignment]
                else:
                    raise self.expected("a field name")
                self.advance()
            elif tok.is_op("["):
                self.advance()
                segment = self.parse_index()
                self.expect_op("]")
            else:
                return base
            if not isinstance(base, ast.Ident):
                raise self.error("'.' and '[...]' apply only to field paths", tok)
            base = ast.Ident((*base.name, segment), loc=base.loc)

    def parse_index(self) -> str | int:
        tok = self.peek()
        sign = 1
        if tok.is_op("-"):
            self.advance()
            sign = -1
        num = self.peek()
        if num.kind == NUMBER and isinstance(num.value, int):
            self.advance()
            return sign * num.value
        if sign == 1 and num.kind in (STRING, DQUOTED):
            self.advance()
            return num.value  # type: ignore[return-value]
        raise self.expected("an integer index")

    def parse_primary(self) -> ast.Expr:
        tok = self.peek()
        at = loc(tok)
        if tok.kind in (NUMBER, PERCENT, STRING):
            self.advance()
            return ast.Literal(tok.value, loc=at)
        if tok.kind == DQUOTED:
            self.advance()
            # A field when a path continues or a predicate follows; a string otherwise.
            if self.peek().is_op(".", "[") or self.starts_predicate(0):
                return ast.Ident((tok.value,), loc=at)  # type: ignore[arg-type]
            return ast.Literal(tok.value, loc=at)
        if tok.kind == KEYWORD:
            return self.parse_keyword(tok)
        if tok.kind == IDENT:
            word = tok.text.lower()
            if word in self.RESERVED:
                raise self.expected("an expression")
            if self.peek(1).is_op("("):
                self.advance()
                return self.parse_call(tok)
            self.advance()
            if word in NILADIC:
                return ast.Function(word, loc=at)
            return ast.Ident((tok.text,), loc=at)
        if tok.is_op("("):
            self.advance()
            if self.peek().is_word("select"):
                raise self.error("subqueries are not supported")
            inner = self.parse_expr()
            self.expect_op(")", "')'")
            return inner
        if tok.is_op("["):
            return self.parse_list(tok)
        raise self.expected("an expression")

    def parse_keyword(self, tok: Token) -> ast.Expr:
        at = loc(tok)
        word = tok.value
        if word in ("true", "false", "null"):
            self.advance()
            return ast.Literal({"true": True, "false": False, "null": None}[word], loc=at)
        if word == "interval":
            self.advance()
            return self.parse_interval(at)
        if word in ("isnull", "isnotnull"):
            self.advance()
            self.enter(tok)
            try:
                return ast.Unary(word, self.parse_unary(), loc=at)  # type: ignore[arg-type]
            finally:
                self.depth -= 1
        if word in KEYWORD_FUNCTIONS and self.peek(1).is_op("("):
            self.advance()
            return self.parse_call(tok)
        raise self.expected("an expression")

    def parse_interval(self, at: ast.Loc) -> ast.Expr:
        num = self.peek()
        if num.kind != NUMBER or not isinstance(num.value, int):
            raise self.expected("a whole number (interval 7 day)")
        self.advance()
        unit_tok = self.peek()
        unit = (unit_tok.word or "").lower()
        if unit not in INTERVAL_UNITS and unit.endswith("s") and unit[:-1] in INTERVAL_UNITS:
            unit = unit[:-1]
        if unit not in INTERVAL_UNITS:
            raise self.expected(f"an interval unit ({', '.join(INTERVAL_UNITS)})")
        self.advance()
        return ast.Interval(num.value, unit, loc=at)

    def parse_call(self, name_tok: Token) -> ast.Expr:
        """name ( [DISTINCT] arg, ... ) with arg := * | name => expr | expr."""
        name = name_tok.text.lower()
        at = loc(name_tok)
        self.expect_op("(")
        distinct = self.accept_kw("distinct") is not None
        args: list[ast.Expr] = []
        named: list[tuple[str, ast.Expr]] = []
        named_locs: list[ast.Loc] = []
        if not self.peek().is_op(")"):
            while True:
                tok = self.peek()
                if tok.is_op("*") and self.peek(1).is_op(")", ","):
                    self.advance()
                    args.append(ast.Star(loc=loc(tok)))
                elif tok.kind in (IDENT, KEYWORD) and self.peek(1).is_op("=>"):
                    self.advance()
                    self.advance()
                    if any(key == tok.text.lower() for key, _ in named):
                        raise self.error(f"duplicate argument '{tok.text}'", tok)
                    named.append((tok.text.lower(), self.parse_expr()))
                    named_locs.append(loc(tok))
                else:
                    start = self.i
                    args.append(self.parse_expr())
                    if name in ("cast", "try_cast") and self.peek().is_kw("as"):
                        what = name_tok.text.upper() + "(… AS {})"
                        raise self.cast_error(name_tok, start, self.i, self.peek(1), what)
                if not self.accept_op(","):
                    break
        self.expect_op(")", "',' or ')'")
        after = self.peek()
        if after.word in CALL_SUFFIXES and self.peek(1).is_op("("):  # (not an alias)
            raise self.error(CALL_SUFFIXES[after.word], after)
        if name in SPAN_FILTERS:
            if distinct or named or len(args) != 1 or isinstance(args[0], ast.Star):
                raise self.error(f"{name.upper()} takes exactly one expression", name_tok)
            return ast.SpanFilter(SPAN_FILTERS[name], args[0], loc=at)
        return ast.Function(
            name, tuple(args), distinct, tuple(named), loc=at, named_locs=tuple(named_locs)
        )

    # --- pieces of select lists --------------------------------------------------------------

    def parse_alias(self) -> str:
        """The name after AS: a word (keywords allowed) or a double-quoted name."""
        tok = self.peek()
        if tok.kind in (IDENT, KEYWORD):
            self.advance()
            return tok.text
        if tok.kind in (DQUOTED, STRING):
            if not tok.value:
                raise self.error("a column name cannot be empty", tok)
            self.advance()
            return tok.value  # type: ignore[return-value]
        raise self.expected("an alias name")

    def parse_int(self, what: str, allow_negative: bool = False) -> int:
        tok = self.peek()
        sign = -1 if allow_negative and self.accept_op("-") else 1
        num = self.peek()
        if num.kind != NUMBER or not isinstance(num.value, int):
            raise self.expected(what, num if sign == -1 else tok)
        self.advance()
        return sign * num.value

    def parse_limit(self) -> int:
        """A page size: a whole number, at most MAX_LIMIT."""
        tok = self.peek()
        value = self.parse_int("a whole number")
        if value > MAX_LIMIT:
            raise self.error(f"limit must be at most {MAX_LIMIT}", tok)
        return value

    def parse_source(self) -> ast.Source:
        """name | name(arg, ..., [shape => 'traces'])"""
        tok = self.peek()
        if tok.kind != IDENT:
            raise self.expected("a data source such as project_logs('<id>')")
        self.advance()
        if not self.peek().is_op("("):
            return ast.Source(tok.text.lower(), loc=loc(tok))
        call = self.parse_call(tok)
        if not isinstance(call, ast.Function) or call.distinct:
            raise self.error(f"'{tok.text}' is not a data source", tok)
        if any(isinstance(arg, ast.Star) for arg in call.args):
            raise self.error("'*' is not a data source argument", tok)
        shape = None
        for index, (key, value) in enumerate(call.named):
            if key != "shape":
                message = f"unknown data source argument '{key}' (only shape =>)"
                raise QueryError.at(message, call.named_at(index))
            word = value.value if isinstance(value, ast.Literal) else None
            if not isinstance(word, str) or word.lower() not in SHAPES:
                raise error_loc("shape must be 'spans', 'traces' or 'summary'", value)
            shape = word.lower()  # (as the bare word after the source: TRACES too)
        return ast.Source(call.name, call.args, shape, loc(tok))

    def expect_end(self) -> None:
        if self.peek().kind != EOF:
            if double_bar(self.peek(), self.peek(1)):
                raise self.error(CONCAT_OPERATOR)
            raise self.error(f"unexpected {self.peek().describe()} after the expression")


# --- select-list rules shared by BTQL and SQL -----------------------------------------------


def children(expr: ast.Expr):
    """The direct sub-expressions of a node."""
    for f in fields(expr):
        value = getattr(expr, f.name)
        if isinstance(value, ast.Expr):
            yield value
        elif isinstance(value, tuple):
            for item in value:
                if isinstance(item, ast.Expr):
                    yield item
                elif isinstance(item, tuple):
                    yield from (x for x in item if isinstance(x, ast.Expr))


def has_aggregate(expr: ast.Expr) -> bool:
    if isinstance(expr, ast.Function) and expr.name in AGGREGATES:
        return True
    return any(has_aggregate(child) for child in children(expr))


def _plain_name(expr: ast.Expr) -> str | None:
    """`created` -> 'created'; anything else -> None."""
    if isinstance(expr, ast.Ident) and len(expr.name) == 1 and isinstance(expr.name[0], str):
        return expr.name[0]
    return None


def _short_name(expr: ast.Expr) -> str | None:
    """`metadata.model` -> 'model' (the implicit alias of a multi-part path)."""
    if isinstance(expr, ast.Ident) and len(expr.name) > 1 and isinstance(expr.name[-1], str):
        return expr.name[-1] or None  # metadata."" has no short name
    return None


def output_name(item: ast.Aliased) -> str | None:
    return item.alias if item.alias is not None else _plain_name(item.expr)


def apply_implicit_aliases(items: list) -> list:
    """btql.md §4.12: a multi-part path gets its last segment as alias when that name is
    unambiguous. A top-level field or an explicit alias of the same name wins (the path keeps
    no alias); two paths with the same last segment are ambiguous (neither gets one).
    Duplicate explicit names (``SELECT id, user.number AS id``) are an error."""
    taken: Counter[str] = Counter()
    for item in items:
        if isinstance(item, ast.Aliased) and (name := output_name(item)) is not None:
            taken[name] += 1
            if taken[name] > 1:
                raise error_loc(f"duplicate column name '{name}' in the select list", item.expr)
    shorts = Counter(
        _short_name(i.expr) for i in items if isinstance(i, ast.Aliased) and i.alias is None
    )
    out = []
    for item in items:
        if isinstance(item, ast.Aliased) and item.alias is None:
            short = _short_name(item.expr)
            if short is not None and shorts[short] == 1 and short not in taken:
                item = replace(item, alias=short)
        out.append(item)
    return out


def pivot_column_named(select: list, column: ast.Aliased) -> ast.Aliased:
    """A pivot column may be named by the name of a select item (``span_attributes.type AS
    t`` or, implicitly, ``type``), grouped or not: ``PIVOT (… FOR t IN (ANY))``, ``pivot:
    t``. The pivot column is then that item's expression."""
    for item in select:
        if (
            isinstance(item, ast.Aliased)
            and item.alias is not None
            and column.expr == ast.Ident((item.alias,))
            and not has_aggregate(item.expr)
        ):
            return ast.Aliased(item.expr, column.alias)
    return column


def error_loc(message: str, expr: ast.Expr | None) -> QueryError:
    return QueryError.at(message, expr)


def group_select(
    select: list,
    group_by: list[ast.Expr],
    pivot_measures: list[ast.Aliased] = (),  # type: ignore[assignment]
    pivot_columns: list[ast.Aliased] = (),  # type: ignore[assignment]
) -> tuple[tuple[ast.Aliased, ...] | None, tuple[ast.Aliased, ...]]:
    """Split a select list that aggregates into (dimensions, measures), the way SQL's
    ``GROUP BY`` (and BTQL's ``select`` + ``dimensions: 1, 2``) mean it.

    A group item is a 1-based position in the select list, a select alias, or an expression
    (the matching select item supplies its alias). The grouped select items are the
    dimensions in the select list's order, whatever the order of the group items (``SELECT
    id, input … GROUP BY 2, 1`` answers ``id`` then ``input``), then the group items the
    select list does not hold, in their order. Items holding an aggregate call are
    measures; PIVOT aggregates that the select list does not repeat are appended. A plain
    item that is neither grouped nor the pivot column is an error, as in SQL."""
    unselected: list[ast.Aliased] = []
    used: set[int] = set()
    for expr in group_by:
        index = _resolve_group_item(select, expr)
        if index is not None and has_aggregate(select[index].expr):
            raise error_loc("cannot group by an aggregate", expr)
        if index is None:
            unselected.extend(apply_implicit_aliases([ast.Aliased(expr)]))
        else:
            used.add(index)
    dims = [select[index] for index in sorted(used)] + unselected
    measures: list[ast.Aliased] = []
    for index, item in enumerate(select):
        if index not in used and isinstance(item, ast.Aliased) and has_aggregate(item.expr):
            measures.append(item)
    for agg in pivot_measures:
        same = [i for i, m in enumerate(measures) if m.expr == agg.expr]
        if not same:
            measures.append(agg)
        elif measures[same[0]].alias is None and agg.alias is not None:
            measures[same[0]] = agg
    exempt = {m.alias for m in measures if m.alias} | {p.alias for p in pivot_columns if p.alias}
    pivot_exprs = [p.expr for p in pivot_columns]
    for index, item in enumerate(select):
        if index in used or (isinstance(item, ast.Aliased) and has_aggregate(item.expr)):
            continue
        if isinstance(item, ast.Star):
            if pivot_columns:
                continue
            raise error_loc("'*' cannot be combined with aggregates or GROUP BY", item)
        if item.expr in pivot_exprs or _plain_name(item.expr) in exempt:
            continue
        name = output_name(item) or item.alias or "expression"
        raise error_loc(
            f"'{name}' must appear in GROUP BY (dimensions) or inside an aggregate function",
            item.expr,
        )
    return (tuple(dims) or None), tuple(measures)


def any_span_flattened(query: ast.Query) -> ast.Query:
    """One level of ANY_SPAN nesting is flattened (btql.md §4.1): ``ANY_SPAN(a AND ANY_SPAN(b))``
    is ``ANY_SPAN(a) AND ANY_SPAN(b)`` (the inner one holds on every span of the trace or on
    none). Deeper nesting, a span filter under OR/NOT inside ANY_SPAN, and
    ``ANY_SPAN(ANY_SPAN(a) AND ANY_SPAN(b))`` are errors, as in Braintrust."""
    changes = {
        name: _flatten(getattr(query, name))
        for name in ("filter", "span_filter", "trace_filter")
        if getattr(query, name) is not None
    }
    return replace(query, **changes)


def _flatten(node: ast.Expr) -> ast.Expr:
    if not _has_span_filter(node):
        return node
    changes = {}
    for f in fields(node):
        value = getattr(node, f.name)
        if isinstance(value, ast.Expr):
            changes[f.name] = _flatten(value)
        elif isinstance(value, tuple) and all(isinstance(v, ast.Expr) for v in value):
            changes[f.name] = tuple(_flatten(v) for v in value)
    node = replace(node, **changes)
    if not (isinstance(node, ast.SpanFilter) and node.op == "singlespanfilter"):
        return node
    terms = node.expr.children if _is_and(node.expr) else (node.expr,)
    inner = [t for t in terms if isinstance(t, ast.SpanFilter) and t.op == "singlespanfilter"]
    rest = [t for t in terms if t not in inner]
    for term in [*rest, *(t.expr for t in inner)]:
        nested = _first_span_filter(term)
        if nested is not None:
            raise error_loc(
                "a span filter inside ANY_SPAN(...) is supported only one level deep and "
                "joined by AND: ANY_SPAN(a AND ANY_SPAN(b))",
                nested,
            )
    if not inner:
        return node
    if not rest:
        raise error_loc(
            "ANY_SPAN(ANY_SPAN(a) AND ANY_SPAN(b)) is not supported; write "
            "ANY_SPAN(a) AND ANY_SPAN(b)",
            node,
        )
    outer = rest[0] if len(rest) == 1 else ast.Logical("and", tuple(rest), loc=node.expr.loc)
    return ast.Logical("and", (replace(node, expr=outer), *inner), loc=node.loc)


def _is_and(node: ast.Expr) -> bool:
    return isinstance(node, ast.Logical) and node.op == "and"


def _has_span_filter(node: ast.Expr) -> bool:
    return _first_span_filter(node) is not None


def _first_span_filter(node: ast.Expr) -> ast.SpanFilter | None:
    if isinstance(node, ast.SpanFilter):
        return node
    return next((f for c in children(node) if (f := _first_span_filter(c)) is not None), None)


def pivot_dimensions_dropped(query: ast.Query) -> ast.Query:
    """A dimension that is also the pivot column is not a dimension: its values become
    column names instead (``GROUP BY day(created), type PIVOT (... FOR type IN (ANY))``
    gives one row per day, btql.md §4.4). A pivot that names a dimension by its alias
    takes that dimension's expression."""
    if not query.pivot or not query.dimensions:
        return query
    pivot = list(query.pivot)
    dims = []
    for dim in query.dimensions:
        for i, column in enumerate(pivot):
            if column.expr == dim.expr:
                break
            if dim.alias is not None and column.expr == ast.Ident((dim.alias,)):
                pivot[i] = ast.Aliased(dim.expr, column.alias)
                break
        else:
            dims.append(dim)
    return replace(query, dimensions=tuple(dims) or None, pivot=tuple(pivot))


def _resolve_group_item(select: list, expr: ast.Expr) -> int | None:
    if isinstance(expr, ast.Literal) and type(expr.value) is int:
        position = expr.value
        if not 1 <= position <= len(select) or isinstance(select[position - 1], ast.Star):
            raise error_loc(f"GROUP BY position {position} is not in the select list", expr)
        return position - 1
    name = _plain_name(expr)
    items = [(i, it) for i, it in enumerate(select) if isinstance(it, ast.Aliased)]
    if name is not None:
        for index, item in items:
            if item.alias == name:
                return index
    for index, item in items:
        if item.expr == expr:
            return index
    return None
