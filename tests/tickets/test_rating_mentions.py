"""CSAT ratings, @mentions in internal notes, and the notice of a ticket given to an agent."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from tests.factories import make_world


async def test_customer_rates_a_resolved_conversation_once(app: FastAPI, client: httpx.AsyncClient):
    world = await make_world(app)
    a = world.headers["customer_a"]
    number = (await client.post("/api/v1/tickets", headers=a,
                                json={"subject": "Fee question", "body": "Why 1 USDT?"})).json()[
        "number"]
    early = await client.post(f"/api/v1/tickets/{number}/rating", headers=a, json={"score": 5})
    assert early.status_code == 409
    assert early.json()["error"]["code"] == "not_resolved"
    await client.post(f"/api/v1/tickets/{number}/status", headers=world.headers["agent"],
                      json={"status": "resolved"})
    bad = await client.post(f"/api/v1/tickets/{number}/rating", headers=a, json={"score": 6})
    assert bad.status_code == 422
    rated = await client.post(f"/api/v1/tickets/{number}/rating", headers=a,
                              json={"score": 4, "comment": "快速解决，谢谢"})
    assert rated.status_code == 200
    assert (rated.json()["rating"], rated.json()["rating_comment"]) == (4, "快速解决，谢谢")
    again = await client.post(f"/api/v1/tickets/{number}/rating", headers=a, json={"score": 1})
    assert again.json()["error"]["code"] == "already_rated"
    events = (await client.get(f"/api/v1/tickets/{number}/events",
                               headers=world.headers["agent"])).json()["items"]
    assert events[-1]["kind"] == "rated"


async def test_mention_in_a_note_notifies_that_agent(app: FastAPI, client: httpx.AsyncClient):
    world = await make_world(app)
    number = (await client.post("/api/v1/tickets", headers=world.headers["customer_a"],
                                json={"subject": "Stolen account", "body": "help"})).json()[
        "number"]
    note = await client.post(f"/api/v1/tickets/{number}/notes", headers=world.headers["agent"],
                             json={"body": "@sup please approve the freeze; cc email@x.io"})
    assert note.status_code == 201
    mine = (await client.get("/api/v1/notifications", headers=world.headers["supervisor"])).json()
    assert [n["data"]["ticket"] for n in mine["items"]] == [number]
    assert mine["items"][0]["data"]["by"] == "agent"
    assert (await client.get("/api/v1/notifications",
                             headers=world.headers["other_agent"])).json()["items"] == []
    notification_id = mine["items"][0]["id"]
    assert (await client.post(f"/api/v1/notifications/{notification_id}/read",
                              headers=world.headers["agent"])).status_code == 404
    assert (await client.post(f"/api/v1/notifications/{notification_id}/read",
                              headers=world.headers["supervisor"])).status_code == 204
    unread = await client.get("/api/v1/notifications?unread=true",
                              headers=world.headers["supervisor"])
    assert unread.json()["items"] == []


async def test_a_mention_reaches_only_agents_who_may_read_the_ticket(
        app: FastAPI, client: httpx.AsyncClient):
    """The notification carries the note's text: an agent outside the ticket's team (and not
    its assignee) is not notified; once the ticket is assigned to them, they are."""
    world = await make_world(app)
    number = (await client.post("/api/v1/tickets", headers=world.headers["customer_a"],
                                json={"subject": "Card charged twice", "body": "help"})).json()[
        "number"]
    agent, other = world.headers["agent"], world.headers["other_agent"]
    note = await client.post(f"/api/v1/tickets/{number}/notes", headers=agent,
                             json={"body": "@other internal: customer is on the watch list"})
    assert note.status_code == 201
    assert (await client.get("/api/v1/notifications", headers=other)).json()["items"] == []
    assert (await client.get(f"/api/v1/tickets/{number}", headers=other)).status_code == 404

    assigned = await client.post(f"/api/v1/tickets/{number}/assign", headers=world.headers[
        "supervisor"], json={"agent_id": str(world.other_agent.id)})
    assert assigned.status_code == 200, assigned.text
    await client.post(f"/api/v1/tickets/{number}/notes", headers=agent,
                      json={"body": "@other it is yours now"})
    items = (await client.get("/api/v1/notifications", headers=other)).json()["items"]
    assert [n["data"]["excerpt"] for n in items if n["kind"] == "mention"] == [
        "@other it is yours now"]


def test_mentions_are_found_the_way_agents_write_them() -> None:
    """QA: "@li.na请核对" (no space before the Chinese) swallowed the Chinese into the handle,
    and "请@李娜" (Chinese right before the @) was not a mention at all."""
    from types import SimpleNamespace
    from typing import Any

    from kefu.tickets.notes import mentioned

    def agent(name: str, email: str) -> Any:
        return SimpleNamespace(id=email, display_name=name, email=email)

    li, lina, james = (agent("Li Na 李娜", "li.na@kefu.test"),
                       agent("Li Nana", "li.nana@kefu.test"),
                       agent("James Miller", "james.miller@kefu.test"))
    emre = agent("Emre Yılmaz", "emre.yilmaz@kefu.test")
    everyone = [li, lina, james, emre]

    def names(body: str) -> list[str]:
        return [a.email for a in mentioned(body, everyone)]

    assert names("@li.na请核对") == ["li.na@kefu.test"]
    assert names("请@李娜 核对一下") == ["li.na@kefu.test"]
    assert names("@LiNana, @li.na and @JamesMiller: see above") == [
        "li.nana@kefu.test", "li.na@kefu.test", "james.miller@kefu.test"]
    assert names("@li.nanas is nobody; mail li.na@kefu.test or cc:james.miller@x.io") == []
    assert names("Ask @li.na. Then @james.miller!") == ["li.na@kefu.test",
                                                        "james.miller@kefu.test"]
    # QA, second round: by the name's own words ("Li Na 李娜": @李娜, @LiNa), and after a
    # Turkish İ (its lower case is two characters: positions shifted)
    assert names("请@李娜 核对") == ["li.na@kefu.test"]
    assert names("@LiNa please check") == ["li.na@kefu.test"]
    assert names("İade talebi, @emre.yilmaz bakar mısın? İstanbul @james.miller") == [
        "emre.yilmaz@kefu.test", "james.miller@kefu.test"]
    assert names("@li please") == []  # one Latin word of a name is not a handle


async def test_a_ticket_given_to_an_agent_tells_them_not_one_they_take(
        app: FastAPI, client: httpx.AsyncClient):
    world = await make_world(app)
    number = (await client.post("/api/v1/tickets", headers=world.headers["customer_a"],
                                json={"subject": "Frozen account", "body": "help"})).json()[
        "number"]
    taken = await client.post(f"/api/v1/tickets/{number}/assign", headers=world.headers["agent"],
                              json={"agent_id": str(world.agent.id)})
    assert taken.status_code == 200, taken.text
    assert (await client.get("/api/v1/notifications",
                             headers=world.headers["agent"])).json()["items"] == []
    given = await client.post(f"/api/v1/tickets/{number}/assign",
                              headers=world.headers["supervisor"],
                              json={"agent_id": str(world.other_agent.id)})
    assert given.status_code == 200, given.text
    [told] = (await client.get("/api/v1/notifications",
                               headers=world.headers["other_agent"])).json()["items"]
    assert told["kind"] == "assigned"
    assert (told["data"]["ticket"], told["data"]["subject"]) == (number, "Frozen account")
    assert told["data"]["by"] == world.supervisor.display_name


async def test_a_note_says_whom_it_mentions_but_did_not_notify(
        app: FastAPI, client: httpx.AsyncClient):
    """The note is saved and the colleague outside the ticket's team is still not notified,
    but the answer names them (they may not read the ticket), so the author knows; a resend
    of the same note says the same and notifies nobody twice."""
    world = await make_world(app)
    number = (await client.post("/api/v1/tickets", headers=world.headers["customer_a"],
                                json={"subject": "Card charged twice", "body": "help"})).json()[
        "number"]
    body = {"body": "@other @sup please approve the refund", "client_msg_id": "note-1"}
    note = await client.post(f"/api/v1/tickets/{number}/notes", headers=world.headers["agent"],
                             json=body)
    assert note.status_code == 201, note.text
    assert note.json()["not_notified"] == [{"agent_id": str(world.other_agent.id),
                                            "name": "other", "reason": "cannot_read_ticket"}]
    again = await client.post(f"/api/v1/tickets/{number}/notes", headers=world.headers["agent"],
                              json=body)
    assert (again.json()["id"], again.json()["not_notified"]) == (
        note.json()["id"], note.json()["not_notified"])
    told = (await client.get("/api/v1/notifications", headers=world.headers["supervisor"])).json()
    assert [n["data"]["message_id"] for n in told["items"]] == [note.json()["id"]]
    assert (await client.get("/api/v1/notifications",
                             headers=world.headers["other_agent"])).json()["items"] == []
    plain = await client.post(f"/api/v1/tickets/{number}/notes", headers=world.headers["agent"],
                              json={"body": "@sup thanks"})
    assert plain.json()["not_notified"] == []
