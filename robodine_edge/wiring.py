"""The actor tree, built in order by the composition root (`robodine_edge.server`).

supervisor → writer → one actor per table → floor → order queue → recorder → one actor
per robot → fleet → one actor per camera → cameras → dispatcher. Each is started by the
supervisor and answers a ping before the next starts; the supervisor stops them in
reverse.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from peewee import SqliteDatabase

from robodine_edge.actors.base import CrashListener
from robodine_edge.actors.cameras.camera import CameraActor, CameraProxy, FrameSink, RecordingRefusal
from robodine_edge.actors.cameras.registry import CameraDirectory, CamerasActor, CamerasProxy, camera_actor_name
from robodine_edge.actors.dining.floor import FloorActor, FloorProxy, TableDirectory, table_actor_name
from robodine_edge.actors.dining.order_queue import OrderQueueActor, OrderQueueProxy
from robodine_edge.actors.dining.table import TableActor, TableProxy
from robodine_edge.actors.directory import Directory
from robodine_edge.actors.dispatch.dispatcher import DispatcherActor, DispatcherProxy
from robodine_edge.actors.dispatch.legacy_arms import LegacyCook
from robodine_edge.actors.dispatch.messages import OrderChanged, RobotRejoined, RobotUpdate, TableChanged, TaskEvent
from robodine_edge.actors.robots.fleet import FleetActor, FleetProxy, RobotChanged, RobotDirectory, robot_actor_name
from robodine_edge.actors.robots.messages import FleetSend, RobotSnapshot, no_loop
from robodine_edge.actors.robots.recorder import RecorderActor, RecorderProxy
from robodine_edge.actors.robots.robot import RobotActor, RobotProxy
from robodine_edge.actors.storage.journal import Journal
from robodine_edge.actors.storage.list_pages import ListedViews
from robodine_edge.actors.storage.writer import UnitsCommitted, Writer, WriterActor
from robodine_edge.actors.supervisor import (
    ActorSlot,
    ChildSpec,
    ProxyT,
    Ref,
    SupervisionEvent,
    Supervisor,
    SupervisorProxy,
)
from robodine_edge.actors.timer import Timer
from robodine_edge.config import Config
from robodine_edge.data import outbox
from robodine_edge.data.datadir import videos_dir
from robodine_edge.process.metrics import Metrics
from robodine_edge.types import Publish

START_TIMEOUT_S = 30.0
K = TypeVar("K")


@dataclass
class ActorTree:
    """Handles to the running actors, for the app and the network room."""

    supervisor: ActorSlot[SupervisorProxy]
    writer: Writer
    journal: Journal
    tables: TableDirectory
    floor: ActorSlot[FloorProxy]
    orders: ActorSlot[OrderQueueProxy]
    recorder: ActorSlot[RecorderProxy]
    """Writes the robots' pose samples and last known states (`actors.robots.recorder`)."""
    robots: RobotDirectory
    fleet: ActorSlot[FleetProxy]
    dispatcher: ActorSlot[DispatcherProxy]
    views: ListedViews
    timer: Timer
    cameras: ActorSlot[CamerasProxy]
    camera_actors: CameraDirectory
    named: dict[str, ActorSlot[object]] = field(default_factory=dict)

    def mailbox_depths(self) -> dict[str, float]:
        """Queued messages per actor; read at /metrics scrape time (event loop)."""
        slots: dict[str, ActorSlot[object]] = {**self.named}
        slots.update({table_actor_name(k): s for k, s in self.tables.items()})
        slots.update({robot_actor_name(k): s for k, s in self.robots.items()})
        slots.update({camera_actor_name(k): s for k, s in self.camera_actors.items()})
        return {name: float(slot.mailbox_depth()) for name, slot in slots.items() if slot.is_alive()}

    def stop(self, timeout: float = 10.0) -> None:
        """Main thread, at shutdown: children in reverse order (the writer commits last)."""
        try:
            if self.supervisor.is_alive():
                try:
                    self.supervisor.proxy.stop_children().get(timeout=timeout)
                finally:
                    self.supervisor.ref.stop(block=True, timeout=5)
        finally:
            self.timer.stop()


def start_actor_tree(
    db: SqliteDatabase,
    config: Config,
    metrics: Metrics,
    publish: Publish,
    on_supervision: Callable[[SupervisionEvent], None],
    table_ids: list[int],
    robot_ids: list[str],
    legacy_cook: LegacyCook | None = None,
    *,
    camera_ids: Sequence[str] = (),
    frames_out: FrameSink = lambda camera_id, jpeg: None,
    videos: Path | None = None,
    recording_refusal: RecordingRefusal = lambda: None,
    units_committed: UnitsCommitted | None = None,
    fleet_send: FleetSend = no_loop,
) -> ActorTree:
    """Main thread, at start: every actor, in the order of the module's docstring; each
    step below starts one part and returns its handles. `ActorTree.stop` undoes them all,
    in reverse (the supervisor stops its children last-started first)."""
    tree = _TreeBuilder(config, publish, on_supervision)
    writer, journal = tree.start_writer(db, metrics, units_committed)
    tables, floor, orders, views = tree.start_dining(writer, journal, table_ids)
    recorder, robots, fleet = tree.start_robots(writer, journal, robot_ids, views)
    recordings = videos if videos is not None else videos_dir(Path(db.database).parent)  # DATA_DIR's
    camera_actors, cameras = tree.start_cameras(writer, journal, camera_ids, frames_out, recordings, recording_refusal)
    dispatcher = tree.start_dispatcher(writer, journal, robots, orders, floor, legacy_cook, fleet_send)
    return ActorTree(
        tree.supervisor, writer, journal, tables, floor, orders, recorder, robots, fleet, dispatcher, views,
        tree.timer, cameras=cameras, camera_actors=camera_actors, named=tree.named,
    )  # fmt: skip


class _TreeBuilder:
    """Main thread, at start: the supervisor, the timer and the slots every part is started
    under, and the tellers the parts are given for each other (a robot tells the fleet and
    the dispatcher, the floor and the order queue tell the dispatcher). The dispatcher and
    fleet slots exist from the start, so what tells them before they run is dropped, not
    lost: each rebuilds from SQLite when it starts. So is what tells a restarting one,
    between its reads and the supervisor putting it in its slot: once there, it reads
    again what it may have missed (`on_reachable`)."""

    def __init__(self, config: Config, publish: Publish, on_supervision: Callable[[SupervisionEvent], None]) -> None:
        self.config = config
        self.publish = publish
        self.supervisor = ActorSlot[SupervisorProxy]("supervisor")
        self.supervisor.install(
            Supervisor.start(
                max_restarts=config.actors.max_restarts,
                window_s=config.actors.restart_window_s,
                on_event=on_supervision,
            )
        )
        self.named: dict[str, ActorSlot[object]] = {"supervisor": self.supervisor}
        self.timer = Timer()
        self.dispatcher = ActorSlot[DispatcherProxy]("dispatcher")
        self.fleet = ActorSlot[FleetProxy]("fleet")

    def start(self, spec: ChildSpec[ProxyT], slot: ActorSlot[ProxyT] | None = None) -> ActorSlot[ProxyT]:
        """One named child of the supervisor, answering before the next starts."""
        started = self.supervisor.proxy.start_child(spec, slot).get(timeout=START_TIMEOUT_S)
        self.named[spec.name] = started
        return started

    def start_family(
        self, directory: Directory[K, ProxyT], keys: Sequence[K], spec_of: Callable[[K], ChildSpec[ProxyT]]
    ) -> None:
        """One child per key (a table, a robot, a camera), in order, each into its family's
        directory (not named: the directory holds them)."""
        for key in keys:
            directory.add(key, self.supervisor.proxy.start_child(spec_of(key)).get(timeout=START_TIMEOUT_S))

    def tell_dispatcher(self, message: object) -> None:
        """Runs on the teller's thread. A dispatcher not running drops it: before its first
        start it rebuilds from SQLite, and restarted it catches up once in its slot."""
        if self.dispatcher.is_alive():
            self.dispatcher.tell(message)

    def start_writer(
        self, db: SqliteDatabase, metrics: Metrics, units_committed: UnitsCommitted | None
    ) -> tuple[Writer, Journal]:
        """The one SQLite writer first: every other actor writes through it."""

        def committed(seconds: float, units: int) -> None:
            """Writer thread, after each durable commit."""
            metrics.record_commit(seconds, units)
            outbox.committed()  # wakes the federation relay, if on and entries were written

        def writer_actor(crash: CrashListener) -> Ref:
            return WriterActor.start(
                db, crash_listener=crash, on_commit=committed, on_units=units_committed, wake_after=self.timer.after
            )

        writer = Writer(self.start(ChildSpec[object]("writer", writer_actor)))
        return writer, Journal(writer, self.publish)

    def start_dining(
        self, writer: Writer, journal: Journal, table_ids: Sequence[int]
    ) -> tuple[TableDirectory, ActorSlot[FloorProxy], ActorSlot[OrderQueueProxy], ListedViews]:
        """The tables, the floor that keeps them, then the order queue."""
        tables, views, publish = TableDirectory(), ListedViews(), self.publish

        def table_spec(table_id: int) -> ChildSpec[TableProxy]:
            return ChildSpec[TableProxy](
                table_actor_name(table_id),
                lambda crash: TableActor.start(table_id, writer, publish, crash_listener=crash),
            )

        def table_changed(table_id: int, table: dict[str, Any] | None) -> None:
            self.tell_dispatcher(TableChanged(table, table_id))

        self.start_family(tables, table_ids, table_spec)
        floor = self.start(
            ChildSpec[FloorProxy](
                "floor",
                lambda crash: FloorActor.start(
                    writer, self.supervisor, tables, table_spec, publish, table_changed,
                    crash_listener=crash, views=views.tables,
                ),
            )
        )  # fmt: skip
        orders = self.start(
            ChildSpec[OrderQueueProxy](
                "orders",
                lambda crash: OrderQueueActor.start(
                    writer, journal, publish, lambda order: self.tell_dispatcher(OrderChanged(order)),
                    crash_listener=crash, views=views.menu,
                ),
            )
        )  # fmt: skip
        return tables, floor, orders, views

    def start_robots(
        self, writer: Writer, journal: Journal, robot_ids: Sequence[str], views: ListedViews
    ) -> tuple[ActorSlot[RecorderProxy], RobotDirectory, ActorSlot[FleetProxy]]:
        """The recorder (stopped after every robot actor, so it writes what they hand it
        on their way out), one actor per registered robot, then the fleet that registers more."""
        robots, fleet, config, publish = RobotDirectory(), self.fleet, self.config, self.publish
        recorder = self.start(
            ChildSpec[RecorderProxy](
                "recorder",
                lambda crash: RecorderActor.start(
                    writer, self.timer.after, write_every_s=config.telemetry.write_every_s, crash_listener=crash
                ),
            )
        )

        def robot_changed(snapshot: RobotSnapshot) -> None:
            """Runs on a robot actor's thread."""
            if fleet.is_alive():
                fleet.tell(RobotChanged(snapshot))

        def robot_state(snapshot: RobotSnapshot) -> None:
            self.tell_dispatcher(RobotUpdate(snapshot))

        def task_event(robot_id: str, command_id: int, state: str, detail: Any) -> None:
            self.tell_dispatcher(TaskEvent(robot_id, command_id, state, detail))

        def robot_rejoined(snapshot: RobotSnapshot, carried: frozenset[int]) -> None:
            self.tell_dispatcher(RobotRejoined(snapshot, carried))

        def robot_spec(robot_id: str) -> ChildSpec[RobotProxy]:
            return ChildSpec[RobotProxy](
                robot_actor_name(robot_id),
                lambda crash: RobotActor.start(
                    robot_id, writer, recorder, journal, publish,
                    robot_changed, task_event, robot_state, robot_rejoined,
                    heartbeat_s=config.robots.heartbeat_s,
                    persist_interval_s=1.0 / config.telemetry.persist_hz,
                    publish_interval_s=1.0 / config.telemetry.ws_rate_hz,
                    wake=self.timer.after,
                    crash_listener=crash,
                ),
            )  # fmt: skip

        self.start_family(robots, robot_ids, robot_spec)
        self.start(
            ChildSpec[FleetProxy](
                "fleet",
                lambda crash: FleetActor.start(
                    writer, self.supervisor, robots, robot_spec, publish, crash_listener=crash, views=views.robots
                ),
            ),
            fleet,
        )
        return recorder, robots, fleet

    def start_cameras(
        self,
        writer: Writer,
        journal: Journal,
        camera_ids: Sequence[str],
        frames_out: FrameSink,
        recordings: Path,
        recording_refusal: RecordingRefusal,
    ) -> tuple[CameraDirectory, ActorSlot[CamerasProxy]]:
        """One actor per registered camera, then the registry that registers more."""
        camera_actors, publish = CameraDirectory(), self.publish

        def camera_spec(camera_id: str) -> ChildSpec[CameraProxy]:
            return ChildSpec[CameraProxy](
                camera_actor_name(camera_id),
                lambda crash: CameraActor.start(
                    camera_id, writer, journal, publish, frames_out, recordings,
                    refusal=recording_refusal, crash_listener=crash,
                ),
            )  # fmt: skip

        self.start_family(camera_actors, camera_ids, camera_spec)
        cameras = self.start(
            ChildSpec[CamerasProxy](
                "cameras",
                lambda crash: CamerasActor.start(
                    writer, self.supervisor, camera_actors, camera_spec, publish, crash_listener=crash
                ),
            )
        )
        return camera_actors, cameras

    def start_dispatcher(
        self,
        writer: Writer,
        journal: Journal,
        robots: RobotDirectory,
        orders: ActorSlot[OrderQueueProxy],
        floor: ActorSlot[FloorProxy],
        legacy_cook: LegacyCook | None,
        fleet_send: FleetSend,
    ) -> ActorSlot[DispatcherProxy]:
        """The dispatcher last: it reads every open order and task, and asks the others."""
        return self.start(
            ChildSpec[DispatcherProxy](
                "dispatcher",
                lambda crash: DispatcherActor.start(
                    writer, journal, self.publish, robots, orders, floor, legacy_cook,
                    fleet_send=fleet_send, crash_listener=crash,
                ),
            ),
            self.dispatcher,
        )  # fmt: skip
