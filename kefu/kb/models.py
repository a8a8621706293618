"""The knowledge base: categories and sections, articles with translations and versions,
votes, search logs, deflections; and the status page's entries."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from kefu.core import clock
from kefu.db import Base, CreatedMixin, IdMixin

PUBLICATION_STATUSES = ("draft", "published")
DEFLECTION_OUTCOMES = ("pending", "deflected", "submitted")
DEFLECTION_CHANNELS = ("portal", "widget")
STATUS_KINDS = ("maintenance", "incident", "network")
STATUS_DIRECTIONS = ("deposit", "withdrawal")
STATUS_STATES = ("operational", "degraded", "delayed", "suspended")


class Category(IdMixin, CreatedMixin, Base):
    """A help-center category; ``names``/``descriptions`` map a language tag to its text."""

    __tablename__ = "kb_categories"

    slug: Mapped[str] = mapped_column(String(64), unique=True)
    position: Mapped[int] = mapped_column(default=0)
    names: Mapped[dict[str, Any]] = mapped_column(default=dict)
    descriptions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The portal's ticket category for "Contact us" from this category, and for content gaps.
    ticket_category: Mapped[str] = mapped_column(String(32), default="")


class Section(IdMixin, Base):
    __tablename__ = "kb_sections"
    __table_args__ = (UniqueConstraint("category_id", "slug", name="uq_kb_sections_category_slug"),)

    category_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("kb_categories.id", ondelete="CASCADE"), index=True)
    slug: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(default=0)
    names: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Article(IdMixin, CreatedMixin, Base):
    """One article in every language. The public sees a translation only while both the article
    and that translation are published."""

    __tablename__ = "kb_articles"
    __table_args__ = (
        CheckConstraint(f"status IN {PUBLICATION_STATUSES!r}", name="status"),
        CheckConstraint("views >= 0 AND helpful_count >= 0 AND unhelpful_count >= 0",
                        name="counters"),
    )

    slug: Mapped[str] = mapped_column(String(120), unique=True)
    category_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("kb_categories.id", ondelete="RESTRICT"), index=True)
    section_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("kb_sections.id", ondelete="SET NULL"), default=None, index=True)
    tags: Mapped[list[str]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    position: Mapped[int] = mapped_column(default=100)
    views: Mapped[int] = mapped_column(default=0)
    helpful_count: Mapped[int] = mapped_column(default=0)
    unhelpful_count: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)
    published_at: Mapped[datetime | None] = mapped_column(default=None)


class ArticleTranslation(IdMixin, CreatedMixin, Base):
    __tablename__ = "kb_translations"
    __table_args__ = (
        UniqueConstraint("article_id", "lang", name="uq_kb_translations_article_lang"),
        CheckConstraint(f"status IN {PUBLICATION_STATUSES!r}", name="status"),
    )

    article_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("kb_articles.id", ondelete="CASCADE"), index=True)
    lang: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(String(500), default="")
    body_md: Mapped[str] = mapped_column(Text)
    # The sanitized rendering of body_md, refreshed on every save, and the renderer version that
    # made it (``render.RENDERER_VERSION``; 0: before versions were stored). Rows made by an
    # older renderer are rendered again (``kefu.kb.rerender``), which is not an edit.
    body_html: Mapped[str] = mapped_column(Text)
    renderer_version: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    status: Mapped[str] = mapped_column(String(16), default="draft")
    updated_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), default=None)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)
    published_at: Mapped[datetime | None] = mapped_column(default=None)


class ArticleVersion(IdMixin, CreatedMixin, Base):
    """What a translation said after each save; diffs are computed when viewed."""

    __tablename__ = "kb_versions"
    __table_args__ = (
        UniqueConstraint("translation_id", "number", name="uq_kb_versions_translation_number"),
    )

    translation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("kb_translations.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(String(500), default="")
    body_md: Mapped[str] = mapped_column(Text)
    author_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), default=None)


class ArticleVote(IdMixin, CreatedMixin, Base):
    """"Was this helpful?" — one per voter and article (a second vote replaces the first).
    ``voter`` is ``customer:<id>``, ``visitor:<id>``, ``agent:<id>`` or ``anon:<cookie>``."""

    __tablename__ = "kb_votes"
    __table_args__ = (UniqueConstraint("article_id", "voter", name="uq_kb_votes_article_voter"),)

    article_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("kb_articles.id", ondelete="CASCADE"), index=True)
    lang: Mapped[str] = mapped_column(String(16))
    helpful: Mapped[bool]
    comment: Mapped[str] = mapped_column(Text, default="")
    voter: Mapped[str] = mapped_column(String(100))
    customer_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), default=None)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, index=True)


class SearchLog(IdMixin, CreatedMixin, Base):
    """One search as asked (help center, instant search, API, deflection), for content gaps."""

    __tablename__ = "kb_search_log"
    __table_args__ = (Index("ix_kb_search_log_created_at", "created_at"),)

    query: Mapped[str] = mapped_column(String(200))
    normalized: Mapped[str] = mapped_column(String(200))
    lang: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16))
    results: Mapped[int]
    top_score: Mapped[float | None] = mapped_column(default=None)
    clicked_slug: Mapped[str | None] = mapped_column(String(120), default=None)


class Deflection(IdMixin, CreatedMixin, Base):
    """Articles suggested while a customer writes a new ticket, and what happened next:
    ``deflected`` once they opened one (and did not submit), ``submitted`` with the ticket."""

    __tablename__ = "kb_deflections"
    __table_args__ = (
        CheckConstraint(f"outcome IN {DEFLECTION_OUTCOMES!r}", name="outcome"),
        CheckConstraint(f"channel IN {DEFLECTION_CHANNELS!r}", name="channel"),
        Index("ix_kb_deflections_created_at", "created_at"),
    )

    key: Mapped[str] = mapped_column(String(64), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    lang: Mapped[str] = mapped_column(String(16))
    query: Mapped[str] = mapped_column(Text, default="")
    shown_slugs: Mapped[list[str]] = mapped_column(default=list)
    read_slug: Mapped[str | None] = mapped_column(String(120), default=None)
    outcome: Mapped[str] = mapped_column(String(16), default="pending")
    ticket_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="SET NULL"), default=None)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)


class StatusEntry(IdMixin, CreatedMixin, Base):
    """A line of the status page: planned maintenance, an incident, or one network's deposits
    or withdrawals (``USDT`` on ``TRC20``, withdrawals ``delayed``). Current while
    ``starts_at <= now < ends_at`` (no end: until someone ends it)."""

    __tablename__ = "status_entries"
    __table_args__ = (
        CheckConstraint(f"kind IN {STATUS_KINDS!r}", name="kind"),
        CheckConstraint(f"state IN {STATUS_STATES!r}", name="state"),
        CheckConstraint(f"direction IS NULL OR direction IN {STATUS_DIRECTIONS!r}",
                        name="direction"),
        CheckConstraint("kind != 'network' OR (network != '' AND direction IS NOT NULL)",
                        name="network_fields"),
        CheckConstraint("ends_at IS NULL OR ends_at > starts_at", name="period"),
    )

    kind: Mapped[str] = mapped_column(String(16))
    coin: Mapped[str] = mapped_column(String(16), default="")
    network: Mapped[str] = mapped_column(String(32), default="")
    direction: Mapped[str | None] = mapped_column(String(16), default=None)
    state: Mapped[str] = mapped_column(String(16))
    titles: Mapped[dict[str, Any]] = mapped_column(default=dict)
    bodies: Mapped[dict[str, Any]] = mapped_column(default=dict)
    starts_at: Mapped[datetime] = mapped_column(index=True)
    ends_at: Mapped[datetime | None] = mapped_column(default=None)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), default=None)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)
