"""Telegram out: what agents write reaches the customer's private chat through the fake Bot API
(real HTTP), stamped, split, with files; retried on 429 and 5xx without sending twice; a
blocked bot leaves a note for the agent. Also ``kefu telegram set-webhook``."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from typer.testing import CliRunner

from kefu.accounts.actor import Actor
from kefu.channels.models import ChannelMessage
from kefu.channels.telegram_api import split_text, utf16_len
from kefu.core import clock
from kefu.tickets.models import Message, TicketEvent
from kefu.trust.antiphishing import set_code
from tests.channels.fake_telegram import FakeTelegram, Fault, running_fake_telegram
from tests.channels.telegram_support import (  # noqa: F401  (fixtures)
    SECRET,
    TOKEN,
    fake_server,
    jobs,
    post,
    telegram_settings,
    telegram_tickets,
    update,
)
from tests.channels.test_telegram import PNG
from tests.factories import World, make_world, run_jobs
from tests.tickets.test_attachment_guard import everything_stored

CHAT = 5120349871


async def _ticket_with_reply(
    client: httpx.AsyncClient, app: FastAPI, body: str, *, code: str | None = None,
    files: Sequence[tuple[str, bytes]] = (),
) -> tuple[World, str]:
    """A customer's Telegram ticket and an agent's reply to it (not yet sent)."""
    world = await make_world(app)
    assert (await post(client, update("private_text"))).status_code == 200
    [(ticket, _)] = await telegram_tickets(app)
    if code is not None:
        async with app.state.db.transaction() as session:
            await set_code(session, Actor(kind="anonymous"), customer_id=ticket.customer_id,
                           code=code)
    headers = world.headers["agent"]
    ids = []
    for name, data in files:
        uploaded = await client.post(f"/api/v1/tickets/{ticket.number}/attachments",
                                     headers=headers, files={"file": (name, data)})
        assert uploaded.status_code == 201, uploaded.text
        ids.append(uploaded.json()["id"])
    reply = await client.post(f"/api/v1/tickets/{ticket.number}/replies", headers=headers,
                              json={"body": body, "attachment_ids": ids})
    assert reply.status_code == 201, reply.text
    return world, ticket.number


async def _sent_out(app: FastAPI) -> list[str]:
    async with app.state.db.transaction() as session:
        return list(await session.scalars(select(ChannelMessage.external_id).where(
            ChannelMessage.direction == "out").order_by(ChannelMessage.created_at)))


async def test_agent_reply_is_delivered_stamped_split_and_with_its_file(
    client: httpx.AsyncClient, app: FastAPI, fake: FakeTelegram
) -> None:
    long = ("Here is what we found. " * 20 + "\n\n") * 12  # about 5,800 characters
    await _ticket_with_reply(client, app, long + "<b>not markup</b> *nor this*", code="Lotus42",
                             files=[("proof.png", PNG)])
    await run_jobs(app)
    texts = fake.sent("sendMessage")
    assert len(texts) == 2
    for call in texts:
        assert call.params["chat_id"] == CHAT
        assert call.params["text"].startswith("Anti-phishing code: Lotus42\n\n")
        assert utf16_len(call.params["text"]) <= 4096
        assert "parse_mode" not in call.params
    assert texts[1].params["text"].endswith("<b>not markup</b> *nor this*")
    [photo] = fake.sent("sendPhoto")
    assert photo.params["chat_id"] == CHAT
    assert photo.files["photo"][1] == PNG
    assert len(await _sent_out(app)) == 3
    # Delivered once: running the queue again sends nothing.
    before = len(fake.calls)
    await run_jobs(app)
    assert len(fake.calls) == before


async def test_429_is_retried_after_retry_after_and_sent_once(
    client: httpx.AsyncClient, app: FastAPI, fake: FakeTelegram
) -> None:
    fake.fail_next("sendMessage", Fault(429, "Too Many Requests: retry after 7", retry_after=7))
    await _ticket_with_reply(client, app, "We are checking your deposit now.")
    await run_jobs(app)
    [job] = [j for j in await jobs(app) if j.name == "channels.deliver"]
    assert job.status == "queued"
    assert "429" in (job.last_error or "")
    wait = (job.run_at - clock.now()).total_seconds()
    assert 5 < wait <= 7
    assert await run_jobs(app) == 0  # not before Telegram said
    later = datetime.now(UTC) + timedelta(seconds=8)
    clock.set_clock(lambda: later)
    try:
        assert await run_jobs(app) == 1
    finally:
        clock.set_clock(None)
    assert len(fake.sent("sendMessage")) == 2  # the refused try and the accepted one
    assert len(await _sent_out(app)) == 1
    [job] = [j for j in await jobs(app) if j.name == "channels.deliver"]
    assert job.status == "done"


async def test_a_5xx_in_the_middle_resumes_after_the_last_piece_sent(
    client: httpx.AsyncClient, app: FastAPI, fake: FakeTelegram
) -> None:
    await _ticket_with_reply(client, app, "answer " * 1000, files=[("a.png", PNG)])
    fake.fail_next("sendPhoto", Fault(502, "Bad Gateway"))
    await run_jobs(app)
    assert len(fake.sent("sendMessage")) == 2
    assert len(await _sent_out(app)) == 2
    later = datetime.now(UTC) + timedelta(seconds=30)
    clock.set_clock(lambda: later)
    try:
        assert await run_jobs(app) == 1
    finally:
        clock.set_clock(None)
    assert len(fake.sent("sendMessage")) == 2  # the text was not sent again
    assert len(fake.sent("sendPhoto")) == 2
    assert len(await _sent_out(app)) == 3


async def test_blocked_bot_leaves_an_internal_note_and_is_not_retried(
    client: httpx.AsyncClient, app: FastAPI, fake: FakeTelegram
) -> None:
    fake.blocked.add(CHAT)
    _world, number = await _ticket_with_reply(client, app, "Your deposit was credited.")
    await run_jobs(app)
    [job] = [j for j in await jobs(app) if j.name == "channels.deliver"]
    assert job.status == "done"
    assert job.attempts == 1
    async with app.state.db.transaction() as session:
        notes = list(await session.scalars(select(Message).where(Message.internal.is_(True))))
        events = list(await session.scalars(select(TicketEvent.kind)))
    assert len(notes) == 1
    assert "blocked the bot" in notes[0].body
    assert notes[0].author_kind == "system"
    assert "delivery_failed" in events
    assert await _sent_out(app) == []
    # The customer never sees the note.
    detail = await client.get(f"/api/v1/tickets/{number}",
                              headers=_world.headers["agent"])
    assert any(m["internal"] and "blocked" in m["body"] for m in detail.json()["messages"])


async def test_without_a_bot_token_a_reply_is_recorded_undelivered_not_retried(
    client: httpx.AsyncClient, app: FastAPI, fake: FakeTelegram
) -> None:
    """A deployment that turned Telegram off (the demo's Telegram tickets, say): the reply's
    delivery is recorded as failed on the ticket once, as email does, and never retried."""
    _world, number = await _ticket_with_reply(client, app, "Your deposit was credited.")
    app.state.settings.telegram_bot_token = None
    await run_jobs(app)
    [job] = [j for j in await jobs(app) if j.name == "channels.deliver"]
    assert (job.status, job.attempts) == ("done", 1)
    async with app.state.db.transaction() as session:
        failed = list(await session.scalars(select(TicketEvent).where(
            TicketEvent.kind == "delivery_failed")))
    assert [e.data["reason"] for e in failed] == [
        "Telegram is not configured (KEFU_TELEGRAM_BOT_TOKEN)"]
    assert fake.sent("sendMessage") == []


async def test_the_bot_token_is_never_logged_or_stored(
    client: httpx.AsyncClient, app: FastAPI, fake: FakeTelegram,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.fail_next("sendMessage", Fault(500, "Internal Server Error"))
    await _ticket_with_reply(client, app, "Checking.")
    await run_jobs(app)
    doc_id = fake.add_file(b"\x00" * 10, file_path="documents/x.bin")
    document = update("private_document", 5)
    document["message"]["document"]["file_id"] = doc_id
    assert (await post(client, document)).status_code == 200
    logged = "\n".join(r.getMessage() + repr(r.__dict__) for r in caplog.records)
    assert "sendMessage" in logged or "telegram" in logged  # the failure was logged…
    assert TOKEN not in logged
    assert TOKEN.split(":")[1] not in logged
    stored = await everything_stored(app)
    assert TOKEN.split(":")[1] not in stored


def test_set_webhook_cli(fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch) -> None:
    from kefu.cli import app as cli

    env = {"KEFU_TELEGRAM_BOT_TOKEN": TOKEN, "KEFU_TELEGRAM_API_BASE": fake.base_url,
           "KEFU_TELEGRAM_WEBHOOK_SECRET": SECRET, "KEFU_TELEGRAM_BOT_USERNAME": "kefu_test_bot",
           "KEFU_PUBLIC_URL": "https://support.demoex.example"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    runner = CliRunner()
    done = runner.invoke(cli, ["telegram", "set-webhook"])
    assert done.exit_code == 0, done.output
    assert fake.webhook == {"url": "https://support.demoex.example/channels/telegram/webhook",
                            "secret_token": SECRET,
                            "allowed_updates": ["message", "edited_message"]}
    refused = runner.invoke(cli, ["telegram", "set-webhook", "--url", "http://example.com/x"])
    assert refused.exit_code == 2
    assert refused.output.strip().splitlines() == [
        "kefu: setWebhook failed: 400 Bad Request: bad webhook: HTTPS url must be provided "
        "for webhook"]
    assert TOKEN not in refused.output


def test_set_webhook_cli_without_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    from kefu.cli import app as cli

    monkeypatch.delenv("KEFU_TELEGRAM_BOT_TOKEN", raising=False)
    result = CliRunner().invoke(cli, ["telegram", "set-webhook", "--url", "https://x.example"])
    assert result.exit_code == 2
    assert "Telegram is not configured" in result.output


def test_set_webhook_cli_when_telegram_cannot_be_reached(monkeypatch: pytest.MonkeyPatch) -> None:
    from kefu.cli import app as cli

    with running_fake_telegram(token=TOKEN) as gone:
        base = gone.base_url
    for key, value in {"KEFU_TELEGRAM_BOT_TOKEN": TOKEN, "KEFU_TELEGRAM_API_BASE": base,
                       "KEFU_TELEGRAM_WEBHOOK_SECRET": SECRET,
                       "KEFU_TELEGRAM_BOT_USERNAME": "kefu_test_bot"}.items():
        monkeypatch.setenv(key, value)
    result = CliRunner().invoke(cli, ["telegram", "set-webhook", "--url", "https://x.example"])
    assert result.exit_code == 2
    assert result.output.startswith("kefu: setWebhook failed: 0 no answer (ConnectError)")


@given(st.text(alphabet=st.sampled_from(["a", "b", " ", "\n", "😀", "中"]), max_size=400),
       st.integers(min_value=8, max_value=60))
def test_split_text_keeps_every_word_within_the_limit(text: str, limit: int) -> None:
    pieces = split_text(text, limit)
    assert all(utf16_len(p) <= limit for p in pieces)
    # Nothing but whitespace at the cuts is lost, and nothing is reordered.
    assert "".join("".join(pieces).split()) == "".join(text.split())
