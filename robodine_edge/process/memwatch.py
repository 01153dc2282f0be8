"""A debug hook for finding what makes the service's memory grow: `ROBODINE_DEBUG_MEMORY=<dir>`.

Off unless that variable names a directory (never set by the service's own unit or config). When
set, `tracemalloc` traces every Python allocation from start-up on (`ROBODINE_DEBUG_MEMORY_FRAMES`
frames deep, 12 by default; 0 traces nothing), and every `ROBODINE_DEBUG_MEMORY_S` seconds (300
by default) a thread of its own writes a snapshot to `<dir>/tracemalloc-<n>-<seconds>s.snap` and a
line to `<dir>/memwatch.jsonl`: the collector's figures (generation counts, objects frozen), what SQLite's
allocator and glibc's malloc hold (in use, and freed but kept) and the process's RSS. Compare two
snapshots with `python -m bench.soak_memory <dir>`.

Tracing costs: it roughly doubles the interpreter's allocation cost and its bookkeeping takes
memory of its own (counted in RSS, not in the snapshots), and taking a snapshot holds the GIL
for a moment (every thread, the event loop too, waits): for finding a leak, not for a store.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import os
import threading
import time
import tracemalloc
from collections.abc import Mapping
from pathlib import Path

import orjson

from robodine_edge.data.db import sqlite_memory_used

log = logging.getLogger(__name__)
ENV_DIR = "ROBODINE_DEBUG_MEMORY"
ENV_INTERVAL = "ROBODINE_DEBUG_MEMORY_S"
ENV_FRAMES = "ROBODINE_DEBUG_MEMORY_FRAMES"
DEFAULT_INTERVAL_S = 300.0
FRAMES = 12
"""Frames kept per traced allocation; `ROBODINE_DEBUG_MEMORY_FRAMES=0` traces nothing and writes
only the figures (cheap enough for a long soak)."""


class MemoryWatch:
    """Snapshots on a daemon thread of its own until `stop`."""

    def __init__(self, directory: Path, interval_s: float, frames: int = FRAMES) -> None:
        self.directory = directory
        self.interval_s = interval_s
        self.frames = frames
        self._started = time.monotonic()
        self._written = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memwatch", daemon=True)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> MemoryWatch | None:
        """The watch the environment asks for, started; None when it asks for none. A value
        that cannot be used is logged and ignored: a debug switch never stops the service."""
        directory = env.get(ENV_DIR)
        if not directory:
            return None
        try:
            interval = float(env.get(ENV_INTERVAL) or DEFAULT_INTERVAL_S)
            if not interval > 0:
                raise ValueError(f"{ENV_INTERVAL}: not a positive number of seconds")
            frames = int(env.get(ENV_FRAMES) or FRAMES)
            if not 0 <= frames <= 100:
                raise ValueError(f"{ENV_FRAMES}: not 0 to 100")
            Path(directory).mkdir(parents=True, exist_ok=True)
        except (ValueError, OSError) as exc:
            log.error("%s=%s: %s; memory is not watched", ENV_DIR, directory, exc)
            return None
        watch = cls(Path(directory), interval, frames)
        watch.start()
        return watch

    def start(self) -> None:
        """Main thread, first thing at start-up, so start-up's own allocations are traced."""
        if self.frames:
            tracemalloc.start(self.frames)
        self._thread.start()
        log.warning("memory is watched (a debug mode%s): every %g s in %s", ", traced: slower" if self.frames else "",
                    self.interval_s, self.directory)  # fmt: skip

    def write(self) -> Path | None:
        """One snapshot (when tracing) and its line. memwatch thread (or a caller's, in tests)."""
        elapsed = round(time.monotonic() - self._started)
        self._written += 1
        path = None
        if tracemalloc.is_tracing():
            path = self.directory / f"tracemalloc-{self._written:04d}-{elapsed:06d}s.snap"
            snapshot = tracemalloc.take_snapshot()
            partial = path.with_suffix(".partial")
            snapshot.dump(str(partial))
            partial.replace(path)  # a reader never finds half a snapshot
        traced, peak = tracemalloc.get_traced_memory()
        line = {
            "t_s": elapsed,
            "snapshot": path.name if path is not None else None,
            "traced_mb": round(traced / 2**20, 2),
            "traced_peak_mb": round(peak / 2**20, 2),
            "tracemalloc_overhead_mb": round(tracemalloc.get_tracemalloc_memory() / 2**20, 2),
            "rss_mb": _rss_mb(),
            # Not `len(gc.get_objects())`: from this thread it takes a reference to every
            # tracked object, a tuple the loop is still building included, and CPython then
            # fails that tuple's final resize (SystemError in the loop's thread, seen killing
            # the service's start-up in the suite).
            "gc_counts": gc.get_count(),
            "gc_frozen": gc.get_freeze_count(),
            "sqlite_mb": _sqlite_mb(),
            **_malloc_mb(),
        }
        with (self.directory / "memwatch.jsonl").open("ab") as out:
            out.write(orjson.dumps(line) + b"\n")
        return path

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.write()
            except Exception as exc:  # a full disk, say: the service goes on
                log.error("memory snapshot failed: %s", exc)

    def stop(self) -> None:
        """Main thread, at stop."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)
        if self.frames:
            tracemalloc.stop()


class _MallInfo2(ctypes.Structure):
    """glibc's `struct mallinfo2` (glibc 2.33 and later)."""

    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]  # fmt: skip


def _malloc_mb() -> dict[str, float]:
    """glibc malloc's heap in use and free-but-kept, and its mapped blocks (MB); {} elsewhere."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        mallinfo2 = libc.mallinfo2
    except (OSError, AttributeError, TypeError):
        return {}
    mallinfo2.restype = _MallInfo2
    info = mallinfo2()
    return {"malloc_used_mb": round(info.uordblks / 2**20, 2), "malloc_free_mb": round(info.fordblks / 2**20, 2),
            "malloc_mapped_mb": round(info.hblkhd / 2**20, 2)}  # fmt: skip


def _sqlite_mb() -> float | None:
    used = sqlite_memory_used()
    return None if used is None else round(used / 2**20, 2)


def _rss_mb() -> float:
    try:
        for line in Path(f"/proc/{os.getpid()}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return 0.0
