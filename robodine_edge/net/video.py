"""The camera UDP endpoint (docs/ROBOTS.md, "Cameras"), on the event loop.

Datagrams are decoded (`protocol.video`), checked against the registered cameras and
put together into frames; each complete frame is told to its camera's actor. A frame
is complete when all its chunks arrived; when a newer frame completes, older ones
still missing chunks are dropped. Everything dropped is counted by reason in
`/metrics`. Legacy datagrams (a send time and a whole JPEG, when legacy is enabled)
belong to the camera `legacy-<sender IPv4 with dashes>`, registered on its first frame.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from robodine_edge.actors.cameras.camera import Frame
from robodine_edge.process.metrics import Metrics
from robodine_edge.protocol.video import JPEG_START, BadVideoDatagram, VideoChunk, decode_chunk, decode_legacy, is_v1

if TYPE_CHECKING:
    from robodine_edge.actors.cameras.camera import CameraProxy
    from robodine_edge.actors.cameras.registry import CameraDirectory
    from robodine_edge.actors.supervisor import ActorSlot

log = logging.getLogger(__name__)
MAX_FRAME_BYTES = 2 * 1024 * 1024
"""A 1080p JPEG is 0.2-0.5 MB; a frame past this is dropped (`too_large`)."""
MAX_PARTIAL_FRAMES = 4
"""Frames of one camera being put together at once; past it the oldest is dropped (so a
camera costs at most 8 MiB of chunks in the making)."""
MAX_LEGACY_CAMERAS = 16
"""Legacy cameras register themselves by sending: past this many, frames of new ones are
dropped (`legacy_limit`), so spoofed senders cannot fill the store with cameras."""
FRAME_RESULTS = ("complete", "incomplete", "inconsistent", "too_large", "not_jpeg")
RESTART_GAP = 1000
"""A frame number this far below the last complete one means the camera started over."""

Register = Callable[[str, str], Any]
"""Ask the cameras actor to register a legacy camera (camera id, sender address)."""


@dataclass
class _Partial:
    count: int
    sent_at: float
    chunks: dict[int, bytes] = field(default_factory=dict)
    size: int = 0


@dataclass
class _CameraFrames:
    """One camera's frames in the making. Event loop only."""

    last_complete: int = -1
    partial: dict[int, _Partial] = field(default_factory=dict)


class FrameAssembler:
    """Chunks in, complete frames out; counts what it drops. Event loop only."""

    def __init__(self, metrics: Metrics) -> None:
        self._cameras: dict[str, _CameraFrames] = {}
        self._frames = {result: metrics.video_frames.labels(result) for result in FRAME_RESULTS}
        self._stale = metrics.video_datagrams.labels("stale")

    def add(self, chunk: VideoChunk, received_at: float) -> Frame | None:
        camera = self._cameras.setdefault(chunk.camera_id, _CameraFrames())
        if chunk.frame <= camera.last_complete:
            if camera.last_complete - chunk.frame < RESTART_GAP:
                self._stale.inc()
                return None
            for number in list(camera.partial):  # the camera started counting again: its frames
                self._drop(camera, number, "incomplete")  # in the making will never complete
            camera.last_complete = -1
        partial = camera.partial.get(chunk.frame)
        if partial is None:
            partial = camera.partial[chunk.frame] = _Partial(chunk.count, chunk.sent_at)
            if len(camera.partial) > MAX_PARTIAL_FRAMES:
                self._drop(camera, min(camera.partial), "incomplete")
        if chunk.count != partial.count:
            self._drop(camera, chunk.frame, "inconsistent")
            return None
        if chunk.index not in partial.chunks:
            partial.chunks[chunk.index] = chunk.data
            partial.size += len(chunk.data)
        if partial.size > MAX_FRAME_BYTES:
            self._drop(camera, chunk.frame, "too_large")
            return None
        if len(partial.chunks) < partial.count:
            return None
        return self._complete(camera, chunk.camera_id, chunk.frame, received_at)

    def forget(self, camera_id: str) -> None:
        self._cameras.pop(camera_id, None)

    def _complete(self, camera: _CameraFrames, camera_id: str, number: int, received_at: float) -> Frame | None:
        partial = camera.partial.pop(number)
        for older in [n for n in camera.partial if n < number]:
            self._drop(camera, older, "incomplete")
        camera.last_complete = number
        jpeg = b"".join(partial.chunks[i] for i in range(partial.count))
        if not jpeg.startswith(JPEG_START):
            self._frames["not_jpeg"].inc()
            return None
        self._frames["complete"].inc()
        return Frame(camera_id, number, partial.sent_at, received_at, jpeg)

    def _drop(self, camera: _CameraFrames, number: int, reason: str) -> None:
        if camera.partial.pop(number, None) is not None:
            self._frames[reason].inc()


class VideoEndpoint(asyncio.DatagramProtocol):
    """Event loop only."""

    def __init__(self, cameras: CameraDirectory, metrics: Metrics, *, legacy: bool, register_legacy: Register) -> None:
        self._cameras = cameras
        self._counter = metrics.video_datagrams
        self._accepted = self._counter.labels("accepted")
        self._complete = metrics.video_frames.labels("complete")
        self._frames = FrameAssembler(metrics)
        self._legacy = legacy
        self._register_legacy = register_legacy
        self._registering: dict[str, Frame] = {}
        """Legacy cameras being registered, with the newest frame each sent meanwhile."""
        self._registrations: set[asyncio.Task[None]] = set()

    def datagram_received(self, data: bytes, addr: Any) -> None:
        received_at = time.time()
        if self._legacy and not is_v1(data):
            return self._legacy_frame(data, addr, received_at)
        try:
            chunk = decode_chunk(data)
        except BadVideoDatagram as exc:
            return self._drop(exc.reason)
        slot = self._cameras.find(chunk.camera_id)
        if slot is None:
            self._frames.forget(chunk.camera_id)
            return self._drop("unknown_camera")
        self._accepted.inc()
        frame = self._frames.add(chunk, received_at)
        if frame is not None:
            slot.tell(frame)
        return None

    def _legacy_frame(self, data: bytes, addr: Any, received_at: float) -> None:
        try:
            sent_at, jpeg = decode_legacy(data)
        except BadVideoDatagram as exc:
            return self._drop(exc.reason)
        host = str(addr[0])
        camera_id = "legacy-" + host.replace(".", "-").replace(":", "-")
        frame = Frame(camera_id, 0, sent_at, received_at, jpeg)
        slot = self._cameras.find(camera_id)
        if slot is None:
            if camera_id not in self._registering:
                if self._legacy_cameras() + len(self._registering) >= MAX_LEGACY_CAMERAS:
                    return self._drop("legacy_limit")
                task = asyncio.get_running_loop().create_task(self._register(camera_id, host))
                self._registrations.add(task)
                task.add_done_callback(self._registrations.discard)
            self._registering[camera_id] = frame  # shown once registered: the first frame counts
            return None
        self._deliver(slot, frame)
        return None

    def _legacy_cameras(self) -> int:
        """Legacy cameras registered (only counted when a new one asks to be)."""
        return sum(1 for camera_id, _ in self._cameras.items() if camera_id.startswith("legacy-"))

    async def _register(self, camera_id: str, host: str) -> None:
        try:
            await self._register_legacy(camera_id, host)
        except Exception as exc:  # the next frame tries again
            log.warning("could not register legacy camera %s: %s", camera_id, exc)
            self._drop("unknown_camera")
        finally:
            frame = self._registering.pop(camera_id, None)
        slot = self._cameras.find(camera_id)
        if slot is not None and frame is not None:
            self._deliver(slot, frame)

    def _deliver(self, slot: ActorSlot[CameraProxy], frame: Frame) -> None:
        self._accepted.inc()
        self._complete.inc()
        slot.tell(frame)

    def _drop(self, reason: str) -> None:
        self._counter.labels(reason).inc()

    def error_received(self, exc: Exception) -> None:
        log.debug("video socket error: %s", exc)

    def connection_lost(self, exc: Exception | None) -> None:
        """The endpoint closed (the service stopping): registrations under way end."""
        for task in list(self._registrations):
            task.cancel()
