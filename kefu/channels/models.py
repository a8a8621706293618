"""What a channel remembers besides tickets and messages: who a sender is (an email address or a
Telegram user, bound to a customer) and which outside message is which of ours (an email's
Message-ID, a Telegram chat/message id), for threading, resends and replies."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kefu.core import clock
from kefu.db import Base, CreatedMixin, IdMixin

CHANNEL_KINDS = ("email", "telegram")
DIRECTIONS = ("in", "out")


class ChannelIdentity(IdMixin, CreatedMixin, Base):
    """An outside address bound to a customer: ``email`` addresses (lower-cased) and Telegram
    user ids. ``chat_ref`` is where replies go when that differs from the address (a Telegram
    private chat id)."""

    __tablename__ = "channel_identities"
    __table_args__ = (
        CheckConstraint(f"channel IN {CHANNEL_KINDS!r}", name="channel"),
        UniqueConstraint("channel", "address", name="uq_channel_identities_channel_address"),
    )

    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(320))
    customer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    display_name: Mapped[str] = mapped_column(String(100), default="")
    chat_ref: Mapped[str | None] = mapped_column(String(64), default=None)
    last_seen_at: Mapped[datetime] = mapped_column(default=clock.now)


class ChannelMessage(IdMixin, CreatedMixin, Base):
    """One outside message, in or out, and the ticket message it is. ``external_id`` is unique
    per channel: an inbound email's Message-ID (or a Telegram ``chat_id:message_id``) seen twice
    is stored once; an outbound one is what a reply's In-Reply-To points at."""

    __tablename__ = "channel_messages"
    __table_args__ = (
        CheckConstraint(f"channel IN {CHANNEL_KINDS!r}", name="channel"),
        CheckConstraint(f"direction IN {DIRECTIONS!r}", name="direction"),
        UniqueConstraint("channel", "external_id", name="uq_channel_messages_channel_external"),
        Index("ix_channel_messages_message_id", "message_id"),
    )

    channel: Mapped[str] = mapped_column(String(16))
    direction: Mapped[str] = mapped_column(String(8))
    external_id: Mapped[str] = mapped_column(String(512))
    ticket_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), index=True
    )
    message_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL"), default=None
    )


class TelegramUpdate(Base):
    """A Telegram ``update_id`` already handled: a re-delivered update (Telegram retries until
    it gets a 2xx) is recognised and stores nothing new. Only the id and when it came are kept;
    rows older than a few days are pruned (Telegram keeps undelivered updates for 24 hours)."""

    __tablename__ = "telegram_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    received_at: Mapped[datetime] = mapped_column(default=clock.now, index=True)


class TelegramLink(IdMixin, CreatedMixin, Base):
    """A single-use deep link (``t.me/<bot>?start=<token>``) posted in a group to move a
    request with account data into a private chat. It works once, before ``expires_at``, and
    only for the Telegram user who asked; nothing of the public message is kept. The token is
    published in the group, so it is no secret: binding it to the asker is the protection."""

    __tablename__ = "telegram_links"

    token: Mapped[str] = mapped_column(String(64), unique=True)
    telegram_user_id: Mapped[int] = mapped_column(BigInteger)
    group_chat_id: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(default=None)
    customer_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), default=None
    )
