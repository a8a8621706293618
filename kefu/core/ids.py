"""Identifiers: random, unguessable, never sequential."""

from __future__ import annotations

import re
import secrets
import uuid
from typing import Final

# Crockford-style alphabet without I, L, O, U, 0, 1: easy to read aloud and to type on a phone.
TICKET_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
TICKET_NUMBER_LENGTH = 6
TICKET_NUMBER_RE = re.compile(rf"^KF-[{TICKET_ALPHABET}]{{{TICKET_NUMBER_LENGTH}}}$")


def new_id() -> uuid.UUID:
    return uuid.uuid4()


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
