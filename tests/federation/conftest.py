"""A real broker for the federation tests: Debian's Mosquitto, one per test.

`mosquitto` is a started broker on 127.0.0.1 and a free port (anonymous, no
persistence); `mosquitto_factory(...)` makes one with options (password file, ACL file,
TLS, persistence) started or not. Each `Broker` can be stopped and started again on the
same port, and paused (SIGSTOP: a black hole that still accepts TCP connections) and
resumed. `MqttProbe` is a plain client for the test's side: a subscriber that records
what it receives, and a publisher (as headquarters would publish `ack` and `cfg`).
`tls_files` makes a CA, a broker certificate it signs, and an unrelated CA.

`postgres` is Debian's PostgreSQL server (the `postgresql` package, installed when its
binaries are missing), one per test worker in a temporary folder owned by the `postgres`
user (initdb refuses to run as root), on 127.0.0.1 and a free port, with durability off
for speed; `postgres.new_database()` gives each test a database of its own.
`database_url` runs a test once on a SQLite file and once on PostgreSQL (headquarters).
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
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
from paho.mqtt.client import CallbackAPIVersion, Client, MQTTMessage
from paho.mqtt.enums import MQTTProtocolVersion

from tests.waiting import eventually

MOSQUITTO = "/usr/sbin/mosquitto"
MOSQUITTO_PASSWD = "/usr/bin/mosquitto_passwd"
INSTALL_LOCK = Path("/tmp/robodine-tests-apt.lock")


def mosquitto_executable() -> str:
    """Debian's Mosquitto, installed on first use if missing (one installer at a time:
    test workers start together)."""
    if os.access(MOSQUITTO, os.X_OK) and os.access(MOSQUITTO_PASSWD, os.X_OK):
        return MOSQUITTO
    apt = ["apt-get", "install", "-y", "-q", "mosquitto"]
    command = apt if os.geteuid() == 0 else ["sudo", "-n", *apt]
    if shutil.which(command[0]) is None:
        pytest.fail(f"{MOSQUITTO} is missing and {command[0]} is not available to install Debian's mosquitto")
    with INSTALL_LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.access(MOSQUITTO, os.X_OK):
            env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
            result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
            if result.returncode != 0 or not os.access(MOSQUITTO, os.X_OK):
                pytest.fail(f"could not install Debian's mosquitto ({' '.join(command)}):\n{result.stderr[-2000:]}")
    return MOSQUITTO


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Broker:
    """One Mosquitto process and its config; `start`/`stop` keep the port."""

    folder: Path
    users: dict[str, str] = field(default_factory=dict)
    """user → password (a password file made with mosquitto_passwd; anonymous refused)."""
    acl: str | None = None
    tls: tuple[Path, Path, Path] | None = None
    """(CA, certificate, key) for a TLS listener."""
    persistence: bool = False
    port: int = field(default_factory=free_port)
    extra: str = ""
    """More configuration lines (e.g. `max_queued_messages 10000`)."""
    process: subprocess.Popen[bytes] | None = None

    def config_text(self) -> str:
        lines = [f"listener {self.port} 127.0.0.1", f"persistence {'true' if self.persistence else 'false'}"]
        if os.geteuid() == 0:
            lines.append("user root")
        if self.persistence:
            lines.append(f"persistence_location {self.folder}/")
        if self.users:
            passwords = self.folder / "passwords"
            passwords.write_text("")
            for user, password in self.users.items():
                subprocess.run([MOSQUITTO_PASSWD, "-b", str(passwords), user, password], check=True)
            lines += ["allow_anonymous false", f"password_file {passwords}"]
        else:
            lines.append("allow_anonymous true")
        if self.acl is not None:
            (self.folder / "acl").write_text(self.acl)
            lines.append(f"acl_file {self.folder / 'acl'}")
        if self.tls is not None:
            ca, cert, key = self.tls
            lines += [f"cafile {ca}", f"certfile {cert}", f"keyfile {key}"]
        if self.extra:
            lines.append(self.extra)
        return "\n".join(lines) + "\n"

    def start(self) -> Broker:
        self.folder.mkdir(parents=True, exist_ok=True)
        config = self.folder / "mosquitto.conf"
        config.write_text(self.config_text())
        log = (self.folder / "mosquitto.log").open("ab")
        self.process = subprocess.Popen([mosquitto_executable(), "-c", str(config), "-v"], stdout=log, stderr=log)
        log.close()
        eventually(self._accepting, timeout=10, what=f"mosquitto listening on {self.port}")
        return self

    def _accepting(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"mosquitto exited {self.process.returncode}:\n{self.log}")
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
        except OSError:
            return False
        return True

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None

    def kill(self) -> None:
        """SIGKILL: the broker dies without a word (its clients find out by keepalive)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)
        self.process = None

    def pause(self) -> None:
        """SIGSTOP: the kernel still accepts connections and data; nothing answers."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    @property
    def url(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://127.0.0.1:{self.port}"

    @property
    def log(self) -> str:
        path = self.folder / "mosquitto.log"
        return path.read_text(errors="replace") if path.exists() else ""


@pytest.fixture
def mosquitto_factory(tmp_path: Path) -> Iterator[Callable[..., Broker]]:
    brokers: list[Broker] = []

    def make(*, start: bool = True, name: str = "broker", **options: Any) -> Broker:
        broker = Broker(tmp_path / name, **options)
        brokers.append(broker)
        return broker.start() if start else broker

    mosquitto_executable()
    yield make
    for broker in brokers:
        broker.stop()


@pytest.fixture
def mosquitto(mosquitto_factory: Callable[..., Broker]) -> Broker:
    return mosquitto_factory()


@dataclass(frozen=True)
class Received:
    topic: str
    payload: bytes
    retain: bool
    at: float

    def json(self) -> Any:
        return orjson.loads(self.payload)


class MqttProbe:
    """A test's own MQTT v5 client (paho, its network thread started and stopped here)."""

    def __init__(
        self,
        broker: Broker,
        *,
        client_id: str = "",
        username: str | None = None,
        password: str | None = None,
        clean_start: bool = True,
        ca_file: Path | None = None,
    ) -> None:
        self.broker = broker
        self.client = Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTProtocolVersion.MQTTv5)
        if username is not None:
            self.client.username_pw_set(username, password)
        if ca_file is not None:
            self.client.tls_set(ca_certs=str(ca_file))
        self.clean_start = clean_start
        self.messages: list[Received] = []
        self.granted: list[Any] = []
        self.acks: dict[int, Any] = {}
        self._changed = threading.Condition()
        self._connected = threading.Event()
        self.client.on_message = self._on_message
        self.client.on_connect = lambda *args: self._connected.set()
        self.client.on_subscribe = self._on_subscribe
        self.client.on_publish = self._on_publish

    def connect(self, properties: Any = None) -> MqttProbe:
        self._connected.clear()
        port = self.broker.port
        self.client.connect("127.0.0.1", port, keepalive=30, clean_start=self.clean_start, properties=properties)
        self.client.loop_start()
        assert self._connected.wait(10), "the test client could not connect"
        return self

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def __enter__(self) -> MqttProbe:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def subscribe(self, *topics: str) -> list[Any]:
        with self._changed:
            before = len(self.granted)
            self.client.subscribe([(topic, 1) for topic in topics])
            assert self._changed.wait_for(lambda: len(self.granted) > before, 10), "no SUBACK"
            return self.granted[-1]

    def publish(self, topic: str, body: Any, *, retain: bool = False) -> Any:
        """QoS 1; returns the PUBACK's reason code."""
        payload = body if isinstance(body, bytes) else orjson.dumps(body)
        with self._changed:
            info = self.client.publish(topic, payload, qos=1, retain=retain)
            assert self._changed.wait_for(lambda: info.mid in self.acks, 10), "no PUBACK"
            return self.acks[info.mid]

    def wait_for(self, check: Callable[[list[Received]], Any], timeout: float = 10.0, what: str = "messages") -> Any:
        with self._changed:
            found = self._changed.wait_for(lambda: check(self.messages), timeout)
        if not found:
            raise AssertionError(f"{what} did not arrive within {timeout:g} s; got {[m.topic for m in self.messages]}")
        return found

    def on(self, suffix: str) -> list[Received]:
        with self._changed:
            return [m for m in self.messages if m.topic.endswith(suffix)]

    def _on_message(self, client: Client, userdata: Any, message: MQTTMessage) -> None:
        with self._changed:
            received = Received(message.topic, bytes(message.payload), bool(message.retain), time.monotonic())
            self.messages.append(received)
            self._changed.notify_all()

    def _on_subscribe(self, client: Client, userdata: Any, mid: int, codes: Any, properties: Any) -> None:
        with self._changed:
            self.granted.append(codes)
            self._changed.notify_all()

    def _on_publish(self, client: Client, userdata: Any, mid: int, code: Any, properties: Any) -> None:
        with self._changed:
            self.acks[mid] = code
            self._changed.notify_all()


@dataclass(frozen=True)
class TlsFiles:
    ca: Path
    cert: Path
    key: Path
    other_ca: Path


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


@pytest.fixture
def tls_files(tmp_path: Path) -> TlsFiles:
    """A CA, a broker certificate for 127.0.0.1 / localhost signed by it, and another CA."""
    folder = tmp_path / "tls"
    folder.mkdir()
    for name in ("ca", "other-ca"):
        _openssl(
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN=robodine test {name}",
            "-keyout", str(folder / f"{name}.key"), "-out", str(folder / f"{name}.pem"),
        )  # fmt: skip
    _openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
        "-keyout", str(folder / "broker.key"), "-out", str(folder / "broker.csr"),
    )  # fmt: skip
    (folder / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _openssl(
        "x509", "-req", "-in", str(folder / "broker.csr"),
        "-CA", str(folder / "ca.pem"), "-CAkey", str(folder / "ca.key"), "-CAcreateserial", "-days", "2",
        "-extfile", str(folder / "san.ext"), "-out", str(folder / "broker.pem"),
    )  # fmt: skip
    return TlsFiles(folder / "ca.pem", folder / "broker.pem", folder / "broker.key", folder / "other-ca.pem")


def apt_install(package: str, present: Callable[[], bool]) -> None:
    """Install Debian's `package` unless `present()`; one installer at a time across test
    workers; an `apt-get update` first only when the plain install fails (a fresh machine)."""
    if present():
        return
    INSTALL_LOCK.touch(exist_ok=True)
    with INSTALL_LOCK.open() as lock:
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
