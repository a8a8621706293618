"""The customer's security page in the portal: set, change or clear the anti-phishing code that
every genuine email and message from support carries, and a pointer to Kefu Verify."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts.actor import Actor
from kefu.core.errors import InvalidInput, KefuError
from kefu.core.http import SessionDep
from kefu.db import savepoint
from kefu.trust import antiphishing
from kefu.trust.errors import TooManyRequests
from kefu.trust.ratelimit import Rate, RateRule, client_ip, limiter_of
from kefu.web.portal import require_customer
from kefu.web.render import PageActorDep, PageRoute, redirect, remember_session, render

CODE_CHANGES = RateRule("anti_phishing_page", per_ip=Rate(120, 3600),
                        per_customer=Rate(20, 3600))
NOTICES = ("code_set", "code_cleared")

router = APIRouter(prefix="/portal", route_class=PageRoute, include_in_schema=False,
                   dependencies=[Depends(remember_session)])


async def _page(
    request: Request, session: AsyncSession, actor: Actor, *, notice: str = "",
    error: KefuError | None = None, typed: str = "",
) -> HTMLResponse:
    assert actor.customer is not None
    row = await antiphishing.code_record(session, actor.customer.id)
    return render(request, "portal/security.html", {
        "section": "portal",
        "code": row.code if row else None,
        "updated_at": row.updated_at if row else None,
        "notice": notice if notice in NOTICES else "",
        "error": error,
        "typed": typed,
        "min_length": antiphishing.MIN_LENGTH,
        "max_length": antiphishing.MAX_LENGTH,
        "page_url": "/portal/security",
    }, status=error.status if error else 200)


@router.get("/security", response_class=HTMLResponse)
async def security_page(
    request: Request, session: SessionDep, actor: PageActorDep,
    ok: Annotated[str, Query(max_length=32)] = "",
) -> Response:
    return await _page(request, session, require_customer(actor), notice=ok)


@router.post("/security", response_class=HTMLResponse)
async def change_code(
    request: Request, session: SessionDep, actor: PageActorDep,
    action: Annotated[str, Form(max_length=8)] = "set",
    code: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Set/change (``action=set``) or clear the code; a refusal shows the page again."""
    customer_actor = require_customer(actor)
    assert customer_actor.customer is not None
    customer_id = customer_actor.customer.id
    try:
        await CODE_CHANGES.check(limiter_of(request.app), ip=client_ip(request),
                                 actor=customer_actor)
        async with savepoint(session):
            if action == "clear":
                await antiphishing.clear_code(session, customer_actor, customer_id=customer_id)
            elif action == "set":
                await antiphishing.set_code(session, customer_actor, customer_id=customer_id,
                                            code=code)
            else:
                raise InvalidInput("unknown action", code="invalid_action")
    except KefuError as exc:
        response = await _page(request, session, customer_actor, error=exc, typed=code)
        if isinstance(exc, TooManyRequests):
            response.headers["Retry-After"] = str(exc.retry_after_s)
        return response
    return redirect(f"/portal/security?ok={'code_cleared' if action == 'clear' else 'code_set'}")
