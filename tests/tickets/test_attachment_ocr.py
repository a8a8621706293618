"""OCR of image attachments (SPEC §H): a screenshot of a seed phrase or a private key is withheld
like a PDF holding one, a clean screenshot is kept with its text (txid, address) readable for
agents, and broken, huge or slow images cost the upload nothing but their text.

The screenshots are drawn here with Pillow (tests/tickets/screenshots.py) and read by the real
models in the real child process; every upload goes through the API."""

from __future__ import annotations

import struct
import time
import zlib
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from mnemonic import Mnemonic
from PIL import Image, ImageDraw

from kefu.config import Settings
from kefu.guard.secret_ocr import loose_phrases, scan_ocr
from kefu.guard.secrets import scan
from kefu.tickets.attachment_text import extract_text
from kefu.tickets.ocr import MAX_IMAGE_PIXELS
from tests.factories import make_world, running_app
from tests.tickets.screenshots import (
    Style,
    backup_screen,
    cjk_font,
    document_screen,
    encode,
    latin_fonts,
    load_font,
)
from tests.tickets.test_attachment_guard import (
    _ticket,
    _upload,
    everything_stored,
    files_on_disk,
    kept_and_readable,
)

SEED = Mnemonic("english").to_mnemonic(bytes(range(100, 116)))  # a valid 12-word phrase
WORDS = SEED.split()
KEY = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
TXID = "9f2c4e8a1b3d5f7092c4e6a8b0d2f4a6c8e0a2b4d6f8091a3c5e7f9b1d3f5a7c"
ADDRESS = "0x52908400098527886E0F7030069857D2E4169EE7"
BUDGET = 20.0


@pytest.fixture(name="settings")
def ocr_settings(settings: Settings) -> Settings:
    """The suite's settings with OCR on (tests/conftest.py turns it off elsewhere)."""
    return settings.model_copy(update={"ocr": True})


def seed_screen() -> bytes:
    return encode(backup_screen(WORDS, Style(font=latin_fonts()[0])))


def key_screen() -> bytes:
    """A dark "export private key" screen, the key wrapped over two lines, as a JPEG."""
    fonts = latin_fonts()
    image = Image.new("RGB", (1170, 2532), (18, 18, 24))
    draw = ImageDraw.Draw(image)
    draw.text((80, 300), "Export Private Key", font=load_font(fonts[0], 60), fill="white")
    draw.text((80, 480), "Your private key:", font=load_font(fonts[0], 40), fill=(200, 200, 200))
    mono = load_font(fonts[2] if len(fonts) > 2 else fonts[0], 44)
    draw.text((80, 560), KEY[:32], font=mono, fill="white")
    draw.text((80, 630), KEY[32:], font=mono, fill="white")
    return encode(image, "JPEG", quality=80)


def deposit_screen() -> Image.Image:
    return document_screen(["Deposit of 250 USDT, 2024-05-02 14:31 UTC", f"TxID {TXID}",
                            f"To {ADDRESS}", "Status: pending (3/12 confirmations)"],
                           latin_fonts()[0])


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims ``width`` x ``height`` pixels, with one compressed row of data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(bytes(1 + 3 * min(width, 4096))))
            + chunk(b"IEND", b""))


async def test_a_screenshot_of_a_seed_phrase_is_withheld(app: FastAPI, client: httpx.AsyncClient):
    world = await make_world(app)
    a, agent = world.headers["customer_a"], world.headers["agent"]
    number = await _ticket(client, a)
    content = seed_screen()
    file = await _upload(client, a, number, "backup.png", content, "image/png")
    assert file["withheld_reason"] == "contained seed phrase"
    assert (file["sha256"], file["size"]) == (None, len(content))
    assert file["text_status"] == "extracted"
    assert "Secret Recovery Phrase" in file["extracted_text"]  # the rest stays readable
    assert "[REDACTED seed_phrase]" in file["extracted_text"]
    assert not set(WORDS) & set(file["extracted_text"].replace(".", " ").split())
    assert files_on_disk(app) == []
    download = await client.get(f"/api/v1/attachments/{file['id']}", headers=agent)
    assert download.status_code == 410

    ticket = (await client.get(f"/api/v1/tickets/{number}", headers=agent)).json()
    assert {"security", "secret-exposed"} <= set(ticket["tags"])
    assert ticket["priority"] == "urgent"
    assert 'Your file "backup.png" was deleted' in ticket["messages"][-1]["body"]
    stored = await everything_stored(app)
    assert " ".join(WORDS[2:5]) not in stored
    assert not any(f"{n}. {word}" in stored for n, word in enumerate(WORDS, 1))


async def test_a_screenshot_of_a_wrapped_private_key_is_withheld(
        app: FastAPI, client: httpx.AsyncClient):
    world = await make_world(app)
    a = world.headers["customer_a"]
    number = await _ticket(client, a)
    file = await _upload(client, a, number, "key.jpg", key_screen(), "image/jpeg")
    assert file["content_type"] == "image/jpeg"
    assert file["withheld_reason"] == "contained private key"
    assert "Your private key" in file["extracted_text"]
    assert KEY[:32] not in file["extracted_text"]
    assert KEY[32:] not in file["extracted_text"]
    assert KEY[:32] not in await everything_stored(app)


async def test_a_clean_screenshot_is_kept_with_its_txid_readable(
        app: FastAPI, client: httpx.AsyncClient):
    world = await make_world(app)
    a, agent = world.headers["customer_a"], world.headers["agent"]
    number = await _ticket(client, a)
    content = encode(deposit_screen(), "WEBP", quality=90)
    file = await _upload(client, a, number, "deposit.webp", content, "image/webp")
    await kept_and_readable(client, agent, number, file, content, [TXID, ADDRESS, "USDT"])


async def test_chinese_screenshots(app: FastAPI, client: httpx.AsyncClient):
    """A Chinese wallet's numbered grid of phrase characters is withheld; Chinese text around a
    txid stays readable."""
    font = cjk_font()
    if font is None:
        pytest.skip("no CJK font on this machine (fonts-noto-cjk): cannot draw Chinese text")
    phrase = Mnemonic("chinese_simplified").to_mnemonic(bytes(range(16))).split()
    image = Image.new("RGB", (1170, 2532), "white")
    draw = ImageDraw.Draw(image)
    draw.text((80, 300), "备份助记词", font=load_font(font, 64), fill="black")
    draw.text((80, 420), "请按顺序抄写，不要截图。", font=load_font(font, 40), fill="black")
    for i, char in enumerate(phrase):
        row, col = divmod(i, 3)
        draw.text((100 + col * 330, 560 + row * 110), f"{i + 1} {char}",
                  font=load_font(font, 52), fill="black")
    clean = Image.new("RGB", (1920, 1080), "white")
    draw = ImageDraw.Draw(clean)
    draw.text((80, 200), "充值记录：250 USDT 尚未到账", font=load_font(font, 40), fill="black")
    draw.text((80, 300), f"交易哈希 {TXID}", font=load_font(font, 32), fill="black")

    world = await make_world(app)
    a = world.headers["customer_a"]
    number = await _ticket(client, a)
    secret = await _upload(client, a, number, "助记词.png", encode(image), "image/png")
    assert secret["withheld_reason"] == "contained seed phrase"
    assert "备份助记词" in secret["extracted_text"]
    assert "损" not in secret["extracted_text"]
    kept = await _upload(client, a, number, "充值.png", encode(clean), "image/png")
    assert kept["withheld_reason"] is None
    assert "尚未到账" in kept["extracted_text"]
    assert TXID in kept["extracted_text"]


async def test_huge_and_broken_images_are_stored_unread(app: FastAPI, client: httpx.AsyncClient):
    """A decompression bomb is refused before it is decoded, a broken image fails in the child:
    both are kept as sent with text_status "unreadable", quickly, without a 500."""
    world = await make_world(app)
    a = world.headers["customer_a"]
    number = await _ticket(client, a)
    jpeg = encode(deposit_screen(), "JPEG")
    uploads = [("bomb.png", png_header_only(60_000, 60_000)),
               ("broken.png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4),
               ("cut.jpg", jpeg[:len(jpeg) // 3])]
    for name, content in uploads:
        started = time.monotonic()
        file = await _upload(client, a, number, name, content, "image/png")
        assert (file["text_status"], file["extracted_text"]) == ("unreadable", None), name
        assert file["withheld_reason"] is None
        assert time.monotonic() - started < BUDGET
        download = await client.get(f"/api/v1/attachments/{file['id']}", headers=a)
        assert download.content == content


async def test_ocr_can_be_turned_off(settings: Settings):
    off = settings.model_copy(update={"ocr": False})
    async with running_app(off) as (app, client):
        world = await make_world(app)
        a = world.headers["customer_a"]
        number = await _ticket(client, a)
        file = await _upload(client, a, number, "backup.png", seed_screen(), "image/png")
    assert (file["text_status"], file["extracted_text"]) == ("none", None)
    assert file["withheld_reason"] is None


def test_the_settings_read_the_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("KEFU_OCR", "false")
    monkeypatch.setenv("KEFU_OCR_TIMEOUT_S", "7.5")
    settings = Settings()
    assert (settings.ocr, settings.ocr_timeout_s) == (False, 7.5)
    monkeypatch.setenv("KEFU_OCR_TIMEOUT_S", "0")
    with pytest.raises(ValueError, match="ocr_timeout_s"):
        Settings()


async def test_a_large_photo_is_read_scaled_down(tmp_path: Path):
    """A 24 MP photo of a written-down phrase (under the pixel cap) is decoded at a reduced scale
    in the child and still read; over the cap an image is not decoded at all."""
    photo = Image.new("RGB", (6000, 4000), (235, 232, 225))
    draw = ImageDraw.Draw(photo)
    font = load_font(latin_fonts()[0], 150)
    for i, word in enumerate(WORDS):
        row, col = divmod(i, 3)
        draw.text((400 + col * 1800, 500 + row * 420), f"{i + 1}. {word}", font=font,
                  fill=(30, 30, 60))
    path = tmp_path / "photo.jpg"
    path.write_bytes(encode(photo, "JPEG", quality=85))
    result = await extract_text(path, "image/jpeg", ocr_budget_s=BUDGET)
    assert result.status == "extracted"
    assert result.ocr
    assert "seed_phrase" in scan_ocr(result.text).kinds
    assert MAX_IMAGE_PIXELS > 6000 * 4000  # under the cap: decoded (scaled), not refused

    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_header_only(8000, 8000))  # 64 MP
    assert (await extract_text(bomb, "image/png", ocr_budget_s=BUDGET)).status == "unreadable"


async def test_a_gif_is_read_from_its_first_frame(tmp_path: Path):
    first = deposit_screen()
    second = Image.new("RGB", first.size, "white")
    path = tmp_path / "anim.gif"
    first.save(path, format="GIF", save_all=True, append_images=[second], duration=500)
    result = await extract_text(path, "image/gif", ocr_budget_s=BUDGET)
    assert result.status == "extracted"
    assert ADDRESS in result.text


async def test_the_time_budget_cuts_reading_short(tmp_path: Path):
    """Past its budget the child stops recognising (``partial``: the rest was not checked; it
    still detects, within the grace before it is killed); without a budget (OCR off) an image
    has no text at all."""
    path = tmp_path / "deposit.png"
    path.write_bytes(encode(deposit_screen().resize((960, 540))))
    cut = await extract_text(path, "image/png", ocr_budget_s=0.01)
    assert (cut.status, cut.text) == ("partial", "")
    assert (await extract_text(path, "image/png")).status == "none"


# The OCR-only seed-phrase check (kefu/guard/secret_ocr.py).

GRID_MISREAD = "\n".join([  # what OCR made of a wallet's grid: "1l." for 11, "0il", "rando"
    "Back up your wallet", "l. good 2. clinic 3.0il", "4. speak 5. note 6. cup",
    "7. rando 8. punch 9. hunt", "10. logic 1l. frame 12. toward"])
ORDINARY = [
    "Deposit of 250 USDT\nTxID 9f2c4e8a1b3d5f7092c4e6a8b0d2f4a6\nc8e0a2b4d6f8091a3c5e7f9b1d3f5a7c",
    "1. Open the app 2. Tap Assets 3. Choose USDT 4. Tap Deposit 5. Copy the address",
    # Twelve list words and more, unnumbered, the checksum failing: ordinary for the OCR check.
    "please help me open my account because the bank said it will close soon and I cannot "
    "access any funds today or find a good time to call again",
    "can you tell me any good jokes\nplease tell me a funny joke\ntell me something funny",
]


def test_ocr_text_gets_the_misread_tolerant_seed_check():
    assert scan(GRID_MISREAD).clean  # no seed label, checksum broken: the plain guard misses it
    found = scan_ocr(GRID_MISREAD)
    assert found.kinds == ("seed_phrase",)
    assert "Back up your wallet" in found.masked
    assert "punch" not in found.masked
    assert "frame" not in found.masked


def test_ordinary_text_is_unaffected_by_the_ocr_check():
    for text in ORDINARY:
        assert loose_phrases(text) == [], text
        assert scan_ocr(text) == scan(text), text


def test_wrapped_keys_are_joined_only_for_the_guard():
    text = f"Export Private Key\nYour private key:\n{KEY[:32]}\n  {KEY[32:]}\nDone"
    found = scan_ocr(text)
    assert found.masked == "Export Private Key\nYour private key:\n[REDACTED private_key]\nDone"
    assert scan(text).clean  # what the plain guard sees: two half keys
