"""The UDP telemetry endpoint (docs/ROBOTS.md, "Telemetry"), on the event loop.

Each datagram is decoded and checked against the robot's live link session and its
last sequence number. Accepted datagrams go straight to the `telemetry` topic (from
here, at full rate, in order) and to the robot's actor, which keeps its live state
from every one of them.

Waking an actor's thread is what costs (measured: ~20 us of CPU a tell to an idle
actor, ~3 us to a busy one), so datagrams travel to a robot's actor as batches: at
most one tell per robot per `TELL_INTERVAL_S`. A robot that sends slower than that is
told of each datagram at the end of the loop turn it arrived in; a faster one gets
what arrived in the interval, in order, when the interval ends (at most 10 ms later).
Everything dropped is counted by reason in `/metrics`.

When a robot's link goes, what is kept for it goes too: its tell time here, and its
last datagram in the hub (a telemetry `delete`), so the topic's snapshot is the robots
with a live session and neither grows with every robot that ever linked.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from robodine_edge.actors.robots.messages import TelemetryIn
from robodine_edge.net.links import LinkRegistry
from robodine_edge.process.metrics import Metrics
from robodine_edge.protocol.telemetry import BadDatagram, Telemetry, decode_telemetry
from robodine_edge.types import Publish

if TYPE_CHECKING:
    from robodine_edge.actors.robots.fleet import RobotDirectory

log = logging.getLogger(__name__)
TELL_INTERVAL_S = 0.01


class TelemetryEndpoint(asyncio.DatagramProtocol):
    """Event loop only."""

    def __init__(self, registry: LinkRegistry, robots: RobotDirectory, metrics: Metrics, publish: Publish) -> None:
        self._registry = registry
        self._robots = robots
        self._counter = metrics.telemetry_datagrams
        self._accepted = self._counter.labels("accepted")
        self._no_robot = self._counter.labels("no_robot")
        self._publish = publish
        self._pending: dict[str, list[Telemetry]] = {}
        self._told_at: dict[str, float] = {}
        self._due_now: list[str] = []
        registry.detach_listeners.append(self._forget)

    def datagram_received(self, data: bytes, addr: Any) -> None:
        try:
            telemetry = decode_telemetry(data)
        except BadDatagram as exc:
            return self._drop(exc.reason)
        entry = self._registry.session_of(telemetry.robot_id)
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
                "robot_id": telemetry.robot_id,
                "seq": telemetry.seq,
                "pose": telemetry.pose.json(),
                "battery": telemetry.battery,
                "state": telemetry.state,
                "joints": list(telemetry.joints) if telemetry.joints is not None else None,
            },
        )
        batch = self._pending.get(telemetry.robot_id)
        if batch is not None:
            batch.append(telemetry)
            return None
        self._pending[telemetry.robot_id] = [telemetry]
        loop = asyncio.get_running_loop()
        wait = self._told_at.get(telemetry.robot_id, -TELL_INTERVAL_S) + TELL_INTERVAL_S - loop.time()
        if wait > 0:
            loop.call_later(wait, self._tell, telemetry.robot_id)
        else:
            if not self._due_now:
                loop.call_soon(self._tell_due)
            self._due_now.append(telemetry.robot_id)
        return None

    def _tell_due(self) -> None:
        """End of the loop turn: the robots whose interval had passed."""
        due, self._due_now = self._due_now, []
        for robot_id in due:
            self._tell(robot_id)

    def _tell(self, robot_id: str) -> None:
        """One message to the robot's actor with everything that came for it."""
        batch = self._pending.pop(robot_id, None)
        if not batch:
            return
        if self._registry.session_of(robot_id) is not None:  # else forgotten with its link
            self._told_at[robot_id] = asyncio.get_running_loop().time()
        slot = self._robots.find(robot_id)
        if slot is not None and slot.tell(TelemetryIn(tuple(batch))):
            self._accepted.inc(len(batch))
        else:
            self._no_robot.inc(len(batch))

    def _forget(self, robot_id: str) -> None:
        """The robot's link went (the registry's detach): drop its tell time and, if it
        sent telemetry on that link, its last datagram from the topic. A batch still
        waiting is told all the same: those datagrams came while the link was live."""
        told = self._told_at.pop(robot_id, None) is not None
        if told or robot_id in self._pending:
            self._publish("telemetry", "delete", {"robot_id": robot_id})

    def _drop(self, reason: str) -> None:
        self._counter.labels(reason).inc()

    def error_received(self, exc: Exception) -> None:
        log.debug("telemetry socket error: %s", exc)
