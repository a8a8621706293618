"""Spelling correction and prefix completion against the indexed vocabulary."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from kefu.search.spelling import SpellingIndex, damerau_levenshtein


def test_distance_examples() -> None:
    assert damerau_levenshtein("withdrawl", "withdrawal") == 1
    assert damerau_levenshtein("pendng", "pending") == 1
    assert damerau_levenshtein("depsoit", "deposit") == 1  # transposition
    assert damerau_levenshtein("", "abc") == 3


@given(st.text(max_size=8), st.text(max_size=8))
def test_distance_is_symmetric_and_bounded(a: str, b: str) -> None:
    d = damerau_levenshtein(a, b)
    assert d == damerau_levenshtein(b, a)
    assert abs(len(a) - len(b)) <= d <= max(len(a), len(b))
    assert (d == 0) == (a == b)


INDEX = SpellingIndex({"withdrawal": 9, "withdrawals": 3, "pending": 5, "deposit": 8,
                       "depositing": 1, "verification": 2, "fee": 7})


def test_corrects_one_and_two_edit_typos() -> None:
    assert INDEX.correct("withdrawl")[0].word == "withdrawal"
    assert INDEX.correct("pendng")[0].word == "pending"
    assert INDEX.correct("depsoit")[0].word == "deposit"
    assert INDEX.correct("verifcaton")[0].word == "verification"


def test_known_and_short_words_are_left_alone() -> None:
    assert INDEX.correct("deposit") == []
    assert INDEX.correct("fea") == []
    assert INDEX.correct("zzzzzzzz") == []


def test_completes_unfinished_words_by_frequency() -> None:
    assert INDEX.complete("withdr") == ["withdrawal", "withdrawals"]
    assert INDEX.complete("wi") == []
