"""Ticket routes: parse, authorize (through the service's scoping), call the service, return."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Literal

from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, PlainTextResponse, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts.actor import Actor
from kefu.accounts.deps import ActorDep, AgentDep, SignedInDep
from kefu.accounts.models import Customer
from kefu.accounts.service import audit
from kefu.core.errors import NotFound
from kefu.core.http import SessionDep, SettingsDep
from kefu.exchange.schemas import CustomerContext
from kefu.tickets import listing, notes, replies, schemas, service, uploads, workflow
from kefu.tickets.attachments import CHUNK, AttachmentStore, AttachmentWithheld
from kefu.tickets.creation import ensure_customer_channel, open_for_actor
from kefu.tickets.events import events_of, ticket_read
from kefu.tickets.messages import messages_of
from kefu.tickets.models import Ticket
from kefu.tickets.transcript import (
    reader_language,
    reader_zone,
    transcript_html,
    transcript_text,
)
from kefu.trust.compliance import compliance_state

router = APIRouter(prefix="/api/v1", tags=["tickets"])


async def detail(session: AsyncSession, actor: Actor, ticket: Ticket) -> schemas.TicketDetail:
    read = await ticket_read(session, ticket, actor)
    messages = await messages_of(session, ticket, include_internal=actor.is_agent)
    return schemas.TicketDetail(**read.model_dump(), messages=messages)


@router.post("/tickets", response_model=schemas.TicketCreated, status_code=201, responses={
    200: {"model": schemas.TicketCreated,
          "description": "A repeat of an open ticket: the message was added there"}})
async def create_ticket(
    body: schemas.TicketCreate, session: SessionDep, actor: SignedInDep, response: Response
) -> schemas.TicketCreated:
    ensure_customer_channel(actor, body.channel)
    opened = await open_for_actor(session, actor, body)
    if opened.duplicate:
        response.status_code = 200
    shown = await detail(session, actor, opened.ticket)
    return schemas.TicketCreated(**shown.model_dump(),
                                 duplicate_of=opened.ticket.number if opened.duplicate else None)


@router.get("/tickets", response_model=schemas.TicketList)
async def list_tickets(
    session: SessionDep,
    actor: SignedInDep,
    status: schemas.Status | None = None,
    priority: schemas.Priority | None = None,
    channel: schemas.Channel | None = None,
    language: Annotated[str | None, Query(max_length=16)] = None,
    assignee: Annotated[str | None, Query(max_length=64,
                                          description="'me', 'none' or an agent id")] = None,
    tag: Annotated[str | None, Query(max_length=64)] = None,
    team_id: uuid.UUID | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
) -> schemas.TicketList:
    rows, next_cursor = await listing.list_tickets(
        session, actor,
        listing.TicketFilters(status=status, priority=priority, channel=channel,
                              language=language, assignee=assignee, tag=tag, team_id=team_id,
                              q=q),
        cursor=cursor, limit=limit,
    )
    return schemas.TicketList(items=[await ticket_read(session, t, actor) for t in rows],
                              next_cursor=next_cursor)


@router.get("/tickets/{number}", response_model=schemas.TicketDetail | schemas.TicketRead)
async def get_ticket(
    number: str,
    session: SessionDep,
    actor: ActorDep,
    messages: Annotated[bool, Query(description=(
        "false: the ticket without its messages (no `messages` field), for a client that "
        "keeps the conversation up to date itself"))] = True,
) -> schemas.TicketDetail | schemas.TicketRead:
    ticket = await service.get_readable(session, actor, number)
    if not messages:
        return await ticket_read(session, ticket, actor)
    return await detail(session, actor, ticket)


@router.patch("/tickets/{number}", response_model=schemas.TicketDetail)
async def update_ticket(
    number: str, body: schemas.TicketUpdate, session: SessionDep, actor: AgentDep
) -> schemas.TicketDetail:
    ticket = await service.get_readable(session, actor, number)
    await workflow.update_fields(session, actor, ticket, body)
    return await detail(session, actor, ticket)


@router.get("/tickets/{number}/events", response_model=schemas.EventList)
async def ticket_events(number: str, session: SessionDep, actor: AgentDep) -> schemas.EventList:
    ticket = await service.get_readable(session, actor, number)
    events = await events_of(session, ticket)
    return schemas.EventList(items=[schemas.EventRead.model_validate(e) for e in events])


@router.post("/tickets/{number}/replies", response_model=schemas.MessageRead, status_code=201)
async def reply(
    number: str,
    body: schemas.ReplyCreate,
    session: SessionDep,
    settings: SettingsDep,
    actor: ActorDep,
) -> schemas.MessageRead:
    ticket = await service.get_readable(session, actor, number)
    message = await replies.reply(session, actor, settings, ticket, body)
    return await _message_read(session, actor, ticket, message.id)


@router.post("/tickets/{number}/notes", response_model=schemas.NoteRead, status_code=201)
async def add_note(
    number: str, body: schemas.NoteCreate, session: SessionDep, actor: AgentDep
) -> schemas.NoteRead:
    """The note, and who it @mentions but did not notify (they may not read the ticket)."""
    ticket = await service.get_readable(session, actor, number)
    added = await notes.add_note(session, actor, ticket, body)
    message = await _message_read(session, actor, ticket, added.message.id)
    return schemas.NoteRead(**message.model_dump(), not_notified=[
        schemas.NotNotifiedRead.model_validate(n, from_attributes=True)
        for n in added.not_notified])


async def _message_read(
    session: AsyncSession, actor: Actor, ticket: Ticket, message_id: uuid.UUID
) -> schemas.MessageRead:
    for message in await messages_of(session, ticket, include_internal=actor.is_agent):
        if message.id == message_id:
            return message
    raise NotFound("message")


@router.post("/tickets/{number}/status", response_model=schemas.TicketDetail)
async def change_status(
    number: str, body: schemas.StatusChange, session: SessionDep, actor: ActorDep
) -> schemas.TicketDetail:
    ticket = await service.get_readable(session, actor, number)
    await workflow.change_status(session, actor, ticket, body)
    return await detail(session, actor, ticket)


@router.post("/tickets/{number}/escalate", response_model=schemas.TicketDetail)
async def escalate(
    number: str, body: schemas.EscalateRequest, session: SessionDep, actor: ActorDep
) -> schemas.TicketDetail:
    ticket = await service.get_readable(session, actor, number)
    await workflow.escalate(session, actor, ticket, reason=body.reason)
    return await detail(session, actor, ticket)


@router.post("/tickets/{number}/rating", response_model=schemas.TicketDetail)
async def rate(
    number: str, body: schemas.RatingCreate, session: SessionDep, actor: ActorDep
) -> schemas.TicketDetail:
    """The customer rates a resolved conversation 1–5, with an optional comment."""
    ticket = await service.get_readable(session, actor, number)
    await replies.rate(session, actor, ticket, score=body.score, comment=body.comment)
    return await detail(session, actor, ticket)


@router.get("/notifications", response_model=schemas.NotificationList)
async def my_notifications(
    session: SessionDep, actor: AgentDep, unread: bool = False
) -> schemas.NotificationList:
    rows = await notes.notifications_of(session, actor, unread_only=unread)
    return schemas.NotificationList(items=[schemas.NotificationRead.model_validate(n)
                                           for n in rows])


@router.post("/notifications/{notification_id}/read", status_code=204)
async def mark_read(notification_id: uuid.UUID, session: SessionDep, actor: AgentDep) -> None:
    await notes.mark_notification_read(session, actor, notification_id)


@router.post("/tickets/{number}/assign", response_model=schemas.TicketDetail)
async def assign(
    number: str, body: schemas.AssignRequest, session: SessionDep, actor: AgentDep
) -> schemas.TicketDetail:
    ticket = await service.get_readable(session, actor, number)
    await workflow.assign(session, actor, ticket, body)
    return await detail(session, actor, ticket)


@router.post("/tickets/{number}/merge", response_model=schemas.TicketDetail)
async def merge(
    number: str, body: schemas.MergeRequest, session: SessionDep, actor: AgentDep
) -> schemas.TicketDetail:
    source = await service.get_readable(session, actor, number)
    target = await workflow.merge(session, actor, source, into_number=body.into)
    return await detail(session, actor, target)


@router.post("/tickets/{number}/tags", response_model=schemas.TicketDetail)
async def change_tags(
    number: str, body: schemas.TagChange, session: SessionDep, actor: AgentDep
) -> schemas.TicketDetail:
    ticket = await service.get_readable(session, actor, number)
    await workflow.change_tags(session, actor, ticket, body)
    return await detail(session, actor, ticket)


@router.get(
    "/tickets/{number}/transcript", response_model=None, response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}},
                                 "text/html": {"schema": {"type": "string"}}}}},
)
async def transcript(
    number: str,
    session: SessionDep,
    actor: ActorDep,
    format: Literal["txt", "html"] = "txt",  # noqa: A002
    lang: Literal["en", "zh-CN"] | None = None,
    tz: Annotated[str | None, Query(max_length=64)] = None,
    tz_fallback: Literal["utc"] | None = None,
) -> Response:
    """The whole conversation for download, without internal notes, labelled in ``lang``
    (default: Chinese for a Chinese ticket, else English), with times in the IANA time zone
    ``tz`` (default UTC; an unknown zone is 422 ``invalid_time_zone``, or with
    ``tz_fallback=utc`` the file in UTC, its header saying so: a browser's download link, which
    would save an error body as the file, asks for that)."""
    zone = reader_zone(tz, fallback=tz_fallback == "utc")
    ticket = await service.get_readable(session, actor, number)
    read = await ticket_read(session, ticket, actor)
    messages = await messages_of(session, ticket, include_internal=False)
    language = reader_language(lang, ticket.language)
    disposition = f'attachment; filename="{ticket.number}.{format}"'
    if format == "html":
        return HTMLResponse(transcript_html(read, messages, language, zone),
                            headers={"Content-Disposition": disposition})
    return PlainTextResponse(transcript_text(read, messages, language, zone),
                             headers={"Content-Disposition": disposition})


@router.post("/tickets/{number}/attachments", response_model=schemas.AttachmentRead,
             status_code=201)
async def upload_attachment(
    number: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: ActorDep,
    file: Annotated[UploadFile, File(description="The file; its type is sniffed from bytes.")],
) -> schemas.AttachmentRead:
    """Upload first, then reference the id in a reply's ``attachment_ids``."""
    ticket = await service.get_readable(session, actor, number)

    async def chunks() -> AsyncIterator[bytes]:
        while chunk := await file.read(CHUNK):
            yield chunk

    attachment = await uploads.upload_attachment(
        session, actor, AttachmentStore(settings), ticket, filename=file.filename, chunks=chunks()
    )
    return schemas.AttachmentRead.model_validate(attachment)


@router.get(
    "/attachments/{attachment_id}", response_model=None, response_class=FileResponse,
    responses={200: {"content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}},
               410: {"description": "`attachment_withheld`: the file held a secret and its "
                                    "bytes were deleted"}},
)
async def download_attachment(
    attachment_id: uuid.UUID, session: SessionDep, settings: SettingsDep, actor: ActorDep
) -> FileResponse:
    attachment = await uploads.get_attachment(session, actor, attachment_id)
    if attachment.withheld_reason is not None:
        raise AttachmentWithheld(attachment.withheld_reason)
    path = AttachmentStore(settings).path_for(attachment.storage_key)
    if not path.exists():
        raise NotFound("attachment")
    return FileResponse(
        path, media_type=attachment.content_type, filename=attachment.filename,
        content_disposition_type="attachment",
        headers={"X-Content-Type-Options": "nosniff",
                 "Content-Security-Policy": "default-src 'none'; sandbox"},
    )


@router.get("/tickets/{number}/context", response_model=CustomerContext)
async def customer_context(
    number: str, request: Request, session: SessionDep, actor: AgentDep
) -> CustomerContext:
    """The customer's account context from the exchange back office (audited: it is sensitive)."""
    ticket = await service.get_readable(session, actor, number)
    customer = await session.scalar(select(Customer).where(Customer.id == ticket.customer_id))
    assert customer is not None
    if customer.is_visitor:
        raise NotFound("exchange customer", code="exchange_customer_not_found")
    await audit(session, actor, "customer_context.viewed", target_type="customer",
                target_id=str(customer.id),
                details={"ticket": ticket.number, "external_id": customer.external_id})
    context: CustomerContext = await request.app.state.exchange.customer_context(
        customer.external_id)
    await compliance_state(session, customer, context=context, viewer=actor,
                           ticket_number=ticket.number)
    return context
