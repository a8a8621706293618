"""The realtime guarantees, each against a real server over loopback (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from kefu.accounts.actor import Actor
from kefu.accounts.models import Agent, Customer
from kefu.accounts.service import credentials_in_force
from kefu.realtime import hub as hub_module
from kefu.realtime import protocol
from kefu.tickets.models import Message
from tests.factories import customer_token, make_world
from tests.realtime.live import Client, LiveServer


async def customer(live: LiveServer, external_id: str = "cust-a", **claims: Any) -> Client:
    token = customer_token(live.settings, external_id, name="Alice", **claims)
    client = await Client.connect(f"{live.ws_base}/ws/chat", {"token": token})
    await client.wait_type("welcome")
    return client


async def agent(live: LiveServer, token_header: dict[str, str]) -> Client:
    token = token_header["Authorization"].split(" ", 1)[1]
    client = await Client.connect(f"{live.ws_base}/ws/agent", {"token": token})
    await client.wait_type("welcome")
    return client


async def message_count(setup_app: Any) -> int:
    async with setup_app.state.db.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(Message)) or 0)


async def test_ack_only_after_commit_and_idempotent_resend(live: LiveServer, setup_app: Any):
    await make_world(setup_app)
    alice = await customer(live)
    await alice.send({"type": "join"})
    assert (await alice.wait_type("joined"))["ticket"] is None
    await alice.send({"type": "send", "client_msg_id": "m-1",
                      "body": "My USDT TRC20 deposit has not arrived"})
    ack = await alice.wait_type("ack", client_msg_id="m-1")
    assert ack["seq"] == 1
    assert ack["ticket"].startswith("KF-")
    # The ack came after the commit: another connection to the database sees the row now.
    assert await message_count(setup_app) == 1
    await alice.send({"type": "send", "client_msg_id": "m-1",
                      "body": "My USDT TRC20 deposit has not arrived"})
    again = await alice.wait_for(lambda f: f.get("type") == "ack" and f is not ack)
    assert (again["id"], again["seq"]) == (ack["id"], ack["seq"])
    assert await message_count(setup_app) == 1
    # The widget follows the new conversation: its own first message arrives as a message.
    joined = await alice.wait_for(lambda f: f.get("type") == "joined" and f["ticket"])
    assert joined["ticket"]["number"] == ack["ticket"]
    first = await alice.wait_type("message", seq=1)
    assert first["client_msg_id"] == "m-1"
    await alice.close()


async def test_gap_free_order_to_customer_and_agent(live: LiveServer, setup_app: Any):
    world = await make_world(setup_app)
    alice = await customer(live)
    await alice.send({"type": "send", "client_msg_id": "first", "body": "hello"})
    number = (await alice.wait_type("ack"))["ticket"]
    bob = await agent(live, world.headers["agent"])
    await bob.send({"type": "subscribe", "ticket": number, "since": 0})
    await bob.wait_type("subscribed")
    # Pipelined sends from both sides, without waiting for acks: fewer than one connection's
    # burst (CONNECTION_RATE, with the agent's subscribe). On a busy box the server may read
    # them all at once, before its bucket refills: with 30 pairs the last agent send was
    # refused (rate_limited) once in a full-suite run.
    pairs = int(protocol.CONNECTION_RATE[1]) - 5
    for i in range(pairs):
        await alice.send({"type": "send", "client_msg_id": f"c{i}", "body": f"customer {i}"})
        await bob.send({"type": "send", "ticket": number, "client_msg_id": f"a{i}",
                        "body": f"agent {i}", "internal": i % 5 == 0})
    last = pairs - 1
    await alice.wait_for(lambda f: f.get("type") == "message" and f["body"] == f"customer {last}")
    await bob.wait_for(lambda f: f.get("type") == "message" and f["body"] == f"agent {last}")
    await asyncio.sleep(0.3)
    agent_seqs = [f["seq"] for f in bob.of_type("message")]
    assert agent_seqs == list(range(1, 2 * pairs + 2))
    customer_view = alice.of_type("message")
    assert [f["seq"] for f in customer_view] == list(range(1, len(customer_view) + 1))
    notes = len(range(0, pairs, 5))  # internal notes are never sent to the customer
    assert len(customer_view) == 2 * pairs + 1 - notes
    assert not any("internal" in f or f["body"] in {"agent 0", "agent 5"} for f in customer_view)
    acks = sorted(f["seq"] for f in alice.of_type("ack"))
    assert len(acks) == pairs + 1
    await alice.close()
    await bob.close()


async def test_resume_since_gets_exactly_what_was_missed(live: LiveServer, setup_app: Any):
    world = await make_world(setup_app)
    alice = await customer(live)
    for i in range(3):
        await alice.send({"type": "send", "client_msg_id": f"m{i}", "body": f"msg {i}"})
    number = (await alice.wait_type("ack", client_msg_id="m2"))["ticket"]
    await alice.close()
    # While the customer is away, an agent answers twice and writes a note.
    async with httpx.AsyncClient(base_url=live.base, timeout=30) as http:
        for body in ("First answer", "Second answer"):
            r = await http.post(f"/api/v1/tickets/{number}/replies", headers=world.headers["agent"],
                                json={"body": body})
            assert r.status_code == 201
        await http.post(f"/api/v1/tickets/{number}/notes", headers=world.headers["agent"],
                        json={"body": "internal only"})
    back = await customer(live)
    await back.send({"type": "join", "ticket": number, "since": 3})
    await back.wait_type("joined")
    await back.wait_for(lambda f: f.get("body") == "Second answer")
    await asyncio.sleep(0.2)
    replayed = back.of_type("message")
    assert [(f["seq"], f["body"]) for f in replayed] == [(4, "First answer"),
                                                         (5, "Second answer")]
    await back.close()
    # A since past the end (QA: 500 on a conversation of 5) is taken as the end: the next
    # message arrives, it is not held back until a 501st.
    lost = await customer(live)
    await lost.send({"type": "join", "ticket": number, "since": 500})
    assert (await lost.wait_type("joined"))["since"] == 5
    async with httpx.AsyncClient(base_url=live.base, timeout=30) as http:
        r = await http.post(f"/api/v1/tickets/{number}/replies", headers=world.headers["agent"],
                            json={"body": "Third answer"})
        assert r.status_code == 201
    assert (await lost.wait_for(lambda f: f.get("body") == "Third answer"))["seq"] == 6
    await lost.close()


async def test_cut_off_mid_stream_loses_nothing_acked(live: LiveServer, setup_app: Any):
    await make_world(setup_app)
    alice = await customer(live)
    for i in range(40):
        await alice.send({"type": "send", "client_msg_id": f"x{i}", "body": f"burst {i}"})
    await alice.wait_type("ack", client_msg_id="x5")
    alice.ws.transport.abort()  # the network goes away: no close handshake
    await alice.wait_closed()
    acked = {f["client_msg_id"]: f for f in alice.of_type("ack")}
    number = next(iter(acked.values()))["ticket"]
    back = await customer(live)
    await back.send({"type": "join", "ticket": number, "since": 0})
    await back.wait_type("joined")
    await asyncio.sleep(0.5)
    stored = {f["client_msg_id"]: f["seq"] for f in back.of_type("message")}
    for client_msg_id, ack in acked.items():
        assert stored[client_msg_id] == ack["seq"]
    assert sorted(stored.values()) == list(range(1, len(stored) + 1))
    await back.close()


async def test_bad_frames_get_errors_and_the_connection_carries_on(
    live: LiveServer, setup_app: Any
):
    world = await make_world(setup_app)
    alice = await customer(live)
    limits = (await alice.wait_type("welcome"))["limits"]
    assert (limits["frames_per_s"], limits["frames_burst"], limits["sends_per_person_s"],
            limits["sends_per_person_burst"]) == (10, 30, 20, 60)
    await alice.ws.send("{nope")
    assert (await alice.wait_type("error", code="malformed_json"))
    await alice.send({"type": "teleport"})
    await alice.wait_type("error", code="unknown_type")
    await alice.ws.send(b"\x00\xff binary garbage")
    await alice.wait_type("error", code="binary_not_supported")
    await alice.ws.send('{"type": "send", "client_msg_id": "big", "body": "' + "x" * 70_000 + '"}')
    await alice.wait_type("error", code="frame_too_large")
    await alice.send({"type": "send", "client_msg_id": "e", "body": ""})
    assert (await alice.wait_type("error", code="invalid_frame"))["ref"] == "e"
    await alice.send({"type": "send", "client_msg_id": "blank", "body": " \n ", "subject": "  "})
    assert (await alice.wait_type("error", ref="blank"))["code"] == "invalid_frame"
    await alice.ws.send("[" * 5_000 + "]" * 5_000)  # nested deeper than the parser recurses
    await alice.wait_type("error", code="malformed_json")
    await alice.send({"type": "join", "since": 2**63})  # beyond SQLite's integers
    await alice.wait_type("error", code="invalid_frame")
    # Another customer's conversation is not there.
    bob = await customer(live, "cust-b")
    await bob.send({"type": "send", "client_msg_id": "b1", "body": "mine"})
    other = (await bob.wait_type("ack"))["ticket"]
    await alice.send({"type": "send", "client_msg_id": "steal", "ticket": other, "body": "hi"})
    assert (await alice.wait_type("error", ref="steal"))["code"] == "not_found"
    await alice.send({"type": "join", "ticket": other})
    await alice.wait_type("error", code="not_found")
    await alice.send({"type": "ping", "t": 7})
    assert (await alice.wait_type("pong"))["t"] == 7
    # QA: what could not be sent back (a number past 2**64, a lone surrogate echoed as the
    # pong's t or the error's ref) ended the connection silently; and loose types passed.
    alice.frames.clear()
    await alice.send({"type": "send", "client_msg_id": "ov", "body": "hi", "override_guard": True})
    assert (await alice.wait_type("error", ref="ov"))["code"] == "override_forbidden"
    alice.frames.clear()
    await alice.ws.send('{"type": "ping", "t": 18446744073709551616}')
    assert (await alice.wait_type("pong"))["t"] == 2.0**64  # a double, as JavaScript reads it
    for text, code in (('{"type": "ping", "t": "\\ud800"}', "malformed_json"),
                       ('{"type": "teleport", "client_msg_id": "\\ud800"}', "malformed_json"),
                       ('{"type": "join", "since": "5"}', "invalid_frame"),
                       ('{"type": "join", "since": true}', "invalid_frame"),
                       ('{"type": "ping", "t": true}', "invalid_frame"),
                       ('{"type": "send", "client_msg_id": "y", "body": "x", "internal": "yes"}',
                        "invalid_frame")):
        alice.frames.clear()
        await alice.ws.send(text)
        assert (await alice.wait_type("error"))["code"] == code, text
    await alice.send({"type": "ping", "t": "still here"})
    assert (await alice.wait_type("pong"))["t"] == "still here"
    # A blank subject on a first message is no subject: the first line stands in.
    await alice.send({"type": "send", "client_msg_id": "first", "body": "USDT deposit missing",
                      "subject": "   "})
    assert (await alice.wait_type("ack", client_msg_id="first"))["seq"] >= 1
    assert alice.closed is None
    # An agent of another team cannot subscribe either.
    stranger = await agent(live, world.headers["other_agent"])
    await stranger.send({"type": "subscribe", "ticket": other})
    await stranger.wait_type("error", code="not_found")
    for client in (alice, bob, stranger):
        await client.close()


async def test_flood_is_rate_limited_with_a_clear_error(live: LiveServer, setup_app: Any):
    await make_world(setup_app)
    alice = await customer(live)
    for i in range(120):
        await alice.send({"type": "ping", "t": i})
    limited = await alice.wait_type("error", code="rate_limited")
    assert limited["retry_after_s"] >= 0
    await asyncio.sleep(1.5)
    await alice.send({"type": "ping", "t": "after"})
    await alice.wait_type("pong", t="after")
    # A refused send names itself; binary frames count against the same budget.
    await asyncio.sleep(3.5)  # the bucket refills (burst 30 at 10/s)
    for _ in range(40):
        await alice.ws.send(b"\x00binary")
    await alice.wait_type("error", code="rate_limited")
    await alice.send({"type": "send", "client_msg_id": "refused", "body": "hi"})
    assert (await alice.wait_type("error", ref="refused"))["code"] == "rate_limited"
    await alice.close()


async def test_hello_rules_and_token_expiry(live: LiveServer, setup_app: Any):
    await make_world(setup_app)
    url = f"{live.ws_base}/ws/chat"
    forged = await Client.connect(url, {"token": "not-a-jwt"})
    assert (await forged.wait_closed())[0] == 4401
    old = await Client.connect(url, {"token": "x", "v": 9})
    assert (await old.wait_closed())[0] == 4409
    for loose in ("1", True, 1.0):  # the version is a number, not something that casts to one
        sloppy = await Client.connect(url, {"token": "x", "v": loose})
        assert (await sloppy.wait_closed())[0] == 4400
    silent = await Client.connect(url)
    await silent.send({"type": "ping"})
    assert (await silent.wait_closed())[0] == 4400
    short = await customer(live, "cust-short", lifetime_s=2)
    await short.send({"type": "ping", "t": 1})
    await short.wait_type("pong")
    assert (await short.wait_closed(timeout=10))[0] == 4408
    assert any(f.get("code") == "token_expired" for f in short.frames)
    # Renewing in time keeps the connection.
    renewed = await customer(live, "cust-renew", lifetime_s=2)
    await renewed.send({"type": "auth",
                        "token": customer_token(live.settings, "cust-renew", lifetime_s=60)})
    await renewed.wait_type("authed")
    await asyncio.sleep(2.5)
    await renewed.send({"type": "ping", "t": 2})
    await renewed.wait_type("pong", t=2)
    await renewed.close()


async def test_a_reconnect_brings_the_customer_up_to_date_with_their_token(
        live: LiveServer, setup_app: Any):
    """The exchange's token says who the customer is: a reconnect with the same claims only
    reads them, one with new claims writes them before the welcome."""
    await make_world(setup_app)
    first = await customer(live, "cust-renamed", vip=1)
    assert (await first.wait_type("welcome"))["you"]["name"] == "Alice"
    await first.close()
    same = await customer(live, "cust-renamed", vip=1)
    assert (await same.wait_type("welcome"))["you"]["name"] == "Alice"
    await same.close()
    token = customer_token(live.settings, "cust-renamed", name="Alice Wong", vip=4, lang="zh")
    renamed = await Client.connect(f"{live.ws_base}/ws/chat", {"token": token})
    welcome = await renamed.wait_type("welcome")
    assert (welcome["you"]["name"], welcome["you"]["language"]) == ("Alice Wong", "zh")
    await renamed.close()
    async with setup_app.state.db.read() as session:
        rows = (await session.execute(select(Customer.display_name, Customer.vip_tier).where(
            Customer.external_id == "cust-renamed"))).all()
    assert rows == [("Alice Wong", 4)]


async def test_secrets_sent_over_the_socket_are_masked_before_anyone_sees_them(
        live: LiveServer, setup_app: Any):
    world = await make_world(setup_app)
    bob = await agent(live, world.headers["agent"])
    alice = await customer(live, "cust-secret")
    await alice.send({"type": "send", "client_msg_id": "s0", "body": "Deposit missing"})
    number = (await alice.wait_type("ack"))["ticket"]
    await bob.send({"type": "subscribe", "ticket": number})
    await bob.wait_type("subscribed")
    await alice.send({"type": "send", "client_msg_id": "s1",
                      "body": "my password is Tr0ub4dor&3 and txid 0x" + "cd" * 32})
    seen = await bob.wait_for(lambda f: f.get("type") == "message"
                              and f.get("client_msg_id") == "s1")
    assert "Tr0ub4dor&3" not in seen["body"]
    assert "0x" + "cd" * 32 in seen["body"]
    echo = await alice.wait_for(lambda f: f.get("type") == "message"
                                and f.get("client_msg_id") == "s1")
    assert "Tr0ub4dor&3" not in echo["body"]
    notice = await alice.wait_for(lambda f: f.get("type") == "message"
                                  and f["author"]["kind"] == "system")
    assert "password" in notice["body"].lower()
    for client in (alice, bob):
        await client.close()


async def test_phishing_replies_over_the_socket_are_refused(live: LiveServer, setup_app: Any):
    world = await make_world(setup_app)
    bob = await agent(live, world.headers["agent"])
    carol = await agent(live, world.headers["supervisor"])
    alice = await customer(live, "cust-phish")
    await alice.send({"type": "send", "client_msg_id": "p0", "body": "2FA lost"})
    number = (await alice.wait_type("ack"))["ticket"]
    ask = "Please send your seed phrase so we can restore the wallet."
    await bob.send({"type": "send", "ticket": number, "client_msg_id": "b1", "body": ask})
    refused = await bob.wait_type("error", code="outbound_blocked")
    assert refused["ref"] == "b1"
    assert refused["message"].startswith("Asks for a seed")  # the reason, without "not sent: "
    # In the language the console said it speaks in its hello.
    token = world.headers["agent"]["Authorization"].split(" ", 1)[1]
    chinese = await Client.connect(f"{live.ws_base}/ws/agent",
                                   {"token": token, "language": "zh-CN"})
    await chinese.wait_type("welcome")
    await chinese.send({"type": "send", "ticket": number, "client_msg_id": "z1", "body": ask})
    zh = await chinese.wait_type("error", code="outbound_blocked")
    assert any("\u4e00" <= ch <= "\u9fff" for ch in zh["message"]), zh["message"]
    await chinese.close()
    await carol.send({"type": "send", "ticket": number, "client_msg_id": "c1", "body": ask,
                      "override_guard": True})
    await carol.wait_type("ack", client_msg_id="c1")
    await alice.wait_for(lambda f: f.get("type") == "message" and f["body"] == ask)
    assert not [f for f in alice.frames if f.get("client_msg_id") == "b1"]
    for client in (alice, bob, carol):
        await client.close()


async def test_inbox_rows_moved_by_messages_arrive_gathered(live: LiveServer, setup_app: Any):
    world = await make_world(setup_app)
    carol = await agent(live, world.headers["supervisor"])
    alice, dave = await customer(live, "cust-gather-a"), await customer(live, "cust-gather-d")
    numbers = []
    for client in (alice, dave):
        await client.send({"type": "send", "client_msg_id": "first", "body": "Deposit missing"})
        numbers.append((await client.wait_type("ack"))["ticket"])
    for number in numbers:  # "created" rows come one by one, at once
        await carol.wait_for(lambda f, n=number: f.get("type") == "inbox"
                             and f.get("change") == "created" and f["ticket"]["number"] == n)
    await asyncio.sleep(0.4)
    before = len(carol.of_type("inbox"))
    for client in (alice, dave):
        for i in range(3):
            await client.send({"type": "send", "client_msg_id": f"more-{i}", "body": f"hello {i}"})
    gathered = await carol.wait_for(lambda f: f.get("type") == "inbox" and "tickets" in f)
    assert gathered["change"] == "message"
    assert sorted(t["number"] for t in gathered["tickets"]) == sorted(numbers)
    # carol had both rows whole ("created"): only what the messages changed comes now (and
    # how many messages a row stands for, when the window held more than one of a ticket's)
    assert all(set(row) - {"customer_messages"}
               == {"number", "partial", "updated_at", "last_customer_message_at"}
               and row["partial"] is True for row in gathered["tickets"])
    await asyncio.sleep(0.4)
    assert len(carol.of_type("inbox")) - before <= 2  # not one frame per message

    # A console that connects later has not had them: whole rows first, then partial ones.
    late = await agent(live, world.headers["supervisor"])
    for round_ in range(2):
        seen = len(late.of_type("inbox"))
        for client in (alice, dave):
            await client.send({"type": "send", "client_msg_id": f"late-{round_}",
                               "body": f"still waiting {round_}"})
            await client.wait_type("ack", client_msg_id=f"late-{round_}")
        await late.wait_for(lambda f, s=seen: len(late.of_type("inbox")) > s)
        await asyncio.sleep(0.4)
        rows = [row for f in late.of_type("inbox")[seen:]
                for row in f.get("tickets") or [f["ticket"]]]
        assert sorted(row["number"] for row in rows) == sorted(numbers)
        if round_ == 0:
            assert all(not row.get("partial") and row["status"] == "new" for row in rows)
        else:
            assert all(row["partial"] for row in rows)
    for client in (alice, dave, carol, late):
        await client.close()


async def test_a_ticket_moved_out_of_an_agents_reach_leaves_their_inbox(
        live: LiveServer, setup_app: Any):
    """Transferred to a team the agent is not in: their row goes (the number only, nothing
    else of the ticket); the new team's agent gets the row; the ticket's page is told."""
    world = await make_world(setup_app)
    alice = await customer(live, "cust-moved")
    await alice.send({"type": "send", "client_msg_id": "m1", "body": "USDT deposit missing"})
    number = (await alice.wait_type("ack"))["ticket"]
    english, chinese = await agent(live, world.headers["agent"]), await agent(
        live, world.headers["other_agent"])
    await english.send({"type": "subscribe", "ticket": number, "since": 0})
    await english.wait_type("subscribed")
    async with httpx.AsyncClient(base_url=live.base, timeout=30) as client:
        moved = await client.post(f"/api/v1/tickets/{number}/assign",
                                  headers=world.headers["admin"],
                                  json={"team_id": str(world.zh_team.id)})
    assert moved.status_code == 200, moved.text
    removed = await english.wait_for(lambda f: f.get("type") == "inbox"
                                     and f.get("change") == "removed")
    assert removed["ticket"] == {"number": number}
    await english.wait_for(lambda f: f.get("type") == "unsubscribed" and f["ticket"] == number)
    row = await chinese.wait_for(lambda f: f.get("type") == "inbox"
                                 and f.get("ticket", {}).get("number") == number)
    assert row["change"] == "assignment"
    assert row["ticket"]["team_id"] == str(world.zh_team.id)
    assert not [f for f in chinese.frames if f.get("change") == "removed"]
    # The same through the ticket's fields (PATCH team_id): QA found no "removed" row then.
    async with httpx.AsyncClient(base_url=live.base, timeout=30) as client:
        back = await client.patch(f"/api/v1/tickets/{number}", headers=world.headers["admin"],
                                  json={"team_id": str(world.en_team.id)})
    assert back.status_code == 200, back.text
    gone = await chinese.wait_for(lambda f: f.get("type") == "inbox"
                                  and f.get("change") == "removed")
    assert gone["ticket"] == {"number": number}
    for client in (alice, english, chinese):
        await client.close()


async def test_agents_see_inbox_typing_and_each_other(live: LiveServer, setup_app: Any):
    world = await make_world(setup_app)
    bob = await agent(live, world.headers["agent"])
    carol = await agent(live, world.headers["supervisor"])
    stranger = await agent(live, world.headers["other_agent"])
    alice = await customer(live)
    await alice.send({"type": "send", "client_msg_id": "q", "body": "Withdrawal stuck"})
    number = (await alice.wait_type("ack"))["ticket"]
    created = await bob.wait_for(lambda f: f.get("type") == "inbox"
                                 and f.get("ticket", {}).get("number") == number)
    assert "_team_id" not in created
    await carol.wait_for(lambda f: f.get("type") == "inbox"
                         and f.get("ticket", {}).get("number") == number)
    await bob.send({"type": "subscribe", "ticket": number})
    await bob.wait_type("subscribed")
    await carol.send({"type": "subscribe", "ticket": number})
    await carol.wait_type("subscribed")
    # Collision: each sees the other viewing.
    await bob.wait_for(lambda f: f.get("type") == "viewing" and f["agent"]["name"] == "sup")
    await carol.wait_for(lambda f: f.get("type") == "viewing" and f["agent"]["name"] == "agent")
    await bob.send({"type": "typing", "ticket": number, "state": True})
    await carol.wait_for(lambda f: f.get("type") == "typing" and f["who"]["kind"] == "agent")
    typing = await alice.wait_type("typing")
    assert typing["who"] == {"kind": "agent", "name": "agent"}
    await bob.send({"type": "typing", "ticket": number, "state": True, "internal": True})
    await alice.send({"type": "typing", "ticket": number, "state": True})
    await bob.wait_for(lambda f: f.get("type") == "typing" and f["who"]["kind"] == "customer")
    await asyncio.sleep(0.3)
    assert len(alice.of_type("typing")) == 1  # the internal one never reached the customer
    assert not [f for f in stranger.frames if f.get("type") == "inbox"
                and f.get("ticket", {}).get("number") == number]
    # Availability changes reach the other agents.
    await bob.send({"type": "status", "status": "away"})
    changed = await carol.wait_type("agent_status")
    assert changed["agent"] == {"id": str(world.agent.id), "name": "agent", "status": "away"}
    for client in (alice, bob, carol, stranger):
        await client.close()


async def test_visitor_chat_without_an_account(live: LiveServer, setup_app: Any):
    world = await make_world(setup_app)
    async with httpx.AsyncClient(base_url=live.base, timeout=30) as http:
        visitor = (await http.post("/api/v1/visitors")).json()
    guest = await Client.connect(f"{live.ws_base}/ws/chat",
                                 {"visitor": visitor["token"], "language": "zh-CN"})
    await guest.wait_type("welcome")
    await guest.send({"type": "send", "client_msg_id": "v1", "body": "无法登录"})
    number = (await guest.wait_type("ack"))["ticket"]
    await guest.send({"type": "send", "client_msg_id": "v2", "body": "手机丢了"})
    assert (await guest.wait_type("ack", client_msg_id="v2"))["ticket"] == number
    await guest.close()
    # The conversation is in the visitor's language, so it lands in the Chinese queue.
    async with httpx.AsyncClient(base_url=live.base, timeout=30) as http:
        ticket = (await http.get(f"/api/v1/tickets/{number}",
                                 headers={"X-Kefu-Visitor": visitor["token"]})).json()
    assert ticket["language"] == "zh"
    assert ticket["team_id"] == str(world.zh_team.id)


async def test_support_messages_carry_the_customers_anti_phishing_code(
        live: LiveServer, setup_app: Any):
    from sqlalchemy import select

    from kefu.accounts.actor import Actor
    from kefu.accounts.models import Customer
    from kefu.trust.antiphishing import set_code

    world = await make_world(setup_app)
    first = await customer(live, "cust-code")
    await first.close()
    async with setup_app.state.db.transaction() as session:
        who = await session.scalar(select(Customer).where(Customer.external_id == "cust-code"))
        assert who is not None
        await set_code(session, Actor(kind="customer", customer=who), customer_id=who.id,
                       code="PANDA42")
    alice = await customer(live, "cust-code")
    assert alice.of_type("welcome")[0]["you"]["anti_phishing_code"] == "PANDA42"
    await alice.send({"type": "send", "client_msg_id": "c0", "body": "hello"})
    number = (await alice.wait_type("ack"))["ticket"]
    bob = await agent(live, world.headers["agent"])
    await bob.send({"type": "send", "ticket": number, "client_msg_id": "b0", "body": "Hi!"})
    reply = await alice.wait_for(lambda f: f.get("type") == "message"
                                 and f["author"]["kind"] == "agent")
    assert reply["anti_phishing_code"] == "PANDA42"
    own = [f for f in alice.frames if f.get("type") == "message"
           and f["author"]["kind"] == "customer"]
    assert own
    assert "anti_phishing_code" not in own[0]
    for client in (alice, bob):
        await client.close()


async def test_a_revoked_token_closes_the_agents_socket_at_once(live: LiveServer,
                                                               setup_app: Any):
    """Revoked credentials stop working at once (security.md), open websockets included: the
    socket opened with the revoked token closes with 4401; the agent's other one stays."""
    world = await make_world(setup_app)
    async with httpx.AsyncClient(base_url=live.base, timeout=30) as http:
        created = (await http.post("/api/v1/auth/tokens", json={"name": "console"},
                                   headers=world.headers["agent"])).json()
        doomed = await Client.connect(f"{live.ws_base}/ws/agent", {"token": created["token"]})
        await doomed.wait_type("welcome")
        other = await agent(live, world.headers["agent"])
        revoked = await http.delete(f"/api/v1/auth/tokens/{created['id']}",
                                    headers=world.headers["agent"])
        assert revoked.status_code == 204
    assert (await doomed.wait_closed())[0] == 4401
    assert (await doomed.wait_type("error", code="signed_out"))["fatal"] is True
    await other.send({"type": "ping", "t": 1})
    await other.wait_type("pong")
    assert other.closed is None
    await other.close()
    # The periodic re-check sees the same, and what no event announces (a deactivation).
    async with setup_app.state.db.transaction() as session:
        token_id = uuid.UUID(created["id"])
        assert not await credentials_in_force(
            session, Actor(kind="agent", agent=world.agent, token_id=token_id))
        assert await credentials_in_force(session, Actor(kind="agent", agent=world.agent))
        member = await session.get(Agent, world.agent.id)
        assert member is not None
        member.is_active = False
        await session.flush()
        assert not await credentials_in_force(session, Actor(kind="agent", agent=member))


async def test_a_ticket_transferred_away_ends_the_agents_feed(live: LiveServer, setup_app: Any):
    """Access is checked at subscribe and again when the ticket changes hands: an agent whose
    team loses the ticket stops receiving its messages and notes."""
    world = await make_world(setup_app)
    alice = await customer(live)
    await alice.send({"type": "send", "client_msg_id": "first", "body": "hello"})
    number = (await alice.wait_type("ack"))["ticket"]
    bob = await agent(live, world.headers["agent"])
    await bob.send({"type": "subscribe", "ticket": number, "since": 0})
    await bob.wait_type("subscribed")
    async with httpx.AsyncClient(base_url=live.base, timeout=30) as http:
        moved = await http.post(f"/api/v1/tickets/{number}/assign",
                                headers=world.headers["supervisor"],
                                json={"team_id": str(world.zh_team.id)})
        assert moved.status_code == 200, moved.text
    assert (await bob.wait_type("unsubscribed", ticket=number))["reason"] == "no_access"
    await alice.send({"type": "send", "client_msg_id": "after", "body": "still there?"})
    await alice.wait_type("ack", client_msg_id="after")
    await asyncio.sleep(0.3)
    assert not any(f.get("body") == "still there?" for f in bob.of_type("message"))
    await alice.close()
    await bob.close()


async def test_a_resend_after_the_ticket_closed_gets_its_first_ack(live: LiveServer,
                                                                    setup_app: Any):
    """The ack of a stored message may be lost on the way; the client sends it again, and gets
    the same ack even though the ticket was closed meanwhile (not ``ticket_closed``)."""
    world = await make_world(setup_app)
    alice = await customer(live)
    await alice.send({"type": "send", "client_msg_id": "o", "body": "my withdrawal is stuck"})
    first = await alice.wait_type("ack", client_msg_id="o")
    async with httpx.AsyncClient(base_url=live.base, timeout=30) as http:
        for status in ("resolved", "closed"):
            changed = await http.post(f"/api/v1/tickets/{first['ticket']}/status",
                                      headers=world.headers["supervisor"],
                                      json={"status": status})
            assert changed.status_code == 200, changed.text
    alice.frames.clear()
    await alice.send({"type": "send", "client_msg_id": "o", "ticket": first["ticket"],
                      "body": "my withdrawal is stuck"})
    again = await alice.wait_type("ack", client_msg_id="o")
    assert (again["seq"], again["id"]) == (first["seq"], first["id"])
    await alice.send({"type": "send", "client_msg_id": "new", "ticket": first["ticket"],
                      "body": "hello?"})
    assert (await alice.wait_type("error", ref="new"))["code"] == "ticket_closed"
    await alice.close()


async def test_read_receipts_in_each_sides_numbering(live: LiveServer, setup_app: Any):
    """Agents count internal notes, customers do not: a read receipt reaches each side as a
    ``seq`` of its own view."""
    world = await make_world(setup_app)
    alice = await customer(live)
    await alice.send({"type": "send", "client_msg_id": "q", "body": "withdrawal pending"})
    number = (await alice.wait_type("ack"))["ticket"]
    bob = await agent(live, world.headers["agent"])
    await bob.send({"type": "subscribe", "ticket": number.lower(), "since": 0})
    await bob.wait_type("subscribed")
    for i, internal in enumerate((True, True, False)):  # agent seqs 2, 3 (notes), 4 (reply)
        await bob.send({"type": "send", "ticket": number, "client_msg_id": f"b{i}",
                        "body": f"step {i}", "internal": internal})
        await bob.wait_type("ack", client_msg_id=f"b{i}")
    reply = await alice.wait_type("message", body="step 2")
    assert reply["seq"] == 2  # the customer's second message: notes are not counted
    await bob.send({"type": "read", "ticket": number.lower(), "seq": 4})  # any case works
    assert (await alice.wait_type("read"))["seq"] == 2
    await alice.send({"type": "read", "ticket": number, "seq": 2})
    assert (await bob.wait_type("read"))["seq"] == 4
    await bob.send({"type": "read", "ticket": number, "seq": 99})  # no such message: ignored
    await alice.close()
    await bob.close()
    # The points are stored: after a reload each side learns how far the other has read.
    alice = await customer(live)
    await alice.send({"type": "join", "ticket": number, "since": 0})
    joined = await alice.wait_type("joined")
    assert (joined["agent_read_seq"], joined["read_seq"]) == (2, 2)  # theirs, and hers
    bob = await agent(live, world.headers["agent"])
    await bob.send({"type": "subscribe", "ticket": number, "since": 0})
    assert (await bob.wait_type("subscribed"))["customer_read_seq"] == 4
    # Reading again where the point already is tells nobody; moving it tells the customer.
    await bob.send({"type": "read", "ticket": number, "seq": 4})
    await bob.send({"type": "send", "ticket": number, "client_msg_id": "b9", "body": "done"})
    await bob.wait_type("ack", client_msg_id="b9")
    await alice.wait_type("message", body="done")
    await alice.send({"type": "send", "ticket": number, "client_msg_id": "a2", "body": "thanks"})
    await bob.wait_type("message", body="thanks")
    await bob.send({"type": "read", "ticket": number, "seq": 6})
    assert (await alice.wait_type("read"))["seq"] == 4  # not the earlier 2 again
    assert [f["seq"] for f in alice.frames if f.get("type") == "read"] == [4]
    await alice.close()
    await bob.close()


async def test_inbox_rows_say_how_many_customer_messages_they_stand_for(
        live: LiveServer, setup_app: Any):
    """Messages sent back to back are appended in one batch, or their rows gathered in one
    frame: the row says how many of the customer's messages it stands for, so a console's
    unread count goes up by three, not one."""
    world = await make_world(setup_app)
    alice = await customer(live)
    await alice.send({"type": "send", "client_msg_id": "first", "body": "withdrawal pending"})
    number = (await alice.wait_type("ack"))["ticket"]
    bob = await agent(live, world.headers["supervisor"])
    await asyncio.sleep(0.6)  # what the first message gathered has gone
    bob.frames.clear()
    for i in range(3):
        await alice.send({"type": "send", "ticket": number, "client_msg_id": f"burst-{i}",
                          "body": f"any news? ({i})"})
    for i in range(3):
        await alice.wait_type("ack", client_msg_id=f"burst-{i}")
    await asyncio.sleep(0.6)
    rows = [row for frame in bob.frames if frame.get("type") == "inbox"
            and frame.get("change") == "message"
            for row in frame.get("tickets") or [frame["ticket"]] if row["number"] == number]
    assert rows
    assert sum(row.get("customer_messages", 1) for row in rows) == 3
    # An agent's reply moves the row without counting as the customer's.
    bob.frames.clear()
    await bob.send({"type": "send", "ticket": number, "client_msg_id": "reply", "body": "on it"})
    await bob.wait_type("ack", client_msg_id="reply")
    await asyncio.sleep(0.6)
    assert all("customer_messages" not in row for frame in bob.frames
               if frame.get("type") == "inbox" for row in frame.get("tickets") or [frame["ticket"]])
    await alice.close()
    await bob.close()


async def test_an_agents_other_consoles_hear_that_they_read_a_ticket(
        live: LiveServer, setup_app: Any):
    """Reading on one device clears the unread count on the others: the agent's connections
    get ``seen`` with what is still unread; other agents get nothing."""
    world = await make_world(setup_app)
    alice = await customer(live)
    await alice.send({"type": "send", "client_msg_id": "q1", "body": "withdrawal pending"})
    number = (await alice.wait_type("ack"))["ticket"]
    await alice.send({"type": "send", "ticket": number, "client_msg_id": "q2",
                      "body": "it is USDT on TRC20"})
    await alice.wait_type("ack", client_msg_id="q2")
    laptop = await agent(live, world.headers["agent"])
    phone = await agent(live, world.headers["agent"])
    other = await agent(live, world.headers["supervisor"])
    await laptop.send({"type": "subscribe", "ticket": number, "since": 0})
    await laptop.wait_type("subscribed")
    await laptop.send({"type": "read", "ticket": number, "seq": 1})
    assert (await phone.wait_type("seen")) == {"type": "seen", "ticket": number, "unread": 1}
    await laptop.send({"type": "read", "ticket": number, "seq": 2})
    assert (await phone.wait_type("seen", unread=0))["ticket"] == number
    await alice.wait_type("read")  # told after the agent's consoles
    assert not [f for f in other.frames if f.get("type") == "seen"]
    for client in (alice, laptop, phone, other):
        await client.close()


async def test_a_person_flooding_over_several_connections_is_cut_off(
        live: LiveServer, setup_app: Any, monkeypatch: pytest.MonkeyPatch):
    """Each connection stays under its own limit; the person's limit refuses the excess, and
    those refusals count towards the close (4429) like the connection's own. (The person's
    budget is made small, so that the refusals outrun its refill however slow the box.)"""
    monkeypatch.setattr(protocol, "MAX_REFUSED_IN_A_ROW", 5)
    monkeypatch.setattr(hub_module, "CUSTOMER_RATE", (1.0, 5.0))
    await make_world(setup_app)
    clients = [await customer(live, "cust-flood") for _ in range(4)]
    try:
        await clients[0].send({"type": "send", "client_msg_id": "open", "body": "hello"})
        number = (await clients[0].wait_type("ack"))["ticket"]
        for client in clients:
            for i in range(28):  # under the connection's burst of 30
                await client.send({"type": "send", "client_msg_id": f"{id(client)}-{i}",
                                   "ticket": number, "body": f"spam {i} {id(client)}"})
        for _ in range(150):
            if any(c.closed and c.closed[0] == 4429 for c in clients):
                break
            await asyncio.sleep(0.1)
        assert any(c.closed and c.closed[0] == 4429 for c in clients), [
            c.closed for c in clients]
    finally:
        for client in clients:
            await client.close()


async def test_a_long_message_takes_a_token_per_thousand_characters(
        live: LiveServer, setup_app: Any, monkeypatch: pytest.MonkeyPatch):
    """The person's budget (made 5 here, refilling slower than the test) takes a 4,500-character
    message as five sends: refused after one short one, said so with the time the rest takes,
    and nothing stored; a short one still fits. The welcome says how the cost is counted."""
    monkeypatch.setattr(hub_module, "CUSTOMER_RATE", (0.001, 5.0))
    await make_world(setup_app)
    alice = await customer(live, "cust-long")
    welcome = next(f for f in alice.frames if f["type"] == "welcome")
    assert welcome["limits"]["chars_per_send"] == 1_000
    await alice.send({"type": "send", "client_msg_id": "open", "body": "hello"})
    number = (await alice.wait_type("ack"))["ticket"]
    await alice.send({"type": "send", "client_msg_id": "long", "ticket": number,
                      "body": "My withdrawal is stuck. " * 187 + "Help"})  # 4,492 characters
    refused = await alice.wait_type("error", ref="long")
    assert refused["code"] == "rate_limited"
    assert refused["retry_after_s"] > 900  # 5 − 4 tokens at 0.001 a second
    await alice.send({"type": "send", "client_msg_id": "short", "ticket": number,
                      "body": "still there?"})
    assert (await alice.wait_type("ack", client_msg_id="short"))["seq"] == 2  # the long one: none
    await alice.close()


async def test_a_notes_ack_names_whom_it_mentions_but_did_not_notify(
        live: LiveServer, setup_app: Any):
    """A colleague outside the ticket's team is not notified of a note (its text would reach
    them); the author's ack says so, rather than leave them thinking they were told."""
    world = await make_world(setup_app)
    bob = await agent(live, world.headers["agent"])
    alice = await customer(live)
    await alice.send({"type": "send", "client_msg_id": "q", "body": "Withdrawal stuck"})
    number = (await alice.wait_type("ack"))["ticket"]
    created = await bob.wait_for(lambda f: f.get("type") == "inbox"
                                 and f.get("ticket", {}).get("number") == number)
    await bob.send({"type": "send", "ticket": number, "client_msg_id": "n-1", "internal": True,
                    "body": "@other @sup can you approve this?"})
    ack = await bob.wait_type("ack", client_msg_id="n-1")
    assert ack["not_notified"] == [{"agent_id": str(world.other_agent.id), "name": "other",
                                    "reason": "cannot_read_ticket"}]
    await bob.send({"type": "send", "ticket": number, "client_msg_id": "n-2", "internal": True,
                    "body": "@sup and the limit too"})
    assert (await bob.wait_type("ack", client_msg_id="n-2"))["not_notified"] == []
    await bob.send({"type": "send", "ticket": number, "client_msg_id": "r-1",
                    "body": "We are checking your withdrawal."})
    assert "not_notified" not in await bob.wait_type("ack", client_msg_id="r-1")
    # An inbox row names its language as the console's pages do.
    assert created["ticket"]["language_name"] == "English"
    for client in (alice, bob):
        await client.close()
