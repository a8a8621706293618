"""Screenshots drawn with Pillow for the OCR tests and ``bench/ocr.py``: a wallet's backup-phrase
screen, a desktop page with a txid, Chinese text. Fonts are the machine's (DejaVu is in the base
image; Liberation and Noto CJK where installed), Pillow's bundled font as a last resort."""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"))
LATIN_FONTS = ("DejaVuSans.ttf", "DejaVuSerif.ttf", "DejaVuSansMono.ttf", "DejaVuSans-Bold.ttf",
               "DejaVuSansCondensed.ttf", "LiberationSans-Regular.ttf",
               "LiberationSerif-Regular.ttf", "LiberationMono-Regular.ttf",
               "NotoSansCJK-Regular.ttc")
CJK_FONTS = ("NotoSansCJK-Regular.ttc", "NotoSerifCJK-Regular.ttc", "wqy-zenhei.ttc",
             "wqy-microhei.ttc", "DroidSansFallbackFull.ttf")
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@cache
def _font_files() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for root in FONT_DIRS:
        if root.is_dir():
            for path in sorted(root.rglob("*.tt[fc]")):
                found.setdefault(path.name, path)
    return found


def font_path(name: str) -> Path | None:
    return _font_files().get(name)


def latin_fonts() -> list[Path]:
    """The Latin fonts this machine has, in ``LATIN_FONTS`` order (DejaVu at least)."""
    return [path for name in LATIN_FONTS if (path := font_path(name)) is not None]


def cjk_font() -> Path | None:
    return next((path for name in CJK_FONTS if (path := font_path(name)) is not None), None)


def load_font(path: Path | None, size: int) -> Font:
    if path is None:
        return ImageFont.load_default(size)
    return ImageFont.truetype(str(path), size)


@dataclass(frozen=True, slots=True)
class Style:
    """How a screen looks: font, text size, colours, layout."""

    font: Path | None
    size: int = 44
    background: tuple[int, int, int] = (255, 255, 255)
    ink: tuple[int, int, int] = (20, 20, 20)
    columns: int = 2
    numbered: bool = True
    title: str = "Secret Recovery Phrase"
    noise: int = 0  # +- per-pixel noise on the background (a photo-like screen)
    chips: bool = True  # each word on a rounded "chip", as wallets draw them


def backup_screen(words: list[str], style: Style, size: tuple[int, int] = (1170, 2532),
                  seed: int = 0) -> Image.Image:
    """A phone wallet's "write down your recovery phrase" screen: a title, a warning and the
    words in a grid, numbered row by row."""
    image = Image.new("RGB", size, style.background)
    if style.noise:
        rng = random.Random(seed)
        noise = Image.effect_noise(size, style.noise * 4).convert("RGB")
        image = Image.blend(image, noise, 0.06 + 0.02 * rng.random())
    draw = ImageDraw.Draw(image)
    width, _height = size
    column_width = (width - 160) // style.columns
    text_size = min(style.size, column_width // 7)  # "12. scorpion" fits its column
    title = load_font(style.font, int(text_size * 1.4))
    body = load_font(style.font, text_size)
    y = int(size[1] * 0.12)
    if style.title:
        draw.text((80, y), style.title, font=title, fill=style.ink)
        y += int(text_size * 2.6)
    draw.text((80, y), "Write these words down in order.", font=body, fill=style.ink)
    y += int(text_size * 1.8)
    draw.text((80, y), "Never share them with anyone.", font=body, fill=style.ink)
    y += int(text_size * 3)
    chip = tuple(max(0, min(255, c + (18 if sum(style.background) < 384 else -14)))
                 for c in style.background)
    for i, word in enumerate(words):
        row, col = divmod(i, style.columns)
        x = 80 + col * column_width
        top = y + row * int(text_size * 2.4)
        if style.chips:
            draw.rounded_rectangle((x, top - text_size // 3, x + column_width - 30,
                                    top + int(text_size * 1.5)), radius=text_size // 2,
                                   fill=chip)
        label = f"{i + 1}. {word}" if style.numbered else word
        draw.text((x + text_size // 2, top), label, font=body, fill=style.ink)
    return image


def document_screen(lines: list[str], font: Path | None, size: tuple[int, int] = (1920, 1080),
                    text_size: int = 30) -> Image.Image:
    """A desktop page: one line of text after another, on white."""
    image = Image.new("RGB", size, (250, 250, 250))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, size[0], 90), fill=(30, 60, 120))
    draw.text((40, 25), "DemoEx - Deposit history", font=load_font(font, 36),
              fill=(255, 255, 255))
    body = load_font(font, text_size)
    for n, line in enumerate(lines):
        draw.text((60, 160 + n * int(text_size * 2)), line, font=body, fill=(25, 25, 25))
    return image


def encode(image: Image.Image, fmt: str = "PNG", **options: int) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()
