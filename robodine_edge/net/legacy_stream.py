"""An original robot's plain legacy stream (docs/ROBOTS.md, "Legacy robots"): read, answered `OK` or `ERROR`, closed.

A connection starts as a robot link (`robot_link.LinkProtocol`), which tells a legacy
stream by its first object; from there `LegacyStreamProtocol` has the connection
(`transport.set_protocol`), with the bytes read so far and what is left of the 10 s
the link gives a hello. The stream is answered at EOF, or once its objects are
complete and it has been quiet for `LEGACY_QUIET_S` (the original robots wait for the
answer without closing their side); what `LegacyHandler` made of it decides the answer.
"""

from __future__ import annotations

import asyncio
import logging
from enum import StrEnum
from typing import TYPE_CHECKING

from robodine_edge.protocol.legacy import MAX_STREAM, stream_said_all
from robodine_edge.threads.loop_thread import LoopThread

if TYPE_CHECKING:
    from robodine_edge.net.legacy_link import LegacyHandler
    from robodine_edge.process.metrics import Metrics

# The robot link's logger: a legacy stream is a connection to the robot port like any link,
# and its closing lines read (and are filtered) as the link's always have.
log = logging.getLogger("robodine_edge.net.robot_link")
LEGACY_QUIET_S = 0.25
"""A legacy stream whose objects are complete is answered once no byte came for this
long, its sender's side still open: the original robots send, then wait up to 5 s for
`OK` without closing. Longer than the 200 ms a receiver may delay its ACK (during which
a sender's Nagle holds back a second small write of the same stream), short enough
for `OK` within a second."""


class StreamState(StrEnum):
    """Where a legacy stream is; each state says what a byte, an EOF or the deadline does."""

    READING = "reading"
    """Bytes are kept; EOF, quiet once complete, or the deadline (`ERROR`) ends it."""
    ANSWERING = "answering"
    """Taken as whole: later bytes are dropped, an EOF waits for the answer, which closes."""
    DRAINING = "draining"
    """Refused (too long, or not ended by the deadline), answered and our side ended: its
    rest is read and dropped until it ends, for `close_grace_s` at most."""


class LegacyStreamProtocol(asyncio.Protocol):
    """One legacy stream, from the moment the robot link recognised it. Event loop only.

    Its one write is an answer of a few bytes, so the link's bound on unsent bytes has
    nothing to bound here; its close is the link's (flushed, cut after `close_grace_s`)."""

    def __init__(self, handler: LegacyHandler, metrics: Metrics, peer: str, close_grace_s: float) -> None:
        self._handler = handler
        self._metrics = metrics
        self._peer = peer
        self._close_grace_s = close_grace_s
        self._state = StreamState.READING
        self._stream = bytearray()
        self._transport: asyncio.Transport  # from take_over on
        self._thread: LoopThread  # the loop's, from take_over on
        self._lost = False
        self._aborted = False
        self._deadline_timer: asyncio.TimerHandle | None = None
        self._quiet_timer: asyncio.TimerHandle | None = None
        self._cut_timer: asyncio.TimerHandle | None = None

    def take_over(self, transport: asyncio.Transport, read_so_far: bytes, deadline: float) -> None:
        """Event loop, from the link's protocol: install this one on `transport` (asyncio
        calls it from now on, `connection_lost` included), take the bytes the link read as
        if they came now, and answer `ERROR` at `deadline` (loop time) unless it ended."""
        self._thread = LoopThread()
        self._transport = transport
        self._deadline_timer = asyncio.get_running_loop().call_at(deadline, self._deadline)
        transport.set_protocol(self)
        self.data_received(read_so_far)

    # -- asyncio callbacks ----------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        self._thread.check(self, "data_received")
        if self._state is not StreamState.READING:
            return  # taken as whole (later bytes are dropped), or a refused stream's rest
        self._stream += data
        if len(self._stream) > MAX_STREAM:
            self._metrics.legacy_frames.labels("too_long").inc()
            self._reply(b"ERROR", still_sending=True)
        else:
            self._quiet_from_now()

    def eof_received(self) -> bool:
        self._thread.check(self, "eof_received")
        if self._state is StreamState.DRAINING:
            return False
        if self._state is StreamState.READING:
            self._answer()
        return True  # keep the socket open to answer OK / ERROR (answered quiet-but-open: it still goes out)

    def connection_lost(self, exc: Exception | None) -> None:
        self._thread.check(self, "connection_lost")
        self._lost = True
        for timer in (self._deadline_timer, self._quiet_timer, self._cut_timer):
            if timer is not None:
                timer.cancel()

    # -- timers ---------------------------------------------------------------------------

    def _deadline(self) -> None:
        """10 s after connecting: a stream not ended by then is answered `ERROR` (it would
        hold the socket and up to 1 MiB for ever). One being answered or drained has its own end."""
        if self._state is StreamState.READING:
            self._metrics.legacy_frames.labels("timeout").inc()
            self._reply(b"ERROR", still_sending=True)

    def _quiet_from_now(self) -> None:
        """Bytes came: the quiet interval starts again."""
        if self._quiet_timer is not None:
            self._quiet_timer.cancel()
        self._quiet_timer = asyncio.get_running_loop().call_later(LEGACY_QUIET_S, self._quiet)

    def _quiet(self) -> None:
        """Nothing came for `LEGACY_QUIET_S`: a sender waiting for its answer with its side
        open has said all it meant to once its objects are complete. One cut inside an
        object is still sending (or stalled: the deadline answers it)."""
        self._quiet_timer = None
        if self._state is StreamState.READING and stream_said_all(bytes(self._stream)):
            self._answer()

    # -- the answer -----------------------------------------------------------------------

    def _answer(self) -> None:
        """The stream is whole (EOF, or quiet): no more timeouts, one answer."""
        self._state = StreamState.ANSWERING
        self._stop_quiet()
        asyncio.get_running_loop().create_task(self._run(bytes(self._stream)))

    async def _run(self, stream: bytes) -> None:
        outcome = await self._handler.handle(stream)
        for result, count in outcome.counts().items():
            self._metrics.legacy_frames.labels(result).inc(count)
        self._reply(b"OK" if outcome.ok else b"ERROR")

    def _reply(self, answer: bytes, still_sending: bool = False) -> None:
        """Answer and close. A peer still sending (a stream refused for its size or its
        time) gets the answer and our end of the stream (half-close), and its rest is
        read and dropped until it ends (at most `close_grace_s`): closing on unread bytes
        would reset the connection and could lose the answer on its way."""
        self._metrics.legacy_answers.labels(answer.decode().lower()).inc()
        self._stop_quiet()
        if not self._transport.is_closing():
            self._transport.write(answer)
        if still_sending and self._transport.can_write_eof():  # TCP (legacy streams come only over TCP)
            self._state = StreamState.DRAINING
            self._transport.write_eof()
            self._cut_timer = asyncio.get_running_loop().call_later(
                self._close_grace_s, self._cut, "legacy stream too long"
            )
        else:
            self._close("legacy frames answered")

    # -- helpers --------------------------------------------------------------------------

    def _stop_quiet(self) -> None:
        if self._quiet_timer is not None:
            self._quiet_timer.cancel()
            self._quiet_timer = None

    def _close(self, reason: str) -> None:
        """Close after flushing the answer; a peer that does not read it within
        `close_grace_s` is cut, so the connection always ends."""
        if not self._transport.is_closing():
            log.info("closing robot link ? (%s): %s", self._peer, reason)
            self._transport.close()
            self._cut_timer = asyncio.get_running_loop().call_later(self._close_grace_s, self._cut, reason)

    def _cut(self, reason: str) -> None:
        """Drop the connection at once, discarding what is unsent."""
        if not (self._lost or self._aborted):
            log.warning("cutting robot link ? (%s): %s", self._peer, reason)
            self._aborted = True
            self._transport.abort()
