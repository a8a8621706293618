"""Cluster mode: two real ``kefu serve`` processes sharing one PostgreSQL database and one Redis.

A customer connected to process A and an agent connected to process B talk over real
websockets, and every guarantee of the realtime protocol holds across the processes: ack only
after commit, gap-free ordered seqs under pipelined bursts from both sides, idempotent resends
(also through the other process), resume on the other process, nothing acked lost when a client
is cut off, inbox frames for tickets created elsewhere, and life goes on through a Redis
restart (acks keep coming; live delivery resumes once the broker reconnects)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from sqlalchemy import func, select

from kefu.config import Settings
from kefu.db import Database
from kefu.tickets.models import Message, Ticket
from tests.conftest import PG_MODE, _pg_execute
from tests.factories import World, customer_token, make_world
from tests.realtime.live import Client, local_app
from tests.servers import KefuServer, PostgresServer, RedisServer

pytestmark = pytest.mark.slow

SECRET_KEY = "cluster-test-secret-key-0123456789abcdef0123"
JWT_SECRET = "cluster-test-customer-jwt-secret-0123456789ab"


@dataclass
class Cluster:
    a: KefuServer
    b: KefuServer
    redis: RedisServer
    settings: Settings
    agent_token: str
    world: World

    def token(self, who: str) -> str:
        """The API token of one of the world's people (``agent``, ``other_agent``,
        ``supervisor``, ``admin``)."""
        return self.world.headers[who]["Authorization"].split(" ", 1)[1]

    def logs(self) -> str:
        return (f"--- process A log ---\n{self.a.log_tail()}\n"
                f"--- process B log ---\n{self.b.log_tail()}")


@pytest.fixture(scope="module")
def cluster(
    postgres: PostgresServer | None,
    migrated_templates: dict[str, str],
    redis_server: RedisServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Cluster]:
    if postgres is None:
        pytest.skip("KEFU_TEST_POSTGRES=off" if PG_MODE == "off" else
                    "cluster mode needs PostgreSQL (set KEFU_TEST_POSTGRES=required to fail)")
    name = "cluster_" + uuid.uuid4().hex[:12]
    asyncio.run(_pg_execute(postgres.url, f"CREATE DATABASE {name} TEMPLATE kefu_template"))
    root = tmp_path_factory.mktemp("cluster")
    settings = Settings(env="test", data_dir=root / "data", database_url=postgres.url_for(name),
                        redis_url=redis_server.url, secret_key=SECRET_KEY,  # type: ignore[arg-type]
                        customer_jwt_secret=JWT_SECRET,  # type: ignore[arg-type]
                        jobs_enabled=False, assistant_enabled=False)
    world = asyncio.run(_make_world(settings))
    env = {"KEFU_ENV": "test", "KEFU_DATABASE_URL": settings.resolved_database_url,
           "KEFU_REDIS_URL": redis_server.url, "KEFU_DATA_DIR": str(root / "data"),
           "KEFU_SECRET_KEY": SECRET_KEY, "KEFU_CUSTOMER_JWT_SECRET": JWT_SECRET,
           "KEFU_JOBS_ENABLED": "false", "KEFU_LOG_LEVEL": "WARNING",
           # Chats wait for an agent at once (no jobs run the assistant's answers here).
           "KEFU_ASSISTANT_ENABLED": "false"}
    servers: list[KefuServer] = []
    try:
        # Both start at once (imports dominate), then each is waited for.
        servers = [KefuServer.start(env, root / f"{side}.log", wait=False) for side in "ab"]
        for server in servers:
            server.wait_ready()
        token = world.headers["agent"]["Authorization"].split(" ", 1)[1]
        yield Cluster(servers[0], servers[1], redis_server, settings, token, world)
    finally:
        for server in servers:
            server.stop(timeout_s=30)
        redis_server.restart()  # in case a test stopped it and failed before restarting it
        asyncio.run(_pg_execute(postgres.url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


async def _make_world(settings: Settings) -> World:
    db = Database(settings.resolved_database_url)
    try:
        return await make_world(local_app(settings, db))  # type: ignore[arg-type]
    finally:
        await db.dispose()


@pytest.fixture
async def db(cluster: Cluster) -> AsyncIterator[Database]:
    """The shared database, seen from the test's own connection."""
    database = Database(cluster.settings.resolved_database_url)
    try:
        yield database
    finally:
        await database.dispose()


async def customer(cluster: Cluster, server: KefuServer, external_id: str) -> Client:
    token = customer_token(cluster.settings, external_id, name="Alice", lang="en")
    client = await Client.connect(f"{server.ws_base}/ws/chat", {"token": token})
    await client.wait_type("welcome", timeout=20)
    return client


async def agent(cluster: Cluster, server: KefuServer, who: str = "agent") -> Client:
    client = await Client.connect(f"{server.ws_base}/ws/agent", {"token": cluster.token(who)})
    await client.wait_type("welcome", timeout=20)
    return client


async def stored(db: Database, message_id: str) -> Message | None:
    async with db.transaction() as session:
        return await session.get(Message, uuid.UUID(message_id))


async def open_ticket(alice: Client, bob: Client, body: str = "USDT deposit missing") -> str:
    """The customer opens a conversation; the agent follows it from seq 0."""
    await alice.send({"type": "send", "client_msg_id": "open", "body": body})
    number = str((await alice.wait_type("ack", client_msg_id="open", timeout=20))["ticket"])
    await bob.send({"type": "subscribe", "ticket": number, "since": 0})
    await bob.wait_type("subscribed", timeout=20)
    await bob.wait_type("message", seq=1, timeout=20)
    return number


def seqs(client: Client) -> list[int]:
    return [f["seq"] for f in client.of_type("message")]


async def close_all(*clients: Client) -> None:
    for client in clients:
        if client.closed is None:
            await client.close()


async def test_customer_on_a_and_agent_on_b_talk_both_ways(cluster: Cluster, db: Database):
    bob = await agent(cluster, cluster.b)
    alice = await customer(cluster, cluster.a, "cl-talk")
    await alice.send({"type": "send", "client_msg_id": "m-1",
                      "body": "My USDT TRC20 deposit has not arrived"})
    ack = await alice.wait_type("ack", client_msg_id="m-1", timeout=20)
    # Ack only after commit: the row is there for anyone who looks the moment the ack arrives.
    row = await stored(db, ack["id"])
    assert row is not None
    assert (row.seq, row.public_seq) == (1, ack["seq"])
    number = ack["ticket"]
    # The ticket was created on A; the agent's inbox on B hears of it through Redis.
    created = await bob.wait_for(lambda f: f.get("type") == "inbox"
                                 and f.get("ticket", {}).get("number") == number, timeout=20)
    assert not any(key.startswith("_") for key in created)
    await bob.send({"type": "subscribe", "ticket": number, "since": 0})
    await bob.wait_type("subscribed", timeout=20)
    first = await bob.wait_type("message", seq=1, timeout=20)
    assert first["body"] == "My USDT TRC20 deposit has not arrived"
    # Agent on B → customer on A.
    await bob.send({"type": "send", "ticket": number, "client_msg_id": "a-1",
                    "body": "Please share the transaction id."})
    agent_ack = await bob.wait_type("ack", client_msg_id="a-1", timeout=20)
    assert await stored(db, agent_ack["id"]) is not None
    reply = await alice.wait_for(lambda f: f.get("type") == "message"
                                 and f.get("client_msg_id") == "a-1", timeout=20)
    assert (reply["seq"], reply["author"]["kind"]) == (2, "agent")
    assert "agent_id" not in reply["author"]
    # Customer on A → agent on B, live.
    await alice.send({"type": "send", "client_msg_id": "m-2", "body": "txid 9f2c…"})
    live = await bob.wait_for(lambda f: f.get("type") == "message"
                              and f.get("client_msg_id") == "m-2", timeout=20)
    assert live["seq"] == 3
    await close_all(alice, bob)


async def test_pipelined_bursts_from_both_sides_stay_gap_free(cluster: Cluster):
    bob = await agent(cluster, cluster.b)
    alice = await customer(cluster, cluster.a, "cl-burst")
    number = await open_ticket(alice, bob)
    # Both sides send without waiting for acks, each through its own process.
    rounds = 25
    for i in range(rounds):
        await alice.send({"type": "send", "client_msg_id": f"c{i}", "body": f"customer {i}"})
        await bob.send({"type": "send", "ticket": number, "client_msg_id": f"a{i}",
                        "body": f"agent {i}", "internal": i % 5 == 0})
    last = rounds - 1
    await alice.wait_for(lambda f: f.get("type") == "message" and f["body"] == f"agent {last}"
                         and "internal" not in f, timeout=30)
    await alice.wait_for(lambda f: f.get("type") == "message"
                         and f["body"] == f"customer {last}", timeout=30)
    await bob.wait_for(lambda f: f.get("type") == "message" and f["body"] == f"agent {last}",
                       timeout=30)
    await bob.wait_for(lambda f: f.get("type") == "message"
                       and f["body"] == f"customer {last}", timeout=30)
    total = 1 + 2 * rounds
    notes = len(range(0, rounds, 5))
    await bob.wait_for(lambda f: f.get("type") == "message" and f["seq"] == total, timeout=30)
    await asyncio.sleep(0.3)
    assert seqs(bob) == list(range(1, total + 1))
    assert seqs(alice) == list(range(1, total - notes + 1))
    assert not any("internal" in f for f in alice.of_type("message"))
    # Every ack names the seq that its message (notes included) has on each side.
    agent_view = {f["client_msg_id"]: f["seq"] for f in bob.of_type("message")}
    customer_view = {f["client_msg_id"]: f["seq"] for f in alice.of_type("message")}
    for ack in alice.of_type("ack"):
        assert customer_view[ack["client_msg_id"]] == ack["seq"]
    for ack in bob.of_type("ack"):
        assert agent_view[ack["client_msg_id"]] == ack["seq"]
    assert len(alice.of_type("ack")) == rounds + 1
    assert len(bob.of_type("ack")) == rounds
    await close_all(alice, bob)


async def test_resend_is_idempotent_across_processes(cluster: Cluster, db: Database):
    alice = await customer(cluster, cluster.a, "cl-dup")
    await alice.send({"type": "send", "client_msg_id": "dup-1", "body": "Withdrawal stuck"})
    first = await alice.wait_type("ack", client_msg_id="dup-1", timeout=20)
    await alice.send({"type": "send", "client_msg_id": "dup-1", "body": "Withdrawal stuck"})
    again = await alice.wait_for(lambda f: f.get("type") == "ack" and f is not first, timeout=20)
    assert (again["id"], again["seq"], again["ticket"]) == (first["id"], 1, first["ticket"])
    await alice.send({"type": "send", "client_msg_id": "dup-2", "body": "It has been 3 hours"})
    second = await alice.wait_type("ack", client_msg_id="dup-2", timeout=20)
    # The same customer's other device, connected to B, resends both (the network ate the
    # acks): the first one without naming a ticket, the second one naming it.
    phone = await customer(cluster, cluster.b, "cl-dup")
    await phone.send({"type": "send", "client_msg_id": "dup-1", "body": "Withdrawal stuck"})
    via_b = await phone.wait_type("ack", client_msg_id="dup-1", timeout=20)
    await phone.send({"type": "send", "client_msg_id": "dup-2", "ticket": first["ticket"],
                      "body": "It has been 3 hours"})
    via_b2 = await phone.wait_type("ack", client_msg_id="dup-2", timeout=20)
    assert (via_b["id"], via_b["seq"], via_b["ticket"]) == (first["id"], 1, first["ticket"])
    assert (via_b2["id"], via_b2["seq"]) == (second["id"], second["seq"])
    async with db.transaction() as session:
        ticket = await session.scalar(select(Ticket).where(Ticket.number == first["ticket"]))
        assert ticket is not None
        count = await session.scalar(select(func.count()).select_from(Message)
                                     .where(Message.ticket_id == ticket.id))
        customer_tickets = await session.scalar(select(func.count()).select_from(Ticket)
                                                .where(Ticket.customer_id == ticket.customer_id))
    assert (count, customer_tickets) == (2, 1)
    # An agent's note resent through the other process is stored once, too.
    bob_a, bob_b = await agent(cluster, cluster.a), await agent(cluster, cluster.b)
    note = {"type": "send", "ticket": first["ticket"], "client_msg_id": "note-1",
            "body": "VIP: check the travel rule hold", "internal": True}
    await bob_a.send(note)
    noted = await bob_a.wait_type("ack", client_msg_id="note-1", timeout=20)
    await bob_b.send(note)
    noted_again = await bob_b.wait_type("ack", client_msg_id="note-1", timeout=20)
    assert noted["seq"] == 3
    assert (noted_again["id"], noted_again["seq"]) == (noted["id"], noted["seq"])
    await close_all(alice, phone, bob_a, bob_b)


async def test_resume_on_the_other_process_gets_exactly_what_was_missed(cluster: Cluster):
    bob = await agent(cluster, cluster.b)
    alice = await customer(cluster, cluster.a, "cl-resume")
    number = await open_ticket(alice, bob)
    for i in range(2):
        await alice.send({"type": "send", "client_msg_id": f"m{i}", "body": f"msg {i}"})
    await alice.wait_type("ack", client_msg_id="m1", timeout=20)
    await alice.close()
    # While the customer is away, the agent on B answers twice and writes a note.
    for i, (body, internal) in enumerate((("First answer", False), ("internal only", True),
                                          ("Second answer", False))):
        await bob.send({"type": "send", "ticket": number, "client_msg_id": f"away-{i}",
                        "body": body, "internal": internal})
        await bob.wait_type("ack", client_msg_id=f"away-{i}", timeout=20)
    # The customer comes back through the other process, from the last seq it saw.
    back = await customer(cluster, cluster.b, "cl-resume")
    await back.send({"type": "join", "ticket": number, "since": 3})
    await back.wait_type("joined", timeout=20)
    await back.wait_for(lambda f: f.get("body") == "Second answer", timeout=20)
    await asyncio.sleep(0.3)
    assert [(f["seq"], f["body"]) for f in back.of_type("message")] == [
        (4, "First answer"), (5, "Second answer")]
    # And it is live again: the next answer arrives without asking.
    await bob.send({"type": "send", "ticket": number, "client_msg_id": "live",
                    "body": "Credited now"})
    assert (await back.wait_type("message", client_msg_id="live", timeout=20))["seq"] == 6
    await close_all(back, bob)


async def test_client_cut_off_mid_stream_loses_nothing_acked(cluster: Cluster):
    bob = await agent(cluster, cluster.b)
    alice = await customer(cluster, cluster.a, "cl-cut")
    number = await open_ticket(alice, bob)
    for i in range(25):
        await alice.send({"type": "send", "client_msg_id": f"x{i}", "body": f"burst {i}"})
    await alice.wait_type("ack", client_msg_id="x5", timeout=20)
    alice.ws.transport.abort()  # the network goes away: no close handshake
    await alice.wait_closed()
    acked = {f["client_msg_id"]: f["seq"] for f in alice.of_type("ack")}
    assert acked["x5"] > 1
    back = await customer(cluster, cluster.b, "cl-cut")
    await back.send({"type": "join", "ticket": number, "since": 0})
    await back.wait_type("joined", timeout=20)
    await back.wait_for(lambda f: f.get("client_msg_id") == "x5", timeout=20)
    await asyncio.sleep(1.0)  # what A still had in hand when the peer vanished is committed
    stored_seqs = {f["client_msg_id"]: f["seq"] for f in back.of_type("message")}
    for client_msg_id, seq in acked.items():
        assert stored_seqs[client_msg_id] == seq
    assert sorted(stored_seqs.values()) == list(range(1, len(stored_seqs) + 1))
    # The agent on B saw the same stream, live, gap-free.
    top = max(stored_seqs.values())
    await bob.wait_type("message", seq=top, timeout=20)
    assert seqs(bob) == list(range(1, top + 1))
    await close_all(back, bob)


async def test_redis_restart_keeps_the_cluster_working(cluster: Cluster, db: Database):
    bob = await agent(cluster, cluster.b)
    alice = await customer(cluster, cluster.a, "cl-redis")
    number = await open_ticket(alice, bob)
    cluster.redis.halt()
    try:
        # Redis is gone: messages are still persisted and acknowledged (after the commit).
        for i in range(3):
            await alice.send({"type": "send", "client_msg_id": f"down-{i}",
                              "body": f"while Redis is down {i}"})
            ack = await alice.wait_type("ack", client_msg_id=f"down-{i}", timeout=20)
            assert await stored(db, ack["id"]) is not None, cluster.logs()
        await bob.send({"type": "send", "ticket": number, "client_msg_id": "down-agent",
                        "body": "agent while Redis is down"})
        await bob.wait_type("ack", client_msg_id="down-agent", timeout=20)
    finally:
        cluster.redis.restart()
    # The brokers reconnect with backoff (≤ 5 s). Delivery through Redis is at most once, so
    # keep talking until a message sent on A reaches B live: the first one to arrive makes B
    # fetch whatever it missed from the database, so B's view ends gap-free.
    sent = await talk_until_live(alice, bob, "up", number=None)
    top = 1 + 3 + 1 + sent
    await bob.wait_type("message", seq=top, timeout=20)
    # And the other way round: the agent's messages on B reach the customer on A live again.
    answered = await talk_until_live(bob, alice, "back", number=number)
    top += answered
    await alice.wait_type("message", seq=top, timeout=20)
    await bob.wait_type("message", seq=top, timeout=20)
    await asyncio.sleep(0.2)
    assert seqs(bob) == list(range(1, top + 1))
    assert seqs(alice) == list(range(1, top + 1))
    # New tickets still reach the agent's inbox across processes.
    carol = await customer(cluster, cluster.a, "cl-redis-new")
    await carol.send({"type": "send", "client_msg_id": "n1", "body": "New question"})
    new_number = (await carol.wait_type("ack", client_msg_id="n1", timeout=20))["ticket"]
    await bob.wait_for(lambda f: f.get("type") == "inbox"
                       and f["ticket"]["number"] == new_number, timeout=20)
    await close_all(alice, bob, carol)


async def test_a_dropped_subscription_tells_the_agents_on_that_process_to_resync(
    cluster: Cluster,
):
    """Redis drops the processes' subscriptions (as when it restarts): the events of the gap
    are lost, so when its subscription is back, process B tells its agents' consoles to
    fetch what they show."""
    bob = await agent(cluster, cluster.b)
    redis = aioredis.from_url(cluster.redis.url)
    try:
        assert await redis.client_kill_filter(_type="pubsub") >= 2  # one per process
    finally:
        await redis.aclose()
    assert await bob.wait_type("resync", timeout=20) == {"type": "resync", "reason": "broker"}
    await close_all(bob)


async def talk_until_live(sender: Client, receiver: Client, tag: str, *,
                          number: str | None) -> int:
    """Send (each one acknowledged) until one arrives at ``receiver`` live; returns how many
    were sent. Fails after 30 s."""
    deadline = time.monotonic() + 30
    sent = 0
    while True:
        client_msg_id = f"{tag}-{sent}"
        frame: dict[str, Any] = {"type": "send", "client_msg_id": client_msg_id,
                                 "body": f"{tag} {sent}"}
        if number is not None:
            frame["ticket"] = number
        await sender.send(frame)
        await sender.wait_type("ack", client_msg_id=client_msg_id, timeout=20)
        sent += 1
        try:
            await receiver.wait_type("message", client_msg_id=client_msg_id, timeout=1.0)
            return sent
        except AssertionError:
            assert time.monotonic() < deadline, "no live delivery 30 s after Redis came back"


async def api(cluster: Cluster, server: KefuServer, who: str, method: str, path: str,
              body: dict[str, Any] | None = None) -> Any:
    """A call to one process's HTTP API as one of the world's people; the parsed answer."""
    async with httpx.AsyncClient(base_url=f"{server.base}/api/v1", timeout=20) as http:
        response = await http.request(method, path, json=body, headers={
            "Authorization": f"Bearer {cluster.token(who)}"})
    assert response.status_code < 300, response.text
    return response.json() if response.content else None


def of_agent(frame: dict[str, Any], kind: str, agent_id: uuid.UUID) -> bool:
    return frame.get("type") == kind and frame.get("agent", {}).get("id") == str(agent_id)


async def test_collision_viewing_and_typing_cross_processes(cluster: Cluster):
    """An agent on A and a supervisor on B on the same conversation see each other viewing
    and typing (a note: never the customer), and leaving."""
    bob = await agent(cluster, cluster.a)
    sue = await agent(cluster, cluster.b, "supervisor")
    alice = await customer(cluster, cluster.a, "cl-collide")
    number = await open_ticket(alice, bob)
    await sue.send({"type": "subscribe", "ticket": number, "since": 0})
    await sue.wait_type("subscribed", timeout=20)
    supervisor, agent_id = cluster.world.supervisor.id, cluster.world.agent.id
    seen = await bob.wait_for(lambda f: of_agent(f, "viewing", supervisor) and f["state"],
                              timeout=10)
    assert seen["ttl_s"] == 50  # how long it holds unless announced again (every 20 s)
    # The agent who was there first answers the newcomer's announcement, across processes.
    await sue.wait_for(lambda f: of_agent(f, "viewing", agent_id) and f["state"], timeout=10)
    await bob.send({"type": "typing", "ticket": number, "state": True, "internal": True})
    typing = await sue.wait_type("typing", ticket=number, timeout=10)
    assert (typing["who"]["agent_id"], typing["internal"]) == (str(agent_id), True)
    await sue.send({"type": "unsubscribe", "ticket": number})
    await bob.wait_for(lambda f: of_agent(f, "viewing", supervisor) and not f["state"],
                       timeout=10)
    await asyncio.sleep(0.3)
    assert not alice.of_type("typing")
    assert not alice.of_type("viewing")
    await close_all(alice, bob, sue)


async def test_status_and_floor_reach_a_supervisor_on_the_other_process(cluster: Cluster):
    """An agent's status set on A, a ticket arriving on A and its assignment on A all reach
    the supervisor view of a supervisor connected to B."""
    sue = await agent(cluster, cluster.b, "supervisor")
    await sue.wait_type("supervisor", timeout=10)
    bob = await agent(cluster, cluster.a)
    agent_id = str(cluster.world.agent.id)
    try:
        await bob.send({"type": "status", "status": "away"})
        await sue.wait_for(lambda f: f.get("type") == "agent_status"
                           and f["agent"] == {"id": agent_id, "name": "agent",
                                              "status": "away"}, timeout=10)

        def agent_row(frame: dict[str, Any]) -> dict[str, Any]:
            return next(row for row in frame["agents"] if row["id"] == agent_id)

        await sue.wait_for(lambda f: f.get("type") == "supervisor"
                           and agent_row(f)["status"] == "away", timeout=10)
        await bob.send({"type": "status", "status": "online"})
        alice = await customer(cluster, cluster.a, "cl-floor")
        await alice.send({"type": "send", "client_msg_id": "f1", "body": "Card payment failed"})
        number = (await alice.wait_type("ack", client_msg_id="f1", timeout=20))["ticket"]
        await sue.wait_for(lambda f: f.get("type") == "supervisor" and number in [
            w["number"] for w in f["waiting"]], timeout=10)
        load = agent_row(sue.of_type("supervisor")[-1])["load"]
        await api(cluster, cluster.a, "supervisor", "POST", f"/tickets/{number}/assign",
                  {"agent_id": agent_id})
        await sue.wait_for(lambda f: f.get("type") == "supervisor"
                           and agent_row(f)["load"] == load + 1, timeout=10)
    finally:
        await bob.send({"type": "status", "status": "online"})
        await close_all(bob, sue)
    await alice.close()


async def test_mentions_and_assignments_notify_an_agent_on_the_other_process(
        cluster: Cluster):
    bob = await agent(cluster, cluster.b)
    sue = await agent(cluster, cluster.a, "supervisor")
    alice = await customer(cluster, cluster.a, "cl-notify")
    number = await open_ticket(alice, sue)
    await sue.send({"type": "send", "ticket": number, "client_msg_id": "n1", "internal": True,
                    "body": "@agent please check the travel rule hold"})
    ack = await sue.wait_type("ack", client_msg_id="n1", timeout=20)
    assert ack["not_notified"] == []
    mention = await bob.wait_type("mention", ticket=number, timeout=10)
    assert "travel rule" in mention["excerpt"]
    await api(cluster, cluster.a, "supervisor", "POST", f"/tickets/{number}/assign",
              {"agent_id": str(cluster.world.agent.id)})
    assigned = await bob.wait_type("assigned", ticket=number, timeout=10)
    assert assigned["by"]
    await close_all(alice, bob, sue)


async def test_read_receipts_and_queue_position_across_processes(cluster: Cluster):
    bob = await agent(cluster, cluster.a)
    alice = await customer(cluster, cluster.b, "cl-read")
    number = await open_ticket(alice, bob)
    waiting = await alice.wait_type("queue", ticket=number, timeout=10)
    assert waiting["position"] >= 1
    await bob.send({"type": "read", "ticket": number, "seq": 1})
    read = await alice.wait_type("read", ticket=number, timeout=10)
    assert (read["seq"], read["by"]["kind"]) == (1, "agent")
    await bob.send({"type": "send", "ticket": number, "client_msg_id": "r1",
                    "body": "Looking into it now."})
    await alice.wait_type("message", seq=2, timeout=10)
    await alice.send({"type": "read", "ticket": number, "seq": 2})
    read = await bob.wait_for(lambda f: f.get("type") == "read"
                              and f["by"]["kind"] == "customer", timeout=10)
    assert read["seq"] == 2
    # The answer on A took the ticket out of the queue: the customer on B is told (≤ 3 s).
    await alice.wait_type("queue", ticket=number, position=0, timeout=10)
    await close_all(alice, bob)


async def test_revoking_a_token_on_a_closes_its_socket_on_b(cluster: Cluster):
    created = await api(cluster, cluster.a, "agent", "POST", "/auth/tokens",
                        {"name": "laptop"})
    laptop = await Client.connect(f"{cluster.b.ws_base}/ws/agent", {"token": created["token"]})
    await laptop.wait_type("welcome", timeout=20)
    other = await agent(cluster, cluster.b)  # another credential of the same agent stays
    await api(cluster, cluster.a, "agent", "DELETE", f"/auth/tokens/{created['id']}")
    assert (await laptop.wait_closed(timeout=10))[0] == 4401
    assert laptop.of_type("error")[-1]["code"] == "signed_out"
    await other.send({"type": "ping", "t": 1})
    await other.wait_type("pong", timeout=10)
    await other.close()


async def test_a_transfer_on_a_ends_the_feed_of_an_agent_on_b(cluster: Cluster):
    bob = await agent(cluster, cluster.b)
    alice = await customer(cluster, cluster.a, "cl-transfer")
    number = await open_ticket(alice, bob)
    await api(cluster, cluster.a, "supervisor", "POST", f"/tickets/{number}/assign",
              {"team_id": str(cluster.world.zh_team.id)})
    await bob.wait_type("unsubscribed", ticket=number, reason="no_access", timeout=10)
    await bob.wait_for(lambda f: f.get("type") == "inbox" and f["change"] == "removed"
                       and f["ticket"] == {"number": number}, timeout=10)
    await alice.send({"type": "send", "client_msg_id": "after", "body": "Anyone there?"})
    await alice.wait_type("ack", client_msg_id="after", timeout=20)
    await asyncio.sleep(0.5)
    assert not [f for f in bob.of_type("message") if f.get("client_msg_id") == "after"]
    await close_all(alice, bob)


async def test_a_persons_send_budget_is_shared_by_the_processes(cluster: Cluster):
    """One person's sends are limited across the cluster (20/s, burst 60), not per process:
    eight connections of one customer, four on each process, each under its own frame limit,
    get no more sends through between them than one budget allows over the time they took
    (each process's own budget let twice that through). The sends name an attachment id that
    is not one: a send the budget lets through is then refused at once (``invalid_frame``)
    instead of waiting for the database, so the flood is as fast as the sockets, however slow
    the database is on a busy machine."""
    servers = [cluster.a, cluster.b] * 4
    clients = [await customer(cluster, server, "cl-flood") for server in servers]
    await clients[0].send({"type": "send", "client_msg_id": "open", "body": "Flood test"})
    number = (await clients[0].wait_type("ack", client_msg_id="open", timeout=20))["ticket"]
    started = time.monotonic()
    rounds = 28  # per connection, under its burst of 30
    for i in range(rounds):
        for n, client in enumerate(clients):
            await client.send({"type": "send", "client_msg_id": f"f{n}-{i}", "ticket": number,
                               "body": f"flood {n} {i}", "attachment_ids": ["not-an-id"]})

    def answers(n: int, client: Client) -> list[dict[str, Any]]:
        return [f for f in client.of_type("error") if str(f.get("ref")).startswith(f"f{n}-")]

    for n, client in enumerate(clients):
        await client.wait_for(lambda _f, n=n, client=client: len(answers(n, client)) == rounds,
                              timeout=30)
    elapsed = time.monotonic() - started
    codes = [[f["code"] for f in answers(n, c)] for n, c in enumerate(clients)]
    through = sum(c.count("invalid_frame") for c in codes)
    refused = [f for n, c in enumerate(clients) for f in answers(n, c)
               if f["code"] == "rate_limited"]
    assert through + len(refused) == rounds * len(clients)
    assert all(f["retry_after_s"] > 0 for f in refused)
    # At most the burst (the opening send took one of it) and what refilled meanwhile.
    assert through <= 60 + 20 * elapsed, (codes, elapsed)
    await close_all(*clients)

def test_no_process_crashed_or_logged_an_error(cluster: Cluster):
    """Nothing above crashed a process or logged an unhandled error."""
    for server in (cluster.a, cluster.b):
        assert server.process.poll() is None, server.log_tail()
        log = server.log_path.read_text(errors="replace")
        assert "unhandled_error" not in log, server.log_tail()
        assert "Traceback" not in log, server.log_tail()
