"""The agent console: sign-in with 2FA, the scoped inbox, the ticket view and its actions."""

from __future__ import annotations

import base64
import html
import json
import re
import time
import uuid

import httpx
import pyotp
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from kefu.accounts.actor import Actor
from kefu.accounts.service import set_policy
from kefu.web import agent as agent_pages
from kefu.web import portal as portal_pages
from kefu.web.agent_auth import safe_next
from tests.factories import login
from tests.web.browser import (
    agent_sign_in,
    csrf_of,
    customer_headers,
    make_desk,
    portal_sign_in,
    ticket_numbers,
)


async def _api_ticket(client: httpx.AsyncClient, headers: dict[str, str], subject: str,
                      language: str = "en") -> str:
    # The subject is the question: one customer's different questions are different tickets.
    response = await client.post("/api/v1/tickets", headers=headers, json={
        "subject": subject, "body": subject, "language": language})
    assert response.status_code == 201, response.text
    return str(response.json()["number"])


async def test_sign_in_and_inbox_shows_only_the_teams_tickets(
    app: FastAPI, client: httpx.AsyncClient
):
    await make_desk(app)
    settings = app.state.settings
    ours = await _api_ticket(client, customer_headers(settings, "cust-a"), "USDT deposit missing")
    theirs = await _api_ticket(client, customer_headers(settings, "cust-b"), "提币未到账",
                               language="zh")

    unauthenticated = await client.get("/agent")
    assert unauthenticated.status_code == 303
    assert unauthenticated.headers["location"].startswith("/agent/login")

    signed_in = await agent_sign_in(client, "agent@kefu.test")
    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == "/agent"
    assert "kefu_session=" in signed_in.headers["set-cookie"]
    inbox = await client.get("/agent")
    assert inbox.status_code == 200
    assert ticket_numbers(inbox.text) == {ours}
    assert theirs not in inbox.text

    # Filters: a full page normally, only the table for htmx.
    partial = await client.get("/agent", params={"status": "new", "q": "USDT"},
                               headers={"HX-Request": "true"})
    assert partial.status_code == 200
    assert partial.text.lstrip().startswith("<section id=\"tickets\"")
    assert ours in partial.text
    assert "<html" not in partial.text
    none = await client.get("/agent", params={"status": "closed"})
    assert ours not in ticket_numbers(none.text)  # its unread count is there (the title's)
    mine = await client.get("/agent", params={"assignee": "me"})
    assert ours not in ticket_numbers(mine.text)


async def test_wrong_password_is_a_friendly_401(app: FastAPI, client: httpx.AsyncClient):
    await make_desk(app)
    response = await agent_sign_in(client, "agent@kefu.test", "not the password")
    assert response.status_code == 401
    assert "The email or password is wrong." in response.text
    assert "Traceback" not in response.text
    assert "kefu_session" not in client.cookies
    # Without the sign-in form's token the post is refused (login CSRF).
    client.cookies.clear()
    forged = await client.post("/agent/login", data={"email": "agent@kefu.test",
                                                      "password": "correct horse battery"})
    assert forged.status_code == 403
    assert "kefu_session" not in client.cookies


async def test_customers_never_get_agent_pages(app: FastAPI, client: httpx.AsyncClient):
    number = await _api_ticket(client, customer_headers(app.state.settings, "cust-a"), "Mine")
    await portal_sign_in(client, app.state.settings, "cust-a")
    for path in ("/agent", f"/agent/tickets/{number}"):
        response = await client.get(path)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/agent/login")


async def test_ticket_view_with_context_reply_and_note(app: FastAPI, client: httpx.AsyncClient):
    await make_desk(app)
    settings = app.state.settings
    customer = customer_headers(settings, "vip7-web-test", name="Li Wei", lang="en")
    number = await _api_ticket(client, customer, "BTC deposit stuck")
    context = await app.state.exchange.customer_context("vip7-web-test")
    txid = next(d.txid for d in context.deposits if d.txid)

    await agent_sign_in(client, "agent@kefu.test")
    page = await client.get(f"/agent/tickets/{number}")
    assert page.status_code == 200
    assert "Li Wei" in page.text
    panel = await client.get(f"/agent/tickets/{number}/customer-panel",
                             headers={"HX-Request": "true"})  # loaded after the page
    assert "VIP 7" in panel.text
    assert txid in panel.text
    csrf = csrf_of(page.text)

    reply = await client.post(f"/agent/tickets/{number}/reply", data={
        "csrf_token": csrf, "body": "We see 2 of 3 confirmations.\nPlease wait."})
    assert reply.status_code == 303
    note = await client.post(f"/agent/tickets/{number}/note", data={
        "csrf_token": csrf, "body": "Checked the mempool, fee is low."})
    assert note.status_code == 303
    page = await client.get(f"/agent/tickets/{number}")
    assert "We see 2 of 3 confirmations.\nPlease wait." in page.text
    assert "msg-internal" in page.text
    assert "Checked the mempool, fee is low." in page.text
    # The customer gets the reply, never the note.
    api = (await client.get(f"/api/v1/tickets/{number}", headers=customer)).json()
    bodies = [m["body"] for m in api["messages"]]
    assert "We see 2 of 3 confirmations.\nPlease wait." in bodies
    assert "Checked the mempool, fee is low." not in bodies
    assert api["status"] == "open"
    no_csrf = await client.post(f"/agent/tickets/{number}/note", data={"body": "x"})
    assert no_csrf.status_code == 403


async def test_ticket_actions(app: FastAPI, client: httpx.AsyncClient):
    desk = await make_desk(app)
    customer_a = customer_headers(app.state.settings, "cust-a")
    first = await _api_ticket(client, customer_a, "Withdrawal pending")
    second = await _api_ticket(client, customer_a, "Withdrawal pending again")
    await agent_sign_in(client, "agent@kefu.test")
    csrf = csrf_of((await client.get(f"/agent/tickets/{first}")).text)

    async def act(number: str, action: str, **data: str) -> httpx.Response:
        return await client.post(f"/agent/tickets/{number}/{action}",
                                 data={"csrf_token": csrf, **data})

    assert (await act(first, "assign", agent_id=str(desk.agent.id),
                      team_id=str(desk.en_team.id))).status_code == 303
    pending = await act(first, "status", status="pending", pending_reason="customer")
    assert pending.status_code == 303
    illegal = await act(first, "status", status="closed")
    assert illegal.status_code == 409
    assert "not possible" in illegal.text
    assert (await act(first, "tags", add="withdrawal, trc20")).status_code == 303
    assert (await act(first, "tags", remove="trc20")).status_code == 303
    assert (await act(first, "escalate", reason="Large amount, needs a supervisor")
            ).status_code == 303
    page = await client.get(f"/agent/tickets/{first}")
    assert "Large amount, needs a supervisor" in page.text
    tags = page.text.split('id="tags-title"')[1].split("</section>")[0]
    assert '<span class="tag">withdrawal</span>' in tags
    assert "trc20" not in tags
    assert "Status changed" in page.text
    assert "Assigned" in page.text

    merged = await act(second, "merge", into=first)
    assert merged.status_code == 303
    assert merged.headers["location"].startswith(f"/agent/tickets/{first}")
    old = await client.get(f"/agent/tickets/{second}")
    assert old.status_code == 303
    assert old.headers["location"] == f"/agent/tickets/{first}"
    bad = await act(first, "merge", into="KF-2222ZZ")
    assert bad.status_code == 404
    # Priority from the page, as the API's PATCH; a value that is none is refused.
    page = (await client.get(f"/agent/tickets/{first}")).text
    assert 'data-testid="priority-form"' in page
    assert '<option value="normal" selected>' in page
    raised = await act(first, "priority", priority="urgent")
    assert raised.status_code == 303
    assert raised.headers["location"] == f"/agent/tickets/{first}?ok=priority"
    page = (await client.get(f"/agent/tickets/{first}?ok=priority")).text
    assert '<option value="urgent" selected>' in page
    assert "Priority saved." in page
    assert (await act(first, "priority", priority="critical")).status_code == 422
    # Transferred to a team this agent is not in: back to the inbox, told why, not a 404.
    away = await act(first, "assign", agent_id="", team_id=str(desk.zh_team.id))
    assert away.status_code == 303
    assert away.headers["location"] == "/agent?ok=transferred"
    inbox = await client.get("/agent?ok=transferred")
    assert "Transferred. The ticket has left your queues" in inbox.text
    assert first not in ticket_numbers(inbox.text)


async def test_refused_ticket_changes_say_what_is_wrong_and_keep_what_was_typed(
        app: FastAPI, client: httpx.AsyncClient):
    await make_desk(app)
    number = await _api_ticket(client, customer_headers(app.state.settings, "cust-a"),
                               "Withdrawal pending")
    await agent_sign_in(client, "agent@kefu.test")
    csrf = csrf_of((await client.get(f"/agent/tickets/{number}")).text)
    bogus = await client.post(f"/agent/tickets/{number}/status",
                              data={"csrf_token": csrf, "status": "bogus"})
    assert bogus.status_code == 422
    assert "Choose one of the statuses offered." in bogus.text
    assert "online, away or offline" not in bogus.text
    waiting = await client.post(f"/agent/tickets/{number}/status?lang=zh-CN", data={
        "csrf_token": csrf, "status": "pending", "pending_reason": "bogus",
        "reason": "asked for the txid"})
    assert waiting.status_code == 422
    assert "请选择工单在等待谁" in waiting.text
    assert "Input should be" not in waiting.text
    assert 'value="asked for the txid"' in waiting.text
    many = await client.post(f"/agent/tickets/{number}/tags", data={
        "csrf_token": csrf, "add": ",".join(f"t{i}" for i in range(60))})
    assert many.status_code == 422
    assert "一次最多添加 50 个标签。" in many.text  # the console stays in the language chosen
    long = await client.post(f"/agent/tickets/{number}/escalate",
                             data={"csrf_token": csrf, "reason": "x" * 5000})
    assert long.status_code == 422
    assert "3 到 2000 个字符" in long.text
    note = "Checked the chain. " + "y" * 120_000  # past the box's maxlength
    refused = await client.post(f"/agent/tickets/{number}/note",
                                data={"csrf_token": csrf, "body": note})
    assert refused.status_code == 422
    assert note in refused.text  # in the note box again


async def test_totp_agent_must_pass_the_code_step(app: FastAPI, client: httpx.AsyncClient):
    await make_desk(app)
    csrf = await login(client, "agent@kefu.test")
    setup = await client.post("/api/v1/auth/2fa/setup", headers={"X-CSRF-Token": csrf})
    secret = setup.json()["secret"]
    totp = pyotp.TOTP(secret)
    # Enabled with the previous step's code, so the current one is still unused below.
    enabled = await client.post("/api/v1/auth/2fa/enable", headers={"X-CSRF-Token": csrf},
                                json={"code": totp.at(time.time() - 30)})
    assert enabled.status_code == 204, enabled.text
    client.cookies.clear()

    signed_in = await agent_sign_in(client, "agent@kefu.test")
    assert signed_in.headers["location"] == "/agent/2fa"
    blocked = await client.get("/agent")
    assert blocked.status_code == 303
    assert blocked.headers["location"] == "/agent/2fa"
    step = await client.get("/agent/2fa")
    assert step.status_code == 200
    assert 'name="code"' in step.text
    step_csrf = csrf_of(step.text)
    wrong = await client.post("/agent/2fa", data={"csrf_token": step_csrf, "code": "000000"})
    assert wrong.status_code == 401
    passed = await client.post("/agent/2fa", data={"csrf_token": step_csrf,
                                                   "code": totp.now()})
    assert passed.status_code == 303
    assert passed.headers["location"] == "/agent"
    assert (await client.get("/agent")).status_code == 200


async def test_policy_requires_enrolment_first(app: FastAPI, client: httpx.AsyncClient):
    await make_desk(app)
    async with app.state.db.transaction() as session:
        await set_policy(session, Actor(kind="anonymous"), app.state.settings,
                         require_agent_2fa=True)
    await agent_sign_in(client, "agent@kefu.test")
    inbox = await client.get("/agent")
    assert inbox.status_code == 303
    assert inbox.headers["location"] == "/agent/2fa"
    enrol = await client.get("/agent/2fa")
    assert enrol.status_code == 200
    assert "otpauth://totp/" in enrol.text
    secret = enrol.text.split("otpauth://totp/")[1].split("secret=")[1].split("&")[0]
    assert secret in (await client.get("/agent/2fa")).text  # a reload keeps the same secret
    done = await client.post("/agent/2fa", data={"csrf_token": csrf_of(enrol.text),
                                                 "code": pyotp.TOTP(secret).now()})
    assert done.status_code == 303
    assert (await client.get("/agent")).status_code == 200


async def test_sign_out(app: FastAPI, client: httpx.AsyncClient):
    await make_desk(app)
    await agent_sign_in(client, "agent@kefu.test")
    page = await client.get("/agent")
    out = await client.post("/agent/logout", data={"csrf_token": csrf_of(page.text)})
    assert out.status_code == 303
    assert (await client.get("/agent")).status_code == 303


@pytest.mark.parametrize(("value", "expected"), [
    ("/agent/tickets/KF-2345AB", "/agent/tickets/KF-2345AB"),
    ("/agent?status=new&q=usdt", "/agent?status=new&q=usdt"),
    ("//evil.example/agent", "/agent"),
    ("https://evil.example/agent", "/agent"),
    ("/agent\r\nSet-Cookie: x=1", "/agent"),
    ("/agent\n", "/agent"),
    ("/portal", "/agent"),
    ("", "/agent"),
])
def test_sign_in_only_returns_inside_the_console(value: str, expected: str):
    assert safe_next(value) == expected


async def test_odd_input_is_a_4xx_never_a_500(app: FastAPI, client: httpx.AsyncClient):
    await make_desk(app)
    number = await _api_ticket(client, customer_headers(app.state.settings, "cust-a"), "Odd")
    await agent_sign_in(client, "agent@kefu.test")
    naive = base64.urlsafe_b64encode(json.dumps(
        {"at": "2024-01-01T00:00:00", "id": str(uuid.uuid4())}).encode()).decode().rstrip("=")
    assert (await client.get("/agent", params={"cursor": naive})).status_code == 400
    assert (await client.get("/agent", params={"cursor": "!!"})).status_code == 400
    # A NUL in a page's URL is dropped before routing (the API refuses it: test_db.py), the
    # same on both databases.
    for params in ({"q": "a\x00b"}, {"tag": "x\x00"}, {"language": "\x00"}):
        page = await client.get("/agent", params=params)
        assert page.status_code == 200
        assert "\x00" not in page.text
    csrf = csrf_of((await client.get(f"/agent/tickets/{number}")).text)
    for action, data, status in (
        ("note", {"body": "nul\x00byte"}, 303),
        ("status", {"status": "bogus"}, 422),
        ("assign", {"agent_id": "not-a-uuid"}, 422),
        ("merge", {"into": "KF\x00"}, 422),
        ("reply", {"body": "x" * 30_000}, 422),
    ):
        response = await client.post(f"/agent/tickets/{number}/{action}",
                                     data={"csrf_token": csrf, **data})
        assert response.status_code == status, (action, response.text[:200])


async def test_inbox_and_portal_page_through_tickets(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(agent_pages, "PAGE_SIZE", 2)
    monkeypatch.setattr(portal_pages, "PAGE_SIZE", 2)
    await make_desk(app)
    customer = customer_headers(app.state.settings, "cust-pages")
    numbers = {await _api_ticket(client, customer, f"Question {i}") for i in range(3)}

    await agent_sign_in(client, "agent@kefu.test")
    first = await client.get("/agent")
    assert len(ticket_numbers(first.text)) == 2
    cursor = html.unescape(first.text.split('hx-get="/agent?cursor=')[1].split('"')[0])
    second = await client.get(f"/agent?cursor={cursor}", headers={"HX-Request": "true"})
    assert ticket_numbers(first.text) | ticket_numbers(second.text) == numbers
    assert 'hx-get="/agent?cursor=' not in second.text

    client.cookies.clear()
    await portal_sign_in(client, app.state.settings, "cust-pages")
    page = await client.get("/portal")
    assert len(ticket_numbers(page.text)) == 2
    cursor = html.unescape(page.text.split('href="/portal?cursor=')[1].split('"')[0])
    rest = await client.get(f"/portal?cursor={cursor}")
    assert ticket_numbers(page.text) | ticket_numbers(rest.text) == numbers


async def test_a_customer_without_a_name_is_called_customer_in_the_consoles_language(
        app: FastAPI, client: httpx.AsyncClient):
    await make_desk(app)
    number = await _api_ticket(client, customer_headers(app.state.settings, "cust-nameless"),
                               "USDT deposit missing")
    await agent_sign_in(client, "agent@kefu.test")
    page = (await client.get(f"/agent/tickets/{number}", params={"lang": "zh-CN"})).text
    assert '<span class="msg-author">客户</span>' in page
    assert "Customer" not in page
    # ... and in the portal the customer reads their own ticket the same way.
    client.cookies.clear()
    await portal_sign_in(client, app.state.settings, "cust-nameless", lang="zh-CN")
    portal = (await client.get(f"/portal/tickets/{number}", params={"lang": "zh-CN"})).text
    assert '<span class="msg-author">客户</span>' in portal
    assert ">Customer<" not in portal


async def test_inbox_counts_unread_from_the_agents_stored_read_point(
        app: FastAPI, client: httpx.AsyncClient):
    """A new device or a first sign-in shows the real count: the customer's messages after this
    agent's own read point (the agent's replies and other agents' reading do not count)."""
    from kefu.tickets import reads
    from kefu.tickets.models import Ticket

    desk = await make_desk(app)
    settings = app.state.settings
    customer = customer_headers(settings, "cust-a")
    number = await _api_ticket(client, customer, "USDT deposit missing")
    for body in ("It was 500 USDT on TRC20", "The TxID is in the screenshot"):
        added = await client.post(f"/api/v1/tickets/{number}/replies", headers=customer,
                                  json={"body": body})
        assert added.status_code == 201, added.text
    await agent_sign_in(client, "agent@kefu.test")
    row = re.compile(rf'data-testid="inbox-row-{number}"[^>]*data-unread="(\d+)"')
    page = (await client.get("/agent")).text
    assert row.search(page).group(1) == "3"  # type: ignore[union-attr]
    assert f'data-testid="unread-{number}" aria-label="3 unread">3<' in page

    async with app.state.db.transaction() as session:
        ticket_id = await session.scalar(select(Ticket.id).where(Ticket.number == number))
        assert await reads.advance(session, ticket_id, str(desk.agent.id), seq=1, public_seq=1)
        assert not await reads.advance(session, ticket_id, str(desk.agent.id), seq=1,
                                       public_seq=1)  # never moves back or stays
        # Another agent reading everything changes nothing for this one.
        await reads.advance(session, ticket_id, str(uuid.uuid4()), seq=3, public_seq=3)
    page = (await client.get("/agent")).text
    assert row.search(page).group(1) == "2"  # type: ignore[union-attr]
    async with app.state.db.transaction() as session:
        await reads.advance(session, ticket_id, str(desk.agent.id), seq=3, public_seq=3)
    page = (await client.get("/agent")).text
    assert row.search(page).group(1) == "0"  # type: ignore[union-attr]
    assert f'data-testid="unread-{number}" hidden>' in page


async def test_a_blocked_reply_says_why_in_the_consoles_language(
        app: FastAPI, client: httpx.AsyncClient):
    """The page path (no JavaScript) names the guard's reasons like the socket does: in the
    console's language, one sentence after the other."""
    await make_desk(app)
    number = await _api_ticket(client, customer_headers(app.state.settings, "cust-a"),
                               "2FA reset")
    await agent_sign_in(client, "agent@kefu.test")
    csrf = csrf_of((await client.get(f"/agent/tickets/{number}")).text)
    body = "To verify you, send me your password and the 6-digit code from your authenticator."
    for lang, words, joint in (("zh-CN", "验证码", "。；"), ("en", "verification", ".;")):
        refused = await client.post(f"/agent/tickets/{number}/reply?lang={lang}",
                                    data={"csrf_token": csrf, "body": body})
        assert refused.status_code == 422
        alert = html.unescape(refused.text.split('role="alert">', 1)[1].split("</div>", 1)[0])
        assert words in alert, alert
        assert joint not in alert, alert
        assert body in html.unescape(refused.text)  # the text stays in the box


async def test_a_note_posted_from_the_page_names_the_colleagues_it_did_not_notify(
        app: FastAPI, client: httpx.AsyncClient):
    """The page path (no JavaScript): a colleague the note names who may not read the ticket
    is not notified, and the page back tells the author so, in the console's language."""
    from tests.factories import make_agent

    desk = await make_desk(app)
    carl = await make_agent(app, "carl@kefu.test", teams=[desk.zh_team])
    number = await _api_ticket(client, customer_headers(app.state.settings, "cust-a"),
                               "USDT deposit missing")
    await agent_sign_in(client, "agent@kefu.test")
    csrf = csrf_of((await client.get(f"/agent/tickets/{number}")).text)
    noted = await client.post(f"/agent/tickets/{number}/note",
                              data={"csrf_token": csrf, "body": "@carl please check the TxID"})
    assert noted.status_code == 303
    back = noted.headers["location"]
    assert back == f"/agent/tickets/{number}?ok=noted&not_notified={carl.id}"
    for lang, words in (("en", "Your note is saved. carl cannot see this ticket, so they were "
                                "not notified."),
                        ("zh-CN", "备注已保存。carl 无权查看此工单，因此未收到通知。")):
        page = (await client.get(f"{back}&lang={lang}")).text
        warning = page.split('data-testid="mention-warning">', 1)[1].split("</div>", 1)[0]
        assert html.unescape(warning) == words
    # Only after a note, and only agents: anything else in the link is left out.
    assert 'data-testid="mention-warning"' not in (await client.get(
        f"/agent/tickets/{number}?ok=replied&not_notified={carl.id}")).text
    assert 'data-testid="mention-warning"' not in (await client.get(
        f"/agent/tickets/{number}?ok=noted&not_notified={uuid.uuid4()},x")).text
    plain = await client.post(f"/agent/tickets/{number}/note",
                              data={"csrf_token": csrf, "body": "@agent checked the node"})
    assert plain.headers["location"] == f"/agent/tickets/{number}?ok=noted"


async def test_the_inbox_counts_unread_messages_of_every_ticket_not_only_those_listed(
        app: FastAPI, client: httpx.AsyncClient):
    """The tab title's total is the sum of ``data-unread-all``: every active ticket the agent
    may read, whatever the filter or page shows; not resolved ones, not other teams'."""
    await make_desk(app)
    settings = app.state.settings
    alice = customer_headers(settings, "cust-a")
    listed = await _api_ticket(client, alice, "USDT deposit missing")
    filtered_out = await _api_ticket(client, customer_headers(settings, "cust-b"),
                                     "Withdrawal pending")
    added = await client.post(f"/api/v1/tickets/{filtered_out}/replies",
                              headers=customer_headers(settings, "cust-b"),
                              json={"body": "Still pending."})
    assert added.status_code == 201, added.text
    resolved = await _api_ticket(client, customer_headers(settings, "cust-c"), "Fee question")
    done = await client.post(f"/api/v1/tickets/{resolved}/status",
                             headers=customer_headers(settings, "cust-c"),
                             json={"status": "resolved"})
    assert done.status_code == 200, done.text
    theirs = await _api_ticket(client, customer_headers(settings, "cust-d"), "提币未到账",
                               language="zh")
    await agent_sign_in(client, "agent@kefu.test")

    def counts(page: str) -> dict[str, int]:
        match = re.search(r"data-unread-all='([^']*)'", page)
        assert match is not None
        return {number: count for number, (count, _) in
                json.loads(html.unescape(match.group(1))).items()}

    for headers in ({}, {"HX-Request": "true"}):
        page = (await client.get("/agent", params={"q": "USDT"}, headers=headers)).text
        assert ticket_numbers(page) == {listed}
        assert counts(page) == {listed: 1, filtered_out: 2}
    assert theirs not in counts(page)
    assert resolved not in counts(page)
