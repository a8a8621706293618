"""A circuit breaker for the exchange back office, so that a dead one costs Kefu one timeout per
cool-off instead of one per ticket page, per panel and per assistant lookup.

Closed: calls go through; ``failures`` outages in a row (timeouts, unreachable, 5xx, 429; see
``HttpExchangeAdapter``) open it. Open: calls fail at once, without a request, for
``cool_off_s``. Then half-open: the next call is let through as a trial while the others still
fail fast; an answer closes the breaker, an outage opens it for another cool-off. An answer
about the customer (404 unknown customer, another 4xx) is an answer: the back office is up.

The state lives in the adapter that owns the breaker, in this process; nothing is shared
between processes (each finds out on its own, at the cost of one timeout).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Literal

logger = logging.getLogger(__name__)

BreakerState = Literal["closed", "open", "half_open"]
# How a call was let through: as usual, or as the one trial of a half-open breaker.
Admission = Literal["call", "trial"]

DEFAULT_FAILURES = 3
DEFAULT_COOL_OFF_S = 30.0


class CircuitBreaker:
    """Counts consecutive outages and says whether a call may go to the back office.

    Not thread-safe: one instance is used from one event loop. ``clock`` is a monotonic clock
    in seconds (injectable for tests)."""

    def __init__(
        self,
        *,
        failures: int = DEFAULT_FAILURES,
        cool_off_s: float = DEFAULT_COOL_OFF_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failures < 1:
            raise ValueError("a circuit breaker needs at least one failure to open")
        if cool_off_s <= 0:
            raise ValueError("a circuit breaker's cool-off must be positive")
        self.failures = failures
        self.cool_off_s = cool_off_s
        self._clock = clock
        self._consecutive = 0
        self._opened_at: float | None = None  # None: closed
        self._trial = False  # a half-open trial call is in flight

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return "closed"
        if self._trial or self.retry_in() == 0:
            return "half_open"
        return "open"

    def retry_in(self) -> float:
        """Seconds until the next trial call may go (0 when closed or due)."""
        if self._opened_at is None:
            return 0.0
        return max(0.0, self._opened_at + self.cool_off_s - self._clock())

    def allow(self) -> Admission | None:
        """How this call may go to the back office; ``None``: it may not (fail fast). When
        half-open only the first caller gets through, as the ``"trial"``. Every admitted call
        ends with ``succeeded``, ``failed`` or ``abandoned``, given its admission."""
        if self._opened_at is None:
            return "call"
        if self._trial or self.retry_in() > 0:
            return None
        self._trial = True
        return "trial"

    def succeeded(self, admission: Admission) -> None:
        """The back office answered (whatever it said about the customer)."""
        was_open = self._opened_at is not None
        self._consecutive = 0
        self._opened_at = None
        self._trial = False
        if was_open:
            logger.info("exchange back office circuit closed: it answers again")

    def failed(self, admission: Admission) -> None:
        """The back office timed out, was unreachable or answered with an outage status."""
        self._consecutive += 1
        if admission == "trial":  # another cool-off; the opening was logged already
            self._opened_at = self._clock()
            self._trial = False
        elif self._opened_at is None and self._consecutive >= self.failures:
            self._opened_at = self._clock()
            logger.warning(
                "exchange back office circuit opened: calls fail fast during the cool-off",
                extra={"failures": self._consecutive, "cool_off_s": self.cool_off_s},
            )

    def abandoned(self, admission: Admission) -> None:
        """The call ended without an outcome (cancelled): a trial's slot is given back."""
        if admission == "trial":
            self._trial = False
