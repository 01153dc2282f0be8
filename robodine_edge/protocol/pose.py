"""A pose in a named frame: position in metres (or the frame's unit), angles in radians."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from robodine_edge.protocol import fields

AXES = ("x", "y", "z", "roll", "pitch", "yaw")


@dataclass(frozen=True, slots=True)
class Pose:
    x: float
    y: float
    z: float = 0.0
    roll: float = 0.0
    pitch: float = 0.0
    yaw: float = 0.0

    def json(self) -> dict[str, float]:
        return {"x": self.x, "y": self.y, "z": self.z, "roll": self.roll, "pitch": self.pitch, "yaw": self.yaw}


def parse_pose(obj: Mapping[str, Any]) -> Pose:
    """`x` and `y` required, the rest default to 0. Raises `fields.FieldError`."""
    return Pose(
        fields.number(obj, "x"),
        fields.number(obj, "y"),
        fields.number(obj, "z", default=0.0),
        fields.number(obj, "roll", default=0.0),
        fields.number(obj, "pitch", default=0.0),
        fields.number(obj, "yaw", default=0.0),
    )
