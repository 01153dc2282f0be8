"""`/api/video-streams` (cameras: live MJPEG, snapshots, recordings) and `/videos/<file>`.

Live and recorded video stream from the event loop: `/live` sends each new frame of the
camera's actor as a part of a `multipart/x-mixed-replace` answer (a slow viewer skips
frames, `http.live`); `/videos/<file>` reads its file in a worker thread, a chunk at a
time. Both accept the token as `?token=`, since an `<img>` or a download link cannot
send a header.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import IO, Annotated, Any, Literal

from pydantic import ConfigDict, Field
from sanic import HTTPResponse

from robodine_edge.actors.cameras.camera import CameraProxy
from robodine_edge.errors import NotFound
from robodine_edge.http.context import ApiRequest
from robodine_edge.http.routing import ApiRouter, answer
from robodine_edge.http.schemas import (
    Identifier,
    IsoTime,
    Name,
    PageQuery,
    PatchModel,
    QueryModel,
    RequestModel,
    ResponseModel,
    only_when,
)
from robodine_edge.types import ADMIN_ONLY, STAFF_ROLES, Principal

router = ApiRouter(tag="video-streams", prefix="/api/video-streams")
videos = ApiRouter(tag="video-streams", prefix="/videos")

CameraId = Identifier
RobotId = Identifier
Source = Literal["robot", "fixed"]
BOUNDARY = "frame"
CHUNK_BYTES = 256 * 1024


class StreamCreate(RequestModel):
    """A robot's camera names its robot (`robot_id`); a fixed camera names none."""

    model_config = ConfigDict(json_schema_extra=only_when("source", "robot", "robot_id"))

    camera_id: CameraId
    name: Name | None = None
    source: Source = "fixed"
    robot_id: RobotId | None = None


class StreamPatch(PatchModel):
    NULLABLE = frozenset({"name", "robot_id"})

    name: Name | None = None
    source: Source | None = None
    robot_id: RobotId | None = None


class StreamOut(ResponseModel):
    id: int
    camera_id: str
    name: str | None
    source: Source
    robot_id: str | None
    status: Literal["active", "inactive", "error"]
    fps: float
    latency_ms: float | None
    last_frame_at: IsoTime | None
    recording: bool


class RecordingOut(ResponseModel):
    file: str
    """The path under `/videos/`."""
    started_at: IsoTime
    ended_at: IsoTime | None
    bytes: int


def _camera(request: ApiRequest, camera_id: str) -> CameraProxy:
    slot = request.app.ctx.api.camera_actors.find(camera_id)
    if slot is None:
        raise NotFound(f"camera {camera_id} not found")
    return slot.proxy


@router.get("", roles=STAFF_ROLES, summary="List cameras", query=PageQuery, response=list[StreamOut])
async def list_streams(request: ApiRequest, user: Principal, query: PageQuery) -> list[dict[str, Any]]:
    """Newest first; `before=<id>` continues after the last id of the previous page."""
    cameras = await answer(request, request.app.ctx.api.cameras.proxy.list_cameras())
    return [c for c in cameras if query.before is None or c["id"] < query.before][: query.limit]


@router.post(
    "", roles=ADMIN_ONLY, summary="Register a camera", body=StreamCreate, response=StreamOut, status=201, errors=(409,)
)
async def register(request: ApiRequest, user: Principal, body: StreamCreate) -> dict[str, Any]:
    """Frames for a camera id that is not registered are dropped (and counted)."""
    cameras = request.app.ctx.api.cameras.proxy
    return await answer(request, cameras.register(body.camera_id, body.name, body.source, body.robot_id))


@router.get("/<camera_id:str>", roles=STAFF_ROLES, summary="Get a camera", response=StreamOut)
async def get_stream(request: ApiRequest, user: Principal, camera_id: str) -> dict[str, Any]:
    return await answer(request, _camera(request, camera_id).view())


@router.patch("/<camera_id:str>", roles=ADMIN_ONLY, summary="Change a camera", body=StreamPatch, response=StreamOut)
async def update_stream(request: ApiRequest, user: Principal, camera_id: str, body: StreamPatch) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    return await answer(request, _camera(request, camera_id).update(changes))


@router.delete("/<camera_id:str>", roles=ADMIN_ONLY, summary="Remove a camera", status=204)
async def delete_stream(request: ApiRequest, user: Principal, camera_id: str) -> None:
    """Its recordings leave the list; their files stay under `DATA_DIR/videos/`."""
    _camera(request, camera_id)
    await answer(request, request.app.ctx.api.cameras.proxy.delete(camera_id))


@router.get(
    "/<camera_id:str>/live",
    roles=STAFF_ROLES,
    summary="Live video (MJPEG)",
    query_token=True,
    content_type=f"multipart/x-mixed-replace; boundary={BOUNDARY}",
)
async def live(request: ApiRequest, user: Principal, camera_id: str) -> None:
    """Each new frame as a JPEG part, until the client leaves, the camera is removed or
    the service stops. Starts with the latest frame, if the camera sent one. The headers
    go out at once, frame or not: a viewer of a quiet camera sees a 200 and waits, where
    a response withheld until a first frame looks like an edge that hangs."""
    camera = _camera(request, camera_id)
    feed = request.app.ctx.api.live
    viewer = feed.watch(camera_id)
    try:
        latest = await answer(request, camera.latest_jpeg())
        response = await request.respond(
            content_type=f"multipart/x-mixed-replace; boundary={BOUNDARY}",
            headers={"Cache-Control": "no-store"},
        )
        await response.send(b"")  # the status line and headers, now
        jpeg = latest if latest is not None else await viewer.next_frame()
        while jpeg is not None:
            await response.send(_part(jpeg))
            jpeg = await viewer.next_frame()
        await response.send(f"--{BOUNDARY}--\r\n".encode(), end_stream=True)
    finally:
        feed.unwatch(viewer)


def _part(jpeg: bytes) -> bytes:
    head = f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n"
    return head.encode() + jpeg + b"\r\n"


@router.get(
    "/<camera_id:str>/snapshot.jpg",
    roles=STAFF_ROLES,
    summary="The latest frame",
    query_token=True,
    content_type="image/jpeg",
)
async def snapshot(request: ApiRequest, user: Principal, camera_id: str) -> HTTPResponse:
    jpeg = await answer(request, _camera(request, camera_id).latest_jpeg())
    if jpeg is None:
        raise NotFound(f"camera {camera_id} has sent no frame yet")
    return HTTPResponse(jpeg, content_type="image/jpeg", headers={"Cache-Control": "no-store"})


@router.post(
    "/<camera_id:str>/recordings/start", roles=STAFF_ROLES, summary="Start recording", response=StreamOut,
    errors=(409,),
)  # fmt: skip
async def start_recording(request: ApiRequest, user: Principal, camera_id: str) -> dict[str, Any]:
    """Frames go to a new file under `DATA_DIR/videos/<camera_id>/` (409 if recording)."""
    return await answer(request, _camera(request, camera_id).start_recording())


@router.post(
    "/<camera_id:str>/recordings/stop", roles=STAFF_ROLES, summary="Stop recording", response=StreamOut,
    errors=(409,),
)  # fmt: skip
async def stop_recording(request: ApiRequest, user: Principal, camera_id: str) -> dict[str, Any]:
    return await answer(request, _camera(request, camera_id).stop_recording())


class RecordingsQuery(QueryModel):
    """Recordings carry no id, so their list pages by `limit` only."""

    limit: Annotated[int, Field(ge=1, le=1000)] = 100


@router.get(
    "/<camera_id:str>/recordings", roles=STAFF_ROLES, summary="A camera's recordings", query=RecordingsQuery,
    response=list[RecordingOut],
)  # fmt: skip
async def recordings(
    request: ApiRequest, user: Principal, camera_id: str, query: RecordingsQuery
) -> list[dict[str, Any]]:
    """Newest first; `file` is the path under `/videos/`."""
    return await answer(request, _camera(request, camera_id).recordings(query.limit))


@videos.get(
    "/<file:path>", roles=STAFF_ROLES, summary="A recorded video", query_token=True, content_type="video/x-motion-jpeg"
)
async def recorded(request: ApiRequest, user: Principal, file: str) -> None:
    """A file of concatenated JPEGs (`ffplay -f mjpeg FILE` plays it)."""
    loop = asyncio.get_running_loop()
    handle, size = await loop.run_in_executor(None, _open_video, request.app.ctx.api.videos_dir, file)
    try:
        response = await request.respond(
            content_type="video/x-motion-jpeg",
            headers={"Content-Length": str(size), "Content-Disposition": f'attachment; filename="{Path(file).name}"'},
        )
        left = size  # as long as announced: a recording still running grows meanwhile
        while left and (chunk := await loop.run_in_executor(None, handle.read, min(CHUNK_BYTES, left))):
            await response.send(chunk)
            left -= len(chunk)
        await response.send(end_stream=True)
    finally:
        handle.close()


def _open_video(folder: Path, file: str) -> tuple[IO[bytes], int]:
    """A worker thread: the file under `folder` that `file` names, open, and its size.
    Anything else (missing, reaching outside `folder`, not a recording) is 404. A name may
    start with a dot: camera ids may (`.cam` records to `.cam/.cam-<time>.mjpeg`)."""
    parts = file.split("/")
    if any(part in ("", ".", "..") for part in parts) or not file.endswith(".mjpeg"):
        raise NotFound(f"no video {file}")
    path = (folder / file).resolve()
    if not path.is_relative_to(folder.resolve()) or not path.is_file():
        raise NotFound(f"no video {file}")
    try:
        handle = path.open("rb")
    except OSError:
        raise NotFound(f"no video {file}") from None
    return handle, os.fstat(handle.fileno()).st_size
