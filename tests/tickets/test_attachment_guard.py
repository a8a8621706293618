"""The secret guard on attachments' text: a customer's PDF or text file holding a seed phrase or
a password is withheld (bytes deleted, 410 on download, customer told, ticket flagged); clean
files and files without readable text are kept as they came."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from mnemonic import Mnemonic
from sqlalchemy import select, text

from kefu.db import Base
from kefu.tickets.attachment_text import MAX_PDF_PAGES, MAX_TEXT_CHARS, extract_text
from kefu.tickets.messages import message_events_after
from kefu.tickets.models import Ticket
from tests.factories import make_world
from tests.web.browser import csrf_of, portal_sign_in

SEED = Mnemonic("english").generate(strength=128)  # a valid 12-word phrase
TXID = "0x" + "ab" * 32
ADDRESS = "0x52908400098527886E0F7030069857D2E4169EE7"


def pdf_bytes(*pages: str) -> bytes:
    """A minimal PDF, one Helvetica text line per line of each page: the format's own skeleton,
    written by hand (no library here writes text)."""

    def escaped(line: str) -> bytes:
        return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)").encode("latin-1")

    kids = b" ".join(b"%d 0 R" % (4 + 2 * i) for i in range(len(pages)))
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(pages)),
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    for i, page in enumerate(pages):
        content = b"\n".join(b"BT /F1 10 Tf 40 %d Td (%s) Tj ET" % (750 - 14 * n, escaped(line))
                             for n, line in enumerate(page.split("\n")))
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources "
                       b"<< /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (5 + 2 * i))
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content))
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


SEED_PDF = pdf_bytes("Statement for May", f"my backup words:\n{SEED}\nthanks")
INVOICE_PDF = pdf_bytes(f"Invoice 2024-0042\nDeposit of 250 USDT\nTxID {TXID}\nTo {ADDRESS}")
BROKEN_PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 9 0 R\n\x00\xff garbage" + bytes(300)


def files_on_disk(app: FastAPI) -> list[Path]:
    return [f for f in app.state.settings.attachments_dir.rglob("*") if f.is_file()]


async def everything_stored(app: FastAPI) -> str:
    """Every row of every table: where an unmasked secret could have been kept."""
    rows: list[str] = []
    async with app.state.db.transaction() as session:
        for table in Base.metadata.sorted_tables:
            result = await session.execute(text(f"SELECT * FROM {table.name}"))
            rows += [repr(tuple(row)) for row in result.all()]
    return "\n".join(rows)


async def _ticket(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    created = await client.post("/api/v1/tickets", headers=headers,
                                json={"subject": "Missing deposit", "body": "see the file"})
    assert created.status_code == 201, created.text
    return str(created.json()["number"])


async def _upload(client: httpx.AsyncClient, headers: dict[str, str], number: str,
                  name: str, content: bytes, content_type: str) -> dict[str, Any]:
    """Attach a file to the ticket; the attachment as the API returns it (201)."""
    upload = await client.post(f"/api/v1/tickets/{number}/attachments", headers=headers,
                               files={"file": (name, content, content_type)})
    assert upload.status_code == 201, upload.text
    return dict(upload.json())


async def test_a_pdf_with_a_seed_phrase_is_withheld(
        app: FastAPI, client: httpx.AsyncClient, capfd: pytest.CaptureFixture[str]):
    world = await make_world(app)
    a, agent = world.headers["customer_a"], world.headers["agent"]
    number = await _ticket(client, a)
    file = await _upload(client, a, number, "statement.pdf", SEED_PDF, "application/pdf")
    assert file["withheld_reason"] == "contained seed phrase"
    assert file["sha256"] is None
    assert file["size"] == len(SEED_PDF)
    assert file["text_status"] == "extracted"
    assert "Statement for May" in file["extracted_text"]
    assert "[REDACTED" in file["extracted_text"]
    assert SEED.split()[4] not in file["extracted_text"].split()
    assert files_on_disk(app) == []  # the bytes are gone, no temp file either

    for who in (a, agent):
        download = await client.get(f"/api/v1/attachments/{file['id']}", headers=who)
        assert download.status_code == 410
        assert download.json()["error"]["code"] == "attachment_withheld"
        assert "seed phrase" in download.json()["error"]["message"]

    # It can still go with a reply: as a placeholder.
    reply = await client.post(f"/api/v1/tickets/{number}/replies", headers=a,
                              json={"body": "here it is", "attachment_ids": [file["id"]]})
    assert reply.status_code == 201, reply.text
    assert reply.json()["attachments"][0]["withheld_reason"] == "contained seed phrase"
    # Live and replayed message frames say so too: the widget and console show no link.
    async with app.state.db.transaction() as session:
        row = await session.scalar(select(Ticket).where(Ticket.number == number))
        assert row is not None
        frames = await message_events_after(session, row, after=0, public=True)
    assert [(f["id"], f["withheld"]) for frame in frames for f in frame["attachments"]] == [
        (file["id"], True)]

    ticket = (await client.get(f"/api/v1/tickets/{number}", headers=agent)).json()
    notices = [m["body"] for m in ticket["messages"] if m["author_kind"] == "system"]
    assert len(notices) == 1
    assert 'Your file "statement.pdf" was deleted' in notices[0]
    assert "move your funds to a new wallet now" in notices[0]
    assert {"security", "secret-exposed"} <= set(ticket["tags"])
    assert ticket["priority"] == "urgent"
    events = (await client.get(f"/api/v1/tickets/{number}/events", headers=agent)).json()
    masked = [e["data"] for e in events["items"] if e["kind"] == "secret_masked"]
    assert masked == [{"kinds": ["seed_phrase"], "withheld_attachment": file["id"]}]

    stored = await everything_stored(app)
    assert SEED not in stored
    assert " ".join(SEED.split()[3:7]) not in stored
    out, err = capfd.readouterr()
    assert SEED.split()[0] + " " + SEED.split()[1] not in out + err


async def test_a_clean_invoice_stays_downloadable(app: FastAPI, client: httpx.AsyncClient):
    world = await make_world(app)
    a, agent = world.headers["customer_a"], world.headers["agent"]
    number = await _ticket(client, a)
    file = await _upload(client, a, number, "invoice.pdf", INVOICE_PDF, "application/pdf")
    ticket = await kept_and_readable(client, agent, number, file, INVOICE_PDF,
                                     [TXID, ADDRESS, "250 USDT"])
    assert [m["author_kind"] for m in ticket["messages"]] == ["customer"]


async def kept_and_readable(client: httpx.AsyncClient, agent: dict[str, str], number: str,
                            file: dict[str, Any], content: bytes,
                            readable: list[str]) -> dict[str, Any]:
    """Assert that a clean upload was kept whole, its text read with ``readable`` in it
    unmasked, and the ticket not flagged; returns the ticket as agents see it."""
    assert file["withheld_reason"] is None
    assert file["sha256"] is not None
    assert file["text_status"] == "extracted"
    for shown in readable:
        assert shown in file["extracted_text"]
    download = await client.get(f"/api/v1/attachments/{file['id']}", headers=agent)
    assert download.status_code == 200
    assert download.content == content
    ticket: dict[str, Any] = (await client.get(f"/api/v1/tickets/{number}",
                                               headers=agent)).json()
    assert "security" not in ticket["tags"]
    return ticket


async def test_a_broken_pdf_is_stored_without_text(app: FastAPI, client: httpx.AsyncClient):
    world = await make_world(app)
    a = world.headers["customer_a"]
    number = await _ticket(client, a)
    file = await _upload(client, a, number, "scan.pdf", BROKEN_PDF, "application/pdf")
    assert file["content_type"] == "application/pdf"
    assert (file["text_status"], file["extracted_text"]) == ("unreadable", None)
    assert file["withheld_reason"] is None
    download = await client.get(f"/api/v1/attachments/{file['id']}", headers=a)
    assert download.status_code == 200
    assert download.content == BROKEN_PDF


async def test_a_text_file_with_a_password_is_withheld(app: FastAPI, client: httpx.AsyncClient):
    """Not a wallet secret: flagged for security but not urgent; and the hash of a short file,
    which a dictionary would reverse, is not kept either."""
    world = await make_world(app)
    a, agent = world.headers["customer_a"], world.headers["agent"]
    number = await _ticket(client, a)
    content = b"login: alice@example.com\npassword: Hunter2024!\n"
    file = await _upload(client, a, number, "notes.txt", content, "text/plain")
    assert file["withheld_reason"] == "contained password"
    assert file["sha256"] is None
    assert "Hunter2024" not in file["extracted_text"]
    assert "alice@example.com" in file["extracted_text"]
    assert files_on_disk(app) == []
    ticket = (await client.get(f"/api/v1/tickets/{number}", headers=agent)).json()
    assert "security" in ticket["tags"]
    assert "secret-exposed" not in ticket["tags"]
    assert ticket["priority"] != "urgent"
    assert "Please change it now." in ticket["messages"][-1]["body"]
    assert "Hunter2024" not in await everything_stored(app)


async def test_staff_uploads_are_kept_but_their_text_is_stored_masked(
        app: FastAPI, client: httpx.AsyncClient):
    """The guard withholds what customers send; an agent's file is theirs to send, but its text
    is kept masked like everything else stored."""
    world = await make_world(app)
    number = await _ticket(client, world.headers["customer_a"])
    upload = await client.post(f"/api/v1/tickets/{number}/attachments",
                               headers=world.headers["agent"],
                               files={"file": ("forwarded.pdf", SEED_PDF, "application/pdf")})
    file = upload.json()
    assert file["withheld_reason"] is None
    assert len(files_on_disk(app)) == 1
    assert SEED not in await everything_stored(app)


async def test_the_portal_form_withholds_a_seed_pdf_and_keeps_the_invoice(
        app: FastAPI, client: httpx.AsyncClient):
    await portal_sign_in(client, app.state.settings, "cust-pdf", name="Chen", lang="zh-CN")
    form = await client.get("/portal/tickets/new", params={"category": "deposit"})
    created = await client.post("/portal/tickets/new", data={
        "csrf_token": csrf_of(form.text), "category": "deposit", "subject": "充值未到账",
        "body": "发票和对账单见附件",
    }, files=[("files", ("statement.pdf", SEED_PDF, "application/pdf")),
              ("files", ("invoice.pdf", INVOICE_PDF, "application/pdf"))])
    assert created.status_code == 303, created.text
    location = created.headers["location"]
    number = location.split("/")[3].split("?")[0]
    page = (await client.get(location)).text
    assert page.count('data-testid="attachment-withheld"') == 1
    placeholder = page.split('data-testid="attachment-withheld"')[1].split("</li>")[0]
    assert "statement.pdf" in placeholder
    assert "href" not in placeholder
    assert "未保存" in placeholder
    assert "新的钱包" in page  # the notice, in the customer's language
    assert SEED.split()[4] not in page.split()
    links = page.split('href="/api/v1/attachments/')[1:]
    assert len(links) == 1
    invoice_id = links[0].split('"')[0]
    invoice = await client.get(f"/api/v1/attachments/{invoice_id}")
    assert invoice.content == INVOICE_PDF
    detail = (await client.get(f"/api/v1/tickets/{number}")).json()
    withheld = [f for m in detail["messages"] for f in m["attachments"] if f["withheld_reason"]]
    assert [f["filename"] for f in withheld] == ["statement.pdf"]
    gone = await client.get(f"/api/v1/attachments/{withheld[0]['id']}")
    assert gone.status_code == 410
    assert [f.read_bytes() for f in files_on_disk(app)] == [INVOICE_PDF]

    # The reply form takes the same path.
    reply = await client.post(f"/portal/tickets/{number}/reply", data={
        "csrf_token": csrf_of(page), "body": "再发一次"},
        files=[("files", ("again.pdf", SEED_PDF, "application/pdf"))])
    assert reply.status_code == 303, reply.text
    assert (await client.get(reply.headers["location"])).text.count(
        'data-testid="attachment-withheld"') == 2
    assert len(files_on_disk(app)) == 1
    assert SEED not in await everything_stored(app)


# ---------------------------------------------------------------- extraction limits


async def test_only_the_first_pages_are_read(tmp_path: Path):
    path = tmp_path / "long.pdf"
    path.write_bytes(pdf_bytes(*(f"page {n}" for n in range(1, MAX_PDF_PAGES + 3))))
    result = await extract_text(path, "application/pdf")
    assert result.status == "partial"
    assert f"page {MAX_PDF_PAGES}" in result.text
    assert f"page {MAX_PDF_PAGES + 1}" not in result.text


async def test_a_pdf_that_takes_too_long_is_given_up(tmp_path: Path):
    """The reader runs in a child process, killed at the deadline: the upload goes on."""
    path = tmp_path / "slow.pdf"
    path.write_bytes(INVOICE_PDF)
    assert (await extract_text(path, "application/pdf", timeout_s=0.001)).status == "unreadable"
    assert (await extract_text(path, "application/pdf")).status == "extracted"


async def test_plain_text_is_capped_and_made_storable(tmp_path: Path):
    path = tmp_path / "log.txt"
    path.write_bytes(b"a\x00b " + "提币".encode() * MAX_TEXT_CHARS)
    result = await extract_text(path, "text/plain")
    assert result.status == "partial"
    assert len(result.text) == MAX_TEXT_CHARS
    assert result.text.startswith("ab 提币")
    assert (await extract_text(path, "image/png")).status == "none"
