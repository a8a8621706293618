"""OCR benchmark: seconds per screenshot and how often the secret guard catches a seed phrase
photographed or screenshotted from a wallet.

    .venv/bin/python bench/ocr.py [--screens 30] [--seed 7]

Draws ``--screens`` wallet backup screens (tests/tickets/screenshots.py) with a fresh valid
12-word BIP39 phrase each, varying font, text size, colours, layout, title (with and without a
"recovery phrase" label, which puts the guard in seed context), image size and format (PNG,
JPEG q70, WebP), and reads each one as an upload would (``extract_text``: the capped child
process, one ONNX thread). Reports per screen: OCR seconds, whether all 12 words came out
right and in order, and whether ``scan`` and ``scan_ocr`` (what uploads use for OCR'd text)
flag a seed phrase. Then times a 1170x2532 phone
screenshot and a 1920x1080 desktop page, three reads each (wall and the child's CPU seconds),
and counts the OCR-only loose phrase rule's hits on ordinary text. Prints a table and one JSON
line."""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the screenshot generator lives with the tests

from mnemonic import Mnemonic  # noqa: E402

from kefu.guard.secret_ocr import loose_phrases, scan_ocr  # noqa: E402
from kefu.guard.secrets import scan  # noqa: E402
from kefu.tickets.attachment_text import OCR_TIMEOUT_S, extract_text  # noqa: E402
from tests.tickets.screenshots import (  # noqa: E402
    Style,
    backup_screen,
    document_screen,
    encode,
    latin_fonts,
)

BACKGROUNDS = [((255, 255, 255), (20, 20, 20)), ((24, 26, 32), (235, 235, 240)),
               ((232, 240, 255), (30, 40, 90)), ((250, 246, 235), (60, 50, 40))]
TITLES = ["Secret Recovery Phrase", "", "Back up your wallet", "Your 12 words"]
SIZES = [(1170, 2532), (1080, 1920), (1920, 1080), (750, 1334)]
FORMATS = [("PNG", "image/png", {}), ("JPEG", "image/jpeg", {"quality": 70}),
           ("WEBP", "image/webp", {"quality": 80})]


def screens(count: int, seed: int) -> list[dict[str, object]]:
    rng = random.Random(seed)
    fonts = latin_fonts()
    mnemo = Mnemonic("english")
    cases = []
    for n in range(count):
        words = mnemo.to_mnemonic(rng.randbytes(16)).split()
        background, ink = BACKGROUNDS[n % len(BACKGROUNDS)]
        size = SIZES[n % len(SIZES)]
        style = Style(font=fonts[n % len(fonts)], size=rng.choice([28, 34, 40, 48, 56]),
                      background=background, ink=ink,
                      columns=4 if size[0] > size[1] else rng.choice([2, 3]),
                      numbered=rng.random() < 0.75, title=TITLES[n % len(TITLES)],
                      noise=rng.choice([0, 0, 8]), chips=rng.random() < 0.6)
        fmt, content_type, options = FORMATS[n % len(FORMATS)]
        image = backup_screen(words, style, size, seed=n)
        cases.append({"words": words, "style": style, "size": size, "format": fmt,
                      "content_type": content_type, "bytes": encode(image, fmt, **options)})
    return cases


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def read(path: Path, content_type: str) -> tuple[float, float, str, str]:
    """Wall and CPU seconds of one upload's OCR (the child process), its status and text."""
    start, cpu = time.perf_counter(), _child_cpu()
    result = await extract_text(path, content_type, ocr_budget_s=OCR_TIMEOUT_S)
    return time.perf_counter() - start, _child_cpu() - cpu, result.status, result.text


def words_in_order(text: str, words: list[str]) -> bool:
    tokens = [t for t in "".join(c if c.isalpha() else " " for c in text.lower()).split()]
    return " ".join(words) in " ".join(tokens)


def false_positives() -> dict[str, int]:
    """``loose_phrases`` on ordinary text, which holds no seed phrase: the docs, help-center
    articles and (where ../shared/data is) real customer messages, 20 to a block as a screenshot
    of a chat would show them. Every hit would withhold a customer's harmless screenshot."""
    blocks = [path.read_text("utf-8") for pattern in ("docs/*.md", "kefu/demo/kb/**/*.md")
              for path in sorted(ROOT.glob(pattern)) if path.name != "assistant-transcripts.md"]
    shared = ROOT.parent / "shared" / "data"
    if shared.is_dir():
        from tests.guard.corpus_real import real_messages

        messages = [text for _source, text in real_messages(shared)]
        blocks += ["\n".join(messages[i:i + 20]) for i in range(0, len(messages), 20)]
    return {"blocks": len(blocks), "hits": sum(bool(loose_phrases(b)) for b in blocks)}


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--screens", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n, case in enumerate(screens(args.screens, args.seed)):
            path = Path(tmp) / f"screen{n}"
            path.write_bytes(case["bytes"])  # type: ignore[arg-type]
            seconds, cpu, status, text = await read(path, str(case["content_type"]))
            words: list[str] = case["words"]  # type: ignore[assignment]
            style: Style = case["style"]  # type: ignore[assignment]
            rows.append({"seconds": round(seconds, 2), "cpu_s": round(cpu, 2), "status": status,
                         "exact": words_in_order(text, words),
                         "caught": "seed_phrase" in scan(text).kinds,
                         "caught_ocr": "seed_phrase" in scan_ocr(text).kinds,
                         "context": bool(style.title) and style.title != "Back up your wallet",
                         "font": style.font.name if style.font else "default",
                         "text_size": style.size, "size": case["size"], "format": case["format"],
                         "numbered": style.numbered})
            print(f"{n:2} {rows[-1]['font']:28} {style.size:3} {case['format']:5} "
                  f"{rows[-1]['seconds']:5.2f}s cpu {rows[-1]['cpu_s']:5.2f}s "
                  f"exact={rows[-1]['exact']!s:5} caught={rows[-1]['caught']!s:5} "
                  f"caught_ocr={rows[-1]['caught_ocr']!s:5} context={rows[-1]['context']}")
            if not rows[-1]["caught_ocr"]:
                print("    read:", " | ".join(text.splitlines()))
        timings = {}
        fonts = latin_fonts()
        phone = backup_screen(Mnemonic("english").generate(128).split(), Style(font=fonts[0]))
        desk = document_screen([f"Deposit {n}: 250 USDT TxID 0x{'%064x' % (n * 7919)}"
                                for n in range(12)], fonts[0])
        for name, image in (("phone_1170x2532", phone), ("desktop_1920x1080", desk)):
            path = Path(tmp) / name
            path.write_bytes(encode(image))
            runs = [await read(path, "image/png") for _ in range(3)]
            timings[name] = {"wall_s": [round(r[0], 2) for r in runs],
                             "cpu_s": [round(r[1], 2) for r in runs]}
            print(f"{name}: {timings[name]}")
    summary = {
        "screens": len(rows),
        "exact": sum(r["exact"] for r in rows),
        "caught_scan": sum(r["caught"] for r in rows),
        "caught_scan_ocr": sum(r["caught_ocr"] for r in rows),
        "without_context": sum(not r["context"] for r in rows),
        "caught_scan_without_context": sum(r["caught"] for r in rows if not r["context"]),
        "caught_scan_ocr_without_context": sum(r["caught_ocr"] for r in rows
                                               if not r["context"]),
        "median_wall_s": statistics.median(r["seconds"] for r in rows),
        "median_cpu_s": statistics.median(r["cpu_s"] for r in rows),
        "max_wall_s": max(r["seconds"] for r in rows),
        "timings": timings,
        "false_positive_blocks": false_positives(),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    asyncio.run(main())
