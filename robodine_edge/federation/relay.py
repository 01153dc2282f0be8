"""The relay: this store's one link to the chain's broker, a set of tasks on the event loop.

Why on the loop and not an actor: the work is network I/O (the MQTT client is asyncio,
`broker.py`), it reads the database through the read pool and writes through the store,
like the HTTP handlers, and it asks actors only through `threads/bridge.py`. So it never
blocks the loop, and no actor waits on the broker: an order's commit only marks the
outbox, and the store's commit hook wakes the relay (`wake_threadsafe`).

The relay keeps connecting, with jittered backoff (`pacing.Backoff`), whatever the broker
does — refuses, is down, unreachable, black-holed (detected by the MQTT keepalive) or
speaks TLS with a certificate the CA file does not vouch for; each connection is a
`Session`. It also remembers, across connections, the streams' positions, the robots'
latest views, the `cfg-ack`s owed, and deletes acknowledged outbox entries in small
batches. `state` feeds `/health`; the backlog and in-flight gauges feed `/metrics`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from uuid import uuid4

import aiomqtt

from robodine_edge.clock import to_iso, utcnow
from robodine_edge.data import federation as data
from robodine_edge.data.db import ReadPool
from robodine_edge.errors import RobodineError
from robodine_edge.federation.broker import BrokerSettings, make_client
from robodine_edge.federation.desired import Actors, DesiredState
from robodine_edge.federation.pacing import Backoff, retry_cap
from robodine_edge.federation.robot_states import RobotStates
from robodine_edge.federation.session import ConnectionLost, Session
from robodine_edge.federation.streams import Streams
from robodine_edge.process.metrics import Metrics
from robodine_edge.protocol import mqtt as wire
from robodine_edge.threads import bridge

if TYPE_CHECKING:
    from robodine_edge.actors.robots.fleet import FleetProxy
    from robodine_edge.actors.supervisor import ActorSlot

log = logging.getLogger(__name__)
GOODBYE_TIMEOUT_S = 1.5
STOP_TIMEOUT_S = 2.0
HEAD_REFRESH_S = 0.5
State = Literal["connected", "disconnected"]


@dataclass(frozen=True)
class RelayContext:
    broker: BrokerSettings
    replay_per_s: float
    actors: Actors
    reads: ReadPool
    fleet: ActorSlot[FleetProxy]
    metrics: Metrics


class Relay:
    """Made on the main thread; `start`, `stop` and everything else on the event loop,
    except `wake_threadsafe` (any thread)."""

    def __init__(self, context: RelayContext) -> None:
        self.context = context
        self.boot_id = str(uuid4())
        self.streams = Streams()
        self.robots = RobotStates()
        self.cfg_acks: dict[str, dict[str, Any]] = {}
        self.desired = DesiredState(context.actors, {})
        self.state: State = "disconnected"
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake = asyncio.Event()
        self._forget = asyncio.Event()
        self._session: Session | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._inflight = 0
        self._forgotten_upto = 0

    # -- life --------------------------------------------------------------------------------

    async def start(self) -> None:
        """Load what the database remembers, then connect in the background."""
        self._loop = asyncio.get_running_loop()
        memory: data.Memory = await bridge.wait(self.context.reads.submit(data.load_memory), 10.0)
        head: int = await bridge.wait(self.context.reads.submit(data.head_seq), 10.0)
        self.streams.acked = self._forgotten_upto = memory.acked
        self.streams.saw(head)
        self.cfg_acks = dict(memory.cfg_acks)
        self.desired = DesiredState(self.context.actors, memory.versions)
        self.report_backlog()
        for job in (self._connect_forever, self._watch_commits, self._forget_acknowledged):
            self._tasks.append(self._loop.create_task(job()))
        self._forget.set()  # entries an earlier run was told of but had not deleted

    async def stop(self) -> None:
        """Clean stop: `status` offline (if connected), disconnect, tasks ended."""
        session = self._session
        if session is not None:
            try:
                async with asyncio.timeout(GOODBYE_TIMEOUT_S):
                    await session.goodbye()
            except Exception as exc:
                log.warning("could not tell headquarters this store is stopping: %s", str(exc) or type(exc).__name__)
        for task in self._tasks:
            task.cancel()
        if self._tasks and (await asyncio.wait(self._tasks, timeout=STOP_TIMEOUT_S))[1]:
            log.warning("the federation relay did not stop within %g s", STOP_TIMEOUT_S)
        self.state = "disconnected"

    # -- from other parts ---------------------------------------------------------------------

    def wake_threadsafe(self) -> None:
        """Any thread (the store's, after a commit that wrote outbox entries)."""
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has closed: the next run sends them
                loop.call_soon_threadsafe(self._wake.set)

    def robot_changed(self, kind: str, data: dict[str, Any]) -> None:
        """Event loop: the live hub's `robots` topic (upsert or delete)."""
        self.robots.changed(kind, data)
        if self._session is not None:
            self._session.robots_wake.set()

    # -- from the session ---------------------------------------------------------------------

    def acknowledged(self, seq: int) -> None:
        if seq < self.streams.acked:
            log.warning(
                "headquarters acknowledged seq %d, below %d before: resending from there", seq, self.streams.acked
            )
        if self.streams.ack(seq, time.monotonic()):
            self.report_backlog()
            self._forget.set()
            if self._session is not None:
                self._session.replay_wake.set()

    def inflight(self, change: int) -> None:
        self._inflight += change
        self.context.metrics.federation_inflight.set(self._inflight)

    def published(self) -> None:
        self.context.metrics.federation_published.inc()

    def report_backlog(self) -> None:
        self.context.metrics.federation_backlog.set(self.streams.backlog)

    # -- tasks --------------------------------------------------------------------------------------

    async def _connect_forever(self) -> None:
        settings = self.context.broker
        backoff = Backoff(cap_s=retry_cap(settings.keepalive_s))
        last_problem = ""
        while True:
            client = make_client(settings, wire.status_offline(self.boot_id, to_iso(utcnow())))
            try:
                async with client:
                    backoff.reset()
                    last_problem = ""
                    self._session = Session(self, client)
                    self.state = "connected"
                    await self._session.run()
            except (aiomqtt.MqttError, ConnectionLost, RobodineError) as exc:
                problem = str(exc) or type(exc).__name__
                if self.state == "connected" or problem != last_problem:
                    log.warning("federation: no connection to %s: %s (retrying)", settings.address, problem)
                last_problem = problem
            except Exception:
                log.exception("federation: the connection to %s failed (retrying)", settings.address)
            finally:
                self._session = None
                self.state = "disconnected"
                self._inflight = 0
                self.context.metrics.federation_inflight.set(0)
            await asyncio.sleep(backoff.next_delay())

    async def _watch_commits(self) -> None:
        """New outbox entries: the live stream sends them; with no connection, the backlog
        gauge still follows the log."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            session = self._session
            if session is not None:
                session.live_wake.set()
                continue
            try:
                self.streams.saw(await bridge.wait(self.context.reads.submit(data.head_seq), 10.0))
                self.report_backlog()
            except RobodineError as exc:
                log.debug("could not read the newest seq: %s", exc)
            await asyncio.sleep(HEAD_REFRESH_S)

    async def _forget_acknowledged(self) -> None:
        """Delete outbox entries the ack covers, a small batch per store unit, so other
        writes interleave; and remember the ack for the next start."""
        store, timeout = self.context.actors.writer, self.context.actors.timeout_s
        while True:
            await self._forget.wait()
            self._forget.clear()
            acked = self.streams.acked
            try:
                while await bridge.wait(store.write(data.forget, acked), timeout) >= data.FORGET_BATCH:
                    await asyncio.sleep(0)
                self._forgotten_upto = acked
            except RobodineError as exc:
                log.warning("could not forget acknowledged events (retrying with the next ack): %s", exc)
