"""Content language tags: one canonical spelling, and the nearest language for a reader."""

from __future__ import annotations

import pytest

from kefu.kb.languages import canonical_language, is_known_language, localized, preference


@pytest.mark.parametrize(("raw", "canonical"), [
    ("zh-cn", "zh-CN"), ("EN", "en"), ("zh-hant-tw", "zh-Hant-TW"), ("es-419", "es-419"),
    ("ja", "ja"),
])
def test_canonical_language(raw: str, canonical: str) -> None:
    assert canonical_language(raw) == canonical


@pytest.mark.parametrize("bad", ["", "e", "english-language-tag", "zh_CN", "../etc", "z1"])
def test_not_a_language(bad: str) -> None:
    with pytest.raises(ValueError, match="not a language tag"):
        canonical_language(bad)


@pytest.mark.parametrize(("tag", "known"), [
    ("en", True), ("zh-CN", True), ("zh-Hant-TW", True), ("yue", True), ("fil", True),
    ("pt-BR", True), ("es-419", True), ("cn", False), ("xx", False), ("cn-ZH", False),
    ("eng", False),
])
def test_a_tag_must_name_a_language(tag: str, known: bool) -> None:
    assert is_known_language(tag) is known


def test_preference_and_localized() -> None:
    assert preference("zh-TW", ["ja", "en", "zh-CN", "zh-TW"]) == ["zh-TW", "zh-CN", "en", "ja"]
    assert preference("ja", ["zh-CN", "en"]) == ["en", "zh-CN"]
    names = {"en": "Deposits", "zh-CN": "充值"}
    assert localized(names, "zh-TW") == "充值"
    assert localized(names, "ko") == "Deposits"
    assert localized({}, "en") == ""
