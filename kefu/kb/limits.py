"""Rate limits for what anyone may do without signing in (votes, suggestions): a sliding
window per client address, kept in the process.

One per app (``limiter_for`` keeps it on ``app.state``), never a module global. In cluster mode
each process counts on its own, so the effective limit is N times higher: good enough against a
script that floods one process, which is what these limits are for."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request

from kefu.core.errors import KefuError

MAX_KEYS = 50_000


@dataclass(frozen=True)
class Rate:
    name: str
    limit: int
    window_s: float


VOTES = Rate("kb_votes", 30, 600.0)
SUGGESTIONS = Rate("kb_suggestions", 120, 600.0)


class RateLimited(KefuError):
    def __init__(self) -> None:
        super().__init__("too many requests; try again in a minute", code="rate_limited",
                         status=429)


class SlidingWindow:
    """At most ``limit`` events per ``window_s`` seconds for each key."""

    def __init__(self, limit: int, window_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window_s, self.clock = limit, window_s, clock
        self.events: dict[str, deque[float]] = {}

    def allow(self, key: str) -> bool:
        now = self.clock()
        if len(self.events) > MAX_KEYS:
            self._forget_idle(now)
        events = self.events.setdefault(key, deque())
        while events and events[0] <= now - self.window_s:
            events.popleft()
        if len(events) >= self.limit:
            return False
        events.append(now)
        return True

    def _forget_idle(self, now: float) -> None:
        self.events = {k: v for k, v in self.events.items()
                       if v and v[-1] > now - self.window_s}


def limiter_for(request: Request, rate: Rate) -> SlidingWindow:
    state = request.app.state
    limiters: dict[str, SlidingWindow] | None = getattr(state, "kb_limiters", None)
    if limiters is None:
        limiters = state.kb_limiters = {}
    if rate.name not in limiters:
        limiters[rate.name] = SlidingWindow(rate.limit, rate.window_s)
    return limiters[rate.name]


def check_rate(request: Request, rate: Rate) -> None:
    """429 once this client address has used up ``rate`` in its window."""
    address = request.client.host if request.client else "unknown"
    if not limiter_for(request, rate).allow(address):
        raise RateLimited
