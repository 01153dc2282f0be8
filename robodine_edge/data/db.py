"""The SQLite database: opening it with the right pragmas, and the read pool.

There is one writer (the writer actor, `robodine_edge.actors.storage.writer`) and any number
of readers (WAL lets them read while it writes). peewee keeps one connection per
thread, so the writer thread, the read-pool threads and the main thread (start-up
and migrations) each have their own.

Durability: `synchronous=FULL` makes every commit reach the disk before the store
actor answers, so a 201 survives `kill -9` and power loss; the writer actor groups
concurrent writes into one commit to keep that affordable.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cache
from pathlib import Path
from typing import ParamSpec, TypeVar

from peewee import SqliteDatabase

from robodine_edge.data.datadir import create_private, private_dir
from robodine_edge.data.models import database_proxy

log = logging.getLogger(__name__)

DB_FILENAME = "robodine.sqlite3"
CHECKPOINT_BYTES = 4 * 2**20
"""How much WAL the care thread lets grow before it checkpoints (`care.checkpoints`):
SQLite's own default mark (1,000 pages of its default 4 KiB), kept in bytes whatever
the page size: checkpointing more often would write a page that changes every second
(a robot's row) to the database more often, for nothing."""
WAL_SIZE_LIMIT = 2 * CHECKPOINT_BYTES
"""Twice the checkpoint mark: a rush that keeps to its checkpoints never reaches it, so
the file is not cut and grown again at every turn."""
PAGE_SIZE = 1024
"""Bytes per database page, for a database made from now on (an existing file keeps the
size it was made with: SQLite cannot change it in WAL mode). Every commit appends each
page it changed, whole, to the WAL, and a row changed every second (a robot's state)
or an order's row, index entries and event each dirty a page: 1 KiB pages write
2-3 times fewer bytes to the SD card than SQLite's default 4 KiB for the same rows
(measured: docs/BENCH.md, "Writes per robot-hour and per order"), for slightly deeper
B-trees on reads that the page cache keeps in memory anyway."""
PRAGMAS: dict[str, object] = {
    "page_size": PAGE_SIZE,  # first: it applies only before the first table is made
    "journal_mode": "wal",
    "synchronous": "full",
    "foreign_keys": 1,
    "busy_timeout": 5000,
    "cache_size": -8000,
    "wal_autocheckpoint": 10000,
    "journal_size_limit": WAL_SIZE_LIMIT,
}
"""`wal_autocheckpoint`: the care thread checkpoints at 1,000 frames, off the writer's
path (`care.checkpoints`); the writer's own checkpoint is only the safety net.
`journal_size_limit`: when the writer starts the WAL again from its beginning, a file
that grew past `WAL_SIZE_LIMIT` (a backup's snapshot or a slow reader held the WAL
while the rush went on) is cut back to it, instead of keeping its largest size until
the nightly TRUNCATE."""
P = ParamSpec("P")
T = TypeVar("T")


@cache
def _memory_used() -> Callable[[], int] | None:
    """`sqlite3_memory_used` of the SQLite the `sqlite3` module runs on: looked up through
    the module's own extension, which finds it whether SQLite is linked in or a shared
    library beside it; None if it is not exported."""
    try:
        import _sqlite3

        function = ctypes.CDLL(_sqlite3.__file__).sqlite3_memory_used
    except (ImportError, OSError, AttributeError, TypeError):
        return None
    function.restype = ctypes.c_int64
    function.argtypes = []
    return function


def sqlite_memory_used() -> int | None:
    """Bytes SQLite's allocator holds now, for every connection of the process (their page
    caches grow with the database up to `cache_size` each); None where it cannot be read.
    Any thread: SQLite keeps the figure itself, under its own mutex."""
    function = _memory_used()
    return None if function is None else int(function())


def database_path(data_dir: Path) -> Path:
    return data_dir / DB_FILENAME


def open_database(path: Path) -> SqliteDatabase:
    """Create (if needed) and bind the database file; connections open per thread on use.

    A new file is made 0600 here, not by SQLite (which uses the default 0644); its `-wal`
    and `-shm` then take the database's mode."""
    private_dir(path.parent)
    if not path.exists():
        create_private(path)  # an empty file is an empty database to SQLite
    db = SqliteDatabase(str(path), pragmas=PRAGMAS, timeout=5.0)
    database_proxy.initialize(db)
    return db


class ReadPool:
    """A few threads with read-only connections, for queries no actor owns (users, logs).

    Any thread may call `submit`; the work runs on a pool thread whose connection has
    `query_only` set, so a read path can never write behind the writer actor's back.
    """

    def __init__(self, db: SqliteDatabase, workers: int = 2) -> None:
        self._db = db
        self._local = threading.local()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="db-read")

    def submit(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        return self._pool.submit(self._run, functools.partial(fn, *args, **kwargs))

    def _run(self, read: Callable[[], T]) -> T:
        """Runs on a pool thread: connect once per thread, read-only."""
        if not getattr(self._local, "ready", False):
            self._db.connect(reuse_if_open=True)
            self._db.execute_sql("PRAGMA query_only = 1")
            self._local.ready = True
        return read()

    def close(self) -> None:
        """Wait for running reads and end the pool threads (their connections go with them)."""
        self._pool.shutdown(wait=True, cancel_futures=True)
