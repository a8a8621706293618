"""The supervisor view of the agent console, in headless Chromium: its queues (by team and by
language) and its lists of escalated and waiting tickets fit a phone as labelled cards, read
their waits in the console's language, and mark the languages they name, also in rows
console.js draws from a live frame."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from kefu.tickets.models import Ticket
from tests.browser.console_support import (
    console_page,
    escalate,
    new_ticket,
    open_ticket,
)
from tests.factories import api_token, bearer, customer_token, make_agent, make_team
from tests.realtime.live import LiveServer, factory_app

# One Chromium per test process, driven from the session's event loop (see conftest.py).
pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


# How the queue tables sit in their frame: whether it scrolls, and how many cells overflow it.
QUEUE_FIT = """testid => {
  const table = document.querySelector('[data-testid="' + testid + '"]');
  const frame = table.closest('.table-wrap');
  const box = frame.getBoundingClientRect();
  const cells = Array.from(table.querySelectorAll('tbody th, tbody td'));
  return {
    scrolls: frame.scrollWidth > frame.clientWidth,
    outside: cells.filter(c => c.getBoundingClientRect().right > box.right + 0.5).length,
    cells: cells.length,
    unlabelled: Array.from(table.querySelectorAll('tbody td'))
      .filter(td => !td.getAttribute('data-label')).length,
  };
}"""


async def test_the_supervisors_queues_fit_a_phone_and_their_waits_read_in_its_language(
    dev_live: LiveServer, browser: Any
):
    from datetime import timedelta

    from sqlalchemy import update

    from kefu.core import clock

    live = dev_live
    old = await open_ticket(live)
    async with factory_app(live) as app:
        await make_agent(app, "sup@kefu.test", role="supervisor")
        await make_team(app, "Español", "es")
        async with app.state.db.transaction() as session:
            await session.execute(update(Ticket).where(Ticket.number == old).values(
                created_at=clock.now() - timedelta(hours=26, minutes=8, seconds=2)))
    for lang, wait, new_language, name in (("en", r"26h 0[89]m", "ru", "Русский"),
                                           ("zh-CN", r"26小时0[89]分", "fr", "Français")):
        page = await console_page(browser, live, "sup@kefu.test", "/agent/supervisor",
                                  lang=lang, width=390)
        await page.wait_for_timeout(1_200)  # console.js has counted the waits again
        for shown in (page.locator('[data-total="longest_wait"]'), page.locator(
                '[data-testid="supervisor-teams"] tr[data-key] [data-col="longest_wait"]').first):
            assert re.fullmatch(wait, await shown.inner_text()), await shown.inner_text()
        for testid in ("supervisor-teams", "supervisor-languages"):
            fit = await page.evaluate(QUEUE_FIT, testid)
            assert fit["cells"] >= 10, fit
            assert (fit["scrolls"], fit["outside"], fit["unlabelled"]) == (False, 0, 0), fit
        # A queue that console.js draws from a live frame is named and laid out the same way.
        headers = bearer(customer_token(live.settings, f"cust-{lang}", name="Iv", lang="en"))
        async with httpx.AsyncClient(base_url=live.base, timeout=30) as client:
            created = await client.post("/api/v1/tickets", headers=headers, json={
                "subject": "Withdrawal", "body": "Pending.", "language": new_language})
        assert created.status_code == 201, created.text
        row = page.locator(f'[data-testid="supervisor-languages"] tr[data-key="{new_language}"]')
        await row.wait_for(timeout=15_000)
        assert await row.locator("th").inner_text() == name
        fit = await page.evaluate(QUEUE_FIT, "supervisor-languages")
        assert (fit["scrolls"], fit["outside"], fit["unlabelled"]) == (False, 0, 0), fit
        await page.context.close()
    # On a wide screen they stay tables, with their column heads.
    page = await console_page(browser, live, "sup@kefu.test", "/agent/supervisor")
    assert await page.locator('[data-testid="supervisor-languages"] thead').is_visible()
    await page.context.close()


async def test_the_supervisors_ticket_lists_are_cards_on_a_phone_and_mark_language_names(
        dev_live: LiveServer, browser: Any):
    """QA: at 390 px the Escalated and Waiting tables scrolled sideways with no hint; they are
    cards now, as the queues are, each value beside its column's name (data-label), also in
    rows console.js draws from a live frame. A language named by its own name ("Español")
    carries its lang attribute, as in the inbox."""
    live = dev_live
    english = await open_ticket(live)
    async with factory_app(live) as app:
        token = await api_token(app, await make_agent(app, "sup@kefu.test", role="supervisor"))

    spanish = await new_ticket(live, "cust-es", "Retiro pendiente desde ayer por la tarde", "es")
    await escalate(live, token, english, "Large loss: 40,000 USDT sent to a scam")

    async def check(page: Any, waiting: str, language: str) -> None:
        for testid in ("supervisor-escalated", "supervisor-waiting"):
            fit = await page.evaluate(QUEUE_FIT, testid)
            assert fit["cells"] >= 4, fit
            assert (fit["scrolls"], fit["outside"], fit["unlabelled"]) == (False, 0, 0), fit
        labels = await page.locator('[data-testid="supervisor-waiting"] tbody td').evaluate_all(
            "(cells) => cells.map((td) => getComputedStyle(td, '::before').content)")
        assert all(label not in ("none", '""') for label in labels), labels
        assert await page.evaluate(
            "() => document.documentElement.scrollWidth <= window.innerWidth")
        row = page.locator(f'[data-testid="supervisor-waiting"] tr[data-key="{waiting}"]')
        assert await row.locator('[data-col="language"]').get_attribute("lang") == language
        queue = page.locator(f'[data-testid="supervisor-languages"] tr[data-key="{language}"] th')
        assert await queue.get_attribute("lang") == language

    for lang in ("en", "zh-CN"):
        page = await console_page(browser, live, "sup@kefu.test", "/agent/supervisor",
                                  lang=lang, width=390)
        await check(page, spanish, "es")
        assert await page.locator(
            f'[data-testid="supervisor-waiting"] tr[data-key="{spanish}"] [data-col="language"]'
        ).inner_text() == "Español"
        # Rows console.js draws from a live frame: labelled and marked the same way.
        french = await new_ticket(live, f"cust-fr-{lang}", "Retrait en attente", "fr")
        german = await new_ticket(live, f"cust-de-{lang}", "Auszahlung fehlt", "de")
        await escalate(live, token, german, "Large loss: 40,000 USDT sent to a scam")
        await page.locator(f'[data-testid="supervisor-escalated"] tr[data-key="{german}"]'
                           ).wait_for(timeout=15_000)
        await page.locator(f'[data-testid="supervisor-waiting"] tr[data-key="{french}"]'
                           ).wait_for(timeout=15_000)
        await check(page, french, "fr")
        await page.context.close()
    # On a wide screen they stay tables, with their column heads.
    page = await console_page(browser, live, "sup@kefu.test", "/agent/supervisor")
    for testid in ("supervisor-escalated", "supervisor-waiting"):
        assert await page.locator(f'[data-testid="{testid}"] thead').is_visible()
    await page.context.close()
