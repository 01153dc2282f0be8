"""`make bench` (after the store's own bench), or `python -m bench.hq [SECONDS]`: a simulated
chain of 100 stores x 20 events/s (2,000 events/s) into `robodine-edge hq` on PostgreSQL,
through Mosquitto, first with one hq process, then with two on a shared subscription.

Everything runs on this machine: the broker, PostgreSQL (durable: fsync on), the hq
processes and two load processes of 50 stores each. Reported: events/s acknowledged over
the run, the ack lag (publish -> the `ack` covering it) p50/p99/max, events not
acknowledged at the end, and the CPU each hq process used. Results also go to
bench/hq-results.json. Figures are printed, not asserted (docs/FEDERATION.md, "Figures").
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from bench.__main__ import host
from tests.federation.conftest import MOSQUITTO, Broker, apt_install, start_postgres
from tests.federation.hq_process import HqProcess, hq_env

RESULTS = Path(__file__).parent / "hq-results.json"
STORES, RATE, LOADERS = 100, 20.0, 2
CHAIN = "bench"
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


def run_load(port: int, seconds: float) -> dict[str, Any]:
    per = STORES // LOADERS
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "bench.hq_load", str(port), CHAIN, str(n * per), str(per), str(RATE), str(seconds)],
            stdout=subprocess.PIPE,
        )
        for n in range(LOADERS)
    ]
    outs = [orjson.loads(proc.communicate(timeout=seconds + 90)[0]) for proc in procs]
    return {
        "sent": sum(o["sent"] for o in outs),
        "acked": sum(o["acked"] for o in outs),
        "lags": [lag for o in outs for lag in o["lags"]],
    }


def scenario(workdir: Path, broker: Broker, database_url: str, processes: int, seconds: float) -> dict[str, Any]:
    hqs = [
        HqProcess(workdir / f"hq{n}", hq_env(workdir / f"hq{n}", broker.url, database_url, chain=CHAIN)).start()
        for n in range(processes)
    ]
    try:
        cpu_before = [cpu_seconds(hq.pid) for hq in hqs]
        started = time.monotonic()
        load = run_load(broker.port, seconds)
        elapsed = time.monotonic() - started
        used = [cpu_seconds(hq.pid) - before for hq, before in zip(hqs, cpu_before, strict=True)]
        cpu = [round(seconds_used / elapsed, 2) for seconds_used in used]
    finally:
        for hq in hqs:
            hq.stop()
    lags = load["lags"]
    return {
        "hq_processes": processes,
        "stores": STORES,
        "offered_per_s": STORES * RATE,
        "seconds": seconds,
        "sent": load["sent"],
        "acked": load["acked"],
        "unacked_at_end": load["sent"] - load["acked"],
        "acked_per_s": round(load["acked"] / seconds, 1),
        "lag_p50_ms": percentile(lags, 0.50),
        "lag_p99_ms": percentile(lags, 0.99),
        "lag_max_ms": round(max(lags), 1) if lags else None,
        "lag_mean_ms": round(statistics.fmean(lags), 1) if lags else None,
        "hq_cpu_of_one_core": cpu,
        "hq_cpu_ms_per_event": round(sum(used) * 1000 / max(load["acked"], 1), 3),
        "load_average_after": round(os.getloadavg()[0], 1),
    }


def run(seconds: float) -> dict[str, Any]:
    apt_install("mosquitto", lambda: os.access(MOSQUITTO, os.X_OK))
    results: dict[str, Any] = {"host": host()}
    postgres = start_postgres(durable=True)
    try:
        with tempfile.TemporaryDirectory(prefix="robodine-hq-bench-") as tmp:
            workdir = Path(tmp)
            for processes in (1, 2):
                folder = workdir / f"broker{processes}"
                folder.mkdir()
                broker = Broker(folder, extra="max_queued_messages 10000").start()
                try:
                    results[f"hq_{processes}"] = scenario(
                        workdir / f"run{processes}", broker, postgres.new_database(), processes, seconds
                    )
                finally:
                    broker.stop()
    finally:
        postgres.stop()
        postgres.remove()
    return results


def main() -> int:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 40.0
    results = run(seconds)
    RESULTS.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    print(f"HQ: {STORES} stores x {RATE:g} events/s into robodine-edge hq on PostgreSQL, {seconds:g} s each")
    print(
        "hq processes  acked/s  unacked at end  ack lag p50 / p99 / max (ms)  hq CPU (of one core)  CPU ms/event  load avg"
    )
    for key in ("hq_1", "hq_2"):
        r = results[key]
        print(f"{r['hq_processes']:<13} {r['acked_per_s']:<8} {r['unacked_at_end']:<15} "
              f"{r['lag_p50_ms']} / {r['lag_p99_ms']} / {r['lag_max_ms']:<17} {r['hq_cpu_of_one_core']!s:<21} "
              f"{r['hq_cpu_ms_per_event']:<13} {r['load_average_after']}")  # fmt: skip
    print(f"results: {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
