"""What every robodine actor shares: awaitable futures, crash reports, dead letters.

pykka gives each actor a thread and a mailbox but no supervision and no way to wait on
a reply without blocking a thread. This module adds both seams:

* `ActorFuture`: a pykka future that also runs callbacks when it is resolved, so the
  event loop can be told of a reply (see `robodine_edge.threads.bridge`) instead of
  parking a thread in `get()`. Every `ask` and proxy call to a `SupervisedActor`
  returns one, because pykka builds reply futures with the actor class's
  `_create_future`.
* `SupervisedActor`: reports its own crash to a listener (the supervisor), and logs
  the messages it will never handle (dead letters).
* `proxy_method`: types a method as seen through a proxy, pykka's `pykka.typing` idea
  with our `ActorFuture` as the reply. Each actor module declares its proxy class
  (`FloorProxy`, ...) listing the methods others call, so a misspelt method or a wrong
  argument is a type error, and every reply has the actor method's return type.
"""

from __future__ import annotations

import logging
import queue
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Concatenate, Generic, ParamSpec, Protocol, TypeVar, cast

import pykka
from pykka.messages import _ActorStop

log = logging.getLogger(__name__)

T = TypeVar("T")
P = ParamSpec("P")
R = TypeVar("R")
ExcInfo = tuple[type[BaseException] | None, BaseException | None, TracebackType | None]
CrashListener = Callable[[str, BaseException | None], None]
"""Called in the crashing actor's own thread with its URN and the exception."""


class ActorFuture(pykka.ThreadingFuture[T], Generic[T]):
    """A pykka future that runs callbacks once resolved (in the resolving thread).

    Callbacks must be quick and must not block: they run on an actor thread.
    """

    def __init__(self) -> None:
        super().__init__()
        self._callback_lock = threading.Lock()
        self._resolved = False
        self._callbacks: list[Callable[[ActorFuture[T]], object]] = []

    def add_done_callback(self, callback: Callable[[ActorFuture[T]], object]) -> None:
        """Run `callback(self)` when resolved; at once (in this thread) if it already is."""
        with self._callback_lock:
            if not self._resolved:
                self._callbacks.append(callback)
                return
        callback(self)

    def get(self, *, timeout: float | None = None) -> T:
        """The result (pykka's `ThreadingFuture.get` is typed `Any`; this is the reply's type)."""
        value: T = super().get(timeout=timeout)
        return value

    def set(self, value: Any | None = None) -> None:
        super().set(value)
        self._run_callbacks()

    def set_exception(self, exc_info: ExcInfo | None = None) -> None:
        super().set_exception(exc_info if exc_info is not None else sys.exc_info())
        self._run_callbacks()

    def fail(self, error: BaseException) -> None:
        """Resolve with `error` from outside an `except` block."""
        self.set_exception((type(error), error, error.__traceback__))

    def flatten(self: ActorFuture[ActorFuture[R]]) -> ActorFuture[R]:
        """One future of the outcome of the future this one resolves to: for an ask answered
        with the future of later work (the order queue answers a placement with the store's
        commit), so its caller waits once. Resolved in whichever thread resolves the last of
        the two; an error of either is its error. Never blocks."""
        flat: ActorFuture[R] = ActorFuture()

        def outer_done(outer: ActorFuture[ActorFuture[R]]) -> None:
            try:
                inner = outer.get(timeout=0)
            except BaseException as exc:  # the ask's own error (a refusal, a dead actor)
                flat.fail(exc)
                return
            inner.add_done_callback(lambda done: _copy_outcome(done, flat))

        self.add_done_callback(outer_done)
        return flat

    def _run_callbacks(self) -> None:
        with self._callback_lock:
            self._resolved = True
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            try:
                callback(self)
            except Exception:
                log.exception("future callback failed")


class ProxyMethod(Protocol[P, R]):
    """An actor method seen through its proxy: a call asks (any thread; the reply is an
    `ActorFuture` resolved on the actor's thread), `defer` tells (no reply)."""

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> ActorFuture[R]: ...

    def defer(self, *args: P.args, **kwargs: P.kwargs) -> None: ...


def _copy_outcome(source: ActorFuture[T], target: ActorFuture[T]) -> None:
    try:
        value = source.get(timeout=0)
    except BaseException as exc:
        target.fail(exc)
    else:
        target.set(value)


class TypedProxy:
    """Base of the typed proxy classes: what every pykka proxy has besides the methods."""

    actor_ref: pykka.ActorRef[Any]
    """The actor instance this proxy calls (a restarted actor has another)."""


class _ProxyAttribute(Protocol[P, R]):
    def __get__(self, instance: object, owner: type | None = None) -> ProxyMethod[P, R]: ...


def proxy_method(method: Callable[Concatenate[Any, P], R]) -> _ProxyAttribute[P, R]:
    """Declare `method` on a typed proxy class: `place = proxy_method(OrderQueueActor.place)`.

    Typing only: the class is never instantiated; `ActorSlot.proxy` is pykka's proxy, seen
    as that class. Naming the actor's own function keeps the two from drifting apart (a
    renamed method fails at import)."""
    return cast("_ProxyAttribute[P, R]", method)


@dataclass(frozen=True, slots=True)
class Ping:
    """Liveness probe: every supervised actor answers `"pong"` if its thread is responsive."""


@dataclass(frozen=True, slots=True)
class Crash:
    """A poison message, for tests of supervision: the actor raises `CrashRequested` while
    handling it, as a bug in a handler would (told, so the actor dies of it). Nothing in
    the service sends it; tests tell it through an actor's real mailbox, or through the
    crash route a test service opens (`http/crash_hook.py`, only with
    `ROBODINE_TEST_CRASH_HOOK=1`)."""


class CrashRequested(RuntimeError):
    """What an actor raises on `Crash`."""


@dataclass(frozen=True, slots=True)
class Reachable:
    """Told by the supervisor to an instance it restarted, once its slot points to it (see
    `SupervisedActor.on_reachable`)."""


class SupervisedActor(pykka.ThreadingActor):
    """Base of every robodine actor.

    Subclasses handle their own expected errors in `tell` handlers: an exception that
    escapes one stops the actor (pykka's rule), and the supervisor then starts a fresh
    instance that reloads its state from SQLite.
    """

    def __init__(self, *, crash_listener: CrashListener | None = None) -> None:
        super().__init__()
        self._crash_listener = crash_listener

    @staticmethod
    def _create_future() -> ActorFuture[Any]:
        return ActorFuture()

    def on_receive(self, message: object) -> object:
        """Runs in this actor's thread for plain (non-proxy) messages."""
        if isinstance(message, Ping):
            return "pong"
        if isinstance(message, Crash):
            raise CrashRequested(f"{type(self).__name__} crashed on request")
        if isinstance(message, Reachable):
            self.on_reachable()
            return None
        log.warning("%s ignored an unknown message %r", type(self).__name__, type(message).__name__)
        return None

    def on_reachable(self) -> None:
        """Runs in this actor's thread, after a restart, once the supervisor has put this
        instance in its slot (`Reachable`).

        `on_start` read the state in SQLite before anyone could reach this instance: until
        the slot pointed to it, what others told the actor went to the dead instance (a
        dead letter, or dropped by a teller that checks the slot first). A change made
        after `on_start` read and told before the slot was swapped reached no one: an
        order placed then, answered 201, never got its cook task. So an actor that learns
        of others' changes by being told reads them again here; from this moment every
        later change is told to this instance. Nothing to do by default. An exception
        escaping it crashes the actor, as in any tell handler: the next instance reads
        everything again."""

    def on_failure(
        self,
        exception_type: type[BaseException] | None,
        exception_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Runs in this actor's thread after a `tell` handler raised, just before it ends.

        The crash is reported before queued callers are answered, so the supervisor is
        already restarting by the time they see `ActorDeadError`."""
        if self._crash_listener is not None:
            self._crash_listener(self.actor_urn, exception_value)
        self.drain_dead_letters()

    def drain_dead_letters(self) -> None:
        """Answer queued asks with `ActorDeadError` and log queued tells: none will run."""
        inbox = self.actor_inbox
        assert isinstance(inbox, queue.Queue)  # ThreadingActor's
        while not inbox.empty():
            envelope = inbox.get_nowait()
            if envelope.reply_to is None:
                log.warning("dead letter: %s for crashed %s", _describe(envelope.message), type(self).__name__)
            elif isinstance(envelope.message, _ActorStop):
                envelope.reply_to.set(None)
            else:
                envelope.reply_to.set_exception(
                    (pykka.ActorDeadError, pykka.ActorDeadError(f"{self} crashed before answering"), None)
                )


def _describe(message: Any) -> str:
    attr_path = getattr(message, "attr_path", None)
    return ".".join(attr_path) + "()" if attr_path else type(message).__name__
