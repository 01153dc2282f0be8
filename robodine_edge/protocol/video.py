"""Camera UDP datagrams (docs/ROBOTS.md): pure encode/decode, no I/O, no state.

v1: `b"RDV1"`, u8 length + camera id, f64 little-endian send time (unix seconds), u32
big-endian frame number, u16 BE chunk index, u16 BE chunk count, then a piece of the
JPEG. Legacy (when enabled): f64 little-endian send time + a whole JPEG.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterator
from dataclasses import dataclass

from robodine_edge.protocol import fields

MAGIC = b"RDV1"
MAX_DATAGRAM = 65507
"""The largest UDP payload over IPv4."""
JPEG_START = b"\xff\xd8"
_TIMES = struct.Struct("<d")
_NUMBERS = struct.Struct(">IHH")


class BadVideoDatagram(ValueError):
    """Not a camera datagram; `reason` is its drop counter's label."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(detail or reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class VideoChunk:
    camera_id: str
    sent_at: float
    frame: int
    index: int
    count: int
    data: bytes


def is_v1(data: bytes) -> bool:
    return data[:4] == MAGIC


def decode_chunk(data: bytes) -> VideoChunk:
    """A v1 datagram, or `BadVideoDatagram` (`oversized`, `malformed`, `bad_camera_id`,
    `bad_chunk`)."""
    if len(data) > MAX_DATAGRAM:
        raise BadVideoDatagram("oversized")
    if not is_v1(data) or len(data) < 5:
        raise BadVideoDatagram("malformed", "no RDV1 header")
    id_len = data[4]
    header_end = 5 + id_len + _TIMES.size + _NUMBERS.size
    if len(data) <= header_end:
        raise BadVideoDatagram("malformed", "shorter than its header")
    camera_id = data[5 : 5 + id_len].decode("ascii", errors="replace")
    if not fields.ID.fullmatch(camera_id):
        raise BadVideoDatagram("bad_camera_id")
    (sent_at,) = _TIMES.unpack_from(data, 5 + id_len)
    frame, index, count = _NUMBERS.unpack_from(data, 5 + id_len + _TIMES.size)
    if not math.isfinite(sent_at):
        raise BadVideoDatagram("malformed", "send time is not a number")
    if count == 0 or index >= count:
        raise BadVideoDatagram("bad_chunk", f"chunk {index} of {count}")
    return VideoChunk(camera_id, sent_at, frame, index, count, data[header_end:])


def decode_legacy(data: bytes) -> tuple[float, bytes]:
    """(send time, JPEG) of a legacy datagram, or `BadVideoDatagram` (`malformed`)."""
    if len(data) <= _TIMES.size + len(JPEG_START) or data[_TIMES.size : _TIMES.size + 2] != JPEG_START:
        raise BadVideoDatagram("malformed", "not a send time and a JPEG")
    (sent_at,) = _TIMES.unpack_from(data)
    if not math.isfinite(sent_at):
        raise BadVideoDatagram("malformed", "send time is not a number")
    return sent_at, data[_TIMES.size :]


def encode_chunks(camera_id: str, sent_at: float, frame: int, jpeg: bytes, max_datagram: int = 1400) -> Iterator[bytes]:
    """The datagrams a camera sends for one JPEG (for the simulator and tests)."""
    if not jpeg:
        raise ValueError("an empty JPEG")
    raw_id = camera_id.encode("ascii")
    header = MAGIC + bytes((len(raw_id),)) + raw_id + _TIMES.pack(sent_at)
    room = max_datagram - len(header) - _NUMBERS.size
    pieces = [jpeg[at : at + room] for at in range(0, len(jpeg), room)]
    for index, piece in enumerate(pieces):
        yield header + _NUMBERS.pack(frame, index, len(pieces)) + piece


def encode_legacy(sent_at: float, jpeg: bytes) -> bytes:
    return _TIMES.pack(sent_at) + jpeg
