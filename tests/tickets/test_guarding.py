"""The secret guard at the door: what customers paste is masked before anything stores it, the
customer is told, and the ticket is flagged; agents still read txids and amounts."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from mnemonic import Mnemonic
from sqlalchemy import select, text

from kefu.tickets.models import Message, Ticket
from tests.factories import make_world

SEED = Mnemonic("english").generate(strength=128)  # a valid 12-word phrase
TXID = "0x" + "ab" * 32


async def _dump(app: FastAPI) -> str:
    """Every text column a message or ticket could have leaked into."""
    async with app.state.db.transaction() as session:
        rows = []
        for table in ("messages", "tickets", "ticket_events", "attachments", "webhook_deliveries",
                      "jobs", "audit_log"):
            rows += [repr(tuple(r)) for r in (await session.execute(
                text(f"SELECT * FROM {table}"))).all()]
        return "\n".join(rows)


async def test_a_pasted_seed_phrase_never_reaches_the_database(app: FastAPI,
                                                               client: httpx.AsyncClient):
    world = await make_world(app)
    a = world.headers["customer_a"]
    body = (f"My deposit {TXID} of 250 USDT is missing. My wallet words are:\n{SEED}\n"
            "please check")
    created = await client.post("/api/v1/tickets", headers=a, json={
        "subject": "password is Hunter2024! help", "body": body})
    assert created.status_code == 201, created.text
    number = created.json()["number"]
    assert "Hunter2024" not in created.json()["subject"]
    seen = (await client.get(f"/api/v1/tickets/{number}",
                             headers=world.headers["agent"])).json()["messages"]
    first = seen[0]["body"]
    assert SEED not in first
    assert SEED.split()[5] not in first.split()  # nothing of the phrase is left
    assert TXID in first
    assert "250 USDT" in first
    # The customer is told at once, in the conversation, and to move the funds.
    notice = seen[1]
    assert notice["author_kind"] == "system"
    assert "wallet" in notice["body"].lower()
    ticket = (await client.get(f"/api/v1/tickets/{number}", headers=world.headers["agent"])).json()
    assert {"security", "secret-exposed"} <= set(ticket["tags"])
    assert ticket["priority"] == "urgent"
    events = (await client.get(f"/api/v1/tickets/{number}/events",
                               headers=world.headers["agent"])).json()["items"]
    assert {"kind": "secret_masked", "kinds": ["seed_phrase"]} in [
        {"kind": e["kind"], "kinds": e["data"].get("kinds")} for e in events]
    dump = await _dump(app)
    assert SEED not in dump
    assert "Hunter2024" not in dump


async def test_replies_ratings_and_file_names_are_masked_too(app: FastAPI,
                                                             client: httpx.AsyncClient):
    world = await make_world(app)
    a = world.headers["customer_a"]
    number = (await client.post("/api/v1/tickets", headers=a, json={
        "subject": "2FA", "body": "I lost my phone"})).json()["number"]
    reply = await client.post(f"/api/v1/tickets/{number}/replies", headers=a,
                              json={"body": "my google code is 493027, card 4111 1111 1111 1111"})
    assert reply.status_code == 201, reply.text
    assert "493027" not in reply.json()["body"]
    assert "4111 1111 1111 1111" not in reply.json()["body"]
    upload = await client.post(f"/api/v1/tickets/{number}/attachments", headers=a, files={
        "file": (f"seed {SEED}.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "image/png")})
    assert upload.status_code in (200, 201), upload.text
    assert SEED.split()[3] not in upload.json()["filename"]
    ticket = (await client.get(f"/api/v1/tickets/{number}", headers=world.headers["agent"])).json()
    assert "security" in ticket["tags"]
    # The 2FA code alone would not make it urgent; the seed phrase in the file name does.
    assert "secret-exposed" in ticket["tags"]
    assert ticket["priority"] == "urgent"
    await client.post(f"/api/v1/tickets/{number}/status", headers=world.headers["agent"],
                      json={"status": "resolved"})
    rated = await client.post(f"/api/v1/tickets/{number}/rating", headers=a,
                              json={"score": 2, "comment": "my password is qwerty123 btw"})
    assert "qwerty123" not in rated.json()["rating_comment"]
    async with app.state.db.transaction() as session:
        bodies = list(await session.scalars(select(Message.body)))
        stored = await session.scalar(select(Ticket.rating_comment))
    assert not [b for b in bodies if "493027" in b]
    assert stored is not None
    assert "qwerty123" not in stored


async def test_agents_text_is_not_masked(app: FastAPI, client: httpx.AsyncClient):
    world = await make_world(app)
    number = (await client.post("/api/v1/tickets", headers=world.headers["customer_a"], json={
        "subject": "Deposit", "body": "missing"})).json()["number"]
    note = await client.post(f"/api/v1/tickets/{number}/notes", headers=world.headers["agent"],
                             json={"body": f"Checked {TXID}: 12 of 64 confirmations"})
    assert TXID in note.json()["body"]


async def test_replies_that_phish_are_blocked_unless_a_supervisor_overrides(
        app: FastAPI, client: httpx.AsyncClient):
    world = await make_world(app)
    number = (await client.post("/api/v1/tickets", headers=world.headers["customer_a"], json={
        "subject": "2FA", "body": "lost my phone"})).json()["number"]
    url = f"/api/v1/tickets/{number}/replies"
    ask = {"body": "To verify you, please send me the 6-digit code from your authenticator."}
    blocked = await client.post(url, headers=world.headers["agent"], json=ask)
    assert blocked.status_code == 422
    assert blocked.json()["error"]["code"] == "outbound_blocked"
    link = await client.post(url, headers=world.headers["agent"],
                             json={"body": "Reset it here: https://demoex-support.help/2fa"})
    assert link.json()["error"]["code"] == "outbound_blocked"
    fine = await client.post(url, headers=world.headers["agent"], json={
        "body": "Never share your 2FA code with anyone. Start the reset at "
                "https://www.demoex.example/account/2fa-reset"})
    assert fine.status_code == 201, fine.text
    refused = await client.post(url, headers=world.headers["agent"],
                                json={**ask, "override_guard": True})
    assert refused.status_code == 403
    forced = await client.post(url, headers=world.headers["supervisor"],
                               json={**ask, "override_guard": True})
    assert forced.status_code == 201
    async with app.state.db.transaction() as session:
        actions = [r[0] for r in (await session.execute(text(
            "SELECT action FROM audit_log WHERE action = 'ticket.guard_override'"))).all()]
    assert actions == ["ticket.guard_override"]
    seen = (await client.get(f"/api/v1/tickets/{number}", headers=world.headers["agent"])).json()
    assert [m["body"] for m in seen["messages"]].count(ask["body"]) == 1  # the override only


async def test_each_customer_message_gets_its_language(app: FastAPI, client: httpx.AsyncClient):
    world = await make_world(app)
    a = world.headers["customer_a"]  # the customer's profile says English
    created = await client.post("/api/v1/tickets", headers=a, json={
        "subject": "充值没到账", "body": "我昨天充值的USDT还没有到账，请帮忙查一下"})
    number = created.json()["number"]
    assert created.json()["language"] == "zh"  # what they wrote in, not their profile
    await client.post(f"/api/v1/tickets/{number}/replies", headers=a,
                      json={"body": "Sorry, in English: my USDT deposit is still missing"})
    # Routed by the language it was written in: the Chinese team's agent answers.
    await client.post(f"/api/v1/tickets/{number}/replies", headers=world.headers["other_agent"],
                      json={"body": "We are checking."})
    messages = (await client.get(f"/api/v1/tickets/{number}",
                                 headers=world.headers["other_agent"])).json()["messages"]
    assert [(m["author_kind"], m["language"]) for m in messages] == [
        ("customer", "zh"), ("customer", "en"), ("agent", None)]


async def test_replies_never_tip_off_a_customer_under_investigation(
        app: FastAPI, client: httpx.AsyncClient):
    from kefu.accounts.models import Customer
    from kefu.trust.models import ComplianceMark

    world = await make_world(app)
    number = (await client.post("/api/v1/tickets", headers=world.headers["customer_a"], json={
        "subject": "Withdrawal", "body": "why is my withdrawal on hold?"})).json()["number"]
    url = f"/api/v1/tickets/{number}/replies"
    tip = {"body": "Your account is under investigation by our AML team.",
           "override_guard": True}
    # No hold: the same words are merely unwise, not refused.
    other = (await client.post("/api/v1/tickets", headers=world.headers["customer_b"], json={
        "subject": "Withdrawal", "body": "on hold?"})).json()["number"]
    assert (await client.post(f"/api/v1/tickets/{other}/replies", headers=world.headers["agent"],
                              json={"body": tip["body"]})).status_code == 201
    async with app.state.db.transaction() as session:
        customer = await session.scalar(select(Customer).where(Customer.external_id == "cust-a"))
        assert customer is not None
        session.add(ComplianceMark(customer_id=customer.id, hold=True, reason="investigation"))
    refused = await client.post(url, headers=world.headers["supervisor"], json=tip)
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "compliance_tipoff"
    fine = await client.post(url, headers=world.headers["agent"], json={
        "body": "Thanks for waiting; we are reviewing the withdrawal and will update you."})
    assert fine.status_code == 201
