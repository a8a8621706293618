"""The assistant in the product: which tickets it answers, the durable job that answers them,
and what a hand-off does to the ticket (docs/assistant.md).

A chat ticket enters assistant mode when its first customer message arrives and
``KEFU_ASSISTANT_ENABLED`` is on: :func:`after_customer_message` (called by the chat write path)
creates its ``assistant_conversations`` row and enqueues the ``assistant.respond`` job in the
same transaction, so a rolled-back message is never answered. The job runs the pipeline and
posts the turn as a message from the assistant (author kind ``assistant``). On hand-off the row
leaves assistant mode for good, the agent gets the summary as an internal note, the ticket gets
the intent's priority and ``intent:``/``category:`` tags, and it waits in the agents' queue like
any new ticket. An agent who replies or takes the ticket ends assistant mode too.

Every message the assistant writes to the customer gets an ``assistant_replies`` row (the turn's
kind, intent and quoted article). Its answers (:data:`RATEABLE_KINDS`) go out with ``rateable``
in their ``message`` frame, so the widget offers 👍/👎 only there. The votes land on the row
through :func:`record_feedback`; a 👎 on the latest answer enqueues ``assistant.feedback``,
which runs ``Assistant.feedback`` like ``assistant.respond`` runs ``Assistant.respond``.
"""

from __future__ import annotations

import contextlib
import sqlite3
import uuid
from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import ColumnElement, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts.actor import ANONYMOUS, Actor
from kefu.accounts.models import Customer, Team
from kefu.assistant.answer import kb_language
from kefu.assistant.handoff import handoff_priority
from kefu.assistant.llm import LLMClient
from kefu.assistant.models import AssistantConversation, AssistantReply
from kefu.assistant.pipeline import Assistant, AssistantCustomer, ConversationState, Turn
from kefu.config import Settings
from kefu.core import clock
from kefu.core.errors import Conflict, InvalidInput, NotFound
from kefu.core.logging import get_logger
from kefu.db import savepoint, sqlite_value, writer_sqlite
from kefu.exchange.base import ExchangeAdapter
from kefu.exchange.service import build_exchange_adapter
from kefu.jobs.models import Job
from kefu.jobs.runner import JobContext, JobRegistry, enqueue
from kefu.kb import service as kb
from kefu.kb.indexing import index_dir
from kefu.kb.status import current_status
from kefu.search.service import get_search_service
from kefu.tickets import schemas as ticket_schemas
from kefu.tickets.creation import default_team
from kefu.tickets.events import record_event
from kefu.tickets.messages import MessageAuthor, MessageFields, add_message
from kefu.tickets.models import Message, Ticket
from kefu.tickets.workflow import change_tags, update_fields
from kefu.trust.stepup import create_step_up_link

log = get_logger("kefu.assistant")

RESPOND_JOB = "assistant.respond"
FEEDBACK_JOB = "assistant.feedback"
ASSISTANT_CHANNELS = ("chat",)
ASSISTANT = MessageAuthor("assistant")
# The turns a vote means something for: not a flow's question, small talk or the hand-off.
RATEABLE_KINDS = ("answer",)

AssistantFactory = Callable[[Settings], Awaitable[Assistant]]


def in_assistant_mode() -> ColumnElement[bool]:
    """SQL condition on ``Ticket``: the assistant is answering it (agents' queues may leave
    these tickets out until they are handed off)."""
    return exists().where(AssistantConversation.ticket_id == Ticket.id,
                          AssistantConversation.mode == "active")


async def after_customer_message(session: AsyncSession, ticket: Ticket, message: Message, *,
                                 settings: Settings) -> Job | None:
    """Call after storing a customer message. Puts a new chat ticket (status ``new``, no agent
    yet) in assistant mode and enqueues the answer of every customer message while it is;
    returns the job, or None when the assistant stays out (also while it is disabled)."""
    if message.author_kind != "customer" or message.internal:
        return None
    conversation = await session.scalar(
        select(AssistantConversation).where(AssistantConversation.ticket_id == ticket.id))
    if not settings.assistant_enabled:
        if conversation is not None and conversation.mode == "active":
            # Switched off mid-conversation: the ticket must not wait for an assistant.
            _leave(conversation, "assistant_disabled",
                   ConversationState.from_dict(conversation.state))
            await session.flush()
        return None
    if conversation is None:
        if (ticket.channel not in ASSISTANT_CHANNELS or ticket.status != "new"
                or ticket.assignee_id is not None or ticket.first_response_at is not None):
            return None
        conversation = AssistantConversation(ticket_id=ticket.id, updated_at=clock.now())
        session.add(conversation)
        await session.flush()
    if conversation.mode != "active":
        return None
    return await enqueue(session, RESPOND_JOB,
                         {"ticket_id": str(ticket.id), "message_id": str(message.id)},
                         dedupe_key=f"{RESPOND_JOB}:{message.id}")


async def after_customer_messages(
    session: AsyncSession, sent: Sequence[tuple[Ticket, MessageFields]], *, settings: Settings
) -> None:
    """:func:`after_customer_message` for the chat's batched path, with one query for the
    batch: the messages of tickets already in assistant mode get their answer jobs. (A ticket
    enters assistant mode with its first message, which never takes the batched path.)"""
    if not sent:
        return
    ticket_ids = {ticket.id for ticket, _ in sent}
    raw = await writer_sqlite(session)
    if raw is not None and not _any_active(raw, ticket_ids):
        return  # the chat writer's batch, most often: no ticket of it is the assistant's
    active = {c.ticket_id: c for c in await session.scalars(
        select(AssistantConversation).where(AssistantConversation.ticket_id.in_(ticket_ids),
                                            AssistantConversation.mode == "active"))}
    for ticket, message in sent:
        conversation = active.get(ticket.id)
        if conversation is None:
            continue
        if not settings.assistant_enabled:
            _leave(conversation, "assistant_disabled",
                   ConversationState.from_dict(conversation.state))
            continue
        await enqueue(session, RESPOND_JOB,
                      {"ticket_id": str(ticket.id), "message_id": str(message.id)},
                      dedupe_key=f"{RESPOND_JOB}:{message.id}")
    await session.flush()


def _any_active(raw: sqlite3.Connection, ticket_ids: Collection[uuid.UUID]) -> bool:
    return raw.execute(
        "SELECT 1 FROM assistant_conversations WHERE mode = 'active' AND ticket_id IN "
        f"({','.join('?' * len(ticket_ids))}) LIMIT 1",
        [sqlite_value(t) for t in ticket_ids]).fetchone() is not None


# ---------------------------------------------------------------- building the assistant


def official_domains(settings: Settings) -> tuple[str, ...]:
    """Domains the assistant may link to: the host of ``KEFU_PUBLIC_URL``, when set."""
    host = urlsplit(settings.public_url).hostname if settings.public_url else None
    return (host,) if host else ()


async def build_assistant(settings: Settings, *,
                          exchange: ExchangeAdapter | None = None) -> Assistant:
    """The process's assistant from settings: the intent model under ``DATA_DIR/models``
    (trained on first use), the help-center index, the exchange adapter (``exchange``, owned by
    the caller, else a new one from settings), the LLM if configured."""
    import anyio

    from kefu.assistant.intents import load_default

    model_dir = settings.data_dir / "models" / "intents"
    intents = await anyio.to_thread.run_sync(load_default, model_dir)
    domains = official_domains(settings)
    return Assistant(intents=intents, search=get_search_service(index_dir(settings)),
                     exchange=exchange if exchange is not None
                     else build_exchange_adapter(settings),
                     llm=LLMClient.from_settings(settings, domains),
                     min_confidence=settings.assistant_min_confidence,
                     official_domains=domains)


class AssistantHost:
    """Owns the process's one :class:`Assistant`, built on the first job (loading models is
    not free) and shared by all later ones. Lives in the job registry the app builds, so
    there is no module-level state; ``aclose`` releases its LLM client and, when
    ``owns_exchange``, its exchange adapter (see :meth:`sharing`)."""

    def __init__(self, factory: AssistantFactory = build_assistant, *,
                 owns_exchange: bool = True) -> None:
        self._factory = factory
        self._owns_exchange = owns_exchange
        self._assistant: Assistant | None = None

    @classmethod
    def sharing(cls, exchange: Callable[[], ExchangeAdapter]) -> AssistantHost:
        """A host whose assistant uses the adapter ``exchange()`` returns at the first job (the
        app's, built in its lifespan): one adapter per process, so the console and the
        assistant share one circuit breaker and a dead back office costs one timeout per
        cool-off, not one per user of it. Whoever built that adapter closes it; ``aclose``
        does not."""

        async def factory(settings: Settings) -> Assistant:
            return await build_assistant(settings, exchange=exchange())

        return cls(factory, owns_exchange=False)

    async def get(self, settings: Settings) -> Assistant:
        if self._assistant is None:
            self._assistant = await self._factory(settings)
        return self._assistant

    async def aclose(self) -> None:
        assistant, self._assistant = self._assistant, None
        if assistant is not None:
            if self._owns_exchange and assistant.exchange is not None:
                await assistant.exchange.aclose()
            if assistant.llm is not None:
                await assistant.llm.aclose()


def register_jobs(registry: JobRegistry, host: AssistantHost | None = None) -> AssistantHost:
    """Add ``assistant.respond`` and ``assistant.feedback`` to the app's registry; returns the
    host (close it at shutdown)."""
    host = host or AssistantHost()

    async def respond(session: AsyncSession, payload: dict[str, Any], ctx: JobContext) -> None:
        ticket_id, message_id = uuid.UUID(payload["ticket_id"]), uuid.UUID(payload["message_id"])
        await _run_guarded(session, host, ctx, ticket_id, lambda assistant: respond_to_message(
            session, assistant, ticket_id=ticket_id, message_id=message_id,
            public_url=ctx.settings.public_url or ""))

    async def feedback(session: AsyncSession, payload: dict[str, Any], ctx: JobContext) -> None:
        ticket_id, message_id = uuid.UUID(payload["ticket_id"]), uuid.UUID(payload["message_id"])
        await _run_guarded(session, host, ctx, ticket_id, lambda assistant: answer_feedback(
            session, assistant, ticket_id=ticket_id, message_id=message_id))

    registry.register(RESPOND_JOB)(respond)
    registry.register(FEEDBACK_JOB)(feedback)
    return host


async def _run_guarded(session: AsyncSession, host: AssistantHost, ctx: JobContext,
                       ticket_id: uuid.UUID,
                       step: Callable[[Assistant], Awaitable[Turn | None]]) -> None:
    """One assistant step in a savepoint. A broken assistant must not hold the customer: any
    failure hands the conversation to the agents at once instead of retrying."""
    try:
        assistant = await host.get(ctx.settings)
        async with savepoint(session):
            await step(assistant)
    except Exception as exc:  # noqa: BLE001 - see the docstring
        log.warning("assistant_failed", ticket_id=str(ticket_id), error=type(exc).__name__)
        await hand_off_after_failure(session, ticket_id, error=type(exc).__name__)


# ---------------------------------------------------------------- the job


async def respond_to_message(session: AsyncSession, assistant: Assistant, *,
                             ticket_id: uuid.UUID, message_id: uuid.UUID,
                             public_url: str = "") -> Turn | None:
    """Answer one stored customer message (the job's body; callable directly in tests).
    Returns the turn, or None when the assistant no longer speaks in this ticket.
    ``public_url`` prefixes the step-up links the assistant sends."""
    ticket = await session.get(Ticket, ticket_id)
    message = await session.get(Message, message_id)
    conversation = await session.scalar(
        select(AssistantConversation).where(AssistantConversation.ticket_id == ticket_id))
    if ticket is None or message is None or conversation is None:
        return None
    if not await _assistant_speaks(session, ticket, conversation):
        return None
    customer = await session.get(Customer, ticket.customer_id)
    state = ConversationState.from_dict(conversation.state)
    notices = await current_status(session, kb_language(state.language or ticket.language[:2]))

    async def step_up(_external_id: str, purpose: str) -> str:
        assert customer is not None
        link = await create_step_up_link(session, ticket=ticket, customer=customer,
                                         purpose=purpose, created_by=None, base_url=public_url)
        return link.url

    turn = await assistant.respond(state, message.body, customer=_assistant_customer(customer),
                                   notices=notices,
                                   step_up=step_up if customer is not None else None)
    await _post_turn(session, ticket, conversation, state, turn)
    return turn


async def answer_feedback(session: AsyncSession, assistant: Assistant, *,
                          ticket_id: uuid.UUID, message_id: uuid.UUID) -> Turn | None:
    """Run a 👎 on the assistant's answer ``message_id`` through ``Assistant.feedback`` and post
    the next turn (another answer, a request to rephrase, or the hand-off) like an answer to a
    message (the ``assistant.feedback`` job's body; callable directly in tests). None when the
    conversation moved on meanwhile: a later reply, a hand-off, an agent."""
    ticket = await session.get(Ticket, ticket_id)
    conversation = await session.scalar(
        select(AssistantConversation).where(AssistantConversation.ticket_id == ticket_id))
    if ticket is None or conversation is None:
        return None
    if not await _assistant_speaks(session, ticket, conversation):
        return None
    latest = await _latest_reply(session, ticket_id)
    if latest is None or latest.message_id != message_id:
        return None
    state = ConversationState.from_dict(conversation.state)
    customer = await session.get(Customer, ticket.customer_id)
    turn = await assistant.feedback(state, helpful=False, customer=_assistant_customer(customer))
    if turn is None:
        return None
    await _post_turn(session, ticket, conversation, state, turn)
    return turn


async def record_feedback(session: AsyncSession, actor: Actor, *, ticket: Ticket, seq: int,
                          helpful: bool) -> tuple[AssistantReply, bool]:
    """The customer's 👍/👎 on the assistant's message at ``seq`` (its place in the customer's
    view of ``ticket``, which the caller checked the actor may read). Returns the reply and
    whether this vote was recorded: the first vote stands and a later one is ignored, so a vote
    can never undo the turn a 👎 caused.

    A recorded vote is an ``assistant_feedback`` event; on an answer that quoted a help-center
    article it is also the customer's vote on that article (the help center's content gaps); a
    👎 on the latest answer while the assistant runs the conversation enqueues
    ``assistant.feedback`` (the next turn, or the hand-off after the second unhelpful one).
    NotFound for a seq the ticket lacks; Conflict ``not_an_answer`` for a message the assistant
    did not write."""
    message = await session.scalar(select(Message).where(
        Message.ticket_id == ticket.id, Message.public_seq == seq))
    if message is None:
        raise NotFound("message")
    reply = await session.scalar(
        select(AssistantReply).where(AssistantReply.message_id == message.id))
    if reply is None:
        raise Conflict("only the assistant's messages can be rated", code="not_an_answer")
    # Compare-and-set, so two tabs voting at once cannot both count (and both enqueue).
    result = await session.execute(
        update(AssistantReply).where(AssistantReply.id == reply.id,
                                     AssistantReply.helpful.is_(None))
        .values(helpful=helpful, voted_at=clock.now()).execution_options(
            synchronize_session=False))
    await session.refresh(reply)
    if getattr(result, "rowcount", 0) != 1:
        return reply, False
    await record_event(session, actor, ticket, "assistant_feedback", {
        "seq": seq, "helpful": helpful, "kind": reply.kind, "intent": reply.intent,
        "article": reply.article_slug})
    await _vote_on_article(session, actor, reply, helpful)
    if not helpful and reply.kind == "answer":
        conversation = await session.scalar(select(AssistantConversation).where(
            AssistantConversation.ticket_id == ticket.id, AssistantConversation.mode == "active"))
        latest = await _latest_reply(session, ticket.id)
        if conversation is not None and latest is not None and latest.id == reply.id:
            await enqueue(session, FEEDBACK_JOB,
                          {"ticket_id": str(ticket.id), "message_id": str(message.id)},
                          dedupe_key=f"{FEEDBACK_JOB}:{message.id}")
    await session.flush()
    return reply, True


async def rateable_messages(session: AsyncSession,
                            message_ids: Collection[uuid.UUID]) -> set[uuid.UUID]:
    """Which of these messages are the assistant's answers, in one query: the ``rateable`` of
    replayed ``message`` frames (``tickets.messages.message_events_after``)."""
    return set(await session.scalars(select(AssistantReply.message_id).where(
        AssistantReply.message_id.in_(message_ids), AssistantReply.kind.in_(RATEABLE_KINDS))))


async def _vote_on_article(session: AsyncSession, actor: Actor, reply: AssistantReply,
                           helpful: bool) -> None:
    """An answer's vote is the customer's vote on the article it quoted (one per customer and
    article, as on the help center), when that article is published here."""
    voter = kb.voter_of(actor, None)
    if reply.kind != "answer" or reply.article_slug is None or voter is None:
        return
    # An index built from files, or an article (or its language) unpublished since.
    with contextlib.suppress(NotFound, InvalidInput):
        article = await kb.readable_article(session, actor, reply.article_slug)
        await kb.vote(session, actor, article, voter=voter,
                      lang=reply.article_lang or "en", helpful=helpful, comment="")


async def _latest_reply(session: AsyncSession, ticket_id: uuid.UUID) -> AssistantReply | None:
    return await session.scalar(
        select(AssistantReply).join(Message, Message.id == AssistantReply.message_id)
        .where(AssistantReply.ticket_id == ticket_id).order_by(Message.seq.desc()).limit(1))


async def _post_turn(session: AsyncSession, ticket: Ticket,
                     conversation: AssistantConversation, state: ConversationState,
                     turn: Turn) -> None:
    """Post the turn as the assistant's message with its ``assistant_replies`` row, then keep
    the state or hand off."""
    message, _ = await add_message(session, ticket, ASSISTANT, body=turn.text,
                                   rateable=turn.kind in RATEABLE_KINDS)
    article = turn.citations[0] if turn.citations else None
    session.add(AssistantReply(message_id=message.id, ticket_id=ticket.id, kind=turn.kind,
                               intent=turn.intent,
                               article_slug=article.slug if article else None,
                               article_lang=article.lang if article else None))
    if turn.handoff is not None:
        await _hand_off(session, ticket, turn)
        _leave(conversation, turn.handoff.reason, state)
    else:
        conversation.state = state.to_dict()
        conversation.unhelpful_count = state.unhelpful_count
        conversation.turns = state.turns
        conversation.updated_at = clock.now()
    await session.flush()
    log.info("assistant_turn", ticket=ticket.number, kind=turn.kind, intent=turn.intent,
             confidence=turn.confidence, generated_by=turn.generated_by)


def _assistant_customer(customer: Customer | None) -> AssistantCustomer:
    """Who writes, for the pipeline: a visitor has nothing to look up at the exchange."""
    return AssistantCustomer(
        external_id=None if customer is None or customer.is_visitor else customer.external_id,
        display_name=customer.display_name if customer is not None else "")


async def hand_off_after_failure(session: AsyncSession, ticket_id: uuid.UUID, *,
                                 error: str) -> None:
    """The assistant failed on a message (model, search or back office broke): the customer
    is not left waiting for retries, the ticket goes to the agents with a note saying so."""
    conversation = await session.scalar(
        select(AssistantConversation).where(AssistantConversation.ticket_id == ticket_id))
    ticket = await session.get(Ticket, ticket_id)
    if conversation is None or ticket is None or conversation.mode != "active":
        return
    _leave(conversation, "assistant_error", ConversationState.from_dict(conversation.state))
    await add_message(session, ticket, ASSISTANT, internal=True,
                      body=f"[Assistant hand-off] The assistant failed ({error}); please take "
                           f"over this conversation.")
    await record_event(session, ANONYMOUS, ticket, "assistant_handoff",
                       {"reason": "assistant_error", "error": error})
    await session.flush()


async def _assistant_speaks(session: AsyncSession, ticket: Ticket,
                            conversation: AssistantConversation) -> bool:
    """The conversation is still the assistant's; if an agent has joined meanwhile, assistant
    mode ends here."""
    if conversation.mode != "active":
        return False
    if await _agent_involved(session, ticket):
        _leave(conversation, "agent_joined", ConversationState.from_dict(conversation.state))
        await session.flush()
        return False
    return True


async def _agent_involved(session: AsyncSession, ticket: Ticket) -> bool:
    """An agent took the ticket or wrote to the customer: the assistant steps back."""
    if ticket.assignee_id is not None or ticket.first_response_at is not None:
        return True
    return await session.scalar(select(exists().where(
        Message.ticket_id == ticket.id, Message.author_kind == "agent",
        Message.internal.is_(False)))) or False


def _leave(conversation: AssistantConversation, reason: str, state: ConversationState) -> None:
    now = clock.now()
    state.mode = "handed_off"
    conversation.mode = "handed_off"
    conversation.handoff_reason = reason
    conversation.handed_off_at = now
    conversation.updated_at = now
    conversation.state = state.to_dict()
    conversation.turns = state.turns
    conversation.unhelpful_count = state.unhelpful_count


async def _hand_off(session: AsyncSession, ticket: Ticket, turn: Turn) -> None:
    """The agents' side of a hand-off: the summary note (in the team's language), the event,
    priority, tags, and a team (by language) when the ticket has none."""
    summary = turn.handoff
    assert summary is not None
    assigned = ticket.team_id is not None
    team = (await session.get(Team, ticket.team_id) if ticket.team_id is not None
            else await default_team(session, ticket.language))
    await add_message(session, ticket, ASSISTANT, internal=True,
                      body=summary.note(team.language if team is not None else ticket.language))
    await record_event(session, ANONYMOUS, ticket, "assistant_handoff", summary.to_dict())
    priority = handoff_priority(summary.reason, summary.intent, angry=summary.angry,
                                current=ticket.priority)
    changes: dict[str, Any] = {}
    if priority != ticket.priority:
        changes["priority"] = priority
    if team is not None and not assigned:
        changes["team_id"] = team.id
    if changes:
        await update_fields(session, ANONYMOUS, ticket, ticket_schemas.TicketUpdate(**changes))
    tags = ["assistant-handoff", f"handoff:{summary.reason}"]
    if turn.intent:
        tags.append(f"intent:{turn.intent}")
    if turn.category:
        tags.append(f"category:{turn.category}")
    await change_tags(session, ANONYMOUS, ticket, ticket_schemas.TagChange(add=tags))
