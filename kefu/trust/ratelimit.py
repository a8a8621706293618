"""Rate limits per IP address, customer and visitor: one small mechanism for every route.

``rate_limit("verify", per_ip=(30, 60))`` is a FastAPI dependency: at most 30 requests a minute
from one address, refused with 429, ``Retry-After`` and ``{"error": {"code": "rate_limited"}}``.
Embedded mode counts in the process (a token bucket per key, so bursts up to the limit pass and
the allowance refills smoothly). With ``KEFU_REDIS_URL`` every process counts in Redis (a fixed
window per key, one atomic script call), so N processes share one limit; if Redis cannot be
reached, the process falls back to counting on its own rather than refusing or waving everyone
through. The limiter belongs to the application (created in its lifespan, ``install``), never to
a module global."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from fastapi import FastAPI, Request

from kefu.accounts.actor import Actor
from kefu.accounts.deps import ActorDep
from kefu.core.logging import get_logger
from kefu.trust.errors import RateLimited

log = get_logger("kefu.trust.ratelimit")
MAX_KEYS = 100_000  # in-process buckets kept before idle (full) ones are forgotten
REDIS_PREFIX = "kefu:rl:"
# INCR the window's counter, starting its expiry on the first hit; returns the count.
_WINDOW_SCRIPT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n
"""


@dataclass(frozen=True)
class Rate:
    """At most ``limit`` requests per ``period_s`` seconds."""

    limit: int
    period_s: float

    def __post_init__(self) -> None:
        if self.limit < 1 or self.period_s <= 0:
            raise ValueError("a rate needs a positive limit and period")


class Limiter(Protocol):
    async def hit(self, key: str, rate: Rate) -> float | None:
        """Count one request for ``key``: None when allowed, else seconds until it would be."""
        ...

    async def aclose(self) -> None: ...


class MemoryLimiter:
    """Token buckets in this process: ``limit`` tokens, refilled at ``limit / period_s``."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[str, tuple[float, float, Rate]] = {}  # key -> (tokens, at, rate)

    async def hit(self, key: str, rate: Rate) -> float | None:
        now = self._clock()
        if len(self._buckets) > MAX_KEYS:
            self._forget_full(now)
        tokens, at, _ = self._buckets.get(key, (float(rate.limit), now, rate))
        refill = rate.limit / rate.period_s
        tokens = min(float(rate.limit), tokens + (now - at) * refill)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now, rate)
            return None
        self._buckets[key] = (tokens, now, rate)
        return (1.0 - tokens) / refill

    def _forget_full(self, now: float) -> None:
        """A bucket that has refilled completely is the same as no bucket."""
        self._buckets = {
            key: (tokens, at, rate) for key, (tokens, at, rate) in self._buckets.items()
            if tokens + (now - at) * rate.limit / rate.period_s < rate.limit
        }

    async def aclose(self) -> None:
        self._buckets.clear()


class RedisLimiter:
    """A fixed window per key in Redis, shared by every process. A burst of up to twice the
    limit can straddle a window boundary; that is the price of one round trip per request."""

    def __init__(self, url: str, clock: Callable[[], float] = time.time) -> None:
        import redis.asyncio as redis

        self._redis = redis.from_url(url, decode_responses=True, socket_timeout=1.0,
                                     socket_connect_timeout=1.0)
        self._clock = clock
        self._fallback = MemoryLimiter()
        self._script: Any = self._redis.register_script(_WINDOW_SCRIPT)

    async def hit(self, key: str, rate: Rate) -> float | None:
        from redis.exceptions import RedisError

        now = self._clock()
        window = int(now // rate.period_s)
        window_end = (window + 1) * rate.period_s
        try:
            count = int(await self._script(keys=[f"{REDIS_PREFIX}{key}:{window}"],
                                           args=[int(rate.period_s * 1000) + 1000]))
        except (RedisError, OSError) as exc:
            log.warning("rate_limit_redis_unavailable", error=type(exc).__name__)
            return await self._fallback.hit(key, rate)
        return None if count <= rate.limit else window_end - now

    async def aclose(self) -> None:
        await self._redis.aclose()


def create_limiter(redis_url: str | None) -> Limiter:
    return RedisLimiter(redis_url) if redis_url else MemoryLimiter()


def limiter_of(app: FastAPI) -> Limiter:
    """The application's limiter; an in-process one when the app was never started (tests
    that call routes without a lifespan)."""
    limiter: Limiter | None = getattr(app.state, "rate_limiter", None)
    if limiter is None:
        limiter = app.state.rate_limiter = MemoryLimiter()
    return limiter


def install(app: FastAPI) -> None:
    """Create the limiter when the application starts and close it when it stops, around the
    application's own lifespan."""
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(application: Any) -> AsyncIterator[None]:
        # Kefu's lifespan keeps what it builds on ``app.state`` and yields no state.
        async with inner(application):
            limiter = create_limiter(application.state.settings.redis_url)
            application.state.rate_limiter = limiter
            try:
                yield
            finally:
                await limiter.aclose()
                application.state.rate_limiter = None

    app.router.lifespan_context = lifespan


def client_ip(request: Request) -> str:
    """The address the request came from (behind a proxy, run uvicorn with --proxy-headers)."""
    return request.client.host if request.client else "unknown"


@dataclass(frozen=True)
class RateRule:
    """Named limits for one route or action, by scope. Agents are limited by IP only."""

    name: str
    per_ip: Rate | None = None
    per_customer: Rate | None = None
    per_visitor: Rate | None = None

    def keys(self, ip: str, actor: Actor | None) -> list[tuple[str, Rate]]:
        keys: list[tuple[str, Rate]] = []
        if self.per_ip is not None:
            keys.append((f"{self.name}:ip:{ip}", self.per_ip))
        if actor is not None and actor.agent is None:
            if self.per_customer is not None and actor.kind == "customer" and actor.customer:
                keys.append((f"{self.name}:customer:{actor.customer.id}", self.per_customer))
            if self.per_visitor is not None and actor.kind == "visitor" and actor.visitor_id:
                keys.append((f"{self.name}:visitor:{actor.visitor_id}", self.per_visitor))
        return keys

    async def check(self, limiter: Limiter, *, ip: str, actor: Actor | None = None) -> None:
        """Count the request in each of its scopes; ``RateLimited`` if any is used up."""
        waits = [wait for key, rate in self.keys(ip, actor)
                 if (wait := await limiter.hit(key, rate)) is not None]
        if waits:
            raise RateLimited(max(waits))


def rate_limit(
    name: str,
    *,
    per_ip: tuple[int, float] | None = None,
    per_customer: tuple[int, float] | None = None,
    per_visitor: tuple[int, float] | None = None,
) -> Callable[..., Awaitable[None]]:
    """A dependency limiting a route: ``dependencies=[Depends(rate_limit("verify",
    per_ip=(30, 60)))]``. Limits are ``(requests, seconds)``. Per-customer and per-visitor limits
    resolve the caller (``get_actor``); a per-IP-only limit does not touch the database."""
    rule = RateRule(
        name,
        per_ip=Rate(*per_ip) if per_ip else None,
        per_customer=Rate(*per_customer) if per_customer else None,
        per_visitor=Rate(*per_visitor) if per_visitor else None,
    )
    if rule.per_customer is None and rule.per_visitor is None:
        async def by_ip(request: Request) -> None:
            await rule.check(limiter_of(request.app), ip=client_ip(request))

        return by_ip

    async def by_caller(request: Request, actor: ActorDep) -> None:
        await rule.check(limiter_of(request.app), ip=client_ip(request), actor=actor)

    return by_caller
