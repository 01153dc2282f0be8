"""Shared fixtures. Every test runs against real parts: SQLite files, sockets, processes.

The autouse `no_leaks` fixture stops every actor a test left running and fails the
test if any thread it started is still alive afterwards (as python-zeroconf's suite does),
and `no_blocking_on_the_loop` fails a test whose code blocks an event loop (tests/blocking.py).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pykka
import pytest
from peewee import SqliteDatabase

from robodine_edge.data.db import database_path, open_database
from robodine_edge.data.migrations import migrate
from tests.blocking import loop_guard

THREAD_GRACE_S = 5.0


@pytest.fixture(autouse=True)
def no_leaks() -> Iterator[None]:
    before = set(threading.enumerate())
    yield
    pykka.ActorRegistry.stop_all(block=True, timeout=5)
    leaked = [thread for thread in threading.enumerate() if thread not in before]
    for thread in leaked:
        thread.join(timeout=THREAD_GRACE_S)
    alive = [thread.name for thread in leaked if thread.is_alive()]
    assert not alive, f"threads leaked by this test: {alive}"


@pytest.fixture(autouse=True)
def no_blocking_on_the_loop() -> Iterator[None]:
    with loop_guard():
        yield


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def db(data_dir: Path) -> Iterator[SqliteDatabase]:
    """A migrated database file in a temp dir (`:memory:` would differ per thread)."""
    database = open_database(database_path(data_dir))
    migrate(database)
    yield database
    database.close()
