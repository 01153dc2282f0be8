"""The HQ API over what stores published: statuses, robots, today's orders, cfg pushes, auth.

Each test runs the real `hq` on a SQLite file and on PostgreSQL, against a real Mosquitto.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from paho.mqtt import client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from tests.federation.conftest import Broker
from tests.federation.hq_process import HqProcess, hq_env
from tests.federation.sim_store import SimStore, iso
from tests.waiting import eventually

pytestmark = pytest.mark.e2e


class Listener:
    """A plain subscriber that records every message under `topic_filter` (retained ones too)."""

    def __init__(self, port: int, topic_filter: str) -> None:
        self.messages: list[tuple[str, Any, bool]] = []
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        subscribed = threading.Event()
        self._client.on_subscribe = lambda *args: subscribed.set()
        self._client.on_message = lambda c, u, m: self.messages.append(
            (m.topic, orjson.loads(m.payload) if m.payload else None, bool(m.retain))
        )
        self._client.connect("127.0.0.1", port)
        self._client.loop_start()
        self._client.subscribe(topic_filter, qos=1)
        assert subscribed.wait(10)

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


def order_event(seq: int, kind: str, order_id: int, status: str, total: float, created: datetime) -> dict:
    created_at = iso(created)
    order = {"id": order_id, "table_id": 1, "status": status, "items": [], "total": total,
             "created_at": created_at, "updated_at": created_at}  # fmt: skip
    data = {"id": 100 + seq, "type": kind, "level": "info", "entity_type": "order", "entity_id": order_id,
            "message": f"order {order_id} is {status}", "created_at": created_at, "order": order}  # fmt: skip
    return data


def test_statuses_and_robot_states_are_kept(tmp_path: Path, mosquitto: Broker, database_url: str) -> None:
    store = SimStore(mosquitto.port, "acme", "s1").connect()
    try:
        store.publish_status(online=True, version="2.0.1", backlog=5)  # retained before HQ starts
        store.publish("state/robots/alba-1", {"robot_id": "alba-1", "battery": 80}, retain=True)
        with HqProcess(tmp_path / "hq", hq_env(tmp_path / "hq", mosquitto.url, database_url)) as hq:
            row = eventually(lambda: hq.get("/api/chain/stores"), what="the retained status read")[0]
            assert (row["store"], row["online"], row["version"], row["backlog"], row["last_seq"]) == (
                "s1", True, "2.0.1", 5, 0,
            )  # fmt: skip
            assert datetime.fromisoformat(row["last_seen"]) > datetime.now(UTC) - timedelta(minutes=1)
            robots = eventually(lambda: hq.get("/api/chain/robots", store="s1"), what="the robot's state")
            assert [(r["robot_id"], r["state"]) for r in robots] == [("alba-1", {"robot_id": "alba-1", "battery": 80})]

            for seq in (1, 2, 3):
                store.publish_event(seq)
            store.wait_ack(3)
            row = eventually(lambda: hq.get("/api/chain/stores")[0], what="the summary")
            assert (row["last_seq"], row["backlog"]) == (3, 2)
            store.publish("state/robots/alba-1", {"robot_id": "alba-1", "battery": 75}, retain=True)
            eventually(lambda: hq.get("/api/chain/robots")[0]["state"]["battery"] == 75, what="the new state")

            store.publish_status(online=False)  # a clean stop (or the last will) keeps the version
            row = eventually(lambda: (r := hq.get("/api/chain/stores")[0])["online"] is False and r, what="offline")
            assert row["version"] == "2.0.1"
            store.publish_status(online=True, version="2.0.2", backlog=0)
            row = eventually(lambda: (r := hq.get("/api/chain/stores")[0])["online"] and r, what="online again")
            assert (row["version"], row["backlog"]) == ("2.0.2", 0)
    finally:
        store.close()


def test_orders_today_count_from_hqs_local_midnight(tmp_path: Path, mosquitto: Broker, database_url: str) -> None:
    offset = timedelta(hours=3)  # HQ runs at UTC+3, whatever this machine's zone
    now = datetime.now(UTC)
    midnight = datetime.combine((now + offset).date(), datetime.min.time(), tzinfo=UTC) - offset
    env = hq_env(tmp_path / "hq", mosquitto.url, database_url, TZ="HQT-3")
    store = SimStore(mosquitto.port, "acme", "s1").connect()
    try:
        with HqProcess(tmp_path / "hq", env) as hq:
            events = [
                ("order_placed", 1, "placed", 10.00, midnight + timedelta(minutes=1)),
                ("order_placed", 2, "placed", 99.00, midnight - timedelta(minutes=1)),  # yesterday, local time
                ("order_placed", 4, "placed", 2.25, now),
                ("order_status", 3, "cancelled", 5.50, now),  # arrives before its order_placed
                ("order_placed", 3, "placed", 5.50, now),
                ("order_status", 4, "cooking", 2.25, now),
            ]
            seqs = [1, 2, 3, 5, 4, 6]
            for _ in range(2):  # everything twice: a re-send counts nothing again
                for seq, (kind, order_id, status, total, created) in zip(seqs, events, strict=True):
                    store.publish_event(seq, kind, order_event(seq, kind, order_id, status, total, created))
            store.wait_ack(6)
            store.publish_event(7, "note")
            store.wait_ack(7)
            row = hq.get("/api/chain/stores")[0]
            assert (row["orders_today"], row["revenue_today"]) == (3, 12.25)
    finally:
        store.close()


def test_cfg_is_published_retained_and_bad_input_publishes_nothing(
    tmp_path: Path, mosquitto: Broker, database_url: str
) -> None:
    listener = Listener(mosquitto.port, "robodine/v1/acme/+/cfg/#")
    try:
        with HqProcess(tmp_path / "hq", hq_env(tmp_path / "hq", mosquitto.url, database_url)) as hq:
            eventually(lambda: hq.get("/health")["broker"] == "connected", what="HQ connected")
            put = hq.http.put
            bad: list[tuple[str, dict[str, str], bytes, int, str]] = [
                ("/api/chain/cfg/prices", {}, b'{"version": 1}', 404, "not_found"),
                ("/api/chain/cfg/menu", {}, b'{"items": []}', 422, "validation_error"),
                ("/api/chain/cfg/menu", {}, b'{"version": "3", "items": []}', 422, "validation_error"),
                ("/api/chain/cfg/menu", {}, b'{"version": true, "items": []}', 422, "validation_error"),
                ("/api/chain/cfg/menu", {}, b'{"version": 1.5, "items": []}', 422, "validation_error"),
                ("/api/chain/cfg/menu", {}, b'{"version": -1, "items": []}', 422, "validation_error"),
                ("/api/chain/cfg/menu", {}, b'{"version": 2, "items": [{"price": 3}]}', 422, "validation_error"),
                (
                    "/api/chain/cfg/menu",
                    {},
                    b'{"version": 2, "items": [{"name": "Tea", "price": 1.234}]}',
                    422,
                    "validation_error",
                ),
                ("/api/chain/cfg/menu", {}, b'{"version": 2}', 422, "validation_error"),
                ("/api/chain/cfg/settings", {}, b'{"version": 2, "battery_low": "low"}', 422, "validation_error"),
                ("/api/chain/cfg/settings", {}, b'{"version": 2, "no_such_setting": 1}', 422, "validation_error"),
                ("/api/chain/cfg/settings", {}, b"[1, 2]", 422, "validation_error"),
                ("/api/chain/cfg/menu", {}, b"{not json", 400, "bad_request"),
                ("/api/chain/cfg/menu", {"store": "all"}, b'{"version": 1, "items": []}', 422, "validation_error"),
                ("/api/chain/cfg/menu", {"store": "a/b"}, b'{"version": 1, "items": []}', 422, "validation_error"),
            ]
            for path, params, body, status, code in bad:
                response = put(path, params=params, content=body)
                assert (response.status_code, response.json()["error"]["code"]) == (status, code), (path, body)
            response = put("/api/chain/cfg/menu", content=b'{"version": true, "items": []}')
            assert response.json()["error"]["fields"] == {"version": "must be an integer from 0"}

            menu = {"version": 7, "items": [{"name": "Ramen", "price": 9.5}, {"name": "Tea", "available": False}]}
            response = put("/api/chain/cfg/menu", json=menu)
            assert response.status_code == 200, response.text
            assert response.json() == {"topic": "robodine/v1/acme/all/cfg/menu", "store": None, "kind": "menu",
                                       "retained": True, "cfg": menu}  # fmt: skip
            settings = {"version": 3, "battery_low": 25}
            response = put("/api/chain/cfg/settings", params={"store": "s2"}, json=settings)
            assert response.json()["topic"] == "robodine/v1/acme/s2/cfg/settings"
            eventually(lambda: len(listener.messages) == 2, what="both cfgs heard")
            assert listener.messages == [
                ("robodine/v1/acme/all/cfg/menu", menu, False),
                ("robodine/v1/acme/s2/cfg/settings", settings, False),
            ]
        late = Listener(mosquitto.port, "robodine/v1/acme/+/cfg/#")  # a store connecting later
        try:
            eventually(lambda: len(late.messages) == 2, what="the retained cfgs")
            assert sorted(late.messages) == [
                ("robodine/v1/acme/all/cfg/menu", menu, True),
                ("robodine/v1/acme/s2/cfg/settings", settings, True),
            ]
        finally:
            late.close()
    finally:
        listener.close()


def test_the_api_needs_the_token_and_refuses_bad_queries(tmp_path: Path, mosquitto: Broker, database_url: str) -> None:
    with HqProcess(tmp_path / "hq", hq_env(tmp_path / "hq", mosquitto.url, database_url)) as hq:
        with httpx.Client(base_url=hq.url, timeout=10) as anonymous:
            health = anonymous.get("/health")
            assert health.status_code == 200 and health.json()["db"] == "ok"
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic aHE6aHE="}):
                for method, path in (("GET", "/api/chain/stores"), ("GET", "/api/chain/events"),
                                     ("GET", "/api/chain/robots"), ("PUT", "/api/chain/cfg/menu")):  # fmt: skip
                    response = anonymous.request(method, path, headers=headers, content=b'{"version": 1, "items": []}')
                    assert response.status_code == 401, (method, path, headers)
                    assert response.json()["error"]["code"] == "unauthorized"
                    assert response.headers["WWW-Authenticate"] == "Bearer"
        for params, field in (
            ({"after_seq": "-1"}, "after_seq"),
            ({"after_seq": "x"}, "after_seq"),
            ({"limit": "0"}, "limit"),
            ({"limit": "1001"}, "limit"),
            ({"store": "no/slash"}, "store"),
            ({"store": "x" * 65}, "store"),
        ):
            response = hq.http.get("/api/chain/events", params=params)
            assert response.status_code == 422, params
            assert field in response.json()["error"]["fields"]
        assert hq.http.get("/api/chain/nothing").status_code == 404
        assert hq.http.get("/api/chain/cfg/menu").status_code == 405
        assert hq.get("/api/chain/stores") == []
        assert hq.get("/api/chain/events", store="s1", type="order_placed", after_seq=3, limit=1000) == []
