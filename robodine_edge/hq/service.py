"""`robodine-edge hq`: the composition root of headquarters.

`HqService.run()` starts in order, each part checked before the next: the HTTP socket
(first: a port in use leaves nothing behind) → the data-directory lock (`.hq-lock`, its own:
a trial HQ may share a store's data directory, two hq processes may not) → the API token →
the chain database (tables created) → the writer and reader threads → the app. On the event
loop, before serving: the consumer's tasks (broker connection, writes, watermark sweep); once
serving: `hq-runtime.json` and a `ready` log line. A broker that is down does not hold the start
back: the consumer keeps trying while the API serves. SIGTERM/SIGINT stop it in reverse:
stop taking messages, write what is pending and publish its acks (bounded), stop serving,
close the threads and the database, remove `hq-runtime.json`, release the lock.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import secrets
import signal
import socket
import time
from pathlib import Path
from typing import Any

from peewee import Database

from robodine_edge import __version__
from robodine_edge.clock import to_iso, utcnow
from robodine_edge.config import Config, hide_password
from robodine_edge.data.datadir import (
    HQ_API_TOKEN_FILE,
    HQ_LOCK_FILE,
    HQ_RUNTIME_FILE,
    DataDirLock,
    private_dir,
    remove_runtime,
    write_runtime,
    write_secret_once,
)
from robodine_edge.errors import CannotListen, DataDirBusy, RobodineError
from robodine_edge.hq.api import HqApp, HqContext, create_hq_app
from robodine_edge.hq.consumer import Consumer, tls_context
from robodine_edge.hq.schema import open_database
from robodine_edge.hq.storage import Worker
from robodine_edge.net.sockets import bind_tcp, bound_port

log = logging.getLogger(__name__)
DRAIN_TIMEOUT_S = 5.0


class StopRequested(BaseException):
    """SIGTERM/SIGINT before the server runs: unwind start-up through the ordered stop."""


class ChainDatabaseUnavailable(RobodineError):
    code = "database_unavailable"


def _stop_during_start_up(signum: int, frame: Any) -> None:
    raise StopRequested(signal.Signals(signum).name)


class HqService:
    """One running hq process. Construct on the main thread, then `run()`."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.data_dir = Path(config.data.dir)
        self._lock = DataDirLock(self.data_dir, HQ_LOCK_FILE)
        self._sock: socket.socket | None = None
        self._db: Database | None = None
        self._writer: Worker | None = None
        self._reader: Worker | None = None
        self._consumer: Consumer | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._started = time.monotonic()

    def run(self) -> int:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, _stop_during_start_up)
        try:
            self._bind()
            self._lock.acquire()
            token = self._api_token()
            self._open_database()
            assert self._db is not None and self._sock is not None
            self._writer = Worker(self._db, "hq-writer")
            self._reader = Worker(self._db, "hq-read")
            self._consumer = Consumer(self.config.federation, self._writer, tls_context(self.config.federation))
            app = create_hq_app(
                HqContext(self.config.federation.chain, token, self._reader, self._consumer, self._started)
            )
            app.register_listener(self._before_start, "before_server_start")
            app.register_listener(self._after_start, "after_server_start")
            app.register_listener(self._before_stop, "before_server_stop")
            app.run(sock=self._sock, single_process=True, access_log=False, motd=False)
        except StopRequested:
            log.info("stop requested during start-up")
        finally:
            self._stop()
        log.info("stopped")
        return 0

    def _bind(self) -> None:
        host, port = self.config.net.host, self.config.hq.http_port
        try:
            self._sock = bind_tcp(host, port)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE and DataDirLock(self.data_dir, HQ_LOCK_FILE).held_elsewhere():
                raise DataDirBusy(f"{self.data_dir} is in use by a running robodine-edge hq") from exc
            raise CannotListen(
                f"cannot listen on hq.http_port {port} at net.host {host}: {exc.strerror or exc}"
            ) from exc

    def _api_token(self) -> str:
        """`hq.api_token`, else the one generated on first start into `DATA_DIR/hq-api-token`
        (0600): the API is never open, and the log says where the token is, never the token."""
        if self.config.hq.api_token:
            return self.config.hq.api_token
        path = private_dir(self.data_dir) / HQ_API_TOKEN_FILE
        if write_secret_once(path, secrets.token_urlsafe(32)):
            log.warning("hq.api_token is not set: a random API token was written to %s", path)
        return path.read_text().strip()

    def _open_database(self) -> None:
        url = self.config.hq.database_url
        try:
            self._db = open_database(url, self.data_dir)
        except Exception as exc:  # the driver's own errors: unreachable, refused, bad credentials
            shown = hide_password(url) or "the SQLite file in the data directory"
            raise ChainDatabaseUnavailable(f"cannot open the chain database ({shown}): {exc}".strip()) from exc

    # -- on the event loop --------------------------------------------------------------------

    async def _before_start(self, app: HqApp) -> None:
        assert self._consumer is not None
        loop = asyncio.get_running_loop()
        for work in (self._consumer.connect_forever, self._consumer.write_forever, self._consumer.sweep_forever):
            self._tasks.append(loop.create_task(work(), name=f"hq-{work.__name__}"))

    async def _after_start(self, app: HqApp) -> None:
        self._take_over_signals(app)
        assert self._sock is not None
        port = bound_port(self._sock)
        write_runtime(
            self.data_dir,
            {"pid": os.getpid(), "http_port": port, "version": __version__, "started_at": to_iso(utcnow())},
            HQ_RUNTIME_FILE,
        )
        log.info(
            "ready",
            extra={"fields": {"http_port": port, "chain": self.config.federation.chain, "data_dir": str(self.data_dir),
                              "startup_s": round(time.monotonic() - self._started, 3)}},
        )  # fmt: skip

    def _take_over_signals(self, app: HqApp) -> None:
        """As the store service does (robodine_edge.server): a plain handler that records the
        request, acted on once Sanic serves (uvloop parks a signal that arrives between
        Sanic's start-up run and its serving run)."""
        loop = asyncio.get_running_loop()
        requested = asyncio.Event()

        def on_signal(signum: int, frame: Any) -> None:
            if not loop.is_closed():
                loop.call_soon_threadsafe(requested.set)

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
            signal.signal(sig, on_signal)

        async def stop_when_asked() -> None:
            await requested.wait()
            while not app.state.is_running:
                await asyncio.sleep(0.01)
            app.stop(terminate=False)

        self._tasks.append(loop.create_task(stop_when_asked()))

    async def _before_stop(self, app: HqApp) -> None:
        """Stop taking messages (the broker connection closes), then store what was taken and
        publish its acks, for at most `DRAIN_TIMEOUT_S`; what is left is sent again by the stores."""
        log.info("stopping")
        connection, others = self._tasks[0], self._tasks[1:]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)
        if self._consumer is not None:  # while still connected, so that its acks go out
            try:
                await asyncio.wait_for(self._consumer.drain(), DRAIN_TIMEOUT_S)
            except Exception as exc:
                log.warning("stopped before writing every pending event (%s); stores send them again", exc)
        connection.cancel()
        await asyncio.gather(connection, return_exceptions=True)

    # -- stopping (main thread) -------------------------------------------------------------------

    def _stop(self) -> None:
        for worker in (self._writer, self._reader):
            if worker is not None:
                worker.close()
        if self._db is not None:
            self._db.close()
        if self._sock is not None:
            self._sock.close()
        if self._lock.held:
            remove_runtime(self.data_dir, HQ_RUNTIME_FILE)
        self._lock.release()
