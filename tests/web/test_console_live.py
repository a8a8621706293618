"""The live console's pages: what console.js needs on the inbox and ticket pages, the supervisor
view (supervisors and admins only), the macros page and the status switch without JavaScript."""

from __future__ import annotations

import html
import json
import re
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select, update

from kefu.accounts.models import Agent
from kefu.core import clock
from kefu.tickets.models import Ticket
from kefu.web import agent as agent_pages
from kefu.web import i18n
from kefu.web.agent_live import format_duration
from kefu.web.render import STATIC_DIR
from tests.factories import make_agent, make_team
from tests.web.browser import (
    agent_sign_in,
    csrf_of,
    customer_headers,
    make_desk,
    portal_sign_in,
)

CONSOLE_DATA = re.compile(r'<script type="application/json" id="console-data">(.*?)</script>', re.S)


def console_data(page: str) -> dict[str, Any]:
    match = CONSOLE_DATA.search(page)
    assert match is not None, "no console-data on the page"
    data: dict[str, Any] = json.loads(match.group(1))
    return data


async def open_ticket(client: httpx.AsyncClient, headers: dict[str, str], subject: str,
                      language: str = "en") -> str:
    response = await client.post("/api/v1/tickets", headers=headers, json={
        "subject": subject, "body": "My USDT deposit has not arrived.", "language": language})
    assert response.status_code == 201, response.text
    return str(response.json()["number"])


async def test_inbox_and_ticket_pages_carry_what_the_console_needs(
    app: FastAPI, client: httpx.AsyncClient
):
    desk = await make_desk(app)
    customer = customer_headers(app.state.settings, "cust-a", name="Alice")
    number = await open_ticket(client, customer, "USDT deposit missing")
    await agent_sign_in(client, "agent@kefu.test")

    inbox = await client.get("/agent")
    assert inbox.status_code == 200
    assert "/static/console.js" in inbox.text
    assert "/static/console.css" in inbox.text
    assert f'data-testid="inbox-row-{number}"' in inbox.text
    assert f'data-testid="unread-{number}"' in inbox.text
    row = inbox.text.split(f'data-testid="inbox-row-{number}"')[1].split(">")[0]
    assert 'data-status="new"' in row
    assert 'data-last-customer-at="20' in row
    for testid in ("console-bar", "status-switch", "agent-load", "notifications-button",
                   "inbox-table", "connection-state"):
        assert f'data-testid="{testid}"' in inbox.text, testid
    data = console_data(inbox.text)
    assert data["page"] == "inbox"
    assert data["me"]["id"] == str(desk.agent.id)
    assert data["me"]["status"] == "offline"
    assert (data["me"]["load"], data["me"]["capacity"]) == (0, 5)
    assert data["teams"][str(desk.en_team.id)] == "English"
    assert data["labels"]["status.new"] == "New"
    assert data["labels"]["console.sending"] == "Sending…"
    assert "supervisor-" not in inbox.text  # no supervisor link for agents
    filters = html.unescape(inbox.text.split("data-filters='")[1].split("'")[0])
    assert json.loads(filters)["status"] == ""

    # The htmx partial carries the same row data (filters keep working with the live list).
    partial = await client.get("/agent", params={"status": "new"}, headers={"HX-Request": "true"})
    assert f'data-testid="inbox-row-{number}"' in partial.text
    assert json.loads(html.unescape(partial.text.split("data-filters='")[1].split("'")[0]))[
        "status"] == "new"

    page = await client.get(f"/agent/tickets/{number}")
    assert page.status_code == 200
    assert 'data-last-seq="1"' in page.text
    assert f'data-ticket="{number}"' in page.text
    for testid in ("message-list", "message", "reply-box", "send-button", "note-toggle",
                   "macro-picker", "macro-panel", "macro-search", "collision", "mention-list",
                   "attachment-input", "customer-typing", "ticket-changed"):
        assert f'data-testid="{testid}"' in page.text, testid
    assert 'data-seq="1"' in page.text
    ticket_data = console_data(page.text)["ticket"]
    assert ticket_data["number"] == number
    assert ticket_data["last_seq"] == 1
    assert ticket_data["last_customer_at"]

    # A reply through the no-JavaScript form moves the sequence on; assignment adds to the load.
    csrf = csrf_of(page.text)
    sent = await client.post(f"/agent/tickets/{number}/reply",
                             data={"csrf_token": csrf, "body": "Checking the chain now."})
    assert sent.status_code == 303
    assigned = await client.post(f"/agent/tickets/{number}/assign", data={
        "csrf_token": csrf, "agent_id": str(desk.agent.id), "team_id": str(desk.en_team.id)})
    assert assigned.status_code == 303
    page = await client.get(f"/agent/tickets/{number}")
    assert 'data-last-seq="2"' in page.text
    me = console_data(page.text)["me"]
    assert (me["load"], me["active"]) == (1, [number])


async def test_status_switch_works_without_javascript(app: FastAPI, client: httpx.AsyncClient):
    desk = await make_desk(app)
    await agent_sign_in(client, "agent@kefu.test")
    csrf = csrf_of((await client.get("/agent")).text)
    answer = await client.post("/agent/status", data={"csrf_token": csrf, "status": "away",
                                                      "next": "/agent/macros"})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/agent/macros"
    async with app.state.db.transaction() as session:
        assert await session.scalar(select(Agent.status).where(Agent.id == desk.agent.id)) \
            == "away"
    assert console_data((await client.get("/agent")).text)["me"]["status"] == "away"
    elsewhere = await client.post("/agent/status", data={
        "csrf_token": csrf, "status": "online", "next": "https://evil.example/"})
    assert elsewhere.headers["location"] == "/agent"
    bad = await client.post("/agent/status", data={"csrf_token": csrf, "status": "asleep"})
    assert bad.status_code == 422
    assert (await client.post("/agent/status", data={"status": "online"})).status_code == 403


async def test_supervisor_view_is_for_supervisors_and_admins(
    app: FastAPI, client: httpx.AsyncClient
):
    desk = await make_desk(app)
    await make_agent(app, "sup@kefu.test", role="supervisor", teams=[desk.en_team])
    settings = app.state.settings
    waiting = await open_ticket(client, customer_headers(settings, "cust-a"), "Withdrawal stuck")
    chinese = await open_ticket(client, customer_headers(settings, "cust-b"), "提币未到账",
                                language="zh")
    escalated = await open_ticket(client, customer_headers(settings, "cust-c"), "Account hacked")
    await client.post(f"/api/v1/tickets/{escalated}/escalate",
                      headers=customer_headers(settings, "cust-c"),
                      json={"reason": "Someone withdrew my BTC"})

    assert (await client.get("/agent/supervisor")).headers["location"].startswith(
        "/agent/login")
    await agent_sign_in(client, "sup@kefu.test")
    page = await client.get("/agent/supervisor")
    assert page.status_code == 200, page.text
    for testid in ("supervisor-totals", "supervisor-teams", "supervisor-languages",
                   "supervisor-agents", "supervisor-escalated", "supervisor-waiting"):
        assert f'data-testid="{testid}"' in page.text, testid
    assert "/static/console.js" in page.text
    escalations = page.text.split('data-testid="supervisor-escalated"')[1].split("</table>")[0]
    assert escalated in escalations
    assert "Someone withdrew my BTC" in escalations
    queue = page.text.split('data-testid="supervisor-waiting"')[1].split("</table>")[0]
    assert waiting in queue
    assert chinese in queue
    teams = page.text.split('data-testid="supervisor-teams"')[1].split("</table>")[0]
    assert "English" in teams
    assert "中文" in teams
    data = console_data(page.text)
    assert data["page"] == "supervisor"
    assert data["supervisor"]["type"] == "supervisor"
    assert data["supervisor"]["totals"]["waiting"] == 2
    assert data["supervisor"]["totals"]["escalated"] == 1
    assert 'data-testid="nav-supervisor"' in page.text

    client.cookies.clear()
    await agent_sign_in(client, "agent@kefu.test")
    refused = await client.get("/agent/supervisor")
    assert refused.status_code == 403
    assert "This page is for supervisors and admins." in refused.text
    assert "supervisor-teams" not in refused.text

    client.cookies.clear()
    await portal_sign_in(client, settings, "cust-a")
    customer_view = await client.get("/agent/supervisor")
    assert customer_view.status_code == 303
    assert customer_view.headers["location"].startswith("/agent/login")


async def test_supervisor_view_in_chinese(app: FastAPI, client: httpx.AsyncClient):
    desk = await make_desk(app)
    await make_agent(app, "admin@kefu.test", role="admin", teams=[desk.zh_team])
    await agent_sign_in(client, "admin@kefu.test")
    page = await client.get("/agent/supervisor", params={"lang": "zh-CN"})
    assert page.status_code == 200
    assert "主管视图" in page.text
    assert "当前无人等待。" in page.text
    assert console_data(page.text)["labels"]["supervisor.sla_at_risk"] == "SLA 风险"


async def test_macros_page_supervisors_manage_agents_read(
    app: FastAPI, client: httpx.AsyncClient
):
    desk = await make_desk(app)
    await make_agent(app, "sup@kefu.test", role="supervisor", teams=[desk.en_team])
    await agent_sign_in(client, "sup@kefu.test")
    page = await client.get("/agent/macros")
    assert page.status_code == 200
    assert 'data-testid="macro-form"' in page.text
    csrf = csrf_of(page.text)
    # A misspelt or unknown variable is refused at save, the typed text kept to fix it.
    typo = await client.post("/agent/macros", data={
        "csrf_token": csrf, "title": "Deposit delay", "language": "en", "team_id": "global",
        "body": "Hi {customer.nme}, about {ticket.number}: {customer.vip}"})
    assert typo.status_code == 422
    assert ("Unknown variables {customer.nme}, {customer.vip}: fix the spelling or remove "
            "them.") in typo.text
    assert "Hi {customer.nme}, about {ticket.number}: {customer.vip}</textarea>" in typo.text
    typo_zh = await client.post("/agent/macros?lang=zh-CN", data={
        "csrf_token": csrf, "title": "充值延迟", "language": "zh", "team_id": "global",
        "body": "{customer.nme}，您好"}, headers={"Accept-Language": "zh-CN"})
    assert typo_zh.status_code == 422
    assert "无法识别的变量 {customer.nme}" in typo_zh.text
    await client.get("/agent/macros?lang=en")  # back to English for the rest
    created = await client.post("/agent/macros", data={
        "csrf_token": csrf, "title": "Deposit delay", "language": "en", "team_id": "global",
        "body": "Hi {customer.name}, about {ticket.number}."})
    assert created.status_code == 303
    assert created.headers["location"] == "/agent/macros?ok=macro_created"
    listed = await client.get("/agent/macros?ok=macro_created")
    assert "Macro created." in listed.text
    assert "Deposit delay" in listed.text
    macro_id = listed.text.split('data-macro-id="')[1].split('"')[0]

    again = await client.post("/agent/macros", data={
        "csrf_token": csrf, "title": "Deposit delay", "language": "en", "body": "Copy"})
    assert again.status_code == 409
    assert "A macro with this title already exists in this language." in again.text
    assert "Copy" in again.text  # the typed text is kept
    other = await client.post("/agent/macros", data={
        "csrf_token": csrf, "title": "Withdrawal delay", "language": "en", "team_id": "global",
        "body": "Withdrawals take up to 30 minutes."})
    assert other.status_code == 303
    # A refused edit shows what was typed in that macro's form, not the stored macro.
    clash = await client.post(f"/agent/macros/{macro_id}", data={
        "csrf_token": csrf, "title": "Withdrawal delay", "language": "en", "team_id": "global",
        "body": "A long careful rewrite"})
    assert clash.status_code == 409
    form = clash.text.split(f'action="/agent/macros/{macro_id}"', 1)[1].split("</form>", 1)[0]
    assert "A long careful rewrite" in form
    assert 'value="Withdrawal delay"' in form
    long = await client.post("/agent/macros", data={  # past the field's maxlength
        "csrf_token": csrf, "title": "T" * 150, "language": "en", "body": "kept body"})
    assert long.status_code == 422
    assert "T" * 150 in long.text
    assert "kept body" in long.text

    updated = await client.post(f"/agent/macros/{macro_id}", data={
        "csrf_token": csrf, "title": "充值延迟", "language": "zh",
        "team_id": str(desk.zh_team.id), "body": "{customer.name}，您好"})
    assert updated.status_code == 303
    chinese = await client.get("/agent/macros", params={"language": "zh"})
    assert "充值延迟" in chinese.text
    assert "Deposit delay" not in chinese.text
    assert (await client.get("/agent/macros", params={"language": "en"})).text.count(
        'data-testid="macro-row"') == 1  # "Withdrawal delay" only

    client.cookies.clear()
    await agent_sign_in(client, "agent@kefu.test")  # English team: cannot see the zh macro
    agent_page = await client.get("/agent/macros")
    assert agent_page.status_code == 200
    # An agent's form makes personal macros only; a shared one is still refused.
    agent_form = agent_page.text.split('data-testid="macro-form"', 1)[1].split("</form>", 1)[0]
    assert '<input type="hidden" name="team_id" value="personal">' in agent_form
    assert 'name="team_id"' not in agent_form.replace('name="team_id" value="personal"', "")
    assert "充值延迟" not in agent_page.text
    assert 'action="/agent/macros/' not in agent_page.text  # no edit forms for shared macros
    refused = await client.post("/agent/macros", data={
        "csrf_token": csrf_of(agent_page.text), "title": "Mine", "language": "en",
        "team_id": "global", "body": "x"})
    assert refused.status_code == 403

    client.cookies.clear()
    await agent_sign_in(client, "sup@kefu.test")
    csrf = csrf_of((await client.get("/agent/macros")).text)
    deleted = await client.post(f"/agent/macros/{macro_id}/delete", data={"csrf_token": csrf})
    assert deleted.status_code == 303
    assert "充值延迟" not in (await client.get("/agent/macros")).text
    missing = await client.post("/agent/macros/not-an-id/delete", data={"csrf_token": csrf})
    assert missing.status_code == 404


async def test_agents_keep_personal_macros_on_the_macros_page(
    app: FastAPI, client: httpx.AsyncClient
):
    desk = await make_desk(app)
    await make_agent(app, "agent2@kefu.test", teams=[desk.en_team])
    await make_agent(app, "sup@kefu.test", role="supervisor", teams=[desk.en_team])
    await agent_sign_in(client, "agent@kefu.test")
    csrf = csrf_of((await client.get("/agent/macros")).text)
    created = await client.post("/agent/macros", data={
        "csrf_token": csrf, "title": "My greeting", "language": "en", "team_id": "personal",
        "body": "Hi {customer.name}, {agent.name} here."})
    assert created.status_code == 303, created.text
    page = (await client.get("/agent/macros")).text
    row = page.split('data-testid="macro-row"', 1)[1].split("</li>", 1)[0]
    assert "My greeting" in row
    assert '<span class="badge" data-testid="macro-personal">Personal</span>' in row
    macro_id = row.split('data-macro-id="', 1)[1].split('"', 1)[0]
    assert '<input type="hidden" name="team_id" value="personal">' in row  # no team to pick
    edited = await client.post(f"/agent/macros/{macro_id}", data={
        "csrf_token": csrf, "title": "My greeting", "language": "en", "team_id": "personal",
        "body": "Hello {customer.name}"})
    assert edited.status_code == 303, edited.text
    assert "Hello {customer.name}" in (await client.get("/agent/macros")).text
    again = await client.post("/agent/macros", data={
        "csrf_token": csrf, "title": "My greeting", "language": "en", "team_id": "personal",
        "body": "x"})
    assert again.status_code == 409

    for email in ("agent2@kefu.test", "sup@kefu.test"):  # nobody else sees it or deletes it
        client.cookies.clear()
        await agent_sign_in(client, email)
        other = await client.get("/agent/macros")
        assert "My greeting" not in other.text
        refused = await client.post(f"/agent/macros/{macro_id}/delete",
                                    data={"csrf_token": csrf_of(other.text)})
        assert refused.status_code in (403, 404)
    # The supervisor's form offers a personal macro besides the shared ones.
    assert '<option value="personal">Personal (only you)</option>' in other.text

    client.cookies.clear()
    await agent_sign_in(client, "agent@kefu.test")
    csrf = csrf_of((await client.get("/agent/macros")).text)
    deleted = await client.post(f"/agent/macros/{macro_id}/delete", data={"csrf_token": csrf})
    assert deleted.status_code == 303
    assert "My greeting" not in (await client.get("/agent/macros")).text


def test_every_console_label_exists_in_every_language():
    """console.js asks for its words by key; each must be in the data the pages hand it."""
    script = (STATIC_DIR / "console.js").read_text(encoding="utf-8")
    used = set(re.findall(r"""\bt\(\s*"([a-z0-9_.]+)"\s*[,)]""", script))
    assert "console.sending" in used
    for language in i18n.SUPPORTED:
        catalogue = i18n.catalogue()[language]
        missing = sorted(k for k in used if k not in catalogue)
        assert missing == [], (language, missing)
    assert all(k.startswith(agent_pages.CONSOLE_LABEL_PREFIXES) for k in used)
    for family in ("status.", "priority.", "channel.", "author.", "agent_status.", "role."):
        assert family.startswith(agent_pages.CONSOLE_LABEL_PREFIXES), family


def test_durations_read_like_the_console_shows_them():
    assert [format_duration(s) for s in (0, 42, 245, 3900, None)] == \
        ["0s", "42s", "4m 05s", "1h 05m", "0s"]


async def test_console_assets_are_served(client: httpx.AsyncClient):
    for name in ("console.js", "console.css"):
        response = await client.get(f"/static/{name}")
        assert response.status_code == 200
        assert response.headers["x-content-type-options"] == "nosniff"


# ---------------------------------------------------------------- assignee list, languages and
# durations in the console's language (QA: raw codes, untranslated units, blind assignment)


async def set_agent(app: FastAPI, agent_id: Any, **values: Any) -> None:
    async with app.state.db.transaction() as session:
        await session.execute(update(Agent).where(Agent.id == agent_id).values(**values))


def assignee_options(page: str) -> list[tuple[str, str]]:
    """(value, label) of each option of the ticket page's assignee list, in order."""
    select_html = page.split('id="assign-agent"')[1].split("</select>")[0]
    return [(value, html.unescape(label).strip()) for value, label in re.findall(
        r'<option value="([^"]*)"[^>]*>(.*?)</option>', select_html, re.S)]


def assign_warning(page: str) -> list[str] | None:
    """The warning's sentences beside the assignee list; None while it is hidden."""
    tag = page.split('data-testid="assign-warning"')[1]
    if tag.split(">", 1)[0].rstrip().endswith("hidden"):
        return None
    return [html.unescape(text) for text in re.findall(
        r"<span>(.*?)</span>", tag.split(">", 1)[1].split("</p>")[0])]


async def test_the_assignee_list_says_who_can_take_the_ticket_and_warns_before_saving(
    app: FastAPI, client: httpx.AsyncClient
):
    desk = await make_desk(app)
    zoe = await make_agent(app, "zoe@kefu.test", teams=[desk.en_team])
    amy = await make_agent(app, "amy@kefu.test", teams=[desk.en_team])
    ben = await make_agent(app, "ben@kefu.test", teams=[desk.en_team])
    carl = await make_agent(app, "carl@kefu.test", teams=[desk.zh_team])
    for online in (zoe, amy, carl):
        await set_agent(app, online.id, status="online")
    await set_agent(app, ben.id, status="away")
    settings = app.state.settings
    number = await open_ticket(client, customer_headers(settings, "cust-a"), "Deposit missing")
    busy = await open_ticket(client, customer_headers(settings, "cust-b"), "KYC question")
    async with app.state.db.transaction() as session:
        await session.execute(update(Ticket).where(Ticket.number == busy).values(
            assignee_id=amy.id, status="open"))
        assert await session.scalar(select(Ticket.team_id).where(Ticket.number == number)) \
            == desk.en_team.id

    await agent_sign_in(client, "agent@kefu.test")
    page = await client.get(f"/agent/tickets/{number}")
    assert page.status_code == 200
    # In the team first, online before away before offline, the least loaded first.
    assert assignee_options(page.text) == [
        ("none", "Unassigned"),
        (str(zoe.id), "zoe · Online · load 0/5"),
        (str(amy.id), "amy · Online · load 1/5"),
        (str(ben.id), "ben · Away · load 0/5"),
        (str(desk.agent.id), "agent (Me) · Offline · load 0/5"),
        (str(carl.id), "carl · Online · load 0/5 · not in team English"),
    ]
    assert "Listed first: agents in the ticket&#39;s team" in page.text
    assert assign_warning(page.text) is None  # unassigned: nothing to warn about

    # Without JavaScript the list has said it; once saved, the page says it beside the list.
    csrf = csrf_of(page.text)
    saved = await client.post(f"/agent/tickets/{number}/assign", data={
        "csrf_token": csrf, "agent_id": str(carl.id), "team_id": str(desk.en_team.id)})
    assert saved.status_code == 303
    await set_agent(app, carl.id, status="offline")
    page = await client.get(f"/agent/tickets/{number}", params={"lang": "zh-CN"})
    assert assign_warning(page.text) == ["carl 当前离线，上线后才会看到这个工单。",
                                         "carl 不在团队 English 中。"]
    options = dict(assignee_options(page.text))
    assert options[str(carl.id)] == "carl · 离线 · 负载 1/5 · 不在团队 English"
    assert options[str(zoe.id)] == "zoe · 在线 · 负载 0/5"
    page = await client.get(f"/agent/tickets/{number}", params={"lang": "en"})
    assert assign_warning(page.text) == [
        "carl is offline and will see this ticket only when back online.",
        "carl is not in the team English."]
    # Every agent in the option carries what console.js needs to say it for another team.
    carl_option = page.text.split(f'<option value="{carl.id}"')[1].split(">")[0]
    assert f'data-teams="{desk.zh_team.id}"' in carl_option
    assert 'data-status="offline"' in carl_option


async def test_the_inbox_names_languages_in_both_uis(app: FastAPI, client: httpx.AsyncClient):
    desk = await make_desk(app)
    await make_agent(app, "sup@kefu.test", role="supervisor", teams=[desk.en_team])
    await make_team(app, "Español", "es")
    settings = app.state.settings
    spanish = await open_ticket(client, customer_headers(settings, "cust-a"), "Retiro pendiente",
                                language="es")
    chinese = await open_ticket(client, customer_headers(settings, "cust-b"), "提币未到账",
                                language="zh")
    await agent_sign_in(client, "sup@kefu.test")
    for lang in ("en", "zh-CN"):
        inbox = await client.get("/agent", params={"lang": lang})
        assert inbox.status_code == 200
        choices = inbox.text.split('id="f-language"')[1].split("</select>")[0]
        assert re.findall(r'<option value="([a-z]+)"[^>]*>([^<]*)</option>', choices) == [
            ("en", "English"), ("es", "Español"), ("zh", "中文")]
        for number, name in ((spanish, "Español"), (chinese, "中文")):
            row = inbox.text.split(f'data-testid="inbox-row-{number}"')[1].split("</tr>")[0]
            assert re.search(rf'data-cell="language"( lang="[a-z]+")?>{name}</td>', row)
        data = console_data(inbox.text)
        assert data["languages"]["ru"] == "Русский"  # rows added live name theirs too
        assert data["languages"]["und"] == ("Undetermined" if lang == "en" else "未识别")
    # The list the filters swap in, and the ticket's own page, name it the same way.
    partial = await client.get("/agent", params={"language": "es"},
                               headers={"HX-Request": "true"})
    assert 'data-cell="language" lang="es">Español</td>' in partial.text
    page = await client.get(f"/agent/tickets/{spanish}")
    assert '<span data-testid="ticket-language" lang="es">Español</span>' in page.text


def test_language_names_are_autonyms_written_as_menus_write_them():
    names = {code: agent_pages.language_name(code)
             for code in ("en", "es", "ru", "fr", "zh", "ja", "tr", "xx-unknown")}
    assert names == {"en": "English", "es": "Español", "ru": "Русский", "fr": "Français",
                     "zh": "中文", "ja": "日本語", "tr": "Türkçe", "xx-unknown": "xx-unknown"}
    assert agent_pages.language_name("und", "zh-CN") == "未识别"
    assert agent_pages.language_name("und") == "Undetermined"


async def test_the_supervisor_view_speaks_its_language_in_durations_and_names(
    app: FastAPI, client: httpx.AsyncClient
):
    desk = await make_desk(app)
    await make_agent(app, "sup@kefu.test", role="supervisor", teams=[desk.en_team])
    settings = app.state.settings
    old = await open_ticket(client, customer_headers(settings, "cust-a"), "Deposit missing")
    for i, language in enumerate(("es", "ru")):
        await open_ticket(client, customer_headers(settings, f"cust-{language}"),
                          f"Ticket {i}", language=language)
    async with app.state.db.transaction() as session:
        await session.execute(update(Ticket).where(Ticket.number == old).values(
            created_at=clock.now() - timedelta(hours=26, minutes=8, seconds=5)))
    await agent_sign_in(client, "sup@kefu.test")
    for lang, wait, target in (("zh-CN", "26小时08分", "紧急 5分00秒"),
                               ("en", "26h 08m", "Urgent 5m 00s")):
        page = await client.get("/agent/supervisor", params={"lang": lang})
        assert page.status_code == 200
        total = page.text.split('data-total="longest_wait"')[1].split("</strong>")[0]
        assert total.endswith(f">{wait}"), total
        assert target in page.text
        languages = page.text.split('data-testid="supervisor-languages"')[1].split(
            "</table>")[0]
        # each by its own name, marked with its language (WCAG 3.1.2), as in the inbox
        names = re.findall(r'<th scope="row" lang="([^"]+)">([^<]*)</th>', languages)
        assert names == [("en", "English"), ("es", "Español"), ("ru", "Русский"),
                         ("zh", "中文")], names
        waiting = page.text.split('data-testid="supervisor-waiting"')[1].split("</table>")[0]
        assert re.search(r'<td data-col="language" data-label="[^"]+" lang="es">Español</td>',
                         waiting), waiting
        # Each number of a queue names its column: on a phone the queues are cards.
        label = "Agents online" if lang == "en" else "在线客服"
        assert f'data-col="agents_online" data-label="{label}"' in languages


def test_durations_in_chinese():
    assert [format_duration(s, "zh-CN") for s in (0, 42, 245, 94085)] == \
        ["0秒", "42秒", "4分05秒", "26小时08分"]


async def test_what_customers_wrote_carries_its_language_and_new_messages_are_a_log(
    app: FastAPI, client: httpx.AsyncClient
):
    """WCAG 3.1.2: a Chinese subject in the English console is marked lang="zh"."""
    desk = await make_desk(app)
    await make_agent(app, "li@kefu.test", teams=[desk.zh_team])
    customer = customer_headers(app.state.settings, "cust-z", name="Zh")
    number = await open_ticket(client, customer, "充值没有到账", language="zh")
    await agent_sign_in(client, "li@kefu.test")
    inbox = (await client.get("/agent?lang=en")).text
    row = inbox.split(f'data-testid="inbox-row-{number}"')[1].split("</tr>")[0]
    assert 'lang="zh">充值没有到账' in row
    assert 'data-cell="language" lang="zh"' in row
    assert '<option value="zh" lang="zh"' in inbox
    page = (await client.get(f"/agent/tickets/{number}")).text
    assert '<h1 lang="zh">充值没有到账</h1>' in page
    assert re.search(r'<ol class="timeline" data-testid="message-list" role="log" '
                     r'aria-live="polite"', page)
    assert '<div class="msg-body" lang="' in page
    assert 'id="mention-list"' in page
