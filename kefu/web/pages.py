"""Server-rendered pages (Jinja2 + htmx): the help center, the customer portal and the agent
console, in zh-CN and English. ``mount_web`` is all ``app.py`` needs to know."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from kefu.web import (
    agent,
    agent_auth,
    agent_live,
    help_center,
    kb_editor,
    portal,
    trust_admin,
    trust_portal,
    verify,
    widget,
)
from kefu.web.render import STATIC_DIR


class StaticAssets(StaticFiles):
    """The CSS, JS and icons; versioned URLs (``?v=``), so they may be cached for a day."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        if response.status_code == 200:
            response.headers.setdefault("Cache-Control", "public, max-age=86400")
        return response


def mount_web(app: FastAPI) -> None:
    app.include_router(help_center.router)
    app.include_router(portal.router)
    app.include_router(agent_auth.router)
    app.include_router(agent.router)
    app.include_router(kb_editor.router)  # /agent/kb, /agent/status
    app.include_router(verify.router)  # /verify, /verify/identity/<token>
    app.include_router(trust_portal.router)  # /portal/security
    app.include_router(trust_admin.router)  # /agent/review, /agent/trust/channels, trust panel
    agent_live.mount(app)  # supervisor view, macros page, /api/v1/macros
    widget.mount_widget(app)  # /widget.js, /demo/exchange, CORS for the widget
    app.mount("/static", StaticAssets(directory=STATIC_DIR), name="static")
