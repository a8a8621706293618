"""The exchange adapter: how Kefu reads a customer's context from the exchange's back office.

Two implementations ship: ``DemoExchangeAdapter`` (generated data, no network) and
``HttpExchangeAdapter`` (the API in ``docs/exchange-api.yaml``). Callers depend on this protocol
only, and must treat ``ExchangeUnavailable`` as normal: the console shows "context unavailable"
and the conversation goes on without it.
"""

from __future__ import annotations

from typing import Protocol

from kefu.core.errors import KefuError
from kefu.exchange.schemas import (
    CustomerContext,
    Deposit,
    IdentityCheckRequest,
    IdentityCheckStarted,
)


class ExchangeUnavailable(KefuError):
    """The back office could not give an answer (down, slow, misconfigured, or answered nonsense).

    The message is for operators and logs; it never contains the API key or customer data.
    ``outage``: the back office itself failed (timed out, unreachable, 5xx, 429), as opposed
    to answering something Kefu cannot use; outages open the HTTP adapter's circuit breaker.
    """

    def __init__(self, message: str, *, outage: bool = False) -> None:
        super().__init__(message, code="exchange_unavailable", status=502)
        self.outage = outage


class CustomerNotFound(KefuError):
    """The exchange has no customer with this external id."""

    def __init__(self, external_id: str) -> None:
        super().__init__(
            "the exchange has no customer with this external id",
            code="exchange_customer_not_found",
            status=404,
        )
        self.external_id = external_id


class ExchangeAdapter(Protocol):
    async def customer_context(self, external_id: str) -> CustomerContext:
        """The customer's current context.

        Raises ``CustomerNotFound`` for an unknown id, ``ExchangeUnavailable`` otherwise.
        """
        ...

    async def find_deposit(self, external_id: str, *, txid: str) -> Deposit | None:
        """The customer's deposit with this transaction id, or ``None`` when the exchange has not
        seen it on this account (wrong address, wrong network, not yet detected).

        Hex txids match case-insensitively and with or without ``0x``; others match exactly.
        """
        ...

    async def start_identity_check(
        self, external_id: str, check: IdentityCheckRequest
    ) -> IdentityCheckStarted:
        """Ask the exchange to re-authenticate the customer (step-up identity verification).

        The answer is the exchange page to send the customer to; when they have signed in again
        (or given up), the exchange POSTs an ``IdentityCheckResult`` to ``check.callback_url``,
        signed as ``kefu.exchange.callbacks`` describes. Raises ``CustomerNotFound`` or
        ``ExchangeUnavailable``.
        """
        ...

    async def aclose(self) -> None:
        """Release connections; called once from the application's lifespan."""
        ...


def normalize_txid(txid: str) -> str:
    """The form in which two txids are compared: trimmed; hex lower-cased without ``0x``.

    Bitcoin, TRON and XRP explorers print the same hash in different cases and EVM wallets add
    ``0x``; base58 ids (Solana) are case-sensitive and kept as they are.
    """
    value = txid.strip()
    body = value[2:] if value[:2] in ("0x", "0X") else value
    if body and all(c in "0123456789abcdefABCDEF" for c in body):
        return body.lower()
    return value
