"""The message catalogue is complete in every language, and languages are chosen sensibly."""

from __future__ import annotations

import re
import string
from typing import get_args

import pytest

from kefu.exchange.schemas import DepositStatus, OrderStatus, WithdrawalStatus
from kefu.tickets.models import AUTHOR_KINDS, CHANNELS, PENDING_REASONS, PRIORITIES, STATUSES
from kefu.web import agent, help_center, i18n, portal
from kefu.web.render import TEMPLATES_DIR

LITERAL_KEY = re.compile(r"""\bt\(\s*["']([a-z0-9_.]+)["']\s*[,)]""")


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_language_has_every_key_with_the_same_placeholders():
    catalogue = i18n.catalogue()
    english = catalogue["en"]
    for language in i18n.SUPPORTED:
        messages = catalogue[language]
        assert set(messages) == set(english), language
        for key, text in messages.items():
            assert text.strip(), f"{language}:{key} is empty"
            assert _placeholders(text) == _placeholders(english[key]), f"{language}:{key}"


def test_keys_used_by_templates_exist():
    english = i18n.catalogue()["en"]
    used: set[str] = set()
    for template in TEMPLATES_DIR.rglob("*.html"):
        used |= set(LITERAL_KEY.findall(template.read_text(encoding="utf-8")))
    assert used, "no t('...') calls found"
    assert sorted(used - set(english)) == []
    families = {
        "status": STATUSES, "priority": PRIORITIES, "channel": CHANNELS,
        "pending": PENDING_REASONS, "author": AUTHOR_KINDS, "status_help": STATUSES,
        "role": ("agent", "supervisor", "admin"), "section": ("help", "portal", "agent"),
        "category": portal.CATEGORIES, "notice": tuple(portal.NOTICES | agent.NOTICES),
        "topic": tuple(t.slug for t in help_center.TOPICS),
        "tx": get_args(DepositStatus) + get_args(WithdrawalStatus),
        "order": get_args(OrderStatus), "order_type": ("limit", "market"),
        "side": ("buy", "sell", "long", "short"),
    }
    for family, members in families.items():
        for member in members:
            assert f"{family}.{member}" in english, f"{family}.{member}"
    for topic in help_center.TOPICS:
        assert f"topic.{topic.slug}.desc" in english


@pytest.mark.parametrize(("raw", "expected"), [
    ("zh", "zh-CN"), ("zh-Hans-CN", "zh-CN"), ("ZH_tw", "zh-CN"), ("en-GB", "en"),
    ("fr", None), ("", None), (None, None),
])
def test_normalize_language(raw: str | None, expected: str | None):
    assert i18n.normalize_language(raw) == expected


@pytest.mark.parametrize(("header", "expected"), [
    ("zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"),
    ("en-US,en;q=0.9", "en"),
    ("fr-FR, de;q=0.9", None),
    ("fr, en;q=0.2, zh;q=0.7", "zh-CN"),
    ("zh;q=0, en", "en"),
    ("*", None),
    ("en;q=abc, zh", "zh-CN"),
    (None, None),
])
def test_accept_language(header: str | None, expected: str | None):
    assert i18n.parse_accept_language(header) == expected


def test_translator_formats_and_falls_back():
    translate = i18n.Translator("zh-CN")
    assert translate("help.no_results", query="USDT") == "暂无与“USDT”相关的文章"
    assert translate("no.such.key") == "no.such.key"
    assert not translate.has("no.such.key")
