"""Address and transaction-id formats of the chains customers paste, with their checksums.

A pasted address is only a fact when its checksum holds: a customer who mistyped one character
needs to hear "that address looks mistyped", not see a lookup fail. Formats:

- EVM: ``0x`` + 40 hex; mixed case must match EIP-55 (Keccak-256 of the lower-case hex, the
  original Keccak padding, not NIST SHA3-256); all-lower or all-upper carries no checksum.
- Bitcoin and Litecoin legacy, TRON: base58check (double SHA-256), told apart by version byte.
- Bitcoin and Litecoin SegWit: bech32 (BIP-173) for witness version 0, bech32m (BIP-350) above;
  the polymod is implemented here (a dozen lines, no package needed).
- XRP: base58check over Ripple's own alphabet. Solana: base58 of a 32-byte key (no checksum
  exists, so only the length can be checked). TON: 36 bytes of base64url ending in CRC16-XMODEM.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

import base58
from Crypto.Hash import keccak

_HEX_RE = re.compile(r"[0-9a-fA-F]+")
_BASE58_RE = re.compile(r"[1-9A-HJ-NP-Za-km-z]+")
_BECH32_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
_BECH32_CONST = 1
_BECH32M_CONST = 0x2BC830A3
_SEGWIT_HRPS = {"bc": "BTC", "ltc": "LTC"}

# base58check version byte → (chain, kind); each fixes the first character (1, 3, L, M, T).
# Litecoin's legacy P2SH shares 0x05 with Bitcoin's and is reported as Bitcoin.
_BASE58_VERSIONS: dict[int, tuple[str, str]] = {
    0x00: ("BTC", "p2pkh"),
    0x05: ("BTC", "p2sh"),
    0x30: ("LTC", "p2pkh"),
    0x32: ("LTC", "p2sh"),
    0x41: ("TRON", "account"),
}
# First character → chain, for naming the chain of an address whose checksum fails.
_BASE58_PREFIX_CHAINS = {"1": "BTC", "3": "BTC", "T": "TRON", "L": "LTC", "M": "LTC", "r": "XRP"}
_TON_FLAGS = {0x11: "bounceable", 0x51: "non-bounceable"}


@dataclass(frozen=True, slots=True)
class AddressFormat:
    """A valid address: ``chain`` ("BTC", "EVM", "TRON", "SOL", "LTC", "XRP", "TON") and
    ``kind`` ("p2pkh", "p2wpkh", "p2tr", "eip55", "unchecksummed", "account", …)."""

    chain: str
    kind: str


@dataclass(frozen=True, slots=True)
class Mistyped:
    """Looks like an address of ``chain`` but fails validation; ``reason`` is "checksum",
    "length" or "characters"."""

    chain: str
    reason: str


def identify_address(token: str) -> AddressFormat | Mistyped | None:
    """Classify one whitespace-free token. ``None`` means it is not address-shaped at all
    (a word, an order id, a transaction id)."""
    if token[:2] in ("0x", "0X"):
        return _identify_evm(token[2:])
    if token.lower().startswith(("bc1", "ltc1")):
        return _identify_segwit(token)
    if token.startswith(("EQ", "UQ")) and len(token) == 48:
        return _identify_ton(token)
    return _identify_base58(token)


def to_checksum_address(address: str) -> str:
    """EIP-55 form of an EVM address: hex digit i is upper-case when nibble i of
    keccak256(lower-case hex) is 8 or more."""
    body = address[2:] if address[:2] in ("0x", "0X") else address
    if len(body) != 40 or not _HEX_RE.fullmatch(body):
        raise ValueError(f"not an EVM address: {address!r}")
    lower = body.lower()
    digest = keccak.new(digest_bits=256, data=lower.encode("ascii")).hexdigest()
    return "0x" + "".join(
        char.upper() if int(nibble, 16) >= 8 else char
        for char, nibble in zip(lower, digest[:40], strict=True)
    )


def is_solana_signature(token: str) -> bool:
    """A Solana transaction signature: base58 of 64 bytes (87 or 88 characters)."""
    if not 86 <= len(token) <= 88 or not _BASE58_RE.fullmatch(token):
        return False
    return len(base58.b58decode(token)) == 64


def _identify_evm(body: str) -> AddressFormat | Mistyped | None:
    if not _HEX_RE.fullmatch(body):
        return None
    if len(body) != 40:
        return Mistyped("EVM", "length") if 38 <= len(body) <= 42 else None
    if body in (body.lower(), body.upper()):
        return AddressFormat("EVM", "unchecksummed")
    if to_checksum_address(body)[2:] == body:
        return AddressFormat("EVM", "eip55")
    return Mistyped("EVM", "checksum")


def _identify_segwit(token: str) -> AddressFormat | Mistyped:
    chain = "LTC" if token.lower().startswith("ltc1") else "BTC"
    decoded = decode_segwit_address(token)
    if decoded is None:
        return Mistyped(chain, "checksum")
    version, program = decoded
    if version == 0:
        kind = "p2wpkh" if len(program) == 20 else "p2wsh"
    elif version == 1 and len(program) == 32:
        kind = "p2tr"
    else:
        kind = "segwit"
    return AddressFormat(chain, kind)


def decode_segwit_address(address: str) -> tuple[int, bytes] | None:
    """(witness version, program) of a mainnet bc1/ltc1 address whose BIP-173/350 checksum and
    program length hold; ``None`` otherwise."""
    if address not in (address.lower(), address.upper()) or len(address) > 90:
        return None
    address = address.lower()
    separator = address.rfind("1")
    hrp, payload = address[:separator], address[separator + 1:]
    if hrp not in _SEGWIT_HRPS or len(payload) < 7:
        return None
    data = [_BECH32_CHARSET.find(char) for char in payload]
    if -1 in data:
        return None
    constant = _bech32_polymod(_hrp_expand(hrp) + data)
    if constant not in (_BECH32_CONST, _BECH32M_CONST):
        return None
    version = data[0]
    program = _convert_bits(data[1:-6], 5, 8)
    if program is None or version > 16 or not 2 <= len(program) <= 40:
        return None
    if version == 0 and len(program) not in (20, 32):
        return None
    expected = _BECH32_CONST if version == 0 else _BECH32M_CONST
    return (version, program) if constant == expected else None


def _bech32_polymod(values: list[int]) -> int:
    checksum = 1
    for value in values:
        top = checksum >> 25
        checksum = (checksum & 0x1FFFFFF) << 5 ^ value
        for index, generator in enumerate(_BECH32_GENERATOR):
            if (top >> index) & 1:
                checksum ^= generator
    return checksum


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(char) >> 5 for char in hrp] + [0] + [ord(char) & 31 for char in hrp]


def _convert_bits(data: list[int], from_bits: int, to_bits: int) -> bytes | None:
    """Regroup 5-bit words into bytes; leftover bits must be zero padding under 5 bits."""
    accumulator = bits = 0
    result = bytearray()
    max_value = (1 << to_bits) - 1
    for value in data:
        accumulator = (accumulator << from_bits) | value
        bits += from_bits
        while bits >= to_bits:
            bits -= to_bits
            result.append((accumulator >> bits) & max_value)
    if bits >= from_bits or (accumulator << (to_bits - bits)) & max_value:
        return None
    return bytes(result)


def _identify_base58(token: str) -> AddressFormat | Mistyped | None:
    prefix_chain = _BASE58_PREFIX_CHAINS.get(token[:1])
    if not _BASE58_RE.fullmatch(token):
        # 0, O, I and l are outside the alphabet: a typo in something address-shaped.
        if prefix_chain and 26 <= len(token) <= 35 and _looks_random(token):
            return Mistyped(prefix_chain, "characters")
        return None
    if prefix_chain == "XRP" and _is_xrp_address(token):
        return AddressFormat("XRP", "account")
    raw = base58.b58decode(token)
    if len(raw) == 32 and 32 <= len(token) <= 44:
        return AddressFormat("SOL", "account")
    if len(raw) == 25:
        payload, checksum = raw[:-4], raw[-4:]
        known = _BASE58_VERSIONS.get(payload[0])
        if known and _sha256d(payload)[:4] == checksum:
            return AddressFormat(*known)
    if prefix_chain is None or not _looks_random(token):
        return None
    if 26 <= len(token) <= 35:
        return Mistyped(prefix_chain, "checksum" if len(raw) == 25 else "length")
    return None


def _is_xrp_address(token: str) -> bool:
    if not 25 <= len(token) <= 35:
        return False
    try:
        payload = base58.b58decode_check(token, alphabet=base58.XRP_ALPHABET)
    except ValueError:
        return False
    return len(payload) == 21 and payload[0] == 0


def _looks_random(token: str) -> bool:
    """Upper case, lower case and digits together: how encoded keys look, unlike words and ids."""
    return (any(c.isdigit() for c in token) and any(c.islower() for c in token)
            and any(c.isupper() for c in token))


def _sha256d(data: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


def _identify_ton(token: str) -> AddressFormat | Mistyped | None:
    try:
        raw = base64.urlsafe_b64decode(token.replace("+", "-").replace("/", "_"))
    except (binascii.Error, ValueError):
        return None
    if len(raw) != 36 or raw[0] not in _TON_FLAGS:
        return None
    if binascii.crc_hqx(raw[:34], 0) != int.from_bytes(raw[34:], "big"):
        return Mistyped("TON", "checksum")
    return AddressFormat("TON", _TON_FLAGS[raw[0]])
