"""BIP39 seed phrases pasted into a message: English and Chinese word lists, checksum validated.

Word lists come from the ``mnemonic`` package (the reference implementation's lists), read once
at import. A phrase is 12, 15, 18, 21 or 24 words whose last bits are a SHA-256 checksum of the
rest, so a random run of list words passes only one time in 16 (12 words) to 256 (24 words).
Outside seed context only checksum-valid phrases are reported; in seed context ("seed phrase",
"助记词", ...) any run of 12 or more list words is, because a phrase with a typo is still a secret
(in context, English words may also be typed as their first four letters, as wallets accept).

English list words are never 12 in a row in real support text (0 in 188,526 real messages), so
runs are rare and the checksum settles them. Chinese characters separated by spaces, commas or
numbers are treated like English words. Unseparated Chinese is harder: every list word is a
common character and ordinary sentences hold runs of 12 of them one time in ten, so such a run
counts only after a seed label, or standing alone, and only when it does not read like a
sentence (see ``_chinese_contiguous``)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

PHRASE_LENGTHS = (24, 21, 18, 15, 12)
MIN_WORDS = 12

_CJK = "\u3400-\u4dbf\u4e00-\u9fff"

# Twelve or more word-like tokens of 3-8 letters, separated only by short non-letter gaps
# (spaces, newlines, commas, "1." numbering). A cheap C-level prefilter: clean text rarely holds
# even one such run, and only runs are tokenised in Python.
_EN_RUN = re.compile(
    rf"(?<![A-Za-z])(?:[A-Za-z]{{3,8}}+(?![A-Za-z])[^A-Za-z{_CJK}]{{1,12}}+){{11,}}"
    rf"[A-Za-z]{{3,8}}+(?![A-Za-z])")
_EN_TOKEN = re.compile(r"[A-Za-z]+")
# Twelve or more CJK characters with separators between them; the inner ones stand alone, the
# first and last may touch a label or the next sentence ("助记词已，庭，…，屏导入了").
_ZH_SPACED_RUN = re.compile(rf"[{_CJK}](?:[^A-Za-z{_CJK}]{{1,8}}[{_CJK}]){{11,}}")
# "1. ", "(1) ", "#1 " just before a phrase's first word belongs to the pasted phrase.
_FIRST_NUMBER = re.compile(r"(?<![0-9A-Za-z])[#(（]?0?1\s*[.)）:：、\-]?\s*$")
# The Chinese lists are ordered by character frequency, and ordinary text is made mostly of the
# commonest characters: 12-character windows of real Chinese support text average index 333
# (99th percentile 708), random phrases 1023 (one in 10,000 below 436).
ZH_MIN_MEAN_INDEX = 450
_ZH_TOKEN = re.compile(rf"[{_CJK}]")

# Seed context: words a customer uses around a pasted phrase (checked in lowercased text).
SEED_WORDS = (
    "seed", "mnemonic", "phrase", "recovery word", "backup word", "secret word", "wallet word",
    "12 word", "24 word", "12word", "24word", "twelve word", "助记", "助記", "种子", "種子",
    "恢复短语", "恢復短語", "恢复词", "恢復詞", "备份短语", "備份短語", "备份词", "備份詞",
    "钱包短语", "錢包短語", "12个词", "24个词", "12個詞", "24個詞", "12个单词", "24个单词")
# A seed label and its linker ("助记词是：", "mnemonic:"), after which an unseparated Chinese
# phrase starts; label characters are themselves list words, so the label anchors the phrase.
_ZH_ANCHOR = re.compile(
    r"(?P<label>助记词|助記詞|助记|助記|种子[词短语]*|種子[詞短語]*"
    r"|(?:恢复|恢復|备份|備份)(?:短语|短語|[词詞])|mnemonic|seed(?:\s*phrase)?|recovery\s*phrase)"
    r"(?:\s*(?:是|为|為|如下|：|:|=|-|—)\s*)*\s*")


@dataclass(frozen=True, slots=True)
class Wordlist:
    """One BIP39 list: word -> index, and (English) 4-letter prefix -> index for abbreviations."""

    name: str
    index: dict[str, int]
    prefix4: dict[str, int]


def _load(name: str) -> Wordlist:
    words = (files("mnemonic") / "wordlist" / f"{name}.txt").read_text("utf-8").split()
    if len(words) != 2048:
        raise ValueError(f"BIP39 word list {name} has {len(words)} words, expected 2048")
    index = {word: i for i, word in enumerate(words)}
    prefix4 = {word[:4]: i for i, word in enumerate(words)} if name == "english" else {}
    return Wordlist(name, index, prefix4)


ENGLISH = _load("english")
CHINESE = (_load("chinese_simplified"), _load("chinese_traditional"))
_ZH_CHARS = "".join(sorted(set(CHINESE[0].index) | set(CHINESE[1].index)))
PAIRS_PATH = Path(__file__).with_name("data") / "zh_common_pairs.txt"


def _load_pairs() -> frozenset[str]:
    lines = PAIRS_PATH.read_text("utf-8").splitlines()
    return frozenset(line for line in lines if line and not line.startswith("#"))


# Common two-character words ("什么", "银行"): ordinary sentences are made of them, random phrases
# almost never hold two (see tests/guard/corpus_zh_pairs.py).
_ZH_PAIRS = _load_pairs()
_ZH_CONTIGUOUS_RUN = re.compile(f"[{re.escape(_ZH_CHARS)}]{{{MIN_WORDS},}}")
_ZH_STANDALONE_RUN = re.compile(
    f"(?<![{_CJK}])[{re.escape(_ZH_CHARS)}]{{{MIN_WORDS},}}(?![{_CJK}])")


def checksum_ok(indices: tuple[int, ...]) -> bool:
    """True when the word indices form a BIP39 phrase: 12–24 words (multiple of 3), the final
    len/3 bits equal to the first bits of SHA-256 of the entropy before them."""
    count = len(indices)
    if count not in PHRASE_LENGTHS:
        return False
    value = 0
    for i in indices:
        value = (value << 11) | i
    checksum_bits = count // 3
    entropy_bits = count * 11 - checksum_bits
    entropy = (value >> checksum_bits).to_bytes(entropy_bits // 8, "big")
    expected = hashlib.sha256(entropy).digest()[0] >> (8 - checksum_bits)
    return (value & ((1 << checksum_bits) - 1)) == expected


def _valid_windows(indices: list[int]) -> list[tuple[int, int]]:
    """Every ``[i, j)`` token window of a phrase length whose checksum holds (what
    :func:`checksum_ok` says of each). The window's value rolls along the run, a word in and a
    word out, instead of being rebuilt from each window's words: a long run of list words (a
    20,000-character message of single Chinese characters) has five windows a word."""
    found = []
    for length in PHRASE_LENGTHS:
        checksum_bits = length // 3
        entropy_bytes = (length * 11 - checksum_bits) // 8
        keep, checksum_mask = (1 << (11 * length)) - 1, (1 << checksum_bits) - 1
        value = 0
        for end, index in enumerate(indices, start=1):
            value = ((value << 11) | index) & keep
            if end >= length and (value & checksum_mask) == hashlib.sha256(
                    (value >> checksum_bits).to_bytes(entropy_bytes, "big")
            ).digest()[0] >> (8 - checksum_bits):
                found.append((end - length, end))
    return found


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _segments(tokens: list[tuple[int, int, int | None]]) -> list[list[tuple[int, int, int]]]:
    """Maximal runs of tokens that map to a list word (index not None)."""
    runs: list[list[tuple[int, int, int]]] = []
    current: list[tuple[int, int, int]] = []
    for start, end, index in tokens:
        if index is None:
            if current:
                runs.append(current)
            current = []
        else:
            current.append((start, end, index))
    if current:
        runs.append(current)
    return [run for run in runs if len(run) >= MIN_WORDS]


def _phrase_spans(run: list[tuple[int, int, int]], in_context: bool) -> list[tuple[int, int]]:
    """Character spans to hide in one run of list words: valid windows, or (in seed context) the
    whole run, since a phrase whose checksum fails is usually one with a typo."""
    if in_context:
        return [(run[0][0], run[-1][1])]
    indices = [index for _s, _e, index in run]
    windows = _merge(_valid_windows(indices))
    return [(run[i][0], run[j - 1][1]) for i, j in windows]


def _english_index(word: str, in_context: bool) -> int | None:
    exact = ENGLISH.index.get(word)
    if exact is not None or not in_context or len(word) < 4:
        return exact
    return ENGLISH.prefix4.get(word[:4])


def _english(text: str, in_context: bool) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for match in _EN_RUN.finditer(text):
        tokens = [
            (m.start() + match.start(), m.end() + match.start(),
             _english_index(m.group().lower(), in_context))
            for m in _EN_TOKEN.finditer(match.group())]
        for run in _segments(tokens):
            spans.extend(_phrase_spans(run, in_context))
    return spans


def _chinese_runs(chars: list[tuple[int, int, str]], in_context: bool,
                  glued: tuple[int, int]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for wordlist in CHINESE:
        tokens = [(start, end, wordlist.index.get(char)) for start, end, char in chars]
        for run in _segments(tokens):
            if in_context:
                spans.extend(_context_spans(run, glued))
            else:
                spans.extend(_phrase_spans(run, in_context=False))
    return spans


def _context_spans(run: list[tuple[int, int, int]],
                   glued: tuple[int, int]) -> list[tuple[int, int]]:
    """The spans of a run in seed context. ``glued`` holds the start of a first character that
    touches the text before it ("助记词 伟 么 …": "词") and the end of a last one that touches the
    text after it ("… 互 请帮我": "请"), or -1. Such a character may be the phrase's own word or
    the label's or the next sentence's: of the run with and without them, the valid phrases are
    hidden (all of them: a wrong one is valid by chance one time in 16), else the first of a
    phrase's length (a phrase with a typo), else the whole run."""
    head = 1 if run[0][0] == glued[0] else 0
    tail = 1 if run[-1][1] == glued[1] else 0
    cuts = {(head, tail), (head, 0), (0, tail), (0, 0)}
    candidates = [run[h:len(run) - t] for h, t in sorted(cuts, reverse=True)]
    candidates = [c for c in candidates if len(c) in PHRASE_LENGTHS]
    valid = [c for c in candidates if checksum_ok(tuple(index for _s, _e, index in c))]
    chosen = valid or candidates[:1] or [run]
    return [(c[0][0], c[-1][1]) for c in chosen]


def _chinese_spaced(text: str, in_context: bool) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for match in _ZH_SPACED_RUN.finditer(text):
        base = match.start()
        chars = [(m.start() + base, m.end() + base, m.group())
                 for m in _ZH_TOKEN.finditer(match.group())]
        glued = (base if base > 0 and _ZH_TOKEN.match(text, base - 1) else -1,
                 match.end() if _ZH_TOKEN.match(text, match.end()) else -1)
        spans.extend(_chinese_runs(chars, in_context, glued))
    return spans


def _chinese_contiguous(text: str, lower: str, in_context: bool) -> list[tuple[int, int]]:
    """Unseparated Chinese phrases. Ordinary sentences hold long runs of list characters (label
    characters included), so a run counts when it follows a seed label ("助记词是", in seed
    context) and starts with a valid phrase; when it follows a label and colon ("助记词：") and is
    12–24 uncommon characters (a typo'd phrase); or when it stands alone between non-Chinese text
    and is exactly a valid phrase. "Valid" includes not reading like a sentence (common
    characters, common two-character words), which real Chinese runs almost always do."""
    spans: list[tuple[int, int]] = []
    if in_context:
        for anchor in _ZH_ANCHOR.finditer(lower):
            run = _ZH_CONTIGUOUS_RUN.match(text, anchor.end())
            phrase = None
            if run is not None:
                phrase = _valid_prefix(text, run.start(), run.end(), in_context=True)
                if phrase is None and _typo_phrase(anchor.group(), run.group()):
                    phrase = run.span()
            if phrase is None and anchor.end("label") < anchor.end():
                # The linker may be the phrase's first word ("助记词为兰谓…": 为 is a list word).
                run = _ZH_CONTIGUOUS_RUN.match(text, anchor.end("label"))
                if run is not None:
                    phrase = _valid_prefix(text, run.start(), run.end(), in_context=True)
            if phrase is not None:
                spans.append(phrase)
    for run in _ZH_STANDALONE_RUN.finditer(text):
        if (run.end() - run.start() in PHRASE_LENGTHS
                and _chinese_valid(run.group(), in_context=in_context)):
            spans.append(run.span())
    return spans


def _typo_phrase(anchor: str, run: str) -> bool:
    if not (":" in anchor or "：" in anchor) or len(run) > PHRASE_LENGTHS[0]:
        return False
    return not _sentence_like(run) and any(
        all(c in wl.index for c in run) and _uncommon(tuple(wl.index[c] for c in run))
        for wl in CHINESE)


def _chinese_valid(chars: str, *, in_context: bool = False) -> bool:
    """True when the characters are a checksum-valid phrase of one Chinese list that reads
    neither like a sentence (common two-character words) nor like ordinary text (the commonest
    characters). Random phrases of 12 characters (uniform entropy, 20,000 drawn) hold no common
    word 95 % of the time and one 5 %; real 12-character windows of customer text hold two or
    more 97 % of the time, and their mean list index is 333 against a phrase's 1,023.

    Out of seed context both tests must pass: 0.2 % of random phrases fail one (one in 450 is
    missed) and 1 % of real windows pass both (a sixteenth of those has a valid checksum). In
    seed context (``in_context``: the message talks about seed phrases) an uncommon phrase may
    hold one word more than that: one random phrase in 16,000 is missed, and 6 % of real
    windows pass (0.4 % with the checksum), an acceptable cost in a message about seeds.
    "请提供您的助记词以便核实" (uncommon characters, three words) stays a sentence."""
    for wordlist in CHINESE:
        indices = tuple(wordlist.index.get(char, -1) for char in chars)
        if -1 not in indices and checksum_ok(indices):
            words = _common_words(chars)
            sentence_like = words > 1 + len(chars) // 24
            if not in_context:
                return _uncommon(indices) and not sentence_like
            return not sentence_like or (_uncommon(indices) and words <= 1 + len(chars) // 12)
    return False


def _uncommon(indices: tuple[int, ...]) -> bool:
    return sum(indices) >= ZH_MIN_MEAN_INDEX * len(indices)


def _common_words(chars: str) -> int:
    """How many common two-character words the characters hold (overlapping)."""
    return sum(chars[i:i + 2] in _ZH_PAIRS for i in range(len(chars) - 1))


def _sentence_like(chars: str) -> bool:
    """True when the characters hold more common two-character words than a random phrase would
    (one per 24 characters allowed)."""
    return _common_words(chars) > 1 + len(chars) // 24


def _valid_prefix(text: str, start: int, end: int, *,
                  in_context: bool) -> tuple[int, int] | None:
    for length in PHRASE_LENGTHS:
        if start + length <= end and _chinese_valid(text[start:start + length],
                                                    in_context=in_context):
            return (start, start + length)
    return None


def _with_number(text: str, span: tuple[int, int]) -> tuple[int, int]:
    number = _FIRST_NUMBER.search(text, max(0, span[0] - 8), span[0])
    return (span[0], span[1]) if number is None else (number.start(), span[1])


def find_seed_phrases(text: str, lower: str) -> list[tuple[int, int]]:
    """Character spans of seed phrases in ``text`` (with a leading "1." when numbered), merged
    and sorted; ``lower`` is the text lowercased (same indices)."""
    has_en = _EN_RUN.search(text) is not None
    has_zh_spaced = _ZH_SPACED_RUN.search(text) is not None
    has_zh_run = _ZH_CONTIGUOUS_RUN.search(text) is not None
    if not (has_en or has_zh_spaced or has_zh_run):
        return []
    in_context = any(word in lower for word in SEED_WORDS)
    spans: list[tuple[int, int]] = []
    if has_en:
        spans.extend(_english(text, in_context))
    if has_zh_spaced:
        spans.extend(_chinese_spaced(text, in_context))
    if has_zh_run:
        spans.extend(_chinese_contiguous(text, lower, in_context))
    return [_with_number(text, span) for span in _merge(spans)]
