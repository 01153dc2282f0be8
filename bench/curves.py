"""The cost curves of `make bench`: how a cost grows with the fleet and the audience.

* `robots_curve`: N robots linked, each pinging every 0.5 s, idle and then each sending
  telemetry at 10 Hz: the service's CPU per robot, bytes written to storage per robot-hour
  (`/proc/PID/io`), RSS and threads, at each N. Its own service, so the other parts'
  robots do not count here. The robots' pose samples and states are written for all of
  them every `telemetry.write_every_s` (10 s): each window of bytes is one such interval
  at least, and starts and ends on a write (a pose history read makes one), so it counts
  exactly its own samples, in one more commit than a steady run would make.
* `fanout_curve`: N WebSocket clients on the `orders` topic while orders are placed at a
  steady rate: from each POST leaving to each client reading the order, p50/p99, and the
  service's CPU per order; beside it the same clients on a bare uvloop server that only
  writes the same bytes to every socket (`bench/fanout_baseline.py`).
* `live_path`: robots sending telemetry at 5 Hz and at 10 Hz (the `robots` topic's cap),
  phase-shifted: from each datagram's send to each client's read of it, on `telemetry`
  (every datagram) and on `robots` (each move, at or under the cap).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench.measure import Bench, _cpu_seconds, free_port, telemetry_templates, written_bytes
from robodine_edge.config import load_config
from robodine_edge.protocol.pose import Pose
from robodine_edge.protocol.telemetry import Telemetry, encode_telemetry

IDLE_S = 3.0
"""How long the robots are measured idle (pings only) before they send telemetry."""
DRAIN_S = 0.5
"""After the last send, how long its fan-out has to arrive before the clients stop."""
CLIENT_PROCESSES = 4
"""Subscribers are spread over this many lean processes (one epoll each)."""
ROBOT_HZ = 10
WRITE_EVERY_S = load_config(None, {}).telemetry.write_every_s
"""The service's default interval between writes of the robots' samples: the shortest
telemetry step whose bytes mean anything."""


def robots_curve(workdir: Path, counts: tuple[int, ...], seconds: float) -> dict[str, Any]:
    bench = Bench(workdir, "robots")
    points = []
    try:
        port = int(bench.service.runtime["telemetry_port"])
        for count in counts:
            bench.link_robots(count)
            time.sleep(1.0)  # the links' own start (hello, first announcements) is not idle
            bench.write_poses()  # the last samples of the step before are not idle's
            written = written_bytes(bench.service.pid)
            idle = _cpu_over(bench.service.pid, IDLE_S)
            bench.write_poses()
            idle_written = written_bytes(bench.service.pid) - written
            templates = telemetry_templates(workdir / f"robots-{count}.txt", bench.robots[:count])
            rate, step_s = count * ROBOT_HZ, max(seconds, WRITE_EVERY_S)
            step = bench._udp_step(templates, port, rate, step_s, service_pid=bench.service.pid, written=True)
            points.append(
                {
                    "robots": count,
                    "cpu_per_robot_pct": round(step["cpu_of_one_core"] * 100 / count, 3),
                    "idle_cpu_per_robot_pct": round(idle * 100 / count, 3),
                    "mb_per_robot_hour": round(step["written_bytes"] * 3600 / step["seconds"] / count / 1e6, 2),
                    "idle_mb_per_robot_hour": round(idle_written * 3600 / IDLE_S / count / 1e6, 2),
                    "cpu_of_one_core": step["cpu_of_one_core"],
                    "loss": step["loss"],
                    "rss_mb": bench.rss_mb(),
                    "threads": len(list(Path(f"/proc/{bench.service.pid}/task").iterdir())),
                }
            )
    finally:
        bench.close()
    return {"hz": ROBOT_HZ, "points": points}


def fanout_curve(bench: Bench, counts: tuple[int, ...], rate: float, seconds: float) -> dict[str, Any]:
    body = {"table_id": bench.table["id"], "items": [{"menu_item_id": bench.dish["id"], "quantity": 1}]}
    sample = bench._post("/api/orders", body)
    like_ours = orjson.loads(orjson.dumps({"topic": "orders", "seq": 1, "type": "upsert", "data": sample}))
    port = free_port()
    baseline = subprocess.Popen([sys.executable, "-m", "bench.fanout_baseline", str(port)])
    bare_http = httpx.Client(base_url=f"http://127.0.0.1:{port}")
    points = []
    try:
        _wait_up(port)
        ours_url = bench.service.url.replace("http", "ws") + f"/ws/orders?token={bench.token}"

        def place(_: int) -> Any:
            response = bench.service.http.post("/api/orders", headers=bench.admin, json=body)
            response.raise_for_status()
            return response.json()["id"]

        def publish(n: int) -> Any:
            key = 10**9 + n
            like_ours["seq"], like_ours["data"]["id"] = n, key
            bare_http.post("/publish", content=orjson.dumps(like_ours)).raise_for_status()
            return key

        for count in counts:
            ours = _fanout_run(ours_url, count, place, bench.service.pid, rate, seconds)
            bare = _fanout_run(f"ws://127.0.0.1:{port}/", count, publish, baseline.pid, rate, seconds)
            points.append({"clients": count, "ours": ours, "bare": bare})
    finally:
        bare_http.close()
        baseline.terminate()
        baseline.wait(10)
    return {"topic": "orders", "orders_per_s": rate, "message_bytes": len(orjson.dumps(like_ours)), "points": points}


def _fanout_run(
    url: str, count: int, post: Callable[[int], Any], pid: int, rate: float, seconds: float
) -> dict[str, Any]:
    """`count` subscribers on `url`; `post(n)` makes message n and returns its key."""
    clients = _start_clients(url, count, seconds + 30, "id")  # stopped sooner: `_collect`
    sent: dict[Any, float] = {}
    post_ms = []
    cpu_before = _cpu_seconds(pid)
    started = time.monotonic()
    for n in range(int(rate * seconds)):
        time.sleep(max(0.0, started + n / rate - time.monotonic()))
        at = time.monotonic()
        key = post(n)
        post_ms.append((time.monotonic() - at) * 1000)
        sent[key] = at
    time.sleep(DRAIN_S)  # the last message's fan-out
    cpu = _cpu_seconds(pid) - cpu_before
    latencies = _collect(clients, lambda key: sent.get(key[0]))
    result = _percentiles(latencies, len(sent) * count)
    result["cpu_ms_per_message"] = round(cpu * 1000 / max(1, len(sent)), 2)
    result["post_p50_ms"] = round(sorted(post_ms)[len(post_ms) // 2], 2)
    return result


def live_path(bench: Bench, robots: int, rates: tuple[int, ...], seconds: float) -> dict[str, Any]:
    bench.link_robots(robots)
    base = bench.service.url.replace("http", "ws")
    port = int(bench.service.runtime["telemetry_port"])
    out: dict[str, Any] = {"robots": robots}
    for hz in rates:
        topics = {topic: _start_clients(f"{base}/ws/{topic}?token={bench.token}", 4, seconds + 30, "pose", 1)
                  for topic in ("robots", "telemetry")}  # fmt: skip
        period, steps = 1.0 / hz, int(seconds * hz)
        sent: dict[tuple[str, float], float] = {}
        first_seq = bench.take_seqs(steps + 1)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            started = time.monotonic()
            for step in range(steps):
                for index, (robot_id, client) in enumerate(bench.robots[:robots]):
                    at = started + (step + index / robots) * period  # each robot at its own offset
                    time.sleep(max(0.0, at - time.monotonic()))
                    x = float((first_seq + step) * 1000 + index)  # unique across runs
                    sample = Telemetry(
                        robot_id, client.session or "", first_seq + step, Pose(x, 1.0), 90.0, "idle", None
                    )
                    sent[(robot_id, x)] = time.monotonic()
                    udp.sendto(encode_telemetry(sample), ("127.0.0.1", port))

        def sent_at(key: tuple[Any, ...], sent: dict[tuple[str, float], float] = sent) -> float | None:
            return sent.get((key[0], key[1]))

        out[f"{hz}hz"] = {
            topic: _percentiles(_collect(clients, sent_at), len(sent) * 4) for topic, clients in topics.items()
        }
    return out


def _start_clients(url: str, count: int, seconds: float, key: str, processes: int = CLIENT_PROCESSES) -> list[Any]:
    per_process = [count // processes + (1 if n < count % processes else 0) for n in range(processes)]
    command = [sys.executable, "-m", "bench.fanout_client", url]
    procs = [
        subprocess.Popen(
            [*command, str(each), str(seconds), key],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for each in per_process
        if each
    ]
    for proc in procs:
        assert proc.stderr is not None
        if proc.stderr.readline().strip() != b"ready":
            raise RuntimeError(f"a fan-out client did not start: {proc.stderr.read().decode()[-500:]}")
    return procs


def _collect(procs: list[Any], sent_at: Callable[[tuple[Any, ...]], float | None]) -> list[float]:
    """Stop the clients (everything was sent and had `DRAIN_S` to arrive) and match what
    each read to when it was sent."""
    time.sleep(DRAIN_S)
    for proc in procs:
        proc.stdin.close()
        proc.stdin = None  # closed: communicate() must not flush it
    latencies = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        if proc.returncode != 0:
            raise RuntimeError(f"a fan-out client failed ({proc.returncode}): {err.decode()[-500:]}")
        for line in err.decode().splitlines():
            print(f"fan-out client: {line}", file=sys.stderr)  # a close the service sent: a finding
        for *key, received in orjson.loads(out):
            at = sent_at(tuple(key))
            if at is not None:
                latencies.append(received - at)
    return latencies


def _percentiles(latencies: list[float], expected: int) -> dict[str, Any]:
    latencies.sort()
    pick = lambda q: round(latencies[min(len(latencies) - 1, int(len(latencies) * q))] * 1000, 2) if latencies else None  # noqa: E731
    return {"messages": len(latencies), "expected": expected, "p50_ms": pick(0.50), "p99_ms": pick(0.99)}


def _cpu_over(pid: int, seconds: float) -> float:
    before = _cpu_seconds(pid)
    time.sleep(seconds)
    return (_cpu_seconds(pid) - before) / seconds


def _wait_up(port: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"the bare fan-out server on {port} did not come up")
