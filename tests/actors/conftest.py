"""Running actors for tests: a supervisor, the store, and a recording publisher."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from peewee import SqliteDatabase

from robodine_edge.actors.storage.journal import Journal
from robodine_edge.actors.storage.writer import Writer, WriterActor
from robodine_edge.actors.supervisor import ActorSlot, ChildSpec, SupervisionEvent, Supervisor, SupervisorProxy


class EventLog(list[SupervisionEvent]):
    """Supervision events as they arrive (supervisor thread), with a way to wait for them."""

    def __init__(self) -> None:
        super().__init__()
        self.gave_up = threading.Event()
        self._changed = threading.Condition()

    def __call__(self, event: SupervisionEvent) -> None:
        with self._changed:
            self.append(event)
            self._changed.notify_all()
        if event.type == "actor_failed":
            self.gave_up.set()

    def wait_for(self, count: int, timeout: float = 5.0) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: len(self) >= count, timeout)


class Published:
    """Everything actors published, as (topic, kind, data); thread-safe."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str, Any]] = []
        self._changed = threading.Condition()

    def __call__(self, topic: str, kind: str, data: Any) -> None:
        with self._changed:
            self.items.append((topic, kind, data))
            self._changed.notify_all()

    def topic(self, name: str) -> list[Any]:
        with self._changed:
            return [data for topic, _, data in self.items if topic == name]

    def wait_for(self, predicate: Any, timeout: float = 5.0) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: any(predicate(t, k, d) for t, k, d in self.items), timeout)


@pytest.fixture
def published() -> Published:
    return Published()


@pytest.fixture
def events() -> EventLog:
    return EventLog()


@pytest.fixture
def supervisor_slot(events: EventLog) -> ActorSlot[SupervisorProxy]:
    slot = ActorSlot[SupervisorProxy]("supervisor")
    slot.install(Supervisor.start(max_restarts=2, window_s=30, on_event=events))
    return slot


@pytest.fixture
def store(supervisor_slot: ActorSlot[SupervisorProxy], db: SqliteDatabase) -> Writer:
    spec = ChildSpec[object]("writer", lambda listener: WriterActor.start(db, crash_listener=listener))
    return Writer(supervisor_slot.proxy.start_child(spec).get(timeout=5))


@pytest.fixture
def journal(store: Writer, published: Published) -> Journal:
    return Journal(store, published)
