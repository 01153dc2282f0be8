"""Robot UDP telemetry (docs/ROBOTS.md): one JSON object per datagram."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from robodine_edge.protocol import fields
from robodine_edge.protocol.pose import Pose, parse_pose

MAX_DATAGRAM = 8 * 1024
MAX_JOINTS = 32
MAX_SEQ = 2**63 - 1
MAX_SESSION = 128
MAX_STATE = 32


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
    wrong, a `state` that is not a lower-case word included).

    Runs for every datagram on the event loop (tens of thousands a second), so the usual
    datagram is checked inline (`_usual`) and only anything else goes through the field
    helpers, which also word the reason; both take exactly the same datagrams."""
    if len(data) > MAX_DATAGRAM:
        raise BadDatagram("oversized")
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise BadDatagram("invalid_json") from None
    if type(obj) is not dict or obj.get("type") != "telemetry":
        raise BadDatagram("invalid", "not a telemetry object")
    usual = _usual(obj)
    return usual if usual is not None else checked_telemetry(obj)


def checked_telemetry(obj: dict[str, Any]) -> Telemetry:
    """A telemetry object field by field, with the reason for the first wrong one."""
    try:
        pose = fields.mapping(obj, "pose")
        assert pose is not None
        return Telemetry(
            robot_id=fields.identifier(obj, "robot_id"),
            session=fields.text(obj, "session", max_len=MAX_SESSION) or "",
            seq=fields.integer(obj, "seq", maximum=MAX_SEQ),
            pose=parse_pose(pose),
            battery=fields.optional_number(obj, "battery", lo=0, hi=100),
            state=fields.word(obj, "state", required=False, max_len=MAX_STATE),  # as the TCP `status` frame checks it
            joints=_joints(obj.get("joints")),
        )
    except fields.FieldError as exc:
        raise BadDatagram("invalid", str(exc)) from None


def _usual(obj: dict[str, Any]) -> Telemetry | None:
    """The same rules as `checked_telemetry`, inline: the Telemetry if every field is
    good, None if any is not (or is unusual), for the checked path to decide and word."""
    robot_id, session, seq, pose = obj.get("robot_id"), obj.get("session"), obj.get("seq"), obj.get("pose")
    if type(robot_id) is not str or type(session) is not str or type(seq) is not int or type(pose) is not dict:
        return None
    if not (0 <= seq <= MAX_SEQ and 0 < len(session) <= MAX_SESSION and fields.ID.fullmatch(robot_id)):
        return None
    x, y = _number(pose.get("x")), _number(pose.get("y"))
    z, roll = _number(pose.get("z", 0.0)), _number(pose.get("roll", 0.0))
    pitch, yaw = _number(pose.get("pitch", 0.0)), _number(pose.get("yaw", 0.0))
    if x is None or y is None or z is None or roll is None or pitch is None or yaw is None:
        return None
    battery = obj.get("battery")
    if battery is not None:
        battery = _number(battery)
        if battery is None or not 0 <= battery <= 100:
            return None
    state = obj.get("state")
    if state is not None and not (
        type(state) is str
        and 0 < len(state) <= MAX_STATE
        and state.isascii()
        and state.replace("_", "").isalpha()
        and state.islower()
    ):
        return None
    joints = obj.get("joints")
    if joints is not None:
        if type(joints) is not list or len(joints) > MAX_JOINTS:
            return None
        joints = tuple(_number(value) for value in joints)
        if None in joints:
            return None
    return Telemetry(robot_id, session, seq, Pose(x, y, z, roll, pitch, yaw), battery, state, joints)


def _number(value: object) -> float | None:
    """`fields.number`'s rule (an int or a float, not a bool, within ±1e9) as a float, or None."""
    if type(value) is float:
        number = value
    elif type(value) is int:
        number = float(value)
    else:
        return None
    return number if -1e9 <= number <= 1e9 else None


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
