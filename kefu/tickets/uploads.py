"""Attachments on tickets: an upload (stored by :class:`~kefu.tickets.attachments.AttachmentStore`,
its text guarded; a customer's file holding a secret is withheld) and who may fetch one."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts.actor import Actor
from kefu.core import clock
from kefu.core.errors import Conflict, NotFound
from kefu.guard.secret_ocr import scan_ocr
from kefu.guard.secrets import scan
from kefu.tickets.attachment_text import STORED_TEXT_CHARS
from kefu.tickets.attachments import AttachmentStore, name_for_type, safe_filename
from kefu.tickets.events import actor_kind
from kefu.tickets.guarding import secrets_hidden, withheld_reason
from kefu.tickets.models import Attachment, Message, Ticket
from kefu.tickets.service import readable_by

if TYPE_CHECKING:
    from kefu.db import Database

SWEEP_BATCH = 500


async def upload_attachment(
    session: AsyncSession,
    actor: Actor,
    store: AttachmentStore,
    ticket: Ticket,
    *,
    filename: str | None,
    chunks: AsyncIterator[bytes],
) -> Attachment:
    """Store an upload. Its text is kept masked; a customer's file whose text holds a secret is
    withheld: its bytes are deleted at once, the row stays as a placeholder and the ticket gets
    the same security treatment as a secret in a message. A closed ticket takes no more files
    from the customer's side; staff may still upload one, for an internal note."""
    if ticket.status == "closed" and actor.is_customer_side:
        raise Conflict("this ticket is closed", code="ticket_closed")
    stored = await store.save(chunks)
    # OCR'd text also gets the misread-tolerant seed-phrase check (kefu/guard/secret_ocr.py).
    guarded = (scan_ocr if stored.text.ocr else scan)(stored.text.text)
    named = scan(name_for_type(safe_filename(filename), stored.content_type))
    attachment = Attachment(
        ticket_id=ticket.id, filename=named.masked,
        content_type=stored.content_type,
        size=stored.size, sha256=stored.sha256, storage_key=stored.storage_key,
        uploaded_by_kind=actor_kind(actor), text_status=stored.text.status,
        extracted_text=(guarded.masked[:STORED_TEXT_CHARS]
                        if stored.text.status in ("extracted", "partial") else None),
    )
    withheld = attachment.uploaded_by_kind == "customer" and not guarded.clean
    if withheld:
        store.delete(stored.storage_key)
        attachment.sha256 = None  # a short file's hash would give its text away
        attachment.withheld_reason = withheld_reason(guarded)
    session.add(attachment)
    await session.flush()
    if attachment.uploaded_by_kind == "customer" and not (guarded.clean and named.clean):
        # A secret in the text withholds the file; one in its name only masks the name. Either
        # way the customer is told and the ticket flagged, as for a secret in a message.
        await secrets_hidden(session, ticket, guarded if withheld else named,
                             withheld_file=attachment if withheld else None)
    return attachment


async def get_attachment(
    session: AsyncSession, actor: Actor, attachment_id: uuid.UUID
) -> Attachment:
    """Readable if its ticket is; a customer never sees files on internal notes."""
    attachment = await session.get(Attachment, attachment_id)
    if attachment is None:
        raise NotFound("attachment")
    ticket = await session.scalar(readable_by(actor).where(Ticket.id == attachment.ticket_id))
    if ticket is None:
        survivor = await session.scalar(select(Ticket.merged_into_id).where(
            Ticket.id == attachment.ticket_id))
        if survivor is None or await session.scalar(
                readable_by(actor).where(Ticket.id == survivor)) is None:
            raise NotFound("attachment")
    if not actor.is_agent:
        if attachment.message_id is None and attachment.uploaded_by_kind != "customer":
            raise NotFound("attachment")  # staff's upload, not sent yet
        if attachment.message_id is not None and await session.scalar(
                select(Message.internal).where(Message.id == attachment.message_id)):
            raise NotFound("attachment")
    return attachment


async def sweep_unsent(db: Database, store: AttachmentStore, *, keep_hours: float) -> int:
    """Delete the uploads never sent with a message (a tab closed after choosing a file, a
    reply refused) once they are ``keep_hours`` old: their rows, then their bytes. They are
    customers' files that nobody was meant to keep; ``keep_hours`` 0 keeps them. Returns how
    many went. A row is deleted only while it is still unsent, so a send that claims it first
    keeps it."""
    if keep_hours <= 0:
        return 0
    cutoff = clock.now() - timedelta(hours=keep_hours)
    removed = 0
    while True:
        async with db.transaction() as session:
            ids = list(await session.scalars(
                select(Attachment.id).where(Attachment.message_id.is_(None),
                                            Attachment.created_at < cutoff)
                .limit(SWEEP_BATCH)))
            keys = list(await session.scalars(
                delete(Attachment).where(Attachment.id.in_(ids), Attachment.message_id.is_(None))
                .returning(Attachment.storage_key))) if ids else []
        for key in keys:  # after the commit: a rolled-back delete keeps its file
            store.delete(key)
        removed += len(keys)
        if len(ids) < SWEEP_BATCH:
            return removed
