"""The chat path's histograms on /metrics (kefu/realtime/metrics.py), and how `kefu bench chat`
reads a window out of two readings of them (kefu/bench/stages.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import CollectorRegistry, generate_latest
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.bench import stages
from kefu.db import Database
from kefu.realtime.analysis import ChatAnalyzer
from kefu.realtime.metrics import ChatMetrics, LoopLag
from kefu.realtime.writer import MessageWriter


def reading(registry: CollectorRegistry) -> stages.Histograms:
    return stages.parse(generate_latest(registry).decode())


def test_a_window_is_the_difference_of_two_readings() -> None:
    registry = CollectorRegistry()
    metrics = ChatMetrics(registry)
    for _ in range(50):
        metrics.write_wait.observe(0.3)  # before the window: not counted in it
    before = reading(registry)
    for _ in range(98):
        metrics.write_wait.observe(0.003)
    metrics.write_wait.observe(0.045)
    metrics.write_wait.observe(9.0)  # past the last bucket
    for size in (1, 3, 3, 200):
        metrics.write_size.observe(size)
    window = stages.figures(before, reading(registry))
    wait = window["write_wait"]
    assert wait["n"] == 100
    assert wait["mean_ms"] == pytest.approx((98 * 3 + 45 + 9000) / 100, abs=0.01)
    assert wait["p50_le_ms"] == 5.0  # 0.003 s falls in the (0.002, 0.005] bucket
    assert wait["p99_le_ms"] == 50.0  # the 99th of 100 is the 45 ms one
    sizes = window["write_batch_messages"]
    assert sizes == {"n": 4, "mean": 51.75, "p50_le": 4.0, "p99_le": 256.0}
    assert window["analysis"] == {"n": 0}  # nothing observed in the window


def test_a_quantile_past_the_last_bucket_is_none() -> None:
    registry = CollectorRegistry()
    metrics = ChatMetrics(registry)
    for _ in range(10):
        metrics.loop_lag.observe(7.0)
    assert stages.figures({}, reading(registry))["loop_lag"]["p99_le_ms"] is None


def test_servers_are_added_up() -> None:
    one, two = CollectorRegistry(), CollectorRegistry()
    ChatMetrics(one).write_batch.observe(0.004)
    ChatMetrics(two).write_batch.observe(0.012)
    merged = stages.merge([reading(one), reading(two)])
    assert stages.figures({}, merged)["write_batch"] == {
        "n": 2, "mean_ms": 8.0, "p50_le_ms": 5.0, "p99_le_ms": 15.0}


async def test_the_loop_lag_shows_a_blocked_loop() -> None:
    registry = CollectorRegistry()
    lag = LoopLag(ChatMetrics(registry), every_s=0.02)
    lag.start()
    try:
        await asyncio.sleep(0.1)
        time.sleep(0.15)  # the loop is blocked: the next tick is ~150 ms late
        await asyncio.sleep(0.1)
    finally:
        lag.stop()
    observed = stages.figures({}, reading(registry))["loop_lag"]
    assert observed["n"] >= 5
    assert observed["p99_le_ms"] >= 150
    assert observed["p50_le_ms"] <= 50  # the ticks of an idle loop are on time (a busy box: 50)


@pytest.fixture
async def counted_writer(database_url: str) -> AsyncIterator[tuple[MessageWriter,
                                                                   CollectorRegistry]]:
    registry = CollectorRegistry()
    db = Database(database_url)
    writer = MessageWriter(db, ChatMetrics(registry))
    await writer.start()
    try:
        yield writer, registry
    finally:
        await writer.stop()
        await db.dispose()


async def test_each_write_batch_is_counted_with_its_wait(
        counted_writer: tuple[MessageWriter, CollectorRegistry]) -> None:
    writer, registry = counted_writer
    release = asyncio.Event()

    async def slow(session: AsyncSession) -> str:
        await release.wait()  # holds its batch open while the next sends queue up
        return "slow"

    async def quick(session: AsyncSession) -> str:
        return "quick"

    first = asyncio.create_task(writer.submit(slow))
    await asyncio.sleep(0.05)
    queued = [asyncio.create_task(writer.submit(quick)) for _ in range(3)]
    await asyncio.sleep(0.1)  # the three wait for the first batch to end
    release.set()
    assert await first == "slow"
    assert await asyncio.gather(*queued) == ["quick"] * 3
    window = stages.figures({}, reading(registry))
    assert window["write_batch_messages"]["n"] == 2
    assert window["write_batch_messages"]["mean"] == 2.0  # one alone, then the three
    assert window["write_wait"]["n"] == 2
    assert window["write_wait"]["p99_le_ms"] >= 100  # the three waited ~100 ms
    assert window["write_batch"]["n"] == 2
    assert window["write_batch"]["p99_le_ms"] >= 150  # the first held its batch that long


async def test_each_analysis_batch_is_counted_from_its_oldest_message() -> None:
    registry = CollectorRegistry()
    analyzer = ChatAnalyzer(enabled=True, metrics=ChatMetrics(registry))
    await analyzer.start()
    try:
        for _ in range(300):
            if analyzer.ready:
                break
            await asyncio.sleep(0.05)
        assert analyzer.ready
        started = time.perf_counter()
        await asyncio.gather(*(analyzer.analyse(f"where is my deposit {i}") for i in range(20)))
        took = time.perf_counter() - started
    finally:
        await analyzer.stop()
    waits = stages.figures({}, reading(registry))["analysis"]
    assert waits["n"] == analyzer.batches >= 2  # the first alone, the others behind it
    assert 0 < waits["mean_ms"] <= took * 1000


async def test_the_app_serves_them(app: FastAPI, client: httpx.AsyncClient) -> None:
    await asyncio.sleep(0.25)  # a tick or two of the loop-lag timer
    text = (await client.get("/metrics")).text
    window = stages.figures({}, stages.parse(text))
    assert window.keys() == set(stages.STAGES.values())
    assert window["loop_lag"]["n"] >= 1
