"""Guided flows end to end against the demo exchange adapter (fixed clock, so the generated
customers are the same every run): every deposit state is explained, withdrawals by status,
2FA reset without ever asking for a code."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from kefu.assistant import kyc
from kefu.assistant.facts import extract_facts
from kefu.assistant.flows import (
    FlowContext,
    FlowState,
    canonical_network,
    continue_flow,
    explain_deposit,
    explain_kyc_review,
    explain_withdrawal,
    parse_choice,
    start_flow,
)
from kefu.assistant.pipeline import AssistantCustomer, ConversationState
from kefu.exchange.demo import DemoExchangeAdapter
from kefu.exchange.schemas import KYC_REASONS, Deposit, KycReview, Withdrawal
from kefu.guard.outbound import check_outbound
from kefu.kb.status import StatusNotice
from tests.assistant.test_pipeline import NOW, make_assistant

DEMO = DemoExchangeAdapter(clock=lambda: NOW)
ROOT = Path(__file__).resolve().parents[2]


def deposit(external_id: str, status: str, network: str | None = None) -> Deposit:
    return next(d for d in DEMO.generate(external_id).deposits
                if d.status == status and network in (None, d.network))


def withdrawal(external_id: str, status: str) -> Withdrawal:
    return next(w for w in DEMO.generate(external_id).withdrawals if w.status == status)


def context(external_id: str | None = "flow-2", lang: str = "en", **kwargs: object) -> FlowContext:
    return FlowContext(DEMO, external_id, lang, NOW, **kwargs)  # type: ignore[arg-type]


# ---------------------------------------------------------------- deposit not credited


@pytest.mark.parametrize(("external_id", "status", "network", "kind", "expected"), [
    ("flow-2", "confirming", "TRC20", "answer", "13 of 20 confirmations so far, about 1 min"),
    ("flow-0", "credited", "ERC20", "answer", "was credited 7 days ago"),
    ("flow-1", "failed", "TRC20", "answer", "failed on the blockchain"),
    ("flow-112", "pending", "Bitcoin", "answer", "Only the sender can speed it up (RBF"),
    ("flow-10", "pending", "ERC20", "answer", "waiting for its first confirmation (64 needed)"),
    ("flow-24", "on_hold", "TON", "handoff", "without the memo/tag"),
    ("flow-5", "on_hold", "ERC20", "handoff", "has been on hold for 7 days"),
])
async def test_deposit_looked_up_by_txid_is_explained(
        external_id: str, status: str, network: str, kind: str, expected: str) -> None:
    found = deposit(external_id, status, network)
    state = ConversationState()
    turn = await make_assistant().respond(
        state, f"my deposit has not arrived yet, txid {found.txid}",
        customer=AssistantCustomer(external_id))
    assert turn.intent == "deposit_not_credited"
    assert turn.kind == kind
    assert expected in turn.text
    assert turn.generated_by == "flow" or turn.kind == "handoff"
    if kind == "handoff":
        assert turn.handoff is not None
        assert turn.handoff.reason == "flow_needs_agent"
        assert found.id in turn.handoff.extra["deposit"]
        assert found.txid is not None
        assert found.txid in turn.handoff.note("en")
    else:
        assert state.flow is None
        assert "/help/en/articles/" in turn.text


async def test_unhelpful_flow_explanation_asks_to_rephrase_first() -> None:
    assistant = make_assistant()
    state = ConversationState()
    customer = AssistantCustomer("flow-0")
    txid = deposit("flow-0", "credited", "ERC20").txid
    await assistant.respond(state, f"deposit not credited, txid {txid}", customer=customer)
    turn = await assistant.respond(state, "that didn't help", customer=customer)
    assert turn.kind == "ask"
    assert "describe the problem in other words" in turn.text
    assert state.unhelpful_count == 1
    assert state.mode == "active"


async def test_customer_picks_from_recent_deposits_in_chinese() -> None:
    assistant = make_assistant()
    state = ConversationState()
    customer = AssistantCustomer("flow-2")
    ask = await assistant.respond(state, "我充值的USDT还没到账", customer=customer)
    assert ask.kind == "ask"
    assert ask.language == "zh"
    assert "1. 874.24 USDT (TRC20) — 确认中 13/20" in ask.text
    assert state.flow is not None
    assert state.flow.step == "choose"
    answer = await assistant.respond(state, "1", customer=customer)
    assert answer.kind == "answer"
    assert "13/20 个确认" in answer.text
    assert state.flow is None


async def test_deposit_not_in_the_list_asks_for_the_txid_then_hands_off() -> None:
    assistant = make_assistant()
    state = ConversationState()
    customer = AssistantCustomer("flow-2")
    await assistant.respond(state, "my USDT deposit has not arrived", customer=customer)
    ask = await assistant.respond(state, "none of these", customer=customer)
    assert ask.kind == "ask"
    assert "transaction ID" in ask.text
    missing = "ab" * 32
    handoff = await assistant.respond(state, f"here it is {missing}", customer=customer)
    assert handoff.kind == "handoff"
    assert handoff.handoff is not None
    assert "deposit not found" in handoff.handoff.detail
    assert missing in handoff.handoff.note("zh")


async def test_txid_of_another_chain_than_the_named_network_is_the_wrong_network_case() -> None:
    evm_txid = "0x" + "c4" * 32
    reply = await start_flow("deposit_not_credited", context("flow-2"),
                             extract_facts(f"sent USDT on TRC20, txid {evm_txid}"))
    assert reply is not None
    assert reply.kind == "handoff"
    assert reply.article == "deposit-wrong-network"
    assert "looks like a EVM transaction" in reply.text


def test_deposit_on_another_network_than_the_customer_said() -> None:
    found = deposit("flow-2", "confirming", "TRC20")
    reply = explain_deposit(found, context(), stated_network="BEP20")
    assert reply.text.startswith("Note: this deposit arrived on TRC20, not on BEP20.")


def test_below_minimum_deposit_is_explained_with_the_way_to_get_it_credited() -> None:
    small = deposit("flow-2", "confirming", "TRC20").model_copy(
        update={"amount": Decimal("0.5"), "status": "on_hold",
                "confirmations": 20})
    reply = explain_deposit(small, context())
    assert reply.kind == "answer"
    assert reply.article == "deposit-below-minimum"
    assert "below the minimum deposit of 1 USDT" in reply.text


def test_confirmed_but_uncredited_deposit_is_stuck_and_goes_to_an_agent() -> None:
    stuck = deposit("flow-2", "confirming", "TRC20").model_copy(
        update={"confirmations": 40, "created_at": NOW - timedelta(hours=3)})
    reply = explain_deposit(stuck, context())
    assert reply.kind == "handoff"
    assert "all its confirmations (40/20)" in reply.text
    assert "not credited for over 1 h" in reply.detail


def test_network_delay_on_the_status_page_is_mentioned() -> None:
    notice = StatusNotice(kind="network", state="delayed", coin="USDT", network="TRC20",
                          direction="deposit", title="TRC20 deposits delayed", body="",
                          starts_at=NOW, ends_at=None)
    reply = explain_deposit(deposit("flow-2", "confirming", "TRC20"),
                            context(notices=[notice]))
    assert "Current status: TRC20 deposits delayed" in reply.text  # the title says it all


def test_a_network_notice_whose_title_does_not_name_it_says_what_it_is_about() -> None:
    from kefu.assistant.answer import status_lines

    notice = StatusNotice(kind="network", state="suspended", coin="ETH", network="ERC20",
                          direction="withdrawal", title="Ethereum upgrade", body="",
                          starts_at=NOW, ends_at=None)
    assert status_lines([notice], "en") == [
        "Current status: Ethereum upgrade (ETH ERC20 withdrawals: suspended)"]
    assert status_lines([notice], "zh") == ["当前状态：Ethereum upgrade（ETH ERC20 提币：暂停）"]
    # the network's name as a word, not letters inside another ("st-op-ped" is not OP)
    op = StatusNotice(kind="network", state="suspended", coin="USDT", network="OP",
                      direction="withdrawal", title="Withdrawals stopped during an upgrade",
                      body="", starts_at=NOW, ends_at=None)
    assert status_lines([op], "en") == [
        "Current status: Withdrawals stopped during an upgrade (USDT OP withdrawals: suspended)"]


async def test_visitor_gets_the_article_instead_of_a_lookup() -> None:
    assert await start_flow("deposit_not_credited", context(None), extract_facts("x")) is None
    turn = await make_assistant().respond(ConversationState(),
                                          "my USDT deposit has not arrived",
                                          customer=AssistantCustomer(None))
    assert turn.kind == "answer"
    assert turn.citations[0].slug.startswith("deposit")


async def test_back_office_down_hands_off_with_the_reason() -> None:
    reply = await start_flow("deposit_not_credited", context("unavailable-7"),
                             extract_facts("my deposit is missing"))
    assert reply is not None
    assert reply.kind == "handoff"
    assert "ExchangeUnavailable" in reply.detail


async def test_unrelated_reply_leaves_the_flow() -> None:
    state = FlowState("deposit_not_credited", "choose", {"choices": ["a", "b"]})
    assert await continue_flow(state, context(), extract_facts("what are your fees"),
                               "what are your fees") is None


@pytest.mark.parametrize(("text", "options", "expected"), [
    ("2", 3, 2), ("#1", 3, 1), ("number 3", 3, 3), ("the second one", 3, 2),
    ("第二个", 3, 2), ("the last", 4, 4), ("7", 3, None), ("my fee is 25 USDT", 3, None),
])
def test_parse_choice(text: str, options: int, expected: int | None) -> None:
    assert parse_choice(text, options) == expected


def test_network_spellings_meet() -> None:
    assert canonical_network("Bitcoin") == canonical_network("BTC") == "BTC"
    assert canonical_network("XRP Ledger") == canonical_network("XRP")
    assert canonical_network("Solana") == canonical_network("SOL")


# ---------------------------------------------------------------- withdrawal pending


async def test_pending_withdrawals_are_offered_and_the_review_explained() -> None:
    assistant = make_assistant()
    state = ConversationState()
    customer = AssistantCustomer("flow-3")
    ask = await assistant.respond(state, "my withdrawal is still pending, why?",
                                  customer=customer)
    assert ask.kind == "ask"
    assert "pending review" in ask.text
    assert "processing" in ask.text
    pick = next(line.split(".", 1)[0] for line in ask.text.splitlines()
                if line[:1].isdigit() and "pending review" in line)
    answer = await assistant.respond(state, pick, customer=customer)
    assert answer.kind == "answer"
    assert "pending review" in answer.text
    assert "never more than 24" in answer.text
    assert "locked for 24 hours after a security change" in answer.text


async def test_single_broadcast_withdrawal_is_explained_with_its_txid() -> None:
    sent = withdrawal("flow-2", "broadcast")
    reply = await start_flow("withdrawal_pending", context("flow-2"),
                             extract_facts("where is my withdrawal"))
    assert reply is not None
    assert reply.kind == "answer"
    assert sent.txid is not None
    assert sent.txid in reply.text


@pytest.mark.parametrize(("status", "expected"), [
    ("completed", "is completed on chain"),
    ("failed", "was failed: nothing was sent"),
    ("cancelled", "was cancelled: nothing was sent"),
])
def test_finished_withdrawals_are_explained(status: str, expected: str) -> None:
    found = next(w for i in range(20) for w in DEMO.generate(f"flow-{i}").withdrawals
                 if w.status == status)
    reply = explain_withdrawal(found, context())
    assert reply.kind == "answer"
    assert expected in reply.text


def test_withdrawal_past_its_sla_goes_to_an_agent() -> None:
    slow = withdrawal("flow-3", "processing").model_copy(
        update={"created_at": NOW - timedelta(hours=3)})
    reply = explain_withdrawal(slow, context())
    assert reply.kind == "handoff"
    assert "processing over 1 h" in reply.detail
    overdue = withdrawal("flow-3", "pending_review").model_copy(
        update={"created_at": NOW - timedelta(hours=30)})
    assert explain_withdrawal(overdue, context()).kind == "handoff"


async def test_account_under_investigation_is_not_revealed() -> None:
    reply = await start_flow("withdrawal_pending", context("flow-112"),
                             extract_facts("why is my withdrawal pending"))
    assert reply is not None
    assert reply.kind == "handoff"
    assert "investigation" not in reply.text
    assert "under_investigation" in reply.detail


# ---------------------------------------------------------------- 2FA reset


def _asks_for_a_code(text: str, lang: str) -> bool:
    return "asks_code" in check_outbound(text, allowed_domains=("demoex.example",),
                                         lang=lang).codes


@pytest.mark.parametrize(("text", "lang"), [
    ("I lost my phone with google authenticator, how do I reset 2FA", "en"),
    ("谷歌验证器丢了，怎么重置二次验证", "zh"),
])
async def test_2fa_reset_without_step_up_hands_off_and_never_asks_for_a_code(
        text: str, lang: str) -> None:
    turn = await make_assistant().respond(ConversationState(), text,
                                          customer=AssistantCustomer("flow-2"))
    assert turn.intent == "2fa_reset"
    assert turn.kind == "handoff"
    assert turn.handoff is not None
    assert turn.handoff.reason == "step_up_required"
    assert not _asks_for_a_code(turn.text, lang)


async def test_2fa_reset_sends_the_step_up_link() -> None:
    issued: list[tuple[str, str]] = []

    async def step_up(external_id: str, purpose: str) -> str:
        issued.append((external_id, purpose))
        return f"https://demoex.example/verify/{external_id}-{purpose}"

    assistant = make_assistant(step_up=step_up)
    turn = await assistant.respond(ConversationState(),
                                   "I lost my google authenticator and need to reset 2FA",
                                   customer=AssistantCustomer("flow-2"))
    assert turn.kind == "answer"
    assert issued == [("flow-2", "2fa_reset")]
    assert "https://demoex.example/verify/flow-2-2fa_reset" in turn.text
    assert "Never type 2FA or SMS codes in this chat" in turn.text
    assert not check_outbound(turn.text, allowed_domains=("demoex.example",), lang="en").blocked


# ---------------------------------------------------------------- KYC application


def _article_text(slug: str, lang: str) -> str:
    """The demo article as one line of plain text (no bold markers, no line wrapping)."""
    path = ROOT / "kefu/demo/kb/kyc" / f"{slug}.{'zh-CN' if lang == 'zh' else 'en'}.md"
    return " ".join(path.read_text(encoding="utf-8").replace("**", "").split())


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_kyc_reasons_are_explained_in_the_help_centers_own_words(lang: str) -> None:
    article = _article_text("kyc-rejected-documents", lang)
    assert set(kyc.REJECTION_REASONS) == set(KYC_REASONS)
    for texts in kyc.REJECTION_REASONS.values():
        assert texts[lang].rstrip("。.") in article


@pytest.mark.parametrize(("text", "lang"), [
    ("why was my KYC rejected", "en"), ("实名认证被拒绝了", "zh")])
async def test_a_rejected_customer_gets_the_recorded_reasons_and_the_articles_steps(
        text: str, lang: str) -> None:
    """kyc-rejected-0 was rejected for an expired and a blurry document: those two are
    explained, no other reason is mentioned."""
    review = DEMO.generate("kyc-rejected-0").kyc_review
    assert review is not None
    assert review.reasons == ["document_expired", "document_blurry"]
    turn = await make_assistant().respond(ConversationState(), text,
                                          customer=AssistantCustomer("kyc-rejected-0"))
    assert (turn.kind, turn.intent, turn.flow) == ("answer", "kyc_rejected", "kyc_status")
    for code, texts in kyc.REJECTION_REASONS.items():
        assert (texts[lang] in turn.text) == (code in review.reasons), code
    assert kyc.say("resubmit", lang) in turn.text
    assert {"en": "Level 1", "zh": "Level 1"}[lang] in turn.text
    assert turn.citations[0].slug == "kyc-rejected-documents"
    assert not check_outbound(turn.text, allowed_domains=("demoex.example",), lang=lang).blocked


@pytest.mark.parametrize(("text", "lang", "expected"), [
    ("my verification is still pending", "en", "you submitted it 18 h ago"),
    ("实名认证审核要多久", "zh", "提交于18 小时前"),
])
async def test_a_pending_customer_is_told_since_when_and_the_48_hour_limit(
        text: str, lang: str, expected: str) -> None:
    turn = await make_assistant().respond(ConversationState(), text,
                                          customer=AssistantCustomer("kyc-pending-2"))
    assert (turn.kind, turn.intent, turn.flow) == ("answer", "kyc_review_time", "kyc_status")
    assert expected in turn.text
    assert "48" in turn.text
    assert turn.citations[0].slug == "kyc-review-time"
    assert not any(texts[lang] in turn.text for texts in kyc.REJECTION_REASONS.values())


async def test_a_kyc_review_past_48_hours_goes_to_an_agent_with_the_record() -> None:
    turn = await make_assistant().respond(ConversationState(), "my verification is still pending",
                                          customer=AssistantCustomer("kyc-pending-6"))
    assert turn.kind == "handoff"
    assert turn.handoff is not None
    assert turn.handoff.reason == "flow_needs_agent"
    assert "longer than our 48-hour limit" in turn.text
    assert "status pending" in turn.handoff.extra["kyc_review"]


def _review(**changes: object) -> KycReview:
    values: dict[str, object] = {
        "status": "rejected", "level_requested": 2, "submitted_at": NOW - timedelta(days=2),
        "reviewed_at": NOW - timedelta(days=1), "reasons": ["region_restricted"]}
    return KycReview.model_validate({**values, **changes})


def test_a_reason_kefu_cannot_explain_goes_to_an_agent_unexplained() -> None:
    reply = explain_kyc_review(_review(reasons=["document_blurry", "watermark_detected"]),
                               context())
    assert reply.kind == "handoff"
    assert reply.text == "Your application for verification Level 2 was rejected 24 h ago."
    assert "watermark_detected" in reply.detail
    assert explain_kyc_review(_review(reasons=[]), context()).kind == "handoff"
    more = explain_kyc_review(_review(status="resubmission_required", reasons=["new_code"]),
                              context())
    assert more.kind == "handoff"
    assert "rejected" not in more.text
    assert "Action required" in more.text


def test_an_unfixable_rejection_does_not_suggest_resubmitting() -> None:
    reply = explain_kyc_review(_review(), context())
    assert reply.kind == "answer"
    assert kyc.REJECTION_REASONS["region_restricted"]["en"] in reply.text
    assert kyc.say("resubmit", "en") not in reply.text
    more = explain_kyc_review(_review(status="resubmission_required", reasons=["document_blurry"]),
                              context(lang="zh"))
    assert (more.kind, more.article) == ("answer", "kyc-review-time")
    assert "需补充材料" in more.text
    assert kyc.REJECTION_REASONS["document_blurry"]["zh"] in more.text


async def test_no_application_or_an_approved_one_leaves_it_to_the_help_center() -> None:
    approved = next(n for n in range(50) if (r := DEMO.generate(f"cust-{n}").kyc_review)
                    is not None and r.status == "approved")
    none = next(n for n in range(50) if DEMO.generate(f"cust-{n}").kyc_review is None)
    facts = extract_facts("how long does KYC take")
    for external_id in (f"cust-{approved}", f"cust-{none}"):
        assert await start_flow("kyc_status", context(external_id), facts) is None
    assert await start_flow("kyc_status", context(None), facts) is None
