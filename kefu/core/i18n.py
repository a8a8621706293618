"""The message catalogs and their lookup, for every layer that words things for people: pages
and the widget (``kefu.web``), and documents made outside a request, such as a ticket's
transcript (``kefu.tickets.transcript``), which must not depend on the web layer.

Messages are gettext catalogs managed with Babel (``kefu/web/locales/<locale>/LC_MESSAGES/
messages.po``, keyed: the msgid is a key such as ``agent.inbox_title``; docs/translations.md).
Choosing a request's language stays in ``kefu.web.i18n``. Every catalog holds every key
(``kefu i18n check``, run by a test), so a page never shows a key instead of words."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

SUPPORTED: tuple[str, ...] = ("en", "zh-CN")
DEFAULT_LANGUAGE = "en"
LOCALES_DIR = Path(__file__).parent.parent / "web" / "locales"
DOMAIN = "messages"


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
