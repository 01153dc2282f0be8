"""Which database a WAL file belongs to.

A `-wal` file carries nothing that ties it to its database: SQLite applies any valid
WAL it finds beside a database file, and a WAL copied from another robodine-edge
database (same schema, same table roots) reads as a healthy database with another
store's data — which the next checkpoint would write over ours. So each database is
stamped once with a random identity in its header (`application_id` marks it as ours,
`user_version` holds the identity, which nothing else uses). The file's own header,
read with plain I/O, must agree with the header SQLite reads through the WAL: a WAL
that brings another page 1 brings another identity.

Main thread, at start (the check before the database opens; the stamp after migrations).
"""

from __future__ import annotations

import secrets
import struct
from pathlib import Path

from peewee import SqliteDatabase

APPLICATION_ID = 0x52444E45  # "RDNE": a robodine-edge database
HEADER_BYTES = 100
USER_VERSION_AT = 60
APPLICATION_ID_AT = 68


def file_identity(path: Path) -> int | None:
    """The identity in the database file's own header (not through its WAL); None when
    the file is too short to have a header or was never stamped as ours."""
    try:
        with path.open("rb") as file:
            header = file.read(HEADER_BYTES)
    except OSError:
        return None
    if len(header) < HEADER_BYTES:
        return None
    (application_id,) = struct.unpack_from(">I", header, APPLICATION_ID_AT)
    if application_id != APPLICATION_ID:
        return None
    (identity,) = struct.unpack_from(">I", header, USER_VERSION_AT)
    return int(identity)


def stamp(db: SqliteDatabase) -> int:
    """Give the database an identity if it has none; returns it."""
    if db.execute_sql("PRAGMA application_id").fetchone()[0] == APPLICATION_ID:
        return int(db.execute_sql("PRAGMA user_version").fetchone()[0])
    return restamp(db)


def restamp(db: SqliteDatabase) -> int:
    """A new identity: for a database restored from a copy, which starts a new line."""
    identity = secrets.randbelow(2**31 - 1) + 1
    db.execute_sql(f"PRAGMA application_id = {APPLICATION_ID}")
    db.execute_sql(f"PRAGMA user_version = {identity}")
    return identity
