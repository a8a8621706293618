"""The guards on conversations (SPEC §H): the secret guard on what customers write, the
anti-phishing check on what support sends.

Customers' words are masked before they are stored.

Whatever a customer writes — a chat or portal message, a ticket subject, a rating comment, an
attachment's file name — goes through :func:`kefu.guard.secrets.scan` first, and only the
masked text is kept, so a seed phrase or a password never reaches the database, the search
index, the logs, a webhook or an LLM. When something was hidden, the conversation gets a system
message telling the customer what and why (for a seed phrase or private key: move the funds now),
and the ticket is tagged ``security`` (plus ``secret-exposed`` and urgent priority when wallet
keys were exposed) with a ``secret_masked`` event naming the kinds, never the values.

An attachment's text (PDF, plain text) is scanned the same way when it is uploaded
(:func:`kefu.tickets.uploads.upload_attachment`); a customer's file holding a secret is *withheld*:
its bytes are deleted, only a placeholder with the reason stays, and the customer is told the
file was not kept.

What agents send to a customer passes :func:`kefu.guard.outbound.check_outbound` first: a reply
that asks for a password, a code, a seed phrase or a private key, remote access or a transfer, or
links outside the allowed domains, is refused with the reasons. A supervisor may send it anyway
(``override_guard``); that is audited with the reasons. A reply that would tip off a customer the
exchange holds under investigation is refused outright."""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts.actor import Actor
from kefu.accounts.models import Customer
from kefu.accounts.service import audit
from kefu.config import Settings
from kefu.core.errors import Forbidden, KefuError
from kefu.guard.outbound import check_outbound
from kefu.guard.secrets import GuardResult, customer_notice, scan
from kefu.tickets import schemas
from kefu.tickets.events import record_event, ticket_changed
from kefu.tickets.messages import MessageAuthor, add_message
from kefu.tickets.models import Attachment, Ticket
from kefu.tickets.workflow import change_tags
from kefu.trust.compliance import compliance_state, ensure_no_tipoff, tipoff_check

SYSTEM = Actor(kind="anonymous")  # recorded as "system"
SECURITY_TAG = "security"
EXPOSED_TAG = "secret-exposed"
_FILE_NOT_KEPT = {"en": 'Your file "{name}" was deleted, not stored.',
                  "zh": "您的文件“{name}”已被删除，未保存。"}


def masked(text: str | None) -> str | None:
    """``text`` with every secret replaced by its marker (None stays None)."""
    return None if text is None else scan(text).masked


def withheld_reason(result: GuardResult) -> str:
    """Why a file was withheld, for people (English): the kinds found, never the values."""
    return "contained " + " and ".join(kind.replace("_", " ") for kind in result.kinds)


async def secrets_hidden(
    session: AsyncSession, ticket: Ticket, result: GuardResult, *, language: str | None = None,
    withheld_file: Attachment | None = None,
) -> None:
    """Tell the customer what was hidden (and, for a withheld file, that it was not kept) and
    flag the ticket for security."""
    lang = language or ticket.language
    notice = customer_notice(result, lang)
    if notice and withheld_file is not None:
        chinese = lang.lower().startswith("zh")
        lead = _FILE_NOT_KEPT["zh" if chinese else "en"].format(name=withheld_file.filename)
        notice = f"{lead}{'' if chinese else ' '}{notice}"
    if notice:
        await add_message(session, ticket, MessageAuthor("system"), body=notice)
    tags = [SECURITY_TAG, EXPOSED_TAG] if result.security_flag else [SECURITY_TAG]
    await change_tags(session, SYSTEM, ticket, schemas.TagChange(add=tags))
    data: dict[str, object] = {"kinds": list(result.kinds)}
    if withheld_file is not None:
        data["withheld_attachment"] = str(withheld_file.id)
    await record_event(session, SYSTEM, ticket, "secret_masked", data)
    if result.security_flag and ticket.priority != "urgent":
        ticket.priority = "urgent"
        await session.flush()
        await ticket_changed(session, ticket, "fields", SYSTEM)


class OutboundBlocked(KefuError):
    """The reasons in English (``message``) and in Chinese (``message_zh``): the console shows
    them in its own language."""

    def __init__(self, message: str, codes: tuple[str, ...], *, message_zh: str = "") -> None:
        super().__init__(message, code="outbound_blocked", status=422)
        self.codes = codes
        self.message_zh = message_zh or message

    def message_in(self, language: str | None) -> str:
        return self.message_zh if (language or "").lower().startswith("zh") else self.message


def allowed_link_domains(settings: Settings) -> tuple[str, ...]:
    host = urlsplit(settings.public_url).hostname if settings.public_url else None
    return (*settings.link_domains, *((host,) if host else ()))


async def check_support_text(
    session: AsyncSession, settings: Settings, actor: Actor, ticket: Ticket, body: str, *,
    override: bool = False,
) -> None:
    """Refuse a reply to a customer that the anti-phishing check blocks, unless a supervisor
    overrides it (audited); and, to a customer under a compliance hold, one that would tip them
    off (no override)."""
    if tipoff_check(body):
        customer = await session.get(Customer, ticket.customer_id)
        if customer is not None:
            ensure_no_tipoff(await compliance_state(session, customer), body)
    verdict = check_outbound(body, allowed_domains=allowed_link_domains(settings))
    if not verdict.blocked:
        return
    if override:
        if not actor.is_supervisor:
            raise Forbidden("only supervisors may send a blocked reply", code="override_forbidden")
        await audit(session, actor, "ticket.guard_override", target_type="ticket",
                    target_id=ticket.number, details={"codes": list(verdict.codes)})
        return
    raise OutboundBlocked(  # each reason is a sentence with its own full stop
        " ".join(dict.fromkeys(r.message_en for r in verdict.reasons)), verdict.codes,
        message_zh="".join(dict.fromkeys(r.message_zh for r in verdict.reasons)))
