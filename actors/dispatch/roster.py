"""The robots as the dispatcher last heard of them, and what keeps an idle one off tasks.

A robot that says `idle` is not always free: it may have been sent to dock and not yet
report `battery_resume`, or be on a staff command it has not reported on (it can look
idle for a moment after it was sent). The roster holds both, beside each robot's last
`RobotView`; the rules themselves are `domain.dispatch`'s.

Plain bookkeeping with no I/O: only the dispatcher's thread touches a roster.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, KeysView

from robodine_edge.actors.robots.messages import RobotSnapshot
from robodine_edge.domain.dispatch import RobotView, available, charged, needs_charge


class RobotRoster:
    def __init__(self) -> None:
        self._views: dict[str, RobotView] = {}
        self._charging: set[str] = set()  # sent to dock and not yet back at `battery_resume`
        self._staff_commands: dict[str, tuple[int, float]] = {}  # robot → (command id, sent at)

    def seen(self, snapshot: RobotSnapshot) -> RobotView:
        pose = (snapshot.pose.x, snapshot.pose.y) if snapshot.pose is not None else None
        view = RobotView(
            snapshot.robot_id, snapshot.kind, snapshot.online, snapshot.state, snapshot.battery, pose,
            snapshot.legacy, snapshot.legacy_cook_addr,
        )  # fmt: skip
        self._views[view.robot_id] = view
        return view

    def get(self, robot_id: str) -> RobotView | None:
        return self._views.get(robot_id)

    def __iter__(self) -> Iterator[RobotView]:
        return iter(self._views.values())

    def free(self, busy: Collection[str], battery_resume: float) -> list[RobotView]:
        return [r for r in self._views.values() if available(r, busy, self._charging, battery_resume)]

    def to_dock(self, busy: Collection[str], battery_low: float, battery_resume: float) -> Iterator[RobotView]:
        """Free albabots under `battery_low`, looked at one by one (as each is sent off)."""
        for robot in self._views.values():
            if available(robot, busy, self._charging, battery_resume) and needs_charge(robot, battery_low):
                yield robot

    # -- the dock ------------------------------------------------------------------------------

    def restore_docked(self, robot_ids: Iterable[str], battery_resume: float) -> None:
        """At start: those the command log says were sent to dock, less those charged since."""
        self._charging = set(robot_ids)
        for robot in list(self._views.values()):
            self.charged_yet(robot, battery_resume)

    def sent_to_dock(self, robot_id: str) -> None:
        self._charging.add(robot_id)

    def charged_yet(self, robot: RobotView, battery_resume: float) -> None:
        """A robot sent to dock is back in service once it reports `battery_resume`,
        whether it says `idle` or stays on the dock `charging` (then it is sent off it)."""
        if robot.robot_id in self._charging and charged(robot, battery_resume):
            self._charging.discard(robot.robot_id)

    def charging(self) -> list[str]:
        return sorted(self._charging)

    # -- staff commands ------------------------------------------------------------------------

    def staff_command(self, robot_id: str, name: str, command_id: int, sent_at: float) -> None:
        """A staff move holds the robot until it ends. Sent to dock by staff is sent to dock
        (as a restart would read the command log); any other move takes the robot off the
        dock on purpose."""
        self._staff_commands[robot_id] = (command_id, sent_at)
        robot = self._views.get(robot_id)
        if name == "dock" and robot is not None and robot.kind == "albabot":
            self._charging.add(robot_id)
        elif name != "dock":
            self._charging.discard(robot_id)

    def staff_command_over(self, robot_id: str, command_id: int) -> bool:
        """True when this ends the staff command the robot was busy with."""
        if self._staff_commands.get(robot_id, (None, 0.0))[0] != command_id:
            return False
        del self._staff_commands[robot_id]
        return True

    def drop_staff_command(self, robot_id: str) -> None:
        """The robot dropped: whatever it was doing for staff is over."""
        self._staff_commands.pop(robot_id, None)

    def expire_staff_commands(self, now: float, timeout_s: float) -> None:
        """A staff command never reported on stops holding its robot back."""
        for robot_id, (command_id, sent_at) in list(self._staff_commands.items()):
            if now - sent_at > timeout_s:
                self.staff_command_over(robot_id, command_id)

    def busy(self, on_tasks: KeysView[str]) -> Collection[str]:
        """Robots on a task, or on a staff command (they may still look idle for a moment)."""
        if not self._staff_commands:
            return on_tasks
        return on_tasks | self._staff_commands.keys()
