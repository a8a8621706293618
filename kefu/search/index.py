"""What the index holds: documents, their sections and terms, and the immutable snapshot
that searches read (built in one go after each change, never mutated afterwards)."""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import bm25s
import numpy as np
import numpy.typing as npt

from kefu.search import analyze
from kefu.search.corpus import ArticleFile, Section, plain_text, split_sections
from kefu.search.spelling import SpellingIndex, frequencies_of

Mode = Literal["hybrid", "bm25", "vector"]
MODES: tuple[Mode, ...] = ("bm25", "vector", "hybrid")

PASSAGE_CHARS = 2000
"""Passages are cut here: e5 reads ~512 tokens at a time and the start carries the topic."""


@dataclass(frozen=True)
class Doc:
    """One article in one language, as the KB module hands it to search."""

    slug: str
    lang: str
    title: str
    body: str
    category: str = ""
    section: str = ""
    tags: tuple[str, ...] = ()
    summary: str = ""

    @classmethod
    def from_article(cls, article: ArticleFile) -> Doc:
        return cls(slug=article.slug, lang=article.lang, title=article.title, body=article.body,
                   category=article.category, section=article.section, tags=article.tags,
                   summary=article.summary)


@dataclass(frozen=True)
class Hit:
    """One article in a result list, in the translation shown. `score` orders the list (fused
    ranks in hybrid mode: comparable within one result list only). `section` is the
    best-matching section (anchor "" is the intro). For callers that need a confidence rather
    than a rank (the assistant, content-gap reports): `bm25` is the translation's keyword score
    (0 when no query word matched; 0 in vector mode) and `cosine` the raw e5 cosine of its
    closest section (unrelated text ~0.8, close paraphrase ~0.9; 0 in bm25 mode).
    `content_words` counts the query's words that say what it is about (stop words, bare
    numbers and negations do not): none, and nothing is relevant."""

    slug: str
    lang: str
    title: str
    score: float
    section: Section | None
    snippet: str
    bm25: float = 0.0
    cosine: float = 0.0
    evidence: tuple[Evidence, ...] = ()
    content_words: int = 0


@dataclass(frozen=True)
class Evidence:
    """How one translation of a hit's article meets the query, for relevance decisions
    (``kefu.kb.finder``): the raw e5 cosine of its closest section (0 in bm25 mode) and the
    share of the query's content words it contains, a spelling correction or completion
    counting for the word (0 when the query has no content word)."""

    lang: str
    cosine: float
    coverage: float


@dataclass(frozen=True)
class IndexedDoc:
    """A document as indexed: its sections and, per section, plain text, BM25 terms and the
    content hash of the embedded passage."""

    doc: Doc
    sections: tuple[Section, ...]
    plains: tuple[str, ...]
    terms: tuple[tuple[str, ...], ...]
    hashes: tuple[str, ...]
    words: frozenset[str] = field(default_factory=frozenset)

    @cached_property
    def footer(self) -> tuple[bool, ...]:
        """Per section, whether it is the footer articles share ("Still need help?",
        ``analyze.is_boilerplate``); none when every section is."""
        marks = tuple(analyze.is_boilerplate(section.heading) for section in self.sections)
        return tuple(False for _ in marks) if all(marks) else marks

    @cached_property
    def term_set(self) -> frozenset[str]:
        """Every BM25 term of the document but its shared footer's (it names 2FA codes, TxIDs
        and stolen accounts in every article): which query words it holds."""
        return frozenset(term for terms, footer in zip(self.terms, self.footer, strict=True)
                         if not footer for term in terms)


@dataclass(frozen=True)
class Snapshot:
    """Everything a search reads, built in one go after each change and then never mutated."""

    docs: tuple[IndexedDoc, ...]
    unit_doc: npt.NDArray[np.int32]
    doc_start: npt.NDArray[np.int64]
    doc_units: npt.NDArray[np.float32]
    doc_slug: npt.NDArray[np.int32]
    doc_category: npt.NDArray[np.str_]
    slugs: tuple[str, ...]
    slug_docs: tuple[tuple[int, ...], ...]
    slug_scripts: dict[str, npt.NDArray[np.bool_]]
    languages: frozenset[str]
    bm25: bm25s.BM25 | None
    vocab: dict[str, int]
    vectors: npt.NDArray[np.float32]
    unit_language: npt.NDArray[np.int32]
    centroids: npt.NDArray[np.float32]
    doc_means: npt.NDArray[np.float32]
    doc_language: npt.NDArray[np.int32]
    spelling: SpellingIndex


def _validate(doc: Doc) -> None:
    for name in ("slug", "lang", "title", "body"):
        if not getattr(doc, name).strip():
            raise ValueError(f"article {doc.slug or '?'}/{doc.lang or '?'}: '{name}' is empty")


def passage_text(doc: Doc, section: Section, plain: str) -> str:
    """What is embedded for a section: the title gives every section its topic."""
    lead = doc.summary if not section.anchor else section.heading
    return "\n".join(part for part in (doc.title, lead, plain) if part)[:PASSAGE_CHARS]


def _keyword_text(doc: Doc, section: Section, plain: str) -> str:
    parts = [doc.title, " ".join(doc.tags)]
    parts.append(doc.summary if not section.anchor else section.heading)
    parts.append(plain)
    return "\n".join(parts)


def _hash(model_id: str, text: str) -> str:
    return hashlib.blake2b(f"{model_id}\0{text}".encode(), digest_size=16).hexdigest()


def index_doc(doc: Doc, model_id: str) -> IndexedDoc:
    """Split, analyze and hash one document (no embedding: that is batched by the engine)."""
    _validate(doc)
    sections = split_sections(doc.body, doc.title) or [
        Section(heading=doc.title, anchor="", text=doc.body)]
    plains = tuple(plain_text(section.text) for section in sections)
    terms: list[tuple[str, ...]] = []
    words: set[str] = set()
    for section, plain in zip(sections, plains, strict=True):
        pairs = list(analyze.surface_terms(_keyword_text(doc, section, plain)))
        terms.append(tuple(sys.intern(term) for _, term in pairs))
        words.update(surface for surface, term in pairs if surface.isascii() and surface.isalpha())
    hashes = tuple(_hash(model_id, passage_text(doc, s, p)) for s, p in zip(sections, plains,
                                                                             strict=True))
    return IndexedDoc(doc=doc, sections=tuple(sections), plains=plains, terms=tuple(terms),
                      hashes=hashes, words=frozenset(words))


def build_snapshot(docs: Sequence[IndexedDoc], vectors: dict[str, npt.NDArray[np.float32]],
                    dim: int) -> Snapshot:
    unit_doc: list[int] = []
    doc_start: list[int] = []
    for i, item in enumerate(docs):
        doc_start.append(len(unit_doc))
        unit_doc.extend([i] * len(item.sections))
    slugs = tuple(sorted({item.doc.slug for item in docs}))
    slug_index = {slug: i for i, slug in enumerate(slugs)}
    doc_slug = np.array([slug_index[item.doc.slug] for item in docs], dtype=np.int32)
    slug_docs: list[list[int]] = [[] for _ in slugs]
    for i, item in enumerate(docs):
        slug_docs[slug_index[item.doc.slug]].append(i)
    scripts: dict[str, npt.NDArray[np.bool_]] = {}
    for i, item in enumerate(docs):
        for script in analyze.language_scripts(item.doc.lang):
            scripts.setdefault(script, np.zeros(len(slugs), dtype=np.bool_))[doc_slug[i]] = True
    vocab: dict[str, int] = {}
    corpus_ids = [[vocab.setdefault(term, len(vocab)) for term in terms]
                  for item in docs for terms in item.terms]
    bm25 = None
    if corpus_ids and vocab:
        bm25 = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
        bm25.index((corpus_ids, vocab), create_empty_token=False, show_progress=False)
    words = frequencies_of(item.words for item in docs)
    matrix = (np.stack([vectors[digest] for item in docs for digest in item.hashes])
              if docs else np.zeros((0, dim), dtype=np.float32))
    unit_language, centroids = _language_centroids(docs, matrix, unit_doc)
    starts = np.array(doc_start, dtype=np.int64)
    counts = np.array([len(item.sections) for item in docs], dtype=np.float32)
    doc_means = (np.add.reduceat(matrix, starts, axis=0) / counts[:, None] if docs
                 else np.zeros((0, dim), dtype=np.float32))
    return Snapshot(
        docs=tuple(docs), unit_doc=np.array(unit_doc, dtype=np.int32),
        doc_start=starts, doc_units=counts,
        doc_slug=doc_slug, doc_category=np.array([item.doc.category for item in docs], dtype=str),
        slugs=slugs,
        slug_docs=tuple(tuple(d) for d in slug_docs), slug_scripts=scripts,
        languages=frozenset(analyze.primary_language(item.doc.lang) for item in docs),
        bm25=bm25, vocab=vocab, vectors=np.ascontiguousarray(matrix, dtype=np.float32),
        unit_language=unit_language, centroids=centroids,
        doc_means=doc_means.astype(np.float32), doc_language=unit_language[starts],
        spelling=SpellingIndex(words))




CENTROID_PRIOR = 5
"""Pseudo-count of the all-sections centroid mixed into each language's: a language with
few sections gets mostly the overall centroid, one with many gets its own."""


def _language_centroids(docs: Sequence[IndexedDoc], matrix: npt.NDArray[np.float32],
                        unit_doc: list[int]
                        ) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float32]]:
    """The mean section vector of each language, and each section's row in that table.

    e5 scores a query higher against any text in its own language than against a translation
    of the right answer. Subtracting the query's similarity to a language's centroid removes
    that offset (and damps "hub" sections that are close to everything), so a Chinese query
    meets English sections on equal terms."""
    languages = [analyze.primary_language(docs[d].doc.lang) for d in unit_doc]
    if not languages:
        return np.zeros(0, dtype=np.int32), np.zeros((1, matrix.shape[1]), dtype=np.float32)
    names = sorted(set(languages))
    row_of = {name: i for i, name in enumerate(names)}
    unit_language = np.array([row_of[language] for language in languages], dtype=np.int32)
    overall = matrix.mean(axis=0)
    rows = []
    for i in range(len(names)):
        own = matrix[unit_language == i]
        rows.append((own.sum(axis=0) + CENTROID_PRIOR * overall) / (len(own) + CENTROID_PRIOR))
    return unit_language, np.stack(rows).astype(np.float32)
