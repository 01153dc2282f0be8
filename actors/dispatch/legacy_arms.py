"""Cook tasks handed to legacy arms, which take dish names as plain text, not commands.

A legacy arm has no command log and sends no task updates: the dispatcher gives the
dish names to a sender (`net/legacy_cook.py`, on the loop) and reads the arm's progress
from the state it reports (`domain.dispatch.legacy_step`). Whether the names got there
comes back to the dispatcher as a `LegacySent` tell, like every other event.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import pykka

from robodine_edge.actors.dispatch.messages import LegacySent
from robodine_edge.domain.dispatch import RobotView

log = logging.getLogger(__name__)

LegacyCook = Callable[[str, list[str]], "Future[None]"]
"""Sends plain-text dish names to a legacy arm's address (host:port)."""


class LegacyArms:
    """The dispatcher's way to its legacy arms; called on the dispatcher's thread."""

    def __init__(self, cook: LegacyCook | None) -> None:
        self._cook = cook

    def address(self, robot: RobotView) -> str | None:
        """Where to send the robot's dishes; None without a sender (the service has one, some
        tests do not) or without the arm's address."""
        return robot.legacy_cook_addr if self._cook is not None and robot.legacy_cook_addr else None

    def send(self, address: str, names: list[str], task_id: int, reply_to: Any) -> None:
        """Hand the names over to an `address()` gave (so there is a sender); how it went
        is told to `reply_to` when the send ends."""
        assert self._cook is not None
        sent = self._cook(address, names)
        sent.add_done_callback(lambda f: _tell(reply_to, LegacySent(task_id, _error(f))))


def _error(sent: Future[None]) -> str | None:
    return None if sent.exception() is None else str(sent.exception())


def _tell(ref: Any, message: Any) -> None:
    """Runs on whichever thread ends the send (the loop, as a rule)."""
    try:
        ref.tell(message)
    except pykka.ActorDeadError:
        log.info("dispatcher restarted; it reloads its tasks from SQLite")
