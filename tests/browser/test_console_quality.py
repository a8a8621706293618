"""From a quality pass over the console as agents and leads use it: a subject that is one long
word (an address, a TxID) kept the inbox's and the supervisor's tables wider than the screen,
the sidebar's priority form stood its label a character a line, and Enter that commits what an
input method composes picked a colleague or a macro."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.browser.console_support import agent_page, console_page, open_ticket, team_of
from tests.factories import api_token, bearer, customer_token, make_agent
from tests.realtime.live import LiveServer, factory_app

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

WORD = "USDT_TRC20_TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE_" + "f" * 64  # no space to break at

# How far the widest cell of a table reaches past its scroll box, in pixels (0: it fits).
PAST = """(testid) => { const table = document.querySelector(`[data-testid="${testid}"]`);
  const box = table.closest('.table-wrap'); return box.scrollWidth - box.clientWidth; }"""


async def test_a_subject_of_one_long_word_wraps_in_the_inbox_and_the_supervisor_view(
        dev_live: LiveServer, browser: Any):
    live = dev_live
    number = await open_ticket(live, subject=f"充值未到账 {WORD}")
    async with factory_app(live) as app:
        team = await team_of(app, number)
        lead = await make_agent(app, "lead@kefu.test", role="supervisor", teams=[team])
        token = await api_token(app, lead)
    async with httpx.AsyncClient(base_url=live.base, timeout=30) as client:
        escalated = await client.post(f"/api/v1/tickets/{number}/escalate", headers=bearer(token),
                                      json={"reason": f"Funds on {WORD}"})
        assert escalated.status_code == 200, escalated.text
        customer = bearer(customer_token(live.settings, "cust-b", name="Bo", lang="en"))
        waiting = await client.post("/api/v1/tickets", headers=customer, json={
            "subject": WORD, "body": "Pending.", "language": "en"})
        assert waiting.status_code == 201, waiting.text
    for width in (1440, 820):
        page = await console_page(browser, live, "lead@kefu.test", "/agent", width=width)
        if width == 1440:  # (at 820 the inbox's nine columns scroll sideways whatever the subject)
            assert await page.evaluate(PAST, "inbox-table") == 0
        await page.goto(f"{live.base}/agent/supervisor")
        for testid in ("supervisor-escalated", "supervisor-waiting"):
            assert await page.evaluate(PAST, testid) == 0, (width, testid)
        await page.context.close()
    # Rows the supervisor view draws from a live frame wrap the same way.
    page = await console_page(browser, live, "lead@kefu.test", "/agent/supervisor")
    async with httpx.AsyncClient(base_url=live.base, timeout=30) as client:
        more = await client.post("/api/v1/tickets", headers=customer, json={
            "subject": f"{WORD}2", "body": "Still pending.", "language": "en"})
        assert more.status_code == 201, more.text
    await page.locator(f'[data-testid="supervisor-waiting"] tr[data-key="{more.json()["number"]}"]'
                       ).wait_for(timeout=15_000)
    for testid in ("supervisor-escalated", "supervisor-waiting"):
        assert await page.evaluate(PAST, testid) == 0, testid
    await page.context.close()


async def test_the_sidebars_priority_form_keeps_its_label_and_button_on_one_line(
        dev_live: LiveServer, browser: Any):
    live = dev_live
    number = await open_ticket(live)
    async with factory_app(live) as app:
        team = await team_of(app, number)
        await make_agent(app, "lead@kefu.test", role="supervisor", teams=[team])
    for lang in ("zh-CN", "en"):
        page = await console_page(browser, live, "lead@kefu.test", f"/agent/tickets/{number}",
                                  lang=lang, width=1440)
        lines = await page.evaluate("""() => {
          const form = document.querySelector('[data-testid="priority-form"]');
          const lines = (node) => { const style = getComputedStyle(node);
            const line = parseFloat(style.lineHeight) || parseFloat(style.fontSize) * 1.5;
            const box = node.getBoundingClientRect();
            return Math.round((box.height - parseFloat(style.paddingTop)
                               - parseFloat(style.paddingBottom)) / line); };
          return [lines(form.querySelector('label')), lines(form.querySelector('button'))]; }""")
        assert lines == [1, 1], (lang, lines)
        await page.context.close()


# A key pressed while an input method composes: Enter commits what was typed ("li" stays li).
COMPOSING_ENTER = """(selector) => { const field = document.querySelector(selector);
  const event = new KeyboardEvent('keydown', {key: 'Enter', keyCode: 229, isComposing: true,
                                              bubbles: true, cancelable: true});
  return field.dispatchEvent(event); }"""


async def test_enter_that_ends_an_input_methods_composition_picks_no_colleague_and_no_macro(
        dev_live: LiveServer, browser: Any):
    live = dev_live
    number = await open_ticket(live)
    async with factory_app(live) as app:
        await make_agent(app, "li.na@kefu.test", teams=[await team_of(app, number)])
        token = await api_token(app, await make_agent(app, "boss@kefu.test", role="admin"))
    async with httpx.AsyncClient(base_url=live.base, timeout=30) as client:
        made = await client.post("/api/v1/macros", headers=bearer(token), json={
            "title": "Deposit delay", "language": "en", "body": "Hi {customer.name}."})
        assert made.status_code == 201, made.text
    page = await agent_page(browser, live, number)
    await page.locator('[data-testid="note-toggle"]').check()
    box = page.locator('[data-testid="reply-box"]')
    await box.press_sequentially("cc @li")
    await page.locator('[data-testid="mention-option"]').first.wait_for(timeout=10_000)
    assert await page.evaluate(COMPOSING_ENTER, '[data-testid="reply-box"]') is True
    assert await box.input_value() == "cc @li"
    await box.fill("")

    await page.locator('[data-testid="macro-picker"]').click()
    await page.locator('[data-testid="macro-item"]').first.wait_for()
    await page.locator('[data-testid="macro-search"]').fill("de")
    assert await page.evaluate(COMPOSING_ENTER, '[data-testid="macro-search"]') is True
    await page.wait_for_timeout(300)
    assert await box.input_value() == ""
    assert await page.locator('[data-testid="macro-panel"]').is_visible()
    await page.context.close()
