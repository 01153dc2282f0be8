"""The composition root: the one module that knows every room.

`Service.run()` starts the parts in order, each one checked before the next:
data-dir lock → database (migrations, first admin) → supervisor → store actor →
read and KDF pools → HTTP app and its socket → (on the loop) listeners, readiness.
It stops them in reverse on SIGTERM/SIGINT: stop accepting, let in-flight requests
finish (Sanic's graceful shutdown, 4 s), withdraw from systemd, stop the actors
(the store commits what it holds), close the database, release the lock.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

from peewee import SqliteDatabase
from sanic import Sanic

from robodine_edge import __version__
from robodine_edge.actors.floor import FloorActor, TableDirectory, table_actor_name
from robodine_edge.actors.journal import Journal
from robodine_edge.actors.order_queue import OrderQueueActor
from robodine_edge.actors.store import Store, StoreActor
from robodine_edge.actors.supervisor import ActorSlot, ChildSpec, SupervisionEvent, Supervisor
from robodine_edge.actors.table import TableActor
from robodine_edge.clock import to_iso, utcnow
from robodine_edge.config import Config
from robodine_edge.data import accounts, idempotency, tables
from robodine_edge.datadir import DataDirLock, remove_runtime, token_key, write_runtime
from robodine_edge.db import ReadPool, database_path, open_database
from robodine_edge.demo import seed_demo
from robodine_edge.http import bridge
from robodine_edge.http.app import ApiContext, create_app
from robodine_edge.http.auth import AuthGate, Revocations
from robodine_edge.metrics import Metrics
from robodine_edge.migrations import migrate
from robodine_edge.net.sockets import bind_tcp, bound_port
from robodine_edge.systemd_notify import SystemdNotifier, feed_watchdog
from robodine_edge.tokens import TokenCodec
from robodine_edge.types import EventLevel, Publish, publish_nowhere

log = logging.getLogger(__name__)
HOUSEKEEPING_INTERVAL_S = 3600.0


class Service:
    """One running robodine-edge. Construct on the main thread, then `run()`."""

    def __init__(self, config: Config, env: Mapping[str, str] | None = None, *, demo: bool = False) -> None:
        self.config = config
        self.demo = demo
        self.env = dict(os.environ if env is None else env)
        self.data_dir = Path(config.data.dir)
        self.metrics = Metrics()
        self.notifier = SystemdNotifier(self.env)
        self._lock = DataDirLock(self.data_dir)
        self._db: SqliteDatabase | None = None
        self._supervisor: ActorSlot[Supervisor] = ActorSlot("supervisor")
        self._slots: dict[str, ActorSlot[Any]] = {"supervisor": self._supervisor}
        self._reads: ReadPool | None = None
        self._kdf: ThreadPoolExecutor | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._table_ids: list[int] = []
        self._http_sock: socket.socket | None = None
        self.publish: Publish = publish_nowhere
        self._started = time.monotonic()

    # -- the whole life ----------------------------------------------------------------

    def run(self) -> int:
        """Run until SIGTERM/SIGINT; returns the process exit code. Main thread."""
        self._lock.acquire()
        try:
            revoked = self._open_database()
            api_actors = self._start_actors()
            app = self._build_app(api_actors, revoked)
            self._http_sock = bind_tcp(self.config.net.host, self.config.http.port)
            app.run(sock=self._http_sock, single_process=True, access_log=False, motd=False)
        finally:
            self._stop()
        log.info("stopped")
        return 0

    def _open_database(self) -> list[tuple[str, float]]:
        self._db = open_database(database_path(self.data_dir))
        migrate(self._db)
        accounts.ensure_admin(self.data_dir, self.env.get("ROBODINE_ADMIN_PASSWORD") or None)
        if self.demo:
            seed_demo(self.data_dir)
        with self._db.atomic():
            accounts.prune_sessions(utcnow())
            idempotency.prune(utcnow())
        revoked = accounts.revoked_sessions(utcnow())
        self._table_ids = tables.table_ids()
        self._db.close()
        return revoked

    def _start_actors(self) -> dict[str, Any]:
        """Supervisor, then store, tables, floor, order queue: each answers before the next."""
        assert self._db is not None
        ref = Supervisor.start(
            max_restarts=self.config.actors.max_restarts,
            window_s=self.config.actors.restart_window_s,
            on_event=self._on_supervision_event,
        )
        self._supervisor.install(ref)
        db, metrics, publish = self._db, self.metrics, self.publish
        store = Store(
            self._start(
                "store", lambda listener: StoreActor.start(db, crash_listener=listener, on_commit=metrics.record_commit)
            )
        )
        self._store = store
        self.journal = Journal(store, publish)
        directory = TableDirectory()

        def table_spec(table_id: int) -> ChildSpec[TableActor]:
            return ChildSpec(
                table_actor_name(table_id),
                lambda listener: TableActor.start(table_id, store, publish, crash_listener=listener),
            )

        for table_id in self._table_ids:
            directory.add(table_id, self._supervisor.proxy.start_child(table_spec(table_id)).get(timeout=30))
        supervisor, journal = self._supervisor, self.journal
        floor = self._start(
            "floor",
            lambda listener: FloorActor.start(
                store, supervisor, directory, table_spec, publish, crash_listener=listener
            ),
        )
        orders = self._start(
            "orders", lambda listener: OrderQueueActor.start(store, journal, publish, crash_listener=listener)
        )
        self.metrics.watch_mailboxes(self._mailbox_depths)
        return {"store": store, "floor": floor, "orders": orders}

    def _start(self, name: str, start: Any) -> ActorSlot[Any]:
        slot = self._supervisor.proxy.start_child(ChildSpec(name, start)).get(timeout=30)
        self._slots[name] = slot
        return slot

    def _build_app(self, actors: dict[str, Any], revoked: list[tuple[str, float]]) -> Sanic:
        assert self._db is not None
        self._reads = ReadPool(self._db)
        self._kdf = ThreadPoolExecutor(max_workers=2, thread_name_prefix="kdf")
        revocations = Revocations()
        revocations.add_all(revoked)
        codec = TokenCodec(token_key(self.data_dir), self.config.auth.token_ttl_s, self.config.store.id)
        api = ApiContext(
            config=self.config,
            store=actors["store"],
            reads=self._reads,
            supervisor=self._supervisor,
            gate=AuthGate(codec, revocations),
            kdf=self._kdf,
            metrics=self.metrics,
            floor=actors["floor"],
            orders=actors["orders"],
            journal=self.journal,
            started_at=self._started,
        )
        app = create_app(api)
        app.register_listener(self._after_start, "after_server_start")
        app.register_listener(self._before_stop, "before_server_stop")
        return app

    # -- on the event loop ---------------------------------------------------------------

    async def _after_start(self, app: Sanic) -> None:
        """Everything is listening: announce readiness (runtime.json, log, systemd)."""
        assert self._http_sock is not None
        ports = {
            "http_port": bound_port(self._http_sock),
            "robot_port": None,
            "telemetry_port": None,
            "video_port": None,
        }
        write_runtime(
            self.data_dir,
            {"pid": os.getpid(), **ports, "version": __version__, "started_at": to_iso(utcnow())},
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

    async def _before_stop(self, app: Sanic) -> None:
        log.info("stopping")
        self.notifier.notify("STOPPING=1")
        for task in self._tasks:
            task.cancel()

    async def _housekeeping(self) -> None:
        """Hourly: forget expired sessions and idempotency records older than 48 h."""
        while True:
            await asyncio.sleep(HOUSEKEEPING_INTERVAL_S)
            for unit in (accounts.prune_sessions, idempotency.prune):
                try:
                    await bridge.wait(self._store.write(unit, utcnow()), 30)
                except Exception as exc:
                    log.warning("housekeeping (%s) failed: %s", unit.__name__, exc)

    async def _actors_responsive(self, timeout: float) -> bool:
        return bool(await bridge.wait(self._supervisor.proxy.responsive(timeout / 2), timeout))

    # -- stopping ---------------------------------------------------------------------

    def _stop(self) -> None:
        """Stop in reverse order of start. Main thread; safe after a partial start."""
        if self._supervisor.is_alive():
            try:
                self._supervisor.proxy.stop_children().get(timeout=10)
            finally:
                self._supervisor.ref.stop(block=True, timeout=5)
        if self._reads is not None:
            self._reads.close()
        if self._kdf is not None:
            self._kdf.shutdown(wait=True)
        if self._db is not None:
            self._db.close()
        if self._http_sock is not None:
            self._http_sock.close()
        remove_runtime(self.data_dir)
        self.notifier.close()
        self._lock.release()

    # -- callbacks from other threads ---------------------------------------------------

    def _on_supervision_event(self, event: SupervisionEvent) -> None:
        """Runs on the supervisor's thread: count it and append it to the event log."""
        self.metrics.actor_restarts.labels(event.actor).inc(event.type == "actor_restarted")
        level = EventLevel.WARNING if event.type == "actor_restarted" else EventLevel.ERROR
        verb = "restarted after a crash" if event.type == "actor_restarted" else "crashed too often and was given up"
        message = f"actor {event.actor} {verb}: {event.error}"
        self.journal.record(event.type, message, level=level, entity_type="actor", entity_id=event.actor)

    def _mailbox_depths(self) -> dict[str, float]:
        """Read at /metrics scrape time (event loop): queued messages per actor."""
        return {name: float(slot.ref.actor_inbox.qsize()) for name, slot in self._slots.items() if slot.is_alive()}
