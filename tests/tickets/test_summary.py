"""A ticket's realtime summary (inbox rows, status frames) follows every change to the ticket,
though its unchanging part is kept between a chat's messages (kefu.tickets.events._row_of)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from kefu.tickets.events import ticket_summary
from kefu.tickets.models import Ticket

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def _ticket() -> Ticket:
    return Ticket(id=uuid.uuid4(), number="KF-SUM001", subject="Deposit missing", status="open",
                  pending_reason=None, priority="normal", channel="chat", language="en",
                  customer_id=uuid.uuid4(), team_id=None, assignee_id=None, created_at=T0,
                  updated_at=T0, last_customer_message_at=None)


def test_the_summary_follows_each_field_it_is_made_of() -> None:
    ticket = _ticket()
    first = ticket_summary(ticket)
    assert first["id"] == str(ticket.id)
    assert first["language_name"] == "English"
    assert first["team_id"] is None
    assert first["last_customer_message_at"] is None
    team, agent = uuid.uuid4(), uuid.uuid4()
    changes = {"subject": "Withdrawal stuck", "status": "pending",
               "pending_reason": "customer", "priority": "urgent", "channel": "email",
               "language": "zh", "team_id": team, "assignee_id": agent,
               "customer_id": uuid.uuid4(), "number": "KF-SUM002",
               "created_at": T0 - timedelta(days=1)}
    for name, value in changes.items():
        setattr(ticket, name, value)
        summary = ticket_summary(ticket)
        shown = summary[name]
        expected = (value.isoformat() if isinstance(value, datetime)
                    else str(value) if isinstance(value, uuid.UUID) else value)
        assert shown == expected, name
    assert summary["language_name"] == "中文"
    ticket.updated_at = ticket.last_customer_message_at = T0 + timedelta(minutes=5)
    moved = ticket_summary(ticket)
    assert moved["updated_at"] == moved["last_customer_message_at"] == (
        T0 + timedelta(minutes=5)).isoformat()
    assert moved["status"] == "pending"
    assert moved["assignee_id"] == str(agent)


def test_a_summary_handed_out_is_the_callers_own() -> None:
    ticket = _ticket()
    summary = ticket_summary(ticket)
    summary["tags"] = ["vip"]
    summary["status"] = "changed by a caller"
    assert "tags" not in ticket_summary(ticket)
    assert ticket_summary(ticket)["status"] == "open"
