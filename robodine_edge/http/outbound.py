"""A WebSocket connection's bounded outbound queue (docs/API.md: a slow client
never slows the service; over its cap, updates of the same entity coalesce).
Event loop only, like the hub (robodine_edge/http/hub.py)."""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any

QUEUE_CAP = 1000


class OutboundQueue:
    """A connection's frames waiting to be written. Event loop only.

    Bounded: past `cap`, a new upsert of an entity already waiting replaces it (the old
    one is dropped, the new one goes to the back, so `seq` still only grows).
    """

    def __init__(self, cap: int = QUEUE_CAP) -> None:
        self.cap = cap
        self._items: OrderedDict[int, tuple[Any, bytes]] = OrderedDict()
        self._by_key: dict[Any, int] = {}
        self._counter = 0
        self.over_since: float | None = None
        self.coalesced = 0

    def __len__(self) -> int:
        return len(self._items)

    def put(self, frame: bytes, key: Any = None) -> None:
        if key is not None and len(self._items) >= self.cap and key in self._by_key:
            del self._items[self._by_key.pop(key)]
            self.coalesced += 1
        self._counter += 1
        self._items[self._counter] = (key, frame)
        if key is not None:
            self._by_key[key] = self._counter
        if len(self._items) >= self.cap and self.over_since is None:
            self.over_since = time.monotonic()

    def take(self, limit: int) -> list[bytes]:
        """Frames from the front until `limit` bytes are reached (the one crossing it
        included); the rest stay queued, where they may still coalesce."""
        frames: list[bytes] = []
        size = 0
        while self._items and size < limit:
            counter, (key, frame) = self._items.popitem(last=False)
            if key is not None and self._by_key.get(key) == counter:
                del self._by_key[key]
            frames.append(frame)
            size += len(frame)
        if len(self._items) < self.cap:
            self.over_since = None
        return frames

    def take_all(self) -> list[bytes]:
        """Everything queued, oldest first; the queue is empty afterwards."""
        frames = [frame for _, frame in self._items.values()]
        self._items.clear()
        self._by_key.clear()
        self.over_since = None
        return frames
