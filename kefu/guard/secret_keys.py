"""Wallet keys: raw hex private keys, WIF keys, extended private keys (xprv and kin) and Solana
keypairs.

WIF and xprv carry a base58check checksum, so a valid one is a key wherever it stands. A bare
64-hex string is a private key only when a key label ("private key", "私钥", "key:") is nearer
before it than a transaction label, or the message names a key and no transaction; otherwise it
is a txid that agents need to read. Solana keypairs (64 bytes in base58) look like transaction
signatures and are keys only after a key label."""

from __future__ import annotations

import re
from collections.abc import Iterator

import base58

from kefu.guard.secret_context import LabelSet

_B58 = "1-9A-HJ-NP-Za-km-z"

_HEX = re.compile(r"(?<![0-9A-Za-z])(?:0[xX])?[0-9a-fA-F]{64}(?![0-9A-Za-z])")
_WIF = re.compile(rf"(?<![{_B58}])[5KLc9][{_B58}]{{50,51}}(?![{_B58}])")
_XPRV = re.compile(rf"(?<![{_B58}])[xtyzuvYZUV]prv[{_B58}]{{100,115}}(?![{_B58}])")
_SOLANA = re.compile(rf"(?<![{_B58}])[{_B58}]{{86,90}}(?![{_B58}])")
_XPRV_LENGTH = 111

# "key" alone counts ("key: 3f9a..."); public keys, addresses and transactions do not ("public
# key" ends where its "key" does and, being longer, wins).
KEY_LABELS = LabelSet({
    "key": (
        "priv", r"\bprv\b", r"\bpk\b", r"\bkey\b", r"\bkeys\b", "私钥", "私鑰", "私匙", "密钥",
        "密鑰", "秘钥", "钥匙", "keystore", "secret", "助记", "seed"),
    "tx": (
        r"\btx", "hash", "transaction", r"\btrx\b", "交易", "哈希", "转账", "轉賬", "充值",
        "提现", "提币", "区块", "block", "explorer", "scan", "mempool", "deposit", "withdraw",
        r"\bsent\b", "address", "地址", "公钥", "public key", "public_key", "pubkey", r"\border",
        "订单", "contract", "合约", "signature", "签名"),
})

_BASE58_VERSIONS_WIF = (0x80, 0xEF)


def _b58check(value: str) -> bytes | None:
    try:
        return base58.b58decode_check(value)
    except ValueError:
        return None


def is_wif(value: str) -> bool:
    """A base58check string with a private-key version byte and a 32-byte key (+0x01 when the key
    is for compressed public keys)."""
    payload = _b58check(value)
    if payload is None or payload[0] not in _BASE58_VERSIONS_WIF:
        return False
    return len(payload) == 33 or (len(payload) == 34 and payload[-1] == 0x01)


def is_extended_private_key(value: str) -> bool:
    """A 78-byte base58check BIP32 serialisation whose key field starts with 0x00 (private)."""
    payload = _b58check(value)
    return payload is not None and len(payload) == 78 and payload[45] == 0


def _key_labelled(lower: str, start: int, end: int) -> bool:
    """True when the nearest label before the value is a key label, or there is none before and
    one follows ("... is my private key"), or the message names only keys."""
    before = KEY_LABELS.before(lower, start)
    if before is not None:
        return before == "key"
    after = KEY_LABELS.after(lower, end)
    if after is not None:
        return after == "key"
    return KEY_LABELS.anywhere(lower) == {"key"}


def find_keys(text: str, lower: str) -> Iterator[tuple[str, int, int]]:
    """``(kind, start, end)`` for every wallet key in ``text`` (``lower``: it, lowercased)."""
    for match in _HEX.finditer(text):
        if _key_labelled(lower, match.start(), match.end()):
            yield "private_key", match.start(), match.end()
    for match in _WIF.finditer(text):
        if is_wif(match.group()):
            yield "wif", match.start(), match.end()
    for match in _XPRV.finditer(text):
        value = match.group()
        if is_extended_private_key(value) or len(value) == _XPRV_LENGTH:
            yield "extended_private_key", match.start(), match.end()
    for match in _SOLANA.finditer(text):
        payload = _decode(match.group())
        if payload is not None and len(payload) == 64 and KEY_LABELS.before(
                lower, match.start()) == "key":
            yield "private_key", match.start(), match.end()


def _decode(value: str) -> bytes | None:
    try:
        return base58.b58decode(value)
    except ValueError:
        return None


def may_hold_keys(text: str) -> bool:
    """Cheap prefilter: every key kind has a run of at least 50 hex or base58 characters."""
    return _LONG_TOKEN.search(text) is not None


_LONG_TOKEN = re.compile(rf"[{_B58}0]{{50}}")
