"""The live hub (SPEC section 7): topics with sequence numbers, snapshots, resume, and
bounded per-connection queues.

Actors publish committed changes from their threads with `publish_threadsafe`; the
changes cross into the event loop in batches (one `call_soon_threadsafe` per burst,
not per change) and fan out to subscribers there. Every message is encoded once; a
multiplexed subscription only has its `"id"` spliced in front.

A new subscription starts buffering *before* it asks the owning actor for a snapshot.
Any change published before that moment is in the snapshot (the actor changed its
state before publishing); any change after it is in the buffer, sent after the
snapshot in order. The snapshot message carries the topic's `seq` at that moment, so
`since=` resumes from it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from robodine_edge.metrics import Metrics
from robodine_edge.types import Principal, Role

log = logging.getLogger(__name__)

TOPIC_KEYS: dict[str, str] = {
    "robots": "robot_id",
    "tables": "id",
    "customers": "id",
    "orders": "id",
    "inventory": "id",
    "events": "id",
    "notifications": "id",
    "commands": "id",
    "video_streams": "camera_id",
    "telemetry": "robot_id",
}
KIOSK_TOPICS = frozenset({"orders", "notifications"})
REPLAY = 2000
QUEUE_CAP = 1000
SLOW_CLIENT_S = 5.0

Snapshot = Callable[[str, Principal], Awaitable[list[dict[str, Any]]]]


@dataclass(frozen=True, slots=True)
class Message:
    topic: str
    seq: int
    kind: str
    key: Any
    data: Any
    text: str
    """The whole message as JSON text, without a subscription id."""

    def for_subscription(self, sub_id: int | None) -> str:
        return self.text if sub_id is None else '{"id":' + str(sub_id) + "," + self.text[1:]


def encode(topic: str, seq: int, kind: str, data: Any) -> str:
    return orjson.dumps({"topic": topic, "seq": seq, "type": kind, "data": data}).decode()


class TopicLog:
    """One topic's sequence number and the last `REPLAY` messages. Event loop only."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.seq = 0
        self.replay: deque[Message] = deque(maxlen=REPLAY)

    def append(self, kind: str, data: Any) -> Message:
        self.seq += 1
        key = data.get(TOPIC_KEYS[self.name]) if isinstance(data, dict) else None
        message = Message(self.name, self.seq, kind, key, data, encode(self.name, self.seq, kind, data))
        self.replay.append(message)
        return message

    def since(self, seq: int) -> list[Message] | None:
        """Messages after `seq`, or None when some of them are no longer kept."""
        if seq > self.seq or seq < 0:
            return None
        if seq == self.seq:
            return []
        if not self.replay or self.replay[0].seq > seq + 1:
            return None
        return [m for m in self.replay if m.seq > seq]


class OutboundQueue:
    """A connection's messages waiting to be sent. Event loop only.

    Bounded: past `cap`, a new upsert of an entity already waiting replaces it (the old
    one is dropped, the new one goes to the back, so `seq` still only grows).
    """

    def __init__(self, cap: int = QUEUE_CAP) -> None:
        self.cap = cap
        self._items: OrderedDict[int, tuple[Any, str]] = OrderedDict()
        self._by_key: dict[Any, int] = {}
        self._counter = 0
        self._ready = asyncio.Event()
        self.over_since: float | None = None
        self.coalesced = 0

    def __len__(self) -> int:
        return len(self._items)

    def put(self, text: str, key: Any = None) -> None:
        if key is not None and len(self._items) >= self.cap and key in self._by_key:
            del self._items[self._by_key.pop(key)]
            self.coalesced += 1
        self._counter += 1
        self._items[self._counter] = (key, text)
        if key is not None:
            self._by_key[key] = self._counter
        if len(self._items) >= self.cap and self.over_since is None:
            self.over_since = time.monotonic()
        self._ready.set()

    async def get(self) -> str:
        while not self._items:
            self._ready.clear()
            await self._ready.wait()
        number, (key, text) = self._items.popitem(last=False)
        if key is not None and self._by_key.get(key) == number:
            del self._by_key[key]
        if len(self._items) < self.cap:
            self.over_since = None
        return text


@dataclass(eq=False)
class Connection:
    """One WebSocket client: who it is, its queue, its subscriptions. Event loop only."""

    ws: Any
    principal: Principal
    queue: OutboundQueue = field(default_factory=OutboundQueue)
    subscriptions: dict[int | None, Subscription] = field(default_factory=dict)
    closed: bool = False

    async def pump(self, metrics: Metrics) -> None:
        """Send what is queued, in order, until the socket closes."""
        while not self.closed:
            text = await self.queue.get()
            await self.ws.send(text)
            metrics.ws_messages.inc()

    def send_now(self, text: str) -> None:
        """Replies to commands go through the same queue, so order is kept."""
        self.queue.put(text)


@dataclass(eq=False)
class Subscription:
    connection: Connection
    topic: str
    sub_id: int | None
    buffer: list[Message] | None = field(default_factory=list)

    def wants(self, message: Message) -> bool:
        principal = self.connection.principal
        data = message.data
        if self.topic == "notifications":
            return isinstance(data, dict) and data.get("user_id") == principal.user_id
        if self.topic == "orders" and principal.role is Role.KIOSK:
            return isinstance(data, dict) and data.get("table_id") == principal.table_id
        return True

    def deliver(self, message: Message) -> None:
        if self.buffer is not None:
            self.buffer.append(message)
            return
        key = (
            (self.sub_id, message.topic, message.key) if message.kind == "upsert" and message.key is not None else None
        )
        self.connection.queue.put(_strip(message).for_subscription(self.sub_id), key)


def _strip(message: Message) -> Message:
    """Notifications carry their owner for routing; the owner does not need it back."""
    if message.topic != "notifications" or not isinstance(message.data, dict) or "user_id" not in message.data:
        return message
    data = {k: v for k, v in message.data.items() if k != "user_id"}
    return Message(
        message.topic,
        message.seq,
        message.kind,
        message.key,
        data,
        encode(message.topic, message.seq, message.kind, data),
    )


class Hub:
    """Topics and their subscribers. `publish_threadsafe` from any thread; the rest on the loop."""

    def __init__(self, metrics: Metrics) -> None:
        self._snapshot: Snapshot | None = None
        self._metrics = metrics
        self.topics = {name: TopicLog(name) for name in TOPIC_KEYS}
        self._subscribers: dict[str, set[Subscription]] = {name: set() for name in TOPIC_KEYS}
        self.connections: set[Connection] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: deque[tuple[str, str, Any]] = deque()
        self._lock = threading.Lock()
        self._scheduled = False

    def attach(self, loop: asyncio.AbstractEventLoop, snapshot: Snapshot) -> None:
        """Start delivering: changes published from now on reach subscribers on `loop`."""
        self._snapshot = snapshot
        self._loop = loop

    # -- publishing ----------------------------------------------------------------------

    def publish_threadsafe(self, topic: str, kind: str, data: Any) -> None:
        """Any thread: queue a committed change; the loop is woken once per burst."""
        loop = self._loop
        if loop is None or topic not in TOPIC_KEYS:
            return
        with self._lock:
            self._pending.append((topic, kind, data))
            if self._scheduled:
                return
            self._scheduled = True
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody is listening any more
            loop.call_soon_threadsafe(self._drain)

    def _drain(self) -> None:
        with self._lock:
            batch, self._pending = self._pending, deque()
            self._scheduled = False
        for topic, kind, data in batch:
            self.publish(topic, kind, data)

    def publish(self, topic: str, kind: str, data: Any) -> Message:
        """Event loop: number the change and hand it to every subscriber that may see it."""
        message = self.topics[topic].append(kind, data)
        for subscription in self._subscribers[topic]:
            if subscription.wants(message):
                subscription.deliver(message)
        return message

    # -- subscribing --------------------------------------------------------------------------

    async def subscribe(
        self, connection: Connection, topic: str, sub_id: int | None, since: int | None
    ) -> Subscription:
        """Start a subscription: the missed messages after `since` if still kept, else a
        snapshot followed by everything published while it was taken."""
        subscription = Subscription(connection, topic, sub_id)
        self._subscribers[topic].add(subscription)
        connection.subscriptions[sub_id] = subscription
        history = self.topics[topic]
        missed = history.since(since) if since is not None else None
        if missed is not None:
            buffered, subscription.buffer = [m for m in missed if subscription.wants(m)], None
            for message in buffered:
                subscription.deliver(message)
            return subscription
        at = history.seq
        assert self._snapshot is not None, "the hub is not attached to a loop yet"
        try:
            data = await self._snapshot(topic, connection.principal)
        except Exception:
            self.unsubscribe(subscription)
            raise
        snapshot = encode(topic, at, "snapshot", data)
        connection.queue.put(snapshot if sub_id is None else '{"id":' + str(sub_id) + "," + snapshot[1:])
        buffered, subscription.buffer = subscription.buffer or [], None
        for message in buffered:
            subscription.deliver(message)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscribers[subscription.topic].discard(subscription)
        subscription.connection.subscriptions.pop(subscription.sub_id, None)

    # -- connections ------------------------------------------------------------------------

    def connect(self, connection: Connection) -> None:
        self.connections.add(connection)
        self._metrics.ws_clients.set(len(self.connections))

    def disconnect(self, connection: Connection) -> None:
        connection.closed = True
        for subscription in list(connection.subscriptions.values()):
            self.unsubscribe(subscription)
        self.connections.discard(connection)
        self._metrics.ws_clients.set(len(self.connections))

    def close_tokens(self, token_ids: set[str], code: int = 4401) -> None:
        """Close the sockets opened with these (now revoked) tokens."""
        for connection in list(self.connections):
            if connection.principal.token_id in token_ids:
                _fail(connection, code, "token revoked")

    def close_all(self, code: int = 1001, reason: str = "service stopping") -> None:
        for connection in list(self.connections):
            _fail(connection, code, reason)

    def slow_clients(self) -> list[Connection]:
        """Connections over their queue cap for longer than `SLOW_CLIENT_S`."""
        now = time.monotonic()
        return [
            c for c in self.connections if c.queue.over_since is not None and now - c.queue.over_since > SLOW_CLIENT_S
        ]

    async def watch_slow_clients(self, interval: float = 0.5) -> None:
        """Close (1013) any client that stays over its cap for 5 s; the others never wait."""
        while True:
            await asyncio.sleep(interval)
            for connection in self.slow_clients():
                log.warning("closing a WebSocket client that does not keep up (%d queued)", len(connection.queue))
                self._metrics.ws_slow_closed.inc()
                _fail(connection, 1013, "too slow: messages were piling up")


def _fail(connection: Connection, code: int, reason: str) -> None:
    connection.closed = True
    try:
        connection.ws.fail_connection(code, reason)
    except Exception:  # the socket is already gone
        log.debug("closing a WebSocket that is already closed", exc_info=True)
