"""Robot UDP telemetry (docs/ROBOTS.md): one JSON object per datagram."""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from robodine_edge.protocol import fields
from robodine_edge.protocol.pose import Pose, parse_pose

MAX_DATAGRAM = 8 * 1024
MAX_JOINTS = 32


class BadDatagram(ValueError):
    """A datagram that is not telemetry; `reason` is its drop counter's label."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(detail or reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Telemetry:
    robot_id: str
    session: str
    seq: int
    pose: Pose
    battery: float | None
    state: str | None
    joints: tuple[float, ...] | None


def decode_telemetry(data: bytes) -> Telemetry:
    """Raises `BadDatagram` with reason `oversized`, `invalid_json` or `invalid` (any field
    wrong, a `state` that is not a lower-case word included)."""
    if len(data) > MAX_DATAGRAM:
        raise BadDatagram("oversized")
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise BadDatagram("invalid_json") from None
    if not isinstance(obj, dict) or obj.get("type") != "telemetry":
        raise BadDatagram("invalid", "not a telemetry object")
    try:
        pose = fields.mapping(obj, "pose")
        assert pose is not None
        return Telemetry(
            robot_id=fields.identifier(obj, "robot_id"),
            session=fields.text(obj, "session", max_len=128) or "",
            seq=fields.integer(obj, "seq"),
            pose=parse_pose(pose),
            battery=fields.optional_number(obj, "battery", lo=0, hi=100),
            state=fields.word(obj, "state", required=False),  # as the TCP `status` frame checks it
            joints=_joints(obj.get("joints")),
        )
    except fields.FieldError as exc:
        raise BadDatagram("invalid", str(exc)) from None


def _joints(value: object) -> tuple[float, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or len(value) > MAX_JOINTS:
        raise fields.FieldError(f"joints must be a list of at most {MAX_JOINTS} numbers")
    return tuple(fields.number({"joint": item}, "joint") for item in value)


def encode_telemetry(telemetry: Telemetry) -> bytes:
    """What a robot (or the simulator) sends."""
    frame: dict[str, object] = {
        "type": "telemetry",
        "robot_id": telemetry.robot_id,
        "session": telemetry.session,
        "seq": telemetry.seq,
        "pose": telemetry.pose.json(),
        "battery": telemetry.battery,
        "state": telemetry.state,
    }
    if telemetry.joints is not None:
        frame["joints"] = list(telemetry.joints)
    return orjson.dumps(frame)
