"""A test robot: speaks the link protocol over a real socket (or pty), blocking with timeouts."""

from __future__ import annotations

import os
import select
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson

from robodine_edge.protocol.pose import Pose
from robodine_edge.protocol.telemetry import Telemetry, encode_telemetry


class RobotClient:
    """One robot connection. `frames()` yields what the edge sends, line by line."""

    def __init__(
        self, port: int | None = None, *, fd: int | None = None, timeout: float = 5.0, rcvbuf: int | None = None
    ) -> None:
        """`rcvbuf` shrinks the socket's receive buffer (set before connecting, so the
        window the edge sees is small too): a robot that stops reading fills it at once."""
        self.timeout = timeout
        self.sock: socket.socket | None = None
        self.fd = fd
        if port is not None:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            if rcvbuf is not None:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            self.sock.settimeout(timeout)
            self.sock.connect(("127.0.0.1", port))
        self._buffer = b""
        self.session: str | None = None
        self.welcome: dict[str, Any] = {}

    # -- raw bytes ---------------------------------------------------------------------------

    def send_raw(self, data: bytes) -> None:
        if self.sock is not None:
            self.sock.sendall(data)
        else:
            assert self.fd is not None
            os.write(self.fd, data)

    def _recv(self, deadline: float) -> bytes:
        remaining = max(0.0, deadline - time.monotonic())
        if self.sock is not None:
            self.sock.settimeout(remaining or 0.001)
            try:
                return self.sock.recv(65536)
            except TimeoutError:
                raise TimeoutError("no frame from the edge") from None
        assert self.fd is not None
        ready, _, _ = select.select([self.fd], [], [], remaining)
        if not ready:
            raise TimeoutError("no frame from the edge")
        return os.read(self.fd, 65536)

    # -- frames ------------------------------------------------------------------------------

    def send(self, **frame: Any) -> None:
        self.send_raw(orjson.dumps(frame) + b"\n")

    def read(self, timeout: float | None = None) -> dict[str, Any]:
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        while b"\n" not in self._buffer:
            chunk = self._recv(deadline)
            if not chunk:
                raise ConnectionError("the edge closed the link")
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return orjson.loads(line)

    def read_until(
        self, kind: str, timeout: float | None = None, *, keepalive_s: float | None = None
    ) -> dict[str, Any]:
        """The next frame of type `kind`; with `keepalive_s`, pings that often meanwhile."""
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        while True:
            left = max(0.01, deadline - time.monotonic())
            try:
                frame = self.read(min(left, keepalive_s) if keepalive_s else left)
            except TimeoutError:
                if not keepalive_s or time.monotonic() >= deadline:
                    raise
                self.send(type="ping")
                continue
            if frame.get("type") == kind:
                return frame

    def closed_by_edge(self, timeout: float | None = None) -> bool:
        """True once the edge closes the connection (frames before that are skipped)."""
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        try:
            while True:
                self.read(max(0.01, deadline - time.monotonic()))
        except ConnectionError:
            return True
        except (TimeoutError, OSError):
            return False

    def hello(self, robot_id: str, token: str, kind: str = "albabot", **extra: Any) -> dict[str, Any]:
        self.send(type="hello", robot_id=robot_id, kind=kind, token=token, proto=1, **extra)
        answer = self.read()
        if answer.get("type") == "welcome":
            self.session, self.welcome = answer["session"], answer
        return answer

    def telemetry(
        self,
        udp_port: int,
        robot_id: str,
        seq: int,
        *,
        session: str | None = None,
        x: float = 1.0,
        y: float = 2.0,
        state: str = "idle",
    ) -> None:
        sample = Telemetry(robot_id, session or self.session or "", seq, Pose(x, y), 77.0, state, None)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.sendto(encode_telemetry(sample), ("127.0.0.1", udp_port))

    @contextmanager
    def sending_every(self, interval_s: float, data: bytes = b'{"type":"ping"}\n') -> Iterator[None]:
        """Send `data` every `interval_s` from a thread while the block runs (a robot that
        keeps talking whatever it reads); stops quietly once the edge has closed the link."""
        stop = threading.Event()

        def keep_sending() -> None:
            while not stop.wait(interval_s):
                try:
                    self.send_raw(data)
                except OSError:
                    return

        thread = threading.Thread(target=keep_sending, name="robot-sender")
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()

    def __enter__(self) -> RobotClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
