"""Which b-trees (tables and indexes) a commit wrote: read from the WAL itself.

Every commit appends each page it changed, whole, to the WAL (a frame: a 24-byte header
whose first field is the page number, then the page). Reading the frames a commit
appended and naming each page's b-tree through SQLite's `dbstat` table tells what the
commit cost the card, by what: the figures behind docs/BENCH.md, "Writes to the card".
"""

from __future__ import annotations

import struct
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from peewee import SqliteDatabase

from robodine_edge.care.walindex import WalIndex

T = TypeVar("T")
WAL_HEADER = 32


class WalPages:
    """The frames a database's WAL gains, by b-tree. Test thread only."""

    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db
        self._path = Path(db.database)
        self._index = WalIndex(self._path)
        self._frames, self._salt = self._now()

    def _now(self) -> tuple[int, bytes]:
        state = self._index.read()
        assert state is not None, "the database is not in WAL mode"
        return state.frames, state.salt

    def commit(self, unit: Callable[[], T]) -> tuple[T, Counter[str]]:
        """Run `unit` in a transaction of its own; its result and the pages its commit
        appended, counted by b-tree name (`sqlite_schema` is page 1, which holds the
        database's size)."""
        self._frames, self._salt = self._now()
        with self._db.atomic("IMMEDIATE"):
            result = unit()
        return result, self.appended()

    def appended(self) -> Counter[str]:
        """The pages appended since the last look, by b-tree."""
        state = self._index.read()
        assert state is not None
        first = 0 if state.salt != self._salt or state.frames < self._frames else self._frames
        numbers = []
        with open(f"{self._path}-wal", "rb") as wal:
            for frame in range(first, state.frames):
                wal.seek(WAL_HEADER + frame * state.frame_bytes)
                (number,) = struct.unpack(">I", wal.read(4))
                numbers.append(number)
        self._frames, self._salt = state.frames, state.salt
        owners = dict(self._db.execute_sql("SELECT pageno, name FROM dbstat").fetchall())
        return Counter(owners.get(number, "(free)") for number in numbers)

    def close(self) -> None:
        self._index.close()


def index_columns(db: SqliteDatabase, table: str) -> dict[str, set[str]]:
    """Each index of `table`: the columns its entries hold or its WHERE names (what an
    UPDATE must assign for SQLite to touch the index)."""
    found: dict[str, set[str]] = {}
    for _, name, *_ in db.execute_sql(f'PRAGMA index_list("{table}")').fetchall():
        columns = {row[2] for row in db.execute_sql(f'PRAGMA index_info("{name}")').fetchall()}
        sql = db.execute_sql("SELECT sql FROM sqlite_schema WHERE name = ?", (name,)).fetchone()[0] or ""
        where = sql.partition(" WHERE ")[2]
        columns |= {column for column in _columns(db, table) if f'"{column}"' in where}
        found[name] = columns
    return found


def _columns(db: SqliteDatabase, table: str) -> list[str]:
    return [row[1] for row in db.execute_sql(f'PRAGMA table_info("{table}")').fetchall()]
