"""How often the relay may try again and how fast it may replay. Pure: no I/O, no clock
of its own (the caller passes the time), so the rules are testable exactly."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

FIRST_RETRY_S = 0.5
MAX_RETRY_S = 30.0


@dataclass
class Backoff:
    """Jittered exponential backoff: 0.5 s doubling up to `cap_s`, each delay drawn
    between half and all of the step, so a chain's stores that lost the broker together
    do not all come back in the same instant."""

    cap_s: float = MAX_RETRY_S
    step_s: float = FIRST_RETRY_S
    rng: random.Random = field(default_factory=random.Random)

    def next_delay(self) -> float:
        delay = self.rng.uniform(self.step_s / 2, self.step_s)
        self.step_s = min(self.step_s * 2, self.cap_s)
        return delay

    def reset(self) -> None:
        self.step_s = FIRST_RETRY_S


def retry_cap(keepalive_s: float) -> float:
    """Reconnection backs off up to the keepalive, kept between 2 and 30 s: a store told
    to notice a dead broker within seconds comes back within seconds too."""
    return min(max(keepalive_s, 2.0), MAX_RETRY_S)


@dataclass
class TokenBucket:
    """At most `rate` a second on average, bursts of up to `burst`."""

    rate: float
    burst: float
    tokens: float = 0.0
    stamp: float | None = None

    def take(self, now: float, wanted: int) -> int:
        """How many of `wanted` may go now (0 or more); those are spent."""
        self._refill(now)
        granted = min(wanted, int(self.tokens))
        self.tokens -= granted
        return granted

    def wait_s(self, now: float) -> float:
        """Seconds until one more may go."""
        self._refill(now)
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def _refill(self, now: float) -> None:
        if self.stamp is None:
            self.stamp, self.tokens = now, self.burst
            return
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
