"""Putting camera frames together from chunks: any order, duplicates, gaps, restarts, limits."""

from __future__ import annotations

import pytest

from robodine_edge.net.video import MAX_FRAME_BYTES, MAX_PARTIAL_FRAMES, FrameAssembler
from robodine_edge.process.metrics import Metrics
from robodine_edge.protocol.video import VideoChunk, decode_chunk, encode_chunks

JPEG = b"\xff\xd8" + b"frame-body " * 400 + b"\xff\xd9"


def chunks(frame: int, jpeg: bytes = JPEG, camera_id: str = "cam-1") -> list[VideoChunk]:
    return [decode_chunk(d) for d in encode_chunks(camera_id, 100.0 + frame, frame, jpeg, max_datagram=1000)]


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


def count(metrics: Metrics, name: str, result: str) -> float:
    return metrics.registry.get_sample_value(f"robodine_video_{name}_total", {"result": result}) or 0.0


def test_chunks_in_any_order_and_repeated_make_one_frame(metrics: Metrics) -> None:
    assembler = FrameAssembler(metrics)
    parts = chunks(1)
    assert len(parts) > 3
    out = [assembler.add(c, 200.0) for c in [*reversed(parts[1:]), parts[1], parts[2], parts[0]]]
    frames = [f for f in out if f is not None]
    assert len(frames) == 1
    frame = frames[0]
    assert (frame.camera_id, frame.number, frame.sent_at, frame.jpeg) == ("cam-1", 1, 101.0, JPEG)
    assert assembler.add(parts[0], 201.0) is None  # a late repeat of a frame already shown is stale
    assert count(metrics, "frames", "complete") == 1 and count(metrics, "datagrams", "stale") == 1


def test_a_newer_complete_frame_drops_the_older_incomplete_ones(metrics: Metrics) -> None:
    assembler = FrameAssembler(metrics)
    first, second, third = chunks(1), chunks(2), chunks(3)
    for c in first[:-1] + second[:-1]:  # both missing their last chunk
        assert assembler.add(c, 1.0) is None
    done = [assembler.add(c, 1.0) for c in third]
    assert [f.number for f in done if f is not None] == [3]
    assert count(metrics, "frames", "incomplete") == 2
    assert assembler.add(first[-1], 1.0) is None and assembler.add(second[-1], 1.0) is None  # too late now
    assert count(metrics, "datagrams", "stale") == 2


def test_frames_in_the_making_are_bounded_per_camera(metrics: Metrics) -> None:
    assembler = FrameAssembler(metrics)
    for frame in range(1, MAX_PARTIAL_FRAMES + 3):
        assembler.add(chunks(frame)[0], 1.0)
    assert count(metrics, "frames", "incomplete") == 2  # the oldest went as newer ones began


def test_a_camera_that_starts_counting_again_is_followed(metrics: Metrics) -> None:
    assembler = FrameAssembler(metrics)
    for c in chunks(50_000):
        assembler.add(c, 1.0)
    restarted = [assembler.add(c, 2.0) for c in chunks(0)]  # it rebooted: frame numbers from 0
    assert [f.number for f in restarted if f is not None] == [0]


def test_cameras_do_not_mix(metrics: Metrics) -> None:
    assembler = FrameAssembler(metrics)
    a, b = chunks(5, camera_id="cam-a"), chunks(5, camera_id="cam-b", jpeg=b"\xff\xd8other\xff\xd9")
    out = [assembler.add(c, 1.0) for pair in zip(a, b + b * len(a), strict=False) for c in pair]
    assert sorted((f.camera_id, f.jpeg[:7]) for f in out if f is not None) == [
        ("cam-a", JPEG[:7]), ("cam-b", b"\xff\xd8other"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda: chunks(1, jpeg=b"GIF89a" + b"x" * 3000), "not_jpeg"),
        (lambda: [chunks(1)[0], *(VideoChunk(c.camera_id, c.sent_at, 1, 1, 99, c.data) for c in chunks(1)[1:2])],
         "inconsistent"),
    ],
)  # fmt: skip
def test_broken_frames_are_dropped_by_reason(metrics: Metrics, make: object, reason: str) -> None:
    assembler = FrameAssembler(metrics)
    out = [assembler.add(c, 1.0) for c in make()]  # type: ignore[operator]
    assert all(f is None for f in out)
    assert count(metrics, "frames", reason) == 1


def test_a_frame_past_the_size_limit_is_dropped(metrics: Metrics) -> None:
    assembler = FrameAssembler(metrics)
    piece = b"\xff\xd8" + b"x" * 60_000
    pieces = MAX_FRAME_BYTES // len(piece) + 2
    out = [assembler.add(VideoChunk("cam-1", 1.0, 1, i, pieces, piece), 1.0) for i in range(pieces)]
    assert all(f is None for f in out)
    assert count(metrics, "frames", "too_large") == 1
