"""Payment card numbers (Luhn) and national identity numbers (checksummed where the format has one).

Order ids, UIDs, phone numbers and amounts are digit runs too, and agents need them. A card is
Luhn-valid, starts with a known issuer prefix for its length, and is not labelled as something
else ("order", "订单号", "UID", "phone" nearer before it than "card"/"卡号"); a random 16-digit id
passes both checks about one time in thirty, the label settles the rest. The Chinese resident ID
carries a region, a birth date and an ISO 7064 check character, which together let fewer than one
random 18-digit id in a million through; other IDs (old 15-digit, Hong Kong, Taiwan, US SSN,
passports) are reported only after their own label."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

from kefu.guard.secret_context import LabelSet

# A run of 12–19 digits, single spaces or dashes inside, not glued to letters, "+" (phone),
# "#", "/" or decimals. The cheap pattern finds runs; _CARD_LAYOUT checks the grouping.
_DIGIT_RUN = re.compile(
    r"(?<![0-9A-Za-z_+.,/#-])[0-9](?:[0-9]|[ -](?=[0-9])){11,22}(?![0-9A-Za-z_]|[.,/-][0-9])")
_CARD_LAYOUT = re.compile(
    r"[0-9]{13,19}|[0-9]{4}([ -])[0-9]{4}(?:\1[0-9]{4}){1,2}(?:\1[0-9]{1,3})?"
    r"|[0-9]{4}([ -])[0-9]{6}\2[0-9]{4,5}")
_GROUP = re.compile(r"[0-9]+")
_CVV = re.compile(
    r"(?:\bcvv2?|\bcvc2?|\bcsc|安全码|安全碼)\s*(?:is|:|：|=|是|为)?\s*([0-9]{3,4})(?![0-9])")

CARD_LABELS = LabelSet({
    "card": (
        "card", "卡号", "卡號", "银行卡", "銀行卡", "信用卡", "借记卡", "储蓄卡", "visa",
        "master", "amex", "american express", "unionpay", "银联", "銀聯", "debit", "credit",
        r"\bcc\b", r"\bpan\b"),
    "other": (
        "order", "purchase", "订单", "訂單", "单号", "單號", "编号", "編號", r"\buid\b",
        "user id", "userid", "user_id", r"\bid\b", "account", "账户", "账号", "帐号", "帳號",
        "phone", "mobile", r"\btel\b", "电话", "電話", "手机", "手機", r"\btx", "hash", "交易",
        "ticket", "工单", "reference", r"\bref\b", "tracking", "快递", "运单", "invoice", "发票",
        "imei", "serial", "序列号", "amount", "金额", "身份证"),
}, window=40)

_CN_ID = re.compile(
    r"(?<![0-9A-Za-z])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}"
    r"[\dXx](?![0-9A-Za-z])")
_CN_PROVINCES = frozenset({
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51,
    52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83, 91})
_CN_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CN_CHECK = "10X98765432"

ID_LABELS = LabelSet({
    "id": (
        "身份证", "身份證", "身分證", "证件号", "證件號", "公民身份", "id card", "idcard",
        "id number", r"\bid no", "identity", "national id", r"\bhkid\b", r"\bssn\b",
        "social security", "passport", "护照", "護照"),
    "other": (
        "order", "订单", "訂單", "单号", r"\buid\b", "user id", "phone", "mobile", "电话", "手机",
        r"\btx", "hash", "交易", "ticket", "card", "卡号", "tracking", "invoice"),
}, window=40)
_ID_WORDS = re.compile("|".join(
    re.escape(label.text) for label in ID_LABELS.labels if label.group == "id"))
# Numbers that are national IDs only after an ID label (no context-free checksum worth trusting).
_LABELLED_ID = re.compile(
    r"(?<![0-9A-Za-z])(?:\d{17}[\dXx]|\d{15}|[A-Z]{1,2}\d{6}\s?\(?[0-9A]\)?|[A-Z][12]\d{8}"
    r"|\d{3}-\d{2}-\d{4}|[A-Z]{1,2}\d{6,9}|\d{9})(?![0-9A-Za-z])")


def luhn_ok(digits: str) -> bool:
    """The Luhn mod-10 check every payment card number satisfies."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def card_brand_ok(digits: str) -> bool:
    """True when the issuer prefix (IIN) belongs to a card network that issues this length."""
    length = len(digits)
    two, four = int(digits[:2]), int(digits[:4])
    if digits[0] == "4":
        return length in (13, 16, 19)  # Visa
    if 51 <= two <= 55 or 2221 <= four <= 2720:
        return length == 16  # Mastercard
    if two in (34, 37):
        return length == 15  # American Express
    if 3528 <= four <= 3589 or two in (36, 38, 39) or 300 <= four // 10 <= 305:
        return 14 <= length <= 19  # JCB, Diners
    if two in (50, 56, 57, 58, 60, 62, 63, 64, 65, 67, 68, 69) or 2200 <= four <= 2204:
        return 12 <= length <= 19  # UnionPay, Discover, Maestro, Mir
    return False


def cn_id_ok(value: str) -> bool:
    """A mainland resident ID: known province, a real birth date, and the ISO 7064 check."""
    if int(value[:2]) not in _CN_PROVINCES:
        return False
    try:
        dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    total = sum(int(char) * weight for char, weight in zip(value[:17], _CN_WEIGHTS, strict=True))
    return _CN_CHECK[total % 11] == value[17].upper()


def _card_layouts(run: str) -> Iterator[tuple[int, int]]:
    """Spans of ``run`` laid out like a card number, whole groups only, longest first: a card
    may share its run with a neighbouring number ("4111 1111 1111 1111 2 times")."""
    if _CARD_LAYOUT.fullmatch(run):
        yield 0, len(run)
        return
    groups = [(m.start(), m.end()) for m in _GROUP.finditer(run)]
    spans = [(groups[i][0], groups[j][1]) for i in range(len(groups))
             for j in range(i, len(groups)) if (i, j) != (0, len(groups) - 1)]
    for start, end in sorted(spans, key=lambda span: span[0] - span[1]):
        if _CARD_LAYOUT.fullmatch(run, start, end):
            yield start, end


def find_cards(text: str, lower: str) -> Iterator[tuple[int, int]]:
    """Spans of card numbers (and of CVV codes stated after their label); ``lower`` is the text
    lowercased."""
    for match in _DIGIT_RUN.finditer(text):
        for start, end in _card_layouts(match.group()):
            digits = match.group()[start:end].replace(" ", "").replace("-", "")
            if not (luhn_ok(digits) and card_brand_ok(digits)):
                continue
            if CARD_LABELS.before(lower, match.start() + start) == "other":
                continue
            yield match.start() + start, match.start() + end
            break
    for match in _CVV.finditer(lower):
        yield match.start(1), match.end(1)


def find_national_ids(text: str, lower: str) -> Iterator[tuple[int, int]]:
    """Spans of checksum-valid Chinese IDs anywhere, and of other ID formats after an ID label."""
    for match in _CN_ID.finditer(text):
        if cn_id_ok(match.group()):
            yield match.start(), match.end()
    if _ID_WORDS.search(lower) is None:
        return
    for match in _LABELLED_ID.finditer(text):
        if ID_LABELS.before(lower, match.start()) == "id":
            yield match.start(), match.end()


def may_hold_numbers(text: str) -> bool:
    """Cheap prefilter: cards and IDs hold at least six digits in a row (or 3-2-4 for an SSN)."""
    return _DIGITS.search(text) is not None


_DIGITS = re.compile(r"[0-9]{3}(?:[0-9]{3}|-[0-9]{2}-[0-9]{4}|[0-9][ -][0-9]{4})")
