"""Guided flows for the top intents: the assistant looks the case up and explains it before any
human is needed (SPEC §D).

- ``deposit_not_credited``: txid from the message, or a pick from the customer's recent
  deposits, or asked for; the deposit is looked up through the exchange adapter and its state
  explained: confirmations so far/needed with an ETA, a network other than the one the customer
  named, a missing memo/tag, below the minimum, already credited, failed, on hold. Cases only
  staff can move (not found, memo missing, stuck) go to an agent with every fact attached.
- ``withdrawal_pending``: the withdrawal is found among the customer's recent ones and its
  status explained (pending review, processing, broadcast with txid, completed, failed); past
  its SLA (review 24 h, processing 1 h) it goes to an agent.
- ``kyc_status``: the latest KYC application from the customer context: pending (within the
  48-hour limit, or past it: an agent), rejected or waiting for more with the recorded reasons in
  the help center's words (``kefu.assistant.kyc``). No application, or an approved one, leaves
  the question to the help-center answer; a reason Kefu cannot explain goes to an agent.
- ``2fa_reset``: never asks for a code. It explains the backup-key route and sends the step-up
  identity-verification link (``step_up`` callable); without one, an agent sends it.

A flow's state is a small JSON dict (:class:`FlowState`) stored with the conversation. Each step
returns a :class:`FlowReply`; ``None`` from :func:`continue_flow` means the message was not an
answer to the flow's question, and the pipeline treats it as a new question.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from kefu.assistant import kyc
from kefu.assistant.answer import localized
from kefu.assistant.facts import Facts
from kefu.assistant.handoff import Reason
from kefu.core.errors import KefuError
from kefu.exchange.base import (
    CustomerNotFound,
    ExchangeAdapter,
    ExchangeUnavailable,
    normalize_txid,
)
from kefu.exchange.schemas import CustomerContext, Deposit, KycReview, Withdrawal
from kefu.kb.status import StatusNotice

FlowName = Literal["deposit_not_credited", "withdrawal_pending", "2fa_reset", "kyc_status"]
FLOWS: tuple[FlowName, ...] = ("deposit_not_credited", "withdrawal_pending", "2fa_reset",
                               "kyc_status")
ReplyKind = Literal["ask", "answer", "handoff"]
StepUpLinker = Callable[[str, str], Awaitable[str]]
"""``(customer external id, purpose) -> URL`` of the step-up identity verification."""

RECENT = timedelta(days=30)
MAX_CHOICES = 5
REVIEW_SLA = timedelta(hours=24)
PROCESSING_SLA = timedelta(hours=1)
ON_HOLD_SLA = timedelta(hours=24)
KYC_REVIEW_SLA = timedelta(hours=48)
STUCK_AFTER = timedelta(hours=1)
"""A deposit with all its confirmations but not credited for this long is stuck (the help
center's "more than one hour")."""

# Spellings of the adapter ("Bitcoin", "XRP Ledger") and of fact extraction ("BTC", "XRP") → one.
_NETWORK_NAMES = {
    "bitcoin": "BTC", "btc": "BTC", "erc20": "ERC20", "ethereum": "ERC20", "eth": "ERC20",
    "trc20": "TRC20", "tron": "TRC20", "trx": "TRC20", "bep20": "BEP20", "bsc": "BEP20",
    "bnb smart chain": "BEP20", "solana": "SOL", "sol": "SOL", "ton": "TON", "xrp ledger": "XRP",
    "xrp": "XRP", "xrpl": "XRP", "polygon": "POLYGON", "arbitrum": "ARB", "arbitrum one": "ARB",
    "arb": "ARB", "optimism": "OP", "op": "OP", "litecoin": "LTC", "ltc": "LTC", "doge": "DOGE",
    "dogecoin": "DOGE",
}
# Seconds per block (deposit-confirmations-by-network): the ETA of a confirming deposit.
_BLOCK_SECONDS = {"BTC": 600.0, "ERC20": 12.0, "BEP20": 3.0, "TRC20": 3.0, "SOL": 0.4,
                  "TON": 5.0, "XRP": 4.0, "POLYGON": 2.0, "ARB": 0.25, "OP": 2.0, "LTC": 150.0,
                  "DOGE": 60.0}
_MEMO_NETWORKS = frozenset({"XRP", "TON", "XLM", "EOS", "ATOM"})
# Transaction-id format of each network's chain (facts.TxId.chain).
_NETWORK_CHAINS = {"BTC": "BTC", "ERC20": "EVM", "BEP20": "EVM", "POLYGON": "EVM", "ARB": "EVM",
                   "OP": "EVM", "TRC20": "TRON", "SOL": "SOL", "LTC": "LTC"}
# Minimum deposits as the help center states them (deposit-below-minimum); coins not listed
# here are checked by the exchange itself and never called "below minimum" by the assistant.
MINIMUM_DEPOSITS = {"USDT": Decimal(1), "USDC": Decimal(1), "BTC": Decimal("0.0001")}


def canonical_network(name: str) -> str:
    """One name per network, whichever spelling the adapter, a status entry or a customer used."""
    key = name.strip().lower()
    return _NETWORK_NAMES.get(key, key.upper())


@dataclass
class FlowState:
    """Where a flow stands: its ``step`` and the ``slots`` collected so far (JSON values)."""

    name: FlowName
    step: str
    slots: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "step": self.step, "slots": dict(self.slots)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FlowState:
        if data.get("name") not in FLOWS:
            raise ValueError(f"unknown flow {data.get('name')!r}")
        return cls(name=data["name"], step=str(data["step"]), slots=dict(data.get("slots", {})))


@dataclass(frozen=True)
class FlowReply:
    """One step's outcome. ``state`` is None once the flow is over; ``lookup`` are lines for
    the agent ("deposit: 250 USDT TRC20 … confirming 5/19"); ``article`` the help-center slug
    the explanation rests on."""

    kind: ReplyKind
    text: str
    state: FlowState | None
    article: str | None = None
    lookup: dict[str, str] = field(default_factory=dict)
    detail: str = ""
    reason: Reason = "flow_needs_agent"


@dataclass(frozen=True)
class FlowContext:
    """What a flow may use. ``external_id`` is None for a visitor (nothing to look up)."""

    adapter: ExchangeAdapter | None
    external_id: str | None
    lang: str
    now: datetime
    notices: Sequence[StatusNotice] = ()
    step_up: StepUpLinker | None = None


# ---------------------------------------------------------------- entry points


async def start_flow(name: FlowName, ctx: FlowContext, facts: Facts) -> FlowReply | None:
    """Run the first step of a flow for a message with ``facts``; None when the flow cannot
    run for this customer (a visitor has no deposits to look up), so the pipeline answers
    from the help center instead."""
    if name == "2fa_reset":
        return await _two_factor_reset(ctx)
    if ctx.adapter is None or ctx.external_id is None:
        return None
    if name == "kyc_status":
        return await _kyc_step(ctx)
    state = FlowState(name=name, step="start", slots=_slots_from(facts, {}))
    if name == "deposit_not_credited":
        return await _deposit_step(state, ctx)
    return await _withdrawal_step(state, ctx)


async def continue_flow(state: FlowState, ctx: FlowContext, facts: Facts,
                        text: str) -> FlowReply | None:
    """Feed the customer's reply to the open flow; None when it does not answer the question
    (then the flow is dropped and the message handled as a new one)."""
    if ctx.adapter is None or ctx.external_id is None:
        return None
    slots = _slots_from(facts, state.slots)
    choice = parse_choice(text, len(state.slots.get("choices", [])))
    answered = (choice is not None or slots != state.slots or _NONE_OF_THESE.search(text)
                or _NO_TXID.search(text))
    if not answered:
        return None
    if choice is not None:
        slots["chosen"] = state.slots["choices"][choice - 1]
    if _NONE_OF_THESE.search(text) or _NO_TXID.search(text):
        slots["declined"] = int(slots.get("declined", 0)) + 1
    next_state = FlowState(state.name, state.step, slots)
    if state.name == "deposit_not_credited":
        return await _deposit_step(next_state, ctx)
    return await _withdrawal_step(next_state, ctx)


def _slots_from(facts: Facts, slots: dict[str, Any]) -> dict[str, Any]:
    merged = dict(slots)
    if facts.tx_ids:
        merged["txid"] = facts.tx_ids[0].value
        merged["txid_chain"] = facts.tx_ids[0].chain
    if facts.networks:
        merged["network"] = facts.networks[0].name
    if facts.coins:
        merged["coin"] = facts.coins[0].symbol
    if facts.amounts:
        merged["amount"] = str(facts.amounts[0].value)
        merged.setdefault("coin", facts.amounts[0].coin)
    return merged


_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "last": -1,
             "一": 1, "二": 2, "三": 3, "四": 4, "五": 5}
_CHOICE = re.compile(r"^\D{0,8}?(\d{1,2})\D{0,8}$")
_ORDINAL = re.compile(r"\b(first|second|third|fourth|fifth|last)\b|第([一二三四五])", re.I)
_NONE_OF_THESE = re.compile(
    r"^\W*(?:no|nope|不是|没有)\W*$"
    r"|\b(?:none|neither|not\s+(?:there|listed|in\s+(?:the|this|that)\s+list|any\s+of))\b"
    r"|都不是|都没有|不在(?:列表|里面|这里)|没有这笔|找不到", re.IGNORECASE)
_NO_TXID = re.compile(
    r"\b(?:don'?t|do\s+not|no)\s+(?:have|know|find)\b.{0,20}\b(?:txid|hash|tx|transaction)"
    r"|\bno\s+(?:txid|hash)\b|没有(?:交易)?(?:哈希|txid|TxID|hash)"
    r"|不知道(?:交易)?(?:哈希|txid)|找不到(?:交易)?(?:哈希|txid)", re.IGNORECASE)


def parse_choice(text: str, options: int) -> int | None:
    """A pick from a numbered list of ``options``: "2", "#2", "number 2", "the second one",
    "第二个"; None when the text is no such pick."""
    if options <= 0 or len(text) > 40:
        return None
    match = _CHOICE.match(text.strip())
    number: int | None = int(match.group(1)) if match else None
    if number is None:
        ordinal = _ORDINAL.search(text)
        if ordinal:
            number = _ORDINALS[(ordinal.group(1) or ordinal.group(2)).lower()]
            number = options if number == -1 else number
    return number if number is not None and 1 <= number <= options else None


# ---------------------------------------------------------------- texts

_T: dict[str, dict[str, str]] = {
    "pick_deposit": {
        "en": "Let me look it up. Is it one of your recent deposits? Reply with its number, or "
              "paste the transaction ID (txid / hash) if it is not listed:\n{choices}",
        "zh": "我来帮您查询。是下面哪一笔充值？请回复序号；如果不在列表中，请发送交易哈希（TxID）"
              "：\n"
              "{choices}"},
    "ask_txid": {
        "en": "Let me look it up. Please send the transaction ID (txid / hash) of the deposit, "
              "from the sending wallet or platform's withdrawal record{coin_network}.",
        "zh": "我来帮您查询。请发送这笔充值的交易哈希（TxID），可以在转出钱包或平台的提币记录中找到"
              "{coin_network}。"},
    "ask_coin_network": {"en": ", and tell me the coin and network you used",
                         "zh": "，并告诉我币种和转账网络"},
    "credited": {
        "en": "Good news: your deposit of {amount} {coin} ({network}) was credited {ago}. You can "
              "find it under Assets > History > Deposits; it is in your Funding/Spot balance.",
        "zh": "好消息：您这笔 {amount} {coin}（{network}）充值已于{ago}到账。可在【资产】-【资金"
              "记录】-"
              "【充值】中查看，资产已计入您的账户余额。"},
    "confirming": {
        "en": "Your deposit of {amount} {coin} ({network}) is on its way: {confirmations} of "
              "{required} confirmations so far, about {eta} to go. It is credited automatically; "
              "nothing needs to be done.",
        "zh": "您这笔 {amount} {coin}（{network}）充值正在确认中：目前 {confirmations}/{required}"
              " 个"
              "确认，预计还需约 {eta}。确认完成后会自动到账，无需任何操作。"},
    "pending_slow": {
        "en": "Your deposit of {amount} {coin} ({network}) has been waiting for its first "
              "confirmation for {age}. That happens when the sender paid a low network fee: the "
              "transaction waits until miners pick it up. Only the sender can speed it up (RBF "
              "or CPFP); it is credited automatically once confirmed.",
        "zh": "您这笔 {amount} {coin}（{network}）充值已等待首个确认 {age}。这通常是转出方设置的"
              "矿工费"
              "过低，交易需等待矿工打包。只有转出方可以加速（RBF 或 CPFP），确认后会自动"
              "到账。"},
    "pending": {
        "en": "Your deposit of {amount} {coin} ({network}) was just broadcast and is waiting for "
              "its first confirmation ({required} needed). It is credited automatically.",
        "zh": "您这笔 {amount} {coin}（{network}）充值刚刚广播，正在等待首个确认（共需 {required}"
              " 个），"
              "确认后会自动到账。"},
    "failed": {
        "en": "The transaction of {amount} {coin} ({network}) failed on the blockchain, so the "
              "funds never left the sending wallet or platform. Please check with the sender; "
              "nothing was lost on our side.",
        "zh": "这笔 {amount} {coin}（{network}）交易在链上执行失败，资产并未从转出方发出。请联系"
              "转出平台"
              "或检查您的钱包，我们这边没有任何损失。"},
    "on_hold": {
        "en": "Your deposit of {amount} {coin} ({network}) is on hold for a check. Open it under "
              "Assets > History > Deposits: if it asks for a travel rule questionnaire (who sent "
              "the funds), answer it and the deposit is released, usually within a few hours.",
        "zh": "您这笔 {amount} {coin}（{network}）充值因核查被暂时挂起。请在【资产】-【资金记录】"
              "-【充值】"
              "中打开该记录：如需填写旅行规则问卷（资金来源），填写后通常几小时内即可放行"
              "入账。"},
    "missing_memo": {
        "en": "Your deposit of {amount} {coin} ({network}) reached our shared address without "
              "the memo/tag that tells us which account it belongs to, so it could not be "
              "credited automatically. It is safe: our team credits it manually once they "
              "confirm it is yours.",
        "zh": "您这笔 {amount} {coin}（{network}）充值到达了我们的共用地址，但缺少用于识别账户的"
              " Memo/标签，因此无法自动入账。资产是安全的：客服核实属于您后会为您手动入账"
              "。"},
    "below_minimum": {
        "en": "Your deposit of {amount} {coin} ({network}) is below the minimum deposit of "
              "{minimum} {coin}, so it was recorded but not credited automatically. Once your "
              "below-minimum deposits of {coin} on {network} add up to the minimum, open a "
              "ticket listing their txids and we credit the total (minus a 1 USDT-equivalent "
              "fee), usually within 3 business days.",
        "zh": "您这笔 {amount} {coin}（{network}）充值低于最小充值数量 {minimum} {coin}，已被记录"
              "但不会"
              "自动入账。当同一币种、同一网络下的小额充值累计达到最小数量后，请提交工单并"
              "列出所有 T"
              "xID，"
              "我们会在扣除 1 USDT 等值手续费后为您入账，通常 3 个工作日内完成。"},
    "other_network": {
        "en": "Note: this deposit arrived on {actual}, not on {stated}.",
        "zh": "注意：这笔充值实际走的是 {actual} 网络，而不是 {stated}。"},
    "wrong_network": {
        "en": "That transaction ID looks like a {chain} transaction, but you mentioned {stated}: "
              "the funds were probably sent on a different network than the deposit address "
              "was made for.",
        "zh": "这个交易哈希看起来是 {chain} 链上的交易，而您提到的是 {stated} 网络：资产很可能通"
              "过了与"
              "充值地址不一致的网络转出。"},
    "not_found": {
        "en": "I can't find a deposit with that transaction ID on your account. Please check on "
              "the block explorer that the transaction succeeded and that the receiving address "
              "is your deposit address.",
        "zh": "您的账户中没有找到这个交易哈希对应的充值。请在区块浏览器上确认交易已成功，且收款地"
              "址是您的"
              "充值地址。"},
    "stuck": {
        "en": "Your deposit of {amount} {coin} ({network}) has all its confirmations "
              "({confirmations}/{required}) but is still not credited after {age}. That needs "
              "our team.",
        "zh": "您这笔 {amount} {coin}（{network}）充值已达到所需确认数（{confirmations}/"
              "{required}），"
              "但 {age} 后仍未入账，需要客服为您处理。"},
    "hold_too_long": {
        "en": "Your deposit of {amount} {coin} ({network}) has been on hold for {age}, longer "
              "than a check normally takes.",
        "zh": "您这笔 {amount} {coin}（{network}）充值已被挂起 {age}，超过了正常核查所需时间。"},
    "no_deposits": {
        "en": "I don't see that deposit on your account.",
        "zh": "您的账户中没有找到这笔充值。"},
    "pick_withdrawal": {
        "en": "Which withdrawal do you mean? Reply with its number:\n{choices}",
        "zh": "请问是哪一笔提币？请回复序号：\n{choices}"},
    "no_withdrawals": {
        "en": "I don't see any withdrawal on your account in the last 30 days. If you made one "
              "from another account, please sign in with that account.",
        "zh": "您的账户近 30 天没有提币记录。如果是其他账户发起的提币，请登录该账户后再咨询。"},
    "pending_review": {
        "en": "Your withdrawal of {amount} {coin} ({network}) is pending review, since {ago}. "
              "Our risk team checks some withdrawals, for example to a new address or after a "
              "new-device login; a review usually takes under 2 hours and never more than 24. "
              "You can still cancel it at this stage. Withdrawals are also locked for 24 hours "
              "after a security change (password, 2FA, phone or email): the form refuses them "
              "until then.",
        "zh": "您这笔 {amount} {coin}（{network}）提币自{ago}起处于审核中。部分提币需要风控审核，"
              "例如提到"
              "新地址或在新设备登录之后；审核通常不超过 2 小时，最长 24 小时。此阶段您仍"
              "可取消该提"
              "币。"
              "另外，修改密码、二次验证、手机或邮箱等安全设置后，提币会被锁定 24 小时。"},
    "processing": {
        "en": "Your withdrawal of {amount} {coin} ({network}) was approved {ago} and is being "
              "signed and queued for our wallet; most leave within 30 minutes.",
        "zh": "您这笔 {amount} {coin}（{network}）提币已于{ago}通过审核，正在签名并排队发出，"
              "通常 30 分钟内完成。"},
    "broadcast": {
        "en": "Your withdrawal of {amount} {coin} ({network}) has been sent to the network. "
              "Transaction ID: {txid}. Confirmations are now counted by the blockchain and the "
              "receiving platform credits it once it has enough.",
        "zh": "您这笔 {amount} {coin}（{network}）提币已广播到链上，交易哈希：{txid}。现在由区块"
              "链计算"
              "确认数，达到接收方要求后即会入账。"},
    "completed": {
        "en": "Your withdrawal of {amount} {coin} ({network}) is completed on chain. Transaction "
              "ID: {txid}. If the receiving wallet does not show it, give this txid to the "
              "receiving platform: crediting is up to them now.",
        "zh": "您这笔 {amount} {coin}（{network}）提币已在链上完成，交易哈希：{txid}。如果收款方"
              "尚未显示，"
              "请将此交易哈希提供给收款平台，由对方为您入账。"},
    "failed_withdrawal": {
        "en": "Your withdrawal of {amount} {coin} ({network}) was {status}: nothing was sent, "
              "and the amount and the fee are back in your balance.",
        "zh": "您这笔 {amount} {coin}（{network}）提币已{status}：资产没有发出，数量和手续费已退"
              "回您的"
              "账户余额。"},
    "review_overdue": {
        "en": "Your withdrawal of {amount} {coin} ({network}) has been in review for {age}, "
              "longer than our 24-hour limit.",
        "zh": "您这笔 {amount} {coin}（{network}）提币已审核 {age}，超过了 24 小时的时限。"},
    "processing_overdue": {
        "en": "Your withdrawal of {amount} {coin} ({network}) has been processing for {age}, "
              "longer than it should.",
        "zh": "您这笔 {amount} {coin}（{network}）提币已处理 {age}，超出正常时间。"},
    "account_review": {
        "en": "Withdrawals on your account need a check by our team.",
        "zh": "您账户的提币需要客服团队核查。"},
    "unavailable": {
        "en": "I can't reach our account system right now.",
        "zh": "暂时无法查询账户系统。"},
    "two_factor": {
        "en": "If you saved the 16-character backup key when you set up 2FA, you can restore "
              "your codes yourself: add it to an authenticator app on your new phone (no reset, "
              "no withdrawal lock). Otherwise, verify your identity through this secure link "
              "(ID document and a short selfie video): {url}\nMost resets are approved within "
              "1 hour; withdrawals are then locked for 24 hours. Never type 2FA or SMS codes in "
              "this chat: nobody at support needs them.",
        "zh": "如果您在设置二次验证时保存了 16 位备份密钥，可以自行恢复：在新手机的身份验证器中添"
              "加该"
              "密钥即可（无需重置，也不会锁定提币）。否则，请通过以下安全链接完成身份核验"
              "（证件照片"
              "和"
              "简短的自拍视频）：{url}\n大部分重置会在 1 小时内通过，之后提币将锁定 24 小"
              "时。请勿在"
              "聊天中发送任何验证码或短信码，客服绝不需要这些信息。"},
}
_STATUS_WORDS = {"en": {"failed": "failed", "cancelled": "cancelled"},
                 "zh": {"failed": "失败", "cancelled": "取消"}}


def _say(key: str, lang: str, **fields: object) -> str:
    return localized(_T[key], lang, **fields)


def _amount(value: Decimal) -> str:
    """``2300.00`` → ``2300``, ``1E-8`` → ``0.00000001``: as a person writes an amount."""
    return format(value.normalize(), "f")


def _duration(delta: timedelta, lang: str) -> str:
    minutes = max(1, round(delta.total_seconds() / 60))
    if minutes < 90:
        return f"{minutes} 分钟" if lang == "zh" else f"{minutes} min"
    hours = minutes / 60
    if hours < 48:
        return f"{hours:.0f} 小时" if lang == "zh" else f"{hours:.0f} h"
    return f"{hours / 24:.0f} 天" if lang == "zh" else f"{hours / 24:.0f} days"


def _ago(when: datetime, ctx: FlowContext) -> str:
    span = _duration(ctx.now - when, ctx.lang)
    return f"{span}前" if ctx.lang == "zh" else f"{span} ago"


def _notice_lines(ctx: FlowContext, network: str, direction: str) -> list[str]:
    """Status-page lines for this network and direction ("TRC20 withdrawals delayed")."""
    wanted = canonical_network(network)
    return [localized({"en": "Current status: {t}", "zh": "当前状态：{t}"}, ctx.lang, t=n.title)
            for n in ctx.notices
            if n.kind == "network" and n.state != "operational" and n.title
            and canonical_network(n.network) == wanted and n.direction in (None, direction)]


def _join(lang: str, *parts: str) -> str:
    return ("" if lang == "zh" else " ").join(part for part in parts if part)


# ---------------------------------------------------------------- deposit not credited


def _deposit_line(deposit: Deposit, ctx: FlowContext) -> str:
    status = {"en": {"credited": "credited", "confirming": "confirming", "pending": "pending",
                     "failed": "failed", "on_hold": "on hold"},
              "zh": {"credited": "已到账", "confirming": "确认中", "pending": "待确认",
                     "failed": "失败", "on_hold": "已挂起"}}[ctx.lang][deposit.status]
    if deposit.status == "confirming":
        status += f" {deposit.confirmations}/{deposit.required_confirmations}"
    return (f"{_amount(deposit.amount)} {deposit.coin} ({deposit.network}) — {status} — "
            f"{_ago(deposit.created_at, ctx)}")


def _deposit_record(deposit: Deposit) -> dict[str, str]:
    return {"deposit": (
        f"{_amount(deposit.amount)} {deposit.coin} {deposit.network} txid {deposit.txid or '–'} "
        f"status {deposit.status} {deposit.confirmations}/{deposit.required_confirmations} "
        f"memo {deposit.memo or '–'} at {deposit.created_at.isoformat()} id {deposit.id}")}


async def _deposit_step(state: FlowState, ctx: FlowContext) -> FlowReply:
    assert ctx.adapter is not None
    assert ctx.external_id is not None
    slots = state.slots
    try:
        if slots.get("txid") and slots.get("looked_up") != slots["txid"]:
            slots["looked_up"] = slots["txid"]
            found = await ctx.adapter.find_deposit(ctx.external_id, txid=str(slots["txid"]))
            if found is None:
                return _deposit_not_found(state, ctx)
            return explain_deposit(found, ctx, stated_network=slots.get("network"))
        if slots.get("chosen"):
            context = await ctx.adapter.customer_context(ctx.external_id)
            chosen = next((d for d in context.deposits if d.id == slots["chosen"]), None)
            if chosen is not None:
                return explain_deposit(chosen, ctx, stated_network=slots.get("network"))
        if state.step == "start":
            context = await ctx.adapter.customer_context(ctx.external_id)
            return _offer_deposits(state, context, ctx)
    except (ExchangeUnavailable, CustomerNotFound) as exc:
        return _unavailable(state, ctx, exc)
    declined = int(slots.get("declined", 0))
    if declined >= 2 or (state.step == "ask_txid" and declined):
        return FlowReply("handoff", _say("no_deposits", ctx.lang), None,
                         article="deposit-not-credited",
                         detail="deposit not found: the customer has no txid and it is not "
                                "among the recent deposits")
    return _ask_txid(state, ctx)


def _offer_deposits(state: FlowState, context: CustomerContext, ctx: FlowContext) -> FlowReply:
    """Numbered recent deposits, the ones not credited (and of the coin/network named) first."""
    slots = state.slots
    recent = [d for d in context.deposits if ctx.now - d.created_at <= RECENT]
    wanted_network = canonical_network(slots["network"]) if slots.get("network") else None

    def rank(deposit: Deposit) -> tuple[int, int, float]:
        matches = ((slots.get("coin") in (None, deposit.coin))
                   and wanted_network in (None, canonical_network(deposit.network)))
        return (deposit.status == "credited", not matches, -deposit.created_at.timestamp())

    choices = sorted(recent, key=rank)[:MAX_CHOICES]
    if not choices:
        return _ask_txid(state, ctx)
    lines = "\n".join(f"{i}. {_deposit_line(d, ctx)}" for i, d in enumerate(choices, 1))
    slots["choices"] = [d.id for d in choices]
    return FlowReply("ask", _say("pick_deposit", ctx.lang, choices=lines),
                     FlowState(state.name, "choose", slots), article="deposit-not-credited")


def _ask_txid(state: FlowState, ctx: FlowContext) -> FlowReply:
    slots = state.slots
    missing = "" if slots.get("coin") and slots.get("network") else _say("ask_coin_network",
                                                                         ctx.lang)
    slots.pop("choices", None)
    return FlowReply("ask", _say("ask_txid", ctx.lang, coin_network=missing),
                     FlowState(state.name, "ask_txid", slots), article="deposit-not-credited")


def _deposit_not_found(state: FlowState, ctx: FlowContext) -> FlowReply:
    """Not on this account: a txid of another chain than the named network is the wrong-network
    case (recovery is manual); otherwise the explorer check, and an agent takes it."""
    slots = state.slots
    stated, chain = slots.get("network"), slots.get("txid_chain")
    lookup = {"lookup": f"no deposit with txid {slots.get('txid')} on this account"}
    if stated and chain and _NETWORK_CHAINS.get(canonical_network(stated)) not in (None, chain):
        text = _say("wrong_network", ctx.lang, chain=chain, stated=stated)
        return FlowReply("handoff", text, None, article="deposit-wrong-network", lookup=lookup,
                         detail=f"wrong network suspected: {chain} txid, customer said {stated}")
    return FlowReply("handoff", _say("not_found", ctx.lang), None,
                     article="deposit-not-credited", lookup=lookup,
                     detail="deposit not found on the account by txid")


def explain_deposit(deposit: Deposit, ctx: FlowContext, *,
                    stated_network: str | None = None) -> FlowReply:
    """The deposit's state in words, ending the flow: an answer, or a hand-off when only staff
    can move it (missing memo, stuck, held too long)."""
    lang = ctx.lang
    network = canonical_network(deposit.network)
    fields: dict[str, object] = {
        "amount": _amount(deposit.amount), "coin": deposit.coin, "network": deposit.network,
        "confirmations": deposit.confirmations, "required": deposit.required_confirmations,
        "ago": _ago(deposit.created_at, ctx), "age": _duration(ctx.now - deposit.created_at, lang),
    }
    prefix = ""
    if stated_network and canonical_network(stated_network) != network:
        prefix = _say("other_network", lang, actual=deposit.network, stated=stated_network)
    notices = _notice_lines(ctx, deposit.network, "deposit")
    record = _deposit_record(deposit)
    age = ctx.now - deposit.created_at
    minimum = MINIMUM_DEPOSITS.get(deposit.coin)
    kind: ReplyKind = "answer"
    detail = ""
    if deposit.status == "credited":
        key, article = "credited", "deposit-not-credited"
    elif minimum is not None and deposit.amount < minimum:
        key, article = "below_minimum", "deposit-below-minimum"
        fields["minimum"] = _amount(minimum)
    elif deposit.status == "on_hold" and network in _MEMO_NETWORKS and not deposit.memo:
        key, article, kind = "missing_memo", "deposit-missing-memo-tag", "handoff"
        detail = "deposit on hold without memo/tag: credit manually after verification"
    elif deposit.status == "on_hold":
        key, article = "on_hold", "deposit-not-credited"
        if age > ON_HOLD_SLA:
            key, kind, detail = "hold_too_long", "handoff", "deposit on hold for over 24 h"
    elif deposit.status == "failed":
        key, article = "failed", "deposit-not-credited"
    elif deposit.confirmations >= deposit.required_confirmations > 0 and age > STUCK_AFTER:
        key, article, kind = "stuck", "deposit-not-credited", "handoff"
        detail = "all confirmations but not credited for over 1 h"
    elif deposit.status == "confirming":
        key, article = "confirming", "deposit-confirmations-by-network"
        remaining = deposit.required_confirmations - deposit.confirmations
        fields["eta"] = _duration(timedelta(seconds=remaining * _BLOCK_SECONDS.get(network, 60)),
                                  lang)
    elif age > STUCK_AFTER:
        key, article = "pending_slow", "deposit-confirmations-by-network"
    else:
        key, article = "pending", "deposit-confirmations-by-network"
    text = _join(lang, prefix, _say(key, lang, **fields), *notices)
    return FlowReply(kind, text, None, article=article, lookup=record, detail=detail)


def _unavailable(state: FlowState, ctx: FlowContext, exc: Exception) -> FlowReply:
    return FlowReply("handoff", _say("unavailable", ctx.lang), None,
                     detail=f"exchange lookup failed ({type(exc).__name__}) in {state.name}")


# ---------------------------------------------------------------- withdrawal pending

_OPEN_WITHDRAWALS = ("pending_review", "processing", "broadcast")


def _withdrawal_line(withdrawal: Withdrawal, ctx: FlowContext) -> str:
    status = {"en": {"pending_review": "pending review", "processing": "processing",
                     "broadcast": "broadcast", "completed": "completed", "failed": "failed",
                     "cancelled": "cancelled"},
              "zh": {"pending_review": "审核中", "processing": "处理中", "broadcast": "已广播",
                     "completed": "已完成", "failed": "失败", "cancelled": "已取消"}}
    return (f"{_amount(withdrawal.amount)} {withdrawal.coin} ({withdrawal.network}) — "
            f"{status[ctx.lang][withdrawal.status]} — {_ago(withdrawal.created_at, ctx)}")


async def _withdrawal_step(state: FlowState, ctx: FlowContext) -> FlowReply:
    assert ctx.adapter is not None
    assert ctx.external_id is not None
    try:
        context = await ctx.adapter.customer_context(ctx.external_id)
    except (ExchangeUnavailable, CustomerNotFound) as exc:
        return _unavailable(state, ctx, exc)
    if "under_investigation" in context.flags or "withdrawals_frozen" in context.flags:
        # Compliance: the customer must not learn of an investigation; an agent decides.
        flags = ", ".join(f for f in context.flags if f in ("under_investigation",
                                                            "withdrawals_frozen"))
        return FlowReply("handoff", _say("account_review", ctx.lang), None,
                         detail=f"account flags: {flags}")
    slots = state.slots
    recent = [w for w in context.withdrawals if ctx.now - w.created_at <= RECENT]
    chosen = next((w for w in recent if w.id == slots.get("chosen")), None)
    if chosen is None:
        chosen = _matching_withdrawal(recent, slots)
    if chosen is not None:
        return explain_withdrawal(chosen, ctx)
    if not recent or (state.step == "choose" and slots.get("declined")):
        return FlowReply("answer", _say("no_withdrawals", ctx.lang), None,
                         article="withdrawal-pending")
    candidates = [w for w in recent if w.status in _OPEN_WITHDRAWALS] or recent
    if len(candidates) == 1:
        return explain_withdrawal(candidates[0], ctx)
    choices = candidates[:MAX_CHOICES]
    slots["choices"] = [w.id for w in choices]
    lines = "\n".join(f"{i}. {_withdrawal_line(w, ctx)}" for i, w in enumerate(choices, 1))
    return FlowReply("ask", _say("pick_withdrawal", ctx.lang, choices=lines),
                     FlowState(state.name, "choose", slots), article="withdrawal-pending")


def _matching_withdrawal(recent: Sequence[Withdrawal], slots: dict[str, Any]) -> Withdrawal | None:
    """The one withdrawal the customer's facts point at: its txid, or a unique coin/amount."""
    if slots.get("txid"):
        wanted = normalize_txid(str(slots["txid"]))
        for withdrawal in recent:
            if withdrawal.txid and normalize_txid(withdrawal.txid) == wanted:
                return withdrawal
    matches = [w for w in recent
               if (not slots.get("coin") or w.coin == slots["coin"])
               and (not slots.get("amount") or w.amount == Decimal(str(slots["amount"])))]
    if (slots.get("coin") or slots.get("amount")) and len(matches) == 1:
        return matches[0]
    return None


def explain_withdrawal(withdrawal: Withdrawal, ctx: FlowContext) -> FlowReply:
    """The withdrawal's status in words; past its SLA, a hand-off with the record."""
    lang = ctx.lang
    age = ctx.now - withdrawal.created_at
    fields: dict[str, object] = {
        "amount": _amount(withdrawal.amount), "coin": withdrawal.coin,
        "network": withdrawal.network, "txid": withdrawal.txid or "–",
        "ago": _ago(withdrawal.created_at, ctx), "age": _duration(age, lang),
        "status": _STATUS_WORDS[lang].get(withdrawal.status, withdrawal.status),
    }
    record = {"withdrawal": (
        f"{_amount(withdrawal.amount)} {withdrawal.coin} {withdrawal.network} status "
        f"{withdrawal.status} txid {withdrawal.txid or '–'} at {withdrawal.created_at.isoformat()}"
        f" id {withdrawal.id}")}
    kind: ReplyKind = "answer"
    detail = ""
    article = "withdrawal-pending"
    if withdrawal.status == "pending_review":
        key = "pending_review"
        if age > REVIEW_SLA:
            key, kind, detail = "review_overdue", "handoff", "withdrawal in review over 24 h"
    elif withdrawal.status == "processing":
        key = "processing"
        if age > PROCESSING_SLA:
            key, kind, detail = "processing_overdue", "handoff", "withdrawal processing over 1 h"
    elif withdrawal.status == "broadcast":
        key = "broadcast"
    elif withdrawal.status == "completed":
        key, article = "completed", "withdrawal-not-received"
    else:
        key = "failed_withdrawal"
    notices = _notice_lines(ctx, withdrawal.network, "withdrawal")
    text = _join(lang, _say(key, lang, **fields), *notices)
    return FlowReply(kind, text, None, article=article, lookup=record, detail=detail)


# ---------------------------------------------------------------- KYC application


async def _kyc_step(ctx: FlowContext) -> FlowReply | None:
    """One step: the application's state, or None (no application, an approved one, or a back
    office that does not send it) so the help center answers the question."""
    assert ctx.adapter is not None
    assert ctx.external_id is not None
    try:
        context = await ctx.adapter.customer_context(ctx.external_id)
    except (ExchangeUnavailable, CustomerNotFound):
        return None  # the article answers "how long / why" well enough without the record
    review = context.kyc_review
    if review is None or review.status == "approved":
        return None
    return explain_kyc_review(review, ctx)


def explain_kyc_review(review: KycReview, ctx: FlowContext) -> FlowReply:
    """A pending, rejected or resubmission-required application in words, with the reasons the
    back office recorded and nothing else; past the 48-hour review limit, or with a reason Kefu
    cannot explain, a hand-off with the record."""
    lang = ctx.lang
    fields: dict[str, object] = {
        "level": review.level_requested, "ago": _ago(review.submitted_at, ctx),
        "waited": _duration(ctx.now - review.submitted_at, lang)}
    record = {"kyc_review": (
        f"level {review.level_requested} status {review.status} submitted "
        f"{review.submitted_at.isoformat()} reviewed "
        f"{review.reviewed_at.isoformat() if review.reviewed_at else '–'} reasons "
        f"{', '.join(review.reasons) or '–'}")}
    if review.status == "pending":
        if ctx.now - review.submitted_at > KYC_REVIEW_SLA:
            return FlowReply("handoff", kyc.say("pending_overdue", lang, **fields), None,
                             article="kyc-review-time", lookup=record,
                             detail="KYC application under review for over 48 h")
        return FlowReply("answer", kyc.say("pending", lang, **fields), None,
                         article="kyc-review-time", lookup=record)
    if review.reviewed_at is not None:
        fields["ago"] = _ago(review.reviewed_at, ctx)
    reasons = kyc.reason_lines(review.reasons, lang)
    if reasons is None:
        unexplained = ("rejected_unexplained" if review.status == "rejected"
                       else "resubmission_unexplained")
        return FlowReply("handoff", kyc.say(unexplained, lang, **fields), None,
                         article="kyc-rejected-documents", lookup=record,
                         detail=f"KYC {review.status}: reasons Kefu cannot explain "
                                f"({', '.join(review.reasons) or 'none given'})")
    if review.status == "resubmission_required":
        return FlowReply("answer", kyc.say("resubmission_required", lang, reasons=reasons,
                                           **fields), None,
                         article="kyc-review-time", lookup=record)
    text = kyc.say("rejected", lang, reasons=reasons, **fields)
    if not set(review.reasons) <= kyc.UNFIXABLE:
        text += "\n" + kyc.say("resubmit", lang)
    return FlowReply("answer", text, None, article="kyc-rejected-documents", lookup=record)


# ---------------------------------------------------------------- 2FA reset


async def _two_factor_reset(ctx: FlowContext) -> FlowReply:
    """Explain and send the step-up link; it never asks for a code. Without a step-up service
    (or for a visitor) an agent sends the link."""
    if ctx.step_up is None or ctx.external_id is None:
        return FlowReply("handoff", "", None, article="reset-two-factor-authentication",
                         detail="2FA reset: identity verification link needed",
                         reason="step_up_required")
    try:
        url = await ctx.step_up(ctx.external_id, "2fa_reset")
    except KefuError as exc:  # not configured, or this customer cannot sign in (visitor)
        return FlowReply("handoff", "", None, article="reset-two-factor-authentication",
                         detail=f"2FA reset: step-up link failed ({exc.code})",
                         reason="step_up_required")
    return FlowReply("answer", _say("two_factor", ctx.lang, url=url), None,
                     article="reset-two-factor-authentication")
