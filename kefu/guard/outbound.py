"""Anti-phishing on what agents and the assistant send (SPEC §H, issue 6 point 2).

A reply that asks the customer for a password, a code, a seed phrase, a private key, remote access
or a transfer to an address, links outside the allow-list, or carries a secret itself, is blocked
with an explanation in English and Chinese; a supervisor may override (audited by the product).

Support text talks about exactly these things all day ("never share your 2FA code", "请勿向任何人
透露验证码", "deposit to the address shown on your Deposit page"), so a rule fires only on a
*request*: a request cue ("send me", "what is your", "提供", "发给我") linked to the object in the
same sentence, with no negation or advice ("never", "don't", "请勿", "任何人", "if anyone asks")
in the clause, no advice verb between them ("reset", "change", "修改") and the object not a mere
modifier ("password reset page", "验证码页面"). Remote-control tools need no cue: a reply that
names AnyDesk outside a warning is already wrong. Links are checked on the host a browser would
open (``lookalike.split_url``), so ``https://demoex.example@evil.com`` is evil.com.

Deterministic and regex-only: a clean reply costs a few precompiled searches.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from kefu.guard import lookalike
from kefu.guard.secrets import scan

__all__ = ["CODES", "OutboundVerdict", "Reason", "check_outbound"]

ASKS_PASSWORD: Final = "asks_password"
ASKS_CODE: Final = "asks_code"
ASKS_SEED_PHRASE: Final = "asks_seed_phrase"
ASKS_PRIVATE_KEY: Final = "asks_private_key"
ASKS_REMOTE_ACCESS: Final = "asks_remote_access"
ASKS_TRANSFER: Final = "asks_transfer"
LINK_NOT_ALLOWED: Final = "link_not_allowed"
LOOKALIKE_DOMAIN: Final = "lookalike_domain"
SHARES_SECRET: Final = "shares_secret"
CODES: Final = (ASKS_PASSWORD, ASKS_CODE, ASKS_SEED_PHRASE, ASKS_PRIVATE_KEY, ASKS_REMOTE_ACCESS,
                ASKS_TRANSFER, LINK_NOT_ALLOWED, LOOKALIKE_DOMAIN, SHARES_SECRET)

_MESSAGES: Final = {
    ASKS_PASSWORD: (
        "Asks the customer for a password or PIN. Support never needs it; point them to the "
        "official password reset instead.",
        "要求客户提供密码或PIN。客服从不需要密码，请引导客户通过官方渠道自行重置。"),
    ASKS_CODE: (
        "Asks for a verification or 2FA code. Codes are entered only in the app or on the "
        "official site, never sent in chat.",
        "要求客户提供验证码或二次验证码。验证码只能在App或官网输入，绝不能在对话中发送。"),
    ASKS_SEED_PHRASE: (
        "Asks for a seed (recovery) phrase. Whoever has it owns the wallet; nobody at the "
        "exchange ever asks for it.",
        "要求客户提供助记词。拿到助记词就等于拿走钱包，平台任何人都不会索要。"),
    ASKS_PRIVATE_KEY: (
        "Asks for a private key, keystore file or API secret. Nobody at the exchange ever needs "
        "one.",
        "要求客户提供私钥、Keystore文件或API密钥。平台任何人都不需要这些信息。"),
    ASKS_REMOTE_ACCESS: (
        "Asks the customer to install a remote-control tool or let someone control their "
        "screen. Support never operates a customer's device.",
        "要求客户安装远程控制软件或让他人控制屏幕。客服从不远程操作客户的设备。"),
    ASKS_TRANSFER: (
        "Asks the customer to send funds to an address or account. Customers deposit only to "
        "the address shown on their own Deposit page.",
        "要求客户向某个地址或账户转账。客户只应充值到本人充值页面显示的地址。"),
    SHARES_SECRET: (
        "Contains a secret ({kind}). Secrets must never be sent in messages.",
        "消息中含有机密信息（{kind}），不得通过消息发送。"),
    LINK_NOT_ALLOWED: (
        "Links to {host}, which is not on the allow-list of official domains.",
        "链接指向 {host}，不在官方域名允许列表中。"),
    LOOKALIKE_DOMAIN: (
        "{host} imitates the official {matched}: {reason}",
        "{host} 冒仿官方域名 {matched}，疑似钓鱼链接。"),
}


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a reply is blocked: a code from ``CODES``, the explanation shown to the agent in both
    languages, and the span ``[start, end)`` of the offending words in the reply."""

    code: str
    message_en: str
    message_zh: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class OutboundVerdict:
    """The guard's answer for one reply: ``blocked`` when any reason was found."""

    blocked: bool
    reasons: tuple[Reason, ...]

    @property
    def codes(self) -> tuple[str, ...]:
        """The distinct codes, in ``CODES`` order."""
        found = {reason.code for reason in self.reasons}
        return tuple(code for code in CODES if code in found)


def _reason(code: str, start: int, end: int, **fields: str) -> Reason:
    english, chinese = _MESSAGES[code]
    return Reason(code, english.format(**fields), chinese.format(**fields), start, end)


# ---------------------------------------------------------------- sentences and clauses

_SENTENCE_END: Final = re.compile(r"[.!?](?=\s|$)|[。！？;；\n]")
_CLAUSE_END: Final = re.compile(
    r"[,，]|\s[-–—]\s|\b(?:but|however|although|though|instead)\b|但是|但|不过|而是|否则",
    re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class _Sentence:
    text: str
    offset: int
    clause_starts: tuple[int, ...]

    def clause_start(self, position: int) -> int:
        """Start (in sentence coordinates) of the clause holding ``position``."""
        start = 0
        for boundary in self.clause_starts:
            if boundary > position:
                break
            start = boundary
        return start


def _sentences(text: str) -> Iterator[_Sentence]:
    start = 0
    for match in _SENTENCE_END.finditer(text):
        if match.end() > start + 1:
            yield _sentence(text[start:match.end()], start)
        start = match.end()
    if start < len(text):
        yield _sentence(text[start:], start)


def _sentence(text: str, offset: int) -> _Sentence:
    return _Sentence(text, offset, tuple(m.end() for m in _CLAUSE_END.finditer(text)))


# ---------------------------------------------------------------- phrase rules

@dataclass(frozen=True, slots=True)
class _PhraseRules:
    """The patterns of one language. ``objects`` name the things never to ask for; ``before``
    are request cues preceding the object ("send me", "提供"), ``before_here`` cues that are a
    request only when the text goes to the chat ("type … here"); ``after`` cues follow the object
    ("验证码发给我", "…, send it to me"). ``blockers`` between cue and object break the link,
    ``modifiers`` right after the object make it a modifier, ``own`` before it makes it the
    speaker's own ("I need a new PIN"), ``negations`` void the clause."""

    objects: tuple[tuple[str, re.Pattern[str]], ...]
    before: re.Pattern[str]
    before_here: re.Pattern[str]
    here: re.Pattern[str]
    elsewhere: re.Pattern[str]
    after: re.Pattern[str]
    blockers: re.Pattern[str]
    modifiers: re.Pattern[str]
    negations: re.Pattern[str]
    conditional: re.Pattern[str]
    not_request: re.Pattern[str]
    own: re.Pattern[str]
    gap: int


def _re(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


_EN: Final = _PhraseRules(
    objects=(
        (ASKS_SEED_PHRASE, _re(
            r"\b(?:(?:secret\s+)?(?:seed|recovery|backup|mnemonic|wallet|secret)\s+"
            r"(?:phrase|words?|sentence)s?|mnemonics?|seed"
            r"|(?:12|24|twelve|twenty[- ]four)[- ]words?(?:\s+(?:phrase|seed|backup))?)\b")),
        (ASKS_PRIVATE_KEY, _re(
            r"\b(?:private\s+keys?|priv\s*keys?|secret\s+keys?|api\s+secrets?|keystore(?:\s+file)?"
            r"|wallet\.dat|xprv\w*)\b")),
        (ASKS_CODE, _re(
            r"\b(?:(?:2fa|two[- ]factor|mfa|otp|one[- ]time|verification|verify|security"
            r"|authentication|authenticator|auth|google(?:\s+auth(?:enticator)?)?|sms|text"
            r"|e-?mail|login|withdrawal|confirmation|(?:6|six)[- ]digits?)\s+(?:code|pin|passcode"
            r"|number)s?|otps?|2fa|one[- ]time\s+passwords?"
            r"|codes?\s+(?:(?:that\s+)?(?:you|we|i)|that\s+was|from\s+(?:your|the)\s+\w+)"
            r"(?:\s+just)?(?:\s+(?:got|get|received?|were\s+sent|sent|texted|emailed|app))?)\b")),
        (ASKS_PASSWORD, _re(
            r"\b(?:pass(?:word|code|phrase)s?|pwd|pin(?:\s+(?:code|number))?"
            r"|login\s+(?:details|credentials|info)|credentials)\b")),
    ),
    before=_re(
        r"\b(?:send|give|tell|show|provide|share|forward|read|paste|submit|upload"
        r"|(?:text|dm|pm|e-?mail|message)(?=\s+(?:me|us|it|them|your)\b)|reply\s+with"
        r"|respond\s+with|let\s+(?:me|us)\s+(?:know|have|see)"
        r"|what(?:'s|\s+is|\s+are|\s+was)\s+(?:your|the)"
        r"|(?:i|we)(?:'ll|'d|\s+will|\s+would|\s+just|\s+also|\s+still|\s+first)*"
        r"\s+(?:need|require|want)"
        r"|ask(?:s|ed|ing)?\s+(?:you\s+)?for|disclose|reveal)\b"),
    before_here=_re(r"\b(?:type|enter|input|confirm|verify|write|fill\s+in|drop|post|put|leave)\b"),
    here=_re(
        r"(?<!not\s)\b(?:here|in\s+(?:this|the)\s+chat|in\s+chat|below|to\s+me|to\s+us"
        r"|in\s+(?:your|the|a)\s+reply|into\s+(?:this|the)\s+chat)\b"),
    elsewhere=_re(
        r"\b(?:in|on|into|inside)\s+(?:the|your|our)\s+(?:\w+\s+)?"
        r"(?:app|website|site|page|account|authenticator|settings|browser|form)\b"),
    after=_re(
        r"\b(?:send|give|tell|read|paste|forward|type|dm)\s+(?:it|them|that|this|those)"
        r"(?:\s+(?:to\s+)?(?:me|us|here|over))?\b"),
    blockers=_re(
        r"\b(?:reset|resetting|change|changed|changing|update|set|setting|create|forgot|forget"
        r"|recover|enable|disable|bind|unbind|enter(?:ed|ing)?|where|when|after|before|without"
        r"|instead|except|how|why|if|unless|page|screen|settings?|fields?|error|message|for\s+a"
        r"|information|form|registration|sign\s*up)\b"),
    modifiers=_re(
        r"\s*(?:reset|page|screen|settings?|field|box|error|issue|problem|button|option|change"
        r"|requirements?|polic(?:y|ies)|manager|strength|rules?|expired|expiry|delivery|retrieval"
        r"|recovery|reminder|hint|questions?"
        r"|is\s+(?:wrong|invalid|incorrect|not\s+working)|isn't|doesn't|didn't)\b"),
    negations=_re(
        r"\b(?:never|not|don't|dont|do\s+not|doesn't|does\s+not|won't|will\s+not|wouldn't"
        r"|shouldn't|should\s+not|cannot|can't|no\s+one|nobody|no\s+(?:\w+\s+){0,2}?"
        r"(?:staff|agent|employee|admin|one|member|support)|avoid|beware|refuse|decline"
        r"|under\s+no\s+circumstances|keep\s+(?:it|them|this|your\s+\w+(?:\s+\w+)?)\s+"
        r"(?:private|safe|secret|to\s+yourself)|if\s+(?:anyone|someone|somebody|a\s+person"
        r"|they|you\s+are\s+asked|you're\s+asked|asked)|anyone\s+(?:who|asking|that)|whoever"
        r"|scam(?:mer)?s?|phishing|fraud(?:ster)?s?)\b"),
    conditional=_re(r"\bif\s+(?:you|u)\s+(?:\w+\s+)?$"),
    not_request=_re(
        r"(?:\b(?:we|i|it|they|system|app)(?:'ll|'ve|\s+will|\s+would|\s+can|\s+have|\s+just"
        r"|\s+also|\s+may|\s+might|\s+shall|\s+automatically|\s+then)*\s+$)"
        r"|(?:\b(?:the|a|your|our)\s+$)"),
    own=_re(r"\b(?:(?:my|our)\s+(?:new\s+)?|a\s+new\s+)(?:\w+\s+)?$"),
    gap=60,
)

_ZH: Final = _PhraseRules(
    objects=(
        (ASKS_SEED_PHRASE, _re(
            r"助记词|助記詞|助记码|种子短语|種子短語|种子词|恢复短语|恢复词|钱包短语|私人短语")),
        (ASKS_PRIVATE_KEY, _re(r"私钥|私鑰|密钥|密鑰|keystore(?:文件)?|api\s?secret|secret\s?key")),
        (ASKS_CODE, _re(
            r"验证码|驗證碼|校验码|动态码|动态口令|谷歌验证码?|谷歌码|google验证码?"
            r"|身份验证器(?:上的)?(?:码|代码|数字)?|二次验证码?|2fa(?:码|验证码)?|安全码|短信码"
            r"|手机码|邮箱码|授权码|一次性密码|(?:六|6)位(?:数字|数|码)")),
        (ASKS_PASSWORD, _re(r"密码|密碼|口令|pin码")),
    ),
    before=_re(
        r"提供|告诉我|告诉我们|告知|报一下|报给我|发给我|发我|发给我们|发送给我|发过来|私信|私发"
        r"|回复|说一下|说出|念一下|读一下|截图给我|拍照给我|需要(?:您|你)(?:的|提供)|透露|泄露"
        # a plain "send" asks only when "your" follows: "请发送您的密码", not the button
        # "点击发送验证码"
        r"|(?:发送|發送|发|發|传|傳|贴|貼|粘贴|上传|上傳)(?:一下|下)?(?:您|你)的"
        r"|告訴我|發給我|發送給我|提供給我"
        r"|(?:我们|我們|我)(?:这边|這邊)?(?:还|還|先)?需要(?:您|你)(?:的|提供)?"),
    before_here=_re(r"输入|填写|填入|键入|打出|写出|写下"),
    here=_re(r"这里|這裡|此处|在此|聊天框|对话框|聊天窗口|下面|下方|回复|发给我"),
    elsewhere=_re(r"(?:在|到)(?:App|APP|app|官网|网站|页面|应用|客户端|身份验证器|谷歌验证器)"),
    after=_re(
        r"是多少|是什么|给我看|发一下|发下|发来|发给我|发我|告诉我|报一下|报给我|截图给我|拍给我"
        r"|念给我|读给我|说一下|提供一下|提供给我|回复给我|私信给我|私发给我|发到这里|输入到这里"
        r"|填到这里|写在这里|发过来|传过来|发送过来|拍过来|给我们|给我"),
    blockers=_re(
        r"修改|重置|更改|设置|找回|忘记|绑定|解绑|开启|关闭|之后|以后|完成|成功|页面|界面|在App"
        r"|在APP|在官网|截图|如何|怎么|为什么|后"),
    modifiers=_re(
        r"的?(?:截图|页面|界面|设置|功能|选项|按钮|错误|提示|问题|重置|修改|找回|已|过期"
        r"|收不到|没收到|不对)"),
    negations=_re(
        r"不要|不用|无需|不需要|请勿|切勿|勿|不会|绝不|决不|绝对不|从不|从来不|永远不|永不|不得"
        r"|不可|不能|(?<![特区类分级个性识告鉴差派辨])别(?!人)|千万别|禁止|谨防|警惕|小心|拒绝"
        r"|任何人|他人|陌生人|如有人|若有人|凡是|一律|诈骗|骗子|钓鱼|骗局"),
    conditional=_re(r"(?:如果|假如|要是|若|如)(?:您|你)?\S{0,3}$"),
    not_request=_re(r"(?:我们|系统|平台)(?:(?:会|将|已|已经)\S{0,6}|\S{0,2})$"),
    own=_re(r"(?:我的|我们的)\S{0,2}$"),
    gap=20,
)

_LEXICONS: Final = {"en": _EN, "zh": _ZH}
_REMOTE: Final = _re(
    r"(?<![a-z0-9])(?:any\s?desk|team\s?viewer|rust\s?desk|ultra\s?viewer|quick\s?assist"
    r"|supremo|ammyy|splashtop|todesk|chrome\s+remote\s+desktop"
    r"|remote[- ](?:desktop|access|control|session"
    r"|support\s+(?:app|tool|software))|(?:share|sharing)\s+(?:your|the)\s+(?:screen|desktop)"
    r"|screen[- ]?shar(?:e|ing)|(?:take\s+)?control\s+(?:of\s+)?your\s+(?:computer|pc|laptop"
    r"|phone|device|screen))(?![a-z0-9])"
    r"|远程(?:协助|控制|桌面|操作|软件|连接)?|遠程|远控|向日葵|屏幕共享"
    r"|共享(?:您的|你的)?(?:屏幕|桌面)"
    r"|(?:帮你|帮您|替你|替您|我来)(?:操作|登录|登陆)(?:账户|账号|手机|电脑)?")


def _lexicons(lang: str | None) -> tuple[_PhraseRules, ...]:
    """The rule sets to run: the one for ``lang`` ("en…" or "zh…"); both for None or any other
    language, since a reply may mix languages and both sets are cheap."""
    if lang is not None:
        base = lang.strip().lower()[:2]
        if base in _LEXICONS:
            return (_LEXICONS[base],)
    return (_EN, _ZH)


def _negated(lex: _PhraseRules, sentence: _Sentence, start: int, end: int) -> bool:
    """A negation or warning between the start of the clause holding ``start`` and ``end``,
    except one inside an "if you …" condition ("if you can't log in, send me …" still asks)."""
    region_start = sentence.clause_start(start)
    for match in lex.negations.finditer(sentence.text, region_start, end):
        if not lex.conditional.search(sentence.text[max(region_start, match.start() - 12):
                                                    match.start()]):
            return True
    return False


_TO_YOU: Final = _re(r"\s+(?:you|u)\b")


def _is_request_cue(lex: _PhraseRules, sentence: _Sentence, cue: re.Match[str]) -> bool:
    """A cue said by the agent about themselves ("we will send a code", "the deposit") or
    followed by "you" ("we'll send you") is not a request."""
    before = sentence.text[max(0, cue.start() - 30):cue.start()]
    if lex.not_request.search(before):
        return False
    return not _TO_YOU.match(sentence.text, cue.end())


def _goes_to_chat(lex: _PhraseRules, sentence: _Sentence, cue: re.Match[str], obj: re.Match[str],
                  received_code: bool) -> bool:
    """For "type/enter/confirm" cues: a request only when the text is to go to the chat — said
    outright in the clauses of cue and object ("here", "这里"; not a later "not here"), or
    implied for a received code that is to go nowhere else ("confirm the code we sent you")."""
    start = sentence.clause_start(cue.start())
    end = next((b for b in sentence.clause_starts if b > obj.end()), len(sentence.text))
    if lex.elsewhere.search(sentence.text, start, end):
        return False
    return received_code or lex.here.search(sentence.text, start, end) is not None


_RECEIVED: Final = _re(
    r"\b(?:you|we|i)\s+(?:just\s+)?(?:got|get|received?|sent|were\s+sent|texted|emailed)\b")


def _linked_before(lex: _PhraseRules, sentence: _Sentence, obj: re.Match[str],
                   code: str) -> int | None:
    """Start of a request cue before ``obj`` that governs it, or None."""
    text = sentence.text
    floor = max(0, obj.start() - lex.gap)
    received = code == ASKS_CODE and _RECEIVED.search(text, obj.start(), obj.end() + 25)
    for pattern, needs_chat in ((lex.before, False), (lex.before_here, True)):
        for cue in pattern.finditer(text, floor, obj.start()):
            if lex.blockers.search(text, cue.end(), obj.start()):
                continue
            if cue.group(0).lower().endswith("the") and not received:
                continue  # "what is the verification code for …" asks about it, not for it
            if not _is_request_cue(lex, sentence, cue):
                continue
            if needs_chat and not _goes_to_chat(lex, sentence, cue, obj, bool(received)):
                continue
            if _negated(lex, sentence, cue.start(), obj.end()):
                continue
            return cue.start()
    return None


def _linked_after(lex: _PhraseRules, sentence: _Sentence, obj: re.Match[str]) -> int | None:
    """End of a request cue after ``obj`` that refers back to it ("验证码发给我"), or None."""
    text = sentence.text
    cue = lex.after.search(text, obj.end(), min(len(text), obj.end() + lex.gap))
    if cue is None or lex.blockers.search(text, obj.end(), cue.start()):
        return None
    if _negated(lex, sentence, obj.start(), cue.end()):
        return None
    return cue.end()


def _objects(lex: _PhraseRules, text: str) -> list[tuple[str, re.Match[str]]]:
    """Object mentions; a password match inside a code, seed or key match ("one-time password")
    is dropped."""
    found: list[tuple[str, re.Match[str]]] = []
    for code, pattern in lex.objects:
        for match in pattern.finditer(text):
            if not any(match.start() < other.end() and other.start() < match.end()
                       for _, other in found):
                found.append((code, match))
    return found


def _asks(lex: _PhraseRules, sentence: _Sentence) -> Iterator[Reason]:
    text = sentence.text
    for code, obj in _objects(lex, text):
        if lex.modifiers.match(text, obj.end()) or lex.own.search(text, 0, obj.start()):
            continue
        start = _linked_before(lex, sentence, obj, code)
        end = None if start is not None else _linked_after(lex, sentence, obj)
        if start is not None:
            yield _reason(code, sentence.offset + start, sentence.offset + obj.end())
        elif end is not None:
            yield _reason(code, sentence.offset + obj.start(), sentence.offset + end)


def _remote(sentence: _Sentence) -> Iterator[Reason]:
    """Remote-control tools need no request cue, only the absence of a warning before or right
    after them ("AnyDesk is never needed"). Tool names are the same in every language, so both
    languages' tools and negations apply whatever the reply's language."""
    text = sentence.text
    for tool in _REMOTE.finditer(text):
        after = _CLAUSE_END.split(text[tool.end():tool.end() + 25], maxsplit=1)[0]
        if any(_negated(lex, sentence, tool.start(), tool.end()) or lex.negations.search(after)
               for lex in (_EN, _ZH)):
            continue
        yield _reason(ASKS_REMOTE_ACCESS, sentence.offset + tool.start(),
                      sentence.offset + tool.end())


# ---------------------------------------------------------------- transfers

_ADDRESS: Final = re.compile(
    r"\b(?:0x[0-9a-fA-F]{40}|bc1[02-9ac-hj-np-z]{25,87}|[13][1-9A-HJ-NP-Za-km-z]{25,34}"
    r"|T[1-9A-HJ-NP-Za-km-z]{33}|[A-Z]{2}\d{2}[A-Z0-9]{11,30})\b")


@dataclass(frozen=True, slots=True)
class _TransferRules:
    verb: re.Pattern[str]
    destination: re.Pattern[str]
    purpose: re.Pattern[str]
    exempt: re.Pattern[str]
    subject: re.Pattern[str]
    funds: re.Pattern[str]
    wallet: re.Pattern[str]


_TRANSFER_EN: Final = _TransferRules(
    verb=_re(r"\b(?:send|transfer|deposit|move|pay|wire|remit|top\s+up)\b"),
    destination=_re(
        r"\b(?:to|into|at)\s+(?:this|these|the\s+following|the\s+below|following|below|my|our"
        r"|(?:a|an|the)\s+(?:safe|secure|safety|secured|protected|verification|temporary|holding"
        r"|escrow|designated|special))\s+(?:\w+\s+){0,2}?(?:address|wallet|account|iban|card)"
        r"|\b(?:address|wallet|account)\s+(?:below|above|i\s+(?:sent|gave|shared)|we\s+"
        r"(?:sent|gave|shared))"),
    purpose=_re(
        r"\b(?:for\s+(?:verification|verifying|validation|activation|(?:a\s+)?security\s+check"
        r"|safekeeping)|to\s+(?:verify|validate|unlock|unfreeze|activate|release|reactivate"
        r"|secure|protect)|safe\s+account|secure\s+account|as\s+(?:a\s+)?(?:deposit|collateral"
        r"|guarantee)|(?:unlock|unfreeze|activation|verification|release)\s+fee)\b"),
    exempt=_re(
        r"\b(?:your\s+own|only\s+you|you\s+control|shown\s+(?:on|in)\s+(?:your|the)"
        r"|your\s+deposit\s+(?:page|address)|deposit\s+page)\b"),
    subject=_re(
        r"\b(?:we|i|it|they|system|the|a|your|our|will\s+be)(?:'ll|\s+will|\s+would|\s+can"
        r"|\s+have|\s+just|\s+also|\s+may|\s+shall)*\s+$"),
    funds=_re(
        r"\b(?:funds?|money|assets?|coins?|crypto|tokens?|usdt|usdc|btc|bitcoin|eth|ether|trx"
        r"|bnb|sol|balance|payment|fee|tax|\d+(?:\.\d+)?\s*(?:usd|u|\$|dollars?)?)\b|\$\s*\d"),
    wallet=_re(r"address|wallet"),
)
_TRANSFER_ZH: Final = _TransferRules(
    verb=_re(
        r"转账|转入|转到|转至|转给|转移到|转移至|汇款|汇入|汇到|打款|打到|充值到|充到|充入|存入"
        r"|转一笔|打一笔|转\d|充值\d|充\d"),
    destination=_re(
        r"(?:以下|下面|下列|如下|这个|此|该|我的|我们的|指定的?|安全|专用|验证|临时)的?"
        r"(?:地址|账户|账号|钱包|卡号|银行卡)"),
    purpose=_re(r"安全账户|验证资金|资金验证|解冻|激活|解锁|保证金|验资|审核资金|刷流水"),
    exempt=_re(r"自己的|您本人|你本人|本人的|充值页面|充币页面|App内显示|页面显示|页面上显示"),
    subject=_re(
        r"(?:(?:我们|系统|平台)(?:会|将|已|已经)?|(?:资金|款项|退款)(?:会|将|已|已经))\S{0,2}$"
        # "这笔转账还没有到达…": the transfer as a noun, told about, not asked for.
        r"|(?:这|那|该|此|每|一|上|两|几)笔$|的$"),
    funds=_re(r"资金|钱|资产|币|usdt|btc|eth|\d|余额|费用|手续费|税|保证金"),
    wallet=_re(r"地址|钱包"),
)


def _transfers(lex: _PhraseRules, rules: _TransferRules, sentence: _Sentence,
               tail: str) -> Iterator[Reason]:
    """A request to move funds with a suspicious destination ("this address", "安全账户", a
    literal address) or purpose ("to unlock", "解冻"). ``tail`` is the text after the sentence,
    where "send 100 USDT to:" often puts the address on the next line. A destination that is an
    account, or a purpose alone, needs funds in the sentence ("send your documents to verify"
    is not a transfer)."""
    text = sentence.text
    if rules.exempt.search(text):
        return
    for verb in rules.verb.finditer(text):
        if rules.subject.search(text[max(0, verb.start() - 30):verb.start()]):
            continue
        rest = text[verb.end():]
        target = rules.destination.search(rest)
        literal = _ADDRESS.search(rest + tail[:120])
        funds = rules.funds.search(text) is not None
        if not (literal or (target and (funds or rules.wallet.search(target.group(0))))
                or (funds and rules.purpose.search(text))):
            continue
        found = target or literal
        end = min(len(text), verb.end() + found.end()) if found else verb.end()
        if _negated(lex, sentence, verb.start(), end):
            continue
        yield _reason(ASKS_TRANSFER, sentence.offset + verb.start(), sentence.offset + end)
        return


# ---------------------------------------------------------------- links

_TLDS: Final = frozenset(
    line.strip() for line in
    (Path(__file__).with_name("data") / "tlds.txt").read_text("utf-8").splitlines()
    if line.strip() and not line.startswith("#"))
_LABEL: Final = (r"[0-9A-Za-z\u00C0-\u024F\u0370-\u03FF\u0400-\u052F\u1E00-\u1EFF"
                 r"\uFF10-\uFF19\uFF21-\uFF3A\uFF41-\uFF5A-]+")
_DOT: Final = r"[.\u3002\uff0e\uff61]"
_TRAILING: Final = ".,;:!?)]}'\"。，；：！？）】」』、"
_SCHEME_URL: Final = re.compile(
    r"(?<![A-Za-z0-9])(?:https?|hxxps?|ftp|wss?)://[^\s<>\"'，。、）】」]+", re.IGNORECASE)
_EMAIL: Final = re.compile(
    rf"(?<![A-Za-z0-9.+%_-])([A-Za-z0-9.+%_-]+)@((?:{_LABEL}{_DOT})+{_LABEL})(?!{_LABEL})",
    re.IGNORECASE)
_BARE: Final = re.compile(
    rf"(?<![0-9A-Za-z\u00C0-\u052F@./:-])((?:{_LABEL}{_DOT})+([A-Za-z\uFF21-\uFF3A\uFF41-\uFF5A]{{2,24}}|xn--[a-z0-9-]+))"
    rf"(?![0-9A-Za-z\u00C0-\u052F-])((?::\d+)?(?:/[^\s<>\"'，。、）】」]*)?)", re.IGNORECASE)


def _is_tld(label: str) -> bool:
    """A real top-level domain, not a capitalised word after a missing space ("Thanks.So",
    "done.It"): domains are written in lower or upper case, sentences start in title case."""
    name = unicodedata.normalize("NFKC", label)
    return name.lower() in _TLDS and not (name[0].isupper() and name[1:].islower())


@dataclass(frozen=True, slots=True)
class _Link:
    """A link in the reply: its span, the host it opens and its text (for ``assess``)."""

    start: int
    end: int
    host: str
    text: str


def _links(text: str) -> Iterator[_Link]:
    """Every link a customer could open: URLs with a scheme, email addresses, and bare domains
    whose top-level domain is real (so "e.g." and "file.png" are not links)."""
    taken: list[tuple[int, int]] = []
    for match in _SCHEME_URL.finditer(text):
        raw = match.group(0).rstrip(_TRAILING)
        try:
            parts = lookalike.split_url(raw)
        except ValueError:
            continue
        taken.append((match.start(), match.start() + len(raw)))
        yield _Link(match.start(), match.start() + len(raw), parts.host, raw)
    for match in _EMAIL.finditer(text):
        if any(s <= match.start() < e for s, e in taken):
            continue
        taken.append((match.start(), match.end()))
        try:
            host = lookalike.normalize_host(match.group(2))
        except ValueError:
            continue
        yield _Link(match.start(), match.end(), host, match.group(0))
    for match in _BARE.finditer(text):
        if any(s <= match.start() < e for s, e in taken) or not _is_tld(match.group(2)):
            continue
        try:
            host = lookalike.normalize_host(match.group(1))
        except ValueError:
            continue
        raw = match.group(0).rstrip(_TRAILING)
        yield _Link(match.start(), match.start() + len(raw), host, raw)


def _link_reasons(text: str, allowed: tuple[str, ...]) -> Iterator[Reason]:
    for link in _links(text):
        if any(lookalike.is_within(link.host, domain) for domain in allowed):
            continue
        yield _reason(LINK_NOT_ALLOWED, link.start, link.end, host=link.host)
        verdict = lookalike.assess(link.text, "url", allowed) if allowed else None
        if verdict is not None and verdict.verdict == "suspicious":
            yield _reason(LOOKALIKE_DOMAIN, link.start, link.end, host=link.host,
                          matched=verdict.matched or "", reason=verdict.reason)


def _allowed(domains: Collection[str]) -> tuple[str, ...]:
    if isinstance(domains, str):
        raise ValueError("allowed_domains must be a collection of domains, not one string")
    try:
        return tuple(lookalike.normalize_host(d) for d in domains if d.strip())
    except ValueError as error:
        raise ValueError(f"allowed_domains: {error}") from None


# ---------------------------------------------------------------- entry point

def check_outbound(text: str, *, allowed_domains: Collection[str],
                   lang: str | None = None) -> OutboundVerdict:
    """Check one reply before it is sent. ``allowed_domains`` are the official domains; a link is
    allowed when its host is one of them or a subdomain (public suffixes such as ``github.io``
    allow nothing). ``lang`` ("en", "zh-CN", …) limits the phrase rules to that language; None,
    or a language without rules, runs both.

    Raises ValueError when ``text`` is not a string or an allowed domain is not a host name."""
    if not isinstance(text, str):
        raise ValueError(f"check_outbound() needs a str, got {type(text).__name__}")
    allowed = _allowed(allowed_domains)
    reasons: list[Reason] = []
    for sentence in _sentences(text):
        tail = text[sentence.offset + len(sentence.text):]
        reasons.extend(_remote(sentence))
        for lex in _lexicons(lang):
            reasons.extend(_asks(lex, sentence))
            rules = _TRANSFER_EN if lex is _EN else _TRANSFER_ZH
            reasons.extend(_transfers(lex, rules, sentence, tail))
    reasons.extend(_link_reasons(text, allowed))
    reasons.extend(_reason(SHARES_SECRET, f.start, f.end, kind=f.kind.replace("_", " "))
                   for f in scan(text).findings)
    unique = {(r.code, r.start, r.end): r for r in reasons}
    ordered = tuple(sorted(unique.values(), key=lambda r: (r.start, CODES.index(r.code))))
    return OutboundVerdict(bool(ordered), ordered)
