"""A robot's command outbox: what is still owed to the robot, and what no longer is.

The link (docs/ROBOTS.md) has the edge send a command until the robot acknowledges it: again every
`RESEND_AFTER_S` while the link is up, and all of it after every reconnect. A command
leaves the outbox when the robot answers it (ack, nack, a task report) or when the
dispatcher withdraws it (its task went to another robot, or was cancelled); withdrawn
ids are remembered, a bounded number of them, so what the robot reports about them late
is recognised and ignored.

Bookkeeping only, kept apart from the actor so the re-send rules can be tested without
a link: no I/O, no clock of its own, no locks. Every method runs on the owning robot
actor's thread (actors/robots/robot.py), which sends the frames and records their status.
"""

from __future__ import annotations

from dataclasses import dataclass

RESEND_AFTER_S = 5.0
WITHDRAWN_KEPT = 256
"""Withdrawn command ids remembered, to ignore what the robot reports about them late."""


@dataclass(slots=True)
class PendingCommand:
    """A command sent (or to send) and not yet acknowledged; `sent_at` on the actor's clock."""

    id: int
    frame: bytes
    sent_at: float | None = None


class Outbox:
    """Commands owed to one robot, oldest first, and the ids withdrawn from it."""

    def __init__(self, resend_after_s: float = RESEND_AFTER_S, withdrawn_kept: int = WITHDRAWN_KEPT) -> None:
        self._resend_after_s = resend_after_s
        self._withdrawn_kept = withdrawn_kept
        self._pending: dict[int, PendingCommand] = {}
        self._withdrawn: dict[int, None] = {}  # oldest first, at most `withdrawn_kept`

    def add(self, command_id: int, frame: bytes) -> PendingCommand:
        """Owe the robot a command (recorded, or reloaded as still open), not yet sent."""
        command = PendingCommand(command_id, frame)
        self._pending[command_id] = command
        return command

    def owes(self, command_id: int) -> bool:
        return command_id in self._pending

    def pending(self) -> list[PendingCommand]:
        """Everything owed, oldest first: what a (re)connected robot is sent at once."""
        return list(self._pending.values())

    def due(self, now: float) -> list[PendingCommand]:
        """What to send on a tick with the link up: never sent, or unacknowledged for
        `resend_after_s`."""
        return [c for c in self._pending.values() if c.sent_at is None or now - c.sent_at >= self._resend_after_s]

    def sent(self, command: PendingCommand, at: float) -> bool:
        """The frame was written to the link at `at`; True if it had been sent before."""
        resend = command.sent_at is not None
        command.sent_at = at
        return resend

    def answered(self, command_id: int) -> bool:
        """The robot answered the command (ack, nack, a task report): it is owed no more.
        True if it was still owed."""
        return self._pending.pop(command_id, None) is not None

    def withdraw(self, command_id: int) -> None:
        """The command's task was taken from this robot: never send it again, and know
        its id when the robot reports on it later (the oldest id is forgotten past the cap)."""
        self._pending.pop(command_id, None)
        self._withdrawn[command_id] = None
        if len(self._withdrawn) > self._withdrawn_kept:
            del self._withdrawn[next(iter(self._withdrawn))]

    def withdrawn(self, command_id: int) -> bool:
        """Whether a report on this command comes too late to change anything."""
        return command_id in self._withdrawn
