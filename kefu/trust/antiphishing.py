"""Anti-phishing codes: a customer picks a word that every genuine email and message from support
carries, so a message without it is recognisably fake.

The code is not a secret (it is shown back to the customer and printed on what we send), but it
must not leak to whoever forges our messages: it is never logged, never put in the audit log or
an error message, and only the customer and the send path read it."""

from __future__ import annotations

import re
import unicodedata
import uuid
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts.actor import Actor
from kefu.accounts.service import audit
from kefu.core import clock
from kefu.core.errors import InvalidInput
from kefu.trust.models import AntiPhishingCode

MIN_LENGTH: Final = 4
MAX_LENGTH: Final = 20
# Letters (any script) and digits only: no spaces or symbols to confuse with the text around it.
_CODE: Final = re.compile(rf"^[^\W_]{{{MIN_LENGTH},{MAX_LENGTH}}}$")
_LINES: Final = {"en": "Anti-phishing code: {code}", "zh": "防钓鱼码：{code}"}


def clean_code(raw: str) -> str:
    """The code as stored: NFKC (fullwidth digits become ASCII), trimmed. ValueError when it is
    not 4–20 letters and digits; the message never repeats the code."""
    code = unicodedata.normalize("NFKC", raw).strip()
    if not _CODE.match(code):
        raise ValueError(f"the anti-phishing code must be {MIN_LENGTH} to {MAX_LENGTH} letters "
                         "and digits, without spaces or symbols")
    return code


async def anti_phishing_code(session: AsyncSession, customer_id: uuid.UUID) -> str | None:
    """The customer's code, or None when they have not set one."""
    row = await session.get(AntiPhishingCode, customer_id)
    return row.code if row is not None else None


async def code_record(session: AsyncSession, customer_id: uuid.UUID) -> AntiPhishingCode | None:
    return await session.get(AntiPhishingCode, customer_id)


async def set_code(
    session: AsyncSession, actor: Actor, *, customer_id: uuid.UUID, code: str
) -> AntiPhishingCode:
    """Set or change the code (audited without the code itself)."""
    try:
        cleaned = clean_code(code)
    except ValueError as exc:
        raise InvalidInput(str(exc), code="invalid_anti_phishing_code") from exc
    row = await session.get(AntiPhishingCode, customer_id)
    changed = row is not None
    if row is None:
        row = AntiPhishingCode(customer_id=customer_id, code=cleaned)
        session.add(row)
    row.code, row.updated_at = cleaned, clock.now()
    await session.flush()
    await audit(session, actor, "trust.anti_phishing_code_changed" if changed
                else "trust.anti_phishing_code_set", target_type="customer",
                target_id=str(customer_id))
    return row


async def clear_code(session: AsyncSession, actor: Actor, *, customer_id: uuid.UUID) -> bool:
    """Remove the code; False when there was none."""
    row = await session.get(AntiPhishingCode, customer_id)
    if row is None:
        return False
    await session.delete(row)
    await session.flush()
    await audit(session, actor, "trust.anti_phishing_code_cleared", target_type="customer",
                target_id=str(customer_id))
    return True


def stamp_line(code: str, lang: str) -> str:
    template = _LINES["zh"] if lang.lower().startswith("zh") else _LINES["en"]
    return template.format(code=code)


def stamp(text: str, code: str | None, lang: str) -> str:
    """``text`` with the customer's code on its first line ("Anti-phishing code: XXXX" /
    "防钓鱼码：XXXX"), where customers are told to look. No code: ``text`` unchanged. Stamping
    twice adds nothing, so a retried send cannot stack lines."""
    if not code:
        return text
    line = stamp_line(code, lang)
    if text.startswith(line):
        return text
    return f"{line}\n\n{text}" if text else line
