"""A fake Telegram Bot API: the real wire format over real HTTP on loopback.

``POST /bot<token>/<method>`` with a JSON, urlencoded or multipart body answers
``{"ok": true, "result": …}`` or ``{"ok": false, "error_code", "description", "parameters"}``;
``GET /file/bot<token>/<file_path>`` serves files registered with :meth:`FakeTelegram.add_file`.
Every call is recorded (method, parameters, uploaded files). :meth:`FakeTelegram.fail_next`
queues faults for a method (429 with ``retry_after``, 403 blocked, 5xx, a hang); chats in
``blocked`` answer 403 like a user who blocked the bot. ``running_fake_telegram()`` serves it
with uvicorn on a free port in a background thread (as ``tests/exchange/fake_backoffice.py``)."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import UploadFile

from tests.servers import serving_in_thread


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    files: dict[str, tuple[str, bytes, str]] = field(default_factory=dict)


@dataclass
class Fault:
    error_code: int
    description: str
    retry_after: int | None = None
    hang_s: float = 0.0


@dataclass
class FakeTelegram:
    base_url: str
    token: str
    calls: list[Call] = field(default_factory=list)
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # file_id -> (path, bytes)
    blocked: set[int] = field(default_factory=set)
    faults: dict[str, list[Fault]] = field(default_factory=dict)
    webhook: dict[str, Any] = field(default_factory=dict)
    # called with the file's path as a download starts (in the server's thread)
    on_download: Callable[[str], None] | None = None
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))

    def add_file(self, content: bytes, *, file_path: str) -> str:
        file_id = f"FILE{len(self.files) + 1}"
        self.files[file_id] = (file_path, content)
        return file_id

    def fail_next(self, method: str, fault: Fault, times: int = 1) -> None:
        self.faults.setdefault(method, []).extend([fault] * times)

    def sent(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]


def _error(code: int, description: str, retry_after: int | None = None) -> JSONResponse:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return JSONResponse(body, status_code=code)


def _ok(result: Any) -> JSONResponse:
    return JSONResponse({"ok": True, "result": result})


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def create_app(state: FakeTelegram) -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    async def params_of(request: Request) -> tuple[dict[str, Any], dict[str, Any]]:
        kind = request.headers.get("content-type", "")
        if kind.startswith("application/json"):
            return await request.json(), {}
        params: dict[str, Any] = {}
        files: dict[str, Any] = {}
        async with request.form() as form:
            for key, value in form.multi_items():
                if isinstance(value, UploadFile):
                    files[key] = (value.filename or "", await value.read(),
                                  value.content_type or "")
                else:
                    try:
                        params[key] = json.loads(value)
                    except ValueError:
                        params[key] = value
        return params, files

    def message(chat_id: Any, **extra: Any) -> dict[str, Any]:
        return {"message_id": next(state._ids), "date": int(time.time()),
                "chat": {"id": int(chat_id), "type": "private"},
                "from": {"id": 1, "is_bot": True, "first_name": "Kefu",
                         "username": "kefu_test_bot"}, **extra}

    @app.post("/bot{token}/{method}")
    async def api(token: str, method: str, request: Request) -> Response:
        if token != state.token:
            return _error(401, "Unauthorized")
        try:
            params, files = await params_of(request)
        except ValueError:
            return _error(400, "Bad Request: can't parse request body")
        state.calls.append(Call(method, params, files))
        queued = state.faults.get(method)
        if queued:
            fault = queued.pop(0)
            if fault.hang_s:
                await asyncio.sleep(fault.hang_s)
            return _error(fault.error_code, fault.description, fault.retry_after)
        chat_id = params.get("chat_id")
        if method in ("sendMessage", "sendPhoto", "sendDocument") and chat_id is None:
            return _error(400, "Bad Request: chat_id is empty")
        if chat_id is not None and int(chat_id) in state.blocked and method.startswith("send"):
            return _error(403, "Forbidden: bot was blocked by the user")
        if method == "getMe":
            return _ok({"id": 1, "is_bot": True, "first_name": "Kefu",
                        "username": "kefu_test_bot"})
        if method == "sendMessage":
            text = params.get("text")
            if not isinstance(text, str) or not text.strip():
                return _error(400, "Bad Request: message text is empty")
            if _utf16_len(text) > 4096:
                return _error(400, "Bad Request: message is too long")
            return _ok(message(chat_id, text=text))
        if method in ("sendPhoto", "sendDocument"):
            field_name = "photo" if method == "sendPhoto" else "document"
            if field_name not in files:
                return _error(400, f"Bad Request: there is no {field_name} in the request")
            return _ok(message(chat_id))
        if method == "deleteMessage":
            return _ok(True)
        if method == "getFile":
            found = state.files.get(str(params.get("file_id")))
            if found is None:
                return _error(400, "Bad Request: invalid file_id")
            path, content = found
            return _ok({"file_id": params["file_id"], "file_unique_id": "u" + path,
                        "file_size": len(content), "file_path": path})
        if method == "setWebhook":
            url = str(params.get("url", ""))
            if not url.startswith(("https://", "http://127.0.0.1")):
                return _error(400, "Bad Request: bad webhook: HTTPS url must be provided for "
                              "webhook")
            state.webhook = params
            return _ok(True)
        return _error(404, "Not Found")

    @app.get("/file/bot{token}/{file_path:path}")
    async def download(token: str, file_path: str) -> Response:
        if token != state.token:
            return _error(401, "Unauthorized")
        for path, content in state.files.values():
            if path == file_path:
                if state.on_download is not None:
                    state.on_download(path)
                return Response(content, media_type="application/octet-stream")
        return _error(404, "Not Found")

    return app


@contextmanager
def running_fake_telegram(*, token: str) -> Iterator[FakeTelegram]:
    """Serve the fake Bot API on loopback for the duration of the block."""

    def build(base_url: str) -> tuple[FakeTelegram, FastAPI]:
        state = FakeTelegram(base_url, token)
        return state, create_app(state)

    with serving_in_thread(build, "fake Telegram") as state:
        yield state
