"""The Telegram Bot API as Kefu uses it: the parts of an ``Update`` we read (pydantic models,
lenient about everything else Telegram may add), and a small client for the methods we call.

The bot token is part of every Bot API URL (``/bot<token>/<method>``), so nothing here puts a
URL, a request or an httpx exception text in an error message: errors say which method failed
and what Telegram answered (``error_code``, ``description``), never where it was sent."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field

from kefu.config import Settings

MAX_TEXT = 4096  # sendMessage's limit, in UTF-16 code units
WEBHOOK_PATH = "/channels/telegram/webhook"
ALLOWED_UPDATES = ("message", "edited_message")  # what setWebhook asks Telegram to send
DOWNLOAD_CHUNK = 64 * 1024


# ---------------------------------------------------------------- updates


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class TgUser(_Lenient):
    id: int
    is_bot: bool = False
    first_name: str = ""
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None


class TgChat(_Lenient):
    id: int
    type: str  # private, group, supergroup, channel (kept open: a new type must not be a 400)


class TgPhotoSize(_Lenient):
    file_id: str
    file_unique_id: str = ""
    width: int = 0
    height: int = 0
    file_size: int | None = None


class TgDocument(_Lenient):
    file_id: str
    file_unique_id: str = ""
    file_name: str | None = None
    mime_type: str | None = None
    file_size: int | None = None


class TgEntity(_Lenient):
    type: str
    offset: int
    length: int


class TgMessage(_Lenient):
    message_id: int
    date: int = 0
    chat: TgChat
    sender: TgUser | None = Field(default=None, alias="from")
    text: str | None = None
    caption: str | None = None
    entities: list[TgEntity] = Field(default_factory=list)
    caption_entities: list[TgEntity] = Field(default_factory=list)
    photo: list[TgPhotoSize] = Field(default_factory=list)
    document: TgDocument | None = None
    reply_to_message: TgMessage | None = None
    edit_date: int | None = None

    @property
    def content(self) -> str:
        """What the person wrote: the text, or a photo's or file's caption."""
        return self.text if self.text is not None else (self.caption or "")


class Update(_Lenient):
    """One update. Kinds other than ``message`` and ``edited_message`` (channel posts, polls,
    callback queries…) parse too and are ignored."""

    update_id: int
    message: TgMessage | None = None
    edited_message: TgMessage | None = None


# ---------------------------------------------------------------- errors


class TelegramError(Exception):
    """A Bot API call that did not succeed. ``error_code`` is Telegram's (or the HTTP status);
    0 when no answer came (a timeout, a refused connection, a body that is not the API's)."""

    def __init__(self, method: str, error_code: int, description: str, *,
                 retry_after: float | None = None) -> None:
        super().__init__(f"telegram {method}: {error_code} {description}".strip())
        self.method = method
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after

    @property
    def transient(self) -> bool:
        """Worth trying again: no answer, a 5xx, or a 429 (after ``retry_after``)."""
        return self.error_code == 0 or self.error_code >= 500 or self.error_code == 429

    @property
    def blocked(self) -> bool:
        """The user blocked the bot or deleted their account: no message will get through."""
        return self.error_code == 403


class FileTooLarge(Exception):
    """A file the bot was asked to fetch is larger than the attachment limit."""


# ---------------------------------------------------------------- client


@dataclass(frozen=True)
class BotApi:
    """Calls one bot's methods through ``http`` (a client owned by the caller)."""

    http: httpx.AsyncClient
    base: str
    token: str
    timeout_s: float

    @classmethod
    def of(cls, settings: Settings, http: httpx.AsyncClient) -> BotApi:
        if settings.telegram_bot_token is None:
            raise RuntimeError("Telegram is not configured (KEFU_TELEGRAM_BOT_TOKEN)")
        return cls(http, settings.telegram_api_base.rstrip("/"),
                   settings.telegram_bot_token.get_secret_value(), settings.telegram_timeout_s)

    async def call(self, method: str, params: Mapping[str, Any] | None = None, *,
                   files: Mapping[str, tuple[str, bytes, str]] | None = None) -> Any:
        """POST a method; its ``result``. JSON body, or multipart when ``files`` are sent (the
        other parameters then go as form fields, objects JSON-encoded as the API expects)."""
        url = f"{self.base}/bot{self.token}/{method}"
        try:
            if files:
                fields = {k: v if isinstance(v, str) else json.dumps(v)
                          for k, v in (params or {}).items()}
                response = await self.http.post(url, data=fields, files=dict(files),
                                                timeout=self.timeout_s)
            else:
                response = await self.http.post(url, json=dict(params or {}),
                                                timeout=self.timeout_s)
        except httpx.HTTPError as exc:
            raise TelegramError(method, 0, f"no answer ({type(exc).__name__})") from None
        return _result(method, response)

    async def download(self, file_path: str, *, limit: int) -> AsyncIterator[bytes]:
        """The file's bytes in chunks; ``FileTooLarge`` past ``limit`` bytes."""
        url = f"{self.base}/file/bot{self.token}/{file_path}"
        size = 0
        try:
            async with self.http.stream("GET", url, timeout=self.timeout_s) as response:
                if response.status_code != 200:
                    raise TelegramError("file download", response.status_code,
                                        "the file could not be fetched")
                async for chunk in response.aiter_bytes(DOWNLOAD_CHUNK):
                    size += len(chunk)
                    if size > limit:
                        raise FileTooLarge(f"larger than {limit} bytes")
                    yield chunk
        except httpx.HTTPError as exc:
            raise TelegramError("file download", 0,
                                f"no answer ({type(exc).__name__})") from None


def _result(method: str, response: httpx.Response) -> Any:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or "ok" not in body:
        raise TelegramError(method, response.status_code if response.status_code != 200 else 0,
                            "the answer is not the Bot API's")
    if body["ok"] is True:
        return body.get("result")
    parameters = body.get("parameters")
    retry_after = parameters.get("retry_after") if isinstance(parameters, dict) else None
    code = body.get("error_code")
    return_code = code if isinstance(code, int) else response.status_code
    raise TelegramError(method, return_code, str(body.get("description", ""))[:300],
                        retry_after=float(retry_after)
                        if isinstance(retry_after, int | float) else None)


def utf16_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units: an emoji counts twice)."""
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """``text`` in pieces of at most ``limit`` UTF-16 units, cut at a paragraph, a line or a
    space when one is in the second half of a piece, else anywhere (never inside a surrogate
    pair). Joining the pieces gives back ``text`` apart from the whitespace at the cuts."""
    pieces: list[str] = []
    rest = text
    while utf16_len(rest) > limit:
        end = _fits(rest, limit)
        cut = end
        for sep in ("\n\n", "\n", " "):
            at = rest.rfind(sep, 0, end)
            if at >= end // 2:
                cut = at
                break
        piece = rest[:cut].rstrip()
        pieces.append(piece if piece else rest[:end])
        rest = rest[cut:].lstrip() if piece else rest[end:]
    if rest.strip() or not pieces:
        pieces.append(rest)
    return pieces


def _fits(text: str, limit: int) -> int:
    """How many characters of ``text`` fit in ``limit`` UTF-16 units."""
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return index
    return len(text)
