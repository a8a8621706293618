"""Outgoing webhooks: the endpoints admins register and the log of every delivery to them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kefu.db import Base, CreatedMixin, IdMixin

EVENTS = ("ticket.created", "ticket.updated", "message.created")
DELIVERY_STATUSES = ("pending", "delivered", "failed")


class WebhookEndpoint(IdMixin, CreatedMixin, Base):
    """A URL that receives signed POSTs for the events it subscribes to.

    ``secret`` is our HMAC signing key, not a credential of the receiver: it is kept readable so
    admins can look it up when configuring the receiver."""

    __tablename__ = "webhook_endpoints"

    url: Mapped[str] = mapped_column(String(2048))
    secret: Mapped[str] = mapped_column(String(128))
    events: Mapped[list[str]] = mapped_column(default=list)
    active: Mapped[bool] = mapped_column(default=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_by_agent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), default=None
    )


class WebhookDelivery(IdMixin, CreatedMixin, Base):
    """One event for one endpoint, and how sending it went. ``payload`` is the exact JSON document
    POSTed; ``event_id`` is the same on every attempt, so receivers can drop duplicates."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint(f"status IN {DELIVERY_STATUSES!r}", name="status"),
        CheckConstraint("attempts >= 0", name="attempts"),
        Index("ix_webhook_deliveries_endpoint_created", "endpoint_id", "created_at"),
    )

    endpoint_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE")
    )
    event: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[uuid.UUID] = mapped_column(index=True)
    payload: Mapped[dict[str, Any]] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    last_status_code: Mapped[int | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)
