"""BTQL clause text (``select: * | from: project_logs('p') | filter: ...``) to ``ast.Query``.

Clauses come in any order, each at most once, separated by ``|`` or by a newline that starts a
new ``word:`` clause (so expressions may span lines freely). Clause bodies reuse the shared
expression grammar. Decisions on open points (btql.md §4.3, §7, §8):

* ``sample: 25%`` and ``sample: 0.25`` are rates (a percent, or a number with a fraction, in
  [0, 1]); ``sample: 100`` (a whole number) is a row count; ``seed N`` may follow either, N
  any whole number, negative too, as the JSON AST's ``seed`` (an int) takes.
* ``select:`` + ``dimensions: 1, 2`` (ordinals, aliases or expressions naming select items)
  groups like SQL's ``GROUP BY``: grouped items become dimensions and aggregate items measures.
* Multi-part paths in ``select:``, ``dimensions:`` and ``pivot:`` get their last segment as
  alias when unambiguous (btql.md §4.12), exactly like SQL, so both syntaxes give one tree.
* ``eq ne lt le gt ge`` work as infix comparison words (``x gt 1``), since after an operand a
  bare word has no other meaning in BTQL. Arithmetic words (``add`` ...) do not.
"""

from __future__ import annotations

import difflib

from tracelake.query import ast
from tracelake.query.errors import QueryError
from tracelake.query.parsers.expressions import (
    CONCAT_OPERATOR,
    SHAPES,
    ExpressionParser,
    apply_implicit_aliases,
    double_bar,
    double_colon,
    error_loc,
    group_select,
    loc,
    pivot_column_named,
)
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
    tokenize,
)

# Braintrust clauses our tree does not model: rejected by name rather than "unknown".
UNSUPPORTED_CLAUSES = (
    "infer", "comparison_key", "weighted_scores", "custom_columns", "inference_budget",
    "final_dimensions", "final_measures",
)  # fmt: skip


def split_clauses(tokens: list[Token]) -> list[Token]:
    """Turn '|' and clause-starting newlines into SEP tokens and drop every other newline.

    A newline starts a clause when the next line begins with ``word:`` outside brackets and
    outside an unfinished ``cond ? a : b`` (whose ':' could otherwise look like a clause)."""
    out: list[Token] = []
    depth = pending = 0
    at_clause_start = True
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.kind == NEWLINE:
            j = i + 1
            while tokens[j].kind == NEWLINE:
                j += 1
            nxt = tokens[j]
            if (
                not at_clause_start
                and depth == 0
                and pending == 0
                and nxt.kind in (IDENT, KEYWORD)
                and tokens[j + 1].is_op(":")
                and not double_colon(tokens[j + 1], tokens[j + 2])  # (x::int is a cast)
            ):
                out.append(Token(SEP, "\n", "\n", tok.line, tok.col, tok.pos))
                at_clause_start = True
            i = j
            continue
        if tok.is_op("|"):
            out.append(Token(SEP, "|", "|", tok.line, tok.col, tok.pos))
            at_clause_start = True
            depth = pending = 0
            i += 1
            continue
        if (
            at_clause_start
            and tok.kind in (IDENT, KEYWORD)
            and tokens[i + 1].is_op(":")
            and not double_colon(tokens[i + 1], tokens[i + 2])
        ):
            out += tokens[i : i + 2]
            at_clause_start = False
            depth = pending = 0
            i += 2
            continue
        at_clause_start = False
        if tok.is_op("(", "["):
            depth += 1
        elif tok.is_op(")", "]"):
            depth = max(0, depth - 1)
        elif tok.is_op("?"):
            pending += 1
        elif tok.is_op(":"):
            pending = max(0, pending - 1)
        out.append(tok)
        i += 1
    return out


class BtqlParser(ExpressionParser):
    """BTQL: clause text and expression snippets."""

    COMPARISON_WORDS = {w: w for w in ("eq", "ne", "lt", "le", "gt", "ge")}
    ARITHMETIC_WORDS = frozenset({"add", "sub", "mul", "div", "mod", "neg"})

    # clause name -> (method, what its body must start with, for error messages)
    CLAUSES = {
        "select": ("clause_select", "'*' or an expression"),
        "dimensions": ("clause_aliased", "an expression"),
        "measures": ("clause_aliased", "an expression"),
        "pivot": ("clause_aliased", "an expression"),
        "unpivot": ("clause_unpivot", "an expression"),
        "from": ("clause_from", "a data source such as project_logs('<id>')"),
        "filter": ("clause_filter", "an expression"),
        "span_filter": ("clause_filter", "an expression"),
        "trace_filter": ("clause_filter", "an expression"),
        "final_filter": ("clause_filter", "an expression"),
        "sort": ("clause_sort", "an expression"),
        "limit": ("clause_limit", "a whole number"),
        "cursor": ("clause_cursor", "a quoted cursor token"),
        "sample": ("clause_sample", "a rate (25%, 0.25) or a row count (100)"),
        "preview_length": ("clause_preview_length", "a whole number"),
    }

    def describe_previous(self) -> str | None:
        # Right after a clause head, name the clause: "after 'limit:'" rather than "after ':'".
        if self.i >= 2 and self.previous.is_op(":"):
            head = self.tokens[self.i - 2]
            if head.text.lower() in self.CLAUSES and (
                self.i == 2 or self.tokens[self.i - 3].kind == SEP
            ):
                return f"'{head.text}:'"
        return super().describe_previous()

    def parse_query(self) -> ast.Query:
        found: dict[str, object] = {}
        heads: dict[str, Token] = {}
        if self.peek().kind == EOF:
            raise QueryError("empty query: expected a clause such as 'select: *'")
        while True:
            head = self.peek()
            if head.kind not in (IDENT, KEYWORD) or not self.peek(1).is_op(":"):
                after = self.peek(1)  # (`|| limit: 1` is a doubled separator)
                clause = after.kind in (IDENT, KEYWORD) and self.peek(2).is_op(":")
                if self.previous is not None and double_bar(self.previous, head) and not clause:
                    raise self.error(CONCAT_OPERATOR, self.previous)
                raise self.error(
                    f"expected a clause such as 'select:' or 'filter:', found {head.describe()}"
                )
            name = head.text.lower()
            if name not in self.CLAUSES:
                if name in UNSUPPORTED_CLAUSES:
                    raise self.error(f"the '{name}' clause is not supported", head)
                close = difflib.get_close_matches(name, self.CLAUSES, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise self.error(f"unknown clause '{head.text}'{hint}", head)
            if name in found:
                raise self.error(f"duplicate clause '{name}'", head)
            self.advance()
            self.advance()
            method, what = self.CLAUSES[name]
            if self.at_end():
                raise self.expected(what)
            found[name] = getattr(self, method)()
            heads[name] = head
            tok = self.peek()
            if tok.kind == EOF:
                break
            if tok.kind != SEP:
                raise self.error(
                    f"unexpected {tok.describe()} in the {name} clause "
                    "(clauses are separated by '|' or a new line)"
                )
            self.advance()
            if self.peek().kind == EOF:
                raise self.error("expected a clause after '|', found end of input")
        return build_query(found, heads, getattr(self, "cursor_at", None))

    # --- clause bodies -----------------------------------------------------------------------

    def comma_list(self, item) -> list:
        items = [item()]
        while self.accept_op(","):
            items.append(item())
        return items

    def clause_select(self) -> list:
        return self.comma_list(self.select_item)

    def select_item(self) -> ast.Aliased | ast.Star:
        tok = self.peek()
        if tok.is_op("*"):
            self.advance()
            return ast.Star(loc=loc(tok))
        return self.aliased_item()

    def aliased_item(self) -> ast.Aliased:
        expr = self.parse_expr()
        return ast.Aliased(expr, self.parse_alias() if self.accept_kw("as") else None)

    def clause_aliased(self) -> list[ast.Aliased]:
        return self.comma_list(self.aliased_item)

    def clause_unpivot(self) -> list[ast.Unpivot]:
        return self.comma_list(self.unpivot_item)

    def unpivot_item(self) -> ast.Unpivot:
        expr = self.parse_expr()
        if not self.accept_kw("as"):
            raise self.expected("AS (key, value) or AS name")
        if self.accept_op("("):
            key = self.parse_alias()
            self.expect_op(",", "',' between the key and value names")
            value = self.parse_alias()
            self.expect_op(")")
            return ast.Unpivot(expr, (key, value))
        return ast.Unpivot(expr, self.parse_alias())

    def clause_from(self) -> ast.Source:
        source = self.parse_source()
        shape_tok = self.peek()
        if shape_tok.kind == IDENT and not self.at_end():
            if shape_tok.text.lower() not in SHAPES:
                raise self.expected("spans, traces or summary")
            if source.shape is not None:
                raise self.error("the shape is given twice", shape_tok)
            self.advance()
            source = ast.Source(source.name, source.args, shape_tok.text.lower(), source.loc)
        return source

    def clause_filter(self) -> ast.Expr:
        return self.parse_expr()

    def clause_sort(self) -> list[ast.SortItem]:
        return self.comma_list(self.sort_item)

    def sort_item(self) -> ast.SortItem:
        expr = self.parse_expr()
        direction = self.accept_kw("asc", "desc")
        return ast.SortItem(expr, direction.value if direction else "asc")  # type: ignore[arg-type]

    def clause_limit(self) -> int:
        return self.parse_limit()

    def clause_preview_length(self) -> int:
        return self.parse_int("a whole number", allow_negative=True)

    def clause_cursor(self) -> str:
        tok = self.peek()
        if tok.kind not in (STRING, DQUOTED):
            raise self.expected("a quoted cursor token")
        self.advance()
        self.cursor_at = loc(tok)  # (the planner decodes it; a bad one is an error here)
        return tok.value  # type: ignore[return-value]

    def clause_sample(self) -> ast.Sample:
        tok = self.peek()
        if tok.kind == PERCENT or (tok.kind == NUMBER and isinstance(tok.value, float)):
            if not 0 <= tok.value <= 1:  # type: ignore[operator]
                raise self.error(f"sample rate must be between 0% and 100%, got {tok.text}", tok)
            sample = ast.Sample("rate", tok.value)  # type: ignore[arg-type]
        elif tok.kind == NUMBER:
            if tok.value < 1:  # type: ignore[operator]
                raise self.error("sample count must be at least 1", tok)
            sample = ast.Sample("count", tok.value)  # type: ignore[arg-type]
        else:
            raise self.expected("a rate (25%, 0.25) or a row count (100)")
        self.advance()
        if self.accept_word("seed"):
            seed = self.parse_int("a whole-number seed", allow_negative=True)
            sample = ast.Sample(sample.kind, sample.value, seed)
        return sample


def build_query(
    found: dict, heads: dict[str, Token], cursor_at: ast.Loc | None = None
) -> ast.Query:
    """Check how clauses combine and assemble the Query."""
    select, dims, measures = found.get("select"), found.get("dimensions"), found.get("measures")
    first = min(heads.values(), key=lambda tok: tok.pos)  # (build_query needs one clause)
    if select is None and dims is None and measures is None:
        raise _at("a query needs a select:, dimensions: or measures: clause", first)
    pivot = found.get("pivot")
    if pivot is not None:
        pivot = apply_implicit_aliases(pivot)
    if select is not None and dims is not None:
        if measures is not None:
            raise _at("measures: cannot be combined with select: + dimensions:", heads["measures"])
        for item in dims:
            if item.alias is not None:
                raise error_loc(
                    "when select: is present, dimensions: only names select items "
                    "(positions, aliases or expressions); put aliases in select:",
                    item.expr,
                )
        select = apply_implicit_aliases(select)
        if pivot is not None:  # (a select item the pivot names is not a dimension)
            pivot = [pivot_column_named(select, column) for column in pivot]
        dims, measures = group_select(select, [d.expr for d in dims], (), pivot or ())
        select = None
    elif select is not None and measures is not None:
        raise _at("select: cannot be combined with measures:; use dimensions:", heads["measures"])
    elif dims is not None:
        for item in dims:
            if isinstance(item.expr, ast.Literal) and type(item.expr.value) is int:
                if item.alias is None:  # (`dimensions: 2024 as year` is a constant)
                    raise error_loc(
                        "dimension positions (dimensions: 1, 2) need select:", item.expr
                    )
        # A short name a measure has taken is not the dimension's (it is then named by its
        # full path, as SQL's GROUP BY names it): metadata.n beside count(1) as n.
        taken = {m.alias for m in measures or () if m.alias is not None}
        dims = [
            ast.Aliased(new.expr) if old.alias is None and new.alias in taken else new
            for old, new in zip(dims, apply_implicit_aliases(dims), strict=True)
        ]
    if select is not None:
        select = apply_implicit_aliases(select)
    return ast.Query(
        select=_tuple(select),
        dimensions=_tuple(dims),
        measures=_tuple(measures),
        from_=found.get("from"),
        filter=found.get("filter"),
        span_filter=found.get("span_filter"),
        trace_filter=found.get("trace_filter"),
        final_filter=found.get("final_filter"),
        sort=_tuple(found.get("sort")),
        limit=found.get("limit"),
        cursor=found.get("cursor"),
        cursor_loc=cursor_at,
        syntax="btql",
        from_loc=None if "from" in found else ast.Loc(first.line, first.col),
        sample=found.get("sample"),
        pivot=_tuple(pivot),
        unpivot=_tuple(found.get("unpivot")),
        preview_length=found.get("preview_length"),
    )


def _tuple(items) -> tuple | None:
    return None if items is None else tuple(items)


def _at(message: str, tok: Token) -> QueryError:
    return QueryError(message, tok.line, tok.col)


def parse_btql(text: str, tokens: list[Token] | None = None) -> ast.Query:
    """Parse BTQL clause text.

    >>> parse_btql("select: id | from: project_logs('p') | limit: 1").limit
    1
    """
    tokens = tokenize(text) if tokens is None else tokens
    try:
        return BtqlParser(split_clauses(tokens)).parse_query()
    except RecursionError:
        raise QueryError("query is nested too deeply") from None


def parse_expression(text: str) -> ast.Expr:
    """Parse one BTQL expression, as in ``{"btql": "metadata.annotated = true"}``.

    >>> parse_expression("tags[0]")
    Ident(name=('tags', 0))
    """
    parser = BtqlParser(tokenize(text))
    if parser.peek().kind == EOF:
        raise QueryError("expected an expression, found end of input", 1, 1)
    try:
        expr = parser.parse_expr()
    except RecursionError:
        raise QueryError("expression is nested too deeply") from None
    parser.expect_end()
    return expr
