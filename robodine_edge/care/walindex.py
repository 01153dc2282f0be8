"""Reading the WAL index: how far the WAL runs and how much of it is checkpointed.

SQLite keeps the index of the WAL in the `-shm` file, mapped into every connection;
its header says how many frames the WAL holds (`mxFrame`), how many of them a
checkpoint has copied into the database (`nBackfill`), the page size, and the salt
that changes whenever the WAL starts again from its beginning. The layout is part of
SQLite's documented file format (https://www.sqlite.org/walformat.html, "The WAL-Index
Header"). Reading it is one `pread` of 136 bytes, so it can be done after every commit.

It is read, never mapped: SQLite truncates and rebuilds the `-shm` when a connection
finds itself the first, and a process touching a mapping past the end of a truncated
file dies of SIGBUS (the service did, under the federation outage test).

Any one thread per instance (the store's for `wear`, the care thread's for checkpoints).
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

HEADER = struct.Struct("=H I 4x 8x 8s")
"""From offset 14: szPage (u16; 1 means 65536), mxFrame (u32), nPage, the frame
checksum, then the salt (two u32)."""
HEADER_AT = 14
BACKFILL = struct.Struct("=I")
BACKFILL_AT = 96
"""nBackfill, the first field after the two copies of the 48-byte header."""
MAPPED = 136
FRAME_HEADER = 24


@dataclass(frozen=True, slots=True)
class WalState:
    page_size: int
    frames: int
    backfilled: int
    salt: bytes

    @property
    def frame_bytes(self) -> int:
        return self.page_size + FRAME_HEADER


class WalIndex:
    """The `-shm` of the database at `database`, opened read-only on first use."""

    def __init__(self, database: Path) -> None:
        self._path = Path(f"{database}-shm")
        self._fd: int | None = None
        self._inode = 0

    def read(self) -> WalState | None:
        """The header now; None while there is no WAL index (no connection in WAL mode,
        or one being rebuilt)."""
        if self._fd is None:
            self.refresh()
            if self._fd is None:
                return None
        try:
            header = os.pread(self._fd, MAPPED, 0)
        except OSError:
            return None
        if len(header) < MAPPED:
            return None
        page, frames, salt = HEADER.unpack_from(header, HEADER_AT)
        (backfilled,) = BACKFILL.unpack_from(header, BACKFILL_AT)
        return WalState(65536 if page == 1 else page, frames, backfilled, salt)

    def refresh(self) -> None:
        """Open the file again if SQLite has made a new one since (all connections closed)."""
        try:
            inode = self._path.stat().st_ino
        except OSError:
            return
        if self._fd is not None and inode == self._inode:
            return
        try:
            fd = os.open(self._path, os.O_RDONLY)
        except OSError:
            return
        self.close()
        self._fd, self._inode = fd, inode

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
