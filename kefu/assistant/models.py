"""Per-conversation assistant state: one row per ticket the assistant has been in front of.

A ticket is in assistant mode while its row says ``mode = 'active'``. The row is created when the
first customer message of a chat ticket arrives and the assistant is enabled
(``assistant.service.after_customer_message``); tickets without a row (email, portal, or chat
while the assistant was off) never see the assistant. ``handed_off`` is final: once a human is
needed the assistant stays out of that conversation.

``state`` is the JSON form of ``pipeline.ConversationState`` (the open guided flow, the facts
collected so far, what the assistant already answered); the counters the queue and reports
filter on are columns of their own.
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
