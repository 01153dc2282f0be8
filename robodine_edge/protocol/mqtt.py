"""The federation's wire format (docs/FEDERATION.md): topic names and JSON bodies.

Pure functions over strings and bytes, no I/O, shared by the store's relay and by
headquarters. Every topic lives under `robodine/v1/<chain>/<store>/`; `all` in the
store's place is every store of the chain (desired state only). Ids (chain, store,
robot) are `[A-Za-z0-9._-]`, so they never hold a topic separator or a wildcard.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal, TypeGuard

import orjson

from robodine_edge.errors import RobodineError

ROOT = "robodine/v1"
ALL_STORES = "all"
CFG_KINDS = ("menu", "settings")
CfgKind = Literal["menu", "settings"]
Channel = Literal["status", "evt", "state", "ack", "cfg", "cfg-ack"]
MAX_PRICE = 100_000


class WireError(RobodineError):
    """A message that does not follow the wire format; it changes nothing."""

    code = "bad_message"


# -- topics ------------------------------------------------------------------------------


def prefix(chain: str, store: str) -> str:
    return f"{ROOT}/{chain}/{store}"


def status_topic(chain: str, store: str) -> str:
    return f"{prefix(chain, store)}/status"


def evt_topic(chain: str, store: str, event_type: str) -> str:
    return f"{prefix(chain, store)}/evt/{event_type}"


def robot_topic(chain: str, store: str, robot_id: str) -> str:
    return f"{prefix(chain, store)}/state/robots/{robot_id}"


def ack_topic(chain: str, store: str) -> str:
    return f"{prefix(chain, store)}/ack"


def cfg_topic(chain: str, store: str, kind: str) -> str:
    """`store` may be `ALL_STORES`: the chain-wide desired state."""
    return f"{prefix(chain, store)}/cfg/{kind}"


def cfg_ack_topic(chain: str, store: str, kind: str) -> str:
    return f"{prefix(chain, store)}/cfg-ack/{kind}"


@dataclass(frozen=True, slots=True)
class Topic:
    """A parsed topic: `rest` is the event type, the robot id or the cfg kind ("" for
    `status` and `ack`)."""

    chain: str
    store: str
    channel: Channel
    rest: str


def parse_topic(topic: str) -> Topic | None:
    """The parts of a federation topic, or None for anything else (another version,
    a shared-subscription prefix must be stripped by the caller)."""
    parts = topic.split("/")
    if len(parts) < 5 or "/".join(parts[:2]) != ROOT or not parts[2] or not parts[3]:
        return None
    chain, store, channel, rest = parts[2], parts[3], parts[4], parts[5:]
    if channel in ("status", "ack") and not rest:
        return Topic(chain, store, channel, "")  # type: ignore[arg-type]
    if channel in ("evt", "cfg", "cfg-ack") and len(rest) == 1 and rest[0]:
        return Topic(chain, store, channel, rest[0])  # type: ignore[arg-type]
    if channel == "state" and len(rest) == 2 and rest[0] == "robots" and rest[1]:
        return Topic(chain, store, "state", rest[1])
    return None


# -- store → headquarters ------------------------------------------------------------------


def event_body(event_id: str, seq: int, store: str, event_type: str, occurred_at: str, data: dict[str, Any]) -> bytes:
    """`evt/<type>`: one event of the store's log. `data` is the event as the store's
    `GET /api/events` shows it, with `order` (as `GET /api/orders/{id}`) for order events."""
    return orjson.dumps(
        {"event_id": event_id, "seq": seq, "store": store, "type": event_type, "occurred_at": occurred_at, "data": data}
    )


def status_online(version: str, boot_id: str, backlog: int, at: str) -> bytes:
    return orjson.dumps({"online": True, "version": version, "boot_id": boot_id, "backlog": backlog, "at": at})


def status_offline(boot_id: str, at: str) -> bytes:
    """The last will (its `at` is when the connection it guards was made) and a clean stop's."""
    return orjson.dumps({"online": False, "boot_id": boot_id, "at": at})


def cfg_ack_body(version: int, applied_at: str, unknown: list[str]) -> bytes:
    return orjson.dumps({"version": version, "applied_at": applied_at, "unknown": unknown})


# -- headquarters → store --------------------------------------------------------------------


def ack_body(seq: int) -> bytes:
    return orjson.dumps({"seq": seq})


def parse_ack(payload: bytes) -> int:
    """`{"seq": N}` → N (N ≥ 0)."""
    body = _object(payload)
    seq = body.get("seq")
    if not _whole(seq) or seq < 0:
        raise WireError("an ack needs a whole seq of 0 or more")
    return int(seq)


@dataclass(frozen=True, slots=True)
class MenuLine:
    """One dish of a menu cfg, matched by name (case-insensitive); None leaves it as is."""

    name: str
    price_cents: int | None
    available: bool | None


@dataclass(frozen=True, slots=True)
class MenuCfg:
    version: int
    items: tuple[MenuLine, ...]


@dataclass(frozen=True, slots=True)
class SettingsCfg:
    version: int
    changes: dict[str, Any]
    """A partial settings object, as `PATCH /api/settings` takes it (checked by the store)."""


def parse_version(payload: bytes) -> int:
    """The `version` of a cfg body, checked before anything else is (an older one is
    ignored without being read further)."""
    version = _object(payload).get("version")
    if not _whole(version) or version < 0:
        raise WireError("a cfg needs a whole version of 0 or more")
    return int(version)


def parse_cfg(kind: str, payload: bytes) -> MenuCfg | SettingsCfg:
    body = _object(payload)
    version = parse_version(payload)
    if kind == "settings":
        return SettingsCfg(version, {key: value for key, value in body.items() if key != "version"})
    if kind != "menu":
        raise WireError(f"unknown cfg kind {kind!r} (known: {', '.join(CFG_KINDS)})")
    items = body.get("items")
    if not isinstance(items, list):
        raise WireError("a menu cfg needs items: a list of {name, price?, available?}")
    lines = tuple(_menu_line(n, item) for n, item in enumerate(items))
    names = [line.name.casefold() for line in lines]
    twice = sorted({line.name for line in lines if names.count(line.name.casefold()) > 1})
    if twice:
        raise WireError(f"items name {', '.join(twice)} more than once")
    return MenuCfg(version, lines)


def _menu_line(n: int, item: Any) -> MenuLine:
    if not isinstance(item, dict):
        raise WireError(f"items[{n}] is not an object")
    name, price, available = item.get("name"), item.get("price"), item.get("available")
    if not isinstance(name, str) or not name.strip():
        raise WireError(f"items[{n}].name must be a non-empty string")
    cents = None
    if price is not None:
        if isinstance(price, bool) or not isinstance(price, int | float) or not math.isfinite(price):
            raise WireError(f"items[{n}].price must be a number")
        if not 0 <= price <= MAX_PRICE or abs(price * 100 - round(price * 100)) > 1e-6:
            raise WireError(f"items[{n}].price must be 0 to {MAX_PRICE} with at most two decimals")
        cents = round(price * 100)
    if available is not None and not isinstance(available, bool):
        raise WireError(f"items[{n}].available must be true or false")
    return MenuLine(name.strip(), cents, available)


def _object(payload: bytes) -> dict[str, Any]:
    try:
        body = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise WireError(f"not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise WireError("the body must be a JSON object")
    return body


def _whole(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)
