"""Collision detection heals by itself: an agent's connection announces again, every
``viewing_refresh_s``, the tickets it views, with how long the announcement holds (``ttl_s``),
so a console drops a viewer whose process died or whose ``state: false`` was lost with Redis.
And when the broker's subscription comes back after an outage, agents' connections are told to
fetch what they show (``resync``) and what they view is announced again."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from kefu.accounts.actor import Actor
from kefu.accounts.models import Agent
from kefu.realtime.hub import Connection, Hub
from tests.realtime.live import drain, noop_fetch


def _hub(**kwargs: Any) -> Hub:
    """A hub whose broker is this process (as the in-process broker is)."""
    hub = Hub(**kwargs)

    async def publish(topic: str, event: dict[str, Any]) -> None:
        hub.dispatch(topic, event)

    hub.publish = publish
    return hub


def _agent(hub: Hub, name: str) -> Connection:
    agent = Agent(id=uuid.uuid4(), role="agent", display_name=name, email=f"{name}@x.test")
    connection = Connection(None, Actor(kind="agent", agent=agent), hub,  # type: ignore[arg-type]
                            noop_fetch)
    hub.register(connection)
    return connection


def _viewing(frames: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [f for f in frames if f["type"] == "viewing" and f["agent"]["name"] == name]


async def test_a_viewer_is_announced_again_while_it_follows_and_no_longer_after():
    hub = _hub(viewing_refresh_s=0.05, viewing_ttl_s=0.2)
    ticket, other_ticket = uuid.uuid4(), uuid.uuid4()
    li, wang = _agent(hub, "Li"), _agent(hub, "Wang")
    await wang.follow(ticket, "KF-TEST22", 0)
    await li.follow(ticket, "KF-TEST22", 0)
    await li.follow(other_ticket, "KF-TEST33", 0)
    await asyncio.sleep(0.28)
    refreshes = _viewing(drain(wang), "Li")
    # Every 50 ms (one timer for the connection, however many tickets it follows), each
    # holding as long as the ttl, none asking the others to answer.
    assert 3 <= len(refreshes) <= 6, refreshes
    assert all(f["state"] and f["ttl_s"] == 0.2 and f["reply"] for f in refreshes)
    assert {f["ticket"] for f in refreshes} == {"KF-TEST22"}  # Wang follows only that one
    assert _viewing(drain(li), "Wang")  # and Wang's reach Li
    assert not any(key.startswith("_") for f in refreshes for key in f)

    li.unfollow(ticket)
    li.unfollow(other_ticket)
    await asyncio.sleep(0.06)
    drain(wang)
    await asyncio.sleep(0.15)
    assert _viewing(drain(wang), "Li") == []  # nothing viewed: nothing announced
    await li.follow(ticket, "KF-TEST22", 0)  # viewing again: announced again
    await asyncio.sleep(0.08)
    assert _viewing(drain(wang), "Li")
    await li.finish()
    await asyncio.sleep(0.06)
    drain(wang)
    await asyncio.sleep(0.15)
    assert _viewing(drain(wang), "Li") == []  # gone: never announced again
    await wang.finish()


async def test_after_a_broker_outage_agents_are_told_to_resync_and_viewers_announced():
    hub = _hub(viewing_refresh_s=60)
    ticket = uuid.uuid4()
    li, wang, idle = _agent(hub, "Li"), _agent(hub, "Wang"), _agent(hub, "Idle")
    customer = Connection(None, Actor(kind="visitor", visitor_id="v_x"), hub,  # type: ignore[arg-type]
                          noop_fetch)
    hub.register(customer)
    for connection in (li, wang, customer):
        await connection.follow(ticket, "KF-TEST22", 0)
    told: list[str] = []
    hub.resync_hooks.append(lambda: told.append("resync"))
    hub.resync()
    await asyncio.sleep(0.02)
    li_frames, wang_frames = drain(li), drain(wang)
    for frames in (li_frames, wang_frames, drain(idle)):
        assert {"type": "resync", "reason": "broker"} in frames
    assert drain(customer) == []  # customers' widgets have nothing of the kind to fetch
    # Each viewer announces itself as a newcomer does, and the other answers it.
    assert [f["reply"] for f in _viewing(wang_frames, "Li")] == [False, True]
    assert [f["reply"] for f in _viewing(li_frames, "Wang")] == [False, True]
    assert told == ["resync"]
    for connection in (li, wang, idle, customer):
        await connection.finish()
