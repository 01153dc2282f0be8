"""Robots on a serial cable (`[[serial]]` in the config): the same link, the same hello.

Each configured port gets a `SerialLink` with two device threads: a reader that hands
bytes to a `LinkProtocol` on the event loop, and a writer that drains what the
protocol writes (a slow port never blocks the loop). Any pyserial URL works
(`/dev/ttyUSB0`, `socket://host:port`, `loop://`). When the device goes away, or the
protocol closes the link, the port is reopened with backoff (0.5 s doubling to 30 s,
back to 0.5 s once a port has stayed open `STEADY_S`), and the robot says hello again.
An outage is logged once at warning (the loss, the first failed reopen) and once at
info when the port is back; the retries in between are debug, so an adapter left
unplugged over a weekend is one line in the journal, not one every 30 s.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import serial

log = logging.getLogger(__name__)
READ_TIMEOUT_S = 0.05
FIRST_BACKOFF_S = 0.5
MAX_BACKOFF_S = 30.0
STEADY_S = 5.0
"""A port that stayed open this long was working: its next loss starts the backoff afresh."""


class Backoff:
    """The waits between reopens: `first_s`, doubling up to `max_s`. Owned by one device thread."""

    def __init__(self, first_s: float = FIRST_BACKOFF_S, max_s: float = MAX_BACKOFF_S) -> None:
        self.first_s = first_s
        self.max_s = max_s
        self._next_s = first_s

    def next(self) -> float:
        """The wait before the next attempt; the one after it is twice as long."""
        delay = self._next_s
        self._next_s = min(delay * 2, self.max_s)
        return delay

    def reset(self) -> None:
        self._next_s = self.first_s


class SerialTransport(asyncio.Transport):
    """The part of `asyncio.Transport` a `LinkProtocol` uses, over a serial port (the
    rest is asyncio's: not implemented).

    Called on the event loop; hands writes to the port's writer thread. What waits for
    that thread is counted (`get_write_buffer_size`), so the protocol bounds it the way
    it bounds a TCP transport's buffer, and `abort` drops it.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.outgoing: queue.Queue[bytes | None] = queue.Queue()
        self.reading = threading.Event()
        self.reading.set()
        self.closed = threading.Event()
        self._queued = 0
        self._lock = threading.Lock()  # the loop adds to `_queued`, the writer thread takes away

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self.closed.is_set():
            with self._lock:
                self._queued += len(data)
            self.outgoing.put(bytes(data))

    def written(self, count: int) -> None:
        """Writer thread: `count` bytes reached the port."""
        with self._lock:
            self._queued = max(0, self._queued - count)

    def close(self) -> None:
        """Stop once what is queued is written."""
        if not self.closed.is_set():
            self.closed.set()
            self.outgoing.put(None)

    def abort(self) -> None:
        """Stop now: what is queued is dropped (the writer finishes at most its current write)."""
        self.closed.set()
        try:
            while True:
                self.outgoing.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            self._queued = 0
        self.outgoing.put(None)

    def is_closing(self) -> bool:
        return self.closed.is_set()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return f"serial:{self.url}" if name == "peername" else default

    def get_write_buffer_size(self) -> int:
        return self._queued

    def pause_reading(self) -> None:
        self.reading.clear()

    def resume_reading(self) -> None:
        self.reading.set()


class SerialLink:
    """One configured port, kept open while the service runs. Owns its device threads."""

    def __init__(
        self,
        url: str,
        baud: int,
        protocol_factory: Callable[[], asyncio.Protocol],
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.url = url
        self._baud = baud
        self._factory = protocol_factory
        self._loop = loop
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"serial-{url}", daemon=False)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        """Device thread: open, serve, and reopen the port until stopped."""
        backoff = Backoff()
        failures = 0
        while not self._stop.is_set():
            try:
                port = serial.serial_for_url(self.url, baudrate=self._baud, timeout=READ_TIMEOUT_S, write_timeout=2)
            except (serial.SerialException, OSError, ValueError) as exc:
                failures += 1
                self._wait_after_failed_open(exc, failures, backoff.next())
                continue
            if failures:
                log.info("serial %s: open at %d baud, after %d failed attempts", self.url, self._baud, failures)
            else:
                log.info("serial %s: open at %d baud", self.url, self._baud)
            failures = 0
            opened = time.monotonic()
            lost = self._serve(port)
            if not lost or time.monotonic() - opened >= STEADY_S:
                backoff.reset()
            if not self._stop.is_set():
                self._stop.wait(backoff.next())

    def _wait_after_failed_open(self, exc: Exception, failures: int, delay: float) -> None:
        """Device thread: say so once per outage (warning), later attempts only at debug; then wait."""
        if failures == 1:
            log.warning(
                "serial %s: cannot open (%s); retrying in %.1f s, backing off to %.0f s",
                self.url, exc, delay, MAX_BACKOFF_S,
            )  # fmt: skip
        else:
            log.debug("serial %s: still cannot open (%s); retrying in %.1f s", self.url, exc, delay)
        self._stop.wait(delay)

    def _serve(self, port: Any) -> bool:
        """Run one protocol over an open port; True if the device went away."""
        transport = SerialTransport(self.url)
        protocol = self._factory()
        self._loop.call_soon_threadsafe(protocol.connection_made, transport)
        writer = threading.Thread(target=self._write_loop, args=(port, transport), name=f"serial-w-{self.url}")
        writer.start()
        lost = False
        try:
            while not self._stop.is_set() and not transport.closed.is_set():
                if not transport.reading.wait(READ_TIMEOUT_S):
                    continue
                data = port.read(max(1, min(port.in_waiting, 65536)))
                if data:
                    self._loop.call_soon_threadsafe(protocol.data_received, data)
        except (serial.SerialException, OSError) as exc:
            log.warning("serial %s: device lost (%s); reopening with backoff", self.url, exc)
            lost = True
        finally:
            transport.close()
            writer.join()
            port.close()
            self._loop.call_soon_threadsafe(protocol.connection_lost, None)
        return lost

    def _write_loop(self, port: Any, transport: SerialTransport) -> None:
        """Writer thread: everything the protocol wrote, in order, until the link closes."""
        while True:
            data = transport.outgoing.get()
            if data is None:
                return
            try:
                port.write(data)
                transport.written(len(data))
            except (serial.SerialException, OSError) as exc:
                log.warning("serial %s: write failed (%s)", self.url, exc)
                transport.close()
                return
