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
OUTBOX_SIZE = 100_000  # events waiting for the publisher; beyond that they are dropped
PUBLISH_BATCH = 1_000  # events sent in one pipeline


class Broker(Protocol):
    async def start(self, listener: Listener, on_resume: Callable[[], None] | None = None
                    ) -> None: ...

    async def stop(self) -> None: ...

    async def publish(self, topic: str, event: dict[str, Any]) -> None: ...


class InProcessBroker:
    """Events go straight to this process's listener."""

    def __init__(self) -> None:
        self._listener: Listener | None = None

    async def start(self, listener: Listener, on_resume: Callable[[], None] | None = None
                    ) -> None:
        self._listener = listener

    async def stop(self) -> None:
        self._listener = None

    async def publish(self, topic: str, event: dict[str, Any]) -> None:
        if self._listener is not None:
            self._listener(topic, event)


class RedisBroker:
    """Redis pub/sub: PUBLISH on ``kefu:rt:<topic>``, one PSUBSCRIBE reader per process that
    hands every event to the local listener. Reconnects with backoff if Redis goes away.

    Publishing does not wait for Redis: :meth:`publish` queues the event and one publisher task
    sends whatever is queued in a single pipeline (one round trip for many events, in order,
    over one connection). So the group-commit writer, which publishes after each commit before
    it acknowledges, never waits on Redis, and a burst of events (an agent opening fifty
    conversations) cannot exhaust the client's connection pool."""

    def __init__(self, url: str) -> None:
        import redis.asyncio as redis

        self._redis = redis.from_url(url, decode_responses=True)
        self._task: asyncio.Task[None] | None = None
        self._publisher: asyncio.Task[None] | None = None
        self._outbox: asyncio.Queue[tuple[str, str]] = asyncio.Queue(maxsize=OUTBOX_SIZE)
        self._listener: Listener | None = None
        self._on_resume: Callable[[], None] | None = None
        self._ready = asyncio.Event()
        self._connected = False  # the reader is subscribed, so Redis is there
        self.dropped = 0  # events not published (Redis unreachable, or the outbox full)
        self.published = 0

    async def start(self, listener: Listener, on_resume: Callable[[], None] | None = None
                    ) -> None:
        """``on_resume`` runs each time the subscription comes back after Redis was away: the
        events of that gap are gone, so followers re-read what they follow from the database."""
        self._listener = listener
        self._on_resume = on_resume
        self._task = asyncio.create_task(self._read(), name="kefu-redis-broker")
        self._publisher = asyncio.create_task(self._publish_loop(), name="kefu-redis-publisher")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ready.wait(), timeout=10)

    async def stop(self) -> None:
        """Send what is queued (briefly), then stop reading and close."""
        if self._publisher is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._outbox.join(), timeout=5)
        self._connected = False
        for task in (self._publisher, self._task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self._redis.aclose()

    async def publish(self, topic: str, event: dict[str, Any]) -> None:
        """At most once, and without waiting: the event is queued for the publisher task. While
        the reader is reconnecting (Redis is down) events are dropped at once, as they are when
        the outbox is full; clients catch up from the database."""
        if not self._connected:
            self.dropped += 1
            return
        try:
            self._outbox.put_nowait((CHANNEL_PREFIX + topic, json.dumps(event, default=str)))
        except asyncio.QueueFull:
            self.dropped += 1

    async def _publish_loop(self) -> None:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError

        while True:
            batch = [await self._outbox.get()]
            while len(batch) < PUBLISH_BATCH and not self._outbox.empty():
                batch.append(self._outbox.get_nowait())
            try:
                try:
                    await self._send(batch)
                except (RedisConnectionError, RedisTimeoutError):
                    # A pooled connection from before a Redis restart fails on first use; the
                    # failed one is discarded and the retry opens a fresh one.
                    await self._send(batch)
                self.published += len(batch)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - at most once: committed data is safe
                self.dropped += len(batch)
                log.warning("publish_failed", events=len(batch), error=type(exc).__name__)
            finally:
                for _ in batch:
                    self._outbox.task_done()

    async def _send(self, batch: list[tuple[str, str]]) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            for channel, data in batch:
                pipe.publish(channel, data)
            await pipe.execute()

    async def _read(self) -> None:
        delay = 0.1
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.psubscribe(CHANNEL_PREFIX + "*")
                if self.dropped:
                    log.warning("redis_broker_resumed", dropped_events=self.dropped)
                    self.dropped = 0
                self._connected = True
                if self._ready.is_set() and self._on_resume is not None:
                    self._on_resume()
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
                self._connected = False
                log.warning("redis_broker_reconnect", error=type(exc).__name__, delay_s=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()


def create_broker(redis_url: str | None) -> Broker:
    return RedisBroker(redis_url) if redis_url else InProcessBroker()
