"""Internal notes and @mentions: which agents a note names, which of them may read the ticket
and are notified (a notification carries the note's text), and the agents' notifications."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts.actor import Actor
from kefu.accounts.models import Agent
from kefu.accounts.service import audit, team_ids_of
from kefu.core import clock
from kefu.core.errors import NotFound
from kefu.realtime.events import agent_topic, publish_after_commit
from kefu.tickets import schemas
from kefu.tickets.messages import MessageAuthor, add_message
from kefu.tickets.models import Message, Notification, Ticket
from kefu.tickets.service import may_read

# An "@" that starts a mention: not inside an email address (``email@x.io``); Chinese may sit
# right before it ("请@李娜"). What follows is matched against the agents' handles.
_MENTION_AT = re.compile(r"(?<![A-Za-z0-9._%+\-@])@")
# A handle goes on while ASCII word characters follow ("@li.nana" is not "@li.na"); Chinese
# or punctuation after it ends it ("@li.na请核对", "@li.na, please").
_HANDLE_GOES_ON = re.compile(r"[A-Za-z0-9_\-]|\.[A-Za-z0-9]")


def mention_handles(agent: Agent) -> set[str]:
    """How a note may name ``agent`` (lower case): the part of the email before @ (``li.na``),
    the display name without spaces (``lina李娜`` for "Li Na 李娜"), its Latin words together
    (``lina``) and each word in another script (``李娜``); at least two characters each."""
    words = agent.display_name.split()
    latin = "".join(w for w in words if w.isascii())
    handles = {agent.email.split("@")[0], "".join(words), latin,
               *(w for w in words if not w.isascii())}
    return {h.lower() for h in handles if len(h) >= 2}


def mentioned(body: str, agents: Iterable[Agent]) -> list[Agent]:
    """The agents a note names (``mention_handles``), case-insensitive, the longest handle
    first."""
    handles = sorted(((handle, agent) for agent in agents for handle in mention_handles(agent)),
                     key=lambda pair: -len(pair[0]))
    found: dict[uuid.UUID, Agent] = {}
    for at in _MENTION_AT.finditer(body):
        # lower-cased after slicing: "İ".lower() is two characters and would shift positions
        rest = body[at.end():at.end() + 80].lower()
        for handle, agent in handles:
            if rest.startswith(handle) and not _HANDLE_GOES_ON.match(rest, len(handle)):
                found.setdefault(agent.id, agent)
                break
    return list(found.values())


# Why a colleague a note names was not told: they may not read the ticket (a notification
# carries the note's text).
CANNOT_READ_TICKET = "cannot_read_ticket"


@dataclass(frozen=True)
class NotNotified:
    """An agent a note names who was not notified, and why (``CANNOT_READ_TICKET``)."""

    agent_id: uuid.UUID
    name: str
    reason: str


@dataclass(frozen=True)
class NoteAdded:
    """A note, and the agents it names who were not notified: its author is told so, rather
    than believe they were."""

    message: Message
    not_notified: list[NotNotified]


async def add_note(
    session: AsyncSession, actor: Actor, ticket: Ticket, data: schemas.NoteCreate
) -> NoteAdded:
    """An internal note. Only a new note notifies (a resent ``client_msg_id`` returns the stored
    one), but both answers say who was not notified."""
    message, created = await add_message(
        session, ticket, MessageAuthor.of(actor), body=data.body, internal=True,
        attachment_ids=data.attachment_ids, client_msg_id=data.client_msg_id)
    if created:
        await audit(session, actor, "ticket.note", target_type="ticket",
                    target_id=ticket.number)
    readers, others = await mentioned_readers(session, ticket, message.body)
    if created:
        await notify_mentions(session, actor, ticket, message, readers)
    return NoteAdded(message, [NotNotified(a.id, a.display_name, CANNOT_READ_TICKET)
                               for a in others])


async def mentioned_readers(
    session: AsyncSession, ticket: Ticket, body: str
) -> tuple[list[Agent], list[Agent]]:
    """The active agents ``body`` names (``mentioned``): those who may read ``ticket``, and
    those who may not."""
    if "@" not in body:
        return [], []
    named = mentioned(body, await session.scalars(
        select(Agent).where(Agent.is_active.is_(True))))
    readers: list[Agent] = []
    others: list[Agent] = []
    for agent in named:
        reader = Actor(kind="agent", agent=agent, team_ids=await team_ids_of(session, agent.id))
        (readers if may_read(reader, ticket) else others).append(agent)
    return readers, others


async def notify_mentions(
    session: AsyncSession, actor: Actor, ticket: Ticket, message: Message, agents: list[Agent]
) -> None:
    """The agents a note names who may read the ticket (``mentioned_readers``: a notification
    carries the note's text) are notified, its author aside: stored, and pushed to their open
    consoles after commit."""
    by = actor.agent.display_name if actor.agent else "system"
    excerpt = message.body[:200]
    for agent in agents:
        if actor.agent is not None and agent.id == actor.agent.id:
            continue
        session.add(Notification(agent_id=agent.id, kind="mention", ticket_id=ticket.id,
                                 data={"ticket": ticket.number, "by": by, "excerpt": excerpt,
                                       "message_id": str(message.id)}))
        publish_after_commit(session, agent_topic(agent.id), {
            "type": "mention", "ticket": ticket.number, "by": by, "excerpt": excerpt,
            "message_id": str(message.id)})
    await session.flush()

async def notifications_of(
    session: AsyncSession, actor: Actor, *, unread_only: bool = False, limit: int = 100
) -> list[Notification]:
    assert actor.agent is not None
    stmt = select(Notification).where(Notification.agent_id == actor.agent.id)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    return list(await session.scalars(stmt.order_by(Notification.created_at.desc()).limit(limit)))


async def mark_notification_read(
    session: AsyncSession, actor: Actor, notification_id: uuid.UUID
) -> None:
    notification = await session.get(Notification, notification_id)
    if notification is None or actor.agent is None or notification.agent_id != actor.agent.id:
        raise NotFound("notification")
    if notification.read_at is None:
        notification.read_at = clock.now()
        await session.flush()
