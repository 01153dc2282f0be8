"""The actor tree, built in order by the composition root (`robodine_edge.server`).

supervisor → store → one actor per table → floor → order queue → one actor per robot
→ fleet → one actor per camera → cameras → dispatcher. Each is started by the
supervisor and answers a ping before the next starts; the supervisor stops them in
reverse.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from peewee import SqliteDatabase

from robodine_edge.actors.cameras.camera import CameraActor, CameraProxy, FrameSink, RecordingRefusal
from robodine_edge.actors.cameras.registry import CameraDirectory, CamerasActor, CamerasProxy, camera_actor_name
from robodine_edge.actors.dining.floor import FloorActor, FloorProxy, TableDirectory, table_actor_name
from robodine_edge.actors.dining.order_queue import OrderQueueActor, OrderQueueProxy
from robodine_edge.actors.dining.table import TableActor, TableProxy
from robodine_edge.actors.dispatch.dispatcher import DispatcherActor, DispatcherProxy
from robodine_edge.actors.dispatch.legacy_arms import LegacyCook
from robodine_edge.actors.dispatch.messages import OrderChanged, RobotRejoined, RobotUpdate, TableChanged, TaskEvent
from robodine_edge.actors.robots.fleet import FleetActor, FleetProxy, RobotChanged, RobotDirectory, robot_actor_name
from robodine_edge.actors.robots.messages import FleetSend, RobotSnapshot, no_loop
from robodine_edge.actors.robots.robot import RobotActor, RobotProxy
from robodine_edge.actors.storage.journal import Journal
from robodine_edge.actors.storage.list_pages import ListedViews
from robodine_edge.actors.storage.writer import UnitsCommitted, Writer, WriterActor
from robodine_edge.actors.supervisor import (
    ActorSlot,
    ChildSpec,
    ProxyT,
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


@dataclass
class ActorTree:
    """Handles to the running actors, for the app and the network room."""

    supervisor: ActorSlot[SupervisorProxy]
    writer: Writer
    journal: Journal
    tables: TableDirectory
    floor: ActorSlot[FloorProxy]
    orders: ActorSlot[OrderQueueProxy]
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
        """Main thread, at shutdown: children in reverse order (the store commits last)."""
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
    supervisor = ActorSlot[SupervisorProxy]("supervisor")
    supervisor.install(
        Supervisor.start(
            max_restarts=config.actors.max_restarts, window_s=config.actors.restart_window_s, on_event=on_supervision
        )
    )
    named: dict[str, ActorSlot[object]] = {"supervisor": supervisor}
    timer = Timer()

    def start(spec: ChildSpec[ProxyT], slot: ActorSlot[ProxyT] | None = None) -> ActorSlot[ProxyT]:
        started = supervisor.proxy.start_child(spec, slot).get(timeout=START_TIMEOUT_S)
        named[spec.name] = started
        return started

    dispatcher = ActorSlot[DispatcherProxy]("dispatcher")

    def tell_dispatcher(message: object) -> None:
        """Runs on the teller's thread; before the dispatcher starts it rebuilds from SQLite."""
        if dispatcher.is_alive():
            dispatcher.tell(message)

    def committed(seconds: float, units: int) -> None:
        """Writer thread, after each durable commit."""
        metrics.record_commit(seconds, units)
        outbox.committed()  # wakes the federation relay, if on and entries were written

    writer = Writer(
        start(
            ChildSpec[object](
                "writer",
                lambda crash: WriterActor.start(
                    db, crash_listener=crash, on_commit=committed, on_units=units_committed
                ),
            )
        )
    )
    journal = Journal(writer, publish)

    tables = TableDirectory()
    views = ListedViews()

    def table_spec(table_id: int) -> ChildSpec[TableProxy]:
        return ChildSpec[TableProxy](
            table_actor_name(table_id), lambda crash: TableActor.start(table_id, writer, publish, crash_listener=crash)
        )

    for table_id in table_ids:
        tables.add(table_id, supervisor.proxy.start_child(table_spec(table_id)).get(timeout=START_TIMEOUT_S))
    floor = start(
        ChildSpec[FloorProxy](
            "floor",
            lambda crash: FloorActor.start(
                writer,
                supervisor,
                tables,
                table_spec,
                publish,
                lambda table_id, table: tell_dispatcher(TableChanged(table, table_id)),
                crash_listener=crash,
                views=views.tables,
            ),
        )
    )
    orders = start(
        ChildSpec[OrderQueueProxy](
            "orders",
            lambda crash: OrderQueueActor.start(
                writer,
                journal,
                publish,
                lambda order: tell_dispatcher(OrderChanged(order)),
                crash_listener=crash,
                views=views.menu,
            ),
        )
    )

    robots = RobotDirectory()
    fleet = ActorSlot[FleetProxy]("fleet")

    def robot_changed(snapshot: RobotSnapshot) -> None:
        """Runs on a robot actor's thread."""
        if fleet.is_alive():
            fleet.tell(RobotChanged(snapshot))

    def robot_state(snapshot: RobotSnapshot) -> None:
        tell_dispatcher(RobotUpdate(snapshot))

    def task_event(robot_id: str, command_id: int, state: str, detail: Any) -> None:
        tell_dispatcher(TaskEvent(robot_id, command_id, state, detail))

    def robot_rejoined(snapshot: RobotSnapshot, carried: frozenset[int]) -> None:
        tell_dispatcher(RobotRejoined(snapshot, carried))

    def robot_spec(robot_id: str) -> ChildSpec[RobotProxy]:
        return ChildSpec[RobotProxy](
            robot_actor_name(robot_id),
            lambda crash: RobotActor.start(
                robot_id,
                writer,
                journal,
                publish,
                robot_changed,
                task_event,
                robot_state,
                robot_rejoined,
                heartbeat_s=config.robots.heartbeat_s,
                persist_interval_s=1.0 / config.telemetry.persist_hz,
                publish_interval_s=1.0 / config.telemetry.ws_rate_hz,
                wake=timer.after,
                crash_listener=crash,
            ),
        )

    for robot_id in robot_ids:
        robots.add(robot_id, supervisor.proxy.start_child(robot_spec(robot_id)).get(timeout=START_TIMEOUT_S))
    start(
        ChildSpec[FleetProxy](
            "fleet",
            lambda crash: FleetActor.start(
                writer, supervisor, robots, robot_spec, publish, crash_listener=crash, views=views.robots
            ),
        ),
        fleet,
    )
    camera_actors = CameraDirectory()
    recordings = videos if videos is not None else videos_dir(Path(db.database).parent)  # DATA_DIR's

    def camera_spec(camera_id: str) -> ChildSpec[CameraProxy]:
        return ChildSpec[CameraProxy](
            camera_actor_name(camera_id),
            lambda crash: CameraActor.start(
                camera_id,
                writer,
                journal,
                publish,
                frames_out,
                recordings,
                refusal=recording_refusal,
                crash_listener=crash,
            ),
        )

    for camera_id in camera_ids:
        camera_actors.add(camera_id, supervisor.proxy.start_child(camera_spec(camera_id)).get(timeout=START_TIMEOUT_S))
    cameras = start(
        ChildSpec[CamerasProxy](
            "cameras",
            lambda crash: CamerasActor.start(
                writer, supervisor, camera_actors, camera_spec, publish, crash_listener=crash
            ),
        )
    )
    start(
        ChildSpec[DispatcherProxy](
            "dispatcher",
            lambda crash: DispatcherActor.start(
                writer,
                journal,
                publish,
                robots,
                orders,
                floor,
                legacy_cook,
                fleet_send=fleet_send,
                crash_listener=crash,
            ),
        ),
        dispatcher,
    )
    return ActorTree(
        supervisor, writer, journal, tables, floor, orders, robots, fleet, dispatcher, views, timer,
        cameras=cameras, camera_actors=camera_actors, named=named,
    )  # fmt: skip
