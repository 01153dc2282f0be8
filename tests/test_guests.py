"""Simulated guests across runs: a stopped, killed or restarted simulator, and a restored
database, never leave a table held by a party nobody drives (real service, real
simulator processes, real SQLite)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from robodine_edge.simulate.diners import MARK
from tests.http.store_setup import make_dish, make_stock, make_table
from tests.service import EXECUTABLE, ServiceProcess, service_env
from tests.simulator import Simulator
from tests.waiting import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]


class Floor:
    """What staff see of the parties and their orders."""

    def __init__(self, service: ServiceProcess, headers: dict[str, str]) -> None:
        self.service = service
        self.headers = headers

    def parties(self, *statuses: str) -> list[dict[str, Any]]:
        found = self.service.http.get("/api/customers", headers=self.headers, params={"limit": 1000}).json()
        return [p for p in found if not statuses or p["status"] in statuses]

    def marked_open(self) -> dict[int, str]:
        return {p["id"]: p["status"] for p in self.parties("waiting", "seated") if p["name"].startswith(MARK)}

    def party(self, party_id: int) -> dict[str, Any]:
        return self.service.http.get(f"/api/customers/{party_id}", headers=self.headers).json()

    def orders_of(self, party_id: int) -> list[dict[str, Any]]:
        found = self.service.http.get("/api/orders", headers=self.headers, params={"limit": 1000}).json()
        return [o for o in found if o["party_id"] == party_id]

    def arrive(self, name: str, size: int = 2) -> dict[str, Any]:
        body = {"party_size": size, "name": name}
        response = self.service.http.post("/api/customers", headers=self.headers, json=body)
        assert response.status_code == 201, response.text
        return response.json()


def demo_staff(service: ServiceProcess, data_dir: Path) -> Floor:
    users = dict(
        line.split() for line in (data_dir / "demo-credentials.txt").read_text().splitlines() if line[:1] != "#"
    )
    return Floor(service, service.auth(service.token("staff", users["staff"])))


def simulator_pids(service: ServiceProcess) -> list[int]:
    return [int(pid) for pid in re.findall(r"started the demo fleet simulator \(pid (\d+)\)", service.log)]


def robots_online(floor: Floor, count: int) -> bool:
    robots = floor.service.http.get("/api/robots", headers=floor.headers).json()
    return sum(robot["online"] for robot in robots) >= count


def test_a_stopped_run_leaves_its_parties_as_they_were_and_the_next_run_takes_them_over(tmp_path: Path) -> None:
    """At a diner's pace (speed 1) no guest of the first run is near its `leave` when the
    run stops: every party it had is still open after it exits (none leaves because of the
    stop, none is left half-done by a cancelled call). A second run, fast, takes them all
    over and sees them out; the party staff made is never touched."""
    with ServiceProcess(tmp_path) as service:
        floor = Floor(service, service.auth(service.token()))
        for n in range(6):
            make_table(service, floor.headers, seats=6, x=1.0 + 2.0 * n, y=2.0)
        make_dish(service, floor.headers, {make_stock(service, floor.headers, 100000)["id"]: 1})
        walk_in = floor.arrive("Walk-in")
        assert walk_in["status"] == "seated"

        with Simulator(service, "--guests-every", "1", albabots=1, cookbots=1, speed=1.0) as first:
            eventually(lambda: len(floor.marked_open()) >= 3, timeout=20, what="the first run's parties")
            before = floor.marked_open()
            assert first.proc is not None
            stopped_at = time.monotonic()
            first.proc.send_signal(signal.SIGTERM)
            assert first.proc.wait(10) == 0
            stop_s = time.monotonic() - stopped_at
        after = floor.marked_open()
        assert {pid: after.get(pid) for pid in before} == before, (before, after)
        assert stop_s < 5.0

        with Simulator(service, "--guests-every", "100000", albabots=2, cookbots=2, speed=40):
            eventually(
                lambda: not set(after) & set(floor.marked_open()),
                timeout=150,
                interval=0.5,
                what="every party of the first run seen out by the second",
            )
        assert all(p["status"] == "left" for p in (floor.party(pid) for pid in after))
        assert floor.party(walk_in["id"])["status"] == "seated" and floor.orders_of(walk_in["id"]) == []


def test_a_killed_demo_simulator_is_started_again_and_its_guests_taken_over(data_dir: Path) -> None:
    with ServiceProcess(data_dir, args=("--demo",)) as service:
        floor = demo_staff(service, data_dir)
        eventually(lambda: robots_online(floor, 5), timeout=20, what="the demo robots online")
        seated = eventually(
            lambda: [p for p in floor.parties("seated") if p["name"].startswith(MARK)],
            timeout=15,
            what="the demo's first guests seated",
        )
        first_pid = simulator_pids(service)[0]
        os.kill(first_pid, signal.SIGKILL)
        eventually(lambda: len(simulator_pids(service)) == 2, timeout=10, what="the simulator started again")
        eventually(lambda: robots_online(floor, 5), timeout=20, what="the demo robots back online")
        eventually(
            lambda: re.search(rf"took over \d+ parties no guest drove: \[[^]]*\b{seated[0]['id']}\b", service.log),
            timeout=10,
            what="the new simulator taking the seated party over",
        )
        assert floor.party(seated[0]["id"])["status"] in ("seated", "left")


def test_after_a_restore_the_demo_guests_take_over_the_parties_it_brought_back(data_dir: Path, tmp_path: Path) -> None:
    """An earlier run's guest that had just sat down (no order yet) is in the backup; it
    left before the restore brought it back. The demo started on the restored store
    takes it over — it orders — and the demo moves: robots online, new guests seated.
    A party staff made is not touched."""
    with ServiceProcess(data_dir, args=("--demo",)):
        pass  # seeds the demo store
    env = service_env(data_dir)
    with ServiceProcess(data_dir) as service:  # the store without the demo's simulator
        floor = demo_staff(service, data_dir)
        guest = floor.arrive(MARK + "Kim")
        walk_in = floor.arrive("Walk-in")
        assert guest["status"] == walk_in["status"] == "seated"
        backup = tmp_path / "backup.sqlite3"
        made = subprocess.run([EXECUTABLE, "backup", "--out", str(backup)], env=env, capture_output=True, timeout=60)
        assert made.returncode == 0, made.stderr
        assert service.http.post(f"/api/customers/{guest['id']}/leave", headers=floor.headers).status_code == 200
    restored = subprocess.run([EXECUTABLE, "restore", "--from", str(backup)], env=env, capture_output=True, timeout=60)
    assert restored.returncode == 0, restored.stderr

    with ServiceProcess(data_dir, args=("--demo",)) as service:
        floor = demo_staff(service, data_dir)
        assert floor.party(guest["id"])["status"] == "seated"  # brought back by the restore
        eventually(lambda: floor.orders_of(guest["id"]), timeout=15, what="the restored guest ordering")
        eventually(lambda: robots_online(floor, 5), timeout=20, what="the demo robots online")
        eventually(
            lambda: [p for p in floor.parties("seated") if p["name"].startswith(MARK) and p["id"] > walk_in["id"]],
            timeout=15,
            what="a new guest of this run seated",
        )
        assert floor.party(walk_in["id"])["status"] == "seated" and floor.orders_of(walk_in["id"]) == []
