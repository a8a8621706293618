"""Customers' chat messages are analysed in a worker process: the secret scan, the abuse screen
and the language, on the core that the event loop does not use.

The chat server is one event loop. Profiled at 1,000 customers (closed loop), that analysis was
about 30 % of the loop's time (abuse lexicons 17 %, language detection 12 %, secret scan 1 %)
while the machine's second core sat mostly idle. It is a pure function of the message's text, so
:class:`ChatAnalyzer` sends the bodies that arrive meanwhile to one worker process in a batch
and hands each ``send`` its :class:`Analysis` before the send joins the writer's batch.

What cannot move stays in the writer: whether an earlier message of the same batch repeats this
one (the abuse screen's near-duplicate count) is checked there, and a message found clean here is
still refused or masked on the slow path when the writer finds more. Until the worker has
started (a second or two after the server), and whenever it fails, the writer analyses inline,
as it always could, so a send never waits for the worker to come back. A worker that dies
(killed, out of memory) is noticed by the next batch sent to it and replaced after a pause
(``restart_after_s``, 5 s, doubling up to 5 minutes while new workers keep failing), so the loop
does not carry the analysis for the rest of the process's life.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial

from kefu.core.language import detect_language
from kefu.core.logging import get_logger
from kefu.guard.abuse import screen
from kefu.guard.secrets import scan

log = get_logger("kefu.realtime.analysis")
MAX_BATCH = 256
RESTART_AFTER_S = 5.0
RESTART_AT_MOST_S = 300.0


@dataclass(frozen=True, slots=True)
class Analysis:
    """What the writer needs to know of one customer message, computed ahead."""

    clean: bool  # nothing for the secret guard to mask
    actionable: bool  # the abuse screen wants something done (without repeats in its batch)
    language: str | None


def analyse(body: str) -> Analysis:
    return Analysis(scan(body).clean, screen(body).actionable, detect_language(body))


def analyse_all(bodies: list[str]) -> list[Analysis]:
    """The worker's task: one batch of bodies."""
    return [analyse(body) for body in bodies]


def _warm() -> bool:
    """Load the lexicons and the language models before the first real batch."""
    analyse("warm up: 充值没到账, deposit not credited")
    return True


class ChatAnalyzer:
    """A worker process, fed in batches; ``analyse`` returns None where the caller must do the
    work itself (not enabled, still starting, or broken)."""

    def __init__(self, *, enabled: bool, restart_after_s: float = RESTART_AFTER_S) -> None:
        self.enabled = enabled
        self.restart_after_s = restart_after_s
        self._pool: ProcessPoolExecutor | None = None
        self._ready = False
        self._pending: list[tuple[str, asyncio.Future[Analysis | None]]] = []
        self._busy = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._pause = restart_after_s
        self._restart: asyncio.TimerHandle | None = None
        self._stopped = False
        self.batches = 0
        self.restarts = 0

    async def start(self) -> None:
        if not self.enabled:
            return
        self._stopped = False
        self._spawn()

    def _spawn(self) -> None:
        # spawn, not fork: the server has threads (aiosqlite, the job runner) by now
        pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        self._pool = pool
        warming = asyncio.get_running_loop().run_in_executor(pool, _warm)
        warming.add_done_callback(partial(self._warmed, pool))

    def _warmed(self, pool: ProcessPoolExecutor, future: asyncio.Future[bool]) -> None:
        if pool is not self._pool:
            return  # stopped, or replaced, while it warmed up
        if future.cancelled() or future.exception() is not None:
            log.warning("analysis_worker_failed", error=repr(future.exception())
                        if not future.cancelled() else "cancelled")
            self._broken(pool)
            return
        self._ready = True

    def _broken(self, pool: ProcessPoolExecutor) -> None:
        """``pool``'s worker is gone: inline from now on, a new worker after a pause."""
        if pool is not self._pool:
            return  # already replaced
        self._ready = False
        self._pool = None
        with contextlib.suppress(Exception):
            pool.shutdown(wait=False, cancel_futures=True)
        if self._stopped or self._restart is not None:
            return
        delay, self._pause = self._pause, min(self._pause * 2, RESTART_AT_MOST_S)
        self._restart = asyncio.get_running_loop().call_later(delay, self._respawn)

    def _respawn(self) -> None:
        self._restart = None
        if self._stopped:
            return
        self.restarts += 1
        log.info("analysis_worker_restarting", restarts=self.restarts)
        self._spawn()

    @property
    def ready(self) -> bool:
        return self._ready

    async def analyse(self, body: str) -> Analysis | None:
        if not self._ready:
            return None
        future: asyncio.Future[Analysis | None] = asyncio.get_running_loop().create_future()
        self._pending.append((body, future))
        self._kick()
        return await future

    def _kick(self) -> None:
        """One batch at a time: what arrives while the worker is busy goes in the next one."""
        if self._busy or not self._pending:
            return
        batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
        self._busy = True
        task = asyncio.get_running_loop().create_task(self._run(batch))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, batch: list[tuple[str, asyncio.Future[Analysis | None]]]) -> None:
        results: list[Analysis] | None = None
        pool = self._pool
        try:
            assert pool is not None
            results = await asyncio.get_running_loop().run_in_executor(
                pool, analyse_all, [body for body, _ in batch])
            self.batches += 1
            self._pause = self.restart_after_s  # a working worker: the next failure is new
        except Exception as exc:  # noqa: BLE001 - the writer analyses inline instead
            log.warning("analysis_batch_failed", size=len(batch), error=type(exc).__name__)
            if pool is not None:
                self._broken(pool)
        finally:
            for index, (_, future) in enumerate(batch):
                if not future.done():
                    future.set_result(results[index] if results is not None else None)
            self._busy = False
            if self._ready:
                self._kick()
            else:
                for _, future in self._pending:
                    if not future.done():
                        future.set_result(None)
                self._pending = []

    async def stop(self) -> None:
        self._ready = False
        self._stopped = True
        if self._restart is not None:
            self._restart.cancel()
            self._restart = None
        for _, future in self._pending:
            if not future.done():
                future.set_result(None)
        self._pending = []
        if self._pool is not None:
            with contextlib.suppress(Exception):
                self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
