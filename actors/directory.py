"""Slots of a family of actors by key (tables by id, robots by robot id).

Changed only by the actor that starts and stops the family; read by any thread.
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

from robodine_edge.actors.supervisor import ActorSlot, ProxyT
from robodine_edge.errors import NotFound

K = TypeVar("K")


class Directory(Generic[K, ProxyT]):
    def __init__(self, what: str) -> None:
        self._what = what
        self._slots: dict[K, ActorSlot[ProxyT]] = {}
        self._lock = threading.Lock()

    def get(self, key: K) -> ActorSlot[ProxyT]:
        with self._lock:
            slot = self._slots.get(key)
        if slot is None:
            raise NotFound(f"{self._what} {key} not found")
        return slot

    def find(self, key: K) -> ActorSlot[ProxyT] | None:
        with self._lock:
            return self._slots.get(key)

    def add(self, key: K, slot: ActorSlot[ProxyT]) -> None:
        with self._lock:
            self._slots[key] = slot

    def remove(self, key: K) -> None:
        with self._lock:
            self._slots.pop(key, None)

    def items(self) -> list[tuple[K, ActorSlot[ProxyT]]]:
        with self._lock:
            return list(self._slots.items())
