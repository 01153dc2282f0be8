"""Online backup and offline restore of the database (`robodine-edge backup|restore`).

Backup uses SQLite's online backup API: one consistent snapshot copied while the
service keeps running (WAL readers do not block its writer). Restore refuses while a
service holds the data directory, checks the file first, and keeps the replaced
database under `DATA_DIR/backups/` so a wrong restore can be undone.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sqlite3
from pathlib import Path

from robodine_edge.clock import utcnow
from robodine_edge.datadir import DataDirLock, create_private, private_dir
from robodine_edge.db import database_path
from robodine_edge.errors import BackupError
from robodine_edge.migrations import LATEST_VERSION

log = logging.getLogger(__name__)


def backup(data_dir: Path, out: Path) -> int:
    """Copy the live database to `out` (a self-contained file); returns its size in bytes."""
    source_path = database_path(data_dir)
    if not source_path.is_file():
        raise BackupError(f"no database at {source_path}")
    out = out.absolute()
    private_dir(out.parent)
    tmp = out.with_name(f".{out.name}.partial")
    create_private(tmp)
    try:
        with (
            contextlib.closing(sqlite3.connect(f"file:{source_path}?mode=ro", uri=True, timeout=10)) as src,
            contextlib.closing(sqlite3.connect(tmp)) as dst,
        ):
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")
        _check_database(tmp)
        _fsync(tmp)
        os.replace(tmp, out)
    except sqlite3.Error as exc:
        raise BackupError(f"backup failed: {exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return out.stat().st_size


def restore(data_dir: Path, source: Path) -> Path | None:
    """Replace the data directory's database with `source`; returns where the old one went.

    Raises `DataDirBusy` when a service runs on `data_dir`, `BackupError` for a bad file.
    """
    if not source.is_file():
        raise BackupError(f"{source}: no such file")
    _check_database(source)
    with DataDirLock(data_dir):
        target = database_path(data_dir)
        kept = _keep_current(data_dir, target)
        tmp = target.with_name(f".{target.name}.restoring")
        create_private(tmp)
        shutil.copyfile(source, tmp)  # into the 0600 file made above: its mode stays
        _fsync(tmp)
        for suffix in ("-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        os.replace(tmp, target)
        log.info("restored database from %s", source)
        return kept


def _keep_current(data_dir: Path, target: Path) -> Path | None:
    """Move the database about to be replaced (with its WAL folded in) under backups/."""
    if not target.is_file():
        return None
    kept = private_dir(data_dir / "backups") / f"before-restore-{utcnow():%Y%m%dT%H%M%S}.sqlite3"
    create_private(kept)
    with contextlib.closing(sqlite3.connect(target)) as src, contextlib.closing(sqlite3.connect(kept)) as dst:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")
    return kept


def _check_database(path: Path) -> None:
    """Refuse anything that is not an intact robodine-edge database this version can run."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            status = conn.execute("PRAGMA quick_check").fetchone()[0]
            if status != "ok":
                raise BackupError(f"{path}: database is damaged ({status})")
            row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path}: not a robodine-edge database ({exc})") from None
    version = row[0] if row else None
    if version is None:
        raise BackupError(f"{path}: not a robodine-edge database (no schema version)")
    if version > LATEST_VERSION:
        raise BackupError(f"{path}: schema version {version} is newer than this software")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
