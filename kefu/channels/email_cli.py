"""``kefu email ingest``: file one email read on standard input, for an MTA's pipe transport
(Postfix ``pipe``, Exim ``pipe``, a procmail or sieve rule).

Exit codes are the ones MTAs read (sysexits): 0 filed (also a re-delivery, a bounce or a
report: nothing more to do); 2 refused for good, with one line on stderr (not an email, no
sender, too large: the MTA bounces it); 75 (``EX_TEMPFAIL``) deferred: the sender's rate or a
cool-down, or the database away, so the MTA keeps the mail and tries again later."""

from __future__ import annotations

import asyncio
import sys
from typing import Final, NoReturn

import typer

from kefu.config import Settings

EX_TEMPFAIL: Final = 75
email_app = typer.Typer(help="The email channel.", no_args_is_help=True)


def _exit(message: str, code: int) -> NoReturn:
    typer.echo(f"kefu: {message}", err=True)
    raise typer.Exit(code)


@email_app.command("ingest")
def ingest() -> None:
    """Read one RFC 5322 message on stdin and file it as a ticket or a reply (exit 0), refuse
    it (exit 2) or defer it (exit 75: the MTA tries again later)."""
    from kefu.channels.email_in import EmailDeferred, EmailRefused
    from kefu.cli import load_settings

    settings = load_settings()
    raw = sys.stdin.buffer.read(settings.email_max_bytes + 1)
    if not raw.strip():
        _exit("no message on standard input", 2)
    if len(raw) > settings.email_max_bytes:
        _exit(f"the message is larger than {settings.email_max_bytes} bytes", 2)
    try:
        filed = asyncio.run(_ingest(settings, raw))
    except EmailRefused as exc:
        _exit(f"refused: {exc.message}", 2)
    except EmailDeferred as exc:
        _exit(f"deferred: {exc.message}", EX_TEMPFAIL)
    except Exception as exc:  # noqa: BLE001 - the MTA keeps the mail and retries
        detail = str(exc).splitlines()[0][:200] if str(exc) else ""
        _exit(f"deferred: {type(exc).__name__}: {detail}", EX_TEMPFAIL)
    typer.echo(filed)


async def _ingest(settings: Settings, raw: bytes) -> str:
    """What became of the mail, as one line (``created KF-7Q4M2X``)."""
    from kefu.channels.email_in import ingest_email
    from kefu.db import Database

    db = Database(settings.resolved_database_url)
    db.settings = settings
    try:
        return (await ingest_email(db, settings, raw)).describe()
    finally:
        await db.dispose()
