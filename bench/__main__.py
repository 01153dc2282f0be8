"""`make bench`: the service against its ceilings, side by side, in one run.

Every figure is printed next to a baseline measured minutes apart on the same machine
(these machines are noisy; ratios travel, raw numbers do not). Results also go to
bench/results.json. See docs/BENCH.md for what each row means.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import orjson

from bench import datasafe
from bench.estop import emergency_stop
from bench.measure import Bench, footprint, temporary

RESULTS = Path(__file__).parent / "results.json"


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


PARTS = ("footprint", "reads", "bridge", "orders", "telemetry", "fanout", "estop", "backup", "purge", "wear")
ESTOP_STOPS = 10
"""Emergency stops (each with its resolve) per fleet size."""
DATA_PARTS = {
    "backup": datasafe.backup_during_orders,
    "purge": datasafe.purge_during_orders,
    "wear": datasafe.rush_writes,
}
"""Parts with services of their own (a ~1 GiB database, the demo store's rush), run after the others."""
OWN_SERVICE = ("footprint", "estop", *DATA_PARTS)
"""Parts that start their own service rather than measure the shared bench's."""


def run(parts: tuple[str, ...] = PARTS) -> dict[str, Any]:
    started = time.monotonic()
    results: dict[str, Any] = {"host": host()}
    with temporary() as tmp:
        workdir = Path(tmp)
        if "footprint" in parts:
            results["footprint"] = footprint(workdir)
        if "estop" in parts:
            results["estop"] = emergency_stop(workdir, ESTOP_STOPS)
        if any(part not in OWN_SERVICE for part in parts) or "footprint" in parts:
            bench = Bench(workdir)
            try:
                for part in parts:
                    if part not in OWN_SERVICE:
                        results[part] = getattr(bench, part)()
                if "footprint" in parts:
                    results["footprint"]["rss_after_runs_mb"] = bench.rss_mb()
            finally:
                bench.close()
        for part in parts:
            if part in DATA_PARTS:
                results[part] = DATA_PARTS[part](workdir)
    results["seconds"] = round(time.monotonic() - started, 1)
    return results


def rows(r: dict[str, Any]) -> list[tuple[str, str, str, str, str, bool | None]]:
    """(measure, figure, baseline, ratio, target, met)."""
    reads, orders, tele, fan, foot, bridge = (
        r["reads"],
        r["orders"],
        r["telemetry"],
        r["fanout"],
        r["footprint"],
        r["bridge"],
    )
    out: list[tuple[str, str, str, str, str, bool | None]] = []
    for route in ("menu", "robots", "tables"):
        m = reads[route]
        out.append((f"GET /api/{route} ({m['body_bytes']} B)", f"{m['rps']} req/s, p50 {m['p50_ms']} p99 {m['p99_ms']} ms",
                    f"{m['bare_rps']} req/s bare Sanic, same body", f"{m['ratio']:.2f}", ">= 0.70", m["ratio"] >= 0.70))  # fmt: skip
    top, half = orders["max"], orders["half"]
    out.append(("POST /api/orders, max (wrk, 32 conns)", f"{top['rps']} orders/s, p50 {top['p50_ms']} p99 {top['p99_ms']} ms",
                "16/s FastAPI backend", "", ">= 1000/s", top["rps"] >= 1000))  # fmt: skip
    half_ok = half["p99_ms"] is not None and half["p99_ms"] < 20 and half["errors"] == 0
    out.append((f"POST /api/orders at {half['target_rps']}/s (open loop)",
                f"{half['rps']} orders/s, p50 {half['p50_ms']} p99 {half['p99_ms']} ms, {half['errors']} errors",
                "", "", "p99 < 20 ms", half_ok))  # fmt: skip
    at = tele["at_2500"]
    sink = tele["bare_asyncio"]
    out.append(("telemetry at 2,500/s (50 robots)", f"loss {at['loss']}, CPU {at['cpu_of_one_core'] * 100:.0f}% of a core",
                f"CPU {sink[2500]['cpu_of_one_core'] * 100:.0f}% bare asyncio", "", "0 loss, < 25% CPU",
                at["loss"] == 0 and at["cpu_of_one_core"] < 0.25))  # fmt: skip
    out.append(("telemetry, highest rate with 0 loss", f"{tele['max_lossless_rate']} dgram/s (of 5k-40k tried)",
                f"bare asyncio: loss {sink[40000]['loss']} at 40k/s", "", ">= 20,000/s", tele["max_lossless_rate"] >= 20000))  # fmt: skip
    out.append((f"fan-out to {fan['clients']} clients (robots topic)", f"p50 {fan['p50_ms']} p99 {fan['p99_ms']} ms",
                f"{fan['messages']}/{fan['expected']} delivered", "", "p99 < 10 ms", fan["p99_ms"] < 10))  # fmt: skip
    ask, plain = bridge["one_actor_ask"], bridge["no_actor"]
    out.append(("HTTP request asking one actor", f"{ask['rps']} req/s, p50 {ask['p50_ms']} ms",
                f"{plain['rps']} req/s asking none", f"{bridge['ratio']:.2f}", "", None))  # fmt: skip
    for size, stop in r["estop"].items():
        first, last, one = stop["first_ms"], stop["last_ms"], stop["one_command_ms"]
        out.append((f"emergency stop, {size} robots ({stop['stops']} stops)",
                    f"first robot p50 {first['p50']} p99 {first['p99']} ms, last p50 {last['p50']} p99 {last['p99']} ms"
                    + (f", {len(stop['errors'])} errors ({', '.join(sorted(set(stop['errors'])))})" if stop["errors"] else ""),
                    f"one command to one robot p50 {one['p50']} ms", "", "last p99 < 50 ms, first < 10 ms",
                    last["p99"] < 50 and first["p99"] < 10 and not stop["errors"]))  # fmt: skip
    out.append(("idle RSS, demo + 20 robots", f"{foot['idle_rss_mb']} MB ({foot['robots_online']} online)", "", "", "< 60 MB",
                foot["idle_rss_mb"] < 60))  # fmt: skip
    out.append(("RSS after the runs", f"{foot['rss_after_runs_mb']} MB", "", "", "", None))
    out.append(
        (
            "start-up to ready",
            f"{foot['ready_s']} s",
            f"{foot['bare_python_s']} s python -c pass",
            "",
            "< 1 s",
            foot["ready_s"] < 1,
        )
    )
    out.append(("start-up to ready, with mDNS", f"{foot['ready_with_mdns_s']} s", "", "", "< 1 s + probing (~1.2 s)",
                foot["ready_with_mdns_s"] < 2.3))  # fmt: skip
    return out + data_rows(r)


def data_rows(r: dict[str, Any]) -> list[tuple[str, str, str, str, str, bool | None]]:
    """The data-safety rows: orders at 100/s during a backup and a purge, writes per hour."""
    backup, purge, wear = r["backup"], r["purge"], r["wear"]
    out: list[tuple[str, str, str, str, str, bool | None]] = []
    for name, part, what in (
        ("backup", backup, f"backup of {backup['database_bytes'] / 2**30:.2f} GiB took {backup['backup_s']} s"),
        ("purge", purge, f"{purge['rows_per_s']} rows/s purged"),
    ):
        during, before = part["during"], part["before"]
        met = during["errors"] == 0 and during["p99_ms"] is not None and during["p99_ms"] < 100
        out.append((f"orders at {datasafe.ORDER_RATE}/s during a {name}",
                    f"p50 {during['p50_ms']} p99 {during['p99_ms']} max {during['max_ms']} ms, {during['errors']} errors; {what}",
                    f"p99 {before['p99_ms']} ms just before", _ratio(during["p99_ms"], before["p99_ms"]),
                    "0 errors, p99 < 100 ms", met))  # fmt: skip
    out.append(("start-up with that database (quick_check)", f"{backup['ready_s']} s", "", "", "", None))
    shares = ", ".join(
        f"{kind} {share * 100:.0f}%" for kind, share in sorted(wear["share"].items(), key=lambda kv: -kv[1])
    )
    out.append(("writes to storage, demo dinner rush", f"{wear['mb_per_hour']} MiB/h ({shares})",
                f"{wear['commits_per_hour']} commits/h, {wear['filesystem']}", "",
                f"<= {wear['budget_mb_per_hour']} MiB/h", wear["mb_per_hour"] <= wear["budget_mb_per_hour"]))  # fmt: skip
    return out


def _ratio(during: float | None, before: float | None) -> str:
    return f"{during / before:.2f}" if during and before else ""


def main() -> int:
    parts = tuple(sys.argv[1:]) or PARTS
    unknown = set(parts) - set(PARTS)
    if unknown:
        print(f"unknown parts {sorted(unknown)}; choose from {', '.join(PARTS)}", file=sys.stderr)
        return 2
    results = run(parts)
    if parts != PARTS:
        print(orjson.dumps(results, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode())
        return 0
    RESULTS.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS))
    h = results["host"]
    print(
        f"host: {h['cores']} cores, {h['cpu']}, {h['machine']}, Python {h['python']}; bench took {results['seconds']} s"
    )
    table = [("measure", "figure", "baseline (same run)", "ratio", "target", "met"), *rows(results)]
    widths = [max(len(str(row[i])) for row in table) for i in range(5)]
    for row in table:
        met = row[5] if isinstance(row[5], str) else {True: "yes", False: "NO", None: ""}[row[5]]
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row[:5], widths, strict=True)) + f"  {met}")
    print(f"results: {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
