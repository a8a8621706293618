"""The secret guard: finds and masks secrets in everything a customer sends (SPEC §H).

Runs on every inbound text — chat, widget, portal, email, Telegram, attachment names and their
extracted text — before anything is stored, indexed, logged, sent to a webhook or to an LLM.
Seed phrases, wallet keys, API secrets, passwords, PINs, one-time codes, card numbers and national
ID numbers are replaced by ``[REDACTED <kind>]``; transaction ids, addresses, order ids, amounts
and phone numbers stay readable because agents need them.

It sits on every message, so each detector is behind a cheap precompiled prefilter and clean
short messages cost a handful of regex searches."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from kefu.guard.bip39 import find_seed_phrases
from kefu.guard.secret_context import blank, lowered
from kefu.guard.secret_keys import find_keys, may_hold_keys
from kefu.guard.secret_mask import marker
from kefu.guard.secret_notice import customer_notice
from kefu.guard.secret_numbers import find_cards, find_national_ids, may_hold_numbers
from kefu.guard.secret_stated import find_stated

__all__ = ["KINDS", "WALLET_KINDS", "Finding", "GuardResult", "customer_notice", "mask", "scan"]

SEED_PHRASE: Final = "seed_phrase"
PRIVATE_KEY: Final = "private_key"
EXTENDED_PRIVATE_KEY: Final = "extended_private_key"
WIF: Final = "wif"
API_SECRET: Final = "api_secret"
PASSWORD: Final = "password"
PIN: Final = "pin"
OTP_CODE: Final = "otp_code"
CARD_NUMBER: Final = "card_number"
NATIONAL_ID: Final = "national_id"

# Where two detectors claim overlapping text, the earlier kind wins: the more specific and the
# more dangerous one (an API secret label beats "key" reading a hex secret as a private key).
KINDS: Final = (SEED_PHRASE, EXTENDED_PRIVATE_KEY, WIF, API_SECRET, PRIVATE_KEY, NATIONAL_ID,
                CARD_NUMBER, PASSWORD, PIN, OTP_CODE)
WALLET_KINDS: Final = frozenset({SEED_PHRASE, PRIVATE_KEY, EXTENDED_PRIVATE_KEY, WIF})
_RANK = {kind: rank for rank, kind in enumerate(KINDS)}
# Full-width forms ("１２３４５６", "ｐａｓｓ", the ideographic space) that Chinese input methods
# type, mapped one character to one, so detectors see ASCII and spans still index the original.
_HALF_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


@dataclass(frozen=True, slots=True)
class Finding:
    """One hidden secret: its kind and its span ``[start, end)`` in the original text, in Python
    string indices (code points)."""

    kind: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class GuardResult:
    """What the guard made of one text: the masked text and the findings, sorted by start and
    never overlapping."""

    masked: str
    findings: tuple[Finding, ...]

    @property
    def clean(self) -> bool:
        return not self.findings

    @property
    def security_flag(self) -> bool:
        """True when wallet secrets leaked: the ticket is flagged for security and the customer is
        told to move funds to a new wallet."""
        return any(f.kind in WALLET_KINDS for f in self.findings)

    @property
    def kinds(self) -> tuple[str, ...]:
        """The distinct kinds found, in ``KINDS`` order."""
        found = {f.kind for f in self.findings}
        return tuple(kind for kind in KINDS if kind in found)


def _candidates(text: str) -> list[Finding]:
    lower = lowered(text)
    seeds = find_seed_phrases(text, lower)
    found = [Finding(SEED_PHRASE, start, end) for start, end in seeds]
    if seeds:
        lower = blank(lower, seeds)
    if may_hold_keys(text):
        found.extend(Finding(kind, start, end) for kind, start, end in find_keys(text, lower))
    if may_hold_numbers(text):
        found.extend(Finding(CARD_NUMBER, s, e) for s, e in find_cards(text, lower))
        found.extend(Finding(NATIONAL_ID, s, e) for s, e in find_national_ids(text, lower))
    found.extend(Finding(s.kind, s.start, s.end) for s in find_stated(text, lower))
    return found


def _resolve(candidates: list[Finding]) -> tuple[Finding, ...]:
    """Sorted, non-overlapping findings: overlapping candidates merge into one span covering all
    of them (so no character any detector claimed stays visible), named by the first of their
    kinds in ``KINDS``."""
    merged: list[Finding] = []
    for cand in sorted(candidates, key=lambda f: (f.start, -f.end)):
        if cand.end <= cand.start:
            continue
        if merged and cand.start < merged[-1].end:
            last = merged[-1]
            kind = min(last.kind, cand.kind, key=_RANK.__getitem__)
            merged[-1] = Finding(kind, last.start, max(last.end, cand.end))
        else:
            merged.append(cand)
    return tuple(merged)


def mask(text: str, findings: tuple[Finding, ...]) -> str:
    """``text`` with each finding's span replaced by its marker (findings sorted, disjoint)."""
    pieces = []
    position = 0
    for finding in findings:
        pieces.append(text[position:finding.start])
        pieces.append(marker(finding.kind))
        position = finding.end
    pieces.append(text[position:])
    return "".join(pieces)


def scan(text: str) -> GuardResult:
    """Find and mask every secret in ``text``."""
    if not isinstance(text, str):
        raise ValueError(f"scan() needs a str, got {type(text).__name__}")
    findings = _resolve(_candidates(text.translate(_HALF_WIDTH)))
    if not findings:
        return GuardResult(text, ())
    return GuardResult(mask(text, findings), findings)
