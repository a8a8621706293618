"""Images and videos for articles: uploaded by editors, stored under ``DATA_DIR/kb-media`` by
content hash, served publicly at ``/help/media/<name>``.

Content-addressed (the name is the SHA-256 of the bytes), so a file never changes behind its
URL and may be cached for a year; the same screenshot uploaded twice is stored once. The type
is sniffed from the bytes, never taken from the browser."""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from kefu.config import Settings
from kefu.core.errors import InvalidInput, KefuError
from kefu.kb.render import MEDIA_PREFIX
from kefu.tickets.attachments import AttachmentTooLarge, sniff

MEDIA_TYPES = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif",
               "image/webp": "webp", "video/mp4": "mp4", "video/webm": "webm"}
CONTENT_TYPES = {ext: content_type for content_type, ext in MEDIA_TYPES.items()}
NAME = re.compile(r"^[0-9a-f]{32}\.(png|jpg|gif|webp|mp4|webm)$")


class MediaTypeNotAllowed(KefuError):
    """Not one of the types articles show (ticket attachments accept more: PDF, text)."""

    def __init__(self, kind: str) -> None:
        super().__init__(f"files of type '{kind}' are not accepted: use PNG, JPEG, GIF, WebP, "
                         "MP4 or WebM", code="kb_media_type", status=415)


@dataclass(frozen=True)
class MediaFile:
    name: str
    content_type: str
    size: int

    @property
    def url(self) -> str:
        return MEDIA_PREFIX + self.name

    def markdown(self, alt: str) -> str:
        """What an editor pastes into an article (the renderer turns a video into a player)."""
        label = alt.replace("[", "").replace("]", "").strip() or self.name
        return f"![{label}]({self.url})"


class MediaStore:
    def __init__(self, settings: Settings) -> None:
        self.root = settings.data_dir / "kb-media"
        self.limit = settings.max_attachment_bytes

    def path_for(self, name: str) -> Path | None:
        return self.root / name if NAME.match(name) else None

    async def save(self, chunks: AsyncIterator[bytes]) -> MediaFile:
        """Store the upload; refused before anything is kept if too large or not an image or
        video of an allowed type."""
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f".{uuid.uuid4().hex}.part"
        digest = hashlib.sha256()
        size, head = 0, b""
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
            if size == 0:
                raise InvalidInput("the file is empty", code="empty_file")
            content_type = sniff(head)
            if content_type not in MEDIA_TYPES:
                raise MediaTypeNotAllowed(content_type)
            name = f"{digest.hexdigest()[:32]}.{MEDIA_TYPES[content_type]}"
            tmp.replace(self.root / name)
        finally:
            tmp.unlink(missing_ok=True)
        return MediaFile(name=name, content_type=content_type, size=size)
