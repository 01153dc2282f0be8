"""Live camera viewers (`GET /api/video-streams/{camera_id}/live`), on the event loop.

Camera actors hand each new frame over with `offer_threadsafe` (one crossing into the
loop per frame). Every viewer holds only the latest frame it has not sent yet: a viewer
whose connection is slow skips frames instead of queueing them, so it costs one frame
of memory and never delays the camera or the other viewers.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field


@dataclass(eq=False)
class Viewer:
    """One client watching one camera. Event loop only."""

    camera_id: str
    _frame: bytes | None = None
    _ended: bool = False
    _ready: asyncio.Event = field(default_factory=asyncio.Event)

    def offer(self, jpeg: bytes | None) -> None:
        if jpeg is None:
            self._ended = True
        else:
            self._frame = jpeg
        self._ready.set()

    async def next_frame(self) -> bytes | None:
        """The newest frame not sent yet, once there is one; None when the feed ended
        (camera deleted, service stopping)."""
        while True:
            if self._ended:
                return None
            if self._frame is not None:
                frame, self._frame = self._frame, None
                return frame
            self._ready.clear()
            await self._ready.wait()


class LiveFeed:
    """Viewers by camera. `offer_threadsafe` from any thread; the rest on the loop."""

    def __init__(self) -> None:
        self._viewers: dict[str, set[Viewer]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def offer_threadsafe(self, camera_id: str, jpeg: bytes | None) -> None:
        """A camera actor's thread: a new frame (None: the camera is gone)."""
        loop = self._loop
        if loop is None or camera_id not in self._viewers:  # nobody watching: nothing crosses
            return
        with contextlib.suppress(RuntimeError):  # the loop has closed
            loop.call_soon_threadsafe(self._offer, camera_id, jpeg)

    def watch(self, camera_id: str) -> Viewer:
        viewer = Viewer(camera_id)
        self._viewers.setdefault(camera_id, set()).add(viewer)
        return viewer

    def unwatch(self, viewer: Viewer) -> None:
        viewers = self._viewers.get(viewer.camera_id)
        if viewers is not None:
            viewers.discard(viewer)
            if not viewers:
                del self._viewers[viewer.camera_id]

    def viewers(self) -> int:
        return sum(len(viewers) for viewers in self._viewers.values())

    def close_all(self) -> None:
        """The service is stopping: every live response ends."""
        for camera_id in list(self._viewers):
            self._offer(camera_id, None)

    def _offer(self, camera_id: str, jpeg: bytes | None) -> None:
        for viewer in list(self._viewers.get(camera_id, ())):
            viewer.offer(jpeg)
