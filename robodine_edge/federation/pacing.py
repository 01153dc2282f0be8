"""How often the relay may try again and how fast it may replay. Pure: no I/O, no clock
of its own (the caller passes the time), so the rules are testable exactly."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from robodine_edge.domain.token_bucket import TokenBucket as TokenBucket  # the relay's replay pace (session.py)

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
