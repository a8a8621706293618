"""Attachment storage: bytes under ``DATA_DIR/attachments``, type sniffed from content, text
extracted for the secret guard before the file is kept."""

from __future__ import annotations

import hashlib
import mimetypes
import os
import re
import unicodedata
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import filetype

from kefu.config import Settings
from kefu.core.errors import KefuError
from kefu.tickets.attachment_text import ExtractedText, extract_text
from kefu.tickets.schemas import BIDI_CONTROLS

CHUNK = 64 * 1024


class AttachmentTooLarge(KefuError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"attachment is larger than {limit} bytes", code="attachment_too_large",
                         status=413)


class AttachmentTypeNotAllowed(KefuError):
    def __init__(self, kind: str) -> None:
        super().__init__(f"files of type '{kind}' are not accepted", code="attachment_type",
                         status=415)
        self.values = {"kind": kind}


class AttachmentWithheld(KefuError):
    def __init__(self, reason: str) -> None:
        super().__init__(f"this file was not kept: it {reason}", code="attachment_withheld",
                         status=410)


@dataclass(frozen=True, slots=True)
class StoredFile:
    storage_key: str
    content_type: str
    size: int
    sha256: str
    text: ExtractedText


# Text that opens like markup (after a byte order mark and white space): a tag, a comment, a
# doctype or an XML declaration. A browser that sniffs would render it as HTML or SVG (the
# WHATWG sniffing rules treat "<!--" alone as HTML), so it is refused, not kept as text.
MARKUP_START = re.compile(rb"(?:\xef\xbb\xbf)?[\t\n\x0c\r ]*<[A-Za-z!?/]")

# The extensions a kept file's name may end in, by its sniffed type (else the first is added).
EXTENSIONS: dict[str, tuple[str, ...]] = {
    "image/png": (".png",),
    "image/jpeg": (".jpg", ".jpeg", ".jpe", ".jfif"),
    "image/gif": (".gif",),
    "image/webp": (".webp",),
    "image/bmp": (".bmp",),
    "image/tiff": (".tif", ".tiff"),
    "video/mp4": (".mp4", ".m4v"),
    "video/webm": (".webm",),
    "video/quicktime": (".mov", ".qt"),
    "application/pdf": (".pdf",),
    "text/plain": (".txt", ".log", ".text"),
}


def sniff(head: bytes) -> str:
    """The content type from the bytes themselves; the client's claim is ignored."""
    kind = filetype.guess(head)
    if kind is not None:
        return str(kind.mime)
    if not head:
        return "application/x-empty"
    sample = head[:8192]
    if b"\x00" in sample:
        return "application/octet-stream"
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the sample's end is still text.
        if exc.start < len(sample) - 4:
            return "application/octet-stream"
    if MARKUP_START.match(sample):
        return "text/html"
    return "text/plain"


def safe_filename(name: str | None) -> str:
    name = unicodedata.normalize("NFC", (name or "file").replace("\\", "/").rsplit("/", 1)[-1])
    name = BIDI_CONTROLS.sub("", re.sub(r"[\x00-\x1f\x7f\"<>:|?*]", "", name)).strip(" .") or "file"
    return name[:200]


def name_for_type(name: str, content_type: str) -> str:
    """``name`` ending in an extension of ``content_type`` (for images and videos, of any image
    or video type: a PNG called ``.jpg`` still opens as a picture): a PNG called
    ``invoice.html`` is kept as ``invoice.html.png``, so whoever saves and opens it gets an
    image, never a page or a program (a download is only as safe as the name it is saved
    under)."""
    extensions = EXTENSIONS.get(content_type) or tuple(
        sorted(mimetypes.guess_all_extensions(content_type)))
    if not extensions:
        return name
    family = content_type.split("/")[0] + "/"
    fitting = extensions
    if family in ("image/", "video/"):
        fitting += tuple(e for kind, exts in EXTENSIONS.items() if kind.startswith(family)
                         for e in exts)
    if name.lower().endswith(fitting):
        return name
    return name[: 200 - len(extensions[0])] + extensions[0]


class AttachmentStore:
    """Content-addressed by a random key; written to a temp file then renamed (no half files)."""

    def __init__(self, settings: Settings) -> None:
        self.root = settings.attachments_dir
        self.limit = settings.max_attachment_bytes
        self.allowed = set(settings.allowed_attachment_types)
        self.ocr_budget_s = settings.ocr_timeout_s if settings.ocr else None

    def path_for(self, storage_key: str) -> Path:
        if not re.fullmatch(r"[0-9a-f]{2}/[0-9a-f]{32}", storage_key):
            raise ValueError("bad storage key")
        return self.root / storage_key

    async def save(self, chunks: AsyncIterator[bytes]) -> StoredFile:
        """Raises before anything is kept if the file is too large or of a type that is not
        allowed. The text is extracted before the file takes its place, so a crash while a
        hostile PDF or image is read leaves no file behind."""
        key_hex = uuid.uuid4().hex
        storage_key = f"{key_hex[:2]}/{key_hex}"
        final = self.path_for(storage_key)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.with_suffix(".part")
        digest = hashlib.sha256()
        size = 0
        head = b""
        try:
            with tmp.open("wb") as out:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > self.limit:
                        raise AttachmentTooLarge(self.limit)
                    if len(head) < 8192:
                        head += chunk[: 8192 - len(head)]
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            content_type = sniff(head)
            if content_type not in self.allowed:
                raise AttachmentTypeNotAllowed(content_type)
            text = await extract_text(tmp, content_type, ocr_budget_s=self.ocr_budget_s)
            tmp.replace(final)
        finally:
            tmp.unlink(missing_ok=True)
        return StoredFile(storage_key, content_type, size, digest.hexdigest(), text)

    def delete(self, storage_key: str) -> None:
        self.path_for(storage_key).unlink(missing_ok=True)
