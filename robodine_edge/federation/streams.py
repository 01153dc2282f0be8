"""Which events the relay sends next: a live stream and a replay, both in seq order.

On each connection, everything headquarters has not acknowledged up to the newest
event (`head`) is the **replay**, re-sent oldest first at a limited rate and never more
than `window` past the last `ack`, so a day's backlog neither floods the broker (which
queues only so much for a consumer) nor starves new events. Everything committed after
that is the **live** stream, sent as it comes. Each stream keeps seq order; headquarters
stores by `(store, event_id)` and acknowledges the highest seq below which it has every
event, so it is fine for the two to interleave.

The last `ack` received is the truth: a higher one skips what it covers, a lower one
(a new headquarters, or one that lost data) makes everything after it a replay again.
If the ack stays behind what was sent for `resend_s` (the broker dropped messages for a
consumer that was away), the replay starts again from it, at a growing interval.

Pure state; the relay (event loop) drives it.
"""

from __future__ import annotations

from dataclasses import dataclass

WINDOW = 500
RESEND_S = 60.0
MAX_RESEND_S = 3600.0


@dataclass
class Streams:
    acked: int = 0
    """Headquarters' watermark: every seq up to it is stored there."""
    head: int = 0
    """The newest committed seq known."""
    live_sent: int = 0
    """The last seq the live stream sent (the replay covers everything up to it)."""
    replay_next: int = 1
    replay_end: int = 0
    window: int = WINDOW
    resend_s: float = RESEND_S
    _ack_moved_at: float = 0.0
    _resend_after_s: float = RESEND_S

    def connected(self, now: float) -> None:
        """A new connection: whatever is not acknowledged is sent again."""
        self.replay_next = self.acked + 1
        self.replay_end = self.live_sent = self.head
        self._ack_moved_at = now
        self._resend_after_s = self.resend_s

    def saw(self, seq: int) -> None:
        self.head = max(self.head, seq)

    def ack(self, seq: int, now: float) -> bool:
        """An `ack` arrived; returns whether it moved the watermark."""
        if seq == self.acked:
            return False
        if seq < self.acked:  # lower than before: what follows it is owed again
            self.replay_end = max(self.replay_end, self.live_sent)
            self.replay_next = seq + 1
        self.acked = seq
        self.replay_next = max(self.replay_next, seq + 1)
        self._ack_moved_at = now
        self._resend_after_s = self.resend_s
        return True

    def replay_range(self) -> tuple[int, int] | None:
        """(after, upto) of the next replay read, or None while the replay is done or
        must wait for an ack (`window`)."""
        upto = min(self.replay_end, self.acked + self.window)
        if self.replay_next > upto:
            return None
        return self.replay_next - 1, upto

    def replayed(self, seq: int) -> None:
        self.replay_next = max(self.replay_next, seq + 1)

    def sent_live(self, seq: int) -> None:
        self.live_sent = max(self.live_sent, seq)
        self.head = max(self.head, seq)

    def check_stalled(self, now: float) -> bool:
        """Start the replay again from the ack when it has not moved for the resend
        interval while sent events wait for it (the interval doubles each time, up to
        an hour, until the ack moves)."""
        sent = max(self.live_sent, self.replay_next - 1)
        if self.acked >= sent or now - self._ack_moved_at < self._resend_after_s:
            return False
        if self.replay_range() is not None:
            return False  # still replaying: the window holds it back anyway
        self.replay_next = self.acked + 1
        self.replay_end = max(self.replay_end, self.live_sent)
        self._ack_moved_at = now
        self._resend_after_s = min(self._resend_after_s * 2, MAX_RESEND_S)
        return True

    @property
    def backlog(self) -> int:
        """Events not yet acknowledged."""
        return max(self.head - self.acked, 0)
