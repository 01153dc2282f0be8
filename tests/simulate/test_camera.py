"""A simulated camera on a real UDP socket: paced frames, chunked as the edge reads them."""

from __future__ import annotations

import asyncio
import io
from collections import defaultdict
from typing import Any

from PIL import Image

from robodine_edge.protocol.video import VideoChunk, decode_chunk
from robodine_edge.simulate.camera import DATAGRAM_BYTES, SimCamera


class Receiver(asyncio.DatagramProtocol):
    """Collects datagrams; `frames` complete ones are awaited with `enough`."""

    def __init__(self, frames: int) -> None:
        self.datagrams: list[bytes] = []
        self.chunks: list[VideoChunk] = []
        self.arrivals: dict[int, float] = {}
        self.enough = asyncio.Event()
        self._wanted = frames

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.datagrams.append(data)
        chunk = decode_chunk(data)
        self.chunks.append(chunk)
        if chunk.index == chunk.count - 1:
            self.arrivals[chunk.frame] = asyncio.get_running_loop().time()
        if len(self.arrivals) >= self._wanted:
            self.enough.set()


async def receive(camera: SimCamera, frames: int) -> Receiver:
    loop = asyncio.get_running_loop()
    transport, receiver = await loop.create_datagram_endpoint(lambda: Receiver(frames), local_addr=("127.0.0.1", 0))
    port = transport.get_extra_info("sockname")[1]
    sending = loop.create_task(camera.run("127.0.0.1", lambda: port))
    try:
        await asyncio.wait_for(receiver.enough.wait(), 10)
    finally:
        sending.cancel()
        await asyncio.gather(sending, return_exceptions=True)
        transport.close()
    return receiver


def frames_of(receiver: Receiver) -> dict[int, bytes]:
    pieces: dict[int, dict[int, bytes]] = defaultdict(dict)
    counts = {}
    for chunk in receiver.chunks:
        pieces[chunk.frame][chunk.index] = chunk.data
        counts[chunk.frame] = chunk.count
    complete = {n: p for n, p in pieces.items() if len(p) == counts[n]}
    return {n: b"".join(p[i] for i in range(counts[n])) for n, p in complete.items()}


def test_frames_are_paced_chunked_to_fit_a_datagram_and_real_jpegs() -> None:
    receiver = asyncio.run(receive(SimCamera("hall-cam", fps=20), frames=12))
    assert all(len(d) <= DATAGRAM_BYTES for d in receiver.datagrams)
    assert {c.camera_id for c in receiver.chunks} == {"hall-cam"}
    assert max(c.count for c in receiver.chunks) >= 2  # a frame is more than one datagram
    frames = frames_of(receiver)
    numbers = sorted(frames)
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))  # one number per tick, none skipped
    for jpeg in frames.values():
        image = Image.open(io.BytesIO(jpeg))
        image.load()
        assert image.size == (320, 240)
    assert len(set(frames.values())) == len(frames)  # every frame differs from the others
    times = sorted(receiver.arrivals.values())
    rate = (len(times) - 1) / (times[-1] - times[0])
    assert 12 < rate < 30, rate  # 20 fps asked: paced, neither bunched nor starved


def test_a_restarted_camera_numbers_its_frames_above_those_it_sent_before() -> None:
    """The edge drops a frame numbered at or below the last it completed: a simulator
    restarted within minutes must not have its camera frozen until it catches up."""

    async def twice() -> tuple[int, int]:
        before = max(frames_of(await receive(SimCamera("hall-cam", fps=10), frames=3)))
        await asyncio.sleep(0.2)  # two frame periods: the clock has moved on by then
        after = min(frames_of(await receive(SimCamera("hall-cam", fps=10), frames=1)))
        return before, after

    before, after = asyncio.run(twice())
    assert after > before
