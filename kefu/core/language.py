"""Which language a customer wrote in: routing needs it on every message (SPEC §J).

Scripts decide most cases without a model: Hangul is Korean, kana is Japanese, Arabic script is
Arabic, Thai is Thai, Cyrillic is Russian or Ukrainian, Han without kana is Chinese. Only Latin
text goes to ``lingua``, built for the Latin-script languages Kefu serves (all 75 would cost about
1 GB of memory; these nine cost about 220 MB, loaded on the first Latin text).

Simplified versus Traditional Chinese is decided by characters that exist in only one of the two
national character sets: GB 2312 (mainland, simplified) and Big5 (Taiwan, traditional). Python's
own codecs carry both tables, so the lists are derived, not shipped: 们/這/币/幣 fall on one side
each, while the characters both forms share (的, 是, 台, 后) count for neither. Kanji that are in
Shift-JIS but in neither Chinese set (込, 払, 済, 続 …) mark Japanese written without kana.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from functools import cache, lru_cache
from typing import TYPE_CHECKING

from babel import Locale, UnknownLocaleError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from lingua import ConfidenceValue, LanguageDetector

UNDETERMINED = "und"
SUPPORTED_LANGUAGES: tuple[str, ...] = (
    "zh", "zh-Hant", "en", "ja", "ko", "ru", "es", "vi", "tr", "ar",
    "fr", "de", "pt", "id", "th", "uk", "it",
)

# Latin-script languages handed to lingua, by lingua's enum name.
_LATIN_LANGUAGES: dict[str, str] = {
    "ENGLISH": "en", "SPANISH": "es", "VIETNAMESE": "vi", "TURKISH": "tr", "FRENCH": "fr",
    "GERMAN": "de", "PORTUGUESE": "pt", "INDONESIAN": "id", "ITALIAN": "it",
}

# Text that says nothing about language: links, e-mail addresses, handles, long tokens
# (addresses, txids, order ids) and numbers. An address is looked for only from where a run of
# non-space starts: ``\S+@`` tried at every character of a long run without spaces (Chinese
# text has none) read the rest of the run each time, and 20,000 characters of Chinese took
# 1.3 s (tests/test_language.py).
_NOISE_RE = re.compile(
    r"https?://\S+|www\.\S+|(?<!\S)[^\s@]+@[^\s@]+\.\w+|@\w+"
    r"|(?<![0-9A-Za-z])(?:[0-9A-Za-z]*\d[0-9A-Za-z]*|[0-9A-Za-z]{20,})(?![0-9A-Za-z])"
)
_HAN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# Kana blocks without the katakana middle dot (U+30FB), which Chinese uses in foreign names.
_KANA_RE = re.compile(r"[\u3041-\u309f\u30a0-\u30fa\u30fc-\u30ff\u31f0-\u31ff\uff66-\uff9f]")
_HANGUL_WORD_RE = re.compile(r"[\uac00-\ud7af\u1100-\u11ff\u3130-\u318f]+")
_ARABIC_WORD_RE = re.compile(r"[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]+")
_THAI_RE = re.compile(r"[\u0e00-\u0e7f]")
_CYRILLIC_WORD_RE = re.compile(r"[\u0400-\u04ff]+")
_LATIN_WORD_RE = re.compile(r"[A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff'’]+")
# Tickers and acronyms that every language's support messages share.
_SHARED_TERMS = frozenset((
    "USDT", "USDC", "BTC", "ETH", "TRX", "SOL", "BNB", "XRP", "TON", "DOGE", "LTC", "TRC", "ERC",
    "BEP", "BSC", "KYC", "UID", "API", "OTP", "NFT", "FAQ", "VIP", "ID", "APP", "OTC", "OK",
))
_UKRAINIAN_ONLY = frozenset("іїєґІЇЄҐ")
_RUSSIAN_ONLY = frozenset("ыэъёЫЭЪЁ")

# One- or two-word greetings and replies on which lingua's n-gram models are unreliable
# ("hello" scores as Italian). Used only when every word of a message is listed here.
_CHAT_WORDS: dict[str, str] = {
    **dict.fromkeys(
        ("hello", "hi", "hey", "thanks", "thank", "you", "thx", "ok", "okay", "yes", "yeah",
         "please", "pls", "help", "human", "agent", "support", "refund", "scam", "good",
         "morning", "there", "bye", "sorry", "deposit", "withdrawal", "urgent"), "en"),
    **dict.fromkeys(("hola", "gracias", "buenos", "días", "ayuda", "por", "favor"), "es"),
    **dict.fromkeys(("bonjour", "merci", "salut", "aide"), "fr"),
    **dict.fromkeys(("hallo", "danke", "bitte", "hilfe"), "de"),
    **dict.fromkeys(("olá", "obrigado", "obrigada", "ajuda"), "pt"),
    **dict.fromkeys(("ciao", "grazie", "aiuto"), "it"),
    **dict.fromkeys(("merhaba", "teşekkürler", "teşekkür", "ederim", "yardım"), "tr"),
    **dict.fromkeys(("xin", "chào", "cảm", "ơn"), "vi"),
    **dict.fromkeys(("halo", "terima", "kasih", "tolong"), "id"),
}

# English function words that are not words in the other Latin-script languages detected here
# ("do" is Portuguese, "was" and "will" German, "can" Turkish, "on" and "but" French, "the" is
# Vietnamese written without its marks — so none of those). Two different ones, making up a
# fifth of an all-ASCII message's words, decide English without lingua, whose n-gram scoring
# costs ~150 µs a message and was most of the chat's analysis worker at 2,000 messages/s.
# No support message in the other eight Latin-script languages, whole, cut to its first 3–8
# words or typed without accents, is taken for English that way (tests/language_samples.py);
# of real English questions (BANKING77, CLINC150) two words decide 65 %, three decided 41 %.
_ENGLISH_FUNCTION_WORDS = frozenset((
    "is", "are", "been", "has", "have", "had", "does", "did", "my", "your", "our", "their", "its",
    "it", "this", "that", "these", "those", "what", "why", "when", "where", "which", "who", "how",
    "and", "of", "for", "not", "with", "from", "please", "still", "they", "we", "them", "you",
    "just", "any", "after", "before", "because", "about", "into", "than", "then", "there",
    "would", "should", "could", "i'm", "i've", "don't", "can't", "didn't", "doesn't", "isn't",
    "haven't", "hasn't", "won't",
))
_ENGLISH_MIN_WORDS = 2
_ENGLISH_MIN_SHARE = 0.2

# English wins a Latin text when lingua finds it at least half as likely as the best language:
# short English support questions share n-grams with French and Italian ("Can I cancel a
# transaction?" scores fr 0.47, en 0.39), while real French, Spanish or Turkish text leaves
# English below 0.05. English is by far the most common Latin-script language of customers.
_ENGLISH_PRIOR = 0.5

# English wins a Latin text outright when lingua's low-accuracy mode (trigrams only: ~55 µs
# against ~160 µs for the full model on a 12-word question) is this sure of it. Real English
# questions that the function words leave undecided are 72 % of them this sure (BANKING77); no
# support message in the other eight languages, whole, cut to its first 2–8 words or typed
# without accents, is more than 0.51 sure but one, Vietnamese without its marks at 0.988,
# which the full model calls English too (tests/test_language.py).
_QUICK_ENGLISH = 0.99

# Han characters per written word, so that a message's scripts are compared in comparable units.
# Chinese words average about 1.5 characters; counting each character as a word tilts mixed text
# towards Chinese because Chinese customers quote English (error messages, menu items) far more
# often than the reverse: "登录不了 显示userid or userkey is empty" is Chinese, "请问 how do I
# withdraw my USDT" English.
_HAN_CHARS_PER_WORD = 1.0
_THAI_CHARS_PER_WORD = 4.0


# In Shift-JIS only, yet written in Chinese: 劵 is the everyday misspelling of 券 (优惠劵).
_CHINESE_VARIANTS_IN_JIS = frozenset("劵")
# Kana share from which Han-and-kana text is Japanese: Chinese writers borrow a lone の
# ("验证の手机号码"), Japanese sentences are a third kana or more.
_JAPANESE_KANA_SHARE = 0.2


@cache
def _chinese_char_classes() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """(simplified-only, traditional-only, Japanese-only) Han characters, from the codecs."""
    simplified: set[str] = set()
    traditional: set[str] = set()
    japanese: set[str] = set()
    for codepoint in range(0x4E00, 0xA000):
        char = chr(codepoint)
        in_gb, in_big5, in_jis = (_encodable(char, codec) for codec in ("gb2312", "big5", "sjis"))
        if in_gb and not in_big5:
            simplified.add(char)
        elif in_big5 and not in_gb:
            traditional.add(char)
        elif in_jis and not in_gb and not in_big5 and char not in _CHINESE_VARIANTS_IN_JIS:
            japanese.add(char)
    return frozenset(simplified), frozenset(traditional), frozenset(japanese)


def _encodable(char: str, codec: str) -> bool:
    try:
        char.encode(codec)
    except UnicodeEncodeError:
        return False
    return True


_detector_lock = threading.Lock()
_detectors: dict[bool, LanguageDetector] = {}


def _latin_detector(quick: bool = False) -> LanguageDetector:
    """Built once each, on first use, under a lock: building costs nothing but the n-gram models
    they then load are ~220 MB, so processes that never see Latin text never pay for them.
    ``quick``: lingua's low-accuracy mode (trigrams only, about a third of the time; the two
    share the loaded models)."""
    detector = _detectors.get(quick)
    if detector is None:
        with _detector_lock:
            detector = _detectors.get(quick)
            if detector is None:
                from lingua import Language, LanguageDetectorBuilder

                languages = [getattr(Language, name) for name in _LATIN_LANGUAGES]
                builder = LanguageDetectorBuilder.from_languages(*languages)
                detector = (builder.with_low_accuracy_mode() if quick else builder).build()
                _detectors[quick] = detector
    return detector


def detect_language(text: str) -> str:
    """One of :data:`SUPPORTED_LANGUAGES`, or ``"und"`` when the text carries no language
    (empty, numbers, addresses, a lone letter)."""
    if text.isascii():  # most chat messages: no other script to count, nothing to normalize
        latin_words = _content_latin_words(_NOISE_RE.sub(" ", text))
        return _latin_language(latin_words) if latin_words else UNDETERMINED
    return _by_scripts(text)


def _by_scripts(text: str) -> str:
    """:func:`detect_language` for any text: the script with the most words decides, and the
    language within it."""
    text = unicodedata.normalize("NFC", text)
    cleaned = _NOISE_RE.sub(" ", text)
    han = _HAN_RE.findall(cleaned)
    kana = len(_KANA_RE.findall(cleaned))
    latin_words = _content_latin_words(cleaned)
    scores = {
        "cjk": (len(han) + kana) / _HAN_CHARS_PER_WORD,
        "ko": float(len(_HANGUL_WORD_RE.findall(cleaned))),
        "ar": float(len(_ARABIC_WORD_RE.findall(cleaned))),
        "th": len(_THAI_RE.findall(cleaned)) / _THAI_CHARS_PER_WORD,
        "cyrillic": float(len(_CYRILLIC_WORD_RE.findall(cleaned))),
        "latin": float(len(latin_words)),
    }
    # Dict order breaks ties: a native script outweighs an equal amount of Latin.
    script = max(scores, key=lambda name: scores[name])
    if scores[script] == 0:
        return UNDETERMINED
    if script == "cjk":
        return _han_language(han, kana)
    if script == "cyrillic":
        return _cyrillic_language(cleaned)
    if script == "latin":
        return _latin_language(latin_words)
    return script


def _content_latin_words(text: str) -> list[str]:
    """Latin words without tickers and acronyms (USDT, KYC), which appear in every language's
    support messages and say nothing about which; all-caps words are kept when they are all
    there is ("HELP")."""
    words = [word for word in _LATIN_WORD_RE.findall(text) if word.upper() not in _SHARED_TERMS]
    if any(not word.isupper() for word in words):
        return [word for word in words if not (word.isupper() and len(word) <= 5)]
    return words


def _han_language(han: list[str], kana: int) -> str:
    if kana >= _JAPANESE_KANA_SHARE * (len(han) + kana):
        return "ja"
    simplified, traditional, japanese = _chinese_char_classes()
    simplified_count = sum(char in simplified for char in han)
    traditional_count = sum(char in traditional for char in han)
    japanese_count = sum(char in japanese for char in han)
    if japanese_count and 2 * japanese_count >= simplified_count + traditional_count:
        return "ja"
    return "zh-Hant" if traditional_count > simplified_count else "zh"


def _cyrillic_language(text: str) -> str:
    letters = set(text)
    ukrainian = len(letters & _UKRAINIAN_ONLY)
    return "uk" if ukrainian and ukrainian >= len(letters & _RUSSIAN_ONLY) else "ru"


def _latin_language(words: list[str]) -> str:
    lowered = [word.lower() for word in words]
    if sum(len(word) for word in lowered) < 2:
        return UNDETERMINED
    known = {_CHAT_WORDS.get(word) for word in lowered}
    if len(known) == 1 and None not in known:
        return known.pop() or UNDETERMINED
    if _plainly_english(lowered):
        return "en"
    text = " ".join(words)
    if _english(_latin_detector(quick=True).compute_language_confidence_values(text)) \
            >= _QUICK_ENGLISH:
        return "en"
    confidences = _latin_detector().compute_language_confidence_values(text)
    if not confidences:
        return UNDETERMINED
    best = confidences[0]
    if _english(confidences) >= _ENGLISH_PRIOR * best.value:
        return "en"
    return _LATIN_LANGUAGES.get(best.language.name, UNDETERMINED)


def _english(confidences: Sequence[ConfidenceValue]) -> float:
    """English's value in lingua's list (its compute_language_confidence(text, ENGLISH), asked
    on its own, took ~4 ms a call)."""
    return next((c.value for c in confidences if c.language.name == "ENGLISH"), 0.0)


def _plainly_english(lowered: list[str]) -> bool:
    if not all(word.isascii() for word in lowered):
        return False
    found = _ENGLISH_FUNCTION_WORDS.intersection(lowered)
    return (len(found) >= _ENGLISH_MIN_WORDS
            and sum(word in found for word in lowered) >= _ENGLISH_MIN_SHARE * len(lowered))


def language_name(code: str, ui_lang: str = "en") -> str:
    """Display name of a detected language in the UI's language: ``language_name("zh", "zh")``
    is "中文（简体）", ``language_name("zh-Hant", "en")`` is "Chinese (Traditional)". Raises
    ValueError for codes or UI languages it does not know."""
    if code != UNDETERMINED and code not in SUPPORTED_LANGUAGES:
        raise ValueError(f"unknown language code: {code!r}")
    return _display_name(code, ui_lang)


@cache
def _display_name(code: str, ui_lang: str) -> str:
    try:
        ui = Locale.parse(ui_lang.replace("-", "_"))
    except (ValueError, UnknownLocaleError) as exc:
        raise ValueError(f"unknown UI language: {ui_lang!r}") from exc
    if code in ("zh", "zh-Hant"):
        script = "Hans" if code == "zh" else "Hant"
        name = Locale("zh", script=script).get_display_name(ui) or code
    else:
        name = ui.languages.get(code, code)
    if ui.language in ("zh", "ja"):
        name = name.replace(" (", "（").replace(")", "）")
    return name


@lru_cache(maxsize=256)
def autonym(code: str) -> str:
    """A language by its own name as CLDR writes it ("English", "español", "日本語"): the same
    for every reader. ``und`` and a code Babel does not know stay a code."""
    if code == UNDETERMINED:  # Babel would name its default locale
        return code
    try:
        return Locale.parse(code.replace("-", "_")).get_display_name() or code
    except (ValueError, UnknownLocaleError):
        return code


def own_name(code: str) -> str:
    """A language by its own name as a menu of languages writes it: :func:`autonym` with its
    first letter upper-cased where the script has case ("Español", "Tiếng Việt", "中文 (繁體,
    台灣)"). It can travel in frames shared by all consoles; the console names a ticket's
    language this way on the page and live."""
    name = autonym(code)
    return name if name == code else name[:1].upper() + name[1:]
