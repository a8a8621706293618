"""Inbound email: one message (from the SMTP listener or ``kefu email ingest``) becomes a ticket
or a reply on one, exactly as if the customer had written on the portal.

``ingest_email`` is the whole path, in one transaction:

1. **Parse** (:mod:`kefu.channels.email_parse`). Bytes that are not a message, or have no
   sender, are refused (``EmailRefused``: SMTP 550, exit code 2).
2. **Once.** A Message-ID already in ``channel_messages`` is a re-delivery: nothing is stored.
3. **Bounces** create no ticket. A delivery report about one of our outbound mails becomes an
   internal note and an ``email_bounced`` event on its ticket, so agents see the customer did
   not get it; any other report is dropped. Mail from our own addresses is dropped (a loop).
4. **Who.** The sender's address (lower-cased) in ``channel_identities``; else the customer with
   that ``email``; else a new customer ``email:<address>`` named from the From header. The
   address is bound to the customer.
5. **Rate.** A sender with ``email_rate_limit`` mails in ``email_rate_window_s`` is deferred
   (``EmailDeferred``: SMTP 451, exit code 75, the sending server tries again later), and so is
   one in an abuse cool-down. At most ``email_new_tickets_per_hour`` new tickets an hour; past
   that a new request joins the sender's newest open email ticket. Counted in the database, so
   the pipe transport (a process per mail) and several app processes share the limits.
6. **Where.** In-Reply-To/References naming a mail of a ticket (ours or the customer's), else a
   ``[KF-XXXXXX]`` in the subject; either only when that ticket is the sender's own, so knowing
   a number or a Message-ID lets no stranger write into someone's ticket. Otherwise, or when the
   ticket is closed or was resolved longer ago than the reopen window, a new ticket on channel
   ``email``. Replies and new tickets go through ``tickets.replies.reply`` and
   ``open_for_actor`` acting as the customer: cool-downs, abuse screening, near-duplicate
   merging, reopening and the secret guard apply as on the portal.
7. **Files** go through ``upload_attachment`` (size cap, type sniffing, text extraction, the
   secret guard: a file holding a secret is withheld and the customer told). A file refused
   there is skipped with an internal note saying which and why; the mail still lands.
8. **Auto-reply** (job ``email.auto_reply``) to the first mail of a new ticket, unless a machine
   sent it (``ParsedEmail.auto``), at most one an hour to an address."""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Final, Literal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts.actor import Actor
from kefu.accounts.models import Customer
from kefu.channels.email_parse import MalformedEmail, ParsedEmail, parse_email
from kefu.channels.models import ChannelIdentity, ChannelMessage
from kefu.config import Settings
from kefu.core import clock
from kefu.core.errors import Conflict, KefuError
from kefu.core.ids import new_id, normalize_ticket_number
from kefu.core.language import detect_language
from kefu.core.logging import get_logger
from kefu.db import Database, insert_or_ignore
from kefu.guard.secrets import scan
from kefu.jobs.runner import enqueue
from kefu.tickets import schemas
from kefu.tickets.abuse_checks import ensure_may_write
from kefu.tickets.attachments import (
    AttachmentStore,
    AttachmentTooLarge,
    AttachmentTypeNotAllowed,
)
from kefu.tickets.creation import open_for_actor
from kefu.tickets.events import record_event
from kefu.tickets.messages import MessageAuthor, add_message
from kefu.tickets.models import Message, Ticket
from kefu.tickets.replies import reply
from kefu.tickets.uploads import upload_attachment
from kefu.trust.errors import RateLimited, TooManyRequests

log = get_logger("kefu.channels.email")

CHANNEL: Final = "email"
AUTO_REPLY_JOB: Final = "email.auto_reply"
SUBJECT_NUMBER: Final = re.compile(r"\[\s*(KF[-\s]?[0-9A-Za-z]{6})\s*\]", re.IGNORECASE)
_REPLY_PREFIX: Final = re.compile(
    r"^\s*((re|fw|fwd|aw|sv|antw|回复|回覆|答复|答覆|转发|轉寄)\s*(\[\d+\])?\s*[:：]\s*)+",
    re.IGNORECASE)
NO_TEXT: Final = "(no text)"
CLOSED: Final = ("closed",)


class EmailRefused(KefuError):
    """A message we will never take (not an email, no sender): SMTP 550, exit code 2."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="email_refused", status=422)


class EmailDeferred(KefuError):
    """Not now (the sender's rate, a cool-down): SMTP 451, exit code 75; the sending server
    delivers it again later, so nothing is lost."""

    def __init__(self, message: str, retry_after_s: float = 600.0) -> None:
        super().__init__(message, code="email_deferred", status=429)
        self.retry_after_s = retry_after_s


Outcome = Literal["created", "added", "duplicate", "bounce", "ignored"]


@dataclass(frozen=True)
class Ingested:
    """What became of a mail: a new ticket, a message ``added`` to one, a ``duplicate``
    re-delivery, a ``bounce`` recorded, or ``ignored`` (a report about nothing of ours, our
    own mail)."""

    outcome: Outcome
    ticket_number: str | None = None

    def describe(self) -> str:
        return f"{self.outcome} {self.ticket_number}" if self.ticket_number else self.outcome


# ---------------------------------------------------------------- entry point


async def ingest_email(
    db: Database, settings: Settings, raw: bytes, *, envelope_from: str | None = None,
    store: AttachmentStore | None = None,
) -> Ingested:
    """File one message (see the module's docstring). Raises ``EmailRefused`` or
    ``EmailDeferred``; anything else is a fault on our side (the listener answers 451)."""
    if len(raw) > settings.email_max_bytes:
        raise EmailRefused(f"the message is larger than {settings.email_max_bytes} bytes")
    try:
        parsed = parse_email(raw, envelope_from=envelope_from)
    except MalformedEmail as exc:
        raise EmailRefused(str(exc)) from exc
    store = store or AttachmentStore(settings)
    for attempt in (1, 2):
        files = _Files(store)
        try:
            async with db.transaction() as session:
                return await _ingest(session, settings, files, parsed)
        except IntegrityError:
            files.discard()
            # The same mail (or the same new sender) filed concurrently: the second try sees it.
            if attempt == 2:
                raise
        except TooManyRequests as exc:
            files.discard()
            raise EmailDeferred(exc.message, exc.retry_after_s) from exc
        except BaseException:
            files.discard()
            raise
    raise AssertionError("unreachable")  # pragma: no cover


class _Files:
    """The attachment store, and what this attempt stored in it: a rolled-back attempt
    deletes its files again."""

    def __init__(self, store: AttachmentStore) -> None:
        self.store = store
        self.keys: list[str] = []

    def discard(self) -> None:
        for key in self.keys:
            self.store.delete(key)
        self.keys.clear()


async def _ingest(
    session: AsyncSession, settings: Settings, files: _Files, parsed: ParsedEmail
) -> Ingested:
    if await _seen(session, parsed.message_id):
        return Ingested("duplicate")
    if parsed.bounce is not None:
        return await _record_bounce(session, parsed)
    if _from_us(settings, parsed.from_address):
        log.warning("email from our own address dropped (a mail loop?)")
        return Ingested("ignored")
    customer = await customer_for_address(session, parsed.from_address, parsed.from_name,
                                          text=f"{parsed.subject}\n{parsed.body}")
    await _check_rate(session, settings, customer)
    actor = Actor(kind="customer", customer=customer)
    ticket = await thread_ticket(session, customer, parsed)
    if ticket is not None:
        message = await _reply(session, settings, files, actor, ticket, parsed)
        if message is not None:
            return await _filed(session, parsed, ticket, message, "added")
    if await _new_tickets_this_hour(session, customer) >= settings.email_new_tickets_per_hour:
        newest = await _newest_open(session, customer)
        if newest is None:
            raise RateLimited(3600)
        message = await _reply(session, settings, files, actor, newest, parsed)
        if message is None:
            raise RateLimited(3600)
        return await _filed(session, parsed, newest, message, "added")
    opened = await open_for_actor(session, actor, schemas.TicketCreate(
        subject=ticket_subject(parsed), body=_body(parsed), channel=CHANNEL))
    await _attach(session, settings, files, actor, opened.ticket, opened.message, parsed)
    if ticket is not None:  # the mail answered a ticket that can take no more replies
        await add_message(session, opened.ticket, MessageAuthor("system"), internal=True,
                          body=f"Follow-up by email to {ticket.number} ({ticket.status}).")
    if opened.duplicate:
        return await _filed(session, parsed, opened.ticket, opened.message, "added")
    result = await _filed(session, parsed, opened.ticket, opened.message, "created")
    if parsed.auto is None and settings.email_auto_reply:
        await enqueue_auto_reply(session, opened.ticket, parsed.from_address)
    return result


async def _filed(
    session: AsyncSession, parsed: ParsedEmail, ticket: Ticket, message: Message,
    outcome: Outcome,
) -> Ingested:
    session.add(ChannelMessage(channel=CHANNEL, direction="in", external_id=parsed.message_id,
                               ticket_id=ticket.id, message_id=message.id))
    await session.flush()
    if parsed.auto is not None:
        await record_event(session, Actor(kind="anonymous"), ticket, "email_automatic",
                           {"reason": parsed.auto, "message_id": str(message.id)})
    return Ingested(outcome, ticket.number)


async def _seen(session: AsyncSession, external_id: str) -> bool:
    return await session.scalar(select(ChannelMessage.id).where(
        ChannelMessage.channel == CHANNEL, ChannelMessage.external_id == external_id)) is not None


def is_ours(settings: Settings, address: str) -> bool:
    """Whether mail to ``address`` is for us: one of ``email_domains`` (an address, or a domain
    with all its addresses), or ``support_email`` when that list is empty."""
    address = address.strip().strip("<>").lower()
    if "@" not in address:
        return False
    domain = address.rsplit("@", 1)[1]
    accepted = [a.strip().lower().lstrip("@") for a in settings.email_domains if a.strip()]
    if settings.support_email:
        accepted.append(settings.support_email.strip().lower())
    return any(address == a if "@" in a else domain == a for a in accepted)


def _from_us(settings: Settings, address: str) -> bool:
    """Mail from our own address (not our whole domain: colleagues write to support too)."""
    ours = [a.strip().lower() for a in (*settings.email_domains, settings.support_email or "")
            if "@" in a and not a.strip().startswith("@")]
    return address in ours


# ---------------------------------------------------------------- who


def _external_id(address: str) -> str:
    candidate = f"email:{address}"
    if len(candidate) <= 128:
        return candidate
    return "email:sha256:" + hashlib.sha256(address.encode()).hexdigest()


async def customer_for_address(
    session: AsyncSession, address: str, name: str, *, text: str = ""
) -> Customer:
    """The customer an address belongs to, creating and binding as needed (module docstring,
    step 4). The display name is guarded like anything else a customer writes; a new
    customer's language is the one ``text`` is written in."""
    now = clock.now()
    identity = await session.scalar(select(ChannelIdentity).where(
        ChannelIdentity.channel == CHANNEL, ChannelIdentity.address == address))
    display = scan(name).masked[:100] if name else ""
    if identity is None:
        customer = await session.scalar(
            select(Customer).where(func.lower(Customer.email) == address,
                                   Customer.is_visitor.is_(False))
            .order_by(Customer.created_at).limit(1))
        if customer is None:
            external = _external_id(address)
            detected = detect_language(text) if text.strip() else "und"
            language = detected if detected not in ("", "und") else "en"
            await insert_or_ignore(session, Customer, {
                "id": new_id(), "external_id": external,
                "display_name": display or address.split("@")[0][:100],
                "email": address[:254], "language": language, "vip_tier": 0, "flags": [],
                "is_visitor": False, "created_at": now})
            customer = await session.scalar(select(Customer).where(
                Customer.external_id == external))
            assert customer is not None
        await insert_or_ignore(session, ChannelIdentity, {
            "id": new_id(), "channel": CHANNEL, "address": address,
            "customer_id": customer.id, "display_name": display, "chat_ref": None,
            "last_seen_at": now, "created_at": now})
        identity = await session.scalar(select(ChannelIdentity).where(
            ChannelIdentity.channel == CHANNEL, ChannelIdentity.address == address))
        assert identity is not None
    identity.last_seen_at = now
    if display:
        identity.display_name = display
    customer = await session.get(Customer, identity.customer_id)
    assert customer is not None
    await session.flush()
    return customer


# ---------------------------------------------------------------- rate


async def _check_rate(session: AsyncSession, settings: Settings, customer: Customer) -> None:
    since = clock.now() - timedelta(seconds=settings.email_rate_window_s)
    recent = await session.scalar(
        select(func.count()).select_from(ChannelMessage)
        .join(Ticket, Ticket.id == ChannelMessage.ticket_id)
        .where(ChannelMessage.channel == CHANNEL, ChannelMessage.direction == "in",
               ChannelMessage.created_at >= since, Ticket.customer_id == customer.id))
    if (recent or 0) >= settings.email_rate_limit:
        log.warning("email deferred: sender over its rate", customer_id=str(customer.id))
        raise RateLimited(settings.email_rate_window_s)


async def _new_tickets_this_hour(session: AsyncSession, customer: Customer) -> int:
    count = await session.scalar(
        select(func.count()).select_from(Ticket)
        .where(Ticket.customer_id == customer.id, Ticket.channel == CHANNEL,
               Ticket.created_at >= clock.now() - timedelta(hours=1)))
    return int(count or 0)


async def _newest_open(session: AsyncSession, customer: Customer) -> Ticket | None:
    return await session.scalar(
        select(Ticket).where(Ticket.customer_id == customer.id, Ticket.channel == CHANNEL,
                             Ticket.status.not_in(("resolved", "closed")),
                             Ticket.merged_into_id.is_(None))
        .order_by(Ticket.created_at.desc()).limit(1))


# ---------------------------------------------------------------- where


async def _survivor(session: AsyncSession, ticket: Ticket | None) -> Ticket | None:
    """A merged ticket's survivor (merges may chain)."""
    for _ in range(10):
        if ticket is None or ticket.merged_into_id is None:
            return ticket
        ticket = await session.get(Ticket, ticket.merged_into_id)
    return ticket


async def thread_ticket(
    session: AsyncSession, customer: Customer, parsed: ParsedEmail
) -> Ticket | None:
    """The ticket this mail continues, if it is the customer's own: by the Message-IDs it
    answers, else by a ``[KF-XXXXXX]`` in its subject."""
    refs = parsed.thread_ids
    if refs:
        rows = dict((await session.execute(
            select(ChannelMessage.external_id, ChannelMessage.ticket_id)
            .where(ChannelMessage.channel == CHANNEL, ChannelMessage.external_id.in_(refs))
        )).all())
        for ref in refs:
            if ref in rows:
                ticket = await _survivor(session, await session.get(Ticket, rows[ref]))
                if ticket is not None and ticket.customer_id == customer.id:
                    return ticket
                break  # someone else's thread: only a number of the sender's own may count
    for match in SUBJECT_NUMBER.finditer(parsed.subject):
        number = normalize_ticket_number(match.group(1))
        if number is None:
            continue
        ticket = await _survivor(session, await session.scalar(
            select(Ticket).where(Ticket.number == number)))
        if ticket is not None and ticket.customer_id == customer.id:
            return ticket
    return None


def ticket_subject(parsed: ParsedEmail) -> str:
    """A new ticket's subject: the mail's, without reply prefixes and ticket tags; else the
    first words of its text."""
    subject = SUBJECT_NUMBER.sub(" ", parsed.subject)
    subject = _REPLY_PREFIX.sub("", subject.strip())
    subject = re.sub(r"\s+", " ", subject).strip()
    if not subject:
        first = next((line.strip() for line in parsed.body.splitlines() if line.strip()), "")
        subject = first[:80] or "(no subject)"
    return subject[:200]


def _body(parsed: ParsedEmail) -> str:
    body = parsed.body.replace("\x00", "").strip()
    if not body:
        return NO_TEXT
    if len(body) > schemas.MAX_BODY:
        # Cut at a line break, so that no secret is kept in part (and so not recognised).
        limit = schemas.MAX_BODY - 200
        end = body.rfind("\n", 0, limit)
        end = end if end > limit // 2 else limit
        body = f"{body[:end].rstrip()}\n\n[… {len(body) - end} more characters not kept]"
    return body


async def _reply(
    session: AsyncSession, settings: Settings, files: _Files, actor: Actor,
    ticket: Ticket, parsed: ParsedEmail,
) -> Message | None:
    """The mail as the customer's reply on ``ticket``; None when the ticket takes no replies
    (closed, or resolved longer ago than the reopen window): the caller opens a new one."""
    if ticket.status in CLOSED:
        return None
    await ensure_may_write(session, actor, ticket=ticket)  # before any file is stored
    try:
        message = await reply(session, actor, settings, ticket,
                              schemas.ReplyCreate(body=_body(parsed)))
    except Conflict as exc:
        if exc.code in ("ticket_closed", "reopen_window_passed"):
            return None
        raise
    await _attach(session, settings, files, actor, ticket, message, parsed)
    return message


# ---------------------------------------------------------------- files


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), 64 * 1024):
        yield data[start:start + 64 * 1024]


async def _attach(
    session: AsyncSession, settings: Settings, files: _Files, actor: Actor,
    ticket: Ticket, message: Message, parsed: ParsedEmail,
) -> None:
    """Store the mail's files on ``message`` through the upload pipeline; note what was not
    kept."""
    skipped = list(parsed.skipped)
    for file in parsed.attachments:
        try:
            attachment = await upload_attachment(session, actor, files.store, ticket,
                                                 filename=file.filename, chunks=_chunks(file.data))
        except AttachmentTooLarge:
            skipped.append(f"{file.filename}: larger than {settings.max_attachment_bytes} bytes")
            continue
        except AttachmentTypeNotAllowed as exc:
            skipped.append(f"{file.filename}: {exc.message}")
            continue
        files.keys.append(attachment.storage_key)
        attachment.message_id = message.id
    if skipped:
        names = "\n".join(f"- {scan(line).masked}" for line in skipped)
        await add_message(session, ticket, MessageAuthor("system"), internal=True,
                          body=f"Files in the customer's email that were not kept:\n{names}")
    await session.flush()


# ---------------------------------------------------------------- bounces


async def _record_bounce(session: AsyncSession, parsed: ParsedEmail) -> Ingested:
    """Attach a failed delivery of one of our mails to its ticket; drop anything else."""
    bounce = parsed.bounce
    assert bounce is not None
    row = None
    if bounce.original_ids:
        row = await session.scalar(
            select(ChannelMessage).where(ChannelMessage.channel == CHANNEL,
                                         ChannelMessage.direction == "out",
                                         ChannelMessage.external_id.in_(bounce.original_ids))
            .limit(1))
    if row is None or bounce.action not in ("failed", "unknown"):
        log.info("email report ignored", action=bounce.action, ours=row is not None)
        return Ingested("ignored")
    ticket = await session.get(Ticket, row.ticket_id)
    assert ticket is not None
    said = scan(bounce.diagnostic or bounce.status or "no reason given").masked
    await add_message(session, ticket, MessageAuthor("system"), internal=True, body=(
        "The customer did not get our email: delivery failed"
        f"{f' to {bounce.recipient}' if bounce.recipient else ''}. The receiving server said: "
        f"{said}"))
    await record_event(session, Actor(kind="anonymous"), ticket, "email_bounced", {
        "status": bounce.status, "message_id": str(row.message_id) if row.message_id else None})
    # The report itself is remembered so that a re-delivery of it adds nothing.
    session.add(ChannelMessage(channel=CHANNEL, direction="in", external_id=parsed.message_id,
                               ticket_id=ticket.id, message_id=None))
    await session.flush()
    return Ingested("bounce", ticket.number)


# ---------------------------------------------------------------- auto-reply


async def enqueue_auto_reply(session: AsyncSession, ticket: Ticket, address: str) -> None:
    """Queue the auto-reply to a new ticket's first mail; one an hour at most to one address
    (the job's dedupe key names the address's hash and the hour)."""
    hour = int(clock.now().timestamp() // 3600)
    who = hashlib.sha256(address.encode()).hexdigest()[:24]
    await enqueue(session, AUTO_REPLY_JOB, {"ticket_id": str(ticket.id)},
                  dedupe_key=f"{AUTO_REPLY_JOB}:{who}:{hour}")
