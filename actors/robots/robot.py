"""One actor per registered robot: its live state, its link, its commands.

The network room hands this actor what arrives for its robot (frames, telemetry,
link loss) as messages, legacy frames as an ask, and a `RobotLink` to write through; the actor
never touches a socket. A `Tick` every second drives what needs time: re-sending
commands not acknowledged within 5 s (what is owed is kept by the `Outbox`,
actors/robots/outbox.py), handing the last known state and a pose sample (1 Hz by default)
to the recorder, which writes the whole fleet's every 10 s (actors/robots/recorder.py),
and noticing that a legacy robot went quiet (for longer than its own pace of reports
allows: `LegacyPace`, actors/robots/legacy_pace.py). The `robots` topic is
rate-limited per robot (the rules are `RobotPace`'s, actors/robots/pace.py); a move held
by the limit is announced when the interval ends, by an `Announce` the shared `Timer`
tells back (actors/timer.py). The robot's first `status` after each hello goes to the
dispatcher with the ids of the commands the link carried since (`on_rejoin`), for it to
tell whether the robot still has its task.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any, ParamSpec, TypeVar

import pykka
from peewee import PeeweeException

from robodine_edge.actors.base import CrashListener, SupervisedActor, TypedProxy, proxy_method
from robodine_edge.actors.robots.legacy_pace import LegacyPace
from robodine_edge.actors.robots.messages import (
    Announce,
    CommandOwed,
    LinkClosed,
    LinkFrame,
    RobotLink,
    RobotSnapshot,
    TelemetryIn,
    Tick,
    Wake,
)
from robodine_edge.actors.robots.outbox import Outbox, PendingCommand
from robodine_edge.actors.robots.pace import RobotPace, moved
from robodine_edge.actors.robots.recorder import Recorded, RecorderProxy
from robodine_edge.actors.storage.journal import Journal
from robodine_edge.actors.storage.writer import Writer
from robodine_edge.actors.supervisor import ActorSlot
from robodine_edge.clock import utcnow
from robodine_edge.data import robots as data
from robodine_edge.data.robots import KnownState, PoseSample, RobotRecord, token_matches
from robodine_edge.domain.dispatch import no_commands
from robodine_edge.errors import AuthFailed, RobodineError, TimedOut, Unavailable
from robodine_edge.protocol import link as wire
from robodine_edge.protocol.legacy import LegacyAlbabot, LegacyCookbot
from robodine_edge.protocol.pose import Pose
from robodine_edge.protocol.telemetry import Telemetry
from robodine_edge.types import SERVICE_STOPPING, Publish

log = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")
WRITE_TIMEOUT_S = 10.0
WRITE_ERRORS = (RobodineError, PeeweeException)
"""What a blocking write can fail with: the store gone or late (`Unavailable`,
`TimedOut`), or the database refusing the unit."""


class RobotActor(SupervisedActor):
    """All methods run in this robot's own thread."""

    def __init__(
        self,
        robot_id: str,
        writer: Writer,
        recorder: ActorSlot[RecorderProxy],
        journal: Journal,
        publish: Publish,
        on_change: Callable[[RobotSnapshot], None],
        on_task: Callable[[str, int, str, Any], None] = lambda robot_id, command_id, state, detail: None,
        on_state: Callable[[RobotSnapshot], None] = lambda snapshot: None,
        on_rejoin: Callable[[RobotSnapshot, frozenset[int]], None] = lambda snapshot, carried: None,
        *,
        heartbeat_s: float = 2.0,
        persist_interval_s: float = 1.0,
        publish_interval_s: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
        wake: Wake | None = None,
        crash_listener: CrashListener | None = None,
    ) -> None:
        super().__init__(crash_listener=crash_listener)
        self._robot_id = robot_id
        self._wake = wake
        self._writer = writer
        self._recorder = recorder
        self._journal = journal
        self._publish = publish
        self._on_change = on_change
        self._on_task = on_task
        self._on_state = on_state
        self._on_rejoin = on_rejoin
        self._pace = RobotPace(publish_interval_s, persist_interval_s)
        self._clock = clock
        self._link: RobotLink | None = None
        self._outbox = Outbox()
        self._carried: set[int] = set()  # commands the link carried since its hello (one int each)
        self._first_status_due = False  # linked, and its first status not yet told to the dispatcher
        self._samples: list[PoseSample] = []
        self._sampled: Pose | None = None
        self._legacy_pace = LegacyPace(heartbeat_s)

    def on_start(self) -> None:
        self._flush_recorder()  # a restarted actor reloads the state its last instance handed over
        record, open_commands = self._write(data.load_robot, self._robot_id)
        self._record: RobotRecord = record
        self.snap = RobotSnapshot(
            record.robot_id, record.kind, record.name, record.legacy, record.legacy_cook_addr,
            False, record.state, record.battery, record.pose, record.joints, None, record.last_seen,
        )  # fmt: skip
        for command in open_commands:
            self._outbox.add(command.id, wire.command_frame(command.id, command.name, command.args))

    def on_reachable(self) -> None:
        """Restarted, and now in the robot's slot: a fleet-wide command (`emergency_stop`,
        `resume`, `dock`) recorded for this robot after `on_start` read its open commands
        was told to the dead instance (`CommandOwed`, a dead letter), so it would never be
        sent again: not after an ack lost, nor after the robot's next hello (a robot offline
        at a resume stayed frozen). Its open commands are read again; one not owed here yet
        (nor withdrawn) is owed now, and sent at once if the robot is linked."""
        _, open_commands = self._write(data.load_robot, self._robot_id)
        for command in open_commands:
            if not self._outbox.owes(command.id) and not self._outbox.withdrawn(command.id):
                entry = self._outbox.add(command.id, wire.command_frame(command.id, command.name, command.args))
                if self._link is not None:
                    self._send(entry)

    def on_stop(self) -> None:
        if self._link is not None:
            self._link.close(SERVICE_STOPPING)
        self._persist(force=True)

    # -- commands (ask) -----------------------------------------------------------------

    def snapshot(self) -> RobotSnapshot:
        return self.snap

    def connect(self, hello: wire.Hello, link: RobotLink) -> None:
        """A robot said hello on `link`: check it, then make that link the robot's."""
        if hello.kind != self._record.kind or not token_matches(hello.token, self._record.token_hash):
            raise AuthFailed(f"robot {hello.robot_id}: wrong token or kind")
        if self._link is not None and self._link.session != link.session:
            self._link.close("replaced by a new connection")
        if not self.snap.online:
            self._link_event(True, "hello")
        self._link = link
        self._carried = set()
        self._first_status_due = True
        self._change(online=True, last_seen=utcnow(), name=hello.name or self.snap.name)
        for entry in self._outbox.pending():
            self._send(entry)

    def command(
        self, name: str, args: dict[str, Any], user_id: int | None, task_id: int | None = None
    ) -> dict[str, Any]:
        """Record a command, send it now if the robot is connected, else on reconnect. A
        legacy robot never connects: its commands are refused (`Conflict`), not kept."""
        if self._record.legacy:
            raise no_commands(self._robot_id, self._record.kind)
        online = self._link is not None
        created = self._write(data.create_command, self._robot_id, name, args, user_id, task_id, online)
        entry = self._outbox.add(created["id"], wire.command_frame(created["id"], name, args))
        if online:
            self._send(entry)
        self._publish("commands", "upsert", created)
        return created

    def resend(self, command_id: int) -> bool:
        """The dispatcher's ask when this robot, linking again, said it is at rest without
        the task this command carries (the edge restarted, or the robot did): the command
        is owed again and sent now (or on the next hello), with its own id — a robot that
        did finish it, its `done` still on the way, acknowledges it without doing it again.
        False if it ended meanwhile, or if the link carried it since its hello: the status
        the dispatcher judged came before the command (the dispatcher handed the robot the
        task on that very status), so says nothing about it. Reopened, a command the robot
        had acked and started was stored `sent` again and sent at every hello after. Asked
        from the dispatcher's thread; runs in this robot's."""
        if command_id in self._carried:
            log.info(
                "robot %s: the link carried command %d since its hello; not sent again", self._robot_id, command_id
            )
            return False
        command = self._write(data.reopen_command, self._robot_id, command_id)
        if command is None:
            return False
        entry = self._outbox.add(command.id, wire.command_frame(command.id, command.name, command.args))
        if self._link is not None:
            self._send(entry)
        log.info("robot %s: linked again at rest without command %d; sent it again", self._robot_id, command_id)
        return True

    def withdraw(self, command_id: int, reason: str) -> None:
        """The dispatcher took this command's task from the robot (offline, nack, failed,
        stuck, overridden, cancelled): drop the command from the outbox, so neither the 5 s
        re-send nor a reconnect sends it again (the task may be another robot's by now),
        and record it `cancelled` with the reason. What the robot reports about it later
        is ignored. Asked from the dispatcher's thread; runs in this robot's, and waits on
        no one (the write is committed behind it and published from the writer's thread)."""
        self._outbox.withdraw(command_id)
        if self.snap.current_task == command_id:
            self._change(current_task=None)
        future = self._writer.write(data.withdraw_command, self._robot_id, command_id, reason)
        future.add_done_callback(self._publish_command)

    def update(self, changes: dict[str, Any]) -> RobotSnapshot:
        self._record = self._write(data.update_robot, self._robot_id, changes)
        self._change(name=self._record.name, legacy=self._record.legacy, legacy_cook_addr=self._record.legacy_cook_addr)
        return self.snap

    def set_token(self, token_hash: str) -> None:
        """A new token: the robot must say hello again with it."""
        self._record = replace(self._record, token_hash=token_hash)
        if self._link is not None:
            self._link.close("token rotated")

    # -- what arrives (tell) -------------------------------------------------------------

    def on_receive(self, message: object) -> object:
        if isinstance(message, LinkFrame):
            if self._link is not None and message.session == self._link.session:
                self._frame(message.frame)
        elif isinstance(message, TelemetryIn):
            self._telemetry(message.batch)
        elif isinstance(message, LinkClosed):
            self._link_closed(message)
        elif isinstance(message, CommandOwed):
            self._owed(message)
        elif isinstance(message, Tick):
            self._tick()
        elif isinstance(message, Announce):
            if self._pace.trailing_ended(self.snap):
                self._announce()
        else:
            return super().on_receive(message)
        return None

    def _frame(self, frame: wire.Frame) -> None:
        now = utcnow()
        if isinstance(frame, wire.Status):
            self._change(
                state=frame.state,
                battery=_or(frame.battery, self.snap.battery),
                pose=frame.pose or self.snap.pose,
                last_seen=now,
            )
            if self._first_status_due:
                self._first_status()
        elif isinstance(frame, wire.Ack):
            self._carry(frame.id)
            if self._outbox.answered(frame.id):
                self._command_changed(frame.id, {"status": "acked", "acked_at": now})
        elif isinstance(frame, wire.Nack):
            self._carry(frame.id)
            if not self._late(frame.id, "nack"):
                self._outbox.answered(frame.id)
                self._command_changed(frame.id, {"status": "nacked", "reason": frame.reason, "finished_at": now})
                self._on_task(self._robot_id, frame.id, "nacked", frame.reason)
        elif isinstance(frame, wire.TaskUpdate):
            self._carry(frame.task_id)
            if not self._late(frame.task_id, frame.state):
                self._task_update(frame, now)
        elif isinstance(frame, wire.RobotEvent):
            self._journal.commit(data.robot_event, self._robot_id, frame.code, frame.level, frame.message)
        self._change(last_seen=now)

    def _owed(self, message: CommandOwed) -> None:
        """A fleet-wide command (`emergency_stop`, `resume`, `dock`), recorded with the rest of the
        fleet's in one unit and written by the loop to every link in one turn: owed here
        like any other command (re-sent every 5 s until acked, and after a reconnect). Told
        by the loop after it wrote the frames (so before anything the robot answers), or by
        the dispatcher when no loop runs; published by the dispatcher as it commits. Written
        to this actor's link: only kept. A newer link than the one written to gets it now;
        with no link it waits, `pending`, for the next hello."""
        entry = self._outbox.add(message.command_id, message.frame)
        if self._link is not None and self._link.session == message.session:
            self._carry(entry.id)
            self._outbox.sent(entry, self._clock())
        elif self._link is not None:
            self._send(entry)
        else:
            self._command_changed(entry.id, {"status": "pending", "sent_at": None, "sends": 0})

    def _first_status(self) -> None:
        """The robot's first status since its hello says what it is doing now: the
        dispatcher is told, with the commands the link carried meanwhile, and decides
        whether the robot still has its task. Told after the status's own changes, so the
        dispatcher sees the robot as it is now."""
        self._first_status_due = False
        self._on_rejoin(self.snap, frozenset(self._carried))

    def _carry(self, command_id: int) -> None:
        """The link carried this command (sent, or answered or reported on by the robot)."""
        if self._link is not None:
            self._carried.add(command_id)

    def _late(self, command_id: int, what: str) -> bool:
        """True for a report on a command withdrawn from this robot: it changes nothing
        (no task state, no order moved; the dispatcher is not even told)."""
        if not self._outbox.withdrawn(command_id):
            return False
        log.info("robot %s: %s for withdrawn command %d ignored", self._robot_id, what, command_id)
        return True

    def _task_update(self, update: wire.TaskUpdate, now: Any) -> None:
        self._outbox.answered(update.task_id)
        if update.state == "started":
            self._change(current_task=update.task_id)
            self._command_changed(update.task_id, {"status": "running"})
        elif update.state in ("done", "failed"):
            if self.snap.current_task == update.task_id:
                self._change(current_task=None)
            reason = update.detail if update.state == "failed" else None  # text, shortened by the codec
            self._command_changed(update.task_id, {"status": update.state, "finished_at": now, "reason": reason})
        self._on_task(self._robot_id, update.task_id, update.state, update.detail)

    def _telemetry(self, batch: tuple[Telemetry, ...]) -> None:
        """Every datagram of the batch, in order: live state at full rate. The `telemetry`
        topic is published by the UDP endpoint itself. A change of state is made (and so
        announced) as it comes, with the motion before it; the motion after the last one
        is made once, at the end: the batch's last pose is the one worth announcing."""
        snap = self.snap
        pose, battery, state, joints = snap.pose, snap.battery, snap.state, snap.joints
        last = len(batch) - 1
        for index, telemetry in enumerate(batch):
            pose = telemetry.pose
            battery = _or(telemetry.battery, battery)
            joints = telemetry.joints if telemetry.joints is not None else joints
            changed_state = telemetry.state is not None and telemetry.state != state
            state = telemetry.state or state
            if changed_state or index == last:
                self._change(pose=pose, battery=battery, state=state, joints=joints, last_seen=utcnow())

    def legacy(self, frame: LegacyAlbabot | LegacyCookbot) -> None:
        """A legacy frame for this robot (asked, so `OK` goes back only once it is applied).

        A legacy robot reports by connecting, sending and closing: heard means online."""
        self._legacy_pace.heard(self._clock())
        now = utcnow()
        if not self.snap.online:
            self._link_event(True, "legacy frame")
        if isinstance(frame, LegacyAlbabot):
            self._change(
                online=True,
                state=frame.state,
                battery=_or(frame.battery, self.snap.battery),
                pose=frame.poses["world"],
                last_seen=now,
            )
            self._samples.extend((self._robot_id, name, pose, now) for name, pose in frame.poses.items())
        else:
            self._change(online=True, state=frame.state, joints=frame.joints, pose=frame.endpoint, last_seen=now)
            self._samples.append((self._robot_id, "cookbot", frame.endpoint, now))
        self._announce()  # shown before `OK` as well, not at the rate limit's next turn
        self._persist(force=True, wait=True)  # stored before `OK`: the old robots send seldom

    def _link_closed(self, message: LinkClosed) -> None:
        if self._link is None or message.session != self._link.session:
            return
        self._link = None
        self._carried = set()
        self._first_status_due = False
        self._went_offline(message.reason)

    def _went_offline(self, reason: str) -> None:
        """Reached by tell (link loss, legacy silence): a write that fails must not kill
        the actor, and the robot is offline whether or not its event could be recorded."""
        try:
            self._link_event(False, reason)
        except WRITE_ERRORS as exc:
            log.error("robot %s: could not record going offline (%s): %s", self._robot_id, reason, exc)
        self._change(online=False)
        self._persist(force=True)  # its last `last_seen` too: pings are not saved as they come

    def _link_event(self, online: bool, reason: str) -> None:
        """Commit `robot_online`/`robot_offline` before the state shows it, so whoever sees
        the change finds its event too."""
        self._journal.publish([self._write(data.link_event, self._robot_id, online, reason)])

    def _tick(self) -> None:
        now = self._clock()
        if self._link is not None:
            for entry in self._outbox.due(now):
                self._send(entry)
        elif self.snap.online and self._record.legacy and self._legacy_pace.gone_quiet(now):
            silent, allowed = self._legacy_pace.silence(now), self._legacy_pace.allowed_silence()
            self._went_offline(f"no legacy frame for {silent:.1f} s (its pace allows {allowed:.1f} s)")
        if self._pace.worth_repeating(self.snap, now):
            self._announce()
        self._persist()

    # -- helpers -------------------------------------------------------------------------

    def _send(self, entry: PendingCommand) -> None:
        assert self._link is not None
        self._link.send(entry.frame)
        self._carry(entry.id)
        if self._outbox.sent(entry, self._clock()):
            log.info("robot %s: re-sent command %d (no ack)", self._robot_id, entry.id)
        self._command_changed(entry.id, {"status": "sent", "sent_at": utcnow()})

    def _command_changed(self, command_id: int, changes: dict[str, Any]) -> None:
        future = self._writer.write(data.update_command, self._robot_id, command_id, changes)
        future.add_done_callback(self._publish_command)

    def _publish_command(self, future: Any) -> None:
        """Runs on the writer's thread once a command change is committed."""
        try:
            command = future.get(timeout=0)
        except Exception as exc:
            log.error("robot %s: could not record a command change: %s", self._robot_id, exc)
            return
        if command is not None:
            self._publish("commands", "upsert", command)

    def _change(self, **changes: Any) -> None:
        before = self.snap
        self.snap = replace(before, **changes)
        if self.snap == before:
            return
        self._pace.changed(before, self.snap)
        if self._pace.worth_announcing(before, self.snap, self._clock()):
            self._announce()
        elif moved(before, self.snap):
            self._announce_later()

    def _announce_later(self) -> None:
        """A motion change held by the rate limit is announced when the interval ends
        (the trailing edge), so the last pose of a burst never waits for the next tick."""
        if self._wake is None or not self._pace.hold():
            return
        self._wake(self._pace.trailing_delay(self._clock()), self.actor_ref, Announce())

    def _announce(self) -> None:
        """Tell the hub and the fleet; the dispatcher only what it chooses robots by."""
        now = self._clock()
        self._pace.announced(self.snap, now)
        # The fleet first: a robots snapshot (read from the fleet) taken after the hub
        # numbered this change must already include it.
        self._on_change(self.snap)
        self._publish("robots", "upsert", self.snap.json())
        if self._pace.worth_telling_state(self.snap, now):
            self._on_state(self.snap)

    def _persist(self, force: bool = False, wait: bool = False) -> None:
        """Hand the state and a pose sample to the recorder, which writes them with the
        rest of the fleet's: at most every `persist_interval_s` and only after a change of
        state, battery, pose or joints; or now, `last_seen` included (`force`: offline,
        stopping, a legacy frame), and committed before returning (`wait`)."""
        due = self._pace.persist_due(self._clock(), force)
        if not due and not (force and self._samples):
            return
        if self.snap.pose is not None and self.snap.pose != self._sampled and not self._record.legacy:
            self._samples.append((self._robot_id, "world", self.snap.pose, utcnow()))
            self._sampled = self.snap.pose
        samples, self._samples = tuple(self._samples), []
        snap = self.snap
        state = KnownState(self._robot_id, snap.state, snap.battery, snap.pose, snap.joints, snap.last_seen)
        self._recorder.tell(Recorded(state, samples))
        if wait:
            self._flush_recorder(raising=True)

    def _flush_recorder(self, raising: bool = False) -> None:
        """Ask the recorder to write what it holds, and wait for the commit. Only a legacy
        frame (stored before its `OK`) needs it done: starting, a failure is logged."""
        try:
            self._recorder.proxy.flush().get(timeout=WRITE_TIMEOUT_S)
        except (RobodineError, pykka.ActorDeadError, pykka.Timeout) as exc:
            if raising:
                raise Unavailable(f"robot {self._robot_id}: its state could not be saved: {exc}") from exc
            log.warning("robot %s: the recorder did not write what it held (%s)", self._robot_id, exc)

    def _write(self, unit: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """A committed write, waited for; raises one of `WRITE_ERRORS`."""
        try:
            return self._writer.write(unit, *args, **kwargs).get(timeout=WRITE_TIMEOUT_S)
        except pykka.Timeout:
            raise TimedOut(f"the database writer did not answer within {WRITE_TIMEOUT_S:g} s") from None


def _or(value: float | None, fallback: float | None) -> float | None:
    return fallback if value is None else value


class RobotProxy(TypedProxy):
    """A robot actor as the link, the fleet, the dispatcher and HTTP reach it (`ActorSlot[RobotProxy]`)."""

    snapshot = proxy_method(RobotActor.snapshot)
    connect = proxy_method(RobotActor.connect)
    command = proxy_method(RobotActor.command)
    resend = proxy_method(RobotActor.resend)
    withdraw = proxy_method(RobotActor.withdraw)
    update = proxy_method(RobotActor.update)
    set_token = proxy_method(RobotActor.set_token)
    legacy = proxy_method(RobotActor.legacy)
