"""Trust-and-safety tables: the official-channel registry, anti-phishing codes, compliance marks,
step-up identity checks, abuse flags and cool-downs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kefu.core import clock
from kefu.db import Base, CreatedMixin, IdMixin

CHANNEL_KINDS = ("email", "phone", "telegram", "x", "domain", "agent_id")
STEP_UP_PURPOSES = ("2fa_reset", "unfreeze", "appeal")
STEP_UP_RESULTS = ("pending", "verified", "failed")
FLAG_KINDS = ("spam", "harassment", "scam", "secret", "phishing_override")
FLAG_STATUSES = ("open", "dismissed", "actioned")


class OfficialChannel(IdMixin, CreatedMixin, Base):
    """One official channel of the exchange, as Kefu Verify answers for it. ``value`` is stored
    normalized (``verify.normalize_channel``), so one channel has one row."""

    __tablename__ = "official_channels"
    __table_args__ = (
        CheckConstraint(f"kind IN {CHANNEL_KINDS!r}", name="kind"),
        UniqueConstraint("kind", "value", name="uq_official_channels_kind_value"),
    )

    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(254))
    label: Mapped[str] = mapped_column(String(200), default="")
    added_by_agent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), default=None
    )
    active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)


class AntiPhishingCode(Base):
    """A customer's personal anti-phishing code. Not a secret (it is shown back to them and
    printed on every message from support), but never logged."""

    __tablename__ = "anti_phishing_codes"

    customer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    code: Mapped[str] = mapped_column(String(20))
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)


class ComplianceMark(Base):
    """The last compliance state Kefu learned from the exchange for a customer. Kept so that a
    hold stays known while the back office is unavailable (failing safe)."""

    __tablename__ = "compliance_marks"

    customer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    hold: Mapped[bool] = mapped_column(default=False)
    reason: Mapped[str] = mapped_column(String(200), default="")
    checked_at: Mapped[datetime] = mapped_column(default=clock.now)


class IdentityCheck(IdMixin, CreatedMixin, Base):
    """A step-up identity verification: the single-use link sent to the customer and what the
    exchange answered. Only the SHA-256 of the link's token is stored; the exchange's signed
    callback names the check by ``id`` and completes it once."""

    __tablename__ = "identity_checks"
    __table_args__ = (
        CheckConstraint(f"purpose IN {STEP_UP_PURPOSES!r}", name="purpose"),
        CheckConstraint(f"result IN {STEP_UP_RESULTS!r}", name="result"),
        CheckConstraint("(result = 'pending') = (completed_at IS NULL)", name="completed_at"),
    )

    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    ticket_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), index=True
    )
    customer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE")
    )
    purpose: Mapped[str] = mapped_column(String(16))
    created_by_agent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), default=None
    )
    expires_at: Mapped[datetime]
    opened_at: Mapped[datetime | None] = mapped_column(default=None)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)
    result: Mapped[str] = mapped_column(String(16), default="pending")
    method: Mapped[str] = mapped_column(String(64), default="")


class AbuseFlag(IdMixin, CreatedMixin, Base):
    """One signal for the supervisor review queue. ``excerpt`` is the masked text only."""

    __tablename__ = "abuse_flags"
    __table_args__ = (
        CheckConstraint(f"kind IN {FLAG_KINDS!r}", name="kind"),
        CheckConstraint(f"status IN {FLAG_STATUSES!r}", name="status"),
        CheckConstraint("ticket_id IS NOT NULL OR customer_id IS NOT NULL", name="subject"),
        CheckConstraint("(status = 'open') = (reviewed_at IS NULL)", name="reviewed_at"),
        Index("ix_abuse_flags_status_created_at", "status", "created_at"),
    )

    ticket_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), default=None, index=True
    )
    customer_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), default=None, index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    score: Mapped[float] = mapped_column(Float, default=0.0)
    reasons: Mapped[list[str]] = mapped_column(default=list)
    excerpt: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="open")
    reviewed_by_agent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), default=None
    )
    reviewed_at: Mapped[datetime | None] = mapped_column(default=None)
    review_note: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class CoolDown(IdMixin, CreatedMixin, Base):
    """A customer or an anonymous visitor may not write until ``until``."""

    __tablename__ = "cool_downs"
    __table_args__ = (
        CheckConstraint("(customer_id IS NULL) != (visitor_id IS NULL)", name="subject"),
        Index("ix_cool_downs_customer_id_until", "customer_id", "until"),
        Index("ix_cool_downs_visitor_id_until", "visitor_id", "until"),
    )

    customer_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), default=None
    )
    visitor_id: Mapped[str | None] = mapped_column(String(64), default=None)
    until: Mapped[datetime]
    reason: Mapped[str] = mapped_column(String(200), default="")
    flag_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("abuse_flags.id", ondelete="SET NULL"), default=None
    )
    created_by_agent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), default=None
    )
