"""A fake exchange back office: docs/exchange-api.yaml implemented over ``DemoExchangeAdapter``.

``running_fake_backoffice()`` serves it with uvicorn on a free 127.0.0.1 port in a background
thread, so ``HttpExchangeAdapter`` is tested over real HTTP. Setting ``FakeBackoffice.fault``
makes the server misbehave the ways real back offices do (non-JSON body, wrong shape, 500, slow
answer, another customer's data, a filter it ignores, a 404 from a wrong base URL) or behave as
an older back office does (``"legacy"``: a context without ``kyc_review``), or get only the
latest KYC application wrong (``"bad_kyc_review"``).
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.middleware.base import RequestResponseEndpoint

from kefu.exchange.base import CustomerNotFound, ExchangeUnavailable
from kefu.exchange.demo import DemoExchangeAdapter
from tests.servers import serving_in_thread

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
API_KEY = "kefu-test-key-3f9a0c7e51d24b8c"


def fixed_clock() -> datetime:
    """The demo customers' "now" in these tests: their histories do not move."""
    return NOW

Fault = Literal[
    "invalid_json", "wrong_shape", "server_error", "slow", "other_customer", "ignore_txid",
    "plain_404", "legacy", "bad_kyc_review",
]


@dataclass
class FakeBackoffice:
    base_url: str
    api_key: str
    demo: DemoExchangeAdapter
    fault: Fault | None = None
    slow_s: float = 0.5
    seen_paths: list[str] = field(default_factory=list)


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def create_app(state: FakeBackoffice) -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.middleware("http")
    async def check_bearer_key(request: Request, call_next: RequestResponseEndpoint) -> Response:
        state.seen_paths.append(request.url.path)
        expected = f"Bearer {state.api_key}".encode()
        given = request.headers.get("authorization", "").encode()
        if not hmac.compare_digest(given, expected):
            return _error(401, "unauthorized", "missing or invalid API key")
        if state.fault == "plain_404":
            return JSONResponse({"detail": "Not Found"}, status_code=404)
        return await call_next(request)

    async def faulty(external_id: str) -> Response | None:
        if state.fault == "slow":
            await asyncio.sleep(state.slow_s)
        elif state.fault == "invalid_json":
            return Response(b'{"external_id": "', media_type="application/json")
        elif state.fault == "wrong_shape":
            return JSONResponse({"external_id": external_id, "vip_tier": "gold", "deposits": 3})
        elif state.fault == "server_error":
            return _error(500, "internal", "database is on fire")
        return None

    @app.get("/v1/customers/{external_id}/context")
    async def get_customer_context(external_id: str) -> Response:
        if (broken := await faulty(external_id)) is not None:
            return broken
        if state.fault == "other_customer":
            external_id = external_id + "-someone-else"
        try:
            context = await state.demo.customer_context(external_id)
        except CustomerNotFound:
            return _error(404, "customer_not_found", "no such customer")
        except ExchangeUnavailable as exc:
            return _error(503, "unavailable", exc.message)
        body = context.model_dump(mode="json")
        if state.fault == "legacy":
            del body["kyc_review"]
        if state.fault == "bad_kyc_review":
            body["kyc_review"] = {"status": "lost-in-the-mail", "level_requested": 7,
                                  "submitted_at": "yesterday"}
        return JSONResponse(body)

    @app.get("/v1/customers/{external_id}/deposits")
    async def find_customer_deposits(
        external_id: str, txid: Annotated[str, Query(min_length=1, max_length=256)]
    ) -> Response:
        if (broken := await faulty(external_id)) is not None:
            return broken
        try:
            if state.fault == "ignore_txid":
                deposits = (await state.demo.customer_context(external_id)).deposits
            else:
                found = await state.demo.find_deposit(external_id, txid=txid)
                deposits = [found] if found is not None else []
        except CustomerNotFound:
            return _error(404, "customer_not_found", "no such customer")
        except ExchangeUnavailable as exc:
            return _error(503, "unavailable", exc.message)
        return JSONResponse({"deposits": [d.model_dump(mode="json") for d in deposits]})

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: Exception) -> Response:
        return _error(400, "invalid_request", "invalid request parameters")

    return app


@contextmanager
def running_fake_backoffice(
    *, api_key: str, clock: Callable[[], datetime]
) -> Iterator[FakeBackoffice]:
    """Serve the fake back office on loopback for the duration of the block."""

    def build(base_url: str) -> tuple[FakeBackoffice, FastAPI]:
        state = FakeBackoffice(base_url, api_key, DemoExchangeAdapter(clock))
        return state, create_app(state)

    with serving_in_thread(build, "fake back office") as state:
        yield state
