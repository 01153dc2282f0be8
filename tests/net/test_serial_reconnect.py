"""A serial device that goes away and comes back: the edge reopens it with backoff.

The config names a symlink (as udev names a USB adapter, `/dev/serial/by-id/...`); the
test points it at a real pty, unplugs it (removes the link, closes the pty) and plugs
a new pty in behind the same name. The robot on the new pty says hello again.
"""

from __future__ import annotations

import os
import re
import time
import tty
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
import pytest

from robodine_edge.net.serial_link import STEADY_S, Backoff
from tests.net.conftest import offline_because, register
from tests.robot_client import RobotClient
from tests.service import ServiceProcess, service_env
from tests.waiting import eventually

pytestmark = pytest.mark.e2e
RETRY = re.compile(r"cannot open .*retrying in (\d+\.\d) s")


class Device:
    """A pty pair behind a stable name: the edge opens `link`, the robot writes `master`."""

    def __init__(self, link: Path) -> None:
        self.link = link
        self.master, self.slave = os.openpty()
        tty.setraw(self.master)
        tty.setraw(self.slave)
        link.symlink_to(os.ttyname(self.slave))

    def unplug(self) -> None:
        """The name goes first, then the device: the edge's reads fail and its reopen finds nothing."""
        self.link.unlink(missing_ok=True)
        for fd in (self.master, self.slave):
            os.close(fd)
        self.master = self.slave = -1


@contextmanager
def plugged(link: Path) -> Iterator[Device]:
    device = Device(link)
    try:
        yield device
    finally:
        if device.master != -1:
            device.unplug()


def retry_delays(service: ServiceProcess, after: int) -> list[float]:
    """The 'retrying in N s' waits the edge logged for failed opens, from log line `after` on."""
    return [float(m.group(1)) for line in service.lines[after:] if (m := RETRY.search(line))]


def first_retries(service: ServiceProcess, after: int, count: int) -> list[float]:
    delays = retry_delays(service, after)
    return delays[:count] if len(delays) >= count else []


def reopened(service: ServiceProcess, after: int) -> bool:
    return any("serial_link" in line and "open at" in line for line in service.lines[after:])


def online(service: ServiceProcess, admin: dict[str, str], robot_id: str) -> bool:
    return bool(service.http.get(f"/api/robots/{robot_id}", headers=admin).json()["online"])


def test_backoff_doubles_to_its_cap_and_starts_again_after_a_reset() -> None:
    backoff = Backoff(first_s=0.5, max_s=4.0)
    assert [backoff.next() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    backoff.reset()
    assert backoff.next() == 0.5


def test_a_serial_device_that_disappears_is_reopened_with_backoff(tmp_path: Path) -> None:
    link = tmp_path / "ttyROBOT"
    env = service_env(
        tmp_path,
        ROBODINE_SERIAL=orjson.dumps([{"port": str(link), "baud": 115200}]).decode(),
        ROBODINE_LOG_LEVEL="debug",  # every retry, not only the first of an outage
    )
    with plugged(link) as first, ServiceProcess(tmp_path, env) as service:
        admin = service.auth(service.token())
        robot_id, token = register(service, admin, "cookbot")
        assert RobotClient(fd=first.master).hello(robot_id, token, kind="cookbot")["type"] == "welcome"
        assert online(service, admin, robot_id)

        mark = len(service.lines)
        first.unplug()
        eventually(lambda: offline_because(service, admin, robot_id, ""), what="the robot going offline")
        # The edge keeps trying, each wait twice the one before: not a busy loop.
        delays = eventually(lambda: first_retries(service, mark, 3), timeout=15, what="three failed reopens")
        assert delays == [1.0, 2.0, 4.0]
        outage = [line for line in service.lines[mark:] if "serial_link" in line]
        assert [line.split()[1] for line in outage[:4]] == ["level=warning"] * 2 + ["level=debug"] * 2, outage
        assert not online(service, admin, robot_id)

        with plugged(link) as second:
            robot = RobotClient(fd=second.master, timeout=10)
            eventually(lambda: reopened(service, mark), timeout=10, what="the edge reopening the port")
            up_since = time.monotonic()
            assert any("after 3 failed attempts" in line for line in service.lines[mark:])
            assert robot.hello(robot_id, token, kind="cookbot")["type"] == "welcome"
            assert online(service, admin, robot_id)
            online_events = service.http.get("/api/events", headers=admin, params={"type": "robot_online"}).json()
            assert len([e for e in online_events if e["entity_id"] == robot_id]) == 2

            # Up for STEADY_S, the port counts as working: losing it again starts at 0.5 s,
            # not at the 8 s the last outage had reached.
            with robot.sending_every(0.5):
                eventually(
                    lambda: time.monotonic() - up_since > STEADY_S + 0.5, timeout=STEADY_S + 2, what="a steady link"
                )
            assert online(service, admin, robot_id)
            mark = len(service.lines)
            second.unplug()
            assert eventually(lambda: first_retries(service, mark, 1), timeout=5, what="a failed reopen") == [1.0]
            eventually(lambda: not online(service, admin, robot_id), what="the robot going offline again")
