"""Cameras and their recordings in SQLite. Units of work run on the writer's thread."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from robodine_edge.clock import to_iso, utcnow
from robodine_edge.data.models import Recording, Robot, VideoStream
from robodine_edge.errors import Conflict, NotFound, ValidationFailed


@dataclass(frozen=True, slots=True)
class StreamRecord:
    camera_id: str
    id: int
    name: str | None
    source: str
    robot_id: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class RecordingRecord:
    id: int
    camera_id: str
    file: str
    started_at: datetime
    ended_at: datetime | None
    bytes: int

    def json(self) -> dict[str, Any]:
        return {"file": self.file, "started_at": to_iso(self.started_at), "ended_at": to_iso(self.ended_at),
                "bytes": self.bytes}  # fmt: skip


def _stream(row: VideoStream) -> StreamRecord:
    return StreamRecord(row.camera_id, row.id, row.name, row.source, row.robot_id, row.created_at)


def _row(camera_id: str) -> VideoStream:
    row = VideoStream.get_or_none(VideoStream.camera_id == camera_id)
    if row is None:
        raise NotFound(f"camera {camera_id} not found")
    return row


def _check_robot(source: str, robot_id: str | None) -> None:
    if source == "robot" and robot_id is None:
        raise ValidationFailed("a robot's camera names its robot", fields={"robot_id": "required when source is robot"})
    if source == "fixed" and robot_id is not None:
        raise ValidationFailed("a fixed camera belongs to no robot", fields={"robot_id": "only when source is robot"})
    if robot_id is not None and not Robot.select().where(Robot.robot_id == robot_id).exists():
        raise ValidationFailed(f"robot {robot_id} is not registered", fields={"robot_id": "no such robot"})


# -- streams ------------------------------------------------------------------------------


def camera_ids() -> list[str]:
    return [row.camera_id for row in VideoStream.select(VideoStream.camera_id).order_by(VideoStream.id)]


def load_stream(camera_id: str) -> StreamRecord:
    return _stream(_row(camera_id))


def create_stream(camera_id: str, name: str | None, source: str, robot_id: str | None) -> StreamRecord:
    if VideoStream.select().where(VideoStream.camera_id == camera_id).exists():
        raise Conflict(f"camera {camera_id} is already registered")
    _check_robot(source, robot_id)
    now = utcnow()
    row = VideoStream.create(
        camera_id=camera_id, name=name, source=source, robot_id=robot_id, created_at=now, updated_at=now
    )
    return _stream(row)


def update_stream(camera_id: str, changes: dict[str, Any]) -> StreamRecord:
    row = _row(camera_id)
    source = changes.get("source", row.source)
    robot_id = changes.get("robot_id", row.robot_id if source == "robot" else None)
    _check_robot(source, robot_id)
    row.name = changes.get("name", row.name)
    row.source, row.robot_id, row.updated_at = source, robot_id, utcnow()
    row.save()
    return _stream(row)


def delete_stream(camera_id: str) -> None:
    _row(camera_id).delete_instance()  # its recordings' rows go too (the files stay on disk)


# -- recordings ---------------------------------------------------------------------------


def _recording(row: Recording, camera_id: str) -> RecordingRecord:
    return RecordingRecord(row.id, camera_id, row.file, row.started_at, row.ended_at, row.bytes)


def start_recording(camera_id: str, file: str, started_at: datetime) -> RecordingRecord:
    row = Recording.create(stream=_row(camera_id).id, file=file, started_at=started_at)
    return _recording(row, camera_id)


def finish_recording(recording_id: int, ended_at: datetime | None, size: int) -> None:
    """Its end and size (an end of None: closed by a stop, to be continued at start)."""
    Recording.update(ended_at=ended_at, bytes=size).where(Recording.id == recording_id).execute()


def unfinished_recording(camera_id: str) -> RecordingRecord | None:
    """A recording the service stopped (or crashed) in the middle of."""
    row = (
        Recording.select()
        .where((Recording.stream == _row(camera_id).id) & Recording.ended_at.is_null())
        .order_by(Recording.id.desc())
        .first()
    )
    return _recording(row, camera_id) if row is not None else None


def list_recordings(camera_id: str, limit: int) -> list[RecordingRecord]:
    """Newest first, at most `limit`."""
    rows = Recording.select().where(Recording.stream == _row(camera_id).id).order_by(Recording.id.desc()).limit(limit)
    return [_recording(row, camera_id) for row in rows]
