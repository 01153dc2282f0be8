"""A robot's rate limits: what is told at once, what waits for the interval, when to save."""

from __future__ import annotations

from dataclasses import replace
from itertools import pairwise

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


def test_motion_goes_while_the_bucket_has_a_token_and_a_ping_waits_longer() -> None:
    pace = pace_after(IDLE, 10.0)  # a bucket of two: one left
    walked, pinged = replace(IDLE, pose=Pose(1, 0)), replace(IDLE, last_seen=2.0)
    assert moved(IDLE, walked) and moved(IDLE, replace(IDLE, battery=79.0)) and not moved(IDLE, pinged)
    assert pace.worth_announcing(IDLE, walked, 10.0), "the second of a burst of two"
    pace.announced(walked, 10.0)
    assert not pace.worth_announcing(walked, IDLE, 10.2) and pace.worth_announcing(walked, IDLE, 10.25)
    assert not pace.worth_announcing(IDLE, pinged, 10.0 + LAST_SEEN_EVERY_S - 0.01)
    assert pace.worth_announcing(IDLE, pinged, 10.0 + LAST_SEEN_EVERY_S)
    assert not pace.worth_announcing(IDLE, IDLE, 99.0), "nothing changed"


def test_a_robot_moving_at_exactly_the_rate_is_never_held_for_its_jitter() -> None:
    """10 Hz with 0.1 s between announcements: arrivals up to 40 ms early or late (a
    fixed gap since the last held every early one until its interval ended)."""
    pace = RobotPace(publish_interval_s=0.1, persist_interval_s=1.0)
    snap = IDLE
    for n in range(200):
        now = 100.0 + n * 0.1 + (0.04 if n % 3 == 1 else -0.04 if n % 3 == 2 else 0.0)
        after = replace(snap, pose=Pose(n + 1, 0))
        assert pace.worth_announcing(snap, after, now), f"arrival {n} at {now:.3f} held"
        pace.announced(after, now)
        snap = after


def test_a_faster_robot_is_announced_at_the_rate_on_average_with_its_last_move_trailing() -> None:
    """100 Hz for 10 s against a 10 Hz limit: the two of the first burst, then one per
    0.1 s, each when its token is back; the trailing announcement brings the rest."""
    pace = RobotPace(publish_interval_s=0.1, persist_interval_s=1.0)
    snap, announced, scheduled_at = IDLE, [], None
    for n in range(1000):
        now = 50.0 + n * 0.01
        if scheduled_at is not None and now >= scheduled_at:  # the Announce the timer tells back
            scheduled_at = None
            if pace.trailing_ended(snap):
                pace.announced(snap, now)
                announced.append(now)
        after = replace(snap, pose=Pose(n + 1, 0))
        if pace.worth_announcing(snap, after, now):
            pace.announced(after, now)
            announced.append(now)
        elif pace.hold():
            scheduled_at = now + pace.trailing_delay(now)
        snap = after
    assert len(announced) <= 2 + 10 * 10, len(announced)
    assert len(announced) >= 10 * 10 - 1, len(announced)
    assert announced[:2] == [50.0, 50.0 + 0.01], "a burst of two"
    gaps = [b - a for a, b in pairwise(announced[2:])]
    assert all(gap >= 0.1 - 1e-6 for gap in gaps), min(gaps)


def test_a_change_of_state_goes_without_a_token_and_motion_then_waits_a_whole_one() -> None:
    pace = RobotPace(publish_interval_s=0.1, persist_interval_s=1.0)
    pace.announced(IDLE, 10.0)
    pace.announced(IDLE, 10.0)  # the bucket is empty
    busy = replace(IDLE, state="busy")
    assert pace.worth_announcing(IDLE, busy, 10.01), "a state is never held"
    pace.announced(busy, 10.01)
    walked = replace(busy, pose=Pose(1, 0))
    assert not pace.worth_announcing(busy, walked, 10.1)
    assert abs(pace.trailing_delay(10.1) - 0.01) < 1e-9, "a whole token from the empty bucket at 10.01"
    assert pace.worth_announcing(busy, walked, 10.11)


def test_a_tick_repeats_only_what_changed_since_the_last_announcement() -> None:
    assert not RobotPace(0.1, 1.0).worth_repeating(IDLE, 99.0), "nothing announced yet"
    pace = pace_after(IDLE, 10.0)
    assert not pace.worth_repeating(IDLE, 99.0)
    assert pace.worth_repeating(replace(IDLE, pose=Pose(2, 0)), 10.25)


def test_one_trailing_announcement_at_a_time_when_a_token_is_back() -> None:
    pace = pace_after(IDLE, 10.0)
    pace.announced(IDLE, 10.0)  # both tokens of the burst spent
    assert pace.hold() is True and pace.hold() is False, "already scheduled"
    assert abs(pace.trailing_delay(10.125) - 0.125) < 1e-9, "a token every 0.25 s"
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
    walked = replace(IDLE, pose=Pose(1, 0))
    assert not pace.persist_due(50.0, force=True), "nothing changed"
    pace.changed(IDLE, walked)
    assert pace.persist_due(50.0)
    pace.changed(walked, IDLE)
    assert not pace.persist_due(50.5) and pace.persist_due(50.5, force=True)
    pace.changed(IDLE, replace(IDLE, state="serving"))
    assert not pace.persist_due(51.49) and pace.persist_due(51.5)
    assert not pace.persist_due(99.0), "saved: nothing left to save"


def test_a_ping_alone_is_saved_only_when_forced() -> None:
    """A ping changes `last_seen` only: no save at the interval (an idle robot writes
    nothing), but going offline or stopping saves it, and so does the next real change."""
    pace = RobotPace(publish_interval_s=0.1, persist_interval_s=1.0)
    pinged = replace(IDLE, last_seen=2.0)
    pace.changed(IDLE, pinged)
    assert not pace.persist_due(50.0) and not pace.persist_due(99.0)
    assert pace.persist_due(99.0, force=True)
    assert not pace.persist_due(99.0, force=True), "saved"
    pace.changed(pinged, replace(pinged, online=False, current_task=3, name="Alba"))
    assert not pace.persist_due(200.0, force=True), "link, task and name are not the state save's"
