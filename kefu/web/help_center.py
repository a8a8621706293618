"""The public help center: home with topic cards, search, and the way to a human.

Articles arrive with the help-center issue (§C); until then search says honestly that it has
nothing yet and points to support, with the topic preselected in the ticket form."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from kefu.web.render import (
    PageRoute,
    PublicActorDep,
    clean,
    redirect,
    remember_session,
    render,
)


@dataclass(frozen=True)
class Topic:
    """A help-center category and the ticket category it maps to."""

    slug: str
    icon: str
    ticket_category: str


TOPICS: tuple[Topic, ...] = (
    Topic("deposits", "deposit", "deposit"),
    Topic("withdrawals", "withdrawal", "withdrawal"),
    Topic("security", "shield", "security"),
    Topic("kyc", "id", "kyc"),
    Topic("futures", "chart", "futures"),
    Topic("p2p", "people", "p2p"),
    Topic("api", "code", "api"),
    Topic("fees", "percent", "fees"),
)
TOPICS_BY_SLUG = {topic.slug: topic for topic in TOPICS}

router = APIRouter(route_class=PageRoute, include_in_schema=False,
                   dependencies=[Depends(remember_session)])


@router.get("/")
async def root() -> RedirectResponse:
    return redirect("/help")


@router.get("/help", response_class=HTMLResponse)
async def help_home(request: Request, actor: PublicActorDep) -> HTMLResponse:
    return render(request, "help/home.html", {"topics": TOPICS, "section": "help"})


@router.get("/help/search", response_class=HTMLResponse)
async def help_search(
    request: Request,
    actor: PublicActorDep,
    q: Annotated[str, Query(max_length=200)] = "",
    topic: Annotated[str, Query(max_length=32)] = "",
) -> HTMLResponse:
    query = " ".join(clean(q).split())
    chosen = TOPICS_BY_SLUG.get(topic)
    return render(request, "help/search.html", {
        "query": query,
        "topic": chosen,
        "topics": TOPICS,
        "results": [],
        "section": "help",
    })
