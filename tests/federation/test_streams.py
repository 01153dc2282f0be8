"""Which events go next: live and replay streams, the ack window, stalls, lower acks."""

from __future__ import annotations

from robodine_edge.federation.pacing import Backoff, TokenBucket, retry_cap
from robodine_edge.federation.robot_states import CLEARED, RobotStates
from robodine_edge.federation.streams import Streams


def connected(acked: int, head: int, window: int = 500) -> Streams:
    streams = Streams(acked=acked, window=window)
    streams.saw(head)
    streams.connected(now=0.0)
    return streams


def test_a_connection_replays_what_is_not_acknowledged_and_lives_after_the_head() -> None:
    streams = connected(acked=10, head=30)
    assert streams.replay_range() == (10, 30)
    assert streams.live_sent == 30 and streams.backlog == 20
    streams.replayed(30)
    assert streams.replay_range() is None


def test_the_replay_waits_for_the_ack_past_its_window() -> None:
    streams = connected(acked=0, head=2000, window=500)
    assert streams.replay_range() == (0, 500)
    streams.replayed(500)
    assert streams.replay_range() is None
    assert streams.ack(400, now=1.0)
    assert streams.replay_range() == (500, 900)


def test_an_ack_past_the_replay_skips_it_and_a_lower_one_replays_again() -> None:
    streams = connected(acked=0, head=100)
    streams.replayed(10)
    streams.ack(50, now=1.0)
    assert streams.replay_range() == (50, 100)
    streams.replayed(100)
    streams.sent_live(120)
    assert not streams.ack(50, now=2.0)
    streams.ack(20, now=3.0)  # a new headquarters: everything after 20 is owed again
    assert streams.replay_range() == (20, 120)


def test_a_stalled_ack_replays_from_it_at_a_growing_interval() -> None:
    streams = connected(acked=5, head=5)
    streams.resend_s = 60.0
    streams.connected(now=0.0)
    streams.sent_live(40)
    assert not streams.check_stalled(now=59.0)
    assert streams.check_stalled(now=61.0)
    assert streams.replay_range() == (5, 40)
    streams.replayed(40)
    assert not streams.check_stalled(now=61.0 + 100)  # now 120 s
    assert streams.check_stalled(now=61.0 + 121)
    streams.replayed(40)
    streams.ack(40, now=300.0)
    assert not streams.check_stalled(now=10_000.0)  # nothing unacknowledged


def test_backoff_is_jittered_doubling_and_capped() -> None:
    backoff = Backoff(cap_s=4.0)
    delays = [backoff.next_delay() for _ in range(6)]
    steps = [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert all(step / 2 <= delay <= step for delay, step in zip(delays, steps, strict=True))
    backoff.reset()
    assert backoff.next_delay() <= 0.5
    assert retry_cap(1) == 2.0 and retry_cap(10) == 10.0 and retry_cap(300) == 30.0


def test_token_bucket_paces_to_its_rate() -> None:
    bucket = TokenBucket(rate=100.0, burst=10.0)
    assert bucket.take(0.0, 50) == 10
    assert bucket.take(0.0, 50) == 0 and abs(bucket.wait_s(0.0) - 0.01) < 1e-9
    assert bucket.take(0.5, 50) == 10  # capped by the burst
    assert bucket.take(0.55, 50) == 5


def test_robot_states_go_at_most_once_a_second_each_latest_first() -> None:
    states = RobotStates()
    states.changed("upsert", {"robot_id": "a", "n": 1})
    states.changed("upsert", {"robot_id": "b", "n": 1})
    assert [robot for robot, _ in states.take_due(10.0)] == ["a", "b"]
    states.changed("upsert", {"robot_id": "a", "n": 2})
    states.changed("upsert", {"robot_id": "a", "n": 3})
    assert states.take_due(10.5) == [] and states.next_due_s(10.5) == 0.5
    assert states.take_due(11.0) == [("a", b'{"robot_id":"a","n":3}')]
    states.changed("delete", {"robot_id": "b"})
    assert states.take_due(12.0) == [("b", CLEARED)] and "b" not in states.latest
    states.everything()
    assert [robot for robot, _ in states.take_due(12.0)] == ["a"]
