"""The UDP telemetry endpoint (SPEC section 5), on the event loop.

Each datagram is decoded and checked against the robot's live link session and its
last sequence number. Accepted datagrams go straight to the `telemetry` topic (from
here, at full rate, in order) and to the robot's actor, which keeps its live state
from every one of them. Datagrams that arrive for one robot during one turn of the
loop travel to its actor as one message: under load the batches grow, so crossing
threads costs less per datagram the more there are. Everything dropped is counted by
reason in `/metrics`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from robodine_edge.actors.robot import TelemetryIn
from robodine_edge.metrics import Metrics
from robodine_edge.net.links import LinkRegistry
from robodine_edge.protocol.telemetry import BadDatagram, Telemetry, decode_telemetry
from robodine_edge.types import Publish

log = logging.getLogger(__name__)


class TelemetryEndpoint(asyncio.DatagramProtocol):
    """Event loop only."""

    def __init__(self, registry: LinkRegistry, robots: Any, metrics: Metrics, publish: Publish) -> None:
        self._registry = registry
        self._robots = robots
        self._counter = metrics.telemetry_datagrams
        self._publish = publish
        self._pending: dict[str, list[Telemetry]] = {}

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
        if not self._pending:
            asyncio.get_running_loop().call_soon(self._flush)
        self._pending[telemetry.robot_id] = [telemetry]
        return None

    def _flush(self) -> None:
        """End of the loop turn: one message per robot with everything that came for it."""
        pending, self._pending = self._pending, {}
        for robot_id, batch in pending.items():
            slot = self._robots.find(robot_id)
            if slot is not None and slot.tell(TelemetryIn(tuple(batch))):
                self._counter.labels("accepted").inc(len(batch))
            else:
                self._counter.labels("no_robot").inc(len(batch))

    def _drop(self, reason: str) -> None:
        self._counter.labels(reason).inc()

    def error_received(self, exc: Exception) -> None:
        log.debug("telemetry socket error: %s", exc)
