"""Which article views count: one per reader and article per half hour, none from crawlers.

"Popular articles" on the help center's home page orders by views, so a script reloading an
article (60 requests made it the first) or a crawler walking the sitemap must not move it. A
reader is the address and the browser's user agent; the memory is per process (in cluster mode
a reader may count once per process, which is as good for an ordering)."""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from typing import Final

WINDOW_S: Final = 1800.0
CAPACITY: Final = 100_000
# Crawlers, link previews, monitoring and command-line clients name themselves.
_NOT_A_READER: Final = re.compile(
    r"bot\b|bot/|crawl|spider|slurp|preview|facebookexternalhit|monitor|curl/|wget/|"
    r"python-|httpx|aiohttp|go-http-client|java/|okhttp|libwww|scrapy", re.IGNORECASE)


class ViewCounter:
    """Remembers (reader, article) for ``window_s``; the oldest are forgotten past
    ``capacity`` entries."""

    def __init__(self, window_s: float = WINDOW_S, capacity: int = CAPACITY) -> None:
        self.window_s = window_s
        self.capacity = capacity
        self._seen: OrderedDict[tuple[str, str], float] = OrderedDict()

    def counts(self, address: str, user_agent: str, slug: str, now: float | None = None) -> bool:
        """Whether this view counts (and remember it when it does)."""
        if not user_agent or _NOT_A_READER.search(user_agent):
            return False
        now = time.monotonic() if now is None else now
        key = (f"{address}\x1f{user_agent}", slug)
        last = self._seen.get(key)
        if last is not None and now - last < self.window_s:
            return False
        self._seen[key] = now
        self._seen.move_to_end(key)
        while len(self._seen) > self.capacity:
            self._seen.popitem(last=False)
        return True
