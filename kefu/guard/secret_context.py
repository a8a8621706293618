"""Labels around a value ("private key", "txid", "卡号", "订单号", "my password is"), found fast.

The same 64 hex digits are a private key after "私钥：" and a transaction id after "TXID:"; the
same 16 Luhn-valid digits are a card after "card" and an order id after "order". Detectors ask
which of their labels sits closest before the value, within a short window, so a message holding
both a txid and a key judges each by its own label.

Labels are plain lowercase strings searched with ``str.find`` in the lowercased text: Python's
regex engine tries every alternative of an alternation at every position (40 labels over 100
characters cost 15–40 µs), while a substring search per label costs well under a microsecond, and
this runs on every message. ``\\b`` at either end of a label asks for a word boundary there."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from kefu.guard.secret_mask import MARKER_PREFIX

WINDOW = 80
BLANK = "\x00"
_WORD = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")
_MARKER = re.compile(re.escape(MARKER_PREFIX.lower()) + r"[a-z_]+\]")


def lowered(text: str) -> str:
    """``text`` in lowercase with every character at the same index ("İ".lower() is two code
    points; such characters keep only the first), so spans found in it index the original.

    Markers of text masked before are blanked out: "[REDACTED seed_phrase]" must not act as a
    seed or key label, nor "[REDACTED password]" as a password after "password is", so that
    masked text scans clean."""
    lower = text.lower()
    if len(lower) != len(text):
        lower = "".join(char.lower()[:1] for char in text)
    if MARKER_PREFIX[0] in lower and _MARKER.search(lower):
        lower = _MARKER.sub(lambda match: BLANK * len(match.group()), lower)
    return lower


def blank(lower: str, spans: Iterable[tuple[int, int]]) -> str:
    """``lower`` with the spans blanked out, so words inside a secret already found (a seed
    phrase's "amount", "card", "seed") cannot act as labels for the values around it."""
    pieces = []
    position = 0
    for start, end in spans:
        pieces.append(lower[position:start])
        pieces.append(BLANK * (end - start))
        position = end
    pieces.append(lower[position:])
    return "".join(pieces)


@dataclass(frozen=True, slots=True)
class Label:
    """One label string of a group, with word boundaries asked for at its start and/or end."""

    text: str
    group: str
    bound_start: bool
    bound_end: bool

    @classmethod
    def parse(cls, spec: str, group: str) -> Label:
        start, end = spec.startswith(r"\b"), spec.endswith(r"\b")
        text = spec[2 if start else 0:len(spec) - 2 if end else len(spec)]
        return cls(text, group, start, end)

    def fits(self, lower: str, start: int) -> bool:
        """True when the word boundaries asked for hold around an occurrence at ``start``."""
        if self.bound_start and start > 0 and lower[start - 1] in _WORD:
            return False
        end = start + len(self.text)
        return not (self.bound_end and end < len(lower) and lower[end] in _WORD)


@dataclass(frozen=True, slots=True)
class Occurrence:
    label: Label
    start: int
    end: int


class LabelSet:
    """Named groups of labels. Every method takes the lowercased text (see ``lowered``)."""

    def __init__(self, groups: dict[str, tuple[str, ...]], *, window: int = WINDOW) -> None:
        self.labels = tuple(Label.parse(spec, group)
                            for group, specs in groups.items() for spec in specs)
        self.window = window

    def occurrences(self, lower: str) -> Iterator[Occurrence]:
        """Every occurrence of every label, label by label."""
        for label in self.labels:
            index = lower.find(label.text)
            while index >= 0:
                if label.fits(lower, index):
                    yield Occurrence(label, index, index + len(label.text))
                index = lower.find(label.text, index + 1)

    def before(self, lower: str, pos: int) -> str | None:
        """The group of the label ending nearest before ``pos`` (within the window); of two
        ending at the same place the longer wins ("public key" over "key")."""
        low = max(0, pos - self.window)
        best: tuple[int, int, str] | None = None
        for label in self.labels:
            index = lower.rfind(label.text, low, pos)
            while index >= 0 and not label.fits(lower, index):
                index = lower.rfind(label.text, low, index + len(label.text) - 1)
            if index >= 0:
                key = (index + len(label.text), len(label.text), label.group)
                if best is None or key[:2] > best[:2]:
                    best = key
        return None if best is None else best[2]

    def after(self, lower: str, pos: int, *, window: int = 40) -> str | None:
        """The group of the first label starting after ``pos`` (within ``window``)."""
        high = min(len(lower), pos + window)
        best: tuple[int, int, str] | None = None
        for label in self.labels:
            index = lower.find(label.text, pos, high)
            while index >= 0 and not label.fits(lower, index):
                index = lower.find(label.text, index + 1, high)
            if index >= 0:
                key = (index, -len(label.text), label.group)
                if best is None or key[:2] < best[:2]:
                    best = key
        return None if best is None else best[2]

    def anywhere(self, lower: str) -> set[str]:
        """Every group with a label somewhere in the text."""
        return {occurrence.label.group for occurrence in self.occurrences(lower)}
