"""The data directory: its lock, `runtime.json`, the files written once in it, and who
may read them.

The lock (`flock` on `DATA_DIR/.lock`) is held for the whole life of the service, so a
second service or a `restore` on the same data can tell it is in use.

Everything here is the service user's alone (folders 0700, files 0600): the database
holds password hashes and robot token digests, the backups copies of it. Files are
created with those modes explicitly, the command runs under umask 077 for what other
code creates (SQLite's `-wal`/`-shm` take the database's mode), and `restrict` tightens
what an older version left readable to others.
"""

from __future__ import annotations

import fcntl
import logging
import os
import secrets
import stat
from pathlib import Path
from typing import Any

import orjson

from robodine_edge.errors import DataDirBusy

log = logging.getLogger(__name__)
PRIVATE_UMASK = 0o077
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
OWN_FOLDERS = ("backups", "videos", "corrupt")
"""The data directory's sub-folders that are the service's own, searched through by
`restrict`; other folders someone put there are left as they are (the data directory's
own 0700 already keeps other users out of them)."""
RUNTIME_FILE = "runtime.json"
ADMIN_PASSWORD_FILE = "initial-admin-password"
TOKEN_KEY_FILE = "token-key"
LOCK_FILE = ".lock"
HQ_LOCK_FILE = ".hq-lock"
HQ_RUNTIME_FILE = "hq-runtime.json"
HQ_API_TOKEN_FILE = "hq-api-token"


class DataDirLock:
    """An exclusive, non-blocking lock on a data directory, released on close or exit.
    `robodine-edge hq` holds a lock file of its own (`HQ_LOCK_FILE`), so a store and its
    trial headquarters may share a data directory, but not two hq processes."""

    def __init__(self, data_dir: Path, name: str = LOCK_FILE) -> None:
        self.path = data_dir / name
        self._fd: int | None = None

    def acquire(self) -> None:
        private_dir(self.path.parent)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise DataDirBusy(f"{self.path.parent} is in use by a running robodine-edge") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    @property
    def held(self) -> bool:
        return self._fd is not None

    def held_elsewhere(self) -> bool:
        """True if another process holds the lock; creates nothing (no lock file, no folder)."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
        return False

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> DataDirLock:
        self.acquire()
        return self

    def __exit__(self, *_: object) -> None:
        self.release()


def private_dir(path: Path) -> Path:
    """Create `path` (and missing parents) as a folder only its owner can enter."""
    if not path.is_dir():
        private_dir(path.parent)
        path.mkdir(mode=PRIVATE_DIR_MODE, exist_ok=True)
    return path


def create_private(path: Path) -> None:
    """Create `path` as an empty file only its owner can read (replacing one left there),
    for writers such as SQLite that would create it with the default mode."""
    path.unlink(missing_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE))


def restrict(data_dir: Path) -> int:
    """Take group and other permissions off the data directory, every file directly in
    it and everything under its own folders (`OWN_FOLDERS`); returns how many entries
    changed. Main thread, at start (a few thousand recordings: milliseconds)."""
    changed = 0
    for path in _own_entries(data_dir):
        try:
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode) or not stat.S_IMODE(mode) & 0o077:
                continue
            path.chmod(stat.S_IMODE(mode) & 0o700)
        except OSError as exc:  # not ours (e.g. left by a run as root): said, not fatal
            log.warning("cannot make %s private: %s", path, exc.strerror or exc)
            continue
        changed += 1
    return changed


def _own_entries(data_dir: Path) -> list[Path]:
    entries = [data_dir]
    for child in data_dir.iterdir():
        if child.name in OWN_FOLDERS and child.is_dir() and not child.is_symlink():
            entries.append(child)
            for root, dirs, files in os.walk(child):
                entries.extend(Path(root, name) for name in (*dirs, *files))
        elif child.is_file() and not child.is_symlink():
            entries.append(child)
    return entries


def write_atomic(path: Path, data: bytes, mode: int = PRIVATE_FILE_MODE) -> None:
    """Write `data` to `path` so readers see the old file or the whole new one, never half."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


SEQ_BASE_FILE = "hub-seq-base"
SEQ_HEADROOM = 2**32
"""What a run may give out, at most, beyond its base: a new base is at least the last
one plus this, should the clock be behind (a Pi without a real-time clock boots with
the time it last saved, up to an hour old, until NTP answers)."""


def next_seq_base(data_dir: Path, now_us: int) -> int:
    """The number this run's WebSocket streams count on from: the time in microseconds
    (a run gives out fewer than one message a microsecond), or the last run's base plus
    `SEQ_HEADROOM` if that is larger. Kept in the data directory for the next run.
    Stays far below 2**53, so JavaScript clients read it exactly."""
    path = data_dir / SEQ_BASE_FILE
    try:
        last = int(path.read_text().strip())
    except (OSError, ValueError):
        last = 0
    base = max(now_us, last + SEQ_HEADROOM)
    write_atomic(path, str(base).encode())
    return base


def videos_dir(data_dir: Path) -> Path:
    """Where camera recordings go, and what `/videos/` serves."""
    return data_dir / "videos"


def write_runtime(data_dir: Path, info: dict[str, Any], name: str = RUNTIME_FILE) -> Path:
    path = data_dir / name
    write_atomic(path, orjson.dumps(info, option=orjson.OPT_INDENT_2))
    return path


def remove_runtime(data_dir: Path, name: str = RUNTIME_FILE) -> None:
    (data_dir / name).unlink(missing_ok=True)


def write_secret_once(path: Path, text: str) -> bool:
    """Create `path` (mode 0600) holding `text`; False if it already exists."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        return False
    try:
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    return True


def token_key(data_dir: Path) -> bytes:
    """The secret that signs access tokens: created on first start, kept across restarts."""
    path = data_dir / TOKEN_KEY_FILE
    write_secret_once(path, secrets.token_hex(32))
    return path.read_bytes().strip()
