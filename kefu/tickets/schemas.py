from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Literal

from babel import Locale, UnknownLocaleError
from pydantic import BaseModel, ConfigDict, Field, field_validator

from kefu.tickets.attachment_text import TextStatus

Status = Literal["new", "open", "pending", "escalated", "resolved", "closed"]
PendingReason = Literal["customer", "internal"]
Priority = Literal["low", "normal", "high", "urgent"]
Channel = Literal["chat", "email", "portal", "telegram", "phone", "webform", "api"]
AuthorKind = Literal["customer", "agent", "assistant", "system"]

MAX_BODY = 20_000
# Files a person attaches to one message through the widget, the portal or the console (the
# websocket's `send`, the page forms, what /widget.js tells the picker). The API and the email
# channel take up to 20 (an email's attachments arrive all at once).
MAX_FILES_PER_MESSAGE = 10
# The name shown for a customer who has none (the exchange did not send one, a visitor).
UNNAMED_CUSTOMER = "Customer"


def _clean_text(value: str) -> str:
    value = value.replace("\x00", "").strip()
    if not value:
        raise ValueError("must not be empty")
    return value


# Bidirectional embeddings, overrides and isolates: in a one-line name they only serve to make
# it read otherwise than it is ("invoice\u202egnp.exe" shows as "invoiceexe.png").
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")


def _clean_line(value: str | None) -> str | None:
    return None if value is None else _clean_text(BIDI_CONTROLS.sub("", value))


def _known_language(value: str | None) -> str | None:
    """A language tag whose language CLDR knows ("zh-CN", "pt-BR", "hi"), not just any tag
    of the right shape ("xx"): a ticket's language decides which team can take it."""
    if value is None:
        return None
    try:
        Locale.parse(value, sep="-")
    except (ValueError, UnknownLocaleError):
        raise ValueError("not a known language") from None
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TicketCreate(_Strict):
    subject: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=MAX_BODY)
    channel: Channel | None = None
    language: str | None = Field(default=None, min_length=2, max_length=16,
                                 pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
    priority: Priority | None = Field(default=None, description="Agents only.")
    customer_external_id: str | None = Field(
        default=None, max_length=128, description="Agents only: open a ticket for a customer."
    )
    client_msg_id: str | None = Field(default=None, max_length=64)

    _subject = field_validator("subject")(_clean_line)
    _body = field_validator("body")(_clean_text)
    _language = field_validator("language")(_known_language)


class TicketUpdate(_Strict):
    subject: str | None = Field(default=None, min_length=1, max_length=200)
    priority: Priority | None = None
    language: str | None = Field(default=None, min_length=2, max_length=16,
                                 pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
    team_id: uuid.UUID | None = None

    _subject = field_validator("subject")(_clean_line)
    _language = field_validator("language")(_known_language)


class ReplyCreate(_Strict):
    body: str = Field(min_length=1, max_length=MAX_BODY)
    attachment_ids: list[uuid.UUID] = Field(default_factory=list, max_length=20)
    client_msg_id: str | None = Field(default=None, max_length=64)
    override_guard: bool = Field(default=False, description=(
        "Supervisors: send a reply the anti-phishing check blocked (audited)."))

    _body = field_validator("body")(_clean_text)


class NoteCreate(_Strict):
    body: str = Field(min_length=1, max_length=MAX_BODY)
    attachment_ids: list[uuid.UUID] = Field(default_factory=list, max_length=20)
    client_msg_id: str | None = Field(default=None, max_length=64)

    _body = field_validator("body")(_clean_text)


class StatusChange(_Strict):
    status: Status
    pending_reason: PendingReason | None = None
    reason: str | None = Field(default=None, max_length=2000)


class AssignRequest(_Strict):
    agent_id: uuid.UUID | None = None
    team_id: uuid.UUID | None = None


class EscalateRequest(_Strict):
    reason: str = Field(min_length=3, max_length=2000)

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: str) -> str:
        """Three characters of reason once the spaces around it are gone ("   a  " is one)."""
        value = _clean_text(value)
        if len(value) < 3:
            raise ValueError("say in a few words why (at least 3 characters)")
        return value


class MergeRequest(_Strict):
    into: str = Field(min_length=6, max_length=16, description="Number of the surviving ticket.")


class TagChange(_Strict):
    add: list[str] = Field(default_factory=list, max_length=50)
    remove: list[str] = Field(default_factory=list, max_length=50)


class RatingCreate(_Strict):
    score: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=2000)


class NotificationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    kind: str
    data: dict[str, object]
    created_at: datetime
    read_at: datetime | None


class NotificationList(BaseModel):
    items: list[NotificationRead]


class AttachmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    filename: str
    content_type: str
    size: int
    sha256: str | None = Field(description="None when the file was withheld.")
    message_id: uuid.UUID | None
    created_at: datetime
    text_status: TextStatus = Field(
        description="How much of the file's text the secret guard read: `none` (a type without "
                    "text, or an image while OCR is off), `extracted` (PDF and plain text "
                    "read, images by OCR), `partial` (up to a limit or the OCR time budget), "
                    "`unreadable`.")
    extracted_text: str | None = Field(
        description="The file's text with secrets masked (at most 20,000 characters).")
    withheld_reason: str | None = Field(
        description="Set when the file held a secret and was not kept (download: 410).")


class MessageRead(BaseModel):
    id: uuid.UUID
    ticket_number: str
    seq: int = Field(description="Position in the conversation as the caller sees it.")
    public_seq: int | None = Field(default=None,
                                   description="Position among customer-visible messages.")
    author_kind: AuthorKind
    author_name: str
    body: str
    internal: bool
    created_at: datetime
    client_msg_id: str | None = None
    language: str | None = Field(default=None, description=(
        "Detected language of a customer's message (zh, zh-Hant, en, ja, ko, ru, es, vi, tr, "
        "ar, …; und when the text does not tell)."))
    attachments: list[AttachmentRead] = []


class NotNotifiedRead(BaseModel):
    agent_id: uuid.UUID
    name: str
    reason: str = Field(description=(
        "`cannot_read_ticket`: the agent may not read this ticket (not in its team, not its "
        "assignee), so was not told: a notification carries the note's text."))


class NoteRead(MessageRead):
    not_notified: list[NotNotifiedRead] = Field(default_factory=list, description=(
        "Agents the note @mentions who were not notified, and why. The note is saved."))


class TicketRead(BaseModel):
    id: uuid.UUID
    number: str
    subject: str
    status: Status
    pending_reason: PendingReason | None
    priority: Priority
    channel: Channel
    language: str
    customer_id: uuid.UUID
    team_id: uuid.UUID | None
    assignee_id: uuid.UUID | None
    escalation_reason: str | None
    escalated_at: datetime | None
    tags: list[str]
    merged_numbers: list[str]
    created_at: datetime
    updated_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    rating: int | None = None
    rating_comment: str | None = None


class TicketDetail(TicketRead):
    messages: list[MessageRead]


class TicketCreated(TicketDetail):
    duplicate_of: str | None = Field(default=None, description=(
        "Set (with status 200 instead of 201) when the request repeated the first message of "
        "one of the customer's open tickets: nothing was created, the message was added to that "
        "ticket, whose number this is and which the response shows."))


class TicketList(BaseModel):
    items: list[TicketRead]
    next_cursor: str | None


class EventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    kind: str
    actor_kind: str
    actor_agent_id: uuid.UUID | None
    actor_customer_id: uuid.UUID | None
    data: dict[str, object]
    at: datetime


class EventList(BaseModel):
    items: list[EventRead]
