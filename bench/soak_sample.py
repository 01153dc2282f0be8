"""What the soak samples of the service from outside: its process (`/proc/<pid>`) and its
database files. Plain reads of the kernel's and the filesystem's own figures, so the service
does nothing to be measured. Runs on the harness's sampler (its event loop: each read is a few
small files, well under a millisecond).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

MB = 2**20


def process(pid: int) -> dict[str, Any]:
    """RSS (and its anonymous part, what a leak grows), peak RSS, threads, open descriptors
    and CPU seconds of `pid`."""
    status: dict[str, str] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        status[name] = value.strip()

    def kib(name: str) -> float:
        return round(int(status.get(name, "0 kB").split()[0]) / 1024, 2)

    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return {
        "rss_mb": kib("VmRSS"),
        "rss_anon_mb": kib("RssAnon"),
        "hwm_mb": kib("VmHWM"),
        "threads": int(status.get("Threads", "0")),
        "fds": len(os.listdir(f"/proc/{pid}/fd")),
        "cpu_s": (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"),
    }


def database(path: Path) -> dict[str, float]:
    """Sizes of the database file and its WAL (MB); a file not there is 0."""

    def size(p: Path) -> float:
        try:
            return round(p.stat().st_size / MB, 3)
        except FileNotFoundError:
            return 0.0

    return {"db_mb": size(path), "wal_mb": size(path.with_name(path.name + "-wal"))}


def children(pid: int) -> list[int]:
    """The direct children of `pid` (the demo's simulator)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]
