"""The live hub (docs/API.md, "WebSocket"): topics with sequence numbers, snapshots, resume, and
bounded per-connection queues.

Actors publish committed changes from their threads with `publish_threadsafe`; the
changes cross into the event loop in batches (one `call_soon_threadsafe` per burst,
not per change) and fan out to subscribers there. Every message is encoded and framed
once (`wsframe`); a multiplexed subscription only has its `"id"` spliced in front.

Sending is not a task per socket: a connection given a message joins the connections
flushed at the end of the loop turn (one callback for all, `EndOfTurn`), where each
writes what it has queued to its transport in one `write` without awaiting (up to the
transport's 64 KiB high-water mark; the rest stays queued, where it can still coalesce).
Only a client whose transport is backed up past `HIGH_WATER` waits (a small task, woken
by the transport's own flow control when it has drained), its messages held in its
bounded queue, where coalescing and the 5-second slow-client rule apply.

Each topic is one numbered stream, except for subscribers who may see only their own
part of it — a user's notifications, a kiosk's table's orders: those parts are streams
of their own (`stream_key`, made on the audience's first subscription), numbered apart,
so a subscriber's `seq` never skips.

A new subscription starts buffering *before* it asks the owning actor for a snapshot.
Any change published before that moment is in the snapshot (the actor changed its
state before publishing); any change after it is in the buffer, sent after the
snapshot in order. The snapshot message carries its stream's `seq` at that moment, so
`since=` resumes from it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
import weakref
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sanic import Websocket
from websockets.protocol import State

from robodine_edge.http.outbound import QUEUE_CAP, OutboundQueue
from robodine_edge.http.topics import (
    AUDIENCE,
    AUDIENCE_REPLAY,
    TOPIC_KEYS,
    Message,
    TopicLog,
    check_topic,
    encode,
    with_id,
)
from robodine_edge.http.wsframe import text_frame
from robodine_edge.process.metrics import Metrics
from robodine_edge.threads.loop_thread import LoopThread
from robodine_edge.types import Change, Principal, Role, Topic

log = logging.getLogger(__name__)

QUEUE_LIMIT = 4 * QUEUE_CAP
"""What cannot coalesce (new entities, deletes, replies) still queues past the cap; a
client this far behind is closed (1013) at once rather than after `SLOW_CLIENT_S`."""
SLOW_CLIENT_S = 5.0
CLOSE_GRACE_S = 30.0
"""How long a closed client may go on not reading and still get its close frame (then
the connection is aborted: a client that never reads holds it no longer)."""
HIGH_WATER = 64 * 1024
"""Bytes waiting in a transport above which a client is behind: stop writing to it
(asyncio's default high-water mark, at which the transport pauses its protocol)."""

Snapshot = Callable[[Topic, Principal], Awaitable[list[dict[str, Any]]]]


class EndOfTurn:
    """The connections of one event loop with frames queued in this turn, written
    together by one callback when the turn ends. Event loop only.

    A `call_soon` per connection cost a fan-out to 1,000 clients a thousand handles per
    message, and counting each connection's frames a thousand locked increments: here
    it is one handle and one increment per turn."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._due: list[Connection] = []

    def add(self, connection: Connection) -> None:
        """`connection` has frames to write: at the end of this turn (or of the next one,
        when added while this turn's are being written)."""
        if not self._due:
            self._loop.call_soon(self._flush)
        self._due.append(connection)

    def _flush(self) -> None:
        due, self._due = self._due, []
        written: dict[Metrics, int] = {}
        for connection in due:
            try:
                count = connection.write_queued()
            except Exception:  # one broken socket must not hold back every other client's frames
                log.exception("dropping a WebSocket client whose transport failed a write")
                connection.abort()
                continue
            if count and connection.metrics is not None:
                written[connection.metrics] = written.get(connection.metrics, 0) + count
        for metrics, count in written.items():
            metrics.ws_messages.inc(count)


_turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, EndOfTurn] = weakref.WeakKeyDictionary()


def end_of_turn(loop: asyncio.AbstractEventLoop) -> EndOfTurn:
    """The loop's `EndOfTurn` (made on its first connection's first frame; it goes with
    the loop)."""
    turn = _turns.get(loop)
    if turn is None:
        turn = _turns[loop] = EndOfTurn(loop)
    return turn


@dataclass(eq=False)
class Connection:
    """One WebSocket client: who it is, its queue, its subscriptions. Event loop only."""

    ws: Websocket
    principal: Principal
    metrics: Metrics | None = None
    queue: OutboundQueue = field(default_factory=OutboundQueue)
    subscriptions: dict[int | None, Subscription] = field(default_factory=dict)
    closed: bool = False
    _flush_due: bool = False
    _waiter: asyncio.Task[None] | None = None
    _end_of_turn: EndOfTurn | None = None
    _thread: LoopThread = field(default_factory=LoopThread, repr=False)
    """The loop's thread, where the connection is made (`loop_thread`)."""

    def put(self, frame: bytes, key: Any = None) -> None:
        """Queue a frame; it is written at the end of this loop turn."""
        self._thread.check(self, "put")
        if self.closed:
            return
        if self.queue.put(frame, key) > QUEUE_LIMIT:
            log.warning("closing a WebSocket client %d messages behind", len(self.queue))
            if self.metrics is not None:
                self.metrics.ws_slow_closed.inc()
            _fail(self, 1013, "too slow: messages were piling up")
            return
        if not self._flush_due:
            self._write_at_end_of_turn()

    def send_now(self, text: str) -> None:
        """Replies to commands go through the same queue, so order is kept."""
        self.put(text_frame(text.encode()))

    def flush(self) -> None:
        """Write what fits under the transport's high-water mark, in one go; the rest
        waits in the queue (where it can still coalesce) until the transport drains."""
        written = self.write_queued()
        if written and self.metrics is not None:
            self.metrics.ws_messages.inc(written)

    def write_queued(self) -> int:
        """`flush` without counting (the end of a turn counts every connection's at
        once): the number of frames written."""
        self._flush_due = False
        if self.closed or self._waiter is not None or not self.queue.size:
            return 0
        transport = self._open_transport()
        if transport is None:
            return 0
        room = HIGH_WATER - transport.get_write_buffer_size()
        if room <= 0:
            self._waiter = asyncio.get_running_loop().create_task(self._wait_for_room())
            return 0
        frames = self.queue.take(room)
        transport.write(frames[0] if len(frames) == 1 else b"".join(frames))
        if self.queue.size:  # more than fitted: on once the transport took it
            if transport.get_write_buffer_size() > HIGH_WATER:
                self._waiter = asyncio.get_running_loop().create_task(self._wait_for_room())
            else:
                self._write_at_end_of_turn()
        return len(frames)

    def _write_at_end_of_turn(self) -> None:
        self._flush_due = True
        turn = self._end_of_turn
        if turn is None:
            turn = self._end_of_turn = end_of_turn(asyncio.get_running_loop())
        turn.add(self)

    async def _wait_for_room(self) -> None:
        """Until the transport resumes writing (it paused its protocol past the high-water
        mark and resumes it below the low one): Sanic's protocol `send` waits for exactly
        that, and writing nothing sends nothing."""
        try:
            if self.ws.io_proto is not None:
                await self.ws.io_proto.send(b"")  # raises a CancelledError if the socket went away
        finally:
            self._waiter = None
        self.flush()

    def _open_transport(self) -> asyncio.Transport | None:
        """The socket's transport while frames may still be sent (not after a close frame)."""
        io_proto = getattr(self.ws, "io_proto", None)
        transport = getattr(io_proto, "transport", None)
        if transport is None or transport.is_closing() or self.ws.ws_proto.state is not State.OPEN:
            return None
        return transport  # type: ignore[no-any-return]

    def stop(self) -> None:
        """The socket is done: no more writes, and nothing held for it."""
        self._thread.check(self, "stop")
        self.closed = True
        self.queue.take_all()
        if self._waiter is not None:
            self._waiter.cancel()

    def abort(self) -> None:
        """The socket failed a write: it is cut at once (a close frame could not be sent
        either); Sanic's handler then ends and the hub forgets the connection."""
        self.stop()
        transport = getattr(getattr(self.ws, "io_proto", None), "transport", None)
        if transport is not None:
            transport.abort()


StreamKey = Topic | tuple[Topic, Any]
"""Which numbered stream a subscription follows: a topic, or (topic, audience) for one
that is a single audience's part of it (a user's notifications, a kiosk's table's orders)."""


def stream_key(topic: Topic, principal: Principal) -> StreamKey:
    """The stream `principal` is sent of `topic`: the audience's own when it may see
    only that part, so its `seq` still goes up by one per message it gets."""
    if topic == "notifications":
        return (topic, principal.user_id)
    if topic == "orders" and principal.role is Role.KIOSK:
        return (topic, principal.table_id)
    return topic


@dataclass(eq=False)
class Subscription:
    connection: Connection
    topic: Topic
    sub_id: int | None
    stream: StreamKey
    buffer: list[Message] | None = field(default_factory=list)

    def deliver(self, message: Message) -> None:
        if self.buffer is not None:
            self.buffer.append(message)
            return
        key = (
            (self.sub_id, message.topic, message.key) if message.kind == "upsert" and message.key is not None else None
        )
        self.connection.put(message.for_subscription(self.sub_id), key)


class Hub:
    """Topics and their subscribers. `publish_threadsafe` from any thread; the rest on the loop."""

    def __init__(self, metrics: Metrics) -> None:
        self._snapshot: Snapshot | None = None
        self._metrics = metrics
        self.topics: dict[Topic, TopicLog] = {name: TopicLog(name) for name in TOPIC_KEYS}
        """Every topic's whole stream (a user's notifications only have their own)."""
        self._audiences: dict[tuple[Topic, Any], TopicLog] = {}
        """Each audience's part of an `AUDIENCE` topic, numbered on its own; made when the
        audience first subscribes, kept from then on (bounded: a user, a kiosk's table)."""
        self._subscribers: defaultdict[StreamKey, set[Subscription]] = defaultdict(set)
        self._seq_base = 0
        self.connections: set[Connection] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: deque[tuple[Topic, Change, Any]] = deque()
        self._lock = threading.Lock()
        self._scheduled = False
        self._taps: dict[Topic, list[Callable[[Change, Any], None]]] = {}
        self._thread: LoopThread | None = None
        """The loop's thread, from `attach` on: loop-only methods check they run there."""

    def replay_bytes(self) -> int:
        """Memory the replay buffers hold, every topic's and every audience's. Loop only
        (`/metrics`)."""
        return sum(log.kept_bytes for log in self.topics.values()) + sum(
            log.kept_bytes for log in self._audiences.values()
        )

    def number_from(self, base: int) -> None:
        """Main thread, at start, before anything is published: every stream of this
        process counts on from `base`, above any `seq` an earlier run gave out, so a
        `since=` kept from before a restart never names a message of this run (it gets a
        fresh snapshot, instead of a "replay" of the new run's messages that skips some)."""
        self._seq_base = base
        for topic_log in self.topics.values():
            topic_log.seq = base

    def attach(self, loop: asyncio.AbstractEventLoop, snapshot: Snapshot) -> None:
        """Start delivering: changes published from now on reach subscribers on `loop`."""
        self._snapshot = snapshot
        self._loop = loop
        self._thread = LoopThread()

    # -- publishing ----------------------------------------------------------------------

    def publish_threadsafe(self, topic: Topic, kind: Change, data: Any) -> None:
        """Any thread: queue a committed change; the loop is woken once per burst. An
        unknown topic raises `UnknownTopic` in the publisher, attached or not."""
        check_topic(topic)
        loop = self._loop
        if loop is None:
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

    def _on_loop(self, what: str) -> None:
        if self._thread is not None:
            self._thread.check(self, what)

    def tap(self, topic: Topic, listener: Callable[[Change, Any], None]) -> None:
        """Event loop: `listener(kind, data)` hears every change of `topic` as it is
        published (the federation relay follows `robots` so)."""
        self._on_loop("tap")
        self._taps.setdefault(topic, []).append(listener)

    def publish(self, topic: Topic, kind: Change, data: Any) -> None:
        """Event loop: number the change in its topic's stream (and in its audience's) and
        hand it to every subscription of those streams. An unknown topic raises `UnknownTopic`."""
        self._on_loop("publish")
        check_topic(topic)
        for listener in self._taps.get(topic, ()):
            listener(kind, data)
        if topic != "notifications":  # nobody follows every user's notifications
            self._deliver(topic, self.topics[topic].append(kind, data))
        audience = data.get(AUDIENCE[topic]) if topic in AUDIENCE and isinstance(data, dict) else None
        part = self._audiences.get((topic, audience)) if audience is not None else None
        if part is not None:
            self._deliver((topic, audience), part.append(kind, data))

    def _deliver(self, stream: StreamKey, message: Message) -> None:
        for subscription in self._subscribers.get(stream, ()):
            subscription.deliver(message)

    def stream(self, key: StreamKey) -> TopicLog:
        """The numbered log a subscription of `key` follows; an audience's is made on
        its first subscription (no one else reads it: nothing is kept before)."""
        if isinstance(key, str):
            return self.topics[key]
        part = self._audiences.get(key)
        if part is None:
            part = self._audiences[key] = TopicLog(key[0], AUDIENCE_REPLAY, self._seq_base)
        return part

    # -- subscribing --------------------------------------------------------------------------

    async def subscribe(
        self, connection: Connection, topic: Topic, sub_id: int | None, since: int | None
    ) -> Subscription:
        """Start a subscription: the missed messages after `since` if still kept, else a
        snapshot followed by everything published while it was taken."""
        self._on_loop("subscribe")
        key = stream_key(topic, connection.principal)
        subscription = Subscription(connection, topic, sub_id, key)
        self._subscribers[key].add(subscription)
        connection.subscriptions[sub_id] = subscription
        history = self.stream(key)
        missed = history.since(since) if since is not None else None
        if missed is not None:
            subscription.buffer = None
            for message in missed:
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
        connection.put(text_frame(snapshot if sub_id is None else with_id(sub_id, snapshot)))
        buffered, subscription.buffer = subscription.buffer or [], None
        for message in buffered:
            subscription.deliver(message)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._on_loop("unsubscribe")
        followers = self._subscribers.get(subscription.stream)
        if followers is not None:
            followers.discard(subscription)
            if not followers and not isinstance(subscription.stream, str):
                del self._subscribers[subscription.stream]
        subscription.connection.subscriptions.pop(subscription.sub_id, None)

    # -- connections ------------------------------------------------------------------------

    def connect(self, connection: Connection) -> None:
        self._on_loop("connect")
        self.connections.add(connection)
        self._metrics.ws_clients.set(len(self.connections))

    def disconnect(self, connection: Connection) -> None:
        self._on_loop("disconnect")
        connection.stop()
        for subscription in list(connection.subscriptions.values()):
            self.unsubscribe(subscription)
        self.connections.discard(connection)
        self._metrics.ws_clients.set(len(self.connections))

    def close_tokens(self, token_ids: set[str], code: int = 4401) -> None:
        """Close the sockets opened with these (now revoked) tokens."""
        self._on_loop("close_tokens")
        for connection in list(self.connections):
            if connection.principal.token_id in token_ids:
                _fail(connection, code, "token revoked")

    def close_all(self, code: int = 1001, reason: str = "service stopping") -> None:
        self._on_loop("close_all")
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
    """Close with `code` now, without waiting for the client: a lingering close.

    The close frame goes behind what the socket already holds (the transport's buffer,
    the kernel's), which a slow client may not read for a while. Sanic's
    `fail_connection` stops reading and has its closing handshake abort the connection
    if it is still open after 10 s; an abort throws away everything unsent, the close
    frame included, and so does closing a socket with unread input (the kernel answers
    with a reset): a client that drained later, or whose keep-alive ping came in
    meanwhile, found its connection cut without a word. So the hub fails the protocol
    itself (websockets discards whatever the client sends from then on), writes the
    close frame and a FIN behind the queued bytes, keeps reading, and leaves the
    connection to end when the client closes its side (having read it all) — or aborts
    it after `CLOSE_GRACE_S`, so a client that never reads holds it no longer."""
    if connection.closed:
        return  # already closed: its close frame is on its way
    connection.stop()
    transport = connection._open_transport()
    if transport is None:  # the socket is already closing: nothing more can be sent
        with contextlib.suppress(Exception):
            connection.ws.fail_connection(code, reason)
        return
    ws_proto = connection.ws.ws_proto
    ws_proto.fail(code, reason)
    transport.write(b"".join(ws_proto.data_to_send()))
    if transport.can_write_eof():
        transport.write_eof()
    transport.resume_reading()  # Sanic may have paused it (its incoming queue full)
    asyncio.get_running_loop().call_later(CLOSE_GRACE_S, transport.abort)
