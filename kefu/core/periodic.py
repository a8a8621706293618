"""A coroutine run every few seconds in a background task: the realtime feeds' clock."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any


class Periodic:
    """Runs ``tick`` every ``every_s`` seconds (the first after one interval) until stopped. A
    tick that raises is logged as ``failure_event`` and the next one runs as usual."""

    def __init__(self, every_s: float, tick: Callable[[], Awaitable[Any]], *, name: str,
                 log: Any, failure_event: str) -> None:
        self.every_s = every_s
        self._tick = tick
        self._name = name
        self._log = log
        self._failure_event = failure_event
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=self._name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.every_s)
            try:
                await self._tick()
            except Exception as exc:  # noqa: BLE001 - the next tick tries again
                self._log.warning(self._failure_event, error=type(exc).__name__)
