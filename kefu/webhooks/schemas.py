"""Webhook endpoints and deliveries, in and out of the API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator

# The values of ``kefu.webhooks.models.EVENTS``, spelled out for the OpenAPI enum.
WebhookEvent = Literal["ticket.created", "ticket.updated", "message.created"]
DeliveryStatus = Literal["pending", "delivered", "failed"]


class WebhookEndpointCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: HttpUrl = Field(description="http(s) URL that receives the POSTs; no credentials in it")
    events: list[WebhookEvent] = Field(min_length=1)
    description: str = Field(default="", max_length=500)
    active: bool = True

    @field_validator("url")
    @classmethod
    def _no_credentials(cls, url: HttpUrl) -> HttpUrl:
        # Credentials in a URL end up in logs and in the admin UI; deliveries are authenticated
        # by our signature instead.
        if url.username or url.password:
            raise ValueError("the URL must not contain a user name or password")
        if len(str(url)) > 2048:
            raise ValueError("the URL is longer than 2048 characters")
        return url

    @field_validator("events")
    @classmethod
    def _unique_events(cls, events: list[WebhookEvent]) -> list[WebhookEvent]:
        return sorted(set(events))


class WebhookEndpointRead(BaseModel):
    """Includes ``secret``: the key the receiver uses to check our ``X-Kefu-Signature``."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    url: str
    secret: str
    events: list[str]
    active: bool
    description: str
    created_at: datetime
    created_by_agent_id: uuid.UUID | None


class WebhookEndpointList(BaseModel):
    items: list[WebhookEndpointRead]


class WebhookDeliveryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    endpoint_id: uuid.UUID
    event: str
    event_id: uuid.UUID
    payload: dict[str, Any]
    status: DeliveryStatus
    attempts: int
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


class WebhookDeliveryList(BaseModel):
    items: list[WebhookDeliveryRead]
