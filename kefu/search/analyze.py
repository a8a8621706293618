"""Text analysis for the keyword index: the same pipeline for articles and for queries.

NFKC first (full-width "ＵＳＤＴ２ＦＡ" and half-width forms become plain "USDT2FA"), then case
folding and Traditional Chinese to Simplified (OpenCC's ``t2s``: "實名認證" → "实名认证"), then
Han runs are segmented by jieba (rjieba: the same dictionary and algorithm, ten times faster)
in search mode, so "资金费率" is indexed both whole and as "资金" + "费率" and a query that
segments differently still meets it. A crypto user dictionary keeps 提币, 爆仓,
谷歌验证器 … whole. Latin words are Porter-stemmed, so "withdrawals" meets "withdrawal".
Stop words are dropped on both sides. Queries also meet the synonyms the articles use
(``synonyms``: 提现 finds 提币, "hacked" finds "stolen"). The "U" of Chinese crypto slang
("买U", "充U", "500U") is the term "usdt".
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterator
from functools import cache
from importlib import metadata, resources

import opencc
import rjieba

from kefu.search.stem import porter_stem

_OPENCC_VERSION = metadata.version("opencc")
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f"
# A Han run, or a word of letters/digits (not Han) with inner hyphens or apostrophes.
_TOKEN = re.compile(rf"[{_HAN}]+|[^\W_{_HAN}]+(?:[-'’][^\W_{_HAN}]+)*")
_HAN_CHAR = re.compile(rf"[{_HAN}]")
_ASCII_WORD = re.compile(r"[a-z]+")


def _data_lines(name: str) -> list[str]:
    """Non-empty, non-comment lines of a file shipped in kefu/search/data/."""
    text = resources.files("kefu.search").joinpath("data", name).read_text("utf-8")
    return [line.strip() for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


ENGLISH_STOP_WORDS = frozenset(_data_lines("stopwords_en.txt"))
CHINESE_STOP_WORDS = frozenset(_data_lines("stopwords_zh.txt"))


@cache
def _segmenter() -> rjieba.Jieba:
    """One jieba instance with the crypto user dictionary added; built once per process."""
    jieba = rjieba.Jieba()
    for line in _data_lines("crypto_userdict.txt"):
        parts = line.split()
        freq = int(parts[1]) if len(parts) > 1 else 100_000
        jieba.add_word(parts[0], freq, None)
    return jieba


@cache
def _traditional_to_simplified() -> opencc.OpenCC:
    """OpenCC's Traditional → Simplified conversion (phrase-aware: 乾燥 → 干燥, 著名 stays)."""
    return opencc.OpenCC("t2s")


def normalize(text: str) -> str:
    """NFKC, case folding, Traditional Chinese characters to Simplified: the form every
    comparison in search is made on."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    simplified: str = _traditional_to_simplified().convert(folded)
    # Snippets map positions back, so a text keeps its length (t2s does; a phrase that would
    # not is left Traditional rather than shift every position after it).
    return simplified if len(simplified) == len(folded) else folded


def _latin_terms(word: str) -> Iterator[tuple[str, str]]:
    """(surface, term) pairs for one non-Han word; hyphenated words also yield the joined form,
    so "ERC-20", "erc 20" and "ERC20" all meet on "erc20"."""
    word = word.replace("’", "").replace("'", "")
    parts = word.split("-")
    if len(parts) > 1:
        joined = "".join(parts)
        yield joined, joined
    for part in parts:
        if part in ENGLISH_STOP_WORDS:
            continue
        if _ASCII_WORD.fullmatch(part):
            yield part, porter_stem(part)
        else:
            yield part, part


_AMOUNT_IN_U = re.compile(r"(\d+)u")


def _usdt_slang(token: str, text: str, start: int, end: int) -> list[tuple[str, str]] | None:
    """The terms of "U" meaning USDT: a lone "u" touching Chinese ("买U", "充U了") or a number
    with a "u" ("500U"); None for any other token ("u guys" stays an English "u")."""
    if token == "u" and (_HAN_CHAR.match(text[start - 1:start] or " ")
                         or _HAN_CHAR.match(text[end:end + 1] or " ")):
        return [(token, "usdt")]
    amount = _AMOUNT_IN_U.fullmatch(token)
    if amount:
        return [(amount.group(1), amount.group(1)), ("u", "usdt")]
    return None


def surface_terms(text: str) -> Iterator[tuple[str, str]]:
    """(surface word, index term) pairs in text order, stop words dropped. The surface form is
    what spelling correction compares; the term is what the index stores."""
    folded = normalize(text)
    for match in _TOKEN.finditer(folded):
        token = match.group()
        if _HAN_CHAR.match(token):
            for word in _segmenter().cut_for_search(token):
                if word not in CHINESE_STOP_WORDS:
                    yield word, word
        elif (slang := _usdt_slang(token, folded, match.start(), match.end())) is not None:
            yield from slang
        else:
            yield from _latin_terms(token)


_ASPECT_PARTICLES = ("了", "过", "啦", "咯")


def without_particle(word: str) -> str:
    """A Chinese word without the aspect particle jieba sometimes keeps on it ("充了" → "充"):
    what a query word means when the word itself is no index term. Others come back unchanged."""
    if len(word) > 1 and _HAN_CHAR.match(word) and word.endswith(_ASPECT_PARTICLES):
        return word[:-1]
    return word


def terms(text: str) -> list[str]:
    """The index terms of a text, in order, with repeats (BM25 counts them)."""
    return [term for _, term in surface_terms(text)]


def has_han(text: str) -> bool:
    return _HAN_CHAR.search(text) is not None


_SCRIPT_RANGES = (
    ("han", re.compile(rf"[{_HAN}]")),
    ("kana", re.compile(r"[\u3040-\u30ff]")),
    ("hangul", re.compile(r"[\uac00-\ud7af\u1100-\u11ff]")),
    ("cyrillic", re.compile(r"[\u0400-\u04ff]")),
    ("latin", re.compile(r"[a-zA-Z\u00c0-\u024f]")),
)
_LANGUAGE_SCRIPTS = {
    "zh": frozenset({"han"}), "ja": frozenset({"han", "kana"}), "ko": frozenset({"hangul"}),
    "ru": frozenset({"cyrillic"}), "uk": frozenset({"cyrillic"}), "bg": frozenset({"cyrillic"}),
}


def scripts_in(text: str) -> frozenset[str]:
    """The writing systems a text uses (han, kana, hangul, cyrillic, latin)."""
    return frozenset(name for name, pattern in _SCRIPT_RANGES if pattern.search(text))


def language_scripts(lang: str) -> frozenset[str]:
    """The writing systems articles in a BCP 47 language are written in; Latin by default."""
    return _LANGUAGE_SCRIPTS.get(primary_language(lang), frozenset({"latin"}))


def primary_language(lang: str) -> str:
    """'zh-CN' -> 'zh', 'en_US' -> 'en': the part two language tags must share to match."""
    return lang.replace("_", "-").split("-")[0].casefold()


@cache
def synonyms() -> dict[str, frozenset[str]]:
    """Each term of ``synonyms.txt`` and the other terms of its groups."""
    groups: dict[str, set[str]] = {}
    for line in _data_lines("synonyms.txt"):
        members = {term for word in line.split() for term in _whole_terms(word)}
        for term in members:
            groups.setdefault(term, set()).update(members - {term})
    return {term: frozenset(others) for term, others in groups.items()}


def _whole_terms(word: str) -> list[str]:
    """The index term of a whole word (jieba's search mode also yields its parts)."""
    pairs = list(surface_terms(word))
    whole = [term for surface, term in pairs if surface == normalize(word)]
    return whole or ([pairs[0][1]] if len(pairs) == 1 else [])


def fingerprint() -> str:
    """What a stored index's terms depend on: the user dictionary, stop words and this
    pipeline's version. A stored index analyzed differently is re-analyzed on load."""
    digest = hashlib.blake2b(digest_size=8)
    digest.update(ANALYZER_VERSION.encode())
    digest.update(f"opencc {_OPENCC_VERSION}".encode())
    for name in ("crypto_userdict.txt", "stopwords_en.txt", "stopwords_zh.txt",
                 "boilerplate_headings.txt"):
        digest.update("\n".join(_data_lines(name)).encode())
    return digest.hexdigest()


ANALYZER_VERSION = "2"


# Searched like any word, but no sign of what a query is about: alone ("1", "not", "7*7",
# "' OR 1=1 --", "不", "有人吗", "not working") they matched nearly every article, and in a
# long question they counted against its share of words found. English ones as stemmed.
_NOT_TOPICAL = frozenset({
    "not", "nor", "yes", "help", "pleas", "work", "problem", "issu", "someon", "anyon",
    "不", "没", "没有", "无法", "不能", "未", "不行", "不了", "有人", "一直", "怎么办", "帮忙",
    "帮助", "问题", "请问", "麻烦", "急", "谢谢", "您好", "你好"})


def is_content_word(term: str, *, indexed: bool = True) -> bool:
    """Whether a query term says what the query is about (for relevance): not a bare number,
    not a negation or filler, and not a code that no article holds (``indexed`` False): a
    TxID, an address, an order number or "500u" in a long question could never be found, and
    counted against its share of words found ("the TxID is 0x8f3a…")."""
    if term.isdigit() or term in _NOT_TOPICAL:
        return False
    return indexed or not any(char.isdigit() for char in term)


@cache
def _boilerplate() -> frozenset[str]:
    return frozenset(_heading_key(line) for line in _data_lines("boilerplate_headings.txt"))


def _heading_key(heading: str) -> str:
    return re.sub(r"[\W_]+", "", normalize(heading))


def is_boilerplate(heading: str) -> bool:
    """A section heading of the footer articles share (``boilerplate_headings.txt``): such a
    section is shown on the page but not searched."""
    return _heading_key(heading) in _boilerplate()
