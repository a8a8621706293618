"""Signing the exchange's callbacks to Kefu (step-up identity results).

The exchange sends ``X-Kefu-Signature: t=<unix seconds>,v1=<hex>`` where ``v1`` is
HMAC-SHA256 over ``"<t>." + raw body`` with the shared secret (``KEFU_EXCHANGE_CALLBACK_SECRET``).
The timestamp inside the MAC bounds how long a captured request stays valid; Kefu also refuses a
second result for the same check, so a replay inside that window changes nothing."""

from __future__ import annotations

import hashlib
import hmac
from typing import Final

SIGNATURE_HEADER: Final = "X-Kefu-Signature"
TOLERANCE_S: Final = 300


class BadSignature(ValueError):
    """The callback is not provably from the exchange; ``str(exc)`` says which check failed."""


def _mac(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, *, timestamp: int) -> str:
    """The header value the exchange sends with ``body`` at ``timestamp`` (unix seconds)."""
    if not secret:
        raise ValueError("a callback secret is needed to sign")
    return f"t={timestamp},v1={_mac(secret, timestamp, body)}"


def verify(secret: str, body: bytes, header: str | None, *, now: float,
           tolerance_s: int = TOLERANCE_S) -> None:
    """Raise ``BadSignature`` unless ``header`` signs ``body`` with ``secret`` within
    ``tolerance_s`` of ``now``. Compared in constant time; several ``v1`` values (during a
    secret rotation the exchange may send one per secret) are accepted if any matches."""
    if not header:
        raise BadSignature("missing signature")
    parts = [part.strip().partition("=") for part in header.split(",")]
    stamps = [value for key, _, value in parts if key == "t"]
    macs = [value for key, _, value in parts if key == "v1"]
    if len(stamps) != 1 or not stamps[0].isdigit() or not macs:
        raise BadSignature("malformed signature header")
    timestamp = int(stamps[0])
    if abs(now - timestamp) > tolerance_s:
        raise BadSignature("signature timestamp is too old or in the future")
    expected = _mac(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, mac) for mac in macs):
        raise BadSignature("signature does not match")
