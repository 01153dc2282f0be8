"""The emergency stop's cost curve: POST → `emergency_stop` at every robot, 10/50/200 robots.

A service of its own (every linked robot is a measured one: an emergency goes to all of
them), and the robots in one lean process (`bench/estop_robots.py`) over real TCP links.
Each stop is timed from just before the POST to the first and to the last robot reading
its `emergency_stop`; the resolve that follows, to `resume`, the same way. The same-run
baseline is the per-robot path: a staff `stop` to one robot, POST → that robot reads it.
"""

from __future__ import annotations

import math
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

from tests.service import ServiceProcess, service_env

SIZES = (10, 50, 200)
SETTLE_S = 0.3
"""A pause between rounds: the robots' acks (one store write each) are not the next round's load."""
ROUND_TIMEOUT_S = 15.0


def percentile(values: list[float], q: float) -> float:
    """Nearest rank, in ms rounded to 0.1 (with few samples, p99 is the worst)."""
    ordered = sorted(values)
    return round(ordered[max(0, math.ceil(q * len(ordered)) - 1)] * 1000, 1)


def spread(values: list[float]) -> dict[str, float]:
    return {"p50": percentile(values, 0.5), "p99": percentile(values, 0.99), "max": round(max(values) * 1000, 1)}


class Robots:
    """The robots process: linked, acknowledging, reporting each complete round."""

    def __init__(self, port: int, credentials: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.estop_robots", str(port), str(credentials)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0,
        )  # fmt: skip
        assert self.proc.stderr is not None
        line = self.proc.stderr.readline()
        if line.strip() != b"ready":
            raise RuntimeError(f"the bench robots did not link: {line!r} {self.proc.stderr.read()!r}")

    def round(self, name: str) -> dict[str, float]:
        """The next complete round of `name`: every robot's read time."""
        times: dict[str, float] = self._next(name)["times"]
        return times

    def single(self, name: str, robot_id: str) -> float:
        """When `robot_id` read the `name` sent to it alone."""
        found = self._next(name)
        if found["robot_id"] != robot_id:
            raise RuntimeError(f"{name} reached {found['robot_id']}, not {robot_id}")
        return float(found["time"])

    def _next(self, name: str) -> dict[str, Any]:
        assert self.proc.stdout is not None
        if not select.select([self.proc.stdout], [], [], ROUND_TIMEOUT_S)[0]:
            raise RuntimeError(f"no {name} reached every robot within {ROUND_TIMEOUT_S:g} s")
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the bench robots ended: {self.proc.stderr.read() if self.proc.stderr else ''!r}")
        found: dict[str, Any] = orjson.loads(line)
        if found["name"] != name:
            raise RuntimeError(f"expected {name}, got {found['name']}")
        return found

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(10)


class EmergencyBench:
    def __init__(self, workdir: Path) -> None:
        data = workdir / "estop"
        data.mkdir()
        self.credentials = workdir / "estop-robots.txt"
        env = service_env(data, ROBODINE_ROBOTS_HEARTBEAT_S="2.0", ROBODINE_HTTP_VALIDATE_RESPONSES="0")
        self.service = ServiceProcess(data, env).start()
        self.http: httpx.Client = self.service.http
        self.admin = self.service.auth(self.service.token())
        self.tokens: dict[str, str] = {}

    def register(self, count: int) -> None:
        while len(self.tokens) < count:
            robot_id = f"estop-{len(self.tokens) + 1}"
            response = self.http.post("/api/robots", headers=self.admin, json={"robot_id": robot_id, "kind": "albabot"})
            response.raise_for_status()
            self.tokens[robot_id] = response.json()["token"]
        self.credentials.write_text("".join(f"{r} {t}\n" for r, t in self.tokens.items()))

    def fleet(self, count: int, stops: int) -> dict[str, Any]:
        self.register(count)
        robots = Robots(int(self.service.runtime["robot_port"]), self.credentials)
        try:
            self._online(count)
            return self._measure(robots, count, stops)
        finally:
            robots.close()

    def _online(self, count: int) -> None:
        deadline = time.monotonic() + 30
        while self._count_online() < count:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{count} robots did not all come online")
            time.sleep(0.1)

    def _count_online(self) -> int:
        listed = self.http.get("/api/robots", headers=self.admin, params={"limit": 1000}).json()
        return sum(robot["online"] for robot in listed)

    def _measure(self, robots: Robots, count: int, stops: int) -> dict[str, Any]:
        first, last, answer, resume_first, resume_last, one = [], [], [], [], [], []
        errors: list[str] = []
        for n in range(stops):
            started = time.monotonic()
            declared = self.http.post("/api/emergencies", headers=self.admin, json={"reason": "bench"})
            answered = time.monotonic()
            if declared.status_code != 201:  # e.g. 504: the robots may still be told; the round says when
                errors.append(f"declare: {declared.status_code}")
            times = robots.round("emergency_stop").values()
            first.append(min(times) - started)
            last.append(max(times) - started)
            answer.append(answered - started)
            time.sleep(SETTLE_S)
            started = time.monotonic()
            resolved = self.http.post(f"/api/emergencies/{self._active()}/resolve", headers=self.admin)
            if resolved.status_code != 200:
                errors.append(f"resolve: {resolved.status_code}")
            times = robots.round("resume").values()
            resume_first.append(min(times) - started)
            resume_last.append(max(times) - started)
            time.sleep(SETTLE_S)
            one.append(self._one_command(robots, f"estop-{n % count + 1}"))
            time.sleep(SETTLE_S)
        return {
            "robots": count,
            "stops": stops,
            "first_ms": spread(first),
            "last_ms": spread(last),
            "answer_ms": spread(answer),
            "resume_first_ms": spread(resume_first),
            "resume_last_ms": spread(resume_last),
            "one_command_ms": spread(one),
            "errors": errors,
        }

    def _active(self) -> int:
        listed = self.http.get("/api/emergencies", headers=self.admin, params={"limit": 1}).json()
        if not listed or not listed[0]["active"]:
            raise RuntimeError("no active emergency to resolve")
        return int(listed[0]["id"])

    def _one_command(self, robots: Robots, robot_id: str) -> float:
        """The per-robot path: a staff `stop` to one robot, POST → that robot reads it."""
        started = time.monotonic()
        body = {"name": "stop", "args": {}}
        self.http.post(f"/api/robots/{robot_id}/commands", headers=self.admin, json=body).raise_for_status()
        return robots.single("stop", robot_id) - started

    def close(self) -> None:
        self.service.stop()


def emergency_stop(workdir: Path, stops: int, sizes: tuple[int, ...] = SIZES) -> dict[str, Any]:
    bench = EmergencyBench(workdir)
    try:
        return {str(size): bench.fleet(size, stops) for size in sizes}
    finally:
        bench.close()
