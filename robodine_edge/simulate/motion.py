"""How a simulated robot moves, charges and cooks: simple kinematics in simulated time."""

from __future__ import annotations

import math
from dataclasses import dataclass

SPEED_M_S = 0.8
DRAIN_IDLE_PER_S = 0.01
DRAIN_MOVING_PER_S = 0.05
CHARGE_PER_S = 1.0
KITCHEN_PASS = (0.0, 0.0)
DOCK = (0.5, 8.0)


@dataclass
class Body:
    """Where a robot is, where it faces, and how full its battery is."""

    x: float
    y: float
    yaw: float = 0.0
    battery: float = 100.0

    def step_towards(self, target: tuple[float, float], dt: float) -> bool:
        """Move for `dt` simulated seconds; True once at the target."""
        dx, dy = target[0] - self.x, target[1] - self.y
        distance = math.hypot(dx, dy)
        step = SPEED_M_S * dt
        if distance <= step:
            self.x, self.y = target
            self.drain(dt, moving=distance > 0)
            return True
        self.yaw = math.atan2(dy, dx)
        self.x += dx / distance * step
        self.y += dy / distance * step
        self.drain(dt, moving=True)
        return False

    def drain(self, dt: float, moving: bool) -> None:
        self.battery = max(0.0, self.battery - (DRAIN_MOVING_PER_S if moving else DRAIN_IDLE_PER_S) * dt)

    def charge(self, dt: float) -> None:
        self.battery = min(100.0, self.battery + CHARGE_PER_S * dt)


def cooking_time_s(items: list[dict[str, object]]) -> float:
    """Seconds to cook an order: 3 s to start plus 2 s per portion."""
    portions = 0
    for item in items:
        quantity = item.get("quantity", 1)
        portions += quantity if isinstance(quantity, int) and quantity > 0 else 1
    return 3.0 + 2.0 * portions


def arm_joints(t: float, busy: bool) -> tuple[float, ...]:
    """Six joint angles (radians): resting, or sweeping while cooking."""
    if not busy:
        return (0.0, -0.5, 1.0, 0.0, 0.5, 0.0)
    return tuple(round(0.6 * math.sin(t * (0.7 + n * 0.3) + n), 4) for n in range(6))
