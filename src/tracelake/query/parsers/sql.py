"""Braintrust SQL text to the same ``ast.Query`` that BTQL text produces (btql.md §1.3, §2).

The statement is one ``SELECT`` over one data source; what SQL spells as clauses maps onto
BTQL clauses: ``GROUP BY`` splits the select list into dimensions (grouped items) and
measures (items holding an aggregate call), ``HAVING`` is ``final_filter``, ``OFFSET '<tok>'``
is the cursor and ``FROM f('id', shape => 'traces')`` carries the shape. Decisions:

* ``INCLUDES``/``CONTAINS`` as operators are accepted in SQL mode too. The current docs call
  them BTQL-only, but their own export examples use ``WHERE tags INCLUDES 'x'`` in SQL, and a
  user pasting one should get rows, not an error (btql.md §7). ``IN`` works as documented.
* ``PIVOT``/``UNPIVOT`` are accepted both before ``WHERE`` and after ``GROUP BY``. A PIVOT's
  aggregates join the measures and its ``FOR`` column becomes ``Query.pivot``.
* ``SELECT DISTINCT a, b`` is ``dimensions: a, b`` with no measures.
* ``TABLESAMPLE (25 PERCENT)``, ``TABLESAMPLE (100 ROWS)`` and ``TABLESAMPLE (25%)`` with an
  optional ``REPEATABLE (seed)`` map to ``sample`` (the docs name the clause, not its syntax).
* ``WITH``, joins, subqueries, set operations, table aliases, numeric ``OFFSET`` and
  ``SETTINGS`` are errors that name the construct.
"""

from __future__ import annotations

from tracelake.query import ast
from tracelake.query.errors import QueryError
from tracelake.query.parsers.expressions import (
    CONCAT_OPERATOR,
    ExpressionParser,
    apply_implicit_aliases,
    double_bar,
    error_loc,
    group_select,
    has_aggregate,
    loc,
    pivot_column_named,
)
from tracelake.query.tokens import DQUOTED, EOF, IDENT, NUMBER, PERCENT, STRING, Token, tokenize

CLAUSE_WORDS = (
    "select", "from", "where", "group", "by", "having", "order", "limit", "offset", "pivot",
    "unpivot", "tablesample", "settings",
)  # fmt: skip
UNSUPPORTED_WORDS = ("union", "intersect", "except", "join", "on", "using", "with")
JOIN_WORDS = ("join", "inner", "left", "right", "full", "cross", "natural", "outer")
FETCH_FIRST = "FETCH FIRST … ROWS ONLY is not supported: write LIMIT n"
CLAUSE_ORDER = (
    "SELECT, FROM, UNPIVOT/PIVOT, WHERE, GROUP BY, PIVOT, HAVING, TABLESAMPLE, ORDER BY, "
    "LIMIT, OFFSET"
)


class SqlParser(ExpressionParser):
    """Braintrust's SQL dialect."""

    SUPPORTS_INCLUDES = True
    RESERVED = frozenset(
        {*CLAUSE_WORDS, *UNSUPPORTED_WORDS, "for", "case", "when", "then", "else", "end"}
    )

    def parse_primary(self) -> ast.Expr:
        tok = self.peek()
        if tok.is_word("case"):
            return self.parse_case()
        if tok.is_kw("match") and self.peek(1).is_op("("):
            self.advance()
            return self.parse_match_against(tok)
        return super().parse_primary()

    def parse_match_against(self, match_tok: Token) -> ast.Expr:
        """MATCH(col, ...) AGAINST ('text')  ->  col MATCH 'text' OR ..."""
        self.expect_op("(")
        cols = [self.parse_additive()]
        while self.accept_op(","):
            cols.append(self.parse_additive())
        self.expect_op(")", "',' or ')'")
        self.expect_word("against")
        self.expect_op("(")
        query = self.parse_expr()
        self.expect_op(")")
        at = loc(match_tok)
        matches = [ast.Binary("match", col, query, loc=at) for col in cols]
        return matches[0] if len(matches) == 1 else ast.Logical("or", tuple(matches), loc=at)

    def parse_case(self) -> ast.Expr:
        """CASE [operand] WHEN a THEN b ... [ELSE c] END  ->  If."""
        case_tok = self.advance()
        operand = None if self.peek().is_word("when", "end") else self.parse_expr()
        conds: list[tuple[ast.Expr, ast.Expr]] = []
        while self.accept_word("when"):
            cond = self.parse_expr()
            if operand is not None:
                cond = ast.Binary("eq", operand, cond, loc=cond.loc)
            self.expect_word("then")
            conds.append((cond, self.parse_expr()))
        if not conds:
            raise self.expected("WHEN")
        other = self.parse_expr() if self.accept_word("else") else None
        self.expect_word("end")
        return ast.If(tuple(conds), other, loc=loc(case_tok))

    def parse_statement(self) -> ast.Query:
        first = self.peek()
        if first.is_word("with"):
            raise self.error("WITH (common table expressions) is not supported", first)
        self.expect_word("select")
        distinct = self.accept_kw("distinct")
        items = [self.select_item()]
        while self.accept_op(","):
            items.append(self.select_item())
        source = None
        unpivots: list[ast.Unpivot] = []
        pivot = None
        where = having = None
        group_by: list[ast.Expr] | None = None
        sample = order = limit = cursor = None
        from_at = loc(self.peek())
        if self.accept_word("from"):
            source = self.parse_from()
        while self.peek().is_word("unpivot"):
            unpivots.append(self.parse_unpivot())
        if self.peek().is_word("pivot"):
            pivot = self.parse_pivot()
        if self.accept_word("where"):
            where = self.parse_expr()
        if self.accept_word("group"):
            self.expect_word("by")
            group_by = [self.parse_expr()]
            while self.accept_op(","):
                group_by.append(self.parse_expr())
        if self.peek().is_word("pivot"):
            if pivot is not None:
                raise self.error("only one PIVOT is allowed")
            pivot = self.parse_pivot()
        if self.accept_word("having"):
            having = self.parse_expr()
        if self.peek().is_word("tablesample"):
            sample = self.parse_tablesample()
        if self.accept_word("order"):
            self.expect_word("by")
            order = [self.order_item()]
            while self.accept_op(","):
                order.append(self.order_item())
        if self.accept_word("limit"):
            limit = self.parse_limit()
        cursor_at = None
        if self.accept_word("offset"):
            cursor_at = loc(self.peek())
            cursor = self.parse_offset()
        if self.accept_op(";") and self.peek().kind != EOF:
            raise self.error("a query is one statement: nothing may follow ';'", self.peek())
        if self.peek().kind != EOF:
            raise self.trailing(self.peek())
        return self.build(
            items, distinct, source, unpivots, pivot, where, group_by, having, sample, order,
            limit, cursor, cursor_at, None if source is not None else from_at,
        )  # fmt: skip

    # --- clauses -----------------------------------------------------------------------------

    def select_item(self) -> ast.Aliased | ast.Star:
        tok = self.peek()
        if tok.is_op("*"):
            self.advance()
            return ast.Star(loc=(ast.Loc(tok.line, tok.col)))
        expr = self.parse_expr()
        if self.accept_kw("as"):
            return ast.Aliased(expr, self.parse_alias())
        nxt = self.peek()
        if (nxt.kind == IDENT and nxt.text.lower() not in self.RESERVED) or nxt.kind == DQUOTED:
            return ast.Aliased(expr, self.parse_alias())  # implicit AS: `SELECT count(1) n`
        return ast.Aliased(expr)

    def parse_from(self) -> ast.Source:
        if self.peek().is_op("("):
            raise self.error("subqueries are not supported")
        source = self.parse_source()
        tok = self.peek()
        if tok.is_op(",") or tok.word in JOIN_WORDS:
            raise self.error("JOIN is not supported: a query reads one data source", tok)
        if tok.is_word("fetch"):
            raise self.error(FETCH_FIRST, tok)
        if tok.is_kw("as") or (tok.kind == IDENT and tok.text.lower() not in self.RESERVED):
            raise self.error("table aliases are not supported", tok)
        return source

    def parse_unpivot(self) -> ast.Unpivot:
        """UNPIVOT (value FOR key IN (expr)); key '_' expands an array."""
        self.advance()
        self.expect_op("(")
        value = self.parse_alias()
        self.expect_word("for")
        key = self.parse_alias()
        if not self.accept_kw("in"):
            raise self.expected("IN")
        self.expect_op("(")
        expr = self.parse_expr()
        self.expect_op(")")
        self.expect_op(")")
        return ast.Unpivot(expr, value if key == "_" else (key, value))

    def parse_pivot(self) -> tuple[list[ast.Aliased], ast.Aliased]:
        """PIVOT (agg [AS alias], ... FOR column IN (ANY))"""
        self.advance()
        self.expect_op("(")
        measures = []
        while True:
            expr = self.parse_expr()
            if not has_aggregate(expr):
                raise error_loc("PIVOT needs aggregate functions such as SUM(value)", expr)
            alias = self.parse_alias() if self.accept_kw("as") else None
            measures.append(ast.Aliased(expr, alias))
            if not self.accept_op(","):
                break
        self.expect_word("for")
        column = self.parse_postfix()
        if not isinstance(column, ast.Ident):
            raise error_loc("PIVOT ... FOR needs a field name", column)
        if not self.accept_kw("in"):
            raise self.expected("IN (ANY)")
        self.expect_op("(")
        if not self.accept_word("any"):
            raise self.error("PIVOT supports only IN (ANY)")
        self.expect_op(")")
        self.expect_op(")")
        return measures, ast.Aliased(column)

    def parse_tablesample(self) -> ast.Sample:
        self.advance()
        self.accept_word("bernoulli", "system", "reservoir")
        paren = self.accept_op("(")
        tok = self.peek()
        if tok.kind == PERCENT:
            self.advance()
            kind, value = "rate", tok.value
        elif tok.kind == NUMBER:
            self.advance()
            if self.accept_word("percent"):
                kind, value = "rate", tok.value / 100  # type: ignore[operator]
            elif self.accept_word("rows"):
                kind, value = "count", tok.value
            else:
                raise self.expected("PERCENT or ROWS")
        else:
            raise self.expected("a sample size (25 PERCENT, 100 ROWS)")
        if kind == "rate" and not 0 <= value <= 1:  # type: ignore[operator]
            raise self.error("sample rate must be between 0 and 100 percent", tok)
        if kind == "count" and (not isinstance(value, int) or value < 1):
            raise self.error("sample row count must be a whole number of at least 1", tok)
        if paren:
            self.expect_op(")")
        seed = None
        if self.accept_word("repeatable"):
            self.expect_op("(")
            seed = self.parse_int("a whole-number seed", allow_negative=True)
            self.expect_op(")")
        return ast.Sample(kind, value, seed)  # type: ignore[arg-type]

    def order_item(self) -> ast.SortItem:
        expr = self.parse_expr()
        direction = self.accept_kw("asc", "desc")
        if self.peek().is_word("nulls"):
            raise self.error("NULLS FIRST/LAST is not supported")
        return ast.SortItem(expr, direction.value if direction else "asc")  # type: ignore[arg-type]

    def parse_offset(self) -> str:
        tok = self.peek()
        if tok.kind in (STRING, DQUOTED):
            self.advance()
            return tok.value  # type: ignore[return-value]
        if tok.kind == NUMBER or tok.is_op("-"):
            raise self.error(
                "numeric OFFSET is not supported; OFFSET takes the cursor token of a previous "
                "response: OFFSET '<cursor>'",
                tok,
            )
        raise self.expected("a quoted cursor token")

    def trailing(self, tok: Token) -> QueryError:
        word = tok.word
        if word in UNSUPPORTED_WORDS:
            return self.error(f"{word.upper()} is not supported", tok)
        if word in ("settings",):
            return self.error("SETTINGS is not supported", tok)
        if word == "fetch":
            return self.error(FETCH_FIRST, tok)
        if word in CLAUSE_WORDS or word == "pivot":
            return self.error(f"{tok.text.upper()} is out of place; clauses go {CLAUSE_ORDER}")
        if double_bar(tok, self.peek(1)):
            return self.error(CONCAT_OPERATOR, tok)
        return self.error(f"unexpected {tok.describe()} at the end of the query", tok)

    # --- assembly ----------------------------------------------------------------------------

    def build(self, items, distinct, source, unpivots, pivot, where, group_by, having, sample,
              order, limit, cursor, cursor_at=None, from_at=None) -> ast.Query:  # fmt: skip
        items = apply_implicit_aliases(items)
        pivot_measures, pivot_columns = ([], [])
        if pivot is not None:
            column = pivot_column_named(items, pivot[1])
            pivot_measures, pivot_columns = pivot[0], apply_implicit_aliases([column])
        aggregates = any(isinstance(i, ast.Aliased) and has_aggregate(i.expr) for i in items)
        select = dims = measures = None
        if distinct is not None:
            if group_by is not None or pivot is not None or aggregates:
                raise self.error(
                    "SELECT DISTINCT cannot be combined with GROUP BY or aggregates", distinct
                )
            stars = [i for i in items if isinstance(i, ast.Star)]
            if stars:
                raise error_loc("SELECT DISTINCT * is not supported", stars[0])
            dims = tuple(items)
        elif group_by is not None or pivot is not None or aggregates:
            dims, measures = group_select(items, group_by or [], pivot_measures, pivot_columns)
        else:
            select = tuple(items)
        sort = None
        if order is not None:
            sort = tuple(self.resolve_ordinal(items, s, pivot is not None) for s in order)
        return ast.Query(
            select=select,
            dimensions=dims,
            measures=measures or None,
            from_=source,
            filter=where,
            final_filter=having,
            sort=sort,
            limit=limit,
            cursor=cursor,
            cursor_loc=cursor_at,
            syntax="sql",
            from_loc=from_at,
            sample=sample,
            pivot=tuple(pivot_columns) or None,
            unpivot=tuple(unpivots) or None,
        )

    @staticmethod
    def resolve_ordinal(items: list, item: ast.SortItem, pivot: bool = False) -> ast.SortItem:
        """ORDER BY 2 -> the second select item, by alias when it has one. After a ``*`` the
        position counts the columns it expands to, which only the compiler knows, so the
        position stays a literal (as in BTQL's ``sort: 2``). So it does with a PIVOT: the
        ORDER BY sorts the pivot's answer, whose columns are the dimensions without the
        pivot column (then the pivoted measures), and a position counts those, as BTQL's
        ``sort: 2`` and ``ORDER BY expr_2`` do."""
        expr = item.expr
        if pivot or not (isinstance(expr, ast.Literal) and type(expr.value) is int):
            return item
        position = expr.value
        if any(isinstance(i, ast.Star) for i in items[: max(position, 0)]):
            return item
        if not 1 <= position <= len(items):
            raise error_loc(f"ORDER BY position {position} is not in the select list", expr)
        target = items[position - 1]
        if target.alias is not None:
            return ast.SortItem(ast.Ident((target.alias,), loc=expr.loc), item.dir)
        return ast.SortItem(target.expr, item.dir)


def parse_sql(text: str, tokens: list[Token] | None = None) -> ast.Query:
    """Parse one Braintrust SQL statement.

    >>> parse_sql("SELECT id FROM project_logs('p', shape => 'traces')").from_.shape
    'traces'
    """
    parser = SqlParser(tokenize(text) if tokens is None else tokens)
    try:
        return parser.parse_statement()
    except RecursionError:
        raise QueryError("query is nested too deeply") from None
