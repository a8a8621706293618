"""Abuse checks on what customers send (SPEC §H, issue 6 point 6): cool-downs, harassment, spam,
scam warnings and repeated requests.

- **Cool-downs.** A customer (or visitor) in a cool-down cannot post: ``ensure_may_write``
  refuses with ``CoolingDown`` (429 ``cooling_down`` and ``Retry-After``; an ``error`` frame on
  the websocket), except a resend of a message stored before the cool-down began, so a client
  whose ack was lost does not show a stored message as failed. The chat's batches ask for all
  their senders at once (``kefu.trust.review.cooldowns_in_force``).
- **Harassment and spam.** ``screen_inbound`` runs :func:`kefu.guard.abuse.screen` on every
  inbound customer message after it is stored: what was accepted is never lost. Medium
  evidence puts a flag in the supervisors' review queue (``/agent/review``); high evidence (a
  flood of the same message, abuse aimed at the agent, threats) also starts an escalating
  cool-down and tells the customer in their language. The ticket is tagged ``abuse``.
- **Scams.** A customer describing a scam in progress gets ``customer_warning`` as a system
  message, once per ticket for each kind of scam, and the ticket a ``scam-risk`` tag and a
  ``scam`` flag (no cool-down) so the agent sees it.
- **Repeated requests.** A new request whose first message repeats the first message of one of
  the customer's open tickets from the last week is added to that ticket instead
  (``add_to_open_duplicate``), with a notice naming it.

Every flag and cool-down is audited by ``kefu.trust.review``; adding a request to an open
ticket is audited here."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Final

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts.actor import Actor
from kefu.accounts.models import Customer
from kefu.accounts.service import audit, visitor_external_id
from kefu.core import clock
from kefu.guard.abuse import (
    RECENT_MESSAGES,
    RECENT_WINDOW,
    AbuseSignal,
    ScamSignal,
    customer_warning,
    near_duplicate,
    screen,
)
from kefu.guard.secrets import scan
from kefu.tickets import schemas
from kefu.tickets.creation import Opened
from kefu.tickets.events import record_event
from kefu.tickets.guarding import SYSTEM
from kefu.tickets.messages import MessageAuthor, MessageFields, add_message
from kefu.tickets.models import Message, Ticket
from kefu.tickets.workflow import change_tags, set_status
from kefu.trust.errors import CoolingDown
from kefu.trust.service import cooldown_for, flagged_codes, record_flag

ABUSE_TAG: Final = "abuse"
SCAM_TAG: Final = "scam-risk"
DUPLICATE_WINDOW: Final = timedelta(days=7)
DUPLICATE_CANDIDATES: Final = 20
CLOSED_STATUSES: Final = ("resolved", "closed")
_VISITOR_PREFIX: Final = visitor_external_id("")


def cooldown_subject(actor: Actor) -> uuid.UUID | str | None:
    """Who a cool-down holds: a visitor by their visitor id (the same across their tickets), a
    customer by their id; agents and anonymous callers never."""
    if actor.kind == "visitor" and actor.visitor_id:
        return actor.visitor_id
    if actor.kind == "customer" and actor.customer is not None:
        return actor.customer.id
    return None


async def ensure_may_write(
    session: AsyncSession, actor: Actor, *, ticket: Ticket | None = None,
    client_msg_id: str | None = None,
) -> None:
    """``CoolingDown`` while the actor is in a cool-down, unless ``client_msg_id`` names a
    message already stored on ``ticket`` (a resend, which stores nothing new)."""
    subject = cooldown_subject(actor)
    if subject is None:
        return
    active = await (cooldown_for(session, visitor_id=subject) if isinstance(subject, str)
                    else cooldown_for(session, customer_id=subject))
    if active is None:
        return
    if ticket is not None and client_msg_id and await session.scalar(select(Message.id).where(
            Message.ticket_id == ticket.id, Message.client_msg_id == client_msg_id)) is not None:
        return
    raise CoolingDown((clock.ensure_utc(active.until) - clock.now()).total_seconds())


# ---------------------------------------------------------------- harassment, spam, scams


def inbound_language(ticket: Ticket, message: MessageFields) -> str:
    """The language to answer an inbound message in: its own where it was detected."""
    return message.language if message.language not in (None, "und") else ticket.language


def _chinese(language: str) -> bool:
    return language.lower().startswith("zh")


_REASONS: Final = {"harassment": ("abusive language", "不文明用语"),
                   "spam": ("repeated or promotional messages", "重复或推广信息")}


def cooldown_notice(kind: str, duration: timedelta, language: str) -> str:
    """What the customer is told when a cool-down starts: why, for how long, and that what they
    sent was received."""
    minutes = max(1, round(duration.total_seconds() / 60))
    english, chinese = _REASONS[kind]
    if _chinese(language):
        span = f"{minutes // 60}小时" if minutes % 60 == 0 else f"{minutes}分钟"
        return f"由于{chinese}，您在{span}内暂时无法发送新消息。已发送的内容我们已经收到。"
    span = (f"{minutes // 60} hour{'s' if minutes > 60 else ''}" if minutes % 60 == 0
            else f"{minutes} minute{'s' if minutes > 1 else ''}")
    return (f"Because of {english}, you cannot send new messages for the next {span}. "
            "We have received what you already sent.")


async def _visitor_id(session: AsyncSession, message: MessageFields) -> str | None:
    """The author's visitor id when a visitor wrote the message (a visitor's cool-down holds
    their visitor id, see ``record_flag``)."""
    if message.author_customer_id is None:
        return None
    customer = await session.get(Customer, message.author_customer_id)
    if customer is None or not customer.is_visitor:
        return None
    external = customer.external_id
    return external[len(_VISITOR_PREFIX):] if external.startswith(_VISITOR_PREFIX) else None


async def _recent_bodies(session: AsyncSession, ticket: Ticket, message: Message) -> list[str]:
    if message.seq <= 1:  # a ticket's first message: nothing before it
        return []
    rows = await session.scalars(
        select(Message.body).where(
            Message.ticket_id == ticket.id, Message.author_kind == "customer",
            Message.seq < message.seq, Message.created_at >= message.created_at - RECENT_WINDOW)
        .order_by(Message.seq.desc()).limit(RECENT_MESSAGES))
    return list(reversed(list(rows)))


async def screen_inbound(session: AsyncSession, ticket: Ticket, message: Message) -> None:
    """Act on a stored customer message (called by ``add_message``): flag harassment and spam
    (one cool-down at most per message), warn about scams. Nothing to do for almost every
    message; that case costs one query (the sender's recent messages) and the detectors."""
    screening = screen(message.body, recent=await _recent_bodies(session, ticket, message))
    if not screening.actionable:
        return
    language = inbound_language(ticket, message)
    signals = screening.for_review
    if signals:
        await flag_abuse(session, ticket, message, signals, language)
    if screening.scams:
        await _warn_about_scam(session, ticket, message, screening.scams, language)


async def flag_abuse(
    session: AsyncSession, ticket: Ticket, message: MessageFields,
    signals: tuple[AbuseSignal, ...], language: str,
) -> None:
    """Flag a stored inbound message for review, tag its ticket, and start a cool-down for
    the first signal that asks for one, telling the customer (``screen_inbound``; the chat's
    batches call it for a message that only needs a review)."""
    visitor_id = await _visitor_id(session, message)
    cooled: AbuseSignal | None = None
    for signal in signals:  # strongest first: the strongest high one starts the cool-down
        cool_down = signal.cooldown and cooled is None
        await record_flag(session, kind=signal.kind, score=signal.score, reasons=signal.reasons,
                          text=message.body, ticket=ticket, visitor_id=visitor_id,
                          cool_down=cool_down,
                          details={"message_id": str(message.id), "level": signal.level})
        if cool_down:
            cooled = signal
    await change_tags(session, SYSTEM, ticket, schemas.TagChange(add=[ABUSE_TAG]))
    await record_event(session, SYSTEM, ticket, "abuse_flagged", {
        "kinds": [s.kind for s in signals], "cooldown": cooled is not None})
    if cooled is None:
        return
    active = await (cooldown_for(session, visitor_id=visitor_id) if visitor_id
                    else cooldown_for(session, customer_id=ticket.customer_id))
    if active is not None:
        duration = clock.ensure_utc(active.until) - clock.now()
        await add_message(session, ticket, MessageAuthor("system"),
                          body=cooldown_notice(cooled.kind, duration, language))


async def _warn_about_scam(
    session: AsyncSession, ticket: Ticket, message: Message, scams: tuple[ScamSignal, ...],
    language: str,
) -> None:
    warned = await flagged_codes(session, ticket_id=ticket.id, kind="scam")
    fresh = tuple(s for s in scams if s.code not in warned)
    warning = customer_warning(fresh, language)
    if warning is None:
        return
    codes = sorted({s.code for s in fresh})
    await record_flag(session, kind="scam", score=1.0,
                      reasons=[f"{s.code}: {message.body[s.start:s.end]}" for s in fresh],
                      text=message.body, ticket=ticket, visitor_id=await _visitor_id(
                          session, message),
                      details={"message_id": str(message.id), "codes": codes})
    await add_message(session, ticket, MessageAuthor("system"), body=warning)
    await change_tags(session, SYSTEM, ticket, schemas.TagChange(add=[SCAM_TAG]))
    await record_event(session, SYSTEM, ticket, "scam_warned", {"codes": codes})


# ---------------------------------------------------------------- repeated requests


def duplicate_notice(number: str, language: str) -> str:
    if _chinese(language):
        return f"您已有一个处理中的工单 {number}，我们已将您的消息添加到该工单。"
    return f"You already have {number} open; we added your message there."


async def open_duplicate(session: AsyncSession, customer: Customer, body: str) -> Ticket | None:
    """The customer's open ticket from the last week whose first message ``body`` repeats
    (``near_duplicate``, compared as stored: secrets masked), the newest if several."""
    masked = scan(body).masked
    rows = await session.execute(
        select(Ticket, Message.body)
        .join(Message, and_(Message.ticket_id == Ticket.id, Message.seq == 1))
        .where(Ticket.customer_id == customer.id, Ticket.status.not_in(CLOSED_STATUSES),
               Ticket.merged_into_id.is_(None),
               Ticket.created_at >= clock.now() - DUPLICATE_WINDOW)
        .order_by(Ticket.created_at.desc()).limit(DUPLICATE_CANDIDATES))
    return next((ticket for ticket, first in rows if near_duplicate(masked, first)), None)


async def add_to_open_duplicate(
    session: AsyncSession, actor: Actor, *, customer: Customer, data: schemas.TicketCreate
) -> Opened | None:
    """Add a new request that repeats one of the customer's open tickets to that ticket, as a
    customer reply (a ticket pending on the customer opens again), with a notice; audited.
    None when there is no such ticket. A resend of the same ``client_msg_id`` stores nothing
    new and says nothing again."""
    ticket = await open_duplicate(session, customer, data.body)
    if ticket is None:
        return None
    await ensure_may_write(session, actor, ticket=ticket, client_msg_id=data.client_msg_id)
    message, created = await add_message(
        session, ticket, MessageAuthor("customer", customer_id=customer.id), body=data.body,
        client_msg_id=data.client_msg_id)
    if created:
        if ticket.status == "pending" and ticket.pending_reason == "customer":
            await set_status(session, actor, ticket, "open", None)
        await add_message(session, ticket, MessageAuthor("system"),
                          body=duplicate_notice(ticket.number, inbound_language(ticket, message)))
        details = {"channel": data.channel or "", "message_id": str(message.id)}
        await record_event(session, actor, ticket, "duplicate_added", details)
        await audit(session, actor, "ticket.duplicate_added", target_type="ticket",
                    target_id=ticket.number, details={**details, "customer_id": str(customer.id)})
    return Opened(ticket, message, duplicate=True)
