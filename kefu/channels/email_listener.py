"""The built-in SMTP listener (aiosmtpd), on the app's own event loop: started by the app's
lifespan when ``KEFU_SMTP_LISTEN`` is set, stopped with it.

It takes mail for our addresses only (``Settings.email_domains``, else ``support_email``):
any other recipient is refused at RCPT with 550, so it is no open relay. A message larger than
``email_max_bytes`` is refused with 552 (after SIZE, or while it is sent). Each message is filed
by :func:`kefu.channels.email_in.ingest_email` before the server answers DATA, so a 250 means
it is stored; what cannot be filed gets an SMTP error, never a crash:

- 550 5.6.0: not an email we can read (no headers, no sender);
- 451 4.7.1: deferred (the sender's rate, a cool-down): the sending server tries again later;
- 451 4.3.0: a fault on our side (the database away); the sending server tries again later.

No TLS and no AUTH: run it behind the MTA that receives the internet's mail (port 25, TLS, SPF/
DKIM/DMARC checks), which relays to it, or on a private network (docs/channels.md)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from kefu.channels.email_in import EmailDeferred, EmailRefused, ingest_email, is_ours
from kefu.config import Settings, smtp_listen_address
from kefu.core.logging import get_logger
from kefu.db import Database
from kefu.tickets.attachments import AttachmentStore

log = get_logger("kefu.channels.email")


class _Handler:
    """aiosmtpd's handler: RCPT and DATA hooks."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self.store = AttachmentStore(settings)

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        if not is_ours(self.settings, address):
            return "550 5.1.1 mailbox unavailable: we accept mail for our support addresses only"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        try:
            filed = await ingest_email(self.db, self.settings, raw,
                                       envelope_from=_null_sender(envelope.mail_from),
                                       store=self.store)
        except EmailRefused as exc:
            return f"550 5.6.0 {_one_line(exc.message)}"
        except EmailDeferred as exc:
            return f"451 4.7.1 {_one_line(exc.message)}"
        except Exception as exc:  # noqa: BLE001 - the sender retries; we must not crash
            log.exception("email_ingest_failed", error_type=type(exc).__name__)
            return "451 4.3.0 temporary failure, please try again later"
        return f"250 2.0.0 {filed.describe()}"


def _null_sender(mail_from: str | None) -> str | None:
    if mail_from is None:
        return None
    return "" if mail_from.strip() in ("", "<>") else mail_from


def _one_line(text: str) -> str:
    return " ".join(text.split())[:200]


class SmtpListener:
    """A running listener; ``port`` is the one bound (useful with port 0)."""

    def __init__(self, server: asyncio.Server) -> None:
        self._server = server

    @property
    def port(self) -> int:
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        self._server.close()
        await self._server.wait_closed()


async def start_smtp_listener(db: Database, settings: Settings) -> SmtpListener:
    """Listen at ``settings.smtp_listen`` on the running loop."""
    assert settings.smtp_listen is not None
    assert settings.support_email is not None
    host, port = smtp_listen_address(settings.smtp_listen)
    handler = _Handler(db, settings)
    hostname = settings.support_email.rsplit("@", 1)[-1]
    loop = asyncio.get_running_loop()

    def protocol() -> Any:
        return SMTP(handler, data_size_limit=settings.email_max_bytes, enable_SMTPUTF8=True,
                    hostname=hostname, ident="Kefu ESMTP", timeout=120, loop=loop)

    server = await loop.create_server(protocol, host, port)
    listener = SmtpListener(server)
    log.info("smtp_listening", host=host, port=listener.port)
    return listener
