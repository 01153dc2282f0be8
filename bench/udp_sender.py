"""Sends pre-built datagrams at a steady rate: `python -m bench.udp_sender FILE PORT RATE SECONDS [FIRST_SEQ]`.

FILE holds one datagram per line (JSON, as robots send them, with `{seq}` to fill in).
Prints how many were sent. Runs in its own process so the sender never shares a core
with the measuring code.
"""

from __future__ import annotations

import socket
import sys
import time


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as source:
        templates = [line.rstrip("\n") for line in source if line.strip()]
    port, rate, seconds = int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
    first = int(sys.argv[5]) if len(sys.argv) > 5 else 1
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    target = ("127.0.0.1", port)
    total = int(rate * seconds)
    batch = max(1, int(rate / 200))  # send in 5 ms slices
    seqs = [first - 1] * len(templates)  # a robot's seq only grows, across runs too
    started = time.perf_counter()
    sent = 0
    while sent < total:
        for _ in range(min(batch, total - sent)):
            index = sent % len(templates)
            seqs[index] += 1
            sock.sendto(templates[index].replace("{seq}", str(seqs[index])).encode(), target)
            sent += 1
        pause = started + sent / rate - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
    print(sent, round(time.perf_counter() - started, 3), flush=True)


if __name__ == "__main__":
    main()
