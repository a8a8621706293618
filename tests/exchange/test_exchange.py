"""The exchange adapter: demo data that looks real, and the HTTP adapter over real loopback HTTP."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import random
import re
import socket
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import pytest
import yaml
from pydantic import BaseModel, ValidationError

from kefu.config import Settings
from kefu.exchange.base import CustomerNotFound, ExchangeUnavailable
from kefu.exchange.demo import (
    _XRP_B58,
    DemoExchangeAdapter,
    _base58check,
    _segwit_v0_address,
    _ton_address,
)
from kefu.exchange.http import HttpExchangeAdapter
from kefu.exchange.schemas import (
    KYC_REASONS,
    CustomerContext,
    Deposit,
    DepositList,
    KycReview,
    Liquidation,
    Order,
    Withdrawal,
)
from kefu.exchange.service import build_exchange_adapter

from .fake_backoffice import API_KEY, NOW, FakeBackoffice, fixed_clock

SPEC = Path(__file__).resolve().parents[2] / "docs" / "exchange-api.yaml"
IDS = [f"cust-{n}" for n in range(400)]
B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
COIN_NETWORKS = {
    "BTC": {"Bitcoin"}, "ETH": {"ERC20"}, "USDT": {"TRC20", "ERC20", "BEP20", "TON"},
    "SOL": {"Solana"}, "TRX": {"TRC20"}, "XRP": {"XRP Ledger"}, "TON": {"TON"},
}
TXID = {
    "Bitcoin": r"[0-9a-f]{64}", "TRC20": r"[0-9a-f]{64}", "TON": r"[0-9a-f]{64}",
    "XRP Ledger": r"[0-9A-F]{64}", "ERC20": r"0x[0-9a-f]{64}", "BEP20": r"0x[0-9a-f]{64}",
    "Solana": rf"[{B58}]{{86,88}}",
}
REQUIRED = {"Bitcoin": 2, "ERC20": 64, "TRC20": 20}


@pytest.fixture(scope="module")
def demo_contexts() -> list[CustomerContext]:
    demo = DemoExchangeAdapter(fixed_clock)
    return [demo.generate(external_id) for external_id in IDS]


# --- independent checks of address formats (not the generator's own code) ---------------------

def b58decode_check(text: str, alphabet: str = B58) -> bytes:
    """The payload of a base58check string; empty when the checksum is wrong."""
    number = 0
    for char in text:
        number = number * 58 + alphabet.index(char)
    raw = b"\0" * (len(text) - len(text.lstrip(alphabet[0])))
    raw += number.to_bytes((number.bit_length() + 7) // 8, "big")
    payload, checksum = raw[:-4], raw[-4:]
    ok = hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4] == checksum
    return payload if ok else b""


def bech32_valid(address: str) -> bool:
    hrp, _, data = address.rpartition("1")
    values = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    values += ["qpzry9x8gf2tvdw0s3jn54khce6mua7l".index(c) for c in data]
    chk = 1
    for value in values:
        top, chk = chk >> 25, (chk & 0x1FFFFFF) << 5 ^ value
        for i, gen in enumerate([0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]):
            chk ^= gen if (top >> i) & 1 else 0
    return chk == 1


def address_ok(network: str, address: str) -> bool:
    if network == "Bitcoin" and address.startswith("bc1q"):
        return len(address) == 42 and bech32_valid(address)
    if network == "Bitcoin":
        return b58decode_check(address)[:1] in (b"\x00", b"\x05")
    if network in ("ERC20", "BEP20"):
        return re.fullmatch(r"0x[0-9a-f]{40}", address) is not None
    if network == "TRC20":
        return len(address) == 34 and b58decode_check(address)[:1] == b"\x41"
    if network == "Solana":
        return re.fullmatch(rf"[{B58}]{{32,44}}", address) is not None
    if network == "XRP Ledger":
        return address[0] == "r" and len(b58decode_check(address, _XRP_B58)) == 21
    raw = base64.urlsafe_b64decode(address)  # TON: tag, workchain 0, hash, CRC16-XModem
    crc_ok = binascii.crc_hqx(raw[:34], 0) == int.from_bytes(raw[34:], "big")
    return network == "TON" and len(raw) == 36 and raw[0] in (0x11, 0x51) and crc_ok


# --- the demo adapter ----------------------------------------------------------------------------

async def test_demo_is_deterministic_per_id() -> None:
    one, other = DemoExchangeAdapter(fixed_clock), DemoExchangeAdapter(fixed_clock)
    random.seed(1)
    first = await one.customer_context("alice")
    random.seed(2)  # the global generator must play no part
    assert await other.customer_context("alice") == first
    assert await one.customer_context("bob") != first


def test_demo_never_touches_the_global_random(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("global random used")

    for name in ("random", "randint", "choice", "choices", "randbytes", "uniform", "shuffle"):
        monkeypatch.setattr(random, name, forbidden)
    DemoExchangeAdapter(fixed_clock).generate("carol")


def test_demo_is_the_same_in_another_process() -> None:
    code = (
        "from datetime import datetime, UTC\nfrom kefu.exchange.demo import DemoExchangeAdapter\n"
        "d = DemoExchangeAdapter(lambda: datetime(2025, 3, 1, 12, tzinfo=UTC))\n"
        "print(d.generate('vip-dora').model_dump_json())"
    )
    env = {"PYTHONHASHSEED": "12345", "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env,
        cwd=SPEC.parents[1],
    ).stdout
    expected = DemoExchangeAdapter(fixed_clock).generate("vip-dora")
    assert CustomerContext.model_validate_json(out) == expected


def test_demo_times_move_with_the_clock() -> None:
    before = DemoExchangeAdapter(fixed_clock).generate("erin")
    later = DemoExchangeAdapter(lambda: NOW + timedelta(hours=5)).generate("erin")
    assert later.account_created_at == before.account_created_at + timedelta(hours=5)
    shifted = [d.model_copy(update={"created_at": d.created_at + timedelta(hours=5)})
               for d in before.deposits]
    assert later.deposits == shifted


def test_demo_times_are_utc_ordered_and_after_account_creation(
    demo_contexts: list[CustomerContext],
) -> None:
    for context in demo_contexts:
        assert context.account_created_at.tzinfo == UTC
        for items in (context.deposits, context.withdrawals, context.orders, context.liquidations):
            times = [item.created_at for item in items]
            assert times == sorted(times, reverse=True)
            assert all(context.account_created_at <= t <= NOW and t.tzinfo == UTC for t in times)


def test_demo_deposits_look_real(demo_contexts: list[CustomerContext]) -> None:
    deposits = [d for c in demo_contexts for d in c.deposits]
    assert Counter(d.status for d in deposits).keys() == {
        "pending", "confirming", "credited", "failed", "on_hold"
    }
    for d in deposits:
        assert d.network in COIN_NETWORKS[d.coin]
        assert d.txid is not None
        assert re.fullmatch(TXID[d.network], d.txid), d
        assert address_ok(d.network, d.address), d
        assert d.amount > 0
        assert "E" not in str(d.amount), "amounts are fixed-point, as wallets show them"
        assert d.required_confirmations == REQUIRED.get(d.network, d.required_confirmations)
        if d.status == "confirming":
            assert 0 <= d.confirmations < d.required_confirmations
        elif d.status in ("credited", "on_hold"):
            assert d.confirmations >= d.required_confirmations
        else:
            assert d.confirmations == 0
        if d.network not in ("XRP Ledger", "TON"):
            assert d.memo is None
    stuck_btc = [d for d in deposits if d.network == "Bitcoin" and d.status == "pending"]
    assert any(NOW - d.created_at > timedelta(hours=2) for d in stuck_btc)
    assert any(d.status == "on_hold" and d.memo is None and d.network in ("XRP Ledger", "TON")
               for d in deposits), "a deposit without its tag should be among the stuck ones"


def test_demo_withdrawals_orders_liquidations_are_consistent(
    demo_contexts: list[CustomerContext],
) -> None:
    withdrawals = [w for c in demo_contexts for w in c.withdrawals]
    assert {w.status for w in withdrawals} == {
        "processing", "pending_review", "broadcast", "completed", "failed", "cancelled"
    }
    for w in withdrawals:
        assert w.network in COIN_NETWORKS[w.coin]
        assert 0 < w.fee < w.amount
        assert address_ok(w.network, w.address), w
        assert (w.txid is not None) == (w.status in ("broadcast", "completed"))
        assert w.txid is None or re.fullmatch(TXID[w.network], w.txid)
    for o in (o for c in demo_contexts for o in c.orders):
        assert re.fullmatch(r"[A-Z]+-USDT", o.symbol)
        assert 0 <= o.filled <= o.quantity
        assert (o.filled == o.quantity) == (o.status == "filled")
        if o.status == "partially_filled":
            assert 0 < o.filled < o.quantity
        if o.status in ("open", "rejected", "expired"):
            assert o.filled == 0
        assert (o.price is None) == (o.type == "market" and o.filled == 0)
    liquidations = [x for c in demo_contexts for x in c.liquidations]
    assert liquidations
    assert all(x.loss_usdt > 0 and x.symbol.endswith("-PERP") for x in liquidations)


def test_demo_vip_tiers_are_skewed_low(demo_contexts: list[CustomerContext]) -> None:
    tiers = Counter(c.vip_tier for c in demo_contexts)
    assert sum(tiers[t] for t in (0, 1, 2)) / len(IDS) > 0.75
    assert 0 < sum(tiers[t] for t in range(5, 10)) / len(IDS) < 0.12
    assert any("withdrawals_frozen" in c.flags for c in demo_contexts)
    demo = DemoExchangeAdapter(fixed_clock)
    assert demo.generate("vip7-zhang").vip_tier == 7
    assert all(demo.generate(f"vip-{n}").vip_tier >= 5 for n in range(20))


async def test_demo_special_ids_and_deposit_lookup() -> None:
    demo = DemoExchangeAdapter(fixed_clock)
    with pytest.raises(CustomerNotFound) as not_found:
        await demo.customer_context("unknown-42")
    assert (not_found.value.status, not_found.value.code) == (404, "exchange_customer_not_found")
    with pytest.raises(ExchangeUnavailable) as down:
        await demo.customer_context("unavailable-1")
    assert (down.value.status, down.value.code) == (502, "exchange_unavailable")
    context = next(c for c in map(demo.generate, IDS) if any(
        d.network == "ERC20" for d in c.deposits))
    deposit = next(d for d in context.deposits if d.network == "ERC20")
    assert deposit.txid is not None
    for spelling in (deposit.txid, deposit.txid.upper().replace("0X", "0x"), deposit.txid[2:]):
        assert await demo.find_deposit(context.external_id, txid=f" {spelling} ") == deposit
    assert await demo.find_deposit(context.external_id, txid="0x" + "ab" * 32) is None


def test_demo_kyc_reviews_look_real(demo_contexts: list[CustomerContext]) -> None:
    reviews = Counter(c.kyc_review.status if c.kyc_review else None for c in demo_contexts)
    assert (reviews[None] + reviews["approved"]) / len(IDS) > 0.75
    assert 0.02 < reviews["pending"] / len(IDS) < 0.15
    assert 0.02 < reviews["rejected"] / len(IDS) < 0.15
    assert reviews["resubmission_required"] > 0
    reasons: Counter[str] = Counter()
    for context in demo_contexts:
        review = context.kyc_review
        if review is None:
            continue
        assert context.account_created_at <= review.submitted_at <= NOW
        if review.status == "approved":
            assert review.level_requested == context.kyc_level
        else:
            assert review.level_requested == context.kyc_level + 1
        if review.status == "pending":
            assert review.reviewed_at is None
            assert review.reasons == []
        else:
            assert review.reviewed_at is not None
            assert review.submitted_at <= review.reviewed_at <= NOW
        if review.status == "rejected":
            assert 1 <= len(review.reasons) == len(set(review.reasons)) <= 2
        assert (review.reasons != []) == (review.status in ("rejected", "resubmission_required"))
        reasons.update(review.reasons)
    assert set(reasons) == set(KYC_REASONS)
    pending = [c.kyc_review for c in demo_contexts if c.kyc_review and
               c.kyc_review.status == "pending"]
    assert any(NOW - r.submitted_at > timedelta(hours=48) for r in pending)
    assert any(NOW - r.submitted_at < timedelta(hours=48) for r in pending)


def test_demo_special_kyc_ids() -> None:
    demo = DemoExchangeAdapter(fixed_clock)
    for n in range(10):
        pending, rejected = demo.generate(f"kyc-pending-{n}"), demo.generate(f"kyc-rejected-{n}")
        assert pending.kyc_review is not None
        assert pending.kyc_review.status == "pending"
        assert rejected.kyc_review is not None
        assert rejected.kyc_review.status == "rejected"
        assert 1 <= len(rejected.kyc_review.reasons) <= 2
        for context in (pending, rejected):
            assert context.kyc_level <= 1
            assert context.kyc_review.level_requested == context.kyc_level + 1
    assert demo.generate("kyc-pending-1") == demo.generate("kyc-pending-1")


def test_kyc_review_is_optional_keeps_unknown_reasons_and_has_no_documents() -> None:
    base = json.loads(DemoExchangeAdapter(fixed_clock).generate("cust-5").model_dump_json())
    base.pop("kyc_review")
    assert CustomerContext.model_validate(base).kyc_review is None  # an older back office
    review = {"status": "rejected", "level_requested": 2,
              "submitted_at": "2025-02-27T08:00:00+08:00", "reviewed_at": "2025-02-27T01:00:00Z",
              "reasons": ["document_blurry", "watermark_detected"],
              "document_number": "E12345678", "document_images": ["https://x.test/id.jpg"]}
    parsed = CustomerContext.model_validate({**base, "kyc_review": review}).kyc_review
    assert parsed is not None
    assert parsed.reasons == ["document_blurry", "watermark_detected"]
    assert parsed.submitted_at == datetime(2025, 2, 27, 0, tzinfo=UTC)
    dumped = parsed.model_dump_json()
    assert "E12345678" not in dumped
    assert "id.jpg" not in dumped
    assert set(KycReview.model_fields) == {
        "status", "level_requested", "submitted_at", "reviewed_at", "reasons"}
    for bad in ({"status": "maybe"}, {"level_requested": 0}, {"submitted_at": "2025-02-27"}):
        with pytest.raises(ValidationError):
            KycReview.model_validate({**review, **bad})


def test_address_encoders_match_known_vectors() -> None:
    program = bytes.fromhex("751e76e8199196d454941c45d1b3a323f1433bd6")  # BIP 173
    assert _segwit_v0_address(program) == "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
    assert _base58check(b"\x00" + bytes(20)) == "1111111111111111111114oLvT2"
    assert _base58check(b"\x41" + bytes(20)) == "T9yD14Nj9j7xAB4dbGeiX9h8unkKHxuWwb"
    assert _base58check(b"\x00" + bytes(20), _XRP_B58) == "rrrrrrrrrrrrrrrrrrrrrhoLvTp"
    assert _ton_address(bytes(32), bounceable=True) == (
        "EQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAM9c"
    )


def test_schemas_amounts_times_and_immutability() -> None:
    deposit = Deposit(
        id="1", coin="BTC", network="Bitcoin", amount=Decimal("1E-8"), address="bc1q",
        status="credited", confirmations=3, required_confirmations=2,
        created_at=datetime(2025, 1, 1, 20, tzinfo=timezone(timedelta(hours=8))),
    )
    body = json.loads(deposit.model_dump_json())
    assert (body["amount"], body["created_at"]) == ("0.00000001", "2025-01-01T12:00:00Z")
    assert Deposit.model_validate_json(deposit.model_dump_json()) == deposit
    with pytest.raises(ValidationError):
        deposit.status = "failed"  # type: ignore[misc]
    for bad in ({"created_at": "2025-01-01T12:00:00"}, {"amount": "-1"}, {"amount": "NaN"}):
        with pytest.raises(ValidationError):
            Deposit.model_validate({**body, **bad})


# --- the HTTP adapter against the fake back office -------------------------------------------

@pytest.fixture
def backoffice(fake_backoffice: FakeBackoffice) -> FakeBackoffice:
    fake_backoffice.fault = None
    return fake_backoffice


@pytest.fixture
async def adapter(backoffice: FakeBackoffice) -> AsyncIterator[HttpExchangeAdapter]:
    async with HttpExchangeAdapter(backoffice.base_url, API_KEY, timeout_s=2.0) as http:
        yield http


@pytest.mark.parametrize("external_id", ["cust-7", "vip9-li", "alice bob+1@example.com", ".."])
async def test_http_context_round_trips(adapter: HttpExchangeAdapter, external_id: str) -> None:
    expected = DemoExchangeAdapter(fixed_clock).generate(external_id)
    assert await adapter.customer_context(external_id) == expected


async def test_http_finds_deposit_by_txid(
    adapter: HttpExchangeAdapter, backoffice: FakeBackoffice
) -> None:
    context = DemoExchangeAdapter(fixed_clock).generate("cust-3")
    deposit = next(d for d in context.deposits if d.txid)
    assert deposit.txid is not None
    assert await adapter.find_deposit("cust-3", txid=deposit.txid.upper()) == deposit
    assert await adapter.find_deposit("cust-3", txid="f" * 64) is None
    backoffice.fault = "ignore_txid"  # the server returns every deposit; the adapter filters
    assert await adapter.find_deposit("cust-3", txid=deposit.txid) == deposit
    assert await adapter.find_deposit("cust-3", txid="f" * 64) is None


async def test_http_carries_kyc_review_and_parses_an_older_back_office(
    adapter: HttpExchangeAdapter, backoffice: FakeBackoffice
) -> None:
    demo = DemoExchangeAdapter(fixed_clock)
    for external_id in ("kyc-rejected-1", "kyc-pending-1"):
        expected = demo.generate(external_id)
        context = await adapter.customer_context(external_id)
        assert context.kyc_review is not None
        assert context == expected
    backoffice.fault = "legacy"
    old = await adapter.customer_context("kyc-rejected-1")
    assert old.kyc_review is None
    assert old == demo.generate("kyc-rejected-1").model_copy(update={"kyc_review": None})


async def test_http_leaves_out_a_malformed_kyc_review_and_keeps_the_rest(
    adapter: HttpExchangeAdapter, backoffice: FakeBackoffice, caplog: pytest.LogCaptureFixture
) -> None:
    backoffice.fault = "bad_kyc_review"
    caplog.set_level(logging.WARNING, logger="kefu.exchange.http")
    context = await adapter.customer_context("kyc-rejected-1")
    expected = DemoExchangeAdapter(fixed_clock).generate("kyc-rejected-1")
    assert expected.deposits  # what the agent would have lost with the whole context
    assert context == expected.model_copy(update={"kyc_review": None})
    assert "malformed kyc_review" in caplog.text
    assert "status: literal_error" in caplog.text
    assert "lost-in-the-mail" not in caplog.text  # the back office's values stay out of logs


async def test_http_unknown_customer(adapter: HttpExchangeAdapter) -> None:
    with pytest.raises(CustomerNotFound):
        await adapter.customer_context("unknown-7")
    with pytest.raises(CustomerNotFound):
        await adapter.find_deposit("unknown-7", txid="ab" * 32)


async def test_http_wrong_key_is_a_clear_error_without_the_key(
    backoffice: FakeBackoffice, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "wrong-key-that-must-not-leak"
    async with HttpExchangeAdapter(backoffice.base_url, wrong, timeout_s=2.0) as http:
        with pytest.raises(ExchangeUnavailable, match="API key") as exc:
            await http.customer_context("cust-1")
        assert wrong not in repr(http)
    assert wrong not in str(exc.value)
    assert wrong not in caplog.text
    assert API_KEY not in caplog.text


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("invalid_json", "not JSON"),
        ("wrong_shape", "malformed customer context: vip_tier"),
        ("server_error", "HTTP 500"),
        ("slow", "did not answer within"),
        ("other_customer", "another customer"),
        ("plain_404", "KEFU_EXCHANGE_BASE_URL"),
    ],
)
async def test_http_misbehaving_backoffice_is_unavailable(
    backoffice: FakeBackoffice, fault: Any, message: str
) -> None:
    backoffice.fault = fault
    async with HttpExchangeAdapter(backoffice.base_url, API_KEY, timeout_s=0.2) as http:
        with pytest.raises(ExchangeUnavailable, match=message) as exc:
            await http.customer_context("cust-1")
    assert API_KEY not in str(exc.value)


async def test_http_server_down_is_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with HttpExchangeAdapter(f"http://127.0.0.1:{port}", API_KEY, timeout_s=1) as http:
        with pytest.raises(ExchangeUnavailable, match="could not reach"):
            await http.customer_context("cust-1")
        with pytest.raises(ExchangeUnavailable):
            await http.find_deposit("cust-1", txid="ab" * 32)


async def test_build_exchange_adapter_from_settings(backoffice: FakeBackoffice) -> None:
    demo = build_exchange_adapter(Settings(exchange_adapter="demo"))
    assert isinstance(demo, DemoExchangeAdapter)
    with pytest.raises(ValueError, match="KEFU_EXCHANGE_BASE_URL"):
        build_exchange_adapter(Settings(exchange_adapter="http"))
    with pytest.raises(ValueError, match="KEFU_EXCHANGE_API_KEY"):
        build_exchange_adapter(
            Settings(exchange_adapter="http", exchange_base_url=backoffice.base_url)
        )
    settings = Settings.model_validate({
        "exchange_adapter": "http", "exchange_base_url": backoffice.base_url,
        "exchange_api_key": API_KEY,
    })
    http = build_exchange_adapter(settings)
    try:
        assert isinstance(http, HttpExchangeAdapter)
        assert (await http.customer_context("cust-2")).external_id == "cust-2"
    finally:
        await http.aclose()


# --- the fake back office honours docs/exchange-api.yaml -------------------------------------

@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(SPEC.read_text())
    return loaded


def validator(spec: dict[str, Any], name: str) -> Any:
    return jsonschema_rs.Draft202012Validator(
        {"$ref": f"#/components/schemas/{name}", "components": spec["components"]},
        validate_formats=True,
    )


async def test_fake_backoffice_responses_match_the_spec(
    spec: dict[str, Any], backoffice: FakeBackoffice
) -> None:
    context_v, deposits_v, error_v = (
        validator(spec, name) for name in ("CustomerContext", "DepositList", "Error")
    )
    headers = {"Authorization": f"Bearer {API_KEY}"}
    async with httpx.AsyncClient(base_url=backoffice.base_url, headers=headers) as client:
        for external_id in ("cust-1", "cust-2", "vip5-a", "cust-44", "kyc-rejected-3",
                            "kyc-pending-3"):
            response = await client.get(f"/v1/customers/{external_id}/context")
            assert response.status_code == 200
            context_v.validate(response.json())
            txid = next((d["txid"] for d in response.json()["deposits"]), "00" * 32)
            found = await client.get(f"/v1/customers/{external_id}/deposits", params={"txid": txid})
            deposits_v.validate(found.json())
        missing = await client.get("/v1/customers/unknown-1/context")
        assert missing.status_code == 404
        error_v.validate(missing.json())
        assert missing.json()["error"]["code"] == "customer_not_found"
        denied = await client.get("/v1/customers/cust-1/context", headers={"Authorization": ""})
        assert denied.status_code == 401
        error_v.validate(denied.json())
    bad = {"external_id": "x", "vip_tier": 1, "kyc_level": 1, "thirty_day_volume_usdt": 1.5,
           "account_created_at": "yesterday"}
    assert not context_v.is_valid(bad)


MODELS: dict[str, type[BaseModel]] = {
    "Deposit": Deposit, "Withdrawal": Withdrawal, "Order": Order, "Liquidation": Liquidation,
    "CustomerContext": CustomerContext, "DepositList": DepositList, "KycReview": KycReview,
}


@pytest.mark.parametrize("name", list(MODELS))
def test_spec_and_models_describe_the_same_fields(spec: dict[str, Any], name: str) -> None:
    schema = spec["components"]["schemas"][name]
    fields = MODELS[name].model_fields
    assert set(schema["properties"]) == set(fields)
    assert set(schema.get("required", [])) == {n for n, f in fields.items() if f.is_required()}
    assert all("description" in prop for prop in schema["properties"].values())


def test_spec_routes_and_auth(spec: dict[str, Any]) -> None:
    assert spec["openapi"].startswith("3.1")
    assert spec["security"] == [{"bearerAuth": []}]
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    for resource, body in (("context", "CustomerContext"), ("deposits", "DepositList")):
        responses = spec["paths"][f"/v1/customers/{{external_id}}/{resource}"]["get"]["responses"]
        schema = responses["200"]["content"]["application/json"]["schema"]
        assert schema == {"$ref": f"#/components/schemas/{body}"}
        assert {"401", "404", "5XX"} <= responses.keys()
