"""The assistant in the product, on SQLite and PostgreSQL: a chat ticket enters assistant mode
with its first message, the durable job answers as the assistant, and a hand-off leaves the
summary note, the priority and the tags for the agents."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from kefu.accounts.actor import Actor
from kefu.accounts.models import Customer
from kefu.assistant.models import AssistantConversation
from kefu.assistant.pipeline import Assistant
from kefu.assistant.service import (
    RESPOND_JOB,
    AssistantHost,
    after_customer_message,
    in_assistant_mode,
    register_jobs,
)
from kefu.config import Settings
from kefu.db import Database
from kefu.guard.outbound import check_outbound
from kefu.jobs.models import Job
from kefu.jobs.runner import DatabaseJobRunner, JobRegistry
from kefu.tickets.creation import create_ticket
from kefu.tickets.events import tags_of
from kefu.tickets.messages import MessageAuthor, add_message
from kefu.tickets.models import Message, Ticket, TicketEvent
from tests.assistant.test_pipeline import make_assistant


@pytest.fixture
async def runner(db: Database, settings: Settings) -> AsyncIterator[DatabaseJobRunner]:
    async def factory(_: Settings) -> Assistant:
        return make_assistant()

    registry = JobRegistry()
    register_jobs(registry, AssistantHost(factory))
    job_runner = DatabaseJobRunner(db, registry, settings)
    yield job_runner
    await job_runner.stop()


async def open_chat(db: Database, settings: Settings, body: str, *,
                    external_id: str = "flow-2", channel: str = "chat") -> uuid.UUID:
    """A customer opens a conversation; the chat write path calls the assistant hook."""
    async with db.transaction() as session:
        customer = Customer(external_id=external_id, display_name="Alice", language="en")
        session.add(customer)
        await session.flush()
        opened = await create_ticket(session, Actor(kind="customer", customer=customer),
                                     customer=customer, subject=body[:60], body=body,
                                     channel=channel)
        await after_customer_message(session, opened.ticket, opened.message, settings=settings)
        return opened.ticket.id


async def customer_writes(db: Database, settings: Settings, ticket_id: uuid.UUID,
                          body: str) -> Job | None:
    async with db.transaction() as session:
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None
        message, _ = await add_message(session, ticket, MessageAuthor(
            "customer", customer_id=ticket.customer_id), body=body)
        return await after_customer_message(session, ticket, message, settings=settings)


async def timeline(db: Database, ticket_id: uuid.UUID) -> list[Message]:
    async with db.transaction() as session:
        return list(await session.scalars(
            select(Message).where(Message.ticket_id == ticket_id).order_by(Message.seq)))


async def conversation(db: Database, ticket_id: uuid.UUID) -> AssistantConversation:
    async with db.transaction() as session:
        row = await session.scalar(select(AssistantConversation).where(
            AssistantConversation.ticket_id == ticket_id))
        assert row is not None
        return row


async def test_chat_question_is_answered_by_the_assistant(
        db: Database, settings: Settings, runner: DatabaseJobRunner) -> None:
    ticket_id = await open_chat(db, settings, "how much is the withdrawal fee for USDT")
    async with db.transaction() as session:
        jobs = list(await session.scalars(select(Job).where(Job.name == RESPOND_JOB)))
        active = await session.scalar(select(Ticket.id).where(in_assistant_mode()))
    assert len(jobs) == 1
    assert active == ticket_id
    assert await runner.run_pending() == 1
    messages = await timeline(db, ticket_id)
    assert [(m.author_kind, m.internal) for m in messages] == [
        ("customer", False), ("assistant", False)]
    assert "/help/en/articles/withdrawal-fees" in messages[1].body
    assert "automated assistant" in messages[1].body
    row = await conversation(db, ticket_id)
    assert (row.mode, row.turns) == ("active", 1)
    assert row.state["shown"]


async def test_sensitive_case_is_handed_off_with_summary_priority_and_tags(
        db: Database, settings: Settings, runner: DatabaseJobRunner) -> None:
    ticket_id = await open_chat(db, settings,
                                "someone hacked my account and withdrew 500 USDT on TRC20")
    await runner.run_pending()
    messages = await timeline(db, ticket_id)
    assert [(m.author_kind, m.internal) for m in messages] == [
        ("customer", False), ("assistant", False), ("assistant", True)]
    note = messages[2].body
    assert note.startswith("[Assistant hand-off]")
    assert "amount 500 USDT" in note
    assert "network TRC20" in note
    async with db.transaction() as session:
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None
        assert ticket.priority == "urgent"
        assert ticket.status == "new"  # in the agents' queue
        tags = await tags_of(session, ticket_id)
        kinds = list(await session.scalars(select(TicketEvent.kind).where(
            TicketEvent.ticket_id == ticket_id)))
        assert await session.scalar(select(Ticket.id).where(in_assistant_mode())) is None
    assert "assistant-handoff" in tags
    assert "handoff:sensitive" in tags
    assert "category:security" in tags
    assert any(tag.startswith("intent:") for tag in tags)
    assert "assistant_handoff" in kinds
    row = await conversation(db, ticket_id)
    assert (row.mode, row.handoff_reason) == ("handed_off", "sensitive")
    assert row.handed_off_at is not None
    assert await customer_writes(db, settings, ticket_id, "hello? anyone?") is None


async def test_guided_flow_state_survives_between_jobs(
        db: Database, settings: Settings, runner: DatabaseJobRunner) -> None:
    ticket_id = await open_chat(db, settings, "我充值的USDT还没到账")
    await runner.run_pending()
    assert (await conversation(db, ticket_id)).state["flow"]["step"] == "choose"
    assert await customer_writes(db, settings, ticket_id, "1") is not None
    await runner.run_pending()
    messages = await timeline(db, ticket_id)
    assert [m.author_kind for m in messages] == ["customer", "assistant", "customer",
                                                 "assistant"]
    assert "13/20 个确认" in messages[3].body
    row = await conversation(db, ticket_id)
    assert (row.mode, row.turns, row.state["flow"]) == ("active", 2, None)


async def test_agent_reply_ends_assistant_mode(
        db: Database, settings: Settings, runner: DatabaseJobRunner) -> None:
    ticket_id = await open_chat(db, settings, "how much is the withdrawal fee for USDT")
    async with db.transaction() as session:
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None
        await add_message(session, ticket, MessageAuthor("agent"), body="Hi, Lina here.")
    await runner.run_pending()
    assert [m.author_kind for m in await timeline(db, ticket_id)] == ["customer", "agent"]
    row = await conversation(db, ticket_id)
    assert (row.mode, row.handoff_reason) == ("handed_off", "agent_joined")


async def test_assistant_stays_out_of_other_channels_and_when_disabled(
        db: Database, settings: Settings) -> None:
    portal = await open_chat(db, settings, "withdrawal fee?", channel="portal",
                             external_id="cust-portal")
    off = await open_chat(db, settings.model_copy(update={"assistant_enabled": False}),
                          "withdrawal fee?", external_id="cust-off")
    async with db.transaction() as session:
        rows = list(await session.scalars(select(AssistantConversation.ticket_id)))
        jobs = list(await session.scalars(select(Job).where(Job.name == RESPOND_JOB)))
    assert portal not in rows
    assert off not in rows
    assert jobs == []


async def test_2fa_reset_sends_a_step_up_link_never_asks_for_a_code(
        db: Database, settings: Settings, runner: DatabaseJobRunner) -> None:
    ticket_id = await open_chat(db, settings, "I lost my google authenticator, how do I reset 2FA")
    await runner.run_pending()
    messages = await timeline(db, ticket_id)
    assert [m.author_kind for m in messages] == ["customer", "assistant"]
    answer = messages[1].body
    assert "/verify/identity/" in answer
    assert "Never type 2FA or SMS codes in this chat" in answer
    assert "asks_code" not in check_outbound(answer, allowed_domains=(), lang="en").codes
    async with db.transaction() as session:
        kinds = list(await session.scalars(select(TicketEvent.kind).where(
            TicketEvent.ticket_id == ticket_id)))
    assert "step_up_sent" in kinds
    assert (await conversation(db, ticket_id)).mode == "active"


async def test_broken_assistant_hands_the_customer_to_agents_at_once(
        db: Database, settings: Settings) -> None:
    async def factory(_: Settings) -> Assistant:
        raise FileNotFoundError("intent model missing")

    registry = JobRegistry()
    register_jobs(registry, AssistantHost(factory))
    job_runner = DatabaseJobRunner(db, registry, settings)
    try:
        ticket_id = await open_chat(db, settings, "how much is the withdrawal fee for USDT")
        assert await job_runner.run_pending() == 1
    finally:
        await job_runner.stop()
    messages = await timeline(db, ticket_id)
    assert [(m.author_kind, m.internal) for m in messages] == [
        ("customer", False), ("assistant", True)]
    assert "failed (FileNotFoundError)" in messages[1].body
    row = await conversation(db, ticket_id)
    assert (row.mode, row.handoff_reason) == ("handed_off", "assistant_error")
    async with db.transaction() as session:
        job = await session.scalar(select(Job).where(Job.name == RESPOND_JOB))
    assert job is not None
    assert job.status == "done"


async def test_switching_the_assistant_off_releases_open_conversations(
        db: Database, settings: Settings) -> None:
    ticket_id = await open_chat(db, settings, "how much is the withdrawal fee for USDT")
    off = settings.model_copy(update={"assistant_enabled": False})
    assert await customer_writes(db, off, ticket_id, "hello?") is None
    row = await conversation(db, ticket_id)
    assert (row.mode, row.handoff_reason) == ("handed_off", "assistant_disabled")
