"""Rendering pages: the Jinja environment, who is looking (``Viewer``), security headers, and the
route class that turns errors into friendly pages instead of JSON.

Errors on a page are rendered in the page's language with the error's 4xx status; the request's
transaction is rolled back first, so a failed form never half-commits. Error pages read only the
``Viewer`` snapshot, never ORM objects, because those expire with the rollback."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.exceptions import HTTPException as StarletteHTTPException

from kefu import __version__
from kefu.accounts.actor import ANONYMOUS, Actor
from kefu.accounts.deps import get_actor
from kefu.core import clock
from kefu.core.errors import Conflict, InvalidInput, KefuError, NotFound
from kefu.core.http import SessionDep, SettingsDep
from kefu.core.logging import get_logger
from kefu.core.middleware import BodyTooLarge
from kefu.core.pagination import Cursor
from kefu.guard.secret_mask import MARKER_PREFIX
from kefu.web import i18n

log = get_logger("kefu.web")
TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}
M = TypeVar("M", bound=BaseModel)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_TICKET_PATH = re.compile(r"^/(agent|portal)/tickets/([^/]+)(?:/|$)")
_HELP_PAGE = re.compile(r"^/help/([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*)(?:/|$)")


@dataclass(frozen=True)
class Viewer:
    """A plain snapshot of who is looking, safe to use after the transaction rolled back."""

    kind: str = "anonymous"
    name: str = ""
    csrf: str | None = None
    customer_language: str | None = None
    role: str | None = None
    agent_id: uuid.UUID | None = None

    @property
    def is_customer(self) -> bool:
        return self.kind == "customer"

    @property
    def is_agent(self) -> bool:
        return self.kind == "agent"


ANONYMOUS_VIEWER = Viewer()


def viewer_from(actor: Actor) -> Viewer:
    if actor.agent is not None:
        return Viewer(kind="agent", name=actor.agent.display_name or actor.agent.email,
                      csrf=actor.csrf_token, role=actor.agent.role, agent_id=actor.agent.id)
    if actor.kind == "customer" and actor.customer is not None:
        customer = actor.customer
        return Viewer(kind="customer", name=customer.display_name or customer.external_id,
                      csrf=actor.csrf_token, customer_language=customer.language)
    return ANONYMOUS_VIEWER


def current_viewer(request: Request) -> Viewer:
    viewer: Viewer = getattr(request.state, "viewer", ANONYMOUS_VIEWER)
    return viewer


# ---------------------------------------------------------------- dependencies


async def remember_session(request: Request, session: SessionDep) -> None:
    """Router-wide: lets the error handler roll back the request's transaction."""
    request.state.page_session = session


async def page_actor(request: Request, session: SessionDep, settings: SettingsDep) -> Actor:
    """``get_actor`` (CSRF included), remembering a snapshot for the page and its errors."""
    actor = await get_actor(request, session, settings)
    request.state.viewer = viewer_from(actor)
    return actor


async def public_actor(request: Request, session: SessionDep, settings: SettingsDep) -> Actor:
    """For public pages: a broken or half-finished sign-in just means anonymous here."""
    try:
        return await page_actor(request, session, settings)
    except KefuError:
        return ANONYMOUS


PageActorDep = Annotated[Actor, Depends(page_actor)]
PublicActorDep = Annotated[Actor, Depends(public_actor)]


class PageRedirect(Exception):
    """Raised by page code to answer with a 303 to ``url`` (e.g. to the sign-in page)."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url


# ---------------------------------------------------------------- Jinja


def _format_time(value: datetime | None) -> Markup:
    if value is None:
        return Markup("—")
    value = clock.ensure_utc(value)
    return Markup('<time datetime="{}" data-local>{}</time>').format(
        value.isoformat(), value.strftime("%Y-%m-%d %H:%M UTC"))


def _format_zoned_time(value: datetime | None) -> Markup:
    """A time shown with its zone once localized (``kefu.js``)."""
    return Markup(str(_format_time(value)).replace("data-local>", 'data-local="zone">'))


def _format_amount(value: Decimal | int | float | None) -> str:
    if value is None:
        return "—"
    text = format(Decimal(str(value)), ",f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _format_size(size: int) -> str:
    amount = float(size)
    for unit in ("B", "KB", "MB"):
        if amount < 1024 or unit == "MB":
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{amount:.1f} MB"


_HIDDEN = re.compile(re.escape(MARKER_PREFIX) + r"([a-z_]+)\]")


def _hidden_labels(text: str, translate: i18n.Translator) -> str:
    """What the secret guard hid (stored as ``[REDACTED seed_phrase]``) named in the reader's
    language ("[已隐藏：助记词]"), for customers' pages; agents read the marker."""
    def label(match: re.Match[str]) -> str:
        key = f"widget.hidden.{match.group(1)}"
        return translate(key) if translate.has(key) else match.group(0)

    return _HIDDEN.sub(label, text)


def build_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html"], default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["dt"] = _format_time
    env.filters["dt_zone"] = _format_zoned_time
    env.filters["amount"] = _format_amount
    env.filters["filesize"] = _format_size
    env.filters["hidden_labels"] = _hidden_labels
    env.globals["static"] = lambda name: f"/static/{name}?v={__version__}"
    return env


_ENV = build_environment()


def switch_language_url(request: Request, language: str, page_url: str | None) -> str:
    """The current page (or ``page_url`` for a page answered to a POST) with ``?lang=``."""
    if page_url is None:
        # Never echo a sign-in token into links on the page.
        params = {k: v for k, v in request.query_params.items() if k not in ("lang", "token")}
        page_url = request.url.path + (f"?{urlencode(params)}" if params else "")
    separator = "&" if "?" in page_url else "?"
    return f"{page_url}{separator}lang={language}"


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    viewer = current_viewer(request)
    language = i18n.choose_language(request, viewer.customer_language)
    context = dict(context or {})
    page_url = context.pop("page_url", None)
    if page_url is None and request.method != "GET":
        page_url = _fallback_url(request.url.path)
    values: dict[str, Any] = {
        "request": request,
        "lang": language,
        "t": i18n.Translator(language),
        "viewer": viewer,
        "languages": [
            (code, i18n.LANGUAGE_NAMES[code], switch_language_url(request, code, page_url))
            for code in i18n.SUPPORTED
        ],
        "section": "help",
        "dev_mode": request.app.state.settings.env == "development",
        **context,
    }
    if isinstance(values.get("error"), KefuError):
        values["error"] = error_message(values["t"], values["error"])
    html = _ENV.get_template(template).render(values)
    response = HTMLResponse(html, status_code=status, headers=headers)
    remember_language(request, response)
    return response


def render_partial(request: Request, template: str, context: dict[str, Any]) -> str:
    """A fragment (e.g. the htmx-swapped ticket table) in the request's language."""
    viewer = current_viewer(request)
    language = i18n.choose_language(request, viewer.customer_language)
    values = {"request": request, "lang": language, "t": i18n.Translator(language),
              "viewer": viewer, **context}
    return _ENV.get_template(template).render(values)


def remember_language(request: Request, response: Response) -> None:
    language = i18n.query_language(request)
    if language is not None and request.cookies.get(i18n.LANG_COOKIE) != language:
        response.set_cookie(i18n.LANG_COOKIE, language, max_age=i18n.LANG_COOKIE_MAX_AGE,
                            samesite="lax", httponly=True, path="/",
                            secure=request.app.state.settings.session_cookie_secure)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _fallback_url(path: str) -> str:
    match = _TICKET_PATH.match(path)
    if match:
        return f"/{match.group(1)}/tickets/{match.group(2)}"
    for prefix in ("/agent", "/portal"):
        if path.startswith(prefix):
            return prefix
    return "/help"


# What a page says for a refusal whose code has no message of its own (``error.<code>``), by
# its status: the English text of the error stands only on English pages.
_ERROR_BY_STATUS = {401: "error.unauthorized", 403: "error.forbidden", 404: "error.not_found",
                    409: "error.conflict", 429: "error.rate_limited"}


def error_message(translate: i18n.Translator, exc: KefuError) -> str:
    key = f"error.{exc.code}"
    if translate.has(key):
        return translate(key, **exc.values)
    in_language = getattr(exc, "message_in", None)  # reasons worded in each language
    if callable(in_language):
        return str(in_language(translate.language))
    if translate.language == i18n.DEFAULT_LANGUAGE:
        return exc.message
    if exc.status >= 500:
        return translate("error.internal_error")
    return translate(_ERROR_BY_STATUS.get(exc.status, "error.invalid_form"))


def page_language(request: Request) -> str:
    """The interface language of the page at this URL: a help page's follows the language in
    its path (``/help/zh-CN/…`` is Chinese, ``/help/ja/…`` English, as ``help_center`` renders
    them); other pages follow the reader's choice (``i18n.choose_language``)."""
    match = _HELP_PAGE.match(request.url.path)
    if match:
        return (i18n.normalize_language(match.group(1).replace("_", "-"))
                or i18n.DEFAULT_LANGUAGE)
    return i18n.choose_language(request, current_viewer(request).customer_language)


def error_page(request: Request, exc: KefuError) -> HTMLResponse:
    """The error in the language of the page it stands for (a refused help center search in
    zh-CN is a Chinese page)."""
    status = exc.status if 400 <= exc.status < 600 else 400
    language = page_language(request)
    path = request.url.path
    if exc.code == "not_found" and (path == "/help" or path.startswith("/help/")):
        # not "that page or ticket": a help center has no tickets
        exc = KefuError(exc.message, code="help_not_found", status=404)
    help_page = _HELP_PAGE.match(path)
    extra: dict[str, Any] = {}
    if help_page:  # the path names the language: switch it there, and stay in it
        rest = path[help_page.end(1):]
        extra = {"languages": [(code, i18n.LANGUAGE_NAMES[code], f"/help/{code}{rest}")
                               for code in i18n.SUPPORTED],
                 "back_url": f"/help/{language}", "help_url": f"/help/{language}"}
    return render(request, "error.html", {
        "lang": language,
        "t": i18n.Translator(language),
        "error": exc,
        "error_code": exc.code,
        "error_status": status,
        "back_url": _fallback_url(path),
        "help_url": "/help",
        "section": _section_of(path),
        **extra,
    }, status=status)


def _section_of(path: str) -> str:
    for section in ("agent", "portal"):
        if path.startswith(f"/{section}"):
            return section
    return "help"


def clean(value: str) -> str:
    """Text from a form or query without control characters (PostgreSQL refuses NUL; none
    belongs in a subject, a message or a filter). Tabs and newlines stay."""
    return _CONTROL.sub("", value)


def checked_cursor(cursor: str | None) -> str | None:
    """A paging cursor from the URL, refused (400) unless it is one we could have issued."""
    if not cursor:
        return None
    if Cursor.decode(cursor).at.tzinfo is None:
        raise KefuError("cursor is not valid", code="invalid_cursor", status=400)
    return cursor


# The longest text a typed field (a reply, a note, an article, a subject) takes before its
# handler sees it: the request size limit bounds it anyway, and the handler checks it against
# its own limit (the service's schema), whose refusal shows the form again with the text in it.
# A tighter ``Form(max_length=…)`` refuses before the handler, on a page without the form, and
# what was typed is lost.
TYPED_TEXT = 1_000_000


def form_model(model: type[M], **data: Any) -> M:
    """Build a service schema from form fields; a bad field is a friendly 422, not a crash."""
    try:
        return model(**data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = first.get("loc", ())
        field = ".".join(str(p) for p in loc) or "form"
        # The code names the form's field (``invalid_tags``, not ``invalid_tags.3``): pages
        # explain it in the reader's language (``error.<code>``).
        raise InvalidInput(f"{field}: {first.get('msg', 'invalid')}",
                           code=f"invalid_{loc[0] if loc else 'form'}") from exc


# ---------------------------------------------------------------- the route class


async def _rollback(request: Request) -> None:
    session: AsyncSession | None = getattr(request.state, "page_session", None)
    if session is not None:
        await session.rollback()


def add_security_headers(response: Response, path: str) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if path.startswith(("/agent", "/portal")):
        response.headers.setdefault("Cache-Control", "no-store")


class PageRoute(APIRoute):
    """An HTML route: errors become pages in the viewer's language, every response gets the
    security headers, and a failing request's transaction is rolled back before the answer."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                response = await handler(request)
            except PageRedirect as exc:
                await _rollback(request)
                response = redirect(exc.url)
            except KefuError as exc:
                await _rollback(request)
                if exc.code == "2fa_enrollment_required":
                    response = redirect("/agent/2fa")
                else:
                    response = error_page(request, exc)
            except RequestValidationError as exc:
                await _rollback(request)
                errors = exc.errors()
                field = str(errors[0].get("loc", ("", "form"))[-1]) if errors else "form"
                response = error_page(request, InvalidInput(f"{field}: invalid value",
                                                            code="invalid_form"))
            except StarletteHTTPException as exc:
                await _rollback(request)
                if isinstance(exc.__cause__, BodyTooLarge):
                    error = KefuError("request body is too large", code="payload_too_large",
                                      status=413)
                elif exc.status_code == 404:
                    error = NotFound("page")
                else:
                    error = KefuError(str(exc.detail), code=f"http_{exc.status_code}",
                                      status=exc.status_code)
                response = error_page(request, error)
            except IntegrityError as exc:
                await _rollback(request)
                log.warning("integrity_error", error=str(exc.orig)[:300])
                response = error_page(request, Conflict("the change conflicts with existing "
                                                        "data"))
            except Exception as exc:
                await _rollback(request)
                log.exception("page_error", error_type=type(exc).__name__)
                response = error_page(request, KefuError(
                    "something went wrong on our side", code="internal_error", status=500))
            add_security_headers(response, request.url.path)
            return response

        return page_handler
