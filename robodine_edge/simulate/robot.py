"""One simulated robot: the link, the heartbeat, telemetry, and doing what it is told.

All coroutines run on the simulator's event loop. Durations are divided by `speed`
(`--speed 10` makes a 30 s serve take 3 s), so tests can run a whole shift quickly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import orjson

from robodine_edge.protocol import link as wire
from robodine_edge.protocol.pose import Pose
from robodine_edge.protocol.telemetry import Telemetry, encode_telemetry
from robodine_edge.simulate.camera import SimCamera
from robodine_edge.simulate.motion import DOCK, KITCHEN_PASS, Body, arm_joints, cooking_time_s
from robodine_edge.simulate.stopping import Stopped, unless_stopped

log = logging.getLogger(__name__)
STEP_S = 0.1
WELCOME_TIMEOUT_S = 5.0
"""How long a robot that never linked waits for the answer to its hello: an edge answers
at once; a port silent that long (an HTTP server waits for the rest of a request) is
not a robot port."""
FINAL_REFUSALS = frozenset({"auth_failed", "unsupported_proto"})
"""Hello answers that no retry can change: the robot stops instead of reconnecting."""


class HelloRefused(Exception):
    """The edge refused this robot's hello for good (wrong token or kind, or protocol).

    Not an `OSError`: a lost link is retried, a refusal is not."""


class NotRobotProtocol(Exception):
    """What answered the hello does not speak the robot link (an HTTP port, say): final
    too, and for the whole fleet, which all dials the same port."""


@dataclass
class Behaviour:
    """How a simulated robot misbehaves, for tests: `--behave ROBOT=WHAT`."""

    fail_tasks: bool = False
    stuck: bool = False
    nack_tasks: bool = False
    drop_after_s: float | None = None
    battery: float | None = None

    @classmethod
    def parse(cls, text: str) -> Behaviour:
        behaviour = cls()
        for part in filter(None, text.split(",")):
            name, _, value = part.partition(":")
            if name == "fail":
                behaviour.fail_tasks = True
            elif name == "stuck":
                behaviour.stuck = True
            elif name == "nack":
                behaviour.nack_tasks = True
            elif name == "drop-after":
                behaviour.drop_after_s = float(value)
            elif name == "battery":
                behaviour.battery = float(value)
            else:
                raise ValueError(f"unknown behaviour {name!r} (fail, stuck, nack, drop-after:S, battery:P)")
        return behaviour


@dataclass
class SimRobot:
    robot_id: str
    kind: str
    token: str
    home: tuple[float, float]
    speed: float = 1.0
    telemetry_hz: float = 10.0
    behaviour: Behaviour = field(default_factory=Behaviour)
    camera: SimCamera | None = None
    """Its camera, sending while the robot is linked."""
    state: str = "idle"
    body: Body = field(init=False)
    frozen: bool = False
    held_state: str = "idle"
    """What the robot was doing when an emergency stop froze it, to return to on resume."""
    seen: set[int] = field(default_factory=set)
    task: asyncio.Task[None] | None = None
    trip_home: asyncio.Task[None] | None = None
    """The drive back after a delivery: the robot is idle meanwhile, and a new task ends it."""
    writer: asyncio.StreamWriter | None = None
    unsent: list[dict[str, Any]] = field(default_factory=list)
    """Task updates made while unlinked (the edge restarting): sent after the next welcome."""
    linked: bool = False
    """Welcomed at least once (the fleet's exit code says whether every robot was)."""
    video_port: int | None = None
    """The edge's camera port, from the welcome of the link up now (None while unlinked)."""

    def __post_init__(self) -> None:
        self.body = Body(*self.home)
        if self.behaviour.battery is not None:
            self.body.battery = self.behaviour.battery

    # -- the connection --------------------------------------------------------------------

    async def run(self, host: str, port: int, stop: asyncio.Event) -> None:
        """Stay connected (reconnecting with backoff) until `stop` is set or the robot drops.
        `NotRobotProtocol` if the port answers like something else."""
        backoff = 0.5
        started = time.monotonic()
        while not stop.is_set():
            try:
                dropped = await unless_stopped(self._session(host, port, stop, started), stop)
                backoff = 0.5
                if dropped:
                    log.warning("%s: dropped off as told", self.robot_id)
                    return
            except HelloRefused as exc:
                log.error("%s: %s; this robot stops (check its token and kind)", self.robot_id, exc)
                return
            except Stopped:
                return
            except (OSError, asyncio.IncompleteReadError, ConnectionError) as exc:
                log.info("%s: link lost (%s); reconnecting", self.robot_id, exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), backoff)
            backoff = min(backoff * 2, 10.0)

    async def _session(self, host: str, port: int, stop: asyncio.Event, started: float) -> bool:
        reader, writer = await asyncio.open_connection(host, port, limit=wire.MAX_LINE * 2)
        self.writer = writer
        hello = {
            "type": "hello",
            "robot_id": self.robot_id,
            "kind": self.kind,
            "token": self.token,
            "proto": 1,
            "name": self.robot_id,
        }
        self._send(hello)
        try:
            welcome = await self._welcome(reader)
        except BaseException:
            writer.close()
            raise
        loop = asyncio.get_running_loop()
        udp, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol, remote_addr=(host, welcome["udp_port"]))
        log.info("%s: linked (session %s)", self.robot_id, welcome["session"])
        video_port = welcome.get("video_port")
        self.linked, self.video_port = True, video_port if isinstance(video_port, int) and video_port > 0 else None
        self._status()
        unsent, self.unsent = self.unsent, []
        for frame in unsent:  # what happened while the edge was away, in order
            self._send(frame)
        background = [
            loop.create_task(self._heartbeat(float(welcome["heartbeat_s"]))),
            loop.create_task(self._telemetry(udp, welcome["session"])),
        ]
        if self.camera is not None:
            background.append(loop.create_task(self.camera.run(host, lambda: self.video_port)))
        dropped = False
        try:
            while not stop.is_set():
                if (
                    self.behaviour.drop_after_s is not None
                    and time.monotonic() - started >= self.behaviour.drop_after_s
                ):
                    dropped = True
                    break
                try:
                    line = await asyncio.wait_for(reader.readline(), 0.2)
                except TimeoutError:
                    continue
                if not line:
                    raise ConnectionError("the edge closed the link")
                self._received(orjson.loads(line))
        finally:
            self.video_port = None
            for task in background:
                task.cancel()
            udp.close()
            writer.close()
            if dropped and self.task is not None:
                self.task.cancel()
        return dropped

    async def _welcome(self, reader: asyncio.StreamReader) -> dict[str, Any]:
        """The edge's answer to the hello, if it is a welcome. A refusal raises
        `HelloRefused` (for good) or `ConnectionError` (try again); an answer no edge
        gives (HTTP, not JSON, nothing at all before a first link) `NotRobotProtocol`."""
        try:
            line = await asyncio.wait_for(reader.readline(), WELCOME_TIMEOUT_S)
        except TimeoutError:
            if self.linked:  # this port did welcome us: a busy edge, not a wrong port
                raise ConnectionError("no answer to the hello") from None
            raise NotRobotProtocol(f"no answer to the hello within {WELCOME_TIMEOUT_S:g} s") from None
        except ValueError:  # a line past the reader's limit: no edge says that much
            raise NotRobotProtocol("an answer longer than any frame") from None
        if line.startswith(b"HTTP/"):
            raise NotRobotProtocol(f"an HTTP answer: {line.strip()[:60].decode(errors='replace')}")
        try:
            answer = orjson.loads(line or b"{}")
        except orjson.JSONDecodeError:
            raise NotRobotProtocol(f"an answer that is not JSON: {line[:40]!r}") from None
        if not isinstance(answer, dict):
            raise NotRobotProtocol(f"an answer that is not a JSON object: {line[:40]!r}")
        if answer.get("type") != "welcome":
            code = answer.get("code", "no answer")
            if code in FINAL_REFUSALS:
                raise HelloRefused(f"the edge refused the hello ({code})")
            raise ConnectionError(f"hello not welcomed ({code})")
        return answer

    def _send(self, frame: dict[str, Any]) -> None:
        """Write a frame if linked; a task update made while unlinked is kept for later,
        so a task finished while the edge restarts is not done again."""
        if self.writer is not None and not self.writer.is_closing():
            self.writer.write(wire.encode(frame))
        elif frame.get("type") == "task_update":
            self.unsent.append(frame)

    def _status(self) -> None:
        self._send(
            {"type": "status", "state": self.state, "battery": round(self.body.battery, 1), "pose": self._pose().json()}
        )

    def _pose(self) -> Pose:
        return Pose(round(self.body.x, 3), round(self.body.y, 3), 0.0, 0.0, 0.0, round(self.body.yaw, 3))

    async def _heartbeat(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval / 2)
            self._send({"type": "ping"})

    async def _telemetry(self, udp: asyncio.DatagramTransport, session: str) -> None:
        seq = 0
        while True:
            await asyncio.sleep(1.0 / self.telemetry_hz)
            seq += 1
            joints = arm_joints(time.monotonic(), self.state == "cooking") if self.kind == "cookbot" else None
            sample = Telemetry(
                self.robot_id, session, seq, self._pose(), round(self.body.battery, 2), self.state, joints
            )
            udp.sendto(encode_telemetry(sample))

    # -- commands ------------------------------------------------------------------------

    def _received(self, frame: dict[str, Any]) -> None:
        if frame.get("type") != "command":
            return
        command_id, name, args = frame["id"], frame["name"], frame.get("args") or {}
        if command_id in self.seen:
            self._send({"type": "ack", "id": command_id})  # a re-send: acknowledged, not redone
            return
        self.seen.add(command_id)
        if name in ("stop", "emergency_stop", "resume"):
            self._send({"type": "ack", "id": command_id})
            self._control(name)
            self._send({"type": "task_update", "task_id": command_id, "state": "done"})
            return
        refusal = self._refusal()
        if refusal is not None:
            self._send({"type": "nack", "id": command_id, "reason": refusal})
            return
        self._send({"type": "ack", "id": command_id})
        if self.trip_home is not None:
            self.trip_home.cancel()
        self.task = asyncio.get_running_loop().create_task(self._perform(command_id, name, args))

    def _refusal(self) -> str | None:
        """Why a new task cannot start now (a real robot refuses work while on a task or e-stopped)."""
        if self.behaviour.nack_tasks:
            return "refused"
        if self.frozen:
            return "emergency stop"
        if self._busy():
            return "busy"
        return None

    def _busy(self) -> bool:
        return self.task is not None and not self.task.done()

    def _control(self, name: str) -> None:
        """`emergency_stop` freezes the robot where it is until `resume`, task and all;
        `stop` abandons the task and leaves the robot standing, ready for the next command."""
        if name == "emergency_stop":
            if not self.frozen:
                self.held_state = self.state
            self.frozen, self.state = True, "emergency"
        elif name == "resume":
            self._resume()
        else:
            self._abandon_task()
        self._status()

    def _resume(self) -> None:
        if not self.frozen:
            return
        self.frozen = False
        charging = self.held_state == "charging"
        self.state = self.held_state if self._busy() or charging else "idle"
        if charging:
            asyncio.get_running_loop().create_task(self._charge())

    def _abandon_task(self) -> None:
        if self.task is not None:
            self.task.cancel()  # it reports `failed: stopped` for its own command
        if self.trip_home is not None:
            self.trip_home.cancel()
        self.task = None
        if self.frozen:
            self.held_state = "idle"
        else:
            self.state = "idle"

    async def _perform(self, command_id: int, name: str, args: dict[str, Any]) -> None:
        def update(state: str, detail: Any = None) -> None:
            self._send({"type": "task_update", "task_id": command_id, "state": state, "detail": detail})

        update("started")
        try:
            if self.behaviour.stuck:
                await asyncio.Event().wait()
            if self.behaviour.fail_tasks:
                await self._pause(1.0)
                update("failed", "simulated failure")
                return
            await self._do(name, args, update)
            update("done")
        except asyncio.CancelledError:
            update("failed", "stopped")
            raise
        finally:
            if self.task is asyncio.current_task():  # not a task abandoned for another
                if self.state not in ("emergency", "charging"):
                    self.state = "idle"
                self._status()

    async def _do(self, name: str, args: dict[str, Any], update: Any) -> None:
        if name == "cook":
            self._set_state("cooking")
            await self._pause(cooking_time_s(args.get("items") or []))
        elif name == "serve":
            self._set_state("serving")
            await self._move(KITCHEN_PASS)
            await self._pause(1.0)
            table = args.get("table") or {}
            await self._move((float(table.get("x", 0)), float(table.get("y", 0))))
            update("progress", "at the table")
            await self._pause(1.0)  # handed over: served (the drive home is no part of the task)
            self.trip_home = asyncio.get_running_loop().create_task(self._move(self.home))
        elif name == "clean":
            self._set_state("cleaning")
            await self._pause(4.0)
        elif name == "go_to":
            self._set_state("moving")
            await self._move((float(args["x"]), float(args["y"])))
        elif name == "dock":
            self._set_state("moving")
            await self._move(DOCK)
            self._set_state("charging")
            asyncio.get_running_loop().create_task(self._charge())

    def _set_state(self, state: str) -> None:
        self.state = state
        self._status()

    async def _move(self, target: tuple[float, float]) -> None:
        while True:
            await asyncio.sleep(STEP_S)
            if self.frozen:
                continue
            if self.body.step_towards(target, STEP_S * self.speed):
                return

    async def _pause(self, seconds: float) -> None:
        left = seconds
        while left > 0:
            await asyncio.sleep(STEP_S)
            if not self.frozen:
                left -= STEP_S * self.speed

    async def _charge(self) -> None:
        while self.state == "charging" and self.body.battery < 100.0:
            await asyncio.sleep(STEP_S)
            self.body.charge(STEP_S * self.speed)
        if self.state == "charging":
            self._set_state("idle")
