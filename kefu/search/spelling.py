"""Typo tolerance for Latin query words: "withdrawl pendng" still finds "withdrawal pending".

Only words the index does not know are corrected, against the words the indexed articles really
use (their surface forms, before stemming: "pendng" is one edit from "pending" but two from the
stem "pend"). Candidates come from a symmetric-delete table (SymSpell): every indexed word
is stored under itself and its one-letter deletions (two-letter ones for long words), and a
query word is looked up the same way, so a lookup costs a few dozen dict probes whatever the
vocabulary size. Candidates are then checked with a
true Damerau-Levenshtein distance. The last query word may also be an unfinished prefix
("withdr"), as in instant search.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import combinations

MIN_CORRECTABLE = 4
"""Shorter words are left alone: too many real words are one edit from "fee" or "api"."""
LONG_WORD = 7
"""From this length on, two edits are allowed."""
MIN_PREFIX = 3


def max_edits(word: str) -> int:
    if len(word) < MIN_CORRECTABLE:
        return 0
    return 2 if len(word) >= LONG_WORD else 1


def _deletes(word: str, n: int) -> set[str]:
    return {"".join(word[i] for i in range(len(word)) if i not in drop)
            for drop in combinations(range(len(word)), n)}


def damerau_levenshtein(a: str, b: str) -> int:
    """Edit distance with adjacent transpositions (optimal string alignment)."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


@dataclass(frozen=True)
class Suggestion:
    word: str
    distance: int


class SpellingIndex:
    """Words of the index with their document frequencies, for correction and completion."""

    def __init__(self, frequencies: Mapping[str, int]) -> None:
        self._frequencies = dict(frequencies)
        self._by_delete: dict[str, list[str]] = defaultdict(list)
        for word in self._frequencies:
            if len(word) < MIN_CORRECTABLE - 1:
                continue
            variants = {word} | _deletes(word, 1)
            if len(word) >= LONG_WORD:
                variants |= _deletes(word, 2)
            for variant in variants:
                self._by_delete[variant].append(word)
        self._sorted = sorted(self._frequencies)

    def __contains__(self, word: object) -> bool:
        return word in self._frequencies

    def correct(self, word: str, *, limit: int = 2) -> list[Suggestion]:
        """Known words closest to an unknown word, nearest first, then most frequent."""
        edits = max_edits(word)
        if not edits or word in self._frequencies:
            return []
        probes = {word} | _deletes(word, 1)
        if edits >= 2 and len(word) <= 16:
            probes |= _deletes(word, 2)
        candidates = {known for probe in probes for known in self._by_delete.get(probe, ())}
        scored = []
        for known in candidates:
            distance = damerau_levenshtein(word, known)
            if distance <= edits:
                scored.append(Suggestion(known, distance))
        scored.sort(key=lambda s: (s.distance, -self._frequencies[s.word], s.word))
        return scored[:limit]

    def complete(self, prefix: str, *, limit: int = 3) -> list[str]:
        """The most frequent known words that start with an unfinished prefix."""
        if len(prefix) < MIN_PREFIX or prefix in self._frequencies:
            return []
        start = bisect.bisect_left(self._sorted, prefix)
        matches: list[str] = []
        for word in self._sorted[start:]:
            if not word.startswith(prefix):
                break
            matches.append(word)
        matches.sort(key=lambda w: (-self._frequencies[w], w))
        return matches[:limit]


def frequencies_of(word_sets: Iterable[Iterable[str]]) -> dict[str, int]:
    """Document frequency of each word over documents given as word sets."""
    counts: dict[str, int] = defaultdict(int)
    for words in word_sets:
        for word in words:
            counts[word] += 1
    return dict(counts)
