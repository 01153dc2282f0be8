"""The soak: a dinner rush for as long as you like, and whether the service stays flat through it.

`python -m bench.soak --minutes 120` (`make soak`) runs the real `robodine-edge run --demo`
(the demo store: 12 tables, 20 dishes, its five robots and four cameras, its guests every
20 s) with `robodine-edge simulate` for 15 robots more (20 in all: 6 cookbots, 14 albabots)
and the harness's rush beside them (bench/soak_load.py: table tablets ordering, staff at
work, the screens following their topics, a /health probe). Every `--sample-s` it samples
the service from outside (bench/soak_sample.py): RSS, open descriptors, threads, the
database and its WAL, orders placed / served / open, actor mailboxes, /health latency.

At the end the load stops, the orders placed until then are given `--drain-s` to be served,
and every one is accounted for (served, explained, or not: bench/soak_drift.py); each
resource's drift per hour after the warm-up is judged against its tolerance. Results go to
`--out` (bench/soak.json) as JSON, and a table is printed. Exit status 0 when every verdict
holds, 1 when one does not, 2 when the run itself failed.

The service's day is set to start at 18:00 (its `TZ`), so the run is a dinner rush on the
store's own clock and no nightly upkeep falls in it. docs/BENCH.md, "Soak", says more.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from bench import soak_drift, soak_sample
from bench.soak_load import Rush
from robodine_edge.data.db import database_path
from robodine_edge.demo.seed import CREDENTIALS_FILE
from tests.service import ADMIN_PASSWORD, EXECUTABLE, ServiceProcess, service_env

OUT = Path(__file__).parent / "soak.json"
EXTRA_ALBABOTS = 11
EXTRA_COOKBOTS = 4
"""Beside the demo's three albabots and two cookbots: 20 robots."""
LOCAL_START_HOUR = 18
ROBOTS_ONLINE_TIMEOUT_S = 90.0
LOG_LEVEL = re.compile(r"\blevel=(\w+)\b.*?\bmsg=(\"[^\"]*\"|\S+)")


def dinner_tz(now: datetime | None = None) -> str:
    """A POSIX `TZ` under which the local time now is about `LOCAL_START_HOUR`:00."""
    hour = (now or datetime.now(UTC)).hour
    east = (LOCAL_START_HOUR - hour + 12) % 24 - 12
    return f"SOAK{-east:+d}"


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=120.0, help="length of the rush (default 120)")
    parser.add_argument("--warmup-minutes", type=float, help="left out of the drift (default: the first half)")
    parser.add_argument("--sample-s", type=float, default=30.0, help="seconds between samples (default 30)")
    parser.add_argument("--order-every", type=float, default=20.0, help="mean seconds between kiosk orders (20)")
    parser.add_argument("--staff-every", type=float, default=30.0, help="mean seconds between staff actions (30)")
    parser.add_argument("--drain-s", type=float, default=300.0, help="time the last orders get to be served (300)")
    parser.add_argument("--out", type=Path, default=OUT, help=f"the JSON results (default {OUT.name} in bench/)")
    parser.add_argument("--workdir", type=Path, help="the service's data and logs go here (default: a temp dir)")
    parser.add_argument(
        "--env", action="append", default=[], metavar="NAME=VALUE", help="an extra variable for the service"
    )
    return parser.parse_args(argv)


class Soak:
    """One run: the service, the extra robots, the rush, the samples. Main thread, with the
    rush and the sampler on one asyncio loop."""

    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.workdir = workdir
        self.data = workdir / "data"
        self.samples: list[dict[str, Any]] = []
        self.notes: list[str] = []
        self.service: ServiceProcess | None = None
        self.robots: subprocess.Popen[bytes] | None = None
        self.tz = dinner_tz()

    # -- processes ---------------------------------------------------------------------------

    def start(self) -> None:
        self.data.mkdir(parents=True)
        extra = dict(item.split("=", 1) for item in self.args.env)
        env = service_env(self.data, TZ=self.tz, ROBODINE_HTTP_VALIDATE_RESPONSES="0", **extra)
        self.service = ServiceProcess(self.data, env, args=("--demo",)).start(timeout=60)
        self.robots = subprocess.Popen(
            [EXECUTABLE, "simulate", "--edge", f"127.0.0.1:{self.service.runtime['robot_port']}", "--api",
             self.service.url, "--admin-password", ADMIN_PASSWORD, "--albabots", str(EXTRA_ALBABOTS),
             "--cookbots", str(EXTRA_COOKBOTS), "--prefix", "soak-", "--camera-fps", "0"],
            env={k: v for k, v in os.environ.items() if not k.startswith("ROBODINE_")},
            stdout=subprocess.DEVNULL, stderr=(self.workdir / "simulate.log").open("wb"),
        )  # fmt: skip

    def stop(self) -> int | None:
        if self.robots is not None and self.robots.poll() is None:
            self.robots.terminate()
            try:
                self.robots.wait(15)
            except subprocess.TimeoutExpired:
                self.robots.kill()
                self.robots.wait(5)
        code = None
        if self.service is not None:
            code = self.service.stop(timeout=30)
            (self.workdir / "service.log").write_text(self.service.log + "\n")
        return code

    # -- the run -----------------------------------------------------------------------------

    async def run(self) -> dict[str, Any]:
        assert self.service is not None
        credentials = self.data / CREDENTIALS_FILE
        rush = Rush(self.service.url, credentials, order_every_s=self.args.order_every,
                    staff_every_s=self.args.staff_every)  # fmt: skip
        await rush.start()
        try:
            online = await self._robots_online(rush, 20)
            if online < 20:
                self.notes.append(f"only {online} of 20 robots online after {ROBOTS_ONLINE_TIMEOUT_S:g} s")
            rush.start_load()
            started = time.monotonic()
            cpu_before = soak_sample.process(self.service.pid)["cpu_s"]
            stats_before = await rush.staff_get("/api/stats/today")
            base = (stats_before["orders"], stats_before["served"], stats_before["cancelled"])
            end = started + self.args.minutes * 60
            while True:
                await self._sample(rush, started, base)
                left = end - time.monotonic()
                if left <= 0:
                    break
                await asyncio.sleep(min(self.args.sample_s, left))
            cpu = soak_sample.process(self.service.pid)["cpu_s"] - cpu_before
            seconds = time.monotonic() - started
            await rush.stop_load()
            last_id = (await rush.staff_get("/api/stats/today"))["last_order_id"] or 0
            drained_s = await self._drain(rush, last_id)
            orders = await rush.all_orders()
            await asyncio.sleep(2)  # the screens' last messages
            seen = rush.orders_seen()
            return {
                "run_s": round(seconds, 1),
                "cpu_of_one_core": round(cpu / seconds, 3),
                "last_order_id": last_id,
                "drained_s": drained_s,
                "accounting": soak_drift.account(orders, rush.tally.placed, rush.tally.cancelled, last_id),
                "screens_agree": _agree(orders, seen, last_id),
                "load": _load_report(rush),
                "screens": {screen.name: screen.report() for screen in rush.screens},
            }
        finally:
            await rush.close()

    async def _robots_online(self, rush: Rush, wanted: int) -> int:
        deadline = time.monotonic() + ROBOTS_ONLINE_TIMEOUT_S
        while True:
            online = sum(1 for robot in await rush.staff_get("/api/robots?limit=1000") if robot["online"])
            if online >= wanted or time.monotonic() > deadline:
                return online
            await asyncio.sleep(1)

    async def _sample(self, rush: Rush, started: float, base: tuple[int, int, int]) -> None:
        assert self.service is not None
        pid = self.service.pid
        sample: dict[str, Any] = {"t_s": round(time.monotonic() - started, 1)}
        sample.update(soak_sample.process(pid))
        sample.update(soak_sample.database(database_path(self.data)))
        sample["demo_fleet_rss_mb"] = sum(soak_sample.process(child)["rss_mb"] for child in soak_sample.children(pid))
        stats = await rush.staff_get("/api/stats/today")
        placed, served, cancelled = (stats[k] - b for k, b in zip(("orders", "served", "cancelled"), base, strict=True))
        sample.update(orders_placed=placed, orders_served=served, orders_cancelled=cancelled,
                      open_orders=len(stats["open_order_ids"]))  # fmt: skip
        metrics = await rush.text("/metrics")
        depths = [float(v) for v in re.findall(r"^robodine_actor_mailbox_depth\{[^}]*\} (\S+)$", metrics, re.M)]
        sample["mailbox_max"] = max(depths, default=0.0)
        sample["ws_clients"] = _metric(metrics, "robodine_websocket_clients")
        replay, sqlite = (
            _metric(metrics, "robodine_websocket_replay_bytes"),
            _metric(metrics, "robodine_sqlite_memory_bytes"),
        )
        sample["replay_mb"] = None if replay is None else round(replay / 2**20, 3)
        sample["sqlite_mb"] = None if sqlite is None else round(sqlite / 2**20, 3)
        sample["rss_net_mb"] = round(sample["rss_mb"] - (sample["replay_mb"] or 0) - (sample["sqlite_mb"] or 0), 2)
        health = rush.tally.take_health()
        sample["health_p50_ms"] = _round(soak_sample.percentile(health, 0.5))
        sample["health_max_ms"] = _round(max(health, default=None))
        self.samples.append(sample)
        print(
            f"[{sample['t_s'] / 60:6.1f} min] rss {sample['rss_mb']:6.1f} MB  fds {sample['fds']:4d}  "
            f"(net {sample['rss_net_mb']:6.1f})  threads {sample['threads']:3d}  db {sample['db_mb']:7.2f} MB  wal {sample['wal_mb']:6.2f} MB  "
            f"orders {placed} placed / {served} served / {sample['open_orders']} open  "
            f"health p50 {sample['health_p50_ms']} ms",
            flush=True,
        )

    async def _drain(self, rush: Rush, last_id: int) -> float | None:
        """Seconds until every order up to `last_id` is served, cancelled or flagged; None if
        some were not within `--drain-s`."""
        started = time.monotonic()
        while True:
            stats = await rush.staff_get("/api/stats/today")
            waiting = [i for i in stats["open_order_ids"] if i <= last_id]
            flagged = 0
            for order_id in waiting:
                flagged += bool((await rush.staff_get(f"/api/orders/{order_id}"))["flagged"])
            if flagged == len(waiting):
                return round(time.monotonic() - started, 1)
            if time.monotonic() - started > self.args.drain_s:
                return None
            await asyncio.sleep(5)


def _agree(orders: list[dict[str, Any]], seen: dict[int, str], last_id: int) -> dict[str, Any]:
    """Whether the dashboard's `orders` topic ended where the API did, for every order up to
    `last_id` that is finished (served or cancelled: nothing moves it any more)."""
    final = {
        int(o["id"]): o["status"] for o in orders if int(o["id"]) <= last_id and o["status"] in ("served", "cancelled")
    }
    differ = {
        order_id: (status, seen.get(order_id)) for order_id, status in final.items() if seen.get(order_id) != status
    }
    return {"finished_orders": len(final), "differ": len(differ), "examples": dict(list(differ.items())[:10])}


def _load_report(rush: Rush) -> dict[str, Any]:
    tally = rush.tally
    return {
        "kiosk_orders_acknowledged": len(tally.placed),
        "kiosk_refused": dict(tally.refused),
        "kiosk_retries": tally.retries,
        "idempotent_replays": dict(tally.replays),
        "staff_actions": dict(tally.staff),
        "staff_cancelled": len(tally.cancelled),
        "errors": dict(tally.errors),
        "health_errors": tally.health_errors,
    }


def _metric(text: str, name: str) -> float | None:
    found = re.search(rf"^{name} (\S+)$", text, re.M)
    return float(found.group(1)) if found else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def log_summary(lines: list[str]) -> dict[str, Any]:
    """Warnings and errors of the service's log, by message (the first 60 characters)."""
    counts: Counter[str] = Counter()
    for line in lines:
        found = LOG_LEVEL.search(line)
        if found and found.group(1) in ("warning", "error", "critical"):
            counts[f"{found.group(1)}: {found.group(2).strip(chr(34))[:60]}"] += 1
    return dict(counts.most_common(30))


def verdict(report: dict[str, Any], samples: list[dict[str, Any]], warmup_s: float) -> dict[str, Any]:
    flat = soak_drift.verdicts(samples, warmup_s)
    db = soak_drift.db_growth(samples, warmup_s)
    checks = {name: found["ok"] for name, found in flat.items() if found["tolerance_per_hour"] is not None}
    checks["db_per_order"] = db["ok"]
    checks["orders"] = report["accounting"]["ok"]
    checks["screens"] = report["screens_agree"]["differ"] == 0
    checks["replays"] = "NOT replayed" not in report["load"]["idempotent_replays"]
    return {"drift": flat, "db": db, "checks": checks, "ok": all(v is True for v in checks.values())}


def table(result: dict[str, Any]) -> str:
    v = result["verdict"]
    lines = [f"{'resource':<13} {'warm':>9} {'end':>9} {'min':>9} {'max':>9} {'drift/h':>16} {'tolerance':>11}  ok"]
    for name, d in v["drift"].items():
        tolerance = "-" if d["tolerance_per_hour"] is None else f"{d['tolerance_per_hour']:g}"
        lines.append(
            f"{name:<13} {_f(d['first']):>9} {_f(d['last']):>9} {_f(d['min']):>9} {_f(d['max']):>9} "
            f"{d['per_hour']:>+8.2f} ±{d['stderr']:<6.2f} {tolerance:>5} {d['unit']:<7}  {_ok(d['ok']) if tolerance != '-' else ''}"
        )
    db = v["db"]
    lines.append(
        f"{'db_mb':<13} {_f(db['first']):>9} {_f(db['last']):>9} {_f(db['min']):>9} {_f(db['max']):>9} "
        f"{db['per_hour']:>+8.2f} ±{db['stderr']:<6.2f} {db['bytes_per_order'] or '-'} B/order "
        f"(≤ {db['tolerance_bytes_per_order']})  {_ok(db['ok'])}"
    )
    acc = result["accounting"]
    lines.append(
        f"orders up to #{result['last_order_id']}: {acc['orders']} placed, {acc['served']} served, "
        f"{acc['explained']} explained, {acc['unexplained']} unexplained, {acc['lost']} lost  {_ok(acc['ok'])}"
    )
    agree = result["screens_agree"]
    lines.append(f"dashboard's orders topic: {agree['differ']} of {agree['finished_orders']} finished orders differ")
    lines.append(f"verdict: {'flat' if v['ok'] else 'NOT flat'}  {v['checks']}")
    return "\n".join(lines)


def _f(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _ok(ok: bool | None) -> str:
    return "?" if ok is None else ("yes" if ok else "NO")


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    keep = args.workdir is not None
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="robodine-soak-"))
    soak = Soak(args, workdir)
    print(
        f"soak: {args.minutes:g} min, samples every {args.sample_s:g} s, data in {workdir} (TZ {soak.tz})", flush=True
    )
    result: dict[str, Any] = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "workdir": str(workdir),
        "tz": soak.tz,
    }
    failed = None
    try:
        soak.start()
        result.update(asyncio.run(soak.run()))
    except Exception as exc:  # the run itself failed: keep what was sampled
        failed = f"{type(exc).__name__}: {exc}"
    finally:
        result["exit_code"] = soak.stop()
        result["samples"] = soak.samples
        result["notes"] = soak.notes
        if soak.service is not None:
            result["log"] = log_summary(soak.service.lines)
            result["full_collections"] = [line for line in soak.service.lines if "full garbage collection" in line]
    warmup_s = (args.warmup_minutes if args.warmup_minutes is not None else args.minutes / 2) * 60
    result["warmup_s"] = warmup_s
    if failed is None:
        result["verdict"] = verdict(result, soak.samples, warmup_s)
    else:
        result["failed"] = failed
    args.out.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    if failed is not None:
        print(f"the soak failed: {failed}; samples in {args.out}", file=sys.stderr)
        return 2
    print(table(result))
    print(f"results: {args.out}" + ("" if keep else f"; logs in {workdir}"))
    return 0 if result["verdict"]["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
