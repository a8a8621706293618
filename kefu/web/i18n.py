"""UI languages: choosing a request's language, and the message catalogue.

Messages are gettext catalogs managed with Babel (``locales/<locale>/LC_MESSAGES/messages.po``,
keyed: the msgid is a key such as ``agent.inbox_title``; docs/translations.md); reading them and
looking a message up (``Translator``) live in ``kefu.core.i18n``, so layers below the web
(a ticket's transcript) word things the same way; they are re-exported here. Language order:
an explicit ``?lang=`` switch (remembered in the ``kefu_lang`` cookie), the cookie, the
signed-in customer's language from the exchange, ``Accept-Language``, English. Every catalog
holds every key (``kefu i18n check``, run by a test), so a page never shows a key instead of
words."""

from __future__ import annotations

import re

from starlette.requests import Request

from kefu.core.i18n import DEFAULT_LANGUAGE as DEFAULT_LANGUAGE
from kefu.core.i18n import DOMAIN as DOMAIN
from kefu.core.i18n import LOCALES_DIR as LOCALES_DIR
from kefu.core.i18n import SUPPORTED as SUPPORTED
from kefu.core.i18n import Translator as Translator
from kefu.core.i18n import catalog_path as catalog_path
from kefu.core.i18n import catalogue as catalogue
from kefu.core.i18n import load_messages as load_messages
from kefu.core.i18n import read_catalog as read_catalog

LANG_COOKIE = "kefu_lang"
LANG_COOKIE_MAX_AGE = 365 * 24 * 3600
LANGUAGE_NAMES = {"en": "English", "zh-CN": "简体中文"}
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
