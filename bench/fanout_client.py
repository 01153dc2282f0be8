"""WebSocket subscribers for the fan-out bench: `python -m bench.fanout_client URL COUNT SECONDS [KEY]`.

Opens COUNT sockets on URL (one topic), reads until its stdin closes (the driver has
sent everything and waited for it) or SECONDS pass, and prints, as JSON, each socket's first arrival
of every message key with its receive time on the monotonic clock (shared by every
process on the machine), which the driver matches to its send times. KEY says what
names a message: `pose` (the default: robot id and pose x, for the `robots` and
`telemetry` topics) or `id` (the entity's id, for `orders` and the bare baseline).

Deliberately lean, so the clients do not take the CPU the service needs on a small
machine: plain non-blocking sockets on one epoll, and while measuring each read only
stores its bytes and the time; frames are parsed after the run. A frame's time is that
of the read that completed it.
"""

from __future__ import annotations

import base64
import os
import select
import socket
import sys
import time
from typing import Any
from urllib.parse import urlsplit

import orjson


def handshake(host: str, port: int, target: str) -> tuple[socket.socket, bytes]:
    sock = socket.create_connection((host, port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET {target} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise SystemExit("the service closed a WebSocket during the handshake")
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    if not head.startswith(b"HTTP/1.1 101"):
        raise SystemExit(f"handshake refused: {head[:80]!r}")
    return sock, rest


TEXT, CLOSE = 0x1, 0x8


def frames(data: bytes) -> tuple[list[tuple[int, bytes]], bytes]:
    """Complete server frames in `data` as (opcode, payload); and the leftover bytes."""
    out, at = [], 0
    while len(data) - at >= 2:
        opcode = data[at] & 0x0F
        size, head = data[at + 1] & 0x7F, 2
        if size == 126:
            if len(data) - at < 4:
                break
            size, head = int.from_bytes(data[at + 2 : at + 4], "big"), 4
        elif size == 127:
            if len(data) - at < 10:
                break
            size, head = int.from_bytes(data[at + 2 : at + 10], "big"), 10
        if len(data) - at < head + size:
            break
        out.append((opcode, data[at + head : at + head + size]))
        at += head + size
    return out, data[at:]


def key_of(message: dict[str, Any], kind: str) -> tuple[Any, ...] | None:
    """What names an upsert, or None for any other message."""
    data = message.get("data")
    if message.get("type") != "upsert" or not isinstance(data, dict):
        return None
    if kind == "id":
        return (data.get("id"),)
    pose = data.get("pose")
    return (data["robot_id"], pose["x"]) if pose else None


def main() -> None:
    url, count, seconds = urlsplit(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    kind = sys.argv[4] if len(sys.argv) > 4 else "pose"
    target = url.path + (f"?{url.query}" if url.query else "")
    sockets = [handshake(url.hostname or "127.0.0.1", url.port or 80, target) for _ in range(count)]
    buffers = {sock.fileno(): rest for sock, rest in sockets}
    for sock, _ in sockets:  # wait for each snapshot, then start from a clean buffer
        while not frames(buffers[sock.fileno()])[0]:
            buffers[sock.fileno()] += sock.recv(65536)
        buffers[sock.fileno()] = frames(buffers[sock.fileno()])[1]
        sock.setblocking(False)
    print("ready", file=sys.stderr, flush=True)
    reads: dict[int, list[tuple[float, bytes]]] = {fd: [] for fd in buffers}
    poller = select.epoll()
    for fd in buffers:
        poller.register(fd, select.EPOLLIN)
    poller.register(sys.stdin.fileno(), select.EPOLLIN)  # the driver closes it when it has sent everything
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        events = poller.poll(left)
        if any(fd == sys.stdin.fileno() for fd, _ in events):
            break
        for fd, _ in events:
            now = time.monotonic()
            try:
                chunk = os.read(fd, 1 << 20)
            except BlockingIOError:
                continue
            if chunk:
                reads[fd].append((now, chunk))
    out: list[tuple[Any, ...]] = []
    for fd, chunks in reads.items():
        seen: set[tuple[Any, ...]] = set()
        pending = buffers[fd]
        for received, chunk in chunks:
            parsed, pending = frames(pending + chunk)
            for opcode, payload in parsed:
                if opcode == CLOSE:  # the service closed this client: said, and its later messages are missing
                    code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
                    print(f"closed by the service: {code} {payload[2:].decode(errors='replace')}", file=sys.stderr)
                if opcode != TEXT:  # a ping (Sanic's keep-alive), a close
                    continue
                key = key_of(orjson.loads(payload), kind)
                if key is not None and key not in seen:
                    seen.add(key)
                    out.append((*key, received))
    for sock, _ in sockets:
        sock.close()
    sys.stdout.buffer.write(orjson.dumps(out))


if __name__ == "__main__":
    main()
