"""Builds ``kefu/guard/data/zh_common_pairs.txt``: the commonest two-character Chinese words made of
BIP39 Chinese list characters, which tell an ordinary Chinese sentence from a seed phrase.

Source: jieba's ``dict.txt`` (MIT licence; jieba is a Kefu dependency), words of two characters
that are both in a BIP39 Chinese list, the ``TOP`` most frequent. Measured on 12-character windows:
random phrases hold two or more of these words 5 times in 10,000, real Chinese support text 99
times in 100. Rebuild after a jieba upgrade:

    .venv/bin/python -m tests.guard.corpus_zh_pairs
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from kefu.guard.bip39 import CHINESE, PAIRS_PATH

TOP = 20000
HEADER = (f"# The {TOP} commonest two-character words of jieba's dict.txt (MIT licence) made of\n"
          "# BIP39 Chinese list characters; built by tests/guard/corpus_zh_pairs.py.\n")


def build_pairs() -> list[str]:
    """The ``TOP`` most frequent qualifying words, most frequent first (ties by word)."""
    chars = set(CHINESE[0].index) | set(CHINESE[1].index)
    frequency: dict[str, int] = {}
    text = (files("jieba") / "dict.txt").read_text("utf-8")
    for line in text.splitlines():
        word, count, *_ = line.split(" ")
        if len(word) == 2 and word[0] in chars and word[1] in chars:
            frequency[word] = max(frequency.get(word, 0), int(count))
    ranked = sorted(frequency, key=lambda w: (-frequency[w], w))
    return ranked[:TOP]


def render(pairs: list[str]) -> str:
    return HEADER + "\n".join(pairs) + "\n"


def main() -> None:
    Path(str(PAIRS_PATH)).write_text(render(build_pairs()), "utf-8")


if __name__ == "__main__":
    main()
