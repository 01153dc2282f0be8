"""Camera datagrams (SPEC section 6): round trips, and every malformed shape refused by reason."""

from __future__ import annotations

import contextlib
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from robodine_edge.protocol.video import (
    MAX_DATAGRAM,
    BadVideoDatagram,
    decode_chunk,
    decode_legacy,
    encode_chunks,
    encode_legacy,
    is_v1,
)

JPEG = b"\xff\xd8" + bytes(range(256)) * 20 + b"\xff\xd9"


def header(
    camera_id: bytes = b"cam-1", sent_at: float = 1764579600.25, frame: int = 7, index: int = 0, count: int = 1
) -> bytes:
    numbers = struct.pack("<d", sent_at) + struct.pack(">IHH", frame, index, count)
    return b"RDV1" + bytes((len(camera_id),)) + camera_id + numbers


def test_a_jpeg_goes_out_in_chunks_and_each_decodes_to_its_place() -> None:
    datagrams = list(encode_chunks("cam-1", 1764579600.25, 7, JPEG, max_datagram=1400))
    assert len(datagrams) == 4 and all(len(d) <= 1400 for d in datagrams)
    chunks = [decode_chunk(d) for d in datagrams]
    assert {(c.camera_id, c.sent_at, c.frame, c.count) for c in chunks} == {("cam-1", 1764579600.25, 7, 4)}
    assert [c.index for c in chunks] == [0, 1, 2, 3]
    assert b"".join(c.data for c in chunks) == JPEG


def test_the_spec_layout_byte_for_byte() -> None:
    datagram = header(frame=2**32 - 1, index=1, count=2) + b"piece"
    chunk = decode_chunk(datagram)
    assert (chunk.camera_id, chunk.frame, chunk.index, chunk.count, chunk.data) == ("cam-1", 2**32 - 1, 1, 2, b"piece")


@pytest.mark.parametrize(
    ("datagram", "reason"),
    [
        (b"", "malformed"),
        (b"RDV1", "malformed"),
        (b"RDV2" + header()[4:] + b"x", "malformed"),
        (header()[:-3], "malformed"),  # cut inside the numbers
        (header(), "malformed"),  # a header and no data
        (header(camera_id=b"") + b"x", "bad_camera_id"),
        (header(camera_id=b"cam 1") + b"x", "bad_camera_id"),
        (header(camera_id=b"../etc") + b"x", "bad_camera_id"),
        (header(camera_id="cám".encode()) + b"x", "bad_camera_id"),
        (header(camera_id=b"c" * 65) + b"x", "bad_camera_id"),
        (header(camera_id=b"cam-1\n") + b"x", "bad_camera_id"),  # `$` alone would let it through
        (header(camera_id=b"\xffcam") + b"x", "bad_camera_id"),
        (header(sent_at=float("nan")) + b"x", "malformed"),
        (header(sent_at=float("inf")) + b"x", "malformed"),
        (header(count=0) + b"x", "bad_chunk"),
        (header(index=3, count=3) + b"x", "bad_chunk"),
        (header() + b"x" * MAX_DATAGRAM, "oversized"),
    ],
)
def test_malformed_datagrams_are_refused_by_reason(datagram: bytes, reason: str) -> None:
    with pytest.raises(BadVideoDatagram) as refused:
        decode_chunk(datagram)
    assert refused.value.reason == reason


def test_a_legacy_datagram_is_a_send_time_and_a_whole_jpeg() -> None:
    datagram = encode_legacy(1764579600.5, JPEG)
    assert not is_v1(datagram)
    assert decode_legacy(datagram) == (1764579600.5, JPEG)


@pytest.mark.parametrize(
    "datagram",
    [b"", struct.pack("<d", 1.0), struct.pack("<d", 1.0) + b"GIF89a", struct.pack("<d", float("nan")) + JPEG],
)
def test_a_legacy_datagram_that_is_no_jpeg_is_refused(datagram: bytes) -> None:
    with pytest.raises(BadVideoDatagram) as refused:
        decode_legacy(datagram)
    assert refused.value.reason == "malformed"


def test_an_empty_jpeg_is_not_sent() -> None:
    with pytest.raises(ValueError):
        list(encode_chunks("cam-1", 1.0, 1, b""))


@given(st.binary(max_size=2048))
def test_random_bytes_decode_or_are_refused_never_anything_else(data: bytes) -> None:
    for decode in (decode_chunk, decode_legacy):
        with contextlib.suppress(BadVideoDatagram):
            decode(data)


@given(
    camera_id=st.from_regex(r"\A[A-Za-z0-9._-]{1,64}\Z"),
    frame=st.integers(0, 2**32 - 1),
    jpeg=st.binary(min_size=1, max_size=5000),
    size=st.integers(200, 1500),
)
def test_chunks_round_trip(camera_id: str, frame: int, jpeg: bytes, size: int) -> None:
    chunks = [decode_chunk(d) for d in encode_chunks(camera_id, 12.5, frame, jpeg, max_datagram=size)]
    assert all(c.camera_id == camera_id and c.frame == frame and c.count == len(chunks) for c in chunks)
    assert b"".join(c.data for c in sorted(chunks, key=lambda c: c.index)) == jpeg
