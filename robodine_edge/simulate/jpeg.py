"""A baseline JPEG of flat 8x8 blocks: what a simulated camera sends, with no imaging library.

A simulated camera needs a real JPEG (browsers, `ffplay` and the edge's snapshot must show
it) that changes every frame, at a few frames per second, for little CPU. An image whose
every 8x8 block has one colour needs no DCT at all: each block is its DC coefficient
alone (the average, level-shifted) followed by end-of-block, so a frame is a grid of
coloured squares. That keeps this encoder a page long and a 320x240 frame about 2 KB
and 1-2 ms, where an imaging library would be a large new dependency of a Pi service
for a test tool. Colour is YCbCr 4:4:4 (every component one block per MCU), one
quantization table (DC step 8, so a quantized DC is the level-shifted value itself)
and two Huffman tables: the standard luminance DC table (ITU T.81 K.3) and an AC
table holding only end-of-block. Pure: no I/O, no state; any thread.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from functools import cache

Rgb = tuple[int, int, int]
BLOCK = 8
_DC_STEP = 8
# The standard luminance DC table (T.81 K.3): code lengths per category 0..11.
_DC_COUNTS = (0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0)
_EOB = "0"
"""The AC table's only code (a single symbol, 0x00 end-of-block, of length 1)."""


def encode(blocks: Sequence[Sequence[Rgb]]) -> bytes:
    """The JPEG of an image `len(blocks)` rows by `len(blocks[0])` columns of 8x8 blocks,
    each of one RGB colour (0-255 each)."""
    rows, columns = len(blocks), len(blocks[0]) if blocks else 0
    if not rows or not columns or any(len(row) != columns for row in blocks):
        raise ValueError("blocks must be a non-empty grid of equal rows")
    if rows * BLOCK > 0xFFFF or columns * BLOCK > 0xFFFF:
        raise ValueError("the image is larger than a JPEG can be")
    return _headers(columns * BLOCK, rows * BLOCK) + _scan(blocks) + b"\xff\xd9"


def _headers(width: int, height: int) -> bytes:
    jfif = b"\xff\xe0" + struct.pack(">H5sBBBHHBB", 16, b"JFIF", 1, 1, 0, 1, 1, 0, 0)
    quant = b"\xff\xdb" + struct.pack(">HB", 67, 0) + bytes([_DC_STEP] + [1] * 63)
    components = b"".join(bytes((n, 0x11, 0)) for n in (1, 2, 3))
    frame = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, height, width, 3) + components
    dc = b"\xff\xc4" + struct.pack(">HB", 3 + 16 + 12, 0x00) + bytes(_DC_COUNTS) + bytes(range(12))
    ac = b"\xff\xc4" + struct.pack(">HB", 3 + 16 + 1, 0x10) + bytes([1] + [0] * 15) + b"\x00"
    scan = b"\xff\xda" + struct.pack(">HB", 12, 3) + b"\x01\x00\x02\x00\x03\x00" + bytes((0, 63, 0))
    return b"\xff\xd8" + jfif + quant + frame + dc + ac + scan


def _scan(blocks: Sequence[Sequence[Rgb]]) -> bytes:
    """The entropy-coded blocks, MCU by MCU (Y, Cb, Cr), with 0xFF bytes stuffed."""
    bits: list[str] = []
    previous = [0, 0, 0]
    for row in blocks:
        for rgb in row:
            for component, value in enumerate(_ycbcr(rgb)):
                bits.append(_block_bits(value - previous[component]))
                previous[component] = value
    stream = "".join(bits)
    stream += "1" * (-len(stream) % 8)  # padded with one-bits (T.81 F.1.2.3)
    return int(stream, 2).to_bytes(len(stream) // 8, "big").replace(b"\xff", b"\xff\x00")


@cache
def _ycbcr(rgb: Rgb) -> tuple[int, int, int]:
    """Level-shifted Y, Cb, Cr (JFIF's conversion), each -128..127."""
    r, g, b = rgb
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b
    cr = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b
    return tuple(min(255, max(0, round(c))) - 128 for c in (y, cb, cr))  # type: ignore[return-value]


@cache
def _block_bits(difference: int) -> str:
    """One block: its DC difference (category code, then the magnitude bits; a negative
    one as its ones' complement, T.81 F.1.2.1) and end-of-block."""
    category = abs(difference).bit_length()
    magnitude = difference if difference >= 0 else difference + (1 << category) - 1
    extra = format(magnitude, f"0{category}b") if category else ""
    return _dc_codes()[category] + extra + _EOB


@cache
def _dc_codes() -> tuple[str, ...]:
    """The canonical Huffman codes of `_DC_COUNTS` (T.81 C.2), by category."""
    codes, code = [], 0
    for length, count in enumerate(_DC_COUNTS, start=1):
        for _ in range(count):
            codes.append(format(code, f"0{length}b"))
            code += 1
        code <<= 1
    return tuple(codes)
