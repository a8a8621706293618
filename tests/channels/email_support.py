"""What the email tests share: a capturing SMTP relay (a real aiosmtpd server) that outbound
mail goes to, settings that turn the channel on (our listener on a free port), captured
messages (``fixtures/email/*.eml``) and ways to send mail to the listener."""

from __future__ import annotations

import asyncio
import email
import smtplib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from fastapi import FastAPI
from sqlalchemy import select

from kefu.config import Settings
from kefu.tickets.models import Message, Ticket

SUPPORT = "support@demoex.example"
FIXTURES = Path(__file__).parent / "fixtures" / "email"
MAX_BYTES = 400_000  # KEFU_EMAIL_MAX_BYTES in these tests
MAX_FILE = 100_000  # KEFU_MAX_ATTACHMENT_BYTES


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        assert part is not None
        return str(part.get_content())

    def html(self) -> str:
        part = self.message.get_body(preferencelist=("html",))
        assert part is not None
        return str(part.get_content())


@dataclass
class Relay:
    """An SMTP relay that keeps what it is given. ``refuse`` answers DATA with that reply
    instead (``"451 4.3.0 busy"``, ``"554 5.7.1 rejected"``)."""

    received: list[Received] = field(default_factory=list)
    refuse: str | None = None
    server: asyncio.Server | None = None
    port: int = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.refuse:
            return self.refuse
        raw = envelope.original_content or b""
        message = email.message_from_bytes(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(Received(str(envelope.mail_from), list(envelope.rcpt_tos),
                                      message))
        return "250 2.0.0 queued"

    async def start(self, port: int = 0) -> None:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(
            lambda: SMTP(self, hostname="relay.test", loop=loop), "127.0.0.1", port)
        self.port = int(self.server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None


@pytest.fixture(name="relay")
async def relay_server() -> AsyncIterator[Relay]:
    server = Relay()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def make_settings(database_url: str, tmp_path: Path, relay_port: int, **extra: Any) -> Settings:
    return Settings(
        env="test", data_dir=tmp_path / "data", database_url=database_url, jobs_enabled=False,
        chat_analysis_worker=False, log_level="WARNING", jobs_backoff_base_s=0.01,
        smtp_listen="127.0.0.1:0", support_email=SUPPORT, email_domains=("demoex.example",),
        email_max_bytes=MAX_BYTES, max_attachment_bytes=MAX_FILE, smtp_host="127.0.0.1",
        smtp_port=relay_port, smtp_starttls=False, smtp_timeout_s=5.0, ocr=False, **extra)


@pytest.fixture(name="settings")
def email_settings(database_url: str, tmp_path: Path, relay: Relay) -> Settings:
    return make_settings(database_url, tmp_path, relay.port)


def fixture(name: str, **replace: str) -> bytes:
    """A captured message with its ``REPLACE-…`` placeholders filled in."""
    raw = (FIXTURES / name).read_bytes()
    for key, value in replace.items():
        raw = raw.replace(f"REPLACE-{key.upper().replace('_', '-')}".encode(), value.encode())
    return raw


def compose(
    *, sender: str = "Alice Wong <alice@mail.example>", subject: str = "Deposit not credited",
    body: str = "My USDT deposit has not arrived after two hours.", message_id: str | None = None,
    in_reply_to: str | None = None, headers: dict[str, str] | None = None,
    files: list[tuple[str, bytes, str]] | None = None, html: str | None = None,
) -> EmailMessage:
    """A mail as a mail client writes one. ``files``: (name, bytes, MIME type)."""
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = SUPPORT
    mail["Subject"] = subject
    mail["Date"] = "Tue, 24 Nov 2026 10:00:00 +0000"
    mail["Message-ID"] = f"<{message_id or email.utils.make_msgid().strip('<>')}>"
    if in_reply_to:
        mail["In-Reply-To"] = f"<{in_reply_to}>"
        mail["References"] = f"<{in_reply_to}>"
    for name, value in (headers or {}).items():
        mail[name] = value
    if html is not None:
        mail.set_content(html, subtype="html")
    else:
        mail.set_content(body)
    for name, data, kind in files or []:
        maintype, _, subtype = kind.partition("/")
        mail.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return mail


def listener_port(app: FastAPI) -> int:
    port: int = app.state.smtp_listener.port
    return port


async def deliver(
    app: FastAPI, mail: EmailMessage | bytes, *, mail_from: str | None = None,
    rcpt: str = SUPPORT,
) -> tuple[int, str]:
    """Send to our listener with aiosmtplib; the server's reply to the transaction (the
    DATA answer, or the refusal of RCPT/MAIL) as (code, text)."""
    raw = mail.as_bytes() if isinstance(mail, EmailMessage) else mail
    if mail_from is None:
        mail_from = "alice@mail.example"
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=listener_port(app), start_tls=False,
                             timeout=30)
    await client.connect()
    try:
        errors, text = await client.sendmail(mail_from, [rcpt], raw)
        return 250, text
    except aiosmtplib.SMTPRecipientsRefused as exc:
        return exc.recipients[0].code, exc.recipients[0].message
    except aiosmtplib.SMTPResponseException as exc:
        return exc.code, exc.message
    finally:
        client.close()


async def deliver_with_smtplib(app: FastAPI, mail: EmailMessage) -> dict[str, tuple[int, bytes]]:
    """The stdlib's blocking client, in a thread (the listener runs on this loop)."""
    def send() -> dict[str, tuple[int, bytes]]:
        with smtplib.SMTP("127.0.0.1", listener_port(app), timeout=30) as client:
            return client.send_message(mail)

    return await asyncio.to_thread(send)


async def email_tickets(app: FastAPI) -> list[tuple[Ticket, list[Message]]]:
    async with app.state.db.transaction() as session:
        tickets = list(await session.scalars(
            select(Ticket).order_by(Ticket.created_at, Ticket.number)))
        return [(t, list(await session.scalars(
            select(Message).where(Message.ticket_id == t.id).order_by(Message.seq))))
            for t in tickets]
