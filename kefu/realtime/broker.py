"""Pub/sub between processes. In embedded mode events stay in the process; in cluster mode
they go through Redis so every app process sees every event.

Events are small JSON objects published *after* the transaction that caused them committed
(see ``kefu.realtime.events``). Delivery through the broker is at most once: a process that
misses an event (Redis restart) is caught up by the client's ``resume`` with ``since=N``, which
reads the database — the source of truth."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from typing import Any, Protocol

from kefu.core.logging import get_logger

log = get_logger("kefu.realtime.broker")
Listener = Callable[[str, dict[str, Any]], None]
CHANNEL_PREFIX = "kefu:rt:"


class Broker(Protocol):
    async def start(self, listener: Listener) -> None: ...

    async def stop(self) -> None: ...

    async def publish(self, topic: str, event: dict[str, Any]) -> None: ...


class InProcessBroker:
    """Events go straight to this process's listener."""

    def __init__(self) -> None:
        self._listener: Listener | None = None

    async def start(self, listener: Listener) -> None:
        self._listener = listener

    async def stop(self) -> None:
        self._listener = None

    async def publish(self, topic: str, event: dict[str, Any]) -> None:
        if self._listener is not None:
            self._listener(topic, event)


class RedisBroker:
    """Redis pub/sub: PUBLISH on ``kefu:rt:<topic>``, one PSUBSCRIBE reader per process that
    hands every event to the local listener. Reconnects with backoff if Redis goes away."""

    def __init__(self, url: str) -> None:
        import redis.asyncio as redis

        self._redis = redis.from_url(url, decode_responses=True)
        self._task: asyncio.Task[None] | None = None
        self._listener: Listener | None = None
        self._ready = asyncio.Event()

    async def start(self, listener: Listener) -> None:
        self._listener = listener
        self._task = asyncio.create_task(self._read(), name="kefu-redis-broker")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ready.wait(), timeout=10)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._redis.aclose()

    async def publish(self, topic: str, event: dict[str, Any]) -> None:
        await self._redis.publish(CHANNEL_PREFIX + topic, json.dumps(event, default=str))

    async def _read(self) -> None:
        delay = 0.1
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.psubscribe(CHANNEL_PREFIX + "*")
                self._ready.set()
                delay = 0.1
                async for message in pubsub.listen():
                    if message.get("type") != "pmessage" or self._listener is None:
                        continue
                    topic = str(message["channel"])[len(CHANNEL_PREFIX):]
                    try:
                        event = json.loads(message["data"])
                    except (TypeError, ValueError):
                        continue
                    self._listener(topic, event)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - reconnect on any Redis failure
                log.warning("redis_broker_reconnect", error=type(exc).__name__, delay_s=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()


def create_broker(redis_url: str | None) -> Broker:
    return RedisBroker(redis_url) if redis_url else InProcessBroker()
