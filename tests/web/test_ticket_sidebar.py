"""GET /agent/tickets/{number}/sidebar: the ticket page's live parts (the status, priority,
assign, escalate and merge forms, tags, team, assignee, first response, and what a reply does
now) as they are now, which the console swaps in after a change. The same readers as the ticket
page; what it offers follows the ticket's status and the reader's role, and names agents and
teams made after the page."""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI

from tests.factories import api_token, bearer, make_agent
from tests.web.browser import (
    agent_sign_in,
    csrf_of,
    customer_headers,
    make_desk,
    portal_sign_in,
)


async def _ticket(client: httpx.AsyncClient, app: FastAPI, subject: str = "USDT deposit missing"
                  ) -> str:
    created = await client.post("/api/v1/tickets", json={"subject": subject, "body": subject,
                                                          "language": "en"},
                                headers=customer_headers(app.state.settings, "cust-side"))
    assert created.status_code == 201, created.text
    return str(created.json()["number"])


def _choices(fragment: str) -> list[str]:
    """The statuses the fragment's status form offers (none: no form)."""
    form = _part(fragment, "status-form")
    select = form.split('name="status"', 1)[1].split("</select>", 1)[0] if "<select" in form \
        else ""
    return re.findall(r'<option value="([a-z]+)"', select)


def _part(fragment: str, name: str) -> str:
    return fragment.split(f'data-live-part="{name}"', 1)[1].split("data-live-part=", 1)[0]


async def test_the_sidebar_is_readable_by_exactly_who_reads_the_ticket(
    app: FastAPI, client: httpx.AsyncClient
):
    desk = await make_desk(app)
    await make_agent(app, "other@kefu.test", teams=[desk.zh_team])
    await make_agent(app, "boss@kefu.test", role="supervisor")
    await make_agent(app, "admin@kefu.test", role="admin")
    number = await _ticket(client, app, "Deposit tagged secret-tag")
    lead = await api_token(app, await make_agent(app, "lead@kefu.test", role="supervisor"))
    tagged = await client.post(f"/api/v1/tickets/{number}/tags", headers=bearer(lead),
                               json={"add": ["secret-tag"]})
    assert tagged.status_code == 200, tagged.text

    seen: dict[str, int] = {}
    for who in ("agent@kefu.test", "other@kefu.test", "boss@kefu.test", "admin@kefu.test",
                "customer", "nobody"):
        client.cookies.clear()
        if who == "customer":
            await portal_sign_in(client, app.state.settings, "cust-side")
        elif who != "nobody":
            await agent_sign_in(client, who)
        page = await client.get(f"/agent/tickets/{number}")
        fragment = await client.get(f"/agent/tickets/{number}/sidebar")
        assert fragment.status_code == page.status_code, who
        seen[who] = fragment.status_code
        if fragment.status_code == 303:
            assert fragment.headers["location"].startswith("/agent/login"), who
        if fragment.status_code == 200:
            assert fragment.headers["cache-control"] == "no-store"
            assert f'data-ticket-sidebar="{number}"' in fragment.text
            assert "<html" not in fragment.text
            assert '<span class="tag">secret-tag</span>' in fragment.text
        else:
            assert "secret-tag" not in fragment.text, who
    assert seen == {"agent@kefu.test": 200, "other@kefu.test": 404, "boss@kefu.test": 200,
                    "admin@kefu.test": 200, "customer": 303, "nobody": 303}
    missing = await client.get("/agent/tickets/KF-2222ZZ/sidebar")
    assert missing.status_code == 303  # signed out ("nobody") before anything is looked up
    await agent_sign_in(client, "agent@kefu.test")
    assert (await client.get("/agent/tickets/KF-2222ZZ/sidebar")).status_code == 404


async def test_the_sidebar_says_what_the_ticket_is_now(app: FastAPI, client: httpx.AsyncClient):
    """A colleague's changes after the page was sent: the status form offers the moves from
    the new status (and none to an agent while it is escalated), the tags, the first response
    and the name of an agent made after the page."""
    desk = await make_desk(app)
    number = await _ticket(client, app)
    colleague = await api_token(app, await make_agent(app, "bao@kefu.test", teams=[desk.en_team]))
    await agent_sign_in(client, "agent@kefu.test")
    page = await client.get(f"/agent/tickets/{number}")
    assert _choices(page.text) == ["open", "pending", "resolved"]

    async def sidebar() -> str:
        response = await client.get(f"/agent/tickets/{number}/sidebar")
        assert response.status_code == 200, response.text
        return response.text

    async def colleague_does(path: str, body: dict[str, object]) -> None:
        done = await client.post(f"/api/v1/tickets/{number}/{path}", headers=bearer(colleague),
                                 json=body)
        assert done.status_code in (200, 201), done.text

    before = await sidebar()
    assert _choices(before) == ["open", "pending", "resolved"]
    assert 'data-first-response=""' in before
    assert "<time" not in _part(before, "props")

    await colleague_does("tags", {"add": ["usdt", "trc20"]})
    await colleague_does("tags", {"remove": ["trc20"]})
    tags = await sidebar()
    assert '<span class="tag">usdt</span>' in _part(tags, "head-tags")
    assert '<span class="tag">usdt</span>' in _part(tags, "tag-list")
    assert "trc20" not in tags

    await colleague_does("status", {"status": "pending", "pending_reason": "customer"})
    assert _choices(await sidebar()) == ["open", "resolved", "pending"]  # "pending": new reason

    await colleague_does("replies", {"body": "We are looking into it."})
    replied = _part(await sidebar(), "props")
    assert 'data-first-response=""' not in replied
    assert "<time" in replied

    chen = await make_agent(app, "chen@kefu.test", teams=[desk.en_team])
    await colleague_does("assign", {"agent_id": str(chen.id)})
    props = _part(await sidebar(), "props")
    assert f'data-id="{chen.id}"' in props
    assert ">chen</dd>" in props

    await colleague_does("status", {"status": "resolved"})
    assert _choices(await sidebar()) == ["open", "closed"]

    await colleague_does("status", {"status": "open"})
    await colleague_does("escalate", {"reason": "Large amount, a supervisor decides"})
    assert _choices(await sidebar()) == []  # a supervisor moves it on
    client.cookies.clear()
    await make_agent(app, "boss@kefu.test", role="supervisor")
    await agent_sign_in(client, "boss@kefu.test")
    assert _choices(await sidebar()) == ["open", "pending", "resolved"]


async def test_a_merged_tickets_sidebar_leads_to_the_ticket_it_went_into(
    app: FastAPI, client: httpx.AsyncClient
):
    await make_desk(app)
    first = await _ticket(client, app, "Withdrawal pending")
    second = await _ticket(client, app, "Withdrawal pending again")
    lead = await api_token(app, await make_agent(app, "lead@kefu.test", role="supervisor"))
    merged = await client.post(f"/api/v1/tickets/{second}/merge", headers=bearer(lead),
                               json={"into": first})
    assert merged.status_code == 200, merged.text
    await agent_sign_in(client, "agent@kefu.test")
    moved = await client.get(f"/agent/tickets/{second}/sidebar")
    assert moved.status_code == 303
    assert moved.headers["location"] == f"/agent/tickets/{first}/sidebar"


FORMS = ("priority-form", "assign-form", "escalate-form", "merge-form")


def _forms(fragment: str) -> dict[str, bool]:
    """Which of the forms that follow the status the fragment (or page) holds."""
    return {name: f'data-testid="{name}"' in _part(fragment, name) for name in FORMS}


def _reply_state(fragment: str) -> str:
    part = _part(fragment, "reply-state")
    state = re.search(r'^ data-can-reply="(true|false)"', part)
    assert state is not None, part
    said = re.findall(r'data-testid="(reply-[a-z]+)"', part)
    return state.group(1) + (":" + said[0] if said else "")


async def test_the_forms_and_the_reply_follow_the_status(app: FastAPI, client: httpx.AsyncClient):
    """What the page would offer now, for an agent and a supervisor: no priority or assignment
    once resolved, no escalation while escalated or after, no merge and no reply once closed
    (the composer stays, its Send disabled); a resolved ticket's reply is said to leave it
    resolved. The page, sent at the same moment, offers the same."""
    desk = await make_desk(app)
    number = await _ticket(client, app)
    lead = await api_token(app, await make_agent(app, "lead@kefu.test", role="supervisor"))
    await make_agent(app, "boss@kefu.test", role="supervisor")

    async def lead_does(path: str, body: dict[str, object]) -> None:
        done = await client.post(f"/api/v1/tickets/{number}/{path}", headers=bearer(lead),
                                 json=body)
        assert done.status_code in (200, 201), done.text

    all_but = {name: True for name in FORMS}
    expected = {
        "open": ({**all_but}, "true"),
        "escalated": ({**all_but, "escalate-form": False}, "true"),
        "resolved": ({name: name == "merge-form" for name in FORMS}, "true:reply-resolved"),
        "closed": ({name: False for name in FORMS}, "false:reply-closed"),
    }
    steps: list[tuple[str, dict[str, object]]] = [
        ("status", {"status": "open"}),
        ("escalate", {"reason": "Large amount, a supervisor decides"}),
        ("status", {"status": "resolved"}),
        ("status", {"status": "closed"}),
    ]
    for (path, body), status in zip(steps, expected, strict=True):
        await lead_does(path, body)
        for who in ("agent@kefu.test", "boss@kefu.test"):
            client.cookies.clear()
            await agent_sign_in(client, who)
            fragment = await client.get(f"/agent/tickets/{number}/sidebar")
            assert fragment.status_code == 200, (status, who)
            forms, reply = expected[status]
            assert (_forms(fragment.text), _reply_state(fragment.text)) == (forms, reply), \
                (status, who)
            page = (await client.get(f"/agent/tickets/{number}")).text
            assert _forms(page) == forms, (status, who)
            assert _reply_state(page) == reply, (status, who)
            # closed: the composer stays (a draft, notes) but its Send is disabled
            assert ('data-testid="send-button" disabled>' in page) == (status == "closed")
            assert "data-note-form" in page
    assert desk  # the agents' team


async def test_the_assign_form_lists_agents_newer_than_the_page(
    app: FastAPI, client: httpx.AsyncClient
):
    desk = await make_desk(app)
    number = await _ticket(client, app)
    await agent_sign_in(client, "agent@kefu.test")
    page = await client.get(f"/agent/tickets/{number}")
    newcomer = await make_agent(app, "newcomer@kefu.test", teams=[desk.en_team])
    assert str(newcomer.id) not in page.text
    fragment = (await client.get(f"/agent/tickets/{number}/sidebar")).text
    assign = _part(fragment, "assign-form")
    assert f'<option value="{newcomer.id}" data-name="newcomer"' in assign
    assert 'name="csrf_token"' in assign  # a form that can be sent as it came


async def test_a_reply_posted_after_the_ticket_closed_keeps_its_words(
    app: FastAPI, client: httpx.AsyncClient
):
    """Without JavaScript: the reply form posted after a colleague closed the ticket is
    refused (409) and the page gives the text back in the box, says why, and offers no Send;
    a page loaded once the ticket is closed has the same box, Send disabled."""
    await make_desk(app)
    number = await _ticket(client, app)
    lead = await api_token(app, await make_agent(app, "lead@kefu.test", role="supervisor"))
    await agent_sign_in(client, "agent@kefu.test")
    page = await client.get(f"/agent/tickets/{number}")
    for status in ("resolved", "closed"):
        done = await client.post(f"/api/v1/tickets/{number}/status", headers=bearer(lead),
                                 json={"status": status})
        assert done.status_code == 200, done.text
    refused = await client.post(f"/agent/tickets/{number}/reply", data={
        "csrf_token": csrf_of(page.text), "body": "Your deposit <arrived> after 12 blocks."})
    assert refused.status_code == 409
    box = refused.text[refused.text.index('data-testid="reply-box"'):]
    words = "Your deposit &lt;arrived&gt; after 12 blocks.</textarea>"
    assert box.split(">", 1)[1].startswith(words)
    assert 'data-testid="reply-closed"' in refused.text
    assert 'data-testid="send-button" disabled>' in refused.text
    again = await client.get(f"/agent/tickets/{number}")
    assert 'data-testid="reply-closed"' in again.text
    assert 'data-testid="send-button" disabled>' in again.text
