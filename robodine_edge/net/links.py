"""Which robot is connected on which link, as the event loop sees it.

The registry lives on the loop: the TCP and serial links write to it at handshake and
close, and the telemetry endpoint reads it for every datagram (session check, seq
order) without a round trip to any actor, and hears from it when a robot's link goes.
`FleetLinks` writes a fleet-wide command (an emergency stop) to every linked robot
through it, in one turn of the loop.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from robodine_edge.actors.robots.messages import CommandOwed, FleetCommand
from robodine_edge.process.metrics import LabelChildren, Metrics

if TYPE_CHECKING:
    from robodine_edge.actors.robots.fleet import RobotDirectory
    from robodine_edge.net.legacy_link import LegacyHandler

log = logging.getLogger(__name__)


class Closable(Protocol):
    def close_link(self, reason: str) -> None: ...

    def send_bytes(self, data: bytes) -> None: ...


@dataclass
class LinkEntry:
    session: str
    link: Closable
    last_seq: int = -1


@dataclass
class LinkRegistry:
    """robot id → its current link and session. Event-loop thread only."""

    links: dict[str, LinkEntry] = field(default_factory=dict)
    detach_listeners: list[Callable[[str], None]] = field(default_factory=list)
    """Called with the robot id when a robot's current link goes (not when a newer link
    of the robot replaced it): what is kept per linked robot elsewhere can go with it."""

    @staticmethod
    def new_session() -> str:
        return secrets.token_urlsafe(12)

    def attach(self, robot_id: str, session: str, link: Closable) -> None:
        """Make `link` the robot's; an older link of that robot is closed."""
        old = self.links.get(robot_id)
        self.links[robot_id] = LinkEntry(session, link)
        if old is not None and old.link is not link:
            old.link.close_link("replaced by a new connection")

    def detach(self, robot_id: str, session: str) -> None:
        """The link of `session` closed; the robot has no link now if it was its current one."""
        entry = self.links.get(robot_id)
        if entry is not None and entry.session == session:
            del self.links[robot_id]
            for listener in self.detach_listeners:
                listener(robot_id)

    def session_of(self, robot_id: str) -> LinkEntry | None:
        return self.links.get(robot_id)

    def close_all(self, reason: str) -> None:
        for entry in list(self.links.values()):
            entry.link.close_link(reason)


class LoopLink:
    """A `RobotLink` for actors: writes and closes happen on the loop, called from any thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop, target: Closable, session: str) -> None:
        self._loop = loop
        self._target = target
        self.session = session

    def send(self, data: bytes) -> None:
        self._call(self._target.send_bytes, data)

    def close(self, reason: str) -> None:
        self._call(self._target.close_link, reason)

    def _call(self, fn: Any, arg: Any) -> None:
        try:
            self._loop.call_soon_threadsafe(fn, arg)
        except RuntimeError:
            log.debug("link %s: the event loop is closed", self.session)


class FleetLinks:
    """The `FleetSend` of the service: a fleet-wide command reaches every robot in one
    loop turn. One robot actor after another, each writing through its own `LoopLink`,
    would cost a thread wake-up and a loop callback per robot; here every frame is
    written to its robot's current link (the registry's) in one callback, and only then
    is each robot actor told (`CommandOwed`, with the session written to), so it keeps
    the command owed until acked, re-sends it as it would any other, and sends it itself
    on a link the registry did not have yet (a hello still being checked)."""

    def __init__(self, registry: LinkRegistry) -> None:
        self._registry = registry
        self._attached: tuple[asyncio.AbstractEventLoop, RobotDirectory] | None = None

    def attach(self, loop: asyncio.AbstractEventLoop, robots: RobotDirectory) -> None:
        """Event loop, as the robot link starts: the loop to write on, and the robot actors'
        directory to tell."""
        self._attached = (loop, robots)

    def send_threadsafe(self, batch: Sequence[FleetCommand]) -> bool:
        """Any thread: queue the batch for the loop. False when no loop takes it (not
        started, or closed): the caller then tells the robot actors itself."""
        attached = self._attached
        if attached is None:
            return False
        loop, robots = attached
        try:
            loop.call_soon_threadsafe(self._send, robots, batch)
        except RuntimeError:  # the loop has closed
            return False
        return True

    def _send(self, robots: RobotDirectory, batch: Sequence[FleetCommand]) -> None:
        """Event loop: every frame first, then the tells."""
        written: dict[str, str] = {}
        for item in batch:
            entry = self._registry.session_of(item.robot_id)
            if entry is not None:
                entry.link.send_bytes(item.frame)
                written[item.robot_id] = entry.session
        for item in batch:
            slot = robots.find(item.robot_id)
            if slot is not None:  # a dead one's next instance reloads the command as still open
                slot.tell(CommandOwed(item.command["id"], item.frame, written.get(item.robot_id)))


@dataclass
class LinkContext:
    """What every link needs from the service; built once by the composition root."""

    registry: LinkRegistry
    robots: RobotDirectory
    """Slots of the robot actors."""
    metrics: Metrics
    heartbeat_s: float
    udp_port: int | None
    video_port: int | None
    ask_timeout_s: float
    legacy: LegacyHandler | None = None
    """Set when legacy frames are accepted."""
    frames: LabelChildren = field(init=False, repr=False)
    """`robodine_link_frames_total` by result, shared by every link."""

    def __post_init__(self) -> None:
        self.frames = LabelChildren(self.metrics.link_frames)
