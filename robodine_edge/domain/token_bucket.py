"""A token bucket: at most `rate` a second on average, in bursts of up to `burst`.

Pure: no clock of its own (the caller passes the time), so a rule built on it is tested
with exact times. Used where a rate is a promise: the robots topic's updates per robot
(actors/robots/pace.py), telemetry handed to a robot's actor (net/telemetry.py), and
federation's replay (federation/session.py).

Why a bucket and not a fixed gap: a robot sending at exactly the cap arrives a little
early about half the time (its clock, the network, the scheduler), and "at least one
interval since the last" then holds every other message for the rest of the interval;
a bucket of two lends that jitter a token, while the average still keeps to the rate.
"""

from __future__ import annotations

from dataclasses import dataclass

SLACK = 1e-9
"""A token short by less than this counts as whole: 10.1 - 10.0 is 0.0999... in floats,
and a robot at exactly the rate must not wait for the rounding."""


@dataclass
class TokenBucket:
    """At most `rate` a second on average, bursts of up to `burst`; full at first."""

    rate: float
    burst: float
    tokens: float = 0.0
    stamp: float | None = None

    def take(self, now: float, wanted: int) -> int:
        """How many of `wanted` may go now (0 or more); those are spent."""
        self._refill(now)
        granted = min(wanted, int(self.tokens + SLACK))
        self.tokens = max(0.0, self.tokens - granted)
        return granted

    def ready(self, now: float) -> bool:
        """Whether one may go now (nothing is spent)."""
        self._refill(now)
        return self.tokens + SLACK >= 1

    def spend(self, now: float) -> None:
        """One went at `now`, allowed or not (what may not wait, such as a change of a
        robot's state): a token is spent if there is one, and the bucket never owes more
        than it holds, so what goes past the rate delays the rest by one token at most."""
        self._refill(now)
        self.tokens = max(0.0, self.tokens - 1)

    def wait_s(self, now: float) -> float:
        """Seconds until one more may go."""
        self._refill(now)
        return 0.0 if self.tokens + SLACK >= 1 else (1 - self.tokens) / self.rate

    def _refill(self, now: float) -> None:
        if self.stamp is None:
            self.stamp, self.tokens = now, self.burst
            return
        self.tokens = min(self.burst, self.tokens + max(0.0, now - self.stamp) * self.rate)
        self.stamp = max(self.stamp, now)
