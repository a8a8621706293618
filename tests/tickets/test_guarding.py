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
    assert ticket["priority"] != "urgent"  # a 2FA code is not a wallet key
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
