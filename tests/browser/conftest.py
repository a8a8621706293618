"""Headless Chromium against a live development-mode server (the demo exchange and its demo
tokens exist only there): the fixtures the browser tests share."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from kefu.config import Settings
from tests.realtime.live import LiveServer, live_server

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]


@pytest.fixture
def chromium() -> str:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture
def dev_settings(migrated_templates: dict[str, str], tmp_path: Path) -> Settings:
    """A development-mode server's settings on a fresh SQLite copy; a test may change them
    (``model_copy``) before it asks for ``dev_live``."""
    shutil.copyfile(migrated_templates["sqlite"], tmp_path / "kefu.db")
    return Settings(env="development", data_dir=tmp_path / "data", jobs_enabled=False,
                    database_url=f"sqlite+aiosqlite:///{tmp_path / 'kefu.db'}",
                    log_level="WARNING")


@pytest.fixture
def dev_live(dev_settings: Settings) -> Iterator[LiveServer]:
    with live_server(dev_settings) as server:
        yield server


@pytest.fixture
async def browser(chromium: str) -> AsyncIterator[object]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        instance = await p.chromium.launch(executable_path=chromium, args=ARGS)
        try:
            yield instance
        finally:
            await instance.close()
