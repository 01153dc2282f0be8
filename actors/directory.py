"""Slots of a family of actors by key (tables by id, robots by robot id).

Changed only by the actor that starts and stops the family; read by any thread.
"""

from __future__ import annotations

import threading
from typing import Any, Generic, TypeVar

from robodine_edge.actors.supervisor import ActorSlot
from robodine_edge.errors import NotFound

K = TypeVar("K")


class Directory(Generic[K]):
    def __init__(self, what: str) -> None:
        self._what = what
        self._slots: dict[K, ActorSlot[Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: K) -> ActorSlot[Any]:
        with self._lock:
            slot = self._slots.get(key)
        if slot is None:
            raise NotFound(f"{self._what} {key} not found")
        return slot

    def find(self, key: K) -> ActorSlot[Any] | None:
        with self._lock:
            return self._slots.get(key)

    def add(self, key: K, slot: ActorSlot[Any]) -> None:
        with self._lock:
            self._slots[key] = slot

    def remove(self, key: K) -> None:
        with self._lock:
            self._slots.pop(key, None)

    def items(self) -> list[tuple[K, ActorSlot[Any]]]:
        with self._lock:
            return list(self._slots.items())
