"""Choosing the exchange adapter from settings; the application builds one in its lifespan."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from kefu.config import Settings
from kefu.exchange.base import ExchangeAdapter
from kefu.exchange.breaker import CircuitBreaker
from kefu.exchange.demo import DemoExchangeAdapter
from kefu.exchange.http import HttpExchangeAdapter


def build_exchange_adapter(
    settings: Settings, *, clock: Callable[[], datetime] | None = None
) -> ExchangeAdapter:
    """The adapter ``KEFU_EXCHANGE_ADAPTER`` names; the caller owns it and must ``aclose()`` it.

    ``http`` needs ``KEFU_EXCHANGE_BASE_URL`` and ``KEFU_EXCHANGE_API_KEY``: a missing one is a
    ``ValueError`` at startup rather than an agent console that silently shows nothing.
    ``clock`` only affects the demo adapter. The http adapter gets its own circuit breaker
    (``KEFU_EXCHANGE_BREAKER_*``): its state is this adapter's, in this process.
    """
    if settings.exchange_adapter == "demo":
        return DemoExchangeAdapter(clock=clock)
    if not settings.exchange_base_url:
        raise ValueError("KEFU_EXCHANGE_ADAPTER=http requires KEFU_EXCHANGE_BASE_URL")
    api_key = settings.exchange_api_key
    if api_key is None or not api_key.get_secret_value().strip():
        raise ValueError("KEFU_EXCHANGE_ADAPTER=http requires KEFU_EXCHANGE_API_KEY")
    if settings.exchange_timeout_s <= 0:
        raise ValueError("KEFU_EXCHANGE_TIMEOUT_S must be positive")
    return HttpExchangeAdapter(
        settings.exchange_base_url,
        api_key,
        settings.exchange_timeout_s,
        breaker=CircuitBreaker(failures=settings.exchange_breaker_failures,
                               cool_off_s=settings.exchange_breaker_cool_off_s),
    )
