"""Telegram in (SPEC §G, §H): ``POST /channels/telegram/webhook`` turns what people write to the
bot into tickets and messages.

- **verify**: Telegram sends ``X-Telegram-Bot-Api-Secret-Token`` (set by ``kefu telegram
  set-webhook``); it is compared in constant time, 401 otherwise. The channel is off (404) while
  no bot token is configured.
- **parse_inbound**: the body is a Bot API ``Update``; not JSON or not an update → 400. Kinds we
  do not handle are answered 200 and ignored: Telegram retries a non-2xx answer for a day.
- Every update is handled once: its ``update_id`` is recorded in the update's own transaction,
  and each message is recorded in ``channel_messages`` as ``<chat id>:<message id>``.
- **Private chats**: the Telegram user is a customer (``telegram:<user id>``, bound through
  ``channel_identities``) who writes through :mod:`kefu.tickets.replies` exactly as on the
  portal: the secret guard masks before storage, language, cool-downs, duplicate merging and the
  assistant apply. A message with a secret is also deleted from the chat (job), so a seed phrase
  does not stay in the chat history; the service's notice tells the customer what was hidden.
  Photos and files go through the attachment pipeline (sniffed, size-capped, text guarded,
  withheld when it holds a secret); they are fetched from Telegram before the update writes
  anything, so no database lock waits on Telegram.
- **Groups**: the bot reacts only when mentioned, replied to or given a command. Requests are
  never answered in public: the group gets a single-use deep link to a private chat (account
  data — a txid, an address, an order id, account words — makes the reply say why); nothing of
  the public text is stored. A secret posted in a group is deleted there, with a warning.
- A flood from one Telegram user is cut by a per-user rate limit (other users are unaffected);
  what was refused is answered 200 (Telegram would retry it) and the user is told once."""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from tempfile import SpooledTemporaryFile
from typing import Annotated, Final

import httpx
from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts.actor import Actor
from kefu.accounts.models import Customer
from kefu.assistant.facts import extract_facts
from kefu.channels.models import ChannelIdentity, ChannelMessage, TelegramLink, TelegramUpdate
from kefu.channels.telegram_api import (
    DOWNLOAD_CHUNK,
    WEBHOOK_PATH,
    BotApi,
    FileTooLarge,
    TelegramError,
    TgMessage,
    TgUser,
    Update,
)
from kefu.channels.telegram_notices import NoticeKind, enqueue_delete, enqueue_notice, lang_of
from kefu.config import Settings
from kefu.core import clock
from kefu.core.errors import KefuError, NotFound, Unauthorized
from kefu.core.http import SessionDep, SettingsDep
from kefu.core.ids import new_id
from kefu.core.logging import get_logger
from kefu.db import insert_or_ignore, savepoint
from kefu.guard.secrets import scan
from kefu.tickets import replies, schemas
from kefu.tickets.attachments import AttachmentStore, AttachmentTooLarge, AttachmentTypeNotAllowed
from kefu.tickets.creation import open_for_actor
from kefu.tickets.models import Attachment, Ticket
from kefu.tickets.uploads import upload_attachment
from kefu.trust.errors import CoolingDown, TooManyRequests
from kefu.trust.ratelimit import Limiter, Rate, limiter_of

log = get_logger("kefu.channels.telegram")
router = APIRouter(tags=["channels"])

SECRET_HEADER: Final = "X-Telegram-Bot-Api-Secret-Token"
# Per Telegram user: a burst of 20 messages, then one every 3 s.
USER_RATE: Final = Rate(20, 60)
NOTICE_RATE: Final = Rate(1, 60)  # "you are sending too fast", at most once a minute
LINK_LIFETIME: Final = timedelta(hours=24)
UPDATE_RETENTION: Final = timedelta(days=3)
SPOOL_IN_MEMORY: Final = 1024 * 1024  # a fetched file's bytes past this wait on disk
# Requests about someone's own account, in the words people use (facts cover ids and amounts).
ACCOUNT_WORDS: Final = re.compile(
    r"\b(?:deposit(?:s|ed)?|withdraw(?:al|als|n|ing)?|my\s+(?:account|balance|order|funds|wallet)"
    r"|balance|kyc|frozen|unfreeze|2fa)\b|充值|提币|提现|账户|賬戶|账号|余额|订单|冻结|到账",
    re.IGNORECASE)


class TelegramUnavailable(KefuError):
    """A file could not be fetched from Telegram: 503, nothing stored, Telegram retries."""

    def __init__(self) -> None:
        super().__init__("Telegram did not hand over the file; try again later",
                         code="telegram_unavailable", status=503)


# ---------------------------------------------------------------- the route


@router.post(WEBHOOK_PATH, responses={
    400: {"description": "Not JSON, or not a Telegram update"},
    401: {"description": "Missing or wrong secret token"},
    404: {"description": "Telegram is not configured"}})
async def webhook(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    secret_token: Annotated[str | None, Header(alias=SECRET_HEADER)] = None,
) -> JSONResponse:
    """Telegram's webhook. 200 means handled (or deliberately ignored); Telegram retries
    anything else."""
    verify(settings, secret_token)
    update = parse_inbound(await request.body())
    await handle_update(session, settings, limiter_of(request.app), update)
    return JSONResponse({"ok": True})


def verify(settings: Settings, secret_token: str | None) -> None:
    if settings.telegram_bot_token is None or settings.telegram_webhook_secret is None:
        raise NotFound("channel")
    expected = settings.telegram_webhook_secret.get_secret_value().encode()
    if not hmac.compare_digest((secret_token or "").encode(), expected):
        raise Unauthorized("missing or wrong secret token", code="invalid_secret_token")


def parse_inbound(body: bytes) -> Update:
    try:
        return Update.model_validate_json(body)
    except ValidationError as exc:
        errors = exc.errors(include_input=False)
        if any(e["type"] == "json_invalid" for e in errors):
            raise KefuError("request body is not valid JSON", code="malformed_json",
                            status=400) from None
        first = errors[0]
        where = ".".join(str(p) for p in first["loc"])
        raise KefuError(f"not a Telegram update: {where}: {first['msg']}", code="invalid_update",
                        status=400) from None


# ---------------------------------------------------------------- updates


async def handle_update(
    session: AsyncSession, settings: Settings, limiter: Limiter, update: Update
) -> None:
    """Handle one update once; a re-delivered one stores and sends nothing. A private message's
    file is fetched from Telegram before anything is written (see ``Download``)."""
    if await session.scalar(select(TelegramUpdate.update_id).where(
            TelegramUpdate.update_id == update.update_id)) is not None:
        return  # handled before: a read, so a re-delivery takes no write lock either
    message = update.message or update.edited_message
    user = message.sender if message is not None else None
    limited = user is not None and not user.is_bot and await limiter.hit(
        f"telegram:user:{user.id}", USER_RATE) is not None
    download = None
    if (message is not None and user is not None and not user.is_bot and not limited
            and message.chat.type == "private"):
        download = await prefetch(settings, message)
    try:
        await _handle(session, settings, limiter, update, limited, download)
    finally:
        if download is not None:
            download.close()


async def _handle(
    session: AsyncSession, settings: Settings, limiter: Limiter, update: Update, limited: bool,
    download: Download | None,
) -> None:
    now = clock.now()
    if not await insert_or_ignore(session, TelegramUpdate,
                                  {"update_id": update.update_id, "received_at": now}):
        return  # a delivery of the same update running beside this one got there first
    if update.update_id % 100 == 0:
        await session.execute(delete(TelegramUpdate).where(
            TelegramUpdate.received_at < now - UPDATE_RETENTION))
    message = update.message or update.edited_message
    if message is None or message.sender is None or message.sender.is_bot:
        return  # a kind we do not handle, a channel post, another bot
    user = message.sender
    if limited:
        if message.chat.type == "private" and await limiter.hit(
                f"telegram:notice:{user.id}", NOTICE_RATE) is None:
            await enqueue_notice(session, "rate_limited", chat_id=message.chat.id,
                                 lang=lang_of(user.language_code),
                                 dedupe=f"u{update.update_id}")
        log.info("telegram_rate_limited", telegram_user=user.id)
        return
    if message.chat.type == "private":
        await on_private_message(session, settings, update.update_id, message, user,
                                 edited=update.message is None, download=download)
    elif message.chat.type in ("group", "supergroup"):
        await on_group_message(session, settings, update.update_id, message, user)


def command_of(text: str, username: str) -> tuple[str, str] | None:
    """``("start", "abc")`` for ``/start abc`` or ``/start@ourbot abc``; None for text that
    is not a command, or one addressed to another bot."""
    if not text.startswith("/"):
        return None
    head, _, rest = text.partition(" ")
    name, _, bot = head[1:].partition("@")
    if bot and bot.lower() != username.lower():
        return None
    return name.lower(), rest.strip()


def addressed(message: TgMessage, username: str) -> bool:
    """In a group: a command, a mention of the bot, or a reply to one of its messages."""
    text = message.content
    if f"@{username.lower()}" in text.lower():
        return True
    if command_of(text, username) is not None:
        return True
    replied = message.reply_to_message
    return (replied is not None and replied.sender is not None
            and (replied.sender.username or "").lower() == username.lower())


def account_data(text: str) -> bool:
    """Whether a request involves someone's own account: a txid, an address, an order id, or
    words like deposit, withdrawal, my account, 充值, 提币, 账户."""
    facts = extract_facts(text)
    return bool(facts.tx_ids or facts.addresses or facts.invalid_addresses or facts.order_ids
                or ACCOUNT_WORDS.search(text))


async def on_group_message(
    session: AsyncSession, settings: Settings, update_id: int, message: TgMessage, user: TgUser
) -> None:
    """Nothing of a group message is stored. A secret is deleted and warned about; a request
    to the bot gets a single-use link to a private chat."""
    username = settings.telegram_bot_username or ""
    text = message.content
    lang = lang_of(user.language_code)
    if not scan(text).clean:
        await enqueue_delete(session, chat_id=message.chat.id, message_id=message.message_id)
        await enqueue_notice(session, "group_secret", chat_id=message.chat.id, lang=lang,
                             dedupe=f"u{update_id}")
        return
    if not addressed(message, username):
        return
    link = TelegramLink(token=secrets.token_urlsafe(24), telegram_user_id=user.id,
                        group_chat_id=message.chat.id, expires_at=clock.now() + LINK_LIFETIME)
    session.add(link)
    await session.flush()
    kind: NoticeKind = "private_redirect_account" if (
        account_data(text) or message.photo or message.document) else "private_redirect"
    await enqueue_notice(session, kind, chat_id=message.chat.id, lang=lang,
                         reply_to=message.message_id, link_id=link.id, dedupe=f"u{update_id}")


# ---------------------------------------------------------------- private chats


async def telegram_customer(session: AsyncSession, user: TgUser, chat_id: int) -> Customer:
    """The customer behind a Telegram user, created on first contact, with the private chat
    where replies go. Two first updates racing insert once (insert-or-ignore)."""
    address = str(user.id)
    name = scan(" ".join(p for p in (user.first_name, user.last_name) if p)).masked[:100]
    now = clock.now()
    identity = await _identity(session, address)
    if identity is None:
        external_id = f"telegram:{user.id}"
        language = (user.language_code or "en").split("-")[0].lower()[:16] or "en"
        await insert_or_ignore(session, Customer, {
            "id": new_id(), "external_id": external_id,
            "display_name": name, "email": None, "language": language, "vip_tier": 0,
            "flags": [], "is_visitor": False, "created_at": now})
        customer_id = await session.scalar(
            select(Customer.id).where(Customer.external_id == external_id))
        await insert_or_ignore(session, ChannelIdentity, {
            "id": new_id(), "channel": "telegram", "address": address,
            "customer_id": customer_id, "display_name": name, "chat_ref": str(chat_id),
            "last_seen_at": now, "created_at": now})
        identity = await _identity(session, address)
        assert identity is not None
    identity.chat_ref, identity.last_seen_at = str(chat_id), now
    if name:
        identity.display_name = name
    customer = await session.get(Customer, identity.customer_id)
    assert customer is not None
    return customer


async def _identity(session: AsyncSession, address: str) -> ChannelIdentity | None:
    return await session.scalar(select(ChannelIdentity).where(
        ChannelIdentity.channel == "telegram", ChannelIdentity.address == address))


async def on_private_message(
    session: AsyncSession, settings: Settings, update_id: int, message: TgMessage,
    user: TgUser, *, edited: bool, download: Download | None = None,
) -> None:
    customer = await telegram_customer(session, user, message.chat.id)
    lang = lang_of(user.language_code)
    command = command_of(message.content, settings.telegram_bot_username or "")
    if command is not None and command[0] in ("start", "help") and not edited:
        await on_start(session, update_id, message, user, customer, token=command[1])
        return
    try:
        async with savepoint(session):
            ticket, secret_seen = await ingest_private(session, settings, customer, message,
                                                       edited=edited, lang=lang,
                                                       download=download)
    except TooManyRequests as exc:
        kind: NoticeKind = "cooling_down" if isinstance(exc, CoolingDown) else "rate_limited"
        await enqueue_notice(session, kind, chat_id=message.chat.id, lang=lang,
                             customer_id=customer.id, dedupe=f"u{update_id}")
        return
    if ticket is not None and secret_seen:
        await enqueue_delete(session, chat_id=message.chat.id, message_id=message.message_id)


async def on_start(
    session: AsyncSession, update_id: int, message: TgMessage, user: TgUser,
    customer: Customer, *, token: str,
) -> None:
    """``/start``: a greeting that says how to check the bot is official. ``/start <token>``
    from a group's deep link binds this private chat to that request (once, asker only)."""
    lang = lang_of(user.language_code)
    kind: NoticeKind = "greeting"
    if token:
        link = await session.scalar(select(TelegramLink).where(TelegramLink.token == token[:64])
                                    .with_for_update())
        if (link is None or link.used_at is not None or link.expires_at <= clock.now()
                or link.telegram_user_id != user.id):
            kind = "link_invalid"
        else:
            link.used_at, link.customer_id = clock.now(), customer.id
            kind = "bound"
    await enqueue_notice(session, kind, chat_id=message.chat.id, lang=lang,
                         customer_id=customer.id, dedupe=f"u{update_id}")


async def open_ticket(session: AsyncSession, settings: Settings,
                      customer: Customer) -> Ticket | None:
    """The customer's Telegram conversation that a new message continues: the latest one not
    closed (a resolved one only within the reopen window)."""
    ticket = await session.scalar(
        select(Ticket).where(Ticket.customer_id == customer.id, Ticket.channel == "telegram",
                             Ticket.merged_into_id.is_(None), Ticket.status != "closed")
        .order_by(Ticket.updated_at.desc()).limit(1))
    if ticket is not None and ticket.status == "resolved" and (
            ticket.resolved_at is None or clock.now() - ticket.resolved_at
            > timedelta(seconds=settings.reopen_window_s)):
        return None
    return ticket


def _body(message: TgMessage, *, edited: bool) -> str:
    text = message.content.replace("\x00", "").strip()
    if not text:
        if message.photo:
            text = "📷 photo"
        elif message.document is not None:
            text = f"📎 {message.document.file_name or 'file'}"
        else:
            text = "(a message the bot cannot show: sticker, voice, location…)"
    if edited:
        text = f"(edited) {text}"
    return text[:schemas.MAX_BODY]


async def ingest_private(
    session: AsyncSession, settings: Settings, customer: Customer, message: TgMessage, *,
    edited: bool, lang: str, download: Download | None = None,
) -> tuple[Ticket | None, bool]:
    """Store one private message as the customer, with its file as ``download`` fetched it;
    returns its ticket and whether a secret was hidden (in the text or in a file). Raises
    ``TooManyRequests`` during a cool-down."""
    actor = Actor(kind="customer", customer=customer)
    chat_id, message_id = message.chat.id, message.message_id
    external_id = f"{chat_id}:{message_id}" + (f":e{message.edit_date}" if edited else "")
    if await session.scalar(select(ChannelMessage.id).where(
            ChannelMessage.channel == "telegram", ChannelMessage.external_id == external_id)):
        return None, False
    body = _body(message, edited=edited)
    client_msg_id = f"tg:{external_id}"[:64]
    secret_seen = not scan(body).clean
    store = AttachmentStore(settings)
    attachments: list[Attachment] = []
    try:
        ticket = await open_ticket(session, settings, customer)
        if ticket is not None:
            attachments = await store_file(session, settings, actor, store, ticket, message,
                                            download, lang=lang)
            stored = await replies.reply(session, actor, settings, ticket, schemas.ReplyCreate(
                body=body, attachment_ids=[a.id for a in attachments],
                client_msg_id=client_msg_id))
        else:
            subject = body.splitlines()[0][:80] if body.strip() else "Telegram"
            opened = await open_for_actor(session, actor, schemas.TicketCreate(
                subject=subject, body=body, channel="telegram", client_msg_id=client_msg_id))
            ticket, stored = opened.ticket, opened.message
            attachments = await store_file(session, settings, actor, store, ticket, message,
                                            download, lang=lang)
            for attachment in attachments:
                attachment.message_id = stored.id  # the files came with this message
            await session.flush()
    except BaseException:
        for attachment in attachments:
            if attachment.withheld_reason is None:
                store.delete(attachment.storage_key)
        raise
    await insert_or_ignore(session, ChannelMessage, {
        "id": new_id(), "channel": "telegram", "direction": "in", "external_id": external_id,
        "ticket_id": stored.ticket_id, "message_id": stored.id, "created_at": clock.now()})
    withheld = any(a.withheld_reason is not None for a in attachments)
    return ticket, secret_seen or withheld


@dataclass
class Download:
    """A private message's file, fetched from Telegram before the update writes anything: on
    SQLite a write transaction held across a download would stall every other writer (the
    chat's included) for as long as Telegram takes. ``data`` holds the bytes (in memory up to
    1 MB, then on disk); ``refused`` says why there are none (a ``FILE_REFUSED`` reason)."""

    filename: str
    data: SpooledTemporaryFile[bytes] | None = None
    refused: str = ""

    async def chunks(self) -> AsyncIterator[bytes]:
        assert self.data is not None
        self.data.seek(0)
        while chunk := self.data.read(DOWNLOAD_CHUNK):
            yield chunk

    def close(self) -> None:
        if self.data is not None:
            self.data.close()


async def prefetch(settings: Settings, message: TgMessage) -> Download | None:
    """The message's photo (its largest size within the limit) or document, or None when it
    has none. A file over the limit is refused, not fetched on; one Telegram does not hand over
    is a 503 (``TelegramUnavailable``, retried by Telegram) before anything is stored."""
    limit = settings.max_attachment_bytes
    file_id, filename = _file_of(message, limit)
    if file_id is None:
        return None
    # the Download closes it, or the handlers below
    spool: SpooledTemporaryFile[bytes] = SpooledTemporaryFile(  # noqa: SIM115
        max_size=SPOOL_IN_MEMORY)
    try:
        async with httpx.AsyncClient(follow_redirects=False) as http:
            api = BotApi.of(settings, http)
            found = await api.call("getFile", {"file_id": file_id})
            path = found.get("file_path") if isinstance(found, dict) else None
            if not path:
                spool.close()
                return Download(filename, refused="not_fetchable")
            async for chunk in api.download(str(path), limit=limit):
                spool.write(chunk)
    except FileTooLarge:
        spool.close()
        return Download(filename, refused="too_large")
    except TelegramError as exc:
        spool.close()
        log.warning("telegram_file_unavailable", error_code=exc.error_code)
        raise TelegramUnavailable from None
    except BaseException:
        spool.close()
        raise
    return Download(filename, spool)


async def store_file(
    session: AsyncSession, settings: Settings, actor: Actor, store: AttachmentStore,
    ticket: Ticket, message: TgMessage, download: Download | None, *, lang: str,
) -> list[Attachment]:
    """The fetched file through the attachment pipeline. A file it refuses (too large, a type
    not accepted), or one ``prefetch`` refused, is not kept and the customer is told."""
    if download is None:
        return []
    reason, kind = download.refused, ""
    if download.data is not None:
        try:
            return [await upload_attachment(
                session, actor, store, ticket, filename=download.filename,
                chunks=download.chunks())]
        except AttachmentTooLarge:
            reason = "too_large"
        except AttachmentTypeNotAllowed as exc:
            reason, kind = "type", str(exc.values.get("kind", ""))
    await enqueue_notice(session, "file_refused", chat_id=message.chat.id, lang=lang,
                         customer_id=actor.customer.id if actor.customer else None,
                         reason=reason, reason_values={
                             "mb": str(settings.max_attachment_bytes // (1024 * 1024)),
                             "kind": kind},
                         dedupe=f"f{message.chat.id}:{message.message_id}")
    return []


def _file_of(message: TgMessage, limit: int) -> tuple[str | None, str]:
    if message.photo:
        fitting = [p for p in message.photo if p.file_size is None or p.file_size <= limit]
        best = max(fitting or message.photo, key=lambda p: (p.width * p.height,
                                                            p.file_size or 0))
        return best.file_id, f"photo_{message.message_id}.jpg"
    if message.document is not None:
        return message.document.file_id, message.document.file_name or "file"
    return None, ""
