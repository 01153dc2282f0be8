"""The UDP telemetry endpoint (docs/ROBOTS.md, "Telemetry"), on the event loop.

Each datagram is decoded and checked against the robot's live link session and its
last sequence number. Accepted datagrams go straight to the `telemetry` topic (from
here, at full rate, in order) and to the robot's actor, which keeps its live state
from every one of them.

Waking an actor's thread is what costs (measured on the 2-vCPU VM: 25-45 us of CPU a
tell to an idle actor, the whole rest of a datagram ~15 us), so datagrams travel to a
robot's actor as batches, paced like the `robots` topic the actor announces on: a token
bucket of `TELL_BURST` at `telemetry.ws_rate_hz` (10 a second). A robot at or under
that rate is told of each datagram at the end of the loop turn it arrived in; a faster
one gets what arrived meanwhile, in order, as soon as a token is back (at most one
interval later), which is as often as the actor may announce it anyway. A datagram
whose `state` differs from the robot's last one is not held: its batch is told at once,
so a change of state reaches the actor, the dispatcher and the topic without waiting.
Everything dropped is counted by reason in `/metrics`.

When a robot's link goes, what is kept for it goes too: its bucket and last state here
(a batch still waiting is told then: those datagrams came while the link was live), and
its last datagram in the hub (a telemetry `delete`), so the topic's snapshot is the
robots with a live session and neither grows with every robot that ever linked.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from robodine_edge.actors.robots.messages import TelemetryIn
from robodine_edge.domain.token_bucket import TokenBucket
from robodine_edge.net.links import LinkRegistry
from robodine_edge.process.metrics import Metrics
from robodine_edge.protocol.telemetry import BadDatagram, Telemetry, decode_telemetry
from robodine_edge.types import Publish

if TYPE_CHECKING:
    from robodine_edge.actors.robots.fleet import RobotDirectory

log = logging.getLogger(__name__)
TELL_BURST = 2.0
"""Tells a robot's actor may get back to back (as the robots topic's `BURST`)."""


class TelemetryEndpoint(asyncio.DatagramProtocol):
    """Event loop only."""

    def __init__(
        self,
        registry: LinkRegistry,
        robots: RobotDirectory,
        metrics: Metrics,
        publish: Publish,
        tell_interval_s: float = 0.1,
    ) -> None:
        self._registry = registry
        self._robots = robots
        self._counter = metrics.telemetry_datagrams
        self._accepted = self._counter.labels("accepted")
        self._no_robot = self._counter.labels("no_robot")
        self._publish = publish
        self._tell_rate = 1.0 / tell_interval_s
        self._pending: dict[str, list[Telemetry]] = {}
        """Each robot's datagrams not told yet, in order."""
        self._held: dict[str, asyncio.TimerHandle] = {}
        """Robots whose batch waits for a token, and the timer that tells it."""
        self._buckets: dict[str, TokenBucket] = {}
        self._states: dict[str, str] = {}
        """Each linked robot's `state` in its last datagram that had one."""
        self._due_now: list[str] = []
        registry.detach_listeners.append(self._forget)

    def datagram_received(self, data: bytes, addr: Any) -> None:
        try:
            telemetry = decode_telemetry(data)
        except BadDatagram as exc:
            return self._drop(exc.reason)
        robot_id = telemetry.robot_id
        entry = self._registry.session_of(robot_id)
        if entry is None:
            return self._drop("no_session")
        if entry.session != telemetry.session:
            return self._drop("bad_session")
        if telemetry.seq <= entry.last_seq:
            return self._drop("out_of_order")
        entry.last_seq = telemetry.seq
        self._publish(
            "telemetry",
            "upsert",
            {
                "robot_id": robot_id,
                "seq": telemetry.seq,
                "pose": telemetry.pose.json(),
                "battery": telemetry.battery,
                "state": telemetry.state,
                "joints": list(telemetry.joints) if telemetry.joints is not None else None,
            },
        )
        state_changed = telemetry.state is not None and self._states.get(robot_id) != telemetry.state
        if state_changed:
            self._states[robot_id] = telemetry.state  # type: ignore[assignment]
        batch = self._pending.get(robot_id)
        if batch is not None:  # told at the end of this turn, or held for a token
            batch.append(telemetry)
            held = self._held.get(robot_id) if state_changed else None
            if held is not None:  # a change of state does not wait for a token
                held.cancel()
                self._tell_now(robot_id)
            return None
        self._pending[robot_id] = [telemetry]
        loop = asyncio.get_running_loop()
        now = loop.time()
        bucket = self._buckets.get(robot_id)
        if bucket is None:
            bucket = self._buckets[robot_id] = TokenBucket(self._tell_rate, TELL_BURST)
        if state_changed or bucket.ready(now):
            self._tell_now(robot_id)
        else:
            self._held[robot_id] = loop.call_at(now + bucket.wait_s(now), self._token_back, robot_id)
        return None

    def _tell_now(self, robot_id: str) -> None:
        """Tell the robot's batch at the end of this loop turn (with whatever else comes
        for it in this turn), spending a token."""
        self._held.pop(robot_id, None)
        bucket = self._buckets.get(robot_id)
        if bucket is not None:
            bucket.spend(asyncio.get_running_loop().time())
        if not self._due_now:
            asyncio.get_running_loop().call_soon(self._tell_due)
        self._due_now.append(robot_id)

    def _token_back(self, robot_id: str) -> None:
        """The robot's bucket has a token again: its held batch goes."""
        if self._held.pop(robot_id, None) is not None:
            self._tell_now(robot_id)

    def _tell_due(self) -> None:
        """End of the loop turn: the robots whose batch may go."""
        due, self._due_now = self._due_now, []
        for robot_id in due:
            self._tell(robot_id)

    def _tell(self, robot_id: str) -> None:
        """One message to the robot's actor with everything that came for it."""
        batch = self._pending.pop(robot_id, None)
        if not batch:
            return
        slot = self._robots.find(robot_id)
        if slot is not None and slot.tell(TelemetryIn(tuple(batch))):
            self._accepted.inc(len(batch))
        else:
            self._no_robot.inc(len(batch))

    def _forget(self, robot_id: str) -> None:
        """The robot's link went (the registry's detach): its bucket and state go, a batch
        still waiting is told now (those datagrams came while the link was live), and if
        it sent telemetry on that link, its last datagram leaves the topic."""
        sent = self._buckets.pop(robot_id, None) is not None
        self._states.pop(robot_id, None)
        held = self._held.pop(robot_id, None)
        if held is not None:
            held.cancel()
            self._tell(robot_id)
        if sent:
            self._publish("telemetry", "delete", {"robot_id": robot_id})

    def _drop(self, reason: str) -> None:
        self._counter.labels(reason).inc()

    def error_received(self, exc: Exception) -> None:
        log.debug("telemetry socket error: %s", exc)
