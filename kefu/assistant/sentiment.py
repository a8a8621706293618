"""How the customer feels, as a signal for priority and hand-off (SPEC §E), never a verdict.

English goes through VADER with a support-desk supplement ("scammers", "police", "frozen" are
not in its lexicon). Chinese has no shipped model worth its weight, so a compact lexicon with
the rules VADER uses is applied here: leftmost-longest phrase matching (so 不满意 is read before
满意), negation of a following positive (不/没/别 … 满意), intensifiers (太/非常/真的 …), and the
shape of the message: runs of ！/? and SHOUTING. Other languages get the shared signals only:
punctuation, shouting, emoji, and a handful of words per language for "scam" and "thanks".

Scores live in VADER's unbounded valence space and are squashed at the end with VADER's own
normalisation x / sqrt(x² + 15), so an English and a Chinese message land on the same scale.
"""

from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from kefu.core.language import detect_language

if TYPE_CHECKING:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

Label = Literal["negative", "neutral", "positive"]

_ALPHA = 15.0  # VADER's normalisation constant
_NEUTRAL_BAND = 0.05  # VADER's recommended thresholds for its compound score
_ANGRY_SCORE = -0.75
_HEATED_SCORE = -0.5  # negative enough that runs of ！/？ read as anger, not impatience
_NEGATION_SCALAR = -0.74  # VADER's N_SCALAR
_INTENSIFIER_SCALAR = 1.3
_PUNCTUATION_STEP = 0.3  # valence per extra "!" or "?" beyond the first, at most four

# Support-desk words VADER lacks or underrates; valences on VADER's -4…4 scale.
_ENGLISH_SUPPLEMENT: dict[str, float] = {
    "scammer": -2.8, "scammers": -2.8, "scammed": -2.8, "scamming": -2.8, "fraudster": -2.8,
    "thieves": -2.5, "lawyer": -1.2, "lawyers": -1.2, "police": -1.5, "sue": -1.5,
    "lawsuit": -1.8, "frozen": -1.2, "unresolved": -1.5, "ignored": -1.5, "ignoring": -1.5,
    "delayed": -1.0, "missing": -1.2, "refund": -0.3, "ripoff": -2.5,
}
_ENGLISH_PHRASES: dict[str, float] = {
    r"where(?:'s| is) my (?:money|funds?|deposit|withdrawal|usdt|btc|eth|coins?)": -1.5,
    r"still (?:not|no|waiting|pending|haven'?t)": -1.2,
    r"(?:not|never|haven'?t|didn'?t) (?:been )?(?:received|arrived|credited)": -1.0,
    r"no (?:one|response|reply|answer)|nobody (?:answers|replies|responds|helps)": -1.5,
    r"(?:report|expose) (?:you|this|your)": -1.8,
}
_ENGLISH_PROFANITY = re.compile(
    r"\b(?:fuck\w*|shit\w*|bullshit|wtf|asshole\w*|bastards?|dickheads?|crap|idiots?|"
    r"morons?|stupid)\b", re.I)

# Chinese lexicon (simplified and traditional spellings), VADER scale.
_CHINESE_LEXICON: dict[float, tuple[str, ...]] = {
    -3.0: ("骗子", "骗钱", "骗局", "诈骗", "黑平台", "跑路", "垃圾", "坑人", "坑钱", "恶心",
           "气死", "去死", "骗人", "騙子", "騙錢", "詐騙", "騙人", "氣死", "噁心"),
    -2.0: ("投诉", "报警", "起诉", "律师", "曝光", "维权", "退钱", "还钱", "无语", "离谱", "失望",
           "差劲", "太差", "太慢", "不满意", "不满", "生气", "愤怒", "受不了", "扯淡", "欺骗",
           "坑", "被盗", "被骗", "被黑", "急死", "搞什么", "什么鬼", "敷衍", "踢皮球", "没人管",
           "没人回", "不回复", "没解决", "未解决", "没有解决", "不给提", "提不出来", "冻结",
           "过分", "醉了", "不负责任", "态度差", "态度问题", "推脱", "推卸", "麻烦死了", "忽悠",
           # losing funds: the most distressed messages a support desk gets
           "盗了", "盗走", "偷走", "被提走", "提走了", "被转走", "转走了", "全没了", "都没了",
           "盜了", "盜走", "被盜", "被轉走", "轉走了", "全沒了",
           "浪费", "问了好多遍", "说了好多遍", "多少遍", "催了", "搞笑",
           "投訴", "報警", "律師", "維權", "退錢", "還錢", "無語", "離譜", "失望", "不滿", "凍結",
           "過分", "不負責任", "態度差", "推託"),
    -1.2: ("还没到账", "没到账", "未到账", "不到账", "没收到", "没有收到", "一直没", "一直在等",
           "等了", "好久", "半天", "怎么回事", "怎么还", "到底", "卡住", "卡了", "着急", "慢",
           "失败", "异常", "错误", "无法", "没反应", "還沒到帳", "沒到帳", "沒收到", "怎麼回事",
           "失敗", "異常", "錯誤", "無法"),
    1.0: ("没问题", "没有问题", "好的", "可以了", "方便", "收到了", "到账了", "到了", "沒問題",
          "到帳了"),
    # 麻烦你了: the polite "sorry for the trouble", i.e. thanks.
    1.5: ("麻烦你了", "麻烦您了", "麻烦你啦", "麻烦啦", "麻烦了", "谢啰", "麻煩你了", "麻煩了"),
    2.0: ("谢谢", "多谢", "感谢", "谢了", "解决了", "已解决", "搞定了", "满意", "不错", "很好",
          "好评", "给力", "专业", "耐心", "辛苦了", "赞", "棒", "喜欢", "謝謝", "多謝", "感謝",
          "解決了", "滿意", "給力", "專業", "蟹蟹", "真好", "态度好", "態度好"),
    3.0: ("太好了", "非常感谢", "太感谢", "非常满意", "太棒了", "非常好", "非常感謝"),
}
_CHINESE_NEGATIONS = ("不", "没", "沒", "别", "別", "未", "无", "無", "没有", "沒有")
_CHINESE_INTENSIFIERS = ("太", "非常", "很", "特别", "特別", "超级", "超級", "极其", "極其", "真的",
                         "真", "好", "超", "都")
_CHINESE_PROFANITY = re.compile(
    r"他妈|他媽|妈的|媽的|尼玛|你妈|你媽|操你|草泥马|傻逼|傻b|煞笔|狗日|卧槽|我操|王八蛋|混蛋|"
    r"滚蛋|去你的|(?<![A-Za-z])sb(?![A-Za-z])", re.I)

# Shared across languages: accusing the exchange of theft, threatening authorities, thanks.
_ACCUSATIONS = re.compile(
    r"scam|fraud|thie(?:f|ves)|骗|騙|黑平台|跑路|estafa|stafador|мошенни|обман|dolandırıcı|"
    r"lừa đảo|詐欺|사기|احتيال|نصاب|arnaque|escroc|betrug|golpe|penipu|truffa|imbroglio", re.I)
_THREATS = re.compile(
    r"police|lawyer|\bsue\b|lawsuit|report (?:you|this)|报警|報警|投诉|投訴|律师|律師|起诉|起訴|"
    r"曝光|полици|адвокат|abogado|policía|denuncia|polis|avukat|警察|경찰|avocat|anwalt|polizei|"
    r"advogado|polícia|polisi|avvocato|polizia", re.I)
_THANKS_OTHER = re.compile(
    r"gracias|спасибо|дякую|teşekkür|sağ ?ol|cảm ơn|ありがとう|감사|고마워|شكرا|merci|danke|"
    r"obrigad[oa]|terima kasih|grazie|ขอบคุณ", re.I)
_OTHER_ACCUSATION_VALENCE = -2.8
_OTHER_THREAT_VALENCE = -1.5
_OTHER_THANKS_VALENCE = 1.9

_EXCLAMATION_RUN = re.compile(r"[!！]{2,}")
_QUESTION_RUN = re.compile(r"[?？][?？!！]+")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
_NOT_SHOUTING = frozenset({"USDT", "USDC", "BTC", "ETH", "TRX", "BNB", "SOL", "XRP", "KYC", "UID",
                           "API", "TRC", "ERC", "BEP", "BSC", "ID", "OK", "OTP", "FA", "VIP"})
_ANGRY_EMOJI = re.compile("[\U0001F620\U0001F621\U0001F624\U0001F92C\U0001F595\U0001F4A2]")
_HAPPY_EMOJI = re.compile("[\U0001F44D\U0001F64F\U0001F60A\U0001F600\U0001F603\U0001F970"
                          "\U0001F60D\u2764\U0001F496]")


@dataclass(frozen=True, slots=True)
class Sentiment:
    score: float  # -1 … 1
    label: Label
    angry: bool
    signals: tuple[str, ...] = ()  # why: "profanity", "accusation", "threat", "shouting", …


_analyzer_lock = threading.Lock()
_analyzer: SentimentIntensityAnalyzer | None = None


def _english_analyzer() -> SentimentIntensityAnalyzer:
    """One VADER instance, built on first use (its lexicon file takes ~30 ms to parse) and
    supplemented with the support-desk words; read-only afterwards, so threads may share it."""
    global _analyzer
    if _analyzer is None:
        with _analyzer_lock:
            if _analyzer is None:
                from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

                analyzer = SentimentIntensityAnalyzer()
                analyzer.lexicon.update(_ENGLISH_SUPPLEMENT)
                _analyzer = analyzer
    return _analyzer


def sentiment(text: str, lang: str | None = None) -> Sentiment:
    """Score ``text`` written in ``lang`` (detected when ``None``)."""
    lang = lang or detect_language(text)
    signals: list[str] = []
    if _ACCUSATIONS.search(text):
        signals.append("accusation")
    if _THREATS.search(text):
        signals.append("threat")
    if lang == "en":
        valence = _english_valence(text)
    elif lang in ("zh", "zh-Hant"):
        valence = _chinese_valence(text)
    else:
        valence = _other_valence(text, signals)
    if valence < 0:
        signals.append("complaint")
    valence = _with_message_shape(text, valence, signals)
    profane = bool(_ENGLISH_PROFANITY.search(text) or _CHINESE_PROFANITY.search(text))
    if profane:
        signals.append("profanity")
        valence = min(valence, 0.0) - 2.0
    score = _normalise(valence)
    label: Label = ("positive" if score >= _NEUTRAL_BAND
                    else "negative" if score <= -_NEUTRAL_BAND else "neutral")
    heated = {"accusation", "threat", "shouting", "angry emoji"} & set(signals)
    angry = (profane or score <= _ANGRY_SCORE or (label == "negative" and bool(heated))
             or (score <= _HEATED_SCORE and "exclamations" in signals))
    return Sentiment(round(score, 4), label, angry, tuple(signals))


def _normalise(valence: float) -> float:
    return valence / math.sqrt(valence * valence + _ALPHA)


def _english_valence(text: str) -> float:
    compound = float(_english_analyzer().polarity_scores(text)["compound"])
    compound = max(-0.9999, min(0.9999, compound))
    valence = compound * math.sqrt(_ALPHA / (1 - compound * compound))  # undo the squashing
    return valence + sum(weight for pattern, weight in _COMPILED_ENGLISH_PHRASES
                         if pattern.search(text))


_COMPILED_ENGLISH_PHRASES = [(re.compile(pattern, re.I), weight)
                             for pattern, weight in _ENGLISH_PHRASES.items()]
_CHINESE_WEIGHTS = {phrase: weight for weight, phrases in _CHINESE_LEXICON.items()
                    for phrase in phrases}
_CHINESE_RE = re.compile("|".join(
    re.escape(phrase) for phrase in sorted(_CHINESE_WEIGHTS, key=len, reverse=True)))


def _chinese_valence(text: str) -> float:
    valence = 0.0
    for match in _CHINESE_RE.finditer(text):
        weight = _CHINESE_WEIGHTS[match.group()]
        before = text[max(0, match.start() - 3):match.start()]
        # A negation right before a positive, or one character earlier (不太满意, 没解决).
        if weight > 0 and any(before.endswith(n) or before[:-1].endswith(n)
                              for n in _CHINESE_NEGATIONS):
            weight *= _NEGATION_SCALAR
        elif any(before.endswith(word) for word in _CHINESE_INTENSIFIERS):
            weight *= _INTENSIFIER_SCALAR
        valence += weight
    return valence


def _other_valence(text: str, signals: list[str]) -> float:
    """Languages without a lexicon here: the words every support desk hears, from the signals
    already found ("scam", "police") and thanks."""
    valence = 0.0
    if "accusation" in signals:
        valence += _OTHER_ACCUSATION_VALENCE
    if "threat" in signals:
        valence += _OTHER_THREAT_VALENCE
    if _THANKS_OTHER.search(text):
        valence += _OTHER_THANKS_VALENCE
    return valence


def _with_message_shape(text: str, valence: float, signals: list[str]) -> float:
    """Runs of ! and ?, SHOUTING and emoji. In a support chat they mean frustration unless the
    words are positive ("谢谢！！"), where they amplify the thanks."""
    emphasis = 0.0
    for run in (*_EXCLAMATION_RUN.findall(text), *_QUESTION_RUN.findall(text)):
        emphasis += _PUNCTUATION_STEP * min(len(run) - 1, 4)
    if emphasis:
        signals.append("exclamations")
    words = _LATIN_WORD.findall(text)
    shouted = [w for w in words if w.isupper() and w not in _NOT_SHOUTING]
    if len(shouted) >= 3 and len(shouted) * 5 >= len(words) * 3:
        signals.append("shouting")
        emphasis += 1.0
    angry_emoji = len(_ANGRY_EMOJI.findall(text))
    happy_emoji = len(_HAPPY_EMOJI.findall(text))
    if angry_emoji:
        signals.append("angry emoji")
    valence += 1.5 * (happy_emoji - angry_emoji)
    return valence + emphasis if valence > 0 else valence - emphasis
