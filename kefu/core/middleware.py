"""ASGI middleware: request ids and access logs, Prometheus metrics, request size limits."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Final
from urllib.parse import parse_qsl, unquote_to_bytes, urlencode

import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kefu.core.logging import get_logger

log = get_logger("kefu.http")
REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
SECRET_IN_PATH = re.compile(r"\{(token|secret|key)\}")  # route parameters never logged


class RequestContextMiddleware:
    """Binds a request id (from ``X-Request-ID`` if sane, else new) to every log line of the
    request, echoes it in the response, logs one access line, and records metrics."""

    def __init__(self, app: ASGIApp, registry: CollectorRegistry) -> None:
        self.app = app
        self.requests = Counter("kefu_http_requests_total", "HTTP requests",
                                ["method", "route", "status"], registry=registry)
        self.latency = Histogram("kefu_http_request_duration_seconds", "HTTP request latency",
                                 ["method", "route"], registry=registry)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        incoming = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"],
                                      (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "")
            self.requests.labels(method, template, str(status)).inc()
            self.latency.labels(method, template).observe(elapsed)
            state = scope.get("state") or {}
            if template not in ("/healthz", "/metrics"):
                # A secret in the path (a step-up link's token) is logged as its route.
                path = template if SECRET_IN_PATH.search(template) else scope.get("path")
                log.info("request", method=method, path=path, route=template,
                         status=status, duration_ms=round(elapsed * 1000, 2),
                         actor=state.get("actor_label"))
            structlog.contextvars.clear_contextvars()


class BodyTooLarge(Exception):
    pass


# Paths answered with HTML pages (the rest is the API, websockets and files).
PAGE_PREFIXES = ("/help", "/portal", "/agent", "/verify", "/demo")


class NulInBody(Exception):
    """A JSON body with ``\u0000``: PostgreSQL cannot store it, so no database may."""


class BodySizeLimitMiddleware:
    """400 for NUL characters in the URL; 413 for bodies over the limit, whether announced by
    Content-Length or streamed. ``upload_limits``: (path pattern, limit) for the routes that
    take files, the first that matches (a file; a form with several); everything else gets the
    (small) request limit."""

    def __init__(self, app: ASGIApp, *, default_limit: int,
                 upload_limits: Sequence[tuple[re.Pattern[str], int]],
                 page_language: Callable[[Scope], str] | None = None) -> None:
        self.app = app
        self.default_limit = default_limit
        self.upload_limits = tuple(upload_limits)
        self.page_language = page_language

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # NUL never belongs in a URL, and PostgreSQL refuses it in text. The API says so; a
        # page drops it from the query (its forms drop control characters anyway) and answers
        # with a page, not with JSON.
        query: bytes = scope.get("query_string", b"")
        path: str = scope.get("path", "")
        nul_in_query = b"%00" in query and b"\x00" in unquote_to_bytes(query)
        if nul_in_query or "\x00" in path:
            if "\x00" in path or not path.startswith(PAGE_PREFIXES):
                await _error(send, 400, "invalid_characters", "the URL contains a NUL character")
                return
            scope = {**scope, "query_string": urlencode(
                [(key, value.replace("\x00", "")) for key, value in
                 parse_qsl(query.decode("latin-1"), keep_blank_values=True)]).encode()}
        limit = next((size for pattern, size in self.upload_limits if pattern.search(path)),
                     self.default_limit)
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > limit
            except ValueError:
                await _error(send, 400, "bad_request", "Content-Length is not a number")
                return
            if too_big:
                await self._too_large(scope, send, limit)
                return
        received = 0
        started = False
        is_json = b"json" in headers.get(b"content-type", b"")
        tail = b""

        async def limited_receive() -> Message:
            nonlocal received, tail
            message = await receive()
            if message["type"] == "http.request":
                body = message.get("body", b"")
                received += len(body)
                if received > limit:
                    raise BodyTooLarge
                if is_json:
                    window = tail + body
                    if b"\\u0000" in window:
                        raise NulInBody
                    tail = window[-5:]
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._too_large(scope, send, limit)

    async def _too_large(self, scope: Scope, send: Send, limit: int) -> None:
        """413: the API's JSON error, or for a page's form (an upload on the media page, a
        reply with files) a page in the reader's language: the browser shows what it gets."""
        path: str = scope.get("path", "")
        if not path.startswith(PAGE_PREFIXES):
            await _error(send, 413, "payload_too_large",
                         f"request body is larger than {limit} bytes")
            return
        language = self.page_language(scope) if self.page_language else "en"
        text = _TOO_LARGE["zh" if language.startswith("zh") else "en"]
        body = _TOO_LARGE_PAGE.format(lang=language, title=text[0], message=text[1].format(
            mb=max(1, limit // (1024 * 1024)))).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"text/html; charset=utf-8"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


_TOO_LARGE_PAGE = """<!doctype html><html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>
<link rel="stylesheet" href="/static/kefu.css"></head><body><main class="container narrow">
<div class="alert alert-error" role="alert"><p>{message}</p></div></main></body></html>"""
_TOO_LARGE: Final = {
    "en": ("File too large", "The files are too large: one upload may carry {mb} MB in all. "
           "Go back and choose fewer or smaller files."),
    "zh": ("文件太大",
           "文件太大：一次上传的文件合计不能超过 {mb} MB。请返回，少选或选择较小的文件。"),
}


async def _error(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
