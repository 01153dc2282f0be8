"""The robot link on the event loop (docs/ROBOTS.md, "The link"): one `LinkProtocol` per connection.

A connection starts waiting for `hello` (10 s at most). The robot's actor checks the
token; then the edge answers `welcome`, the registry records the session, and every
later frame goes to that actor as a message. Frames the actor sends before the
`welcome` has been written are held back, so a robot always sees `welcome` first; and
lines the robot sent right behind its hello wait (reading paused, at most
`MAX_HELD_LINES`) until the hello is settled, then are handled in order.

Bad input never crashes anything: each bad line is answered with `bad_frame`, and the
10th in a row closes the link. A link with no complete line for 3 heartbeats is closed
and its robot goes offline. With `legacy.enabled`, a TCP connection starts by telling
whether it is an original robot's plain stream (its first object carries `msg_type`):
such a stream is handed, with the bytes read so far, to a `LegacyStreamProtocol`
(`legacy_stream.py`), which has the connection from then on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections import deque
from enum import StrEnum
from typing import Any, cast

import pykka

from robodine_edge.actors.robots.messages import LinkClosed, LinkFrame
from robodine_edge.actors.robots.robot import RobotProxy
from robodine_edge.actors.supervisor import ActorSlot
from robodine_edge.errors import AuthFailed, RobodineError
from robodine_edge.net.legacy_stream import LegacyStreamProtocol
from robodine_edge.net.links import LinkContext, LoopLink
from robodine_edge.protocol import link as wire
from robodine_edge.protocol.legacy import starts_legacy
from robodine_edge.threads import bridge
from robodine_edge.threads.loop_thread import LoopThread

log = logging.getLogger(__name__)
HELLO_TIMEOUT_S = 10.0
MAX_BAD_IN_A_ROW = 10
MAX_HELD_LINES = 64
"""Lines kept while a hello is checked (reading is paused meanwhile); more are dropped."""
MAX_WRITE_BUFFER = 1024 * 1024
"""Unsent bytes to one robot past which it counts as not reading: the link is cut."""
SEND_BUFFER_BYTES = 256 * 1024
"""The kernel's send buffer per robot socket: fixed, so what a stalled robot costs is
`MAX_WRITE_BUFFER` plus this, and its stall is noticed after that much, not 4 MiB more."""
CLOSE_GRACE_S = 2.0
"""How long a closing link may take to flush before it is cut anyway."""


class LinkMode(StrEnum):
    """What a connection's bytes are read as; a legacy stream leaves for a protocol of its own."""

    DETECT = "detect"
    """The first bytes are kept until they tell a link from a legacy stream (TCP with legacy on)."""
    LINK = "link"
    """Lines: the hello, then frames."""


class LinkProtocol(asyncio.Protocol):
    """One robot connection (TCP, or a serial port through its adapter). Event loop only."""

    def __init__(self, ctx: LinkContext, transport_name: str = "tcp") -> None:
        self._ctx = ctx
        self._name = transport_name
        self._transport: asyncio.Transport  # from connection_made on
        # The loop's thread, from connection_made on (a serial port's protocol is made on its device thread).
        self._thread: LoopThread
        self._peer = "?"
        self._splitter = wire.LineSplitter()
        # Legacy robots speak TCP only: their stream ends at EOF, which a serial port never gives.
        self._mode = LinkMode.DETECT if ctx.legacy is not None and transport_name == "tcp" else LinkMode.LINK
        self._prefix = bytearray()
        self._robot_id: str | None = None
        self._session: str | None = None
        self._welcomed = False
        self._held: list[bytes] = []
        self._bad = 0
        self._last_rx = time.monotonic()
        self._timer: asyncio.TimerHandle | None = None
        self._closing_reason = "connection lost"
        self._authenticating = False
        self._waiting = False  # the hello is being checked (or the link re-attached): lines wait in `_early`
        self._hello: wire.Hello | None = None
        self._actor: pykka.ActorRef[Any] | None = None  # the robot actor instance that took this link
        self._early: deque[bytes | wire.TooLong] = deque()
        self._lost = False
        self._aborted = False
        self._cut_timer: asyncio.TimerHandle | None = None

    # -- asyncio callbacks ----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._thread = LoopThread()
        self._transport = cast(asyncio.Transport, transport)  # a stream's (TCP, or serial's adapter)
        self._peer = str(transport.get_extra_info("peername") or self._name)
        sock = transport.get_extra_info("socket")
        if sock is not None:  # TCP; a serial transport has none
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)
        self._timer = asyncio.get_running_loop().call_later(HELLO_TIMEOUT_S, self._hello_timeout)

    def data_received(self, data: bytes) -> None:
        self._thread.check(self, "data_received")
        if self._mode is LinkMode.DETECT:
            self._detect(data)
        else:
            self._feed(data)

    def eof_received(self) -> bool:
        self._thread.check(self, "eof_received")
        if self._mode is LinkMode.DETECT and self._prefix.strip():
            return self._to_legacy().eof_received()  # a stream that ends before telling is a legacy one
        if self._splitter.pending.strip():
            self._take(self._splitter.pending)
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._thread.check(self, "connection_lost")
        self._lost = True
        for timer in (self._timer, self._cut_timer):
            if timer is not None:
                timer.cancel()
        if self._robot_id is not None and self._session is not None:
            self._ctx.registry.detach(self._robot_id, self._session)
            self._tell_actor_closed(self._closing_reason)

    def pause_writing(self) -> None:
        """The transport's buffer passed its high-water mark (asyncio says so once, not on
        every write after it); the bound itself is checked at each write, in `_write`."""
        self._check_backlog()

    # -- what actors call (through LoopLink, on the loop) --------------------------------

    def send_bytes(self, data: bytes) -> None:
        self._thread.check(self, "send_bytes")
        if not self._welcomed:
            self._held.append(data)
        else:
            self._write(data)

    def close_link(self, reason: str) -> None:
        """Close after flushing what is queued; a peer that does not read within
        `CLOSE_GRACE_S` is cut, so the link always ends (and the robot goes offline)."""
        self._thread.check(self, "close_link")
        if not self._transport.is_closing():
            log.info("closing robot link %s (%s): %s", self._robot_id or "?", self._peer, reason)
            self._closing_reason = reason
            self._transport.close()
            self._cut_timer = asyncio.get_running_loop().call_later(CLOSE_GRACE_S, self._cut, reason)

    def _cut(self, reason: str) -> None:
        """Drop the connection at once, discarding what is unsent."""
        if not (self._lost or self._aborted):
            log.warning("cutting robot link %s (%s): %s", self._robot_id or "?", self._peer, reason)
            self._aborted = True
            self._closing_reason = reason
            self._transport.abort()

    def _check_backlog(self) -> None:
        if self._transport.get_write_buffer_size() > MAX_WRITE_BUFFER:
            self._cut(f"robot is not reading its link (over {MAX_WRITE_BUFFER // 1024} KiB unsent)")

    # -- frames -------------------------------------------------------------------------

    def _feed(self, data: bytes) -> None:
        for line in self._splitter.feed(data):
            self._take(line)

    def _take(self, line: bytes | wire.TooLong) -> None:
        """Handle a line now, or keep it while the hello is checked (a robot may write hello
        and its first frames in one go; the welcome comes first) or while the link is being
        handed to a restarted actor."""
        if not self._waiting:
            self._line(line)
        elif len(self._early) < MAX_HELD_LINES:
            self._early.append(line)
        else:
            self._count("held_over")

    def _stop_waiting(self) -> None:
        """The hello (or hand-over) is settled: take the lines that came meanwhile, in order, then read on
        (unless one of them found the actor restarted, and the wait begins again)."""
        self._waiting = False
        while self._early and not self._waiting and not self._transport.is_closing():
            self._line(self._early.popleft())
        if self._waiting:
            return
        self._early.clear()
        if not self._transport.is_closing():
            self._transport.resume_reading()

    def _line(self, line: bytes | wire.TooLong) -> None:
        """One complete line (or the mark of an over-long one). Only a whole line counts as
        hearing from the robot: bytes that never end a line are no heartbeat (docs/ROBOTS.md, "Liveness").
        Every line is counted once in `robodine_link_frames_total`, by what became of it."""
        if isinstance(line, wire.TooLong):
            return self._bad_frame("too_long", "frame over 64 KiB")
        self._last_rx = time.monotonic()
        try:
            frame = wire.decode_frame(line)
        except wire.BadFrame as exc:
            if exc.kind == "hello" and self._session is None and not self._authenticating:
                log.warning("robot link %s: hello refused: %s", self._peer, exc.reason)
                return self._refuse("auth_failed")  # a hello gets welcome or auth_failed
            return self._bad_frame(exc.cause, exc.reason)
        self._bad = 0
        if self._session is None:
            self._before_welcome(frame)
        elif isinstance(frame, wire.Hello):
            self._count("already_linked")
            self._write(wire.error_frame("already_linked", "this link already said hello"))
        else:
            self._deliver(line, frame)
        return None

    def _deliver(self, line: bytes, frame: wire.Frame) -> None:
        """Tell the frame to the actor instance that holds this link. If the supervisor
        replaced it, the frame waits (first in line) until the new one has the link."""
        slot = self._robot_slot()
        if slot is None:
            return self._count("no_robot")
        if self._actor is not None and self._session is not None and not self._actor_replaced(slot):
            try:
                self._actor.tell(LinkFrame(self._session, frame))
                return self._count("ok")
            except pykka.ActorDeadError:
                pass
        self._early.appendleft(line)
        self._reattach()
        return None

    def _before_welcome(self, frame: wire.Frame) -> None:
        if not isinstance(frame, wire.Hello):
            self._count("hello_required")
            self._write(wire.error_frame("hello_required", "the first frame must be hello"))
            return
        self._authenticating = self._waiting = True
        self._transport.pause_reading()
        asyncio.get_running_loop().create_task(self._authenticate(frame))

    def _bad_frame(self, cause: str, reason: str) -> None:
        self._bad += 1
        self._count(cause)
        self._write(wire.error_frame("bad_frame", reason))
        if self._bad >= MAX_BAD_IN_A_ROW:
            self.close_link(f"{MAX_BAD_IN_A_ROW} bad frames in a row")

    async def _authenticate(self, hello: wire.Hello) -> None:
        if hello.proto != wire.PROTO_VERSION:
            return self._refuse("unsupported_proto", f"this edge speaks proto {wire.PROTO_VERSION}")
        slot = self._ctx.robots.find(hello.robot_id)
        if slot is None:
            return self._refuse("auth_failed")
        session = self._ctx.registry.new_session()
        refused = await self._hand_over(slot, hello, session)
        if refused is not None:
            return self._refuse(*refused)
        self._count("ok")
        self._robot_id, self._session, self._hello = hello.robot_id, session, hello
        if self._transport.is_closing():
            self._tell_actor_closed("closed during the handshake")
            return None
        self._welcome()
        return None

    async def _hand_over(
        self, slot: ActorSlot[RobotProxy], hello: wire.Hello, session: str
    ) -> tuple[str, str | None] | None:
        """Ask the robot's actor (its current instance) to check `hello` and take this link
        as `session`. None when it did; else the error code and message to refuse with."""
        try:
            proxy = slot.proxy
            await bridge.wait(
                proxy.connect(hello, LoopLink(asyncio.get_running_loop(), self, session)), self._ctx.ask_timeout_s
            )
        except AuthFailed:
            log.warning("robot link %s: hello refused for %s", self._peer, hello.robot_id)
            return "auth_failed", None
        except RobodineError as exc:
            return "unavailable", exc.message
        except pykka.ActorDeadError:
            return "unavailable", "the robot's actor is not running"
        self._actor = proxy.actor_ref
        return None

    # -- a restarted robot actor ----------------------------------------------------------

    def _actor_replaced(self, slot: ActorSlot[RobotProxy]) -> bool:
        """Whether the actor instance that took this link is no longer the one in the
        robot's `slot`: the supervisor restarted it (or is about to), and the new one
        knows of no link."""
        return self._actor is None or slot.ref is not self._actor or not self._actor.is_alive()

    def _reattach(self) -> None:
        """Hand the live link to the robot actor's new instance: reading pauses and lines
        wait, as during the hello, so none reaches an actor that would drop it."""
        if self._waiting or self._transport.is_closing():
            return
        log.info("robot %s: its actor was restarted; handing it the live link", self._robot_id)
        self._waiting = True
        self._transport.pause_reading()
        asyncio.get_running_loop().create_task(self._run_reattach())

    async def _run_reattach(self) -> None:
        """The same hello, checked again by the new instance (a token rotated meanwhile
        refuses it), and the same session, so telemetry goes on. If no new instance comes
        within the ask timeout (the actor was given up), the link is closed instead."""
        assert self._hello is not None and self._session is not None
        slot = await self._new_instance()
        refused: tuple[str, str | None] | None = ("unavailable", "the robot's actor is not running")
        if slot is not None:
            refused = await self._hand_over(slot, self._hello, self._session)
        if refused is not None:
            self._early.clear()
            self._write(wire.error_frame(*refused))
            return self.close_link(f"the robot's restarted actor did not take the link ({refused[0]})")
        if self._transport.is_closing():
            self._tell_actor_closed(self._closing_reason)
            return None
        log.info("robot %s: link handed to its restarted actor", self._robot_id)
        self._stop_waiting()
        return None

    async def _new_instance(self) -> ActorSlot[RobotProxy] | None:
        """The robot's slot once it holds a live instance other than the old one; None if
        the robot was deleted or none came within the ask timeout. The slot says when
        the supervisor installs one (`ActorSlot.when_installed`): no polling."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._ctx.ask_timeout_s
        while True:
            slot = self._robot_slot()
            if slot is None:
                return None
            installed: asyncio.Future[None] = loop.create_future()

            def wake(_ref: pykka.ActorRef[Any], installed: asyncio.Future[None] = installed) -> None:
                """The supervisor's thread."""
                loop.call_soon_threadsafe(_settle, installed)

            slot.when_installed(wake)
            try:
                if slot.is_alive() and slot.ref is not self._actor:  # checked after watching: none missed
                    return slot
                await asyncio.wait_for(installed, max(0.0, deadline - loop.time()))
            except TimeoutError:
                return None
            finally:
                slot.unwatch(wake)

    def _welcome(self) -> None:
        assert self._robot_id is not None and self._session is not None
        self._ctx.registry.attach(self._robot_id, self._session, self)
        self._write(wire.welcome_frame(self._session, self._ctx.heartbeat_s, self._ctx.udp_port, self._ctx.video_port))
        self._welcomed = True
        for data in self._held:
            self._write(data)
        self._held.clear()
        log.info("robot %s linked over %s (%s)", self._robot_id, self._name, self._peer)
        self._stop_waiting()
        self._watch()

    def _refuse(self, code: str, message: str | None = None) -> None:
        """The hello is refused: counted by its error code, answered, and the link closed."""
        self._count(code)
        for _ in range(len(self._early)):  # what came behind a refused hello is never handled
            self._count("hello_required")
        self._early.clear()
        self._write(wire.error_frame(code, message))
        self.close_link(f"hello refused: {code}")

    # -- timers ---------------------------------------------------------------------------

    def _hello_timeout(self) -> None:
        """10 s after connecting: a link without a hello is closed (a legacy stream has
        this deadline too, kept by its own protocol from the hand-over on)."""
        if self._session is None and not self._authenticating:
            self._write(wire.error_frame("hello_timeout", f"no hello within {HELLO_TIMEOUT_S:g} s"))
            self.close_link("no hello")

    def _watch(self) -> None:
        """Every heartbeat: hand the link to a restarted actor even if the robot sent nothing
        since (so the robot's commands and its eventual loss reach the new instance), and
        close the link once it has been silent for 3 heartbeats."""
        slot = None if self._waiting else self._robot_slot()
        if slot is not None and self._actor_replaced(slot):  # a deleted robot's actor stopping closes this link
            self._reattach()
        silent = time.monotonic() - self._last_rx
        limit = 3 * self._ctx.heartbeat_s
        if silent > limit:
            self.close_link(f"no frame for {silent:.1f} s (3 heartbeats)")
            return
        wait = min(self._ctx.heartbeat_s, limit - silent + 0.05)
        self._timer = asyncio.get_running_loop().call_later(wait, self._watch)

    # -- telling a legacy stream --------------------------------------------------------

    def _detect(self, data: bytes) -> None:
        self._prefix += data
        verdict = starts_legacy(bytes(self._prefix))
        if verdict is None and len(self._prefix) <= wire.MAX_LINE:
            return
        if verdict:
            self._to_legacy()
            return
        self._mode = LinkMode.LINK
        prefix, self._prefix = bytes(self._prefix), bytearray()
        self._feed(prefix)

    def _to_legacy(self) -> LegacyStreamProtocol:
        """The connection is a legacy stream: its own protocol takes it over, with the bytes
        read so far and the hello's deadline, and asyncio calls that one from now on. This
        one's hello timer stops; it has no other yet (a cut timer comes with a close, and a
        closing transport reads nothing more, so no stream is told after one)."""
        assert self._ctx.legacy is not None and self._timer is not None  # detecting: legacy on, no hello yet
        self._timer.cancel()
        stream = LegacyStreamProtocol(self._ctx.legacy, self._ctx.metrics, self._peer, CLOSE_GRACE_S)
        stream.take_over(self._transport, bytes(self._prefix), deadline=self._timer.when())
        self._prefix = bytearray()
        return stream

    # -- helpers --------------------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        """Every write to the robot goes here, so the bound on unsent bytes holds for all."""
        if not self._transport.is_closing():
            self._transport.write(data)
            self._check_backlog()

    def _robot_slot(self) -> ActorSlot[RobotProxy] | None:
        """The linked robot's slot (None before its hello, or once it is deleted)."""
        return self._ctx.robots.find(self._robot_id) if self._robot_id is not None else None

    def _count(self, result: str) -> None:
        self._ctx.frames[result].inc()

    def _tell_actor_closed(self, reason: str) -> None:
        slot = self._robot_slot()
        if slot is not None and self._session is not None:
            slot.tell(LinkClosed(self._session, reason))


def _settle(installed: asyncio.Future[None]) -> None:
    """On the loop: a new instance was installed (once, whoever saw it first)."""
    if not installed.done():
        installed.set_result(None)
