"""Telegram out: the sender of ``channels.deliver`` for Telegram tickets.

A message goes to the private chat of the customer's Telegram identity as plain text (no
``parse_mode``, so nothing in it is read as markup), stamped with the customer's anti-phishing
code, in pieces of at most 4096 characters; then each attachment as a photo or a document.

Idempotent across retries: every piece Telegram accepted is recorded in ``channel_messages``
(direction ``out``) in its own transaction at once, and a retry sends only the pieces after the
last one recorded. (A crash between Telegram's answer and that commit can repeat one piece: the
unavoidable at-least-once of any outside call.)

Without a bot token the message is recorded as not delivered (a ``delivery_failed`` event), as
the email sender does. Failures: a 429 is retried after Telegram's ``retry_after``; no answer or
a 5xx with the job runner's backoff; a 403 (the customer blocked the bot) or another refusal
is final: the ticket gets an internal note and a ``delivery_failed`` event, so the agent
knows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.channels.delivery import Outgoing
from kefu.channels.models import ChannelIdentity, ChannelMessage
from kefu.channels.telegram_api import MAX_TEXT, BotApi, TelegramError, split_text
from kefu.core import clock
from kefu.core.ids import new_id
from kefu.core.logging import get_logger
from kefu.db import Database, insert_or_ignore
from kefu.jobs.runner import JobContext, RetryLater
from kefu.tickets.attachments import AttachmentStore
from kefu.tickets.events import record_event
from kefu.tickets.guarding import SYSTEM
from kefu.tickets.messages import MessageAuthor, add_message
from kefu.tickets.models import Attachment
from kefu.trust.antiphishing import anti_phishing_code, stamp, stamp_line

log = get_logger("kefu.channels.telegram")

PHOTO_TYPES: Final = ("image/jpeg", "image/png", "image/webp")
MAX_PHOTO_BYTES: Final = 10 * 1024 * 1024  # sendPhoto's limit; larger images go as documents


@dataclass(frozen=True)
class Piece:
    """One Telegram message of the many a ticket message may become."""

    text: str | None = None
    attachment: Attachment | None = None


async def send(session: AsyncSession, out: Outgoing, ctx: JobContext) -> None:
    """Deliver ``out.message``; raises to be retried (see the module's docstring)."""
    settings = ctx.settings
    if not settings.telegram_enabled:
        # As for email: a deployment without the channel records it, nothing to retry.
        await record_event(session, SYSTEM, out.ticket, "delivery_failed", {
            "channel": "telegram", "message_id": str(out.message.id),
            "reason": "Telegram is not configured (KEFU_TELEGRAM_BOT_TOKEN)"})
        await session.flush()
        log.warning("telegram_not_configured", ticket=out.ticket.number)
        return
    identity = await session.scalar(
        select(ChannelIdentity).where(ChannelIdentity.channel == "telegram",
                                      ChannelIdentity.customer_id == out.customer.id,
                                      ChannelIdentity.chat_ref.is_not(None))
        .order_by(ChannelIdentity.last_seen_at.desc()).limit(1))
    if identity is None or identity.chat_ref is None:
        await undeliverable(session, out, "the customer has no private chat with the bot", 0)
        return
    pieces = await pieces_of(session, out)
    done = await session.scalar(select(func.count()).select_from(ChannelMessage).where(
        ChannelMessage.channel == "telegram", ChannelMessage.direction == "out",
        ChannelMessage.message_id == out.message.id)) or 0
    api = BotApi.of(settings, ctx.http)
    store = AttachmentStore(settings)
    chat_id = int(identity.chat_ref)
    for piece in pieces[done:]:
        try:
            sent = await _send_piece(api, store, chat_id, piece)
        except TelegramError as exc:
            if exc.error_code == 429:
                raise RetryLater(str(exc), delay_s=exc.retry_after or 1.0) from None
            if exc.transient:
                raise
            await undeliverable(session, out, _reason(exc), exc.error_code)
            return
        await _record_sent(ctx.db, out, chat_id, sent)


async def pieces_of(session: AsyncSession, out: Outgoing) -> list[Piece]:
    """The text in stamped pieces, then the files (withheld ones have no bytes to send)."""
    code = await anti_phishing_code(session, out.customer.id)
    lang = out.ticket.language
    room = MAX_TEXT - (len(stamp_line(code, lang)) + 2 if code else 0)
    pieces = [Piece(text=stamp(part, code, lang)) for part in split_text(out.message.body, room)
              if part.strip()]
    files = await session.scalars(select(Attachment).where(
        Attachment.message_id == out.message.id, Attachment.withheld_reason.is_(None))
        .order_by(Attachment.created_at, Attachment.id))
    return pieces + [Piece(attachment=a) for a in files]


async def _send_piece(api: BotApi, store: AttachmentStore, chat_id: int, piece: Piece) -> int:
    if piece.attachment is None:
        result = await api.call("sendMessage", {"chat_id": chat_id, "text": piece.text or ""})
    else:
        attachment = piece.attachment
        data = store.path_for(attachment.storage_key).read_bytes()
        photo = attachment.content_type in PHOTO_TYPES and attachment.size <= MAX_PHOTO_BYTES
        field = "photo" if photo else "document"
        result = await api.call("sendPhoto" if photo else "sendDocument", {"chat_id": chat_id},
                                files={field: (attachment.filename, data,
                                               attachment.content_type)})
    if not isinstance(result, dict) or not isinstance(result.get("message_id"), int):
        raise TelegramError("send", 0, "the answer has no message_id")
    return int(result["message_id"])


async def _record_sent(db: Database, out: Outgoing, chat_id: int, telegram_id: int) -> None:
    """Committed at once, outside the job's transaction: a later failure of this job must
    not forget what Telegram already shows the customer."""
    async with db.transaction() as session:
        await insert_or_ignore(session, ChannelMessage, {
            "id": new_id(), "channel": "telegram", "direction": "out",
            "external_id": f"{chat_id}:{telegram_id}", "ticket_id": out.ticket.id,
            "message_id": out.message.id, "created_at": clock.now()})


def _reason(exc: TelegramError) -> str:
    if exc.blocked:
        return "the customer blocked the bot or left Telegram"
    return f"Telegram refused it ({exc.error_code} {exc.description})"


async def undeliverable(session: AsyncSession, out: Outgoing, reason: str, code: int) -> None:
    """Tell the agents, on the ticket, that the customer did not get a message."""
    body = (f"Not delivered on Telegram: {reason}. The customer did not get the message sent at "
            f"{out.message.created_at:%Y-%m-%d %H:%M} UTC; reach them another way.")
    await add_message(session, out.ticket, MessageAuthor("system"), body=body, internal=True)
    data: dict[str, Any] = {"channel": "telegram", "message_id": str(out.message.id),
                            "error_code": code}
    await record_event(session, SYSTEM, out.ticket, "delivery_failed", data)
    await session.flush()
    log.warning("telegram_undeliverable", ticket=out.ticket.number, error_code=code)
