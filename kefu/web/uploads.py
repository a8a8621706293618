"""Files attached through the HTML forms: stored with the ticket service, one by one."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import TypeVar

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import UploadFile

from kefu.accounts.actor import Actor
from kefu.config import Settings
from kefu.core.errors import InvalidInput, KefuError
from kefu.db import savepoint
from kefu.tickets import replies
from kefu.tickets.attachments import CHUNK, AttachmentStore
from kefu.tickets.models import Attachment, Ticket
from kefu.tickets.schemas import MAX_FILES_PER_MESSAGE, ReplyCreate
from kefu.tickets.uploads import upload_attachment

T = TypeVar("T")


async def form_files(request: Request, field: str = "files") -> list[UploadFile]:
    """The files chosen in the form's file input. A browser sends an empty, nameless part for
    an input left empty (parsed as a plain string or an empty file); those are skipped."""
    form = await request.form()
    return [f for f in form.getlist(field)
            if isinstance(f, UploadFile) and (f.filename or (f.size or 0) > 0)]


async def save_uploads(
    session: AsyncSession,
    actor: Actor,
    settings: Settings,
    ticket: Ticket,
    files: Sequence[UploadFile],
) -> list[Attachment]:
    """Store each file (type sniffed, size checked by the store). If one fails, the files
    already written are deleted again before the error goes on."""
    if len(files) > MAX_FILES_PER_MESSAGE:
        raise InvalidInput(f"attach at most {MAX_FILES_PER_MESSAGE} files",
                           code="too_many_files")
    store = AttachmentStore(settings)
    saved: list[Attachment] = []
    try:
        for upload in files:
            attachment = await upload_attachment(
                session, actor, store, ticket, filename=upload.filename,
                chunks=_chunks(upload))
            saved.append(attachment)
    except BaseException:
        discard_files(settings, [a.storage_key for a in saved])
        raise
    return saved


async def reply_with_files(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    settings: Settings,
    ticket: Ticket,
    data: ReplyCreate,
    stored: list[str],
) -> None:
    """A reply form with attachments: store the files (their keys go into ``stored`` so the
    caller can delete them if the transaction rolls back), then send the reply with them."""
    attachments = await save_uploads(session, actor, settings, ticket, await form_files(request))
    stored.extend(a.storage_key for a in attachments)
    data = data.model_copy(update={"attachment_ids": [a.id for a in attachments]})
    await replies.reply(session, actor, settings, ticket, data)


async def attempt(
    session: AsyncSession,
    settings: Settings,
    action: Callable[[list[str]], Awaitable[T]],
) -> tuple[T | None, KefuError | None]:
    """Run one form action in a savepoint. On a refusal the savepoint is rolled back, the files
    it stored are deleted, and the error is returned for the page to show; else the result."""
    stored: list[str] = []
    try:
        async with savepoint(session):
            return await action(stored), None
    except KefuError as exc:
        discard_files(settings, stored)
        return None, exc


def discard_files(settings: Settings, storage_keys: Sequence[str]) -> None:
    """Delete stored bytes whose rows are being rolled back."""
    store = AttachmentStore(settings)
    for key in storage_keys:
        store.delete(key)


async def _chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    await upload.seek(0)
    while chunk := await upload.read(CHUNK):
        yield chunk
