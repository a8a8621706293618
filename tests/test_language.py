"""Language detection on the short, mixed messages customers actually send."""

from __future__ import annotations

import csv
import json
import unicodedata
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kefu.core.language import SUPPORTED_LANGUAGES, detect_language, language_name
from tests.language_samples import LATIN_SAMPLES
from tests.scaling import growth
from tests.shared_data import SHARED_DATA, requires_shared_data

SAMPLES = [
    ("USDT充值没到账", "zh"),
    ("我的提币一直在审核中，怎么回事？", "zh"),
    ("为什么还没到账", "zh"),
    ("100U TRC20 没收到", "zh"),
    ("人工客服", "zh"),
    ("好", "zh"),
    ("我的withdrawal一直pending", "zh"),
    ("登录不了 显示userid or userkey is empty", "zh"),
    ("如何更改验证の手机号码？", "zh"),  # a borrowed の does not make it Japanese
    ("七天免息劵", "zh"),  # 劵: the everyday misspelling of 券, a Shift-JIS-only character
    ("我的提幣一直在審核中，怎麼回事？", "zh-Hant"),
    ("請問這筆轉帳什麼時候到帳", "zh-Hant"),
    ("謝謝", "zh-Hant"),
    ("出金の申請が反映されません", "ja"),
    ("入金済", "ja"),
    ("입금이 안 됐어요", "ko"),
    ("Мой депозит не пришел", "ru"),
    ("Мій депозит не надійшов", "uk"),
    ("لم يصل إيداعي", "ar"),
    ("เงินฝากของฉันยังไม่เข้า", "th"),
    ("KYC pending", "en"),
    ("where is my money???", "en"),
    ("withdraw stuck since yesterday", "en"),
    ("Can I cancel a transaction?", "en"),
    ("hello", "en"),
    ("HELP", "en"),
    ("请问 how do I withdraw my USDT to binance", "en"),
    ("no llegó mi retiro", "es"),
    ("tiền chưa về tài khoản", "vi"),
    ("param hesabıma gelmedi", "tr"),
    ("mon dépôt n'est pas arrivé", "fr"),
    ("meine Einzahlung fehlt", "de"),
    ("meu depósito não chegou", "pt"),
    ("deposit saya belum masuk", "id"),
    ("il mio prelievo è bloccato", "it"),
    ("gracias", "es"),
]


@pytest.mark.parametrize(("text", "expected"), SAMPLES)
def test_detects_short_messages(text: str, expected: str) -> None:
    assert detect_language(text) == expected


@pytest.mark.parametrize("text", [
    "", "   ", "12345", "?!", "a", "USDT", "KYC", "0x52908400098527886E0F7030069857D2E4169EE7",
    "https://example.com/a/b", "TRC20 100",
])
def test_no_language_is_und(text: str) -> None:
    assert detect_language(text) == "und"


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from([
    "my", "deposit", "is", "missing", "USDT", "KYC", "HELP", "hola", "retiro", "mon", "dépôt",
    "n'est", "pas", "arrivé", "Einzahlung", "fehlt", "0x52908400098527886E0F7030069857D2E4169EE7",
    "https://t.me/x", "a", "@handle", "12345", "?", "!!", "The", "seller", "paid", "never",
    "ok"]), max_size=12).map(" ".join))
def test_ascii_text_takes_the_short_way_to_the_same_language(words: str) -> None:
    """ASCII text skips counting the other scripts, which it cannot hold: same answer."""
    from kefu.core.language import _by_scripts

    text = words.encode("ascii", "ignore").decode()
    assert detect_language(text) == _by_scripts(text)


def test_every_result_is_a_supported_code() -> None:
    assert {detect_language(text) for text, _ in SAMPLES} <= set(SUPPORTED_LANGUAGES)


def test_threads_share_one_detector() -> None:
    texts = [text for text, _ in SAMPLES] * 4
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(detect_language, texts))
    assert results == [expected for _, expected in SAMPLES] * 4


@pytest.mark.parametrize(("code", "ui", "name"), [
    ("zh", "zh", "中文（简体）"), ("zh-Hant", "zh", "中文（繁体）"),
    ("zh", "en", "Chinese (Simplified)"), ("zh-Hant", "en", "Chinese (Traditional)"),
    ("en", "en", "English"), ("ja", "zh-CN", "日语"), ("vi", "en", "Vietnamese"),
    ("ko", "ko", "한국어"), ("und", "en", "Unknown language"),
])
def test_language_names(code: str, ui: str, name: str) -> None:
    assert language_name(code, ui) == name


def test_language_name_rejects_unknown_input() -> None:
    with pytest.raises(ValueError, match="unknown language code"):
        language_name("xx", "en")
    with pytest.raises(ValueError, match="unknown UI language"):
        language_name("en", "not a locale")


@requires_shared_data
def test_real_chinese_and_english_support_messages() -> None:
    """Real customer messages: CIC (Chinese e-commerce chat), BANKING77 (English banking)."""
    with (SHARED_DATA / "cic" / "dev.json").open(encoding="utf-8") as lines:
        chinese = [json.loads(line)["sentence"] for line in lines][:500]
    with (SHARED_DATA / "banking77" / "train.csv").open(encoding="utf-8") as rows:
        english = [row["text"] for row in csv.DictReader(rows)][:500]
    zh_share = sum(detect_language(t) in ("zh", "zh-Hant") for t in chinese) / len(chinese)
    en_share = sum(detect_language(t) == "en" for t in english) / len(english)
    assert zh_share >= 0.98
    assert en_share >= 0.98


@requires_shared_data
def test_lingua_quick_mode_decides_most_real_english_that_reaches_lingua(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """BANKING77 questions without two English function words: lingua's quick mode decides
    most (72 % measured), each one English, so the chat's analysis worker seldom pays for the
    full model."""
    from kefu.core import language

    with (SHARED_DATA / "banking77" / "train.csv").open(encoding="utf-8") as rows:
        english = [row["text"] for row in csv.DictReader(rows)][:2000]
    full: list[str] = []
    real = language._latin_detector

    def counting(quick: bool = False) -> object:
        if not quick:
            full.append("")
        return real(quick)

    monkeypatch.setattr(language, "_latin_detector", counting)
    undecided = []
    for text in english:
        lowered = [word.lower() for word in language._content_latin_words(text)]
        if lowered and not language._plainly_english(lowered):
            undecided.append(text)
    results = [detect_language(text) for text in undecided]
    assert len(undecided) >= 300
    assert results.count("en") >= 0.98 * len(undecided)
    assert len(full) <= 0.4 * len(undecided)


class _LinguaNeeded(Exception):
    pass


def test_plain_english_is_decided_without_the_ngram_models(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two English-only function words in an ASCII message decide English without lingua (the
    chat's hot path); no support message in another Latin-script language takes that path:
    not whole, not cut to its first few words, not typed without its accents."""
    from kefu.core import language

    def no_lingua(quick: bool = False) -> None:
        raise _LinguaNeeded

    monkeypatch.setattr(language, "_latin_detector", no_lingua)
    assert detect_language("My USDT withdrawal has been pending for two hours, why?") == "en"
    assert detect_language("what is the fee for this and when do I get it") == "en"
    assert detect_language("my deposit is missing") == "en"
    assert _unless_lingua_needed("withdraw stuck since yesterday") is None  # no function word
    for lang, texts in LATIN_SAMPLES.items():
        for text in texts:
            for variant in _variants(text):
                assert _unless_lingua_needed(variant) != "en", (lang, variant)


def test_sure_english_is_decided_by_the_quick_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """English that no function word decides is English when lingua's low-accuracy mode is sure
    of it, without the full model; that mode is never that sure of a support message in another
    Latin-script language (whole, cut to its first few words, typed without accents) unless the
    full model calls it English too."""
    from kefu.core import language

    real = language._latin_detector

    def quick_only(quick: bool = False) -> object:
        if not quick:
            raise _LinguaNeeded
        return real(quick=True)

    monkeypatch.setattr(language, "_latin_detector", quick_only)
    by_quick_model = _unless_lingua_needed
    assert by_quick_model("The P2P seller marked the order paid but I never received the money") \
        == "en"
    assert by_quick_model("API returns error invalid signature on every private request") == "en"
    assert by_quick_model("mon dépôt n'est pas arrivé") is None
    decided = [variant for texts in LATIN_SAMPLES.values() for text in texts
               for variant in _variants(text, (2, 3, 4, 5, 6, 8))
               if by_quick_model(variant) == "en"]
    monkeypatch.setattr(language, "_latin_detector", real)
    assert [detect_language(text) for text in decided] == ["en"] * len(decided)


def _unless_lingua_needed(text: str) -> str | None:
    """``detect_language``, or None where it needed a lingua model that the test took away."""
    try:
        return detect_language(text)
    except _LinguaNeeded:
        return None


def _variants(text: str, lengths: tuple[int, ...] = (3, 4, 5, 6, 8)) -> set[str]:
    """A sample whole, cut to its first few words, and typed without its accents."""
    words = text.split()
    return {*(" ".join(words[:n]) for n in lengths), text, _unaccented(text)}


def _unaccented(text: str) -> str:
    """As typed on a keyboard without the language's letters: marks dropped, ı and đ plain."""
    decomposed = unicodedata.normalize("NFKD", text.replace("ı", "i").replace("đ", "d")
                                       .replace("Đ", "D"))
    return "".join(char for char in decomposed if not unicodedata.combining(char))


@pytest.mark.parametrize("lang", sorted(LATIN_SAMPLES))
def test_support_messages_in_other_latin_languages(lang: str) -> None:
    assert [detect_language(text) for text in LATIN_SAMPLES[lang]] == [lang] * len(
        LATIN_SAMPLES[lang])


@pytest.mark.parametrize("text", [
    "写信给 support@kefu-example.com 吧", "jean.dupont@example.fr", "(bob@x.io)",
    "mail bob.smith+kyc@mail.example.com now",
])
def test_addresses_are_not_words(text: str) -> None:
    from kefu.core.language import _NOISE_RE

    assert "@" not in _NOISE_RE.sub(" ", text)


@pytest.mark.parametrize(("text", "expected"), [
    (lambda n: ("提币一直显示审核中" * n)[:n], "zh"),  # no spaces: one long run
    (lambda n: ("提@" * n)[:n], "zh"),
    (lambda n: ("a@" * n)[:n], "und"),
    (lambda n: ("www." * n)[:n], "und"),
])
def test_long_messages_take_time_in_proportion(text: Callable[[int], str], expected: str) -> None:
    """An address was looked for from every character of a run without spaces, and each
    attempt read the rest of the run: 20,000 characters of Chinese took 1.3 s."""
    assert growth(detect_language, text) < 30
    assert detect_language(text(20_000)) == expected
