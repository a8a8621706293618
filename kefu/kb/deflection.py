"""Deflection: while a customer writes a new ticket (portal form, the widget's first message),
matching articles appear; Kefu records what happened next.

One *key* per message being written (issued by the page or by the first suggestion call) ties
it together: suggestions shown (``pending``), an article opened from them (``deflected`` — the
customer left after reading), a ticket submitted with the key anyway (``submitted``, final)."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.core import clock
from kefu.core.i18n import SUPPORTED
from kefu.core.ids import new_id, new_token
from kefu.db import insert_or_ignore
from kefu.kb.finder import Found, find
from kefu.kb.indexing import ArticleIndex
from kefu.kb.models import Deflection
from kefu.kb.service import article_url
from kefu.search.analyze import has_han
from kefu.tickets.models import Ticket

SUGGESTIONS = 3
MIN_QUERY_CHARS = 4  # Latin text; two Chinese characters already say something (出金, 钱没到)
MIN_HAN_CHARS = 2
QUERY_CHARS = 2000
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def new_key() -> str:
    return new_token(18)


def valid_key(key: str | None) -> str | None:
    return key if key and KEY_PATTERN.match(key) else None


async def get(session: AsyncSession, key: str) -> Deflection | None:
    return await session.scalar(select(Deflection).where(Deflection.key == key))


async def suggest(
    session: AsyncSession, index: ArticleIndex, *, key: str, channel: str, lang: str,
    text: str,
) -> list[Found]:
    """Up to three relevant public articles for what the customer is writing; the ones shown
    are remembered under ``key``."""
    text = " ".join(text.split())[:QUERY_CHARS]
    if len(text) < (MIN_HAN_CHARS if has_han(text) else MIN_QUERY_CHARS):
        return []
    found = (await find(session, index, query=text, lang=lang, k=SUGGESTIONS * 2,
                        relevant_only=True))[:SUGGESTIONS]
    if not found:
        return []
    if lang in SUPPORTED:
        # In the reader's help center, which shows another language's article with a notice:
        # /help/en/… would turn a Chinese reader's interface, and the form they return to, English.
        found = [replace(f, url=article_url(f.slug, lang) + _fragment(f.url)) for f in found]
    now = clock.now()
    await insert_or_ignore(session, Deflection.__table__, {
        "id": new_id(), "key": key, "channel": channel, "lang": lang,
        "query": text, "shown_slugs": [], "outcome": "pending", "created_at": now,
        "updated_at": now})
    deflection = await get(session, key)
    assert deflection is not None
    shown = list(deflection.shown_slugs)
    shown += [f.slug for f in found if f.slug not in shown]
    deflection.shown_slugs, deflection.query, deflection.updated_at = shown, text, now
    await session.flush()
    return found


def _fragment(url: str) -> str:
    anchor = url.partition("#")[2]
    return f"#{anchor}" if anchor else ""


async def mark_read(session: AsyncSession, key: str, slug: str) -> None:
    """The customer opened an article from the suggestions: deflected, unless they submit."""
    deflection = await get(session, key)
    if deflection is None or deflection.outcome == "submitted":
        return
    deflection.outcome, deflection.read_slug = "deflected", slug
    deflection.updated_at = clock.now()


async def mark_submitted(session: AsyncSession, key: str, ticket: Ticket) -> Deflection | None:
    """The customer sent the ticket anyway (final). None when no suggestion was ever shown."""
    deflection = await get(session, key)
    if deflection is None:
        return None
    deflection.outcome, deflection.ticket_id = "submitted", ticket.id
    deflection.updated_at = clock.now()
    await session.flush()
    return deflection


@dataclass(frozen=True)
class DeflectionStats:
    shown: int
    deflected: int
    submitted: int
    pending: int

    @property
    def rate(self) -> float | None:
        """Of the customers who saw suggestions and then acted, the share who left after
        reading."""
        decided = self.deflected + self.submitted
        return self.deflected / decided if decided else None


async def stats(session: AsyncSession, *, since: datetime, until: datetime) -> DeflectionStats:
    rows = dict((await session.execute(
        select(Deflection.outcome, func.count()).where(
            Deflection.created_at >= since, Deflection.created_at < until)
        .group_by(Deflection.outcome))).all())
    return DeflectionStats(shown=sum(rows.values()), deflected=rows.get("deflected", 0),
                           submitted=rows.get("submitted", 0), pending=rows.get("pending", 0))
