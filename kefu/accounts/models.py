"""People and credentials: customers, agents, teams, sessions, API tokens, the audit log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Column, ForeignKey, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kefu.db import Base, CreatedMixin, IdMixin

ROLES = ("agent", "supervisor", "admin")
AGENT_STATUSES = ("online", "away", "offline")
PRESENCE_REPLACES = ("online", "away")  # what kefu.realtime.presence may set offline

agent_teams = Table(
    "agent_teams",
    Base.metadata,
    Column("agent_id", ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True),
    Column("team_id", ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True),
)


class Team(IdMixin, CreatedMixin, Base):
    __tablename__ = "teams"

    name: Mapped[str] = mapped_column(String(100), unique=True)
    language: Mapped[str] = mapped_column(String(16), default="en")
    description: Mapped[str] = mapped_column(Text, default="")

    agents: Mapped[list[Agent]] = relationship(
        secondary=agent_teams, back_populates="teams", lazy="raise"
    )


class Agent(IdMixin, CreatedMixin, Base):
    __tablename__ = "agents"
    __table_args__ = (
        CheckConstraint(f"role IN {ROLES!r}", name="role"),
        CheckConstraint(f"status IN {AGENT_STATUSES!r}", name="status"),
        CheckConstraint(f"status_before_presence IN {PRESENCE_REPLACES!r}",
                        name="status_before_presence"),
        CheckConstraint("capacity >= 0", name="capacity"),
    )

    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="agent")
    languages: Mapped[list[str]] = mapped_column(default=list)
    skills: Mapped[list[str]] = mapped_column(default=list)
    capacity: Mapped[int] = mapped_column(default=5)
    status: Mapped[str] = mapped_column(String(16), default="offline")
    # Last time a console connection of theirs was alive (kefu.realtime.presence); None: never.
    seen_at: Mapped[datetime | None] = mapped_column(default=None)
    # The status presence replaced with "offline" (given back when a console connection of
    # theirs returns); None: the status is the agent's own (or an admin's) choice.
    status_before_presence: Mapped[str | None] = mapped_column(String(16), default=None)
    is_active: Mapped[bool] = mapped_column(default=True)
    totp_secret: Mapped[str | None] = mapped_column(String(64), default=None)
    totp_enabled: Mapped[bool] = mapped_column(default=False)
    totp_last_counter: Mapped[int | None] = mapped_column(default=None)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(default=None)
    last_login_at: Mapped[datetime | None] = mapped_column(default=None)

    teams: Mapped[list[Team]] = relationship(
        secondary=agent_teams, back_populates="agents", lazy="raise"
    )


class Customer(IdMixin, CreatedMixin, Base):
    """A customer of the exchange, known by the exchange's own id; or an anonymous visitor."""

    __tablename__ = "customers"
    __table_args__ = (CheckConstraint("vip_tier >= 0 AND vip_tier <= 9", name="vip_tier"),)

    external_id: Mapped[str] = mapped_column(String(128), unique=True)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    email: Mapped[str | None] = mapped_column(String(254), default=None)
    language: Mapped[str] = mapped_column(String(16), default="en")
    vip_tier: Mapped[int] = mapped_column(default=0)
    flags: Mapped[list[str]] = mapped_column(default=list)
    is_visitor: Mapped[bool] = mapped_column(default=False)


class AgentSession(IdMixin, CreatedMixin, Base):
    """A browser login. Only the SHA-256 of the cookie value is stored."""

    __tablename__ = "agent_sessions"

    agent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    mfa_passed: Mapped[bool] = mapped_column(default=False)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    user_agent: Mapped[str] = mapped_column(String(255), default="")
    ip: Mapped[str] = mapped_column(String(64), default="")


class ApiToken(IdMixin, CreatedMixin, Base):
    """A personal API token. Shown once; stored as SHA-256; revocable."""

    __tablename__ = "api_tokens"

    agent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class UsedCustomerToken(Base):
    """Ids (``jti``) of single-use customer tokens already presented, until they expire."""

    __tablename__ = "used_customer_tokens"

    jti: Mapped[str] = mapped_column(String(128), primary_key=True)
    expires_at: Mapped[datetime]


class OrgSetting(Base):
    """Admin policy and configuration stored in the database (e.g. ``require_agent_2fa``)."""

    __tablename__ = "org_settings"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column()


class AuditEntry(IdMixin, Base):
    """Who did what to which record, and when. Append-only."""

    __tablename__ = "audit_log"

    at: Mapped[datetime] = mapped_column(index=True)
    actor_agent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), default=None, index=True
    )
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32), default="")
    target_id: Mapped[str] = mapped_column(String(64), default="")
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    ip: Mapped[str] = mapped_column(String(64), default="")
