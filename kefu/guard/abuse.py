"""Abuse and scam signals on what customers send (SPEC §H, issue 6 point 6).

Pure detectors, no database: the product decides what to do with a signal (flag, cool-down,
supervisor review queue, merge into the open ticket) and logs every action.

- ``spam_score``: links, repeated characters or phrases, all caps, promotion vocabulary
  (``data/spam.txt``: 加微信, 代充, "join my group", …) and the same message sent again.
- ``harassment_score``: profanity, insults and threats in zh and en (``data/harassment.txt``),
  tolerant of obfuscation (f*ck, sh1t, 傻 逼, s.b). Whom the words are aimed at matters:
  "this is fucking slow" is frustration at the service (low), "you idiot" is aimed at the agent
  (medium), "fuck you" or a threat is high. Only high should trigger a cool-down.
- ``scam_signals``: a customer describing a scam in progress (recovery services, fees to unlock a
  withdrawal, "support" on WhatsApp, fake admins, guaranteed returns), so the product can warn
  them (``customer_warning``) and flag the conversation for the agent.
- ``near_duplicate``: the cheap test for "you asked this already" merging.
- ``screen``: the first three at once, as the write path runs them on every inbound message
  (``kefu.tickets.abuse_checks``); what is ``actionable`` there is medium or high evidence
  (``AbuseSignal.review``) or any scam signal.

All regexes are compiled once at import; every function is deterministic.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Final, Literal, get_args

from kefu.core.regex import first_char_guard
from kefu.guard.lookalike import fold_letters

__all__ = ["REASON_CODES", "SCAM_CODES", "AbuseSignal", "ScamSignal", "Screening",
           "customer_warning", "harassment_score", "near_duplicate", "reason_parts",
           "scam_signals", "screen", "spam_score"]

Level = Literal["none", "low", "medium", "high"]
_DATA: Final = Path(__file__).with_name("data")
# Score bands: below 0.15 nothing worth showing, from 0.8 act (cool-down).
_LOW: Final = 0.15
_MEDIUM: Final = 0.5
_HIGH: Final = 0.8


@dataclass(frozen=True, slots=True)
class AbuseSignal:
    """One detector's verdict on one message: ``score`` in [0, 1] (noisy-or of the evidence),
    ``reasons`` naming the evidence for the review queue. ``level``: none below 0.15, low below
    0.5, medium below 0.8, high from 0.8."""

    kind: Literal["spam", "harassment"]
    score: float
    reasons: tuple[str, ...]

    @property
    def level(self) -> Level:
        if self.score >= _HIGH:
            return "high"
        if self.score >= _MEDIUM:
            return "medium"
        return "low" if self.score >= _LOW else "none"

    @property
    def cooldown(self) -> bool:
        """Only high evidence restricts a customer; lower levels flag for review."""
        return self.level == "high"

    @property
    def review(self) -> bool:
        """Medium or high: worth a supervisor's look. Low is what angry but legitimate customers
        write ("this is fucking slow", one repeat of a question); flagging it would bury the
        queue."""
        return self.score >= _MEDIUM


def _combine(weights: Iterable[float]) -> float:
    """Noisy-or: independent pieces of evidence add up without ever exceeding 1."""
    remaining = 1.0
    for weight in weights:
        remaining *= 1.0 - weight
    return round(1.0 - remaining, 4)


class _Spans:
    """Non-overlapping spans of a text, taken one by one: whether a new span overlaps one
    taken is a binary search, not a look at each (a 20,000-character message that repeats one
    phrase has thousands of hits, and comparing each with all the others took ~0.2 s). An empty
    span overlaps a span only strictly inside it, so empty ones are kept apart: the others, in
    order of their starts, are in order of their ends too."""

    def __init__(self) -> None:
        self._starts: list[int] = []  # non-empty spans
        self._ends: list[int] = []
        self._empty: list[int] = []  # where the empty ones are

    def take(self, start: int, end: int) -> bool:
        """Take ``[start, end)`` unless it overlaps a span taken; whether it was taken."""
        if start == end:  # inside a span, past its start
            at = bisect.bisect_left(self._starts, start)
            if at and self._ends[at - 1] > start:
                return False
            bisect.insort(self._empty, start)
            return True
        at = bisect.bisect_right(self._starts, start)  # the spans that start here or before
        if (at and self._ends[at - 1] > start) or (at < len(self._starts)
                                                   and self._starts[at] < end):
            return False
        inside = bisect.bisect_right(self._empty, start)
        if inside < len(self._empty) and self._empty[inside] < end:
            return False
        self._starts.insert(at, start)
        self._ends.insert(at, end)
        return True


def _data_lines(name: str) -> list[list[str]]:
    lines = (_DATA / name).read_text("utf-8").splitlines()
    return [line.split("\t", 1) for line in lines if line.strip() and not line.startswith("#")]


# ---------------------------------------------------------------- lexicon patterns

_LEET: Final = {"a": "a@4", "e": "e3", "i": "i1!|", "o": "o0", "s": "s$5", "t": "t7+", "l": "l1|",
                "u": "uv", "g": "g9", "b": "b8"}
_LATIN_ENDINGS: Final = r"(?:s|es|ing|in|ed|er|ers|y|ty|head|face)?"


def _latin_word(word: str) -> str:
    separator = r"[.\-_*~ ]?" if len(word) > 3 else r"[.\-_*~]?"
    parts = []
    for index, char in enumerate(word):
        masked = 0 < index < len(word) - 1
        variants = set(_LEET.get(char, char)) | ({"*", "#"} if masked else set())
        parts.append("[" + "".join(re.escape(v) for v in sorted(variants)) + "]")
    return separator.join(parts)


def _latin_body(term: str) -> str:
    """Latin words and their obfuscations: look-alike digits and symbols, ``*``/``#`` for any
    letter but the first and last ("f**k", "sh*t", not "$***"), one separator between letters
    (no space inside words of three letters or less, where "s b" would match ordinary text),
    any non-letters between the words of a phrase ("fuckyou", "f*ck-you"), common endings on a
    single word. The word-start check is added once for all terms (see ``_Lexicon``)."""
    words = term.split()
    endings = _LATIN_ENDINGS if len(words) == 1 else ""
    return r"[\W_]*".join(_latin_word(word) for word in words) + endings + "(?![a-z])"


# Patterns are grouped by how they start, one regex per group: Python's engine tries every
# branch of an alternation at every position, but skips ahead cheaply when all branches share
# a leading check (a word start) or start with literal characters. One grouped regex is ~10x
# faster than one alternation of all terms.
_LATIN: Final = "latin"
_WORD: Final = "word"
_OTHER: Final = "other"
_PREFIXES: Final = ((_LATIN, r"(?<![a-z0-9])"), (_WORD, r"\b"), (_OTHER, ""))
_NOT_AFTER_LETTER: Final = "(?<![a-z])"


def _split_term(term: str) -> tuple[str, str]:
    """(group, pattern without its leading word-start check) for one lexicon term."""
    if term.startswith("re:"):
        body = term[3:]
        if body.startswith(r"\b"):
            return _WORD, body[2:]
        if body.startswith(_NOT_AFTER_LETTER):
            return _LATIN, body[len(_NOT_AFTER_LETTER):]
        return _OTHER, body
    letters = term.replace(" ", "")
    if letters.isascii() and letters.isalpha():
        return _LATIN, _latin_body(term.lower())
    return _OTHER, r"[\s*.\-_~]?".join(re.escape(char) for char in term)


_CAPITAL_OUTSIDE_ESCAPES: Final = re.compile(r"(?<!\\)(?:\\\\)*[A-Z]")


class _Lexicon:
    """Labelled terms compiled into at most three regexes; ``find`` yields (label, match) for
    every non-overlapping hit of each regex. Earlier labels win when two match at one place.

    ``folded``: matched on :func:`fold_letters` text, which holds no capitals, so the regexes
    are case-sensitive (Python's engine is about twice as fast so) and a term written with a
    capital letter, which could never match, is refused."""

    def __init__(self, entries: Iterable[tuple[str, str]], *, folded: bool) -> None:
        self.labels: list[str] = []
        branches: dict[str, dict[str, list[str]]] = {}
        for label, term in entries:
            if label not in self.labels:
                self.labels.append(label)
            if folded and _CAPITAL_OUTSIDE_ESCAPES.search(term):
                raise ValueError(f"lexicon term with a capital letter (text is folded to "
                                 f"lower case): {term!r}")
            group, body = _split_term(term)
            branches.setdefault(group, {}).setdefault(label, []).append(body)
        flags = 0 if folded else re.IGNORECASE
        # (source, flags) of each regex, as written; compiled behind a first-character guard
        self.sources = tuple(
            (prefix + "(?:" + "|".join(
                f"(?P<g{self.labels.index(label)}>{'|'.join(bodies)})"
                for label, bodies in sorted(branches[group].items(),
                                            key=lambda item: self.labels.index(item[0]))) + ")",
             flags)
            for group, prefix in _PREFIXES if group in branches)
        self.patterns = tuple(re.compile(first_char_guard(source, flags), flags)
                              for source, flags in self.sources)
        # A case-insensitive lexicon matches ASCII text lower-cased, case-sensitively: twice as
        # fast (the scam patterns on an English chat message, 16 → 8 µs), the same spans.
        self.ascii_patterns = () if folded else tuple(
            re.compile(first_char_guard(source, 0)) for source, _ in self.sources)

    def find(self, text: str) -> Iterable[tuple[str, re.Match[str]]]:
        """For a case-insensitive lexicon, the matches in ASCII text are made on its lower-case
        form: their spans are the text's, their ``group()`` lower case."""
        patterns = self.patterns
        if self.ascii_patterns and text.isascii():
            patterns, text = self.ascii_patterns, text.lower()
        for pattern in patterns:
            for match in pattern.finditer(text):
                yield self.labels[int(str(match.lastgroup)[1:])], match


# ---------------------------------------------------------------- harassment

HARASSMENT_CATEGORIES: Final = ("threat", "attack", "severe", "insult", "profanity")


def _load_harassment() -> _Lexicon:
    entries = _data_lines("harassment.txt")
    unknown = {category for category, _ in entries} - set(HARASSMENT_CATEGORIES)
    if unknown:
        raise ValueError(f"harassment.txt: unknown categories {sorted(unknown)}")
    ordered = sorted(entries, key=lambda entry: HARASSMENT_CATEGORIES.index(entry[0]))
    return _Lexicon(((category, term) for category, term in ordered), folded=True)


_HARASSMENT: Final = _load_harassment()
Target = Literal["person", "service", "none"]
# Weight of one hit by category and target; see the module docstring for the scale.
_WEIGHTS: Final[dict[str, dict[Target, float]]] = {
    "threat": {"person": 0.9, "none": 0.9, "service": 0.9},
    "attack": {"person": 0.85, "none": 0.85, "service": 0.85},
    "severe": {"person": 0.85, "none": 0.55, "service": 0.4},
    "insult": {"person": 0.6, "none": 0.3, "service": 0.2},
    "profanity": {"person": 0.2, "none": 0.2, "service": 0.2},
}
_PERSON: Final = re.compile(
    r"(?<![a-z])(?:you|u|ur|your|you're|youre|ya|yall|y'all|agents?|staff|guys|employees?"
    r"|support\s+team|customer\s+service)(?![a-z])|你|您|客服|人工|工作人员|小姐|先生")
_SERVICE_AFTER: Final = re.compile(
    r"^[\s*]*(?:[a-z]+\s+)?(?:app|apps|system|site|website|platform|exchange|service|process"
    r"|company|bank|thing|update|interface|ui|bot|verification|kyc|withdrawals?|deposits?"
    r"|wallet|rules?|policy|fees?)(?![a-z])"
    r"|^\S{0,2}(?:平台|系统|软件|app|交易所|网站|公司|规定|东西)")
_SERVICE_BEFORE: Final = re.compile(
    r"(?:(?<![a-z])(?:this|that|it)(?:'s|\s+is|\s+was)?(?:\s+(?:so|such|a|an|really|just))*\s*"
    r"|这个?|什么|这是)$")
_CLAUSE: Final = re.compile(r"[,.!?;:，。！？；：\n]")


def _target(text: str, match: re.Match[str]) -> Target:
    """Whom a hit is aimed at, judged within its clause: a service noun right after it or "this
    is" right before it ("stupid app", "this is bullshit", "垃圾平台") → the service; "you", "你",
    "客服" near it or inside it ("fuck you") → a person; else nobody in particular."""
    before = _CLAUSE.split(text[max(0, match.start() - 30):match.start()])[-1]
    after = _CLAUSE.split(text[match.end():match.end() + 25], maxsplit=1)[0]
    if _SERVICE_AFTER.search(after) or _SERVICE_BEFORE.search(before):
        return "service"
    if _PERSON.search(match.group(0)) or _PERSON.search(before[-16:]) or _PERSON.search(
            after[:12]):
        return "person"
    return "none"


def harassment_score(text: str) -> AbuseSignal:
    """Profanity, insults and threats, weighed by whom they are aimed at: frustration at the
    service stays low, an insult aimed at the agent is medium, slurs and sexual insults aimed at
    someone, threats, or repeated insults are high (the only level that means cool-down)."""
    return _harassment(fold_letters(text))


def _harassment(folded: str) -> AbuseSignal:
    hits = sorted(_HARASSMENT.find(folded),
                  key=lambda hit: (HARASSMENT_CATEGORIES.index(hit[0]), hit[1].start()))
    taken = _Spans()
    weights: list[float] = []
    reasons: list[str] = []
    for category, match in hits:
        if not taken.take(*match.span()):
            continue
        target = _target(folded, match)
        weights.append(_WEIGHTS[category][target])
        reasons.append(f"{category} ({target}): {match.group(0).strip()}")
    return AbuseSignal("harassment", _combine(weights), tuple(reasons))


# ---------------------------------------------------------------- spam

def _load_spam() -> _Lexicon:
    entries = [(weight, term if term.startswith("re:") or not term.isascii()
                 else rf"re:\b{re.escape(term)}\b")
               for weight, term in _data_lines("spam.txt")]
    return _Lexicon(sorted(entries, reverse=True), folded=True)


_PROMO: Final = _load_spam()
_LINK: Final = re.compile(
    r"(?:https?://|www\.)\S+|t\.me/\S+|(?<![\w.@-])[a-z0-9-]+\.(?:com|net|org|io|xyz|top|vip|cc"
    r"|me|co|app|link|club|site|online|info|biz|ly|gg|to|cn|ru|tk)(?![\w-])(?:/\S*)?")
_CONTACT: Final = re.compile(
    r"(?<![a-z])(?:微信|weixin|wechat|vx|wx|v信|威信|薇信|qq|扣扣|telegram|tg|电报|飞机|whatsapp"
    r"|line)(?![a-z])\s*(?:(?:号|id)\s*[:：]?|[:：])\s*[a-z0-9_+\-]{5,}"
    r"|(?<![a-z])(?:微信|weixin|wechat|vx|wx|qq|扣扣|telegram|tg|whatsapp|line)(?![a-z])\s*"
    r"(?=[a-z_\-]*\d)[a-z0-9_+\-]{5,}|(?<![\w@])@[a-z][a-z0-9_]{4,}")
_REPEATED_CHAR: Final = re.compile(r"(.)\1{7,}")
# A phrase of 2–12 characters four times in a row, written as its first character and the rest
# (``(.{2,12}?)\1{3,}`` finds the same texts in twice the time: it tries eleven lengths at
# every position before comparing a character).
_REPEATED_PHRASE: Final = re.compile(r"(.)(.{1,11}?)\1\2\1\2\1\2")
_MIN_CAPS_LETTERS: Final = 12
_CAPS_SHARE: Final = 0.9
_LINK_WEIGHTS: Final = ((5, 0.7), (3, 0.5), (2, 0.3))
_DUPLICATE_WEIGHTS: Final = ((3, 0.85), (2, 0.6), (1, 0.3))


_UPPER: Final = re.compile(r"[A-Z]")
_LOWER: Final = re.compile(r"[a-z]")


def _shouting(text: str) -> bool:
    """At least ``_MIN_CAPS_LETTERS`` ASCII letters, nearly all capitals."""
    upper = len(_UPPER.findall(text))
    if upper < _CAPS_SHARE * _MIN_CAPS_LETTERS:  # most messages: no need to count the rest
        return False
    letters = upper + len(_LOWER.findall(text))
    return letters >= _MIN_CAPS_LETTERS and upper >= _CAPS_SHARE * letters


def _stepped(count: int, steps: tuple[tuple[int, float], ...]) -> float:
    return next((weight for threshold, weight in steps if count >= threshold), 0.0)


def spam_score(text: str, *, recent: Sequence[str] = ()) -> AbuseSignal:
    """How much ``text`` looks like spam. ``recent`` are the same sender's previous messages
    (newest last, a short window chosen by the caller); sending the same text again counts,
    three repeats or more is high on its own."""
    return _spam(text, fold_letters(text), recent)


def _spam(text: str, folded: str, recent: Sequence[str]) -> AbuseSignal:
    evidence: list[tuple[float, str]] = []
    taken = _Spans()
    for weight, match in sorted(_PROMO.find(folded), key=lambda hit: -float(hit[0])):
        if taken.take(*match.span()):
            evidence.append((float(weight), f"promotion: {match.group(0).strip()}"))
    links = len(_LINK.findall(folded))
    if links_weight := _stepped(links, _LINK_WEIGHTS):
        evidence.append((links_weight, f"links: {links}"))
    contact = _CONTACT.search(folded)
    if contact is not None:
        evidence.append((0.4, f"contact handle: {contact.group(0)}"))
    if _REPEATED_CHAR.search(folded):
        evidence.append((0.15, "repeated characters"))
    elif _REPEATED_PHRASE.search(folded.replace(" ", "")):
        evidence.append((0.3, "repeated phrase"))
    if _shouting(text):
        evidence.append((0.2, "all caps"))
    repeats = sum(near_duplicate(text, earlier) for earlier in recent)
    if repeats:
        evidence.append((_stepped(repeats, _DUPLICATE_WEIGHTS), f"sent before: {repeats}x"))
    return AbuseSignal("spam", _combine(w for w, _ in evidence), tuple(r for _, r in evidence))


# What the reasons above say, for pages that name them in the reader's language: a reason's
# code (``trust.review.reason.<code>``) and its values; scam reasons are "<scam code>: words".
_REASON_FORMS: Final = (
    ("harassment", re.compile(
        rf"^({'|'.join(HARASSMENT_CATEGORIES)}) \(({'|'.join(get_args(Target))})\): (.*)$",
        re.DOTALL), ("category", "target", "words")),
    ("promotion", re.compile(r"^promotion: (.*)$", re.DOTALL), ("words",)),
    ("links", re.compile(r"^links: (\d+)$"), ("count",)),
    ("contact_handle", re.compile(r"^contact handle: (.*)$", re.DOTALL), ("words",)),
    ("repeated_characters", re.compile(r"^repeated characters$"), ()),
    ("repeated_phrase", re.compile(r"^repeated phrase$"), ()),
    ("all_caps", re.compile(r"^all caps$"), ()),
    ("sent_before", re.compile(r"^sent before: (\d+)x$"), ("count",)),
)
REASON_CODES: Final = tuple(code for code, _, _ in _REASON_FORMS)


def reason_parts(reason: str) -> tuple[str, dict[str, str]] | None:
    """A reason of a harassment or spam signal as (code, values); None for another text."""
    for code, form, names in _REASON_FORMS:
        match = form.match(reason)
        if match is not None:
            return code, dict(zip(names, match.groups(), strict=True))
    return None


# ---------------------------------------------------------------- near duplicates

# The customer's earlier messages that count as "sent before" for spam: a flood is the same
# text again within minutes; a question repeated over a day of waiting is not spam.
RECENT_MESSAGES: Final = 10
RECENT_WINDOW: Final = timedelta(minutes=2)

_NOT_TEXT: Final = re.compile(r"[\W_]+")
_MIN_FUZZY: Final = 8
_JACCARD: Final = 0.8
# Two texts whose lengths differ more (the shorter under this share of the longer) are never
# near duplicates: callers comparing many may skip them without a call.
NEAR_LENGTH: Final = _JACCARD


def _normalized(text: str) -> str:
    return _NOT_TEXT.sub("", unicodedata.normalize("NFKC", text).casefold())


def _trigrams(text: str) -> set[str]:
    return {text[i:i + 3] for i in range(len(text) - 2)}


def near_duplicate(a: str, b: str) -> bool:
    """The same question asked again: equal once case, width, spaces and punctuation are gone,
    or, for texts of at least 8 characters whose lengths are within 20%, character-trigram
    Jaccard similarity ≥ 0.8 ("where is my deposit??" ~ "Where is my deposit"). Numbers count:
    texts whose numbers differ are different questions, however alike the rest ("withdrawal
    W-0001 not arrived", then "withdrawal W-0002 not arrived", is two withdrawals)."""
    return same_question(fingerprint(a), fingerprint(b))


_DIGITS: Final = re.compile(r"\d+")


class Fingerprint:
    """A text as :func:`near_duplicate` compares it, made once for a text compared many times
    (the analysis worker keeps one per recent message). The numbers and trigrams are made on
    the first comparison that needs them: most pairs differ in length too much to need any."""

    __slots__ = ("_numbers", "_trigrams", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._numbers: list[str] | None = None
        self._trigrams: frozenset[str] | None = None

    @property
    def numbers(self) -> list[str]:
        if self._numbers is None:
            self._numbers = _DIGITS.findall(self.text)
        return self._numbers

    @property
    def trigrams(self) -> frozenset[str]:
        if self._trigrams is None:
            text = self.text
            self._trigrams = frozenset(text[i:i + 3] for i in range(len(text) - 2))
        return self._trigrams


def fingerprint(text: str) -> Fingerprint:
    return Fingerprint(_normalized(text))


def same_question(a: Fingerprint, b: Fingerprint) -> bool:
    """:func:`near_duplicate` on fingerprints."""
    left, right = a.text, b.text
    if left == right:
        return bool(left)
    shorter, longer = len(left), len(right)
    if shorter > longer:
        shorter, longer = longer, shorter
    if shorter < _MIN_FUZZY or shorter < _JACCARD * longer or a.numbers != b.numbers:
        return False
    left_grams, right_grams = a.trigrams, b.trigrams
    shared = len(left_grams & right_grams)  # |A ∪ B| = |A| + |B| − |A ∩ B|: no union built
    return shared >= _JACCARD * (len(left_grams) + len(right_grams) - shared)


# ---------------------------------------------------------------- scam signals

RECOVERY_SERVICE: Final = "recovery_service"
PAYMENT_DEMAND: Final = "payment_demand"
OFF_PLATFORM_CONTACT: Final = "off_platform_contact"
IMPERSONATION: Final = "impersonation"
INVESTMENT_SCAM: Final = "investment_scam"
SCAM_CODES: Final = (RECOVERY_SERVICE, PAYMENT_DEMAND, OFF_PLATFORM_CONTACT, IMPERSONATION,
                     INVESTMENT_SCAM)

_APPS: Final = (r"(?:whats\s?app|telegram|tg|wechat|weixin|qq|signal|line|skype|discord|instagram"
                r"|facebook|messenger|viber|kakao(?:talk)?|snapchat)")
_ZH_APPS: Final = r"(?:微信|vx|wx|qq|QQ|电报|飞机|tg|TG|telegram|Telegram|whatsapp|WhatsApp|skype)"
_FUNDS: Final = (r"(?:funds?|money|crypto|bitcoin|btc|usdt|eth|coins?|assets?|loss(?:es)?"
                 r"|investments?|deposits?)")
_STAFF: Final = (r"(?:support|admin|administrator|staff|employee|agent|moderator|mod|manager"
                 r"|official|representative|team\s+member|customer\s+service|exchange|compliance"
                 r"|security\s+team)")
_ZH_STAFF: Final = r"(?:客服|官方|管理员|工作人员|员工|平台|经理|专员|客户经理)"
_END: Final = r"[^.!?。！？\n]"  # stay inside one sentence

_SCAM_PATTERNS: Final = {
    RECOVERY_SERVICE: (
        r"\b(?:fund|funds|asset|crypto|bitcoin|btc|money|scam|chargeback)\s+recovery\b",
        r"\brecovery\s+(?:service|company|firm|expert|specialist|agent|agency|team|hacker"
        r"|lawyer|program)s?\b",
        rf"\b(?:hackers?|experts?|specialists?|company|agency|lawyers?|someone|a\s+guy|firm"
        rf"|service)\b{_END}{{0,40}}\b(?:recover|retrieve|get\s+back|reclaim)\b{_END}{{0,30}}"
        rf"\b{_FUNDS}\b",
        rf"\b(?:recover|retrieve|get\s+back|reclaim)\s+(?:your|my|the|all)?\s*(?:lost|stolen"
        rf"|scammed)\s+{_FUNDS}\b",
        r"追回[^。！？\n]{0,6}(?:资金|损失|被骗|钱|币|资产|款)|(?:资金|损失|被骗|钱|币|资产)"
        r"[^。！？\n]{0,6}追回|挽回损失|资金找回|追款|帮(?:你|您|我)(?:找回|拿回|要回)"
        r"(?:资金|钱|币|损失|被骗)"
        r"|维权(?:机构|公司|团队|律师)|黑客(?:帮|能|可以)",
    ),
    PAYMENT_DEMAND: (
        rf"\b(?:pay|paid|send|deposit|transfer)\b{_END}{{0,40}}\b(?:fees?|tax|taxes|deposit"
        rf"|charge|margin|commission|insurance)\b{_END}{{0,40}}\b(?:to|before|in\s+order\s+to"
        rf"|so\s+(?:i|we)\s+can|then\s+(?:i|we)\s+can|first)\s+(?:\w+\s+){{0,2}}?(?:withdraw"
        rf"|unlock|release|unfreeze|activate|(?:receive|get)\s+(?:my|the|your)\s+(?:money|funds"
        rf"|withdrawal|payout|profits?))",
        r"\b(?:unlock|unfreeze|release|activation|verification|clearance|anti[- ]money[- ]"
        r"laundering|aml)\s+(?:fee|tax|deposit|charge)s?\b",
        r"\b(?:asked|told|required|requires|wants?|wanted|demand(?:s|ed)?|forc(?:ed|ing))\s+me\s+"
        r"to\s+pay\b",
        r"解冻费|激活费|验证金|解冻金|刷流水"
        r"|(?:交|缴纳|缴|支付|付|充值|先充)[^。！？\n]{0,8}(?:手续费|保证金|押金|税费?|所得税"
        r"|服务费|验证费|认证费|通道费|会员费)[^。！？\n]{0,8}(?:才能|才可以|方可|否则)"
        r"|(?:提现|出金|提币|解冻)[^。！？\n]{0,6}(?:需要|要|得|必须)先?"
        r"(?:交|缴纳|缴|支付|付|充值)",
    ),
    OFF_PLATFORM_CONTACT: (
        rf"\b(?:contacted|messaged|texted|called|reached\s+out\s+to|dm'?e?d|added|approached"
        rf"|pinged|wrote\s+to)\s+(?:me|us)\s+(?:on|via|through|over|in)\s+{_APPS}\b",
        rf"\b(?:add|message|contact|text|call|dm|reach)\s+(?:me|him|her|them)\s+(?:on|via|at)"
        rf"\s+{_APPS}\b",
        rf"\b(?:asked|told|wanted|wants?)\s+me\s+to\s+(?:move|switch|continue|chat|talk"
        rf"|download|install|use|join)\b{_END}{{0,30}}\b(?:{_APPS}|another\s+app"
        rf"|(?:a\s+)?different\s+app|other\s+app)\b",
        rf"\b(?:moved|switched)\s+(?:the\s+)?(?:conversation|chat)\s+to\s+{_APPS}\b",
        rf"\b{_STAFF}\b{_END}{{0,30}}\b(?:contacted|messaged|texted|called|dm'?e?d|added"
        rf"|reached\s+out)\b{_END}{{0,20}}\b(?:on|via|through)\s+{_APPS}\b",
        rf"加(?:我|他|她)的?{_ZH_APPS}|{_ZH_APPS}(?:上|里)?(?:联系|找|私聊|加)了?我"
        rf"|{_ZH_STAFF}[^。！？\n]{{0,10}}{_ZH_APPS}[^。！？\n]{{0,6}}(?:联系|加|私聊|找)"
        rf"|私聊我|让我下载[^。！？\n]{{0,8}}(?:app|APP|软件|应用)",
    ),
    IMPERSONATION: (
        rf"\b(?:claim(?:s|ed|ing)?|pretend(?:s|ed|ing)?|said|says|saying|posing|posed"
        rf"|impersonat\w*)\s+(?:to\s+be\s+|(?:that\s+)?(?:he|she|they)\s+(?:is|was|are|were)\s+"
        rf"|(?:he|she|they)'s\s+|as\s+)(?:an?\s+|the\s+|your\s+|from\s+)?(?:\w+\s+)?{_STAFF}\b",
        rf"\bfake\s+{_STAFF}\b",
        rf"\b(?:admin|moderator|mod)s?\s+(?:in|of|from)\s+(?:the|a|your|our)\s+(?:\w+\s+)?"
        rf"(?:group|channel|chat)\b{_END}{{0,40}}\b(?:dm'?e?d|messaged|contacted|asked|told|sent)",
        rf"自称(?:是)?[^。！？\n]{{0,6}}{_ZH_STAFF}|冒充[^。！？\n]{{0,4}}{_ZH_STAFF}"
        rf"|假(?:冒)?的?(?:客服|管理员|官方)"
        rf"|群里的?(?:管理员|客服|官方|工作人员)[^。！？\n]{{0,10}}(?:私聊|联系|加我|找我|私信)"
        rf"|说(?:他|她|他们)?是(?:你们|贵平台|平台|官方)的?(?:客服|工作人员|员工|管理员)",
    ),
    INVESTMENT_SCAM: (
        r"\bguarantee(?:d|s)?\s+(?:\w+\s+)?(?:returns?|profits?|income|gains?|earnings|roi"
        r"|yield)\b",
        r"\brisk[- ]free\s+(?:\w+\s+)?(?:profits?|returns?|investment|trading|income)\b",
        r"\bdouble\s+(?:your|my)\s+(?:money|crypto|bitcoin|btc|investment|funds)\b",
        r"\b\d+(?:\.\d+)?\s*%\s*(?:daily|per\s+day|a\s+day|each\s+day|every\s+day)\b",
        r"\b(?:trading|crypto|investment|forex)\s+(?:mentor|teacher|coach|tutor|guru|professor)s?"
        r"\b",
        r"\bpig[- ]butcher\w*",
        rf"\bmet\s+(?:him|her|them|someone|a\s+\w+)\s+(?:on|through|via)\s+(?:a\s+)?(?:dating"
        rf"|tinder|hinge|bumble|{_APPS}|linkedin)\b{_END}{{0,80}}\b(?:invest\w*|trading"
        rf"|platform)\b",
        r"稳赚不赔|保本保息|保证收益|承诺收益|零风险|无风险(?:收益|投资|套利)|带单老师"
        r"|(?:老师|导师)(?:带单|带我|喊单)|跟着老师|喊单|内幕消息|高额回报|杀猪盘|投资群|必涨"
        r"|(?:保证|稳定)翻倍|收益翻倍",
    ),
}
_SCAM: Final = _Lexicon(((code, f"re:{pattern}") for code, patterns in _SCAM_PATTERNS.items()
                         for pattern in patterns), folded=False)


@dataclass(frozen=True, slots=True)
class ScamSignal:
    """A customer's message describes a scam: ``code`` from ``SCAM_CODES`` and the span
    ``[start, end)`` of the words that show it."""

    code: str
    start: int
    end: int


def scam_signals(text: str) -> tuple[ScamSignal, ...]:
    """Every scam pattern in a customer's message, sorted by position. The product warns the
    customer (``customer_warning``) and flags the conversation for the agent."""
    found = [ScamSignal(code, match.start(), match.end()) for code, match in _SCAM.find(text)]
    return tuple(sorted(found, key=lambda s: (s.start, SCAM_CODES.index(s.code))))


_WARNINGS: Final = {
    RECOVERY_SERVICE: (
        "Services that offer to recover lost or stolen crypto, especially for a fee, are scams: "
        "nobody can reverse a blockchain transfer. Don't pay them or share any details.",
        "声称能帮您追回资金的“追回服务”都是骗局：链上转账无法通过付费追回。"
        "请勿付款，也不要提供任何信息。"),
    PAYMENT_DEMAND: (
        "We never ask you to pay a fee, tax or deposit to unlock a withdrawal or your account. "
        "Whoever asks is a scammer: don't send them anything.",
        "我们从不要求您缴纳任何费用、税费或保证金来解冻账户或提现。"
        "提出此类要求的都是骗子，请勿转账。"),
    OFF_PLATFORM_CONTACT: (
        "Our support talks to you only here, in the app and on our official website. We never "
        "contact you first on WhatsApp, Telegram, WeChat or QQ. Check any account on our Verify "
        "page.",
        "我们的客服只通过这里、App和官网与您沟通，"
        "绝不会主动通过微信、QQ、Telegram或WhatsApp联系您。"
        "任何账号都可以在官方验证页面核实。"),
    IMPERSONATION: (
        "Our staff never message you first in groups or private chats. Check anyone who claims to "
        "be from us on our Verify page before you reply.",
        "我们的工作人员不会在群里或私聊中主动联系您。"
        "回复自称工作人员的人之前，请先在官方验证页面核实。"),
    INVESTMENT_SCAM: (
        "Guaranteed returns and \"trading teachers\" are the hallmarks of investment scams. "
        "Never transfer funds to someone who promises profits.",
        "“稳赚不赔”“带单老师”是投资诈骗的典型特征。请勿向承诺收益的人转账。"),
}


def customer_warning(signals: Iterable[ScamSignal], lang: str) -> str | None:
    """A short warning for the customer covering each kind of scam found, once, in ``SCAM_CODES``
    order; None when there is nothing to warn about. ``lang`` "zh…" gets Simplified Chinese,
    every other language English (the two languages support runs in)."""
    codes = {signal.code for signal in signals}
    lines = [_WARNINGS[code][1 if lang.lower().startswith("zh") else 0]
             for code in SCAM_CODES if code in codes]
    if not lines:
        return None
    heading = "请注意防范诈骗：" if lang.lower().startswith("zh") else "Please be careful:"
    return "\n".join([heading, *lines])


# ---------------------------------------------------------------- all at once

@dataclass(frozen=True, slots=True)
class Screening:
    """The three detectors' verdicts on one inbound message."""

    harassment: AbuseSignal
    spam: AbuseSignal
    scams: tuple[ScamSignal, ...]

    @property
    def for_review(self) -> tuple[AbuseSignal, ...]:
        """Harassment and spam signals worth a flag, strongest first."""
        signals = (self.harassment, self.spam)
        return tuple(sorted((s for s in signals if s.review), key=lambda s: -s.score))

    @property
    def actionable(self) -> bool:
        """Whether the product must do something: flag, warn or cool down."""
        return bool(self.scams) or self.harassment.review or self.spam.review


def screen(text: str, *, recent: Sequence[str] = ()) -> Screening:
    """``harassment_score``, ``spam_score`` and ``scam_signals`` of one customer message, the
    letters folded once: the write path runs this on every inbound message, the chat's batches
    included, so the shared work is done once."""
    folded = fold_letters(text)
    return Screening(_harassment(folded), _spam(text, folded, recent), scam_signals(text))
