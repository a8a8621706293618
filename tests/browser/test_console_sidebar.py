"""The ticket page's sidebar follows the ticket: when a colleague gives the open ticket to
someone else or changes its priority, the sidebar's assignee and team, and the choices its forms
offer, say so without a reload, live and after the socket was down (the catch-up reads the
ticket without its messages)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from kefu.core.i18n import Translator
from tests.browser.test_console import LIVE, OFFLINE, agent_page, open_ticket, team_of
from tests.factories import api_token, bearer, make_agent
from tests.realtime.live import LiveServer, factory_app

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


async def shows(page: Any, selector: str, expected: str, *, value: bool = False) -> None:
    """Waits until the element's text (or a field's value) is ``expected``."""
    await page.wait_for_function(
        "([selector, expected, value]) => { const node = document.querySelector(selector);"
        " return !!node && (value ? node.value : node.textContent) === expected; }",
        arg=[selector, expected, value], timeout=5_000)


async def test_the_sidebar_follows_a_reassignment_and_a_new_priority(
        dev_live: LiveServer, browser: Any):
    live = dev_live
    number = await open_ticket(live)
    async with factory_app(live) as app:
        team = await team_of(app, number)
        colleague = await make_agent(app, "bao@kefu.test", teams=[team])
        lead = await api_token(app, await make_agent(app, "lead@kefu.test", role="supervisor"))
    zh = Translator("zh-CN")
    page = await agent_page(browser, live, number, lang="zh-CN")
    fetched: list[str] = []
    page.on("request", lambda request: fetched.append(request.url)
            if f"/api/v1/tickets/{number}" in request.url else None)
    assignee = page.locator('[data-testid="sidebar-assignee"]')
    priority = page.locator("#priority")
    assert await page.locator('[data-testid="sidebar-team"]').inner_text() == team.name

    async with httpx.AsyncClient(base_url=live.base, timeout=30) as client:
        for path, body in ((f"/api/v1/tickets/{number}/assign", {"agent_id": str(colleague.id)}),
                           (f"/api/v1/tickets/{number}", {"priority": "urgent"})):
            changed = await client.request("POST" if path.endswith("/assign") else "PATCH",
                                           path, headers=bearer(lead), json=body)
            assert changed.status_code == 200, changed.text
        await shows(page, "#priority", "urgent", value=True)
        assert await assignee.inner_text() == "bao"
        assert await page.locator("#assign-agent").input_value() == str(colleague.id)
        assert await page.locator("#assign-team").input_value() == str(team.id)
        # in the reader's language, as the page was sent
        assert await priority.locator("option:checked").inner_text() == zh("priority.urgent")
        assert await page.locator("[data-live-priority]").inner_text() == zh("priority.urgent")

        # A choice the agent changed and has not saved stays theirs.
        await priority.select_option("low")
        await page.evaluate("window.__sockets.drop()")
        await page.wait_for_selector(OFFLINE)
        for path, body in ((f"/api/v1/tickets/{number}/assign", {"agent_id": None}),
                           (f"/api/v1/tickets/{number}", {"priority": "high"})):
            changed = await client.request("POST" if path.endswith("/assign") else "PATCH",
                                           path, headers=bearer(lead), json=body)
            assert changed.status_code == 200, changed.text
    await page.evaluate("window.__sockets.allow()")
    await page.wait_for_selector(LIVE, timeout=20_000)
    await shows(page, '[data-testid="sidebar-assignee"]', zh("agent.assignee_none"))
    assert await page.locator("#assign-agent").input_value() == "none"
    assert await page.locator("[data-live-priority]").inner_text() == zh("priority.high")
    assert await priority.input_value() == "low"
    assert fetched
    assert all(url.endswith("?messages=false") for url in fetched), fetched
    await page.context.close()
