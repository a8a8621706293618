"""Who is making a request. Every authorization decision starts from an ``Actor``."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

from kefu.accounts.models import Agent, Customer

ActorKind = Literal["anonymous", "visitor", "customer", "agent"]


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    agent: Agent | None = None
    customer: Customer | None = None
    visitor_id: str | None = None
    team_ids: frozenset[uuid.UUID] = field(default_factory=frozenset)
    via: Literal["", "session", "token", "jwt", "portal", "visitor"] = ""
    session_id: uuid.UUID | None = None
    token_id: uuid.UUID | None = None  # the API token an agent's websocket was opened with
    # Set when admin policy requires 2FA and this agent has not enrolled yet: only enrolment is
    # allowed until then.
    must_enroll_2fa: bool = False
    # Unsafe requests authenticated by a cookie must carry this CSRF token.
    csrf_token: str | None = None

    @property
    def role(self) -> str | None:
        return self.agent.role if self.agent else None

    @property
    def is_agent(self) -> bool:
        return self.agent is not None

    @property
    def is_supervisor(self) -> bool:
        return self.agent is not None and self.agent.role in ("supervisor", "admin")

    @property
    def is_admin(self) -> bool:
        return self.agent is not None and self.agent.role == "admin"

    @property
    def is_customer_side(self) -> bool:
        return self.kind in ("customer", "visitor")

    @cached_property  # several times for every chat message; who it names never changes
    def label(self) -> str:
        if self.agent:
            return f"agent:{self.agent.id}"
        if self.customer:
            return f"customer:{self.customer.id}"
        if self.visitor_id:
            return f"visitor:{self.visitor_id}"
        return "anonymous"


ANONYMOUS = Actor(kind="anonymous")
