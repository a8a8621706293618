"""Collision detection in the console heals by itself: a colleague shown as viewing a ticket
drops off when their announcement is not renewed within its ``ttl_s`` (their process was
killed, or Redis was away when they left, so no ``state: false`` ever comes)."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from kefu.tickets.models import Ticket
from tests.browser.console_support import agent_page, open_ticket
from tests.realtime.live import LiveServer, factory_app

# One Chromium per test process, driven from the session's event loop (see conftest.py).
pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


async def test_a_viewer_not_announced_again_leaves_the_console_after_its_ttl(
    dev_live: LiveServer, browser: Any
):
    live = dev_live
    number = await open_ticket(live)
    page = await agent_page(browser, live, number)
    async with factory_app(live) as app, app.state.db.transaction() as session:
        ticket_id = await session.scalar(select(Ticket.id).where(Ticket.number == number))
    hub = live.app.state.hub
    # The page's connection (its subscription may land just after the socket is live); the
    # server's loop is the one its sender runs on.
    deadline = time.monotonic() + 10
    while not (following := [c for c in list(hub.connections) if ticket_id in c.follows]):
        assert time.monotonic() < deadline, "the console never subscribed to the ticket"
        await asyncio.sleep(0.05)
    console = following[0]
    server_loop = console.loop
    assert server_loop is not None
    ghost = {"id": str(uuid.uuid4()), "name": "Ghost Agent"}

    def announce() -> None:
        """What another process's connection would publish for an agent viewing the ticket."""
        server_loop.call_soon_threadsafe(hub.dispatch, f"ticket:{ticket_id}", {
            "type": "viewing", "ticket": number, "state": True, "reply": True, "agent": ghost,
            "ttl_s": 3, "_conn": "on-a-dead-process"})

    collision = page.locator('[data-testid="collision"]')
    announce()
    started = time.monotonic()
    await collision.get_by_text("Ghost Agent").wait_for(timeout=2_500)
    # Announced again before the ttl ran out: still there past the first ttl.
    await asyncio.sleep(max(0.0, 2.0 - (time.monotonic() - started)))
    announce()
    await asyncio.sleep(max(0.0, 3.6 - (time.monotonic() - started)))
    assert "Ghost Agent" in await collision.inner_text()
    # Then never again, as from a process that died: gone once the last one's ttl is out.
    await collision.wait_for(state="hidden", timeout=6_000)
    assert "Ghost Agent" not in await collision.inner_text()
    await page.context.close()
