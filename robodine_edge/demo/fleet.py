"""`run --demo`'s fleet: the demo robots simulated beside the service, as a child process
speaking the real protocols (robodine_edge/simulate), and guests who come, order, eat
and leave, so a newcomer sees the whole flow move. Event loop (the composition root's
start-up and stop)."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

from robodine_edge.demo.seed import CREDENTIALS_FILE, DEMO_ROBOTS_FILE, FIXED_CAMERAS

log = logging.getLogger(__name__)
GUESTS_EVERY_S = 20.0
"""In the demo, a party of guests comes this often."""
STOP_TIMEOUT_S = 3.0
RESTART_DELAY_S = (1.0, 30.0)
"""A simulator that exits on its own is started again after the first figure, doubled
up to the second while it keeps exiting within `STEADY_S` of its start."""
STEADY_S = 60.0


class DemoFleet:
    """The simulator process: started once the service is ready, stopped before it stops."""

    def __init__(self, data_dir: Path, host: str) -> None:
        self._data_dir = data_dir
        self._host = "127.0.0.1" if host in ("0.0.0.0", "") else host
        self._process: asyncio.subprocess.Process | None = None
        self._keeper: asyncio.Task[None] | None = None

    async def start(self, robot_port: int | None, http_port: int | None) -> None:
        """Start the simulator with the demo robots' tokens and a staff login for the guests."""
        tokens = self._data_dir / DEMO_ROBOTS_FILE
        if not tokens.is_file():
            log.warning("no %s: the demo fleet is not simulated", tokens)
            return
        guests = ["--guests-every", str(GUESTS_EVERY_S), "--credentials", str(self._data_dir / CREDENTIALS_FILE)]
        cameras = ["--cameras", str(FIXED_CAMERAS), "--prefix", ""]  # the seeded cam-1 beside the robots' own
        self._process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "robodine_edge", "simulate", "--edge", f"{self._host}:{robot_port}",
            "--api", f"http://{self._host}:{http_port}", "--tokens", str(tokens), *guests, *cameras,
        )  # fmt: skip
        log.info("started the demo fleet simulator (pid %d)", self._process.pid)
        if self._keeper is None:
            self._keeper = asyncio.get_running_loop().create_task(self._keep_running(robot_port, http_port))

    async def _keep_running(self, robot_port: int | None, http_port: int | None) -> None:
        """A simulator that exits while the service runs (killed, crashed) is started
        again, so the demo keeps moving: its robots link again and its guests take over
        the parties the last one left. Event loop; cancelled by `stop`."""
        delay = RESTART_DELAY_S[0]
        while self._process is not None:
            started = asyncio.get_running_loop().time()
            code = await self._process.wait()
            if asyncio.get_running_loop().time() - started >= STEADY_S:
                delay = RESTART_DELAY_S[0]
            log.warning("the demo fleet simulator exited (%s); starting it again in %g s", code, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, RESTART_DELAY_S[1])
            try:
                await self.start(robot_port, http_port)
            except OSError as exc:
                log.error("cannot start the demo fleet simulator again: %s", exc)

    async def stop(self) -> None:
        """Terminate the simulator (killed if it does not exit within `STOP_TIMEOUT_S`)."""
        if self._keeper is not None:
            self._keeper.cancel()
            await asyncio.gather(self._keeper, return_exceptions=True)
        if self._process is None or self._process.returncode is not None:
            return
        self._process.terminate()
        try:
            await asyncio.wait_for(self._process.wait(), STOP_TIMEOUT_S)
        except TimeoutError:
            self._process.kill()
            await self._process.wait()
