"""``GET /agent/console-state``: what the console fetches again after an outage of its socket
(its own status and load, its unread counts). Each role gets only its own figures, scoped as
the tickets it may read; anyone but an agent is sent to sign in, as on every console page."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from kefu.accounts.models import Agent
from kefu.tickets.models import Ticket
from tests.factories import make_agent
from tests.web.browser import agent_sign_in, customer_headers, make_desk, portal_sign_in


async def test_each_role_gets_its_own_status_load_and_unread_counts(
    app: FastAPI, client: httpx.AsyncClient
):
    desk = await make_desk(app)
    others = {"other@kefu.test": await make_agent(app, "other@kefu.test", teams=[desk.zh_team]),
              "boss@kefu.test": await make_agent(app, "boss@kefu.test", role="supervisor"),
              "admin@kefu.test": await make_agent(app, "admin@kefu.test", role="admin")}
    ids = {"agent@kefu.test": desk.agent.id, **{k: a.id for k, a in others.items()}}
    number = str((await client.post("/api/v1/tickets", headers=customer_headers(
        app.state.settings, "cust-state", name="Ann", lang="en"), json={
        "subject": "Deposit missing", "body": "Where is it?", "language": "en"})).json()["number"])
    async with app.state.db.transaction() as session:
        await session.execute(update(Agent).where(Agent.id == desk.agent.id).values(status="away"))

    seen: dict[str, object] = {}
    for who in (*ids, "customer", "nobody"):
        client.cookies.clear()
        if who == "customer":
            await portal_sign_in(client, app.state.settings, "cust-state")
        elif who != "nobody":
            await agent_sign_in(client, who)
        if who == "agent@kefu.test":  # their own ticket now: their load
            taken = await client.get(f"/agent/tickets/{number}")
            assert taken.status_code == 200
            async with app.state.db.transaction() as session:
                await session.execute(update(Ticket).where(Ticket.number == number)
                                      .values(assignee_id=desk.agent.id, status="open"))
        answer = await client.get("/agent/console-state")
        if answer.status_code == 303:
            assert answer.headers["location"].startswith("/agent/login"), who
            assert number not in answer.text, who
            seen[who] = 303
            continue
        assert answer.status_code == 200, (who, answer.text)
        assert answer.headers["cache-control"] == "no-store"
        state = answer.json()
        assert state["me"]["id"] == str(ids[who]), who
        seen[who] = (state["me"]["status"], state["me"]["active"],
                     sorted(state["unread"]["tickets"]))
    assert seen == {
        "agent@kefu.test": ("away", [number], [number]),
        "other@kefu.test": ("offline", [], []),  # another team's ticket: not theirs to count
        "boss@kefu.test": ("offline", [], [number]),
        "admin@kefu.test": ("offline", [], [number]),
        "customer": 303, "nobody": 303}
