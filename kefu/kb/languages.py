"""Content languages: canonical BCP 47 tags and picking the best text for a reader.

Articles may be written in any language (not only the UI's zh-CN and en), so tags are kept as
written but in one canonical case (``zh-cn`` and ``zh-CN`` are the same URL)."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping

from babel import Locale

LANGUAGE_TAG_PATTERN = r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8}){0,3}$"
_TAG = re.compile(LANGUAGE_TAG_PATTERN)
DEFAULT_CONTENT_LANGUAGE = "en"


def canonical_language(tag: str) -> str:
    """``zh-cn`` → ``zh-CN``, ``EN`` → ``en``, ``zh-hant-tw`` → ``zh-Hant-TW``. Raises
    ValueError for something that is not a language tag."""
    if not _TAG.match(tag):
        raise ValueError(f"not a language tag: {tag[:20]!r}")
    first, *rest = tag.split("-")
    parts = [first.lower()]
    for part in rest:
        if len(part) == 2 and part.isalpha():
            parts.append(part.upper())
        elif len(part) == 4 and part.isalpha():
            parts.append(part.title())
        else:
            parts.append(part.lower())
    return "-".join(parts)


def is_language_tag(tag: str) -> bool:
    return bool(_TAG.match(tag))


@functools.cache
def _known_languages() -> frozenset[str]:
    return frozenset(code.lower() for code in Locale("en").languages
                     if isinstance(code, str) and "_" not in code)


def is_known_language(tag: str) -> bool:
    """Whether ``tag`` names a language CLDR knows (its first subtag: ``zh``, ``yue``, ``fil``).
    ``cn`` (a common slip for Chinese) and ``xx`` are well formed but name no language: a
    translation under them would be served at ``/help/cn`` to nobody."""
    return tag.split("-", 1)[0].lower() in _known_languages()


def preference(lang: str, available: Iterable[str]) -> list[str]:
    """``available`` in the order a reader of ``lang`` would want them: the language itself,
    the same language in another region or script, English, then the rest alphabetically."""
    primary = lang.split("-", 1)[0]

    def rank(candidate: str) -> tuple[int, str]:
        if candidate == lang:
            return (0, candidate)
        if candidate.split("-", 1)[0] == primary:
            return (1, candidate)
        if candidate == DEFAULT_CONTENT_LANGUAGE:
            return (2, candidate)
        return (3, candidate)

    return sorted(set(available), key=rank)


def localized(texts: Mapping[str, object], lang: str) -> str:
    """The text for ``lang`` from a ``{language: text}`` map, else the nearest one, else ""."""
    for candidate in preference(lang, texts):
        value = texts.get(candidate)
        if isinstance(value, str) and value:
            return value
    return ""
