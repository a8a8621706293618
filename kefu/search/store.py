"""The index on disk: JSON for documents and sections, .npy for vectors and term lists.

No pickle anywhere (np.load with allow_pickle=False), so an index folder is data, never code.
Each save writes a new generation folder and then switches the `CURRENT` pointer file with an
atomic rename, so a crash mid-save leaves the previous index readable.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from kefu.search import analyze
from kefu.search.corpus import Section
from kefu.search.embedding import Embedder
from kefu.search.index import Doc, IndexedDoc, index_doc

FORMAT = 1
POINTER = "CURRENT"


def save_index(path: Path, docs: Sequence[IndexedDoc],
               vectors: dict[str, npt.NDArray[np.float32]], embedder: Embedder) -> None:
    path.mkdir(parents=True, exist_ok=True)
    generation = Path(tempfile.mkdtemp(prefix="gen-", dir=path))
    ordered = sorted(docs, key=lambda d: (d.doc.slug, d.doc.lang))
    hashes = [digest for item in ordered for digest in item.hashes]
    matrix = (np.stack([vectors[digest] for digest in hashes]) if hashes
              else np.zeros((0, embedder.dim), dtype=np.float32))
    terms = [term for item in ordered for section_terms in item.terms for term in section_terms]
    vocab = {term: i for i, term in enumerate(dict.fromkeys(terms))}
    flat = np.array([vocab[term] for term in terms], dtype=np.int32)
    lengths = np.array([len(t) for item in ordered for t in item.terms], dtype=np.int64)
    meta = {"format": FORMAT, "model": embedder.model_id, "dim": embedder.dim,
            "analyzer": analyze.fingerprint(),
            "vocab": list(vocab), "docs": [_doc_json(item) for item in ordered]}
    (generation / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), "utf-8")
    np.save(generation / "vectors.npy", matrix.astype(np.float32))
    np.save(generation / "terms.npy", flat)
    np.save(generation / "lengths.npy", lengths)
    _fsync_folder(generation)
    pointer = path / f".{POINTER}.tmp"
    pointer.write_text(generation.name, "utf-8")
    os.replace(pointer, path / POINTER)
    for old in path.glob("gen-*"):
        if old.name != generation.name:
            shutil.rmtree(old, ignore_errors=True)


def _fsync_folder(folder: Path) -> None:
    for file in folder.iterdir():
        with file.open("rb") as handle:
            os.fsync(handle.fileno())


def _doc_json(item: IndexedDoc) -> dict[str, Any]:
    doc = item.doc
    return {"slug": doc.slug, "lang": doc.lang, "title": doc.title, "body": doc.body,
            "category": doc.category, "section": doc.section, "tags": list(doc.tags),
            "summary": doc.summary, "hashes": list(item.hashes), "plains": list(item.plains),
            "sections": [[s.heading, s.anchor, s.text] for s in item.sections],
            "words": sorted(item.words)}


def load_index(path: Path, embedder: Embedder
               ) -> tuple[list[IndexedDoc], dict[str, npt.NDArray[np.float32]]]:
    pointer = path / POINTER
    if not pointer.is_file():
        raise ValueError(f"{path}: no search index here (no {POINTER} file)")
    generation = path / pointer.read_text("utf-8").strip()
    try:
        meta = json.loads((generation / "meta.json").read_text("utf-8"))
        matrix = np.load(generation / "vectors.npy", allow_pickle=False)
        flat = np.load(generation / "terms.npy", allow_pickle=False)
        lengths = np.load(generation / "lengths.npy", allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{generation}: unreadable search index: {exc}") from exc
    if meta.get("format") != FORMAT:
        raise ValueError(f"{generation}: index format {meta.get('format')}, expected {FORMAT}")
    if meta.get("model") != embedder.model_id:
        raise ValueError(f"{generation}: built with {meta.get('model')}, not "
                         f"{embedder.model_id}; rebuild the index")
    docs, vectors = _read_docs(generation, meta, matrix, flat, lengths)
    if meta.get("analyzer") != analyze.fingerprint():
        # Analyzed by another dictionary or pipeline: the terms again, the vectors kept (a
        # passage's hash does not depend on the analyzer).
        docs = [index_doc(item.doc, embedder.model_id) for item in docs]
        if any(digest not in vectors for item in docs for digest in item.hashes):
            raise ValueError(f"{generation}: sections changed with the analyzer; rebuild")
    return docs, vectors


def _read_docs(generation: Path, meta: dict[str, Any], matrix: npt.NDArray[np.float32],
               flat: npt.NDArray[np.int32], lengths: npt.NDArray[np.int64]
               ) -> tuple[list[IndexedDoc], dict[str, npt.NDArray[np.float32]]]:
    vocab: list[str] = meta["vocab"]
    docs: list[IndexedDoc] = []
    vectors: dict[str, npt.NDArray[np.float32]] = {}
    unit = offset = 0
    try:
        for entry in meta["docs"]:
            sections = tuple(Section(heading=h, anchor=a, text=t) for h, a, t in entry["sections"])
            terms = []
            for _ in sections:
                length = int(lengths[unit])
                terms.append(tuple(vocab[i] for i in flat[offset:offset + length].tolist()))
                offset += length
                unit += 1
            for digest, row in zip(entry["hashes"], matrix[unit - len(sections):unit],
                                   strict=True):
                vectors[digest] = row
            doc = Doc(slug=entry["slug"], lang=entry["lang"], title=entry["title"],
                      body=entry["body"], category=entry["category"], section=entry["section"],
                      tags=tuple(entry["tags"]), summary=entry["summary"])
            docs.append(IndexedDoc(doc=doc, sections=sections, plains=tuple(entry["plains"]),
                                   terms=tuple(terms), hashes=tuple(entry["hashes"]),
                                   words=frozenset(entry["words"])))
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise ValueError(f"{generation}: damaged search index: {exc!r}") from exc
    if unit != len(matrix) or offset != len(flat):
        raise ValueError(f"{generation}: damaged search index: sizes do not match")
    return docs, vectors
