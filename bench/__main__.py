"""`make bench`: figures as ratios against baselines measured in the same run.

These machines are noisy, so every figure is printed next to a baseline taken seconds
apart on the same host. Results also go to bench/results.json.
"""

from __future__ import annotations

import asyncio
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson
import pykka
from robodine_edge.actors.base import SupervisedActor
from robodine_edge.actors.store import Store, StoreActor
from robodine_edge.actors.supervisor import ActorSlot

from robodine_edge.db import database_path, open_database
from robodine_edge.http import bridge
from robodine_edge.migrations import migrate
from robodine_edge.models import Event

RESULTS = Path(__file__).parent / "results.json"


class Echo(SupervisedActor):
    def echo(self, value: int) -> int:
        return value


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_us": round(ordered[len(ordered) // 2] * 1e6, 1),
        "p99_us": round(ordered[int(len(ordered) * 0.99)] * 1e6, 1),
    }


async def timed(call: Callable[[int], Awaitable[Any]], count: int) -> list[float]:
    samples = []
    for i in range(count):
        started = time.perf_counter()
        await call(i)
        samples.append(time.perf_counter() - started)
    return samples


def bench_bridge(count: int = 5000) -> dict[str, Any]:
    """Loop → actor → loop round trip, against a loop → thread pool → loop hop."""
    proxy = Echo.start().proxy()
    pool = ThreadPoolExecutor(1)

    async def run() -> tuple[list[float], list[float]]:
        loop = asyncio.get_running_loop()
        baseline = await timed(lambda i: loop.run_in_executor(pool, int, i), count)
        bridged = await timed(lambda i: bridge.wait(proxy.echo(i), 5), count)
        return baseline, bridged

    baseline, bridged = asyncio.run(run())
    pool.shutdown()
    pykka.ActorRegistry.stop_all()
    ratio = statistics.median(bridged) / statistics.median(baseline)
    return {"bridge": percentiles(bridged), "thread_pool_baseline": percentiles(baseline), "ratio_p50": round(ratio, 2)}


def bench_writes(data_dir: Path, concurrent: int = 2000, sequential: int = 300) -> dict[str, Any]:
    """Durable (synchronous=FULL) writes: group-committed under load vs one commit each."""
    db = open_database(database_path(data_dir))
    migrate(db)
    db.close()
    slot: ActorSlot[StoreActor] = ActorSlot("store")
    slot.install(StoreActor.start(db))
    store = Store(slot)

    def add(i: int) -> int:
        return Event.create(type="bench", message=str(i)).id

    started = time.perf_counter()
    for i in range(sequential):
        store.write(add, i).get(timeout=30)
    one_by_one = sequential / (time.perf_counter() - started)
    started = time.perf_counter()
    futures = [store.write(add, i) for i in range(concurrent)]
    for future in futures:
        future.get(timeout=60)
    grouped = concurrent / (time.perf_counter() - started)
    pykka.ActorRegistry.stop_all()
    return {
        "one_commit_each_per_s": round(one_by_one),
        "group_commit_per_s": round(grouped),
        "ratio": round(grouped / one_by_one, 1),
    }


def bench_startup(data_dir: Path, runs: int = 3) -> dict[str, Any]:
    """Process spawn to the `ready` log line, against spawning a bare `python -c pass`."""
    executable = str(Path(sys.executable).parent / "robodine-edge")
    env = {
        **os.environ,
        "ROBODINE_DATA_DIR": str(data_dir),
        "ROBODINE_HOST": "127.0.0.1",
        "ROBODINE_HTTP_PORT": "0",
        "ROBODINE_MDNS": "0",
        "ROBODINE_ADMIN_PASSWORD": "bench-password",
        "ROBODINE_CONFIG": str(data_dir / "none.toml"),
    }
    ready, bare = [], []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        bare.append(time.perf_counter() - started)
        started = time.perf_counter()
        proc = subprocess.Popen([executable, "run"], env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
        assert proc.stderr is not None
        for line in proc.stderr:
            if b" msg=ready" in line:
                break
        ready.append(time.perf_counter() - started)
        rss_kb = _rss_kb(proc.pid)
        proc.terminate()
        proc.communicate(timeout=15)
    return {
        "ready_s": round(statistics.median(ready), 3),
        "bare_python_s": round(statistics.median(bare), 3),
        "ratio": round(statistics.median(ready) / statistics.median(bare), 1),
        "idle_rss_mb": round(rss_kb / 1024, 1),
    }


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def host() -> dict[str, Any]:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {"cores": os.cpu_count(), "cpu": model, "python": platform.python_version(), "machine": platform.machine()}


def main() -> int:
    results: dict[str, Any] = {"host": host()}
    with tempfile.TemporaryDirectory() as tmp:
        results["bridge"] = bench_bridge()
        results["durable_writes"] = bench_writes(Path(tmp) / "writes")
        results["startup"] = bench_startup(Path(tmp) / "startup")
    RESULTS.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    h = results["host"]
    print(f"host: {h['cores']} cores, {h['cpu']}, Python {h['python']}")
    b, w, s = results["bridge"], results["durable_writes"], results["startup"]
    rows = [
        ("measure", "figure", "baseline"),
        (
            "actor ask via bridge, p50",
            f"{b['bridge']['p50_us']} µs",
            f"{b['thread_pool_baseline']['p50_us']} µs pool hop",
        ),
        ("durable writes", f"{w['group_commit_per_s']} /s", f"{w['one_commit_each_per_s']} /s one by one"),
        ("start-up to ready", f"{s['ready_s']} s", f"{s['bare_python_s']} s python -c pass"),
        ("idle RSS", f"{s['idle_rss_mb']} MB", ""),
    ]
    ratios = ["ratio", b["ratio_p50"], w["ratio"], s["ratio"], ""]
    for (name, figure, baseline, *_), ratio in zip(rows, ratios, strict=True):
        print(f"{name:<28}{figure:>12}   {baseline:<26}{ratio!s:>6}")
    print(f"results: {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
