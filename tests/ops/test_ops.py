"""Health, readiness, metrics, request ids, JSON logs."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text


async def test_health_ready_metrics(app: FastAPI, client: httpx.AsyncClient):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "migrations": "ok"}
    await client.get("/api/v1/tickets")
    metrics = await client.get("/metrics")
    assert metrics.status_code == 200
    assert 'kefu_http_requests_total{method="GET",route="/api/v1/tickets",status="401"}' \
        in metrics.text
    assert "kefu_http_request_duration_seconds_bucket" in metrics.text


async def test_readyz_fails_when_schema_is_behind(app: FastAPI, client: httpx.AsyncClient):
    async with app.state.db.engine.begin() as conn:
        await conn.execute(text("UPDATE alembic_version SET version_num = 'old'"))
    ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["migrations"].startswith("at old")


async def test_request_id_and_json_access_log(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.INFO)
    response = await client.get("/api/v1/tickets", headers={"X-Request-ID": "req-abc.123"})
    assert response.headers["x-request-id"] == "req-abc.123"
    generated = await client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert len(generated.headers["x-request-id"]) == 32
    # Rendered by the handler `configure_logging` installed: one JSON object a line.
    formatter = next(h.formatter for h in logging.getLogger().handlers
                     if h.formatter is not None and "ProcessorFormatter" in repr(h.formatter))
    lines = [json.loads(formatter.format(r)) for r in caplog.records if r.name == "kefu.http"]
    access = [entry for entry in lines if entry.get("event") == "request"]
    assert any(e["request_id"] == "req-abc.123" and e["status"] == 401
               and e["route"] == "/api/v1/tickets" for e in access)


async def test_a_secret_in_the_path_is_logged_as_its_route(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
):
    """A step-up link's token is a bearer secret: the access log names the route, not it."""
    caplog.set_level(logging.INFO)
    secret = "cybtQIlZicguPJpLuccrMoAl_7tzyKAzPapuLGriikg"
    await client.get(f"/verify/identity/{secret}")
    await client.get("/api/v1/tickets/KF-AAAA22")
    logged = [r.getMessage() + repr(getattr(r, "msg", "")) for r in caplog.records]
    assert not [line for line in logged if secret in line]
    formatter = next(h.formatter for h in logging.getLogger().handlers
                     if h.formatter is not None and "ProcessorFormatter" in repr(h.formatter))
    access = [json.loads(formatter.format(r)) for r in caplog.records if r.name == "kefu.http"]
    paths = {e["route"]: e["path"] for e in access if e.get("event") == "request"}
    assert paths["/verify/identity/{token}"] == "/verify/identity/{token}"
    assert paths["/api/v1/tickets/{number}"] == "/api/v1/tickets/KF-AAAA22"  # others as sent


async def test_unknown_route_and_method_are_json(client: httpx.AsyncClient):
    missing = await client.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    wrong = await client.put("/healthz")
    assert wrong.status_code == 405
    assert wrong.json()["error"]["code"] == "method_not_allowed"
