"""What the Telegram tests share: the bot's configuration, the fake Bot API, captured updates
(``fixtures/telegram/*.json``, the shapes Telegram sends) and a way to post them."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from kefu.config import Settings
from kefu.jobs.models import Job
from kefu.tickets.models import Message, Ticket
from tests.channels.fake_telegram import FakeTelegram, running_fake_telegram

TOKEN = "7012345678:AAH4kFq_test-token-not-real-0123456789"
SECRET = "hook-secret-0123456789abcdef"
BOT = "kefu_test_bot"
FIXTURES = Path(__file__).parent / "fixtures" / "telegram"
WEBHOOK = "/channels/telegram/webhook"


@pytest.fixture(name="fake")
def fake_server() -> Iterator[FakeTelegram]:
    with running_fake_telegram(token=TOKEN) as server:
        yield server


@pytest.fixture(name="settings")
def telegram_settings(database_url: str, tmp_path: Path, fake: FakeTelegram) -> Settings:
    return Settings(
        env="test", data_dir=tmp_path / "data", database_url=database_url, jobs_enabled=False,
        chat_analysis_worker=False, log_level="WARNING", jobs_backoff_base_s=0.01,
        telegram_bot_token=TOKEN, telegram_api_base=fake.base_url,
        telegram_webhook_secret=SECRET, telegram_bot_username=BOT,
        public_url="https://support.demoex.example",
    )


def update(name: str, update_id: int | None = None, **message: Any) -> dict[str, Any]:
    """A captured update with its message's fields replaced (``from_`` for ``from``)."""
    body: dict[str, Any] = copy.deepcopy(json.loads((FIXTURES / f"{name}.json").read_text()))
    if update_id is not None:
        body["update_id"] = update_id
    inner = body.get("message") or body.get("edited_message") or {}
    for key, value in message.items():
        inner["from" if key == "from_" else key] = value
    return body


async def post(client: httpx.AsyncClient, body: dict[str, Any] | bytes,
               secret: str | None = SECRET) -> httpx.Response:
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
    if isinstance(body, bytes):
        return await client.post(WEBHOOK, content=body,
                                 headers={**headers, "content-type": "application/json"})
    return await client.post(WEBHOOK, json=body, headers=headers)


async def telegram_tickets(app: FastAPI) -> list[tuple[Ticket, list[Message]]]:
    async with app.state.db.transaction() as session:
        tickets = list(await session.scalars(
            select(Ticket).where(Ticket.channel == "telegram").order_by(Ticket.created_at)))
        return [(t, list(await session.scalars(
            select(Message).where(Message.ticket_id == t.id).order_by(Message.seq))))
            for t in tickets]


async def jobs(app: FastAPI) -> list[Job]:
    async with app.state.db.transaction() as session:
        return list(await session.scalars(select(Job).order_by(Job.created_at)))
