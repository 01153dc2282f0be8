"""A store as HQ sees it from the broker: it publishes SPEC bodies (`evt/<type>` at QoS 1,
retained `status` and robot states) and reads its retained `ack`. paho-mqtt's own thread
runs the connection; `close()` ends it."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
from paho.mqtt import client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

ROOT = "robodine/v1"


def iso(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def event_id(store: str, seq: int) -> str:
    """The same id for every re-send of a seq, as a store's outbox keeps it."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"robodine-test/{store}/{seq}"))


class SimStore:
    def __init__(self, port: int, chain: str, store: str, *, max_inflight: int = 10) -> None:
        self.port, self.chain, self.store = port, chain, store
        self.max_inflight = max_inflight
        self.acked = 0
        self.ack_messages = 0
        self._changed = threading.Condition()
        self._client: mqtt.Client | None = None

    @property
    def prefix(self) -> str:
        return f"{ROOT}/{self.chain}/{self.store}"

    def connect(self) -> SimStore:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"robodine-{self.chain}-{self.store}", protocol=mqtt.MQTTv5
        )
        client.max_inflight_messages_set(self.max_inflight)
        client.max_queued_messages_set(0)
        client.on_message = self._on_message
        subscribed = threading.Event()
        client.on_subscribe = lambda *args: subscribed.set()
        client.connect("127.0.0.1", self.port, keepalive=5)
        client.loop_start()
        client.subscribe(f"{self.prefix}/ack", qos=1)
        if not subscribed.wait(10):
            raise AssertionError(f"{self.store}: no SUBACK for its ack topic")
        self._client = client
        return self

    def close(self) -> None:
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()
            self._client = None

    def reconnect(self) -> None:
        self.close()
        self.connect()

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        seq = orjson.loads(message.payload)["seq"]
        with self._changed:
            self.ack_messages += 1
            self.acked = max(self.acked, seq)
            self._changed.notify_all()

    def wait_ack(self, seq: int, timeout: float = 15.0) -> int:
        with self._changed:
            if not self._changed.wait_for(lambda: self.acked >= seq, timeout):
                raise AssertionError(f"{self.store}: ack {self.acked}, not {seq}, after {timeout:g} s")
            return self.acked

    def event(self, seq: int, type: str = "note", data: dict[str, Any] | None = None) -> dict[str, Any]:
        return {
            "event_id": event_id(self.store, seq),
            "seq": seq,
            "store": self.store,
            "type": type,
            "occurred_at": iso(datetime.now(UTC)),
            "data": data if data is not None else {"id": seq, "type": type, "message": f"event {seq}"},
        }

    def publish(self, topic: str, body: Any, *, retain: bool = False, wait: bool = True) -> mqtt.MQTTMessageInfo:
        assert self._client is not None
        payload = body if isinstance(body, bytes) else orjson.dumps(body)
        info = self._client.publish(f"{self.prefix}/{topic}", payload, qos=1, retain=retain)
        if wait:
            info.wait_for_publish(10)
            assert info.is_published(), f"{self.store}: {topic} not acknowledged by the broker"
        return info

    def publish_event(self, seq: int, type: str = "note", data: dict[str, Any] | None = None, **kw: Any) -> None:
        self.publish(f"evt/{type}", self.event(seq, type, data), **kw)

    def publish_status(self, online: bool, version: str = "1.2.3", backlog: int = 0) -> None:
        body: dict[str, Any] = {"online": online, "boot_id": "boot-1", "at": iso(datetime.now(UTC))}
        if online:
            body.update(version=version, backlog=backlog)
        self.publish("status", body, retain=True)

    def stream(self, last: int, *, quiet_s: float = 1.5, timeout: float = 60.0, pace_s: float = 0.0) -> None:
        """Publish seq 1..`last`, then, like a store's relay, publish again from the ack + 1
        whenever the ack has not moved for `quiet_s`, until the ack reaches `last`."""
        for seq in range(1, last + 1):
            self.publish_event(seq, wait=False)
            if pace_s:
                time.sleep(pace_s)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._changed:
                before = self.acked
                if before >= last:
                    return
                if self._changed.wait_for(lambda: self.acked != before, quiet_s):  # noqa: B023
                    continue
            for seq in range(before + 1, last + 1):
                self.publish_event(seq, wait=False)
        raise AssertionError(f"{self.store}: ack {self.acked} of {last} after {timeout:g} s")
