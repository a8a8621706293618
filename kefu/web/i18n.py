"""UI languages: the message catalogue and choosing a request's language.

Messages are gettext catalogs managed with Babel (``locales/<locale>/LC_MESSAGES/messages.po``,
keyed: the msgid is a key such as ``agent.inbox_title``; docs/translations.md). Language order:
an explicit ``?lang=`` switch (remembered in the ``kefu_lang`` cookie), the cookie, the
signed-in customer's language from the exchange, ``Accept-Language``, English. Every catalog
holds every key (``kefu i18n check``, run by a test), so a page never shows a key instead of
words."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po
from starlette.requests import Request

SUPPORTED: tuple[str, ...] = ("en", "zh-CN")
DEFAULT_LANGUAGE = "en"
LANG_COOKIE = "kefu_lang"
LANG_COOKIE_MAX_AGE = 365 * 24 * 3600
LANGUAGE_NAMES = {"en": "English", "zh-CN": "简体中文"}
LOCALES_DIR = Path(__file__).parent / "locales"
DOMAIN = "messages"
_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*$")


def normalize_language(raw: str | None) -> str | None:
    """A supported UI language for a tag people or browsers send (``zh``, ``zh-Hans-CN``,
    ``en_US``), or None. Every Chinese variant gets Simplified Chinese, the one we ship."""
    if not raw:
        return None
    tag = raw.strip().replace("_", "-").lower()
    base = tag.split("-", 1)[0]
    if base == "zh":
        return "zh-CN"
    if base == "en":
        return "en"
    return None


def parse_accept_language(header: str | None) -> str | None:
    """The supported language the browser prefers most (by q value, then order), or None.
    Malformed items are skipped."""
    if not header:
        return None
    ranked: list[tuple[float, int, str]] = []
    for index, item in enumerate(header.split(",")[:20]):
        tag, *params = (part.strip() for part in item.split(";"))
        if not _LANGUAGE_TAG.match(tag):
            continue
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = -1.0
        language = normalize_language(tag)
        if language is not None and 0 < quality <= 1:
            ranked.append((-quality, index, language))
    return min(ranked)[2] if ranked else None


def query_language(request: Request) -> str | None:
    """The language named by ``?lang=`` on this request, if supported."""
    return normalize_language(request.query_params.get("lang"))


def choose_language(request: Request, customer_language: str | None = None) -> str:
    return (
        query_language(request)
        or normalize_language(request.cookies.get(LANG_COOKIE))
        or normalize_language(customer_language)
        or parse_accept_language(request.headers.get("accept-language"))
        or DEFAULT_LANGUAGE
    )


def catalog_path(language: str, locales_dir: Path = LOCALES_DIR) -> Path:
    """Where a UI language's catalog lives: gettext's layout, with a locale (``zh_CN``) for the
    language tag (``zh-CN``)."""
    return locales_dir / language.replace("-", "_") / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_catalog(path: Path) -> Catalog:
    with path.open("rb") as po:
        return read_po(po, abort_invalid=True)


def load_messages(locales_dir: Path = LOCALES_DIR) -> dict[str, dict[str, str]]:
    """Every supported language's usable messages. Empty and fuzzy entries are left out, as
    gettext does, so they fall back to English rather than show a draft."""
    messages: dict[str, dict[str, str]] = {}
    for language in SUPPORTED:
        messages[language] = {
            message.id: message.string
            for message in read_catalog(catalog_path(language, locales_dir))
            if message.id and isinstance(message.id, str) and isinstance(message.string, str)
            and message.string and not message.fuzzy
        }
    return messages


@lru_cache(maxsize=1)
def catalogue() -> dict[str, dict[str, str]]:
    """The shipped catalogs, read once per process."""
    return load_messages()


class Translator:
    """``t("key", name=...)``: the message in this language, formatted with ``str.format``.

    A key missing from a language falls back to English, then to the key itself; the
    completeness test keeps that from happening in a release."""

    def __init__(self, language: str) -> None:
        self.language = language
        self.messages = catalogue()[language]
        self.fallback = catalogue()[DEFAULT_LANGUAGE]

    def __call__(self, key: str, /, **values: object) -> str:
        text = self.messages.get(key) or self.fallback.get(key) or key
        return text.format(**values) if values else text

    def has(self, key: str) -> bool:
        return key in self.messages
