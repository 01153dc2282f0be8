"""What keeps an idle robot off tasks, without an actor."""

from __future__ import annotations

from robodine_edge.actors.dispatch.roster import RobotRoster
from robodine_edge.actors.robots.messages import RobotSnapshot
from robodine_edge.protocol.pose import Pose


def snapshot(
    robot_id: str,
    kind: str = "albabot",
    *,
    online: bool = True,
    state: str = "idle",
    battery: float | None = 90.0,
    pose: Pose | None = None,
) -> RobotSnapshot:
    return RobotSnapshot(robot_id, kind, None, False, None, online, state, battery, pose, None, None, None)


def free_ids(roster: RobotRoster, busy: frozenset[str] = frozenset(), resume: float = 80.0) -> list[str]:
    return [robot.robot_id for robot in roster.free(busy, resume)]


def test_a_robot_is_seen_as_its_last_snapshot() -> None:
    roster = RobotRoster()
    view = roster.seen(snapshot("a1", pose=Pose(1.0, 2.0)))
    assert (view.robot_id, view.kind, view.state, view.position) == ("a1", "albabot", "idle", (1.0, 2.0))
    roster.seen(snapshot("a1", online=False))
    seen = roster.get("a1")
    assert seen is not None and not seen.online
    assert roster.get("zz") is None and [r.robot_id for r in roster] == ["a1"]


def test_a_low_albabot_is_to_dock_and_stays_off_tasks_until_battery_resume() -> None:
    roster = RobotRoster()
    roster.seen(snapshot("a1", battery=10.0))
    roster.seen(snapshot("a2", battery=90.0))
    roster.seen(snapshot("c1", "cookbot", battery=5.0))
    busy: frozenset[str] = frozenset()
    assert [r.robot_id for r in roster.to_dock(busy, battery_low=20.0, battery_resume=80.0)] == ["a1"]
    roster.sent_to_dock("a1")
    assert roster.charging() == ["a1"] and free_ids(roster) == ["a2", "c1"]
    roster.charged_yet(roster.seen(snapshot("a1", state="charging", battery=79.0)), 80.0)
    assert roster.charging() == ["a1"]
    roster.charged_yet(roster.seen(snapshot("a1", state="charging", battery=80.0)), 80.0)
    assert roster.charging() == [] and free_ids(roster) == ["a1", "a2", "c1"]


def test_at_start_a_robot_sent_to_dock_that_has_charged_since_is_back() -> None:
    roster = RobotRoster()
    roster.seen(snapshot("a1", state="charging", battery=95.0))
    roster.seen(snapshot("a2", state="charging", battery=40.0))
    roster.restore_docked(["a1", "a2", "gone"], battery_resume=80.0)
    assert roster.charging() == ["a2", "gone"]


def test_a_staff_command_holds_its_robot_until_it_ends_drops_or_expires() -> None:
    roster = RobotRoster()
    roster.seen(snapshot("a1"))
    on_tasks = {"a9": 1}.keys()
    assert roster.busy(on_tasks) is on_tasks  # nothing held by staff: the live view itself
    roster.staff_command("a1", "go_to", 5, sent_at=100.0)
    assert set(roster.busy(on_tasks)) == {"a1", "a9"}
    assert not roster.staff_command_over("a1", 4) and roster.staff_command_over("a1", 5)
    assert set(roster.busy(on_tasks)) == {"a9"}
    roster.staff_command("a1", "go_to", 6, sent_at=100.0)
    roster.drop_staff_command("a1")
    assert not roster.staff_command_over("a1", 6)
    roster.staff_command("a1", "go_to", 7, sent_at=100.0)
    roster.expire_staff_commands(now=110.0, timeout_s=10.0)
    assert set(roster.busy(on_tasks)) == {"a1", "a9"}
    roster.expire_staff_commands(now=110.5, timeout_s=10.0)
    assert set(roster.busy(on_tasks)) == {"a9"}


def test_a_staff_dock_sends_an_albabot_to_dock_and_any_other_move_takes_it_off() -> None:
    roster = RobotRoster()
    roster.seen(snapshot("a1"))
    roster.seen(snapshot("c1", "cookbot"))
    roster.staff_command("a1", "dock", 1, sent_at=0.0)
    roster.staff_command("c1", "dock", 2, sent_at=0.0)
    assert roster.charging() == ["a1"]
    roster.staff_command("a1", "go_to", 3, sent_at=0.0)
    assert roster.charging() == []
