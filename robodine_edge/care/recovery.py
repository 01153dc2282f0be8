"""Recovery of a damaged database at start: a damaged database never keeps the store closed.

Before anything opens the database, `recover` checks it: `PRAGMA quick_check` through a
read-only connection (which neither checkpoints nor removes a WAL, so what is moved
aside is what was found), the identity its WAL shows against its file's own
(`identity`), and that it is a robodine-edge database at all. One that fails is moved
to `DATA_DIR/corrupt/` with its `-wal` and `-shm` (never deleted: someone may want to
rescue rows from it), the newest scheduled backup that passes the same checks is
copied into its place, or nothing is (the service then starts with a fresh database),
and the service starts. Once the new database is open, `record` writes the error-level
`database_recovered` event, and a notification to staff, naming the backup used.

Main thread, at start, after the data directory's lock is taken.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from robodine_edge.care.backups import FOLDER as BACKUPS
from robodine_edge.care.backups import scheduled_backups
from robodine_edge.care.identity import APPLICATION_ID, file_identity
from robodine_edge.care.snapshot import check_database
from robodine_edge.clock import utcnow
from robodine_edge.data.datadir import ADMIN_PASSWORD_FILE, create_private, private_dir
from robodine_edge.data.db import database_path
from robodine_edge.data.events import Recorded, record_event
from robodine_edge.errors import BackupError
from robodine_edge.types import EventLevel

log = logging.getLogger(__name__)
CORRUPT = "corrupt"
SIDE_FILES = ("-wal", "-shm")


@dataclass(frozen=True, slots=True)
class Recovered:
    """What `recover` did, for the event once the new database is open."""

    reason: str
    moved_to: Path
    backup: Path | None
    """The backup copied into place; None: the service starts with a fresh database."""

    def message(self) -> str:
        found = f"the database could not be used ({self.reason}); it was moved to {CORRUPT}/{self.moved_to.name}"
        if self.backup is None:
            return f"{found}. Backup used: none (no good backup was found); the store starts with a fresh database"
        return f"{found}. Backup used: {BACKUPS}/{self.backup.name}, the newest good one, restored in its place"


def damage(path: Path) -> str | None:
    """Why the database at `path` cannot be used, or None (also for no file, or an empty
    one: a new database). Never changes the file."""
    if not path.is_file() or path.stat().st_size == 0:
        return None
    own = file_identity(path)
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            status = conn.execute("PRAGMA quick_check").fetchone()[0]
            if status != "ok":
                return f"quick_check: {status}"
            if own is not None and _identity(conn) != (APPLICATION_ID, own):
                return "its WAL file belongs to another database"
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if tables and "schema_version" not in tables:
                return "not a robodine-edge database"
    except sqlite3.DatabaseError as exc:
        return str(exc)
    return None


def _identity(conn: sqlite3.Connection) -> tuple[int, int]:
    return conn.execute("PRAGMA application_id").fetchone()[0], conn.execute("PRAGMA user_version").fetchone()[0]


def recover(data_dir: Path) -> Recovered | None:
    """Check the database; if it is damaged, move it aside and put the newest good backup
    (or nothing) in its place. None when the database was fine."""
    path = database_path(data_dir)
    reason = damage(path)
    if reason is None:
        return None
    moved = _move_aside(data_dir, path)
    log.error("the database %s is damaged (%s); moved to %s", path, reason, moved)
    used = _restore_newest(data_dir, path)
    if used is None:
        _retire_admin_password(data_dir, moved)
        log.error("no good backup in %s: starting with a fresh database", data_dir / BACKUPS)
    else:
        log.error("restored the database from the backup %s", used)
    return Recovered(reason, moved, used)


def record(recovered: Recovered) -> Recorded:
    """Unit of work (main thread, in a transaction, once the new database is open)."""
    return record_event(
        "database_recovered",
        recovered.message(),
        level=EventLevel.ERROR,
        data={
            "reason": recovered.reason,
            "moved_to": str(recovered.moved_to),
            "backup": recovered.backup.name if recovered.backup is not None else None,
        },
    )


def _move_aside(data_dir: Path, path: Path) -> Path:
    """Move the database and its WAL and shared-memory files to `corrupt/`, under one
    new name, so they can still be opened together."""
    folder = private_dir(data_dir / CORRUPT)
    stamp = f"{utcnow():%Y%m%dT%H%M%SZ}"
    target = folder / f"robodine-{stamp}.sqlite3"
    n = 1
    while any(Path(f"{target}{suffix}").exists() for suffix in ("", *SIDE_FILES)):
        n += 1
        target = folder / f"robodine-{stamp}-{n}.sqlite3"
    for suffix in SIDE_FILES:  # the WAL first: a database moved without it could be opened wrongly
        side = Path(f"{path}{suffix}")
        if side.exists():
            os.replace(side, f"{target}{suffix}")
    os.replace(path, target)
    return target


def _restore_newest(data_dir: Path, path: Path) -> Path | None:
    """Copy the newest scheduled backup that passes the checks to `path`; its name, or None."""
    for candidate in scheduled_backups(data_dir / BACKUPS):
        try:
            check_database(candidate)
        except BackupError as exc:
            log.warning("skipping the backup %s: %s", candidate, exc)
            continue
        tmp = path.with_name(f".{path.name}.recovering")
        try:
            create_private(tmp)
            shutil.copyfile(candidate, tmp)  # into the 0600 file made above: its mode stays
            with open(tmp, "rb") as file:
                os.fsync(file.fileno())
            os.replace(tmp, path)
        except OSError as exc:
            log.error("cannot restore the backup %s: %s", candidate, exc.strerror or exc)
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            continue
        return candidate
    return None


def _retire_admin_password(data_dir: Path, moved: Path) -> None:
    """A fresh database gets a new `admin`: the old initial password file goes with the
    old database, so the new password can be written (it is written only once)."""
    old = data_dir / ADMIN_PASSWORD_FILE
    if old.exists():
        os.replace(old, moved.with_name(f"{moved.name}.{ADMIN_PASSWORD_FILE}"))
