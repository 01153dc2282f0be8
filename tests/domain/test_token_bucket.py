"""The token bucket behind the robots topic's rate and telemetry's tells, on exact times."""

from __future__ import annotations

from robodine_edge.domain.token_bucket import TokenBucket


def test_full_at_first_then_one_token_per_interval() -> None:
    bucket = TokenBucket(rate=10.0, burst=2.0)
    assert bucket.ready(5.0)
    bucket.spend(5.0)
    bucket.spend(5.0)
    assert not bucket.ready(5.0) and abs(bucket.wait_s(5.0) - 0.1) < 1e-9
    assert not bucket.ready(5.09) and bucket.ready(5.1), "10.1 - 10.0 is 0.0999... in floats: still a whole token"
    assert bucket.take(5.1, 5) == 1 and bucket.take(5.1, 5) == 0


def test_what_may_not_wait_spends_what_there_is_and_owes_nothing() -> None:
    bucket = TokenBucket(rate=10.0, burst=2.0)
    for _ in range(5):
        bucket.spend(1.0)  # five changes of state in a row: never below empty
    assert abs(bucket.wait_s(1.0) - 0.1) < 1e-9, "one whole token away, not four"


def test_never_more_than_the_burst_and_a_clock_going_back_adds_nothing() -> None:
    bucket = TokenBucket(rate=10.0, burst=2.0)
    bucket.spend(0.0)
    assert bucket.take(100.0, 10) == 2, "an hour idle still lends only the burst"
    assert bucket.take(99.0, 10) == 0 and not bucket.ready(100.05)
    assert bucket.ready(100.1)
