"""Which robot is connected on which link, as the event loop sees it.

The registry lives on the loop: the TCP and serial links write to it at handshake and
close, and the telemetry endpoint reads it for every datagram (session check, seq
order) without a round trip to any actor, and hears from it when a robot's link goes.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from robodine_edge.metrics import LabelChildren, Metrics

if TYPE_CHECKING:
    from robodine_edge.actors.fleet import RobotDirectory
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
