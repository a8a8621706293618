"""Outgoing webhooks: endpoints, events, signed deliveries with retries.

:func:`emit` records one delivery per active endpoint subscribed to the event and enqueues a
``webhooks.deliver`` job for each, in the caller's transaction: a rolled-back change never
reaches a receiver. The job POSTs the event; a non-2xx answer or a network error is recorded on
the delivery and the job is retried with backoff; the last failed attempt marks it ``failed``.

What a receiver gets::

    POST <endpoint url>
    Content-Type: application/json
    User-Agent: Kefu-Webhooks/1
    X-Kefu-Event: ticket.created
    X-Kefu-Delivery: <event id: the same on every retry>
    X-Kefu-Timestamp: <unix seconds when this attempt was signed>
    X-Kefu-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>

    {"id": "<event id>", "event": "ticket.created", "created_at": "<ISO 8601>", "data": {...}}

How a receiver verifies a request:

1. Take the raw body bytes as received, before any JSON parsing or re-encoding.
2. Reject the request if ``X-Kefu-Timestamp`` is more than 5 minutes away from its own clock:
   a captured request cannot be replayed later.
3. Compute ``hex(HMAC-SHA256(secret, timestamp + "." + body))`` and compare it with the value
   after ``v1=`` in constant time (``hmac.compare_digest``); reject on mismatch.
4. Drop duplicates by ``X-Kefu-Delivery`` (delivery is at least once), answer 2xx quickly and do
   slow work afterwards: anything else, or no answer within the timeout, is retried.

:func:`verify_signature` does steps 2 and 3 for Python receivers.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import uuid
from datetime import datetime
from typing import Any

import httpx
from pydantic_core import to_jsonable_python
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.core import clock
from kefu.core.errors import NotFound
from kefu.core.ids import new_id, new_token
from kefu.db import writer_sqlite
from kefu.jobs.runner import JobContext, JobRegistry, describe_error, enqueue
from kefu.webhooks.destination import Pinned, Refused, pin
from kefu.webhooks.models import EVENTS, WebhookDelivery, WebhookEndpoint
from kefu.webhooks.schemas import WebhookEndpointCreate

log = logging.getLogger(__name__)

DELIVER_JOB = "webhooks.deliver"
USER_AGENT = "Kefu-Webhooks/1"
SIGNATURE_VERSION = "v1"
SIGNATURE_TOLERANCE_S = 300
SECRET_PREFIX = "whsec_"
DELIVERY_ERROR_MAX_CHARS = 500


class WebhookDeliveryFailed(Exception):
    """A receiver answered non-2xx or could not be reached; the job runner retries."""


async def create_endpoint(
    session: AsyncSession,
    *,
    data: WebhookEndpointCreate,
    created_by_agent_id: uuid.UUID | None = None,
) -> WebhookEndpoint:
    """Register an endpoint with a fresh random signing secret."""
    endpoint = WebhookEndpoint(
        url=str(data.url),
        secret=SECRET_PREFIX + new_token(32),
        events=list(data.events),
        active=data.active,
        description=data.description,
        created_by_agent_id=created_by_agent_id,
    )
    session.add(endpoint)
    await session.flush()
    _forget_endpoints(session)
    return endpoint


async def list_endpoints(session: AsyncSession) -> list[WebhookEndpoint]:
    query = select(WebhookEndpoint).order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
    return list(await session.scalars(query))


async def get_endpoint(session: AsyncSession, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    endpoint = await session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise NotFound("webhook endpoint")
    return endpoint


async def delete_endpoint(session: AsyncSession, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    """Delete an endpoint and, by cascade, its delivery log; queued deliveries are then skipped.
    Returns the deleted endpoint (for the audit log)."""
    endpoint = await get_endpoint(session, endpoint_id)
    await session.delete(endpoint)
    await session.flush()
    _forget_endpoints(session)
    return endpoint


async def list_deliveries(
    session: AsyncSession, endpoint_id: uuid.UUID, limit: int = 50
) -> list[WebhookDelivery]:
    """Newest first."""
    await get_endpoint(session, endpoint_id)
    query = (
        select(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint_id)
        .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id)
        .limit(max(1, min(limit, 500)))
    )
    return list(await session.scalars(query))


_ENDPOINTS_CACHE = "webhooks.active_endpoints"


async def _active_endpoints(session: AsyncSession) -> list[WebhookEndpoint]:
    """Looked up once per transaction: a request that changes a ticket emits several events."""
    transaction = session.sync_session.get_transaction()
    cached = session.info.get(_ENDPOINTS_CACHE)
    if cached is not None and cached[0] is transaction:
        return list(cached[1])
    endpoints = list(await session.scalars(
        select(WebhookEndpoint).where(WebhookEndpoint.active.is_(True))))
    session.info[_ENDPOINTS_CACHE] = (session.sync_session.get_transaction(), endpoints)
    return endpoints


def _forget_endpoints(session: AsyncSession) -> None:
    session.info.pop(_ENDPOINTS_CACHE, None)


async def subscribed(session: AsyncSession, event: str) -> bool:
    """Whether any active endpoint wants ``event``: callers that emit often skip building
    payloads nobody receives."""
    raw = await writer_sqlite(session)
    if raw is not None:  # the chat writer's batch: no ORM objects needed to answer this
        return any(event in json.loads(events) for (events,) in raw.execute(
            "SELECT events FROM webhook_endpoints WHERE active = 1"))
    return any(event in e.events for e in await _active_endpoints(session))


async def emit(session: AsyncSession, event: str, data: dict[str, Any]) -> None:
    """Announce ``event`` to every active endpoint subscribed to it. Runs in the caller's
    transaction: deliveries are recorded and their jobs enqueued there, so nothing is sent unless
    it commits. ``data`` may hold UUIDs and datetimes; they are converted to JSON here."""
    if event not in EVENTS:
        raise ValueError(f"unknown webhook event {event!r}")
    subscribed = [e for e in await _active_endpoints(session) if event in e.events]
    if not subscribed:
        return
    event_id = new_id()
    document = {
        "id": str(event_id),
        "event": event,
        "created_at": clock.now().isoformat(),
        "data": to_jsonable_python(data),
    }
    deliveries = [
        WebhookDelivery(endpoint_id=endpoint.id, event=event, event_id=event_id, payload=document)
        for endpoint in subscribed
    ]
    session.add_all(deliveries)
    await session.flush()
    for delivery in deliveries:
        await enqueue(session, DELIVER_JOB, {"delivery_id": str(delivery.id)})


def encode_body(document: dict[str, Any]) -> bytes:
    """The exact bytes POSTed and signed."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Kefu-Signature`` value: ``v1=<hex HMAC-SHA256(secret, f"{timestamp}.{body}")>``."""
    message = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_VERSION}={digest}"


def verify_signature(
    secret: str,
    *,
    timestamp: str,
    body: bytes,
    signature: str,
    now: datetime | None = None,
    tolerance_s: int = SIGNATURE_TOLERANCE_S,
) -> bool:
    """What a receiver does: the timestamp is within ``tolerance_s`` of ``now`` and the signature
    matches the raw body (compared in constant time)."""
    try:
        signed_at = int(timestamp)
    except ValueError:
        return False
    current = (now or clock.now()).timestamp()
    if abs(current - signed_at) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, signed_at, body), signature.strip())


async def deliver(session: AsyncSession, payload: dict[str, Any], ctx: JobContext) -> None:
    """Job ``webhooks.deliver``: POST one delivery, signed at send time.

    Success records ``delivered`` in the job's own transaction. A failure is recorded in a
    separate transaction (the job's is rolled back when we raise) and raised for the runner to
    retry; on the last attempt the delivery becomes ``failed``. A delivery whose endpoint was
    deleted is skipped; one whose endpoint was deactivated fails without being sent."""
    delivery_id = uuid.UUID(str(payload["delivery_id"]))
    row = (
        await session.execute(
            select(WebhookDelivery, WebhookEndpoint)
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .where(WebhookDelivery.id == delivery_id)
        )
    ).one_or_none()
    if row is None:
        log.info("webhook delivery %s skipped: its endpoint was deleted", delivery_id)
        return
    delivery, endpoint = row
    if delivery.status == "delivered":
        return
    if not endpoint.active:
        delivery.status = "failed"
        delivery.last_error = "endpoint is inactive"
        return

    body = encode_body(delivery.payload)
    timestamp = int(clock.now().timestamp())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Kefu-Event": delivery.event,
        "X-Kefu-Delivery": str(delivery.event_id),
        "X-Kefu-Timestamp": str(timestamp),
        "X-Kefu-Signature": sign(endpoint.secret, timestamp, body),
    }
    timeout_s = ctx.settings.webhook_timeout_s
    status_code: int | None = None
    try:
        target = (Pinned(endpoint.url, {}) if ctx.settings.webhook_allow_private
                  else await pin(endpoint.url))
        # httpx's timeout is per phase; this bounds the whole exchange. The response body is
        # never read: only the status matters, and a huge body must not cost us memory.
        async with (
            asyncio.timeout(timeout_s),
            ctx.http.stream(
                "POST", target.url, content=body, headers={**headers, **target.headers},
                timeout=timeout_s, extensions=target.extensions, follow_redirects=False,
            ) as response,
        ):
            status_code = response.status_code
    except Refused as exc:
        error = f"refused: {exc}"
    except TimeoutError:
        error = f"timed out after {timeout_s:g}s"
    except (httpx.HTTPError, httpx.InvalidURL, OSError) as exc:
        error = describe_error(exc)
    else:
        if 200 <= status_code < 300:
            delivery.status = "delivered"
            delivery.attempts += 1
            delivery.last_status_code = status_code
            delivery.last_error = None
            delivery.delivered_at = clock.now()
            return
        error = f"HTTP {status_code}"

    error = error[:DELIVERY_ERROR_MAX_CHARS]
    async with ctx.db.transaction() as record:
        await record.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery_id, WebhookDelivery.status != "delivered")
            .values(
                attempts=WebhookDelivery.attempts + 1,
                last_status_code=status_code,
                last_error=error,
                status="failed" if ctx.is_last_attempt else "pending",
            )
            .execution_options(synchronize_session=False)
        )
    raise WebhookDeliveryFailed(error)


def register_jobs(registry: JobRegistry) -> None:
    """Add this domain's job handlers to the app's registry."""
    registry.register(DELIVER_JOB)(deliver)
