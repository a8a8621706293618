"""Secrets the customer states after a label: passwords, PINs, 2FA/SMS codes and API secrets.

Only the value is hidden ("my password is [REDACTED password]"), so the agent still reads what
kind of thing was shared. Each rule is a set of labels, then a short linker ("is", ":", "是",
"=") and a value shaped like that secret; the value shapes are what keep "my password is wrong",
"验证码发到手机13800138000" and "order 123456" unmasked.

Labels are found with substring search in the lowercased text (see ``secret_context``), then the
linker and value are matched right after each label; values are read from the original text."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from kefu.guard.secret_context import BLANK, LabelSet, Occurrence

_QUOTED = r"[\"'“‘「『`](?P<quoted>[^\"'”’」』`\n]{1,64})[\"'”’」』`]"
_BARE = r"(?P<bare>[!-~]{1,64})"
_VALUE = rf"(?:{_QUOTED}|{_BARE})"

# An optional "for my binance account" / "I set" qualifier, then English or Chinese linkers.
_QUALIFIER = (r"(?:\s+(?:for|on|of|at|in)\s+(?:my\s+|the\s+|your\s+)?[\w.@-]{1,30}(?:\s+account)?)?"
              r"(?:\s+(?:that\s+)?(?:i|we)\s+(?:set|use|used|chose|created|have|had|entered|typed"
              r"|put|gave you|made)(?:\s+(?:up|in|it))?)?")
# Word linkers must end at a space or a mark, so "is" cannot be taken from a value ("IS-000").
_WORD_END = r"(?=[\s:：=\"'“‘「]|$)"
_LINK = (r"(?P<link>(?:\s*(?:[:：=]|->|=>|(?<=\s)(?:-{1,2}|–|—)(?=\s)"
         r"|(?:\bis|\bwas|\bare|\bnow|\bstill|\bjust|\bcurrently|\bset\s+to|\bchanged\s+to"
         r"|\bused\s+to\s+be|\bshould\s+be|\bto)" + _WORD_END
         + r"|是|为|為|就是|也是|设置为|设置成|设为|改成了|改为了|改成|改为|设成|設置為|設為|改為"
         r"|应该是|都是))*)\s*")
_STRONG_LINK = re.compile(r"[:：=是为為]|->|=>|\b(?:is|was|are|now|still|currently)\b|set\s+to"
                          r"|changed\s+to|used\s+to\s+be|should\s+be|改|设")

# Words that follow "password is" in ordinary sentences about passwords.
_NOT_A_PASSWORD = frozenset((
    "wrong", "incorrect", "correct", "right", "not", "invalid", "valid", "expired", "too", "the",
    "a", "an", "my", "your", "his", "her", "our", "their", "same", "still", "being", "required",
    "needed", "forgotten", "lost", "locked", "blocked", "reset", "changed", "compromised",
    "hacked", "stolen", "leaked", "weak", "strong", "long", "short", "case", "sensitive",
    "working", "saved", "there", "here", "what", "which", "this", "that", "it", "and", "or", "but",
    "for", "to", "in", "on", "at", "ok", "okay", "fine", "good", "bad", "no", "yes", "also",
    "already", "empty", "blank", "missing", "unknown", "different", "new", "old", "mine", "yours",
    "set", "never", "always", "just", "only", "very", "really", "so", "how", "why", "when",
    "where", "who", "accepted", "rejected", "denied", "sent", "taken", "used", "known", "shown",
    "visible", "hidden", "secure", "safe", "unsafe", "protected", "stored", "encrypted", "asked",
    "requested", "needs", "need", "is", "was", "are", "be", "been", "can", "cannot", "will",
    "would", "should", "could", "must", "may", "might", "please", "help", "thanks", "thank",
    "changing", "resetting", "entering", "typing", "using", "expiring", "failing", "about", "like",
    "of", "from", "with", "without", "by", "over", "under", "more", "less", "than", "least",
    "exactly", "around", "approximately", "one", "two", "three", "four", "five", "six", "seven",
    "eight", "nine", "ten", "twelve", "sixteen", "twenty", "longer", "shorter", "simple", "easy",
    "hard", "complex", "complicated", "random", "all", "any", "some", "every", "each", "none",
    "something", "nothing", "anything", "everything", "similar", "gone", "outdated", "together",
    "probably", "maybe", "definitely", "actually", "literally", "basically", "somehow", "again",
    "still", "currently", "wrongly", "different", "unique", "temporary", "default", "original",
    "initial", "previous", "current", "latest", "recent", "updated", "those", "these", "whatever",
    "asking", "saying", "showing", "please", "correctly", "then", "there's", "since", "because",
    "if", "as", "until", "unless", "although", "though", "while", "whether", "i", "me", "we",
    "you", "they", "he", "she", "them", "us"))
_TRAILING = ".,;:?)]}>'\""
_SENTENCE_MARKS = ".,;:!?)]}>-/"
_PLACEHOLDER = re.compile(r"[*xX#•·.\-_?]+")
_RANGE = re.compile(r"\d+\s*[-~～到至]\s*\d+(?:\s*(?:位|chars?|characters?|digits?))?")

PASSWORD_LABELS = LabelSet({
    "strong": ("password", "pass word", "passwd", "passphrase", r"\bpwd\b", "密码", "密碼"),
    "weak": (r"\bpass\b", r"\bpw\b"),
})
_PASSWORD_TAIL = re.compile(r"s?" + _QUALIFIER + _LINK + _VALUE)
# "I use Xy12345! as my password", "abc12345是我的密码".
_PASSWORD_BEFORE = re.compile(
    r"(?<![!-~])(?P<bare>[!-~]{6,64})\s*(?:(?:is|was|as|for)\s+(?:my|the)\s+(?:\w+\s+)?"
    r"(?:password|passwd|pwd)|(?:是|为|為)(?:我的)?(?:登录|登陆|交易|资金|支付|账户|账号)?(?:密码|密碼))")
# "one-time password 123456" and "动态密码" are one-time codes, not passwords.
_NOT_PASSWORD_BEFORE = ("one-time ", "one time ", "onetime ", "动态", "動態", "app ")

PIN_LABELS = LabelSet({"pin": (
    r"\bpin\b", "passcode", "pass code", "pin码", "pin碼", "个人识别码", "個人識別碼")})
_PIN_TAIL = re.compile(
    r"(?:\s*(?:code|number|no\.?)(?![a-z]))?" + _QUALIFIER + _LINK
    + r"(?<!\d)(?P<bare>\d{4,8})(?!\d)")

OTP_LABELS = LabelSet({
    "otp": (
        r"\b2fa\b", "2-fa", r"\b2 fa\b", r"\bmfa\b", "two-factor", "two factor", "2-factor",
        "2 factor", "2factor", r"\botp\b", "one-time", "one time", "authenticator",
        r"\bgoogle auth\b", "google code", r"\bga code", r"\bg2fa", r"\bsms\b", "text code",
        "verification code", "verify code", "confirmation code", "security code", "login code",
        "auth code", "authentication code", "email code", "e-mail code", "phone code",
        "withdrawal code", "验证码", "驗證碼", "校验码", "校驗碼", "动态码", "動態碼", "动态口令",
        "動態口令", "谷歌验证", "谷歌驗證", "谷歌码", "谷歌碼", "短信码", "短信碼", "身份验证器",
        "身份驗證器", "二次验证", "二次驗證", "双重验证", "雙重驗證", "确认码", "確認碼"),
    # "the code is 123456": a one-time code unless another kind of code ("promo code").
    "generic": (r"\bcode\b", r"\bcodes\b"),
})
_OTHER_CODES = frozenset((
    "referral", "refer", "invite", "invitation", "promo", "promotion", "promotional", "coupon",
    "voucher", "discount", "gift", "redeem", "redemption", "zip", "postal", "post", "area",
    "country", "dial", "error", "status", "response", "http", "exit", "reason", "product", "item",
    "order", "tracking", "reference", "ref", "swift", "bic", "sort", "bank", "branch", "routing",
    "tax", "qr", "source", "hs", "event", "bar", "color", "colour", "class", "course", "airport",
    "flight", "booking", "dress", "morse", "postcode", "affiliate", "partner", "agent", "broker",
    "network", "chain", "token", "asset", "coin", "memo", "tag", "destination", "activation",
    "license", "licence", "serial", "product", "sku", "model", "part"))
_PREVIOUS_WORD = re.compile(r"([a-z]+)[\s-]*$")
# Words allowed between a code label and the code ("my 2FA code I just got is 123456").
_OTP_FILLER = (
    r"(?P<filler>(?:\s*(?:codes?|number|no\.?|is|was|are|it'?s|it|that|i|got|received|get|the|my|a|new"
    r"|latest|current|here|now|currently|just|sent|shows?|showing|says|reads|from|google|sms|text"
    r"|e-?mail|app|me|you|u|your|this|below|to|entered|typed|input|password|passcode|pin|[:：=\-—()]|输入|輸入|是|为|為|码"
    r"|碼|号|收到|的|我|刚|刚才|剛才|最新|显示|顯示|一直是|发来|給我|给我|了|就)\s*){0,8})")
_OTP_VALUE = (r"\s*(?<![0-9a-z])(?P<bare>\d{4,8}|\d{3}[ -]\d{3})(?![0-9a-z]|[.,:/-]\d)"
              r"(?!\s*(?:usdt|usdc|usd|btc|eth|rmb|cny|元|块|年|月|日|号|次|个|天|小时|分钟|秒|位|mins?\b"
              r"|minutes|seconds|secs?\b|hours?|days?|times|digits?|%))")
_OTP_TAIL = re.compile(_OTP_FILLER + _OTP_VALUE)
_YEAR = re.compile(r"(?:19|20)\d\d")
# "123456 is my 2FA code", "123456是验证码".
_OTP_BEFORE = re.compile(
    r"(?<!\d)(?P<bare>\d{4,8}|\d{3}[ -]\d{3})(?!\d)\s*(?:(?:is|was)\s+(?:my|the)\s+"
    r"(?:2fa|otp|sms|verification|google|authenticator|security|login)"
    r"|(?:是|为)?(?:我的)?(?:谷歌|短信|邮箱)?(?:验证码|驗證碼))")

API_LABELS = LabelSet({
    "strong": ("api secret", "api_secret", "api-secret", "apisecret", "secret key", "secret_key",
               "secret-key", "secretkey", "api key", "api_key", "api-key", "apikey", "access key",
               "access_key", "accesskey", "access token", "access_token", "auth token",
               "api token", "client secret", "client_secret", "private token", "bearer",
               "2fa secret", "2fa key", "totp secret", "setup key", "密钥", "密鑰", "秘钥", "秘鑰"),
    "weak": (r"\bsecret\b",),
})
_API_TAIL = re.compile(
    r"(?:[\s_-]*key)?" + _QUALIFIER
    + r"""(?P<link>(?:\s*["']?\s*(?:[:：=]|->|=>|\bis\b|\bwas\b|是|为|為)\s*["']?)*)\s*"""
    r"(?P<bare>[a-z0-9+/_\-]{16,128}={0,2})(?![a-z0-9+/_\-=])")


@dataclass(frozen=True, slots=True)
class StatedSecret:
    kind: str
    start: int
    end: int


def _value_span(match: re.Match[str], text: str) -> tuple[int, int, str]:
    """The value's span and original text, a bare value without the sentence's final mark."""
    group = "quoted" if match.group("quoted") is not None else "bare"
    start, end = match.span(group)
    value = text[start:end]
    if group == "bare":
        stripped = value.rstrip(_TRAILING)
        # A final "!" after a letter ends the sentence ("it is sunshine!"); after a digit or a
        # symbol it belongs to the password ("Hunter2!").
        if stripped.endswith("!") and stripped.rstrip("!")[-1:].isalpha():
            stripped = stripped.rstrip("!")
        end = start + len(stripped)
        value = stripped
    return start, end, value


def _looks_like_password(value: str, *, link: str) -> bool:
    """Whether a value after a password label is one. After "is"/":" any non-word will do; after
    "to" ("changed my password to …", but also "password to log in") or no linker at all, only
    something no sentence holds: six or more characters with digits, symbols or mixed case."""
    if len(value) < 4 or _PLACEHOLDER.fullmatch(value) or _RANGE.fullmatch(value):
        return False
    core = value.strip()  # "'Forgot Password' or 'Reset Password'": the "quoted" " or "
    if core != value and (not core or (core.isalpha() and core.lower() in _NOT_A_PASSWORD)):
        return False
    word = value.replace("'", "").replace("’", "")
    plain_word = word.isalpha() and word[1:].islower()
    lower = word.lower()
    if plain_word and (lower in _NOT_A_PASSWORD or lower.endswith(("ing", "ed", "ly", "nt"))):
        return False
    if _STRONG_LINK.search(link):
        return True
    if len(value) < 6 or value[0] in _SENTENCE_MARKS or value.startswith("&"):
        return False
    has_digit = any(c.isdigit() for c in value)
    has_symbol = not word.isalnum()
    mixed_case = value[1:].lower() != value[1:] and value.lower() != value
    return has_digit or has_symbol or mixed_case


def _tails(labels: LabelSet, tail: re.Pattern[str],
           lower: str) -> Iterator[tuple[Occurrence, re.Match[str]]]:
    for occurrence in labels.occurrences(lower):
        match = tail.match(lower, occurrence.end)
        if match is not None:
            yield occurrence, match


def _passwords(text: str, lower: str) -> Iterator[StatedSecret]:
    for occurrence, match in _tails(PASSWORD_LABELS, _PASSWORD_TAIL, lower):
        if lower.endswith(_NOT_PASSWORD_BEFORE, 0, occurrence.start):
            continue
        start, end, value = _value_span(match, text)
        if BLANK in lower[start:end]:  # a marker of an earlier masking, in quotes
            continue
        link = match.group("link")
        if occurrence.label.group == "weak" and not re.search(r"[:：=]", link):
            continue
        if match.group("quoted") is not None:
            link += ":"
        if _looks_like_password(value, link=link):
            yield StatedSecret("password", start, end)
    for match in _PASSWORD_BEFORE.finditer(lower):
        start, end = match.span("bare")
        if BLANK not in lower[start:end] and _looks_like_password(text[start:end], link=""):
            yield StatedSecret("password", start, end)


def _pins(lower: str) -> Iterator[StatedSecret]:
    for _occurrence, match in _tails(PIN_LABELS, _PIN_TAIL, lower):
        yield StatedSecret("pin", *match.span("bare"))


def _otp_code(occurrence: Occurrence, match: re.Match[str], lower: str) -> bool:
    """Six digits (or "123 456") after a code label are a code; 4, 5, 7 or 8 digits only after a
    linker ("验证码是 4821", "OTP: 12345678") and never a year; after plain "code", only six
    digits and only when no other kind of code ("promo code", "error code") is meant."""
    value = match.group("bare")
    six = len(value.replace(" ", "").replace("-", "")) == 6
    if occurrence.label.group == "generic":
        previous = _PREVIOUS_WORD.search(lower, max(0, occurrence.start - 20), occurrence.start)
        return six and (previous is None or previous.group(1) not in _OTHER_CODES)
    if six:
        return True
    linked = _STRONG_LINK.search(match.group("filler")) is not None
    return linked and not _YEAR.fullmatch(value)


def _otps(lower: str) -> Iterator[StatedSecret]:
    for occurrence, match in _tails(OTP_LABELS, _OTP_TAIL, lower):
        if _otp_code(occurrence, match, lower):
            yield StatedSecret("otp_code", *match.span("bare"))
    for match in _OTP_BEFORE.finditer(lower):
        yield StatedSecret("otp_code", *match.span("bare"))


def _api_secrets(text: str, lower: str) -> Iterator[StatedSecret]:
    for occurrence, match in _tails(API_LABELS, _API_TAIL, lower):
        if occurrence.label.group == "weak" and not match.group("link").strip():
            continue
        value = text[match.start("bare"):match.end("bare")]
        has_digit = any(c.isdigit() for c in value)
        has_alpha = any(c.isalpha() for c in value)
        mixed_case = value.lower() != value and value.upper() != value
        if (has_digit and has_alpha) or (mixed_case and len(value) >= 24):
            yield StatedSecret("api_secret", *match.span("bare"))


# Every label above contains one of these stems (tests check it), so one search for them rejects
# the 97% of real messages that state nothing; a search for the ~100 labels costs four times as
# much, since the regex engine tries every alternative at every position.
TRIGGERS = (
    "pass", "pw", "pin", "2fa", "2-fa", "2 fa", "mfa", "factor", "otp", "one-time", "one time",
    "auth", "google", "code", "sms", "secret", "key", "token", "bearer", "密码", "密碼", "识别码",
    "識別碼", "验证", "驗證", "校验", "校驗", "动态", "動態", "谷歌", "短信", "二次", "双重",
    "雙重", "确认码", "確認碼", "密钥", "密鑰", "秘钥", "秘鑰")
_KEYWORDS = re.compile("|".join(re.escape(stem) for stem in TRIGGERS))
_THREE_DIGITS = re.compile(r"[0-9]{3}")


def find_stated(text: str, lower: str) -> Iterator[StatedSecret]:
    """Every stated password, PIN, one-time code and API secret in ``text`` (``lower``: the text
    lowercased, same indices)."""
    if _KEYWORDS.search(lower) is None:
        return
    yield from _passwords(text, lower)
    yield from _api_secrets(text, lower)
    if _THREE_DIGITS.search(text) is not None:
        yield from _pins(lower)
        yield from _otps(lower)
