"""MATCH, search() and LIKE / ILIKE through the full-text side index.

The index answers "which rows may hold these words" (or, for LIKE, words holding the
pattern's fragments) for rows up to its watermark; rows written after it are scanned.
Candidates are checked by the scan predicate, so a result is the same as a full scan, only
faster — except where they are the answer already (see
``IndexedCompiler._candidates_are_matches``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

from sqlglot import exp

from tracelake.model import words
from tracelake.query import ast, functions
from tracelake.query.compiler import DuckDBCompiler
from tracelake.query.types import Typed

# (tokens, newest, fields, most) -> (watermark, candidates as (row id, _xact_id), complete),
# or None when the index cannot narrow (or finds more than ``most`` candidates): the rows
# whose words in one of ``fields`` hold every token (a MATCH word, or a LIKE fragment:
# ``words.Fragment``). With ``newest`` = k, only the k newest candidates are returned, and
# ``complete`` says whether they are all there are.
CandidateLookup = Callable[
    [list[str | words.Fragment], int | None, tuple[str, ...], int | None],
    tuple[int, list[tuple[str, int]], bool] | None,
]
# The meta key of an ``id IN (…)`` node that lists the index's candidates.
CANDIDATES = "index_candidates"
# A bounded MATCH asks for this many times the page size of its newest candidates.
NEWEST_FACTOR = 1.25
# A MATCH with more candidates than this scans (a bounded MATCH has no such limit).
MATCH_MOST = 5_000
# A bounded LIKE asks for more: its candidates hold the fragments anywhere in the field,
# and fewer of them match (on 1M spans, half of those of an output.content ILIKE).
NEWEST_LIKE_FACTOR = 3
# A LIKE with more candidates than this scans: each one read by id costs ~35 µs (1M spans,
# two JSON columns read), so 2,000 cost about what scanning a third of the table does.
LIKE_MOST = 2_000
# ... unless its page is the newest rows, which reads only NEWEST_LIKE_FACTOR × limit of
# them; past this many, the fragment is so common that a scan's first window soon fills
# the page. A bounded page that comes up short is run again with all the candidates, or a
# scan past LIKE_MOST.
NEWEST_LIKE_MOST = 20_000


class IndexedCompiler(DuckDBCompiler):
    """DuckDB compiler whose MATCH (and LIKE in a filter) first narrows to the index's
    candidates.

    With ``newest`` (a page size), a query whose page is the newest rows (spans, default
    order, one MATCH word set or LIKE, joined by AND) asks the index for its
    ``NEWEST_FACTOR * newest`` newest candidates only, and keeps those newer than the
    oldest of them (that transaction may have more candidates than were fetched), so the
    scan reads only the last row groups.
    Every matching row left out is older than every row kept, so if the page still fills up
    it is the right page; if it does not, the caller runs the query again without the bound
    (``bounded`` says one was applied). This also narrows words too common for a full
    candidate list.
    """

    def __init__(
        self,
        lookup: CandidateLookup,
        table: str = "e",
        newest: int | None = None,
        latest: int | None = None,
        indexed: tuple[str, ...] = (),
        one_object: bool = False,
    ):
        super().__init__()
        self.lookup = lookup
        # The span fields the index holds the words of: a MATCH on anything else scans.
        self.indexed = frozenset(indexed)
        self.table = table
        self.newest = newest
        # The newest _xact_id written when the query was planned: an index that has absorbed
        # it needs no scan of newer rows (there are none yet), so the narrowed test is a
        # plain AND that DuckDB can evaluate inside the table scan.
        self.latest = latest
        # A query of one object: a candidate's id names one row (ids may repeat across
        # objects, and the candidates are listed by id only).
        self.one_object = one_object
        self.bounded = False
        self._looked_up: dict[tuple, tuple[int, list[tuple[str, int]], bool] | None] = {}

    def compile_match(
        self, haystack: Typed, query: str, fields: tuple[str, ...] = (), whole: bool = False
    ) -> exp.Expression:
        scan = super().compile_match(haystack, query, fields, whole)
        tokens = functions.match_tokens(query)
        exact = self._candidates_are_matches(whole, tokens)
        most = None if self.newest else MATCH_MOST
        return self._narrowed(scan, fields, tokens, exact, NEWEST_FACTOR, most)

    def narrow_like(
        self, test: exp.Expression, pattern: str, fields: tuple[str, ...]
    ) -> exp.Expression:
        """A LIKE narrowed to the rows whose words hold the pattern's fragments (see
        ``words.like_fragments``): the cheap whole words and prefixes, and the longest
        fragment. The candidates are always checked again (the fragments are only part of
        the pattern, and the field's words hold more than the value compared)."""
        fragments = words.like_fragments(pattern)
        if not fragments:
            return test
        longest = max(fragments, key=lambda f: len(f.text))
        chosen = [f for f in fragments if f.starts_word or f is longest]
        most = NEWEST_LIKE_MOST if self.newest else LIKE_MOST
        return self._narrowed(test, fields, chosen, False, NEWEST_LIKE_FACTOR, most)

    def _narrowed(
        self,
        scan: exp.Expression,
        fields: tuple[str, ...],
        tokens: list,
        exact: bool,
        factor: float,
        most: int | None,
    ) -> exp.Expression:
        """``scan`` narrowed to the index's candidates for ``tokens`` (MATCH words or LIKE
        fragments) in ``fields``, or unchanged when the index cannot help; ``exact``: the
        candidates are the rows ``scan`` holds for, once the index has absorbed every
        write. A newest-first page asks for ``factor`` times its size of the newest
        candidates; more than ``most`` candidates (None: any number) and it scans."""
        if not fields or not self.indexed.issuperset(fields):
            return scan  # words the index does not hold: its candidates could miss rows
        key = (fields, *tokens)
        if key not in self._looked_up and tokens:  # search() asks once for all its fields
            want = math.ceil(self.newest * factor) if self.newest else None
            self._looked_up[key] = self.lookup(tokens, want, fields, most)
        elif not tokens:
            self._looked_up[key] = None
        narrowed = self._looked_up[key]
        if narrowed is None:
            return scan
        watermark, found, complete = narrowed
        xact = exp.column("_xact_id", table=self.table)
        newer = exp.GT(this=xact, expression=exp.Literal.number(watermark))
        if complete:
            listed = self._listed(found)
        else:
            oldest = min(x for _, x in found)
            found = [(i, x) for i, x in found if x > oldest]
            self.bounded = True
            listed = exp.and_(
                exp.GT(this=xact, expression=exp.Literal.number(oldest)), self._listed(found)
            )
        # Parenthesised: under NOT the whole narrowed test is negated, not its first half.
        if self.latest is not None and watermark >= self.latest:
            if exact:
                return exp.paren(listed)
            return exp.paren(exp.and_(exp.paren(listed), scan))
        return exp.paren(exp.and_(exp.paren(exp.or_(newer, exp.paren(listed))), scan))

    def _candidates_are_matches(self, whole: bool, tokens: list[str]) -> bool:
        """Whether the index's candidates are exactly the rows that match, so the scan's
        word check (whose Unicode pattern alone costs DuckDB ~2 ms to compile per query)
        can be left out. The index must have absorbed every write (the caller checks), the
        haystack be a whole indexed field (the index holds the words of the field, not of
        a path under it), the query be of one object, and every token be ASCII: the
        index's words are MATCH's words (the indexer blanks the characters where MATCH
        splits and tantivy's tokenizer would not, see ``words.INDEX_BLANK_PATTERN``), and
        DuckDB and tantivy lower-case ASCII alike."""
        return whole and self.one_object and all(t.isascii() for t in tokens)

    @property
    def consulted(self) -> bool:
        """Whether a MATCH or search() asked the index (the plan then depends on it)."""
        return bool(self._looked_up)

    @property
    def narrowed(self) -> bool:
        """Whether a MATCH was narrowed to the index's candidates."""
        return any(found is not None for found in self._looked_up.values())

    @property
    def bound_is_safe(self) -> bool:
        """A bound is safe with one MATCH word set (search() asks once for all fields)."""
        return len(self._looked_up) <= 1

    def _listed(self, found: list[tuple[str, int]]) -> exp.Expression:
        """``id IN (<found>)``, or FALSE when nothing was found: ``id IN (NULL)`` would be
        NULL, and NOT of it NULL too, so NOT MATCH of a word no row holds dropped every
        row. Either way the node's ``meta[CANDIDATES]`` lists the ids to read by."""
        column = exp.column("id", table=self.table)
        if not found:
            node = exp.false()
            node.meta[CANDIDATES] = "NULL"
            return node
        # The literals are rendered by sqlglot once, here, and kept as one node: a plan
        # renders its conditions several times, and hundreds of literal nodes made that
        # most of the planning time.
        ids = exp.In(this=column, expressions=[exp.Literal.string(i) for i, _ in found])
        rendered = ids.sql(dialect="duckdb")
        listed = rendered[rendered.index(" IN (") + len(" IN (") : -1]
        node = exp.In(this=column, expressions=[exp.Var(this=listed)])
        node.meta[CANDIDATES] = listed
        return node


def index_candidates(condition: exp.Expression | None) -> exp.Expression | None:
    """The ``id IN (…)`` node (FALSE when there are none) that lists the index's candidates
    for a MATCH whose test must hold for every row ``condition`` keeps (an AND-term at its
    top, not under OR or NOT), or None. The rows can then be read by id (see
    relations.span_relation); the node's ``meta[CANDIDATES]`` holds the ids as rendered SQL
    literals."""
    if condition is None:
        return None
    while isinstance(condition, exp.Paren):
        condition = condition.this
    if isinstance(condition, exp.And):
        return index_candidates(condition.left) or index_candidates(condition.right)
    if CANDIDATES in condition.meta:
        return condition
    return None


def newest_first_page(query: ast.Query, shape: str) -> bool:
    """Whether a query's page is its newest matching spans (so a bounded MATCH is safe):
    the spans shape in the default order, no aggregation, pivot or sampling, and MATCH or
    search() only as plain conditions joined by AND (never under NOT or inside another
    expression, where leaving rows out could add rows, nor under OR, where the other side
    could fill the page with rows older than the bound while matching rows between them
    were left out)."""
    if shape != "spans" or query.filter is None:
        return False
    if any(
        getattr(query, name) is not None
        for name in ("sort", "dimensions", "measures", "pivot", "unpivot", "sample")
    ) or any(
        getattr(query, name) is not None for name in ("span_filter", "trace_filter", "final_filter")
    ):
        return False
    return _positive(query.filter)


def _positive(node: ast.Expr) -> bool:
    if isinstance(node, ast.Logical) and node.op == "and":
        return all(_positive(child) for child in node.children)
    if _is_match(node, truthy=True):
        return True
    return not _contains_match(node, truthy=True)


def _is_match(node, truthy: bool) -> bool:
    """MATCH, search(), or, where only its truth matters (through AND and OR from the top
    of the filter: the compiler narrows a LIKE there only), a LIKE / ILIKE."""
    if isinstance(node, ast.Binary) and node.op in ("like", "ilike"):
        return truthy
    return (isinstance(node, ast.Binary) and node.op == "match") or (
        isinstance(node, ast.Function) and node.name == "search"
    )


def _contains_match(node, truthy: bool) -> bool:
    if _is_match(node, truthy):
        return True
    if isinstance(node, ast.Logical):
        return any(_contains_match(child, truthy) for child in node.children)
    if dataclasses.is_dataclass(node):
        return any(_contains_match(getattr(node, f.name), False) for f in dataclasses.fields(node))
    if isinstance(node, tuple | list):
        return any(_contains_match(item, truthy) for item in node)
    return False
