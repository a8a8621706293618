"""Identifiers: unguessable, never sequential; row ids ordered by time of creation."""

from __future__ import annotations

import re
import secrets
import time
import uuid
from typing import Final

# Crockford-style alphabet without I, L, O, U, 0, 1: easy to read aloud and to type on a phone.
TICKET_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
TICKET_NUMBER_LENGTH = 6
TICKET_NUMBER_RE = re.compile(rf"^KF-[{TICKET_ALPHABET}]{{{TICKET_NUMBER_LENGTH}}}$")


def new_id() -> uuid.UUID:
    """A UUIDv7 (RFC 9562): the Unix time in milliseconds, then 74 random bits.

    Ids made close in time sort close together, so a new row's entry lands at the right edge of
    its primary-key index (and of every index led by a ticket's id, for the recent tickets that
    are getting messages), on pages already in the cache, instead of on a random page of an
    index that grows with the whole history. The 74 bits come from the OS's CSPRNG, with no
    counter (CPython 3.14's ``uuid7`` and uuid-utils spend up to 42 of them on one): an id
    gives away when its row was made, which every such row says anyway, and nothing about its
    neighbours. Ids never grant access; every read is checked against the caller."""
    random = secrets.randbits(74)
    return uuid.UUID(int=(time.time_ns() // 1_000_000) << 80 | _VERSION_7
                     | (random >> 62) << 64 | random & _RAND_B)


_VERSION_7: Final = 0x7 << 76 | 0b10 << 62  # the version nibble and the variant bits
_RAND_B: Final = (1 << 62) - 1


def new_ticket_number() -> str:
    """``KF-7Q4M2X``: 30^6 ≈ 729 million values from the OS CSPRNG; uniqueness is enforced by the
    database and the caller retries on collision. Knowing one grants nothing: access is always
    checked against the caller."""
    return "KF-" + "".join(secrets.choice(TICKET_ALPHABET) for _ in range(TICKET_NUMBER_LENGTH))


_CANONICAL: Final = re.compile(rf"KF-[{TICKET_ALPHABET}]{{{TICKET_NUMBER_LENGTH}}}")
_SEPARATORS: Final = re.compile(r"[\s\-_]")


def normalize_ticket_number(raw: str) -> str | None:
    """Accept what people type (``kf 7q4m2x``, ``KF7Q4M2X``) and return the canonical form."""
    if _CANONICAL.fullmatch(raw):  # what the apps send: every chat message names its ticket
        return raw
    cleaned = _SEPARATORS.sub("", raw.strip().upper())
    if cleaned.startswith("KF"):
        cleaned = cleaned[2:]
    candidate = f"KF-{cleaned}"
    return candidate if TICKET_NUMBER_RE.match(candidate) else None


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)
