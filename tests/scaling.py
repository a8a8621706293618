"""A check that a function of a text takes time in proportion to the text, not to its square:
what a customer can send (a chat body is up to 20,000 characters) must not let one message hold
the analysis worker, or the loop, for seconds."""

from __future__ import annotations

import time
from collections.abc import Callable


def growth(work: Callable[[str], object], text: Callable[[int], str], *, small: int = 2_000,
           large: int = 20_000) -> float:
    """How many times longer ``work`` takes on ``text(large)`` than on ``text(small)`` (best of
    five each, after a warm-up). Ten times the text: about 10 when linear, about 100 when
    quadratic."""
    def best(body: str) -> float:
        work(body)
        times = []
        for _ in range(5):
            started = time.perf_counter()
            work(body)
            times.append(time.perf_counter() - started)
        return min(times)

    return best(text(large)) / best(text(small))
