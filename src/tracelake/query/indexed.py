"""MATCH and search() through the full-text side index.

The index answers "which rows may hold these words" for rows up to its watermark; rows
written after it are scanned. Every candidate is still checked by the scan predicate, so a
result is the same as a full scan, only faster.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from tracelake.query import functions
from tracelake.query.compiler import DuckDBCompiler
from tracelake.query.types import Typed

# tokens -> (watermark, candidate row ids), or None when the index cannot narrow.
CandidateLookup = Callable[[list[str]], tuple[int, list[str]] | None]


class IndexedCompiler(DuckDBCompiler):
    """DuckDB compiler whose MATCH first narrows to the index's candidates."""

    def __init__(self, lookup: CandidateLookup, table: str = "e"):
        super().__init__()
        self.lookup = lookup
        self.table = table
        self._looked_up: dict[tuple[str, ...], tuple[int, list[str]] | None] = {}

    def compile_match(self, haystack: Typed, query: str) -> exp.Expression:
        scan = super().compile_match(haystack, query)
        tokens = functions.match_tokens(query)
        key = tuple(tokens)
        if key not in self._looked_up:  # search() asks once per field
            self._looked_up[key] = self.lookup(tokens) if tokens else None
        narrowed = self._looked_up[key]
        if narrowed is None:
            return scan
        watermark, ids = narrowed
        newer = exp.GT(
            this=exp.column("_xact_id", table=self.table),
            expression=exp.Literal.number(watermark),
        )
        listed = exp.In(
            this=exp.column("id", table=self.table),
            expressions=[exp.Literal.string(i) for i in ids] or [exp.null()],
        )
        return exp.and_(exp.paren(exp.or_(newer, listed)), scan)
