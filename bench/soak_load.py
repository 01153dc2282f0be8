"""The soak's dinner rush from outside, beside the demo's own guests: table tablets ordering
with Idempotency-Keys, staff at work, the screens following the live topics, and a /health
probe. Everything goes through the service's public API, as a restaurant's devices would.

* **Kiosks**: every `order_every_s` on average (exponential gaps), the tablet of a seated
  table orders 1-3 available dishes, 1-2 of each, with a fresh `Idempotency-Key`; a reply
  that decided nothing (a timeout, a 5xx) is sent again with the same key until one does,
  as a tablet on flaky Wi-Fi would. One order in ten is sent twice on purpose: the second
  answer must be the first, replayed.
* **Staff**: every `staff_every_s` on average, one of: move an order's priority, cancel a
  placed order (a guest changed their mind), call staff from a tablet, read and mark the
  notifications, switch a dish off for a minute, look at today's figures and the events. A
  porter tops up every shelf at or under its low mark each minute, so the rush never sells
  out for good.
* **Screens**: the dashboard, the kitchen board and three tablets on `/ws` with the topics
  their pages follow, each checking that every stream's `seq` runs on without a gap (a gap
  is counted and the topic subscribed again from the last `seq`, as the pages do) and
  reconnecting with `since` after a drop.
* **Health**: `GET /health` every second; its latency stands for the event loop's lag.

All of it runs on one asyncio loop in the harness's process (bench/soak.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import websockets

log = logging.getLogger("soak")

REPLAY_SHARE = 0.1
"""Share of kiosk orders sent twice with the same key, to check the replay."""
RETRY_S = 1.0
MAX_TRIES = 30
"""A kiosk order whose answer decided nothing is sent again this often, `RETRY_S` apart."""
RESTOCK_EVERY_S = 60.0
DISH_OFF_S = 60.0
HEALTH_EVERY_S = 1.0
RECONNECT_S = 1.0
DASHBOARD = ("tables", "orders", "customers", "robots", "inventory", "events", "notifications", "commands",
             "video_streams", "emergencies")  # fmt: skip
KITCHEN = ("orders", "tables", "menu", "emergencies")
KIOSK = ("orders", "menu", "emergencies", "notifications")
"""The topics each screen's page follows (robodine_edge/web/static/app)."""
ACTIVE = frozenset({"placed", "cooking", "ready", "serving"})
DECIDED = frozenset({200, 201, 403, 404, 409, 422})
"""Answers that decided the request (docs/API.md, "Idempotency"); others are sent again."""


@dataclass
class Tally:
    """What the load did and saw, for the report. Loop only."""

    placed: list[int] = field(default_factory=list)
    """Order ids the kiosks got a 201 for."""
    refused: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    replays: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    cancelled: set[int] = field(default_factory=set)
    staff: Counter[str] = field(default_factory=Counter)
    health_ms: list[float] = field(default_factory=list)
    """Latencies since the sampler last took them."""
    health_errors: int = 0

    def take_health(self) -> list[float]:
        taken, self.health_ms = self.health_ms, []
        return taken


@dataclass
class Kiosk:
    username: str
    token: str
    table_id: int


@dataclass
class Stream:
    """One subscription of a screen: the last `seq` seen of its stream."""

    topic: str
    last: int | None = None


@dataclass
class Screen:
    """One page's socket and what came through it."""

    name: str
    token: str
    topics: tuple[str, ...]
    messages: int = 0
    bytes: int = 0
    gaps: int = 0
    reconnects: int = 0
    closes: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    mirrors: dict[str, dict[Any, dict[str, Any]]] = field(default_factory=dict)

    def report(self) -> dict[str, Any]:
        return {"topics": list(self.topics), "messages": self.messages, "bytes": self.bytes, "gaps": self.gaps,
                "reconnects": self.reconnects, "closes": dict(self.closes), "failures": dict(self.failures)}  # fmt: skip


KEYS = {"robots": "robot_id", "video_streams": "camera_id"}


def credentials(path: Path) -> dict[str, str]:
    """`username password` lines of the demo's credentials file."""
    found = {}
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) >= 2 and not line.startswith("#"):
            found[parts[0]] = parts[1]
    return found


class Rush:
    """The harness's part of the rush, against the service at `url`. Loop only."""

    def __init__(
        self, url: str, credentials_file: Path, *, order_every_s: float, staff_every_s: float, kiosk_screens: int = 3
    ) -> None:
        self.url = url
        self.order_every_s = order_every_s
        self.staff_every_s = staff_every_s
        self.tally = Tally()
        self._credentials = credentials(credentials_file)
        self._kiosk_screens = kiosk_screens
        self._http = httpx.AsyncClient(base_url=url, timeout=10)
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._load: list[asyncio.Task[None]] = []
        self.kiosks: dict[int, Kiosk] = {}
        self.screens: list[Screen] = []
        self.staff_token = ""
        self._dishes_off: set[int] = set()

    # -- setting up --------------------------------------------------------------------------

    async def login(self, username: str) -> str:
        response = await self._http.post("/api/auth/login", json={"username": username,
                                                                  "password": self._credentials[username]})  # fmt: skip
        response.raise_for_status()
        return str(response.json()["access_token"])

    async def start(self) -> None:
        self.staff_token = await self.login("staff")
        for username in sorted(u for u in self._credentials if u.startswith("kiosk-")):
            token = await self.login(username)
            me = (await self._http.get("/api/auth/me", headers=_auth(token))).json()
            self.kiosks[int(me["table_id"])] = Kiosk(username, token, int(me["table_id"]))
        self.screens = [Screen("dashboard", self.staff_token, DASHBOARD), Screen("kitchen", self.staff_token, KITCHEN)]
        for kiosk in list(self.kiosks.values())[: self._kiosk_screens]:
            self.screens.append(Screen(kiosk.username, kiosk.token, KIOSK))
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._follow(screen)) for screen in self.screens]
        self._tasks.append(loop.create_task(self._health()))

    def start_load(self) -> None:
        """Orders and staff work (the screens and the probe run from `start` to `close`)."""
        loop = asyncio.get_running_loop()
        self._load = [loop.create_task(self._kiosk_orders()), loop.create_task(self._staff_work()),
                      loop.create_task(self._porter())]  # fmt: skip

    async def stop_load(self) -> None:
        """No new order or staff action; one in flight finishes (its outcome is certain)."""
        self._stop.set()
        await asyncio.gather(*self._load, return_exceptions=True)
        for dish in list(self._dishes_off):  # nothing left switched off by the soak
            await self._call("PATCH", f"/api/menu/{dish}", self.staff_token, {"available": True})

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._http.aclose()

    # -- HTTP --------------------------------------------------------------------------------

    async def _call(
        self, method: str, path: str, token: str, body: Any = None, key: str | None = None
    ) -> httpx.Response | None:
        headers = _auth(token)
        if key is not None:
            headers["Idempotency-Key"] = key
        try:
            response = await self._http.request(method, path, headers=headers, json=body)
        except httpx.HTTPError as exc:
            self.tally.errors[f"{method} {_route(path)}: {type(exc).__name__}"] += 1
            return None
        if response.status_code >= 500:
            self.tally.errors[f"{method} {_route(path)}: {response.status_code}"] += 1
        return response

    async def _place(self, kiosk: Kiosk, body: dict[str, Any], key: str) -> httpx.Response | None:
        """POST the order until an answer decides it, with the same key each time."""
        for attempt in range(MAX_TRIES):
            if attempt:
                self.tally.retries += 1
                await asyncio.sleep(RETRY_S)
            response = await self._call("POST", "/api/orders", kiosk.token, body, key)
            if response is not None and response.status_code in DECIDED:
                return response
        self.tally.errors["order never decided"] += 1
        return None

    # -- kiosks ------------------------------------------------------------------------------

    async def _kiosk_orders(self) -> None:
        while not await self._pause(random.expovariate(1 / self.order_every_s)):
            seated = [t["id"] for t in self._mirror("dashboard", "tables").values() if t.get("status") == "occupied"]
            kiosk = self.kiosks.get(random.choice(seated)) if seated else None
            if kiosk is None:
                self.tally.refused["no seated table"] += 1
                continue
            menu = [d for d in self._mirror(kiosk.username, "menu").values() if d.get("available")]
            if not menu:
                menu_answer = await self._call("GET", "/api/menu", kiosk.token)
                menu = [d for d in (menu_answer.json() if menu_answer is not None else []) if d.get("available")]
            if not menu:
                self.tally.refused["nothing on the menu"] += 1
                continue
            dishes = random.sample(menu, k=min(len(menu), random.randint(1, 3)))
            body = {"table_id": kiosk.table_id,
                    "items": [{"menu_item_id": d["id"], "quantity": random.choice((1, 1, 2))} for d in dishes]}  # fmt: skip
            key = secrets.token_hex(12)
            response = await self._place(kiosk, body, key)
            if response is None:
                continue
            if response.status_code == 201:
                self.tally.placed.append(int(response.json()["id"]))
                if random.random() < REPLAY_SHARE:
                    await self._replay(kiosk, body, key, response)
            else:
                self.tally.refused[f"{response.status_code} {_code(response)}"] += 1

    async def _replay(self, kiosk: Kiosk, body: dict[str, Any], key: str, first: httpx.Response) -> None:
        again = await self._place(kiosk, body, key)
        if again is None:
            return
        same = again.status_code == first.status_code and again.content == first.content
        replayed = again.headers.get("Idempotent-Replayed") == "true"
        self.tally.replays["replayed" if same and replayed else "NOT replayed"] += 1

    # -- staff -------------------------------------------------------------------------------

    async def _staff_work(self) -> None:
        actions = [(self._priority, 3), (self._cancel, 1), (self._call_staff, 2), (self._read_notifications, 2),
                   (self._dish_off, 1), (self._look, 3)]  # fmt: skip
        while not await self._pause(random.expovariate(1 / self.staff_every_s)):
            action = random.choices([a for a, _ in actions], weights=[w for _, w in actions])[0]
            await action()

    def _active_orders(self, *statuses: str) -> list[dict[str, Any]]:
        wanted = set(statuses or ACTIVE)
        return [o for o in self._mirror("kitchen", "orders").values() if o.get("status") in wanted]

    async def _priority(self) -> None:
        orders = self._active_orders()
        if orders:
            order = random.choice(orders)
            await self._call("POST", f"/api/orders/{order['id']}/priority", self.staff_token,
                             {"priority": random.randint(-5, 10)})  # fmt: skip
            self.tally.staff["priority"] += 1

    async def _cancel(self) -> None:
        orders = self._active_orders("placed")
        if not orders:
            return
        order = random.choice(orders)
        self.tally.cancelled.add(int(order["id"]))  # before: a cancel that commits but times out still counts
        response = await self._call("POST", f"/api/orders/{order['id']}/cancel", self.staff_token)
        if response is not None and response.status_code == 409:  # it moved on meanwhile
            self.tally.cancelled.discard(int(order["id"]))
        self.tally.staff["cancel"] += 1

    async def _call_staff(self) -> None:
        kiosk = random.choice(list(self.kiosks.values()))
        await self._call("POST", f"/api/tables/{kiosk.table_id}/call-staff", kiosk.token, {"message": "more water"})
        self.tally.staff["call staff"] += 1

    async def _read_notifications(self) -> None:
        response = await self._call("GET", "/api/notifications?unread=true&limit=100", self.staff_token)
        for note in response.json() if response is not None and response.status_code == 200 else []:
            await self._call("POST", f"/api/notifications/{note['id']}/read", self.staff_token)
        self.tally.staff["read notifications"] += 1

    async def _dish_off(self) -> None:
        dishes = [d for d in self._mirror("kitchen", "menu").values() if d.get("available")]
        if not dishes:
            return
        dish = random.choice(dishes)["id"]
        self._dishes_off.add(dish)
        await self._call("PATCH", f"/api/menu/{dish}", self.staff_token, {"available": False})
        self.tally.staff["dish off"] += 1
        asyncio.get_running_loop().call_later(DISH_OFF_S, self._dish_on, dish)

    def _dish_on(self, dish: int) -> None:
        async def on() -> None:
            await self._call("PATCH", f"/api/menu/{dish}", self.staff_token, {"available": True})
            self._dishes_off.discard(dish)

        if dish in self._dishes_off and not self._stop.is_set():
            self._tasks.append(asyncio.get_running_loop().create_task(on()))

    async def _look(self) -> None:
        for path in ("/api/stats/today", "/api/events?limit=100", "/api/orders?limit=100", "/api/robots"):
            await self._call("GET", path, self.staff_token)
        self.tally.staff["look"] += 1

    async def _porter(self) -> None:
        """Every shelf at or under its low mark back to its target, each minute."""
        while not await self._pause(RESTOCK_EVERY_S):
            response = await self._call("GET", "/api/inventory?limit=1000", self.staff_token)
            for item in response.json() if response is not None and response.status_code == 200 else []:
                if item["count"] <= item["low_threshold"] and item["max_count"] > item["count"]:
                    await self._call("POST", f"/api/inventory/{item['id']}/restock", self.staff_token,
                                     {"quantity": item["max_count"] - item["count"]})  # fmt: skip
                    self.tally.staff["restock"] += 1

    # -- screens and the probe ---------------------------------------------------------------

    def _mirror(self, screen: str, topic: str) -> dict[Any, dict[str, Any]]:
        for found in self.screens:
            if found.name == screen:
                return found.mirrors.get(topic, {})
        return {}

    def orders_seen(self) -> dict[int, str]:
        """The dashboard's last word on each order: its status."""
        return {int(k): v["status"] for k, v in self._mirror("dashboard", "orders").items()}

    async def _follow(self, screen: Screen) -> None:
        """One page's socket for the whole run, reconnected after any drop."""
        streams: dict[int, Stream] = {}
        first = True
        while True:
            if not first:
                screen.reconnects += 1
                await asyncio.sleep(RECONNECT_S)
            first = False
            try:
                await self._session(screen, streams)
            except websockets.ConnectionClosed as closed:
                screen.closes[str(closed.rcvd.code if closed.rcvd else "none")] += 1
            except (OSError, TimeoutError, websockets.InvalidHandshake) as exc:
                screen.failures[type(exc).__name__] += 1

    async def _session(self, screen: Screen, streams: dict[int, Stream]) -> None:
        url = self.url.replace("http://", "ws://", 1) + "/ws"
        async with websockets.connect(url, max_size=None, open_timeout=10) as ws:
            await ws.send(orjson.dumps({"type": "auth", "token": screen.token}).decode())
            answer = orjson.loads(await asyncio.wait_for(ws.recv(), 10))
            if answer.get("type") != "auth_ok":
                raise OSError(f"auth refused: {answer}")
            next_id = 1
            old = dict(streams) or {n: Stream(t) for n, t in enumerate(screen.topics)}
            streams.clear()

            async def subscribe(stream: Stream) -> None:
                nonlocal next_id
                command: dict[str, Any] = {"id": next_id, "type": "subscribe", "topic": stream.topic}
                if stream.last is not None:
                    command["since"] = stream.last
                streams[next_id] = stream
                next_id += 1
                await ws.send(orjson.dumps(command).decode())

            for resumed in old.values():
                await subscribe(resumed)
            async for raw in ws:
                screen.bytes += len(raw)
                message = orjson.loads(raw)
                sub = message.get("id")
                stream = streams.get(sub) if isinstance(sub, int) else None
                if stream is not None and message.get("type") == "snapshot_failed":  # the subscription ended
                    screen.failures["snapshot_failed"] += 1
                    del streams[sub]
                    await subscribe(stream)
                    continue
                if stream is None or "seq" not in message:
                    continue
                screen.messages += 1
                seq = message["seq"]
                mirror = screen.mirrors.setdefault(stream.topic, {})
                key = KEYS.get(stream.topic, "id")
                if message["type"] == "snapshot":
                    mirror.clear()
                    mirror.update({item[key]: item for item in message["data"]})
                    stream.last = seq
                    continue
                if stream.last is not None and seq != stream.last + 1:
                    screen.gaps += 1
                    del streams[sub]
                    await ws.send(orjson.dumps({"id": next_id, "type": "unsubscribe", "subscription": sub}).decode())
                    next_id += 1
                    await subscribe(stream)
                    continue
                stream.last = seq
                if message["type"] == "upsert":
                    mirror[message["data"][key]] = message["data"]
                elif message["type"] == "delete":
                    mirror.pop(message["data"].get(key), None)

    async def _health(self) -> None:
        while True:
            started = time.perf_counter()
            try:
                response = await self._http.get("/health", timeout=10)
                if response.status_code == 200:
                    self.tally.health_ms.append((time.perf_counter() - started) * 1000)
                else:
                    self.tally.health_errors += 1
            except httpx.HTTPError:
                self.tally.health_errors += 1
            await asyncio.sleep(max(0.0, HEALTH_EVERY_S - (time.perf_counter() - started)))

    async def _pause(self, seconds: float) -> bool:
        """Wait `seconds`; True if the load was stopped meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)
        return self._stop.is_set()

    # -- reading the store -------------------------------------------------------------------

    async def staff_get(self, path: str) -> Any:
        response = await self._http.get(path, headers=_auth(self.staff_token))
        response.raise_for_status()
        return response.json()

    async def text(self, path: str) -> str:
        response = await self._http.get(path)
        response.raise_for_status()
        return response.text

    async def all_orders(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        path = "/api/orders?limit=1000"
        while True:
            page = await self.staff_get(path)
            found += page
            if len(page) < 1000:
                return found
            path = f"/api/orders?limit=1000&before={page[-1]['id']}"


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _route(path: str) -> str:
    """The path with ids and the query left out, so errors count by route."""
    return "/".join("{id}" if part.isdigit() else part for part in path.split("?")[0].split("/"))


def _code(response: httpx.Response) -> str:
    with contextlib.suppress(ValueError, KeyError, TypeError):
        return str(response.json()["error"]["code"])
    return ""
