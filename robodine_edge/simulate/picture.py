"""What a simulated camera shows: a clock, its frame count and a mark going round.

A newcomer watching `/live` should see at once that the picture is live: the clock
ticks, the count goes up, the mark circles. The picture is a grid of 40 x 30 one-colour
blocks (320 x 240 pixels once `jpeg.encode` makes each block 8 x 8), digits drawn in a
3 x 5 block font, the background tinted by the camera id so two cameras differ.
Pure: any thread.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Sequence

from robodine_edge.simulate.jpeg import Rgb

COLUMNS, ROWS = 40, 30
WHITE: Rgb = (240, 240, 240)
MARK: Rgb = (250, 190, 30)
MARK_PERIOD = 40
"""Frames the mark takes to go round once (8 s at 5 fps)."""
FONT = {
    "0": ("###", "#.#", "#.#", "#.#", "###"),
    "1": (".#.", "##.", ".#.", ".#.", "###"),
    "2": ("###", "..#", "###", "#..", "###"),
    "3": ("###", "..#", ".##", "..#", "###"),
    "4": ("#.#", "#.#", "###", "..#", "..#"),
    "5": ("###", "#..", "###", "..#", "###"),
    "6": ("###", "#..", "###", "#.#", "###"),
    "7": ("###", "..#", ".#.", ".#.", ".#."),
    "8": ("###", "#.#", "###", "#.#", "###"),
    "9": ("###", "#.#", "###", "..#", "###"),
    ":": ("...", ".#.", "...", ".#.", "..."),
}


def tint(camera_id: str) -> Rgb:
    """A dark background colour of its own for each camera id."""
    digest = hashlib.blake2s(camera_id.encode()).digest()
    return (30 + digest[0] % 60, 30 + digest[1] % 60, 40 + digest[2] % 70)


def picture(background: Rgb, count: int, now: float | None = None) -> list[list[Rgb]]:
    """The blocks of frame `count` taken at `now` (unix seconds; local time shown)."""
    grid = [[background] * COLUMNS for _ in range(ROWS)]
    clock = time.strftime("%H:%M:%S", time.localtime(time.time() if now is None else now))
    _text(grid, clock, row=2)
    _text(grid, f"{count % 1_000_000:06d}", row=23)
    angle = 2 * math.pi * (count % MARK_PERIOD) / MARK_PERIOD
    column, row = round(18.5 + 14 * math.cos(angle)), round(13.5 + 3.5 * math.sin(angle))
    for r in range(row, row + 3):
        grid[r][column : column + 3] = [MARK] * 3
    return grid


def _text(grid: list[list[Rgb]], text: str, row: int) -> None:
    """`text` centred on the five rows from `row`, a glyph and a gap of one block each."""
    column = (COLUMNS - (4 * len(text) - 1)) // 2
    for char in text:
        _glyph(grid, FONT[char], row, column)
        column += 4


def _glyph(grid: list[list[Rgb]], glyph: Sequence[str], row: int, column: int) -> None:
    for dy, line in enumerate(glyph):
        for dx, pixel in enumerate(line):
            if pixel == "#":
                grid[row + dy][column + dx] = WHITE
