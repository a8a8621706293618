"""The demo's data agrees with the demo help center, which is the source of truth for facts.

Each test reads a table or list out of an article (``kefu/demo/kb``) and holds the demo exchange
(through what it generates), the seeder's tables or the scripted conversations to it, so neither
side can drift without a failing test. A reworded article fails the parsing loudly rather than
passing with nothing checked."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path

import pytest

from kefu.assistant.flows import MINIMUM_DEPOSITS
from kefu.demo import content, seed
from kefu.exchange.demo import DemoExchangeAdapter
from kefu.exchange.schemas import CustomerContext
from kefu.search.corpus import parse_article

KB = Path(seed.__file__).parent / "kb"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
IDS = [f"consistency-{n}" for n in range(400)] + [f"vip{t}-consistency-{n}" for t in range(5, 10)
                                                    for n in range(5)]
# How each article names the demo exchange's networks (the words that identify a bullet).
NETWORK_WORDS = {"Bitcoin": "Bitcoin", "ERC20": "ERC20", "BEP20": "BEP20", "TRC20": "TRC20",
                 "Solana": "Solana", "TON": "TON", "XRP Ledger": "XRP"}


@cache
def article(category: str, slug: str) -> str:
    path = KB / category / f"{slug}.en.md"
    return parse_article(path, path.read_text(encoding="utf-8")).body


def section(body: str, heading: str) -> str:
    """The text under ``## heading``, up to the next ``##``."""
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", body, re.M | re.S)
    assert match, f"no section {heading!r}"
    return match.group(1)


def bullets(text: str) -> Iterator[str]:
    """Top-level list items, each joined onto one line."""
    for item in re.findall(r"^- (.*?)(?=^- |^\S|\Z)", text, re.M | re.S):
        yield " ".join(item.split())


def amount(text: str) -> Decimal:
    return Decimal(text.replace(",", ""))


@pytest.fixture(scope="module")
def contexts() -> list[CustomerContext]:
    demo = DemoExchangeAdapter(clock=lambda: NOW)
    return [demo.generate(external_id) for external_id in IDS]


# ---------------------------------------------------------------- the articles, parsed


def required_confirmations() -> dict[str, int]:
    """deposit-confirmations-by-network: the first bold number of the one bullet naming each
    network ("**TRC20 (Tron)**: **20** confirmations" -> 20)."""
    items = list(bullets(section(article("deposits", "deposit-confirmations-by-network"),
                                 "Confirmations and typical times")))
    required = {}
    for network, word in NETWORK_WORDS.items():
        named = [item for item in items
                 if re.search(rf"\b{word}\b", item.split(":", 1)[0])]
        assert len(named) == 1, (network, named)
        number = re.search(r"\*\*(\d[\d,]*)", named[0].split(":", 1)[1])
        assert number, named[0]
        required[network] = int(amount(number.group(1)))
    return required


def withdrawal_fees() -> dict[tuple[str, str | None], tuple[Decimal, Decimal]]:
    """withdrawal-fees, "Current fees": (coin, network or None for the coin's own chain) ->
    (lowest, highest) fee; a flat fee is both, a dynamic one the stated typical range."""
    fees: dict[tuple[str, str | None], tuple[Decimal, Decimal]] = {}
    text = section(article("withdrawals", "withdrawal-fees"), "Current fees")
    for item in bullets(text):
        dynamic = re.fullmatch(
            r"\*\*(\w+) on (\w+)\*\*: dynamic.*\*\*([\d.]+) to ([\d.]+) (\w+)\*\*", item)
        if dynamic:
            coin, network, low, high, unit = dynamic.groups()
            assert unit == coin
            fees[coin, network] = (amount(low), amount(high))
            continue
        for label, value, unit in re.findall(r"\*\*([^*]+)\*\*(?: \([^)]*\))?: ([\d.]+) (\w+)",
                                             item):
            coin, _, network = label.partition(" on ")
            assert unit == coin, item
            fees[coin, network or None] = (amount(value), amount(value))
    assert len(fees) >= 10, fees
    return fees


def withdrawal_minimums() -> dict[tuple[str, str | None], Decimal]:
    """withdrawal-limits: "minimums ... for example 10 USDT on TRC20, BEP20, Solana and TON, 20
    USDT on ERC20, and 0.001 BTC"."""
    body = " ".join(article("withdrawals", "withdrawal-limits").split())
    match = re.search(r"minimums per withdrawal also apply: for example ([^.]+(?:\.\d+[^.]*)*)\.",
                      body)
    assert match, "no withdrawal minimums sentence"
    minimums: dict[tuple[str, str | None], Decimal] = {}
    for part in re.split(r",\s*(?:and\s+)?(?=\d)", match.group(1)):
        stated = re.fullmatch(r"([\d.]+) (\w+)(?: on (.+))?", part.strip())
        assert stated, part
        value, coin, networks = stated.groups()
        for network in re.split(r", | and ", networks) if networks else [None]:
            minimums[coin, network] = amount(value)
    return minimums


def deposit_minimums() -> dict[str, Decimal]:
    """deposit-below-minimum, "Current minimums": "**USDT**: 1 USDT on every network"."""
    text = section(article("deposits", "deposit-below-minimum"), "Current minimums")
    minimums = {coin: amount(value)
                for coin, value, unit in re.findall(r"^- \*\*(\w+)\*\*: ([\d.]+) (\w+)", text, re.M)
                if unit == coin}
    assert minimums, "no minimum deposits listed"
    return minimums


def vip_volume_thresholds() -> list[Decimal]:
    """vip-tiers table: the 30-day volume from which each level starts (VIP 0 from nothing)."""
    thresholds = []
    for level, volume in re.findall(r"^\| VIP (\d) \| ([^|]+) \|",
                                    article("fees-vip", "vip-tiers"), re.M):
        assert int(level) == len(thresholds)
        thresholds.append(Decimal(0) if volume.strip().startswith("below")
                          else amount(volume.strip().removeprefix("≥ ")))
    assert len(thresholds) == 10
    return thresholds


def kyc_withdrawal_limits() -> list[str]:
    """kyc-levels-and-limits: "Withdrawal limit: **20,000 USDT per 24 hours**", per level."""
    return re.findall(r"Withdrawal limit: \*\*([\d,]+ USDT) per 24 hours\*\*",
                      article("kyc", "kyc-levels-and-limits"))


def api_errors() -> dict[int, str]:
    """api-error-codes tables: code -> meaning."""
    return {int(code): meaning for code, meaning in re.findall(
        r"^\| (\d{5}) \| \d{3} \| ([^|]+?) \|", article("api", "api-error-codes"), re.M)}


# ---------------------------------------------------------------- the checks


def test_required_confirmations_are_the_articles(contexts: list[CustomerContext]) -> None:
    stated = required_confirmations()
    assert stated["TRC20"] == 20  # the parser reads the article, not something else
    seen: dict[str, set[int]] = {}
    for deposit in (d for c in contexts for d in c.deposits):
        seen.setdefault(deposit.network, set()).add(deposit.required_confirmations)
    assert seen.keys() == stated.keys(), "every network the exchange uses, and only those"
    assert seen == {network: {required} for network, required in stated.items()}
    assert stated == seed._CONFIRMATIONS


def test_withdrawal_fees_are_the_articles(contexts: list[CustomerContext]) -> None:
    fees = withdrawal_fees()
    assert fees["USDT", "TRC20"] == (1, 1)
    checked = set()
    for withdrawal in (w for c in contexts for w in c.withdrawals):
        key = (withdrawal.coin, withdrawal.network)
        low, high = fees.get(key) or fees[withdrawal.coin, None]
        assert low <= withdrawal.fee <= high, withdrawal
        checked.add(key)
    assert len(checked) == len(seed._FEES)
    for (coin, network), fee in seed._FEES.items():
        low, high = fees.get((coin, network)) or fees[coin, None]
        assert low <= Decimal(fee) <= high, (coin, network, fee)


def test_withdrawals_respect_the_stated_minimums(contexts: list[CustomerContext]) -> None:
    minimums = withdrawal_minimums()
    assert minimums["USDT", "ERC20"] == 20
    assert minimums["BTC", None] == Decimal("0.001")
    withdrawals = [w for c in contexts for w in c.withdrawals]
    for withdrawal in withdrawals:
        minimum = minimums.get((withdrawal.coin, withdrawal.network),
                               minimums.get((withdrawal.coin, None), Decimal(0)))
        assert withdrawal.amount >= minimum, withdrawal
    generated = {(w.coin, w.network) for w in withdrawals}
    assert {("USDT", "TRC20"), ("USDT", "ERC20"), ("BTC", "Bitcoin")} <= generated


def test_deposits_respect_the_stated_minimums(contexts: list[CustomerContext]) -> None:
    """The demo exchange has no "below minimum" state, so it must never make such a deposit;
    the assistant's table (which decides "below the minimum") is the article's."""
    minimums = deposit_minimums()
    assert minimums == {"USDT": 1, "BTC": Decimal("0.0001")}
    deposits = [d for c in contexts for d in c.deposits]
    assert {d.coin for d in deposits} >= minimums.keys()
    assert all(d.amount >= minimums.get(d.coin, Decimal(0)) for d in deposits)
    assert {coin: MINIMUM_DEPOSITS[coin] for coin in minimums} == minimums


def test_vip_volumes_fall_in_the_tier_the_article_gives(contexts: list[CustomerContext]) -> None:
    thresholds = vip_volume_thresholds()
    assert thresholds[1] == 1_000_000
    for context in contexts:
        tier = context.vip_tier
        assert context.thirty_day_volume_usdt >= thresholds[tier], context.external_id
        if tier < 9:
            assert context.thirty_day_volume_usdt < thresholds[tier + 1], context.external_id
    assert {c.vip_tier for c in contexts} == set(range(10))


def test_kyc_levels_and_the_withdrawal_limit_script(contexts: list[CustomerContext]) -> None:
    levels = re.findall(r"^\*\*Level (\d):", article("kyc", "kyc-levels-and-limits"), re.M)
    assert {c.kyc_level for c in contexts} == {int(level) for level in levels} == {0, 1, 2}
    limits = kyc_withdrawal_limits()
    assert limits == ["20,000 USDT", "2,000,000 USDT"]
    scripts = [s for s in content.SCRIPTS if s.key == "withdrawal_limit"]
    assert {s.language for s in scripts} >= {"en", "zh"}
    for script in scripts:
        said = " ".join(step.text for step in script.steps if step.kind == "agent")
        assert all(limit in said for limit in limits), script.language
        assert "BTC" not in said, script.language


def test_scripts_quote_api_errors_as_the_article_lists_them() -> None:
    errors = api_errors()
    assert errors[10001] == "Invalid signature"
    quoted = 0
    for script in content.SCRIPTS:
        texts = [script.subject, script.opening, *(step.text for step in script.steps)]
        for text in texts:
            for code, message in re.findall(r'"code":\s*"?(\d+)"?,\s*"msg":\s*"([^"]+)"', text):
                assert errors.get(int(code)) == message, (script.key, script.language, code)
                quoted += 1
            if script.topic == "api":
                for code in re.findall(r"\b[12]\d{4}\b", text):
                    assert int(code) in errors, (script.key, script.language, code)
        if script.topic == "api":
            assert all(not re.fullmatch(r"\d+", tag) or int(tag) in errors for tag in script.tags)
    assert quoted >= 3
