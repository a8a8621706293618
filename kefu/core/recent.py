"""The last few items per key, for a bounded number of keys: what a sender wrote lately."""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class RecentByKey(Generic[K, V]):
    """The last ``size`` items added under each key; beyond ``max_keys`` keys, the key added to
    least recently is forgotten first."""

    def __init__(self, size: int, max_keys: int) -> None:
        self.size = size
        self.max_keys = max_keys
        self._items: OrderedDict[K, deque[V]] = OrderedDict()

    def get(self, key: K) -> deque[V] | tuple[()]:
        return self._items.get(key, ())

    def add(self, key: K, item: V) -> None:
        kept = self._items.get(key)
        if kept is None:
            kept = self._items[key] = deque(maxlen=self.size)
            if len(self._items) > self.max_keys:
                self._items.popitem(last=False)
        else:
            self._items.move_to_end(key)
        kept.append(item)

    def __len__(self) -> int:
        return len(self._items)
