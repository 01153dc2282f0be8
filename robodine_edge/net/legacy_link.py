"""Legacy robot frames (docs/ROBOTS.md, `legacy.enabled`): applied, then answered OK or ERROR.

Albabot and Cookbot frames go to the robot's actor (it must be registered with
`legacy: true` and be of that kind); Ingredient poses are stored; Face frames set the
table's presence. A stream that is not readable as a whole changes nothing; otherwise
frames apply in order and the first one that cannot be applied makes the answer ERROR.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from robodine_edge.actors.storage.writer import Writer
from robodine_edge.clock import utcnow
from robodine_edge.data.robots import add_poses
from robodine_edge.errors import RobodineError
from robodine_edge.protocol.legacy import (
    BadLegacyFrame,
    LegacyAlbabot,
    LegacyCookbot,
    LegacyFace,
    LegacyFrame,
    LegacyIngredient,
    decode_stream,
)
from robodine_edge.threads import bridge

if TYPE_CHECKING:
    from robodine_edge.actors.dining.floor import FloorProxy
    from robodine_edge.actors.robots.fleet import RobotDirectory
    from robodine_edge.actors.supervisor import ActorSlot

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LegacyOutcome:
    """What became of one legacy stream, for the answer and the frame counters."""

    applied: int = 0
    not_applied: int = 0
    skipped: int = 0
    unreadable: bool = False

    @property
    def ok(self) -> bool:
        """`OK` only when every frame applied (and there was one)."""
        return self.applied > 0 and not (self.not_applied or self.unreadable)

    def counts(self) -> dict[str, int]:
        """Frames by result, as `robodine_legacy_frames_total` labels them."""
        found = {
            "ok": self.applied,
            "not_applied": self.not_applied,
            "skipped": self.skipped,
            "unreadable": int(self.unreadable),
        }
        return {result: n for result, n in found.items() if n}


class LegacyHandler:
    """Event loop only."""

    def __init__(self, robots: RobotDirectory, floor: ActorSlot[FloorProxy], writer: Writer, timeout_s: float) -> None:
        self._robots = robots
        self._floor = floor
        self._writer = writer
        self._timeout_s = timeout_s

    async def handle(self, stream: bytes) -> LegacyOutcome:
        """Apply a whole stream's frames in order, up to the first that cannot apply."""
        try:
            frames = decode_stream(stream)
        except BadLegacyFrame as exc:
            log.warning("legacy frames refused: %s", exc)
            return LegacyOutcome(unreadable=True)
        if not frames:
            return LegacyOutcome(unreadable=True)
        for done, frame in enumerate(frames):
            try:
                await self._apply(frame)
            except (RobodineError, LookupError) as exc:
                log.warning("legacy frame not applied: %s", exc)
                return LegacyOutcome(applied=done, not_applied=1, skipped=len(frames) - done - 1)
        return LegacyOutcome(applied=len(frames))

    async def _apply(self, frame: LegacyFrame) -> None:
        if isinstance(frame, LegacyAlbabot | LegacyCookbot):
            kind = "albabot" if isinstance(frame, LegacyAlbabot) else "cookbot"
            slot = self._robots.find(frame.robot_id)
            if slot is None:
                raise LookupError(f"robot {frame.robot_id} is not registered")
            robot = await bridge.wait(slot.proxy.snapshot(), self._timeout_s)
            if not robot.legacy or robot.kind != kind:
                raise LookupError(f"robot {frame.robot_id} is not a legacy {kind}")
            await bridge.wait(slot.proxy.legacy(frame), self._timeout_s)
        elif isinstance(frame, LegacyIngredient):
            poses = [("inventory", frame.pose, utcnow())]
            await bridge.wait(self._writer.write(add_poses, None, frame.ingredient_id, poses), self._timeout_s)
        elif isinstance(frame, LegacyFace):
            await bridge.wait(
                self._floor.proxy.presence(frame.table_id, frame.present, frame.reliability), self._timeout_s
            )
