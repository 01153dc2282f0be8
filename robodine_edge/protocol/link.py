"""The robot link (docs/ROBOTS.md): newline-delimited JSON over TCP or serial.

`LineSplitter` cuts a byte stream into lines of at most 64 KiB; `decode_frame` turns
one line into a typed frame or raises `BadFrame`; the `*_frame` functions encode
what the edge sends.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from robodine_edge.protocol import fields
from robodine_edge.protocol.pose import Pose, parse_pose

MAX_LINE = 64 * 1024
PROTO_VERSION = 1
KINDS = frozenset({"albabot", "cookbot"})
LEVELS = frozenset({"debug", "info", "warning", "error"})
TASK_STATES = frozenset({"started", "progress", "done", "failed"})
COMMANDS = frozenset({"cook", "serve", "clean", "go_to", "dock", "stop", "resume", "emergency_stop"})
# Free text a robot sends is kept up to these many characters and shortened past them
# (SPEC section 4: a frame within 64 KiB is never refused for a long text; docs/ROBOTS.md).
# Ids, enums and numbers stay strict.
NAME_KEPT = 64
"""A hello's `name`: as long as a name set through the API."""
MESSAGE_KEPT = 1000
"""An event's `message`."""
REASON_KEPT = 500
"""A nack's `reason`, and a task_update's `detail` (a failed task's reason)."""


class BadFrame(ValueError):
    """A line that is not a valid frame. `reason` says why (sent back to the robot);
    `cause` is its drop counter's label: `too_long`, `unknown_type` or `bad_frame`;
    `kind` the frame's `type` when it named a known one (its fields were wrong)."""

    def __init__(self, reason: str, cause: str = "bad_frame", kind: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.cause = cause
        self.kind = kind


@dataclass(frozen=True, slots=True)
class Hello:
    robot_id: str
    kind: str
    token: str
    proto: int
    mac: str | None = None
    name: str | None = None
    caps: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Status:
    state: str
    battery: float | None = None
    pose: Pose | None = None


@dataclass(frozen=True, slots=True)
class RobotEvent:
    code: str
    level: str
    message: str


@dataclass(frozen=True, slots=True)
class Ack:
    id: int


@dataclass(frozen=True, slots=True)
class Nack:
    id: int
    reason: str


@dataclass(frozen=True, slots=True)
class TaskUpdate:
    task_id: int
    state: str
    detail: str | None = None
    """Text; a detail sent as another JSON value is kept as its JSON text."""


@dataclass(frozen=True, slots=True)
class Ping:
    pass


Frame = Hello | Status | RobotEvent | Ack | Nack | TaskUpdate | Ping


class TooLong:
    """Marks a line that was over MAX_LINE bytes (its bytes are dropped)."""


TOO_LONG = TooLong()


class LineSplitter:
    """Cuts a byte stream into lines; a line over `MAX_LINE` becomes `TOO_LONG`.

    After an over-long line the rest of it is skipped up to its newline, so the stream
    resynchronises on the next frame. Empty lines are skipped.
    """

    def __init__(self, max_line: int = MAX_LINE) -> None:
        self._max = max_line
        self._buffer = bytearray()
        self._skipping = False

    def feed(self, data: bytes) -> list[bytes | TooLong]:
        out: list[bytes | TooLong] = []
        self._buffer += data
        while True:
            end = self._buffer.find(b"\n")
            if end < 0:
                if len(self._buffer) > self._max:
                    if not self._skipping:
                        out.append(TOO_LONG)
                        self._skipping = True
                    self._buffer.clear()
                return out
            line = bytes(self._buffer[:end])
            del self._buffer[: end + 1]
            if self._skipping:
                self._skipping = False
                continue
            if len(line) > self._max:
                out.append(TOO_LONG)
            elif line.strip():
                out.append(line.rstrip(b"\r"))

    @property
    def pending(self) -> bytes:
        """Bytes received after the last newline (a frame still arriving)."""
        return bytes(self._buffer)


def decode_frame(line: bytes) -> Frame:
    """One line to a frame. Raises `BadFrame` for anything else."""
    if len(line) > MAX_LINE:
        raise BadFrame("frame over 64 KiB", "too_long")
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        raise BadFrame("invalid JSON") from None
    if not isinstance(obj, dict):
        raise BadFrame("a frame must be a JSON object")
    kind = obj.get("type")
    decoder = _DECODERS.get(kind) if isinstance(kind, str) else None
    if decoder is None:
        raise BadFrame(f"unknown frame type {kind!r}"[:120], "unknown_type")
    try:
        return decoder(obj)
    except fields.FieldError as exc:
        raise BadFrame(f"{kind}: {exc}", kind=kind) from None


def _hello(obj: dict[str, Any]) -> Hello:
    proto = obj.get("proto")
    if not isinstance(proto, int) or isinstance(proto, bool):
        raise fields.FieldError("proto must be an integer")
    caps = obj.get("caps", [])
    if not isinstance(caps, list) or len(caps) > 64 or not all(isinstance(c, str) and 0 < len(c) <= 64 for c in caps):
        raise fields.FieldError("caps must be a list of short strings")
    return Hello(
        robot_id=fields.identifier(obj, "robot_id"),
        kind=fields.choice(obj, "kind", KINDS),
        token=fields.text(obj, "token", max_len=512) or "",
        proto=proto,
        mac=fields.text(obj, "mac", max_len=64, required=False),
        name=fields.free_text(obj, "name", keep=NAME_KEPT, required=False),
        caps=tuple(caps),
    )


def _status(obj: dict[str, Any]) -> Status:
    pose = fields.mapping(obj, "pose", required=False)
    return Status(
        state=fields.word(obj, "state") or "",
        battery=fields.optional_number(obj, "battery", lo=0, hi=100),
        pose=parse_pose(pose) if pose is not None else None,
    )


def _event(obj: dict[str, Any]) -> RobotEvent:
    return RobotEvent(
        code=fields.text(obj, "code", max_len=64) or "",
        level=fields.choice(obj, "level", LEVELS),
        message=fields.free_text(obj, "message", keep=MESSAGE_KEPT) or "",
    )


def _ack(obj: dict[str, Any]) -> Ack:
    return Ack(fields.integer(obj, "id", minimum=1))


def _nack(obj: dict[str, Any]) -> Nack:
    return Nack(fields.integer(obj, "id", minimum=1), fields.free_text(obj, "reason", keep=REASON_KEPT) or "")


def _task_update(obj: dict[str, Any]) -> TaskUpdate:
    return TaskUpdate(
        task_id=fields.integer(obj, "task_id", minimum=1),
        state=fields.choice(obj, "state", TASK_STATES),
        detail=_detail(obj.get("detail")),
    )


def _detail(value: Any) -> str | None:
    """A task_update's `detail` as the text the edge keeps: a string shortened, any other
    JSON value (`{"ms": 5}`) as its compact JSON text, shortened the same way."""
    if value is None:
        return None
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    return fields.shorten(text, REASON_KEPT)


_DECODERS: dict[str, Callable[[dict[str, Any]], Frame]] = {
    "hello": _hello,
    "status": _status,
    "event": _event,
    "ack": _ack,
    "nack": _nack,
    "task_update": _task_update,
    "ping": lambda obj: Ping(),
}


def encode(frame: dict[str, Any]) -> bytes:
    return orjson.dumps(frame) + b"\n"


def welcome_frame(session: str, heartbeat_s: float, udp_port: int | None, video_port: int | None) -> bytes:
    return encode(
        {
            "type": "welcome",
            "session": session,
            "heartbeat_s": heartbeat_s,
            "udp_port": udp_port,
            "video_port": video_port,
        }
    )


def error_frame(code: str, message: str | None = None) -> bytes:
    frame: dict[str, Any] = {"type": "error", "code": code}
    if message:
        frame["message"] = message
    return encode(frame)


def command_frame(command_id: int, name: str, args: dict[str, Any]) -> bytes:
    return encode({"type": "command", "id": command_id, "name": name, "args": args})
