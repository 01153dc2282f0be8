"""A robot's rate limits: what is told at once, what waits for the interval, when to save."""

from __future__ import annotations

from dataclasses import replace

from robodine_edge.actors.robots.messages import RobotSnapshot
from robodine_edge.actors.robots.pace import LAST_SEEN_EVERY_S, RobotPace, moved
from robodine_edge.protocol.pose import Pose

IDLE = RobotSnapshot("albabot-1", "albabot", None, False, None, True, "idle", 80.0, Pose(0, 0), None, None, 1.0)


def pace_after(snap: RobotSnapshot, at: float) -> RobotPace:
    """A pace that announced `snap` at `at` (0.25 s between moves, 1 s between saves)."""
    pace = RobotPace(publish_interval_s=0.25, persist_interval_s=1.0)
    pace.announced(snap, at)
    return pace


def test_a_change_of_link_state_task_or_name_is_told_at_once() -> None:
    pace = pace_after(IDLE, 10.0)
    for change in ({"online": False}, {"state": "busy"}, {"current_task": 7}, {"name": "Alba"}):
        assert pace.worth_announcing(IDLE, replace(IDLE, **change), 10.0), change


def test_motion_waits_for_the_interval_and_a_ping_for_longer() -> None:
    pace = pace_after(IDLE, 10.0)
    walked, pinged = replace(IDLE, pose=Pose(1, 0)), replace(IDLE, last_seen=2.0)
    assert moved(IDLE, walked) and moved(IDLE, replace(IDLE, battery=79.0)) and not moved(IDLE, pinged)
    assert not pace.worth_announcing(IDLE, walked, 10.2) and pace.worth_announcing(IDLE, walked, 10.25)
    assert not pace.worth_announcing(IDLE, pinged, 10.0 + LAST_SEEN_EVERY_S - 0.01)
    assert pace.worth_announcing(IDLE, pinged, 10.0 + LAST_SEEN_EVERY_S)
    assert not pace.worth_announcing(IDLE, IDLE, 99.0), "nothing changed"


def test_a_tick_repeats_only_what_changed_since_the_last_announcement() -> None:
    assert not RobotPace(0.1, 1.0).worth_repeating(IDLE, 99.0), "nothing announced yet"
    pace = pace_after(IDLE, 10.0)
    assert not pace.worth_repeating(IDLE, 99.0)
    assert pace.worth_repeating(replace(IDLE, pose=Pose(2, 0)), 10.25)


def test_one_trailing_announcement_at_a_time_at_the_end_of_the_interval() -> None:
    pace = pace_after(IDLE, 10.0)
    assert pace.hold() is True and pace.hold() is False, "already scheduled"
    assert pace.trailing_delay(10.125) == 0.125
    walked = replace(IDLE, pose=Pose(1, 0))
    assert pace.trailing_ended(walked) is True
    assert pace.hold() is True, "the next burst schedules again"
    pace.announced(walked, 10.25)
    assert pace.trailing_ended(walked) is False, "announced meanwhile: nothing to tell"


def test_the_dispatcher_hears_what_it_chooses_by_at_once_and_the_rest_once_a_second() -> None:
    pace = pace_after(IDLE, 10.0)
    assert pace.worth_telling_state(IDLE, 10.0)
    assert not pace.worth_telling_state(replace(IDLE, battery=80.9, pose=Pose(3, 3)), 10.5)
    assert pace.worth_telling_state(replace(IDLE, battery=79.9), 10.5), "the whole percent changed"
    assert not pace.worth_telling_state(replace(IDLE, battery=79.0), 11.49)
    assert pace.worth_telling_state(replace(IDLE, battery=79.0), 11.5)
    assert pace.worth_telling_state(replace(IDLE, state="charging"), 11.5)


def test_a_save_is_due_only_after_a_change_and_the_interval_unless_forced() -> None:
    pace = RobotPace(publish_interval_s=0.1, persist_interval_s=1.0)
    assert not pace.persist_due(50.0, force=True), "nothing changed"
    pace.changed()
    assert pace.persist_due(50.0)
    pace.changed()
    assert not pace.persist_due(50.5) and pace.persist_due(50.5, force=True)
    pace.changed()
    assert not pace.persist_due(51.49) and pace.persist_due(51.5)
    assert not pace.persist_due(99.0), "saved: nothing left to save"
