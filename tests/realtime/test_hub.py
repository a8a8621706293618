"""The hub's inbox fan-out, without sockets: rows moved by messages are gathered once for every
agent connection and each gets, in one frame, the rows its agent may read."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import orjson
from starlette.websockets import WebSocketState

from kefu.accounts.actor import Actor
from kefu.accounts.models import Agent
from kefu.realtime.events import INBOX
from kefu.realtime.hub import Connection, Hub
from kefu.realtime.protocol import INBOX_COALESCE_S


class Socket:
    application_state = WebSocketState.CONNECTED

    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []

    async def send_text(self, text: str) -> None:
        self.frames.append(orjson.loads(text))

    def inbox(self) -> list[dict[str, Any]]:
        return [f for f in self.frames if f["type"] == "inbox"]


async def _no_replay(_ticket_id: uuid.UUID, _since: int) -> list[dict[str, Any]]:
    return []


def _agent(hub: Hub, role: str, teams: set[uuid.UUID]) -> Socket:
    agent = Agent(id=uuid.uuid4(), email=f"{uuid.uuid4().hex[:8]}@x.test", display_name="A",
                  role=role)
    socket = Socket()
    connection = Connection(socket, Actor(kind="agent", agent=agent,  # type: ignore[arg-type]
                                          team_ids=frozenset(teams)), hub, _no_replay)
    connection.start()
    hub.register(connection)
    hub.attach(INBOX, connection)
    return socket


def _event(number: str, team: uuid.UUID, change: str = "message", *, status: str = "open",
           at: str = "t1", customer_messages: int = 1) -> dict[str, Any]:
    """An inbox event as ``tickets.events.announce_ticket`` makes it."""
    ticket = {"number": number, "status": status, "team_id": str(team), "assignee_id": None,
              "updated_at": at, "last_customer_message_at": at}
    event: dict[str, Any] = {"type": "inbox", "change": change, "ticket": ticket,
                             "_team_id": str(team), "_assignee_id": None,
                             "_row": f"{number}|{status}|{team}"}
    if change == "message":
        event["_moved"] = {"number": number, "partial": True, "updated_at": at,
                           "last_customer_message_at": at}
        event["_customer_messages"] = customer_messages
    return event


async def _settle() -> None:
    await asyncio.sleep(INBOX_COALESCE_S + 0.1)


async def test_moved_rows_reach_each_agent_gathered_and_only_those_it_may_read() -> None:
    hub, red, blue = Hub(), uuid.uuid4(), uuid.uuid4()
    red_agent, blue_agent = _agent(hub, "agent", {red}), _agent(hub, "agent", {blue})
    supervisor = _agent(hub, "supervisor", set())
    hub.dispatch(INBOX, _event("KF-R1", red, "created"))  # whole, at once
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert [f["change"] for f in red_agent.inbox()] == ["created"]
    assert blue_agent.inbox() == []
    for at in ("t1", "t2", "t3"):
        hub.dispatch(INBOX, _event("KF-R1", red, at=at))
        hub.dispatch(INBOX, _event("KF-B1", blue, at=at))
    await asyncio.sleep(0)
    assert len(red_agent.inbox()) == 1  # nothing yet: gathered
    await _settle()

    (red_frame,) = red_agent.inbox()[1:]
    # the row it had whole comes as what the messages changed, the newest, counted
    assert red_frame["ticket"] == {"number": "KF-R1", "partial": True, "updated_at": "t3",
                                   "last_customer_message_at": "t3", "customer_messages": 3}
    (blue_frame,) = blue_agent.inbox()
    assert blue_frame["ticket"]["number"] == "KF-B1"
    assert "partial" not in blue_frame["ticket"]  # never had it whole: the whole row
    (all_frame,) = supervisor.inbox()[1:]  # both, in one frame; it had only KF-R1 whole
    assert {t["number"]: t.get("partial", False) for t in all_frame["tickets"]} == {
        "KF-B1": False, "KF-R1": True}
    await hub.close_all(1001, "done")


async def test_another_change_takes_the_gathered_row_with_its_count() -> None:
    hub, red = Hub(), uuid.uuid4()
    red_agent = _agent(hub, "agent", {red})
    hub.dispatch(INBOX, _event("KF-R1", red, at="t1"))
    hub.dispatch(INBOX, _event("KF-R2", red, at="t1"))
    hub.dispatch(INBOX, _event("KF-R1", red, at="t2", customer_messages=2))
    hub.dispatch(INBOX, _event("KF-R1", red, "status", status="pending"))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    (status,) = red_agent.inbox()  # at once, standing for the 3 messages gathered before it
    assert status["change"] == "status"
    assert status["ticket"]["customer_messages"] == 3
    await _settle()
    (moved,) = red_agent.inbox()[1:]  # the other ticket's row kept waiting, and went alone
    assert moved["ticket"]["number"] == "KF-R2"
    assert "tickets" not in moved
    await hub.close_all(1001, "done")
