"""The original RoboDine robots, replayed byte for byte: what they send and how they wait.

Written from the original system's public code (its Alba Manager TCP client, its Cook
Manager ROS node, its interface document), not copied from it:

* The Alba Manager's client opens a connection per report, sets a 5 s timeout, sends
  `json.dumps(report)` (the standard library's default separators, `", "` and `": "`)
  with one `sendall`, then waits for the answer with one `recv(4096)` — its side still
  open: it never shuts down its write side. The original server answered after its
  first `recv`, so these robots never needed EOF.
* The Cook Manager node reports every second for each of its arms in turn, `json.dumps`
  of each frame with one `sendall` each, on one connection it closes right after
  (`with socket.socket() as s`), reading no answer. A later version of the node waits
  for the answer, as the Alba Manager does (`recv(1024)`, side open): `wait_answer`.
  (That version also put a 4-byte length before each object, which the edge's contract
  does not have; the replay keeps the contract's plain objects.)
* The Face and Ingredient frames are plain objects sent as the Alba Manager does.
* The legacy camera sends `struct.pack("d", time.time())` (native order: little-endian
  on the robots' x86 and ARM boards) and the whole JPEG, in one datagram.
* The original arm receives dishes on a listening socket it makes for each connection:
  socket, bind (no `SO_REUSEADDR`), `listen(1)`, accept one, `recv(1024)` until EOF
  (each read is one dish, stripped), close that connection, close the listening
  socket, and start again; a failure (a bind refused) waits 2 s. Connections that come
  while it is not listening are refused, and one queued behind the one it handles is
  reset when it closes its listening socket.
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
import time
from typing import Any

from robodine_edge.protocol.pose import AXES

ALBA_TIMEOUT_S = 5.0
"""The Alba Manager client's `settimeout`."""
ARM_RETRY_S = 2.0
"""What the original arm's receiver sleeps after a failure before it listens again."""


def albabot_report(robot_id: int, status: str = "IDLE", battery: int = 85, x: float = 10.5) -> dict[str, Any]:
    """An Alba Manager report, the interface document's field order and types."""
    report: dict[str, Any] = {"msg_type": "Albabot", "robot_id": robot_id, "status": status, "battery_level": battery}
    for frame, base in (("pinky", x), ("global", x * 10), ("world", x * 100)):
        report.update({f"{frame}_{axis}": base if axis == "x" else 0.0 for axis in AXES})
    return report


def cookbot_report(robot_id: str | int, status: str = "IDLE") -> dict[str, Any]:
    report: dict[str, Any] = {"msg_type": "Cookbot", "robot_id": robot_id, "status": status}
    report.update({f"angle_{n}": 10.0 * n for n in range(1, 7)})
    report.update({f"endpoint_{axis}": 0.5 for axis in AXES})
    return report


def face_report(table_id: int, exist: int = 1, reliability: int = 87) -> dict[str, Any]:
    """The original face model's fields: history a JSON text, nowdetected and reliability integers."""
    return {
        "msg_type": "Face",
        "table_id": table_id,
        "history": "[1, 1, 0, 1]",
        "nowdetected": exist,
        "reliability": reliability,
        "exist": exist,
    }


def ingredient_report(ingredient_id: int) -> dict[str, Any]:
    return {"msg_type": "Ingredient", "ingredient_id": ingredient_id, "x": 0.5, "y": 0.3, "z": 0.1,
            "roll": 0.0, "pitch": 0.0, "yaw": 45.0}  # fmt: skip


def alba_manager_send(port: int, report: dict[str, Any], host: str = "127.0.0.1") -> tuple[str, float]:
    """One report as the Alba Manager's client sends it; returns the answer and how long
    it took from connecting. Raises `TimeoutError` when no answer came within 5 s."""
    payload = json.dumps(report).encode("utf-8")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(ALBA_TIMEOUT_S)
        started = time.monotonic()
        sock.connect((host, port))
        sock.sendall(payload)
        answer = sock.recv(4096).decode("utf-8")
        return answer, time.monotonic() - started


def cook_manager_send(
    port: int, reports: list[dict[str, Any]], *, wait_answer: bool = False, host: str = "127.0.0.1"
) -> tuple[str, float] | None:
    """One round of the Cook Manager node: every arm's report on one connection, one
    `sendall` each; then it closes at once, or (`wait_answer`) waits for the answer
    with its side open."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(ALBA_TIMEOUT_S)
        started = time.monotonic()
        sock.connect((host, port))
        for report in reports:
            sock.sendall(json.dumps(report).encode("utf-8"))
        if not wait_answer:
            return None
        return sock.recv(1024).decode("utf-8"), time.monotonic() - started


def camera_datagram(jpeg: bytes, sent_at: float | None = None) -> bytes:
    """The legacy camera's datagram: its clock, packed natively, then the whole JPEG."""
    return struct.pack("d", time.time() if sent_at is None else sent_at) + jpeg


class OriginalArm:
    """The original cook arm's dish receiver, on its own thread, at a fixed port."""

    def __init__(self) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:  # a port free now
            probe.bind(("127.0.0.1", 0))
            self.port: int = probe.getsockname()[1]
        self.dishes: list[str] = []
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="original-arm", daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                    s.bind(("127.0.0.1", self.port))
                    s.listen(1)
                    conn, _ = s.accept()
                    with conn:
                        while True:
                            data = conn.recv(1024)
                            if not data:
                                break
                            with self._changed:
                                self.dishes.append(data.decode("utf-8").strip())
                                self._changed.notify_all()
            except OSError:
                if not self._stop.is_set():
                    self._stop.wait(ARM_RETRY_S)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[str]:
        """The dishes received once there are `count` of them (all so far on timeout)."""
        with self._changed:
            self._changed.wait_for(lambda: len(self.dishes) >= count, timeout)
            return list(self.dishes)

    def close(self) -> None:
        """Stop listening: a connection of its own wakes the receiver from `accept`."""
        self._stop.set()
        deadline = time.monotonic() + 5.0
        while self._thread.is_alive() and time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
            self._thread.join(0.1)
