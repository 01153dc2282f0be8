"""Federation tests: a real Mosquitto broker and a real PostgreSQL server.

`mosquitto` is Debian's broker (installed with apt-get when /usr/sbin/mosquitto is missing, as
the browser tests install Chromium), started per test on 127.0.0.1 and a free port with a
config file in the test's tmp_path; `Broker` starts, stops, kills and pauses (SIGSTOP) it on
the same port for outage tests. `postgres` is Debian's PostgreSQL server (the `postgresql`
package, installed likewise when its binaries are missing), one per test worker in a
temporary folder owned by the `postgres` user (initdb refuses to run as root), on 127.0.0.1
and a free port, with durability off for speed; `postgres.new_database()` gives each test a
database of its own. `database_url` runs a test once on a SQLite file and once on PostgreSQL.
"""

from __future__ import annotations

import fcntl
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

MOSQUITTO = "/usr/sbin/mosquitto"
APT_LOCK = Path(tempfile.gettempdir()) / "robodine-tests-apt.lock"
START_TIMEOUT_S = 10.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def apt_install(package: str, present: Callable[[], bool]) -> None:
    """Install Debian's `package` unless `present()`; one installer at a time across test
    workers; an `apt-get update` first only when the plain install fails (a fresh machine)."""
    if present():
        return
    APT_LOCK.touch(exist_ok=True)
    with APT_LOCK.open() as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if present():
            return
        base = [] if os.geteuid() == 0 else ["sudo", "-n"]
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = [*base, "apt-get", "install", "-y", "-q", package]
        result = subprocess.run(install, capture_output=True, text=True, env=env, check=False)
        if result.returncode != 0:
            subprocess.run([*base, "apt-get", "update", "-q"], capture_output=True, env=env, check=False)
            result = subprocess.run(install, capture_output=True, text=True, env=env, check=False)
        if result.returncode != 0 or not present():
            pytest.fail(f"could not install Debian's {package} ({' '.join(install)}):\n{result.stderr[-2000:]}")


def wait_listening(port: int, timeout: float = START_TIMEOUT_S, what: str = "the server") -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise AssertionError(f"{what} did not listen on port {port} within {timeout:g} s") from None
            time.sleep(0.05)


# -- Mosquitto -------------------------------------------------------------------------------


@dataclass
class Broker:
    """One Mosquitto on 127.0.0.1:`port`; its config (and `extra` lines) in `folder`."""

    folder: Path
    port: int = field(default_factory=free_port)
    extra: str = ""
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    @property
    def log(self) -> str:
        path = self.folder / "mosquitto.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def start(self) -> Broker:
        lines = [f"listener {self.port} 127.0.0.1", "persistence false", "log_dest stderr", "log_type all"]
        if "allow_anonymous" not in self.extra:
            lines.append("allow_anonymous true")
        if os.geteuid() == 0:
            lines.append("user root")
        config = self.folder / "mosquitto.conf"
        config.write_text("\n".join([*lines, self.extra]) + "\n")
        with (self.folder / "mosquitto.log").open("ab") as log:
            self.process = subprocess.Popen([MOSQUITTO, "-c", str(config)], stdout=log, stderr=log)
        try:
            wait_listening(self.port, what="mosquitto")
        except AssertionError:
            self.stop()
            raise AssertionError(f"mosquitto did not start:\n{self.log[-3000:]}") from None
        return self

    def stop(self) -> None:
        """A clean stop (SIGTERM); the port is free again afterwards."""
        if self.process is not None and self.process.poll() is None:
            self.resume()
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)
        self.process = None

    def pause(self) -> None:
        """SIGSTOP: the broker holds its connections open and answers nothing (a black hole)."""
        if self.process is not None:
            self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Broker]:
    apt_install("mosquitto", lambda: os.access(MOSQUITTO, os.X_OK))
    folder = tmp_path / "mosquitto"
    folder.mkdir()
    broker = Broker(folder).start()
    yield broker
    broker.stop()


# -- PostgreSQL ------------------------------------------------------------------------------


def postgres_bin() -> Path | None:
    """The folder of Debian's PostgreSQL server binaries (newest version), or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[4]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("pg_ctl")
    return Path(on_path).resolve().parent if on_path else None


@dataclass
class PostgresServer:
    folder: Path
    port: int
    bin: Path
    user: str | None
    durable: bool = False

    def _run(self, *command: str) -> subprocess.CompletedProcess[str]:
        prefix = ["runuser", "-u", self.user, "--"] if self.user else []
        return subprocess.run([*prefix, *command], capture_output=True, text=True, check=False, cwd=self.folder)

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.folder}"
            " -c max_connections=200"
        )
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        result = self._run(str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"), "-l",
                           str(self.folder / "postgres.log"), "-o", options, "-w", "-t", "30", "start")  # fmt: skip
        if result.returncode != 0:
            log = (self.folder / "postgres.log").read_text(errors="replace")[-3000:]
            raise AssertionError(f"PostgreSQL did not start: {result.stderr}\n{log}")

    def stop(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "immediate", "-w", "stop")

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A new empty database; its URL."""
        import psycopg

        name = f"hq_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)


def start_postgres(*, durable: bool = False) -> PostgresServer:
    """A new PostgreSQL server in a temporary folder (owned by `postgres` when run as root:
    initdb refuses root). Without `durable`, fsync and full-page writes are off (tests)."""
    apt_install("postgresql", lambda: postgres_bin() is not None)
    bin_dir = postgres_bin()
    assert bin_dir is not None
    user = "postgres" if os.geteuid() == 0 else None
    folder = Path(tempfile.mkdtemp(prefix="robodine-pg-"))
    if user:
        record = pwd.getpwnam(user)
        os.chown(folder, record.pw_uid, record.pw_gid)
    server = PostgresServer(folder, free_port(), bin_dir, user, durable)
    result = server._run(str(bin_dir / "initdb"), "-D", str(folder / "data"), "-U", "postgres", "--auth=trust",
                         "--no-sync", "-E", "UTF8", "--locale=C")  # fmt: skip
    if result.returncode != 0:
        server.remove()
        raise AssertionError(f"initdb failed: {result.stderr[-2000:]}")
    try:
        server.start()
    except BaseException:
        server.remove()
        raise
    return server


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = start_postgres()
    try:
        yield server
    finally:
        server.stop()
        server.remove()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The chain database of a test: a SQLite file (a trial), then PostgreSQL (a chain)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'chain.sqlite3'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.new_database()
