"""`python -m bench.federation`: what federation costs the store, and how fast it catches up.

Against the real `robodine-edge run` and Debian's Mosquitto on 127.0.0.1, with a
stand-in for headquarters that acknowledges as `robodine-edge hq` does (the highest seq
below which it has every event, retained, every 100 ms):

* **relay CPU per 100 events/s**: the store's CPU (utime + stime from /proc) while
  orders are placed at a steady 100/s (one `order_placed` event each), federation on
  and publishing, against the same load with federation off, minutes apart;
* **backlog replay**: a backlog of events recorded while the broker was away (outbox
  entries, as an outage leaves them) is replayed after the store connects, at the
  default `replay_per_s` and unlimited; a 24-hour backlog's time follows from the rate;
* **live during a replay**: orders placed at 5/s while the unlimited replay runs, each
  timed from its 201 to its event reaching headquarters' stand-in.

Prints JSON (and writes bench/federation.json). See docs/BENCH.md.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench.measure import _cpu_seconds, temporary
from robodine_edge.data import outbox
from robodine_edge.data.db import database_path, open_database
from robodine_edge.data.events import record_event
from robodine_edge.data.migrations import migrate
from tests.federation.conftest import Broker, MqttProbe, mosquitto_executable
from tests.federation.store import PREFIX, Store, federated_env
from tests.http.conftest import seed_table
from tests.service import service_env
from tests.waiting import eventually

RESULTS = Path(__file__).parent / "federation.json"
RATE = 100
SECONDS = 10
BACKLOG = 20_000
DEFAULT_BACKLOG = 4_000
LIVE_RATE = 5


class Headquarters:
    """Records events and acknowledges the gapless watermark, retained, every 100 ms."""

    def __init__(self, broker: Broker) -> None:
        self.probe = MqttProbe(broker, client_id="bench-hq").connect()
        self.probe.publish(f"{PREFIX}/ack", b"", retain=True)  # a new store: no ack of an earlier run's
        self.probe.subscribe(f"{PREFIX}/evt/#")
        self.seen: set[int] = set()
        self.watermark = 0
        self.arrived: dict[int, float] = {}
        """order id → when its order_placed arrived."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._ack_loop, daemon=True)
        self._thread.start()

    def _ack_loop(self) -> None:
        read = 0
        while not self._stop.wait(0.1):
            messages = self.probe.messages[read:]
            read += len(messages)
            for message in messages:
                event = orjson.loads(message.payload)
                self.seen.add(event["seq"])
                if event["type"] == "order_placed":
                    self.arrived.setdefault(event["data"]["entity_id"], message.at)
            before = self.watermark
            while self.watermark + 1 in self.seen:
                self.watermark += 1
            if self.watermark != before:
                self.probe.publish(f"{PREFIX}/ack", {"seq": self.watermark}, retain=True)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.probe.close()


def paced_orders(store: Store, rate: float, seconds: float) -> list[tuple[int, float]]:
    """(order id, when its 201 came) for orders placed at `rate`/s for `seconds`."""
    body = {"table_id": store.table_id, "items": [{"menu_item_id": store.dish_id, "quantity": 1}]}
    placed: list[tuple[int, float]] = []
    with httpx.Client(base_url=store.process.url, headers=store.headers, timeout=10) as http:
        start = time.monotonic()
        for n in range(int(rate * seconds)):
            delay = start + n / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            response = http.post("/api/orders", json=body)
            placed.append((response.json()["id"], time.monotonic()))
    return placed


def cpu_at_rate(folder: Path, broker: Broker | None) -> dict[str, Any]:
    data = folder / ("on" if broker else "off")
    data.mkdir()
    env = federated_env(data, broker, ROBODINE_FEDERATION_KEEPALIVE_S="30") if broker else service_env(data)
    hq = Headquarters(broker) if broker else None
    try:
        with Store(data, env) as store:
            if broker:
                eventually(lambda: store.health()["federation"] == "connected", timeout=15)
            paced_orders(store, RATE, 2)  # warm-up
            pid = store.process.pid
            cpu, started = _cpu_seconds(pid), time.monotonic()
            placed = paced_orders(store, RATE, SECONDS)
            elapsed = time.monotonic() - started
            used = _cpu_seconds(pid) - cpu
            result = {"orders_per_s": round(len(placed) / elapsed, 1), "cpu_percent": round(100 * used / elapsed, 1)}
            if hq is not None:
                ids = [order_id for order_id, _ in placed]
                eventually(lambda: all(i in hq.arrived for i in ids), timeout=30, what="every event published")
                lag = sorted((hq.arrived[i] - at) * 1000 for i, at in placed)
                result["publish_p50_ms"] = round(lag[len(lag) // 2], 1)
                result["publish_p99_ms"] = round(lag[int(len(lag) * 0.99)], 1)
            return result
    finally:
        if hq is not None:
            hq.close()


def seed_backlog(data: Path, events: int) -> None:
    """Events recorded while the broker was away: rows and outbox entries, in one go."""
    seed_table(data)
    db = open_database(database_path(data))
    migrate(db)
    outbox.enable("s1", lambda: None)
    try:
        with db.atomic():
            for n in range(events):
                record_event("robot_event", f"backlog event {n}", entity_type="robot", entity_id="alba-1")
    finally:
        outbox.disable()
        db.close()


def replay(folder: Path, broker: Broker, name: str, events: int, rate: str, live: bool) -> dict[str, Any]:
    data = folder / name
    data.mkdir()
    seed_backlog(data, events)
    env = federated_env(data, broker, ROBODINE_FEDERATION_KEEPALIVE_S="30", ROBODINE_FEDERATION_REPLAY_PER_S=rate)
    hq = Headquarters(broker)
    try:
        with Store(data, env) as store:
            pid, cpu = store.process.pid, _cpu_seconds(store.process.pid)
            started = time.monotonic()
            eventually(lambda: hq.watermark >= 1, timeout=30, what="the replay starting")
            placed: list[tuple[int, float]] = []
            if live:
                placed = paced_orders(store, LIVE_RATE, 4)
            eventually(lambda: hq.watermark >= events, timeout=600, interval=0.2, what="the whole backlog")
            took = time.monotonic() - started
            result: dict[str, Any] = {
                "events": events,
                "replay_per_s_setting": rate,
                "seconds": round(took, 1),
                "events_per_s": round(events / took),
                "store_cpu_percent": round(100 * (_cpu_seconds(pid) - cpu) / took, 1),
                "outbox_left": store.sql('SELECT COUNT(*) FROM "federation_outbox"')[0][0],
            }
            if placed:
                ids = [order_id for order_id, _ in placed]
                eventually(lambda: all(i in hq.arrived for i in ids), timeout=30, what="the live orders")
                lag = sorted((hq.arrived[i] - at) * 1000 for i, at in placed)
                result["live_orders"] = len(placed)
                result["live_p50_ms"] = round(lag[len(lag) // 2], 1)
                result["live_max_ms"] = round(lag[-1], 1)
                result["live_sent_before_replay_done"] = sum(1 for i in ids if hq.arrived[i] < started + took)
            return result
    finally:
        hq.close()


def main() -> dict[str, Any]:
    mosquitto_executable()
    results: dict[str, Any] = {"cores": os.cpu_count()}
    with temporary() as tmp:
        folder = Path(tmp)
        broker = Broker(folder / "broker").start()
        try:
            results["off"] = cpu_at_rate(folder, None)
            results["on"] = cpu_at_rate(folder, broker)
            results["relay_cpu_percent_per_100_events_s"] = round(
                (results["on"]["cpu_percent"] - results["off"]["cpu_percent"]) * 100 / RATE, 1
            )
            results["replay_default"] = replay(folder, broker, "replay-default", DEFAULT_BACKLOG, "200", live=False)
            results["replay_unlimited"] = replay(folder, broker, "replay-fast", BACKLOG, "100000", live=True)
        finally:
            broker.stop()
    RESULTS.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    print(orjson.dumps(results, option=orjson.OPT_INDENT_2).decode())
    return results


if __name__ == "__main__":
    main()
