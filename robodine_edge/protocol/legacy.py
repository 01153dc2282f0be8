"""Legacy robot frames (docs/ROBOTS.md): `msg_type` objects with the original field names.

A legacy connection sends one or several JSON objects back to back (no newlines
needed), then either closes its side or waits for the answer with its side open (the
original robots do the latter: `stream_said_all` tells when such a stream may be
answered); each object becomes one `Legacy*` value. Battery may be
a percentage or a 0-1 fraction; the API always shows a percentage.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from robodine_edge.protocol import fields
from robodine_edge.protocol.pose import AXES, Pose

MAX_STREAM = 1024 * 1024
TEXT_KEPT = 1000
"""A Face frame's free text (`history`, a `nowdetected` string) is kept up to this many
characters and shortened past it, never refused (SPEC section 4; docs/ROBOTS.md)."""
STATES = {
    "IDLE": "idle",
    "COOKING": "cooking",
    "SERVING": "serving",
    "CLEANING": "cleaning",
    "EMERGENCY": "emergency",
    "SECURITY": "security",
    "CHARGING": "charging",
    "ERROR": "error",
    "MAINTENANCE": "maintenance",
    "SETTING": "setting",
    "PICKUP": "pickup",
}
WHITESPACE = b" \t\r\n"


class BadLegacyFrame(ValueError):
    """A legacy stream or object that cannot be read."""


@dataclass(frozen=True, slots=True)
class LegacyAlbabot:
    robot_id: str
    state: str
    battery: float | None
    poses: dict[str, Pose]
    """Poses by frame: `pinky`, `global`, `world`."""


@dataclass(frozen=True, slots=True)
class LegacyCookbot:
    robot_id: str
    state: str
    joints: tuple[float, ...]
    endpoint: Pose


@dataclass(frozen=True, slots=True)
class LegacyIngredient:
    ingredient_id: int
    pose: Pose


@dataclass(frozen=True, slots=True)
class LegacyFace:
    table_id: int
    present: bool
    reliability: float | None
    history: str | None
    detected: Any


LegacyFrame = LegacyAlbabot | LegacyCookbot | LegacyIngredient | LegacyFace


def _outside_strings(data: bytes) -> Iterator[tuple[int, int, int]]:
    """The bytes of `data` outside JSON strings, as (index, byte, -1), and each string's
    end, as (index of its closing quote, 0x22, index of its first byte): the one walk
    that knows quotes and backslashes, shared by the splitter and the detector."""
    in_string, escaped, string_start = False, False, -1
    for index, byte in enumerate(data):
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
                yield index, byte, string_start
        elif byte == 0x22:
            in_string, string_start = True, index + 1
        else:
            yield index, byte, -1


def split_objects(data: bytes) -> tuple[list[bytes], bytes]:
    """Cut back-to-back top-level JSON objects out of `data`; returns them and the
    incomplete rest. Raises `BadLegacyFrame` for bytes between objects."""
    objects: list[bytes] = []
    depth, start = 0, -1
    for index, byte, string_start in _outside_strings(data):
        if string_start >= 0:
            continue
        if byte == 0x7B:  # {
            if depth == 0:
                start = index
            depth += 1
        elif byte == 0x7D:  # }
            depth -= 1
            if depth < 0:
                raise BadLegacyFrame(f"unbalanced '}}' at byte {index}")
            if depth == 0:
                objects.append(data[start : index + 1])
        elif depth == 0 and byte not in WHITESPACE:
            raise BadLegacyFrame(f"unexpected byte {byte:#04x} between objects at byte {index}")
    return objects, (data[start:] if depth > 0 else b"")


def starts_legacy(prefix: bytes) -> bool | None:
    """Whether a connection's first bytes are a legacy frame: True, False, or None while
    it cannot tell yet. A first object that names `msg_type` as one of its own keys is
    legacy as soon as that key has arrived, readable or not (so a broken legacy stream
    is answered `ERROR`, as legacy robots expect, not with NDJSON errors); one that
    ends without it is not."""
    text = prefix.lstrip(WHITESPACE)
    if not text:
        return None
    if not text.startswith(b"{"):
        return False
    names, complete = _first_object_names_msg_type(text)
    if names:
        return True
    if complete:
        return False
    return None if len(text) < MAX_STREAM else False


def _first_object_names_msg_type(text: bytes) -> tuple[bool, bool]:
    """(whether the object starting `text` has the key "msg_type" at its top level,
    whether that object is complete). Arrays and nested objects are skipped by depth."""
    depth, after_key = 0, -1
    for index, byte, string_start in _outside_strings(text):
        if string_start >= 0:
            if depth == 1 and text[string_start:index] == b"msg_type":
                after_key = index + 1
        elif byte == 0x3A and after_key >= 0 and not text[after_key:index].strip(WHITESPACE):  # :
            return True, False
        elif byte in (0x7B, 0x5B):  # { [
            depth += 1
        elif byte in (0x7D, 0x5D):  # } ]
            depth -= 1
            if depth == 0:
                return False, True
    return False, False


def stream_said_all(data: bytes) -> bool:
    """Whether a legacy stream read so far may be answered should its sender now go
    quiet: it holds at least one object and does not end inside one, or it is already
    unreadable (nothing that follows could mend it). A stream cut inside an object is
    waited for: its sender is still sending."""
    try:
        objects, rest = split_objects(data)
    except BadLegacyFrame:
        return True
    return bool(objects) and not rest


def decode_stream(data: bytes) -> list[LegacyFrame]:
    """Every object of a whole legacy stream. Raises `BadLegacyFrame` if any is unreadable."""
    if len(data) > MAX_STREAM:
        raise BadLegacyFrame("legacy stream over 1 MiB")
    objects, rest = split_objects(data)
    if rest:
        raise BadLegacyFrame("the stream ends inside an object")
    frames: list[LegacyFrame] = []
    for raw in objects:
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise BadLegacyFrame(f"invalid JSON: {exc}") from None
        frames.append(decode_object(obj))
    return frames


def decode_object(obj: Any) -> LegacyFrame:
    if not isinstance(obj, dict):
        raise BadLegacyFrame("a legacy frame must be a JSON object")
    msg_type = obj.get("msg_type")
    decoder = _DECODERS.get(msg_type) if isinstance(msg_type, str) else None  # a list or an object is no key
    if decoder is None:
        raise BadLegacyFrame(f"unknown msg_type {obj.get('msg_type')!r}"[:100])
    try:
        return decoder(obj)
    except fields.FieldError as exc:
        raise BadLegacyFrame(f"{obj['msg_type']}: {exc}") from None


def _robot_id(obj: Mapping[str, Any]) -> str:
    value = obj.get("robot_id")
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise fields.FieldError("robot_id must be a string or an integer")
    return fields.identifier({"robot_id": str(value)}, "robot_id")


def _state(obj: Mapping[str, Any]) -> str:
    value = obj.get("status")
    if not isinstance(value, str) or value.upper() not in STATES:
        raise fields.FieldError(f"status must be one of {', '.join(STATES)}")
    return STATES[value.upper()]


def _pose(obj: Mapping[str, Any], prefix: str) -> Pose:
    return Pose(*(fields.number(obj, f"{prefix}{axis}") for axis in AXES))


def _albabot(obj: Mapping[str, Any]) -> LegacyAlbabot:
    battery = fields.optional_number(obj, "battery_level", lo=0, hi=100)
    if battery is not None and battery <= 1.0:
        battery = round(battery * 100.0, 6)  # a 0-1 fraction; 0.56 is 56, not 56.00000000000001
    poses = {frame: _pose(obj, f"{frame}_") for frame in ("pinky", "global", "world")}
    return LegacyAlbabot(_robot_id(obj), _state(obj), battery, poses)


def _cookbot(obj: Mapping[str, Any]) -> LegacyCookbot:
    joints = tuple(fields.number(obj, f"angle_{n}") for n in range(1, 7))
    return LegacyCookbot(_robot_id(obj), _state(obj), joints, _pose(obj, "endpoint_"))


def _ingredient(obj: Mapping[str, Any]) -> LegacyIngredient:
    return LegacyIngredient(fields.integer(obj, "ingredient_id"), _pose(obj, ""))


def _face(obj: Mapping[str, Any]) -> LegacyFace:
    exist = obj.get("exist")
    if exist not in (0, 1, True, False):
        raise fields.FieldError("exist must be 0 or 1")
    history, detected = obj.get("history"), obj.get("nowdetected")
    return LegacyFace(
        table_id=fields.integer(obj, "table_id", minimum=1),
        present=bool(exist),
        reliability=fields.optional_number(obj, "reliability", lo=0, hi=100),
        history=fields.shorten(history, TEXT_KEPT) if isinstance(history, str) else None,
        detected=fields.shorten(detected, TEXT_KEPT) if isinstance(detected, str) else detected,
    )


_DECODERS: dict[str, Callable[[dict[str, Any]], LegacyFrame]] = {
    "Albabot": _albabot,
    "Cookbot": _cookbot,
    "Ingredient": _ingredient,
    "Face": _face,
}
