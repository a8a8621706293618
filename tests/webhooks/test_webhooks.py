"""Webhooks end to end: events emitted in real transactions, delivered by the job runner to a real
HTTP receiver on 127.0.0.1, signed, retried and dead-lettered."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import socket
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, get_args

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy import func, select

import kefu.jobs.models  # noqa: F401  (tables for create_all)
from kefu.accounts.actor import Actor
from kefu.accounts.deps import require_admin
from kefu.accounts.models import Agent, AuditEntry
from kefu.config import Settings
from kefu.core import clock
from kefu.core.errors import KefuError
from kefu.db import Base, Database
from kefu.jobs.models import Job
from kefu.jobs.runner import DatabaseJobRunner, JobRegistry
from kefu.webhooks import destination, service
from kefu.webhooks.api import router
from kefu.webhooks.models import EVENTS, WebhookDelivery, WebhookEndpoint
from kefu.webhooks.schemas import WebhookEndpointCreate, WebhookEvent


@dataclass(frozen=True)
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    """A minimal HTTP/1.1 server that records each request and answers 500 to the first
    ``fail_first`` of them, 200 afterwards."""

    def __init__(self, *, fail_first: int = 0) -> None:
        self.fail_first = fail_first
        self.requests: list[ReceivedRequest] = []
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def url(self, path: str = "/hooks/kefu") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            request_line, *header_lines = head.split("\r\n")
            method, path, _version = request_line.split(" ", 2)
            headers: dict[str, str] = {}
            for line in header_lines:
                if line:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            self.requests.append(ReceivedRequest(method, path, headers, body))
            failing = len(self.requests) <= self.fail_first
            status = "500 Internal Server Error" if failing else "200 OK"
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok".encode()
            )
            await writer.drain()
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.at = start

    def __call__(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


@pytest.fixture
def fake_clock() -> Iterator[FakeClock]:
    fake = FakeClock(datetime(2025, 3, 1, 12, 0, tzinfo=UTC))
    clock.set_clock(fake)
    yield fake
    clock.set_clock(None)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """A fresh database per test, SQLite and PostgreSQL (``database_url`` from conftest)."""
    database = Database(database_url)
    async with database.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield database
    await database.dispose()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        env="test",
        data_dir=tmp_path,
        jobs_backoff_base_s=0.01,
        jobs_max_attempts=3,
        jobs_poll_interval_s=0.02,
        webhook_timeout_s=2.0,
        webhook_allow_private=True,  # the receivers here listen on 127.0.0.1
    )


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
async def runner(
    db: Database, settings: Settings, http: httpx.AsyncClient
) -> AsyncIterator[DatabaseJobRunner]:
    registry = JobRegistry()
    service.register_jobs(registry)
    job_runner = DatabaseJobRunner(db, registry, settings, http=http)
    yield job_runner
    await job_runner.stop()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    server = Receiver()
    await server.start()
    yield server
    await server.close()


async def add_endpoint(
    db: Database, url: str, *, events: tuple[str, ...] = ("ticket.created",), active: bool = True
) -> WebhookEndpoint:
    data = WebhookEndpointCreate.model_validate({"url": url, "events": events, "active": active})
    async with db.transaction() as session:
        return await service.create_endpoint(session, data=data)


async def emit_committed(db: Database, event: str, data: dict[str, Any]) -> None:
    async with db.transaction() as session:
        await service.emit(session, event, data)


async def deliveries_of(db: Database, endpoint_id: uuid.UUID) -> list[WebhookDelivery]:
    async with db.transaction() as session:
        return await service.list_deliveries(session, endpoint_id)


async def jobs(db: Database) -> list[Job]:
    async with db.transaction() as session:
        return list(await session.scalars(select(Job)))


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_committed_event_is_delivered_once_signed_over_the_exact_body(
    db: Database, settings: Settings, http: httpx.AsyncClient, receiver: Receiver
) -> None:
    endpoint = await add_endpoint(db, receiver.url())
    registry = JobRegistry()
    service.register_jobs(registry)
    job_runner = DatabaseJobRunner(db, registry, settings, http=http)
    await job_runner.start()
    ticket_id = uuid.uuid4()
    try:
        await emit_committed(db, "ticket.created", {"ticket_id": ticket_id, "number": "KF-7Q4M2X"})
        for _ in range(300):
            if receiver.requests:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)  # time for a duplicate, were there one
    finally:
        await job_runner.stop()

    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    [delivery] = await deliveries_of(db, endpoint.id)
    assert (request.method, request.path) == ("POST", "/hooks/kefu")
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == "Kefu-Webhooks/1"
    assert request.headers["x-kefu-event"] == "ticket.created"
    assert request.headers["x-kefu-delivery"] == str(delivery.event_id)

    timestamp = request.headers["x-kefu-timestamp"]
    assert abs(int(timestamp) - time.time()) < 60
    assert request.headers["x-kefu-signature"] == service.sign(
        endpoint.secret, int(timestamp), request.body
    )
    assert service.verify_signature(
        endpoint.secret,
        timestamp=timestamp,
        body=request.body,
        signature=request.headers["x-kefu-signature"],
    )
    assert not service.verify_signature(
        endpoint.secret,
        timestamp=timestamp,
        body=request.body.replace(b"KF-7Q4M2X", b"KF-7Q4M2Y"),
        signature=request.headers["x-kefu-signature"],
    )
    assert not service.verify_signature(
        endpoint.secret,
        timestamp=timestamp,
        body=request.body,
        signature=request.headers["x-kefu-signature"],
        now=clock.now() + timedelta(minutes=6),
    )

    document = json.loads(request.body)
    assert document == {
        "id": str(delivery.event_id),
        "event": "ticket.created",
        "created_at": document["created_at"],
        "data": {"ticket_id": str(ticket_id), "number": "KF-7Q4M2X"},
    }
    assert datetime.fromisoformat(document["created_at"]).tzinfo is not None
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 200)
    assert delivery.delivered_at is not None
    assert [job.status for job in await jobs(db)] == ["done"]


async def test_failed_attempts_are_retried_then_delivered(
    db: Database,
    runner: DatabaseJobRunner,
    fake_clock: FakeClock,
) -> None:
    flaky = Receiver(fail_first=2)
    await flaky.start()
    try:
        endpoint = await add_endpoint(db, flaky.url())
        await emit_committed(db, "ticket.created", {"ticket_id": "t-1"})

        assert await runner.run_pending() == 1
        [delivery] = await deliveries_of(db, endpoint.id)
        assert (delivery.status, delivery.attempts) == ("pending", 1)
        assert (delivery.last_status_code, delivery.last_error) == (500, "HTTP 500")
        [job] = await jobs(db)
        assert (job.status, job.last_error) == ("queued", "WebhookDeliveryFailed: HTTP 500")

        fake_clock.advance(3600)
        assert await runner.run_pending() == 1
        fake_clock.advance(3600)
        assert await runner.run_pending() == 1
    finally:
        await flaky.close()

    assert len(flaky.requests) == 3
    assert len({r.headers["x-kefu-delivery"] for r in flaky.requests}) == 1
    assert len({r.body for r in flaky.requests}) == 1
    [delivery] = await deliveries_of(db, endpoint.id)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 3, 200)
    assert delivery.last_error is None
    assert [job.status for job in await jobs(db)] == ["done"]


async def test_unreachable_receiver_dead_letters_the_job_and_fails_the_delivery(
    db: Database, runner: DatabaseJobRunner, fake_clock: FakeClock
) -> None:
    endpoint = await add_endpoint(db, f"http://127.0.0.1:{closed_port()}/hook")
    await emit_committed(db, "ticket.created", {"ticket_id": "t-1"})

    for _ in range(3):  # settings.jobs_max_attempts
        assert await runner.run_pending() == 1
        fake_clock.advance(3600)
    assert await runner.run_pending() == 0

    [job] = await jobs(db)
    assert (job.status, job.attempts) == ("dead", 3)
    [delivery] = await deliveries_of(db, endpoint.id)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("failed", 3, None)
    assert delivery.last_error is not None
    assert delivery.last_error.startswith("ConnectError")


async def test_event_emitted_in_a_rolled_back_transaction_sends_nothing(
    db: Database, runner: DatabaseJobRunner, receiver: Receiver
) -> None:
    await add_endpoint(db, receiver.url())

    async def reply_that_fails() -> None:
        async with db.transaction() as session:
            await service.emit(session, "ticket.created", {"ticket_id": "t-1"})
            raise RuntimeError("reply failed")

    with pytest.raises(RuntimeError, match="reply failed"):
        await reply_that_fails()

    assert await runner.run_pending() == 0
    assert receiver.requests == []
    async with db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(WebhookDelivery)) == 0
    assert await jobs(db) == []


async def test_inactive_and_unsubscribed_endpoints_get_nothing(
    db: Database, runner: DatabaseJobRunner, receiver: Receiver
) -> None:
    subscribed = await add_endpoint(db, receiver.url("/subscribed"))
    await add_endpoint(db, receiver.url("/other-event"), events=("message.created",))
    await add_endpoint(db, receiver.url("/inactive"), active=False)
    deactivated_later = await add_endpoint(db, receiver.url("/deactivated"))

    await emit_committed(db, "ticket.created", {"ticket_id": "t-1"})
    async with db.transaction() as session:
        endpoint = await service.get_endpoint(session, deactivated_later.id)
        endpoint.active = False
    assert await runner.run_pending() == 2

    assert [r.path for r in receiver.requests] == ["/subscribed"]
    assert [d.status for d in await deliveries_of(db, subscribed.id)] == ["delivered"]
    [skipped] = await deliveries_of(db, deactivated_later.id)
    assert (skipped.status, skipped.last_error) == ("failed", "endpoint is inactive")


async def test_deliveries_of_a_deleted_endpoint_are_dropped(
    db: Database, runner: DatabaseJobRunner, receiver: Receiver
) -> None:
    endpoint = await add_endpoint(db, receiver.url())
    await emit_committed(db, "ticket.created", {"ticket_id": "t-1"})
    async with db.transaction() as session:
        await service.delete_endpoint(session, endpoint.id)
    assert await runner.run_pending() == 1
    assert receiver.requests == []
    assert [job.status for job in await jobs(db)] == ["done"]


async def test_emit_refuses_an_unknown_event(db: Database) -> None:
    async with db.transaction() as session:
        with pytest.raises(ValueError, match="unknown webhook event"):
            await service.emit(session, "ticket.exploded", {})


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/hook",
        "http://user:pass@example.com/hook",
        "https://token@example.com/hook",
        "javascript:alert(1)",
        "file:///etc/passwd",
        "not a url",
    ],
)
def test_endpoint_schema_rejects_bad_urls(url: str) -> None:
    with pytest.raises(ValidationError):
        WebhookEndpointCreate.model_validate({"url": url, "events": ["ticket.created"]})


@pytest.mark.parametrize("events", [[], ["ticket.deleted"], "ticket.created"])
def test_endpoint_schema_rejects_bad_event_lists(events: Any) -> None:
    with pytest.raises(ValidationError):
        WebhookEndpointCreate.model_validate({"url": "https://example.com/h", "events": events})


def test_endpoint_schema_accepts_http_and_https_and_dedupes_events() -> None:
    data = WebhookEndpointCreate.model_validate(
        {"url": "https://hooks.example.com/kefu?x=1", "events": ["ticket.updated"] * 2}
    )
    assert data.events == ["ticket.updated"]
    assert WebhookEndpointCreate.model_validate(
        {"url": "http://10.0.0.5:8080/in", "events": list(EVENTS)}
    ).events == sorted(EVENTS)
    assert get_args(WebhookEvent) == EVENTS


def test_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    expected = "v1=" + hmac.new(b"whsec_test", b'1700000000.{"a":1}', "sha256").hexdigest()
    assert service.sign("whsec_test", 1700000000, b'{"a":1}') == expected
    assert not service.verify_signature(
        "whsec_test", timestamp="soon", body=b"{}", signature=expected
    )


# ------------------------------------------------------------------ routes


@pytest.fixture
async def api(db: Database, settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, Agent]]:
    async with db.transaction() as session:
        admin = Agent(
            email="root@example.com", display_name="Root", password_hash="-", role="admin"
        )
        session.add(admin)
    async with admin_api(db, settings, admin) as client:
        yield client, admin


@contextlib.asynccontextmanager
async def admin_api(db: Database, settings: Settings,
                    admin: Agent) -> AsyncIterator[httpx.AsyncClient]:
    """The webhook routes alone, called as ``admin``."""
    app = FastAPI()
    app.state.db = db
    app.state.settings = settings
    app.include_router(router)

    @app.exception_handler(KefuError)
    async def render(request: Request, exc: KefuError) -> JSONResponse:
        return JSONResponse({"error": {"code": exc.code, "message": exc.message}}, exc.status)

    app.dependency_overrides[require_admin] = lambda: Actor(kind="agent", agent=admin)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://kefu.test") as client:
        yield client


async def test_admin_routes_create_list_deliveries_and_delete(
    db: Database, api: tuple[httpx.AsyncClient, Agent]
) -> None:
    client, admin = api
    created = await client.post(
        "/api/v1/webhooks",
        json={
            "url": "https://hooks.example.com/k?token=abc",
            "events": ["message.created"],
            "description": "CRM",
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["secret"].startswith("whsec_")
    assert body["created_by_agent_id"] == str(admin.id)
    endpoint_id = body["id"]

    listed = await client.get("/api/v1/webhooks")
    assert [e["id"] for e in listed.json()["items"]] == [endpoint_id]

    async with db.transaction() as session:
        await service.emit(session, "message.created", {"message_id": "m-1"})
    deliveries = await client.get(f"/api/v1/webhooks/{endpoint_id}/deliveries")
    assert deliveries.status_code == 200
    [delivery] = deliveries.json()["items"]
    assert (delivery["event"], delivery["status"], delivery["attempts"]) == (
        "message.created",
        "pending",
        0,
    )

    assert (
        await client.post(
            "/api/v1/webhooks", json={"url": "ftp://example.com", "events": ["ticket.created"]}
        )
    ).status_code == 422
    assert (await client.delete(f"/api/v1/webhooks/{endpoint_id}")).status_code == 204
    missing = await client.delete(f"/api/v1/webhooks/{endpoint_id}")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    assert (await client.get(f"/api/v1/webhooks/{endpoint_id}/deliveries")).status_code == 404

    async with db.transaction() as session:
        entries = list(await session.scalars(select(AuditEntry).order_by(AuditEntry.at)))
    assert [(e.action, e.actor_agent_id) for e in entries] == [
        ("webhook.created", admin.id),
        ("webhook.deleted", admin.id),
    ]
    assert "token" not in json.dumps(entries[0].details)


async def test_routes_require_an_admin(db: Database, settings: Settings) -> None:
    app = FastAPI()
    app.state.db = db
    app.state.settings = settings
    app.include_router(router)

    @app.exception_handler(KefuError)
    async def render(request: Request, exc: KefuError) -> JSONResponse:
        return JSONResponse({"error": {"code": exc.code, "message": exc.message}}, exc.status)

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://kefu.test") as client:
        assert (await client.get("/api/v1/webhooks")).status_code == 401


# ------------------------------------------------------------------ destinations (SSRF)


@pytest.mark.parametrize("address", [
    "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1",
    "0.0.0.0", "255.255.255.255", "224.0.0.1", "::1", "fe80::1", "fc00::1", "::ffff:127.0.0.1",
    "::ffff:10.0.0.1", "::",
])
def test_non_public_addresses_are_refused(address: str) -> None:
    assert not destination.is_public(address)
    literal = f"[{address}]" if ":" in address else address
    assert destination.refusal(f"https://{literal}:8443/hook") is not None


@pytest.mark.parametrize("address", ["8.8.8.8", "93.184.216.34", "2606:4700:4700::1111"])
def test_public_addresses_pass(address: str) -> None:
    assert destination.is_public(address)
    literal = f"[{address}]" if ":" in address else address
    assert destination.refusal(f"https://{literal}/hook") is None


def test_localhost_names_are_refused_and_other_names_wait_for_delivery() -> None:
    assert destination.refusal("http://localhost:8080/x") is not None
    assert destination.refusal("http://api.localhost./x") is not None
    assert destination.refusal("https://hooks.example.com/x") is None


def _resolving(monkeypatch: pytest.MonkeyPatch, table: dict[str, list[str]]) -> None:
    """DNS answers for names in ``table`` (the test machine has no resolver for them)."""
    real = asyncio.get_running_loop().getaddrinfo

    async def getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        if host in table:
            return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6,
                     "", (a, port)) for a in table[host]]
        return await real(host, port, *args, **kwargs)

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", getaddrinfo)


async def test_a_name_resolving_to_any_private_address_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _resolving(monkeypatch, {"rebind.example": ["93.184.216.34", "10.0.0.7"],
                             "hooks.example": ["93.184.216.34"],
                             "v6.example": ["2606:4700:4700::1111"]})
    with pytest.raises(destination.Refused, match="10.0.0.7"):
        await destination.pin("https://rebind.example/hook")
    pinned = await destination.pin("https://hooks.example:8443/k?x=1")
    assert pinned == destination.Pinned("https://93.184.216.34:8443/k?x=1",
                                        {"Host": "hooks.example:8443"},
                                        {"sni_hostname": "hooks.example"})
    v6 = await destination.pin("http://v6.example/k")
    assert (v6.url, v6.headers, v6.extensions) == (
        "http://[2606:4700:4700::1111]/k", {"Host": "v6.example"}, {})


async def test_deliveries_to_private_addresses_are_refused_and_recorded(
    db: Database, settings: Settings, http: httpx.AsyncClient, receiver: Receiver,
) -> None:
    strict = settings.model_copy(update={"webhook_allow_private": False})
    registry = JobRegistry()
    service.register_jobs(registry)
    runner = DatabaseJobRunner(db, registry, strict, http=http)
    # Registered before the rule (or through the service): still never called.
    loopback = await add_endpoint(db, receiver.url("/direct"))
    named = await add_endpoint(db, f"http://localhost:{receiver.port}/named")
    await emit_committed(db, "ticket.created", {"ticket_id": "t-1"})
    assert await runner.run_pending() == 2
    await runner.stop()
    assert receiver.requests == []
    for endpoint, shown in ((loopback, "127.0.0.1"), (named, "localhost")):
        [delivery] = await deliveries_of(db, endpoint.id)
        assert delivery.status == "pending"
        assert delivery.last_error is not None
        assert delivery.last_error.startswith("refused: ")
        assert shown in delivery.last_error


async def test_a_delivery_connects_to_the_address_it_checked(
    db: Database, settings: Settings, http: httpx.AsyncClient, receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The name is resolved once, checked, and the request goes to that address with the name
    in Host: here the receiver on 127.0.0.1 stands in for a public address."""
    _resolving(monkeypatch, {"crm.example": ["127.0.0.1"]})
    real = destination.is_public
    monkeypatch.setattr(destination, "is_public", lambda address: address == "127.0.0.1"
                        or real(address))
    strict = settings.model_copy(update={"webhook_allow_private": False})
    registry = JobRegistry()
    service.register_jobs(registry)
    runner = DatabaseJobRunner(db, registry, strict, http=http)
    endpoint = await add_endpoint(db, f"http://crm.example:{receiver.port}/hooks/crm")
    await emit_committed(db, "ticket.created", {"ticket_id": "t-2"})
    assert await runner.run_pending() == 1
    await runner.stop()
    [request] = receiver.requests
    assert (request.path, request.headers["host"]) == ("/hooks/crm", f"crm.example:{receiver.port}")
    [delivery] = await deliveries_of(db, endpoint.id)
    assert delivery.status == "delivered"


async def test_registering_a_private_address_is_refused_unless_allowed(
    db: Database, settings: Settings, api: tuple[httpx.AsyncClient, Agent],
) -> None:
    client, admin = api
    hook = {"url": "http://169.254.169.254/latest/meta-data", "events": ["ticket.created"]}
    allowed = await client.post("/api/v1/webhooks", json=hook)
    assert allowed.status_code == 201  # the fixture's settings allow private receivers
    strict = settings.model_copy(update={"webhook_allow_private": False})
    async with admin_api(db, strict, admin) as guarded:
        for url in (hook["url"], "http://localhost:9000/h", "https://[::1]/h",
                    "http://10.0.0.5/h"):
            refused = await guarded.post("/api/v1/webhooks", json={**hook, "url": url})
            assert refused.status_code == 422, url
            assert refused.json()["error"]["code"] == "private_destination"
        public = await guarded.post("/api/v1/webhooks",
                                    json={**hook, "url": "https://hooks.example.com/k"})
        assert public.status_code == 201
    async with db.transaction() as session:
        assert len(await service.list_endpoints(session)) == 2
