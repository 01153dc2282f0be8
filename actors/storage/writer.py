"""The writer actor: the one thread that writes to SQLite.

Other threads hand it a *unit of work* (a function run against the database inside a
transaction) and get an `ActorFuture` that resolves only after the unit is durably
committed. Concurrent units are group-committed: while more writes wait in the
mailbox, each runs in its own savepoint of one open transaction, and a single commit
(one fsync at `synchronous=FULL`) answers them all. A unit that raises is rolled back
alone and its caller gets the exception; the others still commit.

Bookkeeping whose durability may wait a moment (a task's `running`, a robot's report
the order's own write already carries) is handed over with `Writer.write_soon`: it runs
in its turn like any unit, but a batch holding only such units is not committed when
the mailbox empties. It rides in the next commit a durable write makes, or is committed
`SOON_S` after it came at the latest (the tree's timer tells `FlushSoon`): one commit
less for each, and the pages it shares with that commit written once. A power cut may
lose it; whoever hands it over must not need it after a restart.

Maintenance that cannot run inside a transaction (a WAL checkpoint that truncates the
file, `VACUUM`) is handed over the same way (`Writer.maintain`): the open batch is
committed first, then the task runs on the write connection between two batches, so
the writes that arrive meanwhile wait in the mailbox rather than fail on a lock.

The store speaks only plain messages (no pykka proxy calls) so every message passes
the batch-boundary check in `on_receive`.
"""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from types import TracebackType
from typing import Any, ParamSpec, TypeVar

import pykka
from peewee import SqliteDatabase

from robodine_edge.actors.base import ActorFuture, CrashListener, SupervisedActor
from robodine_edge.actors.supervisor import ActorSlot
from robodine_edge.errors import Unavailable

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")
MAX_BATCH = 256
SOON_S = 1.0
"""The longest a `write_soon` unit waits for a durable write to ride with."""


UnitsCommitted = Callable[[list[tuple[str, int]]], None]
"""Told after each commit, on the writer's thread: (unit's name, rows it changed) for each
unit in it. The name is its function's module and qualified name."""


WakeAfter = Callable[[float, "pykka.ActorRef[Any]", object], None]
"""`Timer.after`: tell an actor a message in so many seconds."""


@dataclass(frozen=True, slots=True)
class WriteRequest:
    unit: Callable[[], Any]
    reply: ActorFuture[Any]
    soon: bool = False
    """May wait for the next durable commit (`Writer.write_soon`)."""


@dataclass(frozen=True, slots=True)
class FlushSoon:
    """Commit a batch held open for `write_soon` units only."""


@dataclass(frozen=True, slots=True)
class MaintenanceRequest:
    task: Callable[[SqliteDatabase], Any]
    reply: ActorFuture[Any]


class WriterActor(SupervisedActor):
    """Owns the write connection. All methods run in the store's own thread."""

    def __init__(
        self,
        db: SqliteDatabase,
        *,
        crash_listener: CrashListener | None = None,
        on_commit: Callable[[float, int], None] | None = None,
        on_units: UnitsCommitted | None = None,
        max_batch: int = MAX_BATCH,
        wake_after: WakeAfter | None = None,
    ) -> None:
        super().__init__(crash_listener=crash_listener)
        self._db = db
        self._on_commit = on_commit
        self._on_units = on_units
        self._units: list[tuple[str, int]] = []
        self._max_batch = max_batch
        self._wake_after = wake_after
        self._transaction: Any = None
        self._answers: list[tuple[ActorFuture[Any], Any]] = []
        self._batch_started = 0.0
        self._durable = False
        """The open batch holds a unit that must be committed as soon as the mailbox empties."""
        self._flush_due = False

    def on_start(self) -> None:
        self._db.connect(reuse_if_open=True)

    def on_receive(self, message: object) -> object:
        if isinstance(message, WriteRequest):
            self._run_unit(message)
            result = None
        elif isinstance(message, MaintenanceRequest):
            self._maintain(message)
            result = None
        elif isinstance(message, FlushSoon):
            self._flush_due = False
            self._durable = self._transaction is not None
            result = None
        else:
            result = super().on_receive(message)
        if self._transaction is not None and (
            (self._durable and self.actor_inbox.empty()) or len(self._answers) >= self._max_batch
        ):
            self._commit()
        elif self._transaction is not None and not self._durable and not self._flush_due and self._wake_after:
            self._flush_due = True
            self._wake_after(SOON_S, self.actor_ref, FlushSoon())
        return result

    def on_stop(self) -> None:
        if self._transaction is not None:
            self._commit()
        self._db.close()

    def on_failure(
        self,
        exception_type: type[BaseException] | None,
        exception_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """The open batch is rolled back, and the writes queued behind the crash will never
        run: every one of their callers hears `Unavailable` now (their request answers 503,
        try again) rather than the crash's own error, or nothing until its timeout. Writes
        are tells carrying their own reply, which the base class would only log."""
        self._abandon_batch()
        self._db.close()
        inbox = self.actor_inbox
        assert isinstance(inbox, queue.Queue)  # ThreadingActor's
        kept: list[Any] = []
        while not inbox.empty():
            envelope = inbox.get_nowait()
            if isinstance(envelope.message, WriteRequest):
                envelope.message.reply.fail(_lost())
            else:
                kept.append(envelope)
        for envelope in kept:  # the base class answers asks and logs the rest
            inbox.put(envelope)
        super().on_failure(exception_type, exception_value, traceback)

    def _run_unit(self, request: WriteRequest) -> None:
        if self._transaction is None:
            self._transaction = self._db.atomic("IMMEDIATE")
            self._transaction.__enter__()
        if not request.soon and not self._durable:
            self._batch_started = time.perf_counter()  # a commit's time is from its first durable write
            self._durable = True
        changes = self._changes() if self._on_units is not None else 0
        try:
            with self._db.atomic():
                result = request.unit()
        except Exception as exc:
            request.reply.fail(exc)
        else:
            self._answers.append((request.reply, result))
            if self._on_units is not None:
                self._units.append((_unit_name(request.unit), self._changes() - changes))

    def _maintain(self, request: MaintenanceRequest) -> None:
        """Between batches, outside any transaction, on the write connection."""
        if self._transaction is not None:
            self._commit()
        try:
            result = request.task(self._db)
        except Exception as exc:
            request.reply.fail(exc)
        else:
            request.reply.set(result)

    def _changes(self) -> int:
        return int(self._db.connection().total_changes)

    def _commit(self) -> None:
        transaction, self._transaction, self._durable = self._transaction, None, False
        answers, self._answers = self._answers, []
        units, self._units = self._units, []
        try:
            transaction.__exit__(None, None, None)
        except Exception as exc:
            log.error("commit of %d writes failed: %s", len(answers), exc)
            for reply, _ in answers:
                reply.fail(exc)
            return
        if self._on_commit is not None:
            self._on_commit(time.perf_counter() - self._batch_started, len(answers))
        if self._on_units is not None:
            self._on_units(units)
        for reply, result in answers:
            reply.set(result)

    def _abandon_batch(self) -> None:
        transaction, self._transaction, self._durable = self._transaction, None, False
        answers, self._answers = self._answers, []
        self._units = []
        if transaction is not None:
            _rollback_quietly(transaction)
        for reply, _ in answers:
            reply.fail(_lost())


def _lost() -> Unavailable:
    """The answer to a write the store crashed before committing (one per caller: each
    raises its own)."""
    return Unavailable("the database writer restarted; nothing of this write was kept")


def _unit_name(unit: Callable[[], Any]) -> str:
    func = unit.func if isinstance(unit, partial) else unit
    return f"{getattr(func, '__module__', '?')}.{getattr(func, '__qualname__', '?')}"


def _rollback_quietly(transaction: Any) -> None:
    try:
        transaction.__exit__(RuntimeError, RuntimeError("rollback"), None)
    except Exception:
        log.debug("rollback after a failed batch also failed", exc_info=True)


class Writer:
    """Thread-safe handle to the writer: submit a unit, get a future of its result.

    `write` never blocks. Loop code awaits the future through the bridge; actor code
    calls `.get(timeout=...)` on it (the store never asks anyone back, so this cannot
    deadlock).
    """

    def __init__(self, slot: ActorSlot[object]) -> None:
        self._slot = slot

    def write(self, unit: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> ActorFuture[T]:
        reply: ActorFuture[T] = ActorFuture()
        return self._submit(WriteRequest(partial(unit, *args, **kwargs), reply), reply)

    def write_soon(self, unit: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> ActorFuture[T]:
        """As `write`, for bookkeeping that may wait for the next durable commit, `SOON_S`
        at most: its future resolves then. A power cut may lose it."""
        reply: ActorFuture[T] = ActorFuture()
        return self._submit(WriteRequest(partial(unit, *args, **kwargs), reply, soon=True), reply)

    def maintain(self, task: Callable[[SqliteDatabase], T]) -> ActorFuture[T]:
        """Run `task(db)` on the write connection outside a transaction, between batches."""
        reply: ActorFuture[T] = ActorFuture()
        return self._submit(MaintenanceRequest(task, reply), reply)

    def _submit(self, request: WriteRequest | MaintenanceRequest, reply: ActorFuture[T]) -> ActorFuture[T]:
        """Tell the writer `request`; `reply` fails at once when the writer is not running."""
        try:
            self._slot.ref.tell(request)
        except pykka.ActorDeadError:
            reply.fail(Unavailable("the database writer is not running"))
        return reply
