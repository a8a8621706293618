"""The public status page (``/help/{lang}/status``) and the help center's status banner say what
each entry is: an ended entry is resolved (with when), a network entry names its coin, network
and direction wherever it is listed, and what starts later is "upcoming", not all of it
"scheduled maintenance"."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from kefu.core import clock
from tests.factories import World, make_world

API = "/api/v1/status"


async def _post(client: httpx.AsyncClient, world: World, **entry: Any) -> dict[str, Any]:
    for key in ("starts_at", "ends_at"):
        if isinstance(entry.get(key), datetime):
            entry[key] = entry[key].isoformat()
    created = await client.post(API, json=entry, headers=world.headers["agent"])
    assert created.status_code == 201, created.text
    return dict(created.json())


def _section(html: str, name: str) -> str:
    """The HTML of the page section headed ``{name}-title`` ("" when it is not there)."""
    match = re.search(rf'<section[^>]*aria-labelledby="{name}-title".*?</section>', html,
                      re.DOTALL)
    return match.group(0) if match else ""


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _time(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC")


@pytest.fixture
async def world(app: FastAPI, client: httpx.AsyncClient) -> World:
    return await make_world(app)


WORDS = {
    "en": {"resolved": "Resolved", "completed": "Completed", "resolved_at": "Resolved at",
           "degraded": "Degraded", "delayed": "Delayed", "suspended": "Suspended",
           "withdrawals": "Withdrawals", "deposits": "Deposits", "upcoming": "Upcoming",
           "scheduled": "Scheduled maintenance", "incident": "Incident",
           "maintenance": "Maintenance", "starts": "Starts"},
    "zh-CN": {"resolved": "已恢复", "completed": "已完成", "resolved_at": "恢复于",
              "degraded": "部分受影响", "delayed": "延迟", "suspended": "暂停",
              "withdrawals": "提币", "deposits": "充值", "upcoming": "即将开始",
              "scheduled": "计划维护", "incident": "故障", "maintenance": "维护",
              "starts": "开始于"},
}


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
async def test_ended_entries_read_as_resolved_with_their_end(
        client: httpx.AsyncClient, world: World, lang: str) -> None:
    words = WORDS[lang]
    now = clock.now().replace(second=0, microsecond=0)
    ended_at = now - timedelta(hours=2)
    await _post(client, world, kind="incident", state="degraded",
                titles={"en": "Login errors", "zh-CN": "登录异常"},
                starts_at=now - timedelta(hours=5), ends_at=ended_at)
    await _post(client, world, kind="network", state="delayed", coin="usdt", network="TRC20",
                direction="withdrawal", titles={"en": "Congestion", "zh-CN": "网络拥堵"},
                starts_at=now - timedelta(days=2), ends_at=now - timedelta(days=1))
    await _post(client, world, kind="maintenance", state="suspended",
                titles={"en": "Futures upgrade", "zh-CN": "合约升级"},
                starts_at=now - timedelta(days=3), ends_at=now - timedelta(days=3, hours=-1))

    page = await client.get(f"/help/{lang}/status")
    assert page.status_code == 200
    recent = _section(page.text, "recent")
    text = _text(recent)
    assert recent.count('data-testid="status-entry"') == 3
    for live in ("degraded", "delayed", "suspended"):
        assert words[live] not in text, (lang, live, text)
    assert text.count(words["resolved"]) >= 2
    assert words["completed"] in text
    assert f'{words["resolved_at"]} {_time(ended_at)}' in text
    assert f'USDT · TRC20 · {words["withdrawals"]}' in text
    # most recently ended first, as on any status page
    assert text.index("登录异常" if lang == "zh-CN" else "Login errors") < text.index(
        "网络拥堵" if lang == "zh-CN" else "Congestion")
    # nothing is going on now
    assert 'class="status-banner"' not in page.text
    assert _section(page.text, "incidents") == ""


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
async def test_upcoming_entries_are_named_and_headed_truly(
        client: httpx.AsyncClient, world: World, lang: str) -> None:
    words = WORDS[lang]
    tomorrow = clock.now() + timedelta(days=1)
    await _post(client, world, kind="network", state="suspended", coin="eth",
                network="ERC20", direction="withdrawal",
                titles={"en": "Ethereum upgrade", "zh-CN": "以太坊升级"}, starts_at=tomorrow,
                ends_at=tomorrow + timedelta(hours=2))
    await _post(client, world, kind="incident", state="degraded",
                titles={"en": "Expected slow logins", "zh-CN": "预计登录缓慢"},
                starts_at=tomorrow + timedelta(hours=3))
    await _post(client, world, kind="maintenance", state="suspended",
                titles={"en": "Database work", "zh-CN": "数据库维护"},
                starts_at=tomorrow + timedelta(hours=1))

    page = await client.get(f"/help/{lang}/status")
    assert page.status_code == 200
    assert words["scheduled"] not in page.text
    upcoming = _section(page.text, "upcoming")
    assert f'<h2 id="upcoming-title">{words["upcoming"]}</h2>' in upcoming
    text = _text(upcoming)
    assert f'ETH · ERC20 · {words["withdrawals"]}' in text
    assert f'{words["incident"]} {"预计登录缓慢" if lang == "zh-CN" else "Expected slow logins"}' \
        in text
    assert f'{words["maintenance"]} {"数据库维护" if lang == "zh-CN" else "Database work"}' \
        in text
    # by start: the network change, the maintenance, then the incident
    order = [text.index(t) for t in (("以太坊升级", "数据库维护", "预计登录缓慢") if lang == "zh-CN"
                                      else ("Ethereum upgrade", "Database work",
                                            "Expected slow logins"))]
    assert order == sorted(order)
    # each says it has not begun yet (its badge is the state it will be in)
    assert text.count(words["starts"]) == 3
    # none of it is current: no banner, no "happening now", every network operating normally
    assert 'class="status-banner"' not in page.text
    assert _section(page.text, "incidents") == ""
    assert 'data-testid="network-row"' not in page.text


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
async def test_banner_names_a_network_entry(
        client: httpx.AsyncClient, world: World, lang: str) -> None:
    words = WORDS[lang]
    await _post(client, world, kind="network", state="suspended", coin="btc", network="Bitcoin",
                direction="deposit", titles={"en": "Node upgrade", "zh-CN": "节点升级"})
    await _post(client, world, kind="incident", state="degraded",
                titles={"en": "Login errors", "zh-CN": "登录异常"},
                starts_at=clock.now() - timedelta(hours=3),
                ends_at=clock.now() - timedelta(hours=1))  # ended: not in the banner

    for path in (f"/help/{lang}", f"/help/{lang}/status"):
        page = await client.get(path)
        assert page.status_code == 200
        banner = re.search(r'<div class="status-banner".*?</ul>', page.text, re.DOTALL)
        assert banner is not None, path
        text = _text(banner.group(0))
        node = "节点升级" if lang == "zh-CN" else "Node upgrade"
        assert f'BTC · Bitcoin · {words["deposits"]} {words["suspended"]} · {node}' in text, text
        assert ("登录异常" if lang == "zh-CN" else "Login errors") not in text


async def test_banner_shows_the_most_serious_three_and_counts_the_rest(
        client: httpx.AsyncClient, world: World) -> None:
    """QA: with twelve incidents open, the banner on every help page listed all twelve, and on
    a 375 px phone the search box began 1,064 px down, below the first screen. The banner names
    the three most serious and says how many more the status page lists; the status page lists
    them all."""
    await _post(client, world, kind="network", state="suspended", coin="usdt", network="TRC20",
                direction="withdrawal", titles={"en": "Node upgrade", "zh-CN": "节点升级"})
    for number in range(12):
        await _post(client, world, kind="incident", state="degraded",
                    titles={"en": f"Incident {number:02}", "zh-CN": f"故障 {number:02}"},
                    starts_at=clock.now() - timedelta(minutes=number + 1))
    for lang, more in (("en", "And 10 more on the status page"),
                       ("zh-CN", "另有 10 项，见服务状态页")):
        page = (await client.get(f"/help/{lang}")).text
        banner = re.search(r'<div class="status-banner".*?</div>\s*</div>', page, re.DOTALL)
        assert banner is not None
        assert banner.group(0).count("<li") == 4, banner.group(0)
        text = _text(banner.group(0))
        # Most serious first: the incidents, newest first, then the network.
        assert "00" in text
        assert "TRC20" not in text
        assert more in text, text
    listed = _text((await client.get("/help/en/status")).text)
    assert all(f"Incident {number:02}" in listed for number in range(12))
