"""One person's send budget shared by every process of a cluster.

A person's ``send`` frames are limited across all their connections (20/s, burst 60:
``protocol.CUSTOMER_RATE``; a long body takes a token per started 1,000 characters). Each
process keeps a token bucket per person (:meth:`kefu.realtime.hub.Hub.take_send`); in cluster
mode a customer whose connections reach N processes would get N budgets, so there the
process's bucket only filters (a send it refuses would be refused by the shared one too) and the
last word is a token bucket in Redis, the same arithmetic in one atomic script on Redis's clock.

The chat's hot path must not open a Redis connection per send, nor wait for one round trip per
send each: the sends that ask at one moment go to Redis together, in one call, from one
task (as the broker's publisher does), so a thousand customers writing at once cost a few round
trips on one connection, one script call each for the whole batch. Measured on a busy 2-core box:
about 10 µs of the loop's time per send with 100 sends asking together, 150 µs for a lone send
(a round trip of its own), against milliseconds for the send's commit. Embedded mode never
comes here. If Redis cannot be reached, sends are limited per process (each process's own
bucket) until it is back; a send never waits for Redis to come back, and nobody is refused
because it is away."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from kefu.core.logging import get_logger

log = get_logger("kefu.realtime.budget")
KEY_PREFIX = "kefu:sends:"
BATCH = 1_000  # takes sent in one call
RETRY_REDIS_AFTER_S = 5.0  # after a failure, sends are limited per process for this long
# Token buckets, one per key: ``tokens`` left at ``at`` (milliseconds, Redis's clock), refilled
# at ARGV[3i-2] tokens a second up to ARGV[3i-1] for KEYS[i]. One call takes ARGV[3i] tokens
# from each key in turn (a key may come more than once) and returns, per key, the seconds until
# that many are there: "0" when they were taken. A bucket left alone until it is full expires
# (it is the same as none). One call for the whole batch: a command per take cost the event
# loop more than the take.
_TAKE = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local waits = {}
for i, key in ipairs(KEYS) do
  local rate, burst = tonumber(ARGV[3 * i - 2]), tonumber(ARGV[3 * i - 1])
  local amount = tonumber(ARGV[3 * i])
  local state = redis.call('HMGET', key, 'tokens', 'at')
  local tokens, at = tonumber(state[1]), tonumber(state[2])
  if tokens == nil or at == nil then tokens, at = burst, now end
  tokens = math.min(burst, tokens + math.max(0, now - at) * rate / 1000)
  local wait = 0
  if tokens >= amount then tokens = tokens - amount else wait = (amount - tokens) / rate end
  redis.call('HSET', key, 'tokens', tostring(tokens), 'at', tostring(now))
  redis.call('PEXPIRE', key, math.ceil(burst / rate * 1000) + 1000)
  waits[i] = tostring(wait)
end
return waits
"""


class SharedSendBudget:
    """Per-person send budgets in Redis (cluster mode)."""

    def __init__(self, url: str) -> None:
        import redis.asyncio as redis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        # One retry, at once: a pooled connection from before a Redis restart fails on first
        # use. Short timeouts: the sends of a batch wait for it.
        self._redis = redis.from_url(url, decode_responses=True, socket_timeout=0.5,
                                     socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 1))
        self._sha: str | None = None
        self._waiting: list[tuple[str, float, float, float, asyncio.Future[float | None]]] = []
        self._sender: asyncio.Task[None] | None = None
        self._away_until = 0.0  # monotonic: Redis failed; per-process limits until then
        self.round_trips = 0

    async def take(self, key: str, rate: float, burst: float, amount: float = 1.0
                   ) -> float | None:
        """Take a send of ``amount`` tokens from ``key``'s budget: None when allowed, else the
        seconds until it would be. None also while Redis cannot be reached (the caller's own
        bucket limits)."""
        if time.monotonic() < self._away_until:
            return None
        future: asyncio.Future[float | None] = asyncio.get_running_loop().create_future()
        self._waiting.append((KEY_PREFIX + key, rate, burst, amount, future))
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._send(), name="kefu-send-budget")
        return await future

    async def _send(self) -> None:
        """Send what is waiting, a batch at a time, until nothing is."""
        while self._waiting:
            batch, self._waiting = self._waiting[:BATCH], self._waiting[BATCH:]
            try:
                waits = await self._ask(batch)
            except asyncio.CancelledError:
                for *_, future in batch:
                    future.cancel()
                raise
            except Exception as exc:  # noqa: BLE001 - per-process limits meanwhile
                if time.monotonic() >= self._away_until:
                    log.warning("send_budget_redis_unavailable", error=type(exc).__name__,
                                retry_in_s=RETRY_REDIS_AFTER_S)
                self._away_until = time.monotonic() + RETRY_REDIS_AFTER_S
                waits = [None] * len(batch)
            for (*_, future), wait in zip(batch, waits, strict=True):
                if not future.done():
                    future.set_result(wait)

    async def _ask(self, batch: list[tuple[str, float, float, float, Any]]
                   ) -> list[float | None]:
        from redis.exceptions import NoScriptError

        keys = [key for key, *_ in batch]
        arguments = [value for _, rate, burst, amount, _ in batch
                     for value in (rate, burst, amount)]
        for attempt in range(2):
            if self._sha is None:
                self._sha = str(await self._redis.script_load(_TAKE))
            try:
                self.round_trips += 1
                answers = await self._redis.evalsha(self._sha, len(keys), *keys, *arguments)
            except NoScriptError:  # Redis restarted, empty: load the script again
                self._sha = None
                if attempt:
                    raise
                continue
            return [None if float(answer) <= 0 else float(answer) for answer in answers]
        raise AssertionError("unreachable")

    async def aclose(self) -> None:
        if self._sender is not None:
            self._sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sender
        await self._redis.aclose()


def create_send_budget(redis_url: str | None) -> SharedSendBudget | None:
    return SharedSendBudget(redis_url) if redis_url else None
