"""The first-character guard: a regex behind it finds exactly what it found before."""

from __future__ import annotations

import re

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from kefu.core.regex import first_char_guard
from kefu.guard import abuse
from kefu.guard.lookalike import fold_letters


@pytest.mark.parametrize(("pattern", "guard"), [
    ("abc|abd", "(?=[a])"),
    (r"(?<![a-z])(?:(?P<g0>fu+ck)|(?P<g1>sh[i1]t))", "(?=[fs])"),
    (r"\b(?:x?y|z)", "(?=[xyz])"),
    ("(?:a*b)+c", "(?=[ab])"),
    (r"[\d\-]+", r"(?=[\-\d])"),
    ("[a-c]x", "(?=[a-c])"),
    ("杀[了死]你|弄死", "(?=[弄杀])"),
])
def test_the_guard_is_the_set_of_first_characters(pattern: str, guard: str) -> None:
    assert first_char_guard(pattern) == guard + pattern


@pytest.mark.parametrize("pattern", [
    ".abc",  # anything may start it
    "[^a]bc",  # a negated class
    "a?",  # matches the empty string
    "(a)|\\1b",  # a back-reference first
    "(?:a|)b*",
])
def test_no_guard_where_the_first_character_is_not_a_simple_class(pattern: str) -> None:
    assert first_char_guard(pattern) == pattern


def _lexicon_regexes() -> list[tuple[re.Pattern[str], re.Pattern[str], bool]]:
    """(as written, as compiled, matched on folded text) for every lexicon regex."""
    return [(re.compile(source, flags), compiled, lexicon is not abuse._SCAM)
            for lexicon in (abuse._HARASSMENT, abuse._PROMO, abuse._SCAM)
            for (source, flags), compiled in zip(lexicon.sources, lexicon.patterns, strict=True)]


LEXICON_REGEXES = _lexicon_regexes()
SAMPLES = [
    "you are a useless idiot, I will find you", "f*ck this app", "傻逼客服", "操你妈",
    "A recovery agent on Telegram says he can get my BTC back for a 10% fee",
    "加我vx: abc12345 代充 高价收u", "FREE BTC!!! join t.me/freecoins now",
    "他让我先交保证金才能提现", "My USDT withdrawal has been pending for two hours",
]


def _spans(pattern: re.Pattern[str], text: str) -> list[tuple[int, int, str | None]]:
    return [(m.start(), m.end(), m.lastgroup) for m in pattern.finditer(text)]


@settings(max_examples=300)
@given(st.text(alphabet=st.sampled_from(
    "abcdefghiklmnoprstuvwxyzAIU 013457!@$*.-_'\n你我他操傻逼死杀客服平台交提现充值微信群老师收u"),
    max_size=60) | st.sampled_from(SAMPLES))
@example("you are a useless idiot, I will find you")
def test_guarded_lexicons_find_what_the_plain_ones_find(text: str) -> None:
    folded = fold_letters(text)
    for plain, guarded, on_folded in LEXICON_REGEXES:
        subject = folded if on_folded else text
        assert _spans(guarded, subject) == _spans(plain, subject)


@settings(max_examples=300)
@given(st.text(alphabet=st.sampled_from(
    "abcdefghiklmnoprstuvwxyzAEGIMOPQRSTUVWY 0134!@$.-_'\n"), max_size=80) | st.sampled_from(
    [*SAMPLES, "Someone on WhatsApp asked me to pay a FEE before I can WITHDRAW my funds",
     "A Fund Recovery company on TG said they can get back my stolen BTC"]))
def test_ascii_text_finds_the_scam_patterns_of_its_own_case(text: str) -> None:
    """ASCII text is matched lower-cased by case-sensitive regexes: the same hits, labels and
    spans as the case-insensitive regexes as written."""
    assume(text.isascii())
    plain = [re.compile(source, flags) for source, flags in abuse._SCAM.sources]
    expected = [(abuse._SCAM.labels[int(str(m.lastgroup)[1:])], m.span())
                for pattern in plain for m in pattern.finditer(text)]
    assert [(label, m.span()) for label, m in abuse._SCAM.find(text)] == expected


def test_every_lexicon_regex_has_a_guard() -> None:
    """The speed-up holds for each of them (none falls back to the unguarded form)."""
    assert all(compiled.pattern.startswith("(?=[") for _, compiled, _ in LEXICON_REGEXES)


def test_a_folded_lexicon_refuses_capitals() -> None:
    with pytest.raises(ValueError, match="capital"):
        abuse._Lexicon([("spam", "re:加(?:vx|VX)")], folded=True)
    abuse._Lexicon([("spam", r"re:\bjoin\W+now")], folded=True)  # escapes are not capitals
