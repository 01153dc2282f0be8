"""What stores publish, read from the wire: topics and JSON bodies (pure, no I/O).

Topics live under `robodine/v1/<chain>/<store>/`: `evt/<type>` (one event of the store's
log), `status` (retained birth / last will), `state/robots/<robot_id>` (retained robot
state). A body that does not parse raises `BadMessage`; the consumer logs it and moves on.
HQ writes `ack` and `cfg/<kind>` (`ack_topic`, `cfg_topic`).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import orjson

from robodine_edge.clock import parse_iso
from robodine_edge.protocol.mqtt import ALL_STORES, ROOT

SHARE_GROUP = "robodine-hq"
ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
TYPE = re.compile(r"[^/+#\x00]{1,64}")


class BadMessage(ValueError):
    """A message HQ cannot store: its topic or body does not follow the wire format."""


class Kind(StrEnum):
    EVENT = "evt"
    STATUS = "status"
    ROBOT = "state"


@dataclass(frozen=True, slots=True)
class Address:
    """Where a message came from: the store, what kind of message, and the last topic
    level (the event type, or the robot id; empty for `status`)."""

    store: str
    kind: Kind
    name: str = ""


@dataclass(frozen=True, slots=True)
class OrderFacts:
    """What `orders_today` and `revenue_today` need from an order event's `data.order`."""

    order_id: int
    status: str
    total_cents: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class StoreEvent:
    """One event of a store's log, as HQ stores it (unique per store and event_id)."""

    store: str
    event_id: str
    seq: int
    type: str
    occurred_at: datetime
    data: dict[str, Any]
    order: OrderFacts | None


@dataclass(frozen=True, slots=True)
class StoreStatus:
    """A store's retained `status`: its birth (online) or its last will / clean stop."""

    online: bool
    version: str | None
    boot_id: str | None
    backlog: int | None


def subscriptions(chain: str) -> list[tuple[str, int]]:
    """The topic filters of one hq process, all at QoS 1. Events go through a shared
    subscription: each one reaches one hq process of the group. `status` and robot states are
    retained, and a broker sends no retained message to a shared subscription, so every hq
    process reads them whole (they are few; writing them is idempotent)."""
    base = f"{ROOT}/{chain}/+"
    return [
        (f"$share/{SHARE_GROUP}-{chain}/{base}/evt/#", 1),
        (f"{base}/status", 1),
        (f"{base}/state/robots/+", 1),
    ]


def parse_topic(chain: str, topic: str) -> Address | None:
    """The address of a topic under `robodine/v1/<chain>/`, or None for one HQ does not read."""
    prefix = f"{ROOT}/{chain}/"
    if not topic.startswith(prefix):
        return None
    parts = topic[len(prefix) :].split("/")
    store = parts[0]
    if not ID.fullmatch(store) or store == ALL_STORES:
        return None
    rest = parts[1:]
    if rest == ["status"]:
        return Address(store, Kind.STATUS)
    if len(rest) == 2 and rest[0] == "evt" and TYPE.fullmatch(rest[1]):
        return Address(store, Kind.EVENT, rest[1])
    if len(rest) == 3 and rest[:2] == ["state", "robots"] and ID.fullmatch(rest[2]) and rest[2] not in (".", ".."):
        return Address(store, Kind.ROBOT, rest[2])
    return None


def parse_event(address: Address, payload: bytes) -> StoreEvent:
    """An `evt/<type>` body: `{"event_id", "seq", "store", "type", "occurred_at", "data"}`.
    The body must name the store and type of its topic: a store publishes only its own."""
    body = _object(payload)
    try:
        event_id = str(uuid.UUID(str(body["event_id"])))
    except (KeyError, ValueError):
        raise BadMessage("event_id is not a UUID") from None
    seq = body.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
        raise BadMessage("seq must be an integer from 1")
    if body.get("store") != address.store:
        raise BadMessage(f"store {body.get('store')!r} is not the topic's store {address.store!r}")
    if body.get("type") != address.name:
        raise BadMessage(f"type {body.get('type')!r} is not the topic's type {address.name!r}")
    data = body.get("data")
    if not isinstance(data, dict):
        raise BadMessage("data must be an object")
    occurred_at = _time(body.get("occurred_at"), "occurred_at")
    if b"\\u0000" in payload:
        data = _without_nul(data)
    return StoreEvent(address.store, event_id, seq, address.name, occurred_at, data, order_facts(data))


def order_facts(data: dict[str, Any]) -> OrderFacts | None:
    """The order an order event carries (`data.order`, as GET /api/orders/{id} shows it), or
    None when the event carries none that can be counted."""
    order = data.get("order")
    if not isinstance(order, dict):
        return None
    order_id, status, total = order.get("id"), order.get("status"), order.get("total")
    if not isinstance(order_id, int) or isinstance(order_id, bool) or not isinstance(status, str):
        return None
    if not isinstance(total, int | float) or isinstance(total, bool):
        return None
    try:
        created_at = _time(order.get("created_at"), "order.created_at")
    except BadMessage:
        return None
    return OrderFacts(order_id, status, round(total * 100), created_at)


def parse_status(payload: bytes) -> StoreStatus:
    """A `status` body: `{"online": true, "version", "boot_id", "backlog", "at"}` or
    `{"online": false, "boot_id", "at"}`."""
    body = _object(payload)
    online = body.get("online")
    if not isinstance(online, bool):
        raise BadMessage("online must be true or false")
    version, boot_id, backlog = body.get("version"), body.get("boot_id"), body.get("backlog")
    return StoreStatus(
        online,
        version if isinstance(version, str) else None,
        boot_id if isinstance(boot_id, str) else None,
        backlog if isinstance(backlog, int) and not isinstance(backlog, bool) and backlog >= 0 else None,
    )


def parse_robot(payload: bytes) -> dict[str, Any]:
    """A `state/robots/<id>` body: the robot as the store's API shows it."""
    return _object(payload)


def _without_nul(value: Any) -> Any:
    """`value` with each NUL character of its strings replaced by U+FFFD: PostgreSQL's jsonb
    refuses NUL, and an event must be storable whatever text its store let through."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    if isinstance(value, dict):
        return {_without_nul(key): _without_nul(item) for key, item in value.items()}
    return value


def _object(payload: bytes) -> dict[str, Any]:
    try:
        body = orjson.loads(payload)
    except orjson.JSONDecodeError:
        raise BadMessage("the body is not JSON") from None
    if not isinstance(body, dict):
        raise BadMessage("the body is not a JSON object")
    return body


def _time(value: Any, name: str) -> datetime:
    if not isinstance(value, str):
        raise BadMessage(f"{name} must be an ISO-8601 time")
    try:
        return parse_iso(value)
    except ValueError:
        raise BadMessage(f"{name} must be an ISO-8601 time") from None
