"""Text pulled out of uploaded files so the secret guard can read what a customer attached.

PDFs are read by pypdf in a child process: a hostile PDF (decompression bombs, deep object
graphs, endless content streams) can only exhaust that process, which has a memory and CPU cap and
is killed after ``PDF_TIMEOUT_S``, never the server's event loop. Only the first
``MAX_PDF_PAGES`` pages and ``MAX_TEXT_CHARS`` characters are read. Plain text is decoded in place.
Images are read by OCR (:mod:`kefu.tickets.ocr`) in the same kind of capped child, when the
caller gives an OCR time budget (``KEFU_OCR``, ``KEFU_OCR_TIMEOUT_S``); at most
``ocr_slots()`` such children run at once. Videos have no text to extract, nor has a scanned
PDF without a text layer (only images are OCR'd)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

TextStatus = Literal["none", "extracted", "partial", "unreadable"]
TEXT_STATUSES: Final = ("none", "extracted", "partial", "unreadable")
MAX_PDF_PAGES: Final = 20
MAX_TEXT_CHARS: Final = 200_000
# What is kept of it (masked) for agents to read; the guard scans all of MAX_TEXT_CHARS.
STORED_TEXT_CHARS: Final = 20_000
PDF_TIMEOUT_S: Final = 10.0
_CHILD_MEMORY_BYTES: Final = 512 * 1024 * 1024
_CHILD_CPU_S: Final = 10
_MODULE: Final = "kefu.tickets.attachment_text"
_OCR_MODULE: Final = "kefu.tickets.ocr"
# Image types OCR reads (those the sniffer names that Pillow decodes; kefu.tickets.ocr maps them).
OCR_TYPES: Final = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp",
                              "image/tiff"})
OCR_TIMEOUT_S: Final = 20.0
# The OCR child stops recognising at its budget (``partial``); it is killed (``unreadable``) this
# long after, in case starting, decoding or the detector alone overran it.
OCR_GRACE_S: Final = 5.0
# One thread per child (the parent's BLAS/OpenMP settings do not leak into it).
_ONE_THREAD: Final = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                      "MKL_NUM_THREADS": "1"}
# The directory holding the ``kefu`` package: the child imports this very copy of it.
_IMPORT_ROOT: Final = Path(__file__).resolve().parents[2]


@dataclass(frozen=True, slots=True)
class ExtractedText:
    """What could be read: ``extracted`` all of it, ``partial`` up to a limit (or up to a broken
    page), ``unreadable`` nothing (broken, encrypted or too slow), ``none`` not a type with
    text."""

    status: TextStatus
    text: str = ""
    ocr: bool = False  # read from an image: misreads are expected (kefu/guard/secret_ocr.py)


NO_TEXT: Final = ExtractedText("none")


async def extract_text(
    path: Path, content_type: str, *, timeout_s: float = PDF_TIMEOUT_S,
    ocr_budget_s: float | None = None,
) -> ExtractedText:
    """The text of the file at ``path``, whose type was sniffed from its bytes. Images are read
    only with an ``ocr_budget_s`` (seconds of OCR per image; None: OCR off)."""
    if content_type == "application/pdf":
        return await _child_text([_MODULE, str(path)], timeout_s)
    if content_type == "text/plain":
        return _plain_text(path)
    if content_type in OCR_TYPES and ocr_budget_s is not None:
        async with ocr_slots():
            read = await _child_text([_OCR_MODULE, str(path), content_type, str(ocr_budget_s)],
                                     ocr_budget_s + OCR_GRACE_S, env=_ONE_THREAD)
        return ExtractedText(read.status, read.text, ocr=True)
    return NO_TEXT


_SLOTS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary())


def ocr_slots() -> asyncio.Semaphore:
    """How many OCR children may run at once in this process: half the cores (at least one), so
    a burst of screenshot uploads queues instead of starting a child each (up to 1.5 GB and a
    core apiece). One semaphore per event loop, as asyncio primitives belong to one."""
    loop = asyncio.get_running_loop()
    slots = _SLOTS.get(loop)
    if slots is None:
        slots = _SLOTS[loop] = asyncio.Semaphore(max(1, (os.cpu_count() or 2) // 2))
    return slots


def _storable(text: str) -> str:
    """``text`` without what PostgreSQL cannot store in a text column (NUL, lone surrogates),
    so what the guard scans is exactly what is kept."""
    return text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def _plain_text(path: Path) -> ExtractedText:
    limit = MAX_TEXT_CHARS * 4  # UTF-8 needs at most 4 bytes a character
    with path.open("rb") as source:
        head = source.read(limit + 1)
    text = _storable(head[:limit].decode("utf-8", "replace"))
    if len(head) > limit or len(text) > MAX_TEXT_CHARS:
        return ExtractedText("partial", text[:MAX_TEXT_CHARS])
    return ExtractedText("extracted", text)


async def _child_text(
    args: list[str], timeout_s: float, *, env: dict[str, str] | None = None
) -> ExtractedText:
    """Run ``python -m args...``, which prints ``{"status", "text"}``; anything else (a crash,
    a cap hit, the deadline) is ``unreadable``."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", *args, cwd=_IMPORT_ROOT,
        env={**os.environ, **env} if env else None,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL)  # readers' warnings may quote the file
    try:
        out, _ = await asyncio.wait_for(process.communicate(), timeout_s)
    except TimeoutError:
        return ExtractedText("unreadable")
    finally:
        if process.returncode is None:  # too slow, or the request was cancelled
            process.kill()
            await process.wait()
    if process.returncode != 0:
        return ExtractedText("unreadable")
    try:
        answer = json.loads(out)
        status, text = answer["status"], answer["text"]
    except (ValueError, KeyError, TypeError):
        return ExtractedText("unreadable")
    if status not in TEXT_STATUSES or not isinstance(text, str):
        return ExtractedText("unreadable")
    return ExtractedText(status, _storable(text)[:MAX_TEXT_CHARS])


def limit_resources(memory_bytes: int = _CHILD_MEMORY_BYTES, cpu_s: int = _CHILD_CPU_S) -> None:
    """Cap the child's address space and CPU time (where the platform has ``resource``)."""
    try:
        import resource
    except ImportError:
        return
    for which, wanted in ((resource.RLIMIT_AS, memory_bytes), (resource.RLIMIT_CPU, cpu_s)):
        _, hard = resource.getrlimit(which)
        soft = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(which, (soft, hard))


def _read_pdf(path: str) -> ExtractedText:
    """Runs in the child. A failure after some pages keeps those pages (``partial``)."""
    import logging

    logging.disable(logging.CRITICAL)
    from pypdf import PdfReader

    parts: list[str] = []
    size = 0
    complete = False
    try:
        pages = PdfReader(path).pages
        count = len(pages)
        for index in range(min(count, MAX_PDF_PAGES)):
            if size > MAX_TEXT_CHARS:
                break
            parts.append(pages[index].extract_text() or "")
            size += len(parts[-1]) + 1
        else:
            complete = count <= MAX_PDF_PAGES
    except Exception:
        if not parts:
            return ExtractedText("unreadable")
    text = "\n".join(parts)
    complete = complete and len(text) <= MAX_TEXT_CHARS
    return ExtractedText("extracted" if complete else "partial", text[:MAX_TEXT_CHARS])


def main(argv: list[str]) -> None:
    limit_resources()
    result = _read_pdf(argv[0])
    sys.stdout.write(json.dumps({"status": result.status, "text": result.text}))


if __name__ == "__main__":
    main(sys.argv[1:])
