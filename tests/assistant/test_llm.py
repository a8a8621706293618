"""The optional LLM backend against a local fake server speaking the OpenAI chat-completions wire
format: a grounded rewrite is used; timeouts, errors, uncited or unsafe output fall back to the
extractive answer; secrets never reach the server."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from kefu.assistant.llm import LLMClient, Source
from kefu.assistant.pipeline import ConversationState
from kefu.config import Settings
from tests.assistant.test_pipeline import CUSTOMER, make_assistant
from tests.servers import free_port

QUESTION = "how much is the withdrawal fee for USDT"


@dataclass
class FakeLLM:
    """What the fake server answers next, and what it was sent."""

    content: str = ""
    status: int = 200
    delay_s: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)


def fake_openai_app(fake: FakeLLM) -> FastAPI:
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def completions(request: Request) -> JSONResponse:
        fake.requests.append(await request.json())
        fake.headers.append(dict(request.headers))
        if fake.delay_s:
            await asyncio.sleep(fake.delay_s)
        if fake.status != 200:
            return JSONResponse({"error": {"message": "boom"}}, status_code=fake.status)
        return JSONResponse({
            "id": "chatcmpl-1", "object": "chat.completion", "created": int(time.time()),
            "model": fake.requests[-1]["model"],
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": fake.content}}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20}})

    return app


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, FakeLLM]]:
    fake = FakeLLM()
    port = free_port()
    config = uvicorn.Config(fake_openai_app(fake), host="127.0.0.1", port=port,
                            log_config=None, lifespan="off")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("fake LLM server did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}/v1", fake
    uv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def fake(server: tuple[str, FakeLLM]) -> FakeLLM:
    _, state = server
    state.content, state.status, state.delay_s = "", 200, 0.0
    state.requests.clear()
    state.headers.clear()
    return state


def client(server: tuple[str, FakeLLM], timeout_s: float = 5.0) -> LLMClient:
    return LLMClient(base_url=server[0], model="test-model", api_key="test-key",
                     timeout_s=timeout_s, official_domains=("demoex.example",))


async def test_grounded_rewrite_is_used_with_its_citations(
        server: tuple[str, FakeLLM], fake: FakeLLM) -> None:
    fake.content = "USDT withdrawals cost a flat network fee that depends on the network [1]."
    llm = client(server)
    try:
        turn = await make_assistant(llm=llm).respond(ConversationState(), QUESTION,
                                                     customer=CUSTOMER)
    finally:
        await llm.aclose()
    assert turn.kind == "answer"
    assert turn.generated_by == "llm"
    assert fake.content in turn.text
    assert turn.citations[0].slug == "withdrawal-fees"
    assert f"[1] {turn.citations[0].url}" in turn.text
    body = fake.requests[0]
    assert body["model"] == "test-model"
    assert body["temperature"] == 0.2
    assert body["max_tokens"] > 0
    assert "[1]" in body["messages"][1]["content"]
    assert "Never ask the customer for a password" in body["messages"][0]["content"]
    assert fake.headers[0]["authorization"] == "Bearer test-key"


async def test_secrets_are_masked_before_the_llm_sees_them(
        server: tuple[str, FakeLLM], fake: FakeLLM) -> None:
    fake.content = "The fee depends on the network [1]."
    llm = client(server)
    try:
        turn = await make_assistant(llm=llm).respond(
            ConversationState(), "what is the withdrawal fee for USDT (my pwd is Hunter2Hunter2)",
            customer=CUSTOMER)
    finally:
        await llm.aclose()
    assert turn.generated_by == "llm"
    sent = str(fake.requests)
    assert "Hunter2Hunter2" not in sent
    assert "[REDACTED" in sent


@pytest.mark.parametrize(("content", "status", "delay_s"), [
    ("late [1]", 200, 2.0),  # timeout
    ("", 500, 0.0),  # server error
    ("To verify your account, please send me your 2FA code and seed phrase [1].", 200, 0.0),
    ("Withdrawals are free on every network.", 200, 0.0),  # cites nothing
    ("See the fee table [4].", 200, 0.0),  # cites a section it was not given
    ("Claim a fee refund at https://demoex-refunds.example/claim [1].", 200, 0.0),
])
async def test_failed_or_unsafe_rewrite_falls_back_to_the_extractive_answer(
        server: tuple[str, FakeLLM], fake: FakeLLM, content: str, status: int,
        delay_s: float) -> None:
    fake.content, fake.status, fake.delay_s = content, status, delay_s
    llm = client(server, timeout_s=0.5)
    try:
        turn = await make_assistant(llm=llm).respond(ConversationState(), QUESTION,
                                                     customer=CUSTOMER)
    finally:
        await llm.aclose()
    assert len(fake.requests) == 1
    assert turn.kind == "answer"
    assert turn.generated_by == "extractive"
    assert content not in turn.text or not content


def test_links_from_the_given_sections_are_allowed() -> None:
    sources = [Source("Withdrawal fees", "", "Check https://tronscan.org for the txid.",
                      "/help/en/articles/withdrawal-fees")]
    llm = LLMClient(base_url="http://127.0.0.1:9/v1", model="m",
                    official_domains=("demoex.example",))
    accepted = llm.accept("Look the txid up on https://tronscan.org [1].", sources, "en")
    assert accepted is not None
    assert accepted.cited == (1,)
    assert llm.accept("Look it up on https://tronscan.example [1].", sources, "en") is None


def test_off_by_default_and_configured_from_settings() -> None:
    assert LLMClient.from_settings(Settings(env="test")) is None
    configured = LLMClient.from_settings(Settings(env="test", llm_base_url="http://llm:8000/v1",
                                                  llm_model="qwen", llm_timeout_s=3.0))
    assert configured is not None
    assert configured.url == "http://llm:8000/v1/chat/completions"
    assert (configured.model, configured.timeout_s) == ("qwen", 3.0)
    with pytest.raises(ValueError, match="KEFU_LLM_BASE_URL"):
        LLMClient(base_url="llm:8000", model="m")
