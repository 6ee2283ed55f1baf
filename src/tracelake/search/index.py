"""A tantivy index of the words in each row's input, output, expected, metadata and
span_attributes, with a watermark: the largest ``_xact_id`` it has absorbed.

The index narrows: a query asks it for the rows that may match, the engine checks the
candidates (unless they are exactly the answer, see query/indexed.py), and rows newer than
the watermark are checked by a scan, so a result is never stale. Tantivy drops words of 40
bytes or more, so queries with such words skip the index.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterable
from pathlib import Path

import tantivy

TEXT_FIELDS = ("input", "output", "expected", "metadata", "span_attributes")
MAX_TOKEN_BYTES = 39  # tantivy's default tokenizer removes tokens of 40 bytes or more
_SEP = "\x1f"
# Bumped when the document layout changes: an index of another layout is rebuilt.
# 2: each document keeps its row's _xact_id; 3: as a fast field; 4: text without positions.
LAYOUT_VERSION = "4"


def row_key(object_type: str, object_id: str, row_id: str) -> str:
    return f"{object_type}{_SEP}{object_id}{_SEP}{row_id}"


def object_key(object_type: str, object_id: str) -> str:
    return f"{object_type}{_SEP}{object_id}"


def document_sql(words_sql) -> str:
    """SQL (over a table of events) of (key, document JSON) for ``apply``; ``words_sql(f)``
    is the SQL of a field's words."""
    sep = "chr(31)"
    key = f"object_type || {sep} || object_id || {sep} || id"
    fields = ", ".join(f"'{name}', coalesce({words_sql(name)}, '')" for name in TEXT_FIELDS)
    document = (
        f"json_object('key', {key}, 'object', object_type || {sep} || object_id, "
        f"'xact', _xact_id, {fields})"
    )
    return f"{key}, CAST({document} AS VARCHAR)"


class TextIndex:
    """One index folder; safe for one writer (the indexer) and many searchers."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._reset_if_stale()
        builder = tantivy.SchemaBuilder()
        builder.add_text_field("key", stored=True, tokenizer_name="raw")
        builder.add_unsigned_field("xact", stored=True, fast=True)
        builder.add_text_field("object", stored=False, tokenizer_name="raw")
        for name in TEXT_FIELDS:  # no positions: queries are sets of terms, never phrases
            builder.add_text_field(name, stored=False, index_option="freq")
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
        documents: Iterable[tuple[str, str]],
        deleted: Iterable[tuple[str, str, str]],
        watermark: int,
    ) -> None:
        """Replace the documents of ``documents`` ((key, document as JSON text): ``key``,
        ``object``, ``xact`` and each text field's words, see ``row_key``/``object_key``),
        drop ``deleted`` rows ((object_type, object_id, id)), commit, and record
        ``watermark``. Building each document as one JSON text keeps Python work per row to
        two calls."""
        documents = list(documents)
        with self._lock:
            if self._writer is None:
                self._writer = self.index.writer(heap_size=64_000_000, num_threads=1)
            writer = self._writer
            for object_type, object_id, row_id in deleted:
                writer.delete_documents_by_term("key", row_key(object_type, object_id, row_id))
            # Most rows are new: deleting only the keys the index holds costs one lookup of
            # all keys, where a delete per document cost as much as indexing it.
            for key in self._indexed_keys([key for key, _ in documents]):
                writer.delete_documents_by_term("key", key)
            for _key, document in documents:
                writer.add_json(document)
            writer.commit()
            self._watermark_file.write_text(str(watermark))
            self.watermark = watermark
            self.index.reload()

    def _indexed_keys(self, keys: list[str]) -> list[str]:
        """Which of ``keys`` have a document in the index (as of its last commit)."""
        if not keys:
            return []
        searcher = self.index.searcher()
        if searcher.num_docs == 0:
            return []
        query = tantivy.Query.term_set_query(self.schema, "key", keys)
        hits = searcher.search(query, len(keys)).hits
        return [searcher.doc(address)["key"][0] for _score, address in hits]

    def candidates(
        self,
        objects: list[tuple[str, str]],
        tokens: list[str],
        fields: tuple[str, ...] = TEXT_FIELDS,
        limit: int = 5_000,
    ) -> list[tuple[str, int]] | None:
        """(id, _xact_id) of the rows of ``objects`` whose words in one of ``fields`` hold
        every token, or None when the index cannot help: no tokens, a token too long, or
        more than ``limit`` candidates (a scan is then as fast)."""
        query = self._query(objects, tokens, fields)
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
        self,
        objects: list[tuple[str, str]],
        tokens: list[str],
        count: int,
        fields: tuple[str, ...] = TEXT_FIELDS,
    ) -> tuple[list[tuple[str, int]], bool] | None:
        """The ``count`` newest candidates (by ``_xact_id``) as (id, _xact_id), and whether
        they are all the candidates there are; None when the index cannot help."""
        query = self._query(objects, tokens, fields)
        if query is None:
            return None
        searcher = self.index.searcher()
        result = searcher.search(query, count, count=True, order_by_field="xact")
        found = [
            (searcher.doc(address)["key"][0].rsplit(_SEP, 1)[1], xact)
            for xact, address in result.hits
        ]
        return found, result.count <= count

    def _query(self, objects: list[tuple[str, str]], tokens: list[str], fields: tuple[str, ...]):
        if not tokens or any(len(t.encode()) > MAX_TOKEN_BYTES for t in tokens):
            return None
        if not fields or not set(fields) <= set(TEXT_FIELDS):
            return None
        per_field = [
            tantivy.Query.boolean_query(
                [
                    (tantivy.Occur.Must, tantivy.Query.term_query(self.schema, name, token))
                    for token in tokens
                ]
            )
            for name in fields
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
