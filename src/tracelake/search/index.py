"""A tantivy index of the words in each row's input, output, expected, metadata and
span_attributes, with a watermark: the largest ``_xact_id`` it has absorbed.

The index narrows: a query asks it for the rows that may match, the engine checks the
candidates (unless they are exactly the answer, see query/indexed.py), and rows newer than
the watermark are checked by a scan, so a result is never stale.

The text comes lower-cased by DuckDB, as MATCH and ILIKE lower-case it, with the
characters where MATCH splits words and tantivy would not blanked (see
store/indexing.py). Words are split and lower-cased as tantivy's default tokenizer does
(which then changes nothing), but kept up to
``LONG_TOKEN_BYTES`` (the default drops words of 40 bytes or more): a LIKE fragment may lie
inside a long word (a hash, a base64 run). A field whose words text reaches
``LONG_TEXT_BYTES`` may hold a word longer still, so its document lists the field in
``long``, and LIKE lookups always include such documents. A MATCH word is a whole word,
so one shorter than ``LONG_TOKEN_BYTES`` is in every document that holds it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import threading
import time
from collections.abc import Iterable
from pathlib import Path

import tantivy

from tracelake.model.words import Fragment

TEXT_FIELDS = ("input", "output", "expected", "metadata", "span_attributes")
# Words of this many bytes or more are dropped (before lower-casing, which at most makes a
# word 1.5 times longer: tantivy refuses terms over 65,530 bytes).
LONG_TOKEN_BYTES = 40_000
MAX_TOKEN_BYTES = LONG_TOKEN_BYTES - 1  # the longest MATCH word looked up
LONG_TEXT_BYTES = 30_000  # a field's words text this long is listed in ``long``
TOKENIZER = "words"
# A row key longer than this is looked up by its hash (``ref``): tantivy skips a term over
# 65,530 bytes, so a document of a longer key (a row id that long) could never be replaced
# or deleted, and MATCH kept finding the row by the words of its old versions.
KEY_TERM_BYTES = 60_000
CROWDED_TTL = 300.0  # seconds a lookup with too many candidates is not asked again
_SEP = "\x1f"
# Bumped when the document layout changes: an index of another layout is rebuilt.
# 2: each document keeps its row's _xact_id; 3: as a fast field; 4: text without positions;
# 5: words up to LONG_TOKEN_BYTES, and the ``long`` field; 6: text lower-cased by DuckDB;
# 7: non-ASCII characters that are not letters or digits blanked (words split as MATCH's);
# 8: documents found by ``ref`` (a long key's hash), not by the key itself.
LAYOUT_VERSION = "8"

log = logging.getLogger(__name__)


def row_key(object_type: str, object_id: str, row_id: str) -> str:
    return f"{object_type}{_SEP}{object_id}{_SEP}{row_id}"


def object_key(object_type: str, object_id: str) -> str:
    return f"{object_type}{_SEP}{object_id}"


def key_ref(key: str) -> str:
    """The term a document of ``key`` is found by (to replace or delete it): the key itself,
    or ``#`` and its SHA-256 when it is longer than KEY_TERM_BYTES (a key begins with an
    object type, never with ``#``). ``document_sql`` computes the same in DuckDB."""
    data = key.encode()
    return key if len(data) <= KEY_TERM_BYTES else "#" + hashlib.sha256(data).hexdigest()


def _row_id(key: str) -> str:
    """The row id of a ``row_key``: all after the object's part, which holds no separator
    (a row id may: the last part alone was a wrong id, and the row was never a candidate)."""
    return key.split(_SEP, 2)[2]


def document_sql(words_sql, rows: str) -> str:
    """SQL of (key, document JSON) for ``apply`` of the events of ``rows`` (a table or a
    subquery); ``words_sql(f)`` is the SQL of a field's words."""
    sep = "chr(31)"
    key = f"object_type || {sep} || object_id || {sep} || id"
    words = ", ".join(f"coalesce({words_sql(name)}, '') AS w_{name}" for name in TEXT_FIELDS)
    fields = ", ".join(f"'{name}', w_{name}" for name in TEXT_FIELDS)
    long = ", ".join(
        f"CASE WHEN strlen(w_{name}) >= {LONG_TEXT_BYTES} THEN '{name}' END" for name in TEXT_FIELDS
    )
    ref = f"CASE WHEN strlen(key) <= {KEY_TERM_BYTES} THEN key ELSE '#' || sha256(key) END"
    document = (
        f"json_object('key', key, 'ref', {ref}, 'object', object_type || {sep} || object_id, "
        f"'xact', _xact_id, {fields}, 'long', list_filter([{long}], lambda f: f IS NOT NULL))"
    )
    return f"""SELECT key, CAST({document} AS VARCHAR)
        FROM (SELECT {key} AS key, object_type, object_id, _xact_id, {words} FROM {rows})"""


class TextIndex:
    """One index folder; safe for one writer (the indexer) and many searchers."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._reset_if_stale()
        builder = tantivy.SchemaBuilder()
        builder.add_text_field("key", stored=True, tokenizer_name="raw")
        builder.add_text_field("ref", stored=False, tokenizer_name="raw")  # see key_ref
        builder.add_unsigned_field("xact", stored=True, fast=True)
        builder.add_text_field("object", stored=False, tokenizer_name="raw")
        builder.add_text_field("long", stored=False, tokenizer_name="raw")
        for name in TEXT_FIELDS:  # no positions: queries are sets of terms, never phrases
            builder.add_text_field(
                name, stored=False, tokenizer_name=TOKENIZER, index_option="freq"
            )
        self.schema = builder.build()
        try:
            self.index = self._open()
        except ValueError as error:
            # A damaged folder (a file cut short or missing, a bad meta.json) is only a
            # cache of the database: start over, and the engine scans while it is rebuilt.
            log.warning("search index at %s is unreadable, rebuilding it: %s", self.path, error)
            self._start_over()
            self.index = self._open()
        self._writer = None
        self._lock = threading.Lock()
        self._watermark_file = self.path / "watermark"
        # Lookups that found more candidates than their limit lately: (kind, objects,
        # tokens, fields, limit) -> when. Words only gain rows as the index grows.
        self._crowded: dict[tuple, float] = {}
        # ``absorbed``: the newest _xact_id of a row in history up to the watermark (which
        # may pass it: a comment or a failed write takes an xact and leaves no row), None
        # when not recorded (an index written before it was).
        self.watermark, self.absorbed = self._read_watermark()

    def _open(self):
        index = tantivy.Index(self.schema, path=str(self.path))
        # Only ``apply`` reloads the searchers, after its commit and before it moves the
        # watermark. tantivy's own reload after a commit runs in a thread of its own and
        # could store the searchers of an older commit over the newer ones (seen on a
        # loaded machine: a row below the watermark not found, so never scanned either).
        index.config_reader(reload_policy="Manual")
        analyzer = (
            tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
            .filter(tantivy.Filter.remove_long(LONG_TOKEN_BYTES))
            .filter(tantivy.Filter.lowercase())
            .build()
        )
        index.register_tokenizer(TOKENIZER, analyzer)
        return index

    def discard(self) -> None:
        """Start over empty, watermark 0 (the indexer rebuilds it). The watermark drops
        before the empty index replaces this one: a query that read the old watermark and
        then searched sees it drop once its search is done, and scans instead (see
        ``export.queries``)."""
        with self._lock:
            self.watermark, self.absorbed = 0, 0
            self._writer = None
            self._start_over()
            self.index = self._open()
            self._crowded.clear()

    def rewind(self, watermark: int) -> None:
        """Take the watermark back to ``watermark`` (the documents stay): the indexer then
        takes the rows past it again."""
        with self._lock:
            self.watermark = min(self.watermark, watermark)
            self._record_watermark(self.watermark)

    def missing(self) -> bool:
        """Whether the folder lost the index (deleted while the server runs): commits
        then fail, and the index would never catch up again."""
        return not (self.path / "meta.json").exists()

    def _reset_if_stale(self) -> None:
        """Start over (watermark 0: the indexer rebuilds it) if the folder holds an index of
        another layout, or none: without meta.json (deleted, or every index file with it)
        tantivy would open a new empty index under the old watermark, which claims every row
        it had absorbed (MATCH found none of them). The engine scans meanwhile, so answers
        stay complete."""
        layout = self.path / "layout"
        if self.path.exists() and (
            not layout.exists()
            or layout.read_text().strip() != LAYOUT_VERSION
            or not (self.path / "meta.json").exists()
        ):
            self._start_over()
        self.path.mkdir(parents=True, exist_ok=True)
        layout.write_text(LAYOUT_VERSION)

    def _start_over(self) -> None:
        """An empty folder of this layout (watermark 0: the indexer rebuilds the index)."""
        shutil.rmtree(self.path, ignore_errors=True)
        self.path.mkdir(parents=True, exist_ok=True)
        (self.path / "layout").write_text(LAYOUT_VERSION)

    def _read_watermark(self) -> tuple[int, int | None]:
        return _read_watermark(self._watermark_file)

    def apply(
        self,
        documents: Iterable[tuple[str, str]],
        deleted: Iterable[tuple[str, str, str]],
        watermark: int,
        absorbed: int | None = None,
    ) -> None:
        """Replace the documents of ``documents`` ((key, document as JSON text): ``key``,
        ``object``, ``xact`` and each text field's words, see ``row_key``/``object_key``),
        drop ``deleted`` rows ((object_type, object_id, id)), commit, and record
        ``watermark`` and ``absorbed`` (the newest _xact_id of a row in history up to it,
        if the chunk held one). Building each document as one JSON text keeps Python work
        per row to two calls."""
        documents = list(documents)
        with self._lock:
            if self._writer is None:
                self._writer = self.index.writer(heap_size=64_000_000, num_threads=1)
            writer = self._writer
            try:
                for object_type, object_id, row_id in deleted:
                    writer.delete_documents_by_term(
                        "ref", key_ref(row_key(object_type, object_id, row_id))
                    )
                # Most rows are new: deleting only the keys the index holds costs one lookup
                # of all keys, where a delete per document cost as much as indexing it.
                for ref in self._indexed_refs([key_ref(key) for key, _ in documents]):
                    writer.delete_documents_by_term("ref", ref)
                for _key, document in documents:
                    writer.add_json(document)
                writer.commit()
            except BaseException:
                # After a commit that failed (a full disk), the writer's next commit saved
                # none of its documents, yet the watermark passed them: MATCH missed every
                # row of that chunk for good. Back to the last commit, or a new writer.
                try:
                    writer.rollback()
                except ValueError:
                    self._writer = None
                raise
            # Searchers see the commit once reloaded: before the watermark says they do, or
            # a query in between took the new rows as indexed and found none of them.
            self.index.reload()
            if absorbed is not None:
                self.absorbed = absorbed
            self._record_watermark(watermark)
            self.watermark = watermark

    def _record_watermark(self, watermark: int) -> None:
        """Write the watermark (and ``absorbed``) to its file: a new file moved over the old,
        so a crash mid-write leaves the old numbers, not a cut-short one (which read as a
        far lower watermark: the whole index taken again)."""
        recorded = str(watermark)
        if self.absorbed is not None:
            recorded += f" {self.absorbed}"
        partial = self._watermark_file.with_name("watermark.partial")
        partial.write_text(recorded)
        os.replace(partial, self._watermark_file)

    def _indexed_refs(self, refs: list[str]) -> list[str]:
        """Which of ``refs`` (see ``key_ref``) have a document in the index (as of its last
        commit)."""
        if not refs:
            return []
        searcher = self.index.searcher()
        if searcher.num_docs == 0:
            return []
        query = tantivy.Query.term_set_query(self.schema, "ref", refs)
        hits = searcher.search(query, len(refs)).hits
        return [key_ref(searcher.doc(address)["key"][0]) for _score, address in hits]

    def candidates(
        self,
        objects: list[tuple[str, str]],
        tokens: list[str | Fragment],
        fields: tuple[str, ...] = TEXT_FIELDS,
        limit: int = 5_000,
    ) -> list[tuple[str, int]] | None:
        """(id, _xact_id) of the rows of ``objects`` whose words in one of ``fields`` hold
        every token (a MATCH word, or a LIKE fragment: see ``_token_query``), or None when
        the index cannot help: no tokens, a word too long, or more than ``limit``
        candidates (a scan is then as fast)."""
        query = self._query(objects, tokens, fields)
        if query is None:
            return None
        crowd = ("all", tuple(objects), tuple(tokens), fields, limit)
        if self._crowded_lately(crowd):
            return None
        searcher = self.index.searcher()
        # Ordered by the fast field, not scored: only the keys are read from the documents.
        result = searcher.search(query, limit + 1, order_by_field="xact")
        if len(result.hits) > limit:
            self._record_crowded(crowd)
            return None
        return [(_row_id(searcher.doc(address)["key"][0]), xact) for xact, address in result.hits]

    def newest_candidates(
        self,
        objects: list[tuple[str, str]],
        tokens: list[str | Fragment],
        count: int,
        fields: tuple[str, ...] = TEXT_FIELDS,
        most: int | None = None,
    ) -> tuple[list[tuple[str, int]], bool] | None:
        """The ``count`` newest candidates (by ``_xact_id``) as (id, _xact_id), and whether
        they are all the candidates there are; None when the index cannot help (or there
        are more than ``most`` candidates)."""
        query = self._query(objects, tokens, fields)
        if query is None:
            return None
        crowd = ("newest", tuple(objects), tuple(tokens), fields, most)
        if most is not None and self._crowded_lately(crowd):
            return None
        searcher = self.index.searcher()
        result = searcher.search(query, count, count=True, order_by_field="xact")
        if most is not None and result.count > most:
            self._record_crowded(crowd)
            return None
        found = [(_row_id(searcher.doc(address)["key"][0]), xact) for xact, address in result.hits]
        return found, result.count <= count

    def _crowded_lately(self, key: tuple) -> bool:
        """Whether the lookup ``key`` found too many candidates in the last CROWDED_TTL
        seconds: asking again would cost as much (a LIKE fragment's regex walks every word
        of the field, 6-16 ms on 1M spans) to scan all the same."""
        since = self._crowded.get(key)
        return since is not None and time.monotonic() - since < CROWDED_TTL

    def _record_crowded(self, key: tuple) -> None:
        if len(self._crowded) > 1_000:
            self._crowded.clear()
        self._crowded[key] = time.monotonic()

    def _query(self, objects: list[tuple[str, str]], tokens: list, fields: tuple[str, ...]):
        """The query of the rows of ``objects`` whose words in one of ``fields`` hold every
        token: a MATCH word (a string) or a LIKE ``Fragment``; None when it cannot be asked."""
        if not tokens or any(
            isinstance(t, str) and len(t.encode()) > MAX_TOKEN_BYTES for t in tokens
        ):
            return None
        if not fields or not set(fields) <= set(TEXT_FIELDS):
            return None
        per_field = []
        for name in fields:
            words = tantivy.Query.boolean_query(
                [(tantivy.Occur.Must, self._token_query(name, token)) for token in tokens]
            )
            if any(isinstance(t, Fragment) for t in tokens):
                # A word past LONG_TOKEN_BYTES was dropped: such a field is listed instead.
                long = tantivy.Query.term_query(self.schema, "long", name)
                words = tantivy.Query.boolean_query(
                    [(tantivy.Occur.Should, words), (tantivy.Occur.Should, long)]
                )
            per_field.append(words)
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

    def _token_query(self, name: str, token):
        """A MATCH word's term, or the words holding a LIKE fragment: the word itself when
        it is a whole word, else a regex over the words (a prefix is cheap; an infix walks
        every word of the field, ~7 ms for 100k words)."""
        if isinstance(token, str):
            return tantivy.Query.term_query(self.schema, name, token)
        if token.starts_word and token.ends_word:
            return tantivy.Query.term_query(self.schema, name, token.text)
        body = token.text  # ASCII letters and digits: nothing to escape
        before = "" if token.starts_word else ".*"
        after = "" if token.ends_word else ".*"
        return tantivy.Query.regex_query(self.schema, name, f"{before}{body}{after}")


def _read_watermark(path: Path) -> tuple[int, int | None]:
    """(watermark, absorbed) from the file ("<watermark> <absorbed>"; an older file holds
    the watermark only)."""
    try:
        numbers = [int(n) for n in path.read_text().split()]
    except (FileNotFoundError, ValueError):
        return 0, 0
    if not numbers:
        return 0, 0
    return numbers[0], numbers[1] if len(numbers) > 1 else None


def stored_watermark(folder: Path) -> int:
    """The watermark the index in ``folder`` records (0 if none), without opening it."""
    return _read_watermark(folder / "watermark")[0]
