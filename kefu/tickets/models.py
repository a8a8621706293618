"""Tickets (= conversations), their messages, attachments, tags and event history."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from kefu.core import clock
from kefu.db import Base, CreatedMixin, IdMixin
from kefu.tickets.attachment_text import TEXT_STATUSES

STATUSES = ("new", "open", "pending", "escalated", "resolved", "closed")
PENDING_REASONS = ("customer", "internal")
PRIORITIES = ("low", "normal", "high", "urgent")
CHANNELS = ("chat", "email", "portal", "telegram", "phone", "webform", "api")
AUTHOR_KINDS = ("customer", "agent", "assistant", "system")
# Channels whose customers get what support writes by a job (``channels.deliver``), not a socket.
DELIVERED_CHANNELS = ("email", "telegram")
DELIVER_JOB = "channels.deliver"

ticket_tags = Table(
    "ticket_tags",
    Base.metadata,
    Column("ticket_id", ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
)


class Ticket(IdMixin, CreatedMixin, Base):
    __tablename__ = "tickets"
    __table_args__ = (
        CheckConstraint(f"status IN {STATUSES!r}", name="status"),
        CheckConstraint(f"priority IN {PRIORITIES!r}", name="priority"),
        CheckConstraint(f"channel IN {CHANNELS!r}", name="channel"),
        CheckConstraint(
            "(status = 'pending') = (pending_reason IS NOT NULL)", name="pending_reason"
        ),
        CheckConstraint("rating IS NULL OR (rating >= 1 AND rating <= 5)", name="rating"),
        Index("ix_tickets_updated_at_id", "updated_at", "id"),
        Index("ix_tickets_status_team", "status", "team_id"),
    )

    number: Mapped[str] = mapped_column(String(16), unique=True)
    subject: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="new")
    pending_reason: Mapped[str | None] = mapped_column(String(16), default=None)
    priority: Mapped[str] = mapped_column(String(16), default="normal")
    channel: Mapped[str] = mapped_column(String(16), default="portal")
    language: Mapped[str] = mapped_column(String(16), default="en")
    customer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    team_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("teams.id", ondelete="SET NULL"), default=None, index=True
    )
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), default=None, index=True
    )
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="SET NULL"), default=None
    )
    escalation_reason: Mapped[str | None] = mapped_column(Text, default=None)
    escalated_at: Mapped[datetime | None] = mapped_column(default=None)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)
    first_response_at: Mapped[datetime | None] = mapped_column(default=None)
    last_customer_message_at: Mapped[datetime | None] = mapped_column(default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    last_seq: Mapped[int] = mapped_column(default=0)
    # Customer-visible messages have their own gap-free sequence (internal notes don't count).
    last_public_seq: Mapped[int] = mapped_column(default=0)
    rating: Mapped[int | None] = mapped_column(default=None)
    rating_comment: Mapped[str | None] = mapped_column(Text, default=None)
    rated_at: Mapped[datetime | None] = mapped_column(default=None)


class Message(IdMixin, CreatedMixin, Base):
    __tablename__ = "messages"
    __table_args__ = (
        CheckConstraint(f"author_kind IN {AUTHOR_KINDS!r}", name="author_kind"),
        UniqueConstraint("ticket_id", "seq", name="uq_messages_ticket_seq"),
        UniqueConstraint("ticket_id", "public_seq", name="uq_messages_ticket_public_seq"),
        UniqueConstraint("ticket_id", "client_msg_id", name="uq_messages_ticket_client_msg"),
    )

    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    seq: Mapped[int]
    # Position among the messages the customer sees; None for internal notes.
    public_seq: Mapped[int | None] = mapped_column(default=None)
    author_kind: Mapped[str] = mapped_column(String(16))
    author_agent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), default=None
    )
    author_customer_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), default=None
    )
    body: Mapped[str] = mapped_column(Text)
    internal: Mapped[bool] = mapped_column(default=False)
    client_msg_id: Mapped[str | None] = mapped_column(String(64), default=None)
    # Detected from a customer's text (kefu.core.language); None for agents' and system text.
    language: Mapped[str | None] = mapped_column(String(16), default=None)


class Attachment(IdMixin, CreatedMixin, Base):
    """A file stored under the data dir; its type is sniffed from its bytes, never trusted.

    A *withheld* file (``withheld_reason`` set) held a secret: its bytes and hash are gone and
    only this placeholder stays. ``extracted_text`` is the file's text as the secret guard masked
    it (capped), for agents to read."""

    __tablename__ = "attachments"
    __table_args__ = (
        CheckConstraint(f"text_status IN {TEXT_STATUSES!r}", name="text_status"),
        CheckConstraint("(withheld_reason IS NULL) = (sha256 IS NOT NULL)", name="withheld"),
    )

    ticket_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), index=True
    )
    message_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL"), default=None, index=True
    )
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str | None] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(255), unique=True)
    uploaded_by_kind: Mapped[str] = mapped_column(String(16))
    text_status: Mapped[str] = mapped_column(String(16), default="none", server_default="none")
    extracted_text: Mapped[str | None] = mapped_column(Text, default=None)
    withheld_reason: Mapped[str | None] = mapped_column(String(200), default=None)


class Tag(IdMixin, Base):
    __tablename__ = "tags"

    name: Mapped[str] = mapped_column(String(64), unique=True)


class TicketEvent(IdMixin, Base):
    """One row per change: created, status_changed, assigned, escalated, merged, tagged, …"""

    __tablename__ = "ticket_events"

    ticket_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    actor_kind: Mapped[str] = mapped_column(String(16))
    actor_agent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), default=None
    )
    actor_customer_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), default=None
    )
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    at: Mapped[datetime] = mapped_column(default=clock.now)


class Macro(IdMixin, CreatedMixin, Base):
    """A canned reply with variables (``{customer.name}``, ``{ticket.number}``).

    Its scope is one of three: global (no team, no owner), a team's (``team_id``) or one
    agent's personal macro (``owner_agent_id``, never with a team). A title is unique per
    language among the shared (global and team) macros, and per owner and language among
    personal ones, so two agents may each keep a "Greeting". The owner's foreign key cascades:
    a personal macro whose owner is deleted goes with them rather than turn global."""

    __tablename__ = "macros"
    __table_args__ = (
        CheckConstraint("owner_agent_id IS NULL OR team_id IS NULL", name="personal_no_team"),
        # NULL owners are distinct in a unique constraint (SQLite and PostgreSQL alike), so the
        # shared macros need their own, partial, index.
        Index("uq_macros_title_language", "title", "language", unique=True,
              sqlite_where=text("owner_agent_id IS NULL"),
              postgresql_where=text("owner_agent_id IS NULL")),
        UniqueConstraint("owner_agent_id", "title", "language",
                         name="uq_macros_owner_title_language"),
    )

    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(16), default="en")
    team_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), default=None
    )
    owner_agent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), default=None
    )
    created_by_agent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), default=None
    )

    @property
    def scope(self) -> str:
        """``personal``, ``team`` or ``global``."""
        if self.owner_agent_id is not None:
            return "personal"
        return "team" if self.team_id is not None else "global"


class Notification(IdMixin, CreatedMixin, Base):
    """Something an agent should see: a mention in a note, an assignment."""

    __tablename__ = "notifications"

    agent_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    ticket_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), default=None
    )
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    read_at: Mapped[datetime | None] = mapped_column(default=None)


READER_CUSTOMER = "customer"


class ReadPoint(Base):
    """How far one reader has read a conversation: the customer (``reader`` = ``customer``) or
    one agent (``reader`` = the agent's id). ``seq`` is in the agents' numbering (internal
    notes count), ``public_seq`` in the customer's (the last public message at or before
    ``seq``; 0 when there is none). Read receipts and unread counts come from these, so they
    survive a reload, another device and a restart; a point only moves forward."""

    __tablename__ = "read_points"

    ticket_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    reader: Mapped[str] = mapped_column(String(36), primary_key=True)
    seq: Mapped[int]
    public_seq: Mapped[int] = mapped_column(default=0)
    read_at: Mapped[datetime] = mapped_column(default=clock.now)
