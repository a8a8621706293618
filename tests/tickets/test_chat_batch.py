"""The chat's batched append (kefu.tickets.chat) against the one-message path it stands in for:
same sequences, same idempotency, same rules, on SQLite and PostgreSQL; and the loop-thread
SQLite connection the writer runs it on."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts.actor import Actor
from kefu.accounts.models import AuditEntry, Customer
from kefu.assistant.models import AssistantConversation
from kefu.assistant.service import RESPOND_JOB
from kefu.core import clock
from kefu.core.errors import Conflict
from kefu.db import Database, InlineSQLite, writer_sqlite
from kefu.jobs.models import Job
from kefu.realtime.writer import MAX_LEFT_OUT, Work
from kefu.tickets import replies
from kefu.tickets import schemas as ticket_schemas
from kefu.tickets import service as tickets
from kefu.tickets.chat import Appended, ChatSend, _tickets_raw, append_chat_batch
from kefu.tickets.creation import create_ticket
from kefu.tickets.models import Message, Ticket, TicketEvent
from kefu.trust.errors import CoolingDown
from kefu.trust.models import CoolDown
from kefu.webhooks.models import WebhookDelivery, WebhookEndpoint
from tests.factories import batch_session, make_world


async def _customers(app: FastAPI, *names: str) -> list[Actor]:
    actors = []
    async with app.state.db.transaction() as session:
        for name in names:
            customer = Customer(external_id=f"batch-{name}", display_name=name)
            session.add(customer)
            await session.flush()
            actors.append(Actor(kind="customer", customer=customer))
    return actors


async def _ticket(app: FastAPI, actor: Actor, status: str = "open") -> str:
    async with app.state.db.transaction() as session:
        assert actor.customer is not None
        opened = await create_ticket(session, actor, customer=actor.customer,
                                     subject="Deposit missing", body="first",
                                     channel="chat")
        ticket = opened.ticket
        ticket.status = status
        return ticket.number


WRITER = pytest.mark.parametrize("writer", [False, True], ids=["session", "writer"])


@WRITER
async def test_batch_keeps_sequences_gap_free_and_ordered_per_ticket(
        app: FastAPI, writer: bool) -> None:
    alice, bob = await _customers(app, "Alice", "Bob")
    a, b = await _ticket(app, alice), await _ticket(app, bob)
    sends = [ChatSend(alice, a, "a1", "m-a1"), ChatSend(bob, b, "b1", "m-b1"),
             ChatSend(alice, a, "a2", "m-a2"), ChatSend(alice, a, "a1 again", "m-a1"),
             ChatSend(bob, b.lower(), "b2", None)]
    async with batch_session(app.state.db, writer) as session:
        outcomes = await append_chat_batch(session, sends)
    assert all(isinstance(o, Appended) for o in outcomes)
    done = [o for o in outcomes if isinstance(o, Appended)]
    assert [(o.message.seq, o.message.public_seq, o.created) for o in done] == [
        (2, 2, True), (2, 2, True), (3, 3, True), (2, 2, False), (3, 3, True)]
    assert done[3].message.id == done[0].message.id  # a resend inside the batch: stored once
    async with app.state.db.transaction() as session:
        stored = (await session.execute(
            select(Ticket.number, Message.seq, Message.body).join(Ticket)
            .order_by(Ticket.number, Message.seq))).all()
        ticket_a = await session.scalar(select(Ticket).where(Ticket.number == a))
    assert [(s, body) for n, s, body in stored if n == a] == [(1, "first"), (2, "a1"),
                                                              (3, "a2")]
    assert [(s, body) for n, s, body in stored if n == b] == [(1, "first"), (2, "b1"),
                                                              (3, "b2")]
    assert ticket_a is not None
    assert (ticket_a.last_seq, ticket_a.last_public_seq) == (3, 3)
    assert ticket_a.last_customer_message_at == done[0].message.created_at

    # A resend in a later batch returns the stored message and stores nothing.
    async with batch_session(app.state.db, writer) as session:
        again = await append_chat_batch(session, [ChatSend(alice, a, "a2", "m-a2")])
    assert isinstance(again[0], Appended)
    assert not again[0].created
    assert again[0].message.seq == 3

    # Client ids are per ticket: Bob's "m-a2" is new although Alice's ticket has one, and a
    # resend of Alice's "m-a1" next to it finds hers, not anything of Bob's.
    async with batch_session(app.state.db, writer) as session:
        mixed = await append_chat_batch(session, [ChatSend(bob, b, "bob's own", "m-a2"),
                                                  ChatSend(alice, a, "a1", "m-a1")])
    assert [(o.created, o.message.body) for o in mixed if isinstance(o, Appended)] == [
        (True, "bob's own"), (False, "a1")]


@WRITER
async def test_batch_declines_what_the_one_message_path_must_decide(
        app: FastAPI, writer: bool) -> None:
    world = await make_world(app)
    (alice,) = await _customers(app, "Alice")
    resolved = await _ticket(app, alice, "resolved")
    fresh = await _ticket(app, alice, "new")
    agent = Actor(kind="agent", agent=world.agent, team_ids=frozenset({world.en_team.id}))
    async with app.state.db.transaction() as session:
        ticket = await session.scalar(select(Ticket).where(Ticket.number == fresh))
        assert ticket is not None
        ticket.status, ticket.pending_reason = "pending", "customer"
    sends = [
        ChatSend(alice, resolved, "reopen please", "r1"),  # reopens: reply() decides
        ChatSend(alice, fresh, "here it is", "f1"),  # answers what support waited for
        ChatSend(agent, fresh, "thanks", "g1"),  # same ticket as Alice's: same path
    ]
    async with batch_session(app.state.db, writer) as session:
        outcomes = await append_chat_batch(session, sends)
    assert outcomes == [None] * len(sends)
    async with app.state.db.transaction() as session:
        count = len((await session.scalars(select(Message))).all())
    assert count == 2  # the two first messages only


@WRITER
async def test_batch_refuses_what_reply_refuses_and_appends_the_rest(
        app: FastAPI, writer: bool) -> None:
    """What ``reply`` refuses without storing anything gets the same error from the batch,
    in place of the outcome, and the batch's other sends are appended: declined, such a send
    rolled the whole batch back and had every send redone through the ORM."""
    alice, bob = await _customers(app, "Alice", "Bob")
    mine, others, closed = (await _ticket(app, alice), await _ticket(app, bob),
                            await _ticket(app, alice))
    async with batch_session(app.state.db, writer) as session:
        first = await append_chat_batch(session, [ChatSend(alice, closed, "before", "c1")])
    assert isinstance(first[0], Appended)
    async with app.state.db.transaction() as session:
        ticket = await session.scalar(select(Ticket).where(Ticket.number == closed))
        assert ticket is not None
        ticket.status = "closed"
    sends = [
        ChatSend(alice, others, "not mine", "x1"),  # someone else's ticket
        ChatSend(alice, "KF-NOPE00", "?", "n1"),  # no such ticket
        ChatSend(alice, "not a number", "?", "n2"),
        ChatSend(alice, closed, "still there?", "c2"),  # closed
        ChatSend(alice, closed, "before", "c1"),  # a resend of what was stored before
        ChatSend(alice, mine, "where is my deposit", "m1"),
    ]
    async with batch_session(app.state.db, writer) as session:
        outcomes = await append_chat_batch(session, sends)
    # The one-message path's answers to the same sends.
    expected = []
    for send in sends[:4]:
        async with app.state.db.transaction() as session:
            try:
                ticket = await tickets.get_readable(session, alice, send.number)
                await replies.reply(session, alice, app.state.settings, ticket,
                                    ticket_schemas.ReplyCreate(body=send.body,
                                                               client_msg_id="other"))
            except Exception as exc:  # noqa: BLE001 - the error is what is compared
                expected.append((type(exc), exc.code, exc.status, exc.message))  # type: ignore[attr-defined]
    assert [(type(o), o.code, o.status, o.message) for o in outcomes[:4]] == expected  # type: ignore[union-attr]
    assert [e[1] for e in expected] == ["not_found", "not_found", "not_found", "ticket_closed"]
    resent, appended = outcomes[4], outcomes[5]
    assert isinstance(resent, Appended)
    assert (resent.created, resent.message.id) == (False, first[0].message.id)  # type: ignore[union-attr]
    assert isinstance(appended, Appended)
    assert appended.created
    async with app.state.db.transaction() as session:
        bodies = set(await session.scalars(select(Message.body)))
    assert bodies == {"first", "before", "where is my deposit"}


@WRITER
async def test_an_agents_first_reply_in_a_batch_opens_the_ticket_as_reply_does(
        app: FastAPI, writer: bool) -> None:
    """The batch appends an agent's first reply to a new ticket and opens it with ``reply``'s
    own step: the same status, event, audit entry, first response time and ``ticket.updated``
    webhook as one reply through the API."""
    world = await make_world(app)
    alice, bob = await _customers(app, "Alice", "Bob")
    batched, single = await _ticket(app, alice, "new"), await _ticket(app, bob, "new")
    agent = Actor(kind="agent", agent=world.agent, team_ids=frozenset({world.en_team.id}))
    async with app.state.db.transaction() as session:
        session.add(WebhookEndpoint(url="https://hooks.example/k", secret="s",
                                    events=["ticket.updated"]))
    async with batch_session(app.state.db, writer) as session:
        outcomes = await append_chat_batch(session, [
            ChatSend(alice, batched, "still waiting", "c1"),
            ChatSend(agent, batched, "Looking into it.", "a1"),
            ChatSend(agent, batched, "One moment.", "a2")])
    assert [isinstance(o, Appended) and o.created for o in outcomes] == [True, True, True]
    async with app.state.db.transaction() as session:
        ticket = await tickets.get_readable(session, agent, single)
        await replies.reply(session, agent, app.state.settings, ticket,
                            ticket_schemas.ReplyCreate(body="Looking into it."))

    async def effects(number: str) -> tuple[object, ...]:
        async with app.state.db.transaction() as session:
            ticket = await session.scalar(select(Ticket).where(Ticket.number == number))
            assert ticket is not None
            events = [(e.kind, e.data) for e in await session.scalars(
                select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
                .order_by(TicketEvent.at)) if e.kind != "created"]
            audits = list(await session.scalars(select(AuditEntry.action).where(
                AuditEntry.target_id == number).order_by(AuditEntry.at)))
            hooks = [d.payload["data"]["ticket"]["status"] for d in await session.scalars(
                select(WebhookDelivery).where(WebhookDelivery.event == "ticket.updated"))
                if d.payload["data"]["ticket"]["number"] == number]
            return (ticket.status, ticket.first_response_at is not None, events, audits, hooks)

    assert await effects(batched) == await effects(single) == (
        "open", True,
        [("status_changed", {"from": "new", "to": "open", "pending_reason": None})],
        ["ticket.status_changed"], ["open"])


@WRITER
async def test_batch_on_the_writer_connection_has_the_same_effects(
        app: FastAPI, writer: bool) -> None:
    """On SQLite the writer's batches run their statements on sqlite3 directly; what they store
    and set off must be what the ORM path does: rows that read back the same, a cool-down in
    force refusing, webhook deliveries for ``message.created``, the assistant's answer job for
    a ticket in assistant mode."""
    alice, bob, carol = await _customers(app, "Alice", "Bob", "Carol")
    a, b, c = await _ticket(app, alice), await _ticket(app, bob), await _ticket(app, carol)
    async with app.state.db.transaction() as session:
        session.add(WebhookEndpoint(url="https://hooks.example/k", secret="s",
                                    events=["message.created"]))
        # Chat tickets start in assistant mode: only Bob's stays there.
        ticket_b = await session.scalar(select(Ticket).where(Ticket.number == b))
        assert ticket_b is not None
        assert carol.customer is not None
        await session.execute(delete(AssistantConversation).where(
            AssistantConversation.ticket_id != ticket_b.id))
        session.add(CoolDown(customer_id=carol.customer.id, reason="test",
                             until=clock.now() + timedelta(minutes=5)))
    async with batch_session(app.state.db, writer) as session:
        raw = await writer_sqlite(session)
        assert (raw is not None) == (writer and app.state.db.url.startswith("sqlite"))
        outcomes = await append_chat_batch(session, [
            ChatSend(alice, a, "where is my deposit", "w-1"),
            ChatSend(bob, b, "还没到账", "w-2"),
            ChatSend(carol, c, "hello?", "w-3")])
    assert isinstance(outcomes[2], CoolingDown)
    sent = [o.message for o in outcomes[:2] if isinstance(o, Appended)]
    assert len(sent) == 2
    async with app.state.db.transaction() as session:
        stored = {m.client_msg_id: m for m in await session.scalars(
            select(Message).where(Message.client_msg_id.in_(["w-1", "w-2", "w-3"])))}
        deliveries = list(await session.scalars(
            select(WebhookDelivery.event).where(WebhookDelivery.event == "message.created")))
        jobs = list(await session.scalars(select(Job.dedupe_key).where(
            Job.name == RESPOND_JOB)))
        ticket_a = await session.scalar(select(Ticket).where(Ticket.number == a))
    assert sorted(stored) == ["w-1", "w-2"]
    for message in sent:
        row = stored[message.client_msg_id]
        assert (row.id, row.ticket_id, row.seq, row.public_seq, row.author_kind,
                row.author_customer_id, row.author_agent_id, row.body, row.internal,
                row.language, row.created_at) == (
            message.id, message.ticket_id, message.seq, message.public_seq,
            message.author_kind, message.author_customer_id, message.author_agent_id,
            message.body, message.internal, message.language, message.created_at)
    assert ticket_a is not None
    assert ticket_a.updated_at == ticket_a.last_customer_message_at == sent[0].created_at
    assert len(deliveries) == 2
    # Bob's ticket is the assistant's (the other jobs answer the tickets' first messages)
    assert [k for k in jobs if any(str(m.id) in str(k) for m in sent)] == [
        f"{RESPOND_JOB}:{sent[1].id}"]


async def test_tickets_read_on_the_writer_connection_are_what_the_orm_loads(
        app: FastAPI) -> None:
    """The writer's batch reads its tickets on sqlite3 directly; every column, each filled,
    must come back as the ORM loads it (a column added later without a reading fails here)."""
    if not app.state.db.url.startswith("sqlite"):  # PostgreSQL locks them through the ORM
        async with batch_session(app.state.db, True) as session:
            assert await writer_sqlite(session) is None
        return
    world = await make_world(app)
    (alice,) = await _customers(app, "Alice")
    number = await _ticket(app, alice)
    at = clock.now()
    async with app.state.db.transaction() as session:
        ticket = await session.scalar(select(Ticket).where(Ticket.number == number))
        assert ticket is not None
        ticket.team_id, ticket.assignee_id = world.en_team.id, world.agent.id
        ticket.status, ticket.pending_reason = "pending", "customer"
        ticket.escalation_reason = "wallet drained"
        ticket.escalated_at = ticket.first_response_at = ticket.last_customer_message_at = at
        ticket.resolved_at, ticket.closed_at = at + timedelta(seconds=1), at + timedelta(hours=1)
        ticket.rating, ticket.rating_comment, ticket.rated_at = 4, "quick", at
        ticket.merged_into_id = ticket.id
    columns = [c.key for c in Ticket.__mapper__.column_attrs]
    async with app.state.db.transaction() as session:
        loaded = await session.scalar(select(Ticket).where(Ticket.number == number))
        assert loaded is not None
        expected = {key: getattr(loaded, key) for key in columns}
    assert None not in expected.values()
    async with batch_session(app.state.db, True) as session:
        raw = await writer_sqlite(session)
        assert raw is not None
        (read,) = _tickets_raw(raw, [number])
    assert {key: getattr(read, key) for key in columns} == expected
    assert all(type(getattr(read, key)) is type(value) for key, value in expected.items())


async def test_may_read_agrees_with_ticket_scope(app: FastAPI) -> None:
    world = await make_world(app)
    alice, bob = await _customers(app, "Alice", "Bob")
    numbers = [await _ticket(app, alice), await _ticket(app, bob)]
    async with app.state.db.transaction() as session:
        zh = await session.scalar(select(Ticket).where(Ticket.number == numbers[1]))
        assert zh is not None
        zh.team_id = world.zh_team.id
        zh.assignee_id = world.agent.id  # another team's ticket, assigned to the en agent
    actors = [alice, bob, Actor(kind="anonymous"),
              Actor(kind="agent", agent=world.agent, team_ids=frozenset({world.en_team.id})),
              Actor(kind="agent", agent=world.other_agent,
                    team_ids=frozenset({world.zh_team.id})),
              Actor(kind="agent", agent=world.supervisor, team_ids=frozenset()),
              Actor(kind="agent", agent=world.admin)]
    async with app.state.db.transaction() as session:
        rows = list(await session.scalars(select(Ticket)))
        for actor in actors:
            allowed = {t.id for t in await session.scalars(tickets.readable_by(actor))}
            assert {t.id for t in rows if tickets.may_read(actor, t)} == allowed


async def test_inline_sqlite_waits_for_the_lock_without_blocking_the_loop(
        tmp_path: Path) -> None:
    path = tmp_path / "lock.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        async with db.write_engine.connect() as connection:
            driver = (await connection.get_raw_connection()).driver_connection
            assert isinstance(driver, InlineSQLite)
            await connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
            await connection.commit()
            holder = sqlite3.connect(path, isolation_level=None)
            holder.execute("BEGIN IMMEDIATE")
            ticks = 0

            async def tick() -> None:
                nonlocal ticks
                while True:
                    await asyncio.sleep(0.005)
                    ticks += 1

            ticker = asyncio.create_task(tick())
            waiting = asyncio.create_task(driver.begin_immediate())
            await asyncio.sleep(0.2)
            assert not waiting.done()
            assert ticks >= 3  # the loop kept running meanwhile
            holder.execute("COMMIT")
            started = time.monotonic()
            await asyncio.wait_for(waiting, 2)
            assert time.monotonic() - started < 0.5
            ticker.cancel()
            holder.close()
            driver._conn.execute("INSERT INTO t VALUES (1)")
            driver._conn.execute("COMMIT")
    finally:
        await db.dispose()
    check = sqlite3.connect(path)
    assert check.execute("SELECT x FROM t").fetchall() == [(1,)]
    check.close()


@pytest.mark.parametrize("failing", [1, 3], ids=["rerun-without-it", "then-savepoints"])
async def test_a_failing_job_leaves_the_other_sends_of_its_batch_on_the_batched_path(
        app: FastAPI, failing: int) -> None:
    """A job that fails rolls its batch back. The batch runs again without it, so the plain
    sends beside it are appended by the batch again instead of each running its own ``work``
    (the ORM path, one to two orders of magnitude dearer); with more failing jobs than
    ``MAX_LEFT_OUT``, every job runs in its own savepoint. Either way each send gets its
    message and each failing job its error."""
    alice, bob = await _customers(app, "Alice", "Bob")
    numbers = {alice: await _ticket(app, alice), bob: await _ticket(app, bob)}
    worked: list[str] = []

    def send(actor: Actor, body: str) -> tuple[Work, ChatSend]:
        async def work(session: AsyncSession) -> tuple[Ticket, Message]:
            worked.append(body)
            ticket = await tickets.get_readable(session, actor, numbers[actor])
            return ticket, await replies.reply(
                session, actor, app.state.settings, ticket,
                ticket_schemas.ReplyCreate(body=body, client_msg_id=body))
        return work, ChatSend(actor, numbers[actor], body, body)

    async def fails(session: AsyncSession) -> None:
        worked.append("fails")
        raise Conflict("this ticket was resolved too long ago; open a new one",
                       code="reopen_window_passed")

    jobs = [send(alice, "a1"), send(bob, "b1"), send(alice, "a2"), send(bob, "b2")]
    submitted = [app.state.writer.submit(work, key=chat.number, chat=chat)
                 for work, chat in jobs]
    submitted[2:2] = [app.state.writer.submit(fails) for _ in range(failing)]
    results = await asyncio.gather(*submitted, return_exceptions=True)
    errors = [r for r in results if isinstance(r, Exception)]
    assert [getattr(e, "code", None) for e in errors] == ["reopen_window_passed"] * failing
    sent = [r for r in results if not isinstance(r, Exception)]
    bodies = [(r.message.body if isinstance(r, Appended) else r[1].body) for r in sent]
    assert bodies == ["a1", "b1", "a2", "b2"]
    if failing <= MAX_LEFT_OUT:
        assert all(isinstance(r, Appended) for r in sent)
        assert sorted(w for w in worked if w != "fails") == []  # no send ran its own work
        assert worked.count("fails") == failing
    else:
        assert sorted(w for w in worked if w != "fails") == ["a1", "a2", "b1", "b2"]
    async with app.state.db.transaction() as session:
        stored = [(n, s, b) for n, s, b in (await session.execute(
            select(Ticket.number, Message.seq, Message.body).join(Ticket)
            .where(Message.seq > 1).order_by(Ticket.number, Message.seq))).all()]
    assert sorted(stored) == sorted([(numbers[alice], 2, "a1"), (numbers[alice], 3, "a2"),
                                     (numbers[bob], 2, "b1"), (numbers[bob], 3, "b2")])
