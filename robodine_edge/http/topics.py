"""The live hub's topics (docs/API.md, "WebSocket"): what each publishes, and its numbered log.

A published change is kept as a `Message`: the bytes of its WebSocket text frame,
encoded once, and the few facts needed to route it (its entity's key, its audience).
A `TopicLog` numbers a topic's messages and keeps the last `REPLAY` of them for
`since=` resumes. Event loop only, like the hub (robodine_edge/http/hub.py).
"""

from __future__ import annotations

import sys
from collections import deque
from dataclasses import dataclass
from typing import Any, Literal, TypeGuard

import orjson

from robodine_edge.http.wsframe import text_frame
from robodine_edge.types import Change, Topic

TOPIC_KEYS: dict[Topic, str] = {
    "robots": "robot_id",
    "tables": "id",
    "customers": "id",
    "orders": "id",
    "inventory": "id",
    "menu": "id",
    "events": "id",
    "notifications": "id",
    "commands": "id",
    "video_streams": "camera_id",
    "telemetry": "robot_id",
    "emergencies": "id",
}
"""Each topic's entity key: a waiting upsert of the same entity is replaced."""
KIOSK_TOPICS: frozenset[Topic] = frozenset({"orders", "notifications", "menu", "emergencies"})
"""What a table's tablet may follow: its table's orders, its own notifications, the menu
(which dishes can be ordered now) and whether the robots are paused (read only:
declaring an emergency is staff's)."""
AUDIENCE: dict[Topic, str] = {"notifications": "user_id", "orders": "table_id"}
"""The field that says who may receive a message of the topic (its user, a kiosk's table)."""
ROUTING_ONLY: frozenset[Topic] = frozenset({"notifications"})
"""Topics whose audience field is for routing only and is not sent."""
KEEP_LATEST: frozenset[Topic] = frozenset({"telemetry"})
"""Topics whose snapshot is the latest message of each entity, held here: their owner
(the telemetry endpoint, on the loop) keeps no other copy at full rate, and publishes
an entity's `delete` when it goes (a robot's link), which drops it here."""
REPLAY = 2000
AUDIENCE_REPLAY = 1000
"""Messages kept per audience stream (one per user, one per table): the documented 1,000."""
Kind = Change | Literal["snapshot"]
"""A message's `type` on the wire."""


class UnknownTopic(ValueError):
    """A publisher named a topic the hub does not have: a bug, refused loudly (it was
    dropped without a word, so a misspelt topic looked like a quiet one)."""


def is_topic(name: str) -> TypeGuard[Topic]:
    """Whether a name a client sent (or a publisher passed) is one of the topics."""
    return name in TOPIC_KEYS


def check_topic(name: str) -> Topic:
    if not is_topic(name):
        raise UnknownTopic(f"no topic {name!r}; the topics are {', '.join(TOPIC_KEYS)}")
    return name


@dataclass(slots=True)
class Message:
    """A published change, kept (2000 a topic) only as bytes and the facts to route it:
    the replay buffers hold no nested dicts for the garbage collector to walk.

    Never changed once made, but not `frozen`: a frozen dataclass sets each field through
    `object.__setattr__`, which made building one 12k instructions instead of 3k, for
    every message published (the `telemetry` topic carries every datagram)."""

    topic: Topic
    seq: int
    kind: Change
    key: Any
    """The entity's id (`TOPIC_KEYS`): a waiting upsert of the same entity is replaced."""
    audience: Any
    """The `AUDIENCE` field's value, if the topic has one."""
    frame: bytes
    """The whole message (without a subscription id) as a WebSocket text frame."""
    header: int
    """Where the JSON starts in `frame`."""

    @property
    def payload(self) -> bytes:
        return self.frame[self.header :]

    def for_subscription(self, sub_id: int | None) -> bytes:
        """The frame this subscription is sent."""
        return self.frame if sub_id is None else text_frame(with_id(sub_id, self.payload))


def encode(topic: Topic, seq: int, kind: Kind, data: Any) -> bytes:
    return orjson.dumps({"topic": topic, "seq": seq, "type": kind, "data": data})


def with_id(sub_id: int, payload: bytes) -> bytes:
    """A multiplexed subscription's messages start with its id."""
    return b'{"id":' + str(sub_id).encode() + b"," + payload[1:]


def make_message(topic: Topic, seq: int, kind: Change, data: Any) -> Message:
    key = audience = None
    if isinstance(data, dict):
        key = data.get(TOPIC_KEYS[topic])
        if topic in AUDIENCE:
            audience = data.get(AUDIENCE[topic])
            if topic in ROUTING_ONLY:
                data = {k: v for k, v in data.items() if k != AUDIENCE[topic]}
    payload = encode(topic, seq, kind, data)
    frame = text_frame(payload)  # a right-sized copy: orjson's own buffer is >= 4 KiB
    return Message(topic, seq, kind, key, audience, frame, len(frame) - len(payload))


class TopicLog:
    """One topic's sequence number and the last `REPLAY` messages. Event loop only."""

    def __init__(self, name: Topic, replay: int = REPLAY, first_seq: int = 0) -> None:
        self.name = name
        self.seq = first_seq
        """The last message's number (`first_seq` before any: see `Hub.number_from`)."""
        self.replay: deque[Message] = deque(maxlen=replay)
        self.latest: dict[Any, Any] | None = {} if name in KEEP_LATEST else None
        self.kept_bytes = 0
        """Memory the replay buffer holds (each message and its frame): it grows until the
        buffer is full, which a quiet topic takes hours to be (`/metrics`)."""

    def append(self, kind: Change, data: Any) -> Message:
        self.seq += 1
        appended = make_message(self.name, self.seq, kind, data)
        if len(self.replay) == self.replay.maxlen:
            self.kept_bytes -= _size(self.replay[0])  # the oldest leaves as this one comes
        self.replay.append(appended)
        self.kept_bytes += _size(appended)
        if self.latest is not None and appended.key is not None:
            if kind == "delete":
                self.latest.pop(appended.key, None)
            else:
                self.latest[appended.key] = data
        return appended

    def since(self, seq: int) -> list[Message] | None:
        """Messages after `seq`, or None when some of them are no longer kept."""
        if seq > self.seq or seq < 0:
            return None
        if seq == self.seq:
            return []
        if not self.replay or self.replay[0].seq > seq + 1:
            return None
        return [m for m in self.replay if m.seq > seq]


def _size(message: Message) -> int:
    return sys.getsizeof(message) + sys.getsizeof(message.frame)
