"""The console's trust pages: the official-channel registry (admins), a ticket's trust panel
(as an htmx fragment and as a page) with the step-up button, and the demo exchange's guard."""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI

from kefu.config import Settings
from kefu.trust.verify import agent_public_id
from kefu.web.i18n import Translator
from kefu.web.render import TEMPLATES_DIR, build_environment
from tests.trust.conftest import Desk, open_ticket
from tests.web.browser import agent_sign_in, csrf_of


async def test_admins_manage_the_registry_page(
    client: httpx.AsyncClient, desk: Desk
) -> None:
    assert (await agent_sign_in(client, desk.supervisor.email)).status_code == 303
    assert (await client.get("/agent/trust/channels")).status_code == 403
    client.cookies.clear()
    assert (await agent_sign_in(client, desk.admin.email)).status_code == 303
    page = await client.get("/agent/trust/channels")
    assert page.status_code == 200
    csrf = csrf_of(page.text)

    saved = await client.post("/agent/trust/channels", data={
        "kind": "telegram", "value": "@DemoExSupport", "label": "Support", "active": "on",
        "csrf_token": csrf})
    assert saved.status_code == 303
    listed = await client.get("/agent/trust/channels")
    assert 'data-channel="telegram:demoexsupport"' in listed.text
    assert "@demoexsupport" in listed.text
    api = await client.get("/api/v1/verify", params={"kind": "telegram", "value": "DemoExSupport"})
    assert api.json()["verdict"] == "official"

    refused = await client.post("/agent/trust/channels", data={
        "kind": "domain", "value": "com", "csrf_token": csrf})
    assert refused.status_code == 422
    assert 'value="com"' in refused.text

    channel_id = re.search(r"/agent/trust/channels/([0-9a-f-]{36})/toggle", listed.text)
    assert channel_id is not None
    toggled = await client.post(f"/agent/trust/channels/{channel_id.group(1)}/toggle",
                                data={"csrf_token": csrf})
    assert toggled.status_code == 303
    api = await client.get("/api/v1/verify", params={"kind": "telegram", "value": "DemoExSupport"})
    assert api.json()["verdict"] == "unknown"
    deleted = await client.post(f"/agent/trust/channels/{channel_id.group(1)}/delete",
                                data={"csrf_token": csrf})
    assert deleted.status_code == 303
    assert "data-channel=" not in (await client.get("/agent/trust/channels")).text


async def test_trust_panel_and_step_up_button(
    app: FastAPI, client: httpx.AsyncClient, desk: Desk
) -> None:
    number = await open_ticket(client, desk.customer(app, "held-87"))  # under investigation
    assert (await agent_sign_in(client, desk.agent.email)).status_code == 303
    fragment = await client.get(f"/agent/tickets/{number}/trust", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert 'data-testid="compliance-hold"' in fragment.text
    assert agent_public_id(desk.agent.id) in fragment.text

    page = await client.get(f"/agent/tickets/{number}/trust")
    assert "<html" in page.text
    created = await client.post(f"/agent/tickets/{number}/step-up", data={
        "purpose": "unfreeze", "csrf_token": csrf_of(page.text)})
    assert created.status_code == 200
    assert created.headers["Cache-Control"] == "no-store"
    text = re.search(r'data-testid="step-up-text">([^<]+)<', created.text)
    assert text is not None
    assert "/verify/identity/" in text.group(1)
    assert 'action="/agent/tickets/' + number + '/reply"' in created.text
    assert 'data-state="pending"' in created.text

    other = await client.get(f"/agent/tickets/{number}/trust")
    assert other.status_code == 200
    client.cookies.clear()
    assert (await agent_sign_in(client, desk.other.email)).status_code == 303
    assert (await client.get(f"/agent/tickets/{number}/trust")).status_code == 404


def test_ticket_page_include_loads_the_panel() -> None:
    html = build_environment().get_template("agent/trust_include.html").render(
        ticket={"number": "KF-ABCDEF"}, t=Translator("en"))
    assert 'hx-get="/agent/tickets/KF-ABCDEF/trust"' in html
    assert 'href="/agent/tickets/KF-ABCDEF/trust"' in html
    assert (TEMPLATES_DIR / "agent" / "trust_include.html").exists()


async def test_demo_exchange_page_exists_only_for_the_demo_adapter(
    app: FastAPI, client: httpx.AsyncClient, desk: Desk
) -> None:
    number = await open_ticket(client, desk.customer(app, "cust-demo"))
    link = await client.post(f"/api/v1/tickets/{number}/step-up",
                             headers=desk.headers["agent"], json={"purpose": "appeal"})
    opened = await client.post(link.json()["url"].removeprefix("http://kefu.test"))
    sign_in = opened.headers["location"].removeprefix("http://kefu.test")
    assert (await client.get(sign_in)).status_code == 200
    settings: Settings = app.state.settings
    for change in ({"env": "production"}, {"exchange_adapter": "http"}):
        app.state.settings = settings.model_copy(update=change)
        try:
            assert (await client.get(sign_in)).status_code == 404, change
        finally:
            app.state.settings = settings
