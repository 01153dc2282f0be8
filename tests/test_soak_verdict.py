"""The soak's verdict (bench/soak_drift.py): drift by least squares after the warm-up, and what
became of every order. Pure functions, so the judging is proved apart from a two-hour run."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest

from bench import soak_drift
from bench.soak import dinner_tz


def _samples(rss: Any, minutes: int = 120, every_s: int = 30, **extra: Any) -> list[dict[str, Any]]:
    out = []
    for n in range(minutes * 60 // every_s + 1):
        t = n * every_s
        sample = {
            "t_s": float(t),
            "rss_mb": rss(t) + 3.0,
            "replay_mb": 2.0,
            "sqlite_mb": 1.0,
            "rss_net_mb": rss(t),
            "fds": 50,
            "threads": 51,
            "wal_mb": 4.1,
            "open_orders": 3,
        }
        sample.update({k: v(t) for k, v in extra.items()})
        out.append(sample)
    return out


def test_the_slope_of_a_line_is_exact_with_no_error() -> None:
    per_hour, error = soak_drift.slope([(h, 70.0 + 3.0 * h) for h in (0.0, 0.5, 1.0, 1.5, 2.0)])
    assert per_hour == pytest.approx(3.0)
    assert error == pytest.approx(0.0, abs=1e-9)


def test_noise_around_a_flat_line_gives_a_small_slope_and_says_how_uncertain_it_is() -> None:
    rng = random.Random(7)
    points = [(n / 120, 80.0 + rng.gauss(0, 0.5)) for n in range(121)]
    per_hour, error = soak_drift.slope(points)
    assert abs(per_hour) < 4 * error
    assert 0.05 < error < 0.5


def test_too_few_points_have_no_slope() -> None:
    assert soak_drift.slope([]) == (0.0, 0.0)
    assert soak_drift.slope([(1.0, 5.0)]) == (0.0, 0.0)
    assert soak_drift.slope([(1.0, 5.0), (1.0, 6.0)]) == (0.0, 0.0)


def test_a_curve_that_rises_while_warming_up_and_then_settles_is_flat() -> None:
    """RSS filling caches for 20 minutes (+20 MB), then flat: only the second hour counts."""
    samples = _samples(lambda t: 66.0 + 20.0 * (1 - math.exp(-t / 300)))
    found = soak_drift.verdicts(samples, warmup_s=3600)
    assert found["rss_net_mb"]["ok"] is True
    assert found["rss_net_mb"]["per_hour"] < 0.1
    assert found["rss_net_mb"]["first"] > 85.9


def test_a_steady_leak_fails_and_its_rate_is_reported() -> None:
    samples = _samples(lambda t: 70.0 + 1.2 * t / 60)  # 1.2 MB a minute
    found = soak_drift.verdicts(samples, warmup_s=3600)
    assert found["rss_net_mb"]["ok"] is False
    assert found["rss_net_mb"]["per_hour"] == pytest.approx(72.0)
    assert all(found[name]["ok"] for name in ("fds", "threads", "wal_mb", "open_orders"))


def test_a_slow_leak_just_over_the_tolerance_fails() -> None:
    samples = _samples(lambda t: 80.0 + 2.5 * t / 3600)
    assert soak_drift.verdicts(samples, warmup_s=3600)["rss_net_mb"]["ok"] is False


def test_what_is_only_reported_has_no_verdict() -> None:
    samples = _samples(lambda t: 70.0 + 1.2 * t / 60)
    found = soak_drift.verdicts(samples, warmup_s=3600)
    assert found["rss_mb"]["per_hour"] == pytest.approx(72.0)
    assert found["rss_mb"]["ok"] is None and found["replay_mb"]["ok"] is None and found["sqlite_mb"]["ok"] is None


def test_no_samples_after_the_warm_up_is_no_verdict_not_a_pass() -> None:
    samples = _samples(lambda t: 80.0, minutes=10)
    found = soak_drift.verdicts(samples, warmup_s=3600)
    assert found["rss_net_mb"]["ok"] is None
    assert found["rss_net_mb"]["samples"] == 0


def test_the_database_is_judged_per_order_placed() -> None:
    samples = _samples(lambda t: 80.0, db_mb=lambda t: 1.0 + t / 3600, orders_placed=lambda t: int(t / 12))
    db = soak_drift.db_growth(samples, warmup_s=3600)  # 1 MB an hour for 300 orders an hour
    assert db["bytes_per_order"] == round(2**20 / 300)
    assert db["ok"] is True
    heavy = _samples(lambda t: 80.0, db_mb=lambda t: 1.0 + 100 * t / 3600, orders_placed=lambda t: int(t / 12))
    assert soak_drift.db_growth(heavy, warmup_s=3600)["ok"] is False


def _order(order_id: int, status: str, flagged: bool = False, reason: str | None = None) -> dict[str, Any]:
    return {"id": order_id, "status": status, "flagged": flagged, "flag_reason": reason}


def test_every_order_is_served_or_explained_and_none_is_lost() -> None:
    orders = [_order(1, "served"), _order(2, "cancelled"), _order(3, "ready", True, "no albabot could serve it"),
              _order(4, "served"), _order(9, "placed")]  # fmt: skip
    found = soak_drift.account(orders, acknowledged=[1, 4], cancelled_by_us=[2], last_id=5)
    assert found["ok"] is True
    counts = [found[k] for k in ("orders", "served", "explained", "unexplained", "lost")]
    assert counts == [4, 2, 2, 0, 0]
    assert found["explained_detail"]["3"] == "ready, flagged: no albabot could serve it"
    assert "9" not in found["unexplained_detail"]  # placed after the load stopped: not counted


def test_an_acknowledged_order_missing_is_lost() -> None:
    found = soak_drift.account([_order(1, "served")], acknowledged=[1, 2], cancelled_by_us=[], last_id=2)
    assert found["ok"] is False
    assert found["lost_ids"] == [2]


def test_an_order_left_open_unflagged_or_cancelled_by_no_one_we_know_is_unexplained() -> None:
    orders = [_order(1, "serving"), _order(2, "cancelled")]
    found = soak_drift.account(orders, acknowledged=[], cancelled_by_us=[], last_id=2)
    assert found["ok"] is False
    assert found["unexplained_detail"] == {"1": "still serving after the drain, not flagged",
                                           "2": "cancelled, not by the soak's staff"}  # fmt: skip


@pytest.mark.parametrize("utc_hour", range(24))
def test_the_services_clock_starts_the_rush_at_six_in_the_evening(utc_hour: int) -> None:
    from datetime import UTC, datetime

    tz = dinner_tz(datetime(2026, 12, 6, utc_hour, 30, tzinfo=UTC))
    east = -int(tz.removeprefix("SOAK"))  # POSIX: the offset is hours west of UTC
    assert -12 <= east <= 12
    assert (utc_hour + east) % 24 == 18
