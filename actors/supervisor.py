"""Supervision for pykka actors, which have none of their own.

Every long-lived actor is started by the `Supervisor` from a `ChildSpec` and reached
through an `ActorSlot`, a stable handle whose reference the supervisor swaps when it
restarts the actor. A crash (an exception escaping a `tell` handler) is reported by
the dying actor itself (`SupervisedActor.on_failure`); the supervisor then starts a
fresh instance, which reloads its state from SQLite in `on_start`, and once the slot
points to it tells it `Reachable`: what others told the slot in between reached the
dead instance, so it reads their state again (`SupervisedActor.on_reachable`).

Restart intensity is OTP's: at most `max_restarts` restarts of one child within
`window_s` seconds. Past that the supervisor gives the child up and escalates: it
logs, emits an `actor_failed` event, and reports itself degraded, which stops the
systemd watchdog so the init system restarts the whole service (see
docs/ARCHITECTURE.md).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

import pykka

from robodine_edge.actors.base import (
    ActorFuture,
    CrashListener,
    Ping,
    Reachable,
    SupervisedActor,
    TypedProxy,
    proxy_method,
)
from robodine_edge.process.logs import ALREADY_RECORDED

log = logging.getLogger(__name__)

ProxyT = TypeVar("ProxyT", covariant=True)
"""An actor's typed proxy class (`FloorProxy`, ...; `object` for an actor reached by
messages only): what `ActorSlot.proxy` is seen as."""
START_TIMEOUT_S = 10.0
Ref = pykka.ActorRef[Any]


class ActorSlot(Generic[ProxyT]):
    """A stable handle on a supervised actor; survives its restarts.

    Any thread may use it. Only the supervisor's thread installs a new reference.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._ref: Ref | None = None
        self._proxy: tuple[Ref, ProxyT] | None = None
        self._watchers: list[Callable[[Ref], None]] = []
        self._watch_lock = threading.Lock()

    @property
    def ref(self) -> Ref:
        ref = self._ref
        if ref is None:
            raise pykka.ActorDeadError(f"actor {self.name} is not started")
        return ref

    @property
    def proxy(self) -> ProxyT:
        """The current actor's proxy, built once per actor instance (building costs ~0.2 ms)."""
        ref = self.ref
        cached = self._proxy
        if cached is not None and cached[0] is ref:
            return cached[1]
        proxy = cast(ProxyT, ref.proxy())
        self._proxy = (ref, proxy)
        return proxy

    def mailbox_depth(self) -> int:
        """Messages waiting for the current instance (0 when none runs)."""
        ref = self._ref
        inbox = ref.actor_inbox if ref is not None else None
        return inbox.qsize() if isinstance(inbox, queue.Queue) else 0

    def is_alive(self) -> bool:
        ref = self._ref
        return ref is not None and ref.is_alive()

    def ask(self, message: object) -> ActorFuture[Any]:
        """Send `message` and return the reply future (failed at once if the actor is dead).

        Plain messages are answered by `on_receive`, untyped by nature: prefer the proxy."""
        try:
            future = self.ref.ask(message, block=False)
        except pykka.ActorDeadError as exc:
            failed: ActorFuture[Any] = ActorFuture()
            failed.fail(exc)
            return failed
        assert isinstance(future, ActorFuture)  # SupervisedActor._create_future
        return future

    def tell(self, message: object) -> bool:
        """Send `message` without a reply; a dead actor makes it a logged dead letter."""
        try:
            self.ref.tell(message)
        except pykka.ActorDeadError:
            log.warning("dead letter: %s for %s (not running)", type(message).__name__, self.name)
            return False
        return True

    def install(self, ref: Ref) -> None:
        """Point the slot at a newly started actor. Supervisor thread only."""
        self._ref = ref
        with self._watch_lock:
            watchers, self._watchers = self._watchers, []
        for watcher in watchers:
            watcher(ref)

    def when_installed(self, watcher: Callable[[Ref], None]) -> None:
        """Any thread: call `watcher(ref)` once, on the supervisor's thread, when the next
        instance is installed (a restart), so nobody has to poll the slot for it."""
        with self._watch_lock:
            self._watchers.append(watcher)

    def unwatch(self, watcher: Callable[[Ref], None]) -> None:
        with self._watch_lock:
            if watcher in self._watchers:
                self._watchers.remove(watcher)


@dataclass(frozen=True)
class ChildSpec(Generic[ProxyT]):
    """How to start one supervised actor: `start(crash_listener)` returns its reference.

    Written `ChildSpec[FloorProxy](name, start)`: the proxy its slot is seen through."""

    name: str
    start: Callable[[CrashListener], Ref]


@dataclass(frozen=True, slots=True)
class SupervisionEvent:
    """A restart (`actor_restarted`) or a give-up (`actor_failed`), for the event log."""

    type: str
    actor: str
    error: str
    restarts: int


@dataclass(frozen=True, slots=True)
class SupervisionHealth:
    degraded: bool
    failed: tuple[str, ...]
    restarts: int


@dataclass(frozen=True, slots=True)
class ChildCrashed:
    name: str
    urn: str
    error: str


class RestartBudget:
    """Restart intensity: at most `max_restarts` within a sliding `window_s`."""

    def __init__(self, max_restarts: int, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._max = max_restarts
        self._window = window_s
        self._clock = clock
        self._times: deque[float] = deque()

    def take(self) -> bool:
        """Spend one restart; False when the budget for the window is exhausted."""
        now = self._clock()
        while self._times and now - self._times[0] > self._window:
            self._times.popleft()
        if len(self._times) >= self._max:
            return False
        self._times.append(now)
        return True


class Supervisor(SupervisedActor):
    """Starts, restarts and stops the long-lived actors, in order.

    All methods run in the supervisor's own thread. It blocks only on its children's
    start-up pings (bounded by a timeout); children never ask it anything back.
    """

    def __init__(
        self,
        *,
        max_restarts: int = 3,
        window_s: float = 5.0,
        on_event: Callable[[SupervisionEvent], None] | None = None,
    ) -> None:
        super().__init__()
        self._max_restarts = max_restarts
        self._window_s = window_s
        self._on_event = on_event
        self._specs: dict[str, ChildSpec[object]] = {}
        self._slots: dict[str, ActorSlot[object]] = {}
        self._budgets: dict[str, RestartBudget] = {}
        self._failed: set[str] = set()
        self._restarts = 0

    # -- commands (ask) -------------------------------------------------------------

    def start_child(self, spec: ChildSpec[ProxyT], slot: ActorSlot[ProxyT] | None = None) -> ActorSlot[ProxyT]:
        """Start `spec` and wait until it answers a ping; raises if it cannot start."""
        if spec.name in self._specs:
            raise ValueError(f"actor {spec.name} is already supervised")
        slot = slot or ActorSlot[ProxyT](spec.name)
        self._specs[spec.name] = spec
        self._slots[spec.name] = slot
        self._budgets[spec.name] = RestartBudget(self._max_restarts, self._window_s)
        try:
            self._launch(spec, slot)
        except Exception:
            del self._specs[spec.name], self._slots[spec.name], self._budgets[spec.name]
            raise
        return slot

    def stop_child(self, name: str, timeout: float = 5.0) -> None:
        """Stop one child for good (it will not be restarted)."""
        slot = self._slots.pop(name, None)
        self._specs.pop(name, None)
        self._budgets.pop(name, None)
        self._failed.discard(name)
        if slot is not None and slot.is_alive():
            _stop_quietly(slot, timeout)

    def stop_children(self, timeout: float = 5.0) -> None:
        """Stop every child in the reverse of the order they were started."""
        for name in reversed(list(self._slots)):
            self.stop_child(name, timeout)

    def ping_all(self, timeout: float = 2.0) -> dict[str, bool]:
        """Ping every child at once; True for each that answered within `timeout`."""
        futures = {name: slot.ask(Ping()) for name, slot in self._slots.items()}
        deadline = time.monotonic() + timeout
        answers: dict[str, bool] = {}
        for name, future in futures.items():
            try:
                answers[name] = future.get(timeout=max(0.0, deadline - time.monotonic())) == "pong"
            except Exception:
                answers[name] = False
        return answers

    def responsive(self, timeout: float = 2.0) -> bool:
        """True when no child was given up and every child answered a ping in time."""
        return not self._failed and all(self.ping_all(timeout).values())

    def health(self) -> SupervisionHealth:
        return SupervisionHealth(
            degraded=bool(self._failed), failed=tuple(sorted(self._failed)), restarts=self._restarts
        )

    def children(self) -> dict[str, ActorSlot[object]]:
        return dict(self._slots)

    # -- events (tell) --------------------------------------------------------------

    def on_receive(self, message: object) -> object:
        if isinstance(message, ChildCrashed):
            try:
                self._child_crashed(message)
            except Exception:
                log.exception("supervisor failed to handle the crash of %s", message.name)
            return None
        return super().on_receive(message)

    def on_stop(self) -> None:
        self.stop_children()

    # -- internals ------------------------------------------------------------------

    def _listener_for(self, name: str) -> CrashListener:
        supervisor = self.actor_ref

        def report(urn: str, error: BaseException | None) -> None:
            """Runs in the crashing child's thread, just before it ends."""
            try:
                supervisor.tell(ChildCrashed(name, urn, repr(error)))
            except pykka.ActorDeadError:
                log.error("actor %s crashed while the supervisor is stopped: %r", name, error)

        return report

    def _launch(self, spec: ChildSpec[object], slot: ActorSlot[object], *, restart: bool = False) -> None:
        """Start the child, wait for its `on_start` (a ping), then point its slot at it. A
        restarted one is then told `Reachable`: what others told its slot while it started
        reached the dead instance, so it reads their state again (`on_reachable`). A first
        start needs none: nobody knew the actor before its slot did."""
        ref = spec.start(self._listener_for(spec.name))
        try:
            ref.ask(Ping(), timeout=START_TIMEOUT_S)
        except pykka.ActorDeadError:
            raise RuntimeError(f"actor {spec.name} failed in on_start") from None
        except pykka.Timeout:
            ref.stop(block=False)
            raise RuntimeError(f"actor {spec.name} did not answer within {START_TIMEOUT_S}s") from None
        slot.install(ref)
        if restart:
            with contextlib.suppress(pykka.ActorDeadError):  # died already: the next one is told
                ref.tell(Reachable())

    def _child_crashed(self, crash: ChildCrashed) -> None:
        slot = self._slots.get(crash.name)
        if slot is None or slot._ref is None or slot._ref.actor_urn != crash.urn:
            return  # a child we already replaced or stopped
        log.error("actor %s crashed: %s", crash.name, crash.error, extra=ALREADY_RECORDED)
        self._restart(crash.name, crash.error)

    def _restart(self, name: str, error: str) -> None:
        spec, slot, budget = self._specs[name], self._slots[name], self._budgets[name]
        while budget.take():
            self._restarts += 1
            try:
                self._launch(spec, slot, restart=True)
            except Exception as exc:
                log.error("restart of actor %s failed: %s", name, exc)
                error = str(exc)
                continue
            log.warning("restarted actor %s", name, extra=ALREADY_RECORDED)
            self._emit(SupervisionEvent("actor_restarted", name, error, self._restarts))
            return
        self._failed.add(name)
        log.error("actor %s crashed too often; giving up (service degraded)", name, extra=ALREADY_RECORDED)
        self._emit(SupervisionEvent("actor_failed", name, error, self._restarts))

    def _emit(self, event: SupervisionEvent) -> None:
        if self._on_event is None:
            return
        try:
            self._on_event(event)
        except Exception:
            log.exception("supervision event handler failed")


def _stop_quietly(slot: ActorSlot[object], timeout: float) -> None:
    try:
        slot.ref.stop(block=True, timeout=timeout)
    except pykka.Timeout:
        log.error("actor %s did not stop within %.1fs", slot.name, timeout)
    except pykka.ActorDeadError:
        pass


class SupervisorProxy(TypedProxy):
    """The supervisor as its proxy is used (`ActorSlot[SupervisorProxy]`)."""

    start_child = proxy_method(Supervisor.start_child)
    stop_child = proxy_method(Supervisor.stop_child)
    stop_children = proxy_method(Supervisor.stop_children)
    ping_all = proxy_method(Supervisor.ping_all)
    responsive = proxy_method(Supervisor.responsive)
    health = proxy_method(Supervisor.health)
    children = proxy_method(Supervisor.children)
