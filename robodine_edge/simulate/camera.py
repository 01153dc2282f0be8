"""A simulated camera: generated JPEG frames sent as camera datagrams (`protocol.video`).

A robot's camera sends while its robot is linked (to the `video_port` of its welcome);
a fixed camera sends to the video port of the fleet's latest welcome. Frames go at a
steady pace (`fps`), a late tick is skipped rather than caught up, and each frame is
split into datagrams that fit an ordinary network's MTU. The frame number goes on from
the wall clock (frames since the epoch at this rate), so a restarted simulator's frames
are newer than the ones the edge saw before, not stale. Runs on the simulator's loop.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from robodine_edge.protocol.video import encode_chunks
from robodine_edge.simulate.jpeg import Rgb, encode
from robodine_edge.simulate.picture import picture, tint

log = logging.getLogger(__name__)
DATAGRAM_BYTES = 1400
"""Fits a 1500-byte Ethernet MTU with the IP and UDP headers: no IP fragmentation."""
DEFAULT_FPS = 5.0


@dataclass(frozen=True)
class CameraPlan:
    """A camera the simulator runs, as `POST /api/video-streams` registers it."""

    camera_id: str
    name: str
    source: str
    robot_id: str | None = None

    def json(self) -> dict[str, str | None]:
        body: dict[str, str | None] = {"camera_id": self.camera_id, "name": self.name, "source": self.source}
        return body | ({"robot_id": self.robot_id} if self.robot_id is not None else {})


@dataclass
class SimCamera:
    camera_id: str
    fps: float = DEFAULT_FPS
    sent: int = field(default=0, init=False)
    """Frames sent so far (shown in the picture)."""

    async def run(self, host: str, video_port: Callable[[], int | None]) -> None:
        """Send frames until cancelled; `video_port()` is asked before each (None: wait)."""
        loop = asyncio.get_running_loop()
        background = tint(self.camera_id)
        transport: asyncio.DatagramTransport | None = None
        target: tuple[str, int] | None = None
        first, started, tick = int(time.time() * self.fps), loop.time(), 0
        try:
            while True:
                port = video_port()
                if port is not None and (host, port) != target:
                    if transport is not None:
                        transport.close()
                    transport, _ = await loop.create_datagram_endpoint(
                        asyncio.DatagramProtocol, remote_addr=(host, port)
                    )
                    target = (host, port)
                    log.info("camera %s: sending %g frames/s to %s:%d", self.camera_id, self.fps, host, port)
                if transport is not None and port is not None:
                    self._send(transport, background, (first + tick) & 0xFFFFFFFF)
                tick = max(tick + 1, math.ceil((loop.time() - started) * self.fps))  # a late tick is skipped
                await asyncio.sleep(started + tick / self.fps - loop.time())
        finally:
            if transport is not None:
                transport.close()

    def _send(self, transport: asyncio.DatagramTransport, background: Rgb, number: int) -> None:
        now = time.time()
        jpeg = encode(picture(background, self.sent, now))
        for datagram in encode_chunks(self.camera_id, now, number, jpeg, DATAGRAM_BYTES):
            transport.sendto(datagram)
        self.sent += 1
