"""One connection to the broker, from CONNACK until it drops (or the service stops).

In order: subscribe to `ack` and both `cfg` topics; wait briefly for the retained `ack`
(so a replay starts where headquarters is, not where this store last heard); publish
the retained `status` (online), any `cfg-ack` owed and every robot's state; then run,
side by side until the connection drops:

* the reader: `ack`s move the watermark, `cfg`s queue for the desired-state worker;
* the live stream: events committed since the connection, as they come;
* the replay: what headquarters has not acknowledged, oldest first, rate-limited and
  at most a window past its `ack` (`streams.Streams`);
* the robots: each robot's latest view, at most once a second (`robot_states`);
* the stall check: a replay again when the `ack` stops moving (`Streams.check_stalled`).

Every QoS 1 publish holds one of `MAX_INFLIGHT` slots until its PUBACK, so at most that
many are in flight; a publish not acknowledged within its timeout ends the connection.
Each stream hands its publishes to the client in seq order. Event loop only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, ParamSpec, TypeVar

import aiomqtt
import orjson

from robodine_edge import __version__
from robodine_edge.clock import to_iso, utcnow
from robodine_edge.data import federation as data
from robodine_edge.federation.broker import MAX_INFLIGHT
from robodine_edge.federation.pacing import TokenBucket
from robodine_edge.protocol import mqtt as wire
from robodine_edge.threads import bridge

if TYPE_CHECKING:
    from robodine_edge.federation.relay import Relay

log = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")
ACK_GRACE_S = 0.5
READ_BATCH = 100
READ_TIMEOUT_S = 10.0
STALL_CHECK_S = 1.0


class ConnectionLost(Exception):
    """The session ended because the broker went away (or stopped answering)."""


class Session:
    def __init__(self, relay: Relay, client: aiomqtt.Client) -> None:
        self._relay = relay
        self._client = client
        self._settings = relay.context.broker
        self._slots = asyncio.Semaphore(MAX_INFLIGHT)
        self._group: asyncio.TaskGroup | None = None
        self._cfg: asyncio.Queue[tuple[str, str, bytes]] = asyncio.Queue()
        self.first_ack = asyncio.Event()
        self.live_wake = asyncio.Event()
        self.replay_wake = asyncio.Event()
        self.robots_wake = asyncio.Event()
        self.publish_timeout_s = 2.0 * self._settings.keepalive_s + 5.0

    async def run(self) -> None:
        """Until the connection drops: raises `ConnectionLost` (or CancelledError at stop)."""
        try:
            async with asyncio.TaskGroup() as group:
                self._group = group
                await self._subscribe()
                group.create_task(self._read())
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(ACK_GRACE_S):
                        await self.first_ack.wait()
                await self._greet()
                for loop in (self._live, self._replay, self._robots, self._stalls, self._take_cfg):
                    group.create_task(loop())
        except BaseExceptionGroup as group:
            lost = _first(group, aiomqtt.MqttError)
            if lost is None:
                raise
            raise ConnectionLost(str(lost)) from None
        finally:
            self._group = None

    async def goodbye(self) -> None:
        """A clean stop: the retained `status` says offline before the disconnect (the
        broker discards the will on a clean disconnect)."""
        body = wire.status_offline(self._relay.boot_id, to_iso(utcnow()))
        await self._client.publish(self._topic_status, body, qos=1, retain=True, timeout=self.publish_timeout_s)

    # -- start of a connection -------------------------------------------------------------

    @property
    def _topic_status(self) -> str:
        return wire.status_topic(self._settings.chain, self._settings.store)

    async def _subscribe(self) -> None:
        chain, store = self._settings.chain, self._settings.store
        topics = [
            (wire.ack_topic(chain, store), 1),
            (wire.cfg_topic(chain, store, "+"), 1),
            (wire.cfg_topic(chain, wire.ALL_STORES, "+"), 1),
        ]
        await self._client.subscribe(topics)

    async def _greet(self) -> None:
        relay = self._relay
        head = await self._read_db(data.head_seq)
        relay.streams.saw(head)
        relay.streams.connected(time.monotonic())
        relay.report_backlog()
        status = wire.status_online(__version__, relay.boot_id, relay.streams.backlog, to_iso(utcnow()))
        await self._send(self._topic_status, status, retain=True)
        for kind, body in sorted(relay.cfg_acks.items()):
            await self._send(
                wire.cfg_ack_topic(self._settings.chain, self._settings.store, kind), orjson.dumps(body), retain=True
            )
        try:
            robots = await bridge.wait(relay.context.fleet.proxy.list_robots(), relay.context.actors.timeout_s)
        except Exception as exc:  # the fleet restarting: robots are sent as they change
            log.warning("robot states not resent on connecting: %s", exc)
            robots = []
        for robot in robots:
            relay.robots.changed("upsert", robot)
        relay.robots.everything()
        log.info(
            "federation connected to %s as %s (backlog %d, acknowledged up to seq %d)",
            self._settings.address, self._settings.client_id, relay.streams.backlog, relay.streams.acked,
        )  # fmt: skip

    # -- the tasks ------------------------------------------------------------------------------

    async def _read(self) -> None:
        async for message in self._client.messages:
            topic = wire.parse_topic(str(message.topic))
            raw: object = message.payload  # typed bytes, handed over as a bytearray too
            payload = bytes(raw) if isinstance(raw, bytes | bytearray) else str(raw or "").encode()
            if topic is None or not payload:
                continue  # a cleared retained message, or not ours
            if topic.channel == "ack":
                try:
                    self._relay.acknowledged(wire.parse_ack(payload))
                except wire.WireError as exc:
                    log.warning("ignored an ack from headquarters: %s", exc)
                self.first_ack.set()
            elif topic.channel == "cfg":
                scope = "all" if topic.store == wire.ALL_STORES else "store"
                self._cfg.put_nowait((scope, topic.rest, payload))
        raise aiomqtt.MqttError("the broker closed the connection")

    async def _take_cfg(self) -> None:
        chain, store = self._settings.chain, self._settings.store
        while True:
            scope, kind, payload = await self._cfg.get()
            ack = await self._relay.desired.take(scope, kind, payload)
            if ack is not None:
                self._relay.cfg_acks[kind] = ack
                await self._send(wire.cfg_ack_topic(chain, store, kind), orjson.dumps(ack), retain=True)

    async def _live(self) -> None:
        streams, store = self._relay.streams, self._settings.store
        while True:
            self.live_wake.clear()
            rows = await self._read_db(data.pending, streams.live_sent, None, READ_BATCH, store)
            for row in rows:
                await self._send(wire.evt_topic(self._settings.chain, store, row.type), row.body)
                streams.sent_live(row.seq)
            self._relay.report_backlog()
            if len(rows) < READ_BATCH:
                await self.live_wake.wait()

    async def _replay(self) -> None:
        streams, store = self._relay.streams, self._settings.store
        rate = self._relay.context.replay_per_s
        bucket = TokenBucket(rate=rate, burst=max(1.0, min(rate, READ_BATCH)))
        while True:
            span = streams.replay_range()
            if span is None:
                self.replay_wake.clear()
                await self.replay_wake.wait()
                continue
            now = time.monotonic()
            allowed = bucket.take(now, min(READ_BATCH, span[1] - span[0]))
            if not allowed:
                await asyncio.sleep(bucket.wait_s(now))
                continue
            rows = await self._read_db(data.pending, span[0], span[1], allowed, store)
            if not rows:  # nothing there (the log never has gaps): the span is done
                streams.replayed(span[1])
            for row in rows:
                if streams.replay_range() is None or row.seq < streams.replay_next:
                    break  # an ack moved past it meanwhile
                await self._send(wire.evt_topic(self._settings.chain, store, row.type), row.body)
                streams.replayed(row.seq)

    async def _robots(self) -> None:
        robots, chain, store = self._relay.robots, self._settings.chain, self._settings.store
        while True:
            self.robots_wake.clear()
            for robot_id, body in robots.take_due(time.monotonic()):
                await self._send(wire.robot_topic(chain, store, robot_id), body, retain=True)
            delay = robots.next_due_s(time.monotonic())
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self.robots_wake.wait()

    async def _stalls(self) -> None:
        while True:
            await asyncio.sleep(STALL_CHECK_S)
            if self._relay.streams.check_stalled(time.monotonic()):
                log.info("no ack for a while: resending from seq %d", self._relay.streams.acked + 1)
                self.replay_wake.set()

    # -- helpers ---------------------------------------------------------------------------------

    async def _send(self, topic: str, body: bytes, *, retain: bool = False) -> None:
        """Hand one QoS 1 publish to the client, waiting for a free in-flight slot; its
        PUBACK is awaited by a task of its own (so up to `MAX_INFLIGHT` overlap)."""
        await self._slots.acquire()
        assert self._group is not None
        self._relay.inflight(+1)
        try:
            self._group.create_task(self._publish(topic, body, retain))
        except BaseException:
            self._slots.release()
            self._relay.inflight(-1)
            raise

    async def _publish(self, topic: str, body: bytes, retain: bool) -> None:
        try:
            await self._client.publish(topic, body, qos=1, retain=retain, timeout=self.publish_timeout_s)
        finally:
            self._slots.release()
            self._relay.inflight(-1)
        self._relay.published()

    async def _read_db(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        return await bridge.wait(self._relay.context.reads.submit(fn, *args, **kwargs), READ_TIMEOUT_S)


def _first(group: BaseExceptionGroup, kind: type[BaseException]) -> BaseException | None:
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            found = _first(exc, kind)
            if found is not None:
                return found
        elif isinstance(exc, kind):
            return exc
    return None
