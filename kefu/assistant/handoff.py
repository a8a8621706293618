"""When the assistant steps aside for a human, and what the agent is told (SPEC §D).

The rules, in the order the pipeline applies them:

1. the customer asks for a person ("human", "agent", "人工", "转人工", …) → at once;
2. a sensitive intent (stolen account, unauthorized withdrawal, fund loss, disputes, phishing
   victim: ``sensitive: true`` in ``data/intents.yaml``) → at once;
3. out of scope, or an answer whose confidence is below ``assistant_min_confidence`` → hand off
   rather than guess;
4. the second unhelpful answer ("no", "didn't help", "没用", "不是这个", 👎) → hand off;
5. a guided flow that finds a case only staff can resolve (deposit stuck or not found, missing
   memo, withdrawal past its SLA, 2FA reset without the step-up link) → hand off with the facts.

The agent gets a :class:`HandoffSummary` as an internal note, in Chinese or English: why, the
intent, every fact extracted, what the assistant already said, and the customer's sentiment.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from kefu.assistant.answer import localized

Reason = Literal[
    "customer_request", "sensitive", "out_of_scope", "low_confidence", "unhelpful",
    "flow_needs_agent", "step_up_required", "secret_shared", "answer_blocked",
]
REASONS: tuple[Reason, ...] = (
    "customer_request", "sensitive", "out_of_scope", "low_confidence", "unhelpful",
    "flow_needs_agent", "step_up_required", "secret_shared", "answer_blocked",
)
UNHELPFUL_LIMIT = 2

_HUMAN_EN = re.compile(
    r"\b(?:human|real\s+person|live\s+(?:agent|person|support)|(?:customer\s+service\s+)?"
    r"representative|operator|somebody\s+real|someone\s+real"
    r"|(?:talk|speak|chat)\s+(?:to|with)\s+(?:a|an|the|your|some)?\s*"
    r"(?:person|agent|staff|someone)"
    r"|(?:want|need|get\s+me|give\s+me|connect\s+me\s+(?:to|with)|transfer\s+me\s+to)"
    r"\s+(?:a|an|the|your)?\s*agent)\b",
    re.IGNORECASE)
_AGENT_ALONE = re.compile(r"^\W*(?:an?\s+)?agents?\W*(?:please|pls|now)?\W*$", re.IGNORECASE)
_HUMAN_ZH = re.compile(r"人工|真人|转接客服|找客服|要客服|联系客服|客服人员|接客服|叫客服|活人")

_UNHELPFUL_EN = re.compile(
    r"^\W*(?:no+(?!\s+(?:problem|worries|thanks|thank|need))|nope|nah|wrong|useless"
    r"|not\s+(?:helpful|useful|it|what\s+i\s+(?:asked|meant|need(?:ed)?))"
    r"|(?:that|this|it)(?:'s|\s+is|\s+was)?\s+(?:not|wrong|useless|not\s+it|not\s+helpful)"
    r"|(?:that|this|it)?\s*(?:didn'?t|did\s+not|doesn'?t|does\s+not)\s+(?:help|work|answer)"
    r"|still\s+(?:not|doesn'?t|didn'?t|no)|not\s+my\s+(?:question|problem)"
    r"|you\s+(?:didn'?t|don'?t)\s+understand)\b",
    re.IGNORECASE)
_UNHELPFUL_ZH = re.compile(
    r"没用|没有用|無用|沒用|不是这个|不是這個|不对|不對|没帮助|没有帮助|答非所问"
    r"|不是我要的|不是我问的|还是不行|还是没|没解决|沒解決|没看懂|看不懂|不管用|不相关|无关")
_THUMBS_DOWN = "\U0001F44E"


def asks_for_human(text: str) -> bool:
    """The customer asks for a person, in English or Chinese."""
    return bool(_HUMAN_EN.search(text) or _AGENT_ALONE.match(text) or _HUMAN_ZH.search(text))


def is_unhelpful_reply(text: str) -> bool:
    """The customer says the last answer did not help (a reply to it, not a new question)."""
    stripped = text.strip()
    if stripped.startswith(_THUMBS_DOWN):
        return True
    return bool(_UNHELPFUL_EN.match(stripped) or _UNHELPFUL_ZH.search(stripped[:20]))


# ---------------------------------------------------------------- the agent's summary

_REASON_TEXT: dict[str, dict[str, str]] = {
    "customer_request": {"en": "the customer asked for a person", "zh": "客户要求人工服务"},
    "sensitive": {"en": "sensitive case ({intent}): needs a person at once",
                  "zh": "敏感问题（{intent}），需立即人工处理"},
    "out_of_scope": {"en": "out of the assistant's scope", "zh": "超出助手的服务范围"},
    "low_confidence": {"en": "the assistant was not confident enough to answer ({confidence})",
                       "zh": "助手把握不足，未作答（置信度 {confidence}）"},
    "unhelpful": {"en": "two answers did not help the customer",
                  "zh": "两次回答都没有帮到客户"},
    "flow_needs_agent": {"en": "the guided check needs an agent: {detail}",
                         "zh": "引导排查需要人工：{detail}"},
    "step_up_required": {"en": "2FA reset: send the identity verification (step-up) link",
                         "zh": "重置二次验证：需发送身份验证（step-up）链接"},
    "secret_shared": {"en": "the customer sent a wallet secret (masked): treat as compromised",
                      "zh": "客户发送了钱包机密信息（已隐藏），请按资产风险处理"},
    "answer_blocked": {"en": "the assistant's answer failed the outbound check",
                       "zh": "助手的回答未通过外发安全检查"},
}
_LABELS = {
    "en": {"title": "Assistant hand-off", "reason": "Reason", "intent": "Intent",
           "language": "Language", "sentiment": "Sentiment", "angry": "angry",
           "facts": "Facts", "answered": "Assistant already said", "none": "none",
           "last": "Last message"},
    "zh": {"title": "助手转人工", "reason": "原因", "intent": "意图", "language": "语言",
           "sentiment": "情绪", "angry": "愤怒", "facts": "已提取信息",
           "answered": "助手已回复", "none": "无", "last": "客户最新消息"},
}
_MOODS = {"zh": {"negative": "负面", "neutral": "中性", "positive": "正面"}}
_FACT_NAMES = {
    "en": {"tx_ids": "txid", "addresses": "address", "invalid_addresses": "mistyped address",
           "order_ids": "order id", "amounts": "amount", "networks": "network", "coins": "coin",
           "dates": "date", "memos": "memo/tag", "ticket_numbers": "ticket"},
    "zh": {"tx_ids": "交易哈希", "addresses": "地址", "invalid_addresses": "疑似输错的地址",
           "order_ids": "订单号", "amounts": "金额", "networks": "网络", "coins": "币种",
           "dates": "日期", "memos": "Memo/标签", "ticket_numbers": "工单号"},
}


@dataclass(frozen=True)
class HandoffSummary:
    """What the agent who takes over needs, without reading the whole conversation.

    ``facts`` is ``Facts.to_dict()`` merged over the conversation (plus what a flow looked up,
    under ``lookup``); ``answered`` are short lines of what the assistant said."""

    reason: Reason
    intent: str | None
    intent_confidence: float | None
    facts: Mapping[str, Any]
    answered: Sequence[str]
    sentiment: str
    sentiment_score: float
    angry: bool
    language: str
    last_message: str
    detail: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)

    def note(self, lang: str) -> str:
        """The internal note, in Chinese (``zh…``) or English."""
        lang = "zh" if lang.lower().startswith("zh") else "en"
        labels = _LABELS[lang]
        confidence = (f"{self.intent_confidence:.2f}" if self.intent_confidence is not None
                      else "–")
        reason = localized(_REASON_TEXT[self.reason], lang, intent=self.intent or "–",
                           confidence=confidence, detail=self.detail)
        mood = (f"{_MOODS.get(lang, {}).get(self.sentiment, self.sentiment)} "
                f"({self.sentiment_score:+.2f})")
        if self.angry:
            mood += f", {labels['angry']}"
        lines = [
            f"[{labels['title']}] {labels['reason']}: {reason}",
            f"{labels['intent']}: {self.intent or '–'} ({confidence}) · "
            f"{labels['language']}: {self.language} · {labels['sentiment']}: {mood}",
            f"{labels['facts']}: {format_facts(self.facts, lang) or labels['none']}",
        ]
        lines.extend(f"{key}: {value}" for key, value in self.extra.items())
        if self.answered:
            lines.append(f"{labels['answered']}:")
            lines.extend(f"  - {line}" for line in self.answered)
        else:
            lines.append(f"{labels['answered']}: {labels['none']}")
        lines.append(f"{labels['last']}: {self.last_message[:300]}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"reason": self.reason, "intent": self.intent,
                "intent_confidence": self.intent_confidence, "facts": dict(self.facts),
                "answered": list(self.answered), "sentiment": self.sentiment,
                "sentiment_score": self.sentiment_score, "angry": self.angry,
                "language": self.language, "detail": self.detail, "extra": dict(self.extra)}


def format_facts(facts: Mapping[str, Any], lang: str) -> str:
    """``txid 0xab…; network TRC20; amount 500 USDT`` from ``Facts.to_dict()`` lists."""
    names = _FACT_NAMES["zh" if lang == "zh" else "en"]
    parts: list[str] = []
    for kind, items in facts.items():
        if kind not in names or not isinstance(items, list):
            continue
        for item in items:
            parts.append(f"{names[kind]} {_fact_value(kind, item)}")
    return "; ".join(dict.fromkeys(parts))


def _fact_value(kind: str, item: Mapping[str, Any]) -> str:
    if kind == "amounts":
        return f"{item['value']} {item['coin']}"
    if kind == "networks":
        return str(item["name"])
    if kind == "coins":
        return str(item["symbol"])
    if kind in ("addresses", "invalid_addresses"):
        return f"{item['value']} ({item['chain']})"
    return str(item.get("value", ""))


# ---------------------------------------------------------------- priority and customer text

_URGENT_INTENTS = frozenset({"account_stolen", "unauthorized_withdrawal", "fund_loss",
                             "phishing_report", "scam_recovery"})


def handoff_priority(reason: Reason, intent: str | None, *, angry: bool,
                     current: str = "normal") -> str:
    """Security compromises and missing funds are urgent, disputes and leaked wallet secrets
    high (SPEC §E severity order), an angry customer at least high; never lowers ``current``."""
    order = ("low", "normal", "high", "urgent")
    wanted = "normal"
    if reason == "secret_shared" or (reason == "sensitive" and intent in _URGENT_INTENTS):
        wanted = "urgent"
    elif reason == "sensitive" and intent != "talk_to_human":
        wanted = "high"
    if angry and order.index(wanted) < order.index("high"):
        wanted = "high"
    return max(current, wanted, key=order.index)


_CUSTOMER_TEXT: dict[str, dict[str, str]] = {
    "customer_request": {
        "en": "Of course, I'm passing you to a member of our support team. They can see what "
              "you've told me, so you won't need to repeat it.",
        "zh": "好的，正在为您转接人工客服。客服可以看到您之前提供的信息，无需重复说明。"},
    "sensitive": {
        "en": "This needs a member of our team, so I've passed your conversation to an agent "
              "with priority. They can see everything you've told me.",
        "zh": "这个问题需要由客服人员处理，我已将您的对话优先转给人工客服，客服可以看到您提供的全"
              "部信息。"},
    "out_of_scope": {
        "en": "I'm the automated assistant and can't help with that myself. I've asked a "
              "colleague from our support team to take over.",
        "zh": "我是自动助手，这个问题我无法处理，已为您转接人工客服。"},
    "low_confidence": {
        "en": "I'm not sure I understood correctly, so I've asked a colleague from our support "
              "team to take over rather than guess.",
        "zh": "我不确定是否正确理解了您的问题，为避免误导，已为您转接人工客服。"},
    "unhelpful": {
        "en": "Sorry that didn't help. I've passed the conversation to a member of our support "
              "team, with what we've covered so far.",
        "zh": "抱歉没能帮到您。我已把对话和目前的排查情况转给人工客服。"},
    "flow_needs_agent": {
        "en": "I've opened this for our support team with all the details above attached; an "
              "agent will continue here.",
        "zh": "我已将以上全部信息提交给客服团队，客服会在这里继续为您处理。"},
    "step_up_required": {
        "en": "A 2FA reset needs an identity check through a secure verification link, never "
              "codes typed in chat. I've asked our support team to send you that link here.",
        "zh": "重置二次验证需要通过安全验证链接完成身份核验，绝不能在聊天中发送验证码。"
              "我已请客服在这里为您发送验证链接。"},
    "secret_shared": {
        "en": "I've passed this to our support team with priority.",
        "zh": "我已将此对话优先转给人工客服。"},
    "answer_blocked": {
        "en": "I've asked a colleague from our support team to answer this.",
        "zh": "我已请人工客服为您解答。"},
}
_WAIT = {"en": "Please stay in this chat. Support will never ask for your password, 2FA codes, "
               "seed phrase or private keys.",
         "zh": "请留在此对话中等待。客服绝不会索要您的密码、验证码、助记词或私钥。"}


def customer_message(reason: Reason, lang: str) -> str:
    """What the customer reads when the assistant hands off."""
    return localized(_CUSTOMER_TEXT[reason], lang) + ("" if lang == "zh" else " ") + \
        localized(_WAIT, lang)
