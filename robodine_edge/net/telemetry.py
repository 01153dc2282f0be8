"""The UDP telemetry endpoint (SPEC section 5), on the event loop.

Each datagram is decoded, checked against the robot's live link session and its last
sequence number, and handed to the robot's actor at full rate. Everything dropped is
counted by reason in `/metrics`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from robodine_edge.actors.robot import TelemetryIn
from robodine_edge.metrics import Metrics
from robodine_edge.net.links import LinkRegistry
from robodine_edge.protocol.telemetry import BadDatagram, decode_telemetry

log = logging.getLogger(__name__)


class TelemetryEndpoint(asyncio.DatagramProtocol):
    """Event loop only."""

    def __init__(self, registry: LinkRegistry, robots: Any, metrics: Metrics) -> None:
        self._registry = registry
        self._robots = robots
        self._counter = metrics.telemetry_datagrams

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
        slot = self._robots.find(telemetry.robot_id)
        if slot is None or not slot.tell(TelemetryIn(telemetry)):
            return self._drop("no_robot")
        self._counter.labels("accepted").inc()
        return None

    def _drop(self, reason: str) -> None:
        self._counter.labels(reason).inc()

    def error_received(self, exc: Exception) -> None:
        log.debug("telemetry socket error: %s", exc)
