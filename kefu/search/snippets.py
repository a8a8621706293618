"""Result snippets: a short window of a section's plain text around the words that matched."""

from __future__ import annotations

from collections.abc import Iterable

from kefu.search.analyze import normalize

SNIPPET_CHARS = 160


def make_snippet(plain: str, words: Iterable[str], *, width: int = SNIPPET_CHARS) -> str:
    """About `width` characters of `plain`, starting a little before the earliest occurrence
    of any of `words` (normalized, so "USDT" finds "usdt"), or the beginning when none occurs.
    Cut text is marked with "…"."""
    text = " ".join(plain.split())
    if len(text) <= width:
        return text
    folded = normalize(text)
    # NFKC can change lengths (e.g. "㎏" -> "kg"); positions are only trusted when it did not.
    positions = [folded.find(word) for word in words if word] if len(folded) == len(text) else []
    found = [p for p in positions if p >= 0]
    start = max(0, min(found) - width // 4) if found else 0
    if start > 0:
        space = text.rfind(" ", 0, start)
        start = space + 1 if space >= 0 and start - space < 20 else start
    end = min(len(text), start + width)
    if end < len(text):
        space = text.rfind(" ", start + width // 2, end)
        end = space if space > 0 else end
    return ("…" if start > 0 else "") + text[start:end].strip() + ("…" if end < len(text) else "")
