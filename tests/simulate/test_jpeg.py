"""The simulator's JPEGs, read back by a real decoder (libjpeg-turbo, through Pillow)."""

from __future__ import annotations

import io
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from robodine_edge.simulate.jpeg import BLOCK, Rgb, encode
from robodine_edge.simulate.picture import COLUMNS, ROWS, picture, tint

colours = st.tuples(st.integers(0, 255), st.integers(0, 255), st.integers(0, 255))


def decoded(jpeg: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(jpeg))
    image.load()  # decodes every block: a bad Huffman code or marker fails here
    return image


def assert_blocks(image: Image.Image, blocks: list[list[Rgb]]) -> None:
    """Each 8x8 block is flat and of its colour (within the rounding of YCbCr)."""
    for row, line in enumerate(blocks):
        for column, colour in enumerate(line):
            box = (column * BLOCK, row * BLOCK, (column + 1) * BLOCK, (row + 1) * BLOCK)
            colours = image.crop(box).getcolors()
            assert colours is not None
            pixels = {seen for _, seen in colours}
            assert len(pixels) == 1, (row, column, pixels)
            [pixel] = pixels
            assert isinstance(pixel, tuple)
            assert max(abs(a - b) for a, b in zip(pixel, colour, strict=True)) <= 2, (row, column, pixel, colour)


def test_a_grid_of_colours_decodes_to_those_colours() -> None:
    rng = random.Random(7)
    blocks = [[(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(40)] for _ in range(30)]
    image = decoded(encode(blocks))
    assert (image.format, image.mode, image.size) == ("JPEG", "RGB", (320, 240))
    assert_blocks(image, blocks)


def test_0xff_bytes_in_the_scan_are_stuffed() -> None:
    """Black next to white makes eight one-bits; where they fall on a byte, the decoder
    must see 0xFF 0x00 (else it reads a marker and the picture breaks off)."""
    rng = random.Random(1)
    blocks = [[rng.choice([(0, 0, 0), (255, 255, 255), (128, 128, 128)]) for _ in range(40)] for _ in range(30)]
    jpeg = encode(blocks)
    assert jpeg.count(b"\xff\x00") > 5
    assert_blocks(decoded(jpeg), blocks)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 6).flatmap(lambda w: st.lists(st.lists(colours, min_size=w, max_size=w), min_size=1,
                                                    max_size=5)))  # fmt: skip
def test_any_grid_decodes_exactly(blocks: list[list[Rgb]]) -> None:
    """Every DC difference category, both signs, and the extremes (black next to white)."""
    image = decoded(encode(blocks))
    assert image.size == (len(blocks[0]) * BLOCK, len(blocks) * BLOCK)
    assert_blocks(image, blocks)


def test_what_a_camera_shows_decodes_and_changes_every_frame() -> None:
    background = tint("sim-alba-1-cam")
    first, second = picture(background, 1, 1_800_000_000.0), picture(background, 2, 1_800_000_000.2)
    assert (len(first), len(first[0])) == (ROWS, COLUMNS)
    assert first != second  # the count and the moving mark
    for blocks in (first, second):
        jpeg = encode(blocks)
        assert len(jpeg) < 4000  # two or three datagrams a frame
        assert_blocks(decoded(jpeg), blocks)
    assert tint("sim-alba-1-cam") != tint("sim-alba-2-cam")


@pytest.mark.parametrize("blocks", [[], [[]], [[(0, 0, 0)], [(0, 0, 0), (1, 1, 1)]]])
def test_what_is_not_a_grid_is_refused(blocks: list[list[Rgb]]) -> None:
    with pytest.raises(ValueError, match="grid"):
        encode(blocks)
