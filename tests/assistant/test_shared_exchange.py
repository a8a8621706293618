"""One exchange adapter per app process: the agent console and the assistant look customers up
through the same ``HttpExchangeAdapter``, so they share its circuit breaker. With the back
office dead, whichever of them met the outage first spares the other its timeouts."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from kefu.app import create_app
from kefu.assistant import intents
from kefu.assistant.pipeline import AssistantCustomer, ConversationState, Turn
from kefu.config import Settings
from kefu.exchange.base import ExchangeAdapter
from kefu.exchange.http import HttpExchangeAdapter
from tests.assistant.test_pipeline import intent_model
from tests.exchange.fake_backoffice import API_KEY, FakeBackoffice
from tests.web.browser import agent_sign_in, customer_headers, make_desk

TIMEOUT_S = 0.5
CUSTOMER = "cust-shared"


@pytest.fixture
def backoffice(fake_backoffice: FakeBackoffice) -> FakeBackoffice:
    """The back office, hanging on every request (longer than the adapter waits)."""
    fake_backoffice.fault, fake_backoffice.slow_s = "slow", 2.0
    fake_backoffice.seen_paths.clear()
    return fake_backoffice


@pytest.fixture
async def app(settings: Settings, backoffice: FakeBackoffice,
              monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FastAPI]:
    # The shipped intent model on n-grams only (with e5 features, minutes to train).
    monkeypatch.setattr(intents, "load_default", lambda _model_dir: intent_model())
    application = create_app(settings.model_copy(update={
        "exchange_adapter": "http", "exchange_base_url": backoffice.base_url,
        "exchange_api_key": SecretStr(API_KEY), "exchange_timeout_s": TIMEOUT_S,
        "exchange_breaker_failures": 3}))
    async with application.router.lifespan_context(application):
        yield application


async def assistant_lookup(app: FastAPI) -> tuple[Turn, float]:
    """A customer asks the app's assistant about a pending withdrawal: it looks them up."""
    assistant = await app.state.assistant_host.get(app.state.settings)
    started = time.perf_counter()
    turn = await assistant.respond(ConversationState(),
                                   "my withdrawal has been pending for three hours",
                                   customer=AssistantCustomer(external_id=CUSTOMER))
    return turn, time.perf_counter() - started


async def panel_lookup(client: httpx.AsyncClient, number: str) -> tuple[str, float]:
    started = time.perf_counter()
    page = await client.get(f"/agent/tickets/{number}/customer-panel",
                            headers={"HX-Request": "true"})
    assert page.status_code == 200
    return page.text, time.perf_counter() - started


async def agent_with_ticket(app: FastAPI, client: httpx.AsyncClient) -> str:
    await make_desk(app)
    created = await client.post("/api/v1/tickets", headers=customer_headers(
        app.state.settings, CUSTOMER, name="Ann", lang="en"), json={
        "subject": "Withdrawal pending", "body": "Where is it?", "language": "en"})
    assert created.status_code == 201, created.text
    await agent_sign_in(client, "agent@kefu.test")
    return str(created.json()["number"])


def failed_lookup(turn: Turn) -> bool:
    return (turn.kind == "handoff" and turn.handoff is not None
            and "ExchangeUnavailable" in str(turn.handoff))


async def test_after_the_console_met_the_outage_the_assistant_asks_no_more(
    app: FastAPI, client: httpx.AsyncClient, backoffice: FakeBackoffice
):
    number = await agent_with_ticket(app, client)
    for _ in range(3):  # three agents open the panel: three timeouts, the breaker opens
        text, took = await panel_lookup(client, number)
        assert took >= TIMEOUT_S * 0.9
        assert "not answering" in text
    exchange: ExchangeAdapter = app.state.exchange
    assert isinstance(exchange, HttpExchangeAdapter)
    assert exchange.breaker.state == "open"
    asked = len(backoffice.seen_paths)
    assert asked == 3

    turn, _took = await assistant_lookup(app)
    assert failed_lookup(turn), turn
    assert len(backoffice.seen_paths) == asked  # no request: the assistant's lookup failed fast


async def test_after_the_assistant_met_the_outage_the_console_asks_no_more(
    app: FastAPI, client: httpx.AsyncClient, backoffice: FakeBackoffice
):
    number = await agent_with_ticket(app, client)
    for _ in range(3):
        turn, took = await assistant_lookup(app)
        assert failed_lookup(turn), turn
        assert took >= TIMEOUT_S * 0.9
    asked = len(backoffice.seen_paths)
    assert asked == 3

    text, _took = await panel_lookup(client, number)
    assert "not answering" in text
    assert len(backoffice.seen_paths) == asked  # failed fast: no request went out


async def test_the_app_closes_the_shared_adapter_once(
    settings: Settings, backoffice: FakeBackoffice, monkeypatch: pytest.MonkeyPatch
):
    """The app built the adapter and closes it; the assistant's host leaves it alone."""
    monkeypatch.setattr(intents, "load_default", lambda _model_dir: intent_model())
    application = create_app(settings.model_copy(update={
        "exchange_adapter": "http", "exchange_base_url": backoffice.base_url,
        "exchange_api_key": SecretStr(API_KEY)}))
    closed: list[str] = []
    async with application.router.lifespan_context(application):
        exchange = application.state.exchange
        assistant = await application.state.assistant_host.get(application.state.settings)
        assert assistant.exchange is exchange
        real_aclose = exchange.aclose

        async def aclose() -> None:
            closed.append("exchange")
            await real_aclose()

        monkeypatch.setattr(exchange, "aclose", aclose)
    assert closed == ["exchange"]
