"""The FastAPI application factory: mounts each domain's router, the web pages, and the
plumbing (errors, logs, metrics, size limits). Engines and clients live in the lifespan."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from functools import partial
from typing import Any

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CollectorRegistry
from sqlalchemy.exc import DBAPIError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Scope

from kefu import __version__
from kefu.accounts.api import router as accounts_router
from kefu.assistant.service import AssistantHost
from kefu.assistant.service import register_jobs as register_assistant_jobs
from kefu.channels.delivery import register_jobs as register_channel_jobs
from kefu.channels.email_listener import start_smtp_listener
from kefu.channels.email_out import register_jobs as register_email_jobs
from kefu.channels.telegram import router as telegram_router
from kefu.channels.telegram_notices import register_jobs as register_telegram_jobs
from kefu.channels.telegram_send import send as send_telegram
from kefu.config import Settings
from kefu.core.errors import KefuError
from kefu.core.gc_tuning import freeze_after_startup
from kefu.core.logging import configure_logging, get_logger
from kefu.core.middleware import (
    BodySizeLimitMiddleware,
    BodyTooLarge,
    NulInBody,
    RequestContextMiddleware,
)
from kefu.core.periodic import Periodic
from kefu.db import Database
from kefu.exchange.service import build_exchange_adapter
from kefu.jobs.runner import JobRegistry, create_job_runner
from kefu.kb.api import router as kb_router
from kefu.kb.indexing import index_dir, warm_up
from kefu.kb.rerender import rerender_in_background
from kefu.kb.status_api import router as status_router
from kefu.kb.views import ViewCounter
from kefu.ops.api import router as ops_router
from kefu.realtime.analysis import ChatAnalyzer
from kefu.realtime.broker import create_broker
from kefu.realtime.budget import create_send_budget
from kefu.realtime.hub import Hub
from kefu.realtime.metrics import ChatMetrics, LoopLag
from kefu.realtime.presence import PresenceKeeper
from kefu.realtime.protocol import Close
from kefu.realtime.queue import QueueWatcher
from kefu.realtime.supervisor import SupervisorFeed
from kefu.realtime.writer import MessageWriter
from kefu.realtime.ws import router as realtime_router
from kefu.tickets.api import router as tickets_router
from kefu.tickets.attachments import AttachmentStore
from kefu.tickets.uploads import sweep_unsent
from kefu.trust.api import mount as mount_trust
from kefu.web.mail import render_mail
from kefu.web.pages import mount_web
from kefu.web.render import error_page
from kefu.web.uploads import MAX_FILES_PER_MESSAGE
from kefu.webhooks.api import router as webhooks_router
from kefu.webhooks.service import register_jobs as register_webhook_jobs

log = get_logger("kefu.app")
UPLOAD_SWEEP_EVERY_S = 3600.0
PAGE_PATHS = re.compile(r"^/(help|portal|agent)(/|$)")
# Routes that take one file, and page forms that take up to MAX_FILES_PER_MESSAGE of them
# (each file is held to the attachment limit as it is stored).
UPLOAD_PATHS = re.compile(r"/attachments$|^/agent/kb/media$")
FORM_UPLOAD_PATHS = re.compile(
    r"^/portal/tickets(/new|/[^/]+/reply)$|^/agent/tickets/[^/]+/reply$")
FORM_OVERHEAD = 256 * 1024  # the form's other fields and the multipart framing


def wants_html(request: Request) -> bool:
    """A browser's request (its ``Accept`` names HTML), not an API client's."""
    return "text/html" in request.headers.get("accept", "").lower()


def _page_language(scope: Scope) -> str:
    """The reader's language for a page the body-size limit answers (before any route ran)."""
    from kefu.web.i18n import choose_language

    return choose_language(Request(scope))


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **extra}}


def build_registry() -> JobRegistry:
    registry = JobRegistry()
    register_webhook_jobs(registry)
    # Each channel that delivers what support writes adds its sender here.
    send_email = register_email_jobs(registry, render_mail)
    register_channel_jobs(registry, {"email": send_email, "telegram": send_telegram})
    register_telegram_jobs(registry)
    return registry


async def _warm_search(settings: Settings) -> None:
    """The help center's first search without the model's load time (``indexing.warm_up``)."""
    try:
        if await anyio.to_thread.run_sync(warm_up, index_dir(settings)):
            log.info("search_warmed_up")
    except Exception as exc:  # noqa: BLE001 - the first search loads it instead
        log.warning("search_warm_up_failed", error=type(exc).__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings.log_level, json=settings.log_json)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        db = Database(settings.resolved_database_url)
        db.settings = settings
        app.state.db = db
        app.state.exchange = build_exchange_adapter(settings)
        runner = create_job_runner(db, app.state.job_registry, settings)
        app.state.jobs = runner
        if settings.jobs_enabled:
            await runner.start()
        hub = Hub(send_budget=create_send_budget(settings.redis_url))
        broker = create_broker(settings.redis_url)
        await broker.start(hub.dispatch, on_resume=hub.resync)
        db.publish = hub.publish = broker.publish
        chat_metrics: ChatMetrics = app.state.chat_metrics
        loop_lag = LoopLag(chat_metrics)
        loop_lag.start()
        writer = MessageWriter(db, chat_metrics)
        await writer.start()
        analyzer = ChatAnalyzer(enabled=settings.uses_analysis_worker, metrics=chat_metrics)
        await analyzer.start()
        app.state.analyzer = analyzer
        queue_watcher = QueueWatcher(db)
        await queue_watcher.start()
        app.state.hub, app.state.broker, app.state.writer = hub, broker, writer
        app.state.queue_watcher = queue_watcher
        supervisor_feed = SupervisorFeed(db, hub)
        await supervisor_feed.start()
        app.state.supervisor_feed = supervisor_feed
        presence = PresenceKeeper(db, hub)
        await presence.start()
        # Uploads never sent go after KEFU_UNSENT_UPLOAD_KEEP_HOURS (kefu/tickets/uploads.py).
        upload_sweep = Periodic(
            UPLOAD_SWEEP_EVERY_S, partial(sweep_unsent, db, AttachmentStore(settings),
                                          keep_hours=settings.unsent_upload_keep_hours),
            name="kefu-upload-sweep", log=log, failure_event="upload_sweep_failed")
        upload_sweep.start()
        # Inbound email (docs/channels.md): filed before the SMTP server answers DATA.
        smtp_listener = (await start_smtp_listener(db, settings) if settings.smtp_listen
                         else None)
        app.state.smtp_listener = smtp_listener
        log.info("started", database=db.engine.dialect.name, version=__version__,
                 broker=type(broker).__name__, gc_frozen=freeze_after_startup())
        warming = asyncio.create_task(_warm_search(settings), name="kefu-search-warm-up")
        # Articles saved before the renderer last changed get its HTML (kefu/kb/rerender.py).
        rerendering = asyncio.create_task(rerender_in_background(db), name="kefu-kb-rerender")
        try:
            yield
        finally:
            warming.cancel()
            rerendering.cancel()
            with suppress(asyncio.CancelledError):
                await rerendering
            # Graceful shutdown: uvicorn has stopped accepting and drained requests; tell
            # websocket clients to come back (they resume from their last seq), write what is
            # queued, finish the running job, then close clients and the pool.
            if smtp_listener is not None:
                await smtp_listener.stop()
            await hub.close_all(Close.GOING_AWAY, "server restarting")
            await upload_sweep.stop()
            await presence.stop()
            await supervisor_feed.stop()
            await queue_watcher.stop()
            await writer.stop()
            await analyzer.stop()
            loop_lag.stop()
            await broker.stop()
            if hub.send_budget is not None:
                await hub.send_budget.aclose()
            db.publish = None
            await runner.stop()
            await app.state.assistant_host.aclose()
            await app.state.exchange.aclose()
            await db.dispose()
            log.info("stopped")

    app = FastAPI(
        title="Kefu",
        version=__version__,
        description="Customer service for cryptocurrency exchanges. Errors are "
        '`{"error": {"code", "message"}}`.',
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.metrics_registry = CollectorRegistry()
    app.state.chat_metrics = ChatMetrics(app.state.metrics_registry)
    app.state.job_registry = build_registry()
    # The assistant looks customers up through the app's adapter (built in the lifespan, closed
    # there once): one circuit breaker per process for the console and the assistant.
    app.state.assistant_host = register_assistant_jobs(
        app.state.job_registry, AssistantHost.sharing(lambda: app.state.exchange))
    app.state.article_views = ViewCounter()

    @app.exception_handler(KefuError)
    async def kefu_error(_: Request, exc: KefuError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse(error_body(exc.code, exc.message), status_code=exc.status,
                            headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return JSONResponse(error_body("malformed_json", "request body is not valid JSON"),
                                status_code=400)
        details = [{"loc": ".".join(str(p) for p in e.get("loc", ())),
                    "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
                   for e in errors[:20]]
        first = details[0] if details else {"loc": "", "msg": "invalid"}
        message = f"{first['loc']}: {first['msg']}" if first["loc"] else first["msg"]
        return JSONResponse(error_body("invalid_input", message, details=details),
                            status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if isinstance(exc.__cause__, BodyTooLarge):
            return JSONResponse(error_body("payload_too_large", "request body is too large"),
                                status_code=413)
        if isinstance(exc.__cause__, NulInBody):
            return JSONResponse(error_body("invalid_characters",
                                           "the request contains a NUL character"),
                                status_code=400)
        if (exc.status_code == 404 and request.method in ("GET", "HEAD")
                and PAGE_PATHS.match(request.url.path)):
            # No such page under the help center, the portal or the console: their 404 page,
            # in the reader's language, not the API's JSON.
            return error_page(request, KefuError("page not found", code="not_found",
                                                 status=404))
        if (exc.status_code == 405 and PAGE_PATHS.match(request.url.path)
                and wants_html(request)):
            # A form's address opened in a browser (GET /portal/logout): an error page like the
            # 404's, in the reader's language, with the methods it takes (``Allow``).
            page = error_page(request, KefuError("method not allowed",
                                                 code="method_not_allowed", status=405))
            page.headers.update(getattr(exc, "headers", None) or {})
            return page
        codes = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                 405: "method_not_allowed", 413: "payload_too_large",
                 415: "unsupported_media_type"}
        code = codes.get(exc.status_code, f"http_{exc.status_code}")
        return JSONResponse(error_body(code, str(exc.detail)), status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(DBAPIError)
    async def data_error(request: Request, exc: DBAPIError) -> JSONResponse:
        # SQLSTATE class 22 (data exception: NUL bytes, untranslatable characters, numeric
        # overflow) means the input was bad, not the server; anything else is a server error.
        sqlstate = str(getattr(exc.orig, "sqlstate", "") or getattr(exc.orig, "pgcode", "") or "")
        message = str(exc.orig).lower()
        if sqlstate.startswith("22") or "too large" in message or "overflow" in message:
            return JSONResponse(error_body("invalid_input", "a value is not acceptable"),
                                status_code=422)
        return await unexpected_error(request, exc)

    @app.exception_handler(IntegrityError)
    async def integrity_error(_: Request, exc: IntegrityError) -> JSONResponse:
        log.warning("integrity_error", error=str(exc.orig)[:300])
        return JSONResponse(error_body("conflict", "the change conflicts with existing data"),
                            status_code=409)

    @app.exception_handler(Exception)
    async def unexpected_error(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled_error", error_type=type(exc).__name__)
        return JSONResponse(error_body("internal_error", "something went wrong on our side"),
                            status_code=500)

    app.include_router(ops_router)
    app.include_router(accounts_router)
    app.include_router(tickets_router)
    app.include_router(webhooks_router)
    app.include_router(kb_router)
    app.include_router(status_router)
    app.include_router(realtime_router)
    app.include_router(telegram_router)  # /channels/telegram/webhook
    mount_trust(app)  # /api/v1/verify, /api/v1/trust/*, rate limiter, 429 + Retry-After
    if settings.bench_echo:
        from kefu.bench.echo import router as echo_router

        app.include_router(echo_router)
    mount_web(app)

    app.add_middleware(BodySizeLimitMiddleware, default_limit=settings.max_request_bytes,
                       upload_limits=[
                           (UPLOAD_PATHS, settings.max_attachment_bytes + FORM_OVERHEAD),
                           (FORM_UPLOAD_PATHS, MAX_FILES_PER_MESSAGE
                            * settings.max_attachment_bytes + FORM_OVERHEAD)],
                       page_language=_page_language)
    app.add_middleware(RequestContextMiddleware, registry=app.state.metrics_registry)
    return app
