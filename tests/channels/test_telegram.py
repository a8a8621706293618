"""Telegram in, end to end: updates posted to the webhook as Telegram posts them, the bot's
answers and deletions checked on the fake Bot API over real HTTP; on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing

import httpx
from fastapi import FastAPI
from mnemonic import Mnemonic
from sqlalchemy import select

from kefu.app import create_app
from kefu.channels.models import ChannelIdentity, ChannelMessage, TelegramLink
from kefu.config import Settings
from kefu.tickets.models import Attachment
from tests.channels.fake_telegram import FakeTelegram, Fault
from tests.channels.telegram_support import (  # noqa: F401  (fixtures)
    BOT,
    fake_server,
    post,
    telegram_settings,
    telegram_tickets,
    update,
)
from tests.factories import run_jobs
from tests.tickets.test_attachment_guard import everything_stored, files_on_disk, pdf_bytes

SEED = Mnemonic("english").generate(strength=128)
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c"
    "63f8cfc0f01f0005000201a5d6c2b00000000049454e44ae426082")
USER = {"id": 5120349871, "is_bot": False, "first_name": "Wei", "last_name": "Chen",
        "language_code": "en"}
CHAT = {"id": 5120349871, "type": "private"}


async def test_private_messages_open_then_continue_a_ticket(
    client: httpx.AsyncClient, app: FastAPI, fake: FakeTelegram
) -> None:
    first = await post(client, update("private_text"))
    assert first.status_code == 200, first.text
    again = await post(client, update("private_text", 721356099, message_id=55,
                                      text="It was sent on TRC20 from another exchange"))
    assert again.status_code == 200
    [(ticket, messages)] = await telegram_tickets(app)
    assert ticket.channel == "telegram"
    assert ticket.language == "en"
    assert [m.body for m in messages] == ["Hi, my USDT deposit has not arrived after 2 hours",
                                          "It was sent on TRC20 from another exchange"]
    assert {m.author_kind for m in messages} == {"customer"}
    async with app.state.db.transaction() as session:
        identity = await session.scalar(select(ChannelIdentity))
        assert identity is not None
        assert (identity.address, identity.chat_ref) == ("5120349871", "5120349871")
        refs = set(await session.scalars(select(ChannelMessage.external_id)))
    assert refs == {"5120349871:41", "5120349871:55"}
    assert fake.calls == []  # nothing to say and nothing to delete


async def test_a_redelivered_update_stores_nothing_new(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    for _ in range(3):
        assert (await post(client, update("private_text"))).status_code == 200
    # The same message under a new update id (a resend by a client) is still one message.
    assert (await post(client, update("private_text", 721356500))).status_code == 200
    [(_ticket, messages)] = await telegram_tickets(app)
    assert len(messages) == 1


async def test_secret_token_is_required(client: httpx.AsyncClient, app: FastAPI) -> None:
    for secret in (None, "wrong-secret-0123456789", ""):
        response = await post(client, update("private_text"), secret=secret)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "invalid_secret_token"
    assert await telegram_tickets(app) == []


async def test_malformed_and_unknown_updates(
    client: httpx.AsyncClient, app: FastAPI, fake: FakeTelegram
) -> None:
    broken = await post(client, b'{"update_id": 1, "message": {')
    assert broken.status_code == 400
    assert broken.json()["error"]["code"] == "malformed_json"
    shapeless = await post(client, {"message": {"text": "hi"}})
    assert shapeless.status_code == 400
    assert shapeless.json()["error"]["code"] == "invalid_update"
    # A kind the bot does not handle is acknowledged, or Telegram would retry it for a day.
    ignored = await post(client, update("channel_post"))
    assert ignored.status_code == 200
    assert await telegram_tickets(app) == []
    assert fake.calls == []


async def test_start_greets_with_how_to_verify(
    client: httpx.AsyncClient, app: FastAPI, fake: FakeTelegram
) -> None:
    assert (await post(client, update("private_start"))).status_code == 200
    assert await run_jobs(app) == 1
    [call] = fake.sent("sendMessage")
    assert call.params["chat_id"] == 5120349871
    text = call.params["text"]
    assert "https://support.demoex.example/verify" in text
    assert "seed phrase" in text
    assert "anti-phishing code" in text
    assert "parse_mode" not in call.params
    assert await telegram_tickets(app) == []  # a greeting opens nothing


async def test_seed_phrase_is_masked_deleted_from_the_chat_and_stored_nowhere(
    client: httpx.AsyncClient, app: FastAPI, fake: FakeTelegram
) -> None:
    body = update("private_text", text=f"my wallet words are {SEED} please help")
    assert (await post(client, body)).status_code == 200
    [(ticket, messages)] = await telegram_tickets(app)
    assert SEED not in messages[0].body
    assert "[REDACTED" in messages[0].body
    assert ticket.priority == "urgent"
    notice = [m for m in messages if m.author_kind == "system"]
    assert notice
    assert "seed phrase" in notice[0].body.lower()
    await run_jobs(app)
    [deleted] = fake.sent("deleteMessage")
    assert deleted.params == {"chat_id": 5120349871, "message_id": 41}
    # The service's notice reaches the customer on Telegram.
    assert any("seed phrase" in c.params["text"].lower() for c in fake.sent("sendMessage"))
    stored = await everything_stored(app)
    assert SEED not in stored


async def test_document_holding_a_secret_is_withheld_and_a_photo_kept(
    client: httpx.AsyncClient, app: FastAPI, fake: FakeTelegram
) -> None:
    pdf = pdf_bytes("Backup", f"words: {SEED}")
    doc_id = fake.add_file(pdf, file_path="documents/file_7.pdf")
    photo_id = fake.add_file(PNG, file_path="photos/file_8.jpg")
    document = update("private_document")
    document["message"]["document"]["file_id"] = doc_id
    assert (await post(client, document)).status_code == 200
    photo = update("private_photo")
    photo["message"]["photo"][1]["file_id"] = photo_id
    assert (await post(client, photo)).status_code == 200

    async with app.state.db.transaction() as session:
        files = {a.filename: a for a in await session.scalars(select(Attachment))}
    assert set(files) == {"statement.pdf", "photo_43.jpg"}
    assert files["statement.pdf"].withheld_reason == "contained seed phrase"
    assert files["photo_43.jpg"].withheld_reason is None
    assert files["photo_43.jpg"].content_type == "image/png"  # sniffed, not claimed
    assert files["photo_43.jpg"].message_id is not None
    assert len(files_on_disk(app)) == 1  # the withheld PDF's bytes are gone
    [(_ticket, messages)] = await telegram_tickets(app)
    assert [m.body for m in messages if m.author_kind == "customer"] == [
        "my statement", "screenshot of the withdrawal page"]
    await run_jobs(app)
    assert [c.params for c in fake.sent("deleteMessage")] == [
        {"chat_id": 5120349871, "message_id": 42}]
    assert [c.params["file_id"] for c in fake.sent("getFile")] == [doc_id, photo_id]
    assert SEED not in await everything_stored(app)


async def test_a_file_is_fetched_before_anything_is_written(
    client: httpx.AsyncClient, app: FastAPI, fake: FakeTelegram, database_url: str
) -> None:
    """A write transaction held across the download would, on SQLite, stall every other
    writer (the live chat's too) for as long as Telegram takes to hand the file over."""
    others_could_write: list[bool] = []

    def write_elsewhere(_path: str) -> None:
        if not database_url.startswith("sqlite"):
            others_could_write.append(True)  # PostgreSQL locks rows, not the database
            return
        with closing(sqlite3.connect(database_url.split("///", 1)[1], timeout=0)) as other:
            try:
                other.execute("BEGIN IMMEDIATE")
                other.execute("ROLLBACK")
                others_could_write.append(True)
            except sqlite3.OperationalError:  # "database is locked"
                others_could_write.append(False)

    fake.on_download = write_elsewhere
    photo = update("private_photo")
    photo["message"]["photo"][1]["file_id"] = fake.add_file(PNG, file_path="photos/f.jpg")
    assert (await post(client, photo)).status_code == 200
    assert others_could_write == [True]
    [(_ticket, messages)] = await telegram_tickets(app)
    async with app.state.db.transaction() as session:
        [attachment] = await session.scalars(select(Attachment))
    assert attachment.message_id == messages[0].id


async def test_a_file_telegram_does_not_hand_over_is_retried_and_stored_once(
    client: httpx.AsyncClient, app: FastAPI, fake: FakeTelegram
) -> None:
    photo = update("private_photo")
    photo["message"]["photo"][1]["file_id"] = fake.add_file(PNG, file_path="photos/g.jpg")
    fake.fail_next("getFile", Fault(502, "Bad Gateway"))
    refused = await post(client, photo)
    assert refused.status_code == 503  # Telegram delivers the update again
    assert refused.json()["error"]["code"] == "telegram_unavailable"
    assert await telegram_tickets(app) == []  # nothing stored, not even the update's id
    assert (await post(client, photo)).status_code == 200
    assert (await post(client, photo)).status_code == 200  # a third delivery: already handled
    [(_ticket, messages)] = await telegram_tickets(app)
    assert [m.body for m in messages] == ["screenshot of the withdrawal page"]
    async with app.state.db.transaction() as session:
        assert len(list(await session.scalars(select(Attachment)))) == 1
    assert len(fake.sent("getFile")) == 2


async def test_a_file_over_the_limit_is_refused_in_the_customers_language(
    settings: Settings, fake: FakeTelegram
) -> None:
    small = create_app(settings.model_copy(update={"max_attachment_bytes": 1024 * 1024}))
    document = update("private_document", from_={**USER, "language_code": "zh-hans"})
    document["message"]["document"]["file_id"] = fake.add_file(
        b"%PDF-1.4\n" + b"0" * (1024 * 1024), file_path="documents/big.pdf")
    async with small.router.lifespan_context(small):
        transport = httpx.ASGITransport(app=small)
        async with httpx.AsyncClient(transport=transport, base_url="http://kefu.test") as c:
            assert (await post(c, document)).status_code == 200
        [(_ticket, messages)] = await telegram_tickets(small)
        assert [m.body for m in messages] == ["my statement"]  # the words are kept
        await run_jobs(small)
    [notice] = [c for c in fake.sent("sendMessage") if "文件" in c.params["text"]]
    assert notice.params["text"].startswith("您的文件未被接收：文件超过 1 MB。")
    assert files_on_disk(small) == []


async def test_group_request_with_account_data_moves_to_a_private_chat(
    client: httpx.AsyncClient, app: FastAPI, fake: FakeTelegram
) -> None:
    group = update("group_mention")
    assert (await post(client, group)).status_code == 200
    await run_jobs(app)
    [reply] = fake.sent("sendMessage")
    assert reply.params["chat_id"] == -1001987654321
    assert reply.params["reply_parameters"]["message_id"] == 3310
    assert "do not discuss account details in public" in reply.params["text"]
    match = re.search(rf"https://t\.me/{BOT}\?start=([A-Za-z0-9_-]+)", reply.params["text"])
    assert match is not None
    token = match.group(1)
    assert "0x3b5e8c0f" not in await everything_stored(app)  # nothing of the public text
    assert await telegram_tickets(app) == []

    # Someone else in the group cannot use the link.
    stranger = {"id": 777, "is_bot": False, "first_name": "Eve", "language_code": "en"}
    await post(client, update("private_start", 1, from_=stranger, chat={"id": 777,
                                                                        "type": "private"},
                              text=f"/start {token}"))
    # The asker can, once.
    asker = group["message"]["from"]
    own_chat = {"id": asker["id"], "type": "private"}
    await post(client, update("private_start", 2, from_=asker, chat=own_chat,
                              text=f"/start {token}"))
    await post(client, update("private_start", 3, message_id=41, from_=asker, chat=own_chat,
                              text=f"/start {token}"))
    await run_jobs(app)
    texts = {c.params["chat_id"]: [] for c in fake.sent("sendMessage")}
    for c in fake.sent("sendMessage"):
        texts[c.params["chat_id"]].append(c.params["text"])
    assert "expired, was already used" in texts[777][0]
    assert "You are now in a private chat with support" in texts[asker["id"]][0]
    assert "expired, was already used" in texts[asker["id"]][1]
    async with app.state.db.transaction() as session:
        link = await session.scalar(select(TelegramLink))
        identity = await session.scalar(select(ChannelIdentity).where(
            ChannelIdentity.address == str(asker["id"])))
    assert link is not None
    assert link.used_at is not None
    assert identity is not None
    assert link.customer_id == identity.customer_id
    assert identity.chat_ref == str(asker["id"])

    # What they write in the private chat is a ticket like any other.
    await post(client, update("private_text", 4, from_=asker, chat=own_chat, message_id=50,
                              text="my withdrawal of 300 USDT is stuck"))
    [(ticket, _messages)] = await telegram_tickets(app)
    assert ticket.customer_id == identity.customer_id


async def test_group_messages_not_addressed_to_the_bot_are_ignored_but_secrets_deleted(
    client: httpx.AsyncClient, app: FastAPI, fake: FakeTelegram
) -> None:
    chatter = update("group_mention", text="anyone know when the AMA starts?", entities=[])
    assert (await post(client, chatter)).status_code == 200
    general = update("group_mention", 2, message_id=3311, text="@kefu_test_bot hello there")
    assert (await post(client, general)).status_code == 200
    leaked = update("group_mention", 3, message_id=3312, text=f"is this right? {SEED}",
                    entities=[])
    assert (await post(client, leaked)).status_code == 200
    await run_jobs(app)
    assert [c.params for c in fake.sent("deleteMessage")] == [
        {"chat_id": -1001987654321, "message_id": 3312}]
    texts = [c.params["text"] for c in fake.sent("sendMessage")]
    assert len(texts) == 2
    assert any(t.startswith("Support happens in a private chat: https://t.me/") for t in texts)
    assert any("was deleted" in t and "move your funds" in t for t in texts)
    assert SEED not in await everything_stored(app)
    assert await telegram_tickets(app) == []


async def test_a_flood_from_one_user_is_cut_and_others_are_unaffected(
    client: httpx.AsyncClient, app: FastAPI, fake: FakeTelegram
) -> None:
    for n in range(30):
        response = await post(client, update("private_text", 100 + n, message_id=100 + n,
                                             text=f"question number {n} about fees {n * 7}"))
        assert response.status_code == 200
    other = {"id": 42, "is_bot": False, "first_name": "Ann", "language_code": "en"}
    assert (await post(client, update("private_text", 999, from_=other,
                                      chat={"id": 42, "type": "private"}))).status_code == 200
    tickets = await telegram_tickets(app)
    by_customer = {t.customer_id: [m for m in ms if m.author_kind == "customer"]
                   for t, ms in tickets}
    counts = sorted(len(ms) for ms in by_customer.values())
    assert counts == [1, 20]  # the flood stops at the per-user limit; Ann gets through
    assert len(tickets) == 2
    await run_jobs(app)
    warned = [c for c in fake.sent("sendMessage") if "too fast" in c.params["text"]]
    assert len(warned) == 1
    assert warned[0].params["chat_id"] == USER["id"]


async def test_the_channel_is_off_without_a_token(tmp_path: object, database_url: str) -> None:
    from kefu.app import create_app
    from kefu.config import Settings

    bare = Settings(env="test", data_dir=tmp_path / "d", database_url=database_url,  # type: ignore[operator]
                    jobs_enabled=False, chat_analysis_worker=False)
    application = create_app(bare)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://kefu.test") as c:
            response = await post(c, update("private_text"))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
