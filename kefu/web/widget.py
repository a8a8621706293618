"""The customer chat widget and the development demo exchange.

``/widget.js`` is the one URL an exchange embeds (``<script src=".../widget.js" data-…>``, see
the comment at the top of ``static/widget/widget.js``). It is served with the release version,
the widget's text in every UI language (the catalogs' ``widget.*`` keys) and this server's upload
limits (``max_attachment_bytes``, ``allowed_attachment_types``) filled in, so the file picker
and the widget's checks agree with what the upload endpoint accepts. Its URL carries no
version, so it is cached briefly and revalidated with an ETag, which changes with the script,
the catalogs and the limits; the stylesheet it loads is versioned and cached for a day like
every other static file.

The widget runs on the exchange's own origin and calls the few REST endpoints it needs
(visitor id, attachments, transcript, rating) across origins. Its credentials travel in headers
(``Authorization: Bearer <customer JWT>``, ``X-Kefu-Visitor``), never in cookies, so those
endpoints answer CORS for any origin and never with credentials: a page can do with them only
what a token it already holds allows.

``/demo/exchange`` plays an exchange's website with the widget embedded: in development only,
its server side issues a short-lived customer JWT the way the exchange's backend would."""

from __future__ import annotations

import hashlib
import json
import mimetypes
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kefu import __version__
from kefu.accounts.security import issue_customer_jwt
from kefu.config import Settings
from kefu.core import clock
from kefu.core.errors import InvalidInput, NotFound
from kefu.core.http import SettingsDep
from kefu.tickets.attachments import EXTENSIONS
from kefu.web import i18n
from kefu.web import uploads as form_uploads
from kefu.web.render import STATIC_DIR, PageRoute, render

WIDGET_DIR = STATIC_DIR / "widget"
WIDGET_SCRIPT = WIDGET_DIR / "widget.js"
VERSION_PLACEHOLDER = "__KEFU_VERSION__"
STRINGS_PLACEHOLDER = "{/*__KEFU_STRINGS__*/}"  # valid JS as it stands: an empty table
UPLOADS_PLACEHOLDER = "{/*__KEFU_UPLOADS__*/}"  # likewise: no limits known, the server decides
WIDGET_KEY_PREFIX = "widget."
WIDGET_CACHE_CONTROL = "public, max-age=300, stale-while-revalidate=86400"

# Demo customers (development only). The default id is not one ``kefu demo`` seeds, so the
# demo starts with an empty conversation; ``?customer=demo-0001`` chats as a seeded customer.
DEMO_CUSTOMER_ID = "demoex-0001"
DEMO_CUSTOMER_NAME = "Demo Trader"
DEMO_TOKEN_LIFETIME_S = 600
DEMO_CUSTOMER_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")

# The REST endpoints the widget calls from the host page's origin (with the help center's
# suggestions for a first message, its deflection outcome, and the status page's banner).
WIDGET_API_PATHS = re.compile(
    r"^/api/v1/(?:visitors|attachments/[^/]+"
    r"|tickets/[^/]+(?:/(?:attachments|transcript|rating))?"
    r"|kb/suggestions|kb/deflections/[^/]+/submitted|status)$"
)
CORS_ALLOW_HEADERS = "Authorization, Content-Type, X-Kefu-Visitor"
CORS_MAX_AGE_S = 600

router = APIRouter(include_in_schema=False)
demo_router = APIRouter(route_class=PageRoute, include_in_schema=False)


def mount_widget(app: FastAPI) -> None:
    """Everything the widget needs: its script, the demo page and CORS for its endpoints."""
    app.include_router(router)
    app.include_router(demo_router)
    app.add_middleware(WidgetCorsMiddleware)


# ---------------------------------------------------------------- /widget.js


@dataclass(frozen=True)
class WidgetSource:
    body: bytes
    etag: str


_source_cache: dict[tuple[Path, int, int, str, str], WidgetSource] = {}


def widget_strings(messages: Mapping[str, Mapping[str, str]]) -> str:
    """The widget's text as a JSON object, ``{"en": {"send": "Send", …}, "zh-CN": {…}}``:
    the ``widget.*`` keys without their prefix, English standing in for a missing translation
    as ``i18n.Translator`` does for pages."""
    english = _widget_keys(messages[i18n.DEFAULT_LANGUAGE])
    table = {language: {**english, **_widget_keys(messages[language])}
             for language in i18n.SUPPORTED}
    return json.dumps(table, ensure_ascii=False, sort_keys=True)


def _widget_keys(messages: Mapping[str, str]) -> dict[str, str]:
    return {key.removeprefix(WIDGET_KEY_PREFIX): text for key, text in messages.items()
            if key.startswith(WIDGET_KEY_PREFIX)}


@lru_cache(maxsize=1)
def shipped_widget_strings() -> str:
    return widget_strings(i18n.catalogue())


def file_extensions(content_type: str) -> list[str]:
    """The file name extensions of a MIME type (``.jpg``, ``.jpeg``, …), the ones the
    attachment store keeps first: what a file picker offers and what names a file whose type
    the browser does not know."""
    known = EXTENSIONS.get(content_type)
    if known:
        return list(known)
    return sorted(mimetypes.guess_all_extensions(content_type, strict=False))


def widget_uploads(settings: Settings) -> str:
    """What the upload endpoint accepts, as a JSON object for the widget:
    ``{"max_bytes": 26214400, "max_files": 10, "types": {"image/png": [".png"], …}}``, from
    the same settings the attachment store enforces (``max_attachment_bytes``,
    ``allowed_attachment_types``) and the server's ``MAX_FILES_PER_MESSAGE`` (read at each
    call, so the widget's count and the server's cannot drift)."""
    return json.dumps({
        "max_bytes": settings.max_attachment_bytes,
        "max_files": form_uploads.MAX_FILES_PER_MESSAGE,
        "types": {kind: file_extensions(kind) for kind in settings.allowed_attachment_types},
    })  # in the operator's order, which the widget's refusal follows


def widget_source(path: Path = WIDGET_SCRIPT, strings: str | None = None,
                  uploads: str | None = None) -> WidgetSource:
    """The script with the release version (it versions the stylesheet URL), ``strings``
    (default: the shipped catalogs' ``widget_strings``) and ``uploads`` (``widget_uploads``;
    default: none, the widget then leaves every check to the server) filled in, read again
    only when the file changes (so a development server serves edits at once)."""
    strings = shipped_widget_strings() if strings is None else strings
    uploads = UPLOADS_PLACEHOLDER if uploads is None else uploads
    stat = path.stat()
    key = (path, stat.st_mtime_ns, stat.st_size, strings, uploads)
    cached = _source_cache.get(key)
    if cached is None:
        text = path.read_text(encoding="utf-8").replace(VERSION_PLACEHOLDER, __version__)
        text = text.replace(UPLOADS_PLACEHOLDER, uploads)
        body = text.replace(STRINGS_PLACEHOLDER, strings).encode("utf-8")
        cached = WidgetSource(body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')
        _source_cache.clear()
        _source_cache[key] = cached
    return cached


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    candidates = {part.strip().removeprefix("W/") for part in header.split(",")}
    return "*" in candidates or etag in candidates


@router.api_route("/widget.js", methods=["GET", "HEAD"])
async def widget_script(request: Request, settings: SettingsDep) -> Response:
    source = widget_source(uploads=widget_uploads(settings))
    headers = {
        "Cache-Control": WIDGET_CACHE_CONTROL,
        "ETag": source.etag,
        "X-Content-Type-Options": "nosniff",
        # Any site may embed the widget; these allow `crossorigin`/SRI script tags too.
        "Access-Control-Allow-Origin": "*",
        "Cross-Origin-Resource-Policy": "cross-origin",
    }
    if _etag_matches(request.headers.get("if-none-match"), source.etag):
        return Response(status_code=304, headers=headers)
    body = b"" if request.method == "HEAD" else source.body
    response = Response(body, media_type="text/javascript; charset=utf-8", headers=headers)
    if request.method == "HEAD":
        response.headers["Content-Length"] = str(len(source.body))
    return response


# ---------------------------------------------------------------- CORS for the widget's calls


class WidgetCorsMiddleware:
    """CORS for the widget's REST endpoints (``WIDGET_API_PATHS``) only: any origin, no
    credentials, the headers the widget sends. Their answers always carry the same
    ``Access-Control-Allow-Origin: *`` (so no ``Vary: Origin``). Everything else passes through
    untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not WIDGET_API_PATHS.match(scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope.get("headers", [])}
        if scope["method"] == "OPTIONS" and "origin" in headers \
                and "access-control-request-method" in headers:
            preflight = Response(status_code=204, headers={
                "Access-Control-Allow-Origin": "*",
                "Access-Control-Allow-Methods": "GET, POST",
                "Access-Control-Allow-Headers": CORS_ALLOW_HEADERS,
                "Access-Control-Max-Age": str(CORS_MAX_AGE_S),
            })
            await preflight(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                raw = [(k, v) for k, v in message.get("headers", [])
                       if k.lower() not in (b"access-control-allow-origin",
                                            b"access-control-allow-credentials")]
                raw += [(b"access-control-allow-origin", b"*"),
                        (b"access-control-expose-headers", b"Content-Disposition")]
                message = {**message, "headers": raw}
            await send(message)

        await self.app(scope, receive, send_with_cors)


# ---------------------------------------------------------------- the demo exchange


@dataclass(frozen=True)
class Market:
    pair: str
    price: str
    change: str
    volume: str

    @property
    def rising(self) -> bool:
        return not self.change.startswith("-")


MARKETS: tuple[Market, ...] = (
    Market("BTC/USDT", "67,412.50", "+2.31%", "1.84B"),
    Market("ETH/USDT", "3,521.18", "-0.84%", "912.40M"),
    Market("ETH/BTC", "0.05223", "-1.12%", "18,204 BTC"),
    Market("USDC/USDT", "1.0001", "+0.01%", "402.77M"),
    Market("BTC/USDC", "67,398.00", "+2.27%", "210.05M"),
    Market("SOL/USDT", "172.36", "+4.08%", "388.91M"),
)
DEMO_DEPOSIT_ADDRESS = "TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE"


def _development_only(settings: Settings) -> None:
    if settings.env != "development":
        raise NotFound("page")


def _demo_customer(customer: str) -> str:
    if not DEMO_CUSTOMER_PATTERN.fullmatch(customer):
        raise InvalidInput("customer: use letters, digits and . _ : -", code="invalid_customer")
    return customer


def demo_token(settings: Settings, customer: str, language: str | None = None) -> str:
    """What the exchange's backend does for a signed-in user: a short-lived customer JWT."""
    return issue_customer_jwt(
        secret=settings.customer_jwt_secret.get_secret_value(), sub=customer, now=clock.now(),
        lifetime_s=min(DEMO_TOKEN_LIFETIME_S, settings.customer_jwt_max_lifetime_s),
        name=DEMO_CUSTOMER_NAME if customer == DEMO_CUSTOMER_ID else None, lang=language)


@demo_router.get("/demo/exchange", response_class=HTMLResponse)
async def demo_exchange(
    request: Request,
    settings: SettingsDep,
    customer: Annotated[str, Query(max_length=128)] = DEMO_CUSTOMER_ID,
    chat_as: Annotated[Literal["customer", "visitor"], Query(alias="as")] = "customer",
) -> HTMLResponse:
    """Development only: an exchange's page with the widget, chatting as a signed-in demo
    customer (a JWT in ``data-token``, renewed from ``data-token-url``) or as a visitor."""
    _development_only(settings)
    customer = _demo_customer(customer)
    language = i18n.choose_language(request)
    translate = i18n.Translator(language)
    as_customer = chat_as == "customer"
    return render(request, "demo/exchange.html", {
        "section": "demo",
        "markets": MARKETS,
        "deposit_address": DEMO_DEPOSIT_ADDRESS,
        "customer": customer,
        "as_customer": as_customer,
        "token": demo_token(settings, customer, language) if as_customer else None,
        "quick_questions": [translate(f"demo.quick.{n}") for n in range(1, 5)],
    }, headers={"Cache-Control": "no-store"})


@router.get("/demo/exchange/token")
async def demo_exchange_token(
    settings: SettingsDep,
    customer: Annotated[str, Query(max_length=128)] = DEMO_CUSTOMER_ID,
    lang: Annotated[str | None, Query(max_length=16)] = None,
) -> JSONResponse:
    """Development only: the demo's ``data-token-url``, where the widget renews its token (an
    exchange would check its own session cookie here)."""
    _development_only(settings)
    token = demo_token(settings, _demo_customer(customer), i18n.normalize_language(lang))
    return JSONResponse({"token": token, "expires_in": DEMO_TOKEN_LIFETIME_S},
                        headers={"Cache-Control": "no-store"})
