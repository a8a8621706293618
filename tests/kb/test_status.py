"""The status page: agents post maintenance, incidents and network states; the public API, the
help center (page and banner), the widget's endpoint and the assistant's service show them."""

from __future__ import annotations

from datetime import timedelta

import httpx
from fastapi import FastAPI

from kefu.core import clock
from kefu.kb.status import current_status
from tests.factories import make_world
from tests.web.browser import agent_sign_in, csrf_of

API = "/api/v1/status"
ORIGIN = "https://www.exchange.example"


async def test_agents_write_everyone_reads(app: FastAPI, client: httpx.AsyncClient) -> None:
    world = await make_world(app)
    network = {"kind": "network", "state": "delayed", "coin": "usdt", "network": "TRC20",
               "direction": "withdrawal",
               "titles": {"en": "TRC20 withdrawals delayed", "zh-cn": "TRC20 提币延迟"}}
    assert (await client.post(API, json=network,
                              headers=world.headers["customer_a"])).status_code == 404
    assert (await client.post(API, json=network)).status_code == 401
    created = await client.post(API, json=network, headers=world.headers["agent"])
    assert created.status_code == 201, created.text
    entry = created.json()
    assert (entry["coin"], entry["current"], entry["titles"]["zh-CN"]) == ("USDT", True,
                                                                           "TRC20 提币延迟")
    later = (clock.now() + timedelta(days=2)).isoformat()
    planned = await client.post(API, headers=world.headers["agent"], json={
        "kind": "maintenance", "state": "suspended", "starts_at": later,
        "titles": {"en": "Futures maintenance"}})
    assert planned.status_code == 201
    naive = await client.post(API, headers=world.headers["agent"], json={  # read as UTC
        "kind": "incident", "state": "degraded", "titles": {"en": "Login errors"},
        "starts_at": "2026-11-27T01:00:00", "ends_at": "2099-01-01T00:00:00"})
    assert naive.status_code == 201, naive.text
    assert naive.json()["starts_at"].startswith("2026-11-27T01:00:00")
    assert naive.json()["starts_at"].endswith(("Z", "+00:00"))
    moved = await client.patch(f"{API}/{naive.json()['id']}", headers=world.headers["agent"],
                               json={"ends_at": "2099-02-01T00:00:00"})
    assert moved.status_code == 200, moved.text
    assert (await client.delete(f"{API}/{naive.json()['id']}",
                                headers=world.headers["agent"])).status_code == 204
    incomplete = await client.post(API, headers=world.headers["agent"], json={
        "kind": "network", "state": "delayed", "titles": {"en": "Something"}})
    assert incomplete.status_code == 422
    assert incomplete.json()["error"]["code"] == "network_fields_required"

    current = await client.get(API, params={"scope": "current", "lang": "zh-CN"},
                               headers={"Origin": ORIGIN})
    assert [i["title"] for i in current.json()["items"]] == ["TRC20 提币延迟"]
    assert current.headers["access-control-allow-origin"] == "*"  # the widget reads it
    visible = await client.get(API, params={"lang": "en"})
    assert [i["title"] for i in visible.json()["items"]] == [
        "TRC20 withdrawals delayed", "Futures maintenance"]

    async with app.state.db.transaction() as session:
        notices = await current_status(session, "en")
    assert [(n.coin, n.network, n.direction, n.state, n.title) for n in notices] == [
        ("USDT", "TRC20", "withdrawal", "delayed", "TRC20 withdrawals delayed")]

    ended = await client.patch(f"{API}/{entry['id']}", json={"end_now": True},
                               headers=world.headers["agent"])
    assert ended.status_code == 200
    assert ended.json()["current"] is False
    current = await client.get(API, params={"scope": "current"})
    assert current.json()["items"] == []
    recent = await client.get(API, params={"scope": "recent"})
    assert [i["id"] for i in recent.json()["items"]] == [entry["id"]]


async def test_status_page_editor_and_help_center(app: FastAPI, client: httpx.AsyncClient
                                                  ) -> None:
    world = await make_world(app)
    assert (await agent_sign_in(client, world.agent.email)).status_code == 303
    editor = await client.get("/agent/status")
    assert editor.status_code == 200
    form = {"csrf_token": csrf_of(editor.text), "kind": "incident", "state": "degraded",
            "title_en": "Login problems in Europe", "title_zh": "欧洲地区登录异常",
            "body_en": "Some customers cannot sign in; we are on it."}
    refused = await client.post("/agent/status/entries", data={**form, "csrf_token": "x"})
    assert refused.status_code == 403
    saved = await client.post("/agent/status/entries", data=form)
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == "/agent/status?ok=status_saved"
    page = await client.get("/agent/status?ok=status_saved")
    assert "Login problems in Europe" in page.text

    client.cookies.clear()
    status_page = await client.get("/help/zh-CN/status")
    assert status_page.status_code == 200
    assert "欧洲地区登录异常" in status_page.text
    home = await client.get("/help/en")
    assert 'class="status-banner"' in home.text
    assert "Login problems in Europe" in home.text


async def test_an_entry_with_a_planned_end_can_be_ended_early(
        app: FastAPI, client: httpx.AsyncClient) -> None:
    world = await make_world(app)
    entry = await client.post(API, headers=world.headers["agent"], json={
        "kind": "maintenance", "state": "suspended", "titles": {"en": "Futures maintenance"},
        "ends_at": (clock.now() + timedelta(hours=2)).isoformat()})
    assert entry.json()["current"] is True
    assert (await agent_sign_in(client, world.agent.email)).status_code == 303
    editor = (await client.get("/agent/status")).text
    assert editor.count('name="end_now" value="1"') == 1
    assert 'data-testid="status-ended"' not in editor
    ended = await client.post(f"/agent/status/entries/{entry.json()['id']}",
                              data={"csrf_token": csrf_of(editor), "end_now": "1"})
    assert ended.status_code == 303
    assert (await client.get(API, params={"scope": "current"})).json()["items"] == []
    assert 'data-testid="status-ended"' in (await client.get("/agent/status")).text


async def test_a_planned_entry_is_not_ended_before_it_starts(
        app: FastAPI, client: httpx.AsyncClient) -> None:
    """QA: 'End now' on maintenance planned for later left it listed as upcoming, from a time to
    the same time: a plan is deleted or moved, not ended."""
    world = await make_world(app)
    planned = await client.post(API, headers=world.headers["agent"], json={
        "kind": "maintenance", "state": "suspended", "titles": {"en": "Wallet maintenance"},
        "starts_at": (clock.now() + timedelta(days=2)).isoformat()})
    assert planned.status_code == 201, planned.text
    refused = await client.patch(f"{API}/{planned.json()['id']}", json={"end_now": True},
                                 headers=world.headers["agent"])
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "status_not_started"
    assert (await agent_sign_in(client, world.agent.email)).status_code == 303
    assert 'name="end_now" value="1"' not in (await client.get("/agent/status")).text
    upcoming = await client.get(API, params={"scope": "upcoming"})
    assert [i["ends_at"] for i in upcoming.json()["items"]] == [None]
