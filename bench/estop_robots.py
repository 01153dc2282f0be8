"""Robots for the emergency-stop bench: `python -m bench.estop_robots PORT CREDENTIALS`.

CREDENTIALS holds one `robot_id token` per line. Every robot says hello over its own
TCP link (the real protocol), then all of them are read on one epoll, so 200 robots cost
one thread and leave the machine's two cores to the service. Each robot acknowledges
every command, as a real robot does, and pings every second to stay linked.

Rounds: for each command name, the first arrival of that name at each robot is kept
with its read time on the monotonic clock (shared by every process on the machine);
once every robot has one, the round is printed as one JSON line on stdout
(`{"name", "times": {robot_id: t}}`) and the next round of that name begins. A `stop`
(the per-robot baseline, sent to one robot) is printed as it arrives
(`{"name", "robot_id", "time"}`). The driver closes stdin to end the run.
"""

from __future__ import annotations

import os
import select
import socket
import sys
import time

import orjson

PING_EVERY_S = 1.0
SINGLE = frozenset({"stop"})
"""Commands sent to one robot (the per-robot baseline): each arrival is printed at once."""


def link(port: int, robot_id: str, token: str) -> tuple[socket.socket, bytes]:
    """Hello and welcome, blocking; the bytes read past the welcome line are kept."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    hello = {"type": "hello", "robot_id": robot_id, "kind": "albabot", "token": token, "proto": 1}
    sock.sendall(orjson.dumps(hello) + b"\n")
    data = b""
    while b"\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise SystemExit(f"{robot_id}: the edge closed the link during the hello")
        data += chunk
    line, _, rest = data.partition(b"\n")
    if orjson.loads(line).get("type") != "welcome":
        raise SystemExit(f"{robot_id}: hello refused: {line[:120]!r}")
    sock.sendall(b'{"type":"status","state":"idle","battery":90.0}\n')
    sock.setblocking(False)
    return sock, rest


class Fleet:
    def __init__(self, links: dict[int, tuple[str, socket.socket]]) -> None:
        self.links = links
        self.buffers: dict[int, bytes] = dict.fromkeys(links, b"")
        self.rounds: dict[str, dict[str, float]] = {}

    def read(self, ready: list[int]) -> None:
        """Every robot woken at once is read first, each timed as its read returns; only
        then are the lines parsed and acked, so the 200th robot's time is not inflated by
        this process's work on the 199 before it."""
        chunks = []
        for fd in ready:
            try:
                chunk = os.read(fd, 1 << 16)
            except BlockingIOError:
                continue
            if not chunk:
                raise SystemExit(f"{self.links[fd][0]}: the edge closed the link")
            chunks.append((fd, time.monotonic(), chunk))
        for fd, at, chunk in chunks:
            self.feed(fd, chunk, at)

    def feed(self, fd: int, chunk: bytes, now: float) -> None:
        """Whole lines read so far: commands are acknowledged and timed."""
        robot_id, sock = self.links[fd]
        lines = (self.buffers[fd] + chunk).split(b"\n")
        self.buffers[fd] = lines.pop()
        acks = []
        for line in lines:
            frame = orjson.loads(line)
            if frame.get("type") == "command":
                acks.append(orjson.dumps({"type": "ack", "id": frame["id"]}) + b"\n")
                self.arrived(frame["name"], robot_id, now)
        if acks:
            sock.send(b"".join(acks))

    def arrived(self, name: str, robot_id: str, now: float) -> None:
        if name in SINGLE:
            self.report({"name": name, "robot_id": robot_id, "time": now})
            return
        round_ = self.rounds.setdefault(name, {})
        round_.setdefault(robot_id, now)
        if len(round_) == len(self.links):
            self.report({"name": name, "times": round_})
            del self.rounds[name]

    def report(self, found: dict[str, object]) -> None:
        sys.stdout.buffer.write(orjson.dumps(found) + b"\n")
        sys.stdout.flush()

    def ping(self) -> None:
        for _, sock in self.links.values():
            sock.send(b'{"type":"ping"}\n')


def main() -> None:
    port, credentials = int(sys.argv[1]), sys.argv[2]
    links: dict[int, tuple[str, socket.socket]] = {}
    early: dict[int, bytes] = {}
    with open(credentials) as lines:
        for entry in lines:
            robot_id, token = entry.split()
            sock, rest = link(port, robot_id, token)
            links[sock.fileno()] = (robot_id, sock)
            early[sock.fileno()] = rest
    fleet = Fleet(links)
    now = time.monotonic()
    for fd, rest in early.items():  # what came right behind a welcome
        fleet.feed(fd, rest, now)
    poller = select.epoll()
    for fd in links:
        poller.register(fd, select.EPOLLIN)
    poller.register(sys.stdin.fileno(), select.EPOLLIN | select.EPOLLHUP)
    print("ready", file=sys.stderr, flush=True)
    next_ping = time.monotonic() + PING_EVERY_S
    while True:
        ready = [fd for fd, _ in poller.poll(max(0.0, next_ping - time.monotonic()))]
        if sys.stdin.fileno() in ready:
            if not os.read(sys.stdin.fileno(), 4096):
                return
            ready.remove(sys.stdin.fileno())
        fleet.read(ready)
        if time.monotonic() >= next_ping:
            fleet.ping()
            next_ping = time.monotonic() + PING_EVERY_S


if __name__ == "__main__":
    main()
