"""What the agent console's browser tests share (not a test module): the init script that lets
a test drop and restore the console's WebSocket (``SOCKETS``: it keeps every socket the page
opens and, while told to, sends its reconnects to a path the server refuses, so the console
stays offline until the test lets it back), the connection-state selectors, a ticket with an
agent to answer it, and signed-in console pages."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from kefu.accounts.models import Agent, Team
from kefu.tickets.models import Ticket
from tests.factories import PASSWORD, api_token, bearer, customer_token, make_agent, make_team
from tests.realtime.live import LiveServer, factory_app

SOCKETS = """
(() => {
  const Native = window.WebSocket;
  const sockets = [];
  // refuseAfterReload(): the next page load starts with sockets refused, until allow().
  let refused = sessionStorage.getItem("__refused") === "1";
  class TestSocket extends Native {
    constructor(url, protocols) {
      super(refused ? String(url).replace("/ws/", "/ws-refused/") : url, protocols);
      sockets.push(this);
    }
  }
  window.__sockets = {
    drop() { refused = true; sockets.forEach((ws) => ws.close()); },
    allow() { refused = false; sessionStorage.removeItem("__refused"); },
    refuseAfterReload() { sessionStorage.setItem("__refused", "1"); },
  };
  window.WebSocket = TestSocket;
})();
"""
LIVE = '[data-testid="connection-state"][data-state="live"]'
OFFLINE = '[data-testid="connection-state"][data-state="offline"]'


async def open_ticket(live: LiveServer, subject: str = "USDT deposit missing") -> str:
    """An agent in the English team, and a ticket from a customer; the ticket's number."""
    async with factory_app(live) as app:
        team = await make_team(app, "English", "en")
        await make_agent(app, "agent@kefu.test", teams=[team])
    headers = bearer(customer_token(live.settings, "cust-a", name="Alice", lang="en"))
    async with httpx.AsyncClient(base_url=live.base, timeout=30) as client:
        created = await client.post("/api/v1/tickets", headers=headers, json={
            "subject": subject, "body": "My USDT deposit has not arrived.", "language": "en"})
    assert created.status_code == 201, created.text
    return str(created.json()["number"])


async def agent_token(app: Any) -> str:
    """An API token of the agent ``open_ticket`` made (agent@kefu.test)."""
    async with app.state.db.transaction() as session:
        agent = await session.scalar(select(Agent).where(Agent.email == "agent@kefu.test"))
    assert agent is not None
    return await api_token(app, agent)


async def move_to_another_team(live: LiveServer, number: str) -> None:
    """An admin moves the ticket to a new Korean team, out of reach of ``open_ticket``'s
    agent."""
    async with factory_app(live) as app:
        korean = await make_team(app, "Korean", "ko")
        token = await api_token(app, await make_agent(app, "boss@kefu.test", role="admin"))
    async with httpx.AsyncClient(base_url=live.base, timeout=30) as client:
        moved = await client.post(f"/api/v1/tickets/{number}/assign", headers=bearer(token),
                                  json={"team_id": str(korean.id)})
    assert moved.status_code == 200, moved.text


async def team_of(app: Any, number: str) -> Team:
    """The team a ticket is in (to give it colleagues who may read it)."""
    async with app.state.db.transaction() as session:
        team = await session.scalar(select(Team).join(Ticket, Ticket.team_id == Team.id)
                                    .where(Ticket.number == number))
    assert team is not None
    return team


async def agent_page(browser: Any, live: LiveServer, number: str, lang: str = "en",
                     errors: list[str] | None = None) -> Any:
    """A signed-in agent's ticket page, its socket live."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    await context.add_init_script(SOCKETS)
    page = await context.new_page()
    if errors is not None:
        page.on("pageerror", lambda error: errors.append(str(error)))
    await open_signed_in(page, live, number, lang)
    await page.wait_for_selector(LIVE, timeout=15_000)
    return page


async def open_signed_in(page: Any, live: LiveServer, number: str, lang: str = "en") -> None:
    """Sign the agent in on ``page`` and open the ticket."""
    await page.goto(f"{live.base}/agent/login?lang={lang}")
    await page.fill("#email", "agent@kefu.test")
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{live.base}/agent*")
    await page.goto(f"{live.base}/agent/tickets/{number}")


async def fresh_inbox(browser: Any, live: LiveServer, email: str) -> Any:
    """The inbox of ``email`` in a browser that has never been used (no localStorage)."""
    page = await (await browser.new_context()).new_page()
    await page.goto(f"{live.base}/agent/login?lang=en")
    await page.fill("#email", email)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{live.base}/agent*")
    await page.wait_for_selector(LIVE, timeout=15_000)
    return page


async def console_page(browser: Any, live: LiveServer, email: str, path: str, *,
                       lang: str = "en", width: int = 1280) -> Any:
    """``path`` in the console of ``email``, signed in with the UI in ``lang``, its socket
    live, on a screen ``width`` pixels wide."""
    context = await browser.new_context(viewport={"width": width, "height": 900})
    page = await context.new_page()
    await page.goto(f"{live.base}/agent/login?lang={lang}")
    await page.fill("#email", email)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{live.base}/agent*")
    await page.goto(f"{live.base}{path}")
    await page.wait_for_selector(LIVE, timeout=15_000)
    return page


async def new_ticket(live: LiveServer, customer: str, subject: str, language: str) -> str:
    """A ticket opened through the API by customer ``customer`` (English UI), in ``language``."""
    headers = bearer(customer_token(live.settings, customer, name="Lu", lang="en"))
    async with httpx.AsyncClient(base_url=live.base, timeout=30) as client:
        created = await client.post("/api/v1/tickets", headers=headers, json={
            "subject": subject, "body": subject, "language": language})
    assert created.status_code == 201, created.text
    return str(created.json()["number"])


async def escalate(live: LiveServer, token: str, number: str, reason: str) -> None:
    """A supervisor (API ``token``) escalates ticket ``number`` with ``reason``."""
    async with httpx.AsyncClient(base_url=live.base, timeout=30) as client:
        changed = await client.post(
            f"/api/v1/tickets/{number}/status", headers=bearer(token),
            json={"status": "escalated", "reason": reason})
    assert changed.status_code == 200, changed.text
