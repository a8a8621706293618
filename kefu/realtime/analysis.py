"""Customers' chat messages are analysed in a worker process: the secret scan, the abuse screen
and the language, on the core that the event loop does not use.

The chat server is one event loop. Profiled at 1,000 customers (closed loop), that analysis was
about 30 % of the loop's time (abuse lexicons 17 %, language detection 12 %, secret scan 1 %)
while the machine's second core sat mostly idle. It is a pure function of the message's text, so
:class:`ChatAnalyzer` sends the bodies that arrive meanwhile to one worker process in a batch
and hands each ``send`` its :class:`Analysis` before the send joins the writer's batch.

The batches travel over a pipe that the event loop itself writes and watches
(``loop.add_reader``), not through a ``ProcessPoolExecutor``: the executor hands every batch and
every result through a thread of its own, which needs the GIL that a busy loop holds, and at
2,000 messages a second that hand-off, not the analysis, made most of a customer message's wait
(a batch's round trip twice its time in the worker; see ``docs/decisions/0002``).

The abuse screen counts a message that repeats the sender's recent ones (the same question again
and again is spam), so each body comes with its sender and ticket (``key``) and the worker keeps
what each key sent in the last ``RECENT_WINDOW`` (:class:`Repeats`; a new worker starts without
it, so a repeat may then be caught a message or two later). A message found clean here is still
refused or masked on the slow path when the writer finds more. Until the worker has
started (a second or two after the server), and whenever it fails, the writer analyses inline,
as it always could, so a send never waits for the worker to come back. A worker that dies
(killed, out of memory) closes its end of the pipe: the loop sees it at once and answers the
batch it had with "analyse inline". One that keeps a batch for ``batch_timeout_s`` (10 s; a
batch takes milliseconds) is killed and handled the same way. Either is replaced after a pause
(``restart_after_s``, 5 s, doubling up to 5 minutes while new workers keep failing), so the loop
does not carry the analysis for the rest of the process's life.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Final, NamedTuple

from kefu.core.language import detect_language
from kefu.core.logging import get_logger
from kefu.core.recent import RecentByKey
from kefu.guard.abuse import (
    NEAR_LENGTH,
    RECENT_MESSAGES,
    RECENT_WINDOW,
    Fingerprint,
    fingerprint,
    same_question,
    screen,
)
from kefu.guard.secrets import scan
from kefu.realtime.metrics import ChatMetrics

log = get_logger("kefu.realtime.analysis")
MAX_BATCH = 256
# Characters a batch may carry beyond its first body: at most ~3 bytes each, a batch fits the
# pipe's buffer (a socket pair's is ~200 KB), so sending it never blocks the event loop, not
# even when the worker has stopped reading (a chat body is at most 20,000 characters).
MAX_BATCH_CHARS = 48_000
RESTART_AFTER_S = 5.0
# A batch takes milliseconds (256 bodies of the longest kind, ~0.5 s); one that takes this long
# means a stuck worker, and every customer's next message would wait for it.
BATCH_TIMEOUT_S = 10.0
RESTART_AT_MOST_S = 300.0


class Analysis(NamedTuple):
    """What the writer needs to know of one customer message, computed ahead. A tuple: it
    crosses the pipe as a plain one (pickling a dataclass cost ~3 µs a message, both sides)."""

    clean: bool  # nothing for the secret guard to mask
    actionable: bool  # the abuse screen wants something done (the sender's repeats counted)
    language: str | None


def analyse(body: str, recent: Sequence[str] = ()) -> Analysis:
    """``recent``: what the same sender wrote in the same conversation lately."""
    return Analysis(scan(body).clean, screen(body, recent=recent).actionable,
                    detect_language(body))


class Repeats:
    """What each sender (a ``key``: who, in which conversation) sent in the last
    ``RECENT_WINDOW``, at most ``RECENT_MESSAGES``, as fingerprints: a new message is compared
    with each at the cost of a set intersection, and only the ones it repeats go to the
    screen. Bounded to the ``MAX_KEYS`` most recent senders."""

    MAX_KEYS = 50_000

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._sent: RecentByKey[str, tuple[float, str, Fingerprint]] = RecentByKey(
            RECENT_MESSAGES, self.MAX_KEYS)

    def repeated(self, key: str, body: str) -> list[str]:
        """The recent messages of ``key`` that ``body`` repeats; ``body`` is remembered."""
        now, mine = self._clock(), fingerprint(body)
        sent = self._sent.get(key)
        window, length = RECENT_WINDOW.total_seconds(), len(mine.text)
        shortest, longest = length * NEAR_LENGTH, length / NEAR_LENGTH
        found = [before for at, before, print_ in sent
                 if now - at <= window
                 and shortest <= len(print_.text) <= longest  # else same_question says no
                 and same_question(mine, print_)]
        self._sent.add(key, (now, body, mine))
        return found


def analyse_all(items: list[tuple[str, str | None]], repeats: Repeats
                ) -> list[tuple[bool, bool, str | None]]:
    """The worker's task: one batch of (body, key), answered as plain tuples."""
    return [tuple(analyse(body, repeats.repeated(key, body) if key else ()))  # type: ignore[misc]
            for body, key in items]


_READY: Final = "ready"
# Texts that load every lexicon and both of lingua's modes (bench/analysis.py warms with them too).
WARM_UP: Final = ("warm up: 充值没到账, deposit not credited",
                  "The seller marked the order paid but I never received the money",
                  "Mon retrait est en attente depuis hier")


def _serve(conn: Connection) -> None:
    """The worker process: load the lexicons and language models (lingua's, on Latin texts
    that its English shortcuts do not decide), say so, then answer batches until the server
    closes the pipe."""
    for text in WARM_UP:
        analyse(text)
    repeats = Repeats()
    try:
        conn.send(_READY)
        while True:
            conn.send(analyse_all(conn.recv(), repeats))
    except (EOFError, OSError):  # the server closed its end (it stopped, or gave up waiting)
        return


@dataclass(eq=False)
class _Worker:
    process: BaseProcess
    conn: Connection  # the server's end of the pipe
    ready: bool = False
    batch: list[asyncio.Future[Analysis | None]] = field(default_factory=list)  # in flight
    overdue: asyncio.TimerHandle | None = None  # the batch in flight's deadline
    oldest_at: float = 0.0  # when the oldest message of the batch in flight came

    def take_batch(self) -> list[asyncio.Future[Analysis | None]]:
        """The batch in flight, which is then no longer in flight (its deadline disarmed)."""
        batch, self.batch = self.batch, []
        if self.overdue is not None:
            self.overdue.cancel()
            self.overdue = None
        return batch


class ChatAnalyzer:
    """A worker process, fed in batches; ``analyse`` returns None where the caller must do the
    work itself (not enabled, still starting, or broken)."""

    def __init__(self, *, enabled: bool, restart_after_s: float = RESTART_AFTER_S,
                 batch_timeout_s: float = BATCH_TIMEOUT_S,
                 metrics: ChatMetrics | None = None) -> None:
        self.enabled = enabled
        self.metrics = metrics or ChatMetrics(None)
        self.restart_after_s = restart_after_s
        self.batch_timeout_s = batch_timeout_s
        self._worker: _Worker | None = None
        # (body, key), its future, and when it came (for ChatMetrics.analysis)
        self._pending: list[tuple[tuple[str, str | None], asyncio.Future[Analysis | None],
                                  float]] = []
        self._pause = restart_after_s
        self._restart: asyncio.TimerHandle | None = None
        self._stopped = False
        self._reaping: set[asyncio.Future[None]] = set()
        self.batches = 0
        self.restarts = 0

    async def start(self) -> None:
        if not self.enabled:
            return
        self._stopped = False
        self._spawn()

    def _spawn(self) -> None:
        # spawn, not fork: the server has threads (aiosqlite, the job runner) by now
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe(duplex=True)
        process = context.Process(target=_serve, args=(theirs,), name="kefu-analysis",
                                  daemon=True)
        try:
            process.start()
        except Exception as exc:  # noqa: BLE001 - analysed inline meanwhile
            log.warning("analysis_worker_failed", error=repr(exc))
            ours.close()
            self._schedule_restart()
            return
        finally:
            theirs.close()
        worker = _Worker(process, ours)
        self._worker = worker
        asyncio.get_running_loop().add_reader(ours.fileno(), self._on_readable, worker)

    @property
    def ready(self) -> bool:
        return self._worker is not None and self._worker.ready

    @property
    def worker_pid(self) -> int | None:
        return self._worker.process.pid if self._worker is not None else None

    async def analyse(self, body: str, key: str | None = None) -> Analysis | None:
        """``key``: the sender and conversation, for the repeats (see :class:`Repeats`)."""
        if not self.ready:
            return None
        future: asyncio.Future[Analysis | None] = asyncio.get_running_loop().create_future()
        self._pending.append(((body, key), future, time.perf_counter()))
        self._kick()
        return await future

    def _kick(self) -> None:
        """One batch at a time: what arrives while the worker is busy goes in the next one."""
        worker = self._worker
        if worker is None or not worker.ready or worker.batch or not self._pending:
            return
        count, chars = 0, 0
        for (body, _), _, _ in self._pending[:MAX_BATCH]:
            chars += len(body)
            if count and chars > MAX_BATCH_CHARS:
                break
            count += 1
        batch, self._pending = self._pending[:count], self._pending[count:]
        worker.batch = [future for _, future, _ in batch]
        worker.oldest_at = batch[0][2]
        try:
            worker.conn.send([item for item, _, _ in batch])
        except (OSError, ValueError) as exc:  # the worker has gone: analysed inline
            log.warning("analysis_batch_failed", size=len(batch), error=type(exc).__name__)
            self._broken(worker)
            return
        worker.overdue = asyncio.get_running_loop().call_later(
            self.batch_timeout_s, self._overdue, worker)

    def _overdue(self, worker: _Worker) -> None:
        """The batch in flight has not come back in ``batch_timeout_s``: the worker is stuck
        (or stopped). It is killed and replaced; its batch is analysed inline."""
        worker.overdue = None
        if worker is not self._worker:
            return
        log.warning("analysis_batch_overdue", size=len(worker.batch),
                    timeout_s=self.batch_timeout_s)
        with contextlib.suppress(Exception):
            worker.process.kill()
        self._broken(worker)

    def _on_readable(self, worker: _Worker) -> None:
        try:
            message = worker.conn.recv()
        except (EOFError, OSError) as exc:
            if worker.ready:
                log.warning("analysis_worker_died", in_flight=len(worker.batch),
                            error=type(exc).__name__)
            else:
                log.warning("analysis_worker_failed", error=type(exc).__name__)
            self._broken(worker)
            return
        if message == _READY:
            worker.ready = True
        else:
            self.metrics.analysis.observe(time.perf_counter() - worker.oldest_at)
            for future, result in zip(worker.take_batch(), message, strict=True):
                if not future.done():
                    future.set_result(Analysis._make(result))
            self.batches += 1
            self._pause = self.restart_after_s  # a working worker: the next failure is new
        self._kick()

    def _broken(self, worker: _Worker) -> None:
        """``worker`` is gone: inline from now on, a new worker after a pause."""
        if worker is not self._worker:
            return  # already replaced
        self._worker = None
        self._close(worker)
        self._release_pending()
        self._schedule_restart()

    def _schedule_restart(self) -> None:
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

    def _release_pending(self) -> None:
        for _, future, _ in self._pending:
            if not future.done():
                future.set_result(None)
        self._pending = []

    def _close(self, worker: _Worker) -> None:
        """Stop watching the pipe and close it (a live worker then reads EOF and exits); the
        batch in flight is answered "analyse inline"; the process is waited for on a thread,
        and killed if it does not go within 5 s."""
        for future in worker.take_batch():
            if not future.done():
                future.set_result(None)
        loop = asyncio.get_running_loop()
        with contextlib.suppress(Exception):
            loop.remove_reader(worker.conn.fileno())
        worker.conn.close()
        reaping = asyncio.ensure_future(asyncio.to_thread(_reap, worker.process))
        self._reaping.add(reaping)
        reaping.add_done_callback(self._reaping.discard)

    async def stop(self) -> None:
        self._stopped = True
        if self._restart is not None:
            self._restart.cancel()
            self._restart = None
        worker, self._worker = self._worker, None
        if worker is not None:
            self._close(worker)
        self._release_pending()
        if self._reaping:
            await asyncio.gather(*self._reaping, return_exceptions=True)


def _reap(process: BaseProcess) -> None:
    process.join(5)
    if process.is_alive():
        process.kill()
        process.join(5)
