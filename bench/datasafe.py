"""`make bench`'s data-safety parts: orders during a backup of a ~1 GB database and during a
purge of millions of rows, and what the demo store's dinner rush writes to the card.

Orders are placed by `bench.paced_post` (open loop, each timed from when it was due), at
`ORDER_RATE` a second through the whole run; the service's log and metrics say when the
backup and the purge ran, and the latencies are split into before and during.
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench.measure import written_bytes
from robodine_edge.clock import utcnow
from robodine_edge.data.db import database_path, open_database
from robodine_edge.data.migrations import migrate
from tests.service import ADMIN_PASSWORD, EXECUTABLE, ServiceProcess, service_env

ORDER_RATE = 100
BALLAST_MB = 820
"""With the poses below, a database of about 1 GiB."""
OLD_POSES = 2_000_000
POSES_PER_INSERT = 5_000
PURGE_WINDOW_S = 20.0
BACKUP_INTERVAL_S = 15
RUSH_WARMUP_S = 20.0
RUSH_SECONDS = 60.0
BUDGET_MB_PER_HOUR = 512
"""What the service may write to storage per hour in the demo's dinner rush (MiB): see
docs/BENCH.md, "Writes to the card"."""
LOG_TIME = re.compile(r"^ts=(\S+) ")


def build_database(data: Path) -> dict[str, Any]:
    """A migrated robodine-edge database of ~1 GiB: `OLD_POSES` pose samples 30 days old
    (the purge's work) and a ballast table of 1 MiB blobs (what makes a backup long)."""
    started = time.monotonic()
    db = open_database(database_path(data))
    migrate(db)
    db.close()
    old = utcnow() - timedelta(days=30)
    with sqlite3.connect(database_path(data)) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE bench_ballast (id INTEGER PRIMARY KEY, b BLOB)")
        conn.executemany("INSERT INTO bench_ballast (b) VALUES (randomblob(1048576))", [()] * BALLAST_MB)
        robots = [(f"robot-{n}", frame) for n in range(20) for frame in ("world", "pinky")]
        for start in range(0, OLD_POSES, POSES_PER_INSERT):
            rows = []
            for i in range(start, min(start + POSES_PER_INSERT, OLD_POSES)):
                robot_id, frame = robots[i % len(robots)]
                at = (old + timedelta(milliseconds=i * 25)).isoformat(" ")
                rows.append((robot_id, frame, i * 0.001, 1.0, at))
            conn.executemany(
                "INSERT INTO pose (robot_id, frame, x, y, z, roll, pitch, yaw, recorded_at) VALUES (?, ?, ?, ?, 0, 0, 0, 0, ?)",
                rows,
            )
            conn.commit()
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return {
        "bytes": database_path(data).stat().st_size,
        "poses": OLD_POSES,
        "seconds": round(time.monotonic() - started, 1),
    }


class OrderLoad:
    """`bench.paced_post` in the background, stopped with SIGINT; its samples afterwards."""

    def __init__(self, service: ServiceProcess, workdir: Path) -> None:
        admin = service.auth(service.token())
        name = f"bench-{time.monotonic_ns()}"  # a second run on the same database
        table = _post(service, admin, "/api/tables", {"name": name, "seats": 4})
        stock = _post(service, admin, "/api/inventory", {"name": name, "count": 10_000_000})
        dish = _post(service, admin, "/api/menu", {"name": name, "price": 9.5,
                                                   "ingredients": [{"inventory_id": stock["id"], "quantity": 1}]})  # fmt: skip
        body = workdir / "order.json"
        body.write_bytes(
            orjson.dumps({"table_id": table["id"], "items": [{"menu_item_id": dish["id"], "quantity": 1}]})
        )
        token = service.token()
        command = [sys.executable, "-m", "bench.paced_post", str(service.runtime["http_port"]), "/api/orders", token,
                   str(body), str(ORDER_RATE), "3600", "8", "samples"]  # fmt: skip
        self._proc = subprocess.Popen(command, stdout=subprocess.PIPE)

    def stop(self) -> list[tuple[float, float | None]]:
        self._proc.send_signal(signal.SIGINT)
        out, _ = self._proc.communicate(timeout=60)
        return [(at, latency) for at, latency in orjson.loads(out)["samples"]]


def window(samples: list[tuple[float, float | None]], start: float, end: float) -> dict[str, Any]:
    inside = [latency for at, latency in samples if start <= at < end]
    ok = sorted(latency for latency in inside if latency is not None)

    def pick(q: float) -> float | None:
        return round(ok[min(len(ok) - 1, int(len(ok) * q))], 1) if ok else None

    return {"orders": len(inside), "errors": len(inside) - len(ok), "p50_ms": pick(0.5), "p99_ms": pick(0.99),
            "max_ms": round(ok[-1], 1) if ok else None}  # fmt: skip


def backup_during_orders(workdir: Path) -> dict[str, Any]:
    """The first scheduled backup of the ~1 GiB database, with orders flowing."""
    data = workdir / "big"
    data.mkdir()
    built = build_database(data)
    env = service_env(data, ROBODINE_BACKUP_INTERVAL_S=str(BACKUP_INTERVAL_S), ROBODINE_RETENTION_POSES_DAYS="0",
                      ROBODINE_RETENTION_EVENTS_DAYS="0", ROBODINE_HTTP_VALIDATE_RESPONSES="0")  # fmt: skip
    started = time.monotonic()
    service = ServiceProcess(data, env).start(timeout=300)
    ready_s = round(time.monotonic() - started, 2)
    try:
        load = OrderLoad(service, workdir)
        line = _wait_for_line(service, "backup written", 600)
        time.sleep(2)
        samples = load.stop()
    finally:
        service.stop()
    end = _log_time(line)
    took = float(re.search(r"in ([\d.]+) s\)", line).group(1))  # type: ignore[union-attr]
    first = samples[0][0] if samples else end
    return {
        "database_bytes": built["bytes"],
        "ready_s": ready_s,
        "backup_s": took,
        "before": window(samples, first + 1, end - took),
        "during": window(samples, end - took, end),
    }


def purge_during_orders(workdir: Path) -> dict[str, Any]:
    """Retention's purge of the 2 million old pose samples (the database of the backup
    part, backups removed), with orders flowing: `PURGE_WINDOW_S` of it."""
    data = workdir / "big"
    if not data.is_dir():
        data.mkdir()
        build_database(data)
    for path in (data / "backups").glob("*"):
        path.unlink()
    env = service_env(data, ROBODINE_BACKUP_INTERVAL_S="0", ROBODINE_RETENTION_POSES_DAYS="7",
                      ROBODINE_HTTP_VALIDATE_RESPONSES="0")  # fmt: skip
    service = ServiceProcess(data, env).start(timeout=300)
    counts: list[tuple[float, float]] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(0.2):
            counts.append((time.time(), _metric(service, 'robodine_purged_rows_total{table="pose"}')))

    watcher = threading.Thread(target=watch)
    try:
        load = OrderLoad(service, workdir)
        watcher.start()
        deadline = time.monotonic() + 120
        while not counts or counts[-1][1] == 0:
            if time.monotonic() > deadline:
                raise RuntimeError("the purge did not start")
            time.sleep(0.2)
        began = counts[-1][0] - 0.2
        time.sleep(PURGE_WINDOW_S)
        samples = load.stop()
        stop.set()
        watcher.join()
    finally:
        stop.set()
        service.stop()
    end = counts[-1][0]
    purged = counts[-1][1]
    return {
        "rows_purged": int(purged),
        "rows_per_s": round(purged / (end - began)),
        "hours_for_2m": round(OLD_POSES / (purged / (end - began)) / 3600, 2),
        "before": window(samples, samples[0][0] + 1, began),
        "during": window(samples, began, end),
    }


def rush_writes(workdir: Path, warmup_s: float = RUSH_WARMUP_S, seconds: float = RUSH_SECONDS) -> dict[str, Any]:
    """The demo store (`run --demo`: five robots, four cameras, guests every 20 s) with a
    dinner rush on top (three more robots, guests every 3 s): bytes the service process
    sends to storage per hour (`/proc/<pid>/io` write_bytes), and by kind from its metrics;
    per order placed in the window and per robot-hour (issue 18's two figures). The robots'
    pose samples are written for all of them every `telemetry.write_every_s` (10 s), or
    when the pose history is read: the window starts and ends with such a read, so it
    holds exactly its own samples (in one commit more than a steady run would make)."""
    data = workdir / "rush"
    data.mkdir()
    service = ServiceProcess(data, service_env(data), args=("--demo",)).start()
    rush = subprocess.Popen(
        [EXECUTABLE, "simulate", "--edge", f"127.0.0.1:{service.runtime['robot_port']}", "--api", service.url,
         "--admin-password", ADMIN_PASSWORD, "--albabots", "2", "--cookbots", "1", "--prefix", "rush-",
         "--guests-every", "3", "--credentials", str(data / "demo-credentials.txt"), "--camera-fps", "0"],
        env={k: v for k, v in os.environ.items() if not k.startswith("ROBODINE_")}, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        time.sleep(warmup_s)
        admin = service.auth(service.token())
        orders_before = _orders(service, admin)
        _get(service, admin, "/api/poses", limit=1)  # writes the robots' pending samples (see above)
        before, metrics_before, commits_before = written_bytes(service.pid), _wear(service), _commits(service)
        time.sleep(seconds)
        _get(service, admin, "/api/poses", limit=1)
        after, metrics_after, commits_after = written_bytes(service.pid), _wear(service), _commits(service)
        orders = _orders(service, admin)
        robots = sum(robot["online"] for robot in _get(service, admin, "/api/robots"))
    finally:
        rush.terminate()
        rush.wait(10)
        service.stop()
    per_hour = 3600 / seconds
    kinds = {kind: (metrics_after.get(kind, 0.0) - metrics_before.get(kind, 0.0)) * per_hour
             for kind in sorted(set(metrics_after) | set(metrics_before))}  # fmt: skip
    total = (after - before) * per_hour
    counted = sum(kinds.values())
    kinds["unattributed"] = max(0.0, total - counted)
    return {
        "filesystem": _filesystem(data),
        "budget_mb_per_hour": BUDGET_MB_PER_HOUR,
        "commits_per_hour": round((commits_after - commits_before) * per_hour),
        "bytes_per_hour": round(total),
        "mb_per_hour": round(total / 2**20, 1),
        "orders_placed": orders,
        "seconds": seconds,
        "orders_in_window": orders - orders_before,
        "robots_online": robots,
        "kb_per_order": _per(total / per_hour / 1000, orders - orders_before),
        "order_wal_kb_per_order": _per(kinds.get("orders", 0.0) / per_hour / 1000, orders - orders_before),
        "pose_wal_mb_per_robot_hour": _per(kinds.get("poses", 0.0) / 1e6, robots),
        "by_kind_mb_per_hour": {kind: round(value / 2**20, 1) for kind, value in kinds.items()},
        "share": {kind: round(value / total, 3) if total else 0.0 for kind, value in kinds.items()},
    }


def _per(amount: float, count: int) -> float | None:
    return round(amount / count, 1) if count else None


def _get(service: ServiceProcess, headers: dict[str, str], path: str, limit: int = 1000) -> list[dict[str, Any]]:
    response = service.http.get(path, headers=headers, params={"limit": limit})
    response.raise_for_status()
    found: list[dict[str, Any]] = response.json()
    return found


def _orders(service: ServiceProcess, headers: dict[str, str]) -> int:
    """Orders placed so far: the newest order's id (lists are newest first; ids only grow)."""
    newest = _get(service, headers, "/api/orders", limit=1)
    return int(newest[0]["id"]) if newest else 0


def _wear(service: ServiceProcess) -> dict[str, float]:
    text = httpx.get(service.url + "/metrics").text
    found = {
        m.group(1): float(m.group(2)) for m in re.finditer(r'robodine_db_wal_bytes_total\{kind="([^"]+)"\} (\S+)', text)
    }
    found["checkpoints"] = _metric(service, "robodine_db_checkpoint_bytes_total", text)
    return found


def _commits(service: ServiceProcess) -> float:
    return _metric(service, "robodine_db_commit_seconds_count")


def _filesystem(path: Path) -> str:
    """The type of the filesystem holding `path` (tmpfs would count no writes at all)."""
    best, kind = "", "?"
    for line in Path("/proc/mounts").read_text().splitlines():
        _, mount, fstype, *_ = line.split()
        if str(path).startswith(mount) and len(mount) > len(best):
            best, kind = mount, fstype
    return kind


def _metric(service: ServiceProcess, series: str, text: str | None = None) -> float:
    text = httpx.get(service.url + "/metrics").text if text is None else text
    found = re.search(rf"^{re.escape(series)} (\S+)$", text, re.M)
    return float(found.group(1)) if found else 0.0


def _post(service: ServiceProcess, headers: dict[str, str], path: str, body: dict[str, Any]) -> Any:
    response = service.http.post(path, headers=headers, json=body)
    response.raise_for_status()
    return response.json()


def _wait_for_line(service: ServiceProcess, text: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in reversed(service.lines):
            if text in line:
                return line
        time.sleep(0.2)
    raise RuntimeError(f"no {text!r} in the service's log within {timeout:g} s")


def _log_time(line: str) -> float:
    stamp = LOG_TIME.match(line).group(1)  # type: ignore[union-attr]
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone(UTC).timestamp()
