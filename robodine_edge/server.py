"""The composition root: the one module that knows every room (with `wiring` for actors).

`Service.run()` starts the parts in order, each checked before the next: listening
sockets (HTTP, robot TCP, telemetry and video UDP; first, so a start that cannot listen
leaves nothing behind: no data directory, database or admin password) → data-dir lock →
database (recovery of a damaged one, migrations, first admin, demo store) → the actor
tree → the HTTP app. On the event loop, before serving: the robot link server, the
telemetry endpoint, serial links and the robot ticker; once serving: the mDNS
advertisement, then readiness (`runtime.json`, a `ready` log line, `READY=1`, the
watchdog), then the care threads (backups, retention, checkpoints, the disk watch). It
stops them in reverse on SIGTERM/SIGINT: stop accepting and let in-flight requests
finish (Sanic's graceful shutdown, 4 s), withdraw from mDNS and systemd, close robot
links, stop the care threads, stop the actors (the store commits what it holds), close
the database, release the lock.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import signal
import socket
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import pykka
from peewee import SqliteDatabase

from robodine_edge import __version__
from robodine_edge.actors.cameras.camera import CameraTick, EndRecording
from robodine_edge.actors.dining.floor import FloorTick
from robodine_edge.actors.dispatch.messages import DispatchTick
from robodine_edge.actors.robots.messages import Tick
from robodine_edge.actors.storage import system_log
from robodine_edge.actors.supervisor import SupervisionEvent
from robodine_edge.auth import accounts
from robodine_edge.auth.tokens import TokenCodec
from robodine_edge.care import identity, recovery
from robodine_edge.care.disk import DiskGauge
from robodine_edge.care.keeper import Keeper
from robodine_edge.care.wear import WearMeter
from robodine_edge.clock import to_iso, utcnow
from robodine_edge.config import Config
from robodine_edge.data import idempotency, outbox, robots, tables, video
from robodine_edge.data.datadir import (
    DataDirLock,
    next_seq_base,
    remove_runtime,
    restrict,
    token_key,
    videos_dir,
    write_runtime,
)
from robodine_edge.data.db import ReadPool, database_path, open_database
from robodine_edge.data.migrations import migrate
from robodine_edge.demo.fleet import DemoFleet
from robodine_edge.demo.seed import seed_demo
from robodine_edge.errors import CannotListen, DataDirBusy, RobodineError
from robodine_edge.federation.broker import BrokerSettings
from robodine_edge.federation.desired import Actors as RelayActors
from robodine_edge.federation.relay import Relay, RelayContext
from robodine_edge.http import crash_hook
from robodine_edge.http.app import create_app
from robodine_edge.http.auth import AuthGate, Revocations
from robodine_edge.http.context import ApiContext, App
from robodine_edge.http.hub import Hub
from robodine_edge.http.live import LiveFeed
from robodine_edge.http.snapshots import Snapshots
from robodine_edge.net.discovery import Advertisement, Advertiser
from robodine_edge.net.legacy_cook import LegacyCookSender
from robodine_edge.net.legacy_link import LegacyHandler
from robodine_edge.net.links import FleetLinks, LinkContext, LinkRegistry
from robodine_edge.net.robot_link import LinkProtocol
from robodine_edge.net.serial_link import SerialLink
from robodine_edge.net.sockets import bind_tcp, bind_udp, bound_port
from robodine_edge.net.telemetry import TelemetryEndpoint
from robodine_edge.net.video import VideoEndpoint
from robodine_edge.process import collector, memory
from robodine_edge.process.memwatch import MemoryWatch
from robodine_edge.process.metrics import Metrics
from robodine_edge.process.systemd_notify import SystemdNotifier, feed_watchdog
from robodine_edge.threads import bridge
from robodine_edge.types import SERVICE_STOPPING, EventLevel, Publish
from robodine_edge.wiring import ActorTree, start_actor_tree

log = logging.getLogger(__name__)
HOUSEKEEPING_INTERVAL_S = 3600.0
TICK_INTERVAL_S = 1.0
STOPPING_TIMEOUT_S = 2.0


class StopRequested(BaseException):
    """SIGTERM/SIGINT before the server runs: unwind start-up through the ordered stop."""


def _stop_during_start_up(signum: int, frame: Any) -> None:
    raise StopRequested(signal.Signals(signum).name)


class Service:
    """One running robodine-edge. Construct on the main thread, then `run()`."""

    def __init__(self, config: Config, env: Mapping[str, str] | None = None, *, demo: bool = False) -> None:
        self.config = config
        self.demo = demo
        self.env = dict(os.environ if env is None else env)
        self.data_dir = Path(config.data.dir)
        self.metrics = Metrics()
        self.notifier = SystemdNotifier(self.env)
        self.hub = Hub(self.metrics)
        self.live = LiveFeed()
        self.publish: Publish = self.hub.publish_threadsafe
        self.registry = LinkRegistry()
        self.fleet_links = FleetLinks(self.registry)
        self._legacy_cook = LegacyCookSender()
        self._lock = DataDirLock(self.data_dir)
        self._db: SqliteDatabase | None = None
        self._actors: ActorTree | None = None
        self._reads: ReadPool | None = None
        self._kdf: ThreadPoolExecutor | None = None
        self._sockets: dict[str, socket.socket] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._link_server: asyncio.Server | None = None
        self._telemetry: asyncio.DatagramTransport | None = None
        self._video: asyncio.DatagramTransport | None = None
        self._system_log: system_log.SystemLogHandler | None = None
        self._serial: list[SerialLink] = []
        self._advertiser: Advertiser | None = None
        self._demo_fleet = DemoFleet(self.data_dir, config.net.host) if demo else None
        self._disk = DiskGauge()
        self._wear = WearMeter(database_path(self.data_dir), self.metrics)
        self._keeper: Keeper | None = None
        self._relay: Relay | None = None
        self._started = time.monotonic()
        self._memwatch: MemoryWatch | None = None

    # -- the whole life (main thread) ---------------------------------------------------

    def run(self) -> int:
        """Run until SIGTERM/SIGINT; returns the process exit code."""
        memory.configure()  # before the actors' threads exist
        self._memwatch = MemoryWatch.from_env(self.env)  # a debug switch, off unless set
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, _stop_during_start_up)  # Sanic installs its own once serving
        try:
            self._bind()
            self._lock.acquire()
            self._restrict_data_dir()
            self.hub.number_from(next_seq_base(self.data_dir, time.time_ns() // 1000))
            revoked, table_ids, robot_ids, camera_ids = self._open_database()
            assert self._db is not None
            if self.config.federation.enabled:  # before any actor writes: every event gets its entry
                outbox.enable(self.config.store.id, self._wake_relay)
            self._actors = start_actor_tree(
                self._db, self.config, self.metrics, self.publish, self._on_supervision, table_ids, robot_ids,
                self._legacy_cook, camera_ids=camera_ids, frames_out=self.live.offer_threadsafe,
                videos=videos_dir(self.data_dir), recording_refusal=self._disk.refusal,
                units_committed=self._wear.committed, fleet_send=self.fleet_links.send_threadsafe,
            )  # fmt: skip
            self.metrics.watch_mailboxes(self._actors.mailbox_depths)
            self._system_log = system_log.install(self._actors.journal)
            app = self._build_app(self._actors, revoked)
            app.run(sock=self._sockets["http"], single_process=True, access_log=False, motd=False)
        except StopRequested:
            log.info("stop requested during start-up")
        finally:
            self._stop()
        log.info("stopped")
        return 0

    def _restrict_data_dir(self) -> None:
        """What an older version left readable to other users becomes the service user's only."""
        changed = restrict(self.data_dir)
        if changed:
            log.warning(
                "%d entries of the data directory %s were readable by other users; they are now the service user's"
                " only (folders 0700, files 0600)", changed, self.data_dir,
            )  # fmt: skip

    def _open_database(self) -> tuple[list[tuple[str, float]], list[int], list[str], list[str]]:
        """Recovery first (a damaged database is moved aside, the newest good backup put in
        its place), then open, migrate, stamp, and say what recovery did."""
        recovered = recovery.recover(self.data_dir)
        self._db = open_database(database_path(self.data_dir))
        migrate(self._db)
        identity.stamp(self._db)
        accounts.ensure_admin(self.data_dir, self.env.get("ROBODINE_ADMIN_PASSWORD") or None)
        if self.demo:
            seed_demo(self.data_dir)
        with self._db.atomic():
            accounts.prune_sessions(utcnow())
            idempotency.prune(utcnow())
            if recovered is not None:
                recovery.record(recovered)
        revoked = accounts.revoked_sessions(utcnow())
        found = (revoked, tables.table_ids(), robots.robot_ids(), video.camera_ids())
        self._db.close()
        return found

    def _bind(self) -> None:
        """Every listener, bound before anything is created; a failure names its key, or
        the running robodine-edge that holds both the port and this data directory."""
        host = self.config.net.host
        listeners = (
            ("http", "http.port", bind_tcp, self.config.http.port),
            ("robot", "robots.port", bind_tcp, self.config.robots.port),
            ("telemetry", "telemetry.port", bind_udp, self.config.telemetry.port),
            ("video", "video.port", bind_udp, self.config.video.port),
        )
        for name, key, bind, port in listeners:
            try:
                self._sockets[name] = bind(host, port)
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE and DataDirLock(self.data_dir).held_elsewhere():
                    raise DataDirBusy(
                        f"{self.data_dir} is in use by a running robodine-edge (which has {key} {port} too)"
                    ) from exc
                raise CannotListen(f"cannot listen on {key} {port} at net.host {host}: {exc.strerror or exc}") from exc

    def _build_app(self, actors: ActorTree, revoked: list[tuple[str, float]]) -> App:
        assert self._db is not None
        self._reads = ReadPool(self._db)
        self._kdf = ThreadPoolExecutor(max_workers=2, thread_name_prefix="kdf")
        revocations = Revocations()
        revocations.add_all(revoked)
        auth = self.config.auth
        codec = TokenCodec(token_key(self.data_dir), auth.token_ttl_s, self.config.store.id, auth.kiosk_token_ttl_s)
        api = ApiContext(
            config=self.config,
            writer=actors.writer,
            reads=self._reads,
            supervisor=actors.supervisor,
            gate=AuthGate(codec, revocations),
            kdf=self._kdf,
            metrics=self.metrics,
            floor=actors.floor,
            orders=actors.orders,
            journal=actors.journal,
            fleet=actors.fleet,
            dispatcher=actors.dispatcher,
            hub=self.hub,
            robots=actors.robots,
            recorder=actors.recorder,
            views=actors.views,
            cameras=actors.cameras,
            camera_actors=actors.camera_actors,
            live=self.live,
            videos_dir=videos_dir(self.data_dir),
            started_at=self._started,
            federation=self._federation_state,
        )
        if self.config.federation.enabled:
            self._relay = self._make_relay(actors)
        hook = self.env.get(crash_hook.ENV) == "1"
        if hook:
            log.warning("%s=1: this service opens a route that crashes its actors (for tests only)", crash_hook.ENV)
        app = create_app(api, crash_hook=hook)
        app.register_listener(self._before_start, "before_server_start")
        app.register_listener(self._after_start, "after_server_start")
        app.register_listener(self._before_stop, "before_server_stop")
        return app

    def _make_relay(self, actors: ActorTree) -> Relay:
        assert self._reads is not None
        federation = self.config.federation
        context = RelayContext(
            broker=BrokerSettings.from_config(federation, self.config.store.id),
            replay_per_s=federation.replay_per_s,
            actors=RelayActors(
                actors.writer, actors.journal, actors.orders, actors.floor, actors.dispatcher,
                self.config.http.ask_timeout_s,
            ),
            reads=self._reads,
            fleet=actors.fleet,
            metrics=self.metrics,
        )  # fmt: skip
        return Relay(context)

    def _wake_relay(self) -> None:
        """Writer thread, after a commit that wrote outbox entries."""
        if self._relay is not None:
            self._relay.wake_threadsafe()

    def _federation_state(self) -> str:
        return "off" if self._relay is None else self._relay.state

    # -- on the event loop ---------------------------------------------------------------

    @property
    def ports(self) -> dict[str, int | None]:
        return {
            "http_port": bound_port(self._sockets["http"]),
            "robot_port": bound_port(self._sockets["robot"]),
            "telemetry_port": bound_port(self._sockets["telemetry"]),
            "video_port": bound_port(self._sockets["video"]),
        }

    async def _before_start(self, app: App) -> None:
        """The live hub, the robot link, telemetry, serial ports and the robot ticker start."""
        assert self._actors is not None
        loop = asyncio.get_running_loop()
        self.hub.attach(loop, Snapshots(app.ctx.api))
        self.live.attach(loop)
        self._legacy_cook.attach(loop)
        self._tasks.append(loop.create_task(self.hub.watch_slow_clients()))
        actors, ports = self._actors, self.ports
        legacy = None
        if self.config.legacy.enabled:
            legacy = LegacyHandler(actors.robots, actors.floor, actors.writer, self.config.http.ask_timeout_s)
        self.fleet_links.attach(loop, actors.robots)
        context = LinkContext(
            registry=self.registry,
            robots=actors.robots,
            metrics=self.metrics,
            heartbeat_s=self.config.robots.heartbeat_s,
            udp_port=ports["telemetry_port"],
            video_port=ports["video_port"],
            ask_timeout_s=self.config.http.ask_timeout_s,
            legacy=legacy,
        )
        self._link_server = await loop.create_server(lambda: LinkProtocol(context), sock=self._sockets["robot"])
        transport, _ = await loop.create_datagram_endpoint(
            lambda: TelemetryEndpoint(
                self.registry, actors.robots, self.metrics, self.hub.publish, 1.0 / self.config.telemetry.ws_rate_hz
            ),
            sock=self._sockets["telemetry"],
        )
        self._telemetry = transport
        transport, _ = await loop.create_datagram_endpoint(
            lambda: VideoEndpoint(
                actors.camera_actors, self.metrics, legacy=self.config.legacy.enabled,
                register_legacy=partial(self._register_legacy_camera, app.ctx.api),
            ),
            sock=self._sockets["video"],
        )  # fmt: skip
        self._video = transport
        for port in self.config.serial:
            link = SerialLink(port.port, port.baud, partial(LinkProtocol, context, "serial"), loop)
            link.start()
            self._serial.append(link)
        self._tasks.append(loop.create_task(self._tick_robots()))
        if self._relay is not None:
            self.hub.tap("robots", self._relay.robot_changed)

    async def _after_start(self, app: App) -> None:
        """Everything is listening: advertise, then announce readiness."""
        self._take_over_signals(app)
        ports = self.ports
        if self.config.mdns.enabled:
            self._advertiser = Advertiser(
                Advertisement(
                    self.config.store.id, __version__, self.config.net.host, ports["http_port"] or 0,
                    ports["robot_port"] or 0, ports["telemetry_port"] or 0, ports["video_port"],
                )
            )  # fmt: skip
            try:
                await self._advertiser.start()
            except Exception as exc:  # zeroconf's own errors: the service still serves
                log.error("not advertised over mDNS (robots must be told the edge's address): %s", exc)
        collector.freeze_survivors()  # start-up's objects live until exit
        memory.trim()
        write_runtime(
            self.data_dir, {"pid": os.getpid(), **ports, "version": __version__, "started_at": to_iso(utcnow())}
        )
        bound = {name: port for name, port in ports.items() if port is not None}
        startup_s = round(time.monotonic() - self._started, 3)
        log.info("ready", extra={"fields": {**bound, "data_dir": str(self.data_dir), "startup_s": startup_s}})
        self.notifier.notify("READY=1")
        loop = asyncio.get_running_loop()
        interval = self.notifier.watchdog_interval_s
        if interval:
            check = partial(self._actors_responsive, interval)
            self._tasks.append(loop.create_task(feed_watchdog(self.notifier, interval, check)))
        self._tasks.append(loop.create_task(self._housekeeping()))
        self._start_care()
        if self._relay is not None:
            await self._relay.start()
        if self._demo_fleet is not None:
            await self._demo_fleet.start(ports["robot_port"], ports["http_port"])

    def _start_care(self) -> None:
        """The care threads (backups, retention, checkpoints, the disk watch): started once
        ready, so a start that fails never backs up or purges anything."""
        assert self._actors is not None
        actors = self._actors
        self._keeper = Keeper(
            self.config, actors.writer, actors.journal.record, self.metrics, self._disk, self._end_recordings
        )
        self._keeper.start()

    def _end_recordings(self, camera_ids: set[str], why: str, go_on: bool) -> None:
        """Care thread: tell these cameras (every one, for none named) to close their recordings."""
        if self._actors is None:
            return
        for camera_id, slot in self._actors.camera_actors.items():
            if not camera_ids or camera_id in camera_ids:
                slot.tell(EndRecording(why, go_on))

    def _take_over_signals(self, app: App) -> None:
        """Sanic stops the loop from its own SIGTERM handler, but runs this listener (and
        our ~1 s of mDNS probing) inside `run_until_complete` before `run_forever`, and
        uvloop only reads its signal pipe while a run is in progress: a signal arriving
        between the two runs is parked and never acted on. So ours is a plain Python
        handler, which runs on the main thread at its next bytecode whatever the loop is
        doing; it only records the request, and `stop_when_asked` acts on it once Sanic
        serves. After the loop has closed (we are stopping anyway) a signal is ignored."""
        loop = asyncio.get_running_loop()
        requested = asyncio.Event()

        def on_signal(signum: int, frame: Any) -> None:
            if not loop.is_closed():
                loop.call_soon_threadsafe(requested.set)

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)  # Sanic's
            signal.signal(sig, on_signal)

        async def stop_when_asked() -> None:
            await requested.wait()
            while not app.state.is_running:  # still inside Sanic's start-up
                await asyncio.sleep(0.01)
            app.stop(terminate=False)

        self._tasks.append(loop.create_task(stop_when_asked()))

    async def _before_stop(self, app: App) -> None:
        log.info("stopping")
        self.notifier.notify("STOPPING=1")
        for task in self._tasks:
            task.cancel()
        if self._relay is not None:  # while the actors still answer: status offline, then disconnect
            await self._relay.stop()
        self.hub.close_all(1001, SERVICE_STOPPING)
        self.live.close_all()
        await self._tell_dispatcher_stopping()  # first: the demo robots' links close next
        if self._demo_fleet is not None:
            await self._demo_fleet.stop()
        if self._advertiser is not None:
            await self._advertiser.stop()
        if self._link_server is not None:
            self._link_server.close()
        self.registry.close_all(SERVICE_STOPPING)
        for transport in (self._telemetry, self._video):
            if transport is not None:
                transport.close()
        loop = asyncio.get_running_loop()
        await asyncio.gather(*(loop.run_in_executor(None, link.stop) for link in self._serial))

    async def _tell_dispatcher_stopping(self) -> None:
        """Event loop, before the robot links close: robots dropping then are the service
        stopping, so the dispatcher must not take their tasks as lost (and redo them)."""
        if self._actors is None:
            return
        try:
            await bridge.wait(self._actors.dispatcher.proxy.service_stopping(), STOPPING_TIMEOUT_S)
        except (RobodineError, pykka.ActorDeadError) as exc:
            log.warning("the dispatcher did not hear of the stop (%s); robot tasks may be redone", exc)

    async def _tick_robots(self) -> None:
        """Every second: a `Tick` for each robot actor (re-sends, state saves, timeouts),
        each camera (rates, status), the dispatcher (stuck tasks) and the floor (parties
        waiting or seated too long)."""
        assert self._actors is not None
        while True:
            await asyncio.sleep(TICK_INTERVAL_S)
            for _, robot in self._actors.robots.items():
                robot.tell(Tick())
            for _, camera in self._actors.camera_actors.items():
                camera.tell(CameraTick())
            self._actors.dispatcher.tell(DispatchTick())
            self._actors.floor.tell(FloorTick())

    async def _register_legacy_camera(self, api: ApiContext, camera_id: str, host: str) -> None:
        """The first frame of a legacy camera registers it (docs/ROBOTS.md)."""
        await bridge.wait(api.cameras.proxy.ensure_legacy(camera_id, host), self.config.http.ask_timeout_s)

    async def _housekeeping(self) -> None:
        """Hourly: forget expired sessions and idempotency records older than 48 h, collect
        cycles among frozen objects, and hand freed memory back to the kernel."""
        assert self._actors is not None
        while True:
            await asyncio.sleep(HOUSEKEEPING_INTERVAL_S)
            collector.collect_all()
            memory.trim()
            for unit in (accounts.prune_sessions, idempotency.prune):
                try:
                    await bridge.wait(self._actors.writer.write(unit, utcnow()), 30)
                except Exception as exc:
                    log.warning("housekeeping (%s) failed: %s", unit.__name__, exc)

    async def _actors_responsive(self, timeout: float) -> bool:
        assert self._actors is not None
        return await bridge.wait(self._actors.supervisor.proxy.responsive(timeout / 2), timeout)

    # -- stopping (main thread) -------------------------------------------------------------

    def _stop(self) -> None:
        """Stop in reverse order of start; safe after a partial start."""
        if self._keeper is not None:
            self._keeper.stop()  # it writes through the actors: stopped first
        if self._system_log is not None:
            system_log.uninstall(self._system_log)
        if self._actors is not None:
            self._actors.stop()
        self._wear.close()
        # A start-up cut short leaves actors no tree knows of; their threads are not daemons.
        pykka.ActorRegistry.stop_all(block=True, timeout=5)
        if self._reads is not None:
            self._reads.close()
        if self._memwatch is not None:
            self._memwatch.stop()
        if self._kdf is not None:
            self._kdf.shutdown(wait=True)
        if self._db is not None:
            self._db.close()
        outbox.disable()
        for sock in self._sockets.values():
            sock.close()
        if self._lock.held:  # else runtime.json is another service's, or none
            remove_runtime(self.data_dir)
        collector.collect_all()  # a leak (a task left pending, a cycle) is logged now, while the log still works
        collector.stop()
        self.notifier.close()
        self._lock.release()

    # -- callbacks from other threads ---------------------------------------------------------

    def _on_supervision(self, event: SupervisionEvent) -> None:
        """Runs on the supervisor's thread: count it and append it to the event log."""
        self.metrics.actor_restarts.labels(event.actor).inc(event.type == "actor_restarted")
        if self._actors is None:
            return
        level = EventLevel.WARNING if event.type == "actor_restarted" else EventLevel.ERROR
        verb = "restarted after a crash" if event.type == "actor_restarted" else "crashed too often and was given up"
        message = f"actor {event.actor} {verb}: {event.error}"
        self._actors.journal.record(event.type, message, level=level, entity_type="actor", entity_id=event.actor)
