"""👍/👎 on the assistant's messages, on SQLite and PostgreSQL: the vote is stored once, a 👎 on
the latest answer runs the pipeline's feedback as a job (the second unhelpful answer hands off to
the agents), only the customer of the conversation may vote, on the assistant's messages, and the
``message`` frames say which of them the widget offers 👍/👎 on (``rateable``: answers only).

The service tests run the jobs with ``run_pending``; the websocket tests run a real server whose
job runner answers with the test assistant of ``tests.assistant.test_pipeline``."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import event, select

import kefu.app
from kefu.accounts.actor import Actor
from kefu.accounts.models import Customer
from kefu.assistant.models import AssistantReply
from kefu.assistant.pipeline import Assistant
from kefu.assistant.service import (
    FEEDBACK_JOB,
    AssistantHost,
    answer_feedback,
    record_feedback,
    register_jobs,
)
from kefu.config import Settings
from kefu.core.errors import KefuError
from kefu.db import Database
from kefu.jobs.models import Job
from kefu.jobs.runner import DatabaseJobRunner, JobRegistry
from kefu.kb.models import Article, ArticleTranslation, ArticleVote, Category
from kefu.tickets.events import tags_of
from kefu.tickets.messages import message_events_after
from kefu.tickets.models import Message, Ticket, TicketEvent
from tests.assistant.test_pipeline import make_assistant
from tests.assistant.test_service import conversation, customer_writes, open_chat, timeline
from tests.factories import api_token, bearer, customer_token, make_agent, make_team
from tests.realtime.live import Client, LiveServer, factory_app, live_server

QUESTION = "what are the trading fees for spot"


def assistant_jobs(registry: JobRegistry, _app_host: AssistantHost | None = None
                   ) -> AssistantHost:
    """``register_jobs`` with the test assistant instead of the models under DATA_DIR (and
    instead of the app's host, where it stands in for ``kefu.app.register_assistant_jobs``)."""
    async def factory(_: Settings) -> Assistant:
        return make_assistant()

    return register_jobs(registry, AssistantHost(factory))


@pytest.fixture
async def runner(db: Database, settings: Settings) -> AsyncIterator[DatabaseJobRunner]:
    registry = JobRegistry()
    assistant_jobs(registry)
    job_runner = DatabaseJobRunner(db, registry, settings)
    yield job_runner
    await job_runner.stop()


async def vote(db: Database, ticket_id: uuid.UUID, seq: int, helpful: bool
               ) -> tuple[bool | None, bool]:
    """The ticket's customer votes; returns (the vote that stands, whether this one counted)."""
    async with db.transaction() as session:
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None
        customer = await session.get(Customer, ticket.customer_id)
        reply, recorded = await record_feedback(
            session, Actor(kind="customer", customer=customer), ticket=ticket, seq=seq,
            helpful=helpful)
        return reply.helpful, recorded


async def feedback_jobs(db: Database) -> list[Job]:
    async with db.transaction() as session:
        return list(await session.scalars(select(Job).where(Job.name == FEEDBACK_JOB)))


async def public(db: Database, ticket_id: uuid.UUID) -> list[Message]:
    return [m for m in await timeline(db, ticket_id) if not m.internal]


async def replay(db: Database, ticket_id: uuid.UUID, *, after: int = 0, public: bool = True
                 ) -> tuple[list[tuple[int, str, bool]], int]:
    """What a reconnecting client gets, as (seq, author kind, rateable), and how many
    statements that read ``assistant_replies`` took."""
    statements: list[str] = []

    def executed(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    async with db.transaction() as session:
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None
        event.listen(db.engine.sync_engine, "before_cursor_execute", executed)
        try:
            frames = await message_events_after(session, ticket, after=after, public=public)
        finally:
            event.remove(db.engine.sync_engine, "before_cursor_execute", executed)
    position = "public_seq" if public else "seq"
    return ([(f[position], f["author"]["kind"], f["rateable"]) for f in frames],
            sum("assistant_replies" in s for s in statements))


# ---------------------------------------------------------------- the service


async def test_two_thumbs_down_hand_off_as_unhelpful(
        db: Database, settings: Settings, runner: DatabaseJobRunner) -> None:
    ticket_id = await open_chat(db, settings, QUESTION)
    await runner.run_pending()
    first = (await public(db, ticket_id))[-1]
    assert (first.author_kind, first.public_seq) == ("assistant", 2)

    assert await vote(db, ticket_id, 2, False) == (False, True)
    assert len(await feedback_jobs(db)) == 1
    assert await runner.run_pending() == 1
    retry = (await public(db, ticket_id))[-1]
    assert (retry.author_kind, retry.public_seq) == ("assistant", 3)
    assert retry.body != first.body
    row = await conversation(db, ticket_id)
    assert (row.mode, row.unhelpful_count) == ("active", 1)

    assert await vote(db, ticket_id, 3, False) == (False, True)
    assert await runner.run_pending() == 1
    messages = await timeline(db, ticket_id)
    assert [(m.author_kind, m.internal) for m in messages[-2:]] == [
        ("assistant", False), ("assistant", True)]
    assert "passed the conversation to a member of our support team" in messages[-2].body
    assert messages[-1].body.startswith("[Assistant hand-off]")
    row = await conversation(db, ticket_id)
    assert (row.mode, row.handoff_reason) == ("handed_off", "unhelpful")
    async with db.transaction() as session:
        tags = await tags_of(session, ticket_id)
        events = list(await session.scalars(select(TicketEvent).where(
            TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.at)))
        kinds = list(await session.scalars(select(AssistantReply.kind).join(
            Message, Message.id == AssistantReply.message_id).where(
            AssistantReply.ticket_id == ticket_id).order_by(Message.seq)))
    assert "handoff:unhelpful" in tags
    votes = [e for e in events if e.kind == "assistant_feedback"]
    assert [(e.actor_kind, e.data["seq"], e.data["helpful"]) for e in votes] == [
        ("customer", 2, False), ("customer", 3, False)]
    assert any(e.kind == "assistant_handoff" and e.data["reason"] == "unhelpful" for e in events)
    assert kinds == ["answer", "answer", "handoff"]
    # Handed off: a 👎 on the hand-off message is stored, and nothing more happens.
    assert await vote(db, ticket_id, 4, False) == (False, True)
    assert await runner.run_pending() == 0
    assert len(await timeline(db, ticket_id)) == len(messages)


async def test_thumbs_up_is_stored_and_the_first_vote_stands(
        db: Database, settings: Settings, runner: DatabaseJobRunner) -> None:
    ticket_id = await open_chat(db, settings, QUESTION)
    await runner.run_pending()
    assert await vote(db, ticket_id, 2, True) == (True, True)
    assert await vote(db, ticket_id, 2, False) == (True, False)  # ignored, not replaced
    assert await feedback_jobs(db) == []
    assert len(await timeline(db, ticket_id)) == 2
    row = await conversation(db, ticket_id)
    assert (row.mode, row.unhelpful_count) == ("active", 0)
    async with db.transaction() as session:
        reply = await session.scalar(select(AssistantReply).where(
            AssistantReply.ticket_id == ticket_id))
        events = list(await session.scalars(select(TicketEvent.kind).where(
            TicketEvent.ticket_id == ticket_id, TicketEvent.kind == "assistant_feedback")))
    assert reply is not None
    assert (reply.helpful, reply.kind, reply.article_slug) == (True, "answer", "trading-fees")
    assert reply.voted_at is not None
    assert events == ["assistant_feedback"]


async def test_thumbs_down_on_an_earlier_answer_is_only_stored(
        db: Database, settings: Settings, runner: DatabaseJobRunner) -> None:
    ticket_id = await open_chat(db, settings, QUESTION)
    await runner.run_pending()
    await customer_writes(db, settings, ticket_id, "how much is the withdrawal fee for USDT")
    await runner.run_pending()
    assert [m.author_kind for m in await public(db, ticket_id)] == [
        "customer", "assistant", "customer", "assistant"]
    assert await vote(db, ticket_id, 2, False) == (False, True)
    assert await feedback_jobs(db) == []
    row = await conversation(db, ticket_id)
    assert (row.mode, row.unhelpful_count) == ("active", 0)


async def test_a_thumbs_down_job_after_a_later_answer_does_nothing(
        db: Database, settings: Settings, runner: DatabaseJobRunner) -> None:
    """The job checks again when it runs: an answer that is no longer the latest (the customer
    wrote meanwhile) gets no second try."""
    ticket_id = await open_chat(db, settings, QUESTION)
    await runner.run_pending()
    first = (await public(db, ticket_id))[-1]
    await customer_writes(db, settings, ticket_id, "how much is the withdrawal fee for USDT")
    await runner.run_pending()
    async with db.transaction() as session:
        turn = await answer_feedback(session, make_assistant(), ticket_id=ticket_id,
                                     message_id=first.id)
    assert turn is None
    assert len(await public(db, ticket_id)) == 4
    assert (await conversation(db, ticket_id)).unhelpful_count == 0


async def test_only_the_assistants_messages_can_be_rated(
        db: Database, settings: Settings, runner: DatabaseJobRunner) -> None:
    ticket_id = await open_chat(db, settings, QUESTION)
    await runner.run_pending()
    with pytest.raises(KefuError) as own:
        await vote(db, ticket_id, 1, False)
    assert (own.value.code, own.value.status) == ("not_an_answer", 409)
    with pytest.raises(KefuError) as missing:
        await vote(db, ticket_id, 99, False)
    assert (missing.value.code, missing.value.status) == ("not_found", 404)
    assert await feedback_jobs(db) == []


async def test_an_answers_vote_counts_for_the_article_it_quoted(
        db: Database, settings: Settings, runner: DatabaseJobRunner) -> None:
    async with db.transaction() as session:
        category = Category(slug="trading", names={"en": "Trading"})
        session.add(category)
        await session.flush()
        article = Article(slug="trading-fees", category_id=category.id, status="published")
        session.add(article)
        await session.flush()
        session.add(ArticleTranslation(  # votes go to a language the article is published in
            article_id=article.id, lang="en", status="published", title="Trading fees",
            summary="", body_md="Maker and taker fees.", body_html="<p>Maker and taker fees.</p>"))
    ticket_id = await open_chat(db, settings, QUESTION)
    await runner.run_pending()
    await vote(db, ticket_id, 2, False)
    async with db.transaction() as session:
        article = await session.scalar(select(Article).where(Article.slug == "trading-fees"))
        votes = list(await session.scalars(select(ArticleVote)))
        customer_id = await session.scalar(select(Ticket.customer_id).where(
            Ticket.id == ticket_id))
    assert article is not None
    assert (article.unhelpful_count, article.helpful_count) == (1, 0)
    assert [(v.helpful, v.voter, v.lang) for v in votes] == [
        (False, f"customer:{customer_id}", "en")]


async def test_replayed_frames_offer_votes_on_answers_only(
        db: Database, settings: Settings, runner: DatabaseJobRunner) -> None:
    """``rateable`` on replay (``join``/``subscribe`` with ``since``): the assistant's answers,
    not its hand-off message, internal note or a guided flow's question; one query for a page
    with the assistant's messages, none for a page without."""
    ticket_id = await open_chat(db, settings, QUESTION, external_id="cust-fees")
    await runner.run_pending()
    for seq in (2, 3):  # two 👎: another answer, then the hand-off
        await vote(db, ticket_id, seq, False)
        await runner.run_pending()
    assert await replay(db, ticket_id) == ([
        (1, "customer", False), (2, "assistant", True), (3, "assistant", True),
        (4, "assistant", False)], 1)
    assert await replay(db, ticket_id, after=2) == ([
        (3, "assistant", True), (4, "assistant", False)], 1)
    agents, _ = await replay(db, ticket_id, public=False)
    assert agents[-2:] == [(4, "assistant", False), (5, "assistant", False)]  # + the note

    flow_id = await open_chat(db, settings, "我充值的USDT还没到账")
    await runner.run_pending()
    async with db.transaction() as session:
        kinds = list(await session.scalars(select(AssistantReply.kind).where(
            AssistantReply.ticket_id == flow_id)))
    assert kinds == ["ask"]
    assert await replay(db, flow_id) == ([(1, "customer", False), (2, "assistant", False)], 1)

    quiet_id = await open_chat(db, settings.model_copy(update={"assistant_enabled": False}),
                               QUESTION, external_id="cust-quiet")
    assert await replay(db, quiet_id) == ([(1, "customer", False)], 0)


# ---------------------------------------------------------------- over the websocket


@pytest.fixture
def live(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveServer]:
    """A real server that runs its jobs, with the test assistant."""
    monkeypatch.setattr(kefu.app, "register_assistant_jobs", assistant_jobs)
    with live_server(settings.model_copy(update={
            "jobs_enabled": True, "jobs_poll_interval_s": 0.1,
            "customer_jwt_leeway_s": 0})) as server:
        yield server


@pytest.fixture
async def setup_app(live: LiveServer) -> AsyncIterator[Any]:
    async with factory_app(live) as app:
        yield app


async def connect(live: LiveServer, path: str, token: str) -> Client:
    client = await Client.connect(f"{live.ws_base}{path}", {"token": token})
    await client.wait_type("welcome")
    return client


async def customer(live: LiveServer, external_id: str = "cust-a") -> Client:
    return await connect(live, "/ws/chat", customer_token(live.settings, external_id,
                                                          name="Alice", lang="en"))


def from_assistant(seq: int) -> Any:
    return lambda f: (f.get("type") == "message" and f["seq"] == seq
                      and f["author"]["kind"] == "assistant")


def error(code: str) -> Any:
    return lambda f: f.get("type") == "error" and f["code"] == code


async def an_answered_question(live: LiveServer, setup_app: Any) -> tuple[Any, ...]:
    """An English team with an agent (and their API token), and Alice, whose question the
    assistant has answered: (team, agent token, Alice's client, ticket number, the answer)."""
    team = await make_team(setup_app, "English", "en")
    agent_token = await api_token(setup_app, await make_agent(setup_app, "agent@kefu.test",
                                                              teams=[team]))
    alice = await customer(live)
    await alice.send({"type": "send", "client_msg_id": "q1", "body": QUESTION})
    number = (await alice.wait_type("ack", client_msg_id="q1"))["ticket"]
    answer = await alice.wait_for(from_assistant(2), timeout=30)
    return team, agent_token, alice, number, answer


async def test_thumbs_down_twice_over_the_socket_reaches_the_agents(
        live: LiveServer, setup_app: Any) -> None:
    team, agent_token, alice, number, answer = await an_answered_question(live, setup_app)

    await alice.send({"type": "feedback", "ticket": number, "seq": 2, "helpful": False})
    recorded = await alice.wait_type("feedback_recorded", seq=2)
    assert recorded == {"type": "feedback_recorded", "ticket": number, "seq": 2,
                        "helpful": False, "duplicate": False}
    retry = await alice.wait_for(from_assistant(3), timeout=30)
    assert retry["body"] != answer["body"]

    await alice.send({"type": "feedback", "ticket": number, "seq": 3, "helpful": False})
    handoff = await alice.wait_for(from_assistant(4), timeout=30)
    assert "support team" in handoff["body"]
    # Live frames: 👍/👎 belong under the answers, not under the hand-off or her own message.
    assert [(f["seq"], f["rateable"]) for f in alice.of_type("message")] == [
        (1, False), (2, True), (3, True), (4, False)]

    # Resuming (join with since) and a second tab (since 0) get the same flags.
    tab = await customer(live)
    await tab.send({"type": "join", "ticket": number, "since": 2})
    await tab.wait_for(from_assistant(4))
    assert [(f["seq"], f["rateable"]) for f in tab.of_type("message")] == [(3, True), (4, False)]
    await tab.send({"type": "join", "ticket": number, "since": 0})
    await tab.wait_for(lambda f: len(tab.of_type("message")) == 6)
    assert [(f["seq"], f["rateable"]) for f in tab.of_type("message")[2:]] == [
        (1, False), (2, True), (3, True), (4, False)]
    await tab.close()

    bob = await connect(live, "/ws/agent", agent_token)
    await bob.send({"type": "subscribe", "ticket": number, "since": 0})
    note = await bob.wait_for(lambda f: f.get("type") == "message" and f["internal"])
    assert note["author"]["kind"] == "assistant"
    assert note["body"].startswith("[Assistant hand-off]")
    assert note["rateable"] is False
    async with httpx.AsyncClient(base_url=live.base, timeout=30) as http:
        ticket = (await http.get(f"/api/v1/tickets/{number}",
                                 headers=bearer(agent_token))).json()
    assert "handoff:unhelpful" in ticket["tags"]
    assert (ticket["status"], ticket["team_id"]) == ("new", str(team.id))
    await alice.close()
    await bob.close()


async def test_who_may_vote_on_what_over_the_socket(live: LiveServer, setup_app: Any) -> None:
    team, agent_token, alice, number, _ = await an_answered_question(live, setup_app)

    # 👍 is stored and changes nothing; a second vote gets the first one back.
    await alice.send({"type": "feedback", "ticket": number, "seq": 2, "helpful": True})
    assert (await alice.wait_type("feedback_recorded", seq=2))["duplicate"] is False
    await alice.send({"type": "feedback", "ticket": number, "seq": 2, "helpful": False})
    again = await alice.wait_for(lambda f: f.get("type") == "feedback_recorded"
                                 and f["duplicate"])
    assert again["helpful"] is True

    # Bad frames: the customer's own message, a seq that does not exist, not a boolean.
    await alice.send({"type": "feedback", "ticket": number, "seq": 1, "helpful": False})
    assert "assistant" in (await alice.wait_for(error("not_an_answer")))["message"]
    await alice.send({"type": "feedback", "ticket": number, "seq": 99, "helpful": False})
    await alice.wait_for(error("not_found"))
    await alice.send({"type": "feedback", "ticket": number, "seq": 2, "helpful": "no"})
    assert "helpful" in (await alice.wait_for(error("invalid_frame")))["message"]

    # Another customer, and an agent, cannot vote on Alice's conversation.
    mallory = await customer(live, "cust-m")
    await mallory.send({"type": "feedback", "ticket": number, "seq": 2, "helpful": False})
    await mallory.wait_for(error("not_found"))
    bob = await connect(live, "/ws/agent", agent_token)
    await bob.send({"type": "feedback", "ticket": number, "seq": 2, "helpful": False})
    assert "customers" in (await bob.wait_for(error("invalid_frame")))["message"]

    await asyncio.sleep(0.5)  # time for a job that should not exist
    assert [f["seq"] for f in alice.of_type("message")] == [1, 2]
    async with setup_app.state.db.transaction() as session:
        reply = await session.scalar(select(AssistantReply))
        jobs = list(await session.scalars(select(Job.id).where(Job.name == FEEDBACK_JOB)))
    assert reply is not None
    assert reply.helpful is True
    assert jobs == []
    for client in (alice, mallory, bob):
        await client.close()
