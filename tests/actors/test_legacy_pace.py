"""How long a legacy robot may stay silent: the gaps it really leaves between reports."""

from __future__ import annotations

import pytest

from robodine_edge.actors.robots.legacy_pace import MAX_SILENCE_S, WINDOW, LegacyPace


def heard_at(*times: float, heartbeat_s: float = 2.0) -> LegacyPace:
    pace = LegacyPace(heartbeat_s)
    for now in times:
        pace.heard(now)
    return pace


def test_before_its_second_report_a_robot_is_allowed_three_heartbeats() -> None:
    pace = heard_at(100.0)
    assert pace.allowed_silence() == 6.0
    assert not pace.gone_quiet(106.0) and pace.gone_quiet(106.1)
    assert not LegacyPace(2.0).gone_quiet(1e9)  # never heard: nothing to go quiet


def test_a_robot_that_reports_seldom_is_allowed_three_of_its_own_gaps() -> None:
    pace = heard_at(0.0, 15.0, 30.0)  # one report every 15 s (a node talking to its robots in turn)
    assert pace.allowed_silence() == 45.0
    assert not pace.gone_quiet(74.0) and pace.gone_quiet(75.1)


def test_a_quick_reporter_keeps_the_floor_of_three_heartbeats() -> None:
    pace = heard_at(*(n * 0.2 for n in range(20)))
    assert pace.allowed_silence() == 6.0


def test_the_longest_recent_gap_counts_and_old_ones_are_forgotten() -> None:
    times = [0.0, 10.0] + [10.0 + n for n in range(1, WINDOW + 1)]
    pace = heard_at(*times[:3])
    assert pace.allowed_silence() == 30.0  # a quick report after a slow one: still 3 x 10 s
    pace = heard_at(*times)
    assert pace.allowed_silence() == 6.0  # the 10 s gap has left the window


def test_a_gap_past_the_limit_is_an_outage_not_a_pace() -> None:
    pace = heard_at(0.0, 5.0, 5.0 + MAX_SILENCE_S + 1)
    assert pace.allowed_silence() == 15.0
    assert heard_at(0.0, 50.0).allowed_silence() == MAX_SILENCE_S


@pytest.mark.parametrize("gap", [7.0, 12.0])
def test_a_robot_that_reports_more_slowly_goes_offline_once_then_is_paced(gap: float) -> None:
    pace = heard_at(0.0, 1.0, 2.0)
    assert pace.gone_quiet(2.0 + gap)  # slower than before: offline once...
    pace.heard(2.0 + gap)
    assert not pace.gone_quiet(2.0 + 2 * gap)  # ...and its new pace is learned
