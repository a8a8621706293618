"""The agent console on a tablet (the inbox from 641 px to a small laptop) and the supervisor
view's lists of tickets: the languages they name and the subjects they mark.

``KEFU_SCREENSHOTS=DIR`` keeps a screenshot of each inbox checked, for a person to look at."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.browser.console_support import console_page, escalate, new_ticket, open_ticket
from tests.factories import api_token, make_agent, make_team
from tests.realtime.live import LiveServer, factory_app

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

SHOTS = os.environ.get("KEFU_SCREENSHOTS")

LONG_ZH = "我的USDT充值到现在还没有到账，已经等了三个小时了，请帮忙查一下交易哈希" * 2

# How the inbox sits on the screen: whether its table or the page scrolls sideways, which of a
# row's cells show outside the table's frame, and the text each row shows (its cells as laid
# out, the hidden ones left out).
INBOX_FIT = """number => {
  const frame = document.querySelector('#tickets .table-wrap');
  const box = frame.getBoundingClientRect();
  const row = document.querySelector('[data-testid="inbox-row-' + number + '"]');
  const shown = (node) => node.getClientRects().length > 0;
  const cells = Array.from(row.querySelectorAll('td')).filter(shown);
  return {
    scrolls: frame.scrollWidth - frame.clientWidth,
    page: document.documentElement.scrollWidth - window.innerWidth,
    outside: cells.filter(c => c.getBoundingClientRect().right > box.right + 0.5
                          || c.getBoundingClientRect().left < box.left - 0.5)
      .map(c => c.dataset.cell),
    cells: cells.map(c => c.dataset.cell),
    text: row.innerText,
    heads: Array.from(document.querySelectorAll('#tickets thead th')).filter(shown).length,
    numberLines: new Set(Array.from(row.querySelector('[data-cell="number"] a')
      .getClientRects()).map(r => Math.round(r.top))).size,
  };
}"""


async def shoot(page: Any, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


async def test_the_inbox_fits_a_tablet_without_scrolling_sideways_and_keeps_every_field(
        dev_live: LiveServer, browser: Any):
    """QA: at 820 px the inbox's nine columns scrolled sideways by 232 px even with short
    subjects, hiding Assignee and Updated; only at 640 px and below were the rows cards. From
    641 px to a small laptop the channel and the language are a line under the subject, so
    every row fits, also rows console.js draws from a live frame, in English and Chinese."""
    live = dev_live
    english = await open_ticket(live)
    async with factory_app(live) as app:
        await make_agent(app, "sup@kefu.test", role="supervisor")
        await make_team(app, "中文", "zh-CN")
    chinese = await new_ticket(live, "cust-zh", LONG_ZH, "zh-CN")
    names = {"en": ("Portal", "中文 (简体, 中国)"), "zh-CN": ("工单中心", "中文 (简体, 中国)")}
    for lang in ("en", "zh-CN"):
        for width, height in ((820, 1180), (1024, 768), (1100, 900), (700, 900)):
            page = await console_page(browser, live, "sup@kefu.test", "/agent", lang=lang,
                                      width=width)
            await page.set_viewport_size({"width": width, "height": height})
            live_one = await new_ticket(live, f"cust-{lang}-{width}", LONG_ZH[:30], "zh-CN")
            await page.locator(f'[data-testid="inbox-row-{live_one}"]').wait_for(timeout=15_000)
            await shoot(page, f"inbox-{lang}-{width}")
            for number in (english, chinese, live_one):
                fit = await page.evaluate(INBOX_FIT, number)
                where = (lang, width, number, fit)
                assert (fit["scrolls"], fit["page"], fit["outside"]) == (0, 0, []), where
                assert {"assignee", "updated", "team", "status", "priority"} <= set(
                    fit["cells"]), where
                assert fit["heads"] == len(fit["cells"]), where
                assert fit["numberLines"] == 1, where
            # The channel and the language are still said, the language marked as such.
            for number in (chinese, live_one):
                row = page.locator(f'[data-testid="inbox-row-{number}"]')
                channel, language = names[lang]
                fit = await page.evaluate(INBOX_FIT, number)
                assert channel in fit["text"], fit
                assert language in fit["text"], fit
                meta = row.locator('[data-cell="subject"] [data-meta="language"]')
                assert await meta.get_attribute("lang") == "zh-CN"
            await page.context.close()
    # A desktop keeps its nine columns; a phone its cards.
    page = await console_page(browser, live, "sup@kefu.test", "/agent", width=1280)
    fit = await page.evaluate(INBOX_FIT, english)
    assert (fit["heads"], len(fit["cells"])) == (9, 9), fit
    meta = page.locator(f'[data-testid="inbox-row-{english}"] .row-meta')
    assert not await meta.is_visible()
    await page.context.close()
    page = await console_page(browser, live, "sup@kefu.test", "/agent", width=390)
    fit = await page.evaluate(INBOX_FIT, chinese)
    assert (fit["heads"], len(fit["cells"])) == (0, 9), fit
    assert fit["text"].count("中文 (简体, 中国)") == 1, fit
    await page.context.close()


async def test_the_supervisors_lists_name_languages_as_its_queues_and_mark_subjects(
        dev_live: LiveServer, browser: Any):
    """QA: the waiting list named a zh-CN ticket's language "中文 (简体, 中国)" while its queue,
    a row of "Queues by language", was "中文"; the subjects of the escalated and waiting lists
    had no lang attribute (WCAG 3.1.2), the inbox's do. Now a waiting ticket's language is its
    queue's, named and marked as the queue is, and each subject carries its ticket's language,
    also in rows console.js redraws from a live frame."""
    live = dev_live
    await open_ticket(live)
    async with factory_app(live) as app:
        token = await api_token(app, await make_agent(app, "sup@kefu.test", role="supervisor"))

    waiting = await new_ticket(live, "cust-w", "提现还在处理中", "zh-CN")
    escalated = await new_ticket(live, "cust-e", "账户被冻结了", "zh-CN")
    await escalate(live, token, escalated, "Large loss")

    async def check(page: Any, waiting: str, escalated: str) -> None:
        queue = page.locator('[data-testid="supervisor-languages"] tr[data-key="zh"] th')
        row = page.locator(f'[data-testid="supervisor-waiting"] tr[data-key="{waiting}"]')
        language = row.locator('[data-col="language"]')
        assert (await language.inner_text(), await language.get_attribute("lang")) == (
            await queue.inner_text(), await queue.get_attribute("lang")) == ("中文", "zh")
        assert await row.locator('[data-col="subject"]').get_attribute("lang") == "zh-CN"
        subject = page.locator(
            f'[data-testid="supervisor-escalated"] tr[data-key="{escalated}"] [data-col="subject"]')
        assert await subject.get_attribute("lang") == "zh-CN"

    for lang in ("en", "zh-CN"):
        page = await console_page(browser, live, "sup@kefu.test", "/agent/supervisor", lang=lang)
        await shoot(page, f"supervisor-{lang}")
        await check(page, waiting, escalated)
        # Rows console.js draws from a live frame: named and marked the same way.
        live_waiting = await new_ticket(live, f"cust-lw-{lang}", "充值没有到账", "zh-CN")
        live_escalated = await new_ticket(live, f"cust-le-{lang}", "提币失败", "zh-CN")
        await escalate(live, token, live_escalated, "Large loss")
        for testid, number in (("supervisor-waiting", live_waiting),
                               ("supervisor-escalated", live_escalated)):
            await page.locator(f'[data-testid="{testid}"] tr[data-key="{number}"]'
                               ).wait_for(timeout=15_000)
        await check(page, live_waiting, live_escalated)
        await check(page, waiting, escalated)
        await shoot(page, f"supervisor-{lang}-live")
        await page.context.close()
