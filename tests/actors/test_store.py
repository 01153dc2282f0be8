"""The single writer: group commit, isolation of failing units, flush on stop, and
bookkeeping (`write_soon`) that rides in the next durable commit."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pykka
import pytest
from peewee import IntegrityError, SqliteDatabase

from robodine_edge.actors.base import ActorFuture, Crash
from robodine_edge.actors.storage.writer import SOON_S, Writer, WriterActor
from robodine_edge.actors.supervisor import ActorSlot, ChildSpec, Supervisor
from robodine_edge.actors.timer import Timer
from robodine_edge.data.db import database_path
from robodine_edge.data.models import Event, Setting
from robodine_edge.errors import Unavailable
from tests.actors.conftest import EventLog


@pytest.fixture
def commits() -> list[int]:
    return []


@pytest.fixture
def store(db: SqliteDatabase, commits: list[int]) -> Writer:
    slot: ActorSlot[WriterActor] = ActorSlot("writer")
    slot.install(WriterActor.start(db, on_commit=lambda seconds, units: commits.append(units)))
    return Writer(slot)


def add_event(message: str) -> int:
    return Event.create(type="test", message=message).id


def fail_unit() -> None:
    Event.create(type="test", message="rolled back")
    raise IntegrityError("unit refused")


def rows_seen_by_another_connection(data_dir: Path) -> int:
    with sqlite3.connect(database_path(data_dir)) as conn:
        return conn.execute("SELECT COUNT(*) FROM event").fetchone()[0]


def test_concurrent_writes_are_group_committed(store: Writer, commits: list[int], data_dir: Path) -> None:
    futures = [store.write(add_event, str(i)) for i in range(1000)]
    ids = [future.get(timeout=10) for future in futures]
    assert sorted(ids) == ids and len(set(ids)) == 1000
    assert sum(commits) == 1000 and len(commits) < 1000
    assert rows_seen_by_another_connection(data_dir) == 1000


def test_a_failing_unit_rolls_back_alone(store: Writer, data_dir: Path) -> None:
    futures: list[ActorFuture[Any]] = [store.write(add_event, "a"), store.write(fail_unit), store.write(add_event, "b")]
    assert futures[0].get(timeout=5) and futures[2].get(timeout=5)
    with pytest.raises(IntegrityError):
        futures[1].get(timeout=5)
    assert rows_seen_by_another_connection(data_dir) == 2


def test_an_answer_means_the_row_is_committed(store: Writer, data_dir: Path) -> None:
    store.write(Setting.create, key="k", value={"a": 1}).get(timeout=5)
    assert rows_seen_by_another_connection(data_dir) == 0
    with sqlite3.connect(database_path(data_dir)) as conn:
        assert conn.execute("SELECT value FROM setting WHERE key = 'k'").fetchone()[0] == '{"a":1}'


def test_stop_commits_what_was_queued(db: SqliteDatabase, data_dir: Path) -> None:
    slot: ActorSlot[WriterActor] = ActorSlot("writer")
    slot.install(WriterActor.start(db))
    store = Writer(slot)
    futures = [store.write(add_event, str(i)) for i in range(200)]
    slot.ref.stop(block=True, timeout=10)
    assert all(future.get(timeout=1) for future in futures)
    assert rows_seen_by_another_connection(data_dir) == 200


def test_writing_to_a_stopped_store_fails_fast(store: Writer) -> None:
    store._slot.ref.stop(block=True, timeout=5)
    with pytest.raises(Unavailable):
        store.write(add_event, "late").get(timeout=1)


def test_durable_mode_is_full(store: Writer) -> None:
    assert store.write(lambda: Event._meta.database.execute_sql("PRAGMA synchronous").fetchone()[0]).get(timeout=5) == 2
    assert pykka.ActorRegistry.get_by_class(WriterActor)


def test_a_crash_answers_every_write_it_leaves_with_unavailable(db: SqliteDatabase, data_dir: Path) -> None:
    """The store dies mid-batch with more writes in its mailbox: those of the open batch
    are rolled back, those queued behind the crash never run — each caller hears
    `Unavailable` (503, try again) at once, not the crash's own error (a 500) nor nothing
    (a request hanging to its timeout); the supervisor's new store takes the next write."""
    events = EventLog()
    supervisor = Supervisor.start(max_restarts=2, window_s=30, on_event=events).proxy()
    store = Writer(
        supervisor.start_child(ChildSpec("store", lambda crash: WriterActor.start(db, crash_listener=crash))).get(
            timeout=5
        )
    )
    gate = threading.Event()
    blocked = store.write(gate.wait, 10)  # the writer busy: what follows queues in its mailbox
    in_batch = store.write(add_event, "in the open batch")
    store._slot.tell(Crash())
    queued = store.write(add_event, "behind the crash")
    gate.set()
    for reply in (blocked, in_batch, queued):
        with pytest.raises(Unavailable):
            reply.get(timeout=5)
    assert events.wait_for(1) and events[0].type == "actor_restarted"
    assert store.write(add_event, "after").get(timeout=5)
    assert rows_seen_by_another_connection(data_dir) == 1


def ran(done: threading.Event, message: str) -> int:
    """A soon unit that says when the writer has run it (its commit is another matter)."""
    row = add_event(message)
    done.set()
    return row


def test_a_soon_write_rides_in_the_next_durable_commit(store: Writer, commits: list[int], data_dir: Path) -> None:
    """Bookkeeping handed over with `write_soon` is not a commit of its own: run, it waits
    (unseen by other connections, its answer not given) for the next durable write, and
    both are one commit (no timer here: nothing else would commit it)."""
    done = threading.Event()
    soon = store.write_soon(ran, done, "bookkeeping")
    assert done.wait(5)
    assert rows_seen_by_another_connection(data_dir) == 0 and commits == []
    assert store.write(add_event, "durable").get(timeout=5)
    assert soon.get(timeout=5)
    assert commits == [2] and rows_seen_by_another_connection(data_dir) == 2


def test_a_soon_write_with_nothing_to_ride_with_is_committed_by_the_timer(db: SqliteDatabase, data_dir: Path) -> None:
    committed: list[int] = []
    timer = Timer()
    slot: ActorSlot[WriterActor] = ActorSlot("writer")
    slot.install(WriterActor.start(db, on_commit=lambda _, units: committed.append(units), wake_after=timer.after))
    try:
        started = time.monotonic()
        assert Writer(slot).write_soon(add_event, "alone").get(timeout=SOON_S + 5)
        assert time.monotonic() - started >= SOON_S * 0.9  # held for a durable write that never came
        assert committed == [1] and rows_seen_by_another_connection(data_dir) == 1
    finally:
        slot.ref.stop(block=True, timeout=5)
        timer.stop()


def test_stop_commits_a_batch_held_for_soon_writes(db: SqliteDatabase, data_dir: Path) -> None:
    slot: ActorSlot[WriterActor] = ActorSlot("writer")
    slot.install(WriterActor.start(db))
    done = threading.Event()
    soon = Writer(slot).write_soon(ran, done, "at the stop")
    assert done.wait(5)
    slot.ref.stop(block=True, timeout=10)
    assert soon.get(timeout=1) and rows_seen_by_another_connection(data_dir) == 1
