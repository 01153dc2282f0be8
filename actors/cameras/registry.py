"""The cameras: registering them, starting their actors, and listing them.

Like the fleet for robots: this actor owns registration (one writer of the camera
rows) and starts one `CameraActor` per camera under the supervisor; frames go to each
camera's own actor, reached through the directory by the network room. It asks its
cameras (down the tree); they never ask it back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from robodine_edge.actors.base import CrashListener, SupervisedActor, TypedProxy, proxy_method
from robodine_edge.actors.cameras.camera import CameraProxy
from robodine_edge.actors.directory import Directory
from robodine_edge.actors.storage.writer import Writer
from robodine_edge.actors.supervisor import ActorSlot, ChildSpec, SupervisorProxy
from robodine_edge.data import video as data
from robodine_edge.errors import NotFound
from robodine_edge.types import Publish

log = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")
ASK_TIMEOUT_S = 10.0


class CameraDirectory(Directory[str, CameraProxy]):
    """The camera actors' slots by camera id."""

    def __init__(self) -> None:
        super().__init__("camera")


def camera_actor_name(camera_id: str) -> str:
    return f"camera-{camera_id}"


class CamerasActor(SupervisedActor):
    """All methods run in this actor's own thread."""

    def __init__(
        self,
        writer: Writer,
        supervisor: ActorSlot[SupervisorProxy],
        directory: CameraDirectory,
        camera_spec: Callable[[str], ChildSpec[CameraProxy]],
        publish: Publish,
        *,
        crash_listener: CrashListener | None = None,
    ) -> None:
        super().__init__(crash_listener=crash_listener)
        self._writer = writer
        self._supervisor = supervisor
        self._directory = directory
        self._camera_spec = camera_spec
        self._publish = publish

    def register(self, camera_id: str, name: str | None, source: str, robot_id: str | None) -> dict[str, Any]:
        self._write(data.create_stream, camera_id, name, source, robot_id)
        try:
            slot = self._supervisor.proxy.start_child(self._camera_spec(camera_id)).get(timeout=ASK_TIMEOUT_S)
        except Exception:  # no actor for it: no row either, or the next start would try again
            self._write(data.delete_stream, camera_id)
            raise
        self._directory.add(camera_id, slot)
        view: dict[str, Any] = slot.proxy.view().get(timeout=ASK_TIMEOUT_S)
        self._publish("video_streams", "upsert", view)
        return view

    def ensure_legacy(self, camera_id: str, address: str) -> None:
        """A legacy camera is registered by its first frame (docs/ROBOTS.md)."""
        if self._directory.find(camera_id) is None:
            log.info("registering legacy camera %s (frames from %s)", camera_id, address)
            self.register(camera_id, f"legacy camera at {address}", "fixed", None)

    def delete(self, camera_id: str) -> None:
        """The camera's recordings leave the list with it; their files stay on disk."""
        self._camera(camera_id)
        self._supervisor.proxy.stop_child(camera_actor_name(camera_id)).get(timeout=ASK_TIMEOUT_S)
        self._directory.remove(camera_id)
        self._write(data.delete_stream, camera_id)
        self._publish("video_streams", "delete", {"camera_id": camera_id})

    def list_cameras(self) -> list[dict[str, Any]]:
        """Newest first, as every list."""
        views = [slot.proxy.view() for _, slot in self._directory.items()]
        found = [future.get(timeout=ASK_TIMEOUT_S) for future in views]
        return sorted(found, key=lambda view: view["id"], reverse=True)

    def _camera(self, camera_id: str) -> ActorSlot[CameraProxy]:
        slot = self._directory.find(camera_id)
        if slot is None:
            raise NotFound(f"camera {camera_id} not found")
        return slot

    def _write(self, unit: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        return self._writer.write(unit, *args, **kwargs).get(timeout=ASK_TIMEOUT_S)


class CamerasProxy(TypedProxy):
    """The cameras actor as HTTP and the video endpoint reach it (`ActorSlot[CamerasProxy]`)."""

    register = proxy_method(CamerasActor.register)
    ensure_legacy = proxy_method(CamerasActor.ensure_legacy)
    delete = proxy_method(CamerasActor.delete)
    list_cameras = proxy_method(CamerasActor.list_cameras)
