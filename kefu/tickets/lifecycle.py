"""The ticket state machine. One table says which moves are legal; everything else asks it."""

from __future__ import annotations

from kefu.core.errors import Conflict

# new → open → pending (customer | internal) → escalated → resolved → closed
TRANSITIONS: dict[str, frozenset[str]] = {
    "new": frozenset({"open", "pending", "escalated", "resolved"}),
    "open": frozenset({"pending", "escalated", "resolved"}),
    "pending": frozenset({"open", "pending", "escalated", "resolved"}),
    "escalated": frozenset({"open", "pending", "resolved"}),
    "resolved": frozenset({"open", "closed"}),
    "closed": frozenset(),
}


class IllegalTransition(Conflict):
    def __init__(self, current: str, target: str) -> None:
        super().__init__(
            f"a ticket cannot go from '{current}' to '{target}'", code="illegal_transition"
        )


def check_transition(current: str, target: str) -> None:
    if target not in TRANSITIONS.get(current, frozenset()):
        raise IllegalTransition(current, target)


def is_active(status: str) -> bool:
    return status not in ("resolved", "closed")
