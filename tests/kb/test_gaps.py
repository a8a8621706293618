"""Content gaps for editors, one week at a time: searches that found nothing, articles voted
unhelpful, ticket topics that reach agents without an article."""

from __future__ import annotations

from datetime import timedelta

import httpx
from fastapi import FastAPI

from kefu.accounts.actor import Actor
from kefu.core import clock
from kefu.kb.models import SearchLog
from kefu.tickets import schemas as ticket_schemas
from kefu.tickets import workflow
from kefu.tickets.creation import open_for_actor
from tests.factories import make_world
from tests.kb.support import make_article, make_category
from tests.web.browser import agent_sign_in

API = "/api/v1/kb"


async def test_weekly_content_gaps(app: FastAPI, client: httpx.AsyncClient) -> None:
    world = await make_world(app)
    me = await client.get("/api/v1/auth/me", headers=world.headers["customer_a"])
    assert me.status_code == 200  # the exchange's customer is known from their first call
    await make_category(app, world.admin)
    await make_article(app, world.admin, tags=("deposit", "confirmations"))
    old = clock.now() - timedelta(days=9)
    async with app.state.db.transaction() as session:
        for query, results in (("Close my account?", 0), ("close my ACCOUNT", 0),
                               ("deposit", 1), ("stake ETH", 0)):
            session.add(SearchLog(query=query, normalized=query.casefold().rstrip("?"),
                                  lang="en", source="help", results=results, top_score=0.8))
        session.add(SearchLog(query="old gap", normalized="old gap", lang="en", source="help",
                              results=0, created_at=old))
        agent = Actor(kind="agent", agent=world.agent, team_ids=frozenset({world.en_team.id}))
        for tags in (["account", "closure"], ["closure"], ["deposit"], ["category:deposit"]):
            ticket = (await open_for_actor(session, agent, ticket_schemas.TicketCreate(
                subject="Help", body="Please", customer_external_id="cust-a"))).ticket
            await workflow.change_tags(session, agent, ticket,
                                       ticket_schemas.TagChange(add=tags))
    for helpful, comment in ((False, "Does not say how long"), (False, ""), (True, "")):
        client.cookies.clear()
        voted = await client.post(f"{API}/articles/deposit-not-credited/votes",
                                  json={"lang": "en", "helpful": helpful, "comment": comment})
        assert voted.status_code == 201

    report = await client.get(f"{API}/gaps", headers=world.headers["agent"])
    assert report.status_code == 200, report.text
    gaps = report.json()
    assert [(g["query"], g["searches"], g["zero_results"]) for g in gaps["searches"]] == [
        ("close my account", 2, 2), ("stake eth", 1, 1)]
    assert [(a["slug"], a["unhelpful"], a["helpful"], a["comments"])
            for a in gaps["articles"]] == [
        ("deposit-not-credited", 2, 1, ["Does not say how long"])]
    # "deposit" and "category:deposit" are covered by the article and its category.
    assert [(t["topic"], t["tickets"]) for t in gaps["topics"]] == [
        ("closure", 2), ("account", 1)]

    earlier = (await client.get(f"{API}/gaps", params={"weeks_ago": 1},
                                headers=world.headers["agent"])).json()
    assert [g["query"] for g in earlier["searches"]] == ["old gap"]
    assert earlier["articles"] == []
    assert earlier["topics"] == []
    assert (await client.get(f"{API}/gaps", headers=world.headers["customer_a"])
            ).status_code == 404

    client.cookies.clear()
    await agent_sign_in(client, world.agent.email)
    page = await client.get("/agent/kb/gaps")
    assert page.status_code == 200
    assert "close my account" in page.text
    assert "Does not say how long" in page.text
    assert 'href="/agent?tag=closure"' in page.text
