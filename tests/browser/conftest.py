"""Headless Chromium against a live development-mode server (the demo exchange and its demo
tokens exist only there): the fixtures the browser tests share."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from kefu.config import Settings
from tests.realtime.live import LiveServer, live_server

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]


@pytest.fixture(scope="session")
def chromium() -> str:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture
def dev_settings(migrated_templates: dict[str, str], tmp_path: Path) -> Settings:
    """A development-mode server's settings on a fresh SQLite copy; a test may change them
    (``model_copy``) before it asks for ``dev_live``. Without the chat's analysis worker: it
    is a process of its own, spawned per server (a second or two of CPU a test), and the
    writer analyses inline, to the same result, while it is away
    (tests/realtime/test_analysis.py runs it)."""
    shutil.copyfile(migrated_templates["sqlite"], tmp_path / "kefu.db")
    return Settings(env="development", data_dir=tmp_path / "data", jobs_enabled=False,
                    database_url=f"sqlite+aiosqlite:///{tmp_path / 'kefu.db'}",
                    log_level="WARNING", chat_analysis_worker=False)


@pytest.fixture
def dev_live(dev_settings: Settings) -> Iterator[LiveServer]:
    with live_server(dev_settings) as server:
        yield server


class Chromium:
    """One Chromium per test process (launching it cost ~0.5 s of CPU a test on a machine the
    suite keeps busy), launched again if it went away."""

    def __init__(self, playwright: Any, executable: str) -> None:
        self.playwright, self.executable = playwright, executable
        self.instance: Any = None

    async def get(self) -> Any:
        if self.instance is None or not self.instance.is_connected():
            self.instance = await self.playwright.chromium.launch(
                executable_path=self.executable, args=ARGS)
        return self.instance


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def chromium_process(chromium: str) -> AsyncIterator[Chromium]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        holder = Chromium(p, chromium)
        try:
            yield holder
        finally:
            if holder.instance is not None:
                await holder.instance.close()


@pytest_asyncio.fixture(loop_scope="session")
async def browser(chromium_process: Chromium) -> AsyncIterator[Any]:
    """The test process's Chromium; every context a test opened is closed after it, so no page
    of one test (its sockets, its timers) lives on into the next. Browser tests run on the
    session's event loop (``pytestmark`` in each module), the loop this Chromium is driven
    from."""
    instance = await chromium_process.get()
    try:
        yield instance
    finally:
        for context in list(instance.contexts):
            with contextlib.suppress(Exception):
                await context.close()
