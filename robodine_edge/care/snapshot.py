"""Online backup and offline restore of the database (`robodine-edge backup|restore`).

Backup uses SQLite's online backup API: one consistent snapshot copied while the
service keeps running (WAL readers do not block its writer), into a named file or a
folder, never over an existing file unless forced. Restore refuses while a
service holds the data directory, checks the file first, and keeps the replaced
database under `DATA_DIR/backups/` so a wrong restore can be undone.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

from robodine_edge.clock import utcnow
from robodine_edge.data.datadir import DataDirLock, create_private, private_dir
from robodine_edge.data.db import database_path
from robodine_edge.data.migrations import LATEST_VERSION
from robodine_edge.errors import BackupError, DataDirBusy

log = logging.getLogger(__name__)


def backup_target(data_dir: Path, out: str | os.PathLike[str], *, force: bool = False) -> Path:
    """Where `backup --out OUT` writes: OUT itself, or `robodine-<UTC time>.sqlite3`
    inside it when OUT is a folder (an existing one, or a path ending in `/`, made).

    Raises `BackupError` for a file that exists (unless `force`) and, even with `force`,
    for the live database itself.
    """
    text = os.fspath(out)
    target = Path(text).absolute()
    if text.endswith(os.sep) or target.is_dir():
        target = target / f"robodine-{utcnow():%Y%m%dT%H%M%SZ}.sqlite3"
    live = database_path(data_dir).absolute()
    if target.resolve() in {Path(f"{live}{suffix}").resolve() for suffix in ("", "-wal", "-shm")}:
        raise BackupError(f"{target} is the live database; write the backup somewhere else")
    if target.is_dir():
        raise BackupError(f"{target} is a folder")
    if target.exists() and not force:
        raise BackupError(f"{target} already exists; choose another name, or add --force to replace it")
    return target


StepHook = Callable[[int, int], None]
"""Called between the steps of a backup with (pages copied, pages in all); it may pause
(to spread the copy's I/O out) or raise (to abandon the copy)."""
STEP_PAGES = 256


def backup(data_dir: Path, target: Path, *, between_steps: StepHook | None = None) -> int:
    """Copy the live database to `target` (a self-contained file, 0600, written whole or
    not at all: a copy is made beside it, then renamed); returns its size in bytes.

    The copy reads one snapshot, held open across its steps of `STEP_PAGES` pages (a
    stepped copy without it starts again whenever the service commits, and would never
    end while orders flow). The writer is never blocked: WAL readers do not block it."""
    source_path = database_path(data_dir)
    if not source_path.is_file():
        raise BackupError(f"no database at {source_path}")
    tmp = target.with_name(f".{target.name}.partial")
    try:
        private_dir(target.parent)
        create_private(tmp)
        with (
            contextlib.closing(sqlite3.connect(f"file:{source_path}?mode=ro", uri=True, timeout=10)) as src,
            contextlib.closing(sqlite3.connect(tmp)) as dst,
        ):
            dst.execute("PRAGMA journal_mode=OFF")  # a copy left half-written is never renamed into place
            dst.execute("PRAGMA synchronous=OFF")  # one fsync at the end, below
            src.execute("BEGIN")
            src.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()  # the snapshot every step reads
            progress = None if between_steps is None else _progress(between_steps)
            src.backup(dst, pages=STEP_PAGES, progress=progress)
            src.execute("COMMIT")
            dst.execute("PRAGMA journal_mode=DELETE")
        check_database(tmp, named=target)
        _fsync(tmp)
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    except (OSError, sqlite3.Error) as exc:
        raise BackupError(f"cannot write the backup to {target}: {getattr(exc, 'strerror', None) or exc}") from exc
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
    return target.stat().st_size


def _progress(hook: StepHook) -> Callable[[int, int, int], None]:
    def progress(status: int, remaining: int, total: int) -> None:
        hook(total - remaining, total)

    return progress


def restore(data_dir: Path, source: Path) -> Path | None:
    """Replace the data directory's database with `source`; returns where the old one went.

    Raises `DataDirBusy` when a service runs on `data_dir`, `BackupError` for a bad file.
    """
    if not source.is_file():
        raise BackupError(f"{source}: no such file")
    check_database(source)
    lock = DataDirLock(data_dir)
    try:
        lock.acquire()
    except DataDirBusy:
        raise DataDirBusy(
            f"{data_dir} is in use by a running robodine-edge: stop the service first"
            " (e.g. `sudo systemctl stop robodine-edge`), then restore"
        ) from None
    try:
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
    finally:
        lock.release()


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


def check_database(path: Path, named: Path | None = None) -> None:
    """Raise `BackupError` for anything that is not an intact robodine-edge database this version can run
    (`named`: what to call it in the message, when `path` is a temporary copy)."""
    shown = named or path
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            status = conn.execute("PRAGMA quick_check").fetchone()[0]
            if status != "ok":
                raise BackupError(f"{shown}: database is damaged ({status})")
            row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{shown}: not a robodine-edge database ({exc})") from None
    version = row[0] if row else None
    if version is None:
        raise BackupError(f"{shown}: not a robodine-edge database (no schema version)")
    if version > LATEST_VERSION:
        raise BackupError(f"{shown}: schema version {version} is newer than this software")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    """Make a rename in `path` durable (a power cut could otherwise undo it)."""
    with contextlib.suppress(OSError):
        _fsync(path)
