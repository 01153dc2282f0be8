"""Every kind of actor crashed mid-operation in the real process, and restart intensity
exceeded: what the supervisor brings back, and how a service that gave an actor up says so.

The service runs with `ROBODINE_TEST_CRASH_HOOK=1`, which opens a test-only route that
tells an actor `Crash` through its real mailbox (robodine_edge/http/crash_hook.py). Each
crash lands while a restaurant is busy: orders placed from eight threads, a cookbot on
a cook task, an albabot owed a command it has not acknowledged, a camera streaming, a
WebSocket following the orders. Once the supervisor has restarted the actor (its
`actor_restarted` event), everything must still be there and still move: every order
answered 201 stored, cooked and shown, stock exact, the owed command sent again, the
cook's `done` moving its order on, the camera's frames served.
"""

from __future__ import annotations

import os
import queue
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from robodine_edge.protocol.video import encode_chunks
from tests.http.store_setup import make_dish, make_stock, make_table
from tests.net.conftest import register
from tests.robot_client import RobotClient
from tests.service import ServiceProcess, service_env
from tests.waiting import eventually
from tests.ws_client import ws_url

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

HOOK = {"ROBODINE_TEST_CRASH_HOOK": "1"}
ORDERS = 40
"""Placed from eight threads around each crash."""
STOCK = 1000


class LiveRobot:
    """A linked robot run by its own thread: it keeps its link alive (a ping every 0.3 s),
    collects the commands the edge sends (it acknowledges nothing by itself) and sends
    what the test tells it to, in order."""

    def __init__(self, service: ServiceProcess, robot_id: str, token: str, kind: str) -> None:
        self.robot_id = robot_id
        self.client = RobotClient(int(service.runtime["robot_port"]))
        assert self.client.hello(robot_id, token, kind=kind)["type"] == "welcome"
        self.commands: queue.Queue[dict[str, Any]] = queue.Queue()
        self._outbox: queue.Queue[dict[str, Any]] = queue.Queue()
        self._stop = threading.Event()
        self.closed = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"robot-{robot_id}")
        self._thread.start()

    def _run(self) -> None:
        pinged = 0.0
        while not self._stop.is_set():
            try:
                while not self._outbox.empty():
                    self.client.send(**self._outbox.get_nowait())
                if time.monotonic() - pinged > 0.3:
                    self.client.send(type="ping")
                    pinged = time.monotonic()
                frame = self.client.read(timeout=0.1)
            except TimeoutError:
                continue
            except OSError:  # ConnectionError included: the edge closed the link
                self.closed.set()
                return
            if frame.get("type") == "command":
                self.commands.put(frame)

    def say(self, **frame: Any) -> None:
        self._outbox.put(frame)

    def command(self, timeout: float = 10.0) -> dict[str, Any]:
        return self.commands.get(timeout=timeout)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.client.close()


class Follower:
    """A WebSocket following `orders`: the picture it ends up with, by order id."""

    def __init__(self, service: ServiceProcess, token: str) -> None:
        self.orders: dict[int, str] = {}
        self._lock = threading.Lock()
        self._url = ws_url(service.url, f"/ws/orders?token={token}")
        self._ws: Any = None
        self._connected = threading.Event()
        self._thread = threading.Thread(target=self._run, name="orders-follower")
        self._thread.start()
        assert self._connected.wait(10), "the follower did not connect"

    def _run(self) -> None:
        with connect(self._url) as ws:
            self._ws = ws
            self._connected.set()
            try:
                for raw in ws:
                    message = orjson.loads(raw)
                    rows = message["data"] if message["type"] == "snapshot" else [message["data"]]
                    with self._lock:
                        for row in rows:
                            self.orders[row["id"]] = row["status"]
            except ConnectionClosed:  # closed at the end of the test
                return

    def sees(self, order_ids: set[int]) -> bool:
        with self._lock:
            return order_ids <= set(self.orders)

    def close(self) -> None:
        if self._ws is not None:
            self._ws.close()
        self._thread.join(5)


def jpeg(n: int) -> bytes:
    return b"\xff\xd8" + f"frame {n} ".encode() * 200 + b"\xff\xd9"


class Restaurant:
    """A service mid-dinner: a table, a dish, a cookbot on a cook task, an albabot owed a
    command, a camera streaming, a follower on the orders topic."""

    def __init__(self, service: ServiceProcess) -> None:
        self.service = service
        self.admin = service.auth(service.token())
        self.table = make_table(service, self.admin)
        self.stock = make_stock(service, self.admin, STOCK)
        self.dish = make_dish(service, self.admin, {self.stock["id"]: 1})
        self.robots: list[LiveRobot] = []
        self.cook = self._robot("cookbot")
        self.alba = self._robot("albabot")
        self.camera_id = "cam-crash"
        created = service.http.post("/api/video-streams", headers=self.admin, json={"camera_id": self.camera_id})
        assert created.status_code == 201, created.text
        self.frames = 0
        self.send_frames(3)
        self.follower = Follower(service, service.token())
        self.answers: list[tuple[int, dict[str, Any]]] = []
        self.first = self.place()
        assert self.first[0] == 201
        self.cooking = self.cook.command()
        assert self.cooking["args"]["order_id"] == self.first[1]["id"]
        self.cook.say(type="ack", id=self.cooking["id"])
        self.cook.say(type="task_update", task_id=self.cooking["id"], state="started")
        sent = service.http.post(
            f"/api/robots/{self.alba.robot_id}/commands",
            headers=self.admin,
            json={"name": "go_to", "args": {"x": 1, "y": 2}},
        )
        assert sent.status_code == 202, sent.text
        self.owed = sent.json()["id"]
        assert self.alba.command()["id"] == self.owed  # read, never acknowledged
        eventually(lambda: self.order(self.first[1]["id"])["status"] == "cooking", what="the first order cooking")

    def _robot(self, kind: str) -> LiveRobot:
        robot_id, token = register(self.service, self.admin, kind)
        robot = LiveRobot(self.service, robot_id, token, kind)
        self.robots.append(robot)
        robot.say(type="status", state="idle", battery=90)
        return robot

    def send_frames(self, count: int) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            for _ in range(count):
                self.frames += 1
                for datagram in encode_chunks(self.camera_id, time.time(), self.frames, jpeg(self.frames)):
                    udp.sendto(datagram, ("127.0.0.1", self.service.runtime["video_port"]))

    def place(self, client: httpx.Client | None = None) -> tuple[int, dict[str, Any]]:
        body = {"table_id": self.table["id"], "items": [{"menu_item_id": self.dish["id"], "quantity": 1}]}
        response = (client or self.service.http).post("/api/orders", headers=self.admin, json=body)
        answer = (response.status_code, response.json())
        self.answers.append(answer)
        return answer

    def order(self, order_id: int) -> dict[str, Any]:
        return self.service.http.get(f"/api/orders/{order_id}", headers=self.admin).json()

    def crash_while_ordering(self, actor: str) -> None:
        """Orders from eight threads; the actor is crashed once the first of them are in."""
        placing = threading.Barrier(9)

        def place_some(count: int) -> None:
            with httpx.Client(base_url=self.service.url, timeout=30) as client:
                placing.wait()
                for _ in range(count):
                    self.place(client)

        with ThreadPoolExecutor(8) as pool:
            runs = [pool.submit(place_some, ORDERS // 8) for _ in range(8)]
            placing.wait()
            eventually(lambda: len(self.answers) >= 8, what="orders on their way")
            crashed = self.service.http.post(f"/api/_test/actors/{actor}/crash", headers=self.admin)
            assert crashed.status_code == 202, crashed.text
            for run in runs:
                run.result()

    def restarted(self, actor: str) -> bool:
        events = self.service.http.get(
            "/api/events", headers=self.admin, params={"type": "actor_restarted", "limit": 1000}
        ).json()
        return any(event["entity_id"] == actor for event in events)

    def close(self) -> None:
        self.follower.close()
        for robot in self.robots:
            robot.close()


@pytest.fixture
def restaurant(tmp_path: Path) -> Iterator[Restaurant]:
    with ServiceProcess(tmp_path, service_env(tmp_path, **HOOK)) as service:
        place = Restaurant(service)
        try:
            yield place
        finally:
            place.close()


KINDS = ["writer", "table", "floor", "orders", "robot", "fleet", "camera", "cameras", "dispatcher"]


def actor_name(restaurant: Restaurant, kind: str) -> str:
    return {
        "table": f"table-{restaurant.table['id']}",
        "robot": f"robot-{restaurant.alba.robot_id}",
        "camera": f"camera-{restaurant.camera_id}",
    }.get(kind, kind)


@pytest.mark.parametrize("kind", KINDS)
def test_an_actor_crashed_mid_dinner_comes_back_with_everything_it_held(restaurant: Restaurant, kind: str) -> None:
    service, admin = restaurant.service, restaurant.admin
    actor = actor_name(restaurant, kind)
    restaurant.crash_while_ordering(actor)
    eventually(lambda: restaurant.restarted(actor), timeout=10, what=f"the supervisor restarting {actor}")
    assert service.http.get("/health").status_code == 200

    statuses = sorted({status for status, _ in restaurant.answers})
    assert set(statuses) <= {201, 503}, statuses  # a crash is "try again", never a 500 or a hang
    placed = {body["id"] for status, body in restaurant.answers if status == 201}
    stored = {o["id"] for o in service.http.get("/api/orders", headers=admin, params={"limit": 1000}).json()}
    assert placed == stored, "every 201 is an order; no other order exists"
    stock = service.http.get(f"/api/inventory/{restaurant.stock['id']}", headers=admin).json()
    assert stock["count"] == STOCK - len(placed)
    restaurant.place()  # the queue takes orders again
    placed.add(restaurant.answers[-1][1]["id"])

    def with_tasks() -> set[int]:
        tasks = service.http.get("/api/tasks", headers=admin, params={"limit": 1000}).json()
        return {t["order_id"] for t in tasks if t["kind"] == "cook"}

    eventually(lambda: placed <= with_tasks(), timeout=10, what="a cook task for every order")
    eventually(lambda: restaurant.follower.sees(placed), timeout=10, what="every order shown to its follower")

    again = restaurant.alba.command(timeout=10)  # owed, unacknowledged: sent again (every 5 s, and on a new actor)
    assert again["id"] == restaurant.owed
    restaurant.cook.say(type="task_update", task_id=restaurant.cooking["id"], state="done")
    first = restaurant.first[1]["id"]
    eventually(lambda: restaurant.order(first)["status"] == "ready", timeout=10, what="the cooked order ready")

    robots = service.http.get("/api/robots", headers=admin).json()
    assert all(robot["online"] for robot in robots), robots
    restaurant.send_frames(2)

    def newest_frame() -> bool:
        snapshot = service.http.get(f"/api/video-streams/{restaurant.camera_id}/snapshot.jpg", headers=admin)
        return snapshot.status_code == 200 and snapshot.content == jpeg(restaurant.frames)

    eventually(newest_frame, timeout=10, what="the camera's newest frame served")
    table = service.http.get(f"/api/tables/{restaurant.table['id']}", headers=admin).json()
    assert table["name"] == restaurant.table["name"]


def test_an_actor_that_keeps_crashing_is_given_up_the_service_degraded_and_systemd_unfed(tmp_path: Path) -> None:
    """Past `actors.max_restarts` (3) within `actors.restart_window_s` (5 s) the supervisor
    gives the actor up: `/health` answers 503 `degraded` naming it, an `actor_failed`
    event is written, and the watchdog beat stops reaching systemd (observed on a real
    NOTIFY_SOCKET), so systemd restarts the whole service."""
    name = f"robodine-crash-{os.getpid()}-{time.monotonic_ns()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify:
        notify.bind("\0" + name)
        notify.settimeout(5)
        env = service_env(tmp_path, NOTIFY_SOCKET="@" + name, WATCHDOG_USEC="600000", **HOOK)  # a beat every 0.3 s
        with ServiceProcess(tmp_path, env) as service:
            admin = service.auth(service.token())

            def beats(within_s: float) -> int:
                """WATCHDOG=1 datagrams received in the next `within_s` seconds."""
                count, deadline = 0, time.monotonic() + within_s
                while (left := deadline - time.monotonic()) > 0:
                    notify.settimeout(left)
                    try:
                        count += notify.recv(64) == b"WATCHDOG=1"
                    except TimeoutError:
                        break
                return count

            assert beats(1.5) >= 3
            assert service.http.get("/health").status_code == 200

            def events(kind: str) -> list[dict[str, Any]]:
                found = service.http.get("/api/events", headers=admin, params={"type": kind}).json()
                return [event for event in found if event["entity_id"] == "floor"]

            def restarted(times: int) -> bool:
                return len(events("actor_restarted")) == times

            for restarts in range(1, 5):
                crashed = service.http.post("/api/_test/actors/floor/crash", headers=admin)
                assert crashed.status_code == 202, crashed.text
                if restarts <= 3:
                    eventually(partial(restarted, restarts), what=f"restart {restarts}")
            failed = eventually(lambda: events("actor_failed"), what="the floor given up")
            assert failed[0]["level"] == "error"
            health = service.http.get("/health")
            assert health.status_code == 503
            assert health.json()["status"] == "degraded" and health.json()["failed_actors"] == ["floor"]
            assert service.http.get("/api/tables", headers=admin).status_code == 503  # the floor's door: unavailable
            notify.settimeout(0.05)
            while True:  # what was sent before the give-up
                try:
                    notify.recv(64)
                except TimeoutError:
                    break
            assert beats(1.5) == 0


def test_a_service_without_the_test_flag_has_no_crash_route(tmp_path: Path) -> None:
    with ServiceProcess(tmp_path) as service:
        admin = service.auth(service.token())
        assert service.http.post("/api/_test/actors/floor/crash", headers=admin).status_code == 404
        assert "/api/_test" not in service.http.get("/openapi.json").text
        assert service.http.get("/api/tables", headers=admin).status_code == 200  # the floor lives
