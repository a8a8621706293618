"""Where a chat message's time goes in this process, on ``/metrics`` (Prometheus).

A customer's message waits three times on its way: for the analysis worker
(``kefu_chat_analysis_seconds``: from when the oldest message of a batch came, through the
worker's previous batch and its own, until the loop has read the answer), for a write batch to
start (``kefu_chat_write_wait_seconds``, the oldest send of the batch), and for that batch to
commit (``kefu_chat_write_batch_seconds``). All of it, and the websocket reads and writes,
happens on one event loop; ``kefu_event_loop_lag_seconds`` (how late a timer set every 0.1 s
runs) shows that loop filling up before any of the others does. Measured per batch and per
tick, not per message, so the hot path pays a clock read per send. ``kefu bench chat`` reads
these around each measured window (``server_stages``)."""

from __future__ import annotations

import asyncio
import time

from prometheus_client import CollectorRegistry, Histogram

# Finer around the chat's 50 ms target, so that a p99 read from the buckets means something.
SECONDS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.075, 0.1, 0.15,
           0.2, 0.3, 0.5, 1.0, 2.5, 5.0)
BATCH_SIZES = (1, 2, 4, 8, 16, 32, 64, 128, 256)
LAG_EVERY_S = 0.1


class ChatMetrics:
    """The chat path's histograms. ``registry`` None: counted but not exported (tests, tools)."""

    def __init__(self, registry: CollectorRegistry | None) -> None:
        def seconds(name: str, doc: str) -> Histogram:
            return Histogram(name, doc, buckets=SECONDS, registry=registry)

        self.loop_lag = seconds("kefu_event_loop_lag_seconds",
                                f"How late a timer set every {LAG_EVERY_S} s runs on the event "
                                "loop: the first sign of a busy server")
        self.write_wait = seconds("kefu_chat_write_wait_seconds",
                                  "How long the oldest send of a write batch waited for it")
        self.write_batch = seconds("kefu_chat_write_batch_seconds",
                                   "A chat write batch from its start until it committed")
        self.write_size = Histogram("kefu_chat_write_batch_messages", "Sends in a write batch",
                                    buckets=BATCH_SIZES, registry=registry)
        self.analysis = seconds("kefu_chat_analysis_seconds",
                                "From when the oldest customer message of an analysis batch "
                                "came until the event loop read the worker's answer")


class LoopLag:
    """Sets a timer every :data:`LAG_EVERY_S` and records how late it ran."""

    def __init__(self, metrics: ChatMetrics, every_s: float = LAG_EVERY_S) -> None:
        self.metrics = metrics
        self.every_s = every_s
        self._timer: asyncio.TimerHandle | None = None

    def start(self) -> None:
        self._schedule(asyncio.get_running_loop())

    def _schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = loop.call_later(self.every_s, self._tick, loop,
                                      time.perf_counter() + self.every_s)

    def _tick(self, loop: asyncio.AbstractEventLoop, due: float) -> None:
        self.metrics.loop_lag.observe(max(0.0, time.perf_counter() - due))
        self._schedule(loop)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
