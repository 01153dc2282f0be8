"""Kitchen-to-table orchestration against the real process and the real fleet simulator."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import threading
import time
from functools import partial
from pathlib import Path
from typing import Any

import orjson
import pytest

from robodine_edge.protocol.pose import AXES
from robodine_edge.simulate.robot import SimRobot
from tests.http.store_setup import make_dish, make_stock, make_table
from tests.legacy_robots import OriginalArm
from tests.net.conftest import register
from tests.robot_client import RobotClient
from tests.service import ServiceProcess, service_env
from tests.simulator import Simulator
from tests.waiting import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]


class Store:
    """A small restaurant set up through the API."""

    def __init__(self, service: ServiceProcess) -> None:
        self.service = service
        self.admin = service.auth(service.token())
        self.tables = [make_table(service, self.admin, x=3.0 + i, y=2.0) for i in range(4)]
        self.dish = make_dish(service, self.admin, {make_stock(service, self.admin, 100000)["id"]: 1})

    def order(self, table_index: int = 0, quantity: int = 1) -> dict[str, Any]:
        body = {
            "table_id": self.tables[table_index]["id"],
            "items": [{"menu_item_id": self.dish["id"], "quantity": quantity}],
        }
        response = self.service.http.post("/api/orders", headers=self.admin, json=body)
        assert response.status_code == 201, response.text
        return response.json()

    def status(self, order_id: int) -> str:
        return self.service.http.get(f"/api/orders/{order_id}", headers=self.admin).json()["status"]

    def has_status(self, order_id: int, status: str) -> bool:
        return self.status(order_id) == status

    def all_served(self, ids: list[int]) -> bool:
        orders = self.service.http.get("/api/orders", headers=self.admin, params={"limit": 1000}).json()
        return all(o["status"] == "served" for o in orders if o["id"] in ids)

    def robots_online(self, count: int) -> None:
        eventually(
            lambda: sum(r["online"] for r in self.service.http.get("/api/robots", headers=self.admin).json()) >= count,
            timeout=20,
        )

    def settings(self, **changes: Any) -> None:
        assert self.service.http.patch("/api/settings", headers=self.admin, json=changes).status_code == 200

    def tasks(self, **params: Any) -> list[dict[str, Any]]:
        return self.service.http.get("/api/tasks", headers=self.admin, params={"limit": 1000, **params}).json()

    def events(self, kind: str) -> list[dict[str, Any]]:
        return self.service.http.get("/api/events", headers=self.admin, params={"type": kind, "limit": 1000}).json()

    def robot(self, robot_id: str) -> dict[str, Any]:
        return self.service.http.get(f"/api/robots/{robot_id}", headers=self.admin).json()

    def commands(self, robot_id: str) -> list[dict[str, Any]]:
        """The robot's commands, oldest first."""
        params = {"limit": 1000}
        listed = self.service.http.get(f"/api/robots/{robot_id}/commands", headers=self.admin, params=params).json()
        return sorted(listed, key=lambda c: c["id"])


FIFTY_ORDERS_SPEED = 40
"""Simulated time for the fifty orders: 40 times faster (pauses and drives of a second
or two become a step or two of the robots' 50 ms loop)."""


def test_fifty_orders_with_two_cookbots_and_three_albabots_are_all_served(tmp_path: Path) -> None:
    with ServiceProcess(tmp_path) as service, Simulator(service, albabots=3, cookbots=2, speed=FIFTY_ORDERS_SPEED):
        store = Store(service)
        store.robots_online(5)
        started = time.monotonic()
        ids = [store.order(n % 4, quantity=1 + n % 2)["id"] for n in range(50)]
        eventually(lambda: store.all_served(ids), timeout=120, interval=0.5, what="serving all 50 orders")
        elapsed = time.monotonic() - started
        cook_tasks = store.tasks(state="done")
        assert {t["order_id"] for t in cook_tasks if t["kind"] == "cook"} == set(ids)
        assert {t["robot_id"] for t in cook_tasks if t["kind"] == "cook"} == {"sim-cook-1", "sim-cook-2"}
        assert len({t["robot_id"] for t in cook_tasks if t["kind"] == "serve"}) == 3
        simulated_minutes = elapsed * FIFTY_ORDERS_SPEED / 60
        rate = 50 / simulated_minutes
        print(f"\n50 orders: {elapsed:.1f} s = {simulated_minutes:.1f} simulated min ({rate:.1f}/simulated min)")


def test_a_robot_that_drops_mid_task_loses_it_and_the_order_is_still_served(tmp_path: Path) -> None:
    env = service_env(tmp_path, ROBODINE_ROBOTS_HEARTBEAT_S="1.0")
    with ServiceProcess(tmp_path, env) as service:
        store = Store(service)
        victim_id, victim_token = register(service, store.admin, "cookbot")
        victim = RobotClient(int(service.runtime["robot_port"]))
        victim.hello(victim_id, victim_token, kind="cookbot")
        victim.send(type="status", state="idle")
        order = store.order()
        command = victim.read_until("command", keepalive_s=0.5)
        assert command["name"] == "cook" and command["args"]["order_id"] == order["id"]
        assert command["args"]["items"][0]["name"] == store.dish["name"]
        victim.send(type="ack", id=command["id"])
        victim.send(type="task_update", task_id=command["id"], state="started")
        eventually(lambda: store.status(order["id"]) == "cooking")
        victim.close()  # the robot is gone, mid-task
        eventually(lambda: any(e["entity_type"] == "task" for e in store.events("task_reassigned")), timeout=10)
        with Simulator(service, albabots=1, cookbots=1, speed=20):
            eventually(
                lambda: store.status(order["id"]) == "served", timeout=60, what="serving the order after the drop"
            )
        cooks = [t for t in store.tasks(order_id=order["id"]) if t["kind"] == "cook"]
        assert (
            len(cooks) == 1
            and cooks[0]["state"] == "done"
            and cooks[0]["robot_id"] == "sim-cook-1"
            and cooks[0]["attempts"] == 2
        )
        notes = service.http.get("/api/notifications", headers=store.admin).json()
        assert any(n["type"] == "task_reassigned" and victim_id in n["message"] for n in notes)


def test_a_task_taken_from_a_dropped_robot_is_not_sent_to_it_again_on_reconnect(tmp_path: Path) -> None:
    """The conformance repro over real sockets: cook-a is sent `cook` for the order, drops
    before it acks, and cook-b takes the task. Back, cook-a is told `stop` (it may have
    started), never the cook again; its late `done` moves nothing."""
    with ServiceProcess(tmp_path) as service:
        store = Store(service)
        a_id, a_token = register(service, store.admin, "cookbot")
        b_id, b_token = register(service, store.admin, "cookbot")
        port = int(service.runtime["robot_port"])
        cook_a = RobotClient(port)
        cook_a.hello(a_id, a_token, kind="cookbot")
        cook_a.send(type="status", state="idle")
        order = store.order()
        first = cook_a.read_until("command", keepalive_s=0.5)
        assert (first["name"], first["args"]["order_id"]) == ("cook", order["id"])
        cook_a.close()  # no ack
        eventually(lambda: store.events("task_reassigned"), timeout=10, what="the task taken from cook-a")
        cook_b = RobotClient(port)
        cook_b.hello(b_id, b_token, kind="cookbot")
        cook_b.send(type="status", state="idle")
        second = cook_b.read_until("command", keepalive_s=0.5)
        assert (second["name"], second["args"]["order_id"]) == ("cook", order["id"])
        cook_b.send(type="ack", id=second["id"])
        cook_b.send(type="task_update", task_id=second["id"], state="started")
        eventually(lambda: store.status(order["id"]) == "cooking")

        cook_a = RobotClient(port)
        cook_a.hello(a_id, a_token, kind="cookbot")
        told = cook_a.read_until("command", keepalive_s=0.5)
        assert told["name"] == "stop"
        cook_a.send(type="ack", id=told["id"])
        cook_a.send(type="status", state="idle")
        cook_a.send(type="task_update", task_id=first["id"], state="done")  # late, for the withdrawn cook
        with pytest.raises(TimeoutError):
            cook_a.read_until("command", timeout=2.0, keepalive_s=0.5)
        assert store.status(order["id"]) == "cooking"
        withdrawn = next(c for c in store.commands(a_id) if c["id"] == first["id"])
        assert (withdrawn["status"], withdrawn["reason"]) == ("cancelled", "the robot went offline")
        cook_b.send(type="task_update", task_id=second["id"], state="done")
        eventually(lambda: store.status(order["id"]) == "ready", what="cook-b's done")
        cook_a.close()
        cook_b.close()


def test_a_stuck_robot_loses_its_task(tmp_path: Path) -> None:
    with ServiceProcess(tmp_path) as service:
        store = Store(service)
        store.settings(stuck_timeout_s=10)
        with Simulator(service, "--behave", "sim-cook-1=stuck", albabots=1, cookbots=2, speed=20):
            store.robots_online(3)
            order = store.order()
            eventually(lambda: store.status(order["id"]) == "served", timeout=60, what="serving past the stuck robot")
        cook = next(t for t in store.tasks(order_id=order["id"]) if t["kind"] == "cook")
        assert cook["robot_id"] == "sim-cook-2" and cook["attempts"] == 2
        assert any("no progress" in e["message"] for e in store.events("task_reassigned"))


def test_retries_are_bounded_and_the_order_is_flagged_not_lost(tmp_path: Path) -> None:
    with ServiceProcess(tmp_path) as service:
        store = Store(service)
        store.settings(max_task_attempts=2)
        with Simulator(service, "--behave", "sim-cook-1=fail", albabots=1, cookbots=1, speed=20):
            store.robots_online(2)
            order = store.order()
            flagged = eventually(
                lambda: (
                    (o := service.http.get(f"/api/orders/{order['id']}", headers=store.admin).json())["flagged"] and o
                ),
                timeout=30,
            )
            assert flagged["status"] in ("placed", "cooking") and "simulated failure" in flagged["flag_reason"]
            assert any(e["entity_id"] == order["id"] for e in store.events("order_unserved"))
            notes = service.http.get("/api/notifications", headers=store.admin).json()
            assert any(n["type"] == "order_unserved" for n in notes)
        with Simulator(service, "--prefix", "good-", albabots=1, cookbots=1, speed=20):
            store.robots_online(2)
            retried = service.http.post(f"/api/orders/{order['id']}/retry", headers=store.admin)
            assert retried.status_code == 200 and retried.json()["flagged"] is False
            eventually(lambda: store.status(order["id"]) == "served", timeout=60)


def test_a_low_albabot_docks_and_takes_no_task_until_charged(tmp_path: Path) -> None:
    with ServiceProcess(tmp_path) as service:
        store = Store(service)
        with Simulator(service, "--behave", "sim-alba-1=battery:12", albabots=1, cookbots=1, speed=10):
            store.robots_online(2)
            docked = eventually(
                lambda: [
                    c
                    for c in service.http.get("/api/robots/sim-alba-1/commands", headers=store.admin).json()
                    if c["name"] == "dock"
                ],
                timeout=20,
            )
            assert docked[0]["task_id"] is None
            order = store.order()
            eventually(lambda: store.status(order["id"]) == "ready", timeout=30)
            robot = service.http.get("/api/robots/sim-alba-1", headers=store.admin).json()
            assert robot["state"] in ("moving", "charging") and robot["battery"] < 80
            assert store.status(order["id"]) == "ready"  # waits: the only albabot is charging
            eventually(lambda: store.status(order["id"]) == "served", timeout=60, what="serving once charged")


def test_emergency_stop_reaches_every_robot_within_a_second_and_resume_continues(tmp_path: Path) -> None:
    with ServiceProcess(tmp_path) as service:
        store = Store(service)
        with Simulator(service, albabots=2, cookbots=1, speed=2):
            store.robots_online(3)
            order = store.order(quantity=3)
            eventually(lambda: store.status(order["id"]) == "cooking", timeout=20)
            declared_at = time.monotonic()
            declared = service.http.post("/api/emergencies", headers=store.admin, json={"reason": "drill"})
            assert declared.status_code == 201
            for robot_id in ("sim-alba-1", "sim-alba-2", "sim-cook-1"):

                def stop_acked(robot_id: str = robot_id) -> bool:
                    commands = service.http.get(f"/api/robots/{robot_id}/commands", headers=store.admin).json()
                    return any(c["name"] == "emergency_stop" and c["acked_at"] for c in commands)

                eventually(stop_acked, timeout=1.0, interval=0.02, what=f"{robot_id} acknowledging emergency_stop")
            assert time.monotonic() - declared_at < 1.5
            frozen_for = time.monotonic() + 3
            while time.monotonic() < frozen_for:
                assert store.status(order["id"]) == "cooking"
                time.sleep(0.2)
            assert store.robot("sim-cook-1")["state"] == "emergency"
            service.http.post(f"/api/emergencies/{declared.json()['id']}/resolve", headers=store.admin)
            eventually(lambda: any(c["name"] == "resume" for c in store.commands("sim-cook-1")), timeout=2)
            # back to its task, not left showing `emergency` while it cooks
            eventually(lambda: store.robot("sim-cook-1")["state"] == "cooking", timeout=2, what="cooking again")
            assert store.status(order["id"]) == "cooking"
            eventually(lambda: store.status(order["id"]) == "served", timeout=60, what="finishing after the resume")


def test_a_restart_in_the_middle_of_the_flow_loses_nothing(tmp_path: Path) -> None:
    services = [ServiceProcess(tmp_path).start()]
    try:
        _restart_in_the_middle_of_the_flow(tmp_path, services)
    finally:
        for service in services:
            service.stop()


def _restart_in_the_middle_of_the_flow(tmp_path: Path, services: list[ServiceProcess]) -> None:
    service = services[0]
    store = Store(service)
    with Simulator(service, albabots=2, cookbots=2, speed=10) as simulator:
        store.robots_online(4)
        ids = [store.order(n % 4)["id"] for n in range(12)]
        eventually(
            lambda: sum(store.status(i) in ("cooking", "ready", "serving", "served") for i in ids) >= 3, timeout=30
        )
        assert service.stop() == 0
        ports = {
            "ROBODINE_ROBOT_PORT": str(service.runtime["robot_port"]),
            "ROBODINE_TELEMETRY_PORT": str(service.runtime["telemetry_port"]),
        }
        service = ServiceProcess(tmp_path, service_env(tmp_path, **ports)).start()
        services.append(service)
        store.service, store.admin = service, service.auth(service.token())
        assert simulator.proc is not None and simulator.proc.poll() is None
        eventually(
            lambda: store.all_served(ids), timeout=120, interval=0.5, what="serving every order after the restart"
        )
        orders = service.http.get("/api/orders", headers=store.admin, params={"limit": 1000}).json()
        assert sorted(o["id"] for o in orders) == sorted(ids)
        for order_id in ids:
            kinds = [t["kind"] for t in store.tasks(order_id=order_id) if t["state"] == "done"]
            assert sorted(kinds) == ["cook", "serve"], (order_id, store.tasks(order_id=order_id))
        # a graceful stop is not robots lost: no task taken from its robot, no attempt
        # spent, nothing cooked or served twice
        assert store.events("task_reassigned") == []
        assert [t for t in store.tasks() if t["attempts"] != 1] == []
        for kind, robots in (("cook", ("sim-cook-1", "sim-cook-2")), ("serve", ("sim-alba-1", "sim-alba-2"))):
            sent = [c["args"]["order_id"] for r in robots for c in store.commands(r) if c["name"] == kind]
            assert sorted(sent) == sorted(ids), kind
        # ...nor trouble to tell staff of: the robots' drop at the stop is logged, not notified
        stopping = [e for e in store.events("robot_offline") if "service stopping" in e["message"]]
        assert len(stopping) == 4 and {e["level"] for e in stopping} == {"info"}
        notes = service.http.get("/api/notifications", headers=store.admin, params={"limit": 1000}).json()
        assert [n for n in notes if n["type"] == "robot_offline"] == []


def test_a_crash_right_after_a_robots_done_serves_the_order_as_before(tmp_path: Path) -> None:
    """A cook task's `done` is bookkeeping that rides in the commit of the serve task made
    next (docs/ARCHITECTURE.md, "The writer"): the service killed as soon as the order
    shows ready may have written neither. The robot's report (its command `done`) and the
    order's move were written before the order showed ready, so the service started again
    finishes the cook task from them and serves the order: nothing cooked twice, no
    robot's task taken from it (tests/actors/test_dispatcher_restart.py puts the store
    in the state such a cut leaves, which a kill timed from outside rarely hits)."""
    service = ServiceProcess(tmp_path).start()
    try:
        store = Store(service)
        (cook_id, cook_token), (alba_id, alba_token) = (
            register(service, store.admin, k) for k in ("cookbot", "albabot")
        )
        order = store.order()
        cook = RobotClient(int(service.runtime["robot_port"]))
        cook.hello(cook_id, cook_token, kind="cookbot")
        cook.send(type="status", state="idle")
        _carry_out(cook, "cook", order["id"])
        eventually(partial(store.has_status, order["id"], "ready"), interval=0.01, what="the order ready")
        os.kill(service.pid, signal.SIGKILL)
        assert service.wait() == -signal.SIGKILL
        cook.close()

        service = ServiceProcess(tmp_path).start()
        store.service, store.admin = service, service.auth(service.token())
        port = int(service.runtime["robot_port"])
        cook, alba = RobotClient(port), RobotClient(port)
        cook.hello(cook_id, cook_token, kind="cookbot")
        cook.send(type="status", state="idle")
        alba.hello(alba_id, alba_token, kind="albabot")
        alba.send(type="status", state="idle")
        _carry_out(alba, "serve", order["id"])
        eventually(partial(store.has_status, order["id"], "served"), what="the order served after the restart")
        told = []
        with pytest.raises(TimeoutError):
            while True:
                told.append(cook.read_until("command", timeout=1.0, keepalive_s=0.5)["name"])
        assert told in ([], ["stop"]), told  # never cooked again (a robot still on it would be told stop)
        tasks = sorted((t["kind"], t["state"], t["attempts"]) for t in store.tasks(order_id=order["id"]))
        assert tasks == [("cook", "done", 1), ("serve", "done", 1)]
        cooked = [(c["name"], c["status"]) for c in store.commands(cook_id) if c["name"] != "stop"]
        assert cooked == [("cook", "done")]
        assert store.events("task_reassigned") == []
        cook.close()
        alba.close()
    finally:
        service.stop()


def _carry_out(robot: RobotClient, name: str, order_id: int) -> None:
    """The robot's next command is `name` for `order_id`; it reports it started, then done."""
    command = robot.read_until("command", keepalive_s=0.5)
    assert (command["name"], command["args"]["order_id"]) == (name, order_id)
    for state in ("started", "done"):
        robot.send(type="task_update", task_id=command["id"], state=state)


def test_robots_back_idle_after_a_restart_have_their_tasks_handed_on_at_once(tmp_path: Path) -> None:
    """The repro over real sockets: the service restarts while a cookbot cooks one order
    and an albabot serves another; both robots (restarted too) say hello and `idle`. The
    tasks used to stay with them for `stuck_timeout_s` (120 s), cost an attempt, and staff
    commands to them got 409. Now the cookbot is sent its cook again at once (the same
    command), and the albabot, back too low to serve, loses its serve task to another
    albabot at once and takes staff commands; no attempt is spent on either task."""
    services = [ServiceProcess(tmp_path).start()]
    try:
        _robots_back_idle_after_a_restart(tmp_path, services)
    finally:
        for service in services:
            service.stop()


def _robots_back_idle_after_a_restart(tmp_path: Path, services: list[ServiceProcess]) -> None:
    service = services[0]
    store = Store(service)
    robots = {kind: register(service, store.admin, kind) for kind in ("cookbot", "albabot")}
    spare_id, spare_token = register(service, store.admin, "albabot")
    port = int(service.runtime["robot_port"])

    def linked(kind: str, battery: float = 90.0) -> RobotClient:
        robot = RobotClient(port)
        assert robot.hello(*robots[kind], kind=kind)["type"] == "welcome"
        robot.send(type="status", state="idle", battery=battery)
        return robot

    cook, alba = linked("cookbot"), linked("albabot")
    served = store.order()
    first = cook.read_until("command", keepalive_s=0.5)
    for state in ("started", "done"):
        cook.send(type="task_update", task_id=first["id"], state=state)
    serving = alba.read_until("command", keepalive_s=0.5)
    assert (serving["name"], serving["args"]["order_id"]) == ("serve", served["id"])
    alba.send(type="ack", id=serving["id"])
    alba.send(type="task_update", task_id=serving["id"], state="started")
    cooked = store.order()
    cooking = cook.read_until("command", keepalive_s=0.5)
    assert (cooking["name"], cooking["args"]["order_id"]) == ("cook", cooked["id"])
    cook.send(type="ack", id=cooking["id"])
    cook.send(type="task_update", task_id=cooking["id"], state="started")
    eventually(lambda: (store.status(cooked["id"]), store.status(served["id"])) == ("cooking", "serving"))

    assert service.stop() == 0
    cook.close()
    alba.close()
    ports = {"ROBODINE_ROBOT_PORT": str(port), "ROBODINE_TELEMETRY_PORT": str(service.runtime["telemetry_port"])}
    service = ServiceProcess(tmp_path, service_env(tmp_path, **ports)).start()
    services.append(service)
    store.service, store.admin = service, service.auth(service.token())

    back = time.monotonic()
    cook = linked("cookbot")
    again = cook.read_until("command", timeout=2.0, keepalive_s=0.5)
    assert time.monotonic() - back < 2.0
    assert (again["id"], again["name"], again["args"]) == (cooking["id"], "cook", cooking["args"])
    cook.send(type="ack", id=again["id"])
    alba = linked("albabot", battery=10.0)
    eventually(
        lambda: [t["state"] for t in store.tasks(order_id=served["id"]) if t["kind"] == "serve"] == ["queued"],
        timeout=2.0,
        what="the serve task taken from the albabot back too low",
    )
    staff = {"name": "go_to", "args": {"x": 1, "y": 1}}
    go_to = service.http.post(f"/api/robots/{robots['albabot'][0]}/commands", headers=store.admin, json=staff)
    assert go_to.status_code == 202, go_to.text
    spare = RobotClient(port)
    spare.hello(spare_id, spare_token, kind="albabot")
    spare.send(type="status", state="idle", battery=90.0)
    handed = spare.read_until("command", keepalive_s=0.5)
    assert (handed["name"], handed["args"]["order_id"]) == ("serve", served["id"])
    spare.send(type="ack", id=handed["id"])
    cook.send(type="task_update", task_id=again["id"], state="done")
    spare.send(type="task_update", task_id=handed["id"], state="done")
    eventually(lambda: store.all_served([served["id"]]) and store.status(cooked["id"]) != "cooking")
    tasks = {(t["kind"], t["order_id"]): t for t in store.tasks() if t["order_id"] in (served["id"], cooked["id"])}
    assert tasks[("cook", cooked["id"])]["attempts"] == 1 and tasks[("cook", cooked["id"])]["state"] == "done"
    assert tasks[("serve", served["id"])]["attempts"] == 1 and tasks[("serve", served["id"])]["robot_id"] == spare_id
    assert [e["message"] for e in store.events("task_reassigned") if "no progress" in e["message"]] == []
    for robot in (cook, alba, spare):
        robot.close()


def test_released_tables_are_cleaned_and_the_waiting_list_moves(tmp_path: Path) -> None:
    with ServiceProcess(tmp_path) as service:
        admin = service.auth(service.token())
        table = make_table(service, admin, seats=2, x=4.0, y=3.0)
        with Simulator(service, albabots=1, cookbots=0, speed=10):
            eventually(
                lambda: any(r["online"] for r in service.http.get("/api/robots", headers=admin).json()), timeout=20
            )
            seated = service.http.post("/api/customers", headers=admin, json={"party_size": 2}).json()
            waiting = service.http.post("/api/customers", headers=admin, json={"party_size": 2}).json()
            assert (seated["status"], waiting["status"]) == ("seated", "waiting")
            service.http.post(f"/api/tables/{table['id']}/release", headers=admin)
            eventually(
                lambda: service.http.get(f"/api/customers/{waiting['id']}", headers=admin).json()["status"] == "seated",
                timeout=30,
            )
            clean = [t for t in service.http.get("/api/tasks", headers=admin).json() if t["kind"] == "clean"]
            assert clean[0]["state"] == "done" and clean[0]["table_id"] == table["id"]


def test_direct_commands_yield_to_tasks_unless_forced(tmp_path: Path) -> None:
    with ServiceProcess(tmp_path) as service:
        store = Store(service)
        cook_id, cook_token = register(service, store.admin, "cookbot")
        robot = RobotClient(int(service.runtime["robot_port"]))
        robot.hello(cook_id, cook_token, kind="cookbot")
        robot.send(type="status", state="idle")
        order = store.order()
        task = robot.read_until("command", keepalive_s=0.5)
        robot.send(type="ack", id=task["id"])
        refused = service.http.post(
            f"/api/robots/{cook_id}/commands", headers=store.admin, json={"name": "go_to", "args": {"x": 1, "y": 1}}
        )
        assert refused.status_code == 409 and "force" in refused.json()["error"]["message"]
        stop = service.http.post(f"/api/robots/{cook_id}/commands", headers=store.admin, json={"name": "stop"})
        assert stop.status_code == 202
        forced = service.http.post(
            f"/api/robots/{cook_id}/commands",
            headers=store.admin,
            json={"name": "go_to", "args": {"x": 1, "y": 1}, "force": True},
        )
        assert forced.status_code == 202
        task_after = next(t for t in store.tasks(order_id=order["id"]) if t["kind"] == "cook")
        assert task_after["state"] in ("queued", "assigned") and "overridden" in (task_after["detail"] or "")
        assert task_after["attempts"] == 0  # an override is not a failed attempt
        received = [robot.read_until("command", keepalive_s=0.5) for _ in range(3)]
        # the staff's own stop, then the override's stop for the task, then the forced command
        assert [c["name"] for c in received] == ["stop", "stop", "go_to"]
        assert received[2]["id"] == forced.json()["id"]
        robot.close()


def test_a_forced_command_stops_the_task_first_so_it_is_not_done_twice(tmp_path: Path) -> None:
    with ServiceProcess(tmp_path) as service:
        store = Store(service)
        with Simulator(service, albabots=0, cookbots=1, speed=2):
            store.robots_online(1)
            order = store.order(quantity=5)  # 6.5 s of cooking at speed 2
            eventually(lambda: store.status(order["id"]) == "cooking", timeout=20)
            forced = service.http.post(
                "/api/robots/sim-cook-1/commands",
                headers=store.admin,
                json={"name": "go_to", "args": {"x": 1, "y": -1}, "force": True},
            )
            assert forced.status_code == 202

            def go_to_status() -> str:
                return next(c["status"] for c in store.commands("sim-cook-1") if c["id"] == forced.json()["id"])

            eventually(lambda: go_to_status() in ("done", "nacked"), timeout=20, what="the forced command ending")
            assert go_to_status() == "done"
            eventually(lambda: store.status(order["id"]) == "ready", timeout=30, what="cooking the order again")
            cooks = [c for c in store.commands("sim-cook-1") if c["name"] == "cook"]
            # the first was withdrawn (its late `failed: stopped` changes nothing), then cooked again
            overridden = "overridden by a staff command (go_to)"
            assert [(c["status"], c["reason"]) for c in cooks] == [("cancelled", overridden), ("done", None)]


def test_a_legacy_arm_gets_plain_text_dish_names(tmp_path: Path) -> None:
    received: list[bytes] = []
    arm = socket.socket()
    arm.bind(("127.0.0.1", 0))
    arm.listen()
    arm.settimeout(15)

    def serve() -> None:
        for _ in range(3):  # quantity 2: the name twice, one connection each; then one more order
            connection, _ = arm.accept()
            with connection:
                connection.settimeout(5)
                message = b""
                while chunk := connection.recv(1024):
                    message += chunk
                received.append(message)

    listener = threading.Thread(target=serve)
    listener.start()
    env = service_env(tmp_path, ROBODINE_LEGACY="1")
    try:
        with ServiceProcess(tmp_path, env) as service:
            store = Store(service)
            address = f"127.0.0.1:{arm.getsockname()[1]}"
            created = service.http.post(
                "/api/robots",
                headers=store.admin,
                json={"robot_id": "48", "kind": "cookbot", "legacy": True, "legacy_cook_addr": address},
            )
            assert created.status_code == 201
            _legacy_cookbot(service, "IDLE")
            order = store.order(quantity=2)
            eventually(lambda: len(received) == 2, timeout=15)  # dishes are paced 50 ms apart; a loaded machine
            assert received == [store.dish["name"].lower().encode()] * 2  # the name, nothing more
            _legacy_cookbot(service, "COOKING")
            eventually(lambda: store.status(order["id"]) == "cooking")
            _legacy_cookbot(service, "IDLE")
            eventually(lambda: store.status(order["id"]) == "ready")

            second = store.order()  # staff mark it ready while the arm cooks: an arm has no link to stop
            listener.join(15)
            _legacy_cookbot(service, "COOKING")
            eventually(lambda: store.status(second["id"]) == "cooking")
            ready = service.http.post(
                f"/api/orders/{second['id']}/status", headers=store.admin, json={"status": "ready"}
            )
            assert ready.status_code == 200

            def serve_task() -> bool:  # the dispatcher wants it right after it would have told the arm anything
                tasks = service.http.get("/api/tasks", headers=store.admin, params={"order_id": second["id"]}).json()
                return any(t["kind"] == "serve" for t in tasks)

            eventually(serve_task)
            commands = service.http.get("/api/robots/48/commands", headers=store.admin).json()
            assert [c["name"] for c in commands if c["status"] == "pending"] == []
    finally:
        arm.close()


def test_an_original_arm_gets_all_thirty_portions(tmp_path: Path) -> None:
    """The original arm listens afresh for every connection: ten orders of three
    portions each reach it whole, each delivered before its order moves on."""
    arm = OriginalArm()
    try:
        with ServiceProcess(tmp_path, service_env(tmp_path, ROBODINE_LEGACY="1")) as service:
            store = Store(service)
            body = {"robot_id": "48", "kind": "cookbot", "legacy": True, "legacy_cook_addr": arm.address}
            assert service.http.post("/api/robots", headers=store.admin, json=body).status_code == 201
            _legacy_cookbot(service, "IDLE")
            orders = [store.order(n % 4, quantity=3) for n in range(10)]
            for n, order in enumerate(orders):
                assert len(arm.wait_for(3 * (n + 1))) == 3 * (n + 1), f"order {order['id']}'s portions"
                _legacy_cookbot(service, "COOKING")
                eventually(partial(store.has_status, order["id"], "cooking"))
                _legacy_cookbot(service, "IDLE")
                eventually(partial(store.has_status, order["id"], "ready"))
            assert arm.dishes == [store.dish["name"].lower()] * 30
            assert store.events("task_reassigned") == []
    finally:
        arm.close()


def _legacy_cookbot(service: ServiceProcess, status: str) -> None:
    frame: dict[str, Any] = {"msg_type": "Cookbot", "robot_id": 48, "status": status}
    frame.update({f"angle_{n}": 0.0 for n in range(1, 7)})
    frame.update({f"endpoint_{axis}": 0.0 for axis in AXES})
    with socket.create_connection(("127.0.0.1", int(service.runtime["robot_port"])), timeout=5) as sock:
        sock.sendall(orjson.dumps(frame))
        sock.shutdown(socket.SHUT_WR)
        assert sock.recv(16) == b"OK"


def test_a_rush_of_orders_gets_one_cook_task_each_and_none_for_those_cancelled(tmp_path: Path) -> None:
    """Placed orders reach the dispatcher in a run it takes as one; a cancel in the middle
    of the run must still find (and cancel) its order's task."""
    with ServiceProcess(tmp_path) as service:
        store = Store(service)
        cancelled: list[int] = []
        placed: list[int] = []
        lock = threading.Lock()

        def rush(worker: int) -> None:
            for n in range(30):
                order = store.order(worker % 4)
                if n % 3 == 0:
                    answer = service.http.post(f"/api/orders/{order['id']}/cancel", headers=store.admin)
                    assert answer.status_code == 200, answer.text
                with lock:
                    (cancelled if n % 3 == 0 else placed).append(order["id"])

        workers = [threading.Thread(target=rush, args=(w,)) for w in range(4)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()

        def cook_tasks() -> dict[int, list[str]]:
            found: dict[int, list[str]] = {}
            for task in store.tasks():
                if task["kind"] == "cook":
                    found.setdefault(task["order_id"], []).append(task["state"])
            return found

        eventually(lambda: set(cook_tasks()) >= set(placed), what="a cook task for every placed order")
        tasks = cook_tasks()
        assert all(tasks[order_id] == ["queued"] for order_id in placed)
        assert all(state == "cancelled" for order_id in cancelled for state in tasks.get(order_id, []))


def test_a_robot_told_to_stop_drops_its_task_and_takes_the_next(tmp_path: Path) -> None:
    """`stop` (sent when a cooking order is cancelled) abandons the task and leaves the
    robot idle, not frozen: the next order is cooked."""
    with ServiceProcess(tmp_path) as service:
        store = Store(service)
        with Simulator(service, albabots=0, cookbots=1, speed=2):
            store.robots_online(1)
            first = store.order(quantity=5)  # 6.5 s of cooking at speed 2
            eventually(lambda: store.status(first["id"]) == "cooking", timeout=20)
            assert service.http.post(f"/api/orders/{first['id']}/cancel", headers=store.admin).status_code == 200
            second = store.order()
            eventually(lambda: store.status(second["id"]) == "ready", timeout=20, what="cooking the next order")
            cooks = {c["args"]["order_id"]: c for c in store.commands("sim-cook-1") if c["name"] == "cook"}
            assert (cooks[first["id"]]["status"], cooks[first["id"]]["reason"]) == ("cancelled", "order cancelled")
            assert any(c["name"] == "stop" for c in store.commands("sim-cook-1"))


def test_a_simulated_robot_refused_at_hello_stops_instead_of_retrying(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with ServiceProcess(tmp_path) as service:
        admin = service.auth(service.token())
        robot_id, _ = register(service, admin, "albabot")
        robot = SimRobot(robot_id, "albabot", "not-its-token", (0.0, 0.0))
        port = int(service.runtime["robot_port"])
        with caplog.at_level(logging.ERROR, logger="robodine_edge.simulate.robot"):
            asyncio.run(asyncio.wait_for(robot.run("127.0.0.1", port, asyncio.Event()), 5))
        assert f"{robot_id}: the edge refused the hello (auth_failed); this robot stops" in caplog.text


def test_an_order_is_served_when_handed_over_not_when_the_robot_is_back_home(tmp_path: Path) -> None:
    with ServiceProcess(tmp_path) as service:
        store = Store(service)
        far = make_table(service, store.admin, x=14.0, y=9.0, width=1.0, height=1.0)

        def albabot_pose() -> dict[str, float]:
            robots = service.http.get("/api/robots", headers=store.admin).json()
            return next(r["pose"] for r in robots if r["kind"] == "albabot")

        with Simulator(service, albabots=1, cookbots=1, speed=10):
            store.robots_online(2)
            body = {"table_id": far["id"], "items": [{"menu_item_id": store.dish["id"], "quantity": 1}]}
            order = service.http.post("/api/orders", headers=store.admin, json=body).json()
            eventually(lambda: store.status(order["id"]) == "served", timeout=60, interval=0.05)
            pose = albabot_pose()
            to_table = (pose["x"] - 14.5) ** 2 + (pose["y"] - 9.5) ** 2
            to_home = (pose["x"] - 1.0) ** 2 + (pose["y"] - 0.5) ** 2
            assert to_table < to_home, pose  # served at the table, not once back
            eventually(lambda: albabot_pose()["x"] < 2.0, timeout=30, what="the robot driving home after")


def test_simulated_guests_come_order_eat_and_leave(tmp_path: Path) -> None:
    """`simulate --guests-every`: what makes the demo's flow move, end to end."""
    with ServiceProcess(tmp_path) as service:
        store = Store(service)
        with Simulator(service, "--guests-every", "10", albabots=2, cookbots=2, speed=40):
            store.robots_online(4)

            def parties(status: str) -> list[dict[str, Any]]:
                found = service.http.get("/api/customers", headers=store.admin, params={"limit": 1000}).json()
                return [p for p in found if p["status"] == status]

            eventually(lambda: parties("left"), timeout=60, interval=0.5, what="a party that came, ate and left")
            served = [o for o in service.http.get("/api/orders", headers=store.admin, params={"limit": 1000}).json()
                      if o["status"] == "served"]  # fmt: skip
            assert served and {o["table_id"] for o in served} <= {t["id"] for t in store.tables}
            eventually(lambda: [t for t in store.tasks(state="done") if t["kind"] == "clean"], timeout=30,
                       what="the table the party left cleaned by a robot")  # fmt: skip
