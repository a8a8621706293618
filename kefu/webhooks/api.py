"""Admin routes for webhook endpoints and their delivery log."""

from __future__ import annotations

import uuid
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Query

from kefu.accounts.deps import AdminDep
from kefu.accounts.service import audit
from kefu.core.errors import KefuError
from kefu.core.http import SessionDep, SettingsDep
from kefu.webhooks import service
from kefu.webhooks.destination import refusal
from kefu.webhooks.schemas import (
    WebhookDeliveryList,
    WebhookDeliveryRead,
    WebhookEndpointCreate,
    WebhookEndpointList,
    WebhookEndpointRead,
)

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])


@router.post("", response_model=WebhookEndpointRead, status_code=201)
async def create_webhook_endpoint(
    body: WebhookEndpointCreate, session: SessionDep, actor: AdminDep, settings: SettingsDep
) -> WebhookEndpointRead:
    """Register an endpoint. The response includes the signing ``secret``. A URL naming a
    loopback, private or link-local address is refused (422 ``private_destination``) unless
    ``KEFU_WEBHOOK_ALLOW_PRIVATE`` is set; names are checked at each delivery."""
    why = None if settings.webhook_allow_private else refusal(str(body.url))
    if why is not None:
        raise KefuError(f"webhooks go to public addresses only: {why}",
                        code="private_destination", status=422)
    endpoint = await service.create_endpoint(
        session, data=body, created_by_agent_id=actor.agent.id if actor.agent else None
    )
    # The host only: a URL path or query may itself hold a token.
    await audit(
        session,
        actor,
        "webhook.created",
        target_type="webhook_endpoint",
        target_id=str(endpoint.id),
        details={"host": urlsplit(endpoint.url).hostname or "", "events": endpoint.events},
    )
    return WebhookEndpointRead.model_validate(endpoint)


@router.get("", response_model=WebhookEndpointList)
async def list_webhook_endpoints(session: SessionDep, actor: AdminDep) -> WebhookEndpointList:
    endpoints = await service.list_endpoints(session)
    return WebhookEndpointList(items=[WebhookEndpointRead.model_validate(e) for e in endpoints])


@router.delete("/{endpoint_id}", status_code=204)
async def delete_webhook_endpoint(
    endpoint_id: uuid.UUID, session: SessionDep, actor: AdminDep
) -> None:
    endpoint = await service.delete_endpoint(session, endpoint_id)
    await audit(
        session,
        actor,
        "webhook.deleted",
        target_type="webhook_endpoint",
        target_id=str(endpoint_id),
        details={"host": urlsplit(endpoint.url).hostname or ""},
    )


@router.get("/{endpoint_id}/deliveries", response_model=WebhookDeliveryList)
async def list_webhook_deliveries(
    endpoint_id: uuid.UUID,
    session: SessionDep,
    actor: AdminDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> WebhookDeliveryList:
    deliveries = await service.list_deliveries(session, endpoint_id, limit=limit)
    return WebhookDeliveryList(items=[WebhookDeliveryRead.model_validate(d) for d in deliveries])
