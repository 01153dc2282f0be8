"""Our frames must be byte-for-byte what the `websockets` library sends."""

from __future__ import annotations

import pytest
from websockets.frames import Frame, Opcode

from robodine_edge.http.wsframe import text_frame


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65535, 65536, 70_000])
def test_frames_match_the_websockets_serializer(size: int) -> None:
    payload = b"x" * size
    expected = Frame(Opcode.TEXT, payload).serialize(mask=False, extensions=[])
    assert text_frame(payload) == expected
