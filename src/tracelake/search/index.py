"""A tantivy index of the words in each row's input, output, expected, metadata and
span_attributes, with a watermark: the largest ``_xact_id`` it has absorbed.

The index only narrows: a query asks it for the rows that may match, the engine still checks
each candidate, and rows newer than the watermark are checked by a scan. So a result is never
stale, and a tokenizer edge case can only cost speed, not correctness — except that tantivy
drops words longer than 40 bytes, so queries with such words skip the index.
"""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import tantivy

TEXT_FIELDS = ("input", "output", "expected", "metadata", "span_attributes")
MAX_TOKEN_BYTES = 40  # tantivy's default tokenizer removes longer tokens
_SEP = "\x1f"
# Bumped when the document layout changes: an index of another layout is rebuilt.
LAYOUT_VERSION = "3"  # 2: each document keeps its row's _xact_id; 3: as a fast field


def row_key(object_type: str, object_id: str, row_id: str) -> str:
    return f"{object_type}{_SEP}{object_id}{_SEP}{row_id}"


def object_key(object_type: str, object_id: str) -> str:
    return f"{object_type}{_SEP}{object_id}"


def words_of(value: Any) -> str:
    """The text of a JSON value without object keys (as MATCH sees it)."""
    parts: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for item in node.values():
                walk(item)
        elif isinstance(node, list):
            for item in node:
                walk(item)
        elif node is not None:
            parts.append(node if isinstance(node, str) else json.dumps(node))

    walk(value)
    return " ".join(parts)


class TextIndex:
    """One index folder; safe for one writer (the indexer) and many searchers."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._reset_if_stale()
        builder = tantivy.SchemaBuilder()
        builder.add_text_field("key", stored=True, tokenizer_name="raw")
        builder.add_unsigned_field("xact", stored=True, fast=True)
        builder.add_text_field("object", stored=False, tokenizer_name="raw")
        for name in TEXT_FIELDS:
            builder.add_text_field(name, stored=False)
        self.schema = builder.build()
        self.index = tantivy.Index(self.schema, path=str(self.path))
        self._writer = None
        self._lock = threading.Lock()
        self._watermark_file = self.path / "watermark"
        self.watermark = self._read_watermark()

    def _reset_if_stale(self) -> None:
        """Start over (watermark 0: the indexer rebuilds it) if the folder holds an index of
        another layout; the engine scans meanwhile, so answers stay complete."""
        layout = self.path / "layout"
        if self.path.exists() and (
            not layout.exists() or layout.read_text().strip() != LAYOUT_VERSION
        ):
            shutil.rmtree(self.path)
        self.path.mkdir(parents=True, exist_ok=True)
        layout.write_text(LAYOUT_VERSION)

    def _read_watermark(self) -> int:
        try:
            return int(self._watermark_file.read_text().strip() or 0)
        except (FileNotFoundError, ValueError):
            return 0

    def apply(
        self,
        rows: Iterable[tuple[str, str, str, int, dict[str, Any]]],
        deleted: Iterable[tuple[str, str, str]],
        watermark: int,
    ) -> None:
        """Replace the documents of ``rows`` ((object_type, object_id, id, _xact_id, fields)),
        drop ``deleted`` rows, commit, and record ``watermark``. A field is its words as
        text (what the indexer passes) or a JSON value whose words are taken here."""
        with self._lock:
            if self._writer is None:
                self._writer = self.index.writer(heap_size=64_000_000, num_threads=1)
            writer = self._writer
            for object_type, object_id, row_id in deleted:
                writer.delete_documents_by_term("key", row_key(object_type, object_id, row_id))
            for object_type, object_id, row_id, xact, fields in rows:
                key = row_key(object_type, object_id, row_id)
                writer.delete_documents_by_term("key", key)
                document = tantivy.Document(key=key, object=object_key(object_type, object_id))
                document.add_unsigned("xact", xact)  # a bare int would be taken as signed
                for name in TEXT_FIELDS:
                    value = fields.get(name)
                    if value is None:
                        continue
                    text = value if isinstance(value, str) else words_of(value)
                    if text:
                        document.add_text(name, text)
                writer.add_document(document)
            writer.commit()
            self._watermark_file.write_text(str(watermark))
            self.watermark = watermark
            self.index.reload()

    def candidates(
        self, objects: list[tuple[str, str]], tokens: list[str], limit: int = 5_000
    ) -> list[tuple[str, int]] | None:
        """(id, _xact_id) of the rows of ``objects`` whose indexed text holds every token (in
        any one field), or None when the index cannot help: no tokens, a token too long, or
        more than ``limit`` candidates (a scan is then as fast)."""
        query = self._query(objects, tokens)
        if query is None:
            return None
        searcher = self.index.searcher()
        result = searcher.search(query, limit + 1)
        if len(result.hits) > limit:
            return None
        found = []
        for _score, address in result.hits:
            document = searcher.doc(address)
            found.append((document["key"][0].rsplit(_SEP, 1)[1], document["xact"][0]))
        return found

    def newest_candidates(
        self, objects: list[tuple[str, str]], tokens: list[str], count: int
    ) -> tuple[list[tuple[str, int]], bool] | None:
        """The ``count`` newest candidates (by ``_xact_id``) as (id, _xact_id), and whether
        they are all the candidates there are; None when the index cannot help."""
        query = self._query(objects, tokens)
        if query is None:
            return None
        searcher = self.index.searcher()
        result = searcher.search(query, count, count=True, order_by_field="xact")
        found = [
            (searcher.doc(address)["key"][0].rsplit(_SEP, 1)[1], xact)
            for xact, address in result.hits
        ]
        return found, result.count <= count

    def _query(self, objects: list[tuple[str, str]], tokens: list[str]):
        if not tokens or any(len(t.encode()) > MAX_TOKEN_BYTES for t in tokens):
            return None
        per_field = [
            tantivy.Query.boolean_query(
                [
                    (tantivy.Occur.Must, tantivy.Query.term_query(self.schema, name, token))
                    for token in tokens
                ]
            )
            for name in TEXT_FIELDS
        ]
        object_filter = tantivy.Query.boolean_query(
            [
                (
                    tantivy.Occur.Should,
                    tantivy.Query.term_query(self.schema, "object", object_key(*obj)),
                )
                for obj in objects
            ]
        )
        return tantivy.Query.boolean_query(
            [
                (tantivy.Occur.Must, object_filter),
                (
                    tantivy.Occur.Must,
                    tantivy.Query.boolean_query([(tantivy.Occur.Should, q) for q in per_field]),
                ),
            ]
        )
