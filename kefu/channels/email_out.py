"""Outbound email: what support writes on an email ticket (the ``channels.deliver`` sender) and
the auto-reply to a new ticket's first mail (job ``email.auto_reply``), sent through the relay at
``KEFU_SMTP_HOST`` with aiosmtplib.

Every mail is ``multipart/alternative`` (text and HTML, both from the Jinja templates the app
passes in as a :class:`MailRenderer`, the HTML escaped), with the customer's anti-phishing code
on its first line and the reminder that support never asks for passwords, 2FA codes or seed
phrases. From is ``KEFU_SUPPORT_EMAIL``; the subject is ``Re: [KF-…] <subject>``; In-Reply-To
and References point at the customer's last mail, so it threads in their mailbox, and a reply to
it threads back into the ticket. Automatic mails carry ``Auto-Submitted`` (``auto-replied`` for
the auto-reply, ``auto-generated`` for system and assistant messages) and
``X-Auto-Response-Suppress: All``, so well-behaved auto-responders do not answer them.

**Sent once.** A mail's Message-ID is derived from what it carries (``<message id>.<ticket
number>@<our domain>``; ``auto.<ticket id>@…`` for the auto-reply), so every attempt sends the
same one; a row in ``channel_messages`` (direction ``out``) written in the job's transaction, and
committed with it once the relay has accepted the mail, marks it sent: a later run of the job
finds the row and sends nothing. The row is written after the relay's answer, not before: on
SQLite it takes the database's one write lock, which must not be held across a network call. If
the relay accepts and the commit then fails (a crash, the database gone), the job runs again and
the mail goes out a second time with the same Message-ID, which most mail clients show once.
That window is the at-least-once of any outside call; nothing closes it short of the relay
deduplicating by Message-ID.

**Failures.** No answer, a 4xx or a dropped connection raise, and the job runner retries with
backoff. A 5xx (the address does not exist, the message is refused) is final, and so is the
last attempt: the ticket gets an internal note and a ``delivery_failed`` event, so the agent
knows the customer did not get it. With no relay configured nothing is sent and the ticket gets
a ``delivery_failed`` event (no retry, no note: a deployment without email, like the demo)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any, Final, Literal, Protocol

import aiosmtplib
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts.models import Agent, Customer
from kefu.channels.delivery import Outgoing, Sender
from kefu.channels.email_in import AUTO_REPLY_JOB, CHANNEL
from kefu.channels.models import ChannelIdentity, ChannelMessage
from kefu.config import Settings
from kefu.core import clock
from kefu.core.logging import get_logger
from kefu.jobs.runner import JobContext, JobRegistry, describe_error
from kefu.tickets.attachments import AttachmentStore
from kefu.tickets.events import record_event
from kefu.tickets.guarding import SYSTEM
from kefu.tickets.messages import MessageAuthor, add_message
from kefu.tickets.models import Attachment, Message, Ticket
from kefu.trust.antiphishing import anti_phishing_code, stamp_line

log = get_logger("kefu.channels.email")

MAX_REFERENCES: Final = 20
MailKind = Literal["reply", "auto_reply"]


@dataclass(frozen=True)
class MailContent:
    """What a mail says, before it is dressed in a template. ``language`` is a UI language
    (``en``, ``zh-CN``); ``anti_phishing`` the customer's code line, None when they set none."""

    kind: MailKind
    language: str
    ticket_number: str
    ticket_subject: str
    customer_name: str
    body: str = ""  # what support wrote (replies)
    author_name: str = ""
    anti_phishing: str | None = None


class MailRenderer(Protocol):
    """Dresses a mail in its templates: (text, HTML, the From name). The app passes
    ``kefu.web.mail.render_mail``."""

    def __call__(self, content: MailContent, /) -> tuple[str, str, str]: ...


class NotDelivered(Exception):
    """The relay refused the mail for good (5xx)."""


# ---------------------------------------------------------------- registration


def register_jobs(registry: JobRegistry, renderer: MailRenderer) -> Sender:
    """Add ``email.auto_reply`` to the registry; returns the ``channels.deliver`` sender for
    the ``email`` channel."""

    async def auto_reply_job(session: AsyncSession, payload: dict[str, Any],
                             ctx: JobContext) -> None:
        await send_auto_reply(session, ctx, renderer, uuid.UUID(str(payload["ticket_id"])))

    registry.register(AUTO_REPLY_JOB)(auto_reply_job)

    async def sender(session: AsyncSession, out: Outgoing, ctx: JobContext) -> None:
        await send_reply(session, ctx, renderer, out)

    return sender


# ---------------------------------------------------------------- the two mails


async def send_reply(
    session: AsyncSession, ctx: JobContext, renderer: MailRenderer, out: Outgoing
) -> None:
    """Deliver one public message of support on an email ticket (see the module docstring)."""
    settings = ctx.settings
    ticket, customer, message = out.ticket, out.customer, out.message
    external = outbound_id(settings, f"{message.id.hex}.{ticket.number.lower()}")
    if await _sent(session, external):
        return
    if not configured(settings):
        await _not_configured(session, ticket, message.id)
        return
    to = await recipient(session, customer)
    if to is None:
        await undeliverable(session, ticket, message, "the customer has no email address")
        return
    author = ""
    if message.author_agent_id is not None:
        author = await session.scalar(
            select(Agent.display_name).where(Agent.id == message.author_agent_id)) or ""
    content = MailContent(
        kind="reply", language=mail_language(ticket.language), ticket_number=ticket.number,
        ticket_subject=ticket.subject, customer_name=customer.display_name, body=message.body,
        author_name=author, anti_phishing=await _code_line(session, customer, ticket))
    in_reply_to, references = await thread_headers(session, ticket)
    mail = build_mail(settings, renderer(content), to=to, to_name=customer.display_name,
                      ticket=ticket, message_id=external,
                      in_reply_to=in_reply_to, references=references,
                      auto_submitted=None if message.author_kind == "agent"
                      else "auto-generated")
    for attachment, data in await _files(session, settings, message):
        maintype, _, subtype = attachment.content_type.partition("/")
        mail.add_attachment(data, maintype=maintype, subtype=subtype or "octet-stream",
                            filename=attachment.filename)
    try:
        await send_mail(settings, mail, to)
    except NotDelivered as exc:
        await undeliverable(session, ticket, message, f"the mail server refused it ({exc})")
        return
    except (aiosmtplib.SMTPException, OSError) as exc:
        if not ctx.is_last_attempt:
            raise
        await undeliverable(session, ticket, message,
                            f"{ctx.attempt} attempts failed, the last with {describe_error(exc)}")
        return
    session.add(ChannelMessage(channel=CHANNEL, direction="out", external_id=external,
                               ticket_id=ticket.id, message_id=message.id))
    await session.flush()


async def send_auto_reply(
    session: AsyncSession, ctx: JobContext, renderer: MailRenderer, ticket_id: uuid.UUID
) -> None:
    """The acknowledgement of a new ticket: its number, that we will answer by email, the
    anti-phishing code. Failures are retried and then dead-lettered (no note: the ticket has
    the customer's request either way)."""
    settings = ctx.settings
    ticket = await session.get(Ticket, ticket_id)
    if ticket is None:
        return
    external = outbound_id(settings, f"auto.{ticket.id.hex}")
    if await _sent(session, external) or not configured(settings):
        return
    customer = await session.get(Customer, ticket.customer_id)
    assert customer is not None
    to = await recipient(session, customer)
    if to is None:
        return
    content = MailContent(
        kind="auto_reply", language=mail_language(ticket.language),
        ticket_number=ticket.number, ticket_subject=ticket.subject,
        customer_name=customer.display_name,
        anti_phishing=await _code_line(session, customer, ticket))
    in_reply_to, references = await thread_headers(session, ticket)
    mail = build_mail(settings, renderer(content), to=to, to_name=customer.display_name,
                      ticket=ticket, message_id=external,
                      in_reply_to=in_reply_to, references=references,
                      auto_submitted="auto-replied")
    try:
        await send_mail(settings, mail, to)
    except NotDelivered as exc:
        log.warning("email auto-reply refused", ticket=ticket.number, error=str(exc))
        return
    session.add(ChannelMessage(channel=CHANNEL, direction="out", external_id=external,
                               ticket_id=ticket.id, message_id=None))
    await record_event(session, SYSTEM, ticket, "email_auto_replied", {})
    await session.flush()


# ---------------------------------------------------------------- pieces


def configured(settings: Settings) -> bool:
    return bool(settings.smtp_host and settings.support_email)


def our_domain(settings: Settings) -> str:
    return (settings.support_email or "kefu.invalid").rsplit("@", 1)[-1].lower()


def outbound_id(settings: Settings, local: str) -> str:
    return f"{local}@{our_domain(settings)}"


def mail_language(language: str) -> str:
    return "zh-CN" if language.lower().startswith("zh") else "en"


def reply_subject(ticket: Ticket) -> str:
    return _header_safe(f"Re: [{ticket.number}] {ticket.subject}")[:250]


def _header_safe(text: str) -> str:
    return re.sub(r"[\x00-\x1f\x7f]+", " ", text).strip()


async def _sent(session: AsyncSession, external: str) -> bool:
    return await session.scalar(select(ChannelMessage.id).where(
        ChannelMessage.channel == CHANNEL, ChannelMessage.external_id == external)) is not None


async def _code_line(session: AsyncSession, customer: Customer, ticket: Ticket) -> str | None:
    code = await anti_phishing_code(session, customer.id)
    return stamp_line(code, mail_language(ticket.language)) if code else None


async def recipient(session: AsyncSession, customer: Customer) -> str | None:
    """Where the customer's mail goes: the address they last wrote from, else their email."""
    address = await session.scalar(
        select(ChannelIdentity.address).where(ChannelIdentity.channel == CHANNEL,
                                              ChannelIdentity.customer_id == customer.id)
        .order_by(ChannelIdentity.last_seen_at.desc()).limit(1))
    return address or customer.email or None


async def thread_headers(session: AsyncSession, ticket: Ticket) -> tuple[str | None, list[str]]:
    """(In-Reply-To, References): the customer's last mail on the ticket, and the ticket's
    mails in order (the last ``MAX_REFERENCES``). Ids we made up for mails that had none, and
    hashed over-long ones, are left out: no mailbox knows them."""
    rows = (await session.execute(
        select(ChannelMessage.external_id, ChannelMessage.direction)
        .where(ChannelMessage.channel == CHANNEL, ChannelMessage.ticket_id == ticket.id)
        .order_by(ChannelMessage.created_at, ChannelMessage.id))).all()
    real = [(ext, direction) for ext, direction in rows
            if not ext.startswith("sha256") and not ext.endswith("@kefu.invalid")]
    last_in = next((ext for ext, direction in reversed(real) if direction == "in"), None)
    return last_in, [ext for ext, _ in real][-MAX_REFERENCES:]


async def _files(
    session: AsyncSession, settings: Settings, message: Message
) -> list[tuple[Attachment, bytes]]:
    """The files support attached to the message, as stored (withheld ones have no bytes)."""
    store = AttachmentStore(settings)
    files: list[tuple[Attachment, bytes]] = []
    for attachment in await session.scalars(
            select(Attachment).where(Attachment.message_id == message.id,
                                     Attachment.withheld_reason.is_(None))
            .order_by(Attachment.created_at)):
        path = store.path_for(attachment.storage_key)
        if path.is_file():
            files.append((attachment, path.read_bytes()))
    return files


def _address(name: str, address: str) -> Address | str:
    try:
        return Address(display_name=_header_safe(name)[:100], addr_spec=address)
    except (ValueError, IndexError):
        return address


def build_mail(
    settings: Settings, rendered: tuple[str, str, str], *, ticket: Ticket, to: str, to_name: str,
    message_id: str, in_reply_to: str | None, references: list[str],
    auto_submitted: str | None,
) -> EmailMessage:
    assert settings.support_email is not None
    text, html, from_name = rendered
    mail = EmailMessage()
    mail["From"] = _address(from_name, settings.support_email)
    mail["To"] = _address(to_name, to)
    mail["Subject"] = reply_subject(ticket)
    mail["Date"] = format_datetime(clock.now())
    mail["Message-ID"] = f"<{message_id}>"
    if in_reply_to:
        mail["In-Reply-To"] = f"<{in_reply_to}>"
    if references:
        mail["References"] = " ".join(f"<{ref}>" for ref in references)
    if auto_submitted:
        mail["Auto-Submitted"] = auto_submitted
        mail["X-Auto-Response-Suppress"] = "All"
    mail["X-Kefu-Ticket"] = ticket.number
    mail.set_content(text)
    mail.add_alternative(html, subtype="html")
    return mail


async def send_mail(settings: Settings, mail: EmailMessage, to: str) -> None:
    """Hand ``mail`` to the relay. ``NotDelivered`` for a final refusal (5xx); other SMTP and
    network errors propagate (the job is retried). The password is never logged."""
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    try:
        await aiosmtplib.send(
            mail, sender=settings.support_email, recipients=[to],
            hostname=settings.smtp_host, port=settings.smtp_port,
            username=settings.smtp_username, password=password,
            use_tls=settings.smtp_tls,
            start_tls=None if settings.smtp_tls else settings.smtp_starttls,
            timeout=settings.smtp_timeout_s)
    except aiosmtplib.SMTPRecipientsRefused as exc:
        codes = [r.code for r in exc.recipients]
        if codes and all(code >= 500 for code in codes):
            raise NotDelivered(f"{codes[0]} {exc.recipients[0].message}"[:300]) from None
        raise
    except aiosmtplib.SMTPResponseException as exc:
        if exc.code >= 500:
            raise NotDelivered(f"{exc.code} {exc.message}"[:300]) from None
        raise


async def undeliverable(
    session: AsyncSession, ticket: Ticket, message: Message, reason: str
) -> None:
    """Tell the agents, on the ticket, that the customer did not get a message."""
    body = (f"Not delivered by email: {reason}. The customer did not get the message sent at "
            f"{message.created_at:%Y-%m-%d %H:%M} UTC; reach them another way.")
    await add_message(session, ticket, MessageAuthor("system"), body=body, internal=True)
    await record_event(session, SYSTEM, ticket, "delivery_failed",
                       {"channel": CHANNEL, "message_id": str(message.id), "reason": reason})
    await session.flush()
    log.warning("email_undeliverable", ticket=ticket.number)


async def _not_configured(session: AsyncSession, ticket: Ticket, message_id: uuid.UUID) -> None:
    await record_event(session, SYSTEM, ticket, "delivery_failed", {
        "channel": CHANNEL, "message_id": str(message_id),
        "reason": "outbound email is not configured (KEFU_SMTP_HOST, KEFU_SUPPORT_EMAIL)"})
    await session.flush()
    log.warning("email_not_configured", ticket=ticket.number)

