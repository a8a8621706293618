"""Fact extraction: real-format values, valid ones generated with the chains' own checksum
algorithms (written out here independently of kefu.assistant.chains), published test vectors,
and one-character typos that must be caught."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from datetime import UTC, date, datetime
from decimal import Decimal

import base58
import pytest
from Crypto.Hash import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from kefu.assistant.chains import (
    AddressFormat,
    Mistyped,
    decode_segwit_address,
    identify_address,
    is_solana_signature,
    to_checksum_address,
)
from kefu.assistant.facts import (
    Address,
    Amount,
    Coin,
    DateMention,
    Facts,
    InvalidAddress,
    Memo,
    Network,
    OrderId,
    TxId,
    extract_facts,
)

NOW = datetime(2026, 3, 12, 9, 30, tzinfo=UTC)  # a Thursday

# EIP-55 test vectors, as published in the EIP.
EIP55_VECTORS = [
    "0x52908400098527886E0F7030069857D2E4169EE7",
    "0x8617E340B3D01FA5F11F306F4090FD50E238070D",
    "0xde709f2102306220921060314715629080e2fb77",
    "0x27b1fdb04752bbc536007a920d24acb045561c26",
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
    "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
]
USDT_TRON = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"  # Tether's USDT contract on TRON
BIP173_P2WPKH = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
BIP173_P2WSH = "bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3"
BIP350_P2TR = "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0"
SATOSHI_GENESIS = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"
XRP_GENESIS = "rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh"
USDC_SOLANA_MINT = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
TON_EXAMPLE = "EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2N"  # TON docs' example address
SOLANA_SIGNATURE = ("5VERv8NMvzbJMEkV8xnrLkEaWRtSz9CosKDYjCJjBRnbJLgp8uirBgmQpjKhoR4tjF3ZpRzrFm"
                    "BV6UjKdiSZkQUW")  # from Solana's transaction docs
TXID = "7c1a5f3e9b2d4c6a8e0f1b3d5c7e9a1b3c5d7e9f1a3b5c7d9e1f3a5b7c9d1e3f"


# --- independent encoders -------------------------------------------------------------------

BECH32_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def _polymod(values: list[int]) -> int:
    generator = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]
    chk = 1
    for value in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ value
        for i in range(5):
            chk ^= generator[i] if ((top >> i) & 1) else 0
    return chk


def segwit_encode(hrp: str, version: int, program: bytes, *, constant: int | None = None) -> str:
    """BIP-173/350 reference encoding; ``constant`` forces the wrong checksum variant."""
    acc = bits = 0
    data = [version]
    for byte in program:
        acc = (acc << 8) | byte
        bits += 8
        while bits >= 5:
            bits -= 5
            data.append((acc >> bits) & 31)
    if bits:
        data.append((acc << (5 - bits)) & 31)
    if constant is None:
        constant = 1 if version == 0 else 0x2BC830A3
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    mod = _polymod(expanded + data + [0] * 6) ^ constant
    checksum = [(mod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(BECH32_CHARSET[d] for d in data + checksum)


def eip55(raw: bytes) -> str:
    lower = raw.hex()
    digest = keccak.new(digest_bits=256, data=lower.encode()).hexdigest()
    return "0x" + "".join(c.upper() if int(h, 16) >= 8 else c
                          for c, h in zip(lower, digest[:40], strict=True))


def ton_encode(flag: int, workchain: int, account: bytes) -> str:
    body = bytes([flag, workchain & 0xFF]) + account
    return base64.urlsafe_b64encode(body + binascii.crc_hqx(body, 0).to_bytes(2, "big")).decode()


def swap_one_char(value: str, index: int, alphabet: str) -> str:
    index %= len(value)
    replacement = next(c for c in alphabet if c != value[index])
    return value[:index] + replacement + value[index + 1:]


B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
payload20 = st.binary(min_size=20, max_size=20)


# --- chains ---------------------------------------------------------------------------------

@pytest.mark.parametrize("vector", EIP55_VECTORS[4:])
def test_eip55_mixed_case_vectors(vector: str) -> None:
    assert to_checksum_address(vector.lower()) == vector
    assert identify_address(vector) == AddressFormat("EVM", "eip55")


@pytest.mark.parametrize("vector", EIP55_VECTORS[:4])
def test_eip55_single_case_vectors_carry_no_checksum(vector: str) -> None:
    assert identify_address(vector) == AddressFormat("EVM", "unchecksummed")


def test_eip55_uses_keccak_not_nist_sha3() -> None:
    lower = EIP55_VECTORS[4][2:].lower()
    nist = hashlib.sha3_256(lower.encode()).hexdigest()
    with_nist = "0x" + "".join(c.upper() if int(h, 16) >= 8 else c
                               for c, h in zip(lower, nist[:40], strict=True))
    assert with_nist != EIP55_VECTORS[4]
    assert identify_address(with_nist) == Mistyped("EVM", "checksum")


def test_eip55_single_case_flip_is_mistyped() -> None:
    flipped = EIP55_VECTORS[4][:-1] + "D"
    assert identify_address(flipped) == Mistyped("EVM", "checksum")
    assert identify_address(EIP55_VECTORS[4][:-1]) == Mistyped("EVM", "length")


@given(payload20)
@settings(max_examples=50, deadline=None)
def test_generated_eip55_addresses_validate(raw: bytes) -> None:
    address = eip55(raw)
    expected_kind = "unchecksummed" if address[2:] in (address[2:].lower(), address[2:].upper()) \
        else "eip55"
    assert identify_address(address) == AddressFormat("EVM", expected_kind)
    assert identify_address(address.lower()) == AddressFormat("EVM", "unchecksummed")


@pytest.mark.parametrize(("address", "kind"), [
    (BIP173_P2WPKH, "p2wpkh"), (BIP173_P2WPKH.upper(), "p2wpkh"), (BIP173_P2WSH, "p2wsh"),
    (BIP350_P2TR, "p2tr"), (SATOSHI_GENESIS, "p2pkh"),
    ("3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "p2sh"),
])
def test_bitcoin_vectors(address: str, kind: str) -> None:
    assert identify_address(address) == AddressFormat("BTC", kind)


def test_bech32_rejects_wrong_variant_mixed_case_and_typos() -> None:
    program = bytes(range(20))
    assert decode_segwit_address(segwit_encode("bc", 0, program)) == (0, program)
    # v0 must use bech32, v1+ bech32m (BIP-350).
    assert decode_segwit_address(segwit_encode("bc", 0, program, constant=0x2BC830A3)) is None
    assert decode_segwit_address(segwit_encode("bc", 1, bytes(32), constant=1)) is None
    assert identify_address("bc1Qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4") == Mistyped(
        "BTC", "checksum")
    assert identify_address(BIP173_P2WPKH[:-1] + "5") == Mistyped("BTC", "checksum")


@given(payload20, st.sampled_from([0x00, 0x05, 0x30, 0x32, 0x41]), st.integers(1, 40))
@settings(max_examples=60, deadline=None)
def test_generated_base58check_addresses_and_their_typos(
    raw: bytes, version: int, position: int,
) -> None:
    address = base58.b58encode_check(bytes([version]) + raw).decode()
    chain = {0x00: "BTC", 0x05: "BTC", 0x30: "LTC", 0x32: "LTC", 0x41: "TRON"}[version]
    found = identify_address(address)
    assert isinstance(found, AddressFormat)
    assert found.chain == chain
    typo = swap_one_char(address, max(1, position % len(address)), B58)
    assert not isinstance(identify_address(typo), AddressFormat)


@given(st.sampled_from([0, 1]), st.binary(min_size=32, max_size=32), st.integers(4, 60))
@settings(max_examples=40, deadline=None)
def test_generated_segwit_addresses_and_their_typos(
    version: int, raw: bytes, position: int,
) -> None:
    program = raw[:20] if version == 0 else raw
    for hrp, chain in (("bc", "BTC"), ("ltc", "LTC")):
        address = segwit_encode(hrp, version, program)
        assert identify_address(address) == AddressFormat(chain, "p2wpkh" if version == 0
                                                          else "p2tr")
        typo = swap_one_char(address, len(hrp) + 1 + position % (len(address) - len(hrp) - 1),
                             BECH32_CHARSET)
        assert identify_address(typo) == Mistyped(chain, "checksum")


def test_tron_xrp_solana_ton_vectors() -> None:
    assert identify_address(USDT_TRON) == AddressFormat("TRON", "account")
    assert identify_address(USDT_TRON[:-1] + "u") == Mistyped("TRON", "checksum")
    assert identify_address(USDT_TRON.replace("q", "l", 1)) == Mistyped("TRON", "characters")
    assert identify_address(XRP_GENESIS) == AddressFormat("XRP", "account")
    assert identify_address(XRP_GENESIS[:-1] + "x") == Mistyped("XRP", "checksum")
    assert identify_address(USDC_SOLANA_MINT) == AddressFormat("SOL", "account")
    assert identify_address(TON_EXAMPLE) == AddressFormat("TON", "bounceable")
    assert identify_address(TON_EXAMPLE[:-1] + "M") == Mistyped("TON", "checksum")
    assert identify_address("thisisjustaverylongwordnotanaddress") is None


@given(st.binary(min_size=32, max_size=32), st.sampled_from([0x11, 0x51]))
@settings(max_examples=30, deadline=None)
def test_generated_ton_and_solana(raw: bytes, flag: int) -> None:
    ton = ton_encode(flag, 0, raw)
    assert identify_address(ton) == AddressFormat(
        "TON", "bounceable" if flag == 0x11 else "non-bounceable")
    solana = base58.b58encode(raw).decode()
    if len(solana) >= 32:  # keys with many leading zero bytes encode shorter; not real ones
        assert identify_address(solana) == AddressFormat("SOL", "account")
    assert is_solana_signature(base58.b58encode(raw + raw).decode()) == (
        86 <= len(base58.b58encode(raw + raw)) <= 88)


# --- addresses and transaction ids in messages ----------------------------------------------

def test_deposit_message_in_chinese() -> None:
    text = f"我昨天充值了100U到{USDT_TRON}，TRC20，还没到账，txid: {TXID}"
    facts = extract_facts(text, now=NOW)
    assert [(a.value, a.chain) for a in facts.addresses] == [(USDT_TRON, "TRON")]
    assert [(t.value, t.chain) for t in facts.tx_ids] == [(TXID, "TRON")]
    assert [(a.value, a.coin) for a in facts.amounts] == [(Decimal(100), "USDT")]
    assert [n.name for n in facts.networks] == ["TRC20"]
    assert [d.value for d in facts.dates] == [date(2026, 3, 11)]
    assert facts.order_ids == ()
    assert text[facts.addresses[0].start:facts.addresses[0].end] == USDT_TRON
    assert text[facts.tx_ids[0].start:facts.tx_ids[0].end] == TXID


def test_evm_address_and_tx_in_english() -> None:
    tx = "0x" + TXID
    facts = extract_facts(f"withdrew 1,000.50 USDT via BSC to {EIP55_VECTORS[5]} tx {tx}")
    assert [(a.chain, a.kind) for a in facts.addresses] == [("EVM", "eip55")]
    assert [(t.value, t.chain) for t in facts.tx_ids] == [(tx, "EVM")]
    assert [n.name for n in facts.networks] == ["BEP20"]
    assert facts.amounts[0].value == Decimal("1000.50")


def test_mistyped_addresses_are_not_addresses() -> None:
    typo_evm = EIP55_VECTORS[4][:-1] + "D"
    typo_btc = SATOSHI_GENESIS[:-1] + "b"
    facts = extract_facts(f"send to {typo_evm} or {typo_btc} or {USDT_TRON[:-1]}u")
    assert facts.addresses == ()
    assert [(i.chain, i.reason) for i in facts.invalid_addresses] == [
        ("EVM", "checksum"), ("BTC", "checksum"), ("TRON", "checksum")]
    assert facts.order_ids == ()  # the digits inside stay inside


@pytest.mark.parametrize(("context", "chain"), [
    ("TRC20 deposit", "TRON"), ("my BTC deposit", "BTC"), ("比特币充值", "BTC"),
    ("ERC20 转账", "EVM"), ("波场", "TRON"), ("deposit", None), ("USDT deposit", None),
    ("TRC20 or ERC20", None), (f"to {SATOSHI_GENESIS}", "BTC"),
])
def test_bare_hex_txid_chain_comes_from_context(context: str, chain: str | None) -> None:
    facts = extract_facts(f"{context}, hash {TXID}")
    assert [(t.value, t.chain) for t in facts.tx_ids] == [(TXID, chain)]


def test_solana_signature_and_address() -> None:
    facts = extract_facts(f"Solana tx {SOLANA_SIGNATURE} to {USDC_SOLANA_MINT}")
    assert [(t.chain, t.value) for t in facts.tx_ids] == [("SOL", SOLANA_SIGNATURE)]
    assert [(a.chain, a.value) for a in facts.addresses] == [("SOL", USDC_SOLANA_MINT)]


def test_hex_after_private_key_is_not_a_txid() -> None:
    assert extract_facts(f"my private key: {TXID}").tx_ids == ()


def test_ton_address_inside_chinese_text() -> None:
    facts = extract_facts(f"TON充值地址{TON_EXAMPLE}没到账 memo 104857")
    assert [(a.chain, a.value) for a in facts.addresses] == [("TON", TON_EXAMPLE)]
    assert [m.value for m in facts.memos] == ["104857"]


# --- order ids, tickets, amounts, networks, coins, dates ------------------------------------

@pytest.mark.parametrize(("text", "orders"), [
    ("Order id: 1234567890123 is stuck", ["1234567890123"]),
    ("订单号：P2P20231120ABC 没放币", ["P2P20231120ABC"]),
    ("order #A12345 please check", ["A12345"]),
    ("my order 987654321012345678 and 1122334455", ["987654321012345678", "1122334455"]),
    ("call me at 13800138000", []),
    ("+86 13912345678", []),
    ("UID 1234567890", []),
    ("my order is stuck", []),
    ("tag 1234567890", []),
    (f"order {TXID}", []),
    ("order KF-7Q4M2X", []),
])
def test_order_ids(text: str, orders: list[str]) -> None:
    assert [o.value for o in extract_facts(text).order_ids] == orders


@pytest.mark.parametrize(("text", "tickets"), [
    ("about kf-7q4m2x", ["KF-7Q4M2X"]), ("KF 7Q4M2X", ["KF-7Q4M2X"]),
    ("KF7Q4M2X again", ["KF-7Q4M2X"]), ("kf thanks", []), ("KF-7Q4M2", []),
    ("KF-0Q4M2X", []),  # 0 is not in the alphabet
])
def test_ticket_numbers(text: str, tickets: list[str]) -> None:
    assert [t.value for t in extract_facts(text).ticket_numbers] == tickets


@pytest.mark.parametrize(("text", "amounts"), [
    ("100 USDT", [("100", "USDT")]),
    ("0.5btc", [("0.5", "BTC")]),
    ("1,000.50 USDT", [("1000.50", "USDT")]),
    ("转了100U", [("100", "USDT")]),
    ("100u", [("100", "USDT")]),
    ("五百 USDT", [("500", "USDT")]),
    ("一万五U", [("15000", "USDT")]),
    ("1.5万U", [("15000", "USDT")]),
    ("2k USDT", [("2000", "USDT")]),
    ("¥500 和 300元", [("500", "CNY"), ("300", "CNY")]),
    ("$100", [("100", "USD")]),
    ("0.1个比特币", [("0.1", "BTC")]),
    ("10 SOL", [("10", "SOL")]),
    ("3 sol", []),  # Spanish and English words stay words
    ("TRC20", []),
    ("100 USDC and 2 ETH", [("100", "USDC"), ("2", "ETH")]),
    ("waited 5 weeks", []),
])
def test_amounts(text: str, amounts: list[tuple[str, str]]) -> None:
    found = extract_facts(text).amounts
    assert [(a.value, a.coin) for a in found] == [(Decimal(v), c) for v, c in amounts]


@pytest.mark.parametrize(("text", "networks"), [
    ("USDT-TRC20", ["TRC20"]), ("波场链", ["TRC20"]), ("TRON network", ["TRC20"]),
    ("以太坊", ["ERC20"]), ("ETH链", ["ERC20"]), ("BSC", ["BEP20"]), ("币安智能链", ["BEP20"]),
    ("BNB Smart Chain", ["BEP20"]), ("Solana", ["SOL"]), ("Arbitrum One", ["ARB"]),
    ("Optimism", ["OP"]), ("Polygon", ["POLYGON"]), ("USDT (TON)", ["TON"]),
    ("走TRX", ["TRC20"]), ("on SOL", ["SOL"]), ("0.5 ETH", []), ("lightning fast", []),
    ("XRP Ledger", ["XRP"]),
])
def test_networks(text: str, networks: list[str]) -> None:
    assert [n.name for n in extract_facts(text).networks] == networks


@pytest.mark.parametrize(("text", "coins"), [
    ("泰达币和比特币", ["USDT", "BTC"]), ("0.5btc", ["BTC"]), ("以太坊", ["ETH"]),
    ("USDT-TRX", ["USDT"]), ("ETH链的USDT", ["USDT"]), ("the sol is out", []),
    ("TON and XRP", ["TON", "XRP"]),
])
def test_coins(text: str, coins: list[str]) -> None:
    assert [c.symbol for c in extract_facts(text).coins] == coins


@pytest.mark.parametrize(("text", "dates"), [
    ("yesterday", [date(2026, 3, 11)]),
    ("昨天", [date(2026, 3, 11)]),
    ("前天", [date(2026, 3, 10)]),
    ("明天能到吗", [date(2026, 3, 13)]),
    ("tomorrow", [date(2026, 3, 13)]),
    ("the day before yesterday", [date(2026, 3, 10)]),
    ("3月5日", [date(2026, 3, 5)]),
    ("3月5号", [date(2026, 3, 5)]),
    ("2026-11-20", [date(2026, 11, 20)]),
    ("2025年12月1日", [date(2025, 12, 1)]),
    ("Nov 20", [date(2025, 11, 20)]),  # no year: the latest one not in the future
    ("20 November 2024", [date(2024, 11, 20)]),
    ("last Monday", [date(2026, 3, 9)]),
    ("last Thursday", [date(2026, 3, 5)]),
    ("上周一", [date(2026, 3, 2)]),
    ("周三", [date(2026, 3, 11)]),
    ("3天前", [date(2026, 3, 9)]),
    ("5 days ago", [date(2026, 3, 7)]),
    ("2月30日", []),
    ("I may 2 things", []),
    ("一周一次", []),
])
def test_dates(text: str, dates: list[date]) -> None:
    assert [d.value for d in extract_facts(text, now=NOW).dates] == dates


def test_to_dict_is_json_and_keeps_decimal_precision() -> None:
    facts = extract_facts(f"0.10000001 BTC to {SATOSHI_GENESIS} 2026-01-02 KF-7Q4M2X", now=NOW)
    payload = json.loads(json.dumps(facts.to_dict()))
    assert payload["amounts"] == [{"value": "0.10000001", "coin": "BTC", "start": 0, "end": 14}]
    assert payload["addresses"][0]["kind"] == "p2pkh"
    assert payload["dates"][0]["value"] == "2026-01-02"
    assert payload["ticket_numbers"][0]["value"] == "KF-7Q4M2X"
    assert set(payload) >= {"tx_ids", "invalid_addresses", "order_ids", "networks", "coins"}
    assert facts
    assert not extract_facts("hello")
    assert extract_facts("hello") == Facts()


def test_spans_hold_when_lower_casing_changes_length() -> None:
    text = "İSTANBUL'dan 100 USDT gönderdim, order 1234567890"
    assert len(text.lower()) != len(text)
    facts = extract_facts(text)
    assert [(text[a.start:a.end], a.coin) for a in facts.amounts] == [("100 USDT", "USDT")]
    assert [o.value for o in facts.order_ids] == ["1234567890"]


@given(st.text(max_size=300))
@settings(max_examples=200, deadline=None)
def test_any_text_gives_consistent_spans(text: str) -> None:
    facts = extract_facts(text, now=NOW)
    valued: list[TxId | Address | InvalidAddress | OrderId | Memo] = [
        *facts.tx_ids, *facts.addresses, *facts.invalid_addresses, *facts.order_ids, *facts.memos]
    for item in valued:
        assert text[item.start:item.end] == item.value
    mentions: list[Amount | Network | Coin | DateMention] = [
        *facts.amounts, *facts.networks, *facts.coins, *facts.dates]
    for mention in mentions:
        assert 0 <= mention.start < mention.end <= len(text)
