"""The supervisor view's numbers (queue positions, longest waits, SLA risk, loads, escalations)
under an injected clock, and the feed that pushes them to supervisors only when they change."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from kefu.accounts.actor import Actor
from kefu.accounts.models import Agent, Customer
from kefu.realtime import supervisor as supervisor_module
from kefu.realtime.hub import Connection, Hub
from kefu.realtime.queue import AVERAGE_HANDLE_S, QueueWatcher
from kefu.realtime.supervisor import (
    FIRST_RESPONSE_TARGETS_S,
    FloorSnapshot,
    SupervisorFeed,
    floor_snapshot,
)
from kefu.tickets import schemas, workflow
from kefu.tickets import service as tickets
from kefu.tickets.creation import create_ticket
from kefu.tickets.models import Ticket
from kefu.tickets.replies import reply
from tests.factories import make_agent, make_team, make_world
from tests.realtime.live import Client, LiveServer, drain, noop_fetch

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def test_targets_are_minutes_by_priority():
    assert FIRST_RESPONSE_TARGETS_S == {"urgent": 300, "high": 900, "normal": 3600,
                                        "low": 14400}


class Floor:
    """Two teams, three agents, and tickets opened at known times before T0."""

    def __init__(self, app: FastAPI, at: Callable[[datetime], None]) -> None:
        self.app, self.at = app, at
        self.numbers: dict[str, str] = {}

    async def build(self) -> Floor:
        app = self.app
        self.en = await make_team(app, "English", "en")
        self.zh = await make_team(app, "中文", "zh")
        self.li = await make_agent(app, "li.na@kefu.test", teams=[self.en])
        self.wang = await make_agent(app, "wang@kefu.test", teams=[self.zh], languages=["zh"])
        self.sup = await make_agent(app, "sup@kefu.test", role="supervisor", teams=[self.en])
        async with app.state.db.transaction() as session:
            await session.execute(update(Agent).where(Agent.id == self.li.id)
                                  .values(status="online"))
            await session.execute(update(Agent).where(Agent.id == self.wang.id)
                                  .values(status="away", capacity=2))
            self.customer = Customer(external_id="cust-floor", display_name="Ann")
            session.add(self.customer)
        # name: (minutes before T0, language, priority)
        for name, minutes, language, priority in (
            ("A", 10, "en", "urgent"),   # waits 10 min > 5 min target: at risk
            ("B", 30, "en", "normal"),   # 30 min < 60 min
            ("C", 20, "zh", "high"),     # 20 min > 15 min: at risk
            ("D", 5, "zh", "low"),
            ("E", 50, "en", "normal"),   # answered and assigned below: not waiting
            ("F", 2, "fr", "normal"),    # no French team: the English one
            ("G", 40, "en", "high"),     # escalated below
        ):
            self.numbers[name] = await self.open(minutes, language, priority, f"Ticket {name}")
        agent = Actor(kind="agent", agent=self.li, team_ids=frozenset({self.en.id}))
        self.at(T0 - timedelta(minutes=45))
        async with app.state.db.transaction() as session:
            ticket = await tickets.get_readable(session, agent, self.numbers["E"])
            await reply(session, agent, app.state.settings, ticket,
                        schemas.ReplyCreate(body="Looking into it."))
            await workflow.assign(session, agent, ticket,
                                  schemas.AssignRequest(agent_id=self.li.id))
        self.at(T0 - timedelta(minutes=15))
        async with app.state.db.transaction() as session:
            ticket = await tickets.get_readable(session, agent, self.numbers["G"])
            await workflow.escalate(session, agent, ticket, reason="Possible account takeover")
        self.at(T0)
        return self

    async def open(self, minutes: int, language: str, priority: str, subject: str) -> str:
        self.at(T0 - timedelta(minutes=minutes))
        async with self.app.state.db.transaction() as session:
            actor = Actor(kind="customer", customer=self.customer)
            opened = await create_ticket(
                session, actor, customer=self.customer, subject=subject, body="Help",
                channel="portal", language=language, priority=priority)  # no assistant
            ticket = opened.ticket
            return ticket.number

    async def snapshot(self) -> FloorSnapshot:
        async with self.app.state.db.transaction() as session:
            return await floor_snapshot(session)


async def test_queues_per_team_and_language(app: FastAPI, at: Callable[[datetime], None]):
    floor = await Floor(app, at).build()
    n = floor.numbers
    snapshot = await floor.snapshot()
    assert snapshot.at == T0

    waiting = {w.number: w for w in snapshot.waiting}
    assert set(waiting) == {n["A"], n["B"], n["C"], n["D"], n["F"]}
    # Positions count by arrival within each team's queue.
    assert [(w.number, w.position) for w in snapshot.waiting] == [
        (n["B"], 1), (n["C"], 1), (n["A"], 2), (n["D"], 2), (n["F"], 3)]
    assert waiting[n["A"]].wait_s == 600
    assert waiting[n["A"]].target_s == 300
    assert [w.number for w in snapshot.waiting if w.at_risk] == [n["C"], n["A"]]

    teams = {row.name: row for row in snapshot.teams}
    assert list(teams) == ["English", "中文"]
    english, chinese = teams["English"], teams["中文"]
    assert (english.waiting, english.longest_wait_s, english.sla_at_risk) == (3, 1800, 1)
    assert english.oldest_at == T0 - timedelta(minutes=30)
    assert english.agents_online == 1  # Li Na; the supervisor is offline
    assert (chinese.waiting, chinese.longest_wait_s, chinese.sla_at_risk) == (2, 1200, 1)
    assert chinese.agents_online == 0  # Wang is away

    languages = {row.key: row for row in snapshot.languages}
    assert list(languages) == ["en", "fr", "zh"]
    # named in their own language, as teams are by their names: one snapshot for every viewer
    assert [row.name for row in languages.values()] == ["English", "français", "中文"]
    assert (languages["en"].waiting, languages["en"].longest_wait_s,
            languages["en"].sla_at_risk) == (2, 1800, 1)
    assert (languages["fr"].waiting, languages["fr"].longest_wait_s) == (1, 120)
    assert (languages["zh"].waiting, languages["zh"].sla_at_risk) == (2, 1)
    assert languages["en"].agents_online == 1

    assert snapshot.totals["waiting"] == 5
    assert snapshot.totals["longest_wait_s"] == 1800
    assert snapshot.totals["sla_at_risk"] == 2
    assert snapshot.totals["escalated"] == 1
    assert (snapshot.totals["agents_online"], snapshot.totals["agents_away"]) == (1, 1)


async def test_agents_loads_and_escalations(app: FastAPI, at: Callable[[datetime], None]):
    floor = await Floor(app, at).build()
    snapshot = await floor.snapshot()
    agents = {a.name: a for a in snapshot.agents}
    assert (agents["li.na"].status, agents["li.na"].load, agents["li.na"].capacity) == \
        ("online", 1, 5)
    assert agents["li.na"].team_ids == [str(floor.en.id)]
    assert (agents["wang"].status, agents["wang"].load, agents["wang"].capacity) == \
        ("away", 0, 2)
    assert agents["sup"].role == "supervisor"
    [escalated] = snapshot.escalated
    assert escalated.number == floor.numbers["G"]
    assert escalated.reason == "Possible account takeover"
    assert escalated.since == T0 - timedelta(minutes=15)
    assert escalated.team_id == str(floor.en.id)

    frame = snapshot.frame()
    assert frame["type"] == "supervisor"
    assert frame["at"] == T0.isoformat()
    assert frame["escalated"][0]["since"] == (T0 - timedelta(minutes=15)).isoformat()
    assert frame["targets"]["urgent"] == 300


async def test_fingerprint_ignores_time_passing_but_not_new_risk(
    app: FastAPI, at: Callable[[datetime], None]
):
    floor = await Floor(app, at).build()
    before = await floor.snapshot()
    at(T0 + timedelta(seconds=20))
    later = await floor.snapshot()
    assert later.totals["longest_wait_s"] == before.totals["longest_wait_s"] + 20
    assert later.fingerprint() == before.fingerprint()
    # Ticket B (normal, opened at T0 − 30 min) passes its 60-minute target.
    at(T0 + timedelta(minutes=31))
    risky = await floor.snapshot()
    assert risky.totals["sla_at_risk"] == 3
    assert risky.fingerprint() != before.fingerprint()


def _connection(hub: Hub, role: str) -> Connection:
    agent = Agent(id=uuid.uuid4(), role=role, display_name=role, email=f"{role}@x.test")
    connection = Connection(None, Actor(kind="agent", agent=agent), hub,  # type: ignore[arg-type]
                            noop_fetch)
    hub.register(connection)
    return connection


async def test_feed_pushes_to_supervisors_only_and_only_changes(
    app: FastAPI, at: Callable[[datetime], None]
):
    floor = await Floor(app, at).build()
    hub = Hub()
    feed = SupervisorFeed(app.state.db, hub)
    assert await feed.tick() == 0  # nobody to tell: no query either
    supervisor, admin, agent = (_connection(hub, "supervisor"), _connection(hub, "admin"),
                                _connection(hub, "agent"))
    assert await feed.tick() == 2
    [frame] = drain(supervisor)
    assert frame["type"] == "supervisor"
    assert frame["totals"]["waiting"] == 5
    assert len(drain(admin)) == 1
    assert drain(agent) == []

    at(T0 + timedelta(seconds=30))
    assert await feed.tick() == 0  # only the waits grew
    number = await floor.open(0, "zh", "urgent", "Account frozen")
    assert await feed.tick() == 2
    [frame] = drain(supervisor)
    assert frame["totals"]["waiting"] == 6
    assert number in {w["number"] for w in frame["waiting"]}
    assert drain(agent) == []

    late = _connection(hub, "supervisor")  # a new viewer gets the current state at once
    assert await feed.tick() == 1
    assert len(drain(late)) == 1
    hub.detach_all(late)
    await feed.tick()
    assert late not in feed.sent


async def test_after_a_broker_outage_supervisors_get_the_whole_frame_again(
    app: FastAPI, at: Callable[[datetime], None]
):
    """The ``agent_status`` frames that patch the view between rounds may have been lost
    while the broker was away: the next round sends the frame even though nothing changed."""
    await Floor(app, at).build()
    hub = Hub()
    feed = SupervisorFeed(app.state.db, hub, interval_s=3600)  # rounds run here only
    await feed.start()
    try:
        supervisor = _connection(hub, "supervisor")
        assert await feed.tick() == 1
        assert await feed.tick() == 0
        hub.resync()
        assert await feed.tick() == 1
        assert [f["type"] for f in drain(supervisor)] == ["supervisor", "resync", "supervisor"]
    finally:
        await feed.stop()
    assert hub.resync_hooks == []


async def test_live_supervisor_frames_follow_the_queue(live: LiveServer, setup_app: Any):
    world = await make_world(setup_app)

    async def connect(role: str) -> Client:
        token = world.headers[role]["Authorization"].split(" ", 1)[1]
        client = await Client.connect(f"{live.ws_base}/ws/agent", {"token": token})
        await client.wait_type("welcome")
        return client

    supervisor, agent = await connect("supervisor"), await connect("agent")
    try:
        first = await supervisor.wait_type("supervisor", timeout=10)
        assert first["totals"]["waiting"] == 0
        async with httpx.AsyncClient(base_url=live.base, timeout=30) as http:
            created = await http.post("/api/v1/tickets", headers=world.headers["customer_a"],
                                      json={"subject": "BTC withdrawal stuck",
                                            "body": "Pending for 3 hours."})
        assert created.status_code == 201, created.text
        number = created.json()["number"]
        changed = await supervisor.wait_for(
            lambda f: f.get("type") == "supervisor" and f["totals"]["waiting"] == 1, timeout=10)
        assert [w["number"] for w in changed["waiting"]] == [number]
        english = next(t for t in changed["teams"] if t["key"] == str(world.en_team.id))
        assert (english["waiting"], english["sla_at_risk"]) == (1, 0)
        assert changed["at"] > first["at"]
        inbox = await agent.wait_type("inbox")
        assert inbox["ticket"]["number"] == number
        assert agent.of_type("supervisor") == []
    finally:
        await supervisor.close()
        await agent.close()


async def test_one_tickets_queue_position_agrees_with_the_whole_queue(
        app: FastAPI, at: Callable[[datetime], None]):
    """A customer who starts waiting gets their position from one count, not a scan of every
    waiting ticket; it must be the position the periodic scan gives: by arrival within the
    team (ties by id), teamless tickets in a queue of their own, the estimate by agents online."""
    floor = await Floor(app, at).build()
    n = floor.numbers
    n["H"] = await floor.open(10, "en", "normal", "Ticket H")  # arrives with A: a tie
    n["I"] = await floor.open(3, "en", "normal", "Ticket I")
    n["J"] = await floor.open(1, "en", "normal", "Ticket J")
    async with app.state.db.transaction() as session:
        await session.execute(update(Ticket).where(Ticket.number.in_([n["I"], n["J"]]))
                              .values(team_id=None))
    watcher = QueueWatcher(app.state.db)
    everyone = await watcher.positions()
    async with app.state.db.transaction() as session:
        ids = {number: ticket_id for number, ticket_id in await session.execute(
            select(Ticket.number, Ticket.id))}
    assert len(everyone) == 8  # A B C D F H I J wait; E was answered, G escalated
    assert everyone[ids[n["I"]]] == (1, AVERAGE_HANDLE_S)
    assert everyone[ids[n["J"]]] == (2, 2 * AVERAGE_HANDLE_S)
    assert {everyone[ids[n["A"]]][0], everyone[ids[n["H"]]][0]} == {2, 3}
    for number, ticket_id in ids.items():
        assert await watcher.position_of(ticket_id) == everyone.get(ticket_id, (0, 0)), number


async def test_a_chat_the_assistant_is_answering_waits_for_nobody(
        app: FastAPI, at: Callable[[datetime], None]):
    """While the assistant answers a new chat, its customer is not told a queue position (the
    widget said "you are 17th" beside the assistant's answers), and it is nobody's place ahead;
    after the hand-off it waits like the others, by arrival."""
    from kefu.assistant.models import AssistantConversation

    floor = await Floor(app, at).build()
    watcher = QueueWatcher(app.state.db)
    async with app.state.db.transaction() as session:
        ids = {number: ticket_id for number, ticket_id in await session.execute(
            select(Ticket.number, Ticket.id))}
    before = await watcher.positions()
    first = min((p, number) for number, p in
                ((number, before[ids[number]][0]) for number in floor.numbers.values()
                 if ids[number] in before and before[ids[number]][0] == 1))[1]
    async with app.state.db.transaction() as session:
        conversation = AssistantConversation(ticket_id=ids[first], mode="active")
        session.add(conversation)
    during = await watcher.positions()
    assert ids[first] not in during
    assert await watcher.position_of(ids[first]) == (0, 0)
    assert len(during) == len(before) - 1  # the ones behind it moved up
    async with app.state.db.transaction() as session:
        await session.execute(update(AssistantConversation).where(
            AssistantConversation.ticket_id == ids[first]).values(
            mode="handed_off", handed_off_at=datetime.now(UTC)))
    assert await watcher.positions() == before
    assert await watcher.position_of(ids[first]) == before[ids[first]]


async def test_merged_tickets_leave_the_queues(app: FastAPI, at: Callable[[datetime], None]):
    """Merged tickets never wait twice: the duplicate leaves every queue."""
    floor = await Floor(app, at).build()
    agent = Actor(kind="agent", agent=floor.sup, team_ids=frozenset({floor.en.id}))
    async with app.state.db.transaction() as session:
        source = await tickets.get_readable(session, agent, floor.numbers["B"])
        await workflow.merge(session, agent, source, into_number=floor.numbers["A"])
    snapshot = await floor.snapshot()
    numbers = {w.number for w in snapshot.waiting}
    assert floor.numbers["B"] not in numbers
    assert snapshot.totals["waiting"] == 4
    async with app.state.db.transaction() as session:
        merged = await session.get(Ticket, source.id)
        assert merged is not None
        assert merged.merged_into_id is not None


async def test_the_totals_count_past_what_the_lists_show(
    app: FastAPI, at: Callable[[datetime], None], monkeypatch: pytest.MonkeyPatch
):
    """The escalated total counted the list, cut at 100; and a list that stops before its
    total says so on the page."""
    floor = await Floor(app, at).build()
    full = await floor.snapshot()
    monkeypatch.setattr(supervisor_module, "ESCALATED_LISTED", 0)
    monkeypatch.setattr(supervisor_module, "WAITING_LISTED", 1)
    cut = await floor.snapshot()
    assert cut.escalated == []
    assert cut.totals["escalated"] == full.totals["escalated"] == 1
    assert len(cut.waiting) == 1
    assert cut.totals["waiting"] == full.totals["waiting"] > 1
