"""An open-loop load generator: POSTs at a constant rate and times each from its slot.

`python -m bench.paced_post PORT PATH TOKEN BODY_FILE RATE SECONDS [CONNECTIONS [samples]]`
prints {"sent", "ok", "errors", "rps", "p50_ms", "p99_ms", "late"} as JSON; with
`samples`, also "samples": [[unix time it was due, latency in ms or null for an
error], ...], for figures over a window the caller finds afterwards. SIGINT ends the
run early (what was sent is still answered and counted).

wrk is closed-loop: when the service slows down, wrk sends less and never times the
requests it did not send, so its latency at a "rate" hides queueing (coordinated
omission). Here request i is due at start + i / RATE whatever happens; it goes out on
an idle keep-alive connection, or waits for one, and its latency counts from when it
was due. `late` is how many had to wait for a connection.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from collections import deque
from pathlib import Path
from typing import Any

import orjson


class Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection with at most one request in flight."""

    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.due: float | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def send(self, request: bytes, due: float) -> None:
        assert self.transport is not None
        self.due = due
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        head_end = self.buffer.find(b"\r\n\r\n")
        if head_end < 0:
            return
        head = self.buffer[:head_end]
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if len(self.buffer) < head_end + 4 + length:
            return
        status = int(head[9:12])
        self.buffer = self.buffer[head_end + 4 + length :]
        due, self.due = self.due, None
        assert due is not None
        self.pool.answered(self, status, time.monotonic() - due)

    def connection_lost(self, exc: Exception | None) -> None:
        self.pool.lost(self)


class Pool:
    def __init__(self, request: bytes) -> None:
        self.request = request
        self.idle: deque[Connection] = deque()
        self.waiting: deque[float] = deque()
        self.latencies: list[float] = []
        self.samples: list[tuple[float, float | None]] = []
        """(due on the monotonic clock, latency or None for an error)."""
        self.errors = 0
        self.late = 0
        self.outstanding = 0

    def submit(self, due: float) -> None:
        self.outstanding += 1
        if self.idle:
            self.idle.popleft().send(self.request, due)
        else:
            self.late += 1
            self.waiting.append(due)

    def answered(self, connection: Connection, status: int, latency: float) -> None:
        self.outstanding -= 1
        ok = 200 <= status < 300
        if ok:
            self.latencies.append(latency)
        else:
            self.errors += 1
        self.samples.append((time.monotonic() - latency, latency if ok else None))
        if self.waiting:
            connection.send(self.request, self.waiting.popleft())
        else:
            self.idle.append(connection)

    def lost(self, connection: Connection) -> None:
        if connection.due is not None:
            self.outstanding -= 1
            self.errors += 1
        if connection in self.idle:
            self.idle.remove(connection)


async def run(
    port: int, path: str, token: str, body: bytes, rate: float, seconds: float, connections: int, samples: bool
) -> dict:
    request = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    pool = Pool(request)
    loop = asyncio.get_running_loop()
    for _ in range(connections):
        _, connection = await loop.create_connection(lambda: Connection(pool), "127.0.0.1", port)
        pool.idle.append(connection)
    total = int(rate * seconds)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGINT, stop.set)
    wall, started = time.time(), time.monotonic()
    for index in range(total):
        if stop.is_set():
            total = index
            break
        due = started + index / rate
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        pool.submit(due)
    deadline = time.monotonic() + 30
    while pool.outstanding and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    elapsed = time.monotonic() - started
    latencies = sorted(pool.latencies)
    pick = lambda q: round(latencies[min(len(latencies) - 1, int(len(latencies) * q))] * 1000, 2) if latencies else None  # noqa: E731
    result: dict[str, Any] = {
        "target_rps": round(rate),
        "sent": total,
        "ok": len(latencies),
        "errors": pool.errors + pool.outstanding,
        "rps": round(len(latencies) / elapsed),
        "p50_ms": pick(0.50),
        "p99_ms": pick(0.99),
        "late": pool.late,
    }
    if samples:
        shown = [(wall + due - started, None if late is None else round(late * 1000, 3)) for due, late in pool.samples]
        result["samples"] = sorted(shown)
    return result


def main() -> None:
    port, path, token, body_file = int(sys.argv[1]), sys.argv[2], sys.argv[3], Path(sys.argv[4])
    rate, seconds = float(sys.argv[5]), float(sys.argv[6])
    connections = int(sys.argv[7]) if len(sys.argv) > 7 else 32
    samples = len(sys.argv) > 8 and sys.argv[8] == "samples"
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    result = asyncio.run(run(port, path, token, body_file.read_bytes(), rate, seconds, connections, samples))
    sys.stdout.write(orjson.dumps(result).decode())


if __name__ == "__main__":
    main()
