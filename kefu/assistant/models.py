"""Per-conversation assistant state: one row per ticket the assistant has been in front of.

A ticket is in assistant mode while its row says ``mode = 'active'``. The row is created when the
first customer message of a chat ticket arrives and the assistant is enabled
(``assistant.service.after_customer_message``); tickets without a row (email, portal, or chat
while the assistant was off) never see the assistant. ``handed_off`` is final: once a human is
needed the assistant stays out of that conversation.

``state`` is the JSON form of ``pipeline.ConversationState`` (the open guided flow, the facts
collected so far, what the assistant already answered); the counters the queue and reports
filter on are columns of their own.

``assistant_replies`` has one row per message the assistant wrote to the customer: what kind of
turn it was, the help-center article it quoted, and the customer's 👍/👎 on it (the widget's
feedback buttons; docs/assistant.md).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from kefu.core import clock
from kefu.db import Base, CreatedMixin, IdMixin

MODES = ("active", "handed_off")
REPLY_KINDS = ("answer", "ask", "handoff", "smalltalk")


class AssistantConversation(IdMixin, CreatedMixin, Base):
    __tablename__ = "assistant_conversations"
    __table_args__ = (
        CheckConstraint(f"mode IN {MODES!r}", name="mode"),
        CheckConstraint("unhelpful_count >= 0", name="unhelpful_count"),
        CheckConstraint("turns >= 0", name="turns"),
        CheckConstraint(
            "(mode = 'handed_off') = (handed_off_at IS NOT NULL)", name="handed_off_at"),
    )

    ticket_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), unique=True
    )
    mode: Mapped[str] = mapped_column(String(16), default="active")
    turns: Mapped[int] = mapped_column(default=0)
    unhelpful_count: Mapped[int] = mapped_column(default=0)
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    handoff_reason: Mapped[str | None] = mapped_column(String(32), default=None)
    handed_off_at: Mapped[datetime | None] = mapped_column(default=None)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)


class AssistantReply(IdMixin, CreatedMixin, Base):
    """A message the assistant wrote to the customer. ``helpful`` is the customer's vote (None
    until they vote); the first vote stands, so a vote can never undo the turn it caused."""

    __tablename__ = "assistant_replies"
    __table_args__ = (
        CheckConstraint(f"kind IN {REPLY_KINDS!r}", name="kind"),
        CheckConstraint("(helpful IS NULL) = (voted_at IS NULL)", name="voted_at"),
    )

    message_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), unique=True
    )
    ticket_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    intent: Mapped[str | None] = mapped_column(String(64), default=None)
    # The first help-center article the turn quoted or linked, in the language it linked.
    article_slug: Mapped[str | None] = mapped_column(String(120), default=None)
    article_lang: Mapped[str | None] = mapped_column(String(16), default=None)
    helpful: Mapped[bool | None] = mapped_column(default=None)
    voted_at: Mapped[datetime | None] = mapped_column(default=None)
