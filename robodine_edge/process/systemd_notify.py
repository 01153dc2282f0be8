"""Talking to systemd: `READY=1`, `WATCHDOG=1`, `STOPPING=1` on `NOTIFY_SOCKET`.

The sd_notify protocol is one datagram on a Unix socket, so this needs no library.
The socket is non-blocking: a busy or absent systemd never stalls the event loop; a
message that cannot be sent is dropped (and logged at debug).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Mapping

log = logging.getLogger(__name__)


class SystemdNotifier:
    """Sends state changes to the service manager, if there is one."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        address = env.get("NOTIFY_SOCKET", "")
        self._address = "\0" + address[1:] if address.startswith("@") else address
        self._socket: socket.socket | None = None
        self.watchdog_interval_s = _watchdog_interval(env)

    @property
    def enabled(self) -> bool:
        return bool(self._address)

    def notify(self, state: str) -> bool:
        """Send `state` (e.g. `READY=1`); True if it left. Safe on the event loop."""
        if not self._address:
            return False
        try:
            if self._socket is None:
                self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                self._socket.setblocking(False)
            self._socket.sendto(state.encode(), self._address)
        except OSError as exc:
            log.debug("sd_notify %s failed: %s", state.split("=")[0], exc)
            return False
        return True

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None


def _watchdog_interval(env: Mapping[str, str]) -> float | None:
    """Half of `WATCHDOG_USEC`, if the watchdog is meant for this process."""
    usec = env.get("WATCHDOG_USEC")
    pid = env.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        value = int(usec)
    except ValueError:
        return None
    return value / 2 / 1_000_000 if value > 0 else None


async def feed_watchdog(
    notifier: SystemdNotifier, interval_s: float, is_responsive: Callable[[], Awaitable[bool]]
) -> None:
    """Send `WATCHDOG=1` every `interval_s` while `is_responsive()` says so. Event loop.

    A check that fails or raises withholds that beat; systemd restarts the service
    once `WatchdogSec` passes without one.
    """
    while True:
        await asyncio.sleep(interval_s)
        try:
            healthy = await is_responsive()
        except Exception as exc:
            log.warning("watchdog check failed: %s", exc)
            healthy = False
        if healthy:
            notifier.notify("WATCHDOG=1")
        else:
            log.warning("actor system not answering; withholding the systemd watchdog")
