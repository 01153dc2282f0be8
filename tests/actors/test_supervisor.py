"""Supervision: restarts that reload state from SQLite, intensity limits, escalation."""

from __future__ import annotations

import queue
import threading
from typing import Any, cast

import pykka
import pytest
from peewee import SqliteDatabase

from robodine_edge.actors.base import Crash, CrashListener, Ping, SupervisedActor, TypedProxy, proxy_method
from robodine_edge.actors.storage.writer import Writer, WriterActor
from robodine_edge.actors.supervisor import (
    ActorSlot,
    ChildSpec,
    RestartBudget,
    Supervisor,
    SupervisorProxy,
)
from robodine_edge.data.models import Setting
from tests.actors.conftest import EventLog


class Counter(SupervisedActor):
    """A counter whose value lives in SQLite: restarted, it continues where it was."""

    def __init__(self, store: Writer, crash_listener: CrashListener) -> None:
        super().__init__(crash_listener=crash_listener)
        self._store = store
        self.value = 0

    def on_start(self) -> None:
        row = Setting.get_or_none(Setting.key == "counter")
        self.value = row.value if row else 0

    def increment(self) -> int:
        self.value += 1
        self._store.write(_save_counter, self.value).get(timeout=5)
        return self.value

    def crash(self) -> None:
        raise RuntimeError("counter crashed")


class CounterProxy(TypedProxy):
    increment = proxy_method(Counter.increment)
    crash = proxy_method(Counter.crash)


def _save_counter(value: int) -> None:
    Setting.insert(key="counter", value=value).on_conflict_replace().execute()


class Blocker(SupervisedActor):
    def __init__(self, crash_listener: CrashListener, release: threading.Event) -> None:
        super().__init__(crash_listener=crash_listener)
        self._release = release

    def block(self) -> None:
        self._release.wait(10)


class BlockerProxy(TypedProxy):
    block = proxy_method(Blocker.block)


@pytest.fixture
def supervisor(events: EventLog) -> SupervisorProxy:
    return cast(SupervisorProxy, Supervisor.start(max_restarts=2, window_s=30, on_event=events).proxy())


@pytest.fixture
def store(supervisor: SupervisorProxy, db: SqliteDatabase) -> Writer:
    slot = supervisor.start_child(
        ChildSpec[object]("writer", lambda listener: WriterActor.start(db, crash_listener=listener))
    ).get(timeout=5)
    return Writer(slot)


def start_counter(supervisor: SupervisorProxy, store: Writer) -> ActorSlot[CounterProxy]:
    spec = ChildSpec[CounterProxy]("counter", lambda listener: Counter.start(store, listener))
    return supervisor.start_child(spec).get(timeout=5)


def crash_and_wait_for_restart(slot: ActorSlot[CounterProxy], events: EventLog) -> None:
    """Crash the actor; the restart event comes once the new instance is in the slot."""
    seen = len(events)
    slot.proxy.crash.defer()
    assert events.wait_for(seen + 1), "the supervisor did not restart the actor"


def test_a_crashed_actor_is_restarted_with_its_state_reloaded(
    supervisor: SupervisorProxy, store: Writer, events: EventLog
) -> None:
    slot = start_counter(supervisor, store)
    first = slot.ref
    assert [slot.proxy.increment().get(timeout=5) for _ in range(3)] == [1, 2, 3]
    crash_and_wait_for_restart(slot, events)
    assert slot.proxy.increment().get(timeout=5) == 4
    assert slot.ref is not first and not first.is_alive()
    assert [e.type for e in events] == ["actor_restarted"] and "counter crashed" in events[0].error


def test_a_watcher_hears_of_the_restarted_instance_once(
    supervisor: SupervisorProxy, store: Writer, events: EventLog
) -> None:
    slot = start_counter(supervisor, store)
    first = slot.ref
    heard: list[Any] = []
    installed = threading.Event()

    def hear(ref: pykka.ActorRef[Any]) -> None:
        heard.append(ref)
        installed.set()

    slot.when_installed(hear)
    gone: list[Any] = []
    forgotten = gone.append
    slot.when_installed(forgotten)
    slot.unwatch(forgotten)
    crash_and_wait_for_restart(slot, events)
    assert installed.wait(5)
    assert heard == [slot.ref] and heard[0] is not first and gone == []
    crash_and_wait_for_restart(slot, events)
    assert len(heard) == 1  # once: watchers are for the next install only


class Witness(SupervisedActor):
    """Says, when told it is reachable, whether its slot pointed to it by then."""

    def __init__(self, crash_listener: CrashListener, slot: ActorSlot[object], seen: queue.Queue[bool]) -> None:
        super().__init__(crash_listener=crash_listener)
        self._slot = slot
        self._seen = seen

    def on_reachable(self) -> None:
        self._seen.put(self._slot.ref is self.actor_ref)


def test_a_restarted_actor_is_told_it_is_reachable_once_its_slot_points_to_it(
    supervisor: SupervisorProxy, events: EventLog
) -> None:
    """Its `on_start` read before anyone could reach it: what others told the slot until
    the supervisor swapped it reached the dead instance. So once in its slot, and only
    then, a restarted instance is told (`Reachable`) and can read again what it missed. A
    first start is not: nobody knew the actor before its slot did."""
    seen: queue.Queue[bool] = queue.Queue()
    slot = ActorSlot[object]("witness")
    spec = ChildSpec[object]("witness", lambda listener: Witness.start(listener, slot, seen))
    supervisor.start_child(spec, slot).get(timeout=5)
    first = slot.ref
    assert slot.ask(Ping()).get(timeout=5) == "pong" and seen.empty()
    slot.tell(Crash())
    assert events.wait_for(1) and events[0].type == "actor_restarted"
    assert seen.get(timeout=5) is True and slot.ref is not first
    assert slot.ask(Ping()).get(timeout=5) == "pong" and seen.empty()  # told once


def test_too_many_crashes_give_the_actor_up_and_degrade(
    supervisor: SupervisorProxy, store: Writer, events: EventLog
) -> None:
    slot = start_counter(supervisor, store)
    crash_and_wait_for_restart(slot, events)
    crash_and_wait_for_restart(slot, events)
    slot.proxy.crash.defer()
    assert events.gave_up.wait(5)
    health = supervisor.health().get(timeout=5)
    assert health.degraded and health.failed == ("counter",)
    assert [e.type for e in events] == ["actor_restarted", "actor_restarted", "actor_failed"]
    assert not slot.is_alive()
    assert supervisor.ping_all().get(timeout=5) == {"writer": True, "counter": False}
    assert supervisor.responsive().get(timeout=5) is False
    with pytest.raises(pykka.ActorDeadError):
        slot.proxy.increment().get(timeout=5)


def test_an_actor_that_cannot_start_is_reported(supervisor: SupervisorProxy) -> None:
    class Broken(SupervisedActor):
        def on_start(self) -> None:
            raise OSError("device missing")

    with pytest.raises(RuntimeError, match="failed in on_start"):
        supervisor.start_child(ChildSpec[object]("broken", lambda listener: Broken.start(crash_listener=listener))).get(
            timeout=15
        )
    assert "broken" not in supervisor.children().get(timeout=5)


def test_a_busy_actor_makes_the_system_unresponsive(supervisor: SupervisorProxy) -> None:
    release = threading.Event()
    slot = supervisor.start_child(
        ChildSpec[BlockerProxy]("blocker", lambda listener: Blocker.start(listener, release))
    ).get(timeout=5)
    assert supervisor.responsive(0.5).get(timeout=5) is True
    slot.proxy.block.defer()
    try:
        assert supervisor.responsive(0.3).get(timeout=5) is False
    finally:
        release.set()
    assert supervisor.responsive(2).get(timeout=5) is True


def test_children_stop_in_reverse_start_order(supervisor: SupervisorProxy) -> None:
    stopped: list[str] = []

    class Recorder(SupervisedActor):
        def __init__(self, name: str, crash_listener: CrashListener) -> None:
            super().__init__(crash_listener=crash_listener)
            self.name = name

        def on_stop(self) -> None:
            stopped.append(self.name)

    def recorder(name: str) -> ChildSpec[object]:
        return ChildSpec[object](name, lambda listener: Recorder.start(name, listener))

    for name in ("first", "second", "third"):
        supervisor.start_child(recorder(name)).get(timeout=5)
    supervisor.stop_children().get(timeout=10)
    assert stopped == ["third", "second", "first"]


def test_restart_budget_is_a_sliding_window() -> None:
    now = [0.0]
    budget = RestartBudget(3, 5.0, clock=lambda: now[0])
    assert [budget.take() for _ in range(3)] == [True, True, True]
    assert budget.take() is False
    now[0] = 5.5
    assert budget.take() is True


def test_slot_of_an_actor_never_started() -> None:
    slot = ActorSlot[object]("ghost")
    assert not slot.is_alive()
    assert slot.tell("hello") is False
    with pytest.raises(pykka.ActorDeadError):
        slot.ask("hello").get(timeout=1)
