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

    A client keeping up holds a frame or two between turns, and a fan-out puts one into
    every connection's queue: so which entity waits where is only indexed while the
    queue is at its cap, where coalescing happens (built from the queue when it gets
    there), and `size` is a plain attribute the hub reads without a call.
    """

    def __init__(self, cap: int = QUEUE_CAP) -> None:
        self.cap = cap
        self.size = 0
        self._items: OrderedDict[int, tuple[Any, bytes]] = OrderedDict()
        self._by_key: dict[Any, int] | None = None
        """key → its waiting frame's counter, while at the cap (None below it)."""
        self._counter = 0
        self.over_since: float | None = None
        self.coalesced = 0

    def __len__(self) -> int:
        return self.size

    def put(self, frame: bytes, key: Any = None) -> int:
        """Queue `frame` (replacing the waiting frame of `key` when at the cap); returns
        how many frames wait now."""
        self._counter += 1
        if self.size >= self.cap:
            by_key = self._index()
            if key is not None and key in by_key:
                del self._items[by_key.pop(key)]
                self.size -= 1
                self.coalesced += 1
            if key is not None:
                by_key[key] = self._counter
        self._items[self._counter] = (key, frame)
        self.size += 1
        if self.size >= self.cap and self.over_since is None:
            self.over_since = time.monotonic()
        return self.size

    def take(self, limit: int) -> list[bytes]:
        """Frames from the front until `limit` bytes are reached (the one crossing it
        included); the rest stay queued, where they may still coalesce."""
        frames: list[bytes] = []
        size = 0
        items, by_key = self._items, self._by_key
        while items and size < limit:
            counter, (key, frame) = items.popitem(last=False)
            if by_key is not None and key is not None and by_key.get(key) == counter:
                del by_key[key]
            frames.append(frame)
            size += len(frame)
        self.size = len(items)
        if self.size < self.cap:
            self.over_since = None
            self._by_key = None
        return frames

    def take_all(self) -> list[bytes]:
        """Everything queued, oldest first; the queue is empty afterwards."""
        frames = [frame for _, frame in self._items.values()]
        self._items.clear()
        self._by_key = None
        self.size = 0
        self.over_since = None
        return frames

    def _index(self) -> dict[Any, int]:
        """Which entity waits where: built once the queue reaches its cap."""
        if self._by_key is None:
            self._by_key = {key: counter for counter, (key, _) in self._items.items() if key is not None}
        return self._by_key
