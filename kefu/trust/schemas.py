"""Request and response bodies of the trust API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ChannelKind = Literal["email", "phone", "telegram", "x", "domain", "agent_id"]
VerifyKind = Literal["email", "phone", "telegram", "x", "url", "domain", "agent_id"]
Purpose = Literal["2fa_reset", "unfreeze", "appeal"]


class VerifyRead(BaseModel):
    kind: VerifyKind
    value: str
    verdict: Literal["official", "suspicious", "unknown"] = Field(
        description="official; suspicious (resembles `matched`); unknown (not official)")
    matched: str | None = Field(description="The official value it is or resembles")
    label: str = Field(description="The label of that official channel")
    reason: str = Field(description="One English sentence explaining the verdict")


class OfficialChannelPut(BaseModel):
    """Add a channel, or change the label and state of the one with this kind and value."""

    model_config = ConfigDict(extra="forbid")

    kind: ChannelKind
    value: str = Field(min_length=1, max_length=254)
    label: str = Field(default="", max_length=200)
    active: bool = True


class OfficialChannelRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: ChannelKind
    value: str
    label: str
    active: bool
    added_by_agent_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class OfficialChannelList(BaseModel):
    items: list[OfficialChannelRead]


class AntiPhishingCodeSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=64,
                      description="4 to 20 letters and digits; shown on every message from us")


class AntiPhishingCodeRead(BaseModel):
    code: str | None
    updated_at: datetime | None


class StepUpCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    purpose: Purpose


class StepUpCreated(BaseModel):
    id: uuid.UUID
    purpose: Purpose
    url: str = Field(description="The single-use link (shown once)")
    expires_at: datetime
    text: str = Field(description="A message with the link, in the ticket's language, to send")


class IdentityCheckRead(BaseModel):
    id: uuid.UUID
    purpose: Purpose
    state: Literal["pending", "expired", "verified", "failed"]
    method: str
    created_at: datetime
    expires_at: datetime
    opened_at: datetime | None
    completed_at: datetime | None


class ComplianceRead(BaseModel):
    hold: bool = Field(description="Under a compliance hold: replies must not tip them off")
    reason: str
    checked_at: datetime | None


class TicketTrustRead(BaseModel):
    """What the console shows next to a ticket: compliance, identity checks, open flags."""

    ticket: str
    compliance: ComplianceRead
    identity_checks: list[IdentityCheckRead]
    open_flags: int
    agent_public_id: str = Field(description="The viewing agent's id as /verify checks it")


class FlagRead(BaseModel):
    id: uuid.UUID
    kind: str
    score: float
    reasons: list[str]
    excerpt: str = Field(description="The message with secrets masked")
    status: Literal["open", "dismissed", "actioned"]
    ticket_number: str | None
    customer_external_id: str | None
    created_at: datetime
    reviewed_at: datetime | None
    reviewed_by_agent_id: uuid.UUID | None
    review_note: str


class FlagList(BaseModel):
    items: list[FlagRead]


class FlagReview(BaseModel):
    model_config = ConfigDict(extra="forbid")

    flag_id: uuid.UUID
    decision: Literal["dismissed", "actioned"]
    note: str = Field(default="", max_length=2000)
    cooldown_minutes: int | None = Field(default=None, ge=1, le=7 * 24 * 60,
                                         description="Actioned only: stop the customer writing")


class CallbackAccepted(BaseModel):
    reference: uuid.UUID
    result: Literal["verified", "failed"]
