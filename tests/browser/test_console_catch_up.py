"""The console catches up after its socket was down: what changed meanwhile reached it by no
frame, so on "refetch" (a second welcome, or the server's ``resync``) the open ticket's state,
the agent's own status and load, and the tab title's unread total are fetched again.

The socket is dropped from the page with ``console_support.SOCKETS``: while told to, it sends
the console's reconnects to a path the server refuses."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from kefu.accounts.models import Agent
from tests.browser.console_support import (
    LIVE,
    OFFLINE,
    agent_page,
    move_to_another_team,
    open_ticket,
    team_of,
)
from tests.factories import api_token, bearer, customer_token, make_agent
from tests.realtime.live import LiveServer, factory_app

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


async def offline(page: Any) -> None:
    await page.evaluate("window.__sockets.drop()")
    await page.wait_for_selector(OFFLINE)


async def back(page: Any) -> None:
    await page.evaluate("window.__sockets.allow()")
    await page.wait_for_selector(LIVE, timeout=20_000)


async def test_the_ticket_status_and_load_catch_up_after_an_outage(
        dev_live: LiveServer, browser: Any):
    """While the agent's laptop slept, a supervisor gave their ticket to a colleague and
    resolved it, and the agent went "away" from their phone: back, the page says all three."""
    live = dev_live
    number = await open_ticket(live)
    async with factory_app(live) as app:
        team = await team_of(app, number)
        colleague = await make_agent(app, "colleague@kefu.test", teams=[team])
        supervisor = await make_agent(app, "lead@kefu.test", role="supervisor")
        lead = await api_token(app, supervisor)
        async with app.state.db.transaction() as session:
            agent = await session.scalar(select(Agent).where(Agent.email == "agent@kefu.test"))
        assert agent is not None
        own = await api_token(app, agent)
    async with httpx.AsyncClient(base_url=live.base, timeout=30) as client:
        given = await client.post(f"/api/v1/tickets/{number}/assign", headers=bearer(lead),
                                  json={"agent_id": str(agent.id)})
        assert given.status_code == 200, given.text
        page = await agent_page(browser, live, number)
        load = page.locator('[data-testid="agent-load"] [data-load-value]')
        assert await load.inner_text() == "1"
        await offline(page)
        given_away = {"agent_id": str(colleague.id)}
        for path, body in ((f"/api/v1/tickets/{number}/assign", given_away),
                           (f"/api/v1/tickets/{number}/status", {"status": "resolved"})):
            changed = await client.post(path, headers=bearer(lead), json=body)
            assert changed.status_code == 200, changed.text
        away = await client.patch(f"/api/v1/agents/{agent.id}", headers=bearer(own),
                                  json={"status": "away"})
        assert away.status_code == 200, away.text
    await page.wait_for_timeout(300)
    await back(page)
    await page.locator("[data-live-status]").get_by_text("Resolved").wait_for(timeout=5_000)
    notice = page.locator('[data-testid="ticket-changed"]')
    await notice.wait_for(state="visible", timeout=5_000)
    assert "assigned to another agent" in await notice.inner_text()
    await page.wait_for_selector("[data-status-dot].status-dot-away", timeout=5_000)
    assert await page.locator('[data-testid="status-switch"]').input_value() == "away"
    assert await load.inner_text() == "0"


async def test_a_ticket_moved_out_of_reach_during_an_outage_says_so_when_back(
        dev_live: LiveServer, browser: Any):
    live = dev_live
    number = await open_ticket(live)
    page = await agent_page(browser, live, number)
    await offline(page)
    await move_to_another_team(live, number)
    await back(page)
    notice = page.locator('[data-testid="ticket-changed"]')
    await notice.get_by_text("you can no longer answer it here").wait_for(timeout=5_000)


async def test_the_titles_unread_total_catches_up_after_an_outage(
        dev_live: LiveServer, browser: Any):
    """On a page without the inbox list (here a ticket), the tab title's total counts what
    customers wrote on other tickets while the socket was down; the open ticket still counts
    0."""
    live = dev_live
    number = await open_ticket(live)
    page = await agent_page(browser, live, number)
    assert not (await page.title()).startswith("(")
    await offline(page)
    headers = bearer(customer_token(live.settings, "cust-b", name="Bo", lang="en"))
    async with httpx.AsyncClient(base_url=live.base, timeout=30) as client:
        created = await client.post("/api/v1/tickets", headers=headers, json={
            "subject": "Withdrawal pending", "body": "Pending for 3 hours.", "language": "en"})
        assert created.status_code == 201, created.text
        added = await client.post(f"/api/v1/tickets/{created.json()['number']}/replies",
                                  headers=headers, json={"body": "Any news?"})
        assert added.status_code == 201, added.text
    await back(page)
    await page.wait_for_function("() => document.title.startsWith('(2) ')", timeout=5_000)
