"""The analysis worker: what it computes ahead is what the writer would have computed inline,
and without it (off, starting, broken) the writer still decides everything itself."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import signal
import uuid
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest

from kefu.core import clock
from kefu.core.recent import RecentByKey
from kefu.realtime.analysis import (
    MAX_BATCH_CHARS,
    Analysis,
    ChatAnalyzer,
    Repeats,
    _serve,
    analyse,
    analyse_all,
)
from kefu.tickets.chat import ChatSend, RecentChat, _guarded

BODIES = [
    "My USDT withdrawal on TRC20 has been pending for two hours",
    "充值的USDT还没到账，链上已经确认了",
    "my seed phrase is abandon abandon abandon abandon abandon abandon abandon abandon "
    "abandon abandon abandon about",
    "you are a useless idiot, I will find you",
    "A recovery agent on Telegram says he can get my BTC back for a 10% fee",
    "FREE BTC!!! join t.me/freecoins now www.win-btc.example www.win-eth.example",
    "Привет, мой депозит не пришёл",
    "",
]


async def _ready(analyzer: ChatAnalyzer) -> None:
    for _ in range(300):
        if analyzer.ready:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the analysis worker did not start in 15 s")


@contextlib.asynccontextmanager
async def running(**options: float) -> AsyncIterator[ChatAnalyzer]:
    """A started analyzer whose worker is ready; stopped afterwards."""
    analyzer = ChatAnalyzer(enabled=True, **options)
    await analyzer.start()
    try:
        await _ready(analyzer)
        yield analyzer
    finally:
        await analyzer.stop()


async def test_the_worker_computes_what_the_writer_would() -> None:
    async with running() as analyzer:
        results = await asyncio.gather(*(analyzer.analyse(body) for body in BODIES * 20))
        assert results == [analyse(body) for body in BODIES * 20]
        assert analyzer.batches < len(results)  # sends that arrive together share a batch
        kinds = {body: result for body, result in zip(BODIES, results, strict=False)}
        assert kinds[BODIES[2]] is not None
        assert not kinds[BODIES[2]].clean  # the seed phrase
        assert kinds[BODIES[3]].actionable  # harassment
        assert kinds[BODIES[4]].actionable  # a recovery scam
        assert kinds[BODIES[1]].language == "zh"
    assert await analyzer.analyse("after the stop") is None  # the writer analyses inline


async def test_batches_are_bounded_in_characters_too() -> None:
    """Long bodies go in smaller batches, each small enough for the pipe's buffer."""
    long_bodies = [f"{i} " + "提币一直显示审核中" * 1_000 for i in range(12)]  # 9,000+ chars
    async with running() as analyzer:
        results = await asyncio.gather(*(analyzer.analyse(body) for body in long_bodies))
        assert results == [analyse(body) for body in long_bodies]
        # the first alone (nothing else was waiting), then at most 5 of ~9,000 characters
        assert MAX_BATCH_CHARS // 9_003 == 5
        assert analyzer.batches == 4


async def test_off_means_inline() -> None:
    analyzer = ChatAnalyzer(enabled=False)
    await analyzer.start()
    assert await analyzer.analyse(BODIES[0]) is None
    await analyzer.stop()


async def test_a_broken_pipe_falls_back_to_inline(monkeypatch: pytest.MonkeyPatch) -> None:
    async with running(restart_after_s=60) as analyzer:
        worker = analyzer._worker
        assert worker is not None

        def broken(*args: Any, **kwargs: Any) -> Any:
            raise BrokenPipeError("worker died")

        monkeypatch.setattr(worker.conn, "send", broken)
        assert await analyzer.analyse(BODIES[0]) is None
        assert not analyzer.ready
        assert await analyzer.analyse(BODIES[1]) is None
        assert analyzer._restart is not None  # a new worker comes after the pause
    assert not worker.process.is_alive()  # the old one read EOF and went


async def test_a_worker_that_dies_is_replaced() -> None:
    async with running(restart_after_s=0.2) as analyzer:
        pid = analyzer.worker_pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        # The pipe closes with it: that send is analysed inline, nothing waits for a worker.
        assert await analyzer.analyse(BODIES[0]) is None
        assert not analyzer.ready
        assert await analyzer.analyse(BODIES[1]) is None
        await _ready(analyzer)
        assert analyzer.restarts == 1
        second = analyzer.worker_pid
        assert second is not None
        assert second != pid
        assert await analyzer.analyse(BODIES[2]) == analyse(BODIES[2])
    assert analyzer._worker is None
    assert analyzer._restart is None
    with pytest.raises(ProcessLookupError):
        os.kill(second, 0)  # stopped, and reaped


async def test_a_worker_killed_mid_batch_answers_inline() -> None:
    """The batch in flight when the worker dies is not left waiting: its sends are analysed
    inline (None), and later ones too until the replacement is up."""
    async with running(restart_after_s=60) as analyzer:
        pid = analyzer.worker_pid
        assert pid is not None
        pending = [asyncio.ensure_future(analyzer.analyse(body * 50)) for body in BODIES * 30]
        await asyncio.sleep(0)  # the first batch is on its way
        os.kill(pid, signal.SIGKILL)
        results = await asyncio.wait_for(asyncio.gather(*pending), 10)
        assert None in results
        assert all(r is None or isinstance(r, Analysis) for r in results)
        assert not analyzer.ready


async def test_a_stuck_worker_is_killed_and_replaced() -> None:
    """A worker that stops answering (stopped here with SIGSTOP) holds no one up for longer
    than the batch timeout: its batch is analysed inline and a new worker takes over."""
    async with running(restart_after_s=0.2, batch_timeout_s=0.5) as analyzer:
        pid = analyzer.worker_pid
        assert pid is not None
        os.kill(pid, signal.SIGSTOP)
        started = asyncio.get_running_loop().time()
        assert await asyncio.wait_for(analyzer.analyse(BODIES[0]), 5) is None
        assert asyncio.get_running_loop().time() - started < 2
        await _ready(analyzer)
        assert analyzer.worker_pid != pid
        assert await analyzer.analyse(BODIES[3]) == analyse(BODIES[3])
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # killed, and reaped


@pytest.mark.parametrize("batch", [
    ["where is my deposit??", "Where is my deposit", "where is my deposit"],  # repeats
    ["where is my deposit??", "and my withdrawal of 0.2 BTC", "where is my deposit"],
    [BODIES[3], BODIES[0]],
    [BODIES[2], BODIES[2]],
    ["hello", "hello", "hello", "hello"],
])
def test_guarded_agrees_with_and_without_an_analysis(batch: list[str]) -> None:
    """The sender's repeats are found either way: by the worker, which remembers what each
    sender sent (here in one batch and one message at a time), or inline by the writer, from
    the batch and what it appended before."""
    actor = SimpleNamespace(label="customer:1")
    ticket = SimpleNamespace(number="KF-1", id=uuid.uuid4())
    now = clock.now()

    def inline(memory: RecentChat, bodies: list[str]) -> list[bool]:
        earlier: dict[tuple[str, str], list[str]] = {}
        verdicts = [_guarded(ChatSend(actor, "KF-1", body, None),  # type: ignore[arg-type]
                             ticket, earlier, memory, now)  # type: ignore[arg-type]
                    for body in bodies]
        for body in bodies:
            memory.add(ticket.id, now, body)  # type: ignore[arg-type]
        return verdicts

    def ahead(repeats: Repeats, bodies: list[str]) -> list[bool]:
        found = analyse_all([(body, "customer:1|KF-1") for body in bodies], repeats)
        return [_guarded(ChatSend(actor, "KF-1", body, None,  # type: ignore[arg-type]
                                  Analysis(*result)),
                         ticket, {}, RecentChat(), now)  # type: ignore[arg-type]
                for body, result in zip(bodies, found, strict=True)]

    one_batch = inline(RecentChat(), batch)
    assert ahead(Repeats(), batch) == one_batch
    memory, repeats = RecentChat(), Repeats()
    assert [inline(memory, [body])[0] for body in batch] == one_batch
    assert [ahead(repeats, [body])[0] for body in batch] == one_batch


def test_the_worker_forgets_repeats_after_the_window() -> None:
    now = [0.0]
    repeats = Repeats(clock=lambda: now[0])
    assert repeats.repeated("a", "where is my deposit??") == []
    assert repeats.repeated("a", "Where is my deposit") == ["where is my deposit??"]
    assert repeats.repeated("b", "where is my deposit") == []  # another sender
    now[0] = 121.0
    assert repeats.repeated("a", "where is my deposit") == []


def test_an_analysis_is_small_and_plain() -> None:
    result = analyse(BODIES[0])
    assert result == Analysis(clean=True, actionable=False, language="en")


def test_the_warm_up_loads_every_model_the_worker_may_need(monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker analyses its warm-up texts before it says ready, so that no customer waits
    while lingua's n-gram models load (~2 s): the warm-up must reach both of lingua's modes,
    the quick one (Latin text that the function words do not decide) and the full one (Latin
    text the quick one is not sure is English), or the warm-up would skip them."""
    from kefu.core import language
    from kefu.realtime.analysis import WARM_UP

    built = language._latin_detector
    asked: set[bool] = set()

    def recording(quick: bool = False) -> Any:
        asked.add(quick)
        return built(quick)

    monkeypatch.setattr(language, "_latin_detector", recording)
    for text in WARM_UP:
        analyse(text)
    assert asked == {True, False}


def test_recent_by_key_keeps_the_last_items_of_the_most_recent_keys() -> None:
    recent: RecentByKey[str, int] = RecentByKey(size=2, max_keys=2)
    for item in (1, 2, 3):
        recent.add("a", item)
    recent.add("b", 9)
    assert list(recent.get("a")) == [2, 3]  # the last two
    recent.add("a", 4)  # "a" is now the more recent key
    recent.add("c", 5)  # a third key: "b" goes
    assert list(recent.get("b")) == []
    assert list(recent.get("a")) == [3, 4]
    assert len(recent) == 2


def test_a_worker_whose_server_left_before_it_was_ready_exits_quietly() -> None:
    """A server that stops (or gives up) while its worker is still loading closes the pipe;
    the worker's "ready" then meets a broken pipe, which is its cue to exit, not a traceback
    on the server's stderr and a failed process."""
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe(duplex=True)
    process = context.Process(target=_serve, args=(theirs,), name="kefu-analysis-test")
    process.start()
    theirs.close()
    ours.close()
    process.join(60)
    assert process.exitcode == 0
