"""The secret guard on text read by OCR: seed phrases as a screenshot shows them, misreads and all.

A wallet's backup screen, read by OCR, rarely comes out as clean as a pasted phrase: "11." reads
"1l.", "oven" reads "0ven", a word loses a letter, so the checksum fails and the run of list words
breaks. Without a seed label on screen, :func:`kefu.guard.secrets.scan` would then let the phrase
through. On OCR'd text only, :func:`scan_ocr` therefore also hides a run of 12 or more BIP39
English words where

- digits read for look-alike letters (0/o, 1/l, 5/s) count as those letters, and a word one
  letter off the list word that shares its first four letters counts as that word (list words
  differ in their first four letters, and OCR's misreads are mostly single letters);
- the numbering ("1.", "12", and its misreads "l.", "1l") neither counts nor breaks a run;

and which either is *numbered* like a wallet's grid (a number for at least every other word;
then one unreadable word per 12 is allowed, never two in a row, and no checksum is needed, as
the grid's reading order or a lost word may break it) or, corrected as above, passes the BIP39
checksum. Ordinary text is not numbered word by word: runs of 12 list words without either
condition are left alone (bench/ocr.py counts them in the docs, help-center articles and 188,526
real customer messages: without the numbering condition 17 screen-sized blocks of real messages
would have been withheld). A numbered grid of single Chinese list characters ("1 的 2 三") counts
the same way (no checksum: OCR reads each cell as its own box).

Screens also wrap long keys: a 64-hex private key shown as two lines of 32 is read as two lines.
So the text is scanned a second time with such wraps undone (consecutive lines that are each one
unbroken run of 16 or more letters and digits joined), and what either scan finds is hidden."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from kefu.guard.bip39 import CHINESE, ENGLISH, MIN_WORDS, PHRASE_LENGTHS, checksum_ok
from kefu.guard.secrets import KINDS, SEED_PHRASE, Finding, GuardResult, mask, scan

_CJK: Final = "\u3400-\u4dbf\u4e00-\u9fff"
_TOKEN: Final = re.compile(rf"[A-Za-z0-9]+|[{_CJK}]+")
_CHINESE: Final = frozenset(CHINESE[0].index) | frozenset(CHINESE[1].index)
_WRAPPED: Final = re.compile(r"^[ \t]*[0-9A-Za-z]{16,}[ \t]*$")
_LOOK_ALIKE: Final = str.maketrans("015", "ols")
_NUMBERING: Final = re.compile(r"[0-9lIioOzZsS]{1,2}")
_WORDS: Final = {index: word for word, index in ENGLISH.index.items()}
_RANK: Final = {kind: rank for rank, kind in enumerate(KINDS)}
_WINDOW: Final = 3 * PHRASE_LENGTHS[0]  # 24 numbered words and a few misreads


@dataclass(frozen=True, slots=True)
class _Token:
    start: int
    end: int
    index: int | None  # the English list word's index, -1 a Chinese one; None another word
    number: bool = False  # numbering: neither a word nor a misread


def _token(match: re.Match[str], text: str) -> _Token:
    token, end = match.group(), match.end()
    if len(token) <= 2 and (token.isdigit() or (
            _NUMBERING.fullmatch(token) and (text[end:end + 1] in (".", ")", ":")
                                             or any(c.isdigit() for c in token)))):
        return _Token(match.start(), end, None, number=True)
    if token[0] >= "\u3400":  # a CJK run (the token pattern allows no other non-ASCII)
        return _Token(match.start(), end, -1 if token in _CHINESE else None)
    return _Token(match.start(), end, _index(token))


def _index(token: str) -> int | None:
    letters = token.lower().translate(_LOOK_ALIKE)
    if not letters.isalpha() or len(letters) < 3:
        return None
    exact = ENGLISH.index.get(letters)
    if exact is not None:
        return exact
    index = ENGLISH.prefix4.get(letters[:4])
    return index if index is not None and _one_edit(letters, _WORDS[index]) else None


def _one_edit(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` differ by one substituted, inserted or deleted letter."""
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) <= 1
    short, long = sorted((a, b), key=len)
    return any(long[:i] + long[i + 1:] == short for i in range(len(long)))


def loose_phrases(text: str) -> list[tuple[int, int]]:
    """Spans of the runs described in the module docstring, overlapping ones merged."""
    tokens = [_token(match, text) for match in _TOKEN.finditer(text)]
    spans: list[tuple[int, int]] = []
    for first, token in enumerate(tokens):
        if token.index is None:
            continue
        end = _phrase_end(tokens[first:first + _WINDOW])
        if end is not None:
            spans.append((token.start, end))
    merged: list[tuple[int, int]] = []
    for start, stop in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], stop))
        else:
            merged.append((start, stop))
    return merged


def _phrase_end(tokens: list[_Token]) -> int | None:
    """Where the longest phrase starting at ``tokens[0]`` (a list word) ends, if there is one."""
    indices: list[int] = []
    misses = numbers = 0
    after_word = True
    end = None
    for token in tokens:
        if token.number:
            numbers += 1
        elif token.index is not None:
            indices.append(token.index)
            after_word = True
            words = len(indices)
            numbered = numbers >= words // 2 and misses <= words // MIN_WORDS
            valid = (not misses and words in PHRASE_LENGTHS and min(indices) >= 0
                     and checksum_ok(tuple(indices)))
            if words >= MIN_WORDS and (numbered or valid):
                end = token.end
        elif not after_word:  # two unreadable words in a row end the run
            break
        else:
            misses += 1
            after_word = False
    return end


def unwrapped(text: str) -> tuple[str, list[int]]:
    """``text`` with the line breaks (and blanks around them) inside wrapped keys removed, and
    for each of its characters the index of that character in ``text``."""
    lines = text.splitlines(keepends=True)
    wrapped = [_WRAPPED.match(line.rstrip("\r\n")) is not None for line in lines]
    kept: list[int] = []
    position = 0
    for number, line in enumerate(lines):
        body = line.rstrip("\r\n")
        start, end = position, position + len(line)
        if wrapped[number] and number > 0 and wrapped[number - 1]:
            start += len(body) - len(body.lstrip())
        if wrapped[number] and number + 1 < len(lines) and wrapped[number + 1]:
            end = position + len(body.rstrip())
        kept.extend(range(start, end))
        position += len(line)
    return "".join(text[i] for i in kept), kept


def scan_ocr(text: str) -> GuardResult:
    """:func:`kefu.guard.secrets.scan` of ``text`` and of it with wrapped keys joined, plus the
    loose seed phrases of OCR'd text; every span any of them finds is hidden."""
    found = list(scan(text).findings)
    joined, where = unwrapped(text)
    if joined != text:
        found += [Finding(f.kind, where[f.start], where[f.end - 1] + 1)
                  for f in scan(joined).findings]
    found += [Finding(SEED_PHRASE, start, end) for start, end in loose_phrases(text)]
    if not found:
        return GuardResult(text, ())
    merged: list[Finding] = []
    for finding in sorted(found, key=lambda f: (f.start, -f.end)):
        if merged and finding.start < merged[-1].end:
            last = merged[-1]
            kind = min(last.kind, finding.kind, key=_RANK.__getitem__)
            merged[-1] = Finding(kind, last.start, max(last.end, finding.end))
        else:
            merged.append(finding)
    return GuardResult(mask(text, tuple(merged)), tuple(merged))
