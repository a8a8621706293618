"""Errors of the trust domain. ``TooManyRequests`` carries how long to wait; the application
renders it as a 429 with ``Retry-After`` (``kefu.trust.api.mount``)."""

from __future__ import annotations

import math

from kefu.core.errors import KefuError


class TooManyRequests(KefuError):
    """429: the caller must wait ``retry_after_s`` seconds (rounded up for the header)."""

    def __init__(self, message: str, *, code: str, retry_after_s: float) -> None:
        super().__init__(message, code=code, status=429)
        self.retry_after_s = max(1, math.ceil(retry_after_s))


class RateLimited(TooManyRequests):
    def __init__(self, retry_after_s: float) -> None:
        super().__init__(f"too many requests; try again in {max(1, math.ceil(retry_after_s))} s",
                         code="rate_limited", retry_after_s=retry_after_s)


class CoolingDown(TooManyRequests):
    """The customer or visitor is in a cool-down after abuse; they may write again later."""

    def __init__(self, retry_after_s: float) -> None:
        super().__init__("your messages are paused after abusive or repeated ones; try again "
                         f"in {max(1, math.ceil(retry_after_s))} s",
                         code="cooling_down", retry_after_s=retry_after_s)


class TipOffBlocked(KefuError):
    """A reply to a customer under a compliance hold would tip them off."""

    def __init__(self, phrases: list[str]) -> None:
        shown = ", ".join(f"“{p}”" for p in phrases[:3])
        super().__init__(f"this customer is under a compliance hold; the reply mentions {shown}",
                         code="compliance_tipoff", status=422)
        self.phrases = phrases
        self.values = {"phrases": shown}


class StepUpError(KefuError):
    """A step-up link or callback that cannot be used; the code says why."""
