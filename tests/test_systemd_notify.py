"""sd_notify datagrams and the watchdog loop, with real sockets and real actors."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
from pathlib import Path

from robodine_edge.actors.base import SupervisedActor
from robodine_edge.actors.supervisor import ChildSpec, Supervisor
from robodine_edge.process.systemd_notify import SystemdNotifier, feed_watchdog
from robodine_edge.threads import bridge


def test_watchdog_interval_is_half_of_watchdog_usec() -> None:
    assert SystemdNotifier({"WATCHDOG_USEC": "10000000"}).watchdog_interval_s == 5.0
    assert SystemdNotifier({"WATCHDOG_USEC": "10000000", "WATCHDOG_PID": "1"}).watchdog_interval_s is None
    pid = str(os.getpid())
    assert SystemdNotifier({"WATCHDOG_USEC": "2000000", "WATCHDOG_PID": pid}).watchdog_interval_s == 1.0
    assert SystemdNotifier({"WATCHDOG_USEC": "nonsense"}).watchdog_interval_s is None
    assert SystemdNotifier({}).watchdog_interval_s is None


def test_without_notify_socket_nothing_is_sent() -> None:
    notifier = SystemdNotifier({})
    assert not notifier.enabled and notifier.notify("READY=1") is False


def test_a_vanished_socket_never_raises(tmp_path: Path) -> None:
    notifier = SystemdNotifier({"NOTIFY_SOCKET": str(tmp_path / "gone.sock")})
    assert notifier.notify("READY=1") is False
    notifier.close()


def test_watchdog_is_withheld_while_actors_do_not_answer(tmp_path: Path) -> None:
    """The feeding loop with a real notify socket and a real supervisor."""

    class Busy(SupervisedActor):
        def block(self, release: threading.Event) -> None:
            release.wait(10)

    path = tmp_path / "wd.sock"
    release = threading.Event()
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        sock.setblocking(False)
        notifier = SystemdNotifier({"NOTIFY_SOCKET": str(path)})
        supervisor = Supervisor.start().proxy()
        busy = supervisor.start_child(
            ChildSpec[object]("busy", lambda listener: Busy.start(crash_listener=listener))
        ).get(timeout=5)

        async def count_beats(seconds: float) -> int:
            task = asyncio.create_task(
                feed_watchdog(notifier, 0.05, lambda: bridge.wait(supervisor.responsive(0.02), 1))
            )
            await asyncio.sleep(seconds)
            task.cancel()
            beats = 0
            while True:
                try:
                    beats += sock.recv(64) == b"WATCHDOG=1"
                except BlockingIOError:
                    return beats

        assert asyncio.run(count_beats(0.5)) >= 3
        busy.proxy.block.defer(release)
        try:
            assert asyncio.run(count_beats(0.5)) == 0
        finally:
            release.set()
        notifier.close()
