"""Uploads: sniffed from bytes, size-capped, scoped like their ticket."""

from __future__ import annotations

import struct
import zlib
from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from kefu.config import Settings
from kefu.core import clock
from kefu.tickets.attachments import AttachmentStore
from kefu.tickets.models import Attachment
from kefu.tickets.uploads import sweep_unsent
from tests.factories import make_world, running_app


def png_bytes(width: int = 4, height: int = 4) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


async def test_upload_attach_download(app: FastAPI, client: httpx.AsyncClient):
    world = await make_world(app)
    a = world.headers["customer_a"]
    number = (await client.post("/api/v1/tickets", headers=a,
                                json={"subject": "Screenshot", "body": "see attached"})).json()[
        "number"]
    # The client claims a PDF; the bytes say PNG, and the bytes win.
    upload = await client.post(f"/api/v1/tickets/{number}/attachments", headers=a,
                               files={"file": ("../../etc/shot.pdf", png_bytes(),
                                               "application/pdf")})
    assert upload.status_code == 201, upload.text
    attachment = upload.json()
    assert attachment["content_type"] == "image/png"
    assert attachment["filename"] == "shot.pdf.png"  # named for what it is
    reply = await client.post(f"/api/v1/tickets/{number}/replies", headers=a,
                              json={"body": "here", "attachment_ids": [attachment["id"]]})
    assert reply.json()["attachments"][0]["id"] == attachment["id"]
    reuse = await client.post(f"/api/v1/tickets/{number}/replies", headers=a,
                              json={"body": "again", "attachment_ids": [attachment["id"]]})
    assert reuse.status_code == 422

    download = await client.get(f"/api/v1/attachments/{attachment['id']}", headers=a)
    assert download.status_code == 200
    assert download.content == png_bytes()
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.headers["content-disposition"].startswith("attachment")
    assert (await client.get(f"/api/v1/attachments/{attachment['id']}",
                             headers=world.headers["customer_b"])).status_code == 404
    assert (await client.get(f"/api/v1/attachments/{attachment['id']}",
                             headers=world.headers["other_agent"])).status_code == 404
    assert (await client.get(f"/api/v1/attachments/{attachment['id']}",
                             headers=world.headers["agent"])).status_code == 200


async def test_disallowed_types_are_refused(app: FastAPI, client: httpx.AsyncClient):
    world = await make_world(app)
    a = world.headers["customer_a"]
    number = (await client.post("/api/v1/tickets", headers=a,
                                json={"subject": "x", "body": "y"})).json()["number"]
    for name, content in [("shot.png", b"MZ\x90\x00" + b"\x00" * 200),
                          ("page.png", b"<!DOCTYPE html><script>alert(1)</script>"),
                          ("logo.svg", b"<svg xmlns='http://www.w3.org/2000/svg'></svg>")]:
        response = await client.post(f"/api/v1/tickets/{number}/attachments", headers=a,
                                     files={"file": (name, content, "image/png")})
        assert response.status_code == 415, name
        assert response.json()["error"]["code"] == "attachment_type"
    text = await client.post(f"/api/v1/tickets/{number}/attachments", headers=a,
                             files={"file": ("log.txt", "提币失败 error 50113\n".encode(),
                                             "text/plain")})
    assert text.json()["content_type"] == "text/plain"
    files = list((app.state.settings.attachments_dir).rglob("*"))
    assert len([f for f in files if f.is_file()]) == 1


async def test_markup_disguised_as_a_screenshot_is_refused_and_names_match_the_bytes(
        app: FastAPI, client: httpx.AsyncClient):
    """QA: an SVG with a script, named ``x.png`` and opening with a comment (or a byte order
    mark, or a tag other than <html>), was kept as "text/plain". Text that opens like markup
    is refused now. A kept file's name ends in its type's extension, so a PNG called
    ``invoice.html`` is never saved as a page by whoever downloads it."""
    world = await make_world(app)
    a = world.headers["customer_a"]
    number = (await client.post("/api/v1/tickets", headers=a,
                                json={"subject": "x", "body": "y"})).json()["number"]
    for content in (b"<!-- logo --><svg xmlns='http://www.w3.org/2000/svg'>"
                    b"<script>alert(1)</script></svg>",
                    b"\xef\xbb\xbf<html><script>alert(1)</script></html>",
                    b"\n  <body onload=alert(1)>", b"<iframe src=//evil.example>",
                    b"<?xml version='1.0'?><svg/>"):
        refused = await client.post(f"/api/v1/tickets/{number}/attachments", headers=a,
                                    files={"file": ("x.png", content, "image/png")})
        assert refused.status_code == 415, content
        assert refused.json()["error"]["code"] == "attachment_type"
    names = {}
    for name, content in [("invoice.html", png_bytes()), ("IMG_0001.JPG", b"\xff\xd8\xff\xe0"
                                                             + b"\x00" * 64),
                          ("notes.html", "提币 <3 error 50113\n".encode()),
                          ("IMG_0002.MOV", b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  "
                                           + b"\x00" * 64),
                          ("screenshot", png_bytes())]:
        kept = await client.post(f"/api/v1/tickets/{number}/attachments", headers=a,
                                 files={"file": (name, content, "application/octet-stream")})
        assert kept.status_code == 201, kept.text
        names[name] = (kept.json()["filename"], kept.json()["content_type"])
    assert names == {"invoice.html": ("invoice.html.png", "image/png"),
                     "IMG_0001.JPG": ("IMG_0001.JPG", "image/jpeg"),
                     "notes.html": ("notes.html.txt", "text/plain"),
                     "IMG_0002.MOV": ("IMG_0002.MOV", "video/quicktime"),
                     "screenshot": ("screenshot.png", "image/png")}


async def test_size_cap(settings: Settings):
    small = settings.model_copy(update={"max_attachment_bytes": 1000})
    async with running_app(small) as (app, client):
        world = await make_world(app)
        a = world.headers["customer_a"]
        number = (await client.post("/api/v1/tickets", headers=a,
                                    json={"subject": "x", "body": "y"})).json()["number"]
        big = png_bytes(200, 200) + b"\x00" * 5000
        response = await client.post(f"/api/v1/tickets/{number}/attachments", headers=a,
                                     files={"file": ("big.png", big, "image/png")})
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "attachment_too_large"
        assert not [f for f in small.attachments_dir.rglob("*") if f.is_file()]
        # The ticket and its message are untouched by the refused upload.
        detail = await client.get(f"/api/v1/tickets/{number}", headers=a)
        assert len(detail.json()["messages"]) == 1


async def test_customer_cannot_take_a_staff_upload_before_it_is_sent(
    app: FastAPI, client: httpx.AsyncClient
):
    world = await make_world(app)
    a = world.headers["customer_a"]
    number = (await client.post("/api/v1/tickets", headers=a,
                                json={"subject": "x", "body": "y"})).json()["number"]
    draft = (await client.post(f"/api/v1/tickets/{number}/attachments",
                               headers=world.headers["agent"],
                               files={"file": ("draft.png", png_bytes(), "image/png")})).json()
    assert (await client.get(f"/api/v1/attachments/{draft['id']}", headers=a)).status_code == 404
    steal = await client.post(f"/api/v1/tickets/{number}/replies", headers=a,
                              json={"body": "mine", "attachment_ids": [draft["id"]]})
    assert steal.status_code == 422
    sent = await client.post(f"/api/v1/tickets/{number}/replies", headers=world.headers["agent"],
                             json={"body": "see the guide", "attachment_ids": [draft["id"]]})
    assert sent.status_code == 201
    assert (await client.get(f"/api/v1/attachments/{draft['id']}", headers=a)).status_code == 200


async def test_a_closed_ticket_takes_files_for_notes_only(
    app: FastAPI, client: httpx.AsyncClient
):
    """Closed: the customer can neither write nor upload; an agent may still attach a file to
    an internal note (a reply with it is refused when sent, as any reply is)."""
    world = await make_world(app)
    a, agent = world.headers["customer_a"], world.headers["agent"]
    number = (await client.post("/api/v1/tickets", headers=a,
                                json={"subject": "x", "body": "y"})).json()["number"]
    for status in ("resolved", "closed"):
        done = await client.post(f"/api/v1/tickets/{number}/status",
                                 headers=world.headers["supervisor"], json={"status": status})
        assert done.status_code == 200, done.text

    refused = await client.post(f"/api/v1/tickets/{number}/attachments", headers=a,
                                files={"file": ("late.png", png_bytes(), "image/png")})
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "ticket_closed"
    upload = await client.post(f"/api/v1/tickets/{number}/attachments", headers=agent,
                               files={"file": ("trace.png", png_bytes(), "image/png")})
    assert upload.status_code == 201, upload.text
    file_id = upload.json()["id"]
    reply = await client.post(f"/api/v1/tickets/{number}/replies", headers=agent,
                              json={"body": "see", "attachment_ids": [file_id]})
    assert reply.status_code == 409
    note = await client.post(f"/api/v1/tickets/{number}/notes", headers=agent,
                             json={"body": "the customer's trace", "attachment_ids": [file_id]})
    assert note.status_code == 201, note.text
    assert [f["id"] for f in note.json()["attachments"]] == [file_id]
    assert (await client.get(f"/api/v1/attachments/{file_id}", headers=a)).status_code == 404


async def test_uploads_never_sent_are_deleted_after_the_keep_time(
    app: FastAPI, client: httpx.AsyncClient
):
    """A file chosen and never sent (a tab closed, a reply refused) is a customer's data
    nobody meant to keep: after KEFU_UNSENT_UPLOAD_KEEP_HOURS its row and bytes go. A sent
    file and a fresh unsent one stay; 0 keeps everything."""
    world = await make_world(app)
    a = world.headers["customer_a"]
    number = (await client.post("/api/v1/tickets", headers=a,
                                json={"subject": "x", "body": "y"})).json()["number"]

    async def upload(name: str) -> str:
        done = await client.post(f"/api/v1/tickets/{number}/attachments", headers=a,
                                 files={"file": (name, png_bytes(), "image/png")})
        assert done.status_code == 201, done.text
        return str(done.json()["id"])

    old_unsent, old_sent = await upload("old.png"), await upload("sent.png")
    sent = await client.post(f"/api/v1/tickets/{number}/replies", headers=a,
                             json={"body": "here", "attachment_ids": [old_sent]})
    assert sent.status_code == 201, sent.text
    fresh = await upload("fresh.png")
    store = AttachmentStore(app.state.settings)
    async with app.state.db.transaction() as session:
        rows = {str(row.id): row for row in await session.scalars(select(Attachment))}
        for key in (old_unsent, old_sent):
            rows[key].created_at = clock.now() - timedelta(hours=25)
    keys = {key: row.storage_key for key, row in rows.items()}
    assert all(store.path_for(k).exists() for k in keys.values())

    assert await sweep_unsent(app.state.db, store, keep_hours=0) == 0
    assert await sweep_unsent(app.state.db, store, keep_hours=24) == 1
    async with app.state.db.transaction() as session:
        left = {str(i) for i in await session.scalars(select(Attachment.id))}
    assert left == {old_sent, fresh}
    assert not store.path_for(keys[old_unsent]).exists()
    assert store.path_for(keys[old_sent]).exists()
    assert store.path_for(keys[fresh]).exists()
    gone = await client.get(f"/api/v1/attachments/{old_unsent}", headers=a)
    assert gone.status_code == 404
    assert await sweep_unsent(app.state.db, store, keep_hours=24) == 0


async def test_names_lose_bidirectional_controls_and_languages_must_exist(
        app: FastAPI, client: httpx.AsyncClient):
    """A right-to-left override makes "invoice\\u202egnp.exe" read "invoiceexe.png": file
    names and subjects drop such controls. A ticket's language must be a real one (it picks
    the team that can take it)."""
    world = await make_world(app)
    a = world.headers["customer_a"]
    created = await client.post("/api/v1/tickets", headers=a, json={
        "subject": "Refund \u202egnp.exe\u202c please", "body": "see \u202eattached",
        "language": "pt-BR"})
    assert created.status_code == 201, created.text
    assert created.json()["subject"] == "Refund gnp.exe please"
    assert created.json()["language"] == "pt-BR"
    number = created.json()["number"]
    upload = await client.post(f"/api/v1/tickets/{number}/attachments", headers=a,
                               files={"file": ("invoice\u202egnp.exe\u2066", png_bytes(),
                                               "image/png")})
    assert upload.status_code == 201, upload.text
    assert upload.json()["filename"] == "invoicegnp.exe.png"
    for language in ("xx", "qq-ZZ"):
        refused = await client.post("/api/v1/tickets", headers=a, json={
            "subject": "s", "body": "language test", "language": language})
        assert refused.status_code == 422, language
        assert "language" in refused.json()["error"]["message"]
